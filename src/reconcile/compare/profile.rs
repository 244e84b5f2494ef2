//! A record prepared once for every comparison it takes part in.

use serde_json::Value;

use super::address::{self, PreparedAddress};
use super::company::{self, CompanyName};
use super::date::{self, DateDigits};
use super::ids::{self, TaxId};
use super::person::{self, PersonName};
use super::text::{fold, jaro_winkler};
use super::{Comparator, Graded, Level, TEXT_CLOSE, email, phone, unit};
use crate::model::Fields;

/// A canonical record (customer or product) in the normalized forms the comparators use,
/// built once per record so that comparing it with many candidates repeats no normalization.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// `name` as a company name (for a person without `name`, given and family name).
    pub company: CompanyName,
    /// The person's name from `given_name`/`family_name`, or `name` split.
    pub person: PersonName,
    pub date_of_birth: Option<DateDigits>,
    /// Addresses with a postal code or a street, in record order.
    pub addresses: Vec<PreparedAddress>,
    /// Valid addresses, trimmed and lower case.
    pub emails: Vec<String>,
    /// E.164 numbers (national digits when the country is unknown).
    pub phones: Vec<String>,
    pub tax_id: Option<TaxId>,
    /// Nine digits.
    pub duns: Option<String>,
    /// Check-digit-verified GTIN-14.
    pub gtin: Option<String>,
    /// Canonical unit code.
    pub unit: Option<String>,
    /// Every other top-level text field, folded, for [`Comparator::Text`].
    pub texts: Vec<(String, String)>,
    /// The record is a person: it has a given or family name or a date of birth, or is typed
    /// `b2c`. A pair with a person compares names as person names only, a pair of companies
    /// as company names only, so one name never counts twice.
    pub is_person: bool,
}

/// Fields with a comparator of their own; [`Comparator::Text`] folds the rest.
const OWN_COMPARATOR: &[&str] = &[
    "date_of_birth",
    "tax_id",
    "duns",
    "gtin",
    "unit",
    "emails",
    "phones",
    "addresses",
    "contacts",
];

/// The first address's non-blank `part` (`country`, `city`) among a record's addresses.
fn first_address_text<'f>(fields: &'f Fields, part: &str) -> Option<&'f str> {
    fields
        .get("addresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get(part).and_then(Value::as_str))
        .find(|c| !c.trim().is_empty())
}

impl Profile {
    /// Prepares a record given as the canonical fields of a customer or product.
    pub fn new(fields: &Fields) -> Profile {
        let text = |key: &str| fields.get(key).and_then(Value::as_str);
        let list = |key: &str| -> Vec<&str> {
            match fields.get(key) {
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
                Some(Value::String(one)) => vec![one.as_str()],
                _ => Vec::new(),
            }
        };
        let addresses: Vec<PreparedAddress> = match fields.get("addresses") {
            Some(Value::Array(items)) => items.iter().filter_map(PreparedAddress::new).collect(),
            _ => Vec::new(),
        };
        let country = first_address_text(fields, "country");
        let (given, family, name) = (text("given_name"), text("family_name"), text("name"));
        let city = first_address_text(fields, "city");
        let company = match name {
            Some(name) => CompanyName::in_city(name, city),
            None => CompanyName::new(
                &[given, family]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        };
        let mut emails: Vec<String> = list("emails")
            .into_iter()
            .filter_map(email::normalize)
            .collect();
        emails.dedup();
        let mut phones: Vec<String> = list("phones")
            .into_iter()
            .filter_map(|p| phone::normalize(p, country))
            .collect();
        phones.dedup();
        let texts = fields
            .iter()
            .filter(|(key, _)| !OWN_COMPARATOR.contains(&key.as_str()))
            .filter_map(|(key, value)| Some((key.clone(), fold(value.as_str()?))))
            .collect();
        Profile {
            company,
            person: PersonName::new(given, family, name),
            date_of_birth: text("date_of_birth").and_then(DateDigits::parse),
            addresses,
            emails,
            phones,
            tax_id: text("tax_id").and_then(|t| TaxId::parse(t, country)),
            duns: text("duns").and_then(ids::duns),
            gtin: text("gtin").and_then(ids::gtin),
            unit: text("unit").and_then(unit::normalize),
            texts,
            is_person: given.is_some()
                || family.is_some()
                || text("date_of_birth").is_some()
                || text("customer_type") == Some("b2c"),
        }
    }

    /// The folded value of a text field, when the record has one.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.texts
            .iter()
            .find(|(key, _)| key == field)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }
}

/// Grades two profiles under one comparator.
pub(super) fn grade(
    comparator: Comparator,
    field: &str,
    left: &Profile,
    right: &Profile,
) -> Graded {
    let persons = left.is_person || right.is_person;
    match comparator {
        Comparator::CompanyName | Comparator::LegalForm if persons => Graded::MISSING,
        Comparator::PersonName
        | Comparator::GivenName
        | Comparator::FamilyName
        | Comparator::Generation
            if !persons =>
        {
            Graded::MISSING
        }
        Comparator::CompanyName => left.company.grade(&right.company),
        Comparator::LegalForm => {
            company::grade_legal_form(left.company.legal_form, right.company.legal_form)
        }
        Comparator::PersonName => left.person.grade(&right.person),
        Comparator::GivenName => left.person.grade_parts(&right.person).given,
        Comparator::FamilyName => left.person.grade_parts(&right.person).family,
        Comparator::Generation => {
            person::grade_generation(left.person.generation, right.person.generation)
        }
        Comparator::DateOfBirth => date::grade_dates(left.date_of_birth, right.date_of_birth),
        Comparator::Address => address::grade_addresses(&left.addresses, &right.addresses).0,
        Comparator::PostalCode => address::grade_postal_codes(&left.addresses, &right.addresses),
        Comparator::Street => address::grade_streets(&left.addresses, &right.addresses),
        Comparator::HouseNumber => address::grade_house_numbers(&left.addresses, &right.addresses),
        Comparator::City => address::grade_cities(&left.addresses, &right.addresses),
        Comparator::Email => email::grade_emails(&left.emails, &right.emails).0,
        Comparator::Phone => phone::grade_phones(&left.phones, &right.phones).0,
        Comparator::TaxId => ids::grade_tax_ids(left.tax_id.as_ref(), right.tax_id.as_ref()),
        Comparator::Duns => ids::grade_equal(left.duns.as_deref(), right.duns.as_deref()),
        Comparator::Gtin => ids::grade_equal(left.gtin.as_deref(), right.gtin.as_deref()),
        Comparator::Text => grade_text(left.text(field), right.text(field)),
        Comparator::Unit => ids::grade_equal(left.unit.as_deref(), right.unit.as_deref()),
    }
}

/// Folded texts: equal exact, Jaro-Winkler ≥ 0.92 close.
fn grade_text(left: Option<&str>, right: Option<&str>) -> Graded {
    let (Some(l), Some(r)) = (left, right) else {
        return Graded::MISSING;
    };
    if l == r {
        return Graded::new(Level::Exact, 1.0);
    }
    let similarity = jaro_winkler(l, r);
    let level = if similarity >= TEXT_CLOSE {
        Level::Close
    } else {
        Level::Far
    };
    Graded::new(level, similarity)
}

/// The values a comparator looked at, normalized, for explanations.
pub(super) fn shown(
    comparator: Comparator,
    field: &str,
    left: &Profile,
    right: &Profile,
) -> (Option<String>, Option<String>) {
    let both = |f: &dyn Fn(&Profile) -> Option<String>| (f(left), f(right));
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match comparator {
        Comparator::CompanyName => both(&|p| non_empty(&p.company.joined)),
        Comparator::LegalForm => both(&|p| p.company.legal_form.map(str::to_string)),
        Comparator::PersonName => {
            both(&|p| non_empty(format!("{} {}", p.person.given, p.person.family).trim()))
        }
        Comparator::GivenName | Comparator::FamilyName => {
            let parts = left.person.grade_parts(&right.person);
            let family = comparator == Comparator::FamilyName;
            let column = |p: &Profile, family: bool| {
                non_empty(if family {
                    &p.person.family
                } else {
                    &p.person.given
                })
            };
            // Which column of each record the comparison read (see `NameParts`).
            let left_family = family != parts.own_columns_swapped;
            let right_family = family != (parts.swapped && !parts.own_columns_swapped);
            (column(left, left_family), column(right, right_family))
        }
        Comparator::Generation => both(&|p| p.person.generation.map(str::to_string)),
        Comparator::DateOfBirth => both(&|p| p.date_of_birth.map(|d| d.display())),
        Comparator::Address => {
            let (_, i, j) = address::grade_addresses(&left.addresses, &right.addresses);
            (
                left.addresses.get(i).map(show_address),
                right.addresses.get(j).map(show_address),
            )
        }
        Comparator::Street | Comparator::HouseNumber | Comparator::City => {
            let Some((i, j)) = address::best_pair(&left.addresses, &right.addresses) else {
                return (None, None);
            };
            let part = |a: &PreparedAddress| match comparator {
                Comparator::Street => non_empty(&a.street),
                Comparator::HouseNumber => non_empty(&a.house_number),
                _ => non_empty(&a.city),
            };
            (part(&left.addresses[i]), part(&right.addresses[j]))
        }
        Comparator::PostalCode => both(&|p| {
            let codes: Vec<&str> = p
                .addresses
                .iter()
                .map(|a| a.postal_code.as_str())
                .filter(|c| !c.is_empty())
                .collect();
            non_empty(&codes.join(", "))
        }),
        Comparator::Email => {
            let (_, i, j) = email::grade_emails(&left.emails, &right.emails);
            (left.emails.get(i).cloned(), right.emails.get(j).cloned())
        }
        Comparator::Phone => {
            let (_, i, j) = phone::grade_phones(&left.phones, &right.phones);
            (left.phones.get(i).cloned(), right.phones.get(j).cloned())
        }
        Comparator::TaxId => both(&|p| p.tax_id.as_ref().map(TaxId::key)),
        Comparator::Duns => both(&|p| p.duns.clone()),
        Comparator::Gtin => both(&|p| p.gtin.clone()),
        Comparator::Text => both(&|p| p.text(field).map(str::to_string)),
        Comparator::Unit => both(&|p| p.unit.clone()),
    }
}

/// An address as compared: `street number, country-postal city`.
fn show_address(a: &PreparedAddress) -> String {
    let country = a
        .country
        .as_deref()
        .map(|c| format!("{c}-"))
        .unwrap_or_default();
    format!(
        "{} {}, {country}{} {}",
        a.street, a.house_number, a.postal_code, a.city
    )
    .split_whitespace()
    .collect::<Vec<_>>()
    .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Fields {
        match value {
            Value::Object(map) => map,
            _ => Fields::new(),
        }
    }

    fn compare(comparator: Comparator, left: Value, right: Value) -> super::super::Compared {
        comparator.compare("name", &record(left), &record(right))
    }

    #[test]
    fn a_customer_from_two_systems() {
        let sap = record(json!({
            "name": "Müller GmbH",
            "tax_id": "DE 811.234.567",
            "emails": ["Info@Mueller.de"],
            "phones": ["030/1234567"],
            "addresses": [{"street": "Hauptstr. 5", "postal_code": "10115", "city": "Berlin", "country": "DE"}]
        }));
        let shop = record(json!({
            "name": "MUELLER G.m.b.H.",
            "tax_id": "811234567",
            "emails": ["info@mueller.de "],
            "phones": ["+49 30 1234567"],
            "addresses": [{"street": "Hauptstraße", "house_number": "5", "postal_code": "10115", "country": "DE"}]
        }));
        let (a, b) = (Profile::new(&sap), Profile::new(&shop));
        for comparator in [
            Comparator::CompanyName,
            Comparator::LegalForm,
            Comparator::TaxId,
            Comparator::Email,
            Comparator::Phone,
            Comparator::Address,
            Comparator::PostalCode,
        ] {
            assert_eq!(
                comparator.grade("name", &a, &b).level,
                Level::Exact,
                "{comparator:?}"
            );
        }
        for comparator in [Comparator::DateOfBirth, Comparator::Duns, Comparator::Gtin] {
            assert_eq!(
                comparator.grade("name", &a, &b).level,
                Level::Missing,
                "{comparator:?}"
            );
        }
        let shown = Comparator::Phone.compare_profiles("phones", &a, &b);
        assert_eq!(shown.left.as_deref(), Some("+49301234567"));
        let shown = Comparator::Address.compare_profiles("addresses", &a, &b);
        assert_eq!(shown.left.as_deref(), Some("hauptstr 5, DE-10115 berlin"));
        assert_eq!(shown.right.as_deref(), Some("hauptstr 5, DE-10115"));
    }

    #[test]
    fn the_tax_id_prefix_comes_from_the_address_country() {
        let compared = compare(
            Comparator::TaxId,
            json!({"tax_id": "DE 811.234.567"}),
            json!({"tax_id": "811234567", "addresses": [{"street": "x 1", "country": "DE"}]}),
        );
        assert_eq!(compared.level, Level::Exact);
        assert_eq!(compared.right.as_deref(), Some("DE811234567"));
        let vetoed = compare(
            Comparator::TaxId,
            json!({"tax_id": "DE811234567"}),
            json!({"tax_id": "DE 999 888 777"}),
        );
        assert_eq!(vetoed.level, Level::Far);
    }

    #[test]
    fn persons_with_and_without_split_names() {
        let compared = compare(
            Comparator::PersonName,
            json!({"name": "Schmidt Hans", "date_of_birth": "1980-03-04"}),
            json!({"given_name": "Hans", "family_name": "Schmidt", "date_of_birth": "1980-04-03"}),
        );
        assert_eq!(compared.level, Level::Exact);
        let dob = compare(
            Comparator::DateOfBirth,
            json!({"date_of_birth": "1980-03-04"}),
            json!({"date_of_birth": "1980-04-03"}),
        );
        assert_eq!(
            (dob.level, dob.right.as_deref()),
            (Level::Close, Some("1980-04-03"))
        );
        let generation = compare(
            Comparator::Generation,
            json!({"name": "John Smith Jr.", "customer_type": "b2c"}),
            json!({"name": "John Smith Sr."}),
        );
        assert_eq!(generation.level, Level::Far);
    }

    #[test]
    fn a_name_counts_once_as_a_person_or_as_a_company() {
        let companies = (
            json!({"name": "Klaus Mayer"}),
            json!({"name": "Klaus Mayer"}),
        );
        let persons = (
            json!({"name": "Klaus Mayer", "customer_type": "b2c"}),
            json!({"given_name": "Klaus", "family_name": "Mayer"}),
        );
        let level = |c, (l, r): &(Value, Value)| compare(c, l.clone(), r.clone()).level;
        assert_eq!(level(Comparator::CompanyName, &companies), Level::Exact);
        assert_eq!(level(Comparator::PersonName, &companies), Level::Missing);
        assert_eq!(level(Comparator::PersonName, &persons), Level::Exact);
        assert_eq!(level(Comparator::CompanyName, &persons), Level::Missing);
        assert_eq!(level(Comparator::LegalForm, &persons), Level::Missing);
    }

    #[test]
    fn products_by_gtin_unit_and_text() {
        let left = record(
            json!({"sku": "AB-100", "gtin": "4006381333931", "unit": "PCE", "name": "Schraube M8 x 40"}),
        );
        let right = record(
            json!({"sku": "ab 100", "gtin": "04006381333931", "unit": "Stück", "name": "Schraube M8x40"}),
        );
        assert_eq!(
            Comparator::Gtin.compare("gtin", &left, &right).level,
            Level::Exact
        );
        assert_eq!(
            Comparator::Unit.compare("unit", &left, &right).level,
            Level::Exact
        );
        assert_eq!(
            Comparator::Text.compare("sku", &left, &right).level,
            Level::Exact
        );
        assert_eq!(
            Comparator::Text.compare("name", &left, &right).level,
            Level::Close
        );
        assert_eq!(
            Comparator::Text.compare("status", &left, &right).level,
            Level::Missing
        );
        let bad_check_digit = record(json!({"gtin": "4006381333932"}));
        assert_eq!(
            Comparator::Gtin
                .compare("gtin", &left, &bad_check_digit)
                .level,
            Level::Missing
        );
    }

    #[test]
    fn malformed_values_are_missing_not_errors() {
        let odd = record(json!({
            "name": 42, "emails": "not-an-email", "phones": [null, 7], "addresses": "Berlin",
            "date_of_birth": "04/03/1980", "tax_id": ["x"]
        }));
        let normal =
            record(json!({"name": "Acme", "emails": ["a@b.de"], "phones": ["+4930123456"]}));
        for comparator in Comparator::ALL {
            let compared = comparator.compare("name", &odd, &normal);
            assert_eq!(compared.level, Level::Missing, "{comparator:?}");
        }
    }
}
