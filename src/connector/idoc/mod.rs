//! The `idoc` driver: SAP IDoc XML files as SAP's file port writes them.
//!
//! The root element is the basic type (`DEBMAS07`, `ORDERS05`, ...) or an extension
//! (`_-ACME_-DEBMAS07EXT`, `_-` standing for `/`); any root is accepted. Each `<IDOC>` child of
//! the root is one record, whose payload is the IDoc's JSON by the XML → JSON rule of
//! [`xml_json`](super::xml_json): `{"@BEGIN": "1", "EDI_DC40": {...}, "E1KNA1M": {...}}`. A file
//! whose root is itself an `<IDOC>` is read as one IDoc.
//!
//! Files are streamed: only the IDoc being read is held in memory, so a file of any size reads in
//! constant memory. The encoding named in the XML declaration is honoured (SAP often writes
//! ISO-8859-1); UTF-16 is recognised by its byte order mark.
//!
//! Security: no DTD is processed and no external entity is ever resolved. A `<!DOCTYPE>` is
//! skipped unread, so entities it declares are not expanded: a reference to one is an error, as
//! is any entity but the five predefined ones and character references.

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use encoding_rs::Encoding;
use futures::stream::BoxStream;
use quick_xml::Reader;
use quick_xml::encoding::{DecodingReader, DetectedEncoding, detect_encoding};
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};

use super::files::{ReadStop, RecordSink, SourceFile, pull_files};
use super::xml_json::XmlJsonBuilder;
use super::{Connector, ConnectorError, Cursor, PullResult};

/// Bytes read from the file at a time.
const READ_BUFFER: usize = 256 * 1024;

/// Settings of the `idoc` driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdocConfig {
    /// File path or glob, relative to the config file.
    pub files: String,
}

/// The `idoc` driver.
pub struct IdocConnector {
    config: IdocConfig,
    base: PathBuf,
}

impl IdocConnector {
    /// `base` is the config file's folder, against which `files` resolves.
    pub fn new(config: IdocConfig, base: &Path) -> Self {
        Self {
            config,
            base: base.to_path_buf(),
        }
    }
}

impl Connector for IdocConnector {
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult> {
        pull_files(
            self.config.files.clone(),
            self.base.clone(),
            since,
            read_idoc_file,
        )
    }
}

/// Reads every IDoc of one file into the sink, in file order; `origin` is `<file>#<n>`.
///
/// A malformed or truncated file fails with [`ConnectorError::Malformed`] at the byte offset of
/// the fault, after the IDocs before it. In a file not in UTF-8 the offset counts the bytes of
/// the text decoded to UTF-8, so it can lie a little past the raw byte.
pub fn read_idoc_file(file: &SourceFile, sink: &mut RecordSink) -> Result<(), ReadStop> {
    let opened = File::open(&file.path).map_err(|source| file.io_error(source))?;
    let mut input = BufReader::with_capacity(READ_BUFFER, opened);
    let head = input.fill_buf().map_err(|source| file.io_error(source))?;
    match input_encoding(head).map_err(|message| malformed(file, 0, message))? {
        None => read_idocs(Reader::from_reader(input), file, sink),
        Some(encoding) => {
            let mut decoding = DecodingReader::new(input);
            decoding.set_encoding(encoding);
            read_idocs(Reader::from_reader(decoding), file, sink)
        }
    }
}

/// The encoding to decode the file from, or `None` for UTF-8 (read without transcoding).
/// Found from the byte order mark, else from the XML declaration at the start of the file.
fn input_encoding(head: &[u8]) -> Result<Option<&'static Encoding>, String> {
    match detect_encoding(head) {
        Some(DetectedEncoding::Utf16LeBom | DetectedEncoding::Utf16LeLike) => {
            return Ok(Some(encoding_rs::UTF_16LE));
        }
        Some(DetectedEncoding::Utf16BeBom | DetectedEncoding::Utf16BeLike) => {
            return Ok(Some(encoding_rs::UTF_16BE));
        }
        _ => {}
    }
    let mut reader = Reader::from_reader(head);
    let Ok(Event::Decl(declaration)) = reader.read_event() else {
        return Ok(None);
    };
    let label = match declaration.encoding() {
        None => return Ok(None),
        Some(Ok(label)) => label,
        Some(Err(error)) => return Err(format!("unreadable XML declaration: {error}")),
    };
    match Encoding::for_label(label.trim().as_bytes()) {
        Some(encoding) if encoding == encoding_rs::UTF_8 => Ok(None),
        Some(encoding) if encoding.is_ascii_compatible() => Ok(Some(encoding)),
        Some(encoding) => Err(format!(
            "the XML declaration names {} but the file is not written in it",
            encoding.name()
        )),
        None => Err(format!("unknown encoding `{label}` in the XML declaration")),
    }
}

/// Where the reader is, outside the IDoc being built.
struct Progress {
    /// Elements open outside any IDoc: the root, usually.
    open: usize,
    root_seen: bool,
    idocs: u64,
}

fn read_idocs<R: BufRead>(
    mut reader: Reader<R>,
    file: &SourceFile,
    sink: &mut RecordSink,
) -> Result<(), ReadStop> {
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut builder = XmlJsonBuilder::new();
    let mut progress = Progress {
        open: 0,
        root_seen: false,
        idocs: 0,
    };
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(quick_xml::Error::Io(error)) => {
                let source = std::io::Error::new(error.kind(), error.to_string());
                return Err(file.io_error(source));
            }
            Err(error) => {
                let message = if builder.is_building() {
                    format!("in IDoc #{}: {error}", progress.idocs + 1)
                } else {
                    error.to_string()
                };
                return Err(malformed(file, reader.error_position(), message));
            }
        };
        let idoc = match &event {
            Event::Eof => return finish(&progress, &builder, file, reader.buffer_position()),
            _ if builder.is_building() => builder.feed(&event),
            Event::Start(start) | Event::Empty(start) if is_idoc(start, &progress) => {
                progress.root_seen = true;
                builder.feed(&event)
            }
            Event::Start(_) => {
                progress.open += 1;
                progress.root_seen = true;
                Ok(None)
            }
            Event::Empty(_) => {
                progress.root_seen = true;
                Ok(None)
            }
            Event::End(_) => {
                progress.open = progress.open.saturating_sub(1);
                Ok(None)
            }
            _ => Ok(None),
        };
        match idoc {
            Ok(Some(idoc)) => {
                progress.idocs += 1;
                sink.record(format!("{}#{}", file.name, progress.idocs), idoc.value)?;
            }
            Ok(None) => {}
            Err(error) => {
                let message = format!("in IDoc #{}: {error}", progress.idocs + 1);
                return Err(malformed(file, reader.buffer_position(), message));
            }
        }
        buf.clear();
    }
}

/// An `<IDOC>` directly under the root, or the root itself.
fn is_idoc(start: &BytesStart<'_>, progress: &Progress) -> bool {
    progress.open <= 1 && start.name().0 == "IDOC"
}

fn finish(
    progress: &Progress,
    builder: &XmlJsonBuilder,
    file: &SourceFile,
    offset: u64,
) -> Result<(), ReadStop> {
    if builder.is_building() {
        let message = format!("file ends inside IDoc #{} (truncated?)", progress.idocs + 1);
        return Err(malformed(file, offset, message));
    }
    if progress.open > 0 {
        return Err(malformed(
            file,
            offset,
            "file ends before the root element is closed (truncated?)".to_owned(),
        ));
    }
    if !progress.root_seen {
        return Err(malformed(file, offset, "no root element".to_owned()));
    }
    Ok(())
}

fn malformed(file: &SourceFile, offset: u64, message: String) -> ReadStop {
    ReadStop::Failed(ConnectorError::Malformed {
        path: file.path.clone(),
        offset,
        message,
    })
}
