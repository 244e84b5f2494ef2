//! Odoo's external JSON-RPC API: `common.authenticate` for the user id, then
//! `object.execute_kw` for every model call, all POSTed to `/jsonrpc` through the shared HTTP
//! transport (retries, timeouts).
//!
//! Every failure ends the source's run ([`ConnectorError::Unavailable`]): a refused login, a
//! missing access right or an unknown field cannot be cured by reading on. Messages name the
//! server path, the model and Odoo's own error, never the password.

use serde_json::{Value, json};

use super::config::OdooConfig;
use crate::connector::ConnectorError;
use crate::transport::http::{HttpClient, Secret, display_url};

/// A logged-in connection to one Odoo database.
pub(super) struct Session {
    client: HttpClient,
    database: String,
    password: Secret,
    uid: i64,
    origin: String,
}

impl Session {
    /// Logs in; a refused login (`false` for the user id) is an error naming database and user.
    pub(super) async fn login(config: &OdooConfig) -> Result<Session, ConnectorError> {
        let origin = format!(
            "odoo {}",
            display_url(&format!("{}/jsonrpc", config.url.trim_end_matches('/')))
        );
        let client =
            HttpClient::new(&config.transport()).map_err(|e| ConnectorError::Unavailable {
                origin: origin.clone(),
                message: e.to_string(),
            })?;
        let mut session = Session {
            client,
            database: config.database.clone(),
            password: config.password.clone(),
            uid: 0,
            origin,
        };
        let args = json!([
            config.database,
            config.username,
            config.password.expose(),
            {}
        ]);
        let uid = session
            .call("common", "authenticate", args, "authenticate")
            .await?;
        session.uid = match uid.as_i64() {
            Some(uid) if uid > 0 => uid,
            _ => {
                return Err(session.failure(format!(
                    "login refused for user `{}` on database `{}`: check `username` and `password` (an API key works as the password)",
                    config.username, config.database
                )));
            }
        };
        Ok(session)
    }

    /// `execute_kw(db, uid, password, model, method, args, kwargs)`.
    pub(super) async fn execute_kw(
        &self,
        model: &str,
        method: &str,
        args: Value,
        kwargs: Value,
    ) -> Result<Value, ConnectorError> {
        let call = json!([
            self.database,
            self.uid,
            self.password.expose(),
            model,
            method,
            args,
            kwargs
        ]);
        self.call("object", "execute_kw", call, &format!("{model} {method}"))
            .await
    }

    /// One JSON-RPC call; `what` names it in errors.
    async fn call(
        &self,
        service: &str,
        method: &str,
        args: Value,
        what: &str,
    ) -> Result<Value, ConnectorError> {
        let body = json!({
            "jsonrpc": "2.0",
            "method": "call",
            "params": { "service": service, "method": method, "args": args },
            "id": request_id(),
        });
        let answer = self
            .client
            .post_json("/jsonrpc", &body)
            .await
            .map_err(|e| self.failure(format!("{what}: {e}")))?;
        if let Some(error) = answer.get("error") {
            return Err(self.failure(format!("{what}: {}", describe_error(error))));
        }
        match answer.get("result") {
            Some(result) => Ok(result.clone()),
            None => Err(self.failure(format!(
                "{what}: the answer has neither `result` nor `error`; is this an Odoo server?"
            ))),
        }
    }

    /// An error of this source, with the password scrubbed should any message quote it.
    fn failure(&self, message: String) -> ConnectorError {
        let secret = self.password.expose();
        let message = if secret.is_empty() {
            message
        } else {
            message.replace(secret, "***")
        };
        ConnectorError::Unavailable {
            origin: self.origin.clone(),
            message,
        }
    }
}

/// A request id: JSON-RPC wants one; Odoo echoes it and Concord sends one call at a time.
fn request_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Odoo's error object as one line: the exception's name and message, with advice for access
/// errors.
fn describe_error(error: &Value) -> String {
    let data = error.get("data");
    let name = data
        .and_then(|d| d.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let message = data
        .and_then(|d| d.get("message"))
        .and_then(Value::as_str)
        .or_else(|| error.get("message").and_then(Value::as_str))
        .unwrap_or("unknown error");
    let short_name = name.rsplit('.').next().unwrap_or(name);
    let advice = match short_name {
        "AccessDenied" => "; check `username` and `password` (an API key works as the password)",
        "AccessError" => "; give the user read access to this model",
        "SessionExpired" => "; run again",
        _ => "",
    };
    if name.is_empty() {
        format!("Odoo error: {message}{advice}")
    } else {
        format!("Odoo error {name}: {message}{advice}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_odoo_error_object_reads_as_its_exception_and_advice() {
        let error = json!({"code": 200, "message": "Odoo Server Error", "data": {
            "name": "odoo.exceptions.AccessError",
            "message": "You are not allowed to access 'Sales Order' (sale.order) records.",
            "debug": "Traceback ..."}});
        assert_eq!(
            describe_error(&error),
            "Odoo error odoo.exceptions.AccessError: You are not allowed to access 'Sales Order' (sale.order) records.; give the user read access to this model"
        );
        assert_eq!(
            describe_error(&json!({"code": -32600, "message": "Invalid request"})),
            "Odoo error: Invalid request"
        );
    }
}
