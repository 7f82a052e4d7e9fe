//! The server over HTTP: every test starts its own server on a free port with a fresh database.
//!
//! This binary runs the suite over SQLite; `tests/api_postgres` runs the same modules over
//! PostgreSQL. The only difference between the two is `backend`, which the helpers read.

mod backend;
mod helpers;

mod auto_cancel;
mod bill;
mod common_checks;
mod contacts;
mod goods;
mod hostile;
mod idempotency;
mod lifecycle;
mod listings;
mod malformed;
mod metrics;
mod money;
mod notifications;
mod orders;
mod overload;
mod pricing;
mod routing;
mod sdk;
mod spec_sequence;
mod v2;
