//! Connectors: turn a source into a stream of raw records.
//!
//! A driver knows a transport (files of CSV, JSON or SAP IDoc XML today), not a vendor; vendors are
//! connector profiles and mappings built on the drivers. Every driver yields [`RawRecord`]s, so the
//! mapping stage never knows where a record came from. The record's key and change time are read
//! by the mapping (`key:` and `changed_at:`), because one file may carry several kinds of record.

pub mod csv;
pub mod exec;
pub mod files;
pub mod http;
pub mod idoc;
pub mod json;
pub mod odoo;
pub mod scan;
pub mod sql;
pub mod xml_json;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

pub use crate::model::RawRecord;

/// A driver's position in its source, stored with the batch that reached it, so the next run
/// starts there. Opaque to everything but the driver that wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub serde_json::Value);

/// What a connector's stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Pulled {
    /// A record to map.
    Record(RawRecord),
    /// Every record before this point has been yielded: a run that stores them may store this
    /// cursor with them.
    Checkpoint(Cursor),
    /// Every key one stream still holds (a key scan): stored records of the stream whose key is
    /// not among them were deleted at the source.
    KeyScan(KeyScan),
}

/// The records a key scan listed, for a source that sends no tombstones.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyScan {
    /// The stream scanned; mappings of this stream give the records' keys.
    pub stream: Arc<str>,
    /// Every record listed, as read (usually only its key field).
    pub records: Vec<RawRecord>,
    /// The largest share of the stream's stored records the scan may mark deleted.
    pub max_share: f64,
}

/// Why a driver could not deliver (more) records. The records before the error have been yielded
/// and are processed; the error itself names the file and position. File drivers go on with the
/// next file after an error, so one broken file never hides the good ones. A
/// [`ConnectorError::Unavailable`] source ends its stream instead: the run fails and keeps the
/// last cursor committed before the error.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: malformed input at byte {offset}: {message}")]
    Malformed {
        path: PathBuf,
        offset: u64,
        message: String,
    },
    #[error("{path}:{line}: {message}")]
    BadLine {
        path: PathBuf,
        line: u64,
        message: String,
    },
    /// One record of a file could not be read (a malformed IDoc, a JSON record with a duplicate
    /// key, a record over the size limit); the reader went on with the next record. `origin`
    /// is the record's place (`in.xml#57`), `key` what identifies it where known (a DOCNUM),
    /// `payload` the record as read when it could be read (kept in the quarantine).
    #[error("{origin} at byte {offset}{}: {message}", key.as_deref().map(|k| format!(" ({k})")).unwrap_or_default())]
    BadRecord {
        path: PathBuf,
        origin: String,
        offset: u64,
        key: Option<String>,
        message: String,
        payload: Option<Box<serde_json::Value>>,
    },
    #[error("invalid file pattern `{pattern}`: {message}")]
    Pattern { pattern: String, message: String },
    /// The source could not be read on (a server that kept failing after its retries, a refused
    /// login, a database error, a tap that exited non-zero). `origin` names the endpoint, query
    /// or program, never a secret.
    #[error("{origin}: {message}")]
    Unavailable { origin: String, message: String },
    /// One stream of a source could not be read on (an endpoint or model that keeps failing,
    /// pagination that would loop). The source's other streams are still read; the run is marked
    /// failed at its end and the stream's cursor stays where its last good page left it.
    #[error("stream `{stream}`: {message}")]
    StreamFailed { stream: String, message: String },
}

impl ConnectorError {
    /// The file (or pattern) the error is about, for the quarantine's origin column.
    pub fn origin(&self) -> String {
        match self {
            ConnectorError::Io { path, .. }
            | ConnectorError::Malformed { path, .. }
            | ConnectorError::BadLine { path, .. } => path.display().to_string(),
            ConnectorError::BadRecord { origin, .. } => origin.clone(),
            ConnectorError::Pattern { pattern, .. } => pattern.clone(),
            ConnectorError::Unavailable { origin, .. } => origin.clone(),
            ConnectorError::StreamFailed { stream, .. } => format!("stream `{stream}`"),
        }
    }

    /// What identifies the record the error is about (an IDoc's DOCNUM), for the quarantine's
    /// key column.
    pub fn record_key(&self) -> Option<String> {
        match self {
            ConnectorError::BadRecord { key, .. } => key.clone(),
            _ => None,
        }
    }

    /// The record as read, when the error carries it, for the quarantine's payload column;
    /// `null` otherwise.
    pub fn take_payload(&mut self) -> serde_json::Value {
        match self {
            ConnectorError::BadRecord { payload, .. } => payload
                .take()
                .map_or(serde_json::Value::Null, |payload| *payload),
            _ => serde_json::Value::Null,
        }
    }

    /// Whether the error ends the source's run: the records before it are stored with the last
    /// checkpoint the stream yielded, and the run is marked failed.
    pub fn is_fatal(&self) -> bool {
        matches!(self, ConnectorError::Unavailable { .. })
    }

    /// Whether the error ended one stream of the source: the others are read on, and the run
    /// fails once they are done.
    pub fn is_stream_failure(&self) -> bool {
        matches!(self, ConnectorError::StreamFailed { .. })
    }
}

/// An item of a connector's stream.
pub type PullResult = Result<Pulled, ConnectorError>;

/// A source of raw records.
pub trait Connector: Send + Sync {
    /// Streams the records changed since `since` (everything when `None`), with checkpoints
    /// between them.
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult>;

    /// Streams everything, for `sync --full`; `known` is the cursor of the last run with the same
    /// mappings and read settings. A driver that can prove part of its source unchanged by its
    /// content (a file with the content hash it had when it was read) leaves that part out, so an
    /// unchanged record costs no parse, mapping or store lookup. Reads everything by default.
    fn pull_full(&self, _known: Option<Cursor>) -> BoxStream<'static, PullResult> {
        self.pull(None)
    }

    /// Called once the batch that reached `cursor` is committed to the store: a driver that acts
    /// on its source only when records are safe (moving a processed file out of a drop folder)
    /// does it here. Does nothing by default.
    fn committed(&self, _cursor: &Cursor) {}

    /// Called for each record of the run that went to the quarantine (its `origin`), before the
    /// batch holding it is committed: a drop folder then moves that record's file to its
    /// rejected folder instead of the archive. Does nothing by default.
    fn record_quarantined(&self, _origin: &str) {}
}

/// The settings of one driver, chosen by `driver:` in a source's config. Registered here, in one
/// place, and matched exhaustively.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "driver", rename_all = "snake_case")]
pub enum DriverConfig {
    /// Delimited text files with a header row.
    Csv(csv::CsvConfig),
    /// JSON files: an array, an object with the records under a JSONPath, or JSON lines.
    Json(json::JsonConfig),
    /// SAP IDoc XML files as SAP's file port writes them, any number of IDocs per file.
    Idoc(idoc::IdocConfig),
    /// REST and OData endpoints over HTTP(S), paged, with auth, retries and incremental cursors.
    Http(http::HttpConfig),
    /// Odoo over its JSON-RPC API: `search_read` on each model, incremental by `write_date`.
    Odoo(odoo::OdooConfig),
    /// Queries against PostgreSQL, MySQL/MariaDB or SQLite, paged by keyset on (change time, key).
    Sql(sql::SqlConfig),
    /// A program printing Singer messages (any Singer tap), its last STATE the cursor.
    Exec(exec::ExecConfig),
}

/// The top-level driver settings that decide which records a source yields. A change to any of
/// them sets the source's stored cursor aside (the source is read in full once, unchanged records
/// skipped by their content hash), as a mapping change does; credentials, timeouts and limits are
/// not among them.
const READ_SETTINGS: &[&str] = &[
    "driver",
    "files",
    "records",
    "format",
    "delimiter",
    "quote",
    "encoding",
    "folder",
    "base_url",
    "streams",
    "database",
    "models",
    "command",
];

impl DriverConfig {
    /// The streams the source yields, for checking mappings' `stream:`: none for file drivers;
    /// `None` where they are known only when the source runs (a Singer tap's).
    pub fn stream_names(&self) -> Option<Vec<String>> {
        match self {
            DriverConfig::Csv(_) | DriverConfig::Json(_) | DriverConfig::Idoc(_) => {
                Some(Vec::new())
            }
            DriverConfig::Http(c) => Some(c.streams.iter().map(|s| s.name.clone()).collect()),
            DriverConfig::Odoo(c) => Some(c.models.iter().map(|m| m.name.clone()).collect()),
            DriverConfig::Sql(c) => Some(c.streams.iter().map(|s| s.name.clone()).collect()),
            DriverConfig::Exec(_) => None,
        }
    }

    /// A hash of the read settings ([`READ_SETTINGS`]), stored with the cursor.
    pub fn read_fingerprint(&self) -> String {
        let Ok(serde_json::Value::Object(settings)) = serde_json::to_value(self) else {
            return String::new();
        };
        let read: serde_json::Map<String, serde_json::Value> = settings
            .into_iter()
            .filter(|(key, _)| READ_SETTINGS.contains(&key.as_str()))
            .collect();
        let text = serde_json::Value::Object(read).to_string();
        blake3::hash(text.as_bytes()).to_hex().to_string()
    }

    /// Builds the driver. `base` is the config file's folder, against which relative file
    /// patterns resolve.
    pub fn connector(&self, base: &Path) -> Box<dyn Connector> {
        match self {
            DriverConfig::Csv(c) => Box::new(csv::CsvConnector::new(c.clone(), base)),
            DriverConfig::Json(c) => Box::new(json::JsonConnector::new(c.clone(), base)),
            DriverConfig::Idoc(c) => Box::new(idoc::IdocConnector::new(c.clone(), base)),
            DriverConfig::Http(c) => Box::new(http::HttpConnector::new(c.clone(), base)),
            DriverConfig::Odoo(c) => Box::new(odoo::OdooConnector::new(c.clone(), base)),
            DriverConfig::Sql(c) => Box::new(sql::SqlConnector::new(c.clone(), base)),
            DriverConfig::Exec(c) => Box::new(exec::ExecConnector::new(c.clone(), base)),
        }
    }
}
