//! Issues of a session (stock, unique items, discounts, catalog flags) and re-pricing open
//! sessions when the catalog changes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::{find_line, load_lines, totals, Issue, LineFlag, LineRow, SessionRow, Severity};
use crate::catalog::{self, OversellPolicy};
use crate::clock::fmt_time;
use crate::error::Result;
use crate::stock::{self, UniqueState};
use crate::bounds;

/// The issues of a session as things stand now.
pub(crate) fn issues(
    conn: &Connection,
    row: &SessionRow,
    lines: &[LineRow],
    location: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Issue>> {
    let mut out = Vec::new();
    let mut per_sku: BTreeMap<&str, i64> = BTreeMap::new();
    for l in lines {
        let wanted = per_sku.entry(l.sku.as_str()).or_default();
        *wanted = bounds::add(*wanted, l.qty, "a quantity")?;
        for f in &l.flags {
            let severity = if f.code == "product_gone" { Severity::Blocking } else { Severity::Warning };
            out.push(Issue {
                code: f.code.clone(),
                severity,
                line_id: Some(l.line_id.clone()),
                sku: Some(l.sku.clone()),
                message: f.message.clone(),
            });
        }
        if l.total_q()? < 0 {
            out.push(Issue {
                code: "invalid_discount".into(),
                severity: Severity::Blocking,
                line_id: Some(l.line_id.clone()),
                sku: Some(l.sku.clone()),
                message: format!("line {} discount {} exceeds its amount", l.line_id, l.discount_q),
            });
        }
    }
    for (sku, qty) in per_sku {
        let Some(p) = catalog::get(conn, sku)? else { continue };
        if p.unique {
            let state = stock::unique_state(conn, &p, location, now, Some(&row.key))?;
            if state != UniqueState::Available {
                out.push(Issue {
                    code: "unique_unavailable".into(),
                    severity: Severity::Blocking,
                    line_id: None,
                    sku: Some(sku.to_string()),
                    message: format!("{} is one of a kind and is {}", p.name, match state {
                        UniqueState::Sold => "sold",
                        _ if p.reserved_elsewhere(now) => "reserved at another till",
                        _ => "reserved elsewhere",
                    }),
                });
            }
            continue;
        }
        let severity = match p.oversell {
            OversellPolicy::Allow => continue,
            OversellPolicy::Warn => Severity::Warning,
            OversellPolicy::Block => Severity::Blocking,
        };
        let held = stock::held(conn, sku, location, now, Some(&row.key))?;
        let available = bounds::sub(stock::on_hand(conn, sku, location)?, held, "available stock")?;
        if qty > available {
            out.push(Issue {
                code: "insufficient_stock".into(),
                severity,
                line_id: None,
                sku: Some(sku.to_string()),
                message: format!("{}: {qty} wanted, {} available", p.name, available.max(0)),
            });
        }
    }
    let (subtotal, _, _) = totals(lines, 0)?;
    if row.discount_q > subtotal.max(0) {
        out.push(Issue {
            code: "invalid_discount".into(),
            severity: Severity::Blocking,
            line_id: None,
            sku: None,
            message: format!("order discount {} exceeds the subtotal {subtotal}", row.discount_q),
        });
    }
    Ok(out)
}

fn save_flags(conn: &Connection, key: &str, line_id: &str, flags: &[LineFlag]) -> Result<()> {
    conn.prepare_cached("UPDATE session_lines SET flags = ?3 WHERE session_key = ?1 AND line_id = ?2")?
        .execute([key, line_id, &serde_json::to_string(flags).expect("flags serialise")])?;
    Ok(())
}

/// Re-prices or flags the lines of open sessions after a catalog change, in the caller's
/// transaction.
pub(crate) fn on_catalog_change(conn: &Connection, skus: &BTreeSet<String>, now: DateTime<Utc>) -> Result<()> {
    if skus.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare(
        "SELECT l.session_key, l.line_id FROM session_lines l JOIN sessions s USING (session_key)
         WHERE s.state = 'open' AND l.sku = ?1",
    )?;
    let mut touched = BTreeSet::new();
    for sku in skus {
        let affected: Vec<(String, String)> =
            stmt.query_map([sku], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        let product = catalog::get(conn, sku)?;
        for (key, line_id) in affected {
            let lines = load_lines(conn, &key)?;
            let mut line = find_line(&lines, &line_id, &key)?;
            line.flags.retain(|f| f.code != "product_gone");
            match &product {
                Some(p) if p.active => {
                    if line.price_source == "catalog" && line.unit_price_q != p.price_q {
                        line.flags.retain(|f| f.code != "price_changed");
                        line.flags.push(LineFlag {
                            code: "price_changed".into(),
                            message: format!("{}: price changed from {} to {}", p.name, line.unit_price_q, p.price_q),
                        });
                        conn.execute(
                            "UPDATE session_lines SET unit_price_q = ?3, name = ?4 WHERE session_key = ?1 AND line_id = ?2",
                            rusqlite::params![key, line_id, p.price_q, p.name],
                        )?;
                    }
                }
                _ => line.flags.push(LineFlag {
                    code: "product_gone".into(),
                    message: format!("{} is no longer sold", line.name),
                }),
            }
            save_flags(conn, &key, &line_id, &line.flags)?;
            touched.insert(key);
        }
    }
    for key in touched {
        conn.execute(
            "UPDATE sessions SET revision = revision + 1, updated_at = ?2 WHERE session_key = ?1",
            [&key, &fmt_time(now)],
        )?;
    }
    Ok(())
}
