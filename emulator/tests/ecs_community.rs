//! ModifyImageSharePermission's `IsPublic` and `LaunchPermission`, and what DescribeImageSharePermission
//! reports of a community image: the rules of the ModifyImageSharePermission API reference.

mod common;

use common::*;
use serde_json::{Value, json};

/// Sends `IsPublic` (and optional account lists) for the seeded image.
async fn publish(e: &Emulator, value: &str, add: &[String]) -> (u16, Value) {
    e.v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .param("IsPublic", value)
        .list("AddAccount", add)
        .send()
        .await
}

async fn share(e: &Emulator, add: &[String], remove: &[String]) -> (u16, Value) {
    e.v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .list("AddAccount", add)
        .list("RemoveAccount", remove)
        .send()
        .await
}

async fn groups(e: &Emulator) -> Value {
    let page = e
        .v3(ECS, "DescribeImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .ok()
        .await;
    page["ShareGroups"]["ShareGroup"].clone()
}

/// The default seed with `change` applied, loaded into the emulator.
async fn reseed(e: &Emulator, change: impl FnOnce(&mut Value)) {
    let mut seed: Value =
        serde_json::from_str(alicloud_emulator::model::DEFAULT_SEED).expect("seed");
    change(&mut seed);
    let (status, body) = e.control_post("seed", seed).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn publishing_shows_the_group_all_and_unpublishing_keeps_the_shares() {
    let e = Emulator::start().await;
    assert_eq!(groups(&e).await, json!([]));
    assert_eq!(share(&e, &[OTHER.into()], &[]).await.0, 200);

    let (status, body) = publish(&e, "true", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(groups(&e).await, json!([{"Group": "all"}]));
    // Publishing again changes nothing.
    assert_eq!(publish(&e, "true", &[]).await.0, 200);

    // A community image cannot be shared with more accounts, but earlier shares can be removed.
    let (status, body) = share(&e, &[RECIPIENT.into()], &[]).await;
    assert_eq!((status, body["Code"].as_str()), (403, Some("Image.Public")));
    assert_eq!(e.shares(IMAGE).await, vec![OTHER]);

    let (status, body) = publish(&e, "false", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(groups(&e).await, json!([]));
    assert_eq!(
        e.shares(IMAGE).await,
        vec![OTHER],
        "shares outlive publishing"
    );

    // Unpublishing an image that is not public is refused.
    let (status, body) = publish(&e, "false", &[]).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (403, Some("Image.NotPublic"))
    );
}

#[tokio::test]
async fn is_public_goes_alone_and_must_be_a_boolean() {
    let e = Emulator::start().await;
    let (status, body) = publish(&e, "true", &[OTHER.into()]).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (403, Some("InvalidParameter.IsPublic"))
    );
    let (status, body) = publish(&e, "yes", &[]).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("InvalidParameter"))
    );
    assert_eq!(groups(&e).await, json!([]));
    assert!(e.shares(IMAGE).await.is_empty());
}

#[tokio::test]
async fn launch_permission_is_not_open_to_the_caller() {
    let e = &Emulator::start().await;
    let call = |with_accounts: bool| {
        let accounts: Vec<String> = if with_accounts {
            vec![OTHER.into()]
        } else {
            vec![]
        };
        async move {
            e.v3(ECS, "ModifyImageSharePermission")
                .param("RegionId", REGION)
                .param("ImageId", IMAGE)
                .param("LaunchPermission", "hide")
                .list("AddAccount", &accounts)
                .send()
                .await
        }
    };
    let (status, body) = call(false).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("ForbiddenParameter.LaunchPermission"))
    );
    let (status, body) = call(true).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("UnnecessaryParameter.LaunchPermission"))
    );
    assert!(e.shares(IMAGE).await.is_empty());
}

#[tokio::test]
async fn images_that_may_not_be_published_or_shared() {
    let e = Emulator::start().await;
    reseed(&e, |seed| {
        seed["ecsImages"][0]["encrypted"] = json!(true);
    })
    .await;
    let (status, body) = publish(&e, "true", &[]).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (403, Some("OperationDeined.EncryptedSnapshot"))
    );
    let (status, body) = share(&e, &[OTHER.into()], &[]).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (403, Some("OperationDeined.EncryptedSnapshot"))
    );

    reseed(&e, |seed| {
        seed["communityTermsUnsigned"] = json!([OWNER]);
    })
    .await;
    let (status, body) = publish(&e, "true", &[]).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (403, Some("PublicImageAgreement.NotSigned"))
    );

    reseed(&e, |seed| {
        seed["regionsWithoutCommunityImages"] = json!([REGION]);
    })
    .await;
    let (status, body) = publish(&e, "true", &[]).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (403, Some("CurrentRegion.NotSupportPublicImage"))
    );
    assert_eq!(groups(&e).await, json!([]));
    // The state dump says which images are public.
    let state = e.control_get("state").await;
    assert_eq!(state["ecsImages"][0]["isPublic"], json!(false));
}
