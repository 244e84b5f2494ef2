//! Transforms: the steps a value goes through between the payload and the canonical field.
//!
//! Parsed straight from YAML by a hand-written `Deserialize`, so an unknown name or a bad
//! parameter (regex, timezone, number) is reported by serde_yaml at the node's line and column.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::format::{Item, ParseResult, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use regex::Regex;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::lookup::{LookupDef, LookupTable};
use super::scalar::{Scalar, did_you_mean};

/// Every transform name, for "did you mean" suggestions.
pub const TRANSFORM_NAMES: [&str; 16] = [
    "trim",
    "upper",
    "lower",
    "strip_leading_zeros",
    "collapse_spaces",
    "sap_date",
    "odata_date",
    "replace",
    "lookup",
    "date",
    "datetime",
    "decimal",
    "prefix",
    "suffix",
    "split",
    "multiply",
];

/// A transform ready to run.
#[derive(Debug, Clone)]
pub enum Transform {
    Trim,
    Upper,
    Lower,
    StripLeadingZeros,
    CollapseSpaces,
    SapDate,
    /// OData v2 JSON `/Date(1700000000000+0060)/` (milliseconds since the epoch, UTC; the
    /// offset only says where it was written) → RFC 3339 UTC.
    ODataDate,
    Replace {
        pattern: Regex,
        with: String,
    },
    Lookup(Arc<LookupTable>),
    Date {
        format: String,
    },
    Datetime {
        format: DatetimeFormat,
        timezone: Tz,
    },
    Decimal {
        separator: char,
    },
    Prefix(String),
    Suffix(String),
    Split(String),
    Multiply(Decimal),
}

/// How a `datetime` transform reads its input.
#[derive(Debug, Clone, PartialEq)]
pub enum DatetimeFormat {
    Rfc3339,
    /// A chrono format that carries no UTC offset (`%z`): read as local time in the zone.
    Local(ChronoFormat),
    /// A chrono format with a UTC offset: the input says its own offset.
    WithOffset(ChronoFormat),
}

/// A chrono format as written and as parsed: parsing the format string once, when the mapping is
/// read, instead of for every value it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ChronoFormat {
    text: String,
    /// The format's items; a bad specifier stays an [`Item::Error`], so a value read with it fails
    /// as it would with the format string, with chrono's "bad or unsupported format string".
    items: Vec<Item<'static>>,
}

impl ChronoFormat {
    fn new(text: String) -> Self {
        let items = StrftimeItems::new(&text).map(Item::to_owned).collect();
        Self { text, items }
    }

    /// What `value` says by this format.
    fn parse(&self, value: &str) -> ParseResult<Parsed> {
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, value, self.items.iter())?;
        Ok(parsed)
    }
}

impl fmt::Display for ChronoFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A transform as written: a lookup by name is resolved once the whole file is read.
#[derive(Debug, Clone)]
pub enum TransformSpec {
    Ready(Transform),
    Lookup(LookupRef),
}

/// A lookup table named or written inline.
#[derive(Debug, Clone)]
pub enum LookupRef {
    Named(String),
    Inline(LookupDef),
}

impl Transform {
    /// Runs the transform over every value in place. Empty values are not transformed (empty is
    /// missing) and are dropped afterwards; `split` may turn one value into several.
    pub fn apply_all<'a>(&'a self, values: &mut Vec<Cow<'a, str>>) -> Result<(), String> {
        values.retain(|v| !v.is_empty());
        if let Transform::Split(separator) = self {
            let mut parts = Vec::with_capacity(values.len());
            for value in values.drain(..) {
                split(value, separator, &mut parts);
            }
            *values = parts;
            return Ok(());
        }
        for value in values.iter_mut() {
            *value = self.apply(std::mem::take(value))?;
        }
        values.retain(|v| !v.is_empty());
        Ok(())
    }

    /// Runs the transform on one value; an empty result means missing. `split` is not applied
    /// here (it needs [`Transform::apply_all`]).
    pub fn apply<'a>(&'a self, value: Cow<'a, str>) -> Result<Cow<'a, str>, String> {
        match self {
            Transform::Trim => Ok(map_slice(value, str::trim)),
            Transform::Upper => Ok(owned_if_changed(value, |s| s.to_uppercase())),
            Transform::Lower => Ok(owned_if_changed(value, |s| s.to_lowercase())),
            Transform::StripLeadingZeros => Ok(map_slice(value, strip_leading_zeros)),
            Transform::CollapseSpaces => Ok(collapse_spaces(value)),
            Transform::SapDate => sap_date(&value),
            Transform::ODataDate => odata_date(&value),
            Transform::Replace { pattern, with } => Ok(Cow::Owned(
                pattern.replace_all(&value, with.as_str()).into_owned(),
            )),
            Transform::Lookup(table) => table.get(value),
            Transform::Date { format } => parse_date(&value, format),
            Transform::Datetime { format, timezone } => parse_datetime(&value, format, *timezone),
            Transform::Decimal { separator } => {
                parse_decimal(&value, *separator).map(|d| Cow::Owned(d.to_string()))
            }
            Transform::Prefix(prefix) => Ok(if value.starts_with(prefix.as_str()) {
                value
            } else {
                Cow::Owned(format!("{prefix}{value}"))
            }),
            Transform::Suffix(suffix) => Ok(Cow::Owned(format!("{value}{suffix}"))),
            Transform::Split(_) => Ok(value),
            Transform::Multiply(factor) => {
                let number = Decimal::from_str(value.trim()).map_err(|_| {
                    format!("transform `multiply`: `{value}` is not a decimal number")
                })?;
                let product = number.checked_mul(*factor).ok_or_else(|| {
                    format!("transform `multiply`: `{value}` × {factor} overflows")
                })?;
                Ok(Cow::Owned(product.to_string()))
            }
        }
    }
}

fn map_slice<'a>(value: Cow<'a, str>, f: impl Fn(&str) -> &str) -> Cow<'a, str> {
    match value {
        Cow::Borrowed(s) => Cow::Borrowed(f(s)),
        Cow::Owned(s) => {
            let sliced = f(&s);
            if sliced.len() == s.len() {
                Cow::Owned(s)
            } else {
                Cow::Owned(sliced.to_string())
            }
        }
    }
}

fn owned_if_changed<'a>(value: Cow<'a, str>, f: impl Fn(&str) -> String) -> Cow<'a, str> {
    let changed = f(&value);
    if changed == *value {
        value
    } else {
        Cow::Owned(changed)
    }
}

fn strip_leading_zeros(s: &str) -> &str {
    let stripped = s.trim_start_matches('0');
    if stripped.is_empty() && !s.is_empty() {
        &s[s.len() - 1..]
    } else {
        stripped
    }
}

fn collapse_spaces(value: Cow<'_, str>) -> Cow<'_, str> {
    let needs = value
        .as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_whitespace() && w[1].is_ascii_whitespace())
        || value.chars().any(|c| c.is_whitespace() && c != ' ');
    if !needs {
        return value;
    }
    let mut out = String::with_capacity(value.len());
    let mut in_space = false;
    for c in value.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    Cow::Owned(out)
}

fn split<'a>(value: Cow<'a, str>, separator: &str, out: &mut Vec<Cow<'a, str>>) {
    let pieces = |s: &str| -> Vec<(usize, usize)> {
        let base = s.as_ptr() as usize;
        s.split(separator)
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| (p.as_ptr() as usize - base, p.len()))
            .collect()
    };
    match value {
        Cow::Borrowed(s) => out.extend(
            pieces(s)
                .into_iter()
                .map(|(at, len)| Cow::Borrowed(&s[at..at + len])),
        ),
        Cow::Owned(s) => out.extend(
            pieces(&s)
                .into_iter()
                .map(|(at, len)| Cow::Owned(s[at..at + len].to_string())),
        ),
    }
}

fn sap_date(value: &str) -> Result<Cow<'static, str>, String> {
    let value = value.trim();
    if value.is_empty() || value.bytes().all(|b| b == b'0') {
        return Ok(Cow::Borrowed(""));
    }
    NaiveDate::parse_from_str(value, "%Y%m%d")
        .map(|d| Cow::Owned(d.format("%Y-%m-%d").to_string()))
        .map_err(|e| format!("transform `sap_date`: `{value}` is not a date YYYYMMDD ({e})"))
}

fn odata_date(value: &str) -> Result<Cow<'static, str>, String> {
    let value = value.trim();
    let fail = || format!("transform `odata_date`: `{value}` is not an OData date `/Date(<ms>)/`");
    let inner = value
        .strip_prefix("/Date(")
        .and_then(|rest| rest.strip_suffix(")/"))
        .ok_or_else(fail)?;
    // The offset, when present, follows the milliseconds as `+mmmm`/`-mmmm` (minutes); a
    // leading `-` is the sign of the milliseconds themselves.
    let (sign, digits) = match inner.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", inner),
    };
    let (millis, offset) = digits.split_at(digits.find(['+', '-']).unwrap_or(digits.len()));
    let offset_is_minutes = offset.is_empty()
        || (offset.len() > 1 && offset.bytes().skip(1).all(|b| b.is_ascii_digit()));
    if millis.is_empty() || !millis.bytes().all(|b| b.is_ascii_digit()) || !offset_is_minutes {
        return Err(fail());
    }
    let millis: i64 = format!("{sign}{millis}").parse().map_err(|_| fail())?;
    let instant = DateTime::<Utc>::from_timestamp_millis(millis).ok_or_else(fail)?;
    Ok(Cow::Owned(
        instant.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    ))
}

fn parse_date(value: &str, format: &str) -> Result<Cow<'static, str>, String> {
    let value = value.trim();
    NaiveDate::parse_from_str(value, format)
        .or_else(|_| NaiveDateTime::parse_from_str(value, format).map(|dt| dt.date()))
        .map(|d| Cow::Owned(d.format("%Y-%m-%d").to_string()))
        .map_err(|e| format!("transform `date`: `{value}` does not match `{format}` ({e})"))
}

fn parse_datetime(
    value: &str,
    format: &DatetimeFormat,
    timezone: Tz,
) -> Result<Cow<'static, str>, String> {
    let value = value.trim();
    let fail = |e: &dyn fmt::Display| {
        format!("transform `datetime`: cannot read `{value}` as a date-time ({e})")
    };
    let instant = match format {
        DatetimeFormat::Rfc3339 => match DateTime::parse_from_rfc3339(value) {
            Ok(dt) => dt.with_timezone(&Utc),
            Err(e) => NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f"))
                .map_err(|_| fail(&e))
                .and_then(|naive| in_zone(naive, timezone, value))?,
        },
        DatetimeFormat::WithOffset(format) => format
            .parse(value)
            .and_then(|parsed| parsed.to_datetime())
            .map(|dt| dt.with_timezone(&Utc))
            .map_err(|e| {
                format!("transform `datetime`: `{value}` does not match `{format}` ({e})")
            })?,
        DatetimeFormat::Local(format) => {
            // One parse serves both readings: what chrono's `parse_from_str` of a date-time and
            // of a date would each make of it.
            let naive = format
                .parse(value)
                .and_then(|parsed| {
                    parsed.to_naive_datetime_with_offset(0).or_else(|e| {
                        parsed
                            .to_naive_date()
                            .map(|d| d.and_time(chrono::NaiveTime::MIN))
                            .map_err(|_| e)
                    })
                })
                .map_err(|e| {
                    format!("transform `datetime`: `{value}` does not match `{format}` ({e})")
                })?;
            in_zone(naive, timezone, value)?
        }
    };
    Ok(Cow::Owned(
        instant.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    ))
}

/// A local time in `timezone`; in the hour clocks go back the earlier instant is taken.
fn in_zone(naive: NaiveDateTime, timezone: Tz, value: &str) -> Result<DateTime<Utc>, String> {
    timezone
        .from_local_datetime(&naive)
        .earliest()
        .map(|dt| dt.with_timezone(&Utc))
        .ok_or_else(|| {
            format!("transform `datetime`: `{value}` does not exist in {timezone} (clocks skip it)")
        })
}

fn parse_decimal(value: &str, separator: char) -> Result<Decimal, String> {
    let fail = || format!("transform `decimal`: `{value}` is not a decimal number");
    let trimmed = value.trim();
    let (body, negative) = match trimmed.strip_suffix('-') {
        Some(body) => (body.trim_end(), true),
        None => (trimmed, false),
    };
    let grouping = if separator == ',' { '.' } else { ',' };
    let mut text = String::with_capacity(body.len());
    for c in body.chars() {
        match c {
            c if c == separator => text.push('.'),
            c if c == grouping || c == '\'' || c.is_whitespace() => {}
            c => text.push(c),
        }
    }
    if text.is_empty() || (negative && text.starts_with(['-', '+'])) {
        return Err(fail());
    }
    let number = Decimal::from_str(&text).map_err(|_| fail())?;
    Ok(if negative { -number } else { number })
}

/// Transforms that are only written with a parameter (`{ prefix: "X" }`), never as a plain name.
const NEEDS_PARAMETER: [&str; 6] = ["replace", "lookup", "prefix", "suffix", "split", "multiply"];

impl schemars::JsonSchema for TransformSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Transform".into()
    }

    /// A plain name, or a map with exactly one key, the transform's name, and its parameter.
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let one_key = |name: &str, parameter: schemars::Schema| {
            schemars::json_schema!({
                "type": "object",
                "properties": { (name): parameter },
                "required": [name],
                "additionalProperties": false
            })
        };
        let date_format = schemars::json_schema!({
            "anyOf": [
                { "type": "string", "description": "a chrono format such as `%d.%m.%Y`" },
                {
                    "type": "object",
                    "properties": { "format": { "type": "string" } },
                    "required": ["format"],
                    "additionalProperties": false
                }
            ]
        });
        let scalar = generator.subschema_for::<Scalar>();
        let plain: Vec<&str> = TRANSFORM_NAMES
            .into_iter()
            .filter(|name| !NEEDS_PARAMETER.contains(name))
            .collect();
        let variants = vec![
            schemars::json_schema!({ "type": "string", "enum": plain }),
            one_key("replace", generator.subschema_for::<ReplaceParams>()),
            one_key("lookup", generator.subschema_for::<LookupRef>()),
            one_key("date", date_format),
            one_key("datetime", generator.subschema_for::<DatetimeParams>()),
            one_key("decimal", generator.subschema_for::<DecimalParams>()),
            one_key("prefix", scalar.clone()),
            one_key("suffix", scalar.clone()),
            one_key("split", scalar.clone()),
            one_key("multiply", scalar),
        ];
        schemars::json_schema!({ "anyOf": variants })
    }
}

impl schemars::JsonSchema for LookupRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LookupRef".into()
    }

    /// A table's name (built in or under `lookups:`), or a table written inline.
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let inline = generator.subschema_for::<LookupDef>();
        schemars::json_schema!({ "anyOf": [{ "type": "string" }, inline] })
    }
}

impl<'de> Deserialize<'de> for TransformSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TransformVisitor)
    }
}

struct TransformVisitor;

impl<'de> Visitor<'de> for TransformVisitor {
    type Value = TransformSpec;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a transform: a name such as `trim` or a one-key map such as `{ date: \"%d.%m.%Y\" }`",
        )
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<TransformSpec, E> {
        let ready = match name {
            "trim" => Transform::Trim,
            "upper" => Transform::Upper,
            "lower" => Transform::Lower,
            "strip_leading_zeros" => Transform::StripLeadingZeros,
            "collapse_spaces" => Transform::CollapseSpaces,
            "sap_date" => Transform::SapDate,
            "odata_date" => Transform::ODataDate,
            "decimal" => Transform::Decimal { separator: '.' },
            "date" => Transform::Date {
                format: "%Y-%m-%d".into(),
            },
            "datetime" => Transform::Datetime {
                format: DatetimeFormat::Rfc3339,
                timezone: Tz::UTC,
            },
            _ if NEEDS_PARAMETER.contains(&name) => {
                return Err(E::custom(format!(
                    "transform `{name}` needs a parameter: `{{ {name}: ... }}`"
                )));
            }
            _ => return Err(E::custom(unknown_transform(name))),
        };
        Ok(TransformSpec::Ready(ready))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TransformSpec, A::Error> {
        let Some(name) = map.next_key::<String>()? else {
            return Err(de::Error::custom(
                "a transform map needs one key, the transform's name",
            ));
        };
        let spec = match name.as_str() {
            "replace" => {
                let p: ReplaceParams = map.next_value()?;
                TransformSpec::Ready(Transform::Replace {
                    pattern: p.pattern.0,
                    with: p.with,
                })
            }
            "lookup" => TransformSpec::Lookup(map.next_value()?),
            "date" => {
                let p: FormatParam = map.next_value()?;
                TransformSpec::Ready(Transform::Date { format: p.0 })
            }
            "datetime" => {
                let p: DatetimeParams = map.next_value()?;
                let format = match p.format.as_str() {
                    "rfc3339" | "RFC3339" => DatetimeFormat::Rfc3339,
                    _ if p.format.contains("z") && p.format.contains('%') => {
                        DatetimeFormat::WithOffset(ChronoFormat::new(p.format))
                    }
                    _ => DatetimeFormat::Local(ChronoFormat::new(p.format)),
                };
                let timezone = p.timezone.map(|t| t.0).unwrap_or(Tz::UTC);
                TransformSpec::Ready(Transform::Datetime { format, timezone })
            }
            "decimal" => {
                let p: DecimalParams = map.next_value()?;
                let separator = match p.separator.0.as_str() {
                    "," => ',',
                    "." => '.',
                    other => {
                        return Err(de::Error::custom(format!(
                            "decimal separator must be \",\" or \".\", not {other:?}"
                        )));
                    }
                };
                TransformSpec::Ready(Transform::Decimal { separator })
            }
            "prefix" => TransformSpec::Ready(Transform::Prefix(map.next_value::<Scalar>()?.0)),
            "suffix" => TransformSpec::Ready(Transform::Suffix(map.next_value::<Scalar>()?.0)),
            "split" => {
                let separator = map.next_value::<Scalar>()?.0;
                if separator.is_empty() {
                    return Err(de::Error::custom("split separator must not be empty"));
                }
                TransformSpec::Ready(Transform::Split(separator))
            }
            "multiply" => {
                let factor = map.next_value::<Scalar>()?.0;
                let factor = Decimal::from_str(factor.trim())
                    .or_else(|_| Decimal::from_scientific(factor.trim()))
                    .map_err(|_| {
                        de::Error::custom(format!(
                            "multiply needs a decimal number, not `{factor}`"
                        ))
                    })?;
                TransformSpec::Ready(Transform::Multiply(factor))
            }
            "trim"
            | "upper"
            | "lower"
            | "strip_leading_zeros"
            | "collapse_spaces"
            | "sap_date"
            | "odata_date" => {
                return Err(de::Error::custom(format!(
                    "transform `{name}` takes no parameters: write it as a plain name"
                )));
            }
            other => return Err(de::Error::custom(unknown_transform(other))),
        };
        if map.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(format!(
                "a transform map has exactly one key; put the next transform in its own list item after `{name}`"
            )));
        }
        Ok(spec)
    }
}

fn unknown_transform(name: &str) -> String {
    let hint = did_you_mean(name, TRANSFORM_NAMES);
    format!("unknown transform `{name}`{hint}")
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReplaceParams {
    pattern: Pattern,
    #[serde(default)]
    with: String,
}

/// A regex compiled at load time.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "String")]
#[schemars(with = "String")]
pub struct Pattern(pub Regex);

impl TryFrom<String> for Pattern {
    type Error = String;

    fn try_from(text: String) -> Result<Pattern, String> {
        Regex::new(&text).map(Pattern).map_err(|e| {
            let detail = e.to_string();
            let last = detail.lines().last().unwrap_or_default().trim().to_string();
            format!("invalid regex `{text}`: {last}")
        })
    }
}

/// `date: "%d.%m.%Y"` or `date: { format: "%d.%m.%Y" }`.
struct FormatParam(String);

impl<'de> Deserialize<'de> for FormatParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        struct Long {
            format: String,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FormatParam;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a chrono format string or `{ format: \"...\" }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FormatParam, E> {
                Ok(FormatParam(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FormatParam, A::Error> {
                let long = Long::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(FormatParam(long.format))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct DatetimeParams {
    format: String,
    timezone: Option<TimeZoneName>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct DecimalParams {
    separator: Scalar,
}

/// An IANA timezone checked at load time.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "String")]
#[schemars(with = "String")]
struct TimeZoneName(Tz);

impl TryFrom<String> for TimeZoneName {
    type Error = String;

    fn try_from(name: String) -> Result<TimeZoneName, String> {
        Tz::from_str(&name).map(TimeZoneName).map_err(|_| {
            let hint = did_you_mean(&name, chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()));
            format!("unknown timezone `{name}`{hint}")
        })
    }
}

impl<'de> Deserialize<'de> for LookupRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LookupRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a lookup table name or `{ table: {...}, default: ... }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LookupRef, E> {
                Ok(LookupRef::Named(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LookupRef, A::Error> {
                LookupDef::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(LookupRef::Inline)
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> Result<TransformSpec, String> {
        crate::yaml::from_str::<TransformSpec>(std::path::Path::new("t.yaml"), yaml)
            .map_err(|e| e.to_string())
    }

    fn ready(yaml: &str) -> Transform {
        match spec(yaml).unwrap() {
            TransformSpec::Ready(t) => t,
            TransformSpec::Lookup(_) => panic!("lookup"),
        }
    }

    fn run(yaml: &str, input: &str) -> Result<Vec<String>, String> {
        let t = ready(yaml);
        let mut values = vec![Cow::Borrowed(input)];
        t.apply_all(&mut values)?;
        Ok(values.into_iter().map(Cow::into_owned).collect())
    }

    fn one(yaml: &str, input: &str) -> String {
        run(yaml, input).unwrap().join("|")
    }

    #[test]
    fn plain_string_transforms() {
        assert_eq!(one("trim", "  a b  "), "a b");
        assert_eq!(one("upper", "abc"), "ABC");
        assert_eq!(one("lower", "ÄBC"), "äbc");
        assert_eq!(one("collapse_spaces", "a  \t b\nc"), "a b c");
        assert_eq!(one("collapse_spaces", "a b"), "a b");
    }

    #[test]
    fn strip_leading_zeros_keeps_one_zero() {
        assert_eq!(one("strip_leading_zeros", "0000012345"), "12345");
        assert_eq!(one("strip_leading_zeros", "0000"), "0");
        assert_eq!(one("strip_leading_zeros", "00A1"), "A1");
        assert_eq!(one("strip_leading_zeros", "100"), "100");
    }

    #[test]
    fn sap_date_reads_yyyymmdd_and_blank_is_missing() {
        assert_eq!(one("sap_date", "20240229"), "2024-02-29");
        assert_eq!(run("sap_date", "00000000").unwrap(), Vec::<String>::new());
        assert_eq!(run("sap_date", "        ").unwrap(), Vec::<String>::new());
        let err = run("sap_date", "20241341").unwrap_err();
        assert!(err.contains("`20241341` is not a date"), "{err}");
    }

    #[test]
    fn replace_with_group_references() {
        assert_eq!(
            one(
                "{ replace: { pattern: '^(\\d+)-(\\d+)$', with: '$2/$1' } }",
                "12-34"
            ),
            "34/12"
        );
        assert_eq!(
            one("{ replace: { pattern: '[^0-9+]' } }", "+49 (0) 30-1234"),
            "+490301234"
        );
    }

    #[test]
    fn bad_regex_is_refused_at_load() {
        let err = spec("{ replace: { pattern: 'a(', with: x } }").unwrap_err();
        assert!(err.contains("invalid regex `a(`"), "{err}");
    }

    #[test]
    fn date_parses_with_a_chrono_format() {
        assert_eq!(one("{ date: '%d.%m.%Y' }", "01.03.2024"), "2024-03-01");
        assert_eq!(
            one("{ date: { format: '%m/%d/%Y' } }", "12/31/2023"),
            "2023-12-31"
        );
        assert_eq!(
            one("{ date: '%Y-%m-%d %H:%M' }", "2024-03-01 10:15"),
            "2024-03-01"
        );
        let err = run("{ date: '%d.%m.%Y' }", "31.02.2024").unwrap_err();
        assert!(
            err.contains("`31.02.2024` does not match `%d.%m.%Y`"),
            "{err}"
        );
    }

    #[test]
    fn datetime_converts_local_time_to_utc() {
        let t = "{ datetime: { format: '%Y-%m-%d %H:%M:%S', timezone: Europe/Berlin } }";
        assert_eq!(one(t, "2024-07-01 12:00:00"), "2024-07-01T10:00:00Z");
        assert_eq!(one(t, "2024-01-15 12:00:00"), "2024-01-15T11:00:00Z");
        let utc = "{ datetime: { format: '%Y%m%d%H%M%S' } }";
        assert_eq!(one(utc, "20240102030405"), "2024-01-02T03:04:05Z");
        let date_only = "{ datetime: { format: '%Y%m%d', timezone: Europe/Berlin } }";
        assert_eq!(one(date_only, "20240102"), "2024-01-01T23:00:00Z");
    }

    #[test]
    fn datetime_keeps_an_offset_the_input_carries() {
        let t = "{ datetime: { format: rfc3339, timezone: Europe/Berlin } }";
        assert_eq!(one(t, "2024-07-01T12:00:00+02:00"), "2024-07-01T10:00:00Z");
        assert_eq!(one(t, "2024-07-01T12:00:00"), "2024-07-01T10:00:00Z");
        let with_z = "{ datetime: { format: '%Y-%m-%d %H:%M:%S %z', timezone: Europe/Berlin } }";
        assert_eq!(
            one(with_z, "2024-07-01 12:00:00 -0500"),
            "2024-07-01T17:00:00Z"
        );
        assert_eq!(
            one("datetime", "2024-07-01T12:00:00.5Z"),
            "2024-07-01T12:00:00.500Z"
        );
        assert!(
            run(t, "yesterday")
                .unwrap_err()
                .contains("cannot read `yesterday`")
        );
    }

    /// The errors a user sees for values a format does not read, and for a format chrono does not
    /// know, which the mapping loads and every value then fails with.
    #[test]
    fn datetime_reports_a_value_or_a_format_it_cannot_read_per_value() {
        let local = "{ datetime: { format: '%Y-%m-%d %H:%M:%S', timezone: Europe/Berlin } }";
        assert_eq!(
            run(local, "2024-07-01").unwrap_err(),
            "transform `datetime`: `2024-07-01` does not match `%Y-%m-%d %H:%M:%S` \
             (premature end of input)"
        );
        let date_only = "{ datetime: { format: '%Y%m%d' } }";
        assert_eq!(
            run(date_only, "20240230").unwrap_err(),
            "transform `datetime`: `20240230` does not match `%Y%m%d` \
             (input is out of range)"
        );
        let with_z = "{ datetime: { format: '%Y-%m-%d %H:%M %z' } }";
        assert_eq!(
            run(with_z, "2024-07-01 12:00").unwrap_err(),
            "transform `datetime`: `2024-07-01 12:00` does not match `%Y-%m-%d %H:%M %z` \
             (premature end of input)"
        );
        let bad = "{ datetime: { format: '%Y-%Q' } }";
        assert_eq!(
            run(bad, "2024-01").unwrap_err(),
            "transform `datetime`: `2024-01` does not match `%Y-%Q` \
             (bad or unsupported format string)"
        );
    }

    #[test]
    fn odata_date_reads_milliseconds_since_the_epoch_as_utc() {
        assert_eq!(
            one("odata_date", "/Date(1700000000000)/"),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            one("odata_date", "/Date(1700000000000+0060)/"),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            one("odata_date", "/Date(1715558400000)/"),
            "2024-05-13T00:00:00Z"
        );
        assert_eq!(
            one("odata_date", "/Date(-86400000)/"),
            "1969-12-31T00:00:00Z"
        );
        assert_eq!(
            one("odata_date", "/Date(1500)/"),
            "1970-01-01T00:00:01.500Z"
        );
        let midnight = one("odata_date", "/Date(1715558400000)/");
        assert_eq!(
            one("{ date: '%Y-%m-%dT%H:%M:%S%.fZ' }", &midnight),
            "2024-05-13"
        );
        for bad in [
            "2024-05-13",
            "/Date()/",
            "/Date(12x)/",
            "/Date(1+ab)/",
            "Date(1)",
        ] {
            let err = run("odata_date", bad).unwrap_err();
            assert!(err.contains("is not an OData date"), "{bad}: {err}");
        }
    }

    #[test]
    fn unknown_timezone_is_refused_with_a_suggestion() {
        let err = spec("{ datetime: { format: rfc3339, timezone: Europe/Berln } }").unwrap_err();
        assert!(
            err.contains("unknown timezone `Europe/Berln`, did you mean `Europe/Berlin`?"),
            "{err}"
        );
    }

    #[test]
    fn decimal_with_either_separator_and_sap_minus() {
        assert_eq!(one("decimal", "1,234.50"), "1234.50");
        assert_eq!(
            one("{ decimal: { separator: ',' } }", "1.234,50"),
            "1234.50"
        );
        assert_eq!(one("{ decimal: { separator: ',' } }", "1 234,5"), "1234.5");
        assert_eq!(one("decimal", "1'234.00"), "1234.00");
        assert_eq!(one("decimal", "12.00-"), "-12.00");
        assert_eq!(one("decimal", "-3"), "-3");
        for bad in ["abc", "1.2.3", "--1", "-5-", "-"] {
            let err = run("decimal", bad).unwrap_err();
            assert!(err.contains("is not a decimal number"), "{bad}: {err}");
        }
        assert!(
            spec("{ decimal: { separator: ';' } }")
                .unwrap_err()
                .contains("separator must be")
        );
    }

    #[test]
    fn prefix_unless_present_suffix_always() {
        assert_eq!(one("{ prefix: DE }", "123456789"), "DE123456789");
        assert_eq!(one("{ prefix: DE }", "DE123456789"), "DE123456789");
        assert_eq!(one("{ suffix: x }", "ax"), "axx");
    }

    #[test]
    fn split_yields_trimmed_non_empty_parts() {
        assert_eq!(
            run("{ split: ';' }", "a@x.de; b@x.de;;").unwrap(),
            vec!["a@x.de", "b@x.de"]
        );
    }

    #[test]
    fn multiply_is_decimal_exact() {
        assert_eq!(one("{ multiply: 0.001 }", "1500"), "1.500");
        assert_eq!(one("{ multiply: '100' }", "0.25"), "25.00");
        assert!(
            run("{ multiply: 2 }", "x")
                .unwrap_err()
                .contains("`x` is not a decimal number")
        );
        assert!(
            spec("{ multiply: abc }")
                .unwrap_err()
                .contains("multiply needs a decimal number")
        );
    }

    #[test]
    fn empty_values_are_not_transformed() {
        assert_eq!(run("{ prefix: DE }", "").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn unknown_transform_suggests_the_closest_name() {
        let err = spec("trimm").unwrap_err();
        assert!(
            err.contains("unknown transform `trimm`, did you mean `trim`?"),
            "{err}"
        );
        let err = spec("{ replase: { pattern: a } }").unwrap_err();
        assert!(err.contains("did you mean `replace`?"), "{err}");
        assert!(spec("replace").unwrap_err().contains("needs a parameter"));
        assert!(
            spec("{ trim: x }")
                .unwrap_err()
                .contains("takes no parameters")
        );
        assert!(
            spec("{ prefix: a, suffix: b }")
                .unwrap_err()
                .contains("exactly one key")
        );
    }

    #[test]
    fn lookup_by_name_or_inline() {
        assert!(
            matches!(spec("{ lookup: sap_status }").unwrap(), TransformSpec::Lookup(LookupRef::Named(n)) if n == "sap_status")
        );
        let TransformSpec::Lookup(LookupRef::Inline(def)) =
            spec("{ lookup: { table: { '01': active }, default: keep } }").unwrap()
        else {
            panic!("inline")
        };
        let table = def.compile("inline");
        assert_eq!(table.get(Cow::Borrowed("01")).unwrap(), "active");
        assert_eq!(table.get(Cow::Borrowed("02")).unwrap(), "02");
        let strict = LookupDef {
            table: Default::default(),
            default: None,
        }
        .compile("s");
        assert_eq!(
            strict.get(Cow::Borrowed("x")).unwrap_err(),
            "no entry for `x` in lookup `s`"
        );
    }
}
