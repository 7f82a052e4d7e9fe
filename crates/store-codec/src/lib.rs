//! How clickbill's stores keep values that have no column of their own: the items, payments and
//! API 2.0 fields of an order and a product's partner fees, as compact JSON with short keys.
//!
//! Keys rather than positions let a later version add a field with a default without rewriting
//! old rows. Every backend uses this one encoding, so that the stores hold the same documents and
//! a copy between them moves them unchanged.

use clickbill_domain::model::{
    Commission, Item, ManagerId, OrderExtras, PartnerEntry, PartnerId, Payment, ProductId,
};
use clickbill_domain::StoreError;
use clickbill_protocol::value::{Money, Percent};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

#[derive(Serialize)]
struct ItemOut<'a> {
    p: i64,
    c: &'a str,
    t: &'a str,
    #[serde(skip_serializing_if = "is_false")]
    ph: bool,
    pr: i64,
    s: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    pin: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pa: Vec<PartnerOut<'a>>,
}

#[derive(Serialize)]
struct PartnerOut<'a> {
    l: u32,
    i: i64,
    n: &'a str,
    f: i64,
}

#[derive(Deserialize)]
struct ItemIn {
    p: i64,
    c: String,
    t: String,
    #[serde(default)]
    ph: bool,
    pr: i64,
    s: i64,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    pa: Vec<PartnerIn>,
}

#[derive(Deserialize)]
struct PartnerIn {
    l: u32,
    i: i64,
    n: String,
    f: i64,
}

pub fn encode_items(items: &[Item]) -> String {
    let out: Vec<ItemOut<'_>> = items
        .iter()
        .map(|item| ItemOut {
            p: item.product_id.0,
            c: &item.code,
            t: &item.title,
            ph: item.physical,
            pr: item.price.minor(),
            s: item.sum.minor(),
            pin: &item.pincode,
            pa: item
                .partners
                .iter()
                .map(|e| PartnerOut {
                    l: e.level,
                    i: e.partner_id.0,
                    n: &e.partner_name,
                    f: e.fee.minor(),
                })
                .collect(),
        })
        .collect();
    to_json(&out)
}

pub fn decode_items(text: &str) -> Result<Vec<Item>, StoreError> {
    let items: Vec<ItemIn> = from_json(text, "order items")?;
    Ok(items
        .into_iter()
        .map(|i| Item {
            product_id: ProductId(i.p),
            code: i.c,
            title: i.t,
            physical: i.ph,
            price: Money::from_minor(i.pr),
            sum: Money::from_minor(i.s),
            pincode: i.pin,
            partners: i
                .pa
                .into_iter()
                .map(|e| PartnerEntry {
                    level: e.l,
                    partner_id: PartnerId(e.i),
                    partner_name: e.n,
                    fee: Money::from_minor(e.f),
                })
                .collect(),
        })
        .collect())
}

/// Payments as `[[amount, at], ...]`.
pub fn encode_payments(payments: &[Payment]) -> String {
    let out: Vec<(i64, i64)> = payments.iter().map(|p| (p.amount.minor(), p.at)).collect();
    to_json(&out)
}

pub fn decode_payments(text: &str) -> Result<Vec<Payment>, StoreError> {
    let pairs: Vec<(i64, i64)> = from_json(text, "order payments")?;
    Ok(pairs
        .into_iter()
        .map(|(amount, at)| Payment {
            amount: Money::from_minor(amount),
            at,
        })
        .collect())
}

/// The API 2.0 fields as an object that names only the fields set, so that the orders of API
/// 1.0 (most of them) store `{}`.
#[derive(Serialize, Deserialize, Default)]
struct ExtrasJson {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    sp: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    a1: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    a2: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    ci: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    st: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    zip: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    co: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    cf: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    m: Option<i64>,
}

pub fn encode_extras(extras: &OrderExtras) -> String {
    let out = ExtrasJson {
        sp: extras.shipping_phone.clone(),
        a1: extras.billing_address_1.clone(),
        a2: extras.billing_address_2.clone(),
        ci: extras.billing_city.clone(),
        st: extras.billing_state.clone(),
        zip: extras.billing_zip.clone(),
        co: extras.billing_country.clone(),
        cf: extras.confirmed.clone(),
        m: extras.sales_manager.map(|m| m.0),
    };
    to_json(&out)
}

pub fn decode_extras(text: &str) -> Result<OrderExtras, StoreError> {
    let e: ExtrasJson = from_json(text, "order extras")?;
    Ok(OrderExtras {
        shipping_phone: e.sp,
        billing_address_1: e.a1,
        billing_address_2: e.a2,
        billing_city: e.ci,
        billing_state: e.st,
        billing_zip: e.zip,
        billing_country: e.co,
        confirmed: e.cf,
        sales_manager: e.m.map(ManagerId),
    })
}

/// Partner fees as `[[level, "%", hundredths] | [level, "=", minor], ...]`, by level.
pub fn encode_fees(fees: &BTreeMap<u32, Commission>) -> String {
    let out: Vec<(u32, &str, i64)> = fees
        .iter()
        .map(|(level, c)| match c {
            Commission::Percent(p) => (*level, "%", p.hundredths()),
            Commission::Fixed(m) => (*level, "=", m.minor()),
        })
        .collect();
    to_json(&out)
}

pub fn decode_fees(text: &str) -> Result<BTreeMap<u32, Commission>, StoreError> {
    let rows: Vec<(u32, String, i64)> = from_json(text, "partner fees")?;
    rows.into_iter()
        .map(|(level, kind, value)| {
            let commission = match kind.as_str() {
                "%" => Commission::Percent(
                    Percent::from_hundredths(value)
                        .ok_or_else(|| corrupt("partner fee percentage"))?,
                ),
                "=" => Commission::Fixed(Money::from_minor(value)),
                _ => return Err(corrupt("partner fee kind")),
            };
            Ok((level, commission))
        })
        .collect()
}

pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    // Serialising these plain structs into a String cannot fail: no maps with non-string keys,
    // no custom serialisers that error.
    serde_json::to_string(value).unwrap_or_else(|_| String::from("[]"))
}

pub fn from_json<'a, T: Deserialize<'a>>(text: &'a str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("corrupt {what}: {e}")))
}

pub fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt {what} in the database"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_and_stay_compact() {
        let items = vec![
            Item {
                product_id: ProductId(3),
                code: "Code-1".into(),
                title: "Курс \"A\"".into(),
                physical: false,
                price: Money::from_minor(100_000),
                sum: Money::from_minor(90_000),
                pincode: String::new(),
                partners: Vec::new(),
            },
            Item {
                product_id: ProductId(4),
                code: "b".into(),
                title: "B".into(),
                physical: true,
                price: Money::from_minor(1),
                sum: Money::from_minor(0),
                pincode: "PIN".into(),
                partners: vec![PartnerEntry {
                    level: 1,
                    partner_id: PartnerId(17),
                    partner_name: "anna".into(),
                    fee: Money::from_minor(5_000),
                }],
            },
        ];
        let text = encode_items(&items);
        assert!(text.starts_with(r#"[{"p":3,"c":"Code-1","t":"#), "{text}");
        assert!(!text.contains("\"pin\":\"\""), "{text}");
        assert_eq!(decode_items(&text).unwrap(), items);
    }

    #[test]
    fn payments_and_fees_round_trip() {
        let payments = vec![Payment {
            amount: Money::from_minor(150),
            at: 1_700_000_000,
        }];
        assert_eq!(encode_payments(&payments), "[[150,1700000000]]");
        assert_eq!(decode_payments("[[150,1700000000]]").unwrap(), payments);

        let fees = BTreeMap::from([
            (
                1,
                Commission::Percent(Percent::from_hundredths(750).unwrap()),
            ),
            (2, Commission::Fixed(Money::from_minor(30_000))),
        ]);
        let text = encode_fees(&fees);
        assert_eq!(text, r#"[[1,"%",750],[2,"=",30000]]"#);
        assert_eq!(decode_fees(&text).unwrap(), fees);
    }

    #[test]
    fn extras_round_trip_and_store_nothing_when_empty() {
        assert_eq!(encode_extras(&OrderExtras::default()), "{}");
        assert_eq!(decode_extras("{}").unwrap(), OrderExtras::default());
        let extras = OrderExtras {
            shipping_phone: "+1 555 0100".into(),
            billing_address_1: "1 Main St".into(),
            billing_address_2: "Suite 2".into(),
            billing_city: "Boston".into(),
            billing_state: "MA".into(),
            billing_zip: "02101".into(),
            billing_country: "США".into(),
            confirmed: "yes".into(),
            sales_manager: Some(ManagerId(71257)),
        };
        let text = encode_extras(&extras);
        assert_eq!(decode_extras(&text).unwrap(), extras);
        let partial = OrderExtras {
            billing_city: "Boston".into(),
            ..OrderExtras::default()
        };
        assert_eq!(encode_extras(&partial), r#"{"ci":"Boston"}"#);
    }

    #[test]
    fn corrupt_json_is_a_backend_error() {
        assert!(matches!(
            decode_items("{"),
            Err(StoreError::Backend(msg)) if msg.contains("order items")
        ));
        assert!(decode_fees(r#"[[1,"?",1]]"#).is_err());
    }
}
