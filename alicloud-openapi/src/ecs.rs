//! ECS image sharing: ModifyImageSharePermission and DescribeImageSharePermission.

use serde_json::Value;

use std::sync::Arc;

use super::batch::BatchCall;
use super::client::flatten;
use super::{CallContext, Client, Error, Idempotency, Service};

/// Alibaba takes at most this many accounts in one ModifyImageSharePermission call.
pub(crate) const ACCOUNTS_PER_CALL: usize = 10;
/// The largest DescribeImageSharePermission page.
const PAGE_SIZE: usize = 100;
/// The one code with which the share actions say the image does not exist (ECS API reference,
/// ModifyImageSharePermission and DescribeImageSharePermission). Every other error is an error.
pub const IMAGE_NOT_FOUND: &[&str] = &["InvalidImageId.NotFound"];

/// What [`Client::add_new_image_share_account`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareAdded {
    /// The account had no share; now it has.
    Added,
    /// The account already had a share (made by someone else); nothing was changed.
    AlreadyShared,
}

/// Which list of ModifyImageSharePermission a change goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ShareChange {
    Add,
    Remove,
}

impl ShareChange {
    fn key(self) -> &'static str {
        match self {
            ShareChange::Add => "AddAccount",
            ShareChange::Remove => "RemoveAccount",
        }
    }
}

impl Client {
    fn image_params(&self, image_id: &str) -> Vec<(String, String)> {
        vec![
            ("RegionId".into(), self.region().into()),
            ("ImageId".into(), image_id.into()),
        ]
    }

    async fn modify_share(
        &self,
        ctx: &CallContext,
        image_id: &str,
        change: ShareChange,
        accounts: &[String],
    ) -> Result<(), Error> {
        for chunk in accounts.chunks(ACCOUNTS_PER_CALL) {
            let mut params = self.image_params(image_id);
            params.extend(flatten(change.key(), chunk));
            // Adding or removing the same accounts twice leaves the same shares.
            self.call(
                Service::Ecs,
                "ModifyImageSharePermission",
                &params,
                Idempotency::Safe,
                ctx,
            )
            .await?;
        }
        Ok(())
    }

    /// Shares an image with an account that must not have it yet: `AlreadyShared` when it does, so that
    /// a share made by someone else is never taken over. Concurrent requests for one image arriving within a
    /// few milliseconds share one walk of the share list and one `AddAccount.N` call (up to 10 accounts);
    /// when Alibaba refuses the batch for one of its accounts (unknown account, quota), each account is
    /// tried alone, so the error is that account's own.
    pub async fn add_new_image_share_account(
        &self,
        ctx: &CallContext,
        image_id: &str,
        account: &str,
    ) -> Result<ShareAdded, Error> {
        let client = self.clone();
        let call: BatchCall<String, String, ShareAdded> = Arc::new(move |image, accounts, ctx| {
            let client = client.clone();
            Box::pin(async move { client.add_new_accounts(&ctx, &image, accounts).await })
        });
        self.share_adds()
            .submit(image_id.to_string(), account.to_string(), ctx, call)
            .await
    }

    /// One batch of [`Client::add_new_image_share_account`]: the accounts already there are reported, the
    /// others added in one call. An unknown image is left to ModifyImageSharePermission to report.
    async fn add_new_accounts(
        &self,
        ctx: &CallContext,
        image_id: &str,
        accounts: Vec<String>,
    ) -> Result<Vec<ShareAdded>, Error> {
        let present = self
            .list_image_share_accounts_now(ctx, image_id)
            .await
            .map_err(|e| Error::BeforeChange(Box::new(e)))?
            .unwrap_or_default();
        let outcomes: Vec<ShareAdded> = accounts
            .iter()
            .map(|a| {
                if present.contains(a) {
                    ShareAdded::AlreadyShared
                } else {
                    ShareAdded::Added
                }
            })
            .collect();
        let new: Vec<String> = accounts
            .into_iter()
            .zip(&outcomes)
            .filter(|(_, o)| **o == ShareAdded::Added)
            .map(|(a, _)| a)
            .collect();
        if !new.is_empty() {
            self.modify_share(ctx, image_id, ShareChange::Add, &new)
                .await?;
        }
        Ok(outcomes)
    }

    /// Stops sharing an image with an account (`RemoveAccount.N`), batched like
    /// [`Client::add_new_image_share_account`] with concurrent removals from the same image.
    pub async fn remove_image_share_account(
        &self,
        ctx: &CallContext,
        image_id: &str,
        account: &str,
    ) -> Result<(), Error> {
        let client = self.clone();
        let call: BatchCall<String, String> = Arc::new(move |image, accounts, ctx| {
            let client = client.clone();
            Box::pin(async move {
                client
                    .modify_share(&ctx, &image, ShareChange::Remove, &accounts)
                    .await
                    .map(|()| vec![(); accounts.len()])
            })
        });
        self.share_removes()
            .submit(image_id.to_string(), account.to_string(), ctx, call)
            .await
    }

    /// Every account an image is shared with; `None` when the image does not exist. Concurrent reads of one
    /// image share one walk of the pages; a read that arrives after a walk ended starts a new one.
    pub async fn list_image_share_accounts(
        &self,
        ctx: &CallContext,
        image_id: &str,
    ) -> Result<Option<Vec<String>>, Error> {
        self.share_reads()
            .run(image_id.to_string(), || {
                self.list_image_share_accounts_now(ctx, image_id)
            })
            .await
    }

    /// Every account an image is shared with, from a walk of all DescribeImageSharePermission pages that
    /// starts now (never one already in flight: after a change, this sees it); `None` when the image does
    /// not exist.
    pub async fn list_image_share_accounts_now(
        &self,
        ctx: &CallContext,
        image_id: &str,
    ) -> Result<Option<Vec<String>>, Error> {
        let mut accounts = Vec::new();
        for page in 1.. {
            let mut params = self.image_params(image_id);
            params.push(("PageNumber".into(), page.to_string()));
            params.push(("PageSize".into(), PAGE_SIZE.to_string()));
            let body = match self
                .call(
                    Service::Ecs,
                    "DescribeImageSharePermission",
                    &params,
                    Idempotency::Safe,
                    ctx,
                )
                .await
            {
                Ok(body) => body,
                Err(err) if err.has_code(IMAGE_NOT_FOUND) => return Ok(None),
                Err(err) => return Err(err),
            };
            let listed = body["Accounts"]["Account"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let total = body["TotalCount"].as_u64().ok_or_else(|| {
                Error::InvalidResponse(format!(
                    "DescribeImageSharePermission without TotalCount: {body}"
                ))
            })?;
            accounts.extend(listed.iter().filter_map(|a| {
                a["AliyunId"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| a["AliyunId"].as_u64().map(|n| n.to_string()))
            }));
            if listed.is_empty() || accounts.len() as u64 >= total {
                break;
            }
        }
        Ok(Some(accounts))
    }
}

/// Reads an image id from an answer.
pub(crate) fn string_field(body: &Value, key: &str, action: &str) -> Result<String, Error> {
    body[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::InvalidResponse(format!("{action} answered without {key}: {body}")))
}
