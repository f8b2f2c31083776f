//! Credentials from environment variables.

use super::{LoadContext, Loaded, Loader, found, from_parts};
use crate::environment::SettingNames;
use crate::error::Error;

/// One family of variables: key, secret and token names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EnvLoader {
    /// The AccessKey ID variable.
    pub key: &'static str,
    /// The secret variable.
    pub secret: &'static str,
    /// The STS token variable.
    pub token: &'static str,
}

impl EnvLoader {
    /// `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET`, `ALIBABA_CLOUD_SECURITY_TOKEN`.
    pub const ALIBABA_CLOUD: EnvLoader = EnvLoader {
        key: "ALIBABA_CLOUD_ACCESS_KEY_ID",
        secret: "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        token: "ALIBABA_CLOUD_SECURITY_TOKEN",
    };
    /// `ALICLOUD_ACCESS_KEY`, `ALICLOUD_SECRET_KEY`, `ALICLOUD_SECURITY_TOKEN`.
    pub const ALICLOUD: EnvLoader = EnvLoader {
        key: "ALICLOUD_ACCESS_KEY",
        secret: "ALICLOUD_SECRET_KEY",
        token: "ALICLOUD_SECURITY_TOKEN",
    };
}

impl Loader for EnvLoader {
    fn describe(&self, _names: SettingNames) -> String {
        format!(
            "environment ({}, {}, {})",
            self.key, self.secret, self.token
        )
    }

    fn load(&self, cx: &LoadContext<'_>) -> Result<Loaded, Error> {
        let env = cx.env;
        Ok(
            match from_parts(
                &format!("environment {}", self.key),
                (self.key, env.var(self.key)),
                (self.secret, env.var(self.secret)),
                env.var(self.token),
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
    use crate::MapEnvironment;
    use crate::credentials::testing::static_credentials;

    fn load(l: EnvLoader, env: &MapEnvironment) -> Result<Option<crate::Credentials>, Error> {
        static_credentials(&l, env)
    }

    #[test]
    fn valid_token_missing_partial() {
        let l = EnvLoader::ALIBABA_CLOUD;
        let env = MapEnvironment::with_vars(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "AK"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "S"),
        ]);
        assert_eq!(load(l, &env).unwrap().unwrap().access_key_id, "AK");
        let env = MapEnvironment::with_vars(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "AK"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "S"),
            ("ALIBABA_CLOUD_SECURITY_TOKEN", "T"),
        ]);
        assert_eq!(
            load(l, &env).unwrap().unwrap().security_token.as_deref(),
            Some("T")
        );
        assert!(
            load(
                l,
                &MapEnvironment::with_vars(&[("ALICLOUD_ACCESS_KEY", "AK")])
            )
            .unwrap()
            .is_none()
        );
        let err = load(
            l,
            &MapEnvironment::with_vars(&[("ALIBABA_CLOUD_ACCESS_KEY_ID", "AK")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
            "{err}"
        );
        let env = MapEnvironment::with_vars(&[
            ("ALICLOUD_ACCESS_KEY", "AK2"),
            ("ALICLOUD_SECRET_KEY", "S2"),
        ]);
        assert_eq!(
            load(EnvLoader::ALICLOUD, &env)
                .unwrap()
                .unwrap()
                .access_key_secret,
            "S2"
        );
    }
}
