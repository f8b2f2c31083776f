//! `alicloud:ecd:Image`: a custom Elastic Cloud Desktop image made from a desktop. Id: the image id.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::time::Instant;

use super::{Created, Ctx, Observed, Resource, ResourceError, Timeouts, pick};
use crate::alicloud::{self, EcdImage as ApiImage};
use crate::autoname::AutoName;
use crate::check::{self, Failure};
use crate::diff;
use crate::schema::ResourceSpec;
use crate::values::{self, Props};

const DESKTOP_ID: &str = "desktopId";
const IMAGE_NAME: &str = "imageName";
const DESCRIPTION: &str = "description";
const STATUS: &str = "status";

const AVAILABLE: &str = "Available";

/// Polling starts fast (tests and small images finish in seconds) and backs off to this.
const POLL_START: Duration = Duration::from_millis(500);
const POLL_MAX: Duration = Duration::from_secs(10);

/// Error codes with which DeleteImages refuses an image that is still being made: wait and try again.
const DELETE_LATER_CODES: &[&str] = &[
    "IncorrectImageStatus",
    "InvalidImageStatus",
    "OperationConflict",
];

/// The ECD image resource.
pub struct EcdImage {
    spec: &'static ResourceSpec,
}

/// How a wait for an image ended.
enum Waited {
    Done(ApiImage),
    Gone,
}

impl EcdImage {
    /// The resource token.
    pub const TOKEN: &'static str = "alicloud:ecd:Image";

    /// A resource bound to its schema.
    pub fn new(spec: &'static ResourceSpec) -> Self {
        EcdImage { spec }
    }

    /// Outputs from what the API reports, plus the source desktop the API cannot report.
    fn outputs(image: &ApiImage, desktop_id: Option<&str>) -> Props {
        let mut p = Props::new();
        if let Some(d) = desktop_id {
            p.insert(DESKTOP_ID.into(), Value::String(d.into()));
        }
        if let Some(n) = image.name.as_deref().filter(|n| !n.is_empty()) {
            p.insert(IMAGE_NAME.into(), Value::String(n.into()));
        }
        if let Some(d) = image.description.as_deref().filter(|d| !d.is_empty()) {
            p.insert(DESCRIPTION.into(), Value::String(d.into()));
        }
        p.insert(STATUS.into(), Value::String(image.status.clone()));
        p
    }

    /// Polls until the image leaves `Creating` (or is gone), with backoff, reporting progress.
    async fn wait_settled(ctx: &Ctx<'_>, image_id: &str) -> Result<Waited, alicloud::Error> {
        let started = Instant::now();
        let mut delay = POLL_START;
        loop {
            match ctx.client.describe_ecd_image(&ctx.call, image_id).await? {
                None => return Ok(Waited::Gone),
                Some(image) if image.status != "Creating" => return Ok(Waited::Done(image)),
                Some(image) => ctx.progress.report(format!(
                    "waiting for image {image_id} to become {AVAILABLE} (status {}, {}s elapsed)",
                    image.status,
                    started.elapsed().as_secs()
                )),
            }
            sleep_until_next(ctx, delay).await?;
            delay = (delay * 3 / 2).min(POLL_MAX);
        }
    }

    /// Polls until the image is gone.
    async fn wait_gone(ctx: &Ctx<'_>, image_id: &str) -> Result<(), alicloud::Error> {
        let started = Instant::now();
        let mut delay = POLL_START;
        while let Some(image) = ctx.client.describe_ecd_image(&ctx.call, image_id).await? {
            ctx.progress.report(format!(
                "waiting for image {image_id} to be deleted (status {}, {}s elapsed)",
                image.status,
                started.elapsed().as_secs()
            ));
            sleep_until_next(ctx, delay).await?;
            delay = (delay * 3 / 2).min(POLL_MAX);
        }
        Ok(())
    }

    /// Deletes an image, waiting while the API refuses because the image is still being made.
    async fn delete_and_wait(ctx: &Ctx<'_>, image_id: &str) -> Result<(), alicloud::Error> {
        let mut delay = POLL_START;
        loop {
            match ctx
                .client
                .delete_ecd_images(&ctx.call, &[image_id.to_string()])
                .await
            {
                Ok(()) => break,
                Err(err) if err.is_not_found() => return Ok(()),
                Err(err) if err.code().is_some_and(|c| DELETE_LATER_CODES.contains(&c)) => {
                    ctx.progress.report(format!(
                        "image {image_id} cannot be deleted yet ({err}); retrying"
                    ));
                    sleep_until_next(ctx, delay).await?;
                    delay = (delay * 3 / 2).min(POLL_MAX);
                }
                Err(err) => return Err(err),
            }
        }
        Self::wait_gone(ctx, image_id).await
    }

    /// Creates the image; when the answer is lost after the request may have been applied, finds the
    /// image that request made instead of creating a second one.
    async fn create_once(
        ctx: &Ctx<'_>,
        desktop_id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<String, ResourceError> {
        let before: BTreeSet<String> = match name {
            Some(n) => ctx
                .client
                .find_ecd_images_by_name(&ctx.call, n)
                .await?
                .into_iter()
                .map(|i| i.image_id)
                .collect(),
            None => BTreeSet::new(),
        };
        let err = match ctx
            .client
            .create_ecd_image(&ctx.call, desktop_id, name, description)
            .await
        {
            Ok(id) => return Ok(id),
            Err(err) if !err.may_have_taken_effect() => return Err(err.into()),
            Err(err) => err,
        };
        let Some(name) = name else {
            return Err(ResourceError::Failed(format!(
                "CreateImage from {desktop_id} may or may not have been applied ({err}); without an imageName \
                 the new image cannot be told apart from others: check the ECD console for an image made from \
                 {desktop_id} and import it, or delete it"
            )));
        };
        let made: Vec<String> = ctx
            .client
            .find_ecd_images_by_name(&ctx.call, name)
            .await?
            .into_iter()
            .map(|i| i.image_id)
            .filter(|id| !before.contains(id))
            .collect();
        match made.as_slice() {
            [] => Err(err.into()),
            [id] => {
                tracing::info!(image_id = %id, error = %err, "CreateImage answer was lost; found the image it made");
                Ok(id.clone())
            }
            many => Err(ResourceError::Failed(format!(
                "CreateImage answer was lost ({err}) and several new images are named {name:?}: {}; \
                 import the right one and delete the others",
                many.join(", ")
            ))),
        }
    }
}

/// Sleeps for `delay`, or less when the deadline is nearer; ends early on cancel or at the deadline.
async fn sleep_until_next(ctx: &Ctx<'_>, delay: Duration) -> Result<(), alicloud::Error> {
    let now = Instant::now();
    if now >= ctx.call.deadline {
        return Err(alicloud::Error::DeadlineExceeded { last: None });
    }
    let wake = (now + delay).min(ctx.call.deadline);
    tokio::select! {
        _ = tokio::time::sleep_until(wake) => Ok(()),
        _ = ctx.call.cancel.cancelled() => Err(alicloud::Error::Cancelled),
    }
}

#[async_trait]
impl Resource for EcdImage {
    fn spec(&self) -> &ResourceSpec {
        self.spec
    }

    fn diff_rules(&self) -> diff::Rules<'static> {
        diff::Rules {
            // DescribeImages does not report the source desktop.
            unobservable: &[DESKTOP_ID],
            // ModifyImageAttribute cannot clear a name or description.
            keep_when_unset: &[IMAGE_NAME, DESCRIPTION],
        }
    }

    fn auto_name(&self) -> Option<AutoName> {
        Some(AutoName {
            property: IMAGE_NAME,
            max_len: 128,
        })
    }

    fn timeouts(&self) -> Timeouts {
        Timeouts {
            create: Duration::from_secs(15 * 60),
            update: Duration::from_secs(15 * 60),
            delete: Duration::from_secs(5 * 60),
        }
    }

    fn validate(&self, news: &Props) -> Vec<Failure> {
        let mut failures = Vec::new();
        if let Some(v) = values::get_str(news, DESKTOP_ID) {
            failures.extend(check::id_with_prefix(
                DESKTOP_ID,
                v,
                "ecd-",
                "ecd-7w78ozhjcwa3u2kqb",
            ));
        }
        if let Some(v) = values::get_str(news, IMAGE_NAME) {
            failures.extend(check::name(IMAGE_NAME, v, 2, 128));
        }
        if let Some(v) = values::get_str(news, DESCRIPTION) {
            failures.extend(check::description(DESCRIPTION, v, 2, 256));
        }
        failures
    }

    async fn create(&self, ctx: &Ctx<'_>, inputs: &Props) -> Result<Created, ResourceError> {
        let Some(desktop_id) = values::get_str(inputs, DESKTOP_ID) else {
            return Err(ResourceError::Failed(
                "desktopId must be known to create an image".into(),
            ));
        };
        let name = values::get_str(inputs, IMAGE_NAME);
        let description = values::get_str(inputs, DESCRIPTION);
        let image_id = Self::create_once(ctx, desktop_id, name, description).await?;
        tracing::info!(%image_id, desktop_id, "image creation started");

        let mut partial_outputs = pick(inputs, &self.spec.inputs);
        partial_outputs.insert(STATUS.into(), Value::String("Creating".into()));
        let partial = |reason: String| ResourceError::Partial {
            id: image_id.clone(),
            outputs: partial_outputs.clone(),
            reason,
        };
        match Self::wait_settled(ctx, &image_id).await {
            Ok(Waited::Done(image)) if image.status == AVAILABLE => Ok(Created {
                id: image_id.clone(),
                outputs: Self::outputs(&image, Some(desktop_id)),
            }),
            Ok(Waited::Done(image)) => {
                let status = image.status.clone();
                // A failed image is of no use and would block a retry under the same name: remove it.
                match Self::delete_and_wait(ctx, &image_id).await {
                    Ok(()) => Err(ResourceError::Failed(format!(
                        "image {image_id} from desktop {desktop_id} ended {status} instead of {AVAILABLE}; \
                         the failed image was deleted"
                    ))),
                    Err(err) => Err(ResourceError::Partial {
                        id: image_id.clone(),
                        outputs: Self::outputs(&image, Some(desktop_id)),
                        reason: format!(
                            "image {image_id} ended {status}, and deleting it failed: {err}"
                        ),
                    }),
                }
            }
            Ok(Waited::Gone) => Err(ResourceError::Failed(format!(
                "image {image_id} disappeared while it was being created"
            ))),
            Err(alicloud::Error::DeadlineExceeded { .. }) => Err(partial(format!(
                "image {image_id} was still not {AVAILABLE} when the create timeout ran out; it is kept in the \
                 stack: run `pulumi refresh` once it is ready, or raise customTimeouts.create"
            ))),
            Err(alicloud::Error::Cancelled) => Err(partial(format!(
                "cancelled while waiting for image {image_id}; it is kept in the stack"
            ))),
            Err(err) => Err(partial(format!(
                "image {image_id} was created but could not be checked: {err}"
            ))),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        state: &Props,
    ) -> Result<Option<Observed>, ResourceError> {
        let Some(image) = ctx.client.describe_ecd_image(&ctx.call, id).await? else {
            return Ok(None);
        };
        let outputs = Self::outputs(&image, values::get_str(state, DESKTOP_ID));
        Ok(Some(Observed {
            id: id.to_string(),
            inputs: pick(&outputs, &self.spec.inputs),
            outputs,
        }))
    }

    async fn update(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        olds: &Props,
        news: &Props,
    ) -> Result<Props, ResourceError> {
        let changed = |key: &str| values::get_str(olds, key) != values::get_str(news, key);
        let name = values::get_str(news, IMAGE_NAME).filter(|_| changed(IMAGE_NAME));
        let description = values::get_str(news, DESCRIPTION).filter(|_| changed(DESCRIPTION));
        if name.is_some() || description.is_some() {
            ctx.client
                .modify_ecd_image(&ctx.call, id, name, description)
                .await?;
        }
        let Some(image) = ctx.client.describe_ecd_image(&ctx.call, id).await? else {
            return Err(ResourceError::Failed(format!(
                "image {id} no longer exists; run `pulumi refresh`"
            )));
        };
        let desktop_id =
            values::get_str(news, DESKTOP_ID).or_else(|| values::get_str(olds, DESKTOP_ID));
        Ok(Self::outputs(&image, desktop_id))
    }

    async fn delete(&self, ctx: &Ctx<'_>, id: &str, _state: &Props) -> Result<(), ResourceError> {
        Ok(Self::delete_and_wait(ctx, id).await?)
    }
}
