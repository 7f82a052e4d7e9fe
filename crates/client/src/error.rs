//! Everything a call can fail with.

use crate::Response;
use clickbill_protocol::ResponseError;
use thiserror::Error;

/// Why a call did not produce the expected answer.
///
/// The variants separate failures of the network ([`Transport`](ClientError::Transport)), of the
/// HTTP exchange ([`HttpStatus`](ClientError::HttpStatus)), of the answer itself
/// ([`BadJson`](ClientError::BadJson), [`BadResponseHash`](ClientError::BadResponseHash),
/// [`UnexpectedResult`](ClientError::UnexpectedResult)) and answers the server signed but that
/// report a failure ([`Api`](ClientError::Api)).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The base URL cannot address the API: not an absolute `http`/`https` URL with a host.
    #[error("invalid base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The underlying HTTP client could not be set up (for example, no TLS backend).
    #[error("cannot build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),

    /// The request never got a complete answer: DNS, connection, TLS, timeout, or a body that
    /// broke off.
    #[error("{method}: transport error: {source}")]
    Transport {
        /// The API method called.
        method: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },

    /// The server answered with an HTTP status other than 200. clickbill uses 404 (unknown
    /// method), 405 (not `POST`) and 409 (idempotency key reused) and signs those envelopes too;
    /// `envelope` holds it when the body was one whose hash verifies.
    #[error("{method}: HTTP status {status}")]
    HttpStatus {
        /// The API method called.
        method: String,
        /// The HTTP status code.
        status: u16,
        /// The verified envelope of the answer, if it had one.
        envelope: Option<Box<Response>>,
        /// The raw response body.
        body: Vec<u8>,
    },

    /// The answer is not a JSON envelope with `error_code`, `error_text` and `hash`.
    #[error("{method}: response is not an API envelope: {source}")]
    BadJson {
        /// The API method called.
        method: String,
        /// What is wrong with the body.
        #[source]
        source: ResponseError,
        /// The raw response body.
        body: Vec<u8>,
    },

    /// The answer's `hash` is not md5(`code::text::secret`) for this client's secret: it was not
    /// produced by a server that knows the secret, or it was altered on the way. Its content must
    /// not be trusted, so it is never returned as a successful answer.
    #[error("{method}: response hash does not verify (error_code {code}, error_text {text:?})")]
    BadResponseHash {
        /// The API method called.
        method: String,
        /// The unverified `error_code`.
        code: i64,
        /// The unverified `error_text`.
        text: String,
        /// The raw response body.
        body: Vec<u8>,
    },

    /// A verified answer of a typed method with a non-zero `error_code` that the method does not
    /// turn into a value of its own (see each method for the codes it handles).
    #[error("API error {code}: {text}")]
    Api {
        /// `error_code`.
        code: i64,
        /// `error_text`, exactly as sent.
        text: String,
        /// `result`, when the error carries one.
        result: Option<serde_json::Value>,
    },

    /// A verified, successful answer whose `result` does not have the shape the method documents.
    #[error("{method}: unexpected result: {detail}")]
    UnexpectedResult {
        /// The API method called.
        method: String,
        /// What did not fit.
        detail: String,
    },

    /// The answer was larger than the client's limit (see
    /// [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)).
    #[error("{method}: response larger than {limit} bytes")]
    ResponseTooLarge {
        /// The API method called.
        method: String,
        /// The limit in force.
        limit: usize,
    },
}

impl ClientError {
    /// The API `error_code` this error carries: that of an [`Api`](ClientError::Api) error or of
    /// a verified envelope behind an [`HttpStatus`](ClientError::HttpStatus) error.
    pub fn api_code(&self) -> Option<i64> {
        match self {
            ClientError::Api { code, .. } => Some(*code),
            ClientError::HttpStatus {
                envelope: Some(envelope),
                ..
            } => Some(envelope.error_code),
            _ => None,
        }
    }

    /// The response body, when the server sent one that the client could not accept.
    pub fn body(&self) -> Option<&[u8]> {
        match self {
            ClientError::HttpStatus { body, .. }
            | ClientError::BadJson { body, .. }
            | ClientError::BadResponseHash { body, .. } => Some(body),
            _ => None,
        }
    }
}
