//! Normalizers for match keys: two spellings of the same identifier must become one value.

/// Normalizes the value of `field` for exact matching; `None` when nothing usable remains (an
/// empty or all-punctuation value never matches anything).
///
/// ```
/// use concord::reconcile::normalize::match_value;
///
/// // Three systems, three spellings of one VAT number: one match key.
/// assert_eq!(match_value("tax_id", "DE 811 234 567").as_deref(), Some("DE811234567"));
/// assert_eq!(match_value("tax_id", "de811234567").as_deref(), Some("DE811234567"));
/// assert_eq!(match_value("emails", " Anna.Schmidt@Web.de ").as_deref(), Some("anna.schmidt@web.de"));
/// assert_eq!(match_value("gtin", "4006383100104").as_deref(), Some("04006383100104"));
/// assert_eq!(match_value("tax_id", " - "), None);
/// ```
pub fn match_value(field: &str, raw: &str) -> Option<String> {
    let value = match field {
        "tax_id" => tax_id(raw),
        "emails" | "email" => email(raw),
        "phones" | "phone" => phone(raw),
        "gtin" => gtin(raw),
        _ => text(raw),
    };
    (!value.is_empty()).then_some(value)
}

/// Tax IDs and VAT numbers: `de 123.456-789` and `DE123456789` are one ID.
fn tax_id(raw: &str) -> String {
    raw.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Email addresses compare case-insensitively as a whole (providers ignore case in practice).
fn email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// Phone numbers compare by their digits, keeping an international `+`.
fn phone(raw: &str) -> String {
    let trimmed = raw.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if trimmed.starts_with('+') && !digits.is_empty() {
        format!("+{digits}")
    } else {
        digits
    }
}

/// GTINs of any length (8, 12, 13, 14 digits) compare as GTIN-14.
fn gtin(raw: &str) -> String {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 14 {
        return digits;
    }
    format!("{digits:0>14}")
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
    fn other_fields_compare_as_folded_text() {
        assert_eq!(match_value("sku", "  Ab-100   X "), Some("ab-100 x".into()));
        assert_eq!(match_value("sku", "   "), None);
    }
}
