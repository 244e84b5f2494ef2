//! A private PostgreSQL server for one test (the newest installed under `/usr/lib/postgresql`), for what the shared server must not be changed
//! for (TLS with a test CA's certificate): `initdb` into a temporary folder, `postgres` on a free
//! port of 127.0.0.1 with trust authentication, both run as the `postgres` OS user (PostgreSQL
//! refuses to run as root). It can be paused (SIGSTOP to its processes, by their ids) to play a
//! database host that vanished without closing its connections. The server is stopped when the
//! handle is dropped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// The server programs of the newest PostgreSQL installed (Debian keeps each major version in
/// `/usr/lib/postgresql/<version>/bin`).
fn bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server programs are installed under /usr/lib/postgresql")
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL with initdb under /usr/lib/postgresql/<version>/bin")
        .1
}

/// The path of one server program, as a string for `runuser`.
fn program_path(program: &str) -> String {
    static BIN: LazyLock<PathBuf> = LazyLock::new(bin);
    BIN.join(program).display().to_string()
}

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
        .args(["-u", "postgres", "--", &program_path(program)])
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
    /// Creates and starts a server without TLS; waits until it accepts connections.
    pub fn start() -> PrivatePostgres {
        PrivatePostgres::launch(None)
    }

    /// Creates and starts a server with TLS on (`ssl=on`) using `tls`; waits until it accepts
    /// connections.
    pub fn start_with_tls(tls: ServerTls<'_>) -> PrivatePostgres {
        PrivatePostgres::launch(Some(tls))
    }

    fn launch(tls: Option<ServerTls<'_>>) -> PrivatePostgres {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let mut ssl = vec!["ssl=off".to_string()];
        if let Some(tls) = tls {
            let cert = dir.path().join("server.crt");
            let key = dir.path().join("server.key");
            std::fs::write(&cert, tls.cert_pem).expect("write certificate");
            std::fs::write(&key, tls.key_pem).expect("write key");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("0600");
            ssl = vec![
                "ssl=on".to_string(),
                format!("ssl_cert_file={}", cert.display()),
                format!("ssl_key_file={}", key.display()),
            ];
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
        let server = Command::new("runuser")
            .args(["-u", "postgres", "--", &program_path("postgres")])
            .args(["-D", &data_arg, "-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(ssl.iter().flat_map(|setting| ["-c", setting.as_str()]))
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
            let ready = Command::new(program_path("pg_isready"))
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

    /// Freezes every process of the server (SIGSTOP): connections stay open and nothing
    /// answers, as when its host vanished.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets the server's processes run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// Sends `signal` to the server's processes: the one started here and its descendants.
    fn signal(&self, signal: &str) {
        let pids = descendants(self.server.id());
        let _ = Command::new("kill")
            .arg(signal)
            .args(pids.iter().map(u32::to_string))
            .status();
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

/// `root` and every process below it, from `/proc`.
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(|entry| {
                    let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
                    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
                    let after = &stat[stat.rfind(')')? + 1..];
                    let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
                    Some((pid, ppid))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        next += 1;
    }
    found
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.resume();
        let data = self.data_dir().display().to_string();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", &program_path("pg_ctl")])
            .args(["stop", "-D", &data, "-m", "immediate", "-w"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
