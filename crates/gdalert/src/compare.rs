//! `gdalert replay --compare ROUTES_A ROUTES_B EVENTS...`: which alerts a
//! routes change moves, adds or drops, over a history of events. Routing
//! only (which routes and destinations take each event, with their gates:
//! samples, archived); dedupe, grouping and the storm guard depend on state
//! and are the same code on both sides, so they are left out.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use gdalert_pipeline::alert::enrich;
use gdalert_pipeline::load::{self, Source};
use gdalert_pipeline::{Lifecycle, Pipeline};

use crate::{embedded, local};

/// `PATH` names a routes file, or a directory holding `routes.toml`; its
/// pattern files are read from the same directory, over the built-in ones.
fn load_routes(path: &Path) -> Result<(String, Pipeline)> {
    let (file, dir) = if path.is_dir() {
        (path.join("routes.toml"), path.to_path_buf())
    } else {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        (path.to_path_buf(), dir)
    };
    local::must_exist(&file)?;
    let source = Source {
        routes_file: Some(file.clone()),
        patterns_dir: Some(dir),
    };
    let loaded = load::load(&source, embedded::BUILTIN, load::dry_run_vars)
        .map_err(|e| anyhow!("{}: {e}", file.display()))?;
    Ok((file.display().to_string(), Pipeline::new(loaded.config)))
}

/// Where an event goes under one routes file: `route → destination` pairs,
/// sorted, for the routes that would send it (not dropped by a gate).
fn destinations(pipeline: &Pipeline, read: &gdalert_pipeline::Input<'_>) -> Vec<String> {
    let alert = enrich(&read.event, Lifecycle::New, &Default::default());
    let mut out: Vec<String> = pipeline
        .routes_sending(&read.node, &alert)
        .into_iter()
        .flat_map(|route| {
            route
                .destinations
                .iter()
                .map(move |d| format!("{} → {d}", route.name))
        })
        .collect();
    out.sort();
    out
}

pub fn run(a: &Path, b: &Path, events: &[PathBuf]) -> Result<ExitCode> {
    let (name_a, routes_a) = load_routes(a)?;
    let (name_b, routes_b) = load_routes(b)?;
    let (inputs, _) = local::events_or_samples(events)?;
    let inputs = local::pasted_to_events(inputs);
    let (mut same, mut moved, mut appeared, mut disappeared, mut invalid) = (0, 0, 0, 0, 0);
    crate::out!("A = {name_a}\nB = {name_b}")?;
    for input in &inputs {
        let Ok(read) = gdalert_pipeline::read(&input.text) else {
            invalid += 1;
            continue;
        };
        let (in_a, in_b) = (
            destinations(&routes_a, &read),
            destinations(&routes_b, &read),
        );
        if in_a == in_b {
            same += 1;
            continue;
        }
        let alert = enrich(&read.event, Lifecycle::New, &Default::default());
        let what = format!(
            "{} {} {}",
            alert.band.as_str(),
            alert.finding_type.as_deref().unwrap_or(&alert.title),
            alert.place()
        );
        let verb = match (in_a.is_empty(), in_b.is_empty()) {
            (true, false) => {
                appeared += 1;
                "appears   "
            }
            (false, true) => {
                disappeared += 1;
                "disappears"
            }
            _ => {
                moved += 1;
                "moves     "
            }
        };
        let shown = |d: &[String]| {
            if d.is_empty() {
                "nothing".to_string()
            } else {
                d.join(", ")
            }
        };
        crate::out!(
            "{verb} {what}  ({})\n           A: {}\n           B: {}",
            input.origin,
            shown(&in_a),
            shown(&in_b)
        )?;
    }
    crate::out!(
        "{} event(s): {same} unchanged, {moved} move, {appeared} appear, {disappeared} disappear{}",
        inputs.len(),
        if invalid > 0 {
            format!(", {invalid} unreadable")
        } else {
            String::new()
        }
    )?;
    Ok(ExitCode::SUCCESS)
}
