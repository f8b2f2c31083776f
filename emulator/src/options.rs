//! What an emulator starts with: the binary's flags, parsed here so that the binary and whatever runs the
//! emulator in-process (the provider's tests) build the same state from the same options.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::model::{DEFAULT_SEED, World};
use crate::{Shared, Timing, load_world};

/// The binary's usage line.
pub const USAGE: &str = "usage: alicloud-emulator [--port N] [--metadata-port N] [--seed FILE] [--state-file FILE] [--image-create-seconds F] [--image-delete-seconds F]";

/// How to start an emulator; the default is the binary's without flags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// The API's port on 127.0.0.1; 0 for any free one.
    pub port: u16,
    /// The metadata service's port on 127.0.0.1; 0 for any free one.
    pub metadata_port: u16,
    /// The seed file; the built-in seed when absent.
    pub seed: Option<PathBuf>,
    /// Where the world is kept across restarts; in memory only when absent.
    pub state_file: Option<PathBuf>,
    /// How long emulated operations take.
    pub timing: Timing,
}

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Serve with these options.
    Run(Options),
    /// Print [`USAGE`] and stop.
    Help,
}

impl Options {
    /// Parses the binary's flags (without the program name).
    ///
    /// ```
    /// use alicloud_emulator::options::{Command, Options};
    ///
    /// let Command::Run(options) = Options::parse(["--image-create-seconds", "0.3"].map(String::from))?
    /// else {
    ///     panic!("not help");
    /// };
    /// assert_eq!(options.timing.image_create_seconds, 0.3);
    /// # Ok::<(), anyhow::Error>(())
    /// ```
    pub fn parse(args: impl IntoIterator<Item = String>) -> anyhow::Result<Command> {
        let mut options = Options::default();
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            if flag == "--help" || flag == "-h" {
                return Ok(Command::Help);
            }
            let value = it
                .next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
            let seconds = |v: &str| -> anyhow::Result<f64> {
                let s: f64 = v
                    .parse()
                    .with_context(|| format!("{flag}: not a number: {v}"))?;
                if !s.is_finite() || s < 0.0 {
                    bail!("{flag} must not be negative");
                }
                Ok(s)
            };
            match flag.as_str() {
                "--port" => {
                    options.port = value
                        .parse()
                        .with_context(|| format!("--port: not a port: {value}"))?
                }
                "--metadata-port" => {
                    options.metadata_port = value
                        .parse()
                        .with_context(|| format!("--metadata-port: not a port: {value}"))?
                }
                "--seed" => options.seed = Some(value.into()),
                "--state-file" => options.state_file = Some(value.into()),
                "--image-create-seconds" => options.timing.image_create_seconds = seconds(&value)?,
                "--image-delete-seconds" => options.timing.image_delete_seconds = seconds(&value)?,
                other => bail!("unknown flag {other}\n{USAGE}"),
            }
        }
        Ok(Command::Run(options))
    }

    /// The state to serve: the seed (checked), and the world from the state file when it exists, else the
    /// seed's.
    pub fn shared(&self) -> anyhow::Result<Arc<Shared>> {
        let seed_text = match &self.seed {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
            None => DEFAULT_SEED.to_string(),
        };
        let seed: World = serde_json::from_str(&seed_text).context("parsing the seed")?;
        if let Some(problem) = seed.problem() {
            bail!("the seed: {problem}");
        }
        let world =
            load_world(&seed, self.state_file.as_deref()).context("loading the state file")?;
        Ok(Shared::new(
            world,
            seed,
            self.timing,
            self.state_file.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Command> {
        Options::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn flags_set_their_option_and_the_rest_keep_the_binary_defaults() {
        let parsed = parse(&[
            "--port",
            "8080",
            "--state-file",
            "state.json",
            "--image-delete-seconds",
            "1.5",
        ])
        .expect("valid flags");
        let expected = Options {
            port: 8080,
            state_file: Some("state.json".into()),
            timing: Timing {
                image_delete_seconds: 1.5,
                ..Timing::default()
            },
            ..Options::default()
        };
        assert_eq!(parsed, Command::Run(expected));
        assert_eq!(
            parse(&[]).expect("no flags"),
            Command::Run(Options::default())
        );
    }

    #[test]
    fn help_wins_and_bad_flags_say_what_is_wrong() {
        assert_eq!(parse(&["--port", "1", "-h"]).expect("help"), Command::Help);
        for (args, message) in [
            (&["--port"][..], "--port needs a value"),
            (&["--port", "x"][..], "--port: not a port: x"),
            (
                &["--image-create-seconds", "-1"][..],
                "must not be negative",
            ),
            (
                &["--image-create-seconds", "inf"][..],
                "must not be negative",
            ),
            (&["--verbose", "1"][..], "unknown flag --verbose"),
        ] {
            let err = parse(args).expect_err("rejected");
            assert!(format!("{err:#}").contains(message), "{args:?}: {err:#}");
        }
    }

    #[test]
    fn the_default_seed_makes_a_world_and_a_missing_seed_file_is_named() {
        assert!(Options::default().shared().is_ok());
        let options = Options {
            seed: Some("/nonexistent/seed.json".into()),
            ..Options::default()
        };
        let err = options.shared().err().expect("no seed file");
        assert!(
            err.to_string().contains("/nonexistent/seed.json"),
            "{err:#}"
        );
    }
}
