//! The two engines a store test runs on: SQLite in a temporary file, PostgreSQL in a fresh
//! schema of the database `CONCORD_TEST_PG_URL` names, dropped when the test ends (passed or not).

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use sqlx::PgPool;

/// The local test database, when `CONCORD_TEST_PG_URL` does not name another.
const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn pg_url() -> String {
    std::env::var("CONCORD_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string())
}

/// A store URL on SQLite: a file in `dir`.
pub fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("concord.db").display())
}

/// A schema of its own in the test database, for one test.
pub struct PgSchema {
    name: String,
    admin: PgPool,
}

impl PgSchema {
    pub async fn create() -> PgSchema {
        let admin = PgPool::connect(&pg_url())
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {} (CONCORD_TEST_PG_URL): {e}", pg_url()));
        let name = format!("concord_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&admin)
            .await
            .expect("schema created");
        PgSchema { name, admin }
    }

    /// A store URL whose connections work in this schema alone.
    pub fn url(&self) -> String {
        let base = pg_url();
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}options=-csearch_path%3D{}", self.name)
    }

    /// Runs `test`, then drops the schema whether it passed or panicked.
    pub async fn run(self, test: impl Future<Output = ()>) {
        let outcome = AssertUnwindSafe(test).catch_unwind().await;
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&self.admin)
            .await
            .expect("schema dropped");
        self.admin.close().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// One test per engine for each behaviour named: `sqlite::NAME` and `postgres::NAME`, each
/// calling the function `NAME(&dyn Store)` on a fresh, empty store.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let store = concord::store::open(&super::backend::sqlite_url(dir.path()))
                        .await
                        .expect("store opens");
                    super::$name(store.as_ref()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let schema = super::backend::PgSchema::create().await;
                    let store = concord::store::open(&schema.url())
                        .await
                        .expect("store opens");
                    schema.run(super::$name(store.as_ref())).await;
                }
            )*
        }
    };
}
pub(crate) use on_both;
