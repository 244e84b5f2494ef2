//! How Concord runs as a service (`concord run`): each source's schedule and the operations
//! settings (health and metrics address, shutdown grace, relay pace).

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// When `concord run` pulls a source: `every` a fixed interval or at the times of a `cron`
/// expression, each delayed by up to `jitter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Run this long after the previous run started (`30s`, `5m`, `1h`); a run that takes longer
    /// is followed at once by the next, never overlapped.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub every: Option<Duration>,
    /// Or at the times of a cron expression, in UTC: five fields (`*/15 * * * *`), or six with
    /// seconds first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// A random delay of up to this long added to each run, so sources and instances started
    /// together do not all hit their systems in the same second.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub jitter: Option<Duration>,
}

/// The interval of a source without a schedule under `concord run`.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(300);

impl Schedule {
    /// A fixed interval.
    pub fn every(interval: Duration) -> Schedule {
        Schedule {
            every: Some(interval),
            cron: None,
            jitter: None,
        }
    }

    /// Why the schedule cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        match (&self.every, &self.cron) {
            (Some(_), Some(_)) => Some("give `every` or `cron`, not both".into()),
            (None, None) => Some("give `every: 5m` or `cron: \"*/5 * * * *\"`".into()),
            (Some(every), None) if every.is_zero() => Some("`every` must be longer than 0s".into()),
            (None, Some(cron)) => croner::Cron::from_str(cron)
                .err()
                .map(|e| format!("cron `{cron}`: {e}")),
            (Some(_), None) => None,
        }
    }

    /// The next start after a run that started at `last` (or, before any run, from `now`).
    pub fn next_start(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
        let base = match (&self.every, &self.cron) {
            (Some(every), _) => match last {
                Some(last) => {
                    (last + chrono::Duration::from_std(*every).unwrap_or_default()).max(now)
                }
                None => now,
            },
            (None, Some(cron)) => croner::Cron::from_str(cron)
                .and_then(|cron| cron.find_next_occurrence(&now, false))
                .unwrap_or(now + chrono::Duration::from_std(DEFAULT_EVERY).unwrap_or_default()),
            (None, None) => now,
        };
        let jitter = self
            .jitter
            .map(|j| Duration::from_millis(fastrand::u64(0..=j.as_millis() as u64)))
            .unwrap_or_default();
        base + chrono::Duration::from_std(jitter).unwrap_or_default()
    }
}

/// How the service runs and is watched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationsConfig {
    /// Address of `/healthz`, `/readyz` and `/metrics` (Prometheus text), e.g. `127.0.0.1:9464`;
    /// none when unset.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// How long SIGTERM or Ctrl-C waits for the batches and confirms in flight before the
    /// process exits anyway (what was not committed is read again by the next run).
    #[serde(default = "default_grace", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub shutdown_grace: Duration,
    /// How often the relay looks at the outbox when no run has just committed.
    #[serde(default = "default_relay_interval", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub relay_interval: Duration,
    /// The longest wait before a failing source is tried again (the wait doubles from the
    /// schedule's own interval up to this).
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub max_backoff: Duration,
    /// How often an instance on a shared (PostgreSQL) store tries to take over the sources
    /// another instance holds: an instance that died loses them at once, one whose host vanished
    /// within the store server's TCP keepalive time.
    #[serde(default = "default_takeover", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub takeover_every: Duration,
}

fn default_grace() -> Duration {
    Duration::from_secs(30)
}

fn default_relay_interval() -> Duration {
    Duration::from_secs(1)
}

fn default_max_backoff() -> Duration {
    Duration::from_secs(30 * 60)
}

fn default_takeover() -> Duration {
    Duration::from_secs(15)
}

impl Default for OperationsConfig {
    fn default() -> Self {
        OperationsConfig {
            listen: None,
            shutdown_grace: default_grace(),
            relay_interval: default_relay_interval(),
            max_backoff: default_max_backoff(),
            takeover_every: default_takeover(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn an_interval_counts_from_the_last_start_and_never_schedules_in_the_past() {
        let schedule = Schedule::every(Duration::from_secs(300));
        let now = at("2026-12-06T10:00:00Z");
        assert_eq!(schedule.next_start(None, now), now);
        assert_eq!(
            schedule.next_start(Some(at("2026-12-06T09:58:00Z")), now),
            at("2026-12-06T10:03:00Z")
        );
        // A run that took longer than the interval is followed at once.
        assert_eq!(
            schedule.next_start(Some(at("2026-12-06T09:50:00Z")), now),
            now
        );
    }

    #[test]
    fn a_cron_schedule_runs_at_its_next_time_and_jitter_only_delays() {
        let schedule = Schedule {
            every: None,
            cron: Some("*/15 * * * *".into()),
            jitter: Some(Duration::from_secs(10)),
        };
        assert_eq!(schedule.problem(), None);
        let next = schedule.next_start(None, at("2026-12-06T10:07:30Z"));
        assert!(next >= at("2026-12-06T10:15:00Z") && next <= at("2026-12-06T10:15:10Z"));
    }

    #[test]
    fn unusable_schedules_say_why() {
        let bad = Schedule {
            every: None,
            cron: Some("every tuesday".into()),
            jitter: None,
        };
        assert!(bad.problem().unwrap().contains("every tuesday"));
        assert!(Schedule::every(Duration::ZERO).problem().is_some());
    }
}
