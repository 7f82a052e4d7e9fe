//! Orders, their product and partner-fee indexes, their events and the listings over them.
//!
//! Locking: creating an order first locks the tenant's `bill` counter row, so the creations of
//! one tenant run one after another across every replica, and each one's duplicate check sees
//! the orders committed before it. Changing an order locks the order's row before reading it.
//! The store's methods take their row locks in that order (counter, then order, then the
//! order's index rows), so they cannot deadlock among themselves. An import, which writes
//! orders before it raises the counter, can deadlock with them; the write helper then runs it
//! again.

use crate::db::{execute, row, row_opt, rows, Failure};
use crate::tenants::{lock_sequence, stored_first_bill_id, take_number};
use clickbill_domain::model::{
    BillId, Customer, Delivery, DeliveryStatus, NewOrder, Order, PartnerId, PayStatus, ProductId,
    TenantId, Utm,
};
use clickbill_domain::order::{is_duplicate, OrderEventKind, DUPLICATE_WINDOW_SECONDS};
use clickbill_domain::{
    CreatedOrder, DueTimer, FiredTimers, OrderChange, OrderTime, OrderUpdate, PartnerStats,
    StoreError, TimeWindow,
};
use clickbill_protocol::value::Money;
use clickbill_store_codec::{
    corrupt, decode_extras, decode_items, decode_payments, encode_extras, encode_items,
    encode_payments,
};
use deadpool_postgres::GenericClient;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// Every stored field of an order after `tenant_id` and `bill_id`, in the order of the
/// parameters `$3`… of [`OrderFields::params`] and of the columns `1`… of [`order_from_row`].
macro_rules! order_fields {
    () => {
        "inserted_at, created, email, first_name, last_name, middle_name, phone, country, \
         region, city, address, postalcode, tag, comment, kupon, domain, client_ip, \
         utm_medium, utm_source, utm_campaign, utm_content, utm_term, \
         aff_utm_medium, aff_utm_source, aff_utm_campaign, aff_utm_content, aff_utm_term, \
         pay_status, paid_at, payway, delivery_status, delivery_date, rpo, auto_cancel_at, \
         ext_ref_no, product_prepayment_minsum, items::text, payments::text, extras::text"
    };
}

const FIELD_COUNT: usize = 39;

macro_rules! select_order {
    ($rest:literal) => {
        concat!(
            "SELECT bill_id, ",
            order_fields!(),
            ", deleted, tenant_id FROM orders ",
            $rest
        )
    };
}

pub(crate) const SELECT_ORDER: &str =
    select_order!("WHERE tenant_id = $1 AND bill_id = $2 AND NOT deleted");

/// The order row, locked until the transaction ends.
const SELECT_ORDER_FOR_UPDATE: &str =
    select_order!("WHERE tenant_id = $1 AND bill_id = $2 AND NOT deleted FOR UPDATE");

/// Orders of every tenant, deleted ones included, by key, for copying.
pub(crate) const ORDERS_PAGE: &str =
    select_order!("WHERE (tenant_id, bill_id) > ($1, $2) ORDER BY tenant_id, bill_id LIMIT $3");

const INSERT_ORDER: &str = "INSERT INTO orders (tenant_id, bill_id, inserted_at, created, \
     email, first_name, last_name, middle_name, phone, country, region, city, address, \
     postalcode, tag, comment, kupon, domain, client_ip, utm_medium, utm_source, utm_campaign, \
     utm_content, utm_term, aff_utm_medium, aff_utm_source, aff_utm_campaign, aff_utm_content, \
     aff_utm_term, pay_status, paid_at, payway, delivery_status, delivery_date, rpo, \
     auto_cancel_at, ext_ref_no, product_prepayment_minsum, items, payments, extras, deleted) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
     $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, \
     $37, $38, $39::text::jsonb, $40::text::jsonb, $41::text::jsonb, $42)";

/// `inserted_at` is left out: it records the insertion and never changes. The parameters are
/// those of [`OrderFields::params`] without it, so `$3` is `created`.
const UPDATE_ORDER: &str = "UPDATE orders SET created = $3, email = $4, first_name = $5, \
     last_name = $6, middle_name = $7, phone = $8, country = $9, region = $10, city = $11, \
     address = $12, postalcode = $13, tag = $14, comment = $15, kupon = $16, domain = $17, \
     client_ip = $18, utm_medium = $19, utm_source = $20, utm_campaign = $21, \
     utm_content = $22, utm_term = $23, aff_utm_medium = $24, aff_utm_source = $25, \
     aff_utm_campaign = $26, aff_utm_content = $27, aff_utm_term = $28, pay_status = $29, \
     paid_at = $30, payway = $31, delivery_status = $32, delivery_date = $33, rpo = $34, \
     auto_cancel_at = $35, ext_ref_no = $36, product_prepayment_minsum = $37, \
     items = $38::text::jsonb, payments = $39::text::jsonb, extras = $40::text::jsonb \
     WHERE tenant_id = $1 AND bill_id = $2";

/// The waiting orders of one e-mail inserted after a moment, newest number first; the
/// duplicate rule picks from these.
pub(crate) const SELECT_CANDIDATES: &str = select_order!(
    "WHERE tenant_id = $1 AND email = $2 AND inserted_at > $3 AND NOT deleted \
     AND pay_status = 'waiting' ORDER BY bill_id DESC"
);

/// The values of an order as its statements take them, borrowed from the order where it holds
/// them as stored.
struct OrderFields<'a> {
    tenant: i64,
    bill_id: i64,
    order: &'a Order,
    pay_status: &'static str,
    delivery_status: &'static str,
    prepayment_minsum: Option<i64>,
    items: String,
    payments: String,
    extras: String,
}

impl<'a> OrderFields<'a> {
    fn of(tenant: TenantId, order: &'a Order) -> OrderFields<'a> {
        OrderFields {
            tenant: tenant.0,
            bill_id: order.bill_id.get(),
            order,
            pay_status: order.pay_status.as_str(),
            delivery_status: order.delivery.status.as_str(),
            prepayment_minsum: order.product_prepayment_minsum.map(Money::minor),
            items: encode_items(&order.items),
            payments: encode_payments(&order.payments),
            extras: encode_extras(&order.extras),
        }
    }

    /// The parameters `$1`…`$41` of [`INSERT_ORDER`]: tenant, number, then the fields in the
    /// order of `order_fields!`.
    fn params(&self) -> [&(dyn ToSql + Sync); 2 + FIELD_COUNT] {
        let order = self.order;
        let c = &order.customer;
        [
            &self.tenant,
            &self.bill_id,
            &order.inserted_at,
            &order.created,
            &c.email,
            &c.first_name,
            &c.last_name,
            &c.middle_name,
            &c.phone,
            &c.country,
            &c.region,
            &c.city,
            &c.address,
            &c.postalcode,
            &order.tag,
            &order.comment,
            &order.kupon,
            &order.domain,
            &order.client_ip,
            &order.utm.medium,
            &order.utm.source,
            &order.utm.campaign,
            &order.utm.content,
            &order.utm.term,
            &order.aff_utm.medium,
            &order.aff_utm.source,
            &order.aff_utm.campaign,
            &order.aff_utm.content,
            &order.aff_utm.term,
            &self.pay_status,
            &order.paid_at,
            &order.payway,
            &self.delivery_status,
            &order.delivery.date,
            &order.delivery.rpo,
            &order.auto_cancel_at,
            &order.ext_ref_no,
            &self.prepayment_minsum,
            &self.items,
            &self.payments,
            &self.extras,
        ]
    }
}

/// A row of `select_order!`: the order, whether it is deleted, and its tenant.
pub(crate) fn order_from_row(row: &Row) -> Result<(Order, bool, TenantId), Failure> {
    let mut next_index = 0usize;
    let mut col = || {
        next_index += 1;
        next_index - 1
    };
    macro_rules! get {
        () => {
            row.try_get(col())?
        };
    }
    let bill_id = BillId::new(get!()).ok_or_else(|| corrupt("bill id"))?;
    let inserted_at = get!();
    let created = get!();
    let customer = Customer {
        email: get!(),
        first_name: get!(),
        last_name: get!(),
        middle_name: get!(),
        phone: get!(),
        country: get!(),
        region: get!(),
        city: get!(),
        address: get!(),
        postalcode: get!(),
    };
    let tag = get!();
    let comment = get!();
    let kupon = get!();
    let domain = get!();
    let client_ip = get!();
    let utm = Utm {
        medium: get!(),
        source: get!(),
        campaign: get!(),
        content: get!(),
        term: get!(),
    };
    let aff_utm = Utm {
        medium: get!(),
        source: get!(),
        campaign: get!(),
        content: get!(),
        term: get!(),
    };
    let pay_status: String = get!();
    let paid_at = get!();
    let payway = get!();
    let delivery_status: String = get!();
    let delivery = Delivery {
        status: DeliveryStatus::parse(&delivery_status)
            .ok_or_else(|| corrupt("delivery status"))?,
        date: get!(),
        rpo: get!(),
    };
    let auto_cancel_at = get!();
    let ext_ref_no = get!();
    let prepayment_minsum: Option<i64> = get!();
    let items: String = get!();
    let payments: String = get!();
    let extras: String = get!();
    let deleted: bool = get!();
    let tenant = TenantId(get!());
    debug_assert_eq!(col(), 3 + FIELD_COUNT);
    let order = Order {
        bill_id,
        customer,
        created,
        inserted_at,
        tag,
        comment,
        kupon,
        domain,
        client_ip,
        utm,
        aff_utm,
        pay_status: PayStatus::parse(&pay_status).ok_or_else(|| corrupt("pay status"))?,
        paid_at,
        payway,
        payments: decode_payments(&payments)?,
        delivery,
        auto_cancel_at,
        ext_ref_no,
        product_prepayment_minsum: prepayment_minsum.map(Money::from_minor),
        items: decode_items(&items)?,
        extras: decode_extras(&extras)?,
    };
    Ok((order, deleted, tenant))
}

fn orders_from_rows(rows: Vec<Row>) -> Result<Vec<Order>, Failure> {
    rows.iter()
        .map(|row| order_from_row(row).map(|(order, _, _)| order))
        .collect()
}

pub(crate) async fn order<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    bill_id: BillId,
) -> Result<Option<Order>, Failure> {
    let found = row_opt(client, SELECT_ORDER, &[&tenant.0, &bill_id.get()]).await?;
    Ok(found
        .as_ref()
        .map(order_from_row)
        .transpose()?
        .map(|(order, _, _)| order))
}

/// The highest-numbered live order that makes `candidate` a duplicate at `now`.
async fn duplicate_of<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    candidate: &NewOrder,
    now: i64,
) -> Result<Option<BillId>, Failure> {
    let since = now.saturating_sub(DUPLICATE_WINDOW_SECONDS);
    let candidates = rows(
        client,
        SELECT_CANDIDATES,
        &[&tenant.0, &candidate.customer.email, &since],
    )
    .await?;
    for row in &candidates {
        let (existing, _, _) = order_from_row(row)?;
        if is_duplicate(&existing, candidate, now) {
            return Ok(Some(existing.bill_id));
        }
    }
    Ok(None)
}

pub(crate) async fn create<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    first_bill_id: i64,
    new: NewOrder,
    now: i64,
) -> Result<CreatedOrder, Failure> {
    // The caller's tenant may come from a cache that predates a change of `first_bill_id`, so
    // the stored value counts too; both are lower bounds and gaps are allowed.
    let stored = stored_first_bill_id(client, tenant)
        .await?
        .ok_or_else(|| StoreError::Backend(format!("no tenant with id {}", tenant.0)))?;
    let floor = first_bill_id.max(stored).max(1);
    // The lock comes before the duplicate check: whoever held it before has committed, and
    // under READ COMMITTED the next statement sees that order.
    lock_sequence(client, tenant, "bill", floor).await?;
    if let Some(existing) = duplicate_of(client, tenant, &new, now).await? {
        return Ok(CreatedOrder::Duplicate(existing));
    }
    let number = take_number(client, tenant, "bill", floor).await?;
    let bill_id = BillId::new(number).ok_or_else(|| corrupt("bill counter"))?;
    let (order, events) = Order::from_new(bill_id, new, now);
    insert(client, tenant, &order, false).await?;
    if events.contains(&OrderEventKind::Paid) {
        crate::contacts::buyer_joins_client_groups(client, tenant, &order, now).await?;
    }
    for kind in events {
        record_event(client, tenant, bill_id, kind, now).await?;
        crate::outbox::enqueue_order_event(client, tenant, kind, &order).await?;
    }
    Ok(CreatedOrder::Created(bill_id))
}

/// Writes an order under its number with its product and partner-fee index rows; a deleted
/// order stays out of the product index, as [`delete`] leaves it.
pub(crate) async fn insert<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    order: &Order,
    deleted: bool,
) -> Result<(), Failure> {
    let fields = OrderFields::of(tenant, order);
    let mut params = fields.params().to_vec();
    params.push(&deleted);
    execute(client, INSERT_ORDER, &params).await?;
    if !deleted {
        index_products(client, tenant, order).await?;
    }
    index_partner_fees(client, tenant, order).await?;
    Ok(())
}

/// The change waiting to be run by [`update`]. It is taken out when it runs: `update` runs
/// under the order's row lock in READ COMMITTED, where PostgreSQL raises no serialization
/// failure and the fixed lock order rules out deadlocks, so a retry never needs it again. Should
/// one come anyway (a database that runs every transaction SERIALIZABLE), the retry reports a
/// failure instead of applying a change whose first result it cannot know.
pub(crate) type PendingChange = Arc<Mutex<Option<OrderChange>>>;

/// The order is written only after `change` succeeded, so a refusal leaves no trace even when
/// the closure had already modified its copy.
pub(crate) async fn update<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    bill_id: BillId,
    change: PendingChange,
    now: i64,
) -> Result<OrderUpdate, Failure> {
    let found = row_opt(
        client,
        SELECT_ORDER_FOR_UPDATE,
        &[&tenant.0, &bill_id.get()],
    )
    .await?;
    let Some((mut order, _, _)) = found.as_ref().map(order_from_row).transpose()? else {
        return Ok(OrderUpdate::NotFound);
    };
    let taken = change.lock().map(|mut slot| slot.take()).unwrap_or(None);
    let Some(change) = taken else {
        return Err(StoreError::Backend(format!(
            "order {bill_id}: the change was interrupted after it ran and cannot run again"
        ))
        .into());
    };
    let products_before = product_ids(&order);
    let fees_before = partner_fees(&order);
    let events = match change(&mut order) {
        Ok(events) => events,
        Err(refusal) => return Ok(OrderUpdate::Refused(refusal)),
    };
    let fields = OrderFields::of(tenant, &order);
    let all = fields.params();
    let without_inserted_at: Vec<_> = all[..2].iter().chain(&all[3..]).copied().collect();
    execute(client, UPDATE_ORDER, &without_inserted_at).await?;
    if product_ids(&order) != products_before {
        unindex_products(client, tenant, bill_id).await?;
        index_products(client, tenant, &order).await?;
    }
    if partner_fees(&order) != fees_before {
        unindex_partner_fees(client, tenant, bill_id).await?;
        index_partner_fees(client, tenant, &order).await?;
    }
    if events.contains(&OrderEventKind::Paid) {
        crate::contacts::buyer_joins_client_groups(client, tenant, &order, now).await?;
    }
    for kind in &events {
        record_event(client, tenant, bill_id, *kind, now).await?;
        crate::outbox::enqueue_order_event(client, tenant, *kind, &order).await?;
    }
    Ok(OrderUpdate::Applied(events))
}

pub(crate) async fn delete<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    bill_id: BillId,
) -> Result<bool, Failure> {
    let changed = execute(
        client,
        "UPDATE orders SET deleted = TRUE, auto_cancel_at = NULL \
         WHERE tenant_id = $1 AND bill_id = $2 AND NOT deleted",
        &[&tenant.0, &bill_id.get()],
    )
    .await?;
    if changed == 0 {
        return Ok(false);
    }
    unindex_products(client, tenant, bill_id).await?;
    Ok(true)
}

fn product_ids(order: &Order) -> Vec<ProductId> {
    let mut ids: Vec<ProductId> = order.items.iter().map(|i| i.product_id).collect();
    ids.sort();
    ids.dedup();
    ids
}

async fn index_products<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    order: &Order,
) -> Result<(), Failure> {
    let ids: Vec<i64> = product_ids(order).into_iter().map(|p| p.0).collect();
    execute(
        client,
        "INSERT INTO order_products (tenant_id, product_id, bill_id) \
         SELECT $1, product_id, $2 FROM unnest($3::bigint[]) AS product_id",
        &[&tenant.0, &order.bill_id.get(), &ids],
    )
    .await?;
    Ok(())
}

async fn unindex_products<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    bill_id: BillId,
) -> Result<(), Failure> {
    execute(
        client,
        "DELETE FROM order_products WHERE tenant_id = $1 AND bill_id = $2",
        &[&tenant.0, &bill_id.get()],
    )
    .await?;
    Ok(())
}

/// Each partner's fee on the order: the sum of its entries over all items. A partner whose
/// entries are all 0.00 is still listed, since the order counts among its bills.
fn partner_fees(order: &Order) -> BTreeMap<PartnerId, Money> {
    let mut fees = BTreeMap::new();
    for entry in order.items.iter().flat_map(|item| &item.partners) {
        let fee = fees.entry(entry.partner_id).or_insert(Money::ZERO);
        *fee = *fee + entry.fee;
    }
    fees
}

async fn index_partner_fees<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    order: &Order,
) -> Result<(), Failure> {
    let (partners, fees): (Vec<i64>, Vec<i64>) = partner_fees(order)
        .into_iter()
        .map(|(partner, fee)| (partner.0, fee.minor()))
        .unzip();
    execute(
        client,
        "INSERT INTO order_partner_fees (tenant_id, partner_id, bill_id, fee) \
         SELECT $1, partner_id, $2, fee FROM unnest($3::bigint[], $4::bigint[]) \
         AS entry (partner_id, fee)",
        &[&tenant.0, &order.bill_id.get(), &partners, &fees],
    )
    .await?;
    Ok(())
}

async fn unindex_partner_fees<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    bill_id: BillId,
) -> Result<(), Failure> {
    execute(
        client,
        "DELETE FROM order_partner_fees WHERE tenant_id = $1 AND bill_id = $2",
        &[&tenant.0, &bill_id.get()],
    )
    .await?;
    Ok(())
}

/// The event id comes from a sequence: unique across tenants, taken without waiting for any
/// other transaction.
async fn record_event<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    bill_id: BillId,
    kind: OrderEventKind,
    at: i64,
) -> Result<(), Failure> {
    execute(
        client,
        "INSERT INTO order_events (tenant_id, id, bill_id, kind, at) \
         VALUES ($1, nextval('event_ids'), $2, $3, $4)",
        &[&tenant.0, &bill_id.get(), &kind.as_str(), &at],
    )
    .await?;
    Ok(())
}

/// The bounds of `window` for `BETWEEN`, an open side taken as the farthest time.
fn bounds(window: TimeWindow) -> (i64, i64) {
    (
        window.from.unwrap_or(i64::MIN),
        window.to.unwrap_or(i64::MAX),
    )
}

pub(crate) const SELECT_CREATED_IN_WINDOW: &str = select_order!(
    "WHERE tenant_id = $1 AND created BETWEEN $2 AND $3 AND NOT deleted ORDER BY bill_id"
);

pub(crate) const SELECT_PAID_IN_WINDOW: &str = select_order!(
    "WHERE tenant_id = $1 AND paid_at BETWEEN $2 AND $3 AND NOT deleted \
     AND pay_status = 'paid' ORDER BY bill_id"
);

/// `$3` NULL selects every status.
pub(crate) const SELECT_BY_EMAIL: &str = select_order!(
    "WHERE tenant_id = $1 AND email = $2 AND NOT deleted \
     AND ($3::text IS NULL OR pay_status = $3) ORDER BY bill_id"
);

pub(crate) async fn in_window<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    time: OrderTime,
    window: TimeWindow,
) -> Result<Vec<Order>, Failure> {
    let sql = match time {
        OrderTime::Created => SELECT_CREATED_IN_WINDOW,
        OrderTime::Paid => SELECT_PAID_IN_WINDOW,
    };
    let (from, to) = bounds(window);
    orders_from_rows(rows(client, sql, &[&tenant.0, &from, &to]).await?)
}

pub(crate) async fn by_email<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    email: &str,
    status: Option<PayStatus>,
) -> Result<Vec<Order>, Failure> {
    let status = status.map(PayStatus::as_str);
    orders_from_rows(rows(client, SELECT_BY_EMAIL, &[&tenant.0, &email, &status]).await?)
}

/// The partial index holds the timers in the order the sweep takes them, so the statement
/// reads no more index entries than it returns. `SKIP LOCKED` hands each concurrent sweep
/// (another replica's, say) orders no other sweep holds, instead of making it wait for them;
/// a row whose timer another sweep fired meanwhile is rechecked after its lock and left out.
pub(crate) const SELECT_DUE_AUTO_CANCELS: &str = "SELECT tenant_id, bill_id FROM orders \
     WHERE auto_cancel_at IS NOT NULL AND auto_cancel_at <= $1 AND NOT deleted \
     ORDER BY auto_cancel_at, tenant_id, bill_id LIMIT $2 FOR UPDATE SKIP LOCKED";

/// Takes and fires the due timers in the caller's transaction; the rows stay locked until it
/// ends, so the timers are gone for every other sweep by the time they can see the rows again.
pub(crate) async fn fire_due_auto_cancels<C: GenericClient>(
    client: &C,
    now: i64,
    limit: usize,
) -> Result<FiredTimers, Failure> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let found = rows(client, SELECT_DUE_AUTO_CANCELS, &[&now, &limit]).await?;
    let mut fired = FiredTimers {
        taken: found.len(),
        cancelled: Vec::new(),
    };
    for row in &found {
        let tenant = TenantId(row.try_get(0)?);
        let bill_id = BillId::new(row.try_get(1)?).ok_or_else(|| corrupt("bill id"))?;
        let fire: OrderChange = Box::new(move |order| Ok(order.fire_auto_cancel(now)));
        let outcome = update(
            client,
            tenant,
            bill_id,
            Arc::new(Mutex::new(Some(fire))),
            now,
        )
        .await?;
        if matches!(outcome, OrderUpdate::Applied(ref events) if !events.is_empty()) {
            fired.cancelled.push(DueTimer { tenant, bill_id });
        }
    }
    Ok(fired)
}

/// Earnings come from the fee index joined with each order's current state, sub-partners from
/// the partners' parent index; one statement, so both see one snapshot.
pub(crate) const SELECT_PARTNER_STATS: &str = "SELECT coalesce(sum(f.fee), 0)::bigint, count(*), \
     (SELECT count(*) FROM partners \
      WHERE tenant_id = $1 AND parent_id = $2 AND registered_at BETWEEN $3 AND $4), \
     (SELECT count(*) FROM contacts \
      WHERE tenant_id = $1 AND partner_id = $2 AND created_at BETWEEN $3 AND $4) \
     FROM order_partner_fees f JOIN orders o \
     ON o.tenant_id = f.tenant_id AND o.bill_id = f.bill_id \
     WHERE f.tenant_id = $1 AND f.partner_id = $2 AND NOT o.deleted \
     AND o.pay_status = 'paid' AND o.paid_at BETWEEN $3 AND $4";

pub(crate) async fn partner_stats<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    partner: PartnerId,
    window: TimeWindow,
) -> Result<PartnerStats, Failure> {
    let (from, to) = bounds(window);
    let found = row(
        client,
        SELECT_PARTNER_STATS,
        &[&tenant.0, &partner.0, &from, &to],
    )
    .await?;
    let count = |n: i64| u64::try_from(n).map_err(|_| corrupt("partner statistics"));
    Ok(PartnerStats {
        earned: Money::from_minor(found.try_get(0)?),
        bills: count(found.try_get(1)?)?,
        sub_partners: count(found.try_get(2)?)?,
        leads: count(found.try_get(3)?)?,
    })
}

/// An event row of `order_events`, as the outbox holds it.
pub(crate) const EVENTS_PAGE: &str = "SELECT id, tenant_id, bill_id, kind, at FROM order_events \
     WHERE id > $1 ORDER BY id LIMIT $2";

/// Writes an event under its id.
pub(crate) async fn insert_event<C: GenericClient>(
    client: &C,
    id: i64,
    tenant: TenantId,
    bill_id: BillId,
    kind: OrderEventKind,
    at: i64,
) -> Result<(), Failure> {
    execute(
        client,
        "INSERT INTO order_events (tenant_id, id, bill_id, kind, at) VALUES ($1, $2, $3, $4, $5)",
        &[&tenant.0, &id, &bill_id.get(), &kind.as_str(), &at],
    )
    .await?;
    Ok(())
}
