//! Security cases: each a 4xx with a stable code, and nothing stored.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tillbook_protocol::PROTOCOL_VERSION;

use crate::support::*;

/// Nothing reached the tables: no orders, no applied seq, stock as seeded.
async fn nothing_stored(s: &Server) {
    assert!(s
        .store
        .orders(None, 10, Default::default())
        .await
        .unwrap()
        .orders
        .is_empty());
    assert!(s
        .store
        .terminals(None)
        .await
        .unwrap()
        .iter()
        .all(|t| t.last_applied_seq == 0));
    assert_eq!(on_hand(&s.store, "ESPRESSO").await, 100);
}

async fn raw(
    s: &Server,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = s.http.post(s.url(path)).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    (status, resp.json().await.expect("a JSON error body"))
}

/// Declares a 9 MiB JSON body and sends none of it: the server must answer 413 from the
/// headers alone, without reading (or storing) anything.
async fn oversized(s: &Server, token: &str) -> (StatusCode, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /v1/sync/push HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        9 * 1024 * 1024
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_to_end(&mut buf),
    )
    .await;
    let text = String::from_utf8_lossy(&buf);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let (_, body) = text.split_once("\r\n\r\n").expect("headers end");
    (
        StatusCode::from_u16(status).unwrap(),
        serde_json::from_str(body.trim()).expect("JSON body"),
    )
}

pub async fn security(db: Db) {
    let s = Server::start(&db.url).await;
    s.store.seed_demo().await.unwrap();
    let a = s.terminal("A").await;
    let b = s.terminal("B").await;
    let push_a = serde_json::to_value(page(
        a.terminal_id,
        &[outbox(1, &order("ORD-1", "ESPRESSO", 1, false))],
    ))
    .unwrap();
    let push_path = "/v1/sync/push";

    assert_error(
        &s.call("POST", push_path, None, Some(push_a.clone())).await,
        401,
        "unauthorized",
    );
    assert_error(
        &s.call("POST", push_path, Some("not-a-token"), Some(push_a.clone()))
            .await,
        401,
        "invalid_token",
    );
    // Terminal B pushing as A.
    assert_error(
        &s.call("POST", push_path, Some(&b.token), Some(push_a.clone()))
            .await,
        403,
        "terminal_mismatch",
    );
    let pull_as_a = json!({"protocol": PROTOCOL_VERSION, "terminal_id": a.terminal_id, "cursor": null, "limit": 10});
    assert_error(
        &s.call("POST", "/v1/sync/pull", Some(&b.token), Some(pull_as_a))
            .await,
        403,
        "terminal_mismatch",
    );
    // The admin token cannot act as a terminal, nor a terminal as the back office.
    assert_error(
        &s.call("POST", push_path, Some(ADMIN), Some(push_a.clone()))
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &s.call("GET", "/v1/admin/orders", Some(&a.token), None)
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &s.call(
            "PUT",
            "/v1/admin/catalog",
            Some(&a.token),
            Some(json!({"products": []})),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &s.call(
            "POST",
            "/v1/admin/terminals",
            Some(&a.token),
            Some(json!({"name": "evil"})),
        )
        .await,
        403,
        "forbidden",
    );
    // Every back-office route, the unknown ones too, refuses a terminal's token with 403.
    for (method, path, body) in [
        ("GET", "/v1/admin/stores", None),
        (
            "POST",
            "/v1/admin/stores",
            Some(json!({"code": "x", "name": "X"})),
        ),
        ("GET", "/v1/admin/terminals", None),
        ("GET", "/v1/admin/stock", None),
        ("GET", "/v1/admin/alerts", None),
        ("GET", "/v1/admin/orders/ORD-1", None),
        (
            "POST",
            "/v1/admin/stock/adjust",
            Some(json!({"sku": "ESPRESSO", "delta": 1, "reason": "receiving"})),
        ),
        ("GET", "/v1/admin/nothing-here", None),
    ] {
        let answer = s.call(method, path, Some(&a.token), body).await;
        assert_error(&answer, 403, "forbidden");
    }
    assert_error(
        &s.call("GET", "/v1/admin/nothing-here", Some(ADMIN), None)
            .await,
        404,
        "not_found",
    );
    assert_error(
        &s.call("GET", "/v1/admin/stock", None, None).await,
        401,
        "unauthorized",
    );
    assert_error(
        &s.call("GET", "/v1/admin/stock", Some("guess"), None).await,
        401,
        "invalid_token",
    );
    // Protocol version mismatch.
    let mut old = push_a.clone();
    old["protocol"] = json!(PROTOCOL_VERSION + 1);
    assert_error(
        &s.call("POST", push_path, Some(&a.token), Some(old)).await,
        400,
        "unsupported_protocol",
    );
    // Oversized, non-JSON, malformed and mis-shaped bodies.
    assert_error(&oversized(&s, &a.token).await, 413, "body_too_large");
    let text = push_a.to_string().into_bytes();
    assert_error(
        &raw(
            &s,
            push_path,
            Some(&a.token),
            Some("text/plain"),
            text.clone(),
        )
        .await,
        415,
        "unsupported_media_type",
    );
    assert_error(
        &raw(&s, push_path, Some(&a.token), None, text).await,
        415,
        "unsupported_media_type",
    );
    assert_error(
        &raw(
            &s,
            "/v1/enroll",
            None,
            Some("application/x-www-form-urlencoded"),
            b"code=1".to_vec(),
        )
        .await,
        415,
        "unsupported_media_type",
    );
    assert_error(
        &raw(
            &s,
            push_path,
            Some(&a.token),
            Some("application/json"),
            b"{\"protocol\": 1,".to_vec(),
        )
        .await,
        400,
        "malformed_json",
    );
    assert_error(
        &raw(
            &s,
            push_path,
            Some(&a.token),
            Some("application/json"),
            b"{\"protocol\": \"one\"}".to_vec(),
        )
        .await,
        422,
        "invalid_body",
    );
    nothing_stored(&s).await;

    // A reused or unknown enrolment code.
    let created = s
        .admin("POST", "/v1/admin/terminals", Some(json!({"name": "C"})))
        .await;
    let code = created["enrollment_code"].clone();
    let (status, _) = s
        .call(
            "POST",
            "/v1/enroll",
            None,
            Some(json!({"enrollment_code": code})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &s.call(
            "POST",
            "/v1/enroll",
            None,
            Some(json!({"enrollment_code": code})),
        )
        .await,
        409,
        "enrollment_code_used",
    );
    assert_error(
        &s.call(
            "POST",
            "/v1/enroll",
            None,
            Some(json!({"enrollment_code": "AAAA-BBBB"})),
        )
        .await,
        401,
        "invalid_enrollment_code",
    );
    assert_error(
        &s.call(
            "POST",
            "/v1/admin/terminals",
            Some(ADMIN),
            Some(json!({"name": " "})),
        )
        .await,
        422,
        "invalid_body",
    );

    // A revoked token stops working at once.
    let revoked = s
        .admin(
            "POST",
            &format!("/v1/admin/terminals/{}/revoke", a.terminal_id),
            None,
        )
        .await;
    assert_eq!(revoked["revoked"], true);
    assert_error(
        &s.call("POST", push_path, Some(&a.token), Some(push_a))
            .await,
        401,
        "invalid_token",
    );
    assert_error(
        &s.call(
            "POST",
            "/v1/admin/terminals/not-a-uuid/revoke",
            Some(ADMIN),
            None,
        )
        .await,
        404,
        "not_found",
    );
    nothing_stored(&s).await;
    let terms = s.admin("GET", "/v1/admin/terminals", None).await;
    let a_row = terms["terminals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["terminal_id"] == a.terminal_id.to_string())
        .unwrap()
        .clone();
    assert_eq!(a_row["revoked"], true);
}
