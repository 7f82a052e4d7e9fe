//! The response envelope (§6.1, §6.2): rendering it on the server, parsing and verifying it in the
//! SDK.

#![warn(missing_docs)]

use crate::error::{ApiError, Success};
use crate::json::{write_php_json, write_php_string};
use crate::sign::{hash_matches, response_hash, response_hash_bytes};
use serde::Serialize;
use std::io::Write;
use thiserror::Error;

/// A `result` value already encoded as PHP `json_encode` output.
///
/// Holding the bytes rather than a value tree lets the server render cached results (a rendered
/// order, say) without parsing them again. Build one with [`RawJson::encode`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawJson(Vec<u8>);

impl RawJson {
    /// Encodes `value` PHP-style (§6.3).
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> RawJson {
        let mut out = Vec::new();
        write_php_json(&mut out, value);
        RawJson(out)
    }

    /// Wraps bytes that are already PHP-style JSON of an object, array or integer (for example a
    /// fragment cached from an earlier [`RawJson::encode`]). They are written out unchecked.
    pub fn from_encoded(bytes: Vec<u8>) -> RawJson {
        RawJson(bytes)
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The encoded bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// One answer of `/api/*`: code, text and optional result. The hash is computed when rendering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// `error_code`: 0 on success.
    pub code: i64,
    /// `error_text`, unescaped; it is what the hash covers.
    pub text: String,
    /// `result`, already encoded; `None` omits the key (§6.1).
    pub result: Option<RawJson>,
}

impl Envelope {
    /// An envelope with any code and text and no result.
    pub fn new(code: i64, text: impl Into<String>) -> Envelope {
        Envelope {
            code,
            text: text.into(),
            result: None,
        }
    }

    /// `0` / `OK` without a result.
    pub fn ok() -> Envelope {
        Envelope::success(Success::Ok)
    }

    /// `0` / `OK` with `result` (encoded PHP-style).
    pub fn ok_with<T: Serialize + ?Sized>(result: &T) -> Envelope {
        Envelope::success(Success::Ok).with_result(RawJson::encode(result))
    }

    /// A success outcome without a result.
    pub fn success(outcome: Success) -> Envelope {
        Envelope::new(0, outcome.text())
    }

    /// `0` / `Order created` with `{"bill_id":"<id>"}` (§13.1.2 step 8).
    pub fn order_created(bill_id: i64) -> Envelope {
        Envelope::success(Success::OrderCreated).with_result(bill_id_result(bill_id))
    }

    /// The answer for an error; 601 carries its `{"bill_id":"<id>"}` result (§13.1.4).
    pub fn from_error(error: &ApiError) -> Envelope {
        let mut envelope = Envelope::new(error.code(), error.text());
        if let ApiError::DuplicateOrder { bill_id } = error {
            envelope.result = Some(bill_id_result(*bill_id));
        }
        envelope
    }

    /// Replaces the result.
    pub fn with_result(mut self, result: RawJson) -> Envelope {
        self.result = Some(result);
        self
    }

    /// The response `hash` (§6.2) for `secret` (empty when no tenant was resolved).
    pub fn hash(&self, secret: &str) -> String {
        response_hash(self.code, &self.text, secret)
    }

    /// The exact response body: `{"error_code":…,"error_text":…,["result":…,]"hash":…}`.
    pub fn render(&self, secret: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + self.text.len() + self.result.as_ref().map_or(0, |r| r.0.len()),
        );
        self.render_into(secret, &mut out);
        out
    }

    /// Appends the response body to `out` (a reused buffer on the hot path).
    pub fn render_into(&self, secret: &str, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{{\"error_code\":{},\"error_text\":", self.code);
        write_php_string(out, &self.text);
        if let Some(result) = &self.result {
            out.extend_from_slice(b",\"result\":");
            out.extend_from_slice(&result.0);
        }
        out.extend_from_slice(b",\"hash\":\"");
        out.extend_from_slice(&response_hash_bytes(self.code, &self.text, secret));
        out.extend_from_slice(b"\"}");
    }
}

impl From<ApiError> for Envelope {
    fn from(error: ApiError) -> Envelope {
        Envelope::from_error(&error)
    }
}

impl From<&ApiError> for Envelope {
    fn from(error: &ApiError) -> Envelope {
        Envelope::from_error(error)
    }
}

impl From<Success> for Envelope {
    fn from(outcome: Success) -> Envelope {
        Envelope::success(outcome)
    }
}

/// `{"bill_id":"<id>"}`, the result of `Order created` and of 601.
fn bill_id_result(bill_id: i64) -> RawJson {
    RawJson(format!("{{\"bill_id\":\"{bill_id}\"}}").into_bytes())
}

/// A response body as the SDK reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// `error_code`.
    pub code: i64,
    /// `error_text`, unescaped.
    pub text: String,
    /// `result` when present (object keys in the order received).
    pub result: Option<serde_json::Value>,
    /// `hash` as sent.
    pub hash: String,
}

impl Response {
    /// Whether `hash` is md5(`code::text::secret`) over the unescaped text (§6.2); compared in
    /// constant time and byte for byte. Use the empty secret for answers of code 5.
    pub fn verify(&self, secret: &str) -> bool {
        hash_matches(
            &response_hash(self.code, &self.text, secret),
            self.hash.as_bytes(),
        )
    }

    /// Whether the call succeeded (code 0, whatever the text).
    pub fn is_success(&self) -> bool {
        self.code == 0
    }
}

/// Why a response body is not an envelope.
#[derive(Debug, Error)]
pub enum ResponseError {
    /// The body is not JSON.
    #[error("response is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("response is not a JSON object")]
    NotAnObject,
    /// A required key is absent.
    #[error("response has no {0}")]
    Missing(&'static str),
    /// A key has the wrong JSON type (`error_code` must be an integer, the others strings).
    #[error("response has a malformed {0}")]
    WrongType(&'static str),
}

/// Parses a response body into its parts without checking the hash (see [`Response::verify`]).
pub fn parse_response(body: &[u8]) -> Result<Response, ResponseError> {
    let value: serde_json::Value = serde_json::from_slice(body)?;
    let serde_json::Value::Object(mut object) = value else {
        return Err(ResponseError::NotAnObject);
    };
    let code = object
        .get("error_code")
        .ok_or(ResponseError::Missing("error_code"))?
        .as_i64()
        .ok_or(ResponseError::WrongType("error_code"))?;
    let mut take_string = |name: &'static str| match object.shift_remove(name) {
        Some(serde_json::Value::String(s)) => Ok(s),
        Some(_) => Err(ResponseError::WrongType(name)),
        None => Err(ResponseError::Missing(name)),
    };
    let text = take_string("error_text")?;
    let hash = take_string("hash")?;
    let result = object.shift_remove("result");
    Ok(Response {
        code,
        text,
        result,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(envelope: &Envelope, secret: &str) -> String {
        String::from_utf8(envelope.render(secret)).unwrap()
    }

    #[test]
    fn shape_of_6_1() {
        assert_eq!(
            render(&Envelope::ok(), "secret"),
            r#"{"error_code":0,"error_text":"OK","hash":"b60bb23ab72ead13463d1205065965a5"}"#
        );
        assert_eq!(
            render(&Envelope::order_created(12345), "secret"),
            r#"{"error_code":0,"error_text":"Order created","result":{"bill_id":"12345"},"hash":"d72287948e429b9fe09196a0bdab2490"}"#
        );
        assert_eq!(
            render(&Envelope::from_error(&ApiError::InvalidUserName), ""),
            r#"{"error_code":5,"error_text":"Invalid user name","hash":"ca1d0e11a47db2f77cca68545d853090"}"#
        );
    }

    #[test]
    fn errors_of_13_1_5_and_6_4() {
        let cases = [
            (
                ApiError::DuplicateOrder { bill_id: 12345 },
                r#"{"error_code":601,"error_text":"Order already exist. His number send in result array.","result":{"bill_id":"12345"},"hash":"e1aecc358582bec038d45b98bf5c8bcb"}"#,
            ),
            (
                ApiError::NoDeliveryData,
                r#"{"error_code":605,"error_text":"Not having any data for delivery products","hash":"dae5eddedbc7e8442332fcd5706f64d2"}"#,
            ),
            (
                ApiError::ProductNotExist("nosuch".into()),
                r#"{"error_code":604,"error_text":"Product not exist: nosuch","hash":"837d47c2bfe5d79b300ee5992ed465ba"}"#,
            ),
            (
                ApiError::WrongEmail("client.example.com".into()),
                r#"{"error_code":600,"error_text":"Wrong email: 'client.example.com'","hash":"45f0fa6e9d898ade36d976eec283b6d6"}"#,
            ),
            (
                ApiError::UnknownMethod("GetEverything".into()),
                r#"{"error_code":3,"error_text":"Unknown method: GetEverything","hash":"f5541399b3a240df201c43893af12c66"}"#,
            ),
            (
                ApiError::MethodNotAllowed("GET".into()),
                r#"{"error_code":3,"error_text":"Method not allowed: GET","hash":"c184ad9d2eb44d696cc6e28d0943c8e5"}"#,
            ),
            (
                ApiError::IdempotencyKeyReused,
                r#"{"error_code":3,"error_text":"Idempotency key reused with different parameters","hash":"3a7f657dca8af830c57eeac2008d360f"}"#,
            ),
            (
                ApiError::WrongStatus,
                r#"{"error_code":201,"error_text":"Wrong status","hash":"c82a0239c3e81afe2f5f829ad426f48a"}"#,
            ),
            (
                ApiError::OrderNumberEmpty,
                r#"{"error_code":203,"error_text":"Order number is empty","hash":"09ed468ff92fc3f9ff3dbb510e5b6deb"}"#,
            ),
            (
                ApiError::ProductAlreadyExist,
                r#"{"error_code":301,"error_text":"Product already exist","hash":"442fa391ce5ec1c3bcdc73c538267e4e"}"#,
            ),
            (
                ApiError::OrderNotFound,
                r#"{"error_code":400,"error_text":"Order not found","hash":"974fe4b56e9fba8dd2c6a45193193a0d"}"#,
            ),
            (
                ApiError::PartnerNotFound,
                r#"{"error_code":1000,"error_text":"Partner not found","hash":"2cff1b6bcde8506d75927b0e1d2a8828"}"#,
            ),
        ];
        for (error, body) in cases {
            assert_eq!(render(&Envelope::from(&error), "secret"), body, "{error:?}");
        }
    }

    #[test]
    fn success_texts_of_12_1_and_13_7() {
        let cases = [
            (
                Success::AlreadyRegistered,
                r#"{"error_code":0,"error_text":"The subscriber is already registered","hash":"8bab27acf9e0dbde57359c668dd2faf7"}"#,
            ),
            (
                Success::InvalidSubscriptionsGroup,
                r#"{"error_code":0,"error_text":"Has an invalid subscriptions group","hash":"236e0d688de318b3eca89972d8178e07"}"#,
            ),
            (
                Success::OrderStatusChanged,
                r#"{"error_code":0,"error_text":"Order status changed","hash":"02e23135caa1cecb2b62c77328c92c03"}"#,
            ),
        ];
        for (outcome, body) in cases {
            assert_eq!(render(&Envelope::from(outcome), "secret"), body);
        }
    }

    #[test]
    fn results_of_several_shapes() {
        assert_eq!(
            render(&Envelope::ok_with(&2), "secret"),
            r#"{"error_code":0,"error_text":"OK","result":2,"hash":"b60bb23ab72ead13463d1205065965a5"}"#
        );
        assert_eq!(
            render(&Envelope::ok_with(&json!([])), "secret"),
            r#"{"error_code":0,"error_text":"OK","result":[],"hash":"b60bb23ab72ead13463d1205065965a5"}"#
        );
        let goods = json!([
            {"good_id": "1", "good_name": "code1", "good_title": "Онлайн-курс", "good_type": "0", "good_sum": "1000.00"},
        ]);
        assert_eq!(
            render(&Envelope::ok_with(&goods), "secret"),
            r#"{"error_code":0,"error_text":"OK","result":[{"good_id":"1","good_name":"code1","good_title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","good_type":"0","good_sum":"1000.00"}],"hash":"b60bb23ab72ead13463d1205065965a5"}"#
        );
    }

    #[test]
    fn text_is_hashed_before_escaping() {
        let envelope = Envelope::from(ApiError::WrongEmail("a/б".into()));
        let body = render(&envelope, "secret");
        assert!(body.contains(r#""error_text":"Wrong email: 'a\/\u0431'""#));
        assert_eq!(
            envelope.hash("secret"),
            crate::sign::md5_hex("600::Wrong email: 'a/б'::secret".as_bytes())
        );
        let parsed = parse_response(body.as_bytes()).unwrap();
        assert_eq!(parsed.text, "Wrong email: 'a/б'");
        assert!(parsed.verify("secret"));
        assert!(!parsed.verify("other"));
    }

    #[test]
    fn parsing_responses() {
        let body = br#"{"error_code":601,"error_text":"Order already exist. His number send in result array.","result":{"bill_id":"12345"},"hash":"e1aecc358582bec038d45b98bf5c8bcb"}"#;
        let response = parse_response(body).unwrap();
        assert_eq!(response.code, 601);
        assert_eq!(response.result, Some(json!({"bill_id": "12345"})));
        assert!(response.verify("secret"));
        assert!(!response.is_success());

        let upper =
            br#"{"error_code":0,"error_text":"OK","hash":"B60BB23AB72EAD13463D1205065965A5"}"#;
        assert!(!parse_response(upper).unwrap().verify("secret"));

        assert!(matches!(
            parse_response(b"[]"),
            Err(ResponseError::NotAnObject)
        ));
        assert!(matches!(parse_response(b"{"), Err(ResponseError::Json(_))));
        assert!(matches!(
            parse_response(br#"{"error_code":"0","error_text":"OK","hash":"x"}"#),
            Err(ResponseError::WrongType("error_code"))
        ));
        assert!(matches!(
            parse_response(br#"{"error_text":"OK","hash":"x"}"#),
            Err(ResponseError::Missing("error_code"))
        ));
        assert!(matches!(
            parse_response(br#"{"error_code":0,"error_text":"OK"}"#),
            Err(ResponseError::Missing("hash"))
        ));
        assert!(matches!(
            parse_response(br#"{"error_code":0,"error_text":1,"hash":"x"}"#),
            Err(ResponseError::WrongType("error_text"))
        ));
    }

    /// Every complete response body quoted in the specification renders back byte for byte from
    /// its parsed parts, and its hash verifies.
    #[test]
    fn every_response_in_the_spec() {
        let spec = include_str!("../../../docs/SPEC.md");
        let mut checked = 0;
        let mut rest = spec;
        while let Some(start) = rest.find("{\"error_code\":") {
            let candidate = &rest[start..];
            let end = candidate
                .find("\"hash\":\"")
                .map(|h| h + "\"hash\":\"".len())
                .expect("every envelope has a hash");
            rest = &candidate[end..];
            let hex = &candidate[end..];
            let is_digest = hex.len() >= 34
                && hex.as_bytes()[..32].iter().all(|b| b.is_ascii_hexdigit())
                && hex[32..].starts_with("\"}");
            if !is_digest {
                continue; // an elided "…" hash
            }
            let body = &candidate[..end + 34];
            let response = parse_response(body.as_bytes()).unwrap();
            let secret = if response.code == 5 { "" } else { "secret" };
            assert!(response.verify(secret), "{body}");
            let envelope = Envelope {
                code: response.code,
                text: response.text.clone(),
                result: response.result.as_ref().map(RawJson::encode),
            };
            assert_eq!(render(&envelope, secret), body);
            checked += 1;
        }
        assert!(checked >= 50, "only {checked} envelopes found");
    }
}
