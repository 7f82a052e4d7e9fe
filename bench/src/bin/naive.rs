//! The naive durable baseline: every request is its own SQLite transaction (`synchronous=FULL`,
//! so one fsync each) inserting one order into the same schema clickbill uses, on the same disk.
//! It is what a straightforward server without group commit achieves; clickbill's `CreateOrder`
//! is reported as a ratio to it.
//!
//! Usage: `naive ADDR DATABASE` where DATABASE was prepared by `seed` (it copies the newest
//! order of tenant 1 under a fresh number on every request).

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rusqlite::{params, Connection};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

struct Inserter {
    conn: Mutex<Connection>,
    insert: String,
    template: (i64, i64),
    next_bill_id: AtomicI64,
}

impl Inserter {
    fn open(path: &str) -> anyhow::Result<Inserter> {
        let conn = Connection::open(path).with_context(|| format!("opening {path}"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let template: (i64, i64) = conn
            .query_row(
                "SELECT tenant_id, MAX(bill_id) FROM orders WHERE tenant_id = 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .context("the database holds no order to copy (run seed first)")?;
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('orders') ORDER BY cid")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let values: Vec<&str> = columns
            .iter()
            .map(|column| match column.as_str() {
                "bill_id" => "?1",
                "email" => "?2",
                other => other,
            })
            .collect();
        let insert = format!(
            "INSERT INTO orders ({}) SELECT {} FROM orders WHERE tenant_id = ?3 AND bill_id = ?4",
            columns.join(", "),
            values.join(", ")
        );
        Ok(Inserter {
            conn: Mutex::new(conn),
            insert,
            next_bill_id: AtomicI64::new(template.1 + 1),
            template,
        })
    }

    fn insert_one(&self, email: &str) -> anyhow::Result<i64> {
        let bill_id = self.next_bill_id.fetch_add(1, Ordering::Relaxed);
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.prepare_cached(&self.insert)?.execute(params![
            bill_id,
            email,
            self.template.0,
            self.template.1
        ])?;
        tx.commit()?;
        Ok(bill_id)
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: naive ADDR DATABASE";
    let addr = args.next().context(usage)?.parse()?;
    let database = args.next().context(usage)?;
    let inserter = Arc::new(Inserter::open(&database)?);
    clickbill_bench::runtime()?.block_on(clickbill_bench::serve(addr, move |request| {
        let inserter = Arc::clone(&inserter);
        async move {
            let body = match request.into_body().collect().await {
                Ok(body) => body.to_bytes(),
                Err(_) => Bytes::new(),
            };
            let email = format!("naive-{}@example.com", body.len());
            let inserted = tokio::task::spawn_blocking(move || inserter.insert_one(&email)).await;
            // A failed insert answers 500, which the load generator counts as an error.
            let (status, answer) = match inserted {
                Ok(Ok(bill_id)) => (http::StatusCode::OK, format!("{{\"bill_id\":{bill_id}}}")),
                Ok(Err(error)) => (http::StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
                Err(error) => (http::StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
            };
            let mut response = http::Response::new(Full::new(Bytes::from(answer)));
            *response.status_mut() = status;
            response
        }
    }))
}
