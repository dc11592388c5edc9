//! `gdalert`: command-line tools for gdalert's pattern files.

mod embedded;
mod patterns;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gdalert",
    version,
    about = "GuardDuty Runtime Monitoring alerts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check, test and run EventBridge event patterns.
    #[command(subcommand)]
    Patterns(patterns::PatternsCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Patterns(cmd) => patterns::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
