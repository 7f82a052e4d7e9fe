//! The notification worker (SPEC §16.1–§16.2): claims due deliveries from the outbox, POSTs each
//! with no transaction open, and records the attempt with what follows it.
//!
//! At least once: a delivery leaves the outbox only when an attempt is recorded. A worker that
//! dies mid-attempt leaves its claim to lapse after the lease, and the delivery goes again with
//! the same event id. Sends run concurrently up to a bound, each under the 10 s timeout, so a
//! slow or failing receiver holds one slot, never the others' deliveries.

use clickbill_domain::outbox::{
    now_ms, AttemptOutcome, AttemptRecord, ClaimedDelivery, RetrySchedule, RESPONSE_KEPT,
};
use clickbill_domain::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// How the worker sends and retries.
#[derive(Clone, Debug)]
pub struct NotifierConfig {
    /// Whether this server sends notifications at all.
    pub enabled: bool,
    pub schedule: RetrySchedule,
    /// Sends in flight at once.
    pub concurrency: usize,
    /// How often the outbox is asked for work that this process was not told about (deliveries
    /// written by other replicas, or by other processes on the same database).
    pub poll_interval: Duration,
    /// How long a claimed delivery is kept from other workers; well above `timeout`.
    pub lease: Duration,
    /// The longest a receiver may take to answer completely.
    pub timeout: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        NotifierConfig {
            enabled: true,
            schedule: RetrySchedule::default(),
            concurrency: 32,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

/// How much of an answer is read to find its end; past that the answer counts as complete.
const ANSWER_READ_LIMIT: usize = 64 * 1024;
/// The shortest pause between two looks at the outbox, so that a clock step or a row due in
/// the past cannot make the loop spin.
const MIN_PAUSE: Duration = Duration::from_millis(10);
/// How often the backlog gauge is refreshed: a count over the pending deliveries' index, cheap
/// but not worth running on every wake-up.
const BACKLOG_INTERVAL: Duration = Duration::from_secs(1);

/// Runs until the task is dropped; `wake` is notified after local commits that wrote
/// deliveries.
pub async fn run(store: Arc<dyn Store>, config: NotifierConfig, wake: Arc<Notify>) {
    let client = match reqwest::Client::builder()
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("clickbill/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the notification client; notifications stay queued");
            return;
        }
    };
    let lease_ms = i64::try_from(config.lease.as_millis()).unwrap_or(i64::MAX);
    let concurrency = config.concurrency.max(1);
    let mut in_flight = JoinSet::new();
    let mut backlog_counted: Option<Instant> = None;
    loop {
        if backlog_counted.is_none_or(|at| at.elapsed() >= BACKLOG_INTERVAL) {
            backlog_counted = Some(Instant::now());
            match store.pending_deliveries().await {
                Ok(pending) => crate::metrics::set_outbox_backlog(pending),
                Err(error) => tracing::error!(%error, "cannot count pending notifications"),
            }
        }
        let free = concurrency.saturating_sub(in_flight.len());
        let mut pause = config.poll_interval;
        if free > 0 {
            match store.claim_deliveries(now_ms(), lease_ms, free).await {
                Ok(claimed) => {
                    let filled = claimed.len() == free;
                    for delivery in claimed {
                        in_flight.spawn(attempt(
                            Arc::clone(&store),
                            client.clone(),
                            config.schedule,
                            delivery,
                        ));
                    }
                    if !filled {
                        pause = until_next_due(store.as_ref(), config.poll_interval).await;
                    }
                }
                Err(error) => tracing::error!(%error, "cannot claim notifications"),
            }
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(pause.max(MIN_PAUSE)) => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    }
}

/// How long to wait for the next due delivery, at most `poll`.
async fn until_next_due(store: &dyn Store, poll: Duration) -> Duration {
    match store.next_delivery_due().await {
        Ok(Some(due)) => {
            let wait = u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0);
            Duration::from_millis(wait).min(poll)
        }
        Ok(None) => poll,
        Err(error) => {
            tracing::error!(%error, "cannot read the notification outbox");
            poll
        }
    }
}

/// One attempt of one delivery, then its record.
async fn attempt(
    store: Arc<dyn Store>,
    client: reqwest::Client,
    schedule: RetrySchedule,
    delivery: ClaimedDelivery,
) {
    let at_ms = now_ms();
    let started = Instant::now();
    let answer = send(&client, &delivery).await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (status, error, response) = match answer {
        Ok((status, response)) => {
            let error = if (200..300).contains(&status) {
                String::new()
            } else if (300..400).contains(&status) {
                format!("HTTP {status}: redirects are not followed")
            } else {
                format!("HTTP {status}")
            };
            (Some(status), error, response)
        }
        Err(error) => (None, error, Vec::new()),
    };
    let outcome = if error.is_empty() {
        AttemptOutcome::Delivered
    } else {
        schedule.after_failure(&delivery, now_ms())
    };
    let record = AttemptRecord {
        attempt: delivery.attempt,
        at_ms,
        status,
        error,
        latency_ms,
        response,
    };
    match store.record_attempt(&delivery, record, outcome).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            event_id = %delivery.event_id,
            "a notification attempt was taken over by another worker; its result is not recorded"
        ),
        // The claim lapses and the delivery goes again: at least once.
        Err(error) => tracing::error!(
            %error, event_id = %delivery.event_id, "cannot record a notification attempt"
        ),
    }
}

/// POSTs the delivery; the status and the first bytes of a complete answer, or why there is
/// none.
async fn send(
    client: &reqwest::Client,
    delivery: &ClaimedDelivery,
) -> Result<(u16, Vec<u8>), String> {
    let url = reqwest::Url::parse(&delivery.url).map_err(|e| format!("not a URL: {e}"))?;
    if let Some(host) = url.host_str().filter(|host| is_reserved(host)) {
        return Err(format!(
            "{host} is under a reserved top-level domain that never resolves (RFC 6761); not sent"
        ));
    }
    let mut response = client
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header("X-Clickbill-Event-Id", delivery.event_id.as_str())
        .header("X-Clickbill-Delivery-Attempt", delivery.attempt.to_string())
        .body(delivery.body.clone())
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let status = response.status().as_u16();
    let mut kept = Vec::new();
    let mut read = 0;
    while read < ANSWER_READ_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                read += chunk.len();
                let room = RESPONSE_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => break,
            Err(e) => return Err(describe(&e)),
        }
    }
    Ok((status, kept))
}

/// Names under `.example` and `.invalid` (RFC 2606, RFC 6761) exist only in documentation and
/// examples, such as the sandbox's demo products: asking DNS about them is pointless.
fn is_reserved(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    ["example", "invalid"]
        .iter()
        .any(|tld| host == *tld || host.ends_with(&format!(".{tld}")))
}

/// The error with its causes ("error sending request" alone says little).
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::is_reserved;

    #[test]
    fn documentation_domains_are_never_looked_up() {
        assert!(is_reserved("crm.example"));
        assert!(is_reserved("CRM.Example."));
        assert!(is_reserved("x.invalid"));
        assert!(!is_reserved("example.com"));
        assert!(!is_reserved("127.0.0.1"));
        assert!(!is_reserved("shop.examples"));
    }
}
