//! `clickbill group`: a tenant's contact groups (SPEC §9.6), which `AddLeadToGroup` and the API
//! 2.0 contact methods name by `rass_name` or `rass_id`.

use anyhow::{bail, Context};
use clap::Subcommand;
use clickbill_domain::contacts::{GroupId, GroupKind, NewGroup};
use clickbill_domain::StoreError;

use crate::database::{self, with_store, Create};
use crate::{exit, failed, Global};

const AFTER_HELP: &str = "\
RASS_NAME is the group's API id, unique per tenant compared case-insensitively. Kinds:
standard (a mailing list), client (buyers of products join it when an order is fully paid)
and auto (filled by the service; never joined through the API, not listed by GetAllGroups).

Standard output carries data only: the new group's rass_id for `add`; one line per group for
`list`, by rass_id, tab-separated: rass_id, rass_name, kind, title. Confirmations go to
standard error.

Exit status:
  0  done
  1  the database failed
  2  usage or input error (blank name or title, unknown tenant, name or id already taken)";

/// Manage a tenant's contact groups: add, list.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: GroupCommand,
}

#[derive(Subcommand, Debug)]
enum GroupCommand {
    /// Add a group; prints its rass_id.
    Add {
        /// The tenant's login.
        login: String,
        /// The group's API id (rass_name).
        rass_name: String,
        /// The group's title (rass_title).
        #[arg(long, value_name = "T")]
        title: String,
        /// standard, client or auto.
        #[arg(long, default_value = "standard", value_parser = parse_kind)]
        kind: GroupKind,
        /// The group's rass_id; default: the next free one.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
        id: Option<i64>,
    },
    /// List a tenant's groups by rass_id.
    List { login: String },
}

fn parse_kind(text: &str) -> Result<GroupKind, String> {
    GroupKind::parse(text).ok_or_else(|| format!("unknown kind {text:?}: standard, client or auto"))
}

pub fn run(args: &Args, global: &Global) -> anyhow::Result<u8> {
    match &args.command {
        GroupCommand::Add {
            login,
            rass_name,
            title,
            kind,
            id,
        } => {
            if rass_name.trim().is_empty() || rass_name.chars().any(char::is_control) {
                bail!("invalid rass_name {rass_name:?}: it must not be blank or contain control characters");
            }
            if title.chars().any(char::is_control) {
                bail!("invalid title {title:?}: it must not contain control characters");
            }
            let new = NewGroup {
                id: id.map(GroupId),
                name: rass_name.clone(),
                title: title.clone(),
                kind: *kind,
            };
            let login = login.clone();
            let group = with_store(global, Create::IfMissing, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                match store.add_group(tenant.id, new).await {
                    Ok(group) => Ok(group),
                    Err(conflict @ StoreError::Conflict(_)) => {
                        bail!("tenant {}: {conflict}", tenant.login)
                    }
                    Err(error) => Err(failed(
                        anyhow::Error::new(error).context("adding the group"),
                    )),
                }
            })?;
            println!("{}", group.id);
            eprintln!(
                "added {} group {} (rass_id {})",
                group.kind, group.name, group.id
            );
            Ok(exit::OK)
        }
        GroupCommand::List { login } => {
            let login = login.clone();
            let groups = with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                store
                    .groups(tenant.id)
                    .await
                    .context("reading the groups")
                    .map_err(failed)
            })?;
            for group in &groups {
                println!(
                    "{}\t{}\t{}\t{}",
                    group.id, group.name, group.kind, group.title
                );
            }
            Ok(exit::OK)
        }
    }
}
