//! Dates of birth: typed by hand, so a swapped day and month or one wrong digit is common; two
//! such errors grade `similar`.

use super::{Graded, Level};

/// A date as its eight digits `YYYYMMDD`, the form in which typing errors are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateDigits(pub [u8; 8]);

impl DateDigits {
    /// Reads `YYYY-MM-DD` (anything after the date, such as a time, is ignored); `None` for
    /// anything else.
    pub fn parse(raw: &str) -> Option<DateDigits> {
        let b = raw.trim().as_bytes();
        let date = b.get(..10)?;
        if date[4] != b'-' || date[7] != b'-' {
            return None;
        }
        let mut digits = [0u8; 8];
        for (slot, &c) in digits
            .iter_mut()
            .zip(date[..4].iter().chain(&date[5..7]).chain(&date[8..10]))
        {
            if !c.is_ascii_digit() {
                return None;
            }
            *slot = c;
        }
        Some(DateDigits(digits))
    }

    /// Year, month and day as text for display and block keys.
    pub fn year(&self) -> &str {
        std::str::from_utf8(&self.0[..4]).unwrap_or_default()
    }

    /// Month and day, in either order: the pair that stays the same when they are transposed.
    pub fn month_day_sorted(&self) -> (&str, &str) {
        let month = std::str::from_utf8(&self.0[4..6]).unwrap_or_default();
        let day = std::str::from_utf8(&self.0[6..8]).unwrap_or_default();
        if month <= day {
            (month, day)
        } else {
            (day, month)
        }
    }

    /// As `YYYY-MM-DD`.
    pub fn display(&self) -> String {
        let d = &self.0;
        let s = |r: std::ops::Range<usize>| std::str::from_utf8(&d[r]).unwrap_or_default();
        format!("{}-{}-{}", s(0..4), s(4..6), s(6..8))
    }
}

/// Grades two dates: equal exact; day and month transposed, one digit wrong or two neighbouring
/// digits swapped close; anything else far.
pub fn grade_dates(left: Option<DateDigits>, right: Option<DateDigits>) -> Graded {
    let (Some(l), Some(r)) = (left, right) else {
        return Graded::MISSING;
    };
    if l == r {
        return Graded::new(Level::Exact, 1.0);
    }
    let (a, b) = (l.0, r.0);
    let transposed_day_month = a[..4] == b[..4] && a[4..6] == b[6..8] && a[6..8] == b[4..6];
    let differing = (0..8).filter(|&i| a[i] != b[i]);
    let count = differing.clone().count();
    let one_digit = count == 1;
    let neighbours_swapped = count == 2
        && differing
            .clone()
            .next()
            .is_some_and(|i| i < 7 && a[i] == b[i + 1] && a[i + 1] == b[i]);
    let similarity = 1.0 - count as f64 / 8.0;
    // Two typing errors: two digits wrong, or day and month swapped and one digit wrong.
    let swapped_back = [a[0], a[1], a[2], a[3], a[6], a[7], a[4], a[5]];
    let after_swap = (0..8).filter(|&i| swapped_back[i] != b[i]).count();
    if transposed_day_month || one_digit || neighbours_swapped {
        Graded::new(Level::Close, similarity)
    } else if count == 2 || after_swap == 1 {
        Graded::new(Level::Similar, similarity)
    } else {
        Graded::new(Level::Far, similarity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grade(a: &str, b: &str) -> Level {
        grade_dates(DateDigits::parse(a), DateDigits::parse(b)).level
    }

    #[test]
    fn transposed_day_and_month_is_close() {
        assert_eq!(grade("1980-03-04", "1980-03-04"), Level::Exact);
        assert_eq!(grade("1980-03-04", "1980-04-03"), Level::Close);
        assert_eq!(
            DateDigits::parse("1980-03-04").map(|d| {
                let (low, high) = d.month_day_sorted();
                format!("{low}-{high}")
            }),
            DateDigits::parse("1980-04-03").map(|d| {
                let (low, high) = d.month_day_sorted();
                format!("{low}-{high}")
            })
        );
    }

    #[test]
    fn one_typo_is_close_and_other_dates_far() {
        assert_eq!(grade("1980-03-04", "1980-03-05"), Level::Close);
        assert_eq!(grade("1980-03-04", "1908-03-04"), Level::Close);
        assert_eq!(grade("1980-03-04", "1981-07-04"), Level::Similar);
        assert_eq!(grade("1948-12-10", "1998-10-12"), Level::Similar);
        assert_eq!(grade("1980-03-04", "1971-07-04"), Level::Far);
        assert_eq!(grade("1980-03-04", "1975-11-23"), Level::Far);
    }

    #[test]
    fn unreadable_or_missing_dates_are_missing() {
        assert_eq!(grade("1980-03-04", ""), Level::Missing);
        assert_eq!(grade("04.03.1980", "1980-03-04"), Level::Missing);
        assert_eq!(grade("1980-03-04T00:00:00Z", "1980-03-04"), Level::Exact);
        assert_eq!(grade("19é0-03-04", "1980-03-04"), Level::Missing);
    }
}
