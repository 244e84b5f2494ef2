//! The `json` driver: JSON documents and JSON lines.
//!
//! A document is read whole: an array yields its items, an object yields the values `records`
//! selects (the whole object when unset); `origin` is `<file>#<n>`. JSON lines are streamed line
//! by line in constant memory, one record per line (or the line's values `records` selects);
//! `origin` is `<file>:<line>`, and a bad line is reported and skipped.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use futures::stream::BoxStream;
use jsonpath_rust::JsonPath;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::files::{ReadStop, RecordSink, SourceFile, pull_files};
use super::{Connector, ConnectorError, Cursor, PullResult};

/// Settings of the `json` driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// How a JSON file holds its records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

impl Connector for JsonConnector {
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult> {
        let config = self.config.clone();
        pull_files(
            self.config.files.clone(),
            self.base.clone(),
            since,
            move |file, sink| {
                if is_lines(config.format, &file.path) {
                    read_lines(config.records.as_deref(), file, sink)
                } else {
                    read_document(config.records.as_deref(), file, sink)
                }
            },
        )
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

/// Reads one file as one JSON document.
fn read_document(
    records: Option<&str>,
    file: &SourceFile,
    sink: &mut RecordSink,
) -> Result<(), ReadStop> {
    let mut bytes = Vec::new();
    File::open(&file.path)
        .and_then(|mut opened| opened.read_to_end(&mut bytes))
        .map_err(|source| file.io_error(source))?;
    let document: Value = serde_json::from_slice(strip_bom(&bytes)).map_err(|error| {
        ReadStop::Failed(ConnectorError::BadLine {
            path: file.path.clone(),
            line: error.line() as u64,
            message: format!("invalid JSON at column {}: {error}", error.column()),
        })
    })?;
    drop(bytes);
    let items = match (records, document) {
        (Some(path), document) => select(path, &document, file, 1)?,
        (None, Value::Array(items)) => items,
        (None, object @ Value::Object(_)) => vec![object],
        (None, other) => {
            return Err(ReadStop::Failed(ConnectorError::Malformed {
                path: file.path.clone(),
                offset: 0,
                message: format!("expected an array or an object of records, found {other}"),
            }));
        }
    };
    for (n, item) in items.into_iter().enumerate() {
        sink.record(format!("{}#{}", file.name, n + 1), item)?;
    }
    Ok(())
}

/// Reads one file as JSON lines; blank lines are skipped.
fn read_lines(
    records: Option<&str>,
    file: &SourceFile,
    sink: &mut RecordSink,
) -> Result<(), ReadStop> {
    let opened = File::open(&file.path).map_err(|source| file.io_error(source))?;
    let mut input = BufReader::with_capacity(64 * 1024, opened);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = input
            .read_until(b'\n', &mut line)
            .map_err(|source| file.io_error(source))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        let text = if number == 1 { strip_bom(&line) } else { &line };
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: Value = match serde_json::from_slice(text) {
            Ok(value) => value,
            Err(error) => {
                sink.skip(ConnectorError::BadLine {
                    path: file.path.clone(),
                    line: number,
                    message: format!("invalid JSON at column {}: {error}", error.column()),
                })?;
                continue;
            }
        };
        let origin = format!("{}:{number}", file.name);
        match records {
            None => sink.record(origin, value)?,
            Some(path) => {
                for (n, item) in select(path, &value, file, number)?.into_iter().enumerate() {
                    sink.record(format!("{origin}#{}", n + 1), item)?;
                }
            }
        }
    }
}

/// The values `path` selects in `document`.
fn select(
    path: &str,
    document: &Value,
    file: &SourceFile,
    line: u64,
) -> Result<Vec<Value>, ReadStop> {
    match document.query(path) {
        Ok(found) => Ok(found.into_iter().cloned().collect()),
        Err(error) => Err(ReadStop::Failed(ConnectorError::BadLine {
            path: file.path.clone(),
            line,
            message: format!("the `records` JSONPath `{path}` is invalid: {error}"),
        })),
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
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
            rows[1].starts_with("error: ") && rows[1].contains("c.jsonl:3: invalid JSON"),
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
    async fn invalid_json_fails_the_file_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "c.json", b"[\n{\"id\": 1},\n{\"id\" 2}\n]");
        let items = collect(
            JsonConnector::new(config("*.json", None, JsonFormat::Auto), dir.path()).pull(None),
        )
        .await;
        let rows = summary(&items);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].contains("c.json:3: invalid JSON"), "{rows:?}");
        assert!(last_cursor(&items).is_none());
    }

    #[tokio::test]
    async fn a_scalar_document_or_a_bad_jsonpath_is_an_error() {
        let rows = read(config("*.json", None, JsonFormat::Auto), "c.json", "42").await;
        assert!(
            rows[0].contains("expected an array or an object"),
            "{rows:?}"
        );
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
