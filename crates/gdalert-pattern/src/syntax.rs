//! Pattern validation and compilation to an abstract rule, following the
//! order of checks and the exact reasons EventBridge gives.
//!
//! A pattern compiles to one or more *branches* (one per combination of
//! `$or` choices). A branch is a conjunction of *fields*; a field is a dotted
//! path and a disjunction of matchers. Later keys replace earlier keys with the
//! same dotted path, as in EventBridge.

use crate::json::{self, Member, Node, Value};
use crate::value::{
    ip_hex, parse_cidr, parse_wildcard, CidrRange, DecimalKey, IgnoreCase, IpHex, Number,
    NumericRange, Scalar, Wildcard,
};
use crate::PatternError;

/// The longest pattern EventBridge accepts (its API limit; the default
/// account quota is 2,048 characters and can be raised to this).
pub const MAX_PATTERN_CHARS: usize = 4096;

/// A safety cap on `$or` expansion, far above any real rule.
pub const MAX_BRANCHES: usize = 4096;

/// One operand of a field's value list.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// A string compared byte for byte.
    String(String),
    /// A string that is an IP literal, compared as an address.
    Ip(IpHex),
    /// A number: equal by text, or by value when the operand is exact
    /// (`key` is then its [`DecimalKey`], which an event number shares
    /// exactly when it is exact and equal by value).
    Number {
        text: String,
        key: Option<DecimalKey>,
    },
    Bool(bool),
    Null,
    Prefix(String),
    PrefixIgnoreCase(IgnoreCase),
    Suffix(String),
    SuffixIgnoreCase(IgnoreCase),
    EqualsIgnoreCase(IgnoreCase),
    Wildcard(Wildcard),
    Numeric(NumericRange),
    Cidr(CidrRange),
    AnythingBut(AnythingBut),
    Exists(bool),
}

/// The forms of `anything-but`.
#[derive(Debug, Clone, PartialEq)]
pub enum AnythingBut {
    Strings(Vec<String>),
    Numbers(Vec<f64>),
    Prefixes(Vec<String>),
    Suffixes(Vec<String>),
    IgnoreCase(Vec<IgnoreCase>),
    Wildcards(Vec<Wildcard>),
}

impl Matcher {
    /// Whether this matcher accepts one present leaf value. `exists` is about
    /// presence, not values: `exists: true` accepts any leaf, `exists: false`
    /// none (its truth depends on the whole event; see the matchers).
    pub fn accepts(&self, v: &Scalar<'_>) -> bool {
        match (self, v) {
            (Matcher::String(s), Scalar::String(e)) => s == e,
            (Matcher::Ip(hex), Scalar::String(e)) => ip_hex(e).is_some_and(|h| &h == hex),
            (Matcher::Number { text, key }, Scalar::Number(n)) => {
                *text == n.text || (key.is_some() && *key == n.key())
            }
            (Matcher::Bool(b), Scalar::Bool(e)) => b == e,
            (Matcher::Null, Scalar::Null) => true,
            (Matcher::Prefix(p), Scalar::String(e)) => e.starts_with(p.as_str()),
            (Matcher::PrefixIgnoreCase(p), Scalar::String(e)) => p.is_prefix_of(e),
            (Matcher::Suffix(p), Scalar::String(e)) => e.ends_with(p.as_str()),
            (Matcher::SuffixIgnoreCase(p), Scalar::String(e)) => p.is_suffix_of(e),
            (Matcher::EqualsIgnoreCase(p), Scalar::String(e)) => p.equals(e),
            (Matcher::Wildcard(w), Scalar::String(e)) => w.matches(e),
            // The same rule for event values: one that is not exactly its
            // float64 (`9007199254740993`) is never in a numeric range.
            (Matcher::Numeric(r), Scalar::Number(n)) => {
                n.comparable().is_some_and(|x| r.contains(x))
            }
            (Matcher::Cidr(r), Scalar::String(e)) => ip_hex(e).is_some_and(|h| r.contains(&h)),
            (Matcher::AnythingBut(ab), v) => !ab.excludes(v),
            (Matcher::Exists(present), _) => *present,
            _ => false,
        }
    }
}

impl AnythingBut {
    /// Whether the value is one of those excluded. Values of another type are
    /// never excluded (`anything-but: "5"` matches the number 5).
    pub fn excludes(&self, v: &Scalar<'_>) -> bool {
        match (self, v) {
            (AnythingBut::Strings(set), Scalar::String(e)) => set.iter().any(|s| s == e),
            (AnythingBut::Numbers(set), Scalar::Number(n)) => {
                n.comparable().is_some_and(|x| set.contains(&x))
            }
            (AnythingBut::Prefixes(set), Scalar::String(e)) => {
                set.iter().any(|p| e.starts_with(p.as_str()))
            }
            (AnythingBut::Suffixes(set), Scalar::String(e)) => {
                set.iter().any(|p| e.ends_with(p.as_str()))
            }
            (AnythingBut::IgnoreCase(set), Scalar::String(e)) => set.iter().any(|p| p.equals(e)),
            (AnythingBut::Wildcards(set), Scalar::String(e)) => set.iter().any(|w| w.matches(e)),
            _ => false,
        }
    }
}

/// A field constraint: a dotted path and the matchers any one of which must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Path segments joined with `.`, as EventBridge names fields.
    pub path: String,
    pub matchers: Vec<Matcher>,
}

impl Field {
    /// Whether the field is satisfied when the event has no value at `path`.
    pub fn allows_absent(&self) -> bool {
        self.matchers
            .iter()
            .any(|m| matches!(m, Matcher::Exists(false)))
    }
}

/// One `$or` combination: all fields must match.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Branch {
    pub fields: Vec<Field>,
}

impl Branch {
    fn put(&mut self, field: Field) {
        match self.fields.iter_mut().find(|f| f.path == field.path) {
            Some(existing) => *existing = field,
            None => self.fields.push(field),
        }
    }
}

/// A validated pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub branches: Vec<Branch>,
}

type Fail = Box<PatternError>;

fn fail(node_offset: usize, pointer: &str, reason: impl Into<String>) -> Fail {
    Box::new(PatternError {
        reason: reason.into(),
        pointer: pointer.to_string(),
        offset: node_offset,
    })
}

/// Validates and compiles a pattern given as JSON text.
pub fn compile(text: &str) -> Result<Rule, PatternError> {
    let chars = text.chars().count();
    if chars > MAX_PATTERN_CHARS {
        return Err(PatternError {
            reason: format!(
                "Event pattern is {chars} characters; EventBridge accepts at most {MAX_PATTERN_CHARS} (2048 by default quota)"
            ),
            pointer: String::new(),
            offset: 0,
        });
    }
    // An empty or blank pattern is not an object, as the reference says,
    // rather than a JSON syntax error.
    if text.trim_matches([' ', '\t', '\n', '\r']).is_empty() {
        return Err(PatternError {
            reason: "Filter is not an object".into(),
            pointer: String::new(),
            offset: 0,
        });
    }
    let node = match json::parse(text) {
        Ok(node) => node,
        Err(e) => {
            return Err(problem_before(text).unwrap_or(PatternError {
                reason: e.message,
                pointer: String::new(),
                offset: e.offset,
            }))
        }
    };
    compile_node(&node).map_err(|e| *e)
}

/// The problem a streaming reader (EventBridge's) meets before the syntax
/// error that ends `text`, if the part before it shows one.
///
/// The reference reports the first problem in token order, so a pattern
/// with a bad operator and, later, a missing bracket is refused for the
/// operator. We check the values the text completed before its syntax
/// error, and keep a problem only where that reader is sure to have seen
/// it: not at a container still open at the error, nor at a scalar inside
/// one, where a check that reads siblings together (an operator and its
/// operand, the keys of an `anything-but` object) may have seen only half
/// of them. Such cases keep the syntax error, as before.
fn problem_before(text: &str) -> Option<PatternError> {
    let prefix = json::parse_prefix(text)?;
    let fail = *compile_node(&prefix.root).err()?;
    // The root's type is known from its first token.
    let root_is_object = matches!(prefix.root.value, Value::Object(_));
    let seen = !root_is_object
        || !(prefix.open.contains(&fail.offset) || prefix.in_open.contains(&fail.offset));
    seen.then_some(fail)
}

/// Validates and compiles a parsed pattern.
pub fn compile_node(node: &Node<'_>) -> Result<Rule, Fail> {
    let Value::Object(members) = &node.value else {
        return Err(fail(node.offset, "", "Filter is not an object"));
    };
    let mut branches = Vec::new();
    let mut ctx = Ctx { path: Vec::new() };
    ctx.object(&mut branches, members, node.offset, "", false)?;
    Ok(Rule { branches })
}

struct Ctx {
    path: Vec<String>,
}

const RESERVED_IN_OR: &[&str] = &[
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

impl Ctx {
    fn object(
        &mut self,
        branches: &mut Vec<Branch>,
        members: &[Member<'_>],
        offset: usize,
        pointer: &str,
        inside_or: bool,
    ) -> Result<(), Fail> {
        if members.is_empty() {
            return Err(fail(offset, pointer, "Empty objects are not allowed"));
        }
        for m in members {
            let key = m.key.as_ref();
            let ptr = json::pointer_push(pointer, key);
            if key == "$or" {
                self.or(branches, &m.value, &ptr, inside_or)?;
                continue;
            }
            if inside_or && RESERVED_IN_OR.contains(&key) {
                return Err(fail(
                    m.value.offset,
                    &ptr,
                    format!("{key} is Ruler reserved fieldName which cannot be used inside $or."),
                ));
            }
            match &m.value.value {
                Value::Object(inner) => {
                    self.path.push(key.to_string());
                    self.object(branches, inner, m.value.offset, &ptr, inside_or)?;
                    self.path.pop();
                }
                Value::Array(items) => {
                    let mut matchers = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        matchers.push(value_item(item, &json::pointer_push(&ptr, &i.to_string()))?);
                    }
                    if matchers.is_empty() {
                        return Err(fail(m.value.offset, &ptr, "Empty arrays are not allowed"));
                    }
                    let mut path = self.path.join(".");
                    if !self.path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    if branches.is_empty() {
                        branches.push(Branch::default());
                    }
                    for b in branches.iter_mut() {
                        b.put(Field {
                            path: path.clone(),
                            matchers: matchers.clone(),
                        });
                    }
                }
                _ => {
                    return Err(fail(
                        m.value.offset,
                        &ptr,
                        format!("\"{key}\" must be an object or an array"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn or(
        &mut self,
        branches: &mut Vec<Branch>,
        node: &Node<'_>,
        pointer: &str,
        _inside: bool,
    ) -> Result<(), Fail> {
        let current = std::mem::take(branches);
        let Value::Array(items) = &node.value else {
            return Err(fail(
                node.offset,
                pointer,
                "It must be an Array followed with $or.",
            ));
        };
        for (i, item) in items.iter().enumerate() {
            let ptr = json::pointer_push(pointer, &i.to_string());
            let Value::Object(members) = &item.value else {
                return Err(fail(
                    item.offset,
                    &ptr,
                    "Only JSON object is allowed in array of $or relationship.",
                ));
            };
            let mut fork = current.clone();
            if fork.is_empty() {
                fork.push(Branch::default());
            }
            self.object(&mut fork, members, item.offset, &ptr, true)?;
            branches.extend(fork);
            if branches.len() > MAX_BRANCHES {
                return Err(fail(
                    node.offset,
                    pointer,
                    format!("Rule is too complex - $or expands to more than {MAX_BRANCHES} combinations"),
                ));
            }
        }
        if items.len() < 2 {
            return Err(fail(
                node.offset,
                pointer,
                "There must have at least 2 Objects in $or relationship.",
            ));
        }
        Ok(())
    }
}

/// One element of a field's value list.
fn value_item(node: &Node<'_>, pointer: &str) -> Result<Matcher, Fail> {
    let at = |reason: &str| fail(node.offset, pointer, reason);
    Ok(match &node.value {
        Value::String(s) => match ip_hex(s) {
            Some(hex) => Matcher::Ip(hex),
            None => Matcher::String(s.to_string()),
        },
        Value::Number(t) => {
            // The number rule for exact-match operands too: a literal that
            // is not exactly its float64 matches only its own text.
            let n = Number::parse(*t);
            Matcher::Number {
                text: t.to_string(),
                key: n.comparable().and_then(|_| n.key()),
            }
        }
        Value::Bool(b) => Matcher::Bool(*b),
        Value::Null => Matcher::Null,
        Value::Object(members) => match_expression(node, members, pointer)?,
        Value::Array(_) => {
            return Err(at(
                "Match value must be String, number, true, false, or null",
            ))
        }
    })
}

fn string_operand<'n>(node: &'n Node<'_>, pointer: &str, reason: &str) -> Result<&'n str, Fail> {
    match &node.value {
        Value::String(s) => Ok(s.as_ref()),
        _ => Err(fail(node.offset, pointer, reason)),
    }
}

fn only_one_key(members: &[Member<'_>], offset: usize, pointer: &str) -> Result<(), Fail> {
    if members.len() > 1 {
        return Err(fail(
            offset,
            pointer,
            "Only one key allowed in match expression",
        ));
    }
    Ok(())
}

fn match_expression(
    node: &Node<'_>,
    members: &[Member<'_>],
    pointer: &str,
) -> Result<Matcher, Fail> {
    let Some(first) = members.first() else {
        return Err(fail(
            node.offset,
            pointer,
            "Match expression name not found",
        ));
    };
    let op = first.key.as_ref();
    let operand = &first.value;
    let ptr = json::pointer_push(pointer, op);
    let matcher = match op {
        "exactly" => {
            let s = string_operand(operand, &ptr, "exact match pattern must be a string")?;
            Matcher::String(s.to_string())
        }
        "prefix" | "suffix" => {
            let is_prefix = op == "prefix";
            match &operand.value {
                Value::String(s) => {
                    if is_prefix {
                        Matcher::Prefix(s.to_string())
                    } else {
                        Matcher::Suffix(s.to_string())
                    }
                }
                Value::Object(inner) => {
                    let eic = ignore_case_inner(operand, inner, &ptr, op)?;
                    if is_prefix {
                        Matcher::PrefixIgnoreCase(eic)
                    } else {
                        Matcher::SuffixIgnoreCase(eic)
                    }
                }
                _ => {
                    return Err(fail(
                        operand.offset,
                        &ptr,
                        format!("{op} match pattern must be a string"),
                    ))
                }
            }
        }
        "equals-ignore-case" => {
            let s = string_operand(
                operand,
                &ptr,
                "equals-ignore-case match pattern must be a string",
            )?;
            Matcher::EqualsIgnoreCase(IgnoreCase::new(s))
        }
        "wildcard" => {
            let s = string_operand(operand, &ptr, "wildcard match pattern must be a string")?;
            Matcher::Wildcard(parse_wildcard(s).map_err(|r| fail(operand.offset, &ptr, r))?)
        }
        "numeric" => Matcher::Numeric(numeric(operand, &ptr)?),
        "cidr" => {
            // EventBridge's message names `prefix` here; we keep its wording.
            let s = string_operand(operand, &ptr, "prefix match pattern must be a string")?;
            Matcher::Cidr(parse_cidr(s).map_err(|r| fail(operand.offset, &ptr, r))?)
        }
        "exists" => match operand.value {
            Value::Bool(b) => Matcher::Exists(b),
            _ => {
                return Err(fail(
                    operand.offset,
                    &ptr,
                    "exists match pattern must be either true or false.",
                ))
            }
        },
        "anything-but" => Matcher::AnythingBut(anything_but(operand, &ptr)?),
        other => {
            return Err(fail(
                node.offset,
                &ptr,
                format!("Unrecognized match type {other}"),
            ))
        }
    };
    only_one_key(members, node.offset, pointer)?;
    Ok(matcher)
}

fn ignore_case_inner(
    node: &Node<'_>,
    inner: &[Member<'_>],
    pointer: &str,
    op: &str,
) -> Result<IgnoreCase, Fail> {
    let Some(first) = inner.first() else {
        return Err(fail(
            node.offset,
            pointer,
            format!("{op} match pattern must be a string"),
        ));
    };
    let ptr = json::pointer_push(pointer, &first.key);
    if first.key != "equals-ignore-case" {
        return Err(fail(
            node.offset,
            &ptr,
            format!("Unsupported {op} pattern: {}", first.key),
        ));
    }
    let s = string_operand(
        &first.value,
        &ptr,
        "equals-ignore-case match pattern must be a string",
    )?;
    only_one_key(inner, node.offset, pointer)?;
    Ok(IgnoreCase::new(s))
}

const AB_SHAPE: &str = "Value of anything-but must be an array or single string/number value.";

fn anything_but(node: &Node<'_>, pointer: &str) -> Result<AnythingBut, Fail> {
    match &node.value {
        Value::String(s) => Ok(AnythingBut::Strings(vec![s.to_string()])),
        Value::Number(t) => Ok(AnythingBut::Numbers(vec![number_value(node, t, pointer)?])),
        Value::Array(items) => {
            let mut strings = Vec::new();
            let mut numbers = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let ptr = json::pointer_push(pointer, &i.to_string());
                match &item.value {
                    Value::String(s) => strings.push(s.to_string()),
                    Value::Number(t) => numbers.push(number_value(item, t, &ptr)?),
                    _ => {
                        return Err(fail(
                            item.offset,
                            &ptr,
                            "Inside anything but list, start|null|boolean is not supported.",
                        ))
                    }
                }
            }
            match (strings.is_empty(), numbers.is_empty()) {
                (false, true) => Ok(AnythingBut::Strings(strings)),
                (true, false) => Ok(AnythingBut::Numbers(numbers)),
                _ => Err(fail(
                    node.offset,
                    pointer,
                    "Inside anything but list, either all values are number or string, mixed type is not supported",
                )),
            }
        }
        Value::Object(members) => {
            let Some(first) = members.first() else {
                return Err(fail(
                    node.offset,
                    pointer,
                    "Anything-But expression name not found",
                ));
            };
            let op = first.key.as_ref();
            let ptr = json::pointer_push(pointer, op);
            let inner = &first.value;
            let result = match op {
                "prefix" | "suffix" => {
                    let values =
                        string_list(inner, &ptr, "prefix/suffix match pattern must be a string")?;
                    if values.iter().any(String::is_empty) {
                        return Err(fail(inner.offset, &ptr, "Null prefix/suffix not allowed"));
                    }
                    if op == "prefix" {
                        AnythingBut::Prefixes(values)
                    } else {
                        AnythingBut::Suffixes(values)
                    }
                }
                "equals-ignore-case" => {
                    let values = string_list(
                        inner,
                        &ptr,
                        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
                    )?;
                    AnythingBut::IgnoreCase(values.iter().map(|s| IgnoreCase::new(s)).collect())
                }
                "wildcard" => {
                    let values =
                        string_list(inner, &ptr, "wildcard match pattern must be a string")?;
                    let mut parsed = Vec::with_capacity(values.len());
                    for v in &values {
                        parsed.push(parse_wildcard(v).map_err(|r| fail(inner.offset, &ptr, r))?);
                    }
                    AnythingBut::Wildcards(parsed)
                }
                other => {
                    return Err(fail(
                        node.offset,
                        &ptr,
                        format!("Unsupported anything-but pattern: {other}"),
                    ))
                }
            };
            only_one_key(members, node.offset, pointer)?;
            Ok(result)
        }
        _ => Err(fail(node.offset, pointer, AB_SHAPE)),
    }
}

/// A string, or a non-empty list of strings. Objects get the generic
/// anything-but shape message, as in EventBridge.
fn string_list(node: &Node<'_>, pointer: &str, reason: &str) -> Result<Vec<String>, Fail> {
    match &node.value {
        Value::String(s) => Ok(vec![s.to_string()]),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let ptr = json::pointer_push(pointer, &i.to_string());
                out.push(string_operand(item, &ptr, reason)?.to_string());
            }
            if out.is_empty() {
                return Err(fail(node.offset, pointer, "Empty arrays are not allowed"));
            }
            Ok(out)
        }
        Value::Object(_) => Err(fail(node.offset, pointer, AB_SHAPE)),
        _ => Err(fail(node.offset, pointer, reason)),
    }
}

/// A `numeric` or `anything-but` operand: EventBridge's one number rule
/// says a literal takes part in numeric comparison only if its decimal
/// value is exactly its nearest float64's (the shortest form that float
/// prints as), so `0.10000000000000001`, `9007199254740993` and `1e309`
/// are refused, with the reference library's message.
fn number_value(node: &Node<'_>, text: &str, pointer: &str) -> Result<f64, Fail> {
    Number::parse(text).comparable().ok_or_else(|| {
        fail(
            node.offset,
            pointer,
            format!("Cannot compare number : {text}"),
        )
    })
}

fn numeric(node: &Node<'_>, pointer: &str) -> Result<NumericRange, Fail> {
    let Value::Array(items) = &node.value else {
        return Err(fail(
            node.offset,
            pointer,
            "Value of numeric must be an array.",
        ));
    };
    let mut it = items.iter().enumerate();
    let item_ptr = |i: usize| json::pointer_push(pointer, &i.to_string());
    let end_offset = node.offset;
    let Some((i, first)) = it.next() else {
        return Err(fail(
            end_offset,
            pointer,
            "Invalid member in numeric match: ]",
        ));
    };
    let Value::String(op) = &first.value else {
        let text = scalar_text(first);
        return Err(fail(
            first.offset,
            &item_ptr(i),
            format!("Invalid member in numeric match: {text}"),
        ));
    };
    let op = op.as_ref();
    let operand =
        |it: &mut dyn Iterator<Item = (usize, &Node<'_>)>, name: &str| -> Result<f64, Fail> {
            match it.next() {
                Some((j, n)) => match &n.value {
                    Value::Number(t) => number_value(n, t, &item_ptr(j)),
                    _ => Err(fail(
                        n.offset,
                        &item_ptr(j),
                        format!("Value of {name} must be numeric"),
                    )),
                },
                None => Err(fail(
                    end_offset,
                    pointer,
                    format!("Value of {name} must be numeric"),
                )),
            }
        };
    let too_many = |n: &Node<'_>, j: usize| {
        fail(
            n.offset,
            &item_ptr(j),
            "Too many elements in numeric expression",
        )
    };
    match op {
        "=" => {
            let v = operand(&mut it, "equals")?;
            if let Some((j, n)) = it.next() {
                return Err(too_many(n, j));
            }
            Ok(NumericRange {
                lower: Some((v, false)),
                upper: Some((v, false)),
            })
        }
        "<" | "<=" => {
            let v = operand(&mut it, op)?;
            if let Some((j, n)) = it.next() {
                return Err(too_many(n, j));
            }
            Ok(NumericRange {
                lower: None,
                upper: Some((v, op == "<")),
            })
        }
        ">" | ">=" => {
            let bottom = operand(&mut it, op)?;
            let lower = Some((bottom, op == ">"));
            let Some((j, next)) = it.next() else {
                return Ok(NumericRange { lower, upper: None });
            };
            let Value::String(top_op) = &next.value else {
                return Err(fail(
                    next.offset,
                    &item_ptr(j),
                    format!("Bad value in numeric range: {}", scalar_text(next)),
                ));
            };
            let top_op = top_op.as_ref();
            if top_op != "<" && top_op != "<=" {
                return Err(fail(
                    next.offset,
                    &item_ptr(j),
                    format!("Bad numeric range operator: {top_op}"),
                ));
            }
            let top = operand(&mut it, top_op)?;
            if let Some((k, n)) = it.next() {
                return Err(fail(
                    n.offset,
                    &item_ptr(k),
                    "Too many terms in numeric range expression",
                ));
            }
            if bottom >= top {
                return Err(fail(node.offset, pointer, "Bottom must be less than top"));
            }
            Ok(NumericRange {
                lower,
                upper: Some((top, top_op == "<")),
            })
        }
        other => Err(fail(
            first.offset,
            &item_ptr(i),
            format!("Unrecognized numeric range operator: {other}"),
        )),
    }
}

fn scalar_text(node: &Node<'_>) -> String {
    match &node.value {
        Value::String(s) => s.to_string(),
        Value::Number(t) => t.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Array(_) => "[".into(),
        Value::Object(_) => "{".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(p: &str) -> String {
        compile(p).unwrap_err().reason
    }

    #[test]
    fn duplicate_leaf_paths_keep_the_last_and_nested_duplicates_merge() {
        let rule = compile(r#"{"source":["a"],"source":["b"]}"#).unwrap();
        assert_eq!(rule.branches[0].fields.len(), 1);
        assert_eq!(
            rule.branches[0].fields[0].matchers,
            vec![Matcher::String("b".into())]
        );
        let rule = compile(r#"{"detail":{"a":["1"]},"detail":{"b":["2"]}}"#).unwrap();
        assert_eq!(rule.branches[0].fields.len(), 2);
    }

    #[test]
    fn or_forks_branches_and_later_fields_join_every_branch() {
        let rule = compile(r#"{"$or":[{"a":["1"]},{"b":["2"]}],"c":["3"]}"#).unwrap();
        assert_eq!(rule.branches.len(), 2);
        assert!(rule
            .branches
            .iter()
            .all(|b| b.fields.iter().any(|f| f.path == "c")));
    }

    #[test]
    fn errors_carry_a_json_pointer() {
        let err = compile(r#"{"detail":{"state":[{"anything-but":null}]}}"#).unwrap_err();
        assert_eq!(err.pointer, "/detail/state/0/anything-but");
        assert_eq!(err.reason, AB_SHAPE);
    }

    #[test]
    fn a_number_operand_that_is_not_exactly_its_float64_is_refused_like_the_reference() {
        for literal in [
            "0.10000000000000001",
            "9007199254740993",
            "-9223372036854775808",
            "1e309",
        ] {
            assert_eq!(
                reason(&format!(r#"{{"n":[{{"numeric":[">",{literal}]}}]}}"#)),
                format!("Cannot compare number : {literal}")
            );
            assert_eq!(
                reason(&format!(r#"{{"n":[{{"anything-but":[1,{literal}]}}]}}"#)),
                format!("Cannot compare number : {literal}")
            );
            assert_eq!(
                reason(&format!(r#"{{"n":[{{"anything-but":{literal}}}]}}"#)),
                format!("Cannot compare number : {literal}")
            );
        }
        assert!(compile(r#"{"n":[{"numeric":[">",0.1,"<",9007199254740992]}]}"#).is_ok());
    }

    #[test]
    fn an_event_number_that_is_not_exactly_its_float64_is_in_no_numeric_range() {
        let rule = compile(r#"{"n":[{"numeric":[">",0]}]}"#).unwrap();
        let range = &rule.branches[0].fields[0].matchers[0];
        let number = |t: &'static str| Scalar::Number(Number::parse(t));
        assert!(range.accepts(&number("9007199254740992")));
        assert!(!range.accepts(&number("9007199254740993")));
        assert!(!range.accepts(&number("12345678901234567890")));
        assert!(range.accepts(&number("1.5e3")));
    }

    #[test]
    fn an_exact_match_literal_that_is_not_exactly_its_float64_matches_only_its_text() {
        let number = |t: &'static str| Scalar::Number(Number::parse(t));
        let rule = compile(r#"{"n":[0.10000000000000001]}"#).unwrap();
        let m = &rule.branches[0].fields[0].matchers[0];
        assert!(m.accepts(&number("0.10000000000000001")));
        assert!(!m.accepts(&number("0.1")), "0.1 is another number");
        let rule = compile(r#"{"n":[0.1]}"#).unwrap();
        let m = &rule.branches[0].fields[0].matchers[0];
        assert!(m.accepts(&number("1e-1")) && m.accepts(&number("0.10")));
        assert!(!m.accepts(&number("0.10000000000000001")));
    }

    #[test]
    fn an_anything_but_object_takes_one_key() {
        assert_eq!(
            reason(r#"{"a":[{"anything-but":{"prefix":"x","suffix":"y"}}]}"#),
            "Only one key allowed in match expression"
        );
    }

    #[test]
    fn an_anything_but_prefix_or_suffix_of_a_non_string_is_refused() {
        for operand in ["1", "true", "null", "1.5e3"] {
            for op in ["prefix", "suffix"] {
                assert_eq!(
                    reason(&format!(
                        r#"{{"a":[{{"anything-but":{{"{op}":{operand}}}}}]}}"#
                    )),
                    "prefix/suffix match pattern must be a string",
                    "{op} {operand}"
                );
            }
        }
    }

    #[test]
    fn the_first_problem_in_document_order_is_the_one_reported() {
        let number_first = r#"{"a":[{"numeric":[">",9007199254740993]}],"b":[{"bogus":1}]}"#;
        assert_eq!(
            reason(number_first),
            "Cannot compare number : 9007199254740993"
        );
        let number_last = r#"{"b":[{"bogus":1}],"a":[{"numeric":[">",9007199254740993]}]}"#;
        assert_eq!(reason(number_last), "Unrecognized match type bogus");
        let inside_one_range = r#"{"a":[{"numeric":[">",1e309,"<","x"]}]}"#;
        assert_eq!(reason(inside_one_range), "Cannot compare number : 1e309");
    }

    #[test]
    fn a_problem_before_a_syntax_error_is_reported_first_like_the_streaming_reference() {
        for (text, expected) in [
            (
                r#"{"b":[{"bogus":1}],"a":["#,
                "Unrecognized match type bogus",
            ),
            (r#"{"a":[{"bogus":1}"#, "Unrecognized match type bogus"),
            (
                r#"{"a":[{"numeric":[">",1e309]}], "b": [1,,"#,
                "Cannot compare number : 1e309",
            ),
            (r#"[1,"#, "Filter is not an object"),
        ] {
            assert_eq!(reason(text), expected, "{text}");
        }
        // Where the reference would still be reading siblings, or closing a
        // container, when the text breaks, the syntax error stands.
        for text in [
            r#"{"a":[{"numeric":[">",0,"<""#,
            r#"{"a":[{"anything-but":{"prefix":"x""#,
            r#"{"$or":[{"a":[1]}"#,
            r#"{"a":{"#,
            r#"{"a":[1]"#,
        ] {
            let got = reason(text);
            assert!(got.starts_with("Unexpected end-of-input"), "{text}: {got}");
        }
    }

    #[test]
    fn an_empty_or_blank_pattern_is_not_an_object() {
        assert_eq!(reason(""), "Filter is not an object");
        assert_eq!(reason("  \n "), "Filter is not an object");
    }

    #[test]
    fn numeric_reasons() {
        assert_eq!(
            reason(r#"{"n":[{"numeric":[">",0,">",0]}]}"#),
            "Bad numeric range operator: >"
        );
        assert_eq!(
            reason(r#"{"n":[{"numeric":[">",0,"<"]}]}"#),
            "Value of < must be numeric"
        );
        assert_eq!(
            reason(r#"{"n":[{"numeric":10}]}"#),
            "Value of numeric must be an array."
        );
        assert!(compile(r#"{"n":[{"numeric":[">=",5,"<=",5]}]}"#).is_err());
        assert!(compile(r#"{"n":[{"numeric":["<",10,">",0]}]}"#).is_err());
    }
}
