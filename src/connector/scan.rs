//! Key scans: how sources that send no tombstones (most REST APIs, SQL tables, Business Central)
//! still report deletions. Every so often a stream is read once more for its keys only; a stored
//! record whose key is no longer listed is marked deleted, through the same survivorship as an SAP
//! `MSGFN 003`. A scan that would delete more than `max_share` of the stream's stored records
//! refuses: a wrong filter or a half-answering server must not wipe a source out.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A stream's key-scan settings: `deletes: { scan: every 24h, max_share: 0.1 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteScan {
    /// How often the keys are scanned: `every 24h` (any duration: `every 30m`, `every 7d`) or
    /// `every 5 runs`. A first run, and one with `--full`, scans.
    pub scan: ScanEvery,
    /// The largest share (0 to 1) of the stream's stored records one scan may mark deleted; a scan
    /// that would delete more deletes nothing and says so. 0.1 unless set.
    #[serde(default = "default_max_share")]
    pub max_share: f64,
    /// Query parameters that replace the stream's own for the scan, to ask for the key only
    /// (ERPNext: `fields: '["name"]'`, OData: `$select: id`); an empty value drops the stream's
    /// parameter (`$expand: ""`).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// `sql` streams: the query that lists every key, e.g. `SELECT id FROM customers` (its rows
    /// must carry what the mappings' `key:` reads).
    #[serde(default)]
    pub keys: Option<String>,
}

fn default_max_share() -> f64 {
    0.1
}

/// How often a key scan runs.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanEvery {
    /// When this long has passed since the last scan.
    Interval(Duration),
    /// On every n-th run.
    Runs(u64),
}

impl schemars::JsonSchema for ScanEvery {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ScanEvery".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^\\s*every\\s+\\S",
            "examples": ["every 24h", "every 10 runs"]
        })
    }
}

impl TryFrom<String> for ScanEvery {
    type Error = String;

    fn try_from(text: String) -> Result<ScanEvery, String> {
        let usage = || {
            format!("`scan: {text}`: write `every <duration>` (`every 24h`) or `every <n> runs`")
        };
        let rest = text.trim().strip_prefix("every ").ok_or_else(usage)?.trim();
        if let Some(runs) = rest
            .strip_suffix("runs")
            .or_else(|| rest.strip_suffix("run"))
        {
            let runs: u64 = runs.trim().parse().map_err(|_| usage())?;
            return if runs == 0 {
                Err(usage())
            } else {
                Ok(ScanEvery::Runs(runs))
            };
        }
        humantime::parse_duration(rest)
            .map(ScanEvery::Interval)
            .map_err(|e| format!("{}: {e}", usage()))
    }
}

impl From<ScanEvery> for String {
    fn from(every: ScanEvery) -> String {
        every.to_string()
    }
}

impl fmt::Display for ScanEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanEvery::Interval(d) => write!(f, "every {}", humantime::format_duration(*d)),
            ScanEvery::Runs(n) => write!(f, "every {n} runs"),
        }
    }
}

impl Serialize for ScanEvery {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ScanEvery {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ScanEvery::try_from(text).map_err(serde::de::Error::custom)
    }
}

/// When a stream was last scanned and the runs since, as kept in the source's cursor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanState {
    pub last: Option<DateTime<Utc>>,
    pub runs_since: u64,
}

impl ScanState {
    /// Reads the state a cursor keeps (`{"at": "...", "runs": n}`); anything else is "never".
    pub fn from_json(value: Option<&Value>) -> ScanState {
        let Some(value) = value else {
            return ScanState::default();
        };
        ScanState {
            last: value
                .get("at")
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            runs_since: value.get("runs").and_then(Value::as_u64).unwrap_or(0),
        }
    }

    /// Whether a scan is due at `now` (this run counted).
    pub fn due(&self, every: &ScanEvery, now: DateTime<Utc>) -> bool {
        let Some(last) = self.last else {
            return true;
        };
        match every {
            ScanEvery::Interval(interval) => {
                (now - last).to_std().unwrap_or(Duration::ZERO) >= *interval
            }
            ScanEvery::Runs(n) => self.runs_since + 1 >= *n,
        }
    }

    /// The state after this run: scanned now, or one more run without a scan.
    pub fn after_run(&self, scanned: bool, now: DateTime<Utc>) -> Value {
        if scanned {
            json!({"at": now.to_rfc3339(), "runs": 0})
        } else {
            json!({
                "at": self.last.map(|t| t.to_rfc3339()),
                "runs": self.runs_since + 1,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_read_as_durations_or_runs() {
        let parse = |t: &str| ScanEvery::try_from(t.to_string());
        assert_eq!(
            parse("every 24h"),
            Ok(ScanEvery::Interval(Duration::from_secs(86_400)))
        );
        assert_eq!(parse("every 5 runs"), Ok(ScanEvery::Runs(5)));
        assert!(parse("daily").is_err());
        assert!(parse("every 0 runs").is_err());
        let now = Utc::now();
        let never = ScanState::default();
        assert!(never.due(&ScanEvery::Runs(3), now));
        let state = ScanState::from_json(Some(&never.after_run(true, now)));
        assert!(!state.due(&ScanEvery::Runs(3), now));
        assert!(!state.due(&ScanEvery::Interval(Duration::from_secs(3600)), now));
        let later = now + chrono::TimeDelta::hours(2);
        assert!(state.due(&ScanEvery::Interval(Duration::from_secs(3600)), later));
        let state = ScanState::from_json(Some(&state.after_run(false, now)));
        let state = ScanState::from_json(Some(&state.after_run(false, now)));
        assert!(state.due(&ScanEvery::Runs(3), now));
    }
}
