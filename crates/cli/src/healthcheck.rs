//! `clickbill healthcheck`: ask a running server whether it is healthy (`GET /healthz`), for
//! container health checks and scripts.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context};
use reqwest::Url;

use crate::{exit, failed};

const AFTER_HELP: &str = "\
Prints the server's answer (`{\"status\":\"ok\"}` when healthy) to standard output.

Exit status:
  0  the server answered 200: it is up and its database answers
  1  the server answered anything else, or cannot be reached in time
  2  usage error (an invalid URL)";

/// Check that a running server is up and its database answers (GET /healthz).
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Base URL of the server.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    url: String,

    /// Give up after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    timeout: u64,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let url = healthz_url(&args.url)?;
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout.max(1)))
        .no_proxy();
    // Names under .localhost mean this machine (RFC 6761), as they do for the SDK, even where
    // the system resolver does not know them.
    if let Some(host) = url.host_str() {
        if clickbill_client::is_loopback_name(host) {
            let loopback = [
                SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
            ];
            builder = builder.resolve_to_addrs(host, &loopback);
        }
    }
    let client = builder
        .build()
        .context("building the HTTP client")
        .map_err(failed)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .map_err(failed)?;
    let answer = runtime.block_on(async {
        let response = client.get(url.clone()).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, body))
    });
    match answer {
        Ok((status, body)) => {
            let mut out = std::io::stdout().lock();
            out.write_all(&body)
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush())
                .context("writing to standard output")?;
            if status.as_u16() == 200 {
                Ok(exit::OK)
            } else {
                eprintln!("clickbill: {url}: HTTP status {status}");
                Ok(exit::CHECK_FAILED)
            }
        }
        Err(error) => {
            eprintln!("clickbill: error: {url}: {error}");
            Ok(exit::CHECK_FAILED)
        }
    }
}

/// `URL/healthz`, whatever path or query the base URL carries.
fn healthz_url(base: &str) -> anyhow::Result<Url> {
    let mut url = Url::parse(base).with_context(|| format!("invalid --url {base:?}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("invalid --url {base:?}: expected http://HOST[:PORT]");
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = format!("{}/healthz", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthz_urls() {
        let url = |base| healthz_url(base).unwrap().to_string();
        assert_eq!(
            url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/healthz"
        );
        assert_eq!(
            url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/healthz"
        );
        assert_eq!(
            url("https://h.example/x/?q#f"),
            "https://h.example/x/healthz"
        );
        assert!(healthz_url("127.0.0.1:8080").is_err());
        assert!(healthz_url("ftp://h.example").is_err());
    }
}
