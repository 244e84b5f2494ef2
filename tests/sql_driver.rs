//! The sql driver against the real PostgreSQL (127.0.0.1:5432, db `test`), MariaDB
//! (127.0.0.1:3306, db `test`) and SQLite: keyset pages with equal change times across page
//! boundaries, incremental runs, look-back, failures that keep the cursor, value types, and
//! passwords that never show. Each test works on its own uniquely named table and drops it.
//!
//! `CONCORD_TEST_PG_URL` and `CONCORD_TEST_MYSQL_URL` override the default URLs.

mod common;

use common::{Project, golden_of, goldens, sync};
use concord::connector::sql::{SqlConfig, SqlConnector};
use concord::connector::{Connector, ConnectorError, Pulled};
use concord::model::EntityKind;
use concord::store;
use concord::sync::{NoProgress, Pipeline, SyncError, SyncOptions};
use futures::StreamExt;
use serde_json::{Value, json};

fn pg_url() -> String {
    std::env::var("CONCORD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn mysql_url() -> String {
    std::env::var("CONCORD_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Postgres,
    MariaDb,
    Sqlite,
}

/// A database with one test table in it, dropped at the end of the test.
struct Db {
    kind: Kind,
    /// The URL the config uses (a SQLite path relative to the project).
    url: String,
    table: String,
    pool: Pool,
}

enum Pool {
    Pg(sqlx::PgPool),
    My(sqlx::MySqlPool),
    Lite(sqlx::SqlitePool),
}

impl Db {
    async fn new(kind: Kind, project: &Project) -> Db {
        let table = format!("concord_c_{}", fastrand::u64(..));
        let (url, pool) = match kind {
            Kind::Postgres => (
                pg_url(),
                Pool::Pg(sqlx::PgPool::connect(&pg_url()).await.expect("postgres")),
            ),
            Kind::MariaDb => (
                mysql_url(),
                Pool::My(
                    sqlx::MySqlPool::connect(&mysql_url())
                        .await
                        .expect("mariadb"),
                ),
            ),
            Kind::Sqlite => {
                let path = project.path("erp.db");
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true);
                let pool = sqlx::SqlitePool::connect_with(options)
                    .await
                    .expect("sqlite");
                ("sqlite://erp.db".into(), Pool::Lite(pool))
            }
        };
        let db = Db {
            kind,
            url,
            table,
            pool,
        };
        let (time_type, text) = match kind {
            Kind::Postgres => ("TIMESTAMPTZ", "TEXT"),
            Kind::MariaDb => (
                "TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)",
                "VARCHAR(100)",
            ),
            Kind::Sqlite => ("TEXT", "TEXT"),
        };
        db.exec(&format!(
            "CREATE TABLE {} (id INT PRIMARY KEY, name {text} NOT NULL, vat {text}, \
             email {text}, updated_at {time_type})",
            db.table
        ))
        .await;
        db
    }

    async fn exec(&self, sql: &str) {
        match &self.pool {
            Pool::Pg(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
            Pool::My(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
            Pool::Lite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// A time literal this backend's column takes; `minute` minutes after 2024-05-01 10:00 UTC.
    fn time(&self, minute: u32) -> String {
        let (h, m) = (10 + minute / 60, minute % 60);
        match self.kind {
            Kind::Postgres | Kind::Sqlite => format!("'2024-05-01T{h:02}:{m:02}:00Z'"),
            Kind::MariaDb => format!("'2024-05-01 {h:02}:{m:02}:00'"),
        }
    }

    /// Inserts customers `ids`, each changed at `minute`.
    async fn insert(&self, ids: std::ops::RangeInclusive<u32>, minute: u32) {
        let rows: Vec<String> = ids
            .map(|id| {
                format!(
                    "({id}, 'Customer {id}', 'DE{id:09}', 'c{id}@example.com', {})",
                    self.time(minute)
                )
            })
            .collect();
        self.exec(&format!(
            "INSERT INTO {} (id, name, vat, email, updated_at) VALUES {}",
            self.table,
            rows.join(", ")
        ))
        .await;
    }

    async fn rename(&self, id: u32, name: &str, minute: u32) {
        self.exec(&format!(
            "UPDATE {} SET name = '{name}', updated_at = {} WHERE id = {id}",
            self.table,
            self.time(minute)
        ))
        .await;
    }

    async fn drop_table(&self) {
        self.exec(&format!("DROP TABLE IF EXISTS {}", self.table))
            .await;
    }

    fn query(&self) -> String {
        format!(
            "SELECT id, name, vat, email, updated_at FROM {} \
             WHERE (updated_at, id) > (:cursor, :cursor_key) ORDER BY updated_at, id LIMIT :limit",
            self.table
        )
    }
}

const CUSTOMER_MAPPING: &str = r#"
entity: customer
stream: customers
key: { path: "$.id" }
changed_at: { path: "$.updated_at" }
fields:
  name: { path: "$.name", required: true }
  tax_id: { path: "$.vat" }
  emails: { path: "$.email", many: true }
"#;

/// Writes the project's config: one sql source reading `query` as stream `customers`.
fn write_config(project: &Project, url: &str, query: &str, page_size: u32, lookback: &str) {
    project.write("maps/customer.yaml", CUSTOMER_MAPPING);
    let lookback = if lookback.is_empty() {
        String::new()
    } else {
        format!(", lookback: {lookback}")
    };
    let config = format!(
        r#"
store: {{ url: "sqlite://state/concord.db" }}
sources:
  - name: erp
    driver: sql
    url: "{url}"
    streams:
      - name: customers
        query: "{query}"
        cursor: {{ column: updated_at, key: id, initial: "1970-01-01T00:00:00Z"{lookback} }}
        page_size: {page_size}
    mappings: [maps/customer.yaml]
"#
    );
    project.write("concord.yaml", &config);
}

async fn stored_cursor(project: &Project) -> Option<Value> {
    let store = store::open(&project.config().store_url())
        .await
        .expect("store");
    store
        .checkpoint("erp")
        .await
        .expect("checkpoint")
        .map(|c| c["cursor"].clone())
}

async fn names(project: &Project) -> Vec<String> {
    let store = store::open(&project.config().store_url())
        .await
        .expect("store");
    let mut names: Vec<String> = goldens(store.as_ref(), EntityKind::Customer)
        .await
        .iter()
        .map(|g| g.record["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

/// 23 customers, 12 of them changed at one instant and 11 at the next, read 5 per page: the
/// pages split rows that share a change time, and each row arrives exactly once.
async fn equal_times_across_pages(kind: Kind) {
    let project = Project::new();
    let db = Db::new(kind, &project).await;
    db.insert(1..=12, 0).await;
    db.insert(13..=23, 1).await;
    write_config(&project, &db.url, &db.query(), 5, "");

    let (store, summaries) = sync(&project.config(), &SyncOptions::default()).await;
    let erp = &summaries[0];
    assert_eq!(
        (erp.read, erp.mapped, erp.quarantined),
        (23, 23, 0),
        "{kind:?}: {erp:?}"
    );
    assert_eq!(erp.reconcile.created, 23);
    let mut expected: Vec<String> = (1..=23).map(|id| format!("Customer {id}")).collect();
    expected.sort();
    assert_eq!(names(&project).await, expected, "{kind:?}");
    let golden = golden_of(store.as_ref(), EntityKind::Customer, "erp", "13").await;
    assert_eq!(golden.record["tax_id"], "DE000000013");
    assert_eq!(
        stored_cursor(&project).await,
        Some(json!({"streams": {"customers": {"cursor": "2024-05-01T10:01:00Z", "key": 23}}})),
        "{kind:?}"
    );

    // Nothing changed: the next run reads nothing.
    let (_, again) = sync(&project.config(), &SyncOptions::default()).await;
    assert_eq!(again[0].read, 0, "{kind:?}");
    db.drop_table().await;
}

#[tokio::test]
async fn postgres_pages_keep_every_row_sharing_a_change_time() {
    equal_times_across_pages(Kind::Postgres).await;
}

#[tokio::test]
async fn mariadb_pages_keep_every_row_sharing_a_change_time() {
    equal_times_across_pages(Kind::MariaDb).await;
}

#[tokio::test]
async fn sqlite_pages_keep_every_row_sharing_a_change_time() {
    equal_times_across_pages(Kind::Sqlite).await;
}

/// A second run reads only the rows changed or added since the first.
async fn incremental_run(kind: Kind) {
    let project = Project::new();
    let db = Db::new(kind, &project).await;
    db.insert(1..=10, 0).await;
    write_config(&project, &db.url, &db.query(), 4, "");
    let (_, first) = sync(&project.config(), &SyncOptions::default()).await;
    assert_eq!(first[0].read, 10);

    db.rename(3, "Customer 3 Renamed", 30).await;
    db.rename(7, "Customer 7 Renamed", 30).await;
    db.insert(11..=11, 31).await;
    let (store, second) = sync(&project.config(), &SyncOptions::default()).await;
    let erp = &second[0];
    assert_eq!(
        erp.read, 3,
        "{kind:?}: only the changed and the new rows: {erp:?}"
    );
    assert_eq!(
        (erp.reconcile.created, erp.reconcile.updated),
        (1, 2),
        "{kind:?}"
    );
    let golden = golden_of(store.as_ref(), EntityKind::Customer, "erp", "7").await;
    assert_eq!(golden.record["name"], "Customer 7 Renamed");
    assert_eq!(names(&project).await.len(), 11);
    db.drop_table().await;
}

#[tokio::test]
async fn postgres_second_run_reads_only_changed_rows() {
    incremental_run(Kind::Postgres).await;
}

#[tokio::test]
async fn mariadb_second_run_reads_only_changed_rows() {
    incremental_run(Kind::MariaDb).await;
}

#[tokio::test]
async fn sqlite_second_run_reads_only_changed_rows() {
    incremental_run(Kind::Sqlite).await;
}

#[tokio::test]
async fn lookback_rereads_the_window_and_the_content_hash_drops_it() {
    let project = Project::new();
    let db = Db::new(Kind::Postgres, &project).await;
    db.insert(1..=5, 0).await;
    db.insert(6..=8, 57).await;
    db.insert(9..=9, 60).await;
    write_config(&project, &db.url, &db.query(), 3, "5m");
    let (_, first) = sync(&project.config(), &SyncOptions::default()).await;
    assert_eq!(first[0].read, 9);

    // A row committed late with a change time inside the window is still found.
    db.insert(10..=10, 58).await;
    let (_, second) = sync(&project.config(), &SyncOptions::default()).await;
    let erp = &second[0];
    assert_eq!(
        erp.read, 5,
        "rows changed from 10:55 on (6, 7, 8, 9 and the late 10) are read again: {erp:?}"
    );
    assert_eq!(erp.reconcile.created, 1, "only the late row is new");
    assert_eq!(
        erp.reconcile.unchanged, 4,
        "re-read rows are dropped by their hash"
    );
    assert_eq!(erp.reconcile.events, 1);
    db.drop_table().await;
}

#[tokio::test]
async fn bad_sql_fails_the_run_and_keeps_the_cursor() {
    let project = Project::new();
    let db = Db::new(Kind::Postgres, &project).await;
    db.insert(1..=3, 0).await;
    write_config(&project, &db.url, &db.query(), 10, "");
    sync(&project.config(), &SyncOptions::default()).await;
    let before = stored_cursor(&project).await;
    assert!(before.is_some());

    db.insert(4..=4, 5).await;
    let broken = db
        .query()
        .replace("SELECT id,", "SELECT id, no_such_column,");
    write_config(&project, &db.url, &broken, 10, "");
    let config = project.config();
    let pipeline = Pipeline::compile(config.clone()).expect("compiles");
    let store = store::open(&config.store_url()).await.expect("store");
    let error = pipeline
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await
        .expect_err("the run fails");
    let message = error.to_string();
    assert!(matches!(error, SyncError::SourceFailed { .. }), "{message}");
    assert!(
        message.contains("stream customers") && message.contains("no_such_column"),
        "{message}"
    );
    drop(store);
    assert_eq!(stored_cursor(&project).await, before, "the cursor is kept");

    // Fixed, the next run resumes from the kept cursor and reads the new row.
    write_config(&project, &db.url, &db.query(), 10, "");
    let (_, fixed) = sync(&project.config(), &SyncOptions::default()).await;
    assert_eq!(fixed[0].read, 1);
    db.drop_table().await;
}

/// Every item the connector yields for `config`.
async fn pull(config: SqlConfig, base: &std::path::Path) -> Vec<Result<Pulled, ConnectorError>> {
    SqlConnector::new(config, base).pull(None).collect().await
}

fn one_stream(url: &str, query: &str) -> SqlConfig {
    serde_yaml::from_str(&format!(
        "url: \"{url}\"\nconnect_timeout: 2s\nstreams:\n  - name: customers\n    query: \"{query}\"\n"
    ))
    .expect("config")
}

fn fatal_message(items: &[Result<Pulled, ConnectorError>]) -> String {
    match items.last() {
        Some(Err(error)) if error.is_fatal() => error.to_string(),
        other => panic!("expected a fatal error last, got {other:?}"),
    }
}

#[tokio::test]
async fn a_password_never_shows_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: refused, retried, then reported.
    let refused = pull(
        one_stream("postgres://erp:hunter2-s3cret@127.0.0.1:1/test", "SELECT 1"),
        dir.path(),
    )
    .await;
    let message = fatal_message(&refused);
    assert!(!message.contains("hunter2"), "{message}");
    assert!(
        message.contains("postgres://erp:***@127.0.0.1:1/test"),
        "{message}"
    );
    assert!(message.contains("cannot connect"), "{message}");

    // A real server refusing the login.
    let url = mysql_url().replacen("root@", "root:hunter2-s3cret@", 1);
    let denied = pull(one_stream(&url, "SELECT 1"), dir.path()).await;
    let message = fatal_message(&denied);
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("root:***@"), "{message}");
    assert!(message.contains("Access denied"), "{message}");
}

#[tokio::test]
async fn postgres_values_keep_their_types() {
    let project = Project::new();
    let db = Db::new(Kind::Postgres, &project).await;
    let t = format!("{}_types", db.table);
    db.exec(&format!(
        "DROP TYPE IF EXISTS {t}_status; CREATE TYPE {t}_status AS ENUM ('active', 'blocked'); \
         CREATE TABLE {t} (id BIGINT, price NUMERIC(30,6), tiny NUMERIC, ratio FLOAT8, ok BOOL, \
         at TIMESTAMPTZ, local TIMESTAMP, day DATE, raw BYTEA, doc JSONB, uid UUID, tags TEXT[], \
         status {t}_status, nothing TEXT); \
         INSERT INTO {t} VALUES (9007199254740993, 123456789012345678901234.500000, -0.000012, \
         0.25, true, '2024-05-14T09:31:22.5+02:00', '2024-05-14 09:31:22', '2024-05-14', \
         '\\x00ff', '{{\"a\": [1, 2]}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', \
         '{{x,NULL}}', 'blocked', NULL)"
    ))
    .await;
    let items = pull(
        one_stream(&db.url, &format!("SELECT * FROM {t}")),
        project.dir.path(),
    )
    .await;
    let Some(Ok(Pulled::Record(record))) = items.first() else {
        panic!("{items:?}");
    };
    assert_eq!(
        record.payload,
        json!({
            "id": 9007199254740993i64, "price": "123456789012345678901234.500000",
            "tiny": "-0.000012", "ratio": 0.25, "ok": true, "at": "2024-05-14T07:31:22.500Z",
            "local": "2024-05-14T09:31:22", "day": "2024-05-14", "raw": "AP8=",
            "doc": {"a": [1, 2]}, "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "tags": ["x", null], "status": "blocked", "nothing": null
        })
    );
    assert_eq!(record.stream.as_deref(), Some("customers"));
    assert!(matches!(items.last(), Some(Ok(Pulled::Checkpoint(_)))));

    // A type Concord does not read fails with a hint to cast it.
    let interval = pull(
        one_stream(&db.url, "SELECT interval '1 day' AS span"),
        project.dir.path(),
    )
    .await;
    let message = fatal_message(&interval);
    assert!(
        message.contains("`span`") && message.contains("span::text"),
        "{message}"
    );
    db.exec(&format!("DROP TABLE {t}; DROP TYPE {t}_status"))
        .await;
    db.drop_table().await;
}

#[tokio::test]
async fn mariadb_values_keep_their_types() {
    let project = Project::new();
    let db = Db::new(Kind::MariaDb, &project).await;
    let t = format!("{}_types", db.table);
    db.exec(&format!(
        "CREATE TABLE {t} (id BIGINT UNSIGNED, price DECIMAL(30,6), ok TINYINT(1), \
         ratio DOUBLE, local DATETIME(3), at TIMESTAMP NULL, day DATE, raw VARBINARY(4), \
         doc JSON, kind ENUM('a','b'), nothing VARCHAR(3))"
    ))
    .await;
    db.exec(&format!(
        "INSERT INTO {t} VALUES (18446744073709551615, 123456789012345678901234.5, 1, 0.25, \
         '2024-05-14 09:31:22.250', '2024-05-14 09:31:22', '2024-05-14', X'00FF', \
         '{{\"a\": [1, 2]}}', 'b', NULL)"
    ))
    .await;
    let items = pull(
        one_stream(&db.url, &format!("SELECT * FROM {t}")),
        project.dir.path(),
    )
    .await;
    let Some(Ok(Pulled::Record(record))) = items.first() else {
        panic!("{items:?}");
    };
    assert_eq!(
        record.payload,
        json!({
            "id": 18446744073709551615u64, "price": "123456789012345678901234.500000",
            "ok": true, "ratio": 0.25, "local": "2024-05-14T09:31:22.250",
            "at": "2024-05-14T09:31:22Z", "day": "2024-05-14", "raw": "AP8=",
            // MariaDB's JSON is LONGTEXT on the wire (MySQL's JSON type arrives parsed).
            "doc": "{\"a\": [1, 2]}", "kind": "b", "nothing": null
        })
    );
    db.exec(&format!("DROP TABLE {t}")).await;
    db.drop_table().await;
}

#[tokio::test]
async fn sqlite_values_keep_their_types() {
    let project = Project::new();
    let db = Db::new(Kind::Sqlite, &project).await;
    let t = format!("{}_types", db.table);
    db.exec(&format!(
        "CREATE TABLE {t} (id INTEGER, ratio REAL, name TEXT, raw BLOB, active BOOLEAN, missing TEXT); \
         INSERT INTO {t} VALUES (42, 0.25, 'Müller', X'00FF', 1, NULL)"
    ))
    .await;
    let items = pull(
        one_stream(&db.url, &format!("SELECT * FROM {t}")),
        project.dir.path(),
    )
    .await;
    let Some(Ok(Pulled::Record(record))) = items.first() else {
        panic!("{items:?}");
    };
    assert_eq!(
        record.payload,
        json!({"id": 42, "ratio": 0.25, "name": "Müller", "raw": "AP8=", "active": true, "missing": null})
    );
    db.drop_table().await;
}

#[tokio::test]
async fn a_query_past_the_statement_timeout_is_cancelled_by_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = one_stream(&pg_url(), "SELECT pg_sleep(5) AS slept");
    config.statement_timeout = Some(std::time::Duration::from_millis(500));
    let started = std::time::Instant::now();
    let items = pull(config, dir.path()).await;
    let message = fatal_message(&items);
    assert!(message.contains("statement timeout"), "{message}");
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
}
