//! sql driver benchmark: a PostgreSQL table of N customers (filled once, server-side, and kept
//! while its row count is right), pulled by keyset pages of 5,000 rows.
//!
//! `cargo bench --bench sql_pull -- [N ...]` (default 100000). Prints records/s for the pull alone
//! (stream drained, nothing mapped) and for a full `Pipeline::sync` (pull + map + reconcile + store)
//! into a fresh SQLite store. `CONCORD_BENCH_PG_URL` overrides
//! `postgres://postgres@127.0.0.1:5432/test`.

use std::time::Instant;

use futures::StreamExt;

use concord::config::Config;
use concord::connector::sql::SqlConnector;
use concord::connector::{Connector, DriverConfig, Pulled};
use concord::store;
use concord::sync::{NoProgress, Pipeline, SyncOptions};

/// The same allocator as the `concord` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PAGE_SIZE: u32 = 5000;

const MAPPING: &str = r#"
entity: customer
stream: customers
key: { path: "$.id" }
changed_at: { path: "$.updated_at" }
fields:
  name: { path: "$.name", required: true }
  tax_id: { path: "$.vat" }
  emails: { path: "$.email", many: true }
  addresses:
    each: "$"
    fields:
      city: { path: "$.city" }
      country: { path: "$.country" }
"#;

fn pg_url() -> String {
    std::env::var("CONCORD_BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Creates and fills the table unless it already holds `rows` rows. Ten rows share each change
/// time, so pages split rows of one instant.
async fn fill(pool: &sqlx::PgPool, table: &str, rows: i64) -> anyhow::Result<()> {
    let count: Option<i64> = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .ok();
    if count == Some(rows) {
        return Ok(());
    }
    let started = Instant::now();
    sqlx::raw_sql(&format!(
        "DROP TABLE IF EXISTS {table};
         CREATE TABLE {table} (id BIGINT PRIMARY KEY, name TEXT NOT NULL, vat TEXT, email TEXT,
           city TEXT, country TEXT, credit_limit NUMERIC(14,2), updated_at TIMESTAMPTZ NOT NULL);
         INSERT INTO {table}
           SELECT n, 'Customer ' || n || ' GmbH', 'DE' || lpad(n::text, 9, '0'),
                  'c' || n || '@example.com', 'Stuttgart', 'DE', (n % 100000) * 1.25,
                  timestamptz '2024-01-01T00:00:00Z' + (n / 10) * interval '1 second'
           FROM generate_series(1, {rows}) AS n;
         CREATE INDEX ON {table} (updated_at, id);
         ANALYZE {table};"
    ))
    .execute(pool)
    .await?;
    println!(
        "filled {table} with {rows} rows in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn config_yaml(table: &str) -> String {
    format!(
        r#"store: {{ url: "sqlite://concord.db" }}
sources:
  - name: erp
    driver: sql
    url: "{}"
    streams:
      - name: customers
        query: "SELECT id, name, vat, email, city, country, credit_limit, updated_at FROM {table} WHERE (updated_at, id) > (:cursor, :cursor_key) ORDER BY updated_at, id LIMIT :limit"
        cursor: {{ column: updated_at, key: id, initial: "1970-01-01T00:00:00Z" }}
        page_size: {PAGE_SIZE}
    mappings: [customer.yaml]
"#,
        pg_url()
    )
}

async fn bench(rows: i64) -> anyhow::Result<()> {
    let table = format!("concord_bench_customers_{rows}");
    let pool = sqlx::PgPool::connect(&pg_url()).await?;
    fill(&pool, &table, rows).await?;
    pool.close().await;

    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("customer.yaml"), MAPPING)?;
    std::fs::write(dir.path().join("concord.yaml"), config_yaml(&table))?;
    let config = Config::load(&dir.path().join("concord.yaml"))?;
    let DriverConfig::Sql(sql) = &config.sources[0].driver else {
        anyhow::bail!("the bench config has no sql source");
    };
    let started = Instant::now();
    let mut stream = SqlConnector::new(sql.clone(), dir.path()).pull(None);
    let mut records = 0u64;
    while let Some(item) = stream.next().await {
        match item {
            Ok(Pulled::Record(_)) => records += 1,
            Ok(Pulled::Checkpoint(_) | Pulled::KeyScan(_)) => {}
            Err(error) => anyhow::bail!("pull failed: {error}"),
        }
    }
    let pull = started.elapsed().as_secs_f64();
    anyhow::ensure!(records == rows as u64, "pulled {records} of {rows}");
    println!(
        "sql pull alone    {rows:>8} rows: {pull:>6.2}s  {:>9.0} records/s",
        rows as f64 / pull
    );

    let pipeline = Pipeline::compile(config.clone())?;
    let store = store::open(&config.store_url()).await?;
    let started = Instant::now();
    let summaries = pipeline
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await?;
    let full = started.elapsed().as_secs_f64();
    let erp = &summaries[0];
    anyhow::ensure!(
        erp.read == rows as u64 && erp.reconcile.created == rows as u64,
        "synced {erp:?}"
    );
    println!(
        "sql pull+map+store {rows:>7} rows: {full:>6.2}s  {:>9.0} records/s",
        rows as f64 / full
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    concord::memory::configure();
    let counts: Vec<i64> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse().ok())
        .collect();
    let counts = if counts.is_empty() {
        vec![100_000]
    } else {
        counts
    };
    for rows in counts {
        bench(rows).await?;
    }
    Ok(())
}
