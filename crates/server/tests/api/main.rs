//! The server over HTTP: every test starts its own server on a free port with a fresh database.

mod helpers;

mod common_checks;
mod goods;
mod hostile;
mod lifecycle;
mod orders;
mod pricing;
mod routing;
mod sdk;
mod spec_sequence;
