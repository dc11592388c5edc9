//! The compiled machine agrees with the reference evaluator on random
//! patterns and events, and no input makes either panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use gdalert_pattern::{compile, json, parse_event, reference, PatternSetBuilder};
use proptest::prelude::*;
use serde_json::{json, Value};

const KEYS: &[&str] = &["a", "b", "c", "a.b", "b.c"];

fn string() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        "x",
        "y",
        "xy",
        "X",
        "",
        "10.0.0.1",
        "10.0.0.01",
        "ß",
        "SS",
        "a*b",
    ])
    .prop_map(|s| json!(s))
}

fn number() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!(0),
        json!(1),
        json!(1.5),
        json!(300),
        json!(300.0),
        json!(-2),
    ])
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![4 => string(), 3 => number(), 1 => any::<bool>().prop_map(Value::Bool), 1 => Just(Value::Null)]
}

fn operand() -> impl Strategy<Value = Value> {
    let s = || prop::sample::select(vec!["x", "y", "X", "1", "10.0"]);
    prop_oneof![
        4 => scalar(),
        1 => s().prop_map(|v| json!({"prefix": v})),
        1 => s().prop_map(|v| json!({"suffix": v})),
        1 => s().prop_map(|v| json!({"prefix": {"equals-ignore-case": v}})),
        1 => s().prop_map(|v| json!({"equals-ignore-case": v})),
        1 => prop::sample::select(vec!["x*", "*y", "*", "x*y", "*x*"]).prop_map(|v| json!({"wildcard": v})),
        1 => prop::sample::select(vec![json!([">", 0]), json!([">=", 1, "<", 300]), json!(["=", 300]), json!(["<=", 0])])
            .prop_map(|v| json!({"numeric": v})),
        2 => any::<bool>().prop_map(|b| json!({"exists": b})),
        1 => prop_oneof![string(), number()].prop_map(|v| json!({"anything-but": v})),
        1 => prop::sample::select(vec![json!(["x", "y"]), json!([0, 1]), json!({"prefix": "x"}), json!({"suffix": "y"}),
            json!({"equals-ignore-case": "X"}), json!({"wildcard": "x*"})]).prop_map(|v| json!({"anything-but": v})),
        1 => prop::sample::select(vec!["10.0.0.0/24", "::/0", "10.0.0.1/31"]).prop_map(|v| json!({"cidr": v})),
    ]
}

fn pattern_object(depth: u32) -> BoxedStrategy<Value> {
    let leaf = prop::collection::vec(operand(), 1..4).prop_map(Value::Array);
    let value = if depth == 0 {
        leaf.boxed()
    } else {
        prop_oneof![3 => leaf, 1 => pattern_object(depth - 1)].boxed()
    };
    prop::collection::vec((prop::sample::select(KEYS.to_vec()), value), 1..4)
        .prop_map(|fields| {
            Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            )
        })
        .boxed()
}

fn pattern() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => pattern_object(2),
        1 => (pattern_object(1), pattern_object(1), pattern_object(1)).prop_map(|(base, x, y)| {
            let mut base = base;
            base["$or"] = json!([x, y]);
            base
        }),
    ]
}

fn event_value(depth: u32) -> BoxedStrategy<Value> {
    if depth == 0 {
        return scalar().boxed();
    }
    prop_oneof![
        4 => scalar(),
        2 => prop::collection::vec(event_value(depth - 1), 0..3).prop_map(Value::Array),
        2 => prop::collection::vec((prop::sample::select(KEYS.to_vec()), event_value(depth - 1)), 0..4)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
    ]
    .boxed()
}

fn event() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(KEYS.to_vec()), event_value(3)), 0..5)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

/// The compiled machine's answer for one pattern and event is the reference
/// evaluator's (cases the pattern refuses or the reference cannot decide
/// are skipped).
fn agrees_with_reference(pattern: &Value, event: &Value) -> Result<(), TestCaseError> {
    let pattern_text = pattern.to_string();
    let rule = compile(&pattern_text);
    prop_assume!(rule.is_ok());
    let rule = rule.unwrap();
    let event_text = event.to_string();
    let node = parse_event(&event_text).unwrap();
    let tree = json::parse(&event_text).unwrap();
    let expected = reference::matches(&rule, &tree);
    prop_assume!(expected.is_some());
    let mut builder = PatternSetBuilder::new();
    builder.add("p", rule);
    let set = builder.build();
    let got = !set.matches(&node).is_empty();
    prop_assert_eq!(
        got,
        expected.unwrap(),
        "pattern {} event {}",
        pattern_text,
        event_text
    );
    let mut scratch = gdalert_pattern::Scratch::default();
    let pruned = !set
        .matches_text(&event_text, &mut scratch)
        .unwrap()
        .is_empty();
    prop_assert_eq!(
        pruned,
        got,
        "pruned reader: pattern {} event {}",
        pattern_text,
        event_text
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn compiled_machine_agrees_with_reference(pattern in pattern(), event in event()) {
        agrees_with_reference(&pattern, &event)?;
    }

    /// A valid pattern cut anywhere holds only valid complete parts, so the
    /// problem reported is the syntax error, never one invented from a
    /// half-read container (the streaming-order rule of `compile`).
    #[test]
    fn a_valid_pattern_cut_short_is_refused_for_its_syntax(pattern in pattern()) {
        let text = serde_json::to_string_pretty(&pattern).unwrap();
        if compile(&text).is_ok() {
            for cut in (1..text.len()).filter(|&i| text.is_char_boundary(i)) {
                let prefix = &text[..cut];
                if prefix.trim().is_empty() { continue; }
                let err = compile(prefix).unwrap_err();
                let syntax = json::parse(prefix).unwrap_err();
                prop_assert_eq!((err.reason.as_str(), err.offset), (syntax.message.as_str(), syntax.offset), "{:?}", prefix);
            }
        }
    }

    #[test]
    fn many_patterns_at_once_agree_with_each_alone(patterns in prop::collection::vec(pattern(), 1..12), event in event()) {
        let event_text = event.to_string();
        let node = parse_event(&event_text).unwrap();
        let mut builder = PatternSetBuilder::new();
        let mut alone = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            if let Ok(rule) = compile(&p.to_string()) {
                let mut single = PatternSetBuilder::new();
                single.add("p", rule.clone());
                if !single.build().matches(&node).is_empty() {
                    alone.push(i);
                }
                builder.add(i.to_string(), rule);
            }
        }
        let set = builder.build();
        let together: Vec<usize> = set.matches(&node).into_iter().map(|id| set.name(id).parse().unwrap()).collect();
        prop_assert_eq!(&together, &alone);
        // Reading only what the set names gives the same answer.
        let mut scratch = gdalert_pattern::Scratch::default();
        let pruned: Vec<usize> = set
            .matches_text(&event_text, &mut scratch)
            .unwrap()
            .iter()
            .map(|&id| set.name(id).parse().unwrap())
            .collect();
        prop_assert_eq!(pruned, alone);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = compile(&text);
        if let Ok(node) = parse_event(&text) {
            let _ = PatternSetBuilder::new().build().matches(&node);
        }
    }

    #[test]
    fn json_like_text_never_panics(text in r#"[\[\]{}":,0-9a-z\-\.eE\\ ]{0,80}"#, pattern in pattern()) {
        let _ = compile(&text);
        if let Ok(node) = parse_event(&text) {
            let mut builder = PatternSetBuilder::new();
            if let Ok(rule) = compile(&pattern.to_string()) {
                builder.add("p", rule);
            }
            let _ = builder.build().matches(&node);
        }
    }
}

/// Arrays of objects nested in arrays of objects, with few distinct values,
/// so patterns naming several of their fields often need the same-element
/// rule (and often find it broken).
fn nested_arrays_event() -> impl Strategy<Value = Value> {
    let value = || prop::sample::select(vec!["1", "2", "3"]).prop_map(|s| json!(s));
    let inner = prop::collection::vec(
        (prop::option::of(value()), prop::option::of(value())).prop_map(|(x, z)| {
            let mut o = serde_json::Map::new();
            if let Some(x) = x {
                o.insert("x".into(), x);
            }
            if let Some(z) = z {
                o.insert("z".into(), z);
            }
            Value::Object(o)
        }),
        0..4,
    );
    let outer = prop::collection::vec(
        (prop::option::of(value()), prop::option::of(value()), inner)
            .prop_map(|(x, y, b)| json!({"x": x, "y": y, "b": b})),
        0..5,
    );
    (outer, prop::option::of(value())).prop_map(|(a, top)| json!({"a": a, "top": top}))
}

fn nested_arrays_pattern() -> impl Strategy<Value = Value> {
    let values = prop::collection::vec(prop::sample::select(vec!["1", "2", "3"]), 1..3);
    prop::collection::vec(
        (
            prop::sample::select(vec!["a.x", "a.y", "a.b.x", "a.b.z", "top"]),
            values,
        ),
        1..6,
    )
    .prop_map(|fields| {
        let mut pattern = json!({});
        for (path, values) in fields {
            let mut at = &mut pattern;
            let segments: Vec<&str> = path.split('.').collect();
            for seg in &segments[..segments.len() - 1] {
                if !at.get(*seg).is_some_and(Value::is_object) {
                    at[*seg] = json!({});
                }
                at = &mut at[*seg];
            }
            at[segments[segments.len() - 1]] = json!(values);
        }
        pattern
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    /// The linear same-element search against the reference's direct one.
    #[test]
    fn fields_of_one_arrays_objects_agree_with_reference(
        pattern in nested_arrays_pattern(),
        event in nested_arrays_event(),
    ) {
        prop_assert!(compile(&pattern.to_string()).is_ok());
        agrees_with_reference(&pattern, &event)?;
    }
}
