//! Noisy customer data with ground truth, for measuring how well reconciliation matches.
//!
//! True customers (about four in five companies, the rest persons) are created in groups — most
//! alone, some beside look-alikes that must stay apart (sister companies at one address, family
//! members at one address, namesakes in one city). Each appears in one to three sources (SAP
//! DEBMAS IDocs, ERPNext JSON lines, a distributor's CSV), a few twice in one source, every copy
//! disturbed the way real data is (see `noise`). `truth.csv` says which records are one customer.
//!
//! Everything is a pure function of the seed and the record count, written as it is generated.

mod entity;
mod noise;
mod pools;
mod writers;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use noise::Strength;
use writers::{DistributorWriter, ErpnextWriter, SapWriter, TruthWriter};

use crate::generator::rng_for;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct NoisySpec {
    /// Customer records across all sources (the last group may add one or two more).
    pub records: usize,
    pub seed: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoisyManifest {
    pub records: usize,
    pub sap: usize,
    pub erpnext: usize,
    pub distributor: usize,
    /// True customers behind the records.
    pub entities: usize,
    pub companies: usize,
    pub persons: usize,
    /// Pairs of records that are the same customer: what a perfect matcher merges.
    pub true_pairs: u64,
    pub bytes: u64,
    /// The `concord.yaml` written to the output folder.
    pub config: PathBuf,
}

/// The sources, in the order a sync reads them.
pub const SOURCES: [&str; 3] = ["sap", "erpnext", "distributor"];

/// Writes `sap/*.xml`, `erpnext/customers.jsonl`, `distributor/customers.csv`, `truth.csv`,
/// `entities.csv` and `concord.yaml` (match rules from `benches/match-rules.yaml`) into `dir`. The
/// data folders are replaced, so files of an earlier run never mix in.
pub fn generate(dir: &Path, spec: &NoisySpec) -> io::Result<NoisyManifest> {
    for sub in SOURCES {
        let path = dir.join(sub);
        if path.exists() {
            fs::remove_dir_all(&path)?;
        }
        fs::create_dir_all(&path)?;
    }
    let mut sap = SapWriter::new(&dir.join("sap"));
    let mut erpnext = ErpnextWriter::new(&dir.join("erpnext/customers.jsonl"))?;
    let mut distributor = DistributorWriter::new(&dir.join("distributor/customers.csv"))?;
    let mut truth = TruthWriter::new(dir)?;

    let (mut records, mut entities, mut persons, mut true_pairs) = (0usize, 0usize, 0usize, 0u64);
    let mut g = 0u64;
    while records < spec.records {
        for entity in entity::group(spec.seed, g, entities as u64) {
            entities += 1;
            persons += usize::from(entity.is_person());
            truth.entity(&entity)?;
            let mut rng = rng_for(spec.seed ^ 0xC0_B1E5, entity.id);
            let copies = appearances(&mut rng);
            true_pairs += (copies.len() * (copies.len() - 1) / 2) as u64;
            for (n, source) in copies.into_iter().enumerate() {
                // The first copy is the system of record's: cleaner, and up to date.
                let strength = if n == 0 {
                    Strength {
                        scale: 0.3,
                        stale: false,
                    }
                } else {
                    Strength {
                        scale: 1.0,
                        stale: true,
                    }
                };
                let copy = noise::copy(&mut rng, &entity, strength);
                let key = match source {
                    0 => sap.write(&mut rng, &entity, &copy)?,
                    1 => erpnext.write(&mut rng, &entity, &copy)?,
                    _ => distributor.write(&mut rng, &entity, &copy)?,
                };
                truth.record(SOURCES[source], &key, &entity)?;
                records += 1;
            }
        }
        g += 1;
    }

    let manifest_counts = (sap.records, erpnext.records, distributor.records);
    let mut bytes = sap.finish()? + erpnext.finish()? + distributor.finish()?;
    truth.finish()?;
    let config = dir.join("concord.yaml");
    let yaml = concord_yaml()?;
    fs::write(&config, &yaml)?;
    bytes += yaml.len() as u64;
    Ok(NoisyManifest {
        records,
        sap: manifest_counts.0,
        erpnext: manifest_counts.1,
        distributor: manifest_counts.2,
        entities,
        companies: entities - persons,
        persons,
        true_pairs,
        bytes,
        config,
    })
}

/// Which sources hold a customer (indexes into [`SOURCES`]), the system of record first: one
/// source for 30 %, two for 40 %, all three for 30 %; one customer in fifty is entered twice in
/// one of its sources.
fn appearances(rng: &mut fastrand::Rng) -> Vec<usize> {
    let roll = rng.f32();
    let count = if roll < 0.3 {
        1
    } else if roll < 0.7 {
        2
    } else {
        3
    };
    let mut sources = vec![0, 1, 2];
    rng.shuffle(&mut sources);
    sources.truncate(count);
    if rng.f32() < 0.02 {
        let again = sources[rng.usize(0..sources.len())];
        sources.push(again);
    }
    sources
}

/// The bench config: the repository's SAP and ERPNext mappings, the bench's own mappings for
/// ERPNext persons and the distributor's CSV, and the `match:` section of
/// `benches/match-rules.yaml`, so rules change without touching the generator.
fn concord_yaml() -> io::Result<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let quoted = |rel: &str| {
        let path = root.join(rel);
        serde_json::to_string(&path.to_string_lossy()).unwrap_or_default()
    };
    let rules = fs::read_to_string(root.join("benches/match-rules.yaml"))?;
    Ok(format!(
        "# Written by the matching benchmark's data generator.\n\
         store: {{ url: \"sqlite://concord.db\" }}\n\
         sources:\n\
         \x20 - name: sap\n\
         \x20   driver: idoc\n\
         \x20   files: \"sap/*.xml\"\n\
         \x20   priority: 10\n\
         \x20   mappings: [{}]\n\
         \x20 - name: erpnext\n\
         \x20   driver: json\n\
         \x20   files: \"erpnext/*.jsonl\"\n\
         \x20   format: lines\n\
         \x20   priority: 5\n\
         \x20   mappings: [{}, {}]\n\
         \x20 - name: distributor\n\
         \x20   driver: csv\n\
         \x20   files: \"distributor/*.csv\"\n\
         \x20   delimiter: \";\"\n\
         \x20   priority: 1\n\
         \x20   mappings: [{}, {}]\n\
         {rules}",
        quoted("mappings/sap-idoc/debmas.yaml"),
        quoted("benches/mappings/erpnext-individual.yaml"),
        quoted("mappings/erpnext/customer.yaml"),
        quoted("benches/mappings/distributor-companies.yaml"),
        quoted("benches/mappings/distributor-persons.yaml"),
    ))
}
