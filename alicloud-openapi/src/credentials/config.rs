//! Credentials from the provider's own configuration.

use super::{Credentials, Loader, from_parts};
use crate::{Environment, Error};

/// `alicloud:accessKey`, `alicloud:secretKey`, `alicloud:securityToken`.
#[derive(Debug, Clone, Default)]
pub struct ConfigLoader {
    /// accessKey.
    pub access_key: Option<String>,
    /// secretKey.
    pub secret_key: Option<String>,
    /// securityToken.
    pub security_token: Option<String>,
}

impl Loader for ConfigLoader {
    fn describe(&self) -> String {
        "provider config (alicloud:accessKey, alicloud:secretKey, alicloud:securityToken)".into()
    }

    fn load(&self, _env: &dyn Environment) -> Result<Option<Credentials>, Error> {
        from_parts(
            "provider config",
            ("accessKey", self.access_key.clone()),
            ("secretKey", self.secret_key.clone()),
            self.security_token.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnvironment;

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
        loader.load(&MapEnvironment::default())
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
}
