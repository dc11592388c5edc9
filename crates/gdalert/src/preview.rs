//! `gdalert preview [EVENTS...] [--out DIR]`: one static HTML page showing,
//! for each event and each destination on its routes, the message as the
//! person will see it: Slack's blocks drawn like Slack, the Teams card drawn
//! by the Adaptive Cards renderer (vendored, so the page loads nothing from
//! the network), the email's HTML and text parts, the PagerDuty incident,
//! the SNS subject and message.
//!
//! The page is a target too (it shows attacker text), so event data never
//! becomes markup: the payloads sit in a JSON data block with `<`, `>` and
//! `&` written as `\u003c`..., the page's own script places every value with
//! `textContent`, the email's HTML goes into an iframe sandboxed without
//! scripts, and a Content-Security-Policy runs only the two scripts the page
//! was generated with (by hash): nothing written by an event can execute.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use base64::Engine as _;
use clap::Args;
use gdalert_pipeline::{render, Pipeline};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::local;

const ADAPTIVE_CARDS: &str = include_str!("../assets/adaptivecards/adaptivecards.min.js");
const SCRIPT: &str = include_str!("../assets/preview.js");
const STYLE: &str = include_str!("../assets/preview.css");

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// Event files, directories or JSON Lines (default: the shipped sample events).
    events: Vec<PathBuf>,
    /// Where to write index.html.
    #[arg(long, default_value = ".gdalert/preview")]
    out: PathBuf,
    /// Directory with routes.toml (default: `patterns/` or the built-in one).
    #[arg(long)]
    patterns: Option<PathBuf>,
}

pub fn run(args: PreviewArgs) -> Result<ExitCode> {
    let loaded = local::load_config_dry(args.patterns.as_deref())?;
    let source = loaded.source.to_string();
    let pipeline = Pipeline::new(loaded.config);
    let (inputs, _) = local::events_or_samples(&args.events)?;
    let events: Vec<Value> = local::pasted_to_events(inputs)
        .iter()
        .map(|i| event_view(&pipeline, &i.origin, &i.text))
        .collect();
    let page = page(&json!({"source": source, "events": events}));
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let path = args.out.join("index.html");
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "wrote {} ({} event(s)); open it in a browser",
        path.display(),
        events.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// One event: its title, and per route the payload of each destination.
fn event_view(pipeline: &Pipeline, origin: &str, text: &str) -> Value {
    let input = match gdalert_pipeline::read(text) {
        Ok(input) => input,
        Err(e) => {
            return json!({"origin": origin, "title": "not an event", "routes": [], "error": e.to_string()})
        }
    };
    let alert = pipeline.first_alert(&input.event);
    let routes: Vec<Value> = pipeline
        .routes_for(&input.node)
        .into_iter()
        .map(|route| {
            let deliveries: Vec<Value> = route
                .destinations
                .iter()
                .map(|name| match pipeline.config.destinations.get(name) {
                    Some(destination) => match render(&alert, destination) {
                        Ok(payload) => json!({
                            "destination": name,
                            "kind": destination.kind().as_str(),
                            "payload": payload,
                        }),
                        Err(e) => json!({"destination": name, "kind": destination.kind().as_str(), "note": e.to_string()}),
                    },
                    None => json!({"destination": name, "kind": "unknown", "note": "not configured"}),
                })
                .collect();
            json!({"route": route.name, "deliveries": deliveries})
        })
        .collect();
    json!({"origin": origin, "title": alert.title, "routes": routes, "error": null})
}

/// JSON that can sit inside `<script type="application/json">`: no `<`,
/// `>` or `&` (so no `</script>` or comment), no U+2028/U+2029.
fn inert_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn hash(script: &str) -> String {
    let digest = Sha256::digest(script.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn page(data: &Value) -> String {
    let csp = format!(
        "default-src 'none'; script-src {} {}; style-src 'unsafe-inline'; img-src data:; frame-src 'none'; base-uri 'none'; form-action 'none'",
        hash(ADAPTIVE_CARDS),
        hash(SCRIPT)
    );
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="no-referrer">
<title>gdalert preview</title>
<style>{STYLE}</style>
</head>
<body>
<header class="page"><h1>gdalert preview</h1><p id="source"></p></header>
<main id="events"></main>
<script type="application/json" id="gdalert-data">{data}</script>
<script>{ADAPTIVE_CARDS}</script>
<script>{SCRIPT}</script>
</body>
</html>
"#,
        data = inert_json(data)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_text_cannot_close_the_data_block() {
        let hostile = json!({"t": "</script><script>alert(1)</script><!-- \u{2028}"});
        let text = inert_json(&hostile);
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).ok(), Some(hostile));
    }
}
