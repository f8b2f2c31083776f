//! The gRPC `ResourceProvider`: request plumbing only. Resource knowledge lives in `resources/`.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use prost::Message;
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tonic::codegen::Bytes;
use tonic::{Code, Request, Response, Status};
use tracing::Instrument;

use crate::alicloud::{self, CallContext, Client, EcsShares, Environment};
use crate::autoname;
use crate::check::Failure;
use crate::config;
use crate::diff;
use crate::engine::{Engine, EngineProgress};
use crate::functions::{self, Function};
use crate::overlap::ShareClaims;
use crate::preview::Preview;
use crate::proto::pulumirpc::{
    self, CheckFailure, CheckRequest, CheckResponse, ConfigureRequest, ConfigureResponse,
    CreateRequest, CreateResponse, DeleteRequest, DiffRequest, DiffResponse,
    ErrorResourceInitFailed, GetSchemaRequest, GetSchemaResponse, InvokeRequest, InvokeResponse,
    PluginAttach, PluginInfo, ProviderHandshakeRequest, ProviderHandshakeResponse, ReadRequest,
    ReadResponse, UpdateRequest, UpdateResponse, resource_provider_server::ResourceProvider,
};
use crate::resources::{self, Ctx, Lookup, Resource, ResourceError, Unhealthy};
use crate::schema::{SCHEMA_JSON, Schema};

/// `off` makes every share operation its own calls (no batching): what one call per resource costs, for
/// benchmarks to compare with.
const SHARE_BATCHING: &str = "PULUMI_ALICLOUD_SHARE_BATCHING";
use crate::values::{self, Props};

/// How long a lookup function may take, retries included.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The provider config key of the region.
const REGION: &str = "region";

/// The provider service.
pub struct Provider {
    schema: &'static Schema,
    resources: Vec<Box<dyn Resource>>,
    functions: Vec<Box<dyn Function>>,
    env: Arc<dyn Environment>,
    client: RwLock<Option<(Client, EcsShares)>>,
    cancel: CancellationToken,
    engine: Engine,
    /// What previews learn about the cloud and their plan, for the life of the process.
    preview: Preview,
    share_claims: ShareClaims,
}

/// `google.rpc.Status`, the envelope for typed error details.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// Check failures for the engine. The engine prints the program's value of a property a failure names, so a
/// failure about a secret names no property (its reason names it instead).
fn check_failures(failures: Vec<Failure>, inputs: &Props) -> Vec<CheckFailure> {
    let secret = values::secret_keys(inputs);
    failures
        .into_iter()
        .map(|f| CheckFailure {
            property: if secret.contains(&f.property) {
                String::new()
            } else {
                f.property
            },
            reason: f.reason,
        })
        .collect()
}

/// The resource's logical name: sent by recent engines, else the last part of its URN.
fn logical_name(req: &CheckRequest) -> &str {
    if req.name.is_empty() {
        resources::logical_name(&req.urn)
    } else {
        &req.name
    }
}

/// A span around one resource RPC; opened and closed in the log, so its duration can be measured.
fn rpc_span(method: &'static str, urn: &str) -> tracing::Span {
    tracing::info_span!("rpc", method, urn = %urn)
}

/// The operation timeout: the program's `customTimeouts` when set, else the resource's default.
fn timeout(requested_seconds: f64, default: Duration) -> Duration {
    if requested_seconds > 0.0 && requested_seconds.is_finite() {
        Duration::from_secs_f64(requested_seconds)
    } else {
        default
    }
}

/// Properties for a preview: the inputs, with every output the inputs do not determine left unknown.
fn preview_outputs(resource: &dyn Resource, inputs: &Props) -> Props {
    let mut out = inputs.clone();
    for name in &resource.spec().outputs {
        if !resource.spec().inputs.contains(name) {
            out.insert(name.clone(), values::unknown());
        }
    }
    out
}

/// A failure that leaves a resource behind: the engine keeps `id` with `outputs` and `reasons` as init errors.
fn init_failed(id: String, outputs: &Props, inputs: &Props, reason: String) -> Status {
    let detail = ErrorResourceInitFailed {
        id,
        properties: Some(values::to_struct(outputs)),
        reasons: vec![reason.clone()],
        inputs: Some(values::to_struct(inputs)),
        refresh_before_update: false,
    };
    let envelope = RpcStatus {
        code: Code::Unknown as i32,
        message: reason.clone(),
        details: vec![prost_types::Any {
            type_url: "type.googleapis.com/pulumirpc.ErrorResourceInitFailed".into(),
            value: detail.encode_to_vec(),
        }],
    };
    Status::with_details(Code::Unknown, reason, Bytes::from(envelope.encode_to_vec()))
}

/// What stays secret in one operation's answer: the properties marked secret again in its outputs (the
/// provider accepts secrets, so the engine no longer carries the marking from inputs to outputs), and the text
/// of every secret input, kept out of its messages.
struct Secrets<'a> {
    /// The operation's inputs (or state): sent back with a partial failure, and the source of the texts.
    inputs: &'a Props,
    /// The properties to mark secret.
    keys: BTreeSet<String>,
}

impl<'a> Secrets<'a> {
    /// The secrets of `inputs`.
    fn of(inputs: &'a Props) -> Self {
        Secrets {
            inputs,
            keys: values::secret_keys(inputs),
        }
    }

    /// Marks `keys` too.
    fn and(mut self, keys: impl IntoIterator<Item = String>) -> Self {
        self.keys.extend(keys);
        self
    }

    /// `props` with the secret properties marked.
    fn mark(&self, mut props: Props) -> Props {
        values::mark_secret(&mut props, &self.keys);
        props
    }

    /// A resource failure as a gRPC status; a partial failure carries what exists so the engine keeps it,
    /// with its secrets marked.
    fn status(&self, err: ResourceError) -> Status {
        let texts = values::secret_texts(self.inputs);
        match err {
            ResourceError::InvalidId(msg) => Status::invalid_argument(values::redact(&msg, &texts)),
            ResourceError::Partial {
                id,
                outputs,
                reason,
            } => init_failed(
                id,
                &self.mark(outputs),
                self.inputs,
                values::redact(&reason, &texts),
            ),
            ResourceError::Api(alicloud::Error::Cancelled) => {
                Status::cancelled("the operation was cancelled")
            }
            other => Status::unknown(values::redact(&other.to_string(), &texts)),
        }
    }
}

impl Provider {
    /// A provider reading credentials and settings from `env`.
    pub fn new(env: Arc<dyn Environment>) -> Self {
        let schema = Schema::embedded();
        Provider {
            schema,
            resources: resources::registry(schema),
            functions: functions::registry(schema),
            env,
            client: RwLock::new(None),
            cancel: CancellationToken::new(),
            engine: Engine::default(),
            preview: Preview::default(),
            share_claims: ShareClaims::default(),
        }
    }

    fn resource(&self, urn: &str) -> Result<&dyn Resource, Status> {
        // urn:pulumi:<stack>::<project>::<qualified type>::<name>; the type's last segment is the token.
        let qualified = urn.split("::").nth(2).unwrap_or_default();
        let token = qualified.rsplit('$').next().unwrap_or_default();
        self.resources
            .iter()
            .find(|r| r.spec().token == token)
            .map(|r| r.as_ref())
            .ok_or_else(|| {
                Status::invalid_argument(format!("unknown resource type {token:?} (urn {urn})"))
            })
    }

    /// Runs one RPC about a resource: in its span (opened and closed in the log, so that its duration can be
    /// measured), with the resource its URN names.
    async fn resource_rpc<'a, T, F, Fut>(
        &'a self,
        method: &'static str,
        urn: &'a str,
        rpc: F,
    ) -> Result<Response<T>, Status>
    where
        F: FnOnce(&'a dyn Resource) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        async move { rpc(self.resource(urn)?).await.map(Response::new) }
            .instrument(rpc_span(method, urn))
            .await
    }

    /// Runs one operation against the cloud: with a context whose deadline is `timeout` away and which Cancel
    /// also ends, its failure mapped to a status that keeps `secrets`.
    async fn run<T>(
        &self,
        urn: &str,
        timeout: Duration,
        secrets: &Secrets<'_>,
        op: impl AsyncFnOnce(&Ctx<'_>) -> Result<T, ResourceError>,
    ) -> Result<T, Status> {
        let operation = self.operation(urn, timeout)?;
        let result = op(&operation.ctx()).await;
        // Warnings the operation logged reach the engine before its answer does.
        operation.progress.flush().await;
        result.map_err(|e| secrets.status(e))
    }

    fn client(&self) -> Result<(Client, EcsShares), Status> {
        self.client
            .read()
            .ok()
            .and_then(|c| c.clone())
            .ok_or_else(|| Status::failed_precondition("the alicloud provider is not configured"))
    }

    /// What one resource operation needs: the client, a deadline `timeout` from now that Cancel also ends,
    /// and progress reporting for `urn`.
    fn operation(&self, urn: &str, timeout: Duration) -> Result<Operation, Status> {
        let (client, shares) = self.client()?;
        Ok(Operation {
            urn: urn.to_string(),
            client,
            shares,
            call: CallContext {
                deadline: Instant::now() + timeout,
                cancel: self.cancel.child_token(),
            },
            progress: self.engine.progress(urn),
        })
    }
}

/// The owned parts of a [`Ctx`] for one operation.
struct Operation {
    urn: String,
    client: Client,
    shares: EcsShares,
    call: CallContext,
    progress: EngineProgress,
}

impl Operation {
    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            urn: &self.urn,
            client: &self.client,
            shares: &self.shares,
            call: self.call.clone(),
            progress: &self.progress,
        }
    }
}

#[tonic::async_trait]
impl ResourceProvider for Provider {
    async fn handshake(
        &self,
        request: Request<ProviderHandshakeRequest>,
    ) -> Result<Response<ProviderHandshakeResponse>, Status> {
        self.engine.connect(&request.get_ref().engine_address);
        Ok(Response::new(ProviderHandshakeResponse {
            accept_secrets: true,
            accept_resources: true,
            accept_outputs: false,
            supports_autonaming_configuration: true,
        }))
    }

    async fn get_schema(
        &self,
        request: Request<GetSchemaRequest>,
    ) -> Result<Response<GetSchemaResponse>, Status> {
        let req = request.get_ref();
        if !req.subpackage_name.is_empty() {
            return Err(Status::not_found(format!(
                "alicloud has no subpackage {:?}",
                req.subpackage_name
            )));
        }
        Ok(Response::new(GetSchemaResponse {
            schema: SCHEMA_JSON.to_string(),
        }))
    }

    async fn check_config(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let mut news = values::from_struct(request.get_ref().news.as_ref());
        let failures = config::validate(&self.schema.config, &news);
        // A region taken from the environment or a profile is recorded with the provider, so that a later
        // change of it shows as a replacement instead of silently moving the stack to another region.
        if news.get(REGION).is_none_or(Value::is_null)
            && let Some(region) =
                alicloud::resolve_region(&config::inputs(&news).settings(), self.env.as_ref())
        {
            news.insert(REGION.into(), Value::String(region));
        }
        config::protect_secrets(&self.schema.config, &mut news);
        Ok(Response::new(CheckResponse {
            inputs: Some(values::to_struct(&news)),
            failures: check_failures(failures, &news),
        }))
    }

    async fn diff_config(
        &self,
        request: Request<DiffRequest>,
    ) -> Result<Response<DiffResponse>, Status> {
        let req = request.get_ref();
        let spec = &self.schema.config;
        // Compared as read: `"30"` and `30`, JSON text and objects, the bridged provider's endpoints list and
        // our object are the same setting; keys this provider ignores are no change.
        let olds = config::comparable(
            spec,
            &values::from_struct(req.old_inputs.as_ref().or(req.olds.as_ref())),
        );
        let news = config::comparable(spec, &values::from_struct(req.news.as_ref()));
        let mut changed: Vec<String> = spec
            .variables
            .iter()
            .filter(|k| olds.get(*k) != news.get(*k))
            .cloned()
            .collect();
        changed.sort();
        // Resources live in one region: moving the provider to another one means new resources. A stack whose
        // provider state predates the recorded region keeps its resources.
        let replaces = changed
            .iter()
            .filter(|k| *k == REGION && olds.contains_key(REGION))
            .cloned()
            .collect();
        Ok(Response::new(DiffResponse {
            changes: if changed.is_empty() {
                pulumirpc::diff_response::DiffChanges::DiffNone
            } else {
                pulumirpc::diff_response::DiffChanges::DiffSome
            } as i32,
            replaces,
            diffs: changed,
            ..Default::default()
        }))
    }

    async fn configure(
        &self,
        request: Request<ConfigureRequest>,
    ) -> Result<Response<ConfigureResponse>, Status> {
        let req = request.get_ref();
        let props = match &req.args {
            Some(args) => values::from_struct(Some(args)),
            None => config::from_variables(&self.schema.name, &req.variables),
        };
        let reading = config::read(&self.schema.config, &props);
        if !reading.failures.is_empty() {
            let text: Vec<String> = reading.failures.iter().map(|f| f.reason.clone()).collect();
            return Err(Status::invalid_argument(format!(
                "invalid alicloud configuration: {}",
                text.join("; ")
            )));
        }
        if !reading.ignored.is_empty() {
            tracing::info!(
                keys = %reading.ignored.join(", "),
                "ignoring configuration of the bridged alicloud provider that does not apply here"
            );
        }
        if !reading.unknown.is_empty() {
            // The engine hides a provider's stderr unless it fails: the user sees this through the engine's log.
            let warning = config::unknown_keys_warning(
                &self.schema.name,
                &self.schema.config,
                &reading.unknown,
            );
            tracing::warn!("{warning}");
            self.engine
                .warn(req.urn.as_deref().unwrap_or_default(), warning)
                .await;
        }
        let settings =
            alicloud::resolve_client_config(&reading.inputs.settings(), self.env.as_ref())
                .map_err(|e| Status::failed_precondition(config::configure_error(&e)))?;
        tracing::info!(region = %settings.region, "configured");
        let client =
            Client::new(settings).map_err(|e| Status::failed_precondition(e.to_string()))?;
        // Off only to measure what batching saves (benchmarks); see README.
        let shares = if self.env.var(SHARE_BATCHING).as_deref() == Some("off") {
            tracing::info!("share batching off");
            EcsShares::unbatched(client.clone())
        } else {
            EcsShares::new(client.clone())
        };
        if let Ok(mut slot) = self.client.write() {
            *slot = Some((client, shares));
        }
        Ok(Response::new(ConfigureResponse {
            accept_secrets: true,
            supports_preview: true,
            accept_resources: true,
            accept_outputs: false,
            supports_autonaming_configuration: true,
        }))
    }

    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let req = request.get_ref();
        self.resource_rpc("Check", &req.urn, async |resource| {
            let olds = values::from_struct(req.olds.as_ref());
            let mut news = values::from_struct(req.news.as_ref());
            if let Some(auto) = resource.auto_name() {
                autoname::apply(
                    auto,
                    &olds,
                    &mut news,
                    logical_name(req),
                    &req.urn,
                    req.autonaming.as_ref(),
                );
            }
            resources::complete_inputs(resource, &mut news);
            let failures = resources::check_inputs(resource, &olds, &news);
            if let Some(claim) = resource.share_claim(&news)
                && let Some(warning) = self.share_claims.record(&req.urn, &claim)
            {
                tracing::warn!(urn = %req.urn, "{warning}");
                self.engine.warn(&req.urn, warning).await;
            }
            Ok(CheckResponse {
                inputs: Some(values::to_struct(&news)),
                failures: check_failures(failures, &news),
            })
        })
        .await
    }

    async fn diff(&self, request: Request<DiffRequest>) -> Result<Response<DiffResponse>, Status> {
        let req = request.get_ref();
        self.resource_rpc("Diff", &req.urn, async |resource| {
            let olds = values::from_struct(req.olds.as_ref());
            let news = values::from_struct(req.news.as_ref());
            let mut plan = diff::plan(
                resource.spec(),
                resource.diff_rules(),
                &olds,
                &values::from_struct(req.old_inputs.as_ref()),
                &news,
                &req.ignore_changes,
            );
            if let Some(cause) = resource.forced_replacement(&olds, &news) {
                plan.force_replace(cause);
            }
            // A preview's Create of the replacement may reuse what the old resource holds (its name).
            if !plan.replaces().is_empty() && !req.id.is_empty() {
                self.preview.note_replacement(&req.urn, &req.id);
            }
            let delete_first = !plan.replaces().is_empty()
                && resource.delete_before_replace(&req.urn, &olds, &news);
            let mut response = plan.into_response();
            response.delete_before_replace = delete_first;
            Ok(response)
        })
        .await
    }

    async fn create(
        &self,
        request: Request<CreateRequest>,
    ) -> Result<Response<CreateResponse>, Status> {
        let req = request.get_ref();
        self.resource_rpc("Create", &req.urn, async |resource| {
            let inputs = values::from_struct(req.properties.as_ref());
            if req.preview {
                // What `up` would refuse fails the preview, found with read-only calls. The engine sends this
                // Create only for resources it would create, only once the provider's config is known, and
                // shows an error as "Preview failed: …" on the resource (pulumi v3.184 `sdk/go/common/resource/
                // plugin/provider_plugin.go` Create, `pkg/engine/update.go` OnResourceStepPost). Check, which
                // runs in `up` as well and for unchanged resources too, has no preview flag: no call there.
                self.run(
                    &req.urn,
                    resource.timeouts().read,
                    &Secrets::of(&inputs),
                    async |ctx| resource.check_create(ctx, &self.preview, &inputs).await,
                )
                .await?;
                return Ok(CreateResponse {
                    id: String::new(),
                    properties: Some(values::to_struct(&preview_outputs(resource, &inputs))),
                    refresh_before_update: false,
                });
            }
            let secrets = Secrets::of(&inputs);
            let timeout = timeout(req.timeout, resource.timeouts().create);
            let created = self
                .run(&req.urn, timeout, &secrets, async |ctx| {
                    resource.create(ctx, &inputs).await
                })
                .await?;
            Ok(CreateResponse {
                id: created.id,
                properties: Some(values::to_struct(&secrets.mark(created.outputs))),
                refresh_before_update: false,
            })
        })
        .await
    }

    async fn read(&self, request: Request<ReadRequest>) -> Result<Response<ReadResponse>, Status> {
        let req = request.get_ref();
        self.resource_rpc("Read", &req.urn, async |resource| {
            let state = values::from_struct(req.properties.as_ref());
            let old_inputs = values::from_struct(req.inputs.as_ref());
            let secrets = Secrets::of(&state).and(values::secret_keys(&old_inputs));
            let lookup = self
                .run(&req.urn, resource.timeouts().read, &secrets, async |ctx| {
                    resource.read(ctx, &req.id, &state).await
                })
                .await?;
            let found = match lookup {
                Lookup::Found(found) => found,
                // With no prior state (`pulumi import`, `.get`) there is nothing to drop: say what is missing
                // and where, rather than let the engine report a resource without a name.
                Lookup::Missing(why) if state.is_empty() && old_inputs.is_empty() => {
                    return Err(Status::not_found(why));
                }
                // Gone: an empty id tells the engine to drop it from the state. Only a read that succeeded and
                // found nothing says so; every error above fails the refresh and leaves the state as it was.
                Lookup::Missing(why) => {
                    tracing::info!(id = %req.id, "{why}");
                    return Ok(ReadResponse::default());
                }
            };
            let outputs = secrets.mark(found.outputs);
            let inputs = secrets.mark(found.inputs);
            if let Some(unhealthy) = found.unhealthy {
                let reason = match unhealthy {
                    Unhealthy::Pending(reason) => reason,
                    // The engine turns a refresh's init errors into a warning; a resource that failed for
                    // good is an error to show as one.
                    Unhealthy::Failed(reason) => {
                        self.engine.error(&req.urn, reason.clone()).await;
                        reason
                    }
                };
                return Err(init_failed(found.id, &outputs, &inputs, reason));
            }
            Ok(ReadResponse {
                id: found.id,
                properties: Some(values::to_struct(&outputs)),
                inputs: Some(values::to_struct(&inputs)),
                refresh_before_update: false,
            })
        })
        .await
    }

    async fn update(
        &self,
        request: Request<UpdateRequest>,
    ) -> Result<Response<UpdateResponse>, Status> {
        let req = request.get_ref();
        self.resource_rpc("Update", &req.urn, async |resource| {
            let olds = values::from_struct(req.olds.as_ref());
            let news = values::from_struct(req.news.as_ref());
            let inputs = &resource.spec().inputs;
            if req.preview {
                let mut out = preview_outputs(resource, &news);
                // Outputs the update does not touch keep their known values.
                for (k, v) in &olds {
                    if !inputs.contains(k)
                        && !values::is_unknown(v)
                        && out.get(k).is_some_and(values::is_unknown)
                    {
                        out.insert(k.clone(), v.clone());
                    }
                }
                return Ok(UpdateResponse {
                    properties: Some(values::to_struct(&out)),
                    refresh_before_update: false,
                });
            }
            // Inputs are secret as the program says now; what the program leaves unset, and outputs that are
            // not inputs, stay as they were.
            let unset = |k: &String| news.get(k).is_none_or(|v| values::reveal(v).is_null());
            let secrets = Secrets::of(&news).and(
                values::secret_keys(&olds)
                    .into_iter()
                    .filter(|k| !inputs.contains(k) || unset(k)),
            );
            let timeout = timeout(req.timeout, resource.timeouts().update);
            let outputs = self
                .run(&req.urn, timeout, &secrets, async |ctx| {
                    resource.update(ctx, &req.id, &olds, &news).await
                })
                .await?;
            Ok(UpdateResponse {
                properties: Some(values::to_struct(&secrets.mark(outputs))),
                refresh_before_update: false,
            })
        })
        .await
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<()>, Status> {
        let req = request.get_ref();
        self.resource_rpc("Delete", &req.urn, async |resource| {
            let state = values::from_struct(req.properties.as_ref());
            let timeout = timeout(req.timeout, resource.timeouts().delete);
            self.run(&req.urn, timeout, &Secrets::of(&state), async |ctx| {
                resource.delete(ctx, &req.id, &state).await
            })
            .await
        })
        .await
    }

    async fn invoke(
        &self,
        request: Request<InvokeRequest>,
    ) -> Result<Response<InvokeResponse>, Status> {
        let req = request.get_ref();
        async {
            let function = self
                .functions
                .iter()
                .find(|f| f.spec().token == req.tok)
                .ok_or_else(|| {
                    Status::invalid_argument(format!("unknown function {:?}", req.tok))
                })?;
            let args = values::from_struct(req.args.as_ref());
            let failures = functions::check_args(function.as_ref(), &args);
            if !failures.is_empty() {
                return Ok(Response::new(InvokeResponse {
                    r#return: None,
                    failures: check_failures(failures, &args),
                }));
            }
            let secrets = Secrets::of(&args);
            let result = self
                .run("", INVOKE_TIMEOUT, &secrets, async |ctx| {
                    function.invoke(ctx, &args).await
                })
                .await?;
            Ok(Response::new(InvokeResponse {
                r#return: Some(values::to_struct(&secrets.mark(result))),
                failures: Vec::new(),
            }))
        }
        .instrument(rpc_span("Invoke", &req.tok))
        .await
    }

    async fn cancel(&self, _request: Request<()>) -> Result<Response<()>, Status> {
        tracing::info!("cancel requested: stopping every wait and retry");
        self.cancel.cancel();
        Ok(Response::new(()))
    }

    async fn get_plugin_info(&self, _request: Request<()>) -> Result<Response<PluginInfo>, Status> {
        Ok(Response::new(PluginInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
        }))
    }

    async fn attach(&self, request: Request<PluginAttach>) -> Result<Response<()>, Status> {
        self.engine.connect(&request.get_ref().address);
        Ok(Response::new(()))
    }
}
