//! Pair scores worked out ahead, on all cores. Deciding a batch is sequential: a record may join
//! a golden record an earlier record of the same batch created or grew. But most of its work,
//! scoring it against the members the golden records of its blocks had before the batch, does
//! not depend on the records before it. That part is scored for every record of the batch at
//! once, spread over the cores; deciding then looks those scores up and scores only what the
//! batch itself added. A score looked up is the score the pair would get when scored then, so
//! the decisions are the same on any number of cores.

use super::scoring::Quick;

/// The scores of one record against the members golden records held before its batch, per rule.
#[derive(Debug, Default)]
pub struct Prescored {
    /// `(rule, golden record's ordinal, first score in `scores`, member count)`, sorted.
    entries: Vec<(u32, u32, u32, u32)>,
    /// The scores, member by member in member order.
    scores: Vec<Quick>,
}

impl Prescored {
    /// Adds the scores of golden record `golden`'s members under rule `rule`, once per pair.
    pub fn add(&mut self, rule: usize, golden: u32, scores: impl IntoIterator<Item = Quick>) {
        let start = self.scores.len();
        self.scores.extend(scores);
        let count = self.scores.len() - start;
        self.entries
            .push((rule as u32, golden, start as u32, count as u32));
    }

    /// Sorts what was added, for [`Prescored::get`].
    pub fn finish(mut self) -> Prescored {
        self.entries.sort_unstable();
        self
    }

    /// The scores of golden record `golden`'s first members under rule `rule`: as many as it
    /// had before the batch, or none when the record's blocks did not lead to it then.
    pub fn get(&self, rule: usize, golden: u32) -> &[Quick] {
        let key = (rule as u32, golden);
        match self
            .entries
            .binary_search_by_key(&key, |(r, g, _, _)| (*r, *g))
        {
            Ok(at) => {
                let (_, _, start, count) = self.entries[at];
                &self.scores[start as usize..(start + count) as usize]
            }
            Err(_) => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick(total: f64) -> Quick {
        Quick {
            total,
            vetoed_by: None,
            conflicts: false,
        }
    }

    #[test]
    fn scores_are_found_by_rule_and_golden_record() {
        let mut prescored = Prescored::default();
        prescored.add(1, 7, [quick(3.0), quick(4.0)]);
        prescored.add(0, 7, [quick(1.0)]);
        prescored.add(0, 2, []);
        let prescored = prescored.finish();
        let totals = |rule, golden| -> Vec<f64> {
            prescored
                .get(rule, golden)
                .iter()
                .map(|q| q.total)
                .collect()
        };
        assert_eq!(totals(1, 7), vec![3.0, 4.0]);
        assert_eq!(totals(0, 7), vec![1.0]);
        assert!(totals(0, 2).is_empty());
        assert!(totals(1, 2).is_empty(), "never added");
        assert!(totals(2, 7).is_empty(), "another rule");
    }
}
