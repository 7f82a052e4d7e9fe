//! The server over HTTP: every test starts its own server on a free port with a fresh database.

mod helpers;

mod auto_cancel;
mod common_checks;
mod goods;
mod hostile;
mod idempotency;
mod lifecycle;
mod listings;
mod money;
mod orders;
mod pricing;
mod routing;
mod sdk;
mod spec_sequence;
mod v2;
