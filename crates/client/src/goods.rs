//! Product methods (§14.1–§14.4): `AddGood`, `UpdateGood`, `DeleteGood`, `GetAllGoods`.

use crate::client::{CallOptions, Client};
use crate::error::ClientError;
use crate::params::{Amount, Params};
use clickbill_protocol::methods::GoodObject;
use clickbill_protocol::Method;
use php_form::{Data, Key};
use std::fmt;

/// `error_code` of `GetAllGoods` on an empty catalogue.
const NO_PRODUCTS: i64 = 700;

/// Whether a product is shipped (`good_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GoodType {
    /// `0`: delivered electronically.
    Digital,
    /// `1`: shipped; orders with it need delivery data (605).
    Physical,
}

impl GoodType {
    fn to_data(self) -> Data {
        match self {
            GoodType::Digital => Data::Int(0),
            GoodType::Physical => Data::Int(1),
        }
    }
}

/// `good_post_service`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PostService {
    /// `none`.
    None,
    /// `quickpost`.
    Quickpost,
}

impl PostService {
    fn as_str(self) -> &'static str {
        match self {
            PostService::None => "none",
            PostService::Quickpost => "quickpost",
        }
    }
}

/// A partner commission (`good_partner_fee[<level>]`): a percentage of the item's sum or a fixed
/// amount.
#[derive(Clone, Debug, PartialEq)]
pub struct PartnerFee(Data);

impl PartnerFee {
    /// A percentage in (0, 100], sent as `<value>%` (`10%`, `7.5%`); accepts numbers, text and
    /// [`clickbill_protocol::Percent`].
    pub fn percent(value: impl fmt::Display) -> PartnerFee {
        PartnerFee(Data::from(format!("{value}%")))
    }

    /// A fixed amount per item.
    pub fn amount(value: impl Into<Amount>) -> PartnerFee {
        PartnerFee(value.into().to_data())
    }
}

/// The optional product parameters shared by [`NewGood`] and [`GoodUpdate`]; each setter is
/// named after its wire parameter without the `good_` prefix.
macro_rules! good_setters {
    () => {
        /// `parent_id`: the category id (stored, not checked).
        pub fn parent_id(mut self, value: impl Into<String>) -> Self {
            self.params.set("parent_id", Data::from(value.into()));
            self
        }

        /// `good_api_url_notif`: where the `paid` notification goes.
        pub fn api_url_notif(mut self, url: impl Into<String>) -> Self {
            self.params
                .set("good_api_url_notif", Data::from(url.into()));
            self
        }

        /// `good_api_url_new_order`: where the `new_order` notification goes.
        pub fn api_url_new_order(mut self, url: impl Into<String>) -> Self {
            self.params
                .set("good_api_url_new_order", Data::from(url.into()));
            self
        }

        /// `good_api_url_prepaid` (clickbill extension): where the `prepaid` notification goes.
        pub fn api_url_prepaid(mut self, url: impl Into<String>) -> Self {
            self.params
                .set("good_api_url_prepaid", Data::from(url.into()));
            self
        }

        /// `good_api_url_cancel` (clickbill extension): where the `cancel_order` notification
        /// goes.
        pub fn api_url_cancel(mut self, url: impl Into<String>) -> Self {
            self.params
                .set("good_api_url_cancel", Data::from(url.into()));
            self
        }

        /// `good_api_url_moneyback` (clickbill extension): where the `moneyback` notification
        /// goes.
        pub fn api_url_moneyback(mut self, url: impl Into<String>) -> Self {
            self.params
                .set("good_api_url_moneyback", Data::from(url.into()));
            self
        }

        /// `good_success_link`: the page shown after a successful payment.
        pub fn success_link(mut self, url: impl Into<String>) -> Self {
            self.params.set("good_success_link", Data::from(url.into()));
            self
        }

        /// `good_client_rassilki`: groups buyers join once the order is fully paid, sent
        /// comma-separated. Ids that name no group create one.
        pub fn client_rassilki<S: AsRef<str>>(
            mut self,
            groups: impl IntoIterator<Item = S>,
        ) -> Self {
            let list = groups
                .into_iter()
                .map(|g| g.as_ref().to_owned())
                .collect::<Vec<_>>()
                .join(",");
            self.params.set("good_client_rassilki", Data::from(list));
            self
        }

        /// `good_nalozh_only`: cash on delivery only (physical products).
        pub fn nalozh_only(mut self, value: bool) -> Self {
            self.params.set("good_nalozh_only", Data::Bool(value));
            self
        }

        /// `good_quickpost_article`.
        pub fn quickpost_article(mut self, value: impl Into<String>) -> Self {
            self.params
                .set("good_quickpost_article", Data::from(value.into()));
            self
        }

        /// `good_post_service`.
        pub fn post_service(mut self, service: PostService) -> Self {
            self.params
                .set("good_post_service", Data::from(service.as_str()));
            self
        }

        /// `good_prepayment_minsum` (clickbill extension): the product's prepayment minimum.
        pub fn prepayment_minsum(mut self, sum: impl Into<Amount>) -> Self {
            self.params
                .set("good_prepayment_minsum", sum.into().to_data());
            self
        }

        /// `good_timer_kill` (clickbill extension): auto-cancel delay in seconds, 0 for none.
        pub fn timer_kill(mut self, seconds: u32) -> Self {
            self.params
                .set("good_timer_kill", Data::Int(i64::from(seconds)));
            self
        }

        /// `good_partner_fee[level]` (clickbill extension): the commission of partner level
        /// `level` (1, 2, …). Call once per level.
        pub fn partner_fee(mut self, level: u32, fee: PartnerFee) -> Self {
            let fees = self.params.nested("good_partner_fee");
            crate::params::set_in(fees, Key::Int(i64::from(level)), fee.0);
            self
        }

        /// Any other parameter, sent as given.
        pub fn param(mut self, name: &str, value: impl Into<Data>) -> Self {
            self.params.set(name, value.into());
            self
        }

        /// The parameters as they will be sent (before the `hash`).
        pub fn params(&self) -> &[(Key, Data)] {
            self.params.as_slice()
        }
    };
}

/// The parameters of `AddGood` (§14.1): the four required ones first, in the order PHP clients
/// send them, then any optional ones in the order they are set.
///
/// ```
/// use clickbill_client::{GoodType, NewGood, PartnerFee};
///
/// let good = NewGood::new("code3", "E-book", 490, GoodType::Digital)
///     .api_url_notif("https://crm.example/jc.php?a=paid")
///     .partner_fee(1, PartnerFee::percent(10))
///     .partner_fee(2, PartnerFee::amount("25.00"));
/// assert_eq!(
///     php_form::build_query_data(good.params()),
///     b"good_name=code3&good_type=0&good_title=E-book&good_sum=490\
///       &good_api_url_notif=https%3A%2F%2Fcrm.example%2Fjc.php%3Fa%3Dpaid\
///       &good_partner_fee%5B1%5D=10%25&good_partner_fee%5B2%5D=25.00"
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NewGood {
    params: Params,
}

impl NewGood {
    /// A product with code `good_name` (1–100 characters of `A–Z a–z 0–9 _ - .`), title and
    /// catalogue price.
    pub fn new(
        good_name: impl Into<String>,
        title: impl Into<String>,
        sum: impl Into<Amount>,
        good_type: GoodType,
    ) -> NewGood {
        let mut params = Params::default();
        params.set("good_name", Data::from(good_name.into()));
        params.set("good_type", good_type.to_data());
        params.set("good_title", Data::from(title.into()));
        params.set("good_sum", sum.into().to_data());
        NewGood { params }
    }

    good_setters!();
}

/// The parameters of `UpdateGood` (§14.2): the product code, then only what changes.
///
/// ```
/// use clickbill_client::GoodUpdate;
///
/// let update = GoodUpdate::new("code3").sum(590);
/// assert_eq!(php_form::build_query_data(update.params()), b"good_name=code3&good_sum=590");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GoodUpdate {
    params: Params,
}

impl GoodUpdate {
    /// Changes the product with code `good_name` (the code itself cannot change).
    pub fn new(good_name: impl Into<String>) -> GoodUpdate {
        let mut params = Params::default();
        params.set("good_name", Data::from(good_name.into()));
        GoodUpdate { params }
    }

    /// `good_title`: a new title.
    pub fn title(mut self, title: impl Into<String>) -> GoodUpdate {
        self.params.set("good_title", Data::from(title.into()));
        self
    }

    /// `good_sum`: a new catalogue price (orders already placed keep theirs).
    pub fn sum(mut self, sum: impl Into<Amount>) -> GoodUpdate {
        self.params.set("good_sum", sum.into().to_data());
        self
    }

    /// `good_type`: digital or physical.
    pub fn good_type(mut self, good_type: GoodType) -> GoodUpdate {
        self.params.set("good_type", good_type.to_data());
        self
    }

    good_setters!();
}

impl Client {
    /// `AddGood` (§14.1). A taken code is [`ClientError::Api`] with code 301; a blank required
    /// parameter 2, a malformed value 3.
    pub async fn add_good(&self, good: &NewGood) -> Result<(), ClientError> {
        let method = Method::AddGood.canonical_name();
        self.call_ok(method, good.params(), &CallOptions::new())
            .await
            .map(drop)
    }

    /// `UpdateGood` (§14.2). An unknown code is [`ClientError::Api`] with code 300.
    pub async fn update_good(&self, update: &GoodUpdate) -> Result<(), ClientError> {
        let method = Method::UpdateGood.canonical_name();
        self.call_ok(method, update.params(), &CallOptions::new())
            .await
            .map(drop)
    }

    /// `DeleteGood` (§14.3). An unknown code is [`ClientError::Api`] with code 302.
    pub async fn delete_good(&self, good_name: &str) -> Result<(), ClientError> {
        let method = Method::DeleteGood.canonical_name();
        let params = [(Key::from("good_name"), Data::from(good_name))];
        self.call_ok(method, &params, &CallOptions::new())
            .await
            .map(drop)
    }

    /// `GetAllGoods` (§14.4): the catalogue ordered by product id. An empty catalogue, which the
    /// server reports as code 700 (`No products`), is an empty list here.
    pub async fn get_all_goods(&self) -> Result<Vec<GoodObject>, ClientError> {
        let method = Method::GetAllGoods.canonical_name();
        let response = self
            .call_with_options(method, &[], &CallOptions::new())
            .await?;
        match response.error_code {
            0 => response.decode_result(),
            NO_PRODUCTS => Ok(Vec::new()),
            _ => Err(response.into_api_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed_body;
    use clickbill_protocol::Percent;

    fn signed(params: &[(Key, Data)]) -> String {
        String::from_utf8(signed_body(params, "demo", "secret")).unwrap()
    }

    /// The requests of §14.1–§14.4.
    #[test]
    fn product_vectors() {
        let add = NewGood::new("code3", "E-book", 490, GoodType::Digital);
        assert_eq!(
            signed(add.params()),
            "good_name=code3&good_type=0&good_title=E-book&good_sum=490&hash=ce9ce48e5e7856f1cc4a41892a21f8a1"
        );
        let update = GoodUpdate::new("code3").sum(590);
        assert_eq!(
            signed(update.params()),
            "good_name=code3&good_sum=590&hash=1941bed5cd973f0f6b7bfbb44c0ce4d9"
        );
        let delete = [(Key::from("good_name"), Data::from("code3"))];
        assert_eq!(
            signed(&delete),
            "good_name=code3&hash=a9388ad199ca94414cb20f247bea14e6"
        );
        assert_eq!(signed(&[]), "hash=07d7c258e970b0e2fd9c7694ed0046c8");
    }

    #[test]
    fn every_good_field() {
        let good = NewGood::new("book1", "Printed book", "1500.00", GoodType::Physical)
            .parent_id("7")
            .api_url_notif("n")
            .api_url_new_order("o")
            .api_url_prepaid("p")
            .api_url_cancel("c")
            .api_url_moneyback("m")
            .success_link("s")
            .client_rassilki(["g1", "g2"])
            .nalozh_only(true)
            .quickpost_article("q")
            .post_service(PostService::Quickpost)
            .prepayment_minsum(500)
            .timer_kill(3600)
            .partner_fee(
                1,
                PartnerFee::percent(Percent::from_hundredths(750).unwrap()),
            )
            .partner_fee(2, PartnerFee::amount(300))
            .partner_fee(1, PartnerFee::percent("10"))
            .param("x", "y");
        assert_eq!(
            String::from_utf8(php_form::build_query_data(good.params())).unwrap(),
            "good_name=book1&good_type=1&good_title=Printed+book&good_sum=1500.00&parent_id=7\
             &good_api_url_notif=n&good_api_url_new_order=o&good_api_url_prepaid=p\
             &good_api_url_cancel=c&good_api_url_moneyback=m&good_success_link=s\
             &good_client_rassilki=g1%2Cg2&good_nalozh_only=1&good_quickpost_article=q\
             &good_post_service=quickpost&good_prepayment_minsum=500&good_timer_kill=3600\
             &good_partner_fee%5B1%5D=10%25&good_partner_fee%5B2%5D=300&x=y"
        );
        let update = GoodUpdate::new("book1")
            .title("T")
            .good_type(GoodType::Digital)
            .post_service(PostService::None)
            .nalozh_only(false);
        assert_eq!(
            php_form::build_query_data(update.params()),
            b"good_name=book1&good_title=T&good_type=0&good_post_service=none&good_nalozh_only=0"
        );
    }
}
