//! Resuming after a broken IDoc: the bytes after the fault are scanned for the next `<IDOC>` start
//! tag, and a fresh parser starts there, fed the tag's first bytes again through [`Resume`].

use std::io::{BufRead, Read};

use super::super::xml_json::local_name;

/// Longest element name the scanner recognises (prefix included); longer names are not IDoc tags.
const MAX_TAG_NAME: usize = 128;

/// A reader that hands out `prefix` (bytes already taken from `inner` while scanning) before the
/// rest of `inner`.
pub struct Resume<R> {
    prefix: Vec<u8>,
    position: usize,
    inner: R,
}

impl<R> Resume<R> {
    /// Reads `inner` as it is.
    pub fn new(inner: R) -> Self {
        Self {
            prefix: Vec::new(),
            position: 0,
            inner,
        }
    }

    /// Hands `bytes`, taken from this reader, out again before whatever it holds still.
    pub fn unread(&mut self, mut bytes: Vec<u8>) {
        bytes.extend_from_slice(&self.prefix[self.position..]);
        self.prefix = bytes;
        self.position = 0;
    }
}

impl<R: BufRead> Read for Resume<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Resume<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.position < self.prefix.len() {
            return Ok(&self.prefix[self.position..]);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if self.position < self.prefix.len() {
            self.position = (self.position + amount).min(self.prefix.len());
        } else {
            self.inner.consume(amount);
        }
    }
}

/// What the scan after a fault found.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// The next IDoc start tag begins `skipped` bytes after the scan's start; the reader hands
    /// out the tag from its `<` on.
    Idoc { skipped: u64 },
    /// The file ends without another IDoc; `root_closed` tells whether the root's end tag was
    /// seen on the way (a complete file whose last IDoc is broken) or not (a truncated file).
    End { root_closed: bool },
}

/// Scans `reader` for the next start tag whose local name is `IDOC` (`<IDOC>`, `<IDOC BEGIN="1">`,
/// `<ns0:IDOC>`), noting on the way whether the end tag of `root` passes.
pub fn next_idoc<R: BufRead>(reader: &mut Resume<R>, root: &str) -> std::io::Result<Found> {
    let mut skipped = 0u64;
    // The tag being read since the last `<`, while it can still be an IDoc or root tag.
    let mut tag: Vec<u8> = Vec::with_capacity(MAX_TAG_NAME);
    let mut in_tag = false;
    let mut root_closed = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(Found::End { root_closed });
        }
        let mut found = None;
        for (i, &byte) in chunk.iter().enumerate() {
            if byte == b'<' {
                tag.clear();
                tag.push(byte);
                in_tag = true;
                continue;
            }
            if !in_tag {
                continue;
            }
            let is_name = byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b':' | b'.');
            let is_slash_after_open = byte == b'/' && tag.len() == 1;
            if (is_name || is_slash_after_open) && tag.len() < MAX_TAG_NAME {
                tag.push(byte);
                continue;
            }
            in_tag = false;
            let ends_name = byte.is_ascii_whitespace() || matches!(byte, b'>' | b'/');
            if !ends_name {
                continue;
            }
            let name = String::from_utf8_lossy(&tag[1..]);
            if let Some(closing) = name.strip_prefix('/') {
                root_closed |= closing == root;
                continue;
            }
            if local_name(&name) == "IDOC" {
                found = Some(i);
                break;
            }
        }
        let length = chunk.len();
        match found {
            Some(end_of_name) => {
                // The tag's `<` and name were taken from this chunk or earlier ones: they are
                // handed out again before the byte that ended the name.
                reader.consume(end_of_name);
                skipped = (skipped + end_of_name as u64).saturating_sub(tag.len() as u64);
                reader.unread(std::mem::take(&mut tag));
                return Ok(Found::Idoc { skipped });
            }
            None => {
                reader.consume(length);
                skipped += length as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str, root: &str) -> (Found, String) {
        let mut reader = Resume::new(std::io::BufReader::with_capacity(4, text.as_bytes()));
        let found = next_idoc(&mut reader, root).unwrap();
        let mut rest = String::new();
        reader.read_to_string(&mut rest).unwrap();
        (found, rest)
    }

    #[test]
    fn finds_the_next_idoc_tag_across_buffer_boundaries() {
        let text = "<X>1</X></IDOC>\n<IDOC BEGIN=\"1\"><EDI_DC40>";
        let (found, rest) = scan(text, "DEBMAS07");
        let start = text.find("<IDOC ").unwrap() as u64;
        assert_eq!(found, Found::Idoc { skipped: start });
        assert_eq!(rest, "<IDOC BEGIN=\"1\"><EDI_DC40>");
    }

    #[test]
    fn idoctyp_and_end_tags_are_not_idoc_starts_but_prefixed_ones_are() {
        let text = "<IDOCTYP>DEBMAS07</IDOCTYP></IDOC><ns0:IDOC>";
        let (found, rest) = scan(text, "ns0:DEBMAS07");
        assert_eq!(
            found,
            Found::Idoc {
                skipped: text.find("<ns0:IDOC").unwrap() as u64
            }
        );
        assert_eq!(rest, "<ns0:IDOC>");
    }

    #[test]
    fn the_end_tells_whether_the_root_was_closed() {
        assert_eq!(
            scan("<A>x</A></IDOC>\n</DEBMAS07>\n", "DEBMAS07").0,
            Found::End { root_closed: true }
        );
        assert_eq!(
            scan("<A>x</A></IDOC>\n", "DEBMAS07").0,
            Found::End { root_closed: false }
        );
    }
}
