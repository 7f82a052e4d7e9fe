//! `clickbill copy`: move every row of one database into another (SQLite to PostgreSQL, say),
//! keeping every id, and verify that both sides hold the same.

use std::future::Future;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clickbill_domain::transfer::{
    copy, Collection, CopyError, CopyMode, CopyOptions, CopyPhase, CopyProgress, CopyReport,
    DEFAULT_PAGE_SIZE,
};
use clickbill_store_sqlite::SqliteOptions;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::database::{open_store, Create, Database, OpenStore};
use crate::{exit, failed, Global};

const LONG_ABOUT: &str = "\
Copy every row of one database into another, keeping every id, then verify the copy.

Tenants (with their domains and settings), products (deleted ones included), coupons,
partners, managers, orders (deleted ones included, with their items, payments and API 2.0
fields) and the notification events are copied in that order, a page at a time; each page is
one transaction of the target. Numbers handed out later by the target (tenant, product,
coupon, partner, manager, bill and event ids) continue above the copied ones. Idempotency keys
are not copied: they live for a day.

Stop every server that writes to the source first: rows written during the copy make the
verification fail. The target is created (SQLite) and migrated as needed; a PostgreSQL
database must exist.

Afterwards both sides are read again and compared per collection: the same number of rows and
the same SHA-256 checksum over the rows' contents.

An interrupted copy (Ctrl-C, kill, a lost connection, a crash) leaves whole pages behind; run
the same command with --resume to finish it.";

const AFTER_HELP: &str = "\
Output: progress on standard error (a bar on a terminal, otherwise a line when a collection
starts and at every tenth of it). On success standard output has a header line and one line per
collection: its name, the rows verified, the rows this run wrote (fewer after --resume) and the
checksum, separated by spaces:

  collection       rows     copied  sha256
  tenants             2          2  5d41402abc4b2a76b9719d911017c592...

Exit status:
  0  copied and verified
  1  the copy or its verification failed, or it was interrupted (the database or the connection
     failed, a key exists on both sides under --force, the two sides differ)
  2  usage error: invalid option or database URL, a missing source file, the same database
     twice, a target that holds rows without --resume or --force, a --resume into a target that
     does not hold the beginning of this source";

#[derive(clap::Args, Debug)]
#[command(about = "Copy a database into another and verify it", long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Args {
    /// Database to read: sqlite://PATH or postgres://...
    #[arg(
        long,
        value_name = "URL",
        env = "CLICKBILL_COPY_FROM",
        hide_env_values = true
    )]
    from: String,

    /// Database to write: sqlite://PATH or postgres://...
    #[arg(
        long,
        value_name = "URL",
        env = "CLICKBILL_COPY_TO",
        hide_env_values = true
    )]
    to: String,

    /// Finish an interrupted copy from the same source: each collection continues after the
    /// last row the target holds
    #[arg(long, conflicts_with = "force")]
    resume: bool,

    /// Copy into a target that holds rows already (other tenants, say). Fails at the first id
    /// that both sides hold; the verification then checks the copied rows only. A forced copy
    /// cannot be resumed
    #[arg(long)]
    force: bool,

    /// Rows per page; each page is one transaction of the target
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PAGE_SIZE as u32,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    page_size: u32,
}

pub fn run(args: &Args, global: &Global) -> anyhow::Result<u8> {
    let from = Database::parse(&args.from).context("--from")?;
    let to = Database::parse(&args.to).context("--to")?;
    if from == to {
        bail!("--from and --to name the same database");
    }
    let mode = match (args.resume, args.force) {
        (true, _) => CopyMode::Resume,
        (false, true) => CopyMode::Force,
        (false, false) => CopyMode::IntoEmpty,
    };
    let options = CopyOptions {
        page_size: args.page_size as usize,
        mode,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .map_err(failed)?;
    let report = runtime.block_on(async {
        let interrupted = interruption()?;
        let pg = global.postgres_settings();
        let source = open_store(&args.from, Create::Never, &pg, uncached())
            .await
            .context("opening the source")?;
        let target = match open_store(&args.to, Create::IfMissing, &pg, uncached()).await {
            Ok(target) => target,
            Err(error) => {
                let _ = source.close().await;
                return Err(error.context("opening the target"));
            }
        };
        let outcome = copy_between(&source, &target, options, interrupted).await;
        let closed = (source.close().await, target.close().await);
        let report = outcome.map_err(|error| explain(error, &from, &to))?;
        closed.0.context("closing the source")?;
        closed.1.context("closing the target")?;
        Ok::<_, anyhow::Error>(report)
    })?;
    print_summary(&report);
    Ok(exit::OK)
}

/// Why a copy did not finish.
enum Stopped {
    Failed(CopyError),
    Interrupted(&'static str),
}

async fn copy_between(
    source: &OpenStore,
    target: &OpenStore,
    options: CopyOptions,
    interrupted: impl Future<Output = &'static str>,
) -> Result<CopyReport, Stopped> {
    let (reader, writer) = (source.transfer(), target.transfer());
    let mut display = ProgressDisplay::new(std::io::stderr().is_terminal());
    let mut show = |progress| display.show(progress);
    let outcome = tokio::select! {
        outcome = copy(&*reader, &*writer, options, &mut show) => outcome.map_err(Stopped::Failed),
        signal = interrupted => Err(Stopped::Interrupted(signal)),
    };
    display.finish();
    outcome
}

/// A copy reads and writes each order once: caching them would only cost memory.
fn uncached() -> SqliteOptions {
    SqliteOptions {
        order_cache: 0,
        ..SqliteOptions::default()
    }
}

/// Turns a stopped copy into the error the command ends with: refusals caused by the options
/// are usage errors (exit 2), everything else a failure (exit 1).
fn explain(stopped: Stopped, from: &Database, to: &Database) -> anyhow::Error {
    let route = format!("copying {} to {}", from.describe(), to.describe());
    match stopped {
        Stopped::Interrupted(signal) => failed(anyhow!(
            "interrupted by {signal}; every page written so far is complete: run the same \
             command with --resume to finish"
        )),
        Stopped::Failed(error @ CopyError::TargetNotEmpty { .. }) => anyhow!(
            "{error}; use --resume to finish an interrupted copy into it, or --force to copy \
             beside its rows"
        )
        .context(route),
        Stopped::Failed(error @ CopyError::NotAPrefix { .. }) => {
            anyhow!("{error}; --resume only finishes a copy from this same, unchanged source")
                .context(route)
        }
        Stopped::Failed(error @ CopyError::NoPageSize) => anyhow!(error),
        Stopped::Failed(error) => failed(anyhow::Error::new(error).context(route)),
    }
}

/// Resolves with the signal's name on the first SIGINT or SIGTERM; the handlers are in place
/// once this returns.
#[cfg(unix)]
fn interruption() -> anyhow::Result<impl Future<Output = &'static str>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())
        .context("catching SIGINT")
        .map_err(failed)?;
    let mut terminate = signal(SignalKind::terminate())
        .context("catching SIGTERM")
        .map_err(failed)?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    })
}

#[cfg(not(unix))]
fn interruption() -> anyhow::Result<impl Future<Output = &'static str>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    })
}

fn print_summary(report: &CopyReport) {
    println!(
        "{:<10} {:>10} {:>10}  sha256",
        "collection", "rows", "copied"
    );
    for collection in &report.collections {
        println!(
            "{:<10} {:>10} {:>10}  {}",
            collection.collection.name(),
            collection.rows,
            collection.copied,
            collection.checksum
        );
    }
}

/// How often a line is printed at least while a long collection is copied off a terminal.
const LINE_INTERVAL: Duration = Duration::from_secs(10);

/// Progress on standard error: a bar per collection and phase on a terminal, otherwise plain
/// lines that a log keeps readable.
struct ProgressDisplay {
    terminal: bool,
    stage: Option<Stage>,
}

/// One collection in one phase.
struct Stage {
    phase: CopyPhase,
    collection: Collection,
    total: u64,
    bar: Option<ProgressBar>,
    printed: Option<u64>,
    printed_at: Instant,
}

impl Stage {
    fn label(&self) -> String {
        let verb = match self.phase {
            CopyPhase::Copying => "copying",
            CopyPhase::Verifying => "verifying",
        };
        format!("{verb} {}", self.collection.name())
    }

    /// A line when the stage starts, ends, crosses a tenth of the collection, or has been quiet
    /// for [`LINE_INTERVAL`].
    fn print_line(&mut self, done: u64) {
        let tenth = self.total.div_ceil(10).max(1);
        let due = match self.printed {
            None => true,
            Some(printed) => {
                printed != done
                    && (done == self.total
                        || done / tenth > printed / tenth
                        || self.printed_at.elapsed() >= LINE_INTERVAL)
            }
        };
        if due {
            eprintln!("clickbill copy: {} {done}/{}", self.label(), self.total);
            self.printed = Some(done);
            self.printed_at = Instant::now();
        }
    }
}

impl ProgressDisplay {
    fn new(terminal: bool) -> ProgressDisplay {
        ProgressDisplay {
            terminal,
            stage: None,
        }
    }

    fn show(&mut self, progress: CopyProgress) {
        let same_stage = self.stage.as_ref().is_some_and(|stage| {
            stage.phase == progress.phase && stage.collection == progress.collection
        });
        if !same_stage {
            self.finish();
            self.stage = Some(self.start(progress));
        }
        let Some(stage) = self.stage.as_mut() else {
            return;
        };
        match &stage.bar {
            Some(bar) => bar.set_position(progress.done),
            None => stage.print_line(progress.done),
        }
    }

    fn start(&self, progress: CopyProgress) -> Stage {
        let mut stage = Stage {
            phase: progress.phase,
            collection: progress.collection,
            total: progress.total,
            bar: None,
            printed: None,
            printed_at: Instant::now(),
        };
        if self.terminal {
            let bar =
                ProgressBar::with_draw_target(Some(progress.total), ProgressDrawTarget::stderr());
            // The template is fixed and valid; the plain default bar would do as well.
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix:>19} [{bar:32}] {pos:>9}/{len:<9} {per_sec:>11} {eta:>4}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(stage.label());
            stage.bar = Some(bar);
        }
        stage
    }

    /// Leaves the finished stage's bar on the screen.
    fn finish(&mut self) {
        if let Some(bar) = self.stage.take().and_then(|stage| stage.bar) {
            bar.abandon();
        }
    }
}
