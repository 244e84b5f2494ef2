//! The `csv` driver: delimited text files with a header row.
//!
//! Each row becomes a JSON object keyed by the header names (trimmed), every value a string as
//! written (an empty cell is `""`); `origin` is `<file>:<line>`. A row with the wrong number of
//! cells or invalid UTF-8 is reported and skipped; the rows after it are read. Files in another
//! encoding than UTF-8 (German Excel exports are Windows-1252) are decoded by `encoding:`; a
//! byte order mark, UTF-8 or UTF-16, is honoured and stripped. In a drop folder, a file with a row
//! that could not be read or failed its mapping goes to `rejected` once its good rows are stored,
//! not to `archive`. A line longer than the source's `max_record_size` is quarantined with its
//! size, never loaded whole, and the rows after it are read.

mod line_cap;

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use encoding_rs::Encoding;
use futures::stream::BoxStream;
use quick_xml::encoding::DecodingReader;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use self::line_cap::{LineCap, line_too_long};
use super::files::{
    FileCursor, FileStamp, ReadStop, RecordSink, SourceFile, Start, default_max_record_size,
    pull_drop_files, pull_files,
};
use super::{Connector, ConnectorError, Cursor, PullResult};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Settings of the `csv` driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    /// File path or glob, relative to the config file.
    pub files: String,
    /// Field separator, one ASCII character (`,`, `;`, `\t`, `|`).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Quote character, one ASCII character; a quote inside a quoted cell is written twice.
    #[serde(default = "default_quote")]
    pub quote: char,
    /// The files' character encoding, by its WHATWG label: `windows-1252`, `iso-8859-1`,
    /// `iso-8859-15`, `utf-16` (with a byte order mark; little-endian without one), ... Unset:
    /// UTF-8.
    #[serde(default)]
    pub encoding: Option<String>,
    /// A drop folder, relative to the config file: `files` is matched inside it, and each file
    /// is moved out once the batch holding its last record is committed — to `archive`, or to
    /// `rejected` when it could not be read (its error is in the quarantine). Unset: files stay.
    #[serde(default)]
    pub folder: Option<String>,
    /// Where a drop folder's processed files go, relative to the folder.
    #[serde(default = "default_archive")]
    pub archive: String,
    /// Where a drop folder's unreadable files go, relative to the folder.
    #[serde(default = "default_rejected")]
    pub rejected: String,
    /// The source's `max_record_size`, handed over when the config is loaded: the longest line
    /// read.
    #[serde(skip, default = "default_max_record_size")]
    pub max_record_size: u64,
}

fn default_archive() -> String {
    "archive".into()
}

fn default_rejected() -> String {
    "rejected".into()
}

fn default_delimiter() -> char {
    ','
}

fn default_quote() -> char {
    '"'
}

/// The `csv` driver.
pub struct CsvConnector {
    config: CsvConfig,
    base: PathBuf,
    /// Drop-folder files (by name) with a record in the quarantine this run: rejected, not
    /// archived, once committed.
    quarantined_files: Mutex<HashSet<String>>,
}

impl CsvConnector {
    /// `base` is the config file's folder, against which `files` resolves.
    pub fn new(config: CsvConfig, base: &Path) -> Self {
        Self {
            config,
            base: base.to_path_buf(),
            quarantined_files: Mutex::new(HashSet::new()),
        }
    }
}

impl CsvConnector {
    /// Streams the files' records from `start`; both ways of pulling come here.
    fn read(&self, start: Start) -> BoxStream<'static, PullResult> {
        let config = self.config.clone();
        let read =
            move |file: &SourceFile, sink: &mut RecordSink| read_csv_file(&config, file, sink);
        match &self.config.folder {
            Some(folder) => {
                let pattern = format!("{}/{}", folder.trim_end_matches('/'), self.config.files);
                pull_drop_files(pattern, self.base.clone(), start, read)
            }
            None => pull_files(self.config.files.clone(), self.base.clone(), start, read),
        }
    }
}

impl Connector for CsvConnector {
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult> {
        self.read(Start::After(since))
    }

    fn pull_full(&self, known: Option<Cursor>) -> BoxStream<'static, PullResult> {
        self.read(Start::Verify(known))
    }

    /// Moves a drop folder's stored files to `archive` and its rejected ones to `rejected`.
    fn committed(&self, cursor: &Cursor) {
        let Some(folder) = &self.config.folder else {
            return;
        };
        let folder = self.base.join(folder);
        let cursor = FileCursor::from_cursor(Some(cursor.clone()));
        let quarantined = self
            .quarantined_files
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for (name, stamp) in &cursor.files {
            let target = if quarantined.contains(name) {
                &self.config.rejected
            } else {
                &self.config.archive
            };
            move_out(&self.base.join(name), stamp, &folder.join(target));
        }
        for (name, stamp) in &cursor.rejected {
            move_out(
                &self.base.join(name),
                stamp,
                &folder.join(&self.config.rejected),
            );
        }
    }

    /// A row of a drop-folder file failed its mapping: the file is rejected, not archived.
    fn record_quarantined(&self, origin: &str) {
        if self.config.folder.is_none() {
            return;
        }
        if let Some((name, _line)) = origin.rsplit_once(':') {
            self.quarantined_files
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name.to_owned());
        }
    }
}

/// Moves a processed file into `target`, unless it is gone (moved on an earlier commit) or has
/// changed since it was read (then the next run reads it again). A name already taken in
/// `target` gets a number, so an earlier file of the same name is never overwritten.
fn move_out(path: &Path, stamp: &FileStamp, target: &Path) {
    let Ok(metadata) = std::fs::metadata(path) else {
        return;
    };
    if !FileStamp::of(&metadata).same_size_and_time(stamp) {
        return;
    }
    let (Some(stem), Some(name)) = (path.file_stem(), path.file_name()) else {
        return;
    };
    let extension = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()));
    let moved = std::fs::create_dir_all(target).and_then(|()| {
        let mut destination = target.join(name);
        let mut n = 1;
        while destination.exists() {
            let numbered = format!(
                "{}.{n}{}",
                stem.to_string_lossy(),
                extension.as_deref().unwrap_or("")
            );
            destination = target.join(numbered);
            n += 1;
        }
        std::fs::rename(path, &destination).map(|()| destination)
    });
    match moved {
        Ok(destination) => tracing::info!(
            file = %path.display(),
            to = %destination.display(),
            "processed file moved out of the drop folder"
        ),
        Err(error) => tracing::warn!(
            file = %path.display(),
            to = %target.display(),
            %error,
            "could not move a processed file out of the drop folder; it is tried again after the next commit"
        ),
    }
}

/// Reads every row of one file into the sink.
fn read_csv_file(
    config: &CsvConfig,
    file: &SourceFile,
    sink: &mut RecordSink,
) -> Result<(), ReadStop> {
    let delimiter = ascii_byte(config.delimiter, "delimiter", file)?;
    let quote = ascii_byte(config.quote, "quote", file)?;
    let encoding = file_encoding(config.encoding.as_deref(), file)?;
    let opened = File::open(&file.path).map_err(|source| file.io_error(source))?;
    let mut input = BufReader::with_capacity(64 * 1024, opened);
    match encoding {
        None => {
            if input
                .fill_buf()
                .map_err(|source| file.io_error(source))?
                .starts_with(UTF8_BOM)
            {
                input.consume(UTF8_BOM.len());
            }
            let input = LineCap::new(input, config.max_record_size);
            read_rows(input, (delimiter, quote), file, sink)
        }
        Some(encoding) => {
            let mut decoding = DecodingReader::new(input);
            decoding.set_encoding(encoding);
            let input = LineCap::new(decoding, config.max_record_size);
            read_rows(input, (delimiter, quote), file, sink)
        }
    }
}

/// The encoding `label` names, or `None` for UTF-8 (read as it is).
fn file_encoding(
    label: Option<&str>,
    file: &SourceFile,
) -> Result<Option<&'static Encoding>, ReadStop> {
    let Some(label) = label else {
        return Ok(None);
    };
    match Encoding::for_label(label.trim().as_bytes()) {
        Some(encoding) if encoding == encoding_rs::UTF_8 => Ok(None),
        Some(encoding) => Ok(Some(encoding)),
        None => Err(ReadStop::Failed(ConnectorError::Malformed {
            path: file.path.clone(),
            offset: 0,
            message: format!(
                "unknown csv encoding `{label}` (use a label such as windows-1252, iso-8859-15 or utf-16)"
            ),
        })),
    }
}

/// Reads the rows of decoded UTF-8 input into the sink. A line over the limit ends the parser
/// that met it; a fresh one goes on after that line.
fn read_rows<R: BufRead>(
    mut input: LineCap<R>,
    (delimiter, quote): (u8, u8),
    file: &SourceFile,
    sink: &mut RecordSink,
) -> Result<(), ReadStop> {
    let mut builder = csv::ReaderBuilder::new();
    builder
        .delimiter(delimiter)
        .quote(quote)
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'));

    let mut row = csv::ByteRecord::new();
    let names = {
        let mut reader = builder.from_reader(&mut input);
        let Some(header) = read_row(&mut reader, &mut row, file, 0)? else {
            return Ok(());
        };
        header_names(&row, header, file)?
    };
    if let [only] = names.as_slice()
        && let Some(separator) = [';', '\t', '|'].into_iter().find(|c| only.contains(*c))
    {
        tracing::warn!(
            file = %file.path.display(),
            header = only.as_str(),
            "the header has one column holding {separator:?}: set `delimiter: {separator:?}` on the source?"
        );
    }
    loop {
        let lines_before = input.lines_read();
        let mut reader = builder.from_reader(&mut input);
        match read_body(&mut reader, &names, &mut row, file, sink, lines_before) {
            Ok(()) => return Ok(()),
            Err(RowsStop::LineTooLong { line, size }) => {
                drop(reader);
                let limit = input.limit();
                sink.skip(ConnectorError::BadRecord {
                    path: file.path.clone(),
                    origin: format!("{}:{line}", file.name),
                    offset: 0,
                    key: None,
                    message: format!(
                        "line of {size} bytes is larger than max_record_size ({limit}); quarantined unread"
                    ),
                    payload: None,
                })?;
            }
            Err(RowsStop::Read(stop)) => return Err(stop),
        }
    }
}

/// Why reading rows with one parser stopped before the end of the file.
enum RowsStop {
    /// A line over the limit was read past: a new parser goes on after it.
    LineTooLong {
        line: u64,
        size: u64,
    },
    Read(ReadStop),
}

impl From<ReadStop> for RowsStop {
    fn from(stop: ReadStop) -> Self {
        RowsStop::Read(stop)
    }
}

/// Reads data rows into the sink until the end of the file or a line over the limit.
fn read_body<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
    names: &[String],
    row: &mut csv::ByteRecord,
    file: &SourceFile,
    sink: &mut RecordSink,
    lines_before: u64,
) -> Result<(), RowsStop> {
    loop {
        let line = match reader.read_byte_record(row) {
            Ok(true) => lines_before + first_line(row, reader.position()),
            Ok(false) => return Ok(()),
            Err(error) => {
                if let csv::ErrorKind::Io(io) = error.kind()
                    && let Some(long) = line_too_long(io)
                {
                    return Err(RowsStop::LineTooLong {
                        line: long.line,
                        size: long.size,
                    });
                }
                return Err(RowsStop::Read(read_failure(
                    reader,
                    &error,
                    file,
                    lines_before,
                )));
            }
        };
        if row.len() == 1 && cells(row).all(<[u8]>::is_empty) {
            continue;
        }
        if row.len() != names.len() {
            sink.skip(bad_line(
                file,
                line,
                format!(
                    "{} cells where the header has {} columns; row skipped",
                    row.len(),
                    names.len()
                ),
            ))?;
            continue;
        }
        match row_to_json(names, row) {
            Ok(object) => sink.record(format!("{}:{line}", file.name), object)?,
            Err(column) => sink.skip(bad_line(
                file,
                line,
                format!("column `{column}` is not valid UTF-8; row skipped"),
            ))?,
        }
    }
}

/// The cells of a row. Rows end at `\n` (so that csv's line numbers stay right in files with
/// `\r\n` line ends), and the `\r` of a `\r\n` is cut from the last cell here.
fn cells(row: &csv::ByteRecord) -> impl Iterator<Item = &[u8]> {
    let last = row.len().saturating_sub(1);
    row.iter().enumerate().map(move |(i, cell)| match cell {
        [rest @ .., b'\r'] if i == last => rest,
        _ => cell,
    })
}

/// Reads the next row; returns its line number, or `None` at the end of the file.
fn read_row<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
    row: &mut csv::ByteRecord,
    file: &SourceFile,
    lines_before: u64,
) -> Result<Option<u64>, ReadStop> {
    match reader.read_byte_record(row) {
        Ok(true) => Ok(Some(lines_before + first_line(row, reader.position()))),
        Ok(false) => Ok(None),
        Err(error) => Err(read_failure(reader, &error, file, lines_before)),
    }
}

/// The error that stops a file the parser cannot read on (a line over the limit in the header
/// among them).
fn read_failure<R: std::io::Read>(
    reader: &csv::Reader<R>,
    error: &csv::Error,
    file: &SourceFile,
    lines_before: u64,
) -> ReadStop {
    if let csv::ErrorKind::Io(io) = error.kind()
        && let Some(long) = line_too_long(io)
    {
        let message = format!("line of {} bytes is larger than max_record_size", long.size);
        return ReadStop::Failed(bad_line(file, long.line, message));
    }
    let line = error
        .position()
        .map_or_else(|| reader.position().line(), csv::Position::line);
    ReadStop::Failed(bad_line(file, lines_before + line, error.to_string()))
}

/// The line a row starts on. csv reports where the blank lines before a row start, so the line
/// is counted back from the row's end instead: the `\n` ending it and those inside its cells.
/// Only a last row without a final `\n` after blank lines is then one line early.
fn first_line(row: &csv::ByteRecord, end: &csv::Position) -> u64 {
    let inner_newlines = row.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
    let counted_back = end.line().saturating_sub(1 + inner_newlines);
    let start = row.position().map_or(0, csv::Position::line);
    counted_back.max(start)
}

fn header_names(
    row: &csv::ByteRecord,
    line: u64,
    file: &SourceFile,
) -> Result<Vec<String>, ReadStop> {
    let mut names: Vec<String> = Vec::with_capacity(row.len());
    for cell in cells(row) {
        let name = std::str::from_utf8(cell)
            .map_err(|_| {
                ReadStop::Failed(bad_line(file, line, "header is not valid UTF-8".into()))
            })?
            .trim()
            .to_owned();
        if names.contains(&name) {
            let message = format!("column `{name}` appears twice in the header");
            return Err(ReadStop::Failed(bad_line(file, line, message)));
        }
        names.push(name);
    }
    Ok(names)
}

/// The row as an object; on invalid UTF-8, the name of the column holding it.
fn row_to_json<'n>(names: &'n [String], row: &csv::ByteRecord) -> Result<Value, &'n str> {
    let mut object = Map::with_capacity(names.len());
    for (name, cell) in names.iter().zip(cells(row)) {
        let text = std::str::from_utf8(cell).map_err(|_| name.as_str())?;
        object.insert(name.clone(), Value::String(text.to_owned()));
    }
    Ok(Value::Object(object))
}

fn ascii_byte(ch: char, setting: &str, file: &SourceFile) -> Result<u8, ReadStop> {
    u8::try_from(ch).ok().filter(u8::is_ascii).ok_or_else(|| {
        ReadStop::Failed(ConnectorError::Malformed {
            path: file.path.clone(),
            offset: 0,
            message: format!("the csv {setting} `{ch}` must be one ASCII character"),
        })
    })
}

fn bad_line(file: &SourceFile, line: u64, message: String) -> ConnectorError {
    ConnectorError::BadLine {
        path: file.path.clone(),
        line,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::Pulled;
    use crate::connector::files::tests::{collect, last_cursor, summary, write};

    fn config(delimiter: char) -> CsvConfig {
        CsvConfig {
            files: "*.csv".into(),
            delimiter,
            quote: '"',
            encoding: None,
            folder: None,
            archive: default_archive(),
            rejected: default_rejected(),
            max_record_size: default_max_record_size(),
        }
    }

    async fn read(config: CsvConfig, content: &[u8]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "c.csv", content);
        let items = collect(CsvConnector::new(config, dir.path()).pull(None)).await;
        summary(&items)
    }

    #[tokio::test]
    async fn a_line_over_max_record_size_is_reported_with_its_size_and_the_next_rows_are_read() {
        let long = "x".repeat(300);
        let content = format!("k,name\n1,Anna\n2,{long}\n3,Bert\n\n4,\"Carl\"\n");
        let config = CsvConfig {
            max_record_size: 64,
            ..config(',')
        };
        let rows = read(config, content.as_bytes()).await;
        assert_eq!(
            rows,
            vec![
                r#"c.csv:2 {"k":"1","name":"Anna"}"#.to_owned(),
                format!(
                    "error: c.csv:3 at byte 0: line of {} bytes is larger than max_record_size (64); quarantined unread",
                    2 + long.len()
                ),
                r#"c.csv:4 {"k":"3","name":"Bert"}"#.to_owned(),
                r#"c.csv:6 {"k":"4","name":"Carl"}"#.to_owned(),
                "checkpoint".to_owned(),
            ]
        );
    }

    #[tokio::test]
    async fn rows_become_objects_of_strings_keyed_by_trimmed_headers() {
        let rows = read(
            config(','),
            b" id , name ,city\n001,\"Smith, John\",\n002,\"Say \"\"hi\"\"\",Berlin\n",
        )
        .await;
        assert_eq!(
            rows,
            [
                r#"c.csv:2 {"id":"001","name":"Smith, John","city":""}"#,
                r#"c.csv:3 {"id":"002","name":"Say \"hi\"","city":"Berlin"}"#,
                "checkpoint"
            ]
        );
    }

    #[tokio::test]
    async fn delimiter_and_quote_come_from_the_config_and_a_bom_is_stripped() {
        let config = CsvConfig {
            delimiter: ';',
            quote: '\'',
            ..config(',')
        };
        let rows = read(
            config,
            "\u{feff}Kunde;Name\r\n1;'Müller; Söhne'\r\n".as_bytes(),
        )
        .await;
        assert_eq!(
            rows,
            [
                r#"c.csv:2 {"Kunde":"1","Name":"Müller; Söhne"}"#,
                "checkpoint"
            ]
        );
    }

    #[tokio::test]
    async fn windows_1252_and_utf16_files_are_decoded_by_the_encoding_setting() {
        let latin = CsvConfig {
            delimiter: ';',
            encoding: Some("windows-1252".into()),
            ..config(',')
        };
        let rows = read(
            latin.clone(),
            b"Kunde;Stra\xdfe\r\n1;M\xfcllerstra\xdfe 5 \x80\r\n",
        )
        .await;
        assert_eq!(
            rows,
            [
                r#"c.csv:2 {"Kunde":"1","Straße":"Müllerstraße 5 €"}"#,
                "checkpoint"
            ]
        );
        let iso = CsvConfig {
            encoding: Some("ISO-8859-15".into()),
            ..latin.clone()
        };
        let rows = read(iso, b"Kunde;Ort\n2;K\xf6ln \xa4\n").await;
        assert_eq!(rows[0], r#"c.csv:2 {"Kunde":"2","Ort":"Köln €"}"#);

        let mut utf16 = vec![0xff, 0xfe];
        for unit in "Kunde;Name\r\n3;Zoë Ærø\r\n".encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        let wide = CsvConfig {
            encoding: Some("utf-16".into()),
            ..latin.clone()
        };
        let rows = read(wide, &utf16).await;
        assert_eq!(rows[0], r#"c.csv:2 {"Kunde":"3","Name":"Zoë Ærø"}"#);

        let unknown = CsvConfig {
            encoding: Some("ebcdic-fantasy".into()),
            ..latin
        };
        let rows = read(unknown, b"a\n1\n").await;
        assert!(
            rows[0].contains("unknown csv encoding `ebcdic-fantasy`"),
            "{rows:?}"
        );
    }

    #[tokio::test]
    async fn a_row_with_the_wrong_cell_count_is_reported_and_the_next_rows_read() {
        let rows = read(config(','), b"a,b\n1,2\n3\n4,5,6\n7,8\n").await;
        assert_eq!(rows[0], r#"c.csv:2 {"a":"1","b":"2"}"#);
        assert!(
            rows[1].starts_with("error: ") && rows[1].contains("c.csv:3: 1 cells"),
            "{rows:?}"
        );
        assert!(rows[2].contains("c.csv:4: 3 cells"), "{rows:?}");
        assert_eq!(rows[3..], [r#"c.csv:5 {"a":"7","b":"8"}"#, "checkpoint"]);
    }

    #[tokio::test]
    async fn multi_line_cells_and_blank_lines_keep_the_line_numbers_right() {
        let rows = read(config(','), b"a,b\n1,\"x\ny\"\n\n2,z\n").await;
        assert_eq!(
            rows,
            [
                r#"c.csv:2 {"a":"1","b":"x\ny"}"#,
                r#"c.csv:5 {"a":"2","b":"z"}"#,
                "checkpoint"
            ]
        );
        let rows = read(config(','), b"a,b\r\n1,\"x\r\ny\"\r\n\r\n2,\"z\"\r\n").await;
        assert_eq!(
            rows,
            [
                r#"c.csv:2 {"a":"1","b":"x\r\ny"}"#,
                r#"c.csv:5 {"a":"2","b":"z"}"#,
                "checkpoint"
            ]
        );
    }

    #[tokio::test]
    async fn invalid_utf8_spoils_only_its_row() {
        let rows = read(config(','), b"a,b\n1,K\xf6ln\n2,Bonn\n").await;
        assert!(
            rows[0].contains("c.csv:2: column `b` is not valid UTF-8"),
            "{rows:?}"
        );
        assert_eq!(rows[1..], [r#"c.csv:3 {"a":"2","b":"Bonn"}"#, "checkpoint"]);
    }

    #[tokio::test]
    async fn a_duplicate_header_fails_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "c.csv", b"a, a\n1,2\n");
        let items = collect(CsvConnector::new(config(','), dir.path()).pull(None)).await;
        assert_eq!(items.len(), 1);
        assert!(summary(&items)[0].contains("c.csv:1: column `a` appears twice"));
        assert!(last_cursor(&items).is_none());
    }

    #[tokio::test]
    async fn an_empty_file_has_no_rows_and_is_done() {
        let rows = read(config(','), b"").await;
        assert_eq!(rows, ["checkpoint"]);
        let rows = read(config(','), b"a,b\n").await;
        assert_eq!(rows, ["checkpoint"]);
    }

    #[tokio::test]
    async fn a_non_ascii_delimiter_is_refused() {
        let rows = read(config('§'), b"a\n1\n").await;
        assert!(rows[0].contains("delimiter `§`"), "{rows:?}");
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let config: CsvConfig = serde_yaml::from_str("files: in/*.csv").unwrap();
        assert_eq!((config.delimiter, config.quote), (',', '"'));
        assert!(serde_yaml::from_str::<CsvConfig>("files: x\nseparator: ';'").is_err());
    }

    #[tokio::test]
    async fn a_drop_folder_moves_files_out_only_when_told_their_batch_is_committed() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "drop/a.csv", b"k\nv\n");
        write(dir.path(), "drop/b.csv", b"k,k\n1,2\n");
        write(dir.path(), "drop/archive/a.csv", b"k\nan earlier a.csv\n");
        let config = CsvConfig {
            folder: Some("drop".into()),
            ..config(',')
        };
        let connector = CsvConnector::new(config, dir.path());
        let items = collect(connector.pull(None)).await;
        assert_eq!(summary(&items)[0], r#"drop/a.csv:2 {"k":"v"}"#);
        assert!(
            dir.path().join("drop/a.csv").exists(),
            "nothing moves before the commit"
        );

        connector.committed(&last_cursor(&items).unwrap());
        let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
        assert!(!dir.path().join("drop/a.csv").exists());
        assert_eq!(read("drop/archive/a.1.csv"), "k\nv\n");
        assert_eq!(read("drop/archive/a.csv"), "k\nan earlier a.csv\n");
        assert_eq!(read("drop/rejected/b.csv"), "k,k\n1,2\n");
        assert!(
            collect(connector.pull(last_cursor(&items)))
                .await
                .iter()
                .all(|i| i.is_ok())
        );
    }

    #[tokio::test]
    async fn records_are_raw_records_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "c.csv", b"k\nv\n");
        let items = collect(CsvConnector::new(config(','), dir.path()).pull(None)).await;
        let Ok(Pulled::Record(record)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(record.origin, "c.csv:2");
        assert_eq!(record.payload, serde_json::json!({"k": "v"}));
    }
}
