//! The engine's Cancel (what the CLI sends on the first Ctrl-C) while a change is on the wire, after the
//! emulator applied it and before its answer arrived: the operation reports what exists, so the stack never
//! loses a share or an image its own call made. And the quota refusal says where the image stands.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

type Created = JoinHandle<Result<(String, pulumi_resource_alicloud::values::Props), tonic::Status>>;

/// Starts a create in the background.
fn create(p: &Provider, token: &'static str, inputs: Value) -> Created {
    let mut p = p.clone();
    tokio::spawn(async move { p.create(token, inputs, false, 0.0).await })
}

/// Holds the answer of the next call of `action` after applying it, for `hold_ms` or (without) until the
/// emulator stops.
async fn hold_answer(emu: &Emulator, action: &str, hold_ms: Option<u64>) {
    let mut rule = json!({"kind": "commit_then_hold", "action": action});
    if let Some(ms) = hold_ms {
        rule["latencyMs"] = json!(ms);
    }
    emu.fault(rule).await;
}

async fn cancel(p: &Provider) {
    p.client.clone().cancel(()).await.expect("cancel");
}

fn share_inputs() -> Value {
    json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT})
}

#[tokio::test]
async fn a_share_whose_add_was_applied_before_the_cancel_is_reported_made() {
    // Held for a while (the grace sees the answer), and held until the emulator stops (the re-read sees the
    // share): either way the create reports it.
    for hold in [Some(1500), None] {
        let emu = Emulator::start().await;
        let p = Provider::configured(&emu).await;
        hold_answer(&emu, "ModifyImageSharePermission", hold).await;
        let task = create(&p, SHARE, share_inputs());
        emu.wait_for("ModifyImageSharePermission", 1).await;
        assert_eq!(emu.shared_with(IMAGE_1).await, vec![OTHER_ACCOUNT]);
        cancel(&p).await;
        let (id, outputs) = task
            .await
            .expect("task")
            .unwrap_or_else(|e| panic!("hold {hold:?}: {}", e.message()));
        assert_eq!(id, format!("{IMAGE_1}:{OTHER_ACCOUNT}"), "hold {hold:?}");
        assert_eq!(outputs["accountId"], OTHER_ACCOUNT);
    }
}

#[tokio::test]
async fn a_share_whose_removal_was_applied_before_the_cancel_is_reported_deleted() {
    for hold in [Some(1500), None] {
        let emu = Emulator::start().await;
        let mut p = Provider::configured(&emu).await;
        let (id, state) = p
            .create(SHARE, share_inputs(), false, 30.0)
            .await
            .expect("share");
        hold_answer(&emu, "ModifyImageSharePermission", hold).await;
        let mut deleter = p.clone();
        let (del_id, del_state) = (id.clone(), json!(state));
        let task = tokio::spawn(async move { deleter.delete(SHARE, &del_id, del_state).await });
        emu.wait_for("ModifyImageSharePermission", 2).await;
        assert!(emu.shared_with(IMAGE_1).await.is_empty());
        cancel(&p).await;
        task.await
            .expect("task")
            .unwrap_or_else(|e| panic!("hold {hold:?}: {}", e.message()));
    }
}

#[tokio::test]
async fn an_image_whose_create_was_applied_before_the_cancel_is_kept_and_finished_by_the_next_update()
 {
    for hold in [Some(1500), None] {
        let emu = Emulator::with_image_create_seconds(0.0).await;
        let p = Provider::configured(&emu).await;
        emu.hold_images().await;
        hold_answer(&emu, "CreateImage", hold).await;
        let inputs =
            json!({"desktopId": DESKTOP_1, "imageName": "interrupted", "description": "kept"});
        let task = create(&p, IMAGE, inputs.clone());
        emu.wait_for("CreateImage", 1).await;
        let images = emu.ecd_images().await;
        assert_eq!(images.len(), 1, "{images:?}");
        let made = images[0]["imageId"].as_str().expect("image id").to_string();
        cancel(&p).await;
        let err = task.await.expect("task").unwrap_err();
        // Still `Creating`: kept in the state with init errors, so the next `up` waits for it.
        let detail = init_failed(&err);
        assert_eq!(detail.id, made, "hold {hold:?}: {}", err.message());
        let kept = pulumi_resource_alicloud::values::from_struct(detail.properties.as_ref());
        assert_eq!(kept["imageName"], "interrupted");

        // The next `pulumi up` (a new provider: a cancelled one takes no more work): the engine updates a
        // resource with init errors, which waits for it.
        let mut p = Provider::configured(&emu).await;
        emu.release_images().await;
        let outputs = p
            .update(IMAGE, &made, json!(kept), inputs, false)
            .await
            .expect("the next update finishes the image");
        assert_eq!(outputs["status"], "Available");
        assert_eq!(emu.ecd_images().await.len(), 1, "one image, never two");
        p.delete(IMAGE, &made, json!(outputs))
            .await
            .expect("delete");
    }
}

#[tokio::test]
async fn an_image_update_applied_before_the_cancel_is_reported_done() {
    let emu = Emulator::with_image_create_seconds(0.0).await;
    let mut p = Provider::configured(&emu).await;
    let olds = json!({"desktopId": DESKTOP_1, "imageName": "golden", "description": "first"});
    let (id, state) = p.create(IMAGE, olds, false, 60.0).await.expect("image");
    hold_answer(&emu, "ModifyImageAttribute", None).await;
    let mut updater = p.clone();
    let (up_id, up_state) = (id.clone(), json!(state));
    let task = tokio::spawn(async move {
        updater
            .update(
                IMAGE,
                &up_id,
                up_state,
                json!({"desktopId": DESKTOP_1, "imageName": "golden", "description": "second"}),
                false,
            )
            .await
    });
    emu.wait_for("ModifyImageAttribute", 1).await;
    cancel(&p).await;
    let outputs = task
        .await
        .expect("task")
        .unwrap_or_else(|e| panic!("{}", e.message()));
    assert_eq!(outputs["description"], "second");
    assert_eq!(emu.ecd_images().await[0]["description"], "second");
    let mut p = Provider::configured(&emu).await;
    p.delete(IMAGE, &id, json!(outputs)).await.expect("delete");
}

#[tokio::test]
async fn an_image_delete_accepted_before_the_cancel_is_reported_deleted() {
    let emu = Emulator::with_image_create_seconds(0.0).await;
    let mut p = Provider::configured(&emu).await;
    let (id, state) = p
        .create(
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": "doomed"}),
            false,
            60.0,
        )
        .await
        .expect("image");
    // The image stays listed while it is being deleted, so the provider would wait for it.
    emu.control(
        Method::POST,
        "config",
        Some(json!({"imageDeleteSeconds": 600})),
    )
    .await;
    hold_answer(&emu, "DeleteImages", Some(1000)).await;
    let mut deleter = p.clone();
    let (del_id, del_state) = (id.clone(), json!(state));
    let task = tokio::spawn(async move { deleter.delete(IMAGE, &del_id, del_state).await });
    emu.wait_for("DeleteImages", 1).await;
    cancel(&p).await;
    task.await
        .expect("task")
        .unwrap_or_else(|e| panic!("{}", e.message()));
}

#[tokio::test]
async fn the_fifty_first_share_says_how_many_there_are_and_how_to_make_room() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let accounts: Vec<String> = (0..51).map(|i| format!("77000000000{i:05}")).collect();
    emu.control(
        Method::POST,
        "accounts",
        Some(json!({"accountIds": accounts})),
    )
    .await;
    for account in &accounts[..50] {
        emu.control(
            Method::POST,
            "ecs/share",
            Some(json!({"regionId": "cn-hangzhou", "imageId": IMAGE_1, "accountId": account})),
        )
        .await;
    }
    let err = p
        .create(
            SHARE,
            json!({"imageId": IMAGE_1, "accountId": accounts[50]}),
            false,
            30.0,
        )
        .await
        .unwrap_err();
    for part in [
        "QuotaExceed.ShareImageUser",
        "is shared with 50 accounts now",
        "at most 50 accounts per image",
        "pulumi destroy --target",
        "region cn-hangzhou",
    ] {
        assert!(err.message().contains(part), "{part}: {}", err.message());
    }
    assert_eq!(emu.shared_with(IMAGE_1).await.len(), 50);
}

#[tokio::test]
async fn a_cancelled_update_keeps_the_secret_markings_of_the_old_state() {
    use pulumi_resource_alicloud::values;
    let emu = Emulator::with_image_create_seconds(0.0).await;
    emu.hold_images().await;
    // An image still being made, as an interrupted create leaves it.
    let p = Provider::configured(&emu).await;
    let task = create(
        &p,
        IMAGE,
        json!({"desktopId": DESKTOP_1, "imageName": "golden"}),
    );
    emu.wait_for("CreateImage", 1).await;
    cancel(&p).await;
    let image_id = init_failed(&task.await.expect("task").unwrap_err()).id;
    let p = Provider::configured(&emu).await;
    let described = emu.count("DescribeImages").await;
    // The state marks the description (an input the program no longer sets) and the status (an output, as
    // `additionalSecretOutputs` does) secret.
    let olds = json!({
        "desktopId": DESKTOP_1,
        "imageName": "golden",
        "description": values::secret(json!("old words")),
        "status": values::secret(json!("Creating")),
    });
    let mut updater = p.clone();
    let id = image_id.clone();
    let task = tokio::spawn(async move {
        updater
            .update(
                IMAGE,
                &id,
                olds,
                json!({"desktopId": DESKTOP_1, "imageName": "golden"}),
                false,
            )
            .await
    });
    emu.wait_for("DescribeImages", described + 1).await;
    cancel(&p).await;
    let err = task.await.expect("task").unwrap_err();
    let detail = init_failed(&err);
    assert_eq!(detail.id, image_id, "{}", err.message());
    let kept = values::from_struct(detail.properties.as_ref());
    assert!(values::is_secret(&kept["description"]), "{kept:?}");
    assert!(values::is_secret(&kept["status"]), "{kept:?}");
    assert!(!values::is_secret(&kept["imageName"]), "{kept:?}");
}
