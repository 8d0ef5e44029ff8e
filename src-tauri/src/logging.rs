//! Logs: tracing to a file rotated daily in `<data dir>/logs/` (the last [`KEEP_FILES`] days
//! kept), through a non-blocking writer whose guard lives as long as the app. `TILLBOOK_LOG`
//! sets the filter (default `info`).
//!
//! Logs are for people; durability is the book's: a committed order is in `book.sqlite`
//! (`synchronous=FULL`) before any command returns, whatever happens to buffered log lines.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Daily files kept.
pub const KEEP_FILES: usize = 7;

/// Keeps the log writer flushing; dropped when the app exits.
pub struct LogGuard(#[allow(dead_code)] WorkerGuard);

fn filter() -> EnvFilter {
    EnvFilter::try_from_env("TILLBOOK_LOG").unwrap_or_else(|_| EnvFilter::new("info"))
}

fn stderr<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter())
}

/// Starts logging to `<data_dir>/logs/tillbook.YYYY-MM-DD.log` and to stderr. `None` when the
/// log directory cannot be made (the app runs on, logging to stderr only).
pub fn init(data_dir: &Path) -> Option<LogGuard> {
    let dir = data_dir.join("logs");
    let appender = std::fs::create_dir_all(&dir).map_err(|e| e.to_string()).and_then(|_| {
        RollingFileAppender::builder()
            .rotation(Rotation::DAILY)
            .filename_prefix("tillbook")
            .filename_suffix("log")
            .max_log_files(KEEP_FILES)
            .build(&dir)
            .map_err(|e| e.to_string())
    });
    match appender {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let file = tracing_subscriber::fmt::layer().with_ansi(false).with_writer(writer).with_filter(filter());
            let _ = tracing_subscriber::registry().with(file).with(stderr()).try_init();
            tracing::info!(dir = %dir.display(), "logging to a daily file");
            Some(LogGuard(guard))
        }
        Err(e) => {
            let _ = tracing_subscriber::registry().with(stderr()).try_init();
            tracing::warn!(dir = %dir.display(), error = %e, "cannot log to a file");
            None
        }
    }
}
