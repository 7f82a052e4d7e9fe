//! Prometheus metrics on their own listener (`ServerConfig::metrics_listen`).
//!
//! The recorder is process-wide and the other tests of this binary run at the same time, so the
//! checks look at how much a metric grew and ask for at least what this test caused.

use crate::backend::{TestDatabase, EMBEDDED};
use crate::helpers::{add_tenant, signed};
use clickbill_domain::SystemClock;
use clickbill_server::{Application, ServerConfig};
use std::net::SocketAddr;
use std::sync::Arc;

async fn scrape(client: &reqwest::Client, metrics: SocketAddr) -> String {
    let response = client
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .expect("the metrics listener answers");
    assert_eq!(response.status(), 200);
    response.text().await.expect("a text body")
}

/// The value of the sample `series` (name and labels exactly as rendered), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().expect("a number"))
        })
        .unwrap_or(0.0)
}

#[tokio::test]
async fn the_metrics_listener_counts_requests_codes_latency_and_writes() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    add_tenant(database.store.as_ref(), "metered", "meteredsecret", true).await;
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let app = Application::build(config, database.store.clone(), Arc::new(SystemClock))
        .await
        .expect("server builds");
    let api = app.local_addr();
    let metrics = app.metrics_addr().expect("a metrics listener");
    assert_ne!(api, metrics);
    let shutdown = app.shutdown_handle();
    let server = tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();

    let before = scrape(&client, metrics).await;
    let post = |body: String| {
        client
            .post(format!("http://{api}/api/GetAllGoods"))
            .header("Host", "metered.localhost")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    // A tenant without products: a signed, valid request answered 700 / No products.
    for _ in 0..3 {
        let answer = post(signed("", "metered", "meteredsecret")).await.unwrap();
        let text = answer.text().await.unwrap();
        assert!(text.starts_with(r#"{"error_code":700,"#), "{text}");
    }
    let answer = post("hash=0123456789abcdef0123456789abcdef".into())
        .await
        .unwrap();
    assert!(answer
        .text()
        .await
        .unwrap()
        .starts_with(r#"{"error_code":4,"#));
    add_tenant(database.store.as_ref(), "metered2", "secret2", true).await;
    let after = scrape(&client, metrics).await;

    let grew = |series: &str| sample(&after, series) - sample(&before, series);
    assert!(
        grew(r#"clickbill_api_requests_total{method="GetAllGoods",code="700"}"#) >= 3.0,
        "{after}"
    );
    assert!(grew(r#"clickbill_api_requests_total{method="GetAllGoods",code="4"}"#) >= 1.0);
    assert!(grew(r#"clickbill_api_request_duration_seconds_count{method="GetAllGoods"}"#) >= 4.0);
    assert!(
        grew(r#"clickbill_api_request_duration_seconds_bucket{method="GetAllGoods",le="+Inf"}"#)
            >= 4.0
    );
    assert!(grew(r#"clickbill_api_request_duration_seconds_sum{method="GetAllGoods"}"#) > 0.0);
    assert!(grew("clickbill_tenant_cache_hits_total") >= 4.0);
    if EMBEDDED {
        assert!(
            grew("clickbill_sqlite_writer_batch_size_count") >= 1.0,
            "{after}"
        );
        assert!(grew("clickbill_sqlite_writer_commits_total") >= 1.0);
        assert!(after.contains("clickbill_sqlite_writer_queue_depth "));
    }

    // The notification worker publishes its backlog (the value is process-wide, and other
    // tests' servers publish theirs too, so only its presence is this test's to check).
    let mut published = false;
    for _ in 0..100 {
        if scrape(&client, metrics)
            .await
            .contains("\nclickbill_outbox_backlog ")
        {
            published = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(published, "no outbox backlog gauge");

    shutdown.shutdown();
    server.await.unwrap().unwrap();
}
