//! Request authentication (§5.1, §5.2, §5.6) and checks 3–5 of the common checks (§5.7).
//!
//! Checks 1 (tenant) and 2 (tenant disabled) need storage and belong to the server; everything
//! after them depends only on the parsed parameters and the tenant's login and secret.

#![warn(missing_docs)]

use crate::error::ApiError;
use crate::sign::{md5_hex_bytes, signed_string_into};
use crate::value::{is_blank, trim_ws};
use php_form::{Key, Map, Value};
use std::cell::RefCell;
use std::sync::LazyLock;
use subtle::ConstantTimeEq;

/// How a request proved it knows the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// API 1.0: an md5 `hash` of the parameters (§5.2).
    Signature,
    /// API 2.0: the secret itself in `rpsKey` or `rps_key` (§5.6).
    Key,
}

/// The top-level parameters authentication consumes (`hash`, `rpsKey`, `rps_key`); methods never
/// see them. Built once so that look-ups allocate nothing.
static CREDENTIALS: LazyLock<[Key; 3]> = LazyLock::new(|| {
    ["hash", "rpsKey", "rps_key"].map(|name| Key::Bytes(name.as_bytes().to_vec()))
});

thread_local! {
    /// The signed string is rebuilt here for every request; the buffer keeps its capacity.
    static SIGNED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The value of a single-valued parameter, as §7.1 reads it: an array counts as the empty string.
fn single<'a>(params: &'a Map, key: &Key) -> &'a [u8] {
    params.get(key).and_then(Value::as_bytes).unwrap_or(b"")
}

/// Decides which scheme a request uses (§5.1): the key when `rpsKey` or `rps_key` is present and
/// not blank, the signature otherwise.
pub fn scheme(params: &Map) -> Scheme {
    if api_key(params).is_some() {
        Scheme::Key
    } else {
        Scheme::Signature
    }
}

/// The API key a request carries: `rpsKey`, or `rps_key` when that is absent or blank; `None`
/// when neither is usable. An array counts as blank (§7.1).
fn api_key(params: &Map) -> Option<&[u8]> {
    let [_, rps_key, rps_key_snake] = &*CREDENTIALS;
    [rps_key, rps_key_snake]
        .into_iter()
        .map(|key| single(params, key))
        .find(|value| !is_blank(value))
}

/// Runs checks 3–5 of §5.7 on the parsed parameters of a request for the tenant `login` with
/// `secret`, and on success returns the parameters without `hash`, `rpsKey` and `rps_key`.
///
/// Errors: [`ApiError::NoTransmittedData`] (2) for an empty set, [`ApiError::NotTransferredHash`]
/// (1) when the signature scheme has no usable `hash` (absent, empty, or exactly `0`),
/// [`ApiError::IncorrectHash`] (4) for a wrong signature, an array `hash` or a wrong key.
pub fn authenticate(params: Map, login: &str, secret: &str) -> Result<Map, ApiError> {
    check(&params, login, secret)?;
    Ok(strip_credentials(params))
}

/// Checks 3–5 of §5.7 without consuming the parameters; returns the scheme that succeeded.
pub fn check(params: &Map, login: &str, secret: &str) -> Result<Scheme, ApiError> {
    if params.is_empty() {
        return Err(ApiError::NoTransmittedData);
    }
    if let Some(key) = api_key(params) {
        return if bool::from(trim_ws(key).ct_eq(secret.as_bytes())) {
            Ok(Scheme::Key)
        } else {
            Err(ApiError::IncorrectHash)
        };
    }
    let sent = match params.get(&CREDENTIALS[0]) {
        None => return Err(ApiError::NotTransferredHash),
        Some(Value::Bytes(b)) if b.is_empty() || b == b"0" => {
            return Err(ApiError::NotTransferredHash)
        }
        Some(Value::Bytes(b)) => b.as_slice(),
        Some(Value::Array(_)) => return Err(ApiError::IncorrectHash),
    };
    let expected = SIGNED.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        buffer.clear();
        signed_string_into(params, login, secret, &mut buffer);
        md5_hex_bytes(&buffer)
    });
    if bool::from(expected.as_slice().ct_eq(sent)) {
        Ok(Scheme::Signature)
    } else {
        Err(ApiError::IncorrectHash)
    }
}

/// Removes the top-level `hash`, `rpsKey` and `rps_key`, keeping the order of the rest (§5.1).
pub fn strip_credentials(mut params: Map) -> Map {
    for key in CREDENTIALS.iter() {
        params.remove(key);
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::request_hash;

    fn auth(body: &[u8]) -> Result<Map, ApiError> {
        authenticate(php_form::parse(body), "demo", "secret")
    }

    #[test]
    fn empty_parameter_set() {
        assert_eq!(auth(b""), Err(ApiError::NoTransmittedData));
        assert_eq!(auth(b"[x]=1&=2"), Err(ApiError::NoTransmittedData));
    }

    #[test]
    fn hash_missing_or_empty() {
        assert_eq!(auth(b"bill_id=1"), Err(ApiError::NotTransferredHash));
        assert_eq!(auth(b"bill_id=1&hash="), Err(ApiError::NotTransferredHash));
        assert_eq!(auth(b"bill_id=1&hash=0"), Err(ApiError::NotTransferredHash));
        assert_eq!(
            auth(b"bill_id=1&rpsKey=+"),
            Err(ApiError::NotTransferredHash)
        );
        // " 0" and "00" are not PHP-empty: they go on to the comparison.
        assert_eq!(auth(b"bill_id=1&hash=00"), Err(ApiError::IncorrectHash));
        assert_eq!(auth(b"bill_id=1&hash=+0"), Err(ApiError::IncorrectHash));
    }

    #[test]
    fn array_hash_is_incorrect() {
        assert_eq!(
            auth(b"bill_id=1&hash[]=4eac6352ed52a48d534d5ec421b4c5a4"),
            Err(ApiError::IncorrectHash)
        );
    }

    #[test]
    fn signature_scheme() {
        let params =
            auth(b"bill_id=102937&good_info=1&hash=4eac6352ed52a48d534d5ec421b4c5a4").unwrap();
        assert_eq!(
            php_form::build_query(&params),
            b"bill_id=102937&good_info=1"
        );
        assert_eq!(
            auth(b"bill_id=102937&good_info=1&hash=4EAC6352ED52A48D534D5EC421B4C5A4"),
            Err(ApiError::IncorrectHash)
        );
        assert_eq!(
            auth(b"bill_id=102937&good_info=1&hash=+4eac6352ed52a48d534d5ec421b4c5a4"),
            Err(ApiError::IncorrectHash)
        );
        assert_eq!(
            authenticate(
                php_form::parse(
                    b"bill_id=102937&good_info=1&hash=4eac6352ed52a48d534d5ec421b4c5a4"
                ),
                "demo",
                "other"
            ),
            Err(ApiError::IncorrectHash)
        );
        // The hash may sit anywhere; the body may encode differently from PHP.
        let params =
            auth(b"hash=4eac6352ed52a48d534d5ec421b4c5a4&bill_id=102937&good_info=1").unwrap();
        assert_eq!(params.len(), 2);
        let body = b"lead_name=Anna%20%7E&hash=";
        let mut map = php_form::parse(body);
        let hash = request_hash(&map, "demo", "secret");
        map.insert(Key::from("hash"), Value::Bytes(hash.into_bytes()));
        assert!(authenticate(map, "demo", "secret").is_ok());
    }

    #[test]
    fn only_hash_signs_the_empty_query() {
        let params = auth(b"hash=07d7c258e970b0e2fd9c7694ed0046c8").unwrap();
        assert!(params.is_empty());
    }

    #[test]
    fn key_scheme() {
        let params = auth(b"rpsKey=secret&customer_email=a%40b.cd&hash=nonsense").unwrap();
        assert_eq!(php_form::build_query(&params), b"customer_email=a%40b.cd");
        assert!(auth(b"rps_key=+secret%0A&x=1").is_ok());
        assert!(auth(b"rpsKey=%20&rps_key=secret").is_ok());
        assert!(auth(b"rpsKey[]=x&rps_key=secret").is_ok());
        assert_eq!(auth(b"rpsKey=secret2"), Err(ApiError::IncorrectHash));
        assert_eq!(auth(b"rpsKey=Secret"), Err(ApiError::IncorrectHash));
        // rpsKey wins over rps_key when both are usable.
        assert_eq!(
            auth(b"rpsKey=wrong&rps_key=secret"),
            Err(ApiError::IncorrectHash)
        );
        // A wrong key is not rescued by a right hash.
        assert_eq!(
            auth(b"rpsKey=wrong&bill_id=102937&good_info=1&hash=4eac6352ed52a48d534d5ec421b4c5a4"),
            Err(ApiError::IncorrectHash)
        );
        let params = php_form::parse(b"rpsKey=secret");
        assert_eq!(scheme(&params), Scheme::Key);
        assert_eq!(check(&params, "demo", "secret"), Ok(Scheme::Key));
        assert_eq!(authenticate(params, "demo", "secret"), Ok(Map::new()));
    }

    #[test]
    fn nested_names_are_not_credentials() {
        let params = auth(b"x[hash]=1&rpsKey=secret&y[rps_key]=2").unwrap();
        assert_eq!(
            php_form::build_query(&params),
            b"x%5Bhash%5D=1&y%5Brps_key%5D=2"
        );
    }
}
