//! Synthetic source data for the benchmarks: SAP IDoc files and ERPNext JSON lines that look like
//! the real thing (the quickstart's shapes, at scale), with a known number of true companies so a
//! benchmark can check that reconciliation merged what it should and nothing else.
//!
//! Everything is a pure function of the [`GenSpec`]: the same spec writes the same bytes.

// Each bench target that includes this module uses a part of it.
#![allow(dead_code)]

pub mod noisy;
pub mod persons;

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Peak resident memory of this process so far, in MiB (VmHWM).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

/// Starts the peak RSS over from the current RSS (Linux `clear_refs`), so two stages measured in
/// one process each report their own peak.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Where benchmarks keep their generated data (git-ignored).
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data")
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenSpec {
    /// Customer records across both sources (SAP gets the larger half).
    pub customers: usize,
    /// Fraction (0..=1) of the ERPNext customers that are SAP companies again, under the same VAT
    /// number and a noisy name.
    pub overlap: f64,
    pub seed: u64,
}

/// What [`generate`] wrote, so a benchmark can assert the outcome of a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenManifest {
    /// DEBMAS IDocs (one customer each) in `sap/`.
    pub sap_customers: usize,
    /// Lines of `erpnext/customers.jsonl`.
    pub erpnext_customers: usize,
    /// ERPNext customers that are SAP companies (same VAT number).
    pub overlapping: usize,
    /// True companies and persons behind all customer records: the golden customers a correct
    /// reconciliation ends with.
    pub distinct_companies: usize,
    /// MATMAS IDocs in `sap/`.
    pub products: usize,
    /// ORDERS05 IDocs in `sap/`; each references an SAP customer and SAP products.
    pub orders: usize,
    /// IDoc files written to `sap/`.
    pub sap_files: usize,
    /// Bytes written, all files together.
    pub bytes: u64,
    /// The `concord.yaml` written to the output folder.
    pub config: PathBuf,
}

/// IDocs per SAP file: SAP's file port collects a packet per file; 10k keeps files near 10 MB.
const IDOCS_PER_FILE: usize = 10_000;
/// First SAP customer number; customer `i` is `KUNNR_BASE + i`, zero-padded to 10 digits.
const KUNNR_BASE: u64 = 1_000_000;
/// First SAP material number; material `i` is `MATNR_BASE + i`, zero-padded to 18 digits.
const MATNR_BASE: u64 = 200_000;
/// First SAP order number; order `i` is `BELNR_BASE + i`, zero-padded to 10 digits.
const BELNR_BASE: u64 = 5_000_000;

/// Writes SAP IDoc files (`sap/`), ERPNext customers as JSON lines (`erpnext/customers.jsonl`)
/// and a `concord.yaml` reading both with the repository's mappings. The `sap/` and `erpnext/`
/// folders are replaced, so files of an earlier run never mix in.
pub fn generate(dir: &Path, spec: &GenSpec) -> io::Result<GenManifest> {
    let erpnext_customers = spec.customers / 2;
    let sap_customers = spec.customers - erpnext_customers;
    let overlapping = ((spec.overlap.clamp(0.0, 1.0) * erpnext_customers as f64).round() as usize)
        .min(sap_customers);
    let products = (spec.customers / 10).max(1);
    let orders = spec.customers / 5;

    let sap_dir = dir.join("sap");
    let erp_dir = dir.join("erpnext");
    for sub in [&sap_dir, &erp_dir] {
        if sub.exists() {
            fs::remove_dir_all(sub)?;
        }
        fs::create_dir_all(sub)?;
    }

    let mut sap = IdocFiles::new(&sap_dir);
    for i in 0..sap_customers {
        let company = Company::new(spec.seed, i as u64);
        sap.push("DEBMAS07", |buf, docnum| {
            write_debmas(buf, docnum, i as u64, &company, spec.seed)
        })?;
    }
    sap.finish_file()?;
    for i in 0..products {
        sap.push("MATMAS05", |buf, docnum| {
            write_matmas(buf, docnum, i as u64, spec.seed)
        })?;
    }
    sap.finish_file()?;
    if sap_customers > 0 {
        for i in 0..orders {
            sap.push("ORDERS05", |buf, docnum| {
                write_orders(
                    buf,
                    docnum,
                    i as u64,
                    sap_customers as u64,
                    products as u64,
                    spec.seed,
                )
            })?;
        }
    }
    sap.finish_file()?;

    let mut bytes = sap.bytes;
    bytes += write_erpnext(
        &erp_dir.join("customers.jsonl"),
        spec,
        sap_customers,
        erpnext_customers,
        overlapping,
    )?;

    let config = dir.join("concord.yaml");
    let yaml = concord_yaml();
    fs::write(&config, &yaml)?;
    bytes += yaml.len() as u64;

    Ok(GenManifest {
        sap_customers,
        erpnext_customers,
        overlapping,
        distinct_companies: sap_customers + erpnext_customers - overlapping,
        products,
        orders: if sap_customers > 0 { orders } else { 0 },
        sap_files: sap.files,
        bytes,
        config,
    })
}

/// Writes one DEBMAS07 file of at least `min_bytes` (whole IDocs, so a little more) for the IDoc
/// reader's throughput benchmark; returns the bytes written.
pub fn generate_idoc_file(path: &Path, min_bytes: u64, seed: u64) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut written = write_counted(&mut out, &file_header("DEBMAS07"))?;
    let mut buf = String::with_capacity(4096);
    let mut i = 0u64;
    while written < min_bytes {
        buf.clear();
        write_debmas(&mut buf, i + 1, i, &Company::new(seed, i), seed);
        written += write_counted(&mut out, &buf)?;
        i += 1;
    }
    written += write_counted(&mut out, &file_footer("DEBMAS07"))?;
    out.flush()?;
    Ok(written)
}

fn write_counted(out: &mut impl Write, text: &str) -> io::Result<u64> {
    out.write_all(text.as_bytes())?;
    Ok(text.len() as u64)
}

fn file_header(root: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root}>\n")
}

fn file_footer(root: &str) -> String {
    format!("</{root}>\n")
}

/// The SAP output folder: IDocs of one type per file, `IDOCS_PER_FILE` at most, file names
/// `O_<client>_<first DOCNUM>.xml` as SAP's file port names them, so that sorting the names gives
/// the order SAP sent them in (customers, then materials, then orders).
struct IdocFiles {
    dir: PathBuf,
    current: Option<(BufWriter<File>, &'static str, usize)>,
    docnum: u64,
    buf: String,
    files: usize,
    bytes: u64,
}

impl IdocFiles {
    fn new(dir: &Path) -> IdocFiles {
        IdocFiles {
            dir: dir.to_path_buf(),
            current: None,
            docnum: 1_000_000,
            buf: String::with_capacity(8192),
            files: 0,
            bytes: 0,
        }
    }

    fn push(
        &mut self,
        root: &'static str,
        write_idoc: impl FnOnce(&mut String, u64),
    ) -> io::Result<()> {
        self.docnum += 1;
        let full = matches!(&self.current, Some((_, r, n)) if *r != root || *n >= IDOCS_PER_FILE);
        if full {
            self.finish_file()?;
        }
        if self.current.is_none() {
            let path = self.dir.join(format!("O_100_{:016}.xml", self.docnum));
            let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
            self.bytes += write_counted(&mut out, &file_header(root))?;
            self.current = Some((out, root, 0));
            self.files += 1;
        }
        self.buf.clear();
        write_idoc(&mut self.buf, self.docnum);
        if let Some((out, _, n)) = &mut self.current {
            self.bytes += write_counted(out, &self.buf)?;
            *n += 1;
        }
        Ok(())
    }

    fn finish_file(&mut self) -> io::Result<()> {
        if let Some((mut out, root, _)) = self.current.take() {
            self.bytes += write_counted(&mut out, &file_footer(root))?;
            out.flush()?;
        }
        Ok(())
    }
}

/// A country's look: names, legal forms, places, and how its VAT numbers are written.
struct Country {
    code: &'static str,
    /// The name ERPNext shows.
    name: &'static str,
    spras: &'static str,
    currency: &'static str,
    surnames: &'static [&'static str],
    trades: &'static [&'static str],
    forms: &'static [&'static str],
    /// City, region, first postal code, number of postal codes.
    cities: &'static [(&'static str, &'static str, u32, u32)],
    streets: &'static [&'static str],
    phone: &'static str,
}

const DE_SURNAMES: &[&str] = &[
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
    "Werner",
    "Krause",
    "Köhler",
    "Jäger",
    "Groß",
    "Weiß",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "Schuster",
    "Böhm",
];
const DE_TRADES: &[&str] = &[
    "Maschinenbau",
    "Metallbau",
    "Elektrotechnik",
    "Logistik",
    "Kunststofftechnik",
    "Antriebstechnik",
    "Präzisionstechnik",
    "Hydraulik",
    "Verpackungen",
    "Holzbau",
    "Feinmechanik",
    "Anlagenbau",
    "Haustechnik",
    "Gießerei",
    "Stahlhandel",
    "Werkzeugbau",
    "Fördertechnik",
];
const NL_SURNAMES: &[&str] = &[
    "de Vries",
    "van Dijk",
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "van der Berg",
];
const NL_TRADES: &[&str] = &[
    "Logistiek",
    "Techniek",
    "Installatietechniek",
    "Bouw",
    "Metaalbewerking",
    "Handel",
    "Transport",
    "Verpakking",
];
const GB_SURNAMES: &[&str] = &[
    "Thompson",
    "Whitfield",
    "Harrington",
    "Ashworth",
    "Carter",
    "Fletcher",
    "Blackwood",
    "Northgate",
    "Riverside",
    "Kingsley",
    "Brookfield",
    "Summit",
    "Ironbridge",
    "Pennine",
    "Severn",
];
const GB_TRADES: &[&str] = &[
    "Engineering",
    "Logistics",
    "Industrial Supply",
    "Fabrication",
    "Controls",
    "Tooling",
    "Packaging",
    "Components",
    "Hydraulics",
];
const FR_SURNAMES: &[&str] = &[
    "Dubois",
    "Lefèvre",
    "Moreau",
    "Laurent",
    "Girard",
    "Rousseau",
    "Fontaine",
    "Mercier",
    "Chevalier",
    "Bonnet",
    "Lambert",
    "Faure",
];
const FR_TRADES: &[&str] = &[
    "Mécanique",
    "Logistique",
    "Industrie",
    "Équipements",
    "Usinage",
    "Emballages",
    "Hydraulique",
];

const COUNTRIES: &[Country] = &[
    Country {
        code: "DE",
        name: "Germany",
        spras: "D",
        currency: "EUR",
        surnames: DE_SURNAMES,
        trades: DE_TRADES,
        forms: &[
            "GmbH",
            "GmbH",
            "GmbH",
            "GmbH & Co. KG",
            "AG",
            "KG",
            "e.K.",
            "OHG",
        ],
        cities: &[
            ("München", "09", 80331, 1600),
            ("Stuttgart", "08", 70173, 600),
            ("Hamburg", "02", 20095, 1500),
            ("Köln", "05", 50667, 1200),
            ("Nürnberg", "09", 90402, 100),
            ("Göppingen", "08", 73033, 5),
            ("Leipzig", "14", 4103, 260),
            ("Bielefeld", "05", 33602, 130),
        ],
        streets: &[
            "Industriestraße",
            "Hauptstraße",
            "Gewerbering",
            "Bahnhofstraße",
            "Am Hafen",
            "Lindenweg",
        ],
        phone: "+49",
    },
    Country {
        code: "AT",
        name: "Austria",
        spras: "D",
        currency: "EUR",
        surnames: DE_SURNAMES,
        trades: DE_TRADES,
        forms: &["GmbH", "GmbH", "AG", "KG", "OG"],
        cities: &[
            ("Wien", "09", 1010, 230),
            ("Linz", "04", 4020, 40),
            ("Graz", "06", 8010, 60),
            ("Salzburg", "05", 5020, 60),
        ],
        streets: &[
            "Wiener Straße",
            "Hauptplatz",
            "Industriezeile",
            "Gewerbepark",
        ],
        phone: "+43",
    },
    Country {
        code: "CH",
        name: "Switzerland",
        spras: "D",
        currency: "CHF",
        surnames: DE_SURNAMES,
        trades: DE_TRADES,
        forms: &["AG", "AG", "GmbH", "SA"],
        cities: &[
            ("Zürich", "ZH", 8001, 60),
            ("Winterthur", "ZH", 8400, 12),
            ("Basel", "BS", 4001, 60),
            ("Bern", "BE", 3001, 30),
        ],
        streets: &[
            "Zürcherstrasse",
            "Bahnhofstrasse",
            "Industriestrasse",
            "Seestrasse",
        ],
        phone: "+41",
    },
    Country {
        code: "NL",
        name: "Netherlands",
        spras: "E",
        currency: "EUR",
        surnames: NL_SURNAMES,
        trades: NL_TRADES,
        forms: &["B.V.", "B.V.", "N.V.", "V.O.F."],
        cities: &[
            ("Rotterdam", "ZH", 3011, 80),
            ("Amsterdam", "NH", 1011, 100),
            ("Utrecht", "UT", 3511, 80),
            ("Eindhoven", "NB", 5611, 50),
        ],
        streets: &["Havenweg", "Industrieweg", "Kerkstraat", "Stationsplein"],
        phone: "+31",
    },
    Country {
        code: "GB",
        name: "United Kingdom",
        spras: "E",
        currency: "GBP",
        surnames: GB_SURNAMES,
        trades: GB_TRADES,
        forms: &["Ltd", "Ltd", "Limited", "PLC", "LLP"],
        cities: &[
            ("Reading", "", 1, 9),
            ("Bristol", "", 1, 16),
            ("Manchester", "", 1, 20),
            ("Leeds", "", 1, 17),
        ],
        streets: &[
            "Station Road",
            "High Street",
            "Mill Lane",
            "Harbour Road",
            "Church Street",
        ],
        phone: "+44",
    },
    Country {
        code: "FR",
        name: "France",
        spras: "F",
        currency: "EUR",
        surnames: FR_SURNAMES,
        trades: FR_TRADES,
        forms: &["SARL", "SAS", "SA"],
        cities: &[
            ("Lyon", "", 69001, 9),
            ("Paris", "", 75001, 20),
            ("Lille", "", 59000, 50),
            ("Nantes", "", 44000, 300),
        ],
        streets: &[
            "Rue de la République",
            "Avenue Jean Jaurès",
            "Rue du Port",
            "Boulevard Voltaire",
        ],
        phone: "+33",
    },
];

/// Which country a company is in; weights of the entries of [`COUNTRIES`] (DE-heavy, like a
/// German mid-sized manufacturer's customer base).
const COUNTRY_WEIGHTS: [u32; 6] = [50, 12, 10, 10, 10, 8];

/// A true company: what every source record of it derives from.
struct Company {
    country: &'static Country,
    surname: &'static str,
    name: String,
    form: &'static str,
    street: String,
    postal_code: String,
    city: &'static str,
    region: &'static str,
    vat: String,
    phone: String,
    email: String,
}

impl Company {
    /// Company number `id`, the same every time for the same seed; ids are unique per true
    /// company, and so are VAT number and email.
    fn new(seed: u64, id: u64) -> Company {
        let mut rng = rng_for(seed, id);
        let total: u32 = COUNTRY_WEIGHTS.iter().sum();
        let mut pick = rng.u32(0..total);
        let mut country = &COUNTRIES[0];
        for (c, w) in COUNTRIES.iter().zip(COUNTRY_WEIGHTS) {
            if pick < w {
                country = c;
                break;
            }
            pick -= w;
        }
        let surname = country.surnames[rng.usize(0..country.surnames.len())];
        let trade = country.trades[rng.usize(0..country.trades.len())];
        let form = country.forms[rng.usize(0..country.forms.len())];
        let name = format!("{surname} {trade} {form}");
        let (city, region, first_plz, plz_count) =
            country.cities[rng.usize(0..country.cities.len())];
        let plz = first_plz + rng.u32(0..plz_count);
        let postal_code = match country.code {
            "DE" | "FR" => format!("{plz:05}"),
            "NL" => format!("{plz:04} {}{}", rng.uppercase(), rng.uppercase()),
            "GB" => format!(
                "{}{plz} {}{}{}",
                &city[..2].to_uppercase(),
                rng.u8(1..10),
                rng.uppercase(),
                rng.uppercase()
            ),
            _ => format!("{plz:04}"),
        };
        let street = format!(
            "{} {}",
            country.streets[rng.usize(0..country.streets.len())],
            rng.u32(1..180)
        );
        let phone = format!(
            "{} {} {}",
            country.phone,
            rng.u32(20..999),
            rng.u32(100_000..9_999_999)
        );
        let domain_tld = match country.code {
            "GB" => "co.uk".to_string(),
            c => c.to_lowercase(),
        };
        let email = format!(
            "info@{}-{id}.{domain_tld}",
            slug(&format!("{surname} {trade}"))
        );
        Company {
            country,
            surname,
            name,
            form,
            street,
            postal_code,
            city,
            region,
            vat: vat_number(country.code, id),
            phone,
            email,
        }
    }
}

/// An RNG of its own for every (seed, id), so that a company can be rebuilt anywhere from its id.
fn rng_for(seed: u64, id: u64) -> fastrand::Rng {
    fastrand::Rng::with_seed(seed ^ id.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// `id` spread over `0..modulus` without collisions (7919 is a prime that divides none of the
/// moduli used), so consecutive companies get unrelated-looking VAT numbers.
fn spread(id: u64, modulus: u64) -> u64 {
    (id.wrapping_mul(7919).wrapping_add(104_729)) % modulus
}

/// The VAT number of company `id` in the compact form SAP stores (`STCEG`).
fn vat_number(country: &str, id: u64) -> String {
    match country {
        "AT" => format!("ATU{}", 10_000_000 + spread(id, 90_000_000)),
        "CH" => format!("CHE{}MWST", 100_000_000 + spread(id, 900_000_000)),
        "NL" => format!("NL{:09}B01", spread(id, 1_000_000_000)),
        "FR" => format!("FR{:02}{}", id % 97, 300_000_000 + spread(id, 600_000_000)),
        other => format!("{other}{}", 100_000_000 + spread(id, 900_000_000)),
    }
}

/// The same VAT number as people type it into another system: spaced, dotted or lower-cased.
/// Normalizing (upper case, only `[A-Z0-9]`) gives the compact form back.
fn noisy_vat(rng: &mut fastrand::Rng, vat: &str) -> String {
    let (prefix, rest) = vat.split_at(2);
    match rng.u8(0..4) {
        0 => vat.to_string(),
        1 => {
            let mut out = format!("{prefix} ");
            for (i, c) in rest.chars().enumerate() {
                if i > 0 && i % 3 == 0 {
                    out.push(' ');
                }
                out.push(c);
            }
            out
        }
        2 => {
            let mut out = format!("{prefix}-");
            for (i, c) in rest.chars().enumerate() {
                if i > 0 && i % 3 == 0 {
                    out.push('.');
                }
                out.push(c);
            }
            out
        }
        _ => vat.to_lowercase(),
    }
}

/// Legal forms and how else they get written.
const FORM_VARIANTS: &[(&str, &[&str])] = &[
    (
        "GmbH & Co. KG",
        &["GmbH u. Co. KG", "GmbH & Co KG", "GmbH + Co. KG"],
    ),
    ("GmbH", &["G.m.b.H.", "Gmbh", "Gesellschaft mbH", ""]),
    ("AG", &["A.G.", "Aktiengesellschaft", ""]),
    ("KG", &["K.G."]),
    ("e.K.", &["e. K.", "eK", ""]),
    ("OHG", &["oHG"]),
    ("OG", &["O.G."]),
    ("SA", &["S.A."]),
    ("B.V.", &["BV", "B.V", ""]),
    ("N.V.", &["NV"]),
    ("V.O.F.", &["VOF"]),
    ("Ltd", &["Limited", "Ltd.", "LTD"]),
    ("Limited", &["Ltd", "Ltd."]),
    ("PLC", &["plc", "Public Limited Company"]),
    ("LLP", &["L.L.P."]),
    ("SARL", &["S.A.R.L.", "Sarl"]),
    ("SAS", &["S.A.S."]),
];

/// The company's name as a second system holds it: legal form written differently, umlauts
/// transliterated, other case, extra spaces, a typo — at least one of them.
fn noisy_name(rng: &mut fastrand::Rng, company: &Company) -> String {
    let base = company
        .name
        .strip_suffix(company.form)
        .unwrap_or(&company.name)
        .trim_end()
        .to_string();
    let mut changed = false;
    let mut form = company.form.to_string();
    if rng.f32() < 0.5
        && let Some((_, variants)) = FORM_VARIANTS.iter().find(|(f, _)| *f == company.form)
    {
        form = variants[rng.usize(0..variants.len())].to_string();
        changed = true;
    }
    let mut name = if form.is_empty() {
        base
    } else {
        format!("{base} {form}")
    };
    if rng.f32() < 0.4 && name.contains(['ä', 'ö', 'ü', 'ß', 'é', 'è', 'É']) {
        name = transliterate(&name);
        changed = true;
    }
    if rng.f32() < 0.15 {
        name = typo(rng, &name);
        changed = true;
    }
    if rng.f32() < 0.2 {
        name = name.replacen(' ', "  ", 1);
        changed = true;
    }
    let case = rng.f32();
    if case < 0.2 || !changed {
        name = name.to_uppercase();
    } else if case < 0.25 {
        name = name.to_lowercase();
    }
    if rng.f32() < 0.1 {
        name.push(' ');
    }
    name
}

fn transliterate(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'Ä' => out.push_str("Ae"),
            'Ö' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'ß' => out.push_str("ss"),
            'é' | 'è' => out.push('e'),
            'É' => out.push('E'),
            other => out.push(other),
        }
    }
    out
}

/// Two neighbouring letters swapped, somewhere after the first letter.
fn typo(rng: &mut fastrand::Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let candidates: Vec<usize> = (1..chars.len().saturating_sub(1))
        .filter(|&i| {
            chars[i].is_alphabetic() && chars[i + 1].is_alphabetic() && chars[i] != chars[i + 1]
        })
        .collect();
    if !candidates.is_empty() {
        let i = candidates[rng.usize(0..candidates.len())];
        chars.swap(i, i + 1);
    }
    chars.into_iter().collect()
}

/// Lower-case ASCII words joined by `-`, for email domains.
fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in transliterate(text).chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Text content with XML's special characters escaped.
fn push_xml(buf: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => buf.push_str("&amp;"),
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            other => buf.push(other),
        }
    }
}

/// `<TAG>text</TAG>`
fn field(buf: &mut String, tag: &str, text: &str) {
    buf.push('<');
    buf.push_str(tag);
    buf.push('>');
    push_xml(buf, text);
    buf.push_str("</");
    buf.push_str(tag);
    buf.push('>');
}

/// The IDoc's opening and control record. `created` is `(YYYYMMDD, HHMMSS)`.
fn open_idoc(buf: &mut String, docnum: u64, idoctyp: &str, mestyp: &str, created: (&str, &str)) {
    buf.push_str("<IDOC BEGIN=\"1\"><EDI_DC40 SEGMENT=\"1\">");
    field(buf, "TABNAM", "EDI_DC40");
    field(buf, "MANDT", "100");
    field(buf, "DOCNUM", &format!("{docnum:016}"));
    field(buf, "DOCREL", "758");
    field(buf, "STATUS", "30");
    field(buf, "DIRECT", "1");
    field(buf, "OUTMOD", "2");
    field(buf, "IDOCTYP", idoctyp);
    field(buf, "MESTYP", mestyp);
    field(buf, "SNDPOR", "SAPPRD");
    field(buf, "SNDPRT", "LS");
    field(buf, "SNDPRN", "PRDCLNT100");
    field(buf, "RCVPOR", "CONCORD");
    field(buf, "RCVPRT", "LS");
    field(buf, "RCVPRN", "CONCORD");
    field(buf, "CREDAT", created.0);
    field(buf, "CRETIM", created.1);
    buf.push_str("</EDI_DC40>");
}

/// A creation time in May 2024, spread by `n` seconds, as SAP writes CREDAT and CRETIM.
fn sap_timestamp(n: u64) -> (String, String) {
    let secs = n % (28 * 86_400);
    let (day, rest) = (1 + secs / 86_400, secs % 86_400);
    (
        format!("202405{day:02}"),
        format!("{:02}{:02}{:02}", rest / 3600, rest / 60 % 60, rest % 60),
    )
}

fn write_debmas(buf: &mut String, docnum: u64, customer: u64, company: &Company, seed: u64) {
    let mut rng = rng_for(seed ^ 0xDEB, customer);
    let (credat, cretim) = sap_timestamp(customer * 7);
    open_idoc(buf, docnum, "DEBMAS07", "DEBMAS", (&credat, &cretim));
    let msgfn = ["009", "004", "005"][rng.usize(0..3)];
    let kunnr = format!("{:010}", KUNNR_BASE + customer);
    buf.push_str("<E1KNA1M SEGMENT=\"1\">");
    field(buf, "MSGFN", msgfn);
    field(buf, "KUNNR", &kunnr);
    field(buf, "ANRED", "Firma");
    field(buf, "KTOKD", "0001");
    field(buf, "LAND1", company.country.code);
    if rng.f32() < 0.2 {
        // SAP pads character fields to their length (NAME1: 35).
        field(buf, "NAME1", &format!("{:<35}", company.name));
    } else {
        field(buf, "NAME1", &company.name);
    }
    field(buf, "ORT01", company.city);
    field(buf, "PSTLZ", &company.postal_code);
    if !company.region.is_empty() {
        field(buf, "REGIO", company.region);
    }
    let sortl: String = company
        .name
        .chars()
        .take(10)
        .collect::<String>()
        .to_uppercase();
    field(buf, "SORTL", sortl.trim_end());
    field(buf, "SPRAS", company.country.spras);
    field(buf, "STRAS", &company.street);
    field(buf, "TELF1", &company.phone);
    field(buf, "STCEG", &company.vat);
    buf.push_str("<E1KNVVM SEGMENT=\"1\">");
    field(buf, "MSGFN", msgfn);
    field(buf, "VKORG", "1000");
    field(buf, "VTWEG", "10");
    field(buf, "SPART", "00");
    field(buf, "KDGRP", ["01", "02", "03", "04"][rng.usize(0..4)]);
    field(buf, "WAERS", company.country.currency);
    field(buf, "ZTERM", "ZB30");
    buf.push_str("</E1KNVVM></E1KNA1M></IDOC>\n");
}

/// German description, English description, SAP unit.
const MATERIALS: &[(&str, &str, &str)] = &[
    ("Kreiselpumpe", "Centrifugal pump", "ST"),
    ("Drehstrommotor", "Three-phase motor", "ST"),
    ("Rillenkugellager", "Deep groove ball bearing", "ST"),
    ("Gleitringdichtung", "Mechanical seal", "ST"),
    ("Hydraulikzylinder", "Hydraulic cylinder", "ST"),
    ("Steuerventil", "Control valve", "ST"),
    ("Sechskantschraube", "Hex bolt", "ST"),
    ("Filterpatrone", "Filter cartridge", "ST"),
    ("Hydraulikschlauch", "Hydraulic hose", "M"),
    ("Lagerfett", "Bearing grease", "KG"),
];

fn ean13(number: u64) -> String {
    let base = format!("40{:010}", number % 10_000_000_000);
    let sum: u32 = base
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{base}{}", (10 - sum % 10) % 10)
}

fn write_matmas(buf: &mut String, docnum: u64, material: u64, seed: u64) {
    let mut rng = rng_for(seed ^ 0x3A7, material);
    let (de, en, unit) = MATERIALS[rng.usize(0..MATERIALS.len())];
    let size = rng.u32(10..400);
    let (credat, cretim) = sap_timestamp(material * 13);
    open_idoc(buf, docnum, "MATMAS05", "MATMAS", (&credat, &cretim));
    buf.push_str("<E1MARAM SEGMENT=\"1\">");
    field(buf, "MSGFN", "005");
    field(buf, "MATNR", &format!("{:018}", MATNR_BASE + material));
    field(
        buf,
        "MTART",
        ["FERT", "HALB", "ROH", "HAWA"][rng.usize(0..4)],
    );
    field(buf, "MBRSH", "M");
    field(buf, "MEINS", unit);
    field(buf, "EAN11", &ean13(MATNR_BASE + material));
    buf.push_str("<E1MAKTM SEGMENT=\"1\">");
    field(buf, "MSGFN", "005");
    field(buf, "SPRAS", "D");
    field(buf, "MAKTX", &format!("{de} {size}"));
    field(buf, "SPRAS_ISO", "DE");
    buf.push_str("</E1MAKTM><E1MAKTM SEGMENT=\"1\">");
    field(buf, "MSGFN", "005");
    field(buf, "SPRAS", "E");
    field(buf, "MAKTX", &format!("{en} {size}"));
    field(buf, "SPRAS_ISO", "EN");
    buf.push_str("</E1MAKTM></E1MARAM></IDOC>\n");
}

/// Cents as SAP writes amounts: `1234.50`.
fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn write_orders(
    buf: &mut String,
    docnum: u64,
    order: u64,
    customers: u64,
    products: u64,
    seed: u64,
) {
    let mut rng = rng_for(seed ^ 0x0DE, order);
    let (credat, cretim) = sap_timestamp(order * 11);
    let customer = rng.u64(0..customers);
    let company = Company::new(seed, customer);
    let kunnr = format!("{:010}", KUNNR_BASE + customer);
    open_idoc(buf, docnum, "ORDERS05", "ORDERS", (&credat, &cretim));
    buf.push_str("<E1EDK01 SEGMENT=\"1\">");
    field(buf, "ACTION", "000");
    field(buf, "CURCY", company.country.currency);
    field(buf, "BSART", "TA");
    field(buf, "BELNR", &format!("{:010}", BELNR_BASE + order));
    buf.push_str("</E1EDK01>");
    let delivery_day = (credat[6..].parse::<u32>().unwrap_or(1) + 14).min(31);
    for (iddat, datum) in [
        ("002", format!("{}{delivery_day:02}", &credat[..6])),
        ("012", credat.clone()),
    ] {
        buf.push_str("<E1EDK03 SEGMENT=\"1\">");
        field(buf, "IDDAT", iddat);
        field(buf, "DATUM", &datum);
        buf.push_str("</E1EDK03>");
    }
    for parvw in ["AG", "WE"] {
        buf.push_str("<E1EDKA1 SEGMENT=\"1\">");
        field(buf, "PARVW", parvw);
        field(buf, "PARTN", &kunnr);
        buf.push_str("</E1EDKA1>");
    }
    let lines = rng.u64(1..5);
    let mut total = 0;
    for line in 1..=lines {
        let material = MATNR_BASE + rng.u64(0..products);
        let quantity = rng.u64(1..50);
        let price = rng.u64(250..250_000);
        let amount = quantity * price;
        total += amount;
        buf.push_str("<E1EDP01 SEGMENT=\"1\">");
        field(buf, "POSEX", &format!("{:06}", line * 10));
        field(buf, "MENGE", &format!("{quantity}.000"));
        field(buf, "MENEE", "PCE");
        field(buf, "VPREI", &money(price));
        field(buf, "PEINH", "1");
        field(buf, "NETWR", &money(amount));
        buf.push_str("<E1EDP19 SEGMENT=\"1\">");
        field(buf, "QUALF", "001");
        field(buf, "IDTNR", &format!("C-{}", material % 100_000));
        buf.push_str("</E1EDP19><E1EDP19 SEGMENT=\"1\">");
        field(buf, "QUALF", "002");
        field(buf, "IDTNR", &format!("{material:018}"));
        buf.push_str("</E1EDP19></E1EDP01>");
    }
    buf.push_str("<E1EDS01 SEGMENT=\"1\">");
    field(buf, "SUMID", "001");
    field(buf, "SUMME", &lines.to_string());
    buf.push_str("</E1EDS01><E1EDS01 SEGMENT=\"1\">");
    field(buf, "SUMID", "002");
    field(buf, "SUMME", &money(total));
    field(buf, "SUNIT", company.country.currency);
    buf.push_str("</E1EDS01></IDOC>\n");
}

const GIVEN_NAMES: &[&str] = &[
    "Anna", "Lukas", "Sophie", "Jonas", "Marie", "Felix", "Laura", "Max", "Emma", "Paul", "Lena",
    "Tim", "Sarah", "Jan", "Julia", "Noah",
];

/// ERPNext customers, one JSON object a line, in the shape of the items of ERPNext's REST
/// `{"data": [...]}`. Record `j` is an SAP company again when the overlap says so (spread evenly
/// over the file), else a company or person of its own.
fn write_erpnext(
    path: &Path,
    spec: &GenSpec,
    sap_customers: usize,
    erpnext_customers: usize,
    overlapping: usize,
) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut line: Vec<u8> = Vec::with_capacity(2048);
    let mut bytes = 0u64;
    let mut overlaps_so_far = 0usize;
    for j in 0..erpnext_customers {
        let mut rng = rng_for(spec.seed ^ 0xE4B, j as u64);
        let overlaps_after = (j + 1) * overlapping / erpnext_customers;
        let is_overlap = overlaps_after > overlaps_so_far;
        let record = if is_overlap {
            let sap_id = (overlaps_so_far * sap_customers / overlapping.max(1)) as u64;
            overlaps_so_far = overlaps_after;
            let company = Company::new(spec.seed, sap_id);
            let name = noisy_name(&mut rng, &company);
            let vat = noisy_vat(&mut rng, &company.vat);
            ErpCustomer::company(company, name, Some(vat))
        } else {
            // Ids after the SAP ones: true companies of their own.
            let id = (sap_customers + j) as u64;
            let company = Company::new(spec.seed, id);
            if rng.f32() < 0.1 {
                let given = GIVEN_NAMES[rng.usize(0..GIVEN_NAMES.len())];
                let family = company.surname;
                let email = format!("{}.{}.{id}@example-mail.de", slug(given), slug(family));
                let mut person = ErpCustomer::company(company, format!("{given} {family}"), None);
                person.individual = true;
                person.email = email;
                person
            } else {
                let name = company.name.clone();
                let vat = Some(company.vat.clone());
                ErpCustomer::company(company, name, vat)
            }
        };
        line.clear();
        record.write_json(&mut line, j, &mut rng)?;
        line.push(b'\n');
        out.write_all(&line)?;
        bytes += line.len() as u64;
    }
    out.flush()?;
    Ok(bytes)
}

/// One ERPNext customer record before it is written.
struct ErpCustomer {
    company: Company,
    name: String,
    tax_id: Option<String>,
    email: String,
    individual: bool,
}

impl ErpCustomer {
    fn company(company: Company, name: String, tax_id: Option<String>) -> ErpCustomer {
        let email = company.email.clone();
        ErpCustomer {
            company,
            name,
            tax_id,
            email,
            individual: false,
        }
    }

    fn write_json(&self, out: &mut Vec<u8>, j: usize, rng: &mut fastrand::Rng) -> io::Result<()> {
        let c = &self.company;
        let modified = format!(
            "2024-05-{:02} {:02}:{:02}:{:02}.{:06}",
            1 + rng.u32(0..28),
            rng.u32(7..19),
            rng.u32(0..60),
            rng.u32(0..60),
            rng.u32(0..1_000_000)
        );
        let (ctype, group) = if self.individual {
            ("Individual", "Individual")
        } else {
            (
                "Company",
                ["Commercial", "Industrial", "Retail"][rng.usize(0..3)],
            )
        };
        write!(
            out,
            "{{\"doctype\":\"Customer\",\"name\":\"CUST-{:07}\",\"modified\":\"{modified}\",\
             \"docstatus\":0,\"customer_name\":",
            j + 1
        )?;
        serde_json::to_writer(&mut *out, &self.name)?;
        write!(
            out,
            ",\"customer_type\":\"{ctype}\",\"customer_group\":\"{group}\",\"territory\":\"{}\",\"tax_id\":",
            c.country.name
        )?;
        serde_json::to_writer(&mut *out, &self.tax_id)?;
        out.extend_from_slice(b",\"email_id\":");
        serde_json::to_writer(&mut *out, &self.email)?;
        out.extend_from_slice(b",\"mobile_no\":");
        serde_json::to_writer(&mut *out, &c.phone)?;
        write!(
            out,
            ",\"disabled\":{},\"address_line1\":",
            u8::from(rng.f32() < 0.02)
        )?;
        serde_json::to_writer(&mut *out, &c.street)?;
        out.extend_from_slice(b",\"city\":");
        serde_json::to_writer(&mut *out, c.city)?;
        out.extend_from_slice(b",\"pincode\":");
        serde_json::to_writer(&mut *out, &c.postal_code)?;
        write!(out, ",\"country\":\"{}\"}}", c.country.name)?;
        Ok(())
    }
}

/// The config a benchmark syncs with: relative data folders, the repository's mappings by
/// absolute path, and the quickstart's match rules.
fn concord_yaml() -> String {
    let mappings = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings");
    let quoted = |rel: &str| {
        let path = mappings.join(rel);
        serde_json::to_string(&path.to_string_lossy()).unwrap_or_default()
    };
    format!(
        "# Written by the benchmark data generator.\n\
         store: {{ url: \"sqlite://concord.db\" }}\n\
         sources:\n\
         \x20 - name: sap\n\
         \x20   driver: idoc\n\
         \x20   files: \"sap/*.xml\"\n\
         \x20   priority: 10\n\
         \x20   mappings: [{}, {}, {}]\n\
         \x20 - name: erpnext\n\
         \x20   driver: json\n\
         \x20   files: \"erpnext/*.jsonl\"\n\
         \x20   format: lines\n\
         \x20   priority: 5\n\
         \x20   mappings: [{}]\n\
         match:\n\
         \x20 customer:\n\
         \x20   - {{ rule: tax_id, exact: [tax_id] }}\n\
         \x20   - {{ rule: email, exact: [emails] }}\n\
         \x20 product:\n\
         \x20   - {{ rule: sku, exact: [sku] }}\n\
         \x20   - {{ rule: gtin, exact: [gtin] }}\n",
        quoted("sap-idoc/debmas.yaml"),
        quoted("sap-idoc/matmas.yaml"),
        quoted("sap-idoc/orders05.yaml"),
        quoted("erpnext/customer.yaml"),
    )
}
