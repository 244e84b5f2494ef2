//! The `json` driver: JSON documents and JSON lines.
//!
//! A document whose top level is an array is streamed item by item, and so is the array a simple
//! `records` path (`$.data[*]`, `$['data'].items[*]`) selects in an object, so a file of any size
//! is read in constant memory; other `records` paths read the document whole, up to
//! `max_record_size`. An object without `records` is one record; `origin` is `<file>#<n>`. JSON
//! lines are streamed line by line, one record per line (or the line's values `records` selects);
//! `origin` is `<file>:<line>`.
//!
//! One bad record never costs its neighbours: an item or line that is not valid JSON, that writes
//! a key twice in one object, or that is larger than `max_record_size` is reported for the
//! quarantine (with its line, the key, or its size) and reading goes on. A file that ends inside
//! a record (truncated, or still being written) yields the records before the cut, then an error,
//! and is read again on the next run. A number no `i64`/`f64` holds exactly is kept as a string of
//! its exact text. A document whose top level is a scalar is an error naming the file.

mod record;
mod scan;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use futures::stream::BoxStream;
use jsonpath_rust::JsonPath;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::record::parse_record;
use self::scan::{Captured, JsonScanner, ScanError, read_line};
use super::files::{ReadStop, RecordSink, SourceFile, Start, default_max_record_size, pull_files};
use super::{Connector, ConnectorError, Cursor, PullResult};

/// Settings of the `json` driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonConfig {
    /// File path or glob, relative to the config file.
    pub files: String,
    /// JSONPath selecting the records inside each document (`$.data[*]` for an ERPNext
    /// `{"data": [...]}` envelope). Unset: an array's items, or an object as one record.
    #[serde(default)]
    pub records: Option<String>,
    /// `auto` (JSON lines for `.jsonl` and `.ndjson` files, else one document per file),
    /// `array` (one document per file), `lines` (one document per line).
    #[serde(default)]
    pub format: JsonFormat,
    /// Largest record read, in bytes (default 16 MiB): an item, a line, or a document read whole.
    /// A bigger one is quarantined with its size, never loaded, and reading goes on.
    /// The source's `max_record_size`, handed over when the config is loaded.
    #[serde(skip, default = "default_max_record_size")]
    pub max_record_size: u64,
}

/// How a JSON file holds its records.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum JsonFormat {
    /// By the file's extension: `.jsonl` and `.ndjson` are JSON lines, others one document.
    #[default]
    Auto,
    /// One JSON document per file.
    Array,
    /// One JSON document per line.
    Lines,
}

/// The `json` driver.
pub struct JsonConnector {
    config: JsonConfig,
    base: PathBuf,
}

impl JsonConnector {
    /// `base` is the config file's folder, against which `files` resolves.
    pub fn new(config: JsonConfig, base: &Path) -> Self {
        Self {
            config,
            base: base.to_path_buf(),
        }
    }
}

impl JsonConnector {
    /// Streams the files' records from `start`; both ways of pulling come here.
    fn read(&self, start: Start) -> BoxStream<'static, PullResult> {
        let config = self.config.clone();
        pull_files(
            self.config.files.clone(),
            self.base.clone(),
            start,
            move |file, sink| {
                let mut reader = FileReader {
                    config: &config,
                    file,
                    sink,
                };
                if is_lines(config.format, &file.path) {
                    reader.read_lines()
                } else {
                    reader.read_document()
                }
            },
        )
    }
}

impl Connector for JsonConnector {
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult> {
        self.read(Start::After(since))
    }

    fn pull_full(&self, known: Option<Cursor>) -> BoxStream<'static, PullResult> {
        self.read(Start::Verify(known))
    }
}

fn is_lines(format: JsonFormat, path: &Path) -> bool {
    match format {
        JsonFormat::Lines => true,
        JsonFormat::Array => false,
        JsonFormat::Auto => path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson")),
    }
}

/// The object keys leading to the array a simple `records` path selects: `$.data[*]` →
/// `["data"]`, `$[*]` → `[]`. `None` for any other path.
fn simple_path(path: &str) -> Option<Vec<String>> {
    let mut rest = path.trim().strip_prefix('$')?.strip_suffix("[*]")?;
    let mut keys = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            if key.is_empty() || key == "*" || key.contains(['\'', '"', ' ', '?', '(']) {
                return None;
            }
            keys.push(key.to_owned());
            rest = &after[end..];
        } else {
            let after = rest.strip_prefix('[')?;
            let quote = after.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
            let inner = &after[1..];
            let close = inner.find(quote)?;
            keys.push(inner[..close].to_owned());
            rest = inner[close + 1..].strip_prefix(']')?;
        }
    }
    Some(keys)
}

/// Reading one file.
struct FileReader<'a> {
    config: &'a JsonConfig,
    file: &'a SourceFile,
    sink: &'a mut RecordSink,
}

impl FileReader<'_> {
    fn limit(&self) -> u64 {
        self.config.max_record_size
    }

    fn open(&self) -> Result<BufReader<File>, ReadStop> {
        File::open(&self.file.path)
            .map(|opened| BufReader::with_capacity(64 * 1024, opened))
            .map_err(|source| self.file.io_error(source))
    }

    fn malformed(&self, offset: u64, message: String) -> ReadStop {
        ReadStop::Failed(ConnectorError::Malformed {
            path: self.file.path.clone(),
            offset,
            message,
        })
    }

    fn scan_error<R>(&self, scanner: &JsonScanner<R>, error: ScanError, what: &str) -> ReadStop {
        match error {
            ScanError::Io(source) => self.file.io_error(source),
            ScanError::End => self.malformed(
                scanner.offset,
                format!(
                    "file ends inside {what} (line {}; truncated?)",
                    scanner.line
                ),
            ),
        }
    }

    /// Reads one file as one JSON document.
    fn read_document(&mut self) -> Result<(), ReadStop> {
        let input = self.open()?;
        let mut scanner = JsonScanner::new(input).map_err(|e| self.file.io_error(e))?;
        let first = scanner.peek().map_err(|e| self.file.io_error(e))?;
        let records = self.config.records.clone();
        let keys = records.as_deref().map(simple_path);
        let streamed_keys = match &keys {
            None => Some(&[][..]),
            Some(Some(keys)) => Some(keys.as_slice()),
            Some(None) => None,
        };
        match (first, streamed_keys) {
            (None, _) => Err(self.malformed(0, "the file holds no JSON document".to_owned())),
            (Some(b'['), Some([])) => self.stream_array(&mut scanner),
            (Some(b'{'), Some(keys)) if !keys.is_empty() => {
                let keys = keys.to_vec();
                if !self.stream_path(&mut scanner, &keys)? {
                    tracing::warn!(
                        file = %self.file.path.display(),
                        records = records.as_deref().unwrap_or_default(),
                        "the `records` path selects nothing in this file"
                    );
                }
                Ok(())
            }
            (Some(b'{' | b'['), _) => self.read_whole(&mut scanner, records.as_deref()),
            (Some(_), _) => {
                let mut text = Vec::new();
                let _ = scanner.capture(64, &mut text);
                Err(self.malformed(
                    0,
                    format!(
                        "expected an array or an object of records, found the scalar `{}`",
                        String::from_utf8_lossy(&text)
                    ),
                ))
            }
        }
    }

    /// Hands on the items of the array the scanner is at, one at a time.
    fn stream_array<R: BufRead>(&mut self, scanner: &mut JsonScanner<R>) -> Result<(), ReadStop> {
        scanner.bump();
        let mut buf = Vec::new();
        let mut n = 0u64;
        loop {
            let next = scanner.peek().map_err(|e| self.file.io_error(e))?;
            match next {
                None => return Err(self.scan_error(scanner, ScanError::End, "the array")),
                Some(b']') => {
                    scanner.bump();
                    return Ok(());
                }
                Some(b',') if n > 0 => scanner.bump(),
                Some(_) if n == 0 => {}
                Some(other) => {
                    return Err(self.malformed(
                        scanner.offset,
                        format!(
                            "expected `,` or `]` after record #{n} at line {}, found `{}`",
                            scanner.line,
                            char::from(other)
                        ),
                    ));
                }
            }
            n += 1;
            scanner.peek().map_err(|e| self.file.io_error(e))?;
            let (line, offset) = (scanner.line, scanner.offset);
            let what = format!("record #{n}");
            let captured = scanner
                .capture(self.limit(), &mut buf)
                .map_err(|e| self.scan_error(scanner, e, &what))?;
            let origin = format!("{}#{n}", self.file.name);
            self.hand_on(origin, &buf, captured, (line, offset), false)?;
        }
    }

    /// Walks the object the scanner is at down `keys` and streams the array found there; false
    /// when the path is not in the document.
    fn stream_path<R: BufRead>(
        &mut self,
        scanner: &mut JsonScanner<R>,
        keys: &[String],
    ) -> Result<bool, ReadStop> {
        let io = |file: &SourceFile, e| file.io_error(e);
        if scanner.peek().map_err(|e| io(self.file, e))? != Some(b'{') {
            let mut skipped = Vec::new();
            scanner
                .capture(0, &mut skipped)
                .map_err(|e| self.scan_error(scanner, e, "the document"))?;
            return Ok(false);
        }
        scanner.bump();
        let mut found = false;
        let mut key_bytes = Vec::new();
        let mut first = true;
        loop {
            match scanner.peek().map_err(|e| io(self.file, e))? {
                Some(b'}') => {
                    scanner.bump();
                    return Ok(found);
                }
                Some(b',') if !first => scanner.bump(),
                Some(b'"') if first => {}
                None => return Err(self.scan_error(scanner, ScanError::End, "the document")),
                Some(other) => {
                    return Err(self.malformed(
                        scanner.offset,
                        format!(
                            "invalid JSON at line {}: unexpected `{}` in an object",
                            scanner.line,
                            char::from(other)
                        ),
                    ));
                }
            }
            first = false;
            scanner
                .capture(64 * 1024, &mut key_bytes)
                .map_err(|e| self.scan_error(scanner, e, "the document"))?;
            let key: Option<String> = serde_json::from_slice(&key_bytes).ok();
            if scanner.peek().map_err(|e| io(self.file, e))? != Some(b':') {
                return Err(self.malformed(
                    scanner.offset,
                    format!(
                        "invalid JSON at line {}: expected `:` after a key",
                        scanner.line
                    ),
                ));
            }
            scanner.bump();
            let wanted = !found && key.as_deref() == Some(keys[0].as_str());
            let next = scanner.peek().map_err(|e| io(self.file, e))?;
            match (wanted, keys.len(), next) {
                (true, 1, Some(b'[')) => {
                    self.stream_array(scanner)?;
                    found = true;
                }
                (true, n, _) if n > 1 => found = self.stream_path(scanner, &keys[1..])?,
                _ => {
                    let mut skipped = Vec::new();
                    scanner
                        .capture(0, &mut skipped)
                        .map_err(|e| self.scan_error(scanner, e, "the document"))?;
                }
            }
        }
    }

    /// Reads the whole document (up to the size limit) and hands on what `records` selects.
    fn read_whole<R: BufRead>(
        &mut self,
        scanner: &mut JsonScanner<R>,
        records: Option<&str>,
    ) -> Result<(), ReadStop> {
        let mut buf = Vec::new();
        let (line, offset) = (scanner.line, scanner.offset);
        let captured = scanner
            .capture(self.limit(), &mut buf)
            .map_err(|e| self.scan_error(scanner, e, "the document"))?;
        if captured.too_large {
            return Err(self.malformed(
                offset,
                format!(
                    "the document is {} bytes, more than max_record_size ({}); a top-level array or a `records` path like `$.data[*]` is read record by record",
                    captured.size,
                    self.limit()
                ),
            ));
        }
        let document = parse_record(&buf).map_err(|error| {
            ReadStop::Failed(ConnectorError::BadLine {
                path: self.file.path.clone(),
                line: line + error.line() as u64 - 1,
                message: format!("invalid JSON: {}", without_position(&error)),
            })
        })?;
        let items = match records {
            Some(path) => self.select(path, &document, line)?,
            None => match document {
                Value::Array(items) => items,
                object => vec![object],
            },
        };
        if items.is_empty()
            && let Some(path) = records
        {
            tracing::warn!(
                file = %self.file.path.display(),
                records = path,
                "the `records` path selects nothing in this file"
            );
        }
        for (n, item) in items.into_iter().enumerate() {
            self.sink
                .record(format!("{}#{}", self.file.name, n + 1), item)?;
        }
        Ok(())
    }

    /// Parses one captured record and hands on the values `records` selects in it (`numbered`:
    /// each as `<origin>#<n>`) or the record itself, or quarantines it.
    fn hand_on(
        &mut self,
        origin: String,
        bytes: &[u8],
        captured: Captured,
        (line, offset): (u64, u64),
        numbered: bool,
    ) -> Result<(), ReadStop> {
        let bad = |message: String| ConnectorError::BadRecord {
            path: self.file.path.clone(),
            origin: origin.clone(),
            offset,
            key: None,
            message,
            payload: None,
        };
        if captured.too_large {
            let message = format!(
                "record of {} bytes is larger than max_record_size ({}); quarantined unread",
                captured.size,
                self.limit()
            );
            return self.sink.skip(bad(message));
        }
        let value = match parse_record(bytes) {
            Ok(value) => value,
            Err(error) => {
                let message = format!(
                    "invalid JSON at line {}: {}; record quarantined",
                    line + error.line() as u64 - 1,
                    without_position(&error)
                );
                return self.sink.skip(bad(message));
            }
        };
        match self.config.records.as_deref() {
            Some(path) if numbered => {
                let items = select_values(path, &value, &self.file.path, line)?;
                for (n, item) in items.into_iter().enumerate() {
                    self.sink.record(format!("{origin}#{}", n + 1), item)?;
                }
                Ok(())
            }
            _ => self.sink.record(origin, value),
        }
    }

    /// Reads one file as JSON lines; blank lines are skipped.
    fn read_lines(&mut self) -> Result<(), ReadStop> {
        let mut input = self.open()?;
        if input
            .fill_buf()
            .map_err(|e| self.file.io_error(e))?
            .starts_with(b"\xEF\xBB\xBF")
        {
            input.consume(3);
        }
        let mut line = Vec::new();
        let mut number = 0u64;
        let mut offset = 0u64;
        while let Some(captured) =
            read_line(&mut input, self.limit(), &mut line).map_err(|e| self.file.io_error(e))?
        {
            number += 1;
            let start = offset;
            offset += captured.size + 1;
            if !captured.too_large && line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let origin = format!("{}:{number}", self.file.name);
            self.hand_on(origin, &line, captured, (number, start), true)?;
        }
        Ok(())
    }

    fn select(&self, path: &str, document: &Value, line: u64) -> Result<Vec<Value>, ReadStop> {
        select_values(path, document, &self.file.path, line)
    }
}

/// The values `path` selects in `document`.
fn select_values(
    path: &str,
    document: &Value,
    file: &Path,
    line: u64,
) -> Result<Vec<Value>, ReadStop> {
    match document.query(path) {
        Ok(found) => Ok(found.into_iter().cloned().collect()),
        Err(error) => Err(ReadStop::Failed(ConnectorError::BadLine {
            path: file.to_path_buf(),
            line,
            message: format!("the `records` JSONPath `{path}` is invalid: {error}"),
        })),
    }
}

/// serde_json's message without its ` at line L column C` (the caller says where).
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::files::tests::{collect, last_cursor, summary, write};

    fn config(files: &str, records: Option<&str>, format: JsonFormat) -> JsonConfig {
        JsonConfig {
            files: files.into(),
            records: records.map(str::to_owned),
            format,
            max_record_size: default_max_record_size(),
        }
    }

    async fn read(config: JsonConfig, name: &str, content: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), name, content.as_bytes());
        summary(&collect(JsonConnector::new(config, dir.path()).pull(None)).await)
    }

    #[tokio::test]
    async fn an_array_yields_its_items() {
        let rows = read(
            config("*.json", None, JsonFormat::Auto),
            "c.json",
            "\u{feff}[{\"id\": 1}, {\"id\": 2}]",
        )
        .await;
        assert_eq!(
            rows,
            [r#"c.json#1 {"id":1}"#, r#"c.json#2 {"id":2}"#, "checkpoint"]
        );
    }

    #[tokio::test]
    async fn an_object_without_records_is_one_record() {
        let rows = read(
            config("*.json", None, JsonFormat::Auto),
            "c.json",
            r#"{"id": 1}"#,
        )
        .await;
        assert_eq!(rows, [r#"c.json#1 {"id":1}"#, "checkpoint"]);
    }

    #[tokio::test]
    async fn erpnext_envelope_records_are_selected_by_jsonpath() {
        let envelope = r#"{"data": [
            {"name": "CUST-0001", "customer_name": "Müller & Söhne", "modified": "2024-03-14 10:15:00.123456"},
            {"name": "CUST-0002", "customer_name": "Alpen Handel", "modified": "2024-03-14 11:00:00.000000"}
        ]}"#;
        let rows = read(
            config("exports/*.json", Some("$.data[*]"), JsonFormat::Auto),
            "exports/customers.json",
            envelope,
        )
        .await;
        assert_eq!(rows.len(), 3);
        assert!(rows[0].starts_with(
            r#"exports/customers.json#1 {"name":"CUST-0001","customer_name":"Müller & Söhne""#
        ));
        assert!(rows[1].starts_with(r#"exports/customers.json#2 {"name":"CUST-0002""#));
    }

    #[tokio::test]
    async fn json_lines_stream_with_line_numbers_and_skip_bad_lines() {
        let rows = read(
            config("*.jsonl", None, JsonFormat::Auto),
            "c.jsonl",
            "{\"id\": 1}\n\n{\"id\": \n{\"id\": 3}\r\n",
        )
        .await;
        assert_eq!(rows[0], r#"c.jsonl:1 {"id":1}"#);
        assert!(
            rows[1].starts_with("error: c.jsonl:3 ") && rows[1].contains("invalid JSON at line 3"),
            "{rows:?}"
        );
        assert_eq!(rows[2..], [r#"c.jsonl:4 {"id":3}"#, "checkpoint"]);
    }

    #[tokio::test]
    async fn lines_format_is_forced_by_config_and_records_apply_per_line() {
        let rows = read(
            config("*.json", Some("$.items[*]"), JsonFormat::Lines),
            "c.json",
            "{\"items\": [{\"a\": 1}, {\"a\": 2}]}\n",
        )
        .await;
        assert_eq!(
            rows,
            [
                r#"c.json:1#1 {"a":1}"#,
                r#"c.json:1#2 {"a":2}"#,
                "checkpoint"
            ]
        );
    }

    #[tokio::test]
    async fn an_invalid_record_is_quarantined_with_its_line_and_the_rest_is_read() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "c.json",
            b"[\n{\"id\": 1},\n{\"id\" 2},\n{\"id\": 3}\n]",
        );
        let items = collect(
            JsonConnector::new(config("*.json", None, JsonFormat::Auto), dir.path()).pull(None),
        )
        .await;
        let rows = summary(&items);
        assert_eq!(rows[0], r#"c.json#1 {"id":1}"#);
        assert!(
            rows[1].starts_with("error: c.json#2 at byte 13")
                && rows[1].contains("invalid JSON at line 3"),
            "{rows:?}"
        );
        assert_eq!(rows[2..], [r#"c.json#3 {"id":3}"#, "checkpoint"]);
        assert!(last_cursor(&items).is_some());
    }

    #[tokio::test]
    async fn a_truncated_array_keeps_every_complete_record_before_the_cut() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[{\"id\": 1, \"name\": \"Müller\"}, {\"id\": 2}, {\"id\": 3, \"na";
        write(dir.path(), "c.json", text.as_bytes());
        let items = collect(
            JsonConnector::new(config("*.json", None, JsonFormat::Auto), dir.path()).pull(None),
        )
        .await;
        let rows = summary(&items);
        assert_eq!(
            rows[..2],
            [
                r#"c.json#1 {"id":1,"name":"Müller"}"#,
                r#"c.json#2 {"id":2}"#
            ]
        );
        assert!(
            rows[2].contains("c.json") && rows[2].contains("file ends inside record #3"),
            "{rows:?}"
        );
        assert!(last_cursor(&items).is_none(), "read again on the next run");
    }

    #[tokio::test]
    async fn numbers_beyond_i64_and_f64_keep_their_text_and_the_file_is_read() {
        let rows = read(
            config("*.json", None, JsonFormat::Auto),
            "c.json",
            r#"[{"id": 1, "account": 123456789012345678901234567890}, {"id": 2, "ratio": 1e400}]"#,
        )
        .await;
        assert_eq!(
            rows,
            [
                r#"c.json#1 {"id":1,"account":"123456789012345678901234567890"}"#,
                r#"c.json#2 {"id":2,"ratio":"1e400"}"#,
                "checkpoint"
            ]
        );
    }

    #[tokio::test]
    async fn a_duplicate_key_quarantines_the_record_naming_the_key() {
        for (name, text) in [
            (
                "c.json",
                "[{\"id\": 1, \"vat\": \"DE1\", \"vat\": \"K-100\"}, {\"id\": 2}]",
            ),
            (
                "c.jsonl",
                "{\"id\": 1, \"vat\": \"DE1\", \"vat\": \"K-100\"}\n{\"id\": 2}\n",
            ),
        ] {
            let rows = read(config(name, None, JsonFormat::Auto), name, text).await;
            assert!(
                rows[0].starts_with("error: ") && rows[0].contains("duplicate key `vat`"),
                "{rows:?}"
            );
            assert!(rows[1].ends_with(r#" {"id":2}"#), "{rows:?}");
        }
    }

    #[tokio::test]
    async fn a_simple_records_path_is_streamed_and_other_keys_are_skipped() {
        let envelope = r#"{"meta": {"data": [{"x": 1}]}, "data": [{"name": "A"}, {"name": "B"}], "next": null}"#;
        let rows = read(
            config("*.json", Some("$['data'][*]"), JsonFormat::Auto),
            "c.json",
            envelope,
        )
        .await;
        assert_eq!(
            rows,
            [
                r#"c.json#1 {"name":"A"}"#,
                r#"c.json#2 {"name":"B"}"#,
                "checkpoint"
            ]
        );
        let nested = read(
            config("*.json", Some("$.result.items[*]"), JsonFormat::Auto),
            "c.json",
            r#"{"result": {"count": 1, "items": [{"n": 1}]}}"#,
        )
        .await;
        assert_eq!(nested, [r#"c.json#1 {"n":1}"#, "checkpoint"]);
    }

    #[tokio::test]
    async fn a_record_over_the_size_limit_is_quarantined_with_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let big = format!("{{\"id\": 2, \"blob\": \"{}\"}}", "x".repeat(5000));
        write(
            dir.path(),
            "c.json",
            format!("[{{\"id\": 1}}, {big}, {{\"id\": 3}}]").as_bytes(),
        );
        write(
            dir.path(),
            "d.jsonl",
            format!("{{\"id\": 1}}\n{big}\n{{\"id\": 3}}\n").as_bytes(),
        );
        for name in ["c.json", "d.jsonl"] {
            let config = JsonConfig {
                max_record_size: 1024,
                ..config(name, None, JsonFormat::Auto)
            };
            let rows = summary(&collect(JsonConnector::new(config, dir.path()).pull(None)).await);
            assert!(rows[0].ends_with(r#" {"id":1}"#), "{rows:?}");
            assert!(
                rows[1].contains(&format!(
                    "record of {} bytes is larger than max_record_size (1024)",
                    big.len()
                )),
                "{rows:?}"
            );
            assert!(rows[2].ends_with(r#" {"id":3}"#), "{rows:?}");
        }
    }

    #[tokio::test]
    async fn a_scalar_document_or_a_bad_jsonpath_is_an_error() {
        for records in [None, Some("$.data[*]")] {
            let rows = read(config("*.json", records, JsonFormat::Auto), "c.json", "42").await;
            assert!(
                rows[0].contains("c.json")
                    && rows[0].contains(
                        "expected an array or an object of records, found the scalar `42`"
                    ),
                "{rows:?}"
            );
        }
        let rows = read(
            config("*.json", Some("$.data[*"), JsonFormat::Auto),
            "c.json",
            "{}",
        )
        .await;
        assert!(
            rows[0].contains("`records` JSONPath `$.data[*` is invalid"),
            "{rows:?}"
        );
    }

    #[test]
    fn config_parses_with_defaults() {
        let config: JsonConfig =
            serde_yaml::from_str("files: exports/customers.json\nrecords: \"$.data[*]\"").unwrap();
        assert_eq!(config.format, JsonFormat::Auto);
        let lines: JsonConfig = serde_yaml::from_str("files: x\nformat: lines").unwrap();
        assert_eq!(lines.format, JsonFormat::Lines);
        assert!(serde_yaml::from_str::<JsonConfig>("files: x\nformat: xml").is_err());
    }
}
