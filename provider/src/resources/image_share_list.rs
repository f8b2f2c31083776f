//! `alicloud:ecs:ImageShareList`: the whole share list of one custom ECS image, authoritative.
//! Id: the image id.
//!
//! Every change converges the image on what the program declares, from a walk of the share list made just
//! before: accounts to add and accounts to remove ride in the same ModifyImageSharePermission calls (up to
//! ten of each), so an image's whole list costs one walk and ⌈n/10⌉ calls. `IsPublic` goes in a call of its
//! own (Alibaba refuses it beside account lists), before the account changes when unpublishing (a
//! community image takes no new accounts) and after them when publishing.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Created, Ctx, Lookup, Observed, ResourceError, SETTLE_READ, ShareClaim, Timeouts, TypedResource,
};
use crate::alicloud::{self, CallContext, ImageShares, SHARE_ACCOUNTS_PER_CALL};
use crate::check::{self, Failure};
use crate::preview::{PlannedShares, Preview, SHARES_PER_IMAGE};
use crate::schema::ResourceSpec;
use crate::values::{self, Props};

// Property names for messages; the types below carry the same names, checked against the schema.
const IMAGE_ID: &str = "imageId";
const ACCOUNT_IDS: &str = "accountIds";
const IS_PUBLIC: &str = "isPublic";

/// Alibaba's answer to unpublishing an image that is not public: what unpublishing wanted
/// (ModifyImageSharePermission API reference, error table).
const NOT_PUBLIC: &[&str] = &["Image.NotPublic"];

/// The inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareListArgs {
    /// The image whose share list this is.
    pub image_id: String,
    /// Every account the image is shared with, sorted (Check sorts them).
    pub account_ids: Vec<String>,
    /// Published as a community image (Check fills in the schema's default).
    pub is_public: Option<bool>,
    /// Leave the shares when the resource is destroyed (Check fills in the schema's default).
    pub keep_on_delete: Option<bool>,
}

/// The outputs: the inputs as applied, and the region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareListState {
    /// The image whose share list this is.
    pub image_id: String,
    /// Every account the image is shared with, sorted.
    pub account_ids: Vec<String>,
    /// Published as a community image.
    pub is_public: bool,
    /// Leave the shares when the resource is destroyed.
    pub keep_on_delete: bool,
    /// The region of the image.
    pub region: String,
}

/// What Check and Diff see of the inputs or outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareListView {
    /// The image whose share list this is.
    pub image_id: Option<String>,
    /// Every account the image is shared with.
    pub account_ids: Option<Vec<String>>,
    /// Published as a community image.
    pub is_public: Option<bool>,
    /// Leave the shares when the resource is destroyed.
    pub keep_on_delete: Option<bool>,
    /// The region of the image.
    pub region: Option<String>,
}

/// The share list resource.
pub struct ImageShareList {
    spec: &'static ResourceSpec,
}

/// What a converge reached: the image's share list as applied, and why it stopped short, if it did.
struct Applied {
    accounts: BTreeSet<String>,
    is_public: bool,
    failure: Option<String>,
}

impl ImageShareList {
    /// The resource token.
    pub const TOKEN: &'static str = "alicloud:ecs:ImageShareList";

    /// A resource bound to its schema.
    pub fn new(spec: &'static ResourceSpec) -> Self {
        ImageShareList { spec }
    }

    /// The image's share list now, or an error naming the image when it does not exist.
    async fn walk(ctx: &Ctx<'_>, image_id: &str) -> Result<ImageShares, ResourceError> {
        ctx.client
            .describe_image_shares(&ctx.call, image_id)
            .await?
            .ok_or_else(|| {
                ResourceError::Failed(format!(
                    "there is no image {image_id} in region {} owned by the caller's account (an image of \
                     another region needs a provider configured for that region)",
                    ctx.client.region()
                ))
            })
    }

    /// What a call whose outcome is unknown did: a fresh walk with a short deadline of its own, not stopped
    /// by the operation's cancellation. `None` when even that fails.
    async fn settle(ctx: &Ctx<'_>, image_id: &str) -> Option<ImageShares> {
        ctx.client
            .describe_image_shares(&CallContext::detached(SETTLE_READ), image_id)
            .await
            .ok()
            .flatten()
    }

    /// Makes the image's share list `want` (and public or not) from `found`, the walk made just before.
    /// Stops at the first failure, with what was applied until then. Accounts removed that `declared` (what
    /// the stack declared before) does not list are named in a warning.
    async fn converge(
        ctx: &Ctx<'_>,
        image_id: &str,
        found: ImageShares,
        want: &BTreeSet<String>,
        public: bool,
        declared: &BTreeSet<String>,
    ) -> Applied {
        let mut applied = Applied {
            accounts: found.accounts.into_iter().collect(),
            is_public: found.is_public,
            failure: None,
        };
        let adds: Vec<String> = want.difference(&applied.accounts).cloned().collect();
        let removes: Vec<String> = applied.accounts.difference(want).cloned().collect();
        let undeclared: Vec<&str> = removes
            .iter()
            .filter(|a| !declared.contains(*a))
            .map(String::as_str)
            .collect();
        if !undeclared.is_empty() {
            ctx.progress.warn(format!(
                "unsharing image {image_id} from accounts this stack did not declare (shared outside it): {}",
                undeclared.join(", ")
            ));
        }
        // A community image takes no new accounts: unpublish first.
        if applied.is_public
            && !public
            && let Err(failure) = Self::set_public(ctx, image_id, false, &mut applied).await
        {
            applied.failure = Some(failure);
            return applied;
        }
        let calls = adds
            .len()
            .max(removes.len())
            .div_ceil(SHARE_ACCOUNTS_PER_CALL);
        for call in 0..calls {
            let add = chunk(&adds, call);
            let remove = chunk(&removes, call);
            match ctx
                .client
                .modify_image_share_accounts(&ctx.call, image_id, add, remove)
                .await
            {
                Ok(()) => {
                    applied.accounts.extend(add.iter().cloned());
                    for account in remove {
                        applied.accounts.remove(account);
                    }
                }
                Err(err) => {
                    if err.may_have_taken_effect()
                        && let Some(now) = Self::settle(ctx, image_id).await
                    {
                        applied.accounts = now.accounts.into_iter().collect();
                        applied.is_public = now.is_public;
                    }
                    applied.failure = Some(format!(
                        "could not change the share list of image {image_id} (adding {}, removing {}): {err}",
                        list_or_none(add),
                        list_or_none(remove)
                    ));
                    return applied;
                }
            }
        }
        if public
            && !applied.is_public
            && let Err(failure) = Self::set_public(ctx, image_id, true, &mut applied).await
        {
            applied.failure = Some(failure);
        }
        applied
    }

    /// Publishes or unpublishes the image, recording the outcome in `applied`.
    async fn set_public(
        ctx: &Ctx<'_>,
        image_id: &str,
        public: bool,
        applied: &mut Applied,
    ) -> Result<(), String> {
        match ctx
            .client
            .set_image_public(&ctx.call, image_id, public)
            .await
        {
            Ok(()) => {}
            // Unpublishing an image that is not public: it is as wanted (a retried call whose first answer
            // was lost ends here too).
            Err(err) if !public && err.has_code(NOT_PUBLIC) => {}
            Err(err) => {
                if err.may_have_taken_effect()
                    && let Some(now) = Self::settle(ctx, image_id).await
                {
                    applied.is_public = now.is_public;
                    applied.accounts = now.accounts.into_iter().collect();
                }
                let verb = if public { "publish" } else { "unpublish" };
                return Err(format!(
                    "could not {verb} image {image_id} as a community image: {err}"
                ));
            }
        }
        applied.is_public = public;
        Ok(())
    }

    /// The state for `applied`, or a partial failure that keeps it.
    fn outcome(
        ctx: &Ctx<'_>,
        image_id: &str,
        keep_on_delete: bool,
        applied: Applied,
    ) -> Result<ShareListState, ResourceError> {
        let state = ShareListState {
            image_id: image_id.to_string(),
            account_ids: applied.accounts.into_iter().collect(),
            is_public: applied.is_public,
            keep_on_delete,
            region: ctx.client.region().to_string(),
        };
        match applied.failure {
            None => Ok(state),
            Some(reason) => Err(ResourceError::Partial {
                id: image_id.to_string(),
                outputs: values::encode(&state),
                reason,
            }),
        }
    }
}

/// The `n`th slice of at most [`SHARE_ACCOUNTS_PER_CALL`] accounts (empty past the end).
fn chunk(accounts: &[String], n: usize) -> &[String] {
    let start = (n * SHARE_ACCOUNTS_PER_CALL).min(accounts.len());
    let end = (start + SHARE_ACCOUNTS_PER_CALL).min(accounts.len());
    &accounts[start..end]
}

fn list_or_none(accounts: &[String]) -> String {
    if accounts.is_empty() {
        "none".to_string()
    } else {
        accounts.join(", ")
    }
}

/// Checks an image id as the resource id.
fn parse_id(id: &str) -> Result<&str, ResourceError> {
    match check::id_with_prefix(IMAGE_ID, id, "m-", "m-bp1g7004ksh0oeuc6ps1") {
        None => Ok(id),
        Some(_) => Err(ResourceError::InvalidId(format!(
            "invalid ImageShareList id {id:?}: expected an image id, e.g. m-bp1g7004ksh0oeuc6ps1"
        ))),
    }
}

/// The account ids of a list value, when it is a known list of known strings (secret or not).
fn known_strings(value: &Value) -> Option<Vec<String>> {
    values::reveal(value)
        .as_array()?
        .iter()
        .map(|v| values::reveal(v).as_str().map(str::to_string))
        .collect()
}

#[async_trait]
impl TypedResource for ImageShareList {
    type Args = ShareListArgs;
    type State = ShareListState;
    type View = ShareListView;

    fn spec(&self) -> &ResourceSpec {
        self.spec
    }

    fn timeouts(&self) -> Timeouts {
        Timeouts {
            create: Duration::from_secs(5 * 60),
            read: Duration::from_secs(5 * 60),
            update: Duration::from_secs(5 * 60),
            delete: Duration::from_secs(5 * 60),
        }
    }

    fn normalize(&self, news: &mut Props) {
        // The list is a set: sorted, so that the order of the program's list is no change.
        if let Some(value) = news.get_mut(ACCOUNT_IDS)
            && let Some(mut ids) = known_strings(value)
        {
            ids.sort();
            let sorted = Value::Array(ids.into_iter().map(Value::String).collect());
            *value = if values::is_secret(value) {
                values::secret(sorted)
            } else {
                sorted
            };
        }
    }

    fn share_claim(&self, news: &ShareListView) -> Option<ShareClaim> {
        news.image_id.clone().map(ShareClaim::WholeList)
    }

    fn validate(&self, news: &ShareListView) -> Vec<Failure> {
        let mut failures = Vec::new();
        if let Some(v) = &news.image_id {
            failures.extend(check::id_with_prefix(
                IMAGE_ID,
                v,
                "m-",
                "m-bp1g7004ksh0oeuc6ps1",
            ));
        }
        let Some(accounts) = &news.account_ids else {
            return failures;
        };
        for account in accounts {
            failures.extend(check::account_id(ACCOUNT_IDS, account));
        }
        let mut seen = BTreeSet::new();
        let twice: BTreeSet<&str> = accounts
            .iter()
            .filter(|a| !seen.insert(a.as_str()))
            .map(String::as_str)
            .collect();
        if !twice.is_empty() {
            failures.push(Failure::new(
                ACCOUNT_IDS,
                format!(
                    "'{ACCOUNT_IDS}' lists {} more than once; list each account once",
                    twice.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if accounts.len() > SHARES_PER_IMAGE {
            failures.push(Failure::new(
                ACCOUNT_IDS,
                format!(
                    "'{ACCOUNT_IDS}' lists {} accounts; Alibaba shares an image with at most \
                     {SHARES_PER_IMAGE} accounts",
                    accounts.len()
                ),
            ));
        }
        if news.is_public == Some(true) && !accounts.is_empty() {
            failures.push(Failure::new(
                IS_PUBLIC,
                format!(
                    "a community image ('{IS_PUBLIC}: true') cannot be shared with accounts (Alibaba refuses \
                     to share a community image, which every account in the region can use anyway): leave \
                     '{ACCOUNT_IDS}' empty, or set '{IS_PUBLIC}' to false"
                ),
            ));
        }
        failures
    }

    async fn check_create(
        &self,
        ctx: &Ctx<'_>,
        preview: &Preview,
        news: &ShareListView,
    ) -> Result<(), ResourceError> {
        let Some(image_id) = news.image_id.as_deref() else {
            return Ok(());
        };
        let existing = super::owned_image_shares(ctx, preview, Self::TOKEN, image_id).await?;
        let (token, name) = (Self::TOKEN, ctx.logical_name());
        let accounts = news.account_ids.as_deref();
        if let Some(accounts) = accounts {
            let removed: Vec<&str> = existing
                .iter()
                .filter(|a| !accounts.contains(a))
                .map(String::as_str)
                .collect();
            if !removed.is_empty() {
                ctx.progress.warn(format!(
                    "{token} {name:?} would unshare image {image_id} from accounts it does not list, shared \
                     outside this stack: {}. Add them to accountIds to keep them, or import the list first \
                     (`pulumi import {token} <name> {image_id}`)",
                    removed.join(", ")
                ));
            }
        }
        // Its own accounts are at most 50 (Check); with shares of the same image made one by one in this
        // preview, the two together may not be.
        let count = preview.plan_shares(
            image_id,
            ctx.urn,
            PlannedShares::whole_list(accounts),
            &existing,
        );
        if count.exceeds_quota() {
            preview.withdraw_shares(image_id, ctx.urn);
            return Err(ResourceError::Failed(format!(
                "{token} {name:?}: its accountIds and the ImageSharePermission resources of this preview that \
                 share image {image_id} make {} accounts, beyond Alibaba's limit of {SHARES_PER_IMAGE} \
                 accounts per image (`pulumi up` would fail with QuotaExceed.ShareImageUser). Manage the \
                 image's shares with this list alone",
                count.total()
            )));
        }
        Ok(())
    }

    async fn create(
        &self,
        ctx: &Ctx<'_>,
        args: &ShareListArgs,
    ) -> Result<Created<ShareListState>, ResourceError> {
        let image_id = args.image_id.as_str();
        let found = Self::walk(ctx, image_id).await?;
        let want: BTreeSet<String> = args.account_ids.iter().cloned().collect();
        // Authoritative from the start: shares that exist but are not declared are removed, in the same calls
        // as the adds, with a warning that names them.
        let applied = Self::converge(
            ctx,
            image_id,
            found,
            &want,
            args.is_public.unwrap_or(false),
            &BTreeSet::new(),
        )
        .await;
        let outputs = Self::outcome(ctx, image_id, args.keep_on_delete.unwrap_or(false), applied)?;
        Ok(Created {
            id: image_id.to_string(),
            outputs,
        })
    }

    async fn read(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        state: Option<&ShareListView>,
    ) -> Result<Lookup<ShareListState, ShareListArgs>, ResourceError> {
        let image_id = parse_id(id)?;
        let region = ctx.client.region();
        let Some(found) = ctx
            .client
            .describe_image_shares(&ctx.call, image_id)
            .await?
        else {
            return Ok(Lookup::Missing(format!(
                "the share list {id} does not exist: there is no image {image_id} in region {region} (an \
                 image of another region needs a provider configured for that region)"
            )));
        };
        let mut accounts = found.accounts;
        accounts.sort();
        accounts.dedup();
        // A refresh that finds shares the state does not list: say so, since the next `up` removes them.
        if let Some(known) = state.and_then(|s| s.account_ids.as_ref()) {
            let outside: Vec<&str> = accounts
                .iter()
                .filter(|a| !known.contains(a))
                .map(String::as_str)
                .collect();
            if !outside.is_empty() {
                ctx.progress.warn(format!(
                    "image {image_id} is shared with accounts this stack did not declare (shared outside it): \
                     {}; an ImageShareList owns the whole list, so the next `pulumi up` unshares them unless \
                     the program adds them to `{ACCOUNT_IDS}`",
                    outside.join(", ")
                ));
            }
        }
        // Not something Alibaba knows: the state's value, or the default on import.
        let keep_on_delete = state.and_then(|s| s.keep_on_delete).unwrap_or(false);
        Ok(Lookup::Found(Observed {
            id: image_id.to_string(),
            outputs: ShareListState {
                image_id: image_id.to_string(),
                account_ids: accounts.clone(),
                is_public: found.is_public,
                keep_on_delete,
                region: region.to_string(),
            },
            inputs: ShareListArgs {
                image_id: image_id.to_string(),
                account_ids: accounts,
                is_public: Some(found.is_public),
                keep_on_delete: Some(keep_on_delete),
            },
            unhealthy: None,
        }))
    }

    async fn update(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        olds: &ShareListView,
        news: &ShareListArgs,
    ) -> Result<ShareListState, ResourceError> {
        let image_id = parse_id(id)?;
        let want: BTreeSet<String> = news.account_ids.iter().cloned().collect();
        let public = news.is_public.unwrap_or(false);
        let keep_on_delete = news.keep_on_delete.unwrap_or(false);
        let declared: BTreeSet<String> = olds.account_ids.iter().flatten().cloned().collect();
        // Only `keepOnDelete` changed: nothing to ask Alibaba.
        if olds.is_public == Some(public) && olds.account_ids.is_some() && declared == want {
            return Ok(ShareListState {
                image_id: image_id.to_string(),
                account_ids: want.into_iter().collect(),
                is_public: public,
                keep_on_delete,
                region: ctx.client.region().to_string(),
            });
        }
        // A fresh walk: the list may have changed since the last refresh, and authoritative means the result
        // is what the program declares, whatever was there.
        let found = Self::walk(ctx, image_id).await?;
        let applied = Self::converge(ctx, image_id, found, &want, public, &declared).await;
        Self::outcome(ctx, image_id, keep_on_delete, applied)
    }

    async fn delete(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        state: &ShareListView,
    ) -> Result<(), ResourceError> {
        let image_id = parse_id(id)?;
        if state.keep_on_delete == Some(true) {
            tracing::info!(
                image_id,
                "keepOnDelete: leaving the image's shares as they are"
            );
            return Ok(());
        }
        // What the stack shared, from the state: no walk, ⌈n/10⌉ calls.
        let accounts: Vec<String> = state.account_ids.clone().unwrap_or_default();
        for call in 0..accounts.len().div_ceil(SHARE_ACCOUNTS_PER_CALL) {
            match ctx
                .client
                .modify_image_share_accounts(&ctx.call, image_id, &[], chunk(&accounts, call))
                .await
            {
                Ok(()) => {}
                // The image is gone, and with it every share.
                Err(err) if err.has_code(alicloud::IMAGE_NOT_FOUND) => return Ok(()),
                // Removals are idempotent: the engine keeps the resource, and the next destroy repeats them.
                Err(err) => return Err(err.into()),
            }
        }
        if state.is_public == Some(true) {
            match ctx
                .client
                .set_image_public(&ctx.call, image_id, false)
                .await
            {
                Ok(()) => {}
                Err(err) if err.has_code(NOT_PUBLIC) || err.has_code(alicloud::IMAGE_NOT_FOUND) => {
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_of_ten_and_empty_past_the_end() {
        let accounts: Vec<String> = (0..23).map(|i| i.to_string()).collect();
        assert_eq!(chunk(&accounts, 0).len(), 10);
        assert_eq!(chunk(&accounts, 2), &accounts[20..23]);
        assert!(chunk(&accounts, 3).is_empty());
        assert!(chunk(&[], 0).is_empty());
    }

    #[test]
    fn ids_are_image_ids() {
        assert_eq!(parse_id("m-bp1abc").unwrap(), "m-bp1abc");
        for bad in ["", "x-abc", "m-abc:123"] {
            assert!(parse_id(bad).is_err(), "{bad:?}");
        }
    }
}
