//! Helpers of the API and steward page tests: the quickstart copied into a temporary folder (its
//! own store, no message bus), and the real router served on a free port of 127.0.0.1.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use concord::app::Context;
use concord::config::Config;
use concord::web::{self, Auth, AuthConfig, Web, Writer};
use tokio_util::sync::CancellationToken;

/// The quickstart example copied into `dir`, its mapping paths made absolute and its bus left
/// out (a test publishes nothing). Returns the config file.
pub fn quickstart_project(dir: &Path) -> PathBuf {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    copy_dir(&example, dir);
    let config = dir.join("concord.yaml");
    let text = std::fs::read_to_string(&config).expect("quickstart config");
    let mappings = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings");
    let mut kept = String::new();
    let mut in_bus = false;
    for line in text.lines() {
        if line.starts_with("bus:") {
            in_bus = true;
            continue;
        }
        if in_bus && (line.starts_with(' ') || line.is_empty()) {
            continue;
        }
        in_bus = false;
        kept.push_str(&line.replace("../../mappings", &mappings.display().to_string()));
        kept.push('\n');
    }
    std::fs::write(&config, kept).expect("config written");
    config
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "concord.db" {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A served router; dropping it stops the server.
pub struct Served {
    pub base: String,
    shutdown: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Serves the API and the steward page of `config_path`'s store, as `concord serve` does.
pub async fn serve(config_path: &Path, auth: Option<AuthConfig>) -> Served {
    let config = Config::load(config_path).expect("config loads");
    let store = concord::store::open_reader(&config.store_url())
        .await
        .expect("store opens");
    let web = Web {
        store: Arc::from(store),
        auth: Auth::new(auth).expect("auth settings"),
        writer: Writer::Command(Context {
            config: config_path.to_path_buf(),
            wait: Some(std::time::Duration::from_secs(30)),
        }),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let shutdown = CancellationToken::new();
    let router = web::router(Arc::new(web));
    tokio::spawn(web::serve(listener, router, shutdown.clone()));
    Served { base, shutdown }
}
