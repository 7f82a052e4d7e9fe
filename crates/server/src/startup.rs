//! Binding, serving and stopping.
//!
//! The accept loop drives hyper directly (rather than `axum::serve`) so that it can set header
//! timeouts and shut connections down gracefully: on shutdown the listener closes at once,
//! requests in flight finish, idle keep-alive connections are closed.

use crate::api::{self, AppState};
use crate::bill;
use crate::config::ServerConfig;
use crate::limits::{self, Connections, RequestLimits};
use crate::notifier;
use crate::tenants::TenantDirectory;
use crate::timers;
use anyhow::Context;
use axum::routing::get;
use axum::Router;
use clickbill_domain::{Clock, Store};
use metrics_exporter_prometheus::PrometheusHandle;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// A bound, ready server. Build it, read its address, then run it.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    metrics: Option<(TcpListener, PrometheusHandle)>,
    router: Router,
    limits: RequestLimits,
    state: Arc<AppState>,
    config: ServerConfig,
    stop_tx: watch::Sender<bool>,
}

/// Asks a running [`Application`] to shut down gracefully; cheap to clone.
#[derive(Clone)]
pub struct ShutdownHandle {
    stop_tx: watch::Sender<bool>,
}

impl ShutdownHandle {
    /// Starts the graceful shutdown; the run future resolves once in-flight requests are done.
    pub fn shutdown(&self) {
        self.stop_tx.send_replace(true);
    }
}

impl Application {
    /// Loads the tenants, binds the listener (port 0 picks a free port) and prepares the routes.
    /// Nothing is served until [`Application::run_until_stopped`] or [`Application::run_until`].
    pub async fn build(
        config: ServerConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        let tenants = Arc::new(TenantDirectory::new(
            Arc::clone(&store),
            config.normalized_base_domains(),
        ));
        tenants
            .refresh()
            .await
            .context("cannot load the tenants from the store")?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let local_addr = listener.local_addr()?;
        let metrics = match config.metrics_listen {
            Some(addr) => {
                let handle = crate::metrics::install()?;
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen for metrics on {addr}"))?;
                Some((listener, handle))
            }
            None => None,
        };
        let state = Arc::new(AppState::new(store, clock, tenants, &config));
        let limits = RequestLimits::new(&config);
        let router = Router::new()
            .route("/healthz", get(api::healthz))
            .merge(bill::routes(Arc::clone(&state), &config))
            .fallback(api::fallback)
            .with_state(Arc::clone(&state))
            .layer(axum::middleware::from_fn_with_state(
                limits.clone(),
                limits::guard,
            ));
        let (stop_tx, _) = watch::channel(false);
        Ok(Application {
            listener,
            local_addr,
            metrics,
            router,
            limits,
            state,
            config,
            stop_tx,
        })
    }

    /// The bound port (useful after binding port 0).
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The bound address of the metrics listener, when one was asked for.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// The request handler without the socket: drives the whole server in process (the fuzz
    /// harness does). Requests through it carry no peer address.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// A handle that stops this application gracefully from elsewhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            stop_tx: self.stop_tx.clone(),
        }
    }

    /// Serves until SIGINT (Ctrl-C) or SIGTERM, or until a [`ShutdownHandle`] asks, then shuts
    /// down gracefully.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(termination_signal()).await
    }

    /// Serves until `shutdown` resolves (or a [`ShutdownHandle`] asks), then stops accepting,
    /// lets in-flight requests finish (at most `shutdown_grace`), closes idle connections and
    /// returns. When it returns, the server no longer holds the store: a caller that kept its
    /// own `Arc` of the concrete store can unwrap it and close it (flushing queued writes).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let Application {
            listener,
            metrics,
            router,
            limits,
            state,
            config,
            stop_tx,
            ..
        } = self;
        let metrics =
            metrics.map(|(listener, handle)| tokio::spawn(crate::metrics::serve(listener, handle)));
        let refresher =
            tokio::spawn(Arc::clone(&state.tenants).keep_fresh(config.tenant_refresh_interval));
        let auto_cancel = tokio::spawn(timers::run(
            Arc::clone(&state.store),
            Arc::clone(&state.clock),
            config.auto_cancel_interval,
        ));
        let notifier = config.notifications.enabled.then(|| {
            let wake = Arc::new(Notify::new());
            let waker = Arc::clone(&wake);
            state
                .store
                .set_outbox_waker(Arc::new(move || waker.notify_one()));
            tokio::spawn(notifier::run(
                Arc::clone(&state.store),
                config.notifications.clone(),
                wake,
            ))
        });
        let mut stop_rx = stop_tx.subscribe();
        let stopped = async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        };
        let accepted_connections = Connections::new(&config, router, Arc::clone(&state), limits);
        // Tells every connection to finish its request in flight and close.
        let (close_tx, close_rx) = watch::channel(false);
        // Connection tasks are kept so that none outlives `run_until`: after it returns, the
        // server holds no reference to the store, which the caller may then close.
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);
        tokio::pin!(stopped);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                () = &mut shutdown => break,
                () = &mut stopped => break,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Running out of file descriptors and similar: wait a little instead of
                    // spinning, keep serving the connections already open.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if let Some(connection) = accepted_connections.serve(stream, peer, close_rx.clone()) {
                connections.spawn(connection);
            }
        }
        drop(listener);
        for worker in [refresher, auto_cancel]
            .into_iter()
            .chain(metrics)
            .chain(notifier)
        {
            worker.abort();
            let _ = worker.await;
        }
        close_tx.send_replace(true);
        let drained = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(config.shutdown_grace, drained)
            .await
            .is_err()
        {
            tracing::warn!("graceful shutdown timed out; dropping the remaining connections");
        }
        connections.shutdown().await;
        Ok(())
    }
}

/// Resolves on SIGINT or (on Unix) SIGTERM.
async fn termination_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
