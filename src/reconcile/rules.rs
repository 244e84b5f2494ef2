//! The config's `match:` and `survivorship:` sections (read by `config`, owned here because only
//! reconciliation gives them meaning): how records of one entity find their golden record,
//! and which value each golden field keeps.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::EntityKind;
use crate::reconcile::compare::{BlockKey, Comparator, Level};

/// What reconciliation takes from the config file: the match rules and survivorship of each
/// entity, each source's priority, and the folder weights files resolve against. The config hands
/// it over (`Config::matching`), so reconciliation never depends on the config file's shape.
#[derive(Debug, Clone)]
pub struct Matching<'a> {
    pub rules: &'a BTreeMap<EntityKind, Vec<MatchRule>>,
    pub survivorship: &'a BTreeMap<EntityKind, SurvivorshipSpec>,
    /// Survivorship: when sources disagree on a field, the higher priority wins.
    pub priorities: HashMap<String, i32>,
    pub base_dir: &'a Path,
}

impl Matching<'_> {
    /// The match rules of one entity (none: every source record is its own golden record).
    pub fn rules_of(&self, entity: EntityKind) -> &[MatchRule] {
        self.rules.get(&entity).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// A match rule, tried in order with the entity's other rules. Either deterministic (`exact:`
/// fields whose normalized values must be equal) or scored (`compare:` several fields inside
/// `blocking:` blocks, the weighted sum checked against two thresholds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Scored rule: the match threshold as a probability (`0.99`) instead of bits: a pair merges
    /// when its match probability — the total weight plus the prior odds that a candidate pair is
    /// a match (the trained `match_share`, else 5 %) — reaches it. Trained and hand-set weights
    /// then share one scale. Not together with `match_threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_probability: Option<f64>,
    /// Scored rule: the review threshold as a probability (`0.5`); not with `review_threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_probability: Option<f64>,
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
            match_probability: None,
            review_probability: None,
            weights_file: None,
        }
    }

    /// Thresholds written both as bits and as probabilities, or probabilities outside (0, 1),
    /// are a config error.
    pub fn check_thresholds(&self) -> Result<(), String> {
        let name = &self.rule;
        if self.match_threshold.is_some() && self.match_probability.is_some() {
            return Err(format!(
                "match rule `{name}`: give `match_threshold` (bits) or `match_probability`, not both"
            ));
        }
        if self.review_threshold.is_some() && self.review_probability.is_some() {
            return Err(format!(
                "match rule `{name}`: give `review_threshold` (bits) or `review_probability`, not both"
            ));
        }
        for (key, p) in [
            ("match_probability", self.match_probability),
            ("review_probability", self.review_probability),
        ] {
            if let Some(p) = p
                && !(p > 0.0 && p < 1.0)
            {
                return Err(format!(
                    "match rule `{name}`: `{key}` must lie between 0 and 1 (exclusive), not {p}"
                ));
            }
        }
        Ok(())
    }

    /// The match and review thresholds in bits, probabilities converted with the prior share of
    /// matches among candidate pairs.
    pub fn thresholds_in_bits(&self, prior: f64) -> (f64, f64) {
        let matching = match self.match_probability {
            Some(p) => probability_to_bits(p, prior),
            None => self.match_threshold(),
        };
        let review = match self.review_probability {
            Some(p) => probability_to_bits(p, prior),
            None => self.review_threshold.unwrap_or(DEFAULT_REVIEW_THRESHOLD),
        };
        (matching, review.min(matching))
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

/// The prior share of candidate pairs that are matches, when no trained file says better: turns
/// a probability threshold into bits.
pub const DEFAULT_MATCH_SHARE: f64 = 0.05;

/// The total (bits) at which a pair reaches match probability `probability`, given the prior
/// share of matches among candidate pairs: `log2(p / (1 − p)) − log2(prior / (1 − prior))`.
pub fn probability_to_bits(probability: f64, prior: f64) -> f64 {
    let logit = |p: f64| {
        let p = p.clamp(1e-9, 1.0 - 1e-9);
        (p / (1.0 - p)).log2()
    };
    ((logit(probability) - logit(prior)) * 100.0).round() / 100.0
}

/// The match probability of a pair with this total (bits), given the prior share of matches.
pub fn bits_to_probability(bits: f64, prior: f64) -> f64 {
    let prior = prior.clamp(1e-9, 1.0 - 1e-9);
    let odds = (prior / (1.0 - prior)) * bits.exp2();
    odds / (1.0 + odds)
}

/// Default totals (in bits of evidence, log2 of the likelihood ratio) for scored rules.
pub const DEFAULT_MATCH_THRESHOLD: f64 = 12.0;
pub const DEFAULT_REVIEW_THRESHOLD: f64 = 6.0;

/// One blocking entry: a single key, or several combined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Term-frequency adjustment of the `exact` level: agreeing on a rare value adds bits, on a
    /// common one takes some (default: on for `family_name` and `street`, the only comparators
    /// whose values are counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_frequency: Option<bool>,
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

    /// The counted term whose frequency adjusts the `exact` weight, when on.
    pub fn term(&self) -> Option<crate::reconcile::frequency::Term> {
        let term = crate::reconcile::frequency::Term::of(self.using)?;
        self.term_frequency.unwrap_or(true).then_some(term)
    }

    /// Whether a `far` result vetoes the merge.
    pub fn vetoes(&self) -> bool {
        self.veto.unwrap_or(matches!(
            self.using,
            Comparator::TaxId | Comparator::Duns | Comparator::Generation
        ))
    }
}

/// The weight added to a pair's total for each level of one comparison, in bits (log2 of how
/// much likelier the level is for a true match than for a non-match).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelWeights {
    /// The same value after normalization.
    pub exact: f64,
    /// One value spelt two ways (a typo).
    pub close: f64,
    /// Alike but further apart than `close` (comparators with five levels: names, street, city);
    /// weighs as `far` when not written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similar: Option<f64>,
    /// Different values.
    pub far: f64,
    /// A value missing on one side or both; usually 0, no evidence either way.
    #[serde(default)]
    pub missing: f64,
}

impl LevelWeights {
    /// The weight of one level.
    pub fn of(&self, level: Level) -> f64 {
        match level {
            Level::Exact => self.exact,
            Level::Close => self.close,
            Level::Similar => self.similar.unwrap_or(self.far),
            Level::Far => self.far,
            Level::Missing => self.missing,
        }
    }
}

/// How the golden value of a field is chosen among the source records that have one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
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
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_and_bits_are_one_scale() {
        // Prior odds 1:19 (5 %): 0.99 needs log2(99) + log2(19) ≈ 10.88 bits.
        let bits = probability_to_bits(0.99, 0.05);
        assert!((bits - 10.88).abs() < 0.01, "{bits}");
        assert!((bits_to_probability(bits, 0.05) - 0.99).abs() < 1e-3);
        assert!((bits_to_probability(0.0, 0.5) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn thresholds_as_probabilities() {
        let mut rule: MatchRule = serde_yaml::from_str(
            "{ rule: r, blocking: [postal_code], compare: [{ using: person_name }], \
               match_probability: 0.99, review_probability: 0.5 }",
        )
        .unwrap();
        assert_eq!(rule.check_thresholds(), Ok(()));
        let (matching, review) = rule.thresholds_in_bits(0.05);
        assert!((matching - 10.88).abs() < 0.01);
        assert!((review - 4.25).abs() < 0.01, "{review}");
        rule.match_threshold = Some(12.0);
        assert!(rule.check_thresholds().unwrap_err().contains("not both"));
        rule.match_threshold = None;
        rule.match_probability = Some(1.5);
        assert!(
            rule.check_thresholds()
                .unwrap_err()
                .contains("between 0 and 1")
        );
    }
}
