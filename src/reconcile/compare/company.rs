//! Company names: the legal form taken out and named, the rest compared as a set of words.
//!
//! A parent and its subsidiary often differ only by one word ("Acme Holding GmbH" and
//! "Acme GmbH") or by their legal form ("Acme AG" and "Acme GmbH"). Both are kept as
//! evidence: the extra word makes the names [`Level::Far`](super::Level::Far) — a word that
//! one name has and the other lacks is not a typo — and the legal form is compared on its own.
//! Every word must therefore find its partner in the other name: the same word (umlauts
//! written out or not), an abbreviation of it (`Fördertechn.`, `Engg`), or the word misspelt.

use std::sync::LazyLock;

use super::abbreviation::{self, abbreviates};
use super::person::one_edit_apart;
use super::text::{fold, jaro_winkler, same_but_umlauts};
use super::{Graded, Level};

/// A company name prepared for comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompanyName {
    /// Folded words without the legal form and filler words, sorted, each once.
    pub tokens: Vec<String>,
    /// `tokens` joined by spaces: the form shown and compared as a whole.
    pub joined: String,
    /// The words in their original order without spaces, so "Data Tec" equals "DataTec".
    pub compact: String,
    /// The legal form's canonical code (`gmbh`, `ltd`, `inc`, ...).
    pub legal_form: Option<&'static str>,
    /// Which of `tokens` (by index, the first sixteen) are abbreviations.
    pub abbreviated: u16,
    /// The last words of a name without a legal form, in their order, when they are a legal
    /// form mistyped beyond what is read as one alone (`Thames Packaging LTTD`, `Acme SG`,
    /// `Gedellschafft mbH`): read as that form when the other name has it.
    pub form_typo: String,
}

/// Similarity from which two different names count as [`Level::Close`].
pub const CLOSE: f64 = 0.90;

/// Similarity from which a word is the other name's word misspelt (the whole name must still
/// be [`CLOSE`]).
const WORD_TYPO: f64 = 0.80;

impl CompanyName {
    /// Prepares a raw name; CJK legal forms are taken off before transliteration, which would
    /// otherwise spell them out as syllables.
    pub fn new(raw: &str) -> CompanyName {
        CompanyName::in_city(raw, None)
    }

    /// Prepares a raw name of a company in `city`. A Chinese company name starts with the place
    /// it is registered in (`深圳市金盛科技有限公司`), which systems often leave out or shorten
    /// (`金盛科技`, `深圳金盛科技`): a leading city name in CJK script is taken off, so that
    /// the name proper is compared.
    pub fn in_city(raw: &str, city: Option<&str>) -> CompanyName {
        let (rest, cjk_form) = strip_cjk_form(raw.trim());
        let rest = city.map_or(rest, |city| strip_cjk_city(rest, city));
        let (rest, cut_words) = abbreviation::mark(rest);
        let folded = fold(&rest);
        let mut words: Vec<&str> = folded
            .split(' ')
            .filter(|w| !w.is_empty() && !FILLER.contains(w))
            .collect();
        let legal_form = cjk_form.or_else(|| take_legal_form(&mut words));
        let form_typo = match legal_form {
            None => mistyped_form_tail(&words).join(" "),
            Some(_) => String::new(),
        };
        let mut name = CompanyName::from_words(&words, legal_form);
        name.form_typo = form_typo;
        name.abbreviated = abbreviations(&name.tokens, &cut_words);
        name
    }

    /// A name from its words in order, the legal form already taken off.
    fn from_words(words: &[&str], legal_form: Option<&'static str>) -> CompanyName {
        let compact = words.concat();
        let mut tokens: Vec<String> = words.iter().map(|w| (*w).to_string()).collect();
        tokens.sort_unstable();
        tokens.dedup();
        let joined = tokens.join(" ");
        CompanyName {
            tokens,
            joined,
            compact,
            legal_form,
            abbreviated: 0,
            form_typo: String::new(),
        }
    }

    /// Whether token `index` is an abbreviation.
    fn is_abbreviated(&self, index: usize) -> bool {
        index < 16 && self.abbreviated & (1 << index) != 0
    }

    /// This name without its last words read as the mistyped legal form `code`, when they can
    /// be read so.
    fn without_form_typo(&self, code: &str) -> Option<CompanyName> {
        if self.legal_form.is_some() || self.form_typo.is_empty() {
            return None;
        }
        let tail: Vec<&str> = self.form_typo.split(' ').collect();
        let taken = (1..=tail.len()).rev().find(|&taken| {
            let cut = tail[tail.len() - taken..].concat();
            JOINED_FORMS
                .iter()
                .any(|form| form.code == code && is_form_typo(&cut, form))
        })?;
        let cut = tail[tail.len() - taken..].concat();
        let kept = self.compact.strip_suffix(cut.as_str())?;
        let mut tokens = self.tokens.clone();
        for word in &tail[tail.len() - taken..] {
            if let Some(at) = tokens.iter().position(|t| t == word) {
                tokens.remove(at);
            }
        }
        if tokens.is_empty() {
            return None;
        }
        let cut_words: Vec<String> = (0..self.tokens.len())
            .filter(|&i| self.is_abbreviated(i))
            .map(|i| self.tokens[i].clone())
            .collect();
        let abbreviated = abbreviations(&tokens, &cut_words);
        Some(CompanyName {
            joined: tokens.join(" "),
            tokens,
            compact: kept.to_string(),
            legal_form: Some(SUFFIX_FORMS.iter().find(|(_, c)| *c == code)?.1),
            abbreviated,
            form_typo: String::new(),
        })
    }

    /// Grades two names: the same words (in any order, abbreviated or spelt out) are exact; a
    /// similar name whose every word is the other's misspelt close; a word without a partner
    /// far. Where one name ends in what is the other's legal form mistyped, it is compared
    /// without it.
    pub fn grade(&self, other: &CompanyName) -> Graded {
        let graded = self.grade_words(other);
        if graded.level <= Level::Exact {
            return graded;
        }
        let stripped = match (self.legal_form, other.legal_form) {
            (None, Some(code)) => self.without_form_typo(code).map(|s| s.grade_words(other)),
            (Some(code), None) => other.without_form_typo(code).map(|o| self.grade_words(&o)),
            _ => None,
        };
        match stripped {
            Some(better) if better.level < graded.level => better,
            _ => graded,
        }
    }

    /// [`CompanyName::grade`] of the words as they are.
    fn grade_words(&self, other: &CompanyName) -> Graded {
        if self.tokens.is_empty() || other.tokens.is_empty() {
            return Graded::MISSING;
        }
        if self.tokens == other.tokens
            || self.compact == other.compact
            || same_but_umlauts(&self.compact, &other.compact)
        {
            return Graded::new(Level::Exact, 1.0);
        }
        let (pairing, mine) = self.pair_words(other);
        let (theirs_pairing, theirs) = other.pair_words(self);
        let pairing = pairing.max(theirs_pairing);
        if pairing == Pairing::Same {
            return Graded::new(Level::Exact, 1.0);
        }
        let whole = jaro_winkler(&self.joined, &other.joined);
        // Word by word, an abbreviation counting as its word: `Grnsite Mfg` is as close to
        // `Granite Manufacturing` as its one typo makes it.
        let by_words = (mine + theirs) / (self.tokens.len() + other.tokens.len()) as f64;
        let similarity = whole.max(by_words);
        let level = if pairing == Pairing::Typos && similarity >= CLOSE {
            Level::Close
        } else {
            Level::Far
        };
        Graded::new(level, similarity)
    }

    /// How every word of this name finds a partner among `other`'s words, and the sum of each
    /// word's similarity to its best partner (1 for the same word or its abbreviation).
    fn pair_words(&self, other: &CompanyName) -> (Pairing, f64) {
        let mut pairing = Pairing::Same;
        let mut total = 0.0;
        for (i, word) in self.tokens.iter().enumerate() {
            let mut best = 0.0f64;
            for (j, theirs) in other.tokens.iter().enumerate() {
                let same = word == theirs
                    || same_but_umlauts(word, theirs)
                    || (self.is_abbreviated(i) && abbreviates(word, theirs))
                    || (other.is_abbreviated(j) && abbreviates(theirs, word));
                if same {
                    best = 1.0;
                    break;
                }
                best = best.max(jaro_winkler(word, theirs));
            }
            total += best;
            let paired = if best >= 1.0 {
                Pairing::Same
            } else if best >= WORD_TYPO {
                Pairing::Typos
            } else {
                Pairing::Unpaired
            };
            pairing = pairing.max(paired);
        }
        (pairing, total)
    }
}

/// How the words of one name pair with the words of another, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pairing {
    /// Every word has the same word (or its abbreviation) on the other side.
    Same,
    /// Every word has a partner, some only misspelt.
    Typos,
    /// Some word has none.
    Unpaired,
}

/// The bits of `tokens` that are abbreviations: cut with a period (`cut_words`), or written
/// by convention without one.
fn abbreviations(tokens: &[String], cut_words: &[String]) -> u16 {
    tokens
        .iter()
        .take(16)
        .enumerate()
        .filter(|(_, t)| cut_words.contains(t) || abbreviation::conventional(t))
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// Grades two legal forms: the same form exact, different forms far, missing when either name
/// has none.
pub fn grade_legal_form(left: Option<&str>, right: Option<&str>) -> Graded {
    match (left, right) {
        (Some(l), Some(r)) if l == r => Graded::new(Level::Exact, 1.0),
        (Some(_), Some(_)) => Graded::new(Level::Far, 0.0),
        _ => Graded::MISSING,
    }
}

/// Words that carry no identity in a company name.
const FILLER: &[&str] = &["and", "und", "the", "et"];

/// Legal forms written in Chinese, Japanese or Korean script, longest first, with their code.
const CJK_FORMS: &[(&str, &str)] = &[
    ("股份有限公司", "jsc"),
    ("股份公司", "jsc"),
    ("有限责任公司", "ltd"),
    ("有限責任公司", "ltd"),
    ("有限公司", "ltd"),
    ("株式会社", "kk"),
    ("(株)", "kk"),
    ("（株）", "kk"),
    ("㈱", "kk"),
    ("有限会社", "yk"),
    ("合同会社", "gk"),
    ("주식회사", "jsc"),
    ("(주)", "jsc"),
    ("유한회사", "ltd"),
];

/// Takes the city (`深圳市`, or without its `市`) off the start of a name in CJK script.
fn strip_cjk_city<'r>(raw: &'r str, city: &str) -> &'r str {
    let city = city.trim();
    let is_cjk = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
    if !city.chars().next().is_some_and(is_cjk) {
        return raw;
    }
    let short = city.strip_suffix('市').unwrap_or(city);
    [city, short]
        .into_iter()
        .filter(|prefix| !prefix.is_empty())
        .find_map(|prefix| raw.strip_prefix(prefix))
        .map(str::trim)
        .filter(|rest| !rest.is_empty())
        .unwrap_or(raw)
}

/// Takes a CJK legal form off either end of `raw`.
fn strip_cjk_form(raw: &str) -> (&str, Option<&'static str>) {
    for (form, code) in CJK_FORMS {
        if let Some(rest) = raw.strip_suffix(form).or_else(|| raw.strip_prefix(form)) {
            let rest = rest.trim();
            if !rest.is_empty() {
                return (rest, Some(code));
            }
        }
    }
    (raw, None)
}

/// Legal forms as folded words at the end of a name, with their canonical code. Longer
/// patterns are tried first, so "gmbh co kg" is not read as "kg". Inc and Corp share a code:
/// US systems use them interchangeably for one corporation.
const SUFFIX_FORMS: &[(&[&str], &str)] = &[
    (&["gesellschaft", "mit", "beschraenkter", "haftung"], "gmbh"),
    (&["gesellschaft", "mit", "beschrankter", "haftung"], "gmbh"),
    (&["gmbh", "co", "kgaa"], "gmbh_co_kgaa"),
    (&["ag", "co", "kgaa"], "ag_co_kgaa"),
    (&["gmbh", "co", "kg"], "gmbh_co_kg"),
    (&["gmbh", "u", "co", "kg"], "gmbh_co_kg"),
    (&["gmbh", "und", "co", "kg"], "gmbh_co_kg"),
    (&["gmbh", "cokg"], "gmbh_co_kg"),
    (&["ag", "co", "kg"], "ag_co_kg"),
    (&["ag", "u", "co", "kg"], "ag_co_kg"),
    (&["ag", "und", "co", "kg"], "ag_co_kg"),
    (&["ug", "haftungsbeschraenkt"], "ug"),
    (&["e", "k"], "ek"),
    (&["e", "kfm"], "ek"),
    (&["ug", "haftungsbeschrankt"], "ug"),
    (&["offene", "handelsgesellschaft"], "ohg"),
    (&["eingetragener", "kaufmann"], "ek"),
    (&["eingetragene", "kauffrau"], "ek"),
    (&["kabushiki", "kaisha"], "kk"),
    (&["societe", "anonyme"], "sa"),
    (&["societe", "par", "actions", "simplifiee"], "sas"),
    (&["societe", "a", "responsabilite", "limitee"], "sarl"),
    (&["sociedad", "anonima"], "sa"),
    (&["sociedad", "limitada"], "sl"),
    (&["societa", "per", "azioni"], "spa"),
    (&["societa", "a", "responsabilita", "limitata"], "srl"),
    (&["besloten", "vennootschap"], "bv"),
    (&["naamloze", "vennootschap"], "nv"),
    (&["public", "limited", "company"], "plc"),
    (&["limited", "liability", "company"], "llc"),
    (&["limited", "liability", "partnership"], "llp"),
    (&["limited", "partnership"], "lp"),
    (&["pty", "ltd"], "pty_ltd"),
    (&["pty", "limited"], "pty_ltd"),
    (&["proprietary", "limited"], "pty_ltd"),
    (&["co", "ltd"], "ltd"),
    (&["company", "limited"], "ltd"),
    (&["sp", "z", "oo"], "sp_zoo"),
    (&["spolka", "z", "oo"], "sp_zoo"),
    (&["sa", "rl"], "sarl"),
    (&["ges", "mbh"], "gmbh"),
    (&["gesellschaft", "mbh"], "gmbh"),
    (&["a", "s"], "as"),
    (&["gmbh"], "gmbh"),
    (&["gesmbh"], "gmbh"),
    (&["mbh"], "gmbh"),
    (&["gmbhcokg"], "gmbh_co_kg"),
    (&["ag"], "ag"),
    (&["aktiengesellschaft"], "ag"),
    (&["kgaa"], "kgaa"),
    (&["kg"], "kg"),
    (&["kommanditgesellschaft"], "kg"),
    (&["ohg"], "ohg"),
    (&["og"], "og"),
    (&["ug"], "ug"),
    (&["ek"], "ek"),
    (&["ekfm"], "ek"),
    (&["ev"], "ev"),
    (&["eg"], "eg"),
    (&["se"], "se"),
    (&["ltd"], "ltd"),
    (&["limited"], "ltd"),
    (&["plc"], "plc"),
    (&["llc"], "llc"),
    (&["llp"], "llp"),
    (&["lp"], "lp"),
    (&["inc"], "inc"),
    (&["incorporated"], "inc"),
    (&["corp"], "inc"),
    (&["corporation"], "inc"),
    (&["co"], "co"),
    (&["company"], "co"),
    (&["sa"], "sa"),
    (&["sas"], "sas"),
    (&["sarl"], "sarl"),
    (&["sl"], "sl"),
    (&["slu"], "sl"),
    (&["spa"], "spa"),
    (&["srl"], "srl"),
    (&["sprl"], "sprl"),
    (&["bv"], "bv"),
    (&["bvba"], "bvba"),
    (&["nv"], "nv"),
    (&["vof"], "vof"),
    (&["ab"], "ab"),
    (&["publ"], "ab"),
    (&["as"], "as"),
    (&["asa"], "asa"),
    (&["aps"], "aps"),
    (&["oy"], "oy"),
    (&["oyj"], "oyj"),
    (&["kk"], "kk"),
    (&["sro"], "sro"),
    (&["kft"], "kft"),
    (&["zrt"], "zrt"),
    (&["doo"], "doo"),
    (&["pte"], "pte_ltd"),
];

/// Legal forms written before the name (Russian, Ukrainian and Indonesian usage).
const PREFIX_FORMS: &[(&str, &str)] = &[
    ("ooo", "ooo"),
    ("oao", "oao"),
    ("zao", "zao"),
    ("pao", "pao"),
    ("ao", "ao"),
    ("tov", "tov"),
    ("pt", "pt"),
];

/// Takes the legal form off the end (or, for the few forms written first, the start) of a
/// name's words. A name that is nothing but a legal form keeps its words.
/// A spelled-out legal form cut off by a field length (SAP's NAME1 holds 35 characters:
/// `Ostsee Logistik Gesellschaft mit be`): the name's last two or more words are the form's first
/// words, the last of them perhaps cut short, or one long form word is cut. Only forms spelled out at length are read so (a
/// short one such as `GmbH & Co` is what it says). Returns how many words the form takes.
fn truncated_form(words: &[&str]) -> Option<(usize, &'static str)> {
    const SPELLED_OUT: usize = 20;
    // One long word cut short (`Kommanditgesells`): a prefix this long names one form.
    const WORD_PREFIX: usize = 8;
    if let [.., _, last] = words
        && last.len() >= WORD_PREFIX
        && let Some((_, code)) = SUFFIX_FORMS.iter().find(|(pattern, _)| {
            matches!(pattern, [one] if one.len() > last.len() && one.starts_with(last))
        })
    {
        return Some((1, code));
    }
    for (pattern, code) in SUFFIX_FORMS {
        if pattern.iter().map(|w| w.len()).sum::<usize>() < SPELLED_OUT {
            continue;
        }
        for taken in (2..pattern.len()).rev() {
            if words.len() <= taken {
                continue;
            }
            let tail = &words[words.len() - taken..];
            let (whole, last) = tail.split_at(taken - 1);
            if whole == &pattern[..taken - 1]
                && last
                    .first()
                    .is_some_and(|w| pattern[taken - 1].starts_with(w))
            {
                return Some((taken, code));
            }
        }
    }
    None
}

/// The legal form the last words of a name are with one typing error in one of its words (one
/// letter wrong, missing, doubled, or two neighbours swapped: `GmHb`, `Gmbj`, `Limted`,
/// `mGbH & Co. KG`), so that the typo does not read as an extra word of the name, which grades
/// two spellings of one company far. Returns how many words the form takes. A word is read so
/// only where no word is a typo away: form words of four letters or more without vowels (`gmbh`:
/// no word is spelt so) and of seven letters or more (`limited`, `gesellschaft`); never short
/// ones, whose typos are words (`corp`: `crop`, `corn`; `kft`: `kfz`).
/// Only forms of at least `min_words` words are tried.
fn mistyped_form(words: &[&str], min_words: usize) -> Option<(usize, &'static str)> {
    const LONG: usize = 7;
    let vowelless = |w: &str| !w.contains(['a', 'e', 'i', 'o', 'u', 'y']);
    let typo_of = |word: &str, form: &str| {
        let alike = if form.len() >= LONG {
            word.len() + 1 >= LONG
        } else {
            form.len() >= 4 && vowelless(form) && vowelless(word)
        };
        alike && !word.bytes().any(|b| b.is_ascii_digit()) && one_edit_apart(word, form)
    };
    SUFFIX_FORMS.iter().find_map(|(pattern, code)| {
        if words.len() <= pattern.len() || pattern.len() < min_words {
            return None;
        }
        let tail = &words[words.len() - pattern.len()..];
        let mut typos = 0;
        for (word, form) in tail.iter().zip(pattern.iter()) {
            if word == form {
                continue;
            }
            if !typo_of(word, form) {
                return None;
            }
            typos += 1;
        }
        (typos == 1).then_some((pattern.len(), *code))
    })
}

/// A legal form's words joined, as a mistyped form is compared with it.
struct JoinedForm {
    joined: String,
    chars: usize,
    code: &'static str,
}

/// Every legal form joined, made once: every name prepared and every pair compared looks for
/// a mistyped form among them.
static JOINED_FORMS: LazyLock<Vec<JoinedForm>> = LazyLock::new(|| {
    SUFFIX_FORMS
        .iter()
        .map(|(pattern, code)| {
            let joined = pattern.concat();
            JoinedForm {
                chars: joined.chars().count(),
                joined,
                code,
            }
        })
        .collect()
});

/// Whether `written` (the words joined) is the legal form `form` mistyped: one edit for short
/// forms, two for forms of eight letters or more, not the form itself. Lengths further apart
/// than that need more edits, so most forms are ruled out without measuring the distance.
fn is_form_typo(written: &str, form: &JoinedForm) -> bool {
    let allowed = if form.joined.len() >= 8 { 2 } else { 1 };
    written.chars().count().abs_diff(form.chars) <= allowed
        && written != form.joined
        && strsim::osa_distance(written, &form.joined) <= allowed
}

/// The last words of a name without a legal form that some legal form mistyped could be
/// (up to four, the name keeping at least one word); empty when none can. Whether they are
/// is decided against the other name's form when two names are compared.
fn mistyped_form_tail<'w>(words: &[&'w str]) -> Vec<&'w str> {
    const LONGEST: usize = 4;
    let most = LONGEST.min(words.len().saturating_sub(1));
    (1..=most)
        .rev()
        .find(|&taken| {
            let cut = words[words.len() - taken..].concat();
            JOINED_FORMS.iter().any(|form| is_form_typo(&cut, form))
        })
        .map_or_else(Vec::new, |taken| words[words.len() - taken..].to_vec())
}

fn take_legal_form(words: &mut Vec<&str>) -> Option<&'static str> {
    // A form of several words with a typo in one (`mGbH & Co. KG`) before the shorter form its
    // last words are (`KG`).
    let several = mistyped_form(words, 2);
    let shortest = several.map_or(0, |(cut, _)| cut);
    for (pattern, code) in SUFFIX_FORMS {
        if pattern.len() >= shortest && words.len() > pattern.len() && words.ends_with(pattern) {
            words.truncate(words.len() - pattern.len());
            if words.last() == Some(&"co") && *code != "co" {
                words.pop();
            }
            return Some(code);
        }
    }
    if let Some((cut, code)) = several {
        words.truncate(words.len() - cut);
        return Some(code);
    }
    if let Some((cut, code)) = truncated_form(words) {
        words.truncate(words.len() - cut);
        return Some(code);
    }
    if let Some((cut, code)) = mistyped_form(words, 1) {
        words.truncate(words.len() - cut);
        return Some(code);
    }
    if words.len() > 1 {
        let first = words.first().copied().unwrap_or_default();
        if let Some((_, code)) = PREFIX_FORMS.iter().find(|(form, _)| *form == first) {
            words.remove(0);
            return Some(code);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(raw: &str) -> CompanyName {
        CompanyName::new(raw)
    }

    fn level(a: &str, b: &str) -> Level {
        name(a).grade(&name(b)).level
    }

    #[test]
    fn a_legal_form_cut_off_by_a_field_length_is_still_the_form() {
        let cut = name("Ostsee Logistik Gesellschaft mit be");
        assert_eq!(cut.legal_form, Some("gmbh"));
        assert_eq!(cut.joined, name("Ostsee Logistik GmbH").joined);
        assert_eq!(
            level("Ostsee Logistik Gesellschaft mit", "Ostsee Logistik GmbH"),
            Level::Exact
        );
        // One word is no evidence of a cut form: "Mit" may be part of the name.
        assert_eq!(name("Gesellschaft Mit").legal_form, None);
        assert_eq!(name("Ostsee Logistik Gesellschaft").legal_form, None);
        assert_eq!(
            name("Alpina Metallbau Kommanditgesells").legal_form,
            Some("kg")
        );
        assert_eq!(name("Alpina Metallbau Komm").legal_form, None);
    }

    #[test]
    fn a_mistyped_legal_form_is_still_the_form() {
        for typo in ["Acme GmHb", "Acme Gmbj", "Acme Gmh", "ACME GMMBH"] {
            assert_eq!(name(typo).legal_form, Some("gmbh"), "{typo}");
            assert_eq!(level(typo, "Acme GmbH"), Level::Exact, "{typo}");
        }
        assert_eq!(name("Acme Limted").legal_form, Some("ltd"));
        assert_eq!(name("Acme Incorporatd").legal_form, Some("inc"));
        assert_eq!(
            name("Roth Maschinenbau mGbH & Co. KG").legal_form,
            Some("gmbh_co_kg")
        );
        assert_eq!(name("Acme Gesellschaf mbH").legal_form, Some("gmbh"));
        assert_eq!(name("Acme Gesellschaf mbH").tokens, vec!["acme"]);
        // Words a typo away from a short form with vowels are words: no form.
        assert_eq!(name("Golden Crop").legal_form, None);
        assert_eq!(name("Golden Corn").tokens, vec!["corn", "golden"]);
        assert_eq!(name("Autohaus Braun Kfz").legal_form, None);
        // A name that is one word keeps it.
        assert_eq!(name("Gmhb").tokens, vec!["gmhb"]);
    }

    #[test]
    fn german_legal_form_spellings_are_one_form() {
        let forms: Vec<_> = [
            "Müller GmbH",
            "MUELLER G.m.b.H.",
            "Mueller Gesellschaft mit beschränkter Haftung",
            "Müller Ges.m.b.H.",
        ]
        .iter()
        .map(|raw| name(raw))
        .collect();
        for form in &forms {
            assert_eq!(form.legal_form, Some("gmbh"));
            assert_eq!(form.tokens, vec!["mueller"]);
            assert_eq!(forms[0].grade(form).level, Level::Exact);
        }
    }

    #[test]
    fn english_forms_and_punctuation() {
        assert_eq!(level("Acme Inc.", "ACME, Incorporated"), Level::Exact);
        assert_eq!(name("ACME, Incorporated").legal_form, Some("inc"));
        assert_eq!(name("Acme Corporation").legal_form, Some("inc"));
        assert_eq!(name("Acme Ltd").legal_form, name("Acme Limited").legal_form);
        assert_eq!(name("Foo Co., Ltd.").legal_form, Some("ltd"));
        assert_eq!(name("Foo Co., Ltd.").tokens, vec!["foo"]);
        assert_eq!(name("Bar GmbH & Co. KG").legal_form, Some("gmbh_co_kg"));
        assert_eq!(name("Bar GmbH & Co. KG").tokens, vec!["bar"]);
        assert_eq!(name("Bar GmbH u. Co. KG").legal_form, Some("gmbh_co_kg"));
        assert_eq!(name("Bar GmbH und Co KG").tokens, vec!["bar"]);
        assert_eq!(
            name("Bar Haustechnik Gesellschaft mbH").legal_form,
            Some("gmbh")
        );
        assert_eq!(
            name("Bar Haustechnik Gesellschaft mbH").tokens,
            vec!["bar", "haustechnik"]
        );
    }

    #[test]
    fn european_forms() {
        assert_eq!(name("Fiat S.p.A.").legal_form, Some("spa"));
        assert_eq!(name("Philips N.V.").legal_form, Some("nv"));
        assert_eq!(name("Shell B.V.").legal_form, Some("bv"));
        assert_eq!(name("Dupont S.A.R.L.").legal_form, Some("sarl"));
        assert_eq!(name("Dupont S.à r.l.").legal_form, Some("sarl"));
        assert_eq!(name("Telefónica, S.A.").legal_form, Some("sa"));
        assert_eq!(name("Telefónica, S.A.").tokens, vec!["telefonica"]);
        assert_eq!(name("Kowalski Sp. z o.o.").legal_form, Some("sp_zoo"));
        assert_eq!(name("ООО Газпром").legal_form, Some("ooo"));
        assert_eq!(name("ООО Газпром").tokens, vec!["gazprom"]);
    }

    #[test]
    fn cjk_legal_forms_come_off_before_transliteration() {
        let full = name("北京华为技术有限公司");
        let short = name("北京华为技术");
        assert_eq!(full.legal_form, Some("ltd"));
        assert_eq!(short.legal_form, None);
        assert_eq!(full.grade(&short).level, Level::Exact);
        assert_eq!(name("恒通自动化设备股份公司").legal_form, Some("jsc"));
        assert_eq!(name("株式会社トヨタ").legal_form, Some("kk"));
        assert_eq!(name("トヨタ株式会社").tokens, name("株式会社トヨタ").tokens);
    }

    #[test]
    fn a_chinese_name_is_compared_without_its_city() {
        let full = CompanyName::in_city("深圳市金盛科技有限公司", Some("深圳市"));
        for short in ["金盛科技", "深圳金盛科技", "深圳市金盛科技"] {
            let other = CompanyName::in_city(short, Some("深圳市"));
            assert_eq!(full.grade(&other).level, Level::Exact, "{short}");
        }
        assert_eq!(
            CompanyName::in_city("深圳市", Some("深圳市")).tokens,
            name("深圳市").tokens
        );
        assert_eq!(
            CompanyName::in_city("Berlin Kranbau GmbH", Some("Berlin")).tokens,
            vec!["berlin", "kranbau"]
        );
    }

    #[test]
    fn e_k_spaced_is_the_form() {
        assert_eq!(name("Eifel e. K.").legal_form, Some("ek"));
        assert_eq!(level("EIFEL E.K.", "Eifel e. K."), Level::Exact);
    }

    #[test]
    fn swapped_words_and_typos() {
        assert_eq!(level("Schmidt Hans", "Hans Schmidt"), Level::Exact);
        assert_eq!(level("Data Tec GmbH", "DataTec GmbH"), Level::Exact);
        assert_eq!(level("Südstahl AG", "Sudstahl AG"), Level::Exact);
        assert_eq!(
            level("Siemens Healthineers AG", "Siemens Healthinneers AG"),
            Level::Close
        );
        assert_eq!(level("Bosch Rexroth", "Posch Rexroth"), Level::Close);
        assert_eq!(level("Acme", "Globex"), Level::Far);
    }

    #[test]
    fn a_word_cut_with_a_period_matches_the_full_word() {
        for (short, full) in [
            ("Mainfranken Fördertechn.", "Mainfranken Fördertechnik e.K."),
            ("Wagner Masch.-Bau", "Wagner Maschinenbau GmbH"),
            ("Bodensee Maschb. GmbH", "Bodensee Maschinenbau GmbH"),
            ("Mersey Distr. PLC", "Mersey Distribution PLC"),
            ("Elektrotechn. Taunus GmbH", "Taunus Elektrotechnik GmbH"),
        ] {
            assert_eq!(level(short, full), Level::Exact, "{short}");
        }
        // Cut words stand for longer words with their letters, not for any word.
        assert_eq!(level("Acme Distr.", "Acme Industrie"), Level::Far);
        assert_eq!(level("Acme Fördertechn.", "Acme Holding"), Level::Far);
    }

    #[test]
    fn conventional_abbreviations_without_a_period_match_the_full_word() {
        assert_eq!(
            level("Kingsley Engg PLC", "Kingsley Engineering PLC"),
            Level::Exact
        );
        assert_eq!(
            level("Acme Mfg Corp", "Acme Manufacturing Corp."),
            Level::Exact
        );
        assert_eq!(
            level("Keystone Intl", "Keystone International"),
            Level::Exact
        );
        // An abbreviation beside a misspelt word counts as its word.
        assert_eq!(
            level("Grnsite Mfg Corp", "Granite Manufacturing Corp."),
            Level::Close
        );
    }

    #[test]
    fn words_with_and_without_umlauts_are_the_same_words_in_any_order() {
        assert_eq!(
            level("Sanitartechnik Jager GmbH", "Jäger Sanitärtechnik GmbH"),
            Level::Exact
        );
    }

    #[test]
    fn a_word_without_a_partner_is_far_however_alike_the_names_look() {
        // Sister companies at one address: one name is the other with a word more.
        assert_eq!(
            level("Heartland Services Inc.", "Heartland Inc."),
            Level::Far
        );
        assert_eq!(
            level("Brookfield Holdings Ltd", "Brookfield Trading Ltd"),
            Level::Far
        );
        assert_eq!(level("Cotswold Servies Ltd", "Cotswold Ltd"), Level::Far);
        // Every word misspelt, none missing: close.
        assert_eq!(
            level("Bodrnsee Verpackungen KG", "Bodensee Verpackungen KG"),
            Level::Close
        );
        assert_eq!(
            level("Lorenz Nlagenbau AG", "Anlagenbau Lorenz AG"),
            Level::Close
        );
    }

    #[test]
    fn a_mistyped_legal_form_is_read_as_the_other_names_form() {
        for (typo, right) in [
            ("Thames Packaging LTTD", "Thames Packaging Ltd"),
            ("Peters Holzbau G", "Peters Holzbau AG"),
            ("Emballages Thomas SSA", "Emballages Thomas SAS"),
            ("Summit Solutions NIC.", "Summit Solutions Inc."),
            (
                "Isartec Baustoffe GbH & Co. GK",
                "Isartec Baustoffe GmbH & Co. KG",
            ),
            (
                "Südstahl Fördertechnik Hesellschafft mit beschränkter Haftung",
                "Südstahl Fördertechnik GmbH",
            ),
            (
                "Weserland Werkzeugbau Gesellschaft mHb",
                "Weserland Werkzeugbau GmbH",
            ),
        ] {
            assert_eq!(name(typo).legal_form, None, "{typo}");
            assert_eq!(level(typo, right), Level::Exact, "{typo}");
            assert_eq!(level(right, typo), Level::Exact, "{typo}");
        }
        // Only as the form the other name has, and only the last words.
        assert_eq!(level("Acme SG", "Acme Holding AG"), Level::Far);
        assert_eq!(level("Golden Crop", "Golden GmbH"), Level::Far);
        assert_eq!(level("Ltdd Acme", "Acme Ltd"), Level::Far);
    }

    #[test]
    fn the_austrian_og_is_a_legal_form() {
        assert_eq!(name("Bodensee Metallbau OG").legal_form, Some("og"));
        assert_eq!(
            name("Bodensee Metallbau OG").tokens,
            vec!["bodensee", "metallbau"]
        );
        let grade = |a: &str, b: &str| grade_legal_form(name(a).legal_form, name(b).legal_form);
        assert_eq!(grade("Acme OG", "Acme O.G.").level, Level::Exact);
        assert_eq!(grade("Acme OG", "Acme OHG").level, Level::Far);
    }

    #[test]
    fn an_extra_word_such_as_holding_is_far() {
        let parent = name("Acme Holding GmbH");
        let child = name("Acme GmbH");
        assert_eq!(parent.grade(&child).level, Level::Far);
        assert_eq!(
            grade_legal_form(parent.legal_form, child.legal_form).level,
            Level::Exact
        );
    }

    #[test]
    fn legal_form_tells_apart_only_different_forms() {
        let grade = |a: &str, b: &str| grade_legal_form(name(a).legal_form, name(b).legal_form);
        assert_eq!(grade("Acme GmbH", "Acme G.m.b.H.").level, Level::Exact);
        assert_eq!(grade("Acme AG", "Acme GmbH").level, Level::Far);
        assert_eq!(grade("Acme Ltd", "Acme Limited").level, Level::Exact);
        assert_eq!(grade("Acme", "Acme GmbH").level, Level::Missing);
    }

    #[test]
    fn a_name_that_is_only_a_legal_form_or_empty() {
        assert_eq!(name("GmbH").tokens, vec!["gmbh"]);
        assert_eq!(name("GmbH").legal_form, None);
        assert_eq!(level("", "Acme"), Level::Missing);
        assert_eq!(level("--", "Acme"), Level::Missing);
    }
}
