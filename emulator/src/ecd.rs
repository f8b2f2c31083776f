//! ECD 2020-09-30: CreateImage, DescribeImages, ModifyImageAttribute, DeleteImages, DescribeDesktops.

use serde_json::{Value, json};

use crate::Timing;
use crate::auth::Caller;
use crate::ecs::region;
use crate::error::ApiError;
use crate::model::{Desktop, EcdImage, World, now_rfc3339};
use crate::params::{NameParam, Params, check_description, check_name};

fn new_image_id() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = (0..17)
        .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
        .collect();
    format!("m-{tail}")
}

fn not_found(image_id: &str) -> ApiError {
    ApiError::new(
        404,
        "InvalidImageId.NotFound",
        format!("The specified image {image_id} does not exist."),
    )
}

fn image_json(i: &EcdImage, now: f64) -> Value {
    let status = i.status(now);
    let progress = if status == "Creating" { "50%" } else { "100%" };
    json!({
        "ImageId": i.image_id, "Name": i.name, "Description": i.description, "Status": status,
        "ImageType": "CUSTOM", "OsType": "Windows", "Platform": "WindowsServer2019", "Progress": progress,
        "Size": 80, "DataDiskSize": 0, "CreationTime": i.creation_time, "UpdateTime": i.creation_time,
        "ProtocolType": "ASP", "SessionType": "SINGLE_SESSION", "SharedCount": 0, "GpuCategory": false,
        "SupportedLanguages": ["zh-CN", "en-US"], "VolumeEncryptionEnabled": false,
    })
}

/// Whether the image is the caller's, in the region, and not deleted.
fn visible(i: &EcdImage, caller: &Caller, region: &str, now: f64) -> bool {
    i.owner_id == caller.account_id && i.region_id == region && i.deleted_at.is_none_or(|t| now < t)
}

/// How a new image's creation ends.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    /// It ends `CreateFailed` (a `create_failed` fault rule).
    pub fails: bool,
    /// It stays `Creating` until released through the control API.
    pub held: bool,
}

/// CreateImage: starts making an image from the caller's desktop.
pub fn create_image(
    world: &mut World,
    caller: &Caller,
    params: &Params,
    timing: &Timing,
    outcome: Outcome,
    now: f64,
) -> Result<Value, ApiError> {
    let region = region(world, params)?.to_string();
    let desktop_id = params.require("DesktopId")?.to_string();
    let name = params.get("ImageName").unwrap_or_default().to_string();
    let description = params.get("Description").unwrap_or_default().to_string();
    if !name.is_empty() {
        check_name(NameParam::ImageName, &name)?;
    }
    if !description.is_empty() {
        check_description(&description)?;
    }
    if !world.ecd_desktops.iter().any(|d| {
        d.desktop_id == desktop_id && d.region_id == region && d.owner_id == caller.account_id
    }) {
        return Err(ApiError::new(
            404,
            "InvalidDesktopId.NotFound",
            format!("The specified desktop {desktop_id} does not exist."),
        ));
    }
    let image_id = new_image_id();
    world.ecd_images.push(EcdImage {
        region_id: region,
        image_id: image_id.clone(),
        owner_id: caller.account_id.clone(),
        desktop_id,
        name,
        description,
        creation_time: now_rfc3339(),
        ready_at: now + timing.image_create_seconds,
        fails: outcome.fails,
        held: outcome.held,
        deleted_at: None,
    });
    Ok(json!({"ImageId": image_id}))
}

/// DescribeImages: the caller's images, filtered and paged with MaxResults/NextToken.
pub fn describe_images(
    world: &mut World,
    caller: &Caller,
    params: &Params,
    now: f64,
) -> Result<Value, ApiError> {
    let region = region(world, params)?.to_string();
    let max = params.int("MaxResults", 10, 1, 100)? as usize;
    let offset = match params.get("NextToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::invalid("NextToken", "it is not a token this API issued"))?,
    };
    let ids: Vec<String> = params
        .list("ImageId")?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let status = params.get("ImageStatus").filter(|s| !s.is_empty());
    let kind = params.get("ImageType").filter(|s| !s.is_empty());
    let name = params.get("ImageName").filter(|s| !s.is_empty());
    let matching: Vec<&EcdImage> = world
        .ecd_images
        .iter()
        .filter(|i| visible(i, caller, &region, now))
        .filter(|i| ids.is_empty() || ids.contains(&i.image_id))
        .filter(|i| status.is_none_or(|s| s == i.status(now)))
        .filter(|_| kind.is_none_or(|k| k.eq_ignore_ascii_case("CUSTOM")))
        .filter(|i| name.is_none_or(|n| i.name.contains(n)))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(max)
        .map(|i| image_json(i, now))
        .collect();
    let mut body = json!({"Images": page});
    if offset + max < matching.len() {
        body["NextToken"] = json!((offset + max).to_string());
    }
    Ok(body)
}

/// ModifyImageAttribute: renames an image or changes its description.
pub fn modify_image_attribute(
    world: &mut World,
    caller: &Caller,
    params: &Params,
    now: f64,
) -> Result<Value, ApiError> {
    let region = region(world, params)?.to_string();
    let image_id = params.require("ImageId")?.to_string();
    let name = params.get("Name").filter(|n| !n.is_empty());
    let description = params.get("Description").filter(|d| !d.is_empty());
    if let Some(n) = name {
        check_name(NameParam::Name, n)?;
    }
    if let Some(d) = description {
        check_description(d)?;
    }
    let image = world
        .ecd_images
        .iter_mut()
        .find(|i| i.image_id == image_id && visible(i, caller, &region, now))
        .ok_or_else(|| not_found(&image_id))?;
    if let Some(n) = name {
        image.name = n.to_string();
    }
    if let Some(d) = description {
        image.description = d.to_string();
    }
    Ok(json!({}))
}

/// DeleteImages: deletes images; refused while any of them is still `Creating`.
pub fn delete_images(
    world: &mut World,
    caller: &Caller,
    params: &Params,
    timing: &Timing,
    now: f64,
) -> Result<Value, ApiError> {
    let region = region(world, params)?.to_string();
    let ids: Vec<String> = params
        .list("ImageId")?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::missing("ImageId.1"));
    }
    for id in &ids {
        let image = world
            .ecd_images
            .iter()
            .find(|i| &i.image_id == id && visible(i, caller, &region, now))
            .ok_or_else(|| not_found(id))?;
        if image.status(now) == "Creating" {
            return Err(ApiError::new(
                400,
                "IncorrectImageStatus",
                format!(
                    "The current status of image {id} (Creating) does not support this operation."
                ),
            ));
        }
    }
    let at = now + timing.image_delete_seconds;
    for image in world
        .ecd_images
        .iter_mut()
        .filter(|i| ids.contains(&i.image_id))
    {
        image.deleted_at = Some(at);
    }
    world.settle(now);
    Ok(json!({}))
}

/// The most `DesktopId.N` one DescribeDesktops takes: "You can specify 1 to 100 IDs" (ECD 2020-09-30 API
/// reference, DescribeDesktops, `DesktopId`; alibabacloud-csharp-sdk `ecd-20200930/core/Models/
/// DescribeDesktopsRequest.cs`). The code for more is assumed: no error table is published for the action.
const DESKTOP_IDS_PER_CALL: usize = 100;

/// One desktop as DescribeDesktops reports it. The field names are those of the response model
/// (alibabacloud-csharp-sdk `ecd-20200930/core/Models/DescribeDesktopsResponseBody.cs`); the emulator models
/// only identity, name and status, and the other values are fixed examples from that model (assumed).
fn desktop_json(d: &Desktop) -> Value {
    json!({
        "DesktopId": d.desktop_id, "DesktopName": d.desktop_name, "DesktopStatus": d.desktop_status,
        "DesktopType": "eds.general.2c4g", "OsType": "Windows", "Platform": "Windows Server 2019",
        "ProtocolType": "ASP", "SessionType": "SINGLE_SESSION", "ChargeType": "PostPaid",
        "ManagementFlag": "NoFlag", "OfficeSiteId": format!("{}+dir-emulator", d.region_id),
        "EndUserIds": [],
    })
}

/// DescribeDesktops: the caller's desktops in the region, filtered by `DesktopId.N` (1 to 100),
/// `DesktopStatus` and `DesktopName`. Ids that match nothing are left out of the answer, never an error:
/// Terraform's `DescribeEcdDesktop` (terraform-provider-alicloud `alicloud/service_alicloud_ecd.go`) takes an
/// empty `Desktops` as "not found". Paged with `MaxResults` (default 10, at most 100, as documented) and
/// `NextToken`, or with `PageNumber`/`PageSize` (both in the request and response models; their limits are
/// not documented, 1 to 100 is assumed). `TotalCount` counts every match. An exact `DesktopName` match is
/// assumed (the reference does not say).
pub fn describe_desktops(
    world: &mut World,
    caller: &Caller,
    params: &Params,
) -> Result<Value, ApiError> {
    let region = region(world, params)?.to_string();
    let ids: Vec<String> = params
        .list("DesktopId")?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    if ids.len() > DESKTOP_IDS_PER_CALL {
        return Err(ApiError::invalid(
            "DesktopId",
            &format!("at most {DESKTOP_IDS_PER_CALL} ids can be given"),
        ));
    }
    let status = params.get("DesktopStatus").filter(|s| !s.is_empty());
    let name = params.get("DesktopName").filter(|s| !s.is_empty());
    let matching: Vec<&Desktop> = world
        .ecd_desktops
        .iter()
        .filter(|d| d.owner_id == caller.account_id && d.region_id == region)
        .filter(|d| ids.is_empty() || ids.contains(&d.desktop_id))
        .filter(|d| status.is_none_or(|s| s == d.desktop_status))
        .filter(|d| name.is_none_or(|n| n == d.desktop_name))
        .collect();
    let by_page = params.get("NextToken").is_none_or(str::is_empty)
        && params.get("MaxResults").is_none()
        && (params.get("PageNumber").is_some() || params.get("PageSize").is_some());
    let mut body = json!({"TotalCount": matching.len()});
    let (offset, size) = if by_page {
        let number = params.int("PageNumber", 1, 1, 1_000_000)? as usize;
        let size = params.int("PageSize", 10, 1, 100)? as usize;
        body["PageNumber"] = json!(number);
        body["PageSize"] = json!(size);
        ((number - 1) * size, size)
    } else {
        let size = params.int("MaxResults", 10, 1, 100)? as usize;
        let offset = match params.get("NextToken").filter(|t| !t.is_empty()) {
            None => 0,
            Some(t) => t
                .parse::<usize>()
                .map_err(|_| ApiError::invalid("NextToken", "it is not a token this API issued"))?,
        };
        if offset + size < matching.len() {
            body["NextToken"] = json!((offset + size).to_string());
        }
        (offset, size)
    };
    body["Desktops"] = matching
        .iter()
        .skip(offset)
        .take(size)
        .map(|d| desktop_json(d))
        .collect();
    Ok(body)
}
