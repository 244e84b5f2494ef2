//! The `idoc` driver: SAP IDoc XML files as SAP's file port writes them.
//!
//! The root element is the basic type (`DEBMAS07`, `ORDERS05`, ...) or an extension
//! (`_-ACME_-DEBMAS07EXT`, `_-` standing for `/`); any root is accepted. Each `<IDOC>` child of
//! the root is one record, whose payload is the IDoc's JSON by the XML → JSON rule of
//! [`xml_json`](super::xml_json): `{"@BEGIN": "1", "EDI_DC40": {...}, "E1KNA1M": {...}}`. A file
//! whose root is itself an `<IDOC>` is read as one IDoc.
//!
//! Files are streamed: only the IDocs being read are held in memory, so a file of any size reads
//! in constant memory. The reading thread only cuts each IDoc's bytes out of the file; worker
//! threads, one per core, parse them into JSON, and the records are handed on in file order.
//! The encoding named in the XML declaration is honoured (SAP often writes ISO-8859-1), and the
//! file is decoded before it is cut; UTF-16 is recognised by its byte order mark. Element names
//! are read by their local part, so `<ns0:DEBMAS07 xmlns:ns0="urn:sap-com:document:sap:idoc:messages">`
//! as SAP PI/PO and Integration Suite write it reads like a plain `<DEBMAS07>`.
//!
//! One broken IDoc never costs its neighbours: a malformed IDoc (a mismatched end tag, invalid
//! UTF-8, nesting past the limit, more bytes than `max_record_size`) is reported with its number,
//! DOCNUM and byte offset for the quarantine, and reading resumes at the next `<IDOC>` start tag.
//! An IDoc without its `EDI_DC40` control record, and a DOCNUM read a second time in a run with
//! different content, are quarantined with the IDoc as payload. A file in which no IDoc is found
//! is an error naming it, and so is a file that ends inside an IDoc (truncated, or still being
//! written): it is read again on the next run.
//!
//! Security: no DTD is processed and no external entity is ever resolved. A `<!DOCTYPE>` is
//! skipped unread, so entities it declares are not expanded: a reference to one is an error, as
//! is any entity but the five predefined ones and character references.

mod cut;
mod docnum;
mod find;
mod parse;
mod pipeline;
mod plain;
mod resume;
#[cfg(test)]
mod tests;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use encoding_rs::Encoding;
use futures::stream::BoxStream;
use quick_xml::Reader;
use quick_xml::encoding::{DecodingReader, DetectedEncoding, detect_encoding};
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::cut::{Cut, cut_idoc};
use self::docnum::DocnumRegistry;
use self::parse::{Identity, Parsed, fault_position, parser, partial_docnum};
use self::pipeline::{Done, Pipeline};
use self::resume::{Found, Resume, next_idoc};
use super::files::{ReadStop, RecordSink, SourceFile, Start, default_max_record_size, pull_files};
use super::xml_json::{XmlJsonBuilder, local_name};
use super::{Connector, ConnectorError, Cursor, PullResult};

/// Bytes read from the file at a time.
const READ_BUFFER: usize = 256 * 1024;

/// Settings of the `idoc` driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdocConfig {
    /// File path or glob, relative to the config file.
    pub files: String,
    /// Largest IDoc read, in bytes (default 16 MiB): a bigger one is quarantined with its size
    /// and reading goes on with the next, so one runaway IDoc cannot exhaust memory.
    /// The source's `max_record_size`, handed over when the config is loaded.
    #[serde(skip, default = "default_max_record_size")]
    pub max_record_size: u64,
}

impl IdocConfig {
    /// Settings reading `files` with the default limits.
    pub fn new(files: impl Into<String>) -> Self {
        Self {
            files: files.into(),
            max_record_size: default_max_record_size(),
        }
    }
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

impl IdocConnector {
    /// Streams the files' records from `start`; both ways of pulling come here.
    fn read(&self, start: Start) -> BoxStream<'static, PullResult> {
        let docnums = Arc::new(Mutex::new(DocnumRegistry::default()));
        let limit = self.config.max_record_size;
        pull_files(
            self.config.files.clone(),
            self.base.clone(),
            start,
            move |file, sink| {
                let mut docnums = docnums.lock().unwrap_or_else(|e| e.into_inner());
                let mut run = IdocRun {
                    file,
                    sink,
                    docnums: &mut docnums,
                    limit,
                };
                run.read_file()
            },
        )
    }
}

impl Connector for IdocConnector {
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult> {
        self.read(Start::After(since))
    }

    fn pull_full(&self, known: Option<Cursor>) -> BoxStream<'static, PullResult> {
        self.read(Start::Verify(known))
    }
}

/// Reads every IDoc of one file into the sink, in file order; `origin` is `<file>#<n>`.
/// Convenience for reading outside a connector (tests, tools), with a fresh DOCNUM registry.
pub fn read_idoc_file(file: &SourceFile, sink: &mut RecordSink) -> Result<(), ReadStop> {
    let mut docnums = DocnumRegistry::default();
    IdocRun {
        file,
        sink,
        docnums: &mut docnums,
        limit: default_max_record_size(),
    }
    .read_file()
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

/// Reading one file.
struct IdocRun<'a> {
    file: &'a SourceFile,
    sink: &'a mut RecordSink,
    docnums: &'a mut DocnumRegistry,
    limit: u64,
}

/// Where the reader is in the file, outside the IDoc being built.
struct Progress {
    /// Elements open outside any IDoc: the root, usually.
    open: usize,
    /// The root element's name as written, once seen.
    root: Option<String>,
    /// IDoc start tags seen, the one being read included: the number of the current IDoc.
    idocs: u64,
    /// Where the current parser's position 0 lies in the file.
    base: u64,
    /// Where the IDoc being read starts in the file.
    idoc_start: u64,
}

/// Why a parser stopped.
enum Stop {
    /// The end of the file.
    End,
    /// A fault inside (or between) IDocs: reading resumes at the next IDoc.
    Fault { offset: u64, message: String },
}

impl IdocRun<'_> {
    fn read_file(&mut self) -> Result<(), ReadStop> {
        let opened = self.sink.open(self.file)?;
        let mut input = BufReader::with_capacity(READ_BUFFER, opened);
        let head = input
            .fill_buf()
            .map_err(|source| self.file.io_error(source))?;
        let encoding = input_encoding(head).map_err(|message| self.malformed(0, message))?;
        match encoding {
            None => self.read_idocs(input),
            Some(encoding) => {
                let mut decoding = DecodingReader::new(input);
                decoding.set_encoding(encoding);
                self.read_idocs(decoding)
            }
        }
    }

    fn read_idocs<R: BufRead>(&mut self, input: R) -> Result<(), ReadStop> {
        std::thread::scope(|scope| {
            let mut pipeline = Pipeline::start(scope);
            let read = self.read_idocs_with(input, &mut pipeline);
            let handed_on = self.hand_on_parsed(&mut pipeline, true);
            read.and(handed_on)
        })
    }

    fn read_idocs_with<R: BufRead>(
        &mut self,
        input: R,
        pipeline: &mut Pipeline,
    ) -> Result<(), ReadStop> {
        let mut reader = parser(Resume::new(input));
        let mut builder = XmlJsonBuilder::with_local_names();
        let mut progress = Progress {
            open: 0,
            root: None,
            idocs: 0,
            base: 0,
            idoc_start: 0,
        };
        loop {
            let stop = self.parse(&mut reader, &mut builder, &mut progress, pipeline)?;
            let (offset, message) = match stop {
                Stop::End => return self.finish(&progress, &builder, &reader),
                Stop::Fault { offset, message } => (offset, message),
            };
            self.hand_on_parsed(pipeline, true)?;
            let building = builder.is_building();
            let docnum = partial_docnum(&builder).map(|docnum| format!("DOCNUM {docnum}"));
            builder.abandon();
            let consumed = progress.base + reader.buffer_position();
            let mut input = reader.into_inner();
            let root = progress.root.clone().unwrap_or_default();
            let found = next_idoc(&mut input, &root).map_err(|e| self.file.io_error(e))?;
            let origin = if building {
                format!("{}#{}", self.file.name, progress.idocs)
            } else {
                self.file.name.clone()
            };
            let bad = ConnectorError::BadRecord {
                path: self.file.path.clone(),
                origin,
                offset,
                key: docnum,
                message: format!("{message}; reading goes on at the next <IDOC>"),
                payload: None,
            };
            match found {
                Found::Idoc { skipped } => {
                    self.sink.skip(bad)?;
                    progress.base = consumed + skipped;
                    progress.open = 1;
                    reader = parser(input);
                }
                Found::End { root_closed: true } => {
                    self.sink.skip(bad)?;
                    return Ok(());
                }
                Found::End { root_closed: false } => {
                    return Err(self.malformed(offset, message));
                }
            }
        }
    }

    /// Parses until the end of the file or a fault, handing on each IDoc read. An IDoc is cut out
    /// for the workers where it can be; one that cannot is built here, event by event.
    fn parse<R: BufRead>(
        &mut self,
        reader: &mut Reader<Resume<R>>,
        builder: &mut XmlJsonBuilder,
        progress: &mut Progress,
        pipeline: &mut Pipeline,
    ) -> Result<Stop, ReadStop> {
        let mut buf = Vec::with_capacity(8 * 1024);
        loop {
            buf.clear();
            let event = match reader.read_event_into(&mut buf) {
                Ok(event) => event,
                Err(quick_xml::Error::Io(error)) => {
                    let source = std::io::Error::new(error.kind(), error.to_string());
                    return Err(self.file.io_error(source));
                }
                Err(error) => {
                    let message = if builder.is_building() {
                        format!("IDoc #{}: {error}", progress.idocs)
                    } else {
                        error.to_string()
                    };
                    let offset = progress.base + fault_position(reader);
                    return Ok(Stop::Fault { offset, message });
                }
            };
            let position = progress.base + reader.buffer_position();
            let idoc = match &event {
                Event::Eof => return Ok(Stop::End),
                _ if builder.is_building() => builder.feed(&event),
                Event::Start(start) | Event::Empty(start) if is_idoc(start, progress) => {
                    progress.root.get_or_insert_with(|| "IDOC".to_owned());
                    progress.idocs += 1;
                    progress.idoc_start = position.saturating_sub(event_length(start));
                    if let Event::Start(start) = &event
                        && self.cut(reader, start, progress, pipeline)?
                    {
                        continue;
                    }
                    builder.feed(&event)
                }
                Event::Start(start) => {
                    progress.open += 1;
                    progress
                        .root
                        .get_or_insert_with(|| start.name().0.to_owned());
                    Ok(None)
                }
                Event::Empty(start) => {
                    progress
                        .root
                        .get_or_insert_with(|| start.name().0.to_owned());
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
                    self.hand_on_parsed(pipeline, true)?;
                    let identity = Identity::of(&idoc.value);
                    self.hand_on(progress.idocs, progress.idoc_start, idoc.value, identity)?;
                }
                Ok(None) if builder.is_building() => {
                    let size = position.saturating_sub(progress.idoc_start);
                    if size > self.limit {
                        let message = format!(
                            "IDoc #{} is larger than max_record_size ({size} bytes read, limit {}); quarantined",
                            progress.idocs, self.limit
                        );
                        return Ok(Stop::Fault {
                            offset: progress.idoc_start,
                            message,
                        });
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    let message = format!("IDoc #{}: {error}", progress.idocs);
                    return Ok(Stop::Fault {
                        offset: position,
                        message,
                    });
                }
            }
        }
    }

    /// Cuts out the IDoc whose start tag was just read and hands it to the workers. `false` when it
    /// cannot be cut: the input is then as it was after the start tag.
    fn cut<R: BufRead>(
        &mut self,
        reader: &mut Reader<Resume<R>>,
        start: &BytesStart<'_>,
        progress: &mut Progress,
        pipeline: &mut Pipeline,
    ) -> Result<bool, ReadStop> {
        let out = pipeline.buffer();
        let begin = out.len();
        let tag: &str = start;
        out.push(b'<');
        out.extend_from_slice(tag.as_bytes());
        out.push(b'>');
        let body = out.len();
        let cut = match cut_idoc(reader.get_mut(), out, begin, self.limit) {
            Ok(cut) => cut,
            Err(error) => {
                out.truncate(begin);
                return Err(self.file.io_error(error));
            }
        };
        match cut {
            Cut::Closed => {
                progress.base += (out.len() - body) as u64;
                pipeline.push(progress.idocs, progress.idoc_start);
                self.hand_on_parsed(pipeline, false)?;
                Ok(true)
            }
            Cut::Stopped => {
                let taken = out.split_off(body);
                out.truncate(begin);
                reader.get_mut().unread(taken);
                Ok(false)
            }
        }
    }

    /// Hands on the IDocs the workers have parsed, in file order; with `all`, every IDoc sent to
    /// them, waiting for the last.
    fn hand_on_parsed(&mut self, pipeline: &mut Pipeline, all: bool) -> Result<(), ReadStop> {
        while let Some(batch) = pipeline.next(all) {
            for Done {
                number,
                offset,
                parsed,
            } in batch
            {
                match parsed {
                    Parsed::Idoc { value, identity } => {
                        self.hand_on(number, offset, value, identity)?;
                    }
                    Parsed::Fault {
                        offset,
                        message,
                        docnum,
                    } => self.sink.skip(ConnectorError::BadRecord {
                        path: self.file.path.clone(),
                        origin: format!("{}#{number}", self.file.name),
                        offset,
                        key: docnum.map(|docnum| format!("DOCNUM {docnum}")),
                        message: format!("{message}; reading goes on at the next <IDOC>"),
                        payload: None,
                    })?,
                }
            }
        }
        Ok(())
    }

    /// Hands on IDoc `number`, which starts at `offset`, or quarantines it when its control record
    /// is missing or its DOCNUM was read before with other content.
    fn hand_on(
        &mut self,
        number: u64,
        offset: u64,
        idoc: Value,
        identity: Identity,
    ) -> Result<(), ReadStop> {
        let origin = format!("{}#{number}", self.file.name);
        let Identity {
            has_control,
            docnum,
            hash,
        } = identity;
        let problem = match &docnum {
            _ if !has_control => Some(
                "IDoc has no control record EDI_DC40 (message type and DOCNUM unknown); quarantined"
                    .to_owned(),
            ),
            Some(docnum) if !docnum.is_empty() => {
                let file = &self.file.name;
                self.docnums.check(docnum, file, number, hash).map(|earlier| {
                    format!(
                        "DOCNUM {docnum} was already read from {earlier} with different content; quarantined, not applied twice"
                    )
                })
            }
            _ => None,
        };
        match problem {
            None => self.sink.record(origin, idoc),
            Some(message) => self.sink.skip(ConnectorError::BadRecord {
                path: self.file.path.clone(),
                origin,
                offset,
                key: docnum.map(|docnum| format!("DOCNUM {docnum}")),
                message,
                payload: Some(Box::new(idoc)),
            }),
        }
    }

    fn finish<R>(
        &self,
        progress: &Progress,
        builder: &XmlJsonBuilder,
        reader: &Reader<R>,
    ) -> Result<(), ReadStop> {
        let offset = progress.base + reader.buffer_position();
        if builder.is_building() {
            let message = format!("file ends inside IDoc #{} (truncated?)", progress.idocs);
            return Err(self.malformed(offset, message));
        }
        if progress.open > 0 {
            return Err(self.malformed(
                offset,
                "file ends before the root element is closed (truncated?)".to_owned(),
            ));
        }
        let Some(root) = &progress.root else {
            return Err(self.malformed(offset, "no root element".to_owned()));
        };
        if progress.idocs == 0 {
            return Err(self.malformed(
                offset,
                format!("no <IDOC> element under the root <{root}>: not an IDoc file?"),
            ));
        }
        Ok(())
    }

    fn malformed(&self, offset: u64, message: String) -> ReadStop {
        ReadStop::Failed(ConnectorError::Malformed {
            path: self.file.path.clone(),
            offset,
            message,
        })
    }
}

/// An `<IDOC>` directly under the root, or the root itself, by local name.
fn is_idoc(start: &BytesStart<'_>, progress: &Progress) -> bool {
    progress.open <= 1 && local_name(start.name().0) == "IDOC"
}

/// The bytes of a start tag as written, about: `<`, the tag's content and `>`.
fn event_length(start: &BytesStart<'_>) -> u64 {
    let content: &str = start;
    content.len() as u64 + 2
}
