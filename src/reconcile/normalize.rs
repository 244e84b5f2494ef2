//! Normalizers for match keys: two spellings of the same identifier must become one value.

use serde_json::Value;

use super::compare::{ids, phone};
use crate::model::Fields;

/// Normalizes the value of `field` for exact matching; `None` when nothing usable remains (an
/// empty or all-punctuation value, a GTIN with a wrong check digit, a D-U-N-S number without
/// nine digits never matches anything).
///
/// ```
/// use concord::reconcile::normalize::match_value;
///
/// // Three systems, three spellings of one VAT number: one match key.
/// assert_eq!(match_value("tax_id", "DE 811 234 567").as_deref(), Some("DE811234567"));
/// assert_eq!(match_value("tax_id", "de811234567").as_deref(), Some("DE811234567"));
/// assert_eq!(match_value("emails", " Anna.Schmidt@Web.de ").as_deref(), Some("anna.schmidt@web.de"));
/// assert_eq!(match_value("gtin", "4006381333931").as_deref(), Some("04006381333931"));
/// assert_eq!(match_value("gtin", "4006381333932"), None);
/// assert_eq!(match_value("tax_id", " - "), None);
/// ```
pub fn match_value(field: &str, raw: &str) -> Option<String> {
    match_value_in(field, raw, None)
}

/// Like [`match_value`], reading national spellings in the record's `country` (ISO code, see
/// [`record_country`]): a VAT number without prefix gets the country's (`811234567` in DE is
/// `DE811234567`), a national phone number becomes E.164 (`030/1234567` in DE is
/// `+49301234567`).
///
/// ```
/// use concord::reconcile::normalize::match_value_in;
///
/// assert_eq!(
///     match_value_in("tax_id", "811.234.567", Some("DE")),
///     match_value_in("tax_id", "DE 811 234 567", None)
/// );
/// assert_eq!(
///     match_value_in("phones", "030/1234567", Some("DE")).as_deref(),
///     Some("+49301234567")
/// );
/// ```
pub fn match_value_in(field: &str, raw: &str, country: Option<&str>) -> Option<String> {
    match field {
        "tax_id" => ids::TaxId::parse(raw, country).map(|id| id.key()),
        "emails" | "email" => Some(email(raw)).filter(|v| !v.is_empty()),
        "phones" | "phone" => phone::normalize(raw, country),
        "gtin" => ids::gtin(raw),
        "duns" => ids::duns(raw),
        _ => Some(text(raw)).filter(|v| !v.is_empty()),
    }
}

/// The country national spellings in a record are read in: the first address's with one.
pub fn record_country(record: &Fields) -> Option<&str> {
    record
        .get("addresses")?
        .as_array()?
        .iter()
        .filter_map(|address| address.get("country").and_then(Value::as_str))
        .map(str::trim)
        .find(|country| !country.is_empty())
}

/// Email addresses compare case-insensitively as a whole (providers ignore case in practice).
fn email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// Anything else: trimmed, lower case, runs of whitespace as one space.
fn text(raw: &str) -> String {
    raw.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_ids_ignore_case_spaces_and_punctuation() {
        assert_eq!(
            match_value("tax_id", "de 123.456-789"),
            Some("DE123456789".into())
        );
        assert_eq!(
            match_value("tax_id", "DE123456789"),
            Some("DE123456789".into())
        );
        assert_eq!(match_value("tax_id", " - "), None);
    }

    #[test]
    fn emails_ignore_case_and_padding() {
        assert_eq!(
            match_value("emails", " Info@Mueller.DE "),
            Some("info@mueller.de".into())
        );
    }

    #[test]
    fn phones_keep_digits_and_plus() {
        assert_eq!(
            match_value("phones", "+49 (89) 123-45"),
            Some("+498912345".into())
        );
        assert_eq!(match_value("phones", "089 12345"), Some("08912345".into()));
    }

    #[test]
    fn gtins_compare_as_gtin14() {
        assert_eq!(
            match_value("gtin", "4006381333931"),
            Some("04006381333931".into())
        );
        assert_eq!(
            match_value("gtin", "04006381333931"),
            Some("04006381333931".into())
        );
    }

    #[test]
    fn vat_numbers_take_the_record_country_as_prefix() {
        let written = match_value("tax_id", "DE 811.234.567");
        assert_eq!(match_value_in("tax_id", "811234567", Some("DE")), written);
        assert_eq!(match_value_in("tax_id", "811234567", Some("de ")), written);
        assert_eq!(match_value_in("tax_id", "DE811234567", Some("AT")), written);
        assert_eq!(
            match_value_in("tax_id", "094259216", Some("GR")).as_deref(),
            Some("EL094259216")
        );
        assert_eq!(
            match_value("tax_id", "811234567").as_deref(),
            Some("811234567")
        );
    }

    #[test]
    fn phones_become_e164_in_the_record_country() {
        assert_eq!(
            match_value_in("phones", "030/1234567", Some("DE")),
            match_value("phones", "+49 30 1234567")
        );
        assert_eq!(
            match_value("phones", "0049 30 1234567").as_deref(),
            Some("+49301234567")
        );
        assert_eq!(match_value_in("phones", "n/a", Some("DE")), None);
    }

    #[test]
    fn gtins_with_a_wrong_check_digit_and_bad_duns_give_no_key() {
        assert_eq!(match_value("gtin", "4006381333932"), None);
        assert_eq!(match_value("gtin", "40063813339"), None);
        assert_eq!(
            match_value("duns", "15-048-3782").as_deref(),
            Some("150483782")
        );
        assert_eq!(match_value("duns", "15 048 378"), None);
    }

    #[test]
    fn the_record_country_is_the_first_address_with_one() {
        let record = serde_json::json!({"addresses": [{"city": "Wien"}, {"country": " AT "}]});
        assert_eq!(record.as_object().and_then(record_country), Some("AT"));
        let none = serde_json::json!({"addresses": "Wien"});
        assert_eq!(none.as_object().and_then(record_country), None);
    }

    #[test]
    fn other_fields_compare_as_folded_text() {
        assert_eq!(match_value("sku", "  Ab-100   X "), Some("ab-100 x".into()));
        assert_eq!(match_value("sku", "   "), None);
    }
}
