//! Responses remembered under an `Idempotency-Key`. Claims run on the writer thread, so reading
//! a key's row and then writing it inside one job cannot interleave with another claim.

use crate::db_error;
use clickbill_domain::model::TenantId;
use clickbill_domain::{
    IdempotencyClaim, KeyRecord, StoreError, StoredResponse, IDEMPOTENCY_KEY_LIFETIME,
};
use rusqlite::{params, Connection, OptionalExtension};

/// The key's record; a completed one must carry its status.
fn key_record(
    conn: &Connection,
    tenant: TenantId,
    key: &str,
) -> Result<Option<KeyRecord>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT fingerprint, state, claimed_at, completed_at, status, body \
             FROM idempotency_keys WHERE tenant_id = ?1 AND key = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![tenant.0, key], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)? == "done",
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<Vec<u8>>>(5)?,
                ))
            })
            .optional()
        })
        .map_err(db_error)?;
    row.map(
        |(fingerprint, done, claimed_at, completed_at, status, body)| {
            KeyRecord::from_columns(fingerprint, done, claimed_at, completed_at, status, body)
        },
    )
    .transpose()
}

pub(crate) fn claim(
    conn: &Connection,
    tenant: TenantId,
    key: &str,
    fingerprint: &str,
    now: i64,
    lease_seconds: i64,
) -> Result<IdempotencyClaim, StoreError> {
    let found = key_record(conn, tenant, key)?
        .and_then(|record| record.claim_by(fingerprint, now, lease_seconds));
    if let Some(claim) = found {
        return Ok(claim);
    }
    conn.prepare_cached(
        "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, state, claimed_at) \
         VALUES (?1, ?2, ?3, 'pending', ?4) \
         ON CONFLICT (tenant_id, key) DO UPDATE SET fingerprint = ?3, state = 'pending', \
         claimed_at = ?4, completed_at = NULL, status = NULL, body = NULL",
    )
    .and_then(|mut s| s.execute(params![tenant.0, key, fingerprint, now]))
    .map_err(db_error)?;
    Ok(IdempotencyClaim::Claimed)
}

/// A key whose claim is gone (released, lapsed and purged, or lapsed and taken by a request
/// with another fingerprint) has nothing to complete; the response was already given to its
/// caller, so that is no failure.
pub(crate) fn complete(
    conn: &Connection,
    tenant: TenantId,
    key: &str,
    fingerprint: &str,
    response: StoredResponse,
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE idempotency_keys SET state = 'done', completed_at = ?4, status = ?5, body = ?6 \
         WHERE tenant_id = ?1 AND key = ?2 AND fingerprint = ?3 AND state = 'pending'",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.0,
            key,
            fingerprint,
            now,
            i64::from(response.status),
            response.body
        ])
    })
    .map_err(db_error)?;
    Ok(())
}

/// Only a pending claim of the same request is given up: a completed key keeps its response.
pub(crate) fn release(
    conn: &Connection,
    tenant: TenantId,
    key: &str,
    fingerprint: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "DELETE FROM idempotency_keys \
         WHERE tenant_id = ?1 AND key = ?2 AND fingerprint = ?3 AND state = 'pending'",
    )
    .and_then(|mut s| s.execute(params![tenant.0, key, fingerprint]))
    .map_err(db_error)?;
    Ok(())
}

/// Besides completed keys past their lifetime, claims older than a lifetime go too: a lease is
/// far shorter than a day, so such a claim belongs to a request that died without releasing it.
pub(crate) const PURGE: &str =
    "DELETE FROM idempotency_keys WHERE coalesce(completed_at, claimed_at) <= ?1";

pub(crate) fn purge(conn: &Connection, now: i64) -> Result<u64, StoreError> {
    let removed = conn
        .prepare_cached(PURGE)
        .and_then(|mut s| s.execute([now.saturating_sub(IDEMPOTENCY_KEY_LIFETIME)]))
        .map_err(db_error)?;
    Ok(removed as u64)
}
