//! Abbreviated words in names, as people shorten long words typing a company into an ERP field
//! of limited length: `Mainfranken Fördertechn.`, `Wagner Masch.-Bau`, `Bodensee Maschb.`,
//! `Kingsley Engg`, `Acme Mfg`.
//!
//! A word of two letters or more ended with a period is cut from a longer word; a cut word
//! joined by `.-` to the next one shortens a compound (`Masch.-Bau` for `Maschinenbau`). A few
//! business abbreviations are conventionally written without a period. An abbreviation stands
//! for a longer word that starts with its first letter and holds its letters in order.

use std::borrow::Cow;

use super::text::fold;

/// Business abbreviations written without a period (folded).
const WITHOUT_PERIOD: &[&str] = &[
    "engg", "mfg", "mgmt", "intl", "natl", "svcs", "bros", "assoc",
];

/// Shortest abbreviation that is read as one: a two-letter cut (`Co.`, `St.`) could stand for
/// too many words.
const MIN_LEN: usize = 3;

/// The raw name with each compound shortened as `Masch.-Bau` written as one word
/// (`MaschBau`), and the folded words of it that are abbreviations written with a period.
pub fn mark(raw: &str) -> (Cow<'_, str>, Vec<String>) {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(raw.len());
    let mut found = Vec::new();
    let mut word = String::new();
    // The word began as a compound's cut first part (`Masch.-`).
    let mut compound = false;
    let mut joined_any = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() {
            word.push(c);
            out.push(c);
            i += 1;
            continue;
        }
        let cut = c == '.' && word.chars().count() >= 2;
        if cut
            && chars.get(i + 1) == Some(&'-')
            && chars.get(i + 2).is_some_and(|n| n.is_alphabetic())
        {
            compound = true;
            joined_any = true;
            i += 2;
            continue;
        }
        if cut || (compound && !word.is_empty()) {
            found.push(fold(&word));
        }
        compound = false;
        word.clear();
        out.push(c);
        i += 1;
    }
    if compound && !word.is_empty() {
        found.push(fold(&word));
    }
    let text = if joined_any {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(raw)
    };
    (text, found)
}

/// Whether a folded word is an abbreviation without its period (`engg`, `mfg`).
pub fn conventional(word: &str) -> bool {
    WITHOUT_PERIOD.contains(&word)
}

/// Whether the abbreviation `short` stands for the folded word `long`: longer, the same first
/// letter, and every letter of `short` in `long` in order (`foerdertechn` → `foerdertechnik`,
/// `maschb` → `maschinenbau`, `engg` → `engineering`).
pub fn abbreviates(short: &str, long: &str) -> bool {
    if short.len() < MIN_LEN
        || long.len() <= short.len()
        || short.as_bytes()[0] != long.as_bytes()[0]
    {
        return false;
    }
    let mut rest = long.bytes();
    short.bytes().all(|c| rest.any(|l| l == c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(raw: &str) -> (String, Vec<String>) {
        let (text, found) = mark(raw);
        (text.into_owned(), found)
    }

    #[test]
    fn a_word_cut_with_a_period_is_an_abbreviation() {
        assert_eq!(
            marked("Mainfranken Fördertechn."),
            (
                "Mainfranken Fördertechn.".into(),
                vec!["foerdertechn".into()]
            )
        );
        assert_eq!(marked("Bodensee Maschb. GmbH").1, vec!["maschb"]);
        // Single letters with periods are initials or a legal form, not cut words.
        assert!(marked("Müller G.m.b.H.").1.is_empty());
        assert!(marked("Eifel e. K.").1.is_empty());
    }

    #[test]
    fn a_compound_shortened_with_a_period_and_hyphen_is_one_word() {
        assert_eq!(
            marked("Wagner Masch.-Bau GmbH"),
            ("Wagner MaschBau GmbH".into(), vec!["maschbau".into()])
        );
        assert_eq!(
            marked("masch.-bau"),
            ("maschbau".into(), vec!["maschbau".into()])
        );
        // A hyphen after a whole word joins nothing.
        assert_eq!(marked("Robert-Bosch GmbH").0, "Robert-Bosch GmbH");
    }

    #[test]
    fn an_abbreviation_stands_for_a_longer_word_with_its_letters_in_order() {
        assert!(abbreviates("foerdertechn", "foerdertechnik"));
        assert!(abbreviates("maschb", "maschinenbau"));
        assert!(abbreviates("maschbau", "maschinenbau"));
        assert!(abbreviates("engg", "engineering"));
        assert!(abbreviates("mfg", "manufacturing"));
        assert!(abbreviates("distr", "distribution"));
        assert!(!abbreviates("distr", "industrie"));
        assert!(!abbreviates("masch", "masch"));
        assert!(!abbreviates("co", "company"));
        assert!(!abbreviates("mfg", "engineering"));
    }

    #[test]
    fn some_abbreviations_are_written_without_a_period() {
        assert!(conventional("engg") && conventional("mfg") && conventional("intl"));
        assert!(!conventional("engineering") && !conventional("tech"));
    }
}
