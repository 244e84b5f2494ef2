//! Cutting an IDoc's bytes out of the file without parsing them, so that the costly parse and
//! JSON build can run on another thread.
//!
//! The cut is a guess the parser checks later: the bytes from an `<IDOC>` start tag are copied
//! until the element depth falls back to zero on an end tag named `IDOC`. Markup is told apart just
//! well enough for well-formed XML: comments, CDATA sections and processing instructions are
//! skipped whole (an `</IDOC>` inside one ends nothing), and a start tag ends at the first `>`
//! outside quoted attribute values. Whatever does not fit — an end tag at depth zero with another
//! name, a file ending first, more bytes than the size limit — stops the cut, and the reader parses
//! that IDoc event by event as before, with the same faults at the same offsets.

use std::io::BufRead;

use memchr::memmem;

use super::find::{find, find3};

use crate::connector::xml_json::local_name;

/// How a cut ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Cut {
    /// The IDoc's end tag was found: the IDoc's bytes end `out` and the input stands after them.
    Closed,
    /// The IDoc could not be cut (the file ended, the end tag at depth zero is not `</IDOC>`, or
    /// the IDoc outgrew the limit). Every byte the cut took from the input was appended to `out`.
    Stopped,
}

/// Bytes added to `out` at a time while a markup that began in an earlier input buffer is
/// completed there: enough for any tag, little to copy past the IDoc's end.
const CARRY_PIECE: usize = 4096;

/// Appends the rest of an IDoc, whose start tag ends `out` from `start` on, to `out` from `input`.
/// The input is consumed only as far as the IDoc goes when the cut closes; when it stops, all it
/// read is in `out` and consumed. Each input buffer is scanned where it lies, and only the IDoc's
/// bytes are copied.
pub fn cut_idoc<R: BufRead>(
    input: &mut R,
    out: &mut Vec<u8>,
    start: usize,
    limit: u64,
) -> std::io::Result<Cut> {
    let mut scan = Scan {
        depth: 1,
        position: out.len(),
    };
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(Cut::Stopped);
        }
        let base = out.len();
        let carried = scan.position < base;
        let (step, length) = if carried {
            let piece = &chunk[..chunk.len().min(CARRY_PIECE)];
            out.extend_from_slice(piece);
            (scan.step(out, 0, start, limit), piece.len())
        } else {
            (scan.step(chunk, base, start, limit), chunk.len())
        };
        match step {
            Step::Closed(end) => {
                if carried {
                    out.truncate(end);
                } else {
                    out.extend_from_slice(&chunk[..end - base]);
                }
                input.consume(end - base);
                return Ok(Cut::Closed);
            }
            Step::More | Step::Stopped => {
                if !carried {
                    out.extend_from_slice(chunk);
                }
                input.consume(length);
                if matches!(step, Step::Stopped) || (out.len() - start) as u64 > limit {
                    return Ok(Cut::Stopped);
                }
            }
        }
    }
}

/// Where the cut stands, counted in `out`'s positions.
struct Scan {
    /// Elements open inside the IDoc, the IDoc itself included.
    depth: usize,
    /// Where the next markup is looked for.
    position: usize,
}

enum Step {
    /// The bytes so far end inside the IDoc: more are needed.
    More,
    /// The IDoc ends before this position.
    Closed(usize),
    /// The IDoc cannot be cut.
    Stopped,
}

impl Scan {
    /// Scans `data`, whose first byte is at position `offset`, from the scan's position on.
    fn step(&mut self, data: &[u8], offset: usize, start: usize, limit: u64) -> Step {
        loop {
            let from = self.position - offset;
            let Some(at) = find(b'<', &data[from..]) else {
                self.position = offset + data.len();
                return Step::More;
            };
            let open = from + at;
            let Some((length, kind)) = markup(&data[open..]) else {
                self.position = offset + open;
                return Step::More;
            };
            let close = open + length;
            self.position = offset + close;
            if (self.position - start) as u64 > limit {
                return Step::Stopped;
            }
            match kind {
                Markup::Start => self.depth += 1,
                Markup::End if self.depth > 1 => self.depth -= 1,
                Markup::End if is_idoc_end(&data[open..close]) => {
                    return Step::Closed(self.position);
                }
                Markup::End => return Step::Stopped,
                Markup::Other => {}
            }
        }
    }
}

/// What a piece of markup does to the element depth.
enum Markup {
    Start,
    End,
    /// An empty element, a comment, CDATA, a processing instruction or a declaration.
    Other,
}

/// The length and kind of the markup `bytes` starts with (at its `<`), or `None` when it does not
/// end within `bytes`.
fn markup(bytes: &[u8]) -> Option<(usize, Markup)> {
    match *bytes.get(1)? {
        b'/' => Some((find(b'>', bytes)? + 1, Markup::End)),
        b'?' => Some((2 + ends_with(&bytes[2..], b"?>")?, Markup::Other)),
        b'!' => {
            const COMMENT: &[u8] = b"<!--";
            const CDATA: &[u8] = b"<![CDATA[";
            let undecided = |kind: &[u8]| bytes.len() < kind.len() && kind.starts_with(bytes);
            if undecided(COMMENT) || undecided(CDATA) {
                return None;
            }
            let length = if bytes.starts_with(COMMENT) {
                COMMENT.len() + ends_with(&bytes[COMMENT.len()..], b"-->")?
            } else if bytes.starts_with(CDATA) {
                CDATA.len() + ends_with(&bytes[CDATA.len()..], b"]]>")?
            } else {
                declaration_length(bytes)?
            };
            Some((length, Markup::Other))
        }
        _ => {
            let length = start_tag_length(bytes)?;
            let kind = if bytes[length - 2] == b'/' {
                Markup::Other
            } else {
                Markup::Start
            };
            Some((length, kind))
        }
    }
}

/// The length of `bytes` up to and including the first `end`.
fn ends_with(bytes: &[u8], end: &[u8]) -> Option<usize> {
    memmem::find(bytes, end).map(|at| at + end.len())
}

/// A start tag's length: up to the first `>` outside a quoted attribute value.
pub(super) fn start_tag_length(bytes: &[u8]) -> Option<usize> {
    let mut from = 1;
    loop {
        let at = from + find3(b'>', b'"', b'\'', &bytes[from..])?;
        let quote = bytes[at];
        if quote == b'>' {
            return Some(at + 1);
        }
        from = at + 1 + find(quote, &bytes[at + 1..])? + 1;
    }
}

/// A `<!DOCTYPE ...>` (or other `<!` declaration): up to the `>` that balances its `<`, so an
/// internal subset's declarations stay inside it.
fn declaration_length(bytes: &[u8]) -> Option<usize> {
    let mut open = 0usize;
    for (at, &byte) in bytes.iter().enumerate() {
        match byte {
            b'<' => open += 1,
            b'>' => {
                open -= 1;
                if open == 0 {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether an end tag (`</IDOC>`, `</ns0:IDOC >`) closes an IDoc, by local name.
fn is_idoc_end(tag: &[u8]) -> bool {
    let name = tag[2..tag.len() - 1].trim_ascii_end();
    std::str::from_utf8(name).is_ok_and(|name| local_name(name) == "IDOC")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cuts the IDoc starting `text` (its start tag included) with input buffers of `capacity`
    /// bytes: what was cut and what the input has left.
    fn cut(text: &str, capacity: usize, limit: u64) -> (Cut, String, String) {
        let tag_end = text.find('>').unwrap() + 1;
        let mut input = std::io::BufReader::with_capacity(capacity, &text.as_bytes()[tag_end..]);
        let mut out = b"<R>".to_vec();
        out.extend_from_slice(&text.as_bytes()[..tag_end]);
        let cut = cut_idoc(&mut input, &mut out, 3, limit).unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut input, &mut rest).unwrap();
        (cut, String::from_utf8(out[3..].to_vec()).unwrap(), rest)
    }

    const TRICKY: &str = concat!(
        "<IDOC BEGIN=\"1\"><!-- </IDOC> --><A x=\"</IDOC>\" y='>'>1</A>",
        "<![CDATA[</IDOC>]]><?pi </IDOC> ?><B/><C><IDOC>2</IDOC></C>",
        "<!DOCTYPE x [<!ENTITY e \"v\">]></ns0:IDOC ><IDOC>next</IDOC>"
    );

    #[test]
    fn markup_that_only_looks_like_an_end_tag_ends_nothing() {
        let end = TRICKY.find("<IDOC>next").unwrap();
        for capacity in [1, 2, 3, 5, 7, 64, 4096] {
            let (found, idoc, rest) = cut(TRICKY, capacity, u64::MAX);
            assert_eq!(found, Cut::Closed, "buffers of {capacity}");
            assert_eq!(idoc, &TRICKY[..end], "buffers of {capacity}");
            assert_eq!(rest, "<IDOC>next</IDOC>", "buffers of {capacity}");
        }
    }

    #[test]
    fn another_end_tag_at_depth_zero_stops_the_cut() {
        let text = "<IDOC><A></IDOC><IDOC><B>1</B></IDOC></DEBMAS07>tail";
        let (found, idoc, rest) = cut(text, 4, u64::MAX);
        assert_eq!(found, Cut::Stopped);
        assert!(idoc.contains("</DEBMAS07>"), "{idoc}");
        assert_eq!(
            idoc + &rest,
            text,
            "every byte taken is handed back in `out`"
        );
    }

    #[test]
    fn a_file_ending_inside_the_idoc_or_any_markup_stops_the_cut() {
        for text in [
            "<IDOC><A>1</A>",
            "<IDOC><A>1</A><!-- </IDOC>",
            "<IDOC><![CDATA[</IDOC>",
            "<IDOC><A x=\"</IDOC>",
            "<IDOC><A>1</A></IDO",
        ] {
            let (found, idoc, rest) = cut(text, 3, u64::MAX);
            assert_eq!(
                (found, idoc.as_str(), rest.as_str()),
                (Cut::Stopped, text, "")
            );
        }
    }

    #[test]
    fn an_idoc_past_the_limit_stops_the_cut() {
        let text = "<IDOC><A>1</A><A>2</A></IDOC>";
        assert_eq!(cut(text, 4, text.len() as u64).0, Cut::Closed);
        let (found, idoc, rest) = cut(text, 4, text.len() as u64 - 1);
        assert_eq!(found, Cut::Stopped);
        assert_eq!(idoc + &rest, text);
    }
}
