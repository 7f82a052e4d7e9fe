//! The `clickbill` command line.
//!
//! One module per subcommand; each exposes an `Args` struct (its clap arguments) and a `run`
//! function that returns the process exit code. Exit codes are the same for every subcommand and
//! are part of the documented contract (see `--help`).

mod calendar;
mod call;
mod contact;
mod copy;
mod coupon;
mod database;
mod group;
mod healthcheck;
mod limits;
mod manager;
mod migrate;
mod notifications;
mod partner;
mod product;
mod sandbox;
mod serve;
mod sign;
mod tenant;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Exit codes shared by every subcommand.
pub mod exit {
    /// Success (for `sign`: the sent hash is valid, or no hash was sent).
    pub const OK: u8 = 0;
    /// The command ran but its check or its operation failed (`sign`: the sent hash does not
    /// match; `call`: the answer carries a non-zero error_code or does not verify; `healthcheck`:
    /// the server is not healthy; any command: the server or the database failed).
    pub const CHECK_FAILED: u8 = 1;
    /// Usage or input error: bad arguments, unreadable input, unknown tenant, product, coupon or
    /// partner, a name or id already taken.
    pub const USAGE: u8 = 2;
}

/// An error that ends the command with [`exit::CHECK_FAILED`] rather than [`exit::USAGE`]: the
/// input was fine, but something outside it (the database, the network) failed.
#[derive(Debug)]
pub struct Failed(pub anyhow::Error);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Failed {}

/// Marks an error as an operational failure (exit 1) instead of an input error (exit 2).
pub fn failed(error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Failed(error.into()))
}

/// Prints `value` as indented JSON: what `show` and `--json` commands put on standard output.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("rendering JSON")?;
    println!("{text}");
    Ok(())
}

const EXIT_CODES_HELP: &str = "\
Exit status:
  0  success (sign: the sent hash is valid, or the body carries no hash)
  1  the check or the operation failed (sign: the hash does not match; call: error_code is not
     0 or the answer's hash does not verify; healthcheck: not healthy; any command: the server
     or the database failed)
  2  usage or input error (unknown option, missing argument, unreadable input, unknown tenant,
     product, coupon or partner, a name or id already taken, unsupported database URL)

Errors are printed to standard error as `clickbill: error: ...`.";

/// A self-hosted order and invoice server that speaks the JustClick HTTP API byte for byte.
#[derive(Parser, Debug)]
#[command(name = "clickbill", version, after_help = EXIT_CODES_HELP)]
struct Cli {
    #[command(flatten)]
    global: Global,

    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand accepts, before or after its own arguments.
#[derive(clap::Args, Debug)]
pub struct Global {
    /// Database to use: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE
    ///
    /// A SQLite file is created on first use. A PostgreSQL database must exist; clickbill
    /// creates and upgrades its tables in it. TLS to PostgreSQL is chosen by the URL's sslmode
    /// parameter, as with libpq: disable (plain text), prefer (the default: TLS when the server
    /// offers it), require (TLS, certificate not checked), verify-ca (TLS, certificate signed by
    /// a trusted authority) or verify-full (also issued for the host connected to). The trusted
    /// authorities are the public web's, or those of the PEM file sslrootcert=PATH names.
    /// Subcommands that need no database ignore it. The password is never printed: messages
    /// name a PostgreSQL database as postgres://USER@HOST:PORT/DATABASE, and the environment
    /// variable's value is hidden.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "CLICKBILL_DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://clickbill.db"
    )]
    pub database: String,

    /// PostgreSQL: connections this process keeps open at most
    ///
    /// Every process (each server replica, each admin command) has its own pool: keep the sum
    /// below the server's max_connections.
    #[arg(
        long,
        global = true,
        value_name = "N",
        default_value_t = 16,
        value_parser = clap::value_parser!(u32).range(1..=10_000)
    )]
    pub db_pool_size: u32,

    /// PostgreSQL: seconds one statement may run before the server cancels it
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub db_statement_timeout: u64,

    /// PostgreSQL: seconds opening a connection may take
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3_600)
    )]
    pub db_connect_timeout: u64,
}

impl Global {
    pub fn postgres_settings(&self) -> database::PostgresSettings {
        database::PostgresSettings {
            pool_size: self.db_pool_size as usize,
            statement_timeout: std::time::Duration::from_secs(self.db_statement_timeout),
            connect_timeout: std::time::Duration::from_secs(self.db_connect_timeout),
        }
    }
}

// Parsed once per process: boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    Serve(serve::Args),
    Migrate(migrate::Args),
    Tenant(tenant::Args),
    Product(product::Args),
    Coupon(coupon::Args),
    Partner(partner::Args),
    Manager(manager::Args),
    Group(group::Args),
    Contact(contact::Args),
    Call(call::Args),
    Healthcheck(healthcheck::Args),
    Sign(sign::Args),
    Copy(copy::Args),
    Notifications(notifications::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Serve(args) => serve::run(args, &cli.global),
        Command::Migrate(args) => migrate::run(args, &cli.global),
        Command::Tenant(args) => tenant::run(args, &cli.global),
        Command::Product(args) => product::run(args, &cli.global),
        Command::Coupon(args) => coupon::run(args, &cli.global),
        Command::Partner(args) => partner::run(args, &cli.global),
        Command::Manager(args) => manager::run(args, &cli.global),
        Command::Group(args) => group::run(args, &cli.global),
        Command::Contact(args) => contact::run(args, &cli.global),
        Command::Call(args) => call::run(args),
        Command::Healthcheck(args) => healthcheck::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Copy(args) => copy::run(args, &cli.global),
        Command::Notifications(args) => notifications::run(args, &cli.global),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let code = if err.downcast_ref::<Failed>().is_some() {
                exit::CHECK_FAILED
            } else {
                exit::USAGE
            };
            eprintln!("clickbill: error: {err:#}");
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn database_is_accepted_before_and_after_the_subcommand() {
        let before = Cli::try_parse_from([
            "clickbill",
            "--database",
            "sqlite://x.db",
            "sign",
            "--login",
            "l",
            "--secret",
            "s",
            "a=1",
        ])
        .unwrap();
        assert_eq!(before.global.database, "sqlite://x.db");
        let after = Cli::try_parse_from([
            "clickbill",
            "sign",
            "--login",
            "l",
            "--secret",
            "s",
            "a=1",
            "--database",
            "postgres://h/db",
        ])
        .unwrap();
        assert_eq!(after.global.database, "postgres://h/db");
        let nested = Cli::try_parse_from([
            "clickbill",
            "tenant",
            "show",
            "demo",
            "--database",
            "sqlite://y.db",
        ])
        .unwrap();
        assert_eq!(nested.global.database, "sqlite://y.db");
    }

    #[test]
    fn postgres_options_are_global_with_documented_defaults() {
        let defaults = Cli::try_parse_from(["clickbill", "migrate"]).unwrap();
        assert_eq!(
            defaults.global.postgres_settings(),
            database::PostgresSettings {
                pool_size: 16,
                statement_timeout: std::time::Duration::from_secs(10),
                connect_timeout: std::time::Duration::from_secs(10),
            }
        );
        let given = Cli::try_parse_from([
            "clickbill",
            "--db-pool-size",
            "4",
            "tenant",
            "list",
            "--db-statement-timeout",
            "30",
            "--db-connect-timeout",
            "2",
        ])
        .unwrap();
        assert_eq!(given.global.postgres_settings().pool_size, 4);
        assert_eq!(given.global.db_statement_timeout, 30);
        assert_eq!(given.global.db_connect_timeout, 2);
        assert!(Cli::try_parse_from(["clickbill", "--db-pool-size", "0", "migrate"]).is_err());
    }

    #[test]
    fn failures_are_told_apart_from_usage_errors() {
        let usage = anyhow::anyhow!("bad input");
        assert!(usage.downcast_ref::<Failed>().is_none());
        let failure = failed(anyhow::anyhow!("disk full")).context("adding the tenant");
        assert!(failure.downcast_ref::<Failed>().is_some());
        assert_eq!(
            format!("{failure:#}"),
            "adding the tenant: disk full",
            "the marker adds nothing to the message"
        );
    }
}
