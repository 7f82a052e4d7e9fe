//! The client: configuration, signing, transport and response verification.

use crate::error::ClientError;
use clickbill_protocol::{parse_response, sign};
use php_form::{build_query_data, Data, Key};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::Url;
use serde::de::DeserializeOwned;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Total time one call may take unless configured otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time to establish a connection unless configured otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body accepted unless configured otherwise. Generous for order lists, small
/// enough that a misbehaving server cannot exhaust memory.
const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The form content type every API request uses (§2.6).
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The header of the Idempotency-Key extension (§17).
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// A client of one tenant of a JustClick-compatible API.
///
/// It signs every request with the tenant's login and secret, sends it to
/// `{base_url}/api/{Method}`, and accepts an answer only when its `hash` proves it came from a
/// server that knows the same secret. Cloning is cheap: clones share one connection pool.
///
/// ```no_run
/// # async fn run() -> Result<(), clickbill_client::ClientError> {
/// use clickbill_client::{Client, CreateOrderOutcome, NewOrder, OrderGood};
///
/// let client = Client::new("http://demo.localhost:8080", "demo", "secret")?;
///
/// let order = NewOrder::new()
///     .email("client@example.com")
///     .first_name("Иван")
///     .good(OrderGood::new("code1").sum(1000))
///     .utm_source("newsletter");
/// let bill_id = match client.create_order(&order).await? {
///     CreateOrderOutcome::Created(id) => id,
///     // The same order was placed within the last 24 hours (§13.1.4).
///     CreateOrderOutcome::Duplicate(id) => id,
/// };
///
/// let details = client.get_order_details(bill_id, true).await?;
/// println!("{} is {}, to pay {}", details.id, details.pay_status, details.bill_sum_topay);
/// # Ok(())
/// # }
/// ```
///
/// Host names under `.localhost` (and `localhost` itself) always reach this machine's loopback
/// interface (RFC 6761), even where the system resolver does not know them, while the `Host`
/// header keeps the name: `http://demo.localhost:8080` talks to the tenant `demo` of a server
/// listening on `127.0.0.1:8080` (or `[::1]:8080`).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    login: String,
    secret: String,
    timeout: Option<Duration>,
    max_response_bytes: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret signs requests and must never end up in logs.
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("login", &self.inner.login)
            .field("secret", &"<hidden>")
            .finish_non_exhaustive()
    }
}

/// How a request proves who sends it (§5.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Auth {
    /// API 1.0: an md5 `hash` over the parameters, the login and the secret (§5.2).
    #[default]
    Signature,
    /// API 2.0: the secret itself in the parameter `rpsKey` (§5.6). Use it over TLS only.
    Key,
}

/// Per-call settings for [`Client::call_with_options`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallOptions {
    auth: Auth,
    idempotency_key: Option<String>,
}

impl CallOptions {
    /// Signature authentication, no idempotency key.
    pub fn new() -> CallOptions {
        CallOptions::default()
    }

    /// Chooses how the request authenticates.
    pub fn auth(mut self, auth: Auth) -> CallOptions {
        self.auth = auth;
        self
    }

    /// Sends `Idempotency-Key: key` (§17, an extension of clickbill): a repeated call with the
    /// same key and the same body within 24 hours gets the first answer again instead of being
    /// executed twice. The key is 1–255 visible ASCII characters.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> CallOptions {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// A verified answer of the API (§6.1): its hash has been checked against the client's secret.
///
/// A non-zero `error_code` is still an `Ok` answer at this level; typed methods turn it into
/// [`ClientError::Api`].
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// The API method called, as given.
    pub method: String,
    /// `error_code`: 0 on success.
    pub error_code: i64,
    /// `error_text`, unescaped, exactly as the server signed it.
    pub error_text: String,
    /// `result`, when the answer has one (object keys in the order received).
    pub result: Option<serde_json::Value>,
    /// `hash` as sent.
    pub hash: String,
    /// The HTTP status (200 for every answer of a known method).
    pub status: u16,
    /// The raw response body.
    pub body: Vec<u8>,
}

impl Response {
    /// Whether the call succeeded (`error_code` 0, whatever the text).
    pub fn is_success(&self) -> bool {
        self.error_code == 0
    }

    /// The `result` of a successful answer; [`ClientError::Api`] for a non-zero code.
    pub fn into_result(self) -> Result<Option<serde_json::Value>, ClientError> {
        if self.is_success() {
            Ok(self.result)
        } else {
            Err(self.into_api_error())
        }
    }

    /// Decodes `result` into `T`; [`ClientError::UnexpectedResult`] when it is absent or has
    /// another shape. The code is not looked at.
    pub fn decode_result<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        let result = self
            .result
            .as_ref()
            .ok_or_else(|| unexpected(&self.method, "the answer has no result"))?;
        T::deserialize(result).map_err(|e| unexpected(&self.method, e.to_string()))
    }

    /// The answer as [`ClientError::Api`].
    pub fn into_api_error(self) -> ClientError {
        ClientError::Api {
            code: self.error_code,
            text: self.error_text,
            result: self.result,
        }
    }
}

pub(crate) fn unexpected(method: &str, detail: impl Into<String>) -> ClientError {
    ClientError::UnexpectedResult {
        method: method.to_owned(),
        detail: detail.into(),
    }
}

/// Configures a [`Client`]; start with [`Client::builder`].
///
/// ```no_run
/// # fn run() -> Result<(), clickbill_client::ClientError> {
/// use std::time::Duration;
///
/// let client = clickbill_client::Client::builder("https://demo.justclick.ru", "demo", "secret")
///     .timeout(Duration::from_secs(10))
///     .connect_timeout(Duration::from_secs(3))
///     .build()?;
/// # Ok(())
/// # }
/// ```
pub struct ClientBuilder {
    base_url: String,
    login: String,
    secret: String,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    user_agent: String,
    max_response_bytes: usize,
    http: Http,
}

enum Http {
    Default,
    Builder(Box<reqwest::ClientBuilder>),
    Client(reqwest::Client),
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("login", &self.login)
            .field("secret", &"<hidden>")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    fn new(base_url: &str, login: String, secret: String) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_owned(),
            login,
            secret,
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            user_agent: concat!("clickbill-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            http: Http::Default,
        }
    }

    /// The longest a whole call may take, from sending to the last byte of the answer
    /// (default 30 s). It applies to a custom [`reqwest::Client`] as well.
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// The longest establishing a connection may take (default 10 s). Not applied to a client
    /// given with [`ClientBuilder::http_client`].
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Removes both timeouts.
    pub fn without_timeouts(mut self) -> ClientBuilder {
        self.timeout = None;
        self.connect_timeout = None;
        self
    }

    /// The `User-Agent` header (default `clickbill-client/<version>`). Not applied to a client
    /// given with [`ClientBuilder::http_client`].
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> ClientBuilder {
        self.user_agent = user_agent.into();
        self
    }

    /// The largest response body accepted (default 64 MiB); a larger one fails with
    /// [`ClientError::ResponseTooLarge`].
    pub fn max_response_bytes(mut self, limit: usize) -> ClientBuilder {
        self.max_response_bytes = limit;
        self
    }

    /// Starts from this [`reqwest::ClientBuilder`] (proxies, root certificates, …). The SDK adds
    /// its own settings on top: connect timeout, user agent, no redirects (the API never
    /// redirects, and following one would resend a signed body elsewhere) and loopback
    /// resolution of `.localhost` names.
    pub fn reqwest_builder(mut self, builder: reqwest::ClientBuilder) -> ClientBuilder {
        self.http = Http::Builder(Box::new(builder));
        self
    }

    /// Uses this [`reqwest::Client`] exactly as it is configured, for example to share a
    /// connection pool. Only the total timeout is applied (per request); `.localhost` names are
    /// resolved by that client's own resolver, so prefer [`ClientBuilder::reqwest_builder`] when
    /// the base URL is such a name.
    pub fn http_client(mut self, client: reqwest::Client) -> ClientBuilder {
        self.http = Http::Client(client);
        self
    }

    /// Checks the base URL and builds the client.
    pub fn build(self) -> Result<Client, ClientError> {
        let base = parse_base_url(&self.base_url)?;
        let http = match self.http {
            Http::Client(client) => client,
            Http::Default => {
                let builder = reqwest::Client::builder().user_agent(self.user_agent);
                configure(builder, &base, self.connect_timeout)
                    .build()
                    .map_err(ClientError::Build)?
            }
            Http::Builder(builder) => {
                let builder = (*builder).user_agent(self.user_agent);
                configure(builder, &base, self.connect_timeout)
                    .build()
                    .map_err(ClientError::Build)?
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                login: self.login,
                secret: self.secret,
                timeout: self.timeout,
                max_response_bytes: self.max_response_bytes,
            }),
        })
    }
}

fn configure(
    mut builder: reqwest::ClientBuilder,
    base: &Url,
    connect_timeout: Option<Duration>,
) -> reqwest::ClientBuilder {
    builder = builder.redirect(reqwest::redirect::Policy::none());
    if let Some(timeout) = connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(host) = base.host_str().filter(|h| is_loopback_name(h)) {
        // RFC 6761: these names are loopback whatever the resolver says. The override replaces
        // only the address lookup, so the Host header (and TLS name) stay `demo.localhost:port`,
        // which is what selects the tenant (§3.2). The port in the addresses is ignored; the
        // URL's port is used. IPv4 first: servers listen on 127.0.0.1 by default, and a refused
        // IPv6 attempt falls through to it at once anyway.
        let loopback = [
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
        ];
        // A proxy cannot resolve a name that only means "this machine" to the client.
        builder = builder.resolve_to_addrs(host, &loopback).no_proxy();
    }
    builder
}

/// Whether `host` is `localhost` or a name under `.localhost` (RFC 6761 §6.3), which the SDK
/// always resolves to the loopback interface. A trailing dot and letter case do not matter.
pub fn is_loopback_name(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host).as_bytes();
    const SUFFIX: &[u8] = b".localhost";
    name.eq_ignore_ascii_case(b"localhost")
        || (name.len() > SUFFIX.len()
            && name[name.len() - SUFFIX.len()..].eq_ignore_ascii_case(SUFFIX))
}

fn parse_base_url(text: &str) -> Result<Url, ClientError> {
    let invalid = |reason: &str| ClientError::InvalidBaseUrl {
        url: text.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    let has_host = matches!(url.host_str(), Some(host) if !host.is_empty());
    if url.cannot_be_a_base() || !has_host {
        return Err(invalid("the URL has no host"));
    }
    // The API ignores the query string (§2.1); a fragment is never sent. Dropping both keeps
    // the method path the last thing in every request URL.
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The body of an API 1.0 request: the parameters encoded as PHP's `http_build_query` encodes
/// them, then `hash` = md5(`query::login::secret`) (§5.2).
///
/// The hash covers exactly the bytes sent before it, as a PHP client computes it. A top-level
/// `hash` among `params` is left out, since the signature itself occupies that name.
///
/// ```
/// use clickbill_client::signed_body;
/// use php_form::{Data, Key};
///
/// let params = [
///     (Key::from("bill_id"), Data::Int(102937)),
///     (Key::from("good_info"), Data::Bool(true)),
/// ];
/// assert_eq!(
///     signed_body(&params, "demo", "secret"),
///     b"bill_id=102937&good_info=1&hash=4eac6352ed52a48d534d5ec421b4c5a4"
/// );
/// ```
pub fn signed_body(params: &[(Key, Data)], login: &str, secret: &str) -> Vec<u8> {
    let hash_key = Key::from("hash");
    let mut body = if params.iter().any(|(key, _)| *key == hash_key) {
        let kept: Vec<(Key, Data)> = params
            .iter()
            .filter(|(key, _)| *key != hash_key)
            .cloned()
            .collect();
        build_query_data(&kept)
    } else {
        build_query_data(params)
    };
    let mut signed = Vec::with_capacity(body.len() + login.len() + secret.len() + 4);
    signed.extend_from_slice(&body);
    signed.extend_from_slice(b"::");
    signed.extend_from_slice(login.as_bytes());
    signed.extend_from_slice(b"::");
    signed.extend_from_slice(secret.as_bytes());
    let hash = sign::md5_hex(&signed);
    if !body.is_empty() {
        body.push(b'&');
    }
    body.extend_from_slice(b"hash=");
    body.extend_from_slice(hash.as_bytes());
    body
}

/// The body of an API 2.0 request: the parameters followed by `rpsKey` = the secret (§5.6).
pub fn key_body(params: &[(Key, Data)], secret: &str) -> Vec<u8> {
    let mut body = build_query_data(params);
    if !body.is_empty() {
        body.push(b'&');
    }
    body.extend_from_slice(b"rpsKey=");
    php_form::url_encode_into(secret.as_bytes(), &mut body);
    body
}

impl Client {
    /// A client for `base_url` (for example `https://demo.justclick.ru` or
    /// `http://demo.localhost:8080`) with the default settings of [`ClientBuilder`].
    pub fn new(
        base_url: &str,
        login: impl Into<String>,
        secret: impl Into<String>,
    ) -> Result<Client, ClientError> {
        Client::builder(base_url, login, secret).build()
    }

    /// A builder for a client with custom timeouts or a custom [`reqwest`] client.
    pub fn builder(
        base_url: &str,
        login: impl Into<String>,
        secret: impl Into<String>,
    ) -> ClientBuilder {
        ClientBuilder::new(base_url, login.into(), secret.into())
    }

    /// The base URL requests go to (without query or fragment).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The tenant login requests are signed with.
    pub fn login(&self) -> &str {
        &self.inner.login
    }

    /// The URL of a method: `{base_url}/api/{method}`. The name is one path segment; characters
    /// that cannot appear in one are percent-encoded.
    pub fn endpoint(&self, method: &str) -> Url {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .expect("the base URL was checked to have a path")
            .pop_if_empty()
            .extend(["api", method]);
        url
    }

    /// The body [`Client::call`] sends for `params`: see [`signed_body`].
    pub fn signed_body(&self, params: &[(Key, Data)]) -> Vec<u8> {
        signed_body(params, &self.inner.login, &self.inner.secret)
    }

    /// Calls any method with an API 1.0 signature and returns the verified answer, whatever its
    /// `error_code`.
    ///
    /// ```no_run
    /// # async fn run(client: clickbill_client::Client) -> Result<(), clickbill_client::ClientError> {
    /// use php_form::{Data, Key};
    ///
    /// let response = client
    ///     .call(
    ///         "GetLeadGroupStatuses",
    ///         vec![(Key::from("email"), Data::from("lead+1@example.com"))],
    ///     )
    ///     .await?;
    /// if response.is_success() {
    ///     println!("{}", serde_json::to_string(&response.result).unwrap());
    /// } else {
    ///     println!("{} {}", response.error_code, response.error_text);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call(
        &self,
        method: &str,
        params: Vec<(Key, Data)>,
    ) -> Result<Response, ClientError> {
        self.call_with_options(method, &params, &CallOptions::new())
            .await
    }

    /// Calls any method with the API 2.0 key (`rpsKey`, §5.6) instead of a signature. The
    /// secret then travels in the body: use it over TLS or on loopback only.
    pub async fn call_with_key(
        &self,
        method: &str,
        params: Vec<(Key, Data)>,
    ) -> Result<Response, ClientError> {
        self.call_with_options(method, &params, &CallOptions::new().auth(Auth::Key))
            .await
    }

    /// Calls any method with explicit [`CallOptions`].
    pub async fn call_with_options(
        &self,
        method: &str,
        params: &[(Key, Data)],
        options: &CallOptions,
    ) -> Result<Response, ClientError> {
        let body = match options.auth {
            Auth::Signature => self.signed_body(params),
            Auth::Key => key_body(params, &self.inner.secret),
        };
        self.send(method, body, options.idempotency_key.as_deref())
            .await
    }

    /// Sends `body` as it is (no signing) and verifies the answer like every other call. For
    /// replaying recorded requests and for testing how a server treats odd bodies.
    pub async fn call_raw(&self, method: &str, body: Vec<u8>) -> Result<Response, ClientError> {
        self.send(method, body, None).await
    }

    async fn send(
        &self,
        method: &str,
        body: Vec<u8>,
        idempotency_key: Option<&str>,
    ) -> Result<Response, ClientError> {
        let transport = |source| ClientError::Transport {
            method: method.to_owned(),
            source,
        };
        let mut request = self
            .inner
            .http
            .post(self.endpoint(method))
            .header(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE))
            .body(body);
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_KEY, key);
        }
        if let Some(timeout) = self.inner.timeout {
            request = request.timeout(timeout);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = self.read_body(method, response).await?;
        self.verify(method, status, body)
    }

    async fn read_body(
        &self,
        method: &str,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, ClientError> {
        let limit = self.inner.max_response_bytes;
        let too_large = || ClientError::ResponseTooLarge {
            method: method.to_owned(),
            limit,
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|source| ClientError::Transport {
                method: method.to_owned(),
                source,
            })?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Accepts an answer only when its hash is md5(`code::text::secret`) (§6.2).
    ///
    /// Two answers are signed with the empty secret by design: code 5 (`Invalid user name`, the
    /// host names no tenant, §3.2) and the 404/405 envelopes on such hosts (§2.3). They are
    /// accepted with the empty secret too, so a wrong base URL reads as what it is rather than
    /// as a forged answer; both only ever report a failure.
    fn verify(&self, method: &str, status: u16, body: Vec<u8>) -> Result<Response, ClientError> {
        let parsed = parse_response(&body);
        if status != 200 {
            let envelope = parsed
                .ok()
                .filter(|r| r.verify(&self.inner.secret) || r.verify(""))
                .map(|r| Box::new(into_response(method, r, status, body.clone())));
            return Err(ClientError::HttpStatus {
                method: method.to_owned(),
                status,
                envelope,
                body,
            });
        }
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(source) => {
                return Err(ClientError::BadJson {
                    method: method.to_owned(),
                    source,
                    body,
                })
            }
        };
        let genuine = parsed.verify(&self.inner.secret) || (parsed.code == 5 && parsed.verify(""));
        if !genuine {
            return Err(ClientError::BadResponseHash {
                method: method.to_owned(),
                code: parsed.code,
                text: parsed.text,
                body,
            });
        }
        Ok(into_response(method, parsed, status, body))
    }

    /// Calls a typed method: signature authentication, non-zero codes become
    /// [`ClientError::Api`].
    pub(crate) async fn call_ok(
        &self,
        method: &str,
        params: &[(Key, Data)],
        options: &CallOptions,
    ) -> Result<Response, ClientError> {
        let response = self.call_with_options(method, params, options).await?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(response.into_api_error())
        }
    }
}

fn into_response(
    method: &str,
    parsed: clickbill_protocol::Response,
    status: u16,
    body: Vec<u8>,
) -> Response {
    Response {
        method: method.to_owned(),
        error_code: parsed.code,
        error_text: parsed.text,
        result: parsed.result,
        hash: parsed.hash,
        status,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names() {
        for host in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "demo.localhost",
            "Demo.LocalHost.",
            "a.b.localhost",
        ] {
            assert!(is_loopback_name(host), "{host}");
        }
        for host in [
            "demolocalhost",
            "localhost.example",
            ".localhost.x",
            "127.0.0.1",
            "[::1]",
            "demo.justclick.ru",
            "",
        ] {
            assert!(!is_loopback_name(host), "{host}");
        }
    }

    #[test]
    fn endpoints() {
        let client = Client::new("http://demo.localhost:8080", "demo", "secret").unwrap();
        assert_eq!(
            client.endpoint("getOrderDetails").as_str(),
            "http://demo.localhost:8080/api/getOrderDetails"
        );
        let client = Client::new("https://host.example/prefix/?x=1#f", "demo", "secret").unwrap();
        assert_eq!(
            client.endpoint("GetAllGoods").as_str(),
            "https://host.example/prefix/api/GetAllGoods"
        );
        assert_eq!(
            client.endpoint("a/b?c").as_str(),
            "https://host.example/prefix/api/a%2Fb%3Fc"
        );
    }

    #[test]
    fn bad_base_urls() {
        for url in ["", "demo.localhost:8080", "ftp://x.example", "mailto:a@b.c"] {
            assert!(
                matches!(
                    Client::new(url, "demo", "secret"),
                    Err(ClientError::InvalidBaseUrl { .. })
                ),
                "{url}"
            );
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let client = Client::new("http://demo.localhost", "demo", "hunter2").unwrap();
        assert!(!format!("{client:?}").contains("hunter2"));
        let builder = Client::builder("http://demo.localhost", "demo", "hunter2");
        assert!(!format!("{builder:?}").contains("hunter2"));
    }

    #[test]
    fn signing_the_worked_example_of_5_3() {
        let params = [
            (Key::from("bill_id"), Data::from("102937")),
            (Key::from("good_info"), Data::Bool(true)),
        ];
        assert_eq!(
            signed_body(&params, "demo", "secret"),
            b"bill_id=102937&good_info=1&hash=4eac6352ed52a48d534d5ec421b4c5a4"
        );
    }

    #[test]
    fn signing_nothing_and_replacing_a_hash() {
        assert_eq!(
            signed_body(&[], "demo", "secret"),
            b"hash=07d7c258e970b0e2fd9c7694ed0046c8"
        );
        let params = [
            (Key::from("hash"), Data::from("forged")),
            (Key::from("bill_id"), Data::from("12345")),
        ];
        assert_eq!(
            signed_body(&params, "demo", "secret"),
            b"bill_id=12345&hash=07104f8da0d90446813c981b4359de06"
        );
    }

    /// What the client signs is what the server rebuilds from the body it receives (§5.2).
    #[test]
    fn server_side_check_accepts_the_body() {
        let params = vec![
            (Key::from("lead_name"), Data::from("Вася Пупкин ~!*()'")),
            (Key::from("empty"), Data::from("")),
            (
                Key::from("rid"),
                Data::Array(vec![
                    (Key::Int(0), Data::from("grp1")),
                    (Key::Int(1), Data::from("grp 2")),
                ]),
            ),
            (Key::from("n"), Data::Int(-5)),
            (Key::from("f"), Data::Float(1999.5)),
        ];
        let body = signed_body(&params, "demo", "secret");
        let parsed = php_form::parse(&body);
        let sent = parsed.get_str("hash").and_then(|v| v.as_bytes()).unwrap();
        assert!(sign::hash_matches(
            &sign::request_hash(&parsed, "demo", "secret"),
            sent
        ));
    }

    #[test]
    fn key_bodies() {
        let params = [(Key::from("email"), Data::from("a@b.ru"))];
        assert_eq!(
            key_body(&params, "s e+c"),
            b"email=a%40b.ru&rpsKey=s+e%2Bc".to_vec()
        );
        assert_eq!(key_body(&[], "secret"), b"rpsKey=secret".to_vec());
    }
}
