//! `tillbook`: the till's operations from the command line.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let out = tillbook_cli::execute(std::env::args_os().skip(1));
    let _ = std::io::stdout().lock().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().lock().write_all(out.stderr.as_bytes());
    ExitCode::from(out.status)
}
