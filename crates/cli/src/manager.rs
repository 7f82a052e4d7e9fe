//! `clickbill manager`: a tenant's personal managers (SPEC §9.7), whom API 2.0 orders name and
//! `getpersonalmanagers` lists.

use anyhow::{bail, Context};
use clap::Subcommand;
use clickbill_domain::model::{ManagerId, NewManager};
use clickbill_domain::StoreError;

use crate::database::{self, with_store, Create};
use crate::{exit, failed, Global};

const AFTER_HELP: &str = "\
NAME is free text without control characters (names need not be unique). --id keeps a number
the manager already has elsewhere; by default the next free one is used.

Standard output carries data only: the new manager's id for `add`; one line per manager for
`list`, by id, tab-separated: id, name. Confirmations go to standard error.

Exit status:
  0  done
  1  the database failed
  2  usage or input error (blank name, unknown tenant, id already taken, no database at the
     given URL)";

/// Manage a tenant's personal managers: add, list.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: ManagerCommand,
}

#[derive(Subcommand, Debug)]
enum ManagerCommand {
    /// Add a manager; prints its id.
    Add {
        /// The tenant's login.
        login: String,
        /// The manager's name.
        name: String,
        /// The manager's id; default: the next free one.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
        id: Option<i64>,
    },
    /// List a tenant's managers by id.
    List { login: String },
}

pub fn run(args: &Args, global: &Global) -> anyhow::Result<u8> {
    match &args.command {
        ManagerCommand::Add { login, name, id } => {
            if name.trim().is_empty() || name.chars().any(char::is_control) {
                bail!("invalid manager name {name:?}: it must not be blank or contain control characters");
            }
            let new = NewManager {
                id: id.map(ManagerId),
                name: name.clone(),
            };
            let login = login.clone();
            let manager = with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                match store.add_manager(tenant.id, new).await {
                    Ok(manager) => Ok(manager),
                    Err(conflict @ StoreError::Conflict(_)) => {
                        bail!("tenant {}: {conflict}", tenant.login)
                    }
                    Err(error) => Err(failed(
                        anyhow::Error::new(error).context("adding the manager"),
                    )),
                }
            })?;
            println!("{}", manager.id.0);
            eprintln!("added manager {} (id {})", manager.name, manager.id.0);
            Ok(exit::OK)
        }
        ManagerCommand::List { login } => {
            let login = login.clone();
            let managers = with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                store
                    .managers(tenant.id)
                    .await
                    .context("reading the managers")
                    .map_err(failed)
            })?;
            for manager in &managers {
                println!("{}\t{}", manager.id.0, manager.name);
            }
            Ok(exit::OK)
        }
    }
}
