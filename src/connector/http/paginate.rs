//! One stream's requests: the query and body with `{{cursor}}` and `{{now}}` filled in, the
//! request for each page, and where an answer says the next page is.

use std::sync::Arc;

use reqwest::Url;
use reqwest::header::{HeaderMap, LINK};
use serde_json::Value;

use super::config::{HttpMethod, Pagination, StreamConfig};
use super::cursor::{Positions, render_cursor};
use super::documents::DocumentPlan;
use super::select::Selector;
use crate::connector::ConnectorError;
use crate::transport::http::{HttpClient, display_url};

/// Which page to request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PageRef {
    /// The first page of a stream paged by token, link or not at all.
    First,
    /// The page starting at this record index.
    Offset(u64),
    /// The page with this number.
    Number(u64),
    /// The page a cursor token names.
    Token(String),
    /// The page at this URL (a next link), absolute.
    Link(String),
}

impl PageRef {
    /// The page as an error message names it (a link without its host).
    pub fn describe(&self) -> String {
        match self {
            PageRef::First => "the first page".into(),
            PageRef::Offset(offset) => format!("the page at offset {offset}"),
            PageRef::Number(n) => format!("page number {n}"),
            PageRef::Token(token) => format!("the page of token `{token}`"),
            PageRef::Link(link) => format!("the link `{}`", display_url(link)),
        }
    }
}

/// One page, read and parsed.
pub struct Page {
    /// The page's records, in the answer's order.
    pub records: Vec<Value>,
    /// The next page, for pagination by token or link; `None` on the last page.
    pub next: Option<PageRef>,
    /// `<stream path>?<page info>`: the start of each record's origin.
    pub origin: String,
    /// The URL that answered, query included: a next link back to it is a loop.
    pub url: String,
}

/// A stream ready to request: paths compiled, templates rendered.
pub struct StreamPlan {
    pub name: Arc<str>,
    pub path: String,
    url: String,
    method: HttpMethod,
    query: Vec<(String, String)>,
    body: Option<Value>,
    records: Option<Selector>,
    pub pagination: Pagination,
    /// Where the next page is named: the token path or the next-link path.
    next: Option<Selector>,
    /// The change time and key of a record, for incremental streams.
    pub change: Option<Selector>,
    pub key: Option<Selector>,
    /// Where each listed record's whole document is read, when the list lacks child tables.
    documents: Option<DocumentPlan>,
}

impl StreamPlan {
    /// Compiles a stream; an error names what is wrong in its settings.
    pub fn new(
        stream: &StreamConfig,
        client: &HttpClient,
        positions: &Positions,
    ) -> Result<StreamPlan, String> {
        let compile =
            |what: &str, text: &str| Selector::parse(text).map_err(|e| format!("`{what}`: {e}"));
        let cursor = stream
            .incremental
            .as_ref()
            .map(|inc| render_cursor(positions.changed(&stream.name), inc));
        let uses_cursor = stream.query.values().any(|v| v.contains("{{cursor}}"))
            || stream
                .body
                .as_ref()
                .is_some_and(|b| b.to_string().contains("{{cursor}}"));
        if uses_cursor && cursor.is_none() {
            return Err("`{{cursor}}` is used but the stream has no `incremental` settings".into());
        }
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let fill = |text: &str| {
            text.replace("{{cursor}}", cursor.as_deref().unwrap_or_default())
                .replace("{{now}}", &now)
        };
        let next = match &stream.pagination {
            Pagination::Cursor { token_path, .. } => Some(compile("token_path", token_path)?),
            Pagination::NextLink { path } => Some(compile("pagination.path", path)?),
            _ => None,
        };
        match &stream.pagination {
            Pagination::Offset { limit: 0, .. } | Pagination::PageNumber { size: 0, .. } => {
                return Err("the page size (`limit` or `size`) must be at least 1".into());
            }
            Pagination::Offset { limit, overlap, .. } if overlap >= limit => {
                return Err("`overlap` must be smaller than `limit`".into());
            }
            _ => {}
        }
        Ok(StreamPlan {
            name: Arc::from(stream.name.as_str()),
            path: stream.path.clone(),
            url: client.url(&stream.path),
            method: stream.method,
            query: stream
                .query
                .iter()
                .map(|(name, value)| (name.clone(), fill(value)))
                .collect(),
            body: stream.body.as_ref().map(|body| fill_json(body, &fill)),
            records: stream
                .records
                .as_deref()
                .map(|r| compile("records", r))
                .transpose()?,
            pagination: stream.pagination.clone(),
            next,
            change: stream
                .incremental
                .as_ref()
                .map(|inc| compile("incremental.field", &inc.field))
                .transpose()?,
            key: stream
                .incremental
                .as_ref()
                .and_then(|inc| inc.key.as_deref())
                .map(|key| compile("incremental.key", key))
                .transpose()?,
            documents: stream
                .documents
                .as_ref()
                .map(|documents| DocumentPlan::new(documents, client))
                .transpose()?,
        })
    }

    /// The first page to request.
    pub fn first_page(&self) -> PageRef {
        match &self.pagination {
            Pagination::Offset { .. } => PageRef::Offset(0),
            Pagination::PageNumber { first_page, .. } => PageRef::Number(*first_page),
            _ => PageRef::First,
        }
    }

    /// URL, query and origin of a page; `number` counts pages from 1.
    fn request(&self, page: &PageRef, number: u64) -> (String, Vec<(String, String)>, String) {
        if let PageRef::Link(link) = page {
            // A next link carries its own query.
            return (
                link.clone(),
                Vec::new(),
                format!("{}?page={number}", self.path),
            );
        }
        let mut query = self.query.clone();
        let info = match (&self.pagination, page) {
            (
                Pagination::Offset {
                    offset_param,
                    limit_param,
                    limit,
                    ..
                },
                PageRef::Offset(offset),
            ) => {
                query.push((offset_param.clone(), offset.to_string()));
                query.push((limit_param.clone(), limit.to_string()));
                format!("{offset_param}={offset}")
            }
            (
                Pagination::PageNumber {
                    page_param,
                    size_param,
                    size,
                    ..
                },
                PageRef::Number(n),
            ) => {
                query.push((page_param.clone(), n.to_string()));
                if let Some(size_param) = size_param {
                    query.push((size_param.clone(), size.to_string()));
                }
                format!("{page_param}={n}")
            }
            (Pagination::Cursor { token_param, .. }, PageRef::Token(token)) => {
                query.push((token_param.clone(), token.clone()));
                format!("page={number}")
            }
            (Pagination::None, _) => String::new(),
            _ => format!("page={number}"),
        };
        let origin = if info.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{info}", self.path)
        };
        (self.url.clone(), query, origin)
    }

    /// Requests one page and parses it. A server that keeps failing, refuses the request or
    /// answers with something other than JSON ends the stream ([`ConnectorError::Unavailable`]).
    pub async fn fetch(
        self: Arc<Self>,
        client: HttpClient,
        page: PageRef,
        number: u64,
    ) -> Result<Page, ConnectorError> {
        let (url, query, origin) = self.request(&page, number);
        let unavailable = |message: String| ConnectorError::Unavailable {
            origin: origin.clone(),
            message,
        };
        let method = self.method;
        let response = client
            .send(|http| {
                let request = match method {
                    HttpMethod::Get => http.get(&url),
                    HttpMethod::Post => match &self.body {
                        Some(body) => http.post(&url).json(body),
                        None => http.post(&url),
                    },
                };
                if query.is_empty() {
                    request
                } else {
                    request.query(&query)
                }
            })
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let document: Value = response.json().map_err(|e| unavailable(e.to_string()))?;
        let next = match (&self.pagination, &self.next) {
            (Pagination::Cursor { .. }, Some(token)) => {
                token_text(token.first(&document)).map(PageRef::Token)
            }
            (Pagination::NextLink { .. }, Some(link)) => token_text(link.first(&document))
                .and_then(|link| resolve(&response.url, &link))
                .map(PageRef::Link),
            (Pagination::LinkHeader, _) => next_link_header(&response.headers)
                .and_then(|link| resolve(&response.url, &link))
                .map(PageRef::Link),
            _ => None,
        };
        let records = match &self.records {
            Some(selector) => selector.take_all(document),
            None => match document {
                Value::Array(items) => items,
                Value::Null => Vec::new(),
                other => vec![other],
            },
        };
        let records = match &self.documents {
            Some(documents) => documents
                .read(&client, records)
                .await
                .map_err(&unavailable)?,
            None => records,
        };
        Ok(Page {
            records,
            next,
            origin,
            url: response.url.to_string(),
        })
    }
}

/// A token or link as text; empty, null and missing mean "no next page".
fn token_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `link` resolved against the page that named it.
fn resolve(base: &Url, link: &str) -> Option<String> {
    base.join(link).ok().map(String::from)
}

/// The `rel="next"` target of a `Link` header (RFC 8288).
fn next_link_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            let mut rest = value;
            while let Some(start) = rest.find('<') {
                let after = &rest[start + 1..];
                let end = after.find('>')?;
                let target = &after[..end];
                let params_end = after[end..].find('<').map_or(after.len(), |i| end + i);
                let params = after[end + 1..params_end].trim_end_matches([',', ' ']);
                let is_next = params.split(';').any(|param| {
                    param.trim().split_once('=').is_some_and(|(name, value)| {
                        name.trim().eq_ignore_ascii_case("rel")
                            && value
                                .trim()
                                .trim_matches('"')
                                .split_whitespace()
                                .any(|rel| rel.eq_ignore_ascii_case("next"))
                    })
                });
                if is_next {
                    return Some(target.to_string());
                }
                rest = &after[params_end..];
            }
            None
        })
}

/// Fills templates in every string of a JSON body.
fn fill_json(value: &Value, fill: &impl Fn(&str) -> String) -> Value {
    match value {
        Value::String(text) => Value::String(fill(text)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_json(v, fill)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill_json(v, fill)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_next_link_header_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            HeaderValue::from_static(
                r#"<https://api.example.com/items?page=1>; rel="prev", <https://api.example.com/items?page=3&a=1,2>; rel="next", <https://api.example.com/items?page=9>; rel="last""#,
            ),
        );
        assert_eq!(
            next_link_header(&headers).as_deref(),
            Some("https://api.example.com/items?page=3&a=1,2")
        );
        headers.insert(
            LINK,
            HeaderValue::from_static(r#"</items?page=9>; rel="last""#),
        );
        assert_eq!(next_link_header(&headers), None);
    }
}
