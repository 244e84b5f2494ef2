//! The secrets in a database URL, scrubbed from the messages a database driver writes.

/// The secrets in `url` (its password, raw and percent-decoded, and any `password=` query
/// value), to scrub from messages a database driver writes.
pub fn secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some((_, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some((userinfo, _)) = rest[..authority_end].rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
        {
            found.push(password.to_string());
            found.push(percent_decode(password));
        }
    }
    if let Some((_, query)) = url.split_once('?') {
        for pair in query.split('&') {
            if let Some((name, value)) = pair.split_once('=')
                && name.eq_ignore_ascii_case("password")
            {
                found.push(value.to_string());
                found.push(percent_decode(value));
            }
        }
    }
    found.retain(|s| !s.is_empty());
    for secret in &found {
        crate::redact::register_secret(secret);
    }
    found.sort();
    found.dedup();
    // Longest first, so a password containing another is replaced whole.
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found
}

/// `message` with every secret replaced by `***`.
pub fn scrub(message: &str, secrets: &[String]) -> String {
    secrets.iter().fold(message.to_string(), |text, secret| {
        text.replace(secret, "***")
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_found_raw_and_decoded_and_scrubbed() {
        let secrets = secrets("postgres://erp:s3cr%40t@db/erp?password=other");
        assert_eq!(
            scrub("login s3cr@t failed; s3cr%40t; other", &secrets),
            "login *** failed; ***; ***"
        );
        assert!(super::secrets("mysql://root@h/test").is_empty());
    }
}
