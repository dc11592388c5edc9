//! `gdalert`: run the alert pipeline locally, and the tools security teams
//! use on their pattern and route files.

mod compare;
mod coverage;
mod delivery;
mod infra;
mod local;
mod patterns;
mod preview;
mod redrive;
mod render;
mod replay;
mod route_tests;
mod samples;
mod silence;
mod state;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gdalert_shipped as embedded;

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
    /// Run the alert pipeline on events, locally (the main job).
    Replay(replay::ReplayArgs),
    /// Print the exact payload a destination would get for an event.
    Render(render::RenderArgs),
    /// Write an HTML page showing each destination's message as people see it.
    Preview(preview::PreviewArgs),
    /// Write sample events for every runtime finding type.
    Samples(samples::SamplesArgs),
    /// Run route fixtures (event → expected routes, destinations, decisions).
    Test(route_tests::TestArgs),
    /// Check patterns, routes and destinations together.
    Validate(validate::ValidateArgs),
    /// Check, test and run EventBridge event patterns.
    #[command(subcommand)]
    Patterns(patterns::PatternsCommand),
    /// Replay the dead-letter queue through the deployed pipeline.
    Redrive(redrive::RedriveArgs),
    /// The functions' DynamoDB state table.
    #[command(subcommand)]
    State(state::StateCommand),
    /// Mute alerts for a while, with an owner and a reason (never in GuardDuty).
    #[command(subcommand)]
    Silence(silence::SilenceCommand),
    /// GuardDuty's runtime coverage: what is not monitored now.
    #[command(subcommand)]
    Coverage(coverage::CoverageCommand),
    /// Keep infra/ in step with patterns/ (the deployed EventBridge rules).
    #[command(subcommand)]
    Infra(infra::InfraCommand),
}

/// `println!` that returns the write's error instead of panicking, so a
/// reader that goes away (`gdalert render ... | head`) ends the command
/// quietly (see `main`).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// Whether `e` is a write to a closed pipe (the reader stopped reading).
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One thread is enough: the pipeline's I/O waits on the network, not the CPU.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Replay(args) => runtime.block_on(replay::run(args)),
        Command::Render(args) => render::run(args),
        Command::Preview(args) => preview::run(args),
        Command::Samples(args) => samples::run(args),
        Command::Test(args) => runtime.block_on(route_tests::run(args)),
        Command::Validate(args) => validate::run(args),
        Command::Patterns(cmd) => runtime.block_on(patterns::run(cmd)),
        Command::Infra(cmd) => infra::run(cmd),
        Command::Redrive(args) => runtime.block_on(redrive::run(args)),
        Command::State(cmd) => runtime.block_on(state::run(cmd)),
        Command::Silence(cmd) => runtime.block_on(silence::run(cmd)),
        Command::Coverage(cmd) => runtime.block_on(coverage::run(cmd)),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`| head`): what it wanted was printed.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
