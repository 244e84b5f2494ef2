//! Phone numbers in E.164 (`+49301234567`), from international or national spellings.
//!
//! A small table of calling codes and trunk prefixes covers the countries Concord's users trade
//! with; a national number of a country not in it stays national digits, which still compare
//! equal to the same national spelling and by their last seven digits.

use super::{Graded, Level};

/// A country's calling code, the trunk prefix dialled before national numbers, and the
/// international call prefix when it is not `00`.
struct Dialling {
    country: &'static str,
    code: &'static str,
    trunk: &'static str,
    international: &'static str,
}

const fn d(
    country: &'static str,
    code: &'static str,
    trunk: &'static str,
    international: &'static str,
) -> Dialling {
    Dialling {
        country,
        code,
        trunk,
        international,
    }
}

/// Calling codes by ISO country code.
const DIALLING: &[Dialling] = &[
    d("DE", "49", "0", "00"),
    d("AT", "43", "0", "00"),
    d("CH", "41", "0", "00"),
    d("LI", "423", "", "00"),
    d("FR", "33", "0", "00"),
    d("BE", "32", "0", "00"),
    d("NL", "31", "0", "00"),
    d("LU", "352", "", "00"),
    d("IT", "39", "", "00"),
    d("ES", "34", "", "00"),
    d("PT", "351", "", "00"),
    d("GB", "44", "0", "00"),
    d("IE", "353", "0", "00"),
    d("DK", "45", "", "00"),
    d("SE", "46", "0", "00"),
    d("NO", "47", "", "00"),
    d("FI", "358", "0", "00"),
    d("IS", "354", "", "00"),
    d("PL", "48", "", "00"),
    d("CZ", "420", "", "00"),
    d("SK", "421", "0", "00"),
    d("HU", "36", "06", "00"),
    d("SI", "386", "0", "00"),
    d("HR", "385", "0", "00"),
    d("RO", "40", "0", "00"),
    d("BG", "359", "0", "00"),
    d("GR", "30", "", "00"),
    d("CY", "357", "", "00"),
    d("MT", "356", "", "00"),
    d("EE", "372", "", "00"),
    d("LV", "371", "", "00"),
    d("LT", "370", "8", "00"),
    d("TR", "90", "0", "00"),
    d("RU", "7", "8", "810"),
    d("UA", "380", "0", "00"),
    d("IL", "972", "0", "00"),
    d("AE", "971", "0", "00"),
    d("SA", "966", "0", "00"),
    d("ZA", "27", "0", "00"),
    d("IN", "91", "0", "00"),
    d("CN", "86", "0", "00"),
    d("HK", "852", "", "001"),
    d("TW", "886", "0", "002"),
    d("JP", "81", "0", "010"),
    d("KR", "82", "0", "001"),
    d("SG", "65", "", "000"),
    d("AU", "61", "0", "0011"),
    d("NZ", "64", "0", "00"),
    d("US", "1", "1", "011"),
    d("CA", "1", "1", "011"),
    d("MX", "52", "", "00"),
    d("BR", "55", "0", "00"),
    d("AR", "54", "0", "00"),
];

/// Shortest and longest number (digits after `+`) E.164 allows in practice.
const DIGITS: std::ops::RangeInclusive<usize> = 7..=15;

/// A phone number for comparison: E.164 when the country is known or the number says it,
/// otherwise its national digits; `None` when too few or too many digits remain.
///
/// ```
/// use concord::reconcile::compare::phone::normalize;
///
/// assert_eq!(normalize("+49 30 1234567", None).as_deref(), Some("+49301234567"));
/// assert_eq!(normalize("030/1234567", Some("DE")).as_deref(), Some("+49301234567"));
/// assert_eq!(normalize("0049 (0)30 1234567", Some("FR")).as_deref(), Some("+49301234567"));
/// assert_eq!(normalize("030/1234567", None).as_deref(), Some("0301234567"));
/// ```
pub fn normalize(raw: &str, country: Option<&str>) -> Option<String> {
    let number = raw
        .split(['x', 'X', '#', ';', ','])
        .next()
        .unwrap_or_default()
        .replace("(0)", "")
        .to_ascii_lowercase();
    let number = number.split("ext").next().unwrap_or_default().trim();
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let dialling = country.and_then(|c| {
        DIALLING
            .iter()
            .find(|d| d.country.eq_ignore_ascii_case(c.trim()))
    });
    let international = if number.starts_with('+') {
        Some(digits.as_str())
    } else if let Some(rest) = digits.strip_prefix(dialling.map_or("00", |d| d.international)) {
        Some(rest)
    } else {
        digits.strip_prefix("00")
    };
    let e164 = match (international, dialling) {
        (Some(rest), _) => format!("+{rest}"),
        (None, Some(d)) => {
            let national = if d.trunk.is_empty() {
                digits.as_str()
            } else {
                digits.strip_prefix(d.trunk).unwrap_or(&digits)
            };
            format!("+{}{national}", d.code)
        }
        (None, None) => return DIGITS.contains(&digits.len()).then_some(digits),
    };
    DIGITS.contains(&(e164.len() - 1)).then_some(e164)
}

/// The last seven digits: the subscriber part two spellings of one line share even when one
/// of them has a wrong or missing area code.
pub fn last_seven(number: &str) -> &str {
    &number[number.len().saturating_sub(7)..]
}

/// Grades two phone lists: a number in common exact, the same last seven digits close.
pub fn grade_phones(left: &[String], right: &[String]) -> (Graded, usize, usize) {
    if left.is_empty() || right.is_empty() {
        return (Graded::MISSING, 0, 0);
    }
    let mut best = (Graded::new(Level::Far, 0.0), 0, 0);
    for (i, l) in left.iter().enumerate() {
        for (j, r) in right.iter().enumerate() {
            if l == r {
                return (Graded::new(Level::Exact, 1.0), i, j);
            }
            if best.0.level == Level::Far && last_seven(l) == last_seven(r) {
                best = (Graded::new(Level::Close, 0.5), i, j);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_german_number() {
        for raw in [
            "+49 30 1234567",
            "+49 (0)30 1234567",
            "0049 30 1234567",
            "030/1234567",
            "030 123 45 67",
            "(030) 1234567 ext. 12",
        ] {
            assert_eq!(
                normalize(raw, Some("DE")).as_deref(),
                Some("+49301234567"),
                "{raw}"
            );
        }
    }

    #[test]
    fn countries_without_trunk_prefix_and_nanp() {
        assert_eq!(
            normalize("06 1234 5678", Some("IT")).as_deref(),
            Some("+390612345678")
        );
        assert_eq!(
            normalize("(212) 555-0100", Some("US")).as_deref(),
            Some("+12125550100")
        );
        assert_eq!(
            normalize("1-212-555-0100", Some("US")).as_deref(),
            Some("+12125550100")
        );
        assert_eq!(
            normalize("011 49 30 1234567", Some("US")).as_deref(),
            Some("+49301234567")
        );
        assert_eq!(
            normalize("8 495 123-45-67", Some("RU")).as_deref(),
            Some("+74951234567")
        );
    }

    #[test]
    fn junk_is_no_number() {
        assert_eq!(normalize("n/a", Some("DE")), None);
        assert_eq!(normalize("12", None), None);
        assert_eq!(normalize("+1234567890123456789", None), None);
    }

    #[test]
    fn grading() {
        let berlin = vec!["+49301234567".to_string()];
        let munich = vec!["+49891234567".to_string(), "+4915112345678".to_string()];
        assert_eq!(grade_phones(&berlin, &berlin).0.level, Level::Exact);
        assert_eq!(grade_phones(&berlin, &munich).0.level, Level::Close);
        assert_eq!(grade_phones(&berlin, &munich[1..]).0.level, Level::Far);
        assert_eq!(grade_phones(&berlin, &[]).0.level, Level::Missing);
    }
}
