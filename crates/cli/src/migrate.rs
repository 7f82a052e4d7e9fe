//! `clickbill migrate`: create the database or bring its schema up to date, without serving.

use crate::{database, exit, Global};

const AFTER_HELP: &str = "\
Prints one line: `DATABASE at schema version N` (a PostgreSQL URL without its password and
parameters). `serve` and the admin commands migrate on their own; run this to prepare a database
ahead of time, to check which version it is at, or first when upgrading several servers that
share a PostgreSQL database. A PostgreSQL database must exist already; clickbill creates its
tables in it.

Exit status:
  0  the database is at the current schema version
  1  the database cannot be reached, opened or migrated (or is newer than this build)
  2  usage error (unsupported or malformed database URL)";

/// Create the database or bring its schema up to date.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {}

pub fn run(_args: &Args, global: &Global) -> anyhow::Result<u8> {
    let (database, version) = database::migrate(&global.database, &global.postgres_settings())?;
    println!("{database} at schema version {version}");
    Ok(exit::OK)
}
