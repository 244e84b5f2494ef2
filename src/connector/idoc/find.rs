//! Byte searches for IDoc markup, where the byte looked for is mostly a few bytes away: a tag's
//! `>`, the `<` after a short field. memchr's vectorised search costs more to set up than it
//! saves on a dozen bytes, so the first [`SHORT`] bytes are looked at one by one and memchr takes
//! over only beyond them.

use memchr::{memchr, memchr2, memchr3};

/// Bytes looked at one by one before a vectorised search.
const SHORT: usize = 32;

/// The first `a` in `bytes`.
pub fn find(a: u8, bytes: &[u8]) -> Option<usize> {
    let head = &bytes[..bytes.len().min(SHORT)];
    match head.iter().position(|&b| b == a) {
        None if bytes.len() > SHORT => memchr(a, &bytes[SHORT..]).map(|at| at + SHORT),
        found => found,
    }
}

/// The first `a` or `b` in `bytes`.
pub fn find2(a: u8, b: u8, bytes: &[u8]) -> Option<usize> {
    let head = &bytes[..bytes.len().min(SHORT)];
    match head.iter().position(|&x| x == a || x == b) {
        None if bytes.len() > SHORT => memchr2(a, b, &bytes[SHORT..]).map(|at| at + SHORT),
        found => found,
    }
}

/// The first `a`, `b` or `c` in `bytes`.
pub fn find3(a: u8, b: u8, c: u8, bytes: &[u8]) -> Option<usize> {
    let head = &bytes[..bytes.len().min(SHORT)];
    match head.iter().position(|&x| x == a || x == b || x == c) {
        None if bytes.len() > SHORT => memchr3(a, b, c, &bytes[SHORT..]).map(|at| at + SHORT),
        found => found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_match_near_and_far() {
        for length in [0, 1, 5, SHORT - 1, SHORT, SHORT + 1, 100] {
            let none = vec![b'x'; length];
            assert_eq!(find(b'<', &none), None);
            assert_eq!(find2(b'<', b'&', &none), None);
            assert_eq!(find3(b'>', b'"', b'\'', &none), None);
            for at in [0, length / 2, length.saturating_sub(1)]
                .into_iter()
                .filter(|&at| at < length)
            {
                // The match, then only other needles after it.
                let mut bytes = none.clone();
                bytes[at] = b'<';
                bytes[at + 1..].fill(b'&');
                assert_eq!(find(b'<', &bytes), Some(at), "{length} {at}");
                assert_eq!(find2(b'&', b'<', &bytes), Some(at), "{length} {at}");
                assert_eq!(find3(b'"', b'<', b'&', &bytes), Some(at), "{length} {at}");
            }
        }
    }
}
