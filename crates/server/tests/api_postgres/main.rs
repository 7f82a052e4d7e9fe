//! The server over HTTP, over PostgreSQL: the modules of `tests/api`, compiled again with this
//! binary's `backend`. Every test gets its own schema in the database that
//! CLICKBILL_TEST_POSTGRES_URL names; without the variable every test says loudly that it was
//! skipped, and passes.

mod backend;
#[path = "../api/helpers.rs"]
mod helpers;

#[path = "../api/auto_cancel.rs"]
mod auto_cancel;
#[path = "../api/bill.rs"]
mod bill;
#[path = "../api/common_checks.rs"]
mod common_checks;
#[path = "../api/contacts.rs"]
mod contacts;
#[path = "../api/goods.rs"]
mod goods;
#[path = "../api/hostile.rs"]
mod hostile;
#[path = "../api/idempotency.rs"]
mod idempotency;
#[path = "../api/lifecycle.rs"]
mod lifecycle;
#[path = "../api/listings.rs"]
mod listings;
#[path = "../api/malformed.rs"]
mod malformed;
#[path = "../api/metrics.rs"]
mod metrics;
#[path = "../api/money.rs"]
mod money;
#[path = "../api/notifications.rs"]
mod notifications;
#[path = "../api/orders.rs"]
mod orders;
#[path = "../api/overload.rs"]
mod overload;
#[path = "../api/pricing.rs"]
mod pricing;
#[path = "../api/routing.rs"]
mod routing;
#[path = "../api/sdk.rs"]
mod sdk;
#[path = "../api/spec_sequence.rs"]
mod spec_sequence;
#[path = "../api/v2.rs"]
mod v2;

/// A module added to the suite but not here would silently run over SQLite alone.
#[test]
fn every_module_of_the_suite_runs_here_too() {
    let declared = |main: &str| -> Vec<String> {
        main.lines()
            .filter_map(|line| line.strip_prefix("mod "))
            .map(|name| name.trim_end_matches(';').to_owned())
            .collect()
    };
    assert_eq!(
        declared(include_str!("main.rs")),
        declared(include_str!("../api/main.rs"))
    );
}
