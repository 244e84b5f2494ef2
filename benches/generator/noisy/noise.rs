//! How one source system holds a customer: the true fields with the noise real data has — typos,
//! abbreviations, legal-form and accent variants, swapped name tokens, missing and stale fields,
//! tax IDs, phone numbers and dates written differently.

use super::entity::{Address, Entity, Generation, Kind, Phone, join_form};
use super::pools::{ABBREVIATIONS, FORM_VARIANTS};

/// One record's worth of customer fields, as text, before a writer puts them in its format.
pub struct Copy {
    pub person: bool,
    pub name: String,
    /// Persons only (the distributor's CSV has columns for them).
    pub given: String,
    pub family: String,
    /// `(year, month, day)`, persons only.
    pub dob: Option<(i32, u32, u32)>,
    pub vat: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub street: String,
    pub postal: String,
    pub city: String,
}

/// How strongly a copy is disturbed: the system of record keeps a customer cleaner than the
/// systems that copied it.
#[derive(Clone, Copy)]
pub struct Strength {
    /// Multiplies every probability of a change.
    pub scale: f32,
    /// Whether this copy may hold fields from before the customer moved or changed numbers.
    pub stale: bool,
}

/// A noisy copy of `entity`.
pub fn copy(rng: &mut fastrand::Rng, entity: &Entity, strength: Strength) -> Copy {
    let s = strength.scale;
    let chance = |rng: &mut fastrand::Rng, p: f32| rng.f32() < p * s;
    let (name, given, family, dob) = match &entity.kind {
        Kind::Company { base, form } => (
            company_name(rng, entity, base, form, s),
            String::new(),
            String::new(),
            None,
        ),
        Kind::Person {
            given,
            family,
            generation,
            dob,
        } => {
            let (name, given, family) = person_name(rng, given, family, *generation, s);
            let dob = if chance(rng, 0.15) {
                None
            } else if chance(rng, 0.10) {
                Some(transposed(*dob))
            } else {
                Some(*dob)
            };
            (name, given, family, dob)
        }
    };
    let stale_address = strength.stale && rng.f32() < 0.10;
    let address = if stale_address {
        &entity.old_address
    } else {
        &entity.address
    };
    let stale_phone = strength.stale && rng.f32() < 0.10;
    let phone = if stale_phone {
        Some(&entity.old_phone)
    } else if entity.mobile.is_some() && rng.f32() < 0.4 {
        entity.mobile.as_ref()
    } else {
        Some(&entity.phone)
    };
    let phone = phone
        .filter(|_| !chance(rng, 0.2))
        .map(|p| format_phone(rng, entity, p));
    let vat = entity
        .vat
        .as_deref()
        .filter(|_| !chance(rng, 0.25))
        .map(|v| format_vat(rng, v, s));
    let email = entity
        .email
        .as_deref()
        .filter(|_| !chance(rng, 0.30))
        .map(|e| {
            if chance(rng, 0.15) {
                capitalize_local_part(e)
            } else {
                e.to_string()
            }
        });
    Copy {
        person: entity.is_person(),
        name,
        given,
        family,
        dob,
        vat,
        email,
        phone,
        street: street_line(rng, entity, address, s),
        postal: address.postal.clone(),
        city: address.city.name.to_string(),
    }
}

fn company_name(
    rng: &mut fastrand::Rng,
    entity: &Entity,
    base: &str,
    form: &str,
    s: f32,
) -> String {
    let cjk = entity.culture.code == "CN";
    let mut base = base.to_string();
    let mut form = form.to_string();
    if rng.f32() < 0.35 * s
        && let Some((_, variants)) = FORM_VARIANTS.iter().find(|(f, _)| *f == form)
    {
        form = variants[rng.usize(0..variants.len())].to_string();
    }
    if cjk {
        // The city prefix is often left out: 深圳市华强电子 → 华强电子, or shortened to 深圳.
        let city = entity.address.city.name;
        if rng.f32() < 0.3 * s {
            base = base.replacen(city, "", 1);
        } else if rng.f32() < 0.2 * s {
            base = base.replacen(city, city.trim_end_matches('市'), 1);
        }
        return join_form(&base, &form, entity.culture);
    }
    if rng.f32() < 0.10 * s {
        base = abbreviate(rng, &base);
    }
    if rng.f32() < 0.05 * s {
        base = swap_first_tokens(&base);
    }
    let mut name = join_form(&base, &form, entity.culture);
    name = text_noise(rng, &name, s);
    name
}

/// Case, accents, typos and spacing: what happens to any typed name.
fn text_noise(rng: &mut fastrand::Rng, text: &str, s: f32) -> String {
    let mut text = text.to_string();
    if !text.is_ascii() {
        let roll = rng.f32();
        if roll < 0.25 * s {
            text = transliterate(&text);
        } else if roll < 0.40 * s {
            text = strip_accents(&text);
        }
    }
    if rng.f32() < 0.15 * s {
        text = typo(rng, &text);
        if rng.f32() < 0.3 {
            text = typo(rng, &text);
        }
    }
    let roll = rng.f32();
    if roll < 0.12 * s {
        text = text.to_uppercase();
    } else if roll < 0.16 * s {
        text = text.to_lowercase();
    }
    if rng.f32() < 0.05 * s {
        text = text.replacen(' ', "  ", 1);
    }
    text
}

/// A person's display name and the given and family names a form with two fields holds.
fn person_name(
    rng: &mut fastrand::Rng,
    given: &str,
    family: &str,
    generation: Option<Generation>,
    s: f32,
) -> (String, String, String) {
    let mut given = text_noise(rng, given, s * 0.7);
    let family = text_noise(rng, family, s * 0.7);
    if rng.f32() < 0.05 * s
        && let Some(initial) = given.chars().next()
    {
        given = format!("{initial}.");
    }
    let suffix = match generation {
        Some(Generation::Senior) => ["Sr.", "sen.", "Senior"][rng.usize(0..3)],
        Some(Generation::Junior) => ["Jr.", "jun.", "Junior"][rng.usize(0..3)],
        None => "",
    };
    let roll = rng.f32();
    let mut name = if roll < 0.15 * s {
        format!("{family} {given}")
    } else if roll < 0.25 * s {
        format!("{family}, {given}")
    } else {
        format!("{given} {family}")
    };
    if !suffix.is_empty() {
        name = format!("{name} {suffix}");
    }
    // Given and family name typed into each other's field.
    if rng.f32() < 0.05 * s {
        return (name, family, given);
    }
    let family = if suffix.is_empty() {
        family
    } else {
        format!("{family} {suffix}")
    };
    (name, given, family)
}

/// Day and month swapped, where both could be a month.
fn transposed((y, m, d): (i32, u32, u32)) -> (i32, u32, u32) {
    if d <= 12 { (y, d, m) } else { (y, m, d) }
}

fn street_line(rng: &mut fastrand::Rng, entity: &Entity, address: &Address, s: f32) -> String {
    let mut street = address.street.to_string();
    if rng.f32() < 0.30 * s {
        street = abbreviate(rng, &street);
    }
    let line = match entity.culture.code {
        "CN" => format!("{street}{}号", address.number),
        "ES" => format!("{street}, {}", address.number),
        _ if entity.culture.number_first => format!("{} {street}", address.number),
        _ => format!("{street} {}", address.number),
    };
    if entity.culture.code == "CN" {
        line
    } else {
        text_noise(rng, &line, s * 0.4)
    }
}

/// The first word of `ABBREVIATIONS` found in `text`, abbreviated.
fn abbreviate(rng: &mut fastrand::Rng, text: &str) -> String {
    for (long, shorts) in ABBREVIATIONS {
        if text.contains(long) {
            return text.replacen(long, shorts[rng.usize(0..shorts.len())], 1);
        }
    }
    match text.find(" und ") {
        Some(_) => text.replacen(" und ", " & ", 1),
        None => text.replacen(" and ", " & ", 1),
    }
}

fn swap_first_tokens(text: &str) -> String {
    let mut tokens: Vec<&str> = text.split(' ').collect();
    if tokens.len() >= 2 {
        tokens.swap(0, 1);
    }
    tokens.join(" ")
}

/// The VAT number as someone typed it: spaced, dotted, lower case, or without its country prefix.
fn format_vat(rng: &mut fastrand::Rng, vat: &str, s: f32) -> String {
    if vat.contains('-') || !vat.chars().take(2).all(|c| c.is_ascii_alphabetic()) {
        return vat.to_string();
    }
    let roll = rng.f32() / s.max(0.01);
    let (prefix, rest) = vat.split_at(2);
    let grouped = |sep: char| {
        let mut out = String::with_capacity(vat.len() + 6);
        for (i, c) in rest.chars().enumerate() {
            if i > 0 && i.is_multiple_of(3) {
                out.push(sep);
            }
            out.push(c);
        }
        out
    };
    if roll < 0.10 {
        rest.trim_start_matches(char::is_alphabetic).to_string()
    } else if roll < 0.25 {
        format!("{prefix} {}", grouped(' '))
    } else if roll < 0.35 {
        format!("{prefix}-{}", grouped('.'))
    } else if roll < 0.45 {
        vat.to_lowercase()
    } else {
        vat.to_string()
    }
}

/// The phone number in one of the ways people write it: `+49 30 1234567`, `030/1234567`,
/// `(030) 123 45 67`, `+49 (0)30 1234567`, `0049 30 1234567`, `+49301234567`.
fn format_phone(rng: &mut fastrand::Rng, entity: &Entity, phone: &Phone) -> String {
    let culture = entity.culture;
    let (dial, trunk, area, sub) = (culture.dial, culture.trunk, &phone.area, &phone.subscriber);
    let ext = phone.extension.map(|e| format!("-{e}")).unwrap_or_default();
    let grouped: String = sub
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    if culture.code == "US" {
        return match rng.u8(0..3) {
            0 => format!("+1 {area} {sub}{ext}"),
            1 => format!("({area}) {}-{}{ext}", &sub[..3], &sub[3..]),
            _ => format!("{area}-{}-{}{ext}", &sub[..3], &sub[3..]),
        };
    }
    match rng.u8(0..7) {
        0 | 1 => format!("+{dial} {area} {sub}{ext}"),
        2 => format!("{trunk}{area} {sub}{ext}"),
        3 => format!("{trunk}{area}/{sub}{ext}"),
        4 => format!("({trunk}{area}) {grouped}{ext}"),
        5 if !trunk.is_empty() => format!("+{dial} ({trunk}){area} {sub}{ext}"),
        5 => format!("00{dial} {area} {sub}{ext}"),
        _ => format!("+{dial}{area}{sub}{ext}"),
    }
}

/// `info@acme.de` → `Info@Acme.de`: some systems keep the case a person typed.
fn capitalize_local_part(email: &str) -> String {
    email
        .split(['.', '@'])
        .fold((String::new(), 0), |(mut out, pos), part| {
            let mut chars = part.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
            let end = pos + part.len();
            if let Some(sep) = email[end..].chars().next() {
                out.push(sep);
            }
            (out, end + 1)
        })
        .0
}

/// Umlauts and accents spelled out (`Müller` → `Mueller`, `Groß` → `Gross`, `é` → `e`).
pub fn transliterate(text: &str) -> String {
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
            other => out.push(base_letter(other)),
        }
    }
    out
}

/// Accents dropped as a keyboard without them does (`Müller` → `Muller`, `García` → `Garcia`).
fn strip_accents(text: &str) -> String {
    text.chars()
        .map(|c| if c == 'ß' { 's' } else { base_letter(c) })
        .collect()
}

fn base_letter(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        'Á' | 'À' | 'Â' | 'Ä' => 'A',
        'É' | 'È' | 'Ê' => 'E',
        'Í' => 'I',
        'Ó' | 'Ö' => 'O',
        'Ú' | 'Ü' => 'U',
        other => other,
    }
}

/// One typing error after the first letter: two letters swapped, one dropped, one doubled, or
/// one replaced by its neighbour on the keyboard.
fn typo(rng: &mut fastrand::Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let candidates: Vec<usize> = (1..chars.len().saturating_sub(1))
        .filter(|&i| chars[i].is_alphabetic() && chars[i + 1].is_alphabetic())
        .collect();
    if candidates.is_empty() {
        return text.to_string();
    }
    let i = candidates[rng.usize(0..candidates.len())];
    match rng.u8(0..4) {
        0 => chars.swap(i, i + 1),
        1 => {
            chars.remove(i);
        }
        2 => chars.insert(i, chars[i]),
        _ => chars[i] = keyboard_neighbour(chars[i]),
    }
    chars.into_iter().collect()
}

fn keyboard_neighbour(c: char) -> char {
    const ROWS: [&str; 3] = ["qwertzuiop", "asdfghjkl", "yxcvbnm"];
    let lower = c.to_ascii_lowercase();
    for row in ROWS {
        if let Some(pos) = row.find(lower) {
            let bytes = row.as_bytes();
            let next = if pos + 1 < bytes.len() {
                bytes[pos + 1]
            } else {
                bytes[pos - 1]
            };
            let n = char::from(next);
            return if c.is_uppercase() {
                n.to_ascii_uppercase()
            } else {
                n
            };
        }
    }
    c
}
