//! EventBridge event patterns, matched exactly as EventBridge matches them.
//!
//! gdalert's routes are written in EventBridge's pattern language, and the same
//! files become the deployed EventBridge rules. If this engine disagreed with
//! EventBridge on any case, a route would look right locally and silently
//! never fire in production. So the engine is judged against AWS's own
//! answers (`tests/conformance.rs` runs the AWS-verified corpus and the
//! event-ruler probes) and against a plain recursive evaluator
//! ([`reference`](mod@crate::reference)) on random patterns and events.
//!
//! # Shape
//!
//! - [`compile`] validates one pattern with EventBridge's checks and reasons
//!   and yields a [`Rule`]: `$or` combinations ("branches"), each a set of
//!   dotted field paths with the operands any of which must hold.
//! - [`PatternSet`] compiles many named rules into one machine: a trie of
//!   path segments (so parts of the event no pattern names are skipped
//!   unread), and per path hash tables and byte tries for exact, prefix,
//!   suffix, equals-ignore-case and wildcard operands. Matching an event
//!   costs the number of leaves it has at referenced paths plus the number of
//!   operands those leaves satisfy, not the number of patterns. Operands that
//!   cannot be indexed (numeric ranges, CIDR, anything-but, non-ASCII
//!   ignore-case) are scanned per path.
//! - [`parse_event`] reads an event into a [`ParsedEvent`]: every object and
//!   array is a directory of 16-byte entries in one shared array, and each
//!   member name is hashed while parsing. The walk reads a directory
//!   contiguously, turns unnamed members away with a bit test, and never
//!   enters a subtree no pattern names (`event.rs` says why not a tree).
//!   Patterns and the [`reference`](mod@crate::reference) evaluator use the
//!   [`json::Node`] tree.
//! - Branches that share a field and its operands share one *condition*,
//!   judged at most once per event, so 2,000 routes that all test
//!   `detail-type` pay for one test.
//! - Arrays follow EventBridge: any element may match, and fields taken from
//!   objects inside one array must come from the same element. Most
//!   branches never need that search: leaves outside arrays never conflict,
//!   so a branch with at most one slot met only inside arrays matches at
//!   once, and one with two (`tags.key` and `tags.value`) is settled by
//!   comparing their leaves pair by pair, with the satisfying leaves of each
//!   condition kept for the event. Only three or more such slots search.
//! - Exact number operands are looked up by [`value::DecimalKey`], the
//!   literal's normalised decimal, so matching a number parses no float and
//!   prints none: by the number rule below, an event number equals an exact
//!   operand by value exactly when it denotes the same decimal. Floats are
//!   parsed only at paths a `numeric` or `anything-but` number compares.
//! - [`PatternSet::matches_text`] reads into memory kept in its [`Scratch`],
//!   so a function or benchmark matching event after event allocates
//!   nothing once that memory has grown.
//!
//! # Semantics worth knowing
//!
//! - Numbers compare by float64 value when the event's literal is exactly
//!   how that float prints (`300`, `300.0`, `3.0e2` are equal), and by literal
//!   text otherwise (`0.10000000000000001` is not `0.1`). That one rule
//!   holds everywhere: a `numeric` or `anything-but` operand that is not
//!   exactly its float64 (`9007199254740993`, `1e309`) is refused with
//!   `Cannot compare number : <literal>`, and an event number that is not
//!   is in no numeric range.
//! - A plain string operand that is an IP literal compares as an address
//!   (`"10.0.0.01"` equals `"10.0.0.1"`).
//! - `exists: false` holds when the path has no leaf anywhere in the event;
//!   an object value or an empty array is not a leaf.
//! - equals-ignore-case compares each operand character with its Java upper
//!   and lower forms (so `ß` matches `SS` but not `ss`), not Unicode folding.
//!
//! # Known deviations
//!
//! Every case of both corpora in `../shared/conformance` passes. Where
//! AWS's behaviour is not public we chose, and say so here:
//! - **Wildcard complexity.** EventBridge rejects wildcards that are "too
//!   complex" by an unpublished measure. We reject more than five `*` in one
//!   operand; AWS rejects `*:*:*:*:*:event-bus/*` (six) and accepts two.
//! - **Pattern size.** We reject patterns over 4,096 characters (the API
//!   limit); your account's quota may be the default 2,048.
//! - **`exactly`** is accepted as in AWS's event-ruler library, although
//!   EventBridge does not document it.
//! - **Trailing text** after the pattern's closing brace is rejected.
//! - **Error order after a syntax error.** The reference reads a pattern
//!   as a token stream and reports the first problem it meets, so a bad
//!   operator before a missing bracket is reported for the operator. We do
//!   the same from the values completed before the syntax error
//!   (`json::parse_prefix`), except where the reference could only have
//!   seen the problem on reading further (an operator whose operand is cut
//!   off, a container's own checks when it never closes): there we report
//!   the syntax error. So in the rare text with both, we may name the
//!   syntax error where the reference names a problem just before it
//!   (`[">", 1e309` cut off), never the other way round (property test:
//!   `a_valid_pattern_cut_short_is_refused_for_its_syntax`).
//! - **CIDR ranges** compare addresses as hex digit strings, as event-ruler
//!   does, so `::/0` also matches IPv4 addresses (a probe confirms this).

pub mod conformance;
mod event;
pub mod json;
mod machine;
pub mod reference;
pub mod syntax;
pub mod value;

use std::fmt;

pub use event::{ParsedEvent, MAX_EVENT_BYTES};
pub use machine::{PatternId, PatternSet, PatternSetBuilder, Scratch};
pub use syntax::{compile, Branch, Field, Matcher, Rule};

/// A pattern EventBridge would reject, with its reason and where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Event pattern is not valid. Reason: {reason}")]
pub struct PatternError {
    /// EventBridge's reason text.
    pub reason: String,
    /// JSON pointer to the offending value (empty for the whole document).
    pub pointer: String,
    /// Byte offset in the pattern text.
    pub offset: usize,
}

impl PatternError {
    /// Formats the error with a file name, line and column for people.
    pub fn located<'a>(&'a self, file: &'a str, text: &'a str) -> Located<'a> {
        Located {
            error: self,
            file,
            text,
        }
    }
}

/// [`PatternError`] with its source location, for display.
#[derive(Debug)]
pub struct Located<'a> {
    error: &'a PatternError,
    file: &'a str,
    text: &'a str,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, column) = json::line_column(self.text, self.error.offset);
        let pointer = if self.error.pointer.is_empty() {
            "(document)"
        } else {
            &self.error.pointer
        };
        write!(
            f,
            "{}:{line}:{column}: at {pointer}: {}",
            self.file, self.error
        )
    }
}

/// An event that cannot be matched at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The bytes are not JSON.
    #[error("event is not valid JSON: {message} (line {line}, column {column})")]
    Syntax {
        message: String,
        line: usize,
        column: usize,
    },
    /// The bytes are not UTF-8.
    #[error("event is not UTF-8 text: {0}")]
    Encoding(String),
    /// Well-formed JSON, but not an EventBridge event (`TestEventPattern`
    /// requires an object with `id`, `account`, `source`, `time`, `region` and
    /// `detail-type`).
    #[error("Parameter Event is not valid. {0}")]
    NotAnEvent(String),
}

/// Parses event text into the flat layout [`PatternSet`] matches.
pub fn parse_event(text: &str) -> Result<ParsedEvent<'_>, EventError> {
    read_event(text, None)
}

/// [`parse_event`], keeping only what `prune` names when given.
pub(crate) fn read_event<'a>(
    text: &'a str,
    prune: Option<&dyn event::Prune>,
) -> Result<ParsedEvent<'a>, EventError> {
    check_size(text)?;
    let parsed = match prune {
        Some(prune) => ParsedEvent::parse_pruned(text, prune),
        None => ParsedEvent::parse(text),
    };
    parsed.map_err(|e| syntax_error(text, e))
}

/// Like [`read_event`] for a pruned read into `buffers`' memory.
pub(crate) fn read_event_with<'a>(
    text: &'a str,
    prune: &dyn event::Prune,
    buffers: &mut event::Buffers,
) -> Result<ParsedEvent<'a>, EventError> {
    check_size(text)?;
    ParsedEvent::read_with(text, Some(prune), buffers).map_err(|e| syntax_error(text, e))
}

fn check_size(text: &str) -> Result<(), EventError> {
    if text.len() > MAX_EVENT_BYTES {
        return Err(EventError::Syntax {
            message: format!("event is larger than {MAX_EVENT_BYTES} bytes"),
            line: 1,
            column: 1,
        });
    }
    Ok(())
}

fn syntax_error(text: &str, e: json::JsonError) -> EventError {
    let (line, column) = json::line_column(text, e.offset);
    EventError::Syntax {
        message: e.message,
        line,
        column,
    }
}

/// The envelope fields `TestEventPattern` requires.
pub const REQUIRED_EVENT_FIELDS: [&str; 6] =
    ["id", "account", "source", "time", "region", "detail-type"];

/// Checks what EventBridge's `TestEventPattern` checks of an event.
pub fn check_envelope(event: &ParsedEvent<'_>) -> Result<(), EventError> {
    if !event.is_object() {
        return Err(EventError::NotAnEvent(format!(
            "An event must be a JSON object, not {}.",
            event.kind_name()
        )));
    }
    let missing: Vec<&str> = REQUIRED_EVENT_FIELDS
        .iter()
        .copied()
        .filter(|k| !event.has_member(k))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(EventError::NotAnEvent(format!(
            "Missing field(s): {}.",
            missing.join(", ")
        )))
    }
}
