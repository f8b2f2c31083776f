//! Provider configuration: parsing what the engine sends, validating it, and turning it into client
//! settings. Names come from the schema's `config.variables`.
//!
//! A stack may also use the bridged Alibaba Cloud provider (`@pulumi/alicloud`, `pulumi_alicloud`). It has
//! the same package name, so both receive the same `alicloud:*` configuration, and each must accept what
//! the other reads. The bridged provider's keys, endpoint services and object shapes below are those of
//! pulumi/pulumi-alicloud v3.105.0 (built from terraform-provider-alicloud v1.285.0): the keys from
//! `sdk/nodejs/config/vars.ts`, the shapes from `sdk/nodejs/types/output.ts` (`config.AssumeRole`,
//! `config.AssumeRoleWithOidc`, `config.Endpoints`, `config.SignVersion`) and its validation from the
//! Terraform provider's `alicloud/provider.go`.
//!
//! Every bridged key is accepted. Those that apply here are schema variables and are honoured; the rest
//! ([`IGNORED_KEYS`]) are accepted by name and logged once. A key neither provider knows is a warning, never
//! an error: a stack shared with a newer bridged provider must keep working.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::alicloud::{self, Setting};
use crate::check::Failure;
use crate::schema::{ConfigSpec, Schema};
use crate::values::{self, Props};

/// What the provider's configuration says (each may be unset), in the configuration's terms; the client
/// crate gets it as [`alicloud::Settings`] from [`ConfigInputs::settings`].
#[derive(Clone, Default)]
pub struct ConfigInputs {
    /// `region`.
    pub region: Option<String>,
    /// `accessKey`.
    pub access_key: Option<String>,
    /// `secretKey`.
    pub secret_key: Option<String>,
    /// `securityToken`.
    pub security_token: Option<String>,
    /// `profile`.
    pub profile: Option<String>,
    /// `endpoints.ecs`.
    pub endpoint_ecs: Option<String>,
    /// `endpoints.ecd`.
    pub endpoint_ecd: Option<String>,
    /// The application calling, as `name/version`, put before the client's own User-Agent.
    pub application: Option<String>,
    /// `sharedCredentialsFile`: the `~/.aliyun/config.json`-style profile file to read.
    pub shared_credentials_file: Option<String>,
    /// `assumeRole`: a RAM role assumed on top of whatever base credentials the chain found.
    pub assume_role: Option<AssumeRoleInputs>,
    /// `assumeRoleWithOidc`: a RAM role assumed with an OIDC token (anonymous STS call).
    pub assume_role_with_oidc: Option<OidcRoleInputs>,
    /// `ecsRoleName`: the ECS instance RAM role to take credentials from (metadata service).
    pub ecs_role_name: Option<String>,
    /// `credentialsUri`: a URL that answers credentials as JSON (`Code: "Success"`).
    pub credentials_uri: Option<String>,
    /// `endpoints.sts`.
    pub endpoint_sts: Option<String>,
    /// `protocol`: `HTTP` or `HTTPS`, the scheme for endpoints given as a bare host or `host:port`.
    pub protocol: Option<String>,
    /// `maxRetryTimeout` in seconds: an upper bound on the time one call spends retrying.
    pub max_retry_timeout: Option<u64>,
    /// `clientReadTimeout` in milliseconds: how long one attempt waits for its answer.
    pub client_read_timeout: Option<u64>,
    /// `clientConnectTimeout` in milliseconds: how long one attempt waits for the connection.
    pub client_connect_timeout: Option<u64>,
    /// `maxCallsInFlight`: calls in flight to one endpoint at most (default 10).
    pub max_calls_in_flight: Option<usize>,
}

/// `assumeRole`, named as in the bridged provider's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssumeRoleInputs {
    /// `roleArn`.
    pub role_arn: String,
    /// `sessionName`.
    pub session_name: Option<String>,
    /// `policy`: a policy document that narrows the role's permissions.
    pub policy: Option<String>,
    /// `sessionExpiration` in seconds (900..=43200).
    pub session_expiration: Option<u64>,
    /// `externalId`.
    pub external_id: Option<String>,
}

/// `assumeRoleWithOidc`, named as in the bridged provider's configuration.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OidcRoleInputs {
    /// `roleArn`.
    pub role_arn: String,
    /// `oidcProviderArn`.
    pub oidc_provider_arn: String,
    /// `oidcToken`: the token itself (a secret).
    pub oidc_token: Option<String>,
    /// `oidcTokenFile`: a file holding the token, read at each refresh.
    pub oidc_token_file: Option<String>,
    /// `roleSessionName`.
    pub role_session_name: Option<String>,
    /// `policy`.
    pub policy: Option<String>,
    /// `durationSeconds`.
    pub duration_seconds: Option<u64>,
}

/// A secret as `Debug` shows it: whether it is set, never its value.
fn redacted(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<redacted>")
}

impl std::fmt::Debug for OidcRoleInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcRoleInputs")
            .field("role_arn", &self.role_arn)
            .field("oidc_provider_arn", &self.oidc_provider_arn)
            .field("oidc_token", &redacted(&self.oidc_token))
            .field("oidc_token_file", &self.oidc_token_file)
            .field("role_session_name", &self.role_session_name)
            .field("policy", &self.policy)
            .field("duration_seconds", &self.duration_seconds)
            .finish()
    }
}

impl std::fmt::Debug for ConfigInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigInputs")
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &redacted(&self.secret_key))
            .field("security_token", &redacted(&self.security_token))
            .field("profile", &self.profile)
            .field(
                "assume_role",
                &self.assume_role.as_ref().map(|r| &r.role_arn),
            )
            .field(
                "assume_role_with_oidc",
                &self.assume_role_with_oidc.as_ref().map(|r| &r.role_arn),
            )
            .field("ecs_role_name", &self.ecs_role_name)
            .field("shared_credentials_file", &self.shared_credentials_file)
            // A credentials URI may carry a token in its query.
            .field(
                "credentials_uri",
                &self.credentials_uri.as_ref().map(|_| "<set>"),
            )
            .field("endpoint_ecs", &self.endpoint_ecs)
            .field("endpoint_ecd", &self.endpoint_ecd)
            .field("endpoint_sts", &self.endpoint_sts)
            .field("protocol", &self.protocol)
            .field("max_retry_timeout", &self.max_retry_timeout)
            .field("client_read_timeout", &self.client_read_timeout)
            .field("client_connect_timeout", &self.client_connect_timeout)
            .finish_non_exhaustive()
    }
}

/// A client setting as the user sets it: `alicloud:<key>`.
fn setting_name(setting: Setting) -> String {
    let key = match setting {
        Setting::Region => REGION,
        Setting::AccessKeyId => ACCESS_KEY,
        Setting::AccessKeySecret => SECRET_KEY,
        Setting::SecurityToken => SECURITY_TOKEN,
        Setting::Profile => PROFILE,
        Setting::SharedCredentialsFile => SHARED_CREDENTIALS_FILE,
        Setting::AssumeRole => ASSUME_ROLE,
        Setting::AssumeRoleWithOidc => ASSUME_ROLE_WITH_OIDC,
        Setting::EcsRoleName => ECS_ROLE_NAME,
        Setting::CredentialsUri => CREDENTIALS_URI,
        Setting::ConnectTimeout => CLIENT_CONNECT_TIMEOUT,
        Setting::ReadTimeout => CLIENT_READ_TIMEOUT,
        Setting::MaxCallsInFlight => MAX_CALLS_IN_FLIGHT,
    };
    format!("alicloud:{key}")
}

impl ConfigInputs {
    /// The client's settings, whose messages name each setting by its `alicloud:` key.
    pub fn settings(&self) -> alicloud::Settings {
        alicloud::Settings {
            region: self.region.clone(),
            credentials: alicloud::credentials::CredentialSettings {
                access_key_id: self.access_key.clone(),
                access_key_secret: self.secret_key.clone(),
                security_token: self.security_token.clone(),
                profile: self.profile.clone(),
                shared_credentials_file: self.shared_credentials_file.clone(),
                assume_role: self.assume_role.as_ref().map(|r| {
                    alicloud::credentials::AssumeRoleSettings {
                        role_arn: r.role_arn.clone(),
                        session_name: r.session_name.clone(),
                        policy: r.policy.clone(),
                        duration_seconds: r.session_expiration,
                        external_id: r.external_id.clone(),
                    }
                }),
                assume_role_with_oidc: self.assume_role_with_oidc.as_ref().map(|r| {
                    alicloud::credentials::OidcRoleSettings {
                        role_arn: r.role_arn.clone(),
                        oidc_provider_arn: r.oidc_provider_arn.clone(),
                        oidc_token: r.oidc_token.clone(),
                        oidc_token_file: r.oidc_token_file.clone(),
                        session_name: r.role_session_name.clone(),
                        policy: r.policy.clone(),
                        duration_seconds: r.duration_seconds,
                    }
                }),
                ecs_role_name: self.ecs_role_name.clone(),
                credentials_uri: self.credentials_uri.clone(),
            },
            ecs_endpoint: self.endpoint_ecs.clone(),
            ecd_endpoint: self.endpoint_ecd.clone(),
            sts_endpoint: self.endpoint_sts.clone(),
            protocol: self.protocol.clone(),
            application: self.application.clone(),
            max_retry_seconds: self.max_retry_timeout,
            read_timeout_ms: self.client_read_timeout,
            connect_timeout_ms: self.client_connect_timeout,
            max_calls_in_flight: self.max_calls_in_flight,
            setting_names: setting_name,
        }
    }
}

/// A client error at Configure as the user reads it: with nothing found anywhere, how to set keys here.
pub fn configure_error(err: &alicloud::Error) -> String {
    let text = err.to_string();
    if matches!(err, alicloud::Error::Credentials(_))
        && text.starts_with("no Alibaba Cloud credentials found")
    {
        format!("{text} (pulumi config set --secret alicloud:secretKey ...)")
    } else {
        text
    }
}

/// Keys the engine may send besides the schema's variables.
const ENGINE_KEYS: &[&str] = &["version", "pluginDownloadURL"];

/// Every configuration key of the bridged provider (pulumi-alicloud v3.105.0, `config/vars.ts`).
pub const BRIDGED_KEYS: &[&str] = &[
    "accessKey",
    "accountId",
    "accountType",
    "assumeRole",
    "assumeRoleWithOidc",
    "clientConnectTimeout",
    "clientReadTimeout",
    "configurationSource",
    "credentialsUri",
    "ecsRoleName",
    "endpoints",
    "fc",
    "logEndpoint",
    "maxRetryTimeout",
    "mnsEndpoint",
    "otsInstanceName",
    "profile",
    "protocol",
    "region",
    "secretKey",
    "secureTransport",
    "securityToken",
    "securityTransport",
    "sharedCredentialsFile",
    "signVersion",
    "skipRegionValidation",
    "sourceIp",
];

/// The bridged keys that do not apply to this provider: accepted, logged once, and otherwise ignored.
/// `accountId` names the account for other services' calls, `configurationSource` tags Terraform's
/// User-Agent, `fc`/`logEndpoint`/`mnsEndpoint`/`otsInstanceName` are deprecated settings of other
/// services, `signVersion` picks OSS and SLS signatures, `skipRegionValidation` skips a region list check
/// this provider does not make (it checks the region's form only), and `sourceIp`, `secureTransport` and
/// `securityTransport` are request conditions of the bridged provider's own AssumeRole calls.
pub const IGNORED_KEYS: &[&str] = &[
    "accountId",
    "configurationSource",
    "fc",
    "logEndpoint",
    "mnsEndpoint",
    "otsInstanceName",
    "secureTransport",
    "securityTransport",
    "signVersion",
    "skipRegionValidation",
    "sourceIp",
];

/// The services of the bridged provider's `endpoints` entries (pulumi-alicloud v3.105.0,
/// `config.Endpoints`). Those this provider does not call are ignored.
pub const BRIDGED_ENDPOINT_SERVICES: &[&str] = &[
    "acr",
    "actiontrail",
    "adb",
    "aiworkspace",
    "alb",
    "alidfs",
    "alidns",
    "alikafka",
    "amqp",
    "antiddosPublic",
    "apig",
    "apigateway",
    "arms",
    "bastionhost",
    "beebot",
    "bpstudio",
    "brainIndustrial",
    "bssopenapi",
    "cas",
    "cassandra",
    "cbn",
    "cbs",
    "cddc",
    "cdn",
    "cds",
    "chatbot",
    "clickhouse",
    "cloudapi",
    "cloudauth",
    "cloudfirewall",
    "cloudfw",
    "cloudphone",
    "cloudsso",
    "cms",
    "computenest",
    "config",
    "cr",
    "cs",
    "das",
    "datahub",
    "dataworksPublic",
    "dataworkspublic",
    "dbfs",
    "dbs",
    "dcdn",
    "ddosbasic",
    "ddosbgp",
    "ddoscoo",
    "dds",
    "devopsRdc",
    "devopsrdc",
    "dfs",
    "dg",
    "dm",
    "dmsEnterprise",
    "dmsenterprise",
    "dns",
    "drds",
    "dts",
    "dysms",
    "dysmsapi",
    "eais",
    "ebs",
    "ecd",
    "eci",
    "ecs",
    "edas",
    "edasschedulerx",
    "edsUser",
    "edsuser",
    "eflo",
    "efloCnp",
    "efloController",
    "ehpc",
    "ehs",
    "eipanycast",
    "elasticsearch",
    "emr",
    "ens",
    "esa",
    "ess",
    "eventbridge",
    "fc",
    "fcOpen",
    "fnf",
    "ga",
    "gaplus",
    "gdb",
    "gds",
    "gpdb",
    "gwlb",
    "gwsecd",
    "hbr",
    "hcsSgw",
    "hitsdb",
    "imm",
    "imp",
    "ims",
    "iot",
    "kms",
    "kvstore",
    "location",
    "log",
    "market",
    "maxcompute",
    "mhub",
    "mns",
    "mnsOpen",
    "mscopensubscription",
    "mse",
    "nas",
    "nlb",
    "oceanbase",
    "oceanbasepro",
    "ons",
    "onsproxy",
    "oos",
    "opensearch",
    "oss",
    "ots",
    "polardb",
    "polardbx",
    "privatelink",
    "pvtz",
    "quickbi",
    "quickbiPublic",
    "quotas",
    "rKvstore",
    "ram",
    "rds",
    "redisa",
    "resourcemanager",
    "resourcesharing",
    "ressharing",
    "rocketmq",
    "ros",
    "sae",
    "sas",
    "scdn",
    "schedulerx2",
    "sddp",
    "selectdb",
    "serverless",
    "servicecatalog",
    "servicemesh",
    "sgw",
    "slb",
    "smartag",
    "srvcatalog",
    "sts",
    "swas",
    "swasOpen",
    "tag",
    "vod",
    "vpc",
    "vpcipam",
    "vpcpeer",
    "vs",
    "waf",
    "wafOpenapi",
];

const REGION: &str = "region";
const ACCESS_KEY: &str = "accessKey";
const SECRET_KEY: &str = "secretKey";
const SECURITY_TOKEN: &str = "securityToken";
const PROFILE: &str = "profile";
const SHARED_CREDENTIALS_FILE: &str = "sharedCredentialsFile";
const ASSUME_ROLE: &str = "assumeRole";
const ASSUME_ROLE_WITH_OIDC: &str = "assumeRoleWithOidc";
const ECS_ROLE_NAME: &str = "ecsRoleName";
const CREDENTIALS_URI: &str = "credentialsUri";
const ENDPOINTS: &str = "endpoints";
const PROTOCOL: &str = "protocol";
const MAX_RETRY_TIMEOUT: &str = "maxRetryTimeout";
const CLIENT_READ_TIMEOUT: &str = "clientReadTimeout";
const CLIENT_CONNECT_TIMEOUT: &str = "clientConnectTimeout";
const ACCOUNT_TYPE: &str = "accountType";
const MAX_CALLS_IN_FLIGHT: &str = "maxCallsInFlight";

/// Keys of this provider's own, which the bridged provider does not have.
pub const OWN_KEYS: &[&str] = &[MAX_CALLS_IN_FLIGHT];

/// Every key read below; each must be a schema variable.
pub const HONOURED_KEYS: &[&str] = &[
    REGION,
    ACCESS_KEY,
    SECRET_KEY,
    SECURITY_TOKEN,
    PROFILE,
    SHARED_CREDENTIALS_FILE,
    ASSUME_ROLE,
    ASSUME_ROLE_WITH_OIDC,
    ECS_ROLE_NAME,
    CREDENTIALS_URI,
    ENDPOINTS,
    PROTOCOL,
    MAX_RETRY_TIMEOUT,
    CLIENT_READ_TIMEOUT,
    CLIENT_CONNECT_TIMEOUT,
    ACCOUNT_TYPE,
    MAX_CALLS_IN_FLIGHT,
];

/// The schemes `protocol` takes (exactly, as the bridged provider checks them).
const PROTOCOLS: &[&str] = &["HTTP", "HTTPS"];
/// The account types `accountType` takes (any case, as the bridged provider checks them).
const ACCOUNT_TYPES: &[&str] = &["Domestic", "International"];
/// The largest whole number a setting takes: the bridged provider's integers are 32-bit.
const MAX_WHOLE: u64 = i32::MAX as u64;
/// An STS session's length in seconds: AssumeRole's `DurationSeconds` range (the role's maximum session
/// duration may lower the top).
const SESSION_SECONDS: (u64, u64) = (900, 43_200);

const ASSUME_ROLE_FIELDS: &[&str] = &[
    "roleArn",
    "sessionName",
    "policy",
    "sessionExpiration",
    "externalId",
];
/// `durationSeconds` is accepted as another name of `sessionExpiration` (the STS parameter's name).
const OIDC_FIELDS: &[&str] = &[
    "roleArn",
    "oidcProviderArn",
    "oidcToken",
    "oidcTokenFile",
    "roleSessionName",
    "policy",
    "sessionExpiration",
    "durationSeconds",
];

const ROLE_EXAMPLE: &str = r#"{"roleArn": "acs:ram::<account>:role/<name>"}"#;
const ENDPOINTS_EXAMPLE: &str = r#"{"ecs": "ecs-vpc.cn-hangzhou.aliyuncs.com"} or the bridged provider's list [{"ecs": "..."}]"#;

/// What a configuration says, read into the client's settings.
#[derive(Debug, Default)]
pub struct Reading {
    /// The client settings.
    pub inputs: ConfigInputs,
    /// `accountType`, spelled `Domestic` or `International`. Only default endpoints could depend on it,
    /// and those of ECS, ECD and STS do not, so nothing else reads it.
    pub account_type: Option<String>,
    /// Bridged keys, and `endpoints.<service>` entries of bridged services, that this provider ignores.
    pub ignored: Vec<String>,
    /// Keys, and `endpoints.<service>` entries, that neither provider knows.
    pub unknown: Vec<String>,
    /// Values that cannot be used: each names its key and what is allowed. Secrets are redacted.
    pub failures: Vec<Failure>,
}

/// Reads config from Configure's legacy `variables` map (`alicloud:config:region` → `region`).
pub fn from_variables(package: &str, variables: &HashMap<String, String>) -> Props {
    let prefix = format!("{package}:config:");
    variables
        .iter()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix(&prefix)?;
            // Object-valued config (endpoints, assumeRole) arrives JSON-encoded.
            let value = serde_json::from_str::<Value>(v)
                .ok()
                .filter(|v| v.is_object() || v.is_array())
                .unwrap_or_else(|| Value::String(v.clone()));
            Some((key.to_string(), value))
        })
        .collect()
}

/// A value with every secret wrapper removed, at any depth.
fn plain(v: &Value) -> Value {
    match values::reveal(v) {
        Value::Array(a) => Value::Array(a.iter().map(plain).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        other => other.clone(),
    }
}

/// Unknown until the update runs (preview).
fn is_unknown(v: &Value) -> bool {
    matches!(v, Value::String(s) if s == values::UNKNOWN)
}

/// What kind of value this is, for messages that must not repeat it.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A scalar as a message shows it; other values by their kind.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => kind(other).to_string(),
    }
}

/// A string setting; unset when null or unknown.
fn text(name: &str, v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        v if is_unknown(v) => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(format!("'{name}' must be a string, got {}", kind(other))),
    }
}

/// A whole number within `min..=max`, given as a number or as text (`pulumi config set` stores text).
fn whole(name: &str, v: &Value, unit: &str, (min, max): (u64, u64)) -> Result<Option<u64>, String> {
    let bad = || {
        format!(
            "'{name}' must be a whole number of {unit} from {min} to {max}, got {}",
            shown(v)
        )
    };
    let n = match v {
        Value::Null => return Ok(None),
        v if is_unknown(v) => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<f64>().map_err(|_| bad())?,
        Value::Number(n) => n.as_f64().ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    if !n.is_finite() || n.fract() != 0.0 || n < min as f64 || n > max as f64 {
        return Err(bad());
    }
    // In range and whole, so exact.
    Ok(Some(n as u64))
}

/// A whole number where 0 means "the default", as in the bridged provider.
fn whole_or_default(name: &str, v: &Value, unit: &str) -> Result<Option<u64>, String> {
    Ok(whole(name, v, unit, (0, MAX_WHOLE))?.filter(|n| *n > 0))
}

/// An object setting: an object, a list of one (Terraform's block form), or JSON text of either.
fn object(name: &str, v: &Value, example: &str) -> Result<Option<Map<String, Value>>, String> {
    match v {
        Value::Null => Ok(None),
        v if is_unknown(v) => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Null) => Ok(None),
            Ok(parsed @ (Value::Object(_) | Value::Array(_))) => object(name, &parsed, example),
            _ => Err(format!(
                "'{name}' must be an object such as {example}, got text that is not a JSON object"
            )),
        },
        Value::Object(m) => Ok(Some(m.clone())),
        Value::Array(items) => match items.as_slice() {
            [] => Ok(None),
            [one @ Value::Object(_)] => Ok(one.as_object().cloned()),
            _ => Err(format!(
                "'{name}' must be one object such as {example}, got a list of {} items",
                items.len()
            )),
        },
        other => Err(format!(
            "'{name}' must be an object such as {example}, got {}",
            kind(other)
        )),
    }
}

/// Reads the fields of an object setting, collecting what is wrong with them.
struct Fields<'a> {
    key: &'static str,
    map: &'a Map<String, Value>,
    reasons: Vec<String>,
    /// A required field is unknown (preview): the object cannot be built yet, and that is no failure.
    pending: bool,
}

impl<'a> Fields<'a> {
    fn new(key: &'static str, map: &'a Map<String, Value>, allowed: &[&str]) -> Self {
        let reasons = map
            .keys()
            .filter(|f| !allowed.contains(&f.as_str()))
            .map(|f| {
                format!(
                    "unknown field '{key}.{f}'; '{key}' takes: {}",
                    allowed.join(", ")
                )
            })
            .collect();
        Fields {
            key,
            map,
            reasons,
            pending: false,
        }
    }

    fn path(&self, field: &str) -> String {
        format!("{}.{field}", self.key)
    }

    fn get(&self, field: &str) -> &Value {
        self.map.get(field).unwrap_or(&Value::Null)
    }

    fn text(&mut self, field: &str) -> Option<String> {
        text(&self.path(field), self.get(field)).unwrap_or_else(|reason| {
            self.reasons.push(reason);
            None
        })
    }

    /// A policy document: text, or an object written out as JSON.
    fn policy(&mut self, field: &str) -> Option<String> {
        match self.get(field) {
            Value::Object(doc) => Some(Value::Object(doc.clone()).to_string()),
            _ => self.text(field),
        }
    }

    fn required(&mut self, field: &str) -> Option<String> {
        if is_unknown(self.get(field)) {
            self.pending = true;
            return None;
        }
        match self.text(field) {
            Some(v) if !v.trim().is_empty() => Some(v),
            // A value of the wrong kind has been reported by `text`.
            None if !self.get(field).is_null() => None,
            _ => {
                self.reasons
                    .push(format!("'{}' is required", self.path(field)));
                None
            }
        }
    }

    /// An STS session length; 0 means Alibaba's default, as in the bridged provider.
    fn session_seconds(&mut self, field: &str) -> Option<u64> {
        let v = self.get(field);
        if matches!(v, Value::Number(n) if n.as_f64() == Some(0.0))
            || matches!(v, Value::String(s) if s.trim() == "0")
        {
            return None;
        }
        whole(&self.path(field), v, "seconds", SESSION_SECONDS).unwrap_or_else(|reason| {
            self.reasons.push(reason);
            None
        })
    }
}

fn assume_role(v: &Value) -> Result<Option<AssumeRoleInputs>, Vec<String>> {
    let Some(map) = object(ASSUME_ROLE, v, ROLE_EXAMPLE).map_err(|e| vec![e])? else {
        return Ok(None);
    };
    let mut f = Fields::new(ASSUME_ROLE, &map, ASSUME_ROLE_FIELDS);
    let role_arn = f.required("roleArn");
    let role = AssumeRoleInputs {
        role_arn: role_arn.unwrap_or_default(),
        session_name: f.text("sessionName"),
        policy: f.policy("policy"),
        session_expiration: f.session_seconds("sessionExpiration"),
        external_id: f.text("externalId"),
    };
    if !f.reasons.is_empty() {
        return Err(f.reasons);
    }
    Ok((!f.pending).then_some(role))
}

fn assume_role_with_oidc(v: &Value) -> Result<Option<OidcRoleInputs>, Vec<String>> {
    let example = r#"{"roleArn": "acs:ram::<account>:role/<name>", "oidcProviderArn": "acs:ram::<account>:oidc-provider/<name>", "oidcTokenFile": "/var/run/secrets/tokens/oidc-token"}"#;
    let Some(map) = object(ASSUME_ROLE_WITH_OIDC, v, example).map_err(|e| vec![e])? else {
        return Ok(None);
    };
    let mut f = Fields::new(ASSUME_ROLE_WITH_OIDC, &map, OIDC_FIELDS);
    let role_arn = f.required("roleArn");
    let provider_arn = f.required("oidcProviderArn");
    let expiration = f.session_seconds("sessionExpiration");
    let duration = f.session_seconds("durationSeconds");
    if let (Some(a), Some(b)) = (expiration, duration)
        && a != b
    {
        f.reasons.push(format!(
            "'{ASSUME_ROLE_WITH_OIDC}.sessionExpiration' and its other name 'durationSeconds' differ ({a} and {b}); set one"
        ));
    }
    let role = OidcRoleInputs {
        role_arn: role_arn.unwrap_or_default(),
        oidc_provider_arn: provider_arn.unwrap_or_default(),
        oidc_token: f.text("oidcToken"),
        oidc_token_file: f.text("oidcTokenFile"),
        role_session_name: f.text("roleSessionName"),
        policy: f.policy("policy"),
        duration_seconds: expiration.or(duration),
    };
    if !f.reasons.is_empty() {
        return Err(f.reasons);
    }
    Ok((!f.pending).then_some(role))
}

/// The entries of `endpoints`: our object `{ecs, ecd, sts}`, the bridged provider's list
/// `[{ecs, ecd, sts, <other services>}]`, or JSON text of either.
fn endpoint_entries(v: &Value) -> Result<Vec<(String, Value)>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        v if is_unknown(v) => Ok(Vec::new()),
        Value::String(s) if s.trim().is_empty() => Ok(Vec::new()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(parsed @ (Value::Object(_) | Value::Array(_) | Value::Null)) => {
                endpoint_entries(&parsed)
            }
            _ => Err(format!(
                "'{ENDPOINTS}' must be an object such as {ENDPOINTS_EXAMPLE}, got {s:?}"
            )),
        },
        Value::Object(m) => Ok(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Value::Array(items) => {
            let mut entries = Vec::new();
            for item in items {
                match item {
                    Value::Null => {}
                    Value::Object(m) => {
                        entries.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())))
                    }
                    other => {
                        return Err(format!(
                            "'{ENDPOINTS}' list items must be objects such as {{\"ecs\": \"ecs-vpc.cn-hangzhou.aliyuncs.com\"}}, got {}",
                            kind(other)
                        ));
                    }
                }
            }
            Ok(entries)
        }
        other => Err(format!(
            "'{ENDPOINTS}' must be an object such as {ENDPOINTS_EXAMPLE}, got {}",
            kind(other)
        )),
    }
}

/// Whether an endpoint is usable as given: a host, `host:port`, or an http(s) URL.
fn endpoint_ok(url: &str) -> bool {
    let scheme_ok = match url.split_once("://") {
        Some((scheme, rest)) => {
            (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
                && !rest.is_empty()
        }
        None => true,
    };
    scheme_ok && !url.trim().is_empty() && !url.contains(char::is_whitespace)
}

fn region_ok(region: &str) -> bool {
    region.split('-').count() >= 2
        && region.split('-').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

impl Reading {
    /// Reads one schema variable.
    fn take(&mut self, spec: &ConfigSpec, key: &str, v: &Value) -> Result<(), Vec<String>> {
        let one = |r: Result<Option<String>, String>| r.map_err(|e| vec![e]);
        let inputs = &mut self.inputs;
        match key {
            REGION => {
                let region = one(text(key, v))?;
                if let Some(r) = &region
                    && !region_ok(r)
                {
                    return Err(vec![format!(
                        "'region' must be an Alibaba Cloud region id such as cn-hangzhou, got {r:?}"
                    )]);
                }
                inputs.region = region;
            }
            ACCESS_KEY => inputs.access_key = one(text(key, v))?,
            SECRET_KEY => inputs.secret_key = one(text(key, v))?,
            SECURITY_TOKEN => inputs.security_token = one(text(key, v))?,
            PROFILE => inputs.profile = one(text(key, v))?,
            SHARED_CREDENTIALS_FILE => inputs.shared_credentials_file = one(text(key, v))?,
            ECS_ROLE_NAME => inputs.ecs_role_name = one(text(key, v))?,
            CREDENTIALS_URI => {
                let uri = one(text(key, v))?;
                if let Some(u) = &uri
                    && !(u.starts_with("http://") || u.starts_with("https://"))
                {
                    return Err(vec![format!(
                        "'credentialsUri' must be an http(s) URL, got {u:?}"
                    )]);
                }
                inputs.credentials_uri = uri;
            }
            PROTOCOL => {
                let protocol = one(text(key, v))?;
                if let Some(p) = &protocol
                    && !PROTOCOLS.contains(&p.as_str())
                {
                    return Err(vec![format!("'protocol' must be HTTP or HTTPS, got {p:?}")]);
                }
                inputs.protocol = protocol;
            }
            ACCOUNT_TYPE => {
                let Some(t) = one(text(key, v))? else {
                    return Ok(());
                };
                let known = ACCOUNT_TYPES.iter().find(|k| k.eq_ignore_ascii_case(&t));
                let Some(known) = known else {
                    return Err(vec![format!(
                        "'accountType' must be Domestic or International, got {t:?}"
                    )]);
                };
                self.account_type = Some(known.to_string());
            }
            MAX_RETRY_TIMEOUT => {
                inputs.max_retry_timeout =
                    whole_or_default(key, v, "seconds").map_err(|e| vec![e])?;
            }
            CLIENT_READ_TIMEOUT => {
                inputs.client_read_timeout =
                    whole_or_default(key, v, "milliseconds").map_err(|e| vec![e])?;
            }
            CLIENT_CONNECT_TIMEOUT => {
                inputs.client_connect_timeout =
                    whole_or_default(key, v, "milliseconds").map_err(|e| vec![e])?;
            }
            MAX_CALLS_IN_FLIGHT => {
                inputs.max_calls_in_flight = whole(key, v, "calls", (1, 1000))
                    .map_err(|e| vec![e])?
                    .map(|n| n as usize);
            }
            ASSUME_ROLE => inputs.assume_role = assume_role(v)?,
            ASSUME_ROLE_WITH_OIDC => inputs.assume_role_with_oidc = assume_role_with_oidc(v)?,
            ENDPOINTS => self.endpoints(spec, v)?,
            // A variable the schema adds without a rule here is a string.
            _ => {
                one(text(key, v))?;
            }
        }
        Ok(())
    }

    fn endpoints(&mut self, spec: &ConfigSpec, v: &Value) -> Result<(), Vec<String>> {
        let entries = endpoint_entries(v).map_err(|e| vec![e])?;
        let mut reasons = Vec::new();
        let mut chosen: BTreeMap<String, String> = BTreeMap::new();
        for (service, url) in entries {
            if !spec.endpoint_services.contains(&service) {
                let name = format!("{ENDPOINTS}.{service}");
                if BRIDGED_ENDPOINT_SERVICES.contains(&service.as_str()) {
                    self.ignored.push(name);
                } else {
                    self.unknown.push(name);
                }
                continue;
            }
            match &url {
                Value::Null => {}
                url if is_unknown(url) => {}
                Value::String(u) if endpoint_ok(u) => {
                    match chosen.get(&service) {
                        Some(before) if before != u => reasons.push(format!(
                            "endpoints.{service} is given twice with different values; give it once"
                        )),
                        _ => {
                            chosen.insert(service, u.clone());
                        }
                    }
                }
                other => reasons.push(format!(
                    "endpoints.{service} must be a host name, host:port or an http(s)://host[:port] URL, got {}",
                    shown(other)
                )),
            }
        }
        if !reasons.is_empty() {
            return Err(reasons);
        }
        self.inputs.endpoint_ecs = chosen.remove("ecs");
        self.inputs.endpoint_ecd = chosen.remove("ecd");
        self.inputs.endpoint_sts = chosen.remove("sts");
        Ok(())
    }
}

/// Every text a message must not repeat: the texts inside secrets, the values of the schema's secret
/// variables and fields even when they arrive unmarked, and the values inside JSON text held in a secret.
fn secret_texts(spec: &ConfigSpec, props: &Props) -> Vec<String> {
    fn leaves(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Array(a) => a.iter().for_each(|v| leaves(v, out)),
            Value::Object(o) => o.values().for_each(|v| leaves(v, out)),
            _ => {}
        }
    }
    fn json_in_secrets(v: &Value, inside: bool, out: &mut Vec<String>) {
        let inside = inside || values::is_secret(v);
        match values::reveal(v) {
            Value::String(s) if inside => {
                if let Ok(parsed @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(s) {
                    leaves(&parsed, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| json_in_secrets(v, inside, out)),
            Value::Object(o) => o.values().for_each(|v| json_in_secrets(v, inside, out)),
            _ => {}
        }
    }
    let mut guarded = props.clone();
    protect_secrets(spec, &mut guarded);
    let mut texts = values::secret_texts(&guarded);
    guarded
        .values()
        .for_each(|v| json_in_secrets(v, false, &mut texts));
    texts.retain(|s| s.chars().count() >= values::MIN_REDACTED);
    texts.sort_by_key(|s| Reverse(s.len()));
    texts.dedup();
    texts
}

/// Reads a configuration: the client settings, the keys ignored or unknown, and what is wrong.
pub fn read(spec: &ConfigSpec, props: &Props) -> Reading {
    let mut reading = Reading {
        inputs: ConfigInputs {
            application: Some(format!("pulumi-alicloud-rs/{}", env!("CARGO_PKG_VERSION"))),
            ..ConfigInputs::default()
        },
        ..Reading::default()
    };
    let mut pending = BTreeSet::new();
    for (key, raw) in props {
        if key.starts_with("__") || ENGINE_KEYS.contains(&key.as_str()) {
            continue;
        }
        if !spec.variables.contains(key) {
            if IGNORED_KEYS.contains(&key.as_str()) {
                reading.ignored.push(key.clone());
            } else {
                reading.unknown.push(key.clone());
            }
            continue;
        }
        let value = plain(raw);
        if is_unknown(&value) {
            pending.insert(key.as_str());
        }
        if let Err(reasons) = reading.take(spec, key, &value) {
            reading
                .failures
                .extend(reasons.into_iter().map(|r| Failure::new(key, r)));
        }
    }
    let inputs = &reading.inputs;
    let has = |k: &str, v: &Option<String>| v.is_some() || pending.contains(k);
    let (has_key, has_secret) = (
        has(ACCESS_KEY, &inputs.access_key),
        has(SECRET_KEY, &inputs.secret_key),
    );
    if has_key != has_secret {
        reading.failures.push(Failure::new(
            if has_key { SECRET_KEY } else { ACCESS_KEY },
            "'accessKey' and 'secretKey' must be set together",
        ));
    }
    if inputs.security_token.is_some() && !has_key {
        reading.failures.push(Failure::new(
            SECURITY_TOKEN,
            "'securityToken' needs 'accessKey' and 'secretKey' as well",
        ));
    }
    let secrets = secret_texts(spec, props);
    for failure in &mut reading.failures {
        failure.reason = values::redact(&failure.reason, &secrets);
    }
    reading.ignored.sort();
    reading.ignored.dedup();
    reading.unknown.sort();
    reading.unknown.dedup();
    reading
}

/// Validates provider config; failures name the key and what is allowed. Keys this provider does not
/// read are no failure (see [`read`]).
pub fn validate(spec: &ConfigSpec, props: &Props) -> Vec<Failure> {
    read(spec, props).failures
}

/// The settings the client needs; environment and profile fallbacks are applied by the client.
pub fn inputs(props: &Props) -> ConfigInputs {
    read(&Schema::embedded().config, props).inputs
}

/// The warning for keys neither provider knows: they have no effect, which is worth a look (a typo).
pub fn unknown_keys_warning(package: &str, spec: &ConfigSpec, unknown: &[String]) -> String {
    let names: Vec<String> = unknown.iter().map(|k| format!("'{package}:{k}'")).collect();
    let (noun, pronoun) = if unknown.len() == 1 {
        ("key", "it")
    } else {
        ("keys", "them")
    };
    format!(
        "ignoring unknown configuration {noun} {}: neither this provider nor the bridged Alibaba Cloud provider reads {pronoun}; check the spelling. Keys this provider reads: {}; endpoints: {}",
        names.join(", "),
        spec.variables.join(", "),
        spec.endpoint_services.join(", "),
    )
}

/// Marks the schema's secret variables, and the secret fields of its object variables, as secrets, so they
/// stay secret in state. An object variable given as JSON text (or a list of one) that holds a secret field
/// is kept as the object it holds, so that the field can be marked.
pub fn protect_secrets(spec: &ConfigSpec, props: &mut Props) {
    let mark = |v: &mut Value| {
        if !v.is_null() && !values::is_secret(v) {
            *v = values::secret(v.take());
        }
    };
    for key in &spec.secrets {
        if let Some(v) = props.get_mut(key) {
            mark(v);
        }
    }
    for (key, fields) in &spec.secret_fields {
        let Some(v) = props.get_mut(key) else {
            continue;
        };
        if !v.is_object()
            && let Ok(Some(held)) = object(key, values::reveal(v), "")
            && fields.iter().any(|f| held.contains_key(f))
        {
            // A secret stays one whole; its parts need no marks of their own.
            if values::is_secret(v) {
                continue;
            }
            *v = Value::Object(held);
        }
        if let Value::Object(m) = v
            && !values::is_secret(&Value::Object(m.clone()))
        {
            for field in fields {
                if let Some(f) = m.get_mut(field) {
                    mark(f);
                }
            }
        }
    }
}

/// Each variable's value in one form, for comparing configurations: secrets revealed, JSON text parsed,
/// numbers as numbers, only the endpoints this provider calls, and defaults (null, 0, no endpoints) left out.
/// Values that do not read are kept as they are.
pub fn comparable(spec: &ConfigSpec, props: &Props) -> BTreeMap<String, Value> {
    spec.variables
        .iter()
        .filter_map(|key| {
            let v = plain(props.get(key)?);
            let value = match key.as_str() {
                ASSUME_ROLE | ASSUME_ROLE_WITH_OIDC => match object(key, &v, "") {
                    Ok(m) => m.map(Value::Object),
                    Err(_) => Some(v),
                },
                ENDPOINTS => match endpoint_entries(&v) {
                    Ok(entries) => {
                        let ours: Map<String, Value> = entries
                            .into_iter()
                            .filter(|(s, u)| spec.endpoint_services.contains(s) && !u.is_null())
                            .collect();
                        (!ours.is_empty()).then_some(Value::Object(ours))
                    }
                    Err(_) => Some(v),
                },
                MAX_RETRY_TIMEOUT | CLIENT_READ_TIMEOUT | CLIENT_CONNECT_TIMEOUT => {
                    match whole_or_default(key, &v, "") {
                        Ok(n) => n.map(Value::from),
                        Err(_) => Some(v),
                    }
                }
                _ => (!v.is_null()).then_some(v),
            };
            Some((key.clone(), value?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> &'static ConfigSpec {
        &Schema::embedded().config
    }

    fn check(v: Value) -> Vec<String> {
        let props = v.as_object().cloned().unwrap_or_default();
        validate(spec(), &props)
            .into_iter()
            .map(|f| format!("{}: {}", f.property, f.reason))
            .collect()
    }

    fn reading(v: Value) -> Reading {
        read(spec(), v.as_object().unwrap())
    }

    #[test]
    fn valid_configs_pass() {
        assert!(check(json!({})).is_empty());
        assert!(check(json!({"region": "cn-hangzhou", "accessKey": "a", "secretKey": values::secret(json!("s")), "version": "0.1.0"})).is_empty());
        assert!(
            check(json!({"endpoints": {"ecs": "http://127.0.0.1:9", "ecd": "ecd.vpc.example"}}))
                .is_empty()
        );
        assert!(check(json!({"endpoints": "{\"ecs\":\"http://127.0.0.1:9\"}"})).is_empty());
        assert!(check(json!({"endpoints": [{"ecs": "127.0.0.1:9", "oss": "x"}]})).is_empty());
        assert!(check(json!({"endpoints": "[{\"sts\":\"127.0.0.1:9\"}]"})).is_empty());
        assert!(check(json!({"region": values::UNKNOWN})).is_empty());
        assert!(
            check(json!({"accessKey": values::UNKNOWN, "secretKey": "s"})).is_empty(),
            "an unknown key is no missing key"
        );
        assert!(check(json!({"protocol": "HTTP", "accountType": "international", "maxRetryTimeout": "30", "clientReadTimeout": 5000, "clientConnectTimeout": "0"})).is_empty());
        assert!(
            check(
                json!({"assumeRole": {"roleArn": "acs:ram::1:role/r", "sessionExpiration": 3600}})
            )
            .is_empty()
        );
        assert!(
            check(
                json!({"assumeRole": "{\"roleArn\":\"acs:ram::1:role/r\",\"sessionExpiration\":0}"})
            )
            .is_empty()
        );
        assert!(check(json!({"assumeRole": [{"roleArn": "acs:ram::1:role/r"}]})).is_empty());
        assert!(check(json!({"assumeRole": {"roleArn": values::UNKNOWN}})).is_empty());
        assert!(check(json!({"assumeRoleWithOidc": values::secret(json!("{\"roleArn\":\"r\",\"oidcProviderArn\":\"p\",\"oidcToken\":\"t\"}"))})).is_empty());
    }

    #[test]
    fn bad_configs_name_the_key() {
        let cases = [
            (
                json!({"region": "Hangzhou"}),
                "region: 'region' must be an Alibaba Cloud region id",
            ),
            (
                json!({"accessKey": "a"}),
                "secretKey: 'accessKey' and 'secretKey' must be set together",
            ),
            (
                json!({"securityToken": "t"}),
                "securityToken: 'securityToken' needs",
            ),
            (
                json!({"endpoints": {"ecs": "has space"}}),
                "endpoints: endpoints.ecs must be",
            ),
            (
                json!({"endpoints": [{"sts": "ftp://x"}]}),
                "endpoints: endpoints.sts must be",
            ),
            (
                json!({"endpoints": [{"ecs": "a.example"}, {"ecs": "b.example"}]}),
                "endpoints: endpoints.ecs is given twice",
            ),
            (
                json!({"endpoints": "nope"}),
                "endpoints: 'endpoints' must be an object",
            ),
            (
                json!({"endpoints": ["ecs"]}),
                "endpoints: 'endpoints' list items must be objects",
            ),
            (json!({"region": 3}), "region: 'region' must be a string"),
            (
                json!({"protocol": "FTP"}),
                "protocol: 'protocol' must be HTTP or HTTPS, got \"FTP\"",
            ),
            (
                json!({"protocol": "https"}),
                "protocol: 'protocol' must be HTTP or HTTPS",
            ),
            (
                json!({"accountType": "Foo"}),
                "accountType: 'accountType' must be Domestic or International",
            ),
            (
                json!({"maxRetryTimeout": -1}),
                "maxRetryTimeout: 'maxRetryTimeout' must be a whole number of seconds from 0",
            ),
            (
                json!({"maxRetryTimeout": "soon"}),
                "maxRetryTimeout: 'maxRetryTimeout' must be a whole number",
            ),
            (
                json!({"clientReadTimeout": 1.5}),
                "clientReadTimeout: 'clientReadTimeout' must be a whole number of milliseconds",
            ),
            (
                json!({"assumeRole": "role"}),
                "assumeRole: 'assumeRole' must be an object such as",
            ),
            (
                json!({"assumeRole": {"sessionName": "s"}}),
                "assumeRole: 'assumeRole.roleArn' is required",
            ),
            (
                json!({"assumeRole": {"roleArn": ""}}),
                "assumeRole: 'assumeRole.roleArn' is required",
            ),
            (
                json!({"assumeRole": {"roleArn": "r", "roleArm": "r"}}),
                "assumeRole: unknown field 'assumeRole.roleArm'",
            ),
            (
                json!({"assumeRole": {"roleArn": "r", "sessionExpiration": 60}}),
                "assumeRole: 'assumeRole.sessionExpiration' must be a whole number of seconds from 900 to 43200",
            ),
            (
                json!({"assumeRole": [{"roleArn": "a"}, {"roleArn": "b"}]}),
                "assumeRole: 'assumeRole' must be one object",
            ),
            (
                json!({"assumeRoleWithOidc": {"roleArn": "r"}}),
                "assumeRoleWithOidc: 'assumeRoleWithOidc.oidcProviderArn' is required",
            ),
            (
                json!({"assumeRoleWithOidc": {"roleArn": "r", "oidcProviderArn": "p", "sessionExpiration": 900, "durationSeconds": 1000}}),
                "assumeRoleWithOidc: 'assumeRoleWithOidc.sessionExpiration' and its other name",
            ),
            (
                json!({"credentialsUri": "file:///creds"}),
                "credentialsUri: 'credentialsUri' must be an http(s) URL",
            ),
            (
                json!({"ecsRoleName": ["r"]}),
                "ecsRoleName: 'ecsRoleName' must be a string, got a list",
            ),
        ];
        for (config, want) in cases {
            let got = check(config.clone());
            assert!(got.iter().any(|g| g.starts_with(want)), "{config}: {got:?}");
        }
    }

    #[test]
    fn keys_of_either_provider_are_no_failure() {
        let r = reading(json!({
            "regoin": "cn-hangzhou",
            "skipRegionValidation": "true",
            "configurationSource": "x",
            "signVersion": "{\"oss\":\"v4\"}",
            "endpoints": [{"ecs": "127.0.0.1:1", "oss": "oss.example", "esc": "typo.example"}],
        }));
        assert!(r.failures.is_empty(), "{:?}", r.failures);
        assert_eq!(
            r.ignored,
            [
                "configurationSource",
                "endpoints.oss",
                "signVersion",
                "skipRegionValidation"
            ]
        );
        assert_eq!(r.unknown, ["endpoints.esc", "regoin"]);
        let warning = unknown_keys_warning("alicloud", spec(), &r.unknown);
        assert!(
            warning.contains("'alicloud:endpoints.esc', 'alicloud:regoin'"),
            "{warning}"
        );
        assert!(warning.contains("region"), "{warning}");
    }

    #[test]
    fn max_calls_in_flight_is_read_and_bounded() {
        let props = json!({"maxCallsInFlight": "4"})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(inputs(&props).max_calls_in_flight, Some(4));
        for bad in [json!(0), json!(-1), json!("many"), json!(1001)] {
            let got = check(json!({"maxCallsInFlight": bad}));
            assert!(
                got.iter().any(|g| g.starts_with("maxCallsInFlight: ")),
                "{bad}: {got:?}"
            );
        }
    }

    #[test]
    fn every_bridged_key_is_honoured_or_ignored() {
        for key in BRIDGED_KEYS {
            let honoured = spec().variables.iter().any(|v| v == key);
            assert!(
                honoured != IGNORED_KEYS.contains(key),
                "{key}: honoured {honoured}, ignored {}",
                IGNORED_KEYS.contains(key)
            );
        }
        for key in IGNORED_KEYS {
            assert!(BRIDGED_KEYS.contains(key), "{key}");
        }
        for key in HONOURED_KEYS {
            assert!(
                spec().variables.iter().any(|v| v == key),
                "{key} not in schema"
            );
            assert!(
                BRIDGED_KEYS.contains(key) != OWN_KEYS.contains(key),
                "{key} must be either a bridged key or one of our own"
            );
        }
        for key in &spec().variables {
            assert!(HONOURED_KEYS.contains(&key.as_str()), "{key} has no rule");
        }
        for service in &spec().endpoint_services {
            assert!(
                BRIDGED_ENDPOINT_SERVICES.contains(&service.as_str()),
                "{service}"
            );
        }
    }

    #[test]
    fn every_form_fills_the_inputs() {
        let forms = [
            json!({
                "region": "cn-shanghai", "accessKey": "AK", "secretKey": values::secret(json!("SK")),
                "securityToken": "TOK", "profile": "p", "sharedCredentialsFile": "/creds.json",
                "ecsRoleName": "role", "credentialsUri": "http://127.0.0.1:1/creds",
                "protocol": "HTTP", "maxRetryTimeout": 30, "clientReadTimeout": 5000, "clientConnectTimeout": 2000,
                "accountType": "Domestic",
                "assumeRole": {"roleArn": "acs:ram::1:role/a", "sessionName": "s", "policy": {"Version": "1"},
                               "sessionExpiration": 1800, "externalId": "x"},
                "assumeRoleWithOidc": values::secret(json!({"roleArn": "acs:ram::1:role/o", "oidcProviderArn": "acs:ram::1:oidc-provider/p",
                               "oidcToken": "jwt", "oidcTokenFile": "/t", "roleSessionName": "rs", "policy": "{}", "sessionExpiration": 900})),
                "endpoints": {"ecs": "127.0.0.1:1", "ecd": "127.0.0.1:2", "sts": "127.0.0.1:3"},
            }),
            // As `pulumi config set` and the bridged SDKs send them: text and JSON text.
            json!({
                "region": "cn-shanghai", "accessKey": "AK", "secretKey": "SK",
                "securityToken": "TOK", "profile": "p", "sharedCredentialsFile": "/creds.json",
                "ecsRoleName": "role", "credentialsUri": "http://127.0.0.1:1/creds",
                "protocol": "HTTP", "maxRetryTimeout": "30", "clientReadTimeout": "5000", "clientConnectTimeout": "2000",
                "accountType": "domestic",
                "assumeRole": "{\"roleArn\":\"acs:ram::1:role/a\",\"sessionName\":\"s\",\"policy\":\"{\\\"Version\\\":\\\"1\\\"}\",\"sessionExpiration\":1800,\"externalId\":\"x\"}",
                "assumeRoleWithOidc": "{\"roleArn\":\"acs:ram::1:role/o\",\"oidcProviderArn\":\"acs:ram::1:oidc-provider/p\",\"oidcToken\":\"jwt\",\"oidcTokenFile\":\"/t\",\"roleSessionName\":\"rs\",\"policy\":\"{}\",\"durationSeconds\":\"900\"}",
                "endpoints": "[{\"ecs\":\"127.0.0.1:1\",\"ecd\":\"127.0.0.1:2\",\"sts\":\"127.0.0.1:3\",\"vpc\":\"vpc.example\"}]",
                "skipRegionValidation": "true",
            }),
        ];
        for form in forms {
            let r = reading(form.clone());
            assert!(r.failures.is_empty(), "{form}: {:?}", r.failures);
            let i = &r.inputs;
            assert_eq!(i.region.as_deref(), Some("cn-shanghai"));
            assert_eq!(i.access_key.as_deref(), Some("AK"));
            assert_eq!(i.secret_key.as_deref(), Some("SK"));
            assert_eq!(i.security_token.as_deref(), Some("TOK"));
            assert_eq!(i.profile.as_deref(), Some("p"));
            assert_eq!(i.shared_credentials_file.as_deref(), Some("/creds.json"));
            assert_eq!(i.ecs_role_name.as_deref(), Some("role"));
            assert_eq!(
                i.credentials_uri.as_deref(),
                Some("http://127.0.0.1:1/creds")
            );
            assert_eq!(i.protocol.as_deref(), Some("HTTP"));
            assert_eq!(i.max_retry_timeout, Some(30));
            assert_eq!(i.client_read_timeout, Some(5000));
            assert_eq!(i.client_connect_timeout, Some(2000));
            assert_eq!(r.account_type.as_deref(), Some("Domestic"));
            assert_eq!(
                i.assume_role,
                Some(AssumeRoleInputs {
                    role_arn: "acs:ram::1:role/a".into(),
                    session_name: Some("s".into()),
                    policy: Some("{\"Version\":\"1\"}".into()),
                    session_expiration: Some(1800),
                    external_id: Some("x".into()),
                })
            );
            assert_eq!(
                i.assume_role_with_oidc,
                Some(OidcRoleInputs {
                    role_arn: "acs:ram::1:role/o".into(),
                    oidc_provider_arn: "acs:ram::1:oidc-provider/p".into(),
                    oidc_token: Some("jwt".into()),
                    oidc_token_file: Some("/t".into()),
                    role_session_name: Some("rs".into()),
                    policy: Some("{}".into()),
                    duration_seconds: Some(900),
                })
            );
            assert_eq!(i.endpoint_ecs.as_deref(), Some("127.0.0.1:1"));
            assert_eq!(i.endpoint_ecd.as_deref(), Some("127.0.0.1:2"));
            assert_eq!(i.endpoint_sts.as_deref(), Some("127.0.0.1:3"));
            assert!(
                i.application
                    .as_deref()
                    .is_some_and(|a| a.starts_with("pulumi-alicloud-rs/"))
            );
        }
    }

    #[test]
    fn zero_means_the_default() {
        let r = reading(
            json!({"maxRetryTimeout": 0, "clientReadTimeout": "0", "clientConnectTimeout": ""}),
        );
        assert!(r.failures.is_empty(), "{:?}", r.failures);
        assert_eq!(r.inputs.max_retry_timeout, None);
        assert_eq!(r.inputs.client_read_timeout, None);
        assert_eq!(r.inputs.client_connect_timeout, None);
    }

    #[test]
    fn nested_secrets_stay_out_of_failures() {
        let token = "eyJhbGciOiJSUzI1NiJ9.secret-token";
        // Held in a secret as JSON text, and unmarked in a secret variable.
        for config in [
            json!({"assumeRoleWithOidc": values::secret(json!(format!("{{\"oidcToken\":\"{token}\",\"roleArn\":[\"{token}\"]}}")))}),
            json!({"assumeRoleWithOidc": {"oidcToken": token, "roleArn": {"x": token}, "policy": 5}}),
            json!({"secretKey": token, "accessKey": "a", "region": token}),
        ] {
            let got = check(config.clone());
            assert!(!got.is_empty(), "{config}");
            for failure in got {
                assert!(!failure.contains(token), "{failure}");
            }
        }
    }

    #[test]
    fn comparable_forms_are_equal() {
        let a = json!({
            "region": "cn-hangzhou", "maxRetryTimeout": "30",
            "endpoints": "[{\"ecs\":\"127.0.0.1:1\",\"oss\":\"oss.example\"}]",
            "assumeRole": "{\"roleArn\":\"r\"}", "skipRegionValidation": "true", "clientReadTimeout": "0",
        });
        let b = json!({
            "region": values::secret(json!("cn-hangzhou")), "maxRetryTimeout": 30,
            "endpoints": {"ecs": "127.0.0.1:1", "ecd": null},
            "assumeRole": {"roleArn": "r"},
        });
        let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
        assert_eq!(comparable(spec(), a), comparable(spec(), b));
        let c = json!({"region": "cn-hangzhou", "maxRetryTimeout": 31, "endpoints": {"ecs": "127.0.0.1:1"}, "assumeRole": {"roleArn": "r"}});
        let changed = comparable(spec(), c.as_object().unwrap());
        assert_ne!(comparable(spec(), a), changed);
    }

    #[test]
    fn variables_map_is_read() {
        let vars: HashMap<String, String> = [
            (
                "alicloud:config:region".to_string(),
                "cn-shanghai".to_string(),
            ),
            (
                "alicloud:config:endpoints".to_string(),
                "[{\"ecs\":\"http://x\"}]".to_string(),
            ),
            (
                "alicloud:config:maxRetryTimeout".to_string(),
                "30".to_string(),
            ),
            ("other:config:region".to_string(), "x".to_string()),
        ]
        .into();
        let props = from_variables("alicloud", &vars);
        assert_eq!(props.len(), 3);
        let inputs = inputs(&props);
        assert_eq!(inputs.region.as_deref(), Some("cn-shanghai"));
        assert_eq!(inputs.endpoint_ecs.as_deref(), Some("http://x"));
        assert_eq!(inputs.max_retry_timeout, Some(30));
    }

    #[test]
    fn secrets_are_wrapped() {
        let mut props = json!({"secretKey": "s", "securityToken": values::secret(json!("t")), "region": "cn-hangzhou"}).as_object().cloned().unwrap();
        protect_secrets(spec(), &mut props);
        assert!(values::is_secret(&props["secretKey"]));
        assert!(values::is_secret(&props["securityToken"]));
        assert!(!values::is_secret(&props["region"]));
        assert_eq!(values::get_str(&props, "secretKey"), Some("s"));
        // The token inside assumeRoleWithOidc, in each form it arrives in.
        for form in [
            json!({"roleArn": "r", "oidcProviderArn": "p", "oidcToken": "jwt"}),
            json!("{\"roleArn\":\"r\",\"oidcProviderArn\":\"p\",\"oidcToken\":\"jwt\"}"),
            json!([{"roleArn": "r", "oidcProviderArn": "p", "oidcToken": "jwt"}]),
        ] {
            let mut props = Props::new();
            props.insert("assumeRoleWithOidc".into(), form.clone());
            protect_secrets(spec(), &mut props);
            let held = &props["assumeRoleWithOidc"];
            assert!(values::is_secret(&held["oidcToken"]), "{form}: {held}");
            assert!(!values::is_secret(&held["roleArn"]), "{form}: {held}");
            assert_eq!(
                inputs(&props)
                    .assume_role_with_oidc
                    .unwrap()
                    .oidc_token
                    .as_deref(),
                Some("jwt")
            );
        }
        // Without a token, or already secret as a whole, it is left as it is.
        for form in [
            json!("{\"roleArn\":\"r\",\"oidcTokenFile\":\"/t\"}"),
            values::secret(json!("{\"oidcToken\":\"jwt\"}")),
        ] {
            let mut props = Props::new();
            props.insert("assumeRoleWithOidc".into(), form.clone());
            protect_secrets(spec(), &mut props);
            assert_eq!(props["assumeRoleWithOidc"], form);
        }
    }
}
