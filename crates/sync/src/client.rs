//! HTTP calls to the central server: enrol, push, pull. Every failure becomes a [`Fault`].

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tillbook_protocol::sync::{EnrollRequest, EnrollResponse, PullRequest, PullResponse, PushRequest, PushResponse};
use tillbook_protocol::ErrorBody;

use crate::plan::Fault;

/// A client for one server, with or without a terminal token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    pub fn new(base: &str, token: Option<&str>) -> Result<Client, Fault> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Fault::Unreachable(format!("cannot build an HTTP client: {e}")))?;
        Ok(Client { http, base: base.trim_end_matches('/').to_string(), token: token.map(str::to_string) })
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, Fault> {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| Fault::Unreachable(describe(&e)))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| Fault::Unreachable(describe(&e)))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| Fault::Status {
                status: status.as_u16(),
                code: "bad_answer".into(),
                message: format!("the server's answer is not understood: {e}"),
            });
        }
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(b) => (b.code, b.message),
            Err(_) => ("http_error".to_string(), String::from_utf8_lossy(&bytes).chars().take(200).collect()),
        };
        Err(Fault::Status { status: status.as_u16(), code, message })
    }

    pub async fn enroll(&self, code: &str) -> Result<EnrollResponse, Fault> {
        self.post("/v1/enroll", &EnrollRequest { enrollment_code: code.to_string() }).await
    }

    pub async fn push(&self, req: &PushRequest) -> Result<PushResponse, Fault> {
        self.post("/v1/sync/push", req).await
    }

    pub async fn pull(&self, req: &PullRequest) -> Result<PullResponse, Fault> {
        self.post("/v1/sync/pull", req).await
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
