//! The three sources' file formats (SAP DEBMAS IDocs, ERPNext JSON lines, a distributor's CSV)
//! and the ground-truth files, each written as records arrive, so memory stays flat at any size.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::entity::Entity;
use super::noise::Copy;
use crate::generator::{IdocFiles, KUNNR_BASE, field, open_idoc, sap_timestamp};

/// A change time in May 2024 as `(YYYYMMDD, HHMMSS)`, from a random number of seconds.
fn when(rng: &mut fastrand::Rng) -> (String, String) {
    sap_timestamp(rng.u64(0..28 * 86_400))
}

/// SAP's customer master as DEBMAS07 IDocs; NAME1 holds 35 characters, the rest goes to NAME2
/// as SAP's customer maintenance does.
pub struct SapWriter {
    files: IdocFiles,
    pub records: usize,
}

impl SapWriter {
    pub fn new(dir: &Path) -> SapWriter {
        SapWriter {
            files: IdocFiles::new(dir),
            records: 0,
        }
    }

    /// Writes one customer; returns its key as the mapping makes it (KUNNR without its zeros).
    pub fn write(
        &mut self,
        rng: &mut fastrand::Rng,
        entity: &Entity,
        copy: &Copy,
    ) -> io::Result<String> {
        let number = KUNNR_BASE + self.records as u64;
        self.records += 1;
        let (credat, cretim) = when(rng);
        self.files.push("DEBMAS07", |buf, docnum| {
            open_idoc(buf, docnum, "DEBMAS07", "DEBMAS", (&credat, &cretim));
            buf.push_str("<E1KNA1M SEGMENT=\"1\">");
            field(buf, "MSGFN", "005");
            field(buf, "KUNNR", &format!("{number:010}"));
            if !copy.person {
                field(buf, "ANRED", "Firma");
            }
            field(buf, "KTOKD", if copy.person { "CPDA" } else { "0001" });
            field(buf, "LAND1", entity.culture.code);
            let split = copy.name.char_indices().nth(35).map(|(i, _)| i);
            match split {
                Some(at) => {
                    field(buf, "NAME1", &copy.name[..at]);
                    field(buf, "NAME2", &copy.name[at..]);
                }
                None => field(buf, "NAME1", &copy.name),
            }
            field(buf, "ORT01", &copy.city);
            field(buf, "PSTLZ", &copy.postal);
            field(buf, "STRAS", &copy.street);
            if let Some(phone) = &copy.phone {
                field(buf, "TELF1", phone);
            }
            if let Some(vat) = &copy.vat {
                field(buf, "STCEG", vat);
            }
            buf.push_str("<E1KNVVM SEGMENT=\"1\">");
            field(buf, "MSGFN", "005");
            field(buf, "VKORG", "1000");
            field(buf, "VTWEG", "10");
            field(buf, "SPART", "00");
            field(buf, "KDGRP", if copy.person { "03" } else { "01" });
            field(buf, "WAERS", "EUR");
            buf.push_str("</E1KNVVM></E1KNA1M></IDOC>\n");
        })?;
        Ok(number.to_string())
    }

    pub fn finish(mut self) -> io::Result<u64> {
        self.files.finish_file()?;
        Ok(self.files.bytes)
    }
}

/// ERPNext customers, one JSON object a line, as `/api/resource/Customer` returns them; persons
/// (`Individual`) carry a custom field `custom_date_of_birth`.
pub struct ErpnextWriter {
    out: BufWriter<File>,
    line: Vec<u8>,
    pub records: usize,
    pub bytes: u64,
}

impl ErpnextWriter {
    pub fn new(path: &Path) -> io::Result<ErpnextWriter> {
        Ok(ErpnextWriter {
            out: BufWriter::with_capacity(1 << 20, File::create(path)?),
            line: Vec::with_capacity(1024),
            records: 0,
            bytes: 0,
        })
    }

    pub fn write(
        &mut self,
        rng: &mut fastrand::Rng,
        entity: &Entity,
        copy: &Copy,
    ) -> io::Result<String> {
        self.records += 1;
        let key = format!("CUST-{:07}", self.records);
        let (date, time) = when(rng);
        let modified = format!(
            "{}-{}-{} {}:{}:{}.{:06}",
            &date[..4],
            &date[4..6],
            &date[6..],
            &time[..2],
            &time[2..4],
            &time[4..],
            rng.u32(0..1_000_000)
        );
        let (ctype, group) = if copy.person {
            ("Individual", "Individual")
        } else {
            ("Company", "Commercial")
        };
        let dob = copy.dob.map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"));
        let record = serde_json::json!({
            "doctype": "Customer",
            "name": key,
            "modified": modified,
            "docstatus": 0,
            "customer_name": copy.name,
            "customer_type": ctype,
            "customer_group": group,
            "territory": entity.culture.country_name,
            "tax_id": copy.vat,
            "email_id": copy.email,
            "mobile_no": copy.phone,
            "disabled": 0,
            "address_line1": copy.street,
            "city": copy.city,
            "pincode": copy.postal,
            "country": entity.culture.country_name,
            "custom_date_of_birth": dob,
        });
        self.line.clear();
        serde_json::to_writer(&mut self.line, &record)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.bytes += self.line.len() as u64;
        Ok(key)
    }

    pub fn finish(mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.bytes)
    }
}

/// A distributor's customer list: `;`-separated, German headers, dates `DD.MM.YYYY`; persons have
/// an empty `Firma` and their names in `Vorname`/`Nachname`. Spreadsheet round trips drop the
/// leading zero of some postal codes.
pub struct DistributorWriter {
    out: csv::Writer<CountingWriter>,
    pub records: usize,
}

impl DistributorWriter {
    pub fn new(path: &Path) -> io::Result<DistributorWriter> {
        let file = CountingWriter {
            inner: BufWriter::with_capacity(1 << 20, File::create(path)?),
            bytes: 0,
        };
        let mut out = csv::WriterBuilder::new().delimiter(b';').from_writer(file);
        out.write_record([
            "Kundennr",
            "Firma",
            "Vorname",
            "Nachname",
            "Geburtsdatum",
            "USt-IdNr",
            "E-Mail",
            "Telefon",
            "Strasse",
            "PLZ",
            "Ort",
            "Land",
            "Geaendert",
        ])?;
        Ok(DistributorWriter { out, records: 0 })
    }

    pub fn write(
        &mut self,
        rng: &mut fastrand::Rng,
        entity: &Entity,
        copy: &Copy,
    ) -> io::Result<String> {
        self.records += 1;
        let key = format!("D{:07}", self.records);
        let (date, time) = when(rng);
        let changed = format!(
            "{}.{}.{} {}:{}",
            &date[6..],
            &date[4..6],
            &date[..4],
            &time[..2],
            &time[2..4]
        );
        let dob = copy
            .dob
            .map(|(y, m, d)| format!("{d:02}.{m:02}.{y:04}"))
            .unwrap_or_default();
        let postal = if copy.postal.starts_with('0') && rng.f32() < 0.3 {
            copy.postal.trim_start_matches('0').to_string()
        } else {
            copy.postal.clone()
        };
        let (firma, vorname, nachname) = if copy.person {
            ("", copy.given.as_str(), copy.family.as_str())
        } else {
            (copy.name.as_str(), "", "")
        };
        let country = if rng.bool() {
            entity.culture.code
        } else {
            entity.culture.country_name
        };
        self.out.write_record([
            key.as_str(),
            firma,
            vorname,
            nachname,
            &dob,
            copy.vat.as_deref().unwrap_or(""),
            copy.email.as_deref().unwrap_or(""),
            copy.phone.as_deref().unwrap_or(""),
            &copy.street,
            &postal,
            &copy.city,
            country,
            &changed,
        ])?;
        Ok(key)
    }

    pub fn finish(self) -> io::Result<u64> {
        let mut inner = self
            .out
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        inner.flush()?;
        Ok(inner.bytes)
    }
}

/// A buffered file that counts what passes through it.
struct CountingWriter {
    inner: BufWriter<File>,
    bytes: u64,
}

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `truth.csv` (`source,key,entity_id`: which records are one customer) and `entities.csv`
/// (`entity_id,group,group_kind,name`: what each customer is, and which look-alikes it was made
/// beside).
pub struct TruthWriter {
    truth: csv::Writer<BufWriter<File>>,
    entities: csv::Writer<BufWriter<File>>,
}

impl TruthWriter {
    pub fn new(dir: &Path) -> io::Result<TruthWriter> {
        let open = |name: &str| -> io::Result<csv::Writer<BufWriter<File>>> {
            Ok(csv::Writer::from_writer(BufWriter::with_capacity(
                1 << 20,
                File::create(dir.join(name))?,
            )))
        };
        let mut truth = open("truth.csv")?;
        truth.write_record(["source", "key", "entity_id"])?;
        let mut entities = open("entities.csv")?;
        entities.write_record(["entity_id", "group", "group_kind", "name"])?;
        Ok(TruthWriter { truth, entities })
    }

    pub fn entity(&mut self, entity: &Entity) -> io::Result<()> {
        self.entities.write_record([
            entity.truth_id().as_str(),
            &entity.group.to_string(),
            entity.group_kind.label(),
            &entity.true_name(),
        ])?;
        Ok(())
    }

    pub fn record(&mut self, source: &str, key: &str, entity: &Entity) -> io::Result<()> {
        self.truth
            .write_record([source, key, entity.truth_id().as_str()])?;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.truth.flush()?;
        self.entities.flush()?;
        Ok(())
    }
}
