//! `${VAR}` and `${VAR:-default}` in config files, read from the environment, so secrets and
//! per-machine settings never have to be written into the file.

use std::path::Path;

use super::yaml::YamlError;

/// Replaces every `${VAR}` / `${VAR:-default}` in `text` with the variable's value. `$$` stands for
/// a literal `$`. A variable that is unset and has no default is an error naming its position; the
/// value itself never appears in an error, since it may be a secret. Whole-line comments are left
/// as written, so an example in a comment needs no variable.
///
/// ```
/// use std::path::Path;
/// use concord::config::env::interpolate;
///
/// let env = |name: &str| (name == "ERP_TOKEN").then(|| "s3cret".to_string());
/// let text = "token: ${ERP_TOKEN}\nurl: ${ERP_URL:-http://127.0.0.1:8000}\n";
/// let out = interpolate(Path::new("concord.yaml"), text, env).unwrap();
/// assert_eq!(out, "token: s3cret\nurl: http://127.0.0.1:8000\n");
///
/// let err = interpolate(Path::new("concord.yaml"), "a: ${MISSING}", env).unwrap_err();
/// assert_eq!(err.to_string(), "concord.yaml:1:4: environment variable `MISSING` is not set (set it, or write `${MISSING:-default}`)");
/// ```
pub fn interpolate(
    path: &Path,
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, YamlError> {
    let mut out = String::with_capacity(text.len());
    for (line_index, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let mut rest = line;
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
            let column = line.len() - rest.len() + dollar + 1;
            let Some(close) = body.find('}') else {
                return Err(YamlError::at(
                    path,
                    line_index + 1,
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
                    path,
                    line_index + 1,
                    column,
                    format!("`${{{name}}}` is not a valid environment variable name"),
                ));
            }
            match (lookup(name).filter(|v| !v.is_empty()), default) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => {
                    return Err(YamlError::at(
                        path,
                        line_index + 1,
                        column,
                        format!(
                            "environment variable `{name}` is not set (set it, or write `${{{name}:-default}}`)"
                        ),
                    ));
                }
            }
            rest = &body[close + 1..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
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
}
