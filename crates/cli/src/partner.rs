//! `clickbill partner`: a tenant's affiliates (SPEC §9.4) and what they earned (§14.5).

use std::collections::HashMap;

use anyhow::{bail, Context};
use clap::Subcommand;
use clickbill_domain::listing::days_window;
use clickbill_domain::model::{NewPartner, Partner, PartnerId, Tenant};
use clickbill_domain::{Clock, Store, StoreError, SystemClock};
use serde_json::json;

use crate::calendar::{local_time, parse_day};
use crate::database::{self, with_store, Create};
use crate::{exit, failed, print_json, Global};

const AFTER_HELP: &str = "\
PARTNER_LOGIN is the partner's name in orders (bill_aff_name, utm_source): any text without
spaces or control characters, unique per tenant, case-insensitively. A partner is registered at
the moment `add` runs. --id keeps a number the partner already has elsewhere; by default the next
free one is used.

`show` counts, like the API's GetPartnerStats: earned, the partner's fees on orders paid in full
whose payment time lies in the window; bills, those orders; sub_partners, the partners whose
parent it is, registered in the window. --from and --to are days in the tenant's time zone
(tenant setting time_zone), both included; without them the window is open on that side.

Standard output carries data only: the new partner's id for `add`; one line per partner for
`list`, by id, tab-separated: id, login, parent login (or `-`), registration time; a JSON object
for `show` with the keys id, login, parent (null without one), registered, time_zone, from, to
(null when open), earned (money as a string), bills, sub_partners. Times are YYYY-MM-DD HH:MM:SS
in the tenant's time zone. Confirmations go to standard error.

Exit status:
  0  done
  1  the database failed
  2  usage or input error (invalid login or date, unknown tenant or partner, login or id already
     taken, no database at the given URL)";

/// Manage a tenant's partners: add, list, show.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: PartnerCommand,
}

#[derive(Subcommand, Debug)]
enum PartnerCommand {
    /// Add a partner; prints its id.
    Add {
        /// The tenant's login.
        login: String,
        /// The partner's login.
        partner_login: String,
        /// The login of the partner that brought this one (level 2 of its orders).
        #[arg(long, value_name = "PARENT_LOGIN")]
        parent: Option<String>,
        /// The partner's id; default: the next free one.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
        id: Option<i64>,
    },
    /// List a tenant's partners by id.
    List { login: String },
    /// Show a partner and its totals as JSON.
    Show {
        /// The tenant's login.
        login: String,
        /// The partner's login.
        partner_login: String,
        /// The first day counted.
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<String>,
        /// The last day counted.
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<String>,
    },
}

pub fn run(args: &Args, global: &Global) -> anyhow::Result<u8> {
    match &args.command {
        PartnerCommand::Add {
            login,
            partner_login,
            parent,
            id,
        } => {
            let new_login = partner_login_of(partner_login)?;
            let (login, parent, id) = (login.clone(), parent.clone(), id.map(PartnerId));
            let partner = with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                let parent = match parent {
                    Some(parent) => Some(partner(store.as_ref(), &tenant, &parent).await?.id),
                    None => None,
                };
                let new = NewPartner {
                    id,
                    login: new_login,
                    parent,
                    registered_at: SystemClock.now(),
                };
                match store.add_partner(tenant.id, new).await {
                    Ok(partner) => Ok(partner),
                    Err(conflict @ StoreError::Conflict(_)) => {
                        bail!("tenant {}: {conflict}", tenant.login)
                    }
                    Err(error) => Err(failed(
                        anyhow::Error::new(error).context("adding the partner"),
                    )),
                }
            })?;
            println!("{}", partner.id.0);
            eprintln!("added partner {} (id {})", partner.login, partner.id.0);
            Ok(exit::OK)
        }
        PartnerCommand::List { login } => {
            let login = login.clone();
            let (tenant, partners) = with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                let partners = store
                    .partners(tenant.id)
                    .await
                    .context("reading the partners")
                    .map_err(failed)?;
                Ok((tenant, partners))
            })?;
            let logins: HashMap<PartnerId, &str> = partners
                .iter()
                .map(|partner| (partner.id, partner.login.as_str()))
                .collect();
            for partner in &partners {
                let parent = partner.parent.map_or_else(
                    || "-".to_owned(),
                    |id| {
                        logins
                            .get(&id)
                            .map_or_else(|| format!("#{}", id.0), |l| l.to_string())
                    },
                );
                println!(
                    "{}\t{}\t{parent}\t{}",
                    partner.id.0,
                    partner.login,
                    local_time(tenant.settings.time_zone, partner.registered_at)
                );
            }
            Ok(exit::OK)
        }
        PartnerCommand::Show {
            login,
            partner_login,
            from,
            to,
        } => {
            let first_day = from
                .as_deref()
                .map(|t| parse_day("--from", t))
                .transpose()?;
            let last_day = to.as_deref().map(|t| parse_day("--to", t)).transpose()?;
            if let (Some(first), Some(last)) = (first_day, last_day) {
                if first > last {
                    bail!("--from {first} is after --to {last}");
                }
            }
            let (login, wanted) = (login.clone(), partner_login.clone());
            let (tenant, partner, parent, stats) =
                with_store(global, Create::Never, |store| async move {
                    let tenant = database::tenant(store.as_ref(), &login).await?;
                    let partner = partner(store.as_ref(), &tenant, &wanted).await?;
                    let parent = match partner.parent {
                        Some(id) => store
                            .partner_by_id(tenant.id, id)
                            .await
                            .context("reading the partners")
                            .map_err(failed)?,
                        None => None,
                    };
                    let window = days_window(first_day, last_day, tenant.settings.time_zone);
                    let stats = store
                        .partner_stats(tenant.id, partner.id, window)
                        .await
                        .context("counting the partner's totals")
                        .map_err(failed)?;
                    Ok((tenant, partner, parent, stats))
                })?;
            let zone = tenant.settings.time_zone;
            print_json(&json!({
                "id": partner.id.0,
                "login": partner.login,
                "parent": parent.map(|parent| parent.login),
                "registered": local_time(zone, partner.registered_at),
                "time_zone": zone.name(),
                "from": first_day.map(|day| day.to_string()),
                "to": last_day.map(|day| day.to_string()),
                "earned": stats.earned.to_string(),
                "bills": stats.bills,
                "sub_partners": stats.sub_partners,
            }))?;
            Ok(exit::OK)
        }
    }
}

/// The partner `login` names, or an input error saying there is none.
async fn partner(store: &dyn Store, tenant: &Tenant, login: &str) -> anyhow::Result<Partner> {
    store
        .partner_by_login(tenant.id, login)
        .await
        .context("reading the partners")
        .map_err(failed)?
        .with_context(|| format!("tenant {} has no partner {login}", tenant.login))
}

fn partner_login_of(text: &str) -> anyhow::Result<String> {
    if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!(
            "invalid partner login {text:?}: it must not be empty or contain spaces or control \
             characters"
        );
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_logins_are_single_words() {
        assert_eq!(partner_login_of("anna.k").unwrap(), "anna.k");
        for bad in ["", "two words", "new\nline", " anna"] {
            assert!(partner_login_of(bad).is_err(), "{bad:?}");
        }
    }
}
