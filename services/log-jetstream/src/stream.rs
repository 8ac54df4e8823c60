//! The JetStream stream that holds the log: created when missing, checked
//! when present, asked for its last sequence and for single records.
//!
//! Stream management goes through the raw JSON API rather than async-nats's
//! typed `Config`, whose `allow_atomic` field needs a crate feature that
//! would also switch on 2.10+ fields for the crates that talk to Debian's
//! nats-server 2.9 (shared/PITFALLS.md).

use std::time::Duration;

use async_nats::Client;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Value};

use aduan_log::LogError;

use crate::options::JetStreamOptions;

/// Error code of "stream not found".
const STREAM_NOT_FOUND: u64 = 10059;
/// Error code of "no message found".
const NO_MESSAGE: u64 = 10037;

/// The log's stream, as one process talks to it.
#[derive(Debug, Clone)]
pub(crate) struct LogStream {
    client: Client,
    name: String,
    subject: String,
    timeout: Duration,
}

/// A JetStream API answer that was an error.
#[derive(Debug)]
struct ApiError {
    code: u64,
    text: String,
}

impl LogStream {
    /// The stream `opts.stream`, created with `opts`' subject and replicas
    /// when missing; an existing stream must match them and keep every
    /// record (no delete, no purge, atomic batches on), or opening fails.
    pub async fn ensure(client: Client, opts: &JetStreamOptions) -> Result<Self, LogError> {
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if opts.stream.is_empty() || !opts.stream.chars().all(valid) {
            return Err(LogError::Invalid(format!(
                "stream name {:?} must be letters, digits, '-' or '_'",
                opts.stream
            )));
        }
        let tokens_ok = opts
            .subject
            .split('.')
            .all(|t| !t.is_empty() && t != "*" && t != ">" && !t.contains(char::is_whitespace));
        if !tokens_ok {
            return Err(LogError::Invalid(format!(
                "subject {:?} must be dot-separated literal tokens",
                opts.subject
            )));
        }
        let this = Self {
            client,
            name: opts.stream.clone(),
            subject: opts.subject.clone(),
            timeout: Duration::from_secs(5),
        };
        let config = match this.call("STREAM.INFO", Bytes::new()).await {
            Ok(info) => info["config"].clone(),
            Err(Ok(e)) if e.code == STREAM_NOT_FOUND => {
                let config = json!({
                    "name": opts.stream,
                    "subjects": [opts.subject],
                    "retention": "limits",
                    "storage": "file",
                    "num_replicas": opts.replicas.count(),
                    "discard": "old",
                    "max_msgs": -1,
                    "max_bytes": -1,
                    "max_age": 0,
                    "max_msg_size": -1,
                    "max_consumers": -1,
                    "deny_delete": true,
                    "deny_purge": true,
                    "allow_atomic": true,
                });
                let created = this.call("STREAM.CREATE", Bytes::from(config.to_string()));
                match created.await {
                    Ok(info) => info["config"].clone(),
                    Err(e) => return Err(failed("create the stream", e)),
                }
            }
            Err(e) => return Err(failed("look up the stream", e)),
        };
        let wanted = [
            ("subjects", json!([opts.subject])),
            ("num_replicas", json!(opts.replicas.count())),
            ("deny_delete", json!(true)),
            ("deny_purge", json!(true)),
            ("allow_atomic", json!(true)),
        ];
        for (field, want) in wanted {
            if config[field] != want {
                return Err(LogError::Invalid(format!(
                    "stream {} exists with {field} = {}, the log needs {want}",
                    opts.stream, config[field]
                )));
            }
        }
        Ok(this)
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stream's last sequence (0 when empty): the sequence of the last
    /// message on the log's subject, as the stream's leader answers it.
    /// (`STREAM.INFO` was seen to answer a sequence older than an
    /// acknowledged batch on R3; the message API always reaches the leader.)
    pub async fn last_sequence(&self) -> Result<u64, LogError> {
        let body = Bytes::from(json!({ "last_by_subj": self.subject }).to_string());
        match self.call("STREAM.MSG.GET", body).await {
            Ok(answer) => answer["message"]["seq"]
                .as_u64()
                .ok_or_else(|| LogError::storage("last message came without its sequence")),
            Err(Ok(e)) if e.code == NO_MESSAGE => Ok(0),
            Err(e) => Err(failed("read the stream's last sequence", e)),
        }
    }

    /// The record bytes stored at `seq`, from the stream's leader.
    pub async fn record(&self, seq: u64) -> Result<Bytes, LogError> {
        let body = Bytes::from(json!({ "seq": seq }).to_string());
        let answer = self.call("STREAM.MSG.GET", body).await;
        let answer = answer.map_err(|e| failed("read a record", e))?;
        let data = answer["message"]["data"]
            .as_str()
            .ok_or_else(|| LogError::storage(format!("message {seq} came without data")))?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(data);
        bytes
            .map(Bytes::from)
            .map_err(|e| LogError::storage(format!("message {seq} has malformed data: {e}")))
    }

    /// One request to `$JS.API.<verb>.<stream>`: the answer, an API error
    /// (`Err(Ok(_))`), or a transport failure (`Err(Err(_))`).
    async fn call(&self, verb: &str, body: Bytes) -> Result<Value, Result<ApiError, String>> {
        let subject = format!("$JS.API.{verb}.{}", self.name);
        let request = async_nats::Request::new()
            .payload(body)
            .timeout(Some(self.timeout));
        let reply = self
            .client
            .send_request(subject, request)
            .await
            .map_err(|e| Err(e.to_string()))?;
        let value: Value =
            serde_json::from_slice(&reply.payload).map_err(|e| Err(e.to_string()))?;
        if let Some(err) = value.get("error") {
            return Err(Ok(ApiError {
                code: err["err_code"].as_u64().unwrap_or(0),
                text: err["description"].as_str().unwrap_or("").to_owned(),
            }));
        }
        Ok(value)
    }
}

fn failed(what: &str, e: Result<ApiError, String>) -> LogError {
    match e {
        Ok(api) => LogError::storage(format!(
            "JetStream could not {what} ({}): {}",
            api.code, api.text
        )),
        Err(transport) => LogError::storage(format!("JetStream could not {what}: {transport}")),
    }
}
