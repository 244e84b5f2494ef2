//! Matching-quality benchmark: generates noisy customers with ground truth (SAP IDocs, ERPNext
//! JSON lines, a distributor's CSV), syncs them into a fresh SQLite store with the match rules of
//! `benches/match-rules.yaml`, and scores the golden records against the truth: pairwise
//! precision, recall and F1, false merges and missed pairs with examples, sync time, records/s
//! and peak RSS.
//!
//! `cargo bench --bench matching -- [RECORDS ...] [--seed N]` (default: 100000, seed 42).
//! Data goes to `benches/data/matching-RECORDS-sN/` and is generated afresh each run.
//!
//! `cargo bench --bench matching -- --persons N` measures the same on the person set with typos in
//! every field (`benches/generator/persons.rs`: N people in two files, N true pairs), with the
//! rules of `benches/matching/person-rules.yaml`; data in `benches/data/persons-N-sSEED/`.

mod generator;

use generator::{data_dir, peak_rss_mib};
#[path = "matching/quality.rs"]
mod quality;

use std::path::PathBuf;
use std::time::Instant;

use concord::config::Config;
use concord::store;
use concord::sync::{NoProgress, Pipeline, SyncOptions};

use generator::noisy::{self, NoisySpec};
use generator::persons::{self, PersonsSpec};
use quality::{Example, Report, Truth};

/// The same allocator as the `concord` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

async fn bench(records: usize, seed: u64) -> anyhow::Result<()> {
    let dir = data_dir().join(format!("matching-{records}-s{seed}"));
    std::fs::create_dir_all(&dir)?;
    let started = Instant::now();
    let manifest = noisy::generate(&dir, &NoisySpec { records, seed })?;
    println!(
        "== matching, {} records, seed {seed} ==\n\
         generated in {:.1}s ({:.0} MB): sap {}, erpnext {}, distributor {}; {} true customers \
         ({} companies, {} persons), {} true pairs",
        thousands(manifest.records as u64),
        started.elapsed().as_secs_f64(),
        manifest.bytes as f64 / 1e6,
        thousands(manifest.sap as u64),
        thousands(manifest.erpnext as u64),
        thousands(manifest.distributor as u64),
        thousands(manifest.entities as u64),
        thousands(manifest.companies as u64),
        thousands(manifest.persons as u64),
        thousands(manifest.true_pairs),
    );

    sync_and_score(&dir, &manifest.config).await
}

async fn bench_persons(per_file: usize, seed: u64) -> anyhow::Result<()> {
    let dir = data_dir().join(format!("persons-{per_file}-s{seed}"));
    std::fs::create_dir_all(&dir)?;
    let started = Instant::now();
    let manifest = persons::generate(&dir, &PersonsSpec { per_file, seed })?;
    println!(
        "== persons with typos in every field, {} per file, seed {seed} ==\n\
         generated in {:.1}s ({:.1} MB): {} records, {} true pairs, {} people in families",
        thousands(per_file as u64),
        started.elapsed().as_secs_f64(),
        manifest.bytes as f64 / 1e6,
        thousands(manifest.records as u64),
        thousands(manifest.true_pairs),
        thousands(manifest.in_families as u64),
    );
    sync_and_score(&dir, &manifest.config).await
}

/// Syncs the generated sources into a fresh store and scores the result against the truth.
async fn sync_and_score(dir: &std::path::Path, config: &std::path::Path) -> anyhow::Result<()> {
    let db = dir.join("bench.db");
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        if path.exists() {
            std::fs::remove_file(path)?;
        }
    }
    let mut config = Config::load(config)?;
    config.store.url = format!("sqlite://{}", db.display());
    let pipeline = Pipeline::compile(config)?;
    let store = store::open(&format!("sqlite://{}", db.display())).await?;
    let started = Instant::now();
    let summaries = pipeline
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    drop(store);
    let read: u64 = summaries.iter().map(|s| s.read).sum();
    let quarantined: u64 = summaries.iter().map(|s| s.quarantined).sum();
    let unmatched: u64 = summaries.iter().map(|s| s.unmatched).sum();
    println!(
        "sync: {} records in {seconds:.1}s = {:.0} records/s; quarantined {quarantined}, \
         selected by no mapping {unmatched}; peak RSS {:.0} MiB",
        thousands(read),
        read as f64 / seconds,
        peak_rss_mib()
    );
    for summary in &summaries {
        for error in &summary.errors {
            println!("  read error in {}: {error}", summary.source);
        }
    }

    let truth = Truth::load(dir)?;
    let report = quality::measure(&db, &truth).await?;
    print_report(&report);
    Ok(())
}

fn print_report(r: &Report) {
    println!(
        "clusters: {} golden customers for {} true customers",
        thousands(r.golden_records as u64),
        thousands(r.true_entities as u64)
    );
    println!(
        "pairs: {} merged, {} true, {} correct",
        thousands(r.predicted_pairs),
        thousands(r.true_pairs),
        thousands(r.correct_pairs)
    );
    println!(
        "precision {:.4}  recall {:.4}  F1 {:.4}",
        r.precision(),
        r.recall(),
        r.f1()
    );
    let list = |items: &[(String, u64)]| {
        items
            .iter()
            .map(|(k, n)| format!("{k} {}", thousands(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "false merges: {} clusters, {} pairs ({})",
        thousands(r.false_merge_clusters as u64),
        thousands(r.predicted_pairs - r.correct_pairs),
        list(&r.false_pairs_by_relation)
    );
    println!(
        "missed pairs: {} ({}); {} customers split over several golden records; \
         {} records not stored (quarantined or unmapped), {} stored records unknown to the truth",
        thousands(r.true_pairs - r.correct_pairs),
        list(&r.missed_pairs_by_kind),
        thousands(r.split_entities as u64),
        r.not_stored,
        r.unknown
    );
    match r.review_rows {
        Some(n) => println!("review: {n} pairs waiting in the review table"),
        None => println!("review: the store has no review table"),
    }
    print_examples("false merge", &r.false_merge_examples);
    print_examples("missed", &r.missed_examples);
}

fn print_examples(what: &str, examples: &[Vec<Example>]) {
    for (i, records) in examples.iter().enumerate() {
        println!("{what} example {}:", i + 1);
        for e in records {
            println!(
                "  {:<22} -> {}  truly {} ({})\n  {:<22}    {}",
                e.record, e.golden, e.entity, e.relation, "", e.fields
            );
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut sizes = Vec::new();
    let mut person_sizes = Vec::new();
    let mut seed = 42;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            "--persons" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => person_sizes.push(n),
                None => anyhow::bail!("--persons needs a number of people per file"),
            },
            other => match other.parse() {
                Ok(n) => sizes.push(n),
                Err(_) => anyhow::bail!(
                    "unknown argument `{other}`; usage: matching [RECORDS ...] [--persons N] [--seed N]"
                ),
            },
        }
    }
    if sizes.is_empty() && person_sizes.is_empty() {
        sizes.push(100_000);
    }
    for records in sizes {
        bench(records, seed).await?;
    }
    for per_file in person_sizes {
        bench_persons(per_file, seed).await?;
    }
    Ok(())
}
