//! Orders, their product and partner-fee indexes, their events and the listings over them.

use crate::codec::{
    corrupt, decode_extras, decode_items, decode_payments, encode_extras, encode_items,
    encode_payments,
};
use crate::db_error;
use crate::tenants::{stored_first_bill_id, take_number};
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
use rusqlite::types::ToSql;
use rusqlite::{params, Connection, Row};
use std::collections::BTreeMap;

/// Every stored field of an order after `tenant_id` and `bill_id`, in the order of the
/// parameters `?3`… of [`with_order_params`] and of the columns `1`… of [`order_from_row`].
macro_rules! order_fields {
    () => {
        "inserted_at, created, email, first_name, last_name, middle_name, phone, country, \
         region, city, address, postalcode, tag, comment, kupon, domain, client_ip, \
         utm_medium, utm_source, utm_campaign, utm_content, utm_term, \
         aff_utm_medium, aff_utm_source, aff_utm_campaign, aff_utm_content, aff_utm_term, \
         pay_status, paid_at, payway, delivery_status, delivery_date, rpo, auto_cancel_at, \
         ext_ref_no, product_prepayment_minsum, items, payments, extras"
    };
}
pub(crate) use order_fields;

const FIELD_COUNT: usize = 39;

pub(crate) const SELECT_ORDER: &str = concat!(
    "SELECT bill_id, ",
    order_fields!(),
    " FROM orders WHERE tenant_id = ?1 AND bill_id = ?2 AND deleted = 0"
);

pub(crate) const INSERT_ORDER: &str = concat!(
    "INSERT INTO orders (tenant_id, bill_id, ",
    order_fields!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
     ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, \
     ?37, ?38, ?39, ?40, ?41)"
);

/// `inserted_at` (`?3`) is left out: it records the insertion and never changes.
pub(crate) const UPDATE_ORDER: &str =
    "UPDATE orders SET created = ?4, email = ?5, first_name = ?6, \
     last_name = ?7, middle_name = ?8, phone = ?9, country = ?10, region = ?11, city = ?12, \
     address = ?13, postalcode = ?14, tag = ?15, comment = ?16, kupon = ?17, domain = ?18, \
     client_ip = ?19, utm_medium = ?20, utm_source = ?21, utm_campaign = ?22, \
     utm_content = ?23, utm_term = ?24, aff_utm_medium = ?25, aff_utm_source = ?26, \
     aff_utm_campaign = ?27, aff_utm_content = ?28, aff_utm_term = ?29, pay_status = ?30, \
     paid_at = ?31, payway = ?32, delivery_status = ?33, delivery_date = ?34, rpo = ?35, \
     auto_cancel_at = ?36, ext_ref_no = ?37, product_prepayment_minsum = ?38, items = ?39, \
     payments = ?40, extras = ?41 WHERE tenant_id = ?1 AND bill_id = ?2";

/// The waiting orders of one e-mail inserted after a moment, newest number first; the
/// duplicate rule picks from these.
pub(crate) const SELECT_CANDIDATES: &str = concat!(
    "SELECT bill_id, ",
    order_fields!(),
    " FROM orders WHERE tenant_id = ?1 AND email = ?2 AND inserted_at > ?3 AND deleted = 0 \
     AND pay_status = 'waiting' ORDER BY bill_id DESC"
);

/// Calls `f` with the 41 parameters of [`INSERT_ORDER`] and [`UPDATE_ORDER`], borrowed from
/// `order` rather than copied.
pub(crate) fn with_order_params<R>(
    tenant: TenantId,
    bill_id: BillId,
    order: &Order,
    f: impl FnOnce(&[&dyn ToSql]) -> R,
) -> R {
    let c = &order.customer;
    let items = encode_items(&order.items);
    let payments = encode_payments(&order.payments);
    let extras = encode_extras(&order.extras);
    let prepayment_minsum = order.product_prepayment_minsum.map(Money::minor);
    let values: [&dyn ToSql; 2 + FIELD_COUNT] = [
        &tenant.0,
        &bill_id.get(),
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
        &order.pay_status.as_str(),
        &order.paid_at,
        &order.payway,
        &order.delivery.status.as_str(),
        &order.delivery.date,
        &order.delivery.rpo,
        &order.auto_cancel_at,
        &order.ext_ref_no,
        &prepayment_minsum,
        &items,
        &payments,
        &extras,
    ];
    f(&values)
}

pub(crate) fn order_from_row(row: &Row<'_>) -> Result<Order, StoreError> {
    let mut next_index = 0usize;
    let mut col = || {
        next_index += 1;
        next_index - 1
    };
    macro_rules! get {
        () => {
            row.get(col()).map_err(db_error)?
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
    debug_assert_eq!(col(), 1 + FIELD_COUNT);
    Ok(Order {
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
    })
}

pub(crate) fn order(
    conn: &Connection,
    tenant: TenantId,
    bill_id: BillId,
) -> Result<Option<Order>, StoreError> {
    let mut stmt = conn.prepare_cached(SELECT_ORDER).map_err(db_error)?;
    let mut rows = stmt
        .query(params![tenant.0, bill_id.get()])
        .map_err(db_error)?;
    match rows.next().map_err(db_error)? {
        Some(row) => order_from_row(row).map(Some),
        None => Ok(None),
    }
}

/// The highest-numbered live order that makes `candidate` a duplicate at `now`.
fn duplicate_of(
    conn: &Connection,
    tenant: TenantId,
    candidate: &NewOrder,
    now: i64,
) -> Result<Option<BillId>, StoreError> {
    let mut stmt = conn.prepare_cached(SELECT_CANDIDATES).map_err(db_error)?;
    let mut rows = stmt
        .query(params![
            tenant.0,
            candidate.customer.email,
            now.saturating_sub(DUPLICATE_WINDOW_SECONDS)
        ])
        .map_err(db_error)?;
    while let Some(row) = rows.next().map_err(db_error)? {
        let existing = order_from_row(row)?;
        if is_duplicate(&existing, candidate, now) {
            return Ok(Some(existing.bill_id));
        }
    }
    Ok(None)
}

pub(crate) fn create(
    conn: &Connection,
    tenant: TenantId,
    first_bill_id: i64,
    new: NewOrder,
    now: i64,
) -> Result<CreatedOrder, StoreError> {
    if let Some(existing) = duplicate_of(conn, tenant, &new, now)? {
        return Ok(CreatedOrder::Duplicate(existing));
    }
    // The caller's tenant may come from a cache that predates a change of `first_bill_id`, so
    // the stored value counts too; both are lower bounds and gaps are allowed.
    let stored = stored_first_bill_id(conn, tenant)?
        .ok_or_else(|| StoreError::Backend(format!("no tenant with id {}", tenant.0)))?;
    let floor = first_bill_id.max(stored).max(1);
    let number = take_number(conn, tenant, "bill", floor)?;
    let bill_id = BillId::new(number).ok_or_else(|| corrupt("bill counter"))?;
    let (order, events) = Order::from_new(bill_id, new, now);
    with_order_params(tenant, bill_id, &order, |values| {
        conn.prepare_cached(INSERT_ORDER)
            .and_then(|mut s| s.execute(values))
    })
    .map_err(db_error)?;
    index_products(conn, tenant, bill_id, &order)?;
    index_partner_fees(conn, tenant, bill_id, &order)?;
    if events.contains(&OrderEventKind::Paid) {
        crate::contacts::buyer_joins_client_groups(conn, tenant, &order, now)?;
    }
    for kind in events {
        record_event(conn, tenant, bill_id, kind, now)?;
        crate::outbox::enqueue_order_event(conn, tenant, kind, &order)?;
    }
    Ok(CreatedOrder::Created(bill_id))
}

/// The order is written only after `change` succeeded, so a refusal leaves no trace even when
/// the closure had already modified its copy.
pub(crate) fn update(
    conn: &Connection,
    tenant: TenantId,
    bill_id: BillId,
    change: OrderChange,
    now: i64,
) -> Result<OrderUpdate, StoreError> {
    let Some(mut order) = order(conn, tenant, bill_id)? else {
        return Ok(OrderUpdate::NotFound);
    };
    let products_before = product_ids(&order);
    let fees_before = partner_fees(&order);
    let events = match change(&mut order) {
        Ok(events) => events,
        Err(refusal) => return Ok(OrderUpdate::Refused(refusal)),
    };
    with_order_params(tenant, bill_id, &order, |values| {
        conn.prepare_cached(UPDATE_ORDER)
            .and_then(|mut s| s.execute(values))
    })
    .map_err(db_error)?;
    if product_ids(&order) != products_before {
        unindex_products(conn, tenant, bill_id)?;
        index_products(conn, tenant, bill_id, &order)?;
    }
    if partner_fees(&order) != fees_before {
        unindex_partner_fees(conn, tenant, bill_id)?;
        index_partner_fees(conn, tenant, bill_id, &order)?;
    }
    if events.contains(&OrderEventKind::Paid) {
        crate::contacts::buyer_joins_client_groups(conn, tenant, &order, now)?;
    }
    for kind in &events {
        record_event(conn, tenant, bill_id, *kind, now)?;
        crate::outbox::enqueue_order_event(conn, tenant, *kind, &order)?;
    }
    Ok(OrderUpdate::Applied(events))
}

pub(crate) fn delete(
    conn: &Connection,
    tenant: TenantId,
    bill_id: BillId,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE orders SET deleted = 1, auto_cancel_at = NULL \
             WHERE tenant_id = ?1 AND bill_id = ?2 AND deleted = 0",
        )
        .and_then(|mut s| s.execute(params![tenant.0, bill_id.get()]))
        .map_err(db_error)?;
    if changed == 0 {
        return Ok(false);
    }
    unindex_products(conn, tenant, bill_id)?;
    Ok(true)
}

fn product_ids(order: &Order) -> Vec<ProductId> {
    let mut ids: Vec<ProductId> = order.items.iter().map(|i| i.product_id).collect();
    ids.sort();
    ids.dedup();
    ids
}

pub(crate) fn index_products(
    conn: &Connection,
    tenant: TenantId,
    bill_id: BillId,
    order: &Order,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO order_products (tenant_id, product_id, bill_id) \
             VALUES (?1, ?2, ?3)",
        )
        .map_err(db_error)?;
    for item in &order.items {
        stmt.execute(params![tenant.0, item.product_id.0, bill_id.get()])
            .map_err(db_error)?;
    }
    Ok(())
}

fn unindex_products(
    conn: &Connection,
    tenant: TenantId,
    bill_id: BillId,
) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM order_products WHERE tenant_id = ?1 AND bill_id = ?2")
        .and_then(|mut s| s.execute(params![tenant.0, bill_id.get()]))
        .map_err(db_error)?;
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

pub(crate) fn index_partner_fees(
    conn: &Connection,
    tenant: TenantId,
    bill_id: BillId,
    order: &Order,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO order_partner_fees (tenant_id, partner_id, bill_id, fee) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(db_error)?;
    for (partner, fee) in partner_fees(order) {
        stmt.execute(params![tenant.0, partner.0, bill_id.get(), fee.minor()])
            .map_err(db_error)?;
    }
    Ok(())
}

fn unindex_partner_fees(
    conn: &Connection,
    tenant: TenantId,
    bill_id: BillId,
) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM order_partner_fees WHERE tenant_id = ?1 AND bill_id = ?2")
        .and_then(|mut s| s.execute(params![tenant.0, bill_id.get()]))
        .map_err(db_error)?;
    Ok(())
}

fn record_event(
    conn: &Connection,
    tenant: TenantId,
    bill_id: BillId,
    kind: OrderEventKind,
    at: i64,
) -> Result<(), StoreError> {
    let id: i64 = conn
        .prepare_cached(
            "UPDATE meta SET value = value + 1 WHERE key = 'next_event_id' RETURNING value - 1",
        )
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(db_error)?;
    conn.prepare_cached(
        "INSERT INTO order_events (tenant_id, id, bill_id, kind, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute(params![tenant.0, id, bill_id.get(), kind.as_str(), at]))
    .map_err(db_error)?;
    Ok(())
}

/// The bounds of `window` for `BETWEEN`, an open side taken as the farthest time.
fn bounds(window: TimeWindow) -> (i64, i64) {
    (
        window.from.unwrap_or(i64::MIN),
        window.to.unwrap_or(i64::MAX),
    )
}

pub(crate) const SELECT_CREATED_IN_WINDOW: &str = concat!(
    "SELECT bill_id, ",
    order_fields!(),
    " FROM orders WHERE tenant_id = ?1 AND created BETWEEN ?2 AND ?3 AND deleted = 0 \
     ORDER BY bill_id"
);

pub(crate) const SELECT_PAID_IN_WINDOW: &str = concat!(
    "SELECT bill_id, ",
    order_fields!(),
    " FROM orders WHERE tenant_id = ?1 AND paid_at BETWEEN ?2 AND ?3 AND deleted = 0 \
     AND pay_status = 'paid' ORDER BY bill_id"
);

/// `?3` NULL selects every status. Left to itself the planner walks all of the tenant's orders
/// in `bill_id` order to save a sort; one customer's orders are few, so seek them and sort.
pub(crate) const SELECT_BY_EMAIL: &str = concat!(
    "SELECT bill_id, ",
    order_fields!(),
    " FROM orders INDEXED BY orders_email WHERE tenant_id = ?1 AND email = ?2 AND deleted = 0 \
     AND (?3 IS NULL OR pay_status = ?3) ORDER BY bill_id"
);

/// `auto_cancel_at <= ?1` implies the partial index's `auto_cancel_at IS NOT NULL`; the index
/// holds the primary key after the time, so ties come out in (tenant, bill) order unsorted.
pub(crate) const SELECT_DUE_AUTO_CANCELS: &str = "SELECT tenant_id, bill_id FROM orders \
     WHERE auto_cancel_at <= ?1 AND deleted = 0 \
     ORDER BY auto_cancel_at, tenant_id, bill_id LIMIT ?2";

fn collect_orders(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Order>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_error)?;
    let mut rows = stmt.query(params).map_err(db_error)?;
    let mut orders = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        orders.push(order_from_row(row)?);
    }
    Ok(orders)
}

pub(crate) fn in_window(
    conn: &Connection,
    tenant: TenantId,
    time: OrderTime,
    window: TimeWindow,
) -> Result<Vec<Order>, StoreError> {
    let sql = match time {
        OrderTime::Created => SELECT_CREATED_IN_WINDOW,
        OrderTime::Paid => SELECT_PAID_IN_WINDOW,
    };
    let (from, to) = bounds(window);
    collect_orders(conn, sql, params![tenant.0, from, to])
}

pub(crate) fn by_email(
    conn: &Connection,
    tenant: TenantId,
    email: &str,
    status: Option<PayStatus>,
) -> Result<Vec<Order>, StoreError> {
    collect_orders(
        conn,
        SELECT_BY_EMAIL,
        params![tenant.0, email, status.map(PayStatus::as_str)],
    )
}

/// Runs as one job of the writer thread, the database's only writer, so no other sweep can take
/// the same orders meanwhile.
pub(crate) fn fire_due_auto_cancels(
    conn: &Connection,
    now: i64,
    limit: usize,
) -> Result<FiredTimers, StoreError> {
    let due = due_auto_cancels(conn, now, limit)?;
    let mut fired = FiredTimers {
        taken: due.len(),
        cancelled: Vec::new(),
    };
    for timer in due {
        let fire: OrderChange = Box::new(move |order| Ok(order.fire_auto_cancel(now)));
        let outcome = update(conn, timer.tenant, timer.bill_id, fire, now)?;
        if matches!(outcome, OrderUpdate::Applied(ref events) if !events.is_empty()) {
            fired.cancelled.push(timer);
        }
    }
    Ok(fired)
}

fn due_auto_cancels(
    conn: &Connection,
    now: i64,
    limit: usize,
) -> Result<Vec<DueTimer>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached(SELECT_DUE_AUTO_CANCELS)
        .map_err(db_error)?;
    let mut rows = stmt.query(params![now, limit]).map_err(db_error)?;
    let mut due = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        let tenant = TenantId(row.get(0).map_err(db_error)?);
        let bill_id =
            BillId::new(row.get(1).map_err(db_error)?).ok_or_else(|| corrupt("bill id"))?;
        due.push(DueTimer { tenant, bill_id });
    }
    Ok(due)
}

/// Earnings come from the fee index joined with each order's current state, sub-partners from
/// the partners' parent index; one statement, so both see one snapshot. `CROSS JOIN` keeps the
/// partner's fee rows as the outer loop: the planner would otherwise walk every paid order of
/// the window and probe the fees of each.
pub(crate) const SELECT_PARTNER_STATS: &str = "SELECT coalesce(sum(f.fee), 0), count(*), \
     (SELECT count(*) FROM partners \
      WHERE tenant_id = ?1 AND parent_id = ?2 AND registered_at BETWEEN ?3 AND ?4), \
     (SELECT count(*) FROM contacts \
      WHERE tenant_id = ?1 AND partner_id = ?2 AND created_at BETWEEN ?3 AND ?4) \
     FROM order_partner_fees f CROSS JOIN orders o \
     ON o.tenant_id = f.tenant_id AND o.bill_id = f.bill_id \
     WHERE f.tenant_id = ?1 AND f.partner_id = ?2 AND o.deleted = 0 AND o.pay_status = 'paid' \
     AND o.paid_at BETWEEN ?3 AND ?4";

pub(crate) fn partner_stats(
    conn: &Connection,
    tenant: TenantId,
    partner: PartnerId,
    window: TimeWindow,
) -> Result<PartnerStats, StoreError> {
    let (from, to) = bounds(window);
    let (earned, bills, sub_partners, leads): (i64, i64, i64, i64) = conn
        .prepare_cached(SELECT_PARTNER_STATS)
        .and_then(|mut s| {
            s.query_row(params![tenant.0, partner.0, from, to], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
        })
        .map_err(db_error)?;
    let count = |n: i64| u64::try_from(n).map_err(|_| corrupt("partner statistics"));
    Ok(PartnerStats {
        earned: Money::from_minor(earned),
        bills: count(bills)?,
        sub_partners: count(sub_partners)?,
        leads: count(leads)?,
    })
}
