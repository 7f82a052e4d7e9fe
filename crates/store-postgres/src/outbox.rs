//! The outbox tables: deliveries written inside the transaction of the change that caused
//! them; claimed by the workers of every replica with `FOR UPDATE SKIP LOCKED` and a lease.

use crate::db::{execute, row, row_opt, rows, Failure};
use clickbill_domain::model::{BillId, NotificationUrls, Order, TenantId};
use clickbill_domain::order::OrderEventKind;
use clickbill_domain::outbox::{
    now_ms, order_entries, unsubscribe_entry, AttemptOutcome, AttemptRecord, ClaimedDelivery,
    DeliveryFilter, DeliveryInfo, DeliveryState, EventId, OutboxEntry,
};
use clickbill_domain::StoreError;
use clickbill_protocol::notification::UnsubscribeNotification;
use clickbill_store_codec::corrupt;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

/// Writes the deliveries of an order event, rendered from `order` as the event left it. Call
/// inside the write transaction of the change.
pub(crate) async fn enqueue_order_event<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    kind: OrderEventKind,
    order: &Order,
) -> Result<(), Failure> {
    let secret: String = row(
        client,
        "SELECT secret FROM tenants WHERE id = $1",
        &[&tenant.0],
    )
    .await?
    .try_get(0)?;
    let ids: Vec<i64> = order.items.iter().map(|item| item.product_id.0).collect();
    let found = rows(
        client,
        "SELECT id, url_new_order, url_paid, url_prepaid, url_cancel, url_moneyback \
         FROM products WHERE tenant_id = $1 AND id = ANY($2) AND NOT deleted",
        &[&tenant.0, &ids],
    )
    .await?;
    let mut urls = Vec::with_capacity(ids.len());
    for id in &ids {
        let Some(product) = found.iter().find(|r| r.get::<_, i64>(0) == *id) else {
            continue;
        };
        urls.push(NotificationUrls {
            new_order: product.try_get(1)?,
            paid: product.try_get(2)?,
            prepaid: product.try_get(3)?,
            cancel: product.try_get(4)?,
            moneyback: product.try_get(5)?,
        });
    }
    enqueue(client, tenant, order_entries(kind, order, &urls, &secret)).await
}

/// Writes the unsubscribe notification of §16.9 for `tenant`, to its `unsubscribe_url` (nothing
/// when that is blank). Call inside the write transaction that unsubscribes; the delivery
/// exists exactly when that transaction commits. Call [`crate::PostgresStore::wake_outbox`]
/// after the commit.
pub async fn enqueue_unsubscribe<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    fields: &UnsubscribeNotification,
) -> Result<(), StoreError> {
    Ok(unsubscribe(client, tenant, fields).await?)
}

async fn unsubscribe<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    fields: &UnsubscribeNotification,
) -> Result<(), Failure> {
    let url: String = row(
        client,
        "SELECT unsubscribe_url FROM tenants WHERE id = $1",
        &[&tenant.0],
    )
    .await?
    .try_get(0)?;
    let entries = unsubscribe_entry(&url, fields).into_iter().collect();
    enqueue(client, tenant, entries).await
}

/// Writes deliveries, due at once.
pub(crate) async fn enqueue<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    entries: Vec<OutboxEntry>,
) -> Result<(), Failure> {
    let now = now_ms();
    for entry in entries {
        execute(
            client,
            "INSERT INTO outbox_deliveries (tenant_id, id, event_id, bill_id, kind, url, body, \
             created_at, due_at) VALUES ($1, nextval('delivery_ids'), $2, $3, $4, $5, $6, $7, $7)",
            &[
                &tenant.0,
                &entry.event_id.as_str(),
                &entry.bill_id.map(BillId::get),
                &entry.kind,
                &entry.url,
                &entry.body,
                &now,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Writes a delivery as it is, under its id (`clickbill copy`).
pub(crate) async fn insert<C: GenericClient>(client: &C, d: &DeliveryInfo) -> Result<(), Failure> {
    execute(
        client,
        "INSERT INTO outbox_deliveries (tenant_id, id, event_id, bill_id, kind, url, body, \
         created_at, state, attempts, round_start, due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &d.tenant.0,
            &d.id,
            &d.event_id.as_str(),
            &d.bill_id.map(BillId::get),
            &d.kind,
            &d.url,
            &d.body,
            &d.created_ms,
            &d.state.as_str(),
            &i64::from(d.attempts),
            &i64::from(d.round_start),
            &d.due_ms,
        ],
    )
    .await?;
    Ok(())
}

/// Writes one attempt of the log as it is.
pub(crate) async fn insert_attempt<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    delivery: i64,
    a: &AttemptRecord,
) -> Result<(), Failure> {
    execute(
        client,
        "INSERT INTO outbox_attempts (tenant_id, delivery_id, attempt, at, status, error, \
         latency_ms, response) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &tenant.0,
            &delivery,
            &i64::from(a.attempt),
            &a.at_ms,
            &a.status.map(i32::from),
            &a.error,
            &a.latency_ms,
            &a.response,
        ],
    )
    .await?;
    Ok(())
}

/// Rows another transaction holds are skipped, not waited for: a replica claiming at the same
/// moment gets other deliveries, and none is handed out twice.
pub(crate) async fn claim<C: GenericClient>(
    client: &C,
    now_ms: i64,
    lease_ms: i64,
    limit: usize,
) -> Result<Vec<ClaimedDelivery>, Failure> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let claimed = rows(
        client,
        "WITH due AS ( \
             SELECT tenant_id, id FROM outbox_deliveries \
             WHERE state = 'pending' AND due_at <= $1 \
             ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
         UPDATE outbox_deliveries d SET due_at = $1 + $2 FROM due \
         WHERE d.tenant_id = due.tenant_id AND d.id = due.id \
         RETURNING d.tenant_id, d.id, d.event_id, d.url, d.body, d.attempts, d.round_start",
        &[&now_ms, &lease_ms, &limit],
    )
    .await?;
    claimed
        .iter()
        .map(|r| {
            let event_id: String = r.try_get(2)?;
            let attempts = count(r.try_get(5)?)?;
            let round_start = count(r.try_get(6)?)?;
            Ok(ClaimedDelivery {
                tenant: TenantId(r.try_get(0)?),
                id: r.try_get(1)?,
                event_id: EventId::parse(&event_id).ok_or_else(|| corrupt("delivery event id"))?,
                url: r.try_get(3)?,
                body: r.try_get(4)?,
                attempt: attempts + 1,
                failed_in_round: attempts.saturating_sub(round_start),
            })
        })
        .collect()
}

fn count(value: i64) -> Result<u32, Failure> {
    u32::try_from(value).map_err(|_| corrupt("delivery attempt count").into())
}

pub(crate) async fn record<C: GenericClient>(
    client: &C,
    claimed: &ClaimedDelivery,
    attempt: &AttemptRecord,
    outcome: AttemptOutcome,
) -> Result<bool, Failure> {
    let (state, due) = match outcome {
        AttemptOutcome::Delivered => (DeliveryState::Delivered, attempt.at_ms),
        AttemptOutcome::RetryAt(at) => (DeliveryState::Pending, at),
        AttemptOutcome::Failed => (DeliveryState::Failed, attempt.at_ms),
    };
    let number = i64::from(claimed.attempt);
    let changed = execute(
        client,
        "UPDATE outbox_deliveries SET attempts = $3, state = $4, due_at = $5 \
         WHERE tenant_id = $1 AND id = $2 AND state = 'pending' AND attempts = $3::bigint - 1",
        &[
            &claimed.tenant.0,
            &claimed.id,
            &number,
            &state.as_str(),
            &due,
        ],
    )
    .await?;
    if changed == 0 {
        return Ok(false);
    }
    insert_attempt(client, claimed.tenant, claimed.id, attempt).await?;
    Ok(true)
}

pub(crate) async fn next_due<C: GenericClient>(client: &C) -> Result<Option<i64>, Failure> {
    Ok(row(
        client,
        "SELECT MIN(due_at) FROM outbox_deliveries WHERE state = 'pending'",
        &[],
    )
    .await?
    .try_get(0)?)
}

/// Counted in the partial index of pending deliveries.
pub(crate) async fn pending_count<C: GenericClient>(client: &C) -> Result<u64, Failure> {
    let n: i64 = row(
        client,
        "SELECT count(*) FROM outbox_deliveries WHERE state = 'pending'",
        &[],
    )
    .await?
    .try_get(0)?;
    Ok(u64::try_from(n).map_err(|_| corrupt("pending delivery count"))?)
}

macro_rules! select_delivery {
    ($rest:literal) => {
        concat!(
            "SELECT tenant_id, id, event_id, bill_id, kind, url, body, created_at, state, \
             attempts, round_start, due_at FROM outbox_deliveries ",
            $rest
        )
    };
}

pub(crate) const EXPORT_DELIVERIES: &str = select_delivery!("WHERE id > $1 ORDER BY id LIMIT $2");

pub(crate) fn delivery_from_row(r: &Row) -> Result<DeliveryInfo, Failure> {
    let event_id: String = r.try_get(2)?;
    let bill_id: Option<i64> = r.try_get(3)?;
    let state: String = r.try_get(8)?;
    Ok(DeliveryInfo {
        tenant: TenantId(r.try_get(0)?),
        id: r.try_get(1)?,
        event_id: EventId::parse(&event_id).ok_or_else(|| corrupt("delivery event id"))?,
        bill_id: bill_id
            .map(|n| BillId::new(n).ok_or_else(|| corrupt("delivery bill id")))
            .transpose()?,
        kind: r.try_get(4)?,
        url: r.try_get(5)?,
        body: r.try_get(6)?,
        created_ms: r.try_get(7)?,
        state: DeliveryState::parse(&state).ok_or_else(|| corrupt("delivery state"))?,
        attempts: count(r.try_get(9)?)?,
        round_start: count(r.try_get(10)?)?,
        due_ms: r.try_get(11)?,
    })
}

pub(crate) async fn list<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    filter: DeliveryFilter,
) -> Result<Vec<DeliveryInfo>, Failure> {
    let found = rows(
        client,
        select_delivery!(
            "WHERE tenant_id = $1 AND ($2::text IS NULL OR state = $2) \
             AND ($3::bigint IS NULL OR bill_id = $3) ORDER BY id"
        ),
        &[
            &tenant.0,
            &filter.state.map(DeliveryState::as_str),
            &filter.bill_id.map(BillId::get),
        ],
    )
    .await?;
    found.iter().map(delivery_from_row).collect()
}

pub(crate) async fn attempts<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    delivery: i64,
) -> Result<Vec<AttemptRecord>, Failure> {
    let found = rows(
        client,
        "SELECT attempt, at, status, error, latency_ms, response FROM outbox_attempts \
         WHERE tenant_id = $1 AND delivery_id = $2 ORDER BY attempt",
        &[&tenant.0, &delivery],
    )
    .await?;
    found
        .iter()
        .map(|r| {
            let status: Option<i32> = r.try_get(2)?;
            Ok(AttemptRecord {
                attempt: count(r.try_get(0)?)?,
                at_ms: r.try_get(1)?,
                status: status
                    .map(|s| u16::try_from(s).map_err(|_| corrupt("attempt status")))
                    .transpose()?,
                error: r.try_get(3)?,
                latency_ms: r.try_get(4)?,
                response: r.try_get(5)?,
            })
        })
        .collect()
}

pub(crate) async fn by_event_id<C: GenericClient>(
    client: &C,
    event_id: &EventId,
) -> Result<Option<(DeliveryInfo, Vec<AttemptRecord>)>, Failure> {
    let found = row_opt(
        client,
        select_delivery!("WHERE event_id = $1"),
        &[&event_id.as_str()],
    )
    .await?;
    let Some(found) = found else {
        return Ok(None);
    };
    let delivery = delivery_from_row(&found)?;
    let log = attempts(client, delivery.tenant, delivery.id).await?;
    Ok(Some((delivery, log)))
}

pub(crate) async fn redeliver<C: GenericClient>(
    client: &C,
    event_id: &EventId,
    now_ms: i64,
) -> Result<bool, Failure> {
    let changed = execute(
        client,
        "UPDATE outbox_deliveries SET state = 'pending', round_start = attempts, due_at = $2 \
         WHERE event_id = $1",
        &[&event_id.as_str(), &now_ms],
    )
    .await?;
    Ok(changed > 0)
}
