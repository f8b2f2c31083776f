//! A preview's Create (`preview: true`, as the engine sends it when Configure answered `supportsPreview`)
//! fails for what `up` would refuse, found with read-only calls only: at most one walk of an image's shares
//! per process, no call about a value that is not known, never a call that changes anything. The emulator's
//! call counters are the call log.

mod common;

use common::*;
use pulumi_resource_alicloud::proto::pulumirpc::{CreateRequest, DiffRequest};
use pulumi_resource_alicloud::values;
use reqwest::Method;
use serde_json::{Value, json};

/// The engine's sentinel for a value not known until `up`.
const UNKNOWN: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/// Every action that changes something.
const MUTATING: &[&str] = &[
    "ModifyImageSharePermission",
    "CreateImage",
    "ModifyImageAttribute",
    "DeleteImages",
];

/// A preview's Create of the resource `name` of type `token`: `Ok` when the preview passes, else the error.
async fn preview(p: &mut Provider, token: &str, name: &str, inputs: Value) -> Result<(), String> {
    let req = CreateRequest {
        urn: urn(token, name),
        name: name.into(),
        r#type: token.into(),
        properties: Some(values::to_struct(&props(inputs.clone()))),
        preview: true,
        ..Default::default()
    };
    match p.client.create(req).await {
        Ok(resp) => {
            let resp = resp.into_inner();
            // A preview makes nothing: no id, and the outputs are the inputs (the rest unknown).
            assert_eq!(resp.id, "", "{name}");
            let outputs = values::from_struct(resp.properties.as_ref());
            for (k, v) in props(inputs) {
                assert_eq!(outputs.get(&k), Some(&v), "{name}: {k}");
            }
            Ok(())
        }
        Err(status) => Err(status.message().to_string()),
    }
}

/// Shares `image` out of band with `n` accounts of the default seed (3000000000000000 + i).
async fn share_out_of_band(emu: &Emulator, image: &str, n: usize) -> Vec<String> {
    let accounts: Vec<String> = (0..n)
        .map(|i| (3_000_000_000_000_000u64 + i as u64).to_string())
        .collect();
    for account in &accounts {
        emu.control(
            Method::POST,
            "ecs/share",
            Some(json!({"regionId": "cn-hangzhou", "imageId": image, "accountId": account})),
        )
        .await;
    }
    accounts
}

/// Asserts no action that changes anything was called.
async fn assert_nothing_changed(emu: &Emulator) {
    for action in MUTATING {
        assert_eq!(emu.count(action).await, 0, "{action} was called");
    }
}

/// `n` well-formed account ids that no seed knows (a preview does not ask whether accounts exist).
fn new_accounts(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("5{i:015}")).collect()
}

#[tokio::test]
async fn a_share_of_an_image_that_is_missing_or_not_the_callers_fails_the_preview() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    for image in ["m-bp1doesnotexist0001", OTHERS_IMAGE] {
        let err = preview(
            &mut p,
            SHARE,
            "shared",
            json!({"imageId": image, "accountId": OTHER_ACCOUNT}),
        )
        .await
        .expect_err("the preview fails");
        for part in [
            SHARE,
            "\"shared\"",
            image,
            "cn-hangzhou",
            "belongs to another account",
            "InvalidImageId.NotFound",
            "Check imageId",
        ] {
            assert!(err.contains(part), "{part:?} missing from: {err}");
        }
    }
    assert_eq!(emu.count("DescribeImageSharePermission").await, 2);
    assert_nothing_changed(&emu).await;

    // A share of an image of the caller passes.
    preview(
        &mut p,
        SHARE,
        "fine",
        json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT}),
    )
    .await
    .expect("the preview passes");
    assert_nothing_changed(&emu).await;
}

#[tokio::test]
async fn the_51st_account_counts_existing_and_planned_shares_with_one_walk_per_image() {
    let emu = Emulator::start().await;
    let existing = share_out_of_band(&emu, IMAGE_1, 45).await;
    let mut p = Provider::configured(&emu).await;

    // Six new accounts on an image shared with 45, asked all at once as the engine does: the five that fit
    // pass, the one planned last is refused.
    let planned = new_accounts(6);
    let results = futures_join(&p, &planned).await;
    let refused: Vec<&(String, Result<(), String>)> =
        results.iter().filter(|(_, r)| r.is_err()).collect();
    assert_eq!(refused.len(), 1, "{results:?}");
    let (account, Err(err)) = refused[0] else {
        unreachable!()
    };
    for part in [
        SHARE.to_string(),
        format!("\"share-{account}\""),
        IMAGE_1.to_string(),
        format!("account {account}"),
        "limit of 50 accounts".to_string(),
        "shared with 45 accounts now".to_string(),
        "add 6 more (51 in all".to_string(),
        "QuotaExceed.ShareImageUser".to_string(),
        "remove shares of it".to_string(),
    ] {
        assert!(err.contains(&part), "{part:?} missing from: {err}");
    }

    // An account already shared (outside the stack) is refused as `up` would, with the import command.
    let err = preview(
        &mut p,
        SHARE,
        "taken",
        json!({"imageId": IMAGE_1, "accountId": existing[0]}),
    )
    .await
    .expect_err("the preview fails");
    assert!(
        err.contains(&format!(
            "pulumi import {SHARE} taken {IMAGE_1}:{}",
            existing[0]
        )),
        "{err}"
    );

    // A share of another image is counted apart.
    preview(
        &mut p,
        SHARE,
        "other-image",
        json!({"imageId": IMAGE_2, "accountId": planned[0]}),
    )
    .await
    .expect("another image has room");

    // One walk per image for the whole preview, and nothing changed.
    assert_eq!(emu.count("DescribeImageSharePermission").await, 2);
    assert_nothing_changed(&emu).await;
    assert_eq!(emu.shared_with(IMAGE_1).await, existing);
}

/// The preview Creates of `share-<account>` for each account on IMAGE_1, concurrently (each on a clone of the
/// connection, as the engine sends them); each account with its outcome.
async fn futures_join(p: &Provider, accounts: &[String]) -> Vec<(String, Result<(), String>)> {
    let tasks: Vec<_> = accounts
        .iter()
        .map(|account| {
            let mut p = p.clone();
            let account = account.clone();
            tokio::spawn(async move {
                let result = preview(
                    &mut p,
                    SHARE,
                    &format!("share-{account}"),
                    json!({"imageId": IMAGE_1, "accountId": account}),
                )
                .await;
                (account, result)
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn unknown_values_are_not_looked_up_and_an_unknown_account_still_counts() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;

    // The image is unknown: nothing to ask.
    preview(
        &mut p,
        SHARE,
        "unknown-image",
        json!({"imageId": UNKNOWN, "accountId": OTHER_ACCOUNT}),
    )
    .await
    .expect("passes");
    // Desktop and name unknown: nothing to ask either.
    preview(
        &mut p,
        IMAGE,
        "unknown-image",
        json!({"desktopId": UNKNOWN, "imageName": UNKNOWN}),
    )
    .await
    .expect("passes");
    let calls = emu.calls().await;
    assert_eq!(calls["total"], 0, "{calls}");

    // A known image with an unknown account: the image is checked, and the account counts as one more.
    share_out_of_band(&emu, IMAGE_2, 50).await;
    let err = preview(
        &mut p,
        SHARE,
        "unknown-account",
        json!({"imageId": IMAGE_2, "accountId": UNKNOWN}),
    )
    .await
    .expect_err("a 51st account, whichever it is, is one too many");
    assert!(
        err.contains("an account not known until `pulumi up`") && err.contains("51 in all"),
        "{err}"
    );
    assert_eq!(emu.count("DescribeImageSharePermission").await, 1);
    assert_nothing_changed(&emu).await;
}

#[tokio::test]
async fn an_ecd_image_of_a_missing_desktop_or_a_name_in_use_fails_the_preview() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;

    let err = preview(
        &mut p,
        IMAGE,
        "golden",
        json!({"desktopId": "ecd-doesnotexist00001", "imageName": "golden-a"}),
    )
    .await
    .expect_err("the preview fails");
    for part in [
        IMAGE,
        "\"golden\"",
        "ecd-doesnotexist00001",
        "cn-hangzhou",
        "InvalidDesktopId.NotFound",
        "Check desktopId",
    ] {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }

    // A name some image already has, made outside the stack.
    emu.control(
        Method::POST,
        "ecd/create-image",
        Some(json!({"regionId": "cn-hangzhou", "desktopId": DESKTOP_1, "name": "taken-name"})),
    )
    .await;
    let outside = emu.ecd_images().await[0]["imageId"]
        .as_str()
        .expect("image id")
        .to_string();
    let err = preview(
        &mut p,
        IMAGE,
        "named",
        json!({"desktopId": DESKTOP_1, "imageName": "taken-name"}),
    )
    .await
    .expect_err("the preview fails");
    for part in [
        IMAGE,
        "\"named\"",
        "\"taken-name\"",
        &outside,
        "Choose another imageName",
        &format!("pulumi import {IMAGE} named {outside}"),
    ] {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }

    // Two images of this program with one name: the second is refused.
    preview(
        &mut p,
        IMAGE,
        "first",
        json!({"desktopId": DESKTOP_1, "imageName": "twice"}),
    )
    .await
    .expect("the first passes");
    let err = preview(
        &mut p,
        IMAGE,
        "second",
        json!({"desktopId": DESKTOP_2, "imageName": "twice"}),
    )
    .await
    .expect_err("the second fails");
    assert!(
        err.contains("\"second\"") && err.contains("\"first\"") && err.contains("\"twice\""),
        "{err}"
    );

    // One DescribeDesktops per desktop, one DescribeImages walk per name, nothing changed.
    assert_eq!(emu.count("DescribeDesktops").await, 3);
    assert_eq!(emu.count("DescribeImages").await, 2);
    assert_nothing_changed(&emu).await;
    assert_eq!(emu.ecd_images().await.len(), 1);
}

#[tokio::test]
async fn a_replacement_that_keeps_its_name_and_a_resumable_autoname_pass() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let inputs = json!({"desktopId": DESKTOP_1, "imageName": "kept"});
    let (id, outputs) = p
        .create(IMAGE, inputs.clone(), false, 0.0)
        .await
        .expect("create");

    // Another desktop replaces the image; the new one keeps the name, so the old one goes first.
    let news = json!({"desktopId": DESKTOP_2, "imageName": "kept"});
    let diff = p
        .client
        .diff(DiffRequest {
            id: id.clone(),
            urn: urn(IMAGE, "r"),
            olds: Some(values::to_struct(&outputs)),
            old_inputs: Some(values::to_struct(&props(inputs))),
            news: Some(values::to_struct(&props(news.clone()))),
            ..Default::default()
        })
        .await
        .expect("diff")
        .into_inner();
    assert_eq!(
        (diff.replaces, diff.delete_before_replace),
        (vec!["desktopId".to_string()], true)
    );
    preview(&mut p, IMAGE, "r", news)
        .await
        .expect("the replacement may take the old image's name");

    // An image left by an interrupted create of this very resource carries its autoname: `up` resumes it.
    let (checked, failures) = p
        .check(IMAGE, json!({}), json!({"desktopId": DESKTOP_1}))
        .await;
    assert!(failures.is_empty(), "{failures:?}");
    let autoname = checked["imageName"]
        .as_str()
        .expect("autonamed")
        .to_string();
    emu.control(
        Method::POST,
        "ecd/create-image",
        Some(json!({"regionId": "cn-hangzhou", "desktopId": DESKTOP_1, "name": autoname})),
    )
    .await;
    let before = emu.count("CreateImage").await;
    preview(&mut p, IMAGE, "r", Value::Object(checked))
        .await
        .expect("the image of an interrupted create is resumed, not refused");
    assert_eq!(emu.count("CreateImage").await, before);
    assert_eq!(emu.count("DeleteImages").await, 0);
}

#[tokio::test]
async fn up_still_checks_what_changed_after_the_preview() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let inputs = json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT});
    preview(&mut p, SHARE, "r", inputs.clone())
        .await
        .expect("room for it at preview");
    // The image fills up between preview and up.
    share_out_of_band(&emu, IMAGE_1, 50).await;
    let err = p
        .create(SHARE, inputs, false, 0.0)
        .await
        .expect_err("up refuses the 51st");
    assert!(
        err.message().contains("QuotaExceed.ShareImageUser")
            && err.message().contains("is shared with 50 accounts now"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_secret_value_stays_out_of_a_preview_failure() {
    let emu = Emulator::start().await;
    let existing = share_out_of_band(&emu, IMAGE_1, 1).await;
    let mut p = Provider::configured(&emu).await;
    let err = preview(
        &mut p,
        SHARE,
        "secret",
        json!({"imageId": IMAGE_1, "accountId": values::secret(json!(existing[0]))}),
    )
    .await
    .expect_err("the account has a share already");
    assert!(!err.contains(&existing[0]), "the secret leaked: {err}");
    assert!(
        err.contains("already shared with account [secret]"),
        "{err}"
    );
}

const LIST: &str = "alicloud:ecs:ImageShareList";

/// A preview's Create of an `ImageShareList` of `image` with `accounts`.
async fn preview_list(
    p: &mut Provider,
    name: &str,
    image: &str,
    accounts: &[String],
) -> Result<(), String> {
    let inputs =
        json!({"imageId": image, "accountIds": accounts, "isPublic": false, "keepOnDelete": false});
    preview(p, LIST, name, inputs).await
}

#[tokio::test]
async fn a_share_list_replaces_the_existing_shares_and_counts_with_the_single_shares_of_its_image()
{
    let emu = Emulator::start().await;
    let existing = share_out_of_band(&emu, IMAGE_1, 45).await;
    let mut p = Provider::configured(&emu).await;

    // The list keeps 5 of the 45 shares and adds 40: 45 after `up`, since it removes the 40 others.
    let mut listed: Vec<String> = existing[..5].to_vec();
    listed.extend(new_accounts(40));
    preview_list(&mut p, "list", IMAGE_1, &listed)
        .await
        .expect("45 accounts fit");

    // Six more accounts of the same image, shared one by one: the one planned last makes 51.
    let singles: Vec<String> = (41..=46).map(|i| format!("5{i:015}")).collect();
    let results = futures_join(&p, &singles).await;
    let refused: Vec<&String> = results
        .iter()
        .filter_map(|(a, r)| r.as_ref().err().map(|_| a))
        .collect();
    assert_eq!(refused.len(), 1, "{results:?}");
    let err = results
        .iter()
        .find_map(|(_, r)| r.as_ref().err())
        .expect("one refusal");
    for part in [
        "an ImageShareList of this preview sets the image's share list",
        "51 accounts",
        "limit of 50 accounts",
        "QuotaExceed.ShareImageUser",
    ] {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }

    // Shares planned first, then a list that brings the image past 50: the list is refused.
    let singles: Vec<String> = new_accounts(3);
    for account in &singles {
        preview(
            &mut p,
            SHARE,
            &format!("other-{account}"),
            json!({"imageId": IMAGE_2, "accountId": account}),
        )
        .await
        .expect("three shares fit");
    }
    let many: Vec<String> = (100..148).map(|i| format!("5{i:015}")).collect();
    let err = preview_list(&mut p, "big-list", IMAGE_2, &many)
        .await
        .expect_err("48 + 3 accounts do not fit");
    for part in [
        LIST,
        "\"big-list\"",
        IMAGE_2,
        "make 51 accounts",
        "QuotaExceed.ShareImageUser",
    ] {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }

    // A list of an image that is missing or another account's is refused like a share of it.
    for image in ["m-bp1doesnotexist0001", OTHERS_IMAGE] {
        let err = preview_list(&mut p, "lost", image, &new_accounts(1))
            .await
            .expect_err("the preview fails");
        for part in [LIST, image, "cn-hangzhou", "Check imageId"] {
            assert!(err.contains(part), "{part:?} missing from: {err}");
        }
    }
    // One walk per image, whatever asked.
    assert_eq!(emu.count("DescribeImageSharePermission").await, 4);
    assert_nothing_changed(&emu).await;
}

#[tokio::test]
async fn a_share_list_whose_accounts_are_unknown_still_checks_its_image() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let inputs = json!({"imageId": IMAGE_1, "accountIds": UNKNOWN, "isPublic": false, "keepOnDelete": false});
    preview(&mut p, LIST, "later", inputs)
        .await
        .expect("an unknown list passes");
    let inputs = json!({"imageId": "m-bp1doesnotexist0001", "accountIds": UNKNOWN});
    preview(&mut p, LIST, "lost", inputs)
        .await
        .expect_err("a missing image is refused whatever the accounts");
    let inputs = json!({"imageId": UNKNOWN, "accountIds": new_accounts(2)});
    preview(&mut p, LIST, "unknown-image", inputs)
        .await
        .expect("nothing to ask about an unknown image");
    assert_eq!(emu.count("DescribeImageSharePermission").await, 2);
    assert_nothing_changed(&emu).await;
}
