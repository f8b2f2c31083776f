//! ECS image sharing: ModifyImageSharePermission and DescribeImageSharePermission.

use serde_json::Value;

use std::sync::Arc;

use super::batch::{BatchCall, in_chunks};
use super::client::flatten;
use super::{CallContext, Client, Error, Idempotency, Service};

/// Alibaba takes at most this many accounts in one ModifyImageSharePermission call.
const ACCOUNTS_PER_CALL: usize = 10;
/// The most accounts one image can be shared with (ECS quota): the most share changes of one image that
/// can be pending at once, so the most that wait for one batch.
pub(crate) const SHARES_PER_IMAGE: usize = 50;
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

    /// Adds or removes `accounts`, at most [`ACCOUNTS_PER_CALL`] per call, each account with its own
    /// outcome: a call refused for one account's sake is repeated for each account alone.
    async fn modify_share(
        &self,
        ctx: &CallContext,
        image_id: &str,
        change: ShareChange,
        accounts: &[String],
    ) -> Vec<Result<(), Error>> {
        in_chunks(
            accounts,
            ACCOUNTS_PER_CALL,
            IMAGE_NOT_FOUND,
            |chunk| async move {
                let mut params = self.image_params(image_id);
                params.extend(flatten(change.key(), &chunk));
                // Adding or removing the same accounts twice leaves the same shares.
                self.call(
                    Service::Ecs,
                    "ModifyImageSharePermission",
                    &params,
                    Idempotency::Safe,
                    ctx,
                )
                .await
                .map(drop)
            },
        )
        .await
    }

    /// Shares an image with an account that must not have it yet: `AlreadyShared` when it does, so that
    /// a share made by someone else is never taken over. Concurrent requests for one image arriving within a
    /// few milliseconds share one walk of the share list and `AddAccount.N` calls of up to 10 accounts; when
    /// Alibaba refuses a call for one of its accounts (unknown account, quota), each account is tried alone,
    /// so the error is that account's own.
    pub async fn add_new_image_share_account(
        &self,
        ctx: &CallContext,
        image_id: &str,
        account: &str,
    ) -> Result<ShareAdded, Error> {
        let client = self.clone();
        let call: BatchCall<String, String, Result<ShareAdded, Error>> =
            Arc::new(move |image, accounts, ctx| {
                let client = client.clone();
                Box::pin(async move { Ok(client.add_new_accounts(&ctx, &image, accounts).await) })
            });
        self.share_adds()
            .submit(image_id.to_string(), account.to_string(), ctx, call)
            .await
            .and_then(|outcome| outcome)
    }

    /// One batch of [`Client::add_new_image_share_account`]: one walk decides which accounts are already
    /// there (reported, never changed); the others are added. An unknown image is left to
    /// ModifyImageSharePermission to report.
    async fn add_new_accounts(
        &self,
        ctx: &CallContext,
        image_id: &str,
        accounts: Vec<String>,
    ) -> Vec<Result<ShareAdded, Error>> {
        let present = match self.list_image_share_accounts_now(ctx, image_id).await {
            Ok(present) => present.unwrap_or_default(),
            Err(err) => {
                let err = Error::BeforeChange(Box::new(err));
                return accounts.iter().map(|_| Err(err.clone())).collect();
            }
        };
        let (shared, new): (Vec<usize>, Vec<usize>) =
            (0..accounts.len()).partition(|&i| present.contains(&accounts[i]));
        let mut outcomes: Vec<Result<ShareAdded, Error>> =
            accounts.iter().map(|_| Ok(ShareAdded::Added)).collect();
        for i in shared {
            outcomes[i] = Ok(ShareAdded::AlreadyShared);
        }
        let names: Vec<String> = new.iter().map(|&i| accounts[i].clone()).collect();
        let added = self
            .modify_share(ctx, image_id, ShareChange::Add, &names)
            .await;
        for (i, result) in new.into_iter().zip(added) {
            if let Err(err) = result {
                outcomes[i] = Err(err);
            }
        }
        outcomes
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
        let call: BatchCall<String, String, Result<(), Error>> =
            Arc::new(move |image, accounts, ctx| {
                let client = client.clone();
                Box::pin(async move {
                    Ok(client
                        .modify_share(&ctx, &image, ShareChange::Remove, &accounts)
                        .await)
                })
            });
        self.share_removes()
            .submit(image_id.to_string(), account.to_string(), ctx, call)
            .await
            .and_then(|outcome| outcome)
    }

    /// Every account an image is shared with; `None` when the image does not exist. Reads of one image
    /// arriving within a few milliseconds of each other share one walk of the pages. A walk starts only
    /// after every read it answers arrived, so no read is answered with what was there before it asked.
    pub async fn list_image_share_accounts(
        &self,
        ctx: &CallContext,
        image_id: &str,
    ) -> Result<Option<Vec<String>>, Error> {
        let client = self.clone();
        let call: BatchCall<String, (), Option<Vec<String>>> =
            Arc::new(move |image, readers, ctx| {
                let client = client.clone();
                Box::pin(async move {
                    let accounts = client.list_image_share_accounts_now(&ctx, &image).await?;
                    Ok(vec![accounts; readers.len()])
                })
            });
        self.share_reads()
            .submit(image_id.to_string(), (), ctx, call)
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
