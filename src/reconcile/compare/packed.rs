//! A prepared record packed into one allocation, for keeping many of them between batches: a
//! [`Profile`] holds a dozen small strings (about a kilobyte with their allocations), its packed
//! form the same bytes once (about a fifth of that). Unpacking copies the strings back out, which
//! costs a fraction of reading a record's JSON and normalizing it again.

use super::address::PreparedAddress;
use super::company::CompanyName;
use super::date::DateDigits;
use super::ids::TaxId;
use super::person::PersonName;
use super::profile::Profile;

/// A [`Profile`] with only the [`Profile::texts`] a rule's `text` comparisons read, its strings
/// length-prefixed in one byte buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    bytes: Box<[u8]>,
    legal_form: Option<&'static str>,
    abbreviated: u16,
    generation: Option<&'static str>,
    tax_prefix: Option<&'static str>,
    date_of_birth: Option<DateDigits>,
    is_person: bool,
}

/// Appends strings and counts to a buffer.
struct Writer(Vec<u8>);

impl Writer {
    /// A length as LEB128 (one byte below 128).
    fn number(&mut self, mut n: usize) {
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(low);
                return;
            }
            self.0.push(low | 0x80);
        }
    }

    fn text(&mut self, text: &str) {
        self.number(text.len());
        self.0.extend_from_slice(text.as_bytes());
    }

    fn optional(&mut self, text: Option<&str>) {
        match text {
            Some(text) => {
                self.0.push(1);
                self.text(text);
            }
            None => self.0.push(0),
        }
    }

    fn list<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a str>) {
        self.number(items.len());
        for item in items {
            self.text(item);
        }
    }
}

/// Reads back what a [`Writer`] wrote; a buffer cut short reads as empty values, never a panic.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn number(&mut self) -> usize {
        let mut n = 0usize;
        let mut shift = 0;
        while let Some(&byte) = self.bytes.get(self.at) {
            self.at += 1;
            n |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 || shift > 56 {
                break;
            }
            shift += 7;
        }
        n
    }

    fn text(&mut self) -> String {
        let len = self.number();
        let end = self.at.saturating_add(len).min(self.bytes.len());
        let text = String::from_utf8_lossy(&self.bytes[self.at.min(end)..end]).into_owned();
        self.at = end;
        text
    }

    fn optional(&mut self) -> Option<String> {
        let present = self.bytes.get(self.at).copied();
        self.at += 1;
        (present == Some(1)).then(|| self.text())
    }

    fn list(&mut self) -> Vec<String> {
        let count = self.number().min(self.bytes.len());
        (0..count).map(|_| self.text()).collect()
    }
}

impl Packed {
    /// Packs a prepared record, keeping the texts of `text_fields` only.
    pub fn new(profile: &Profile, text_fields: &[&str]) -> Packed {
        let mut w = Writer(Vec::with_capacity(160));
        let company = &profile.company;
        w.list(company.tokens.iter().map(String::as_str));
        w.text(&company.joined);
        w.text(&company.compact);
        w.text(&company.form_typo);
        w.text(&profile.person.given);
        w.text(&profile.person.family);
        w.number(profile.addresses.len());
        for a in &profile.addresses {
            w.text(&a.postal_code);
            w.optional(a.country.as_deref());
            w.text(&a.street);
            w.text(&a.house_number);
            w.text(&a.city);
        }
        w.list(profile.emails.iter().map(String::as_str));
        w.list(profile.phones.iter().map(String::as_str));
        w.optional(profile.tax_id.as_ref().map(|t| t.body.as_str()));
        w.optional(profile.duns.as_deref());
        w.optional(profile.gtin.as_deref());
        w.optional(profile.unit.as_deref());
        let texts: Vec<&(String, String)> = profile
            .texts
            .iter()
            .filter(|(key, _)| text_fields.contains(&key.as_str()))
            .collect();
        w.number(texts.len());
        for (key, value) in texts {
            w.text(key);
            w.text(value);
        }
        Packed {
            bytes: w.0.into_boxed_slice(),
            legal_form: company.legal_form,
            abbreviated: company.abbreviated,
            generation: profile.person.generation,
            tax_prefix: profile.tax_id.as_ref().and_then(|t| t.prefix),
            date_of_birth: profile.date_of_birth,
            is_person: profile.is_person,
        }
    }

    /// The profile again (with the texts it was packed with).
    pub fn unpack(&self) -> Profile {
        let mut r = Reader {
            bytes: &self.bytes,
            at: 0,
        };
        let company = CompanyName {
            tokens: r.list(),
            joined: r.text(),
            compact: r.text(),
            form_typo: r.text(),
            legal_form: self.legal_form,
            abbreviated: self.abbreviated,
        };
        let person = PersonName {
            given: r.text(),
            family: r.text(),
            generation: self.generation,
        };
        let count = r.number().min(self.bytes.len());
        let addresses = (0..count)
            .map(|_| PreparedAddress {
                postal_code: r.text(),
                country: r.optional(),
                street: r.text(),
                house_number: r.text(),
                city: r.text(),
            })
            .collect();
        let emails = r.list();
        let phones = r.list();
        let tax_id = r.optional().map(|body| TaxId {
            prefix: self.tax_prefix,
            body,
        });
        Profile {
            company,
            person,
            date_of_birth: self.date_of_birth,
            addresses,
            emails,
            phones,
            tax_id,
            duns: r.optional(),
            gtin: r.optional(),
            unit: r.optional(),
            texts: {
                let count = r.number().min(self.bytes.len());
                (0..count).map(|_| (r.text(), r.text())).collect()
            },
            is_person: self.is_person,
        }
    }

    /// Bytes this packed record holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile(value: serde_json::Value) -> Profile {
        match value {
            serde_json::Value::Object(map) => Profile::new(&map),
            _ => Profile::default(),
        }
    }

    #[test]
    fn a_packed_profile_unpacks_to_the_same_profile_with_the_texts_asked_for() {
        for record in [
            json!({"name": "Müller Masch.-Bau Distr. GmbH", "tax_id": "DE 811.234.567",
                "emails": ["Info@Mueller.de", "b@c.de"], "phones": ["030/1234567"],
                "addresses": [{"street": "Hauptstraße 5", "postal_code": "10115", "city": "Berlin", "country": "DE"},
                              {"street": "Ring 1", "postal_code": "80331"}],
                "segment": "retail"}),
            json!({"given_name": "Hans", "family_name": "Schmidt Jr.", "date_of_birth": "1980-03-04",
                "addresses": [{"street": "Lindenweg 156", "postal_code": "51618", "city": "Köln"}]}),
            json!({"name": "Thames Packaging LTTD"}),
            json!({"sku": "AB-100", "gtin": "4006381333931", "unit": "PCE", "duns": "15-048-3782"}),
            json!({}),
        ] {
            let mut expected = profile(record);
            let asked = ["sku", "segment"];
            let packed = Packed::new(&expected, &asked);
            expected
                .texts
                .retain(|(key, _)| asked.contains(&key.as_str()));
            assert_eq!(packed.unpack(), expected);
            let packed = Packed::new(&expected, &[]);
            expected.texts.clear();
            assert_eq!(packed.unpack(), expected);
            assert!(packed.heap_bytes() < 200);
        }
    }

    #[test]
    fn long_values_keep_their_length() {
        let long = "x".repeat(300);
        let expected = profile(json!({ "name": long, "emails": [format!("{long}@example.com")] }));
        let mut without_texts = expected.clone();
        without_texts.texts.clear();
        assert_eq!(Packed::new(&expected, &[]).unpack(), without_texts);
    }
}
