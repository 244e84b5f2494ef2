//! A sync run: pull each source, map its records, reconcile them and commit batch by batch.
//!
//! Reading and mapping run in one task, reconciling and committing in another, joined by a short
//! bounded channel: the store works on one batch while the next is being mapped, and a slow store
//! slows the reader instead of filling memory.

mod diff;
mod oversize;
mod replay;
mod summary;

pub use diff::{ChangePreview, FieldChange, GoldenChange};
pub use replay::{ReplayOptions, ReplaySummary, Replayed, ReplayedEntry};
pub use summary::{NoProgress, Progress, SourceSummary};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::{Config, SourceConfig};
use crate::connector::{Connector, ConnectorError, Cursor, Pulled};
use crate::mapping::{MapOutcome, MappingError, MappingSet, PathUsage};
use crate::model::RawRecord;
use crate::reconcile::view::{Pending, StoreView};
use crate::reconcile::{Incoming, Reconciler};
use crate::store::lock::{Lease, LockError, Locks};
use crate::store::{Batch, QualityEntry, QuarantineEntry, RunLog, RunStatus, Store, StoreError};
use crate::telemetry;

/// Records per batch (one transaction): large enough to amortise a commit, small enough to keep
/// memory flat.
pub const DEFAULT_BATCH_SIZE: usize = 10_000;

/// Why a sync could not run or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("source `{source_name}`: {error}")]
    Mapping {
        source_name: String,
        #[source]
        error: MappingError,
    },
    #[error("match rules: {0}")]
    MatchConfig(crate::yaml::YamlError),
    #[error("no source named `{0}` in the config")]
    UnknownSource(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("source `{0}`: the reader stopped unexpectedly")]
    ReaderLost(String),
    #[error("source `{0}`: the store writer stopped unexpectedly")]
    WriterLost(String),
    /// Another process holds the store, the source or the write turn.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A shutdown was asked for: the batches committed before it stay, the rest is read again by
    /// the next run.
    #[error("source `{0}`: stopped by a shutdown")]
    Cancelled(String),
    /// The source failed mid-run; what was read before it is stored, the cursor stays at the last
    /// committed checkpoint.
    #[error("source `{source_name}`: {message}")]
    SourceFailed {
        source_name: String,
        message: String,
    },
}

/// How to run a sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Only this source; every source when `None`.
    pub source: Option<String>,
    /// Ignore stored cursors and read everything; files with an unchanged content hash and
    /// unchanged records are still skipped.
    pub full: bool,
    pub batch_size: usize,
    /// Stops reading when cancelled; the batch being written still commits whole.
    pub cancel: CancellationToken,
    /// The command on whose behalf the run writes, named to a writer that finds it busy.
    pub command: String,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            source: None,
            full: false,
            batch_size: DEFAULT_BATCH_SIZE,
            cancel: CancellationToken::new(),
            command: "sync".into(),
        }
    }
}

/// A config with its mappings compiled: everything checked before the first record is read.
pub struct Pipeline {
    config: Config,
    mappings: HashMap<String, Arc<MappingSet>>,
    reconciler: Reconciler,
    locks: Locks,
    /// Sources of one process take turns at reconciling and committing, so two of them never
    /// both create a golden record for one customer. The turn holds the run that last wrote
    /// under it, when that run committed every batch and the store has no other writer.
    write_turn: Arc<Mutex<Option<i64>>>,
}

/// A source run's right to reconcile and commit: this process's turn, and on a shared store
/// (PostgreSQL) the turn among all instances.
pub struct WriteTurn {
    local: OwnedMutexGuard<Option<i64>>,
    _shared: Lease,
    /// The run that wrote last, with everything it reconciled committed, when nothing has
    /// written since: what the matcher learnt in that run is still what the store holds.
    after_clean_run: Option<i64>,
}

impl WriteTurn {
    /// Says that run `run_id` committed everything it reconciled under this turn, on a store
    /// no other process writes: the next turn may go on from what it learnt.
    fn ended_clean(&mut self, run_id: i64) {
        *self.local = Some(run_id);
    }
}

/// Raw and mapped form of one record, for `concord preview`.
#[derive(Debug, Clone)]
pub struct PreviewRow {
    pub raw: RawRecord,
    pub outcome: MapOutcome,
}

/// A batch being committed while the next one is reconciled.
struct InFlight {
    handle: tokio::task::JoinHandle<Result<(), StoreError>>,
    pending: Pending,
    records: usize,
    started: Instant,
    /// The cursor the batch stores, handed to the connector once it is committed.
    checkpoint: Option<Cursor>,
}

impl InFlight {
    /// Waits for the commit; reports it and tells the connector.
    async fn finish(self, source: &str, connector: &dyn Connector) -> Result<(), SyncError> {
        self.handle
            .await
            .map_err(|_| SyncError::WriterLost(source.to_string()))??;
        if let Some(cursor) = &self.checkpoint {
            connector.committed(cursor);
        }
        let events = self.pending.batch().events.len();
        telemetry::batch_committed(source, self.records, events, self.started.elapsed());
        Ok(())
    }
}

/// What the reader hands the writer: one batch worth of mapped and quarantined records.
#[derive(Default)]
struct Chunk {
    read: u64,
    unmatched: u64,
    records: Vec<Incoming>,
    quarantine: Vec<QuarantineEntry>,
    quality: Vec<QualityEntry>,
    errors: Vec<String>,
    /// Said once at the end of the run: mapping paths that matched nothing.
    warnings: Vec<String>,
    /// Records stored with optional values left empty (set on the run's last chunk).
    quality_notes: u64,
    checkpoint: Option<Cursor>,
    /// The source failed after this chunk's records: the run stops once they are stored.
    failure: Option<String>,
    /// Keys listed by key scans: stored records not among them were deleted at the source.
    key_scans: Vec<crate::reconcile::scan::SeenKeys>,
}

/// The data-quality notes the mapping of one record left (optional values it could not read), as
/// entries for the store.
fn quality_entries(
    usage: &mut PathUsage,
    source: &str,
    key: &str,
    origin: &str,
) -> Vec<QualityEntry> {
    usage
        .take_notes()
        .into_iter()
        .map(|note| QualityEntry {
            source: source.to_owned(),
            key: key.to_owned(),
            origin: origin.to_owned(),
            field: note.field,
            reason: note.reason,
        })
        .collect()
}

impl Chunk {
    /// Maps one record: into the batch, the quarantine (with its reason) or the unmatched count.
    fn map_record(
        &mut self,
        mappings: &MappingSet,
        source: &str,
        raw: RawRecord,
        usage: &mut PathUsage,
    ) {
        match mappings.map_tracked(source, &raw, usage) {
            MapOutcome::Mapped(record) => {
                self.quality
                    .extend(quality_entries(usage, source, &record.key, &raw.origin));
                self.records.push(Incoming {
                    record,
                    origin: raw.origin,
                })
            }
            MapOutcome::Unmatched => self.unmatched += 1,
            MapOutcome::Failed(failure) => {
                telemetry::record_quarantined(
                    source,
                    &raw.origin,
                    failure.key.as_deref(),
                    &failure.reason,
                );
                self.quarantine.push(QuarantineEntry {
                    source: source.to_owned(),
                    origin: raw.origin,
                    key: failure.key,
                    mapping: Some(failure.mapping.display().to_string()),
                    reason: failure.reason,
                    payload: raw.payload,
                    stream: raw.stream.as_deref().map(str::to_owned),
                });
            }
        }
    }

    /// A record over the source's `max_record_size`: quarantined unmapped, with its size and a
    /// prefix of its text, and counted as an error of the run like an unreadable record.
    fn quarantine_oversized(&mut self, source: &str, raw: RawRecord, size: u64, limit: u64) {
        let reason = format!(
            "record of {size} bytes is larger than max_record_size ({limit}); quarantined unmapped, its first {} bytes kept",
            oversize::PAYLOAD_PREFIX
        );
        telemetry::record_quarantined(source, &raw.origin, None, &reason);
        self.errors.push(format!("{}: {reason}", raw.origin));
        self.quarantine.push(QuarantineEntry {
            source: source.to_owned(),
            payload: oversize::truncated_payload(&raw.payload, size),
            origin: raw.origin,
            key: None,
            mapping: None,
            reason,
            stream: raw.stream.as_deref().map(str::to_owned),
        });
    }
}

impl Pipeline {
    /// Compiles every source's mappings; the first broken file stops start-up with its position.
    pub fn compile(config: Config) -> Result<Pipeline, SyncError> {
        let mut mappings = HashMap::new();
        for source in &config.sources {
            let set = MappingSet::load_files(&config.mapping_files(source))
                .and_then(|set| {
                    set.check_streams(source.driver.stream_names().as_deref())?;
                    Ok(set)
                })
                .map_err(|error| SyncError::Mapping {
                    source_name: source.name.clone(),
                    error,
                })?;
            mappings.insert(source.name.clone(), Arc::new(set));
        }
        let reconciler = Reconciler::new(&config.matching()).map_err(SyncError::MatchConfig)?;
        let locks = Locks::for_url(&config.store_url());
        Ok(Pipeline {
            config,
            mappings,
            reconciler,
            locks,
            write_turn: Arc::default(),
        })
    }

    /// A source's config and compiled mappings.
    fn source(&self, name: &str) -> Result<(&SourceConfig, &Arc<MappingSet>), SyncError> {
        let unknown = || SyncError::UnknownSource(name.to_string());
        let source = self.config.source(name).ok_or_else(unknown)?;
        Ok((source, self.mappings.get(name).ok_or_else(unknown)?))
    }

    /// The config this pipeline runs.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The writer locks of the configured store.
    pub fn locks(&self) -> &Locks {
        &self.locks
    }

    /// Waits for this run's turn at reconciling and committing.
    pub async fn write_turn(&self, command: &str) -> Result<WriteTurn, SyncError> {
        let mut local = self.write_turn.clone().lock_owned().await;
        let after_clean_run = local.take();
        let shared = self.locks.write_turn(command).await?;
        Ok(WriteTurn {
            local,
            _shared: shared,
            after_clean_run,
        })
    }

    /// The names of the sources `options` selects, in config order.
    pub fn selected(&self, options: &SyncOptions) -> Result<Vec<String>, SyncError> {
        match &options.source {
            Some(name) => {
                self.config
                    .source(name)
                    .ok_or_else(|| SyncError::UnknownSource(name.clone()))?;
                Ok(vec![name.clone()])
            }
            None => Ok(self.config.sources.iter().map(|s| s.name.clone()).collect()),
        }
    }

    /// Runs every selected source once, in config order. A source that fails mid-run (a server
    /// down, a tap that exits non-zero) does not stop the others: every source runs, and the first
    /// failure is returned at the end.
    pub async fn sync(
        &self,
        store: &dyn Store,
        options: &SyncOptions,
        progress: &dyn Progress,
    ) -> Result<Vec<SourceSummary>, SyncError> {
        let names = self.selected(options)?;
        if options.source.is_none() {
            self.warn_about_sources_gone(store).await?;
        }
        let mut summaries = Vec::new();
        let mut failed = None;
        for name in names {
            if options.cancel.is_cancelled() {
                return Err(SyncError::Cancelled(name));
            }
            match self.sync_source(store, &name, options, progress).await {
                Ok(summary) => summaries.push(summary),
                // One unreachable system must not hold the others back: their runs go on, and
                // the first failure is reported once every source has had its turn.
                Err(error @ SyncError::SourceFailed { .. }) => {
                    failed.get_or_insert(error);
                }
                Err(error) => return Err(error),
            }
        }
        match failed {
            Some(error) => Err(error),
            None => Ok(summaries),
        }
    }

    /// Sources whose records are in the store but that the config no longer names (renamed or
    /// removed): their records stay and no run updates them. Said once per run.
    pub async fn sources_gone(&self, store: &dyn RunLog) -> Result<Vec<String>, SyncError> {
        let mut gone = store.stored_sources().await?;
        gone.retain(|name| self.config.source(name).is_none());
        Ok(gone)
    }

    async fn warn_about_sources_gone(&self, store: &dyn RunLog) -> Result<(), SyncError> {
        for name in self.sources_gone(store).await? {
            tracing::warn!(
                source = name,
                "the store holds records of source `{name}`, which the config no longer names; no run updates them (renamed? the records of the new name are matched anew)"
            );
        }
        Ok(())
    }

    /// One run of one source: its pulls, and its writes when its turn comes. The caller holds
    /// the source (the store lock on SQLite, the source's lock on PostgreSQL).
    pub async fn sync_source(
        &self,
        store: &dyn Store,
        name: &str,
        options: &SyncOptions,
        progress: &dyn Progress,
    ) -> Result<SourceSummary, SyncError> {
        // At warn level, so that a warning from deep inside a driver (a file pattern that matches
        // nothing) names its source even when only warnings are logged.
        let span = tracing::warn_span!("run", source = name, run_id = tracing::field::Empty);
        self.run_source(store, name, options, progress)
            .instrument(span)
            .await
    }

    async fn run_source(
        &self,
        store: &dyn Store,
        name: &str,
        options: &SyncOptions,
        progress: &dyn Progress,
    ) -> Result<SourceSummary, SyncError> {
        let (source, mappings) = self.source(name)?;
        let mappings = mappings.clone();
        let started = Instant::now();
        let run_id = store.begin_run(name, options.full).await?;
        let fingerprint = mappings.fingerprint();
        let read_settings = source.driver.read_fingerprint();
        let since = resume_cursor(
            store.checkpoint(name).await?,
            (&fingerprint, &read_settings),
            name,
        );
        tracing::Span::current().record("run_id", run_id);
        telemetry::run_started(name, run_id, options.full, since.is_some() && !options.full);

        let connector = source.driver.connector(&self.config.base_dir);
        let stream = if options.full {
            connector.pull_full(since)
        } else {
            connector.pull(since)
        };
        let (sender, mut receiver) = mpsc::channel::<Chunk>(1);
        let reader = tokio::spawn(read_and_map(
            stream,
            mappings,
            name.to_string(),
            (options.batch_size.max(1), source.max_record_size),
            sender,
            options.cancel.clone(),
        ));

        let mut summary = SourceSummary::new(name, run_id);
        let mut in_flight: Option<InFlight> = None;
        let mut turn: Option<WriteTurn> = None;
        let result = async {
            while let Some(chunk) = receiver.recv().await {
                if turn.is_none() {
                    let taken = self.write_turn(&options.command).await?;
                    if let Some(previous) = taken.after_clean_run {
                        self.reconciler.continue_cache(previous, run_id);
                    }
                    turn = Some(taken);
                }
                let batch_started = Instant::now();
                summary.read += chunk.read;
                summary.unmatched += chunk.unmatched;
                summary.mapped += chunk.records.len() as u64;
                summary.quarantined += chunk.quarantine.len() as u64;
                for entry in &chunk.quarantine {
                    connector.record_quarantined(&entry.origin);
                }
                summary.errors.extend(chunk.errors);
                summary.warnings.extend(chunk.warnings);
                summary.quality_notes += chunk.quality_notes;
                let mut incoming = chunk.records;
                for scan in &chunk.key_scans {
                    let view = StoreView {
                        store,
                        pending: in_flight.as_ref().map(|f| &f.pending),
                    };
                    match crate::reconcile::scan::deletions(&view, name, scan).await {
                        Ok(deleted) => incoming.extend(deleted),
                        Err(error) => {
                            telemetry::source_error(name, &error.to_string());
                            summary.errors.push(error.to_string());
                        }
                    }
                }
                let records = incoming.len();
                let failure = chunk.failure;
                let checkpoint = chunk.checkpoint;
                let mut batch = Batch {
                    run_id,
                    source: name.to_string(),
                    quarantine: chunk.quarantine,
                    quality: chunk.quality,
                    checkpoint: checkpoint
                        .as_ref()
                        .map(|c| json!({ "mappings": fingerprint, "read": read_settings, "cursor": c.0 })),
                    ..Batch::default()
                };
                let view = StoreView {
                    store,
                    pending: in_flight.as_ref().map(|f| &f.pending),
                };
                self.reconciler
                    .apply(&view, name, incoming, &mut batch, &mut summary.reconcile)
                    .await?;
                if let Some(previous) = in_flight.take() {
                    previous.finish(name, connector.as_ref()).await?;
                    progress.update(&summary);
                }
                if !batch.is_empty() {
                    let batch = Arc::new(batch);
                    in_flight = Some(InFlight {
                        handle: store.spawn_commit(batch.clone()),
                        pending: Pending::new(batch),
                        records,
                        started: batch_started,
                        checkpoint,
                    });
                }
                if let Some(message) = failure {
                    return Err(SyncError::SourceFailed {
                        source_name: name.to_string(),
                        message,
                    });
                }
            }
            match reader.await {
                Ok(Finished::Read) => Ok(()),
                Ok(Finished::Cancelled) => Err(SyncError::Cancelled(name.to_string())),
                Err(_) => Err(SyncError::ReaderLost(name.to_string())),
            }
        }
        .await;
        // Whatever happened, the batch being written is waited for before the run is closed.
        let result = match in_flight.take() {
            Some(last) => {
                let written = last.finish(name, connector.as_ref()).await;
                result.and(written)
            }
            None => result,
        };
        if let Some(turn) = turn.as_mut().filter(|_| result.is_ok())
            && self.locks.is_whole_store()
        {
            turn.ended_clean(run_id);
        }
        drop(turn);
        progress.update(&summary);
        summary.elapsed = started.elapsed();
        let failed = result.is_err();
        let error = result.as_ref().err().map(ToString::to_string);
        let stats = serde_json::to_value(&summary).unwrap_or(Value::Null);
        let status = if failed {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        };
        store
            .finish_run(run_id, status, &stats, error.as_deref())
            .await?;
        telemetry::run_finished(
            name,
            run_id,
            summary.read,
            summary.reconcile.events,
            failed,
            summary.elapsed,
        );
        progress.finish(&summary);
        result.map(|()| summary)
    }

    /// Reads the first `limit` records of a source (from the beginning) and maps them, storing
    /// nothing.
    pub async fn preview(
        &self,
        name: &str,
        limit: usize,
    ) -> Result<Vec<Result<PreviewRow, ConnectorError>>, SyncError> {
        let (source, mappings) = self.source(name)?;
        let mut stream = source.driver.connector(&self.config.base_dir).pull(None);
        let mut rows = Vec::new();
        while rows.len() < limit {
            match stream.next().await {
                None => break,
                Some(Ok(Pulled::Checkpoint(_) | Pulled::KeyScan(_))) => {}
                Some(Ok(Pulled::Record(raw))) => {
                    let outcome = mappings.map(name, &raw);
                    rows.push(Ok(PreviewRow { raw, outcome }));
                }
                Some(Err(error)) => rows.push(Err(error)),
            }
        }
        Ok(rows)
    }
}

/// The stored cursor, unless the mappings or the source's read settings changed since it was
/// written (then the source is read in full, and unchanged records are skipped by their content
/// hash). A cursor stored before read settings were recorded is kept.
fn resume_cursor(
    stored: Option<Value>,
    (fingerprint, read_settings): (&str, &str),
    source: &str,
) -> Option<Cursor> {
    let stored = stored?;
    let read_changed = stored
        .get("read")
        .and_then(Value::as_str)
        .is_some_and(|stored| stored != read_settings);
    if stored.get("mappings").and_then(Value::as_str) != Some(fingerprint) || read_changed {
        telemetry::cursor_reset(source);
        return None;
    }
    stored.get("cursor").cloned().map(Cursor)
}

/// How the reader task ended.
enum Finished {
    /// The source was read to its end (or to a failure, handed over in the last chunk).
    Read,
    /// A shutdown stopped it; the chunk being filled was dropped, to be read again next run.
    Cancelled,
}

/// The reader task: pulls, maps, and hands over a chunk every `batch_size` records.
async fn read_and_map(
    mut stream: futures::stream::BoxStream<'static, crate::connector::PullResult>,
    mappings: Arc<MappingSet>,
    source: String,
    (batch_size, max_record_size): (usize, u64),
    sender: mpsc::Sender<Chunk>,
    cancel: CancellationToken,
) -> Finished {
    let mut chunk = Chunk::default();
    let mut usage = PathUsage::default();
    let mut stream_failure = None;
    loop {
        let item = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Finished::Cancelled,
            item = stream.next() => item,
        };
        let Some(item) = item else { break };
        match item {
            Ok(Pulled::Record(raw)) => {
                chunk.read += 1;
                match oversize::over_limit(&raw.payload, max_record_size) {
                    Some(size) => chunk.quarantine_oversized(&source, raw, size, max_record_size),
                    None => chunk.map_record(&mappings, &source, raw, &mut usage),
                }
            }
            Ok(Pulled::Checkpoint(cursor)) => chunk.checkpoint = Some(cursor),
            Ok(Pulled::KeyScan(scan)) => chunk
                .key_scans
                .push(crate::reconcile::scan::seen_keys(&mappings, scan)),
            // One stream failed: the source's other streams are read on, the run fails at the end.
            Err(error) if error.is_stream_failure() => {
                let message = error.to_string();
                telemetry::source_error(&source, &message);
                stream_failure.get_or_insert(message);
            }
            Err(error) if error.is_fatal() => {
                let message = error.to_string();
                telemetry::source_error(&source, &message);
                chunk.failure = Some(message);
                chunk.warnings = path_warnings(&usage, &mappings, &source);
                chunk.quality_notes = usage.noted_records();
                let _ = sender.send(chunk).await;
                return Finished::Read;
            }
            Err(mut error) => {
                let message = error.to_string();
                telemetry::source_error(&source, &message);
                chunk.quarantine.push(QuarantineEntry {
                    source: source.clone(),
                    origin: error.origin(),
                    key: error.record_key(),
                    mapping: None,
                    reason: message.clone(),
                    payload: error.take_payload(),
                    stream: None,
                });
                chunk.errors.push(message);
            }
        }
        if chunk.read as usize >= batch_size
            && sender.send(std::mem::take(&mut chunk)).await.is_err()
        {
            return Finished::Read;
        }
    }
    chunk.warnings = path_warnings(&usage, &mappings, &source);
    chunk.quality_notes = usage.noted_records();
    chunk.failure = stream_failure;
    let _ = sender.send(chunk).await;
    Finished::Read
}

/// The run's warnings about mapping paths that matched nothing, each logged once.
fn path_warnings(usage: &PathUsage, mappings: &MappingSet, source: &str) -> Vec<String> {
    let warnings = usage.warnings(mappings);
    for warning in &warnings {
        tracing::warn!(source, "{warning}");
    }
    warnings
}
