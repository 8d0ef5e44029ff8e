//! Staff over HTTP: the back office creates, lists and changes staff members; a PIN is 4 to 8
//! digits, never another active member's, never shown; every change reaches the tills through
//! the chain's change log with the PIN's argon2id hash, which the test checks with the argon2
//! crate itself.

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tillbook_protocol::staff::{Role, StaffRecord};
use tillbook_protocol::sync::{Change, EnrollResponse, PullCursor, PullRequest, PullResponse};
use tillbook_protocol::PROTOCOL_VERSION;
use uuid::Uuid;

use crate::support::*;

/// Whether `hash` is an argon2id PHC string made from `pin`.
pub fn verifies(hash: &str, pin: &str) -> bool {
    let parsed = PasswordHash::new(hash).expect("a PHC string");
    parsed.algorithm.as_str() == "argon2id"
        && Argon2::default()
            .verify_password(pin.as_bytes(), &parsed)
            .is_ok()
}

async fn pull(s: &Server, till: &EnrollResponse, cursor: Option<PullCursor>) -> PullResponse {
    let req = PullRequest {
        protocol: PROTOCOL_VERSION,
        terminal_id: till.terminal_id,
        store: None,
        cursor,
        limit: 1000,
    };
    let (code, v) = s
        .call(
            "POST",
            "/v1/sync/pull",
            Some(&till.token),
            Some(serde_json::to_value(req).unwrap()),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    serde_json::from_value(v).unwrap()
}

/// The staff records among `changes`, by id (the latest of each).
fn staff_of(changes: &[Change]) -> std::collections::BTreeMap<Uuid, StaffRecord> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Staff { staff, .. } => Some((staff.staff_id, staff.clone())),
            _ => None,
        })
        .collect()
}

/// Creates a staff member over HTTP; returns the answer.
pub async fn create(s: &Server, name: &str, role: &str, pin: &str) -> Value {
    let (code, v) = s
        .call(
            "POST",
            "/v1/admin/staff",
            Some(ADMIN),
            Some(json!({"name": name, "role": role, "pin": pin})),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    v
}

pub fn id_of(v: &Value) -> Uuid {
    v["staff_id"].as_str().unwrap().parse().unwrap()
}

async fn patch(s: &Server, id: &str, body: Value) -> (StatusCode, Value) {
    s.call(
        "PATCH",
        &format!("/v1/admin/staff/{id}"),
        Some(ADMIN),
        Some(body),
    )
    .await
}

pub async fn staff(db: Db) {
    let s = Server::start(&db.url).await;
    let till = s.terminal("Front").await;
    let first = pull(&s, &till, None).await;
    assert!(staff_of(&first.changes).is_empty());

    // Created: 201, the answer names the member, never the PIN or a hash.
    let ana = create(&s, " Ana ", "cashier", "1234").await;
    assert_eq!(
        (
            ana["name"].as_str(),
            ana["role"].as_str(),
            ana["active"].as_bool()
        ),
        (Some("Ana"), Some("cashier"), Some(true))
    );
    let ana_id = id_of(&ana);
    assert_eq!(ana_id.get_version_num(), 7, "a UUIDv7");
    let marta = create(&s, "Marta", "manager", "98765").await;
    let marta_id = id_of(&marta);
    for v in [&ana, &marta] {
        let text = v.to_string();
        assert!(!text.contains("pin") && !text.contains("argon2"), "{text}");
    }

    // Bad input, each with its code; nothing is written.
    let s = &s;
    let bad = |body: Value| async move {
        s.call("POST", "/v1/admin/staff", Some(ADMIN), Some(body))
            .await
    };
    assert_error(
        &bad(json!({"name": "Bo", "role": "cashier", "pin": "1234"})).await,
        409,
        "pin_in_use",
    );
    for pin in [
        json!("123"),
        json!("123456789"),
        json!("12a4"),
        json!(""),
        json!(1234),
        json!(null),
    ] {
        assert_error(
            &bad(json!({"name": "Bo", "role": "cashier", "pin": pin})).await,
            400,
            "invalid_pin",
        );
    }
    for role in [json!("boss"), json!("Manager"), json!(1), json!(null)] {
        assert_error(
            &bad(json!({"name": "Bo", "role": role, "pin": "5555"})).await,
            400,
            "invalid_role",
        );
    }
    assert_error(
        &bad(json!({"name": "  ", "role": "cashier", "pin": "5555"})).await,
        422,
        "invalid_body",
    );
    assert_error(
        &bad(json!({"name": "Bo", "role": "cashier"})).await,
        422,
        "invalid_body",
    );
    assert_error(
        &bad(json!({"name": "Bo", "role": "cashier", "pin": "5555", "pin_hash": "x"})).await,
        422,
        "invalid_body",
    );
    // A terminal cannot manage staff.
    assert_error(
        &s.call("GET", "/v1/admin/staff", Some(&till.token), None)
            .await,
        403,
        "forbidden",
    );

    // Listed without hashes.
    let list = s.admin("GET", "/v1/admin/staff", None).await;
    let names: Vec<&str> = list["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ana", "Marta"]);
    let text = list.to_string();
    assert!(!text.contains("pin") && !text.contains("$argon2"), "{text}");

    // A till pulls both, with hashes of their PINs (argon2id, each its own salt).
    let pulled = pull(s, &till, Some(first.cursor)).await;
    let records = staff_of(&pulled.changes);
    assert_eq!(records.len(), 2);
    let (a, m) = (&records[&ana_id], &records[&marta_id]);
    assert_eq!(
        (a.name.as_str(), a.role, a.active),
        ("Ana", Role::Cashier, true)
    );
    assert_eq!((m.role, m.active), (Role::Manager, true));
    assert!(verifies(&a.pin_hash, "1234") && !verifies(&a.pin_hash, "98765"));
    assert!(verifies(&m.pin_hash, "98765"));
    let ana_hash = a.pin_hash.clone();
    let snapshot = pull(s, &till, None).await;
    assert!(snapshot.reset);
    assert_eq!(staff_of(&snapshot.changes), records);

    // Changes: name and role; the hash stays.
    let (code, v) = patch(
        s,
        &ana_id.to_string(),
        json!({"name": "Ana Paula", "role": "manager"}),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(
        (v["name"].as_str(), v["role"].as_str()),
        (Some("Ana Paula"), Some("manager"))
    );
    let step = pull(s, &till, Some(pulled.cursor)).await;
    let got = staff_of(&step.changes);
    assert_eq!(got.len(), 1, "only Ana changed");
    assert_eq!(
        (
            got[&ana_id].name.as_str(),
            got[&ana_id].role,
            got[&ana_id].pin_hash.as_str()
        ),
        ("Ana Paula", Role::Manager, ana_hash.as_str())
    );

    // A PIN: not another active member's; her own again is fine (a new salt).
    assert_error(
        &patch(s, &ana_id.to_string(), json!({"pin": "98765"})).await,
        409,
        "pin_in_use",
    );
    assert_error(
        &patch(s, &ana_id.to_string(), json!({"pin": "12"})).await,
        400,
        "invalid_pin",
    );
    assert_error(
        &patch(s, &ana_id.to_string(), json!({"role": "owner"})).await,
        400,
        "invalid_role",
    );
    assert_error(
        &patch(s, &ana_id.to_string(), json!({"active": "no"})).await,
        422,
        "invalid_body",
    );
    let (code, v) = patch(s, &ana_id.to_string(), json!({"pin": "1234"})).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    let step2 = pull(s, &till, Some(step.cursor)).await;
    let new_hash = &staff_of(&step2.changes)[&ana_id].pin_hash;
    assert_ne!(new_hash, &ana_hash);
    assert!(verifies(new_hash, "1234"));

    // Deactivated: the tills hear it, and the PIN is free for someone else.
    let (code, v) = patch(s, &marta_id.to_string(), json!({"active": false})).await;
    assert_eq!((code, v["active"].as_bool()), (StatusCode::OK, Some(false)));
    let bo = create(s, "Bo", "cashier", "98765").await;
    let step3 = pull(s, &till, Some(step2.cursor)).await;
    let got = staff_of(&step3.changes);
    assert!(!got[&marta_id].active);
    assert!(verifies(&got[&id_of(&bo)].pin_hash, "98765"));

    // A change that changes nothing is not logged again; unknown members are 404.
    let (code, _) = patch(s, &marta_id.to_string(), json!({"active": false})).await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = patch(s, &marta_id.to_string(), json!({})).await;
    assert_eq!(code, StatusCode::OK);
    let quiet = pull(s, &till, Some(step3.cursor)).await;
    assert!(quiet.changes.is_empty(), "{:?}", quiet.changes);
    for id in [Uuid::now_v7().to_string(), "not-a-uuid".to_string()] {
        assert_error(
            &patch(s, &id, json!({"name": "X"})).await,
            404,
            "unknown_staff",
        );
        assert_error(
            &patch(s, &id, json!({"pin": "4321"})).await,
            404,
            "unknown_staff",
        );
    }

    // Two back-office requests racing for one PIN: one gets it.
    let race = |name: &'static str| {
        let (http, url) = (s.http.clone(), s.url("/v1/admin/staff"));
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(ADMIN)
                .json(&json!({"name": name, "role": "cashier", "pin": "24680"}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let (x, y) = (race("Cy"), race("Di"));
    let mut codes = [x.await.unwrap().as_u16(), y.await.unwrap().as_u16()];
    codes.sort();
    assert_eq!(codes, [201, 409]);
    let list = s.admin("GET", "/v1/admin/staff", None).await;
    assert_eq!(list["staff"].as_array().unwrap().len(), 4);
}
