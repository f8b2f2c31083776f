//! `alicloud:ecd:Image`: a custom Elastic Cloud Desktop image made from a desktop. Id: the image id.

use std::ops::ControlFlow::{Break, Continue};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::poll::poll;
use super::{
    Created, Ctx, Lookup, Observed, ResourceError, SETTLE_READ, Timeouts, TypedResource, Unhealthy,
    logical_name,
};
use crate::alicloud::{self, CallContext, EcdImage as ApiImage};
use crate::autoname::{self, AutoName};
use crate::check::{self, Failure};
use crate::diff;
use crate::preview::Preview;
use crate::schema::ResourceSpec;
use crate::values;

// Property names for rules and messages; the types below carry the same names, checked against the schema.
const DESKTOP_ID: &str = "desktopId";
const IMAGE_NAME: &str = "imageName";
const DESCRIPTION: &str = "description";
const STATUS: &str = "status";

const AVAILABLE: &str = "Available";
const CREATING: &str = "Creating";
const CREATE_FAILED: &str = "CreateFailed";

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

/// The inputs of an ECD image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcdImageArgs {
    /// The source desktop; needed to create (the API cannot report it, so an imported image has none).
    pub desktop_id: Option<String>,
    /// The image name.
    pub image_name: Option<String>,
    /// The image description.
    pub description: Option<String>,
}

/// The outputs of an ECD image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcdImageState {
    /// The source desktop, when known.
    pub desktop_id: Option<String>,
    /// The image name.
    pub image_name: Option<String>,
    /// The image description.
    pub description: Option<String>,
    /// `Creating`, `Available` or `CreateFailed`.
    pub status: String,
}

/// What Check and Diff see of an ECD image's inputs or outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcdImageView {
    /// The source desktop.
    pub desktop_id: Option<String>,
    /// The image name.
    pub image_name: Option<String>,
    /// The image description.
    pub description: Option<String>,
    /// The status (outputs only).
    pub status: Option<String>,
}

impl EcdImageState {
    /// Outputs from what the API reports, plus the source desktop the API cannot report.
    fn of(image: &ApiImage, desktop_id: Option<&str>) -> Self {
        let text = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        EcdImageState {
            desktop_id: desktop_id.map(str::to_string),
            image_name: text(&image.name),
            description: text(&image.description),
            status: image.status.clone(),
        }
    }

    /// The inputs that make this image.
    fn args(&self) -> EcdImageArgs {
        EcdImageArgs {
            desktop_id: self.desktop_id.clone(),
            image_name: self.image_name.clone(),
            description: self.description.clone(),
        }
    }
}

/// The ECD image resource.
pub struct EcdImage {
    spec: &'static ResourceSpec,
}

/// How a wait for an image ended.
enum Waited {
    Done(ApiImage),
    Gone,
}

/// How a DeleteImages ended.
enum Deletion {
    /// Accepted: the image is on its way out.
    Accepted,
    /// Refused, and the image no longer exists.
    Gone,
}

/// Why an image being made did not settle as `Available`.
enum NotReady {
    /// It ended in another status: its id, outputs and the reason to report.
    Ended(String, EcdImageState, String),
    /// Any other failure, as the operation reports it.
    Error(ResourceError),
}

impl From<NotReady> for ResourceError {
    fn from(not_ready: NotReady) -> Self {
        match not_ready {
            NotReady::Ended(id, state, reason) => ResourceError::Partial {
                id,
                outputs: values::encode(&state),
                reason,
            },
            NotReady::Error(err) => err,
        }
    }
}

impl EcdImage {
    /// The resource token.
    pub const TOKEN: &'static str = "alicloud:ecd:Image";

    /// A resource bound to its schema.
    pub fn new(spec: &'static ResourceSpec) -> Self {
        EcdImage { spec }
    }

    /// Polls until the image leaves `Creating` (or is gone), with backoff, reporting progress.
    async fn wait_settled(ctx: &Ctx<'_>, image_id: &str) -> Result<Waited, alicloud::Error> {
        poll(ctx, |started| async move {
            Ok(match ctx.client.describe_ecd_image(&ctx.call, image_id).await? {
                None => Break(Waited::Gone),
                Some(image) if image.status != CREATING => Break(Waited::Done(image)),
                Some(image) => Continue(format!(
                    "waiting for image {image_id} to become {AVAILABLE} (status {}, {}s elapsed)",
                    image.status,
                    started.elapsed().as_secs()
                )),
            })
        })
        .await
    }

    /// Polls until the image is gone.
    async fn wait_gone(ctx: &Ctx<'_>, image_id: &str) -> Result<(), alicloud::Error> {
        poll(ctx, |started| async move {
            Ok(
                match ctx.client.describe_ecd_image(&ctx.call, image_id).await? {
                    None => Break(()),
                    Some(image) => Continue(format!(
                        "waiting for image {image_id} to be deleted (status {}, {}s elapsed)",
                        image.status,
                        started.elapsed().as_secs()
                    )),
                },
            )
        })
        .await
    }

    /// Deletes an image, waiting while the API refuses because the image is still being made.
    async fn delete_and_wait(ctx: &Ctx<'_>, image_id: &str) -> Result<(), alicloud::Error> {
        let deletion = poll(ctx, |_| async move {
            match ctx
                .client
                .delete_ecd_images(&ctx.call, &[image_id.to_string()])
                .await
            {
                Ok(()) => Ok(Break(Deletion::Accepted)),
                Err(err) if err.has_code(DELETE_LATER_CODES) => Ok(Continue(format!(
                    "image {image_id} cannot be deleted yet ({err}); retrying"
                ))),
                // DeleteImages documents no "not found" code: only DescribeImages can say the image is gone
                // (asked with a context of its own: the operation may have been cancelled or timed out).
                Err(err) => match ctx
                    .client
                    .describe_ecd_image(&CallContext::detached(SETTLE_READ), image_id)
                    .await
                {
                    Ok(None) => Ok(Break(Deletion::Gone)),
                    _ => Err(err),
                },
            }
        })
        .await?;
        if let Deletion::Gone = deletion {
            return Ok(());
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
        let ours = self.is_own_autoname(ctx, name, desktop_id);
        match name_use(&existing, ours) {
            NameUse::Free => Self::create_once(ctx, desktop_id, Some(name), description).await,
            NameUse::Resume(image) if image.status == CREATE_FAILED => {
                tracing::info!(image_id = %image.image_id, "removing the failed image of an earlier attempt");
                Self::delete_and_wait(ctx, &image.image_id).await?;
                Self::create_once(ctx, desktop_id, Some(name), description).await
            }
            NameUse::Resume(image) => {
                tracing::info!(image_id = %image.image_id, status = %image.status, "resuming the image of an interrupted create");
                ctx.progress.report(format!(
                    "found image {} ({name}) made by an interrupted create of this resource; resuming it",
                    image.image_id
                ));
                Ok(image.image_id.clone())
            }
            NameUse::Taken(images) => {
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

    /// Whether `name` is the name this resource gives itself from `desktop_id` (see `autoname::reproducible`).
    fn is_own_autoname(&self, ctx: &Ctx<'_>, name: &str, desktop_id: &str) -> bool {
        self.auto_name().is_some_and(|auto| {
            name == autoname::reproducible(auto, ctx.logical_name(), ctx.urn, desktop_id)
        })
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
    /// the image in the state with `last_known` outputs (so the next `pulumi up` goes on waiting, or replaces
    /// a failed image).
    async fn settle(
        ctx: &Ctx<'_>,
        image_id: &str,
        desktop_id: Option<&str>,
        last_known: values::Props,
    ) -> Result<EcdImageState, NotReady> {
        let partial = |reason: String| {
            NotReady::Error(ResourceError::Partial {
                id: image_id.to_string(),
                outputs: last_known.clone(),
                reason,
            })
        };
        match Self::wait_settled(ctx, image_id).await {
            Ok(Waited::Done(image)) if image.status == AVAILABLE => {
                Ok(EcdImageState::of(&image, desktop_id))
            }
            Ok(Waited::Done(image)) => Err(NotReady::Ended(
                image_id.to_string(),
                EcdImageState::of(&image, desktop_id),
                format!(
                    "image {image_id} ended {} instead of {AVAILABLE}; the next `pulumi up` replaces it",
                    image.status
                ),
            )),
            Ok(Waited::Gone) => Err(NotReady::Error(ResourceError::Failed(format!(
                "image {image_id} no longer exists; `pulumi refresh` drops it from the stack"
            )))),
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
                        Ok(EcdImageState::of(&image, desktop_id))
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

/// What a create does with the images that already carry its name.
enum NameUse<'a> {
    /// None does: make the image.
    Free,
    /// One does, and its name is the one this resource derives from its stack, URN and desktop: an attempt
    /// of this resource made it and its answer never reached the state. Resume it (or replace it if it failed).
    Resume(&'a ApiImage),
    /// Images this resource cannot tell it made: refuse, never take them over.
    Taken(&'a [ApiImage]),
}

/// The rule of [`NameUse`]: `ours` says whether the name is this resource's own autoname.
fn name_use(existing: &[ApiImage], ours: bool) -> NameUse<'_> {
    match existing {
        [] => NameUse::Free,
        [image] if ours => NameUse::Resume(image),
        images => NameUse::Taken(images),
    }
}

/// Whether the service says `image` was made no earlier than `sent_at` (allowing [`CLOCK_TOLERANCE`]). An
/// image whose creation time is not reported cannot be told apart, so it is not taken.
fn made_since(image: &ApiImage, sent_at: chrono::DateTime<chrono::Utc>) -> bool {
    image
        .creation_time
        .is_some_and(|t| t >= sent_at - CLOCK_TOLERANCE)
}

#[async_trait]
impl TypedResource for EcdImage {
    type Args = EcdImageArgs;
    type State = EcdImageState;
    type View = EcdImageView;

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

    fn forced_replacement(&self, olds: &EcdImageView, news: &EcdImageView) -> Option<&'static str> {
        // A failed image cannot be repaired in place.
        if olds.status.as_deref() == Some(CREATE_FAILED) {
            return Some(STATUS);
        }
        // CreateImage takes a name that starts with a Chinese character, ModifyImageAttribute does not (it
        // must start with a letter): such a name is given by making a new image.
        let new_name = news.image_name.as_deref();
        let renamed_to_cjk = new_name != olds.image_name.as_deref()
            && new_name
                .and_then(|n| n.chars().next())
                .is_some_and(check::is_cjk);
        renamed_to_cjk.then_some(IMAGE_NAME)
    }

    fn delete_before_replace(&self, urn: &str, olds: &EcdImageView, news: &EcdImageView) -> bool {
        // The name is the only key ECD gives an image, so a replacement under the same name must wait until the
        // old image is gone. An autonamed image (its name kept by Check) is renamed when its desktop changes.
        let Some(old_name) = olds.image_name.as_deref() else {
            return false;
        };
        let new_desktop = news.desktop_id.as_deref();
        let autonamed = self
            .auto_name()
            .zip(olds.desktop_id.as_deref())
            .is_some_and(|(auto, old_desktop)| {
                old_name == autoname::reproducible(auto, logical_name(urn), urn, old_desktop)
            });
        let new_name = match (news.image_name.as_deref(), self.auto_name()) {
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

    fn validate(&self, news: &EcdImageView) -> Vec<Failure> {
        let mut failures = Vec::new();
        if let Some(v) = &news.desktop_id {
            failures.extend(check::id_with_prefix(
                DESKTOP_ID,
                v,
                "ecd-",
                "ecd-7w78ozhjcwa3u2kqb",
            ));
        }
        if let Some(v) = &news.image_name {
            failures.extend(check::name(IMAGE_NAME, v, 2, 128));
        }
        if let Some(v) = &news.description {
            failures.extend(check::description(DESCRIPTION, v, 2, 256));
        }
        failures
    }

    async fn check_create(
        &self,
        ctx: &Ctx<'_>,
        preview: &Preview,
        news: &EcdImageView,
    ) -> Result<(), ResourceError> {
        let (token, resource, region) = (Self::TOKEN, ctx.logical_name(), ctx.client.region());
        let desktop_id = news.desktop_id.as_deref();
        if let Some(desktop) = desktop_id
            && !preview
                .desktop_exists(ctx.client, &ctx.call, desktop)
                .await?
        {
            return Err(ResourceError::Failed(format!(
                "{token} {resource:?}: desktopId {desktop} is not a desktop of this account in region \
                 {region} (`pulumi up` would fail with InvalidDesktopId.NotFound). Check desktopId, or give \
                 the resource a provider configured for the desktop's region"
            )));
        }
        let Some(name) = news.image_name.as_deref() else {
            return Ok(());
        };
        if let Err(other) = preview.claim_image_name(name, ctx.urn) {
            return Err(ResourceError::Failed(format!(
                "{token} {resource:?}: imageName {name:?} is also the name of {token} {:?} in this program; \
                 the name is how this provider tells its images apart (CreateImage takes no client token), \
                 so `pulumi up` would refuse the second image, or make two it cannot tell apart. Give one of \
                 them another imageName",
                logical_name(&other)
            )));
        }
        let existing = preview.images_named(ctx.client, &ctx.call, name).await?;
        // A replacement that keeps the name deletes the old image first.
        let replaced = preview.replaced(ctx.urn);
        let others: Vec<ApiImage> = existing
            .iter()
            .filter(|i| Some(&i.image_id) != replaced.as_ref())
            .cloned()
            .collect();
        let ours = match desktop_id {
            Some(desktop) => self.is_own_autoname(ctx, name, desktop),
            // Without a known desktop, whether a lone image of this name is this resource's own (an
            // interrupted create to resume) cannot be told.
            None if others.len() == 1 => return Ok(()),
            None => false,
        };
        if let NameUse::Taken(images) = name_use(&others, ours) {
            let ids: Vec<&str> = images.iter().map(|i| i.image_id.as_str()).collect();
            let import = match ids.as_slice() {
                [id] => format!("import it (`pulumi import {token} {resource} {id}`)"),
                _ => "import one of them with `pulumi import`".to_string(),
            };
            return Err(ResourceError::Failed(format!(
                "{token} {resource:?}: imageName {name:?} is already used by ECD image {} in region \
                 {region}, which this stack did not make; `pulumi up` would refuse to take it over. Choose \
                 another imageName, or {import} to manage it here",
                ids.join(", ")
            )));
        }
        Ok(())
    }

    async fn create(
        &self,
        ctx: &Ctx<'_>,
        args: &EcdImageArgs,
    ) -> Result<Created<EcdImageState>, ResourceError> {
        let Some(desktop_id) = args.desktop_id.as_deref() else {
            return Err(ResourceError::Failed(
                "desktopId must be known to create an image".into(),
            ));
        };
        let name = args.image_name.as_deref();
        let description = args.description.as_deref();
        let image_id = self
            .create_or_resume(ctx, desktop_id, name, description)
            .await?;
        tracing::info!(%image_id, desktop_id, "waiting for the image");

        let last_known = EcdImageState {
            desktop_id: args.desktop_id.clone(),
            image_name: args.image_name.clone(),
            description: args.description.clone(),
            status: CREATING.into(),
        };
        match Self::settle(
            ctx,
            &image_id,
            Some(desktop_id),
            values::encode(&last_known),
        )
        .await
        {
            Ok(outputs) => Ok(Created {
                id: image_id,
                outputs,
            }),
            // A failed image is of no use and would block a retry under the same name: remove it.
            Err(NotReady::Ended(_, state, reason)) if state.status == CREATE_FAILED => {
                match Self::delete_and_wait(ctx, &image_id).await {
                    Ok(()) => Err(ResourceError::Failed(format!(
                        "image {image_id} from desktop {desktop_id} ended {CREATE_FAILED}; the failed image was deleted"
                    ))),
                    Err(err) => Err(ResourceError::Partial {
                        id: image_id,
                        outputs: values::encode(&state),
                        reason: format!("{reason}; deleting it failed: {err}"),
                    }),
                }
            }
            Err(not_ready) => Err(not_ready.into()),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        state: Option<&EcdImageView>,
    ) -> Result<Lookup<EcdImageState, EcdImageArgs>, ResourceError> {
        let Some(image) = ctx.client.describe_ecd_image(&ctx.call, id).await? else {
            return Ok(Lookup::Missing(format!(
                "there is no ECD image {id} in region {}",
                ctx.client.region()
            )));
        };
        let outputs = EcdImageState::of(&image, state.and_then(|s| s.desktop_id.as_deref()));
        // On refresh, an image that is not ready keeps (or gets) the engine's init errors, so that the next
        // `pulumi up` goes on waiting for it or replaces it instead of taking it for done.
        let unhealthy = match image.status.as_str() {
            _ if state.is_none() => None,
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
            inputs: outputs.args(),
            outputs,
            unhealthy,
        }))
    }

    async fn update(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        olds: &EcdImageView,
        news: &EcdImageArgs,
    ) -> Result<EcdImageState, ResourceError> {
        let name = news
            .image_name
            .as_deref()
            .filter(|_| news.image_name != olds.image_name);
        let description = news
            .description
            .as_deref()
            .filter(|_| news.description != olds.description);
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
        // The old state with the new inputs set over it.
        let last_known = EcdImageView {
            desktop_id: news.desktop_id.clone().or_else(|| olds.desktop_id.clone()),
            image_name: news.image_name.clone().or_else(|| olds.image_name.clone()),
            description: news
                .description
                .clone()
                .or_else(|| olds.description.clone()),
            status: olds.status.clone(),
        };
        // An image whose create timed out or was interrupted is still `Creating`: the engine sends an Update
        // for it, and the update is done only when the image is.
        Ok(Self::settle(
            ctx,
            id,
            last_known.desktop_id.as_deref(),
            values::encode(&last_known),
        )
        .await?)
    }

    async fn delete(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        _state: &EcdImageView,
    ) -> Result<(), ResourceError> {
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
    fn a_name_is_free_resumed_only_when_it_is_the_resources_own_and_lone_or_taken() {
        let one = [image(None)];
        let two = [image(None), image(None)];
        assert!(matches!(name_use(&[], false), NameUse::Free));
        assert!(matches!(name_use(&one, true), NameUse::Resume(_)));
        assert!(matches!(name_use(&one, false), NameUse::Taken([_])));
        assert!(matches!(name_use(&two, true), NameUse::Taken([_, _])));
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
