//! An `sql` source's queries: every `:name` a placeholder the driver binds, and the placeholders
//! its paging needs, checked with the driver's own placeholder parser.

use super::Findings;
use crate::connector::sql::placeholders::{Dialect, rewrite};
use crate::connector::sql::{SqlConfig, check as paging};

/// The placeholders the driver binds, as written.
const KNOWN: &str = ":cursor, :cursor_key, :limit";

pub(super) fn check(config: &SqlConfig, findings: &mut Findings<'_>) {
    let dialect =
        if config.url.starts_with("postgres://") || config.url.starts_with("postgresql://") {
            Dialect::Postgres
        } else if config.url.starts_with("mysql://") || config.url.starts_with("mariadb://") {
            Dialect::MySql
        } else if config.url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            findings.error(
                "url",
                format!(
                    "unknown database `{}`: use postgres://, mysql:// or sqlite://",
                    crate::url::shown(&config.url)
                ),
            );
            return;
        };
    for stream in &config.streams {
        let mut findings = findings.stream(&stream.name);
        check_query("query", &stream.query, dialect, &mut findings);
        if let Some(keys) = stream.deletes.as_ref().and_then(|d| d.keys.as_deref()) {
            check_query("deletes.keys", keys, dialect, &mut findings);
        }
        if let Err(reason) = paging(stream) {
            let setting = if stream.page_size == 0 {
                "page_size"
            } else {
                "query"
            };
            findings.error(setting, reason);
        }
    }
}

/// Placeholders the driver does not know: `:since` (bound by no one, sent to the database as
/// written) and template-style `{{cursor}}`.
fn check_query(setting: &str, query: &str, dialect: Dialect, findings: &mut Findings<'_>) {
    for name in ["cursor", "cursor_key", "limit", "now"] {
        for written in [format!("{{{{{name}}}}}"), format!("{{{{ {name} }}}}")] {
            if query.contains(&written) {
                findings.error(
                    setting,
                    format!(
                        "`{written}` is the http driver's template syntax; sql queries bind named placeholders ({KNOWN})"
                    ),
                );
            }
        }
    }
    for name in unknown_placeholders(query, dialect) {
        findings.error(
            setting,
            format!("`:{name}` is not a placeholder the sql driver binds ({KNOWN})"),
        );
    }
}

/// The `:name`s in placeholder position (outside literals, comments and `::` casts, as the
/// driver's parser reads them) that are not ones it binds. A candidate is tried by putting
/// `:cursor` in its place: where the parser then binds one value more, it was a placeholder.
fn unknown_placeholders(query: &str, dialect: Dialect) -> Vec<String> {
    let binds = rewrite(query, dialect).binds.len();
    let bytes = query.as_bytes();
    let mut unknown = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_name = bytes[i] == b':'
            && (i == 0 || bytes[i - 1] != b':')
            && bytes.get(i + 1) != Some(&b':')
            && bytes
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_');
        if !starts_name {
            i += 1;
            continue;
        }
        let end = (i + 1..bytes.len())
            .find(|&j| !(bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_'))
            .unwrap_or(bytes.len());
        let name = &query[i + 1..end];
        if !matches!(name, "cursor" | "cursor_key" | "limit") {
            let tried = format!("{}:cursor{}", &query[..i], &query[end..]);
            if rewrite(&tried, dialect).binds.len() > binds
                || (dialect == Dialect::Postgres && binds_cursor_anew(query, &tried, dialect))
            {
                unknown.push(name.to_owned());
            }
        }
        i = end;
    }
    unknown
}

/// On PostgreSQL a name bound twice counts once: a candidate beside an existing `:cursor` shows
/// in the rewritten text (one `$n` more) rather than in the binds.
fn binds_cursor_anew(query: &str, tried: &str, dialect: Dialect) -> bool {
    let count = |sql: &str| sql.matches('$').count();
    count(&rewrite(tried, dialect).sql) > count(&rewrite(query, dialect).sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_placeholder_position_that_the_driver_does_not_bind_are_found() {
        let query = "SELECT id, ':since' AS s, x::text FROM c -- :comment\n\
                     WHERE updated_at > :since AND id > :cursor_key /* :block */ LIMIT :limit";
        for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
            assert_eq!(
                unknown_placeholders(query, dialect),
                vec!["since"],
                "{dialect:?}"
            );
        }
        let beside = "SELECT * FROM c WHERE a > :cursor AND b > :after";
        assert_eq!(
            unknown_placeholders(beside, Dialect::Postgres),
            vec!["after"]
        );
        assert!(unknown_placeholders("SELECT a::int FROM c", Dialect::Postgres).is_empty());
    }
}
