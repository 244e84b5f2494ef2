//! The state file handed to a tap: the last stored STATE value, in a private temporary file
//! removed when the run ends.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A temporary file holding a tap's state; deleted on drop.
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// Writes `state` as JSON to a new file only this user can read.
    pub fn write(state: &serde_json::Value) -> std::io::Result<StateFile> {
        let path =
            std::env::temp_dir().join(format!("concord-state-{}.json", uuid::Uuid::now_v7()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path)?;
        let written = serde_json::to_writer(&mut file, state)
            .map_err(std::io::Error::other)
            .and_then(|()| file.flush());
        let state_file = StateFile { path };
        written.map(|()| state_file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StateFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
