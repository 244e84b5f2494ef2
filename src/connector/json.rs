//! stub
use std::path::{Path, PathBuf};

use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use super::{Connector, Cursor, PullResult};

/// Settings of the `json` driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonConfig {
    /// File path or glob, relative to the config file.
    pub files: String,
    /// JSONPath selecting the records inside each file (`$.data[*]`); the whole array when unset.
    #[serde(default)]
    pub records: Option<String>,
    /// `auto` (array, object or JSON lines, by the first byte), `array`, `lines`.
    #[serde(default)]
    pub format: JsonFormat,
}

/// The `json` driver.
pub struct JsonConnector {
    config: JsonConfig,
    base: PathBuf,
}

impl JsonConnector {
    pub fn new(config: JsonConfig, base: &Path) -> Self {
        Self {
            config,
            base: base.to_path_buf(),
        }
    }
}

impl Connector for JsonConnector {
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult> {
        let _ = (since, &self.config, &self.base);
        todo!()
    }
}
/// How a JSON file holds its records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonFormat {
    #[default]
    Auto,
    Array,
    Lines,
}
