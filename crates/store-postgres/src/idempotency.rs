//! Responses remembered under an `Idempotency-Key`. A claim inserts the key's row or locks the
//! one there, and decides on the locked row, so two replicas claiming one key at once queue on
//! that row and exactly one of them gets it.

use crate::db::{execute, row_opt, Failure};
use clickbill_domain::model::TenantId;
use clickbill_domain::{IdempotencyClaim, KeyRecord, StoredResponse, IDEMPOTENCY_KEY_LIFETIME};
use clickbill_store_codec::corrupt;
use deadpool_postgres::GenericClient;

pub(crate) async fn claim<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    key: &str,
    fingerprint: &str,
    now: i64,
    lease_seconds: i64,
) -> Result<IdempotencyClaim, Failure> {
    // A new row is ours. On an existing one, `DO UPDATE ... WHERE FALSE` changes nothing but
    // locks it (after waiting for a claim still being inserted to commit), so the row read next
    // cannot change or vanish before this transaction ends.
    let inserted = row_opt(
        client,
        "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, state, claimed_at) \
         VALUES ($1, $2, $3, 'pending', $4) \
         ON CONFLICT (tenant_id, key) DO UPDATE SET state = idempotency_keys.state WHERE FALSE \
         RETURNING 1",
        &[&tenant.0, &key, &fingerprint, &now],
    )
    .await?;
    if inserted.is_some() {
        return Ok(IdempotencyClaim::Claimed);
    }
    let found = row_opt(
        client,
        "SELECT fingerprint, state, claimed_at, completed_at, status, body \
         FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
        &[&tenant.0, &key],
    )
    .await?
    .ok_or_else(|| corrupt("idempotency key"))?;
    let record = KeyRecord::from_columns(
        found.try_get(0)?,
        found.try_get::<_, &str>(1)? == "done",
        found.try_get(2)?,
        found.try_get(3)?,
        found.try_get(4)?,
        found.try_get(5)?,
    )?;
    if let Some(claim) = record.claim_by(fingerprint, now, lease_seconds) {
        return Ok(claim);
    }
    execute(
        client,
        "UPDATE idempotency_keys SET fingerprint = $3, state = 'pending', claimed_at = $4, \
         completed_at = NULL, status = NULL, body = NULL WHERE tenant_id = $1 AND key = $2",
        &[&tenant.0, &key, &fingerprint, &now],
    )
    .await?;
    Ok(IdempotencyClaim::Claimed)
}

/// A key whose claim is gone (released, lapsed and purged, or lapsed and taken by a request
/// with another fingerprint) has nothing to complete; the response was already given to its
/// caller, so that is no failure.
pub(crate) async fn complete<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    key: &str,
    fingerprint: &str,
    response: &StoredResponse,
    now: i64,
) -> Result<(), Failure> {
    execute(
        client,
        "UPDATE idempotency_keys SET state = 'done', completed_at = $4, status = $5, body = $6 \
         WHERE tenant_id = $1 AND key = $2 AND fingerprint = $3 AND state = 'pending'",
        &[
            &tenant.0,
            &key,
            &fingerprint,
            &now,
            &i64::from(response.status),
            &response.body,
        ],
    )
    .await?;
    Ok(())
}

/// Only a pending claim of the same request is given up: a completed key keeps its response.
pub(crate) async fn release<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    key: &str,
    fingerprint: &str,
) -> Result<(), Failure> {
    execute(
        client,
        "DELETE FROM idempotency_keys \
         WHERE tenant_id = $1 AND key = $2 AND fingerprint = $3 AND state = 'pending'",
        &[&tenant.0, &key, &fingerprint],
    )
    .await?;
    Ok(())
}

/// Besides completed keys past their lifetime, claims older than a lifetime go too: a lease is
/// far shorter than a day, so such a claim belongs to a request that died without releasing it.
pub(crate) const PURGE: &str =
    "DELETE FROM idempotency_keys WHERE coalesce(completed_at, claimed_at) <= $1";

pub(crate) async fn purge<C: GenericClient>(client: &C, now: i64) -> Result<u64, Failure> {
    let cutoff = now.saturating_sub(IDEMPOTENCY_KEY_LIFETIME);
    execute(client, PURGE, &[&cutoff]).await
}
