//! The shared encodings of nested values, plus the one only this store needs: SQLite has no
//! array type, so a product's client groups are a JSON list of strings.

use clickbill_domain::StoreError;
pub(crate) use clickbill_store_codec::{
    corrupt, decode_extras, decode_fees, decode_items, decode_payments, encode_extras, encode_fees,
    encode_items, encode_payments,
};
use clickbill_store_codec::{from_json, to_json};

pub(crate) fn encode_strings(values: &[String]) -> String {
    to_json(&values)
}

pub(crate) fn decode_strings(text: &str) -> Result<Vec<String>, StoreError> {
    from_json(text, "string list")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip() {
        let groups = vec!["a".to_owned(), "b,c".to_owned()];
        assert_eq!(decode_strings(&encode_strings(&groups)).unwrap(), groups);
        assert_eq!(encode_strings(&[]), "[]");
    }
}
