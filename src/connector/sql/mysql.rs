//! MySQL and MariaDB: parameters bound by the shape of their JSON value (MySQL converts between
//! strings, numbers and times as a comparison needs), rows read into JSON with their types kept.

use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use futures::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::mysql::{MySqlArguments, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::query::Query;
use sqlx::{Column, Executor, MySql, Row, TypeInfo, ValueRef};

use super::cursor::Param;
use super::page::{Page, Row as JsonRow, Stop};
use super::{failed, values};

pub async fn connect(
    url: &str,
    timeout: Duration,
    limits: super::tls::Limits<'_>,
) -> Result<MySqlPool, sqlx::Error> {
    let url = url.replacen("mariadb://", "mysql://", 1);
    let options = super::tls::mysql(&url, limits)?;
    let statements = super::tls::mysql_timeout_statements(limits.statement_timeout);
    MySqlPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(timeout)
        .after_connect(move |connection, _| {
            let statements = statements.clone();
            Box::pin(async move {
                // MariaDB knows the first, MySQL the second; one of them fails, by design.
                for statement in &statements {
                    if sqlx::Executor::execute(&mut *connection, statement.as_str())
                        .await
                        .is_ok()
                    {
                        break;
                    }
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
}

/// Has the server parse the query.
pub async fn check(pool: &MySqlPool, sql: &str) -> Result<(), sqlx::Error> {
    pool.prepare(sql).await.map(|_| ())
}

pub async fn fetch(
    pool: &MySqlPool,
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

/// Binds a value: integers as integers, RFC 3339 times as times (in UTC, the session's zone),
/// other text as text. The lowest key is the lowest value of the stored key's type.
fn bind<'q>(
    query: Query<'q, MySql, MySqlArguments>,
    param: &Param,
) -> Query<'q, MySql, MySqlArguments> {
    match param {
        Param::Limit(n) => query.bind(*n),
        Param::Json(Value::Null) | Param::LowestKey(None) => query.bind(None::<String>),
        Param::LowestKey(Some(Value::Number(_))) => query.bind(i64::MIN),
        Param::LowestKey(Some(_)) => query.bind(String::new()),
        Param::Json(Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
            (Some(n), _) => query.bind(n),
            (None, Some(n)) => query.bind(n),
            _ => query.bind(n.as_f64()),
        },
        Param::Json(Value::String(text)) => match DateTime::parse_from_rfc3339(text) {
            Ok(instant) => query.bind(instant.naive_utc()),
            Err(_) => query.bind(text.clone()),
        },
        Param::Json(other) => query.bind(values::text(other)),
    }
}

/// One row as JSON; a value that cannot be read is a fault of its row.
fn convert(row: &MySqlRow) -> JsonRow {
    let mut map = Map::with_capacity(row.len());
    let mut faults = Vec::new();
    for (i, column) in row.columns().iter().enumerate() {
        let value = read(row, i, column.type_info().name()).unwrap_or_else(|error| {
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

fn read(row: &MySqlRow, i: usize, type_name: &str) -> Result<Value, sqlx::Error> {
    if row.try_get_raw(i)?.is_null() {
        return Ok(Value::Null);
    }
    Ok(match type_name {
        "NULL" => Value::Null,
        "BOOLEAN" => Value::Bool(row.try_get_unchecked::<i64, _>(i)? != 0),
        "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
            Value::from(row.try_get_unchecked::<i64, _>(i)?)
        }
        name if name.ends_with("UNSIGNED") => Value::from(row.try_get_unchecked::<u64, _>(i)?),
        "FLOAT" => values::float(f64::from(row.try_get_unchecked::<f32, _>(i)?)),
        "DOUBLE" => values::float(row.try_get_unchecked::<f64, _>(i)?),
        "DECIMAL" => Value::String(row.try_get_unchecked::<String, _>(i)?),
        "DATE" | "DATETIME" | "TIMESTAMP" if is_zero_date(row, i)? => Value::Null,
        "DATE" => values::date(row.try_get_unchecked::<NaiveDate, _>(i)?),
        "DATETIME" => values::naive(row.try_get_unchecked::<NaiveDateTime, _>(i)?),
        "TIMESTAMP" => values::instant(row.try_get_unchecked::<DateTime<Utc>, _>(i)?),
        "TIME" => Value::String(
            row.try_get_unchecked::<sqlx::mysql::types::MySqlTime, _>(i)?
                .to_string(),
        ),
        "JSON" => {
            let text = row.try_get_unchecked::<String, _>(i)?;
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
        "BIT" => {
            let bytes = row.try_get_unchecked::<Vec<u8>, _>(i)?;
            Value::from(bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
        }
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
            // A text column with a binary (`_bin`) collation is reported as binary: text that is
            // valid UTF-8 stays text, anything else is base64.
            let bytes = row.try_get_unchecked::<Vec<u8>, _>(i)?;
            match String::from_utf8(bytes) {
                Ok(text) => Value::String(text),
                Err(error) => Value::String(
                    base64::engine::general_purpose::STANDARD.encode(error.into_bytes()),
                ),
            }
        }
        "GEOMETRY" => Value::String(
            base64::engine::general_purpose::STANDARD
                .encode(row.try_get_unchecked::<Vec<u8>, _>(i)?),
        ),
        // CHAR, VARCHAR, the TEXT types, ENUM, SET.
        _ => Value::String(row.try_get_unchecked::<String, _>(i)?),
    })
}

/// MySQL's `0000-00-00` "no date", which no calendar has: read as null.
fn is_zero_date(row: &MySqlRow, i: usize) -> Result<bool, sqlx::Error> {
    let bytes = row.try_get_unchecked::<Vec<u8>, _>(i)?;
    Ok(bytes.is_empty()
        || bytes
            .get(..4)
            .is_some_and(|date| date.iter().all(|b| *b == 0)))
}
