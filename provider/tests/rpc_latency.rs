//! Larger answers on one connection are not held back: with Nagle's algorithm on the provider's sockets,
//! each answer that spans two segments waited ~40 ms for the engine's delayed ACK. The benchmark measures the
//! median against its 1 ms target; this test only catches the stall itself.

mod common;

use std::time::{Duration, Instant};

use common::*;
use pulumi_resource_alicloud::proto::pulumirpc::{CheckRequest, GetSchemaRequest};
use pulumi_resource_alicloud::values;
use serde_json::json;

/// A round trip this slow on loopback is a stall, not load.
const STALL: Duration = Duration::from_millis(30);

#[tokio::test]
async fn repeated_large_answers_on_one_connection_do_not_stall() {
    let mut p = Provider::start(&[]).await;
    let check = CheckRequest {
        urn: urn(IMAGE, "r"),
        news: Some(values::to_struct(&props(json!({
            "desktopId": DESKTOP_1,
            "imageName": "golden",
            "description": "d".repeat(250),
        })))),
        ..Default::default()
    };
    let mut slowest = Duration::ZERO;
    for round in 0..20 {
        let started = Instant::now();
        let schema = p
            .client
            .get_schema(GetSchemaRequest::default())
            .await
            .expect("schema")
            .into_inner();
        let schema_time = started.elapsed();
        assert!(schema.schema.len() > 10_000, "a large answer");

        let started = Instant::now();
        let checked = p
            .client
            .check(check.clone())
            .await
            .expect("check")
            .into_inner();
        let check_time = started.elapsed();
        assert!(checked.failures.is_empty(), "{:?}", checked.failures);

        // The first round may pay for connection setup.
        if round > 0 {
            slowest = slowest.max(schema_time).max(check_time);
        }
    }
    assert!(slowest < STALL, "slowest round trip {slowest:?}");
}
