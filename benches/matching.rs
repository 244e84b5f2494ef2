//! Matching-quality benchmark: generates noisy customers with ground truth (SAP IDocs, ERPNext
//! JSON lines, a distributor's CSV), syncs them into a fresh SQLite store with the match rules of
//! `benches/match-rules.yaml`, and scores the golden records against the truth: pairwise
//! precision, recall and F1, false merges and missed pairs with examples, sync time, records/s
//! and peak RSS.
//!
//! `cargo bench --bench matching -- [RECORDS ...] [--seed N]` (default: 100000, seed 42).
//! Data goes to `benches/data/matching-RECORDS-sN/` and is generated afresh each run.
//! `MATCHING_EXAMPLES=N` shows N false merges and N missed customers instead of three.
//!
//! `cargo bench --bench matching -- --persons N` measures the same on the person set with typos in
//! every field (`benches/generator/persons.rs`: N people in two files, N true pairs), with the
//! rules of `benches/matching/person-rules.yaml`; data in `benches/data/persons-N-sSEED/`.
//!
//! When `benches/splink/.venv` exists (`python3 -m venv benches/splink/.venv &&
//! benches/splink/.venv/bin/pip install -r benches/splink/requirements.txt`), each size also runs
//! Splink on the same files (`benches/splink/run_splink.py`, a child process) and scores its
//! clusters with the same truth scoring, then prints both tools' precision, recall, F1, time and
//! peak RSS side by side with their ratios. `--no-splink` skips it.

mod generator;

use generator::{data_dir, peak_rss_mib, reset_peak_rss};
#[path = "matching/quality.rs"]
mod quality;

use std::path::{Path, PathBuf};
use std::process::Command;
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

async fn bench(records: usize, seed: u64, splink: bool) -> anyhow::Result<()> {
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

    let concord = sync_and_score(&dir, &manifest.config).await?;
    if splink {
        side_by_side(&dir, false, &concord)?;
    }
    Ok(())
}

async fn bench_persons(per_file: usize, seed: u64, splink: bool) -> anyhow::Result<()> {
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
    let concord = sync_and_score(&dir, &manifest.config).await?;
    if splink {
        side_by_side(&dir, true, &concord)?;
    }
    Ok(())
}

/// What one tool achieved on one data set.
struct Outcome {
    report: Report,
    seconds: f64,
    peak_rss_mib: f64,
}

/// The Python of the Splink virtualenv, when it was created.
fn splink_python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/splink/.venv/bin/python");
    python.exists().then_some(python)
}

/// Runs Splink on the files in `dir` (a child process: its wall time, and its peak RSS as it
/// reports it), scores its clusters like Concord's and prints both with their ratios.
fn side_by_side(dir: &Path, persons: bool, concord: &Outcome) -> anyhow::Result<()> {
    let Some(python) = splink_python() else {
        println!(
            "splink: no benches/splink/.venv, skipped (README, Matching quality: Splink side by side)"
        );
        return Ok(());
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/splink/run_splink.py");
    let out = dir.join("splink");
    let mut command = Command::new(python);
    command.arg(&script).arg(dir).arg("--out").arg(&out);
    if persons {
        command.arg("--persons");
    }
    let started = Instant::now();
    let output = command.output()?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        anyhow::bail!(
            "splink failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("{}");
    let stats: serde_json::Value = serde_json::from_str(line)?;
    let truth = Truth::load(dir)?;
    let splink = Outcome {
        report: quality::measure_csv(&out.join("clusters.csv"), &truth)?,
        seconds,
        peak_rss_mib: stats["peak_rss_mib"].as_f64().unwrap_or(0.0),
    };
    println!(
        "== side by side (Splink {}, DuckDB, clusters at match probability {}) ==",
        stats["splink"].as_str().unwrap_or("?"),
        stats["threshold"]
    );
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "", "precision", "recall", "F1", "time s", "peak MiB"
    );
    for (name, o) in [("concord", concord), ("splink", &splink)] {
        println!(
            "{name:<10} {:>9.4} {:>9.4} {:>9.4} {:>9.1} {:>10.0}",
            o.report.precision(),
            o.report.recall(),
            o.report.f1(),
            o.seconds,
            o.peak_rss_mib
        );
    }
    let ratio = |a: f64, b: f64| if b == 0.0 { f64::NAN } else { a / b };
    println!(
        "{:<10} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>10.3}",
        "ratio c/s",
        ratio(concord.report.precision(), splink.report.precision()),
        ratio(concord.report.recall(), splink.report.recall()),
        ratio(concord.report.f1(), splink.report.f1()),
        ratio(concord.seconds, splink.seconds),
        ratio(concord.peak_rss_mib, splink.peak_rss_mib)
    );
    println!(
        "splink: {} false merges ({}), {} missed pairs; time is the child's wall time, {:.1}s \
         of it reading the files",
        thousands(splink.report.predicted_pairs - splink.report.correct_pairs),
        splink
            .report
            .false_pairs_by_relation
            .iter()
            .map(|(k, n)| format!("{k} {}", thousands(*n)))
            .collect::<Vec<_>>()
            .join(", "),
        thousands(splink.report.true_pairs - splink.report.correct_pairs),
        stats["read_seconds"].as_f64().unwrap_or(0.0)
    );
    // The same predictions clustered at other thresholds: one threshold alone could make
    // Splink look worse than it can be.
    for threshold in stats["sweep"].as_array().into_iter().flatten() {
        let file = out.join(format!("clusters-{threshold}.csv"));
        let report = quality::measure_csv(&file, &truth)?;
        println!(
            "splink at {threshold}: precision {:.4} recall {:.4} F1 {:.4} (concord F1 x{:.3})",
            report.precision(),
            report.recall(),
            report.f1(),
            ratio(concord.report.f1(), report.f1())
        );
    }
    Ok(())
}

/// Syncs the generated sources into a fresh store and scores the result against the truth.
async fn sync_and_score(dir: &Path, config: &Path) -> anyhow::Result<Outcome> {
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
    reset_peak_rss();
    let started = Instant::now();
    let summaries = pipeline
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    drop(store);
    let peak = peak_rss_mib();
    let read: u64 = summaries.iter().map(|s| s.read).sum();
    let quarantined: u64 = summaries.iter().map(|s| s.quarantined).sum();
    let unmatched: u64 = summaries.iter().map(|s| s.unmatched).sum();
    println!(
        "sync: {} records in {seconds:.1}s = {:.0} records/s; quarantined {quarantined}, \
         selected by no mapping {unmatched}; peak RSS {peak:.0} MiB",
        thousands(read),
        read as f64 / seconds,
    );
    for summary in &summaries {
        for error in &summary.errors {
            println!("  read error in {}: {error}", summary.source);
        }
    }

    let truth = Truth::load(dir)?;
    let report = quality::measure(&db, &truth).await?;
    print_report(&report);
    Ok(Outcome {
        report,
        seconds,
        peak_rss_mib: peak,
    })
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
    match &r.reviews {
        Some(c) => println!(
            "review: {} pairs waiting in the review table ({} of them already one golden record); \
             {} closed because a merge joined them",
            c.open, c.open_settled, c.merged
        ),
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
    concord::memory::configure();
    let mut sizes = Vec::new();
    let mut person_sizes = Vec::new();
    let mut seed = 42;
    let mut splink = splink_python().is_some();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--no-splink" => splink = false,
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            "--persons" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => person_sizes.push(n),
                None => anyhow::bail!("--persons needs a number of people per file"),
            },
            other => match other.parse() {
                Ok(n) => sizes.push(n),
                Err(_) => anyhow::bail!(
                    "unknown argument `{other}`; usage: matching [RECORDS ...] [--persons N] [--seed N] [--no-splink]"
                ),
            },
        }
    }
    if sizes.is_empty() && person_sizes.is_empty() {
        sizes.push(100_000);
    }
    for records in sizes {
        bench(records, seed, splink).await?;
    }
    for per_file in person_sizes {
        bench_persons(per_file, seed, splink).await?;
    }
    Ok(())
}
