//! stub
use std::path::{Path, PathBuf};

use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use super::{Connector, Cursor, PullResult};

/// Settings of the `csv` driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    /// File path or glob, relative to the config file.
    pub files: String,
    /// Field separator, one character.
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Quote character.
    #[serde(default = "default_quote")]
    pub quote: char,
}

/// The `csv` driver.
pub struct CsvConnector {
    config: CsvConfig,
    base: PathBuf,
}

impl CsvConnector {
    pub fn new(config: CsvConfig, base: &Path) -> Self {
        Self {
            config,
            base: base.to_path_buf(),
        }
    }
}

impl Connector for CsvConnector {
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult> {
        let _ = (since, &self.config, &self.base);
        todo!()
    }
}
fn default_delimiter() -> char {
    ','
}
fn default_quote() -> char {
    '"'
}
