//! [`Transfer`] for the embedded store: each collection's rows in key order, and imports that
//! keep ids, write the index rows the store derives from them and keep every number sequence
//! above the ids written.

use crate::catalogue::{
    coupon_from_row, manager_from_row, partner_from_row, product_from_row, product_params,
    select_coupon, select_product,
};
use crate::codec::corrupt;
use crate::contacts;
use crate::orders::{
    index_partner_fees, index_products, order_fields, order_from_row, with_order_params,
    INSERT_ORDER,
};
use crate::tenants::{insert_domains, keep_number, select_tenant, tenant_from_row};
use crate::{db_error, outbox, SqliteStore};
use async_trait::async_trait;
use clickbill_domain::model::{
    BillId, Coupon, Discount, Manager, Order, Partner, PartnerId, Product, Tenant, TenantId,
};
use clickbill_domain::order::OrderEventKind;
use clickbill_domain::outbox::{AttemptRecord, DeliveryInfo};
use clickbill_domain::transfer::{Collection, Key, Record, StoredEvent, Transfer};
use clickbill_domain::StoreError;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

const EXPORT_TENANTS: &str =
    select_tenant!("FROM tenants t WHERE t.id > ?1 ORDER BY t.id LIMIT ?2");

/// `tenant_id` and `deleted` follow the product's columns.
const EXPORT_PRODUCTS: &str = select_product!(
    ", tenant_id, deleted",
    "WHERE (tenant_id, id) > (?1, ?2) ORDER BY tenant_id, id LIMIT ?3"
);
const PRODUCT_TENANT: usize = 19;

const EXPORT_COUPONS: &str = select_coupon!(
    ", c.tenant_id",
    "WHERE (c.tenant_id, c.id) > (?1, ?2) ORDER BY c.tenant_id, c.id LIMIT ?3"
);
const COUPON_TENANT: usize = 7;

const EXPORT_PARTNERS: &str = "SELECT id, login, parent_id, registered_at, tenant_id \
     FROM partners WHERE (tenant_id, id) > (?1, ?2) ORDER BY tenant_id, id LIMIT ?3";
const PARTNER_TENANT: usize = 4;

const EXPORT_MANAGERS: &str = "SELECT id, name, tenant_id FROM managers \
     WHERE (tenant_id, id) > (?1, ?2) ORDER BY tenant_id, id LIMIT ?3";
const MANAGER_TENANT: usize = 2;

/// `tenant_id` and `deleted` follow the columns `order_from_row` reads.
const EXPORT_ORDERS: &str = concat!(
    "SELECT bill_id, ",
    order_fields!(),
    ", tenant_id, deleted FROM orders WHERE (tenant_id, bill_id) > (?1, ?2) \
     ORDER BY tenant_id, bill_id LIMIT ?3"
);
const ORDER_TENANT: usize = 40;

const EXPORT_EVENTS: &str = "SELECT id, tenant_id, bill_id, kind, at FROM order_events \
     WHERE id > ?1 ORDER BY id LIMIT ?2";

const EXPORT_DELIVERIES: &str = "SELECT tenant_id, id, event_id, bill_id, kind, url, body, \
     created_at, state, attempts, round_start, due_at FROM outbox_deliveries \
     WHERE id > ?1 ORDER BY id LIMIT ?2";

#[async_trait]
impl Transfer for SqliteStore {
    async fn export(
        &self,
        collection: Collection,
        after: Option<Key>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.read(move |c| export(c, collection, after, limit))
            .await
    }

    async fn import(&self, records: Vec<Record>) -> Result<(), StoreError> {
        self.write(move |c| import(c, records)).await
    }

    async fn last_key(&self, collection: Collection) -> Result<Option<Key>, StoreError> {
        self.read(move |c| last_key(c, collection)).await
    }

    async fn count(&self, collection: Collection) -> Result<u64, StoreError> {
        self.read(move |c| count(c, collection)).await
    }
}

/// The table of a collection and the column that numbers its rows after `tenant_id`.
fn table(collection: Collection) -> (&'static str, &'static str) {
    match collection {
        Collection::Tenants => ("tenants", "id"),
        Collection::Products => ("products", "id"),
        Collection::Coupons => ("coupons", "id"),
        Collection::Partners => ("partners", "id"),
        Collection::Managers => ("managers", "id"),
        Collection::Orders => ("orders", "bill_id"),
        Collection::Events => ("order_events", "id"),
        Collection::Deliveries => ("outbox_deliveries", "id"),
        Collection::Groups => ("contact_groups", "id"),
        Collection::Contacts => ("contacts", "id"),
        Collection::UnsubscribeEvents => ("unsubscribe_events", "id"),
    }
}

/// Whether a collection is keyed `(id, 0)` rather than `(tenant id, id)`.
fn keyed_by_id_alone(collection: Collection) -> bool {
    matches!(
        collection,
        Collection::Tenants
            | Collection::Events
            | Collection::Deliveries
            | Collection::UnsubscribeEvents
    )
}

/// For collections keyed `(id, 0)`: the bound `b` such that a key lies above `after` exactly
/// when `id > b`.
fn id_bound(after: Option<Key>) -> i64 {
    match after {
        None => i64::MIN,
        Some(Key(id, second)) if second < 0 => id.saturating_sub(1),
        Some(Key(id, _)) => id,
    }
}

fn export(
    conn: &Connection,
    collection: Collection,
    after: Option<Key>,
    limit: usize,
) -> Result<Vec<Record>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let id = id_bound(after);
    // Ids are positive, so the lowest pair lies below every key.
    let Key(tenant, number) = after.unwrap_or(Key(i64::MIN, i64::MIN));
    let pair = params![tenant, number, limit];
    match collection {
        Collection::Tenants => collect(conn, EXPORT_TENANTS, params![id, limit], |row| {
            tenant_from_row(row).map(Record::Tenant)
        }),
        Collection::Products => collect(conn, EXPORT_PRODUCTS, pair, |row| {
            Ok(Record::Product {
                tenant: TenantId(row.get(PRODUCT_TENANT).map_err(db_error)?),
                product: product_from_row(row)?,
                deleted: row.get(PRODUCT_TENANT + 1).map_err(db_error)?,
            })
        }),
        Collection::Coupons => collect(conn, EXPORT_COUPONS, pair, |row| {
            Ok(Record::Coupon {
                tenant: TenantId(row.get(COUPON_TENANT).map_err(db_error)?),
                coupon: coupon_from_row(row)?,
            })
        }),
        Collection::Partners => collect(conn, EXPORT_PARTNERS, pair, |row| {
            Ok(Record::Partner {
                tenant: TenantId(row.get(PARTNER_TENANT).map_err(db_error)?),
                partner: partner_from_row(row).map_err(db_error)?,
            })
        }),
        Collection::Managers => collect(conn, EXPORT_MANAGERS, pair, |row| {
            Ok(Record::Manager {
                tenant: TenantId(row.get(MANAGER_TENANT).map_err(db_error)?),
                manager: manager_from_row(row).map_err(db_error)?,
            })
        }),
        Collection::Orders => collect(conn, EXPORT_ORDERS, pair, |row| {
            Ok(Record::Order {
                tenant: TenantId(row.get(ORDER_TENANT).map_err(db_error)?),
                order: order_from_row(row)?,
                deleted: row.get(ORDER_TENANT + 1).map_err(db_error)?,
            })
        }),
        Collection::Events => collect(conn, EXPORT_EVENTS, params![id, limit], event_from_row),
        Collection::Deliveries => collect(conn, EXPORT_DELIVERIES, params![id, limit], |row| {
            let delivery = outbox::delivery_from_row(row)?;
            let attempts = outbox::attempts(conn, delivery.tenant, delivery.id)?;
            Ok(Record::Delivery { delivery, attempts })
        }),
        Collection::Groups => contacts::export_groups(conn, after, limit),
        Collection::Contacts => contacts::export_contacts(conn, after, limit),
        Collection::UnsubscribeEvents => contacts::export_unsubscribe_events(conn, id, limit),
    }
}

fn collect(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    mut from_row: impl FnMut(&Row<'_>) -> Result<Record, StoreError>,
) -> Result<Vec<Record>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_error)?;
    let mut rows = stmt.query(params).map_err(db_error)?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        records.push(from_row(row)?);
    }
    Ok(records)
}

fn event_from_row(row: &Row<'_>) -> Result<Record, StoreError> {
    let kind: String = row.get(3).map_err(db_error)?;
    Ok(Record::Event(StoredEvent {
        id: row.get(0).map_err(db_error)?,
        tenant: TenantId(row.get(1).map_err(db_error)?),
        bill_id: BillId::new(row.get(2).map_err(db_error)?).ok_or_else(|| corrupt("bill id"))?,
        kind: OrderEventKind::parse(&kind).ok_or_else(|| corrupt("event kind"))?,
        at: row.get(4).map_err(db_error)?,
    }))
}

fn last_key(conn: &Connection, collection: Collection) -> Result<Option<Key>, StoreError> {
    let (table, id) = table(collection);
    if keyed_by_id_alone(collection) {
        let last: Option<i64> = conn
            .prepare_cached(&format!("SELECT max({id}) FROM {table}"))
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(db_error)?;
        return Ok(last.map(|id| Key::new(id, 0)));
    }
    conn.prepare_cached(&format!(
        "SELECT tenant_id, {id} FROM {table} ORDER BY tenant_id DESC, {id} DESC LIMIT 1"
    ))
    .and_then(|mut s| {
        s.query_row([], |r| Ok(Key::new(r.get(0)?, r.get(1)?)))
            .optional()
    })
    .map_err(db_error)
}

fn count(conn: &Connection, collection: Collection) -> Result<u64, StoreError> {
    let (table, _) = table(collection);
    let rows: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM {table}"))
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(db_error)?;
    u64::try_from(rows).map_err(|_| corrupt("row count"))
}

/// A partner's parent, set once every partner of the page is written: a parent may have a
/// higher id than its child, and so come later in the page.
struct ParentLink {
    tenant: TenantId,
    partner: PartnerId,
    parent: PartnerId,
}

fn import(conn: &Connection, records: Vec<Record>) -> Result<(), StoreError> {
    let mut parents = Vec::new();
    let mut last_event_id = None;
    let mut last_delivery_id = None;
    for record in records {
        let (collection, key) = (record.collection(), record.key());
        let written = match record {
            Record::Tenant(tenant) => import_tenant(conn, &tenant),
            Record::Product {
                tenant,
                product,
                deleted,
            } => import_product(conn, tenant, &product, deleted),
            Record::Coupon { tenant, coupon } => import_coupon(conn, tenant, &coupon),
            Record::Partner { tenant, partner } => {
                if let Some(parent) = partner.parent {
                    parents.push(ParentLink {
                        tenant,
                        partner: partner.id,
                        parent,
                    });
                }
                import_partner(conn, tenant, &partner)
            }
            Record::Manager { tenant, manager } => import_manager(conn, tenant, &manager),
            Record::Order {
                tenant,
                order,
                deleted,
            } => import_order(conn, tenant, &order, deleted),
            Record::Event(event) => {
                last_event_id = last_event_id.max(Some(event.id));
                import_event(conn, &event)
            }
            Record::Delivery { delivery, attempts } => {
                last_delivery_id = last_delivery_id.max(Some(delivery.id));
                import_delivery(conn, &delivery, &attempts)
            }
            Record::Group { tenant, group } => contacts::import_group(conn, tenant, &group),
            Record::Contact { tenant, contact } => contacts::import_contact(conn, tenant, &contact),
            Record::UnsubscribeEvent { tenant, event } => {
                last_event_id = last_event_id.max(Some(event.id));
                contacts::import_unsubscribe_event(conn, tenant, &event)
            }
        };
        written.map_err(|error| match error {
            StoreError::Conflict(what) => {
                StoreError::Conflict(format!("{} {key} ({what})", collection.name()))
            }
            other => other,
        })?;
    }
    for link in parents {
        set_parent(conn, &link)?;
    }
    if let Some(id) = last_event_id {
        conn.prepare_cached(
            "UPDATE meta SET value = max(value, ?1 + 1) WHERE key = 'next_event_id'",
        )
        .and_then(|mut s| s.execute([id]))
        .map_err(db_error)?;
    }
    if let Some(id) = last_delivery_id {
        conn.prepare_cached(
            "UPDATE meta SET value = max(value, ?1 + 1) WHERE key = 'next_delivery_id'",
        )
        .and_then(|mut s| s.execute([id]))
        .map_err(db_error)?;
    }
    Ok(())
}

fn import_delivery(
    conn: &Connection,
    delivery: &DeliveryInfo,
    attempts: &[AttemptRecord],
) -> Result<(), StoreError> {
    outbox::insert(conn, delivery)?;
    for attempt in attempts {
        outbox::insert_attempt(conn, delivery.tenant, delivery.id, attempt)?;
    }
    Ok(())
}

/// The tenants table numbers with AUTOINCREMENT, which remembers the highest id inserted, given
/// or not: later tenants get higher ids without further bookkeeping.
fn import_tenant(conn: &Connection, tenant: &Tenant) -> Result<(), StoreError> {
    let s = &tenant.settings;
    conn.prepare_cached(
        "INSERT INTO tenants (id, login, secret, enabled, time_zone, first_bill_id, \
         api_orders_enabled, prepayment_enabled, prepayment_minsum, require_activation, \
         subscribe_limit_per_ip, unsubscribe_url, test_payments) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            tenant.id.0,
            tenant.login.as_str(),
            tenant.secret,
            tenant.enabled,
            s.time_zone.name(),
            s.first_bill_id,
            s.api_orders_enabled,
            s.prepayment_enabled,
            s.prepayment_minsum.minor(),
            s.require_activation,
            s.subscribe_limit_per_ip,
            s.unsubscribe_url,
            s.test_payments,
        ])
    })
    .map_err(db_error)?;
    insert_domains(conn, tenant)
}

fn import_product(
    conn: &Connection,
    tenant: TenantId,
    product: &Product,
    deleted: bool,
) -> Result<(), StoreError> {
    let mut values = product_params(tenant, product);
    values.push(rusqlite::types::Value::Integer(i64::from(deleted)));
    conn.prepare_cached(
        "INSERT INTO products (tenant_id, id, code, title, physical, price, parent_id, \
         url_new_order, url_paid, url_prepaid, url_cancel, url_moneyback, success_link, \
         client_groups, cash_on_delivery_only, quickpost_article, post_service, \
         prepayment_minsum, timer_kill, partner_fees, deleted) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20, ?21)",
    )
    .and_then(|mut stmt| stmt.execute(params_from_iter(values)))
    .map_err(db_error)?;
    keep_number(conn, tenant, "product", product.id.0)?;
    Ok(())
}

fn import_coupon(conn: &Connection, tenant: TenantId, coupon: &Coupon) -> Result<(), StoreError> {
    let (kind, value) = match coupon.discount {
        Discount::Percent(p) => ("percent", p.hundredths()),
        Discount::Fixed(m) => ("fixed", m.minor()),
    };
    conn.prepare_cached(
        "INSERT INTO coupons (tenant_id, id, code, kind, value, expires_at, disabled) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.0,
            coupon.id.0,
            coupon.code,
            kind,
            value,
            coupon.expires_at,
            coupon.disabled
        ])
    })
    .map_err(db_error)?;
    for product in &coupon.products {
        conn.prepare_cached(
            "INSERT INTO coupon_products (tenant_id, coupon_id, product_id) VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut s| s.execute(params![tenant.0, coupon.id.0, product.0]))
        .map_err(db_error)?;
    }
    keep_number(conn, tenant, "coupon", coupon.id.0)?;
    Ok(())
}

/// Written without its parent, which [`set_parent`] adds.
fn import_partner(
    conn: &Connection,
    tenant: TenantId,
    partner: &Partner,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO partners (tenant_id, id, login, parent_id, registered_at) \
         VALUES (?1, ?2, ?3, NULL, ?4)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.0,
            partner.id.0,
            partner.login,
            partner.registered_at
        ])
    })
    .map_err(db_error)?;
    keep_number(conn, tenant, "partner", partner.id.0)?;
    Ok(())
}

fn set_parent(conn: &Connection, link: &ParentLink) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE partners SET parent_id = ?3 WHERE tenant_id = ?1 AND id = ?2")
        .and_then(|mut s| s.execute(params![link.tenant.0, link.partner.0, link.parent.0]))
        .map_err(|e| {
            StoreError::Backend(format!(
                "partner {} of tenant {} names parent {}, which is neither in the database nor \
                 in the same page: {e}",
                link.partner.0, link.tenant.0, link.parent.0
            ))
        })?;
    Ok(())
}

fn import_manager(
    conn: &Connection,
    tenant: TenantId,
    manager: &Manager,
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO managers (tenant_id, id, name) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![tenant.0, manager.id.0, manager.name]))
        .map_err(db_error)?;
    keep_number(conn, tenant, "manager", manager.id.0)?;
    Ok(())
}

/// The derived rows as the store keeps them: a deleted order has left the product index but
/// keeps its partner fees, as after `delete_order`.
fn import_order(
    conn: &Connection,
    tenant: TenantId,
    order: &Order,
    deleted: bool,
) -> Result<(), StoreError> {
    with_order_params(tenant, order.bill_id, order, |values| {
        conn.prepare_cached(INSERT_ORDER)
            .and_then(|mut s| s.execute(values))
    })
    .map_err(db_error)?;
    if deleted {
        conn.prepare_cached("UPDATE orders SET deleted = 1 WHERE tenant_id = ?1 AND bill_id = ?2")
            .and_then(|mut s| s.execute(params![tenant.0, order.bill_id.get()]))
            .map_err(db_error)?;
    } else {
        index_products(conn, tenant, order.bill_id, order)?;
    }
    index_partner_fees(conn, tenant, order.bill_id, order)?;
    keep_number(conn, tenant, "bill", order.bill_id.get())?;
    Ok(())
}

fn import_event(conn: &Connection, event: &StoredEvent) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO order_events (tenant_id, id, bill_id, kind, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            event.tenant.0,
            event.id,
            event.bill_id.get(),
            event.kind.as_str(),
            event.at
        ])
    })
    .map_err(db_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickbill_domain::transfer::{copy, suite, CopyMode, CopyOptions};

    fn open(dir: &tempfile::TempDir, name: &str) -> SqliteStore {
        SqliteStore::open(dir.path().join(name)).expect("a store")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stores_go_through_export_and_import_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let (source, target) = (open(&dir, "source.db"), open(&dir, "target.db"));
        suite::round_trip(&source, &target).await;
        source.close().await.unwrap();
        target.close().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn copies_resume_where_an_interrupted_copy_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let (source, target) = (open(&dir, "source.db"), open(&dir, "target.db"));
        suite::populate(&source).await;
        let everything = suite::export_all(&source, 1000).await;
        // What an interrupted copy leaves: whole collections, then the beginning of one.
        let tenants_and_some_products: Vec<Record> = everything
            .iter()
            .filter(|r| r.collection() == Collection::Tenants)
            .chain(
                everything
                    .iter()
                    .filter(|r| r.collection() == Collection::Products)
                    .take(2),
            )
            .cloned()
            .collect();
        for record in tenants_and_some_products {
            target.import(vec![record]).await.unwrap();
        }
        let options = |mode| CopyOptions { page_size: 2, mode };
        let refused = copy(&source, &target, options(CopyMode::IntoEmpty), &mut |_| {}).await;
        assert!(refused.is_err(), "{refused:?}");
        let report = copy(&source, &target, options(CopyMode::Resume), &mut |_| {})
            .await
            .expect("the resumed copy verifies");
        let products = &report.collections[1];
        assert_eq!(products.collection, Collection::Products);
        assert_eq!(products.copied, products.rows - 2);
        assert_eq!(suite::export_all(&target, 1000).await, everything);
        source.close().await.unwrap();
        target.close().await.unwrap();
    }

    /// A page after a key must be a seek, or a copy of many pages grows with the square of
    /// the table.
    #[test]
    fn exports_seek_to_their_first_key() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        for sql in [
            EXPORT_TENANTS,
            EXPORT_PRODUCTS,
            EXPORT_COUPONS,
            EXPORT_PARTNERS,
            EXPORT_MANAGERS,
            EXPORT_ORDERS,
            EXPORT_EVENTS,
        ] {
            let plan = crate::tests::plan(&conn, sql);
            assert!(plan.starts_with("SEARCH"), "{sql}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql}: {plan}");
        }
    }
}
