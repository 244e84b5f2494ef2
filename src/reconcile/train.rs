//! Weights from the data itself: Fellegi–Sunter m and u probabilities estimated by
//! expectation–maximisation over the candidate pairs the blocking yields, so a new source needs
//! no hand tuning. `m` is how often a comparison lands on a level when the two records are the
//! same entity, `u` when they are not; a level's weight is log2(m/u). No labels are needed: the
//! pairs fall into two groups by their comparison patterns, and EM finds them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::rules::Matching;
use crate::model::EntityKind;
use crate::reconcile::rules::LevelWeights;
use crate::store::{Fields, Stewardship, StoreError};
use crate::yaml::{self, YamlError};

use super::compare::Level;
use super::scoring::{Scorable, ScoredRule, TrainedRule, TrainedWeights, load_weights};

/// Levels in a fixed order, for the probability tables.
const LEVELS: [Level; 5] = Level::ALL;
/// The index of [`Level::Missing`] in [`LEVELS`].
const MISSING: usize = 4;

/// How training went, for the command's report.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    pub rule: String,
    pub records: usize,
    pub pairs: u64,
    pub iterations: usize,
    pub trained: TrainedRule,
}

/// Training limits.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// Records of one block compared with each other at most (larger blocks are sampled by
    /// their first members), so a block of a common value never makes training quadratic.
    pub max_block: usize,
    pub max_iterations: usize,
    /// Stop when no probability moves by more than this.
    pub tolerance: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            max_block: 50,
            max_iterations: 100,
            tolerance: 1e-6,
        }
    }
}

/// Estimates the weights of one scored rule from source records.
pub fn train(rule: &ScoredRule, records: Vec<Fields>, options: TrainOptions) -> TrainReport {
    let count = records.len();
    let scorables: Vec<Scorable> = records.iter().map(Scorable::new).collect();
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, record) in scorables.iter().enumerate() {
        for value in rule.block_values_of(&record.profile) {
            let members = blocks.entry(value).or_default();
            if members.len() < options.max_block {
                members.push(index);
            }
        }
    }
    let mut pairs: Vec<(usize, usize)> = blocks
        .values()
        .flat_map(|members| {
            members
                .iter()
                .enumerate()
                .flat_map(move |(i, a)| members[i + 1..].iter().map(move |b| (*a, *b)))
        })
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let patterns: Vec<Vec<usize>> = pairs
        .iter()
        .map(|(a, b)| {
            rule.levels(&scorables[*a], &scorables[*b])
                .into_iter()
                .map(|(level, _)| level_index(level))
                .collect()
        })
        .collect();
    let (m, u, share, iterations) =
        expectation_maximisation(&patterns, rule.comparisons.len(), options);
    // A level the comparison never produced on these pairs keeps no weight of its own.
    let mut seen = vec![[false; 5]; rule.comparisons.len()];
    for pattern in &patterns {
        for (k, level) in pattern.iter().enumerate() {
            seen[k][*level] = true;
        }
    }
    let mut weights = BTreeMap::new();
    let mut probabilities = BTreeMap::new();
    for (k, comparison) in rule.comparisons.iter().enumerate() {
        let weight = |l: usize| {
            if l == MISSING {
                0.0
            } else {
                ((m[k][l] / u[k][l]).log2().clamp(-20.0, 20.0) * 100.0).round() / 100.0
            }
        };
        weights.insert(
            comparison.name.clone(),
            LevelWeights {
                exact: weight(0),
                close: weight(1),
                similar: seen[k][2].then(|| weight(2)),
                far: weight(3),
                missing: 0.0,
            },
        );
        probabilities.insert(
            comparison.name.clone(),
            LEVELS
                .iter()
                .enumerate()
                .map(|(l, level)| {
                    (
                        format!("{level:?}").to_lowercase(),
                        (round(m[k][l]), round(u[k][l])),
                    )
                })
                .collect(),
        );
    }
    TrainReport {
        rule: rule.name.clone(),
        records: count,
        pairs: pairs.len() as u64,
        iterations,
        trained: TrainedRule {
            pairs: pairs.len() as u64,
            match_share: round(share),
            weights,
            probabilities,
        },
    }
}

fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn level_index(level: Level) -> usize {
    LEVELS.iter().position(|l| *l == level).unwrap_or(MISSING)
}

/// Probability tables per comparison and level.
type Table = Vec<[f64; 5]>;

/// Prior m probabilities (a true match mostly agrees) and u probabilities (a non-match mostly
/// differs) per level; EM starts from them and they weigh in as [`PRIOR_PAIRS`] pseudo-pairs,
/// so a level seen on few pairs keeps a sensible weight instead of an extreme one.
const PRIOR_M: [f64; 5] = [0.82, 0.10, 0.05, 0.03, 0.0];
const PRIOR_U: [f64; 5] = [0.03, 0.04, 0.08, 0.85, 0.0];
/// How many pairs' worth the priors count for in each M step.
const PRIOR_PAIRS: f64 = 20.0;

/// Two-class EM over comparison patterns. Returns m, u, the match share and the iterations run.
/// Starts from the usual priors (matches agree, non-matches mostly differ), which also decides
/// which class is called "match". A `missing` level is no evidence: it takes no part in the
/// likelihoods, so the classes split by agreement, not by which fields a source fills.
fn expectation_maximisation(
    patterns: &[Vec<usize>],
    comparisons: usize,
    options: TrainOptions,
) -> (Table, Table, f64, usize) {
    let mut m: Table = vec![PRIOR_M; comparisons];
    let mut u: Table = vec![PRIOR_U; comparisons];
    let mut share = 0.1;
    // Identical patterns share a posterior: count them once.
    let mut counted: HashMap<&[usize], f64> = HashMap::new();
    for pattern in patterns {
        *counted.entry(pattern.as_slice()).or_default() += 1.0;
    }
    let total: f64 = patterns.len() as f64;
    if total == 0.0 {
        return (m, u, share, 0);
    }
    let prior = |p: [f64; 5], share: f64| -> [f64; 5] {
        let mut row = p.map(|x| x * PRIOR_PAIRS * share);
        row[MISSING] = 0.0;
        row
    };
    let mut iterations = 0;
    for _ in 0..options.max_iterations {
        iterations += 1;
        let mut m_next: Table = vec![prior(PRIOR_M, share.max(0.05)); comparisons];
        let mut u_next: Table = vec![prior(PRIOR_U, 1.0); comparisons];
        let mut matched = 0.0;
        for (pattern, n) in &counted {
            let (mut pm, mut pu) = (share, 1.0 - share);
            for (k, level) in pattern.iter().enumerate().filter(|(_, l)| **l != MISSING) {
                pm *= m[k][*level];
                pu *= u[k][*level];
            }
            let posterior = if pm + pu > 0.0 { pm / (pm + pu) } else { 0.0 };
            matched += posterior * n;
            for (k, level) in pattern.iter().enumerate().filter(|(_, l)| **l != MISSING) {
                m_next[k][*level] += posterior * n;
                u_next[k][*level] += (1.0 - posterior) * n;
            }
        }
        for table in [&mut m_next, &mut u_next] {
            for row in table.iter_mut() {
                let sum: f64 = row.iter().sum();
                row.iter_mut().for_each(|p| *p /= sum);
            }
        }
        let moved = m
            .iter()
            .flatten()
            .zip(m_next.iter().flatten())
            .chain(u.iter().flatten().zip(u_next.iter().flatten()))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        m = m_next;
        u = u_next;
        share = (matched / total).clamp(1e-6, 1.0 - 1e-6);
        if moved < options.tolerance {
            break;
        }
    }
    (m, u, share, iterations)
}

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("no scored match rules (`compare:`) for {0} in the config")]
    NoScoredRules(EntityKind),
    #[error("match rule `{0}` has no `weights_file:`; give `--output FILE`")]
    NoWeightsFile(String),
    #[error("{path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Trains every scored rule of `entity` on the stored source records and writes each rule's
/// weights into its weights file (or `output`), keeping what the file holds for other rules.
pub async fn train_config(
    matching: &Matching<'_>,
    store: &dyn Stewardship,
    entity: EntityKind,
    output: Option<&Path>,
    options: TrainOptions,
) -> Result<Vec<(PathBuf, TrainReport)>, TrainError> {
    let rules: Vec<_> = matching
        .rules_of(entity)
        .iter()
        .filter(|r| r.is_scored())
        .collect();
    if rules.is_empty() {
        return Err(TrainError::NoScoredRules(entity));
    }
    let records = store.source_records(entity).await?;
    let mut written = Vec::new();
    for rule in rules {
        let path = match (output, &rule.weights_file) {
            (Some(path), _) => path.to_path_buf(),
            (None, Some(file)) => matching.base_dir.join(file),
            (None, None) => return Err(TrainError::NoWeightsFile(rule.rule.clone())),
        };
        let scored = ScoredRule::new(entity, rule, matching.base_dir)?;
        let report = train(&scored, records.clone(), options);
        let mut file: TrainedWeights = if path.exists() {
            load_weights(&path)?
        } else {
            TrainedWeights::new()
        };
        file.entry(entity)
            .or_default()
            .insert(report.rule.clone(), report.trained.clone());
        let text = format!(
            "# Match weights estimated by `concord reconcile train` (Fellegi–Sunter, EM).\n{}",
            yaml::to_string(&path, &file)?
        );
        std::fs::write(&path, text).map_err(|error| TrainError::Write {
            path: path.clone(),
            error,
        })?;
        written.push((path, report));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAR: usize = 3;

    #[test]
    fn em_separates_agreeing_from_disagreeing_pairs() {
        // Two comparisons; 200 true pairs mostly agree, 800 non-pairs mostly differ.
        let mut patterns = Vec::new();
        for i in 0..200 {
            patterns.push(vec![
                if i % 10 == 0 { 1 } else { 0 },
                if i % 7 == 0 { MISSING } else { 0 },
            ]);
        }
        for i in 0..800 {
            patterns.push(vec![
                if i % 20 == 0 { 0 } else { FAR },
                if i % 9 == 0 { 0 } else { FAR },
            ]);
        }
        let (m, u, share, _) = expectation_maximisation(&patterns, 2, TrainOptions::default());
        assert!((share - 0.2).abs() < 0.05, "share {share}");
        assert!(m[0][0] > 0.75 && u[0][0] < 0.1, "m {m:?} u {u:?}");
        assert!((m[0][0] / u[0][0]).log2() > 3.0);
        assert!((m[0][FAR] / u[0][FAR]).log2() < -3.0);
    }
}
