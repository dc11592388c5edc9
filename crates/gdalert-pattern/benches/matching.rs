//! Matching throughput (issue budgets in brackets):
//! - `preparsed/200`: 200 route-like patterns over 10,000 parsed findings
//!   [>= 1,000,000 events/s on one core];
//! - `preparsed/2000`: the same with 2,000 patterns [<= 2x the time of 200];
//! - `bytes_to_names` vs `serde_json_value`: ~7 KB finding text to matched
//!   names, against serde_json alone parsing it to a `Value` [<= 1.5x].
//!
//! `preparsed` walks 10,000 parsed findings (about 70 MB) that no longer sit
//! in any cache, so it measures memory latency as much as the engine. Two
//! more groups separate the two: `preparsed_cache_resident` matches 100
//! findings that stay in cache, and `freshly_parsed` parses each of the
//! 10,000 and matches it at once, as a function does with its one event;
//! the matching cost there is `parse_then_match` minus `parse`.
//!
//! Run: `cargo bench -p gdalert-pattern --bench matching`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gdalert_pattern::{compile, parse_event, ParsedEvent, PatternSet, PatternSetBuilder, Scratch};
use serde_json::{json, Value};

const TYPES: &[&str] = &[
    "Backdoor:Runtime/C&CActivity.B",
    "Execution:Runtime/ReverseShell",
    "Impact:Runtime/CryptoMinerExecuted",
    "PrivilegeEscalation:Runtime/DockerSocketAccessed",
    "Execution:Runtime/NewBinaryExecuted",
    "DefenseEvasion:Runtime/ProcessInjection.Proc",
    "Discovery:Runtime/SuspiciousCommand",
    "Recon:EC2/PortProbeUnprotectedPort",
];

fn account(i: usize) -> String {
    format!("{:012}", 100_000_000_000 + i * 7919)
}

/// Patterns of the shapes security teams route on.
fn route_patterns(n: usize) -> PatternSet {
    let mut builder = PatternSetBuilder::new();
    for i in 0..n {
        let p = match i % 6 {
            0 => json!({"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"],
                        "detail": {"type": [TYPES[i % TYPES.len()]], "accountId": [account(i)]}}),
            1 => json!({"detail-type": ["GuardDuty Finding"],
                        "detail": {"accountId": [account(i)], "severity": [{"numeric": [">=", (i % 9) as f64]}]}}),
            2 => {
                json!({"detail": {"resource": {"ecsClusterDetails": {"name": [{"prefix": format!("team-{i}-")}]}}}})
            }
            3 => {
                json!({"detail": {"type": [{"wildcard": format!("*:Runtime/{}*", ["C", "E", "I", "P"][i % 4])}],
                        "region": [format!("region-{}", i % 17)]}})
            }
            4 => json!({"detail-type": ["GuardDuty Runtime Protection Unhealthy"],
                        "detail": {"resourceDetails": {"ecsClusterDetails": {"clusterName": [format!("team-{i}-cluster")]}}}}),
            _ => json!({"detail": {"$or": [
                            {"service": {"resourceRole": ["TARGET"]}, "accountId": [account(i)]},
                            {"resource": {"eksClusterDetails": {"name": [format!("eks-{i}")]}}}]}}),
        };
        let rule = compile(&p.to_string()).expect("benchmark pattern is valid");
        builder.add(format!("route-{i}"), rule);
    }
    builder.build()
}

/// A runtime finding shaped like GuardDuty's, padded to about `target` bytes
/// with the arrays real findings carry (tags, lineage, interfaces).
fn finding(i: usize, target: usize) -> String {
    let mut event = json!({
        "version": "0", "id": format!("evt-{i}"), "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
        "account": account(i % 400), "time": "2026-11-20T10:15:00Z", "region": format!("region-{}", i % 17), "resources": [],
        "detail": {
            "schemaVersion": "2.0", "accountId": account(i % 400), "region": format!("region-{}", i % 17), "partition": "aws",
            "id": format!("{i:032x}"), "type": TYPES[i % TYPES.len()], "severity": (i % 10) as f64 + 0.5,
            "arn": format!("arn:aws:guardduty:eu-west-1:{}:detector/d/finding/{i:032x}", account(i % 400)),
            "resource": {
                "resourceType": "ECSCluster",
                "ecsClusterDetails": {
                    "name": format!("team-{}-payments", i % 300),
                    "arn": format!("arn:aws:ecs:eu-west-1:{}:cluster/team-{}-payments", account(i % 400), i % 300),
                    "taskDetails": {"arn": format!("arn:aws:ecs:eu-west-1:1:task/t/{i:032x}"), "group": "service:checkout",
                        "launchType": "FARGATE",
                        "containers": [{"name": "checkout", "image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/checkout:1.8.3"}]}
                },
                "containerDetails": {"name": "checkout", "image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/checkout:1.8.3"}
            },
            "service": {
                "serviceName": "guardduty", "featureName": "RuntimeMonitoring", "archived": false, "count": 1 + i % 5,
                "resourceRole": if i % 2 == 0 { "TARGET" } else { "ACTOR" },
                "runtimeDetails": {"process": {"name": "kworkerd", "executablePath": "/tmp/.x/kworkerd", "pid": 4242,
                    "lineage": [{"name": "bash", "executablePath": "/bin/bash", "pid": 4200}]}, "context": {}},
                "eventFirstSeen": "2026-11-20T10:01:12.000Z", "eventLastSeen": "2026-11-20T10:09:40.000Z"
            },
            "createdAt": "2026-11-20T10:10:03.512Z", "updatedAt": "2026-11-20T10:10:03.512Z",
            "title": "Container communicating with a command and control server.",
            "description": "A process in a Fargate task queried an IP address associated with a known command and control server."
        }
    });
    let mut k = 0;
    while event.to_string().len() < target {
        let detail = &mut event["detail"];
        let tags = detail["resource"]["ecsClusterDetails"]["tags"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut tags = tags;
        tags.push(
            json!({"key": format!("cost-centre-{k}"), "value": format!("cc-{:08}", k * 7 + i)}),
        );
        detail["resource"]["ecsClusterDetails"]["tags"] = Value::Array(tags);
        if let Some(lineage) =
            detail["service"]["runtimeDetails"]["process"]["lineage"].as_array_mut()
        {
            lineage.push(
                json!({"name": "sh", "executablePath": "/bin/sh", "pid": 4100 - k, "user": "root"}),
            );
        }
        k += 1;
    }
    event.to_string()
}

/// Matches every event, returning how many matches there were in all.
fn match_all<'e>(
    set: &PatternSet,
    events: impl IntoIterator<Item = &'e ParsedEvent<'e>>,
    scratch: &mut Scratch,
) -> usize {
    events
        .into_iter()
        .map(|e| set.matches_with(black_box(e), scratch).len())
        .sum()
}

fn preparsed(c: &mut Criterion) {
    let texts: Vec<String> = (0..10_000).map(|i| finding(i, 3000)).collect();
    let events: Vec<_> = texts
        .iter()
        .map(|t| parse_event(t).expect("valid"))
        .collect();
    let mut group = c.benchmark_group("preparsed");
    group.throughput(Throughput::Elements(events.len() as u64));
    for n in [200, 2000] {
        let set = route_patterns(n);
        let mut scratch = Scratch::default();
        let matched = match_all(&set, &events, &mut scratch);
        assert!(matched > 0, "benchmark patterns must match something");
        group.bench_function(n.to_string(), |b| {
            b.iter(|| match_all(&set, &events, &mut scratch))
        });
    }
    group.finish();

    // As in production: each event matched right after it is parsed.
    let set = route_patterns(200);
    let mut scratch = Scratch::default();
    let mut group = c.benchmark_group("freshly_parsed");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            let mut total = 0;
            for t in &texts {
                total += parse_event(black_box(t)).expect("valid").text().len();
            }
            total
        })
    });
    group.bench_function("parse_then_match", |b| {
        b.iter(|| {
            let mut total = 0;
            for t in &texts {
                let e = parse_event(black_box(t)).expect("valid");
                total += set.matches_with(&e, &mut scratch).len();
            }
            total
        })
    });
    group.finish();

    // The same work on 100 events that stay in cache: separates the engine's
    // own cost from fetching 10,000 parsed events from memory.
    let hot = &events[..100];
    let mut group = c.benchmark_group("preparsed_cache_resident");
    group.throughput(Throughput::Elements(hot.len() as u64));
    group.bench_function("200", |b| b.iter(|| match_all(&set, hot, &mut scratch)));
    group.finish();
}

fn from_bytes(c: &mut Criterion) {
    let text = finding(7, 7000);
    let set = route_patterns(200);
    let mut group = c.benchmark_group("seven_kb_finding");
    group.throughput(Throughput::Bytes(text.len() as u64));
    let mut scratch = Default::default();
    group.bench_function("bytes_to_names", |b| {
        b.iter(|| {
            let node = parse_event(black_box(&text)).expect("valid");
            set.matches_with(&node, &mut scratch).len()
        })
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_str::<Value>(black_box(&text)).expect("valid"))
    });
    group.finish();
}

/// A pattern naming two fields of one array's objects, on events where each
/// field matches in half the elements and never both in one: the worst case
/// for the same-element rule (it was quadratic: 20,000 elements took 5 s).
fn array_objects(c: &mut Criterion) {
    let mut builder = PatternSetBuilder::new();
    builder.add(
        "pair",
        compile(r#"{"detail": {"items": {"a": ["x"], "b": ["y"]}}}"#).expect("valid"),
    );
    let set = builder.build();
    let mut group = c.benchmark_group("array_objects_no_pair");
    for n in [10_000usize, 100_000] {
        let items: Vec<Value> = (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    json!({"a": "x"})
                } else {
                    json!({"b": "y"})
                }
            })
            .collect();
        let text = json!({"detail": {"items": items}}).to_string();
        let node = parse_event(&text).expect("valid");
        assert!(set.matches(&node).is_empty());
        let mut scratch = Default::default();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(n.to_string(), |b| {
            b.iter(|| set.matches_with(black_box(&node), &mut scratch).len())
        });
    }
    group.finish();
}

criterion_group!(benches, preparsed, from_bytes, array_objects);
criterion_main!(benches);
