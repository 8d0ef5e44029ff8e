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
