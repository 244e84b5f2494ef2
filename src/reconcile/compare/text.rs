//! Text folding and string similarity shared by every comparator.
//!
//! Folded text is plain lower-case ASCII words separated by single spaces, so that two systems'
//! spellings of one name — accents, umlauts written out, Cyrillic or Chinese script, punctuation —
//! become comparable byte strings.

use deunicode::deunicode_char;

/// Folds `raw` for comparison: German umlauts written out (`ü` → `ue`, `ß` → `ss`, as German
/// systems without umlauts spell them), other letters transliterated to ASCII, lower case, dots
/// of single-letter abbreviations joined (`G.m.b.H.` → `gmbh`, `S.p.A.` → `spa`), apostrophes
/// dropped (`O'Brien` → `obrien`), any other punctuation a word break.
///
/// ```
/// use concord::reconcile::compare::text::fold;
///
/// assert_eq!(fold("Müller G.m.b.H."), "mueller gmbh");
/// assert_eq!(fold("  O'Brien & Söhne, Inc. "), "obrien soehne inc");
/// ```
pub fn fold(raw: &str) -> String {
    let mut folder = Folder {
        out: String::with_capacity(raw.len() + 4),
        segment: 0,
    };
    for c in raw.chars() {
        folder.push(c);
    }
    if folder.out.ends_with(' ') {
        folder.out.pop();
    }
    folder.out
}

/// Builds folded text one character at a time.
struct Folder {
    out: String,
    /// Letters since the last dot or word break: a dot after a single letter is an abbreviation.
    segment: usize,
}

impl Folder {
    fn push(&mut self, c: char) {
        if c.is_ascii() {
            self.push_ascii(c);
            return;
        }
        let written_out = match c {
            'ä' | 'Ä' => "ae",
            'ö' | 'Ö' => "oe",
            'ü' | 'Ü' => "ue",
            'ß' | 'ẞ' => "ss",
            '\u{2019}' | '\u{2018}' | '\u{00b4}' => "'",
            _ => deunicode_char(c).unwrap_or(" "),
        };
        for a in written_out.chars() {
            self.push_ascii(a);
        }
    }

    fn push_ascii(&mut self, c: char) {
        match c {
            _ if c.is_ascii_alphanumeric() => {
                self.out.push(c.to_ascii_lowercase());
                self.segment += 1;
            }
            '\'' | '`' => {}
            '.' if self.segment == 1 => self.segment = 0,
            _ => {
                self.segment = 0;
                if !self.out.is_empty() && !self.out.ends_with(' ') {
                    self.out.push(' ');
                }
            }
        }
    }
}

/// Whether two folded texts are the same once German umlauts are read alike whether they were
/// written out or their dots dropped: `mueller` and `muller` (from `Müller`, by a system that
/// writes umlauts out and one that strips accents), `zuercher` and `zurcher`. Compares the texts
/// without every `e` that follows an `a`, `o` or `u`, without allocating.
pub fn same_but_umlauts(a: &str, b: &str) -> bool {
    fn skeleton(text: &str) -> impl Iterator<Item = u8> + '_ {
        let bytes = text.as_bytes();
        bytes.iter().enumerate().filter_map(move |(i, &c)| {
            let written_out = c == b'e' && i > 0 && matches!(bytes[i - 1], b'a' | b'o' | b'u');
            (!written_out).then_some(c)
        })
    }
    skeleton(a).eq(skeleton(b))
}

/// Jaro-Winkler similarity in `0..=1` (standard prefix scale 0.1, up to 4 characters, applied
/// above a Jaro similarity of 0.7). Folded text is ASCII, so this works on bytes without
/// allocating; longer or non-ASCII strings go to `strsim`.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x.len() > MAX_FAST || y.len() > MAX_FAST || !a.is_ascii() || !b.is_ascii() {
        return strsim::jaro_winkler(a, b);
    }
    let jaro = jaro(x, y);
    if jaro <= 0.7 {
        return jaro;
    }
    let prefix = x.iter().zip(y).take(4).take_while(|(p, q)| p == q).count();
    jaro + prefix as f64 * 0.1 * (1.0 - jaro)
}

/// Longest string the allocation-free Jaro handles.
const MAX_FAST: usize = 64;

fn jaro(a: &[u8], b: &[u8]) -> f64 {
    if a == b {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_matched = [false; MAX_FAST];
    let mut b_matched = [false; MAX_FAST];
    let mut matches = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        let low = i.saturating_sub(window);
        let high = (i + window + 1).min(b.len());
        for j in low..high {
            if !b_matched[j] && b[j] == ca {
                b_matched[j] = true;
                a_matched[i] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transposed = 0usize;
    let mut in_b = b
        .iter()
        .zip(b_matched.iter())
        .filter(|(_, m)| **m)
        .map(|(c, _)| c);
    for (ca, _) in a.iter().zip(a_matched.iter()).filter(|(_, m)| **m) {
        if in_b.next() != Some(ca) {
            transposed += 1;
        }
    }
    let m = matches as f64;
    let t = (transposed / 2) as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - t) / m) / 3.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_writes_out_umlauts_and_transliterates() {
        assert_eq!(fold("Müller"), fold("MUELLER"));
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Société Générale"), "societe generale");
        assert_eq!(fold("Łódź"), "lodz");
        assert_eq!(fold("Газпром"), "gazprom");
        assert_eq!(fold("北京"), "bei jing");
    }

    #[test]
    fn folding_joins_single_letter_abbreviations_only() {
        assert_eq!(fold("S.p.A."), "spa");
        assert_eq!(fold("B.V."), "bv");
        assert_eq!(fold("Co.KG"), "co kg");
        assert_eq!(fold("Hauptstr.5"), "hauptstr 5");
        assert_eq!(fold("A. Schmidt"), "a schmidt");
        assert_eq!(fold("--"), "");
    }

    #[test]
    fn umlauts_written_out_or_stripped_are_alike() {
        assert!(same_but_umlauts(&fold("Müller"), &fold("Muller")));
        assert!(same_but_umlauts(&fold("Südstahl"), &fold("Sudstahl")));
        assert!(same_but_umlauts("zuercherstr", "zurcherstr"));
        assert!(!same_but_umlauts("mueller", "miller"));
        assert!(!same_but_umlauts("muller", "mullers"));
    }

    #[test]
    fn jaro_winkler_matches_the_reference_values() {
        for (a, b) in [
            ("martha", "marhta"),
            ("dwayne", "duane"),
            ("dixon", "dicksonx"),
            ("hauptstr", "hauptstrasse"),
            ("acme", "acme holding"),
            ("", "x"),
            ("abc", "abc"),
        ] {
            let ours = jaro_winkler(a, b);
            let reference = strsim::jaro_winkler(a, b);
            assert!(
                (ours - reference).abs() < 1e-9,
                "{a} / {b}: {ours} vs {reference}"
            );
        }
        assert!((jaro_winkler("martha", "marhta") - 0.9611).abs() < 1e-4);
    }
}
