//! The results of `GetBills` (§13.6) and `GetPartnerStats` (§14.5). `GetOrders` and
//! `getOrdersWithGoods` answer lists of [`crate::methods::OrderObject`].

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

/// The result of `GetBills`: a customer's orders keyed by order number (ascending), each an
/// object of its products keyed by product id (in item order).
///
/// On the wire both levels are JSON objects whose keys are numbers as text, as a PHP array with
/// integer keys encodes: `{"12344":{"1":{"good_id":"1",…}}}`. The keys repeat what the values
/// hold (`bill_id`, `good_id`), so they are kept once, in the values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bills(pub Vec<Bill>);

/// One order of [`Bills`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bill {
    /// The order number, the key of the outer object.
    pub bill_id: String,
    /// The order's products in item order.
    pub goods: Vec<BillGood>,
}

/// One product of an order in [`Bills`]; keys in wire order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillGood {
    /// The product's number, also the key of this object.
    pub good_id: String,
    /// The product code.
    pub good_name: String,
    pub good_title: String,
    /// The item's effective sum in this order, two decimals.
    pub good_sum: String,
}

/// Writes `entries` as PHP writes an array with integer keys: an object, or `[]` when empty
/// (PHP cannot tell an empty map from an empty list).
fn serialize_keyed<'a, S, V>(
    serializer: S,
    entries: impl ExactSizeIterator<Item = (&'a str, V)>,
) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    V: Serialize,
{
    if entries.len() == 0 {
        return serializer.serialize_seq(Some(0))?.end();
    }
    let mut map = serializer.serialize_map(Some(entries.len()))?;
    for (key, value) in entries {
        map.serialize_entry(key, &value)?;
    }
    map.end()
}

struct GoodsOfBill<'a>(&'a [BillGood]);

impl Serialize for GoodsOfBill<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_keyed(
            serializer,
            self.0.iter().map(|good| (good.good_id.as_str(), good)),
        )
    }
}

impl Serialize for Bills {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_keyed(
            serializer,
            self.0
                .iter()
                .map(|bill| (bill.bill_id.as_str(), GoodsOfBill(&bill.goods))),
        )
    }
}

/// Reads a PHP array with integer keys: an object in key order, or the empty list `[]`.
/// `entry` turns one key and its value into an element.
struct KeyedVisitor<V, T, F> {
    entry: F,
    expecting: &'static str,
    shape: PhantomData<fn(V) -> T>,
}

impl<V, T, F: Fn(String, V) -> T> KeyedVisitor<V, T, F> {
    fn new(expecting: &'static str, entry: F) -> Self {
        KeyedVisitor {
            entry,
            expecting,
            shape: PhantomData,
        }
    }
}

impl<'de, V, T, F> Visitor<'de> for KeyedVisitor<V, T, F>
where
    V: Deserialize<'de>,
    F: Fn(String, V) -> T,
{
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, V>()? {
            entries.push((self.entry)(key, value));
        }
        Ok(entries)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        match seq.next_element::<IgnoredAny>()? {
            None => Ok(Vec::new()),
            Some(_) => Err(de::Error::invalid_length(1, &self)),
        }
    }
}

struct OwnedGoodsOfBill(Vec<BillGood>);

impl<'de> Deserialize<'de> for OwnedGoodsOfBill {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let visitor = KeyedVisitor::new(
            "an object of products keyed by product id",
            |_good_id: String, good: BillGood| good,
        );
        deserializer.deserialize_any(visitor).map(OwnedGoodsOfBill)
    }
}

impl<'de> Deserialize<'de> for Bills {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let visitor = KeyedVisitor::new(
            "an object of orders keyed by order number",
            |bill_id: String, goods: OwnedGoodsOfBill| Bill {
                bill_id,
                goods: goods.0,
            },
        );
        deserializer.deserialize_any(visitor).map(Bills)
    }
}

/// The result of `GetPartnerStats` (§14.5): six totals, all JSON strings, keys in wire order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerStatsObject {
    /// Fees earned on orders paid in the window, two decimals.
    pub earned_total: String,
    /// What is still owed to the partner, two decimals.
    pub topay_total: String,
    /// Clicks on the partner's links.
    pub clicks_total: String,
    /// Contacts attributed to the partner, created in the window.
    pub leads_total: String,
    /// Orders the earned fees come from.
    pub bills_total: String,
    /// The partner's direct sub-partners registered in the window.
    pub partners_total: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::to_php_json;

    fn php(value: &impl Serialize) -> String {
        String::from_utf8(to_php_json(value)).unwrap()
    }

    fn good(id: &str, name: &str, title: &str, sum: &str) -> BillGood {
        BillGood {
            good_id: id.to_owned(),
            good_name: name.to_owned(),
            good_title: title.to_owned(),
            good_sum: sum.to_owned(),
        }
    }

    const BILLS_13_6: &str = r#"{"12344":{"1":{"good_id":"1","good_name":"code1","good_title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","good_sum":"500.00"}}}"#;

    #[test]
    fn bills_of_13_6() {
        let bills = Bills(vec![Bill {
            bill_id: "12344".to_owned(),
            goods: vec![good("1", "code1", "Онлайн-курс", "500.00")],
        }]);
        assert_eq!(php(&bills), BILLS_13_6);
        let back: Bills = serde_json::from_str(BILLS_13_6).unwrap();
        assert_eq!(back, bills);
    }

    #[test]
    fn bills_keep_key_order_at_both_levels() {
        let bills = Bills(vec![
            Bill {
                bill_id: "9".to_owned(),
                goods: vec![good("2", "b", "B", "1.00"), good("1", "a", "A", "2.00")],
            },
            Bill {
                bill_id: "10".to_owned(),
                goods: vec![good("3", "c", "C", "3.00")],
            },
        ]);
        let json = php(&bills);
        assert_eq!(
            json,
            r#"{"9":{"2":{"good_id":"2","good_name":"b","good_title":"B","good_sum":"1.00"},"1":{"good_id":"1","good_name":"a","good_title":"A","good_sum":"2.00"}},"10":{"3":{"good_id":"3","good_name":"c","good_title":"C","good_sum":"3.00"}}}"#
        );
        let back: Bills = serde_json::from_str(&json).unwrap();
        assert_eq!(back, bills);
    }

    #[test]
    fn empty_arrays_are_lists_as_in_php() {
        assert_eq!(php(&Bills::default()), "[]");
        let no_goods = Bills(vec![Bill {
            bill_id: "7".to_owned(),
            goods: Vec::new(),
        }]);
        assert_eq!(php(&no_goods), r#"{"7":[]}"#);
        assert_eq!(
            serde_json::from_str::<Bills>("[]").unwrap(),
            Bills::default()
        );
        assert_eq!(
            serde_json::from_str::<Bills>(r#"{"7":[]}"#).unwrap(),
            no_goods
        );
        assert!(serde_json::from_str::<Bills>(r#"[{"good_id":"1"}]"#).is_err());
        assert!(serde_json::from_str::<Bills>(r#""12344""#).is_err());
    }

    #[test]
    fn partner_stats_of_14_5() {
        let stats = PartnerStatsObject {
            earned_total: "50.00".to_owned(),
            topay_total: "50.00".to_owned(),
            clicks_total: "0".to_owned(),
            leads_total: "0".to_owned(),
            bills_total: "1".to_owned(),
            partners_total: "0".to_owned(),
        };
        let expected = r#"{"earned_total":"50.00","topay_total":"50.00","clicks_total":"0","leads_total":"0","bills_total":"1","partners_total":"0"}"#;
        assert_eq!(php(&stats), expected);
        assert_eq!(
            serde_json::from_str::<PartnerStatsObject>(expected).unwrap(),
            stats
        );
    }
}
