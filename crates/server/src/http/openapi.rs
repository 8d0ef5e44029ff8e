//! The OpenAPI 3 document of the API, served at `GET /v1/openapi.json`.

use axum::Json;
use serde_json::{json, Value};

/// One route: (path, method, summary, auth, request schema, success status, answer schema).
type Route = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
);

/// Every route of the API.
const ROUTES: &[Route] = &[
    (
        "/v1/health",
        "get",
        "Liveness",
        "none",
        None,
        "200",
        "Health",
    ),
    (
        "/v1/openapi.json",
        "get",
        "This document",
        "none",
        None,
        "200",
        "Object",
    ),
    (
        "/v1/enroll",
        "post",
        "Spend a one-time enrolment code for a terminal token",
        "none",
        Some("EnrollRequest"),
        "200",
        "EnrollResponse",
    ),
    (
        "/v1/sync/push",
        "post",
        "Push a page of outbox rows (ascending seq)",
        "terminal",
        Some("PushRequest"),
        "200",
        "PushResponse",
    ),
    (
        "/v1/sync/pull",
        "post",
        "Pull change-log entries after a cursor, or a reset snapshot",
        "terminal",
        Some("PullRequest"),
        "200",
        "PullResponse",
    ),
    (
        "/v1/admin/stores",
        "post",
        "Create a store of the chain (409 store_exists)",
        "admin",
        Some("CreateStore"),
        "201",
        "StoreInfo",
    ),
    (
        "/v1/admin/stores",
        "get",
        "The chain's stores",
        "admin",
        None,
        "200",
        "Stores",
    ),
    (
        "/v1/admin/terminals",
        "post",
        "Create a terminal in a store (default `main`) with a terminal code unique there (given, or the first free T01, T02, …) and its one-time enrolment code",
        "admin",
        Some("CreateTerminal"),
        "201",
        "TerminalCreated",
    ),
    (
        "/v1/admin/terminals",
        "get",
        "Terminals with their store, code and sync health (`?store=CODE`)",
        "admin",
        None,
        "200",
        "Terminals",
    ),
    (
        "/v1/admin/terminals/{id}/revoke",
        "post",
        "Revoke a terminal's token",
        "admin",
        None,
        "200",
        "Object",
    ),
    (
        "/v1/admin/orders",
        "get",
        "Orders of one store (`?store=CODE`) or of every store, paged by `limit` (1..1000) and the opaque cursor `after` (one feed position per store)",
        "admin",
        None,
        "200",
        "OrderPage",
    ),
    (
        "/v1/admin/orders/{id}",
        "get",
        "One order with its lines and events, by order id or by a reference (409 ambiguous_order_ref when several orders hold it)",
        "admin",
        None,
        "200",
        "OrderDetail",
    ),
    (
        "/v1/admin/stock",
        "get",
        "On-hand per store, SKU and location (`?store=CODE`)",
        "admin",
        None,
        "200",
        "StockList",
    ),
    (
        "/v1/admin/stock/adjust",
        "post",
        "Receiving, adjustment (delta) or count (a baseline at the server's now) in a store (default `main`)",
        "admin",
        Some("AdjustRequest"),
        "200",
        "Object",
    ),
    (
        "/v1/admin/alerts",
        "get",
        "Shortages, unique-item conflicts and rejected events (`?store=CODE`)",
        "admin",
        None,
        "200",
        "Alerts",
    ),
    (
        "/v1/admin/reports/daily",
        "get",
        "The daily report of a store (`?store=CODE`, default `main`) for a business date (`?date=YYYY-MM-DD`, required; missing or malformed: 400 invalid_date): sales, taxes by rate, tenders, declines, refunds, cancellations, fees, and the same per terminal, every figure summed by the database",
        "admin",
        None,
        "200",
        "DailyReport",
    ),
    (
        "/v1/admin/catalog",
        "put",
        "Upsert products by SKU; terminals pull the changes",
        "admin",
        Some("CatalogBody"),
        "200",
        "Object",
    ),
    (
        "/v1/admin/staff",
        "post",
        "Create a staff member; the PIN (4-8 digits) is stored only as an argon2id hash and terminals pull the member (400 invalid_role, invalid_pin; 409 pin_in_use when another active member has that PIN)",
        "admin",
        Some("CreateStaff"),
        "201",
        "StaffInfo",
    ),
    (
        "/v1/admin/staff",
        "get",
        "The chain's staff members (never a PIN or its hash)",
        "admin",
        None,
        "200",
        "StaffList",
    ),
    (
        "/v1/admin/staff/{id}",
        "patch",
        "Change a staff member's name, role, PIN or active flag; terminals pull the change (404 unknown_staff; 400 invalid_role, invalid_pin; 409 pin_in_use)",
        "admin",
        Some("PatchStaff"),
        "200",
        "StaffInfo",
    ),
    (
        "/v1/admin/shifts",
        "get",
        "A store's cash-drawer shifts (`?store=CODE`, required: 400 invalid_query; `terminal=CODE`: 422 unknown_terminal; `date=YYYY-MM-DD`: 400 invalid_date; `limit` 1..1000, default 100), newest first: who opened and closed each, the server's own figures summed by the database, the till's counted, expected and difference, and `mismatch` when the till's Z-report differs from the server's figures",
        "admin",
        None,
        "200",
        "ShiftList",
    ),
];

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn operation(
    path: &str,
    summary: &str,
    auth: &str,
    request: Option<&str>,
    status: &str,
    answer: &str,
) -> Value {
    let mut op = json!({
        "summary": summary,
        "responses": {
            status: {"description": "success", "content": {"application/json": {"schema": schema_ref(answer)}}},
            "default": {"description": "an error: `{code, message}`", "content": {"application/json": {"schema": schema_ref("Error")}}}
        }
    });
    if let Some(req) = request {
        op["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": schema_ref(req)}}});
    }
    op["security"] = match auth {
        "admin" => json!([{"adminToken": []}]),
        "terminal" => json!([{"terminalToken": []}]),
        _ => json!([]),
    };
    let mut params: Vec<Value> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if path == "/v1/admin/orders" {
        params.push(json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}));
        params.push(json!({"name": "after", "in": "query", "required": false, "schema": {"type": "string"}}));
    }
    if matches!(
        path,
        "/v1/admin/orders" | "/v1/admin/terminals" | "/v1/admin/stock" | "/v1/admin/alerts"
    ) && !summary.starts_with("Create")
    {
        params.push(json!({"name": "store", "in": "query", "required": false, "description": "a store's code; absent: every store (unknown: 422 unknown_store)", "schema": {"type": "string"}}));
    }
    if path == "/v1/admin/shifts" {
        params.push(json!({"name": "store", "in": "query", "required": true, "description": "the store's code (missing: 400 invalid_query; unknown: 422 unknown_store)", "schema": {"type": "string"}}));
        params.push(json!({"name": "terminal", "in": "query", "required": false, "description": "a terminal code of the store (unknown: 422 unknown_terminal)", "schema": {"type": "string"}}));
        params.push(json!({"name": "date", "in": "query", "required": false, "description": "a business date (malformed: 400 invalid_date)", "schema": {"type": "string", "format": "date"}}));
        params.push(json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}));
    }
    if path == "/v1/admin/reports/daily" {
        params.push(json!({"name": "store", "in": "query", "required": false, "description": "a store's code; absent: `main` (unknown: 422 unknown_store)", "schema": {"type": "string"}}));
        params.push(json!({"name": "date", "in": "query", "required": true, "description": "the business date (400 invalid_date when missing or malformed)", "schema": {"type": "string", "format": "date"}}));
    }
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    op
}

fn obj(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}

fn schemas() -> Value {
    let s = json!({"type": "string"});
    let i = json!({"type": "integer"});
    json!({
        "Object": {"type": "object"},
        "Error": obj(&["code", "message"], json!({"code": s, "message": s})),
        "Health": obj(&["status"], json!({"status": s, "protocol": i, "backend": s})),
        "CreateStore": obj(&["code", "name"], json!({"code": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,16}$"}, "name": s})),
        "StoreInfo": obj(&["code", "name", "created_at"], json!({"code": s, "name": s, "created_at": s})),
        "Stores": obj(&["stores"], json!({"stores": {"type": "array", "items": schema_ref("StoreInfo")}})),
        "CreateTerminal": obj(&["name"], json!({"name": s, "store": s, "terminal_code": {"type": "string", "pattern": "^[A-Za-z0-9]{1,16}$"}})),
        "TerminalCreated": obj(&["terminal_id", "enrollment_code", "store", "terminal_code"], json!({"terminal_id": s, "enrollment_code": s, "store": s, "terminal_code": s})),
        "EnrollRequest": obj(&["enrollment_code"], json!({"enrollment_code": s})),
        "EnrollResponse": obj(&["terminal_id", "name", "token", "protocol", "store", "store_name", "terminal_code"], json!({"terminal_id": s, "name": s, "token": s, "protocol": i, "store": s, "store_name": s, "terminal_code": s})),
        "OutboxEvent": obj(&["seq", "event_id", "kind", "payload", "payload_hash", "created_at"], json!({
            "seq": i, "event_id": s, "kind": {"type": "string", "description": "order.committed, order.status_changed, order.item_status_changed, stock.adjusted, unique.hold, payment.recorded, refund.recorded, shift.opened, shift.cash_moved or shift.closed"}, "payload": {"type": "object"}, "payload_hash": s, "created_at": s})),
        "PushRequest": obj(&["protocol", "terminal_id", "events"], json!({
            "protocol": i, "terminal_id": s, "store": {"type": "string", "description": "the terminal's own store or absent (another: 403 forbidden_store)"}, "events": {"type": "array", "items": schema_ref("OutboxEvent")}})),
        "EventResult": obj(&["seq", "event_id", "outcome"], json!({
            "seq": i, "event_id": s, "outcome": {"type": "string", "enum": ["applied", "duplicate", "rejected"]},
            "reason": {"type": "string", "description": "why it was rejected; shift rules start with a stable code: unknown_shift, shift_closed, shift_already_open, shift_exists, currency_mismatch"}})),
        "PushResponse": obj(&["last_applied_seq", "results", "gap"], json!({
            "last_applied_seq": i, "results": {"type": "array", "items": schema_ref("EventResult")}, "gap": {"type": "boolean"}})),
        "PullCursor": obj(&["chain", "store"], json!({"chain": i, "store": i})),
        "PullRequest": obj(&["protocol", "terminal_id", "limit"], json!({
            "protocol": i, "terminal_id": s, "store": {"type": "string", "description": "the terminal's own store or absent (another: 403 forbidden_store)"},
            "cursor": {"allOf": [schema_ref("PullCursor")], "nullable": true}, "limit": i})),
        "PullResponse": obj(&["reset", "changes", "cursor", "has_more", "last_applied_seq"], json!({
            "reset": {"type": "boolean"}, "changes": {"type": "array", "items": {"type": "object", "description": "tagged by `type`: product, channel, staff (the chain's log; a staff member carries its PIN's argon2id hash `pin_hash` for offline sign-in, never the PIN), stock_level, unique_item (the terminal's store's log: `sold_by`, the earliest live order that sold it, and `reserved`, the live basket hold that ends last, `{terminal_id, until}`)"}},
            "cursor": schema_ref("PullCursor"), "has_more": {"type": "boolean"}, "last_applied_seq": i})),
        "Terminals": obj(&["terminals"], json!({"terminals": {"type": "array", "items": {"type": "object"}}})),
        "OrderSummary": obj(&["order_id", "ref", "store", "terminal_id", "terminal_code", "terminal_name", "status", "total_q"], json!({
            "order_id": s, "ref": s, "store": s, "terminal_id": s, "terminal_code": s, "terminal_name": s, "channel": s, "status": s,
            "currency": s, "subtotal_q": i, "discount_q": i, "total_q": i, "business_date": s, "committed_at": s})),
        "OrderPage": obj(&["orders", "next", "cursor"], json!({
            "orders": {"type": "array", "items": schema_ref("OrderSummary")},
            "next": {"type": "string", "nullable": true, "description": "`after` of the next page; null when no more orders wait now"},
            "cursor": {"type": "string", "description": "the position after this page, to poll for orders committed since"}})),
        "OrderDetail": {"allOf": [schema_ref("OrderSummary"), obj(&["lines", "events", "paid_q", "refunded_q", "payment_status", "payments", "refunds", "taxes", "actor"], json!({
            "handle": s, "received_at": s,
            "actor": {"type": "string", "description": "who rang it up as the till recorded it (`terminal:<id>` on orders from before staff)"},
            "staff_id": {"type": "string", "nullable": true, "description": "the staff member as the till gave it (one the server does not know is the till's own)"},
            "staff_name": {"type": "string", "nullable": true, "description": "their name when the server knows them"},
            "approved_by": {"type": "string", "nullable": true, "description": "the manager whose PIN allowed it"},
            "approved_by_name": {"type": "string", "nullable": true},
            "shift_id": {"type": "string", "nullable": true, "description": "the cash-drawer shift it was sold in"},
            "tax_mode": {"type": "string", "enum": ["inclusive", "exclusive"], "nullable": true, "description": "null: sold before taxes"},
            "tax_q": i,
            "taxes": {"type": "array", "items": schema_ref("RateTotal")},
            "lines": {"type": "array", "items": {"type": "object", "description": "line_no, sku, name, unit_price_q, qty, discount_q, total_q, unique, status, tax_rate_bp, order_discount_q, tax_q, refunded_qty, category"}},
            "events": {"type": "array", "items": {"type": "object", "description": "event_id, kind, line_no, from, to, actor, at, reason, staff_id, approved_by"}},
            "paid_q": i, "refunded_q": i,
            "payment_status": {"type": "string", "enum": ["unpaid", "partly_paid", "paid", "partly_refunded", "refunded"]},
            "payments": {"type": "array", "items": obj(&["payment_id", "method", "outcome", "amount_q"], json!({
                "payment_id": s, "terminal_id": s, "terminal_code": s, "method": s, "outcome": {"type": "string", "enum": ["approved", "declined"]},
                "decline_code": s, "currency": s, "amount_q": i, "tendered_q": i, "change_q": i, "rounding_q": i, "fee_q": i, "refunded_q": i,
                "card_last4": s, "reference": s, "business_date": s, "at": s, "actor": s,
                "shift_id": {"type": "string", "nullable": true}, "staff_id": {"type": "string", "nullable": true}, "staff_name": {"type": "string", "nullable": true}}))},
            "refunds": {"type": "array", "items": obj(&["refund_id", "amount_q", "tenders", "lines"], json!({
                "refund_id": s, "terminal_id": s, "terminal_code": s, "idempotency_key": s, "currency": s, "amount_q": i, "restock": {"type": "boolean"},
                "reason": s, "business_date": s, "at": s, "actor": s,
                "shift_id": {"type": "string", "nullable": true}, "staff_id": {"type": "string", "nullable": true}, "staff_name": {"type": "string", "nullable": true},
                "approved_by": {"type": "string", "nullable": true}, "approved_by_name": {"type": "string", "nullable": true},
                "tenders": {"type": "array", "items": obj(&["payment_id", "method", "amount_q"], json!({"payment_id": s, "method": s, "amount_q": i, "reference": s}))},
                "lines": {"type": "array", "items": obj(&["line_no", "qty", "amount_q"], json!({"line_no": i, "qty": i, "amount_q": i}))}}))}}))]},
        "Role": {"type": "string", "enum": ["cashier", "manager"]},
        "CreateStaff": obj(&["name", "role", "pin"], json!({"name": s, "role": schema_ref("Role"), "pin": {"type": "string", "pattern": "^[0-9]{4,8}$"}})),
        "PatchStaff": obj(&[], json!({"name": s, "role": schema_ref("Role"), "pin": {"type": "string", "pattern": "^[0-9]{4,8}$"}, "active": {"type": "boolean"}})),
        "StaffInfo": obj(&["staff_id", "name", "role", "active"], json!({"staff_id": s, "name": s, "role": schema_ref("Role"), "active": {"type": "boolean"}, "created_at": s, "updated_at": s})),
        "StaffList": obj(&["staff"], json!({"staff": {"type": "array", "items": schema_ref("StaffInfo")}})),
        "SalesFigure": obj(&["key", "qty", "gross_q"], json!({"key": {"type": "string", "description": "the SKU, or the category (\"\" for none)"}, "name": {"type": "string", "description": "the product's name (absent for a category)"}, "qty": i, "gross_q": i})),
        "TenderFigure": obj(&["method", "count", "amount_q", "refunded_q", "declined", "fee_q"], json!({"method": s, "count": i, "amount_q": i, "refunded_q": i, "declined": i, "fee_q": i})),
        "CashMovementFigure": obj(&["kind", "amount_q", "reason", "at", "actor"], json!({"kind": {"type": "string", "enum": ["in", "out", "no_sale"]}, "amount_q": i, "reason": s, "at": s, "actor": s})),
        "ShiftFigures": obj(&["shift_id", "currency", "business_date", "opened_at", "order_count", "sales_q", "discounts_q", "tax_q", "taxes", "by_product", "by_category", "tenders", "refund_count", "refunds_q", "cancelled_count", "cancelled_q", "movements", "float_q", "cash_sales_q", "cash_refunds_q", "cash_in_q", "cash_out_q", "expected_cash_q"], json!({
            "shift_id": s, "currency": s, "business_date": {"type": "string", "format": "date"}, "opened_at": s, "closed_at": s,
            "order_count": i, "first_ref": s, "last_ref": s, "sales_q": i, "discounts_q": i, "tax_q": i,
            "taxes": {"type": "array", "items": schema_ref("RateTotal")},
            "by_product": {"type": "array", "items": schema_ref("SalesFigure")},
            "by_category": {"type": "array", "items": schema_ref("SalesFigure")},
            "tenders": {"type": "array", "items": schema_ref("TenderFigure")},
            "refund_count": i, "refunds_q": i, "cancelled_count": i, "cancelled_q": i,
            "movements": {"type": "array", "items": schema_ref("CashMovementFigure")},
            "float_q": i, "cash_sales_q": i, "cash_refunds_q": i, "cash_in_q": i, "cash_out_q": i, "expected_cash_q": i,
            "counted_q": {"type": "integer", "description": "absent while the shift is open"}, "difference_q": {"type": "integer", "description": "counted − expected; absent while open"}})),
        "ShiftInfo": obj(&["shift_id", "store", "terminal_id", "terminal_code", "status", "business_date", "currency", "opened_at", "opened_by", "figures", "mismatch"], json!({
            "shift_id": s, "store": s, "terminal_id": s, "terminal_code": s, "terminal_name": s,
            "status": {"type": "string", "enum": ["open", "closed"]}, "business_date": {"type": "string", "format": "date"}, "currency": s,
            "opened_at": s, "opened_by": {"type": "string", "description": "the staff member's name when the server knows them, else the till's actor"},
            "opened_by_staff_id": {"type": "string", "nullable": true},
            "closed_at": {"type": "string", "nullable": true}, "closed_by": {"type": "string", "nullable": true}, "closed_by_staff_id": {"type": "string", "nullable": true},
            "approved_by": {"type": "string", "nullable": true}, "approved_by_name": {"type": "string", "nullable": true},
            "figures": {"allOf": [schema_ref("ShiftFigures")], "description": "the server's own figures, summed by the database from the shift's rows now"},
            "till": {"nullable": true, "description": "what the till's close said (null while open)", "allOf": [obj(&[], json!({"counted_q": i, "expected_q": i, "difference_q": i}))]},
            "mismatch": {"type": "boolean", "description": "the till's Z-report differs from the server's figures"}})),
        "ShiftList": obj(&["store", "shifts", "has_more"], json!({"store": s, "shifts": {"type": "array", "items": schema_ref("ShiftInfo")}, "has_more": {"type": "boolean", "description": "more shifts match than `limit`: narrow by date or terminal"}})),
        "RateTotal": obj(&["rate_bp", "base_q", "tax_q", "gross_q"], json!({"rate_bp": i, "base_q": i, "tax_q": i, "gross_q": i})),
        "MethodAmount": obj(&["method", "amount_q"], json!({"method": s, "amount_q": i})),
        "DailyReport": obj(&["store", "date", "currency", "sales", "taxes", "tenders", "declines", "refunds", "cancellations", "fees_q", "terminals"], json!({
            "store": s, "date": {"type": "string", "format": "date"}, "currency": {"type": "string", "nullable": true},
            "sales": obj(&["orders", "gross_q", "tax_q", "discount_q", "net_q"], json!({"orders": i, "gross_q": i, "tax_q": i, "discount_q": i, "net_q": i})),
            "taxes": {"type": "array", "items": schema_ref("RateTotal")},
            "tenders": {"type": "array", "items": obj(&["method", "payments", "amount_q", "fee_q"], json!({"method": s, "payments": i, "amount_q": i, "fee_q": i}))},
            "declines": obj(&["count"], json!({"count": i})),
            "refunds": obj(&["count", "amount_q", "by_method"], json!({"count": i, "amount_q": i, "by_method": {"type": "array", "items": schema_ref("MethodAmount")}})),
            "cancellations": obj(&["orders", "amount_q"], json!({"orders": i, "amount_q": i})),
            "fees_q": i,
            "terminals": {"type": "array", "items": obj(&["terminal_id", "terminal_code", "name", "orders", "gross_q", "tax_q", "tenders", "refunds_q", "cancellations"], json!({
                "terminal_id": s, "terminal_code": s, "name": s, "orders": i, "gross_q": i, "tax_q": i,
                "tenders": {"type": "array", "items": schema_ref("MethodAmount")}, "refunds_q": i, "cancellations": i}))}})),
        "StockList": obj(&["items"], json!({"items": {"type": "array", "items": obj(&["store", "sku", "location", "on_hand"], json!({
            "store": s, "sku": s, "location": s, "on_hand": i, "name": s}))}})),
        "Alerts": obj(&["shortages", "conflicts", "rejected"], json!({
            "shortages": {"type": "array", "items": {"type": "object"}},
            "conflicts": {"type": "array", "items": obj(&["store", "sku", "orders", "order_ids"], json!({
                "store": s, "sku": s, "orders": {"type": "array", "items": s}, "order_ids": {"type": "array", "items": s}}))},
            "rejected": {"type": "array", "items": {"type": "object"}}})),
        "AdjustRequest": obj(&["sku", "reason"], json!({
            "sku": s, "store": s, "location": s, "delta": i, "count": i,
            "reason": {"type": "string", "enum": ["receiving", "adjustment", "count"]}, "note": s})),
        "CatalogBody": obj(&["products"], json!({"products": {"type": "array", "items": obj(&["sku", "name", "price_q"], json!({
            "sku": s, "name": s, "price_q": i, "currency": s, "category": s, "barcodes": {"type": "array", "items": s},
            "active": {"type": "boolean"}, "parent_sku": s, "variant": s, "unique": {"type": "boolean"},
            "oversell": {"type": "string", "enum": ["allow", "warn", "block"]}}))}}))
    })
}

/// The whole document.
pub fn spec() -> Value {
    let mut paths = serde_json::Map::new();
    for (path, method, summary, auth, request, status, answer) in ROUTES {
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = operation(path, summary, auth, *request, status, answer);
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Tillbook server", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Terminal enrolment, push/pull sync and the back-office API. JSON only; every error is {code, message}."},
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "adminToken": {"type": "http", "scheme": "bearer", "description": "the server's admin token"},
                "terminalToken": {"type": "http", "scheme": "bearer", "description": "a terminal's token from /v1/enroll"}
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
