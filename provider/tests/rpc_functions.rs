//! The lookup functions over gRPC, against the emulator: every page walked, clear errors at the call.

mod common;

use common::*;
use pulumi_resource_alicloud::proto::pulumirpc::InvokeRequest;
use pulumi_resource_alicloud::values::{self, Props};
use reqwest::Method;
use serde_json::{Value, json};

/// The result, or the failures as `property: reason`, or the error message.
async fn invoke(p: &mut Provider, tok: &str, args: Value) -> Result<Props, String> {
    let req = InvokeRequest {
        tok: tok.into(),
        args: Some(values::to_struct(&props(args))),
    };
    match p.client.invoke(req).await {
        Ok(resp) => {
            let resp = resp.into_inner();
            if resp.failures.is_empty() {
                Ok(values::from_struct(resp.r#return.as_ref()))
            } else {
                Err(resp
                    .failures
                    .iter()
                    .map(|f| format!("{}: {}", f.property, f.reason))
                    .collect::<Vec<_>>()
                    .join("; "))
            }
        }
        Err(status) => Err(status.message().to_string()),
    }
}

const SHARES: &str = "alicloud:ecs:getImageSharePermissions";
const IMAGES: &str = "alicloud:ecd:getImages";

#[tokio::test]
async fn share_lookup_lists_every_account_and_names_an_unknown_image() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let accounts: Vec<String> = (0..45)
        .map(|n| format!("{}", 8_000_000_000_000_000u64 + n))
        .collect();
    for a in &accounts {
        emu.control(
            Method::POST,
            "ecs/share",
            Some(json!({"regionId": "cn-hangzhou", "imageId": IMAGE_1, "accountId": a})),
        )
        .await;
    }
    let found = invoke(&mut p, SHARES, json!({"imageId": IMAGE_1}))
        .await
        .expect("lookup");
    assert_eq!(found["imageId"], json!(IMAGE_1));
    assert_eq!(found["accountIds"], json!(accounts));

    let err = invoke(&mut p, SHARES, json!({"imageId": "m-bp1doesnotexist0001"}))
        .await
        .unwrap_err();
    assert!(err.contains("m-bp1doesnotexist0001"), "{err}");
    let err = invoke(&mut p, SHARES, json!({})).await.unwrap_err();
    assert!(err.contains("missing required argument 'imageId'"), "{err}");
    let err = invoke(&mut p, SHARES, json!({"imageId": "img-1"}))
        .await
        .unwrap_err();
    assert!(err.starts_with("imageId: "), "{err}");
}

#[tokio::test]
async fn image_lookup_walks_every_page_and_filters() {
    let emu = Emulator::with_image_create_seconds(0.0).await;
    let mut p = Provider::configured(&emu).await;
    // More than one page of DescribeImages (at most 100 per page).
    for n in 0..105 {
        let name = if n % 5 == 0 {
            format!("golden-{n}")
        } else {
            format!("scratch-{n}")
        };
        emu.control(
            Method::POST,
            "ecd/create-image",
            Some(json!({"regionId": "cn-hangzhou", "desktopId": DESKTOP_1, "name": name})),
        )
        .await;
    }
    emu.control(Method::POST, "calls/reset", None).await;
    let all = invoke(&mut p, IMAGES, json!({})).await.expect("lookup");
    let images = all["images"].as_array().expect("a list");
    assert_eq!(images.len(), 105);
    assert!(emu.count("DescribeImages").await >= 2, "paged");
    let first = &images[0];
    for key in ["imageId", "imageName", "status", "progress"] {
        assert!(
            first.get(key).is_some_and(|v| !v.is_null()),
            "{key}: {first}"
        );
    }

    let golden = invoke(
        &mut p,
        IMAGES,
        json!({"nameRegex": "^golden-", "status": "Available"}),
    )
    .await
    .expect("lookup");
    let names: Vec<&str> = golden["images"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|i| i["imageName"].as_str())
        .collect();
    assert_eq!(names.len(), 21, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("golden-")));

    let id = first["imageId"].as_str().expect("an id").to_string();
    let one = invoke(&mut p, IMAGES, json!({"imageIds": [id]}))
        .await
        .expect("lookup");
    assert_eq!(one["images"].as_array().map(Vec::len), Some(1));

    let err = invoke(&mut p, IMAGES, json!({"nameRegex": "golden-("}))
        .await
        .unwrap_err();
    assert!(
        err.starts_with("nameRegex: 'nameRegex' is not a valid regular expression"),
        "{err}"
    );
    let err = invoke(&mut p, IMAGES, json!({"status": "Ready"}))
        .await
        .unwrap_err();
    assert!(err.contains("Creating, Available, CreateFailed"), "{err}");
    let err = invoke(&mut p, IMAGES, json!({"imageIds": "m-1"}))
        .await
        .unwrap_err();
    assert!(err.contains("must be a list"), "{err}");
}
