//! What the file drivers share: expanding a file pattern, the cursor of fully read files, and the
//! blocking read loop that feeds a bounded channel.
//!
//! The drivers differ only in how they read one file; everything else — which files to read,
//! which to skip because an earlier run read them unchanged, where to checkpoint, how an error in
//! one file leaves the others untouched — lives here once, in [`pull_files`].

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{ConnectorError, Cursor, PullResult, Pulled, RawRecord};

/// Items handed over at once: one channel operation (and at most one wake-up of the consumer) per
/// this many records instead of one per record.
const SINK_BATCH: usize = 512;

/// How many batches the reading thread may run ahead of the consumer (about two thousand records).
/// Bounded, so a huge file is read no faster than its records are processed and memory stays
/// constant.
const CHANNEL_CAPACITY: usize = 4;

/// The default largest record a file driver reads (16 MiB): a JSON document or line, an IDoc.
pub const DEFAULT_MAX_RECORD_SIZE: u64 = 16 * 1024 * 1024;

/// `max_record_size`'s default, for the drivers' settings.
pub fn default_max_record_size() -> u64 {
    DEFAULT_MAX_RECORD_SIZE
}

/// One file a pattern matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The path to open.
    pub path: PathBuf,
    /// The path relative to the config file's folder (the full path when the file lies outside
    /// it): stable across machines, so it keys the cursor and starts every record's `origin`.
    pub name: String,
}

/// Size, modification time and content hash of a file when it was read: a file whose stamp is
/// unchanged is not read again, nor is one whose content hash is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// Length in bytes.
    pub len: u64,
    /// Modification time, RFC 3339 with nanoseconds; absent where the platform has none, and then
    /// the file is always read again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// BLAKE3 of the content as it was read (hex); absent for drop folders, for a file that
    /// changed while it was read and in cursors written before hashes were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

impl FileStamp {
    /// The stamp of a file as it is now, without its content hash.
    pub fn of(metadata: &std::fs::Metadata) -> Self {
        let modified = metadata.modified().ok().map(rfc3339_nanos);
        Self {
            len: metadata.len(),
            modified,
            hash: None,
        }
    }

    /// Whether size and modification time are the ones of `earlier` (the hash aside).
    pub fn same_size_and_time(&self, earlier: &FileStamp) -> bool {
        self.len == earlier.len && self.modified == earlier.modified
    }

    /// Whether a file with this stamp was already read as `earlier`, by size and time alone.
    fn unchanged_since(&self, earlier: &FileStamp) -> bool {
        self.modified.is_some() && self.same_size_and_time(earlier)
    }
}

/// The BLAKE3 hash of a file's content, hex: hashing runs at several GB/s, so an unchanged file
/// costs one pass over its bytes instead of a parse, a mapping and a store lookup per record.
fn content_hash(path: &Path) -> std::io::Result<String> {
    hash_from(path, blake3::Hasher::new(), 0)
}

/// Finishes a hash of the first `hashed` bytes of the file with the bytes after them.
fn hash_from(path: &Path, mut hasher: blake3::Hasher, hashed: u64) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(hashed))?;
    hasher.update_reader(file)?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// How far the reader of the current file got with its content hash.
#[derive(Default)]
enum ReadHash {
    /// No hash is wanted: the file was hashed before it was read, or it is in a drop folder.
    #[default]
    Off,
    /// A hash is wanted and no reader opened the file through [`RecordSink::open`] yet.
    Wanted,
    /// The hash of the first `len` bytes, which the reader read through [`RecordSink::open`].
    Read {
        hasher: Box<blake3::Hasher>,
        len: u64,
    },
}

/// A file opened by [`RecordSink::open`]: what is read from it is hashed on the way, so a file
/// read for its records is not read a second time for its content hash.
pub struct HashingFile {
    file: std::fs::File,
    hashing: Option<(blake3::Hasher, u64)>,
    slot: Arc<Mutex<ReadHash>>,
}

impl Read for HashingFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        if let Some((hasher, len)) = &mut self.hashing {
            hasher.update(&buf[..n]);
            *len += n as u64;
        }
        Ok(n)
    }
}

impl Drop for HashingFile {
    fn drop(&mut self) {
        if let Some((hasher, len)) = self.hashing.take() {
            *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = ReadHash::Read {
                hasher: Box::new(hasher),
                len,
            };
        }
    }
}

/// Where a file pull starts.
#[derive(Debug, Clone)]
pub enum Start {
    /// After the cursor (from the beginning when `None`): a file read before is left out when its
    /// size and modification time are unchanged, or else when its content hash is.
    After(Option<Cursor>),
    /// From the beginning, for `sync --full`: size and time are not trusted, and a file is left
    /// out only when its content hash is the one it had when the cursor recorded it as read.
    Verify(Option<Cursor>),
}

impl From<Option<Cursor>> for Start {
    fn from(cursor: Option<Cursor>) -> Self {
        Start::After(cursor)
    }
}

fn rfc3339_nanos(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// The file drivers' cursor: the files read completely, by name relative to the config folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCursor {
    /// Fully read files and their stamps when they were read.
    pub files: BTreeMap<String, FileStamp>,
    /// Files that could not be read, with their stamps: read again on the next run (they are
    /// not in `files`), and moved to a drop folder's `rejected` folder once their errors are
    /// stored.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rejected: BTreeMap<String, FileStamp>,
}

impl FileCursor {
    /// Reads a stored cursor. A cursor of another shape (the source changed its driver) counts as
    /// none: every file is read again, and the store's content hashes drop what was seen.
    pub fn from_cursor(cursor: Option<Cursor>) -> Self {
        let Some(Cursor(value)) = cursor else {
            return Self::default();
        };
        serde_json::from_value(value).unwrap_or_else(|error| {
            tracing::warn!(%error, "stored file cursor unreadable, reading every file again");
            Self::default()
        })
    }

    fn to_cursor(&self) -> Cursor {
        let files = self
            .files
            .iter()
            .map(|(name, stamp)| (name.clone(), serde_json::json!(stamp)))
            .collect::<serde_json::Map<_, _>>();
        if self.rejected.is_empty() {
            return Cursor(serde_json::json!({ "files": files }));
        }
        Cursor(serde_json::json!({ "files": files, "rejected": self.rejected }))
    }
}

impl SourceFile {
    /// The file could not be read (any more): the error that stops it.
    pub fn io_error(&self, source: std::io::Error) -> ReadStop {
        ReadStop::Failed(self.io_error_of(source))
    }

    fn io_error_of(&self, source: std::io::Error) -> ConnectorError {
        ConnectorError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// `stamp` with the content hash of the file just read, where one was wanted: finished from
/// where its reader stopped, or computed in one pass when the reader did not hash. A file that
/// cannot be hashed any more keeps no hash, like one that changed while it was read.
fn hashed_as_read(file: &SourceFile, stamp: FileStamp, read_hash: ReadHash) -> FileStamp {
    let hash = match read_hash {
        ReadHash::Off => return stamp,
        ReadHash::Wanted => content_hash(&file.path),
        ReadHash::Read { hasher, len } => hash_from(&file.path, *hasher, len),
    };
    FileStamp {
        hash: hash.ok(),
        ..stamp
    }
}

/// The stamp to record for a file just read: its content hash is dropped when the file changed
/// while it was read, since the records read may then not be the content that was hashed.
fn still_as_hashed(file: &SourceFile, stamp: FileStamp) -> FileStamp {
    let unchanged = std::fs::metadata(&file.path)
        .map(|metadata| FileStamp::of(&metadata).same_size_and_time(&stamp))
        .unwrap_or(false);
    if unchanged {
        stamp
    } else {
        FileStamp {
            hash: None,
            ..stamp
        }
    }
}

/// Why reading one file stopped before its end.
#[derive(Debug)]
pub enum ReadStop {
    /// The file is broken or unreadable from here on; the next file is read.
    Failed(ConnectorError),
    /// The consumer dropped the stream: nothing more is read.
    Cancelled,
}

impl From<ConnectorError> for ReadStop {
    fn from(error: ConnectorError) -> Self {
        ReadStop::Failed(error)
    }
}

/// Where a file reader puts what it reads. Items are handed on in batches; sending blocks while
/// the channel is full.
pub struct RecordSink {
    sender: mpsc::Sender<Vec<PullResult>>,
    buffer: Vec<PullResult>,
    /// Records reported as unreadable so far (see [`RecordSink::skip`]).
    skipped: u64,
    /// The content hash of the file being read, filled in as its reader reads it.
    read_hash: Arc<Mutex<ReadHash>>,
}

impl RecordSink {
    /// Opens `file` for its reader. The bytes read through it are hashed where the file's content
    /// hash is still to be computed; the hash is finished with whatever the reader left unread,
    /// so it is the hash of the whole file, as a separate pass would compute it.
    pub fn open(&self, file: &SourceFile) -> Result<HashingFile, ReadStop> {
        let opened = std::fs::File::open(&file.path).map_err(|source| file.io_error(source))?;
        let wanted = matches!(
            *self
                .read_hash
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            ReadHash::Wanted | ReadHash::Read { .. }
        );
        Ok(HashingFile {
            file: opened,
            hashing: wanted.then(|| (blake3::Hasher::new(), 0)),
            slot: Arc::clone(&self.read_hash),
        })
    }

    fn set_read_hash(&self, state: ReadHash) -> ReadHash {
        std::mem::replace(
            &mut *self
                .read_hash
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            state,
        )
    }

    /// Hands on one record.
    pub fn record(&mut self, origin: String, payload: serde_json::Value) -> Result<(), ReadStop> {
        self.send(Ok(Pulled::Record(RawRecord {
            origin,
            payload,
            stream: None,
        })))
    }

    /// Reports a fault that spoils one record but not the rest of the file (a bad CSV row, a bad
    /// JSON line); the reader goes on.
    pub fn skip(&mut self, error: ConnectorError) -> Result<(), ReadStop> {
        self.skipped += 1;
        self.send(Err(error))
    }

    /// Queues an item; a full batch, a checkpoint or an error is handed on at once, so the
    /// consumer never waits for a checkpoint or a fault behind records still to be read.
    fn send(&mut self, item: PullResult) -> Result<(), ReadStop> {
        let urgent = !matches!(item, Ok(Pulled::Record(_)));
        self.buffer.push(item);
        if urgent || self.buffer.len() >= SINK_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands on whatever is queued.
    fn flush(&mut self) -> Result<(), ReadStop> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.buffer, Vec::with_capacity(SINK_BATCH));
        self.sender
            .blocking_send(batch)
            .map_err(|_| ReadStop::Cancelled)
    }
}

/// Streams the records of every file `pattern` matches, in name order, skipping files the cursor
/// `since` shows as read and unchanged.
///
/// `read_file` reads one file into the sink; it runs on a blocking thread. After each file it
/// reads completely a [`Pulled::Checkpoint`] follows with the cumulative cursor. A file it fails
/// on yields its records up to the fault, then the error, and stays out of the cursor so the next
/// run reads it again; the next file is read either way.
pub fn pull_files<F>(
    pattern: String,
    base: PathBuf,
    since: Start,
    read_file: F,
) -> BoxStream<'static, PullResult>
where
    F: Fn(&SourceFile, &mut RecordSink) -> Result<(), ReadStop> + Send + 'static,
{
    pull_files_of(pattern, base, since, false, read_file)
}

/// [`pull_files`] for a drop folder: files that fail, and files in which a record could not be
/// read (a bad row), are listed in the cursor's `rejected`, in a checkpoint after their error,
/// so the driver moves them to the rejected folder once their good records and their errors are
/// stored, never to the archive as if they were done.
pub fn pull_drop_files<F>(
    pattern: String,
    base: PathBuf,
    since: Start,
    read_file: F,
) -> BoxStream<'static, PullResult>
where
    F: Fn(&SourceFile, &mut RecordSink) -> Result<(), ReadStop> + Send + 'static,
{
    pull_files_of(pattern, base, since, true, read_file)
}

fn pull_files_of<F>(
    pattern: String,
    base: PathBuf,
    since: Start,
    track_rejected: bool,
    read_file: F,
) -> BoxStream<'static, PullResult>
where
    F: Fn(&SourceFile, &mut RecordSink) -> Result<(), ReadStop> + Send + 'static,
{
    // The reading thread logs inside the run's span, so its warnings name the source.
    let span = tracing::Span::current();
    let start = async move {
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let mut sink = RecordSink {
            sender,
            buffer: Vec::with_capacity(SINK_BATCH),
            skipped: 0,
            read_hash: Arc::default(),
        };
        tokio::task::spawn_blocking(move || {
            let _run = span.enter();
            read_all(
                &pattern,
                &base,
                since,
                track_rejected,
                &read_file,
                &mut sink,
            );
            let _ = sink.flush();
        });
        ReceiverStream::new(receiver).flat_map(futures::stream::iter)
    };
    futures::stream::once(start).flatten().boxed()
}

fn read_all<F>(
    pattern: &str,
    base: &Path,
    start: Start,
    track_rejected: bool,
    read_file: &F,
    sink: &mut RecordSink,
) where
    F: Fn(&SourceFile, &mut RecordSink) -> Result<(), ReadStop>,
{
    let (files, expand_errors) = match expand(pattern, base) {
        Ok(found) => found,
        Err(error) => {
            let _ = sink.send(Err(error));
            return;
        }
    };
    if files.is_empty() && expand_errors.is_empty() {
        tracing::warn!(
            pattern,
            folder = %base.display(),
            "the `files` pattern matches no file"
        );
    }
    for error in expand_errors {
        if sink.send(Err(error)).is_err() {
            return;
        }
    }

    let (since, verify) = match start {
        Start::After(cursor) => (FileCursor::from_cursor(cursor), false),
        Start::Verify(cursor) => (FileCursor::from_cursor(cursor), true),
    };
    let mut cursor = FileCursor::default();
    let mut to_read = Vec::new();
    let mut unchanged_by_hash = 0usize;
    for file in files {
        let stamp = match std::fs::metadata(&file.path) {
            Ok(metadata) => FileStamp::of(&metadata),
            Err(source) => {
                if sink.send(Err(file.io_error_of(source))).is_err() {
                    return;
                }
                continue;
            }
        };
        let earlier = since.files.get(&file.name);
        if let Some(earlier) = earlier.filter(|e| !verify && stamp.unchanged_since(e)) {
            let hash = earlier.hash.clone();
            cursor.files.insert(file.name, FileStamp { hash, ..stamp });
            continue;
        }
        // A drop folder's files leave it once stored, so there is nothing to hash them against.
        if track_rejected {
            to_read.push((file, stamp, ReadHash::Off));
            continue;
        }
        // Only a hash to compare with decides before reading: any other file is read anyway, and
        // is hashed while it is read.
        if earlier.is_none_or(|e| e.hash.is_none()) {
            to_read.push((file, stamp, ReadHash::Wanted));
            continue;
        }
        let hash = match content_hash(&file.path) {
            Ok(hash) => hash,
            Err(source) => {
                if sink.send(Err(file.io_error_of(source))).is_err() {
                    return;
                }
                continue;
            }
        };
        let stamp = FileStamp {
            hash: Some(hash),
            ..stamp
        };
        if earlier.is_some_and(|e| e.hash.is_some() && e.hash == stamp.hash) {
            unchanged_by_hash += 1;
            cursor.files.insert(file.name, stamp);
        } else {
            to_read.push((file, stamp, ReadHash::Off));
        }
    }
    if unchanged_by_hash > 0 {
        tracing::info!(
            files = unchanged_by_hash,
            "files with the content hash they had when last read are not read again"
        );
    }

    let mut last_sent: Option<FileCursor> = None;
    for (file, stamp, read_hash) in to_read {
        let skipped_before = sink.skipped;
        sink.set_read_hash(read_hash);
        let read = read_file(&file, sink);
        let read_hash = sink.set_read_hash(ReadHash::Off);
        match read {
            Ok(()) => {
                let stamp = still_as_hashed(&file, hashed_as_read(&file, stamp, read_hash));
                if track_rejected && sink.skipped > skipped_before {
                    cursor.rejected.insert(file.name, stamp);
                } else {
                    cursor.files.insert(file.name, stamp);
                }
                if sink
                    .send(Ok(Pulled::Checkpoint(cursor.to_cursor())))
                    .is_err()
                {
                    return;
                }
                last_sent = Some(cursor.clone());
            }
            Err(ReadStop::Failed(error)) => {
                if track_rejected {
                    cursor.rejected.insert(file.name, stamp);
                }
                if sink.send(Err(error)).is_err() {
                    return;
                }
            }
            Err(ReadStop::Cancelled) => return,
        }
    }
    // Files gone since the last run leave the cursor, so it does not grow forever; files that
    // failed after the last checkpoint are recorded as rejected.
    let unsent = match &last_sent {
        Some(sent) => *sent != cursor,
        None => cursor != since,
    };
    if unsent {
        let _ = sink.send(Ok(Pulled::Checkpoint(cursor.to_cursor())));
    }
}

/// The files `pattern` matches, relative to `base` unless absolute, sorted by name, plus the
/// errors met on the way (an unreadable folder). A pattern without wildcards names one file,
/// which must exist.
pub fn expand(
    pattern: &str,
    base: &Path,
) -> Result<(Vec<SourceFile>, Vec<ConnectorError>), ConnectorError> {
    let invalid = |message: String| ConnectorError::Pattern {
        pattern: pattern.to_owned(),
        message,
    };
    let full = if Path::new(pattern).is_absolute() {
        pattern.to_owned()
    } else {
        let base = base
            .to_str()
            .ok_or_else(|| invalid(format!("folder {} is not UTF-8", base.display())))?;
        let base = glob::Pattern::escape(base);
        if base.is_empty() {
            pattern.to_owned()
        } else {
            format!("{}/{pattern}", base.trim_end_matches('/'))
        }
    };
    let has_wildcards = pattern.contains(['*', '?', '[']);
    if !has_wildcards {
        let path = base.join(pattern);
        match std::fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.is_file() => {}
            Ok(metadata) if metadata.is_symlink() => return Err(symlink_refused(path)),
            _ => {
                return Err(ConnectorError::Io {
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                    path,
                });
            }
        }
    }
    let matches = glob::glob(&full).map_err(|error| invalid(error.to_string()))?;

    let mut files = Vec::new();
    let mut errors = Vec::new();
    for entry in matches {
        let kind = entry
            .as_ref()
            .ok()
            .and_then(|path| std::fs::symlink_metadata(path).ok())
            .map(|metadata| metadata.file_type());
        match entry {
            Ok(path) if kind.is_some_and(|kind| kind.is_symlink()) => {
                errors.push(symlink_refused(path));
            }
            Ok(path) if kind.is_some_and(|kind| kind.is_file()) => {
                let name = match path.strip_prefix(base) {
                    Ok(relative) if !base.as_os_str().is_empty() => relative,
                    _ => path.as_path(),
                };
                let name = name.to_string_lossy().into_owned();
                files.push(SourceFile { path, name });
            }
            Ok(_) => {}
            Err(error) => {
                let path = error.path().to_path_buf();
                errors.push(ConnectorError::Io {
                    path,
                    source: error.into(),
                });
            }
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((files, errors))
}

/// A symbolic link where a file was expected: never followed, so a link dropped into a watched
/// folder cannot pull in a file from elsewhere.
fn symlink_refused(path: PathBuf) -> ConnectorError {
    ConnectorError::Io {
        path,
        source: std::io::Error::other(
            "is a symbolic link; file sources read regular files only and do not follow links",
        ),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Collects a connector's whole stream.
    pub(crate) async fn collect(stream: BoxStream<'static, PullResult>) -> Vec<PullResult> {
        stream.collect().await
    }

    /// The records' origins and payloads of a collected stream, errors as their message.
    pub(crate) fn summary(items: &[PullResult]) -> Vec<String> {
        items
            .iter()
            .map(|item| match item {
                Ok(Pulled::Record(r)) => format!("{} {}", r.origin, r.payload),
                Ok(Pulled::Checkpoint(_)) => "checkpoint".to_owned(),
                Ok(Pulled::KeyScan(scan)) => format!("key scan {}", scan.stream),
                Err(e) => format!("error: {e}"),
            })
            .collect()
    }

    pub(crate) fn last_cursor(items: &[PullResult]) -> Option<Cursor> {
        items.iter().rev().find_map(|item| match item {
            Ok(Pulled::Checkpoint(c)) => Some(c.clone()),
            _ => None,
        })
    }

    pub(crate) fn write(dir: &Path, name: &str, content: &[u8]) {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::File::create(path)
            .unwrap()
            .write_all(content)
            .unwrap();
    }

    /// A test reader: one record per line; a line `BAD` fails the file there.
    fn line_reader(file: &SourceFile, sink: &mut RecordSink) -> Result<(), ReadStop> {
        let text = std::fs::read_to_string(&file.path).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line == "BAD" {
                return Err(ReadStop::Failed(ConnectorError::BadLine {
                    path: file.path.clone(),
                    line: i as u64 + 1,
                    message: "bad".into(),
                }));
            }
            sink.record(format!("{}:{}", file.name, i + 1), line.into())?;
        }
        Ok(())
    }

    #[tokio::test]
    async fn reads_matching_files_in_name_order_with_a_checkpoint_after_each() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "in/b.txt", b"b1\n");
        write(dir.path(), "in/a.txt", b"a1\na2\n");
        write(dir.path(), "in/skip.csv", b"x\n");
        let items = collect(pull_files(
            "in/*.txt".into(),
            dir.path().into(),
            Start::After(None),
            line_reader,
        ))
        .await;
        assert_eq!(
            summary(&items),
            [
                "in/a.txt:1 \"a1\"",
                "in/a.txt:2 \"a2\"",
                "checkpoint",
                "in/b.txt:1 \"b1\"",
                "checkpoint"
            ]
        );
        let cursor = last_cursor(&items).unwrap();
        let files = cursor.0["files"].as_object().unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["in/a.txt", "in/b.txt"]);
        assert_eq!(files["in/a.txt"]["len"], 6);
        assert!(
            files["in/a.txt"]["modified"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
    }

    #[tokio::test]
    async fn skips_unchanged_files_and_rereads_changed_ones() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", b"a1\n");
        write(dir.path(), "b.txt", b"b1\n");
        let first = collect(pull_files(
            "*.txt".into(),
            dir.path().into(),
            Start::After(None),
            line_reader,
        ))
        .await;
        let cursor = last_cursor(&first);

        write(dir.path(), "b.txt", b"b1\nb2\n");
        let second = collect(pull_files(
            "*.txt".into(),
            dir.path().into(),
            Start::After(cursor),
            line_reader,
        ))
        .await;
        assert_eq!(
            summary(&second),
            ["b.txt:1 \"b1\"", "b.txt:2 \"b2\"", "checkpoint"]
        );
        let files = last_cursor(&second).unwrap().0["files"].clone();
        assert_eq!(files.as_object().unwrap().len(), 2, "a.txt carried forward");

        let third = collect(pull_files(
            "*.txt".into(),
            dir.path().into(),
            Start::After(last_cursor(&second)),
            line_reader,
        ))
        .await;
        assert!(third.is_empty(), "{:?}", summary(&third));
    }

    /// Rewrites a file with new content of the same length and puts its modification time back.
    fn rewrite_keeping_stamp(dir: &Path, name: &str, content: &[u8]) {
        let path = dir.join(name);
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        write(dir, name, content);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
    }

    #[tokio::test]
    async fn a_full_pull_reads_only_the_files_whose_content_changed_whatever_their_stamp() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", b"a1\n");
        write(dir.path(), "b.txt", b"b1\n");
        let pull = |start: Start| {
            collect(pull_files(
                "*.txt".into(),
                dir.path().into(),
                start,
                line_reader,
            ))
        };
        let cursor = last_cursor(&pull(Start::After(None)).await);

        rewrite_keeping_stamp(dir.path(), "b.txt", b"b9\n");
        let incremental = pull(Start::After(cursor.clone())).await;
        assert!(incremental.is_empty(), "size and time alone see no change");

        let full = pull(Start::Verify(cursor)).await;
        assert_eq!(summary(&full), ["b.txt:1 \"b9\"", "checkpoint"]);
        let again = pull(Start::Verify(last_cursor(&full))).await;
        assert!(again.is_empty(), "{:?}", summary(&again));

        let unhashed = pull(Start::Verify(None)).await;
        assert_eq!(
            summary(&unhashed).len(),
            4,
            "without a cursor everything is read"
        );
    }

    #[tokio::test]
    async fn a_file_written_again_with_the_same_content_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", b"a1\n");
        let pull = |cursor: Option<Cursor>| {
            collect(pull_files(
                "*.txt".into(),
                dir.path().into(),
                Start::After(cursor),
                line_reader,
            ))
        };
        let first = pull(None).await;
        let stamp = last_cursor(&first).unwrap().0["files"]["a.txt"].clone();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(dir.path(), "a.txt", b"a1\n");

        let second = pull(last_cursor(&first)).await;
        assert_eq!(
            summary(&second),
            ["checkpoint"],
            "only the new stamp is kept"
        );
        let restamped = last_cursor(&second).unwrap().0["files"]["a.txt"].clone();
        assert_ne!(restamped["modified"], stamp["modified"]);
        assert_eq!(restamped["hash"], stamp["hash"]);
    }

    /// Reads the first line through [`RecordSink::open`] and leaves the rest unread, as a reader
    /// that stops at the end of an XML root leaves what follows it.
    fn first_line_reader(file: &SourceFile, sink: &mut RecordSink) -> Result<(), ReadStop> {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(sink.open(file)?), &mut line)
            .unwrap();
        sink.record(file.name.clone(), line.trim_end().into())
    }

    #[tokio::test]
    async fn the_hash_kept_for_a_file_is_its_whole_content_whether_its_reader_read_all_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let content = "a1\n".repeat(50_000);
        write(dir.path(), "a.txt", content.as_bytes());
        let whole = blake3::hash(content.as_bytes()).to_hex().to_string();
        for reader in [first_line_reader, line_reader] {
            let items = collect(pull_files(
                "*.txt".into(),
                dir.path().into(),
                Start::After(None),
                reader,
            ))
            .await;
            let stamp = &last_cursor(&items).unwrap().0["files"]["a.txt"];
            assert_eq!(stamp["hash"], whole.as_str());
        }

        let items = collect(pull_files(
            "*.txt".into(),
            dir.path().into(),
            Start::After(None),
            first_line_reader,
        ))
        .await;
        rewrite_keeping_stamp(dir.path(), "a.txt", content.as_bytes());
        let full = collect(pull_files(
            "*.txt".into(),
            dir.path().into(),
            Start::Verify(last_cursor(&items)),
            first_line_reader,
        ))
        .await;
        assert!(full.is_empty(), "the hash taken while reading matches");
    }

    #[tokio::test]
    async fn a_failing_file_keeps_its_records_and_stays_out_of_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", b"a1\nBAD\na3\n");
        write(dir.path(), "b.txt", b"b1\n");
        let items = collect(pull_files(
            "*.txt".into(),
            dir.path().into(),
            Start::After(None),
            line_reader,
        ))
        .await;
        let summary = summary(&items);
        assert_eq!(summary[0], "a.txt:1 \"a1\"");
        assert!(summary[1].starts_with("error: ") && summary[1].ends_with("a.txt:2: bad"));
        assert_eq!(summary[2..], ["b.txt:1 \"b1\"", "checkpoint"]);
        let files = last_cursor(&items).unwrap().0["files"].clone();
        assert_eq!(
            files.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["b.txt"]
        );
    }

    #[tokio::test]
    async fn a_missing_plain_path_is_an_error_but_an_empty_glob_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let missing = collect(pull_files(
            "nope.txt".into(),
            dir.path().into(),
            Start::After(None),
            line_reader,
        ))
        .await;
        assert_eq!(missing.len(), 1);
        assert!(
            matches!(&missing[0], Err(ConnectorError::Io { path, .. }) if path.ends_with("nope.txt"))
        );
        let none = collect(pull_files(
            "*.txt".into(),
            dir.path().into(),
            Start::After(None),
            line_reader,
        ))
        .await;
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn a_deleted_file_leaves_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", b"a1\n");
        write(dir.path(), "b.txt", b"b1\n");
        let first = collect(pull_files(
            "*.txt".into(),
            dir.path().into(),
            Start::After(None),
            line_reader,
        ))
        .await;
        std::fs::remove_file(dir.path().join("b.txt")).unwrap();
        let second = collect(pull_files(
            "*.txt".into(),
            dir.path().into(),
            Start::After(last_cursor(&first)),
            line_reader,
        ))
        .await;
        assert_eq!(summary(&second), ["checkpoint"]);
        let files = last_cursor(&second).unwrap().0["files"].clone();
        assert_eq!(
            files.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["a.txt"]
        );
    }

    #[test]
    fn glob_characters_in_the_base_folder_are_taken_literally() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("drop [1]");
        write(&base, "a.txt", b"x");
        let (files, errors) = expand("*.txt", &base).unwrap();
        assert!(errors.is_empty());
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "a.txt");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_symlink_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "secret.txt", b"s3cret\n");
        write(dir.path(), "in/a.txt", b"a1\n");
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            dir.path().join("in/b.txt"),
        )
        .unwrap();
        let items = collect(pull_files(
            "in/*.txt".into(),
            dir.path().into(),
            Start::After(None),
            line_reader,
        ))
        .await;
        let rows = summary(&items);
        assert!(
            rows[0].starts_with("error: ") && rows[0].contains("b.txt: is a symbolic link"),
            "{rows:?}"
        );
        assert_eq!(rows[1..], ["in/a.txt:1 \"a1\"", "checkpoint"]);
        assert!(!rows.iter().any(|row| row.contains("s3cret")));

        let plain = collect(pull_files(
            "in/b.txt".into(),
            dir.path().into(),
            Start::After(None),
            line_reader,
        ))
        .await;
        assert!(
            summary(&plain)[0].contains("is a symbolic link"),
            "{:?}",
            summary(&plain)
        );
    }

    /// A test reader: one record per line; a line `SKIP` is a bad record the reader goes past.
    fn skipping_reader(file: &SourceFile, sink: &mut RecordSink) -> Result<(), ReadStop> {
        let text = std::fs::read_to_string(&file.path).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line == "SKIP" {
                sink.skip(ConnectorError::BadLine {
                    path: file.path.clone(),
                    line: i as u64 + 1,
                    message: "bad row".into(),
                })?;
                continue;
            }
            sink.record(format!("{}:{}", file.name, i + 1), line.into())?;
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_drop_file_with_a_bad_record_is_rejected_not_done() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", b"a1\nSKIP\na3\n");
        write(dir.path(), "b.txt", b"b1\n");
        let items = collect(pull_drop_files(
            "*.txt".into(),
            dir.path().into(),
            Start::After(None),
            skipping_reader,
        ))
        .await;
        let rows = summary(&items);
        assert_eq!(rows[0], "a.txt:1 \"a1\"");
        assert_eq!(rows[2], "a.txt:3 \"a3\"");
        let cursor = FileCursor::from_cursor(last_cursor(&items));
        assert_eq!(cursor.files.keys().collect::<Vec<_>>(), ["b.txt"]);
        assert_eq!(cursor.rejected.keys().collect::<Vec<_>>(), ["a.txt"]);

        let plain = collect(pull_files(
            "*.txt".into(),
            dir.path().into(),
            Start::After(None),
            skipping_reader,
        ))
        .await;
        let cursor = FileCursor::from_cursor(last_cursor(&plain));
        assert_eq!(
            cursor.files.len(),
            2,
            "outside a drop folder the file is read"
        );
    }

    #[test]
    fn a_foreign_cursor_counts_as_none() {
        let cursor = FileCursor::from_cursor(Some(Cursor(serde_json::json!({"page": 3}))));
        assert!(cursor.files.is_empty());
    }
}
