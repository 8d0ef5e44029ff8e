//! The `tillbook` command as a library: [`execute`] parses arguments, makes one call into the
//! order book and returns what the process prints and its exit status.

mod args;
mod pay;
mod receipt;
mod render;
mod run;
mod shift;
mod staff;
mod sync;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};

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
    let parsed = args::Cli::command()
        .try_get_matches_from(std::iter::once("tillbook".into()).chain(args))
        .and_then(|m| args::Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            if let (args::Command::Pay(p), Some(("pay", m))) = (&mut cli.command, matches.subcommand()) {
                match args::pay_tenders(m) {
                    Ok(t) => p.tenders = t,
                    Err(why) => return fail(json, "invalid_arguments", &why, &why, 2),
                }
            }
            cli
        }
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
    match run::run(&data_dir, cli.command, cli.pin) {
        Ok(run::Out { json: body, text, failed: Some(e) }) => {
            // The command did something worth showing and still failed (a declined card): its
            // output, with the error's code and message, and a non-zero status.
            let stdout = if json {
                let mut body = body;
                if let serde_json::Value::Object(map) = &mut body {
                    map.insert("code".into(), e.code.clone().into());
                    map.insert("message".into(), e.message.clone().into());
                }
                body.to_string()
            } else {
                text
            };
            let stderr = if json { String::new() } else { format!("error [{}]: {}\n", e.code, e.message) };
            Outcome { status: 1, stdout: stdout + "\n", stderr }
        }
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

    fn tenders(line: &[&str]) -> Result<Vec<tillbook_orderbook::Tender>, String> {
        let m = args::Cli::command().try_get_matches_from(["tillbook", "pay", "R"].iter().chain(line)).map_err(|e| e.to_string())?;
        args::pay_tenders(m.subcommand_matches("pay").unwrap())
    }

    /// `--amount` and `--last4` belong to the tender just before them, whatever the options.
    #[test]
    fn pay_tenders_keep_the_command_line_order() {
        use tillbook_orderbook::Tender::*;
        let t = tenders(&["--method", "pix", "--amount", "300", "--cash", "100", "--card", "4242", "--card-ref", "X", "--last4", "1234", "--amount", "5", "--card", "5555"]).unwrap();
        assert_eq!(
            t,
            [
                Method { name: "pix".into(), amount_q: Some(300) },
                Cash { tendered_q: 100 },
                Card { number: "4242".into(), amount_q: None },
                ExternalCard { last4: "1234".into(), reference: "X".into(), amount_q: Some(5) },
                Card { number: "5555".into(), amount_q: None },
            ]
        );
        assert_eq!(tenders(&["--cash", "-5"]).unwrap(), [Cash { tendered_q: -5 }], "the book says invalid_amount");
        for bad in [&["--amount", "5", "--cash", "1"][..], &["--cash", "1", "--amount", "5"], &["--card", "1", "--amount", "1", "--amount", "2"], &["--last4", "1234"], &["--card-ref", "X"], &[]] {
            assert!(tenders(bad).is_err(), "{bad:?}");
        }
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
