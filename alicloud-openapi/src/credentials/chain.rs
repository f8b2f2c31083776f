//! The credentials chain: the first source that has credentials wins, and the caller's `assume_role` is
//! applied on top of it.

use std::sync::Arc;

use tokio::sync::Mutex;

use super::assume_role::{AssumeRoleProvider, RoleSpec};
use super::config::ConfigLoader;
use super::ecs_metadata::EcsMetadataLoader;
use super::env::EnvLoader;
use super::ini::IniLoader;
use super::oidc::OidcLoader;
use super::profile::ProfileLoader;
use super::uri::UriLoader;
use super::{
    BoxFuture, CredentialSettings, Credentials, FetchContext, LoadContext, Loaded, Loader,
    ProvideCredentials,
};
use crate::environment::{Setting, SettingNames};
use crate::error::Error;

/// Loaders asked in order.
pub(crate) struct Chain {
    loaders: Vec<Box<dyn Loader>>,
    names: SettingNames,
}

/// The order of Alibaba's tools, the caller's own settings first:
/// 1. settings: `access_key_id`/`access_key_secret`/`security_token`, `assume_role_with_oidc`,
///    `ecs_role_name`, `profile`/`shared_credentials_file`, `credentials_uri`;
/// 2. `ALIBABA_CLOUD_ACCESS_KEY_ID`…, then `ALICLOUD_ACCESS_KEY`…;
/// 3. the OIDC role of the environment;
/// 4. the CLI profile file `~/.aliyun/config.json`;
/// 5. the credentials file `~/.alibabacloud/credentials`;
/// 6. the ECS instance RAM role (by `ALIBABA_CLOUD_ECS_METADATA`, else probed on an ECS instance);
/// 7. `ALIBABA_CLOUD_CREDENTIALS_URI`.
pub(crate) fn default_chain(settings: &CredentialSettings, names: SettingNames) -> Chain {
    Chain::new(
        vec![
            Box::new(ConfigLoader {
                access_key_id: settings.access_key_id.clone(),
                access_key_secret: settings.access_key_secret.clone(),
                security_token: settings.security_token.clone(),
            }),
            Box::new(OidcLoader::Config(settings.assume_role_with_oidc.clone())),
            Box::new(EcsMetadataLoader::Config(settings.ecs_role_name.clone())),
            Box::new(ProfileLoader::configured(settings)),
            Box::new(UriLoader::Config(settings.credentials_uri.clone())),
            Box::new(EnvLoader::ALIBABA_CLOUD),
            Box::new(EnvLoader::ALICLOUD),
            Box::new(OidcLoader::Environment),
            Box::new(ProfileLoader::default_position(settings)),
            Box::new(IniLoader),
            Box::new(EcsMetadataLoader::Default),
            Box::new(UriLoader::Environment),
        ],
        names,
    )
}

/// The credentials of the caller's settings: the default chain, with `assume_role` on top when set.
pub(crate) fn resolve(
    settings: &CredentialSettings,
    cx: &LoadContext<'_>,
) -> Result<Arc<dyn ProvideCredentials>, Error> {
    let base = default_chain(settings, cx.names).resolve(cx)?;
    match &settings.assume_role {
        None => Ok(base),
        Some(role) => AssumeRoleProvider::build(
            base,
            RoleSpec {
                role_arn: role.role_arn.clone(),
                session_name: role.session_name.clone(),
                duration_seconds: role.duration_seconds,
                policy: role.policy.clone(),
                external_id: role.external_id.clone(),
                sts_region: None,
            },
            &(cx.names)(Setting::AssumeRole),
            cx,
        ),
    }
}

fn nothing_found(notes: &[String], names: SettingNames) -> Error {
    let places: Vec<String> = notes.iter().map(|n| format!("  - {n}")).collect();
    Error::Credentials(format!(
        "no Alibaba Cloud credentials found; looked in:\n{}\nset {} and {} or one of the above",
        places.join("\n"),
        names(Setting::AccessKeyId),
        names(Setting::AccessKeySecret),
    ))
}

impl Chain {
    /// A chain of these loaders, whose messages name settings with `names`.
    pub(crate) fn new(loaders: Vec<Box<dyn Loader>>, names: SettingNames) -> Self {
        Chain { loaders, names }
    }

    /// The first source that has credentials. An error from a source stops the chain (a half-set source is a
    /// mistake to report, not to skip). Sources only the network can settle ([`Loaded::Maybe`]) are kept
    /// and asked, in order, at the first call. Nothing anywhere is an error naming every place looked and why
    /// it had nothing.
    pub(crate) fn resolve(
        &self,
        cx: &LoadContext<'_>,
    ) -> Result<Arc<dyn ProvideCredentials>, Error> {
        let mut notes = Vec::new();
        let mut candidates: Vec<Arc<dyn ProvideCredentials>> = Vec::new();
        for loader in &self.loaders {
            match loader.load(cx)? {
                Loaded::Absent(why) => notes.push(format!("{}: {why}", loader.describe(cx.names))),
                Loaded::Found(provider) => {
                    tracing::debug!(source = %provider.describe(), "credentials source chosen");
                    if candidates.is_empty() {
                        return Ok(provider);
                    }
                    candidates.push(provider);
                    break;
                }
                Loaded::Maybe(provider) => candidates.push(provider),
            }
        }
        if candidates.is_empty() {
            return Err(nothing_found(&notes, self.names));
        }
        Ok(Arc::new(Fallback {
            candidates,
            notes,
            names: self.names,
            chosen: Mutex::new(None),
        }))
    }
}

/// Sources tried in order at the first call; the first with credentials is kept for later calls.
struct Fallback {
    candidates: Vec<Arc<dyn ProvideCredentials>>,
    /// Why the sources examined when the settings were resolved had nothing.
    notes: Vec<String>,
    names: SettingNames,
    chosen: Mutex<Option<usize>>,
}

impl ProvideCredentials for Fallback {
    fn describe(&self) -> String {
        let names: Vec<String> = self.candidates.iter().map(|c| c.describe()).collect();
        format!("the first of: {}", names.join("; "))
    }

    fn expired(&self, rejected: &Credentials) {
        if let Ok(chosen) = self.chosen.try_lock()
            && let Some(i) = *chosen
        {
            self.candidates[i].expired(rejected);
        }
    }

    fn provide<'a>(
        &'a self,
        cx: &'a FetchContext<'a>,
    ) -> BoxFuture<'a, Result<Option<Credentials>, Error>> {
        Box::pin(async move {
            // Held while probing, so that concurrent first calls probe once.
            let mut chosen = self.chosen.lock().await;
            if let Some(i) = *chosen {
                drop(chosen);
                let source = &self.candidates[i];
                return match source.provide(cx).await? {
                    Some(c) => Ok(Some(c)),
                    None => Err(Error::Credentials(format!(
                        "{} had credentials but no longer answers",
                        source.describe()
                    ))),
                };
            }
            let mut notes = self.notes.clone();
            for (i, source) in self.candidates.iter().enumerate() {
                if let Some(c) = source.provide(cx).await? {
                    tracing::debug!(source = %source.describe(), "credentials source chosen");
                    *chosen = Some(i);
                    return Ok(Some(c));
                }
                notes.push(format!(
                    "{}: not reachable, or no RAM role attached",
                    source.describe()
                ));
            }
            Err(nothing_found(&notes, self.names))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::TimeDelta;

    use super::*;
    use crate::credentials::sts::StsEndpoints;
    use crate::credentials::testing::{
        ManualClock, Reply, Server, fetch_context, provide, sts_answer, transport,
    };
    use crate::credentials::{AssumeRoleSettings, OidcRoleSettings};
    use crate::environment::field_names;
    use crate::{MapEnvironment, SignatureVersion};

    /// A loader that counts its calls and answers as told.
    struct Counting {
        name: &'static str,
        answer: Answer,
        calls: Arc<AtomicUsize>,
    }

    #[derive(Clone, Copy)]
    enum Answer {
        Absent,
        Found,
        Maybe(bool),
        Broken,
    }

    /// A network source that has credentials or not.
    struct Probe(&'static str, bool, Arc<AtomicUsize>);

    impl ProvideCredentials for Probe {
        fn describe(&self) -> String {
            self.0.into()
        }
        fn provide<'a>(
            &'a self,
            _cx: &'a FetchContext<'a>,
        ) -> BoxFuture<'a, Result<Option<Credentials>, Error>> {
            Box::pin(async move {
                self.2.fetch_add(1, Ordering::SeqCst);
                Ok(self.1.then(|| Credentials::new(self.0, "s", None, self.0)))
            })
        }
    }

    impl Loader for Counting {
        fn describe(&self, _names: SettingNames) -> String {
            self.name.into()
        }
        fn load(&self, _cx: &LoadContext<'_>) -> Result<Loaded, Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(match self.answer {
                Answer::Absent => Loaded::Absent(format!("{} is empty", self.name)),
                Answer::Found => {
                    Loaded::Found(Arc::new(Credentials::new(self.name, "s", None, self.name)))
                }
                Answer::Maybe(has) => {
                    Loaded::Maybe(Arc::new(Probe(self.name, has, self.calls.clone())))
                }
                Answer::Broken => {
                    return Err(Error::Credentials(format!("{} is broken", self.name)));
                }
            })
        }
    }

    fn counting(name: &'static str, answer: Answer) -> (Box<dyn Loader>, Arc<AtomicUsize>) {
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

    fn resolve_chain(chain: Chain) -> Result<Arc<dyn ProvideCredentials>, Error> {
        let env = MapEnvironment::default();
        let clock = ManualClock::new().clock();
        chain.resolve(&LoadContext {
            env: &env,
            sts: &StsEndpoints::default(),
            clock: &clock,
            names: crate::environment::field_names,
        })
    }

    fn calls(c: &[&Arc<AtomicUsize>]) -> Vec<usize> {
        c.iter().map(|c| c.load(Ordering::SeqCst)).collect()
    }

    #[test]
    fn first_success_stops_the_chain() {
        let (a, ca) = counting("a", Answer::Absent);
        let (b, cb) = counting("b", Answer::Found);
        let (c, cc) = counting("c", Answer::Found);
        let got = resolve_chain(Chain::new(vec![a, b, c], field_names)).unwrap();
        assert_eq!(got.known().unwrap().access_key_id, "b");
        assert_eq!(calls(&[&ca, &cb, &cc]), [1, 1, 0]);
    }

    #[test]
    fn a_broken_source_stops_the_chain() {
        let (a, _) = counting("a", Answer::Broken);
        let (b, cb) = counting("b", Answer::Found);
        let err = resolve_chain(Chain::new(vec![a, b], field_names))
            .err()
            .unwrap();
        assert!(err.to_string().contains("a is broken"), "{err}");
        assert_eq!(calls(&[&cb]), [0]);
    }

    #[test]
    fn nothing_found_names_every_place_and_why() {
        let (a, _) = counting("place-a", Answer::Absent);
        let (b, _) = counting("place-b", Answer::Absent);
        let err = resolve_chain(Chain::new(vec![a, b], field_names))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("  - place-a: place-a is empty\n  - place-b: place-b is empty"),
            "{err}"
        );
        let err = resolve_chain(Chain::new(vec![], field_names))
            .err()
            .unwrap();
        assert!(matches!(err, Error::Credentials(_)));
    }

    #[tokio::test]
    async fn probes_are_asked_at_the_first_call_in_order_and_the_winner_kept() {
        let (a, ca) = counting("a", Answer::Absent);
        let (b, cb) = counting("probe-b", Answer::Maybe(false));
        let (c, cc) = counting("probe-c", Answer::Maybe(true));
        let (d, cd) = counting("d", Answer::Found);
        let p = resolve_chain(Chain::new(vec![a, b, c, d], field_names)).unwrap();
        // Resolving looked at every loader up to the first definite source and asked no one.
        assert_eq!(calls(&[&ca, &cb, &cc, &cd]), [1, 1, 1, 1]);
        let t = transport(SignatureVersion::V3);
        assert_eq!(
            provide(p.as_ref(), &t)
                .await
                .unwrap()
                .unwrap()
                .access_key_id,
            "probe-c"
        );
        assert_eq!(calls(&[&cb, &cc]), [2, 2]);
        provide(p.as_ref(), &t).await.unwrap();
        assert_eq!(
            calls(&[&cb, &cc]),
            [2, 3],
            "the chosen source is asked directly"
        );
    }

    #[tokio::test]
    async fn probes_that_have_nothing_end_in_the_full_list() {
        let (a, _) = counting("a", Answer::Absent);
        let (b, _) = counting("probe-b", Answer::Maybe(false));
        let p = resolve_chain(Chain::new(vec![a, b], field_names)).unwrap();
        let err = provide(p.as_ref(), &transport(SignatureVersion::V3))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a: a is empty") && err.contains("probe-b: not reachable"),
            "{err}"
        );
    }

    fn chain_env() -> MapEnvironment {
        MapEnvironment::with_vars(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ENV1"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "S1"),
            ("ALICLOUD_ACCESS_KEY", "ENV2"),
            ("ALICLOUD_SECRET_KEY", "S2"),
        ])
        .file(
            "/home/test/.aliyun/config.json",
            r#"{"current":"p","profiles":[{"name":"p","mode":"AK","access_key_id":"FILE","access_key_secret":"S3"},{"name":"q","mode":"AK","access_key_id":"PROFILE","access_key_secret":"S4"}]}"#,
        )
        .file(
            "/home/test/.alibabacloud/credentials",
            "[default]\ntype = access_key\naccess_key_id = INI\naccess_key_secret = S5\n",
        )
    }

    fn id(inputs: &CredentialSettings, env: &MapEnvironment) -> String {
        let clock = ManualClock::new().clock();
        let p = resolve(
            inputs,
            &LoadContext {
                env,
                sts: &StsEndpoints::default(),
                clock: &clock,
                names: crate::environment::field_names,
            },
        )
        .unwrap();
        p.known()
            .map(|c| c.access_key_id)
            .unwrap_or_else(|| p.describe())
    }

    #[test]
    fn default_order_config_env_alicloud_profile_ini() {
        let mut env = chain_env();
        let keys = CredentialSettings {
            access_key_id: Some("CFG".into()),
            access_key_secret: Some("S0".into()),
            ..Default::default()
        };
        assert_eq!(id(&keys, &env), "CFG");
        // A configured profile comes before the environment's keys.
        let profile = CredentialSettings {
            profile: Some("q".into()),
            ..Default::default()
        };
        assert_eq!(id(&profile, &env), "PROFILE");
        let none = CredentialSettings::default();
        assert_eq!(id(&none, &env), "ENV1");
        env.vars.remove("ALIBABA_CLOUD_ACCESS_KEY_ID");
        env.vars.remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
        assert_eq!(id(&none, &env), "ENV2");
        env.vars.clear();
        assert_eq!(id(&none, &env), "FILE");
        env.vars
            .insert("ALIBABA_CLOUD_CLI_PROFILE_DISABLED".into(), "true".into());
        assert_eq!(id(&none, &env), "INI");
        env.vars
            .insert("ALIBABA_CLOUD_ECS_METADATA".into(), "worker".into());
        env.files.clear();
        assert!(id(&none, &env).contains("ECS instance RAM role \"worker\""));
        env.vars
            .insert("ALIBABA_CLOUD_ECS_METADATA_DISABLED".into(), "true".into());
        env.vars.insert(
            "ALIBABA_CLOUD_CREDENTIALS_URI".into(),
            "http://127.0.0.1:1/c".into(),
        );
        assert!(id(&none, &env).contains("credentials URI http://127.0.0.1:1/c"));
    }

    #[test]
    fn config_sources_in_their_order() {
        let env = chain_env().file("/tmp/tok", "jwt");
        let oidc = Some(OidcRoleSettings {
            role_arn: "acs:ram::1:role/ci".into(),
            oidc_provider_arn: "p".into(),
            oidc_token_file: Some("/tmp/tok".into()),
            ..Default::default()
        });
        let all = CredentialSettings {
            assume_role_with_oidc: oidc.clone(),
            ecs_role_name: Some("worker".into()),
            profile: Some("q".into()),
            credentials_uri: Some("http://127.0.0.1:1/c".into()),
            ..Default::default()
        };
        assert!(id(&all, &env).contains("AssumeRoleWithOIDC"));
        let ecs = CredentialSettings {
            assume_role_with_oidc: None,
            ..all.clone()
        };
        assert!(id(&ecs, &env).contains("\"worker\""));
        let profile = CredentialSettings {
            ecs_role_name: None,
            ..ecs
        };
        assert_eq!(id(&profile, &env), "PROFILE");
        let uri = CredentialSettings {
            profile: None,
            ..profile
        };
        assert!(id(&uri, &env).contains("credentials URI"));
    }

    #[test]
    fn nothing_anywhere_lists_every_source() {
        let clock = ManualClock::new().clock();
        let err = resolve(
            &CredentialSettings::default(),
            &LoadContext {
                env: &MapEnvironment::with_vars(&[]),
                sts: &StsEndpoints::default(),
                clock: &clock,
                names: crate::environment::field_names,
            },
        )
        .err()
        .unwrap()
        .to_string();
        for place in [
            "access_key_id",
            "assume_role_with_oidc",
            "ecs_role_name",
            "profile",
            "credentials_uri",
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALICLOUD_ACCESS_KEY",
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "config.json does not exist",
            "credentials does not exist",
            "not an ECS instance",
            "ALIBABA_CLOUD_CREDENTIALS_URI",
        ] {
            assert!(err.contains(place), "{place} missing from: {err}");
        }
        assert_eq!(err.matches("\n  - ").count(), 12, "{err}");
    }

    #[tokio::test]
    async fn assume_role_goes_on_top_of_what_the_chain_found() {
        let expires = ManualClock::new().now() + TimeDelta::minutes(15);
        let server = Server::start(move |_| Reply::json(200, sts_answer("STS.TOP", expires))).await;
        let inputs = CredentialSettings {
            assume_role: Some(AssumeRoleSettings {
                role_arn: "acs:ram::1:role/top".into(),
                session_name: Some("deployer".into()),
                duration_seconds: Some(900),
                ..Default::default()
            }),
            ..Default::default()
        };
        let sts = StsEndpoints {
            explicit: Some(server.endpoint()),
            ..Default::default()
        };
        let env = chain_env();
        let clock = ManualClock::new().clock();
        let p = resolve(
            &inputs,
            &LoadContext {
                env: &env,
                sts: &sts,
                clock: &clock,
                names: crate::environment::field_names,
            },
        )
        .unwrap();
        let (ctx, t) = fetch_context();
        let c = p
            .provide(&FetchContext::new(&ctx, &t))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.access_key_id, "STS.TOP");
        let req = &server.requests()[0];
        assert!(
            req.header("authorization")
                .unwrap_or_default()
                .contains("Credential=ENV1,")
        );
        assert_eq!(req.param("RoleSessionName").as_deref(), Some("deployer"));
        assert_eq!(req.param("DurationSeconds").as_deref(), Some("900"));
    }
}
