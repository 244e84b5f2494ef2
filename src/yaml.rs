//! The one place YAML is parsed, so the parser can be swapped in one line and every YAML error
//! reads the same: `file:line:col: reason`.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A YAML file that could not be read or did not have the expected shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), position(*line, *column))]
pub struct YamlError {
    pub path: PathBuf,
    /// 1-based line of the offending node (0 when unknown).
    pub line: usize,
    /// 1-based column of the offending node (0 when unknown).
    pub column: usize,
    pub message: String,
}

/// `:line:col`, or nothing when the error is about the file as a whole.
fn position(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}

impl YamlError {
    /// An error at a known position of `path`.
    pub fn at(path: &Path, line: usize, column: usize, message: impl Into<String>) -> YamlError {
        YamlError {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// Deserializes `text`, read from `path`, into `T`; errors carry the node's line and column. A
/// key written twice in one mapping, anywhere in the file, is refused at its second occurrence:
/// serde would silently keep the last value (a duplicated `tax_id:` in a mapping's `fields:`
/// would store customer numbers as VAT IDs).
pub fn from_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, YamlError> {
    let located = |e: serde_yaml::Error| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let message = strip_location(&e.to_string());
        YamlError::at(path, line, column, message)
    };
    if let Err(e) = serde::de::DeserializeSeed::deserialize(
        duplicates::Check,
        serde_yaml::Deserializer::from_str(text),
    ) {
        let mut error = located(e);
        if let Some(key) = duplicates::key_of(&error.message) {
            // The error sits at the duplicate's value; its key is on that line or just above.
            if let Some((line, column)) = duplicates::locate_before(text, key, error.line) {
                (error.line, error.column) = (line, column);
            }
        }
        return Err(error);
    }
    serde_yaml::from_str(text).map_err(located)
}

/// Serializes `value` as YAML, for files Concord writes itself (trained weights).
pub fn to_string<T: serde::Serialize>(path: &Path, value: &T) -> Result<String, YamlError> {
    serde_yaml::to_string(value).map_err(|e| YamlError::at(path, 0, 0, e.to_string()))
}

/// Reads and deserializes a YAML file.
pub fn from_file<T: DeserializeOwned>(path: &Path) -> Result<T, YamlError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| YamlError::at(path, 0, 0, format!("cannot read file: {e}")))?;
    from_str(path, &text)
}

/// Finds where `key:` is written in `text` (the first line whose first token is that key), for
/// errors found after parsing, such as a field name the entity does not have.
pub fn locate_key(text: &str, key: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(i, line)| {
        let trimmed = line.trim_start().trim_start_matches("- ");
        let rest = trimmed.strip_prefix(key)?;
        let rest = rest.trim_start_matches(['"', '\'']);
        rest.trim_start()
            .starts_with(':')
            .then(|| (i + 1, line.len() - trimmed.len() + 1))
    })
}

/// Finds the first place `needle` is written in `text`, for errors about a value rather than a
/// key (a field name inside a flow list, a duplicated name).
pub fn locate_text(text: &str, needle: &str) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .find_map(|(i, line)| line.find(needle).map(|col| (i + 1, col + 1)))
}

/// Finding a key written twice in one mapping.
mod duplicates {
    use std::collections::HashSet;
    use std::fmt;

    use serde::de::{
        self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
    };

    const PREFIX: &str = "duplicate key `";
    const SUFFIX: &str = "`: each key may appear once in a mapping";

    /// Walks a whole document, failing at the value of the first key seen twice in one mapping.
    #[derive(Clone, Copy)]
    pub struct Check;

    impl<'de> DeserializeSeed<'de> for Check {
        type Value = ();

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(Check)
        }
    }

    /// Fails wherever it is asked to read a value: the error then carries that value's position.
    struct Duplicate(String);

    impl<'de> DeserializeSeed<'de> for Duplicate {
        type Value = ();

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Duplicate {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{PREFIX}{}{SUFFIX}", self.0)
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Err(E::custom(format!("{PREFIX}{}{SUFFIX}", self.0)))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            self.visit_bool(false)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            self.visit_bool(false)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            self.visit_bool(false)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            self.visit_bool(false)
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.visit_bool(false)
        }
        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            self.visit_bool(false)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
            Err(de::Error::custom(format!("{PREFIX}{}{SUFFIX}", self.0)))
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
            Err(de::Error::custom(format!("{PREFIX}{}{SUFFIX}", self.0)))
        }
        fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
            Err(de::Error::custom(format!("{PREFIX}{}{SUFFIX}", self.0)))
        }
    }

    impl<'de> Visitor<'de> for Check {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any YAML value")
        }

        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_none<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(Check)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Check)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = HashSet::new();
            while let Some(key) = map.next_key::<serde_yaml::Value>()? {
                let name = match &key {
                    serde_yaml::Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                if seen.insert(key) {
                    map.next_value_seed(Check)?;
                } else {
                    map.next_value_seed(Duplicate(name))?;
                }
            }
            Ok(())
        }
        fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
            let (_, variant) = data.variant::<IgnoredAny>()?;
            de::VariantAccess::newtype_variant_seed(variant, Check)
        }
    }

    /// The key a duplicate-key message names.
    pub fn key_of(message: &str) -> Option<&str> {
        let start = message.find(PREFIX)? + PREFIX.len();
        message[start..].strip_suffix(SUFFIX)
    }

    /// The last line at or before `line` where `key:` is written.
    pub fn locate_before(text: &str, key: &str, line: usize) -> Option<(usize, usize)> {
        let lines: Vec<&str> = text.lines().take(line.max(1)).collect();
        lines.iter().enumerate().rev().find_map(|(i, text)| {
            let column = super::locate_key(text, key)?.1;
            Some((i + 1, column))
        })
    }
}

/// serde_yaml appends " at line L column C" to its messages; the position is reported in front.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
    }

    #[test]
    fn unknown_key_reports_line_and_column() {
        let err = from_str::<Sample>(Path::new("x.yaml"), "name: a\nnmae: b\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 1));
        assert!(
            err.to_string()
                .starts_with("x.yaml:2:1: unknown field `nmae`"),
            "{err}"
        );
    }

    #[test]
    fn a_key_written_twice_is_refused_at_its_second_line() {
        let mapping = "entity: customer\nfields:\n  tax_id: { path: \"$.STCEG\" }\n  name: { path: \"$.NAME1\" }\n  tax_id: { path: \"$.KUNNR\" }\n";
        let err = from_str::<serde_yaml::Value>(Path::new("m.yaml"), mapping).unwrap_err();
        assert_eq!((err.line, err.column), (5, 3), "{err}");
        assert!(err.message.contains("duplicate key `tax_id`"), "{err}");

        let nested = "store: { url: x }\nsources:\n  - name: a\n    mappings: [a.yaml]\n    name: b\nlookups:\n  country:\n    DE: Germany\n    DE:\n      x: 1\n";
        let err = from_str::<serde_yaml::Value>(Path::new("c.yaml"), nested).unwrap_err();
        assert_eq!(err.line, 5, "{err}");
        let err = from_str::<serde_yaml::Value>(
            Path::new("c.yaml"),
            &nested.replace("    name: b\n", ""),
        )
        .unwrap_err();
        assert_eq!((err.line, err.column), (8, 5), "{err}");

        let flow = "a: { x: 1, y: 2, x: 3 }\n";
        let err = from_str::<serde_yaml::Value>(Path::new("f.yaml"), flow).unwrap_err();
        assert_eq!(err.line, 1, "{err}");
        assert!(err.message.contains("`x`"), "{err}");
    }

    #[test]
    fn locates_a_key_written_in_the_text() {
        let text = "entity: customer\nfields:\n  nmae: { path: \"$.a\" }\n";
        assert_eq!(locate_key(text, "nmae"), Some((3, 3)));
        assert_eq!(locate_key(text, "name"), None);
        assert_eq!(locate_text(text, "$.a"), Some((3, 18)));
    }
}
