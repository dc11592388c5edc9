//! Any bytes through the one event reader the functions and CLI share.
//! Invariants: no panic; the two readers never disagree about JSON (what
//! the matcher's EventBridge grammar accepts, the typed model reads or
//! refuses only as "not a GuardDuty event").
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let grammar_ok = gdalert_pattern::parse_event(text).is_ok();
    match gdalert_pipeline::read(text) {
        Ok(input) => {
            assert!(grammar_ok);
            // The typed view can always be shown.
            let _ = input.event.finding().map(|f| f.id.len());
        }
        Err(gdalert_pipeline::InputError::Syntax(e)) => {
            assert!(!grammar_ok, "the readers disagree: {e}");
        }
        Err(gdalert_pipeline::InputError::Event(_)) => assert!(grammar_ok),
    }
});
