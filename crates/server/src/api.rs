//! The `/api/*` endpoint: transport rules (SPEC §2), tenant resolution (§3), the common checks
//! (§5.7) and the envelope (§6); the methods themselves are in [`crate::methods`].

use crate::body;
use crate::config::ServerConfig;
use crate::idempotency::{self, Admission, IdempotencyKey};
use crate::logging;
use crate::methods::{self, Call};
use crate::tenants::TenantDirectory;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use clickbill_domain::{Clock, Store, StoredResponse};
use clickbill_protocol::envelope::Envelope;
use clickbill_protocol::error::ApiError;
use clickbill_protocol::method::{method_name, route};
use clickbill_protocol::value::Params;
use http::header::{ALLOW, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, Uri};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything a request handler needs, shared by all connections.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub tenants: Arc<TenantDirectory>,
    trusted_proxies: Vec<IpAddr>,
    pub(crate) read_timeout: Duration,
    pub(crate) max_body_bytes: usize,
    idempotency_lease: Duration,
    /// Numbers requests for their log lines; never sent to clients.
    request_ids: AtomicU64,
    access_log: bool,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        tenants: Arc<TenantDirectory>,
        config: &ServerConfig,
    ) -> AppState {
        AppState {
            store,
            clock,
            tenants,
            trusted_proxies: config.trusted_proxies.clone(),
            read_timeout: config.read_timeout,
            max_body_bytes: config.max_body_bytes,
            idempotency_lease: config.idempotency_lease,
            request_ids: AtomicU64::new(1),
            access_log: config.access_log,
        }
    }

    /// A fresh request id, unique within this process.
    pub fn next_request_id(&self) -> u64 {
        self.request_ids.fetch_add(1, Ordering::Relaxed)
    }
}

/// The id of the request, set by the accept loop (see [`crate::logging`]).
#[derive(Clone, Copy, Debug)]
pub struct RequestId(pub u64);

/// The `error_code` of the envelope an `/api/*` response carries; absent on a replay.
#[derive(Clone, Copy, Debug)]
struct ApiCode(i64);

/// The TCP peer of the connection a request came on, set by the accept loop.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

const API_PREFIX: &str = "/api/";
const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// `GET /healthz`: 200 when the store answers a cheap query, 503 otherwise.
pub async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let (status, body) = match state.store.tenants_version().await {
        Ok(_) => (StatusCode::OK, r#"{"status":"ok"}"#),
        Err(error) => {
            tracing::error!(%error, "health check: the store does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"status":"unavailable"}"#,
            )
        }
    };
    (status, [(CONTENT_TYPE, JSON_UTF8)], body).into_response()
}

/// Whether `path` is the API's.
pub(crate) fn is_api(path: &str) -> bool {
    path.starts_with(API_PREFIX)
}

/// Everything that is not another route: `/api/*` is the API, the rest is a plain 404.
pub async fn fallback(State(state): State<Arc<AppState>>, request: Request) -> Response {
    if is_api(request.uri().path()) {
        serve(&state, request).await
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// One `/api/*` request, measured and logged.
pub(crate) async fn serve(state: &AppState, request: Request) -> Response {
    let remainder = &request.uri().path()[API_PREFIX.len()..];
    let method = route(remainder).map_or("unknown", |m| m.canonical_name());
    let peer = request.extensions().get::<PeerAddr>().map(|p| p.0);
    let started = Instant::now();
    let response = api(state, request).await;
    let elapsed = started.elapsed();
    let code = response.extensions().get::<ApiCode>().map(|c| c.0);
    crate::metrics::api_request(method, code, elapsed);
    if state.access_log {
        logging::access(method, response.status().as_u16(), code, elapsed, peer);
    }
    response
}

/// One `/api/*` request, in the order of SPEC §2.5.
async fn api(state: &AppState, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let tenant = authority(&parts.uri, &parts.headers).and_then(|a| state.tenants.resolve(a));
    // 404 and 405 are signed with the secret of whatever tenant the host names, enabled or not.
    let routing_secret = tenant.as_ref().map_or("", |t| t.secret.as_str());

    if parts.method != HttpMethod::POST {
        let error = ApiError::MethodNotAllowed(parts.method.as_str().to_owned());
        return envelope_response(&Envelope::from(&error), routing_secret, &error);
    }
    let remainder = &parts.uri.path()[API_PREFIX.len()..];
    let Some(method) = route(remainder) else {
        body::discard(
            &parts.headers,
            body,
            state.read_timeout,
            state.max_body_bytes,
        )
        .await;
        let error = ApiError::UnknownMethod(method_name(remainder).to_owned());
        return envelope_response(&Envelope::from(&error), routing_secret, &error);
    };

    let body = body::read_params(
        &parts.headers,
        body,
        state.read_timeout,
        state.max_body_bytes,
    )
    .await;
    let params = body.params;
    let Some(tenant) = tenant else {
        return ok_response(&Envelope::from(ApiError::InvalidUserName), "");
    };
    if !tenant.enabled {
        return ok_response(&Envelope::from(ApiError::AccountDisabled), &tenant.secret);
    }
    let params =
        match clickbill_protocol::auth::authenticate(params, tenant.login.as_str(), &tenant.secret)
        {
            Ok(params) => params,
            Err(error) => return ok_response(&Envelope::from(error), &tenant.secret),
        };

    let peer = parts.extensions.get::<PeerAddr>().map(|p| p.0);
    let call = Call {
        state,
        tenant: &tenant,
        params: Params::new(&params),
        client_ip: client_ip(peer, &parts.headers, &state.trusted_proxies),
        request_id: parts
            .extensions
            .get::<RequestId>()
            .map_or_else(|| state.next_request_id(), |id| id.0),
    };
    let Some(key) = IdempotencyKey::from_headers(&parts.headers) else {
        let answer = methods::dispatch(method, call).await;
        return ok_response(&answer.envelope, &tenant.secret);
    };

    let store = state.store.as_ref();
    let clock = state.clock.as_ref();
    let fingerprint = idempotency::fingerprint(method, &body.raw);
    let admission = idempotency::admit(
        store,
        clock,
        tenant.id,
        &key,
        &fingerprint,
        state.idempotency_lease,
    )
    .await;
    match admission {
        Ok(Admission::Run) => {}
        Ok(Admission::Replay(stored)) => return replayed(stored),
        Ok(Admission::Reused) => {
            let error = ApiError::IdempotencyKeyReused;
            return envelope_response(&Envelope::from(&error), &tenant.secret, &error);
        }
        Err(error) => {
            // Without the key's record the method must not run: it might run twice.
            tracing::error!(%error, tenant = %tenant.login, %method, "cannot claim an idempotency key");
            let failure = methods::failure_code(method);
            return ok_response(&Envelope::from(failure), &tenant.secret);
        }
    }
    let answer = methods::dispatch(method, call).await;
    let rendered = answer.envelope.render(&tenant.secret);
    let stored = (!answer.unexpected).then(|| StoredResponse {
        status: StatusCode::OK.as_u16(),
        body: rendered.clone(),
    });
    idempotency::finish(store, clock, tenant.id, &key, &fingerprint, stored).await;
    let mut response = json_response(StatusCode::OK, rendered);
    response
        .extensions_mut()
        .insert(ApiCode(answer.envelope.code));
    response
}

/// The answer stored under an idempotency key, byte for byte.
fn replayed(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    json_response(status, stored.body)
}

/// The authority that names the tenant: the absolute target's, else the `Host` header.
pub(crate) fn authority<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Option<&'a str> {
    if let Some(authority) = uri.authority() {
        return Some(authority.as_str());
    }
    headers.get(HOST).and_then(|h| h.to_str().ok())
}

/// The client IP (SPEC §9.1): the TCP peer, or the left-most `X-Forwarded-For` address when the
/// peer is a trusted proxy and that address parses.
fn client_ip(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer_ip = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| canonical(p.ip()));
    if !trusted.iter().any(|t| canonical(*t) == peer_ip) {
        return peer_ip;
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|first| first.trim().parse::<IpAddr>().ok())
        .map_or(peer_ip, canonical)
}

/// An IPv4 peer on a dual-stack socket arrives as `::ffff:a.b.c.d`; compare and store it as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn ok_response(envelope: &Envelope, secret: &str) -> Response {
    respond(StatusCode::OK, envelope, secret, false)
}

/// The 404/405 answers outside the method layer, with their status and headers (SPEC §2.3).
fn envelope_response(envelope: &Envelope, secret: &str, error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::OK);
    respond(
        status,
        envelope,
        secret,
        matches!(error, ApiError::MethodNotAllowed(_)),
    )
}

fn respond(status: StatusCode, envelope: &Envelope, secret: &str, allow_post: bool) -> Response {
    let mut response = json_response(status, envelope.render(secret));
    response.extensions_mut().insert(ApiCode(envelope.code));
    if allow_post {
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, JSON_UTF8);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: Option<&str>) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Some(value) = xff {
            map.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn client_ip_trusts_only_listed_proxies() {
        let proxy: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let trusted = vec!["10.0.0.1".parse().unwrap()];
        let forwarded = headers(Some("203.0.113.7, 10.0.0.1"));
        assert_eq!(
            client_ip(Some(proxy), &forwarded, &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(Some(proxy), &forwarded, &[]),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(Some(proxy), &headers(Some("garbage")), &trusted),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(Some(proxy), &headers(None), &trusted),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:5000".parse().unwrap();
        assert_eq!(
            client_ip(Some(mapped), &forwarded, &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
    }
}
