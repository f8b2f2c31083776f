//! ImageSharePermission driven over gRPC as the engine drives it, against the emulator.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn share_lifecycle_create_read_import_diff_delete() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let inputs = json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT});

    let (checked, failures) = p.check(SHARE, json!({}), inputs.clone()).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(checked, props(inputs.clone()));

    // Preview changes nothing and calls nothing that mutates.
    let (id, outputs) = p
        .create(SHARE, inputs.clone(), true, 0.0)
        .await
        .expect("preview");
    assert_eq!(id, "");
    assert_eq!(outputs, props(inputs.clone()));
    assert_eq!(emu.count("ModifyImageSharePermission").await, 0);
    assert!(emu.shared_with(IMAGE_1).await.is_empty());

    let (id, outputs) = p
        .create(SHARE, inputs.clone(), false, 0.0)
        .await
        .expect("create");
    assert_eq!(id, format!("{IMAGE_1}:{OTHER_ACCOUNT}"));
    assert_eq!(outputs, props(inputs.clone()));
    assert_eq!(emu.shared_with(IMAGE_1).await, vec![OTHER_ACCOUNT]);
    assert_eq!(emu.count("ModifyImageSharePermission").await, 1);

    // Refresh-style read and import-style read (id only) both return properties and inputs.
    let (rid, props_out, ins) = p.read(SHARE, &id, inputs.clone()).await.expect("read");
    assert_eq!(
        (rid.as_str(), &props_out),
        (id.as_str(), &props(inputs.clone()))
    );
    let (rid, props_out, ins2) = p.read(SHARE, &id, json!({})).await.expect("import read");
    assert_eq!(rid, id);
    assert_eq!(props_out, props(inputs.clone()));
    assert_eq!(ins2, props(inputs.clone()));
    assert_eq!(ins, ins2);

    // Any input change replaces.
    let d = p
        .diff(
            SHARE,
            &id,
            inputs.clone(),
            inputs.clone(),
            json!({"imageId": IMAGE_1, "accountId": THIRD_ACCOUNT}),
        )
        .await;
    assert_eq!(d.replaces, vec!["accountId"]);
    let d = p
        .diff(SHARE, &id, inputs.clone(), inputs.clone(), inputs.clone())
        .await;
    assert!(d.replaces.is_empty() && d.diffs.is_empty());

    p.delete(SHARE, &id, inputs.clone()).await.expect("delete");
    assert!(emu.shared_with(IMAGE_1).await.is_empty());
    // Deleting again (already gone) succeeds; reading it finds nothing.
    p.delete(SHARE, &id, inputs.clone())
        .await
        .expect("delete of a missing share");
    let (rid, _, _) = p
        .read(SHARE, &id, inputs.clone())
        .await
        .expect("read of missing");
    assert_eq!(rid, "", "a missing share reads as gone");
}

#[tokio::test]
async fn share_read_pages_through_every_account() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    // 45 accounts shared out of band, ours last: only a reader that pages all the way finds it.
    for n in 0..45u64 {
        let account = format!("{}", 5_000_000_000_000_000u64 + n);
        emu.control(
            Method::POST,
            "ecs/share",
            Some(json!({"regionId": "cn-hangzhou", "imageId": IMAGE_1, "accountId": account})),
        )
        .await;
    }
    emu.control(
        Method::POST,
        "ecs/share",
        Some(json!({"regionId": "cn-hangzhou", "imageId": IMAGE_1, "accountId": OTHER_ACCOUNT})),
    )
    .await;
    let id = format!("{IMAGE_1}:{OTHER_ACCOUNT}");
    let (rid, outputs, _) = p.read(SHARE, &id, json!({})).await.expect("read");
    assert_eq!(rid, id);
    assert_eq!(outputs["accountId"], OTHER_ACCOUNT);
}

#[tokio::test]
async fn share_read_of_deleted_image_or_malformed_id() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let gone = &format!("m-bp1doesnotexist0001:{OTHER_ACCOUNT}");
    let (rid, _, _) = p
        .read(
            SHARE,
            gone,
            json!({"imageId": "m-bp1doesnotexist0001", "accountId": OTHER_ACCOUNT}),
        )
        .await
        .expect("a refresh of a vanished share says it is gone");
    assert_eq!(rid, "");
    // With no prior state (`pulumi import`, `.get`) there is nothing to drop: the error says what is missing.
    let err = p.read(SHARE, gone, json!({})).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    for part in [
        "does not exist",
        "no image m-bp1doesnotexist0001",
        "cn-hangzhou",
    ] {
        assert!(err.message().contains(part), "{part}: {}", err.message());
    }
    let not_shared = format!("{IMAGE_1}:{OTHER_ACCOUNT}");
    let err = p.read(SHARE, &not_shared, json!({})).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    for part in [
        "does not exist",
        IMAGE_1,
        OTHER_ACCOUNT,
        "region cn-hangzhou",
    ] {
        assert!(err.message().contains(part), "{part}: {}", err.message());
    }
    let err = p
        .read(IMAGE, "m-bp1noecdimage00000001", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    assert!(
        err.message()
            .contains("no ECD image m-bp1noecdimage00000001 in region cn-hangzhou"),
        "{}",
        err.message()
    );
    let err = p.read(SHARE, "not-an-id", json!({})).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("<imageId>:<accountId>"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn share_errors_carry_alibaba_code_and_leave_nothing() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    // Someone else's image.
    let err = p
        .create(
            SHARE,
            json!({"imageId": OTHERS_IMAGE, "accountId": OTHER_ACCOUNT}),
            false,
            30.0,
        )
        .await
        .unwrap_err();
    assert!(err.message().contains("RequestId"), "{}", err.message());
    assert!(emu.shared_with(OTHERS_IMAGE).await.is_empty());

    // The 51st account is refused with Alibaba's limit error.
    for n in 0..50u64 {
        let account = format!("{}", 6_000_000_000_000_000u64 + n);
        emu.control(
            Method::POST,
            "ecs/share",
            Some(json!({"regionId": "cn-hangzhou", "imageId": IMAGE_2, "accountId": account})),
        )
        .await;
    }
    let err = p
        .create(
            SHARE,
            json!({"imageId": IMAGE_2, "accountId": OTHER_ACCOUNT}),
            false,
            30.0,
        )
        .await
        .unwrap_err();
    assert!(err.message().contains("RequestId"), "{}", err.message());
    let shared = emu.shared_with(IMAGE_2).await;
    assert_eq!(shared.len(), 50);
    assert!(!shared.contains(&OTHER_ACCOUNT.to_string()));
}

#[tokio::test]
async fn throttling_storm_is_retried_and_shares_once() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    emu.fault(json!({"kind": "throttle", "action": "ModifyImageSharePermission", "count": 3}))
        .await;
    let (id, _) = p
        .create(
            SHARE,
            json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT}),
            false,
            60.0,
        )
        .await
        .expect("create succeeds after retries");
    assert_eq!(id, format!("{IMAGE_1}:{OTHER_ACCOUNT}"));
    assert_eq!(
        emu.count("ModifyImageSharePermission").await,
        4,
        "3 throttled + 1 accepted"
    );
    assert_eq!(emu.shared_with(IMAGE_1).await, vec![OTHER_ACCOUNT]);
}

#[tokio::test]
async fn retry_waits_at_least_as_long_as_the_service_asks() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    emu.fault(
        json!({"kind": "throttle", "action": "ModifyImageSharePermission", "retryAfterMs": 1500}),
    )
    .await;
    p.create(
        SHARE,
        json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT}),
        false,
        60.0,
    )
    .await
    .expect("create succeeds after the announced wait");
    assert_eq!(emu.count("ModifyImageSharePermission").await, 2);
    assert_eq!(emu.shared_with(IMAGE_1).await, vec![OTHER_ACCOUNT]);

    // A wait longer than the operation has left is not shortened to fit: the call stops without a retry.
    // Full jitter alone would retry within 200 ms, and the share would be made.
    emu.fault(
        json!({"kind": "throttle", "action": "ModifyImageSharePermission", "retryAfterMs": 120_000}),
    )
    .await;
    let err = p
        .create(
            SHARE,
            json!({"imageId": IMAGE_1, "accountId": THIRD_ACCOUNT}),
            false,
            60.0,
        )
        .await
        .expect_err("the announced wait outlasts the 60 s timeout");
    assert!(err.message().contains("Throttling"), "{}", err.message());
    assert_eq!(emu.count("ModifyImageSharePermission").await, 3);
    assert_eq!(emu.shared_with(IMAGE_1).await, vec![OTHER_ACCOUNT]);
}

#[tokio::test]
async fn dropped_answer_after_commit_still_creates_one_share() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    emu.fault(
        json!({"kind": "commit_then_drop", "action": "ModifyImageSharePermission", "count": 1}),
    )
    .await;
    p.create(
        SHARE,
        json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT}),
        false,
        60.0,
    )
    .await
    .expect("create succeeds although the first answer was lost");
    assert_eq!(emu.shared_with(IMAGE_1).await, vec![OTHER_ACCOUNT]);
}

#[tokio::test]
async fn non_retryable_error_is_returned_at_once() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let err = p
        .create(
            SHARE,
            json!({"imageId": "m-bp1doesnotexist0001", "accountId": OTHER_ACCOUNT}),
            false,
            60.0,
        )
        .await
        .unwrap_err();
    assert!(
        err.message().contains("InvalidImageId.NotFound"),
        "{}",
        err.message()
    );
    assert_eq!(
        emu.count("ModifyImageSharePermission").await,
        1,
        "no retry of a not-found error"
    );
}
