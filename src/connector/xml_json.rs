//! The XML → JSON rule, so that every mapping reads XML sources with the same JSONPath as JSON.
//!
//! - an element becomes a key of its parent's object;
//! - a child element that occurs more than once becomes an array of all its occurrences (a single
//!   occurrence stays a plain value, so mappings use `each:` to accept both);
//! - an attribute becomes `"@name"`;
//! - an element with only text becomes that string, kept exactly (SAP's space padding included);
//!   an empty element becomes `""`;
//! - text beside attributes or child elements becomes `"#text"`; whitespace-only text between
//!   elements (indentation) is dropped;
//! - entity references are resolved (`&amp;`, the other four predefined entities and numeric
//!   character references); any other entity is an error, as no DTD is ever read.
//!
//! A builder made [`with_local_names`](XmlJsonBuilder::with_local_names) keys elements and
//! attributes by their local names (`ns0:E1KNA1M` → `E1KNA1M`) and drops `xmlns` declarations, so
//! a document written with namespace prefixes (SAP PI/PO, Integration Suite) reads like a plain one.
//!
//! [`XmlJsonBuilder`] is fed one quick-xml event at a time, so a streaming reader can build the
//! tree of one element (one IDoc) while the rest of the file stays unread.

use quick_xml::events::{BytesRef, BytesStart, Event};
use serde_json::map::Entry;
use serde_json::{Map, Value};

/// Deeper nesting is refused: real documents stay far below it, and dropping a deeper tree would
/// recurse past the stack.
const MAX_DEPTH: usize = 256;

/// Why an element could not be turned into JSON.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum XmlJsonError {
    #[error(
        "unknown entity `&{0};` (only the five XML entities and character references are read)"
    )]
    UnknownEntity(String),
    #[error("invalid character reference `&{0};`")]
    BadCharRef(String),
    #[error("invalid attribute in <{element}>: {message}")]
    BadAttribute { element: String, message: String },
    #[error("elements nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("end tag </{found}> where </{expected}> was expected")]
    MismatchedEnd { expected: String, found: String },
    #[error("XML syntax: {0}")]
    Syntax(String),
    #[error("document has no root element")]
    NoRoot,
}

/// One finished element: its name and its JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// The element's name as written, prefix included.
    pub name: String,
    /// The element's JSON by the rule above.
    pub value: Value,
}

/// An element being built. Frames are kept and reused once closed, so their name buffers keep
/// their capacity from one element to the next; a field's text buffer is handed over as its value.
#[derive(Debug, Default)]
struct Frame {
    name: String,
    /// Attributes and finished children.
    object: Map<String, Value>,
    /// All text so far; whitespace-only runs between children are cut out as they end.
    text: String,
    /// Where the text run since the last child boundary starts.
    run_start: usize,
    has_children: bool,
}

/// The local part of a qualified name: `ns0:IDOC` → `IDOC`. Called for every tag, so the short
/// name is scanned byte by byte rather than through a general substring search.
pub fn local_name(name: &str) -> &str {
    match name.bytes().rposition(|b| b == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

impl Frame {
    fn open(&mut self, start: &BytesStart<'_>, local_names: bool) -> Result<(), XmlJsonError> {
        self.name.clear();
        let qualified: &str = start.name().0;
        self.name.push_str(if local_names {
            local_name(qualified)
        } else {
            qualified
        });
        self.text.clear();
        self.run_start = 0;
        self.has_children = false;
        // Most tags (every field of an IDoc segment) carry no attribute: skip the iterator.
        if start
            .attributes_raw()
            .bytes()
            .all(|b| b.is_ascii_whitespace())
        {
            return Ok(());
        }
        for attribute in start.attributes() {
            let bad = |message: String| XmlJsonError::BadAttribute {
                element: self.name.clone(),
                message,
            };
            let attribute = attribute.map_err(|e| bad(e.to_string()))?;
            let qualified: &str = attribute.key.0;
            if local_names && (qualified == "xmlns" || qualified.starts_with("xmlns:")) {
                continue;
            }
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| bad(e.to_string()))?;
            let name = if local_names {
                local_name(qualified)
            } else {
                qualified
            };
            let mut key = String::with_capacity(name.len() + 1);
            key.push('@');
            key.push_str(name);
            self.object.insert(key, Value::String(value.into_owned()));
        }
        Ok(())
    }

    /// Appends text. A field's buffer was handed over with its last value, so its first text
    /// is copied into a buffer of its own size rather than grown into an empty one.
    fn push_text(&mut self, text: &str) {
        if self.text.capacity() == 0 {
            self.text = text.to_owned();
        } else {
            self.text.push_str(text);
        }
    }

    /// Drops the current text run if it is only whitespace (indentation between children).
    fn end_run(&mut self) {
        if self.text[self.run_start..].chars().all(char::is_whitespace) {
            self.text.truncate(self.run_start);
        }
        self.run_start = self.text.len();
    }

    /// Closes the element into its JSON value, leaving the frame empty for reuse.
    fn close(&mut self) -> Value {
        if self.object.is_empty() && !self.has_children {
            // A field: its text becomes the value as it is, without a copy.
            return Value::String(std::mem::take(&mut self.text));
        }
        self.end_run();
        // The next element at this depth is most likely a sibling of the same shape (the next
        // segment of an IDoc): give its object room for as many keys up front.
        let room = self.object.len();
        let mut object = std::mem::replace(&mut self.object, Map::with_capacity(room));
        if !self.text.is_empty() {
            object.insert("#text".to_owned(), Value::String(self.text.clone()));
        }
        Value::Object(object)
    }
}

/// Builds the JSON of one element from the quick-xml events from its start to its end.
#[derive(Debug, Default)]
pub struct XmlJsonBuilder {
    frames: Vec<Frame>,
    depth: usize,
    local_names: bool,
}

impl XmlJsonBuilder {
    /// A builder waiting for an element's start.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder that keys elements and attributes by local name and drops `xmlns` declarations.
    pub fn with_local_names() -> Self {
        Self {
            local_names: true,
            ..Self::default()
        }
    }

    /// Whether an element has been started and not yet finished.
    pub fn is_building(&self) -> bool {
        self.depth > 0
    }

    /// Feeds one event; returns the element when its end arrives. The first event fed must be
    /// the element's `Start` (or `Empty`); events before it other than those are ignored.
    /// After an error, the element is given up with [`abandon`](Self::abandon) before the
    /// builder starts on another one.
    pub fn feed(&mut self, event: &Event<'_>) -> Result<Option<Element>, XmlJsonError> {
        match event {
            Event::Start(start) => {
                self.open(start)?;
                Ok(None)
            }
            Event::Empty(start) => {
                self.open(start)?;
                Ok(self.close())
            }
            Event::End(end) if self.is_building() => {
                let found: &str = end.name().0;
                let found = if self.local_names {
                    local_name(found)
                } else {
                    found
                };
                let expected = &self.frames[self.depth - 1].name;
                if found != expected {
                    return Err(XmlJsonError::MismatchedEnd {
                        expected: expected.clone(),
                        found: found.to_owned(),
                    });
                }
                Ok(self.close())
            }
            Event::Text(text) if self.is_building() => {
                let raw: &str = text;
                // Line ends need normalising only where a `\r` is written.
                if raw.as_bytes().contains(&b'\r') {
                    self.current().push_text(&text.xml10_content());
                } else {
                    self.current().push_text(raw);
                }
                Ok(None)
            }
            Event::CData(data) if self.is_building() => {
                self.current().push_text(&data.xml10_content());
                Ok(None)
            }
            Event::GeneralRef(reference) if self.is_building() => {
                let ch = resolve_reference(reference)?;
                self.current().push_text(ch.encode_utf8(&mut [0; 4]));
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    fn current(&mut self) -> &mut Frame {
        &mut self.frames[self.depth - 1]
    }

    fn open(&mut self, start: &BytesStart<'_>) -> Result<(), XmlJsonError> {
        if self.depth >= MAX_DEPTH {
            return Err(XmlJsonError::TooDeep);
        }
        if self.depth > 0 {
            let parent = self.current();
            parent.end_run();
            parent.has_children = true;
        }
        if self.frames.len() == self.depth {
            self.frames.push(Frame::default());
        }
        self.depth += 1;
        let local_names = self.local_names;
        self.current().open(start, local_names)
    }

    fn close(&mut self) -> Option<Element> {
        let frame = self.current();
        let value = frame.close();
        self.depth -= 1;
        if self.depth == 0 {
            let name = self.frames[0].name.clone();
            return Some(Element { name, value });
        }
        let (parents, rest) = self.frames.split_at_mut(self.depth);
        let parent = &mut parents[self.depth - 1];
        let child_name = rest[0].name.as_str();
        add_child(&mut parent.object, child_name, value);
        parent.run_start = parent.text.len();
        None
    }

    /// A text field of the element being built, read before it is finished (to name a broken
    /// IDoc by its DOCNUM): `segment`'s child `field`, where `segment` is a finished child of the
    /// element or the child being built.
    pub fn partial_field(&self, segment: &str, field: &str) -> Option<String> {
        if self.depth == 0 {
            return None;
        }
        let finished = self.frames[0].object.get(segment).and_then(|s| match s {
            Value::Array(items) => items.first(),
            single => Some(single),
        });
        let value = match finished {
            Some(segment) => segment.get(field),
            None if self.depth >= 2 && self.frames[1].name == segment => {
                self.frames[1].object.get(field)
            }
            None => None,
        };
        value.and_then(Value::as_str).map(str::to_owned)
    }

    /// Gives up the element being built, so the builder can start on the next one.
    pub fn abandon(&mut self) {
        for frame in &mut self.frames[..self.depth] {
            frame.object.clear();
        }
        self.depth = 0;
    }
}

/// Adds a child; a second occurrence of a name turns its value into an array of all of them.
fn add_child(object: &mut Map<String, Value>, name: &str, value: Value) {
    match object.entry(name) {
        Entry::Vacant(vacant) => {
            vacant.insert(value);
        }
        Entry::Occupied(mut occupied) => match occupied.get_mut() {
            Value::Array(items) => items.push(value),
            first => {
                let first = std::mem::take(first);
                *occupied.get_mut() = Value::Array(vec![first, value]);
            }
        },
    }
}

/// The character an entity reference stands for: a predefined entity or a character reference.
fn resolve_reference(reference: &BytesRef<'_>) -> Result<char, XmlJsonError> {
    let name: &str = reference;
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(ch)) => Ok(ch),
            _ => Err(XmlJsonError::BadCharRef(name.to_owned())),
        };
    }
    match name {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        _ => Err(XmlJsonError::UnknownEntity(name.to_owned())),
    }
}

/// The JSON of a whole document's root element, for small documents held in memory.
pub fn document_to_json(xml: &str) -> Result<Element, XmlJsonError> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut builder = XmlJsonBuilder::new();
    loop {
        let event = reader.read_event().map_err(|e| {
            XmlJsonError::Syntax(format!("{e} at byte {}", reader.error_position()))
        })?;
        if matches!(event, Event::Eof) {
            return Err(XmlJsonError::NoRoot);
        }
        if let Some(element) = builder.feed(&event)? {
            return Ok(element);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn convert(xml: &str) -> Value {
        document_to_json(xml).unwrap().value
    }

    #[test]
    fn elements_become_keys_and_text_only_elements_strings() {
        assert_eq!(
            convert("<a><b>1</b><c>two</c></a>"),
            json!({"b": "1", "c": "two"})
        );
        assert_eq!(document_to_json("<a><b>1</b></a>").unwrap().name, "a");
    }

    #[test]
    fn keys_keep_document_order() {
        let value = convert("<a><z>1</z><b>2</b><m>3</m></a>");
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "b", "m"]);
    }

    #[test]
    fn repeated_children_become_an_array_and_a_single_one_stays_plain() {
        assert_eq!(
            convert("<a><p><n>1</n></p><q>x</q><p><n>2</n></p><p><n>3</n></p></a>"),
            json!({"p": [{"n": "1"}, {"n": "2"}, {"n": "3"}], "q": "x"})
        );
        assert_eq!(convert("<a><p><n>1</n></p></a>"), json!({"p": {"n": "1"}}));
        assert_eq!(convert("<a><t>x</t><t>y</t></a>"), json!({"t": ["x", "y"]}));
    }

    #[test]
    fn attributes_become_at_keys_beside_children() {
        assert_eq!(
            convert(r#"<a><E1KNA1M SEGMENT="1"><KUNNR>0000001000</KUNNR></E1KNA1M></a>"#),
            json!({"E1KNA1M": {"@SEGMENT": "1", "KUNNR": "0000001000"}})
        );
        assert_eq!(convert(r#"<a x="1"/>"#), json!({"@x": "1"}));
    }

    #[test]
    fn space_inside_a_tag_is_not_an_attribute() {
        assert_eq!(
            convert("<a ><b\n>1</b><c\t/><d x=\"1\" ></d></a>"),
            json!({"b": "1", "c": "", "d": {"@x": "1"}})
        );
    }

    #[test]
    fn each_field_keeps_its_own_text_when_the_builder_moves_on() {
        assert_eq!(
            convert("<a><n>A &amp; B</n><m></m><n>C</n><o>x\r\ny</o><p>&lt;</p></a>"),
            json!({"n": ["A & B", "C"], "m": "", "o": "x\ny", "p": "<"})
        );
    }

    #[test]
    fn text_beside_attributes_or_children_is_hash_text() {
        assert_eq!(
            convert(r#"<a><v unit="KG">12.5</v></a>"#),
            json!({"v": {"@unit": "KG", "#text": "12.5"}})
        );
        assert_eq!(
            convert("<a>head<b>1</b>tail</a>"),
            json!({"b": "1", "#text": "headtail"})
        );
    }

    #[test]
    fn empty_elements_are_empty_strings() {
        assert_eq!(convert("<a><b/><c></c></a>"), json!({"b": "", "c": ""}));
        assert_eq!(convert("<a/>"), json!(""));
    }

    #[test]
    fn indentation_is_dropped_but_text_is_kept_exactly() {
        let xml =
            "<a>\n  <NAME1>Müller GmbH   </NAME1>\n  <PAD>   </PAD>\n  <S X=\"1\">\n  </S>\n</a>";
        assert_eq!(
            convert(xml),
            json!({"NAME1": "Müller GmbH   ", "PAD": "   ", "S": {"@X": "1"}})
        );
    }

    #[test]
    fn entity_references_are_joined_into_the_text() {
        assert_eq!(
            convert("<a><n>Smith &amp; Sons</n></a>"),
            json!({"n": "Smith & Sons"})
        );
        assert_eq!(
            convert("<a>&lt;&gt;&quot;&apos;&amp;&#65;&#x42;&#228;</a>"),
            json!("<>\"'&ABä")
        );
        assert_eq!(convert("<a><![CDATA[x<y]]> &amp; z</a>"), json!("x<y & z"));
    }

    #[test]
    fn attribute_values_are_unescaped() {
        assert_eq!(
            convert(r#"<a n="A &amp; B &#x43;"/>"#),
            json!({"@n": "A & B C"})
        );
    }

    #[test]
    fn unknown_entities_and_bad_character_references_are_errors() {
        assert_eq!(
            document_to_json("<a>&nbsp;</a>").unwrap_err(),
            XmlJsonError::UnknownEntity("nbsp".into())
        );
        assert!(matches!(
            document_to_json("<a>&#0;</a>").unwrap_err(),
            XmlJsonError::BadCharRef(_)
        ));
        assert!(matches!(
            document_to_json(r#"<a n="&foo;"/>"#).unwrap_err(),
            XmlJsonError::BadAttribute { .. }
        ));
    }

    #[test]
    fn windows_line_ends_are_normalised() {
        assert_eq!(convert("<a>x\r\ny</a>"), json!("x\ny"));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let xml = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(document_to_json(&xml).unwrap_err(), XmlJsonError::TooDeep);
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(document_to_json(&ok).is_ok());
    }

    #[test]
    fn the_builder_is_reused_for_one_element_after_another() {
        let mut reader = quick_xml::Reader::from_str(
            "<r><IDOC><X>1</X><X>2</X></IDOC><IDOC><Y>3</Y></IDOC></r>",
        );
        let mut builder = XmlJsonBuilder::new();
        let mut depth = 0;
        let mut found = Vec::new();
        loop {
            let event = reader.read_event().unwrap();
            if builder.is_building() {
                found.extend(builder.feed(&event).unwrap());
                continue;
            }
            match &event {
                Event::Start(_) if depth == 1 => {
                    builder.feed(&event).unwrap();
                }
                Event::Start(_) => depth += 1,
                Event::End(_) => depth -= 1,
                Event::Eof => break,
                _ => {}
            }
        }
        let values: Vec<_> = found.into_iter().map(|e| e.value).collect();
        assert_eq!(values, [json!({"X": ["1", "2"]}), json!({"Y": "3"})]);
    }
}
