//! Mapping: YAML mapping files turn raw records into canonical ones.
//!
//! A mapping file is compiled once at start-up (JSONPaths parsed, regexes built, lookup tables
//! loaded, field names checked against the canonical model); a broken file is refused with
//! `file:line:col`. At run time a record that fails a mapping is reported as a [`MapFailure`] for the
//! quarantine, and the rest of the batch goes on.

mod compile;
mod eval;
mod lookup;
mod path;
mod scalar;
mod spec;
pub mod suite;
mod transform;
mod usage;

use std::path::PathBuf;

pub use compile::CompiledMapping;
pub use spec::MappingSpec;
pub use usage::PathUsage;

use crate::model::RawRecord;
use crate::model::{EntityKind, SourceRecord};
use crate::yaml::YamlError;

/// A mapping file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct MappingError(#[from] pub YamlError);

/// The compiled mappings of one source, tried in order; the first whose `when:` selects a record
/// maps it.
#[derive(Debug)]
pub struct MappingSet {
    mappings: Vec<CompiledMapping>,
    /// Per mapping, the settings whose paths [`PathUsage`] watches.
    checks: Vec<Vec<usage::Check>>,
    fingerprint: String,
}

/// What became of one raw record.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "almost every outcome is `Mapped`; boxing it would cost an allocation per record"
)]
pub enum MapOutcome {
    /// A mapping selected the record and produced a canonical record.
    Mapped(SourceRecord),
    /// No mapping's `when:` selected the record; it is counted, not quarantined.
    Unmatched,
    /// A mapping selected the record but could not map it; it goes to quarantine.
    Failed(MapFailure),
}

/// Why a selected record could not be mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct MapFailure {
    /// The mapping file that selected the record.
    pub mapping: PathBuf,
    /// The record's source key, when it could be read.
    pub key: Option<String>,
    /// What is wrong, naming the field: `field `name` is required but $.NAME1 is empty`.
    pub reason: String,
}

/// A value a mapping could not read in a field that is not required (a date that does not parse,
/// a lookup miss): the field is left empty, the record is stored and matched, and the note says
/// what was left out and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualityNote {
    /// The field left empty: `date_of_birth`, `addresses[2].country`.
    pub field: String,
    /// Why, naming the value: `field `date_of_birth`: transform `date`: ...`.
    pub reason: String,
}

/// A mapping to compile: a file on disk, or a mapping built into the binary (a profile's) that no
/// file overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingFile {
    /// The path errors and the quarantine name the mapping by (`… (built-in)` for a built-in one).
    pub path: PathBuf,
    /// The built-in text; `None` reads `path` from disk.
    pub text: Option<&'static str>,
}

impl MappingSet {
    /// Loads and compiles mapping files; the first broken file is refused with `file:line:col`.
    pub fn load(paths: &[PathBuf]) -> Result<MappingSet, MappingError> {
        let files: Vec<MappingFile> = paths
            .iter()
            .map(|path| MappingFile {
                path: path.clone(),
                text: None,
            })
            .collect();
        Self::load_files(&files)
    }

    /// Loads and compiles mappings from disk or built-in text; the first broken one is refused
    /// with `file:line:col`.
    pub fn load_files(files: &[MappingFile]) -> Result<MappingSet, MappingError> {
        let mut hasher = blake3::Hasher::new();
        let mut mappings = Vec::with_capacity(files.len());
        for file in files {
            let path = &file.path;
            let text = match file.text {
                Some(text) => text.to_owned(),
                None => std::fs::read_to_string(path).map_err(|e| {
                    YamlError::at(path, 0, 0, format!("cannot read mapping file: {e}"))
                })?,
            };
            hasher.update(&(text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
            mappings.push(CompiledMapping::parse(path, &text)?);
        }
        let checks = mappings.iter().map(usage::checks).collect();
        Ok(MappingSet {
            mappings,
            checks,
            fingerprint: hasher.finalize().to_hex().to_string(),
        })
    }

    /// A hash of the compiled files' contents: a stored cursor is only reused while the mappings
    /// that produced the stored records are unchanged.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    /// The compiled mappings, in the order they are tried.
    pub fn mappings(&self) -> &[CompiledMapping] {
        &self.mappings
    }

    /// The entity kinds this set produces, each once, in the order first produced; lets a run
    /// know which golden tables a source touches.
    pub fn entities(&self) -> Vec<EntityKind> {
        let mut kinds = Vec::new();
        for mapping in &self.mappings {
            if !kinds.contains(&mapping.entity()) {
                kinds.push(mapping.entity());
            }
        }
        kinds
    }

    /// The entity and key the mappings give a raw record, without mapping its fields (a key
    /// scan's records hold little more than the key).
    pub fn key_of(&self, raw: &RawRecord) -> Option<(EntityKind, String)> {
        let mapping = self.mappings.iter().find(|m| m.selects(raw))?;
        Some((mapping.entity(), mapping.key_of(&raw.payload)?))
    }

    /// The entities the mappings make of `stream`'s records.
    pub fn stream_entities(&self, stream: &str) -> Vec<EntityKind> {
        let mut kinds = Vec::new();
        for mapping in self.mappings.iter().filter(|m| m.reads_stream(stream)) {
            if !kinds.contains(&mapping.entity()) {
                kinds.push(mapping.entity());
            }
        }
        kinds
    }

    /// Maps one raw record of `source`.
    pub fn map(&self, source: &str, raw: &RawRecord) -> MapOutcome {
        match self.mappings.iter().find(|m| m.selects(raw)) {
            Some(mapping) => match mapping.map_payload(source, &raw.payload) {
                Ok(record) => MapOutcome::Mapped(record),
                Err(failure) => MapOutcome::Failed(failure),
            },
            None => MapOutcome::Unmatched,
        }
    }

    /// [`map`](Self::map), noting in `usage` which of the selecting mapping's paths found
    /// something, for the warnings at the end of a run.
    pub fn map_tracked(&self, source: &str, raw: &RawRecord, usage: &mut PathUsage) -> MapOutcome {
        let Some(index) = self.mappings.iter().position(|m| m.selects(raw)) else {
            return MapOutcome::Unmatched;
        };
        usage.note(self, index, &raw.payload);
        let mut notes = Vec::new();
        let outcome = match self.mappings[index].map_payload_noted(source, &raw.payload, &mut notes)
        {
            Ok(record) => MapOutcome::Mapped(record),
            Err(failure) => MapOutcome::Failed(failure),
        };
        if matches!(outcome, MapOutcome::Mapped(_)) && !notes.is_empty() {
            usage.note_quality(&raw.origin, notes);
        }
        outcome
    }

    /// Refuses a mapping whose `stream:` names a stream the source does not have. `streams` is
    /// `None` for a source whose streams are only known when it runs (a Singer tap).
    pub fn check_streams(&self, streams: Option<&[String]>) -> Result<(), MappingError> {
        let Some(streams) = streams else {
            return Ok(());
        };
        for mapping in &self.mappings {
            let Some(wanted) = &mapping.stream else {
                continue;
            };
            if streams.iter().any(|s| s == wanted) {
                continue;
            }
            let known = if streams.is_empty() {
                "the source has no streams (file sources carry the record type in the record)"
                    .to_owned()
            } else {
                let names: Vec<String> = streams.iter().map(|s| format!("`{s}`")).collect();
                format!("its streams are {}", names.join(", "))
            };
            return Err(MappingError(YamlError::at(
                &mapping.file,
                0,
                0,
                format!("`stream: {wanted}` is not a stream of this source: {known}"),
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Canonical, Customer, CustomerType, Order};
    use serde_json::json;

    /// Writes mapping texts to files and loads them as one set.
    fn load_set(texts: &[&str]) -> (tempfile::TempDir, MappingSet) {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.path().join(format!("m{i}.yaml"));
                std::fs::write(&path, text).unwrap();
                path
            })
            .collect();
        let set = MappingSet::load(&paths).unwrap();
        (dir, set)
    }

    fn raw(payload: serde_json::Value) -> RawRecord {
        RawRecord {
            origin: "test#1".into(),
            payload,
            stream: None,
        }
    }

    #[test]
    fn a_stream_mapping_takes_only_records_of_its_stream() {
        let (_dir, set) = load_set(&[
            "entity: product\nstream: items\nkey: { path: \"$.id\" }\n",
            "entity: customer\nkey: { path: \"$.id\" }\n",
        ]);
        let mut record = raw(json!({"id": "7"}));
        assert!(
            matches!(set.map("erp", &record), MapOutcome::Mapped(r) if r.record.kind() == EntityKind::Customer)
        );
        record.stream = Some("items".into());
        assert!(
            matches!(set.map("erp", &record), MapOutcome::Mapped(r) if r.record.kind() == EntityKind::Product)
        );
    }

    fn mapped(set: &MappingSet, payload: serde_json::Value) -> SourceRecord {
        match set.map("sap", &raw(payload)) {
            MapOutcome::Mapped(record) => record,
            other => panic!("not mapped: {other:?}"),
        }
    }

    fn failed(set: &MappingSet, payload: serde_json::Value) -> MapFailure {
        match set.map("sap", &raw(payload)) {
            MapOutcome::Failed(failure) => failure,
            other => panic!("not failed: {other:?}"),
        }
    }

    fn customer(record: &SourceRecord) -> &Customer {
        match &record.record {
            Canonical::Customer(c) => c,
            other => panic!("not a customer: {other:?}"),
        }
    }

    const DEBMAS: &str = r#"
entity: customer
when: { path: "$.EDI_DC40.MESTYP", equals: DEBMAS }
key: { path: "$.E1KNA1M.KUNNR", transforms: [trim, strip_leading_zeros] }
changed_at: { path: "$.modified", transforms: [{ datetime: { format: "%Y-%m-%d %H:%M:%S", timezone: "Europe/Berlin" } }] }
deleted: { path: "$.E1KNA1M.MSGFN", equals: "003" }
lookups:
  sap_status: { table: { "01": active, "02": blocked }, default: unknown }
fields:
  name:    { path: "$.E1KNA1M.NAME1", transforms: [trim], required: true }
  tax_id:  { path: "$.E1KNA1M.STCEG" }
  phones:  { path: "$.E1KNA1M.TELF1", transforms: [trim], many: true }
  emails:  { paths: ["$.email_id", "$.email"], many: true }
  customer_type: { value: b2b }
  status: { path: "$.E1KNA1M.KTOKD", lookup: sap_status }
  addresses:
    each: "$.E1KNA1M"
    fields:
      street:      { path: "$.STRAS", transforms: [trim] }
      postal_code: { path: "$.PSTLZ", transforms: [trim] }
      city:        { path: "$.ORT01", transforms: [trim] }
      country:     { path: "$.LAND1", lookup: iso_country }
      kind:        { value: main }
"#;

    fn debmas(kunnr: &str, name: &str) -> serde_json::Value {
        json!({
            "EDI_DC40": {"MESTYP": "DEBMAS"},
            "E1KNA1M": {"KUNNR": kunnr, "NAME1": name, "STCEG": "DE123456789", "TELF1": " 030 1234 ",
                        "KTOKD": "02", "STRAS": "Hauptstr. 1 ", "PSTLZ": "10115", "ORT01": "Berlin", "LAND1": "DE",
                        "MSGFN": "005"},
            "email": "info@acme.de",
            "modified": "2024-07-01 12:00:00"
        })
    }

    #[test]
    fn maps_the_contract_example() {
        let (_dir, set) = load_set(&[DEBMAS]);
        let record = mapped(&set, debmas("0000012345", "  ACME GmbH "));
        assert_eq!(record.source, "sap");
        assert_eq!(record.key, "12345");
        assert_eq!(
            record.changed_at.unwrap().to_rfc3339(),
            "2024-07-01T10:00:00+00:00"
        );
        assert!(!record.deleted);
        let expected = Customer {
            name: Some("ACME GmbH".into()),
            customer_type: Some(CustomerType::B2b),
            tax_id: Some("DE123456789".into()),
            emails: vec!["info@acme.de".into()],
            phones: vec!["030 1234".into()],
            status: Some("blocked".into()),
            addresses: vec![Address {
                kind: Some("main".into()),
                street: Some("Hauptstr. 1".into()),
                postal_code: Some("10115".into()),
                city: Some("Berlin".into()),
                country: Some("DE".into()),
                ..Address::default()
            }],
            ..Customer::default()
        };
        assert_eq!(customer(&record), &expected);
        assert_eq!(set.entities(), vec![EntityKind::Customer]);
    }

    #[test]
    fn when_selects_and_unselected_records_are_unmatched() {
        let (_dir, set) = load_set(&[DEBMAS]);
        let mut payload = debmas("1", "A");
        payload["EDI_DC40"]["MESTYP"] = json!("MATMAS");
        assert_eq!(set.map("sap", &raw(payload)), MapOutcome::Unmatched);
    }

    #[test]
    fn when_forms_in_exists_matches_and_all_of() {
        let base = "entity: product\nkey: { path: \"$.id\" }\nwhen:\n";
        let cases = [
            (
                "  { path: \"$.t\", in: [A, B] }",
                json!({"id": "1", "t": "B"}),
                json!({"id": "1", "t": "C"}),
            ),
            (
                "  { path: \"$.t\", exists: true }",
                json!({"id": "1", "t": "x"}),
                json!({"id": "1", "t": ""}),
            ),
            (
                "  { path: \"$.t\", exists: false }",
                json!({"id": "1"}),
                json!({"id": "1", "t": "x"}),
            ),
            (
                "  { path: \"$.t\", matches: \"^MAT\" }",
                json!({"id": "1", "t": "MATMAS05"}),
                json!({"id": "1", "t": "DEBMAS"}),
            ),
            (
                "  { path: \"$.t\", equals: 3 }",
                json!({"id": "1", "t": 3}),
                json!({"id": "1", "t": 4}),
            ),
            (
                "  - { path: \"$.t\", equals: A }\n  - { path: \"$.u\", exists: true }",
                json!({"id": "1", "t": "A", "u": "y"}),
                json!({"id": "1", "t": "A"}),
            ),
        ];
        for (when, yes, no) in cases {
            let (_dir, set) = load_set(&[&format!("{base}{when}\n")]);
            assert!(
                matches!(set.map("s", &raw(yes)), MapOutcome::Mapped(_)),
                "{when}"
            );
            assert_eq!(set.map("s", &raw(no)), MapOutcome::Unmatched, "{when}");
        }
    }

    #[test]
    fn first_selecting_mapping_wins() {
        let product = "entity: product\nwhen: { path: \"$.type\", equals: p }\nkey: { path: \"$.id\" }\nfields:\n  name: { path: \"$.n\" }\n";
        let customer_map =
            "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  name: { path: \"$.n\" }\n";
        let (_dir, set) = load_set(&[product, customer_map]);
        assert_eq!(
            mapped(&set, json!({"type": "p", "id": "1", "n": "x"}))
                .record
                .kind(),
            EntityKind::Product
        );
        assert_eq!(
            mapped(&set, json!({"type": "c", "id": "1", "n": "x"}))
                .record
                .kind(),
            EntityKind::Customer
        );
        assert_eq!(
            set.entities(),
            vec![EntityKind::Product, EntityKind::Customer]
        );
    }

    #[test]
    fn deleted_marks_a_tombstone() {
        let (_dir, set) = load_set(&[DEBMAS]);
        let mut payload = debmas("1", "A");
        payload["E1KNA1M"]["MSGFN"] = json!("003");
        assert!(mapped(&set, payload).deleted);
    }

    #[test]
    fn failing_record_is_failed_with_reason_while_others_map() {
        let (_dir, set) = load_set(&[DEBMAS]);
        let records = [debmas("1", "A"), debmas("2", "   "), debmas("3", "C")];
        let outcomes: Vec<MapOutcome> = records
            .iter()
            .map(|p| set.map("sap", &raw(p.clone())))
            .collect();
        assert!(matches!(&outcomes[0], MapOutcome::Mapped(r) if r.key == "1"));
        assert!(matches!(&outcomes[2], MapOutcome::Mapped(r) if r.key == "3"));
        let MapOutcome::Failed(failure) = &outcomes[1] else {
            panic!("{:?}", outcomes[1])
        };
        assert_eq!(failure.key.as_deref(), Some("2"));
        assert_eq!(
            failure.reason,
            "field `name` is required but `$.E1KNA1M.NAME1` is empty"
        );
        assert_eq!(failure.mapping.file_name().unwrap(), "m0.yaml");
    }

    #[test]
    fn empty_key_fails_without_a_key() {
        let (_dir, set) = load_set(&[DEBMAS]);
        let failure = failed(&set, debmas("   ", "A"));
        assert_eq!(failure.key, None);
        assert_eq!(failure.reason, "key `$.E1KNA1M.KUNNR` is empty");
    }

    #[test]
    fn lookup_miss_in_an_optional_field_leaves_it_empty_with_a_note() {
        let text = "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  addresses:\n    each: \"$.a\"\n    fields:\n      city: { path: \"$.o\" }\n      country: { path: \"$.c\", lookup: iso_country }\n";
        let (_dir, set) = load_set(&[text]);
        let mut usage = PathUsage::default();
        let payload = json!({"id": "7", "a": [{"o": "Bonn", "c": "DE"}, {"o": "Atlantis City", "c": "Atlantis"}]});
        let MapOutcome::Mapped(record) = set.map_tracked("crm", &raw(payload), &mut usage) else {
            panic!("not mapped")
        };
        let addresses = &customer(&record).addresses;
        assert_eq!(addresses[0].country.as_deref(), Some("DE"));
        assert_eq!(addresses[1].city.as_deref(), Some("Atlantis City"));
        assert_eq!(addresses[1].country, None);
        assert_eq!(usage.noted_records(), 1);
        let warnings = usage.warnings(&set);
        assert!(
            warnings[0].contains("1 records stored with optional values")
                && warnings[0].contains("`addresses[2].country` 1×")
                && warnings[0].contains("test#1: field `addresses[2].country`: no entry for `Atlantis` in lookup `iso_country`"),
            "{warnings:?}"
        );

        let required = text.replace(
            "lookup: iso_country }",
            "lookup: iso_country, required: true }",
        );
        let (_dir, set) = load_set(&[&required]);
        let failure = failed(
            &set,
            json!({"id": "7", "a": [{"c": "DE"}, {"c": "Atlantis"}]}),
        );
        assert_eq!(
            failure.reason,
            "field `addresses[2].country`: no entry for `Atlantis` in lookup `iso_country`"
        );
    }

    #[test]
    fn a_bad_optional_date_leaves_the_field_empty_and_a_required_one_quarantines() {
        let text = "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  name: { path: \"$.n\", required: true }\n  date_of_birth: { path: \"$.dob\", transforms: [{ date: { format: \"%Y%m%d\" } }] }\n";
        let (_dir, set) = load_set(&[text]);
        let mut usage = PathUsage::default();
        let payload = json!({"id": "1", "n": "Erika Mustermann", "dob": "19402704"});
        let MapOutcome::Mapped(record) = set.map_tracked("crm", &raw(payload), &mut usage) else {
            panic!("not mapped")
        };
        assert_eq!(customer(&record).name.as_deref(), Some("Erika Mustermann"));
        assert_eq!(customer(&record).date_of_birth, None);
        assert_eq!(usage.noted_records(), 1);
        assert!(usage.warnings(&set)[0].contains("`date_of_birth` 1×"));

        let strict = text.replace("\"%Y%m%d\" } }] }", "\"%Y%m%d\" } }], required: true }");
        let (_dir, set) = load_set(&[&strict]);
        let failure = failed(&set, json!({"id": "1", "n": "E", "dob": "19402704"}));
        assert!(
            failure.reason.contains("date_of_birth"),
            "{}",
            failure.reason
        );
    }

    #[test]
    fn bad_decimal_and_bad_date_fail_naming_the_field() {
        let text = "entity: product\nkey: { path: \"$.id\" }\nfields:\n  list_price: { path: \"$.p\", transforms: [{ decimal: { separator: \",\" } }], required: true }\n";
        let (_dir, set) = load_set(&[text]);
        let failure = failed(&set, json!({"id": "1", "p": "zwölf"}));
        assert_eq!(
            failure.reason,
            "field `list_price`: transform `decimal`: `zwölf` is not a decimal number"
        );
        let record = mapped(&set, json!({"id": "1", "p": "1.234,50"}));
        let Canonical::Product(product) = record.record else {
            panic!()
        };
        assert_eq!(product.list_price.unwrap().to_string(), "1234.50");

        let text = "entity: order\nkey: { path: \"$.id\" }\nfields:\n  order_date: { path: \"$.d\", transforms: [sap_date], required: true }\n";
        let (_dir, set) = load_set(&[text]);
        let failure = failed(&set, json!({"id": "1", "d": "20241399"}));
        assert!(
            failure
                .reason
                .starts_with("field `order_date`: transform `sap_date`: `20241399` is not a date"),
            "{}",
            failure.reason
        );
    }

    #[test]
    fn value_the_model_rejects_fails_naming_the_field() {
        let text = "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  customer_type: { path: \"$.t\", required: true }\n  date_of_birth: { path: \"$.b\", required: true }\n";
        let (_dir, set) = load_set(&[text]);
        let failure = failed(&set, json!({"id": "1", "t": "alien", "b": "1990-01-01"}));
        assert!(
            failure
                .reason
                .starts_with("field `customer_type`: \"alien\" is not valid"),
            "{}",
            failure.reason
        );
        let failure = failed(&set, json!({"id": "1", "t": "b2c", "b": "01.01.1990"}));
        assert!(
            failure.reason.starts_with("field `date_of_birth`:"),
            "{}",
            failure.reason
        );
        let text = "entity: order\nkey: { path: \"$.id\" }\nfields:\n  lines:\n    each: \"$.l\"\n    fields:\n      quantity: { path: \"$.q\", required: true }\n";
        let (_dir, set) = load_set(&[text]);
        let failure = failed(&set, json!({"id": "1", "l": [{"q": "1"}, {"q": "lots"}]}));
        assert!(
            failure
                .reason
                .starts_with("field `lines[2].quantity`: \"lots\" is not valid"),
            "{}",
            failure.reason
        );
    }

    #[test]
    fn a_value_the_model_rejects_in_an_optional_field_is_left_out_with_a_note() {
        let text = "entity: order\nkey: { path: \"$.id\" }\nfields:\n  order_date: { path: \"$.d\" }\n  lines:\n    each: \"$.l\"\n    fields:\n      product_ref: { path: \"$.p\" }\n      quantity: { path: \"$.q\" }\n";
        let (_dir, set) = load_set(&[text]);
        let mut usage = PathUsage::default();
        let payload = json!({"id": "1", "d": "31.02.2024", "l": [{"p": "A", "q": "1"}, {"p": "B", "q": "lots"}]});
        let MapOutcome::Mapped(record) = set.map_tracked("erp", &raw(payload), &mut usage) else {
            panic!("not mapped")
        };
        let Canonical::Order(order) = record.record else {
            panic!()
        };
        assert_eq!(order.order_date, None);
        assert_eq!(order.lines.len(), 2);
        assert_eq!(order.lines[1].quantity, None);
        let warnings = usage.warnings(&set).join("\n");
        assert!(
            warnings.contains("`lines[2].quantity` 1×") && warnings.contains("`order_date` 1×"),
            "{warnings}"
        );
    }

    #[test]
    fn coalesce_takes_first_non_empty_after_transforms() {
        let text = "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  name: { paths: [\"$.a\", \"$.b\", \"$.c\"], transforms: [trim] }\n";
        let (_dir, set) = load_set(&[text]);
        let c = mapped(
            &set,
            json!({"id": "1", "a": "  ", "b": null, "c": " third "}),
        );
        assert_eq!(customer(&c).name.as_deref(), Some("third"));
        let c = mapped(&set, json!({"id": "1", "a": "first", "c": "third"}));
        assert_eq!(customer(&c).name.as_deref(), Some("first"));
        let c = mapped(&set, json!({"id": "1"}));
        assert_eq!(customer(&c).name, None);
    }

    #[test]
    fn template_concatenates_and_trims() {
        let text = "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  name: { template: \"{$.first} {$.last}\", required: true }\n";
        let (_dir, set) = load_set(&[text]);
        let c = mapped(&set, json!({"id": "1", "first": "Ada", "last": "Lovelace"}));
        assert_eq!(customer(&c).name.as_deref(), Some("Ada Lovelace"));
        let c = mapped(&set, json!({"id": "1", "last": "Lovelace"}));
        assert_eq!(customer(&c).name.as_deref(), Some("Lovelace"));
        let failure = failed(&set, json!({"id": "1"}));
        assert_eq!(
            failure.reason,
            "field `name` is required but the template is empty"
        );
    }

    #[test]
    fn default_fills_missing_and_empty_values() {
        let text = "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  status: { path: \"$.s\", transforms: [trim], default: active, required: true }\n";
        let (_dir, set) = load_set(&[text]);
        for payload in [
            json!({"id": "1"}),
            json!({"id": "1", "s": "  "}),
            json!({"id": "1", "s": null}),
        ] {
            assert_eq!(
                customer(&mapped(&set, payload)).status.as_deref(),
                Some("active")
            );
        }
        let c = mapped(&set, json!({"id": "1", "s": "blocked"}));
        assert_eq!(customer(&c).status.as_deref(), Some("blocked"));
    }

    #[test]
    fn many_collects_all_values_and_list_fields_wrap_one() {
        let text = "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  emails: { paths: [\"$.e1\", \"$.e2[*]\"], many: true, transforms: [lower] }\n  phones: { path: \"$.p\", transforms: [{ split: \";\" }] }\n";
        let (_dir, set) = load_set(&[text]);
        let c = mapped(
            &set,
            json!({"id": 1, "e1": "A@X.DE", "e2": ["b@x.de", "", "c@x.de"], "p": "030 1; 040 2"}),
        );
        assert_eq!(customer(&c).emails, vec!["a@x.de", "b@x.de", "c@x.de"]);
        assert_eq!(customer(&c).phones, vec!["030 1"]);
        assert_eq!(c.key, "1");
    }

    #[test]
    fn each_over_a_single_object_and_over_an_array() {
        let text = "entity: order\nkey: { path: \"$.id\" }\nfields:\n  lines:\n    each: \"$.E1EDP01\"\n    fields:\n      position: { path: \"$.POSEX\", transforms: [strip_leading_zeros] }\n      quantity: { path: \"$.MENGE\", transforms: [decimal] }\n      unit: { path: \"$.MENEE\", lookup: unit }\n";
        let (_dir, set) = load_set(&[text]);
        let lines = |payload| match mapped(&set, payload).record {
            Canonical::Order(Order { lines, .. }) => lines,
            other => panic!("{other:?}"),
        };
        let one = lines(
            json!({"id": "1", "E1EDP01": {"POSEX": "000010", "MENGE": "2.000", "MENEE": "ST"}}),
        );
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].position.as_deref(), Some("10"));
        assert_eq!(one[0].unit.as_deref(), Some("pc"));
        let many = lines(json!({"id": "1", "E1EDP01": [
            {"POSEX": "000010", "MENGE": "2", "MENEE": "KGM"},
            {"POSEX": "", "MENGE": "", "MENEE": ""},
            {"POSEX": "000020", "MENGE": "5.5", "MENEE": "PCE"}
        ]}));
        let positions: Vec<_> = many
            .iter()
            .map(|l| l.position.as_deref().unwrap())
            .collect();
        assert_eq!(positions, vec!["10", "20"]);
        assert_eq!(many[1].quantity.unwrap().to_string(), "5.5");
        assert!(lines(json!({"id": "1"})).is_empty());
    }

    #[test]
    fn required_collection_needs_an_item() {
        let text = "entity: order\nkey: { path: \"$.id\" }\nfields:\n  lines:\n    each: \"$.l\"\n    required: true\n    fields:\n      quantity: { path: \"$.q\" }\n";
        let (_dir, set) = load_set(&[text]);
        assert!(matches!(
            set.map("s", &raw(json!({"id": "1", "l": {"q": "1"}}))),
            MapOutcome::Mapped(_)
        ));
        let failure = failed(&set, json!({"id": "1", "l": []}));
        assert_eq!(
            failure.reason,
            "field `lines` is required but `$.l` selects no items with values"
        );
    }

    #[test]
    fn required_item_field_fails_with_its_position() {
        let text = "entity: bom\nkey: { path: \"$.id\" }\nfields:\n  items:\n    each: \"$.i\"\n    fields:\n      component_ref: { path: \"$.c\", required: true }\n      quantity: { path: \"$.q\" }\n";
        let (_dir, set) = load_set(&[text]);
        let failure = failed(
            &set,
            json!({"id": "1", "i": [{"c": "A", "q": "1"}, {"q": "2"}]}),
        );
        assert_eq!(
            failure.reason,
            "field `items[2].component_ref` is required but `$.c` is empty"
        );
    }

    #[test]
    fn changed_at_must_be_rfc3339() {
        let text = "entity: customer\nkey: { path: \"$.id\" }\nchanged_at: { path: \"$.m\" }\n";
        let (_dir, set) = load_set(&[text]);
        let record = mapped(&set, json!({"id": "1", "m": "2024-01-02T03:04:05+01:00"}));
        assert_eq!(
            record.changed_at.unwrap().to_rfc3339(),
            "2024-01-02T02:04:05+00:00"
        );
        assert_eq!(mapped(&set, json!({"id": "1"})).changed_at, None);
        let failure = failed(&set, json!({"id": "1", "m": "02.01.2024"}));
        assert!(
            failure.reason.contains("not an RFC 3339 date-time"),
            "{}",
            failure.reason
        );
    }

    #[test]
    fn load_refuses_a_broken_file_with_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.yaml");
        std::fs::write(
            &path,
            "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  nmae: { path: \"$.n\" }\n",
        )
        .unwrap();
        let err = MappingSet::load(std::slice::from_ref(&path)).unwrap_err();
        assert_eq!((err.0.line, err.0.column), (4, 3));
        assert!(
            err.to_string().ends_with(
                "broken.yaml:4:3: unknown field `nmae` for entity customer, did you mean `name`?"
            ),
            "{err}"
        );
        let missing = MappingSet::load(&[dir.path().join("missing.yaml")]).unwrap_err();
        assert!(
            missing.to_string().contains("cannot read mapping file"),
            "{missing}"
        );
    }

    #[test]
    fn fingerprint_follows_file_contents() {
        let (_d1, a) = load_set(&[DEBMAS]);
        let (_d2, b) = load_set(&[DEBMAS]);
        let (_d3, c) = load_set(&[&DEBMAS.replace("unknown", "other")]);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_eq!(a.fingerprint().len(), 64);
    }
}
