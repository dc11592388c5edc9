//! Runs conformance cases: a pattern, an event and the outcome AWS gave.
//!
//! The case format is that of `shared/conformance/*.jsonl`: `name`,
//! `pattern` (an object, or a string of raw text when `pattern_raw` is true),
//! `event` (likewise with `event_raw`), `expected` (`match`, `no_match`,
//! `invalid_pattern`, `invalid_event`) and, for rejections, AWS's message in
//! `aws_error.message`. Every case is judged twice: by the compiled machine
//! and by the reference evaluator, which must agree.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{check_envelope, compile, json, parse_event, reference, PatternSetBuilder};

const AWS_PREFIX: &str = "Event pattern is not valid. Reason: ";

/// One case as stored in a `.jsonl` file.
#[derive(Debug, Deserialize)]
pub struct Case {
    pub name: String,
    pub pattern: Box<RawValue>,
    #[serde(default)]
    pub pattern_raw: bool,
    pub event: Box<RawValue>,
    #[serde(default)]
    pub event_raw: bool,
    pub expected: String,
    #[serde(default)]
    pub aws_error: Option<AwsError>,
}

/// AWS's rejection as recorded.
#[derive(Debug, Deserialize)]
pub struct AwsError {
    #[serde(default)]
    pub message: Option<String>,
}

/// What the engine made of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Match,
    NoMatch,
    InvalidPattern(String),
    InvalidEvent(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Match => "match",
            Outcome::NoMatch => "no_match",
            Outcome::InvalidPattern(_) => "invalid_pattern",
            Outcome::InvalidEvent(_) => "invalid_event",
        }
    }
}

/// The verdict on one case.
#[derive(Debug)]
pub enum Verdict {
    Pass,
    Fail(String),
    /// The case cannot be judged (an unknown `expected` value).
    Skip(String),
}

fn text_of(raw: &RawValue, is_raw: bool) -> Result<String, String> {
    if is_raw {
        serde_json::from_str::<String>(raw.get())
            .map_err(|e| format!("raw field is not a JSON string: {e}"))
    } else {
        Ok(raw.get().to_string())
    }
}

/// Runs the engine on a pattern and an event, as `TestEventPattern` would.
pub fn evaluate(pattern: &str, event: &str) -> Result<(Outcome, Option<bool>), String> {
    let rule = match compile(pattern) {
        Ok(rule) => rule,
        Err(e) => return Ok((Outcome::InvalidPattern(e.reason), None)),
    };
    let node = match parse_event(event) {
        Ok(node) => node,
        Err(e) => return Ok((Outcome::InvalidEvent(e.to_string()), None)),
    };
    if let Err(e) = check_envelope(&node) {
        return Ok((Outcome::InvalidEvent(e.to_string()), None));
    }
    // The event parsed already, so the tree parse cannot fail; if it did, the
    // reference simply has no answer.
    let reference = json::parse(event)
        .ok()
        .and_then(|tree| reference::matches(&rule, &tree));
    let mut builder = PatternSetBuilder::new();
    builder.add("case", rule);
    let set = builder.build();
    let matched = !set.matches(&node).is_empty();
    // The reader that skips what the set does not name must agree.
    let pruned = set
        .matches_text(event, &mut crate::Scratch::default())
        .map(|m| !m.is_empty());
    if pruned.as_ref().ok() != Some(&matched) {
        return Ok((
            Outcome::InvalidEvent(format!(
                "the pruned reader disagrees with the full one: {pruned:?}"
            )),
            reference,
        ));
    }
    Ok((
        if matched {
            Outcome::Match
        } else {
            Outcome::NoMatch
        },
        reference,
    ))
}

/// Judges one case.
pub fn judge(case: &Case) -> Verdict {
    let (pattern, event) = match (
        text_of(&case.pattern, case.pattern_raw),
        text_of(&case.event, case.event_raw),
    ) {
        (Ok(p), Ok(e)) => (p, e),
        (Err(e), _) | (_, Err(e)) => return Verdict::Fail(e),
    };
    let (outcome, reference) = match evaluate(&pattern, &event) {
        Ok(r) => r,
        Err(e) => return Verdict::Fail(e),
    };
    if !matches!(
        case.expected.as_str(),
        "match" | "no_match" | "invalid_pattern" | "invalid_event"
    ) {
        return Verdict::Skip(format!("unknown expected outcome {:?}", case.expected));
    }
    if outcome.label() != case.expected {
        let detail = match &outcome {
            Outcome::InvalidPattern(r) | Outcome::InvalidEvent(r) => format!(" ({r})"),
            _ => String::new(),
        };
        return Verdict::Fail(format!(
            "expected {}, got {}{detail}",
            case.expected,
            outcome.label()
        ));
    }
    if let (Some(r), Outcome::Match | Outcome::NoMatch) = (reference, &outcome) {
        if r != (outcome == Outcome::Match) {
            return Verdict::Fail(format!(
                "compiled machine says {}, reference evaluator disagrees",
                outcome.label()
            ));
        }
    }
    if let (Outcome::InvalidPattern(reason), Some(message)) = (
        &outcome,
        case.aws_error.as_ref().and_then(|e| e.message.as_deref()),
    ) {
        let want = message.strip_prefix(AWS_PREFIX).unwrap_or(message);
        if want != reason {
            return Verdict::Fail(format!("rejected with {reason:?}, AWS says {want:?}"));
        }
    }
    Verdict::Pass
}

/// Tally of a run.
#[derive(Debug, Default)]
pub struct Report {
    pub passed: usize,
    pub failed: Vec<(String, String)>,
    pub skipped: Vec<(String, String)>,
}

impl Report {
    /// The closing line: `N passed, M failed` (`, K skipped` when any were).
    pub fn summary(&self) -> String {
        let mut s = format!("{} passed, {} failed", self.passed, self.failed.len());
        if !self.skipped.is_empty() {
            s.push_str(&format!(", {} skipped", self.skipped.len()));
        }
        s
    }
}

/// Runs every case of a JSON Lines document.
pub fn run(jsonl: &str, source: &str, report: &mut Report) {
    for (i, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: Case = match serde_json::from_str(line) {
            Ok(c) => c,
            Err(e) => {
                report.failed.push((
                    format!("{source}:{}", i + 1),
                    format!("not a conformance case: {e}"),
                ));
                continue;
            }
        };
        match judge(&case) {
            Verdict::Pass => report.passed += 1,
            Verdict::Fail(why) => report.failed.push((case.name, why)),
            Verdict::Skip(why) => report.skipped.push((case.name, why)),
        }
    }
}
