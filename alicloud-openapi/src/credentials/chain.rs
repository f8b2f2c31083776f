//! The credentials chain: the first loader that has credentials wins.

use super::{ConfigLoader, Credentials, EnvLoader, Loader, ProfileLoader};
use crate::{Environment, Error};

/// Loaders asked in order.
pub struct Chain {
    loaders: Vec<Box<dyn Loader>>,
}

/// Provider config → `ALIBABA_CLOUD_*` → `ALICLOUD_*` → the profile file.
pub fn default_chain(config: ConfigLoader, profile: ProfileLoader) -> Chain {
    Chain::new(vec![
        Box::new(config),
        Box::new(EnvLoader::ALIBABA_CLOUD),
        Box::new(EnvLoader::ALICLOUD),
        Box::new(profile),
    ])
}

impl Chain {
    /// A chain of these loaders.
    pub fn new(loaders: Vec<Box<dyn Loader>>) -> Self {
        Chain { loaders }
    }

    /// The first credentials found; an error from a source stops the chain (a half-set source is a
    /// mistake to report, not to skip); nothing anywhere is an error naming every place looked.
    pub fn resolve(&self, env: &dyn Environment) -> Result<Credentials, Error> {
        for loader in &self.loaders {
            if let Some(credentials) = loader.load(env)? {
                tracing::debug!(source = %credentials.source, "credentials found");
                return Ok(credentials);
            }
        }
        let places: Vec<String> = self
            .loaders
            .iter()
            .map(|l| format!("  - {}", l.describe()))
            .collect();
        Err(Error::Credentials(format!(
            "no Alibaba Cloud credentials found; looked in:\n{}\nset alicloud:accessKey and alicloud:secretKey (pulumi config set --secret alicloud:secretKey ...) or one of the above",
            places.join("\n")
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::MapEnvironment;

    struct Counting {
        name: &'static str,
        answer: Option<&'static str>,
        calls: Arc<AtomicUsize>,
    }

    impl Loader for Counting {
        fn describe(&self) -> String {
            self.name.into()
        }
        fn load(&self, _env: &dyn Environment) -> Result<Option<Credentials>, Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(self.answer.map(|id| Credentials {
                access_key_id: id.into(),
                access_key_secret: "s".into(),
                security_token: None,
                source: self.name.into(),
            }))
        }
    }

    fn counting(
        name: &'static str,
        answer: Option<&'static str>,
    ) -> (Box<dyn Loader>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        (
            Box::new(Counting {
                name,
                answer,
                calls: calls.clone(),
            }),
            calls,
        )
    }

    #[test]
    fn first_success_stops_the_chain() {
        let (a, ca) = counting("a", None);
        let (b, cb) = counting("b", Some("B"));
        let (c, cc) = counting("c", Some("C"));
        let got = Chain::new(vec![a, b, c])
            .resolve(&MapEnvironment::default())
            .unwrap();
        assert_eq!(got.access_key_id, "B");
        assert_eq!(
            (
                ca.load(Ordering::SeqCst),
                cb.load(Ordering::SeqCst),
                cc.load(Ordering::SeqCst)
            ),
            (1, 1, 0)
        );
    }

    #[test]
    fn nothing_found_names_every_place() {
        let (a, _) = counting("place-a", None);
        let (b, _) = counting("place-b", None);
        let err = Chain::new(vec![a, b])
            .resolve(&MapEnvironment::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("place-a") && err.contains("place-b"), "{err}");
        let err = Chain::new(vec![])
            .resolve(&MapEnvironment::default())
            .unwrap_err();
        assert!(matches!(err, Error::Credentials(_)));
    }

    #[test]
    fn default_order_config_env_alicloud_profile() {
        let env = MapEnvironment::with_vars(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ENV1"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "S1"),
            ("ALICLOUD_ACCESS_KEY", "ENV2"),
            ("ALICLOUD_SECRET_KEY", "S2"),
        ])
        .file("/home/test/.aliyun/config.json", r#"{"current":"p","profiles":[{"name":"p","mode":"AK","access_key_id":"FILE","access_key_secret":"S3"}]}"#);
        let config = ConfigLoader {
            access_key: Some("CFG".into()),
            secret_key: Some("S0".into()),
            security_token: None,
        };
        let id = |chain: Chain, env: &MapEnvironment| chain.resolve(env).unwrap().access_key_id;
        assert_eq!(
            id(default_chain(config, ProfileLoader::default()), &env),
            "CFG"
        );
        assert_eq!(
            id(
                default_chain(ConfigLoader::default(), ProfileLoader::default()),
                &env
            ),
            "ENV1"
        );
        let mut env2 = env.clone();
        env2.vars.remove("ALIBABA_CLOUD_ACCESS_KEY_ID");
        env2.vars.remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
        assert_eq!(
            id(
                default_chain(ConfigLoader::default(), ProfileLoader::default()),
                &env2
            ),
            "ENV2"
        );
        env2.vars.clear();
        assert_eq!(
            id(
                default_chain(ConfigLoader::default(), ProfileLoader::default()),
                &env2
            ),
            "FILE"
        );
    }
}
