//! `alicloud:ecs:ImageSharePermission`: one custom ECS image shared with one account.
//! Id: `<imageId>:<accountId>`.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{
    Created, Ctx, Lookup, Observed, ResourceError, SETTLE_READ, ShareClaim, Timeouts, TypedResource,
};
use crate::alicloud::{self, CallContext, ShareAdded};
use crate::check::{self, Failure};
use crate::preview::{PlannedShares, Preview, SHARES_PER_IMAGE};
use crate::schema::ResourceSpec;

// Property names for messages; the types below carry the same names, checked against the schema.
const IMAGE_ID: &str = "imageId";
const ACCOUNT_ID: &str = "accountId";

/// The code with which ModifyImageSharePermission refuses an account past that quota (documented, 403).
const QUOTA_EXCEEDED: &[&str] = &["QuotaExceed.ShareImageUser"];

/// A share: its inputs, and its outputs (the same two properties).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Share {
    /// The shared custom image.
    pub image_id: String,
    /// The account it is shared with.
    pub account_id: String,
}

/// What Check and Diff see of a share's inputs or outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareView {
    /// The shared custom image.
    pub image_id: Option<String>,
    /// The account it is shared with.
    pub account_id: Option<String>,
}

/// The image share resource.
pub struct ImageSharePermission {
    spec: &'static ResourceSpec,
}

impl ImageSharePermission {
    /// The resource token.
    pub const TOKEN: &'static str = "alicloud:ecs:ImageSharePermission";

    /// A resource bound to its schema.
    pub fn new(spec: &'static ResourceSpec) -> Self {
        ImageSharePermission { spec }
    }

    /// Whether the share exists; `None` when the image itself is gone. Concurrent reads of one image share
    /// one walk of its share list.
    async fn is_shared(
        ctx: &Ctx<'_>,
        image_id: &str,
        account_id: &str,
    ) -> Result<Option<bool>, ResourceError> {
        let accounts = ctx.shares.list(&ctx.call, image_id).await?;
        Ok(accounts.map(|a| a.iter().any(|a| a == account_id)))
    }

    /// Like [`Self::is_shared`], from a walk that starts now: after a change whose outcome is unknown, an
    /// answer gathered before it is no answer. The walk has a short deadline of its own and is not stopped by
    /// the operation's cancellation: it is how an interrupted change finds out what it did.
    async fn is_shared_now(
        ctx: &Ctx<'_>,
        image_id: &str,
        account_id: &str,
    ) -> Result<Option<bool>, alicloud::Error> {
        let accounts = ctx
            .client
            .list_image_share_accounts_now(&CallContext::detached(SETTLE_READ), image_id)
            .await?;
        Ok(accounts.map(|a| a.iter().any(|a| a == account_id)))
    }

    /// The refusal of a share that exists but is not the stack's.
    fn already_shared(ctx: &Ctx<'_>, image_id: &str, account_id: &str) -> ResourceError {
        ResourceError::Failed(format!(
            "image {image_id} is already shared with account {account_id}, but not by this stack; \
             Pulumi does not take over a share it did not make. To manage it here, import it: \
             `pulumi import {} {} {image_id}:{account_id}`",
            Self::TOKEN,
            ctx.logical_name(),
        ))
    }

    /// The quota refusal in words that say where the image stands and how to make room.
    async fn quota_exceeded(
        ctx: &Ctx<'_>,
        image_id: &str,
        account_id: &str,
        err: &alicloud::Error,
    ) -> ResourceError {
        let now = match ctx
            .client
            .list_image_share_accounts_now(&CallContext::detached(SETTLE_READ), image_id)
            .await
        {
            Ok(Some(accounts)) => format!("is shared with {} accounts now", accounts.len()),
            _ => "could not be counted just now".to_string(),
        };
        ResourceError::Failed(format!(
            "cannot share image {image_id} with account {account_id} in region {}: the image {now}, and \
             Alibaba allows at most {SHARES_PER_IMAGE} accounts per image ({err}). Remove a share of this image \
             first. In one `pulumi up` the engine deletes removed resources only after the program's creates, \
             so to swap one account for another, first remove the old share (`pulumi destroy --target <urn of \
             the old share>`, or an `up` without it) and then add the new one",
            ctx.client.region()
        ))
    }
}

/// Splits `<imageId>:<accountId>`.
pub fn parse_id(id: &str) -> Result<(&str, &str), ResourceError> {
    match id.split_once(':') {
        Some((image, account))
            if check::id_with_prefix(IMAGE_ID, image, "m-", "m-x").is_none()
                && check::account_id(ACCOUNT_ID, account).is_none() =>
        {
            Ok((image, account))
        }
        _ => Err(ResourceError::InvalidId(format!(
            "invalid ImageSharePermission id {id:?}: expected <imageId>:<accountId>, \
             e.g. m-bp1g7004ksh0oeuc6ps1:1234567890123456"
        ))),
    }
}

#[async_trait]
impl TypedResource for ImageSharePermission {
    type Args = Share;
    type State = Share;
    type View = ShareView;

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

    fn share_claim(&self, news: &ShareView) -> Option<ShareClaim> {
        news.image_id.clone().map(ShareClaim::OneAccount)
    }

    fn validate(&self, news: &ShareView) -> Vec<Failure> {
        let mut failures = Vec::new();
        if let Some(v) = &news.image_id {
            failures.extend(check::id_with_prefix(
                IMAGE_ID,
                v,
                "m-",
                "m-bp1g7004ksh0oeuc6ps1",
            ));
        }
        if let Some(v) = &news.account_id {
            failures.extend(check::account_id(ACCOUNT_ID, v));
        }
        failures
    }

    async fn check_create(
        &self,
        ctx: &Ctx<'_>,
        preview: &Preview,
        news: &ShareView,
    ) -> Result<(), ResourceError> {
        // Every check is about the image: while it is unknown, there is nothing to ask.
        let Some(image_id) = news.image_id.as_deref() else {
            return Ok(());
        };
        let account_id = news.account_id.as_deref();
        let existing = super::owned_image_shares(ctx, preview, Self::TOKEN, image_id).await?;
        let (token, name) = (Self::TOKEN, ctx.logical_name());
        if let Some(account) = account_id.filter(|a| existing.iter().any(|e| e == a)) {
            return Err(Self::already_shared(ctx, image_id, account));
        }
        let count =
            preview.plan_shares(image_id, ctx.urn, PlannedShares::one(account_id), &existing);
        if count.exceeds_quota() {
            preview.withdraw_shares(image_id, ctx.urn);
            let account = account_id.map_or_else(
                || "an account not known until `pulumi up`".to_string(),
                |a| format!("account {a}"),
            );
            let counted = if count.whole_list {
                format!(
                    "an ImageShareList of this preview sets the image's share list, and the shares of it \
                     this preview would create make that {} accounts (counting both",
                    count.total()
                )
            } else {
                format!(
                    "the image is shared with {} accounts now, and the shares of it this preview would \
                     create add {} more ({} in all",
                    count.existing,
                    count.added,
                    count.total()
                )
            };
            return Err(ResourceError::Failed(format!(
                "{token} {name:?}: sharing image {image_id} with {account} would exceed Alibaba's limit of \
                 {SHARES_PER_IMAGE} accounts per image: {counted}; `pulumi up` would fail with \
                 QuotaExceed.ShareImageUser). Share the image with fewer accounts: remove shares of it \
                 from the program, or remove existing shares of it first",
            )));
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx<'_>, share: &Share) -> Result<Created<Share>, ResourceError> {
        let (image_id, account_id) = (share.image_id.as_str(), share.account_id.as_str());
        let id = format!("{image_id}:{account_id}");
        match ctx.shares.add_new(&ctx.call, image_id, account_id).await {
            Ok(ShareAdded::Added) => {}
            // A share made outside this stack is not ours to take: destroying the stack would revoke it.
            Ok(ShareAdded::AlreadyShared) => {
                return Err(Self::already_shared(ctx, image_id, account_id));
            }
            // The add may have taken effect before it failed (a dropped connection, retries spent); the share
            // did not exist before it, so if it exists now, this add made it.
            Err(err)
                if err.may_have_taken_effect()
                    && Self::is_shared_now(ctx, image_id, account_id)
                        .await
                        .ok()
                        .flatten()
                        == Some(true) =>
            {
                tracing::info!(image_id, account_id, error = %err, "share exists although the call reported an error");
            }
            Err(err) if err.has_code(QUOTA_EXCEEDED) => {
                return Err(Self::quota_exceeded(ctx, image_id, account_id, &err).await);
            }
            Err(err) => return Err(err.into()),
        }
        Ok(Created {
            id,
            outputs: share.clone(),
        })
    }

    async fn read(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        _state: Option<&ShareView>,
    ) -> Result<Lookup<Share, Share>, ResourceError> {
        let (image_id, account_id) = parse_id(id)?;
        let region = ctx.client.region();
        Ok(match Self::is_shared(ctx, image_id, account_id).await? {
            Some(true) => {
                let share = Share {
                    image_id: image_id.to_string(),
                    account_id: account_id.to_string(),
                };
                Lookup::Found(Observed {
                    id: id.to_string(),
                    outputs: share.clone(),
                    inputs: share,
                    unhealthy: None,
                })
            }
            Some(false) => Lookup::Missing(format!(
                "the share {id} does not exist: image {image_id} is not shared with account {account_id} \
                 in region {region}"
            )),
            None => Lookup::Missing(format!(
                "the share {id} does not exist: there is no image {image_id} in region {region} (an image \
                 of another region needs a provider configured for that region)"
            )),
        })
    }

    async fn update(
        &self,
        _ctx: &Ctx<'_>,
        id: &str,
        _olds: &ShareView,
        _news: &Share,
    ) -> Result<Share, ResourceError> {
        // Every input replaces the resource, so the engine never asks for an update.
        Err(ResourceError::Failed(format!(
            "ImageSharePermission {id} cannot be updated in place; its inputs force a replacement"
        )))
    }

    async fn delete(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        _state: &ShareView,
    ) -> Result<(), ResourceError> {
        let (image_id, account_id) = parse_id(id)?;
        match ctx.shares.remove(&ctx.call, image_id, account_id).await {
            Ok(()) => Ok(()),
            // The image itself is gone, and with it every share.
            Err(err) if err.has_code(alicloud::IMAGE_NOT_FOUND) => Ok(()),
            Err(err) => match Self::is_shared_now(ctx, image_id, account_id).await {
                Ok(Some(true)) | Err(_) => Err(err.into()),
                // The share (or the whole image) is gone: that is what delete wanted.
                Ok(Some(false) | None) => Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse() {
        assert_eq!(parse_id("m-bp1abc:123").unwrap(), ("m-bp1abc", "123"));
        for bad in [
            "",
            "m-abc",
            "m-abc:",
            ":123",
            "m-abc:12a",
            "x-abc:123",
            "m-abc:123:4",
        ] {
            let err = parse_id(bad).unwrap_err();
            assert!(
                err.to_string().contains("<imageId>:<accountId>"),
                "{bad:?}: {err}"
            );
        }
    }
}
