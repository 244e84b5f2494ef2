//! Block keys: short normalized values that records of one entity share when they might be the
//! same, so that only records sharing a key are compared (cost grows with n times block size,
//! never n²). Several kinds are united, so a typo that breaks one key leaves the others.

use rphonetic::{DoubleMetaphone, Encoder};
use serde::{Deserialize, Serialize};

use super::profile::Profile;
use crate::model::Fields;

/// A blocking key kind; written in YAML as e.g.
/// `blocking: [postal_code, name_prefix, name_phonetic, email, phone, tax_id]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BlockKey {
    /// Each address's postal code, with its country when given: `pc:DE-10115` (`pc:10115`
    /// without a country).
    PostalCode,
    /// The first four letters of the name's alphabetically first word (legal form removed,
    /// so swapped words give one key): `np:muel`.
    NamePrefix,
    /// Double Metaphone codes of the name's words, sorted: `ph:MLR` — survives most typos
    /// and spellings that sound alike; and the code of each word of three or more letters
    /// that is not a common business word, so that a name with one word typed beyond its
    /// sound (or a mistyped legal form left as a word) still meets: `pw:TNS`.
    NamePhonetic,
    /// Each word of the name of three or more letters that is not a common business word
    /// (`holding`, `services`, `deutschland`, ...): `nt:acme`.
    NameToken,
    /// Each email address: `em:anna@web.de`.
    Email,
    /// Each phone number in E.164: `tel:+49301234567`.
    Phone,
    /// The tax ID without its country prefix, so IDs written with and without one meet:
    /// `tx:811234567`.
    TaxId,
    /// The D-U-N-S number: `du:150483782`.
    Duns,
    /// The GTIN-14: `gt:04006381333931`.
    Gtin,
    /// Phonetic codes of a person's first given name and family name, sorted, so swapped
    /// names meet: `pn:HNS XMTT`.
    PersonName,
    /// The birth date with day and month sorted, so transposed dates meet: `dob:1980-03-04`.
    DateOfBirth,
    /// The Double Metaphone code of a person's family name: `fn:XMT`. Large alone; combine it
    /// (`[family_name, birth_year]`).
    FamilyName,
    /// The Double Metaphone code of a person's first given name: `gn:HNS`.
    GivenName,
    /// The year of birth: `by:1980`.
    BirthYear,
    /// Each address's street name, street type written one way: `st:hauptstr`.
    Street,
    /// Each address's city, folded: `ci:muenchen`.
    City,
}

/// Words too common in company names to make a useful block.
const COMMON_WORDS: &[&str] = &[
    "holding",
    "holdings",
    "group",
    "gruppe",
    "international",
    "intl",
    "service",
    "services",
    "trading",
    "handel",
    "handels",
    "technik",
    "technology",
    "technologies",
    "tech",
    "systems",
    "system",
    "solutions",
    "consulting",
    "deutschland",
    "germany",
    "europe",
    "europa",
    "partner",
    "partners",
    "industries",
    "industrie",
    "logistik",
    "logistics",
    "software",
    "management",
    "verwaltung",
    "beteiligungs",
    "vertrieb",
    "sales",
    "bau",
    "bank",
    "versicherung",
    "insurance",
    "hotel",
    "restaurant",
    "apotheke",
    "praxis",
    "autohaus",
    "energie",
    "energy",
    "global",
    "products",
    "produkte",
    "maschinenbau",
    "elektro",
    "immobilien",
    "the",
    "von",
    "van",
    "der",
    "den",
    "des",
    "und",
    "and",
    "for",
    "fuer",
];

impl BlockKey {
    /// The block values of a record under this key (several for list fields or several words),
    /// each short, normalized and prefixed so kinds never collide. Empty when the record has no
    /// such value. To take several kinds from one record, build its [`Profile`] once and use
    /// [`BlockKey::values_of`].
    pub fn values(self, record: &Fields) -> Vec<String> {
        self.values_of(&Profile::new(record))
    }

    /// The block values of a prepared record.
    pub fn values_of(self, profile: &Profile) -> Vec<String> {
        let mut values: Vec<String> = match self {
            BlockKey::PostalCode => profile
                .addresses
                .iter()
                .filter(|a| !a.postal_code.is_empty())
                .map(|a| match &a.country {
                    Some(country) => format!("pc:{country}-{}", a.postal_code),
                    None => format!("pc:{}", a.postal_code),
                })
                .collect(),
            BlockKey::NamePrefix => profile
                .company
                .tokens
                .iter()
                .find(|t| t.len() >= 2)
                .map(|t| format!("np:{}", &t[..t.len().min(4)]))
                .into_iter()
                .collect(),
            BlockKey::NamePhonetic => {
                // Each word's code, taken once, with whether the word is one to block on alone.
                let words: Vec<(String, bool)> = profile
                    .company
                    .tokens
                    .iter()
                    .map(|t| {
                        (
                            phonetic(t),
                            t.len() >= 3 && !COMMON_WORDS.contains(&t.as_str()),
                        )
                    })
                    .filter(|(code, _)| !code.is_empty())
                    .collect();
                let mut codes: Vec<&str> = words.iter().map(|(code, _)| code.as_str()).collect();
                codes.sort_unstable();
                codes.dedup();
                let whole = (!codes.is_empty()).then(|| format!("ph:{}", codes.join(" ")));
                let mut keys: Vec<String> = words
                    .iter()
                    .filter(|(_, alone)| *alone)
                    .map(|(code, _)| format!("pw:{code}"))
                    .chain(whole)
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                keys
            }
            BlockKey::NameToken => profile
                .company
                .tokens
                .iter()
                .filter(|t| t.len() >= 3 && !COMMON_WORDS.contains(&t.as_str()))
                .map(|t| format!("nt:{t}"))
                .collect(),
            BlockKey::Email => profile.emails.iter().map(|e| format!("em:{e}")).collect(),
            BlockKey::Phone => profile.phones.iter().map(|p| format!("tel:{p}")).collect(),
            BlockKey::TaxId => profile
                .tax_id
                .iter()
                .map(|t| format!("tx:{}", t.body))
                .collect(),
            BlockKey::Duns => profile.duns.iter().map(|d| format!("du:{d}")).collect(),
            BlockKey::Gtin => profile.gtin.iter().map(|g| format!("gt:{g}")).collect(),
            BlockKey::PersonName => {
                let person = &profile.person;
                let given = person.given.split(' ').next().unwrap_or_default();
                let mut codes: Vec<String> = [given, person.family.as_str()]
                    .into_iter()
                    .map(phonetic)
                    .filter(|c| !c.is_empty())
                    .collect();
                codes.sort_unstable();
                (!person.family.is_empty() && !codes.is_empty())
                    .then(|| format!("pn:{}", codes.join(" ")))
                    .into_iter()
                    .collect()
            }
            BlockKey::FamilyName => persons_only(profile, &profile.person.family)
                .map(|code| format!("fn:{code}"))
                .into_iter()
                .collect(),
            BlockKey::GivenName => {
                let first = profile.person.given.split(' ').next().unwrap_or_default();
                persons_only(profile, first)
                    .map(|code| format!("gn:{code}"))
                    .into_iter()
                    .collect()
            }
            BlockKey::BirthYear => profile
                .date_of_birth
                .iter()
                .map(|d| format!("by:{}", d.year()))
                .collect(),
            BlockKey::Street => profile
                .addresses
                .iter()
                .filter(|a| !a.street.is_empty())
                .map(|a| format!("st:{}", a.street))
                .collect(),
            BlockKey::City => profile
                .addresses
                .iter()
                .filter(|a| !a.city.is_empty())
                .map(|a| format!("ci:{}", a.city))
                .collect(),
            BlockKey::DateOfBirth => profile
                .date_of_birth
                .iter()
                .map(|d| {
                    let (low, high) = d.month_day_sorted();
                    format!("dob:{}-{low}-{high}", d.year())
                })
                .collect(),
        };
        values.sort_unstable();
        values.dedup();
        values
    }
}

/// The phonetic code of a person's name part; `None` for companies and empty parts (one letter,
/// an initial, is no block: it would put every `H.` together).
fn persons_only(profile: &Profile, part: &str) -> Option<String> {
    if !profile.is_person || part.len() < 2 {
        return None;
    }
    Some(phonetic(part)).filter(|code| !code.is_empty())
}

/// The primary Double Metaphone code of a folded word; empty for a word without letters.
/// Folded words are ASCII, the only input the encoder handles.
fn phonetic(word: &str) -> String {
    let letters: String = word
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if letters.is_empty() {
        return String::new();
    }
    DoubleMetaphone::default().encode(&letters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn values(key: BlockKey, value: Value) -> Vec<String> {
        match value {
            Value::Object(map) => key.values(&map),
            _ => Vec::new(),
        }
    }

    #[test]
    fn person_keys_survive_typos_in_the_other_fields() {
        let a = json!({"given_name": "Hans", "family_name": "Schmidt", "date_of_birth": "1980-03-04",
            "addresses": [{"street": "Hauptstraße 5", "postal_code": "10115"}]});
        let b = json!({"given_name": "Hanns", "family_name": "Schmitt", "date_of_birth": "1980-03-05",
            "addresses": [{"street": "Hauptstr. 5", "postal_code": "10116"}]});
        for (key, expected) in [
            (BlockKey::FamilyName, "fn:XMT"),
            (BlockKey::GivenName, "gn:HNS"),
            (BlockKey::BirthYear, "by:1980"),
            (BlockKey::Street, "st:hauptstr"),
        ] {
            assert_eq!(
                values(key, a.clone()),
                vec![expected.to_string()],
                "{key:?}"
            );
            assert_eq!(values(key, a.clone()), values(key, b.clone()), "{key:?}");
        }
        assert!(values(BlockKey::FamilyName, json!({"name": "Schmidt GmbH"})).is_empty());
        assert!(
            values(
                BlockKey::GivenName,
                json!({"given_name": "H.", "family_name": "X"})
            )
            .is_empty()
        );
    }

    #[test]
    fn a_name_with_one_word_misspelt_shares_a_phonetic_key_by_its_other_words() {
        let right = values(BlockKey::NamePhonetic, json!({"name": "Taunus KG"}));
        let typo = values(BlockKey::NamePhonetic, json!({"name": "Taaunus LG"}));
        assert!(
            right.iter().any(|key| typo.contains(key)),
            "{right:?} {typo:?}"
        );
        let right = values(BlockKey::NamePhonetic, json!({"name": "Robert Miller"}));
        let typo = values(BlockKey::NamePhonetic, json!({"name": "MILKER Roberrt"}));
        assert!(
            right.iter().any(|key| typo.contains(key)),
            "{right:?} {typo:?}"
        );
    }

    #[test]
    fn spellings_of_one_company_share_their_name_keys() {
        for key in [
            BlockKey::NamePrefix,
            BlockKey::NamePhonetic,
            BlockKey::NameToken,
        ] {
            let a = values(key, json!({"name": "Müller GmbH"}));
            let b = values(key, json!({"name": "MUELLER G.m.b.H."}));
            assert!(!a.is_empty());
            assert_eq!(a, b, "{key:?}");
        }
        assert_eq!(
            values(BlockKey::NamePrefix, json!({"name": "Müller GmbH"})),
            vec!["np:muel"]
        );
        assert_eq!(
            values(BlockKey::NamePhonetic, json!({"name": "Müller GmbH"})),
            vec!["ph:MLR", "pw:MLR"]
        );
        assert_eq!(
            values(BlockKey::NamePhonetic, json!({"name": "Mueller"})),
            values(BlockKey::NamePhonetic, json!({"name": "Muller"}))
        );
        assert_eq!(
            values(
                BlockKey::NameToken,
                json!({"name": "Acme Holding International GmbH"})
            ),
            vec!["nt:acme"]
        );
        assert_eq!(
            values(BlockKey::NamePrefix, json!({"name": "Schmidt Hans"})),
            values(BlockKey::NamePrefix, json!({"name": "Hans Schmidt"}))
        );
    }

    #[test]
    fn contact_and_id_keys() {
        let record = json!({
            "emails": ["Anna@Web.de", "anna@web.de"],
            "phones": ["030/1234567"],
            "tax_id": "DE 811.234.567",
            "duns": "15-048-3782",
            "addresses": [{"postal_code": "D-10115", "country": "DE"}, {"postal_code": "80331"}]
        });
        assert_eq!(
            values(BlockKey::Email, record.clone()),
            vec!["em:anna@web.de"]
        );
        assert_eq!(
            values(BlockKey::Phone, record.clone()),
            vec!["tel:+49301234567"]
        );
        assert_eq!(
            values(BlockKey::TaxId, record.clone()),
            vec!["tx:811234567"]
        );
        assert_eq!(
            values(BlockKey::TaxId, json!({"tax_id": "811234567"})),
            vec!["tx:811234567"]
        );
        assert_eq!(values(BlockKey::Duns, record.clone()), vec!["du:150483782"]);
        assert_eq!(
            values(BlockKey::PostalCode, record.clone()),
            vec!["pc:80331", "pc:DE-10115"]
        );
        assert_eq!(
            values(BlockKey::Gtin, json!({"gtin": "4006381333931"})),
            vec!["gt:04006381333931"]
        );
        assert!(values(BlockKey::Gtin, json!({"gtin": "4006381333932"})).is_empty());
    }

    #[test]
    fn person_keys_survive_swaps_and_transposed_dates() {
        let a = json!({"name": "Schmidt, Hans", "date_of_birth": "1980-03-04"});
        let b =
            json!({"given_name": "Schmidt", "family_name": "Hans", "date_of_birth": "1980-04-03"});
        assert_eq!(
            values(BlockKey::PersonName, a.clone()),
            values(BlockKey::PersonName, b.clone())
        );
        assert_eq!(
            values(BlockKey::DateOfBirth, a.clone()),
            vec!["dob:1980-03-04"]
        );
        assert_eq!(values(BlockKey::DateOfBirth, b), vec!["dob:1980-03-04"]);
    }

    #[test]
    fn records_without_the_value_have_no_key() {
        for key in [
            BlockKey::PostalCode,
            BlockKey::NamePrefix,
            BlockKey::NamePhonetic,
            BlockKey::NameToken,
            BlockKey::Email,
            BlockKey::Phone,
            BlockKey::TaxId,
            BlockKey::Duns,
            BlockKey::Gtin,
            BlockKey::PersonName,
            BlockKey::DateOfBirth,
        ] {
            assert!(
                values(key, json!({"name": "--", "emails": ["x"]})).is_empty(),
                "{key:?}"
            );
        }
    }
}
