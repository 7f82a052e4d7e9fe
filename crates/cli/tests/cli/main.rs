//! The `clickbill` binary end to end: admin commands on temporary databases, servers on
//! 127.0.0.1 port 0, real PHP clients, a crash under load, and replicas sharing PostgreSQL.
//! Every process a test starts is killed when the test ends, however it ends.

mod admin;
mod call;
mod commerce;
mod contacts;
mod copy;
mod crash;
mod durability;
mod notifications;
mod overload;
mod php;
mod postgres;
mod serve;
mod support;
