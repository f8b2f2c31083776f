//! Loopback throughput and latency of DescribeImageSharePermission on an image shared with 50 accounts:
//! the release emulator binary in its own process, V3-signed requests from concurrent keep-alive clients.
//! `BENCH_SECONDS` (default 5) and `BENCH_CONCURRENCY` (default 8) tune the run.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alicloud_emulator::seed::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, IMAGE_1 as IMAGE};
use alicloud_openapi::{Credentials, sign};
use serde_json::{Value, json};

const KEY: (&str, &str) = (ACCESS_KEY_ID, ACCESS_KEY_SECRET);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One V3-signed DescribeImageSharePermission for all 50 shares (one page of 50).
fn describe(http: &reqwest::Client, base: &str, host: &str) -> reqwest::RequestBuilder {
    let query: Vec<(String, String)> = [
        ("RegionId", "cn-hangzhou"),
        ("ImageId", IMAGE),
        ("PageSize", "50"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let nonce = uuid::Uuid::new_v4().to_string();
    let credentials = Credentials::new(KEY.0, KEY.1, None, "bench");
    let call = sign::Call {
        method: "POST",
        host,
        action: "DescribeImageSharePermission",
        version: "2014-05-26",
        timestamp: &timestamp,
        nonce: &nonce,
        credentials: Some(&credentials),
    };
    let mut builder = http.post(format!("{base}/?{}", sign::canonical_query(&query)));
    for (name, value) in call.v3_headers(&query, b"") {
        builder = builder.header(name, value);
    }
    builder
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let seconds = env_number("BENCH_SECONDS", 5);
    let concurrency = env_number("BENCH_CONCURRENCY", 8) as usize;
    let mut child = Command::new(env!("CARGO_BIN_EXE_alicloud-emulator"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
        child.stdout.take().expect("piped stdout"),
    ));
    let base = lines
        .next()
        .ok_or_else(|| anyhow::anyhow!("the emulator printed no URL"))??
        .trim()
        .to_string();
    // The emulator prints a second line (its metadata service) and must not find the pipe closed.
    std::thread::spawn(move || lines.for_each(drop));
    let host = base.trim_start_matches("http://").to_string();
    let result = run(&base, &host, seconds, concurrency).await;
    child.kill()?;
    child.wait()?;
    result
}

async fn run(base: &str, host: &str, seconds: u64, concurrency: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let accounts: Vec<String> = (1..=50).map(|i| format!("3{i:015}")).collect();
    let mut seed: Value =
        serde_json::from_str(alicloud_emulator::model::DEFAULT_SEED).expect("default seed");
    seed["ecsImages"][0]["sharedWith"] = json!(accounts);
    http.post(format!("{base}/_emulator/seed"))
        .json(&seed)
        .send()
        .await?
        .error_for_status()?;

    // Warm up connections, and prove the answer is the full page before measuring.
    let body: Value = describe(&http, base, host).send().await?.json().await?;
    let listed = body["Accounts"]["Account"].as_array().map_or(0, Vec::len);
    anyhow::ensure!(
        listed == 50 && body["TotalCount"] == 50,
        "expected 50 shares, got {body}"
    );

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, base, host) = (http.clone(), base.to_string(), host.to_string());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0u64;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let ok = match describe(&http, &base, &host).send().await {
                        Ok(response) if response.status().is_success() => {
                            response.bytes().await.is_ok()
                        }
                        _ => false,
                    };
                    if ok {
                        latencies.push(sent.elapsed());
                    } else {
                        failures += 1;
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for worker in workers {
        let (l, f) = worker.await?;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    anyhow::ensure!(!latencies.is_empty(), "no request succeeded");
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("emulator loopback benchmark: DescribeImageSharePermission, 50 shares, V3-signed");
    println!("| figure | value | target |");
    println!("|---|---|---|");
    println!("| concurrency | {concurrency} | |");
    println!("| duration | {elapsed:.1} s | |");
    println!(
        "| requests | {} ok, {failures} failed | 0 failed |",
        latencies.len()
    );
    println!(
        "| throughput | {:.0} req/s | >= 5000 req/s |",
        latencies.len() as f64 / elapsed
    );
    println!(
        "| latency p50 | {:.2} ms | |",
        ms(percentile(&latencies, 0.50))
    );
    println!(
        "| latency p99 | {:.2} ms | <= 5 ms |",
        ms(percentile(&latencies, 0.99))
    );
    println!(
        "| latency max | {:.2} ms | |",
        ms(percentile(&latencies, 1.0))
    );
    anyhow::ensure!(failures == 0, "{failures} requests failed");
    Ok(())
}
