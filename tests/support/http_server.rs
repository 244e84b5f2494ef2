//! A local HTTP server for driver tests: an axum router on 127.0.0.1 with a free port, and the
//! requests it received, so a test can assert what the driver sent.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::HeaderMap;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
}

/// Requests received, shared between the test and the handlers.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    pub fn push(&self, path: &str, query: &HashMap<String, String>, headers: &HeaderMap) {
        self.0.lock().unwrap().push(Seen {
            path: path.to_string(),
            query: query.clone(),
            headers: headers.clone(),
        });
    }

    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// Serves `router` on 127.0.0.1 and returns its base URL (`http://127.0.0.1:<port>`).
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}
