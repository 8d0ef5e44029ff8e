//! The back office, straight to the server (never through the proxy).

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::Value;

use super::ADMIN;

pub struct Admin {
    pub base: String,
    pub http: reqwest::Client,
}

impl Admin {
    pub fn new(base: String) -> Admin {
        Admin { base, http: reqwest::Client::builder().no_proxy().build().unwrap() }
    }

    /// The answer's status and body (`null` when it is not JSON).
    pub async fn try_call(&self, method: Method, path: &str, body: Option<Value>) -> (reqwest::StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.try_call(method, path, body).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    pub async fn get(&self, path: &str) -> Value {
        self.call(Method::GET, path, None).await
    }

    /// On-hand by (store, location, sku): every store's, or one store's.
    pub async fn stock(&self, store: Option<&str>) -> BTreeMap<(String, String, String), i64> {
        let path = match store {
            Some(code) => format!("/v1/admin/stock?store={code}"),
            None => "/v1/admin/stock".to_string(),
        };
        let v = self.get(&path).await;
        v["items"]
            .as_array()
            .unwrap_or_else(|| panic!("stock list: {v}"))
            .iter()
            .map(|i| {
                let text = |k: &str| i[k].as_str().unwrap_or_else(|| panic!("a stock item without {k}: {i}")).to_string();
                let key = (text("store"), text("location"), text("sku"));
                (key, i["on_hand"].as_i64().unwrap())
            })
            .collect()
    }

    /// Every order on the server (summaries), page by page, in the order listed.
    pub async fn orders(&self) -> Vec<Value> {
        let mut orders = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(a) => format!("/v1/admin/orders?limit=1000&after={a}"),
                None => "/v1/admin/orders?limit=1000".to_string(),
            };
            let v = self.get(&path).await;
            orders.extend(v["orders"].as_array().unwrap_or_else(|| panic!("orders: {v}")).iter().cloned());
            match v["next"].as_str() {
                Some(n) => after = Some(n.to_string()),
                None => return orders,
            }
        }
    }
}
