//! stub
use std::path::{Path, PathBuf};

use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use super::{Connector, Cursor, PullResult};

/// Settings of the `idoc` driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdocConfig {
    /// File path or glob, relative to the config file.
    pub files: String,
}

/// The `idoc` driver.
pub struct IdocConnector {
    config: IdocConfig,
    base: PathBuf,
}

impl IdocConnector {
    pub fn new(config: IdocConfig, base: &Path) -> Self {
        Self {
            config,
            base: base.to_path_buf(),
        }
    }
}

impl Connector for IdocConnector {
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult> {
        let _ = (since, &self.config, &self.base);
        todo!()
    }
}
