//! The `tillbook` command as a library: [`execute`] parses arguments, makes one call into the
//! order book and returns what the process prints and its exit status.

mod args;
mod render;
mod run;
mod sync;

use clap::error::ErrorKind;
use clap::Parser;

/// What one invocation printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// 0 on success, 1 on a failed operation, 2 on bad arguments.
    pub status: u8,
    pub stdout: String,
    pub stderr: String,
}

/// Runs one `tillbook` command line (`args` without the program name).
pub fn execute<I, T>(args: I) -> Outcome
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let json = args.iter().take_while(|a| *a != "--").any(|a| a == "--json");
    let cli = match args::Cli::try_parse_from(std::iter::once("tillbook".into()).chain(args)) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return Outcome { status: 0, stdout: e.to_string(), stderr: String::new() };
        }
        Err(e) => {
            let message = e.to_string();
            let summary = message.split("\n\nUsage").next().unwrap_or("");
            let first = summary.trim_start_matches("error: ").split_whitespace().collect::<Vec<_>>().join(" ");
            return fail(json, "invalid_arguments", &first, &message, 2);
        }
    };
    let data_dir = match cli.data_dir.clone().map(Ok).unwrap_or_else(run::default_data_dir) {
        Ok(d) => d,
        Err(e) => return fail(json, e.code.as_str(), &e.message, &e.message, 1),
    };
    match run::run(&data_dir, cli.command) {
        Ok(out) => {
            let stdout = if json { out.json.to_string() } else { out.text };
            Outcome { status: 0, stdout: stdout + "\n", stderr: String::new() }
        }
        Err(e) => fail(json, e.code.as_str(), &e.message, &e.message, 1),
    }
}

fn fail(json: bool, code: &str, message: &str, long: &str, status: u8) -> Outcome {
    if json {
        let body = serde_json::json!({"code": code, "message": message});
        Outcome { status, stdout: format!("{body}\n"), stderr: String::new() }
    } else {
        let text = format!("error [{code}]: {}\n", long.trim_start_matches("error: ").trim_end());
        Outcome { status, stdout: String::new(), stderr: text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &std::path::Path, args: &[&str]) -> (u8, serde_json::Value) {
        let mut all = vec!["--data-dir", dir.to_str().unwrap(), "--json"];
        all.extend_from_slice(args);
        let out = execute(all);
        (out.status, serde_json::from_str(&out.stdout).unwrap_or(serde_json::Value::Null))
    }

    #[test]
    fn settings_show_and_set() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(run(dir.path(), &["init"]).0, 0);
        let (status, s) = run(dir.path(), &["settings", "show"]);
        assert_eq!((status, &s["outbox_retention_days"], &s["hold_ttl_secs"]), (0, &30.into(), &900.into()));
        let (status, s) = run(dir.path(), &["settings", "set", "outbox_retention_days", "45"]);
        assert_eq!((status, &s["key"], &s["value"]), (0, &"outbox_retention_days".into(), &45.into()));
        assert_eq!(s["settings"]["outbox_retention_days"], 45);
        for bad in [["outbox_retention_days", "0"], ["hold_ttl_secs", "-5"], ["currency", "USD"]] {
            let (status, e) = run(dir.path(), &["settings", "set", bad[0], bad[1]]);
            assert_eq!((status, &e["code"]), (1, &"invalid_setting".into()), "{bad:?}");
        }
        assert_eq!(run(dir.path(), &["sync", "status"]).1["retention_days"], 45);
    }

    /// A unique item put into a basket and taken out again: two `unique.hold` rows, listed.
    #[test]
    fn outbox_list_shows_unique_holds() {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &["init"]);
        let file = dir.path().join("ring.json");
        std::fs::write(&file, r#"[{"sku": "RING", "name": "Silver ring", "price_q": 25000, "unique": true}]"#).unwrap();
        assert_eq!(run(dir.path(), &["catalog", "import", file.to_str().unwrap()]).0, 0);
        let (_, s) = run(dir.path(), &["session", "open"]);
        let key = s["session_key"].as_str().unwrap().to_string();
        assert_eq!(run(dir.path(), &["session", "add", &key, "RING"]).0, 0);
        assert_eq!(run(dir.path(), &["session", "abandon", &key]).0, 0);
        let (status, list) = run(dir.path(), &["outbox", "list"]);
        assert_eq!(status, 0);
        let events = list["events"].as_array().unwrap();
        let rows: Vec<(&str, &str, bool)> = events
            .iter()
            .map(|e| (e["kind"].as_str().unwrap(), e["payload"]["sku"].as_str().unwrap(), e["payload"]["until"].is_string()))
            .collect();
        assert_eq!(rows, vec![("unique.hold", "RING", true), ("unique.hold", "RING", false)]);
        assert!(events.iter().all(|e| e["payload"]["session_key"] == key.as_str() && e["order_ref"].is_null()));
        assert_eq!(list["summary"]["pending"], 2);
        let text = execute(["--data-dir", dir.path().to_str().unwrap(), "outbox", "list"]).stdout;
        assert!(text.contains("RING held until") && text.contains("RING released"), "{text}");
    }

    #[test]
    fn a_halted_book_says_so_and_sync_run_fails_with_reenroll_required() {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &["init"]);
        let (_, s) = run(dir.path(), &["sync", "status"]);
        assert_eq!((&s["reenroll_required"], &s["halted"], &s["terminal_code"]), (&false.into(), &serde_json::Value::Null, &"T01".into()));
        let mut book = tillbook_orderbook::Book::open(&dir.path().join(tillbook_orderbook::BOOK_FILE)).unwrap();
        book.halt_sync("the server holds different events").unwrap();
        drop(book);
        let (_, s) = run(dir.path(), &["sync", "status"]);
        assert_eq!((&s["reenroll_required"], &s["halted"]), (&true.into(), &"the server holds different events".into()));
        let (status, e) = run(dir.path(), &["sync", "run"]);
        assert_eq!((status, &e["code"]), (1, &"reenroll_required".into()));
        let text = execute(["--data-dir", dir.path().to_str().unwrap(), "sync", "status"]).stdout;
        assert!(text.contains("SYNC STOPPED: the server holds different events"), "{text}");
        assert!(text.contains("re-enrol with `tillbook enroll`"), "{text}");
    }
}
