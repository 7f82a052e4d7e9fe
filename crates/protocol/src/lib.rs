//! The JustClick wire, shared by the clickbill server and the Rust SDK.
//!
//! This crate knows the bytes and rules of the protocol only: how requests are signed and checked
//! ([`sign`], [`auth`]), how answers are shaped, encoded and signed ([`envelope`], [`json`]), the
//! error catalogue ([`error`]), method names ([`method`]) and the parsing of parameter values
//! ([`value`]). It does no I/O and knows nothing of HTTP or storage.

pub mod auth;
pub mod country;
pub mod datetime;
pub mod envelope;
pub mod error;
pub mod json;
pub mod method;
pub mod methods;
pub mod notification;
pub mod sign;
pub mod value;

pub use auth::authenticate;
pub use envelope::{parse_response, Envelope, RawJson, Response, ResponseError};
pub use error::{ApiError, Success};
pub use method::{route, ApiVersion, Method};
pub use value::{Email, Login, Malformed, Money, Params, Percent};
