//! The outbox tables: deliveries written inside the transaction of the change that caused
//! them, claimed and recorded by the delivery worker through the writer thread.

use crate::codec::corrupt;
use crate::db_error;
use clickbill_domain::model::{BillId, NotificationUrls, Order, TenantId};
use clickbill_domain::order::OrderEventKind;
use clickbill_domain::outbox::{
    now_ms, order_entries, unsubscribe_entry, AttemptOutcome, AttemptRecord, ClaimedDelivery,
    DeliveryFilter, DeliveryInfo, DeliveryState, EventId, OutboxEntry,
};
use clickbill_domain::StoreError;
use clickbill_protocol::notification::UnsubscribeNotification;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// Writes the deliveries of an order event, rendered from `order` as the event left it. Call
/// inside the write transaction of the change.
pub(crate) fn enqueue_order_event(
    conn: &Connection,
    tenant: TenantId,
    kind: OrderEventKind,
    order: &Order,
) -> Result<(), StoreError> {
    let secret: String = conn
        .prepare_cached("SELECT secret FROM tenants WHERE id = ?1")
        .and_then(|mut s| s.query_row([tenant.0], |r| r.get(0)))
        .map_err(db_error)?;
    let mut urls = Vec::with_capacity(order.items.len());
    let mut stmt = conn
        .prepare_cached(
            "SELECT url_new_order, url_paid, url_prepaid, url_cancel, url_moneyback \
             FROM products WHERE tenant_id = ?1 AND id = ?2 AND deleted = 0",
        )
        .map_err(db_error)?;
    for item in &order.items {
        let found = stmt
            .query_row(params![tenant.0, item.product_id.0], |r| {
                Ok(NotificationUrls {
                    new_order: r.get(0)?,
                    paid: r.get(1)?,
                    prepaid: r.get(2)?,
                    cancel: r.get(3)?,
                    moneyback: r.get(4)?,
                })
            })
            .optional()
            .map_err(db_error)?;
        urls.extend(found);
    }
    enqueue(conn, tenant, order_entries(kind, order, &urls, &secret))
}

/// Writes the unsubscribe notification of §16.9 for `tenant`, to its `unsubscribe_url` (nothing
/// when that is blank). Call inside the write transaction that unsubscribes, e.g. from
/// [`crate::SqliteStore::write`]; the delivery exists exactly when that transaction commits.
pub fn enqueue_unsubscribe(
    conn: &Connection,
    tenant: TenantId,
    fields: &UnsubscribeNotification,
) -> Result<(), StoreError> {
    let url: String = conn
        .prepare_cached("SELECT unsubscribe_url FROM tenants WHERE id = ?1")
        .and_then(|mut s| s.query_row([tenant.0], |r| r.get(0)))
        .map_err(db_error)?;
    enqueue(
        conn,
        tenant,
        unsubscribe_entry(&url, fields).into_iter().collect(),
    )
}

/// Writes deliveries, due at once.
pub fn enqueue(
    conn: &Connection,
    tenant: TenantId,
    entries: Vec<OutboxEntry>,
) -> Result<(), StoreError> {
    let now = now_ms();
    for entry in entries {
        let id: i64 = conn
            .prepare_cached(
                "UPDATE meta SET value = value + 1 WHERE key = 'next_delivery_id' \
                 RETURNING value - 1",
            )
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(db_error)?;
        insert(
            conn,
            &DeliveryInfo {
                tenant,
                id,
                event_id: entry.event_id,
                bill_id: entry.bill_id,
                kind: entry.kind,
                url: entry.url,
                body: entry.body,
                created_ms: now,
                state: DeliveryState::Pending,
                attempts: 0,
                round_start: 0,
                due_ms: now,
            },
        )?;
    }
    Ok(())
}

/// Writes a delivery as it is, under its id (also for `clickbill copy`).
pub(crate) fn insert(conn: &Connection, d: &DeliveryInfo) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO outbox_deliveries (tenant_id, id, event_id, bill_id, kind, url, body, \
         created_at, state, attempts, round_start, due_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .and_then(|mut s| {
        s.execute(params![
            d.tenant.0,
            d.id,
            d.event_id.as_str(),
            d.bill_id.map(BillId::get),
            d.kind,
            d.url,
            d.body,
            d.created_ms,
            d.state.as_str(),
            d.attempts,
            d.round_start,
            d.due_ms
        ])
    })
    .map_err(db_error)?;
    Ok(())
}

/// Writes one attempt of the log as it is.
pub(crate) fn insert_attempt(
    conn: &Connection,
    tenant: TenantId,
    delivery: i64,
    a: &AttemptRecord,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO outbox_attempts (tenant_id, delivery_id, attempt, at, status, error, \
         latency_ms, response) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.0,
            delivery,
            a.attempt,
            a.at_ms,
            a.status,
            a.error,
            a.latency_ms,
            a.response
        ])
    })
    .map_err(db_error)?;
    Ok(())
}

pub(crate) fn claim(
    conn: &Connection,
    now_ms: i64,
    lease_ms: i64,
    limit: usize,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let due = conn
        .prepare_cached(
            "SELECT tenant_id, id, event_id, url, body, attempts, round_start \
             FROM outbox_deliveries WHERE state = 'pending' AND due_at <= ?1 \
             ORDER BY due_at LIMIT ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![now_ms, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                    r.get::<_, u32>(5)?,
                    r.get::<_, u32>(6)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db_error)?;
    let lease_end = now_ms.saturating_add(lease_ms);
    let mut claimed = Vec::with_capacity(due.len());
    for (tenant, id, event_id, url, body, attempts, round_start) in due {
        conn.prepare_cached(
            "UPDATE outbox_deliveries SET due_at = ?3 WHERE tenant_id = ?1 AND id = ?2",
        )
        .and_then(|mut s| s.execute(params![tenant, id, lease_end]))
        .map_err(db_error)?;
        claimed.push(ClaimedDelivery {
            tenant: TenantId(tenant),
            id,
            event_id: EventId::parse(&event_id).ok_or_else(|| corrupt("delivery event id"))?,
            url,
            body,
            attempt: attempts + 1,
            failed_in_round: attempts.saturating_sub(round_start),
        });
    }
    Ok(claimed)
}

pub(crate) fn record(
    conn: &Connection,
    claimed: &ClaimedDelivery,
    attempt: &AttemptRecord,
    outcome: AttemptOutcome,
) -> Result<bool, StoreError> {
    let (state, due) = match outcome {
        AttemptOutcome::Delivered => (DeliveryState::Delivered, attempt.at_ms),
        AttemptOutcome::RetryAt(at) => (DeliveryState::Pending, at),
        AttemptOutcome::Failed => (DeliveryState::Failed, attempt.at_ms),
    };
    let changed = conn
        .prepare_cached(
            "UPDATE outbox_deliveries SET attempts = ?3, state = ?4, due_at = ?5 \
             WHERE tenant_id = ?1 AND id = ?2 AND state = 'pending' AND attempts = ?3 - 1",
        )
        .and_then(|mut s| {
            s.execute(params![
                claimed.tenant.0,
                claimed.id,
                claimed.attempt,
                state.as_str(),
                due
            ])
        })
        .map_err(db_error)?;
    if changed == 0 {
        return Ok(false);
    }
    insert_attempt(conn, claimed.tenant, claimed.id, attempt)?;
    Ok(true)
}

pub(crate) fn next_due(conn: &Connection) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached("SELECT MIN(due_at) FROM outbox_deliveries WHERE state = 'pending'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(db_error)
}

/// Counted in the partial index of pending deliveries, without reading the table.
pub(crate) fn pending_count(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM outbox_deliveries WHERE state = 'pending'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(db_error)?;
    u64::try_from(n).map_err(|_| corrupt("pending delivery count"))
}

const DELIVERY_COLUMNS: &str = "tenant_id, id, event_id, bill_id, kind, url, body, created_at, \
     state, attempts, round_start, due_at";

pub(crate) fn delivery_from_row(r: &Row<'_>) -> Result<DeliveryInfo, StoreError> {
    let get = |e: rusqlite::Error| db_error(e);
    let event_id: String = r.get(2).map_err(get)?;
    let bill_id: Option<i64> = r.get(3).map_err(get)?;
    let state: String = r.get(8).map_err(get)?;
    Ok(DeliveryInfo {
        tenant: TenantId(r.get(0).map_err(get)?),
        id: r.get(1).map_err(get)?,
        event_id: EventId::parse(&event_id).ok_or_else(|| corrupt("delivery event id"))?,
        bill_id: bill_id
            .map(|n| BillId::new(n).ok_or_else(|| corrupt("delivery bill id")))
            .transpose()?,
        kind: r.get(4).map_err(get)?,
        url: r.get(5).map_err(get)?,
        body: r.get(6).map_err(get)?,
        created_ms: r.get(7).map_err(get)?,
        state: DeliveryState::parse(&state).ok_or_else(|| corrupt("delivery state"))?,
        attempts: r.get(9).map_err(get)?,
        round_start: r.get(10).map_err(get)?,
        due_ms: r.get(11).map_err(get)?,
    })
}

pub(crate) fn list(
    conn: &Connection,
    tenant: TenantId,
    filter: DeliveryFilter,
) -> Result<Vec<DeliveryInfo>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM outbox_deliveries WHERE tenant_id = ?1 \
         AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR bill_id = ?3) ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_error)?;
    let mut rows = stmt
        .query(params![
            tenant.0,
            filter.state.map(DeliveryState::as_str),
            filter.bill_id.map(BillId::get)
        ])
        .map_err(db_error)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        found.push(delivery_from_row(row)?);
    }
    Ok(found)
}

pub(crate) fn attempts(
    conn: &Connection,
    tenant: TenantId,
    delivery: i64,
) -> Result<Vec<AttemptRecord>, StoreError> {
    conn.prepare_cached(
        "SELECT attempt, at, status, error, latency_ms, response FROM outbox_attempts \
         WHERE tenant_id = ?1 AND delivery_id = ?2 ORDER BY attempt",
    )
    .and_then(|mut s| {
        s.query_map(params![tenant.0, delivery], |r| {
            Ok(AttemptRecord {
                attempt: r.get(0)?,
                at_ms: r.get(1)?,
                status: r.get(2)?,
                error: r.get(3)?,
                latency_ms: r.get(4)?,
                response: r.get(5)?,
            })
        })?
        .collect()
    })
    .map_err(db_error)
}

pub(crate) fn by_event_id(
    conn: &Connection,
    event_id: &EventId,
) -> Result<Option<(DeliveryInfo, Vec<AttemptRecord>)>, StoreError> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM outbox_deliveries WHERE event_id = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(db_error)?;
    let mut rows = stmt.query([event_id.as_str()]).map_err(db_error)?;
    let Some(row) = rows.next().map_err(db_error)? else {
        return Ok(None);
    };
    let delivery = delivery_from_row(row)?;
    let log = attempts(conn, delivery.tenant, delivery.id)?;
    Ok(Some((delivery, log)))
}

pub(crate) fn redeliver(
    conn: &Connection,
    event_id: &EventId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE outbox_deliveries SET state = 'pending', round_start = attempts, \
             due_at = ?2 WHERE event_id = ?1",
        )
        .and_then(|mut s| s.execute(params![event_id.as_str(), now_ms]))
        .map_err(db_error)?;
    Ok(changed > 0)
}
