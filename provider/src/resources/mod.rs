//! The resources this provider manages, one file each, behind one [`Resource`] trait.

mod ecd_image;
mod image_share_list;
mod image_share_permission;
mod poll;

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::alicloud::{self, CallContext, Client, EcsShares};
use crate::check::Failure;
use crate::diff;
use crate::preview::Preview;
use crate::schema::{ResourceSpec, Schema};
use crate::values::{self, Props};

pub use ecd_image::{EcdImage, EcdImageArgs, EcdImageState, EcdImageView};
pub use image_share_list::{ImageShareList, ShareListArgs, ShareListState, ShareListView};
pub use image_share_permission::{
    ImageSharePermission, Share, ShareView, parse_id as parse_share_id,
};

/// Where a resource reports progress of long waits (shown by the engine while it runs).
pub trait Progress: Send + Sync {
    /// Reports one ephemeral progress message.
    fn report(&self, message: String);

    /// Reports a warning, kept among the update's diagnostics.
    fn warn(&self, message: String);
}

/// Which shares of an image a resource's inputs manage: one stack that manages an image's whole list and
/// also another share of it gets a warning, since each would undo the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareClaim {
    /// Every share of this image.
    WholeList(String),
    /// One account's share of this image.
    OneAccount(String),
}

impl ShareClaim {
    /// The image claimed.
    pub fn image_id(&self) -> &str {
        match self {
            ShareClaim::WholeList(id) | ShareClaim::OneAccount(id) => id,
        }
    }
}

/// What a resource operation gets to work with.
pub struct Ctx<'a> {
    /// The resource's URN.
    pub urn: &'a str,
    /// The Alibaba API client.
    pub client: &'a Client,
    /// Batched image sharing through the same client.
    pub shares: &'a EcsShares,
    /// Deadline and cancellation for this operation.
    pub call: CallContext,
    /// Progress reporting for this resource.
    pub progress: &'a dyn Progress,
}

/// A resource that was created, with its outputs as properties or typed (`S`).
#[derive(Debug, Clone, PartialEq)]
pub struct Created<S = Props> {
    /// The provider id.
    pub id: String,
    /// The outputs.
    pub outputs: S,
}

/// A resource as found by Read, with its outputs (`S`) and inputs (`A`) as properties or typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed<S = Props, A = Props> {
    /// The provider id.
    pub id: String,
    /// The outputs.
    pub outputs: S,
    /// The inputs that would produce this resource (for import and `.get`).
    pub inputs: A,
    /// Why the resource, although it exists, is not in a usable state: kept as the engine's init errors, so
    /// that the next update finishes or replaces it.
    pub unhealthy: Option<Unhealthy>,
}

/// What Read found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<S = Props, A = Props> {
    /// The resource exists.
    Found(Observed<S, A>),
    /// It does not exist; why, in words that name what was looked for and where (shown by `pulumi import`
    /// and `.get`, which have no state to drop).
    Missing(String),
}

/// A resource that exists but is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unhealthy {
    /// Not ready yet: the next update waits for it.
    Pending(String),
    /// It failed for good: the next update replaces it.
    Failed(String),
}

/// Default operation timeouts, used when the program sets no `customTimeouts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Create.
    pub create: Duration,
    /// Read (refresh, import, `.get`), which has no `customTimeouts`.
    pub read: Duration,
    /// Update.
    pub update: Duration,
    /// Delete.
    pub delete: Duration,
}

/// Why a resource operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// The id is not of this resource's form.
    #[error("{0}")]
    InvalidId(String),
    /// An Alibaba API call failed.
    #[error(transparent)]
    Api(#[from] alicloud::Error),
    /// Something was created but the operation did not complete; the id must be kept in state.
    #[error("{reason}")]
    Partial {
        /// The id of what exists.
        id: String,
        /// Its last known outputs.
        outputs: Props,
        /// Why the operation did not complete.
        reason: String,
    },
    /// The operation failed and left nothing behind.
    #[error("{0}")]
    Failed(String),
}

/// One resource type as the server sees it: its schema, its rules, and its CRUD on properties. Implemented
/// for every [`TypedResource`], which converts the properties at this one boundary.
#[async_trait]
pub trait Resource: Send + Sync {
    /// This resource's part of the schema.
    fn spec(&self) -> &ResourceSpec;

    /// This resource's exceptions to the generic Diff.
    fn diff_rules(&self) -> diff::Rules<'static> {
        diff::Rules::default()
    }

    /// The name property filled in by autonaming when the program leaves it out, if any.
    fn auto_name(&self) -> Option<crate::autoname::AutoName> {
        None
    }

    /// A replacement the old state or a change the API cannot make in place calls for, beyond the schema's
    /// replace-on-change inputs: the property to show as its cause.
    fn forced_replacement(&self, _olds: &Props, _news: &Props) -> Option<&'static str> {
        None
    }

    /// Whether a replacement must delete the old resource before it creates the new one.
    fn delete_before_replace(&self, _urn: &str, _olds: &Props, _news: &Props) -> bool {
        false
    }

    /// Default timeouts.
    fn timeouts(&self) -> Timeouts;

    /// Puts checked inputs in their one canonical form (a list that is a set, sorted), before validation.
    fn normalize(&self, _news: &mut Props) {}

    /// The image shares these inputs manage, if any.
    fn share_claim(&self, _news: &Props) -> Option<ShareClaim> {
        None
    }

    /// Resource-specific checks of known input values (formats, lengths).
    fn validate(&self, news: &Props) -> Vec<Failure>;

    /// Finds out, with read-only calls only and none about a value that is not known yet, whether `up` would
    /// refuse to create the resource from `inputs` (checked inputs, some perhaps unknown): a preview's Create.
    /// Answers of the calls are kept in `preview` for the process.
    async fn check_create(
        &self,
        _ctx: &Ctx<'_>,
        _preview: &Preview,
        _inputs: &Props,
    ) -> Result<(), ResourceError> {
        Ok(())
    }

    /// Creates the resource from checked inputs.
    async fn create(&self, ctx: &Ctx<'_>, inputs: &Props) -> Result<Created, ResourceError>;

    /// Reads the resource by id. `state` is the last known state (empty on import and `.get`).
    async fn read(&self, ctx: &Ctx<'_>, id: &str, state: &Props) -> Result<Lookup, ResourceError>;

    /// Applies in-place changes; returns the new outputs.
    async fn update(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        olds: &Props,
        news: &Props,
    ) -> Result<Props, ResourceError>;

    /// Deletes the resource; succeeds when it is already gone.
    async fn delete(&self, ctx: &Ctx<'_>, id: &str, state: &Props) -> Result<(), ResourceError>;
}

/// One resource type on typed inputs and outputs: its schema, its validation, and its CRUD against the
/// Alibaba API. Names, required sets and replace-on-change inputs stay in the schema; a test checks the types
/// against it.
#[async_trait]
pub trait TypedResource: Send + Sync {
    /// The inputs, known (Create and Update run only on known values).
    type Args: DeserializeOwned + Serialize + Send + Sync;
    /// The outputs.
    type State: DeserializeOwned + Serialize + Send + Sync;
    /// What Check and Diff can see of inputs or outputs: every field optional, since a value may be unknown
    /// (preview), unset, or not of its type.
    type View: DeserializeOwned + Default + Send + Sync;

    /// This resource's part of the schema.
    fn spec(&self) -> &ResourceSpec;

    /// This resource's exceptions to the generic Diff.
    fn diff_rules(&self) -> diff::Rules<'static> {
        diff::Rules::default()
    }

    /// The name property filled in by autonaming when the program leaves it out, if any.
    fn auto_name(&self) -> Option<crate::autoname::AutoName> {
        None
    }

    /// A replacement the old state or a change the API cannot make in place calls for, beyond the schema's
    /// replace-on-change inputs: the property to show as its cause.
    fn forced_replacement(&self, _olds: &Self::View, _news: &Self::View) -> Option<&'static str> {
        None
    }

    /// Whether a replacement must delete the old resource before it creates the new one.
    fn delete_before_replace(&self, _urn: &str, _olds: &Self::View, _news: &Self::View) -> bool {
        false
    }

    /// Default timeouts.
    fn timeouts(&self) -> Timeouts;

    /// Puts checked inputs in their one canonical form (a list that is a set, sorted), before validation.
    fn normalize(&self, _news: &mut Props) {}

    /// The image shares these inputs manage, if any.
    fn share_claim(&self, _news: &Self::View) -> Option<ShareClaim> {
        None
    }

    /// Resource-specific checks of known input values (formats, lengths).
    fn validate(&self, news: &Self::View) -> Vec<Failure>;

    /// Finds out, with read-only calls only and none about a value that is not known yet (left out of
    /// `news`), whether `up` would refuse to create the resource: a preview's Create. Answers of the calls are
    /// kept in `preview` for the process.
    async fn check_create(
        &self,
        _ctx: &Ctx<'_>,
        _preview: &Preview,
        _news: &Self::View,
    ) -> Result<(), ResourceError> {
        Ok(())
    }

    /// Creates the resource from checked inputs.
    async fn create(
        &self,
        ctx: &Ctx<'_>,
        args: &Self::Args,
    ) -> Result<Created<Self::State>, ResourceError>;

    /// Reads the resource by id. `state` is what is known of the last state (`None` on import and `.get`).
    async fn read(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        state: Option<&Self::View>,
    ) -> Result<Lookup<Self::State, Self::Args>, ResourceError>;

    /// Applies in-place changes from what is known of the old state to the new inputs; returns the new
    /// outputs.
    async fn update(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        olds: &Self::View,
        news: &Self::Args,
    ) -> Result<Self::State, ResourceError>;

    /// Deletes the resource, whose last state is what is known of `state`; succeeds when it is already gone.
    async fn delete(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        state: &Self::View,
    ) -> Result<(), ResourceError>;
}

/// Inputs that do not make `R::Args`: Check lets no such inputs through, so this is a defect of the request.
fn undecodable(spec: &ResourceSpec, err: values::DecodeError) -> ResourceError {
    ResourceError::Failed(format!("invalid inputs for {}: {err}", spec.token))
}

#[async_trait]
impl<R: TypedResource> Resource for R {
    fn spec(&self) -> &ResourceSpec {
        TypedResource::spec(self)
    }

    fn diff_rules(&self) -> diff::Rules<'static> {
        TypedResource::diff_rules(self)
    }

    fn auto_name(&self) -> Option<crate::autoname::AutoName> {
        TypedResource::auto_name(self)
    }

    fn forced_replacement(&self, olds: &Props, news: &Props) -> Option<&'static str> {
        TypedResource::forced_replacement(self, &values::view(olds), &values::view(news))
    }

    fn delete_before_replace(&self, urn: &str, olds: &Props, news: &Props) -> bool {
        TypedResource::delete_before_replace(self, urn, &values::view(olds), &values::view(news))
    }

    fn timeouts(&self) -> Timeouts {
        TypedResource::timeouts(self)
    }

    fn normalize(&self, news: &mut Props) {
        TypedResource::normalize(self, news)
    }

    fn share_claim(&self, news: &Props) -> Option<ShareClaim> {
        TypedResource::share_claim(self, &values::view(news))
    }

    fn validate(&self, news: &Props) -> Vec<Failure> {
        TypedResource::validate(self, &values::view(news))
    }

    async fn check_create(
        &self,
        ctx: &Ctx<'_>,
        preview: &Preview,
        inputs: &Props,
    ) -> Result<(), ResourceError> {
        TypedResource::check_create(self, ctx, preview, &values::view(inputs)).await
    }

    async fn create(&self, ctx: &Ctx<'_>, inputs: &Props) -> Result<Created, ResourceError> {
        let args = values::decode(inputs).map_err(|e| undecodable(self.spec(), e))?;
        let created = TypedResource::create(self, ctx, &args).await?;
        Ok(Created {
            id: created.id,
            outputs: values::encode(&created.outputs),
        })
    }

    async fn read(&self, ctx: &Ctx<'_>, id: &str, state: &Props) -> Result<Lookup, ResourceError> {
        let state = (!state.is_empty()).then(|| values::view(state));
        Ok(
            match TypedResource::read(self, ctx, id, state.as_ref()).await? {
                Lookup::Found(found) => Lookup::Found(Observed {
                    id: found.id,
                    outputs: values::encode(&found.outputs),
                    inputs: values::encode(&found.inputs),
                    unhealthy: found.unhealthy,
                }),
                Lookup::Missing(why) => Lookup::Missing(why),
            },
        )
    }

    async fn update(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        olds: &Props,
        news: &Props,
    ) -> Result<Props, ResourceError> {
        let news = values::decode(news).map_err(|e| undecodable(self.spec(), e))?;
        let outputs = TypedResource::update(self, ctx, id, &values::view(olds), &news).await?;
        Ok(values::encode(&outputs))
    }

    async fn delete(&self, ctx: &Ctx<'_>, id: &str, state: &Props) -> Result<(), ResourceError> {
        TypedResource::delete(self, ctx, id, &values::view(state)).await
    }
}

/// Every resource this provider knows, by token.
/// At preview, every account `image_id` is shared with now (one walk per image and process, kept in
/// `preview`); an error naming the resource `token` of `ctx` when the caller has no such image in the region.
async fn owned_image_shares(
    ctx: &Ctx<'_>,
    preview: &Preview,
    token: &str,
    image_id: &str,
) -> Result<std::sync::Arc<Vec<String>>, ResourceError> {
    let (name, region) = (ctx.logical_name(), ctx.client.region());
    preview
        .shares_of(ctx.client, &ctx.call, image_id)
        .await?
        .ok_or_else(|| {
            ResourceError::Failed(format!(
                "{token} {name:?}: imageId {image_id} is not a custom image of this account in region \
                 {region}: no such image exists there, or it belongs to another account, and only its owner \
                 can share an image (`pulumi up` would fail with InvalidImageId.NotFound). Check imageId, or \
                 give the resource a provider configured for the image's region"
            ))
        })
}

pub fn registry(schema: &'static Schema) -> Vec<Box<dyn Resource>> {
    let spec = |token: &str| {
        // Both tokens are in the embedded schema; the schema tests guard it.
        schema
            .resource(token)
            .unwrap_or_else(|| panic!("schema.json lacks {token}"))
    };
    vec![
        Box::new(ImageSharePermission::new(spec(ImageSharePermission::TOKEN))),
        Box::new(ImageShareList::new(spec(ImageShareList::TOKEN))),
        Box::new(EcdImage::new(spec(EcdImage::TOKEN))),
    ]
}

impl Ctx<'_> {
    /// The resource's name in the program: the last part of its URN.
    pub fn logical_name(&self) -> &str {
        logical_name(self.urn)
    }
}

/// The last part of a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`).
pub fn logical_name(urn: &str) -> &str {
    urn.rsplit("::").next().unwrap_or_default()
}

/// Fills in the schema's defaults for inputs the program left out, then puts the inputs in their canonical
/// form: what the engine records is what Read reports for the same resource.
pub fn complete_inputs(resource: &dyn Resource, news: &mut Props) {
    for (name, default) in &resource.spec().defaults {
        if news.get(name).is_none_or(|v| values::reveal(v).is_null()) {
            news.insert(name.clone(), default.clone());
        }
    }
    resource.normalize(news);
}

/// Everything Check rejects in `news`: the schema's rules, then the resource's own, with the text of every
/// secret input kept out of the messages (they are shown and logged).
pub fn check_inputs(resource: &dyn Resource, olds: &Props, news: &Props) -> Vec<Failure> {
    let mut failures = crate::check::check_schema(
        resource.spec(),
        resource.diff_rules().unobservable,
        olds,
        news,
    );
    failures.extend(resource.validate(news));
    let mut secrets = values::secret_texts(news);
    secrets.extend(values::secret_texts(olds));
    for failure in &mut failures {
        failure.reason = values::redact(&failure.reason, &secrets);
    }
    failures
}

/// How long a read that finds out what an interrupted or ambiguous change did may take. It runs after the
/// operation was cancelled or ran out of time, so the cancel does not stop it, and it is short.
pub const SETTLE_READ: Duration = Duration::from_secs(30);
