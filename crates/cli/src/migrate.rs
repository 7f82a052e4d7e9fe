//! `clickbill migrate`: create the database or bring its schema up to date, without serving.

use anyhow::Context;
use clickbill_store_sqlite::SqliteStore;

use crate::database::Database;
use crate::{exit, failed, Global};

const AFTER_HELP: &str = "\
Prints one line: `DATABASE at schema version N`. `serve` and the admin commands migrate on their
own; run this to prepare a database ahead of time or to check which version it is at.

Exit status:
  0  the database is at the current schema version
  1  the database cannot be opened or migrated (or is newer than this build)
  2  usage error (unsupported database URL)";

/// Create the database or bring its schema up to date.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {}

pub fn run(_args: &Args, global: &Global) -> anyhow::Result<u8> {
    let database = Database::parse(&global.database)?;
    let Database::Sqlite(path) = &database;
    let version = SqliteStore::migrate(path)
        .with_context(|| format!("migrating {}", database.describe()))
        .map_err(failed)?;
    println!("{} at schema version {version}", database.describe());
    Ok(exit::OK)
}
