//! Talking to the database: statements through each connection's statement cache, the failures
//! they end in, and the one helper that runs every write transaction and retries it when the
//! database asks for that.

use clickbill_domain::StoreError;
use deadpool_postgres::{GenericClient, Pool, Transaction};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// Why a piece of database work stopped: a database error, whose SQLSTATE decides whether the
/// transaction is worth running again, or a failure the store itself found (bad data, a
/// conflict it checked for).
#[derive(Debug)]
pub(crate) enum Failure {
    Db(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Failure {
        Failure::Db(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> StoreError {
        match failure {
            Failure::Store(e) => e,
            Failure::Db(e) => db_error(&e),
        }
    }
}

/// Uniqueness violations that slipped past the explicit checks (a race with another replica)
/// are conflicts; everything else is a backend fault.
pub(crate) fn db_error(e: &tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        let constraint = e
            .as_db_error()
            .and_then(|db| db.constraint())
            .unwrap_or("a unique key");
        return StoreError::Conflict(format!("a row under {constraint}"));
    }
    StoreError::Backend(describe(e))
}

/// The error with its causes: `tokio_postgres::Error` shows only its kind ("db error") and
/// keeps the server's message in its source.
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Failures after which running the whole transaction again can succeed.
fn is_transient(failure: &Failure) -> bool {
    match failure {
        Failure::Db(e) => matches!(
            e.code(),
            Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
        ),
        Failure::Store(_) => false,
    }
}

/// How often a write transaction is tried before its failure is reported.
const WRITE_ATTEMPTS: u32 = 5;
/// The first pause before a retry; each further one doubles it.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);

/// A pause of `FIRST_BACKOFF · 2^(retry − 1)`, between half and all of it at random, so that
/// transactions that collided once do not collide again in lockstep.
fn backoff(retry: u32) -> Duration {
    let full = FIRST_BACKOFF * 2u32.pow(retry.saturating_sub(1));
    let mut random = [0u8; 2];
    let fraction = match getrandom::getrandom(&mut random) {
        Ok(()) => f64::from(u16::from_le_bytes(random)) / f64::from(u16::MAX),
        Err(_) => 1.0,
    };
    full.mul_f64(0.5 + fraction / 2.0)
}

/// The future of one attempt at a write transaction's work.
pub(crate) type Work<'t, T> = Pin<Box<dyn Future<Output = Result<T, Failure>> + Send + 't>>;

/// Runs `work` in a transaction (READ COMMITTED, the server's default) and commits it. A
/// serialization failure or a deadlock rolls the attempt back and runs `work` again on a new
/// transaction, a few times, after a short random pause; any other failure rolls back and is
/// returned. `work` therefore must not have effects outside the transaction.
pub(crate) async fn write<T, W>(pool: &Pool, mut work: W) -> Result<T, StoreError>
where
    W: for<'t> FnMut(&'t Transaction<'t>) -> Work<'t, T>,
{
    let mut attempt = 1;
    loop {
        match attempt_write(pool, &mut work).await {
            Err(failure) if attempt < WRITE_ATTEMPTS && is_transient(&failure) => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            outcome => return outcome.map_err(StoreError::from),
        }
    }
}

async fn attempt_write<T, W>(pool: &Pool, work: &mut W) -> Result<T, Failure>
where
    W: for<'t> FnMut(&'t Transaction<'t>) -> Work<'t, T>,
{
    let mut client = connection(pool).await?;
    // Dropping the transaction on an error rolls it back before the connection is reused.
    let tx = client.transaction().await?;
    let value = work(&tx).await?;
    tx.commit().await?;
    Ok(value)
}

/// A connection from the pool.
pub(crate) async fn connection(pool: &Pool) -> Result<deadpool_postgres::Client, StoreError> {
    pool.get()
        .await
        .map_err(|e| StoreError::Backend(format!("no database connection: {}", describe(&e))))
}

/// The rows of `sql`, prepared once per connection.
pub(crate) async fn rows<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, Failure> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query(&statement, params).await?)
}

/// The row of `sql`, if it yields one; more than one is an error.
pub(crate) async fn row_opt<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, Failure> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query_opt(&statement, params).await?)
}

/// The one row of `sql`.
pub(crate) async fn row<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, Failure> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query_one(&statement, params).await?)
}

/// Runs `sql`; returns how many rows it changed.
pub(crate) async fn execute<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, Failure> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn raise(state: &str) -> String {
        format!("DO $$ BEGIN RAISE EXCEPTION 'on purpose' USING ERRCODE = '{state}'; END $$")
    }

    /// Runs `write` whose attempt number `n` (from 0) fails with the SQLSTATE `failures[n]`, or
    /// succeeds past the end of `failures`; returns the outcome and the attempts made.
    async fn attempts_of(pool: &Pool, failures: &[&str]) -> (Result<u32, StoreError>, u32) {
        let attempts = AtomicU32::new(0);
        let outcome = write(pool, |tx| {
            let n = attempts.fetch_add(1, Ordering::SeqCst);
            let failure = failures.get(n as usize).map(|state| raise(state));
            Box::pin(async move {
                if let Some(sql) = failure {
                    tx.batch_execute(&sql).await?;
                }
                Ok(n)
            })
        })
        .await;
        (outcome, attempts.load(Ordering::SeqCst))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_serialization_failures_and_deadlocks_are_tried_again() {
        let test = "only_serialization_failures_and_deadlocks_are_tried_again";
        let Some(options) = crate::test_server::options(test) else {
            return;
        };
        let pool = crate::open_pool(&options).unwrap();

        let (outcome, attempts) = attempts_of(&pool, &["40001", "40P01"]).await;
        assert_eq!((outcome.unwrap(), attempts), (2, 3));

        let (outcome, attempts) = attempts_of(&pool, &["40001"; 9]).await;
        assert_eq!(attempts, WRITE_ATTEMPTS, "then it gives up");
        assert!(
            matches!(&outcome, Err(StoreError::Backend(m)) if m.contains("on purpose")),
            "{outcome:?}"
        );

        let (outcome, attempts) = attempts_of(&pool, &["23505"]).await;
        assert_eq!(attempts, 1);
        assert!(
            matches!(outcome, Err(StoreError::Conflict(_))),
            "{outcome:?}"
        );

        let (outcome, attempts) = attempts_of(&pool, &["57014"]).await;
        assert_eq!(attempts, 1, "a statement timeout is not tried again");
        assert!(
            matches!(outcome, Err(StoreError::Backend(_))),
            "{outcome:?}"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter() {
        for retry in 1..WRITE_ATTEMPTS {
            let full = FIRST_BACKOFF * 2u32.pow(retry - 1);
            let pause = backoff(retry);
            assert!(pause >= full / 2 && pause <= full, "{retry}: {pause:?}");
        }
    }
}
