//! `alicloud-emulator`: serves the emulated ECS + ECD + STS OpenAPI on 127.0.0.1 and prints its URL on the
//! first line of stdout, then the ECS instance metadata service's URL on the second.

use std::io::Write;
use std::process::ExitCode;

use alicloud_emulator::options::{Command, Options, USAGE};
use alicloud_emulator::{serve, serve_metadata};
use anyhow::Context;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

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
    let options = match Options::parse(std::env::args().skip(1))? {
        Command::Run(options) => options,
        Command::Help => {
            println!("{USAGE}");
            return Ok(());
        }
    };
    let shared = options.shared()?;
    let listener = TcpListener::bind(("127.0.0.1", options.port))
        .await
        .context("binding 127.0.0.1")?;
    let metadata = TcpListener::bind(("127.0.0.1", options.metadata_port))
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
