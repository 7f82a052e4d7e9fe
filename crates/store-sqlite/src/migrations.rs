//! The schema's history. Migration *n* brings a database from `user_version` *n − 1* to *n*;
//! each runs in its own transaction, so a crash leaves the database at a whole version.

use clickbill_domain::StoreError;
use rusqlite::{Connection, TransactionBehavior};

/// Append only: a released migration is never edited, a change is a new entry.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_initial.sql")];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Applies every missing migration and returns the resulting version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<u32, StoreError> {
    loop {
        // The version is read inside the write transaction, so two processes opening a new
        // database at once apply each migration exactly once.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(crate::db_error)?;
        let version: u32 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(crate::db_error)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "the database has schema version {version}, newer than this build's \
                 {SCHEMA_VERSION}; use a newer clickbill"
            )));
        }
        let Some(sql) = MIGRATIONS.get(version as usize) else {
            return Ok(version);
        };
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Backend(format!("migration {}: {e}", version + 1)))?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(crate::db_error)?;
        tx.commit().map_err(crate::db_error)?;
    }
}
