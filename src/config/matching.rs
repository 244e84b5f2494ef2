//! The `match:` and `survivorship:` sections: how records of one entity find their golden record,
//! and which value each golden field keeps.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::reconcile::compare::{BlockKey, Comparator, Level};

/// A match rule, tried in order with the entity's other rules. Either deterministic (`exact:`
/// fields whose normalized values must be equal) or scored (`compare:` several fields inside
/// `blocking:` blocks, the weighted sum checked against two thresholds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRule {
    /// The rule's name, shown in lineage, explanations and review items.
    pub rule: String,
    /// Deterministic rule: canonical fields compared after normalization (tax IDs: upper case,
    /// letters and digits only; emails: lower case; phones: E.164; GTINs: check digit verified,
    /// padded to 14; anything else: trimmed, lower case, single spaces). For list fields
    /// (`emails`, `phones`) any value in common is a match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exact: Vec<String>,
    /// Scored rule: which records are compared at all. A record is compared only with golden
    /// records that share a block value under at least one entry; an entry that lists several
    /// keys blocks on their combination (`[postal_code, name_prefix]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocking: Vec<BlockSpec>,
    /// Scored rule: the comparisons whose weights are summed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compare: Vec<ComparisonSpec>,
    /// Scored rule: a total at or above this merges the record into the best candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_threshold: Option<f64>,
    /// Scored rule: a total at or above this (and below `match_threshold`) puts the pair in the
    /// review queue instead; below it the records stay apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_threshold: Option<f64>,
    /// Scored rule: weights estimated by `concord reconcile train` (relative to the config file).
    /// Weights written in `compare:` take precedence over the file's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_file: Option<PathBuf>,
}

impl MatchRule {
    /// A deterministic rule on `fields`.
    pub fn exact(rule: &str, fields: &[&str]) -> MatchRule {
        MatchRule {
            rule: rule.to_string(),
            exact: fields.iter().map(|f| f.to_string()).collect(),
            blocking: Vec::new(),
            compare: Vec::new(),
            match_threshold: None,
            review_threshold: None,
            weights_file: None,
        }
    }

    /// Whether the rule scores comparisons (else it compares exact keys).
    pub fn is_scored(&self) -> bool {
        !self.compare.is_empty()
    }

    /// The match threshold, with the default used when none is written.
    pub fn match_threshold(&self) -> f64 {
        self.match_threshold.unwrap_or(DEFAULT_MATCH_THRESHOLD)
    }

    /// The review threshold, with the default used when none is written.
    pub fn review_threshold(&self) -> f64 {
        self.review_threshold
            .unwrap_or(DEFAULT_REVIEW_THRESHOLD)
            .min(self.match_threshold())
    }
}

/// Default totals (in bits of evidence, log2 of the likelihood ratio) for scored rules.
pub const DEFAULT_MATCH_THRESHOLD: f64 = 12.0;
pub const DEFAULT_REVIEW_THRESHOLD: f64 = 6.0;

/// One blocking entry: a single key, or several combined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BlockSpec {
    One(BlockKey),
    All(Vec<BlockKey>),
}

impl BlockSpec {
    /// The keys of this entry.
    pub fn keys(&self) -> &[BlockKey] {
        match self {
            BlockSpec::One(key) => std::slice::from_ref(key),
            BlockSpec::All(keys) => keys,
        }
    }
}

/// One comparison of a scored rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonSpec {
    /// The comparator (`company_name`, `person_name`, `address`, `email`, `phone`, `tax_id`, ...).
    pub using: Comparator,
    /// The field a `text` comparison reads; other comparators know their fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Hand-written weights per level; without them the trained file's, else built-in defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<LevelWeights>,
    /// A `far` result forbids the merge whatever the total (default: on for `tax_id` and `duns`,
    /// whose conflict means two legal entities, and for `generation`: Jr. and Sr. are two people).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub veto: Option<bool>,
}

impl ComparisonSpec {
    /// The name weights are filed under: the comparator, and the field for `text`.
    pub fn name(&self) -> String {
        let using = serde_json::to_value(self.using)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        match &self.field {
            Some(field) => format!("{using}:{field}"),
            None => using,
        }
    }

    /// Whether a `far` result vetoes the merge.
    pub fn vetoes(&self) -> bool {
        self.veto.unwrap_or(matches!(
            self.using,
            Comparator::TaxId | Comparator::Duns | Comparator::Generation
        ))
    }
}

/// The weight added to a pair's total for each level of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelWeights {
    pub exact: f64,
    pub close: f64,
    pub far: f64,
    #[serde(default)]
    pub missing: f64,
}

impl LevelWeights {
    /// The weight of one level.
    pub fn of(&self, level: Level) -> f64 {
        match level {
            Level::Exact => self.exact,
            Level::Close => self.close,
            Level::Far => self.far,
            Level::Missing => self.missing,
        }
    }
}

/// How the golden value of a field is chosen among the source records that have one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The highest source priority, then the most recent.
    #[default]
    Priority,
    /// The most recent change time, then the highest priority.
    MostRecent,
    /// The value with the most content (the longest text, the longest list, the object with most
    /// fields), then priority.
    MostComplete,
    /// Every distinct value of every source (lists only: emails, phones, addresses), the best
    /// source's first.
    Union,
}

/// Survivorship of one entity.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurvivorshipSpec {
    /// The strategy of fields not named in `fields`.
    #[serde(default)]
    pub default: Strategy,
    /// Per-field strategies.
    #[serde(default)]
    pub fields: BTreeMap<String, Strategy>,
}

impl SurvivorshipSpec {
    /// The strategy of one field.
    pub fn strategy(&self, field: &str) -> Strategy {
        self.fields.get(field).copied().unwrap_or(self.default)
    }
}
