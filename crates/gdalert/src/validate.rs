//! `gdalert validate`: patterns, routes and destinations checked together.
//! Every problem is printed as `file:line:column: message`; exit 1 if any.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use gdalert_pipeline::load::LoadError;

use crate::local;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Directory with routes.toml and pattern files (default: `patterns/`).
    #[arg(long, default_value = "patterns")]
    patterns: PathBuf,
}

pub fn run(args: ValidateArgs) -> Result<ExitCode> {
    // Pattern files no route uses are still deployed as rules: check them all.
    let pattern_check = crate::patterns::validate(vec![args.patterns.clone()])?;
    match local::load_config_dry(Some(&args.patterns)) {
        Ok(loaded) => {
            let c = &loaded.config;
            for warning in &c.warnings {
                eprintln!("{warning}");
            }
            crate::out!(
                "{}: {} route(s), {} destination(s): ok",
                loaded.source,
                c.routes.len(),
                c.destinations.len()
            )?;
            Ok(pattern_check)
        }
        Err(e) => match e.downcast_ref::<LoadError>() {
            Some(LoadError::Config(config_error)) => {
                for problem in &config_error.problems {
                    eprintln!("{problem}");
                }
                eprintln!("{} problem(s) found", config_error.problems.len());
                Ok(ExitCode::from(1))
            }
            _ => Err(e),
        },
    }
}
