//! `clickbill product`: a tenant's catalogue (SPEC §9.2), with the validation rules of
//! `AddGood` / `UpdateGood` (§14.1, §14.2).

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use clap::Subcommand;
use clickbill_domain::model::{Commission, GoodName, Product, ProductPatch, ProductSpec};
use clickbill_domain::StoreError;
use clickbill_protocol::value::{comma_list, parse_int, Money};
use serde_json::{json, Map as JsonMap, Value as Json};

use crate::database::{self, with_store, Create};
use crate::{exit, failed, print_json, Global};

const AFTER_HELP: &str = "\
Values follow the rules of the API's AddGood/UpdateGood: GOOD_NAME is 1-100 characters from
A-Z a-z 0-9 _ - . (unique per tenant, case-insensitively); amounts are digits with an optional
decimal part (1000, 1999.5, 1500.00); --fee LEVEL=FEE takes a positive level and a percentage in
(0, 100] (10%, 7.5%) or a fixed amount (300.00), and may be repeated; --timer-kill is a number of
seconds, 0 for none.

`update` changes only the options given (fees are merged by level). An empty string clears a
URL or text option.

Standard output carries data only: one line per product for `list` (good_id, good_name,
physical|digital, price, title; tab-separated), a JSON object with the API's parameter names for
`show` and `list --json`. Confirmations go to standard error.

Exit status:
  0  done
  1  the database failed
  2  usage or input error (invalid value, unknown tenant or product, code already taken)";

/// Manage a tenant's products: add, list, show, update, delete.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: ProductCommand,
}

#[derive(Subcommand, Debug)]
enum ProductCommand {
    /// Add a product (--title and --price are required).
    Add {
        /// The tenant's login.
        login: String,
        /// Product code: 1-100 characters from A-Z a-z 0-9 _ - .
        good_name: String,
        #[command(flatten)]
        options: ProductOptions,
    },
    /// List a tenant's products by id.
    List {
        login: String,
        /// One JSON array of the objects `show` prints.
        #[arg(long)]
        json: bool,
    },
    /// Show one product as JSON.
    Show { login: String, good_name: String },
    /// Change a product: only the options given.
    Update {
        /// The tenant's login.
        login: String,
        /// Product code: 1-100 characters from A-Z a-z 0-9 _ - .
        good_name: String,
        #[command(flatten)]
        options: ProductOptions,
    },
    /// Remove a product from the catalogue (orders keep their copy).
    Delete { login: String, good_name: String },
}

/// The attributes of a product; each maps to an AddGood parameter.
#[derive(clap::Args, Debug, Default)]
struct ProductOptions {
    /// good_title: the product's name.
    #[arg(long, value_name = "T")]
    title: Option<String>,
    /// good_sum: the catalogue price.
    #[arg(long, value_name = "AMOUNT", allow_negative_numbers = true)]
    price: Option<String>,
    /// good_type=1: a physical product (orders need delivery data).
    #[arg(long, conflicts_with = "digital")]
    physical: bool,
    /// good_type=0: a digital product (the default for add).
    #[arg(long)]
    digital: bool,
    /// good_timer_kill: auto-cancel delay in seconds, 0 for none.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    timer_kill: Option<String>,
    /// good_partner_fee[LEVEL]: partner commission, e.g. 1=10% or 2=300.00; repeatable.
    #[arg(long = "fee", value_name = "LEVEL=FEE")]
    fees: Vec<String>,
    /// good_api_url_new_order: where new_order notifications go.
    #[arg(long, value_name = "U")]
    url_new_order: Option<String>,
    /// good_api_url_notif: where paid notifications go.
    #[arg(long, value_name = "U")]
    url_paid: Option<String>,
    /// good_api_url_prepaid: where prepaid notifications go.
    #[arg(long, value_name = "U")]
    url_prepaid: Option<String>,
    /// good_api_url_cancel: where cancel_order notifications go.
    #[arg(long, value_name = "U")]
    url_cancel: Option<String>,
    /// good_api_url_moneyback: where moneyback notifications go.
    #[arg(long, value_name = "U")]
    url_moneyback: Option<String>,
    /// good_success_link: the page after a successful payment.
    #[arg(long, value_name = "U")]
    success_link: Option<String>,
    /// parent_id: category id, stored as text (default "0").
    #[arg(long, value_name = "ID")]
    parent_id: Option<String>,
    /// good_client_rassilki: comma-separated group ids buyers join when they have paid.
    #[arg(long, value_name = "IDS")]
    client_groups: Option<String>,
    /// good_nalozh_only: cash on delivery only (true/false).
    #[arg(long, value_name = "BOOL")]
    cash_on_delivery_only: Option<String>,
    /// good_quickpost_article: stored.
    #[arg(long, value_name = "TEXT")]
    quickpost_article: Option<String>,
    /// good_post_service: none or quickpost; stored.
    #[arg(long, value_name = "SERVICE")]
    post_service: Option<String>,
    /// good_prepayment_minsum: the product's minimum partial payment.
    #[arg(long, value_name = "AMOUNT", allow_negative_numbers = true)]
    prepayment_minsum: Option<String>,
}

pub fn run(args: &Args, global: &Global) -> anyhow::Result<u8> {
    match &args.command {
        ProductCommand::Add {
            login,
            good_name,
            options,
        } => {
            let spec = spec(good_name, options)?;
            let login = login.clone();
            let product = with_store(global, Create::IfMissing, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                match store.add_product(tenant.id, spec).await {
                    Ok(product) => Ok(product),
                    Err(StoreError::Conflict(_)) => {
                        bail!("tenant {} already has a product {good_name}", tenant.login)
                    }
                    Err(error) => Err(failed(
                        anyhow::Error::new(error).context("adding the product"),
                    )),
                }
            })?;
            eprintln!(
                "added product {} (good_id {})",
                product.spec.code, product.id.0
            );
            Ok(exit::OK)
        }
        ProductCommand::List { login, json } => {
            let login = login.clone();
            let products = with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                store
                    .products(tenant.id)
                    .await
                    .context("reading the products")
                    .map_err(failed)
            })?;
            if *json {
                let all: Vec<Json> = products.iter().map(describe).collect();
                print_json(&Json::Array(all))?;
            } else {
                for Product { id, spec: p } in &products {
                    let kind = if p.physical { "physical" } else { "digital" };
                    println!("{}\t{}\t{kind}\t{}\t{}", id.0, p.code, p.price, p.title);
                }
            }
            Ok(exit::OK)
        }
        ProductCommand::Show { login, good_name } => {
            let (login, code) = (login.clone(), good_name.clone());
            let product = with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                let found = store
                    .products_by_codes(tenant.id, std::slice::from_ref(&code))
                    .await
                    .context("reading the products")
                    .map_err(failed)?;
                found
                    .into_iter()
                    .next()
                    .with_context(|| format!("tenant {} has no product {code}", tenant.login))
            })?;
            print_json(&describe(&product))?;
            Ok(exit::OK)
        }
        ProductCommand::Update {
            login,
            good_name,
            options,
        } => {
            let patch = patch(options)?;
            if patch == ProductPatch::default() {
                bail!("nothing to change: give at least one option (see --help)");
            }
            let (login, code) = (login.clone(), good_name.clone());
            let product = with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                store
                    .update_product(tenant.id, &code, patch)
                    .await
                    .context("updating the product")
                    .map_err(failed)?
                    .with_context(|| format!("tenant {} has no product {code}", tenant.login))
            })?;
            eprintln!("updated product {}", product.spec.code);
            Ok(exit::OK)
        }
        ProductCommand::Delete { login, good_name } => {
            let (login, code) = (login.clone(), good_name.clone());
            with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                let deleted = store
                    .delete_product(tenant.id, &code)
                    .await
                    .context("deleting the product")
                    .map_err(failed)?;
                if !deleted {
                    bail!("tenant {} has no product {code}", tenant.login);
                }
                Ok(())
            })?;
            eprintln!("deleted product {good_name}");
            Ok(exit::OK)
        }
    }
}

/// A new product from the options of `add`: the attributes given, the defaults of `AddGood` for
/// the rest.
fn spec(good_name: &str, options: &ProductOptions) -> anyhow::Result<ProductSpec> {
    let code = good_name_of(good_name)?;
    let patch = patch(options)?;
    let title = patch.title.clone().context("--title is required")?;
    let price = patch.price.context("--price is required")?;
    let mut spec = ProductSpec::new(code, title, price);
    patch.apply(&mut spec);
    Ok(spec)
}

/// The change the options describe; every value is validated as the API validates it.
fn patch(o: &ProductOptions) -> anyhow::Result<ProductPatch> {
    let title = match &o.title {
        Some(title) if title.trim().is_empty() => bail!("--title must not be blank"),
        other => other.clone(),
    };
    let price = o
        .price
        .as_deref()
        .map(|text| money("--price", text))
        .transpose()?;
    let physical = if o.physical {
        Some(true)
    } else if o.digital {
        Some(false)
    } else {
        None
    };
    let timer_kill = o
        .timer_kill
        .as_deref()
        .map(|text| match parse_int(text.as_bytes()) {
            Ok(seconds) if seconds >= 0 => Ok(seconds),
            _ => Err(anyhow::anyhow!(
                "--timer-kill: expected a number of seconds (0 or more), got {text:?}"
            )),
        })
        .transpose()?;
    let mut fees = BTreeMap::new();
    for entry in &o.fees {
        let (level, fee) = partner_fee(entry)?;
        fees.insert(level, fee);
    }
    let parent_id = match &o.parent_id {
        Some(id) if id.trim().is_empty() => Some("0".to_owned()),
        other => other.clone(),
    };
    let client_groups = o.client_groups.as_deref().map(comma_list);
    let cash_on_delivery_only = o
        .cash_on_delivery_only
        .as_deref()
        .map(|text| match text.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(anyhow::anyhow!(
                "--cash-on-delivery-only: expected true or false, got {text:?}"
            )),
        })
        .transpose()?;
    let prepayment_minsum = o
        .prepayment_minsum
        .as_deref()
        .map(|text| money("--prepayment-minsum", text))
        .transpose()?;
    Ok(ProductPatch {
        title,
        physical,
        price,
        parent_id,
        url_new_order: o.url_new_order.clone(),
        url_paid: o.url_paid.clone(),
        url_prepaid: o.url_prepaid.clone(),
        url_cancel: o.url_cancel.clone(),
        url_moneyback: o.url_moneyback.clone(),
        success_link: o.success_link.clone(),
        client_groups,
        cash_on_delivery_only,
        quickpost_article: o.quickpost_article.clone(),
        post_service: o.post_service.clone(),
        prepayment_minsum,
        timer_kill,
        partner_fees: (!fees.is_empty()).then_some(fees),
    })
}

fn good_name_of(text: &str) -> anyhow::Result<GoodName> {
    GoodName::parse(text).with_context(|| {
        format!("invalid product code {text:?}: 1-100 characters from A-Z a-z 0-9 _ - .")
    })
}

fn money(option: &str, text: &str) -> anyhow::Result<Money> {
    Money::parse(text.as_bytes()).map_err(|_| {
        anyhow::anyhow!("{option}: expected an amount such as 1000 or 1999.50, got {text:?}")
    })
}

/// `LEVEL=10%`, `LEVEL=7.5%` or `LEVEL=300.00` (the rules of `good_partner_fee[<level>]`).
fn partner_fee(entry: &str) -> anyhow::Result<(u32, Commission)> {
    let invalid = || {
        anyhow::anyhow!(
            "--fee: expected LEVEL=PERCENT% or LEVEL=AMOUNT with a level of 1 or more (e.g. \
             1=10% or 2=300.00), got {entry:?}"
        )
    };
    let (level, value) = entry.split_once('=').ok_or_else(invalid)?;
    let level = match parse_int(level.as_bytes()) {
        Ok(level) if level > 0 => u32::try_from(level).map_err(|_| invalid())?,
        _ => return Err(invalid()),
    };
    let commission = Commission::parse(value.as_bytes()).ok_or_else(invalid)?;
    Ok((level, commission))
}

/// What `show` prints: the product under the names of the AddGood parameters.
fn describe(product: &Product) -> Json {
    let p = &product.spec;
    let fees: JsonMap<String, Json> = p
        .partner_fees
        .iter()
        .map(|(level, fee)| (level.to_string(), Json::String(fee.to_string())))
        .collect();
    json!({
        "good_id": product.id.0.to_string(),
        "good_name": p.code.as_str(),
        "good_title": p.title,
        "good_type": if p.physical { "1" } else { "0" },
        "good_sum": p.price.to_string(),
        "parent_id": p.parent_id,
        "good_api_url_new_order": p.urls.new_order,
        "good_api_url_notif": p.urls.paid,
        "good_api_url_prepaid": p.urls.prepaid,
        "good_api_url_cancel": p.urls.cancel,
        "good_api_url_moneyback": p.urls.moneyback,
        "good_success_link": p.success_link,
        "good_client_rassilki": p.client_groups.join(","),
        "good_nalozh_only": if p.cash_on_delivery_only { "1" } else { "0" },
        "good_quickpost_article": p.quickpost_article,
        "good_post_service": p.post_service,
        "good_prepayment_minsum": p.prepayment_minsum.map(|m| m.to_string()).unwrap_or_default(),
        "good_timer_kill": p.timer_kill.to_string(),
        "good_partner_fee": fees,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickbill_protocol::value::Percent;

    #[test]
    fn fees_follow_the_api_rules() {
        let pct = |h| Commission::Percent(Percent::from_hundredths(h).unwrap());
        assert_eq!(partner_fee("1=10%").unwrap(), (1, pct(1000)));
        assert_eq!(partner_fee("2=7.5%").unwrap(), (2, pct(750)));
        assert_eq!(partner_fee("1=100%").unwrap(), (1, pct(10_000)));
        assert_eq!(
            partner_fee("3=300.00").unwrap(),
            (3, Commission::Fixed(Money::from_minor(30_000)))
        );
        for bad in [
            "10%",
            "0=10%",
            "-1=10%",
            "x=10%",
            "1=0%",
            "1=100.01%",
            "1=abc",
            "1=-5",
            "1=",
        ] {
            assert!(partner_fee(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn add_needs_a_valid_code_title_and_price() {
        let options = ProductOptions {
            title: Some("Video pack".into()),
            price: Some("2500".into()),
            fees: vec!["1=300.00".into()],
            timer_kill: Some("259200".into()),
            physical: true,
            ..ProductOptions::default()
        };
        let spec = spec("code2", &options).unwrap();
        assert_eq!(spec.price, Money::from_minor(250_000));
        assert!(spec.physical);
        assert_eq!(spec.timer_kill, 259_200);
        assert_eq!(spec.parent_id, "0");
        assert_eq!(spec.partner_fees.len(), 1);

        assert!(spec_err("bad code!", &options).contains("invalid product code"));
        let no_title = ProductOptions {
            title: None,
            price: Some("1".into()),
            ..ProductOptions::default()
        };
        assert!(spec_err("x", &no_title).contains("--title"));
        let blank_title = ProductOptions {
            title: Some(" ".into()),
            price: Some("1".into()),
            ..ProductOptions::default()
        };
        assert!(spec_err("x", &blank_title).contains("--title"));
        for bad_price in ["-1", "1e3", "abc", "1,5"] {
            let options = ProductOptions {
                title: Some("t".into()),
                price: Some(bad_price.into()),
                ..ProductOptions::default()
            };
            assert!(spec_err("x", &options).contains("--price"), "{bad_price}");
        }
        let bad_timer = ProductOptions {
            title: Some("t".into()),
            price: Some("1".into()),
            timer_kill: Some("-5".into()),
            ..ProductOptions::default()
        };
        assert!(spec_err("x", &bad_timer).contains("--timer-kill"));
    }

    fn spec_err(code: &str, options: &ProductOptions) -> String {
        spec(code, options).unwrap_err().to_string()
    }
}
