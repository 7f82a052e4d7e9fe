//! The SQLite backend: every test gets its own database file in a temporary directory.

use clickbill_domain::Store;
use clickbill_store_sqlite::SqliteStore;
use std::sync::Arc;

/// Whether the suite runs over the embedded store (whose writer thread reports metrics).
pub const EMBEDDED: bool = true;

/// One test's own empty database; the directory holding it is removed when this is dropped.
pub struct TestDatabase {
    pub store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    /// Always a database: SQLite needs nothing from the machine. The `Option` is the interface
    /// every backend offers, for those that may be missing.
    pub async fn create() -> Option<TestDatabase> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path().join("clickbill.db")).expect("store");
        Some(TestDatabase {
            store: Arc::new(store),
            _dir: dir,
        })
    }
}
