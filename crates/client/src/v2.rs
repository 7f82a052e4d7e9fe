//! API 2.0 calls (§15): `createorder`, `getgoods`, `getcoupons`, `getpersonalmanagers`. They
//! authenticate with the API key (`rpsKey`, §5.6): the secret travels in the body, so use them
//! over TLS or on loopback only.

use crate::client::{unexpected, Auth, CallOptions, Client};
use crate::error::ClientError;
use crate::orders::CreateOrderOutcome;
use crate::params::{Amount, Params};
use clickbill_protocol::methods::{
    BillIdResult, CouponListEntry, CreateOrderStatus, GoodListEntry, ManagerListEntry,
};
use clickbill_protocol::Method;
use php_form::{format_g, Data, Key};

/// The API 2.0 spelling of the order method (§2.2): with `product_names` among its parameters
/// the server reads the 2.0 parameter set.
const CREATE_ORDER: &str = "createorder";

/// `error_code` of a duplicate order (§13.1.4).
const DUPLICATE_ORDER: i64 = 601;

/// The parameters of API 2.0 `createorder` (§15.2).
///
/// Every setter is named after its wire parameter. Parameters are sent in the order they are
/// first set; setting one again replaces its value in place. An e-mail and at least one product
/// are required (600 and 603 otherwise); a physical product also needs the first and last
/// name, `customer_shipping`, `customer_shipping_city` and a country code (605).
///
/// ```
/// use clickbill_client::{CreateOrderStatus, NewOrderV2};
///
/// let order = NewOrderV2::new()
///     .customer_email("buyer@example.com")
///     .customer_first_name("John")
///     .customer_last_name("Smith")
///     .order_created_at("2023-11-16 10:00:00")
///     .priced_product("code1", 900)
///     .product("code2")
///     .coupon("586")
///     .affiliates(["anna"])
///     .utm_source("newsletter")
///     .order_status(CreateOrderStatus::Expected);
/// assert_eq!(order.params().len(), 10);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewOrderV2 {
    params: Params,
    products: Vec<(String, Option<Amount>)>,
    idempotency_key: Option<String>,
}

macro_rules! text_setters {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: impl Into<String>) -> Self {
                self.params.set(stringify!($name), Data::from(value.into()));
                self
            }
        )*
    };
}

impl NewOrderV2 {
    /// An order without any parameter yet.
    pub fn new() -> NewOrderV2 {
        NewOrderV2::default()
    }

    text_setters! {
        /// The customer's e-mail (required).
        customer_email;
        /// First name (required for physical products).
        customer_first_name;
        /// Last name (required for physical products).
        customer_last_name;
        /// Middle name.
        customer_middle_name;
        /// Phone; when blank the server takes `customer_shipping_phone`.
        customer_phone;
        /// The IP address the order is recorded with; by default the request's address.
        order_ip;
        /// Street address (required for physical products).
        customer_shipping;
        /// Shipping phone, stored and used when `customer_phone` is blank.
        customer_shipping_phone;
        /// Second address line, appended to `customer_shipping` after `, `.
        customer_shipping_address_2;
        /// City (required for physical products).
        customer_shipping_city;
        /// Region.
        customer_shipping_state;
        /// Postal code.
        customer_shipping_zip;
        /// ISO 3166-1 alpha-2 code of the country, stored as the country's English short name
        /// (required for physical products, unless a billing country code is given).
        customer_shipping_country_code;
        /// Billing address, first line (stored only).
        customer_billing_address_1;
        /// Billing address, second line (stored only).
        customer_billing_address_2;
        /// Billing city (stored only).
        customer_billing_city;
        /// Billing region (stored only).
        customer_billing_state;
        /// Billing postal code (stored only).
        customer_billing_zip;
        /// Billing country code; also the order's country when the shipping code is blank.
        customer_billing_country_code;
        /// The order tag.
        order_tag;
        /// A comment.
        note;
        /// The creation time the order reports, in the tenant's time zone, as
        /// `dd.mm.yyyy hh:mm:ss`, `yyyy-mm-dd hh:mm:ss` or `mm/dd/yyyy hh:mm:ss` (default: now).
        order_created_at;
        /// When an order created `Paid` or `MoneyBack` was paid, in the forms of
        /// [`order_created_at`](NewOrderV2::order_created_at) (default: now).
        order_paid_at;
        /// Whether the order is confirmed (`Yes`, `No`, `True`, `False`, …), stored as given.
        order_confirmed;
        /// The payment method recorded for an order created `Paid`.
        payment_method;
        /// A discount coupon, by code or id.
        coupon;
        /// UTM medium.
        utm_medium;
        /// UTM source.
        utm_source;
        /// UTM campaign.
        utm_campaign;
        /// UTM content.
        utm_content;
        /// UTM term.
        utm_term;
    }

    /// Adds a product at its catalogue price (`product_names`); call once per product. Codes
    /// cannot contain `,`.
    pub fn product(self, good_name: impl Into<String>) -> NewOrderV2 {
        self.add_product(good_name.into(), None)
    }

    /// Adds a product at `price` for this order (before any coupon), the element of
    /// `product_prices` at the product's position.
    pub fn priced_product(
        self,
        good_name: impl Into<String>,
        price: impl Into<Amount>,
    ) -> NewOrderV2 {
        self.add_product(good_name.into(), Some(price.into()))
    }

    fn add_product(mut self, name: String, price: Option<Amount>) -> NewOrderV2 {
        self.products.push((name, price));
        let names: Vec<&str> = self.products.iter().map(|(n, _)| n.as_str()).collect();
        self.params
            .set("product_names", Data::from(names.join(",")));
        if self.products.iter().any(|(_, price)| price.is_some()) {
            let prices: Vec<String> = self
                .products
                .iter()
                .map(|(_, price)| price.as_ref().map(price_text).unwrap_or_default())
                .collect();
            self.params
                .set("product_prices", Data::from(prices.join(",")));
        }
        self
    }

    /// `order_status`: the state the order is created in (default `Expected`).
    pub fn order_status(mut self, status: CreateOrderStatus) -> NewOrderV2 {
        self.params.set("order_status", Data::from(status.as_str()));
        self
    }

    /// `order_sales_manager`: the id of the order's personal manager; ignored by the server
    /// when it names none.
    pub fn order_sales_manager(mut self, manager_id: i64) -> NewOrderV2 {
        self.params
            .set("order_sales_manager", Data::Int(manager_id));
        self
    }

    /// `affiliates`: partner logins for levels 1, 2, … in order.
    pub fn affiliates<S: AsRef<str>>(mut self, logins: impl IntoIterator<Item = S>) -> NewOrderV2 {
        let logins: Vec<String> = logins.into_iter().map(|l| l.as_ref().to_owned()).collect();
        self.params.set("affiliates", Data::from(logins.join(",")));
        self
    }

    /// Any other parameter, sent as given.
    pub fn param(mut self, name: &str, value: impl Into<Data>) -> NewOrderV2 {
        self.params.set_key(Key::from(name), value.into());
        self
    }

    /// Sends the order with an `Idempotency-Key` header (§17, a clickbill extension).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> NewOrderV2 {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The parameters as they will be sent (before `rpsKey`).
    pub fn params(&self) -> &[(Key, Data)] {
        self.params.as_slice()
    }
}

/// A price inside the comma-separated `product_prices`, written as a PHP client writes the
/// same value.
fn price_text(price: &Amount) -> String {
    match price.to_data() {
        Data::Int(n) => n.to_string(),
        Data::Float(f) => format_g(f, 14),
        Data::Bytes(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Data::Null | Data::Bool(_) | Data::Array(_) => String::new(),
    }
}

fn key_auth() -> CallOptions {
    CallOptions::new().auth(Auth::Key)
}

impl Client {
    /// `createorder` (§15.2): creates the order, or reports the identical order placed within
    /// the last 24 hours. Other codes (600, 603, 604, 605, 3, …) are [`ClientError::Api`].
    pub async fn create_order_v2(
        &self,
        order: &NewOrderV2,
    ) -> Result<CreateOrderOutcome, ClientError> {
        let mut options = key_auth();
        if let Some(key) = &order.idempotency_key {
            options = options.idempotency_key(key.clone());
        }
        let response = self
            .call_with_options(CREATE_ORDER, order.params(), &options)
            .await?;
        let bill_id = |response: &crate::Response| {
            let result: BillIdResult = response.decode_result()?;
            result.bill_id.parse::<i64>().map_err(|_| {
                unexpected(
                    CREATE_ORDER,
                    format!("bill_id {:?} is not a number", result.bill_id),
                )
            })
        };
        match response.error_code {
            0 => Ok(CreateOrderOutcome::Created(bill_id(&response)?)),
            DUPLICATE_ORDER => Ok(CreateOrderOutcome::Duplicate(bill_id(&response)?)),
            _ => Err(response.into_api_error()),
        }
    }

    /// `getgoods` (§15.8): the catalogue, by id.
    pub async fn get_goods(&self) -> Result<Vec<GoodListEntry>, ClientError> {
        self.call_ok(Method::GetGoods.canonical_name(), &[], &key_auth())
            .await?
            .decode_result()
    }

    /// `getcoupons` (§15.9): the coupons in use, expired ones included, by id.
    pub async fn get_coupons(&self) -> Result<Vec<CouponListEntry>, ClientError> {
        self.call_ok(Method::GetCoupons.canonical_name(), &[], &key_auth())
            .await?
            .decode_result()
    }

    /// `getpersonalmanagers` (§15.10): the personal managers, by id.
    pub async fn get_personal_managers(&self) -> Result<Vec<ManagerListEntry>, ClientError> {
        self.call_ok(
            Method::GetPersonalManagers.canonical_name(),
            &[],
            &key_auth(),
        )
        .await?
        .decode_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_body;

    #[test]
    fn the_request_of_15_2() {
        let order = NewOrderV2::new()
            .customer_email("buyer@example.com")
            .customer_first_name("John")
            .customer_last_name("Smith")
            .order_created_at("2023-11-16 10:00:00")
            .product("code1")
            .product("code2")
            .param("product_prices", "900")
            .coupon("586")
            .affiliates(["anna"])
            .utm_source("newsletter");
        assert_eq!(
            String::from_utf8(key_body(order.params(), "secret")).unwrap(),
            "customer_email=buyer%40example.com&customer_first_name=John&customer_last_name=Smith\
             &order_created_at=2023-11-16+10%3A00%3A00&product_names=code1%2Ccode2\
             &product_prices=900&coupon=586&affiliates=anna&utm_source=newsletter&rpsKey=secret"
        );
    }

    #[test]
    fn prices_keep_the_positions_of_their_products() {
        let order = NewOrderV2::new()
            .product("code1")
            .priced_product("code2", 1999.5)
            .product("code3")
            .priced_product("book1", "1200.00")
            .priced_product("code4", 7);
        assert_eq!(
            php_form::build_query_data(order.params()),
            b"product_names=code1%2Ccode2%2Ccode3%2Cbook1%2Ccode4\
              &product_prices=%2C1999.5%2C%2C1200.00%2C7"
        );
        assert_eq!(
            php_form::build_query_data(NewOrderV2::new().product("a").params()),
            b"product_names=a"
        );
    }

    #[test]
    fn every_parameter() {
        let order = NewOrderV2::new()
            .customer_middle_name("M")
            .customer_phone("P")
            .order_ip("1.2.3.4")
            .customer_shipping("S")
            .customer_shipping_phone("SP")
            .customer_shipping_address_2("S2")
            .customer_shipping_city("SC")
            .customer_shipping_state("SS")
            .customer_shipping_zip("SZ")
            .customer_shipping_country_code("us")
            .customer_billing_address_1("B1")
            .customer_billing_address_2("B2")
            .customer_billing_city("BC")
            .customer_billing_state("BS")
            .customer_billing_zip("BZ")
            .customer_billing_country_code("de")
            .order_tag("T")
            .note("N")
            .order_paid_at("16.11.2023 10:00:00")
            .order_status(CreateOrderStatus::MoneyBack)
            .order_confirmed("Yes")
            .order_sales_manager(71257)
            .payment_method("Card")
            .utm_medium("m")
            .utm_campaign("c")
            .utm_content("co")
            .utm_term("t")
            .affiliates(vec!["anna".to_owned(), "boris".to_owned()])
            .order_status(CreateOrderStatus::Paid);
        let query = String::from_utf8(php_form::build_query_data(order.params())).unwrap();
        assert_eq!(
            query,
            "customer_middle_name=M&customer_phone=P&order_ip=1.2.3.4&customer_shipping=S\
             &customer_shipping_phone=SP&customer_shipping_address_2=S2&customer_shipping_city=SC\
             &customer_shipping_state=SS&customer_shipping_zip=SZ&customer_shipping_country_code=us\
             &customer_billing_address_1=B1&customer_billing_address_2=B2&customer_billing_city=BC\
             &customer_billing_state=BS&customer_billing_zip=BZ&customer_billing_country_code=de\
             &order_tag=T&note=N&order_paid_at=16.11.2023+10%3A00%3A00&order_status=Paid\
             &order_confirmed=Yes&order_sales_manager=71257&payment_method=Card&utm_medium=m\
             &utm_campaign=c&utm_content=co&utm_term=t&affiliates=anna%2Cboris"
        );
    }
}
