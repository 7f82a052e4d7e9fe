//! The PostgreSQL backend: every test gets a schema of its own in the database that
//! CLICKBILL_TEST_POSTGRES_URL names, dropped with the test's database. Without the variable
//! there is no database: the test is announced as skipped and passes.

use clickbill_domain::Store;
use clickbill_store_postgres::{PostgresOptions, PostgresStore};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

const URL_VARIABLE: &str = "CLICKBILL_TEST_POSTGRES_URL";

/// Connections per test: enough for the concurrent requests of a test, few enough that the
/// tests running at once stay well below the server's `max_connections`.
const POOL_SIZE: usize = 4;

/// How long the cleanup waits for a lock before it ends the sessions holding it and tries again.
const CLEANUP_LOCK_TIMEOUT: &str = "2s";
const CLEANUP_ATTEMPTS: usize = 5;

/// Whether the suite runs over the embedded store (whose writer thread reports metrics).
pub const EMBEDDED: bool = false;

/// One test's own empty schema; it is dropped, with everything in it, when this is dropped.
pub struct TestDatabase {
    pub store: Arc<dyn Store>,
    _schema: SchemaGuard,
}

impl TestDatabase {
    /// `None`, after a notice on the standard error, when CLICKBILL_TEST_POSTGRES_URL is unset.
    pub async fn create() -> Option<TestDatabase> {
        let Some(url) = std::env::var(URL_VARIABLE)
            .ok()
            .filter(|url| !url.is_empty())
        else {
            announce_skip();
            return None;
        };
        // The guard comes first, so that a schema the store made before failing is dropped too.
        let schema = SchemaGuard {
            url: url.clone(),
            name: unique_schema_name(),
        };
        let mut options = PostgresOptions::new(url);
        options.pool_size = POOL_SIZE;
        options.schema = Some(schema.name.clone());
        let store = PostgresStore::connect(options)
            .await
            .unwrap_or_else(|error| panic!("connecting to {URL_VARIABLE}: {error}"));
        Some(TestDatabase {
            store: Arc::new(store),
            _schema: schema,
        })
    }
}

/// Unique across the tests of this process (counter), across processes running at once (pid),
/// and across runs whose pids repeat (time).
fn unique_schema_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_millis();
    format!(
        "clickbill_api_test_{}_{}_{millis}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn announce_skip() {
    // The test harness names each test's thread after the test.
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let rule = "#".repeat(90);
    let notice = format!(
        "\n{rule}\n## {test}: SKIPPED, NO POSTGRESQL SERVER WAS USED\n\
         ## Set {URL_VARIABLE} (e.g. postgres://postgres@127.0.0.1:5432/test) to run it.\n\
         {rule}\n\n"
    );
    // Written to the stderr handle itself: the test harness captures `eprintln!`, and this
    // notice must be seen even though the test passes.
    let _ = std::io::stderr().write_all(notice.as_bytes());
}

/// Drops its schema when dropped.
struct SchemaGuard {
    url: String,
    name: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime cannot be blocked on from within it: a
        // thread with a runtime of its own does the work while this waits for it.
        let (url, name) = (self.url.clone(), self.name.clone());
        let outcome = std::thread::spawn(move || drop_schema(&url, &name)).join();
        let problem = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error.to_string(),
            Err(_) => "the cleanup thread panicked".to_owned(),
        };
        // Not a panic: this may run while the test is already unwinding from a failure.
        let _ = writeln!(
            std::io::stderr(),
            "schema {} was left behind: {problem}",
            self.name
        );
    }
}

fn drop_schema(url: &str, schema: &str) -> Result<(), tokio_postgres::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the cleanup");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client
            .batch_execute(&format!("SET lock_timeout = '{CLEANUP_LOCK_TIMEOUT}'"))
            .await?;
        let mut attempt = 1;
        loop {
            // The test's runtime is blocked in this Drop, so a server task that it left inside
            // a transaction can never end it: that session's locks would hold DROP SCHEMA up
            // for ever. Such sessions are ended first.
            client
                .execute(
                    "SELECT pg_terminate_backend(holder.pid) FROM (
                         SELECT DISTINCT held.pid FROM pg_locks held
                         JOIN pg_class locked ON locked.oid = held.relation
                         JOIN pg_namespace home ON home.oid = locked.relnamespace
                         WHERE home.nspname = $1 AND held.pid <> pg_backend_pid()
                     ) holder",
                    &[&schema],
                )
                .await?;
            let dropped = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .await;
            match dropped {
                Err(error) if is_lock_timeout(&error) && attempt < CLEANUP_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    })
}

fn is_lock_timeout(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE)
}
