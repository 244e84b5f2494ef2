//! Lookup tables: named tables of a mapping file, inline tables, and the built-in `iso_country`
//! and `unit` tables.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use serde::Deserialize;

use super::scalar::Scalar;

/// What a lookup does with a value it has no entry for.
#[derive(Debug, Clone, PartialEq)]
pub enum Fallback {
    /// The record fails: an unknown code is a data error someone must see.
    Fail,
    /// The input passes through unchanged.
    Keep,
    /// This value is used.
    Value(String),
}

/// A compiled lookup table: keys matched exactly first, then case-insensitively, then (for
/// tables built [`LookupTable::with_loose_keys`]) without punctuation and accents.
#[derive(Debug)]
pub struct LookupTable {
    name: String,
    exact: HashMap<String, String>,
    folded: HashMap<String, String>,
    /// Keys as [`loose_key`] writes them; empty unless the table asked for loose keys.
    loose: HashMap<String, String>,
    fallback: Fallback,
}

impl LookupTable {
    /// Builds a table; `name` appears in the reason when a value has no entry.
    pub fn new(
        name: impl Into<String>,
        entries: impl IntoIterator<Item = (String, String)>,
        fallback: Fallback,
    ) -> LookupTable {
        let exact: HashMap<String, String> = entries.into_iter().collect();
        let mut folded = HashMap::with_capacity(exact.len());
        for (k, v) in &exact {
            folded.entry(k.to_lowercase()).or_insert_with(|| v.clone());
        }
        LookupTable {
            name: name.into(),
            exact,
            folded,
            loose: HashMap::new(),
            fallback,
        }
    }

    /// Also matches keys written with other punctuation, spacing or accents (`U.S.A` = `USA`,
    /// `P.R. China` = `PR China`, `Espana` = `España`): for tables of names people type, such as
    /// countries in CRM exports.
    pub fn with_loose_keys(mut self) -> LookupTable {
        self.loose = self
            .exact
            .iter()
            .map(|(k, v)| (loose_key(k), v.clone()))
            .filter(|(k, _)| !k.is_empty())
            .collect();
        self
    }

    /// Looks `key` up; `Err` is the reason a record fails.
    pub fn get<'a>(&'a self, key: Cow<'a, str>) -> Result<Cow<'a, str>, String> {
        if let Some(v) = self.exact.get(key.as_ref()) {
            return Ok(Cow::Borrowed(v));
        }
        if let Some(v) = self.folded.get(&key.trim().to_lowercase()) {
            return Ok(Cow::Borrowed(v));
        }
        if !self.loose.is_empty()
            && let Some(v) = self.loose.get(&loose_key(&key))
        {
            return Ok(Cow::Borrowed(v));
        }
        match &self.fallback {
            Fallback::Keep => Ok(key),
            Fallback::Value(v) => Ok(Cow::Borrowed(v)),
            Fallback::Fail => Err(format!("no entry for `{key}` in lookup `{}`", self.name)),
        }
    }
}

/// A key without case, accents, punctuation or spaces: `U.S.A.` and `usa` are one key, and so
/// are `P. R. China`, `PR-China` and `prchina`.
fn loose_key(key: &str) -> String {
    key.chars()
        .flat_map(|c| {
            let ascii = if c.is_ascii() {
                None
            } else {
                deunicode::deunicode_char(c)
            };
            ascii.map_or_else(|| vec![c], |s| s.chars().collect())
        })
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Names of the tables every mapping file may use.
pub const BUILTIN_NAMES: [&str; 2] = ["iso_country", "unit"];

/// A built-in table by name.
pub fn builtin(name: &str) -> Option<Arc<LookupTable>> {
    match name {
        "iso_country" => Some(Arc::clone(&ISO_COUNTRY)),
        "unit" => Some(Arc::clone(&UNIT)),
        _ => None,
    }
}

static ISO_COUNTRY: LazyLock<Arc<LookupTable>> = LazyLock::new(|| {
    let entries = COUNTRIES.iter().flat_map(|(alpha2, alpha3, names)| {
        [*alpha2, *alpha3]
            .into_iter()
            .chain(names.iter().copied())
            .map(move |k| (k.to_string(), alpha2.to_string()))
    });
    Arc::new(LookupTable::new("iso_country", entries, Fallback::Fail).with_loose_keys())
});

static UNIT: LazyLock<Arc<LookupTable>> = LazyLock::new(|| {
    let entries = UNITS.iter().flat_map(|(canonical, codes)| {
        std::iter::once(*canonical)
            .chain(codes.iter().copied())
            .map(move |k| (k.to_string(), canonical.to_string()))
    });
    Arc::new(LookupTable::new("unit", entries, Fallback::Fail))
});

/// Canonical unit, then the codes SAP, ISO and UN/ECE Rec. 20 use for it.
const UNITS: &[(&str, &[&str])] = &[
    (
        "pc",
        &[
            "ST", "PCE", "C62", "EA", "PC", "Nos", "Unit", "pcs", "piece", "pieces", "Stk",
            "Stück", "Each",
        ],
    ),
    ("kg", &["KG", "KGM", "kilogram"]),
    ("g", &["G", "GRM", "gram"]),
    ("l", &["L", "LTR", "litre", "liter"]),
    ("m", &["M", "MTR", "metre", "meter"]),
    ("m2", &["M2", "MTK", "m²"]),
    ("m3", &["M3", "MTQ", "m³"]),
    ("h", &["H", "HUR", "STD", "hour"]),
    ("pack", &["PAK", "PK", "PAC", "package"]),
    ("set", &["SET"]),
    ("box", &["BOX", "BX"]),
    ("t", &["TO", "TNE", "tonne"]),
];

/// ISO 3166-1 alpha-2, alpha-3, then English, German and native names and common abbreviations.
const COUNTRIES: &[(&str, &str, &[&str])] = &[
    (
        "AE",
        "ARE",
        &[
            "United Arab Emirates",
            "Vereinigte Arabische Emirate",
            "UAE",
            "VAE",
        ],
    ),
    ("AR", "ARG", &["Argentina", "Argentinien"]),
    (
        "AT",
        "AUT",
        &["Austria", "Österreich", "Oesterreich", "Osterreich"],
    ),
    ("AU", "AUS", &["Australia", "Australien"]),
    (
        "BA",
        "BIH",
        &[
            "Bosnia and Herzegovina",
            "Bosnien und Herzegowina",
            "Bosna i Hercegovina",
        ],
    ),
    ("BD", "BGD", &["Bangladesh", "Bangladesch"]),
    (
        "BE",
        "BEL",
        &["Belgium", "Belgien", "België", "Belgique", "Belgie"],
    ),
    ("BG", "BGR", &["Bulgaria", "Bulgarien", "България"]),
    ("BR", "BRA", &["Brazil", "Brasilien", "Brasil"]),
    ("BY", "BLR", &["Belarus", "Weißrussland", "Weissrussland"]),
    ("CA", "CAN", &["Canada", "Kanada"]),
    (
        "CH",
        "CHE",
        &[
            "Switzerland",
            "Schweiz",
            "Suisse",
            "Svizzera",
            "Svizra",
            "Confoederatio Helvetica",
        ],
    ),
    ("CL", "CHL", &["Chile"]),
    (
        "CN",
        "CHN",
        &[
            "China",
            "People's Republic of China",
            "China, People's Republic of",
            "PRC",
            "PR China",
            "China PR",
            "China (PRC)",
            "Mainland China",
            "VR China",
            "Volksrepublik China",
            "中国",
        ],
    ),
    ("CO", "COL", &["Colombia", "Kolumbien"]),
    ("CY", "CYP", &["Cyprus", "Zypern", "Κύπρος"]),
    (
        "CZ",
        "CZE",
        &[
            "Czech Republic",
            "Czechia",
            "Czech Rep.",
            "Tschechien",
            "Tschechische Republik",
            "Česko",
            "Česká republika",
        ],
    ),
    (
        "DE",
        "DEU",
        &[
            "Germany",
            "Deutschland",
            "Federal Republic of Germany",
            "Bundesrepublik Deutschland",
            "BRD",
        ],
    ),
    (
        "DK",
        "DNK",
        &["Denmark", "Dänemark", "Daenemark", "Danmark"],
    ),
    ("DZ", "DZA", &["Algeria", "Algerien"]),
    ("EE", "EST", &["Estonia", "Estland", "Eesti"]),
    ("EG", "EGY", &["Egypt", "Ägypten", "Aegypten"]),
    ("ES", "ESP", &["Spain", "Spanien", "España", "Espana"]),
    ("FI", "FIN", &["Finland", "Finnland", "Suomi"]),
    ("FR", "FRA", &["France", "Frankreich"]),
    (
        "GB",
        "GBR",
        &[
            "United Kingdom",
            "United Kingdom of Great Britain and Northern Ireland",
            "UK",
            "U.K.",
            "Great Britain",
            "Britain",
            "England",
            "Scotland",
            "Wales",
            "Northern Ireland",
            "Großbritannien",
            "Grossbritannien",
            "Vereinigtes Königreich",
        ],
    ),
    ("GR", "GRC", &["Greece", "Griechenland", "Ελλάδα", "Hellas"]),
    ("HK", "HKG", &["Hong Kong", "Hongkong"]),
    ("HR", "HRV", &["Croatia", "Kroatien", "Hrvatska"]),
    (
        "HU",
        "HUN",
        &["Hungary", "Ungarn", "Magyarország", "Magyarorszag"],
    ),
    ("ID", "IDN", &["Indonesia", "Indonesien"]),
    ("IE", "IRL", &["Ireland", "Irland", "Éire", "Eire"]),
    ("IL", "ISR", &["Israel"]),
    ("IN", "IND", &["India", "Indien", "भारत", "Bharat"]),
    ("IS", "ISL", &["Iceland", "Island", "Ísland"]),
    ("IT", "ITA", &["Italy", "Italien", "Italia"]),
    ("JP", "JPN", &["Japan", "日本", "Nippon"]),
    ("KE", "KEN", &["Kenya", "Kenia"]),
    (
        "KR",
        "KOR",
        &[
            "South Korea",
            "Korea",
            "Republic of Korea",
            "Korea, Republic of",
            "Korea, South",
            "ROK",
            "Südkorea",
            "Suedkorea",
            "대한민국",
        ],
    ),
    ("KZ", "KAZ", &["Kazakhstan", "Kasachstan"]),
    ("LI", "LIE", &["Liechtenstein"]),
    ("LT", "LTU", &["Lithuania", "Litauen", "Lietuva"]),
    ("LU", "LUX", &["Luxembourg", "Luxemburg", "Lëtzebuerg"]),
    ("LV", "LVA", &["Latvia", "Lettland", "Latvija"]),
    ("MA", "MAR", &["Morocco", "Marokko", "Maroc"]),
    ("MC", "MCO", &["Monaco"]),
    ("MT", "MLT", &["Malta"]),
    ("MX", "MEX", &["Mexico", "Mexiko", "México"]),
    ("MY", "MYS", &["Malaysia"]),
    ("NG", "NGA", &["Nigeria"]),
    (
        "NL",
        "NLD",
        &[
            "Netherlands",
            "The Netherlands",
            "Niederlande",
            "Nederland",
            "Holland",
        ],
    ),
    ("NO", "NOR", &["Norway", "Norwegen", "Norge", "Noreg"]),
    ("NZ", "NZL", &["New Zealand", "Neuseeland", "Aotearoa"]),
    ("PE", "PER", &["Peru", "Perú"]),
    ("PH", "PHL", &["Philippines", "Philippinen", "Pilipinas"]),
    ("PK", "PAK", &["Pakistan"]),
    ("PL", "POL", &["Poland", "Polen", "Polska"]),
    ("PT", "PRT", &["Portugal"]),
    ("QA", "QAT", &["Qatar", "Katar"]),
    (
        "RO",
        "ROU",
        &["Romania", "Rumänien", "Rumaenien", "România"],
    ),
    ("RS", "SRB", &["Serbia", "Serbien", "Србија", "Srbija"]),
    (
        "RU",
        "RUS",
        &[
            "Russia",
            "Russian Federation",
            "Russland",
            "Russische Föderation",
            "Россия",
        ],
    ),
    ("SA", "SAU", &["Saudi Arabia", "Saudi-Arabien"]),
    ("SE", "SWE", &["Sweden", "Schweden", "Sverige"]),
    ("SG", "SGP", &["Singapore", "Singapur"]),
    ("SI", "SVN", &["Slovenia", "Slowenien", "Slovenija"]),
    (
        "SK",
        "SVK",
        &["Slovakia", "Slowakei", "Slovensko", "Slovak Republic"],
    ),
    ("TH", "THA", &["Thailand", "ประเทศไทย"]),
    ("TN", "TUN", &["Tunisia", "Tunesien"]),
    (
        "TR",
        "TUR",
        &["Turkey", "Türkiye", "Turkiye", "Türkei", "Tuerkei"],
    ),
    ("TW", "TWN", &["Taiwan"]),
    ("UA", "UKR", &["Ukraine", "Україна"]),
    (
        "US",
        "USA",
        &[
            "United States",
            "United States of America",
            "U.S.A.",
            "U.S.",
            "United States (USA)",
            "America",
            "Vereinigte Staaten",
            "Vereinigte Staaten von Amerika",
        ],
    ),
    ("VN", "VNM", &["Vietnam", "Viet Nam", "Việt Nam"]),
    ("ZA", "ZAF", &["South Africa", "Südafrika", "Suedafrika"]),
];

/// A lookup table written in a mapping file.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupDef {
    pub table: BTreeMap<Scalar, Scalar>,
    /// A value for unmatched input, or `keep` to pass it through; none fails the record.
    #[serde(default)]
    pub default: Option<Scalar>,
}

impl LookupDef {
    /// Compiles the table under `name`.
    pub fn compile(&self, name: &str) -> LookupTable {
        let fallback = match self.default.as_ref().map(|d| d.0.as_str()) {
            None => Fallback::Fail,
            Some("keep") => Fallback::Keep,
            Some(value) => Fallback::Value(value.to_string()),
        };
        let entries = self.table.iter().map(|(k, v)| (k.0.clone(), v.0.clone()));
        LookupTable::new(name, entries, fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(key: &str) -> Result<String, String> {
        builtin("iso_country")
            .unwrap()
            .get(Cow::Borrowed(key))
            .map(Cow::into_owned)
    }

    fn unit(key: &str) -> Result<String, String> {
        builtin("unit")
            .unwrap()
            .get(Cow::Borrowed(key))
            .map(Cow::into_owned)
    }

    #[test]
    fn countries_by_code_and_name_in_any_case() {
        for (input, expected) in [
            ("DE", "DE"),
            ("de", "DE"),
            ("DEU", "DE"),
            ("Germany", "DE"),
            ("deutschland", "DE"),
            ("Österreich", "AT"),
            ("ÖSTERREICH", "AT"),
            ("Schweiz", "CH"),
            ("Nederland", "NL"),
            ("USA", "US"),
            ("United States", "US"),
            ("UK", "GB"),
            ("Great Britain", "GB"),
            ("GBR", "GB"),
            ("España", "ES"),
            (" France ", "FR"),
        ] {
            assert_eq!(country(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn every_alpha2_maps_to_itself() {
        for (alpha2, alpha3, _) in COUNTRIES {
            assert_eq!(country(alpha2).as_deref(), Ok(*alpha2));
            assert_eq!(country(alpha3).as_deref(), Ok(*alpha2));
        }
        assert!(COUNTRIES.len() >= 60);
    }

    #[test]
    fn crm_export_aliases_in_any_punctuation() {
        for (input, expected) in [
            ("PRC", "CN"),
            ("P.R.C.", "CN"),
            ("P.R. China", "CN"),
            ("China, People's Republic of", "CN"),
            ("UK", "GB"),
            ("U.K.", "GB"),
            ("Great Britain", "GB"),
            ("USA", "US"),
            ("U.S.A.", "US"),
            ("U.S.A", "US"),
            ("u. s. a.", "US"),
            ("Holland", "NL"),
            ("Deutschland", "DE"),
            ("Schweiz", "CH"),
            ("Österreich", "AT"),
            ("Osterreich", "AT"),
            ("España", "ES"),
            ("ESPANA", "ES"),
            ("Korea, Republic of", "KR"),
            ("Türkiye", "TR"),
        ] {
            assert_eq!(country(input).as_deref(), Ok(expected), "{input}");
        }
        assert!(country("U.S.S.R.").is_err());
    }

    #[test]
    fn loose_keys_only_where_asked() {
        let table = LookupTable::new(
            "codes",
            [("A.B".to_string(), "x".to_string())],
            Fallback::Fail,
        );
        assert!(table.get(Cow::Borrowed("AB")).is_err());
        let loose = LookupTable::new(
            "codes",
            [("A.B".to_string(), "x".to_string())],
            Fallback::Fail,
        )
        .with_loose_keys();
        assert_eq!(loose.get(Cow::Borrowed("a b")).as_deref(), Ok("x"));
    }

    #[test]
    fn unknown_country_fails_naming_the_table() {
        assert_eq!(
            country("Atlantis"),
            Err("no entry for `Atlantis` in lookup `iso_country`".into())
        );
    }

    #[test]
    fn units_from_sap_iso_and_unece_codes() {
        for (input, expected) in [
            ("ST", "pc"),
            ("PCE", "pc"),
            ("C62", "pc"),
            ("ea", "pc"),
            ("Nos", "pc"),
            ("KGM", "kg"),
            ("kg", "kg"),
            ("GRM", "g"),
            ("LTR", "l"),
            ("MTR", "m"),
            ("MTK", "m2"),
            ("MTQ", "m3"),
            ("HUR", "h"),
            ("PK", "pack"),
            ("SET", "set"),
            ("BOX", "box"),
            ("TNE", "t"),
            ("TO", "t"),
        ] {
            assert_eq!(unit(input).as_deref(), Ok(expected), "{input}");
        }
        assert!(unit("XYZ").is_err());
    }

    #[test]
    fn exact_match_wins_then_case_insensitive_then_fallback() {
        let table = LookupTable::new(
            "status",
            [
                ("A".to_string(), "upper".to_string()),
                ("a".to_string(), "lower".to_string()),
            ],
            Fallback::Keep,
        );
        assert_eq!(table.get(Cow::Borrowed("a")).unwrap(), "lower");
        assert_eq!(table.get(Cow::Borrowed("A")).unwrap(), "upper");
        assert_eq!(table.get(Cow::Borrowed("zz")).unwrap(), "zz");
        let with_default = LookupTable::new("s", [], Fallback::Value("unknown".into()));
        assert_eq!(with_default.get(Cow::Borrowed("zz")).unwrap(), "unknown");
    }
}
