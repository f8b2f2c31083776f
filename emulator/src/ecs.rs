//! ECS 2014-05-26: ModifyImageSharePermission and DescribeImageSharePermission.

use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::model::{EcsImage, Share, World, now_rfc3339};
use crate::params::Params;

/// Accounts one image can be shared with (Alibaba's documented quota).
pub const MAX_SHARES: usize = 50;
/// Account entries one call processes: `AddAccount.1`..`AddAccount.10`; higher N are ignored, as documented.
pub const ACCOUNTS_PER_CALL: usize = 10;

pub(crate) fn region<'a>(world: &World, params: &'a Params) -> Result<&'a str, ApiError> {
    let region = params.require("RegionId")?;
    if world.regions.iter().any(|r| r == region) {
        Ok(region)
    } else {
        Err(ApiError::new(
            404,
            "InvalidRegionId.NotFound",
            format!("The specified RegionId {region} does not exist."),
        ))
    }
}

/// The caller's own custom image; someone else's is as invisible as a missing one.
fn own_image<'a>(
    world: &'a mut World,
    caller: &Caller,
    params: &Params,
) -> Result<&'a mut EcsImage, ApiError> {
    let region = region(world, params)?.to_string();
    let image_id = params.require("ImageId")?.to_string();
    world
        .ecs_images
        .iter_mut()
        .find(|i| {
            i.region_id == region && i.image_id == image_id && i.owner_id == caller.account_id
        })
        .ok_or_else(|| {
            ApiError::new(
                404,
                "InvalidImageId.NotFound",
                format!("The specified ImageId {image_id} does not exist."),
            )
        })
}

/// Whether `id` looks like an Alibaba account id: 1 to 20 digits.
pub(crate) fn well_formed_account(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

fn accounts(params: &Params, key: &str) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for (n, account) in params.list(key)? {
        if n > ACCOUNTS_PER_CALL {
            continue;
        }
        if !well_formed_account(&account) {
            return Err(ApiError::new(
                400,
                "InvalidAccount.Malformed",
                format!("The specified parameter {key}.{n} is not a valid account id: {account}"),
            ));
        }
        if !out.contains(&account) {
            out.push(account);
        }
    }
    Ok(out)
}

/// ModifyImageSharePermission: adds and removes accounts. Adding an account already shared with and
/// removing one not shared with change nothing and succeed; naming an account that does not exist (in
/// either list) or the owner (in `AddAccount`) fails the whole call, and nothing changes.
pub fn modify_image_share_permission(
    world: &mut World,
    caller: &Caller,
    params: &Params,
) -> Result<Value, ApiError> {
    let add = accounts(params, "AddAccount")?;
    let remove = accounts(params, "RemoveAccount")?;
    let owner = caller.account_id.clone();
    if let Some(unknown) = add
        .iter()
        .chain(&remove)
        .find(|a| !world.account_exists(a))
        .cloned()
    {
        // The image is looked up first: an unknown image is reported as such.
        own_image(world, caller, params)?;
        return Err(ApiError::new(
            404,
            "InvalidAccount.NotFound",
            format!(
                "The specified account {unknown} in parameter \"AddAccount.n\" or \"RemoveAccount.n\" does not exist."
            ),
        ));
    }
    let image = own_image(world, caller, params)?;
    if add.contains(&owner) {
        return Err(ApiError::new(
            404,
            "InvalidAccount.Forbbiden",
            "The specified Account does not yourself.",
        ));
    }
    let mut next: Vec<Share> = image
        .shared_with
        .iter()
        .filter(|s| !remove.contains(&s.account_id))
        .cloned()
        .collect();
    for account in add.iter().filter(|a| !remove.contains(a)) {
        if !next.iter().any(|s| &s.account_id == account) {
            next.push(Share {
                account_id: account.clone(),
                shared_time: now_rfc3339(),
            });
        }
    }
    if next.len() > MAX_SHARES {
        return Err(ApiError::new(
            403,
            "QuotaExceed.ShareImageUser",
            format!(
                "The image {} would be shared with {} accounts; an image can be shared with at most {MAX_SHARES} accounts.",
                image.image_id,
                next.len()
            ),
        ));
    }
    image.shared_with = next;
    Ok(json!({}))
}

/// DescribeImageSharePermission: one page of the accounts an image is shared with.
pub fn describe_image_share_permission(
    world: &mut World,
    caller: &Caller,
    params: &Params,
) -> Result<Value, ApiError> {
    let page_number = params.int("PageNumber", 1, 1, 1_000_000)?;
    let page_size = params.int("PageSize", 10, 1, 100)?;
    let image = own_image(world, caller, params)?;
    let start = ((page_number - 1) * page_size) as usize;
    let page: Vec<Value> = image
        .shared_with
        .iter()
        .skip(start)
        .take(page_size as usize)
        .map(|s| json!({"AliyunId": s.account_id, "SharedTime": s.shared_time}))
        .collect();
    Ok(json!({
        "RegionId": image.region_id,
        "ImageId": image.image_id,
        "TotalCount": image.shared_with.len(),
        "PageNumber": page_number,
        "PageSize": page_size,
        "ShareGroups": {"ShareGroup": []},
        "Accounts": {"Account": page},
    }))
}
