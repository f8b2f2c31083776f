//! Credentials from the credentials file of Alibaba's SDKs, `~/.alibabacloud/credentials` (INI; path from
//! `ALIBABA_CLOUD_CREDENTIALS_FILE`; section `default` or `ALIBABA_CLOUD_PROFILE`). Types and field names as
//! in credentials-go (`profile_provider.go`, `providers/profile.go`) and the `alibabacloud-credentials`
//! Python package (`provider/profile.py`): `access_key`, `sts`, `ram_role_arn`, `oidc_role_arn`,
//! `ecs_ram_role`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::assume_role::{AssumeRoleProvider, RoleSpec};
use super::ecs_metadata::role_provider;
use super::oidc::{OidcProvider, OidcSpec};
use super::{Credentials, LoadContext, Loaded, Loader, ProvideCredentials, expand_path, read};
use crate::environment::{Environment, SettingNames};
use crate::error::Error;

const FILE_VARIABLE: &str = "ALIBABA_CLOUD_CREDENTIALS_FILE";
const PROFILE_VARIABLE: &str = "ALIBABA_CLOUD_PROFILE";

type Sections = HashMap<String, HashMap<String, String>>;

/// Parses INI text: `[section]` headers, `key = value` (or `key: value`) lines, `#` and `;` comments on
/// their own lines or after a blank, optional quotes around values.
fn parse(text: &str) -> Result<Sections, String> {
    let mut sections = Sections::new();
    let mut current: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let name = name
                .strip_suffix(']')
                .ok_or_else(|| format!("line {}: unclosed section header", n + 1))?;
            let name = name.trim().to_string();
            sections.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        let (key, value) = line
            .split_once(['=', ':'])
            .ok_or_else(|| format!("line {}: expected key = value", n + 1))?;
        let Some(section) = &current else {
            return Err(format!("line {}: a key before any [section]", n + 1));
        };
        let mut value = value.trim();
        for marker in [" #", "\t#", " ;", "\t;"] {
            if let Some(i) = value.find(marker) {
                value = value[..i].trim_end();
            }
        }
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        sections
            .entry(section.clone())
            .or_default()
            .insert(key.trim().to_ascii_lowercase(), value.to_string());
    }
    Ok(sections)
}

/// The credentials file loader.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IniLoader;

impl IniLoader {
    /// The file and whether it was named by `ALIBABA_CLOUD_CREDENTIALS_FILE` (then it must exist). Without
    /// the variable, `credentials`, else `credentials.ini` in `~/.alibabacloud`.
    fn path(env: &dyn Environment) -> Result<Option<(PathBuf, bool, String)>, Error> {
        if let Some(f) = env.var(FILE_VARIABLE) {
            let path = expand_path(&f, env);
            return Ok(read(env, &path, "the credentials file")?.map(|t| (path, true, t)));
        }
        let Some(home) = env.home_dir() else {
            return Ok(None);
        };
        for name in ["credentials", "credentials.ini"] {
            let path = home.join(".alibabacloud").join(name);
            if let Some(text) = read(env, &path, "the credentials file")? {
                return Ok(Some((path, false, text)));
            }
        }
        Ok(None)
    }
}

fn section_provider(
    section: &HashMap<String, String>,
    what: &str,
    cx: &LoadContext<'_>,
) -> Result<Arc<dyn ProvideCredentials>, Error> {
    let get = |k: &str| {
        section
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let kind = get("type").ok_or_else(|| {
        Error::Credentials(format!(
            "{what} has no type (access_key, sts, ram_role_arn, oidc_role_arn or ecs_ram_role)"
        ))
    })?;
    let need = |k: &str| {
        get(k).ok_or_else(|| Error::Credentials(format!("{what} (type {kind}) lacks {k}")))
    };
    let duration = || -> Result<Option<u64>, Error> {
        get("role_session_expiration")
            .map(|d| {
                d.parse::<u64>().map_err(|_| {
                    Error::Credentials(format!(
                        "{what}: role_session_expiration must be a number of seconds, got {d:?}"
                    ))
                })
            })
            .transpose()
    };
    let keys = || -> Result<Credentials, Error> {
        Ok(Credentials::new(
            need("access_key_id")?,
            need("access_key_secret")?,
            None,
            what.to_string(),
        ))
    };
    match kind.as_str() {
        "access_key" => Ok(Arc::new(keys()?)),
        "sts" => {
            let mut c = keys()?;
            c.security_token = Some(need("security_token")?);
            Ok(Arc::new(c))
        }
        "ram_role_arn" => AssumeRoleProvider::build(
            Arc::new(keys()?),
            RoleSpec {
                role_arn: need("role_arn")?,
                session_name: get("role_session_name"),
                duration_seconds: duration()?,
                policy: get("policy"),
                external_id: get("external_id"),
                sts_region: None,
            },
            what,
            cx,
        ),
        "oidc_role_arn" => OidcProvider::build(
            OidcSpec {
                role_arn: need("role_arn")?,
                oidc_provider_arn: need("oidc_provider_arn")?,
                token: None,
                token_file: Some(need("oidc_token_file_path")?),
                session_name: get("role_session_name"),
                duration_seconds: duration()?,
                policy: get("policy"),
                sts_region: None,
            },
            what,
            cx,
        ),
        "ecs_ram_role" => role_provider(cx, get("role_name")),
        other => Err(Error::Credentials(format!(
            "{what} has type {other:?}, which this provider does not support; supported types: access_key, sts, ram_role_arn, oidc_role_arn, ecs_ram_role"
        ))),
    }
}

impl Loader for IniLoader {
    fn describe(&self, _names: SettingNames) -> String {
        format!(
            "the credentials file ~/.alibabacloud/credentials ({FILE_VARIABLE}; section default or {PROFILE_VARIABLE})"
        )
    }

    fn load(&self, cx: &LoadContext<'_>) -> Result<Loaded, Error> {
        let Some((path, named, text)) = IniLoader::path(cx.env)? else {
            if let Some(f) = cx.env.var(FILE_VARIABLE) {
                return Err(Error::Credentials(format!(
                    "{FILE_VARIABLE} names {f}, which does not exist"
                )));
            }
            return Ok(Loaded::Absent(
                "~/.alibabacloud/credentials does not exist".into(),
            ));
        };
        let sections = parse(&text).map_err(|why| {
            Error::Credentials(format!(
                "{} is not a valid credentials file: {why}",
                path.display()
            ))
        })?;
        let (name, from_env) = match cx.env.var(PROFILE_VARIABLE) {
            Some(name) => (name, true),
            None => ("default".to_string(), false),
        };
        let Some(section) = sections.get(&name) else {
            let why = format!(
                "no [{name}] section in {}{}",
                path.display(),
                if from_env {
                    format!(" ({PROFILE_VARIABLE})")
                } else {
                    String::new()
                }
            );
            return if named {
                Err(Error::Credentials(why))
            } else {
                Ok(Loaded::Absent(why))
            };
        };
        let what = format!("section [{name}] of {}", path.display());
        Ok(Loaded::Found(section_provider(section, &what, cx)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnvironment;
    use crate::credentials::testing::{absent, found, load, static_credentials};

    const FILE: &str = "
# Alibaba Cloud credentials
[default]
enable = true
type = access_key
access_key_id = AKINI    # inline comment
access_key_secret = \"SINI\"

[sts]
type = sts
access_key_id = STS.INI
access_key_secret = S
security_token = TOKEN

[ram]
type = ram_role_arn
access_key_id = foo
access_key_secret = bar
role_arn = acs:ram::1:role/r
role_session_name = session_name
role_session_expiration = 1800

[oidc]
type = oidc_role_arn
role_arn = acs:ram::1:role/ci
oidc_provider_arn = acs:ram::1:oidc-provider/p
oidc_token_file_path = /tmp/tok

[ecs]
type = ecs_ram_role
role_name = EcsRamRoleTest

[rsa]
type = rsa_key_pair
public_key_id = publicKeyId

[notype]
access_key_id = foo

[noak]
type = access_key
access_key_secret = bar

[badexp]
type = ram_role_arn
access_key_id = foo
access_key_secret = bar
role_arn = r
role_session_expiration = soon
";

    const PATH: &str = "/home/test/.alibabacloud/credentials";

    fn env(vars: &[(&str, &str)]) -> MapEnvironment {
        MapEnvironment::with_vars(vars)
            .file(PATH, FILE)
            .file("/tmp/tok", "jwt")
    }

    fn section(name: &str) -> Result<Loaded, Error> {
        load(&IniLoader, &env(&[(PROFILE_VARIABLE, name)]))
    }

    #[test]
    fn default_section_and_static_types() {
        let c = static_credentials(&IniLoader, &env(&[])).unwrap().unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.access_key_secret.as_str()),
            ("AKINI", "SINI")
        );
        assert!(c.source.contains("[default]"));
        let c = static_credentials(&IniLoader, &env(&[(PROFILE_VARIABLE, "sts")]))
            .unwrap()
            .unwrap();
        assert_eq!(c.security_token.as_deref(), Some("TOKEN"));
    }

    #[test]
    fn network_types_are_checked_but_not_contacted() {
        for (name, expected) in [
            ("ram", "role acs:ram::1:role/r"),
            ("oidc", "/tmp/tok"),
            ("ecs", "\"EcsRamRoleTest\""),
        ] {
            let p = found(section(name).unwrap());
            assert!(p.describe().contains(expected), "{name}: {}", p.describe());
        }
    }

    #[test]
    fn missing_unsupported_partial() {
        assert!(
            absent(load(&IniLoader, &MapEnvironment::with_vars(&[])).unwrap())
                .contains("does not exist")
        );
        let ini =
            MapEnvironment::with_vars(&[]).file("/home/test/.alibabacloud/credentials.ini", FILE);
        assert_eq!(
            static_credentials(&IniLoader, &ini)
                .unwrap()
                .unwrap()
                .access_key_id,
            "AKINI"
        );
        assert!(absent(section("nope").unwrap()).contains("no [nope] section"));
        let err = load(
            &IniLoader,
            &MapEnvironment::with_vars(&[(FILE_VARIABLE, "/etc/creds")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("/etc/creds, which does not exist"),
            "{err}"
        );
        let named =
            MapEnvironment::with_vars(&[(FILE_VARIABLE, "/etc/creds"), (PROFILE_VARIABLE, "nope")])
                .file("/etc/creds", FILE);
        assert!(load(&IniLoader, &named).is_err());
        for (name, expected) in [
            (
                "rsa",
                "type \"rsa_key_pair\", which this provider does not support",
            ),
            ("notype", "has no type"),
            ("noak", "lacks access_key_id"),
            ("badexp", "role_session_expiration must be a number"),
        ] {
            let err = section(name).unwrap_err().to_string();
            assert!(err.contains(expected), "{name}: {err}");
        }
        let broken = MapEnvironment::with_vars(&[]).file(PATH, "[default\ntype = access_key");
        assert!(
            load(&IniLoader, &broken)
                .unwrap_err()
                .to_string()
                .contains("unclosed section")
        );
    }
}
