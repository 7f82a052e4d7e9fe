//! Background sweeps: the auto-cancel timer (SPEC §9.5.6), which cancels waiting, unpaid orders
//! whose auto-cancel time has passed, and forgetting expired idempotency keys (SPEC §17).
//!
//! Exactly once, also across restarts and with several servers on one database: the store fires
//! each timer in the write transaction that removes it and records the `cancel_order` event, and
//! concurrent sweeps (another replica's) take disjoint orders
//! ([`Store::fire_due_auto_cancels`]).

use clickbill_domain::{Clock, Store, StoreError};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

/// How many due orders one write transaction takes; small, so the rows are locked briefly. A
/// sweep repeats until fewer come back.
const BATCH: usize = 50;

/// How often expired idempotency keys are deleted, in server seconds. They are only looked up
/// by key, so keeping them a while past their lifetime costs disk, not correctness.
const KEY_PURGE_INTERVAL: i64 = 3_600;

/// Sweeps every `interval` until the task is dropped. Failures are logged and retried at the
/// next tick: a store that is down for a while delays cancellations, it does not lose them.
pub async fn run(store: Arc<dyn Store>, clock: Arc<dyn Clock>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_key_purge = i64::MIN;
    loop {
        ticks.tick().await;
        let now = clock.now();
        // A panic (a bug, a driver fault) must not end the task: later orders still need it.
        match AssertUnwindSafe(sweep(store.as_ref(), now))
            .catch_unwind()
            .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::error!(%error, "auto-cancel sweep failed"),
            Err(_) => tracing::error!("auto-cancel sweep panicked"),
        }
        if now >= next_key_purge {
            match store.purge_idempotency_keys(now).await {
                Ok(purged) => {
                    next_key_purge = now.saturating_add(KEY_PURGE_INTERVAL);
                    if purged > 0 {
                        tracing::debug!(purged, "expired idempotency keys deleted");
                    }
                }
                Err(error) => tracing::error!(%error, "cannot delete expired idempotency keys"),
            }
        }
    }
}

/// Cancels every order whose timer has fired at `now`; returns how many were cancelled.
pub async fn sweep(store: &dyn Store, now: i64) -> Result<u64, StoreError> {
    let mut cancelled = 0;
    loop {
        let fired = store.fire_due_auto_cancels(now, BATCH).await?;
        for timer in &fired.cancelled {
            cancelled += 1;
            tracing::info!(
                tenant = timer.tenant.0,
                bill_id = timer.bill_id.get(),
                "order auto-cancelled"
            );
        }
        if fired.taken < BATCH {
            return Ok(cancelled);
        }
    }
}
