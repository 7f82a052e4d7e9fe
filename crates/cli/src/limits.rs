//! The load limits of `clickbill serve`: how much it takes on before it sheds load with
//! `503 Service Unavailable` and `Retry-After`, and how long it waits for slow clients.

use clickbill_server::ServerConfig;
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Connections served at once; past it, new connections are answered 503 (and /healthz
    /// still 200) and closed.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000)
    )]
    max_connections: u64,

    /// API requests handled at once; past it, requests are answered 503 at once.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 256,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000)
    )]
    max_in_flight: u64,

    /// A longer request body yields no parameters (error code 2), like PHP's post_max_size.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 8 * 1024 * 1024,
        value_parser = clap::value_parser!(u64).range(1..=1 << 30)
    )]
    max_body_bytes: u64,

    /// Seconds a client may take to send a request's headers, and then its body.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    read_timeout: u64,

    /// Seconds a keep-alive connection may wait for its next request before it is closed.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    idle_timeout: u64,

    /// Seconds one API request may take before it is abandoned and answered 503.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    request_timeout: u64,
}

impl LimitArgs {
    pub fn apply(&self, config: &mut ServerConfig) {
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        config.max_connections = count(self.max_connections);
        config.max_in_flight = count(self.max_in_flight);
        config.max_body_bytes = count(self.max_body_bytes);
        config.read_timeout = Duration::from_secs(self.read_timeout);
        config.idle_timeout = Duration::from_secs(self.idle_timeout);
        config.request_timeout = Duration::from_secs(self.request_timeout);
    }
}
