//! Credentials from the provider's own configuration.

use super::{LoadContext, Loaded, Loader, found, from_parts};
use crate::Error;

/// `alicloud:accessKey`, `alicloud:secretKey`, `alicloud:securityToken`.
#[derive(Clone, Default)]
pub struct ConfigLoader {
    /// accessKey.
    pub access_key: Option<String>,
    /// secretKey.
    pub secret_key: Option<String>,
    /// securityToken.
    pub security_token: Option<String>,
}

impl std::fmt::Debug for ConfigLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigLoader")
            .field("access_key", &self.access_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Loader for ConfigLoader {
    fn describe(&self) -> String {
        "provider config (alicloud:accessKey, alicloud:secretKey, alicloud:securityToken)".into()
    }

    fn load(&self, _cx: &LoadContext<'_>) -> Result<Loaded, Error> {
        Ok(
            match from_parts(
                "provider config",
                ("accessKey", self.access_key.clone()),
                ("secretKey", self.secret_key.clone()),
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
            access_key: k.map(Into::into),
            secret_key: s.map(Into::into),
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
                .contains("accessKey is set but secretKey is not")
        );
        assert!(
            load(None, Some("S"), None)
                .unwrap_err()
                .to_string()
                .contains("accessKey is not")
        );
        assert!(load(None, None, Some("T")).is_err());
    }

    #[test]
    fn debug_redacts() {
        let loader = ConfigLoader {
            access_key: Some("AK".into()),
            secret_key: Some("very-secret".into()),
            security_token: Some("tok".into()),
        };
        let shown = format!("{loader:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("tok\""),
            "{shown}"
        );
    }
}
