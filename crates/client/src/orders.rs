//! Order methods (§13): `CreateOrder`, `getOrderDetails`, `GetOrderInfo`, `UpdateOrderStatus`,
//! `DeleteOrder`.

use crate::client::{unexpected, CallOptions, Client};
use crate::error::ClientError;
use crate::params::{Amount, Params};
use clickbill_protocol::methods::{BillIdResult, OrderObject};
use clickbill_protocol::Method;
use php_form::{Data, Key};

/// `error_code` of a duplicate order (§13.1.4).
const DUPLICATE_ORDER: i64 = 601;

/// One product of a new order: its code and, optionally, the price of this item in this order
/// (`goods[i][good_sum]`; absent means the catalogue price).
#[derive(Clone, Debug, PartialEq)]
pub struct OrderGood {
    name: String,
    sum: Option<Amount>,
}

impl OrderGood {
    /// The product with code `good_name`, at its catalogue price.
    pub fn new(good_name: impl Into<String>) -> OrderGood {
        OrderGood {
            name: good_name.into(),
            sum: None,
        }
    }

    /// The price of this item in this order (before any coupon).
    pub fn sum(mut self, sum: impl Into<Amount>) -> OrderGood {
        self.sum = Some(sum.into());
        self
    }

    fn to_data(&self) -> Data {
        let mut entry = vec![(Key::from("good_name"), Data::from(self.name.as_str()))];
        if let Some(sum) = &self.sum {
            entry.push((Key::from("good_sum"), sum.to_data()));
        }
        Data::Array(entry)
    }
}

impl From<&str> for OrderGood {
    fn from(good_name: &str) -> OrderGood {
        OrderGood::new(good_name)
    }
}

impl From<String> for OrderGood {
    fn from(good_name: String) -> OrderGood {
        OrderGood::new(good_name)
    }
}

/// When an unpaid order cancels itself (`bill_timer_kill`, §13.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimerKill {
    /// Never (`0`).
    Off,
    /// After the shortest auto-cancel delay of the order's products (`1`).
    ProductSetting,
    /// At this unix time (must be above 1).
    At(i64),
}

impl TimerKill {
    fn to_data(self) -> Data {
        match self {
            TimerKill::Off => Data::Int(0),
            TimerKill::ProductSetting => Data::Int(1),
            TimerKill::At(time) => Data::Int(time),
        }
    }
}

/// The parameters of `CreateOrder` (§13.1).
///
/// Every setter is named after its wire parameter without the `bill_` prefix (`first_name` sets
/// `bill_first_name`, `kupon` sets `bill_kupon`); the `utm_*` and `aff_*` setters fill
/// `utm[...]`. Parameters are sent in the order they are first set, as a PHP client sends its
/// array, so a recorded request can be reproduced byte for byte; setting one again replaces its
/// value in place. An e-mail and at least one product are required (the server answers 600 and
/// 603 otherwise); a physical product also needs `first_name`, `surname`, `country`, `city` and
/// `address` (605).
///
/// ```
/// use clickbill_client::{NewOrder, OrderGood, TimerKill};
///
/// let order = NewOrder::new()
///     .email("client@example.com")
///     .first_name("Иван")
///     .surname("Petrov")
///     .good("code1")
///     .good(OrderGood::new("code2").sum("1999.5"))
///     .kupon("minus100")
///     .timer_kill(TimerKill::ProductSetting)
///     .utm_source("newsletter");
/// assert_eq!(order.params().len(), 7);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewOrder {
    params: Params,
    idempotency_key: Option<String>,
}

macro_rules! text_setters {
    ($($(#[$doc:meta])* $name:ident => $wire:literal;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: impl Into<String>) -> Self {
                self.params.set($wire, Data::from(value.into()));
                self
            }
        )*
    };
}

macro_rules! utm_setters {
    ($($(#[$doc:meta])* $name:ident => $wire:literal;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(self, value: impl Into<String>) -> Self {
                self.utm($wire, value)
            }
        )*
    };
}

impl NewOrder {
    /// An order without any parameter yet.
    pub fn new() -> NewOrder {
        NewOrder::default()
    }

    text_setters! {
        /// `bill_email`: the customer's e-mail (required).
        email => "bill_email";
        /// `bill_first_name`: first name (required for physical products).
        first_name => "bill_first_name";
        /// `bill_surname`: surname (required for physical products).
        surname => "bill_surname";
        /// `bill_middle_name`: middle name.
        middle_name => "bill_middle_name";
        /// `bill_otchestvo`: the middle name under its alternative name, used when
        /// `bill_middle_name` is blank.
        otchestvo => "bill_otchestvo";
        /// `bill_phone`: phone.
        phone => "bill_phone";
        /// `bill_country`: country (required for physical products).
        country => "bill_country";
        /// `bill_region`: region.
        region => "bill_region";
        /// `bill_city`: city (required for physical products).
        city => "bill_city";
        /// `bill_address`: street address (required for physical products).
        address => "bill_address";
        /// `bill_postal_code`: postal code.
        postal_code => "bill_postal_code";
        /// `bill_kupon`: a discount coupon code.
        kupon => "bill_kupon";
        /// `bill_tag`: the order tag.
        tag => "bill_tag";
        /// `bill_comment`: a comment.
        comment => "bill_comment";
        /// `bill_ip`: accepted but ignored by the server, which records the request's address.
        ip => "bill_ip";
        /// `bill_domain`: the host (optionally with scheme) of the payment link (§10.5).
        domain => "bill_domain";
        /// `bill_aff_name`: the level-1 partner's login, used when `bill_aff` is blank.
        aff_name => "bill_aff_name";
        /// `bill_paff_name`: the level-2 partner's login, used when `bill_paff` is blank.
        paff_name => "bill_paff_name";
        /// `bill_ad_id`: accepted and ignored.
        ad_id => "bill_ad_id";
        /// `bill_click_id`: accepted and ignored.
        click_id => "bill_click_id";
    }

    /// Adds a product (`goods[i][good_name]`, `goods[i][good_sum]`); call once per product.
    pub fn good(mut self, good: impl Into<OrderGood>) -> NewOrder {
        let good = good.into();
        let goods = self.params.nested("goods");
        let index = goods
            .iter()
            .filter_map(|(key, _)| match key {
                Key::Int(n) => Some(n + 1),
                Key::Bytes(_) => None,
            })
            .max()
            .unwrap_or(0);
        goods.push((Key::Int(index), good.to_data()));
        self
    }

    /// Adds several products.
    pub fn goods<G: Into<OrderGood>>(self, goods: impl IntoIterator<Item = G>) -> NewOrder {
        goods.into_iter().fold(self, NewOrder::good)
    }

    /// `bill_timer_kill`: automatic cancellation of the unpaid order.
    pub fn timer_kill(mut self, timer: TimerKill) -> NewOrder {
        self.params.set("bill_timer_kill", timer.to_data());
        self
    }

    /// `bill_created`: the creation time the order reports, unix seconds (default: now).
    pub fn created(mut self, unix_time: i64) -> NewOrder {
        self.params.set("bill_created", Data::Int(unix_time));
        self
    }

    /// `bill_aff`: the level-1 partner's id.
    pub fn aff(mut self, partner_id: i64) -> NewOrder {
        self.params.set("bill_aff", Data::Int(partner_id));
        self
    }

    /// `bill_paff`: the ids of the partners of levels 2, 3, … in order.
    pub fn paff(mut self, partner_ids: impl IntoIterator<Item = i64>) -> NewOrder {
        let ids = partner_ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| (Key::Int(i as i64), Data::Int(id)))
            .collect();
        self.params.set("bill_paff", Data::Array(ids));
        self
    }

    /// `utm[name]`: any UTM value, for example `utm("utm_source", "newsletter")`.
    pub fn utm(mut self, name: &str, value: impl Into<String>) -> NewOrder {
        let utm = self.params.nested("utm");
        crate::params::set_in(utm, Key::from(name), Data::from(value.into()));
        self
    }

    utm_setters! {
        /// `utm[utm_source]`.
        utm_source => "utm_source";
        /// `utm[utm_medium]`. The value `affiliate` makes `utm_source` a partner login (§13.1.3).
        utm_medium => "utm_medium";
        /// `utm[utm_campaign]`.
        utm_campaign => "utm_campaign";
        /// `utm[utm_content]`.
        utm_content => "utm_content";
        /// `utm[utm_term]`.
        utm_term => "utm_term";
        /// `utm[aff_source]`: partner UTM, stored but not reported.
        aff_source => "aff_source";
        /// `utm[aff_medium]`: partner UTM, stored but not reported.
        aff_medium => "aff_medium";
        /// `utm[aff_campaign]`: partner UTM, stored but not reported.
        aff_campaign => "aff_campaign";
        /// `utm[aff_content]`: partner UTM, stored but not reported.
        aff_content => "aff_content";
        /// `utm[aff_term]`: partner UTM, stored but not reported.
        aff_term => "aff_term";
    }

    /// Any other parameter, sent as given (for parameters this builder does not know).
    pub fn param(mut self, name: &str, value: impl Into<Data>) -> NewOrder {
        self.params.set_key(Key::from(name), value.into());
        self
    }

    /// Sends the order with an `Idempotency-Key` header (§17, a clickbill extension): retrying
    /// with the same key and parameters within 24 hours answers like the first attempt instead
    /// of reporting a duplicate or creating a second order.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> NewOrder {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The parameters as they will be sent (before the `hash`).
    pub fn params(&self) -> &[(Key, Data)] {
        self.params.as_slice()
    }
}

/// What `CreateOrder` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CreateOrderOutcome {
    /// A new order with this number was created (`0` / `Order created`).
    Created(i64),
    /// An identical unpaid order was placed within the last 24 hours; nothing was created, and
    /// this is the existing order's number (`601`, §13.1.4).
    Duplicate(i64),
}

impl CreateOrderOutcome {
    /// The order number, new or existing.
    pub fn bill_id(self) -> i64 {
        match self {
            CreateOrderOutcome::Created(id) | CreateOrderOutcome::Duplicate(id) => id,
        }
    }
}

/// The event `UpdateOrderStatus` records (§13.7).
#[derive(Clone, Debug, PartialEq)]
pub enum StatusUpdate {
    /// `sent`: the parcel was handed to the post at `date` (unix time) with tracking number
    /// `rpo`.
    Sent {
        /// When it was sent, unix seconds.
        date: i64,
        /// The postal tracking number.
        rpo: String,
    },
    /// `paid`: money arrived at `date` (unix time).
    Paid {
        /// When the money arrived, unix seconds.
        date: i64,
        /// The amount received; `None` means everything still to pay.
        sum: Option<Amount>,
        /// The payment method; `None` means `RussianPostService`.
        payway: Option<String>,
    },
    /// `return`: the parcel came back.
    Return,
    /// `cancel`: the unpaid order is cancelled.
    Cancel,
    /// `moneyback`: the payment was refunded under the external reference `ext_ref_no`.
    Moneyback {
        /// The external refund reference.
        ext_ref_no: String,
    },
}

impl StatusUpdate {
    /// The wire value of `status`.
    pub fn status(&self) -> &'static str {
        match self {
            StatusUpdate::Sent { .. } => "sent",
            StatusUpdate::Paid { .. } => "paid",
            StatusUpdate::Return => "return",
            StatusUpdate::Cancel => "cancel",
            StatusUpdate::Moneyback { .. } => "moneyback",
        }
    }

    /// The request parameters for order `bill_id`, in the order PHP clients send them.
    pub fn params(&self, bill_id: i64) -> Vec<(Key, Data)> {
        let mut params = vec![
            (Key::from("bill_id"), Data::Int(bill_id)),
            (Key::from("status"), Data::from(self.status())),
        ];
        match self {
            StatusUpdate::Sent { date, rpo } => {
                params.push((Key::from("date"), Data::Int(*date)));
                params.push((Key::from("rpo"), Data::from(rpo.as_str())));
            }
            StatusUpdate::Paid { date, sum, payway } => {
                params.push((Key::from("date"), Data::Int(*date)));
                if let Some(sum) = sum {
                    params.push((Key::from("sum"), sum.to_data()));
                }
                if let Some(payway) = payway {
                    params.push((Key::from("payway"), Data::from(payway.as_str())));
                }
            }
            StatusUpdate::Return | StatusUpdate::Cancel => {}
            StatusUpdate::Moneyback { ext_ref_no } => {
                params.push((Key::from("ext_ref_no"), Data::from(ext_ref_no.as_str())));
            }
        }
        params
    }
}

fn order_lookup(bill_id: i64, good_info: bool) -> Vec<(Key, Data)> {
    let mut params = vec![(Key::from("bill_id"), Data::Int(bill_id))];
    if good_info {
        params.push((Key::from("good_info"), Data::Bool(true)));
    }
    params
}

fn parse_bill_id(method: &str, result: &BillIdResult) -> Result<i64, ClientError> {
    result.bill_id.parse().map_err(|_| {
        unexpected(
            method,
            format!("bill_id {:?} is not a number", result.bill_id),
        )
    })
}

impl Client {
    /// `CreateOrder` (§13.1): creates the order, or reports the identical order placed within
    /// the last 24 hours. Other codes (600 wrong e-mail, 603 no products, 604 unknown product,
    /// 605 missing delivery data, …) are [`ClientError::Api`].
    pub async fn create_order(&self, order: &NewOrder) -> Result<CreateOrderOutcome, ClientError> {
        let method = Method::CreateOrder.canonical_name();
        let mut options = CallOptions::new();
        if let Some(key) = &order.idempotency_key {
            options = options.idempotency_key(key.clone());
        }
        let response = self
            .call_with_options(method, order.params(), &options)
            .await?;
        match response.error_code {
            0 => {
                let result: BillIdResult = response.decode_result()?;
                Ok(CreateOrderOutcome::Created(parse_bill_id(method, &result)?))
            }
            DUPLICATE_ORDER => {
                let result: BillIdResult = response.decode_result()?;
                Ok(CreateOrderOutcome::Duplicate(parse_bill_id(
                    method, &result,
                )?))
            }
            _ => Err(response.into_api_error()),
        }
    }

    /// `getOrderDetails` (§13.2): one order. `good_info` adds `good_ids`, `good_count`,
    /// `prepayment_enabled` and `prepayment_minsum`. An unknown number is
    /// [`ClientError::Api`] with code 400.
    pub async fn get_order_details(
        &self,
        bill_id: i64,
        good_info: bool,
    ) -> Result<OrderObject, ClientError> {
        let method = Method::GetOrderDetails.canonical_name();
        self.call_ok(
            method,
            &order_lookup(bill_id, good_info),
            &CallOptions::new(),
        )
        .await?
        .decode_result()
    }

    /// `GetOrderInfo` (§13.3, deprecated): the older form of
    /// [`get_order_details`](Client::get_order_details); `payway_name` adds
    /// `payway_support_phone`. The method answers a list of one order; this returns that order.
    pub async fn get_order_info(
        &self,
        bill_id: i64,
        good_info: bool,
        payway_name: bool,
    ) -> Result<OrderObject, ClientError> {
        let method = Method::GetOrderInfo.canonical_name();
        let mut params = order_lookup(bill_id, good_info);
        if payway_name {
            params.push((Key::from("payway_name"), Data::Bool(true)));
        }
        let response = self.call_ok(method, &params, &CallOptions::new()).await?;
        let mut orders: Vec<OrderObject> = response.decode_result()?;
        if orders.len() != 1 {
            return Err(unexpected(
                method,
                format!("expected one order, got {}", orders.len()),
            ));
        }
        Ok(orders.remove(0))
    }

    /// `UpdateOrderStatus` (§13.7): records delivery, payment, return, cancellation or refund.
    /// Refusals (200 no such order, 201, 202 not paid, 204 not changed, 3 malformed) are
    /// [`ClientError::Api`].
    pub async fn update_order_status(
        &self,
        bill_id: i64,
        update: &StatusUpdate,
    ) -> Result<(), ClientError> {
        let method = Method::UpdateOrderStatus.canonical_name();
        self.call_ok(method, &update.params(bill_id), &CallOptions::new())
            .await
            .map(drop)
    }

    /// `DeleteOrder` (§13.8): hides the order. An unknown number is [`ClientError::Api`] with
    /// code 200.
    pub async fn delete_order(&self, bill_id: i64) -> Result<(), ClientError> {
        let method = Method::DeleteOrder.canonical_name();
        let params = [(Key::from("bill_id"), Data::Int(bill_id))];
        self.call_ok(method, &params, &CallOptions::new())
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed_body;

    fn signed(params: &[(Key, Data)]) -> String {
        String::from_utf8(signed_body(params, "demo", "secret")).unwrap()
    }

    #[test]
    fn other_create_order_bodies_of_13_1_5() {
        let order = NewOrder::new()
            .email("client@example.com")
            .first_name("Иван")
            .good("book1");
        assert_eq!(
            signed(order.params()),
            "bill_email=client%40example.com&bill_first_name=%D0%98%D0%B2%D0%B0%D0%BD&goods%5B0%5D%5Bgood_name%5D=book1&hash=a76f39ae52a6c4facbc6cac83670a73c"
        );
        let order = NewOrder::new().email("client.example.com").good("code1");
        assert_eq!(
            signed(order.params()),
            "bill_email=client.example.com&goods%5B0%5D%5Bgood_name%5D=code1&hash=a9980ca065e1dd0be28bd3775cd2c13e"
        );
    }

    #[test]
    fn every_order_field() {
        let order = NewOrder::new()
            .email("a@b.ru")
            .goods(["x", "y"])
            .first_name("f")
            .surname("s")
            .middle_name("m")
            .otchestvo("o")
            .phone("p")
            .country("c")
            .region("r")
            .city("ci")
            .address("ad")
            .postal_code("pc")
            .kupon("k")
            .tag("t")
            .comment("co")
            .ip("1.2.3.4")
            .timer_kill(TimerKill::At(1_800_000_000))
            .created(1_700_000_000)
            .domain("https://shop.example/")
            .utm_content("uc")
            .aff_source("as")
            .aff_medium("am")
            .aff_campaign("ac")
            .aff_content("an")
            .aff_term("at")
            .aff(17)
            .aff_name("anna")
            .paff([5, 6])
            .paff_name("boris")
            .ad_id("ad")
            .click_id("cl")
            .param("extra", "1")
            .email("c@d.ru");
        let query = String::from_utf8(php_form::build_query_data(order.params())).unwrap();
        assert_eq!(
            query,
            "bill_email=c%40d.ru&goods%5B0%5D%5Bgood_name%5D=x&goods%5B1%5D%5Bgood_name%5D=y\
             &bill_first_name=f&bill_surname=s&bill_middle_name=m&bill_otchestvo=o&bill_phone=p\
             &bill_country=c&bill_region=r&bill_city=ci&bill_address=ad&bill_postal_code=pc\
             &bill_kupon=k&bill_tag=t&bill_comment=co&bill_ip=1.2.3.4\
             &bill_timer_kill=1800000000&bill_created=1700000000\
             &bill_domain=https%3A%2F%2Fshop.example%2F&utm%5Butm_content%5D=uc\
             &utm%5Baff_source%5D=as&utm%5Baff_medium%5D=am&utm%5Baff_campaign%5D=ac\
             &utm%5Baff_content%5D=an&utm%5Baff_term%5D=at&bill_aff=17&bill_aff_name=anna\
             &bill_paff%5B0%5D=5&bill_paff%5B1%5D=6&bill_paff_name=boris&bill_ad_id=ad\
             &bill_click_id=cl&extra=1"
        );
        let off = NewOrder::new().timer_kill(TimerKill::Off);
        assert_eq!(
            php_form::build_query_data(off.params()),
            b"bill_timer_kill=0"
        );
    }

    /// The `UpdateOrderStatus` vectors of §5.4, §13.7 and §16.7.
    #[test]
    fn status_update_vectors() {
        let sent = StatusUpdate::Sent {
            date: 1_700_000_000,
            rpo: "RPO123".into(),
        };
        assert_eq!(
            signed(&sent.params(12345)),
            "bill_id=12345&status=sent&date=1700000000&rpo=RPO123&hash=7a138e21e0933bfc904ecd4dd537a0be"
        );
        let refund = StatusUpdate::Moneyback {
            ext_ref_no: "R-1".into(),
        };
        assert_eq!(
            signed(&refund.params(12344)),
            "bill_id=12344&status=moneyback&ext_ref_no=R-1&hash=500e69c1a1589cfe13e2373ff704c81e"
        );
        let paid = StatusUpdate::Paid {
            date: 1_700_125_200,
            sum: Some(Amount::from(1000)),
            payway: None,
        };
        assert_eq!(
            signed(&paid.params(12346)),
            "bill_id=12346&status=paid&date=1700125200&sum=1000&hash=c5dcc9fff84b78fba3114eebcc925fc8"
        );
        let paid = StatusUpdate::Paid {
            date: 1,
            sum: None,
            payway: Some("Card".into()),
        };
        assert_eq!(
            php_form::build_query_data(&paid.params(7)),
            b"bill_id=7&status=paid&date=1&payway=Card"
        );
        assert_eq!(
            php_form::build_query_data(&StatusUpdate::Return.params(7)),
            b"bill_id=7&status=return"
        );
        assert_eq!(
            php_form::build_query_data(&StatusUpdate::Cancel.params(7)),
            b"bill_id=7&status=cancel"
        );
    }

    #[test]
    fn lookups() {
        assert_eq!(
            signed(&order_lookup(102937, true)),
            "bill_id=102937&good_info=1&hash=4eac6352ed52a48d534d5ec421b4c5a4"
        );
        assert_eq!(
            signed(&order_lookup(12345, false)),
            "bill_id=12345&hash=07104f8da0d90446813c981b4359de06"
        );
    }
}
