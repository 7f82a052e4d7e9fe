//! clickbill's store for deployments of many replicas: PostgreSQL, or a Postgres-compatible
//! database sharded by tenant.
//!
//! Every replica is stateless and talks to the same database through a pool of connections.
//! What must happen once across all of them is serialised on rows, never on advisory locks or
//! notifications (which sharded databases lack):
//!
//! - order creation, its duplicate check and its number: the tenant's `bill` counter row,
//!   locked first in the creating transaction;
//! - a change to an order: the order's row, locked before it is read;
//! - an `Idempotency-Key` claim: the key's row, inserted or locked in one statement;
//! - migrations: the version-0 row of `schema_migrations`.
//!
//! Transactions are short and run at READ COMMITTED. Every write goes through one helper that
//! runs it again, after a short random pause, when the database reports a serialization
//! failure or a deadlock.
//!
//! ```no_run
//! # async fn demo() -> Result<(), clickbill_domain::StoreError> {
//! use clickbill_store_postgres::{PostgresOptions, PostgresStore};
//! let store = PostgresStore::connect(PostgresOptions::new(
//!     "postgres://clickbill@db.internal/clickbill?sslmode=verify-full",
//! ))
//! .await?;
//! // ... use it as a `clickbill_domain::Store` ...
//! store.close().await;
//! # Ok(()) }
//! ```

mod catalogue;
mod connect;
mod contacts;
mod db;
mod idempotency;
mod migrations;
mod orders;
pub mod outbox;
mod tenants;
#[cfg(test)]
mod test_server;
mod transfer;

pub use migrations::SCHEMA_VERSION;

use async_trait::async_trait;
use clickbill_domain::contacts::{
    ContactCommand, ContactId, ContactOutcome, CountScope, Group, NewGroup, StoredContact,
    UnsubscribeEvent,
};
use clickbill_domain::model::{
    BillId, Coupon, CouponId, Manager, ManagerId, NewCoupon, NewManager, NewOrder, NewPartner,
    NewTenant, Order, Partner, PartnerId, PayStatus, Product, ProductPatch, ProductSpec, Tenant,
    TenantId,
};
use clickbill_domain::outbox::{
    AttemptOutcome, AttemptRecord, ClaimedDelivery, DeliveryFilter, DeliveryInfo, EventId,
    OutboxWaker,
};
use clickbill_domain::transfer::{Collection, Key, Record, Transfer};
use clickbill_domain::{
    CreatedOrder, FiredTimers, IdempotencyClaim, OrderChange, OrderTime, OrderUpdate, PartnerStats,
    Store, StoreError, StoredResponse, TimeWindow,
};
use connect::{connector, Connector};
use db::{connection, describe, write};
use deadpool_postgres::{Manager as PoolManager, Pool, Runtime};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How to reach the database and how to use it.
#[derive(Clone)]
pub struct PostgresOptions {
    /// `postgres://user:password@host:port/database?sslmode=...`. `sslmode` is libpq's:
    /// `disable` (no TLS), `prefer` (TLS when the server offers it; the default), `require`
    /// (TLS without checking the certificate), `verify-ca` (a certificate from a trusted
    /// authority) or `verify-full` (that, and for the host connected to). The trusted
    /// authorities are those of the PEM file `sslrootcert` names, or else the public web's.
    pub url: String,
    /// Connections kept open at most.
    pub pool_size: usize,
    /// The longest any one statement may run; set on every connection.
    pub statement_timeout: Duration,
    /// The longest connecting may take.
    pub connect_timeout: Duration,
    /// A schema of its own: created when missing and the search path of every connection.
    /// Lower-case letters, digits and underscores.
    pub schema: Option<String>,
}

impl PostgresOptions {
    /// The defaults: 16 connections, 10 seconds for a statement and for connecting, the
    /// database's own search path.
    pub fn new(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions {
            url: url.into(),
            pool_size: 16,
            statement_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            schema: None,
        }
    }
}

/// The URL may carry a password, so it is never shown.
impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("pool_size", &self.pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// The PostgreSQL [`Store`] (and [`Transfer`]). Share it behind an `Arc`; every method takes a
/// pooled connection for the time it needs it.
pub struct PostgresStore {
    pool: Pool,
    outbox_waker: OnceLock<OutboxWaker>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PostgresStore {
    /// Opens the pool and brings the schema to this build's version.
    pub async fn connect(options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let pool = open_pool(&options)?;
        let mut client = connection(&pool).await?;
        migrations::migrate(&mut client, options.schema.as_deref()).await?;
        drop(client);
        Ok(PostgresStore {
            pool,
            outbox_waker: OnceLock::new(),
        })
    }

    /// Creates or upgrades the schema without opening a pool (`clickbill migrate`); returns the
    /// version it is at. Safe to run from several replicas at once.
    pub async fn migrate(options: &PostgresOptions) -> Result<u32, StoreError> {
        let Connector { config, tls } = connector(options)?;
        let (mut client, connection) = config
            .connect(tls)
            .await
            .map_err(|e| StoreError::Backend(format!("connecting: {}", describe(&e))))?;
        let driver = tokio::spawn(connection);
        let migrated = migrations::migrate(&mut client, options.schema.as_deref()).await;
        drop(client);
        // Without its client the connection task says goodbye to the server and ends.
        let _ = driver.await;
        migrated
    }

    /// Closes every connection; calls made afterwards fail.
    pub async fn close(&self) {
        self.pool.close();
    }
}

/// A pool that connects lazily, as calls need connections.
fn open_pool(options: &PostgresOptions) -> Result<Pool, StoreError> {
    let Connector { config, tls } = connector(options)?;
    Pool::builder(PoolManager::new(config, tls))
        .max_size(options.pool_size.max(1))
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(options.connect_timeout))
        .recycle_timeout(Some(options.connect_timeout))
        .build()
        .map_err(|e| StoreError::Backend(format!("connection pool: {}", describe(&e))))
}

/// Reads run on a pooled connection outside any explicit transaction: each is one statement,
/// which sees one snapshot. Writes go through [`write`], which retries them.
impl PostgresStore {
    /// Tells the delivery worker of this process that a commit wrote deliveries (see
    /// [`Store::set_outbox_waker`]); the workers of other replicas find them by polling.
    pub fn wake_outbox(&self) {
        if let Some(wake) = self.outbox_waker.get() {
            wake();
        }
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(tenants::all(&client).await?)
    }

    async fn tenant_by_login(&self, login: &str) -> Result<Option<Tenant>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(tenants::by_login(&client, login).await?)
    }

    async fn tenant_by_domain(&self, host: &str) -> Result<Option<Tenant>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(tenants::by_domain(&client, host).await?)
    }

    async fn add_tenant(&self, tenant: NewTenant) -> Result<Tenant, StoreError> {
        write(&self.pool, |tx| Box::pin(tenants::add(tx, tenant.clone()))).await
    }

    async fn save_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let tenant = Arc::new(tenant.clone());
        write(&self.pool, |tx| {
            let tenant = Arc::clone(&tenant);
            Box::pin(async move { tenants::save(tx, &tenant).await })
        })
        .await
    }

    async fn tenants_version(&self) -> Result<i64, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(tenants::version(&client).await?)
    }

    async fn products(&self, tenant: TenantId) -> Result<Vec<Product>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(catalogue::products(&client, tenant).await?)
    }

    async fn products_by_codes(
        &self,
        tenant: TenantId,
        codes: &[String],
    ) -> Result<Vec<Product>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(catalogue::products_by_codes(&client, tenant, codes).await?)
    }

    async fn add_product(
        &self,
        tenant: TenantId,
        spec: ProductSpec,
    ) -> Result<Product, StoreError> {
        write(&self.pool, |tx| {
            Box::pin(catalogue::add_product(tx, tenant, spec.clone()))
        })
        .await
    }

    async fn update_product(
        &self,
        tenant: TenantId,
        code: &str,
        patch: ProductPatch,
    ) -> Result<Option<Product>, StoreError> {
        let code: Arc<str> = code.into();
        write(&self.pool, |tx| {
            let (code, patch) = (Arc::clone(&code), patch.clone());
            Box::pin(async move { catalogue::update_product(tx, tenant, &code, patch).await })
        })
        .await
    }

    async fn delete_product(&self, tenant: TenantId, code: &str) -> Result<bool, StoreError> {
        let code: Arc<str> = code.into();
        write(&self.pool, |tx| {
            let code = Arc::clone(&code);
            Box::pin(async move { catalogue::delete_product(tx, tenant, &code).await })
        })
        .await
    }

    async fn add_coupon(&self, tenant: TenantId, coupon: NewCoupon) -> Result<Coupon, StoreError> {
        write(&self.pool, |tx| {
            Box::pin(catalogue::add_coupon(tx, tenant, coupon.clone()))
        })
        .await
    }

    async fn coupons(&self, tenant: TenantId) -> Result<Vec<Coupon>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(catalogue::coupons(&client, tenant).await?)
    }

    async fn set_coupon_disabled(
        &self,
        tenant: TenantId,
        code: &str,
        disabled: bool,
    ) -> Result<bool, StoreError> {
        let code: Arc<str> = code.into();
        write(&self.pool, |tx| {
            let code = Arc::clone(&code);
            Box::pin(
                async move { catalogue::set_coupon_disabled(tx, tenant, &code, disabled).await },
            )
        })
        .await
    }

    async fn add_partner(
        &self,
        tenant: TenantId,
        partner: NewPartner,
    ) -> Result<Partner, StoreError> {
        write(&self.pool, |tx| {
            Box::pin(catalogue::add_partner(tx, tenant, partner.clone()))
        })
        .await
    }

    async fn coupon_by_code(
        &self,
        tenant: TenantId,
        code: &str,
    ) -> Result<Option<Coupon>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(catalogue::coupon_by_code(&client, tenant, code).await?)
    }

    async fn coupon_by_id(
        &self,
        tenant: TenantId,
        id: CouponId,
    ) -> Result<Option<Coupon>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(catalogue::coupon_by_id(&client, tenant, id).await?)
    }

    async fn partner_by_id(
        &self,
        tenant: TenantId,
        id: PartnerId,
    ) -> Result<Option<Partner>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(catalogue::partner_by_id(&client, tenant, id).await?)
    }

    async fn partner_by_login(
        &self,
        tenant: TenantId,
        login: &str,
    ) -> Result<Option<Partner>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(catalogue::partner_by_login(&client, tenant, login).await?)
    }

    async fn partners(&self, tenant: TenantId) -> Result<Vec<Partner>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(catalogue::partners(&client, tenant).await?)
    }

    async fn partner_stats(
        &self,
        tenant: TenantId,
        partner: PartnerId,
        window: TimeWindow,
    ) -> Result<PartnerStats, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(orders::partner_stats(&client, tenant, partner, window).await?)
    }

    async fn add_manager(
        &self,
        tenant: TenantId,
        manager: NewManager,
    ) -> Result<Manager, StoreError> {
        write(&self.pool, |tx| {
            Box::pin(catalogue::add_manager(tx, tenant, manager.clone()))
        })
        .await
    }

    async fn managers(&self, tenant: TenantId) -> Result<Vec<Manager>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(catalogue::managers(&client, tenant).await?)
    }

    async fn manager_by_id(
        &self,
        tenant: TenantId,
        id: ManagerId,
    ) -> Result<Option<Manager>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(catalogue::manager_by_id(&client, tenant, id).await?)
    }

    async fn create_order(
        &self,
        tenant: &Tenant,
        order: NewOrder,
        now: i64,
    ) -> Result<CreatedOrder, StoreError> {
        let (id, first_bill_id) = (tenant.id, tenant.settings.first_bill_id);
        let created = write(&self.pool, |tx| {
            Box::pin(orders::create(tx, id, first_bill_id, order.clone(), now))
        })
        .await?;
        if matches!(created, CreatedOrder::Created(_)) {
            self.wake_outbox();
        }
        Ok(created)
    }

    async fn order(&self, tenant: TenantId, bill_id: BillId) -> Result<Option<Order>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(orders::order(&client, tenant, bill_id).await?)
    }

    async fn update_order(
        &self,
        tenant: TenantId,
        bill_id: BillId,
        now: i64,
        change: OrderChange,
    ) -> Result<OrderUpdate, StoreError> {
        let change: orders::PendingChange = Arc::new(Mutex::new(Some(change)));
        let update = write(&self.pool, |tx| {
            Box::pin(orders::update(
                tx,
                tenant,
                bill_id,
                Arc::clone(&change),
                now,
            ))
        })
        .await?;
        if matches!(&update, OrderUpdate::Applied(events) if !events.is_empty()) {
            self.wake_outbox();
        }
        Ok(update)
    }

    async fn delete_order(&self, tenant: TenantId, bill_id: BillId) -> Result<bool, StoreError> {
        write(&self.pool, |tx| {
            Box::pin(orders::delete(tx, tenant, bill_id))
        })
        .await
    }

    async fn orders_in_window(
        &self,
        tenant: TenantId,
        time: OrderTime,
        window: TimeWindow,
    ) -> Result<Vec<Order>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(orders::in_window(&client, tenant, time, window).await?)
    }

    async fn orders_by_email(
        &self,
        tenant: TenantId,
        email: &str,
        status: Option<PayStatus>,
    ) -> Result<Vec<Order>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(orders::by_email(&client, tenant, email, status).await?)
    }

    async fn fire_due_auto_cancels(
        &self,
        now: i64,
        limit: usize,
    ) -> Result<FiredTimers, StoreError> {
        write(&self.pool, |tx| {
            Box::pin(orders::fire_due_auto_cancels(tx, now, limit))
        })
        .await
    }

    async fn claim_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        fingerprint: &str,
        now: i64,
        lease_seconds: i64,
    ) -> Result<IdempotencyClaim, StoreError> {
        let (key, fingerprint): (Arc<str>, Arc<str>) = (key.into(), fingerprint.into());
        write(&self.pool, |tx| {
            let (key, fingerprint) = (Arc::clone(&key), Arc::clone(&fingerprint));
            Box::pin(async move {
                idempotency::claim(tx, tenant, &key, &fingerprint, now, lease_seconds).await
            })
        })
        .await
    }

    async fn complete_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        fingerprint: &str,
        response: StoredResponse,
        now: i64,
    ) -> Result<(), StoreError> {
        let (key, fingerprint): (Arc<str>, Arc<str>) = (key.into(), fingerprint.into());
        let response = Arc::new(response);
        write(&self.pool, |tx| {
            let (key, fingerprint) = (Arc::clone(&key), Arc::clone(&fingerprint));
            let response = Arc::clone(&response);
            Box::pin(async move {
                idempotency::complete(tx, tenant, &key, &fingerprint, &response, now).await
            })
        })
        .await
    }

    async fn release_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        let (key, fingerprint): (Arc<str>, Arc<str>) = (key.into(), fingerprint.into());
        write(&self.pool, |tx| {
            let (key, fingerprint) = (Arc::clone(&key), Arc::clone(&fingerprint));
            Box::pin(async move { idempotency::release(tx, tenant, &key, &fingerprint).await })
        })
        .await
    }

    async fn purge_idempotency_keys(&self, now: i64) -> Result<u64, StoreError> {
        write(&self.pool, |tx| Box::pin(idempotency::purge(tx, now))).await
    }

    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        write(&self.pool, |tx| {
            Box::pin(outbox::claim(tx, now_ms, lease_ms, limit))
        })
        .await
    }
    async fn add_group(&self, tenant: TenantId, group: NewGroup) -> Result<Group, StoreError> {
        write(&self.pool, |tx| {
            Box::pin(contacts::add_group(tx, tenant, group.clone()))
        })
        .await
    }

    async fn record_attempt(
        &self,
        claimed: &ClaimedDelivery,
        attempt: AttemptRecord,
        outcome: AttemptOutcome,
    ) -> Result<bool, StoreError> {
        let (claimed, attempt) = (Arc::new(claimed.clone()), Arc::new(attempt));
        write(&self.pool, |tx| {
            let (claimed, attempt) = (Arc::clone(&claimed), Arc::clone(&attempt));
            Box::pin(async move { outbox::record(tx, &claimed, &attempt, outcome).await })
        })
        .await
    }

    async fn next_delivery_due(&self) -> Result<Option<i64>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(outbox::next_due(&client).await?)
    }

    async fn pending_deliveries(&self) -> Result<u64, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(outbox::pending_count(&client).await?)
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        filter: DeliveryFilter,
    ) -> Result<Vec<DeliveryInfo>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(outbox::list(&client, tenant, filter).await?)
    }

    async fn delivery(
        &self,
        event_id: &EventId,
    ) -> Result<Option<(DeliveryInfo, Vec<AttemptRecord>)>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(outbox::by_event_id(&client, event_id).await?)
    }

    async fn redeliver(&self, event_id: &EventId, now_ms: i64) -> Result<bool, StoreError> {
        let event_id = Arc::new(event_id.clone());
        let queued = write(&self.pool, |tx| {
            let event_id = Arc::clone(&event_id);
            Box::pin(async move { outbox::redeliver(tx, &event_id, now_ms).await })
        })
        .await?;
        if queued {
            self.wake_outbox();
        }
        Ok(queued)
    }

    fn set_outbox_waker(&self, waker: OutboxWaker) {
        // The first waker stays: one store serves one server.
        let _ = self.outbox_waker.set(waker);
    }
    async fn groups(&self, tenant: TenantId) -> Result<Vec<Group>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(contacts::groups(&client, tenant).await?)
    }

    async fn contact_by_email(
        &self,
        tenant: TenantId,
        email: &str,
    ) -> Result<Option<StoredContact>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(contacts::contact_by_email(&client, tenant, email).await?)
    }

    async fn change_contact(
        &self,
        tenant: TenantId,
        email: Option<&str>,
        command: ContactCommand,
        now: i64,
    ) -> Result<ContactOutcome, StoreError> {
        // The command is pure, so a retried transaction decides again on what it then finds.
        let command = Arc::new(command);
        let email = email.map(str::to_owned);
        let (outcome, queued) = write(&self.pool, |tx| {
            let (command, email) = (Arc::clone(&command), email.clone());
            Box::pin(
                async move { contacts::change(tx, tenant, email.as_deref(), &command, now).await },
            )
        })
        .await?;
        if queued.0 {
            self.wake_outbox();
        }
        Ok(outcome)
    }

    async fn count_contacts(&self, tenant: TenantId, scope: CountScope) -> Result<u64, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(contacts::count(&client, tenant, scope).await?)
    }

    async fn subscribe_calls_from(
        &self,
        tenant: TenantId,
        ip: &str,
        since: i64,
    ) -> Result<u64, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(contacts::subscribe_calls_from(&client, tenant, ip, since).await?)
    }

    async fn contacts_page(
        &self,
        tenant: TenantId,
        after: Option<ContactId>,
        limit: usize,
    ) -> Result<Vec<StoredContact>, StoreError> {
        // One snapshot for the page and its subscriptions.
        let mut client = connection(&self.pool).await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(|e| db::db_error(&e))?;
        let page = contacts::contacts_page(&tx, tenant, after, limit).await?;
        tx.commit().await.map_err(|e| db::db_error(&e))?;
        Ok(page)
    }

    async fn unsubscribe_events(
        &self,
        tenant: TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<UnsubscribeEvent>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(contacts::unsubscribe_events(&client, tenant, after, limit).await?)
    }
}

#[async_trait]
impl Transfer for PostgresStore {
    async fn export(
        &self,
        collection: Collection,
        after: Option<Key>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(transfer::export(&client, collection, after, limit).await?)
    }

    async fn import(&self, records: Vec<Record>) -> Result<(), StoreError> {
        let records = Arc::new(records);
        write(&self.pool, |tx| {
            let records = Arc::clone(&records);
            Box::pin(async move { transfer::import(tx, &records).await })
        })
        .await
    }

    async fn last_key(&self, collection: Collection) -> Result<Option<Key>, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(transfer::last_key(&client, collection).await?)
    }

    async fn count(&self, collection: Collection) -> Result<u64, StoreError> {
        let client = connection(&self.pool).await?;
        Ok(transfer::count(&client, collection).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::types::ToSql;

    /// Twenty tenants with a thousand orders each (every tenth with a timer, every third paid
    /// with a partner fee), their products, partners, domains and idempotency keys, analysed.
    const PLAN_DATA: &str = "
        INSERT INTO tenants (id, login, secret) SELECT t, 'plan' || t, 's'
            FROM generate_series(1, 20) t;
        INSERT INTO tenant_domains (domain, tenant_id, position)
            SELECT 'shop' || t || '.example', t, 0 FROM generate_series(1, 20) t;
        INSERT INTO products (tenant_id, id, code, title, physical, price, parent_id,
            url_new_order, url_paid, url_prepaid, url_cancel, url_moneyback, success_link,
            client_groups, cash_on_delivery_only, quickpost_article, post_service, timer_kill,
            partner_fees)
            SELECT t, p, 'code' || p, '', FALSE, 100, '0', '', '', '', '', '', '', '{}', FALSE,
                '', '', 0, '[]'
            FROM generate_series(1, 20) t, generate_series(1, 100) p;
        INSERT INTO partners (tenant_id, id, login, parent_id, registered_at)
            SELECT t, p, 'partner' || p, NULLIF(p / 10, 0), p
            FROM generate_series(1, 20) t, generate_series(1, 100) p;
        INSERT INTO orders (tenant_id, bill_id, inserted_at, created, email, first_name,
            last_name, middle_name, phone, country, region, city, address, postalcode, tag,
            comment, kupon, domain, client_ip, utm_medium, utm_source, utm_campaign,
            utm_content, utm_term, aff_utm_medium, aff_utm_source, aff_utm_campaign,
            aff_utm_content, aff_utm_term, pay_status, paid_at, payway, delivery_status,
            delivery_date, rpo, auto_cancel_at, ext_ref_no, items, payments, extras)
            SELECT t, b, b, b, 'buyer' || b || '@example.com', '', '', '', '', '', '', '', '',
                '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '',
                CASE WHEN b % 3 = 0 THEN 'paid' ELSE 'waiting' END,
                CASE WHEN b % 3 = 0 THEN b ELSE 0 END, '', '', 0, '',
                CASE WHEN b % 10 = 1 THEN b END, '', '[]', '[]', '{}'
            FROM generate_series(1, 20) t, generate_series(1, 1000) b;
        INSERT INTO order_partner_fees (tenant_id, partner_id, bill_id, fee)
            SELECT t, 1 + b % 100, b, 10
            FROM generate_series(1, 20) t, generate_series(3, 1000, 3) b;
        INSERT INTO idempotency_keys (tenant_id, key, fingerprint, state, claimed_at)
            SELECT t, 'key' || k, 'f', 'pending', k
            FROM generate_series(1, 20) t, generate_series(1, 500) k;
        ANALYZE;
    ";

    /// The hot statements must be index look-ups; a sequential scan here would grow with the
    /// table. Sequential scans are switched off for the session, so that a plan without an
    /// index shows up however small the sample.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hot_statements_use_their_indexes() {
        let Some(mut options) = test_server::options("hot_statements_use_their_indexes") else {
            return;
        };
        let schema = format!("clickbill_plans_{}", std::process::id());
        options.schema = Some(schema.clone());
        let store = PostgresStore::connect(options).await.unwrap();
        let client = connection(&store.pool).await.unwrap();
        client.batch_execute(PLAN_DATA).await.unwrap();
        client
            .batch_execute("SET enable_seqscan = off")
            .await
            .unwrap();
        let (tenant, id, time, text) = (1i64, 2i64, 3i64, "x");
        let none: Option<&str> = None;
        let statements: [(&str, &[&(dyn ToSql + Sync)], &[&str]); 11] = [
            (orders::SELECT_ORDER, &[&tenant, &id], &["orders_pkey"]),
            (
                orders::SELECT_CANDIDATES,
                &[&tenant, &text, &time],
                &["orders_email"],
            ),
            (
                orders::SELECT_BY_EMAIL,
                &[&tenant, &text, &none],
                &["orders_email"],
            ),
            (
                orders::SELECT_CREATED_IN_WINDOW,
                &[&tenant, &time, &time],
                &["orders_created"],
            ),
            (
                orders::SELECT_PAID_IN_WINDOW,
                &[&tenant, &time, &time],
                &["orders_paid"],
            ),
            (
                orders::SELECT_DUE_AUTO_CANCELS,
                &[&i64::MAX, &id],
                &["orders_auto_cancel"],
            ),
            (
                orders::SELECT_PARTNER_STATS,
                &[&tenant, &id, &i64::MIN, &i64::MAX],
                &["order_partner_fees_pkey", "orders_pkey", "partners_parent"],
            ),
            (
                catalogue::BY_CODE,
                &[&tenant, &text],
                &["products_live_code"],
            ),
            (tenants::BY_LOGIN, &[&text], &["tenants_login"]),
            (idempotency::PURGE, &[&time], &["idempotency_keys_age"]),
            (
                "SELECT tenant_id FROM tenant_domains WHERE domain = $1",
                &[&text],
                &["tenant_domains_pkey"],
            ),
        ];
        let mut plans = Vec::new();
        for (sql, params, _) in &statements {
            let rows = client
                .query(&format!("EXPLAIN {sql}"), params)
                .await
                .unwrap();
            let lines: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
            plans.push(lines.join("\n"));
        }
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
        for ((sql, _, indexes), plan) in statements.iter().zip(&plans) {
            for index in *indexes {
                assert!(plan.contains(index), "{index} for {sql}:\n{plan}");
            }
            assert!(!plan.contains("Seq Scan"), "{sql}:\n{plan}");
            if *sql == orders::SELECT_DUE_AUTO_CANCELS {
                assert!(!plan.contains("Sort"), "due timers come sorted:\n{plan}");
            }
        }
    }
}
