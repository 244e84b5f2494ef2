//! Postal addresses: postal code, street and house number after the street type is written one
//! way (`Str.`, `Strasse`, `Straße` → `str`; `Street`, `St.` → `st`; `Calle`, `C/` → `c`;
//! `Rue`, `R.` → `r`; ...).

use serde_json::Value;

use super::text::{fold, jaro_winkler, same_but_umlauts};
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
        } else if same_but_umlauts(&self.street, &other.street) {
            1.0
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

/// Grades postal codes: any code in common exact; codes one character apart (one wrong digit,
/// or two neighbouring digits swapped) close; both with codes but none alike far.
pub fn grade_postal_codes(left: &[PreparedAddress], right: &[PreparedAddress]) -> Graded {
    let codes =
        |list: &[PreparedAddress]| -> bool { list.iter().any(|a| !a.postal_code.is_empty()) };
    if !codes(left) || !codes(right) {
        return Graded::MISSING;
    }
    let pairs = || {
        left.iter()
            .filter(|l| !l.postal_code.is_empty())
            .flat_map(|l| right.iter().map(move |r| (&l.postal_code, &r.postal_code)))
    };
    if pairs().any(|(l, r)| l == r) {
        Graded::new(Level::Exact, 1.0)
    } else if pairs().any(|(l, r)| one_typo_apart(l, r)) {
        Graded::new(Level::Close, 0.8)
    } else {
        Graded::new(Level::Far, 0.0)
    }
}

/// Two codes of one length that differ in one character, or in two neighbouring characters
/// swapped: what one typing error makes of a postal code.
pub fn one_typo_apart(left: &str, right: &str) -> bool {
    let (a, b) = (left.as_bytes(), right.as_bytes());
    if a.len() != b.len() || a.len() < 3 {
        return false;
    }
    let differing: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    match differing.as_slice() {
        [_] => true,
        [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
        _ => false,
    }
}

/// The pair of addresses (one from each list) that agree best, part by part: the pair the
/// street, house number and city comparisons look at. `None` when either list is empty.
pub fn best_pair(left: &[PreparedAddress], right: &[PreparedAddress]) -> Option<(usize, usize)> {
    let mut best: Option<(f64, usize, usize)> = None;
    for (i, l) in left.iter().enumerate() {
        for (j, r) in right.iter().enumerate() {
            let postal = if l.postal_code.is_empty() {
                0.0
            } else if l.postal_code == r.postal_code {
                2.0
            } else if one_typo_apart(&l.postal_code, &r.postal_code) {
                1.0
            } else {
                0.0
            };
            let street = if l.street.is_empty() || r.street.is_empty() {
                0.0
            } else {
                jaro_winkler(&l.street, &r.street)
            };
            let number = f64::from(u8::from(
                !l.house_number.is_empty() && l.house_number == r.house_number,
            ));
            let city = 0.5 * f64::from(u8::from(!l.city.is_empty() && l.city == r.city));
            let score = postal + street + number + city;
            if best.is_none_or(|(b, _, _)| score > b) {
                best = Some((score, i, j));
            }
        }
    }
    best.map(|(_, i, j)| (i, j))
}

/// Grades street names of the best address pair on five levels: equal (after street types are
/// written one way) exact, Jaro-Winkler ≥ 0.92 close, ≥ 0.80 similar, else far.
pub fn grade_streets(left: &[PreparedAddress], right: &[PreparedAddress]) -> Graded {
    match best_pair(left, right) {
        Some((i, j)) => grade_words(&left[i].street, &right[j].street),
        None => Graded::MISSING,
    }
}

/// Grades cities of the best address pair on five levels, like streets.
pub fn grade_cities(left: &[PreparedAddress], right: &[PreparedAddress]) -> Graded {
    match best_pair(left, right) {
        Some((i, j)) => grade_words(&left[i].city, &right[j].city),
        None => Graded::MISSING,
    }
}

/// Grades house numbers of the best address pair: equal exact, else far (`12` and `12a` are
/// two houses).
pub fn grade_house_numbers(left: &[PreparedAddress], right: &[PreparedAddress]) -> Graded {
    let Some((i, j)) = best_pair(left, right) else {
        return Graded::MISSING;
    };
    let (l, r) = (&left[i].house_number, &right[j].house_number);
    if l.is_empty() || r.is_empty() {
        Graded::MISSING
    } else if l == r {
        Graded::new(Level::Exact, 1.0)
    } else {
        Graded::new(Level::Far, 0.0)
    }
}

/// Five-level grade of two folded texts: equal (umlauts written out or not) exact, Jaro-Winkler ≥ 0.92 close, ≥ 0.80 similar,
/// else far; missing when either is empty.
pub fn grade_words(left: &str, right: &str) -> Graded {
    if left.is_empty() || right.is_empty() {
        return Graded::MISSING;
    }
    if left == right || same_but_umlauts(left, right) {
        return Graded::new(Level::Exact, 1.0);
    }
    let similarity = jaro_winkler(left, right);
    let level = if similarity >= super::TEXT_CLOSE {
        Level::Close
    } else if similarity >= super::person::SIMILAR {
        Level::Similar
    } else {
        Level::Far
    };
    Graded::new(level, similarity)
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
        "avenue" | "ave" | "av" | "avenida" | "avda" => "ave",
        "road" | "rd" => "rd",
        "boulevard" | "blvd" | "bd" => "blvd",
        "calle" | "c" | "cl" => "c",
        "rue" | "r" => "r",
        "plaza" | "pza" => "pl",
        "paseo" | "po" => "po",
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
        for (long, short) in [
            ("Calle Mayor, 136", "C/ Mayor, 136"),
            ("Calle Mayor, 136", "C. Mayor 136"),
            ("201 Rue du Port", "201 R. du Port"),
            (
                "Avenida de la Constitución 12",
                "Avda. de la Constitucion 12",
            ),
        ] {
            let (a, b) = (
                address(json!({"street": long})),
                address(json!({"street": short})),
            );
            assert_eq!((&a.street, &a.house_number), (&b.street, &b.house_number));
        }
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
    fn address_parts_of_the_best_pair() {
        let home = [address(
            json!({"street": "Hauptstraße 5", "postal_code": "10115", "city": "Berlin"}),
        )];
        let moved_and_home = [
            address(json!({"street": "Lindenallee 2", "postal_code": "80331", "city": "München"})),
            address(json!({"street": "Hauptstr 5", "postal_code": "10116", "city": "Berln"})),
        ];
        assert_eq!(best_pair(&home, &moved_and_home), Some((0, 1)));
        assert_eq!(grade_streets(&home, &moved_and_home).level, Level::Exact);
        assert_eq!(
            grade_house_numbers(&home, &moved_and_home).level,
            Level::Exact
        );
        assert_eq!(grade_cities(&home, &moved_and_home).level, Level::Close);
        let typo = [address(
            json!({"street": "Haubtstraße 7", "postal_code": "10115"}),
        )];
        assert_eq!(grade_streets(&home, &typo).level, Level::Close);
        assert_eq!(grade_house_numbers(&home, &typo).level, Level::Far);
        assert_eq!(grade_cities(&home, &typo).level, Level::Missing);
        assert_eq!(grade_streets(&home, &[]).level, Level::Missing);
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
        let typo = [address(json!({"postal_code": "10116"}))];
        assert_eq!(grade_postal_codes(&a, &typo).level, Level::Close);
        let swapped = [address(json!({"postal_code": "10151"}))];
        assert_eq!(grade_postal_codes(&a, &swapped).level, Level::Close);
        let two_off = [address(json!({"postal_code": "10226"}))];
        assert_eq!(grade_postal_codes(&a, &two_off).level, Level::Far);
        assert_eq!(grade_postal_codes(&a, &[]).level, Level::Missing);
    }
}
