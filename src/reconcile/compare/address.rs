//! Postal addresses: postal code, street and house number after the street type is written one
//! way (`Str.`, `Strasse`, `Straße` → `str`; `Street`, `St.` → `st`; ...).

use serde_json::Value;

use super::text::{fold, jaro_winkler};
use super::{Graded, Level};

/// One address prepared for comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreparedAddress {
    /// Upper-case letters and digits, a country prefix such as `D-` taken off.
    pub postal_code: String,
    /// ISO country code, upper case, when given.
    pub country: Option<String>,
    /// Street name folded, street type abbreviated, without spaces.
    pub street: String,
    /// House number folded without spaces (`12 b` → `12b`), from the street when not separate.
    pub house_number: String,
    /// City folded.
    pub city: String,
}

/// Street similarity from which two streets with one postal code count as close.
pub const CLOSE: f64 = 0.90;

impl PreparedAddress {
    /// Reads an address object of the canonical model; `None` when it has neither a postal
    /// code nor a street.
    pub fn new(address: &Value) -> Option<PreparedAddress> {
        let text = |key: &str| address.get(key).and_then(Value::as_str).unwrap_or_default();
        let (street, number_in_street) = split_street(text("street"));
        let separate_number = compact(text("house_number"));
        let prepared = PreparedAddress {
            postal_code: postal_code(text("postal_code")),
            country: Some(text("country").trim().to_ascii_uppercase()).filter(|c| !c.is_empty()),
            street,
            house_number: if separate_number.is_empty() {
                number_in_street
            } else {
                separate_number
            },
            city: fold(text("city")),
        };
        (!prepared.postal_code.is_empty() || !prepared.street.is_empty()).then_some(prepared)
    }

    /// Grades one address against another.
    pub fn grade(&self, other: &PreparedAddress) -> Graded {
        if let (Some(a), Some(b)) = (&self.country, &other.country)
            && a != b
        {
            return Graded::new(Level::Far, 0.0);
        }
        let same_postal = !self.postal_code.is_empty() && self.postal_code == other.postal_code;
        let same_number = self.house_number == other.house_number;
        let street = if self.street.is_empty() || other.street.is_empty() {
            0.0
        } else {
            jaro_winkler(&self.street, &other.street)
        };
        let same_street = street >= 1.0;
        if same_postal && same_street && same_number {
            return Graded::new(Level::Exact, 1.0);
        }
        let numbers_agree =
            same_number || self.house_number.is_empty() || other.house_number.is_empty();
        let same_city = !self.city.is_empty() && self.city == other.city;
        let close = (same_postal && street >= CLOSE && numbers_agree)
            || (same_street && same_number && !self.house_number.is_empty() && same_city);
        Graded::new(if close { Level::Close } else { Level::Far }, street)
    }
}

/// Grades two address lists by their best pair; missing when either has none.
pub fn grade_addresses(
    left: &[PreparedAddress],
    right: &[PreparedAddress],
) -> (Graded, usize, usize) {
    let mut best = (Graded::MISSING, 0, 0);
    for (i, l) in left.iter().enumerate() {
        for (j, r) in right.iter().enumerate() {
            let graded = l.grade(r);
            let key = |g: &Graded| (g.level, -g.similarity.unwrap_or(0.0));
            if key(&graded) < key(&best.0) {
                best = (graded, i, j);
            }
        }
    }
    best
}

/// Grades postal codes: any code in common exact, both with codes but none in common far.
pub fn grade_postal_codes(left: &[PreparedAddress], right: &[PreparedAddress]) -> Graded {
    let codes =
        |list: &[PreparedAddress]| -> bool { list.iter().any(|a| !a.postal_code.is_empty()) };
    if !codes(left) || !codes(right) {
        return Graded::MISSING;
    }
    let common = left
        .iter()
        .any(|l| !l.postal_code.is_empty() && right.iter().any(|r| r.postal_code == l.postal_code));
    if common {
        Graded::new(Level::Exact, 1.0)
    } else {
        Graded::new(Level::Far, 0.0)
    }
}

/// A postal code as upper-case letters and digits; a country prefix such as `D-` or `CH-`
/// before a digit is taken off, and so are leading zeros of an all-digit code (spreadsheets
/// drop them: `08035` and `8035` are one code).
pub fn postal_code(raw: &str) -> String {
    let raw = raw.trim();
    let without_prefix = match raw.split_once(['-', ' ']) {
        Some((prefix, rest))
            if (1..=3).contains(&prefix.len())
                && prefix.chars().all(|c| c.is_ascii_alphabetic())
                && rest.trim_start().starts_with(|c: char| c.is_ascii_digit()) =>
        {
            rest
        }
        _ => raw,
    };
    let code: String = without_prefix
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if code.chars().all(|c| c.is_ascii_digit()) {
        let trimmed = code.trim_start_matches('0');
        if trimmed.is_empty() {
            code
        } else {
            trimmed.to_string()
        }
    } else {
        code
    }
}

/// Folds a value and drops its spaces.
fn compact(raw: &str) -> String {
    fold(raw).replace(' ', "")
}

/// Splits a street line into the street key and the house number written in it (`Hauptstr. 5a`,
/// `221B Baker Street`).
fn split_street(raw: &str) -> (String, String) {
    let folded = fold(raw);
    let mut words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    let starts_with_digit = |w: &&str| w.starts_with(|c: char| c.is_ascii_digit());
    let mut number = String::new();
    if let Some(at) = words
        .iter()
        .rposition(starts_with_digit)
        .filter(|&at| at > 0)
    {
        let tail = &words[at..];
        if tail.len() <= 2 && tail.iter().skip(1).all(|w| w.len() == 1) {
            number = tail.concat();
            words.truncate(at);
        }
    }
    if number.is_empty() && words.len() > 1 && words.first().is_some_and(starts_with_digit) {
        number = words.remove(0).to_string();
    }
    let street = words
        .iter()
        .map(|w| street_word(w))
        .collect::<Vec<_>>()
        .concat();
    (street, number)
}

/// One word of a street name with its street type written one way.
fn street_word(word: &str) -> std::borrow::Cow<'_, str> {
    let short = match word {
        "strasse" | "str" | "straat" => "str",
        "street" | "st" => "st",
        "avenue" | "ave" | "av" => "ave",
        "road" | "rd" => "rd",
        "boulevard" | "blvd" => "blvd",
        "drive" | "dr" => "dr",
        "lane" | "ln" => "ln",
        "place" | "pl" | "platz" => "pl",
        "square" | "sq" => "sq",
        "court" | "ct" => "ct",
        "highway" | "hwy" => "hwy",
        _ => {
            for (long, short) in [("strasse", "str"), ("straat", "str"), ("platz", "pl")] {
                if let Some(stem) = word.strip_suffix(long)
                    && !stem.is_empty()
                {
                    return format!("{stem}{short}").into();
                }
            }
            return word.into();
        }
    };
    short.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn address(value: Value) -> PreparedAddress {
        PreparedAddress::new(&value).unwrap_or_default()
    }

    fn grade(a: Value, b: Value) -> Level {
        grade_addresses(&[address(a)], &[address(b)]).0.level
    }

    #[test]
    fn street_type_spellings_and_numbers_in_the_street() {
        let a = address(json!({"street": "Hauptstr. 5", "postal_code": "10115"}));
        let b = address(
            json!({"street": "Hauptstraße", "house_number": "5", "postal_code": "D-10115"}),
        );
        assert_eq!(a.street, "hauptstr");
        assert_eq!(a.house_number, "5");
        assert_eq!(b.postal_code, "10115");
        assert_eq!(postal_code("08035"), postal_code("8035"));
        assert_eq!(a.grade(&b).level, Level::Exact);
        assert_eq!(
            address(json!({"street": "Haupt Strasse 5 a"})).house_number,
            "5a"
        );
        assert_eq!(
            address(json!({"street": "Haupt Strasse 5 a"})).street,
            "hauptstr"
        );
        let baker = address(json!({"street": "221B Baker Street"}));
        assert_eq!(
            (baker.street.as_str(), baker.house_number.as_str()),
            ("bakerst", "221b")
        );
        assert_eq!(address(json!({"street": "Baker St."})).street, "bakerst");
    }

    #[test]
    fn close_and_far_addresses() {
        let home = json!({"street": "Hauptstraße 5", "postal_code": "10115", "city": "Berlin"});
        assert_eq!(
            grade(
                home.clone(),
                json!({"street": "Hauptstrase 5", "postal_code": "10115"})
            ),
            Level::Close
        );
        assert_eq!(
            grade(
                home.clone(),
                json!({"street": "Hauptstr. 5", "postal_code": "10117", "city": "BERLIN"})
            ),
            Level::Close
        );
        assert_eq!(
            grade(
                home.clone(),
                json!({"street": "Hauptstr. 7", "postal_code": "10115"})
            ),
            Level::Far
        );
        assert_eq!(
            grade(
                home.clone(),
                json!({"street": "Lindenallee 2", "postal_code": "80331"})
            ),
            Level::Far
        );
        assert_eq!(
            grade(
                json!({"street": "Main Street 1", "postal_code": "12345", "country": "US"}),
                json!({"street": "Main Street 1", "postal_code": "12345", "country": "DE"})
            ),
            Level::Far
        );
    }

    #[test]
    fn best_pair_over_both_lists_and_missing() {
        let billing = address(json!({"street": "Lindenallee 2", "postal_code": "80331"}));
        let shipping = address(json!({"street": "Hauptstr. 5", "postal_code": "10115"}));
        let other = address(json!({"street": "Hauptstraße 5", "postal_code": "10115"}));
        let (graded, i, j) = grade_addresses(&[billing, shipping], std::slice::from_ref(&other));
        assert_eq!((graded.level, i, j), (Level::Exact, 1, 0));
        assert_eq!(grade_addresses(&[], &[other]).0.level, Level::Missing);
        assert!(PreparedAddress::new(&json!({"city": "Berlin"})).is_none());
    }

    #[test]
    fn postal_codes() {
        assert_eq!(postal_code(" sw1a 1aa "), "SW1A1AA");
        assert_eq!(postal_code("CH-8000"), "8000");
        assert_eq!(postal_code("1012 AB"), "1012AB");
        let a = [address(json!({"postal_code": "10115"}))];
        let b = [
            address(json!({"postal_code": "80331"})),
            address(json!({"postal_code": "D-10115"})),
        ];
        assert_eq!(grade_postal_codes(&a, &b).level, Level::Exact);
        assert_eq!(grade_postal_codes(&a, &b[..1]).level, Level::Far);
        assert_eq!(grade_postal_codes(&a, &[]).level, Level::Missing);
    }
}
