//! One IDoc's bytes into its JSON, on whichever thread has them.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::Value;

use super::docnum::content_hash;
use super::plain;
use crate::connector::xml_json::XmlJsonBuilder;

/// What the reading thread needs to check an IDoc before handing it on, taken where the IDoc was
/// parsed so that the reading thread does not walk it again.
#[derive(Debug)]
pub struct Identity {
    /// Whether the IDoc has its `EDI_DC40` control record.
    pub has_control: bool,
    /// The control record's DOCNUM, trimmed.
    pub docnum: Option<String>,
    /// The hash of the IDoc's content, for the DOCNUM registry.
    pub hash: u64,
}

impl Identity {
    /// Takes an IDoc's identity from its JSON.
    pub fn of(idoc: &Value) -> Self {
        let control = idoc.get("EDI_DC40");
        Self {
            has_control: control.is_some_and(Value::is_object),
            docnum: control
                .and_then(|control| control.get("DOCNUM"))
                .and_then(Value::as_str)
                .map(|docnum| docnum.trim().to_owned()),
            hash: content_hash(idoc),
        }
    }
}

/// What became of one IDoc.
#[derive(Debug)]
pub enum Parsed {
    /// The IDoc's JSON and its identity.
    Idoc { value: Value, identity: Identity },
    /// The IDoc is malformed: where in the file, why, and its DOCNUM when it was read before the
    /// fault.
    Fault {
        offset: u64,
        message: String,
        docnum: Option<String>,
    },
}

/// Parses IDoc `number`, whose bytes (from its start tag to its end tag) begin at `offset` in the
/// file: by the [`plain`] fast path where it can, else by quick-xml's reader. Faults read as the
/// event-by-event reader reports them: `IDoc #n: ...`, at the same offsets.
pub fn parse_idoc(bytes: &[u8], number: u64, offset: u64, builder: &mut XmlJsonBuilder) -> Parsed {
    if let Some(idoc) = plain::build(bytes, builder) {
        return Parsed::Idoc {
            identity: Identity::of(&idoc.value),
            value: idoc.value,
        };
    }
    let mut reader = parser(bytes);
    let (at, problem) = loop {
        match reader.read_event() {
            Err(error) => break (fault_position(&reader), error.to_string()),
            Ok(Event::Eof) => {
                break (
                    reader.buffer_position(),
                    "ends before its end tag".to_owned(),
                );
            }
            Ok(event) => match builder.feed(&event) {
                Ok(Some(idoc)) => {
                    return Parsed::Idoc {
                        identity: Identity::of(&idoc.value),
                        value: idoc.value,
                    };
                }
                Ok(None) => {}
                Err(error) => break (reader.buffer_position(), error.to_string()),
            },
        }
    };
    let docnum = partial_docnum(builder);
    builder.abandon();
    Parsed::Fault {
        offset: offset + at,
        message: format!("IDoc #{number}: {problem}"),
        docnum,
    }
}

/// A parser that leaves end-tag checks to the JSON builder (which knows the open elements of the
/// IDoc being read), so a parser started again at an `<IDOC>` accepts the root's end tag.
pub fn parser<R>(input: R) -> Reader<R> {
    let mut reader = Reader::from_reader(input);
    reader.config_mut().check_end_names = false;
    reader.config_mut().allow_unmatched_ends = true;
    reader
}

/// Where the parser's last error lies, from the parser's start. Encoding errors leave the error
/// position unset: the text read so far ends where the fault is.
pub fn fault_position<R>(reader: &Reader<R>) -> u64 {
    match reader.error_position() {
        0 => reader.buffer_position(),
        at => at,
    }
}

/// The DOCNUM of an IDoc whose building stopped, trimmed, when its control record was read.
pub fn partial_docnum(builder: &XmlJsonBuilder) -> Option<String> {
    builder
        .partial_field("EDI_DC40", "DOCNUM")
        .map(|docnum| docnum.trim().to_owned())
}
