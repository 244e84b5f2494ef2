//! Person names: given and family name compared part by part, also swapped, and the generation
//! (Jr./Sr./II/III) kept apart, since father and son share a name and an address.

use super::text::{fold, jaro_winkler, same_but_umlauts};
use super::{Graded, Level};

/// A person's name prepared for comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonName {
    /// Folded given names (first and middle names), titles and generation taken out.
    pub given: String,
    /// Folded family name.
    pub family: String,
    /// `jr`, `sr`, `ii`, `iii`, `iv` when the name carries one.
    pub generation: Option<&'static str>,
}

/// Similarity from which two different name parts count as close.
pub const CLOSE: f64 = 0.92;
/// Similarity from which two different name parts count as similar (graded separately).
pub const SIMILAR: f64 = 0.80;

impl PersonName {
    /// From separate given and family names, or from one full name when those are missing: a
    /// comma means "Family, Given"; a last word that is an initial is the given name ("Hoffmann
    /// G."); otherwise the last word is taken as the family name (the
    /// comparison also tries the parts swapped, so "Schmidt Hans" still finds "Hans Schmidt").
    pub fn new(given: Option<&str>, family: Option<&str>, full: Option<&str>) -> PersonName {
        let mut generation = None;
        let mut clean = |raw: &str| -> Vec<String> {
            fold(raw)
                .split(' ')
                .filter(|w| !w.is_empty() && !TITLES.contains(w))
                .filter(|w| match generation_of(w) {
                    Some(g) => {
                        generation = Some(g);
                        false
                    }
                    None => true,
                })
                .map(str::to_string)
                .collect()
        };
        let (given, family) = if given.is_some() || family.is_some() {
            (
                given.map(&mut clean).unwrap_or_default(),
                family.map(&mut clean).unwrap_or_default(),
            )
        } else if let Some(full) = full {
            match full.split_once(',') {
                Some((family, given)) => (clean(given), clean(family)),
                None => {
                    let mut words = clean(full);
                    // An initial is a given name: `Hoffmann G.` is G. Hoffmann, written family
                    // name first.
                    if words.len() > 1 && words.last().is_some_and(|w| w.len() == 1) {
                        let given = words.pop().map(|w| vec![w]).unwrap_or_default();
                        (given, words)
                    } else {
                        let family = words.pop().map(|w| vec![w]).unwrap_or_default();
                        (words, family)
                    }
                }
            }
        } else {
            (Vec::new(), Vec::new())
        };
        PersonName {
            given: given.join(" "),
            family: family.join(" "),
            generation,
        }
    }

    /// True when there is no name to compare.
    pub fn is_empty(&self) -> bool {
        self.given.is_empty() && self.family.is_empty()
    }

    /// Grades two names: both parts equal (or equal swapped) exact; both parts close — a typo,
    /// an initial for a given name, a dropped middle name — close; a different given name (a
    /// spouse or child at the same address) far.
    pub fn grade(&self, other: &PersonName) -> Graded {
        if self.is_empty() || other.is_empty() {
            return Graded::MISSING;
        }
        let direct = combine(
            grade_part(&self.given, &other.given),
            grade_part(&self.family, &other.family),
        );
        let swapped = combine(
            grade_part(&self.given, &other.family),
            grade_part(&self.family, &other.given),
        );
        better(direct, swapped)
    }

    /// Grades given and family name separately, on five levels each (see [`grade_name_part`]),
    /// in the orientation that fits best: a record with given and family name swapped (in each
    /// other's column, or `Schmidt Hans`) compares its family name with the other's family name.
    /// Swapped, which of the two crossed pairs holds the given names is unknown (either record
    /// may be the one written the other way round): the pair that agrees less is taken as the
    /// given names, so that family members, who share a family name, still differ in their
    /// given names.
    pub fn grade_parts(&self, other: &PersonName) -> NameParts {
        let direct = NameParts {
            given: grade_name_part(&self.given, &other.given),
            family: grade_name_part(&self.family, &other.family),
            swapped: false,
            own_columns_swapped: false,
        };
        let own_given = grade_name_part(&self.given, &other.family);
        let own_family = grade_name_part(&self.family, &other.given);
        let own_family_is_given = stronger(own_given, own_family);
        let swapped = if own_family_is_given {
            NameParts {
                given: own_family,
                family: own_given,
                swapped: true,
                own_columns_swapped: true,
            }
        } else {
            NameParts {
                given: own_given,
                family: own_family,
                swapped: true,
                own_columns_swapped: false,
            }
        };
        if swapped.strength() > direct.strength() + 1e-9 {
            swapped
        } else {
            direct
        }
    }
}

/// Given and family name graded one by one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameParts {
    pub given: Graded,
    pub family: Graded,
    /// Each record's given name was compared with the other's family name and back.
    pub swapped: bool,
    /// Swapped, the given-name comparison read this record's family-name column (and the
    /// other's given-name column); otherwise this record's given-name column and the other's
    /// family-name column.
    pub own_columns_swapped: bool,
}

impl NameParts {
    /// How well both parts agree, for choosing the orientation.
    fn strength(&self) -> f64 {
        let value = |x: &Graded| match x.level {
            Level::Missing => 0.0,
            _ => x.similarity.unwrap_or(0.0),
        };
        value(&self.given) + value(&self.family)
    }
}

/// Whether `a` agrees more than `b` (a better level, then a higher similarity).
fn stronger(a: Graded, b: Graded) -> bool {
    let key = |g: &Graded| (g.level, -g.similarity.unwrap_or(0.0));
    key(&a) < key(&b)
}

/// Grades one name part (given or family name) on five levels: equal (umlauts written out or
/// not) exact; Jaro-Winkler
/// ≥ 0.92, an initial (`H.` for `Hans`) or a dropped middle name close; Jaro-Winkler ≥ 0.80
/// similar; otherwise far; missing when either side has none.
pub fn grade_name_part(left: &str, right: &str) -> Graded {
    if left.is_empty() || right.is_empty() {
        return Graded::MISSING;
    }
    if left == right || same_but_umlauts(left, right) {
        return Graded::new(Level::Exact, 1.0);
    }
    let similarity = jaro_winkler(left, right);
    let (l_first, r_first) = (first_word(left), first_word(right));
    let initial = (l_first.len() == 1 && r_first.starts_with(l_first))
        || (r_first.len() == 1 && l_first.starts_with(r_first));
    let middle_name_dropped = l_first == r_first;
    let level = if similarity >= CLOSE || initial || middle_name_dropped {
        Level::Close
    } else if similarity >= SIMILAR || one_edit_apart(left, right) {
        // Jaro-Winkler is harsh on short names (`mia` / `mai` score 0.56): one edit apart is
        // still alike, though not as alike as a typo in a long name.
        Level::Similar
    } else {
        Level::Far
    };
    Graded::new(level, similarity)
}

/// Grades the generations: the same exact, different far, only one side naming one close (the
/// father is often written without "Sr."), missing when neither names one.
pub fn grade_generation(left: Option<&str>, right: Option<&str>) -> Graded {
    match (left, right) {
        (Some(l), Some(r)) if l == r => Graded::new(Level::Exact, 1.0),
        (Some(_), Some(_)) => Graded::new(Level::Far, 0.0),
        (Some(_), None) | (None, Some(_)) => Graded::new(Level::Close, 0.5),
        (None, None) => Graded::MISSING,
    }
}

/// Titles that say nothing about who a person is.
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "dr", "prof", "herr", "frau", "mme", "mlle", "sir",
];

/// The generation a word names, in its canonical spelling.
fn generation_of(word: &str) -> Option<&'static str> {
    match word {
        "jr" | "junior" | "jun" => Some("jr"),
        "sr" | "senior" | "sen" => Some("sr"),
        "ii" | "2nd" => Some("ii"),
        "iii" | "3rd" => Some("iii"),
        "iv" | "4th" => Some("iv"),
        _ => None,
    }
}

/// Grades one part of a name against one part of the other.
fn grade_part(left: &str, right: &str) -> Graded {
    if left.is_empty() || right.is_empty() {
        return Graded::MISSING;
    }
    if left == right {
        return Graded::new(Level::Exact, 1.0);
    }
    let similarity = jaro_winkler(left, right);
    let (l_first, r_first) = (first_word(left), first_word(right));
    let initial = (l_first.len() == 1 && r_first.starts_with(l_first))
        || (r_first.len() == 1 && l_first.starts_with(r_first));
    let middle_name_dropped = l_first == r_first;
    if similarity >= CLOSE || initial || middle_name_dropped {
        Graded::new(Level::Close, similarity)
    } else {
        Graded::new(Level::Far, similarity)
    }
}

/// One insertion, deletion, substitution or swap of neighbours turns one into the other.
pub fn one_edit_apart(left: &str, right: &str) -> bool {
    let (a, b) = (left.as_bytes(), right.as_bytes());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 || short.is_empty() {
        return false;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        let rest = prefix + 1;
        let substituted = short.get(rest..) == long.get(rest..);
        let swapped = rest < short.len()
            && short[prefix] == long[rest]
            && short[rest] == long[prefix]
            && short.get(rest + 1..) == long.get(rest + 1..);
        substituted || swapped
    } else {
        short.get(prefix..) == long.get(prefix + 1..)
    }
}

fn first_word(s: &str) -> &str {
    s.split(' ').next().unwrap_or_default()
}

/// Grades a whole name from its given and family parts.
fn combine(given: Graded, family: Graded) -> Graded {
    let similarity = match (given.similarity, family.similarity) {
        (Some(g), Some(f)) => Some((g + f) / 2.0),
        (g, f) => g.or(f),
    };
    let level = match (given.level, family.level) {
        (Level::Exact, Level::Exact) => Level::Exact,
        (Level::Missing, Level::Missing) => Level::Missing,
        (Level::Far, _) | (_, Level::Far) => Level::Far,
        _ => Level::Close,
    };
    Graded { level, similarity }
}

/// The stronger of two readings: the better level, then the higher similarity.
fn better(a: Graded, b: Graded) -> Graded {
    let key = |g: &Graded| (g.level, -g.similarity.unwrap_or(0.0));
    if key(&b) < key(&a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(raw: &str) -> PersonName {
        PersonName::new(None, None, Some(raw))
    }

    fn parts(given: &str, family: &str) -> PersonName {
        PersonName::new(Some(given), Some(family), None)
    }

    #[test]
    fn swapped_order_is_the_same_name() {
        assert_eq!(
            full("Schmidt Hans").grade(&full("Hans Schmidt")).level,
            Level::Exact
        );
        assert_eq!(
            full("Schmidt, Hans").grade(&parts("Hans", "Schmidt")).level,
            Level::Exact
        );
        assert_eq!(
            parts("Schmidt", "Hans")
                .grade(&parts("Hans", "Schmidt"))
                .level,
            Level::Exact
        );
    }

    #[test]
    fn typos_initials_and_middle_names_are_close() {
        let hans = parts("Hans", "Schmidt");
        assert_eq!(parts("Hans", "Schmitd").grade(&hans).level, Level::Close);
        assert_eq!(parts("H.", "Schmidt").grade(&hans).level, Level::Close);
        assert_eq!(
            parts("Hans Peter", "Schmidt").grade(&hans).level,
            Level::Close
        );
        assert_eq!(
            full("Jürgen Müller").grade(&full("Juergen Mueller")).level,
            Level::Exact
        );
    }

    #[test]
    fn a_different_given_name_is_far() {
        assert_eq!(
            parts("Anna", "Schmidt")
                .grade(&parts("Hans", "Schmidt"))
                .level,
            Level::Far
        );
        assert_eq!(
            full("Anna Meier").grade(&full("Hans Schmidt")).level,
            Level::Far
        );
    }

    #[test]
    fn an_initial_written_last_is_the_given_name() {
        let written_family_first = full("Hoffmann G.");
        assert_eq!(
            (
                written_family_first.given.as_str(),
                written_family_first.family.as_str()
            ),
            ("g", "hoffmann")
        );
        // So the initial of one family member is not read as agreeing with another's family
        // name while their given names differ.
        let renate = parts("Renate", "Hoffmann");
        let graded = written_family_first.grade_parts(&renate);
        assert_eq!(
            (graded.given.level, graded.family.level),
            (Level::Far, Level::Exact)
        );
        let guenter = written_family_first.grade_parts(&parts("Günter", "Hoffmann"));
        assert_eq!(guenter.given.level, Level::Close);
    }

    #[test]
    fn parts_graded_on_five_levels_in_the_best_orientation() {
        let hans = parts("Hans", "Schmidt");
        let levels = |p: &PersonName| {
            let graded = p.grade_parts(&hans);
            (graded.given.level, graded.family.level)
        };
        assert_eq!(
            levels(&parts("Hans", "Schmidt")),
            (Level::Exact, Level::Exact)
        );
        assert_eq!(
            levels(&parts("Schmidt", "Hans")),
            (Level::Exact, Level::Exact)
        );
        assert!(parts("Schmidt", "Hans").grade_parts(&hans).swapped);
        // Family name first, another given name: the given names differ, whichever of the two
        // records is written the other way round.
        assert_eq!(
            levels(&full("Schmidt Wolfgang")),
            (Level::Far, Level::Exact)
        );
        let wolfgang = full("Schmidt Wolfgang");
        let graded = hans.grade_parts(&wolfgang);
        assert_eq!(
            (graded.given.level, graded.family.level),
            (Level::Far, Level::Exact)
        );
        assert_eq!(levels(&full("Schmidt, Hans")), (Level::Exact, Level::Exact));
        assert_eq!(
            levels(&parts("Hnas", "Schmidt")),
            (Level::Close, Level::Exact)
        );
        assert_eq!(
            levels(&parts("H.", "Schmitt")),
            (Level::Close, Level::Close)
        );
        assert_eq!(
            levels(&parts("Hans", "Schmied")),
            (Level::Exact, Level::Close)
        );
        assert_eq!(
            levels(&parts("Hans", "Smidt")),
            (Level::Exact, Level::Similar)
        );
        assert_eq!(
            levels(&parts("Anna", "Schmidt")),
            (Level::Far, Level::Exact)
        );
        assert_eq!(
            levels(&parts("", "Schmidt")),
            (Level::Missing, Level::Exact)
        );
        assert_eq!(grade_name_part("jon", "john").level, Level::Close);
        assert_eq!(grade_name_part("meyer", "meier").level, Level::Similar);
        assert_eq!(grade_name_part("catherine", "kathryn").level, Level::Far);
        assert_eq!(grade_name_part("mia", "mai").level, Level::Similar);
        assert_eq!(grade_name_part("jan", "jfn").level, Level::Similar);
        assert_eq!(grade_name_part("uwe", "ue").level, Level::Similar);
        assert_eq!(grade_name_part("ben", "eva").level, Level::Far);
        assert!(one_edit_apart("lena", "lea") && !one_edit_apart("anna", "hans"));
    }

    #[test]
    fn missing_names() {
        assert_eq!(full("").grade(&full("Hans Schmidt")).level, Level::Missing);
        assert_eq!(
            full("Schmidt").grade(&full("Hans Schmidt")).level,
            Level::Close
        );
    }

    #[test]
    fn titles_and_generations_are_not_name_parts() {
        let son = full("Dr. John Smith Jr.");
        let father = full("John Smith Sr.");
        assert_eq!(son.given, "john");
        assert_eq!(son.family, "smith");
        assert_eq!(son.grade(&father).level, Level::Exact);
        assert_eq!(
            grade_generation(son.generation, father.generation).level,
            Level::Far
        );
        assert_eq!(
            grade_generation(son.generation, Some("jr")).level,
            Level::Exact
        );
        assert_eq!(grade_generation(son.generation, None).level, Level::Close);
        assert_eq!(grade_generation(None, None).level, Level::Missing);
        assert_eq!(full("Henry Ford II").generation, Some("ii"));
    }
}
