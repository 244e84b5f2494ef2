//! Whole documents for listed records: one request per record to its document URL, for list
//! APIs that leave out child tables (Frappe v14/v15 list calls cannot return a child table; its
//! document endpoint `/api/resource/<DocType>/<name>` always does).

use futures::StreamExt;
use reqwest::Url;
use serde_json::Value;

use super::config::Documents;
use super::select::Selector;
use crate::transport::http::{HttpClient, display_url};

/// Document requests of one page in flight at once; the client's `concurrency` still bounds
/// what reaches the server.
const DOCUMENTS_AT_ONCE: usize = 8;

/// A stream's document reads, compiled.
pub struct DocumentPlan {
    base: Url,
    key: Selector,
    record: Option<Selector>,
}

impl DocumentPlan {
    /// Compiles the `documents` settings; an error names the setting.
    pub fn new(documents: &Documents, client: &HttpClient) -> Result<DocumentPlan, String> {
        let base = Url::parse(&client.url(&documents.path))
            .map_err(|e| format!("`documents.path` `{}`: {e}", documents.path))?;
        if base.cannot_be_a_base() {
            return Err(format!(
                "`documents.path` `{}` cannot take a key",
                documents.path
            ));
        }
        Ok(DocumentPlan {
            base,
            key: Selector::parse(&documents.key).map_err(|e| format!("`documents.key`: {e}"))?,
            record: documents
                .record
                .as_deref()
                .map(Selector::parse)
                .transpose()
                .map_err(|e| format!("`documents.record`: {e}"))?,
        })
    }

    /// The URL of the document with `key`: the key is one more path segment, percent-encoded.
    fn url(&self, key: &str) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(key);
        }
        url
    }

    /// Each listed record replaced by its document, in list order. A document gone since the
    /// list was read (HTTP 404) is left out with a warning: the next run no longer lists it. Any
    /// other failure fails the page.
    pub async fn read(
        &self,
        client: &HttpClient,
        listed: Vec<Value>,
    ) -> Result<Vec<Value>, String> {
        let requests = listed.into_iter().map(|record| {
            let key = match self.key.first(&record) {
                Some(Value::String(key)) => Ok(key.clone()),
                Some(Value::Number(key)) => Ok(key.to_string()),
                _ => Err(format!(
                    "a listed record has no key at `documents.key`, so its document cannot be read: {}",
                    shorten(&record.to_string())
                )),
            };
            async move {
                let url = self.url(&key?);
                let shown = display_url(url.as_str());
                match client.send(|http| http.get(url.clone())).await {
                    Ok(response) => {
                        let document: Value = response.json().map_err(|e| e.to_string())?;
                        let document = match &self.record {
                            Some(selector) => selector.take_all(document).into_iter().next(),
                            None => Some(document),
                        };
                        document
                            .filter(Value::is_object)
                            .map(Some)
                            .ok_or_else(|| format!("{shown}: the answer holds no document"))
                    }
                    Err(error) if error.status() == Some(404) => {
                        tracing::warn!(
                            document = shown,
                            "a listed document is gone (HTTP 404); it is left out of this run"
                        );
                        Ok(None)
                    }
                    Err(error) => Err(error.to_string()),
                }
            }
        });
        let documents: Vec<Result<Option<Value>, String>> = futures::stream::iter(requests)
            .buffered(DOCUMENTS_AT_ONCE)
            .collect()
            .await;
        let mut read = Vec::with_capacity(documents.len());
        for document in documents {
            read.extend(document?);
        }
        Ok(read)
    }
}

/// At most 200 characters of `text`.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}
