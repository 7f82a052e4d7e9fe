//! Tenant resolution (SPEC §3.2) over an in-memory copy of the tenants.
//!
//! Every request needs its tenant's login and secret before anything else, so the tenants live
//! in memory: a snapshot maps logins and custom domains to tenants and is swapped whole when the
//! store reports a new `tenants_version`. A background task asks for that version a few times a
//! second; the hot path only takes a read lock and clones an `Arc`.

use clickbill_domain::model::Tenant;
use clickbill_domain::{Store, StoreError};
use futures_util::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// All tenants at one version of the store.
#[derive(Default)]
struct Snapshot {
    version: Option<i64>,
    by_login: HashMap<String, Arc<Tenant>>,
    by_domain: HashMap<String, Arc<Tenant>>,
}

impl Snapshot {
    fn new(version: i64, tenants: Vec<Tenant>) -> Snapshot {
        let mut snapshot = Snapshot {
            version: Some(version),
            ..Snapshot::default()
        };
        for tenant in tenants {
            let tenant = Arc::new(tenant);
            for domain in &tenant.custom_domains {
                snapshot
                    .by_domain
                    .insert(normalize_host(domain), Arc::clone(&tenant));
            }
            snapshot
                .by_login
                .insert(tenant.login.as_str().to_owned(), tenant);
        }
        snapshot
    }
}

/// The tenants of the store plus the server's base domains: turns a host into a tenant.
pub struct TenantDirectory {
    store: Arc<dyn Store>,
    base_domains: Vec<String>,
    snapshot: RwLock<Arc<Snapshot>>,
}

impl TenantDirectory {
    /// An empty directory; call [`TenantDirectory::refresh`] before serving.
    pub fn new(store: Arc<dyn Store>, base_domains: Vec<String>) -> TenantDirectory {
        TenantDirectory {
            store,
            base_domains,
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
        }
    }

    fn current(&self) -> Arc<Snapshot> {
        // A poisoned lock only means a writer panicked between two whole-snapshot swaps; the
        // snapshot inside is still consistent.
        let guard = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(&guard)
    }

    /// Reloads every tenant when the store's tenant version differs from the cached one.
    /// Returns whether a reload happened.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let version = self.store.tenants_version().await?;
        if self.current().version == Some(version) {
            return Ok(false);
        }
        let tenants = self.store.tenants().await?;
        let fresh = Arc::new(Snapshot::new(version, tenants));
        let mut guard = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        *guard = fresh;
        crate::metrics::tenant_reload();
        Ok(true)
    }

    /// Refreshes forever, every `interval`. Failures are logged once and retried at the next
    /// tick; the last good snapshot keeps serving meanwhile.
    pub async fn keep_fresh(self: Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            ticker.tick().await;
            // A panicking store must not end the refresher for the life of the process.
            let refreshed = AssertUnwindSafe(self.refresh())
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(StoreError::Backend("the store panicked".into())));
            match refreshed {
                Ok(_) => failing = false,
                Err(error) if !failing => {
                    failing = true;
                    tracing::warn!(%error, "cannot reload tenants; serving the cached ones");
                }
                Err(_) => {}
            }
        }
    }

    /// The tenant an authority (`Host` header or the authority of an absolute target) names,
    /// enabled or not (SPEC §3.2).
    pub fn resolve(&self, authority: &str) -> Option<Arc<Tenant>> {
        let tenant = self.lookup(authority);
        crate::metrics::tenant_lookup(tenant.is_some());
        tenant
    }

    fn lookup(&self, authority: &str) -> Option<Arc<Tenant>> {
        let host = normalize_host(strip_port(strip_userinfo(authority)));
        if host.is_empty() {
            return None;
        }
        let snapshot = self.current();
        if let Some(tenant) = snapshot.by_domain.get(&host) {
            return Some(Arc::clone(tenant));
        }
        let login = login_label(&host, &self.base_domains)?;
        snapshot.by_login.get(login).cloned()
    }
}

/// An absolute target's authority may carry `user:pass@`; the host is what follows the last `@`.
fn strip_userinfo(authority: &str) -> &str {
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// Removes the port. An IPv6 literal keeps its brackets (`[::1]:8080` → `[::1]`).
fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => &authority[..=end],
            None => authority,
        };
    }
    authority
        .split_once(':')
        .map_or(authority, |(host, _)| host)
}

/// Lower-cases ASCII-wise and removes one trailing dot (SPEC §3.2 step 2).
pub(crate) fn normalize_host(host: &str) -> String {
    let host = host.trim();
    let host = host.strip_suffix('.').unwrap_or(host);
    host.to_ascii_lowercase()
}

/// The first label of `host` when `host` lies strictly under one of `base_domains` (whole labels).
fn login_label<'a>(host: &'a str, base_domains: &[String]) -> Option<&'a str> {
    base_domains.iter().find_map(|base| {
        let prefix = host.strip_suffix(base.as_str())?.strip_suffix('.')?;
        let label = prefix.split('.').next()?;
        (!label.is_empty()).then_some(label)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bases(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn host_of(authority: &str) -> String {
        normalize_host(strip_port(strip_userinfo(authority)))
    }

    #[test]
    fn hosts_are_normalised() {
        assert_eq!(host_of("DEMO.JustClick.ru:443"), "demo.justclick.ru");
        assert_eq!(host_of("demo.localhost:8080"), "demo.localhost");
        assert_eq!(host_of("demo.localhost."), "demo.localhost");
        assert_eq!(host_of("demo.localhost..:1"), "demo.localhost.");
        assert_eq!(host_of("[::1]:8080"), "[::1]");
        assert_eq!(host_of("[::1]"), "[::1]");
        assert_eq!(host_of("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_of("user:pw@Shop.Example:81"), "shop.example");
    }

    #[test]
    fn first_label_under_a_base_domain() {
        let b = bases(&["justclick.ru", "localhost"]);
        assert_eq!(login_label("demo.justclick.ru", &b), Some("demo"));
        assert_eq!(login_label("demo.localhost", &b), Some("demo"));
        assert_eq!(login_label("a.demo.localhost", &b), Some("a"));
        assert_eq!(login_label("localhost", &b), None);
        assert_eq!(login_label("justclick.ru", &b), None);
        assert_eq!(login_label("demojustclick.ru", &b), None);
        assert_eq!(login_label(".localhost", &b), None);
        assert_eq!(
            login_label("demo.justclick.ru", &bases(&["localhost"])),
            None
        );
    }
}
