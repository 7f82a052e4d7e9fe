//! Every row as it is, for copying a store to or from another backend.

use crate::catalogue::{
    coupon_from_row, insert_coupon, insert_manager, insert_partner, insert_product,
    manager_from_row, partner_from_row, product_from_row, COUPONS_PAGE, MANAGERS_PAGE,
    PARTNERS_PAGE, PRODUCTS_PAGE,
};
use crate::contacts;
use crate::db::{db_error, execute, row, rows, Failure};
use crate::orders::{insert, insert_event, order_from_row, EVENTS_PAGE, ORDERS_PAGE};
use crate::outbox;
use crate::tenants::{insert_domains, keep_number};
use clickbill_domain::model::{BillId, Tenant, TenantId};
use clickbill_domain::order::OrderEventKind;
use clickbill_domain::transfer::{Collection, Key, Record, StoredEvent};
use clickbill_domain::StoreError;
use clickbill_store_codec::corrupt;
use deadpool_postgres::GenericClient;
use futures_util::future::try_join_all;
use std::collections::BTreeMap;
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

/// Where a collection lives: its table and the columns of its key.
struct Table {
    name: &'static str,
    /// `None` for the collections keyed by one global id (tenants, events).
    tenant_column: Option<&'static str>,
    id_column: &'static str,
}

fn table(collection: Collection) -> Table {
    let per_tenant = |name, id_column| Table {
        name,
        tenant_column: Some("tenant_id"),
        id_column,
    };
    match collection {
        Collection::Tenants => Table {
            name: "tenants",
            tenant_column: None,
            id_column: "id",
        },
        Collection::Products => per_tenant("products", "id"),
        Collection::Coupons => per_tenant("coupons", "id"),
        Collection::Partners => per_tenant("partners", "id"),
        Collection::Managers => per_tenant("managers", "id"),
        Collection::Orders => per_tenant("orders", "bill_id"),
        Collection::Events => Table {
            name: "order_events",
            tenant_column: None,
            id_column: "id",
        },
        Collection::Deliveries => Table {
            name: "outbox_deliveries",
            tenant_column: None,
            id_column: "id",
        },
        Collection::Groups => per_tenant("contact_groups", "id"),
        Collection::Contacts => per_tenant("contacts", "id"),
        Collection::UnsubscribeEvents => Table {
            name: "unsubscribe_events",
            tenant_column: None,
            id_column: "id",
        },
    }
}

/// For the collections keyed `(id, 0)`: the greatest id that is not above `after`, so that
/// the page is the ids greater than it.
fn single_id_after(after: Option<Key>) -> i64 {
    match after {
        None => i64::MIN,
        Some(Key(id, second)) if second < 0 => id.saturating_sub(1),
        Some(Key(id, _)) => id,
    }
}

pub(crate) async fn export<C: GenericClient>(
    client: &C,
    collection: Collection,
    after: Option<Key>,
    limit: usize,
) -> Result<Vec<Record>, Failure> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let Key(after_tenant, after_id) = after.unwrap_or(Key(i64::MIN, i64::MIN));
    let page = |sql: &'static str| async move {
        rows(client, sql, &[&after_tenant, &after_id, &limit]).await
    };
    match collection {
        Collection::Tenants => {
            let tenants = crate::tenants::page(client, single_id_after(after), limit).await?;
            Ok(tenants.into_iter().map(Record::Tenant).collect())
        }
        Collection::Products => records(page(PRODUCTS_PAGE).await?, |row| {
            let (product, deleted, tenant) = product_from_row(row)?;
            Ok(Record::Product {
                tenant,
                product,
                deleted,
            })
        }),
        Collection::Coupons => records(page(COUPONS_PAGE).await?, |row| {
            let (coupon, tenant) = coupon_from_row(row)?;
            Ok(Record::Coupon { tenant, coupon })
        }),
        Collection::Partners => records(page(PARTNERS_PAGE).await?, |row| {
            let (partner, tenant) = partner_from_row(row)?;
            Ok(Record::Partner { tenant, partner })
        }),
        Collection::Managers => records(page(MANAGERS_PAGE).await?, |row| {
            let (manager, tenant) = manager_from_row(row)?;
            Ok(Record::Manager { tenant, manager })
        }),
        Collection::Orders => records(page(ORDERS_PAGE).await?, |row| {
            let (order, deleted, tenant) = order_from_row(row)?;
            Ok(Record::Order {
                tenant,
                order,
                deleted,
            })
        }),
        Collection::Events => {
            let found = rows(client, EVENTS_PAGE, &[&single_id_after(after), &limit]).await?;
            records(found, |row| {
                let kind: String = row.try_get(3)?;
                Ok(Record::Event(StoredEvent {
                    id: row.try_get(0)?,
                    tenant: TenantId(row.try_get(1)?),
                    bill_id: BillId::new(row.try_get(2)?).ok_or_else(|| corrupt("bill id"))?,
                    kind: OrderEventKind::parse(&kind).ok_or_else(|| corrupt("event kind"))?,
                    at: row.try_get(4)?,
                }))
            })
        }
        Collection::Deliveries => {
            let found = rows(
                client,
                outbox::EXPORT_DELIVERIES,
                &[&single_id_after(after), &limit],
            )
            .await?;
            let mut page = Vec::with_capacity(found.len());
            for row in &found {
                let delivery = outbox::delivery_from_row(row)?;
                let attempts = outbox::attempts(client, delivery.tenant, delivery.id).await?;
                page.push(Record::Delivery { delivery, attempts });
            }
            Ok(page)
        }
        Collection::Groups => contacts::export_groups(client, after_tenant, after_id, limit).await,
        Collection::Contacts => {
            contacts::export_contacts(client, after_tenant, after_id, limit).await
        }
        Collection::UnsubscribeEvents => {
            contacts::export_unsubscribe_events(client, single_id_after(after), limit).await
        }
    }
}

fn records(
    rows: Vec<Row>,
    record: impl Fn(&Row) -> Result<Record, Failure>,
) -> Result<Vec<Record>, Failure> {
    rows.iter().map(record).collect()
}

/// Raises `slot` to `id`.
fn raise(slot: &mut Option<i64>, id: i64) {
    *slot = Some(slot.map_or(id, |highest| highest.max(id)));
}

/// The highest ids written per sequence, raised afterwards in one statement each.
#[derive(Default)]
struct Highest {
    tenant: Option<i64>,
    event: Option<i64>,
    delivery: Option<i64>,
    per_tenant: BTreeMap<(TenantId, &'static str), i64>,
}

impl Highest {
    fn note(&mut self, record: &Record) {
        match record {
            Record::Tenant(tenant) => raise(&mut self.tenant, tenant.id.0),
            Record::Product {
                tenant, product, ..
            } => self.of_tenant(*tenant, "product", product.id.0),
            Record::Coupon { tenant, coupon } => self.of_tenant(*tenant, "coupon", coupon.id.0),
            Record::Partner { tenant, partner } => self.of_tenant(*tenant, "partner", partner.id.0),
            Record::Manager { tenant, manager } => self.of_tenant(*tenant, "manager", manager.id.0),
            Record::Order { tenant, order, .. } => {
                self.of_tenant(*tenant, "bill", order.bill_id.get())
            }
            Record::Event(event) => raise(&mut self.event, event.id),
            Record::Delivery { delivery, .. } => raise(&mut self.delivery, delivery.id),
            Record::Group { tenant, group } => self.of_tenant(*tenant, "group", group.id.0),
            Record::Contact { tenant, contact } => self.of_tenant(*tenant, "contact", contact.id.0),
            Record::UnsubscribeEvent { event, .. } => raise(&mut self.event, event.id),
        }
    }

    fn of_tenant(&mut self, tenant: TenantId, sequence: &'static str, id: i64) {
        let highest = self.per_tenant.entry((tenant, sequence)).or_insert(id);
        *highest = (*highest).max(id);
    }
}

/// Each record is written with its ids; a key that exists already fails the whole page with
/// `Conflict` (through the primary key, or the checks of the tenant's domains).
pub(crate) async fn import<C: GenericClient>(
    client: &C,
    records: &[Record],
) -> Result<(), Failure> {
    if let Some(first) = records.first() {
        for table in tables_written(first.collection()) {
            keep_statistics_fresh(client, table).await?;
        }
    }
    // The writes are sent without waiting for each answer: tokio-postgres pipelines the
    // statements of concurrent calls on one connection, in the order they are first polled, and
    // `try_join_all` polls in record order. A record's own statements still go in sequence, and
    // the first error reported is that of the earliest failing record, since every statement
    // after a failure fails only because the transaction is aborted.
    try_join_all(records.iter().map(|record| async move {
        write_record(client, record)
            .await
            .map_err(|failure| naming_the_key(failure, record))
    }))
    .await?;
    let mut highest = Highest::default();
    for record in records {
        highest.note(record);
    }
    for ((tenant, sequence), id) in highest.per_tenant {
        keep_number(client, tenant, sequence, id).await?;
    }
    // `setval` is not undone by a rollback; a page that fails after it leaves a gap in the
    // ids, which is allowed. It only ever moves a sequence forward.
    if let Some(id) = highest.tenant {
        execute(
            client,
            "SELECT setval('tenant_ids', $1) FROM tenant_ids WHERE last_value <= $1",
            &[&id],
        )
        .await?;
    }
    if let Some(id) = highest.delivery {
        execute(
            client,
            "SELECT setval('delivery_ids', $1) FROM delivery_ids WHERE last_value <= $1",
            &[&id],
        )
        .await?;
    }
    if let Some(id) = highest.event {
        execute(
            client,
            "SELECT setval('event_ids', $1) FROM event_ids WHERE last_value <= $1",
            &[&id],
        )
        .await?;
    }
    Ok(())
}

/// The tables an import of `collection` writes rows into.
fn tables_written(collection: Collection) -> &'static [&'static str] {
    match collection {
        Collection::Tenants => &["tenants", "tenant_domains"],
        Collection::Products => &["products"],
        Collection::Coupons => &["coupons", "coupon_products"],
        Collection::Partners => &["partners"],
        Collection::Managers => &["managers"],
        Collection::Orders => &["orders", "order_products", "order_partner_fees"],
        Collection::Events => &["order_events"],
        Collection::Deliveries => &["outbox_deliveries", "outbox_attempts"],
        Collection::Groups => &["contact_groups"],
        Collection::Contacts => &["contacts", "subscriptions"],
        Collection::UnsubscribeEvents => &["unsubscribe_events"],
    }
}

/// A copy pours rows into tables faster than autovacuum analyses them (and a test server may
/// run without autovacuum). A table the planner still believes empty gets its foreign-key
/// checks planned through the wrong index, each one then reading every order of the tenant,
/// which makes an import quadratic. Analysing a table whenever more rows changed since its
/// last analysis than it had then keeps the plans right at the cost of one sample read per
/// doubling of the table.
async fn keep_statistics_fresh<C: GenericClient>(client: &C, table: &str) -> Result<(), Failure> {
    let stale: bool = row(
        client,
        "SELECT coalesce(s.n_mod_since_analyze, 0) > greatest(c.reltuples, 0) + 100 \
         FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
         WHERE c.oid = to_regclass($1)",
        &[&table],
    )
    .await?
    .try_get(0)?;
    if stale {
        execute(client, &format!("ANALYZE {table}"), &[]).await?;
    }
    Ok(())
}

/// Writes one record with its ids.
async fn write_record<C: GenericClient>(client: &C, record: &Record) -> Result<(), Failure> {
    match record {
        Record::Tenant(tenant) => insert_tenant(client, tenant).await,
        Record::Product {
            tenant,
            product,
            deleted,
        } => insert_product(client, *tenant, product, *deleted).await,
        Record::Coupon { tenant, coupon } => insert_coupon(client, *tenant, coupon).await,
        Record::Partner { tenant, partner } => insert_partner(client, *tenant, partner).await,
        Record::Manager { tenant, manager } => insert_manager(client, *tenant, manager).await,
        Record::Order {
            tenant,
            order,
            deleted,
        } => insert(client, *tenant, order, *deleted).await,
        Record::Event(event) => {
            insert_event(
                client,
                event.id,
                event.tenant,
                event.bill_id,
                event.kind,
                event.at,
            )
            .await
        }
        Record::Delivery { delivery, attempts } => {
            outbox::insert(client, delivery).await?;
            for attempt in attempts {
                outbox::insert_attempt(client, delivery.tenant, delivery.id, attempt).await?;
            }
            Ok(())
        }
        Record::Group { tenant, group } => contacts::insert_group(client, *tenant, group).await,
        Record::Contact { tenant, contact } => {
            contacts::import_contact(client, *tenant, contact).await
        }
        Record::UnsubscribeEvent { tenant, event } => {
            contacts::insert_unsubscribe_event(client, *tenant, event).await
        }
    }
}

/// A conflict says which record met a row already there.
fn naming_the_key(failure: Failure, record: &Record) -> Failure {
    let error = match failure {
        Failure::Db(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => db_error(&e),
        Failure::Store(e) => e,
        other => return other,
    };
    Failure::Store(match error {
        StoreError::Conflict(what) => StoreError::Conflict(format!(
            "{} {} ({what})",
            record.collection().name(),
            record.key()
        )),
        other => other,
    })
}

async fn insert_tenant<C: GenericClient>(client: &C, tenant: &Tenant) -> Result<(), Failure> {
    let s = &tenant.settings;
    execute(
        client,
        "INSERT INTO tenants (id, login, secret, enabled, time_zone, first_bill_id, \
         api_orders_enabled, prepayment_enabled, prepayment_minsum, require_activation, \
         subscribe_limit_per_ip, unsubscribe_url, test_payments) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &[
            &tenant.id.0,
            &tenant.login.as_str(),
            &tenant.secret,
            &tenant.enabled,
            &s.time_zone.name(),
            &s.first_bill_id,
            &s.api_orders_enabled,
            &s.prepayment_enabled,
            &s.prepayment_minsum.minor(),
            &s.require_activation,
            &i64::from(s.subscribe_limit_per_ip),
            &s.unsubscribe_url,
            &s.test_payments,
        ],
    )
    .await?;
    insert_domains(client, tenant).await
}

pub(crate) async fn last_key<C: GenericClient>(
    client: &C,
    collection: Collection,
) -> Result<Option<Key>, Failure> {
    let Table {
        name,
        tenant_column,
        id_column,
    } = table(collection);
    let key = match tenant_column {
        Some(tenant_column) => {
            let sql = format!(
                "SELECT {tenant_column}, {id_column} FROM {name} \
                 ORDER BY {tenant_column} DESC, {id_column} DESC LIMIT 1"
            );
            let found = rows(client, &sql, &[]).await?;
            match found.first() {
                Some(last) => Some(Key(last.try_get(0)?, last.try_get(1)?)),
                None => None,
            }
        }
        None => {
            let sql = format!("SELECT max({id_column}) FROM {name}");
            let highest: Option<i64> = row(client, &sql, &[]).await?.try_get(0)?;
            highest.map(|id| Key(id, 0))
        }
    };
    Ok(key)
}

pub(crate) async fn count<C: GenericClient>(
    client: &C,
    collection: Collection,
) -> Result<u64, Failure> {
    let sql = format!("SELECT count(*) FROM {}", table(collection).name);
    let count: i64 = row(client, &sql, &[]).await?.try_get(0)?;
    Ok(u64::try_from(count).map_err(|_| corrupt("row count"))?)
}
