//! PostgreSQL: parameters bound with the types the server inferred for them, rows read column
//! by column into JSON with their types kept.

use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use futures::TryStreamExt;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use sqlx::postgres::{
    PgArguments, PgPool, PgPoolOptions, PgRow, PgTypeInfo, PgTypeKind, PgValueFormat,
};
use sqlx::query::Query;
use sqlx::{Column, Either, Executor, Postgres, Row, Statement, TypeInfo, ValueRef};

use super::cursor::Param;
use super::page::{Page, Row as JsonRow, Stop};
use super::{failed, values};

pub async fn connect(
    url: &str,
    timeout: Duration,
    limits: super::tls::Limits<'_>,
) -> Result<PgPool, sqlx::Error> {
    let options = super::tls::postgres(url, limits)?;
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(timeout)
        .connect_with(options)
        .await
}

/// Has the server parse the query and returns the types it inferred for the parameters.
pub async fn parameter_types(pool: &PgPool, sql: &str) -> Result<Vec<PgTypeInfo>, sqlx::Error> {
    let statement = pool.prepare(sql).await?;
    Ok(match statement.parameters() {
        Some(Either::Left(types)) => types.to_vec(),
        _ => Vec::new(),
    })
}

pub async fn fetch(
    pool: &PgPool,
    sql: &str,
    types: &[PgTypeInfo],
    params: &[Param],
    page: &mut Page<'_>,
) -> Result<(), Stop> {
    let mut query = sqlx::query(sql);
    for (n, param) in params.iter().enumerate() {
        let ty = types.get(n).ok_or_else(|| {
            Stop::Failed(format!(
                "PostgreSQL did not report the type of parameter ${}",
                n + 1
            ))
        })?;
        query = bind(query, ty, param).map_err(|message| {
            Stop::Failed(format!("parameter ${} ({}): {message}", n + 1, ty.name()))
        })?;
    }
    let mut rows = query.fetch(pool);
    while let Some(row) = rows.try_next().await.map_err(failed)? {
        page.row(convert(&row)?).await?;
    }
    Ok(())
}

type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

/// Binds `param` as the type PostgreSQL expects there.
fn bind<'q>(query: PgQuery<'q>, ty: &PgTypeInfo, param: &Param) -> Result<PgQuery<'q>, String> {
    let value = match param {
        Param::Json(Value::Null) | Param::LowestKey(None) => None,
        Param::Json(value) => Some(value.clone()),
        Param::Limit(n) => Some(Value::from(*n)),
        Param::LowestKey(Some(_)) => return bind_lowest(query, ty),
    };
    let text = value.as_ref().map(values::text);
    let number = |v: &Value| -> Result<i64, String> {
        v.as_i64()
            .or_else(|| values::text(v).trim().parse().ok())
            .ok_or_else(|| format!("`{}` is not an integer", values::text(v)))
    };
    Ok(match ty.name() {
        "INT2" => query.bind(
            value
                .map(|v| number(&v).and_then(narrow::<i16>))
                .transpose()?,
        ),
        "INT4" => query.bind(
            value
                .map(|v| number(&v).and_then(narrow::<i32>))
                .transpose()?,
        ),
        "INT8" => query.bind(value.map(|v| number(&v)).transpose()?),
        "FLOAT4" | "FLOAT8" => query.bind(
            text.map(|t| t.parse::<f64>().map_err(|e| format!("`{t}`: {e}")))
                .transpose()?,
        ),
        "NUMERIC" => query.bind(
            text.map(|t| Decimal::from_str(&t).map_err(|e| format!("`{t}`: {e}")))
                .transpose()?,
        ),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" => query.bind(text),
        "TIMESTAMPTZ" => query.bind(text.map(|t| values::parse_instant(&t)).transpose()?),
        "TIMESTAMP" => query.bind(text.map(|t| values::parse_naive(&t)).transpose()?),
        "DATE" => query.bind(
            text.map(|t| {
                NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|e| format!("`{t}`: {e}"))
            })
            .transpose()?,
        ),
        "UUID" => query.bind(
            text.map(|t| uuid::Uuid::parse_str(&t).map_err(|e| format!("`{t}`: {e}")))
                .transpose()?,
        ),
        other => return Err(cast_hint(other)),
    })
}

/// Binds the lowest value of the type, below every key.
fn bind_lowest<'q>(query: PgQuery<'q>, ty: &PgTypeInfo) -> Result<PgQuery<'q>, String> {
    let earliest = NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    Ok(match ty.name() {
        "INT2" => query.bind(i16::MIN),
        "INT4" => query.bind(i32::MIN),
        "INT8" => query.bind(i64::MIN),
        "FLOAT4" | "FLOAT8" => query.bind(f64::NEG_INFINITY),
        "NUMERIC" => query.bind(Decimal::MIN),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" => query.bind(String::new()),
        "TIMESTAMPTZ" => query.bind(earliest.and_utc()),
        "TIMESTAMP" => query.bind(earliest),
        "DATE" => query.bind(earliest.date()),
        "UUID" => query.bind(uuid::Uuid::nil()),
        other => return Err(cast_hint(other)),
    })
}

fn narrow<T: TryFrom<i64>>(n: i64) -> Result<T, String> {
    T::try_from(n).map_err(|_| format!("{n} is out of range"))
}

fn cast_hint(type_name: &str) -> String {
    format!(
        "Concord cannot bind a value of type {type_name}; cast the column and the placeholder \
         to text in the query (e.g. `(updated_at::text, id::text) > (:cursor, :cursor_key)`)"
    )
}

/// One row as JSON. A column of a type Concord cannot read stops the stream (every row has it);
/// a value that cannot be read is a fault of its row.
fn convert(row: &PgRow) -> Result<JsonRow, Stop> {
    let mut values = Map::with_capacity(row.len());
    let mut faults = Vec::new();
    for (i, column) in row.columns().iter().enumerate() {
        let value = match read(row, i, column.type_info()) {
            Ok(value) => value,
            Err(Fault::Unsupported(name)) => {
                return Err(Stop::Failed(format!(
                    "column `{}` has the type {name}, which Concord does not read; cast it in \
                     the query (`{}::text`)",
                    column.name(),
                    column.name()
                )));
            }
            Err(Fault::Value(message)) => {
                faults.push(format!("column `{}`: {message}", column.name()));
                Value::Null
            }
        };
        values.insert(column.name().to_string(), value);
    }
    Ok(JsonRow { values, faults })
}

enum Fault {
    Unsupported(String),
    Value(String),
}

impl From<sqlx::Error> for Fault {
    fn from(error: sqlx::Error) -> Self {
        Fault::Value(error.to_string())
    }
}

fn read(row: &PgRow, i: usize, ty: &PgTypeInfo) -> Result<Value, Fault> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    if raw.format() == PgValueFormat::Text {
        return Ok(Value::String(
            raw.as_str()
                .map_err(|e| Fault::Value(e.to_string()))?
                .to_string(),
        ));
    }
    match ty.kind() {
        PgTypeKind::Enum(_) => {
            return Ok(Value::String(row.try_get_unchecked::<String, _>(i)?));
        }
        PgTypeKind::Domain(base) => return read(row, i, base),
        PgTypeKind::Array(element) => return read_array(row, i, element),
        _ => {}
    }
    Ok(match ty.name() {
        "BOOL" => Value::Bool(row.try_get_unchecked::<bool, _>(i)?),
        "INT2" => Value::from(row.try_get_unchecked::<i16, _>(i)?),
        "INT4" => Value::from(row.try_get_unchecked::<i32, _>(i)?),
        "INT8" => Value::from(row.try_get_unchecked::<i64, _>(i)?),
        "OID" => Value::from(row.try_get_unchecked::<sqlx::postgres::types::Oid, _>(i)?.0),
        "FLOAT4" => values::float(f64::from(row.try_get_unchecked::<f32, _>(i)?)),
        "FLOAT8" => values::float(row.try_get_unchecked::<f64, _>(i)?),
        "NUMERIC" => {
            let bytes = raw.as_bytes().map_err(|e| Fault::Value(e.to_string()))?;
            Value::String(numeric_text(bytes).ok_or_else(|| {
                Fault::Value("a NUMERIC value PostgreSQL sent in an unknown layout".into())
            })?)
        }
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" | "XML" => {
            Value::String(row.try_get_unchecked::<String, _>(i)?)
        }
        "UUID" => Value::String(row.try_get_unchecked::<uuid::Uuid, _>(i)?.to_string()),
        "JSON" | "JSONB" => row.try_get_unchecked::<Value, _>(i)?,
        "DATE" => values::date(row.try_get_unchecked::<NaiveDate, _>(i)?),
        "TIME" => Value::String(row.try_get_unchecked::<NaiveTime, _>(i)?.to_string()),
        "TIMESTAMP" => values::naive(row.try_get_unchecked::<NaiveDateTime, _>(i)?),
        "TIMESTAMPTZ" => values::instant(row.try_get_unchecked::<DateTime<Utc>, _>(i)?),
        "BYTEA" => Value::String(
            base64::engine::general_purpose::STANDARD
                .encode(row.try_get_unchecked::<Vec<u8>, _>(i)?),
        ),
        other => return Err(Fault::Unsupported(other.to_string())),
    })
}

/// Arrays of the common scalar types, as JSON arrays.
fn read_array(row: &PgRow, i: usize, element: &PgTypeInfo) -> Result<Value, Fault> {
    fn list<T: Into<Value>>(items: Vec<Option<T>>) -> Value {
        Value::Array(
            items
                .into_iter()
                .map(|v| v.map_or(Value::Null, Into::into))
                .collect(),
        )
    }
    Ok(match element.name() {
        "BOOL" => list(row.try_get_unchecked::<Vec<Option<bool>>, _>(i)?),
        "INT2" => list(row.try_get_unchecked::<Vec<Option<i16>>, _>(i)?),
        "INT4" => list(row.try_get_unchecked::<Vec<Option<i32>>, _>(i)?),
        "INT8" => list(row.try_get_unchecked::<Vec<Option<i64>>, _>(i)?),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => {
            list(row.try_get_unchecked::<Vec<Option<String>>, _>(i)?)
        }
        other => return Err(Fault::Unsupported(format!("{other}[]"))),
    })
}

/// PostgreSQL's binary NUMERIC (base-10000 digits, a weight, a sign and a display scale) as exact
/// decimal text, with as many decimals as the value's scale; `None` for a malformed value.
fn numeric_text(bytes: &[u8]) -> Option<String> {
    let word = |n: usize| -> Option<u16> {
        let pair = bytes.get(n * 2..n * 2 + 2)?;
        Some(u16::from_be_bytes([pair[0], pair[1]]))
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)? as i16);
    let sign = word(2)?;
    let scale = usize::from(word(3)?);
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        0x0000 | 0x4000 => {}
        _ => return None,
    }
    let digits: Vec<u16> = (0..ndigits).map(|n| word(4 + n)).collect::<Option<_>>()?;
    if digits.iter().any(|d| *d > 9999) {
        return None;
    }
    let digit = |index: i64| -> u16 {
        usize::try_from(index)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        text.push_str(&digit(0).to_string());
        for index in 1..=weight {
            text.push_str(&format!("{:04}", digit(index)));
        }
    }
    if scale > 0 {
        let mut fraction = String::with_capacity(scale + 4);
        let mut index = weight + 1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit(index)));
            index += 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    if text == "-0" || text.starts_with("-0.") && text[3..].bytes().all(|b| b == b'0') {
        text.remove(0);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::numeric_text;

    fn numeric(weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for word in [digits.len() as u16, weight as u16, sign, scale]
            .into_iter()
            .chain(digits.iter().copied())
        {
            bytes.extend(word.to_be_bytes());
        }
        bytes
    }

    #[test]
    fn numeric_values_become_exact_text() {
        assert_eq!(
            numeric_text(&numeric(0, 0, 2, &[1234, 5600])).unwrap(),
            "1234.56"
        );
        assert_eq!(
            numeric_text(&numeric(2, 0x4000, 0, &[12, 3456, 7890])).unwrap(),
            "-1234567890"
        );
        assert_eq!(
            numeric_text(&numeric(-2, 0, 6, &[1200])).unwrap(),
            "0.000012"
        );
        assert_eq!(numeric_text(&numeric(1, 0, 0, &[1])).unwrap(), "10000");
        assert_eq!(numeric_text(&numeric(0, 0, 3, &[])).unwrap(), "0.000");
        assert_eq!(numeric_text(&numeric(0, 0xC000, 0, &[])).unwrap(), "NaN");
        assert!(numeric_text(&[0, 1]).is_none());
    }
}
