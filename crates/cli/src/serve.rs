//! `clickbill serve`: open (and migrate) the database, serve the API until SIGINT/SIGTERM, then
//! shut down gracefully.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clickbill_domain::outbox::RetrySchedule;
use clickbill_domain::{Clock, SystemClock};
use clickbill_server::{Application, NotifierConfig, ServerConfig};
use clickbill_store_sqlite::SqliteOptions;

use crate::database::{self, Create, Database};
use crate::{exit, failed, sandbox, Global};

const LONG_ABOUT: &str = "\
Serve the JustClick API (POST /api/METHOD), the bill pages (GET /bill/?id=N&crc=C, SPEC §10.6)
and GET /healthz.

The database is created (SQLite) and migrated on first start. The tenant is chosen by the Host a
client addresses (SPEC §3): LOGIN.BASE_DOMAIN for every base domain (localhost always is one, so
http://demo.localhost:8080 reaches tenant demo), or a tenant's custom domain. Tenants added or
changed with `clickbill tenant` while the server runs are picked up within about a second.

Several servers may share one PostgreSQL database (--database postgres://...) behind a load
balancer that keeps the Host header: each keeps no state of its own beyond that one-second
tenant cache, and every order, idempotency key and auto-cancel timer is coordinated through the
database.

With --sandbox, the tenant demo (secret `secret`) with the example catalogue and orders of the
specification is created when absent, commands that call it are printed, and every tenant's bill
page offers test payments (pay, pay a part, decline; no money moves). Without --sandbox a tenant
gets them with `clickbill tenant set LOGIN test_payments=on`.";

const AFTER_HELP: &str = "\
Output: the first line on standard output is `clickbill listening on http://ADDR` (with the real
port when --listen asks for port 0); --sandbox adds example commands after it. Log lines go to
standard error, as text or (--log-format json) one JSON object per line; RUST_LOG sets their
filter (default: info, start-up and shut-down only; requests are logged only with --access-log).
Every line logged while serving a request carries its request_id. --metrics-listen ADDR serves
Prometheus metrics at http://ADDR/metrics (requests by method and error code, latency
histograms, open connections, tenant cache, SQLite writer queue and batches, outbox backlog).

SIGINT or SIGTERM stops the server gracefully: it stops accepting connections, lets requests in
flight finish, commits what the database writer holds and exits 0. A second signal exits at once
(every acknowledged write is already durable).

Exit status:
  0  stopped by a signal after a clean shut-down
  1  the server could not start or failed (address in use, database unreachable or unusable)
  2  usage error (invalid option, unsupported or malformed database URL)";

#[derive(clap::Args, Debug)]
#[command(
    about = "Serve the JustClick API",
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP
)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        env = "CLICKBILL_LISTEN"
    )]
    listen: SocketAddr,

    /// A domain whose subdomains name tenants (LOGIN.D); repeatable. localhost always is one.
    #[arg(long = "base-domain", value_name = "D")]
    base_domains: Vec<String>,

    /// A reverse proxy whose X-Forwarded-For gives the client IP; repeatable.
    #[arg(long = "trusted-proxy", value_name = "IP")]
    trusted_proxies: Vec<IpAddr>,

    /// Create the demo tenant with example data when absent, print commands that call it, and
    /// offer test payments on every tenant's bill page.
    #[arg(long)]
    sandbox: bool,

    /// Seconds between two looks for unpaid orders whose auto-cancel time has passed.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 15,
        value_parser = clap::value_parser!(u64).range(1..=60)
    )]
    auto_cancel_interval: u64,

    /// SQLite: orders kept decoded in memory, so that reading a hot order needs no query; 0
    /// turns the cache off. Each takes about 1.5 KiB. PostgreSQL always reads through, as
    /// other replicas may have changed the order.
    #[arg(long, value_name = "ORDERS", default_value_t = clickbill_store_sqlite::DEFAULT_ORDER_CACHE)]
    order_cache: usize,

    /// Serve Prometheus metrics (GET /metrics) on this address, apart from the API.
    #[arg(long, value_name = "ADDR", env = "CLICKBILL_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,

    /// Log lines as text or as one JSON object per line.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,

    /// Log every API request (target clickbill::access, level info).
    #[arg(long)]
    access_log: bool,

    #[command(flatten)]
    limits: crate::limits::LimitArgs,
    #[command(flatten)]
    notifications: NotificationArgs,
}

/// The notification worker (SPEC §16.2): attempt n+1 follows a failed attempt n after
/// FIRST_DELAY × FACTOR^(n−1); after ATTEMPTS failed attempts the delivery is marked failed.
#[derive(clap::Args, Debug)]
struct NotificationArgs {
    /// Send no notifications from this server (they stay queued for another one).
    #[arg(long)]
    no_notifications: bool,

    /// Seconds between the first failed attempt of a notification and the second.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = seconds)]
    notify_first_delay: f64,

    /// How much longer each further wait is than the one before.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=100))]
    notify_backoff_factor: u32,

    /// Attempts before a notification is marked failed.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    notify_attempts: u32,

    /// Notifications sent at once; a slow receiver holds one of them.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    notify_concurrency: u64,

    /// Seconds between two looks for notifications queued by other servers.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = seconds)]
    notify_poll_interval: f64,
}

impl NotificationArgs {
    fn config(&self) -> NotifierConfig {
        NotifierConfig {
            enabled: !self.no_notifications,
            schedule: RetrySchedule {
                first_delay: Duration::from_secs_f64(self.notify_first_delay),
                factor: self.notify_backoff_factor,
                attempts: self.notify_attempts,
            },
            concurrency: usize::try_from(self.notify_concurrency).unwrap_or(usize::MAX),
            poll_interval: Duration::from_secs_f64(self.notify_poll_interval),
            ..NotifierConfig::default()
        }
    }
}

/// A number of seconds from 0.01 to a day, fractions allowed.
fn seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if (0.01..=86_400.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{text} is not between 0.01 and 86400 seconds"))
    }
}

pub fn run(args: &Args, global: &Global) -> anyhow::Result<u8> {
    // A malformed URL is a usage error, told before anything starts.
    let database = Database::parse(&global.database)?;
    clickbill_server::logging::init(args.log_format.parse()?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .map_err(failed)?;
    runtime.block_on(serve(args, global, database))
}

async fn serve(args: &Args, global: &Global, database: Database) -> anyhow::Result<u8> {
    // Signals are caught from here on: one sent as soon as the `listening` line is read already
    // shuts down gracefully instead of killing the process.
    let signals = Signals::install().map_err(failed)?;

    let store = database::open_store(
        &global.database,
        Create::IfMissing,
        &global.postgres_settings(),
        SqliteOptions {
            order_cache: args.order_cache,
            ..SqliteOptions::default()
        },
    )
    .await?;
    tracing::info!(
        database = %database.describe(),
        schema_version = store.schema_version(),
        "database ready"
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    let sandbox = if args.sandbox {
        // Bound first, so that the store handed to `seed` is let go of before a failure closes
        // the store.
        let seeded = sandbox::seed(store.store().as_ref(), clock.now()).await;
        match seeded {
            Ok(sandbox) => Some(sandbox),
            Err(error) => {
                store.close().await?;
                return Err(error);
            }
        }
    } else {
        None
    };

    let mut config = ServerConfig::new(args.listen);
    config.base_domains = args.base_domains.clone();
    config.trusted_proxies = args.trusted_proxies.clone();
    config.auto_cancel_interval = Duration::from_secs(args.auto_cancel_interval);
    config.metrics_listen = args.metrics_listen;
    config.access_log = args.access_log;
    args.limits.apply(&mut config);
    config.notifications = args.notifications.config();
    config.test_payments = args.sandbox;
    let app = match Application::build(config, store.store(), clock).await {
        Ok(app) => app,
        Err(error) => {
            store.close().await?;
            return Err(failed(error.context("starting the server")));
        }
    };
    let addr = app.local_addr();
    tracing::info!(%addr, "listening");
    if let Some(metrics) = app.metrics_addr() {
        tracing::info!(%metrics, "serving metrics");
    }
    announce(addr, sandbox.as_ref());

    let served = app.run_until(signals.first()).await;
    tracing::info!("stopped serving; closing the database");
    store.close().await?;
    served.context("serving").map_err(failed)?;
    tracing::info!("shut down cleanly");
    Ok(exit::OK)
}

/// Prints the `listening` line (and the sandbox instructions) to standard output. A reader that
/// went away is no reason to stop serving, so write errors are ignored.
fn announce(addr: SocketAddr, sandbox: Option<&sandbox::Sandbox>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "clickbill listening on http://{addr}");
    if let Some(sandbox) = sandbox {
        let _ = out.write_all(sandbox::instructions(sandbox, addr).as_bytes());
    }
    let _ = out.flush();
}

/// SIGINT and SIGTERM, registered up front.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("catching SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("catching SIGTERM")?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> anyhow::Result<Signals> {
        Ok(Signals {})
    }

    /// Resolves on the first signal; from then on a second one exits the process at once.
    #[cfg(unix)]
    async fn first(mut self) {
        let name = tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        };
        tracing::info!("{name}: shutting down gracefully (a second signal stops at once)");
        tokio::spawn(async move {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
            tracing::warn!("second signal: exiting without waiting");
            std::process::exit(i32::from(exit::CHECK_FAILED));
        });
    }

    #[cfg(not(unix))]
    async fn first(self) {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("Ctrl-C: shutting down gracefully");
    }
}
