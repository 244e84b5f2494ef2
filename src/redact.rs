//! The one place secrets are masked. Every value read from `${VAR}` in a config file and every
//! credential (an auth field, a password in a URL, an OAuth token a server issued) is registered
//! here, in each form it travels in (as written, URL-encoded, JSON-escaped, Base64 inside a
//! `Basic` header); every output consults it: log lines through [`RedactingMakeWriter`], what the
//! command line prints through [`outln!`](crate::outln) / [`errln!`](crate::errln), and what the
//! store keeps of errors and quarantined records through [`scrub`].
//!
//! Registering is cheap and idempotent, so each component registers what it learns where it
//! learns it, and no call site has to remember to mask.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::RwLock;

use base64::Engine as _;

/// What a masked secret is replaced by.
pub const MASK: &str = "***";

/// A value from `${VAR}` shorter than this is not masked: two or three characters (`10`, `on`,
/// `de`) are port numbers, sizes and switches, and masking them would blank every number in a log.
/// Credentials are masked whatever their length.
pub const MIN_ENV_VALUE_LEN: usize = 4;

/// The masked texts, longest first so a secret containing another is masked whole.
static REGISTRY: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a value read from the environment for a config file.
pub fn register_env_value(value: &str) {
    let trimmed = value.trim();
    if trimmed.chars().count() < MIN_ENV_VALUE_LEN || matches!(trimmed, "true" | "false" | "null") {
        return;
    }
    register_secret(value);
}

/// Registers a credential (a password, token, key or client secret), whatever its length.
pub fn register_secret(value: &str) {
    if value.is_empty() {
        return;
    }
    let mut forms = vec![value.to_string(), value.trim().to_string()];
    forms.push(percent_encode(value, false));
    forms.push(percent_encode(value, true));
    let json = serde_json::Value::String(value.to_string()).to_string();
    forms.push(json[1..json.len() - 1].to_string());
    let debug = format!("{value:?}");
    forms.push(debug[1..debug.len() - 1].to_string());
    add(forms);
}

/// Registers the credentials of HTTP Basic auth: the password, and `user:password` as it travels
/// Base64-encoded in the `Authorization` header (a server's error page may echo the header).
pub fn register_basic(username: &str, password: &str) {
    register_secret(password);
    let pair = format!("{username}:{password}");
    add(vec![
        base64::engine::general_purpose::STANDARD.encode(&pair),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&pair),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&pair),
    ]);
}

fn add(forms: Vec<String>) {
    let Ok(mut registry) = REGISTRY.write() else {
        return;
    };
    for form in forms {
        if !form.is_empty() && !registry.contains(&form) {
            registry.push(form);
        }
    }
    registry.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered secret replaced by [`MASK`].
pub fn scrub(text: &str) -> Cow<'_, str> {
    let Ok(registry) = REGISTRY.read() else {
        return Cow::Borrowed(text);
    };
    let mut out = Cow::Borrowed(text);
    for secret in registry.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    out
}

/// `value` with every registered secret masked in its strings (keys included), so a stored JSON
/// document stays valid JSON.
pub fn scrub_json(value: &serde_json::Value) -> Cow<'_, serde_json::Value> {
    use serde_json::Value;
    fn walk(value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(scrub(s).into_owned()),
            Value::Array(items) => Value::Array(items.iter().map(walk).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (scrub(k).into_owned(), walk(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    let any = REGISTRY.read().map(|r| !r.is_empty()).unwrap_or(false);
    if any && contains_secret(&value.to_string()) {
        Cow::Owned(walk(value))
    } else {
        Cow::Borrowed(value)
    }
}

/// Whether `text` holds a registered secret.
pub fn contains_secret(text: &str) -> bool {
    matches!(scrub(text), Cow::Owned(_))
}

/// Percent-encodes every byte but RFC 3986's unreserved ones; `form` writes a space as `+`, as
/// `application/x-www-form-urlencoded` bodies and query strings do.
fn percent_encode(value: &str, form: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            b' ' if form => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Prints a line to stderr with every registered secret masked; the command line's `eprintln!`.
#[macro_export]
macro_rules! errln {
    () => { ::std::eprintln!() };
    ($($arg:tt)*) => {
        ::std::eprintln!("{}", $crate::redact::scrub(&::std::format!($($arg)*)))
    };
}

/// A `tracing_subscriber` writer factory that masks secrets in every log line, at every level and
/// in every format, before it reaches the inner writer.
#[derive(Debug, Clone)]
pub struct RedactingMakeWriter<M> {
    inner: M,
}

impl<M> RedactingMakeWriter<M> {
    /// Wraps `inner` (e.g. `std::io::stderr`).
    pub fn new(inner: M) -> Self {
        RedactingMakeWriter { inner }
    }
}

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for RedactingMakeWriter<M>
{
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.inner.make_writer(),
            buffer: Vec::new(),
        }
    }
}

/// One log event's writer: collects the formatted event and writes it masked when dropped, so a
/// secret split across several `write` calls is still found.
pub struct RedactingWriter<W: Write> {
    inner: W,
    buffer: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    fn write_out(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buffer);
        let masked = scrub(&text);
        self.inner.write_all(masked.as_bytes())?;
        self.buffer.clear();
        self.inner.flush()
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        // A log line that cannot be written has nowhere to report that either.
        let _ = self.write_out();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_secret_is_masked() {
        register_secret("c4n@ry pass\"w");
        let text = "raw c4n@ry pass\"w, url c4n%40ry%20pass%22w, form c4n%40ry+pass%22w, json c4n@ry pass\\\"w";
        assert_eq!(
            scrub(text),
            "raw ***, url ***, form ***, json ***",
            "{}",
            scrub(text)
        );
    }

    #[test]
    fn basic_header_is_masked_and_short_env_values_are_not() {
        register_basic("erp-user", "pw");
        let header = base64::engine::general_purpose::STANDARD.encode("erp-user:pw");
        assert_eq!(
            scrub(&format!("Authorization: Basic {header}")),
            "Authorization: Basic ***"
        );
        register_env_value("10");
        assert_eq!(scrub("page 10 of 100"), "page 10 of 100");
        register_env_value("7531902468");
        assert!(contains_secret("invalid type: integer `7531902468`"));
    }

    #[test]
    fn log_lines_are_masked_when_written() {
        register_secret("tr4ce-canary");
        let mut out = Vec::new();
        {
            let mut writer = RedactingWriter {
                inner: &mut out,
                buffer: Vec::new(),
            };
            write!(writer, "token=tr4ce-").unwrap();
            writeln!(writer, "canary end").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "token=*** end\n");
    }
}
