//! Term frequencies: agreeing on a rare family name or street is stronger evidence than agreeing
//! on a common one (two `Müller`s are likelier strangers than two `Wojciechowski`s), as Splink's
//! term-frequency adjustment has it. The store counts the values of every new source record; an
//! exact agreement on a value adds `log2(u / tf(value))` bits to the level's weight, where `tf` is
//! the value's share of all values and `u = Σ tf²` the chance that two random records agree: on
//! average the adjustment is nothing, a rare value gains, a common one loses.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::compare::{Comparator, Profile};
use crate::store::TermCounts;

/// The fields whose values are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    /// A person's folded family name.
    FamilyName,
    /// A folded street name (street type written one way).
    Street,
}

impl Term {
    /// Both terms, in storage order.
    pub const ALL: [Term; 2] = [Term::FamilyName, Term::Street];

    /// The name the store files counts under.
    pub fn as_str(self) -> &'static str {
        match self {
            Term::FamilyName => "family_name",
            Term::Street => "street",
        }
    }

    /// The term a comparator's exact level is adjusted by, if any.
    pub fn of(comparator: Comparator) -> Option<Term> {
        match comparator {
            Comparator::FamilyName => Some(Term::FamilyName),
            Comparator::Street => Some(Term::Street),
            _ => None,
        }
    }

    /// The values of this term in a record, each once.
    pub fn values(self, profile: &Profile) -> Vec<&str> {
        let mut values: Vec<&str> = match self {
            Term::FamilyName if profile.is_person => vec![profile.person.family.as_str()],
            Term::FamilyName => Vec::new(),
            Term::Street => profile
                .addresses
                .iter()
                .map(|a| a.street.as_str())
                .collect(),
        };
        values.retain(|v| !v.is_empty());
        values.sort_unstable();
        values.dedup();
        values
    }
}

/// Bits an adjustment may add or take at most: a value seen once in a million records must not
/// outweigh every other comparison.
pub const MAX_ADJUSTMENT: f64 = 6.0;
/// Bits a very common value may lose at most.
pub const MIN_ADJUSTMENT: f64 = -4.0;

/// The adjustment in bits for an exact agreement on `value`, from the counts of its term; 0 when
/// nothing is counted yet.
pub fn adjustment(counts: &TermCounts, value: &str) -> f64 {
    if counts.total == 0 || counts.sum_of_squares <= 0.0 {
        return 0.0;
    }
    let count = counts.counts.get(value).copied().unwrap_or(0).max(1) as f64;
    let u = counts.sum_of_squares / (counts.total as f64 * counts.total as f64);
    let tf = count / counts.total as f64;
    let bits = (u / tf).log2().clamp(MIN_ADJUSTMENT, MAX_ADJUSTMENT);
    (bits * 100.0).round() / 100.0
}

/// The counts of every term a batch needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frequencies {
    pub terms: HashMap<Term, TermCounts>,
}

impl Frequencies {
    /// The adjustment for an exact agreement on `value` of `term`.
    pub fn adjustment(&self, term: Term, value: &str) -> f64 {
        self.terms
            .get(&term)
            .map_or(0.0, |counts| adjustment(counts, value))
    }
}

/// What one record's values add to the counts: `(term, value)` once each.
pub fn record_terms(profile: &Profile) -> Vec<(Term, String)> {
    Term::ALL
        .into_iter()
        .flat_map(|term| {
            term.values(profile)
                .into_iter()
                .map(move |v| (term, v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(values: &[(&str, u64)]) -> TermCounts {
        let total = values.iter().map(|(_, c)| c).sum();
        TermCounts {
            counts: values.iter().map(|(v, c)| (v.to_string(), *c)).collect(),
            total,
            sum_of_squares: values.iter().map(|(_, c)| (*c as f64).powi(2)).sum(),
        }
    }

    #[test]
    fn rare_values_gain_and_common_ones_lose() {
        let names = counts(&[("mueller", 500), ("schmidt", 300), ("wojciechowski", 2)]);
        let rare = adjustment(&names, "wojciechowski");
        let common = adjustment(&names, "mueller");
        assert!(rare > 3.0, "rare {rare}");
        assert!(common < 0.5, "common {common}");
        assert!(rare <= MAX_ADJUSTMENT);
        assert_eq!(adjustment(&TermCounts::default(), "x"), 0.0);
    }

    #[test]
    fn values_spread_evenly_need_no_adjustment() {
        let even = counts(&[("a", 10), ("b", 10), ("c", 10)]);
        assert!(adjustment(&even, "a").abs() < 1e-9);
    }
}
