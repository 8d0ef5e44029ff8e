//! `tillbook enroll` and `tillbook sync`: the sync client driven from the command line.

use std::time::Duration;

use serde_json::json;
use tillbook_orderbook::{Book, Error, ErrorCode, Result};
use tillbook_sync::{Options, SyncError};

use crate::args::SyncCmd;
use crate::run::Out;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(ErrorCode::Io, format!("cannot start the async runtime: {e}")))
}

fn to_error(e: SyncError) -> Error {
    let code = match e.code.as_str() {
        "server_unreachable" => ErrorCode::ServerUnreachable,
        "reenroll_required" => ErrorCode::ReenrollRequired,
        "not_enrolled" => ErrorCode::NotEnrolled,
        "unauthorized" | "invalid_token" | "forbidden" | "terminal_mismatch" => ErrorCode::Unauthorized,
        "enrollment_code_used" => ErrorCode::EnrollmentCodeUsed,
        "invalid_enrollment_code" => ErrorCode::InvalidEnrollmentCode,
        "storage" => ErrorCode::Storage,
        "invalid_argument" => ErrorCode::InvalidArgument,
        _ => ErrorCode::SyncRejected,
    };
    Error::new(code, e.message)
}

pub fn enroll(book: &mut Book, server: &str, code: &str) -> Result<Out> {
    // A demo book leaves demo mode at its first enrolment: its demo data is removed, never sent.
    let left_demo = book.is_demo()?;
    let e = runtime()?.block_on(tillbook_sync::enroll(book, server, code)).map_err(to_error)?;
    let mut text = format!(
        "Enrolled as {} ({}) with {}\nStore: {} ({})   terminal code: {} (new order references use it)",
        e.terminal_name,
        e.terminal_id,
        e.server_url,
        e.store.as_deref().unwrap_or("-"),
        e.store_name.as_deref().unwrap_or("-"),
        e.terminal_code
    );
    if left_demo {
        text.push_str(
            "\nDemo data removed (none of it was sent): open a shift with `tillbook shift open --float N` to sell",
        );
    }
    Ok(Out {
        json: json!({
            "terminal_id": e.terminal_id,
            "name": e.terminal_name,
            "server": e.server_url,
            "store": e.store,
            "store_name": e.store_name,
            "terminal_code": e.terminal_code,
            "left_demo": left_demo,
        }),
        text,
        failed: None,
    })
}

pub fn sync(book: &mut Book, c: SyncCmd) -> Result<Out> {
    match c {
        SyncCmd::Status => {
            let s = book.sync_status()?;
            let when = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into());
            let mut text = format!(
                "Server: {}\nStore: {}   terminal: {} ({})\nPending: {}   rejected: {}   last sync: {}\n\
                 Acknowledged rows kept: {} days",
                s.server_url.clone().unwrap_or_else(|| "not enrolled".into()),
                s.store.clone().unwrap_or_else(|| "-".into()),
                s.terminal_code,
                s.terminal_id,
                s.pending,
                s.rejected,
                when(s.last_success_at),
                s.retention_days
            );
            if let Some(e) = &s.last_error {
                text.push_str(&format!("\nLast error ({}): {e}", when(s.last_error_at)));
            }
            if let Some(h) = &s.halted {
                text.push_str(&format!("\nSYNC STOPPED: {h}\nUnsynced sales are kept: re-enrol with `tillbook enroll`"));
            }
            Ok(Out { json: serde_json::to_value(&s).expect("status serialises"), text, failed: None })
        }
        SyncCmd::Run { watch: false, page, .. } => {
            let opts = Options { push_page: page.max(1), ..Options::default() };
            let report = runtime()?.block_on(tillbook_sync::run(book, &opts)).map_err(to_error)?;
            let s = book.sync_status()?;
            let text = format!(
                "Synced: {} sent, {} rejected, {} changes pulled; queue {}",
                report.pushed, report.rejected, report.pulled, s.pending
            );
            Ok(Out { json: json!({"report": report, "pending": s.pending, "last_success_at": s.last_success_at}), text, failed: None })
        }
        SyncCmd::Run { watch: true, interval, page } => {
            let opts = Options { push_page: page.max(1), ..Options::default() };
            let err = runtime()?.block_on(tillbook_sync::watch(book, &opts, Duration::from_secs(interval.max(1)), |r| match r {
                Ok(rep) if rep.pushed + rep.pulled > 0 => {
                    eprintln!("synced: {} sent, {} rejected, {} pulled", rep.pushed, rep.rejected, rep.pulled)
                }
                Ok(_) => {}
                Err(e) => eprintln!("sync: {e}"),
            }));
            Err(to_error(err))
        }
    }
}
