//! ImageShareList driven over gRPC as the engine drives it, against the emulator: the calls each operation
//! makes, authority over shares made outside, isPublic, keepOnDelete and partial failures.

mod common;

use common::*;
use serde_json::{Value, json};

const LIST: &str = "alicloud:ecs:ImageShareList";
const DESCRIBE: &str = "DescribeImageSharePermission";
const MODIFY: &str = "ModifyImageSharePermission";

/// The first `n` of the seed's 50 recipient accounts (3000000000000000…49).
fn recipients(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("30000000000000{i:02}")).collect()
}

/// (DescribeImageSharePermission, ModifyImageSharePermission) calls so far.
async fn counts(emu: &Emulator) -> (u64, u64) {
    (emu.count(DESCRIBE).await, emu.count(MODIFY).await)
}

/// The calls `op` made.
async fn calls_of<T>(emu: &Emulator, op: impl Future<Output = T>) -> (T, (u64, u64)) {
    let before = counts(emu).await;
    let out = op.await;
    let after = counts(emu).await;
    (out, (after.0 - before.0, after.1 - before.1))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn state(accounts: &[String], is_public: bool, keep: bool) -> Value {
    json!({
        "imageId": IMAGE_1, "accountIds": accounts, "isPublic": is_public, "keepOnDelete": keep,
        "region": "cn-hangzhou",
    })
}

async fn is_public(emu: &Emulator, image: &str) -> bool {
    emu.state().await["ecsImages"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["imageId"] == image))
        .map(|i| i["isPublic"] == json!(true))
        .unwrap_or(false)
}

#[tokio::test]
async fn list_lifecycle_costs_one_walk_and_a_call_per_ten_accounts() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let mut accounts = recipients(25);
    accounts.reverse();

    // Check sorts the set and fills in the schema's defaults.
    let (checked, failures) = p
        .check(
            LIST,
            json!({}),
            json!({"imageId": IMAGE_1, "accountIds": accounts}),
        )
        .await;
    assert!(failures.is_empty(), "{failures:?}");
    let want = sorted(accounts.clone());
    assert_eq!(
        checked,
        props(
            json!({"imageId": IMAGE_1, "accountIds": want, "isPublic": false, "keepOnDelete": false})
        )
    );
    let inputs = Value::Object(checked.clone());

    // Preview changes nothing: one walk checks the image (and what the list would remove).
    let (preview, calls) = calls_of(&emu, p.create(LIST, inputs.clone(), true, 0.0)).await;
    preview.expect("preview");
    assert_eq!(calls, (1, 0));

    let (created, calls) = calls_of(&emu, p.create(LIST, inputs.clone(), false, 0.0)).await;
    let (id, outputs) = created.expect("create");
    assert_eq!(calls, (1, 3), "one walk and ⌈25/10⌉ modify calls");
    assert_eq!(id, IMAGE_1);
    assert_eq!(outputs, props(state(&want, false, false)));
    assert_eq!(sorted(emu.shared_with(IMAGE_1).await), want);

    // Refresh: one walk; import: the same inputs from the id alone.
    let (read, calls) = calls_of(&emu, p.read(LIST, &id, state(&want, false, false))).await;
    let (rid, observed, ins) = read.expect("read");
    assert_eq!(calls, (1, 0));
    assert_eq!((rid.as_str(), &observed), (id.as_str(), &outputs));
    assert_eq!(ins, checked);
    let (_, _, imported) = p.read(LIST, &id, json!({})).await.expect("import");
    assert_eq!(imported, checked, "import yields what the program declares");

    // The same set in another order is no change; another set is an in-place update.
    let (reordered, _) = p
        .check(
            LIST,
            inputs.clone(),
            json!({"imageId": IMAGE_1, "accountIds": accounts}),
        )
        .await;
    let d = p
        .diff(
            LIST,
            &id,
            Value::Object(outputs.clone()),
            inputs.clone(),
            Value::Object(reordered),
        )
        .await;
    assert!(d.diffs.is_empty(), "{:?}", d.diffs);
    let mut next = recipients(30)[5..].to_vec();
    next.sort();
    let news =
        json!({"imageId": IMAGE_1, "accountIds": next, "isPublic": false, "keepOnDelete": false});
    let d = p
        .diff(
            LIST,
            &id,
            Value::Object(outputs.clone()),
            inputs.clone(),
            news.clone(),
        )
        .await;
    assert_eq!(
        (d.diffs.clone(), d.replaces.clone()),
        (vec!["accountIds".to_string()], vec![])
    );
    let d = p
        .diff(
            LIST,
            &id,
            Value::Object(outputs.clone()),
            inputs.clone(),
            json!({"imageId": IMAGE_2, "accountIds": next}),
        )
        .await;
    assert_eq!(d.replaces, vec!["imageId"]);

    // Five removed and five added: one walk and one call carrying both.
    let (updated, calls) = calls_of(
        &emu,
        p.update(
            LIST,
            &id,
            Value::Object(outputs.clone()),
            news.clone(),
            false,
        ),
    )
    .await;
    let updated = updated.expect("update");
    assert_eq!(calls, (1, 1));
    assert_eq!(updated, props(state(&next, false, false)));
    assert_eq!(sorted(emu.shared_with(IMAGE_1).await), next);

    // Only keepOnDelete: nothing to ask Alibaba.
    let kept =
        json!({"imageId": IMAGE_1, "accountIds": next, "isPublic": false, "keepOnDelete": true});
    let (updated, calls) = calls_of(
        &emu,
        p.update(LIST, &id, Value::Object(updated), kept, false),
    )
    .await;
    assert_eq!(updated.expect("update"), props(state(&next, false, true)));
    assert_eq!(calls, (0, 0));

    // Delete: ⌈25/10⌉ removals, no walk.
    let (deleted, calls) = calls_of(&emu, p.delete(LIST, &id, state(&next, false, false))).await;
    deleted.expect("delete");
    assert_eq!(calls, (0, 3));
    assert!(emu.shared_with(IMAGE_1).await.is_empty());
}

#[tokio::test]
async fn shares_made_outside_are_drift_and_are_removed() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    // Shared before the stack existed: create makes the list exactly what is declared, in the same calls.
    emu.control(
        reqwest::Method::POST,
        "ecs/share",
        Some(json!({"regionId": "cn-hangzhou", "imageId": IMAGE_1, "accountId": OTHER_ACCOUNT})),
    )
    .await;
    let declared = recipients(3);
    let inputs = json!({"imageId": IMAGE_1, "accountIds": declared, "isPublic": false, "keepOnDelete": false});
    let (created, calls) = calls_of(&emu, p.create(LIST, inputs.clone(), false, 0.0)).await;
    let (id, outputs) = created.expect("create");
    assert_eq!(calls, (1, 1), "the removal rides in the call that adds");
    assert_eq!(sorted(emu.shared_with(IMAGE_1).await), declared);

    // A share made outside afterwards: refresh reports it.
    emu.control(
        reqwest::Method::POST,
        "ecs/share",
        Some(json!({"regionId": "cn-hangzhou", "imageId": IMAGE_1, "accountId": OTHER_ACCOUNT})),
    )
    .await;
    let (_, observed, _) = p
        .read(LIST, &id, Value::Object(outputs.clone()))
        .await
        .expect("read");
    let mut drifted = declared.clone();
    drifted.push(OTHER_ACCOUNT.to_string());
    let drifted = sorted(drifted);
    assert_eq!(observed["accountIds"], json!(drifted));
    let d = p
        .diff(
            LIST,
            &id,
            Value::Object(observed.clone()),
            inputs.clone(),
            inputs.clone(),
        )
        .await;
    assert_eq!(d.diffs, vec!["accountIds"]);

    // Up removes it.
    let (updated, calls) = calls_of(
        &emu,
        p.update(LIST, &id, Value::Object(observed), inputs.clone(), false),
    )
    .await;
    assert_eq!(updated.expect("update")["accountIds"], json!(declared));
    assert_eq!(calls, (1, 1));
    assert_eq!(sorted(emu.shared_with(IMAGE_1).await), declared);
}

#[tokio::test]
async fn check_names_the_property_of_each_mistake() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let cases = [
        (
            json!({"imageId": IMAGE_1, "accountIds": [OTHER_ACCOUNT, OTHER_ACCOUNT]}),
            "accountIds",
            "more than once",
        ),
        (
            json!({"imageId": IMAGE_1, "accountIds": ["12ab"]}),
            "accountIds",
            "12ab",
        ),
        (
            json!({"imageId": IMAGE_1, "accountIds": recipients(50).into_iter().chain([OTHER_ACCOUNT.to_string()]).collect::<Vec<_>>()}),
            "accountIds",
            "at most 50",
        ),
        (
            json!({"imageId": IMAGE_1, "accountIds": [OTHER_ACCOUNT], "isPublic": true}),
            "isPublic",
            "community image",
        ),
        (json!({"imageId": "x-1", "accountIds": []}), "imageId", "m-"),
        (json!({"imageId": IMAGE_1}), "accountIds", "missing"),
    ];
    for (news, property, words) in cases {
        let (_, failures) = p.check(LIST, json!({}), news.clone()).await;
        assert!(
            failures
                .iter()
                .any(|(p, r)| p == property && r.contains(words)),
            "{news}: {failures:?}"
        );
    }
    // A list whose values are not known yet (preview) passes.
    let (_, failures) = p
        .check(
            LIST,
            json!({}),
            json!({"imageId": IMAGE_1, "accountIds": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"}),
        )
        .await;
    assert!(failures.is_empty(), "{failures:?}");
}

#[tokio::test]
async fn is_public_publishes_and_unpublishes_in_calls_of_its_own() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let public =
        json!({"imageId": IMAGE_1, "accountIds": [], "isPublic": true, "keepOnDelete": false});
    let (created, calls) = calls_of(&emu, p.create(LIST, public.clone(), false, 0.0)).await;
    let (id, outputs) = created.expect("create");
    assert_eq!(calls, (1, 1));
    assert_eq!(outputs["isPublic"], json!(true));
    assert!(is_public(&emu, IMAGE_1).await);
    let (_, observed, _) = p.read(LIST, &id, public.clone()).await.expect("read");
    assert_eq!(
        observed["isPublic"],
        json!(true),
        "the share group `all` reads as public"
    );

    // Unpublish and share in one update: the unpublish goes first (a community image takes no accounts).
    let private = json!({"imageId": IMAGE_1, "accountIds": [OTHER_ACCOUNT], "isPublic": false, "keepOnDelete": false});
    let (updated, calls) = calls_of(
        &emu,
        p.update(LIST, &id, Value::Object(observed), private.clone(), false),
    )
    .await;
    let updated = updated.expect("update");
    assert_eq!(calls, (1, 2));
    assert_eq!(updated["isPublic"], json!(false));
    assert!(!is_public(&emu, IMAGE_1).await);
    assert_eq!(emu.shared_with(IMAGE_1).await, vec![OTHER_ACCOUNT]);

    // Publish again (no accounts), then destroy: the image is unpublished.
    let (updated, _) = calls_of(
        &emu,
        p.update(LIST, &id, Value::Object(updated), public.clone(), false),
    )
    .await;
    let updated = updated.expect("update");
    assert!(is_public(&emu, IMAGE_1).await);
    assert!(emu.shared_with(IMAGE_1).await.is_empty());
    let (deleted, calls) = calls_of(&emu, p.delete(LIST, &id, Value::Object(updated))).await;
    deleted.expect("delete");
    assert_eq!(calls, (0, 1));
    assert!(!is_public(&emu, IMAGE_1).await);
}

#[tokio::test]
async fn keep_on_delete_leaves_the_shares() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let accounts = recipients(12);
    let inputs = json!({"imageId": IMAGE_1, "accountIds": accounts, "isPublic": false, "keepOnDelete": true});
    let (id, outputs) = p.create(LIST, inputs, false, 0.0).await.expect("create");
    let (deleted, calls) = calls_of(&emu, p.delete(LIST, &id, Value::Object(outputs))).await;
    deleted.expect("delete");
    assert_eq!(calls, (0, 0));
    assert_eq!(sorted(emu.shared_with(IMAGE_1).await), accounts);
}

#[tokio::test]
async fn a_partial_create_or_update_records_what_was_applied() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    // Sorted, the unknown account is alone in the second call, which Alibaba refuses.
    let mut accounts = recipients(10);
    accounts.push("9999999999999999".to_string());
    let inputs = json!({"imageId": IMAGE_1, "accountIds": accounts, "isPublic": false, "keepOnDelete": false});
    let err = p
        .create(LIST, inputs.clone(), false, 0.0)
        .await
        .expect_err("the second call fails");
    assert!(err.message().contains("InvalidAccount.NotFound"), "{err}");
    let detail = init_failed(&err);
    assert_eq!(detail.id, IMAGE_1);
    let partial = pulumi_resource_alicloud::values::from_struct(detail.properties.as_ref());
    assert_eq!(partial["accountIds"], json!(recipients(10)));
    assert_eq!(sorted(emu.shared_with(IMAGE_1).await), recipients(10));

    // The next up updates from the partial state: again only the refused account is left out.
    let mut next = recipients(25)[5..].to_vec();
    next.push("9999999999999999".to_string());
    let news =
        json!({"imageId": IMAGE_1, "accountIds": next, "isPublic": false, "keepOnDelete": false});
    let err = p
        .update(LIST, IMAGE_1, Value::Object(partial), news, false)
        .await
        .expect_err("the last call fails");
    let detail = init_failed(&err);
    let partial = pulumi_resource_alicloud::values::from_struct(detail.properties.as_ref());
    // Call 1 added 10..19 and removed 0..4; call 2 (20..24 and the unknown account) was refused whole.
    assert_eq!(partial["accountIds"], json!(recipients(20)[5..].to_vec()));
    assert_eq!(
        sorted(emu.shared_with(IMAGE_1).await),
        recipients(20)[5..].to_vec()
    );
}

#[tokio::test]
async fn a_missing_image_is_named() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let inputs = json!({"imageId": OTHERS_IMAGE, "accountIds": [OTHER_ACCOUNT], "isPublic": false, "keepOnDelete": false});
    let err = p
        .create(LIST, inputs, false, 0.0)
        .await
        .expect_err("not ours");
    assert!(err.message().contains(OTHERS_IMAGE), "{err}");
    let err = p
        .read(LIST, OTHERS_IMAGE, json!({}))
        .await
        .expect_err("import of another's image");
    assert_eq!(err.code(), tonic::Code::NotFound, "{err}");
    let (rid, _, _) = p
        .read(LIST, OTHERS_IMAGE, state(&[], false, false))
        .await
        .expect("refresh");
    assert_eq!(rid, "", "a vanished image drops from the state");
}
