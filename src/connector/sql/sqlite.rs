//! SQLite: values typed by what each row holds (SQLite types values, not columns), a column
//! declared BOOLEAN read as true/false, bytes as base64. Opened read-only.

use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use futures::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow,
};
use sqlx::{Column, Executor, Row, Sqlite, TypeInfo, ValueRef};

use super::cursor::Param;
use super::page::{Page, Row as JsonRow, Stop};
use super::{failed, values};

pub async fn connect(url: &str, timeout: Duration) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .read_only(true)
        .busy_timeout(timeout);
    SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(timeout)
        .connect_with(options)
        .await
}

/// Has SQLite parse the query.
pub async fn check(pool: &SqlitePool, sql: &str) -> Result<(), sqlx::Error> {
    pool.prepare(sql).await.map(|_| ())
}

pub async fn fetch(
    pool: &SqlitePool,
    sql: &str,
    params: &[Param],
    page: &mut Page<'_>,
) -> Result<(), Stop> {
    let mut query = sqlx::query(sql);
    for param in params {
        query = bind(query, param);
    }
    let mut rows = query.fetch(pool);
    while let Some(row) = rows.try_next().await.map_err(failed)? {
        page.row(convert(&row)).await?;
    }
    Ok(())
}

/// Binds a value as it was read: SQLite compares text with text and numbers with numbers, so a
/// cursor goes back exactly as the column holds it.
fn bind<'q>(
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    param: &Param,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    match param {
        Param::Limit(n) => query.bind(*n),
        Param::Json(Value::Null) | Param::LowestKey(None) => query.bind(None::<String>),
        Param::LowestKey(Some(Value::Number(_))) => query.bind(i64::MIN),
        Param::LowestKey(Some(_)) => query.bind(String::new()),
        Param::Json(Value::Number(n)) => match n.as_i64() {
            Some(n) => query.bind(n),
            None => query.bind(n.as_f64()),
        },
        Param::Json(Value::Bool(b)) => query.bind(*b),
        Param::Json(other) => query.bind(values::text(other)),
    }
}

fn convert(row: &SqliteRow) -> JsonRow {
    let mut map = Map::with_capacity(row.len());
    let mut faults = Vec::new();
    for (i, column) in row.columns().iter().enumerate() {
        let declared = column.type_info().name().to_ascii_uppercase();
        let value = read(row, i, &declared).unwrap_or_else(|error| {
            faults.push(format!("column `{}`: {error}", column.name()));
            Value::Null
        });
        map.insert(column.name().to_string(), value);
    }
    JsonRow {
        values: map,
        faults,
    }
}

fn read(row: &SqliteRow, i: usize, declared: &str) -> Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let stored = raw.type_info().name().to_string();
    Ok(match stored.as_str() {
        "INTEGER" if declared == "BOOLEAN" => Value::Bool(row.try_get_unchecked::<i64, _>(i)? != 0),
        "INTEGER" => Value::from(row.try_get_unchecked::<i64, _>(i)?),
        "REAL" => values::float(row.try_get_unchecked::<f64, _>(i)?),
        "BLOB" => Value::String(
            base64::engine::general_purpose::STANDARD
                .encode(row.try_get_unchecked::<Vec<u8>, _>(i)?),
        ),
        _ => Value::String(row.try_get_unchecked::<String, _>(i)?),
    })
}
