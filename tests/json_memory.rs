//! Peak memory of the `json` driver on a generated 300 MB document (issue 12.10), against what
//! parsing the whole document into one value costs. A measurement, not a timed check: run it by
//! hand with
//! `cargo test --release --test json_memory -- --ignored --nocapture`.

use std::io::Write;

use concord::connector::files::default_max_record_size;
use concord::connector::json::{JsonConfig, JsonConnector, JsonFormat};
use concord::connector::{Connector, Pulled};
use futures::StreamExt;

/// The process's peak resident set so far, in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Writes an ERPNext-style `{"data": [...]}` export of about `bytes` bytes; returns its records.
fn write_export(path: &std::path::Path, bytes: usize) -> u64 {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(b"{\"meta\": {\"page\": 1}, \"data\": [\n")
        .unwrap();
    let mut written = 0;
    let mut n = 0u64;
    while written < bytes {
        let record = format!(
            "{}{{\"name\": \"CUST-{n:07}\", \"customer_name\": \"Müller & Söhne GmbH {n}\", \"tax_id\": \"DE{n:09}\", \"email_id\": \"info{n}@example.de\", \"city\": \"München\", \"modified\": \"2024-03-14 10:15:00.123456\", \"notes\": \"{}\"}}\n",
            if n == 0 { "" } else { "," },
            "x".repeat(120)
        );
        out.write_all(record.as_bytes()).unwrap();
        written += record.len();
        n += 1;
    }
    out.write_all(b"]}\n").unwrap();
    out.flush().unwrap();
    n
}

#[tokio::test]
#[ignore = "writes 300 MB; run by hand with --ignored --nocapture"]
async fn a_300_mb_export_streams_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    let records = write_export(&path, 300 * 1024 * 1024);
    let size_mib = std::fs::metadata(&path).unwrap().len() as f64 / 1024.0 / 1024.0;
    let start_mib = peak_rss_mib();

    let connector = JsonConnector::new(
        JsonConfig {
            files: "customers.json".into(),
            records: Some("$.data[*]".into()),
            format: JsonFormat::Auto,
            max_record_size: default_max_record_size(),
        },
        dir.path(),
    );
    let mut stream = connector.pull(None);
    let mut read = 0u64;
    while let Some(item) = stream.next().await {
        if let Pulled::Record(_) = item.unwrap() {
            read += 1;
        }
    }
    assert_eq!(read, records);
    let streamed_mib = peak_rss_mib();

    // What reading the document whole costs (the driver before issue 12.10).
    let bytes = std::fs::read(&path).unwrap();
    let document: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        document["data"].as_array().map(Vec::len),
        Some(records as usize)
    );
    let whole_mib = peak_rss_mib();
    println!(
        "json: {records} records, {size_mib:.0} MiB file; peak RSS {start_mib:.0} MiB at start, \
         {streamed_mib:.0} MiB after streaming every record, {whole_mib:.0} MiB after parsing it whole"
    );
    assert!(streamed_mib < start_mib + 100.0, "{streamed_mib} MiB");
}
