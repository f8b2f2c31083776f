//! ECD Image driven over gRPC as the engine drives it, against the emulator.

mod common;

use common::*;
use pulumi_resource_alicloud::values;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn image_lifecycle_create_update_read_delete() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let inputs = json!({"desktopId": DESKTOP_1, "imageName": "golden-image", "description": "Golden desktop"});

    let (id, preview) = p
        .create(IMAGE, inputs.clone(), true, 0.0)
        .await
        .expect("preview");
    assert_eq!(id, "");
    assert!(values::is_unknown(&preview["status"]));
    assert_eq!(emu.count("CreateImage").await, 0);

    let (id, outputs) = p
        .create(IMAGE, inputs.clone(), false, 0.0)
        .await
        .expect("create");
    assert!(id.starts_with("m-"), "{id}");
    assert_eq!(outputs["status"], "Available");
    assert_eq!(outputs["imageName"], "golden-image");
    assert_eq!(outputs["desktopId"], DESKTOP_1);
    let images = emu.ecd_images().await;
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["imageId"], id.as_str());
    assert_eq!(images[0]["status"], "Available");
    assert_eq!(emu.count("CreateImage").await, 1);

    // Rename in place: no replacement, one ModifyImageAttribute.
    let renamed = json!({"desktopId": DESKTOP_1, "imageName": "golden-image-v2", "description": "Golden desktop"});
    let d = p
        .diff(IMAGE, &id, json!(outputs), inputs.clone(), renamed.clone())
        .await;
    assert!(d.replaces.is_empty(), "{:?}", d.replaces);
    assert_eq!(d.diffs, vec!["imageName"]);
    // ModifyImageAttribute refuses a name that starts with a Chinese character: that rename replaces.
    let d = p
        .diff(
            IMAGE,
            &id,
            json!(outputs),
            inputs.clone(),
            json!({"desktopId": DESKTOP_1, "imageName": "金色镜像-v2", "description": "Golden desktop"}),
        )
        .await;
    assert_eq!(d.replaces, vec!["imageName"]);
    assert!(!d.delete_before_replace, "the name changes: no clash");
    // Keeping such a name is no change.
    let d = p
        .diff(
            IMAGE,
            &id,
            json!({"imageName": "金色镜像", "desktopId": DESKTOP_1, "status": "Available"}),
            json!({"desktopId": DESKTOP_1, "imageName": "金色镜像"}),
            json!({"desktopId": DESKTOP_1, "imageName": "金色镜像"}),
        )
        .await;
    assert!(d.replaces.is_empty() && d.diffs.is_empty(), "{d:?}");
    let preview = p
        .update(IMAGE, &id, json!(outputs), renamed.clone(), true)
        .await
        .expect("update preview");
    assert_eq!(preview["status"], "Available");
    assert_eq!(emu.count("ModifyImageAttribute").await, 0);
    let updated = p
        .update(IMAGE, &id, json!(outputs), renamed.clone(), false)
        .await
        .expect("update");
    assert_eq!(updated["imageName"], "golden-image-v2");
    assert_eq!(emu.ecd_images().await[0]["name"], "golden-image-v2");
    assert_eq!(emu.count("ModifyImageAttribute").await, 1);

    // Another desktop replaces; import-style read knows no desktop and adopts the program's.
    let d = p
        .diff(
            IMAGE,
            &id,
            json!(updated),
            renamed.clone(),
            json!({"desktopId": DESKTOP_2, "imageName": "golden-image-v2"}),
        )
        .await;
    assert_eq!(d.replaces, vec!["desktopId"]);
    let (rid, read_out, read_in) = p.read(IMAGE, &id, json!({})).await.expect("import read");
    assert_eq!(rid, id);
    assert!(read_out.get("desktopId").is_none());
    assert_eq!(read_in["imageName"], "golden-image-v2");
    let d = p
        .diff(IMAGE, &id, json!(read_out), json!(read_in), renamed.clone())
        .await;
    assert!(
        d.diffs.is_empty(),
        "import must be diff-free: {:?}",
        d.diffs
    );

    // Refresh keeps the desktop from state.
    let (_, refreshed, _) = p.read(IMAGE, &id, json!(updated)).await.expect("refresh");
    assert_eq!(refreshed["desktopId"], DESKTOP_1);

    p.delete(IMAGE, &id, json!(updated)).await.expect("delete");
    assert!(emu.ecd_images().await.is_empty());
    let (rid, _, _) = p
        .read(IMAGE, &id, json!(updated))
        .await
        .expect("read after delete");
    assert_eq!(rid, "");
    p.delete(IMAGE, &id, json!(updated))
        .await
        .expect("delete of a missing image");
}

#[tokio::test]
async fn create_failed_image_is_cleaned_up() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    emu.fault(json!({"kind": "create_failed", "count": 1}))
        .await;
    let err = p
        .create(
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": "doomed"}),
            false,
            60.0,
        )
        .await
        .unwrap_err();
    assert!(err.message().contains("CreateFailed"), "{}", err.message());
    assert!(err.message().contains("deleted"), "{}", err.message());
    assert!(
        emu.ecd_images().await.is_empty(),
        "the failed image was removed"
    );
}

#[tokio::test]
async fn create_timeout_keeps_the_image_in_state() {
    let emu = Emulator::with_image_create_seconds(30.0).await;
    let mut p = Provider::configured(&emu).await;
    let err = p
        .create(
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": "slow"}),
            false,
            2.0,
        )
        .await
        .unwrap_err();
    let detail = init_failed(&err);
    assert!(detail.id.starts_with("m-"));
    assert!(
        detail.reasons[0].contains("timeout"),
        "{:?}",
        detail.reasons
    );
    let state = values::from_struct(detail.properties.as_ref());
    assert_eq!(state["status"], "Creating");
    let images = emu.ecd_images().await;
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["imageId"], detail.id.as_str());

    // Once the image is ready, delete works: nothing is left behind.
    emu.control(
        Method::POST,
        "config",
        Some(json!({"imageCreateSeconds": 0.0})),
    )
    .await;
    p.delete(IMAGE, &detail.id, json!(state))
        .await
        .expect("delete");
    assert!(emu.ecd_images().await.is_empty());
}

#[tokio::test]
async fn cancel_stops_a_wait_promptly_and_keeps_the_image() {
    let emu = Emulator::with_image_create_seconds(0.0).await;
    // Held: the image stays `Creating` for good, so only the cancel can end the wait (before the 15-minute
    // default timeout).
    emu.hold_images().await;
    let mut p = Provider::configured(&emu).await;
    let mut canceller = p.client.clone();
    let create = tokio::spawn(async move {
        p.create(
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": "cancelled"}),
            false,
            0.0,
        )
        .await
    });
    // Cancel once the provider is waiting for the image: it looked for the name, created, then polled.
    emu.wait_for("CreateImage", 1).await;
    emu.wait_for("DescribeImages", 2).await;
    canceller.cancel(()).await.expect("cancel");
    let err = create.await.expect("task").unwrap_err();
    let detail = init_failed(&err);
    assert!(
        detail.reasons[0].contains("cancelled"),
        "{:?}",
        detail.reasons
    );
    assert_eq!(
        emu.ecd_images().await.len(),
        1,
        "the image is reported, not lost"
    );
}

#[tokio::test]
async fn lost_create_answer_adopts_the_image_instead_of_making_another() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    emu.fault(json!({"kind": "commit_then_drop", "action": "CreateImage", "count": 1}))
        .await;
    let (id, outputs) = p
        .create(
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": "once-only"}),
            false,
            60.0,
        )
        .await
        .expect("create recovers the image its lost request made");
    assert_eq!(outputs["status"], "Available");
    let images = emu.ecd_images().await;
    assert_eq!(images.len(), 1, "exactly one image: {images:?}");
    assert_eq!(images[0]["imageId"], id.as_str());
    assert_eq!(
        emu.count("CreateImage").await,
        1,
        "CreateImage is never retried"
    );
}

#[tokio::test]
async fn an_unnamed_image_is_autonamed_so_a_lost_answer_is_still_recovered() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let (inputs, failures) = p
        .check(IMAGE, json!({}), json!({"desktopId": DESKTOP_1}))
        .await;
    assert!(failures.is_empty(), "{failures:?}");
    let name = inputs["imageName"]
        .as_str()
        .expect("a generated name")
        .to_string();
    assert!(name.starts_with("r-") && name.len() == 9, "{name}");
    // The name stays when the resource is checked again as an existing one.
    let (again, _) = p
        .check(IMAGE, json!(inputs), json!({"desktopId": DESKTOP_1}))
        .await;
    assert_eq!(again["imageName"], name.as_str());

    emu.fault(json!({"kind": "commit_then_drop", "action": "CreateImage", "count": 1}))
        .await;
    let (id, outputs) = p
        .create(IMAGE, json!(inputs), false, 60.0)
        .await
        .expect("create recovers the image its lost request made");
    assert_eq!(outputs["imageName"], name.as_str());
    let images = emu.ecd_images().await;
    assert_eq!(images.len(), 1, "exactly one image: {images:?}");
    assert_eq!(
        (&images[0]["imageId"], &images[0]["name"]),
        (&json!(id), &json!(name))
    );
    assert_eq!(emu.count("CreateImage").await, 1);
}

#[tokio::test]
async fn image_survives_a_throttling_storm_and_server_errors() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    emu.fault(json!({"kind": "throttle", "action": "DescribeImages", "count": 3}))
        .await;
    emu.fault(json!({"kind": "server_error", "action": "DescribeImages", "count": 2}))
        .await;
    let (id, outputs) = p
        .create(IMAGE, json!({"desktopId": DESKTOP_2}), false, 120.0)
        .await
        .expect("create");
    assert_eq!(outputs["status"], "Available");
    assert!(emu.count("DescribeImages").await >= 6);
    p.delete(IMAGE, &id, json!(outputs)).await.expect("delete");
    assert!(emu.ecd_images().await.is_empty());
}

#[tokio::test]
async fn unknown_desktop_fails_without_leaving_anything() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let err = p
        .create(
            IMAGE,
            json!({"desktopId": "ecd-doesnotexist00001"}),
            false,
            30.0,
        )
        .await
        .unwrap_err();
    assert!(err.message().contains("RequestId"), "{}", err.message());
    assert!(emu.ecd_images().await.is_empty());
}
