//! The `npugen` binary: parse arguments, run, map errors to exit codes (2 = bad input).

use clap::Parser;

fn main() {
    let cli = npugen::cli::Cli::parse();
    match cli.resolve().and_then(npugen::commands::run) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("npugen: error: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
