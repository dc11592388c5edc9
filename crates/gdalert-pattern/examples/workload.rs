//! One workload of `../shared/bench`, bytes to matches, for instruction
//! counts: run it under cachegrind twice, with 1 event and with N, and
//! divide the difference by (N - 1) × passes to get instructions per event
//! (the file read and the compile cancel out). The figures in the
//! engine's closing notes were taken this way; wall-clock time is the
//! `peers` criterion bench's.
//!
//! ```text
//! cargo build --profile bench -p gdalert-pattern --example workload
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/workload \
//!     gdalert target/bench-workloads/w2-citylots-4.jsonl target/bench-workloads/w2-events.jsonl 2000 3
//! ```
//!
//! Arguments: `gdalert|quamina PATTERNS EVENTS N PASSES`; the workload files
//! are the ones the `peers` bench generates into `target/bench-workloads`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool: a panic is the report

use gdalert_pattern::{compile, PatternSetBuilder, Scratch};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, engine, patterns, events, n, passes] = args.as_slice() else {
        panic!("usage: workload gdalert|quamina PATTERNS EVENTS N PASSES");
    };
    let lines = |path: &str| -> Vec<String> {
        std::fs::read_to_string(path)
            .expect("readable file")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(String::from)
            .collect()
    };
    let patterns = lines(patterns);
    let n: usize = n.parse().expect("N is a number");
    let passes: usize = passes.parse().expect("PASSES is a number");
    let events: Vec<String> = lines(events).into_iter().take(n).collect();
    let mut matched = 0usize;
    if engine == "gdalert" {
        let mut builder = PatternSetBuilder::new();
        for (i, p) in patterns.iter().enumerate() {
            builder.add(format!("r{i}"), compile(p).expect("valid pattern"));
        }
        let set = builder.build();
        let mut scratch = Scratch::default();
        for _ in 0..passes {
            for e in &events {
                matched += set
                    .matches_text(e, &mut scratch)
                    .expect("valid event")
                    .len();
            }
        }
    } else {
        let mut q = quamina::Quamina::new();
        for (i, p) in patterns.iter().enumerate() {
            q.add_pattern(format!("r{i}"), p).expect("quamina takes it");
        }
        for _ in 0..passes {
            for e in &events {
                matched += q
                    .matches_for_event(e.as_bytes())
                    .expect("valid event")
                    .len();
            }
        }
    }
    println!("{matched} matches");
}
