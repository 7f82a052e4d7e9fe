//! `clickbill contact`: list, show, export and import a tenant's contacts (SPEC §9.6).
//!
//! Export and import stream: export reads the contacts a page at a time and writes each row as
//! it comes; import reads one row at a time and keeps a bounded number of writes in flight, so
//! neither holds the whole list in memory.

use anyhow::{bail, Context};
use clap::Subcommand;
use clickbill_domain::contacts::{
    find_group, Contact, ContactCommand, ContactFilter, ContactOutcome, CountScope, Group,
    StoredContact, Subscription, SubscriptionStatus,
};
use clickbill_domain::model::{PartnerId, Utm};
use clickbill_domain::Store;
use clickbill_protocol::value::Email;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::task::JoinSet;

use crate::database::{self, with_store, Create};
use crate::{exit, failed, print_json, Global};

const AFTER_HELP: &str = "\
`list` prints one line per contact, by number, tab-separated (tabs, line breaks and
backslashes inside a value written as \\t, \\n, \\r and \\\\): email (`-` when none), name,
phone, city, tags (comma-separated), partner id (`-` when none), subscriptions as
rass_name:STATUS (comma-separated). `show` prints one contact as JSON.

`export` writes CSV to standard output with the header
  email,name,first_name,middle_name,last_name,phone,city,tags,partner_id,created_at,extras,subscriptions
where tags is a JSON list, extras a JSON object and subscriptions a JSON list of objects with
rass_name, status, time, ip, utm, aff_utm and doneurl2. On a terminal it shows its progress on
standard error. `import` reads the same format: each row replaces the data and subscriptions of
the contact with that e-mail (created when missing); groups are found by rass_name in the
importing tenant. Importing the same file again changes nothing. Rows without an e-mail create
a new contact each time. Import records no unsubscribe notifications. It reports on standard
error how many contacts it created or changed and how many were already as in the file.

Exit status:
  0  done
  1  the database failed
  2  usage or input error (unknown tenant, group or contact, unreadable or malformed CSV; an
     import stops at the first bad row, the rows before it are kept)";

/// List, show, export and import a tenant's contacts.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: ContactCommandLine,
}

#[derive(clap::Args, Debug, Clone, Default)]
struct FilterArgs {
    /// Only contacts with a subscription in this group (rass_name or rass_id).
    #[arg(long, value_name = "RASS_NAME")]
    group: Option<String>,
    /// Only contacts with a subscription in this status (in --group, when given).
    #[arg(long, value_name = "STATUS_…", value_parser = parse_status)]
    status: Option<SubscriptionStatus>,
    /// Only contacts with this tag (compared case-sensitively).
    #[arg(long)]
    tag: Option<String>,
    /// Only contacts attributed to this partner (login).
    #[arg(long, value_name = "PARTNER_LOGIN")]
    partner: Option<String>,
}

#[derive(Subcommand, Debug)]
enum ContactCommandLine {
    /// List contacts by number.
    List {
        login: String,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Show one contact as JSON.
    Show { login: String, email: String },
    /// Write the contacts as CSV to standard output.
    Export {
        login: String,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Read contacts from a CSV file written by `export`.
    Import { login: String, file: PathBuf },
}

fn parse_status(text: &str) -> Result<SubscriptionStatus, String> {
    SubscriptionStatus::parse(text).ok_or_else(|| {
        let all: Vec<&str> = SubscriptionStatus::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown status {text:?}: one of {}", all.join(", "))
    })
}

const HEADER: [&str; 12] = [
    "email",
    "name",
    "first_name",
    "middle_name",
    "last_name",
    "phone",
    "city",
    "tags",
    "partner_id",
    "created_at",
    "extras",
    "subscriptions",
];

/// Contacts read per page.
const PAGE: usize = 1000;
/// Writes an import keeps in flight, so that the store commits them in groups.
const IN_FLIGHT: usize = 64;

pub fn run(args: &Args, global: &Global) -> anyhow::Result<u8> {
    match &args.command {
        ContactCommandLine::List { login, filter } => {
            let (login, filter) = (login.clone(), filter.clone());
            with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                let groups = read_groups(store.as_ref(), &tenant).await?;
                let filter = resolve(store.as_ref(), &tenant, &groups, &filter).await?;
                let mut out = std::io::stdout().lock();
                each_contact(store.as_ref(), &tenant, &filter, |stored| {
                    writeln!(out, "{}", list_line(&stored.contact, &groups))
                        .context("writing the list")
                })
                .await
            })?;
            Ok(exit::OK)
        }
        ContactCommandLine::Show { login, email } => {
            let (login, email) = (login.clone(), email.clone());
            let (contact, groups) = with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                let email = Email::parse(email.as_bytes())
                    .map_err(|_| anyhow::anyhow!("invalid e-mail {email:?}"))?;
                let found = store
                    .contact_by_email(tenant.id, email.as_str())
                    .await
                    .context("reading the contact")
                    .map_err(failed)?
                    .with_context(|| format!("no contact {email}"))?;
                Ok((found, read_groups(store.as_ref(), &tenant).await?))
            })?;
            print_json(&contact_json(&contact.contact, &groups))?;
            Ok(exit::OK)
        }
        ContactCommandLine::Export { login, filter } => {
            let (login, filter) = (login.clone(), filter.clone());
            with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                let groups = read_groups(store.as_ref(), &tenant).await?;
                let filter = resolve(store.as_ref(), &tenant, &groups, &filter).await?;
                let progress = progress_bar(store.as_ref(), &tenant).await?;
                let mut writer = csv::Writer::from_writer(std::io::stdout().lock());
                writer.write_record(HEADER).context("writing CSV")?;
                each_contact(store.as_ref(), &tenant, &filter, |stored| {
                    if let Some(bar) = &progress {
                        bar.inc(1);
                    }
                    writer
                        .write_record(csv_row(&stored.contact, &groups))
                        .context("writing CSV")
                })
                .await?;
                writer.flush().context("writing CSV")?;
                if let Some(bar) = progress {
                    bar.finish_and_clear();
                }
                Ok(())
            })?;
            Ok(exit::OK)
        }
        ContactCommandLine::Import { login, file } => {
            let (login, file) = (login.clone(), file.clone());
            let (changed, unchanged) = with_store(global, Create::IfMissing, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                let groups = read_groups(store.as_ref(), &tenant).await?;
                import(store, tenant.id, &groups, &file).await
            })?;
            eprintln!("imported contacts: {changed} created or changed, {unchanged} unchanged");
            Ok(exit::OK)
        }
    }
}

async fn read_groups(
    store: &dyn Store,
    tenant: &clickbill_domain::model::Tenant,
) -> anyhow::Result<Vec<Group>> {
    store
        .groups(tenant.id)
        .await
        .context("reading the groups")
        .map_err(failed)
}

async fn resolve(
    store: &dyn Store,
    tenant: &clickbill_domain::model::Tenant,
    groups: &[Group],
    args: &FilterArgs,
) -> anyhow::Result<ContactFilter> {
    let group = match &args.group {
        Some(name) => Some(
            find_group(groups, name)
                .with_context(|| format!("tenant {}: no group {name:?}", tenant.login))?
                .id,
        ),
        None => None,
    };
    let partner = match &args.partner {
        Some(login) => Some(
            store
                .partner_by_login(tenant.id, login)
                .await
                .context("reading the partner")
                .map_err(failed)?
                .with_context(|| format!("tenant {}: no partner {login:?}", tenant.login))?
                .id,
        ),
        None => None,
    };
    Ok(ContactFilter {
        group,
        status: args.status,
        tag: args.tag.clone(),
        partner,
    })
}

/// Calls `each` for every contact the filter admits, a page at a time.
async fn each_contact(
    store: &dyn Store,
    tenant: &clickbill_domain::model::Tenant,
    filter: &ContactFilter,
    mut each: impl FnMut(&StoredContact) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut after = None;
    loop {
        let page = store
            .contacts_page(tenant.id, after, PAGE)
            .await
            .context("reading the contacts")
            .map_err(failed)?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = Some(last.id);
        for stored in page.iter().filter(|s| filter.admits(&s.contact)) {
            each(stored)?;
        }
    }
}

async fn progress_bar(
    store: &dyn Store,
    tenant: &clickbill_domain::model::Tenant,
) -> anyhow::Result<Option<ProgressBar>> {
    if !std::io::stderr().is_terminal() {
        return Ok(None);
    }
    let total = store
        .count_contacts(tenant.id, CountScope::All)
        .await
        .context("counting the contacts")
        .map_err(failed)?;
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("exporting contacts {bar:40} {pos}/{len}") {
        bar.set_style(style);
    }
    Ok(Some(bar))
}

fn group_name(groups: &[Group], subscription: &Subscription) -> String {
    groups
        .iter()
        .find(|g| g.id == subscription.group)
        .map_or_else(|| subscription.group.to_string(), |g| g.name.clone())
}

/// A cell of a `list` line: tabs, line breaks and backslashes escaped, so that every contact
/// stays on one line.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn list_line(contact: &Contact, groups: &[Group]) -> String {
    let subscriptions: Vec<String> = contact
        .subscriptions
        .iter()
        .map(|s| format!("{}:{}", group_name(groups, s), s.status))
        .collect();
    [
        contact.email.clone().unwrap_or_else(|| "-".into()),
        contact.name.clone(),
        contact.phone.clone(),
        contact.city.clone(),
        contact.tags.join(","),
        contact
            .partner
            .map_or_else(|| "-".into(), |p| p.0.to_string()),
        subscriptions.join(","),
    ]
    .map(|text| cell(&text))
    .join("\t")
}

fn utm_json(utm: &Utm) -> Value {
    json!({
        "medium": utm.medium, "source": utm.source, "campaign": utm.campaign,
        "content": utm.content, "term": utm.term,
    })
}

fn subscriptions_json(contact: &Contact, groups: &[Group]) -> Value {
    Value::Array(
        contact
            .subscriptions
            .iter()
            .map(|s| {
                json!({
                    "rass_name": group_name(groups, s),
                    "status": s.status.as_str(),
                    "time": s.time,
                    "ip": s.ip,
                    "utm": utm_json(&s.utm),
                    "aff_utm": utm_json(&s.aff_utm),
                    "doneurl2": s.doneurl2,
                })
            })
            .collect(),
    )
}

fn contact_json(contact: &Contact, groups: &[Group]) -> Value {
    json!({
        "email": contact.email,
        "name": contact.name,
        "first_name": contact.first_name,
        "middle_name": contact.middle_name,
        "last_name": contact.last_name,
        "phone": contact.phone,
        "city": contact.city,
        "tags": contact.tags,
        "partner_id": contact.partner.map(|p| p.0),
        "created_at": contact.created_at,
        "extras": contact.extras,
        "subscriptions": subscriptions_json(contact, groups),
    })
}

fn csv_row(contact: &Contact, groups: &[Group]) -> [String; 12] {
    [
        contact.email.clone().unwrap_or_default(),
        contact.name.clone(),
        contact.first_name.clone(),
        contact.middle_name.clone(),
        contact.last_name.clone(),
        contact.phone.clone(),
        contact.city.clone(),
        serde_json::to_string(&contact.tags).unwrap_or_default(),
        contact.partner.map(|p| p.0.to_string()).unwrap_or_default(),
        contact.created_at.to_string(),
        serde_json::to_string(&contact.extras).unwrap_or_default(),
        subscriptions_json(contact, groups).to_string(),
    ]
}

/// Reads the file row by row; at most [`IN_FLIGHT`] writes wait at any time.
async fn import(
    store: Arc<dyn Store>,
    tenant: clickbill_domain::model::TenantId,
    groups: &[Group],
    file: &PathBuf,
) -> anyhow::Result<(u64, u64)> {
    let mut reader =
        csv::Reader::from_path(file).with_context(|| format!("reading {}", file.display()))?;
    let header = reader.headers().context("reading the CSV header")?.clone();
    if header.iter().collect::<Vec<_>>() != HEADER {
        bail!("{}: the header is not {}", file.display(), HEADER.join(","));
    }
    let (mut changed, mut unchanged) = (0u64, 0u64);
    let mut writes: JoinSet<Result<ContactOutcome, clickbill_domain::StoreError>> = JoinSet::new();
    let mut tally = |outcome: ContactOutcome| match outcome {
        ContactOutcome::Unchanged => unchanged += 1,
        _ => changed += 1,
    };
    for (line, record) in reader.records().enumerate() {
        let record =
            record.with_context(|| format!("{}: reading row {}", file.display(), line + 2))?;
        let (email, contact) = parse_row(&record, groups)
            .with_context(|| format!("{}: row {}", file.display(), line + 2))?;
        if writes.len() >= IN_FLIGHT {
            if let Some(done) = writes.join_next().await {
                tally(
                    done.context("an import write")?
                        .context("importing")
                        .map_err(failed)?,
                );
            }
        }
        let store = Arc::clone(&store);
        writes.spawn(async move {
            let now = contact.created_at;
            store
                .change_contact(
                    tenant,
                    email.as_deref(),
                    ContactCommand::Import(contact),
                    now,
                )
                .await
        });
    }
    while let Some(done) = writes.join_next().await {
        tally(
            done.context("an import write")?
                .context("importing")
                .map_err(failed)?,
        );
    }
    Ok((changed, unchanged))
}

fn parse_row(
    record: &csv::StringRecord,
    groups: &[Group],
) -> anyhow::Result<(Option<String>, Contact)> {
    let field = |i: usize| record.get(i).unwrap_or_default();
    let email = if field(0).is_empty() {
        None
    } else {
        Some(
            Email::parse(field(0).as_bytes())
                .map_err(|_| anyhow::anyhow!("invalid e-mail {:?}", field(0)))?
                .into_string(),
        )
    };
    let tags: Vec<String> = serde_json::from_str(field(7)).context("tags")?;
    let partner = match field(8) {
        "" => None,
        id => Some(PartnerId(id.parse().context("partner_id")?)),
    };
    let created_at: i64 = field(9).parse().context("created_at")?;
    let extras: BTreeMap<String, String> = serde_json::from_str(field(10)).context("extras")?;
    let raw: Vec<Value> = serde_json::from_str(field(11)).context("subscriptions")?;
    let mut subscriptions = Vec::with_capacity(raw.len());
    for entry in raw {
        let text = |key: &str| entry[key].as_str().unwrap_or_default().to_owned();
        let name = text("rass_name");
        let group = find_group(groups, &name).with_context(|| format!("no group {name:?}"))?;
        let status = SubscriptionStatus::parse(&text("status"))
            .with_context(|| format!("unknown status {:?}", text("status")))?;
        let utm = |key: &str| {
            let u = &entry[key];
            let part = |k: &str| u[k].as_str().unwrap_or_default().to_owned();
            Utm {
                medium: part("medium"),
                source: part("source"),
                campaign: part("campaign"),
                content: part("content"),
                term: part("term"),
            }
        };
        subscriptions.push(Subscription {
            group: group.id,
            status,
            time: entry["time"].as_i64().context("subscription time")?,
            ip: text("ip"),
            utm: utm("utm"),
            aff_utm: utm("aff_utm"),
            doneurl2: text("doneurl2"),
        });
    }
    let contact = Contact {
        email: email.clone(),
        name: field(1).to_owned(),
        first_name: field(2).to_owned(),
        middle_name: field(3).to_owned(),
        last_name: field(4).to_owned(),
        phone: field(5).to_owned(),
        city: field(6).to_owned(),
        tags,
        partner,
        created_at,
        extras,
        subscriptions,
    };
    Ok((email, contact))
}
