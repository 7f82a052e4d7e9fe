//! The `clickbill` command line.
//!
//! One module per subcommand; each exposes an `Args` struct (its clap arguments) and a `run`
//! function that returns the process exit code. Exit codes are the same for every subcommand and
//! are part of the documented contract (see `--help`).

mod sign;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes shared by every subcommand.
pub mod exit {
    /// Success (for `sign`: the sent hash is valid, or no hash was sent).
    pub const OK: u8 = 0;
    /// The command ran but its check failed (for `sign`: the sent hash does not match).
    pub const CHECK_FAILED: u8 = 1;
    /// Usage or input error: bad arguments, unreadable input.
    pub const USAGE: u8 = 2;
}

const EXIT_CODES_HELP: &str = "\
Exit status:
  0  success (sign: the sent hash is valid, or the body carries no hash)
  1  the check failed (sign: the sent hash does not match)
  2  usage or input error (unknown option, missing argument, unreadable input)";

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
struct Global {
    /// Database to use: sqlite://PATH or postgres://...
    ///
    /// Subcommands that need no database ignore it. The value of the environment variable is
    /// never printed: a URL may carry a password.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "CLICKBILL_DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://clickbill.db"
    )]
    #[allow(dead_code)] // read by the subcommands that open the database
    database: String,
}

#[derive(Subcommand, Debug)]
enum Command {
    Sign(sign::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Sign(args) => sign::run(args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("clickbill: error: {err:#}");
            ExitCode::from(exit::USAGE)
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
    }
}
