//! Work spread over the machine's cores with results in input order, so that matching decides
//! the same whatever the number of cores: preparing records (folding names, parsing addresses,
//! phonetic codes) and scoring them against what the store held before their batch are pure and
//! independent per record, the costly part of a batch.

use std::num::NonZeroUsize;
use std::thread;

/// Fewer items than this per thread are not worth a thread.
const MIN_PER_THREAD: usize = 256;

/// `f` applied to every item, on up to all cores, results in the order of `items`.
pub fn map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = cores.min(items.len() / MIN_PER_THREAD).max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<U>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_input_order() {
        let items: Vec<u64> = (0..10_000).collect();
        let squares = map(&items, |x| x * x);
        assert_eq!(squares.len(), items.len());
        assert!(
            squares
                .iter()
                .enumerate()
                .all(|(i, s)| *s == (i * i) as u64)
        );
        assert_eq!(map(&[3u8], |x| x + 1), vec![4]);
        assert!(map(&Vec::<u8>::new(), |x| *x).is_empty());
    }
}
