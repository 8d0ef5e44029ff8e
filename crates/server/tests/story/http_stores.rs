//! Stores over HTTP: the back office's stores and terminals, store filters, 403s for a
//! terminal naming another store, order identity, and listings across stores.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tillbook_protocol::sync::{PushResponse, TerminalCreated};
use tillbook_protocol::PROTOCOL_VERSION;

use crate::support::*;

async fn push(
    s: &Server,
    till: &tillbook_protocol::sync::EnrollResponse,
    body: Value,
) -> (StatusCode, Value) {
    s.call("POST", "/v1/sync/push", Some(&till.token), Some(body))
        .await
}

fn body(till: &tillbook_protocol::sync::EnrollResponse, seq: u64, r: &str) -> Value {
    serde_json::to_value(page(
        till.terminal_id,
        &[outbox(seq, &order(r, "ESPRESSO", 1, false))],
    ))
    .unwrap()
}

/// Walks the listing from `after`, collects the order ids seen, returns the last cursor.
async fn walk(s: &Server, query: &str, mut after: String, seen: &mut Vec<String>) -> String {
    loop {
        let v = s
            .admin(
                "GET",
                &format!("/v1/admin/orders?limit=2{query}&after={after}"),
                None,
            )
            .await;
        for o in v["orders"].as_array().unwrap() {
            seen.push(o["order_id"].as_str().unwrap().to_string());
        }
        after = v["cursor"].as_str().unwrap().to_string();
        if v["next"].is_null() {
            return after;
        }
        assert_eq!(v["next"], v["cursor"]);
    }
}

pub async fn stores(db: Db) {
    let s = Server::start(&db.url).await;
    s.store.seed_demo().await.unwrap();

    // Stores: 201 with StoreInfo, 409 store_exists, 422 invalid_body; listed.
    let (code, v) = s
        .call(
            "POST",
            "/v1/admin/stores",
            Some(ADMIN),
            Some(json!({"code": "north", "name": "North"})),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["code"].as_str(), v["name"].as_str()),
        (Some("north"), Some("North"))
    );
    assert!(v["created_at"].is_string());
    assert_error(
        &s.call(
            "POST",
            "/v1/admin/stores",
            Some(ADMIN),
            Some(json!({"code": "north", "name": "N"})),
        )
        .await,
        409,
        "store_exists",
    );
    assert_error(
        &s.call(
            "POST",
            "/v1/admin/stores",
            Some(ADMIN),
            Some(json!({"code": "a b", "name": "N"})),
        )
        .await,
        422,
        "invalid_body",
    );
    assert_error(
        &s.call(
            "POST",
            "/v1/admin/stores",
            Some(ADMIN),
            Some(json!({"code": "x", "name": "N", "extra": 1})),
        )
        .await,
        422,
        "invalid_body",
    );
    let list = s.admin("GET", "/v1/admin/stores", None).await;
    let codes: Vec<_> = list["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["main", "north"]);

    // Terminals: store and code; the first free code; taken code 409; unknown store 422.
    let (code, v) = s
        .call(
            "POST",
            "/v1/admin/terminals",
            Some(ADMIN),
            Some(json!({"name": "N1", "store": "north", "terminal_code": "T02"})),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    let n1: TerminalCreated = serde_json::from_value(v).unwrap();
    assert_eq!(
        (n1.store.as_str(), n1.terminal_code.as_str()),
        ("north", "T02")
    );
    let north = s.terminal_in("N2", Some("north")).await;
    assert_eq!(
        (
            north.store.as_str(),
            north.store_name.as_str(),
            north.terminal_code.as_str()
        ),
        ("north", "North", "T01")
    );
    assert_error(
        &s.call(
            "POST",
            "/v1/admin/terminals",
            Some(ADMIN),
            Some(json!({"name": "N3", "store": "north", "terminal_code": "T01"})),
        )
        .await,
        409,
        "terminal_code_taken",
    );
    assert_error(
        &s.call(
            "POST",
            "/v1/admin/terminals",
            Some(ADMIN),
            Some(json!({"name": "X", "store": "south"})),
        )
        .await,
        422,
        "unknown_store",
    );
    assert_error(
        &s.call(
            "POST",
            "/v1/admin/terminals",
            Some(ADMIN),
            Some(json!({"name": "X", "terminal_code": "T 1"})),
        )
        .await,
        422,
        "invalid_body",
    );
    let main1 = s.terminal("M1").await;
    let main2 = s.terminal("M2").await;
    assert_eq!(
        (main1.terminal_code.as_str(), main2.terminal_code.as_str()),
        ("T01", "T02")
    );
    let terms = s
        .admin("GET", "/v1/admin/terminals?store=north", None)
        .await;
    let terms = terms["terminals"].as_array().unwrap();
    assert_eq!(terms.len(), 2);
    assert!(terms
        .iter()
        .all(|t| t["store"] == "north" && t["terminal_code"].is_string()));
    for path in [
        "/v1/admin/terminals",
        "/v1/admin/orders",
        "/v1/admin/stock",
        "/v1/admin/alerts",
    ] {
        assert_error(
            &s.call("GET", &format!("{path}?store=south"), Some(ADMIN), None)
                .await,
            422,
            "unknown_store",
        );
    }

    // A terminal naming another store: 403 forbidden_store; its own: fine.
    let mut other = body(&north, 1, "N-1");
    other["store"] = json!("main");
    assert_error(&push(&s, &north, other).await, 403, "forbidden_store");
    let pull = json!({"protocol": PROTOCOL_VERSION, "terminal_id": north.terminal_id, "store": "main", "cursor": null, "limit": 10});
    assert_error(
        &s.call("POST", "/v1/sync/pull", Some(&north.token), Some(pull))
            .await,
        403,
        "forbidden_store",
    );
    let mut own = body(&north, 1, "N-1");
    own["store"] = json!("north");
    assert_eq!(push(&s, &north, own).await.0, StatusCode::OK);
    let pull = json!({"protocol": PROTOCOL_VERSION, "terminal_id": north.terminal_id, "cursor": {"chain": 0, "store": 0}, "limit": 1000});
    let (code, v) = s
        .call("POST", "/v1/sync/pull", Some(&north.token), Some(pull))
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert!(
        v["cursor"]["chain"].as_u64().unwrap() > 0 && v["cursor"]["store"].as_u64().unwrap() > 0,
        "{v}"
    );

    // Two tills printing the same reference both keep their sale; the ref alone is ambiguous.
    for till in [&main1, &main2] {
        let r: PushResponse =
            serde_json::from_value(push(&s, till, body(till, 1, "SAME-1")).await.1).unwrap();
        assert_eq!(
            r.results[0].outcome,
            tillbook_protocol::sync::EventOutcome::Applied
        );
    }
    let answer = s
        .call("GET", "/v1/admin/orders/SAME-1", Some(ADMIN), None)
        .await;
    assert_error(&answer, 409, "ambiguous_order_ref");
    let main_orders = s.admin("GET", "/v1/admin/orders?store=main", None).await;
    let same: Vec<&Value> = main_orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["ref"] == "SAME-1")
        .collect();
    assert_eq!(same.len(), 2);
    let codes: BTreeSet<_> = same
        .iter()
        .map(|o| o["terminal_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, BTreeSet::from(["T01", "T02"]));
    for o in &same {
        let id = o["order_id"].as_str().unwrap();
        assert!(answer.1["message"].as_str().unwrap().contains(id));
        let d = s
            .admin("GET", &format!("/v1/admin/orders/{id}"), None)
            .await;
        assert_eq!(
            (d["store"].as_str(), d["terminal_id"].as_str()),
            (Some("main"), o["terminal_id"].as_str())
        );
        for field in [
            "terminal_name",
            "currency",
            "subtotal_q",
            "discount_q",
            "total_q",
            "business_date",
            "committed_at",
            "lines",
            "events",
            "channel",
            "status",
        ] {
            assert!(!d[field].is_null(), "{field} missing: {d}");
        }
    }

    // Listing across stores, orders added between pages: each seen exactly once.
    let mut seen = Vec::new();
    let mut cursor = walk(&s, "", String::new(), &mut seen).await;
    let (mut seq_m, mut seq_n) = (1, 1);
    for round in 0..3 {
        for i in 0..3 {
            seq_m += 1;
            seq_n += 1;
            assert!(
                push(&s, &main1, body(&main1, seq_m, &format!("M-{round}-{i}")))
                    .await
                    .0
                    .is_success()
            );
            assert!(
                push(&s, &north, body(&north, seq_n, &format!("N-{round}-{i}")))
                    .await
                    .0
                    .is_success()
            );
        }
        // One page in, then more orders, then the rest.
        let v = s
            .admin(
                "GET",
                &format!("/v1/admin/orders?limit=2&after={cursor}"),
                None,
            )
            .await;
        seen.extend(
            v["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["order_id"].as_str().unwrap().to_string()),
        );
        seq_n += 1;
        assert!(
            push(&s, &north, body(&north, seq_n, &format!("N-{round}-late")))
                .await
                .0
                .is_success()
        );
        cursor = walk(&s, "", v["cursor"].as_str().unwrap().to_string(), &mut seen).await;
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "an order was listed twice: {seen:?}"
    );
    let all = s.admin("GET", "/v1/admin/orders?limit=1000", None).await;
    let every: BTreeSet<String> = all["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(unique, every, "every order listed exactly once");
    assert_eq!(every.len(), 3 + 3 * 7);
    // One store's listing holds its orders only.
    let mut north_seen = Vec::new();
    walk(&s, "&store=north", String::new(), &mut north_seen).await;
    let north_all = s
        .admin("GET", "/v1/admin/orders?store=north&limit=1000", None)
        .await;
    let north_all = north_all["orders"].as_array().unwrap();
    assert!(north_all
        .iter()
        .all(|o| o["store"] == "north" && o["ref"].as_str().unwrap().starts_with('N')));
    assert_eq!(north_seen.len(), 1 + 3 * 4);
    assert_eq!(north_all.len(), north_seen.len());
    assert_error(
        &s.call("GET", "/v1/admin/orders?after=bogus", Some(ADMIN), None)
            .await,
        400,
        "invalid_query",
    );

    // Stock and adjust per store.
    let adj = s
        .admin(
            "POST",
            "/v1/admin/stock/adjust",
            Some(json!({"sku": "ESPRESSO", "store": "north", "delta": 5, "reason": "receiving"})),
        )
        .await;
    assert_eq!(adj["store"], "north");
    let stock = s.admin("GET", "/v1/admin/stock?store=north", None).await;
    let items = stock["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["store"] == "north"));
    assert_eq!(
        items.iter().find(|i| i["sku"] == "ESPRESSO").unwrap()["on_hand"],
        5 - 13
    );
    assert_error(
        &s.call(
            "POST",
            "/v1/admin/stock/adjust",
            Some(ADMIN),
            Some(json!({"sku": "ESPRESSO", "store": "south", "delta": 5, "reason": "receiving"})),
        )
        .await,
        422,
        "unknown_store",
    );
    let alerts = s.admin("GET", "/v1/admin/alerts?store=north", None).await;
    assert!(alerts["shortages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["store"] == "north"));
}
