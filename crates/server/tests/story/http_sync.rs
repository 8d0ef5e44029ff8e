//! The API over real HTTP: enrolment, push, pull, back office, alerts, OpenAPI.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tillbook_protocol::sync::{EventOutcome, PullCursor, PullResponse, PushResponse};
use tillbook_protocol::PROTOCOL_VERSION;

use crate::support::*;

async fn push(s: &Server, token: &str, body: Value) -> (StatusCode, Value) {
    s.call("POST", "/v1/sync/push", Some(token), Some(body))
        .await
}

fn pushed(answer: (StatusCode, Value)) -> PushResponse {
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    serde_json::from_value(answer.1).unwrap()
}

pub async fn round_trip(db: Db) {
    let s = Server::start(&db.url).await;
    s.store.seed_demo().await.unwrap();
    let (code, health) = s.call("GET", "/v1/health", None, None).await;
    assert_eq!(
        (code, health["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let till = s.terminal("Front till").await;
    assert_eq!(till.protocol, PROTOCOL_VERSION);
    assert_eq!(till.name, "Front till");
    assert_eq!(
        (till.store.as_str(), till.store_name.as_str()),
        ("main", "Main store")
    );
    assert_eq!(till.terminal_code, "T01");
    let t = till.terminal_id;

    // Push: applied, then the same page again is all duplicates.
    let ord_a = order("ORD-A", "ESPRESSO", 1, false);
    let evs = vec![
        outbox(1, &ord_a),
        outbox(2, &order("ORD-B", "LATTE", 2, false)),
        outbox(3, &status(&ord_a, "new", "confirmed", None)),
    ];
    let body = serde_json::to_value(page(t, &evs)).unwrap();
    let r = pushed(push(&s, &till.token, body.clone()).await);
    assert_eq!(r.last_applied_seq, 3);
    assert!(r.results.iter().all(|x| x.outcome == EventOutcome::Applied));
    let r = pushed(push(&s, &till.token, body).await);
    assert!(r
        .results
        .iter()
        .all(|x| x.outcome == EventOutcome::Duplicate));

    // A gap gets the last applied seq back, nothing applied.
    let r = pushed(
        push(
            &s,
            &till.token,
            serde_json::to_value(page(t, &[outbox(7, &adjusted("LATTE", 5))])).unwrap(),
        )
        .await,
    );
    assert!(r.gap);
    assert_eq!(r.last_applied_seq, 3);

    // 422 on the same seq with another payload, nothing applied from the page.
    let mut changed = evs[1].clone();
    changed.payload["total_q"] = json!(1);
    changed.payload_hash = tillbook_protocol::payload_hash(&changed.payload);
    let four = outbox(4, &adjusted("LATTE", 5));
    let answer = push(
        &s,
        &till.token,
        serde_json::to_value(page(t, &[changed, four.clone()])).unwrap(),
    )
    .await;
    assert_error(&answer, 422, "payload_mismatch");
    assert_eq!(on_hand(&s.store, "LATTE").await, 98);

    // A rejection does not block the queue.
    let evs = vec![
        four,
        outbox(5, &order("ORD-C", "GHOST", 1, false)),
        outbox(6, &order("ORD-D", "CROISSANT", 120, false)),
    ];
    let r = pushed(
        push(
            &s,
            &till.token,
            serde_json::to_value(page(t, &evs)).unwrap(),
        )
        .await,
    );
    let outcomes: Vec<_> = r.results.iter().map(|x| x.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            EventOutcome::Applied,
            EventOutcome::Rejected,
            EventOutcome::Applied
        ]
    );
    assert_eq!(r.last_applied_seq, 6);

    // Pull: reset snapshot with our last applied seq; then a catalog PUT arrives incrementally.
    let pull = |cursor: Option<PullCursor>| json!({"protocol": PROTOCOL_VERSION, "terminal_id": t, "cursor": cursor, "limit": 100});
    let (code, v) = s
        .call("POST", "/v1/sync/pull", Some(&till.token), Some(pull(None)))
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    let snap: PullResponse = serde_json::from_value(v).unwrap();
    assert!(snap.reset);
    assert_eq!(snap.last_applied_seq, 6);
    let product = json!({"sku": "MUFFIN", "name": "Muffin", "price_q": 600, "currency": "BRL"});
    let up = s
        .admin(
            "PUT",
            "/v1/admin/catalog",
            Some(json!({"products": [product]})),
        )
        .await;
    assert_eq!(up["changed"], 1);
    let (_, v) = s
        .call(
            "POST",
            "/v1/sync/pull",
            Some(&till.token),
            Some(pull(Some(snap.cursor))),
        )
        .await;
    let inc: PullResponse = serde_json::from_value(v).unwrap();
    assert!(!inc.reset && !inc.has_more);
    assert_eq!(inc.changes.len(), 1);
    assert_eq!(
        serde_json::to_value(&inc.changes[0]).unwrap()["product"]["sku"],
        "MUFFIN"
    );
    assert_eq!(inc.last_applied_seq, 6);

    // Back office: orders paged, one order in full, stock, terminals, alerts.
    let first = s.admin("GET", "/v1/admin/orders?limit=2", None).await;
    assert_eq!(first["orders"].as_array().unwrap().len(), 2);
    assert_eq!(first["orders"][0]["ref"], "ORD-A");
    assert_eq!(first["orders"][0]["terminal_id"], t.to_string());
    assert_eq!(first["orders"][0]["total_q"], 500);
    let next = first["next"].as_str().unwrap().to_string();
    let second = s
        .admin(
            "GET",
            &format!("/v1/admin/orders?limit=2&after={next}"),
            None,
        )
        .await;
    assert_eq!(second["orders"][0]["ref"], "ORD-D");
    assert_eq!(second["next"], Value::Null);
    assert_error(
        &s.call("GET", "/v1/admin/orders?limit=5000", Some(ADMIN), None)
            .await,
        400,
        "invalid_query",
    );
    let a = s.admin("GET", "/v1/admin/orders/ORD-A", None).await;
    assert_eq!(a["status"], "confirmed");
    assert_eq!(a["store"], "main");
    assert_eq!(a["terminal_code"], "T01");
    assert_eq!(a["terminal_name"], "Front till");
    assert_eq!(a["order_id"], committed(&ord_a).order_id.to_string());
    let by_id = s
        .admin(
            "GET",
            &format!("/v1/admin/orders/{}", committed(&ord_a).order_id),
            None,
        )
        .await;
    assert_eq!(by_id["ref"], "ORD-A");
    assert_eq!(a["lines"][0]["sku"], "ESPRESSO");
    assert_eq!(a["events"].as_array().unwrap().len(), 2);
    assert_error(
        &s.call("GET", "/v1/admin/orders/NOPE", Some(ADMIN), None)
            .await,
        404,
        "not_found",
    );
    let stock = s.admin("GET", "/v1/admin/stock", None).await;
    let latte = stock["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["sku"] == "LATTE")
        .unwrap()
        .clone();
    assert_eq!(
        (latte["on_hand"].as_i64(), latte["name"].as_str()),
        (Some(103), Some("Latte"))
    );
    let adj = s
        .admin(
            "POST",
            "/v1/admin/stock/adjust",
            Some(json!({"sku": "LATTE", "count": 50, "reason": "count", "note": "shelf"})),
        )
        .await;
    assert_eq!(
        (adj["delta"].as_i64(), adj["on_hand"].as_i64()),
        (Some(-53), Some(50))
    );
    let terms = s.admin("GET", "/v1/admin/terminals", None).await;
    assert_eq!(terms["terminals"][0]["last_applied_seq"], 6);
    assert_eq!(terms["terminals"][0]["rejected"], 1);
    assert!(terms["terminals"][0]["last_seen_at"].is_string());
    let alerts = s.admin("GET", "/v1/admin/alerts", None).await;
    assert_eq!(alerts["shortages"][0]["sku"], "CROISSANT");
    assert_eq!(alerts["shortages"][0]["on_hand"], -20);
    assert!(alerts["rejected"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("GHOST"));

    // OpenAPI lists every route; unknown routes answer JSON too.
    let (_, doc) = s.call("GET", "/v1/openapi.json", None, None).await;
    for (path, method) in [
        ("/v1/health", "get"),
        ("/v1/openapi.json", "get"),
        ("/v1/enroll", "post"),
        ("/v1/sync/push", "post"),
        ("/v1/sync/pull", "post"),
        ("/v1/admin/terminals", "post"),
        ("/v1/admin/terminals", "get"),
        ("/v1/admin/terminals/{id}/revoke", "post"),
        ("/v1/admin/orders", "get"),
        ("/v1/admin/orders/{id}", "get"),
        ("/v1/admin/stores", "get"),
        ("/v1/admin/stores", "post"),
        ("/v1/admin/stock", "get"),
        ("/v1/admin/stock/adjust", "post"),
        ("/v1/admin/alerts", "get"),
        ("/v1/admin/catalog", "put"),
        ("/v1/admin/reports/daily", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from openapi"
        );
    }
    assert_error(
        &s.call("GET", "/v1/nothing", None, None).await,
        404,
        "not_found",
    );
    assert_error(
        &s.call("DELETE", "/v1/sync/push", None, None).await,
        405,
        "method_not_allowed",
    );
}
