//! An `http` source's settings a run would trip over: a base URL that does not parse, a
//! JSONPath that does not parse, a page size of 0, a paging parameter left empty, an incremental
//! stream that never sends its cursor.

use jsonpath_rust::JsonPath as _;
use serde_json::Value;

use crate::connector::http::HttpConfig;
use crate::connector::http::config::{Pagination, StreamConfig};

use super::Findings;

pub(super) fn check(config: &HttpConfig, findings: &mut Findings<'_>) {
    match reqwest::Url::parse(&config.base_url) {
        Ok(url) if !matches!(url.scheme(), "http" | "https") => findings.error(
            "base_url",
            format!(
                "`{}` is not an http(s) URL",
                crate::url::shown(&config.base_url)
            ),
        ),
        Ok(_) => {}
        Err(error) => findings.error(
            "base_url",
            format!("`{}`: {error}", crate::url::shown(&config.base_url)),
        ),
    }
    if config.concurrency == 0 {
        findings.error("concurrency", "must be at least 1");
    }
    for stream in &config.streams {
        check_stream(stream, &mut findings.stream(&stream.name));
    }
}

fn check_stream(stream: &StreamConfig, findings: &mut Findings<'_>) {
    if let Some(records) = &stream.records {
        check_path("records", records, findings);
    }
    if let Some(documents) = &stream.documents {
        check_path("documents.key", &documents.key, findings);
        if let Some(record) = &documents.record {
            check_path("documents.record", record, findings);
        }
    }
    if let Some(incremental) = &stream.incremental {
        check_path("incremental.field", &incremental.field, findings);
        if let Some(key) = &incremental.key {
            check_path("incremental.key", key, findings);
        }
    }
    check_pagination(&stream.pagination, findings);

    let sends_cursor = stream.query.values().any(|v| v.contains("{{cursor}}"))
        || stream
            .body
            .as_ref()
            .is_some_and(|body| body.to_string().contains("{{cursor}}"));
    match (&stream.incremental, sends_cursor) {
        (Some(_), false) => findings.warning(
            "incremental",
            "no `query` value or `body` holds `{{cursor}}`: every run reads the whole stream",
        ),
        (None, true) => findings.error(
            "query",
            "`{{cursor}}` is used but the stream has no `incremental:` settings to fill it",
        ),
        _ => {}
    }
}

fn check_pagination(pagination: &Pagination, findings: &mut Findings<'_>) {
    let mut named = |setting: &str, value: &str| {
        if value.trim().is_empty() {
            findings.error(
                setting,
                "is empty: the page cannot be requested without its parameter",
            );
        }
    };
    match pagination {
        Pagination::Offset {
            offset_param,
            limit_param,
            limit,
            overlap,
        } => {
            named("pagination.offset_param", offset_param);
            named("pagination.limit_param", limit_param);
            if *limit == 0 {
                findings.error("pagination.limit", "page size 0: no record would be read");
            } else if overlap >= limit {
                findings.error(
                    "pagination.overlap",
                    format!(
                        "{overlap} is not below the page size {limit}: paging would not advance"
                    ),
                );
            }
        }
        Pagination::PageNumber {
            page_param,
            size_param,
            size,
            ..
        } => {
            named("pagination.page_param", page_param);
            if let Some(size_param) = size_param {
                named("pagination.size_param", size_param);
            }
            if *size == 0 {
                findings.error("pagination.size", "page size 0: no record would be read");
            }
        }
        Pagination::Cursor {
            token_path,
            token_param,
        } => {
            named("pagination.token_param", token_param);
            check_path("pagination.token_path", token_path, findings);
        }
        Pagination::NextLink { path } => check_path("pagination.path", path, findings),
        Pagination::LinkHeader | Pagination::None => {}
    }
}

/// A path as the http driver reads it: a bare field name, or a JSONPath that must parse.
fn check_path(setting: &str, path: &str, findings: &mut Findings<'_>) {
    if path.trim().is_empty() {
        findings.error(setting, "is empty");
    } else if path.starts_with('$') {
        check_jsonpath(setting, path, findings);
    }
}

/// A JSONPath that must parse (the json driver's `records`).
pub(super) fn check_jsonpath(setting: &str, path: &str, findings: &mut Findings<'_>) {
    if let Err(error) = Value::Null.query(path) {
        findings.error(setting, format!("invalid JSONPath `{path}`: {error}"));
    }
}
