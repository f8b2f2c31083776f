//! Concurrent share operations of one image cost a handful of API calls, not one each, and every resource
//! still gets its own outcome.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

fn account(n: u64) -> String {
    format!("{}", 7_000_000_000_000_000u64 + n)
}

async fn register(emu: &Emulator, accounts: &[String]) {
    emu.control(
        Method::POST,
        "accounts",
        Some(json!({"accountIds": accounts})),
    )
    .await;
}

#[tokio::test]
async fn thirty_concurrent_shares_of_one_image_are_batched() {
    let emu = Emulator::start().await;
    let accounts: Vec<String> = (0..30).map(account).collect();
    register(&emu, &accounts).await;
    let p = Provider::configured(&emu).await;

    let creates: Vec<_> = accounts
        .iter()
        .map(|a| {
            let mut p = p.clone();
            let inputs = json!({"imageId": IMAGE_1, "accountId": a});
            tokio::spawn(async move { p.create(SHARE, inputs, false, 60.0).await })
        })
        .collect();
    let mut ids = Vec::new();
    for c in creates {
        ids.push(c.await.expect("task").expect("create").0);
    }
    let mut shared = emu.shared_with(IMAGE_1).await;
    shared.sort();
    assert_eq!(shared, accounts);
    let modify = emu.count("ModifyImageSharePermission").await;
    let describe = emu.count("DescribeImageSharePermission").await;
    // One walk for the batch, then 30 accounts at 10 per call; the window may split the batch once.
    assert!(
        modify <= 4,
        "{modify} ModifyImageSharePermission calls for 30 shares"
    );
    assert!(
        describe <= 2,
        "{describe} DescribeImageSharePermission calls for 30 shares"
    );

    emu.control(Method::POST, "calls/reset", None).await;
    let reads: Vec<_> = ids
        .iter()
        .map(|id| {
            let (mut p, id) = (p.clone(), id.clone());
            tokio::spawn(async move { p.read(SHARE, &id, json!({})).await })
        })
        .collect();
    for r in reads {
        assert!(!r.await.expect("task").expect("read").0.is_empty());
    }
    let describe = emu.count("DescribeImageSharePermission").await;
    assert!(describe <= 2, "{describe} walks for 30 concurrent reads");

    emu.control(Method::POST, "calls/reset", None).await;
    let deletes: Vec<_> = ids
        .iter()
        .map(|id| {
            let (mut p, id) = (p.clone(), id.clone());
            tokio::spawn(async move { p.delete(SHARE, &id, json!({})).await })
        })
        .collect();
    for d in deletes {
        d.await.expect("task").expect("delete");
    }
    assert!(emu.shared_with(IMAGE_1).await.is_empty());
    let modify = emu.count("ModifyImageSharePermission").await;
    assert!(modify <= 4, "{modify} calls for 30 removals");
}

#[tokio::test]
async fn an_unknown_account_in_a_batch_fails_alone() {
    let emu = Emulator::start().await;
    let good: Vec<String> = (0..5).map(account).collect();
    register(&emu, &good).await;
    let unknown = "9999999999999999".to_string();
    let p = Provider::configured(&emu).await;
    let mut all = good.clone();
    all.insert(2, unknown.clone());
    let creates: Vec<_> = all
        .iter()
        .map(|a| {
            let mut p = p.clone();
            let inputs = json!({"imageId": IMAGE_1, "accountId": a});
            tokio::spawn(async move { p.create(SHARE, inputs, false, 60.0).await })
        })
        .collect();
    for (a, c) in all.iter().zip(creates) {
        let result = c.await.expect("task");
        if *a == unknown {
            let err = result.unwrap_err();
            assert!(
                err.message().contains("InvalidAccount.NotFound"),
                "{}",
                err.message()
            );
        } else {
            result.unwrap_or_else(|e| panic!("{a}: {}", e.message()));
        }
    }
    let mut shared = emu.shared_with(IMAGE_1).await;
    shared.sort();
    assert_eq!(shared, good);
    // One walk, the refused batch, then each of the six alone.
    assert_eq!(emu.count("DescribeImageSharePermission").await, 1);
    assert_eq!(emu.count("ModifyImageSharePermission").await, 7);
}
