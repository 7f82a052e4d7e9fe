//! A schema of its own per test on the server `CLICKBILL_TEST_POSTGRES_URL` names, dropped when
//! the test ends; without that variable every test says, loudly, that it was skipped.

use clickbill_domain::Store;
use clickbill_store_postgres::{PostgresOptions, PostgresStore};
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio_postgres::NoTls;

pub const URL_VARIABLE: &str = "CLICKBILL_TEST_POSTGRES_URL";

/// Connections per store in tests: several stores per test play separate replicas, and tests
/// run side by side on one server.
pub const POOL_SIZE: usize = 6;

/// The server to test against, or `None` after telling the person running the tests that
/// `test` was skipped. Written to the stderr handle itself: the test harness captures
/// `eprintln!`, and this notice must be seen even though the test passes.
pub fn server_url(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var(URL_VARIABLE) {
        return Some(url);
    }
    let rule = "#".repeat(90);
    let notice = format!(
        "\n{rule}\n## {test}: SKIPPED, NO POSTGRESQL STORE WAS TESTED\n\
         ## {URL_VARIABLE} is not set. Set it to a server where schemas may be created, e.g.\n\
         ## {URL_VARIABLE}=postgres://postgres@127.0.0.1:5432/test\n{rule}\n\n"
    );
    let _ = std::io::stderr().write_all(notice.as_bytes());
    None
}

/// A schema name no other test, run or process uses.
fn unique_schema_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "clickbill_test_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A schema that is dropped, with everything in it, when this is dropped, also when the test
/// fails.
pub struct Schema {
    url: String,
    name: String,
}

impl Schema {
    pub fn new(url: &str) -> Schema {
        Schema {
            url: url.to_owned(),
            name: unique_schema_name(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Options for a store in this schema.
    pub fn options(&self) -> PostgresOptions {
        let mut options = PostgresOptions::new(&self.url);
        options.schema = Some(self.name.clone());
        options.pool_size = POOL_SIZE;
        options
    }

    /// A store in this schema, as one more replica would open it.
    pub async fn store(&self) -> Arc<PostgresStore> {
        Arc::new(
            PostgresStore::connect(self.options())
                .await
                .expect("connect to the test database"),
        )
    }

    /// A plain connection whose search path is this schema, for what the store's API does not
    /// offer: holding locks, reading the catalogue.
    pub async fn raw(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, NoTls)
            .await
            .expect("a plain connection to the test database");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("SET search_path TO {}", self.name))
            .await
            .expect("set the search path");
        client
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // A runtime of its own on a thread of its own: this may run inside the test's runtime,
        // which cannot block on a future itself.
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&url, NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .await
                    .map_err(|e| format!("{e}: {:?}", e.as_db_error()))
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(
                std::io::stderr(),
                "the test schema {} was not dropped: {dropped:?}",
                self.name
            );
        }
    }
}

/// A store in a fresh schema; the schema goes when this does.
pub struct Fixture {
    // Declared first so that the store's connections close before the schema is dropped.
    store: Arc<PostgresStore>,
    _schema: Schema,
}

impl AsRef<dyn Store> for Fixture {
    fn as_ref(&self) -> &(dyn Store + 'static) {
        &*self.store
    }
}

impl Fixture {
    /// `None` (after the notice) when no server is configured.
    pub async fn new(test: &str) -> Option<Fixture> {
        let url = server_url(test)?;
        let schema = Schema::new(&url);
        Some(Fixture {
            store: schema.store().await,
            _schema: schema,
        })
    }
}
