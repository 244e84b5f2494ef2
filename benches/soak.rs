//! Compressed soak of the service: `concord run` with a source scheduled every few seconds over a
//! CSV drop that changes between runs (a share of its rows edited, optionally some added), for a
//! set time. Reports the service's RSS after the first load, once a minute and at the end (with a
//! constant row count it should stay flat) and each event's
//! commit-to-publish latency as a consumer sees it (the CloudEvent's `time`, taken when the batch
//! is reconciled just before its commit, to the moment the message arrives).
//!
//! `cargo bench --bench soak -- [MINUTES] [ROWS] [ADDED_PER_DROP]` (default 15 minutes, 20,000
//! rows, none added, so memory is measured over a store whose size does not grow) against the
//! broker at `CONCORD_BENCH_AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};

/// Share of rows edited between two drops, in thousandths.
const EDITED_PER_MILLE: usize = 10;

fn broker_url() -> String {
    std::env::var("CONCORD_BENCH_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string())
}

/// A drop of `rows` customers; rows whose number is in the edited share carry `round` in their
/// name, so each drop changes about one row in a hundred.
fn drop_csv(rows: usize, round: usize) -> String {
    let mut text = String::from("Kundennr;Firma;E-Mail;Ort\n");
    for i in 0..rows {
        let edited = (i + round * 7).is_multiple_of(1000 / EDITED_PER_MILLE);
        let suffix = if edited {
            format!(" (Stand {round})")
        } else {
            String::new()
        };
        text.push_str(&format!(
            "{:07};Kunde {i} GmbH{suffix};einkauf{i}@kunde{i}.de;Berlin\n",
            1_000_000 + i
        ));
    }
    text
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn write_project(dir: &Path, rows: usize, exchange: &str, queue: &str) -> Result<()> {
    std::fs::create_dir_all(dir.join("drops"))?;
    std::fs::write(dir.join("drops/customers.csv"), drop_csv(rows, 0))?;
    std::fs::write(
        dir.join("customers.yaml"),
        "entity: customer\nkey: { path: \"$.Kundennr\", transforms: [trim] }\nfields:\n  name: { path: \"$.Firma\", transforms: [trim], required: true }\n  emails: { path: \"$['E-Mail']\", transforms: [trim, lower], many: true }\n",
    )?;
    std::fs::write(
        dir.join("concord.yaml"),
        format!(
            "store: {{ url: \"sqlite://concord.db\" }}\nbus:\n  url: \"{}\"\n  exchange: {exchange}\n  queues: [{{ name: {queue}, bindings: [\"#\"] }}]\n\
             operations: {{ relay_interval: 200ms }}\n\
             sources:\n  - name: dist\n    driver: csv\n    files: \"drops/*.csv\"\n    delimiter: \";\"\n    mappings: [customers.yaml]\n    schedule: {{ every: 3s }}\n\
             match:\n  customer:\n    - {{ rule: email, exact: [emails] }}\n",
            broker_url()
        ),
    )?;
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let minutes: f64 = args.first().map_or(Ok(15.0), |a| a.parse())?;
    let rows: usize = args.get(1).map_or(Ok(20_000), |a| a.parse())?;
    let added_per_drop: usize = args.get(2).map_or(Ok(0), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let id = uuid::Uuid::now_v7().simple().to_string();
    let (exchange, queue) = (format!("concord.soak.{id}"), format!("concord.soak.{id}"));
    write_project(dir.path(), rows, &exchange, &queue)?;

    let mut service: Child = Command::new(env!("CARGO_BIN_EXE_concord"))
        .arg("--config")
        .arg(dir.path().join("concord.yaml"))
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting concord run")?;
    let pid = service.id();

    // The queue exists once the relay declared it.
    let connection = lapin::Connection::connect(&broker_url(), Default::default()).await?;
    let (_channel, mut consumer) = loop {
        let channel = connection.create_channel().await?;
        match channel
            .basic_consume(
                queue.as_str().into(),
                "soak".into(),
                BasicConsumeOptions::default(),
                Default::default(),
            )
            .await
        {
            Ok(consumer) => break (channel, consumer),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };

    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(minutes * 60.0);
    let mut latencies_ms: Vec<f64> = Vec::new();
    let mut first_rss = None;
    let mut rss_by_minute: Vec<u64> = Vec::new();
    let mut round = 0;
    let mut rows_now = rows;
    let mut next_drop = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if Instant::now() >= next_drop {
            round += 1;
            rows_now += added_per_drop;
            std::fs::write(
                dir.path().join("drops/customers.csv"),
                drop_csv(rows_now, round),
            )?;
            next_drop = Instant::now() + Duration::from_secs(5);
            // The first full load is done once the first edits are dropped: RSS from here on.
            if first_rss.is_none() && round == 2 {
                first_rss = rss_kib(pid);
            }
        }
        if started.elapsed() >= Duration::from_secs(60 * (rss_by_minute.len() as u64 + 1))
            && let Some(rss) = rss_kib(pid)
        {
            rss_by_minute.push(rss);
        }
        if let Ok(Some(Ok(delivery))) =
            tokio::time::timeout(Duration::from_millis(500), consumer.next()).await
        {
            let arrived = Utc::now();
            let body: serde_json::Value = serde_json::from_slice(&delivery.data)?;
            if round >= 1
                && let Some(time) = body["time"].as_str()
                && let Ok(time) = DateTime::parse_from_rfc3339(time)
            {
                let latency = (arrived - time.with_timezone(&Utc)).num_microseconds();
                latencies_ms.push(latency.unwrap_or_default() as f64 / 1000.0);
            }
            delivery.ack(BasicAckOptions::default()).await?;
        }
    }
    let last_rss = rss_kib(pid);
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    let status = service.wait()?;
    latencies_ms.sort_by(f64::total_cmp);
    println!(
        "soak: {minutes} min, {rows} → {rows_now} rows, {round} drops, {} change events after the first load",
        latencies_ms.len()
    );
    println!(
        "RSS after the first load {} MiB, at the end {} MiB",
        first_rss.map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
        last_rss.map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
    );
    let by_minute: Vec<String> = rss_by_minute
        .iter()
        .map(|k| format!("{:.1}", *k as f64 / 1024.0))
        .collect();
    println!("RSS each minute (MiB): {}", by_minute.join(" "));
    println!(
        "commit-to-publish latency: median {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&latencies_ms, 0.5),
        percentile(&latencies_ms, 0.99),
        percentile(&latencies_ms, 1.0)
    );
    println!("service exit after SIGTERM: {status}");
    connection.close(0, "done".into()).await.ok();
    Ok(())
}
