//! Named placeholders (`:cursor`, `:cursor_key`, `:limit`) rewritten to the backend's bind syntax,
//! so values are always bound as parameters and never spliced into the SQL text.
//!
//! The scan skips string literals, quoted identifiers, comments and PostgreSQL `::` casts and
//! dollar-quoted strings, so `'a:cursor'` or `x::text` are left alone.

/// A value the driver binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// The change time (or other cursor value) of the last row read.
    Cursor,
    /// The key of the last row read, the tie-breaker between rows with the same cursor value.
    CursorKey,
    /// The page size.
    Limit,
}

impl Placeholder {
    fn named(name: &str) -> Option<Placeholder> {
        match name {
            "cursor" => Some(Placeholder::Cursor),
            "cursor_key" => Some(Placeholder::CursorKey),
            "limit" => Some(Placeholder::Limit),
            _ => None,
        }
    }
}

/// The SQL dialect, which decides the bind syntax and how literals are quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `$1`, `$2`, … numbered per distinct name; dollar-quoted strings.
    Postgres,
    /// `?` in order of occurrence; backslash escapes in string literals.
    MySql,
    /// `?` in order of occurrence.
    Sqlite,
}

/// A query with its placeholders rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// The SQL to send.
    pub sql: String,
    /// The values to bind, in bind order.
    pub binds: Vec<Placeholder>,
}

impl Rewritten {
    /// Whether the query uses this placeholder.
    pub fn uses(&self, placeholder: Placeholder) -> bool {
        self.binds.contains(&placeholder)
    }
}

/// Rewrites the named placeholders of `query` in `style`. Other `:words` are left as they are.
pub fn rewrite(query: &str, dialect: Dialect) -> Rewritten {
    let chars: Vec<char> = query.chars().collect();
    let mut sql = String::with_capacity(query.len());
    let mut binds: Vec<Placeholder> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\'' | '"' | '`' => {
                let end = quoted_end(&chars, i, c, dialect == Dialect::MySql);
                sql.extend(&chars[i..end]);
                i = end;
            }
            '-' if next == Some('-') => {
                let end = (i..chars.len())
                    .find(|&j| chars[j] == '\n')
                    .unwrap_or(chars.len());
                sql.extend(&chars[i..end]);
                i = end;
            }
            '/' if next == Some('*') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                    .map_or(chars.len(), |j| j + 2);
                sql.extend(&chars[i..end]);
                i = end;
            }
            '$' if dialect == Dialect::Postgres => {
                let end = dollar_quoted_end(&chars, i).unwrap_or(i + 1);
                sql.extend(&chars[i..end]);
                i = end;
            }
            ':' if next == Some(':') => {
                sql.push_str("::");
                i += 2;
            }
            ':' => {
                let start = i + 1;
                let end = (start..chars.len())
                    .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                    .unwrap_or(chars.len());
                let name: String = chars[start..end].iter().collect();
                let starts_like_name = chars
                    .get(start)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_');
                match Placeholder::named(&name).filter(|_| starts_like_name) {
                    Some(placeholder) => {
                        match dialect {
                            Dialect::MySql | Dialect::Sqlite => {
                                binds.push(placeholder);
                                sql.push('?');
                            }
                            Dialect::Postgres => {
                                let n = match binds.iter().position(|b| *b == placeholder) {
                                    Some(n) => n + 1,
                                    None => {
                                        binds.push(placeholder);
                                        binds.len()
                                    }
                                };
                                sql.push_str(&format!("${n}"));
                            }
                        }
                        i = end;
                    }
                    None => {
                        sql.push(':');
                        i += 1;
                    }
                }
            }
            _ => {
                sql.push(c);
                i += 1;
            }
        }
    }
    Rewritten { sql, binds }
}

/// The index after a quoted run starting at `start`; a doubled quote is an escaped one, and so
/// is a backslashed one in MySQL.
fn quoted_end(chars: &[char], start: usize, quote: char, backslash_escapes: bool) -> usize {
    let mut j = start + 1;
    while j < chars.len() {
        if backslash_escapes && chars[j] == '\\' && quote == '\'' {
            j += 2;
            continue;
        }
        if chars[j] == quote {
            if chars.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    chars.len()
}

/// The index after a PostgreSQL dollar-quoted string (`$$…$$`, `$tag$…$tag$`) starting at
/// `start`, or `None` when the `$` does not open one (a `$1` parameter, say).
fn dollar_quoted_end(chars: &[char], start: usize) -> Option<usize> {
    let tag_end = (start + 1..chars.len()).find(|&j| chars[j] == '$')?;
    let tag = &chars[start..=tag_end];
    if !tag[1..tag.len() - 1]
        .iter()
        .all(|c| c.is_ascii_alphabetic() || *c == '_')
    {
        return None;
    }
    let body = tag_end + 1;
    (body..=chars.len().saturating_sub(tag.len()))
        .find(|&j| chars[j..j + tag.len()] == *tag)
        .map(|j| j + tag.len())
        .or(Some(chars.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "SELECT id FROM c WHERE (updated_at, id) > (:cursor, :cursor_key) \
                         ORDER BY updated_at, id LIMIT :limit";

    #[test]
    fn postgres_numbers_each_name_once() {
        let r = rewrite(
            "SELECT 1 WHERE t > :cursor OR (t = :cursor AND id > :cursor_key) LIMIT :limit",
            Dialect::Postgres,
        );
        assert_eq!(
            r.sql,
            "SELECT 1 WHERE t > $1 OR (t = $1 AND id > $2) LIMIT $3"
        );
        assert_eq!(
            r.binds,
            [
                Placeholder::Cursor,
                Placeholder::CursorKey,
                Placeholder::Limit
            ]
        );
    }

    #[test]
    fn question_marks_bind_in_order_of_occurrence() {
        let r = rewrite(QUERY, Dialect::MySql);
        assert!(
            r.sql.contains("> (?, ?)") && r.sql.ends_with("LIMIT ?"),
            "{}",
            r.sql
        );
        let r = rewrite(
            "t > :cursor OR (t = :cursor AND id > :cursor_key)",
            Dialect::Sqlite,
        );
        assert_eq!(
            r.binds,
            [
                Placeholder::Cursor,
                Placeholder::Cursor,
                Placeholder::CursorKey
            ]
        );
    }

    #[test]
    fn literals_comments_casts_and_other_words_are_left_alone() {
        let text = "SELECT ':cursor', \"a:limit\", x::text, $$ :cursor $$, arr[1:2], :other \
                    -- :limit\n/* :cursor */ FROM t WHERE a = 'it''s :cursor' AND b > :cursor";
        let r = rewrite(text, Dialect::Postgres);
        assert_eq!(r.binds, [Placeholder::Cursor]);
        assert_eq!(r.sql, text.replace("b > :cursor", "b > $1"));
        let r = rewrite("SELECT 'a\\' WHERE t > :cursor", Dialect::Postgres);
        assert_eq!(
            r.binds,
            [Placeholder::Cursor],
            "no backslash escapes in PostgreSQL"
        );
        let r = rewrite("SELECT `:limit`, 'a\\':cursor' FROM t", Dialect::MySql);
        assert!(r.binds.is_empty(), "{r:?}");
    }
}
