//! The schema's history. Migration *n* brings a database from version *n − 1* to *n* in one
//! transaction (PostgreSQL's DDL is transactional), so a crash leaves it at a whole version.
//!
//! Replicas may start, and so migrate, at the same moment. Without advisory locks they queue on
//! a row instead: `schema_migrations` always holds version 0, the empty schema, and every
//! migration transaction locks that row first, then reads the version and applies what is
//! missing. The next one in the queue then finds nothing left to do.

use crate::db::describe;
use clickbill_domain::StoreError;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

/// Append only: a released migration is never edited, a change is a new entry.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_outbox.sql"),
    include_str!("../migrations/0003_contacts.sql"),
    include_str!("../migrations/0004_payments.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Idempotent statements that concurrent callers may still trip over: `IF NOT EXISTS` checks
/// the catalogue before it inserts into it, so two sessions creating the same object at once
/// can both pass the check and one then fails on the catalogue's unique index.
const BOOTSTRAP_ATTEMPTS: u32 = 3;

/// Migrations may run long (an index over a big table) or wait long (for another replica's
/// migration), which the statement timeout of ordinary work must not cut short; `SET LOCAL`
/// lifts it for the one transaction only.
const NO_TIMEOUT: &str = "SET LOCAL statement_timeout = 0";

async fn bootstrap(client: &mut Client, sql: &str) -> Result<(), StoreError> {
    let mut attempt = 1;
    loop {
        match run_without_timeout(client, sql).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < BOOTSTRAP_ATTEMPTS && lost_creation_race(&e) => attempt += 1,
            Err(e) => {
                return Err(StoreError::Backend(format!(
                    "preparing the schema: {}",
                    describe(&e)
                )))
            }
        }
    }
}

async fn run_without_timeout(client: &mut Client, sql: &str) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.batch_execute(NO_TIMEOUT).await?;
    tx.batch_execute(sql).await?;
    tx.commit().await
}

fn lost_creation_race(e: &tokio_postgres::Error) -> bool {
    [
        SqlState::UNIQUE_VIOLATION,
        SqlState::DUPLICATE_SCHEMA,
        SqlState::DUPLICATE_TABLE,
        SqlState::DUPLICATE_OBJECT,
    ]
    .iter()
    .any(|state| e.code() == Some(state))
}

/// Creates `schema` when given (its name is already checked), applies every missing migration
/// and returns the resulting version. `client`'s search path must name `schema` first.
pub(crate) async fn migrate(client: &mut Client, schema: Option<&str>) -> Result<u32, StoreError> {
    if let Some(schema) = schema {
        let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
        bootstrap(client, &create).await?;
    }
    bootstrap(
        client,
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version    INTEGER PRIMARY KEY, \
             applied_at BIGINT NOT NULL\
         ); \
         INSERT INTO schema_migrations (version, applied_at) \
         VALUES (0, extract(epoch FROM now())::bigint) ON CONFLICT (version) DO NOTHING",
    )
    .await?;
    loop {
        let failed = |e: tokio_postgres::Error| {
            StoreError::Backend(format!("migrating the schema: {}", describe(&e)))
        };
        let tx = client.transaction().await.map_err(failed)?;
        tx.batch_execute(NO_TIMEOUT).await.map_err(failed)?;
        tx.execute(
            "SELECT version FROM schema_migrations WHERE version = 0 FOR UPDATE",
            &[],
        )
        .await
        .map_err(failed)?;
        // Read after the lock: under READ COMMITTED this statement sees what the previous
        // holder of the lock committed.
        let version: i32 = tx
            .query_one("SELECT max(version) FROM schema_migrations", &[])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(failed)?;
        let version = u32::try_from(version)
            .map_err(|_| StoreError::Backend(format!("schema version {version} is invalid")))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "the database has schema version {version}, newer than this build's \
                 {SCHEMA_VERSION}; use a newer clickbill"
            )));
        }
        let Some(sql) = MIGRATIONS.get(version as usize) else {
            tx.commit().await.map_err(failed)?;
            return Ok(version);
        };
        let next = version + 1;
        tx.batch_execute(sql)
            .await
            .map_err(|e| StoreError::Backend(format!("migration {next}: {}", describe(&e))))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) \
             VALUES ($1, extract(epoch FROM now())::bigint)",
            &[&(next as i32)],
        )
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
    }
}
