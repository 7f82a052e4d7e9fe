//! The shared store suite on a fresh schema per test, then what only the PostgreSQL store
//! promises: several replicas (here, several stores on one schema) that create, change and
//! claim the same rows at once and still act as one; migrations from many replicas at once;
//! the statement timeout; TLS as `sslmode` asks; copying every row to another store.

#[path = "suite/replicas.rs"]
mod replicas;
#[path = "suite/support.rs"]
mod support;

use support::Fixture;

async fn fresh() -> Option<Fixture> {
    Fixture::new("a test of the shared store suite").await
}

clickbill_domain::store_suite_tests!(fresh);
