//! ECS image sharing: ModifyImageSharePermission and DescribeImageSharePermission, one call at a time on
//! [`Client`], or batched by [`EcsShares`].

use std::sync::Arc;
use std::time::Duration;

use crate::batch::{BatchCall, Batcher, in_chunks};
use crate::client::{Client, flatten};
use crate::context::CallContext;
use crate::endpoints::Service;
use crate::error::Error;
use crate::retry::Idempotency;

/// Alibaba takes at most this many accounts in each list (`AddAccount.N`, `RemoveAccount.N`) of one
/// ModifyImageSharePermission call; it ignores the rest (ECS API reference, ModifyImageSharePermission).
///
/// ```
/// assert_eq!(alicloud_openapi::SHARE_ACCOUNTS_PER_CALL, 10);
/// ```
pub const SHARE_ACCOUNTS_PER_CALL: usize = 10;
const ACCOUNTS_PER_CALL: usize = SHARE_ACCOUNTS_PER_CALL;
/// The most accounts one image can be shared with (ECS quota): the most share changes of one image that
/// can be pending at once, so the most that wait for one batch.
const SHARES_PER_IMAGE: usize = 50;
/// The largest DescribeImageSharePermission page.
const PAGE_SIZE: usize = 100;
/// The one code with which the share actions say the image does not exist (ECS API reference,
/// ModifyImageSharePermission and DescribeImageSharePermission). Every other error is an error.
///
/// ```
/// use alicloud_openapi::{ApiError, Error, IMAGE_NOT_FOUND};
///
/// let gone = Error::Api(ApiError {
///     code: "InvalidImageId.NotFound".into(),
///     message: "The specified image does not exist.".into(),
///     request_id: None,
///     http_status: 404,
///     recommend: None,
///     retry_after: None,
/// });
/// assert!(gone.has_code(IMAGE_NOT_FOUND));
/// ```
pub const IMAGE_NOT_FOUND: &[&str] = &["InvalidImageId.NotFound"];

/// Share operations of one image that arrive within this of each other share a call. An orchestrator that
/// starts many operations at once starts them a few milliseconds apart (3–17 ms measured). Only until the
/// batcher knows how many operations its callers run at once does a lone operation wait this long (see
/// `Batcher`).
const SHARE_BATCH_QUIET: Duration = Duration::from_millis(30);
/// The longest a share operation waits for others to join its call while they keep arriving.
const SHARE_BATCH_WINDOW: Duration = Duration::from_millis(500);

/// Everything an image is shared with, from one walk of DescribeImageSharePermission.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageShares {
    /// The accounts, in the order Alibaba lists them.
    pub accounts: Vec<String>,
    /// Whether the image is published as a community image (a share group `all`).
    pub is_public: bool,
}

/// What [`EcsShares::add_new`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareAdded {
    /// The account had no share; now it has.
    Added,
    /// The account already had a share (made by someone else); nothing was changed.
    AlreadyShared,
}

/// Which list of ModifyImageSharePermission a change goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ShareChange {
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

/// Image sharing for many concurrent callers: requests on one image that arrive within a few milliseconds of
/// each other share calls (one walk of the share list, `AddAccount.N`/`RemoveAccount.N` calls of up to 10
/// accounts), and each still gets its own outcome. Cheap to clone; clones share the batches.
///
/// ```no_run
/// # async fn demo(client: alicloud_openapi::Client) -> Result<(), alicloud_openapi::Error> {
/// use std::time::Duration;
/// use alicloud_openapi::{CallContext, EcsShares, ShareAdded};
///
/// let shares = EcsShares::new(client);
/// let ctx = CallContext::detached(Duration::from_secs(60));
/// let (a, b) = tokio::join!(
///     shares.add_new(&ctx, "m-bp1g7004ksh0oeuc6ps1", "1234567890123456"),
///     shares.add_new(&ctx, "m-bp1g7004ksh0oeuc6ps1", "2234567890123456"),
/// );
/// assert_eq!(a?, ShareAdded::Added);
/// b?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct EcsShares {
    inner: Arc<Batches>,
    /// Set by [`EcsShares::unbatched`]: every request makes its own calls, through this client.
    unbatched: Option<Client>,
}

struct Batches {
    adds: Batcher<String, String, Result<ShareAdded, Error>>,
    removes: Batcher<String, String, Result<(), Error>>,
    reads: Batcher<String, (), Option<Vec<String>>>,
}

impl EcsShares {
    /// The same operations, each request making its own calls at once: a walk and an `AddAccount.1` call per
    /// new share, a `RemoveAccount.1` call per removal, a walk per read, concurrent ones concurrently. What a
    /// provider without batching costs, for comparing with [`EcsShares::new`].
    ///
    /// ```
    /// # fn demo(client: alicloud_openapi::Client) {
    /// let shares = alicloud_openapi::EcsShares::unbatched(client);
    /// # let _ = shares;
    /// # }
    /// ```
    pub fn unbatched(client: Client) -> EcsShares {
        EcsShares {
            unbatched: Some(client.clone()),
            ..EcsShares::new(client)
        }
    }

    /// Batched share operations through `client`.
    pub fn new(client: Client) -> EcsShares {
        let adder = client.clone();
        let adds: BatchCall<String, String, Result<ShareAdded, Error>> =
            Arc::new(move |image, accounts, ctx| {
                let client = adder.clone();
                Box::pin(async move { Ok(client.add_new_accounts(&ctx, &image, accounts).await) })
            });
        let remover = client.clone();
        let removes: BatchCall<String, String, Result<(), Error>> =
            Arc::new(move |image, accounts, ctx| {
                let client = remover.clone();
                Box::pin(async move {
                    Ok(client
                        .modify_share(&ctx, &image, ShareChange::Remove, &accounts)
                        .await)
                })
            });
        let reads: BatchCall<String, (), Option<Vec<String>>> =
            Arc::new(move |image, readers, ctx| {
                let client = client.clone();
                Box::pin(async move {
                    let accounts = client.list_image_share_accounts_now(&ctx, &image).await?;
                    Ok(vec![accounts; readers.len()])
                })
            });
        EcsShares {
            inner: Arc::new(Batches {
                // Creates arrive as the program declares resources, not as answers free the engine's
                // slots: the number outstanding says little about how many more are coming.
                adds: Batcher::new(
                    SHARE_BATCH_QUIET,
                    SHARE_BATCH_WINDOW,
                    SHARES_PER_IMAGE,
                    adds,
                )
                .fixed_window(),
                removes: Batcher::new(
                    SHARE_BATCH_QUIET,
                    SHARE_BATCH_WINDOW,
                    SHARES_PER_IMAGE,
                    removes,
                ),
                reads: Batcher::new(SHARE_BATCH_QUIET, SHARE_BATCH_WINDOW, usize::MAX, reads),
            }),
            unbatched: None,
        }
    }

    /// Shares an image with an account that must not have it yet: `AlreadyShared` when it does, so that
    /// a share made by someone else is never taken over. Concurrent requests for one image share one walk of
    /// the share list and `AddAccount.N` calls; when Alibaba refuses a call for one of its accounts (unknown
    /// account, quota), each account is tried alone, so the error is that account's own.
    pub async fn add_new(
        &self,
        ctx: &CallContext,
        image_id: &str,
        account: &str,
    ) -> Result<ShareAdded, Error> {
        if let Some(client) = &self.unbatched {
            let mut one = client
                .add_new_accounts(ctx, image_id, vec![account.to_string()])
                .await;
            return one.pop().unwrap_or(Err(Error::Cancelled));
        }
        self.inner
            .adds
            .submit(image_id.to_string(), account.to_string(), ctx)
            .await
            .and_then(|outcome| outcome)
    }

    /// Stops sharing an image with an account (`RemoveAccount.N`), batched like [`EcsShares::add_new`] with
    /// concurrent removals from the same image.
    pub async fn remove(
        &self,
        ctx: &CallContext,
        image_id: &str,
        account: &str,
    ) -> Result<(), Error> {
        if let Some(client) = &self.unbatched {
            let mut one = client
                .modify_share(ctx, image_id, ShareChange::Remove, &[account.to_string()])
                .await;
            return one.pop().unwrap_or(Err(Error::Cancelled));
        }
        self.inner
            .removes
            .submit(image_id.to_string(), account.to_string(), ctx)
            .await
            .and_then(|outcome| outcome)
    }

    /// Every account an image is shared with; `None` when the image does not exist. Concurrent reads of one
    /// image share one walk of the pages. A walk starts only after every read it answers arrived, so no read
    /// is answered with what was there before it asked.
    pub async fn list(
        &self,
        ctx: &CallContext,
        image_id: &str,
    ) -> Result<Option<Vec<String>>, Error> {
        if let Some(client) = &self.unbatched {
            return client.list_image_share_accounts_now(ctx, image_id).await;
        }
        self.inner.reads.submit(image_id.to_string(), (), ctx).await
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

    /// One batch of [`EcsShares::add_new`]: one walk decides which accounts are already there (reported,
    /// never changed); the others are added. An unknown image is left to ModifyImageSharePermission to
    /// report.
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

    /// Every account an image is shared with, from a walk of all DescribeImageSharePermission pages that
    /// starts now (never one already in flight: after a change, this sees it); `None` when the image does
    /// not exist.
    pub async fn list_image_share_accounts_now(
        &self,
        ctx: &CallContext,
        image_id: &str,
    ) -> Result<Option<Vec<String>>, Error> {
        Ok(self
            .describe_image_shares(ctx, image_id)
            .await?
            .map(|shares| shares.accounts))
    }

    /// Adds and removes accounts of one image in one ModifyImageSharePermission call: at most
    /// [`SHARE_ACCOUNTS_PER_CALL`] in each list (more is refused before anything is sent, since Alibaba
    /// would silently ignore them). Adding an account that has the share, or removing one that has not,
    /// changes nothing.
    ///
    /// ```no_run
    /// # async fn demo(client: alicloud_openapi::Client) -> Result<(), alicloud_openapi::Error> {
    /// use std::time::Duration;
    /// use alicloud_openapi::CallContext;
    ///
    /// let ctx = CallContext::detached(Duration::from_secs(60));
    /// client
    ///     .modify_image_share_accounts(
    ///         &ctx,
    ///         "m-bp1g7004ksh0oeuc6ps1",
    ///         &["1234567890123456".to_string()],
    ///         &["2234567890123456".to_string()],
    ///     )
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn modify_image_share_accounts(
        &self,
        ctx: &CallContext,
        image_id: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), Error> {
        if add.len() > ACCOUNTS_PER_CALL || remove.len() > ACCOUNTS_PER_CALL {
            return Err(Error::Config(format!(
                "one ModifyImageSharePermission call takes at most {ACCOUNTS_PER_CALL} accounts to add and \
                 {ACCOUNTS_PER_CALL} to remove, not {} and {}",
                add.len(),
                remove.len()
            )));
        }
        let mut params = self.image_params(image_id);
        params.extend(flatten(ShareChange::Add.key(), add));
        params.extend(flatten(ShareChange::Remove.key(), remove));
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
    }

    /// Publishes (`true`) or unpublishes (`false`) an image as a community image: ModifyImageSharePermission
    /// with `IsPublic` alone. Alibaba refuses to unpublish an image that is not public (`Image.NotPublic`).
    ///
    /// ```no_run
    /// # async fn demo(client: alicloud_openapi::Client) -> Result<(), alicloud_openapi::Error> {
    /// use std::time::Duration;
    /// use alicloud_openapi::CallContext;
    ///
    /// let ctx = CallContext::detached(Duration::from_secs(60));
    /// client.set_image_public(&ctx, "m-bp1g7004ksh0oeuc6ps1", false).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set_image_public(
        &self,
        ctx: &CallContext,
        image_id: &str,
        public: bool,
    ) -> Result<(), Error> {
        let mut params = self.image_params(image_id);
        params.push(("IsPublic".into(), public.to_string()));
        // Publishing twice leaves it published; unpublishing twice is refused by name, which the caller
        // can tell from a failure.
        self.call(
            Service::Ecs,
            "ModifyImageSharePermission",
            &params,
            Idempotency::Safe,
            ctx,
        )
        .await
        .map(drop)
    }

    /// Every account an image is shared with and whether it is public, from a walk of all
    /// DescribeImageSharePermission pages (of 100) that starts now; `None` when the image does not exist.
    ///
    /// ```no_run
    /// # async fn demo(client: alicloud_openapi::Client) -> Result<(), alicloud_openapi::Error> {
    /// use std::time::Duration;
    /// use alicloud_openapi::CallContext;
    ///
    /// let ctx = CallContext::detached(Duration::from_secs(60));
    /// if let Some(shares) = client.describe_image_shares(&ctx, "m-bp1g7004ksh0oeuc6ps1").await? {
    ///     println!("public: {}, accounts: {:?}", shares.is_public, shares.accounts);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn describe_image_shares(
        &self,
        ctx: &CallContext,
        image_id: &str,
    ) -> Result<Option<ImageShares>, Error> {
        let mut accounts = Vec::new();
        let mut is_public = false;
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
            // A community image has the share group `all` (DescribeImageSharePermission reference:
            // ShareGroups.ShareGroup[].Group, example `all`).
            is_public |= body["ShareGroups"]["ShareGroup"]
                .as_array()
                .is_some_and(|groups| groups.iter().any(|g| g["Group"] == "all"));
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
        Ok(Some(ImageShares {
            accounts,
            is_public,
        }))
    }
}
