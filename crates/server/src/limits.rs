//! What the server does when asked for more than it can give: connections and requests past
//! the configured limits are shed with `503 Service Unavailable` and `Retry-After` instead of
//! queueing (which would grow memory without bound), `/healthz` keeps answering, and idle or
//! slow connections are closed on time.
//!
//! - A connection is *served* while fewer than `max_connections` are. Past that it is *shed*: a
//!   small pool of extra connections reads one request head (for at most the read timeout, and
//!   never more than [`SHED_HEAD_TIMEOUT`]), answers `/healthz` as usual and everything else
//!   with 503, then closes. When that pool is full too, the connection gets a canned 503 written
//!   without reading anything, and is closed at once.
//! - On served connections, at most `max_in_flight` requests outside `/healthz` are handled at
//!   once; the others are answered 503 at once. A request that takes longer than
//!   `request_timeout` is abandoned and answered 503.
//! - A served connection waiting for its next request is closed after `idle_timeout`; one whose
//!   request head started to arrive must complete it within `read_timeout`.

use crate::api::{self, AppState, PeerAddr, RequestId};
use crate::config::ServerConfig;
use crate::logging;
use crate::metrics::OpenConnection;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::future::Either;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulConnection;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;
use tracing::Instrument;

/// The path that stays answered under any load: load balancers ask it to decide whether the
/// process is alive, and a busy process is alive.
const HEALTHZ: &str = "/healthz";

/// What clients are told to wait before retrying a shed request, in seconds.
const RETRY_AFTER_SECONDS: &str = "1";

/// The longest a shed connection may take to send its request head.
pub const SHED_HEAD_TIMEOUT: Duration = Duration::from_secs(2);

/// The answer to a connection that cannot even be shed politely: written without reading the
/// request, then the connection is closed.
const CANNED_BUSY: &[u8] = concat!(
    "HTTP/1.1 503 Service Unavailable\r\n",
    "Retry-After: 1\r\n",
    "Content-Type: application/json; charset=utf-8\r\n",
    "Content-Length: 17\r\n",
    "Connection: close\r\n\r\n",
    r#"{"status":"busy"}"#,
)
.as_bytes();

/// The 503 answer of a shed request.
pub fn busy() -> Response {
    (
        http::StatusCode::SERVICE_UNAVAILABLE,
        [
            (http::header::RETRY_AFTER, RETRY_AFTER_SECONDS),
            (
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            ),
        ],
        r#"{"status":"busy"}"#,
    )
        .into_response()
}

/// The request-level limits, applied by [`guard`] around every route.
#[derive(Clone)]
pub struct RequestLimits {
    in_flight: Arc<Semaphore>,
    timeout: Duration,
}

impl RequestLimits {
    pub fn new(config: &ServerConfig) -> RequestLimits {
        RequestLimits {
            in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            timeout: config.request_timeout,
        }
    }

    /// Runs `handle` when a slot is free, within the request timeout; 503 otherwise.
    async fn admit(&self, handle: impl Future<Output = Response>) -> Response {
        let Ok(_slot) = self.in_flight.try_acquire() else {
            return busy();
        };
        match tokio::time::timeout(self.timeout, handle).await {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(timeout = ?self.timeout, "request took too long; answered 503");
                busy()
            }
        }
    }
}

/// Middleware: admits a request when a slot is free (`/healthz` always), bounds its time.
pub async fn guard(State(limits): State<RequestLimits>, request: Request, next: Next) -> Response {
    if request.uri().path() == HEALTHZ {
        return next.run(request).await;
    }
    limits.admit(next.run(request)).await
}

/// How a freshly accepted connection is treated.
enum Admission {
    Serve(OwnedSemaphorePermit),
    Shed(OwnedSemaphorePermit),
    Refuse,
}

/// Accepted connections, turned into the futures that serve them.
pub struct Connections {
    router: Router,
    state: Arc<AppState>,
    limits: RequestLimits,
    served: Arc<Semaphore>,
    shed: Arc<Semaphore>,
    builder: auto::Builder<TokioExecutor>,
    shed_builder: hyper::server::conn::http1::Builder,
    timeouts: Timeouts,
}

#[derive(Clone, Copy)]
struct Timeouts {
    idle: Duration,
    read: Duration,
}

impl Connections {
    /// `limits` are the ones the router's [`guard`] applies, shared so that both count the same
    /// requests in flight.
    pub fn new(
        config: &ServerConfig,
        router: Router,
        state: Arc<AppState>,
        limits: RequestLimits,
    ) -> Connections {
        let timeouts = Timeouts {
            idle: config.idle_timeout,
            read: config.read_timeout,
        };
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // The connection watcher enforces both timeouts precisely; hyper's own head timer,
        // which starts as soon as a connection waits for a request, is only a backstop.
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(timeouts.idle + timeouts.read);
        let mut shed_builder = hyper::server::conn::http1::Builder::new();
        shed_builder
            .timer(TokioTimer::new())
            .keep_alive(false)
            .header_read_timeout(timeouts.read.min(SHED_HEAD_TIMEOUT));
        let max_connections = config.max_connections.max(1);
        Connections {
            router,
            state,
            limits,
            served: Arc::new(Semaphore::new(max_connections)),
            // Enough to keep answering health checks and turning clients away politely during
            // a burst, small enough that its memory does not matter.
            shed: Arc::new(Semaphore::new(64 + max_connections / 4)),
            builder,
            shed_builder,
            timeouts,
        }
    }

    fn admit(&self) -> Admission {
        if let Ok(permit) = Arc::clone(&self.served).try_acquire_owned() {
            Admission::Serve(permit)
        } else if let Ok(permit) = Arc::clone(&self.shed).try_acquire_owned() {
            Admission::Shed(permit)
        } else {
            Admission::Refuse
        }
    }

    /// The future serving one accepted connection until it ends; `None` when the connection
    /// was refused and is already closed. `stop` turning true shuts it down gracefully.
    pub fn serve(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        stop: watch::Receiver<bool>,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        let _ = stream.set_nodelay(true);
        let router = self.router.clone();
        let (permit, shed) = match self.admit() {
            Admission::Serve(permit) => (permit, false),
            Admission::Shed(permit) => (permit, true),
            Admission::Refuse => {
                tracing::debug!(%peer, "connection refused: too many connections");
                let _ = stream.try_write(CANNED_BUSY);
                return None;
            }
        };
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            inner: stream,
            activity: Arc::clone(&activity),
        });
        let tracked = Arc::clone(&activity);
        let state = Arc::clone(&self.state);
        let limits = self.limits.clone();
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            let request_id = state.next_request_id();
            request.extensions_mut().insert(PeerAddr(peer));
            request.extensions_mut().insert(RequestId(request_id));
            let busy_guard = tracked.begin();
            let (router, state, limits) = (router.clone(), Arc::clone(&state), limits.clone());
            async move {
                let path = request.uri().path();
                let response = if shed && path != HEALTHZ {
                    busy()
                } else if api::is_api(path) {
                    // The hot path goes straight to the API, past the router's layers; the
                    // limits are the same ones the router's guard applies.
                    let request = request.map(axum::body::Body::new);
                    limits.admit(api::serve(&state, request)).await
                } else {
                    match router.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                };
                drop(busy_guard);
                Ok::<_, std::convert::Infallible>(response)
            }
            .instrument(logging::request_span(request_id))
        });
        let open = OpenConnection::new();
        let timeouts = self.timeouts;
        Some(if shed {
            let connection = self.shed_builder.serve_connection(io, service);
            Either::Left(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%peer, %error, "shed connection ended with an error");
                }
                drop((permit, open));
            })
        } else {
            let connection = self.builder.serve_connection(io, service).into_owned();
            Either::Right(async move {
                watch_connection(connection, &activity, timeouts, stop, peer).await;
                drop((permit, open));
            })
        })
    }
}

/// Drives a served connection and closes it gracefully when the server stops, when it has
/// waited too long for a request, or when a request head takes too long to arrive.
async fn watch_connection<C>(
    connection: C,
    activity: &Activity,
    timeouts: Timeouts,
    mut stop: watch::Receiver<bool>,
    peer: SocketAddr,
) where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    tokio::pin!(connection);
    let tick = timeouts.idle.min(timeouts.read).min(Duration::from_secs(1));
    let mut closing = false;
    loop {
        let wake = activity
            .deadline(timeouts)
            .map_or(Instant::now() + tick, |deadline| {
                deadline.min(Instant::now() + tick)
            });
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            _ = stop.wait_for(|stop| *stop), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = tokio::time::sleep_until(wake.into()), if !closing => {
                if activity.deadline(timeouts).is_some_and(|deadline| deadline <= Instant::now()) {
                    tracing::debug!(%peer, "closing a connection that kept the server waiting");
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

const NOT_STARTED: u64 = u64::MAX;

/// What a connection is doing, as its watcher needs to know: requests in progress, when it last
/// finished one, and when the next request's first bytes arrived.
struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    idle_since_ms: AtomicU64,
    head_since_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
            head_since_ms: AtomicU64::new(NOT_STARTED),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(NOT_STARTED - 1)
    }

    fn at(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    /// Marks a request as handled until the guard is dropped.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.head_since_ms.store(NOT_STARTED, Ordering::SeqCst);
        InFlight(Arc::clone(self))
    }

    /// Bytes arrived: when no request is in progress, they start the next request's head.
    fn received(&self) {
        if self.in_flight.load(Ordering::SeqCst) == 0 {
            let _ = self.head_since_ms.compare_exchange(
                NOT_STARTED,
                self.now_ms(),
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
    }

    /// When the connection must be closed if nothing changes; `None` while a request runs.
    fn deadline(&self, timeouts: Timeouts) -> Option<Instant> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        match self.head_since_ms.load(Ordering::SeqCst) {
            NOT_STARTED => Some(self.at(self.idle_since_ms.load(Ordering::SeqCst)) + timeouts.idle),
            head => Some(self.at(head) + timeouts.read),
        }
    }
}

struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity
            .idle_since_ms
            .store(activity.now_ms(), Ordering::SeqCst);
        activity.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A socket that reports incoming bytes to its connection's [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.received();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
