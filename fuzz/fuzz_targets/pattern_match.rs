//! A pattern and an event (the input split at its first newline): the
//! compiled machine must agree with the plain recursive reference
//! evaluator on every pattern that compiles and event that parses.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((pattern, event)) = text.split_once('\n') else {
        return;
    };
    // The reference evaluator expands every array into its variants, which
    // grows exponentially with arrays of objects: keep events small.
    if event.len() > 4096 {
        return;
    }
    let Ok(rule) = gdalert_pattern::compile(pattern) else {
        return;
    };
    let (Ok(flat), Ok(tree)) = (
        gdalert_pattern::parse_event(event),
        gdalert_pattern::json::parse(event),
    ) else {
        return;
    };
    let Some(expected) = gdalert_pattern::reference::matches(&rule, &tree) else {
        return;
    };
    let mut builder = gdalert_pattern::PatternSetBuilder::new();
    builder.add("p", rule);
    let got = !builder.build().matches(&flat).is_empty();
    assert_eq!(got, expected, "pattern {pattern} event {event}");
});
