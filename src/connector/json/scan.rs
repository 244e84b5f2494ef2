//! A byte scanner over a JSON document that finds where each value ends without building it, so
//! a big document is read one record at a time and a record over the size limit is skipped
//! without being held.

use std::io::BufRead;

/// Why a scan stopped short.
#[derive(Debug)]
pub enum ScanError {
    /// The document ends inside a value (a truncated file).
    End,
    Io(std::io::Error),
}

impl From<std::io::Error> for ScanError {
    fn from(error: std::io::Error) -> Self {
        ScanError::Io(error)
    }
}

/// One value's bytes, as captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Captured {
    /// The value's length in bytes.
    pub size: u64,
    /// The value was longer than the limit: its bytes were not kept.
    pub too_large: bool,
}

/// A JSON document read from `input`, with the position reached.
pub struct JsonScanner<R> {
    input: R,
    /// Bytes consumed so far.
    pub offset: u64,
    /// The line the scanner is on, from 1.
    pub line: u64,
}

impl<R: BufRead> JsonScanner<R> {
    /// Starts at the beginning of `input`, past a UTF-8 byte order mark.
    pub fn new(mut input: R) -> std::io::Result<Self> {
        let bom = input.fill_buf()?.starts_with(b"\xEF\xBB\xBF");
        let mut scanner = Self {
            input,
            offset: 0,
            line: 1,
        };
        if bom {
            scanner.input.consume(3);
            scanner.offset = 3;
        }
        Ok(scanner)
    }

    /// The next byte that is not whitespace, left unconsumed; `None` at the end.
    pub fn peek(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            let chunk = self.input.fill_buf()?;
            let Some(&first) = chunk.first() else {
                return Ok(None);
            };
            let blank = chunk
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(chunk.len());
            let lines = chunk[..blank].iter().filter(|&&b| b == b'\n').count() as u64;
            if blank == 0 {
                return Ok(Some(first));
            }
            self.line += lines;
            self.offset += blank as u64;
            self.input.consume(blank);
        }
    }

    /// Consumes one byte (one [`peek`](Self::peek) returned).
    pub fn bump(&mut self) {
        self.input.consume(1);
        self.offset += 1;
    }

    /// Reads the next value's bytes into `out` (cleared first) while they stay within `limit`
    /// bytes; beyond it the value is scanned to its end without being kept.
    pub fn capture(&mut self, limit: u64, out: &mut Vec<u8>) -> Result<Captured, ScanError> {
        out.clear();
        let first = self.peek()?.ok_or(ScanError::End)?;
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut size = 0u64;
        let mut too_large = false;
        loop {
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                return if scalar && size > 0 {
                    Ok(Captured { size, too_large })
                } else {
                    Err(ScanError::End)
                };
            }
            let mut end = None;
            for (i, &byte) in chunk.iter().enumerate() {
                if scalar {
                    if matches!(byte, b',' | b']' | b'}') || byte.is_ascii_whitespace() {
                        end = Some(i);
                        break;
                    }
                    continue;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if byte == b'\\' {
                        escaped = true;
                    } else if byte == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    continue;
                }
                match byte {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let take = end.unwrap_or(chunk.len());
            if !too_large && size + take as u64 <= limit {
                out.extend_from_slice(&chunk[..take]);
            } else if !too_large {
                too_large = true;
                out.clear();
                out.shrink_to(0);
            }
            self.line += chunk[..take].iter().filter(|&&b| b == b'\n').count() as u64;
            size += take as u64;
            self.offset += take as u64;
            self.input.consume(take);
            if end.is_some() {
                return Ok(Captured { size, too_large });
            }
        }
    }
}

/// Reads one line into `out` (without its `\n`) while it stays within `limit` bytes; beyond it
/// the line is read to its end without being kept. `None` at the end of the input.
pub fn read_line<R: BufRead>(
    input: &mut R,
    limit: u64,
    out: &mut Vec<u8>,
) -> std::io::Result<Option<Captured>> {
    out.clear();
    let mut size = 0u64;
    let mut too_large = false;
    let mut any = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(any.then_some(Captured { size, too_large }));
        }
        any = true;
        let newline = chunk.iter().position(|&b| b == b'\n');
        let take = newline.unwrap_or(chunk.len());
        if !too_large && size + take as u64 <= limit {
            out.extend_from_slice(&chunk[..take]);
        } else if !too_large {
            too_large = true;
            out.clear();
            out.shrink_to(0);
        }
        size += take as u64;
        let consumed = newline.map_or(take, |at| at + 1);
        input.consume(consumed);
        if newline.is_some() {
            return Ok(Some(Captured { size, too_large }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner(text: &str) -> JsonScanner<std::io::BufReader<&[u8]>> {
        JsonScanner::new(std::io::BufReader::with_capacity(3, text.as_bytes())).unwrap()
    }

    #[test]
    fn captures_values_of_every_kind_across_buffer_ends() {
        let mut scan = scanner(" {\"a\": \"}]\\\"\", \"b\": [1, {}]} , 12.5e3]\n\"x\\\"y\" true");
        let mut out = Vec::new();
        scan.capture(1000, &mut out).unwrap();
        assert_eq!(out, br#"{"a": "}]\"", "b": [1, {}]}"#);
        assert_eq!(scan.peek().unwrap(), Some(b','));
        scan.bump();
        scan.capture(1000, &mut out).unwrap();
        assert_eq!(out, b"12.5e3");
        assert_eq!(scan.peek().unwrap(), Some(b']'));
        scan.bump();
        scan.capture(1000, &mut out).unwrap();
        assert_eq!(out, br#""x\"y""#);
        assert_eq!(scan.line, 2);
        let last = scan.capture(1000, &mut out).unwrap();
        assert_eq!((out.as_slice(), last.size), (&b"true"[..], 4));
        assert_eq!(scan.peek().unwrap(), None);
    }

    #[test]
    fn a_value_over_the_limit_is_measured_not_kept() {
        let mut scan = scanner("[\"0123456789\", 1]");
        scan.bump();
        let mut out = Vec::new();
        let captured = scan.capture(5, &mut out).unwrap();
        assert_eq!(
            captured,
            Captured {
                size: 12,
                too_large: true
            }
        );
        assert!(out.is_empty());
        assert_eq!(scan.peek().unwrap(), Some(b','));
    }

    #[test]
    fn a_value_cut_off_is_the_end() {
        let mut scan = scanner("{\"a\": [1, 2");
        assert!(matches!(
            scan.capture(100, &mut Vec::new()),
            Err(ScanError::End)
        ));
    }

    #[test]
    fn lines_are_read_within_the_limit() {
        let mut input = std::io::BufReader::with_capacity(4, &b"abc\n0123456789\nxy"[..]);
        let mut out = Vec::new();
        let first = read_line(&mut input, 5, &mut out).unwrap().unwrap();
        assert_eq!((out.as_slice(), first.too_large), (&b"abc"[..], false));
        let long = read_line(&mut input, 5, &mut out).unwrap().unwrap();
        assert!(long.too_large && long.size == 10 && out.is_empty());
        read_line(&mut input, 5, &mut out).unwrap().unwrap();
        assert_eq!(out, b"xy");
        assert!(read_line(&mut input, 5, &mut out).unwrap().is_none());
    }
}
