//! ModifyImageSharePermission and DescribeImageSharePermission: sharing, limits, paging and errors.

mod common;

use common::*;
use serde_json::Value;

async fn modify(e: &Emulator, add: &[String], remove: &[String]) -> (u16, Value) {
    e.v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .list("AddAccount", add)
        .list("RemoveAccount", remove)
        .send()
        .await
}

async fn describe(e: &Emulator, page: Option<&str>, size: Option<&str>) -> Value {
    let mut call = e
        .v3(ECS, "DescribeImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE);
    if let Some(p) = page {
        call = call.param("PageNumber", p);
    }
    if let Some(s) = size {
        call = call.param("PageSize", s);
    }
    call.ok().await
}

fn listed(page: &Value) -> Vec<String> {
    page["Accounts"]["Account"]
        .as_array()
        .expect("Accounts.Account")
        .iter()
        .map(|a| a["AliyunId"].as_str().expect("AliyunId").to_string())
        .collect()
}

#[tokio::test]
async fn shares_and_unshares_an_image() {
    let e = Emulator::start().await;
    let (status, body) = modify(&e, &[OTHER.into()], &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(e.shares(IMAGE).await, vec![OTHER]);

    let page = describe(&e, None, None).await;
    assert_eq!(listed(&page), vec![OTHER]);
    assert_eq!(page["TotalCount"], 1);
    assert_eq!(page["ImageId"], IMAGE);
    assert_eq!(page["RegionId"], REGION);
    assert_eq!(
        (page["PageNumber"].clone(), page["PageSize"].clone()),
        (1.into(), 10.into())
    );
    assert!(
        page["Accounts"]["Account"][0]["SharedTime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let (status, _) = modify(&e, &[], &[OTHER.into()]).await;
    assert_eq!(status, 200);
    assert!(e.shares(IMAGE).await.is_empty());
    e.stop().await;
}

#[tokio::test]
async fn one_call_takes_the_first_ten_accounts_only() {
    let e = Emulator::start().await;
    let twelve = e.recipients(12).await;
    modify(&e, &twelve, &[]).await;
    assert_eq!(e.shares(IMAGE).await, twelve[..10].to_vec());
    // RemoveAccount.N past ten is ignored the same way.
    modify(&e, &[], &twelve).await;
    assert!(e.shares(IMAGE).await.is_empty());
    let (_, _) = modify(&e, &twelve[..10], &[]).await;
    let (_, _) = e
        .v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .param("RemoveAccount.11", &twelve[0])
        .send()
        .await;
    assert_eq!(e.shares(IMAGE).await.len(), 10);
    e.stop().await;
}

#[tokio::test]
async fn an_image_is_shared_with_at_most_fifty_accounts() {
    let e = Emulator::start().await;
    let all = e.recipients(51).await;
    for chunk in all[..50].chunks(10) {
        let (status, body) = modify(&e, chunk, &[]).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = modify(&e, &all[50..], &[]).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (403, Some("QuotaExceed.ShareImageUser"))
    );
    assert_eq!(e.shares(IMAGE).await, all[..50].to_vec());
    // Re-adding a present account at the limit is no change, so it is allowed.
    let (status, _) = modify(&e, &all[..1], &[]).await;
    assert_eq!(status, 200);
    // Removals in the same call count first.
    let (status, _) = modify(&e, &all[50..], &all[..1]).await;
    assert_eq!(status, 200);
    assert_eq!(e.shares(IMAGE).await, all[1..].to_vec());
    e.stop().await;
}

#[tokio::test]
async fn adding_a_present_account_or_removing_an_absent_one_changes_nothing() {
    let e = Emulator::start().await;
    modify(&e, &[OTHER.into()], &[]).await;
    let before = describe(&e, None, None).await["Accounts"]["Account"][0]["SharedTime"].clone();
    let (status, _) = modify(&e, &[OTHER.into(), OTHER.into()], &[]).await;
    assert_eq!(status, 200);
    let absent = e.recipients(1).await;
    let (status, _) = modify(&e, &[], &absent).await;
    assert_eq!(status, 200);
    let page = describe(&e, None, None).await;
    assert_eq!(listed(&page), vec![OTHER]);
    assert_eq!(page["Accounts"]["Account"][0]["SharedTime"], before);
    e.stop().await;
}

#[tokio::test]
async fn describe_pages_in_sharing_order() {
    let e = Emulator::start().await;
    let all = e.recipients(23).await;
    for chunk in all.chunks(10) {
        modify(&e, chunk, &[]).await;
    }
    let mut seen = Vec::new();
    for (page, expected) in [("1", 10), ("2", 10), ("3", 3), ("4", 0)] {
        let body = describe(&e, Some(page), Some("10")).await;
        assert_eq!(body["TotalCount"], 23);
        assert_eq!(body["PageNumber"], page.parse::<u64>().expect("page"));
        let accounts = listed(&body);
        assert_eq!(accounts.len(), expected, "page {page}");
        seen.extend(accounts);
    }
    assert_eq!(seen, all);
    assert_eq!(listed(&describe(&e, None, Some("100")).await), all);
    assert_eq!(
        listed(&describe(&e, Some("2"), Some("7")).await),
        all[7..14].to_vec()
    );
    e.stop().await;
}

#[tokio::test]
async fn paging_parameters_are_checked() {
    let e = Emulator::start().await;
    for (name, value) in [
        ("PageSize", "0"),
        ("PageSize", "101"),
        ("PageSize", "ten"),
        ("PageNumber", "0"),
        ("PageNumber", "-1"),
    ] {
        e.v3(ECS, "DescribeImageSharePermission")
            .param("RegionId", REGION)
            .param("ImageId", IMAGE)
            .param(name, value)
            .fails(400, "InvalidParameter")
            .await;
    }
    e.stop().await;
}

#[tokio::test]
async fn share_errors_leave_the_image_untouched() {
    let e = Emulator::start().await;
    let modify_with = |image: &'static str, account: String| {
        e.v3(ECS, "ModifyImageSharePermission")
            .param("RegionId", REGION)
            .param("ImageId", image)
            .param("AddAccount.1", &account)
    };
    modify_with(IMAGE, OWNER.into())
        .fails(404, "InvalidAccount.Forbbiden")
        .await;
    for bad in ["", "12ab", "123456789012345678901", "-1"] {
        modify_with(IMAGE, bad.into())
            .fails(400, "InvalidAccount.Malformed")
            .await;
    }
    modify_with("m-bp1missing000000001", OTHER.into())
        .fails(404, "InvalidImageId.NotFound")
        .await;
    modify_with(OTHER_OWNERS_IMAGE, OWNER.into())
        .fails(404, "InvalidImageId.NotFound")
        .await;
    e.v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .param("AddAccount.x", OTHER)
        .fails(400, "InvalidParameter")
        .await;
    e.v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", "cn-nowhere")
        .param("ImageId", IMAGE)
        .fails(404, "InvalidRegionId.NotFound")
        .await;
    e.v3(ECS, "DescribeImageSharePermission")
        .param("RegionId", "cn-nowhere")
        .param("ImageId", IMAGE)
        .fails(404, "InvalidRegionId.NotFound")
        .await;
    e.v3(ECS, "ModifyImageSharePermission")
        .param("ImageId", IMAGE)
        .fails(400, "MissingParameter")
        .await;
    let body = e
        .v3(ECS, "DescribeImageSharePermission")
        .param("RegionId", REGION)
        .fails(400, "MissingParameter")
        .await;
    assert!(
        body["Message"]
            .as_str()
            .is_some_and(|m| m.contains("ImageId"))
    );
    let state = e.control_get("state").await;
    for image in state["ecsImages"].as_array().expect("images") {
        assert_eq!(image["sharedWith"], serde_json::json!([]), "{image}");
    }
    e.stop().await;
}

#[tokio::test]
async fn owners_see_only_their_own_images() {
    let e = Emulator::start().await;
    e.v3(ECS, "ModifyImageSharePermission")
        .key(OTHER_KEY.0, OTHER_KEY.1)
        .param("RegionId", REGION)
        .param("ImageId", OTHER_OWNERS_IMAGE)
        .param("AddAccount.1", OWNER)
        .ok()
        .await;
    assert_eq!(e.shares(OTHER_OWNERS_IMAGE).await, vec![OWNER]);
    e.v3(ECS, "DescribeImageSharePermission")
        .key(OTHER_KEY.0, OTHER_KEY.1)
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .fails(404, "InvalidImageId.NotFound")
        .await;
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_shares_never_exceed_the_quota() {
    let e = Emulator::start().await;
    let recipients = e.recipients(60).await;
    let tasks: Vec<_> = recipients
        .iter()
        .map(|a| {
            let request = e
                .v3(ECS, "ModifyImageSharePermission")
                .param("RegionId", REGION)
                .param("ImageId", IMAGE)
                .param("AddAccount.1", a)
                .request();
            tokio::spawn(async move {
                let response = request.send().await.expect("answer");
                let status = response.status().as_u16();
                let body: Value = response.json().await.expect("JSON");
                (status, body)
            })
        })
        .collect();
    let mut ok = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("task") {
            (200, _) => ok += 1,
            (403, body) if body["Code"] == "QuotaExceed.ShareImageUser" => refused += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((ok, refused), (50, 10));
    assert_eq!(e.shares(IMAGE).await.len(), 50);
    e.stop().await;
}

#[tokio::test]
async fn an_account_that_does_not_exist_fails_the_whole_call() {
    let e = Emulator::start().await;
    let known = e.recipients(3).await;
    let unknown = unknown_accounts(20)[19].clone();
    assert_eq!(modify(&e, &[OTHER.into()], &[]).await.0, 200);
    let before = e.control_get("state").await;

    // One unknown account among known ones, with a removal in the same call: nothing is applied.
    let batch = [known[0].clone(), unknown.clone(), known[1].clone()];
    let body = e
        .v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .list("AddAccount", &batch)
        .param("RemoveAccount.1", OTHER)
        .fails(404, "InvalidAccount.NotFound")
        .await;
    assert!(
        body["Message"]
            .as_str()
            .is_some_and(|m| m.contains(&unknown)),
        "the message names the account: {body}"
    );
    // The documented table names RemoveAccount.n too.
    e.v1(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .param("RemoveAccount.1", &unknown)
        .fails(404, "InvalidAccount.NotFound")
        .await;
    assert_eq!(e.control_get("state").await, before, "nothing changed");
    assert_eq!(e.shares(IMAGE).await, vec![OTHER]);

    // An unknown image is reported before an unknown account.
    e.v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", "m-bp1missing000000001")
        .param("AddAccount.1", &unknown)
        .fails(404, "InvalidImageId.NotFound")
        .await;
    // Entries past the tenth are ignored, so an unknown one there is never looked at.
    let mut eleven = e.recipients(10).await;
    eleven.push(unknown.clone());
    let (status, body) = modify(&e, &eleven, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(e.shares(IMAGE).await.len(), 11);

    // Once the account exists, the same call succeeds.
    let (status, body) = e
        .control_post("accounts", serde_json::json!({"accountIds": [unknown]}))
        .await;
    assert_eq!(
        (status, body["added"].clone()),
        (200, serde_json::json!([unknown]))
    );
    let (status, body) = modify(&e, std::slice::from_ref(&unknown), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(e.shares(IMAGE).await.contains(&unknown));
    e.stop().await;
}

#[tokio::test]
async fn the_seeded_recipients_exist() {
    let e = Emulator::start().await;
    let first: u64 = FIRST_OF_FIFTY_RECIPIENTS.parse().expect("an account id");
    let seeded: Vec<String> = [
        OTHER.to_string(),
        RECIPIENT.to_string(),
        first.to_string(),
        (first + 49).to_string(),
    ]
    .to_vec();
    let (status, body) = modify(&e, &seeded, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(e.shares(IMAGE).await, seeded);
    let (status, _) = modify(&e, &[(first + 50).to_string()], &[]).await;
    assert_eq!(status, 404, "the seeded range ends at ...049");
    e.stop().await;
}

#[tokio::test]
async fn accounts_are_added_through_the_control_api_idempotently() {
    let e = Emulator::start().await;
    let ids = unknown_accounts(2);
    let (status, body) = e
        .control_post(
            "accounts",
            serde_json::json!({"accountIds": [ids[0], ids[1], ids[0]]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["added"], serde_json::json!(ids));
    let total = body["total"].as_u64().expect("total");
    let (status, body) = e
        .control_post(
            "accounts",
            serde_json::json!({"accountIds": [ids[1], OWNER]}),
        )
        .await;
    assert_eq!(
        (status, body["added"].clone(), body["total"].as_u64()),
        (200, serde_json::json!([]), Some(total)),
        "adding known accounts changes nothing"
    );
    let listed = e.control_get("accounts").await["accountIds"].clone();
    for id in [OWNER, OTHER, RECIPIENT, &ids[0], &ids[1]] {
        assert!(
            listed.as_array().expect("ids").iter().any(|a| a == id),
            "{id} in {listed}"
        );
    }
    for bad in [
        serde_json::json!({"accountIds": ["12ab"]}),
        serde_json::json!({"accountIds": [""]}),
        serde_json::json!({"accountIds": ["123456789012345678901"]}),
        serde_json::json!({"accountIds": "4000000000000009"}),
        serde_json::json!({"accounts": ["4000000000000009"]}),
    ] {
        let (status, _) = e.control_post("accounts", bad.clone()).await;
        assert!((400..500).contains(&status), "{bad}: {status}");
    }
    // A bad batch adds nothing, not even its good ids.
    let (status, _) = e
        .control_post(
            "accounts",
            serde_json::json!({"accountIds": ["4000000000000009", "x"]}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = modify(&e, &["4000000000000009".into()], &[]).await;
    assert_eq!(status, 404);

    // Reset goes back to the seed's accounts.
    e.control_post("reset", serde_json::json!({})).await;
    let (status, _) = modify(&e, &ids[..1], &[]).await;
    assert_eq!(status, 404);
    e.stop().await;
}

#[tokio::test]
async fn an_out_of_band_share_makes_its_account_exist() {
    let e = Emulator::start().await;
    let id = unknown_accounts(1).remove(0);
    let (status, _) = e
        .control_post(
            "ecs/share",
            serde_json::json!({"regionId": REGION, "imageId": IMAGE, "accountId": id}),
        )
        .await;
    assert_eq!(status, 200);
    // So the owner can unshare it through the API, and share another image with it.
    let (status, body) = modify(&e, &[], std::slice::from_ref(&id)).await;
    assert_eq!(status, 200, "{body}");
    assert!(e.shares(IMAGE).await.is_empty());
    let (status, _) = e
        .control_post(
            "ecs/share",
            serde_json::json!({"regionId": REGION, "imageId": IMAGE, "accountId": "nope"}),
        )
        .await;
    assert_eq!(status, 400);
    e.stop().await;
}
