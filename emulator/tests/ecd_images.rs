//! CreateImage, DescribeImages, ModifyImageAttribute and DeleteImages: the image state machine, paging
//! and errors.

mod common;

use alicloud_emulator::Timing;
use common::*;
use serde_json::{Value, json};

async fn create(e: &Emulator, name: &str) -> String {
    let body = e
        .v3(ECD, "CreateImage")
        .param("RegionId", REGION)
        .param("DesktopId", DESKTOP)
        .param("ImageName", name)
        .param("Description", "made by a test")
        .ok()
        .await;
    body["ImageId"].as_str().expect("ImageId").to_string()
}

async fn describe(e: &Emulator, id: &str) -> Vec<Value> {
    e.v3(ECD, "DescribeImages")
        .param("RegionId", REGION)
        .param("ImageId.1", id)
        .ok()
        .await["Images"]
        .as_array()
        .expect("Images")
        .clone()
}

async fn delete(e: &Emulator, id: &str) -> (u16, Value) {
    e.v3(ECD, "DeleteImages")
        .param("RegionId", REGION)
        .param("ImageId.1", id)
        .send()
        .await
}

fn slow(create: f64, delete: f64) -> Timing {
    Timing {
        image_create_seconds: create,
        image_delete_seconds: delete,
    }
}

async fn hold_images(e: &Emulator, hold: bool) {
    let (status, body) = e.control_post("config", json!({"holdImages": hold})).await;
    assert_eq!((status, body["holdImages"].as_bool()), (200, Some(hold)));
}

async fn release(e: &Emulator, target: Value) -> (u16, Value) {
    e.control_post("ecd/release-images", target).await
}

#[tokio::test]
async fn an_image_is_creating_then_available_then_gone() {
    let e = Emulator::start().await;
    hold_images(&e, true).await;
    let id = create(&e, "golden").await;
    assert!(id.starts_with("m-") && id.len() == 19, "{id}");
    let images = describe(&e, &id).await;
    assert_eq!(images.len(), 1);
    assert_eq!(
        (
            &images[0]["Name"],
            &images[0]["Description"],
            &images[0]["Status"]
        ),
        (
            &json!("golden"),
            &json!("made by a test"),
            &json!("Creating")
        )
    );
    // The source desktop is never reported, as on Alibaba.
    assert!(images[0].get("DesktopId").is_none());
    let (status, body) = delete(&e, &id).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("IncorrectImageStatus"))
    );
    assert_eq!(describe(&e, &id).await[0]["Status"], "Creating");

    let (status, body) = release(&e, json!({"regionId": REGION, "imageId": id})).await;
    assert_eq!((status, body["released"].clone()), (200, json!([id])));
    assert_eq!(describe(&e, &id).await[0]["Status"], "Available");
    let state = e.ecd_images().await;
    assert_eq!(state[0]["desktopId"], DESKTOP);
    assert_eq!(state[0]["status"], "Available");

    let (status, body) = delete(&e, &id).await;
    assert_eq!(status, 200, "{body}");
    assert!(describe(&e, &id).await.is_empty());
    assert!(e.ecd_images().await.is_empty());
    e.stop().await;
}

#[tokio::test]
async fn held_images_wait_for_their_release_whatever_the_timing() {
    let e = Emulator::start().await;
    assert_eq!(e.control_get("config").await["holdImages"], false);
    hold_images(&e, true).await;
    let (first, second) = (create(&e, "first").await, create(&e, "second").await);
    // imageCreateSeconds is 0 here: only the hold keeps them Creating.
    let creating = e
        .v3(ECD, "DescribeImages")
        .param("RegionId", REGION)
        .param("ImageStatus", "Creating")
        .ok()
        .await;
    assert_eq!(creating["Images"].as_array().expect("Images").len(), 2);
    e.control_post("config", json!({"imageCreateSeconds": 0}))
        .await;
    assert_eq!(describe(&e, &first).await[0]["Status"], "Creating");

    // Releasing one image leaves the other held.
    let (status, body) = release(&e, json!({"imageId": first})).await;
    assert_eq!((status, body["released"].clone()), (200, json!([first])));
    assert_eq!(describe(&e, &first).await[0]["Status"], "Available");
    assert_eq!(describe(&e, &second).await[0]["Status"], "Creating");
    // Releasing an image that is not Creating is no change; an unknown one is an error.
    let (status, body) = release(&e, json!({"imageId": first})).await;
    assert_eq!((status, body["released"].clone()), (200, json!([])));
    let (status, _) = release(&e, json!({"imageId": "m-missingimage0000001"})).await;
    assert_eq!(status, 404);
    let (status, _) = release(&e, json!({"regionId": "cn-shanghai", "imageId": second})).await;
    assert_eq!(status, 404, "the image is in another region");
    let (status, _) = release(&e, json!({"imageID": second})).await;
    assert_eq!(status, 400, "unknown fields are refused");

    // Turning holding off affects new images only; an empty body releases everything.
    hold_images(&e, false).await;
    let third = create(&e, "third").await;
    assert_eq!(describe(&e, &third).await[0]["Status"], "Available");
    assert_eq!(describe(&e, &second).await[0]["Status"], "Creating");
    let released = e
        .http
        .post(format!("{}/_emulator/ecd/release-images", e.url))
        .send()
        .await
        .expect("answer");
    assert_eq!(released.status().as_u16(), 200);
    let body: Value = released.json().await.expect("JSON");
    assert_eq!(body["released"], json!([second]));
    assert_eq!(describe(&e, &second).await[0]["Status"], "Available");

    // Reset turns holding off again.
    hold_images(&e, true).await;
    e.control_post("reset", json!({})).await;
    assert_eq!(e.control_get("config").await["holdImages"], false);
    e.stop().await;
}

#[tokio::test]
async fn a_held_image_marked_to_fail_fails_on_release() {
    let e = Emulator::start().await;
    hold_images(&e, true).await;
    let rule = e
        .fault(json!({"kind": "create_failed", "action": "CreateImage"}))
        .await;
    let failing = create(&e, "failing").await;
    assert_eq!(describe(&e, &failing).await[0]["Status"], "Creating");
    assert_eq!(e.fault_rule(rule).await["used"], 1);
    let (status, body) = release(&e, json!({"regionId": REGION})).await;
    assert_eq!((status, body["released"].clone()), (200, json!([failing])));
    assert_eq!(describe(&e, &failing).await[0]["Status"], "CreateFailed");
    e.stop().await;
}

#[tokio::test]
async fn images_without_a_hold_follow_the_configured_creation_time() {
    let e = Emulator::with(slow(3600.0, 0.0), None).await;
    let id = create(&e, "golden").await;
    assert_eq!(describe(&e, &id).await[0]["Status"], "Creating");
    // Shortening the creation time applies to images already being made.
    let (status, _) = e
        .control_post("config", json!({"imageCreateSeconds": 0}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(describe(&e, &id).await[0]["Status"], "Available");
    e.stop().await;
}

#[tokio::test]
async fn deletion_takes_the_configured_time() {
    let e = Emulator::with(slow(0.0, 3600.0), None).await;
    let id = create(&e, "golden").await;
    assert_eq!(delete(&e, &id).await.0, 200);
    assert_eq!(
        describe(&e, &id).await.len(),
        1,
        "still listed while being deleted"
    );
    // Shortening the deletion time applies to images already being deleted.
    let (status, _) = e
        .control_post("config", json!({"imageDeleteSeconds": 0}))
        .await;
    assert_eq!(status, 200);
    assert!(describe(&e, &id).await.is_empty());
    assert!(e.ecd_images().await.is_empty());
    e.stop().await;
}

#[tokio::test]
async fn a_create_failed_fault_fails_the_next_image_only() {
    let e = Emulator::start().await;
    let (status, _) = e
        .control_post(
            "faults",
            json!({"kind": "create_failed", "action": "CreateImage"}),
        )
        .await;
    assert_eq!(status, 200);
    let failed = create(&e, "first").await;
    let fine = create(&e, "second").await;
    assert_eq!(describe(&e, &failed).await[0]["Status"], "CreateFailed");
    assert_eq!(describe(&e, &fine).await[0]["Status"], "Available");
    assert_eq!(
        delete(&e, &failed).await.0,
        200,
        "failed images can be deleted"
    );
    e.stop().await;
}

#[tokio::test]
async fn describe_filters_and_pages_with_next_token() {
    let e = Emulator::start().await;
    let mut made = Vec::new();
    for n in 0..5 {
        made.push(create(&e, &format!("image-{n}")).await);
    }
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut call = e
            .v3(ECD, "DescribeImages")
            .param("RegionId", REGION)
            .param("MaxResults", "2");
        if let Some(t) = &token {
            call = call.param("NextToken", t);
        }
        let body = call.ok().await;
        let images = body["Images"].as_array().expect("Images");
        sizes.push(images.len());
        seen.extend(
            images
                .iter()
                .map(|i| i["ImageId"].as_str().expect("id").to_string()),
        );
        match body["NextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(seen, made);

    let by_ids = e
        .v3(ECD, "DescribeImages")
        .param("RegionId", REGION)
        .list("ImageId", &made[1..3])
        .ok()
        .await;
    assert_eq!(by_ids["Images"].as_array().expect("Images").len(), 2);
    for (status, expected) in [("Available", 5), ("Creating", 0)] {
        let body = e
            .v3(ECD, "DescribeImages")
            .param("RegionId", REGION)
            .param("ImageStatus", status)
            .ok()
            .await;
        assert_eq!(
            body["Images"].as_array().expect("Images").len(),
            expected,
            "{status}"
        );
    }
    assert!(describe(&e, "m-missingimage0000001").await.is_empty());
    for (name, value) in [
        ("MaxResults", "0"),
        ("MaxResults", "101"),
        ("NextToken", "not-a-token"),
    ] {
        e.v3(ECD, "DescribeImages")
            .param("RegionId", REGION)
            .param(name, value)
            .fails(400, "InvalidParameter")
            .await;
    }
    e.stop().await;
}

#[tokio::test]
async fn modify_image_attribute_renames_and_redescribes() {
    let e = Emulator::start().await;
    let id = create(&e, "golden").await;
    e.v3(ECD, "ModifyImageAttribute")
        .param("RegionId", REGION)
        .param("ImageId", &id)
        .param("Name", "renamed")
        .ok()
        .await;
    let image = &describe(&e, &id).await[0];
    assert_eq!(
        (&image["Name"], &image["Description"]),
        (&json!("renamed"), &json!("made by a test"))
    );
    e.v3(ECD, "ModifyImageAttribute")
        .param("RegionId", REGION)
        .param("ImageId", &id)
        .param("Description", "other words")
        .ok()
        .await;
    let image = &describe(&e, &id).await[0];
    assert_eq!(
        (&image["Name"], &image["Description"]),
        (&json!("renamed"), &json!("other words"))
    );
    e.stop().await;
}

#[tokio::test]
async fn names_and_descriptions_follow_alibabas_rules() {
    let e = Emulator::start().await;
    let long_name = format!("a{}", "b".repeat(128));
    for (param, value, code) in [
        (
            "ImageName",
            "1starts-with-digit",
            "InvalidParameter.ImageName",
        ),
        ("ImageName", "a", "InvalidParameter.ImageName"),
        (
            "ImageName",
            long_name.as_str(),
            "InvalidParameter.ImageName",
        ),
        ("ImageName", "has space", "InvalidParameter.ImageName"),
        ("ImageName", "golden.v1", "InvalidParameter.ImageName"),
        ("ImageName", "golden/v1", "InvalidParameter.ImageName"),
        ("ImageName", "_golden", "InvalidParameter.ImageName"),
        ("ImageName", "http://x", "InvalidParameter.ImageName"),
        ("ImageName", "https://x", "InvalidParameter.ImageName"),
        ("Description", "x", "InvalidParameter.Description"),
        (
            "Description",
            "https://example.com",
            "InvalidParameter.Description",
        ),
    ] {
        e.v3(ECD, "CreateImage")
            .param("RegionId", REGION)
            .param("DesktopId", DESKTOP)
            .param(param, value)
            .fails(400, code)
            .await;
    }
    let longest = format!("a{}", "b".repeat(127));
    for name in ["镜像-1", "Golden_image:v1-2", "ab", "Z9", longest.as_str()] {
        create(&e, name).await;
    }
    let id = create(&e, "golden").await;
    for bad in ["9lives", "renamed.v2", "镜像-2", "x", "https://renamed"] {
        e.v3(ECD, "ModifyImageAttribute")
            .param("RegionId", REGION)
            .param("ImageId", &id)
            .param("Name", bad)
            .fails(400, "InvalidParameter.Name")
            .await;
    }
    assert_eq!(describe(&e, &id).await[0]["Name"], "golden");
    for good in ["renamed:v2_final-1", "r镜像"] {
        e.v3(ECD, "ModifyImageAttribute")
            .param("RegionId", REGION)
            .param("ImageId", &id)
            .param("Name", good)
            .ok()
            .await;
        assert_eq!(describe(&e, &id).await[0]["Name"], good);
    }
    assert_eq!(e.ecd_images().await.len(), 6);
    e.stop().await;
}

#[tokio::test]
async fn an_unknown_region_is_not_found() {
    let e = Emulator::start().await;
    for action in [
        "CreateImage",
        "DescribeImages",
        "DeleteImages",
        "ModifyImageAttribute",
    ] {
        e.v3(ECD, action)
            .param("RegionId", "cn-nowhere")
            .param("DesktopId", DESKTOP)
            .param("ImageId", "m-missingimage0000001")
            .param("ImageId.1", "m-missingimage0000001")
            .fails(404, "InvalidRegionId.NotFound")
            .await;
    }
    assert!(e.ecd_images().await.is_empty());
    e.stop().await;
}

#[tokio::test]
async fn unknown_desktops_and_images_get_alibabas_codes() {
    let e = Emulator::start().await;
    e.v3(ECD, "CreateImage")
        .param("RegionId", REGION)
        .param("DesktopId", "ecd-missingdesktop01")
        .fails(404, "InvalidDesktopId.NotFound")
        .await;
    // Another account's desktop is as invisible as a missing one.
    e.v3(ECD, "CreateImage")
        .key(OTHER_KEY.0, OTHER_KEY.1)
        .param("RegionId", REGION)
        .param("DesktopId", DESKTOP)
        .fails(404, "InvalidDesktopId.NotFound")
        .await;
    e.v3(ECD, "CreateImage")
        .param("RegionId", REGION)
        .fails(400, "MissingParameter")
        .await;
    e.v3(ECD, "ModifyImageAttribute")
        .param("RegionId", REGION)
        .param("ImageId", "m-missingimage0000001")
        .param("Name", "renamed")
        .fails(404, "InvalidImageId.NotFound")
        .await;
    let (status, body) = delete(&e, "m-missingimage0000001").await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (404, Some("InvalidImageId.NotFound"))
    );
    e.v3(ECD, "DeleteImages")
        .param("RegionId", REGION)
        .fails(400, "MissingParameter")
        .await;
    let id = create(&e, "golden").await;
    let (status, _) = e
        .v3(ECD, "DeleteImages")
        .key(OTHER_KEY.0, OTHER_KEY.1)
        .param("RegionId", REGION)
        .param("ImageId.1", &id)
        .send()
        .await;
    assert_eq!(status, 404, "another account cannot delete our image");
    assert_eq!(e.ecd_images().await.len(), 1);
    e.stop().await;
}
