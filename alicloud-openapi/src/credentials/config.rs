//! Credentials from the caller's own settings.

use std::fmt;

use super::{LoadContext, Loaded, Loader, configured, found, from_parts};
use crate::environment::{Setting, SettingNames};
use crate::error::Error;
use crate::redact::Redact;

const SETTINGS: &[Setting] = &[
    Setting::AccessKeyId,
    Setting::AccessKeySecret,
    Setting::SecurityToken,
];

/// [`CredentialSettings`](super::CredentialSettings)' keys and token.
#[derive(Clone, Default)]
pub(crate) struct ConfigLoader {
    pub access_key_id: Option<String>,
    pub access_key_secret: Option<String>,
    pub security_token: Option<String>,
}

impl fmt::Debug for ConfigLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigLoader")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &Redact::from(&self.access_key_secret))
            .field("security_token", &Redact::from(&self.security_token))
            .finish()
    }
}

impl Loader for ConfigLoader {
    fn describe(&self, names: SettingNames) -> String {
        configured(names, SETTINGS)
    }

    fn load(&self, cx: &LoadContext<'_>) -> Result<Loaded, Error> {
        Ok(
            match from_parts(
                "configuration",
                (
                    &(cx.names)(Setting::AccessKeyId),
                    self.access_key_id.clone(),
                ),
                (
                    &(cx.names)(Setting::AccessKeySecret),
                    self.access_key_secret.clone(),
                ),
                self.security_token.clone(),
            )? {
                Some(c) => found(c),
                None => Loaded::Absent("not set".into()),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::testing::static_credentials;
    use crate::{Credentials, MapEnvironment};

    fn load(
        k: Option<&str>,
        s: Option<&str>,
        t: Option<&str>,
    ) -> Result<Option<Credentials>, Error> {
        let loader = ConfigLoader {
            access_key_id: k.map(Into::into),
            access_key_secret: s.map(Into::into),
            security_token: t.map(Into::into),
        };
        static_credentials(&loader, &MapEnvironment::default())
    }

    #[test]
    fn valid_token_missing_partial() {
        let c = load(Some("AK"), Some("S"), None).unwrap().unwrap();
        assert_eq!(
            (
                c.access_key_id.as_str(),
                c.access_key_secret.as_str(),
                c.security_token
            ),
            ("AK", "S", None)
        );
        let c = load(Some("STS.AK"), Some("S"), Some("T")).unwrap().unwrap();
        assert_eq!(c.security_token.as_deref(), Some("T"));
        assert!(load(None, None, None).unwrap().is_none());
        assert!(
            load(Some("AK"), None, None)
                .unwrap_err()
                .to_string()
                .contains("access_key_id is set but access_key_secret is not")
        );
        assert!(
            load(None, Some("S"), None)
                .unwrap_err()
                .to_string()
                .contains("access_key_id is not")
        );
        assert!(load(None, None, Some("T")).is_err());
    }

    #[test]
    fn debug_redacts() {
        let loader = ConfigLoader {
            access_key_id: Some("AK".into()),
            access_key_secret: Some("very-secret".into()),
            security_token: Some("tok".into()),
        };
        let shown = format!("{loader:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("tok\""),
            "{shown}"
        );
    }
}
