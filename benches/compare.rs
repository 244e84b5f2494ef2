//! Micro-benchmark of the scored matcher's building blocks: preparing a record's [`Profile`],
//! grading pairs of profiles (the scoring hot path), comparing them with evidence kept, and
//! taking block keys.
//!
//! `cargo bench --bench compare -- [RECORDS] [CANDIDATES]` (default: 20000 records, each compared
//! with 20 candidates). The records are realistic customers made here, in memory: companies and
//! persons with umlauts, legal forms, addresses, phones, emails and VAT numbers, half of them
//! noisy copies of another (typos, swapped words, other spellings), as two sources deliver them.

use std::hint::black_box;
use std::time::Instant;

use serde_json::{Value, json};

use concord::reconcile::compare::{BlockKey, Comparator, Profile};
use concord::store::Fields;

/// The same allocator as the `concord` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const COMPANY_WORDS: &[&str] = &[
    "Müller",
    "Schmidt",
    "Acme",
    "Nordwind",
    "Bäckerei",
    "Stahlbau",
    "Kühltechnik",
    "Elektro",
    "Weber",
    "Fischer",
    "Logistik",
    "Hansa",
    "Rhein",
    "Alpen",
    "Meier",
    "Becker",
    "Systemhaus",
    "Präzision",
    "Wagner",
    "Holz",
];
const LEGAL_FORMS: &[&str] = &[
    "GmbH",
    "G.m.b.H.",
    "AG",
    "GmbH & Co. KG",
    "KG",
    "e.K.",
    "Ltd",
    "Inc.",
    "S.A.",
    "B.V.",
];
const GIVEN: &[&str] = &[
    "Hans", "Anna", "Jürgen", "Maria", "Peter", "Sabine", "Klaus", "Eva",
];
const STREETS: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstr.",
    "Lindenallee",
    "Goethestrasse",
    "Am Markt",
    "Industrieweg",
    "Schillerstraße",
    "Kirchplatz",
];
const CITIES: &[&str] = &[
    "Berlin",
    "München",
    "Hamburg",
    "Köln",
    "Frankfurt am Main",
    "Stuttgart",
];

fn pick<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(..items.len())]
}

/// A customer as a mapping would deliver it.
fn customer(rng: &mut fastrand::Rng, id: usize) -> Value {
    let person = rng.u8(..4) == 0;
    let street = format!("{} {}", pick(rng, STREETS), rng.u16(1..200));
    let postal = format!("{:05}", rng.u32(1000..99999));
    let mut record = json!({
        "emails": [format!("kontakt{id}@firma{}.de", id % 5000)],
        "phones": [format!("0{} {}", rng.u16(30..999), rng.u32(100000..9999999))],
        "addresses": [{"street": street, "postal_code": postal, "city": pick(rng, CITIES), "country": "DE"}],
    });
    if person {
        let given = pick(rng, GIVEN);
        let family = pick(rng, COMPANY_WORDS);
        record["given_name"] = json!(given);
        record["family_name"] = json!(family);
        record["name"] = json!(format!("{given} {family}"));
        record["date_of_birth"] = json!(format!(
            "19{:02}-{:02}-{:02}",
            rng.u8(40..99),
            rng.u8(1..13),
            rng.u8(1..29)
        ));
    } else {
        record["name"] = json!(format!(
            "{} {} {}",
            pick(rng, COMPANY_WORDS),
            pick(rng, COMPANY_WORDS),
            pick(rng, LEGAL_FORMS)
        ));
        record["tax_id"] = json!(format!("DE {}", rng.u32(100_000_000..999_999_999)));
    }
    record
}

/// A noisy copy: another system's spelling of the same customer.
fn noisy(rng: &mut fastrand::Rng, original: &Value) -> Value {
    let mut copy = original.clone();
    if let Some(name) = original["name"].as_str() {
        let mut words: Vec<String> = name.split(' ').map(str::to_string).collect();
        match rng.u8(..3) {
            0 => words.reverse(),
            1 => {
                // A dropped letter: a typo.
                let word = &mut words[0];
                if word.chars().count() > 3 {
                    *word = word
                        .chars()
                        .enumerate()
                        .filter(|(i, _)| *i != 2)
                        .map(|(_, c)| c)
                        .collect();
                }
            }
            _ => words = words.iter().map(|w| w.to_uppercase()).collect(),
        }
        copy["name"] = json!(words.join(" ").replace('ü', "ue").replace('ä', "ae"));
    }
    if let Some(street) = original["addresses"][0]["street"].as_str() {
        copy["addresses"][0]["street"] = json!(
            street
                .replace("straße", "str.")
                .replace("strasse", "straße")
        );
    }
    if let Some(phone) = original["phones"][0].as_str() {
        copy["phones"] = json!([format!("+49 {}", phone.trim_start_matches('0'))]);
    }
    if let Some(tax) = original["tax_id"].as_str() {
        copy["tax_id"] = json!(tax.trim_start_matches("DE "));
    }
    copy
}

fn fields(value: Value) -> Fields {
    match value {
        Value::Object(map) => map,
        _ => Fields::new(),
    }
}

fn main() {
    concord::memory::configure();
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let records = args.first().copied().unwrap_or(20_000);
    let candidates = args.get(1).copied().unwrap_or(20);
    let mut rng = fastrand::Rng::with_seed(6);
    let mut data: Vec<Fields> = Vec::with_capacity(records);
    while data.len() < records {
        let original = customer(&mut rng, data.len());
        let copy = noisy(&mut rng, &original);
        data.push(fields(original));
        data.push(fields(copy));
    }
    data.truncate(records);

    let started = Instant::now();
    let profiles: Vec<Profile> = data.iter().map(Profile::new).collect();
    let per_profile = started.elapsed().as_nanos() as f64 / records as f64;
    println!("Profile::new                {per_profile:>9.0} ns per record ({records} records)");

    let comparators = [
        Comparator::CompanyName,
        Comparator::LegalForm,
        Comparator::PersonName,
        Comparator::Generation,
        Comparator::DateOfBirth,
        Comparator::Address,
        Comparator::PostalCode,
        Comparator::Email,
        Comparator::Phone,
        Comparator::TaxId,
    ];
    let pairs: Vec<(usize, usize)> = (0..records)
        .flat_map(|i| {
            let mut pair_rng = fastrand::Rng::with_seed(i as u64);
            // The noisy copy first (a true match), then random candidates from the block.
            std::iter::once((i, i ^ 1))
                .chain((1..candidates).map(move |_| (i, pair_rng.usize(..records))))
        })
        .filter(|(_, j)| *j < records)
        .collect();

    let mut exact = [0usize; 4];
    let started = Instant::now();
    for &(i, j) in &pairs {
        for comparator in comparators {
            let graded = comparator.grade("name", &profiles[i], &profiles[j]);
            exact[graded.level as usize] += 1;
        }
    }
    let elapsed = started.elapsed().as_nanos() as f64;
    let grades = (pairs.len() * comparators.len()) as f64;
    println!(
        "Comparator::grade           {:>9.0} ns per comparison, {:>6.2} µs per pair of {} comparators ({} pairs)",
        elapsed / grades,
        elapsed / pairs.len() as f64 / 1000.0,
        comparators.len(),
        pairs.len()
    );
    println!(
        "  levels: exact {}, close {}, far {}, missing {}",
        exact[0], exact[1], exact[2], exact[3]
    );
    for comparator in comparators {
        let started = Instant::now();
        for &(i, j) in &pairs {
            black_box(comparator.grade("name", &profiles[i], &profiles[j]));
        }
        println!(
            "  {:<26}{:>9.0} ns",
            format!("{comparator:?}"),
            started.elapsed().as_nanos() as f64 / pairs.len() as f64
        );
    }

    let started = Instant::now();
    for &(i, j) in &pairs {
        for comparator in comparators {
            black_box(comparator.compare_profiles("name", &profiles[i], &profiles[j]));
        }
    }
    println!(
        "Comparator::compare_profiles{:>9.0} ns per comparison (with the compared values kept)",
        started.elapsed().as_nanos() as f64 / grades
    );

    let keys = [
        BlockKey::PostalCode,
        BlockKey::NamePrefix,
        BlockKey::NamePhonetic,
        BlockKey::NameToken,
        BlockKey::Email,
        BlockKey::Phone,
        BlockKey::TaxId,
    ];
    let started = Instant::now();
    let mut count = 0usize;
    for profile in &profiles {
        for key in keys {
            count += key.values_of(profile).len();
        }
    }
    println!(
        "BlockKey::values_of         {:>9.0} ns per record for {} kinds ({count} values)",
        started.elapsed().as_nanos() as f64 / records as f64,
        keys.len()
    );
}
