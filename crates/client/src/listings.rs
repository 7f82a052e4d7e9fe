//! Listing methods: `GetOrders` (§13.4), `getOrdersWithGoods` (§13.5), `GetBills` (§13.6) and
//! `GetPartnerStats` (§14.5).

use crate::client::{CallOptions, Client};
use crate::error::ClientError;
use crate::params::Params;
use clickbill_protocol::methods::{Bills, OrderObject, PartnerStatsObject};
use clickbill_protocol::value::PayStatus;
use clickbill_protocol::Method;
use php_form::{Data, Key};

/// `error_code` of `GetOrders` when no order lies in the window.
const ORDERS_NOT_FOUND: i64 = 401;
/// `error_code` of `GetBills` when the customer has no order.
const ORDER_NOT_FOUND: i64 = 400;

/// A calendar day, as `getOrdersWithGoods` and `GetPartnerStats` take their dates. The server
/// reads it in the tenant's time zone, as the whole day from 00:00:00 to 23:59:59.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    year: u16,
    month: u8,
    day: u8,
}

impl Day {
    /// The day, when it exists in the calendar and its year has four digits.
    ///
    /// ```
    /// use clickbill_client::Day;
    ///
    /// assert!(Day::new(2024, 2, 29).is_some());
    /// assert!(Day::new(2023, 2, 29).is_none());
    /// assert!(Day::new(2024, 4, 31).is_none());
    /// ```
    pub fn new(year: u16, month: u8, day: u8) -> Option<Day> {
        let leap =
            year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1000..=9999).contains(&year) && (1..=days_in_month).contains(&day)).then_some(Day {
            year,
            month,
            day,
        })
    }

    /// `dd.mm.yyyy`, the form of `getOrdersWithGoods`.
    fn dotted(self) -> String {
        format!("{:02}.{:02}.{}", self.day, self.month, self.year)
    }

    /// `YYYY-MM-DD`, the form of `GetPartnerStats`.
    fn iso(self) -> String {
        format!("{}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A product named in a `goods` filter: by its number (`good_id`) or its code (`good_name`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GoodRef {
    /// The product's number.
    Id(i64),
    /// The product's code, compared case-insensitively.
    Code(String),
}

impl GoodRef {
    fn to_data(&self) -> Data {
        match self {
            GoodRef::Id(id) => Data::Int(*id),
            GoodRef::Code(code) => Data::from(code.as_str()),
        }
    }
}

impl From<i64> for GoodRef {
    fn from(id: i64) -> GoodRef {
        GoodRef::Id(id)
    }
}

impl From<&str> for GoodRef {
    fn from(code: &str) -> GoodRef {
        GoodRef::Code(code.to_owned())
    }
}

impl From<String> for GoodRef {
    fn from(code: String) -> GoodRef {
        GoodRef::Code(code)
    }
}

/// The setters both order listings share: `paid` and the `goods` filter.
macro_rules! listing_filters {
    ($query:ident) => {
        impl $query {
            /// `paid`: only paid orders, selected by the time of payment instead of creation.
            pub fn paid(mut self, paid: bool) -> $query {
                self.params.set("paid", Data::Bool(paid));
                self
            }

            /// Adds a product to the `goods` filter (`goods[i]`): only orders with at least
            /// one of the products pass.
            pub fn good(mut self, good: impl Into<GoodRef>) -> $query {
                let goods = self.params.nested("goods");
                let index = goods.len() as i64;
                goods.push((Key::Int(index), good.into().to_data()));
                self
            }

            /// Adds several products to the `goods` filter.
            pub fn goods<G: Into<GoodRef>>(self, goods: impl IntoIterator<Item = G>) -> $query {
                goods.into_iter().fold(self, $query::good)
            }

            /// The parameters as they will be sent (before the `hash`), in the order first set.
            pub fn params(&self) -> &[(Key, Data)] {
                self.params.as_slice()
            }
        }
    };
}

/// The parameters of `GetOrders` (§13.4): a window of unix times, by default today (in the
/// tenant's time zone) until now, with no length limit.
///
/// ```
/// use clickbill_client::OrdersQuery;
///
/// let query = OrdersQuery::new()
///     .date_s(1_699_995_600)
///     .date_e(1_700_081_999)
///     .goods(["code1", "code2"]);
/// assert_eq!(query.params().len(), 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrdersQuery {
    params: Params,
}

impl OrdersQuery {
    /// Today's orders until now.
    pub fn new() -> OrdersQuery {
        OrdersQuery::default()
    }

    /// `date_s`: the first second of the window, unix time.
    pub fn date_s(mut self, unix_time: i64) -> OrdersQuery {
        self.params.set("date_s", Data::Int(unix_time));
        self
    }

    /// `date_e`: the last second of the window, unix time.
    pub fn date_e(mut self, unix_time: i64) -> OrdersQuery {
        self.params.set("date_e", Data::Int(unix_time));
        self
    }
}

listing_filters!(OrdersQuery);

/// The parameters of `getOrdersWithGoods` (§13.5): whole days in the tenant's time zone, by
/// default today until now. A window longer than 31 days is cut at its start.
///
/// ```
/// use clickbill_client::{Day, OrdersWithGoodsQuery};
///
/// let query = OrdersWithGoodsQuery::new()
///     .begin_date(Day::new(2019, 11, 1).unwrap())
///     .end_date(Day::new(2019, 11, 5).unwrap())
///     .paid(true)
///     .goods([1, 2]);
/// assert_eq!(query.params().len(), 4);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrdersWithGoodsQuery {
    params: Params,
}

impl OrdersWithGoodsQuery {
    /// Today's orders until now.
    pub fn new() -> OrdersWithGoodsQuery {
        OrdersWithGoodsQuery::default()
    }

    /// `begin_date`: the first day of the window.
    pub fn begin_date(mut self, day: Day) -> OrdersWithGoodsQuery {
        self.params.set("begin_date", Data::from(day.dotted()));
        self
    }

    /// `end_date`: the last day of the window, included.
    pub fn end_date(mut self, day: Day) -> OrdersWithGoodsQuery {
        self.params.set("end_date", Data::from(day.dotted()));
        self
    }

    /// `begin_date` as a unix time, used as given (a clickbill extension).
    pub fn begin_time(mut self, unix_time: i64) -> OrdersWithGoodsQuery {
        self.params.set("begin_date", Data::Int(unix_time));
        self
    }

    /// `end_date` as a unix time, used as given (a clickbill extension).
    pub fn end_time(mut self, unix_time: i64) -> OrdersWithGoodsQuery {
        self.params.set("end_date", Data::Int(unix_time));
        self
    }
}

listing_filters!(OrdersWithGoodsQuery);

/// The parameters of `GetPartnerStats` (§14.5): a partner and, optionally, the first and last
/// day of the window; a side left out is open.
///
/// ```
/// use clickbill_client::{Day, PartnerStatsQuery};
///
/// let november = PartnerStatsQuery::new("anna")
///     .date_from(Day::new(2019, 11, 1).unwrap())
///     .date_to(Day::new(2019, 11, 30).unwrap());
/// assert_eq!(november.params().len(), 3);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PartnerStatsQuery {
    params: Params,
}

impl PartnerStatsQuery {
    /// All of the partner's history.
    pub fn new(partner_login: impl Into<String>) -> PartnerStatsQuery {
        let mut params = Params::default();
        params.set("partner", Data::from(partner_login.into()));
        PartnerStatsQuery { params }
    }

    /// `date_from`: the first day counted.
    pub fn date_from(mut self, day: Day) -> PartnerStatsQuery {
        self.params.set("date_from", Data::from(day.iso()));
        self
    }

    /// `date_to`: the last day counted.
    pub fn date_to(mut self, day: Day) -> PartnerStatsQuery {
        self.params.set("date_to", Data::from(day.iso()));
        self
    }

    /// The parameters as they will be sent (before the `hash`).
    pub fn params(&self) -> &[(Key, Data)] {
        self.params.as_slice()
    }
}

impl Client {
    /// `GetOrders` (§13.4, deprecated): the orders of a window, items with `pincode`, ordered
    /// by number. An empty window gives an empty list (the wire's `401` / `Orders not found`).
    pub async fn get_orders(&self, query: &OrdersQuery) -> Result<Vec<OrderObject>, ClientError> {
        let method = Method::GetOrders.canonical_name();
        let response = self
            .call_with_options(method, query.params(), &CallOptions::new())
            .await?;
        match response.error_code {
            0 => response.decode_result(),
            ORDERS_NOT_FOUND => Ok(Vec::new()),
            _ => Err(response.into_api_error()),
        }
    }

    /// `getOrdersWithGoods` (§13.5): the orders of at most a month of days, items without
    /// `pincode`, ordered by number. A malformed date is [`ClientError::Api`] with code 3.
    pub async fn get_orders_with_goods(
        &self,
        query: &OrdersWithGoodsQuery,
    ) -> Result<Vec<OrderObject>, ClientError> {
        let method = Method::GetOrdersWithGoods.canonical_name();
        self.call_ok(method, query.params(), &CallOptions::new())
            .await?
            .decode_result()
    }

    /// `GetBills` (§13.6): a customer's orders, optionally of one status, with their products.
    /// A customer without such orders gives empty [`Bills`] (the wire's `400` /
    /// `Order not found`); an invalid e-mail is [`ClientError::Api`] with code 3.
    pub async fn get_bills(
        &self,
        email: &str,
        pay_status: Option<PayStatus>,
    ) -> Result<Bills, ClientError> {
        let method = Method::GetBills.canonical_name();
        let mut params = vec![(Key::from("email"), Data::from(email))];
        if let Some(status) = pay_status {
            params.push((Key::from("pay_status"), Data::from(status.as_str())));
        }
        let response = self
            .call_with_options(method, &params, &CallOptions::new())
            .await?;
        match response.error_code {
            0 => response.decode_result(),
            ORDER_NOT_FOUND => Ok(Bills::default()),
            _ => Err(response.into_api_error()),
        }
    }

    /// `GetPartnerStats` (§14.5): one partner's totals. An unknown login is
    /// [`ClientError::Api`] with code 1000.
    pub async fn get_partner_stats(
        &self,
        query: &PartnerStatsQuery,
    ) -> Result<PartnerStatsObject, ClientError> {
        let method = Method::GetPartnerStats.canonical_name();
        self.call_ok(method, query.params(), &CallOptions::new())
            .await?
            .decode_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed_body;

    fn signed(params: &[(Key, Data)]) -> String {
        String::from_utf8(signed_body(params, "demo", "secret")).unwrap()
    }

    /// The recorded requests of §13.4, §13.5 and §14.5.
    #[test]
    fn builders_reproduce_the_recorded_requests() {
        let orders = OrdersQuery::new()
            .date_s(1_699_995_600)
            .date_e(1_700_081_999);
        assert_eq!(
            signed(orders.params()),
            "date_s=1699995600&date_e=1700081999&hash=0c321692e2cf054db82efd75157bc3a2"
        );
        let with_goods = OrdersWithGoodsQuery::new()
            .begin_date(Day::new(2019, 11, 1).unwrap())
            .end_date(Day::new(2019, 11, 5).unwrap())
            .paid(true)
            .goods([1, 2]);
        assert_eq!(
            signed(with_goods.params()),
            "begin_date=01.11.2019&end_date=05.11.2019&paid=1&goods%5B0%5D=1&goods%5B1%5D=2&hash=5fb137c657a9c0ccc87dd69fdd46ff28"
        );
        let stats = PartnerStatsQuery::new("anna")
            .date_from(Day::new(2019, 11, 1).unwrap())
            .date_to(Day::new(2019, 11, 30).unwrap());
        assert_eq!(
            signed(stats.params()),
            "partner=anna&date_from=2019-11-01&date_to=2019-11-30&hash=f315c41d612cb3431b79877969c8fcbf"
        );
        assert_eq!(
            signed(PartnerStatsQuery::new("nobody").params()),
            "partner=nobody&hash=0c75d63fc440277d38f211145e470a18"
        );
    }

    #[test]
    fn filters_and_times() {
        // Later products join the `goods` array where it first appeared, as in a PHP array.
        let query = OrdersQuery::new()
            .good("code1")
            .paid(false)
            .good(GoodRef::Id(3))
            .date_e(5);
        assert_eq!(
            php_form::build_query_data(query.params()),
            b"goods%5B0%5D=code1&goods%5B1%5D=3&paid=0&date_e=5"
        );
        let query = OrdersWithGoodsQuery::new()
            .begin_time(1_572_555_600)
            .end_date(Day::new(2019, 11, 5).unwrap())
            .end_time(1_572_987_599);
        assert_eq!(
            php_form::build_query_data(query.params()),
            b"begin_date=1572555600&end_date=1572987599"
        );
    }

    #[test]
    fn days() {
        assert_eq!(Day::new(2024, 2, 29).unwrap().dotted(), "29.02.2024");
        assert_eq!(Day::new(2024, 2, 29).unwrap().iso(), "2024-02-29");
        assert_eq!(Day::new(1900, 2, 29), None);
        assert!(Day::new(2000, 2, 29).is_some());
        for (year, month, day) in [
            (2024, 0, 1),
            (2024, 13, 1),
            (2024, 1, 0),
            (2024, 1, 32),
            (999, 1, 1),
        ] {
            assert_eq!(Day::new(year, month, day), None, "{year}-{month}-{day}");
        }
    }
}
