//! Turns a parsed mapping file into a [`CompiledMapping`]: checks what needs the whole file (field
//! names against the entity, lookup names, the shape of each field spec) and resolves lookups, so
//! nothing is looked up by name or parsed again per record.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;

use crate::model::{EntityKind, collection_fields, field_names, is_list_field};
use crate::yaml::{YamlError, locate_key};

use super::lookup::{BUILTIN_NAMES, LookupTable, builtin};
use super::path::JsonPath;
use super::scalar::did_you_mean;
use super::spec::{ConditionSpec, FieldSpec, MappingSpec};
use super::transform::{LookupRef, Transform, TransformSpec};

/// One mapping file, ready to map records.
#[derive(Debug)]
pub struct CompiledMapping {
    pub(super) file: PathBuf,
    pub(super) entity: EntityKind,
    pub(super) stream: Option<String>,
    pub(super) when: Vec<Condition>,
    pub(super) key: ValueField,
    pub(super) changed_at: Option<ValueField>,
    pub(super) deleted: Option<Condition>,
    pub(super) fields: Vec<(String, FieldPlan)>,
}

/// A `when:` or `deleted:` test.
#[derive(Debug)]
pub(super) struct Condition {
    pub(super) path: JsonPath,
    pub(super) test: Test,
}

#[derive(Debug)]
pub(super) enum Test {
    Equals(String),
    OneOf(Vec<String>),
    Exists(bool),
    Matches(Regex),
}

/// How a canonical field is filled.
#[derive(Debug)]
pub(super) enum FieldPlan {
    /// A plain field: one string.
    Single(ValueField),
    /// A list field of the model (`emails`, `phones`): always an array.
    List(ValueField),
    /// A list of structured items (`addresses`, `lines`, ...).
    /// `required` means at least one item.
    Collection {
        each: JsonPath,
        items: Vec<(String, ValueField)>,
        required: bool,
    },
}

/// A value taken from the payload and transformed.
#[derive(Debug)]
pub(super) struct ValueField {
    pub(super) source: Source,
    pub(super) transforms: Vec<Transform>,
    pub(super) default: Option<String>,
    pub(super) required: bool,
    pub(super) many: bool,
}

#[derive(Debug)]
pub(super) enum Source {
    Path(JsonPath),
    Paths(Vec<JsonPath>),
    Value(String),
    Template(Vec<TemplatePart>),
}

#[derive(Debug)]
pub(super) enum TemplatePart {
    Text(String),
    Path(JsonPath),
}

impl CompiledMapping {
    /// Compiles the text of mapping file `file`; every error carries `file:line:col`.
    pub fn parse(file: &Path, text: &str) -> Result<CompiledMapping, YamlError> {
        let spec: MappingSpec = crate::yaml::from_str(file, text)?;
        Compiler::new(file, text, &spec)?.compile(spec)
    }

    /// The file this mapping was read from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The kind of canonical record this mapping produces.
    pub fn entity(&self) -> EntityKind {
        self.entity
    }
}

/// Where a field spec sits, which decides what it may contain.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Key,
    ChangedAt,
    Field,
    ListField,
    ItemField,
}

struct Compiler<'a> {
    file: &'a Path,
    text: &'a str,
    entity: EntityKind,
    lookups: HashMap<String, Arc<LookupTable>>,
}

impl<'a> Compiler<'a> {
    fn new(file: &'a Path, text: &'a str, spec: &MappingSpec) -> Result<Compiler<'a>, YamlError> {
        let entity = EntityKind::parse(&spec.entity).ok_or_else(|| {
            let names = EntityKind::ALL.map(EntityKind::as_str);
            let hint = did_you_mean(&spec.entity, names);
            let (line, col) = locate_key(text, "entity").unwrap_or((0, 0));
            YamlError::at(
                file,
                line,
                col,
                format!(
                    "unknown entity `{}`{hint} (one of: {})",
                    spec.entity,
                    names.join(", ")
                ),
            )
        })?;
        let lookups = spec
            .lookups
            .iter()
            .map(|(name, def)| (name.clone(), Arc::new(def.compile(name))))
            .collect();
        Ok(Compiler {
            file,
            text,
            entity,
            lookups,
        })
    }

    fn compile(&self, spec: MappingSpec) -> Result<CompiledMapping, YamlError> {
        let when = match spec.when {
            Some(when) => when
                .0
                .into_iter()
                .map(|c| self.condition(c, "when"))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let deleted = spec
            .deleted
            .map(|c| self.condition(c, "deleted"))
            .transpose()?;
        let key = self.value_field(spec.key, "key", None, Slot::Key)?;
        let changed_at = spec
            .changed_at
            .map(|f| self.value_field(f, "changed_at", None, Slot::ChangedAt))
            .transpose()?;
        let mut fields = Vec::with_capacity(spec.fields.len());
        for (name, mut field) in spec.fields {
            let source = self.reference_source(&name, &mut field, Some("fields"))?;
            let plan = self.field_plan(&name, field)?;
            fields.push((name, plan));
            fields.extend(source.map(|(name, value)| (name, FieldPlan::Single(value))));
        }
        Ok(CompiledMapping {
            file: self.file.to_path_buf(),
            entity: self.entity,
            stream: spec.stream,
            when,
            key,
            changed_at,
            deleted,
            fields,
        })
    }

    fn field_plan(&self, name: &str, field: FieldSpec) -> Result<FieldPlan, YamlError> {
        let names = field_names(self.entity);
        if !names.contains(&name) {
            let hint = did_you_mean(name, names.iter().copied());
            return Err(self.error_at_field(
                Some("fields"),
                name,
                format!("unknown field `{name}` for entity {}{hint}", self.entity),
            ));
        }
        if let Some(item_names) = collection_fields(self.entity, name) {
            return self.collection(name, field, item_names);
        }
        if field.each.is_some() || field.fields.is_some() {
            return Err(self.error_at_field(
                Some("fields"),
                name,
                format!("field `{name}` is not a collection; `each` and `fields` are only for collection fields"),
            ));
        }
        if is_list_field(self.entity, name) {
            Ok(FieldPlan::List(self.value_field(
                field,
                name,
                Some("fields"),
                Slot::ListField,
            )?))
        } else {
            Ok(FieldPlan::Single(self.value_field(
                field,
                name,
                Some("fields"),
                Slot::Field,
            )?))
        }
    }

    fn collection(
        &self,
        name: &str,
        field: FieldSpec,
        item_names: &[&str],
    ) -> Result<FieldPlan, YamlError> {
        let (Some(each), Some(item_specs)) = (field.each, field.fields) else {
            return Err(self.error_at_field(
                Some("fields"),
                name,
                format!("field `{name}` is a collection: give `each: <JSONPath of the items>` and `fields:`"),
            ));
        };
        let value_keys = field.path.is_some()
            || field.paths.is_some()
            || field.value.is_some()
            || field.template.is_some()
            || !field.transforms.is_empty()
            || field.lookup.is_some()
            || field.default.is_some()
            || field.many;
        if value_keys {
            return Err(self.error_at_field(
                Some("fields"),
                name,
                format!("collection field `{name}` takes only `each`, `fields` and `required`"),
            ));
        }
        let mut items = Vec::with_capacity(item_specs.len());
        for (item_name, mut spec) in item_specs {
            let source = self.reference_source(&item_name, &mut spec, Some(name))?;
            items.extend(source);
            if !item_names.contains(&item_name.as_str()) {
                let hint = did_you_mean(&item_name, item_names.iter().copied());
                return Err(self.error_at_field(
                    Some(name),
                    &item_name,
                    format!("unknown field `{item_name}` in `{name}` items{hint}"),
                ));
            }
            let compiled = self.value_field(spec, &item_name, Some(name), Slot::ItemField)?;
            items.push((item_name, compiled));
        }
        Ok(FieldPlan::Collection {
            each,
            items,
            required: field.required,
        })
    }

    /// A reference field's `source:` becomes its `<name>_source` field, set to that source's
    /// name; reconciliation looks the reference up in that source's cross-reference.
    fn reference_source(
        &self,
        name: &str,
        field: &mut FieldSpec,
        parent: Option<&str>,
    ) -> Result<Option<(String, ValueField)>, YamlError> {
        let Some(source) = field.source.take() else {
            return Ok(None);
        };
        if !matches!(name, "customer_ref" | "product_ref" | "component_ref") {
            return Err(self.error_at_field(
                parent,
                name,
                format!("`source:` is only for reference fields (`customer_ref`, `product_ref`, `component_ref`), not `{name}`"),
            ));
        }
        if source.trim().is_empty() {
            return Err(self.error_at_field(
                parent,
                name,
                format!("`{name}`: `source:` names no source"),
            ));
        }
        Ok(Some((
            format!("{name}_source"),
            ValueField {
                source: Source::Value(source),
                transforms: Vec::new(),
                default: None,
                required: false,
                many: false,
            },
        )))
    }

    fn value_field(
        &self,
        field: FieldSpec,
        name: &str,
        parent: Option<&str>,
        slot: Slot,
    ) -> Result<ValueField, YamlError> {
        let err = |message: String| self.error_at_field(parent, name, message);
        if field.source.is_some() {
            return Err(err(format!(
                "`source:` is only for reference fields (`customer_ref`, `product_ref`, `component_ref`), not `{name}`"
            )));
        }
        if field.each.is_some() || field.fields.is_some() {
            return Err(err(format!(
                "`{name}` is not a collection; remove `each` and `fields`"
            )));
        }
        if field.many && slot != Slot::ListField {
            return Err(err(format!(
                "`many: true` is only for list fields (emails, phones); `{name}` holds one value"
            )));
        }
        if field.required && slot == Slot::Key {
            return Err(err("the key is always required; remove `required`".into()));
        }
        let given = [
            field.path.is_some(),
            field.paths.is_some(),
            field.value.is_some(),
            field.template.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(err(format!(
                "`{name}` needs exactly one of `path`, `paths`, `value`, `template`"
            )));
        }
        let source = if let Some(path) = field.path {
            Source::Path(path)
        } else if let Some(paths) = field.paths {
            if paths.is_empty() {
                return Err(err(format!("`{name}`: `paths` is empty")));
            }
            Source::Paths(paths)
        } else if let Some(value) = field.value {
            Source::Value(value.0)
        } else {
            let template = field.template.unwrap_or_default();
            Source::Template(parse_template(&template).map_err(|m| err(format!("`{name}`: {m}")))?)
        };
        let mut transforms = Vec::with_capacity(field.transforms.len() + 1);
        for spec in field.transforms {
            transforms.push(match spec {
                TransformSpec::Ready(t) => t,
                TransformSpec::Lookup(r) => Transform::Lookup(self.lookup(r, name)?),
            });
        }
        if let Some(r) = field.lookup {
            transforms.push(Transform::Lookup(self.lookup(r, name)?));
        }
        Ok(ValueField {
            source,
            transforms,
            default: field.default.map(|d| d.0),
            required: field.required,
            many: field.many,
        })
    }

    fn lookup(&self, r: LookupRef, field: &str) -> Result<Arc<LookupTable>, YamlError> {
        match r {
            LookupRef::Inline(def) => Ok(Arc::new(def.compile(field))),
            LookupRef::Named(name) => {
                if let Some(table) = self.lookups.get(&name) {
                    return Ok(Arc::clone(table));
                }
                builtin(&name).ok_or_else(|| {
                    let known: Vec<&str> = self
                        .lookups
                        .keys()
                        .map(String::as_str)
                        .chain(BUILTIN_NAMES)
                        .collect();
                    let hint = did_you_mean(&name, known.iter().copied());
                    let (line, col) = locate_lookup_use(self.text, &name).unwrap_or((0, 0));
                    YamlError::at(
                        self.file,
                        line,
                        col,
                        format!(
                            "unknown lookup table `{name}`{hint} (defined in `lookups:` or built in: {})",
                            BUILTIN_NAMES.join(", ")
                        ),
                    )
                })
            }
        }
    }

    fn condition(&self, spec: ConditionSpec, at: &str) -> Result<Condition, YamlError> {
        let mut tests = Vec::new();
        if let Some(v) = spec.equals {
            tests.push(Test::Equals(v.0));
        }
        if let Some(v) = spec.one_of {
            tests.push(Test::OneOf(v.into_iter().map(|s| s.0).collect()));
        }
        if let Some(v) = spec.exists {
            tests.push(Test::Exists(v));
        }
        if let Some(v) = spec.matches {
            tests.push(Test::Matches(v.0));
        }
        if tests.len() != 1 {
            return Err(self.error_at_field(
                None,
                at,
                format!(
                    "`{at}` condition needs exactly one of `equals`, `in`, `exists`, `matches`"
                ),
            ));
        }
        let test = tests.remove(0);
        Ok(Condition {
            path: spec.path,
            test,
        })
    }

    /// An error at `name:` (searched below `parent:` when given, so a field is not confused with
    /// a lookup table or an item field of the same name).
    fn error_at_field(&self, parent: Option<&str>, name: &str, message: String) -> YamlError {
        let (line, col) = locate_below(self.text, parent, name).unwrap_or((0, 0));
        YamlError::at(self.file, line, col, message)
    }
}

/// Finds `name:` written below the line of `parent:` (or anywhere, without a parent), so an item
/// field is found inside its collection and not at a top-level field of the same name.
fn locate_below(text: &str, parent: Option<&str>, name: &str) -> Option<(usize, usize)> {
    let Some(parent) = parent else {
        return locate_key(text, name);
    };
    let (parent_line, _) = locate_key(text, parent)?;
    let offset: usize = text
        .split_inclusive('\n')
        .take(parent_line)
        .map(str::len)
        .sum();
    let (line, col) = locate_key(text.get(offset..)?, name)?;
    Some((line + parent_line, col))
}

/// Finds where lookup table `name` is used (`lookup: name`), pointing at the name.
fn locate_lookup_use(text: &str, name: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(i, line)| {
        line.match_indices("lookup:").find_map(|(at, m)| {
            let after = &line[at + m.len()..];
            let value = after.trim_start().trim_start_matches(['"', '\'']);
            let rest = value.strip_prefix(name)?;
            let ends = rest
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            ends.then(|| (i + 1, line.len() - value.len() + 1))
        })
    })
}

/// Splits `"{$.first} {$.last}"` into text and compiled paths.
fn parse_template(template: &str) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(TemplatePart::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("template `{template}` has a `{{` without its `}}`"))?;
        parts.push(TemplatePart::Path(JsonPath::parse(after[..close].trim())?));
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Text(rest.to_string()));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> Result<CompiledMapping, String> {
        CompiledMapping::parse(Path::new("m.yaml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn unknown_transform_is_refused_with_line_col_and_suggestion() {
        let text = "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  name:\n    path: \"$.n\"\n    transforms:\n      - trimm\n";
        assert_eq!(
            compile(text).unwrap_err(),
            "m.yaml:7:9: fields.name.transforms[0]: unknown transform `trimm`, did you mean `trim`?"
        );
    }

    #[test]
    fn unknown_transform_inline_is_reported_on_its_line() {
        let text = "entity: customer\nkey: { path: \"$.id\", transforms: [trimm] }\n";
        assert_eq!(
            compile(text).unwrap_err(),
            "m.yaml:2:35: key.transforms[0]: unknown transform `trimm`, did you mean `trim`?"
        );
    }

    #[test]
    fn unknown_field_is_refused_with_exact_position() {
        let text =
            "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  nmae: { path: \"$.n\" }\n";
        let err = compile(text).unwrap_err();
        assert_eq!(
            err,
            "m.yaml:4:3: unknown field `nmae` for entity customer, did you mean `name`?"
        );
    }

    #[test]
    fn unknown_item_field_is_found_inside_its_collection() {
        let text = "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  name: { path: \"$.n\" }\n  addresses:\n    each: \"$.a\"\n    fields:\n      name: { path: \"$.x\" }\n";
        let err = compile(text).unwrap_err();
        assert!(
            err.starts_with("m.yaml:8:7: unknown field `name` in `addresses` items"),
            "{err}"
        );
    }

    #[test]
    fn field_errors_are_located_under_fields_not_at_a_lookup_of_the_same_name() {
        let text = "entity: customer\nkey: { path: \"$.id\" }\nlookups:\n  status: { table: { a: b } }\nfields:\n  status: { path: \"$.s\", many: true }\n";
        let err = compile(text).unwrap_err();
        assert!(
            err.starts_with("m.yaml:6:3: `many: true` is only for list fields"),
            "{err}"
        );
    }

    #[test]
    fn unknown_entity_is_refused() {
        let err = compile("entity: custmer\nkey: { path: \"$.id\" }\n").unwrap_err();
        assert!(
            err.starts_with("m.yaml:1:1: unknown entity `custmer`, did you mean `customer`?"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_in_a_field_spec_is_refused_at_its_position() {
        let err = compile("entity: customer\nkey: { path: \"$.id\" }\nfields:\n  name:\n    path: \"$.n\"\n    requird: true\n").unwrap_err();
        assert!(err.starts_with("m.yaml:6:5:"), "{err}");
        assert!(err.contains("unknown field `requird`"), "{err}");
    }

    #[test]
    fn bad_jsonpath_is_refused_at_its_node() {
        let err = compile(
            "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  name: { path: \"$.a[\" }\n",
        )
        .unwrap_err();
        assert_eq!(
            err,
            "m.yaml:4:9: fields.name: invalid JSONPath `$.a[`: expected selector at character 5"
        );
    }

    #[test]
    fn unknown_lookup_is_refused_where_it_is_used() {
        let text = "entity: customer\nkey: { path: \"$.id\" }\nlookups:\n  sap_status: { table: { \"01\": active } }\nfields:\n  status: { path: \"$.s\", lookup: sap_stat }\n";
        let err = compile(text).unwrap_err();
        assert!(
            err.starts_with(
                "m.yaml:6:34: unknown lookup table `sap_stat`, did you mean `sap_status`?"
            ),
            "{err}"
        );
        let ok = text.replace("sap_stat }", "sap_status }");
        assert!(compile(&ok).is_ok());
    }

    #[test]
    fn field_spec_shape_is_checked() {
        let base = "entity: customer\nkey: { path: \"$.id\" }\nfields:\n";
        for (field, expected) in [
            ("  name: { path: \"$.a\", value: x }", "exactly one of"),
            ("  name: { transforms: [trim] }", "exactly one of"),
            (
                "  name: { path: \"$.a\", many: true }",
                "only for list fields",
            ),
            ("  addresses: { path: \"$.a\" }", "is a collection"),
            ("  name: { each: \"$.a\", fields: {} }", "not a collection"),
        ] {
            let err = compile(&format!("{base}{field}\n")).unwrap_err();
            assert!(err.starts_with("m.yaml:4:3:"), "{field}: {err}");
            assert!(err.contains(expected), "{field}: {err}");
        }
    }

    #[test]
    fn condition_needs_exactly_one_test() {
        let err = compile("entity: customer\nwhen: { path: \"$.t\", equals: A, exists: true }\nkey: { path: \"$.id\" }\n").unwrap_err();
        assert!(err.starts_with("m.yaml:2:1:"), "{err}");
        assert!(err.contains("exactly one of `equals`"), "{err}");
    }

    #[test]
    fn yaml_level_errors_point_at_the_offending_node() {
        for (text, expected) in [
            (
                "entity: customer\nkey: { path: \"$.id\", transforms: [trim, { date: x }, trimm] }\n",
                "m.yaml:2:54: key.transforms[2]: unknown transform `trimm`, did you mean `trim`?",
            ),
            (
                "entity: customer\nwhen: { path: \"$.t\", equal: A }\nkey: { path: \"$.id\" }\n",
                "m.yaml:2:22: when: unknown field `equal`, expected one of `path`, `equals`, `in`, `exists`, `matches`",
            ),
            (
                "entity: customer\nwhen:\n  - { path: \"$.t\", equals: A }\n  - { path: \"$.t[\", equals: A }\nkey: { path: \"$.id\" }\n",
                "m.yaml:4:5: when[1]: invalid JSONPath `$.t[`: expected selector at character 5",
            ),
            (
                "entity: customer\nkey: { path: \"$.id\", transforms: [{ datetime: { format: x, timezone: Europe/Berln } }] }\n",
                "m.yaml:2:47: key.transforms[0].datetime: unknown timezone `Europe/Berln`, did you mean `Europe/Berlin`?",
            ),
        ] {
            assert_eq!(compile(text).unwrap_err(), expected);
        }
    }

    #[test]
    fn templates_split_into_text_and_paths() {
        let parts = parse_template("{$.first} {$.last}!").unwrap();
        assert_eq!(parts.len(), 4);
        assert!(
            parse_template("{$.first")
                .unwrap_err()
                .contains("without its")
        );
    }
}
