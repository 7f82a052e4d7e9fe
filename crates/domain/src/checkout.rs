//! Turning an order request into an order: validation in the documented order, prices, coupons,
//! partner fees, the auto-cancel time and the initial state (SPEC §9.3, §9.4, §13.1, §15.2).
//!
//! API 1.0 `CreateOrder` and API 2.0 `createorder` share one path: each handler maps its own
//! parameters into an [`OrderRequest`], and [`plan_order`] applies the rules both follow.

use crate::model::{
    Coupon, CouponId, Customer, Discount, InitialStatus, Item, NewOrder, OrderExtras, Partner,
    PartnerEntry, PartnerId, Product, Tenant, Utm,
};
use crate::ports::{Store, StoreError};
use chrono::{LocalResult, NaiveDate, Offset, TimeDelta, TimeZone};
use clickbill_protocol::datetime::LocalDateTime;
use clickbill_protocol::value::{is_blank, parse_int, Email, Malformed, Money};
use std::collections::HashMap;

/// One ordered product as received: a product code and the price of this item, blank for the
/// catalogue price.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoodsLine {
    pub name: String,
    pub sum: String,
}

/// How an order request names the partner of one level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartnerRef {
    Id(PartnerId),
    Login(String),
    /// The level is left empty, or named by a value that cannot name a partner.
    Nobody,
}

impl PartnerRef {
    /// A partner id as received (`bill_aff`, `bill_paff`): a positive integer names a partner,
    /// anything else nobody.
    pub fn by_id_text(text: &str) -> PartnerRef {
        match parse_int(text.as_bytes()) {
            Ok(id) if id > 0 => PartnerRef::Id(PartnerId(id)),
            _ => PartnerRef::Nobody,
        }
    }
}

/// When an unpaid order cancels itself (SPEC §9.5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoCancel {
    Never,
    /// After the shortest auto-cancel delay of the order's products, from creation.
    ProductSetting,
    /// At this unix time.
    At(i64),
}

impl AutoCancel {
    /// `bill_timer_kill` (SPEC §13.1.1): blank, `0` or `false` → never; `1` or `true` → the
    /// product setting; an integer above 1 → that unix time.
    pub fn parse_timer_kill(text: &str) -> Result<AutoCancel, Malformed> {
        if is_blank(text.as_bytes()) {
            return Ok(AutoCancel::Never);
        }
        let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if trimmed.eq_ignore_ascii_case("true") {
            return Ok(AutoCancel::ProductSetting);
        }
        if trimmed.eq_ignore_ascii_case("false") {
            return Ok(AutoCancel::Never);
        }
        match parse_int(text.as_bytes()) {
            Ok(0) => Ok(AutoCancel::Never),
            Ok(1) => Ok(AutoCancel::ProductSetting),
            Ok(at) if at > 1 => Ok(AutoCancel::At(at)),
            _ => Err(Malformed),
        }
    }
}

/// `bill_created` (SPEC §13.1.1): blank or `0` means `now`; otherwise a positive unix time.
pub fn parse_created(text: &str, now: i64) -> Result<i64, Malformed> {
    if is_blank(text.as_bytes()) {
        return Ok(now);
    }
    match parse_int(text.as_bytes()) {
        Ok(0) => Ok(now),
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Malformed),
    }
}

/// A date-time parameter of API 2.0 (SPEC §15.2) as a unix time, read on the clocks of `zone`
/// (the tenant's time zone, §7.6); `None` when blank.
pub fn parse_local_time(text: &[u8], zone: chrono_tz::Tz) -> Result<Option<i64>, Malformed> {
    if is_blank(text) {
        return Ok(None);
    }
    let local = LocalDateTime::parse(text)?;
    let wall = NaiveDate::from_ymd_opt(
        i32::from(local.year()),
        u32::from(local.month()),
        u32::from(local.day()),
    )
    .and_then(|date| {
        date.and_hms_opt(
            u32::from(local.hour()),
            u32::from(local.minute()),
            u32::from(local.second()),
        )
    })
    .ok_or(Malformed)?;
    let unix = match zone.from_local_datetime(&wall) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.timestamp(),
        // The clocks skipped this time when they were put forward: read it with the offset in
        // force before the change, as PHP does, rather than refuse a time a buyer's shop sent.
        LocalResult::None => {
            let before = zone
                .offset_from_utc_datetime(&(wall - TimeDelta::days(1)))
                .fix();
            wall.and_utc().timestamp() - i64::from(before.local_minus_utc())
        }
    };
    Ok(Some(unix))
}

/// An order as either API asks for it, mapped from its parameters by the API's handler; the
/// rules of both are applied by [`plan_order`]. Values that the handler could not parse outside
/// the items are kept as `Err` so that they are reported in the documented place (SPEC §13.1.2
/// step 5, §15.2 step 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// The buyer as the order stores them, except `email`, which is as received: it is
    /// checked (600) and stored normalised.
    pub customer: Customer,
    /// The ordered products, in order; none is `603`.
    pub lines: Vec<GoodsLine>,
    /// A coupon code or id as received (SPEC §9.3).
    pub coupon: String,
    pub tag: String,
    pub comment: String,
    /// The stored `domain` of the payment link (SPEC §10.5).
    pub domain: String,
    pub client_ip: String,
    pub utm: Utm,
    pub aff_utm: Utm,
    /// The partners of levels 1, 2, … in order. When no level above 1 is named, level 2 is
    /// the level-1 partner's parent (clickbill rule).
    pub partners: Vec<PartnerRef>,
    /// The reported creation time.
    pub created: Result<i64, Malformed>,
    pub auto_cancel: Result<AutoCancel, Malformed>,
    pub initial: Result<InitialStatus, Malformed>,
    /// Its `sales_manager` is the id the request names; the order keeps it only when that
    /// manager exists.
    pub extras: OrderExtras,
}

impl OrderRequest {
    /// A request for `lines` by `customer`, reported as created at `created`, with nothing
    /// else: no coupon, partners, UTM values or timer, created waiting. For orders made
    /// outside the API (the sandbox's demo data).
    pub fn new(customer: Customer, lines: Vec<GoodsLine>, created: i64) -> OrderRequest {
        OrderRequest {
            customer,
            lines,
            coupon: String::new(),
            tag: String::new(),
            comment: String::new(),
            domain: String::new(),
            client_ip: String::new(),
            utm: Utm::default(),
            aff_utm: Utm::default(),
            partners: Vec::new(),
            created: Ok(created),
            auto_cancel: Ok(AutoCancel::Never),
            initial: Ok(InitialStatus::Waiting),
            extras: OrderExtras::default(),
        }
    }
}

/// Why an order request is refused, in the order the checks run (SPEC §13.1.2, §15.2).
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
    request: OrderRequest,
    now: i64,
) -> Result<NewOrder, OrderError> {
    if !tenant.settings.api_orders_enabled {
        return Err(OrderRejection::ApiOrdersDisabled.into());
    }
    let email = Email::parse(request.customer.email.as_bytes())
        .map_err(|_| OrderRejection::WrongEmail(request.customer.email.clone()))?;
    if request.lines.is_empty() {
        return Err(OrderRejection::MissingProducts.into());
    }
    let codes: Vec<String> = request
        .lines
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

    let mut chosen: Vec<(&Product, Money)> = Vec::with_capacity(request.lines.len());
    for line in &request.lines {
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
        if product.spec.physical && !has_delivery_data(&request.customer) {
            return Err(OrderRejection::MissingDeliveryData.into());
        }
        chosen.push((product, base));
    }

    let malformed = |_: Malformed| OrderRejection::WrongPostedData;
    let created = request.created.map_err(malformed)?;
    let auto_cancel = request.auto_cancel.map_err(malformed)?;
    let initial = request.initial.map_err(malformed)?;
    let auto_cancel_at = match auto_cancel {
        AutoCancel::Never => None,
        AutoCancel::ProductSetting => chosen
            .iter()
            .map(|(p, _)| p.spec.timer_kill)
            .filter(|&t| t > 0)
            .min()
            .map(|delay| now + delay),
        AutoCancel::At(at) => Some(at),
    };

    let coupon = find_coupon(store, tenant, &request.coupon, now).await?;
    let partners = attributed_partners(store, tenant, &request.partners).await?;
    let mut extras = request.extras;
    if let Some(manager) = extras.sales_manager {
        if store.manager_by_id(tenant.id, manager).await?.is_none() {
            extras.sales_manager = None;
        }
    }

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
    let product_prepayment_minsum = chosen
        .iter()
        .filter_map(|(p, _)| p.spec.prepayment_minsum)
        .max();

    Ok(NewOrder {
        customer: Customer {
            email: email.into_string(),
            ..request.customer
        },
        created,
        tag: request.tag,
        comment: request.comment,
        kupon,
        domain: request.domain,
        client_ip: request.client_ip,
        utm: request.utm,
        aff_utm: request.aff_utm,
        auto_cancel_at,
        product_prepayment_minsum,
        items,
        extras,
        initial,
    })
}

fn has_delivery_data(customer: &Customer) -> bool {
    [
        &customer.first_name,
        &customer.last_name,
        &customer.country,
        &customer.city,
        &customer.address,
    ]
    .iter()
    .all(|field| !is_blank(field.as_bytes()))
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

/// The coupon a request names, when it exists and is usable (SPEC §9.3): by code first,
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
    Ok(coupon.filter(|c| c.usable_at(now)))
}

/// The discount a coupon gives on one item priced `base`.
pub fn discount(discount: Discount, base: Money) -> Money {
    match discount {
        Discount::Percent(percent) => base.percent_of(percent),
        Discount::Fixed(amount) => amount.min(base),
    }
}

/// The order's partners by level, starting at level 1; `None` where a level stays empty
/// (SPEC §13.1.3, §15.2).
async fn attributed_partners(
    store: &dyn Store,
    tenant: &Tenant,
    named: &[PartnerRef],
) -> Result<Vec<Option<Partner>>, StoreError> {
    let mut levels = Vec::with_capacity(named.len().max(2));
    for reference in named {
        levels.push(match reference {
            PartnerRef::Id(id) => store.partner_by_id(tenant.id, *id).await?,
            PartnerRef::Login(login) => store.partner_by_login(tenant.id, login).await?,
            PartnerRef::Nobody => None,
        });
    }
    if named.len() < 2 {
        if let Some(parent) = levels
            .first()
            .and_then(Option::as_ref)
            .and_then(|p| p.parent)
        {
            levels.push(store.partner_by_id(tenant.id, parent).await?);
        }
    }
    for level in 1..levels.len() {
        let (lower, rest) = levels.split_at_mut(level);
        let repeated = rest[0]
            .as_ref()
            .is_some_and(|p| lower.iter().flatten().any(|earlier| earlier.id == p.id));
        if repeated {
            rest[0] = None;
        }
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
        let parse = AutoCancel::parse_timer_kill;
        assert_eq!(parse(""), Ok(AutoCancel::Never));
        assert_eq!(parse("0"), Ok(AutoCancel::Never));
        assert_eq!(parse("FALSE"), Ok(AutoCancel::Never));
        assert_eq!(parse("1"), Ok(AutoCancel::ProductSetting));
        assert_eq!(parse(" true "), Ok(AutoCancel::ProductSetting));
        assert_eq!(parse("1700000000"), Ok(AutoCancel::At(1_700_000_000)));
        assert_eq!(parse("-5"), Err(Malformed));
        assert_eq!(parse("soon"), Err(Malformed));
    }

    #[test]
    fn created_forms() {
        assert_eq!(parse_created("", 7), Ok(7));
        assert_eq!(parse_created("0", 7), Ok(7));
        assert_eq!(parse_created("1700000000", 7), Ok(1_700_000_000));
        assert_eq!(parse_created("-1", 7), Err(Malformed));
        assert_eq!(parse_created("1e9", 7), Err(Malformed));
    }

    #[test]
    fn partner_ids_as_received() {
        assert_eq!(PartnerRef::by_id_text(" 17"), PartnerRef::Id(PartnerId(17)));
        for nobody in ["", "0", "-5", "anna", "1.5"] {
            assert_eq!(
                PartnerRef::by_id_text(nobody),
                PartnerRef::Nobody,
                "{nobody}"
            );
        }
    }

    #[test]
    fn local_times_are_read_in_the_tenant_zone() {
        let moscow = chrono_tz::Europe::Moscow;
        for text in [
            "2023-11-16 10:00:00",
            "16.11.2023 10:00:00",
            "11/16/2023 10:00:00",
        ] {
            assert_eq!(
                parse_local_time(text.as_bytes(), moscow),
                Ok(Some(1_700_118_000)),
                "{text}"
            );
        }
        assert_eq!(
            parse_local_time(b"2023-11-16 10:00:00", chrono_tz::UTC),
            Ok(Some(1_700_128_800))
        );
        assert_eq!(parse_local_time(b" ", moscow), Ok(None));
        assert_eq!(
            parse_local_time(b"2023-11-31 10:00:00", moscow),
            Err(Malformed)
        );
        assert_eq!(parse_local_time(b"1700118000", moscow), Err(Malformed));
    }

    #[test]
    fn clock_changes_resolve_like_php() {
        let new_york = chrono_tz::America::New_York;
        // Skipped when the clocks went forward: 02:30 on the offset before the change (EST).
        assert_eq!(
            parse_local_time(b"2021-03-14 02:30:00", new_york),
            Ok(Some(1_615_707_000))
        );
        // Shown twice when the clocks went back: the earlier instant (EDT).
        assert_eq!(
            parse_local_time(b"2021-11-07 01:30:00", new_york),
            Ok(Some(1_636_263_000))
        );
    }
}
