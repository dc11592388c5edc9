//! A plain recursive evaluator, written for clarity instead of speed: the
//! yardstick the compiled [`PatternSet`](crate::PatternSet) is tested against.
//!
//! It states EventBridge's array rule directly: an event matches a branch if
//! there is a way to pick *one element of every array* such that each field of
//! the branch has a satisfying value in the resulting array-free event.
//! (`exists: false` is judged on the whole event.) It enumerates those picks,
//! so it is exponential in the number of arrays and only fit for tests.

use crate::json::{Node, Value};
use crate::syntax::{Matcher, Rule};
use crate::value::{Number, Scalar};

/// Enumeration stops past this many array-free variants of one event.
pub const MAX_VARIANTS: usize = 4096;

#[derive(Debug, Clone)]
enum Tree {
    Object(Vec<(String, Tree)>),
    Leaf(Scalar<'static>),
    Absent,
}

/// Whether `rule` matches `event`; `None` if the event has too many array
/// combinations to enumerate.
pub fn matches(rule: &Rule, event: &Node<'_>) -> Option<bool> {
    let variants = variants(event)?;
    Some(rule.branches.iter().any(|branch| {
        variants.iter().any(|variant| {
            branch.fields.iter().all(|field| {
                let segments: Vec<&str> = field.path.split('.').collect();
                let mut values = Vec::new();
                values_in_variant(variant, &segments, &mut values);
                let by_value = values.iter().any(|v| {
                    field
                        .matchers
                        .iter()
                        .any(|m| !matches!(m, Matcher::Exists(false)) && m.accepts(v))
                });
                by_value || (field.allows_absent() && !present_anywhere(event, &segments))
            })
        })
    }))
}

fn scalar(value: &Value<'_>) -> Option<Scalar<'static>> {
    Some(match value {
        Value::String(s) => Scalar::String(s.to_string().into()),
        Value::Number(t) => Scalar::Number(Number::parse(t.to_string())),
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Null => Scalar::Null,
        _ => return None,
    })
}

fn variants(node: &Node<'_>) -> Option<Vec<Tree>> {
    match &node.value {
        Value::Object(members) => {
            let mut out = vec![Vec::new()];
            for m in members {
                let options = variants(&m.value)?;
                let mut next = Vec::with_capacity(out.len() * options.len());
                for partial in &out {
                    for option in &options {
                        let mut extended: Vec<(String, Tree)> = partial.clone();
                        extended.push((m.key.to_string(), option.clone()));
                        next.push(extended);
                    }
                }
                if next.len() > MAX_VARIANTS {
                    return None;
                }
                out = next;
            }
            Some(out.into_iter().map(Tree::Object).collect())
        }
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(variants(item)?);
                if out.len() > MAX_VARIANTS {
                    return None;
                }
            }
            if out.is_empty() {
                out.push(Tree::Absent);
            }
            Some(out)
        }
        other => Some(vec![scalar(other).map_or(Tree::Absent, Tree::Leaf)]),
    }
}

/// Event keys may themselves contain dots: `{"a.b": 1}` is the path `a.b`.
fn key_prefix<'s>(key: &str, segments: &'s [&'s str]) -> Option<&'s [&'s str]> {
    let mut rest = segments;
    for part in key.split('.') {
        match rest.split_first() {
            Some((first, tail)) if *first == part => rest = tail,
            _ => return None,
        }
    }
    Some(rest)
}

fn values_in_variant<'t>(tree: &'t Tree, segments: &[&str], out: &mut Vec<&'t Scalar<'static>>) {
    match tree {
        Tree::Leaf(v) if segments.is_empty() => out.push(v),
        Tree::Object(members) if !segments.is_empty() => {
            for (key, child) in members {
                if let Some(rest) = key_prefix(key, segments) {
                    values_in_variant(child, rest, out);
                }
            }
        }
        _ => {}
    }
}

fn present_anywhere(node: &Node<'_>, segments: &[&str]) -> bool {
    match &node.value {
        Value::Array(items) => items.iter().any(|i| present_anywhere(i, segments)),
        Value::Object(members) => {
            !segments.is_empty()
                && members.iter().any(|m| {
                    key_prefix(&m.key, segments)
                        .is_some_and(|rest| present_anywhere(&m.value, rest))
                })
        }
        _ => segments.is_empty(),
    }
}
