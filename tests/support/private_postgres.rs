//! A private PostgreSQL 15 server for one test, for what the shared server must not be changed
//! for (TLS with a test CA's certificate): `initdb` into a temporary folder, `postgres` on a free
//! port of 127.0.0.1 with trust authentication, both run as the `postgres` OS user (PostgreSQL
//! refuses to run as root). The server is stopped when the handle is dropped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running private server.
pub struct PrivatePostgres {
    pub port: u16,
    dir: tempfile::TempDir,
    server: Child,
}

/// A server's TLS certificate and key, PEM.
pub struct ServerTls<'a> {
    pub cert_pem: &'a str,
    pub key_pem: &'a str,
}

/// Runs `program` with `args` as the `postgres` OS user and waits for it; panics with its output
/// when it fails.
fn as_postgres(program: &str, args: &[&str]) {
    let output = Command::new("runuser")
        .args(["-u", "postgres", "--", &format!("{BIN}/{program}")])
        .args(args)
        .output()
        .expect("runuser runs");
    assert!(
        output.status.success(),
        "{program} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Gives `path` to the `postgres` OS user.
fn chown(path: &Path) {
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path)
        .status()
        .expect("chown runs");
    assert!(status.success(), "chown {}", path.display());
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

impl PrivatePostgres {
    /// Creates and starts a server with TLS on (`ssl=on`) using `tls`; waits until it accepts
    /// connections.
    pub fn start_with_tls(tls: ServerTls<'_>) -> PrivatePostgres {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let cert = dir.path().join("server.crt");
        let key = dir.path().join("server.key");
        std::fs::write(&cert, tls.cert_pem).expect("write certificate");
        std::fs::write(&key, tls.key_pem).expect("write key");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("0600");
        }
        chown(dir.path());
        let data_arg = data.display().to_string();
        as_postgres(
            "initdb",
            &[
                "-D",
                &data_arg,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let port = free_port();
        let setting = |name: &str, value: &dyn std::fmt::Display| format!("{name}={value}");
        let server = Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{BIN}/postgres")])
            .args(["-D", &data_arg, "-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args([
                "-c",
                "ssl=on",
                "-c",
                &setting("ssl_cert_file", &cert.display()),
            ])
            .args(["-c", &setting("ssl_key_file", &key.display())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        let server = PrivatePostgres { port, dir, server };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        loop {
            let ready = Command::new(format!("{BIN}/pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .is_ok_and(|status| status.success());
            if ready {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the private PostgreSQL did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The data folder, e.g. to look at the server's files.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A URL for database `postgres` as user `postgres` at `host` (`localhost` or `127.0.0.1`)
    /// with `query` (`sslmode=...`) appended.
    pub fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{query}", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data_dir().display().to_string();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{BIN}/pg_ctl")])
            .args(["stop", "-D", &data, "-m", "immediate", "-w"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
