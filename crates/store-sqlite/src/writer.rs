//! The one thread that writes. Callers queue jobs; the thread takes every job already waiting,
//! runs them in one transaction, each inside its own savepoint so that a failing job is undone
//! alone, commits once and only then answers. Under load one fsync thus covers many writes.

use crate::order_cache::{ChangeWatch, FOREIGN_WRITE_CHECK};
use clickbill_domain::StoreError;
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// Counters of the writer thread, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Jobs run (successful or not).
    pub jobs: u64,
    /// Transactions committed; each is one fsync of the log.
    pub commits: u64,
    /// Batches whose transaction could not be begun or committed.
    pub failed_batches: u64,
}

#[derive(Default)]
struct Counters {
    jobs: AtomicU64,
    commits: AtomicU64,
    failed_batches: AtomicU64,
    /// Jobs sent and not yet taken by the thread.
    queued: AtomicU64,
}

/// Metric names (the `metrics` facade: no-ops unless the process installed a recorder).
const QUEUE_DEPTH: &str = "clickbill_sqlite_writer_queue_depth";
const BATCH_SIZE: &str = "clickbill_sqlite_writer_batch_size";
const COMMITS: &str = "clickbill_sqlite_writer_commits_total";

/// A queued write: it runs once on the writer thread, or is failed without running.
trait Job: Send {
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finished>;
    fn fail(self: Box<Self>, error: StoreError);
}

/// A job that has run and waits for the batch's commit to answer its caller.
trait Finished: Send {
    fn succeeded(&self) -> bool;
    /// Answers the caller: the job's own result when the batch committed, otherwise `error`.
    fn answer(self: Box<Self>, error: Option<&str>);
}

struct Pending<F, T> {
    work: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

struct Ran<T> {
    result: Result<T, StoreError>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> Job for Pending<F, T>
where
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finished> {
        let Pending { work, reply } = *self;
        Box::new(Ran {
            result: work(conn),
            reply,
        })
    }

    fn fail(self: Box<Self>, error: StoreError) {
        // A caller that stopped waiting needs no answer.
        let _ = self.reply.send(Err(error));
    }
}

impl<T: Send> Finished for Ran<T> {
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn answer(self: Box<Self>, error: Option<&str>) {
        let result = match error {
            None => self.result,
            Some(e) => Err(StoreError::Backend(e.to_owned())),
        };
        let _ = self.reply.send(result);
    }
}

/// The handle callers use; dropping it lets the thread finish the queue and stop.
pub(crate) struct Writer {
    queue: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl Writer {
    /// Starts the thread; `watch` hears of every transaction's end before its callers do.
    pub(crate) fn start(
        conn: Connection,
        max_batch: usize,
        mut watch: ChangeWatch,
    ) -> Result<Writer, StoreError> {
        let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
        let counters = Arc::new(Counters::default());
        let thread_counters = Arc::clone(&counters);
        let max_batch = max_batch.max(1);
        let thread = std::thread::Builder::new()
            .name("clickbill-sqlite-writer".into())
            .spawn(move || write_loop(&conn, &jobs, max_batch, &thread_counters, &mut watch))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            queue: Some(queue),
            thread: Some(thread),
            counters,
        })
    }

    /// Runs `work` in the next batch and returns its result once the batch is durable. An `Err`
    /// from `work` undoes what `work` wrote, and nothing else.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let queue = self.queue.as_ref().ok_or_else(closed)?;
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        if queue.send(Box::new(Pending { work, reply })).is_err() {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(closed());
        }
        answer.await.map_err(|_| {
            StoreError::Backend(
                "the write was abandoned (the job panicked or the writer stopped)".into(),
            )
        })?
    }

    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            jobs: self.counters.jobs.load(Ordering::Relaxed),
            commits: self.counters.commits.load(Ordering::Relaxed),
            failed_batches: self.counters.failed_batches.load(Ordering::Relaxed),
        }
    }

    /// Lets the thread write everything already queued, then waits for it to stop.
    pub(crate) fn shut_down(&mut self) -> Result<(), StoreError> {
        drop(self.queue.take());
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| StoreError::Backend("the writer thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

fn closed() -> StoreError {
    StoreError::Backend("the store is closed".into())
}

fn write_loop(
    conn: &Connection,
    jobs: &mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
    counters: &Counters,
    watch: &mut ChangeWatch,
) {
    // `recv_timeout` keeps returning queued jobs after the last sender is gone, so the queue is
    // always drained before the thread ends.
    loop {
        let first = match jobs.recv_timeout(FOREIGN_WRITE_CHECK) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                watch.settle(conn);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        record_batch(batch.len(), counters);
        run_batch(conn, batch, counters, watch);
    }
}

#[allow(clippy::cast_precision_loss)] // Queue lengths stay far below 2^52.
fn record_batch(taken: usize, counters: &Counters) {
    let taken = taken as u64;
    let waiting = counters
        .queued
        .fetch_sub(taken, Ordering::Relaxed)
        .saturating_sub(taken);
    metrics::gauge!(QUEUE_DEPTH).set(waiting as f64);
    metrics::histogram!(BATCH_SIZE).record(taken as f64);
}

fn run_batch(
    conn: &Connection,
    batch: Vec<Box<dyn Job>>,
    counters: &Counters,
    watch: &mut ChangeWatch,
) {
    let mut jobs = batch.into_iter();
    // A transaction that breaks half way (SQLite rolls some errors back entirely) loses the
    // jobs before the break; those are failed and the rest starts over in a new transaction.
    loop {
        if jobs.len() == 0 {
            return;
        }
        if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
            counters.failed_batches.fetch_add(1, Ordering::Relaxed);
            let error = describe("cannot begin a write transaction", &e);
            for job in jobs {
                job.fail(StoreError::Backend(error.clone()));
            }
            return;
        }
        let mut done: Vec<Box<dyn Finished>> = Vec::with_capacity(jobs.len());
        let mut broken = None;
        for job in jobs.by_ref() {
            counters.jobs.fetch_add(1, Ordering::Relaxed);
            match run_one(conn, job) {
                Ok(finished) => done.extend(finished),
                Err((finished, error)) => {
                    done.extend(finished);
                    broken = Some(error);
                    break;
                }
            }
        }
        let outcome = match broken {
            Some(error) => Err(error),
            None => exec(conn, "COMMIT").map_err(|e| describe("commit failed", &e)),
        };
        if outcome.is_err() && !conn.is_autocommit() {
            let _ = exec(conn, "ROLLBACK");
        }
        watch.settle(conn);
        match outcome {
            Ok(()) => {
                counters.commits.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(COMMITS).increment(1);
                for finished in done {
                    finished.answer(None);
                }
            }
            Err(error) => {
                counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                for finished in done {
                    finished.answer(Some(&error));
                }
            }
        }
    }
}

type Outcome = Option<Box<dyn Finished>>;

/// Runs one job in its own savepoint; `None` when the job panicked. `Err` means the surrounding
/// transaction can no longer be committed; it carries the job's result, if it got one, so that
/// its caller is answered too.
fn run_one(conn: &Connection, job: Box<dyn Job>) -> Result<Outcome, (Outcome, String)> {
    if let Err(e) = exec(conn, "SAVEPOINT job") {
        let error = describe("cannot open a savepoint", &e);
        job.fail(StoreError::Backend(error.clone()));
        return Err((None, error));
    }
    // A panicking job loses its reply sender while unwinding, so its caller hears that the
    // write was abandoned; the thread itself carries on with the rest.
    let finished = catch_unwind(AssertUnwindSafe(|| job.run(conn))).ok();
    let keep = finished.as_ref().is_some_and(|f| f.succeeded());
    let closed = if keep {
        exec(conn, "RELEASE job")
    } else {
        exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job"))
    };
    if let Err(e) = closed {
        return Err((finished, describe("the write transaction broke", &e)));
    }
    if conn.is_autocommit() {
        return Err((
            finished,
            "the write transaction was rolled back by SQLite".to_owned(),
        ));
    }
    Ok(finished)
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn describe(context: &str, e: &rusqlite::Error) -> String {
    format!("{context}: {e}")
}
