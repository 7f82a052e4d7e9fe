//! The properties the fuzz targets (`fuzz/`) check, as plain functions: the targets call them
//! with libFuzzer's inputs, and `tests/corpus.rs` replays the saved corpus through them on the
//! stable toolchain. Every function panics when a property is broken.

mod api;

pub use api::{api_request, ApiInput};

use clickbill_protocol::auth::{self, Scheme};
use clickbill_protocol::sign::add_request_hash;

/// Login and secret the harnesses sign with (the tenant `demo` of the examples).
pub const LOGIN: &str = "demo";
pub const SECRET: &str = "secret";

/// `php-form`: parsing never panics, and what it builds back parses to the same map (the SDK
/// sends `build_query` of what it means; the server must read exactly that).
pub fn form(body: &[u8]) {
    let parsed = php_form::parse(body);
    let rebuilt = php_form::build_query(&parsed);
    // A rebuilt query lists every leaf as its own segment; past PHP's variable limit the second
    // parse is cut short, which is PHP's behaviour and no defect.
    if php_form::split_segments(&rebuilt).count() <= php_form::Limits::default().max_vars {
        assert_eq!(
            php_form::parse(&rebuilt),
            parsed,
            "rebuilt query {:?} reads differently",
            String::from_utf8_lossy(&rebuilt)
        );
    }
}

/// `protocol::auth` over a parsed body: the check never panics, a body signed the way the SDK
/// signs it always passes, and the signed body still passes after a trip over the wire.
pub fn signature(body: &[u8]) {
    let params = php_form::parse(body);
    let _ = auth::authenticate(params.clone(), LOGIN, SECRET);

    let mut signed = auth::strip_credentials(params);
    if signed.is_empty() {
        return;
    }
    add_request_hash(&mut signed, LOGIN, SECRET);
    assert_eq!(
        auth::check(&signed, LOGIN, SECRET),
        Ok(Scheme::Signature),
        "a freshly signed parameter set is refused"
    );
    let wire = php_form::build_query(&signed);
    if php_form::split_segments(&wire).count() <= php_form::Limits::default().max_vars {
        assert_eq!(
            auth::check(&php_form::parse(&wire), LOGIN, SECRET),
            Ok(Scheme::Signature),
            "a signed body {:?} is refused after the wire",
            String::from_utf8_lossy(&wire)
        );
    }
}
