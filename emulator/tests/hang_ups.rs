//! A call whose request has arrived runs to the end whatever its client does.

mod common;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use alicloud_emulator::Timing;
use common::*;
use serde_json::{Value, json};

/// A signed ModifyImageSharePermission that shares IMAGE with `account`.
fn share_request(e: &Emulator, account: &str) -> reqwest::RequestBuilder {
    e.v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .param("AddAccount.1", account)
        .request()
}

/// Sends a request and reports whether the client got an HTTP answer at all.
async fn outcome(request: reqwest::RequestBuilder) -> Result<(u16, String), reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

/// Checks `done` every few milliseconds until it holds; fails after 30 s (a bound, not a timing claim).
async fn eventually<F: Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    for _ in 0..1500 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never happened: {what}");
}

/// The accounts IMAGE is shared with in a state file.
fn saved_shares(path: &Path) -> Value {
    let saved: Value =
        serde_json::from_slice(&std::fs::read(path).expect("state file")).expect("JSON");
    saved["ecsImages"]
        .as_array()
        .expect("ecsImages")
        .iter()
        .find(|i| i["imageId"] == IMAGE)
        .expect("the image")["sharedWith"]
        .clone()
}

#[tokio::test]
async fn a_call_runs_to_the_end_after_its_client_hangs_up() {
    let e = Emulator::start().await;
    let rule = e
        .fault(
            json!({"kind": "latency", "action": "ModifyImageSharePermission", "latencyMs": 1500}),
        )
        .await;
    // The client gives up long before the delayed call runs.
    let gave_up = outcome(share_request(&e, OTHER).timeout(Duration::from_millis(200))).await;
    let err = gave_up.expect_err("the client hangs up before the answer");
    assert!(err.is_timeout(), "{err}");
    assert_eq!(
        (
            e.fault_rule(rule).await["used"].clone(),
            e.fault_rule(rule).await["count"].clone()
        ),
        (json!(1), json!(0))
    );
    // The request had arrived, so the call still runs once the delay is over.
    eventually("the share is made", || async {
        e.shares(IMAGE).await == [OTHER]
    })
    .await;
    let calls = e.control_get("calls").await;
    assert_eq!(calls["byAction"]["ModifyImageSharePermission"], 1);
    assert_eq!(calls["bySignature"]["v3"], 1, "it was verified once");
    e.stop().await;
}

#[tokio::test]
async fn stopping_waits_for_calls_whose_client_hung_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let e = Emulator::with(Timing::default(), Some(path.clone())).await;
    e.fault(json!({"kind": "latency", "action": "ModifyImageSharePermission", "latencyMs": 1500}))
        .await;
    let gave_up = outcome(share_request(&e, OTHER).timeout(Duration::from_millis(200))).await;
    assert!(gave_up.is_err(), "the client hangs up: {gave_up:?}");
    e.wait_calls("ModifyImageSharePermission", 1).await;
    // The emulator stops while the call is still delayed; it finishes the call first.
    e.stop().await;
    assert_eq!(
        saved_shares(&path)[0]["accountId"],
        OTHER,
        "the call ran and was persisted before the emulator stopped"
    );
}
