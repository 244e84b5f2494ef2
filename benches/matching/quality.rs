//! Matching quality against the generator's ground truth: pairwise precision, recall and F1 of
//! "same golden record", from the contingency of predicted and true clusters (pair counts by
//! n·(n−1)/2 per cell, never by listing pairs), with the false merges and missed pairs broken
//! down so a developer sees what goes wrong.

use std::collections::HashMap;
use std::path::Path;

use futures::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Row};

/// Why the quality could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    #[error("cannot read the ground truth {file}: {source}")]
    Truth { file: String, source: csv::Error },
    #[error("cannot read the store: {0}")]
    Store(#[from] sqlx::Error),
}

/// What the generator says each record is.
pub struct Truth {
    /// `source\u{1f}key` → entity index.
    records: HashMap<String, u32>,
    /// Per entity index: its ID, group, group kind and true name (from `entities.csv`).
    entities: Vec<EntityInfo>,
}

struct EntityInfo {
    id: String,
    group: u64,
    kind: String,
    name: String,
}

fn record_key(source: &str, key: &str) -> String {
    format!("{source}\u{1f}{key}")
}

impl Truth {
    /// Reads `entities.csv` and `truth.csv` from the generator's folder.
    pub fn load(dir: &Path) -> Result<Truth, QualityError> {
        let open = |name: &str| {
            let path = dir.join(name);
            csv::Reader::from_path(&path).map_err(|source| QualityError::Truth {
                file: path.display().to_string(),
                source,
            })
        };
        let failed = |name: &str| {
            let file = dir.join(name).display().to_string();
            move |source| QualityError::Truth { file, source }
        };
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut entities = Vec::new();
        for row in open("entities.csv")?.records() {
            let row = row.map_err(failed("entities.csv"))?;
            index.insert(row[0].to_string(), entities.len() as u32);
            entities.push(EntityInfo {
                id: row[0].to_string(),
                group: row[1].parse().unwrap_or(u64::MAX),
                kind: row[2].to_string(),
                name: row[3].to_string(),
            });
        }
        let mut records = HashMap::new();
        for row in open("truth.csv")?.records() {
            let row = row.map_err(failed("truth.csv"))?;
            let entity = match index.get(&row[2]) {
                Some(&e) => e,
                None => {
                    // An entity missing from entities.csv still counts, as its own.
                    index.insert(row[2].to_string(), entities.len() as u32);
                    entities.push(EntityInfo {
                        id: row[2].to_string(),
                        group: u64::MAX,
                        kind: "unknown".into(),
                        name: String::new(),
                    });
                    entities.len() as u32 - 1
                }
            };
            records.insert(record_key(&row[0], &row[1]), entity);
        }
        Ok(Truth { records, entities })
    }
}

/// One source record in the store: which golden record it ended in, which customer it truly is.
struct Placed {
    golden: u32,
    entity: u32,
    source: String,
    key: String,
}

/// The measured quality.
pub struct Report {
    pub golden_records: usize,
    pub true_entities: usize,
    pub predicted_pairs: u64,
    pub true_pairs: u64,
    pub correct_pairs: u64,
    /// Truth records the store does not hold (quarantined or never mapped).
    pub not_stored: usize,
    /// Store records the truth does not know.
    pub unknown: usize,
    pub false_merge_clusters: usize,
    /// Wrongly merged pairs by how the two customers are related (a generator group kind, or
    /// `unrelated`).
    pub false_pairs_by_relation: Vec<(String, u64)>,
    /// Missed pairs by customer kind (`company`, `person`).
    pub missed_pairs_by_kind: Vec<(String, u64)>,
    pub split_entities: usize,
    /// The store's review items by state, when it has a review table.
    pub reviews: Option<ReviewCounts>,
    pub false_merge_examples: Vec<Vec<Example>>,
    pub missed_examples: Vec<Vec<Example>>,
}

/// Review items by state.
pub struct ReviewCounts {
    /// Items waiting for a steward.
    pub open: i64,
    /// Open items whose two sides are one golden record already: nothing is left to decide, so
    /// each is a fault of the store.
    pub open_settled: i64,
    /// Items closed because a merge made their two sides one golden record.
    pub merged: i64,
}

/// A record shown in an example: where it is from, what it holds, and what it truly is.
pub struct Example {
    pub record: String,
    pub golden: String,
    pub entity: String,
    pub relation: String,
    pub fields: String,
}

impl Report {
    pub fn precision(&self) -> f64 {
        ratio(self.correct_pairs, self.predicted_pairs)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.correct_pairs, self.true_pairs)
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// Perfect when there is nothing to get wrong.
fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

async fn open_store(db: &Path) -> Result<SqlitePool, QualityError> {
    let options = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .disable_statement_logging();
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?)
}

/// Places records in clusters, in the order they are read: cluster names become indexes.
struct Placement<'a> {
    truth: &'a Truth,
    cluster_index: HashMap<String, u32>,
    cluster_ids: Vec<String>,
    placed: Vec<Placed>,
    unknown: usize,
}

impl<'a> Placement<'a> {
    fn new(truth: &'a Truth) -> Placement<'a> {
        Placement {
            truth,
            cluster_index: HashMap::new(),
            cluster_ids: Vec::new(),
            placed: Vec::with_capacity(truth.records.len()),
            unknown: 0,
        }
    }

    /// One record of `source` with `key` found in `cluster`.
    fn place(&mut self, source: String, key: String, cluster: String) {
        let Some(&entity) = self.truth.records.get(&record_key(&source, &key)) else {
            self.unknown += 1;
            return;
        };
        let next = self.cluster_index.len() as u32;
        let ids = &mut self.cluster_ids;
        let golden = *self
            .cluster_index
            .entry(cluster.clone())
            .or_insert_with(|| {
                ids.push(cluster);
                next
            });
        self.placed.push(Placed {
            golden,
            entity,
            source,
            key,
        });
    }
}

/// Reads the customer clusters from the SQLite store at `db` and scores them against `truth`.
pub async fn measure(db: &Path, truth: &Truth) -> Result<Report, QualityError> {
    let pool = open_store(db).await?;
    let redirects: HashMap<String, String> =
        sqlx::query("SELECT id, redirect_to FROM golden WHERE redirect_to IS NOT NULL")
            .fetch(&pool)
            .map_ok(|row| (row.get::<String, _>(0), row.get::<String, _>(1)))
            .try_collect()
            .await?;
    let mut placement = Placement::new(truth);
    let mut rows =
        sqlx::query("SELECT source, source_key, golden_id FROM xref WHERE entity = 'customer'")
            .fetch(&pool);
    while let Some(row) = rows.try_next().await? {
        let (source, key, golden): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        placement.place(source, key, follow(&redirects, golden));
    }
    drop(rows);
    let (mut report, false_merges, split) = tally(&mut placement);
    report.reviews = review_counts(&pool, &redirects).await?;
    let Placement {
        placed,
        cluster_ids,
        ..
    } = &placement;
    report.false_merge_examples =
        false_merge_examples(&pool, truth, placed, &false_merges, cluster_ids).await?;
    report.missed_examples = missed_examples(&pool, truth, placed, &split, cluster_ids).await?;
    pool.close().await;
    Ok(report)
}

/// Scores clusters another tool wrote (`source,key,cluster` CSV with a header) against `truth`,
/// by the same pairwise counting as [`measure`] (without examples).
pub fn measure_csv(path: &Path, truth: &Truth) -> Result<Report, QualityError> {
    let failed = |source| QualityError::Truth {
        file: path.display().to_string(),
        source,
    };
    let mut placement = Placement::new(truth);
    for row in csv::Reader::from_path(path).map_err(failed)?.records() {
        let row = row.map_err(failed)?;
        placement.place(row[0].to_string(), row[1].to_string(), row[2].to_string());
    }
    Ok(tally(&mut placement).0)
}

/// Counts the pairs of the placed records: the report, the wrongly merged clusters (ranges of
/// `placed` after sorting) and the split customers.
fn tally(placement: &mut Placement<'_>) -> (Report, Vec<(usize, usize)>, Vec<u32>) {
    let truth = placement.truth;
    let placed = &mut placement.placed;
    let mut entity_sizes = vec![0u64; truth.entities.len()];
    for &entity in truth.records.values() {
        entity_sizes[entity as usize] += 1;
    }
    let true_pairs: u64 = entity_sizes.iter().map(|&n| pairs(n)).sum();
    placed.sort_unstable_by_key(|p| (p.golden, p.entity));

    let mut report = Report {
        golden_records: placement.cluster_ids.len(),
        true_entities: entity_sizes.iter().filter(|&&n| n > 0).count(),
        predicted_pairs: 0,
        true_pairs,
        correct_pairs: 0,
        not_stored: truth.records.len().saturating_sub(placed.len()),
        unknown: placement.unknown,
        false_merge_clusters: 0,
        false_pairs_by_relation: Vec::new(),
        missed_pairs_by_kind: Vec::new(),
        split_entities: 0,
        reviews: None,
        false_merge_examples: Vec::new(),
        missed_examples: Vec::new(),
    };

    // Predicted clusters: runs of one golden ID; cells: runs of one (golden, entity).
    let mut by_relation: HashMap<String, u64> = HashMap::new();
    let mut false_merges: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    while start < placed.len() {
        let golden = placed[start].golden;
        let end = start + placed[start..].partition_point(|p| p.golden == golden);
        let cluster = &placed[start..end];
        let mut cells: Vec<(u32, u64)> = Vec::new();
        for p in cluster {
            match cells.last_mut() {
                Some((e, n)) if *e == p.entity => *n += 1,
                _ => cells.push((p.entity, 1)),
            }
        }
        let size = cluster.len() as u64;
        let correct: u64 = cells.iter().map(|&(_, n)| pairs(n)).sum();
        report.predicted_pairs += pairs(size);
        report.correct_pairs += correct;
        if cells.len() > 1 {
            report.false_merge_clusters += 1;
            false_merges.push((start, end));
            count_false_pairs(truth, &cells, pairs(size) - correct, &mut by_relation);
        }
        start = end;
    }
    report.false_pairs_by_relation = sorted(by_relation);

    // Missed pairs: records of one customer in different golden records.
    let mut by_entity: Vec<Vec<u32>> = vec![Vec::new(); truth.entities.len()];
    for p in placed.iter() {
        by_entity[p.entity as usize].push(p.golden);
    }
    let mut missed_by_kind: HashMap<String, u64> = HashMap::new();
    let mut split: Vec<u32> = Vec::new();
    for (entity, goldens) in by_entity.iter().enumerate() {
        let mut counts: HashMap<u32, u64> = HashMap::new();
        for g in goldens {
            *counts.entry(*g).or_default() += 1;
        }
        let together: u64 = counts.values().map(|&n| pairs(n)).sum();
        let missed = pairs(entity_sizes[entity]) - together;
        if missed > 0 {
            let kind = if truth.entities[entity].id.starts_with('P') {
                "person"
            } else {
                "company"
            };
            *missed_by_kind.entry(kind.to_string()).or_default() += missed;
        }
        if counts.len() > 1 {
            split.push(entity as u32);
        }
    }
    report.split_entities = split.len();
    report.missed_pairs_by_kind = sorted(missed_by_kind);
    (report, false_merges, split)
}

/// The surviving golden ID: redirects followed to their end (a cycle stops where it closes).
fn follow(redirects: &HashMap<String, String>, mut id: String) -> String {
    for _ in 0..64 {
        match redirects.get(&id) {
            Some(next) if *next != id => id = next.clone(),
            _ => break,
        }
    }
    id
}

/// Splits a cluster's `false_pairs` by how the customers are related: customers of one generator
/// group are sister companies, family members or namesakes; the rest are unrelated.
fn count_false_pairs(
    truth: &Truth,
    cells: &[(u32, u64)],
    false_pairs: u64,
    by_relation: &mut HashMap<String, u64>,
) {
    let mut groups: HashMap<u64, (u64, u64, &str)> = HashMap::new();
    for &(entity, n) in cells {
        let info = &truth.entities[entity as usize];
        let slot = groups
            .entry(info.group)
            .or_insert((0, 0, info.kind.as_str()));
        slot.0 += n;
        slot.1 += n * n;
    }
    let mut related = 0;
    for (group, (sum, squares, kind)) in groups {
        let within = (sum * sum - squares) / 2;
        if within > 0 && group != u64::MAX {
            related += within;
            *by_relation.entry(kind.to_string()).or_default() += within;
        }
    }
    if false_pairs > related {
        *by_relation.entry("unrelated".into()).or_default() += false_pairs - related;
    }
}

fn sorted(counts: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut list: Vec<_> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list
}

async fn review_counts(
    pool: &SqlitePool,
    redirects: &HashMap<String, String>,
) -> Result<Option<ReviewCounts>, QualityError> {
    let exists: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'review'",
    )
    .fetch_optional(pool)
    .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let mut counts = ReviewCounts {
        open: 0,
        open_settled: 0,
        merged: 0,
    };
    let mut rows = sqlx::query("SELECT status, left_id, right_id FROM review").fetch(pool);
    while let Some(row) = rows.try_next().await? {
        let (status, left, right): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        match status.as_str() {
            "open" => {
                counts.open += 1;
                if follow(redirects, left) == follow(redirects, right) {
                    counts.open_settled += 1;
                }
            }
            "merged" => counts.merged += 1,
            _ => {}
        }
    }
    Ok(Some(counts))
}

/// How many examples of each kind to show: three, or as many as `MATCHING_EXAMPLES` says, to
/// study the misses and false merges of a run.
fn examples_wanted() -> usize {
    std::env::var("MATCHING_EXAMPLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
}

/// A few items spread over `items`, so the examples are not all from the start of the data.
fn spread_pick<T: Clone>(items: &[T]) -> Vec<T> {
    let n = items.len().min(examples_wanted());
    (0..n).map(|k| items[k * items.len() / n].clone()).collect()
}

/// Wrongly merged clusters (see [`spread_pick`]), each with one record of each of its first customers.
async fn false_merge_examples(
    pool: &SqlitePool,
    truth: &Truth,
    placed: &[Placed],
    clusters: &[(usize, usize)],
    golden_ids: &[String],
) -> Result<Vec<Vec<Example>>, QualityError> {
    let mut examples = Vec::new();
    for (start, end) in spread_pick(clusters) {
        let mut shown = Vec::new();
        let mut last_entity = None;
        for p in &placed[start..end] {
            if last_entity != Some(p.entity) && shown.len() < 4 {
                shown.push(example(pool, truth, p, golden_ids).await?);
                last_entity = Some(p.entity);
            }
        }
        examples.push(shown);
    }
    Ok(examples)
}

/// Customers (see [`spread_pick`]) whose records ended in different golden records.
async fn missed_examples(
    pool: &SqlitePool,
    truth: &Truth,
    placed: &[Placed],
    split: &[u32],
    golden_ids: &[String],
) -> Result<Vec<Vec<Example>>, QualityError> {
    let mut examples = Vec::new();
    for entity in spread_pick(split) {
        let mut shown = Vec::new();
        for p in placed.iter().filter(|p| p.entity == entity).take(4) {
            shown.push(example(pool, truth, p, golden_ids).await?);
        }
        examples.push(shown);
    }
    Ok(examples)
}

async fn example(
    pool: &SqlitePool,
    truth: &Truth,
    p: &Placed,
    golden_ids: &[String],
) -> Result<Example, QualityError> {
    let row = sqlx::query(
        "SELECT json_extract(record, '$.name'), json_extract(record, '$.tax_id'), \
         json_extract(record, '$.emails[0]'), json_extract(record, '$.date_of_birth'), \
         json_extract(record, '$.addresses[0].street'), json_extract(record, '$.addresses[0].postal_code'), \
         json_extract(record, '$.addresses[0].city'), json_extract(record, '$.phones[0]') \
         FROM xref WHERE source = ? AND entity = 'customer' AND source_key = ?",
    )
    .bind(&p.source)
    .bind(&p.key)
    .fetch_optional(pool)
    .await?;
    let text = |i: usize| {
        row.as_ref()
            .and_then(|r| r.try_get::<Option<String>, _>(i).ok().flatten())
            .unwrap_or_default()
    };
    let mut fields = format!("{:?}", text(0));
    for (label, i) in [("tax", 1), ("email", 2), ("born", 3), ("phone", 7)] {
        let value = text(i);
        if !value.is_empty() {
            fields.push_str(&format!(" {label} {value}"));
        }
    }
    fields.push_str(&format!(" | {}, {} {}", text(4), text(5), text(6)));
    let info = &truth.entities[p.entity as usize];
    Ok(Example {
        record: format!("{}:{}", p.source, p.key),
        golden: golden_ids[p.golden as usize].clone(),
        entity: format!("{} {:?}", info.id, info.name),
        relation: info.kind.clone(),
        fields,
    })
}
