//! Merges within a batch: matches are transitive, so golden records joined by a record (two of its
//! keys name two golden records) or by a steward form one cluster. Union-find over golden IDs; the
//! oldest ID (UUIDv7 IDs sort by creation time) survives, the others redirect to it.

use std::collections::HashMap;

/// The merges decided so far in one batch.
#[derive(Debug, Default)]
pub struct Clusters {
    parent: HashMap<String, String>,
    /// Losers in the order they were merged, with their survivor at the time.
    merged: Vec<(String, String)>,
}

impl Clusters {
    /// The surviving ID of `id`'s cluster (`id` itself when it was never merged).
    pub fn find(&self, id: &str) -> String {
        self.root(id).to_string()
    }

    /// [`Clusters::find`] without a copy, for the scoring loop that asks it of every candidate.
    pub fn root<'a>(&'a self, id: &'a str) -> &'a str {
        let mut current = id;
        while let Some(next) = self.parent.get(current) {
            current = next;
        }
        current
    }

    /// Joins the clusters of `a` and `b`; returns the loser's root when they were apart.
    pub fn union(&mut self, a: &str, b: &str) -> Option<(String, String)> {
        let (a, b) = (self.find(a), self.find(b));
        if a == b {
            return None;
        }
        let (survivor, loser) = if a < b { (a, b) } else { (b, a) };
        self.parent.insert(loser.clone(), survivor.clone());
        self.merged.push((loser.clone(), survivor.clone()));
        Some((loser, survivor))
    }

    /// Every merged-away ID with its final survivor.
    pub fn losers(&self) -> Vec<(String, String)> {
        self.merged
            .iter()
            .map(|(loser, _)| (loser.clone(), self.find(loser)))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.merged.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_id_survives_transitive_merges() {
        let mut clusters = Clusters::default();
        assert_eq!(
            clusters.union("cus_3", "cus_2"),
            Some(("cus_3".into(), "cus_2".into()))
        );
        clusters.union("cus_2", "cus_1");
        assert_eq!(clusters.find("cus_3"), "cus_1");
        assert_eq!(clusters.union("cus_3", "cus_1"), None);
        let mut losers = clusters.losers();
        losers.sort();
        assert_eq!(
            losers,
            vec![
                ("cus_2".to_string(), "cus_1".to_string()),
                ("cus_3".to_string(), "cus_1".to_string())
            ]
        );
    }
}
