//! Elastic Cloud Desktop images (CreateImage, DescribeImages, ModifyImageAttribute, DeleteImages) and the
//! desktops they are made from (DescribeDesktops).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use crate::client::{Client, flatten, string_field};
use crate::context::CallContext;
use crate::endpoints::Service;
use crate::error::Error;
use crate::retry::Idempotency;

/// One ECD image as DescribeImages reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcdImage {
    /// `ImageId`.
    pub image_id: String,
    /// `Name`.
    pub name: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `Status`: `Creating`, `Available` or `CreateFailed`.
    pub status: String,
    /// `Progress`, e.g. `100%`.
    pub progress: Option<String>,
    /// `CreationTime`, when reported in a form this client reads (`2006-01-02T15:04:05Z` or without
    /// seconds, `2006-01-02T15:04Z`, both UTC).
    pub creation_time: Option<DateTime<Utc>>,
}

impl EcdImage {
    fn from_json(v: &Value) -> Option<EcdImage> {
        let text = |k: &str| v[k].as_str().map(str::to_string);
        Some(EcdImage {
            image_id: text("ImageId")?,
            name: text("Name"),
            description: text("Description"),
            status: text("Status")?,
            progress: text("Progress"),
            creation_time: v["CreationTime"].as_str().and_then(parse_time),
        })
    }
}

/// Alibaba's time formats, seconds optional.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%MZ")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// Which images [`Client::list_ecd_images`] asks DescribeImages for; unset fields do not filter.
///
/// ```no_run
/// # async fn demo(client: alicloud_openapi::Client) -> Result<(), alicloud_openapi::Error> {
/// use std::time::Duration;
/// use alicloud_openapi::{CallContext, EcdImageFilter};
///
/// let custom = EcdImageFilter {
///     image_type: Some("CUSTOM".into()),
///     ..Default::default()
/// };
/// let ctx = CallContext::detached(Duration::from_secs(60));
/// for image in client.list_ecd_images(&ctx, &custom).await? {
///     println!("{} {}", image.image_id, image.status);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EcdImageFilter {
    /// `ImageId.N`.
    pub image_ids: Vec<String>,
    /// `ImageName` (the API matches names containing it).
    pub name: Option<String>,
    /// `ImageStatus`.
    pub status: Option<String>,
    /// `ImageType`, e.g. `CUSTOM`.
    pub image_type: Option<String>,
}

/// One ECD desktop as DescribeDesktops reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcdDesktop {
    /// `DesktopId`.
    pub desktop_id: String,
    /// `DesktopName`.
    pub name: Option<String>,
    /// `DesktopStatus`, e.g. `Running` or `Stopped`.
    pub status: Option<String>,
}

impl EcdDesktop {
    fn from_json(v: &Value) -> Option<EcdDesktop> {
        let text = |k: &str| v[k].as_str().map(str::to_string);
        Some(EcdDesktop {
            desktop_id: text("DesktopId")?,
            name: text("DesktopName").filter(|n| !n.is_empty()),
            status: text("DesktopStatus"),
        })
    }
}

/// The largest DescribeImages page.
const MAX_RESULTS: usize = 100;

impl Client {
    fn region_param(&self) -> Vec<(String, String)> {
        vec![("RegionId".into(), self.region().into())]
    }

    /// Starts making an image from a desktop; returns its id. Never retried once it may have been applied.
    pub async fn create_ecd_image(
        &self,
        ctx: &CallContext,
        desktop_id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<String, Error> {
        let mut params = self.region_param();
        params.push(("DesktopId".into(), desktop_id.into()));
        params.extend(name.map(|n| ("ImageName".to_string(), n.to_string())));
        params.extend(description.map(|d| ("Description".to_string(), d.to_string())));
        let body = self
            .call(
                Service::Ecd,
                "CreateImage",
                &params,
                Idempotency::Unsafe,
                ctx,
            )
            .await?;
        string_field(&body, "ImageId", "CreateImage")
    }

    /// One image by id; `None` when it does not exist. DescribeImages answers an unknown id with an empty
    /// list, so every error is an error, never "gone".
    pub async fn describe_ecd_image(
        &self,
        ctx: &CallContext,
        image_id: &str,
    ) -> Result<Option<EcdImage>, Error> {
        let filter = EcdImageFilter {
            image_ids: vec![image_id.to_string()],
            ..Default::default()
        };
        let images = self.list_ecd_images(ctx, &filter).await?;
        Ok(images.into_iter().find(|i| i.image_id == image_id))
    }

    /// Every image with exactly this name, paging through DescribeImages.
    pub async fn find_ecd_images_by_name(
        &self,
        ctx: &CallContext,
        name: &str,
    ) -> Result<Vec<EcdImage>, Error> {
        let filter = EcdImageFilter {
            name: Some(name.to_string()),
            ..Default::default()
        };
        let mut found = self.list_ecd_images(ctx, &filter).await?;
        found.retain(|i| i.name.as_deref() == Some(name));
        Ok(found)
    }

    /// Every image the filter selects, walking all of DescribeImages' pages (`NextToken`).
    pub async fn list_ecd_images(
        &self,
        ctx: &CallContext,
        filter: &EcdImageFilter,
    ) -> Result<Vec<EcdImage>, Error> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = self.region_param();
            params.extend(flatten("ImageId", &filter.image_ids));
            params.extend(filter.name.clone().map(|n| ("ImageName".to_string(), n)));
            params.extend(
                filter
                    .status
                    .clone()
                    .map(|s| ("ImageStatus".to_string(), s)),
            );
            params.extend(
                filter
                    .image_type
                    .clone()
                    .map(|t| ("ImageType".to_string(), t)),
            );
            params.push(("MaxResults".into(), MAX_RESULTS.to_string()));
            params.extend(token.take().map(|t| ("NextToken".to_string(), t)));
            let body = self
                .call(
                    Service::Ecd,
                    "DescribeImages",
                    &params,
                    Idempotency::Safe,
                    ctx,
                )
                .await?;
            let images = body["Images"].as_array().cloned().unwrap_or_default();
            found.extend(images.iter().filter_map(EcdImage::from_json));
            match body["NextToken"].as_str().filter(|t| !t.is_empty()) {
                Some(next) if !images.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(found)
    }

    /// One desktop of the caller in the client's region, by id; `None` when there is none. DescribeDesktops
    /// leaves ids that match nothing out of its answer (Terraform's `DescribeEcdDesktop` reads an empty
    /// `Desktops` as "not found"), so every error is an error, never "gone".
    ///
    /// ```no_run
    /// # async fn demo(client: alicloud_openapi::Client) -> Result<(), alicloud_openapi::Error> {
    /// use std::time::Duration;
    /// use alicloud_openapi::CallContext;
    ///
    /// let ctx = CallContext::detached(Duration::from_secs(60));
    /// match client.describe_ecd_desktop(&ctx, "ecd-gx2x1dhsmucyy0001").await? {
    ///     Some(desktop) => println!("{} is {:?}", desktop.desktop_id, desktop.status),
    ///     None => println!("no such desktop in {}", client.region()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn describe_ecd_desktop(
        &self,
        ctx: &CallContext,
        desktop_id: &str,
    ) -> Result<Option<EcdDesktop>, Error> {
        let mut params = self.region_param();
        params.extend(flatten("DesktopId", &[desktop_id.to_string()]));
        let body = self
            .call(
                Service::Ecd,
                "DescribeDesktops",
                &params,
                Idempotency::Safe,
                ctx,
            )
            .await?;
        let desktops = body["Desktops"].as_array().cloned().unwrap_or_default();
        Ok(desktops
            .iter()
            .filter_map(EcdDesktop::from_json)
            .find(|d| d.desktop_id == desktop_id))
    }

    /// Renames an image or changes its description (`Name`, `Description`).
    pub async fn modify_ecd_image(
        &self,
        ctx: &CallContext,
        image_id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<(), Error> {
        let mut params = self.region_param();
        params.push(("ImageId".into(), image_id.into()));
        params.extend(name.map(|n| ("Name".to_string(), n.to_string())));
        params.extend(description.map(|d| ("Description".to_string(), d.to_string())));
        self.call(
            Service::Ecd,
            "ModifyImageAttribute",
            &params,
            Idempotency::Safe,
            ctx,
        )
        .await?;
        Ok(())
    }

    /// Deletes images (`ImageId.N`).
    pub async fn delete_ecd_images(
        &self,
        ctx: &CallContext,
        image_ids: &[String],
    ) -> Result<(), Error> {
        let mut params = self.region_param();
        params.extend(flatten("ImageId", image_ids));
        self.call(
            Service::Ecd,
            "DeleteImages",
            &params,
            Idempotency::Safe,
            ctx,
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_times_are_read_with_or_without_seconds() {
        let at = |t: &str| parse_time(t).map(|t| t.to_rfc3339());
        assert_eq!(
            at("2024-05-06T07:08:09Z").as_deref(),
            Some("2024-05-06T07:08:09+00:00")
        );
        assert_eq!(
            at("2024-05-06T07:08Z").as_deref(),
            Some("2024-05-06T07:08:00+00:00")
        );
        assert_eq!(at("yesterday"), None);
    }
}
