//! A call whose request has arrived runs to the end whatever its client does, and `commit_then_hold` lets
//! a test cancel a client after the change is made and before the answer comes.

mod common;

use std::path::Path;
use std::time::Duration;

use alicloud_emulator::Timing;
use common::*;
use serde_json::{Value, json};

/// Sends a request and reports whether the client got an HTTP answer at all.
async fn outcome(request: reqwest::RequestBuilder) -> Result<(u16, String), reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
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

#[tokio::test]
async fn commit_then_hold_applies_the_change_then_answers_after_latency() {
    let e = Emulator::start().await;
    let rule = e
        .fault(json!({"kind": "commit_then_hold", "action": "ModifyImageSharePermission", "latencyMs": 1500}))
        .await;
    let held = tokio::spawn(outcome(share_request(&e, OTHER)));
    // The rule is used under the same lock, right after the call ran: once it counts, the change is made.
    eventually("the rule applies", || async {
        e.fault_rule(rule).await["used"] == 1
    })
    .await;
    assert_eq!(e.shares(IMAGE).await, vec![OTHER], "the change is visible");
    assert!(!held.is_finished(), "while the answer is still held");
    assert_eq!(e.fault_rule(rule).await["count"], 0, "the rule is used up");

    let (status, body) = held.await.expect("task").expect("an answer in the end");
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert!(body["RequestId"].is_string(), "the normal answer: {body}");

    // Used up: the next call is answered at once.
    let (status, _) = outcome(share_request(&e, OTHER)).await.expect("an answer");
    assert_eq!(status, 200);
    assert_eq!(e.fault_rule(rule).await["used"], 1);
    e.stop().await;
}

#[tokio::test]
async fn commit_then_hold_without_latency_holds_until_the_emulator_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let e = Emulator::with(Timing::default(), Some(path.clone())).await;
    let rule = e
        .fault(json!({"kind": "commit_then_hold", "action": "ModifyImageSharePermission"}))
        .await;
    let held = tokio::spawn(outcome(share_request(&e, OTHER)));
    eventually("the rule applies", || async {
        e.fault_rule(rule).await["used"] == 1
    })
    .await;
    assert_eq!(e.shares(IMAGE).await, vec![OTHER], "the change is made");
    assert_eq!(saved_shares(&path)[0]["accountId"], OTHER, "and persisted");
    // Other calls are served meanwhile, without the used-up rule.
    e.v3(ECS, "DescribeImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .ok()
        .await;
    assert!(!held.is_finished(), "no answer while held");
    assert_eq!(e.fault_rule(rule).await["count"], 0);

    // Stopping lets it go (and is not blocked by it); the client sees the connection fail.
    e.stop().await;
    let got = held.await.expect("task");
    assert!(
        got.is_err(),
        "the held request never gets an answer: {got:?}"
    );
}

#[tokio::test]
async fn commit_then_hold_sends_the_calls_own_error_after_the_hold() {
    let e = Emulator::start().await;
    let rule = e
        .fault(json!({"kind": "commit_then_hold", "latencyMs": 50}))
        .await;
    let unknown = &unknown_accounts(1)[0];
    let (status, body) = outcome(share_request(&e, unknown))
        .await
        .expect("an answer");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        (status, &body["Code"]),
        (404, &json!("InvalidAccount.NotFound"))
    );
    assert!(e.shares(IMAGE).await.is_empty(), "the call changed nothing");
    assert_eq!(e.fault_rule(rule).await["used"], 1);
    e.stop().await;
}

#[tokio::test]
async fn the_first_added_of_commit_then_drop_and_commit_then_hold_wins() {
    let e = Emulator::start().await;
    let drop = e.fault(json!({"kind": "commit_then_drop"})).await;
    let hold = e
        .fault(json!({"kind": "commit_then_hold", "latencyMs": 50}))
        .await;
    let first = outcome(share_request(&e, OTHER)).await;
    assert!(first.is_err(), "dropped: {first:?}");
    assert_eq!(e.fault_rule(drop).await["used"], 1);
    assert_eq!(e.fault_rule(hold).await["used"], 0);
    let (status, _) = outcome(share_request(&e, RECIPIENT))
        .await
        .expect("held, then answered");
    assert_eq!(status, 200);
    assert_eq!(e.fault_rule(hold).await["used"], 1);
    assert_eq!(e.shares(IMAGE).await, vec![OTHER, RECIPIENT]);
    e.stop().await;
}

#[tokio::test]
async fn commit_then_hold_rules_are_checked() {
    let e = Emulator::start().await;
    for bad in [
        json!({"kind": "commit_then_hold", "latencyMs": -1}),
        json!({"kind": "commit_then_hold", "code": "X"}),
        json!({"kind": "commit_then_hold", "latency": 5}),
    ] {
        let (status, _) = e.control_post("faults", bad.clone()).await;
        assert!((400..500).contains(&status), "{bad}: {status}");
    }
    let (status, body) = e
        .control_post(
            "faults",
            json!({"kind": "commit_then_hold", "action": "ModifyImageSharePermission", "latencyMs": 3000}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let listed = e.control_get("faults").await["faults"][0].clone();
    assert_eq!(
        (&listed["kind"], &listed["latencyMs"], &listed["used"]),
        (&json!("commit_then_hold"), &json!(3000), &json!(0))
    );
    e.stop().await;
}
