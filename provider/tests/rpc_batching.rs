//! Concurrent share operations of one image cost a handful of API calls, not one each, and every resource
//! still gets its own outcome. The counts do not depend on timing: the emulator holds the first call until
//! every operation has queued in the provider (its batcher logs each request it queues), so whatever the
//! first batch carries, all the others go together in the next.

mod common;

use std::path::PathBuf;
use std::time::Duration;

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

/// The provider's batcher log: each request that queues and each batch sent, with the number outstanding.
struct BatchLog {
    path: PathBuf,
    /// Where the current phase starts in the file.
    from: usize,
}

impl BatchLog {
    fn new() -> BatchLog {
        let path =
            std::env::temp_dir().join(format!("alicloud-batch-log-{}", uuid::Uuid::new_v4()));
        BatchLog { path, from: 0 }
    }

    /// The provider's environment that writes the log.
    fn env(&self) -> [(&str, &str); 2] {
        [
            ("PULUMI_ALICLOUD_LOG", "alicloud_openapi::batch=debug"),
            (
                "PULUMI_ALICLOUD_LOG_FILE",
                self.path.to_str().expect("a UTF-8 temporary path"),
            ),
        ]
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap_or_default()
    }

    /// Starts a phase: later questions look only at what is logged from now on.
    fn phase(&mut self) {
        self.from = self.text().len();
    }

    /// The value of `field` in each line of this phase with `message`.
    fn values(&self, message: &str, field: &str) -> Vec<usize> {
        let key = format!("{field}=");
        self.text()[self.from..]
            .lines()
            .filter(|line| line.contains(message))
            .filter_map(|line| {
                let at = line.find(&key)? + key.len();
                let digits: String = line[at..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse().ok()
            })
            .collect()
    }

    /// Waits until `n` requests of this phase are queued at once; fails after 60 s (a bound, not a timing
    /// claim).
    async fn wait_queued(&self, n: usize) {
        for _ in 0..3000 {
            if self.values("request queued", "outstanding").contains(&n) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "{n} requests never queued at once: {:?}",
            self.values("request queued", "outstanding")
        );
    }

    /// The members of each batch sent in this phase.
    fn batches(&self) -> Vec<usize> {
        self.values("batch sent", "members")
    }
}

impl Drop for BatchLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Holds the first call of `action` at the emulator; once all `n` requests of the phase have queued in the
/// provider behind it, releases it. Whatever the timing, everything but the first batch then goes in one
/// later batch.
async fn hold_until_queued(emu: &Emulator, log: &BatchLog, action: &str, n: usize) {
    emu.fault(json!({"kind": "hold", "action": action})).await;
    emu.wait_for(action, 1).await;
    log.wait_queued(n).await;
    emu.control(Method::POST, "faults/release", None).await;
}

/// ModifyImageSharePermission calls for batches of these sizes: one per 10 accounts.
fn modify_calls(batches: &[usize]) -> u64 {
    batches.iter().map(|n| n.div_ceil(10) as u64).sum()
}

#[tokio::test]
async fn thirty_concurrent_shares_of_one_image_are_batched() {
    let emu = Emulator::start().await;
    let accounts: Vec<String> = (0..30).map(account).collect();
    register(&emu, &accounts).await;
    let mut log = BatchLog::new();
    // The binary: the batcher's log is what tells that every operation has queued.
    let mut p = Provider::spawn(&log.env()).await;
    p.configure(emulator_config(&emu)).await.expect("configure");

    log.phase();
    let creates: Vec<_> = accounts
        .iter()
        .map(|a| {
            let mut p = p.clone();
            let inputs = json!({"imageId": IMAGE_1, "accountId": a});
            tokio::spawn(async move { p.create(SHARE, inputs, false, 60.0).await })
        })
        .collect();
    // The first batch's walk is held until every create has queued behind it.
    hold_until_queued(&emu, &log, "DescribeImageSharePermission", 30).await;
    let mut ids = Vec::new();
    for c in creates {
        ids.push(c.await.expect("task").expect("create").0);
    }
    let mut shared = emu.shared_with(IMAGE_1).await;
    shared.sort();
    assert_eq!(shared, accounts);
    let batches = log.batches();
    assert_eq!(batches.iter().sum::<usize>(), 30, "{batches:?}");
    assert!(
        batches.len() <= 2,
        "the first batch, then all the others: {batches:?}"
    );
    let modify = emu.count("ModifyImageSharePermission").await;
    let describe = emu.count("DescribeImageSharePermission").await;
    // One walk per batch, then its accounts at 10 per call.
    assert_eq!(describe, batches.len() as u64, "{batches:?}");
    assert_eq!(modify, modify_calls(&batches), "{batches:?}");
    assert!(
        modify <= 4,
        "{modify} ModifyImageSharePermission calls for 30 shares"
    );
    assert!(
        describe <= 2,
        "{describe} DescribeImageSharePermission calls for 30 shares"
    );

    emu.control(Method::POST, "calls/reset", None).await;
    emu.control(Method::DELETE, "faults", None).await;
    log.phase();
    let reads: Vec<_> = ids
        .iter()
        .map(|id| {
            let (mut p, id) = (p.clone(), id.clone());
            tokio::spawn(async move { p.read(SHARE, &id, json!({})).await })
        })
        .collect();
    hold_until_queued(&emu, &log, "DescribeImageSharePermission", 30).await;
    for r in reads {
        assert!(!r.await.expect("task").expect("read").0.is_empty());
    }
    let batches = log.batches();
    let describe = emu.count("DescribeImageSharePermission").await;
    assert_eq!(
        describe,
        batches.len() as u64,
        "one walk per batch: {batches:?}"
    );
    assert!(describe <= 2, "{describe} walks for 30 concurrent reads");

    emu.control(Method::POST, "calls/reset", None).await;
    emu.control(Method::DELETE, "faults", None).await;
    log.phase();
    let deletes: Vec<_> = ids
        .iter()
        .map(|id| {
            let (mut p, id) = (p.clone(), id.clone());
            tokio::spawn(async move { p.delete(SHARE, &id, json!({})).await })
        })
        .collect();
    hold_until_queued(&emu, &log, "ModifyImageSharePermission", 30).await;
    for d in deletes {
        d.await.expect("task").expect("delete");
    }
    assert!(emu.shared_with(IMAGE_1).await.is_empty());
    let batches = log.batches();
    assert!(batches.len() <= 2, "{batches:?}");
    let modify = emu.count("ModifyImageSharePermission").await;
    assert_eq!(modify, modify_calls(&batches), "{batches:?}");
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
