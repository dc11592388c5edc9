//! The flat layout events are matched in.
//!
//! A tree of `Vec`s puts every object of an event in its own allocation, so
//! walking a finding that is no longer in cache costs one dependent memory
//! fetch per level (detail → resource → ecsClusterDetails → name). Matching
//! throughput on 10,000 findings was half of what it was on 100 cached ones.
//! [`ParsedEvent`] instead stores each object and array as a *directory*: its
//! members' entries side by side in one array shared by the whole event,
//! outermost level first.
//! - Walking an object reads its directory contiguously; a member no
//!   pattern names costs one 16-byte entry, whatever its value holds.
//! - The levels nearly every walk reads (the envelope, `detail`,
//!   `detail.resource`) sit in the first few cache lines, which matching
//!   reads ahead all at once.
//! - Each entry carries its name's hash, computed while parsing, so looking
//!   a name up among the names patterns use compares integers. The name's
//!   bytes, copied per directory into one buffer, are read only on a hit.
//! - Scalars sit in the entry: strings and numbers as a range of the event
//!   text (or of a side buffer for the few strings with escapes).

use std::borrow::Cow;

use crate::json::{self, Build, JsonError, Value};
use crate::value::{Number, Scalar};

/// An event parsed for matching. Borrows the event text.
#[derive(Debug, Clone)]
pub struct ParsedEvent<'a> {
    text: &'a str,
    /// The whole event's entry.
    root: Entry,
    /// Every directory: outermost level first after a full parse, in the
    /// order containers closed after a pruned one (small enough that the
    /// order does not matter).
    entries: Vec<Entry>,
    /// Member names, each directory's together.
    names: Vec<u8>,
    /// Strings that contained escapes, decoded.
    decoded: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

/// A value, and for object members its name, in 16 bytes so four fit a
/// cache line. `a` and the length in `b` are a byte range (start, length)
/// for strings and numbers, or the first entry and count of a container's
/// directory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// [`name_hash`] of the member name.
    pub hash: u32,
    /// Where the name is in `names` (bit 31: it has a `.` in it, and
    /// EventBridge splits it into path segments).
    name: u32,
    a: u32,
    /// Bits 0..28: length or count; 28..31: [`Kind`]; 31: the string is in
    /// `decoded`, not in the event text.
    b: u32,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 16);

const LENGTH_BITS: u32 = 28;
const LENGTH_MASK: u32 = (1 << LENGTH_BITS) - 1;
const DECODED: u32 = 1 << 31;
const DOTTED: u32 = 1 << 31;

impl Entry {
    fn value(kind: Kind, decoded: bool, a: u32, len: u32) -> Entry {
        let decoded = if decoded { DECODED } else { 0 };
        Entry {
            hash: 0,
            name: 0,
            a,
            b: (len & LENGTH_MASK) | ((kind as u32) << LENGTH_BITS) | decoded,
        }
    }

    pub fn kind(&self) -> Kind {
        match (self.b >> LENGTH_BITS) & 7 {
            0 => Kind::Object,
            1 => Kind::Array,
            2 => Kind::String,
            3 => Kind::Number,
            4 => Kind::True,
            5 => Kind::False,
            _ => Kind::Null,
        }
    }

    fn len(&self) -> usize {
        (self.b & LENGTH_MASK) as usize
    }

    fn is_decoded(&self) -> bool {
        self.b & DECODED != 0
    }

    fn name_at(&self) -> usize {
        (self.name & !DOTTED) as usize
    }

    pub fn is_dotted(&self) -> bool {
        self.name & DOTTED != 0
    }

    pub fn is_container(&self) -> bool {
        matches!(self.kind(), Kind::Object | Kind::Array)
    }
}

/// The hash member names are compared by, computed once per name at parse
/// time and once per path segment when patterns are compiled.
/// The last 1 to 7 bytes of a name as a little-endian word, zero-padded,
/// read with a few whole loads: bytes copied into a stack buffer and read
/// back as one word make the load wait for every byte store (a
/// store-forwarding stall, on every member name of every event).
#[inline(always)]
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    if n >= 4 {
        let lo = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let hi = u32::from_le_bytes([rest[n - 4], rest[n - 3], rest[n - 2], rest[n - 1]]);
        // The two loads overlap where n < 8; overlapping bytes are equal.
        u64::from(lo) | (u64::from(hi) << ((n - 4) * 8))
    } else {
        // n is 1 to 3: bytes 0, n/2 and n-1 cover every position.
        u64::from(rest[0])
            | (u64::from(rest[n / 2]) << (8 * (n / 2)))
            | (u64::from(rest[n - 1]) << (8 * (n - 1)))
    }
}

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
        h = mix(h, tail_word(rest));
    }
    (h >> 32) as u32
}

/// How much of the directories [`ParsedEvent::warm`] reads ahead.
const WARM_BYTES: usize = 1024;

/// Largest event text the 28-bit lengths of the layout can describe
/// (256 MiB). EventBridge's own limit is 256 KB.
pub const MAX_EVENT_BYTES: usize = LENGTH_MASK as usize;

/// What one pattern set reads of an event: its path trie. A reader given
/// one keeps only the members some pattern of the set names and passes
/// over the rest without building their entries.
pub(crate) trait Prune {
    /// The path node `name` leads to from `node`; `None` when no pattern
    /// names it there. The root is node 0.
    fn child(&self, node: u32, name: &[u8], hash: u32) -> Option<u32>;
}

/// Below a dotted member name (which EventBridge splits into segments) or
/// without a [`Prune`], everything is kept.
const UNPRUNED: u32 = u32::MAX;

impl<'a> ParsedEvent<'a> {
    /// Parses event text (the caller checks [`MAX_EVENT_BYTES`]).
    pub(crate) fn parse(text: &'a str) -> Result<ParsedEvent<'a>, JsonError> {
        ParsedEvent::read(text, None)
    }

    /// Parses only what `prune` names: an event for that pattern set alone
    /// (another set may name members it left out). Skipped values are
    /// checked only for terminated strings and balanced brackets.
    pub(crate) fn parse_pruned(
        text: &'a str,
        prune: &dyn Prune,
    ) -> Result<ParsedEvent<'a>, JsonError> {
        ParsedEvent::read(text, Some(prune))
    }

    fn read(text: &'a str, prune: Option<&dyn Prune>) -> Result<ParsedEvent<'a>, JsonError> {
        let pruned = prune.is_some();
        let buffers = Buffers {
            entries: Vec::with_capacity(if pruned { 64 } else { text.len() / 16 }),
            names: Vec::with_capacity(if pruned { 256 } else { text.len() / 4 }),
            ..Buffers::default()
        };
        ParsedEvent::read_with(text, prune, &mut { buffers })
    }

    /// Parses into `buffers`' memory (left empty until
    /// [`ParsedEvent::recycle`] gives it back), so a matcher reading event
    /// after event allocates nothing once the buffers have grown.
    pub(crate) fn read_with(
        text: &'a str,
        prune: Option<&dyn Prune>,
        buffers: &mut Buffers,
    ) -> Result<ParsedEvent<'a>, JsonError> {
        let pruned = prune.is_some();
        let mut directories = Directories {
            text,
            event: ParsedEvent {
                text,
                root: Entry::value(Kind::Null, false, 0, 0),
                entries: cleared(std::mem::take(&mut buffers.entries)),
                names: cleared(std::mem::take(&mut buffers.names)),
                decoded: {
                    let mut s = std::mem::take(&mut buffers.decoded);
                    s.clear();
                    s
                },
            },
            pending: relabel(std::mem::take(&mut buffers.pending)),
            prune,
            nodes: cleared(std::mem::take(&mut buffers.nodes)),
            next: if pruned { 0 } else { UNPRUNED },
        };
        let root = json::read(text, &mut directories);
        buffers.pending = relabel(directories.pending);
        buffers.nodes = directories.nodes;
        let mut event = directories.event;
        event.root = root?;
        if !pruned {
            event.breadth_first();
        }
        Ok(event)
    }

    /// Gives the event's memory back to `buffers` for the next event.
    pub(crate) fn recycle(self, buffers: &mut Buffers) {
        buffers.entries = self.entries;
        buffers.names = self.names;
        buffers.decoded = self.decoded;
    }

    /// Rewrites the directories outermost level first, the root's at the
    /// start. The reader can only write a directory when its container
    /// closes, which puts the levels every walk reads (the envelope,
    /// `detail`) after the subtrees most walks skip (tags, process lineage);
    /// in this order a walk reads forward through a few adjacent lines.
    fn breadth_first(&mut self) {
        let written = std::mem::take(&mut self.entries);
        let written_names = std::mem::take(&mut self.names);
        let mut entries = Vec::with_capacity(written.len() + 1);
        let mut names = Vec::with_capacity(written_names.len());
        // The root's directory is rewritten like any other, then the root
        // is taken back out of the array.
        entries.push(self.root);
        let mut next = 0;
        while let Some(&container) = entries.get(next) {
            if container.is_container() {
                let start = entries.len();
                let from = container.a as usize;
                for member in written
                    .get(from..from + container.len())
                    .unwrap_or_default()
                {
                    let mut member = *member;
                    if container.kind() == Kind::Object {
                        let at = member.name_at();
                        let len = name_length(&written_names, at);
                        member.name = (member.name & DOTTED) | names.len() as u32;
                        names.extend_from_slice(
                            written_names.get(at..at + 4 + len).unwrap_or_default(),
                        );
                    }
                    entries.push(member);
                }
                entries[next].a = start as u32;
            }
            next += 1;
        }
        self.root = entries[0];
        self.entries = entries;
        self.names = names;
    }

    /// The event's JSON text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Reads the first cache lines of the directories and names with
    /// independent loads, which the CPU overlaps; walking them afterwards
    /// hits the cache, where otherwise each level down would wait on memory.
    /// The outer levels come first (see `breadth_first`), so the first
    /// [`WARM_BYTES`] hold what nearly every walk reads.
    pub(crate) fn warm(&self) -> u32 {
        const ENTRY: usize = std::mem::size_of::<Entry>();
        let mut acc = 0u32;
        // One load per cache line.
        let entries = &self.entries[..self.entries.len().min(WARM_BYTES / ENTRY)];
        for e in entries.iter().step_by(64 / ENTRY) {
            acc ^= e.hash;
        }
        let names = &self.names[..self.names.len().min(WARM_BYTES)];
        for b in names.iter().step_by(64) {
            acc ^= u32::from(*b);
        }
        acc
    }

    /// The whole event's entry.
    pub(crate) fn root(&self) -> &Entry {
        &self.root
    }

    /// Whether the event is a JSON object.
    pub fn is_object(&self) -> bool {
        self.root().kind() == Kind::Object
    }

    /// The JSON type name of the whole event, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self.root().kind() {
            Kind::Object => "object",
            Kind::Array => "array",
            Kind::String => "string",
            Kind::Number => "number",
            Kind::True | Kind::False => "boolean",
            Kind::Null => "null",
        }
    }

    /// Whether the top-level object has a member with this name.
    pub fn has_member(&self, name: &str) -> bool {
        self.is_object()
            && self
                .directory(self.root())
                .iter()
                .any(|e| self.name(e) == name.as_bytes())
    }

    /// The members (objects) or items (arrays) of a container entry; empty
    /// for scalars.
    pub(crate) fn directory(&self, container: &Entry) -> &[Entry] {
        if !container.is_container() {
            return &[];
        }
        let start = container.a as usize;
        self.entries
            .get(start..start + container.len())
            .unwrap_or_default()
    }

    /// A member's name.
    pub(crate) fn name(&self, member: &Entry) -> &[u8] {
        let at = member.name_at();
        let len = name_length(&self.names, at);
        self.names.get(at + 4..at + 4 + len).unwrap_or_default()
    }

    /// The text of a string or number entry (decoded, for a string that had
    /// escapes).
    #[inline]
    pub(crate) fn number_text(&self, e: &Entry) -> &str {
        let (start, len) = (e.a as usize, e.len());
        let source = if e.is_decoded() {
            self.decoded.as_str()
        } else {
            self.text
        };
        source.get(start..start + len).unwrap_or_default()
    }

    /// The leaf value of a scalar entry (`None` for containers), with the
    /// float value of a number given by `value`: the matcher parses a
    /// number once per event, and only where an operand compares floats.
    #[inline(always)]
    pub(crate) fn scalar_with(
        &self,
        e: &Entry,
        value: impl FnOnce(&str) -> Option<f64>,
    ) -> Option<Scalar<'_>> {
        // Cut at token boundaries, so always on char boundaries.
        let text = || self.number_text(e);
        Some(match e.kind() {
            Kind::String => Scalar::String(Cow::Borrowed(text())),
            Kind::Number => {
                let text = text();
                Scalar::Number(Number {
                    value: value(text),
                    text: Cow::Borrowed(text),
                })
            }
            Kind::True => Scalar::Bool(true),
            Kind::False => Scalar::Bool(false),
            Kind::Null => Scalar::Null,
            Kind::Object | Kind::Array => return None,
        })
    }
}

/// The length of the name at `at` in a names buffer, where each name
/// follows its length as four little-endian bytes.
fn name_length(names: &[u8], at: usize) -> usize {
    let mut len = [0u8; 4];
    if let Some(prefix) = names.get(at..at + 4) {
        len.copy_from_slice(prefix);
    }
    u32::from_le_bytes(len) as usize
}

/// Memory a [`ParsedEvent`] and its reader use, kept between events.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    entries: Vec<Entry>,
    names: Vec<u8>,
    decoded: String,
    pending: Vec<(Cow<'static, str>, Entry)>,
    nodes: Vec<u32>,
}

fn cleared<T>(mut v: Vec<T>) -> Vec<T> {
    v.clear();
    v
}

/// The same memory for names borrowed from another text: the vector is
/// emptied first, so no name outlives its text, and collecting an empty
/// vector into one of the same layout keeps its allocation.
fn relabel<'x, 'y>(v: Vec<(Cow<'x, str>, Entry)>) -> Vec<(Cow<'y, str>, Entry)> {
    cleared(v)
        .into_iter()
        .map(|(name, entry)| (Cow::Owned(name.into_owned()), entry))
        .collect()
}

/// Builds a [`ParsedEvent`] as the reader goes.
struct Directories<'a, 'p> {
    text: &'a str,
    event: ParsedEvent<'a>,
    /// Entries of the containers still open, innermost last, with the
    /// member names not yet copied.
    pending: Vec<(Cow<'a, str>, Entry)>,
    prune: Option<&'p dyn Prune>,
    /// The path node of each open container, innermost last.
    nodes: Vec<u32>,
    /// The path node of the value about to be read.
    next: u32,
}

impl<'a> Directories<'a, '_> {
    /// An entry for a string or number the reader produced.
    #[inline]
    fn place(&mut self, kind: Kind, s: Cow<'_, str>) -> Entry {
        match s {
            Cow::Borrowed(b) => {
                let start = b.as_ptr() as usize - self.text.as_ptr() as usize;
                Entry::value(kind, false, start as u32, b.len() as u32)
            }
            Cow::Owned(o) => {
                let start = self.event.decoded.len();
                self.event.decoded.push_str(&o);
                Entry::value(kind, true, start as u32, o.len() as u32)
            }
        }
    }

    /// Moves the entries pushed since `start` into a directory.
    fn close(&mut self, kind: Kind, start: usize) -> Entry {
        let first = self.event.entries.len();
        let count = self.pending.len().saturating_sub(start);
        for (name, mut entry) in self.pending.drain(start..) {
            if kind == Kind::Object {
                let dotted = if name.as_bytes().contains(&b'.') {
                    DOTTED
                } else {
                    0
                };
                // `entry.hash` was set when the name was read.
                entry.name = self.event.names.len() as u32 | dotted;
                let len = name.len() as u32;
                self.event.names.extend_from_slice(&len.to_le_bytes());
                self.event.names.extend_from_slice(name.as_bytes());
            }
            self.event.entries.push(entry);
        }
        Entry::value(kind, false, first as u32, count as u32)
    }
}

impl<'a> Build<'a> for Directories<'a, '_> {
    type Value = Entry;
    /// Where the container's entries start in `pending`, and for objects
    /// the name of the member being read and its hash.
    type Object = (usize, Cow<'a, str>, u32);
    type Array = usize;

    #[inline]
    fn scalar(&mut self, value: Value<'a>, _offset: usize) -> Entry {
        match value {
            Value::String(s) => self.place(Kind::String, s),
            Value::Number(n) => self.place(Kind::Number, Cow::Borrowed(n)),
            Value::Bool(true) => Entry::value(Kind::True, false, 0, 0),
            Value::Bool(false) => Entry::value(Kind::False, false, 0, 0),
            Value::Null | Value::Array(_) | Value::Object(_) => {
                Entry::value(Kind::Null, false, 0, 0)
            }
        }
    }

    fn object_start(&mut self, _offset: usize) -> Self::Object {
        self.nodes.push(self.next);
        (self.pending.len(), Cow::Borrowed(""), 0)
    }

    #[inline]
    fn object_key(&mut self, object: &mut Self::Object, key: Cow<'a, str>) -> bool {
        let hash = name_hash(key.as_bytes());
        if let Some(prune) = self.prune {
            let node = self.nodes.last().copied().unwrap_or(UNPRUNED);
            self.next = if node == UNPRUNED || key.as_bytes().contains(&b'.') {
                UNPRUNED
            } else {
                match prune.child(node, key.as_bytes(), hash) {
                    Some(child) => child,
                    None => return false,
                }
            };
        }
        object.1 = key;
        object.2 = hash;
        true
    }

    #[inline]
    fn object_value(&mut self, object: &mut Self::Object, mut value: Entry) {
        let name = std::mem::take(&mut object.1);
        value.hash = object.2;
        self.pending.push((name, value));
    }

    fn object_end(&mut self, object: Self::Object) -> Entry {
        self.nodes.pop();
        self.close(Kind::Object, object.0)
    }

    fn array_start(&mut self, _offset: usize) -> usize {
        self.nodes.push(self.next);
        self.pending.len()
    }

    #[inline]
    fn array_item(&mut self, _array: &mut usize, value: Entry) {
        self.pending.push((Cow::Borrowed(""), value));
        // Items share the array's path node; the item just read moved it.
        self.next = self.nodes.last().copied().unwrap_or(UNPRUNED);
    }

    fn array_end(&mut self, array: usize) -> Entry {
        self.nodes.pop();
        self.close(Kind::Array, array)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_of_a_name_reads_as_its_zero_padded_little_endian_word() {
        let bytes: Vec<u8> = (1..=7u8).map(|b| b.wrapping_mul(37) | 0x80).collect();
        for n in 1..=7 {
            let mut word = [0u8; 8];
            word[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(
                tail_word(&bytes[..n]),
                u64::from_le_bytes(word),
                "{n} bytes"
            );
        }
    }

    #[test]
    fn directories_hold_members_in_order_with_names_decoded() {
        let text = r#"{"a": {"x": [1, {"y": 2}]}, "b\u002ec": "s\"q", "d": true}"#;
        let event = ParsedEvent::parse(text).unwrap();
        let top = event.directory(event.root());
        let names: Vec<&[u8]> = top.iter().map(|e| event.name(e)).collect();
        assert_eq!(names, [&b"a"[..], b"b.c", b"d"]);
        assert!(top[1].is_dotted() && !top[0].is_dotted());
        assert_eq!(top[0].hash, name_hash(b"a"));
        assert_eq!(
            event.scalar_with(&top[1], |_| None),
            Some(Scalar::String("s\"q".into()))
        );
        assert_eq!(
            event.scalar_with(&top[2], |_| None),
            Some(Scalar::Bool(true))
        );
        let x = &event.directory(&top[0])[0];
        assert_eq!(event.name(x), b"x");
        let items = event.directory(x);
        assert_eq!(items.len(), 2);
        assert_eq!(event.name(&event.directory(&items[1])[0]), b"y");
        assert!(event.has_member("d") && !event.has_member("x"));
    }

    #[test]
    fn outer_levels_come_first() {
        let event = ParsedEvent::parse(r#"{"a": {"deep": {"x": 1}}, "b": [{"y": 2}]}"#).unwrap();
        // root, then [a, b], then a's [deep] and b's [item], then [x], [y].
        let starts: Vec<u32> = event
            .entries
            .iter()
            .filter(|e| e.is_container())
            .map(|e| e.a)
            .collect();
        assert_eq!(starts, [1, 3, 4, 5, 6]);
        let names: Vec<&[u8]> = event
            .entries
            .iter()
            .filter(|e| e.kind() == Kind::Object)
            .flat_map(|o| event.directory(o).iter().map(|m| event.name(m)))
            .collect();
        assert_eq!(names, [&b"a"[..], b"b", b"deep", b"x", b"y"]);
    }

    #[test]
    fn top_level_scalars_and_arrays_parse() {
        assert_eq!(ParsedEvent::parse("[1, 2]").unwrap().kind_name(), "array");
        assert!(!ParsedEvent::parse("3").unwrap().is_object());
        assert!(ParsedEvent::parse("{\"a\": }").is_err());
        assert!(ParsedEvent::parse("{}").unwrap().is_object());
    }
}
