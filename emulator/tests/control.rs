//! The control API, fault rules, the state file, and robustness against malformed input.

mod common;

use std::time::Duration;

use alicloud_emulator::Timing;
use common::*;
use serde_json::{Value, json};

async fn share(e: &Emulator, account: &str) -> (u16, Value) {
    e.v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .param("AddAccount.1", account)
        .send()
        .await
}

#[tokio::test]
async fn state_dump_shows_the_seed_without_secrets() {
    let e = Emulator::start().await;
    let state = e.control_get("state").await;
    assert_eq!(state["ecsImages"].as_array().expect("images").len(), 4);
    assert_eq!(state["ecdDesktops"].as_array().expect("desktops").len(), 2);
    assert_eq!(state["accounts"][0]["id"], OWNER);
    let text = state.to_string();
    assert!(
        !text.contains(KEY.1) && !text.contains(STS.2),
        "secrets leaked: {text}"
    );
    e.stop().await;
}

#[tokio::test]
async fn reset_and_seed_replace_the_world_and_counters() {
    let e = Emulator::start().await;
    share(&e, OTHER).await;
    e.control_post("faults", json!({"kind": "throttle", "count": 5}))
        .await;
    assert_eq!(
        e.control_get("calls").await["byAction"]["ModifyImageSharePermission"],
        1
    );
    e.control_post("reset", json!({})).await;
    assert!(e.shares(IMAGE).await.is_empty());
    assert_eq!(e.control_get("calls").await["total"], 0);
    assert_eq!(e.control_get("faults").await["faults"], json!([]));

    let mut seed: Value =
        serde_json::from_str(alicloud_emulator::model::DEFAULT_SEED).expect("seed");
    seed["ecsImages"][0]["sharedWith"] = json!([OTHER]);
    let (status, _) = e.control_post("seed", seed).await;
    assert_eq!(status, 200);
    assert_eq!(e.shares(IMAGE).await, vec![OTHER]);
    let (status, _) = e
        .control_post("seed", json!({"ecsImages": "not a list"}))
        .await;
    assert!(
        (400..500).contains(&status),
        "a malformed seed is refused: {status}"
    );
    assert_eq!(e.shares(IMAGE).await, vec![OTHER], "and changes nothing");
    e.stop().await;
}

#[tokio::test]
async fn calls_are_counted_per_action_and_reset() {
    let e = Emulator::start().await;
    share(&e, OTHER).await;
    share(&e, "x").await;
    e.v1(ECS, "DescribeImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .ok()
        .await;
    let calls = e.control_get("calls").await;
    assert_eq!(calls["byAction"]["ModifyImageSharePermission"], 2);
    assert_eq!(calls["byAction"]["DescribeImageSharePermission"], 1);
    assert_eq!(calls["total"], 3);
    assert_eq!(calls["bySignature"], json!({"v1": 1, "v3": 2}));
    e.control_post("calls/reset", json!({})).await;
    assert_eq!(e.control_get("calls").await["total"], 0);
    e.stop().await;
}

#[tokio::test]
async fn throttle_and_server_error_rules_apply_to_the_next_n_matching_calls() {
    let e = Emulator::start().await;
    e.control_post(
        "faults",
        json!({"kind": "throttle", "action": "ModifyImageSharePermission", "count": 2}),
    )
    .await;
    e.control_post("faults", json!({"kind": "server_error", "count": 1}))
        .await;
    // A rule for another action is not consumed.
    e.v3(ECS, "DescribeImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .fails(503, "ServiceUnavailable")
        .await;
    for _ in 0..2 {
        let (status, body) = share(&e, OTHER).await;
        assert_eq!(
            (status, body["Code"].as_str()),
            (400, Some("Throttling.User"))
        );
    }
    assert!(e.shares(IMAGE).await.is_empty());
    assert_eq!(share(&e, OTHER).await.0, 200);
    // Used-up rules stay listed with what they did.
    let rules = e.control_get("faults").await["faults"].clone();
    let summary: Vec<_> = rules
        .as_array()
        .expect("faults")
        .iter()
        .map(|r| {
            (
                r["id"].clone(),
                r["kind"].clone(),
                r["count"].clone(),
                r["used"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!(1), json!("throttle"), json!(0), json!(2)),
            (json!(2), json!("server_error"), json!(0), json!(1)),
        ]
    );
    e.stop().await;
}

#[tokio::test]
async fn a_throttle_rule_can_announce_when_to_retry() {
    let e = Emulator::start().await;
    e.control_post("faults", json!({"kind": "throttle", "retryAfterMs": 250}))
        .await;
    let response = e
        .v3(ECS, "DescribeImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .request()
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response
            .headers()
            .get("x-acs-retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("250")
    );
    e.stop().await;
}

// The clock is paused: it moves only when every task waits on a timer, so the delays measured here are
// the emulator's own, whatever the machine's load.
#[tokio::test(start_paused = true)]
async fn latency_rules_delay_the_answer_of_the_next_call_only() {
    let e = Emulator::start().await;
    let rule = e
        .fault(json!({"kind": "latency", "latencyMs": 300, "count": 1}))
        .await;
    let started = tokio::time::Instant::now();
    assert_eq!(share(&e, OTHER).await.0, 200);
    // A lower bound only: the delay is a sleep before the call runs, so it can never be shorter.
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        e.shares(IMAGE).await,
        vec![OTHER],
        "the call ran after the delay"
    );
    assert_eq!(
        (
            e.fault_rule(rule).await["count"].clone(),
            e.fault_rule(rule).await["used"].clone()
        ),
        (json!(0), json!(1))
    );
    // The next call finds no rule left to delay it.
    assert_eq!(share(&e, OTHER).await.0, 200);
    assert_eq!(e.fault_rule(rule).await["used"], 1);
    let (status, _) = e.control_post("faults", json!({"kind": "latency"})).await;
    assert_eq!(status, 400, "a latency rule needs latencyMs");
    e.stop().await;
}

// The clock is paused: it moves only when every task waits on a timer, so the delays measured here are
// the emulator's own, whatever the machine's load.
#[tokio::test(start_paused = true)]
async fn calls_wait_answers_once_the_counter_is_reached() {
    let e = Emulator::start().await;
    let waiter = {
        let (http, url) = (e.http.clone(), e.url.clone());
        tokio::spawn(async move {
            let response = http
                .get(format!(
                    "{url}/_emulator/calls/wait?action=ModifyImageSharePermission&count=2&timeoutMs=30000"
                ))
                .send()
                .await
                .expect("answer");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("JSON"))
        })
    };
    share(&e, OTHER).await;
    e.v3(ECS, "DescribeImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .ok()
        .await;
    share(&e, "x").await;
    let (status, counters) = waiter.await.expect("waiter");
    assert_eq!(status, 200, "{counters}");
    assert_eq!(counters["byAction"]["ModifyImageSharePermission"], 2);
    assert_eq!(counters["total"], 3);

    // Reached already: answers at once. Without an action, the total counts.
    let counters = e.wait_calls("DescribeImageSharePermission", 1).await;
    assert_eq!(counters["total"], 3);
    let (status, _) = e.control_get_status("calls/wait?count=3&timeoutMs=0").await;
    assert_eq!(status, 200);

    // Not reached in time: 408, with the counters as they are.
    let started = tokio::time::Instant::now();
    let (status, body) = e
        .control_get_status("calls/wait?action=CreateImage&count=1&timeoutMs=50")
        .await;
    assert_eq!(status, 408, "{body}");
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|m| m.contains("CreateImage"))
    );
    assert_eq!(body["calls"]["total"], 3);

    for bad in [
        "calls/wait?action=CreateImage",
        "calls/wait?action=CreateImage&count=x",
        "calls/wait?action=CreateImage&count=1&timeoutMs=600001",
        "calls/wait?action=CreateImage&count=1&timeout=5",
    ] {
        let (status, _) = e.control_get_status(bad).await;
        assert_eq!(status, 400, "{bad}");
    }
    e.stop().await;
}

#[tokio::test]
async fn calls_wait_survives_a_reset_of_the_counters() {
    let e = Emulator::start().await;
    share(&e, OTHER).await;
    let waiter = {
        let (http, url) = (e.http.clone(), e.url.clone());
        tokio::spawn(async move {
            http.get(format!(
                "{url}/_emulator/calls/wait?action=ModifyImageSharePermission&count=2&timeoutMs=30000"
            ))
            .send()
            .await
            .expect("answer")
            .json::<Value>()
            .await
            .expect("JSON")
        })
    };
    e.control_post("calls/reset", json!({})).await;
    share(&e, OTHER).await;
    share(&e, OTHER).await;
    let counters = waiter.await.expect("waiter");
    assert_eq!(counters["byAction"]["ModifyImageSharePermission"], 2);
    e.stop().await;
}

/// Sends a signed request and reports whether the client got an HTTP answer at all.
async fn outcome(request: reqwest::RequestBuilder) -> Result<(u16, String), reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

#[tokio::test]
async fn drop_before_breaks_the_connection_and_runs_nothing() {
    let e = Emulator::start().await;
    let rule = e
        .fault(json!({"kind": "drop_before", "action": "ModifyImageSharePermission"}))
        .await;
    let call = e
        .v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .param("AddAccount.1", OTHER);
    let dropped = outcome(call.request()).await;
    assert!(
        dropped.is_err(),
        "the client must see a network error: {dropped:?}"
    );
    assert!(e.shares(IMAGE).await.is_empty(), "the call did not run");
    let calls = e.control_get("calls").await;
    assert_eq!(
        calls["byAction"]["ModifyImageSharePermission"], 1,
        "but it arrived"
    );
    assert_eq!(calls["bySignature"], json!({}), "and was never verified");
    assert_eq!(e.fault_rule(rule).await["used"], 1);
    // Not even the nonce was used: the very same signed request goes through now.
    let (status, body) = outcome(call.request()).await.expect("an answer");
    assert_eq!(status, 200, "{body}");
    assert_eq!(e.shares(IMAGE).await, vec![OTHER]);
    e.stop().await;
}

#[tokio::test]
async fn hang_holds_the_request_unanswered_until_the_emulator_stops() {
    let e = Emulator::start().await;
    let rule = e
        .fault(json!({"kind": "hang", "action": "ModifyImageSharePermission"}))
        .await;
    let request = e
        .v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .param("AddAccount.1", OTHER)
        .request();
    let held = tokio::spawn(outcome(request));
    e.wait_calls("ModifyImageSharePermission", 1).await;
    assert_eq!(e.fault_rule(rule).await["used"], 1);
    assert!(!held.is_finished(), "no answer while held");
    assert!(e.shares(IMAGE).await.is_empty(), "the call did not run");
    // Other calls are served meanwhile.
    e.v3(ECS, "DescribeImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .ok()
        .await;
    assert!(!held.is_finished());
    // Stopping lets it go (and is not blocked by it); the client sees the connection fail.
    e.stop().await;
    let got = held.await.expect("task");
    assert!(
        got.is_err(),
        "the held request never gets an answer: {got:?}"
    );
}

// The clock is paused: it moves only when every task waits on a timer, so the delays measured here are
// the emulator's own, whatever the machine's load.
#[tokio::test(start_paused = true)]
async fn hang_with_latency_drops_the_connection_after_that_time() {
    let e = Emulator::start().await;
    e.fault(json!({"kind": "hang", "latencyMs": 200})).await;
    let started = tokio::time::Instant::now();
    let got = outcome(
        e.v3(ECS, "ModifyImageSharePermission")
            .param("RegionId", REGION)
            .param("ImageId", IMAGE)
            .param("AddAccount.1", OTHER)
            .request(),
    )
    .await;
    assert!(got.is_err(), "no answer: {got:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(e.shares(IMAGE).await.is_empty(), "the call did not run");
    assert_eq!(share(&e, OTHER).await.0, 200);
    e.stop().await;
}

#[tokio::test]
async fn error_rules_answer_any_alibaba_error_without_running_the_call() {
    let e = Emulator::start().await;
    let rule = e
        .fault(json!({
            "kind": "error", "action": "ModifyImageSharePermission", "count": 2,
            "code": "InvalidAccessKeyId.NotFound", "httpStatus": 404,
        }))
        .await;
    e.fault(json!({
        "kind": "error", "action": "DescribeImages",
        "code": "InvalidRegionId.NotFound", "httpStatus": 404, "message": "The specified RegionId does not exist.",
    }))
    .await;
    for _ in 0..2 {
        let body = e
            .v1(ECS, "ModifyImageSharePermission")
            .param("RegionId", REGION)
            .param("ImageId", IMAGE)
            .param("AddAccount.1", OTHER)
            .fails(404, "InvalidAccessKeyId.NotFound")
            .await;
        assert!(
            body["Recommend"]
                .as_str()
                .is_some_and(|r| r.contains("InvalidAccessKeyId.NotFound"))
        );
    }
    assert!(e.shares(IMAGE).await.is_empty());
    assert_eq!(e.fault_rule(rule).await["used"], 2);
    let body = e
        .v3(ECD, "DescribeImages")
        .param("RegionId", REGION)
        .fails(404, "InvalidRegionId.NotFound")
        .await;
    assert_eq!(body["Message"], "The specified RegionId does not exist.");
    assert_eq!(share(&e, OTHER).await.0, 200);

    for bad in [
        json!({"kind": "error", "httpStatus": 404}),
        json!({"kind": "error", "code": "", "httpStatus": 404}),
        json!({"kind": "error", "code": "X"}),
        json!({"kind": "error", "code": "X", "httpStatus": 200}),
        json!({"kind": "error", "code": "X", "httpStatus": 600}),
        json!({"kind": "error", "code": "X", "httpStatus": 400, "message": ""}),
        json!({"kind": "throttle", "code": "X"}),
        json!({"kind": "throttle", "cuont": 2}),
        json!({"kind": "hang", "latencyMs": -1}),
    ] {
        let (status, _) = e.control_post("faults", bad.clone()).await;
        assert!((400..500).contains(&status), "{bad}: {status}");
    }
    e.stop().await;
}

#[tokio::test]
async fn config_refuses_unknown_settings() {
    let e = Emulator::start().await;
    let (status, _) = e.control_post("config", json!({"holdImage": true})).await;
    assert!((400..500).contains(&status), "{status}");
    assert_eq!(
        e.control_get("config").await,
        json!({"imageCreateSeconds": 0.0, "imageDeleteSeconds": 0.0, "holdImages": false, "imdsV2Required": false})
    );
    e.stop().await;
}

#[tokio::test]
async fn commit_then_drop_applies_the_change_but_the_client_sees_a_network_error() {
    let e = Emulator::start().await;
    e.control_post(
        "faults",
        json!({"kind": "commit_then_drop", "action": "ModifyImageSharePermission"}),
    )
    .await;
    let request = e
        .v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .param("AddAccount.1", OTHER)
        .request();
    let outcome = match request.send().await {
        Err(err) => Err(err),
        Ok(response) => response.text().await,
    };
    assert!(
        outcome.is_err(),
        "the client must not get an answer: {outcome:?}"
    );
    assert_eq!(e.shares(IMAGE).await, vec![OTHER], "but the change is made");
    e.stop().await;
}

#[tokio::test]
async fn out_of_band_changes_and_timing() {
    let e = Emulator::start().await;
    let target = json!({"regionId": REGION, "imageId": IMAGE, "accountId": OTHER});
    assert_eq!(e.control_post("ecs/share", target.clone()).await.0, 200);
    assert_eq!(e.shares(IMAGE).await, vec![OTHER]);
    assert_eq!(e.control_post("ecs/unshare", target).await.0, 200);
    assert!(e.shares(IMAGE).await.is_empty());
    let (status, _) = e
        .control_post(
            "ecs/share",
            json!({"regionId": REGION, "imageId": "m-nope", "accountId": OTHER}),
        )
        .await;
    assert_eq!(status, 404);

    let (_, created) = e
        .control_post(
            "ecd/create-image",
            json!({"regionId": REGION, "desktopId": DESKTOP, "name": "oob"}),
        )
        .await;
    let id = created["imageId"].as_str().expect("imageId").to_string();
    e.control_post(
        "ecd/modify-image",
        json!({"regionId": REGION, "imageId": id, "name": "renamed"}),
    )
    .await;
    assert_eq!(e.ecd_images().await[0]["name"], "renamed");
    e.control_post(
        "ecd/delete-image",
        json!({"regionId": REGION, "imageId": id}),
    )
    .await;
    assert!(e.ecd_images().await.is_empty());
    e.control_post(
        "ecs/delete-image",
        json!({"regionId": REGION, "imageId": IMAGE}),
    )
    .await;
    e.v3(ECS, "DescribeImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .fails(404, "InvalidImageId.NotFound")
        .await;

    let (status, timing) = e
        .control_post("config", json!({"imageCreateSeconds": 7.5}))
        .await;
    assert_eq!(
        (status, timing["imageCreateSeconds"].as_f64()),
        (200, Some(7.5))
    );
    let (status, _) = e
        .control_post("config", json!({"imageCreateSeconds": -1}))
        .await;
    assert_eq!(status, 400);
    e.stop().await;
}

#[tokio::test]
async fn the_state_file_survives_a_restart_and_is_written_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let timing = Timing::default();
    let e = Emulator::with(timing, Some(path.clone())).await;
    assert_eq!(share(&e, OTHER).await.0, 200);
    e.stop().await;
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|f| f.expect("entry").file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("state.json")],
        "no temporary file left"
    );
    let saved: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("state file")).expect("JSON");
    assert_eq!(saved["ecsImages"][0]["sharedWith"][0]["accountId"], OTHER);

    let again = Emulator::with(timing, Some(path.clone())).await;
    assert_eq!(again.shares(IMAGE).await, vec![OTHER]);
    again.control_post("reset", json!({})).await;
    let saved: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("state file")).expect("JSON");
    assert_eq!(saved["ecsImages"][0]["sharedWith"], json!([]));
    again.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_errors_and_never_break_the_server() {
    let e = Emulator::start().await;
    let garbage: Vec<(&str, String, Vec<u8>)> = vec![
        ("GET", "/?%ZZ=%%&Signature=&&&=".into(), vec![]),
        ("POST", "/?Signature=x".into(), vec![0xff, 0xfe, 0x00, 0x80]),
        ("POST", "/".into(), b"Signature=x&Action=\xff\xfe".to_vec()),
        ("POST", format!("/?Signature=x&{}", "A=b&".repeat(5000)), vec![]),
        ("GET", "/?Signature=x&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=LTAI5tDemoEmulatorKey01&SignatureNonce=n&Timestamp=9999-99-99".into(), vec![]),
        ("DELETE", "/".into(), vec![]),
    ];
    for (method, path, body) in garbage {
        let response = e
            .http
            .request(method.parse().expect("method"), format!("{}{path}", e.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("an answer, not a dropped connection");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("a JSON envelope");
        assert!(
            (400..500).contains(&status),
            "{method} {path}: {status} {body}"
        );
        assert!(body["Code"].is_string(), "{body}");
    }
    for header in [
        "ACS3-HMAC-SHA256 ",
        "ACS3-HMAC-SHA256 Credential",
        "ACS3-HMAC-SHA256 ,,,=,=",
        "ACS3-",
    ] {
        let response = e
            .http
            .post(format!("{}/", e.url))
            .header("authorization", header)
            .header("x-acs-action", "DescribeImageSharePermission")
            .header("x-acs-version", ECS)
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status().as_u16(), 400, "{header}");
    }
    let (status, _) = e.control_post("faults", json!({"kind": "explode"})).await;
    assert!((400..500).contains(&status));
    // Still serving, state intact.
    assert_eq!(share(&e, OTHER).await.0, 200);
    assert_eq!(e.shares(IMAGE).await, vec![OTHER]);
    e.stop().await;
}
