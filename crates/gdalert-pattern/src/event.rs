//! The flat layout events are matched in.
//!
//! A tree of `Vec`s puts every object of an event in its own allocation, so
//! walking a finding that is no longer in cache costs one dependent memory
//! fetch per level (detail → resource → ecsClusterDetails → name). Matching
//! throughput on 10,000 findings was half of what it was on 100 cached ones.
//! [`ParsedEvent`] instead keeps one contiguous array of 16-byte tokens in
//! document order, as event-ruler and simdjson's tape do:
//! - each container token records where it ends, so a subtree no pattern
//!   names is skipped in one step;
//! - each member name carries a hash computed while parsing, so looking it up
//!   among the names patterns use compares integers, and reads the name's
//!   bytes only to confirm a hit.
//!
//! Strings point into the event text; the few with escapes are decoded into
//! one side buffer.

use std::borrow::Cow;

use crate::json::{self, Build, JsonError, Value};
use crate::value::{Number, Scalar};

/// An event parsed for matching. Borrows the event text.
#[derive(Debug, Clone)]
pub struct ParsedEvent<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    /// Strings and names that contained escapes, decoded.
    decoded: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    Key,
    String,
    Number,
    True,
    False,
    Null,
}

/// One token. `a`/`b` are a byte range (start, length) for names, strings and
/// numbers; `a` is the index after the last token inside for containers.
/// `hash` is a name's [`name_hash`].
#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    /// The text is in `decoded`, not in the event text.
    decoded: bool,
    /// A name with a `.` in it (EventBridge splits those into path segments).
    dotted: bool,
    a: u32,
    b: u32,
    hash: u32,
}

/// A member name as the matcher sees it. Its bytes are read only when the
/// hash matches a name some pattern uses: most names of an event are not.
pub(crate) struct Name<'e> {
    event: &'e ParsedEvent<'e>,
    token: u32,
    pub hash: u32,
    pub dotted: bool,
}

impl<'e> Name<'e> {
    pub fn bytes(&self) -> &'e [u8] {
        self.event.bytes(&self.event.tokens[self.token as usize])
    }
}

/// The hash member names are compared by, computed once per name at parse
/// time and once per path segment when patterns are compiled.
pub(crate) fn name_hash(name: &[u8]) -> u32 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(K);
    let mut h = name.len() as u64;
    let mut chunks = name.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = mix(h, u64::from_le_bytes(word));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(word));
    }
    (h >> 32) as u32
}

/// Largest event text the 32-bit offsets can address. EventBridge's own
/// limit is 256 KB.
pub const MAX_EVENT_BYTES: usize = u32::MAX as usize;

impl<'a> ParsedEvent<'a> {
    /// Parses event text (the caller checks [`MAX_EVENT_BYTES`]).
    pub(crate) fn parse(text: &'a str) -> Result<ParsedEvent<'a>, JsonError> {
        let mut tape = Tape {
            text,
            event: ParsedEvent {
                text,
                tokens: Vec::with_capacity(text.len() / 12),
                decoded: String::new(),
            },
        };
        json::read(text, &mut tape)?;
        Ok(tape.event)
    }

    /// The event's JSON text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Whether the event is a JSON object.
    pub fn is_object(&self) -> bool {
        self.kind(0) == Kind::Object
    }

    /// The JSON type name of the whole event, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self.kind(0) {
            Kind::Object => "object",
            Kind::Array => "array",
            Kind::Key | Kind::String => "string",
            Kind::Number => "number",
            Kind::True | Kind::False => "boolean",
            Kind::Null => "null",
        }
    }

    /// Whether the top-level object has a member with this name.
    pub fn has_member(&self, name: &str) -> bool {
        self.is_object()
            && self
                .members(0)
                .any(|(key, _)| self.name(key).bytes() == name.as_bytes())
    }

    pub(crate) fn kind(&self, token: u32) -> Kind {
        self.tokens[token as usize].kind
    }

    /// The index just past `token`'s value.
    pub(crate) fn end(&self, token: u32) -> u32 {
        let t = &self.tokens[token as usize];
        match t.kind {
            Kind::Object | Kind::Array => t.a,
            _ => token + 1,
        }
    }

    /// (name token, value token) of each member of an object token.
    pub(crate) fn members(&self, object: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let end = self.end(object);
        let mut at = object + 1;
        std::iter::from_fn(move || {
            if at >= end {
                return None;
            }
            let key = at;
            at = self.end(key + 1);
            Some((key, key + 1))
        })
    }

    /// The item tokens of an array token.
    pub(crate) fn items(&self, array: u32) -> impl Iterator<Item = u32> + '_ {
        let end = self.end(array);
        let mut at = array + 1;
        std::iter::from_fn(move || {
            if at >= end {
                return None;
            }
            let item = at;
            at = self.end(item);
            Some(item)
        })
    }

    /// Bytes, without the char-boundary checks of `str` slicing: those read
    /// the text, which is what matching names by hash avoids.
    fn bytes(&self, t: &Token) -> &[u8] {
        let (start, len) = (t.a as usize, t.b as usize);
        let source = if t.decoded { &self.decoded } else { self.text };
        source
            .as_bytes()
            .get(start..start + len)
            .unwrap_or_default()
    }

    fn slice(&self, t: &Token) -> &str {
        let (start, len) = (t.a as usize, t.b as usize);
        let source = if t.decoded { &self.decoded } else { self.text };
        source.get(start..start + len).unwrap_or_default()
    }

    pub(crate) fn name(&'a self, key: u32) -> Name<'a> {
        let t = &self.tokens[key as usize];
        Name {
            event: self,
            token: key,
            hash: t.hash,
            dotted: t.dotted,
        }
    }

    /// The leaf value of a scalar token (`None` for containers and names).
    pub(crate) fn scalar(&self, token: u32) -> Option<Scalar<'_>> {
        let t = &self.tokens[token as usize];
        Some(match t.kind {
            Kind::String => Scalar::String(Cow::Borrowed(self.slice(t))),
            Kind::Number => Scalar::Number(Number::parse(self.slice(t))),
            Kind::True => Scalar::Bool(true),
            Kind::False => Scalar::Bool(false),
            Kind::Null => Scalar::Null,
            Kind::Object | Kind::Array | Kind::Key => return None,
        })
    }
}

/// Builds a [`ParsedEvent`] as the reader goes.
struct Tape<'a> {
    text: &'a str,
    event: ParsedEvent<'a>,
}

impl Tape<'_> {
    /// (decoded, start, length) of a string the reader produced.
    fn place(&mut self, s: Cow<'_, str>) -> (bool, u32, u32) {
        match s {
            Cow::Borrowed(b) => {
                let start = b.as_ptr() as usize - self.text.as_ptr() as usize;
                (false, start as u32, b.len() as u32)
            }
            Cow::Owned(o) => {
                let start = self.event.decoded.len();
                self.event.decoded.push_str(&o);
                (true, start as u32, o.len() as u32)
            }
        }
    }

    fn push(&mut self, kind: Kind, decoded: bool, a: u32, b: u32) -> u32 {
        let index = self.event.tokens.len() as u32;
        self.event.tokens.push(Token {
            kind,
            decoded,
            dotted: false,
            a,
            b,
            hash: 0,
        });
        index
    }

    fn close(&mut self, container: u32) {
        let end = self.event.tokens.len() as u32;
        if let Some(t) = self.event.tokens.get_mut(container as usize) {
            t.a = end;
        }
    }
}

impl<'a> Build<'a> for Tape<'a> {
    type Value = ();
    type Object = u32;
    type Array = u32;

    fn scalar(&mut self, value: Value<'a>, _offset: usize) {
        match value {
            Value::String(s) => {
                let (decoded, a, b) = self.place(s);
                self.push(Kind::String, decoded, a, b);
            }
            Value::Number(n) => {
                let (decoded, a, b) = self.place(Cow::Borrowed(n));
                self.push(Kind::Number, decoded, a, b);
            }
            Value::Bool(true) => {
                self.push(Kind::True, false, 0, 0);
            }
            Value::Bool(false) => {
                self.push(Kind::False, false, 0, 0);
            }
            Value::Null | Value::Array(_) | Value::Object(_) => {
                self.push(Kind::Null, false, 0, 0);
            }
        }
    }

    fn object_start(&mut self, _offset: usize) -> u32 {
        self.push(Kind::Object, false, 0, 0)
    }

    fn object_key(&mut self, _object: &mut u32, key: Cow<'a, str>) {
        let hash = name_hash(key.as_bytes());
        let dotted = key.as_bytes().contains(&b'.');
        let (decoded, a, b) = self.place(key);
        let index = self.push(Kind::Key, decoded, a, b);
        if let Some(t) = self.event.tokens.get_mut(index as usize) {
            t.hash = hash;
            t.dotted = dotted;
        }
    }

    fn object_value(&mut self, _object: &mut u32, _value: ()) {}

    fn object_end(&mut self, object: u32) {
        self.close(object);
    }

    fn array_start(&mut self, _offset: usize) -> u32 {
        self.push(Kind::Array, false, 0, 0)
    }

    fn array_item(&mut self, _array: &mut u32, _value: ()) {}

    fn array_end(&mut self, array: u32) {
        self.close(array);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_skip_to_their_end_and_names_keep_escapes_decoded() {
        let text = r#"{"a": {"x": [1, {"y": 2}]}, "b\u002ec": "s\"q", "d": true}"#;
        let event = ParsedEvent::parse(text).unwrap();
        let members: Vec<(String, u32)> = event
            .members(0)
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(event.name(k).bytes()).into_owned(),
                    v,
                )
            })
            .collect();
        let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b.c", "d"]);
        assert!(event.name(members[1].1 - 1).dotted);
        assert_eq!(
            event.scalar(members[1].1),
            Some(Scalar::String("s\"q".into()))
        );
        assert_eq!(event.scalar(members[2].1), Some(Scalar::Bool(true)));
        let inner = event.members(members[0].1).next().unwrap().1;
        assert_eq!(event.items(inner).count(), 2);
        assert_eq!(event.name(1).hash, name_hash(b"a"));
    }

    #[test]
    fn top_level_scalars_and_arrays_parse() {
        assert_eq!(ParsedEvent::parse("[1, 2]").unwrap().kind_name(), "array");
        assert!(!ParsedEvent::parse("3").unwrap().is_object());
        assert!(ParsedEvent::parse("{\"a\": }").is_err());
    }
}
