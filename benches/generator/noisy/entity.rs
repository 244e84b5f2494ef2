//! The true customers behind the generated records, created in groups so that the hard cases of
//! matching — records that look alike but are different customers — occur beside the easy ones.

use super::pools::{CULTURES, City, Culture, MAIL_PROVIDERS, VatStyle};
use crate::generator::{rng_for, slug, spread};

/// Why entities were created together; a false merge inside a group is a known hard negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKind {
    /// One customer on its own.
    Single,
    /// Companies of one group at one address: same brand, different legal forms and tax IDs.
    Sisters,
    /// Persons of one family at one address: same family name, different given names or Jr./Sr.,
    /// different dates of birth.
    Family,
    /// Customers with the same name in the same city at different addresses.
    Namesakes,
}

impl GroupKind {
    pub fn label(self) -> &'static str {
        match self {
            GroupKind::Single => "single",
            GroupKind::Sisters => "sister companies",
            GroupKind::Family => "family members",
            GroupKind::Namesakes => "namesakes",
        }
    }
}

/// Where a customer is.
#[derive(Clone)]
pub struct Address {
    pub street: &'static str,
    pub number: u32,
    pub postal: String,
    pub city: &'static City,
}

/// A telephone number in parts, so that each source can write it its own way.
#[derive(Clone)]
pub struct Phone {
    pub area: String,
    pub subscriber: String,
    /// A company switchboard's extension (`-0`, `-200`): sister companies share the number.
    pub extension: Option<u32>,
}

/// Senior or junior: a father and son of the same name at one address.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    Senior,
    Junior,
}

/// What kind of customer, with the fields only that kind has.
pub enum Kind {
    Company {
        /// The name without its legal form (`Schmidt Maschinenbau`).
        base: String,
        form: &'static str,
    },
    Person {
        given: &'static str,
        family: &'static str,
        generation: Option<Generation>,
        /// Year, month, day.
        dob: (i32, u32, u32),
    },
}

/// One true customer: every generated record of it is a noisy copy of these fields.
pub struct Entity {
    pub id: u64,
    pub group: u64,
    pub group_kind: GroupKind,
    pub culture: &'static Culture,
    pub kind: Kind,
    pub address: Address,
    /// Where the customer was before it moved; one copy may still hold it.
    pub old_address: Address,
    pub phone: Phone,
    /// The number before the current one; one copy may still hold it.
    pub old_phone: Phone,
    /// A person's own mobile number (the landline in `phone` is the household's).
    pub mobile: Option<Phone>,
    pub email: Option<String>,
    pub vat: Option<String>,
}

impl Entity {
    /// The ground-truth ID: `C` for companies, `P` for persons, then the entity number.
    pub fn truth_id(&self) -> String {
        let letter = if self.is_person() { 'P' } else { 'C' };
        format!("{letter}{:07}", self.id)
    }

    pub fn is_person(&self) -> bool {
        matches!(self.kind, Kind::Person { .. })
    }

    /// The name as the customer writes it.
    pub fn true_name(&self) -> String {
        match &self.kind {
            Kind::Company { base, form } => join_form(base, form, self.culture),
            Kind::Person {
                given,
                family,
                generation,
                ..
            } => match generation {
                Some(Generation::Senior) => format!("{given} {family} Sr."),
                Some(Generation::Junior) => format!("{given} {family} Jr."),
                None => format!("{given} {family}"),
            },
        }
    }
}

/// A company name with its legal form (Chinese names carry it without a space).
pub fn join_form(base: &str, form: &str, culture: &Culture) -> String {
    if form.is_empty() {
        base.to_string()
    } else if culture.code == "CN" {
        format!("{base}{form}")
    } else {
        format!("{base} {form}")
    }
}

/// The entities of group `g`; their IDs start at `first_id`. A pure function of its arguments.
pub fn group(seed: u64, g: u64, first_id: u64) -> Vec<Entity> {
    let mut rng = rng_for(seed ^ 0x6E0_0B5, g);
    let culture = pick_culture(&mut rng);
    let mut ids = first_id..;
    let mut next_id = || ids.next().unwrap_or(first_id);
    let roll = rng.f32();
    if roll < 0.80 {
        let id = next_id();
        let address = new_address(&mut rng, culture, None);
        let entity = if culture.persons && rng.f32() < 0.10 {
            person(&mut rng, culture, id, g, GroupKind::Single, address, None)
        } else {
            let base = company_base(&mut rng, culture, address.city);
            let form = pick(&mut rng, culture.forms);
            company(
                &mut rng,
                culture,
                id,
                g,
                GroupKind::Single,
                base,
                form,
                address,
                None,
            )
        };
        vec![entity]
    } else if roll < 0.87 {
        sisters(&mut rng, culture, g, &mut next_id)
    } else if roll < 0.91 && culture.persons {
        family(&mut rng, culture, g, &mut next_id)
    } else {
        namesakes(&mut rng, culture, g, &mut next_id)
    }
}

fn pick<T: Copy>(rng: &mut fastrand::Rng, items: &[T]) -> T {
    items[rng.usize(0..items.len())]
}

fn pick_culture(rng: &mut fastrand::Rng) -> &'static Culture {
    let total: u32 = CULTURES.iter().map(|c| c.weight).sum();
    let mut roll = rng.u32(0..total);
    for culture in CULTURES {
        if roll < culture.weight {
            return culture;
        }
        roll -= culture.weight;
    }
    &CULTURES[0]
}

/// A new address; in `city` when given (namesakes live in one city).
fn new_address(
    rng: &mut fastrand::Rng,
    culture: &'static Culture,
    city: Option<&'static City>,
) -> Address {
    let city = city.unwrap_or_else(|| &culture.cities[rng.usize(0..culture.cities.len())]);
    let code = city.postal_first + rng.u32(0..city.postal_count);
    let postal = match culture.code {
        "GB" => {
            let prefix = match city.name {
                "London" => "EC",
                "Manchester" => "M",
                "Bristol" => "BS",
                _ => "LS",
            };
            format!(
                "{prefix}{code} {}{}{}",
                rng.u8(1..10),
                rng.uppercase(),
                rng.uppercase()
            )
        }
        _ => format!("{code:0width$}", width = culture.postal_digits),
    };
    Address {
        street: pick(rng, culture.streets),
        number: rng.u32(1..220),
        postal,
        city,
    }
}

fn landline(rng: &mut fastrand::Rng, city: &City) -> Phone {
    let digits = if city.area.len() >= 3 { 7 } else { 8 };
    let first = rng.u32(2..10);
    let rest = rng.u64(0..10u64.pow(digits - 1));
    Phone {
        area: city.area.to_string(),
        subscriber: format!("{first}{rest:0width$}", width = (digits - 1) as usize),
        extension: None,
    }
}

fn mobile(rng: &mut fastrand::Rng, culture: &Culture) -> Phone {
    let area = match culture.code {
        "DE" => format!("1{}", rng.u32(51..80)),
        "AT" => format!("6{}", rng.u32(50..99)),
        "CH" => format!("7{}", rng.u32(6..10)),
        "GB" => format!("7{}", rng.u32(400..999)),
        "FR" => format!("{}", rng.u32(6..8)),
        "ES" => format!("6{}", rng.u32(10..99)),
        _ => format!("{}", rng.u32(201..989)),
    };
    Phone {
        area,
        subscriber: format!("{}", rng.u32(1_000_000..9_999_999)),
        extension: None,
    }
}

/// The compact VAT (tax) number of entity `id`: unique per entity, shaped as its country writes it.
fn vat_number(culture: &Culture, id: u64, form: &str) -> String {
    let code = culture.code;
    match culture.vat {
        VatStyle::Digits(11) => format!(
            "{code}{:02}{}",
            id % 97,
            100_000_000 + spread(id, 900_000_000)
        ),
        VatStyle::Digits(_) => format!("{code}{}", 100_000_000 + spread(id, 900_000_000)),
        VatStyle::Austria => format!("ATU{}", 10_000_000 + spread(id, 90_000_000)),
        VatStyle::Swiss => format!("CHE{}MWST", 100_000_000 + spread(id, 900_000_000)),
        VatStyle::Spain => {
            let letter = if form.starts_with("S.A") { 'A' } else { 'B' };
            format!("ES{letter}{}", 10_000_000 + spread(id, 90_000_000))
        }
        VatStyle::UsEin => {
            let n = 100_000_000 + spread(id, 900_000_000);
            format!("{}-{}", n / 10_000_000, n % 10_000_000)
        }
        VatStyle::ChinaUscc => format!("91440300MA{:08}", spread(id, 100_000_000)),
    }
}

/// A company name without legal form, in the word order of its country.
/// Chinese names start with the company's city (`深圳市华强电子`).
fn company_base(rng: &mut fastrand::Rng, culture: &Culture, city: &City) -> String {
    let trade = pick(rng, culture.trades);
    match culture.code {
        "CN" => format!("{}{}{trade}", city.name, pick(rng, culture.brands)),
        "FR" | "ES" => format!("{trade} {}", pick(rng, culture.surnames)),
        "US" => format!("{} {trade}", pick(rng, culture.brands)),
        _ => {
            let owner = if rng.bool() {
                pick(rng, culture.surnames)
            } else {
                pick(rng, culture.brands)
            };
            format!("{owner} {trade}")
        }
    }
}

fn company_email(base: &str, id: u64, culture: &Culture) -> String {
    let tld = match culture.code {
        "GB" => "co.uk",
        "US" => "com",
        "CN" => "cn",
        "DE" => "de",
        "AT" => "at",
        "CH" => "ch",
        "FR" => "fr",
        _ => "es",
    };
    let name = slug(base);
    let name = if name.is_empty() {
        "company".to_string()
    } else {
        name
    };
    format!("info@{name}-{id}.{tld}")
}

#[allow(clippy::too_many_arguments)]
fn company(
    rng: &mut fastrand::Rng,
    culture: &'static Culture,
    id: u64,
    group: u64,
    group_kind: GroupKind,
    base: String,
    form: &'static str,
    address: Address,
    switchboard: Option<&Phone>,
) -> Entity {
    let phone = switchboard
        .cloned()
        .unwrap_or_else(|| landline(rng, address.city));
    let old_address = new_address(rng, culture, Some(address.city));
    Entity {
        id,
        group,
        group_kind,
        culture,
        email: Some(company_email(&base, id, culture)),
        vat: Some(vat_number(culture, id, form)),
        kind: Kind::Company { base, form },
        old_phone: landline(rng, old_address.city),
        old_address,
        phone,
        mobile: None,
        address,
    }
}

fn random_dob(rng: &mut fastrand::Rng, years: std::ops::Range<i32>) -> (i32, u32, u32) {
    (rng.i32(years), rng.u32(1..13), rng.u32(1..29))
}

#[allow(clippy::too_many_arguments)]
fn person(
    rng: &mut fastrand::Rng,
    culture: &'static Culture,
    id: u64,
    group: u64,
    group_kind: GroupKind,
    address: Address,
    household: Option<(&'static str, &Phone)>,
) -> Entity {
    let female = rng.bool();
    let given = pick(
        rng,
        if female {
            culture.given_female
        } else {
            culture.given_male
        },
    );
    let (family, phone) = match household {
        Some((family, phone)) => (family, phone.clone()),
        None => (pick(rng, culture.surnames), landline(rng, address.city)),
    };
    let email = person_email(rng, given, family, id);
    let old_address = new_address(rng, culture, Some(address.city));
    Entity {
        id,
        group,
        group_kind,
        culture,
        kind: Kind::Person {
            given,
            family,
            generation: None,
            dob: random_dob(rng, 1940..2005),
        },
        old_phone: landline(rng, old_address.city),
        old_address,
        mobile: Some(mobile(rng, culture)),
        phone,
        address,
        email: Some(email),
        vat: None,
    }
}

/// A person's own address: unique by the entity number in it.
fn person_email(rng: &mut fastrand::Rng, given: &str, family: &str, id: u64) -> String {
    format!(
        "{}.{}.{id}@{}",
        slug(given),
        slug(family),
        pick(rng, MAIL_PROVIDERS)
    )
}

/// Two or three companies of one group at one address, sharing a switchboard number with
/// different extensions: `Nordwerk Holding GmbH`, `Nordwerk Services GmbH`, `Nordwerk GmbH & Co. KG`.
fn sisters(
    rng: &mut fastrand::Rng,
    culture: &'static Culture,
    g: u64,
    next_id: &mut impl FnMut() -> u64,
) -> Vec<Entity> {
    let brand = pick(rng, culture.brands);
    let address = new_address(rng, culture, None);
    let mut switchboard = landline(rng, address.city);
    let count = rng.usize(2..4);
    let unit_start = rng.usize(0..culture.units.len());
    let form_start = rng.usize(0..culture.forms.len());
    let mut members: Vec<Entity> = Vec::with_capacity(count);
    for k in 0..count {
        // The last member of three carries the brand alone: the operating company.
        let base = if k == 2 {
            brand.to_string()
        } else {
            let unit = culture.units[(unit_start + k) % culture.units.len()];
            if culture.code == "CN" {
                format!("{brand}{unit}")
            } else {
                format!("{brand} {unit}")
            }
        };
        // Different legal forms where the country has several.
        let mut form = culture.forms[(form_start + k * 3) % culture.forms.len()];
        if members
            .iter()
            .any(|m| matches!(m.kind, Kind::Company { form: f, .. } if f == form))
        {
            form = pick(rng, culture.forms);
        }
        switchboard.extension = Some([0, 200, 500][k]);
        let id = next_id();
        members.push(company(
            rng,
            culture,
            id,
            g,
            GroupKind::Sisters,
            base,
            form,
            address.clone(),
            Some(&switchboard),
        ));
    }
    members
}

/// Two or three persons of one family at one address with one landline: a couple and a child,
/// or a father and son of the same given name (Sr. and Jr.). One family in ten shares one email.
fn family(
    rng: &mut fastrand::Rng,
    culture: &'static Culture,
    g: u64,
    next_id: &mut impl FnMut() -> u64,
) -> Vec<Entity> {
    let address = new_address(rng, culture, None);
    let family_name = pick(rng, culture.surnames);
    let home = landline(rng, address.city);
    let count = rng.usize(2..4);
    let shared_email = (rng.f32() < 0.1).then(|| {
        format!(
            "familie.{}.{g}@{}",
            slug(family_name),
            pick(rng, MAIL_PROVIDERS)
        )
    });
    let junior = rng.bool();
    let mut members: Vec<Entity> = Vec::with_capacity(count);
    for k in 0..count {
        let id = next_id();
        let mut member = person(
            rng,
            culture,
            id,
            g,
            GroupKind::Family,
            address.clone(),
            Some((family_name, &home)),
        );
        if let Kind::Person {
            given,
            generation,
            dob,
            ..
        } = &mut member.kind
        {
            match k {
                0 => {
                    *given = pick(rng, culture.given_male);
                    *dob = random_dob(rng, 1940..1965);
                    if junior {
                        *generation = Some(Generation::Senior);
                    }
                }
                1 if junior => {
                    if let Some(Kind::Person { given: father, .. }) =
                        members.first().map(|m| &m.kind)
                    {
                        *given = father;
                    }
                    *generation = Some(Generation::Junior);
                    *dob = random_dob(rng, 1970..1995);
                }
                1 => {
                    *given = pick(rng, culture.given_female);
                    *dob = random_dob(rng, 1940..1968);
                }
                _ => *dob = random_dob(rng, 1975..2005),
            }
            // Siblings and parents never share a given name, except Sr. and Jr.
            if k > 0 && generation.is_none() {
                while members
                    .iter()
                    .any(|m| matches!(m.kind, Kind::Person { given: other, .. } if other == *given))
                {
                    *given = pick(rng, culture.given_female);
                }
            }
        }
        member.email = match (&shared_email, &member.kind) {
            (Some(email), _) => Some(email.clone()),
            (None, Kind::Person { given, .. }) => Some(person_email(rng, given, family_name, id)),
            (None, Kind::Company { .. }) => member.email.clone(),
        };
        members.push(member);
    }
    members
}

/// Two customers of the same name in the same city at different addresses: two `Müller
/// Haustechnik GmbH` in München, two `María García` in Madrid.
fn namesakes(
    rng: &mut fastrand::Rng,
    culture: &'static Culture,
    g: u64,
    next_id: &mut impl FnMut() -> u64,
) -> Vec<Entity> {
    let city = &culture.cities[rng.usize(0..culture.cities.len())];
    if culture.persons && rng.f32() < 0.4 {
        let first = {
            let address = new_address(rng, culture, Some(city));
            person(
                rng,
                culture,
                next_id(),
                g,
                GroupKind::Namesakes,
                address,
                None,
            )
        };
        let address = new_address(rng, culture, Some(city));
        let mut second = person(
            rng,
            culture,
            next_id(),
            g,
            GroupKind::Namesakes,
            address,
            None,
        );
        if let (
            Kind::Person { given, family, .. },
            Kind::Person {
                given: g2,
                family: f2,
                ..
            },
        ) = (&first.kind, &mut second.kind)
        {
            *g2 = given;
            *f2 = family;
            second.email = Some(person_email(rng, given, family, second.id));
        }
        vec![first, second]
    } else {
        let base = company_base(rng, culture, city);
        let form = pick(rng, culture.forms);
        (0..2)
            .map(|_| {
                let address = new_address(rng, culture, Some(city));
                let id = next_id();
                company(
                    rng,
                    culture,
                    id,
                    g,
                    GroupKind::Namesakes,
                    base.clone(),
                    form,
                    address,
                    None,
                )
            })
            .collect()
    }
}
