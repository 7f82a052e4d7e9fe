//! Decoded orders kept in memory, so that a hot read needs neither SQLite nor a blocking thread.
//!
//! The cache is exact because the writer thread is the only writer of this process: temporary
//! triggers on its connection note every order it updates or deletes (a soft delete is an
//! update), and after each transaction ends, before any of its callers is answered, those orders
//! are forgotten. A reader that decoded an order from SQLite adds it only if nothing was
//! forgotten since it started reading, so a copy read just before a commit never outlives it.
//! Another process writing the file (`sqlite3` by hand) is noticed through `PRAGMA
//! data_version` when the writer next looks, at most [`FOREIGN_WRITE_CHECK`] later, and then
//! everything is forgotten.

use clickbill_domain::model::{BillId, Order, TenantId};
use clickbill_domain::StoreError;
use lru::LruCache;
use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How often an idle writer looks for commits of other processes.
pub(crate) const FOREIGN_WRITE_CHECK: Duration = Duration::from_millis(500);

const HITS: &str = "clickbill_sqlite_order_cache_hits_total";
const MISSES: &str = "clickbill_sqlite_order_cache_misses_total";

type Key = (i64, i64);

/// What the cache held when a read began; see [`OrderCache::keep`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ticket(u64);

struct Entries {
    orders: LruCache<Key, Arc<Order>>,
    /// Counts invalidations; a read that saw another value may have read what was forgotten.
    generation: u64,
}

/// The cache; `None` capacity means it is switched off and every read goes to SQLite.
pub(crate) struct OrderCache {
    entries: Option<Mutex<Entries>>,
}

impl OrderCache {
    pub(crate) fn new(capacity: usize) -> OrderCache {
        OrderCache {
            entries: NonZeroUsize::new(capacity).map(|capacity| {
                Mutex::new(Entries {
                    orders: LruCache::new(capacity),
                    generation: 0,
                })
            }),
        }
    }

    fn lock(&self) -> Option<MutexGuard<'_, Entries>> {
        // Every critical section leaves the map consistent, so a poisoned lock is still usable.
        self.entries
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn get(&self, tenant: TenantId, bill_id: BillId) -> Option<Arc<Order>> {
        let mut entries = self.lock()?;
        let found = entries.orders.get(&(tenant.0, bill_id.get())).cloned();
        drop(entries);
        metrics::counter!(if found.is_some() { HITS } else { MISSES }).increment(1);
        found
    }

    /// Taken before reading an order from SQLite, to be handed to [`OrderCache::keep`].
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.lock().map_or(0, |e| e.generation))
    }

    /// Keeps `order`, read by a reader that took `ticket` before it began, unless an order was
    /// forgotten in between: that one might be this one, and the copy stale.
    pub(crate) fn keep(&self, ticket: Ticket, tenant: TenantId, order: &Order) {
        if let Some(mut entries) = self.lock() {
            if entries.generation == ticket.0 {
                let key = (tenant.0, order.bill_id.get());
                entries.orders.put(key, Arc::new(order.clone()));
            }
        }
    }

    fn forget(&self, keys: &[Key]) {
        if let Some(mut entries) = self.lock() {
            entries.generation += 1;
            for key in keys {
                entries.orders.pop(key);
            }
        }
    }

    fn forget_all(&self) {
        if let Some(mut entries) = self.lock() {
            entries.generation += 1;
            entries.orders.clear();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().map_or(0, |e| e.orders.len())
    }
}

/// The writer thread's side: which orders its transactions touched, and whether another process
/// committed since it last looked.
pub(crate) struct ChangeWatch {
    cache: Arc<OrderCache>,
    touched: Arc<Mutex<Vec<Key>>>,
    data_version: i64,
}

impl ChangeWatch {
    /// Installs the triggers on the writer's connection (after migrations: they name `orders`).
    pub(crate) fn install(
        conn: &Connection,
        cache: Arc<OrderCache>,
    ) -> Result<ChangeWatch, StoreError> {
        let touched = Arc::new(Mutex::new(Vec::new()));
        let noted = Arc::clone(&touched);
        conn.create_scalar_function(
            "clickbill_order_changed",
            2,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DIRECTONLY,
            move |ctx| {
                let key = (ctx.get::<i64>(0)?, ctx.get::<i64>(1)?);
                noted.lock().unwrap_or_else(|e| e.into_inner()).push(key);
                Ok(0_i64)
            },
        )
        .map_err(crate::db_error)?;
        conn.execute_batch(
            "CREATE TEMP TRIGGER IF NOT EXISTS order_cache_update AFTER UPDATE ON main.orders
             BEGIN SELECT clickbill_order_changed(OLD.tenant_id, OLD.bill_id); END;
             CREATE TEMP TRIGGER IF NOT EXISTS order_cache_delete AFTER DELETE ON main.orders
             BEGIN SELECT clickbill_order_changed(OLD.tenant_id, OLD.bill_id); END;",
        )
        .map_err(crate::db_error)?;
        Ok(ChangeWatch {
            cache,
            touched,
            data_version: data_version(conn)?,
        })
    }

    /// Called by the writer thread after each transaction has ended (committed or not) and before
    /// its callers are answered, and now and then while idle.
    pub(crate) fn settle(&mut self, conn: &Connection) {
        let touched = std::mem::take(&mut *self.touched.lock().unwrap_or_else(|e| e.into_inner()));
        if !touched.is_empty() {
            self.cache.forget(&touched);
        }
        // A failed look is treated as a foreign write: forgetting too much is only slower.
        let version = data_version(conn).ok();
        if version != Some(self.data_version) {
            self.cache.forget_all();
            self.data_version = version.unwrap_or(self.data_version);
        }
    }
}

/// Changes only when another connection commits; the writer's own commits leave it alone.
fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row("PRAGMA data_version", [], |row| row.get(0))
        .map_err(crate::db_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickbill_domain::model::NewOrder;

    fn order(bill_id: i64) -> Order {
        let bill_id = BillId::new(bill_id).unwrap();
        Order::from_new(bill_id, NewOrder::default(), 100).0
    }

    #[test]
    fn a_read_that_overlapped_an_invalidation_is_not_kept() {
        let cache = OrderCache::new(10);
        let tenant = TenantId(1);
        let ticket = cache.ticket();
        cache.forget(&[(1, 1)]);
        cache.keep(ticket, tenant, &order(1));
        assert!(cache.get(tenant, BillId::new(1).unwrap()).is_none());

        cache.keep(cache.ticket(), tenant, &order(1));
        assert!(cache.get(tenant, BillId::new(1).unwrap()).is_some());
        cache.forget(&[(1, 1)]);
        assert!(cache.get(tenant, BillId::new(1).unwrap()).is_none());
    }

    #[test]
    fn the_least_recently_read_order_goes_first() {
        let cache = OrderCache::new(2);
        let tenant = TenantId(7);
        for bill in 1..=2 {
            cache.keep(cache.ticket(), tenant, &order(bill));
        }
        assert!(cache.get(tenant, BillId::new(1).unwrap()).is_some());
        cache.keep(cache.ticket(), tenant, &order(3));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(tenant, BillId::new(2).unwrap()).is_none());
        assert!(cache.get(tenant, BillId::new(1).unwrap()).is_some());
        assert!(cache.get(TenantId(8), BillId::new(1).unwrap()).is_none());
    }

    #[test]
    fn a_switched_off_cache_keeps_nothing() {
        let cache = OrderCache::new(0);
        cache.keep(cache.ticket(), TenantId(1), &order(1));
        assert!(cache.get(TenantId(1), BillId::new(1).unwrap()).is_none());
        assert_eq!(cache.len(), 0);
    }
}
