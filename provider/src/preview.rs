//! What a preview learns about the cloud and about its own plan, kept for the provider process.
//!
//! The engine starts the provider anew for each run of a deployment (`pulumi up` previews and updates in two
//! runs; pulumi v3.184 `pkg/engine/update.go`: each run's deployment closes its plugin context), and during
//! a preview calls Create with `preview: true` for each resource it would create (when Configure answered
//! `supportsPreview`). Those calls check, with read-only Alibaba calls only, what `up` would refuse. Each
//! read is made at most once per process: concurrent and later asks for the same image, desktop or name
//! share its answer (failures included, so a failing read is not repeated either). Beside the cache, the
//! plan: which accounts the resources of this preview would add to each image, and which ECD image names
//! they would take, so that the 51st account and a name taken twice are caught although none of them exists
//! yet.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::OnceCell;

use crate::alicloud::{CallContext, Client, EcdImage, Error};

/// The most accounts one image can be shared with (ECS quota; ModifyImageSharePermission API reference).
pub const SHARES_PER_IMAGE: usize = 50;

/// The answer of one read-only call, once it has come.
type Answer<V> = Arc<OnceCell<Result<V, Error>>>;

/// Answers of read-only calls, one per key for the life of the process.
struct Answers<K, V> {
    cells: Mutex<HashMap<K, Answer<V>>>,
}

impl<K: Eq + Hash, V: Clone> Answers<K, V> {
    fn new() -> Self {
        Answers {
            cells: Mutex::new(HashMap::new()),
        }
    }

    /// The answer for `key`: `fetch`ed by the first caller; the others wait for it and share it.
    async fn get(&self, key: K, fetch: impl AsyncFnOnce() -> Result<V, Error>) -> Result<V, Error> {
        let cell = lock(&self.cells).entry(key).or_default().clone();
        cell.get_or_init(async || fetch().await).await.clone()
    }
}

/// A lock that a panic elsewhere never makes unusable (the data behind it stays consistent: every change is
/// one insert or remove).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Accounts one resource of the program would share an image with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlannedShares {
    /// The accounts whose ids are known.
    pub known: BTreeSet<String>,
    /// How many more accounts the resource adds whose ids are not known until `up` (each counts as one new
    /// account: one that turns out to be shared already is refused by `up` anyway).
    pub unknown: usize,
    /// The resource sets the image's whole list (an `ImageShareList`): the shares it does not list, made
    /// outside this preview, are removed, so they do not count.
    pub whole_list: bool,
}

impl PlannedShares {
    /// One account, known or not.
    pub fn one(account: Option<&str>) -> Self {
        match account {
            Some(a) => PlannedShares {
                known: BTreeSet::from([a.to_string()]),
                unknown: 0,
                whole_list: false,
            },
            None => PlannedShares {
                known: BTreeSet::new(),
                unknown: 1,
                whole_list: false,
            },
        }
    }

    /// The whole share list of an image: `accounts`, or an unknown list (`None`), which counts for nothing.
    pub fn whole_list(accounts: Option<&[String]>) -> Self {
        PlannedShares {
            known: accounts.unwrap_or_default().iter().cloned().collect(),
            unknown: 0,
            whole_list: true,
        }
    }
}

/// How many accounts an image would be shared with after `up`, as the plan stands when it was counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareCount {
    /// Accounts it is shared with now that stay (none when a resource of this preview sets the whole list).
    pub existing: usize,
    /// Whether a resource of this preview sets the image's whole list.
    pub whole_list: bool,
    /// Accounts the resources planned so far add (known accounts not shared yet, plus unknown ones).
    pub added: usize,
    /// How many resources of this preview add them.
    pub resources: usize,
}

impl ShareCount {
    /// Accounts after `up`.
    pub fn total(&self) -> usize {
        self.existing + self.added
    }

    /// Whether that is more than an image can have.
    pub fn exceeds_quota(&self) -> bool {
        self.total() > SHARES_PER_IMAGE
    }
}

/// The cache and the plan of one provider process.
pub struct Preview {
    /// Accounts each image is shared with (`None`: no such image of the caller), by region and image.
    share_walks: Answers<(String, String), Option<Arc<Vec<String>>>>,
    /// Whether each desktop exists, by region and desktop.
    desktops: Answers<(String, String), bool>,
    /// Images that carry each name, by region and name.
    names: Answers<(String, String), Arc<Vec<EcdImage>>>,
    /// By image: the accounts each resource (URN) would add.
    planned_shares: Mutex<HashMap<String, BTreeMap<String, PlannedShares>>>,
    /// By ECD image name: the resource (URN) that would take it.
    planned_names: Mutex<HashMap<String, String>>,
    /// By URN: the id of the resource a replacement would remove.
    replacing: Mutex<HashMap<String, String>>,
}

impl Default for Preview {
    fn default() -> Self {
        Preview {
            share_walks: Answers::new(),
            desktops: Answers::new(),
            names: Answers::new(),
            planned_shares: Mutex::new(HashMap::new()),
            planned_names: Mutex::new(HashMap::new()),
            replacing: Mutex::new(HashMap::new()),
        }
    }
}

impl Preview {
    /// Every account `image_id` is shared with, from one walk of DescribeImageSharePermission per image and
    /// process; `None` when the caller has no such image in the client's region.
    pub async fn shares_of(
        &self,
        client: &Client,
        ctx: &CallContext,
        image_id: &str,
    ) -> Result<Option<Arc<Vec<String>>>, Error> {
        let key = (client.region().to_string(), image_id.to_string());
        self.share_walks
            .get(key, async || {
                Ok(client
                    .list_image_share_accounts_now(ctx, image_id)
                    .await?
                    .map(Arc::new))
            })
            .await
    }

    /// Whether the caller has `desktop_id` in the client's region: one DescribeDesktops per desktop and
    /// process.
    pub async fn desktop_exists(
        &self,
        client: &Client,
        ctx: &CallContext,
        desktop_id: &str,
    ) -> Result<bool, Error> {
        let key = (client.region().to_string(), desktop_id.to_string());
        self.desktops
            .get(key, async || {
                Ok(client
                    .describe_ecd_desktop(ctx, desktop_id)
                    .await?
                    .is_some())
            })
            .await
    }

    /// The ECD images named exactly `name` in the client's region: one DescribeImages walk per name and
    /// process.
    pub async fn images_named(
        &self,
        client: &Client,
        ctx: &CallContext,
        name: &str,
    ) -> Result<Arc<Vec<EcdImage>>, Error> {
        let key = (client.region().to_string(), name.to_string());
        self.names
            .get(key, async || {
                Ok(Arc::new(client.find_ecd_images_by_name(ctx, name).await?))
            })
            .await
    }

    /// Records that the resource `urn` would share `image_id` with `planned` (replacing what it planned
    /// before) and counts, at that moment, the accounts the image would have after `up`: those in
    /// `existing` plus every planned account not among them; when a resource sets the whole list, only the
    /// planned accounts. Resources planned later see this one; so of 51 new accounts on an empty image,
    /// exactly the resource planned last exceeds the quota.
    pub fn plan_shares(
        &self,
        image_id: &str,
        urn: &str,
        planned: PlannedShares,
        existing: &[String],
    ) -> ShareCount {
        let mut all = lock(&self.planned_shares);
        let by_urn = all.entry(image_id.to_string()).or_default();
        by_urn.insert(urn.to_string(), planned);
        let whole_list = by_urn.values().any(|p| p.whole_list);
        let existing: &[String] = if whole_list { &[] } else { existing };
        let known: BTreeSet<&String> = by_urn
            .values()
            .flat_map(|p| &p.known)
            .filter(|a| !existing.contains(a))
            .collect();
        let unknown: usize = by_urn.values().map(|p| p.unknown).sum();
        ShareCount {
            existing: existing.len(),
            whole_list,
            added: known.len() + unknown,
            resources: by_urn.len(),
        }
    }

    /// Forgets what the resource `urn` planned for `image_id` (it will not be created).
    pub fn withdraw_shares(&self, image_id: &str, urn: &str) {
        if let Some(by_urn) = lock(&self.planned_shares).get_mut(image_id) {
            by_urn.remove(urn);
        }
    }

    /// Records that the resource `urn` would make an ECD image named `name`; `Err` with the URN of another
    /// resource of this preview that already would.
    pub fn claim_image_name(&self, name: &str, urn: &str) -> Result<(), String> {
        let mut names = lock(&self.planned_names);
        match names.get(name) {
            Some(other) if other != urn => Err(other.clone()),
            _ => {
                names.insert(name.to_string(), urn.to_string());
                Ok(())
            }
        }
    }

    /// Records that `urn` is being replaced, so that its creation may reuse what the old resource (`old_id`)
    /// holds: with a name kept, the old image is deleted before the new one is made.
    pub fn note_replacement(&self, urn: &str, old_id: &str) {
        lock(&self.replacing).insert(urn.to_string(), old_id.to_string());
    }

    /// The id of the resource that the creation of `urn` replaces, if it is a replacement.
    pub fn replaced(&self, urn: &str) -> Option<String> {
        lock(&self.replacing).get(urn).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts(ids: &[&str]) -> PlannedShares {
        PlannedShares {
            known: ids.iter().map(|a| a.to_string()).collect(),
            unknown: 0,
            whole_list: false,
        }
    }

    #[test]
    fn planned_accounts_count_once_and_not_when_already_shared() {
        let preview = Preview::default();
        let existing = vec!["1".to_string(), "2".to_string()];
        let first = preview.plan_shares("m-1", "urn:a", accounts(&["2", "3"]), &existing);
        assert_eq!((first.existing, first.added, first.total()), (2, 1, 3));
        // Another resource naming an account already planned adds nothing more.
        let second = preview.plan_shares("m-1", "urn:b", accounts(&["3", "4"]), &existing);
        assert_eq!((second.added, second.resources), (2, 2));
        // Planning again for the same resource replaces its plan.
        let again = preview.plan_shares("m-1", "urn:b", accounts(&["4"]), &existing);
        assert_eq!((again.added, again.resources), (2, 2));
        // Unknown accounts count one each; another image has a plan of its own.
        let unknown = PlannedShares {
            known: BTreeSet::new(),
            unknown: 2,
            whole_list: false,
        };
        assert_eq!(
            preview
                .plan_shares("m-1", "urn:c", unknown, &existing)
                .added,
            4
        );
        assert_eq!(
            preview
                .plan_shares("m-2", "urn:a", accounts(&["3"]), &[])
                .added,
            1
        );
        preview.withdraw_shares("m-1", "urn:c");
        assert_eq!(
            preview
                .plan_shares("m-1", "urn:a", accounts(&["2", "3"]), &existing)
                .added,
            2
        );
    }

    #[test]
    fn the_quota_is_exceeded_only_past_fifty() {
        let preview = Preview::default();
        let existing: Vec<String> = (0..45).map(|i| format!("e{i}")).collect();
        let counts: Vec<bool> = (0..6)
            .map(|i| {
                preview
                    .plan_shares(
                        "m-1",
                        &format!("urn:{i}"),
                        accounts(&[&format!("n{i}")]),
                        &existing,
                    )
                    .exceeds_quota()
            })
            .collect();
        assert_eq!(counts, [false, false, false, false, false, true]);
    }

    #[test]
    fn a_whole_list_replaces_the_existing_shares_in_the_count() {
        let preview = Preview::default();
        let existing: Vec<String> = (0..45).map(|i| format!("e{i}")).collect();
        let single = preview.plan_shares("m-1", "urn:one", accounts(&["n1"]), &existing);
        assert_eq!(
            (single.existing, single.total(), single.whole_list),
            (45, 46, false)
        );
        // The list keeps two of the existing accounts and adds one; the others are removed.
        let listed = ["e0".to_string(), "e1".to_string(), "n2".to_string()];
        let list = preview.plan_shares(
            "m-1",
            "urn:list",
            PlannedShares::whole_list(Some(&listed)),
            &existing,
        );
        assert_eq!((list.existing, list.added, list.whole_list), (0, 4, true));
        assert!(!list.exceeds_quota());
        // An account both listed and shared one by one counts once.
        let again = preview.plan_shares("m-1", "urn:two", accounts(&["n2"]), &existing);
        assert_eq!((again.total(), again.resources), (4, 3));
        // A list whose accounts are not known yet counts for nothing, but still replaces the existing.
        let unknown = preview.plan_shares(
            "m-2",
            "urn:list",
            PlannedShares::whole_list(None),
            &existing,
        );
        assert_eq!((unknown.total(), unknown.whole_list), (0, true));
        // Past fifty with the list's accounts and the single shares together.
        let many: Vec<String> = (0..50).map(|i| format!("l{i}")).collect();
        let full = preview.plan_shares(
            "m-3",
            "urn:list",
            PlannedShares::whole_list(Some(&many)),
            &[],
        );
        assert!(!full.exceeds_quota());
        assert!(
            preview
                .plan_shares("m-3", "urn:one", accounts(&["n1"]), &[])
                .exceeds_quota()
        );
    }

    #[test]
    fn a_name_is_claimed_by_one_resource() {
        let preview = Preview::default();
        assert_eq!(preview.claim_image_name("golden", "urn:a"), Ok(()));
        assert_eq!(preview.claim_image_name("golden", "urn:a"), Ok(()));
        assert_eq!(
            preview.claim_image_name("golden", "urn:b"),
            Err("urn:a".to_string())
        );
        assert_eq!(preview.claim_image_name("silver", "urn:b"), Ok(()));
    }

    #[test]
    fn replacements_are_remembered_by_urn() {
        let preview = Preview::default();
        assert_eq!(preview.replaced("urn:a"), None);
        preview.note_replacement("urn:a", "m-old");
        assert_eq!(preview.replaced("urn:a").as_deref(), Some("m-old"));
    }
}
