//! The list entries of API 2.0 `getgoods`, `getcoupons` and `getpersonalmanagers` (§15.8–§15.10)
//! and the `order_status` values of `createorder` (§15.2).
//!
//! Unlike the 1.0 results, these lists write their ids as JSON integers, as the API 2.0
//! documentation shows (§15.1).

use crate::value::{trim_ws, Malformed};
use serde::{Deserialize, Serialize};

/// One product as `getgoods` lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoodListEntry {
    /// The product's number within its tenant.
    pub id: i64,
    /// The product code.
    pub good_name: String,
    pub good_title: String,
}

/// One coupon as `getcoupons` lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponListEntry {
    pub id: i64,
    /// The code a buyer enters.
    pub coupon: String,
}

/// One personal manager as `getpersonalmanagers` lists it; `id` and `manager_id` are equal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerListEntry {
    pub id: i64,
    pub manager_id: i64,
    pub manager_name: String,
}

impl ManagerListEntry {
    pub fn new(id: i64, name: impl Into<String>) -> ManagerListEntry {
        ManagerListEntry {
            id,
            manager_id: id,
            manager_name: name.into(),
        }
    }
}

/// The state `createorder` creates an order in (`order_status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CreateOrderStatus {
    /// `Expected`: waiting for payment.
    #[default]
    Expected,
    /// `Paid`: paid in full.
    Paid,
    /// `Cancel`: cancelled.
    Cancel,
    /// `MoneyBack`: paid in full, then refunded.
    MoneyBack,
}

impl CreateOrderStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CreateOrderStatus::Expected => "Expected",
            CreateOrderStatus::Paid => "Paid",
            CreateOrderStatus::Cancel => "Cancel",
            CreateOrderStatus::MoneyBack => "MoneyBack",
        }
    }

    /// One of the four spellings, ASCII case ignored; blank means `Expected`.
    pub fn parse(bytes: &[u8]) -> Result<CreateOrderStatus, Malformed> {
        let text = trim_ws(bytes);
        if text.is_empty() {
            return Ok(CreateOrderStatus::Expected);
        }
        [
            CreateOrderStatus::Expected,
            CreateOrderStatus::Paid,
            CreateOrderStatus::Cancel,
            CreateOrderStatus::MoneyBack,
        ]
        .into_iter()
        .find(|status| text.eq_ignore_ascii_case(status.as_str().as_bytes()))
        .ok_or(Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::to_php_json;

    fn json<T: Serialize>(value: &T) -> String {
        String::from_utf8(to_php_json(value)).unwrap()
    }

    #[test]
    fn lists_of_15_8_to_15_10() {
        let goods = vec![
            GoodListEntry {
                id: 1,
                good_name: "code1".into(),
                good_title: "Онлайн-курс".into(),
            },
            GoodListEntry {
                id: 2,
                good_name: "code2".into(),
                good_title: "Video pack".into(),
            },
        ];
        let expected = r#"[{"id":1,"good_name":"code1","good_title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441"},{"id":2,"good_name":"code2","good_title":"Video pack"}]"#;
        assert_eq!(json(&goods), expected);
        assert_eq!(
            serde_json::from_str::<Vec<GoodListEntry>>(expected).unwrap(),
            goods
        );

        let coupons = vec![CouponListEntry {
            id: 585,
            coupon: "coupon50proc".into(),
        }];
        assert_eq!(json(&coupons), r#"[{"id":585,"coupon":"coupon50proc"}]"#);

        let managers = vec![ManagerListEntry::new(71257, "Greg")];
        assert_eq!(
            json(&managers),
            r#"[{"id":71257,"manager_id":71257,"manager_name":"Greg"}]"#
        );
        assert_eq!(json(&Vec::<ManagerListEntry>::new()), "[]");
    }

    #[test]
    fn order_status_words() {
        for (text, status) in [
            ("", CreateOrderStatus::Expected),
            (" ", CreateOrderStatus::Expected),
            ("Expected", CreateOrderStatus::Expected),
            ("paid", CreateOrderStatus::Paid),
            ("CANCEL", CreateOrderStatus::Cancel),
            ("MoneyBack", CreateOrderStatus::MoneyBack),
            ("moneyback", CreateOrderStatus::MoneyBack),
        ] {
            assert_eq!(
                CreateOrderStatus::parse(text.as_bytes()),
                Ok(status),
                "{text}"
            );
        }
        for bad in ["waiting", "Money Back", "Paid!", "1"] {
            assert_eq!(
                CreateOrderStatus::parse(bad.as_bytes()),
                Err(Malformed),
                "{bad}"
            );
        }
    }
}
