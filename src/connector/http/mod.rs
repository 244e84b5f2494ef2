//! The `http` driver: REST and OData endpoints read page by page over the shared
//! [`HttpClient`](crate::transport::http::HttpClient).
//!
//! A source lists streams (one endpoint each); they are read in order, each page's records
//! yielded with the stream's name, then a checkpoint holding every stream's position. Pages of
//! offset- and page-number-paged streams are fetched ahead (up to `concurrency` at once) and
//! parsed on other threads while earlier pages are mapped and stored.
//!
//! A record's `origin` is `<stream path>?<page>#<n>`, e.g.
//! `/api/resource/Customer?limit_start=500#3` — never the host, a credential or a token.

pub mod config;
mod cursor;
mod documents;
mod paginate;
mod select;

pub use config::HttpConfig;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::scan::DeleteScan;
use super::{Connector, ConnectorError, Cursor, KeyScan, PullResult, Pulled, RawRecord};
use crate::transport::http::{HttpClient, display_url};
use config::{Pagination, StreamConfig};
use cursor::{Newest, Positions};
use paginate::{Page, PageRef, StreamPlan};

/// Pages the reader may hold ready beyond the one being consumed; bounded, so a slow store slows
/// the pull instead of filling memory.
const PAGES_READY: usize = 2;

/// The `http` driver.
pub struct HttpConnector {
    config: HttpConfig,
}

impl HttpConnector {
    /// A connector for one configured source; `base` is the config file's folder, against which
    /// a relative `ca_file` resolves.
    pub fn new(mut config: HttpConfig, base: &Path) -> Self {
        config.ca_file = config.ca_file.map(|file| base.join(file));
        Self { config }
    }
}

impl Connector for HttpConnector {
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult> {
        let (sender, receiver) = mpsc::channel::<Vec<PullResult>>(PAGES_READY);
        tokio::spawn(pull_source(self.config.clone(), since, sender));
        ReceiverStream::new(receiver)
            .flat_map(futures::stream::iter)
            .boxed()
    }
}

/// Where a stream's pages go, one send per page.
type Sender = mpsc::Sender<Vec<PullResult>>;

/// Reads every stream of the source in order.
async fn pull_source(config: HttpConfig, since: Option<Cursor>, sender: Sender) {
    let client = match HttpClient::new(&config.transport()) {
        Ok(client) => client,
        Err(error) => {
            let failure = ConnectorError::Unavailable {
                origin: display_url(&config.base_url),
                message: error.to_string(),
            };
            let _ = sender.send(vec![Err(failure)]).await;
            return;
        }
    };
    let mut positions = Positions::from_stored(since.map(|c| c.0));
    for stream in &config.streams {
        let plan = match StreamPlan::new(stream, &client, &positions) {
            Ok(plan) => Arc::new(plan),
            Err(message) => {
                let failure = ConnectorError::StreamFailed {
                    stream: stream.name.clone(),
                    message,
                };
                if sender.send(vec![Err(failure)]).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let mut reader = StreamReader {
            plan,
            positions: &mut positions,
            sender: &sender,
            previous_keys: HashSet::new(),
            previous_page: None,
        };
        let outcome = match reader.plan.pagination {
            Pagination::Offset { .. } | Pagination::PageNumber { .. } => {
                reader.read_ahead(&client, config.concurrency).await
            }
            _ => reader.read_in_turn(&client).await,
        };
        // A failed stream has said so; the next one is read all the same.
        if outcome == Outcome::ConsumerGone {
            return;
        }
        if outcome == Outcome::Finished
            && let Some(deletes) = &stream.deletes
            && !scan_keys(stream, deletes, &client, &mut positions, &sender).await
        {
            return;
        }
    }
}

/// Lists every key of `stream` when its scan is due and yields them as a [`KeyScan`], then a
/// checkpoint holding the scan's time. `false` when the consumer is gone.
async fn scan_keys(
    stream: &StreamConfig,
    deletes: &DeleteScan,
    client: &HttpClient,
    positions: &mut Positions,
    sender: &Sender,
) -> bool {
    let now = chrono::Utc::now();
    let state = positions.scan_state(&stream.name);
    let due = state.due(&deletes.scan, now);
    let mut items = Vec::new();
    let mut scanned = false;
    if due {
        match list_keys(stream, deletes, client).await {
            Ok(records) => {
                let name: Arc<str> = Arc::from(stream.name.as_str());
                items.push(Ok(Pulled::KeyScan(KeyScan {
                    records: records
                        .into_iter()
                        .enumerate()
                        .map(|(n, payload)| RawRecord {
                            origin: format!("{} (key scan)#{}", stream.path, n + 1),
                            payload,
                            stream: Some(name.clone()),
                        })
                        .collect(),
                    stream: name,
                    max_share: deletes.max_share,
                })));
                scanned = true;
            }
            Err(message) => items.push(Err(ConnectorError::StreamFailed {
                stream: stream.name.clone(),
                message: format!("key scan: {message}"),
            })),
        }
    }
    positions.set_scan_state(&stream.name, state.after_run(scanned, now));
    items.push(Ok(Pulled::Checkpoint(Cursor(positions.to_json()))));
    sender.send(items).await.is_ok()
}

/// Every record of the stream from its beginning, with the scan's query and no documents read.
async fn list_keys(
    stream: &StreamConfig,
    deletes: &DeleteScan,
    client: &HttpClient,
) -> Result<Vec<Value>, String> {
    let mut scan = stream.clone();
    scan.documents = None;
    scan.query.extend(deletes.query.clone());
    // An empty value in the scan's query drops the stream's parameter (`$expand: ""`).
    scan.query.retain(|_, value| !value.is_empty());
    let plan = Arc::new(StreamPlan::new(&scan, client, &Positions::default())?);
    let size = match &plan.pagination {
        Pagination::Offset { limit, .. } => Some(*limit),
        Pagination::PageNumber { size, .. } => Some(*size),
        _ => None,
    };
    let mut records = Vec::new();
    let mut next = Some(plan.first_page());
    let mut seen: HashSet<PageRef> = HashSet::new();
    let mut previous_page = None;
    let mut number = 1;
    while let Some(page) = next.take() {
        if !seen.insert(page.clone()) {
            return Err(format!(
                "{} was named twice: pagination loops",
                page.describe()
            ));
        }
        let page = plan
            .clone()
            .fetch(client.clone(), page.clone(), number)
            .await
            .map_err(|e| e.to_string())?;
        let digest = page_digest(&page.records);
        if !page.records.is_empty() && previous_page == Some(digest) {
            return Err(format!(
                "{}: the same records as the page before: the server ignores the paging parameters",
                page.origin
            ));
        }
        previous_page = Some(digest);
        let count = page.records.len() as u64;
        next = match (&size, &page.next) {
            (Some(size), _) if count < *size => None,
            (Some(_), _) => Some(match plan.first_page() {
                PageRef::Offset(_) => PageRef::Offset(records.len() as u64 + count),
                PageRef::Number(first) => PageRef::Number(first + number),
                other => other,
            }),
            (None, next) => next.clone(),
        };
        if let Some(PageRef::Link(_)) = &next {
            seen.insert(PageRef::Link(page.url.clone()));
        }
        records.extend(page.records);
        number += 1;
    }
    Ok(records)
}

/// How reading a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Every page was read.
    Finished,
    /// The stream failed and its error was sent; the source's other streams go on.
    Failed,
    /// Nobody reads the records any more: the source's pull ends.
    ConsumerGone,
}

/// Reads one stream, page by page.
struct StreamReader<'a> {
    plan: Arc<StreamPlan>,
    positions: &'a mut Positions,
    sender: &'a Sender,
    /// Keys of the previous page: a record shifted across the page boundary is yielded once.
    previous_keys: HashSet<String>,
    /// A digest of the previous page's records: a server that ignores the paging parameters
    /// answers every page alike, and the stream must end rather than loop.
    previous_page: Option<u64>,
}

impl StreamReader<'_> {
    /// Offset and page-number pages: the next ones are requested before the current one is
    /// processed. A short page is the last.
    async fn read_ahead(&mut self, client: &HttpClient, concurrency: usize) -> Outcome {
        let (step, size) = match &self.plan.pagination {
            Pagination::Offset { limit, overlap, .. } => (limit - overlap, *limit),
            Pagination::PageNumber { size, .. } => (1, *size),
            _ => (1, 1),
        };
        let first = self.plan.first_page();
        let plan = self.plan.clone();
        let client = client.clone();
        let pages = futures::stream::iter(0u64..)
            .map(move |n| {
                let page = match &first {
                    PageRef::Offset(start) => PageRef::Offset(start + n * step),
                    PageRef::Number(start) => PageRef::Number(start + n),
                    other => other.clone(),
                };
                tokio::spawn(plan.clone().fetch(client.clone(), page, n + 1))
            })
            .buffered(concurrency.max(1));
        futures::pin_mut!(pages);
        while let Some(fetched) = pages.next().await {
            let page = match fetched {
                Ok(Ok(page)) => page,
                Ok(Err(error)) => return self.fail(error).await,
                Err(join) => {
                    let error = ConnectorError::Unavailable {
                        origin: self.plan.path.clone(),
                        message: format!("reading a page stopped unexpectedly: {join}"),
                    };
                    return self.fail(error).await;
                }
            };
            let last = (page.records.len() as u64) < size;
            let outcome = self.emit(page).await;
            if outcome != Outcome::Finished || last {
                return outcome;
            }
        }
        Outcome::Finished
    }

    /// Token and link pages (and a single page): each page names the next. A page named a second
    /// time (links A → B → A) ends the stream with an error instead of a loop.
    async fn read_in_turn(&mut self, client: &HttpClient) -> Outcome {
        let mut next = Some(self.plan.first_page());
        let mut seen: HashSet<PageRef> = HashSet::new();
        let mut number = 1;
        while let Some(page) = next.take() {
            if !seen.insert(page.clone()) {
                let message = format!(
                    "page {number} would be {}, which was read before in this run: the server's \
                     pagination loops, so the stream stops here; check the stream's `pagination`",
                    page.describe()
                );
                return self.fail_stream(message).await;
            }
            let page = match self.plan.clone().fetch(client.clone(), page, number).await {
                Ok(page) => page,
                Err(error) => return self.fail(error).await,
            };
            seen.insert(PageRef::Link(page.url.clone()));
            next = page.next.clone();
            let outcome = self.emit(page).await;
            if outcome != Outcome::Finished {
                return outcome;
            }
            number += 1;
        }
        Outcome::Finished
    }

    /// Ends this stream with `error`; the source's other streams are read on.
    async fn fail(&self, error: ConnectorError) -> Outcome {
        self.fail_stream(error.to_string()).await
    }

    async fn fail_stream(&self, message: String) -> Outcome {
        let failure = ConnectorError::StreamFailed {
            stream: self.plan.name.to_string(),
            message,
        };
        match self.sender.send(vec![Err(failure)]).await {
            Ok(()) => Outcome::Failed,
            Err(_) => Outcome::ConsumerGone,
        }
    }

    /// Yields a page's records and then a checkpoint with the stream's new position. A page
    /// holding exactly the records of the one before (a server ignoring the offset) fails the
    /// stream.
    async fn emit(&mut self, page: Page) -> Outcome {
        let Page {
            records, origin, ..
        } = page;
        let digest = page_digest(&records);
        if !records.is_empty() && self.previous_page == Some(digest) {
            let message = format!(
                "{origin}: the page holds the same {} record(s) as the page before: the server \
                 ignores the paging parameters, so the stream stops here; check the stream's \
                 `pagination`",
                records.len()
            );
            return self.fail_stream(message).await;
        }
        self.previous_page = Some(digest);
        let mut items = Vec::with_capacity(records.len() + 1);
        let mut newest = Newest::default();
        let mut keys = HashSet::new();
        for (index, record) in records.into_iter().enumerate() {
            if !record.is_object() {
                items.push(Err(not_an_object(&origin, index, &record)));
                continue;
            }
            let key = self
                .plan
                .key
                .as_ref()
                .and_then(|k| k.first(&record))
                .map(key_text);
            if let Some(key) = &key {
                if self.previous_keys.contains(key) {
                    continue;
                }
                keys.insert(key.clone());
            }
            if let Some(changed) = self.plan.change.as_ref().and_then(|c| c.first(&record)) {
                newest.offer(changed, key.as_deref());
            }
            items.push(Ok(Pulled::Record(RawRecord {
                origin: format!("{origin}#{}", index + 1),
                payload: record,
                stream: Some(self.plan.name.clone()),
            })));
        }
        self.previous_keys = keys;
        newest.store(self.positions, &self.plan.name);
        items.push(Ok(Pulled::Checkpoint(Cursor(self.positions.to_json()))));
        match self.sender.send(items).await {
            Ok(()) => Outcome::Finished,
            Err(_) => Outcome::ConsumerGone,
        }
    }
}

/// A digest of a page's records, to tell a page repeated by the server. The values are hashed
/// where they lie, members in the order the server wrote them: writing each record out as text
/// first cost as much as a tenth of the pull.
fn page_digest(records: &[Value]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for record in records {
        hash_value(record, &mut hasher);
    }
    hasher.finish()
}

/// Feeds one value to `hasher`, each kind and length tagged so that different values do not run
/// together.
fn hash_value(value: &Value, hasher: &mut impl std::hash::Hasher) {
    use std::hash::Hash;
    std::mem::discriminant(value).hash(hasher);
    match value {
        Value::Null => {}
        Value::Bool(flag) => flag.hash(hasher),
        Value::Number(number) => number.hash(hasher),
        Value::String(text) => text.hash(hasher),
        Value::Array(items) => {
            items.len().hash(hasher);
            for item in items {
                hash_value(item, hasher);
            }
        }
        Value::Object(map) => {
            map.len().hash(hasher);
            for (key, item) in map {
                key.hash(hasher);
                hash_value(item, hasher);
            }
        }
    }
}

/// A key as text: strings as they are, numbers and others as JSON.
fn key_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A record that is not a JSON object cannot be mapped: reported with its position and value,
/// and the rest of the page goes on.
fn not_an_object(origin: &str, index: usize, record: &Value) -> ConnectorError {
    let mut shown = record.to_string();
    if shown.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|&i| shown.is_char_boundary(i))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push('…');
    }
    ConnectorError::BadLine {
        path: PathBuf::from(origin),
        line: index as u64 + 1,
        message: format!("record {} is not a JSON object: {shown}", index + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::page_digest;
    use serde_json::json;

    #[test]
    fn a_page_digest_tells_pages_apart_by_any_value() {
        let page = [
            json!({"name": "C-1", "n": 1}),
            json!({"name": "C-2", "n": [2, null]}),
        ];
        assert_eq!(page_digest(&page), page_digest(&page.clone()));
        let others = [
            [
                json!({"name": "C-1", "n": 1}),
                json!({"name": "C-2", "n": [2]}),
            ],
            [
                json!({"name": "C-1", "n": 1}),
                json!({"name": "C-3", "n": [2, null]}),
            ],
            [
                json!({"name": "C-1", "n": "1"}),
                json!({"name": "C-2", "n": [2, null]}),
            ],
            [
                json!({"name": "C-1"}),
                json!({"n": 1, "name": "C-2", "m": [2, null]}),
            ],
        ];
        for other in others {
            assert_ne!(page_digest(&page), page_digest(&other), "{other:?}");
        }
    }
}
