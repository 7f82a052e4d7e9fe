//! Binding, serving and stopping.
//!
//! The accept loop drives hyper directly (rather than `axum::serve`) so that it can set header
//! timeouts and shut connections down gracefully: on shutdown the listener closes at once,
//! requests in flight finish, idle keep-alive connections are closed.

use crate::api::{self, AppState, PeerAddr};
use crate::bill;
use crate::config::ServerConfig;
use crate::tenants::TenantDirectory;
use crate::timers;
use anyhow::Context;
use axum::routing::get;
use axum::Router;
use clickbill_domain::{Clock, Store};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// A bound, ready server. Build it, read its address, then run it.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
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
        let state = Arc::new(AppState::new(store, clock, tenants, &config));
        let router = Router::new()
            .route("/healthz", get(api::healthz))
            .merge(bill::routes(Arc::clone(&state), &config))
            .fallback(api::fallback)
            .with_state(Arc::clone(&state));
        let (stop_tx, _) = watch::channel(false);
        Ok(Application {
            listener,
            local_addr,
            router,
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
            router,
            state,
            config,
            stop_tx,
            ..
        } = self;
        let refresher =
            tokio::spawn(Arc::clone(&state.tenants).keep_fresh(config.tenant_refresh_interval));
        let auto_cancel = tokio::spawn(timers::run(
            Arc::clone(&state.store),
            Arc::clone(&state.clock),
            config.auto_cancel_interval,
        ));
        let mut stop_rx = stop_tx.subscribe();
        let stopped = async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        };
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(config.read_timeout);
        let graceful = GracefulShutdown::new();
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
            let _ = stream.set_nodelay(true);
            let router = router.clone();
            let service =
                hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
                    request.extensions_mut().insert(PeerAddr(peer));
                    router.clone().oneshot(request)
                });
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned();
            let connection = graceful.watch(connection);
            connections.spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%peer, error = %error, "connection ended with an error");
                }
            });
        }
        drop(listener);
        for worker in [refresher, auto_cancel] {
            worker.abort();
            let _ = worker.await;
        }
        if tokio::time::timeout(config.shutdown_grace, graceful.shutdown())
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
