//! `pulumi-resource-alicloud`: the plugin binary the Pulumi engine starts.

use std::io::Write;
use std::process::ExitCode;

use std::sync::Mutex;
use tokio::net::TcpListener;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// The engine stops plugins with SIGTERM (Unix) or by ending the process (Windows); Ctrl-C works on both.
#[cfg(unix)]
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

/// The engine stops plugins with SIGTERM (Unix) or by ending the process (Windows); Ctrl-C works on both.
#[cfg(not(unix))]
async fn shutdown_signal() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// stdout belongs to the engine (the port). Logs go to stderr, or to the file named by
/// PULUMI_ALICLOUD_LOG_FILE, filtered by PULUMI_ALICLOUD_LOG (default `warn`). Spans are logged when they
/// open and close, so each RPC's start and duration can be read back.
fn init_logging() {
    let filter =
        EnvFilter::try_from_env("PULUMI_ALICLOUD_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        .with_ansi(false);
    let file = std::env::var_os("PULUMI_ALICLOUD_LOG_FILE").and_then(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    match file {
        Some(file) => builder.with_writer(Mutex::new(file)).init(),
        None => builder.with_writer(std::io::stderr).init(),
    }
}

/// One thread serves every RPC: all the provider's work is asynchronous (network calls, timers, the engine's
/// log stream) and each RPC's own computing takes microseconds, so concurrent RPCs interleave on it without
/// waiting on one another. A multi-thread runtime would add a worker thread per core and, through its
/// scheduler's statistics, libm: about 0.6 MB more resident memory for no faster answer.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    init_logging();
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(err) => {
            eprintln!("error: cannot listen on 127.0.0.1: {err}");
            return ExitCode::FAILURE;
        }
    };
    let port = match listener.local_addr() {
        Ok(addr) => addr.port(),
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{port}")
        .and_then(|_| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(stdout);
    match pulumi_resource_alicloud::serve(listener, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
