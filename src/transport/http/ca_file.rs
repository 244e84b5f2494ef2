//! The shared HTTP client's `ca_file`: extra trust anchors for servers behind an internal CA.
//!
//! Verification always stays on: a `ca_file` adds roots beside the public web roots, it never
//! replaces the check, and there is no setting that skips it.

use std::path::Path;

use super::TransportError;

/// The CA certificates of a PEM file (one or more `BEGIN CERTIFICATE` blocks). A file that
/// cannot be read, is not PEM or holds no certificate is an error naming it.
pub fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, TransportError> {
    let refused = |reason: String| TransportError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| refused(format!("cannot be read: {e}")))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| refused(format!("is not a PEM file of certificates: {e}")))?;
    if certificates.is_empty() {
        return Err(refused(
            "holds no PEM certificate (a `-----BEGIN CERTIFICATE-----` block)".into(),
        ));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("erp-ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = load_ca_file(&path).unwrap_err().to_string();
        assert!(error.contains("erp-ca.pem"), "{error}");
        assert!(error.contains("no PEM certificate"), "{error}");
        let missing = load_ca_file(&dir.path().join("missing.pem"))
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("missing.pem") && missing.contains("cannot be read"),
            "{missing}"
        );
    }
}
