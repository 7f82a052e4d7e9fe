//! The bodies of outgoing notifications (SPEC §16): which fields each event carries, in which
//! order, and its `hash` (§16.3), encoded like `http_build_query` (§4.7).

use crate::methods::{ItemObject, OrderObject, UtmObject};
use crate::sign::notification_hash;
use php_form::{build_query_data, Data, Key};
use std::fmt;

/// The order events a product notifies (§16.4–§16.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderNotification {
    NewOrder,
    CancelOrder,
    Paid,
    Prepaid,
    Moneyback,
}

impl OrderNotification {
    /// The event's name as the specification spells it (also the `status` field, where sent).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderNotification::NewOrder => "new_order",
            OrderNotification::CancelOrder => "cancel_order",
            OrderNotification::Paid => "paid",
            OrderNotification::Prepaid => "prepaid",
            OrderNotification::Moneyback => "moneyback",
        }
    }
}

impl fmt::Display for OrderNotification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body POSTed for `event` about `order` (the §10 object of the order as it was when the
/// event happened), signed with the tenant `secret`.
pub fn order_notification_body(
    event: OrderNotification,
    order: &OrderObject,
    secret: &str,
) -> Vec<u8> {
    use OrderNotification::*;
    let mut fields = Fields::default();
    if matches!(event, NewOrder | CancelOrder | Moneyback) {
        fields.text("status", event.as_str());
    }
    fields.text("id", &order.id);
    fields.text("first_name", &order.first_name);
    fields.text("last_name", &order.last_name);
    fields.text("middle_name", &order.middle_name);
    fields.text("email", &order.email);
    fields.text("phone", &order.phone);
    fields.text("city", &order.city);
    fields.text("country", &order.country);
    if matches!(event, NewOrder | Paid) {
        fields.text("address", &order.address);
    }
    fields.text("region", &order.region);
    fields.text("postalcode", &order.postalcode);
    fields.text("created", &order.created);
    match event {
        NewOrder => {
            fields.text("comment", &order.comment);
            fields.text("tag", &order.tag);
            fields.text("kupon", &order.kupon);
            fields.text("domain", &order.domain);
            fields.text("link", &order.link);
        }
        CancelOrder => fields.text("comment", &order.comment),
        Paid => {
            fields.text("paid", &order.paid);
            fields.text("last_payment_sum", &order.last_payment_sum);
            fields.text("comment", &order.comment);
            fields.text("tag", &order.tag);
            fields.text("kupon", &order.kupon);
            fields.text("type", &order.kind);
            fields.text("payway", &order.payway);
            fields.text("domain", &order.domain);
            fields.text("is_recurrent", &order.is_recurrent);
        }
        Prepaid => {
            fields.text("prepayment_sum", &order.prepayment_sum);
            fields.text("tag", &order.tag);
            fields.text("kupon", &order.kupon);
            fields.text("domain", &order.domain);
            fields.text("link", &order.link);
            fields.text("is_recurrent", &order.is_recurrent);
        }
        Moneyback => {
            fields.text("comment", &order.comment);
            fields.text("is_recurrent", &order.is_recurrent);
        }
    }
    fields.utm(order.utm.as_ref());
    fields.items(&order.items, matches!(event, Paid | Prepaid));
    // §16.3: `paid` is part of the paid family's hash; prepaid and moneyback payloads carry no
    // `paid`, so it counts as empty there.
    let time: &str = match event {
        NewOrder | CancelOrder => &order.created,
        Paid => &order.paid,
        Prepaid | Moneyback => "",
    };
    let hash = notification_hash(
        &[order.id.as_bytes(), order.email.as_bytes(), time.as_bytes()],
        secret,
    );
    fields.text("hash", &hash);
    fields.build()
}

/// What an unsubscribe notification says (§16.9).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnsubscribeNotification {
    /// The contact's name.
    pub name: String,
    pub email: String,
    pub phone: String,
    pub city: String,
    /// The group's `rass_id`.
    pub id_group: String,
    /// The client IP recorded with the subscription, empty if none.
    pub ip: String,
}

impl UnsubscribeNotification {
    /// The unsigned body, fields in the order of §16.9, `status` always `0`.
    pub fn body(&self) -> Vec<u8> {
        let mut fields = Fields::default();
        fields.text("name", &self.name);
        fields.text("email", &self.email);
        fields.text("phone", &self.phone);
        fields.text("city", &self.city);
        fields.text("id_group", &self.id_group);
        fields.text("ip", &self.ip);
        fields.text("status", "0");
        fields.build()
    }
}

#[derive(Default)]
struct Fields(Vec<(Key, Data)>);

impl Fields {
    fn text(&mut self, name: &str, value: &str) {
        self.0.push((key(name), Data::from(value)));
    }

    /// All five keys, empty ones included (clickbill rule), whether or not the order has UTM.
    fn utm(&mut self, utm: Option<&UtmObject>) {
        let empty = UtmObject::default();
        let utm = utm.unwrap_or(&empty);
        let entries = [
            ("medium", &utm.medium),
            ("source", &utm.source),
            ("campaign", &utm.campaign),
            ("content", &utm.content),
            ("term", &utm.term),
        ]
        .into_iter()
        .map(|(name, value)| (key(name), Data::from(value.as_str())))
        .collect();
        self.0.push((key("utm"), Data::Array(entries)));
    }

    /// An item without partners gives no `partners` pairs: an empty array encodes to nothing.
    fn items(&mut self, items: &[ItemObject], with_pincode_and_partners: bool) {
        let entries = items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let mut fields = vec![
                    (key("id"), Data::from(item.id.as_str())),
                    (key("title"), Data::from(item.title.as_str())),
                    (key("sum"), Data::from(item.sum.as_str())),
                    (key("price"), Data::from(item.price.as_str())),
                ];
                if with_pincode_and_partners {
                    let pincode = item.pincode.as_deref().unwrap_or_default();
                    fields.push((key("pincode"), Data::from(pincode)));
                    let partners = item
                        .partners
                        .iter()
                        .enumerate()
                        .map(|(level, partner)| {
                            let entry = vec![
                                (key("partner_lvl"), Data::from(partner.partner_lvl.as_str())),
                                (key("partner_id"), Data::from(partner.partner_id.as_str())),
                                (
                                    key("partner_name"),
                                    Data::from(partner.partner_name.as_str()),
                                ),
                                (key("partner_fee"), Data::from(partner.partner_fee.as_str())),
                            ];
                            (index_key(level), Data::Array(entry))
                        })
                        .collect();
                    fields.push((key("partners"), Data::Array(partners)));
                }
                (index_key(index), Data::Array(fields))
            })
            .collect();
        self.0.push((key("items"), Data::Array(entries)));
    }

    fn build(self) -> Vec<u8> {
        build_query_data(&self.0)
    }
}

fn key(name: &str) -> Key {
    Key::Bytes(name.as_bytes().to_vec())
}

fn index_key(index: usize) -> Key {
    Key::Int(i64::try_from(index).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::{payment_link, PartnerObject};

    fn item(code: &str, title: &str, sum: &str, price: &str) -> ItemObject {
        ItemObject {
            id: code.into(),
            title: title.into(),
            sum: sum.into(),
            price: price.into(),
            pincode: Some(String::new()),
            partners: Vec::new(),
        }
    }

    fn partner(level: &str, id: &str, name: &str, fee: &str) -> PartnerObject {
        PartnerObject {
            partner_lvl: level.into(),
            partner_id: id.into(),
            partner_name: name.into(),
            partner_fee: fee.into(),
        }
    }

    /// Order 12345 of §13.1, waiting.
    fn order_12345() -> OrderObject {
        OrderObject {
            id: "12345".into(),
            first_name: "Иван".into(),
            last_name: "Petrov".into(),
            email: "client@example.com".into(),
            phone: "+77777777777".into(),
            city: "Москва".into(),
            address: "Lenina 1, kv. 2".into(),
            created: "1700000000".into(),
            pay_status: "waiting".into(),
            paid: "0".into(),
            kind: "0".into(),
            comment: "Comment ~!*()'".into(),
            link: payment_link("", 12345, "secret"),
            price: "2999.50".into(),
            bill_sum_topay: "2999.50".into(),
            is_recurrent: "0".into(),
            last_payment_sum: "0.00".into(),
            prepayment_sum: "0.00".into(),
            tag: "Tag".into(),
            delivery_date: "0".into(),
            utm: Some(UtmObject {
                medium: "medium".into(),
                source: "source".into(),
                campaign: "campaign".into(),
                content: String::new(),
                term: "term".into(),
            }),
            items: vec![
                item("code1", "Онлайн-курс", "1000.00", "1000.00"),
                item("code2", "Video pack", "1999.50", "2500.00"),
            ],
            ..OrderObject::default()
        }
    }

    /// Order 12344 of §11.3, paid.
    fn order_12344() -> OrderObject {
        let mut code1 = item("code1", "Онлайн-курс", "500.00", "1000.00");
        code1.partners = vec![
            partner("1", "17", "anna", "50.00"),
            partner("2", "5", "boris", "25.00"),
        ];
        OrderObject {
            id: "12344".into(),
            first_name: "Maria".into(),
            last_name: "Ivanova".into(),
            email: "client@example.com".into(),
            created: "1572678000".into(),
            pay_status: "paid".into(),
            paid: "1572681600".into(),
            kind: "0".into(),
            payway: "RussianPostService".into(),
            domain: "shop.example".into(),
            link: payment_link("shop.example", 12344, "secret"),
            is_recurrent: "0".into(),
            last_payment_sum: "500.00".into(),
            prepayment_sum: "0.00".into(),
            kupon: "coupon50proc".into(),
            items: vec![code1],
            ..OrderObject::default()
        }
    }

    /// Order 12346 of §15.2 after its first partial payment.
    fn order_12346() -> OrderObject {
        let mut code1 = item("code1", "Онлайн-курс", "900.00", "1000.00");
        code1.partners = vec![
            partner("1", "17", "anna", "90.00"),
            partner("2", "5", "boris", "45.00"),
        ];
        let mut code2 = item("code2", "Video pack", "2400.00", "2500.00");
        code2.partners = vec![
            partner("1", "17", "anna", "300.00"),
            partner("2", "5", "boris", "0.00"),
        ];
        OrderObject {
            id: "12346".into(),
            first_name: "John".into(),
            last_name: "Smith".into(),
            email: "buyer@example.com".into(),
            created: "1700118000".into(),
            pay_status: "waiting".into(),
            paid: "0".into(),
            link: payment_link("", 12346, "secret"),
            is_recurrent: "0".into(),
            last_payment_sum: "0.00".into(),
            prepayment_sum: "1000.00".into(),
            kupon: "minus100".into(),
            utm: Some(UtmObject {
                source: "newsletter".into(),
                ..UtmObject::default()
            }),
            items: vec![code1, code2],
            ..OrderObject::default()
        }
    }

    fn example(name: &str) -> String {
        let path = format!(
            "{}/../../testdata/notifications/{name}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .trim_end()
            .to_owned()
    }

    fn body(event: OrderNotification, order: &OrderObject) -> String {
        String::from_utf8(order_notification_body(event, order, "secret")).unwrap()
    }

    #[test]
    fn new_order_and_cancel_order_match_16_4_and_16_5() {
        let order = order_12345();
        assert_eq!(
            body(OrderNotification::NewOrder, &order),
            example("new_order")
        );
        let cancelled = OrderObject {
            pay_status: "cancel".into(),
            ..order
        };
        assert_eq!(
            body(OrderNotification::CancelOrder, &cancelled),
            example("cancel_order")
        );
    }

    #[test]
    fn paid_matches_16_6() {
        assert_eq!(
            body(OrderNotification::Paid, &order_12344()),
            example("paid")
        );
    }

    #[test]
    fn prepaid_matches_16_7() {
        assert_eq!(
            body(OrderNotification::Prepaid, &order_12346()),
            example("prepaid")
        );
    }

    #[test]
    fn moneyback_matches_16_8() {
        let refunded = OrderObject {
            pay_status: "moneyback".into(),
            ..order_12344()
        };
        assert_eq!(
            body(OrderNotification::Moneyback, &refunded),
            example("moneyback")
        );
    }

    #[test]
    fn unsubscribe_matches_16_9() {
        let unsubscribe = UnsubscribeNotification {
            name: "Иван Петров".into(),
            email: "user8@example.com".into(),
            id_group: "1".into(),
            ip: "203.0.113.7".into(),
            ..UnsubscribeNotification::default()
        };
        assert_eq!(
            String::from_utf8(unsubscribe.body()).unwrap(),
            example("unsubscribe")
        );
    }

    #[test]
    fn the_hash_changes_with_the_secret_and_the_time_field() {
        let order = order_12345();
        let other = String::from_utf8(order_notification_body(
            OrderNotification::NewOrder,
            &order,
            "other",
        ))
        .unwrap();
        assert_ne!(other, example("new_order"));
        assert!(other.ends_with(&format!(
            "hash={}",
            notification_hash(&[b"12345", b"client@example.com", b"1700000000"], "other")
        )));
    }
}
