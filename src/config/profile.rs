//! Connector profiles: ready source settings for real systems, so a user names a profile and gives
//! only what differs per installation (a URL, credentials, a folder).
//!
//! A profile file `connectors/<profile>.yaml` holds a partial source under `source:`. The user's
//! source keys are deep-merged over it: maps merge key by key, recursively; any other value, lists
//! included, is replaced by the user's. Profiles and the mappings they name are built into the
//! binary; a file at the same relative path next to the config file overrides the built-in copy,
//! so a team can copy one and customise it. Errors name the file they are in — built-in files as
//! `connectors/odoo.yaml (built-in)` — with line and column.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::yaml::{self, YamlError, locate_key};
use super::{Config, SourceConfig, env};
use crate::mapping::MappingFile;

include!(concat!(::std::env!("OUT_DIR"), "/builtin_files.rs"));

/// The text of a file built into the binary, by its path relative to the repository
/// (`connectors/odoo.yaml`, `mappings/odoo/partner.yaml`).
pub fn builtin_file(relative: &str) -> Option<&'static str> {
    BUILTIN_FILES
        .iter()
        .find(|(path, _)| *path == relative)
        .map(|(_, text)| *text)
}

/// The names of the profiles built into the binary, sorted.
pub fn builtin_profiles() -> Vec<&'static str> {
    BUILTIN_FILES
        .iter()
        .filter_map(|(path, _)| path.strip_prefix("connectors/")?.strip_suffix(".yaml"))
        .collect()
}

/// A connector profile file.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The profile's name, as sources write it in `profile:`; must match the file name.
    pub profile: String,
    /// What the profile connects to and which records it reads, for people choosing one.
    pub description: String,
    /// Keys the user's source must give (`url`, `auth`, `auth.key` for a nested one), because no
    /// default can fit every installation.
    #[serde(default)]
    pub requires: Vec<String>,
    /// A partial source: any key a source may have except `name`.
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub source: Mapping,
}

/// A profile as loaded: the file, its (interpolated) text and the name errors give its file.
#[derive(Debug, Clone)]
pub struct LoadedProfile {
    /// The parsed profile.
    pub profile: Profile,
    /// The path errors name: the override file, or `connectors/<name>.yaml (built-in)`.
    pub display: PathBuf,
    /// The text it was parsed from, for locating keys in later errors.
    pub text: String,
}

/// Loads profile `name`: `connectors/<name>.yaml` next to the config when present, else the
/// built-in copy. `None` when neither exists.
pub fn load_profile(base_dir: &Path, name: &str) -> Result<Option<LoadedProfile>, YamlError> {
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_name {
        return Ok(None);
    }
    let relative = format!("connectors/{name}.yaml");
    let local = base_dir.join(&relative);
    let (display, raw) = if local.is_file() {
        let raw = std::fs::read_to_string(&local)
            .map_err(|e| YamlError::at(&local, 0, 0, format!("cannot read profile: {e}")))?;
        (local, raw)
    } else if let Some(text) = builtin_file(&relative) {
        (builtin_display(&relative), text.to_owned())
    } else {
        return Ok(None);
    };
    let text = env::interpolate(&display, &raw, |var| std::env::var(var).ok())?;
    let profile: Profile = yaml::from_str(&display, &text)?;
    let at_key = |key: &str, message: String| {
        let (line, column) = locate_key(&text, key).unwrap_or((0, 0));
        YamlError::at(&display, line, column, message)
    };
    if profile.profile != name {
        return Err(at_key(
            "profile",
            format!(
                "the file is named for profile `{name}` but says `profile: {}`",
                profile.profile
            ),
        ));
    }
    for reserved in ["name", "profile"] {
        if profile.source.contains_key(reserved) {
            return Err(at_key(
                reserved,
                format!("a profile's `source:` cannot set `{reserved}`: each source gives its own"),
            ));
        }
    }
    Ok(Some(LoadedProfile {
        profile,
        display,
        text,
    }))
}

/// How errors name a built-in file.
fn builtin_display(relative: &str) -> PathBuf {
    PathBuf::from(format!("{relative} (built-in)"))
}

/// Merges `over` into `base`: maps key by key, recursively; any other value of `over` (lists
/// included) replaces `base`'s.
pub fn deep_merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Mapping(mut base), Value::Mapping(over)) => {
            for (key, value) in over {
                let merged = match base.remove(&key) {
                    Some(existing) => deep_merge(existing, value),
                    None => value,
                };
                base.insert(key, merged);
            }
            Value::Mapping(base)
        }
        (_, over) => over,
    }
}

/// Whether `source` gives `key` (`a.b` for a nested key) with a value other than null.
fn gives(source: &Mapping, key: &str) -> bool {
    let mut parts = key.split('.');
    let Some(first) = parts.next() else {
        return false;
    };
    let mut value = source.get(first);
    for part in parts {
        value = value.and_then(|v| v.get(part));
    }
    value.is_some_and(|v| !v.is_null())
}

/// Replaces every source of the config document `doc` that names a `profile:` by the profile's
/// source with the user's keys merged over it. Returns `None` when no source names a profile
/// (the config is then read as written, with exact positions).
pub(super) fn expand_sources(
    path: &Path,
    text: &str,
    mut doc: Value,
    base_dir: &Path,
) -> Result<Option<Value>, YamlError> {
    let Some(sources) = doc.get_mut("sources").and_then(Value::as_sequence_mut) else {
        return Ok(None);
    };
    let mut expanded = false;
    for source in sources.iter_mut() {
        let Some(user) = source.as_mapping() else {
            continue;
        };
        let Some(profile_value) = user.get("profile") else {
            continue;
        };
        expanded = true;
        let name = user.get("name").and_then(Value::as_str).unwrap_or_default();
        let block = SourceBlock::find(text, name);
        let at_profile = |message: String| block.error(path, text, "profile", message);
        let Some(profile_name) = profile_value.as_str() else {
            return Err(at_profile(format!(
                "source `{name}`: `profile:` must be a profile's name"
            )));
        };
        let Some(loaded) = load_profile(base_dir, profile_name)? else {
            return Err(at_profile(format!(
                "source `{name}`: no profile `{profile_name}` (built in: {}; or write \
                 connectors/{profile_name}.yaml next to the config)",
                builtin_profiles().join(", ")
            )));
        };
        for required in &loaded.profile.requires {
            if !gives(user, required) {
                return Err(at_profile(format!(
                    "source `{name}`: profile `{profile_name}` ({}) requires `{required}`; add it \
                     to the source",
                    loaded.display.display()
                )));
            }
        }
        let merged = deep_merge(
            Value::Mapping(loaded.profile.source.clone()),
            source.clone(),
        );
        if let Err(error) = serde_yaml::from_value::<SourceConfig>(merged.clone()) {
            let reason = strip_location(&error.to_string());
            let key = named_key(&reason);
            let message = format!("source `{name}` (profile `{profile_name}`): {reason}");
            return Err(match key.and_then(|k| block.locate(text, k)) {
                Some((line, column)) => YamlError::at(path, line, column, message),
                None => match key.and_then(|k| locate_key(&loaded.text, k)) {
                    Some((line, column)) => YamlError::at(&loaded.display, line, column, message),
                    None => at_profile(message),
                },
            });
        }
        *source = merged;
    }
    Ok(expanded.then_some(doc))
}

/// Reads a config document whose profiles have been expanded. The document has no positions any
/// more, so an error is placed where the key it names is written in the config text.
pub(super) fn config_from_expanded(
    path: &Path,
    text: &str,
    doc: Value,
) -> Result<Config, YamlError> {
    serde_yaml::from_value(doc).map_err(|error| {
        let message = strip_location(&error.to_string());
        let (line, column) = named_key(&message)
            .and_then(|key| locate_key(text, key))
            .unwrap_or((0, 0));
        YamlError::at(path, line, column, message)
    })
}

/// The mapping files of a source: each path that is no file on disk but names a built-in mapping
/// (relative to the config's folder, as a profile writes it) is the built-in copy.
pub fn mapping_files(base_dir: &Path, paths: &[PathBuf]) -> Vec<MappingFile> {
    paths
        .iter()
        .map(|path| {
            let builtin = (!path.is_file())
                .then(|| path.strip_prefix(base_dir).ok())
                .flatten()
                .and_then(|relative| {
                    let relative = relative.to_str()?;
                    Some((relative, builtin_file(relative)?))
                });
            match builtin {
                Some((relative, text)) => MappingFile {
                    path: builtin_display(relative),
                    text: Some(text),
                },
                None => MappingFile {
                    path: path.clone(),
                    text: None,
                },
            }
        })
        .collect()
}

/// The key a serde message names first (`unknown field `folder``, `missing field `url``).
fn named_key(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(&message[start..end])
}

/// serde_yaml appends " at line L column C" to messages of errors that have a position.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The lines of one source item in the config text, found by its name, so errors about a
/// source point into that source and not at the first source with the same key.
struct SourceBlock {
    /// First line of the item (0-based), or the whole text when the item was not found.
    start: usize,
    /// One past its last line.
    end: usize,
}

impl SourceBlock {
    fn find(text: &str, name: &str) -> SourceBlock {
        let lines: Vec<&str> = text.lines().collect();
        let whole = SourceBlock {
            start: 0,
            end: lines.len(),
        };
        let indent = |line: &str| line.len() - line.trim_start().len();
        let names_it = |line: &str| {
            let trimmed = line
                .trim_start()
                .trim_start_matches("- ")
                .trim_start_matches("{ ");
            trimmed.strip_prefix("name:").is_some_and(|rest| {
                let value = rest.trim().split([',', '}', '#']).next().unwrap_or("");
                value.trim().trim_matches(['"', '\'']) == name
            })
        };
        let Some(name_line) = lines.iter().position(|line| names_it(line)) else {
            return whole;
        };
        let item_start = (0..=name_line)
            .rev()
            .find(|&i| lines[i].trim_start().starts_with("- "))
            .unwrap_or(name_line);
        let item_indent = indent(lines[item_start]);
        let end = (item_start + 1..lines.len())
            .find(|&i| {
                let line = lines[i];
                let trimmed = line.trim_start();
                !trimmed.is_empty()
                    && !trimmed.starts_with('#')
                    && (indent(line) < item_indent
                        || (indent(line) == item_indent && trimmed.starts_with("- ")))
            })
            .unwrap_or(lines.len());
        SourceBlock {
            start: item_start,
            end,
        }
    }

    /// Where `key:` is written inside the item, as 1-based line and column.
    fn locate(&self, text: &str, key: &str) -> Option<(usize, usize)> {
        let block: Vec<&str> = text
            .lines()
            .skip(self.start)
            .take(self.end - self.start)
            .collect();
        let (line, column) = locate_key(&block.join("\n"), key).or_else(|| {
            // A flow-style item (`- { name: erp, profile: odoo }`) writes keys inside a line.
            block.iter().enumerate().find_map(|(i, line)| {
                let needle = format!("{key}:");
                line.find(&needle).map(|col| (i + 1, col + 1))
            })
        })?;
        Some((self.start + line, column))
    }

    /// An error at `key:` inside the item (at the item itself when the key is not written there).
    fn error(&self, path: &Path, text: &str, key: &str, message: String) -> YamlError {
        let (line, column) = self.locate(text, key).unwrap_or((self.start + 1, 1));
        YamlError::at(path, line, column, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::DriverConfig;

    fn yaml_value(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    fn load(dir: &Path, text: &str) -> Result<Config, String> {
        let path = dir.join("concord.yaml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path).map_err(|e| e.to_string())
    }

    #[test]
    fn deep_merge_merges_maps_and_replaces_everything_else() {
        let base = yaml_value(
            "driver: http\nheaders: { Accept: application/json, X-A: '1' }\nstreams: [a, b]\npage_size: 100\n",
        );
        let over = yaml_value("headers: { X-A: '2', X-B: '3' }\nstreams: [c]\nurl: u\n");
        let merged = deep_merge(base, over);
        assert_eq!(
            merged,
            yaml_value(
                "driver: http\nheaders: { Accept: application/json, X-A: '2', X-B: '3' }\nstreams: [c]\npage_size: 100\nurl: u\n"
            )
        );
        assert_eq!(
            deep_merge(yaml_value("a: {b: 1}"), yaml_value("a: 2")),
            yaml_value("a: 2")
        );
    }

    #[test]
    fn a_builtin_profile_gives_the_driver_and_mappings() {
        let dir = tempfile::tempdir().unwrap();
        let config = load(
            dir.path(),
            "store: { url: 'sqlite://x.db' }\nsources:\n  - name: sap\n    profile: sap-idoc\n    files: 'in/*.xml'\n    priority: 7\n",
        )
        .unwrap();
        let source = &config.sources[0];
        assert_eq!(source.profile.as_deref(), Some("sap-idoc"));
        assert_eq!(source.priority, 7);
        let DriverConfig::Idoc(idoc) = &source.driver else {
            panic!("{:?}", source.driver)
        };
        assert_eq!(idoc.files, "in/*.xml");
        let files = config.mapping_files(source);
        assert_eq!(
            files[0].path,
            PathBuf::from("mappings/sap-idoc/debmas.yaml (built-in)")
        );
        assert!(files[0].text.is_some_and(|t| t.contains("DEBMAS")));
    }

    #[test]
    fn an_override_file_next_to_the_config_wins_over_the_builtin() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("connectors")).unwrap();
        std::fs::write(
            dir.path().join("connectors/sap-idoc.yaml"),
            "profile: sap-idoc\ndescription: ours\nrequires: [files]\nsource:\n  driver: idoc\n  mappings: [mappings/sap-idoc/debmas.yaml]\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("mappings/sap-idoc")).unwrap();
        let ours = dir.path().join("mappings/sap-idoc/debmas.yaml");
        std::fs::write(&ours, "entity: customer\nkey: { path: '$.id' }\n").unwrap();
        let config = load(
            dir.path(),
            "store: { url: 'sqlite://x.db' }\nsources:\n  - name: sap\n    profile: sap-idoc\n    files: 'in/*.xml'\n",
        )
        .unwrap();
        let files = config.mapping_files(&config.sources[0]);
        assert_eq!(
            files.len(),
            1,
            "the override's one mapping, not the built-in four"
        );
        assert_eq!(files[0].path, ours);
        assert_eq!(files[0].text, None);
    }

    #[test]
    fn a_missing_required_key_names_the_source_the_profile_and_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(
            dir.path(),
            "store: { url: 'sqlite://x.db' }\nsources:\n  - name: other\n    driver: csv\n    files: a.csv\n    mappings: [m.yaml]\n  - name: sap\n    profile: sap-idoc\n",
        )
        .unwrap_err();
        assert!(err.contains("concord.yaml:8:5: source `sap`"), "{err}");
        assert!(
            err.contains(
                "profile `sap-idoc` (connectors/sap-idoc.yaml (built-in)) requires `files`"
            ),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_key_is_placed_in_the_users_source_and_an_unknown_profile_lists_the_known() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(
            dir.path(),
            "store: { url: 'sqlite://x.db' }\nsources:\n  - name: sap\n    profile: sap-idoc\n    files: a\n    flies: b\n",
        )
        .unwrap_err();
        assert!(
            err.contains(
                "concord.yaml:6:5: source `sap` (profile `sap-idoc`): unknown field `flies`"
            ),
            "{err}"
        );
        let err = load(
            dir.path(),
            "store: { url: 'sqlite://x.db' }\nsources:\n  - { name: sap, profile: sap-idco, files: a }\n",
        )
        .unwrap_err();
        assert!(
            err.contains("concord.yaml:3:18: source `sap`: no profile `sap-idco`"),
            "{err}"
        );
        assert!(err.contains("sap-idoc"), "{err}");
    }

    #[test]
    fn errors_in_a_profile_name_its_file_and_position() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("connectors")).unwrap();
        std::fs::write(
            dir.path().join("connectors/mine.yaml"),
            "profile: mine\ndescription: x\nsource:\n  driver: csv\n  mappings: [m.yaml]\n  delimter: ';'\n",
        )
        .unwrap();
        let err = load(
            dir.path(),
            "store: { url: 'sqlite://x.db' }\nsources:\n  - name: drop\n    profile: mine\n    files: a.csv\n",
        )
        .unwrap_err();
        assert!(
            err.contains(
                "connectors/mine.yaml:6:3: source `drop` (profile `mine`): unknown field `delimter`"
            ),
            "{err}"
        );
    }

    #[test]
    fn every_builtin_profile_parses_and_its_mappings_are_built_in() {
        assert!(!builtin_profiles().is_empty());
        for name in builtin_profiles() {
            let loaded = load_profile(Path::new("/nonexistent"), name)
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap();
            assert!(!loaded.profile.description.is_empty(), "{name}");
            let mappings = loaded
                .profile
                .source
                .get("mappings")
                .and_then(Value::as_sequence);
            for mapping in mappings.into_iter().flatten() {
                let mapping = mapping.as_str().unwrap();
                assert!(
                    builtin_file(mapping).is_some(),
                    "{name}: {mapping} is not built in"
                );
            }
        }
    }
}
