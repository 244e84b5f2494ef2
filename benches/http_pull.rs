//! HTTP pull benchmark: a local server answering like ERPNext's `/api/resource/Customer`
//! (`{"data": [...]}`, `limit_start`/`limit_page_length`, 1,000 per page, pages generated on the
//! fly and deterministic), read by the `http` driver alone (stream drained), then by a full
//! `Pipeline::sync` (pull + map with `mappings/erpnext/customer.yaml` + reconcile + store) into a
//! fresh SQLite file under `benches/data/`.
//!
//! `cargo bench --bench http_pull -- [RECORDS ...]` (default: 1000000).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use futures::StreamExt;

use concord::config::Config;
use concord::connector::http::HttpConnector;
use concord::connector::{Connector, DriverConfig, Pulled};
use concord::store;
use concord::sync::{NoProgress, Pipeline, SyncOptions};

/// The same allocator as the `concord` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PAGE: usize = 1_000;

/// One page of customers `start..start + length` of `total`, as ERPNext writes them.
async fn customers(
    State(total): State<usize>,
    Query(query): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let start: usize = query
        .get("limit_start")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let length: usize = query
        .get("limit_page_length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let end = (start + length).min(total);
    let mut body = String::with_capacity(length * 520 + 16);
    body.push_str("{\"data\":[");
    for n in start..end {
        if n > start {
            body.push(',');
        }
        let day = 1 + n / 86_400 % 28;
        let (hour, minute, second) = (n / 3600 % 24, n / 60 % 60, n % 60);
        let _ = write!(
            body,
            r#"{{"name":"CUST-{n:07}","owner":"Administrator","creation":"2023-01-01 00:00:00.000000","modified":"2024-02-{day:02} {hour:02}:{minute:02}:{second:02}.{micro:06}","modified_by":"Administrator","docstatus":0,"idx":0,"doctype":"Customer","naming_series":"CUST-.YYYY.-","customer_name":"Kunde {n} GmbH","customer_type":"{kind}","customer_group":"Commercial","territory":"Germany","tax_id":"DE{vat:09}","email_id":"einkauf{n}@kunde{n}.de","mobile_no":"+49 711 {phone:07}","disabled":0,"address_line1":"Hauptstra\u00dfe {house}","pincode":"{zip:05}","city":"Stuttgart","state":"Baden-W\u00fcrttemberg","country":"Germany","default_currency":"EUR"}}"#,
            micro = n % 1_000_000,
            kind = if n % 7 == 0 { "Individual" } else { "Company" },
            vat = 100_000_000 + n,
            phone = n % 10_000_000,
            house = 1 + n % 200,
            zip = 10_000 + n % 89_999,
        );
    }
    body.push_str("]}");
    ([(CONTENT_TYPE, "application/json")], body)
}

async fn serve(total: usize) -> anyhow::Result<String> {
    let router = Router::new()
        .route("/api/resource/Customer", get(customers))
        .with_state(total);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(format!("http://{address}"))
}

fn write_config(dir: &Path, base_url: &str) -> anyhow::Result<Config> {
    std::fs::create_dir_all(dir)?;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("bench.db{suffix}")));
    }
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/erpnext/customer.yaml");
    let path = dir.join("concord.yaml");
    std::fs::write(
        &path,
        format!(
            r#"
store: {{ url: "sqlite://bench.db" }}
sources:
  - name: erpnext
    driver: http
    base_url: "{base_url}"
    auth: {{ type: frappe_token, key: bench-key, secret: bench-secret }}
    headers: {{ Accept: application/json }}
    concurrency: 4
    streams:
      - name: customers
        path: /api/resource/Customer
        query: {{ fields: '["*"]', order_by: "modified asc, name asc", filters: '[["modified", ">=", "{{{{cursor}}}}"]]' }}
        records: "$.data[*]"
        pagination: {{ type: offset, offset_param: limit_start, limit_param: limit_page_length, limit: {PAGE} }}
        incremental: {{ field: modified, key: name, initial: "1970-01-01 00:00:00", lookback: 10m }}
    mappings: ["{}"]
"#,
            mapping.display()
        ),
    )?;
    Ok(Config::load(&path)?)
}

async fn bench(total: usize) -> anyhow::Result<()> {
    let base_url = serve(total).await?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("benches/data/http-{total}"));
    let config = write_config(&dir, &base_url)?;
    let DriverConfig::Http(http) = &config.sources[0].driver else {
        anyhow::bail!("the bench source is not an http source");
    };

    let started = Instant::now();
    let mut stream = HttpConnector::new(http.clone(), &config.base_dir).pull(None);
    let mut read = 0usize;
    while let Some(item) = stream.next().await {
        if let Pulled::Record(_) = item? {
            read += 1;
        }
    }
    let pull = started.elapsed().as_secs_f64();
    anyhow::ensure!(read == total, "pulled {read} of {total} records");
    println!(
        "http pull        {total:>9} records  {pull:>7.2} s  {:>9.0} records/s",
        total as f64 / pull
    );

    let pipeline = Pipeline::compile(config.clone())?;
    let store = store::open(&config.store_url()).await?;
    let started = Instant::now();
    let summaries = pipeline
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await?;
    let full = started.elapsed().as_secs_f64();
    let summary = &summaries[0];
    anyhow::ensure!(
        summary.reconcile.created as usize == total,
        "created {} of {total} customers (quarantined {}, unmatched {})",
        summary.reconcile.created,
        summary.quarantined,
        summary.unmatched
    );
    println!(
        "pull+map+store   {total:>9} records  {full:>7.2} s  {:>9.0} records/s",
        total as f64 / full
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    concord::memory::configure();
    let mut counts: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.replace('_', "").parse().ok())
        .collect();
    if counts.is_empty() {
        counts.push(1_000_000);
    }
    for total in counts {
        bench(total).await?;
    }
    Ok(())
}
