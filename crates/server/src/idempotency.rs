//! The `Idempotency-Key` extension (SPEC §17): a retried request with the same key gets the first
//! answer byte for byte, and the method runs once.
//!
//! The claim lives in the store, not in this process, so that it holds across restarts and
//! across replicas on one database. A request that finds its key claimed by a request still
//! running polls the store until that one completes; a claim whose request died with its
//! process lapses after [`ServerConfig::idempotency_lease`](crate::ServerConfig), and the next
//! retry runs the method again (where the duplicate rule still stops a second order).

use clickbill_domain::model::TenantId;
use clickbill_domain::{Clock, IdempotencyClaim, Store, StoreError, StoredResponse};
use clickbill_protocol::method::Method;
use clickbill_protocol::sign::md5_hex;
use http::HeaderMap;
use std::time::Duration;

/// How often a request waiting for another request with its key asks the store again.
const WAIT_POLL: Duration = Duration::from_millis(20);

/// A valid `Idempotency-Key` header value: 1–255 bytes of visible ASCII.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key a request carries; an invalid value counts as no key (SPEC §17).
    pub fn from_headers(headers: &HeaderMap) -> Option<IdempotencyKey> {
        let value = headers.get("idempotency-key")?.as_bytes();
        let valid =
            (1..=255).contains(&value.len()) && value.iter().all(|b| (0x21..=0x7e).contains(b));
        valid.then(|| IdempotencyKey(String::from_utf8_lossy(value).into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What makes two requests "the same" for one key: the method, whatever its spelling, and the
/// raw body.
pub fn fingerprint(method: Method, body: &[u8]) -> String {
    let mut material = Vec::with_capacity(body.len() + 32);
    material.extend_from_slice(method.to_string().to_ascii_lowercase().as_bytes());
    material.push(b'\n');
    material.extend_from_slice(body);
    md5_hex(&material)
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Admission {
    /// Run the method, then [`finish`] the key.
    Run,
    /// Answer with the stored response.
    Replay(StoredResponse),
    /// The key belongs to another request: answer 409.
    Reused,
}

/// Claims `key`, waiting while another request with the same key and fingerprint runs.
pub async fn admit(
    store: &dyn Store,
    clock: &dyn Clock,
    tenant: TenantId,
    key: &IdempotencyKey,
    fingerprint: &str,
    lease: Duration,
) -> Result<Admission, StoreError> {
    let lease_seconds = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX).max(1);
    loop {
        let claim = store
            .claim_idempotency_key(
                tenant,
                key.as_str(),
                fingerprint,
                clock.now(),
                lease_seconds,
            )
            .await?;
        match claim {
            IdempotencyClaim::Claimed => return Ok(Admission::Run),
            IdempotencyClaim::Done(response) => return Ok(Admission::Replay(response)),
            IdempotencyClaim::Mismatch => return Ok(Admission::Reused),
            IdempotencyClaim::InFlight => tokio::time::sleep(WAIT_POLL).await,
        }
    }
}

/// Records the answer of a request that ran under `key`, or gives the key up when the method
/// failed unexpectedly, so that a retry is not answered with a failure that may have passed.
pub async fn finish(
    store: &dyn Store,
    clock: &dyn Clock,
    tenant: TenantId,
    key: &IdempotencyKey,
    fingerprint: &str,
    response: Option<StoredResponse>,
) {
    let result = match response {
        Some(response) => {
            store
                .complete_idempotency_key(tenant, key.as_str(), fingerprint, response, clock.now())
                .await
        }
        None => {
            store
                .release_idempotency_key(tenant, key.as_str(), fingerprint)
                .await
        }
    };
    if let Err(error) = result {
        // The answer still goes out; the claim lapses after its lease and a retry runs again.
        tracing::error!(%error, tenant = tenant.0, "cannot record an idempotency key");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn key(value: &[u8]) -> Option<IdempotencyKey> {
        let mut headers = HeaderMap::new();
        headers.insert("Idempotency-Key", HeaderValue::from_bytes(value).unwrap());
        IdempotencyKey::from_headers(&headers)
    }

    #[test]
    fn keys_are_1_to_255_visible_ascii_bytes() {
        assert_eq!(
            key(b"order-2023-11-15-0001").unwrap().as_str(),
            "order-2023-11-15-0001"
        );
        assert!(key(&[b'k'; 255]).is_some());
        assert!(key(&[b'k'; 256]).is_none());
        assert!(key(b"").is_none());
        assert!(key(b"with space").is_none());
        assert!(key(b"tab\there").is_none());
        assert!(key("ключ".as_bytes()).is_none());
        assert!(IdempotencyKey::from_headers(&HeaderMap::new()).is_none());
    }

    #[test]
    fn fingerprints_ignore_the_method_spelling_but_not_the_body() {
        let a = fingerprint(Method::GetOrderDetails, b"bill_id=1");
        assert_eq!(a, fingerprint(Method::GetOrderDetails, b"bill_id=1"));
        assert_ne!(a, fingerprint(Method::GetOrderDetails, b"bill_id=2"));
        assert_ne!(a, fingerprint(Method::GetOrderInfo, b"bill_id=1"));
    }
}
