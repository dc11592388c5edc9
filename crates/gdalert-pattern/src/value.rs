//! Leaf values of an event and the single-value tests EventBridge applies to
//! them. Both the compiled machine and the reference evaluator use these, so
//! the semantics of one operator on one value live in exactly one place.

use std::borrow::Cow;
use std::net::Ipv6Addr;

/// A leaf (non-object, non-array) value of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    String(Cow<'a, str>),
    Number(Number<'a>),
    Bool(bool),
    Null,
}

/// A JSON number with the two views EventBridge uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Number<'a> {
    /// The literal as written in the JSON text.
    pub text: Cow<'a, str>,
    /// The float64 value, if finite.
    pub value: Option<f64>,
}

impl<'a> Number<'a> {
    /// Reads a JSON number literal.
    pub fn parse(text: impl Into<Cow<'a, str>>) -> Number<'a> {
        let text = text.into();
        let value = text.parse::<f64>().ok().filter(|v| v.is_finite());
        Number { text, value }
    }

    /// True when the literal is exactly what its float64 prints as, so the
    /// number may be compared by value. `0.10000000000000001` is not.
    /// Computed on demand: only equality by value needs it, and it can cost
    /// a float formatting.
    pub fn is_exact(&self) -> bool {
        self.value.is_some_and(|v| is_exact_literal(&self.text, v))
    }

    /// The value to compare for equality, when comparing by value is allowed.
    pub fn comparable(&self) -> Option<f64> {
        self.value.filter(|_| self.is_exact())
    }

    /// The literal's decimal value, normalised (see [`DecimalKey`]).
    pub fn key(&self) -> Option<DecimalKey> {
        DecimalKey::of(&self.text)
    }
}

/// A decimal literal's value, normalised: its sign, its significant digits
/// (no leading or trailing zeros) and its power of ten, so two literals
/// have equal keys exactly when they denote the same decimal (`300`,
/// `3.0e2` and `300.00`). Only literals of at most 19 significant digits
/// have one; no exact literal has more than 17.
///
/// Why equality by value needs nothing else: an operand compared by value
/// is exact (its decimal is the shortest representation of its float64).
/// An event number equals it by value and is exact itself exactly when it
/// denotes the same decimal, since both decimals are then the shortest
/// representation of one float64. So an exact-match number operand is
/// looked up by key, without parsing a float or formatting one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecimalKey {
    digits: u64,
    exponent: i32,
    negative: bool,
}

impl DecimalKey {
    /// The key of a JSON number literal, or `None` when it has more than 19
    /// significant digits, an exponent beyond any float64, or is not a
    /// number literal.
    pub fn of(text: &str) -> Option<DecimalKey> {
        let bytes = text.as_bytes();
        let (negative, mut i) = match bytes.first() {
            Some(b'-') => (true, 1),
            _ => (false, 0),
        };
        let (mut digits, mut significant, mut zeros, mut fraction) = (0u64, 0u32, 0u32, 0i64);
        let mut dot = false;
        let mut any = false;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'.' if !dot => dot = true,
                b'0'..=b'9' => {
                    any = true;
                    if dot {
                        fraction += 1;
                    }
                    if b == b'0' {
                        // Leading zeros never count; others wait for a
                        // non-zero digit after them.
                        if digits != 0 {
                            zeros += 1;
                        }
                    } else {
                        significant += zeros + 1;
                        if significant > 19 {
                            return None;
                        }
                        digits = digits * 10u64.pow(zeros) * 10 + u64::from(b - b'0');
                        zeros = 0;
                    }
                }
                _ => break,
            }
            i += 1;
        }
        if !any {
            return None;
        }
        let mut exponent: i64 = 0;
        if let Some(b'e' | b'E') = bytes.get(i) {
            i += 1;
            let sign = match bytes.get(i) {
                Some(b'-') => {
                    i += 1;
                    -1
                }
                Some(b'+') => {
                    i += 1;
                    1
                }
                _ => 1,
            };
            let start = i;
            while let Some(&b) = bytes.get(i).filter(|b| b.is_ascii_digit()) {
                exponent = exponent * 10 + i64::from(b - b'0');
                if exponent > 100_000 {
                    return None;
                }
                i += 1;
            }
            if i == start {
                return None;
            }
            exponent *= sign;
        }
        if i != bytes.len() {
            return None;
        }
        if digits == 0 {
            // Zero, whatever its sign: -0 and 0 are one value.
            return Some(DecimalKey {
                digits: 0,
                exponent: 0,
                negative: false,
            });
        }
        Some(DecimalKey {
            digits,
            exponent: i32::try_from(exponent - fraction + i64::from(zeros)).ok()?,
            negative,
        })
    }

    /// How many significant digits the decimal has.
    fn significant(&self) -> u32 {
        self.digits.checked_ilog10().map_or(0, |l| l + 1)
    }
}

/// Whether a decimal literal denotes the same decimal as the shortest
/// representation of the float64 it parses to.
fn is_exact_literal(text: &str, value: f64) -> bool {
    let Some(key) = DecimalKey::of(text) else {
        // More than 19 significant digits: more than any shortest form has.
        return false;
    };
    // Fast path: a decimal with at most 15 significant digits (f64's DBL_DIG)
    // is recovered exactly from the float it parses to, so no shorter digit
    // string can print as that float; outside the subnormal range that makes
    // it the shortest representation. Event numbers are nearly always such.
    // (A literal zero is exact; a non-zero literal that parses to zero,
    // `1e-400`, is not.)
    if key.significant() <= 15 && (key.digits == 0 || value.abs() >= f64::MIN_POSITIVE) {
        return true;
    }
    // The shortest representation, printed without allocating. (Rust's
    // `{:e}`, not ryu: where two shortest forms are equally close,
    // `949779958944251.25`, they pick different ones.)
    let mut buffer = StackText::default();
    use std::fmt::Write;
    if write!(buffer, "{value:e}").is_err() {
        return false;
    }
    DecimalKey::of(buffer.as_str()) == Some(key)
}

/// Text written into a fixed buffer: a float64's `{:e}` form is at most
/// 25 bytes.
#[derive(Default)]
struct StackText {
    bytes: [u8; 32],
    len: usize,
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(std::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The definition of exactness, slowly, for the tests: normalise the
/// literal and the float's shortest form as text.
#[cfg(test)]
fn is_exact_slow(text: &str, value: f64) -> bool {
    decimal_key(text) == decimal_key(&format!("{value:e}"))
}

/// Normalises a decimal literal to (negative, significant digits, exponent).
#[cfg(test)]
fn decimal_key(text: &str) -> (bool, String, i64) {
    let (neg, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: String = int.chars().chain(frac.chars()).collect();
    let mut exponent = exp - frac.len() as i64;
    let lead = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..lead);
    while digits.ends_with('0') {
        digits.pop();
        exponent += 1;
    }
    if digits.is_empty() {
        return (false, String::new(), 0);
    }
    (neg, digits, exponent)
}

/// Java's per-character upper/lower forms, which EventBridge's
/// equals-ignore-case uses instead of Unicode case folding (`ß` matches `SS`
/// but not `ss`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreCase {
    /// For each character of the operand, the strings it may match.
    alternatives: Vec<Vec<String>>,
    /// Lower-cased operand when it is pure ASCII: then a plain
    /// ASCII-case-insensitive comparison is exact, and indexable.
    ascii_lower: Option<String>,
}

impl IgnoreCase {
    pub fn new(operand: &str) -> IgnoreCase {
        let alternatives = operand
            .chars()
            .map(|c| {
                let lower: String = c.to_lowercase().collect();
                let upper: String = c.to_uppercase().collect();
                if lower == upper {
                    vec![lower]
                } else {
                    vec![lower, upper]
                }
            })
            .collect();
        let ascii_lower = operand.is_ascii().then(|| operand.to_ascii_lowercase());
        IgnoreCase {
            alternatives,
            ascii_lower,
        }
    }

    /// The lower-cased operand, if it is ASCII.
    pub fn ascii_key(&self) -> Option<&str> {
        self.ascii_lower.as_deref()
    }

    /// Length in characters of the operand.
    pub fn is_empty(&self) -> bool {
        self.alternatives.is_empty()
    }

    pub fn equals(&self, s: &str) -> bool {
        match &self.ascii_lower {
            Some(k) => s.len() == k.len() && s.eq_ignore_ascii_case(k),
            None => self.forward(0, s, true),
        }
    }

    pub fn is_prefix_of(&self, s: &str) -> bool {
        match &self.ascii_lower {
            Some(k) => {
                s.len() >= k.len() && s.as_bytes()[..k.len()].eq_ignore_ascii_case(k.as_bytes())
            }
            None => self.forward(0, s, false),
        }
    }

    pub fn is_suffix_of(&self, s: &str) -> bool {
        match &self.ascii_lower {
            Some(k) => {
                s.len() >= k.len()
                    && s.as_bytes()[s.len() - k.len()..].eq_ignore_ascii_case(k.as_bytes())
            }
            None => self.backward(self.alternatives.len(), s),
        }
    }

    fn forward(&self, i: usize, s: &str, whole: bool) -> bool {
        let Some(alts) = self.alternatives.get(i) else {
            return !whole || s.is_empty();
        };
        alts.iter().any(|a| {
            s.strip_prefix(a.as_str())
                .is_some_and(|rest| self.forward(i + 1, rest, whole))
        })
    }

    fn backward(&self, i: usize, s: &str) -> bool {
        if i == 0 {
            return true;
        }
        self.alternatives[i - 1].iter().any(|a| {
            s.strip_suffix(a.as_str())
                .is_some_and(|rest| self.backward(i - 1, rest))
        })
    }
}

/// A compiled `wildcard` operand: literal pieces between `*`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    /// Literal pieces; a `*` stands between each consecutive pair.
    pieces: Vec<String>,
}

/// Why a wildcard operand is rejected, in EventBridge's words.
pub fn parse_wildcard(operand: &str) -> Result<Wildcard, String> {
    // EventBridge reports positions in bytes of the operand *with* its opening
    // quote, so the first character is at position 1.
    let bytes = operand.as_bytes();
    let mut pieces = vec![Vec::new()];
    let mut i = 0;
    while i < bytes.len() {
        let pos = i + 1;
        match bytes[i] {
            b'*' => {
                if bytes.get(i + 1) == Some(&b'*') {
                    return Err(format!("Consecutive wildcard characters at pos {pos}"));
                }
                pieces.push(Vec::new());
                i += 1;
            }
            b'\\' => match bytes.get(i + 1) {
                Some(&c @ (b'*' | b'\\')) => {
                    if let Some(last) = pieces.last_mut() {
                        last.push(c);
                    }
                    i += 2;
                }
                _ => return Err(format!("Invalid escape character at pos {pos}")),
            },
            c => {
                if let Some(last) = pieces.last_mut() {
                    last.push(c);
                }
                i += 1;
            }
        }
    }
    let pieces = pieces
        .into_iter()
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .collect::<Vec<_>>();
    // EventBridge caps how many states a wildcard may keep alive at once. Its
    // exact formula is not public; every `*` adds one live state, and AWS
    // rejects six (`*:*:*:*:*:event-bus/*`) while accepting two. We reject
    // more than five, the documented deviation in the crate docs.
    if pieces.len() - 1 > 5 {
        return Err("Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character".into());
    }
    Ok(Wildcard { pieces })
}

impl Wildcard {
    /// The literal text before the first `*` (the whole operand if none).
    pub fn literal_prefix(&self) -> &str {
        &self.pieces[0]
    }

    /// The literal text after the last `*`.
    pub fn literal_suffix(&self) -> &str {
        self.pieces.last().map_or("", String::as_str)
    }

    pub fn has_star(&self) -> bool {
        self.pieces.len() > 1
    }

    pub fn matches(&self, s: &str) -> bool {
        let first = &self.pieces[0];
        if self.pieces.len() == 1 {
            return s == first;
        }
        let last = &self.pieces[self.pieces.len() - 1];
        if s.len() < first.len() + last.len()
            || !s.starts_with(first.as_str())
            || !s.ends_with(last.as_str())
        {
            return false;
        }
        // Middle pieces: leftmost-first search is optimal for `*a*b*` globs.
        let mut rest = &s[first.len()..s.len() - last.len()];
        for piece in &self.pieces[1..self.pieces.len() - 1] {
            match find(rest.as_bytes(), piece.as_bytes()) {
                Some(i) => rest = &rest[i + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

/// First occurrence of `needle` in `hay`. Wildcard pieces and field values
/// are short: a vectorised scan for the first byte beats building a
/// substring searcher per call.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, tail)) = needle.split_first() else {
        return Some(0);
    };
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut i = 0;
    while i <= last_start {
        let at = i + memchr::memchr(first, &hay[i..=last_start])?;
        if hay[at + 1..at + needle.len()] == *tail {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// A numeric range; `None` bounds are unbounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumericRange {
    pub lower: Option<(f64, bool)>,
    pub upper: Option<(f64, bool)>,
}

impl NumericRange {
    pub fn contains(&self, v: f64) -> bool {
        let lower_ok = match self.lower {
            None => true,
            Some((b, open)) => {
                if open {
                    v > b
                } else {
                    v >= b
                }
            }
        };
        let upper_ok = match self.upper {
            None => true,
            Some((b, open)) => {
                if open {
                    v < b
                } else {
                    v <= b
                }
            }
        };
        lower_ok && upper_ok
    }
}

/// An address as EventBridge compares it: upper-case hex of its bytes
/// (8 digits for IPv4, 32 for IPv6).
pub type IpHex = String;

fn is_ipv4_shape(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_ipv6_shape(s: &str) -> bool {
    s.contains(':') && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
}

/// Why an IP text is unusable in a CIDR operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpError {
    /// Not shaped like an IPv4 or IPv6 literal.
    Nonstandard,
    /// Shaped like one, but not a valid address.
    Invalid,
}

/// Parses an IPv4 or IPv6 literal the way EventBridge does (IPv4 octets may
/// have leading zeros and are read as decimal).
pub fn parse_ip(s: &str) -> Result<Vec<u8>, IpError> {
    if is_ipv4_shape(s) {
        let mut out = Vec::with_capacity(4);
        for part in s.split('.') {
            let trimmed = part.trim_start_matches('0');
            if trimmed.len() > 3 {
                return Err(IpError::Invalid);
            }
            let n: u32 = if trimmed.is_empty() {
                0
            } else {
                trimmed.parse().map_err(|_| IpError::Invalid)?
            };
            out.push(u8::try_from(n).map_err(|_| IpError::Invalid)?);
        }
        Ok(out)
    } else if is_ipv6_shape(s) {
        s.parse::<Ipv6Addr>()
            .map(|a| a.octets().to_vec())
            .map_err(|_| IpError::Invalid)
    } else {
        Err(IpError::Nonstandard)
    }
}

pub fn to_hex(bytes: &[u8]) -> IpHex {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

/// The hex form of a string value if it is an IP literal.
pub fn ip_hex(s: &str) -> Option<IpHex> {
    // Cheap rejection first: most strings are not addresses.
    let first = *s.as_bytes().first()?;
    if !(first.is_ascii_hexdigit() || first == b':') || s.len() > 45 {
        return None;
    }
    parse_ip(s).ok().map(|b| to_hex(&b))
}

/// A CIDR block as an inclusive range of hex addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrRange {
    pub low: IpHex,
    pub high: IpHex,
}

impl CidrRange {
    /// Compared as EventBridge's byte machine does: digit strings, in order.
    /// (So `::/0` also covers IPv4 addresses, as it does in AWS's library.)
    pub fn contains(&self, hex: &str) -> bool {
        hex >= self.low.as_str() && hex <= self.high.as_str()
    }
}

/// Parses a `cidr` operand, with EventBridge's messages.
pub fn parse_cidr(operand: &str) -> Result<CidrRange, String> {
    // Java's String.split drops trailing empty pieces; EventBridge inherits that.
    let mut parts: Vec<&str> = operand.split('/').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() != 2 {
        return Err("Malformed CIDR, one '/' required".into());
    }
    let mask_text = parts[1].strip_prefix('+').unwrap_or(parts[1]);
    let mask: i64 = if !mask_text.is_empty()
        && mask_text
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        mask_text
            .parse()
            .map_err(|_| "Malformed CIDR, mask bits must be an integer".to_string())?
    } else {
        return Err("Malformed CIDR, mask bits must be an integer".into());
    };
    if mask < 0 {
        return Err("Malformed CIDR, mask bits must not be negative".into());
    }
    let ip = parse_ip(parts[0]).map_err(|e| match e {
        IpError::Nonstandard => format!("Nonstandard IP address: {}", parts[0]),
        IpError::Invalid => format!("Invalid IP address: {}", parts[0]),
    })?;
    let bits = ip.len() as i64 * 8;
    if ip.len() == 4 && mask > 31 {
        return Err("IPv4 mask bits must be < 32".into());
    }
    if ip.len() == 16 && mask > 127 {
        return Err("IPv6 mask bits must be < 128".into());
    }
    let mut low = ip.clone();
    let mut high = ip;
    for (i, (lo, hi)) in low.iter_mut().zip(high.iter_mut()).enumerate() {
        let byte_start = i as i64 * 8;
        let keep = (mask - byte_start).clamp(0, 8) as u32;
        let host_mask: u8 = if keep >= 8 { 0 } else { 0xFFu8 >> keep };
        *lo &= !host_mask;
        *hi |= host_mask;
        debug_assert!(byte_start < bits);
    }
    Ok(CidrRange {
        low: to_hex(&low),
        high: to_hex(&high),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_exactness_follows_shortest_float_repr() {
        assert!(Number::parse("300").is_exact());
        assert!(Number::parse("3.0e2").is_exact());
        assert!(Number::parse("300.0").is_exact());
        assert!(Number::parse("0.1").is_exact());
        assert!(Number::parse("-0").is_exact());
        assert!(!Number::parse("0.10000000000000001").is_exact());
        assert!(!Number::parse("12345678901234567890").is_exact());
        assert!(Number::parse("1E300").is_exact());
        // Two shortest forms equally close (…251.25): Rust's `{:e}` gives
        // …251.3, which this rule follows (ryu gives …251.2).
        assert!(Number::parse("-9.497799589442513e14").is_exact());
        assert_eq!(Number::parse("1e400").value, None);
        // Regression: a non-zero literal below the smallest subnormal parses
        // to 0 and was taken for an exact zero.
        assert!(!Number::parse("1e-400").is_exact());
        assert!(Number::parse("0e-400").is_exact());
    }

    /// Literals the fast paths must get right: 1 to 20 significant digits,
    /// any decimal point, exponents from beyond the subnormals to beyond
    /// float64, both signs, trailing and leading zeros; and the shortest
    /// forms of random float64s (every one of them exact).
    fn literal() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let digits = proptest::collection::vec(0u8..10, 1..21);
        let written = (any::<bool>(), digits, 0usize..22, -330i32..330, 0u8..3).prop_map(
            |(negative, digits, dot, exponent, zeros)| {
                let mut text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
                text.push_str(&"0".repeat(zeros as usize));
                if dot > 0 && dot < text.len() {
                    text.insert(dot, '.');
                }
                let sign = if negative { "-" } else { "" };
                format!("{sign}{text}e{exponent}")
            },
        );
        let shortest = any::<u64>()
            .prop_map(f64::from_bits)
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(|v| format!("{v:e}"));
        prop_oneof![3 => written, 1 => shortest, 1 => Just("-0.0".to_string()), 1 => Just("5e-324".to_string())]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, ..Default::default() })]

        /// Exactness without formatting agrees with its definition.
        #[test]
        fn exactness_agrees_with_the_slow_definition(text in literal()) {
            let n = Number::parse(text.as_str());
            if let Some(value) = n.value {
                proptest::prop_assert_eq!(is_exact_literal(&text, value), is_exact_slow(&text, value), "{}", text);
            }
        }

        /// Equality by key is equality by value between exact literals.
        #[test]
        fn equal_keys_are_equal_values(a in literal(), b in literal()) {
            let (x, y) = (Number::parse(a.as_str()), Number::parse(b.as_str()));
            let by_value = x.comparable().is_some() && x.comparable() == y.comparable();
            let by_key = x.comparable().is_some() && x.key().is_some() && x.key() == y.key();
            proptest::prop_assert_eq!(by_value, by_key, "{} {}", a, b);
            // The same decimal written another way.
            let z = Number::parse(format!("{}", x.value.unwrap_or(1.5)));
            if x.comparable().is_some() {
                proptest::prop_assert_eq!(x.key() == z.key(), x.comparable() == z.comparable(), "{}", a);
            }
        }
    }

    #[test]
    fn decimal_keys_are_equal_exactly_for_equal_decimals() {
        let key = |t: &str| DecimalKey::of(t);
        for (a, b) in [
            ("300", "3.0e2"),
            ("300", "300.00"),
            ("0.5", "5E-1"),
            ("-0", "0"),
            ("0.0e10", "0"),
            ("1200", "12e+2"),
            ("0.0001", "1e-4"),
            ("1000000000000000000000", "1e21"),
        ] {
            assert_eq!(key(a), key(b), "{a} {b}");
            assert!(key(a).is_some());
        }
        for (a, b) in [("300", "301"), ("-1", "1"), ("1e2", "1e3"), ("0.1", "0.01")] {
            assert_ne!(key(a), key(b), "{a} {b}");
        }
        assert_eq!(key("12345678901234567891"), None, "20 significant digits");
        assert!(
            key("12345678901234567890").is_some(),
            "a trailing zero is not significant"
        );
        assert!(
            key("1234567890123456789").is_some(),
            "19 significant digits"
        );
        for bad in ["", "-", ".", "1e", "1e+", "abc", "1x"] {
            assert_eq!(key(bad), None, "{bad:?}");
        }
    }

    /// The 15-significant-digit shortcut must agree with formatting the float.
    #[test]
    fn exactness_shortcut_agrees_with_shortest_repr() {
        let mantissas = [
            "0",
            "1",
            "5.5",
            "0.1",
            "123456789012345",
            "1234567890123456",
            "0.30000000000000004",
            "9007199254740993",
            "100000000000000000000",
            "0.000001",
            "4.9",
            "2.2250738585072014",
            "1.7976931348623157",
            "-0.0",
            "10.50",
            "999999999999999.9",
        ];
        for m in mantissas {
            for e in ["", "e0", "e-5", "e300", "e-300", "e-310", "E+2"] {
                let text = format!("{m}{e}");
                let Ok(value) = text.parse::<f64>() else {
                    continue;
                };
                if !value.is_finite() {
                    continue;
                }
                assert_eq!(
                    is_exact_literal(&text, value),
                    is_exact_slow(&text, value),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn ignore_case_is_per_character_not_folding() {
        let sharp = IgnoreCase::new("ß");
        assert!(sharp.equals("SS"));
        assert!(sharp.equals("ß"));
        assert!(!sharp.equals("ss"));
        assert!(!IgnoreCase::new("ΣΑΣ").equals("σας"));
        assert!(IgnoreCase::new("ÄB").is_prefix_of("äbc"));
        assert!(IgnoreCase::new(".png").is_suffix_of("image.PNG"));
    }

    #[test]
    fn wildcard_positions_count_the_opening_quote() {
        assert_eq!(
            parse_wildcard("arn:aws:events:us-east-1:**:event-bus/*"),
            Err("Consecutive wildcard characters at pos 26".into())
        );
        assert_eq!(
            parse_wildcard("a\\b"),
            Err("Invalid escape character at pos 2".into())
        );
        assert!(parse_wildcard("ab\\").is_err());
        let w = parse_wildcard("a\\*b").unwrap();
        assert!(w.matches("a*b") && !w.matches("axb"));
        let w = parse_wildcard("/Users/*/doc.txt").unwrap();
        assert!(w.matches("/Users/x/dir/doc.txt") && !w.matches("/Users/x/notdoc.txtx"));
        assert!(parse_wildcard("*").unwrap().matches(""));
        assert!(!parse_wildcard("").unwrap().matches("x"));
    }

    #[test]
    fn cidr_masks_host_bits_and_reports_like_aws() {
        let r = parse_cidr("10.0.0.77/24").unwrap();
        assert!(r.contains(&ip_hex("10.0.0.5").unwrap()));
        assert!(!r.contains(&ip_hex("10.0.1.5").unwrap()));
        assert_eq!(
            parse_cidr("bad-filter").unwrap_err(),
            "Malformed CIDR, one '/' required"
        );
        assert_eq!(
            parse_cidr("xx.11.xx/8").unwrap_err(),
            "Nonstandard IP address: xx.11.xx"
        );
        assert_eq!(
            parse_cidr("10.0.0.1/32").unwrap_err(),
            "IPv4 mask bits must be < 32"
        );
        assert_eq!(ip_hex("010.000.000.005"), ip_hex("10.0.0.5"));
        assert_eq!(
            ip_hex("2001:db8::1"),
            ip_hex("2001:0DB8:0000:0000:0000:0000:0000:0001")
        );
        assert_eq!(ip_hex("10.0.0.256"), None);
    }
}
