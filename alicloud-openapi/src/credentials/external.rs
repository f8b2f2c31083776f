//! Credentials printed by a command (a CLI profile in `External` mode, `process_command`). The command's
//! standard output is JSON in the aliyun CLI's shape: `{"mode": "AK" | "StsToken", "access_key_id",
//! "access_key_secret", "sts_token", "expiration"?}`. Its output is never shown: it holds the secret.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use serde::Deserialize;

use super::{
    BoxFuture, Clock, Credentials, FetchContext, LoadContext, ProvideCredentials, cached,
    parse_expiration,
};
use crate::error::Error;

/// How long the command may run (credentials-go's default).
const TIMEOUT: Duration = Duration::from_secs(60);
/// STS credentials printed without an expiration are run for again after this long.
const UNDATED_LIFETIME: TimeDelta = TimeDelta::minutes(15);

/// Runs a command for credentials.
pub(crate) struct ExternalProvider {
    argv: Vec<String>,
    what: String,
    clock: Clock,
}

#[derive(Deserialize)]
struct Output {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    access_key_secret: String,
    #[serde(default)]
    sts_token: String,
    #[serde(default)]
    expiration: Option<String>,
}

/// Splits a command line as a POSIX shell would, without running one: blanks separate words, single quotes
/// keep everything, double quotes keep all but `\"`, `\\`, `\$` and `` \` ``, a backslash outside quotes
/// keeps the next character, and backslash-newline joins lines.
pub(crate) fn split_command(command: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut started = false;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                started = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                started = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => word.push(n),
                            Some('\n') => {}
                            Some(n) => {
                                word.push('\\');
                                word.push(n);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(n) => {
                    started = true;
                    word.push(n);
                }
                None => return Err("a trailing backslash".into()),
            },
            c if c.is_whitespace() => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                started = true;
                word.push(c);
            }
        }
    }
    if started {
        words.push(word);
    }
    if words.is_empty() {
        return Err("the command is empty".into());
    }
    Ok(words)
}

impl ExternalProvider {
    /// Checks `command` (named `what` in messages) and builds a cached provider.
    pub(crate) fn build(
        command: &str,
        what: &str,
        cx: &LoadContext<'_>,
    ) -> Result<Arc<dyn ProvideCredentials>, Error> {
        let argv = split_command(command)
            .map_err(|why| Error::Credentials(format!("{what}: process_command: {why}")))?;
        Ok(cached(
            ExternalProvider {
                argv,
                what: what.to_string(),
                clock: cx.clock.clone(),
            },
            cx.clock,
        ))
    }

    async fn run(&self) -> Result<Credentials, String> {
        let mut command = tokio::process::Command::new(&self.argv[0]);
        command
            .args(&self.argv[1..])
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let output = tokio::time::timeout(TIMEOUT, command.output())
            .await
            .map_err(|_| format!("no answer within {} s", TIMEOUT.as_secs()))?
            .map_err(|e| format!("cannot run {:?}: {e}", self.argv[0]))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stderr: String = stderr.trim().chars().take(300).collect();
            return Err(format!(
                "{:?} failed ({}): {stderr}",
                self.argv[0], output.status
            ));
        }
        let out: Output = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("{:?} did not print the expected JSON ({e})", self.argv[0]))?;
        if out.access_key_id.is_empty() || out.access_key_secret.is_empty() {
            return Err(format!(
                "{:?} printed no access_key_id or access_key_secret",
                self.argv[0]
            ));
        }
        let source = self.describe();
        let mut c = Credentials::new(
            out.access_key_id,
            out.access_key_secret,
            None,
            source.clone(),
        );
        match out.mode.as_str() {
            "AK" => {}
            "StsToken" => {
                if out.sts_token.is_empty() {
                    return Err(format!(
                        "{:?} printed mode StsToken without sts_token",
                        self.argv[0]
                    ));
                }
                c.security_token = Some(out.sts_token);
                c.expiration = Some(match out.expiration.filter(|e| !e.is_empty()) {
                    Some(e) => parse_expiration(&e, &source).map_err(|e| e.to_string())?,
                    None => self.clock.now() + UNDATED_LIFETIME,
                });
            }
            other => {
                return Err(format!(
                    "{:?} printed mode {other:?}; expected AK or StsToken",
                    self.argv[0]
                ));
            }
        }
        Ok(c)
    }
}

impl ProvideCredentials for ExternalProvider {
    fn describe(&self) -> String {
        // Only the program: arguments may carry secrets.
        format!("{} (external command {:?})", self.what, self.argv[0])
    }

    fn provide<'a>(
        &'a self,
        _cx: &'a FetchContext<'a>,
    ) -> BoxFuture<'a, Result<Option<Credentials>, Error>> {
        Box::pin(async move {
            self.run()
                .await
                .map(Some)
                .map_err(|why| Error::Credentials(format!("{}: {why}", self.describe())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::sts::StsEndpoints;
    use crate::credentials::testing::{ManualClock, provide, transport};
    use crate::{MapEnvironment, SignatureVersion};

    #[test]
    fn splits_like_a_shell() {
        let s = |c: &str| split_command(c).unwrap();
        assert_eq!(
            s("helper  get --profile dev"),
            ["helper", "get", "--profile", "dev"]
        );
        assert_eq!(
            s(r#""/opt/my tool/bin" 'a b' "x\"y" c\ d"#),
            ["/opt/my tool/bin", "a b", "x\"y", "c d"]
        );
        assert_eq!(s("tool \"\" x"), ["tool", "", "x"]);
        assert_eq!(s("tool \\\n  arg"), ["tool", "arg"]);
        assert!(split_command("  ").is_err());
        assert!(split_command("tool 'open").is_err());
    }

    async fn run(command: &str) -> Result<Option<Credentials>, Error> {
        let env = MapEnvironment::default();
        let clock = ManualClock::new().clock();
        let cx = LoadContext {
            env: &env,
            sts: &StsEndpoints::default(),
            clock: &clock,
            names: crate::environment::field_names,
        };
        let p = ExternalProvider::build(command, "profile \"ext\"", &cx)?;
        provide(p.as_ref(), &transport(SignatureVersion::V3)).await
    }

    #[tokio::test]
    async fn ak_and_sts_output() {
        let c =
            run(r#"echo '{"mode":"AK","access_key_id":"AKEXT","access_key_secret":"ext-secret"}'"#)
                .await
                .unwrap()
                .unwrap();
        assert_eq!((c.access_key_id.as_str(), c.expiration), ("AKEXT", None));
        let c = run(r#"echo '{"mode":"StsToken","access_key_id":"STS.EXT","access_key_secret":"s","sts_token":"t","expiration":"2026-01-01T01:00:00Z"}'"#)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.security_token.as_deref(), Some("t"));
        assert_eq!(
            c.expiration.unwrap().to_rfc3339(),
            "2026-01-01T01:00:00+00:00"
        );
        let c = run(r#"echo '{"mode":"StsToken","access_key_id":"STS.EXT","access_key_secret":"s","sts_token":"t"}'"#)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            c.expiration.unwrap().to_rfc3339(),
            "2026-01-01T00:15:00+00:00"
        );
    }

    #[tokio::test]
    async fn failures_never_show_the_output() {
        let err = run(r#"echo '{"mode":"StsToken","access_key_id":"A","access_key_secret":"printed-secret"}'"#)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("without sts_token") && !err.contains("printed-secret"),
            "{err}"
        );
        let err = run("echo not-json-secret").await.unwrap_err().to_string();
        assert!(
            err.contains("expected JSON") && !err.contains("not-json-secret"),
            "{err}"
        );
        let err = run("false").await.unwrap_err().to_string();
        assert!(err.contains("\"false\" failed"), "{err}");
        let err = run("/nonexistent/helper --token abc")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot run") && !err.contains("abc"), "{err}");
    }
}
