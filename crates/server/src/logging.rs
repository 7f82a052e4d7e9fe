//! Log output: human-readable text (the default) or one JSON object per line (`--log-format
//! json`), both filtered by `RUST_LOG` (default `info`).
//!
//! Every request runs inside a `request` span carrying its `request_id`, so every line logged
//! while serving it names the request: `request{request_id=7}:` in text, `"span":
//! {"request_id":7,"name":"request"}` in JSON. Requests themselves are logged only with the
//! access log (`--access-log`, target `clickbill::access`): one line per request costs more than
//! the rest of a cached read.

use std::io::IsTerminal;
use std::str::FromStr;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The target of access-log lines, for filtering them with `RUST_LOG`.
pub const ACCESS_TARGET: &str = "clickbill::access";

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A log format name other than `text` or `json`.
#[derive(Debug, thiserror::Error)]
#[error("unknown log format {0:?} (expected text or json)")]
pub struct UnknownLogFormat(String);

impl FromStr for LogFormat {
    type Err = UnknownLogFormat;

    fn from_str(name: &str) -> Result<LogFormat, UnknownLogFormat> {
        match name {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(UnknownLogFormat(other.to_owned())),
        }
    }
}

/// A subscriber writing `format` lines to `writer`, filtered by `filter`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    }
}

/// Logs to standard error for the rest of the process, filtered by `RUST_LOG` (default `info`).
/// Does nothing when a subscriber is already installed.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal();
    let _ =
        tracing::subscriber::set_global_default(subscriber(format, filter, std::io::stderr, ansi));
}

/// The span a request is served in.
pub(crate) fn request_span(request_id: u64) -> tracing::Span {
    tracing::info_span!("request", request_id)
}

/// The access-log line of a finished `/api/*` request.
pub(crate) fn access(
    method: &str,
    status: u16,
    code: Option<i64>,
    elapsed: std::time::Duration,
    peer: Option<std::net::SocketAddr>,
) {
    tracing::info!(
        target: ACCESS_TARGET,
        method,
        status,
        error_code = code,
        duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        peer = peer.map(tracing::field::display),
        "request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tracing::Instrument;

    /// A writer into a shared buffer, for tests that read what was logged.
    #[derive(Clone, Default)]
    pub struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl CapturedLog {
        /// Everything written so far, as text.
        pub fn contents(&self) -> String {
            let buffer = self.0.lock().unwrap_or_else(|e| e.into_inner());
            String::from_utf8_lossy(&buffer).into_owned()
        }
    }

    impl Write for CapturedLog {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let mut buffer = self.0.lock().unwrap_or_else(|e| e.into_inner());
            buffer.extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for CapturedLog {
        type Writer = CapturedLog;

        fn make_writer(&'w self) -> CapturedLog {
            self.clone()
        }
    }

    #[tokio::test]
    async fn every_json_line_of_a_request_names_it() {
        let log = CapturedLog::default();
        let subscriber = subscriber(LogFormat::Json, EnvFilter::new("info"), log.clone(), false);
        let _guard = tracing::subscriber::set_default(subscriber);
        async {
            tracing::warn!("first");
            tokio::task::yield_now().await;
            access(
                "GetAllGoods",
                200,
                Some(0),
                std::time::Duration::from_micros(42),
                None,
            );
        }
        .instrument(request_span(7))
        .await;
        async { tracing::error!(detail = "boom", "second request failed") }
            .instrument(request_span(8))
            .await;
        tracing::info!("outside any request");

        let lines: Vec<serde_json::Value> = log
            .contents()
            .lines()
            .map(|line| serde_json::from_str(line).expect("every line is one JSON object"))
            .collect();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        let ids: Vec<Option<u64>> = lines
            .iter()
            .map(|line| line["span"]["request_id"].as_u64())
            .collect();
        assert_eq!(ids, [Some(7), Some(7), Some(8), None]);
        assert_eq!(lines[1]["target"], ACCESS_TARGET);
        assert_eq!(lines[1]["method"], "GetAllGoods");
        assert_eq!(lines[1]["error_code"], 0);
        assert_eq!(lines[1]["duration_us"], 42);
        assert_eq!(lines[2]["detail"], "boom");
        assert_eq!(lines[2]["level"], "ERROR");
    }

    #[test]
    fn formats_are_named_text_and_json() {
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert_eq!("text".parse::<LogFormat>().unwrap(), LogFormat::Text);
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
