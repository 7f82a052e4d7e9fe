//! The whole `/api` request path in process: the real router over a small SQLite fixture.

use crate::{LOGIN, SECRET};
use axum::body::Body;
use axum::Router;
use clickbill_domain::model::{NewTenant, TenantSettings};
use clickbill_domain::{Store, SystemClock};
use clickbill_protocol::sign::add_request_hash;
use clickbill_protocol::value::Login;
use clickbill_server::{Application, ServerConfig};
use clickbill_store_sqlite::SqliteStore;
use http::header::{CONTENT_TYPE, HOST};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

/// Secrets of the fixture's tenants, and the empty secret of answers for unknown hosts: every
/// envelope must be signed with one of them.
const SECRETS: [&str; 3] = [SECRET, "offsecret", ""];

/// One fuzzed request, read from the input as four lines and a body:
///
/// ```text
/// POST CreateOrder            HTTP method, a space, the path after /api/
/// demo.localhost              Host
/// application/x-www-form-urlencoded   Content-Type (empty: none)
/// signed                      "signed": append a valid hash for demo; anything else: as is
/// <body bytes>
/// ```
#[derive(Debug)]
pub struct ApiInput<'a> {
    pub http_method: &'a [u8],
    pub path: &'a [u8],
    pub host: &'a [u8],
    pub content_type: &'a [u8],
    pub sign: bool,
    pub body: &'a [u8],
}

impl<'a> ApiInput<'a> {
    pub fn parse(data: &'a [u8]) -> ApiInput<'a> {
        let mut lines = data.splitn(5, |&b| b == b'\n');
        let mut next = || lines.next().unwrap_or(b"");
        let request_line = next();
        let (http_method, path) = match request_line.iter().position(|&b| b == b' ') {
            Some(space) => (&request_line[..space], &request_line[space + 1..]),
            None => (&b"POST"[..], request_line),
        };
        ApiInput {
            http_method,
            path,
            host: next(),
            content_type: next(),
            sign: next() == b"signed",
            body: next(),
        }
    }
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    router: Router,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        // Memory-backed when the system offers it: the fuzzer writes orders at full speed.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("temporary directory");
        let router = runtime.block_on(async {
            let store: Arc<dyn Store> =
                Arc::new(SqliteStore::open(dir.path().join("clickbill.db")).expect("store"));
            for (login, secret, enabled) in [(LOGIN, SECRET, true), ("off", "offsecret", false)] {
                let mut tenant = store
                    .add_tenant(NewTenant {
                        login: Login::parse(login).expect("login"),
                        secret: secret.into(),
                        custom_domains: vec![format!("{login}.example")],
                        settings: TenantSettings::default(),
                    })
                    .await
                    .expect("tenant");
                if !enabled {
                    tenant.enabled = false;
                    store.save_tenant(&tenant).await.expect("disable");
                }
            }
            let mut config = ServerConfig::new("127.0.0.1:0".parse().expect("address"));
            config.base_domains.push("justclick.ru".into());
            let app = Application::build(config, store, Arc::new(SystemClock))
                .await
                .expect("server");
            let router = app.router();
            for good in [
                "good_name=book&good_type=0&good_title=Book&good_sum=100",
                "good_name=box&good_type=real&good_title=Box&good_sum=2500.50&good_timer_kill=60",
            ] {
                let mut params = php_form::parse(good.as_bytes());
                add_request_hash(&mut params, LOGIN, SECRET);
                let request = Request::post("/api/AddGood")
                    .header(HOST, "demo.localhost")
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(php_form::build_query(&params)))
                    .expect("request");
                let response = router.clone().oneshot(request).await.expect("infallible");
                assert_eq!(response.status(), StatusCode::OK);
            }
            router
        });
        Fixture {
            runtime,
            router,
            _dir: dir,
        }
    })
}

/// Sends one request through the server's router and checks the answer: one of the statuses of
/// SPEC §2.3, the JSON content type, and an envelope signed with a secret the server knows.
/// Inputs that are not a valid HTTP request (a method or host `http` cannot carry) are skipped.
pub fn api_request(data: &[u8]) {
    let input = ApiInput::parse(data);
    let Ok(http_method) = Method::from_bytes(input.http_method) else {
        return;
    };
    let mut builder = Request::builder()
        .method(http_method.clone())
        .uri([&b"/api/"[..], input.path].concat().as_slice())
        .header(HOST, input.host);
    if !input.content_type.is_empty() {
        builder = builder.header(CONTENT_TYPE, input.content_type);
    }
    let body = if input.sign {
        let mut params = clickbill_protocol::auth::strip_credentials(php_form::parse(input.body));
        add_request_hash(&mut params, LOGIN, SECRET);
        php_form::build_query(&params)
    } else {
        input.body.to_vec()
    };
    let Ok(request) = builder.body(Body::from(body)) else {
        return;
    };
    let fixture = fixture();
    let (status, content_type, body) = fixture.runtime.block_on(async {
        let response = fixture
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let content_type = response.headers().get(CONTENT_TYPE).cloned();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("in-memory body")
            .to_bytes();
        (status, content_type, body)
    });
    assert!(
        [200, 404, 405, 409].contains(&status.as_u16()),
        "status {status} for {input:?}"
    );
    assert_eq!(
        content_type.as_ref().map(|v| v.as_bytes()),
        Some(&b"application/json; charset=utf-8"[..]),
        "content type for {input:?}"
    );
    let envelope = clickbill_protocol::parse_response(&body).unwrap_or_else(|error| {
        panic!(
            "{error}: {:?} for {input:?}",
            String::from_utf8_lossy(&body)
        )
    });
    assert!(
        SECRETS.iter().any(|secret| envelope.verify(secret)),
        "envelope {:?} is signed with no known secret, for {input:?}",
        String::from_utf8_lossy(&body)
    );
}
