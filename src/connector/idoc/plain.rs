//! A fast path for the plain markup that cut IDocs are written in: start, end and empty tags,
//! text and entity references, nothing else.
//!
//! quick-xml checks the UTF-8 of every event on its own and sets up each search anew, which on
//! IDocs (dozens of short fields each) cost as much as building their JSON. Here the whole IDoc is
//! checked as UTF-8 once, and its markup is split into the very events quick-xml would emit for
//! it — same boundaries, same content — so the builder sees no difference. Anything outside that
//! plain subset (comments, CDATA, processing instructions, a quote in an end tag, a lone `&`, an
//! IDoc ending early) and any fault the builder finds is left to quick-xml: the caller parses the
//! IDoc again with it, and it reports the fault at its offset as before.

use quick_xml::events::{BytesEnd, BytesRef, BytesStart, BytesText, Event};

use super::cut::start_tag_length;
use super::find::{find2, find3};
use crate::connector::xml_json::{Element, XmlJsonBuilder};

/// The IDoc's JSON when its bytes are plain markup and build without a fault; `None` otherwise,
/// with the builder left ready for another element.
pub fn build(bytes: &[u8], builder: &mut XmlJsonBuilder) -> Option<Element> {
    let built = feed_all(bytes, builder);
    if built.is_none() {
        builder.abandon();
    }
    built
}

fn feed_all(bytes: &[u8], builder: &mut XmlJsonBuilder) -> Option<Element> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut at = 0;
    while at < text.len() {
        let (event, next) = if bytes[at] == b'<' {
            markup(text, at)?
        } else if bytes[at] == b'&' {
            reference(text, at)?
        } else {
            let end = find2(b'<', b'&', &bytes[at..]).map_or(bytes.len(), |i| at + i);
            (Event::Text(BytesText::from_escaped(&text[at..end])), end)
        };
        if let Some(element) = builder.feed(&event).ok()? {
            return Some(element);
        }
        at = next;
    }
    None
}

/// The tag starting at `at` (its `<`) and where the text after it starts.
fn markup(text: &str, at: usize) -> Option<(Event<'_>, usize)> {
    let bytes = text.as_bytes();
    match *bytes.get(at + 1)? {
        b'/' => {
            let close = at + 2 + find3(b'>', b'"', b'\'', &bytes[at + 2..])?;
            if bytes[close] != b'>' {
                return None;
            }
            // quick-xml trims the whitespace allowed after an end tag's name.
            let name = text[at + 2..close].trim_end_matches(is_xml_whitespace);
            Some((Event::End(BytesEnd::new(name)), close + 1))
        }
        b'!' | b'?' => None,
        _ => {
            // The tag's length counts its `<` and its `>`.
            let close = at + start_tag_length(&bytes[at..])? - 1;
            let content = &text[at + 1..close];
            let (content, empty) = match content.strip_suffix('/') {
                Some(content) => (content, true),
                None => (content, false),
            };
            let name_len = content
                .bytes()
                .position(|b| is_xml_whitespace(b as char))
                .unwrap_or(content.len());
            if name_len == 0 {
                return None;
            }
            let start = BytesStart::from_content(content, name_len);
            let event = if empty {
                Event::Empty(start)
            } else {
                Event::Start(start)
            };
            Some((event, close + 1))
        }
    }
}

/// The entity or character reference starting at `at` (its `&`), up to its `;`.
fn reference(text: &str, at: usize) -> Option<(Event<'_>, usize)> {
    let bytes = text.as_bytes();
    let end = at + 1 + find3(b';', b'&', b'<', &bytes[at + 1..])?;
    if bytes[end] != b';' {
        return None;
    }
    Some((
        Event::GeneralRef(BytesRef::new(&text[at + 1..end])),
        end + 1,
    ))
}

/// XML's whitespace, as quick-xml tells a tag's name from its attributes.
fn is_xml_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::idoc::parse::parser;

    /// What quick-xml's reader builds from the same bytes, or `None` where it stops on a fault.
    fn by_quick_xml(bytes: &[u8]) -> Option<Element> {
        let mut reader = parser(bytes);
        let mut builder = XmlJsonBuilder::with_local_names();
        loop {
            match reader.read_event().ok()? {
                Event::Eof => return None,
                event => {
                    if let Some(element) = builder.feed(&event).ok()? {
                        return Some(element);
                    }
                }
            }
        }
    }

    #[test]
    fn plain_markup_builds_as_quick_xml_builds_it() {
        for xml in [
            r#"<IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><DOCNUM>0001</DOCNUM></EDI_DC40></IDOC>"#,
            "<IDOC>\n  <A>x</A>\n  <A>y</A>\n  <B/>\n  <C></C>\n</IDOC>",
            "<ns0:IDOC xmlns:ns0=\"urn:x\"><ns0:A ns0:k='v>w'>1</ns0:A ></ns0:IDOC >",
            "<IDOC><N>Smith &amp; Sons &#x41;&#66;</N><M>a\r\nb</M><P>&lt;&gt;&quot;&apos;</P></IDOC>",
            "<IDOC\n\tBEGIN=\"1\"\n><A\n/><B x=\"/\"/><C>Müller ]]> > GmbH</C></IDOC>trailing",
            "<IDOC><A>1</A></IDOC><IDOC>",
        ] {
            let mut builder = XmlJsonBuilder::with_local_names();
            let fast = build(xml.as_bytes(), &mut builder);
            assert!(fast.is_some(), "{xml}");
            assert_eq!(fast, by_quick_xml(xml.as_bytes()), "{xml}");
        }
    }

    #[test]
    fn markup_outside_the_plain_subset_and_faults_are_left_to_quick_xml() {
        for xml in [
            "<IDOC><!-- note --><A>1</A></IDOC>",
            "<IDOC><A><![CDATA[x]]></A></IDOC>",
            "<IDOC><?pi x?><A>1</A></IDOC>",
            "<IDOC><A>1</A x=\">\"></IDOC>",
            "<IDOC><A>a & b</A></IDOC>",
            "<IDOC><A>&nbsp;</A></IDOC>",
            "<IDOC><A>1</B></IDOC>",
            "<IDOC>< A>1</A></IDOC>",
            "<IDOC><A x=1>1</A></IDOC>",
            "<IDOC><A>1</A>",
            "<IDOC><A>1</A><",
            "<IDOC><A x=\"1>1</A></IDOC>",
        ] {
            let mut builder = XmlJsonBuilder::with_local_names();
            assert_eq!(build(xml.as_bytes(), &mut builder), None, "{xml}");
            assert!(!builder.is_building(), "{xml}: the builder is ready again");
        }
        let mut builder = XmlJsonBuilder::with_local_names();
        assert_eq!(build(b"<IDOC><A>\xff</A></IDOC>", &mut builder), None);
    }
}
