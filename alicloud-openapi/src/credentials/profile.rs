//! Credentials (and a region) from the Alibaba Cloud CLI's profile file, `~/.aliyun/config.json`.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Credentials, Loader};
use crate::{Environment, Error};

/// Which profile to use: the provider's `profile`, else `ALIBABA_CLOUD_PROFILE` / `ALICLOUD_PROFILE`, else
/// the file's `current`.
#[derive(Debug, Clone, Default)]
pub struct ProfileSelection {
    /// `alicloud:profile`.
    pub configured: Option<String>,
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    current: Option<String>,
    #[serde(default)]
    profiles: Vec<Profile>,
}

#[derive(Debug, Clone, Deserialize)]
struct Profile {
    name: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    access_key_secret: String,
    #[serde(default)]
    sts_token: String,
    #[serde(default)]
    region_id: String,
}

/// The profile file loader.
#[derive(Debug, Clone, Default)]
pub struct ProfileLoader {
    /// Which profile.
    pub selection: ProfileSelection,
}

fn path(env: &dyn Environment) -> Option<PathBuf> {
    env.home_dir()
        .map(|h| h.join(".aliyun").join("config.json"))
}

impl ProfileLoader {
    fn wanted(&self, env: &dyn Environment) -> Option<String> {
        self.selection
            .configured
            .clone()
            .or_else(|| env.var("ALIBABA_CLOUD_PROFILE"))
            .or_else(|| env.var("ALICLOUD_PROFILE"))
    }

    /// The selected profile; `Ok(None)` when there is no file (and no profile was asked for by name).
    fn profile(&self, env: &dyn Environment) -> Result<Option<Profile>, Error> {
        let wanted = self.wanted(env);
        let Some(path) = path(env) else {
            return Ok(None);
        };
        let text = env
            .read_file(&path)
            .map_err(|e| Error::Credentials(format!("cannot read {}: {e}", path.display())))?;
        let Some(text) = text else {
            return match wanted {
                Some(name) => Err(Error::Credentials(format!(
                    "profile {name:?} was asked for, but {} does not exist",
                    path.display()
                ))),
                None => Ok(None),
            };
        };
        let file: File = serde_json::from_str(&text).map_err(|e| {
            Error::Credentials(format!(
                "{} is not a valid profile file: {e}",
                path.display()
            ))
        })?;
        let Some(name) = wanted.or(file.current.clone()) else {
            return Ok(None);
        };
        let known: Vec<&str> = file.profiles.iter().map(|p| p.name.as_str()).collect();
        match file.profiles.iter().find(|p| p.name == name) {
            Some(p) => Ok(Some(p.clone())),
            None => Err(Error::Credentials(format!(
                "profile {name:?} is not in {} (profiles there: {})",
                path.display(),
                known.join(", ")
            ))),
        }
    }

    /// The selected profile's region, if any.
    pub fn region(&self, env: &dyn Environment) -> Option<String> {
        self.profile(env)
            .ok()
            .flatten()
            .map(|p| p.region_id)
            .filter(|r| !r.is_empty())
    }
}

impl Loader for ProfileLoader {
    fn describe(&self) -> String {
        "the profile file ~/.aliyun/config.json (profile from alicloud:profile, ALIBABA_CLOUD_PROFILE, ALICLOUD_PROFILE or its current)".into()
    }

    fn load(&self, env: &dyn Environment) -> Result<Option<Credentials>, Error> {
        let Some(p) = self.profile(env)? else {
            return Ok(None);
        };
        let source = format!("profile {:?}", p.name);
        let token = match p.mode.as_str() {
            "AK" | "" => None,
            "StsToken" => Some(p.sts_token.clone()).filter(|t| !t.is_empty()),
            other => {
                return Err(Error::Credentials(format!(
                    "{source} uses mode {other:?}; this provider supports the modes AK and StsToken"
                )));
            }
        };
        if p.access_key_id.is_empty()
            || p.access_key_secret.is_empty()
            || (p.mode == "StsToken" && token.is_none())
        {
            return Err(Error::Credentials(format!(
                "{source} lacks access_key_id, access_key_secret or sts_token"
            )));
        }
        Ok(Some(Credentials {
            access_key_id: p.access_key_id,
            access_key_secret: p.access_key_secret,
            security_token: token,
            source,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnvironment;

    const FILE: &str = r#"{"current": "dev", "profiles": [
        {"name": "dev", "mode": "AK", "access_key_id": "AKDEV", "access_key_secret": "SDEV", "region_id": "cn-shanghai"},
        {"name": "sts", "mode": "StsToken", "access_key_id": "STS.AK", "access_key_secret": "S", "sts_token": "T"},
        {"name": "role", "mode": "RamRoleArn", "access_key_id": "A", "access_key_secret": "S"},
        {"name": "half", "mode": "AK", "access_key_id": "A"}
    ]}"#;

    fn env(vars: &[(&str, &str)]) -> MapEnvironment {
        MapEnvironment::with_vars(vars).file("/home/test/.aliyun/config.json", FILE)
    }

    fn loader(name: Option<&str>) -> ProfileLoader {
        ProfileLoader {
            selection: ProfileSelection {
                configured: name.map(Into::into),
            },
        }
    }

    #[test]
    fn current_profile_and_region() {
        let c = loader(None).load(&env(&[])).unwrap().unwrap();
        assert_eq!(c.access_key_id, "AKDEV");
        assert_eq!(
            loader(None).region(&env(&[])).as_deref(),
            Some("cn-shanghai")
        );
    }

    #[test]
    fn selection_order_config_then_env() {
        let c = loader(Some("sts"))
            .load(&env(&[("ALIBABA_CLOUD_PROFILE", "dev")]))
            .unwrap()
            .unwrap();
        assert_eq!(c.security_token.as_deref(), Some("T"));
        let c = loader(None)
            .load(&env(&[("ALIBABA_CLOUD_PROFILE", "sts")]))
            .unwrap()
            .unwrap();
        assert_eq!(c.access_key_id, "STS.AK");
        let c = loader(None)
            .load(&env(&[("ALICLOUD_PROFILE", "sts")]))
            .unwrap()
            .unwrap();
        assert_eq!(c.access_key_id, "STS.AK");
    }

    #[test]
    fn missing_unsupported_partial() {
        assert!(
            loader(None)
                .load(&MapEnvironment::with_vars(&[]))
                .unwrap()
                .is_none()
        );
        let err = loader(Some("dev"))
            .load(&MapEnvironment::with_vars(&[]))
            .unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let err = loader(Some("nope")).load(&env(&[])).unwrap_err();
        assert!(err.to_string().contains("dev, sts, role, half"), "{err}");
        let err = loader(Some("role")).load(&env(&[])).unwrap_err();
        assert!(err.to_string().contains("AK and StsToken"), "{err}");
        assert!(loader(Some("half")).load(&env(&[])).is_err());
        let broken =
            MapEnvironment::with_vars(&[]).file("/home/test/.aliyun/config.json", "{not json");
        assert!(
            loader(None)
                .load(&broken)
                .unwrap_err()
                .to_string()
                .contains("not a valid profile file")
        );
    }
}
