//! The `hold` fault rule: a call is held, not yet run, until enough calls have arrived or the control API
//! releases it, so a test can let a client queue everything behind one call before anything is answered.

mod common;

use common::*;
use serde_json::{Value, json};

/// A signed DescribeImageSharePermission of IMAGE.
fn list_request(e: &Emulator) -> reqwest::RequestBuilder {
    e.v3(ECS, "DescribeImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .request()
}

/// Status and body of an answer, or the transport error when none came.
async fn outcome(request: reqwest::RequestBuilder) -> Result<(u16, Value), reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

async fn holding(e: &Emulator, rule: u64) -> Value {
    e.fault_rule(rule).await["holding"].clone()
}

#[tokio::test]
async fn a_held_call_runs_only_once_released_and_others_are_served_meanwhile() {
    let e = Emulator::start().await;
    let rule = e
        .fault(json!({"kind": "hold", "action": "ModifyImageSharePermission"}))
        .await;
    let held = tokio::spawn(outcome(share_request(&e, OTHER)));
    eventually("the call is held", || async {
        holding(&e, rule).await == 1
    })
    .await;
    assert!(e.shares(IMAGE).await.is_empty(), "a held call has not run");
    // Other actions are not held, and neither is a second share call: the rule held its one call.
    let (status, _) = outcome(list_request(&e)).await.expect("an answer");
    assert_eq!(status, 200);
    let (status, _) = outcome(share_request(&e, RECIPIENT))
        .await
        .expect("an answer");
    assert_eq!(status, 200);
    assert_eq!(e.shares(IMAGE).await, [RECIPIENT]);
    assert!(!held.is_finished(), "still held");
    let rule_now = e.fault_rule(rule).await;
    assert_eq!(
        (&rule_now["used"], &rule_now["count"], &rule_now["arrived"]),
        (&json!(1), &json!(0), &json!(2)),
        "{rule_now}"
    );

    let (status, body) = e.control_post("faults/release", json!({"id": rule})).await;
    assert_eq!((status, &body["released"]), (200, &json!(1)), "{body}");
    let (status, body) = held.await.expect("task").expect("an answer once released");
    assert_eq!(status, 200, "{body}");
    assert!(
        body["RequestId"].is_string(),
        "the call's own answer: {body}"
    );
    assert_eq!(
        e.shares(IMAGE).await,
        [RECIPIENT, OTHER],
        "it ran after release"
    );
    assert_eq!(holding(&e, rule).await, 0);
    e.stop().await;
}

#[tokio::test]
async fn a_held_call_goes_on_once_enough_calls_have_arrived() {
    let e = Emulator::start().await;
    let rule = e
        .fault(json!({"kind": "hold", "action": "DescribeImageSharePermission", "untilCalls": 3}))
        .await;
    // A call of another action does not count.
    let (status, _) = outcome(share_request(&e, OTHER)).await.expect("an answer");
    assert_eq!(status, 200);
    let first = tokio::spawn(outcome(list_request(&e)));
    eventually("the first call is held", || async {
        holding(&e, rule).await == 1
    })
    .await;
    // The second is not held (the rule holds one call) and counts: two of three have arrived.
    let (status, _) = outcome(list_request(&e)).await.expect("an answer");
    assert_eq!(status, 200);
    assert_eq!(e.fault_rule(rule).await["arrived"], 2);
    assert!(!first.is_finished(), "two calls of three: still held");
    let (status, _) = outcome(list_request(&e)).await.expect("an answer");
    assert_eq!(status, 200);
    let (status, body) = first.await.expect("task").expect("an answer");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["Accounts"]["Account"][0]["AliyunId"], OTHER,
        "it ran when it went on, not when it arrived: {body}"
    );
    e.stop().await;
}

#[tokio::test]
async fn a_rule_with_a_count_holds_that_many_calls_and_release_without_an_id_lets_all_go() {
    let e = Emulator::start().await;
    let rule = e
        .fault(json!({"kind": "hold", "action": "ModifyImageSharePermission", "count": 2}))
        .await;
    let a = tokio::spawn(outcome(share_request(&e, OTHER)));
    let b = tokio::spawn(outcome(share_request(&e, RECIPIENT)));
    eventually("both calls are held", || async {
        holding(&e, rule).await == 2
    })
    .await;
    assert!(e.shares(IMAGE).await.is_empty());
    let (status, body) = e.control_post("faults/release", json!({})).await;
    assert_eq!((status, &body["released"]), (200, &json!(1)), "{body}");
    for held in [a, b] {
        assert_eq!(held.await.expect("task").expect("an answer").0, 200);
    }
    let mut shared = e.shares(IMAGE).await;
    shared.sort();
    assert_eq!(shared, [OTHER, RECIPIENT]);
    // Released again: the rule is released already, so nothing more is.
    let (status, _) = e.control_post("faults/release", json!({"id": rule})).await;
    assert_eq!(status, 404);
    e.stop().await;
}

#[tokio::test]
async fn clearing_the_rules_lets_a_held_call_go_and_stopping_drops_it_unrun() {
    let e = Emulator::start().await;
    let rule = e.fault(json!({"kind": "hold"})).await;
    let cleared = tokio::spawn(outcome(share_request(&e, OTHER)));
    eventually("the call is held", || async {
        holding(&e, rule).await == 1
    })
    .await;
    let deleted = reqwest::Client::new()
        .delete(format!("{}/_emulator/faults", e.url))
        .send()
        .await
        .expect("control API answers");
    assert!(deleted.status().is_success());
    assert_eq!(cleared.await.expect("task").expect("an answer").0, 200);
    assert_eq!(e.shares(IMAGE).await, [OTHER]);

    let rule = e
        .fault(json!({"kind": "hold", "action": "ModifyImageSharePermission"}))
        .await;
    let stopped = tokio::spawn(outcome(share_request(&e, RECIPIENT)));
    eventually("the call is held", || async {
        holding(&e, rule).await == 1
    })
    .await;
    let shared = e.shared.clone();
    e.stop().await;
    let got = stopped.await.expect("task");
    assert!(got.is_err(), "no answer: {got:?}");
    let world = shared.lock().world.clone();
    let image = world
        .ecs_images
        .iter()
        .find(|i| i.image_id == IMAGE)
        .expect("the image");
    assert!(
        image.shared_with.iter().all(|s| s.account_id != RECIPIENT),
        "a call dropped while held never runs"
    );
}

#[tokio::test]
async fn hold_rules_are_checked_when_added() {
    let e = Emulator::start().await;
    for (rule, why) in [
        (json!({"kind": "hold", "untilCalls": 0}), "untilCalls"),
        (json!({"kind": "hold", "latencyMs": 10}), "latencyMs"),
        (
            json!({"kind": "latency", "latencyMs": 10, "untilCalls": 2}),
            "untilCalls",
        ),
    ] {
        let (status, body) = e.control_post("faults", rule.clone()).await;
        assert_eq!(status, 400, "{rule}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|m| m.contains(why)),
            "{rule}: {body}"
        );
    }
    let (status, body) = e.control_post("faults/release", json!({"id": 99})).await;
    assert_eq!(status, 404, "{body}");
    e.stop().await;
}
