//! Any text as an EventBridge pattern. Invariants: no panic; a pattern that
//! compiles also builds into a pattern set and matches an event.
#![no_main]

use libfuzzer_sys::fuzz_target;

const EVENT: &str = r#"{"id":"1","account":"1","source":"aws.guardduty","time":"2026-01-01T00:00:00Z","region":"us-east-1","detail-type":"GuardDuty Finding","resources":[],"detail":{"severity":8,"type":"Backdoor:Runtime/C&CActivity.B","resource":{"resourceType":"ECSCluster"},"service":{"count":2,"runtimeDetails":{"process":{"name":"x","lineage":[{"name":"sh"},{"name":"bash"}]}}}}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rule) = gdalert_pattern::compile(text) {
        let mut builder = gdalert_pattern::PatternSetBuilder::new();
        builder.add("p", rule);
        let set = builder.build();
        let event = gdalert_pattern::parse_event(EVENT).unwrap_or_else(|_| unreachable!());
        let _ = set.matches(&event);
    }
});
