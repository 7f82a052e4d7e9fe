//! The order object (§10.1–§10.3), its payment link (§10.5) and the `{"bill_id":…}` result of
//! order creation (§13.1).

use crate::sign::bill_crc;
use serde::{Deserialize, Serialize};

/// One order as `getOrderDetails`, `GetOrderInfo`, `GetOrders` and `getOrdersWithGoods` return
/// it. Fields are declared in the key order of §10.1; the optional ones are left out of the JSON
/// when `None`, which is how one struct serves every method.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderObject {
    /// The order number (`bill_id`).
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub middle_name: String,
    /// Normalised e-mail.
    pub email: String,
    pub phone: String,
    pub city: String,
    pub country: String,
    pub address: String,
    pub region: String,
    pub postalcode: String,
    /// Reported creation time, unix seconds.
    pub created: String,
    /// `waiting`, `paid`, `cancel` or `moneyback`.
    pub pay_status: String,
    /// Time of full payment; `"0"` while not fully paid.
    pub paid: String,
    /// `"1"` when the order holds a physical product.
    #[serde(rename = "type")]
    pub kind: String,
    pub payway: String,
    /// `GetOrderInfo` with `payway_name` true only; always `""` (§13.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payway_support_phone: Option<String>,
    pub comment: String,
    pub domain: String,
    /// The payment link (§10.5).
    pub link: String,
    /// `good_info` only: the items' product ids, in item order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good_ids: Option<Vec<String>>,
    /// `good_info` only: the number of items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good_count: Option<String>,
    /// Order total.
    pub price: String,
    pub bill_sum_topay: String,
    /// `good_info` only: the tenant's `prepayment_enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepayment_enabled: Option<String>,
    /// `good_info` only: the order's prepayment minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepayment_minsum: Option<String>,
    /// Always `"0"`.
    pub is_recurrent: String,
    pub last_payment_sum: String,
    pub prepayment_sum: String,
    pub tag: String,
    pub kupon: String,
    /// `""`, `sent` or `return`.
    pub delivery_status: String,
    /// `"0"` when never sent.
    pub delivery_date: String,
    pub rpo: String,
    /// Present only when at least one of the five values is non-empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm: Option<UtmObject>,
    pub items: Vec<ItemObject>,
}

/// The `utm` object of an order: all five keys, `""` for missing ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UtmObject {
    pub medium: String,
    pub source: String,
    pub campaign: String,
    pub content: String,
    pub term: String,
}

/// One item of an order (§10.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemObject {
    /// The product code (`good_name`), not its number.
    pub id: String,
    pub title: String,
    /// What the buyer pays for this item.
    pub sum: String,
    /// Catalogue price when the order was created.
    pub price: String,
    /// Absent in `getOrdersWithGoods`; `""` until a pin code is assigned elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pincode: Option<String>,
    pub partners: Vec<PartnerObject>,
}

/// A partner's fee on one item (§10.3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerObject {
    pub partner_lvl: String,
    pub partner_id: String,
    pub partner_name: String,
    pub partner_fee: String,
}

/// The result of `CreateOrder` (success and 601): the order number as a JSON string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillIdResult {
    pub bill_id: String,
}

impl BillIdResult {
    pub fn new(bill_id: i64) -> BillIdResult {
        BillIdResult {
            bill_id: bill_id.to_string(),
        }
    }
}

/// The `link` of an order (§10.5): relative when `domain` is empty, `domain` itself as prefix
/// when it carries a scheme, `http://` + `domain` otherwise; `crc` keyed with the tenant secret.
pub fn payment_link(domain: &str, bill_id: i64, secret: &str) -> String {
    let crc = bill_crc(secret, bill_id);
    let scheme = if domain.is_empty() || domain.contains("://") {
        ""
    } else {
        "http://"
    };
    format!("{scheme}{domain}/bill/?id={bill_id}&crc={crc}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::to_php_json;

    fn s(text: &str) -> String {
        text.to_owned()
    }

    /// Order 12345 of the fixture right after its creation (§13.1.5).
    fn order_12345() -> OrderObject {
        let item = |id: &str, title: &str, sum: &str, price: &str| ItemObject {
            id: s(id),
            title: s(title),
            sum: s(sum),
            price: s(price),
            pincode: Some(String::new()),
            partners: Vec::new(),
        };
        OrderObject {
            id: s("12345"),
            first_name: s("Иван"),
            last_name: s("Petrov"),
            email: s("client@example.com"),
            phone: s("+77777777777"),
            city: s("Москва"),
            address: s("Lenina 1, kv. 2"),
            created: s("1700000000"),
            pay_status: s("waiting"),
            paid: s("0"),
            kind: s("0"),
            comment: s("Comment ~!*()'"),
            link: payment_link("", 12345, "secret"),
            price: s("2999.50"),
            bill_sum_topay: s("2999.50"),
            is_recurrent: s("0"),
            last_payment_sum: s("0.00"),
            prepayment_sum: s("0.00"),
            tag: s("Tag"),
            delivery_date: s("0"),
            utm: Some(UtmObject {
                medium: s("medium"),
                source: s("source"),
                campaign: s("campaign"),
                content: String::new(),
                term: s("term"),
            }),
            items: vec![
                item("code1", "Онлайн-курс", "1000.00", "1000.00"),
                item("code2", "Video pack", "1999.50", "2500.00"),
            ],
            ..OrderObject::default()
        }
    }

    fn php(value: &impl Serialize) -> String {
        String::from_utf8(to_php_json(value)).unwrap()
    }

    const DETAILS_13_2: &str = r#"{"id":"12345","first_name":"\u0418\u0432\u0430\u043d","last_name":"Petrov","middle_name":"","email":"client@example.com","phone":"+77777777777","city":"\u041c\u043e\u0441\u043a\u0432\u0430","country":"","address":"Lenina 1, kv. 2","region":"","postalcode":"","created":"1700000000","pay_status":"waiting","paid":"0","type":"0","payway":"","comment":"Comment ~!*()'","domain":"","link":"\/bill\/?id=12345&crc=f88c7ebe4740db59","good_ids":["1","2"],"good_count":"2","price":"2999.50","bill_sum_topay":"2999.50","prepayment_enabled":"1","prepayment_minsum":"1000.00","is_recurrent":"0","last_payment_sum":"0.00","prepayment_sum":"0.00","tag":"Tag","kupon":"","delivery_status":"","delivery_date":"0","rpo":"","utm":{"medium":"medium","source":"source","campaign":"campaign","content":"","term":"term"},"items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"1000.00","price":"1000.00","pincode":"","partners":[]},{"id":"code2","title":"Video pack","sum":"1999.50","price":"2500.00","pincode":"","partners":[]}]}"#;

    const INFO_13_3: &str = r#"[{"id":"12345","first_name":"\u0418\u0432\u0430\u043d","last_name":"Petrov","middle_name":"","email":"client@example.com","phone":"+77777777777","city":"\u041c\u043e\u0441\u043a\u0432\u0430","country":"","address":"Lenina 1, kv. 2","region":"","postalcode":"","created":"1700000000","pay_status":"waiting","paid":"0","type":"0","payway":"","comment":"Comment ~!*()'","domain":"","link":"\/bill\/?id=12345&crc=f88c7ebe4740db59","price":"2999.50","bill_sum_topay":"2999.50","is_recurrent":"0","last_payment_sum":"0.00","prepayment_sum":"0.00","tag":"Tag","kupon":"","delivery_status":"","delivery_date":"0","rpo":"","utm":{"medium":"medium","source":"source","campaign":"campaign","content":"","term":"term"},"items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"1000.00","price":"1000.00","pincode":"","partners":[]},{"id":"code2","title":"Video pack","sum":"1999.50","price":"2500.00","pincode":"","partners":[]}]}]"#;

    const WITH_GOODS_13_5: &str = r#"[{"id":"12344","first_name":"Maria","last_name":"Ivanova","middle_name":"","email":"client@example.com","phone":"","city":"","country":"","address":"","region":"","postalcode":"","created":"1572678000","pay_status":"paid","paid":"1572681600","type":"0","payway":"RussianPostService","comment":"","domain":"shop.example","link":"http:\/\/shop.example\/bill\/?id=12344&crc=5a1c9153a4aafba3","price":"500.00","bill_sum_topay":"0.00","is_recurrent":"0","last_payment_sum":"500.00","prepayment_sum":"0.00","tag":"","kupon":"coupon50proc","delivery_status":"","delivery_date":"0","rpo":"","items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"500.00","price":"1000.00","partners":[{"partner_lvl":"1","partner_id":"17","partner_name":"anna","partner_fee":"50.00"},{"partner_lvl":"2","partner_id":"5","partner_name":"boris","partner_fee":"25.00"}]}]}]"#;

    #[test]
    fn order_details_of_13_2_with_good_info() {
        let order = OrderObject {
            good_ids: Some(vec![s("1"), s("2")]),
            good_count: Some(s("2")),
            prepayment_enabled: Some(s("1")),
            prepayment_minsum: Some(s("1000.00")),
            ..order_12345()
        };
        assert_eq!(php(&order), DETAILS_13_2);
        let back: OrderObject = serde_json::from_str(DETAILS_13_2).unwrap();
        assert_eq!(back, order);
    }

    #[test]
    fn order_info_of_13_3_is_an_array_of_one() {
        let orders = vec![order_12345()];
        assert_eq!(php(&orders), INFO_13_3);
        let back: Vec<OrderObject> = serde_json::from_str(INFO_13_3).unwrap();
        assert_eq!(back, orders);
    }

    #[test]
    fn payway_support_phone_follows_payway() {
        let order = OrderObject {
            payway_support_phone: Some(String::new()),
            ..order_12345()
        };
        assert!(php(&order).contains(r#""payway":"","payway_support_phone":"","comment":"#));
    }

    #[test]
    fn orders_with_goods_of_13_5_without_pincode_and_utm() {
        let order = OrderObject {
            id: s("12344"),
            first_name: s("Maria"),
            last_name: s("Ivanova"),
            email: s("client@example.com"),
            created: s("1572678000"),
            pay_status: s("paid"),
            paid: s("1572681600"),
            kind: s("0"),
            payway: s("RussianPostService"),
            domain: s("shop.example"),
            link: payment_link("shop.example", 12344, "secret"),
            price: s("500.00"),
            bill_sum_topay: s("0.00"),
            is_recurrent: s("0"),
            last_payment_sum: s("500.00"),
            prepayment_sum: s("0.00"),
            kupon: s("coupon50proc"),
            delivery_date: s("0"),
            items: vec![ItemObject {
                id: s("code1"),
                title: s("Онлайн-курс"),
                sum: s("500.00"),
                price: s("1000.00"),
                pincode: None,
                partners: vec![
                    PartnerObject {
                        partner_lvl: s("1"),
                        partner_id: s("17"),
                        partner_name: s("anna"),
                        partner_fee: s("50.00"),
                    },
                    PartnerObject {
                        partner_lvl: s("2"),
                        partner_id: s("5"),
                        partner_name: s("boris"),
                        partner_fee: s("25.00"),
                    },
                ],
            }],
            ..OrderObject::default()
        };
        assert_eq!(php(&vec![order.clone()]), WITH_GOODS_13_5);
        let back: Vec<OrderObject> = serde_json::from_str(WITH_GOODS_13_5).unwrap();
        assert_eq!(back, vec![order]);
    }

    #[test]
    fn bill_id_result() {
        assert_eq!(php(&BillIdResult::new(12345)), r#"{"bill_id":"12345"}"#);
        let back: BillIdResult = serde_json::from_str(r#"{"bill_id":"12345"}"#).unwrap();
        assert_eq!(back, BillIdResult::new(12345));
    }

    #[test]
    fn links_of_10_5() {
        assert_eq!(
            payment_link("", 12345, "secret"),
            "/bill/?id=12345&crc=f88c7ebe4740db59"
        );
        assert_eq!(
            payment_link("shop.example", 12344, "secret"),
            "http://shop.example/bill/?id=12344&crc=5a1c9153a4aafba3"
        );
        assert_eq!(
            payment_link("https://pay.example", 12346, "secret"),
            "https://pay.example/bill/?id=12346&crc=8d6cd58084c85b49"
        );
    }
}
