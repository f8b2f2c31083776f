//! Credentials (and a region) from the Alibaba Cloud CLI's profile file, `~/.aliyun/config.json`, in every
//! mode credentials-go and the CLI read: `AK`, `StsToken`, `RamRoleArn`, `ChainableRamRoleArn`,
//! `EcsRamRole`, `OIDC`, `External` and `CredentialsURI`.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::assume_role::{AssumeRoleProvider, RoleSpec};
use super::ecs_metadata::role_provider;
use super::external::ExternalProvider;
use super::oidc::{OidcProvider, OidcSpec};
use super::uri::uri_provider;
use super::{
    CredentialSettings, Credentials, LoadContext, Loaded, Loader, ProvideCredentials, configured,
    expand_path, is_true, read,
};
use crate::environment::{Environment, Setting, SettingNames, field_names};
use crate::error::Error;

/// Which profile to use: the caller's `profile`, else `ALIBABA_CLOUD_PROFILE` / `ALICLOUD_PROFILE`, else
/// the file's `current`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProfileSelection {
    /// The caller's `profile`.
    pub configured: Option<String>,
}

// No Debug: profiles hold secrets.
#[derive(Deserialize)]
struct File {
    #[serde(default)]
    current: Option<String>,
    #[serde(default)]
    profiles: Vec<Profile>,
}

#[derive(Clone, Deserialize, Default)]
#[serde(default)]
struct Profile {
    name: String,
    mode: String,
    access_key_id: String,
    access_key_secret: String,
    sts_token: String,
    region_id: String,
    ram_role_arn: String,
    ram_session_name: String,
    expired_seconds: u64,
    sts_region: String,
    source_profile: String,
    ram_role_name: String,
    oidc_token_file: String,
    oidc_provider_arn: String,
    policy: String,
    external_id: String,
    process_command: String,
    credentials_uri: String,
}

fn text(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

const DISABLED: &str = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED";
const MODES: &str =
    "AK, StsToken, RamRoleArn, ChainableRamRoleArn, EcsRamRole, OIDC, External, CredentialsURI";

/// The profile file loader. At the caller's settings' position it answers only when `profile` or
/// `shared_credentials_file` is set; at the default position it follows the environment and the file's
/// `current`, and `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true` turns it off.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProfileLoader {
    /// Which profile.
    pub selection: ProfileSelection,
    /// `shared_credentials_file`: the file instead of `~/.aliyun/config.json`.
    pub file: Option<String>,
    /// Whether this is the settings' position.
    pub configured_only: bool,
}

/// Where a profile name came from, which decides whether a missing one is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Named {
    Configured(String),
    Environment(&'static str, String),
    Current(String),
}

impl Named {
    fn name(&self) -> &str {
        match self {
            Named::Configured(n) | Named::Environment(_, n) | Named::Current(n) => n,
        }
    }
}

/// The profile found, or why there is none.
enum Selected {
    Profile(Box<Profile>, File, PathBuf),
    Nothing(String),
}

impl ProfileLoader {
    /// The settings' position: `profile` and `shared_credentials_file`.
    pub fn configured(inputs: &CredentialSettings) -> ProfileLoader {
        ProfileLoader {
            selection: ProfileSelection {
                configured: inputs.profile.clone(),
            },
            file: inputs.shared_credentials_file.clone(),
            configured_only: true,
        }
    }

    /// The default position (after the environment's keys).
    pub fn default_position(inputs: &CredentialSettings) -> ProfileLoader {
        ProfileLoader {
            configured_only: false,
            ..ProfileLoader::configured(inputs)
        }
    }

    fn is_configured(&self) -> bool {
        self.selection.configured.is_some() || self.file.is_some()
    }

    /// The file: `shared_credentials_file`, else `ALIBABA_CLOUD_CONFIG_FILE`, else `~/.aliyun/config.json`; and
    /// whether it was named (then it must exist).
    fn path(&self, env: &dyn Environment) -> Option<(PathBuf, bool)> {
        if let Some(f) = self.file.as_deref().filter(|f| !f.is_empty()) {
            return Some((expand_path(f, env), true));
        }
        if let Some(f) = env.var("ALIBABA_CLOUD_CONFIG_FILE") {
            return Some((expand_path(&f, env), true));
        }
        env.home_dir()
            .map(|h| (h.join(".aliyun").join("config.json"), false))
    }

    fn select(&self, env: &dyn Environment, names: SettingNames) -> Result<Selected, Error> {
        let wanted = self
            .selection
            .configured
            .clone()
            .map(Named::Configured)
            .or_else(|| {
                ["ALIBABA_CLOUD_PROFILE", "ALICLOUD_PROFILE"]
                    .into_iter()
                    .find_map(|v| env.var(v).map(|n| Named::Environment(v, n)))
            });
        let Some((path, named)) = self.path(env) else {
            return Ok(Selected::Nothing("no home directory".into()));
        };
        let Some(text) = read(env, &path, "the profile file")? else {
            return match (&wanted, named) {
                (Some(Named::Configured(name)), _) => Err(Error::Credentials(format!(
                    "profile {name:?} was asked for, but {} does not exist",
                    path.display()
                ))),
                (_, true) => Err(Error::Credentials(format!(
                    "the profile file {} does not exist",
                    path.display()
                ))),
                _ => Ok(Selected::Nothing(format!(
                    "{} does not exist",
                    path.display()
                ))),
            };
        };
        let file: File = serde_json::from_str(&text).map_err(|e| {
            Error::Credentials(format!(
                "{} is not a valid profile file: {e}",
                path.display()
            ))
        })?;
        let Some(wanted) = wanted.or_else(|| {
            file.current
                .clone()
                .filter(|c| !c.is_empty())
                .map(Named::Current)
        }) else {
            return Ok(Selected::Nothing(format!(
                "no profile selected in {} (no current, {}, ALIBABA_CLOUD_PROFILE or ALICLOUD_PROFILE)",
                path.display(),
                names(Setting::Profile)
            )));
        };
        match file.profiles.iter().find(|p| p.name == wanted.name()) {
            Some(p) => Ok(Selected::Profile(Box::new(p.clone()), file, path)),
            // A name from the environment may be meant for the credentials file that comes next.
            None if matches!(wanted, Named::Environment(..)) && !named => {
                let Named::Environment(var, name) = &wanted else {
                    unreachable!()
                };
                Ok(Selected::Nothing(format!(
                    "profile {name:?} ({var}) is not in {}",
                    path.display()
                )))
            }
            None => {
                let known: Vec<&str> = file.profiles.iter().map(|p| p.name.as_str()).collect();
                Err(Error::Credentials(format!(
                    "profile {:?} is not in {} (profiles there: {})",
                    wanted.name(),
                    path.display(),
                    known.join(", ")
                )))
            }
        }
    }

    /// The selected profile's region, if any.
    pub fn region(&self, env: &dyn Environment) -> Option<String> {
        if !self.is_configured() && is_true(env, DISABLED) {
            return None;
        }
        match self.select(env, field_names) {
            Ok(Selected::Profile(p, _, _)) => text(&p.region_id),
            _ => None,
        }
    }
}

/// The provider for profile `name` of `file`; `visited` guards `source_profile` loops.
fn provider(
    file: &File,
    profile: &Profile,
    cx: &LoadContext<'_>,
    visited: &mut Vec<String>,
) -> Result<Arc<dyn ProvideCredentials>, Error> {
    let what = format!("profile {:?}", profile.name);
    if visited.contains(&profile.name) {
        visited.push(profile.name.clone());
        return Err(Error::Credentials(format!(
            "profile {:?}: source_profile loops: {}",
            visited[0],
            visited.join(" -> ")
        )));
    }
    visited.push(profile.name.clone());
    let need = |field: &str, value: &str| {
        text(value).ok_or_else(|| {
            Error::Credentials(format!(
                "{what} (mode {}) lacks {field}",
                if profile.mode.is_empty() {
                    "AK"
                } else {
                    &profile.mode
                }
            ))
        })
    };
    let keys = || -> Result<Credentials, Error> {
        Ok(Credentials::new(
            need("access_key_id", &profile.access_key_id)?,
            need("access_key_secret", &profile.access_key_secret)?,
            None,
            what.clone(),
        ))
    };
    let role = |base: Arc<dyn ProvideCredentials>| -> Result<Arc<dyn ProvideCredentials>, Error> {
        AssumeRoleProvider::build(
            base,
            RoleSpec {
                role_arn: need("ram_role_arn", &profile.ram_role_arn)?,
                session_name: text(&profile.ram_session_name),
                duration_seconds: Some(profile.expired_seconds).filter(|s| *s > 0),
                policy: text(&profile.policy),
                external_id: text(&profile.external_id),
                sts_region: text(&profile.sts_region),
            },
            &what,
            cx,
        )
    };
    match profile.mode.as_str() {
        "AK" | "" => Ok(Arc::new(keys()?)),
        "StsToken" => {
            let mut c = keys()?;
            c.security_token = Some(need("sts_token", &profile.sts_token)?);
            Ok(Arc::new(c))
        }
        "RamRoleArn" => role(Arc::new(keys()?)),
        "ChainableRamRoleArn" => {
            let source = need("source_profile", &profile.source_profile)?;
            let base = file
                .profiles
                .iter()
                .find(|p| p.name == source)
                .ok_or_else(|| {
                    Error::Credentials(format!(
                        "{what}: its source_profile {source:?} is not in the file"
                    ))
                })?;
            role(provider(file, base, cx, visited)?)
        }
        "EcsRamRole" => {
            if is_true(cx.env, "ALIBABA_CLOUD_ECS_METADATA_DISABLED") {
                return Err(Error::Credentials(format!(
                    "{what} uses mode EcsRamRole, but ALIBABA_CLOUD_ECS_METADATA_DISABLED=true disables the metadata service"
                )));
            }
            role_provider(cx, text(&profile.ram_role_name))
        }
        "OIDC" => OidcProvider::build(
            OidcSpec {
                role_arn: need("ram_role_arn", &profile.ram_role_arn)?,
                oidc_provider_arn: need("oidc_provider_arn", &profile.oidc_provider_arn)?,
                token: None,
                token_file: Some(need("oidc_token_file", &profile.oidc_token_file)?),
                session_name: text(&profile.ram_session_name),
                duration_seconds: Some(profile.expired_seconds).filter(|s| *s > 0),
                policy: text(&profile.policy),
                sts_region: text(&profile.sts_region),
            },
            &what,
            cx,
        ),
        "External" => ExternalProvider::build(
            &need("process_command", &profile.process_command)?,
            &what,
            cx,
        ),
        "CredentialsURI" => uri_provider(
            &need("credentials_uri", &profile.credentials_uri)?,
            &what,
            cx,
        ),
        other => Err(Error::Credentials(format!(
            "{what} uses mode {other:?}, which this provider does not support; supported modes: {MODES}"
        ))),
    }
}

impl Loader for ProfileLoader {
    fn describe(&self, names: SettingNames) -> String {
        if self.configured_only {
            configured(names, &[Setting::Profile, Setting::SharedCredentialsFile])
        } else {
            "the CLI profile file ~/.aliyun/config.json (profile from ALIBABA_CLOUD_PROFILE, ALICLOUD_PROFILE or its current; file from ALIBABA_CLOUD_CONFIG_FILE)".into()
        }
    }

    fn load(&self, cx: &LoadContext<'_>) -> Result<Loaded, Error> {
        if self.configured_only && !self.is_configured() {
            return Ok(Loaded::Absent("not set".into()));
        }
        if !self.configured_only && is_true(cx.env, DISABLED) {
            return Ok(Loaded::Absent(format!("disabled by {DISABLED}=true")));
        }
        match self.select(cx.env, cx.names)? {
            Selected::Nothing(why) => {
                if self.configured_only {
                    Err(Error::Credentials(format!(
                        "{}: {why}",
                        (cx.names)(Setting::SharedCredentialsFile)
                    )))
                } else {
                    Ok(Loaded::Absent(why))
                }
            }
            Selected::Profile(p, file, path) => {
                let found = provider(&file, &p, cx, &mut Vec::new())?;
                tracing::debug!(profile = %p.name, file = %path.display(), mode = %p.mode, "profile selected");
                Ok(Loaded::Found(found))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::credentials::sts::StsEndpoints;
    use crate::credentials::testing::{
        ManualClock, Reply, Server, absent, found, load, load_with_sts, provide,
        static_credentials, sts_answer, transport,
    };
    use crate::{MapEnvironment, SignatureVersion};

    const FILE: &str = r#"{"current": "dev", "profiles": [
        {"name": "dev", "mode": "AK", "access_key_id": "AKDEV", "access_key_secret": "SDEV", "region_id": "cn-shanghai"},
        {"name": "sts", "mode": "StsToken", "access_key_id": "STS.AK", "access_key_secret": "S", "sts_token": "T"},
        {"name": "role", "mode": "RamRoleArn", "access_key_id": "AKROLE", "access_key_secret": "S", "ram_role_arn": "acs:ram::1:role/r", "ram_session_name": "sess", "expired_seconds": 900, "external_id": "ext"},
        {"name": "chain", "mode": "ChainableRamRoleArn", "source_profile": "role", "ram_role_arn": "acs:ram::1:role/second"},
        {"name": "loop-a", "mode": "ChainableRamRoleArn", "source_profile": "loop-b", "ram_role_arn": "r"},
        {"name": "loop-b", "mode": "ChainableRamRoleArn", "source_profile": "loop-a", "ram_role_arn": "r"},
        {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "worker"},
        {"name": "oidc", "mode": "OIDC", "ram_role_arn": "acs:ram::1:role/ci", "oidc_provider_arn": "acs:ram::1:oidc-provider/p", "oidc_token_file": "/tmp/tok"},
        {"name": "ext", "mode": "External", "process_command": "helper get"},
        {"name": "uri", "mode": "CredentialsURI", "credentials_uri": "http://127.0.0.1:1/creds"},
        {"name": "sso", "mode": "CloudSSO"},
        {"name": "oauth", "mode": "OAuth"},
        {"name": "half", "mode": "AK", "access_key_id": "A"}
    ]}"#;

    fn env(vars: &[(&str, &str)]) -> MapEnvironment {
        MapEnvironment::with_vars(vars)
            .file("/home/test/.aliyun/config.json", FILE)
            .file("/tmp/tok", "jwt")
    }

    fn loader(name: Option<&str>) -> ProfileLoader {
        ProfileLoader::default_position(&CredentialSettings {
            profile: name.map(Into::into),
            ..Default::default()
        })
    }

    fn key(name: Option<&str>, env: &MapEnvironment) -> String {
        static_credentials(&loader(name), env)
            .unwrap()
            .unwrap()
            .access_key_id
    }

    #[test]
    fn current_profile_and_region() {
        assert_eq!(key(None, &env(&[])), "AKDEV");
        assert_eq!(
            loader(None).region(&env(&[])).as_deref(),
            Some("cn-shanghai")
        );
        assert_eq!(loader(None).region(&env(&[(DISABLED, "true")])), None);
    }

    #[test]
    fn selection_order_config_then_env() {
        let c = static_credentials(
            &loader(Some("sts")),
            &env(&[("ALIBABA_CLOUD_PROFILE", "dev")]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.security_token.as_deref(), Some("T"));
        assert_eq!(
            key(None, &env(&[("ALIBABA_CLOUD_PROFILE", "sts")])),
            "STS.AK"
        );
        assert_eq!(key(None, &env(&[("ALICLOUD_PROFILE", "sts")])), "STS.AK");
    }

    #[test]
    fn configured_position_and_shared_file() {
        let inputs = CredentialSettings::default();
        assert_eq!(
            absent(load(&ProfileLoader::configured(&inputs), &env(&[])).unwrap()),
            "not set"
        );
        let inputs = CredentialSettings {
            shared_credentials_file: Some("~/other.json".into()),
            ..Default::default()
        };
        let other = MapEnvironment::with_vars(&[]).file("/home/test/other.json", FILE);
        let c = static_credentials(&ProfileLoader::configured(&inputs), &other)
            .unwrap()
            .unwrap();
        assert_eq!(c.access_key_id, "AKDEV");
        let err = load(&ProfileLoader::configured(&inputs), &env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("other.json does not exist"),
            "{err}"
        );
        let by_env =
            MapEnvironment::with_vars(&[("ALIBABA_CLOUD_CONFIG_FILE", "/etc/aliyun.json")])
                .file("/etc/aliyun.json", FILE);
        assert_eq!(key(None, &by_env), "AKDEV");
    }

    #[test]
    fn missing_disabled_unsupported_partial() {
        let none = MapEnvironment::with_vars(&[]);
        assert!(absent(load(&loader(None), &none).unwrap()).contains("does not exist"));
        assert!(
            absent(load(&loader(None), &env(&[(DISABLED, "true")])).unwrap()).contains(DISABLED)
        );
        // A profile named by the environment may be in the credentials file instead.
        assert!(
            absent(
                load(
                    &loader(None),
                    &env(&[("ALIBABA_CLOUD_PROFILE", "elsewhere")])
                )
                .unwrap()
            )
            .contains("\"elsewhere\" (ALIBABA_CLOUD_PROFILE) is not in")
        );
        let err = load(&loader(Some("dev")), &none).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let err = load(&loader(Some("nope")), &env(&[])).unwrap_err();
        assert!(err.to_string().contains("dev, sts, role"), "{err}");
        for mode in ["sso", "oauth"] {
            let err = load(&loader(Some(mode)), &env(&[]))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("profile {mode:?} uses mode")) && err.contains("not support"),
                "{err}"
            );
        }
        let err = load(&loader(Some("half")), &env(&[])).unwrap_err();
        assert!(err.to_string().contains("lacks access_key_secret"), "{err}");
        let broken =
            MapEnvironment::with_vars(&[]).file("/home/test/.aliyun/config.json", "{not json");
        assert!(
            load(&loader(None), &broken)
                .unwrap_err()
                .to_string()
                .contains("not a valid profile file")
        );
        let no_current = MapEnvironment::with_vars(&[])
            .file("/home/test/.aliyun/config.json", r#"{"profiles":[]}"#);
        assert!(absent(load(&loader(None), &no_current).unwrap()).contains("no profile selected"));
    }

    #[test]
    fn network_modes_are_checked_but_not_contacted() {
        for (name, expected) in [
            ("role", "role acs:ram::1:role/r"),
            ("chain", "role acs:ram::1:role/second"),
            ("ecs", "\"worker\""),
            ("oidc", "/tmp/tok"),
            ("ext", "\"helper\""),
            ("uri", "credentials URI http://127.0.0.1:1/creds"),
        ] {
            let p = found(load(&loader(Some(name)), &env(&[])).unwrap());
            assert!(p.known().is_none(), "{name}");
            assert!(p.describe().contains(expected), "{name}: {}", p.describe());
        }
        let err = load(&loader(Some("loop-a")), &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("loop-a -> loop-b -> loop-a"), "{err}");
        let err = load(
            &loader(Some("oidc")),
            &MapEnvironment::with_vars(&[]).file("/home/test/.aliyun/config.json", FILE),
        )
        .unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[tokio::test]
    async fn chainable_role_assumes_twice_through_sts() {
        let expires = ManualClock::new().now() + TimeDelta::minutes(60);
        let server = Server::start(move |r| {
            let id = match r.param("RoleArn").as_deref() {
                Some("acs:ram::1:role/r") => "STS.FIRST",
                _ => "STS.SECOND",
            };
            Reply::json(200, sts_answer(id, expires))
        })
        .await;
        let sts = StsEndpoints {
            explicit: Some(server.endpoint()),
            ..Default::default()
        };
        let p = found(load_with_sts(&loader(Some("chain")), &env(&[]), &sts).unwrap());
        let c = provide(p.as_ref(), &transport(SignatureVersion::V3))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.access_key_id, "STS.SECOND");
        let reqs = server.requests();
        assert_eq!(reqs.len(), 2);
        assert!(
            reqs[0]
                .header("authorization")
                .unwrap_or_default()
                .contains("Credential=AKROLE,")
        );
        assert_eq!(reqs[0].param("RoleSessionName").as_deref(), Some("sess"));
        assert_eq!(reqs[0].param("DurationSeconds").as_deref(), Some("900"));
        assert_eq!(reqs[0].param("ExternalId").as_deref(), Some("ext"));
        // The second role is assumed with the first one's temporary credentials.
        assert!(
            reqs[1]
                .header("authorization")
                .unwrap_or_default()
                .contains("Credential=STS.FIRST,")
        );
        assert_eq!(
            reqs[1].header("x-acs-security-token"),
            Some("token-of-STS.FIRST")
        );
    }
}
