//! What clickbill stores: tenants, products, coupons, partners and orders (SPEC §9).

use crate::order::OrderEventKind;
pub use clickbill_protocol::value::PayStatus;
use clickbill_protocol::value::{trim_ws, Login, Money, Percent};
use std::collections::BTreeMap;
use std::fmt;

/// A tenant's internal number; never on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub i64);

/// An order number: positive, unique and increasing within its tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BillId(i64);

impl BillId {
    /// Accepts positive numbers only.
    pub fn new(n: i64) -> Option<BillId> {
        (n > 0).then_some(BillId(n))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for BillId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A product's number within its tenant, increasing from 1 and never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProductId(pub i64);

/// A partner's number within its tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartnerId(pub i64);

/// A coupon's number within its tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CouponId(pub i64);

/// A personal manager's number within its tenant (SPEC §9.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ManagerId(pub i64);

/// A product code (`good_name`): 1–100 characters from `A–Z a–z 0–9 _ - .` (SPEC §9.2).
/// Codes compare case-insensitively; the stored spelling is kept for output.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GoodName(String);

impl GoodName {
    pub fn parse(text: &str) -> Option<GoodName> {
        let valid = (1..=100).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        valid.then(|| GoodName(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for case-insensitive look-ups.
    pub fn folded(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for GoodName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One account: its login, secret, settings and everything below them.
#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub login: Login,
    pub secret: String,
    pub enabled: bool,
    pub custom_domains: Vec<String>,
    pub settings: TenantSettings,
}

/// The settings of SPEC §9.1.
#[derive(Clone, Debug, PartialEq)]
pub struct TenantSettings {
    pub time_zone: chrono_tz::Tz,
    pub first_bill_id: i64,
    pub api_orders_enabled: bool,
    pub prepayment_enabled: bool,
    pub prepayment_minsum: Money,
    pub require_activation: bool,
    pub subscribe_limit_per_ip: u32,
    pub unsubscribe_url: String,
    /// The bill page offers the test payment provider (clickbill extension; a sandbox server
    /// offers it to every tenant).
    pub test_payments: bool,
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            time_zone: chrono_tz::Europe::Moscow,
            first_bill_id: 1,
            api_orders_enabled: true,
            prepayment_enabled: false,
            prepayment_minsum: Money::from_minor(100_000),
            require_activation: false,
            subscribe_limit_per_ip: 0,
            unsubscribe_url: String::new(),
            test_payments: false,
        }
    }
}

/// A product commission for one partner level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commission {
    Percent(Percent),
    Fixed(Money),
}

impl Commission {
    /// A `good_partner_fee[<level>]` value (SPEC §14.1): `<number>%` with a percentage in
    /// (0, 100] (`10%`, `7.5%`), otherwise money (`300.00`); surrounding ASCII whitespace is
    /// ignored. `None` for anything else, `0%` included.
    pub fn parse(text: &[u8]) -> Option<Commission> {
        let text = trim_ws(text);
        if let Some(number) = text.strip_suffix(b"%") {
            let percent = Percent::parse(number).ok()?;
            return (percent.hundredths() > 0).then_some(Commission::Percent(percent));
        }
        Money::parse(text).ok().map(Commission::Fixed)
    }

    /// The fee this commission earns on an item of effective sum `sum` (SPEC §9.4).
    pub fn fee(self, sum: Money) -> Money {
        match self {
            Commission::Percent(percent) => sum.percent_of(percent),
            Commission::Fixed(amount) => amount.min(sum),
        }
    }
}

impl fmt::Display for Commission {
    /// The form [`Commission::parse`] reads: `10%`, `7.5%`, `300.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Commission::Percent(percent) => write!(f, "{percent}%"),
            Commission::Fixed(amount) => amount.fmt(f),
        }
    }
}

/// Where each order event of a product is sent (SPEC §16.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotificationUrls {
    pub new_order: String,
    pub paid: String,
    pub prepaid: String,
    pub cancel: String,
    pub moneyback: String,
}

/// A catalogue entry (SPEC §9.2): the number the store gave it and its attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    pub id: ProductId,
    pub spec: ProductSpec,
}

/// The attributes of a product, as given to `AddGood` or the command line and as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductSpec {
    pub code: GoodName,
    pub title: String,
    pub physical: bool,
    pub price: Money,
    pub parent_id: String,
    pub urls: NotificationUrls,
    pub success_link: String,
    pub client_groups: Vec<String>,
    pub cash_on_delivery_only: bool,
    pub quickpost_article: String,
    pub post_service: String,
    pub prepayment_minsum: Option<Money>,
    /// Auto-cancel delay in seconds; 0 means none.
    pub timer_kill: i64,
    /// Commission per partner level (1, 2, …).
    pub partner_fees: BTreeMap<u32, Commission>,
}

impl ProductSpec {
    /// A digital product with only the required attributes set: the defaults of `AddGood`.
    pub fn new(code: GoodName, title: impl Into<String>, price: Money) -> ProductSpec {
        ProductSpec {
            code,
            title: title.into(),
            physical: false,
            price,
            parent_id: "0".to_owned(),
            urls: NotificationUrls::default(),
            success_link: String::new(),
            client_groups: Vec::new(),
            cash_on_delivery_only: false,
            quickpost_article: String::new(),
            post_service: String::new(),
            prepayment_minsum: None,
            timer_kill: 0,
            partner_fees: BTreeMap::new(),
        }
    }
}

/// A change to a product: each `Some` replaces the stored value (`UpdateGood`). Applied to
/// [`ProductSpec::new`] it also builds a new product (`AddGood`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProductPatch {
    pub title: Option<String>,
    pub physical: Option<bool>,
    pub price: Option<Money>,
    pub parent_id: Option<String>,
    pub url_new_order: Option<String>,
    pub url_paid: Option<String>,
    pub url_prepaid: Option<String>,
    pub url_cancel: Option<String>,
    pub url_moneyback: Option<String>,
    pub success_link: Option<String>,
    pub client_groups: Option<Vec<String>>,
    pub cash_on_delivery_only: Option<bool>,
    pub quickpost_article: Option<String>,
    pub post_service: Option<String>,
    pub prepayment_minsum: Option<Money>,
    pub timer_kill: Option<i64>,
    pub partner_fees: Option<BTreeMap<u32, Commission>>,
}

impl ProductPatch {
    /// Sets every attribute given; partner fees are merged by level, the other levels stay.
    pub fn apply(self, spec: &mut ProductSpec) {
        fn set<T>(slot: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *slot = v;
            }
        }
        set(&mut spec.title, self.title);
        set(&mut spec.physical, self.physical);
        set(&mut spec.price, self.price);
        set(&mut spec.parent_id, self.parent_id);
        set(&mut spec.urls.new_order, self.url_new_order);
        set(&mut spec.urls.paid, self.url_paid);
        set(&mut spec.urls.prepaid, self.url_prepaid);
        set(&mut spec.urls.cancel, self.url_cancel);
        set(&mut spec.urls.moneyback, self.url_moneyback);
        set(&mut spec.success_link, self.success_link);
        set(&mut spec.client_groups, self.client_groups);
        set(&mut spec.cash_on_delivery_only, self.cash_on_delivery_only);
        set(&mut spec.quickpost_article, self.quickpost_article);
        set(&mut spec.post_service, self.post_service);
        if let Some(minsum) = self.prepayment_minsum {
            spec.prepayment_minsum = Some(minsum);
        }
        set(&mut spec.timer_kill, self.timer_kill);
        if let Some(fees) = self.partner_fees {
            spec.partner_fees.extend(fees);
        }
    }
}

/// A discount code (SPEC §9.3).
#[derive(Clone, Debug, PartialEq)]
pub struct Coupon {
    pub id: CouponId,
    pub code: String,
    pub discount: Discount,
    /// Products the coupon applies to; empty means all.
    pub products: Vec<ProductId>,
    pub expires_at: Option<i64>,
    /// Switched off by administration: never applied and not listed by `getcoupons`, while its
    /// code stays taken so that old orders keep naming one coupon.
    pub disabled: bool,
}

impl Coupon {
    /// Whether an order created at `now` gets this coupon's discount.
    pub fn usable_at(&self, now: i64) -> bool {
        !self.disabled && self.expires_at.is_none_or(|at| now <= at)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discount {
    /// Above 0 and at most 100 %.
    Percent(Percent),
    Fixed(Money),
}

/// A coupon as administration creates it. `id` keeps the number a coupon already has elsewhere
/// (a shop moving from another system keeps its coupon ids); without one the store numbers it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCoupon {
    pub id: Option<CouponId>,
    pub code: String,
    pub discount: Discount,
    pub products: Vec<ProductId>,
    pub expires_at: Option<i64>,
}

/// An affiliate (SPEC §9.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partner {
    pub id: PartnerId,
    pub login: String,
    pub parent: Option<PartnerId>,
    pub registered_at: i64,
}

/// A partner as administration creates it; `id` as in [`NewCoupon`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPartner {
    pub id: Option<PartnerId>,
    pub login: String,
    pub parent: Option<PartnerId>,
    pub registered_at: i64,
}

/// A personal manager (SPEC §9.7), named by API 2.0 orders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manager {
    pub id: ManagerId,
    pub name: String,
}

/// A manager as administration creates it; `id` as in [`NewCoupon`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewManager {
    pub id: Option<ManagerId>,
    pub name: String,
}

/// Delivery state, independent of payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DeliveryStatus {
    #[default]
    None,
    Sent,
    Returned,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::None => "",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Returned => "return",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        match text {
            "" => Some(DeliveryStatus::None),
            "sent" => Some(DeliveryStatus::Sent),
            "return" => Some(DeliveryStatus::Returned),
            _ => None,
        }
    }
}

/// The buyer's contact and delivery data as given with the order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Customer {
    pub first_name: String,
    pub last_name: String,
    pub middle_name: String,
    pub email: String,
    pub phone: String,
    pub country: String,
    pub region: String,
    pub city: String,
    pub address: String,
    pub postalcode: String,
}

/// Five UTM values in the order the order object lists them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Utm {
    pub medium: String,
    pub source: String,
    pub campaign: String,
    pub content: String,
    pub term: String,
}

impl Utm {
    pub fn is_empty(&self) -> bool {
        [
            &self.medium,
            &self.source,
            &self.campaign,
            &self.content,
            &self.term,
        ]
        .iter()
        .all(|v| v.is_empty())
    }
}

/// A partner's fee on one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnerEntry {
    pub level: u32,
    pub partner_id: PartnerId,
    pub partner_name: String,
    pub fee: Money,
}

/// One product line of an order, a copy that outlives catalogue changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub product_id: ProductId,
    pub code: String,
    pub title: String,
    /// Whether the product was physical when the order was created.
    pub physical: bool,
    /// Catalogue price when the order was created.
    pub price: Money,
    /// What the buyer pays for this item.
    pub sum: Money,
    pub pincode: String,
    pub partners: Vec<PartnerEntry>,
}

/// A recorded payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payment {
    pub amount: Money,
    pub at: i64,
}

/// Delivery data set by `UpdateOrderStatus` `sent`/`return`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    pub status: DeliveryStatus,
    pub date: i64,
    pub rpo: String,
}

/// The fields only API 2.0 `createorder` sets (SPEC §15.2). They are stored with the order and
/// never output by a method.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderExtras {
    pub shipping_phone: String,
    pub billing_address_1: String,
    pub billing_address_2: String,
    pub billing_city: String,
    pub billing_state: String,
    pub billing_zip: String,
    /// The billing country, converted from its code like the shipping country.
    pub billing_country: String,
    /// `order_confirmed` as given.
    pub confirmed: String,
    /// `order_sales_manager`, when it named a manager.
    pub sales_manager: Option<ManagerId>,
}

/// The state an order is created in. API 1.0 orders always start `waiting`; API 2.0
/// `createorder` may record them as already paid, cancelled or refunded (SPEC §15.2 step 8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum InitialStatus {
    #[default]
    Waiting,
    /// Paid in full at `at` by `payway`.
    Paid {
        at: i64,
        payway: String,
    },
    Cancel,
    /// Paid in full at `at`, then refunded.
    Moneyback {
        at: i64,
    },
}

/// An order as created, before the store gives it a number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewOrder {
    pub customer: Customer,
    /// The reported creation time (`created`).
    pub created: i64,
    pub tag: String,
    pub comment: String,
    pub kupon: String,
    pub domain: String,
    pub client_ip: String,
    pub utm: Utm,
    pub aff_utm: Utm,
    pub auto_cancel_at: Option<i64>,
    /// The largest `good_prepayment_minsum` of the order's products, if any has one.
    pub product_prepayment_minsum: Option<Money>,
    pub items: Vec<Item>,
    pub extras: OrderExtras,
    pub initial: InitialStatus,
}

/// A stored order (SPEC §9.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub bill_id: BillId,
    pub customer: Customer,
    pub created: i64,
    /// Server time of insertion; the duplicate rule looks at this, not at `created`.
    pub inserted_at: i64,
    pub tag: String,
    pub comment: String,
    pub kupon: String,
    pub domain: String,
    pub client_ip: String,
    pub utm: Utm,
    pub aff_utm: Utm,
    pub pay_status: PayStatus,
    /// Time of full payment; 0 while not fully paid.
    pub paid_at: i64,
    pub payway: String,
    pub payments: Vec<Payment>,
    pub delivery: Delivery,
    pub auto_cancel_at: Option<i64>,
    pub ext_ref_no: String,
    pub product_prepayment_minsum: Option<Money>,
    pub items: Vec<Item>,
    pub extras: OrderExtras,
}

impl Order {
    /// The order a store makes of `new` when it assigns `bill_id` at server time `now`, with
    /// the events its creation causes: `new_order`, and `paid` for an order created paid.
    /// Orders created cancelled or refunded notify nothing further (SPEC §15.2 step 8).
    pub fn from_new(bill_id: BillId, new: NewOrder, now: i64) -> (Order, Vec<OrderEventKind>) {
        let initial = new.initial;
        let mut order = Order {
            bill_id,
            customer: new.customer,
            created: new.created,
            inserted_at: now,
            tag: new.tag,
            comment: new.comment,
            kupon: new.kupon,
            domain: new.domain,
            client_ip: new.client_ip,
            utm: new.utm,
            aff_utm: new.aff_utm,
            pay_status: PayStatus::Waiting,
            paid_at: 0,
            payway: String::new(),
            payments: Vec::new(),
            delivery: Delivery::default(),
            auto_cancel_at: new.auto_cancel_at,
            ext_ref_no: String::new(),
            product_prepayment_minsum: new.product_prepayment_minsum,
            items: new.items,
            extras: new.extras,
        };
        let mut events = vec![OrderEventKind::NewOrder];
        match initial {
            InitialStatus::Waiting => {}
            InitialStatus::Paid { at, payway } => {
                order.record_full_payment(at, payway);
                events.push(OrderEventKind::Paid);
            }
            InitialStatus::Cancel => {
                order.pay_status = PayStatus::Cancel;
                order.auto_cancel_at = None;
            }
            InitialStatus::Moneyback { at } => {
                order.record_full_payment(at, String::new());
                order.pay_status = PayStatus::Moneyback;
            }
        }
        (order, events)
    }
}

/// Tenant attributes given when an account is created.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTenant {
    pub login: Login,
    pub secret: String,
    pub custom_domains: Vec<String>,
    pub settings: TenantSettings,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utm_is_empty_only_without_any_value() {
        assert!(Utm::default().is_empty());
        let with_term = Utm {
            term: "t".into(),
            ..Utm::default()
        };
        assert!(!with_term.is_empty());
    }

    fn percent(hundredths: i64) -> Commission {
        Commission::Percent(Percent::from_hundredths(hundredths).unwrap())
    }

    #[test]
    fn commission_forms() {
        assert_eq!(Commission::parse(b"10%"), Some(percent(1000)));
        assert_eq!(Commission::parse(b"7.5%"), Some(percent(750)));
        assert_eq!(Commission::parse(b"100%"), Some(percent(10_000)));
        assert_eq!(Commission::parse(b" 7.5%\t"), Some(percent(750)));
        assert_eq!(
            Commission::parse(b"300"),
            Some(Commission::Fixed(Money::from_minor(30_000)))
        );
        for bad in [&b"0%"[..], b"100.01%", b"abc", b"-5", b"%", b"", b" "] {
            assert_eq!(
                Commission::parse(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    fn new_order(initial: InitialStatus) -> NewOrder {
        let item = |id: i64, sum: i64| Item {
            product_id: ProductId(id),
            code: format!("code{id}"),
            title: String::new(),
            physical: false,
            price: Money::from_minor(sum),
            sum: Money::from_minor(sum),
            pincode: String::new(),
            partners: Vec::new(),
        };
        NewOrder {
            created: 50,
            auto_cancel_at: Some(900),
            items: vec![item(1, 90_000), item(2, 240_000)],
            initial,
            ..NewOrder::default()
        }
    }

    fn created(initial: InitialStatus) -> (Order, Vec<OrderEventKind>) {
        Order::from_new(BillId::new(7).unwrap(), new_order(initial), 100)
    }

    #[test]
    fn orders_created_waiting_are_plain_new_orders() {
        let (order, events) = created(InitialStatus::Waiting);
        assert_eq!(events, [OrderEventKind::NewOrder]);
        assert_eq!(order.pay_status, PayStatus::Waiting);
        assert_eq!((order.paid_at, order.payway.as_str()), (0, ""));
        assert!(order.payments.is_empty());
        assert_eq!(order.auto_cancel_at, Some(900));
        assert_eq!((order.created, order.inserted_at), (50, 100));
        assert_eq!(order.to_pay(), Money::from_minor(330_000));
    }

    #[test]
    fn orders_created_paid_record_one_full_payment() {
        let (order, events) = created(InitialStatus::Paid {
            at: 70,
            payway: "Card".into(),
        });
        assert_eq!(events, [OrderEventKind::NewOrder, OrderEventKind::Paid]);
        assert_eq!(order.pay_status, PayStatus::Paid);
        assert_eq!((order.paid_at, order.payway.as_str()), (70, "Card"));
        assert_eq!(
            order.payments,
            [Payment {
                amount: Money::from_minor(330_000),
                at: 70
            }]
        );
        assert_eq!(order.to_pay(), Money::ZERO);
        assert_eq!(order.last_payment_sum(), Money::from_minor(330_000));
        assert_eq!(order.prepayment_sum(), Money::ZERO);
        assert_eq!(order.auto_cancel_at, None);
    }

    #[test]
    fn orders_created_cancelled_or_refunded_notify_nothing_further() {
        let (order, events) = created(InitialStatus::Cancel);
        assert_eq!(events, [OrderEventKind::NewOrder]);
        assert_eq!(order.pay_status, PayStatus::Cancel);
        assert!(order.payments.is_empty());
        assert_eq!((order.paid_at, order.auto_cancel_at), (0, None));
        assert_eq!(order.to_pay(), Money::from_minor(330_000));

        let (order, events) = created(InitialStatus::Moneyback { at: 70 });
        assert_eq!(events, [OrderEventKind::NewOrder]);
        assert_eq!(order.pay_status, PayStatus::Moneyback);
        assert_eq!((order.paid_at, order.payway.as_str()), (70, ""));
        assert_eq!(
            order.payments,
            [Payment {
                amount: Money::from_minor(330_000),
                at: 70
            }]
        );
        assert_eq!(order.to_pay(), Money::ZERO);
        assert_eq!(order.auto_cancel_at, None);
    }

    #[test]
    fn commissions_display_as_they_parse() {
        assert_eq!(percent(1000).to_string(), "10%");
        assert_eq!(percent(750).to_string(), "7.5%");
        let fixed = Commission::Fixed(Money::from_minor(30_000));
        assert_eq!(fixed.to_string(), "300.00");
        for commission in [percent(1000), percent(750), percent(25), fixed] {
            let text = commission.to_string();
            assert_eq!(Commission::parse(text.as_bytes()), Some(commission));
        }
    }
}
