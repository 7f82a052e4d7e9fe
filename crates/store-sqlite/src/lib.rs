//! clickbill's embedded store: one SQLite file in WAL mode.
//!
//! Writes go through one thread that group-commits: it takes every write waiting in its queue,
//! runs each in its own savepoint inside one transaction, commits once (one fsync with
//! `synchronous=FULL`) and only then answers the callers. Reads run on a small pool of
//! read-only connections and never wait for the writer.
//!
//! ```no_run
//! # async fn demo() -> Result<(), clickbill_domain::StoreError> {
//! use clickbill_store_sqlite::SqliteStore;
//! let store = SqliteStore::open("clickbill.db")?;
//! // ... use it as a `clickbill_domain::Store` ...
//! store.close().await?;
//! # Ok(()) }
//! ```

mod catalogue;
mod codec;
mod contacts;
mod idempotency;
mod migrations;
mod order_cache;
mod orders;
pub mod outbox;
mod readers;
mod tenants;
mod transfer;
mod writer;

pub use migrations::SCHEMA_VERSION;
pub use writer::WriterStats;

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
use clickbill_domain::{
    CreatedOrder, FiredTimers, IdempotencyClaim, OrderChange, OrderTime, OrderUpdate, PartnerStats,
    Store, StoreError, StoredResponse, TimeWindow,
};
use order_cache::{ChangeWatch, OrderCache};
use readers::Readers;
use rusqlite::{Connection, ErrorCode};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use writer::Writer;

/// How long a connection waits for a lock held by another process (the admin command line
/// writing to the same file) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept per connection; the store uses a few dozen distinct ones.
const STATEMENT_CACHE: usize = 64;

/// Orders cached by default: about 30 MiB when full, enough for the orders being paid now.
pub const DEFAULT_ORDER_CACHE: usize = 20_000;

/// Tuning of [`SqliteStore::open_with`].
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// Read-only connections, opened as needed up to this many.
    pub readers: usize,
    /// The most writes committed together in one transaction.
    pub max_batch: usize,
    /// Orders kept decoded in memory for reads (least recently used go first); 0 switches the
    /// cache off.
    pub order_cache: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            readers: 4,
            max_batch: 256,
            order_cache: DEFAULT_ORDER_CACHE,
        }
    }
}

/// The embedded [`Store`]. Not `Clone`: share it behind an `Arc`. Call [`SqliteStore::close`]
/// to flush queued writes and stop the writer thread; dropping the store does the same but
/// blocks the dropping thread while it does.
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<Readers>,
    orders: Arc<OrderCache>,
    path: PathBuf,
    outbox_waker: OnceLock<OutboxWaker>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database file at `path`, creating and migrating it as needed.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, SqliteOptions::default())
    }

    pub fn open_with(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let mut conn = open_writer(&path)?;
        migrations::migrate(&mut conn)?;
        let orders = Arc::new(OrderCache::new(options.order_cache));
        let watch = ChangeWatch::install(&conn, Arc::clone(&orders))?;
        Ok(SqliteStore {
            writer: Writer::start(conn, options.max_batch, watch)?,
            readers: Arc::new(Readers::new(path.clone(), options.readers)),
            orders,
            path,
            outbox_waker: OnceLock::new(),
        })
    }

    /// Creates or upgrades the database at `path` without starting a store (`clickbill
    /// migrate`); returns the schema version it is at.
    pub fn migrate(path: impl AsRef<Path>) -> Result<u32, StoreError> {
        let mut conn = open_writer(path.as_ref())?;
        migrations::migrate(&mut conn)
    }

    /// Writes everything queued, stops the writer thread and closes the connections.
    pub async fn close(self) -> Result<(), StoreError> {
        tokio::task::spawn_blocking(move || {
            let SqliteStore {
                mut writer,
                readers,
                ..
            } = self;
            readers.close();
            writer.shut_down()
        })
        .await
        .map_err(|e| StoreError::Backend(format!("closing the store failed: {e}")))?
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the writer thread has done so far.
    pub fn stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// Runs `work` on the writer thread inside the next batch's transaction and returns once
    /// that transaction is committed. An `Err` undoes what `work` wrote and nothing else.
    /// `work` must not begin, commit or roll back transactions itself.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.run(work).await
    }

    /// Tells the delivery worker of this process that a commit wrote deliveries (see
    /// [`Store::set_outbox_waker`]). Writers that enqueue through [`outbox`] call it after
    /// their write resolved.
    pub fn wake_outbox(&self) {
        if let Some(wake) = self.outbox_waker.get() {
            wake();
        }
    }

    /// Runs `read` on a read-only connection. Separate statements see separate snapshots
    /// unless `read` wraps them in a transaction.
    pub async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.readers.run(read).await
    }
}

fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(db_error)?;
    // First, so that switching to WAL and migrating wait for another process opening the
    // same file instead of failing at once.
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_error)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(db_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "{} cannot use WAL journaling (got {mode})",
            path.display()
        )));
    }
    // FULL: in WAL mode each commit syncs the log, so an acknowledged write survives a power
    // cut, which NORMAL does not promise.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db_error)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(db_error)?;
    cache_statements(&conn)?;
    Ok(conn)
}

/// Keeps prepared statements for reuse. Plans are made stable (`ENABLE_QPSG`): otherwise SQLite
/// expires a statement whenever a value bound to it could change its plan (a partial index, a
/// `LIKE` pattern) and prepares it again on its next use, which costs more than running it.
fn cache_statements(conn: &Connection) -> Result<(), StoreError> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(db_error)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Uniqueness violations that slipped past the explicit checks (a race with another process)
/// are conflicts; everything else is a backend fault.
pub(crate) fn db_error(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &e {
        let unique = failure.code == ErrorCode::ConstraintViolation
            && matches!(
                failure.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            );
        if unique {
            return StoreError::Conflict(message.clone().unwrap_or_else(|| e.to_string()));
        }
    }
    StoreError::Backend(e.to_string())
}

#[async_trait]
impl Store for SqliteStore {
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.read(tenants::all).await
    }

    async fn tenant_by_login(&self, login: &str) -> Result<Option<Tenant>, StoreError> {
        let login = login.to_owned();
        self.read(move |c| tenants::by_login(c, &login)).await
    }

    async fn tenant_by_domain(&self, host: &str) -> Result<Option<Tenant>, StoreError> {
        let host = host.to_owned();
        self.read(move |c| tenants::by_domain(c, &host)).await
    }

    async fn add_tenant(&self, tenant: NewTenant) -> Result<Tenant, StoreError> {
        self.write(move |c| tenants::add(c, tenant)).await
    }

    async fn save_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let tenant = tenant.clone();
        self.write(move |c| tenants::save(c, &tenant)).await
    }

    async fn tenants_version(&self) -> Result<i64, StoreError> {
        self.read(tenants::version).await
    }

    async fn products(&self, tenant: TenantId) -> Result<Vec<Product>, StoreError> {
        self.read(move |c| catalogue::products(c, tenant)).await
    }

    async fn products_by_codes(
        &self,
        tenant: TenantId,
        codes: &[String],
    ) -> Result<Vec<Product>, StoreError> {
        let codes = codes.to_vec();
        self.read(move |c| catalogue::products_by_codes(c, tenant, &codes))
            .await
    }

    async fn add_product(
        &self,
        tenant: TenantId,
        spec: ProductSpec,
    ) -> Result<Product, StoreError> {
        self.write(move |c| catalogue::add_product(c, tenant, spec))
            .await
    }

    async fn update_product(
        &self,
        tenant: TenantId,
        code: &str,
        patch: ProductPatch,
    ) -> Result<Option<Product>, StoreError> {
        let code = code.to_owned();
        self.write(move |c| catalogue::update_product(c, tenant, &code, patch))
            .await
    }

    async fn delete_product(&self, tenant: TenantId, code: &str) -> Result<bool, StoreError> {
        let code = code.to_owned();
        self.write(move |c| catalogue::delete_product(c, tenant, &code))
            .await
    }

    async fn add_coupon(&self, tenant: TenantId, coupon: NewCoupon) -> Result<Coupon, StoreError> {
        self.write(move |c| catalogue::add_coupon(c, tenant, coupon))
            .await
    }

    async fn coupons(&self, tenant: TenantId) -> Result<Vec<Coupon>, StoreError> {
        self.read(move |c| catalogue::coupons(c, tenant)).await
    }

    async fn set_coupon_disabled(
        &self,
        tenant: TenantId,
        code: &str,
        disabled: bool,
    ) -> Result<bool, StoreError> {
        let code = code.to_owned();
        self.write(move |c| catalogue::set_coupon_disabled(c, tenant, &code, disabled))
            .await
    }

    async fn add_partner(
        &self,
        tenant: TenantId,
        partner: NewPartner,
    ) -> Result<Partner, StoreError> {
        self.write(move |c| catalogue::add_partner(c, tenant, partner))
            .await
    }

    async fn coupon_by_code(
        &self,
        tenant: TenantId,
        code: &str,
    ) -> Result<Option<Coupon>, StoreError> {
        let code = code.to_owned();
        self.read(move |c| catalogue::coupon_by_code(c, tenant, &code))
            .await
    }

    async fn coupon_by_id(
        &self,
        tenant: TenantId,
        id: CouponId,
    ) -> Result<Option<Coupon>, StoreError> {
        self.read(move |c| catalogue::coupon_by_id(c, tenant, id))
            .await
    }

    async fn partner_by_id(
        &self,
        tenant: TenantId,
        id: PartnerId,
    ) -> Result<Option<Partner>, StoreError> {
        self.read(move |c| catalogue::partner_by_id(c, tenant, id))
            .await
    }

    async fn partner_by_login(
        &self,
        tenant: TenantId,
        login: &str,
    ) -> Result<Option<Partner>, StoreError> {
        let login = login.to_owned();
        self.read(move |c| catalogue::partner_by_login(c, tenant, &login))
            .await
    }

    async fn partners(&self, tenant: TenantId) -> Result<Vec<Partner>, StoreError> {
        self.read(move |c| catalogue::partners(c, tenant)).await
    }

    async fn partner_stats(
        &self,
        tenant: TenantId,
        partner: PartnerId,
        window: TimeWindow,
    ) -> Result<PartnerStats, StoreError> {
        self.read(move |c| orders::partner_stats(c, tenant, partner, window))
            .await
    }

    async fn add_manager(
        &self,
        tenant: TenantId,
        manager: NewManager,
    ) -> Result<Manager, StoreError> {
        self.write(move |c| catalogue::add_manager(c, tenant, manager))
            .await
    }

    async fn managers(&self, tenant: TenantId) -> Result<Vec<Manager>, StoreError> {
        self.read(move |c| catalogue::managers(c, tenant)).await
    }

    async fn manager_by_id(
        &self,
        tenant: TenantId,
        id: ManagerId,
    ) -> Result<Option<Manager>, StoreError> {
        self.read(move |c| catalogue::manager_by_id(c, tenant, id))
            .await
    }

    async fn create_order(
        &self,
        tenant: &Tenant,
        order: NewOrder,
        now: i64,
    ) -> Result<CreatedOrder, StoreError> {
        let (id, first_bill_id) = (tenant.id, tenant.settings.first_bill_id);
        let created = self
            .write(move |c| orders::create(c, id, first_bill_id, order, now))
            .await?;
        if matches!(created, CreatedOrder::Created(_)) {
            self.wake_outbox();
        }
        Ok(created)
    }

    async fn order(&self, tenant: TenantId, bill_id: BillId) -> Result<Option<Order>, StoreError> {
        if let Some(order) = self.orders.get(tenant, bill_id) {
            return Ok(Some(Order::clone(&order)));
        }
        let ticket = self.orders.ticket();
        let cache = Arc::clone(&self.orders);
        self.read(move |c| {
            let order = orders::order(c, tenant, bill_id)?;
            if let Some(order) = &order {
                cache.keep(ticket, tenant, order);
            }
            Ok(order)
        })
        .await
    }

    async fn update_order(
        &self,
        tenant: TenantId,
        bill_id: BillId,
        now: i64,
        change: OrderChange,
    ) -> Result<OrderUpdate, StoreError> {
        let update = self
            .write(move |c| orders::update(c, tenant, bill_id, change, now))
            .await?;
        if matches!(&update, OrderUpdate::Applied(events) if !events.is_empty()) {
            self.wake_outbox();
        }
        Ok(update)
    }

    async fn delete_order(&self, tenant: TenantId, bill_id: BillId) -> Result<bool, StoreError> {
        self.write(move |c| orders::delete(c, tenant, bill_id))
            .await
    }

    async fn orders_in_window(
        &self,
        tenant: TenantId,
        time: OrderTime,
        window: TimeWindow,
    ) -> Result<Vec<Order>, StoreError> {
        self.read(move |c| orders::in_window(c, tenant, time, window))
            .await
    }

    async fn orders_by_email(
        &self,
        tenant: TenantId,
        email: &str,
        status: Option<PayStatus>,
    ) -> Result<Vec<Order>, StoreError> {
        let email = email.to_owned();
        self.read(move |c| orders::by_email(c, tenant, &email, status))
            .await
    }

    async fn fire_due_auto_cancels(
        &self,
        now: i64,
        limit: usize,
    ) -> Result<FiredTimers, StoreError> {
        self.write(move |c| orders::fire_due_auto_cancels(c, now, limit))
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
        let (key, fingerprint) = (key.to_owned(), fingerprint.to_owned());
        self.write(move |c| idempotency::claim(c, tenant, &key, &fingerprint, now, lease_seconds))
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
        let (key, fingerprint) = (key.to_owned(), fingerprint.to_owned());
        self.write(move |c| idempotency::complete(c, tenant, &key, &fingerprint, response, now))
            .await
    }

    async fn release_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        let (key, fingerprint) = (key.to_owned(), fingerprint.to_owned());
        self.write(move |c| idempotency::release(c, tenant, &key, &fingerprint))
            .await
    }

    async fn purge_idempotency_keys(&self, now: i64) -> Result<u64, StoreError> {
        self.write(move |c| idempotency::purge(c, now)).await
    }

    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.write(move |c| outbox::claim(c, now_ms, lease_ms, limit))
            .await
    }

    async fn record_attempt(
        &self,
        claimed: &ClaimedDelivery,
        attempt: AttemptRecord,
        outcome: AttemptOutcome,
    ) -> Result<bool, StoreError> {
        let claimed = claimed.clone();
        self.write(move |c| outbox::record(c, &claimed, &attempt, outcome))
            .await
    }

    async fn next_delivery_due(&self) -> Result<Option<i64>, StoreError> {
        self.read(outbox::next_due).await
    }

    async fn pending_deliveries(&self) -> Result<u64, StoreError> {
        self.read(outbox::pending_count).await
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        filter: DeliveryFilter,
    ) -> Result<Vec<DeliveryInfo>, StoreError> {
        self.read(move |c| outbox::list(c, tenant, filter)).await
    }

    async fn delivery(
        &self,
        event_id: &EventId,
    ) -> Result<Option<(DeliveryInfo, Vec<AttemptRecord>)>, StoreError> {
        let event_id = event_id.clone();
        self.read(move |c| outbox::by_event_id(c, &event_id)).await
    }

    async fn redeliver(&self, event_id: &EventId, now_ms: i64) -> Result<bool, StoreError> {
        let event_id = event_id.clone();
        let queued = self
            .write(move |c| outbox::redeliver(c, &event_id, now_ms))
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
    async fn add_group(&self, tenant: TenantId, group: NewGroup) -> Result<Group, StoreError> {
        self.write(move |c| contacts::add_group(c, tenant, group))
            .await
    }

    async fn groups(&self, tenant: TenantId) -> Result<Vec<Group>, StoreError> {
        self.read(move |c| contacts::groups(c, tenant)).await
    }

    async fn contact_by_email(
        &self,
        tenant: TenantId,
        email: &str,
    ) -> Result<Option<StoredContact>, StoreError> {
        let email = email.to_owned();
        self.read(move |c| contacts::contact_by_email(c, tenant, &email))
            .await
    }

    async fn change_contact(
        &self,
        tenant: TenantId,
        email: Option<&str>,
        command: ContactCommand,
        now: i64,
    ) -> Result<ContactOutcome, StoreError> {
        let email = email.map(str::to_owned);
        let (outcome, queued) = self
            .write(move |c| contacts::change(c, tenant, email.as_deref(), &command, now))
            .await?;
        if queued.0 {
            self.wake_outbox();
        }
        Ok(outcome)
    }

    async fn count_contacts(&self, tenant: TenantId, scope: CountScope) -> Result<u64, StoreError> {
        self.read(move |c| contacts::count(c, tenant, scope)).await
    }

    async fn subscribe_calls_from(
        &self,
        tenant: TenantId,
        ip: &str,
        since: i64,
    ) -> Result<u64, StoreError> {
        let ip = ip.to_owned();
        self.read(move |c| contacts::subscribe_calls_from(c, tenant, &ip, since))
            .await
    }

    async fn contacts_page(
        &self,
        tenant: TenantId,
        after: Option<ContactId>,
        limit: usize,
    ) -> Result<Vec<StoredContact>, StoreError> {
        self.read(move |c| {
            // One snapshot for the page and its subscriptions.
            c.execute_batch("BEGIN").map_err(db_error)?;
            let page = contacts::contacts_page(c, tenant, after, limit);
            c.execute_batch("COMMIT").map_err(db_error)?;
            page
        })
        .await
    }

    async fn unsubscribe_events(
        &self,
        tenant: TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<UnsubscribeEvent>, StoreError> {
        self.read(move |c| contacts::unsubscribe_events(c, tenant, after, limit))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn plan(conn: &Connection, sql: &str) -> String {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("a valid statement");
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        let details: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(nulls), |row| {
                row.get::<_, String>(3)
            })
            .expect("a plan")
            .map(Result::unwrap)
            .collect();
        details.join(" / ")
    }

    /// A cached statement is prepared once: SQLite expires a statement whenever a value bound
    /// to it might change its plan, unless plans are kept stable, and re-preparing a statement
    /// on each use costs more than running it.
    #[test]
    fn cached_statements_are_not_prepared_again_for_new_values() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrations::migrate(&mut conn).unwrap();
        cache_statements(&conn).unwrap();
        for sql in [
            orders::SELECT_ORDER,
            orders::UPDATE_ORDER,
            orders::SELECT_CANDIDATES,
        ] {
            for bill_id in 1..=3_i64 {
                let mut stmt = conn.prepare_cached(sql).unwrap();
                let values: Vec<rusqlite::types::Value> = (1..=stmt.parameter_count())
                    .map(|n| rusqlite::types::Value::Integer(bill_id * 100 + n as i64))
                    .collect();
                let mut rows = stmt.query(rusqlite::params_from_iter(values)).unwrap();
                while rows.next().unwrap().is_some() {}
                drop(rows);
                let prepared_again = stmt.get_status(rusqlite::StatementStatus::RePrepare);
                assert_eq!(prepared_again, 0, "{sql}");
            }
        }
    }

    /// The hot statements must be index seeks; a scan here would grow with the table.
    #[test]
    fn hot_statements_use_their_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrations::migrate(&mut conn).unwrap();
        cache_statements(&conn).unwrap();
        let order = plan(&conn, orders::SELECT_ORDER);
        assert!(
            order.contains("SEARCH orders USING PRIMARY KEY (tenant_id=? AND bill_id=?)"),
            "{order}"
        );
        let candidates = plan(&conn, orders::SELECT_CANDIDATES);
        assert!(
            candidates.contains("USING INDEX orders_email"),
            "{candidates}"
        );
        let product = plan(&conn, catalogue::BY_CODE);
        assert!(
            product.contains("USING INDEX products_live_code"),
            "{product}"
        );
        let expectations = [
            (
                orders::SELECT_CREATED_IN_WINDOW,
                "USING INDEX orders_created",
            ),
            (orders::SELECT_PAID_IN_WINDOW, "USING INDEX orders_paid"),
            (orders::SELECT_BY_EMAIL, "USING INDEX orders_email"),
            (
                orders::SELECT_DUE_AUTO_CANCELS,
                "USING COVERING INDEX orders_auto_cancel",
            ),
            (
                orders::SELECT_PARTNER_STATS,
                "SEARCH f USING PRIMARY KEY (tenant_id=? AND partner_id=?) / \
                 SEARCH o USING PRIMARY KEY (tenant_id=? AND bill_id=?)",
            ),
            (
                orders::SELECT_PARTNER_STATS,
                "USING COVERING INDEX partners_parent",
            ),
            (idempotency::PURGE, "USING INDEX idempotency_keys_age"),
        ];
        for (sql, expected) in expectations {
            let plan = plan(&conn, sql);
            assert!(plan.contains(expected), "{expected}: {plan}");
            assert!(!plan.contains("SCAN"), "{plan}");
        }
        let due = plan(&conn, orders::SELECT_DUE_AUTO_CANCELS);
        assert!(
            !due.contains("TEMP B-TREE"),
            "due timers come sorted: {due}"
        );
        let tenant = plan(&conn, "SELECT id FROM tenants WHERE login = 'DEMO'");
        assert!(tenant.contains("USING"), "{tenant}");
        assert!(!tenant.contains("SCAN"), "{tenant}");
    }

    #[test]
    fn migrations_reach_the_current_version_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrations::migrate(&mut conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(migrations::migrate(&mut conn).unwrap(), SCHEMA_VERSION);
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[test]
    fn uniqueness_violations_are_conflicts() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY); INSERT INTO t VALUES ('a');")
            .unwrap();
        let err = conn.execute("INSERT INTO t VALUES ('a')", []).unwrap_err();
        assert!(matches!(db_error(err), StoreError::Conflict(_)));
        let err = conn
            .execute("INSERT INTO nowhere VALUES (1)", [])
            .unwrap_err();
        assert!(matches!(db_error(err), StoreError::Backend(_)));
    }
}
