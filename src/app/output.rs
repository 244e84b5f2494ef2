//! What commands print on stdout, in one place: a table for people or JSON lines for programs,
//! every registered secret masked (see [`crate::redact`]), and a reader that went away
//! (`concord events | head`) ends the output quietly instead of panicking.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

/// Set once stdout's reader is gone; later output is dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// How a listing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    Table,
    /// One JSON object per line.
    Jsonl,
}

/// Writes `text` to stdout as it is. A closed pipe is remembered and every later write skipped;
/// other errors (a full disk) are reported once on stderr.
pub fn print(text: &str) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        CLOSED.store(true, Ordering::Relaxed);
        if error.kind() != ErrorKind::BrokenPipe {
            crate::errln!("error: writing to stdout: {error}");
        }
    }
}

/// Writes one line to stdout.
pub fn line(text: impl AsRef<str>) {
    let mut text = text.as_ref().to_string();
    text.push('\n');
    print(&text);
}

/// True once stdout's reader has gone: a listing stops producing output nobody reads.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// A listing in the chosen format: `table` renders all rows for a terminal, `jsonl` prints one
/// JSON object per row.
pub fn listing<T: Serialize>(format: Format, rows: &[T], table: impl FnOnce(&[T]) -> String) {
    match format {
        Format::Table => print(&table(rows)),
        Format::Jsonl => {
            for row in rows {
                if closed() {
                    return;
                }
                match serde_json::to_string(row) {
                    Ok(json) => line(json),
                    Err(error) => crate::errln!("error: a row cannot be written as JSON: {error}"),
                }
            }
        }
    }
}
