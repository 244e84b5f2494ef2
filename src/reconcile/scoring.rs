//! Scored matching: a rule compares several fields of two records, grades each comparison into a
//! level, adds the level's weight (bits of evidence: log2 of how much likelier the level is for a
//! true match than for a non-match), and checks the total against a match and a review threshold.
//! A comparison marked as a veto (conflicting tax IDs by default) forbids the merge whatever the
//! total, because two legal entities are never one customer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::EntityKind;
use crate::reconcile::compare::{Comparator, Level, Profile, address};
use crate::reconcile::frequency::{Frequencies, Term, record_terms};
use crate::reconcile::rules::{
    BlockSpec, ComparisonSpec, DEFAULT_MATCH_SHARE, LevelWeights, MatchRule, bits_to_probability,
};
use crate::yaml::{self, YamlError};

use crate::model::Fields;

/// A scored rule ready to use: weights resolved from the config, the trained file or defaults.
#[derive(Debug, Clone)]
pub struct ScoredRule {
    pub name: String,
    pub blocking: Vec<BlockSpec>,
    pub comparisons: Vec<Weighted>,
    /// Bits; from `match_probability` when written so.
    pub match_threshold: f64,
    pub review_threshold: f64,
    /// The prior share of matches among candidate pairs (trained, else the default), which turns
    /// totals into match probabilities.
    pub prior: f64,
}

/// One comparison with its weights.
#[derive(Debug, Clone)]
pub struct Weighted {
    pub spec: ComparisonSpec,
    pub name: String,
    pub weights: LevelWeights,
    pub veto: bool,
    /// The term whose frequency adjusts the `exact` weight, if any.
    pub term: Option<Term>,
}

impl Weighted {
    /// The field a `text` comparison reads (others ignore it).
    fn field(&self) -> &str {
        self.spec.field.as_deref().unwrap_or("")
    }
}

/// What scoring a pair found: the evidence shown by `concord explain` and on review items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub rule: String,
    pub total: f64,
    pub match_threshold: f64,
    pub review_threshold: f64,
    pub comparisons: Vec<ComparisonEvidence>,
    /// The total as a match probability, with the rule's prior share of matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_probability: Option<f64>,
    /// The comparison that forbade the merge, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vetoed_by: Option<String>,
}

/// What the hot path of matching needs to know of a pair, without the compared values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quick {
    pub total: f64,
    /// The first vetoing comparison that came out `far`.
    pub vetoed_by: Option<usize>,
    /// Whether the pair disagrees where one disagreement alone outweighs the review threshold
    /// (a different given name, legal form or date of birth under the usual weights): evidence
    /// that the two are different customers however much else they share, as family members
    /// and sister companies share an address and a phone.
    pub conflicts: bool,
}

/// One comparison's part of the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonEvidence {
    pub comparison: String,
    pub level: Level,
    pub weight: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// Bits the term-frequency adjustment added to (or took from) the exact weight: a rare
    /// value agrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_frequency: Option<f64>,
}

/// What the evidence means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Match,
    Review,
    Distinct,
}

impl Evidence {
    /// The total the other comparisons reach when a veto stopped the pair: how close it came.
    pub fn total_without_veto(&self) -> f64 {
        self.comparisons
            .iter()
            .filter(|c| Some(&c.comparison) != self.vetoed_by.as_ref())
            .map(|c| c.weight)
            .sum()
    }

    pub fn verdict(&self) -> Verdict {
        if self.vetoed_by.is_some() || self.total < self.review_threshold {
            Verdict::Distinct
        } else if self.total >= self.match_threshold {
            Verdict::Match
        } else {
            Verdict::Review
        }
    }
}

/// Trained weights, as `concord reconcile train` writes them: entity → rule → comparison → weights.
pub type TrainedWeights = BTreeMap<EntityKind, BTreeMap<String, TrainedRule>>;

/// What training estimated for one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainedRule {
    /// Candidate pairs the estimate used.
    pub pairs: u64,
    /// The estimated share of candidate pairs that are true matches.
    pub match_share: f64,
    /// Per comparison: the weight of each level.
    pub weights: BTreeMap<String, LevelWeights>,
    /// Per comparison: m and u probabilities of each level, for the record.
    #[serde(default)]
    pub probabilities: BTreeMap<String, BTreeMap<String, (f64, f64)>>,
}

/// Reads a weights file (`weights_file:` of a rule).
pub fn load_weights(path: &Path) -> Result<TrainedWeights, YamlError> {
    yaml::from_file(path)
}

impl ScoredRule {
    /// Resolves a configured rule's weights: written in the config, else from the trained file,
    /// else the comparator's defaults.
    pub fn new(
        entity: EntityKind,
        rule: &MatchRule,
        base_dir: &Path,
    ) -> Result<ScoredRule, YamlError> {
        let trained = match &rule.weights_file {
            Some(file) => {
                let path: PathBuf = base_dir.join(file);
                if path.exists() {
                    load_weights(&path)?
                        .remove(&entity)
                        .and_then(|mut rules| rules.remove(&rule.rule))
                } else {
                    None
                }
            }
            None => None,
        };
        let prior = trained
            .as_ref()
            .map_or(DEFAULT_MATCH_SHARE, |t| t.match_share)
            .clamp(1e-6, 0.999);
        let (match_threshold, review_threshold) = rule.thresholds_in_bits(prior);
        let comparisons = rule
            .compare
            .iter()
            .map(|spec| {
                let name = spec.name();
                let weights = spec
                    .weights
                    .or_else(|| trained.as_ref().and_then(|t| t.weights.get(&name).copied()))
                    .unwrap_or_else(|| default_weights(spec.using));
                Weighted {
                    veto: spec.vetoes(),
                    term: spec.term(),
                    spec: spec.clone(),
                    name,
                    weights,
                }
            })
            .collect();
        Ok(ScoredRule {
            name: rule.rule.clone(),
            blocking: rule.blocking.clone(),
            comparisons,
            match_threshold,
            review_threshold,
            prior,
        })
    }

    /// The block values of a record under this rule, prefixed with the rule's name so that two
    /// rules never share a block.
    pub fn block_values(&self, record: &Fields) -> Vec<String> {
        self.block_values_of(&Profile::new(record))
    }

    /// [`ScoredRule::block_values`] of a record already prepared.
    pub fn block_values_of(&self, profile: &Profile) -> Vec<String> {
        let mut values = Vec::new();
        for spec in &self.blocking {
            let mut combined: Vec<String> = vec![self.name.clone()];
            for key in spec.keys() {
                let parts = key.values_of(profile);
                if parts.is_empty() {
                    combined.clear();
                    break;
                }
                combined = combined
                    .iter()
                    .flat_map(|prefix| parts.iter().map(move |p| format!("{prefix}|{p}")))
                    .collect();
            }
            values.extend(combined);
        }
        values.sort();
        values.dedup();
        values
    }

    /// The level of every comparison of a pair, in rule order, without the compared values:
    /// the hot path of matching and training.
    pub fn grades(&self, left: &Scorable, right: &Scorable) -> impl Iterator<Item = Level> {
        self.comparisons.iter().map(|c| {
            c.spec
                .using
                .grade(c.field(), &left.profile, &right.profile)
                .level
        })
    }

    /// A pair's total, its first vetoing comparison that came out `far`, and whether it
    /// [conflicts](Quick::conflicts).
    pub fn quick_score(&self, left: &Scorable, right: &Scorable) -> Quick {
        let mut quick = Quick {
            total: 0.0,
            vetoed_by: None,
            conflicts: false,
        };
        for (index, (c, level)) in self
            .comparisons
            .iter()
            .zip(self.grades(left, right))
            .enumerate()
        {
            quick.total += c.weights.of(level) + adjustment(c, level, left, right).unwrap_or(0.0);
            if level == Level::Far {
                if c.veto && quick.vetoed_by.is_none() {
                    quick.vetoed_by = Some(index);
                }
                quick.conflicts |= -c.weights.far >= self.review_threshold;
            }
        }
        quick
    }

    /// Whether a pair keeps a new record from the golden record of its right side, however well
    /// the record scores against the golden record's other members: the pair is vetoed, or it
    /// conflicts and the rest of its evidence does not outweigh that (it stays below the match
    /// threshold).
    pub fn stops(&self, quick: &Quick) -> bool {
        quick.vetoed_by.is_some() || (quick.conflicts && quick.total < self.match_threshold)
    }

    /// The levels of every comparison of a pair with the compared values, in rule order.
    pub fn levels(&self, left: &Scorable, right: &Scorable) -> Vec<(Level, ComparisonEvidence)> {
        self.comparisons
            .iter()
            .map(|c| {
                let compared =
                    c.spec
                        .using
                        .compare_profiles(c.field(), &left.profile, &right.profile);
                let term_frequency = adjustment(c, compared.level, left, right);
                let evidence = ComparisonEvidence {
                    comparison: c.name.clone(),
                    level: compared.level,
                    weight: c.weights.of(compared.level) + term_frequency.unwrap_or(0.0),
                    left: compared.left,
                    right: compared.right,
                    similarity: compared.similarity,
                    term_frequency,
                };
                (compared.level, evidence)
            })
            .collect()
    }

    /// Scores a pair.
    pub fn score(&self, left: &Scorable, right: &Scorable) -> Evidence {
        let mut total = 0.0;
        let mut vetoed_by = None;
        let mut comparisons = Vec::with_capacity(self.comparisons.len());
        for (weighted, (level, evidence)) in self.comparisons.iter().zip(self.levels(left, right)) {
            total += evidence.weight;
            if weighted.veto && level == Level::Far && vetoed_by.is_none() {
                vetoed_by = Some(weighted.name.clone());
            }
            comparisons.push(evidence);
        }
        Evidence {
            rule: self.name.clone(),
            match_probability: Some((bits_to_probability(total, self.prior) * 1e6).round() / 1e6),
            total: (total * 100.0).round() / 100.0,
            match_threshold: self.match_threshold,
            review_threshold: self.review_threshold,
            comparisons,
            vetoed_by,
        }
    }
}

/// The term-frequency adjustment of a comparison at a level, when it has one: only an exact
/// agreement on a counted term, by the frequency of the value the left record holds.
fn adjustment(c: &Weighted, level: Level, left: &Scorable, right: &Scorable) -> Option<f64> {
    let term = c.term?;
    (level == Level::Exact).then(|| left.adjustment(term, &right.profile))
}

/// A record prepared for comparison: its normalized profile, built once, with the term-frequency
/// adjustments of its own values (zero until frequencies are known).
#[derive(Debug, Clone)]
pub struct Scorable {
    pub profile: Profile,
    /// Bits an exact agreement on each of its counted values adds.
    pub terms: Vec<(Term, String, f64)>,
}

impl Scorable {
    pub fn new(fields: &Fields) -> Scorable {
        Scorable::prepared(Profile::new(fields), None)
    }

    /// A record whose profile is built, with adjustments from `frequencies` when given.
    pub fn prepared(profile: Profile, frequencies: Option<&Frequencies>) -> Scorable {
        let terms = match frequencies {
            Some(frequencies) => record_terms(&profile)
                .into_iter()
                .map(|(term, value)| {
                    let bits = frequencies.adjustment(term, &value);
                    (term, value, bits)
                })
                .filter(|(_, _, bits)| *bits != 0.0)
                .collect(),
            None => Vec::new(),
        };
        Scorable { profile, terms }
    }

    /// The adjustment for an exact agreement with `other` on `term`: the family name, or the
    /// street of the best address pair.
    fn adjustment(&self, term: Term, other: &Profile) -> f64 {
        if self.terms.is_empty() {
            return 0.0;
        }
        let value = match term {
            Term::FamilyName => self.profile.person.family.as_str(),
            Term::Street => match address::best_pair(&self.profile.addresses, &other.addresses) {
                Some((i, _)) => self.profile.addresses[i].street.as_str(),
                None => return 0.0,
            },
        };
        self.terms
            .iter()
            .find(|(t, v, _)| *t == term && v == value)
            .map_or(0.0, |(_, _, bits)| *bits)
    }
}

/// Built-in weights (bits) per comparator, used until weights are written or trained: strong
/// identifiers weigh most, and a conflict weighs against a merge more than agreement weighs for
/// one on weak fields.
pub fn default_weights(using: Comparator) -> LevelWeights {
    let (exact, close, far) = match using {
        Comparator::CompanyName => (8.0, 4.5, -7.0),
        Comparator::LegalForm => (0.5, 0.0, -5.0),
        Comparator::PersonName => (7.0, 5.0, -12.0),
        Comparator::GivenName => (5.0, 3.5, -6.0),
        Comparator::FamilyName => (6.0, 4.0, -5.0),
        Comparator::Generation => (0.0, 0.0, -8.0),
        Comparator::DateOfBirth => (6.0, 2.5, -8.0),
        Comparator::Address => (5.0, 2.5, -2.0),
        Comparator::PostalCode => (2.0, 1.0, -2.0),
        Comparator::Street => (3.0, 2.0, -1.5),
        Comparator::HouseNumber => (1.5, 0.0, -2.0),
        Comparator::City => (1.0, 0.5, -1.0),
        Comparator::Email => (8.0, 2.0, -0.5),
        Comparator::Phone => (7.0, 3.0, -0.5),
        Comparator::TaxId | Comparator::Duns => (12.0, 4.0, -20.0),
        Comparator::Gtin => (14.0, 4.0, -20.0),
        Comparator::Text => (4.0, 2.0, -2.0),
        Comparator::Unit => (1.0, 0.5, -6.0),
    };
    let similar = match using {
        Comparator::DateOfBirth => Some(0.0),
        Comparator::GivenName => Some(0.5),
        Comparator::FamilyName => Some(1.0),
        Comparator::Street => Some(0.5),
        Comparator::City => Some(0.0),
        _ => None,
    };
    LevelWeights {
        exact,
        close,
        similar,
        far,
        missing: 0.0,
    }
}
