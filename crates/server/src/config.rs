//! What a deployment tells the server: where to listen, which domains carry tenants, which peers
//! may speak for clients.

use crate::notifier::NotifierConfig;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Settings of one server process. `clickbill serve` fills it from its flags.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to bind; port 0 picks a free port (see [`crate::Application::port`]).
    pub listen: SocketAddr,
    /// Base domains whose first label is a tenant login (SPEC §3.1). `localhost` is always added.
    pub base_domains: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed when they are the TCP peer (SPEC §9.1).
    pub trusted_proxies: Vec<IpAddr>,
    /// How often the tenant cache asks the store whether tenants changed. Admin commands run in
    /// other processes, so the cache cannot be told; it has to ask, but not on every request.
    pub tenant_refresh_interval: Duration,
    /// How long a graceful shutdown waits for in-flight requests before dropping them.
    pub shutdown_grace: Duration,
    /// How long a client may take to send request headers, and to send a body.
    pub read_timeout: Duration,
    /// How often the auto-cancel sweep looks for due orders (SPEC §9.5.6 promises 60 s).
    pub auto_cancel_interval: Duration,
    /// How long an `Idempotency-Key` claimed by a request that never finished (its server died)
    /// blocks retries with that key; also how long a retry may wait for a request still running.
    pub idempotency_lease: Duration,
    /// Where to serve Prometheus metrics (`GET /metrics`); none when `None`.
    pub metrics_listen: Option<SocketAddr>,
    /// Whether every `/api/*` request is logged (target `clickbill::access`).
    pub access_log: bool,
    /// Connections served at once; past it, connections are shed with 503 and `Retry-After`.
    pub max_connections: usize,
    /// `/api` requests handled at once; more are answered 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// A longer request body yields no parameters (SPEC §2.6; PHP's `post_max_size`).
    pub max_body_bytes: usize,
    /// How long a keep-alive connection may wait for its next request before it is closed.
    pub idle_timeout: Duration,
    /// How long one `/api` request may take from its headers to its answer; a slower one is
    /// answered 503 with `Retry-After`.
    pub request_timeout: Duration,
    /// The notification worker (SPEC §16).
    pub notifications: NotifierConfig,
    /// Every tenant's bill page offers the test payment provider (`serve --sandbox`); without
    /// it only tenants whose `test_payments` setting is on do.
    pub test_payments: bool,
}

impl ServerConfig {
    /// Defaults for everything but the listen address.
    pub fn new(listen: SocketAddr) -> ServerConfig {
        ServerConfig {
            listen,
            base_domains: Vec::new(),
            trusted_proxies: Vec::new(),
            tenant_refresh_interval: Duration::from_millis(250),
            shutdown_grace: Duration::from_secs(30),
            read_timeout: Duration::from_secs(30),
            auto_cancel_interval: Duration::from_secs(15),
            idempotency_lease: Duration::from_secs(60),
            metrics_listen: None,
            access_log: false,
            max_connections: 1024,
            max_in_flight: 256,
            max_body_bytes: crate::body::MAX_BODY_BYTES,
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            notifications: NotifierConfig::default(),
            test_payments: false,
        }
    }

    /// The base domains as the resolver compares them: lower case, without a trailing dot, with
    /// `localhost` always present and without duplicates.
    pub(crate) fn normalized_base_domains(&self) -> Vec<String> {
        let mut domains: Vec<String> = Vec::new();
        let candidates = self
            .base_domains
            .iter()
            .map(String::as_str)
            .chain(std::iter::once("localhost"));
        for domain in candidates {
            let mut domain = domain.trim().to_ascii_lowercase();
            if domain.ends_with('.') {
                domain.pop();
            }
            if !domain.is_empty() && !domains.contains(&domain) {
                domains.push(domain);
            }
        }
        domains
    }
}

impl Default for ServerConfig {
    /// `127.0.0.1:8080`, the documented default of `clickbill serve`.
    fn default() -> Self {
        ServerConfig::new(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_is_always_a_base_domain() {
        let mut config = ServerConfig::default();
        assert_eq!(config.normalized_base_domains(), ["localhost"]);
        config.base_domains = vec!["JustClick.RU.".into(), "localhost".into(), " ".into()];
        assert_eq!(
            config.normalized_base_domains(),
            ["justclick.ru", "localhost"]
        );
    }
}
