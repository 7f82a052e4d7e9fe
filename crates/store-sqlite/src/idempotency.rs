//! Responses remembered under an `Idempotency-Key`. Claims run on the writer thread, so reading
//! a key's row and then writing it inside one job cannot interleave with another claim.

use crate::codec::corrupt;
use crate::db_error;
use clickbill_domain::model::TenantId;
use clickbill_domain::{IdempotencyClaim, StoreError, StoredResponse, IDEMPOTENCY_KEY_LIFETIME};
use rusqlite::{params, Connection, OptionalExtension};

struct KeyRow {
    fingerprint: String,
    done: bool,
    claimed_at: i64,
    completed_at: Option<i64>,
    status: Option<i64>,
    body: Option<Vec<u8>>,
}

impl KeyRow {
    /// Whether the row still binds the key: a response within its lifetime, or a claim within
    /// its lease. A row that no longer binds is free for any request.
    fn binds_at(&self, now: i64, lease_seconds: i64) -> bool {
        if self.done {
            self.completed_at
                .unwrap_or(self.claimed_at)
                .saturating_add(IDEMPOTENCY_KEY_LIFETIME)
                > now
        } else {
            self.claimed_at.saturating_add(lease_seconds) > now
        }
    }

    fn response(self) -> Result<StoredResponse, StoreError> {
        let status = self
            .status
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| corrupt("idempotency key status"))?;
        Ok(StoredResponse {
            status,
            body: self.body.unwrap_or_default(),
        })
    }
}

fn key_row(conn: &Connection, tenant: TenantId, key: &str) -> Result<Option<KeyRow>, StoreError> {
    conn.prepare_cached(
        "SELECT fingerprint, state, claimed_at, completed_at, status, body \
         FROM idempotency_keys WHERE tenant_id = ?1 AND key = ?2",
    )
    .and_then(|mut s| {
        s.query_row(params![tenant.0, key], |r| {
            Ok(KeyRow {
                fingerprint: r.get(0)?,
                done: r.get::<_, String>(1)? == "done",
                claimed_at: r.get(2)?,
                completed_at: r.get(3)?,
                status: r.get(4)?,
                body: r.get(5)?,
            })
        })
        .optional()
    })
    .map_err(db_error)
}

pub(crate) fn claim(
    conn: &Connection,
    tenant: TenantId,
    key: &str,
    fingerprint: &str,
    now: i64,
    lease_seconds: i64,
) -> Result<IdempotencyClaim, StoreError> {
    if let Some(row) = key_row(conn, tenant, key)? {
        if row.binds_at(now, lease_seconds) {
            return Ok(if row.fingerprint != fingerprint {
                IdempotencyClaim::Mismatch
            } else if row.done {
                IdempotencyClaim::Done(row.response()?)
            } else {
                IdempotencyClaim::InFlight
            });
        }
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
