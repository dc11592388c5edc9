//! gdalert-pattern beside the `quamina` crate on the workloads of
//! `../shared/bench` (generated with the scripts there into the target
//! directory on first use): the same JSON bytes to matched names, both
//! engines in one run, plus the time to compile each pattern set.
//!
//! `cargo bench -p gdalert-pattern --bench peers`
//!
//! - W1: 10,000 GuardDuty-runtime-shaped findings against 200 and 2,000
//!   route-like patterns that both engines support.
//! - W2: CityLots features (large number arrays) against quamina's four
//!   CityLots patterns; the first 20,000 of the 213,068 lines (the 386
//!   features repeat), so a pass stays short.
//!
//! Before timing, both engines must agree on every event's matches.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: a panic is the failure report

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gdalert_pattern::{compile, parse_event, PatternSet, PatternSetBuilder, Scratch};

fn shared() -> PathBuf {
    std::env::var_os("GDALERT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

/// The workload files, generated once into the target directory.
fn workloads() -> PathBuf {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-workloads");
    let bench = shared().join("bench");
    if !out.join("w1-events.jsonl").exists() {
        std::fs::create_dir_all(&out).expect("target directory is writable");
        let ok = Command::new("python3")
            .arg(bench.join("gen_w1.py"))
            .arg(&out)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "gen_w1.py failed (is ../shared/bench there?)");
    }
    if !out.join("w2-events.jsonl").exists() {
        let ok = Command::new("python3")
            .arg(bench.join("gen_w2.py"))
            .arg(bench.join("citylots-386.json"))
            .arg(&out)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "gen_w2.py failed");
    }
    out
}

fn lines(path: &Path, limit: usize) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(limit)
        .map(str::to_string)
        .collect()
}

fn gdalert_set(patterns: &[String]) -> PatternSet {
    let mut builder = PatternSetBuilder::new();
    for (i, p) in patterns.iter().enumerate() {
        builder.add(format!("r{i}"), compile(p).expect("valid pattern"));
    }
    builder.build()
}

fn quamina_set(patterns: &[String]) -> quamina::Quamina<String> {
    let mut q = quamina::Quamina::new();
    for (i, p) in patterns.iter().enumerate() {
        q.add_pattern(format!("r{i}"), p)
            .expect("quamina takes the pattern");
    }
    q
}

/// Bytes to names, as the quamina crate is asked: `matches_text` reads
/// only what the set's patterns name.
fn gdalert_pass(set: &PatternSet, events: &[String], scratch: &mut Scratch) -> usize {
    let mut n = 0;
    for e in events {
        n += set
            .matches_text(black_box(e), scratch)
            .expect("valid event")
            .len();
    }
    n
}

/// Bytes to names through the whole-event reader (what the pipeline does,
/// where routes and silences read one parse).
fn gdalert_full_pass(set: &PatternSet, events: &[String], scratch: &mut Scratch) -> usize {
    let mut n = 0;
    for e in events {
        let node = parse_event(black_box(e)).expect("valid event");
        n += set.matches_with(&node, scratch).len();
    }
    n
}

fn quamina_pass(q: &quamina::Quamina<String>, events: &[String]) -> usize {
    events
        .iter()
        .map(|e| {
            q.matches_for_event(black_box(e.as_bytes()))
                .map_or(0, |m| m.len())
        })
        .sum()
}

/// Both engines (and both of gdalert's readers) name the same patterns
/// for every event.
fn agree(set: &PatternSet, q: &quamina::Quamina<String>, events: &[String]) {
    let mut scratch = Scratch::default();
    for e in events {
        let pruned: Vec<usize> = set.matches_text(e, &mut scratch).expect("valid").to_vec();
        let node = parse_event(e).expect("valid event");
        let full = set.matches_with(&node, &mut scratch);
        assert_eq!(
            pruned,
            full,
            "the readers disagree on {}",
            &e[..e.len().min(200)]
        );
        let mut ours: Vec<String> = full.iter().map(|&id| set.name(id).to_string()).collect();
        let mut theirs = q.matches_for_event(e.as_bytes()).expect("quamina reads it");
        ours.sort();
        theirs.sort();
        assert_eq!(
            ours,
            theirs,
            "the engines disagree on {}",
            &e[..e.len().min(200)]
        );
    }
}

fn workload(c: &mut Criterion, name: &str, patterns: &[String], events: &[String]) {
    let set = gdalert_set(patterns);
    let q = quamina_set(patterns);
    agree(&set, &q, events);
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.throughput(Throughput::Elements(events.len() as u64));
    let mut scratch = Scratch::default();
    group.bench_function("gdalert", |b| {
        b.iter(|| gdalert_pass(&set, events, &mut scratch))
    });
    group.bench_function("gdalert_full_parse", |b| {
        b.iter(|| gdalert_full_pass(&set, events, &mut scratch))
    });
    group.bench_function("quamina", |b| b.iter(|| quamina_pass(&q, events)));
    group.finish();

    let mut group = c.benchmark_group(format!("{name}_compile"));
    group.sample_size(10);
    group.bench_function("gdalert", |b| b.iter(|| gdalert_set(black_box(patterns))));
    group.bench_function("quamina", |b| b.iter(|| quamina_set(black_box(patterns))));
    group.finish();
}

fn peers(c: &mut Criterion) {
    let dir = workloads();
    let w1 = lines(&dir.join("w1-events.jsonl"), usize::MAX);
    workload(
        c,
        "w1_x200",
        &lines(&dir.join("w1-common-200.jsonl"), usize::MAX),
        &w1,
    );
    workload(
        c,
        "w1_x2000",
        &lines(&dir.join("w1-common-2000.jsonl"), usize::MAX),
        &w1,
    );
    let w2 = lines(&dir.join("w2-events.jsonl"), 20_000);
    workload(
        c,
        "w2_citylots",
        &lines(&dir.join("w2-citylots-4.jsonl"), usize::MAX),
        &w2,
    );
}

criterion_group!(benches, peers);
criterion_main!(benches);
