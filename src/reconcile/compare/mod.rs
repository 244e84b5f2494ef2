//! Comparators for scored matching: how alike one field (or field group) of two records is,
//! graded into a few levels a scored rule weighs — and block keys, the cheap values that decide
//! which records are compared at all.
//!
//! A record is prepared once into a [`Profile`] (names folded, legal form taken out, phones in
//! E.164, addresses parsed, ...), because the matcher compares each record with tens of
//! candidates. [`Comparator::grade`] compares two profiles without allocating;
//! [`Comparator::compare_profiles`] adds the compared values for explanations.
//!
//! Negative evidence matters as much as positive (a false merge costs more than a missed one):
//! different tax IDs, legal forms, given names or generations come out [`Level::Far`] rather
//! than merely not [`Level::Exact`].

pub mod abbreviation;
pub mod address;
pub mod block;
pub mod company;
pub mod date;
pub mod email;
pub mod ids;
pub mod packed;
pub mod person;
pub mod phone;
pub mod profile;
pub mod text;
pub mod unit;

use serde::{Deserialize, Serialize};

use crate::model::Fields;

pub use block::BlockKey;
pub use profile::Profile;

/// How alike two values are, graded. The order is from strongest agreement to no evidence.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The same value after normalization.
    Exact,
    /// Not the same, but what one real value spelt two ways looks like (for names and streets:
    /// Jaro-Winkler ≥ 0.92, an initial, a dropped middle name).
    Close,
    /// Further apart than `close` yet still alike (names and streets: Jaro-Winkler ≥ 0.80): two
    /// typos in one name, or a different name that sounds alike. Weaker evidence than `close`.
    Similar,
    /// Different values: evidence against a match.
    Far,
    /// One side (or both) has no value: no evidence either way.
    Missing,
}

impl Level {
    /// Every level, in order, for weight tables.
    pub const ALL: [Level; 5] = [
        Level::Exact,
        Level::Close,
        Level::Similar,
        Level::Far,
        Level::Missing,
    ];
}

/// What a comparison found, kept as evidence for explanations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compared {
    pub level: Level,
    /// The left record's value as compared (normalized), for display.
    pub left: Option<String>,
    /// The right record's value as compared (normalized), for display.
    pub right: Option<String>,
    /// Similarity in `0..=1` where the comparison computes one.
    pub similarity: Option<f64>,
}

/// A level and similarity without the compared values: what scoring needs, computed without
/// allocating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Graded {
    pub level: Level,
    /// Similarity in `0..=1` where the comparison computes one.
    pub similarity: Option<f64>,
}

impl Graded {
    /// Nothing to compare.
    pub const MISSING: Graded = Graded {
        level: Level::Missing,
        similarity: None,
    };

    /// A level with its similarity.
    pub fn new(level: Level, similarity: f64) -> Graded {
        Graded {
            level,
            similarity: Some(similarity),
        }
    }
}

/// A comparison a scored rule may use; written in YAML as `using: company_name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Comparator {
    /// `name` without legal form, words in any order: the same words exact (umlauts written
    /// out or not, a word abbreviated as `Fördertechn.`, `Masch.-Bau` or `Engg`); every word
    /// the other's misspelt, with Jaro-Winkler or word-by-word similarity ≥ 0.90, close. A word
    /// one name has and the other lacks ("Acme Holding GmbH" and "Acme GmbH") is far:
    /// parents and subsidiaries differ just so. A name ending in the other's legal form
    /// mistyped (`LTTD`, `SSA`) is compared without it.
    CompanyName,
    /// The legal form in `name` (GmbH = G.m.b.H. = Gesellschaft mit beschränkter Haftung):
    /// the same exact, different far (a subsidiary trap), missing when either name has none.
    LegalForm,
    /// `given_name` and `family_name` (or `name` split): both parts equal, also swapped, exact;
    /// typos, initials, a dropped middle name close; a different given name far.
    PersonName,
    /// The given name alone (from `given_name`, or `name` split), in the orientation that fits
    /// the family name best: equal exact; Jaro-Winkler ≥ 0.92, an initial or a dropped middle
    /// name close; ≥ 0.80 similar; otherwise far; missing when either has none. Persons only.
    GivenName,
    /// The family name alone, graded like `given_name`. Agreement on a rare family name weighs
    /// more than on a common one (term-frequency adjustment).
    FamilyName,
    /// Jr./Sr./II/III in the person's name: the same exact, different far (father and son at
    /// one address), only one side naming one close, neither missing.
    Generation,
    /// `date_of_birth` (`YYYY-MM-DD`): equal exact; day and month transposed, one digit wrong
    /// or two neighbouring digits swapped close; two such errors similar; otherwise far.
    DateOfBirth,
    /// `addresses`, best pair of both lists: same postal code, street and house number exact;
    /// same postal code and a similar street (Jaro-Winkler ≥ 0.90, no conflicting number), or
    /// same street and number in the same city close; otherwise far.
    Address,
    /// Postal codes of `addresses`: any in common exact; one digit wrong or two neighbouring
    /// digits swapped close; otherwise far.
    PostalCode,
    /// The street name of the best address pair (street types written one way): equal exact,
    /// Jaro-Winkler ≥ 0.92 close, ≥ 0.80 similar, otherwise far. Agreement on a rare street
    /// weighs more than on a common one (term-frequency adjustment).
    Street,
    /// The house number of the best address pair: equal exact, different far.
    HouseNumber,
    /// The city of the best address pair: equal exact, Jaro-Winkler ≥ 0.92 close, ≥ 0.80
    /// similar, otherwise far.
    City,
    /// `emails`: an address in common exact; the same personal mailbox at another domain, or a
    /// near spelling at the same domain, close; otherwise far.
    Email,
    /// `phones` in E.164 (national numbers read with the first address's country): a number in
    /// common exact; the same last seven digits close; otherwise far.
    Phone,
    /// `tax_id` (VAT with or without country prefix): equal exact; different far — a veto.
    TaxId,
    /// `duns` (nine digits): equal exact; different far.
    Duns,
    /// `gtin` with a valid check digit, as GTIN-14: equal exact; different far.
    Gtin,
    /// The text field the rule names with `field:`: Jaro-Winkler on folded text, ≥ 0.92 close.
    Text,
    /// `unit` in one spelling (pcs = PCE = ST = piece): equal exact, different far.
    Unit,
}

/// Similarity from which two different texts count as close.
pub const TEXT_CLOSE: f64 = 0.92;

impl Comparator {
    /// Every comparator, for documentation and schema listings.
    pub const ALL: [Comparator; 19] = [
        Comparator::CompanyName,
        Comparator::LegalForm,
        Comparator::PersonName,
        Comparator::GivenName,
        Comparator::FamilyName,
        Comparator::Generation,
        Comparator::DateOfBirth,
        Comparator::Address,
        Comparator::PostalCode,
        Comparator::Street,
        Comparator::HouseNumber,
        Comparator::City,
        Comparator::Email,
        Comparator::Phone,
        Comparator::TaxId,
        Comparator::Duns,
        Comparator::Gtin,
        Comparator::Text,
        Comparator::Unit,
    ];

    /// The record fields this comparator reads; empty for [`Comparator::Text`], which reads the
    /// field its rule names.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Comparator::CompanyName | Comparator::LegalForm => &["name"],
            Comparator::PersonName
            | Comparator::GivenName
            | Comparator::FamilyName
            | Comparator::Generation => &["given_name", "family_name", "name"],
            Comparator::DateOfBirth => &["date_of_birth"],
            Comparator::Address
            | Comparator::PostalCode
            | Comparator::Street
            | Comparator::HouseNumber
            | Comparator::City => &["addresses"],
            Comparator::Email => &["emails"],
            Comparator::Phone => &["phones", "addresses"],
            Comparator::TaxId => &["tax_id", "addresses"],
            Comparator::Duns => &["duns"],
            Comparator::Gtin => &["gtin"],
            Comparator::Text => &[],
            Comparator::Unit => &["unit"],
        }
    }

    /// Compares one field (or field group) of two canonical records. `field` is the field the
    /// rule names (for [`Comparator::Text`]); the others read their own fields. Prepares both
    /// records first: to compare one record with many, build each [`Profile`] once and use
    /// [`Comparator::compare_profiles`].
    pub fn compare(self, field: &str, left: &Fields, right: &Fields) -> Compared {
        self.compare_profiles(field, &Profile::new(left), &Profile::new(right))
    }

    /// Compares two prepared records, keeping the compared values as evidence.
    pub fn compare_profiles(self, field: &str, left: &Profile, right: &Profile) -> Compared {
        let graded = self.grade(field, left, right);
        let (l, r) = profile::shown(self, field, left, right);
        Compared {
            level: graded.level,
            left: l,
            right: r,
            similarity: graded.similarity,
        }
    }

    /// Grades two prepared records without keeping the values: the scoring hot path.
    pub fn grade(self, field: &str, left: &Profile, right: &Profile) -> Graded {
        profile::grade(self, field, left, right)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_yaml_are_snake_case() {
        let parsed: Vec<Comparator> =
            serde_yaml::from_str("[company_name, legal_form, date_of_birth, tax_id, text]")
                .unwrap();
        assert_eq!(
            parsed,
            vec![
                Comparator::CompanyName,
                Comparator::LegalForm,
                Comparator::DateOfBirth,
                Comparator::TaxId,
                Comparator::Text
            ]
        );
        assert!(serde_yaml::from_str::<Comparator>("company").is_err());
        assert_eq!(
            serde_json::to_string(&Level::Missing).unwrap(),
            "\"missing\""
        );
        assert!(Level::Exact < Level::Close && Level::Far < Level::Missing);
        assert!(Level::Close < Level::Similar && Level::Similar < Level::Far);
    }
}
