//! Outbox-to-RabbitMQ benchmark: N events (default 100,000) written to a fresh SQLite outbox are
//! read, published persistent with confirms, confirmed and marked sent by the relay; then the same
//! bodies go out through Python's `pika` (in its own virtualenv under `benches/data/venv`), once
//! waiting for each confirm in turn and once with a window of outstanding confirms.
//!
//! `cargo bench --bench publish -- [EVENTS] [--pika-single N] [--rounds N]` against the broker at
//! `CONCORD_BENCH_AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`). `--pika-single`
//! caps the events of the confirm-per-message run, which is slow (default: all of them); the relay
//! and pika's windowed run alternate `--rounds` times (default 3) and the medians are reported.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions, QueuePurgeOptions};
use lapin::{Connection, ConnectionProperties};
use serde_json::{Map, json};

use concord::model::EntityKind;
use concord::publish::{BusConfig, QueueConfig, Relay, cloudevents};
use concord::store::{
    BatchWriter, Event, FieldSource, Lineage, Operation, Outbox, RunLog, SqliteStore,
};

#[path = "../tests/support/outbox.rs"]
mod outbox;

/// The same allocator as the `concord` binary, so the relay's figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data")
}

/// A customer change of a realistic size (about 700 bytes as a CloudEvent).
fn event(n: usize) -> Event {
    let mut record = Map::new();
    record.insert("name".into(), json!(format!("Customer {n} GmbH & Co. KG")));
    record.insert("customer_type".into(), json!("b2b"));
    record.insert("tax_id".into(), json!(format!("DE{:09}", n)));
    record.insert("emails".into(), json!([format!("info{n}@example.com")]));
    record.insert("phones".into(), json!(["+49 30 1234567"]));
    record.insert(
        "addresses".into(),
        json!([{"kind": "billing", "street": "Hauptstraße", "house_number": "12", "postal_code": "10115", "city": "Berlin", "country": "DE"}]),
    );
    record.insert("status".into(), json!("active"));
    let mut sources = Lineage::new();
    for field in ["name", "tax_id", "emails"] {
        sources.insert(
            field.into(),
            FieldSource {
                source: "sap".into(),
                key: format!("{n:010}"),
                changed_at: None,
            },
        );
    }
    Event {
        event_id: uuid::Uuid::now_v7().to_string(),
        entity: EntityKind::Customer,
        operation: Operation::Created,
        golden_id: format!("cus_{n:08}"),
        version: 1,
        changed: vec!["name".into(), "tax_id".into(), "emails".into()],
        record: serde_json::value::to_raw_value(&record).expect("a map serializes"),
        sources,
        merged: Vec::new(),
        detail: None,
        at: Utc::now(),
    }
}

async fn fill_outbox(store: &SqliteStore, events: usize) -> Result<()> {
    let mut batch = Vec::with_capacity(10_000);
    for n in 0..events {
        batch.push(event(n));
        if batch.len() == 10_000 || n + 1 == events {
            store
                .commit(&outbox::batch_of(&std::mem::take(&mut batch)))
                .await?;
        }
    }
    Ok(())
}

/// Writes `routing_key<TAB>message_id<TAB>body` lines: the relay's exact bodies, for pika.
async fn write_bodies(store: &SqliteStore, config: &BusConfig, path: &Path) -> Result<()> {
    let mut out = String::new();
    let mut after = 0;
    loop {
        let page = store.events(after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for stored in &page {
            let message = cloudevents::encode(&stored.event, config);
            out.push_str(&message.routing_key);
            out.push('\t');
            out.push_str(&stored.event.event_id);
            out.push('\t');
            out.push_str(std::str::from_utf8(&message.body)?);
            out.push('\n');
        }
    }
    std::fs::write(path, out)?;
    Ok(())
}

fn python_venv() -> Result<PathBuf> {
    let venv = data_dir().join("venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("running python3 -m venv")?;
        if !status.success() {
            bail!("python3 -m venv {} failed", venv.display());
        }
    }
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pika/requirements.txt");
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "-q", "-r"])
        .arg(&requirements)
        .status()
        .context("installing pika")?;
    if !status.success() {
        bail!("pip install -r {} failed", requirements.display());
    }
    Ok(python)
}

fn pika(
    python: &Path,
    url: &str,
    exchange: &str,
    bodies: &Path,
    mode: &str,
    count: usize,
) -> Result<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pika/publish_bench.py");
    let output = Command::new(python)
        .arg(script)
        .args([
            "--url",
            url,
            "--exchange",
            exchange,
            "--mode",
            mode,
            "--window",
            "1000",
        ])
        .arg("--bodies")
        .arg(bodies)
        .args(["--count", &count.to_string()])
        .output()
        .context("running the pika benchmark")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pika {mode}: {}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    println!("  pika {mode}: {}", stdout.trim());
    stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("rate="))
        .and_then(|r| r.parse().ok())
        .context("pika printed no rate")
}

/// One relay run over the whole outbox: the first drains it, the later ones replay it (the same
/// read, publish, confirm and mark path over events already published once).
async fn relay_round(
    store: &SqliteStore,
    config: &BusConfig,
    events: usize,
    round: usize,
) -> Result<f64> {
    let started = Instant::now();
    let mut relay = Relay::new(store, config);
    let report = if round == 0 {
        relay.drain().await?.clone()
    } else {
        relay.replay(1).await?.clone()
    };
    let seconds = started.elapsed().as_secs_f64();
    let unpublished = store.counts().await?.unpublished_events;
    if report.published != events as u64 || unpublished != 0 {
        bail!(
            "relay published {} of {events}, {unpublished} left",
            report.published
        );
    }
    let rate = events as f64 / seconds;
    println!(
        "  concord relay: messages={events} seconds={seconds:.3} rate={rate:.0} (window {})",
        config.confirm_window
    );
    Ok(rate)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn purge(url: &str, queue: &str) -> Result<()> {
    let connection = Connection::connect(url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    channel
        .queue_purge(queue.into(), QueuePurgeOptions::default())
        .await?;
    connection.close(200, "done".into()).await?;
    Ok(())
}

async fn clean_up(url: &str, config: &BusConfig) -> Result<()> {
    let connection = Connection::connect(url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    for queue in &config.queues {
        channel
            .queue_delete(queue.name.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    channel
        .exchange_delete(
            config.exchange.as_str().into(),
            ExchangeDeleteOptions::default(),
        )
        .await?;
    connection.close(200, "done".into()).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    concord::memory::configure();
    let mut events = 100_000;
    let mut pika_single = None;
    let mut rounds = 3;
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pika-single" => pika_single = args.next().and_then(|n| n.parse().ok()),
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(rounds)
                    .max(1)
            }
            other => {
                events = other
                    .parse()
                    .with_context(|| format!("unknown argument `{other}`"))?
            }
        }
    }
    let pika_single = pika_single.unwrap_or(events);
    let url = std::env::var("CONCORD_BENCH_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string());
    let dir = data_dir().join("publish");
    std::fs::create_dir_all(&dir)?;
    for file in ["outbox.db", "outbox.db-wal", "outbox.db-shm"] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    let store = SqliteStore::open(&format!("sqlite://{}/outbox.db", dir.display())).await?;
    let started = Instant::now();
    fill_outbox(&store, events).await?;
    println!(
        "{events} events written to the outbox in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let id = uuid::Uuid::now_v7().simple().to_string();
    let mut config = BusConfig::new(url.as_str());
    config.exchange = format!("concord.bench.{id}");
    config.queues = vec![QueueConfig {
        name: format!("concord.bench.{id}"),
        bindings: vec!["#".into()],
        quorum: false,
        dead_letter: false,
    }];
    let bodies = dir.join("bodies.tsv");
    write_bodies(&store, &config, &bodies).await?;
    let python = python_venv()?;

    // Rounds alternate the relay and pika, so a change in the machine's load between them shows
    // as a spread of the ratios instead of skewing one side.
    let mut ratios = Vec::new();
    let (mut concord_rates, mut window_rates) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let concord_rate = relay_round(&store, &config, events, round).await?;
        purge(&url, &config.queues[0].name).await?;
        let window_rate = pika(&python, &url, &config.exchange, &bodies, "window", events)?;
        purge(&url, &config.queues[0].name).await?;
        ratios.push(concord_rate / window_rate);
        concord_rates.push(concord_rate);
        window_rates.push(window_rate);
    }
    let single_rate = pika(
        &python,
        &url,
        &config.exchange,
        &bodies,
        "single",
        pika_single,
    )?;
    clean_up(&url, &config).await?;

    let (concord_rate, window_rate) = (median(&mut concord_rates), median(&mut window_rates));
    println!(
        "\nevents/s, persistent, publisher confirms, {events} events, median of {rounds} rounds"
    );
    println!("  concord (outbox read + publish + confirm + mark sent): {concord_rate:>8.0}");
    println!(
        "  pika, window of 1000 confirms:                         {window_rate:>8.0}  (concord x{:.2}, rounds {})",
        median(&mut ratios),
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "  pika, one confirm per message:                         {single_rate:>8.0}  (concord x{:.2})",
        concord_rate / single_rate
    );
    Ok(())
}
