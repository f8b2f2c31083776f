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

/// `IsPublic` as sent: `None` when absent. Sources: [ECS-MISP] below.
fn is_public(params: &Params) -> Result<Option<bool>, ApiError> {
    match params.get("IsPublic") {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        // Assumed: the reference types IsPublic as a boolean; another value is a malformed parameter.
        Some(other) => Err(ApiError::new(
            400,
            "InvalidParameter",
            format!("The specified parameter IsPublic is not a boolean: {other}"),
        )),
    }
}

/// ModifyImageSharePermission: adds and removes accounts, or publishes or unpublishes a community image.
/// Adding an account already shared with and removing one not shared with change nothing and succeed;
/// naming an account that does not exist (in either list) or the owner (in `AddAccount`) fails the whole
/// call, and nothing changes.
///
/// Source of every rule below, unless marked assumed: [ECS-MISP], the ModifyImageSharePermission API
/// reference (alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-modifyimagesharepermission,
/// change history to 2025-04-29): its parameter table (`IsPublic` boolean, "true: publishes the custom image
/// as a community image; false: unpublishes a community image", `LaunchPermission` "in invitational preview
/// and is not publicly available"), its usage notes ("You cannot publish encrypted images as community
/// images", "You cannot share, export, or copy community images", "If an image is shared to other Alibaba
/// Cloud accounts before it is unpublished, the image remains available to the accounts") and its error table.
pub fn modify_image_share_permission(
    world: &mut World,
    caller: &Caller,
    params: &Params,
) -> Result<Value, ApiError> {
    let add = accounts(params, "AddAccount")?;
    let remove = accounts(params, "RemoveAccount")?;
    let publish = is_public(params)?;
    if params.get("LaunchPermission").is_some() {
        // [ECS-MISP] error table: UnnecessaryParameter.LaunchPermission (400) when account lists are given
        // too; ForbiddenParameter.LaunchPermission (400) "forbidden for current account" otherwise. That
        // every account here is outside the invitational preview: assumed.
        return Err(if add.is_empty() && remove.is_empty() {
            ApiError::new(
                400,
                "ForbiddenParameter.LaunchPermission",
                "The specified parameter \"LaunchPermission\" is forbidden for current account.",
            )
        } else {
            ApiError::new(
                400,
                "UnnecessaryParameter.LaunchPermission",
                "The specified parameter \"LaunchPermission\" is unnecessary if paramter \"AddAccounts\" or \"RemoveAccounts\" exist.",
            )
        });
    }
    if publish.is_some() && !(add.is_empty() && remove.is_empty()) {
        // [ECS-MISP] error table: InvalidParameter.IsPublic (403) "conflicted with other parameters". That
        // the account lists are those parameters: assumed.
        return Err(ApiError::new(
            403,
            "InvalidParameter.IsPublic",
            "The specified parameter IsPublic is conflicted with other parameters.",
        ));
    }
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
    let unsigned = world.community_terms_unsigned.contains(&owner);
    let region_refuses = world
        .regions_without_community_images
        .iter()
        .any(|r| Some(r.as_str()) == params.get("RegionId"));
    let image = own_image(world, caller, params)?;
    if let Some(publish) = publish {
        return set_public(image, publish, unsigned, region_refuses);
    }
    if add.contains(&owner) {
        return Err(ApiError::new(
            404,
            "InvalidAccount.Forbbiden",
            "The specified Account does not yourself.",
        ));
    }
    if !add.is_empty() && image.encrypted {
        // [ECS-MISP] error table: OperationDeined.EncryptedSnapshot (403, Alibaba's spelling).
        return Err(encrypted());
    }
    if !add.is_empty() && image.is_public {
        // [ECS-MISP]: community images cannot be shared; Image.Public (403) "The specified image is public
        // image." That this code is the refusal of a share: assumed. Removing accounts from a community
        // image (shares made before it was published) is allowed: assumed.
        return Err(ApiError::new(
            403,
            "Image.Public",
            "The specified image is public image.",
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

fn encrypted() -> ApiError {
    ApiError::new(
        403,
        "OperationDeined.EncryptedSnapshot",
        "The image contains encrypted snapshots, which do not support share.",
    )
}

/// Publishes (`IsPublic=true`) or unpublishes (`false`) a community image; shares are kept either way
/// ([ECS-MISP] usage notes).
fn set_public(
    image: &mut EcsImage,
    publish: bool,
    terms_unsigned: bool,
    region_refuses: bool,
) -> Result<Value, ApiError> {
    if !publish {
        if !image.is_public {
            // [ECS-MISP] error table: Image.NotPublic (403), "not published as a community image and cannot
            // be unpublished".
            return Err(ApiError::new(
                403,
                "Image.NotPublic",
                "The specified image is not public image.",
            ));
        }
        image.is_public = false;
        return Ok(json!({}));
    }
    if region_refuses {
        // [ECS-MISP] error table: CurrentRegion.NotSupportPublicImage (403).
        return Err(ApiError::new(
            403,
            "CurrentRegion.NotSupportPublicImage",
            "Public image is not supported for current region.",
        ));
    }
    if terms_unsigned {
        // [ECS-MISP] error table: PublicImageAgreement.NotSigned (403).
        return Err(ApiError::new(
            403,
            "PublicImageAgreement.NotSigned",
            "The current account has not signed \"Community Image Terms of Service\".",
        ));
    }
    if image.encrypted {
        // [ECS-MISP]: encrypted images cannot be published. The code (the one the table gives for sharing an
        // image with encrypted snapshots): assumed.
        return Err(encrypted());
    }
    // Publishing an image that is already public changes nothing and succeeds: assumed.
    image.is_public = true;
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
        // DescribeImageSharePermission reference (alibabacloud.com/help/en/ecs/developer-reference/
        // api-describeimagesharepermission): `ShareGroups.ShareGroup[].Group`, "the shared group", example
        // `all`. That a community image, and only one, reports the group `all`: assumed.
        "ShareGroups": {"ShareGroup": if image.is_public { json!([{"Group": "all"}]) } else { json!([]) }},
        "Accounts": {"Account": page},
    }))
}
