//! A reader that hands on no line longer than a limit, so the csv parser never loads one
//! runaway line whole.
//!
//! A line over the limit is read to its end without being kept (only counted) and reported as a
//! [`LineTooLong`] I/O error; the next read starts on the following line, so the caller can
//! report the line and go on with a fresh parser.

use std::io::{BufRead, Read};

/// A line longer than the limit, read past.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTooLong {
    /// The line's number in the file, from 1.
    pub line: u64,
    /// Its length in bytes, its `\n` left out.
    pub size: u64,
}

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {} is {} bytes long", self.line, self.size)
    }
}

impl std::error::Error for LineTooLong {}

/// The [`LineTooLong`] an I/O error carries, if it is one.
pub fn line_too_long(error: &std::io::Error) -> Option<&LineTooLong> {
    error.get_ref()?.downcast_ref::<LineTooLong>()
}

/// Passes the bytes of `inner` through, line by line, up to `limit` bytes a line.
pub struct LineCap<R> {
    inner: R,
    limit: u64,
    /// Bytes of the current line handed on so far.
    on_line: u64,
    /// Lines completed (ended by `\n`) so far.
    lines: u64,
}

impl<R: BufRead> LineCap<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Self {
            inner,
            limit: limit.max(1),
            on_line: 0,
            lines: 0,
        }
    }

    /// The longest line handed on, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Lines completed so far: where a parser started now counts its lines from.
    pub fn lines_read(&self) -> u64 {
        self.lines
    }

    /// Reads past the rest of the current line, counting it; the error to report.
    fn skip_line(&mut self) -> std::io::Error {
        let line = self.lines + 1;
        let mut size = self.on_line;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(chunk) => chunk,
                Err(error) => return error,
            };
            if chunk.is_empty() {
                break;
            }
            match chunk.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    size += end as u64;
                    self.inner.consume(end + 1);
                    self.lines += 1;
                    break;
                }
                None => {
                    size += chunk.len() as u64;
                    let all = chunk.len();
                    self.inner.consume(all);
                }
            }
        }
        self.on_line = 0;
        std::io::Error::other(LineTooLong { line, size })
    }
}

impl<R: BufRead> Read for LineCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let chunk = self.inner.fill_buf()?;
        if chunk.is_empty() || buf.is_empty() {
            return Ok(0);
        }
        let room = self.limit - self.on_line;
        let line_end = chunk.iter().position(|&b| b == b'\n');
        let wanted = line_end.map_or(chunk.len(), |end| end + 1);
        // The line goes on past the limit: nothing more of it is handed on.
        let content = line_end.unwrap_or(chunk.len()) as u64;
        if room == 0 || (content > room) {
            return Err(self.skip_line());
        }
        let n = wanted.min(buf.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        self.inner.consume(n);
        if line_end.is_some_and(|end| end < n) {
            self.lines += 1;
            self.on_line = 0;
        } else {
            self.on_line += n as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], limit: u64) -> (Vec<u8>, Vec<LineTooLong>) {
        let mut cap = LineCap::new(std::io::BufReader::with_capacity(4, input), limit);
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        let mut buf = [0u8; 3];
        loop {
            match cap.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(error) => errors.push(line_too_long(&error).unwrap().clone()),
            }
        }
        (out, errors)
    }

    #[test]
    fn lines_within_the_limit_pass_unchanged() {
        let (out, errors) = read_all(b"a,b\n1,2\n12345\n", 5);
        assert_eq!(out, b"a,b\n1,2\n12345\n");
        assert!(errors.is_empty());
    }

    #[test]
    fn a_long_line_is_skipped_with_its_number_and_size_and_reading_goes_on() {
        let (out, errors) = read_all(b"a,b\n1,2\n123456789012\n3,4", 5);
        // Up to the limit of the long line may have been handed on before it proved too long: the
        // caller drops the row being parsed.
        assert!(out.starts_with(b"a,b\n1,2\n"), "{out:?}");
        assert!(out.ends_with(b"3,4"), "{out:?}");
        assert!(out.len() <= 8 + 5 + 3, "{out:?}");
        assert_eq!(errors, vec![LineTooLong { line: 3, size: 12 }]);
    }
}
