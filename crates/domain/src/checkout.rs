//! Turning an order request into an order: validation in the documented order, prices, coupons,
//! partner fees and the auto-cancel time (SPEC §9.3, §9.4, §13.1).

use crate::model::{
    Coupon, CouponId, Customer, Discount, Item, NewOrder, Partner, PartnerEntry, PartnerId,
    Product, Tenant, Utm,
};
use crate::ports::{Store, StoreError};
use clickbill_protocol::value::{is_blank, parse_int, Email, Money};
use std::collections::HashMap;

/// One entry of `goods`: a product code and an optional price, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoodsLine {
    pub name: String,
    pub sum: String,
}

/// The parameters of `CreateOrder` as received (text already cleaned to UTF-8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderRequest {
    pub email: String,
    /// `None` when `goods` is absent or not an array.
    pub goods: Option<Vec<GoodsLine>>,
    pub first_name: String,
    pub surname: String,
    pub middle_name: String,
    pub otchestvo: String,
    pub phone: String,
    pub country: String,
    pub region: String,
    pub city: String,
    pub address: String,
    pub postal_code: String,
    pub kupon: String,
    pub tag: String,
    pub comment: String,
    pub timer_kill: String,
    pub created: String,
    pub domain: String,
    pub utm: Utm,
    pub aff_utm: Utm,
    pub aff: String,
    pub aff_name: String,
    pub paff: Vec<String>,
    pub paff_name: String,
    pub client_ip: String,
}

/// Why an order request is refused, in the order the checks run (SPEC §13.1.2).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderRejection {
    /// 606
    #[error("order creation through the API is switched off")]
    ApiOrdersDisabled,
    /// 600, with the address as received.
    #[error("wrong email {0:?}")]
    WrongEmail(String),
    /// 603
    #[error("the order has no products")]
    MissingProducts,
    /// 604, with the code as received.
    #[error("product {0:?} does not exist")]
    ProductNotExist(String),
    /// 3
    #[error("a parameter is malformed or inconsistent")]
    WrongPostedData,
    /// 605
    #[error("a physical product lacks delivery data")]
    MissingDeliveryData,
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error(transparent)]
    Rejected(#[from] OrderRejection),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks `request` against the tenant's catalogue and builds the order to store. The duplicate
/// rule and the number come later, from [`Store::create_order`].
pub async fn plan_order(
    store: &dyn Store,
    tenant: &Tenant,
    request: &OrderRequest,
    now: i64,
) -> Result<NewOrder, OrderError> {
    if !tenant.settings.api_orders_enabled {
        return Err(OrderRejection::ApiOrdersDisabled.into());
    }
    let email = Email::parse(request.email.as_bytes())
        .map_err(|_| OrderRejection::WrongEmail(request.email.clone()))?;
    let lines = match &request.goods {
        Some(lines) if !lines.is_empty() => lines,
        _ => return Err(OrderRejection::MissingProducts.into()),
    };
    let codes: Vec<String> = lines
        .iter()
        .filter(|l| !is_blank(l.name.as_bytes()))
        .map(|l| l.name.clone())
        .collect();
    let catalogue: HashMap<String, Product> = store
        .products_by_codes(tenant.id, &codes)
        .await?
        .into_iter()
        .map(|p| (p.spec.code.folded(), p))
        .collect();

    let mut chosen: Vec<(&Product, Money)> = Vec::with_capacity(lines.len());
    for line in lines {
        let product = catalogue
            .get(&line.name.to_ascii_lowercase())
            .filter(|_| !is_blank(line.name.as_bytes()))
            .ok_or_else(|| OrderRejection::ProductNotExist(line.name.clone()))?;
        if chosen.iter().any(|(p, _)| p.id == product.id) {
            return Err(OrderRejection::WrongPostedData.into());
        }
        let base = if is_blank(line.sum.as_bytes()) {
            product.spec.price
        } else {
            Money::parse(line.sum.as_bytes()).map_err(|_| OrderRejection::WrongPostedData)?
        };
        if product.spec.physical && !has_delivery_data(request) {
            return Err(OrderRejection::MissingDeliveryData.into());
        }
        chosen.push((product, base));
    }

    let created = parse_created(&request.created, now)?;
    let timer = parse_timer_kill(&request.timer_kill)?;
    let auto_cancel_at = match timer {
        TimerKill::None => None,
        TimerKill::ProductSetting => chosen
            .iter()
            .map(|(p, _)| p.spec.timer_kill)
            .filter(|&t| t > 0)
            .min()
            .map(|delay| now + delay),
        TimerKill::At(at) => Some(at),
    };

    let coupon = find_coupon(store, tenant, &request.kupon, now).await?;
    let partners = attributed_partners(store, tenant, request).await?;

    let mut kupon = String::new();
    let items = chosen
        .iter()
        .map(|(product, base)| {
            let discount = coupon
                .as_ref()
                .filter(|c| c.products.is_empty() || c.products.contains(&product.id))
                .map_or(Money::ZERO, |c| discount(c.discount, *base));
            if discount > Money::ZERO {
                kupon = coupon.as_ref().map(|c| c.code.clone()).unwrap_or_default();
            }
            let sum = *base - discount;
            Item {
                product_id: product.id,
                code: product.spec.code.as_str().to_owned(),
                title: product.spec.title.clone(),
                physical: product.spec.physical,
                price: product.spec.price,
                sum,
                pincode: String::new(),
                partners: partner_entries(&partners, product, sum),
            }
        })
        .collect();

    let middle_name = if is_blank(request.middle_name.as_bytes()) {
        request.otchestvo.clone()
    } else {
        request.middle_name.clone()
    };
    Ok(NewOrder {
        customer: Customer {
            first_name: request.first_name.clone(),
            last_name: request.surname.clone(),
            middle_name,
            email: email.as_str().to_owned(),
            phone: request.phone.clone(),
            country: request.country.clone(),
            region: request.region.clone(),
            city: request.city.clone(),
            address: request.address.clone(),
            postalcode: request.postal_code.clone(),
        },
        created,
        tag: request.tag.clone(),
        comment: request.comment.clone(),
        kupon,
        domain: bill_domain(&request.domain),
        client_ip: request.client_ip.clone(),
        utm: request.utm.clone(),
        aff_utm: request.aff_utm.clone(),
        auto_cancel_at,
        product_prepayment_minsum: chosen
            .iter()
            .filter_map(|(p, _)| p.spec.prepayment_minsum)
            .max(),
        items,
    })
}

fn has_delivery_data(request: &OrderRequest) -> bool {
    [
        &request.first_name,
        &request.surname,
        &request.country,
        &request.city,
        &request.address,
    ]
    .iter()
    .all(|field| !is_blank(field.as_bytes()))
}

/// `bill_created`: blank or `0` means now; otherwise a positive integer.
fn parse_created(text: &str, now: i64) -> Result<i64, OrderRejection> {
    if is_blank(text.as_bytes()) {
        return Ok(now);
    }
    match parse_int(text.as_bytes()) {
        Ok(0) => Ok(now),
        Ok(n) if n > 0 => Ok(n),
        _ => Err(OrderRejection::WrongPostedData),
    }
}

enum TimerKill {
    None,
    ProductSetting,
    At(i64),
}

/// `bill_timer_kill`: blank, `0` or `false` → none; `1` or `true` → the product setting; an
/// integer above 1 → that unix time.
fn parse_timer_kill(text: &str) -> Result<TimerKill, OrderRejection> {
    if is_blank(text.as_bytes()) {
        return Ok(TimerKill::None);
    }
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if trimmed.eq_ignore_ascii_case("true") {
        return Ok(TimerKill::ProductSetting);
    }
    if trimmed.eq_ignore_ascii_case("false") {
        return Ok(TimerKill::None);
    }
    match parse_int(text.as_bytes()) {
        Ok(0) => Ok(TimerKill::None),
        Ok(1) => Ok(TimerKill::ProductSetting),
        Ok(at) if at > 1 => Ok(TimerKill::At(at)),
        _ => Err(OrderRejection::WrongPostedData),
    }
}

/// The stored `domain` of a `bill_domain` (SPEC §10.5): one leading scheme and one trailing `/`
/// removed.
pub fn bill_domain(text: &str) -> String {
    if is_blank(text.as_bytes()) {
        return String::new();
    }
    let lower = text.to_ascii_lowercase();
    let without_scheme = ["http://", "https://"]
        .iter()
        .find(|scheme| lower.starts_with(*scheme))
        .map_or(text, |scheme| &text[scheme.len()..]);
    without_scheme
        .strip_suffix('/')
        .unwrap_or(without_scheme)
        .to_owned()
}

/// The coupon a request names, when it exists and has not expired (SPEC §9.3): by code first,
/// then by id.
async fn find_coupon(
    store: &dyn Store,
    tenant: &Tenant,
    text: &str,
    now: i64,
) -> Result<Option<Coupon>, StoreError> {
    if is_blank(text.as_bytes()) {
        return Ok(None);
    }
    let mut coupon = store.coupon_by_code(tenant.id, text).await?;
    if coupon.is_none() {
        if let Ok(id) = parse_int(text.as_bytes()) {
            if id > 0 {
                coupon = store.coupon_by_id(tenant.id, CouponId(id)).await?;
            }
        }
    }
    Ok(coupon.filter(|c| c.expires_at.is_none_or(|at| now <= at)))
}

/// The discount a coupon gives on one item priced `base`.
pub fn discount(discount: Discount, base: Money) -> Money {
    match discount {
        Discount::Percent(percent) => base.percent_of(percent),
        Discount::Fixed(amount) => amount.min(base),
    }
}

/// The order's partners by level, starting at level 1; `None` where a level stays empty
/// (SPEC §13.1.3).
async fn attributed_partners(
    store: &dyn Store,
    tenant: &Tenant,
    request: &OrderRequest,
) -> Result<Vec<Option<Partner>>, StoreError> {
    let by_id = |text: String| async move {
        match parse_int(text.as_bytes()) {
            Ok(id) if id > 0 => store.partner_by_id(tenant.id, PartnerId(id)).await,
            _ => Ok(None),
        }
    };
    let by_login = |login: String| async move { store.partner_by_login(tenant.id, &login).await };

    let first = if !is_blank(request.aff.as_bytes()) {
        by_id(request.aff.clone()).await?
    } else if !is_blank(request.aff_name.as_bytes()) {
        by_login(request.aff_name.clone()).await?
    } else if request.utm.medium == "affiliate" && !is_blank(request.utm.source.as_bytes()) {
        by_login(request.utm.source.clone()).await?
    } else {
        None
    };

    let paff: Vec<&String> = request
        .paff
        .iter()
        .filter(|p| !is_blank(p.as_bytes()))
        .collect();
    let mut higher = Vec::new();
    if !paff.is_empty() {
        for id in paff {
            higher.push(by_id(id.clone()).await?);
        }
    } else if !is_blank(request.paff_name.as_bytes()) {
        higher.push(by_login(request.paff_name.clone()).await?);
    } else if let Some(parent) = first.as_ref().and_then(|p| p.parent) {
        higher.push(store.partner_by_id(tenant.id, parent).await?);
    }

    let mut levels = vec![first];
    for partner in higher {
        let repeated = partner.as_ref().is_some_and(|p| {
            levels
                .iter()
                .flatten()
                .any(|earlier: &Partner| earlier.id == p.id)
        });
        levels.push(if repeated { None } else { partner });
    }
    Ok(levels)
}

/// The partner entries of one item: every attributed level, with the product's commission for
/// that level or `0.00` (SPEC §9.4).
fn partner_entries(levels: &[Option<Partner>], product: &Product, sum: Money) -> Vec<PartnerEntry> {
    levels
        .iter()
        .enumerate()
        .filter_map(|(index, partner)| {
            let partner = partner.as_ref()?;
            let level = u32::try_from(index + 1).ok()?;
            let fee = product
                .spec
                .partner_fees
                .get(&level)
                .map_or(Money::ZERO, |c| c.fee(sum));
            Some(PartnerEntry {
                level,
                partner_id: partner.id,
                partner_name: partner.login.clone(),
                fee,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bill_domain_drops_one_scheme_and_one_slash() {
        assert_eq!(bill_domain("https://shop.example/"), "shop.example");
        assert_eq!(bill_domain("HTTP://shop.example//"), "shop.example/");
        assert_eq!(bill_domain("shop.example"), "shop.example");
        assert_eq!(bill_domain("ftp://x/"), "ftp://x");
        assert_eq!(bill_domain("  "), "");
    }

    #[test]
    fn timer_kill_forms() {
        assert!(matches!(parse_timer_kill(""), Ok(TimerKill::None)));
        assert!(matches!(parse_timer_kill("0"), Ok(TimerKill::None)));
        assert!(matches!(parse_timer_kill("FALSE"), Ok(TimerKill::None)));
        assert!(matches!(
            parse_timer_kill("1"),
            Ok(TimerKill::ProductSetting)
        ));
        assert!(matches!(
            parse_timer_kill("true"),
            Ok(TimerKill::ProductSetting)
        ));
        assert!(matches!(
            parse_timer_kill("1700000000"),
            Ok(TimerKill::At(1_700_000_000))
        ));
        assert!(parse_timer_kill("-5").is_err());
        assert!(parse_timer_kill("soon").is_err());
    }

    #[test]
    fn created_forms() {
        assert_eq!(parse_created("", 7), Ok(7));
        assert_eq!(parse_created("0", 7), Ok(7));
        assert_eq!(parse_created("1700000000", 7), Ok(1_700_000_000));
        assert!(parse_created("-1", 7).is_err());
        assert!(parse_created("1e9", 7).is_err());
    }
}
