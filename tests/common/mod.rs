//! Helpers shared by the integration tests: a project in a temporary folder, a real SQLite store
//! in it, and queries over the result.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use concord::config::Config;
use concord::model::EntityKind;
use concord::store::{self, GoldenState, Store};
use concord::sync::{NoProgress, Pipeline, SourceSummary, SyncError, SyncOptions};

/// A config plus its data in a temporary folder.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        Project {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes a file, creating its folders.
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        path
    }

    pub fn config(&self) -> Config {
        Config::load(&self.path("concord.yaml")).expect("config loads")
    }
}

/// Loads a config file and points its store at a fresh SQLite file in `db_dir`.
pub fn config_with_store(config_path: &Path, db_dir: &Path) -> Config {
    let mut config = Config::load(config_path).expect("config loads");
    config.store.url = format!("sqlite://{}", db_dir.join("concord.db").display());
    config
}

/// Compiles `config`, opens its store and runs one sync.
pub async fn sync(config: &Config, options: &SyncOptions) -> (Box<dyn Store>, Vec<SourceSummary>) {
    let pipeline = Pipeline::compile(config.clone()).expect("mappings compile");
    let store = store::open(&config.store_url()).await.expect("store opens");
    let summaries = pipeline
        .sync(store.as_ref(), options, &NoProgress)
        .await
        .expect("sync runs");
    (store, summaries)
}

/// Every live golden record of one entity.
pub async fn goldens(store: &dyn Store, entity: EntityKind) -> Vec<GoldenState> {
    let ids = store.golden_ids(entity, 100_000).await.expect("ids");
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    store.load_goldens(&ids).await.expect("goldens")
}

/// The golden record a source record belongs to.
pub async fn golden_of(
    store: &dyn Store,
    entity: EntityKind,
    source: &str,
    key: &str,
) -> GoldenState {
    let hits = store
        .xref_lookup(source, entity, &[key])
        .await
        .expect("xref");
    let id = &hits
        .get(key)
        .unwrap_or_else(|| panic!("no xref for {source}:{key}"))
        .golden_id;
    store
        .load_goldens(&[id.as_str()])
        .await
        .expect("golden")
        .pop()
        .unwrap_or_else(|| panic!("no golden {id}"))
}

/// Live golden records per entity: (customers, products, orders, BOMs).
pub async fn golden_counts(store: &dyn Store) -> (i64, i64, i64, i64) {
    let counts = store.counts().await.expect("counts");
    let n = |entity: &str| counts.golden.get(entity).copied().unwrap_or(0);
    (n("customer"), n("product"), n("order"), n("bom"))
}

pub fn total_events(summaries: &[SourceSummary]) -> u64 {
    summaries.iter().map(|s| s.reconcile.events).sum()
}

/// The source and message of a run that failed because one source did; any other error fails
/// the test.
pub fn source_failure(error: &SyncError) -> (&str, &str) {
    match error {
        SyncError::SourceFailed {
            source_name,
            message,
        } => (source_name, message),
        other => panic!("expected SourceFailed, got {other}"),
    }
}
