//! The process environment as the client sees it: variables, the home directory and files. Behind a
//! trait so that loaders can be tested from a map.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where settings and credentials are read from.
pub trait Environment: Send + Sync {
    /// An environment variable; empty values count as unset.
    fn var(&self, name: &str) -> Option<String>;
    /// The user's home directory.
    fn home_dir(&self) -> Option<PathBuf>;
    /// A file's contents; `Ok(None)` when it does not exist.
    fn read_file(&self, path: &Path) -> std::io::Result<Option<String>>;
    /// An owned handle on this environment, for sources that read it again after the settings were resolved (an OIDC token
    /// file is read at every refresh, as the platform rotates it).
    fn to_shared(&self) -> Arc<dyn Environment>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemEnvironment;

impl Environment for SystemEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }

    fn home_dir(&self) -> Option<PathBuf> {
        self.var("HOME").map(PathBuf::from)
    }

    fn read_file(&self, path: &Path) -> std::io::Result<Option<String>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn to_shared(&self) -> Arc<dyn Environment> {
        Arc::new(*self)
    }
}

/// An environment made of maps, for tests.
///
/// ```
/// use alicloud_openapi::{Environment, MapEnvironment};
///
/// let env = MapEnvironment::with_vars(&[("ALIBABA_CLOUD_REGION_ID", "cn-beijing")])
///     .file("/home/test/.aliyun/config.json", "{}");
/// assert_eq!(env.var("ALIBABA_CLOUD_REGION_ID").as_deref(), Some("cn-beijing"));
/// assert!(env.read_file("/home/test/.aliyun/config.json".as_ref())?.is_some());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MapEnvironment {
    /// Variables.
    pub vars: HashMap<String, String>,
    /// Files by path.
    pub files: HashMap<PathBuf, String>,
    /// The home directory.
    pub home: Option<PathBuf>,
}

impl MapEnvironment {
    /// An environment with these variables and home `/home/test`.
    pub fn with_vars(vars: &[(&str, &str)]) -> Self {
        MapEnvironment {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            files: HashMap::new(),
            home: Some(PathBuf::from("/home/test")),
        }
    }

    /// Adds a file.
    pub fn file(mut self, path: &str, text: &str) -> Self {
        self.files.insert(PathBuf::from(path), text.to_string());
        self
    }
}

impl Environment for MapEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).filter(|v| !v.is_empty()).cloned()
    }

    fn home_dir(&self) -> Option<PathBuf> {
        self.home.clone()
    }

    fn read_file(&self, path: &Path) -> std::io::Result<Option<String>> {
        Ok(self.files.get(path).cloned())
    }

    fn to_shared(&self) -> Arc<dyn Environment> {
        Arc::new(self.clone())
    }
}

/// A setting of [`Settings`](crate::Settings), as messages name it. An application that reads its own
/// configuration names each setting in its own words with [`Settings::setting_names`](crate::Settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setting {
    /// [`Settings::region`](crate::Settings::region).
    Region,
    /// [`CredentialSettings::access_key_id`](crate::credentials::CredentialSettings::access_key_id).
    AccessKeyId,
    /// [`CredentialSettings::access_key_secret`](crate::credentials::CredentialSettings::access_key_secret).
    AccessKeySecret,
    /// [`CredentialSettings::security_token`](crate::credentials::CredentialSettings::security_token).
    SecurityToken,
    /// [`CredentialSettings::profile`](crate::credentials::CredentialSettings::profile).
    Profile,
    /// [`CredentialSettings::shared_credentials_file`](crate::credentials::CredentialSettings::shared_credentials_file).
    SharedCredentialsFile,
    /// [`CredentialSettings::assume_role`](crate::credentials::CredentialSettings::assume_role).
    AssumeRole,
    /// [`CredentialSettings::assume_role_with_oidc`](crate::credentials::CredentialSettings::assume_role_with_oidc).
    AssumeRoleWithOidc,
    /// [`CredentialSettings::ecs_role_name`](crate::credentials::CredentialSettings::ecs_role_name).
    EcsRoleName,
    /// [`CredentialSettings::credentials_uri`](crate::credentials::CredentialSettings::credentials_uri).
    CredentialsUri,
    /// [`Settings::connect_timeout_ms`](crate::Settings::connect_timeout_ms).
    ConnectTimeout,
    /// [`Settings::read_timeout_ms`](crate::Settings::read_timeout_ms).
    ReadTimeout,
    /// [`Settings::max_calls_in_flight`](crate::Settings::max_calls_in_flight).
    MaxCallsInFlight,
}

impl Setting {
    /// The name of the field that holds it, e.g. `access_key_id`: how messages name it by default.
    ///
    /// ```
    /// use alicloud_openapi::Setting;
    ///
    /// assert_eq!(Setting::AccessKeyId.field(), "access_key_id");
    /// ```
    pub fn field(self) -> &'static str {
        match self {
            Setting::Region => "region",
            Setting::AccessKeyId => "access_key_id",
            Setting::AccessKeySecret => "access_key_secret",
            Setting::SecurityToken => "security_token",
            Setting::Profile => "profile",
            Setting::SharedCredentialsFile => "shared_credentials_file",
            Setting::AssumeRole => "assume_role",
            Setting::AssumeRoleWithOidc => "assume_role_with_oidc",
            Setting::EcsRoleName => "ecs_role_name",
            Setting::CredentialsUri => "credentials_uri",
            Setting::ConnectTimeout => "connect_timeout_ms",
            Setting::ReadTimeout => "read_timeout_ms",
            Setting::MaxCallsInFlight => "max_calls_in_flight",
        }
    }
}

/// How messages name settings: [`Setting::field`] unless the application says otherwise.
///
/// ```
/// use alicloud_openapi::{MapEnvironment, Setting, Settings, resolve_client_config};
///
/// /// An application whose users set `app.region` and the like.
/// fn app_names(setting: Setting) -> String {
///     format!("app.{}", setting.field())
/// }
///
/// let settings = Settings {
///     setting_names: app_names,
///     ..Default::default()
/// };
/// let env = MapEnvironment::with_vars(&[
///     ("ALIBABA_CLOUD_ACCESS_KEY_ID", "AK"),
///     ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret"),
/// ]);
/// let err = resolve_client_config(&settings, &env).unwrap_err();
/// assert!(err.to_string().contains("set app.region"), "{err}");
/// ```
pub type SettingNames = fn(Setting) -> String;

/// [`Setting::field`], as a [`SettingNames`].
pub fn field_names(setting: Setting) -> String {
    setting.field().to_string()
}
