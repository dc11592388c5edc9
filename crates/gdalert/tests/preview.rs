//! `gdalert preview` in a real browser (headless Chromium): the page loads
//! with no console errors, every destination's message is drawn, and a
//! finding full of markup and script executes nothing. A screenshot is kept
//! under the target directory as an artifact.
//!
//! Chromium comes from Debian's `chromium` package (`.ci/run` installs it and
//! sets GDALERT_REQUIRE_BROWSER=1, so CI cannot skip this); elsewhere
//! without it, the browser part says so and stops.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const ROUTES: &str = include_str!("../../../tests/fixtures/routes/all-destinations.toml");

/// Markup and script an attacker can put in a finding's fields.
const HOSTILE: &str = r#"</script><script>document.body.setAttribute('data-pwned','script')</script><img src=x onerror="document.body.setAttribute('data-pwned','img')"><svg onload="document.body.setAttribute('data-pwned','svg')"></svg>[click](javascript:document.body.setAttribute('data-pwned','link')) <!-- "#;

fn hostile_event() -> Value {
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/events/runtime-fargate-c2-high.json"))
            .unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    event["id"] = json!("hostile-1");
    event["detail"]["id"] = json!("hostile-1");
    event["detail"]["title"] = json!(format!("Title {HOSTILE}"));
    event["detail"]["description"] = json!(format!("Description\n{HOSTILE}"));
    let process = &mut event["detail"]["service"]["runtimeDetails"]["process"];
    process["name"] = json!(HOSTILE);
    process["executablePath"] = json!(format!("/tmp/{HOSTILE}"));
    event
}

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var("GDALERT_CHROMIUM").ok(),
        Some("/usr/bin/chromium".into()),
        Some("/usr/bin/chromium-browser".into()),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn headless(browser: &Path, profile: &Path) -> Command {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--virtual-time-budget=5000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

#[test]
fn the_preview_page_draws_every_message_and_runs_no_event_text() {
    let dir = tempfile::tempdir().unwrap();
    let patterns = dir.path().join("patterns");
    std::fs::create_dir_all(&patterns).unwrap();
    std::fs::write(patterns.join("routes.toml"), ROUTES).unwrap();
    let events = dir.path().join("events");
    std::fs::create_dir_all(&events).unwrap();
    for name in [
        "runtime-fargate-c2-high.json",
        "attack-sequence-ecs-compromised-cluster.json",
        "runtime-protection-unhealthy-ecs-fargate.real.json",
    ] {
        std::fs::copy(
            root().join("tests/fixtures/events").join(name),
            events.join(name),
        )
        .unwrap();
    }
    std::fs::write(events.join("zz-hostile.json"), hostile_event().to_string()).unwrap();
    let out = dir.path().join("preview");
    let o = Command::new(env!("CARGO_BIN_EXE_gdalert"))
        .arg("preview")
        .arg("--patterns")
        .arg(&patterns)
        .arg("--out")
        .arg(&out)
        .arg(&events)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    // The page's own three script elements, and no other.
    assert_eq!(
        page.matches("<script").count(),
        3,
        "event text became markup"
    );
    assert!(!page.contains("<img src=x"), "event text became markup");

    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("GDALERT_REQUIRE_BROWSER").is_none(),
            "GDALERT_REQUIRE_BROWSER is set but no Chromium was found"
        );
        eprintln!("no Chromium here: the page was checked as text only");
        return;
    };
    let url = format!("file://{}", out.join("index.html").display());
    let dom = headless(&browser, &dir.path().join("profile-1"))
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let html = String::from_utf8_lossy(&dom.stdout);
    let console = String::from_utf8_lossy(&dom.stderr);
    let errors: Vec<&str> = console
        .lines()
        .filter(|l| {
            l.contains("Uncaught")
                || l.contains("Refused to")
                || (l.contains(":CONSOLE") && (l.contains("ERROR") || l.contains("rror:")))
        })
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    assert!(
        html.contains(r#"data-drawn="4""#),
        "the page script did not run: {console}"
    );
    // Every event × every destination: 4 × 10 messages drawn.
    for kind in [
        "slack",
        "teams",
        "google_chat",
        "email",
        "pagerduty",
        "sns",
        "webhook",
        "eventbridge",
        "stdout",
        "jira",
    ] {
        assert_eq!(
            html.matches(&format!(r#"data-kind="{kind}""#)).count(),
            4,
            "{kind} messages"
        );
    }
    // The Teams card was drawn by the Adaptive Cards renderer.
    assert!(html.contains("ac-adaptiveCard"), "no Adaptive Card drawn");
    // The Google Chat card was drawn as a card, not as JSON.
    assert!(
        html.matches(r#"class="gc-title""#).count() == 4,
        "Google Chat cards drawn"
    );
    // The Jira issue was drawn from its document, not as JSON.
    assert!(
        html.matches(r#"class="jira-summary""#).count() == 4,
        "Jira issues drawn"
    );
    assert!(
        html.contains("Backdoor:Runtime/C&amp;CActivity.B"),
        "titles drawn"
    );
    // The text itself is shown (it names the attribute); the attribute is never set.
    assert!(
        html.contains("setAttribute('data-pwned'"),
        "the hostile text is shown"
    );
    assert!(!html.contains("data-pwned=\""), "event text executed");

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("preview.png");
    let o = headless(&browser, &dir.path().join("profile-2"))
        .arg("--window-size=1400,2400")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "empty screenshot"
    );
    eprintln!("screenshot: {}", shot.display());
}
