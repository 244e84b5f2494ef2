//! Key scans on an `sql` source: a table row deleted in the ERP's database is noticed by the
//! stream's `deletes.keys` query and its record marked deleted, with its event; a scan that would
//! delete too much deletes nothing.

mod common;

use common::{Project, golden_counts, golden_of};
use concord::model::EntityKind;
use concord::sync::{NoProgress, Pipeline, SyncOptions};

const MAPPING: &str = r#"
entity: customer
stream: customers
key: { path: "$.id" }
fields:
  name: { path: "$.name", required: true }
"#;

async fn database(project: &Project) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(project.path("erp.db"))
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::query("CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    for n in 1..=20 {
        sqlx::query("INSERT INTO customers VALUES (?, ?, ?)")
            .bind(format!("C-{n:03}"))
            .bind(format!("Kunde {n} GmbH"))
            .bind(format!("2024-05-{:02}T08:00:00Z", n % 28 + 1))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool
}

#[tokio::test]
async fn a_deleted_row_is_noticed_by_the_key_scan() {
    let project = Project::new();
    let pool = database(&project).await;
    project.write("maps/customer.yaml", MAPPING);
    project.write(
        "concord.yaml",
        r#"store: { url: "sqlite://concord.db" }
sources:
  - name: erp
    driver: sql
    url: "sqlite://erp.db"
    streams:
      - name: customers
        query: |
          SELECT id, name, updated_at FROM customers
          WHERE (updated_at, id) > (:cursor, :cursor_key) ORDER BY updated_at, id LIMIT :limit
        cursor: { column: updated_at, key: id, initial: "1970-01-01T00:00:00Z" }
        deletes: { scan: every 2 runs, keys: "SELECT id FROM customers" }
    mappings: [maps/customer.yaml]
"#,
    );
    let config = project.config();
    let pipeline = Pipeline::compile(config.clone()).unwrap();
    let store = concord::store::open(&config.store_url()).await.unwrap();
    let options = SyncOptions::default();
    let run = || pipeline.sync(store.as_ref(), &options, &NoProgress);
    run().await.unwrap();
    assert_eq!(golden_counts(store.as_ref()).await, (20, 0, 0, 0));
    let gone = golden_of(store.as_ref(), EntityKind::Customer, "erp", "C-007").await;

    sqlx::query("DELETE FROM customers WHERE id = 'C-007'")
        .execute(&pool)
        .await
        .unwrap();
    // Run 1 scanned; of "every 2 runs", run 2 does not, run 3 does.
    let summaries = run().await.unwrap();
    assert_eq!(summaries[0].reconcile.deleted, 0, "{:?}", summaries[0]);
    let events_before = store.events(0, 1000).await.unwrap().len();
    let summaries = run().await.unwrap();
    assert_eq!(summaries[0].reconcile.deleted, 1, "{:?}", summaries[0]);
    assert_eq!(golden_counts(store.as_ref()).await, (19, 0, 0, 0));
    let events = store.events(0, 1000).await.unwrap();
    let new: Vec<String> = events[events_before..]
        .iter()
        .map(|e| {
            format!(
                "{}.{} {}",
                e.event.entity.as_str(),
                e.event.operation.as_str(),
                e.event.golden_id
            )
        })
        .collect();
    assert_eq!(new, [format!("customer.deleted {}", gone.id)]);

    // Half the table gone: run 4 does not scan, run 5 scans and refuses.
    sqlx::query("DELETE FROM customers WHERE id > 'C-010'")
        .execute(&pool)
        .await
        .unwrap();
    let summaries = run().await.unwrap();
    assert!(summaries[0].errors.is_empty());
    let summaries = run().await.unwrap();
    assert_eq!(summaries[0].errors.len(), 1, "{:?}", summaries[0]);
    assert!(
        summaries[0].errors[0].contains("10 of 19"),
        "{}",
        summaries[0].errors[0]
    );
    assert_eq!(golden_counts(store.as_ref()).await, (19, 0, 0, 0));
}
