//! Which paths of a source's mappings found anything during a run, so that a path that matched
//! nothing in every record (`$['USt-IdNr']` when the CSV header says `USt-IdNr.`) is said once at
//! the end of the run instead of leaving every value silently empty.

use std::collections::BTreeMap;

use serde_json::Value;

use super::compile::{CompiledMapping, FieldPlan, Source, TemplatePart, ValueField};
use super::path::JsonPath;
use super::{MappingSet, QualityNote};

/// One path-bearing setting of a mapping: the key, `changed_at`, a field, or a field of the items
/// of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    Key,
    ChangedAt,
    Field(usize),
    Item(usize, usize),
}

/// The checks of one mapping, in a fixed order.
pub(super) fn checks(mapping: &CompiledMapping) -> Vec<Check> {
    let mut out = vec![Check::Key];
    if mapping.changed_at.is_some() {
        out.push(Check::ChangedAt);
    }
    for (i, (_, plan)) in mapping.fields.iter().enumerate() {
        match plan {
            FieldPlan::Single(field) | FieldPlan::List(field) => {
                if !paths_of(&field.source).is_empty() {
                    out.push(Check::Field(i));
                }
            }
            FieldPlan::Collection { items, .. } => {
                out.push(Check::Field(i));
                for (j, (_, field)) in items.iter().enumerate() {
                    if !paths_of(&field.source).is_empty() {
                        out.push(Check::Item(i, j));
                    }
                }
            }
        }
    }
    out
}

fn paths_of(source: &Source) -> Vec<&JsonPath> {
    match source {
        Source::Path(path) => vec![path],
        Source::Paths(paths) => paths.iter().collect(),
        Source::Value(_) => Vec::new(),
        Source::Template(parts) => parts
            .iter()
            .filter_map(|part| match part {
                TemplatePart::Path(path) => Some(path),
                TemplatePart::Text(_) => None,
            })
            .collect(),
    }
}

/// A path matches when it selects a node that is not null (an empty string counts: the column
/// is there).
fn selects_something(paths: &[&JsonPath], root: &Value) -> bool {
    paths
        .iter()
        .any(|path| path.any_node(root, |node| !node.is_null()))
}

impl Check {
    fn value_field<'m>(&self, mapping: &'m CompiledMapping) -> Option<&'m ValueField> {
        match *self {
            Check::Key => Some(&mapping.key),
            Check::ChangedAt => mapping.changed_at.as_ref(),
            Check::Field(i) => match &mapping.fields.get(i)?.1 {
                FieldPlan::Single(field) | FieldPlan::List(field) => Some(field),
                FieldPlan::Collection { .. } => None,
            },
            Check::Item(i, j) => match &mapping.fields.get(i)?.1 {
                FieldPlan::Collection { items, .. } => items.get(j).map(|(_, field)| field),
                _ => None,
            },
        }
    }

    fn matches(&self, mapping: &CompiledMapping, root: &Value) -> bool {
        match (*self, self.value_field(mapping)) {
            (Check::Item(i, _), Some(field)) => {
                let Some((_, FieldPlan::Collection { each, .. })) = mapping.fields.get(i) else {
                    return false;
                };
                let paths = paths_of(&field.source);
                each.all(root).into_iter().any(|node| match node {
                    Value::Array(items) => items.iter().any(|item| selects_something(&paths, item)),
                    item => selects_something(&paths, item),
                })
            }
            (_, Some(field)) => selects_something(&paths_of(&field.source), root),
            (Check::Field(i), None) => match mapping.fields.get(i) {
                Some((_, FieldPlan::Collection { each, .. })) => selects_something(&[each], root),
                _ => true,
            },
            _ => true,
        }
    }

    /// `field `tax_id`` and its paths, for the warning.
    fn describe(&self, mapping: &CompiledMapping) -> String {
        let name = |i: usize| mapping.fields.get(i).map_or("?", |(name, _)| name.as_str());
        let label = match *self {
            Check::Key => "the key".to_owned(),
            Check::ChangedAt => "`changed_at`".to_owned(),
            Check::Field(i) => format!("field `{}`", name(i)),
            Check::Item(i, j) => {
                let item = match mapping.fields.get(i) {
                    Some((_, FieldPlan::Collection { items, .. })) => {
                        items.get(j).map_or("?", |(name, _)| name.as_str())
                    }
                    _ => "?",
                };
                format!("field `{}[].{item}`", name(i))
            }
        };
        let paths: Vec<String> = match (self, self.value_field(mapping)) {
            (Check::Field(i), None) => match mapping.fields.get(*i) {
                Some((_, FieldPlan::Collection { each, .. })) => vec![each.text().to_owned()],
                _ => Vec::new(),
            },
            (_, Some(field)) => paths_of(&field.source)
                .iter()
                .map(|path| path.text().to_owned())
                .collect(),
            _ => Vec::new(),
        };
        let paths: Vec<String> = paths.iter().map(|p| format!("`{p}`")).collect();
        format!("{label} ({})", paths.join(", "))
    }
}

/// What one mapping saw in a run.
#[derive(Debug, Default)]
struct MappingUsage {
    records: u64,
    /// Per check (in [`checks`] order): whether it matched in some record.
    seen: Vec<bool>,
    /// The keys of the first record, to show what the records do have.
    keys: Option<Vec<String>>,
}

/// Which paths of a source's mappings matched something during one run.
#[derive(Debug, Default)]
pub struct PathUsage {
    mappings: Vec<MappingUsage>,
    /// Records stored with a quality note (an optional value left empty).
    noted_records: u64,
    /// Per field left empty: how often, and the first occurrence (origin and reason).
    noted_fields: BTreeMap<String, (u64, String)>,
    /// The notes of the record mapped last, until taken.
    pending: Vec<QualityNote>,
}

impl PathUsage {
    /// Notes the quality notes of one stored record; they are kept for
    /// [`take_notes`](Self::take_notes).
    pub(super) fn note_quality(&mut self, origin: &str, notes: Vec<QualityNote>) {
        self.noted_records += 1;
        for note in &notes {
            let entry = self
                .noted_fields
                .entry(note.field.clone())
                .or_insert_with(|| (0, format!("{origin}: {}", note.reason)));
            entry.0 += 1;
        }
        self.pending = notes;
    }

    /// The quality notes of the record mapped last (none when it had none), to store with it.
    pub fn take_notes(&mut self) -> Vec<QualityNote> {
        std::mem::take(&mut self.pending)
    }

    /// How many records this run were stored with an optional value left empty.
    pub fn noted_records(&self) -> u64 {
        self.noted_records
    }

    /// Notes what the paths of mapping `index` of `set` find in `payload`. A check that has
    /// matched once is not evaluated again, so the cost falls to nothing once every path has
    /// been seen.
    pub(super) fn note(&mut self, set: &MappingSet, index: usize, payload: &Value) {
        if self.mappings.len() < set.mappings.len() {
            self.mappings
                .resize_with(set.mappings.len(), MappingUsage::default);
        }
        let (Some(usage), Some(mapping), Some(checks)) = (
            self.mappings.get_mut(index),
            set.mappings.get(index),
            set.checks.get(index),
        ) else {
            return;
        };
        if usage.seen.len() != checks.len() {
            usage.seen = vec![false; checks.len()];
        }
        usage.records += 1;
        if usage.keys.is_none() {
            usage.keys = payload
                .as_object()
                .map(|object| object.keys().cloned().collect());
        }
        for (check, seen) in checks.iter().zip(usage.seen.iter_mut()) {
            if !*seen && check.matches(mapping, payload) {
                *seen = true;
            }
        }
    }

    /// One warning per mapping and path that matched nothing in any record the mapping took this
    /// run, naming the path and listing the keys (a CSV file's columns) the records have; and one
    /// summing up the optional values left empty because they could not be read.
    pub fn warnings(&self, set: &MappingSet) -> Vec<String> {
        let mut out = Vec::new();
        if self.noted_records > 0 {
            let fields: Vec<String> = self
                .noted_fields
                .iter()
                .map(|(field, (count, first))| format!("`{field}` {count}× (first: {first})"))
                .collect();
            out.push(format!(
                "{} records stored with optional values that could not be read left empty: {}",
                self.noted_records,
                fields.join("; ")
            ));
        }
        for (index, usage) in self.mappings.iter().enumerate() {
            let (Some(mapping), Some(checks)) = (set.mappings.get(index), set.checks.get(index))
            else {
                continue;
            };
            if usage.records == 0 {
                continue;
            }
            let columns = usage.keys.as_ref().map(|keys| {
                let names: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
                let mut text = format!("; the records have the keys {}", names.join(", "));
                if let [only] = keys.as_slice()
                    && let Some(separator) = [';', '\t', '|'].into_iter().find(|c| only.contains(*c))
                {
                    text.push_str(&format!(
                        " (one column whose name holds {separator:?}: set `delimiter: {separator:?}` on the source?)"
                    ));
                }
                text
            });
            for (check, seen) in checks.iter().zip(&usage.seen) {
                if *seen {
                    continue;
                }
                out.push(format!(
                    "{}: {} matched nothing in any of the {} records of this run{}",
                    mapping.file.display(),
                    check.describe(mapping),
                    usage.records,
                    columns.as_deref().unwrap_or_default()
                ));
            }
        }
        out
    }
}
