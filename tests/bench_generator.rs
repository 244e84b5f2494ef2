//! The matching benchmark's data generator (benches/generator/noisy): its ground truth must
//! describe exactly what Concord reads, or the benchmark's precision and recall mean nothing.

#[path = "../benches/generator/mod.rs"]
mod generator;
#[allow(dead_code)]
#[path = "../benches/matching/quality.rs"]
mod quality;

use std::collections::BTreeMap;
use std::path::Path;

use concord::config::Config;
use concord::model::EntityKind;
use concord::reconcile::rules::MatchRule;
use concord::store;
use concord::sync::{NoProgress, Pipeline, SyncOptions};
use generator::noisy::{self, NoisyManifest, NoisySpec};

fn generate(dir: &Path, records: usize, seed: u64) -> NoisyManifest {
    noisy::generate(dir, &NoisySpec { records, seed }).expect("generates")
}

/// Every file under `dir` with its bytes, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(dir)
                    .expect("inside")
                    .display()
                    .to_string();
                out.insert(relative, std::fs::read(&path).expect("read"));
            }
        }
    }
    out
}

#[test]
fn the_same_seed_writes_the_same_bytes_and_another_seed_other_data() {
    let (a, b, c) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let first = generate(a.path(), 2_000, 7);
    let again = generate(b.path(), 2_000, 7);
    generate(c.path(), 2_000, 8);
    assert!(first.records >= 2_000 && first.records < 2_010, "{first:?}");
    assert_eq!(
        (first.records, first.entities, first.true_pairs),
        (again.records, again.entities, again.true_pairs)
    );
    assert_eq!(files(a.path()), files(b.path()));
    let truth = |dir: &Path| std::fs::read(dir.join("entities.csv")).expect("entities");
    assert_ne!(truth(a.path()), truth(c.path()));
    // About four in five customers are companies; every kind of look-alike group occurs.
    let share = first.companies as f64 / first.entities as f64;
    assert!((0.72..0.88).contains(&share), "companies {share}");
    let entities = String::from_utf8(truth(a.path())).expect("utf-8");
    for kind in ["sister companies", "family members", "namesakes"] {
        assert!(entities.contains(kind), "no {kind} in {entities:.400}");
    }
}

/// Syncs generated data with `rules` as the customer match rules and scores the result.
async fn sync_and_measure(
    dir: &Path,
    manifest: &NoisyManifest,
    rules: &[(&str, &str)],
) -> quality::Report {
    let mut config = Config::load(&manifest.config).expect("generated config loads");
    config.store.url = format!("sqlite://{}", dir.join("test.db").display());
    config.match_rules.insert(
        EntityKind::Customer,
        rules
            .iter()
            .map(|(rule, field)| MatchRule::exact(rule, &[field]))
            .collect(),
    );
    let pipeline = Pipeline::compile(config.clone()).expect("mappings compile");
    let store = store::open(&config.store_url()).await.expect("store opens");
    let summaries = pipeline
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await
        .expect("sync runs");
    drop(store);
    let read: u64 = summaries.iter().map(|s| s.read).sum();
    let mapped: u64 = summaries.iter().map(|s| s.mapped).sum();
    let errors: Vec<&String> = summaries.iter().flat_map(|s| &s.errors).collect();
    assert_eq!(
        read, manifest.records as u64,
        "every generated record is read"
    );
    assert_eq!(mapped, read, "every record is mapped: {summaries:?}");
    assert!(errors.is_empty(), "{errors:?}");
    let truth = quality::Truth::load(dir).expect("truth loads");
    quality::measure(&dir.join("test.db"), &truth)
        .await
        .expect("store readable")
}

#[tokio::test]
async fn a_tax_id_names_one_customer_so_the_tax_id_rule_never_merges_two() {
    let dir = tempfile::tempdir().expect("tmp");
    let manifest = generate(dir.path(), 3_000, 11);
    let report = sync_and_measure(dir.path(), &manifest, &[("tax_id", "tax_id")]).await;
    assert_eq!((report.not_stored, report.unknown), (0, 0));
    assert_eq!(report.true_pairs, manifest.true_pairs);
    assert_eq!(
        report.predicted_pairs, report.correct_pairs,
        "no false merge"
    );
    assert_eq!(report.precision(), 1.0);
    // Tax IDs written differently still normalize to one value for most copies; missing and
    // unprefixed ones leave the rest unmatched.
    assert!(
        report.recall() > 0.2 && report.recall() < 0.9,
        "recall {}",
        report.recall()
    );
}

#[tokio::test]
async fn an_email_is_shared_only_inside_families_the_hard_negatives_the_truth_names() {
    let dir = tempfile::tempdir().expect("tmp");
    let manifest = generate(dir.path(), 4_000, 3);
    let report = sync_and_measure(dir.path(), &manifest, &[("email", "emails")]).await;
    assert!(
        report.false_merge_clusters > 0,
        "some families share an email"
    );
    let relations: Vec<&str> = report
        .false_pairs_by_relation
        .iter()
        .map(|(relation, _)| relation.as_str())
        .collect();
    assert_eq!(relations, ["family members"]);
    for example in &report.false_merge_examples {
        assert!(example.len() >= 2, "a false merge shows both customers");
        assert!(example.iter().all(|e| e.relation == "family members"));
    }
}
