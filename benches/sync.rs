//! Full-sync benchmark: generates two overlapping sources (SAP IDoc and ERPNext JSON lines) and
//! syncs them into a fresh store, then syncs again with nothing changed (`--full`), then again
//! with 1% of the ERPNext lines edited, then measures the IDoc reader alone on one large file.
//!
//! `cargo bench --bench sync -- [CUSTOMERS ...] [--idoc-mb N] [--batch-size N]` (default: 100000
//! 1000000, 200 MB, the sync's default batch size for the first full sync).
//! Generated data is kept under `benches/data/` and reused. Each size is synced into a fresh
//! SQLite file and, when `CONCORD_BENCH_STORE_URL` names a PostgreSQL database (`postgres://…`),
//! then into a fresh schema `concord_bench` in it (dropped afterwards), in the same process, so
//! the two engines are compared under one machine load. The IDoc reader is measured next to
//! quick-xml's bare event loop over the same file, in the same run.

mod generator;

use generator::{data_dir, peak_rss_mib, reset_peak_rss};

use std::path::Path;
use std::time::Instant;

use futures::StreamExt;

use concord::config::Config;
use concord::connector::idoc::{IdocConfig, IdocConnector};
use concord::connector::{Connector, Pulled};
use concord::store;
use concord::sync::{NoProgress, Pipeline, SyncOptions};

/// The same allocator as the `concord` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn bench_sync(customers: usize, engine: Engine, batch_size: usize) -> anyhow::Result<()> {
    let dir = data_dir().join(format!("customers-{customers}"));
    if !dir.join("concord.yaml").exists() {
        let started = Instant::now();
        let manifest = generator::generate(
            &dir,
            &generator::GenSpec {
                customers,
                overlap: 0.3,
                seed: 42,
            },
        )?;
        println!(
            "generated {customers} customers in {:.1}s: {manifest:?}",
            started.elapsed().as_secs_f64()
        );
    }
    let config = Config::load(&dir.join("concord.yaml"))?;
    let pipeline = Pipeline::compile(config)?;
    let bench_store = BenchStore::fresh(&dir, engine).await?;
    reset_peak_rss();
    let store = store::open(&bench_store.url).await?;

    let started = Instant::now();
    let first_options = SyncOptions {
        batch_size,
        ..SyncOptions::default()
    };
    let summaries = pipeline
        .sync(store.as_ref(), &first_options, &NoProgress)
        .await?;
    let first = started.elapsed().as_secs_f64();
    // The full sync's own peak: the later phases hold the edited export in memory.
    let first_peak = peak_rss_mib();
    let read: u64 = summaries.iter().map(|s| s.read).sum();
    let events: u64 = summaries.iter().map(|s| s.reconcile.events).sum();

    let started = Instant::now();
    let options = SyncOptions {
        full: true,
        ..SyncOptions::default()
    };
    let again = pipeline.sync(store.as_ref(), &options, &NoProgress).await?;
    let second = started.elapsed().as_secs_f64();
    let second_events: u64 = again.iter().map(|s| s.reconcile.events).sum();

    let (third, third_read, third_events) =
        resync_with_one_percent_changed(&dir, &pipeline, store.as_ref()).await?;

    println!(
        "sync {customers} customers into {} (batches of {batch_size}): {read} records in {first:.1}s = {:.0} records/s, {events} events; \
         unchanged re-sync (--full) {second:.1}s with {second_events} events; \
         re-sync with 1% of the ERPNext lines changed {third:.1}s ({third_read} records read, {third_events} events); \
         peak RSS of the full sync {:.0} MiB",
        bench_store.engine,
        read as f64 / first,
        first_peak
    );
    drop(store);
    bench_store.remove().await
}

/// Edits every hundredth line of the ERPNext export (a new mobile number), syncs, and puts the
/// file back: the file's hash changed, so it is read, and its unchanged records are dropped by
/// their content hash. Returns the time, the records read and the events.
async fn resync_with_one_percent_changed(
    dir: &Path,
    pipeline: &Pipeline,
    store: &dyn concord::store::Store,
) -> anyhow::Result<(f64, u64, u64)> {
    let file = dir.join("erpnext/customers.jsonl");
    let original = std::fs::read(&file)?;
    let mut edited = Vec::with_capacity(original.len() + original.len() / 50);
    for (n, line) in original.split_inclusive(|b| *b == b'\n').enumerate() {
        if n % 100 == 0 {
            let text =
                String::from_utf8_lossy(line).replacen("\"mobile_no\":\"", "\"mobile_no\":\"+0", 1);
            edited.extend_from_slice(text.as_bytes());
        } else {
            edited.extend_from_slice(line);
        }
    }
    std::fs::write(&file, &edited)?;
    let started = Instant::now();
    let result = pipeline
        .sync(store, &SyncOptions::default(), &NoProgress)
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    std::fs::write(&file, &original)?;
    let summaries = result?;
    Ok((
        elapsed,
        summaries.iter().map(|s| s.read).sum(),
        summaries.iter().map(|s| s.reconcile.events).sum(),
    ))
}

/// The store a sync is measured on, empty at the start.
struct BenchStore {
    engine: &'static str,
    url: String,
    /// The connection that made the PostgreSQL schema, to drop it at the end.
    postgres: Option<sqlx::PgPool>,
}

/// The PostgreSQL schema the benchmark fills.
const PG_SCHEMA: &str = "concord_bench";

/// Which engine a sync is measured on.
#[derive(Debug, Clone)]
enum Engine {
    Sqlite,
    /// The PostgreSQL database at this URL.
    Postgres(String),
}

impl Engine {
    /// SQLite always; PostgreSQL too when `CONCORD_BENCH_STORE_URL` names a database.
    fn selected() -> Vec<Engine> {
        let mut engines = vec![Engine::Sqlite];
        if let Ok(url) = std::env::var("CONCORD_BENCH_STORE_URL")
            && (url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            engines.push(Engine::Postgres(url));
        }
        engines
    }
}

impl BenchStore {
    async fn fresh(dir: &Path, engine: Engine) -> anyhow::Result<BenchStore> {
        match engine {
            Engine::Postgres(url) => {
                let admin = sqlx::PgPool::connect(&url).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
                    .execute(&admin)
                    .await?;
                sqlx::query(&format!("CREATE SCHEMA {PG_SCHEMA}"))
                    .execute(&admin)
                    .await?;
                let separator = if url.contains('?') { '&' } else { '?' };
                Ok(BenchStore {
                    engine: "PostgreSQL",
                    url: format!("{url}{separator}options=-csearch_path%3D{PG_SCHEMA}"),
                    postgres: Some(admin),
                })
            }
            Engine::Sqlite => {
                let db = dir.join("bench.db");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                }
                Ok(BenchStore {
                    engine: "SQLite",
                    url: format!("sqlite://{}", db.display()),
                    postgres: None,
                })
            }
        }
    }

    /// Drops the PostgreSQL schema (a 1M-customer store is gigabytes in a shared database); the
    /// SQLite file stays for inspection until the next run.
    async fn remove(self) -> anyhow::Result<()> {
        if let Some(admin) = self.postgres {
            sqlx::query(&format!("DROP SCHEMA {PG_SCHEMA} CASCADE"))
                .execute(&admin)
                .await?;
        }
        Ok(())
    }
}

async fn bench_idoc(megabytes: u64) -> anyhow::Result<()> {
    let dir = data_dir().join("idoc");
    let file = dir.join(format!("debmas-{megabytes}mb.xml"));
    if !file.exists() {
        std::fs::create_dir_all(&dir)?;
        generator::generate_idoc_file(&file, megabytes * 1_000_000, 7)?;
    }
    let bytes = std::fs::metadata(&file)?.len();
    let megabytes = bytes as f64 / 1e6;
    let raw_cpu = cpu_seconds();
    let raw_seconds = quick_xml_event_loop(&file)?;
    let raw_cpu = cpu_seconds() - raw_cpu;
    let rss_before = peak_rss_mib();
    let connector = IdocConnector::new(IdocConfig::new(file.display().to_string()), Path::new("/"));
    let cpu = cpu_seconds();
    let started = Instant::now();
    let mut records = 0u64;
    let mut stream = connector.pull(None);
    while let Some(item) = stream.next().await {
        if let Pulled::Record(_) = item? {
            records += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    println!(
        "idoc: {megabytes:.0} MB, {records} IDocs in {seconds:.2}s = {:.0} MB/s, {cpu:.2}s CPU; \
         quick-xml's bare event loop {raw_seconds:.2}s = {:.0} MB/s, {raw_cpu:.2}s CPU; ratio {:.2}; \
         peak RSS {:.0} MiB (before {:.0} MiB)",
        megabytes / seconds,
        megabytes / raw_seconds,
        raw_seconds / seconds,
        peak_rss_mib(),
        rss_before
    );
    Ok(())
}

/// CPU seconds (user and system, all threads) the process has used so far, from
/// `/proc/self/stat` (in 1/100 s): the IDoc reader builds on every core, so its wall time alone
/// would hide what it costs.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name in parentheses: state is field 3, utime 14 and stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
    ticks(14).unwrap_or(0.0) / 100.0 + ticks(15).unwrap_or(0.0) / 100.0
}

/// The reference for the IDoc reader: quick-xml reading every event of the file into one reused
/// buffer and doing nothing with it, the floor any XML reader built on it stands on.
fn quick_xml_event_loop(file: &Path) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut reader = quick_xml::Reader::from_reader(std::io::BufReader::with_capacity(
        1 << 16,
        std::fs::File::open(file)?,
    ));
    let mut buffer = Vec::with_capacity(1 << 16);
    let mut events = 0u64;
    loop {
        match reader.read_event_into(&mut buffer)? {
            quick_xml::events::Event::Eof => break,
            _ => events += 1,
        }
        buffer.clear();
    }
    std::hint::black_box(events);
    Ok(started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    concord::memory::configure();
    let mut sizes = Vec::new();
    let mut idoc_mb = 200;
    let mut batch_size = concord::sync::DEFAULT_BATCH_SIZE;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--idoc-mb" => idoc_mb = args.next().and_then(|v| v.parse().ok()).unwrap_or(idoc_mb),
            "--batch-size" => {
                batch_size = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(batch_size)
            }
            other => {
                if let Ok(n) = other.parse() {
                    sizes.push(n);
                }
            }
        }
    }
    if sizes.is_empty() {
        sizes = vec![100_000, 1_000_000];
    }
    if idoc_mb > 0 {
        bench_idoc(idoc_mb).await?;
    }
    for customers in sizes {
        for engine in Engine::selected() {
            bench_sync(customers, engine, batch_size).await?;
        }
    }
    Ok(())
}
