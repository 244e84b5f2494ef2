//! What the TLS connections of every driver (HTTP and database alike) share: telling a refused
//! server certificate apart from a server that is down, so a certificate problem fails at once
//! with advice instead of being retried like a passing network fault.

/// Whether `error`, or anything that caused it, is rustls refusing the server's certificate
/// (an unknown issuer, another host name, an expired certificate): retrying cannot cure that.
/// An `io::Error` is looked into, not past: its `source()` skips the error it wraps.
pub fn is_certificate_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        cause = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    false
}
