//! Email addresses: the same mailbox exact; the same person at another domain, or a near
//! spelling at the same domain, close. Shared role mailboxes (`info@`, `sales@`) say nothing
//! about who is behind them, so they never make two domains close.

use super::text::jaro_winkler;
use super::{Graded, Level};

/// Local-part similarity from which two addresses at one domain count as close.
pub const CLOSE: f64 = 0.92;

/// An email address trimmed and lower-cased; `None` without a local part and a domain.
pub fn normalize(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    (!local.is_empty() && domain.contains('.') && !domain.contains('@')).then_some(email)
}

/// Local parts of shared mailboxes.
const ROLE_MAILBOXES: &[&str] = &[
    "info",
    "office",
    "sales",
    "contact",
    "kontakt",
    "mail",
    "hello",
    "service",
    "support",
    "admin",
    "billing",
    "invoice",
    "invoices",
    "rechnung",
    "buchhaltung",
    "accounting",
    "orders",
    "order",
    "bestellung",
    "einkauf",
    "purchasing",
    "verkauf",
    "vertrieb",
    "post",
    "noreply",
    "no-reply",
    "webmaster",
    "team",
    "hr",
    "jobs",
    "zentrale",
    "empfang",
];

/// Grades two email lists by their best pair.
pub fn grade_emails(left: &[String], right: &[String]) -> (Graded, usize, usize) {
    if left.is_empty() || right.is_empty() {
        return (Graded::MISSING, 0, 0);
    }
    let mut best = (Graded::new(Level::Far, 0.0), 0, 0);
    for (i, l) in left.iter().enumerate() {
        for (j, r) in right.iter().enumerate() {
            if l == r {
                return (Graded::new(Level::Exact, 1.0), i, j);
            }
            let graded = grade_pair(l, r);
            let key = |g: &Graded| (g.level, -g.similarity.unwrap_or(0.0));
            if key(&graded) < key(&best.0) {
                best = (graded, i, j);
            }
        }
    }
    best
}

fn grade_pair(left: &str, right: &str) -> Graded {
    let (Some((l_local, l_domain)), Some((r_local, r_domain))) =
        (left.split_once('@'), right.split_once('@'))
    else {
        return Graded::new(Level::Far, 0.0);
    };
    let role = ROLE_MAILBOXES.contains(&l_local) || ROLE_MAILBOXES.contains(&r_local);
    if l_local == r_local && !role {
        return Graded::new(Level::Close, 1.0);
    }
    if l_domain == r_domain && !role {
        let similarity = jaro_winkler(l_local, r_local);
        let level = if similarity >= CLOSE {
            Level::Close
        } else {
            Level::Far
        };
        return Graded::new(level, similarity);
    }
    Graded::new(Level::Far, 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(a: &str, b: &str) -> Level {
        let norm = |s: &str| normalize(s).into_iter().collect::<Vec<_>>();
        grade_emails(&norm(a), &norm(b)).0.level
    }

    #[test]
    fn normalization() {
        assert_eq!(
            normalize(" Anna.Schmidt@Web.DE ").as_deref(),
            Some("anna.schmidt@web.de")
        );
        assert_eq!(normalize("not an email"), None);
        assert_eq!(normalize("@web.de"), None);
    }

    #[test]
    fn levels() {
        assert_eq!(
            level("Anna.Schmidt@web.de", "anna.schmidt@WEB.de"),
            Level::Exact
        );
        assert_eq!(
            level("anna.schmidt@web.de", "anna.schmidt@gmail.com"),
            Level::Close
        );
        assert_eq!(
            level("anna.schmidt@acme.de", "anna.schmitd@acme.de"),
            Level::Close
        );
        assert_eq!(
            level("hans.schmidt@acme.de", "anna.schmidt@acme.de"),
            Level::Far
        );
        assert_eq!(level("info@acme.de", "info@globex.de"), Level::Far);
        assert_eq!(level("info@acme.de", "sales@acme.de"), Level::Far);
        assert_eq!(level("info@acme.de", ""), Level::Missing);
    }

    #[test]
    fn best_pair_of_lists() {
        let left = vec!["a@x.de".to_string(), "anna@acme.de".to_string()];
        let right = vec!["b@y.de".to_string(), "anna@acme.de".to_string()];
        let (graded, i, j) = grade_emails(&left, &right);
        assert_eq!((graded.level, i, j), (Level::Exact, 1, 1));
    }
}
