//! What the provider promises about state, over gRPC against the emulator: an error is never taken for
//! "gone", nothing is adopted that the stack did not make, secrets stay secret, an interrupted image create
//! is resumed rather than repeated, and an image that is not ready is finished or replaced.

mod common;

use common::*;
use pulumi_resource_alicloud::proto::pulumirpc::{CheckRequest, DiffRequest};
use pulumi_resource_alicloud::values;
use reqwest::Method;
use serde_json::{Value, json};

const PROVIDER_URN: &str = "urn:pulumi:test::project::pulumi:providers:alicloud::default";

fn with(mut config: Value, key: &str, value: Value) -> Value {
    config[key] = value;
    config
}

/// A provider whose requests are refused by the emulator as `config` makes them.
async fn provider_with(config: Value) -> Provider {
    let mut p = Provider::start(&[]).await;
    p.configure(config).await.expect("configure succeeds");
    p
}

#[tokio::test]
async fn auth_and_region_errors_fail_read_and_delete_instead_of_dropping_the_resource() {
    let emu = Emulator::with_image_create_seconds(0.0).await;
    let mut good = Provider::configured(&emu).await;
    let (share_id, share) = good
        .create(
            SHARE,
            json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT}),
            false,
            30.0,
        )
        .await
        .expect("share");
    let (image_id, image) = good
        .create(
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": "kept"}),
            false,
            30.0,
        )
        .await
        .expect("image");

    let base = emulator_config(&emu);
    for (config, code) in [
        (
            with(base.clone(), "accessKey", json!("LTAI5tUnknownKey000001")),
            "InvalidAccessKeyId.NotFound",
        ),
        (
            with(base.clone(), "region", json!("cn-nowhere")),
            "InvalidRegionId.NotFound",
        ),
    ] {
        let mut p = provider_with(config).await;
        for (token, id, state) in [(SHARE, &share_id, &share), (IMAGE, &image_id, &image)] {
            let err = p
                .read(token, id, json!(state))
                .await
                .expect_err("a read that cannot ask must fail, not report the resource gone");
            assert!(err.message().contains(code), "{token}: {}", err.message());
            let err = p.delete(token, id, json!(state)).await.unwrap_err();
            assert!(err.message().contains(code), "{token}: {}", err.message());
        }
    }
    assert_eq!(emu.shared_with(IMAGE_1).await, vec![OTHER_ACCOUNT]);
    assert_eq!(emu.ecd_images().await.len(), 1);
    good.delete(SHARE, &share_id, json!(share))
        .await
        .expect("delete");
    good.delete(IMAGE, &image_id, json!(image))
        .await
        .expect("delete");
}

#[tokio::test]
async fn a_closed_endpoint_fails_fast_and_names_the_endpoint() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let config = json!({
        "region": "cn-hangzhou",
        "accessKey": ACCESS_KEY,
        "secretKey": SECRET_KEY,
        "endpoints": {"ecs": endpoint, "ecd": endpoint},
    });
    let mut p = provider_with(config).await;
    let err = p
        .create(
            SHARE,
            json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT}),
            false,
            300.0,
        )
        .await
        .unwrap_err();
    // Three quick attempts, not retries until the five-minute create timeout (how quick is `make bench`'s).
    assert!(
        err.message().contains(&format!("127.0.0.1:{port}")),
        "{}",
        err.message()
    );
    assert!(
        err.message().contains("gave up after 3 attempts"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_share_made_outside_the_stack_is_not_adopted() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    emu.control(
        Method::POST,
        "ecs/share",
        Some(json!({"regionId": "cn-hangzhou", "imageId": IMAGE_1, "accountId": OTHER_ACCOUNT})),
    )
    .await;
    emu.control(Method::POST, "calls/reset", None).await;
    let err = p
        .create(
            SHARE,
            json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT}),
            false,
            30.0,
        )
        .await
        .unwrap_err();
    let import =
        format!("pulumi import alicloud:ecs:ImageSharePermission r {IMAGE_1}:{OTHER_ACCOUNT}");
    assert!(err.message().contains(&import), "{}", err.message());
    assert_eq!(emu.count("ModifyImageSharePermission").await, 0);
    assert_eq!(emu.shared_with(IMAGE_1).await, vec![OTHER_ACCOUNT]);
}

#[tokio::test]
async fn secret_inputs_stay_secret_in_every_output_and_out_of_messages() {
    let emu = Emulator::with_image_create_seconds(0.0).await;
    let mut p = Provider::configured(&emu).await;
    let account = values::secret(json!(OTHER_ACCOUNT));
    let (id, outputs) = p
        .create(
            SHARE,
            json!({"imageId": IMAGE_1, "accountId": account}),
            false,
            30.0,
        )
        .await
        .expect("create");
    assert!(values::is_secret(&outputs["accountId"]), "{outputs:?}");
    assert!(!values::is_secret(&outputs["imageId"]));

    // Refresh: the engine passes the state (and the old inputs) with their secrets.
    let (_, outputs, inputs) = p.read(SHARE, &id, json!(outputs)).await.expect("read");
    assert!(values::is_secret(&outputs["accountId"]));
    assert!(values::is_secret(&inputs["accountId"]));

    let description = values::secret(json!("Confidential build 7"));
    let (image_id, image) = p
        .create(
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": "secretive", "description": description}),
            false,
            30.0,
        )
        .await
        .expect("image");
    assert!(values::is_secret(&image["description"]), "{image:?}");
    let (_, refreshed, _) = p.read(IMAGE, &image_id, json!(image)).await.expect("read");
    assert!(values::is_secret(&refreshed["description"]));
    let updated = p
        .update(
            IMAGE,
            &image_id,
            json!(refreshed),
            json!({"desktopId": DESKTOP_1, "imageName": "secretive", "description": values::secret(json!("Confidential build 8"))}),
            false,
        )
        .await
        .expect("update");
    assert!(values::is_secret(&updated["description"]), "{updated:?}");
    assert!(!values::is_secret(&updated["status"]));

    // A rejected secret is not quoted back.
    let leak = "https://leak.example/secret-xyz";
    let (_, failures) = p
        .check(
            IMAGE,
            json!({}),
            json!({"desktopId": DESKTOP_1, "description": values::secret(json!(leak))}),
        )
        .await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(!failures[0].1.contains("secret-xyz"), "{failures:?}");
    // The engine prints the program's value of the property a failure names.
    assert_eq!(failures[0].0, "", "{failures:?}");
    assert!(failures[0].1.contains("description"), "{failures:?}");

    p.delete(SHARE, &id, json!({})).await.expect("delete");
    p.delete(IMAGE, &image_id, json!({})).await.expect("delete");
}

#[tokio::test]
async fn an_image_named_like_one_this_resource_did_not_make_is_refused() {
    let emu = Emulator::with_image_create_seconds(0.0).await;
    let mut p = Provider::configured(&emu).await;
    let theirs = emu
        .control(
            Method::POST,
            "ecd/create-image",
            Some(json!({"regionId": "cn-hangzhou", "desktopId": DESKTOP_1, "name": "golden"})),
        )
        .await;
    let err = p
        .create(
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": "golden"}),
            false,
            30.0,
        )
        .await
        .unwrap_err();
    assert!(
        err.message().contains("pulumi import alicloud:ecd:Image r"),
        "{}",
        err.message()
    );
    assert_eq!(emu.count("CreateImage").await, 0);
    assert_eq!(emu.ecd_images().await.len(), 1, "{theirs}");
}

#[tokio::test]
async fn an_interrupted_autonamed_create_is_resumed_not_repeated() {
    let emu = Emulator::with_image_create_seconds(0.0).await;
    let mut p = Provider::configured(&emu).await;
    let (inputs, failures) = p
        .check(IMAGE, json!({}), json!({"desktopId": DESKTOP_1}))
        .await;
    assert!(failures.is_empty(), "{failures:?}");
    let name = values::get_str(&inputs, "imageName").expect("autonamed");
    let (again, _) = p
        .check(IMAGE, json!({}), json!({"desktopId": DESKTOP_1}))
        .await;
    assert_eq!(
        values::get_str(&again, "imageName"),
        Some(name),
        "reproducible"
    );

    // What a `pulumi up` killed after CreateImage leaves behind: an image with this name, in no state.
    let left = emu
        .control(
            Method::POST,
            "ecd/create-image",
            Some(json!({"regionId": "cn-hangzhou", "desktopId": DESKTOP_1, "name": name})),
        )
        .await;
    let left_id = left["imageId"].as_str().expect("an image id").to_string();
    let (id, outputs) = p
        .create(IMAGE, json!(inputs), false, 30.0)
        .await
        .expect("create resumes");
    assert_eq!(id, left_id);
    assert_eq!(outputs["status"], json!("Available"));
    assert_eq!(emu.count("CreateImage").await, 0);
    assert_eq!(emu.ecd_images().await.len(), 1);
    p.delete(IMAGE, &id, json!(outputs)).await.expect("delete");
}

#[tokio::test]
async fn an_image_left_creating_is_awaited_by_update_and_flagged_by_refresh() {
    let emu = Emulator::start().await;
    emu.hold_images().await;
    let mut p = Provider::configured(&emu).await;
    let inputs = json!({"desktopId": DESKTOP_1, "imageName": "slow"});
    let err = p
        .create(IMAGE, inputs.clone(), false, 0.5)
        .await
        .unwrap_err();
    let detail = init_failed(&err);
    let state = values::from_struct(detail.properties.as_ref());
    assert_eq!(state["status"], json!("Creating"));

    // Refresh keeps it flagged, so the next `up` does not take it for done.
    let err = p.read(IMAGE, &detail.id, json!(state)).await.unwrap_err();
    let flagged = init_failed(&err);
    assert_eq!(flagged.id, detail.id);
    assert!(
        flagged.reasons[0].contains("still being made"),
        "{:?}",
        flagged.reasons
    );
    // Import and `.get` see it as it is.
    let (id, observed, _) = p.read(IMAGE, &detail.id, json!({})).await.expect("get");
    assert_eq!(
        (id.as_str(), &observed["status"]),
        (detail.id.as_str(), &json!("Creating"))
    );

    // The engine sends an Update for a resource with init errors: it waits for the image.
    emu.release_images().await;
    let outputs = p
        .update(IMAGE, &detail.id, json!(state), inputs, false)
        .await
        .expect("update waits until Available");
    assert_eq!(outputs["status"], json!("Available"));
    p.delete(IMAGE, &detail.id, json!(outputs))
        .await
        .expect("delete");
}

#[tokio::test]
async fn a_failed_image_is_flagged_and_replaced_delete_first() {
    let emu = Emulator::start().await;
    emu.hold_images().await;
    let mut p = Provider::configured(&emu).await;
    emu.fault(json!({"kind": "create_failed"})).await;
    let inputs = json!({"desktopId": DESKTOP_1, "imageName": "doomed"});
    let err = p
        .create(IMAGE, inputs.clone(), false, 0.2)
        .await
        .unwrap_err();
    let detail = init_failed(&err);
    let state = values::from_struct(detail.properties.as_ref());
    emu.release_images().await;
    // Update (sent for init errors) finds it failed: an error that keeps it, flagged CreateFailed.
    let err = p
        .update(IMAGE, &detail.id, json!(state), inputs.clone(), false)
        .await
        .unwrap_err();
    let failed = values::from_struct(init_failed(&err).properties.as_ref());
    assert_eq!(failed["status"], json!("CreateFailed"));
    let err = p.read(IMAGE, &detail.id, json!(failed)).await.unwrap_err();
    assert!(init_failed(&err).reasons[0].contains("CreateFailed"));

    let diff = p
        .diff(IMAGE, &detail.id, json!(failed), json!({}), inputs)
        .await;
    assert_eq!(diff.replaces, vec!["status".to_string()]);
    assert!(diff.delete_before_replace, "the replacement keeps the name");
    p.delete(IMAGE, &detail.id, json!(failed))
        .await
        .expect("delete");
    assert!(emu.ecd_images().await.is_empty());
}

#[tokio::test]
async fn replacements_delete_first_only_when_the_name_stays() {
    let mut p = Provider::start(&[]).await;
    let (autonamed, _) = p
        .check(IMAGE, json!({}), json!({"desktopId": DESKTOP_1}))
        .await;
    let name = values::get_str(&autonamed, "imageName").expect("autonamed");
    let olds = json!({"desktopId": DESKTOP_1, "imageName": name, "status": "Available"});
    let cases = [
        // An autonamed image gets another name with another desktop: both can exist at once.
        (json!({"desktopId": DESKTOP_2, "imageName": name}), false),
        (
            json!({"desktopId": DESKTOP_2, "imageName": "explicit"}),
            false,
        ),
    ];
    for (news, delete_first) in cases {
        let diff = p
            .diff(IMAGE, "m-1", olds.clone(), json!({}), news.clone())
            .await;
        assert_eq!(diff.replaces, vec!["desktopId".to_string()], "{news}");
        assert_eq!(diff.delete_before_replace, delete_first, "{news}");
    }
    let explicit = json!({"desktopId": DESKTOP_1, "imageName": "golden", "status": "Available"});
    let diff = p
        .diff(
            IMAGE,
            "m-1",
            explicit,
            json!({}),
            json!({"desktopId": DESKTOP_2, "imageName": "golden"}),
        )
        .await;
    assert!(diff.delete_before_replace);
    // No replacement, no delete-first.
    let diff = p
        .diff(
            IMAGE,
            "m-1",
            olds.clone(),
            json!({}),
            json!({"desktopId": DESKTOP_1, "imageName": "renamed"}),
        )
        .await;
    assert!(diff.replaces.is_empty() && !diff.delete_before_replace);
}

#[tokio::test]
async fn the_region_from_the_environment_is_recorded_and_a_change_replaces() {
    let mut p = Provider::start(&[("ALICLOUD_REGION", "cn-shanghai")]).await;
    let resp = p
        .client
        .check_config(CheckRequest {
            urn: PROVIDER_URN.into(),
            news: Some(values::to_struct(&props(
                json!({"accessKey": "a", "secretKey": "s"}),
            ))),
            ..Default::default()
        })
        .await
        .expect("check config")
        .into_inner();
    let inputs = values::from_struct(resp.inputs.as_ref());
    assert_eq!(inputs["region"], json!("cn-shanghai"));

    let diff_config = |olds: Value, news: Value| DiffRequest {
        urn: PROVIDER_URN.into(),
        olds: Some(values::to_struct(&props(olds))),
        news: Some(values::to_struct(&props(news))),
        ..Default::default()
    };
    let moved = p
        .client
        .diff_config(diff_config(
            json!({"region": "cn-hangzhou"}),
            json!({"region": "cn-shanghai"}),
        ))
        .await
        .expect("diff config")
        .into_inner();
    assert_eq!(moved.replaces, vec!["region".to_string()]);
    // A provider state from before the region was recorded keeps its resources.
    let recorded = p
        .client
        .diff_config(diff_config(json!({}), json!({"region": "cn-shanghai"})))
        .await
        .expect("diff config")
        .into_inner();
    assert!(recorded.replaces.is_empty(), "{recorded:?}");
}
