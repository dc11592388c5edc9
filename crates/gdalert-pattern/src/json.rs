//! A small JSON reader that keeps what EventBridge semantics need and
//! `serde_json::Value` drops.
//!
//! Why not `serde_json::Value`:
//! - **Number text.** EventBridge compares numbers by value only when the
//!   literal is exactly what a float64 prints as; otherwise it compares the
//!   literal text (`0.10000000000000001` is not `0.1`). `Value` keeps an `f64`.
//! - **Duplicate keys.** EventBridge processes keys in order, later ones
//!   replacing earlier ones *per flattened path*; a map loses the order.
//! - **Locations.** Pattern errors name a JSON pointer, line and column.
//! - **Borrowing.** Strings without escapes borrow from the input, so
//!   parsing a 7 KB finding allocates little; this is on the hot path.
//!
//! Error messages follow the wording of the Jackson parser behind
//! EventBridge, so a malformed pattern reads the same here as in AWS.

use std::borrow::Cow;

/// Nesting deeper than this is rejected rather than risking the stack.
pub const MAX_DEPTH: usize = 256;

/// A parsed JSON node and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'a> {
    pub value: Value<'a>,
    pub offset: usize,
}

/// A JSON value. Objects keep every member in source order, duplicates too.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// The number exactly as written.
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<Member<'a>>),
}

/// One `"key": value` pair of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Member<'a> {
    pub key: Cow<'a, str>,
    pub value: Node<'a>,
}

impl Value<'_> {
    /// The JSON type name used in messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

/// A syntax error, with Jackson's wording and the byte offset it was found at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub message: String,
    pub offset: usize,
}

/// 1-based line and column of a byte offset, as editors count them.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let upto = &text.as_bytes()[..offset.min(text.len())];
    let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = upto.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&upto[line_start..]).chars().count() + 1;
    (line, column)
}

/// Parses one JSON document; anything but whitespace after it is an error.
pub fn parse(text: &str) -> Result<Node<'_>, JsonError> {
    read(text, &mut TreeBuilder)
}

/// What a parse builds. The reader checks the grammar and reports the
/// document to a builder in order, so the tree ([`Node`]) and the flat
/// event layout ([`crate::event::Event`]) share one grammar and one set of
/// error messages.
pub(crate) trait Build<'a> {
    type Value;
    type Object;
    type Array;
    /// A string, number, boolean or null.
    fn scalar(&mut self, value: Value<'a>, offset: usize) -> Self::Value;
    fn object_start(&mut self, offset: usize) -> Self::Object;
    /// A member's name; `false` asks the reader to skip its value (no
    /// `object_value` follows): nothing will ever read it.
    fn object_key(&mut self, object: &mut Self::Object, key: Cow<'a, str>) -> bool;
    fn object_value(&mut self, object: &mut Self::Object, value: Self::Value);
    fn object_end(&mut self, object: Self::Object) -> Self::Value;
    fn array_start(&mut self, offset: usize) -> Self::Array;
    fn array_item(&mut self, array: &mut Self::Array, value: Self::Value);
    fn array_end(&mut self, array: Self::Array) -> Self::Value;
}

/// Reads one JSON document into `build`.
pub(crate) fn read<'a, B: Build<'a>>(text: &'a str, build: &mut B) -> Result<B::Value, JsonError> {
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        build,
    };
    reader.skip_ws();
    if reader.pos >= reader.bytes.len() {
        return Err(reader.error("No content to map due to end-of-input"));
    }
    let node = reader.value(0)?;
    reader.skip_ws();
    if let Some(c) = reader.peek_char() {
        return Err(reader.error(format!("{}: expected end of input", unexpected(c))));
    }
    Ok(node)
}

/// Builds the [`Node`] tree.
struct TreeBuilder;

impl<'a> Build<'a> for TreeBuilder {
    type Value = Node<'a>;
    type Object = (usize, Vec<Member<'a>>, Cow<'a, str>);
    type Array = (usize, Vec<Node<'a>>);

    fn scalar(&mut self, value: Value<'a>, offset: usize) -> Node<'a> {
        Node { value, offset }
    }
    fn object_start(&mut self, offset: usize) -> Self::Object {
        (offset, Vec::new(), Cow::Borrowed(""))
    }
    fn object_key(&mut self, object: &mut Self::Object, key: Cow<'a, str>) -> bool {
        object.2 = key;
        true
    }
    fn object_value(&mut self, object: &mut Self::Object, value: Node<'a>) {
        let key = std::mem::take(&mut object.2);
        object.1.push(Member { key, value });
    }
    fn object_end(&mut self, object: Self::Object) -> Node<'a> {
        Node {
            value: Value::Object(object.1),
            offset: object.0,
        }
    }
    fn array_start(&mut self, offset: usize) -> Self::Array {
        (offset, Vec::new())
    }
    fn array_item(&mut self, array: &mut Self::Array, value: Node<'a>) {
        array.1.push(value);
    }
    fn array_end(&mut self, array: Self::Array) -> Node<'a> {
        Node {
            value: Value::Array(array.1),
            offset: array.0,
        }
    }
}

/// What a document that stops with a syntax error held before it: the
/// values it completed, inside the containers still open at the error.
#[derive(Debug)]
pub struct Prefix<'a> {
    /// The root with every completed value in place; an open container
    /// holds the values it completed (a member whose value never began is
    /// left out).
    pub root: Node<'a>,
    /// Where each container still open at the error starts.
    pub open: Vec<usize>,
    /// Where a scalar whose container is still open starts: a check that
    /// reads it beside its siblings (an operator and its operand) may have
    /// seen only half of them.
    pub in_open: Vec<usize>,
}

/// Reads `text` as far as it is JSON. `None` when it parses whole (use
/// [`parse`]) or when nothing was read. A streaming reader such as
/// EventBridge's reports a problem it meets in this prefix before the
/// syntax error that follows it; see `syntax::compile`.
pub fn parse_prefix(text: &str) -> Option<Prefix<'_>> {
    let mut build = PrefixBuilder { open: Vec::new() };
    if read(text, &mut build).is_ok() {
        return None;
    }
    // Close what is still open, innermost first: each container holds what
    // it completed and the container inside it.
    let (mut open, mut in_open) = (Vec::new(), Vec::new());
    let mut child: Option<Node<'_>> = None;
    while let Some(frame) = build.open.pop() {
        let (offset, value) = match frame {
            Open::Object(offset, mut members, key) => {
                in_open.extend(members.iter().map(|m| &m.value).filter_map(scalar_offset));
                if let (Some(key), Some(value)) = (key, child.take()) {
                    members.push(Member { key, value });
                }
                (offset, Value::Object(members))
            }
            Open::Array(offset, mut items) => {
                in_open.extend(items.iter().filter_map(scalar_offset));
                items.extend(child.take());
                (offset, Value::Array(items))
            }
        };
        open.push(offset);
        child = Some(Node { value, offset });
    }
    Some(Prefix {
        root: child?,
        open,
        in_open,
    })
}

/// A container the prefix reader has opened and not yet closed, with what
/// it completed (and, for an object, the name whose value is being read).
enum Open<'a> {
    Object(usize, Vec<Member<'a>>, Option<Cow<'a, str>>),
    Array(usize, Vec<Node<'a>>),
}

/// Where `node` starts, if it is a scalar.
fn scalar_offset(node: &Node<'_>) -> Option<usize> {
    (!matches!(node.value, Value::Object(_) | Value::Array(_))).then_some(node.offset)
}

/// Builds the tree on its own stack, so what was open survives an error.
/// Only a refused pattern is read with it: [`TreeBuilder`], which keeps
/// open containers in the reader's frames, compiles patterns about 1.6×
/// faster (`cargo bench -p gdalert-pattern --bench peers -- compile`).
struct PrefixBuilder<'a> {
    open: Vec<Open<'a>>,
}

impl<'a> PrefixBuilder<'a> {
    fn close(&mut self) -> Node<'a> {
        match self.open.pop() {
            Some(Open::Object(offset, members, _)) => Node {
                value: Value::Object(members),
                offset,
            },
            Some(Open::Array(offset, items)) => Node {
                value: Value::Array(items),
                offset,
            },
            // The reader closes only what it opened.
            None => Node {
                value: Value::Null,
                offset: 0,
            },
        }
    }
}

impl<'a> Build<'a> for PrefixBuilder<'a> {
    type Value = Node<'a>;
    type Object = ();
    type Array = ();

    fn scalar(&mut self, value: Value<'a>, offset: usize) -> Node<'a> {
        Node { value, offset }
    }
    fn object_start(&mut self, offset: usize) {
        self.open.push(Open::Object(offset, Vec::new(), None));
    }
    fn object_key(&mut self, _: &mut (), key: Cow<'a, str>) -> bool {
        if let Some(Open::Object(_, _, pending)) = self.open.last_mut() {
            *pending = Some(key);
        }
        true
    }
    fn object_value(&mut self, _: &mut (), value: Node<'a>) {
        if let Some(Open::Object(_, members, pending)) = self.open.last_mut() {
            if let Some(key) = pending.take() {
                members.push(Member { key, value });
            }
        }
    }
    fn object_end(&mut self, _: ()) -> Node<'a> {
        self.close()
    }
    fn array_start(&mut self, offset: usize) {
        self.open.push(Open::Array(offset, Vec::new()));
    }
    fn array_item(&mut self, _: &mut (), value: Node<'a>) {
        if let Some(Open::Array(_, items)) = self.open.last_mut() {
            items.push(value);
        }
    }
    fn array_end(&mut self, _: ()) -> Node<'a> {
        self.close()
    }
}

/// Reads one JSON document into a [`serde_json::Value`] with EventBridge's
/// grammar and limits, for readers that want serde's tree but must accept
/// exactly the events the matcher accepts: nesting up to [`MAX_DEPTH`]
/// (serde_json stops at 128), and numbers outside float64's range
/// (`1e400`), which serde_json refuses and which are kept here as their
/// literal text, a string. Duplicate keys keep the last value, as serde does.
pub fn to_value(text: &str) -> Result<serde_json::Value, JsonError> {
    read(text, &mut SerdeBuilder)
}

/// Builds a [`serde_json::Value`].
struct SerdeBuilder;

impl<'a> Build<'a> for SerdeBuilder {
    type Value = serde_json::Value;
    type Object = (serde_json::Map<String, serde_json::Value>, String);
    type Array = Vec<serde_json::Value>;

    fn scalar(&mut self, value: Value<'a>, _offset: usize) -> serde_json::Value {
        match value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Number(text) => match text.parse::<serde_json::Number>() {
                Ok(n) => serde_json::Value::Number(n),
                Err(_) => serde_json::Value::String(text.to_string()),
            },
            Value::String(s) => serde_json::Value::String(s.into_owned()),
            // Containers come through object_start / array_start.
            Value::Array(_) | Value::Object(_) => serde_json::Value::Null,
        }
    }
    fn object_start(&mut self, _offset: usize) -> Self::Object {
        (serde_json::Map::new(), String::new())
    }
    fn object_key(&mut self, object: &mut Self::Object, key: Cow<'a, str>) -> bool {
        object.1 = key.into_owned();
        true
    }
    fn object_value(&mut self, object: &mut Self::Object, value: serde_json::Value) {
        let key = std::mem::take(&mut object.1);
        object.0.insert(key, value);
    }
    fn object_end(&mut self, object: Self::Object) -> serde_json::Value {
        serde_json::Value::Object(object.0)
    }
    fn array_start(&mut self, _offset: usize) -> Self::Array {
        Vec::new()
    }
    fn array_item(&mut self, array: &mut Self::Array, value: serde_json::Value) {
        array.push(value);
    }
    fn array_end(&mut self, array: Self::Array) -> serde_json::Value {
        serde_json::Value::Array(array)
    }
}

fn unexpected(c: char) -> String {
    format!("Unexpected character ('{c}' (code {}))", c as u32)
}

struct Reader<'a, 'b, B> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    build: &'b mut B,
}

impl<'a, B: Build<'a>> Reader<'a, '_, B> {
    fn error(&self, message: impl Into<String>) -> JsonError {
        JsonError {
            message: message.into(),
            offset: self.pos,
        }
    }

    fn peek_char(&self) -> Option<char> {
        self.text.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<B::Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("Maximum nesting depth ({MAX_DEPTH}) exceeded")));
        }
        match self.bytes.get(self.pos) {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(_) => self.scalar(),
            None => Err(self.error("Unexpected end-of-input: expected a value")),
        }
    }

    /// A member or item: containers through [`Reader::value`], scalars
    /// inline (most values are scalars, and a value returned from a call
    /// comes back through memory).
    #[inline(always)]
    fn item(&mut self, depth: usize) -> Result<B::Value, JsonError> {
        match self.bytes.get(self.pos) {
            Some(b'{' | b'[') | None => self.value(depth),
            Some(_) if depth > MAX_DEPTH => self.value(depth),
            Some(_) => self.scalar(),
        }
    }

    /// A string, number or literal at `self.pos`.
    #[inline(always)]
    fn scalar(&mut self) -> Result<B::Value, JsonError> {
        let offset = self.pos;
        let value = match self.bytes.get(self.pos) {
            Some(b'"') => Value::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            _ => self.literal()?,
        };
        Ok(self.build.scalar(value, offset))
    }

    fn literal(&mut self) -> Result<Value<'a>, JsonError> {
        let start = self.pos;
        let rest = &self.text[start..];
        let token: &str = {
            let end = rest
                .char_indices()
                .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .map_or(rest.len(), |(i, _)| i);
            &rest[..end]
        };
        let value = match token {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            "" => {
                let c = self.peek_char().unwrap_or('\u{0}');
                return Err(self.error(format!("{}: expected a value", unexpected(c))));
            }
            other => {
                return Err(self.error(format!(
                    "Unrecognized token '{other}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
                )))
            }
        };
        self.pos += token.len();
        Ok(value)
    }

    fn object(&mut self, depth: usize) -> Result<B::Value, JsonError> {
        let mut object = self.build.object_start(self.pos);
        self.pos += 1; // '{'
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(self.build.object_end(object));
        }
        loop {
            self.skip_ws();
            match self.bytes.get(self.pos).copied() {
                Some(b'"') => {}
                Some(_) => {
                    let c = self.peek_char().unwrap_or('\u{0}');
                    return Err(self.error(format!(
                        "{}: was expecting double-quote to start field name",
                        unexpected(c)
                    )));
                }
                None => {
                    return Err(
                        self.error("Unexpected end-of-input: expected close marker for Object")
                    )
                }
            }
            let key = self.string()?;
            let wanted = self.build.object_key(&mut object, key);
            self.skip_ws();
            match self.bytes.get(self.pos).copied() {
                Some(b':') => self.pos += 1,
                Some(_) => {
                    let c = self.peek_char().unwrap_or('\u{0}');
                    return Err(self.error(format!(
                        "{}: was expecting a colon to separate field name and value",
                        unexpected(c)
                    )));
                }
                None => {
                    return Err(
                        self.error("Unexpected end-of-input: expected close marker for Object")
                    )
                }
            }
            self.skip_ws();
            if wanted {
                let value = self.item(depth + 1)?;
                self.build.object_value(&mut object, value);
            } else {
                self.skip_value(depth + 1)?;
            }
            self.skip_ws();
            match self.bytes.get(self.pos).copied() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(self.build.object_end(object));
                }
                Some(_) => {
                    let c = self.peek_char().unwrap_or('\u{0}');
                    return Err(self.error(format!(
                        "{}: was expecting comma to separate Object entries",
                        unexpected(c)
                    )));
                }
                None => {
                    return Err(
                        self.error("Unexpected end-of-input: expected close marker for Object")
                    )
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<B::Value, JsonError> {
        let mut array = self.build.array_start(self.pos);
        self.pos += 1; // '['
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(self.build.array_end(array));
        }
        loop {
            self.skip_ws();
            if self.pos >= self.bytes.len() {
                return Err(self.error("Unexpected end-of-input: expected close marker for Array"));
            }
            let item = self.item(depth + 1)?;
            self.build.array_item(&mut array, item);
            self.skip_ws();
            match self.bytes.get(self.pos).copied() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(self.build.array_end(array));
                }
                Some(_) => {
                    let c = self.peek_char().unwrap_or('\u{0}');
                    return Err(self.error(format!(
                        "{}: was expecting comma to separate Array entries",
                        unexpected(c)
                    )));
                }
                None => {
                    return Err(
                        self.error("Unexpected end-of-input: expected close marker for Array")
                    )
                }
            }
        }
    }

    /// Passes over a value nothing will read. Strings must end and brackets
    /// must balance (and nest no deeper than [`MAX_DEPTH`]); the rest of the
    /// grammar inside a skipped container is not checked. Scalars are read
    /// as usual.
    fn skip_value(&mut self, depth: usize) -> Result<(), JsonError> {
        match self.bytes.get(self.pos) {
            Some(b'{' | b'[') => {}
            Some(b'"') => return self.skip_string(),
            _ => return self.value(depth).map(drop),
        }
        let mut level = 0usize;
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.error("Unexpected end-of-input: expected close marker"));
            };
            match b {
                b'"' => {
                    self.skip_string()?;
                    continue;
                }
                b'{' | b'[' => {
                    level += 1;
                    if depth + level > MAX_DEPTH + 1 {
                        return Err(
                            self.error(format!("Maximum nesting depth ({MAX_DEPTH}) exceeded"))
                        );
                    }
                }
                b'}' | b']' => {
                    level -= 1;
                    if level == 0 {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// Passes over a string: to the first quote not escaped.
    fn skip_string(&mut self) -> Result<(), JsonError> {
        self.pos += 1; // opening quote
        loop {
            let rest = self.bytes.get(self.pos..).unwrap_or_default();
            match memchr::memchr2(b'"', b'\\', rest) {
                Some(i) if rest[i] == b'"' => {
                    self.pos += i + 1;
                    return Ok(());
                }
                Some(i) => self.pos += i + 2,
                None => {
                    self.pos = self.bytes.len();
                    return Err(self.error(
                        "Unexpected end-of-input: was expecting closing quote for a string value",
                    ));
                }
            }
        }
    }

    #[inline(always)]
    fn number(&mut self) -> Result<&'a str, JsonError> {
        let start = self.pos;
        let b = self.bytes;
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => {
                i += 1;
                if matches!(b.get(i), Some(b'0'..=b'9')) {
                    self.pos = i;
                    return Err(self.error("Invalid numeric value: Leading zeroes not allowed"));
                }
            }
            Some(b'1'..=b'9') => {
                while matches!(b.get(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
            }
            _ => {
                self.pos = i;
                let c = self
                    .peek_char()
                    .map_or("end-of-input".to_string(), |c| format!("'{c}'"));
                return Err(self.error(format!(
                    "Unexpected character ({c}) in numeric value: expected digit (0-9) to follow minus sign, for valid numeric value"
                )));
            }
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            let digits = i;
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            if i == digits {
                self.pos = i;
                return Err(self.error(
                    "Unexpected character in numeric value: Decimal point not followed by a digit",
                ));
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let digits = i;
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            if i == digits {
                self.pos = i;
                return Err(self.error("Unexpected character in numeric value: Exponent indicator not followed by a digit"));
            }
        }
        self.pos = i;
        Ok(&self.text[start..i])
    }

    /// Reads a string. The common case (no escape) is inlined into its
    /// callers: a `Cow` returned through memory from a call is written in
    /// parts and read back whole, which stalls the load on every string.
    #[inline(always)]
    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        self.pos += 1; // opening quote
        let start = self.pos;
        // Fast path: no escapes, borrow the slice. The quote or backslash
        // is found with memchr; the run before it is then checked for
        // control characters in one pass the compiler vectorises.
        let rest = self.bytes.get(start..).unwrap_or_default();
        let stop = memchr::memchr2(b'"', b'\\', rest);
        let run = &rest[..stop.unwrap_or(rest.len())];
        if let Some(bad) = run.iter().position(|&c| c < 0x20) {
            self.pos = start + bad;
            return Err(self.control_char(run[bad]));
        }
        self.pos = start + run.len();
        match stop {
            None => {
                return Err(self.error(
                    "Unexpected end-of-input: was expecting closing quote for a string value",
                ))
            }
            Some(i) if rest[i] == b'"' => {
                let s = &self.text[start..self.pos];
                self.pos += 1;
                return Ok(Cow::Borrowed(s));
            }
            Some(_) => {}
        }
        self.string_escaped(start)
    }

    /// The rest of a string that has an escape at `self.pos`.
    #[inline(never)]
    fn string_escaped(&mut self, start: usize) -> Result<Cow<'a, str>, JsonError> {
        let mut out = String::with_capacity(self.pos - start + 16);
        out.push_str(&self.text[start..self.pos]);
        loop {
            let run = self.pos;
            while let Some(&c) = self.bytes.get(self.pos) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run..self.pos]);
            match self.bytes.get(self.pos) {
                None => {
                    return Err(self.error(
                        "Unexpected end-of-input: was expecting closing quote for a string value",
                    ))
                }
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(&c) if c < 0x20 => return Err(self.control_char(c)),
                Some(_) => {
                    self.pos += 1; // backslash
                    let esc = self.bytes.get(self.pos).copied();
                    self.pos += 1;
                    match esc {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let c = self.unicode_escape()?;
                            out.push(c);
                        }
                        Some(other) => {
                            self.pos -= 1;
                            let c = self.peek_char().unwrap_or(other as char);
                            return Err(self.error(format!(
                                "Unrecognized character escape '{c}' (code {})",
                                c as u32
                            )));
                        }
                        None => {
                            return Err(
                                self.error("Unexpected end-of-input in character escape sequence")
                            )
                        }
                    }
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("Unexpected end-of-input in character escape sequence"))?;
        let mut v = 0u32;
        for &d in digits {
            let n = (d as char).to_digit(16).ok_or_else(|| {
                self.error(
                    "Unexpected character: expected a hex-digit for character escape sequence",
                )
            })?;
            v = v * 16 + n;
        }
        self.pos += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                return Err(self.error(
                    "Invalid surrogate pair: high surrogate not followed by a low surrogate",
                ));
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.error(
                    "Invalid surrogate pair: high surrogate not followed by a low surrogate",
                ));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.error("Invalid surrogate pair: lone low surrogate"))
    }

    fn control_char(&self, c: u8) -> JsonError {
        self.error(format!(
            "Illegal unquoted character ((CTRL-CHAR, code {c})): has to be escaped using backslash to be included in string value"
        ))
    }
}

/// Appends `token` to a JSON pointer, escaping `~` and `/` as RFC 6901 says.
pub fn pointer_push(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_number_text_and_duplicate_keys_in_order() {
        let node = parse(r#"{"a": 3.0e2, "a": [1, -0.5]}"#).unwrap();
        let Value::Object(members) = node.value else {
            panic!("object")
        };
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].value.value, Value::Number("3.0e2"));
        assert!(matches!(members[1].value.value, Value::Array(ref a) if a.len() == 2));
    }

    #[test]
    fn decodes_escapes_and_surrogate_pairs() {
        let node = parse(r#""a\u0041\n\ud83d\ude80""#).unwrap();
        assert_eq!(
            node.value,
            Value::String(Cow::Owned("aA\n\u{1F680}".into()))
        );
    }

    #[test]
    fn jackson_wording_for_bad_tokens() {
        let err = parse("this is not json").unwrap_err();
        assert_eq!(
            err.message,
            "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        );
        let err = parse("{'bad': 1}").unwrap_err();
        assert_eq!(
            err.message,
            "Unexpected character (''' (code 39)): was expecting double-quote to start field name"
        );
    }

    #[test]
    fn rejects_trailing_garbage_and_deep_nesting() {
        assert!(parse("{} x").is_err());
        let deep = "[".repeat(MAX_DEPTH + 5);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn to_value_takes_what_the_matcher_takes_and_serde_refuses() {
        // serde_json refuses both; EventBridge delivers both.
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(serde_json::from_str::<serde_json::Value>(&deep).is_err());
        let mut value = to_value(&deep).unwrap();
        for _ in 0..200 {
            value = value.as_array().unwrap()[0].clone();
        }
        assert_eq!(value, serde_json::json!(1));
        let huge = r#"{"a": 1e400, "b": -1e400, "c": 12345678901234567890123, "d": 1.5}"#;
        assert!(serde_json::from_str::<serde_json::Value>(huge).is_err());
        assert_eq!(
            to_value(huge).unwrap(),
            serde_json::json!({"a": "1e400", "b": "-1e400", "c": 1.2345678901234568e22, "d": 1.5})
        );
        // The same grammar as the matcher: too deep or malformed is refused.
        assert!(to_value(&"[".repeat(MAX_DEPTH + 5)).is_err());
        assert_eq!(
            to_value(r#"{"a":1,"a":2}"#).unwrap(),
            serde_json::json!({"a": 2})
        );
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("x", 0), (1, 1));
    }
}
