//! Persons with typos in every field, in the shape of the FEBRL and North Carolina voter test
//! sets: two files of the same people (`a.csv`, the cleaner register, and `b.csv`, a second system
//! that typed them again), one record each, so every record of `a` has exactly one true partner in
//! `b`. Given name, family name, street, house number, suburb, postcode and date of birth are each
//! perturbed with their own probability (typos, a missing given name, a postcode with one wrong
//! digit, day and month of birth swapped, given and family name in each other's column, ...).
//!
//! Some people live in families at one address (one family name, different given names and dates
//! of birth): they must stay apart, so a matcher cannot win recall by merging on address alone.
//! Family names follow a long-tailed distribution (a few very common, many rare) so that
//! term-frequency adjustment has something to find.
//!
//! Everything is a pure function of the seed and the size.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use super::rng_for;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonsSpec {
    /// Records per file (and true pairs).
    pub per_file: usize,
    pub seed: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonsManifest {
    /// Records in both files.
    pub records: usize,
    pub true_pairs: u64,
    /// People living with others of their family at one address.
    pub in_families: usize,
    pub bytes: u64,
    /// The `concord.yaml` written to the output folder.
    pub config: PathBuf,
}

/// The two sources, in the order a sync reads them.
pub const SOURCES: [&str; 2] = ["a", "b"];

/// Common family names, most frequent first (the head of the distribution).
const COMMON_FAMILY: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Schmid",
    "Schulze",
    "Maier",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Schubert",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
];

/// Syllables the long tail of family names is made of (`Kesselring`, `Falkenhagen`).
const FAMILY_HEADS: &[&str] = &[
    "Brand", "Kessel", "Stein", "Wald", "Berg", "Hof", "Roth", "Linden", "Eich", "Feld", "Horn",
    "Kirch", "Mühl", "Sonnen", "Wein", "Adler", "Falken", "Hagen", "Rosen", "Schön", "Buch",
    "Dorn", "Eisen", "Gold", "Grün", "Hart", "Kalt", "Lind", "Moos", "Ober", "Reich", "Sand",
    "Tann", "Unter", "Wies", "Zieg", "Ahl", "Bött", "Dreh", "Fried",
];
const FAMILY_TAILS: &[&str] = &[
    "horst", "ring", "mann", "berger", "er", "feld", "bach", "hoff", "meier", "huber", "schmid",
    "brink", "kamp", "hausen", "thal", "ner", "linger", "wieser", "rieder", "sberg",
];

const GIVEN: &[&str] = &[
    "Hans",
    "Peter",
    "Klaus",
    "Wolfgang",
    "Jürgen",
    "Michael",
    "Thomas",
    "Andreas",
    "Stefan",
    "Frank",
    "Markus",
    "Christian",
    "Matthias",
    "Alexander",
    "Martin",
    "Daniel",
    "Tobias",
    "Sebastian",
    "Florian",
    "Jan",
    "Lukas",
    "Felix",
    "Jonas",
    "Maximilian",
    "Paul",
    "Leon",
    "Elias",
    "Noah",
    "Ben",
    "Finn",
    "Karl",
    "Heinz",
    "Dieter",
    "Bernd",
    "Uwe",
    "Ralf",
    "Holger",
    "Sven",
    "Dirk",
    "Jörg",
    "Ursula",
    "Monika",
    "Petra",
    "Sabine",
    "Renate",
    "Helga",
    "Karin",
    "Brigitte",
    "Ingrid",
    "Gisela",
    "Andrea",
    "Claudia",
    "Susanne",
    "Birgit",
    "Nicole",
    "Stefanie",
    "Julia",
    "Anna",
    "Laura",
    "Lena",
    "Sarah",
    "Katharina",
    "Lisa",
    "Hannah",
    "Sophie",
    "Marie",
    "Emma",
    "Mia",
    "Lea",
    "Johanna",
    "Charlotte",
    "Clara",
    "Greta",
    "Frieda",
    "Ida",
    "Ella",
    "James",
    "John",
    "Robert",
    "David",
    "William",
    "Richard",
    "Joseph",
    "Charles",
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Barbara",
    "Susan",
    "Jessica",
    "Margaret",
    "Catherine",
    "Christopher",
    "Matthew",
    "Anthony",
    "Donald",
    "Steven",
    "Kenneth",
];

const STREET_ROOTS: &[&str] = &[
    "Haupt",
    "Bahnhof",
    "Schul",
    "Garten",
    "Dorf",
    "Berg",
    "Kirch",
    "Wald",
    "Ring",
    "Linden",
    "Birken",
    "Eichen",
    "Mühlen",
    "Rosen",
    "Tulpen",
    "Goethe",
    "Schiller",
    "Mozart",
    "Beethoven",
    "Friedrich",
    "Wilhelm",
    "Bismarck",
    "Kaiser",
    "König",
    "Feld",
    "Wiesen",
    "Sonnen",
    "Mond",
    "Stern",
    "Fichten",
    "Tannen",
    "Kastanien",
    "Ahorn",
    "Buchen",
    "Erlen",
    "Weiden",
    "Pappel",
    "Holunder",
    "Flieder",
    "Jasmin",
    "Nelken",
    "Veilchen",
    "Lilien",
    "Astern",
    "Dahlien",
    "Park",
    "Markt",
    "Brunnen",
    "Hafen",
    "Industrie",
];
const STREET_TYPES: &[&str] = &["straße", "weg", "allee", "ring", "gasse", "platz"];

const TOWN_HEADS: &[&str] = &[
    "Ober", "Unter", "Nieder", "Alt", "Neu", "Groß", "Klein", "Hohen", "Rosen", "Eichen", "Linden",
    "Birken", "Wald", "Berg", "Stein", "Mühl", "Sonnen", "Kirch", "Bad ", "Markt",
];
const TOWN_TAILS: &[&str] = &[
    "dorf", "hausen", "heim", "feld", "bach", "burg", "stadt", "berg", "au", "thal", "kirchen",
    "hofen", "ingen", "rode", "walde",
];

/// A true person.
struct Person {
    id: u64,
    given: String,
    family: String,
    street: String,
    number: u32,
    suburb: String,
    postcode: String,
    dob: (i32, u32, u32),
    /// The family (household) the person lives in, if any.
    household: Option<u64>,
}

/// Writes `persons/a.csv`, `persons/b.csv`, `truth.csv`, `entities.csv` and `concord.yaml`
/// (match rules from `benches/matching/person-rules.yaml`) into `dir`.
pub fn generate(dir: &Path, spec: &PersonsSpec) -> io::Result<PersonsManifest> {
    let data = dir.join("persons");
    if data.exists() {
        fs::remove_dir_all(&data)?;
    }
    fs::create_dir_all(&data)?;
    let people = people(spec);
    let mut a = writer(&data.join("a.csv"))?;
    let mut b = writer(&data.join("b.csv"))?;
    let mut truth = csv::Writer::from_writer(BufWriter::new(File::create(dir.join("truth.csv"))?));
    truth.write_record(["source", "key", "entity_id"])?;
    let mut entities =
        csv::Writer::from_writer(BufWriter::new(File::create(dir.join("entities.csv"))?));
    entities.write_record(["entity_id", "group", "group_kind", "name"])?;
    let mut in_families = 0;
    for (n, person) in people.iter().enumerate() {
        let entity = format!("P{:07}", person.id);
        let (group, kind) = match person.household {
            Some(h) => {
                in_families += 1;
                (h.to_string(), "family members")
            }
            None => (format!("{}", 1_000_000_000 + person.id), "single"),
        };
        entities.write_record([
            entity.as_str(),
            &group,
            kind,
            &format!("{} {}", person.given, person.family),
        ])?;
        let mut rng = rng_for(spec.seed ^ 0x09E2_50A5, person.id);
        for (source, out, strength) in [("a", &mut a, 0.15f32), ("b", &mut b, 1.0f32)] {
            let key = format!("{source}-{:06}", n + 1);
            let row = perturb(&mut rng, person, strength);
            out.write_record([
                key.as_str(),
                &row.given,
                &row.family,
                &row.number,
                &row.street,
                &row.suburb,
                &row.postcode,
                &row.dob,
            ])?;
            truth.write_record([source, key.as_str(), entity.as_str()])?;
        }
    }
    a.flush()?;
    b.flush()?;
    truth.flush()?;
    entities.flush()?;
    let bytes = fs::metadata(data.join("a.csv"))?.len() + fs::metadata(data.join("b.csv"))?.len();
    let config = dir.join("concord.yaml");
    fs::write(&config, concord_yaml()?)?;
    Ok(PersonsManifest {
        records: people.len() * 2,
        true_pairs: people.len() as u64,
        in_families,
        bytes,
        config,
    })
}

fn writer(path: &Path) -> io::Result<csv::Writer<BufWriter<File>>> {
    let mut out = csv::Writer::from_writer(BufWriter::new(File::create(path)?));
    out.write_record([
        "rec_id",
        "given_name",
        "surname",
        "street_number",
        "address_1",
        "suburb",
        "postcode",
        "date_of_birth",
    ])?;
    Ok(out)
}

/// The true people: most alone, about one in eight in a household of two to four.
fn people(spec: &PersonsSpec) -> Vec<Person> {
    let mut rng = fastrand::Rng::with_seed(spec.seed ^ 0x5EED_9E25);
    let suburbs: Vec<(String, u32)> = (0..400)
        .map(|i| {
            let name = format!(
                "{}{}",
                TOWN_HEADS[i % TOWN_HEADS.len()],
                TOWN_TAILS[(i / TOWN_HEADS.len() + i * 7) % TOWN_TAILS.len()]
            );
            (name, 1000 + (i as u32 * 241) % 98_000)
        })
        .collect();
    let mut people: Vec<Person> = Vec::with_capacity(spec.per_file);
    let mut household = 0u64;
    while people.len() < spec.per_file {
        let (suburb, first_code) = &suburbs[zipf(&mut rng, suburbs.len())];
        let street = format!(
            "{}{}",
            STREET_ROOTS[rng.usize(0..STREET_ROOTS.len())],
            STREET_TYPES[rng.usize(0..STREET_TYPES.len())]
        );
        let number = rng.u32(1..180);
        let postcode = format!("{:05}", first_code + rng.u32(0..40));
        let family = family_name(&mut rng);
        let members = if rng.f32() < 0.12 { rng.usize(2..5) } else { 1 };
        let shared = (members > 1).then(|| {
            household += 1;
            household
        });
        let mut given_used: Vec<String> = Vec::new();
        for m in 0..members {
            if people.len() >= spec.per_file {
                break;
            }
            let mut given = GIVEN[rng.usize(0..GIVEN.len())].to_string();
            while given_used.contains(&given) {
                given = GIVEN[rng.usize(0..GIVEN.len())].to_string();
            }
            given_used.push(given.clone());
            let year = if m < 2 {
                rng.i32(1940..1990)
            } else {
                rng.i32(1990..2010)
            };
            people.push(Person {
                id: people.len() as u64 + 1,
                given,
                family: family.clone(),
                street: street.clone(),
                number,
                suburb: suburb.clone(),
                postcode: postcode.clone(),
                dob: (year, rng.u32(1..13), rng.u32(1..29)),
                household: shared,
            });
        }
    }
    people
}

/// An index in `0..n`, small ones far likelier (roughly Zipf's law).
fn zipf(rng: &mut fastrand::Rng, n: usize) -> usize {
    let x = rng.f64();
    ((n as f64).powf(x) - 1.0) as usize % n
}

/// A family name: a common one two times in five, else one of the long tail.
fn family_name(rng: &mut fastrand::Rng) -> String {
    if rng.f32() < 0.4 {
        COMMON_FAMILY[zipf(rng, COMMON_FAMILY.len())].to_string()
    } else {
        format!(
            "{}{}",
            FAMILY_HEADS[rng.usize(0..FAMILY_HEADS.len())],
            FAMILY_TAILS[rng.usize(0..FAMILY_TAILS.len())]
        )
    }
}

/// One file's row of a person, as text.
struct Row {
    given: String,
    family: String,
    number: String,
    street: String,
    suburb: String,
    postcode: String,
    dob: String,
}

/// A person as one system typed them: each field disturbed with its own probability, all
/// probabilities times `strength`.
fn perturb(rng: &mut fastrand::Rng, p: &Person, strength: f32) -> Row {
    let chance = |rng: &mut fastrand::Rng, probability: f32| rng.f32() < probability * strength;
    let given = if chance(rng, 0.08) {
        String::new()
    } else if chance(rng, 0.04) {
        format!("{}.", p.given.chars().next().unwrap_or('X'))
    } else {
        p.given.clone()
    };
    let mut row = Row {
        given,
        family: p.family.clone(),
        number: p.number.to_string(),
        street: p.street.clone(),
        suburb: p.suburb.clone(),
        postcode: p.postcode.clone(),
        dob: String::new(),
    };
    let typos = |rng: &mut fastrand::Rng, text: &mut String, one: f32, two: f32| {
        let roll = rng.f32();
        if roll < two * strength {
            let once = typo(rng, text);
            *text = typo(rng, &once);
        } else if roll < (one + two) * strength {
            *text = typo(rng, text);
        }
    };
    typos(rng, &mut row.given, 0.25, 0.05);
    typos(rng, &mut row.family, 0.25, 0.05);
    typos(rng, &mut row.street, 0.25, 0.05);
    typos(rng, &mut row.suburb, 0.20, 0.03);
    if chance(rng, 0.08) {
        row.street = street_variant(&row.street);
    }
    if chance(rng, 0.04) {
        row.number = String::new();
    } else if chance(rng, 0.03) {
        row.number = digit_typo(rng, &row.number);
    }
    if chance(rng, 0.20) {
        row.postcode = digit_typo(rng, &row.postcode);
    } else if chance(rng, 0.03) {
        row.postcode = String::new();
    }
    if chance(rng, 0.03) {
        row.family.clear();
    }
    if chance(rng, 0.05) {
        row.suburb.clear();
    }
    if chance(rng, 0.03) {
        std::mem::swap(&mut row.given, &mut row.family);
    }
    let (y, m, d) = p.dob;
    let clean = format!("{y:04}{m:02}{d:02}");
    row.dob = if chance(rng, 0.05) {
        String::new()
    } else if chance(rng, 0.10) && d <= 12 {
        format!("{y:04}{d:02}{m:02}")
    } else if chance(rng, 0.15) {
        // One wrong digit, kept a valid date (an invalid one would cost the whole record until
        // a bad optional date is only noted: see issue 15.3).
        let mut typed = digit_typo(rng, &clean);
        for _ in 0..10 {
            if valid_date(&typed) {
                break;
            }
            typed = digit_typo(rng, &clean);
        }
        if valid_date(&typed) { typed } else { clean }
    } else {
        clean
    };
    row
}

/// `YYYYMMDD` that names a real day (years 1900-2029).
fn valid_date(text: &str) -> bool {
    let (Ok(y), Ok(m), Ok(d)) = (
        text[..4].parse::<i32>(),
        text[4..6].parse::<u32>(),
        text[6..8].parse::<u32>(),
    ) else {
        return false;
    };
    (1900..2030).contains(&y) && chrono::NaiveDate::from_ymd_opt(y, m, d).is_some()
}

/// `Lindenstraße` → `Lindenstr.`, `Lindenweg` → `Lindenweg` (only `straße` has short forms).
fn street_variant(street: &str) -> String {
    match street.strip_suffix("straße") {
        Some(stem) => format!("{stem}str."),
        None => street.to_string(),
    }
}

/// One digit replaced by another.
fn digit_typo(rng: &mut fastrand::Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let digits: Vec<usize> = (0..chars.len())
        .filter(|&i| chars[i].is_ascii_digit())
        .collect();
    if digits.is_empty() {
        return text.to_string();
    }
    let i = digits[rng.usize(0..digits.len())];
    let old = chars[i];
    let mut new = char::from(b'0' + rng.u8(0..10));
    while new == old {
        new = char::from(b'0' + rng.u8(0..10));
    }
    chars[i] = new;
    chars.into_iter().collect()
}

/// One typing error after the first letter: two letters swapped, one dropped, one doubled, or
/// one replaced by another.
fn typo(rng: &mut fastrand::Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    if chars.len() < 3 {
        return text.to_string();
    }
    let i = rng.usize(1..chars.len() - 1);
    match rng.u8(0..4) {
        0 => chars.swap(i, i + 1),
        1 => {
            chars.remove(i);
        }
        2 => chars.insert(i, chars[i]),
        _ => chars[i] = char::from(b'a' + rng.u8(0..26)),
    }
    chars.into_iter().collect()
}

/// The config: sources `a` and `b` (CSV, `benches/matching/febrl-person.yaml`), then the match
/// rules of `benches/matching/person-rules.yaml`.
fn concord_yaml() -> io::Result<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mapping = serde_json::to_string(
        &root
            .join("benches/matching/febrl-person.yaml")
            .to_string_lossy(),
    )
    .unwrap_or_default();
    let rules = fs::read_to_string(root.join("benches/matching/person-rules.yaml"))?;
    Ok(format!(
        "# Written by the matching benchmark's person generator.\n\
         store: {{ url: \"sqlite://concord.db\" }}\n\
         sources:\n\
         \x20 - name: a\n\
         \x20   driver: csv\n\
         \x20   files: \"persons/a.csv\"\n\
         \x20   priority: 10\n\
         \x20   mappings: [{mapping}]\n\
         \x20 - name: b\n\
         \x20   driver: csv\n\
         \x20   files: \"persons/b.csv\"\n\
         \x20   priority: 5\n\
         \x20   mappings: [{mapping}]\n\
         {rules}"
    ))
}
