//! Units of measure: every system spells "piece" its own way (`pcs`, `PCE`, `ST`, `Stück`,
//! `EA`, UN/ECE `H87`/`C62`).

use super::text::fold;

/// A unit in one spelling: a known unit as its canonical code (`pc`, `kg`, `m`, ...), any other
/// unit folded; `None` when empty.
///
/// ```
/// use concord::reconcile::compare::unit::normalize;
///
/// assert_eq!(normalize("PCE").as_deref(), Some("pc"));
/// assert_eq!(normalize("Stück").as_deref(), Some("pc"));
/// assert_eq!(normalize("KGM").as_deref(), Some("kg"));
/// ```
pub fn normalize(raw: &str) -> Option<String> {
    let folded = fold(raw).replace(' ', "");
    if folded.is_empty() {
        return None;
    }
    let canonical = UNITS
        .iter()
        .find(|(_, spellings)| spellings.contains(&folded.as_str()))
        .map(|(code, _)| (*code).to_string());
    Some(canonical.unwrap_or(folded))
}

/// Canonical unit codes and their spellings (folded: lower case, no spaces or dots).
const UNITS: &[(&str, &[&str])] = &[
    (
        "pc",
        &[
            "pc", "pcs", "pce", "piece", "pieces", "st", "stk", "stck", "stueck", "ea", "each",
            "unit", "units", "h87", "c62", "pz", "pza", "un", "unid", "u",
        ],
    ),
    (
        "kg",
        &[
            "kg",
            "kgs",
            "kgm",
            "kilo",
            "kilos",
            "kilogram",
            "kilogramm",
            "kilograms",
        ],
    ),
    ("g", &["g", "gr", "grm", "gram", "gramm", "grams"]),
    ("t", &["t", "to", "tne", "tonne", "tonnes", "ton"]),
    ("lb", &["lb", "lbs", "lbr", "pound", "pounds"]),
    (
        "l",
        &["l", "lt", "ltr", "liter", "litre", "liters", "litres"],
    ),
    ("ml", &["ml", "mlt", "milliliter", "millilitre"]),
    (
        "m",
        &["m", "mtr", "meter", "metre", "meters", "metres", "lfm"],
    ),
    ("cm", &["cm", "cmt", "centimeter", "centimetre"]),
    ("mm", &["mm", "mmt", "millimeter", "millimetre"]),
    ("m2", &["m2", "mtk", "qm", "sqm", "squaremeter"]),
    ("m3", &["m3", "mtq", "cbm", "cubicmeter"]),
    (
        "h",
        &[
            "h", "hr", "hrs", "hur", "hour", "hours", "std", "stunde", "stunden",
        ],
    ),
    ("pair", &["pair", "pairs", "pr", "paar"]),
    ("set", &["set", "sets", "satz"]),
    (
        "pack",
        &["pack", "pk", "pkt", "pak", "pck", "packung", "package"],
    ),
    (
        "box",
        &["box", "bx", "boxes", "karton", "ctn", "carton", "ct"],
    ),
    ("roll", &["roll", "rolls", "rl", "ro", "rolle"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_piece_are_one_unit() {
        for raw in ["pcs", "PCE", "ST", "Stück", "piece", "EA", "H87", "Stk."] {
            assert_eq!(normalize(raw).as_deref(), Some("pc"), "{raw}");
        }
        assert_eq!(normalize("Kilogramm").as_deref(), Some("kg"));
        assert_eq!(normalize("m²").as_deref(), Some("m2"));
        assert_eq!(normalize("Fass").as_deref(), Some("fass"));
        assert_eq!(normalize(" "), None);
    }
}
