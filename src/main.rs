//! The `snncc` command line: parse arguments, call the library, print.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = <cli::Cli as clap::Parser>::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole context chain on one line per cause.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
