//! Channels: each carries its order status flow, pricing policy and edit policy.

use rusqlite::{Connection, OptionalExtension};
pub use tillbook_protocol::channel::{Channel, EditPolicy, Flow, PricingPolicy};

use crate::error::{err, Error, ErrorCode, Result};

pub(crate) fn upsert(conn: &Connection, ch: &Channel) -> Result<()> {
    let flow = serde_json::to_string(&ch.flow).expect("flow serialises");
    conn.execute(
        "INSERT INTO channels(code, name, flow, pricing, edit_policy) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(code) DO UPDATE SET name = excluded.name, flow = excluded.flow,
             pricing = excluded.pricing, edit_policy = excluded.edit_policy",
        (&ch.code, &ch.name, flow, ch.pricing.as_str(), ch.edit_policy.as_str()),
    )?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, code: &str) -> Result<Channel> {
    let row = conn
        .prepare_cached("SELECT code, name, flow, pricing, edit_policy FROM channels WHERE code = ?1")?
        .query_row([code], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
        })
        .optional()?;
    let Some((code, name, flow, pricing, edit)) = row else {
        return err(ErrorCode::UnknownChannel, format!("no channel {code:?}"));
    };
    let flow: Flow = serde_json::from_str(&flow)
        .map_err(|e| Error::new(ErrorCode::Storage, format!("channel {code}: bad flow: {e}")))?;
    let pricing = PricingPolicy::parse(&pricing)
        .ok_or_else(|| Error::new(ErrorCode::Storage, format!("channel {code}: unknown pricing policy {pricing:?}")))?;
    let edit_policy = EditPolicy::parse(&edit)
        .ok_or_else(|| Error::new(ErrorCode::Storage, format!("channel {code}: unknown edit policy {edit:?}")))?;
    Ok(Channel { code, name, flow, pricing, edit_policy })
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<Channel>> {
    let mut stmt = conn.prepare("SELECT code FROM channels ORDER BY code")?;
    let codes: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    codes.iter().map(|c| get(conn, c)).collect()
}

