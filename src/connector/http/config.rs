//! The YAML shape of an `http` source: the server (URL, auth, headers, limits) and its streams
//! (one endpoint each, with its query, pagination and incremental cursor).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::connector::scan::DeleteScan;
use crate::transport::http::{
    AuthConfig, Headers, RetryConfig, TransportConfig, default_max_response_size, default_timeout,
};

/// Settings of the `http` driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Scheme, host and optional path prefix, e.g. `https://erp.example.com`; streams' paths are
    /// relative to it.
    pub base_url: String,
    /// How requests authenticate: `basic`, `bearer`, `api_key`, `frappe_token` or
    /// `oauth2_client_credentials`. Use `${ENV}` for the credentials.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Headers sent with every request, e.g. `Accept: application/json`.
    #[serde(default)]
    pub headers: Headers,
    /// How long one request may take, e.g. `30s`.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// Retries after connection errors, timeouts, 429 and 5xx answers.
    #[serde(default)]
    pub retry: RetryConfig,
    /// At most this many requests per second to this source; unlimited when unset.
    #[serde(default)]
    pub rate_limit: Option<f64>,
    /// Requests in flight at once; with offset or page-number pagination the next pages of a
    /// stream are fetched ahead while earlier ones are processed.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// A PEM file with the CA certificate(s) that signed the server's certificate (relative to
    /// the config file), for servers behind an internal CA; trusted besides the public web roots.
    /// The certificate is always verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The largest answer read, in bytes (default 64 MiB): a larger page fails its stream with
    /// an error naming its size, instead of filling memory.
    #[serde(default = "default_max_response_size")]
    pub max_response_size: u64,
    /// The endpoints read, in order, one stream each.
    pub streams: Vec<StreamConfig>,
}

fn default_concurrency() -> usize {
    1
}

impl HttpConfig {
    /// The shared HTTP client's settings.
    pub fn transport(&self) -> TransportConfig {
        TransportConfig {
            base_url: self.base_url.clone(),
            auth: self.auth.clone(),
            headers: self.headers.clone(),
            timeout: self.timeout,
            retry: self.retry.clone(),
            rate_limit: self.rate_limit,
            concurrency: self.concurrency,
            ca_file: self.ca_file.clone(),
            max_response_size: self.max_response_size,
        }
    }
}

/// One endpoint of the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// The stream's name: records carry it, mappings select it with `stream:`, and the cursor
    /// keeps one position per stream. Never rename a stream that has been synced.
    pub name: String,
    /// The path relative to `base_url`, e.g. `/api/resource/Customer`.
    pub path: String,
    /// `GET` or `POST`.
    #[serde(default)]
    pub method: HttpMethod,
    /// Query parameters; values may hold `{{cursor}}` and `{{now}}`.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// A JSON body for `POST`; its strings may hold `{{cursor}}` and `{{now}}`.
    #[serde(default)]
    pub body: Option<Value>,
    /// JSONPath selecting the records in each answer, e.g. `$.data[*]` (ERPNext), `$.value[*]`
    /// (OData v4), `$.d.results[*]` (OData v2). Unset: an array answer's items, or an object
    /// answer as one record.
    #[serde(default)]
    pub records: Option<String>,
    /// How the next page is requested.
    #[serde(default)]
    pub pagination: Pagination,
    /// Incremental reads by change time; without it every run reads everything.
    #[serde(default)]
    pub incremental: Option<Incremental>,
    /// Read each listed record's whole document from its own URL and yield that instead: for
    /// list APIs that cannot return child tables (Frappe v14/v15 refuse `{"items": ["*"]}` in a
    /// list call; the document endpoint returns every child table in all versions).
    #[serde(default)]
    pub documents: Option<Documents>,
    /// Notice deletions the API never reports: every so often the whole stream is listed for
    /// its keys only, and stored records whose key is gone are marked deleted, e.g.
    /// `deletes: { scan: every 24h, query: { $select: id } }`. Needs `incremental.key`.
    #[serde(default)]
    pub deletes: Option<DeleteScan>,
}

/// Where a listed record's whole document is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Documents {
    /// The path documents live under, relative to `base_url`; the record's key is appended as
    /// one more path segment, percent-encoded (`/api/resource/Sales Order` →
    /// `/api/resource/Sales%20Order/SAL-ORD-2024-00041`).
    pub path: String,
    /// The listed record's key: a field name (`name`) or a JSONPath.
    pub key: String,
    /// JSONPath of the document in the answer, e.g. `$.data` (Frappe); unset: the whole answer.
    #[serde(default)]
    pub record: Option<String>,
}

/// The request method of a stream.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// Parameters in the query string.
    #[default]
    Get,
    /// A JSON body (`body:`) plus the query string.
    Post,
}

/// How a stream's pages are requested, chosen by `type:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// Offset and limit parameters (Frappe/ERPNext `limit_start`/`limit_page_length`, OData
    /// `$skip`/`$top`). A page with fewer than `limit` records is the last.
    Offset {
        /// The parameter holding the index of the first record of a page.
        offset_param: String,
        /// The parameter holding the page size.
        limit_param: String,
        /// Records per page.
        limit: u64,
        /// Each page starts this many records before the previous one ended, and records seen
        /// on the previous page (by `incremental.key`) are dropped: records shifting by up to
        /// this many rows while the pages are read (an update moving a row to the end) are not
        /// skipped. 0 unless set.
        #[serde(default)]
        overlap: u64,
    },
    /// Page numbers (`page=1`, `page=2`, ...). A page with fewer than `size` records is the last.
    PageNumber {
        /// The parameter holding the page number.
        page_param: String,
        /// The parameter holding the page size; not sent when unset.
        #[serde(default)]
        size_param: Option<String>,
        /// Records per page.
        size: u64,
        /// The number of the first page.
        #[serde(default = "default_first_page")]
        first_page: u64,
    },
    /// A token in each answer that requests the next page; the last page has none.
    Cursor {
        /// JSONPath of the token in the answer, e.g. `$.meta.next_cursor`.
        token_path: String,
        /// The query parameter the token is sent back in.
        token_param: String,
    },
    /// The next page's URL in the answer's body (OData v4 `$['@odata.nextLink']`, OData v2
    /// `$.d.__next`), absolute or relative to the page that held it.
    NextLink {
        /// JSONPath of the link.
        path: String,
    },
    /// The next page's URL in the `Link` header with `rel="next"` (RFC 8288; GitHub, Shopify).
    LinkHeader,
    /// One request, one page.
    #[default]
    None,
}

fn default_first_page() -> u64 {
    1
}

/// How a stream reads only what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    /// The record's change time: a field name (`modified`) or a JSONPath
    /// (`$.lastModifiedDateTime`). The stream must be sorted by it, oldest first.
    pub field: String,
    /// The record's key (a field name or JSONPath): the position records the last key seen, and
    /// records repeated across a page boundary are dropped.
    #[serde(default)]
    pub key: Option<String>,
    /// `{{cursor}}` on a first or `--full` run, e.g. `1970-01-01 00:00:00`.
    pub initial: String,
    /// Re-read this window before the stored change time, for transactions that commit late
    /// with older change times, e.g. `10m`. Re-read unchanged records are dropped by their
    /// content hash.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "String")]
    pub lookback: Duration,
    /// A chrono format for `{{cursor}}` (e.g. `%Y-%m-%dT%H:%M:%SZ`); unset: the form the source
    /// sent its change times in.
    #[serde(default)]
    pub format: Option<String>,
}
