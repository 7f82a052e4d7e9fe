//! The ceiling: hyper answering `Hello, World!` with nothing behind it.
//!
//! Usage: `hello ADDR`

use bytes::Bytes;
use http_body_util::Full;

fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;
    clickbill_bench::runtime()?.block_on(clickbill_bench::serve(addr, |_request| async {
        http::Response::new(Full::new(Bytes::from_static(b"Hello, World!")))
    }))
}
