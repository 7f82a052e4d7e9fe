//! `clickbill coupon`: a tenant's discount codes (SPEC §9.3).
//!
//! The server reads coupons from the database on every order, so a change here applies to the
//! next order a running server creates.

use std::collections::HashMap;

use anyhow::{bail, Context};
use chrono_tz::Tz;
use clap::Subcommand;
use clickbill_domain::listing::day_end;
use clickbill_domain::model::{Coupon, CouponId, Discount, NewCoupon, ProductId, Tenant};
use clickbill_domain::{Clock, Store, StoreError, SystemClock};
use clickbill_protocol::value::{comma_list, Money, Percent};

use crate::calendar::{local_time, parse_day};
use crate::database::{self, with_store, Create};
use crate::{exit, failed, Global};

const AFTER_HELP: &str = "\
CODE is what buyers enter (bill_kupon, coupon): any text without spaces or control characters,
unique per tenant, case-insensitively. --percent takes a percentage above 0 and at most 100 with
up to two decimals (10, 7.5, 12.25; a trailing % is allowed); --amount takes a fixed amount above
0 (100, 99.90), taken off each product the coupon applies to. --goods limits the coupon to the
named product codes (by default it applies to every product). --expires names the last day the
coupon is usable: it stops at 23:59:59 of that day in the tenant's time zone (tenant setting
time_zone). --id keeps a number the coupon already has elsewhere; by default the next free one
is used.

A disabled coupon is never applied and is not listed by the API's getcoupons, but its code stays
taken; `enable` switches it back on.

Standard output carries data only: the new coupon's id for `add`; one line per coupon for `list`,
by id, tab-separated: id, code, discount (10% or 100.00), goods (product codes separated by
commas, `all` when it applies to every product, #ID for a product deleted since), expiry
(YYYY-MM-DD HH:MM:SS in the tenant's time zone, or `never`), state (enabled, disabled, or
expired when enabled but past its expiry). Confirmations go to standard error.

Exit status:
  0  done
  1  the database failed
  2  usage or input error (invalid value, unknown tenant, product or coupon, code or id already
     taken, no database at the given URL)";

/// Manage a tenant's coupons: add, list, disable, enable.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: CouponCommand,
}

#[derive(Subcommand, Debug)]
enum CouponCommand {
    /// Add a coupon (--percent or --amount is required); prints its id.
    Add {
        /// The tenant's login.
        login: String,
        /// The code buyers enter.
        code: String,
        #[command(flatten)]
        discount: DiscountOptions,
        /// Product codes the coupon applies to, separated by commas; default: every product.
        #[arg(long, value_name = "CODE,CODE")]
        goods: Option<String>,
        /// The last day the coupon is usable, in the tenant's time zone.
        #[arg(long, value_name = "YYYY-MM-DD")]
        expires: Option<String>,
        /// The coupon's id; default: the next free one.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
        id: Option<i64>,
    },
    /// List a tenant's coupons by id, disabled and expired ones included.
    List { login: String },
    /// Stop applying a coupon; its code stays taken.
    Disable { login: String, code: String },
    /// Apply a disabled coupon again.
    Enable { login: String, code: String },
}

/// The discount: exactly one of a percentage and an amount.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
struct DiscountOptions {
    /// A percentage off each applicable item: above 0, at most 100, up to two decimals.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    percent: Option<String>,
    /// A fixed amount off each applicable item (at most the item's price).
    #[arg(long, value_name = "A", allow_negative_numbers = true)]
    amount: Option<String>,
}

pub fn run(args: &Args, global: &Global) -> anyhow::Result<u8> {
    match &args.command {
        CouponCommand::Add {
            login,
            code,
            discount,
            goods,
            expires,
            id,
        } => {
            let code = coupon_code(code)?;
            let discount = discount_of(discount)?;
            let goods = goods.as_deref().map(product_codes).transpose()?;
            let last_day = expires
                .as_deref()
                .map(|text| parse_day("--expires", text))
                .transpose()?;
            let login = login.clone();
            let new_code = code.clone();
            let id = id.map(CouponId);
            let (coupon, tenant) = with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                let products = match goods {
                    Some(codes) => product_ids(store.as_ref(), &tenant, &codes).await?,
                    None => Vec::new(),
                };
                let new = NewCoupon {
                    id,
                    code: new_code,
                    discount,
                    products,
                    expires_at: last_day.map(|day| day_end(day, tenant.settings.time_zone)),
                };
                match store.add_coupon(tenant.id, new).await {
                    Ok(coupon) => Ok((coupon, tenant)),
                    Err(conflict @ StoreError::Conflict(_)) => {
                        bail!("tenant {}: {conflict}", tenant.login)
                    }
                    Err(error) => Err(failed(
                        anyhow::Error::new(error).context("adding the coupon"),
                    )),
                }
            })?;
            println!("{}", coupon.id.0);
            eprintln!("added coupon {code} (id {})", coupon.id.0);
            if let Some(at) = coupon
                .expires_at
                .filter(|_| !coupon.usable_at(SystemClock.now()))
            {
                eprintln!(
                    "note: it expired at {} ({}), so no order gets it",
                    local_time(tenant.settings.time_zone, at),
                    tenant.settings.time_zone.name()
                );
            }
            Ok(exit::OK)
        }
        CouponCommand::List { login } => {
            let login = login.clone();
            let (tenant, coupons, products) =
                with_store(global, Create::Never, |store| async move {
                    let tenant = database::tenant(store.as_ref(), &login).await?;
                    let coupons = store
                        .coupons(tenant.id)
                        .await
                        .context("reading the coupons")
                        .map_err(failed)?;
                    let products = store
                        .products(tenant.id)
                        .await
                        .context("reading the products")
                        .map_err(failed)?;
                    Ok((tenant, coupons, products))
                })?;
            let codes: HashMap<ProductId, String> = products
                .into_iter()
                .map(|product| (product.id, product.spec.code.to_string()))
                .collect();
            let now = SystemClock.now();
            for coupon in &coupons {
                println!("{}", line(coupon, tenant.settings.time_zone, &codes, now));
            }
            Ok(exit::OK)
        }
        CouponCommand::Disable { login, code } | CouponCommand::Enable { login, code } => {
            let disabled = matches!(args.command, CouponCommand::Disable { .. });
            let (login, wanted) = (login.clone(), code.clone());
            with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                let found = store
                    .set_coupon_disabled(tenant.id, &wanted, disabled)
                    .await
                    .context("changing the coupon")
                    .map_err(failed)?;
                if !found {
                    bail!("tenant {} has no coupon {wanted}", tenant.login);
                }
                Ok(())
            })?;
            let state = if disabled { "disabled" } else { "enabled" };
            eprintln!("coupon {code} {state}");
            Ok(exit::OK)
        }
    }
}

/// One line of `list`.
fn line(coupon: &Coupon, zone: Tz, codes: &HashMap<ProductId, String>, now: i64) -> String {
    let discount = match coupon.discount {
        Discount::Percent(percent) => format!("{percent}%"),
        Discount::Fixed(amount) => amount.to_string(),
    };
    let goods = if coupon.products.is_empty() {
        "all".to_owned()
    } else {
        coupon
            .products
            .iter()
            .map(|id| {
                codes
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", id.0))
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let expiry = coupon
        .expires_at
        .map_or_else(|| "never".to_owned(), |at| local_time(zone, at));
    let state = if coupon.disabled {
        "disabled"
    } else if coupon.usable_at(now) {
        "enabled"
    } else {
        "expired"
    };
    format!(
        "{}\t{}\t{discount}\t{goods}\t{expiry}\t{state}",
        coupon.id.0, coupon.code
    )
}

/// The ids of the products `codes` name, in the order given; every code must name one.
async fn product_ids(
    store: &dyn Store,
    tenant: &Tenant,
    codes: &[String],
) -> anyhow::Result<Vec<ProductId>> {
    let products = store
        .products_by_codes(tenant.id, codes)
        .await
        .context("reading the products")
        .map_err(failed)?;
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for code in codes {
        match products
            .iter()
            .find(|product| product.spec.code.as_str().eq_ignore_ascii_case(code))
        {
            Some(product) => ids.push(product.id),
            None => unknown.push(code.as_str()),
        }
    }
    if !unknown.is_empty() {
        bail!(
            "--goods: tenant {} has no product {}",
            tenant.login,
            unknown.join(", ")
        );
    }
    Ok(ids)
}

fn coupon_code(text: &str) -> anyhow::Result<String> {
    if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("invalid coupon code {text:?}: it must not be empty or contain spaces or control characters");
    }
    Ok(text.to_owned())
}

fn product_codes(text: &str) -> anyhow::Result<Vec<String>> {
    let codes = comma_list(text);
    if codes.is_empty() {
        bail!("--goods: expected product codes separated by commas, got {text:?}");
    }
    Ok(codes)
}

fn discount_of(options: &DiscountOptions) -> anyhow::Result<Discount> {
    if let Some(text) = &options.percent {
        return percent(text).map(Discount::Percent);
    }
    let text = options.amount.as_deref().unwrap_or_default();
    match Money::parse(text.as_bytes()) {
        Ok(amount) if amount > Money::ZERO => Ok(Discount::Fixed(amount)),
        _ => bail!("--amount: expected an amount above 0 such as 100 or 99.90, got {text:?}"),
    }
}

/// Above 0, at most 100, at most two decimals: a percentage is never rounded to fit.
fn percent(text: &str) -> anyhow::Result<Percent> {
    let number = text.strip_suffix('%').unwrap_or(text);
    let decimals = number
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len());
    match Percent::parse(number.as_bytes()) {
        Ok(percent) if percent.hundredths() > 0 && decimals <= 2 => Ok(percent),
        _ => bail!(
            "--percent: expected a percentage above 0 and at most 100 with up to two decimals \
             (10, 7.5, 12.25), got {text:?}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hundredths(text: &str) -> i64 {
        percent(text).unwrap().hundredths()
    }

    #[test]
    fn percentages_are_above_zero_and_never_rounded() {
        assert_eq!(hundredths("10"), 1_000);
        assert_eq!(hundredths("7.5"), 750);
        assert_eq!(hundredths("12.25%"), 1_225);
        assert_eq!(hundredths("100"), 10_000);
        assert_eq!(hundredths("0.01"), 1);
        for bad in [
            "0", "0.00", "100.01", "101", "-5", "7.555", "abc", "", "%", "10%%",
        ] {
            assert!(percent(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_are_above_zero() {
        let amount = |text: &str| {
            discount_of(&DiscountOptions {
                percent: None,
                amount: Some(text.to_owned()),
            })
        };
        assert_eq!(
            amount("99.9").unwrap(),
            Discount::Fixed(Money::from_minor(9_990))
        );
        for bad in ["0", "-1", "1e3", "abc", ""] {
            assert!(amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_and_goods_lists() {
        assert_eq!(coupon_code("SALE-10").unwrap(), "SALE-10");
        for bad in ["", "two words", "tab\there", "\u{7}"] {
            assert!(coupon_code(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            product_codes(" code1, ,code2 ").unwrap(),
            ["code1", "code2"]
        );
        assert!(product_codes(" , ").is_err());
    }
}
