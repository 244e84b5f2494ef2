//! Transports shared by several drivers: the HTTP client with retries, backoff, rate and
//! concurrency limits and authentication lives here once, so the `http` and `odoo` drivers (and
//! any later one) behave alike when a server is slow, busy or refuses a login; [`tls`] holds what
//! every TLS connection shares, database connections included.

pub mod http;
pub mod tls;
