//! `alicloud:ecd:Image`: a custom Elastic Cloud Desktop image made from a desktop. Id: the image id.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::time::Instant;

use super::{
    Created, Ctx, Lookup, Observed, Resource, ResourceError, SETTLE_READ, Timeouts, Unhealthy,
    logical_name, pick,
};
use crate::alicloud::{self, CallContext, EcdImage as ApiImage};
use crate::autoname::{self, AutoName};
use crate::check::{self, Failure};
use crate::diff;
use crate::schema::ResourceSpec;
use crate::values::{self, Props};

const DESKTOP_ID: &str = "desktopId";
const IMAGE_NAME: &str = "imageName";
const DESCRIPTION: &str = "description";
const STATUS: &str = "status";

const AVAILABLE: &str = "Available";
const CREATING: &str = "Creating";
const CREATE_FAILED: &str = "CreateFailed";

/// Polling starts fast (tests and small images finish in seconds) and backs off to this.
const POLL_START: Duration = Duration::from_millis(500);
const POLL_MAX: Duration = Duration::from_secs(10);

/// How far the service's clock may be behind ours for an image to count as made by a CreateImage sent at a
/// given time (`CreationTime` has whole seconds; Alibaba refuses requests whose timestamp is 15 minutes off,
/// so larger differences are possible: see README, "What the provider promises about state").
const CLOCK_TOLERANCE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

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
                Some(image) if image.status != CREATING => return Ok(Waited::Done(image)),
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
                Err(err) if err.has_code(DELETE_LATER_CODES) => {
                    ctx.progress.report(format!(
                        "image {image_id} cannot be deleted yet ({err}); retrying"
                    ));
                    sleep_until_next(ctx, delay).await?;
                    delay = (delay * 3 / 2).min(POLL_MAX);
                }
                // DeleteImages documents no "not found" code: only DescribeImages can say the image is gone
                // (asked with a context of its own: the operation may have been cancelled or timed out).
                Err(err) => {
                    return match ctx
                        .client
                        .describe_ecd_image(&CallContext::detached(SETTLE_READ), image_id)
                        .await
                    {
                        Ok(None) => Ok(()),
                        _ => Err(err),
                    };
                }
            }
        }
        match Self::wait_gone(ctx, image_id).await {
            // DeleteImages was accepted: the image is on its way out and nothing can stop that, so the
            // resource is deleted even if the wait for the last listing to go was cut short.
            Err(alicloud::Error::Cancelled) => {
                tracing::info!(
                    image_id,
                    "cancelled after DeleteImages was accepted; the image is being deleted"
                );
                Ok(())
            }
            other => other,
        }
    }

    /// The image to wait for: one that an earlier, interrupted attempt of this very resource made, else a new
    /// one. Never an image this resource did not make.
    async fn create_or_resume(
        &self,
        ctx: &Ctx<'_>,
        desktop_id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<String, ResourceError> {
        let Some(name) = name else {
            return Self::create_once(ctx, desktop_id, None, description).await;
        };
        let existing = ctx.client.find_ecd_images_by_name(&ctx.call, name).await?;
        let ours = self.auto_name().is_some_and(|auto| {
            name == autoname::reproducible(auto, ctx.logical_name(), ctx.urn, desktop_id)
        });
        match existing.as_slice() {
            [] => Self::create_once(ctx, desktop_id, Some(name), description).await,
            // The name is derived from this stack, resource and desktop: an image that carries it and is not in
            // the state was made by an attempt of this resource whose answer never reached the state.
            [image] if ours && image.status == CREATE_FAILED => {
                tracing::info!(image_id = %image.image_id, "removing the failed image of an earlier attempt");
                Self::delete_and_wait(ctx, &image.image_id).await?;
                Self::create_once(ctx, desktop_id, Some(name), description).await
            }
            [image] if ours => {
                tracing::info!(image_id = %image.image_id, status = %image.status, "resuming the image of an interrupted create");
                ctx.progress.report(format!(
                    "found image {} ({name}) made by an interrupted create of this resource; resuming it",
                    image.image_id
                ));
                Ok(image.image_id.clone())
            }
            images => {
                let ids: Vec<&str> = images.iter().map(|i| i.image_id.as_str()).collect();
                let advice = match ids.as_slice() {
                    [id] => format!(
                        "to manage it here, import it: `pulumi import {} {} {id}`; or choose another imageName",
                        Self::TOKEN,
                        ctx.logical_name()
                    ),
                    _ => "import the right one with `pulumi import` and delete the others, or choose another imageName"
                        .to_string(),
                };
                Err(ResourceError::Failed(format!(
                    "an ECD image named {name:?} already exists ({}) and this resource cannot tell that it made it; \
                     Pulumi does not take over an image it did not make: {advice}",
                    ids.join(", ")
                )))
            }
        }
    }

    /// One CreateImage; when the answer is lost after the request may have been applied, finds the image that
    /// request made (no other image had the name before) instead of creating a second one.
    async fn create_once(
        ctx: &Ctx<'_>,
        desktop_id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<String, ResourceError> {
        let sent_at = chrono::Utc::now();
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
        // Made by this call: the name (no image had it just before) and a creation time not before the call
        // was sent. Asked with a context of its own: the operation may have been cancelled or timed out.
        let mut made = ctx
            .client
            .find_ecd_images_by_name(&CallContext::detached(SETTLE_READ), name)
            .await?;
        made.retain(|i| made_since(i, sent_at));
        match made.as_slice() {
            [] => Err(err.into()),
            [image] => {
                tracing::info!(image_id = %image.image_id, error = %err, "CreateImage answer was lost; found the image it made");
                Ok(image.image_id.clone())
            }
            many => Err(ResourceError::Failed(format!(
                "CreateImage answer was lost ({err}) and several images are now named {name:?}: {}; \
                 import the right one and delete the others",
                many.iter()
                    .map(|i| i.image_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Waits for an image being made and turns the outcome into outputs, or into a partial failure that keeps
    /// the image in the state (so the next `pulumi up` goes on waiting, or replaces a failed image).
    async fn settle(
        ctx: &Ctx<'_>,
        image_id: &str,
        desktop_id: Option<&str>,
        last_known: Props,
    ) -> Result<Props, ResourceError> {
        let partial = |reason: String| ResourceError::Partial {
            id: image_id.to_string(),
            outputs: last_known.clone(),
            reason,
        };
        match Self::wait_settled(ctx, image_id).await {
            Ok(Waited::Done(image)) if image.status == AVAILABLE => {
                Ok(Self::outputs(&image, desktop_id))
            }
            Ok(Waited::Done(image)) => Err(ResourceError::Partial {
                id: image_id.to_string(),
                outputs: Self::outputs(&image, desktop_id),
                reason: format!(
                    "image {image_id} ended {} instead of {AVAILABLE}; the next `pulumi up` replaces it",
                    image.status
                ),
            }),
            Ok(Waited::Gone) => Err(ResourceError::Failed(format!(
                "image {image_id} no longer exists; `pulumi refresh` drops it from the stack"
            ))),
            Err(alicloud::Error::DeadlineExceeded { .. }) => Err(partial(format!(
                "image {image_id} was still not {AVAILABLE} when the timeout ran out; it is kept in the stack, \
                 and the next `pulumi up` goes on waiting for it (raise customTimeouts to wait longer)"
            ))),
            Err(alicloud::Error::Cancelled) => {
                // One last look, which the cancel does not stop: an image that is ready is done.
                match ctx
                    .client
                    .describe_ecd_image(&CallContext::detached(SETTLE_READ), image_id)
                    .await
                {
                    Ok(Some(image)) if image.status == AVAILABLE => {
                        Ok(Self::outputs(&image, desktop_id))
                    }
                    _ => Err(partial(format!(
                        "cancelled while waiting for image {image_id}; it is kept in the stack, and the next \
                         `pulumi up` goes on waiting for it"
                    ))),
                }
            }
            Err(err) => Err(partial(format!(
                "image {image_id} exists but could not be checked: {err}"
            ))),
        }
    }
}

/// Whether the service says `image` was made no earlier than `sent_at` (allowing [`CLOCK_TOLERANCE`]). An
/// image whose creation time is not reported cannot be told apart, so it is not taken.
fn made_since(image: &ApiImage, sent_at: chrono::DateTime<chrono::Utc>) -> bool {
    image
        .creation_time
        .is_some_and(|t| t >= sent_at - CLOCK_TOLERANCE)
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
            keyed_by: DESKTOP_ID,
        })
    }

    fn forced_replacement(&self, olds: &Props, news: &Props) -> Option<&'static str> {
        // A failed image cannot be repaired in place.
        if values::get_str(olds, STATUS) == Some(CREATE_FAILED) {
            return Some(STATUS);
        }
        // CreateImage takes a name that starts with a Chinese character, ModifyImageAttribute does not (it
        // must start with a letter): such a name is given by making a new image.
        let new_name = values::get_str(news, IMAGE_NAME);
        let renamed_to_cjk = new_name != values::get_str(olds, IMAGE_NAME)
            && new_name
                .and_then(|n| n.chars().next())
                .is_some_and(check::is_cjk);
        renamed_to_cjk.then_some(IMAGE_NAME)
    }

    fn delete_before_replace(&self, urn: &str, olds: &Props, news: &Props) -> bool {
        // The name is the only key ECD gives an image, so a replacement under the same name must wait until the
        // old image is gone. An autonamed image (its name kept by Check) is renamed when its desktop changes.
        let Some(old_name) = values::get_str(olds, IMAGE_NAME) else {
            return false;
        };
        let new_desktop = values::get_str(news, DESKTOP_ID);
        let autonamed = self
            .auto_name()
            .zip(values::get_str(olds, DESKTOP_ID))
            .is_some_and(|(auto, old_desktop)| {
                old_name == autoname::reproducible(auto, logical_name(urn), urn, old_desktop)
            });
        let new_name = match (values::get_str(news, IMAGE_NAME), self.auto_name()) {
            (Some(n), Some(auto)) if autonamed && n == old_name => {
                new_desktop.map(|d| autoname::reproducible(auto, logical_name(urn), urn, d))
            }
            (n, _) => n.map(str::to_string),
        };
        new_name.as_deref() == Some(old_name)
    }

    fn timeouts(&self) -> Timeouts {
        Timeouts {
            create: Duration::from_secs(15 * 60),
            read: Duration::from_secs(5 * 60),
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
        let image_id = self
            .create_or_resume(ctx, desktop_id, name, description)
            .await?;
        tracing::info!(%image_id, desktop_id, "waiting for the image");

        let mut last_known = pick(inputs, &self.spec.inputs);
        last_known.insert(STATUS.into(), Value::String(CREATING.into()));
        match Self::settle(ctx, &image_id, Some(desktop_id), last_known).await {
            Ok(outputs) => Ok(Created {
                id: image_id,
                outputs,
            }),
            // A failed image is of no use and would block a retry under the same name: remove it.
            Err(ResourceError::Partial {
                outputs, reason, ..
            }) if values::get_str(&outputs, STATUS) == Some(CREATE_FAILED) => {
                match Self::delete_and_wait(ctx, &image_id).await {
                    Ok(()) => Err(ResourceError::Failed(format!(
                        "image {image_id} from desktop {desktop_id} ended {CREATE_FAILED}; the failed image was deleted"
                    ))),
                    Err(err) => Err(ResourceError::Partial {
                        id: image_id,
                        outputs,
                        reason: format!("{reason}; deleting it failed: {err}"),
                    }),
                }
            }
            Err(err) => Err(err),
        }
    }

    async fn read(&self, ctx: &Ctx<'_>, id: &str, state: &Props) -> Result<Lookup, ResourceError> {
        let Some(image) = ctx.client.describe_ecd_image(&ctx.call, id).await? else {
            return Ok(Lookup::Missing(format!(
                "there is no ECD image {id} in region {}",
                ctx.client.region()
            )));
        };
        let outputs = Self::outputs(&image, values::get_str(state, DESKTOP_ID));
        // On refresh, an image that is not ready keeps (or gets) the engine's init errors, so that the next
        // `pulumi up` goes on waiting for it or replaces it instead of taking it for done.
        let unhealthy = match image.status.as_str() {
            _ if state.is_empty() => None,
            CREATING => Some(Unhealthy::Pending(format!(
                "image {id} is still being made (status {CREATING}); the next `pulumi up` waits for it"
            ))),
            CREATE_FAILED => Some(Unhealthy::Failed(format!(
                "image {id} ended {CREATE_FAILED}; the next `pulumi up` replaces it"
            ))),
            _ => None,
        };
        Ok(Lookup::Found(Observed {
            id: id.to_string(),
            inputs: pick(&outputs, &self.spec.inputs),
            outputs,
            unhealthy,
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
            match ctx
                .client
                .modify_ecd_image(&ctx.call, id, name, description)
                .await
            {
                Ok(()) => {}
                // The answer was lost or the operation cancelled with the request on the wire: the image
                // says whether the change was made.
                Err(err) if err.may_have_taken_effect() => {
                    let now = ctx
                        .client
                        .describe_ecd_image(&CallContext::detached(SETTLE_READ), id)
                        .await;
                    let applied = now.ok().flatten().is_some_and(|image| {
                        name.is_none_or(|n| image.name.as_deref() == Some(n))
                            && description.is_none_or(|d| image.description.as_deref() == Some(d))
                    });
                    if !applied {
                        return Err(err.into());
                    }
                    tracing::info!(image_id = id, error = %err, "the change was made although the call reported an error");
                }
                Err(err) => return Err(err.into()),
            }
        }
        let desktop_id =
            values::get_str(news, DESKTOP_ID).or_else(|| values::get_str(olds, DESKTOP_ID));
        let mut last_known = olds.clone();
        last_known.extend(pick(news, &self.spec.inputs));
        // An image whose create timed out or was interrupted is still `Creating`: the engine sends an Update
        // for it, and the update is done only when the image is.
        Self::settle(ctx, id, desktop_id, last_known).await
    }

    async fn delete(&self, ctx: &Ctx<'_>, id: &str, _state: &Props) -> Result<(), ResourceError> {
        Ok(Self::delete_and_wait(ctx, id).await?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use super::*;

    fn image(created: Option<chrono::DateTime<Utc>>) -> ApiImage {
        ApiImage {
            image_id: "m-1".into(),
            name: Some("golden".into()),
            description: None,
            status: CREATING.into(),
            progress: None,
            creation_time: created,
        }
    }

    #[test]
    fn an_image_counts_as_made_by_a_call_only_if_created_after_it_was_sent() {
        let sent = Utc::now();
        for (created, ours) in [
            (Some(sent), true),
            (Some(sent + TimeDelta::seconds(3)), true),
            // The service's clock may be a little behind ours.
            (Some(sent - TimeDelta::seconds(30)), true),
            (Some(sent - TimeDelta::minutes(5)), false),
            (None, false),
        ] {
            assert_eq!(made_since(&image(created), sent), ours, "{created:?}");
        }
    }
}
