//! Reading an answer's body within a cap, so one huge answer (a 1 GB export behind an endpoint,
//! a server ignoring the page size) cannot take the process's memory: an answer announced larger
//! than the cap is refused before its body is read, and one that grows past it while streaming
//! (chunked, no length) is dropped as soon as it does.

use bytes::{Bytes, BytesMut};

/// How a body could not be read.
pub(super) enum BodyError {
    /// The answer is larger than the cap: by its `Content-Length`, or by what arrived.
    TooLarge(Oversize),
    /// The connection broke off or timed out while the body was read.
    Broken(reqwest::Error),
}

/// How an answer was found too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// Its `Content-Length` announced this many bytes.
    Announced(u64),
    /// More than the cap arrived; reading stopped at this many bytes.
    Streamed(u64),
}

impl std::fmt::Display for Oversize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Oversize::Announced(size) => write!(f, "its Content-Length is {size} bytes"),
            Oversize::Streamed(size) => write!(f, "reading stopped after {size} bytes"),
        }
    }
}

/// The whole body of `response`, at most `cap` bytes.
pub(super) async fn read_capped(
    mut response: reqwest::Response,
    cap: u64,
) -> Result<Bytes, BodyError> {
    let announced = response.content_length();
    if let Some(size) = announced.filter(|size| *size > cap) {
        return Err(BodyError::TooLarge(Oversize::Announced(size)));
    }
    let mut body = BytesMut::with_capacity(announced.unwrap_or(0) as usize);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Broken)? {
        let size = (body.len() + chunk.len()) as u64;
        if size > cap {
            return Err(BodyError::TooLarge(Oversize::Streamed(size)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The start of an error answer's body (at most `limit` bytes), for quoting in an error
/// message; the rest is never read.
pub(super) async fn read_prefix(mut response: reqwest::Response, limit: usize) -> String {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(limit);
    String::from_utf8_lossy(&body).into_owned()
}
