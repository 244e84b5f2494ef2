//! Where rows go: each converted row becomes a record (or a reported fault), the last row's
//! (cursor, key) is kept for the next page, and items reach the pipeline in batches.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::CursorConfig;
use super::cursor::Position;
use super::redact::{scrub, secrets};
use crate::connector::{ConnectorError, Cursor, PullResult, Pulled, RawRecord};
use crate::url::shown as shown_url;

/// Items handed over at once: one channel operation per this many rows.
const BATCH: usize = 512;

/// How many batches the database reader may run ahead of the pipeline.
pub const CHANNEL_CAPACITY: usize = 4;

/// Why a stream stopped early.
#[derive(Debug)]
pub enum Stop {
    /// The database failed (or the query cannot page): the run fails with this message.
    Failed(String),
    /// The pipeline dropped the stream.
    Cancelled,
}

/// One row as JSON, with the columns whose values could not be read.
pub struct Row {
    /// Column name → value.
    pub values: Map<String, Value>,
    /// A message per column that could not be read (its value is null in `values`).
    pub faults: Vec<String>,
}

/// The channel to the pipeline, with what it needs to word errors without secrets.
pub struct Out {
    sender: mpsc::Sender<Vec<PullResult>>,
    buffer: Vec<PullResult>,
    shown_url: String,
    secrets: Vec<String>,
    rows: u64,
}

impl Out {
    pub fn new(sender: mpsc::Sender<Vec<PullResult>>, url: &str) -> Out {
        Out {
            sender,
            buffer: Vec::with_capacity(BATCH),
            shown_url: shown_url(url),
            secrets: secrets(url),
            rows: 0,
        }
    }

    /// Where a stream's rows come from: the URL without its password, and the stream.
    fn origin(&self, stream: Option<&str>) -> String {
        match stream {
            Some(name) => format!("{} stream {name}", self.shown_url),
            None => self.shown_url.clone(),
        }
    }

    /// Ends the run with the source unavailable.
    pub async fn unavailable(&mut self, stream: Option<&str>, message: String) {
        let error = ConnectorError::Unavailable {
            origin: self.origin(stream),
            message: scrub(&message, &self.secrets),
        };
        let _ = self.send(Err(error)).await;
    }

    /// The keys a key scan listed.
    pub async fn key_scan(&mut self, scan: crate::connector::KeyScan) -> Result<(), Stop> {
        self.send(Ok(Pulled::KeyScan(scan))).await
    }

    /// Every row yielded so far may be stored with `cursor`.
    pub async fn checkpoint(&mut self, cursor: Cursor) -> Result<(), Stop> {
        self.send(Ok(Pulled::Checkpoint(cursor))).await
    }

    async fn send(&mut self, item: PullResult) -> Result<(), Stop> {
        let urgent = !matches!(item, Ok(Pulled::Record(_)));
        self.buffer.push(item);
        if urgent || self.buffer.len() >= BATCH {
            return self.flush_batch().await;
        }
        Ok(())
    }

    async fn flush_batch(&mut self) -> Result<(), Stop> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.buffer, Vec::with_capacity(BATCH));
        self.sender.send(batch).await.map_err(|_| Stop::Cancelled)
    }

    /// Hands on whatever is queued.
    pub async fn flush(&mut self) {
        let _ = self.flush_batch().await;
    }
}

/// The rows of one page (or of a whole stream without a cursor).
pub struct Page<'a> {
    stream: Arc<str>,
    cursor: Option<&'a CursorConfig>,
    out: &'a mut Out,
    rows: i64,
    last: Option<Position>,
    /// A key scan's rows, kept instead of yielded.
    collected: Option<Vec<RawRecord>>,
}

impl<'a> Page<'a> {
    pub fn new(stream: &str, cursor: Option<&'a CursorConfig>, out: &'a mut Out) -> Page<'a> {
        Page {
            stream: Arc::from(stream),
            cursor,
            out,
            rows: 0,
            last: None,
            collected: None,
        }
    }

    /// A page whose rows are kept, for a key scan.
    pub fn collecting(stream: &str, out: &'a mut Out) -> Page<'a> {
        let mut page = Page::new(stream, None, out);
        page.collected = Some(Vec::new());
        page
    }

    /// The rows a collecting page kept.
    pub fn into_collected(self) -> Vec<RawRecord> {
        self.collected.unwrap_or_default()
    }

    /// Takes one row: a record, or a fault naming the row when a value could not be read.
    pub async fn row(&mut self, row: Row) -> Result<(), Stop> {
        self.rows += 1;
        self.out.rows += 1;
        let key = match self.cursor {
            Some(cursor) => {
                let position = position(&row.values, cursor)?;
                let key = shown_key(&position.key);
                self.last = Some(position);
                Some(key)
            }
            None => None,
        };
        let origin = match &key {
            Some(key) => format!("{}/{key}", self.stream),
            None => format!("{}#{}", self.stream, self.out.rows),
        };
        if !row.faults.is_empty() {
            let error = ConnectorError::BadLine {
                path: PathBuf::from(self.out.origin(Some(&self.stream))),
                line: self.out.rows,
                message: format!(
                    "row {origin}: {}; the row is skipped",
                    row.faults.join("; ")
                ),
            };
            return self.out.send(Err(error)).await;
        }
        let record = RawRecord {
            origin,
            payload: Value::Object(row.values),
            stream: Some(self.stream.clone()),
        };
        if let Some(collected) = &mut self.collected {
            collected.push(record);
            return Ok(());
        }
        self.out.send(Ok(Pulled::Record(record))).await
    }

    /// The number of rows taken and the last one's position.
    pub fn finish(self) -> (i64, Option<Position>) {
        (self.rows, self.last)
    }
}

/// The (cursor, key) of a row; a row without them cannot advance the cursor, so the run stops.
fn position(values: &Map<String, Value>, cursor: &CursorConfig) -> Result<Position, Stop> {
    let read = |column: &str, role: &str| match values.get(column) {
        Some(Value::Null) => Err(Stop::Failed(format!(
            "the {role} column `{column}` is NULL in a row: keyset paging needs a value in \
             every row (COALESCE it in the query)"
        ))),
        Some(value) => Ok(value.clone()),
        None => Err(Stop::Failed(format!(
            "the query does not select the {role} column `{column}` (columns: {})",
            values.keys().cloned().collect::<Vec<_>>().join(", ")
        ))),
    };
    Ok(Position {
        cursor: read(&cursor.column, "cursor")?,
        key: read(&cursor.key, "key")?,
    })
}

fn shown_key(key: &Value) -> String {
    match key {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
