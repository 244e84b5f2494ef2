//! Identifiers issued by an authority: VAT and tax IDs, D-U-N-S numbers, GTINs. Two different
//! values of one of these are strong evidence of two different parties or products.

use super::{Graded, Level};

/// A tax ID split into its VAT country prefix (when known) and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxId {
    /// The VAT prefix (`DE`, `EL` for Greece, `CHE` for Switzerland), from the value itself or
    /// from the record's country.
    pub prefix: Option<&'static str>,
    /// Upper-case letters and digits after the prefix, a trailing `MWST`/`TVA`/`IVA`/`MVA` taken
    /// off.
    pub body: String,
}

/// VAT prefixes by ISO country code (Greece uses `EL`, Switzerland `CHE`, Northern Ireland `XI`).
const VAT_PREFIXES: &[(&str, &str)] = &[
    ("AT", "AT"),
    ("BE", "BE"),
    ("BG", "BG"),
    ("CY", "CY"),
    ("CZ", "CZ"),
    ("DE", "DE"),
    ("DK", "DK"),
    ("EE", "EE"),
    ("GR", "EL"),
    ("ES", "ES"),
    ("FI", "FI"),
    ("FR", "FR"),
    ("HR", "HR"),
    ("HU", "HU"),
    ("IE", "IE"),
    ("IT", "IT"),
    ("LT", "LT"),
    ("LU", "LU"),
    ("LV", "LV"),
    ("MT", "MT"),
    ("NL", "NL"),
    ("PL", "PL"),
    ("PT", "PT"),
    ("RO", "RO"),
    ("SE", "SE"),
    ("SI", "SI"),
    ("SK", "SK"),
    ("GB", "GB"),
    ("XI", "XI"),
    ("NO", "NO"),
    ("CH", "CHE"),
];

/// Words some countries write after the VAT number.
const VAT_SUFFIXES: &[&str] = &["MWST", "TVA", "IVA", "MVA"];

impl TaxId {
    /// Parses a tax ID; `country` (ISO) supplies the prefix when the value has none.
    ///
    /// ```
    /// use concord::reconcile::compare::ids::TaxId;
    ///
    /// let with = TaxId::parse("DE 811.234.567", None).unwrap();
    /// let without = TaxId::parse("811234567", Some("DE")).unwrap();
    /// assert_eq!(with, without);
    /// assert_eq!(with.key(), "DE811234567");
    /// assert_eq!(TaxId::parse("DE1", Some("DE")).unwrap().key(), "DE1");
    /// let austrian = TaxId::parse("ATU10540274", None).unwrap();
    /// assert_eq!(austrian, TaxId::parse("10540274", Some("AT")).unwrap());
    /// ```
    pub fn parse(raw: &str, country: Option<&str>) -> Option<TaxId> {
        let mut clean: String = raw
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if let Some(suffix) = VAT_SUFFIXES.iter().find(|s| clean.ends_with(**s)) {
            clean.truncate(clean.len() - suffix.len());
        }
        let written = VAT_PREFIXES
            .iter()
            .map(|(_, prefix)| *prefix)
            .filter(|prefix| clean.len() > prefix.len() + 1)
            .find(|prefix| clean.starts_with(prefix))
            // However short, a number that starts with its own country's prefix carries it.
            .or_else(|| {
                country
                    .and_then(vat_prefix)
                    .filter(|p| clean.len() > p.len() && clean.starts_with(p))
            });
        let (prefix, mut body) = match written {
            Some(prefix) => (Some(prefix), clean[prefix.len()..].to_string()),
            None => (country.and_then(vat_prefix), clean),
        };
        // Austrian VAT numbers are `ATU` and eight digits; the `U` is often left out when the
        // number is written without its prefix.
        if prefix == Some("AT") && body.len() == 9 && body.starts_with('U') {
            body.remove(0);
        }

        (!body.is_empty()).then_some(TaxId { prefix, body })
    }

    /// The form stored as a match key: prefix and body.
    pub fn key(&self) -> String {
        format!("{}{}", self.prefix.unwrap_or_default(), self.body)
    }

    /// The same ID: equal bodies and no conflicting prefixes. A Spanish company's number (CIF)
    /// starts with a letter for its legal form; written without its prefix, the letter often
    /// goes with it, so `ESB12345678` and `12345678` read in Spain are the same.
    pub fn same(&self, other: &TaxId) -> bool {
        let prefixes_agree = match (self.prefix, other.prefix) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        prefixes_agree
            && (self.body == other.body
                || (self.prefix.or(other.prefix) == Some("ES")
                    && (cif_digits(&self.body) == Some(other.body.as_str())
                        || cif_digits(&other.body) == Some(self.body.as_str()))))
    }
}

/// The eight digits of a Spanish CIF written with its leading letter (`B12345678`).
fn cif_digits(body: &str) -> Option<&str> {
    let digits = body.strip_prefix(|c: char| c.is_ascii_alphabetic())?;
    (digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The VAT prefix of an ISO country code.
pub fn vat_prefix(country: &str) -> Option<&'static str> {
    let country = country.trim();
    VAT_PREFIXES
        .iter()
        .find(|(iso, _)| iso.eq_ignore_ascii_case(country))
        .map(|(_, prefix)| *prefix)
}

/// Grades two tax IDs: the same exact, both present and different far (a veto for the scorer).
pub fn grade_tax_ids(left: Option<&TaxId>, right: Option<&TaxId>) -> Graded {
    match (left, right) {
        (Some(l), Some(r)) if l.same(r) => Graded::new(Level::Exact, 1.0),
        (Some(_), Some(_)) => Graded::new(Level::Far, 0.0),
        _ => Graded::MISSING,
    }
}

/// Grades two identifiers already in one normal form: equal exact, different far.
pub fn grade_equal(left: Option<&str>, right: Option<&str>) -> Graded {
    match (left, right) {
        (Some(l), Some(r)) if l == r => Graded::new(Level::Exact, 1.0),
        (Some(_), Some(_)) => Graded::new(Level::Far, 0.0),
        _ => Graded::MISSING,
    }
}

/// A D-U-N-S number: nine digits once dashes and spaces are gone; `None` otherwise.
pub fn duns(raw: &str) -> Option<String> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '.'))
        .collect();
    (digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// A GTIN (GTIN-8, UPC-A, EAN-13 or GTIN-14) as GTIN-14 when its check digit is right; `None`
/// otherwise, so a mistyped barcode never matches another product.
///
/// ```
/// use concord::reconcile::compare::ids::gtin;
///
/// assert_eq!(gtin("4006381333931").as_deref(), Some("04006381333931"));
/// assert_eq!(gtin("4006381333932"), None);
/// ```
pub fn gtin(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    if !matches!(digits.len(), 8 | 12 | 13 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = format!("{digits:0>14}");
    let values: Vec<u32> = padded.bytes().map(|b| u32::from(b - b'0')).collect();
    let (payload, check) = values.split_at(13);
    let sum: u32 = payload
        .iter()
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { v * 3 } else { *v })
        .sum();
    (check.first() == Some(&((10 - sum % 10) % 10))).then_some(padded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tax(raw: &str, country: Option<&str>) -> Option<TaxId> {
        TaxId::parse(raw, country)
    }

    #[test]
    fn vat_with_or_without_prefix() {
        let written = tax("DE 811.234.567", None);
        let from_country = tax("811234567", Some("DE"));
        let unknown_country = tax("811234567", None);
        assert_eq!(
            grade_tax_ids(written.as_ref(), from_country.as_ref()).level,
            Level::Exact
        );
        assert_eq!(
            grade_tax_ids(written.as_ref(), unknown_country.as_ref()).level,
            Level::Exact
        );
        assert_eq!(
            grade_tax_ids(written.as_ref(), tax("AT811234567", None).as_ref()).level,
            Level::Far
        );
        assert_eq!(
            grade_tax_ids(written.as_ref(), tax("DE 999 999 999", None).as_ref()).level,
            Level::Far
        );
        assert_eq!(grade_tax_ids(written.as_ref(), None).level, Level::Missing);
    }

    #[test]
    fn country_specific_spellings() {
        assert_eq!(
            tax("094259216", Some("GR")).map(|t| t.key()).as_deref(),
            Some("EL094259216")
        );
        assert_eq!(
            tax("CHE-123.456.789 MWST", None)
                .map(|t| t.key())
                .as_deref(),
            Some("CHE123456789")
        );
        assert_eq!(
            tax("123.456.789", Some("CH")).map(|t| t.key()).as_deref(),
            Some("CHE123456789")
        );
        assert_eq!(
            tax("B12345678", Some("ES")).map(|t| t.key()).as_deref(),
            Some("ESB12345678")
        );
        assert_eq!(
            tax("ESB12345678", Some("ES")).map(|t| t.key()).as_deref(),
            Some("ESB12345678")
        );
        assert_eq!(tax("U12345678", Some("AT")), tax("ATU 12345678", None));
        let cif = tax("ESB12345678", None);
        assert_eq!(
            grade_tax_ids(cif.as_ref(), tax("12345678", Some("ES")).as_ref()).level,
            Level::Exact
        );
        assert_eq!(
            grade_tax_ids(cif.as_ref(), tax("12345679", Some("ES")).as_ref()).level,
            Level::Far
        );
        assert_eq!(
            grade_tax_ids(
                tax("DEB12345678", None).as_ref(),
                tax("12345678", Some("DE")).as_ref()
            )
            .level,
            Level::Far
        );
        assert_eq!(
            tax("12-3456789", Some("US")).map(|t| t.key()).as_deref(),
            Some("123456789")
        );
        assert_eq!(tax(" - ", Some("DE")), None);
    }

    #[test]
    fn duns_numbers() {
        assert_eq!(duns("15-048-3782").as_deref(), Some("150483782"));
        assert_eq!(duns("150 483 782").as_deref(), Some("150483782"));
        assert_eq!(duns("15048378"), None);
        assert_eq!(duns("15048378X"), None);
    }

    #[test]
    fn gtin_check_digits() {
        assert_eq!(gtin("4006381333931").as_deref(), Some("04006381333931"));
        assert_eq!(gtin("04006381333931").as_deref(), Some("04006381333931"));
        assert_eq!(gtin("036000291452").as_deref(), Some("00036000291452"));
        assert_eq!(gtin("96385074").as_deref(), Some("00000096385074"));
        assert_eq!(gtin("4006381333932"), None);
        assert_eq!(gtin("400638133393"), None);
        assert_eq!(gtin("abc"), None);
    }
}
