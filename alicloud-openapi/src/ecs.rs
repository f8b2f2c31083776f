//! ECS image sharing: ModifyImageSharePermission and DescribeImageSharePermission.

use serde_json::Value;

use super::client::flatten;
use super::{CallContext, Client, Error, Idempotency, Service};

/// Alibaba takes at most this many accounts in one ModifyImageSharePermission call.
const ACCOUNTS_PER_CALL: usize = 10;
/// The largest DescribeImageSharePermission page.
const PAGE_SIZE: usize = 100;
/// The one code with which the share actions say the image does not exist (ECS API reference,
/// ModifyImageSharePermission and DescribeImageSharePermission). Every other error is an error.
pub const IMAGE_NOT_FOUND: &[&str] = &["InvalidImageId.NotFound"];

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
        key: &str,
        accounts: &[String],
    ) -> Result<(), Error> {
        for chunk in accounts.chunks(ACCOUNTS_PER_CALL) {
            let mut params = self.image_params(image_id);
            params.extend(flatten(key, chunk));
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

    /// Shares an image with accounts (`AddAccount.N`, at most 10 per call).
    pub async fn add_image_share_accounts(
        &self,
        ctx: &CallContext,
        image_id: &str,
        accounts: &[String],
    ) -> Result<(), Error> {
        self.modify_share(ctx, image_id, "AddAccount", accounts)
            .await
    }

    /// Stops sharing an image with accounts (`RemoveAccount.N`, at most 10 per call).
    pub async fn remove_image_share_accounts(
        &self,
        ctx: &CallContext,
        image_id: &str,
        accounts: &[String],
    ) -> Result<(), Error> {
        self.modify_share(ctx, image_id, "RemoveAccount", accounts)
            .await
    }

    /// Every account an image is shared with, paging through all of DescribeImageSharePermission;
    /// `None` when the image does not exist.
    pub async fn list_image_share_accounts(
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
