//! The catalogue entry of `GetAllGoods` (§14.4).

use serde::{Deserialize, Serialize};

/// One product as `GetAllGoods` lists it; keys in wire order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoodObject {
    /// The product's number within its tenant.
    pub good_id: String,
    /// The product code.
    pub good_name: String,
    pub good_title: String,
    /// `"1"` physical, `"0"` digital.
    pub good_type: String,
    /// Catalogue price, two decimals.
    pub good_sum: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::to_php_json;

    #[test]
    fn all_goods_of_14_4() {
        let good = |id: &str, name: &str, title: &str, kind: &str, sum: &str| GoodObject {
            good_id: id.to_owned(),
            good_name: name.to_owned(),
            good_title: title.to_owned(),
            good_type: kind.to_owned(),
            good_sum: sum.to_owned(),
        };
        let goods = vec![
            good("1", "code1", "Онлайн-курс", "0", "1000.00"),
            good("2", "code2", "Video pack", "0", "2500.00"),
            good("3", "book1", "Printed book", "1", "1500.00"),
        ];
        let expected = r#"[{"good_id":"1","good_name":"code1","good_title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","good_type":"0","good_sum":"1000.00"},{"good_id":"2","good_name":"code2","good_title":"Video pack","good_type":"0","good_sum":"2500.00"},{"good_id":"3","good_name":"book1","good_title":"Printed book","good_type":"1","good_sum":"1500.00"}]"#;
        assert_eq!(String::from_utf8(to_php_json(&goods)).unwrap(), expected);
        let back: Vec<GoodObject> = serde_json::from_str(expected).unwrap();
        assert_eq!(back, goods);
    }
}
