//! `alicloud-emulator`: serves the emulated ECS + ECD + STS OpenAPI on 127.0.0.1 and prints its URL on the
//! first line of stdout, then the ECS instance metadata service's URL on the second.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use alicloud_emulator::model::{DEFAULT_SEED, World};
use alicloud_emulator::{Shared, Timing, load_world, serve, serve_metadata};
use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

const USAGE: &str = "usage: alicloud-emulator [--port N] [--metadata-port N] [--seed FILE] [--state-file FILE] [--image-create-seconds F] [--image-delete-seconds F]";

struct Args {
    port: u16,
    metadata_port: u16,
    seed: Option<PathBuf>,
    state_file: Option<PathBuf>,
    timing: Timing,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        port: 0,
        metadata_port: 0,
        seed: None,
        state_file: None,
        timing: Timing::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
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
                args.port = value
                    .parse()
                    .with_context(|| format!("--port: not a port: {value}"))?
            }
            "--metadata-port" => {
                args.metadata_port = value
                    .parse()
                    .with_context(|| format!("--metadata-port: not a port: {value}"))?
            }
            "--seed" => args.seed = Some(value.into()),
            "--state-file" => args.state_file = Some(value.into()),
            "--image-create-seconds" => args.timing.image_create_seconds = seconds(&value)?,
            "--image-delete-seconds" => args.timing.image_delete_seconds = seconds(&value)?,
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    Ok(args)
}

async fn shutdown() {
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

async fn run() -> anyhow::Result<()> {
    let args = parse_args()?;
    let seed_text = match &args.seed {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => DEFAULT_SEED.to_string(),
    };
    let seed: World = serde_json::from_str(&seed_text).context("parsing the seed")?;
    if let Some(problem) = seed.problem() {
        bail!("the seed: {problem}");
    }
    let world = load_world(&seed, args.state_file.as_deref()).context("loading the state file")?;
    let shared = Shared::new(world, seed, args.timing, args.state_file);
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .context("binding 127.0.0.1")?;
    let metadata = TcpListener::bind(("127.0.0.1", args.metadata_port))
        .await
        .context("binding 127.0.0.1 for the metadata service")?;
    let addr = listener.local_addr()?;
    let metadata_addr = metadata.local_addr()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "http://{addr}")?;
    writeln!(stdout, "http://{metadata_addr}")?;
    stdout.flush()?;
    drop(stdout);
    // The metadata service stops when the API server does (it waits for the shared stop flag).
    let metadata = tokio::spawn(serve_metadata(metadata, shared.clone()));
    serve(listener, shared, shutdown()).await?;
    metadata.await.context("the metadata service")??;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EMULATOR_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
