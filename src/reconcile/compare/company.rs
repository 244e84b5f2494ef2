//! Company names: the legal form taken out and named, the rest compared as a set of words.
//!
//! A parent and its subsidiary often differ only by one word ("Acme Holding GmbH" and
//! "Acme GmbH") or by their legal form ("Acme AG" and "Acme GmbH"). Both are kept as
//! evidence: the extra word makes the names [`Level::Far`](super::Level::Far) — a word that
//! one name has and the other lacks is not a typo — and the legal form is compared on its own.

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
}

/// Similarity from which two different names count as [`Level::Close`].
pub const CLOSE: f64 = 0.90;

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
        let folded = fold(rest);
        let mut words: Vec<&str> = folded
            .split(' ')
            .filter(|w| !w.is_empty() && !FILLER.contains(w))
            .collect();
        let legal_form = cjk_form.or_else(|| take_legal_form(&mut words));
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
        }
    }

    /// Grades two names: the same words (in any order) are exact, a similar word set close.
    pub fn grade(&self, other: &CompanyName) -> Graded {
        if self.tokens.is_empty() || other.tokens.is_empty() {
            return Graded::MISSING;
        }
        if self.tokens == other.tokens
            || self.compact == other.compact
            || same_but_umlauts(&self.compact, &other.compact)
        {
            return Graded::new(Level::Exact, 1.0);
        }
        let whole = jaro_winkler(&self.joined, &other.joined);
        let similarity = if whole >= CLOSE {
            whole
        } else {
            whole.max(token_set_similarity(&self.tokens, &other.tokens))
        };
        let level = if similarity >= CLOSE {
            Level::Close
        } else {
            Level::Far
        };
        Graded::new(level, similarity)
    }
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

/// Each word's best Jaro-Winkler partner on the other side, averaged over the words of both
/// names: a swapped or misspelt word costs little, a word without a partner costs its share.
pub fn token_set_similarity(left: &[String], right: &[String]) -> f64 {
    if left.is_empty() || right.is_empty() {
        return 0.0;
    }
    let mut on_stack = [0.0f64; 16];
    let mut on_heap = Vec::new();
    let right_best: &mut [f64] = if right.len() <= on_stack.len() {
        &mut on_stack[..right.len()]
    } else {
        on_heap.resize(right.len(), 0.0);
        &mut on_heap
    };
    let mut total = 0.0;
    for l in left {
        let mut best = 0.0f64;
        for (r, r_best) in right.iter().zip(right_best.iter_mut()) {
            let s = jaro_winkler(l, r);
            best = best.max(s);
            *r_best = r_best.max(s);
        }
        total += best;
    }
    total += right_best.iter().sum::<f64>();
    total / (left.len() + right.len()) as f64
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
