//! `${VAR}` and `${VAR:-default}` in config files, read from the environment, so secrets and
//! per-machine settings never have to be written into the file.
//!
//! A variable's value is a value, never YAML: it is placed inside the scalar it is written in, and
//! a scalar whose text changes is written back quoted, so a value like `abc, bogus: 1` stays one
//! string and cannot add keys. A plain scalar that is a single `${VAR}` whose value is a plain
//! word or number (`priority: ${PRIO}` with `PRIO=10`) is left unquoted, so it still types as the
//! number or boolean the field wants. Every value read from the environment is registered with
//! [`crate::redact`], so it never appears in a log line, an error or the store.

use std::path::Path;

use crate::yaml::YamlError;

/// Replaces every `${VAR}` / `${VAR:-default}` in `text` with the variable's value. `$$` stands for
/// a literal `$`. A variable that is unset and has no default is an error naming its position; the
/// value itself never appears in an error, since it may be a secret. Comments are left as written,
/// so an example in a comment needs no variable.
///
/// ```
/// use std::path::Path;
/// use concord::config::env::interpolate;
///
/// let env = |name: &str| match name {
///     "ERP_TOKEN" => Some("s3cret".to_string()),
///     "ODD" => Some("abc, bogus: 1".to_string()),
///     _ => None,
/// };
/// let text = "token: ${ERP_TOKEN}\nurl: ${ERP_URL:-http://127.0.0.1:8000}\nuser: ${ODD}\n";
/// let out = interpolate(Path::new("concord.yaml"), text, env).unwrap();
/// assert_eq!(out, "token: s3cret\nurl: \"http://127.0.0.1:8000\"\nuser: \"abc, bogus: 1\"\n");
///
/// let err = interpolate(Path::new("concord.yaml"), "a: ${MISSING}", env).unwrap_err();
/// assert_eq!(err.to_string(), "concord.yaml:1:4: environment variable `MISSING` is not set (set it, or write `${MISSING:-default}`)");
/// ```
pub fn interpolate(
    path: &Path,
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, YamlError> {
    let mut scanner = Scanner {
        path,
        lookup: &lookup,
        flow_depth: 0,
        open_quote: None,
        block_parent_indent: None,
    };
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let (body, ending) = match line.strip_suffix('\n') {
            Some(body) => match body.strip_suffix('\r') {
                Some(body) => (body, "\r\n"),
                None => (body, "\n"),
            },
            None => (line, ""),
        };
        scanner.line(index + 1, body, &mut out)?;
        out.push_str(ending);
    }
    Ok(out)
}

/// Walks the text line by line, knowing enough YAML to tell which scalar each `${` is in.
struct Scanner<'a, F> {
    path: &'a Path,
    lookup: &'a F,
    /// How many `[` / `{` are open: inside them `,`, `]` and `}` end a plain scalar.
    flow_depth: usize,
    /// The quote character of a quoted scalar that goes on past the end of the previous line.
    open_quote: Option<u8>,
    /// The indentation of the line that opened a `|` / `>` block scalar still being read.
    block_parent_indent: Option<usize>,
}

/// What one `${…}` expansion of a scalar's text gave.
struct Expanded {
    text: String,
    /// Whether any `${…}` was replaced (a `$$` alone leaves the scalar as written).
    substituted: bool,
}

impl<F: Fn(&str) -> Option<String>> Scanner<'_, F> {
    fn line(&mut self, number: usize, line: &str, out: &mut String) -> Result<(), YamlError> {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(parent) = self.block_parent_indent {
            if line.trim().is_empty() || indent > parent {
                // Block scalar content is literal text: values go in as they are.
                out.push_str(&self.expand(number, line, 0)?.text);
                return Ok(());
            }
            self.block_parent_indent = None;
        }
        let bytes = line.as_bytes();
        let mut at = 0;
        if let Some(quote) = self.open_quote {
            at = self.quoted(number, line, 0, quote, out)?;
        }
        while at < bytes.len() {
            let c = bytes[at];
            let next = bytes.get(at + 1).copied();
            let ends_token = |b: Option<u8>| matches!(b, None | Some(b' ' | b'\t'));
            match c {
                b' ' | b'\t' => {
                    out.push(c as char);
                    at += 1;
                }
                b'#' => {
                    out.push_str(&line[at..]);
                    return Ok(());
                }
                b'-' | b'?' | b':' if ends_token(next) => {
                    out.push(c as char);
                    at += 1;
                }
                b'[' | b'{' => {
                    self.flow_depth += 1;
                    out.push(c as char);
                    at += 1;
                }
                b']' | b'}' => {
                    self.flow_depth = self.flow_depth.saturating_sub(1);
                    out.push(c as char);
                    at += 1;
                }
                b',' if self.flow_depth > 0 => {
                    out.push(',');
                    at += 1;
                }
                b'"' | b'\'' => {
                    out.push(c as char);
                    at = self.quoted(number, line, at + 1, c, out)?;
                }
                b'|' | b'>' if self.flow_depth == 0 => {
                    self.block_parent_indent = Some(indent);
                    out.push_str(&line[at..]);
                    return Ok(());
                }
                b'&' | b'*' | b'!' => {
                    let end = line[at..].find([' ', '\t']).map_or(line.len(), |i| at + i);
                    out.push_str(&line[at..end]);
                    at = end;
                }
                _ => at = self.plain(number, line, at, out)?,
            }
        }
        Ok(())
    }

    /// Copies the rest of a quoted scalar that starts at byte `start` (just after the opening
    /// quote), values escaped for that quote style; returns where scanning goes on. A scalar left
    /// open at the end of the line is remembered for the next one.
    fn quoted(
        &mut self,
        number: usize,
        line: &str,
        start: usize,
        quote: u8,
        out: &mut String,
    ) -> Result<usize, YamlError> {
        let bytes = line.as_bytes();
        let mut at = start;
        let mut closed = None;
        while at < bytes.len() {
            match bytes[at] {
                b'\\' if quote == b'"' => at += 2,
                b'\'' if quote == b'\'' && bytes.get(at + 1) == Some(&b'\'') => at += 2,
                b'$' if bytes.get(at + 1) == Some(&b'{') => {
                    at = self.expression_end(number, line, at)?;
                }
                b if b == quote => {
                    closed = Some(at);
                    break;
                }
                _ => at += 1,
            }
        }
        let end = closed.unwrap_or(line.len()).min(line.len());
        let segment = &line[start..end];
        let expanded = self.expand_with(number, segment, start, |value| match quote {
            b'"' => escape_double_quoted(value),
            _ => value.replace('\'', "''"),
        })?;
        out.push_str(&expanded.text);
        self.open_quote = match closed {
            Some(_) => {
                out.push(quote as char);
                None
            }
            None => Some(quote),
        };
        Ok(end + usize::from(closed.is_some()))
    }

    /// Copies a plain scalar starting at byte `start`; returns where scanning goes on. A plain
    /// scalar a value was put into is written back double-quoted, unless it is a single `${VAR}`
    /// whose value is a plain word or number.
    fn plain(
        &mut self,
        number: usize,
        line: &str,
        start: usize,
        out: &mut String,
    ) -> Result<usize, YamlError> {
        let bytes = line.as_bytes();
        let mut at = start;
        while at < bytes.len() {
            let next = bytes.get(at + 1).copied();
            let flow = self.flow_depth > 0;
            match bytes[at] {
                b'$' if next == Some(b'{') => {
                    at = self.expression_end(number, line, at)?;
                    continue;
                }
                b':' if matches!(next, None | Some(b' ' | b'\t'))
                    || (flow && matches!(next, Some(b',' | b']' | b'}'))) =>
                {
                    break;
                }
                b'#' if at > start && matches!(bytes[at - 1], b' ' | b'\t') => break,
                b',' | b']' | b'}' if flow => break,
                _ => {}
            }
            at += 1;
        }
        let raw = &line[start..at];
        let scalar = raw.trim_end_matches([' ', '\t']);
        let trailing = &raw[scalar.len()..];
        let expanded = self.expand(number, scalar, start)?;
        let whole_expression =
            scalar.starts_with("${") && scalar.find('}') == Some(scalar.len() - 1);
        if !expanded.substituted || (whole_expression && is_plain_word(&expanded.text)) {
            out.push_str(&expanded.text);
        } else {
            out.push_str(&escape_double_quoted_whole(&expanded.text));
        }
        out.push_str(trailing);
        Ok(at)
    }

    /// The byte just past the `}` closing the `${` at `dollar`.
    fn expression_end(&self, number: usize, line: &str, dollar: usize) -> Result<usize, YamlError> {
        match line[dollar..].find('}') {
            Some(close) => Ok(dollar + close + 1),
            None => Err(YamlError::at(
                self.path,
                number,
                dollar + 1,
                "`${` without a closing `}`",
            )),
        }
    }

    /// `text` (found at byte `offset` of line `number`) with `$$` and `${…}` replaced.
    fn expand(&self, number: usize, text: &str, offset: usize) -> Result<Expanded, YamlError> {
        self.expand_with(number, text, offset, str::to_string)
    }

    /// Like [`Self::expand`], each value passed through `escape` for the scalar style it goes in.
    fn expand_with(
        &self,
        number: usize,
        text: &str,
        offset: usize,
        escape: impl Fn(&str) -> String,
    ) -> Result<Expanded, YamlError> {
        let mut out = String::with_capacity(text.len());
        let mut substituted = false;
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            out.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                rest = tail;
                continue;
            }
            let Some(body) = after.strip_prefix('{') else {
                out.push('$');
                rest = after;
                continue;
            };
            let column = offset + text.len() - rest.len() + dollar + 1;
            let Some(close) = body.find('}') else {
                return Err(YamlError::at(
                    self.path,
                    number,
                    column,
                    "`${` without a closing `}`",
                ));
            };
            let expression = &body[..close];
            let (name, default) = match expression.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (expression, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(YamlError::at(
                    self.path,
                    number,
                    column,
                    format!("`${{{name}}}` is not a valid environment variable name"),
                ));
            }
            match ((self.lookup)(name).filter(|v| !v.is_empty()), default) {
                (Some(value), _) => {
                    crate::redact::register_env_value(&value);
                    out.push_str(&escape(&value));
                }
                (None, Some(default)) => out.push_str(&escape(default)),
                (None, None) => {
                    return Err(YamlError::at(
                        self.path,
                        number,
                        column,
                        format!(
                            "environment variable `{name}` is not set (set it, or write `${{{name}:-default}}`)"
                        ),
                    ));
                }
            }
            substituted = true;
            rest = &body[close + 1..];
        }
        out.push_str(rest);
        Ok(Expanded {
            text: out,
            substituted,
        })
    }
}

/// Whether `value` reads the same as a plain YAML scalar and can add no structure: a word, a
/// number or a boolean (`10`, `-1.5`, `true`, `de_DE`).
fn is_plain_word(value: &str) -> bool {
    let mut chars = value.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    first_ok
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
}

/// `value` escaped for the inside of a double-quoted YAML scalar (JSON's escapes are YAML's).
fn escape_double_quoted(value: &str) -> String {
    let quoted = escape_double_quoted_whole(value);
    quoted[1..quoted.len() - 1].to_string()
}

/// `value` as a double-quoted YAML scalar.
fn escape_double_quoted_whole(value: &str) -> String {
    serde_json::Value::String(value.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            "ODD" => Some("abc, bogus: 1".into()),
            "QUOTE" => Some("it's \"x\" # not a comment\nsecond".into()),
            "PRIO" => Some("10".into()),
            _ => None,
        }
    }

    fn parse(text: &str) -> serde_yaml::Value {
        let out = interpolate(Path::new("c.yaml"), text, env).unwrap();
        serde_yaml::from_str(&out).unwrap_or_else(|e| panic!("{e}\n{out}"))
    }

    #[test]
    fn replaces_set_variables_and_defaults() {
        let text =
            "# ${UNSET}\na: ${TOKEN}\nb: ${MISSING:-fallback}\nc: ${EMPTY:-x}\nd: $$5 and $x\n";
        let out = interpolate(Path::new("c.yaml"), text, env).unwrap();
        assert_eq!(
            out,
            "# ${UNSET}\na: s3cret\nb: fallback\nc: x\nd: $5 and $x\n"
        );
    }

    #[test]
    fn unset_variable_without_default_names_its_position() {
        let err = interpolate(Path::new("c.yaml"), "a: 1\nurl: \"${DB_URL}\"\n", env).unwrap_err();
        assert_eq!((err.line, err.column), (2, 7));
        assert!(err.message.contains("DB_URL"), "{err}");
    }

    #[test]
    fn a_value_that_looks_like_yaml_stays_one_string() {
        let doc = parse(
            "user: ${ODD}\nflow: { a: ${ODD}, b: 2 }\nlist: [${ODD}]\nquoted: \"pre ${ODD}\"\nsingle: '${QUOTE}'\nmixed: x ${QUOTE} # trailing ${UNSET}\n",
        );
        let map: BTreeMap<String, serde_yaml::Value> = serde_yaml::from_value(doc).unwrap();
        assert_eq!(map.len(), 6, "{map:?}");
        assert_eq!(map["user"], "abc, bogus: 1");
        assert_eq!(map["flow"]["a"], "abc, bogus: 1");
        assert_eq!(map["flow"]["b"], 2);
        assert_eq!(map["list"][0], "abc, bogus: 1");
        assert_eq!(map["quoted"], "pre abc, bogus: 1");
        assert_eq!(map["single"], "it's \"x\" # not a comment second");
        assert_eq!(map["mixed"], "x it's \"x\" # not a comment\nsecond");
    }

    #[test]
    fn a_lone_variable_still_types_as_a_number() {
        let doc = parse("priority: ${PRIO}\nquoted: \"${PRIO}\"\nurl: http://h:${PRIO}/x\n");
        assert_eq!(doc["priority"], 10);
        assert_eq!(doc["quoted"], "10");
        assert_eq!(doc["url"], "http://h:10/x");
    }

    #[test]
    fn block_scalars_and_multi_line_quotes_keep_their_lines() {
        let text = "a: |\n  line ${TOKEN}\n  two\nb: \"one\n  ${ODD}\"\nc: ${PRIO}\n";
        let doc = parse(text);
        assert_eq!(doc["a"], "line s3cret\ntwo\n");
        assert_eq!(doc["b"], "one abc, bogus: 1");
        assert_eq!(doc["c"], 10);
        let out = interpolate(Path::new("c.yaml"), text, env).unwrap();
        assert_eq!(out.lines().count(), text.lines().count());
    }
}
