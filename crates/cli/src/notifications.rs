//! `clickbill notifications`: the delivery log of outgoing notifications (SPEC §16), and sending
//! one again.

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use clickbill_domain::model::BillId;
use clickbill_domain::outbox::{now_ms, DeliveryFilter, DeliveryState, EventId};
use serde_json::json;

use crate::database::{self, with_store, Create};
use crate::{exit, failed, print_json, Global};

const AFTER_HELP: &str = "\
A notification is one event (new_order, paid, prepaid, cancel_order, moneyback, unsubscribe)
for one destination URL; EVENT_ID is the lower-case UUID it carries as X-Clickbill-Event-Id.

Standard output carries data only. `list` prints one line per notification, oldest first,
tab-separated: event id, state (pending, delivered, failed), event, bill id (`-` for an
unsubscribe), attempts made, URL. `show` prints one JSON object: the notification, its body and
every attempt with its time (unix milliseconds), HTTP status (null when there was no answer),
error, latency and the first 512 bytes of the answer. `redeliver` queues a failed or delivered
notification again with the same event id and a fresh retry schedule; the running servers send
it within about a second.

Exit status:
  0  done
  1  the database failed
  2  usage or input error (unknown tenant, unknown or malformed event id, no database at the
     given URL)";

/// The notification log: list, show, redeliver.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: NotificationsCommand,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum State {
    Pending,
    Delivered,
    Failed,
}

impl From<State> for DeliveryState {
    fn from(state: State) -> DeliveryState {
        match state {
            State::Pending => DeliveryState::Pending,
            State::Delivered => DeliveryState::Delivered,
            State::Failed => DeliveryState::Failed,
        }
    }
}

#[derive(Subcommand, Debug)]
enum NotificationsCommand {
    /// List a tenant's notifications, oldest first.
    List {
        /// The tenant's login.
        login: String,
        /// Only notifications in this state.
        #[arg(long, value_enum)]
        state: Option<State>,
        /// Only notifications about this order.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
        bill: Option<i64>,
    },
    /// Show one notification with every attempt.
    Show {
        #[arg(value_name = "EVENT_ID")]
        event_id: String,
    },
    /// Send a failed or delivered notification again, with the same event id.
    Redeliver {
        #[arg(value_name = "EVENT_ID")]
        event_id: String,
    },
}

fn parse_event_id(text: &str) -> anyhow::Result<EventId> {
    EventId::parse(text)
        .with_context(|| format!("{text:?} is not an event id (a lower-case UUID such as 0f8e…-…)"))
}

pub fn run(args: &Args, global: &Global) -> anyhow::Result<u8> {
    match &args.command {
        NotificationsCommand::List { login, state, bill } => {
            let filter = DeliveryFilter {
                state: state.map(DeliveryState::from),
                bill_id: bill.and_then(BillId::new),
            };
            let login = login.clone();
            let deliveries = with_store(global, Create::Never, |store| async move {
                let tenant = database::tenant(store.as_ref(), &login).await?;
                store
                    .deliveries(tenant.id, filter)
                    .await
                    .context("reading the notifications")
                    .map_err(failed)
            })?;
            for d in &deliveries {
                let bill = d.bill_id.map_or("-".to_owned(), |b| b.get().to_string());
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    d.event_id, d.state, d.kind, bill, d.attempts, d.url
                );
            }
            Ok(exit::OK)
        }
        NotificationsCommand::Show { event_id } => {
            let event_id = parse_event_id(event_id)?;
            let shown = event_id.clone();
            let found = with_store(global, Create::Never, |store| async move {
                store
                    .delivery(&event_id)
                    .await
                    .context("reading the notification")
                    .map_err(failed)
            })?;
            let (d, attempts) = found.with_context(|| format!("no notification {shown}"))?;
            let attempts: Vec<_> = attempts
                .iter()
                .map(|a| {
                    json!({
                        "attempt": a.attempt,
                        "at_ms": a.at_ms,
                        "status": a.status,
                        "error": a.error,
                        "latency_ms": a.latency_ms,
                        "response": String::from_utf8_lossy(&a.response),
                    })
                })
                .collect();
            print_json(&json!({
                "event_id": d.event_id.as_str(),
                "event": d.kind,
                "bill_id": d.bill_id.map(BillId::get),
                "url": d.url,
                "state": d.state.as_str(),
                "attempts_made": d.attempts,
                "created_ms": d.created_ms,
                "next_attempt_ms": (d.state == DeliveryState::Pending).then_some(d.due_ms),
                "body": String::from_utf8_lossy(&d.body),
                "attempts": attempts,
            }))?;
            Ok(exit::OK)
        }
        NotificationsCommand::Redeliver { event_id } => {
            let event_id = parse_event_id(event_id)?;
            let shown = event_id.clone();
            let queued = with_store(global, Create::Never, |store| async move {
                store
                    .redeliver(&event_id, now_ms())
                    .await
                    .context("queuing the notification")
                    .map_err(failed)
            })?;
            anyhow::ensure!(queued, "no notification {shown}");
            eprintln!("notification {shown} queued again");
            Ok(exit::OK)
        }
    }
}
