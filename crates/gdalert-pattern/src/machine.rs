//! Many patterns compiled into one matching machine.

use rustc_hash::FxHashMap;

use crate::event::{name_hash, Entry, Kind, ParsedEvent, Prune};
use crate::syntax::{AnythingBut, Matcher, Rule};
use crate::value::{ip_hex, DecimalKey, Scalar};
use crate::{parse_event, EventError};

/// Index of a pattern in the order it was added to the builder.
pub type PatternId = usize;

/// Which field of which branch an operand belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    branch: u32,
    slot: u32,
}

/// A byte trie whose nodes carry payloads; walking a value visits every
/// payload whose key is a prefix of it.
#[derive(Debug)]
struct Trie<T> {
    nodes: Vec<TrieNode<T>>,
    /// Items held; kept inline so the per-value emptiness checks do not
    /// touch the nodes.
    len: usize,
}

#[derive(Debug)]
struct TrieNode<T> {
    edges: Vec<(u8, u32)>,
    items: Vec<T>,
}

impl<T> Default for Trie<T> {
    fn default() -> Self {
        Trie {
            nodes: vec![TrieNode {
                edges: Vec::new(),
                items: Vec::new(),
            }],
            len: 0,
        }
    }
}

impl<T> Trie<T> {
    fn insert(&mut self, key: impl Iterator<Item = u8>, item: T) {
        let mut at = 0usize;
        for b in key {
            at = match self.nodes[at].edges.iter().find(|(e, _)| *e == b) {
                Some(&(_, next)) => next as usize,
                None => {
                    let next = self.nodes.len();
                    self.nodes.push(TrieNode {
                        edges: Vec::new(),
                        items: Vec::new(),
                    });
                    self.nodes[at].edges.push((b, next as u32));
                    next
                }
            };
        }
        self.nodes[at].items.push(item);
        self.len += 1;
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn walk(&self, key: impl Iterator<Item = u8>, mut visit: impl FnMut(&T)) {
        let mut at = 0usize;
        self.nodes[0].items.iter().for_each(&mut visit);
        for b in key {
            match self.nodes[at].edges.iter().find(|(e, _)| *e == b) {
                Some(&(_, next)) => at = next as usize,
                None => return,
            }
            self.nodes[at].items.iter().for_each(&mut visit);
        }
    }
}

/// Everything that can match at one field path.
#[derive(Debug, Default)]
struct FieldIndex {
    strings: FxHashMap<Box<str>, Vec<Hit>>,
    ips: FxHashMap<Box<str>, Vec<Hit>>,
    number_text: FxHashMap<Box<str>, Vec<Hit>>,
    /// Exact number operands by [`DecimalKey`]: an event number is looked
    /// up by its literal's key, with no float parsed or printed.
    number_value: FxHashMap<DecimalKey, Vec<Hit>>,
    trues: Vec<Hit>,
    falses: Vec<Hit>,
    nulls: Vec<Hit>,
    /// `exists: true`: any leaf.
    any: Vec<Hit>,
    ignore_case: FxHashMap<Box<str>, Vec<Hit>>,
    prefixes: Trie<Hit>,
    prefixes_ci: Trie<Hit>,
    suffixes: Trie<Hit>,
    suffixes_ci: Trie<Hit>,
    /// Wildcards keyed by their literal head (or reversed tail), then verified.
    wild_heads: Trie<(u32, Hit)>,
    wild_tails: Trie<(u32, Hit)>,
    wildcards: Vec<Matcher>,
    /// Operands that need a test per value.
    scan: Vec<(Matcher, Hit)>,
    /// Whether any operand compares IP addresses (so values need hex forms).
    wants_ip: bool,
    /// Whether any operand compares numbers by their float64 (`numeric`,
    /// `anything-but` numbers): only then are the field's numbers parsed.
    wants_value: bool,
}

/// `map.get(key)`, without hashing the key when the map is empty (most
/// fields index only one kind of operand).
fn get_if_any<'m, V>(map: &'m FxHashMap<Box<str>, V>, key: &str) -> Option<&'m V> {
    if map.is_empty() {
        None
    } else {
        map.get(key)
    }
}

impl FieldIndex {
    fn add(&mut self, m: &Matcher, hit: Hit) {
        match m {
            Matcher::String(s) => self.strings.entry(s.as_str().into()).or_default().push(hit),
            Matcher::Ip(hex) => {
                self.wants_ip = true;
                self.ips.entry(hex.as_str().into()).or_default().push(hit)
            }
            Matcher::Number { text, key } => {
                self.number_text
                    .entry(text.as_str().into())
                    .or_default()
                    .push(hit);
                if let Some(key) = key {
                    self.number_value.entry(*key).or_default().push(hit);
                }
            }
            Matcher::Bool(true) => self.trues.push(hit),
            Matcher::Bool(false) => self.falses.push(hit),
            Matcher::Null => self.nulls.push(hit),
            Matcher::Exists(true) => self.any.push(hit),
            // Absence is decided per event, not per value.
            Matcher::Exists(false) => {}
            Matcher::Prefix(p) => self.prefixes.insert(p.bytes(), hit),
            Matcher::Suffix(p) => self.suffixes.insert(p.bytes().rev(), hit),
            Matcher::PrefixIgnoreCase(p) if p.ascii_key().is_some() => {
                let key = p.ascii_key().unwrap_or_default();
                self.prefixes_ci.insert(key.bytes(), hit)
            }
            Matcher::SuffixIgnoreCase(p) if p.ascii_key().is_some() => {
                let key = p.ascii_key().unwrap_or_default();
                self.suffixes_ci.insert(key.bytes().rev(), hit)
            }
            Matcher::EqualsIgnoreCase(p) if p.ascii_key().is_some() => {
                let key = p.ascii_key().unwrap_or_default();
                self.ignore_case.entry(key.into()).or_default().push(hit)
            }
            Matcher::Wildcard(w) if !w.has_star() => self
                .strings
                .entry(w.literal_prefix().into())
                .or_default()
                .push(hit),
            Matcher::Wildcard(w) if !w.literal_prefix().is_empty() => {
                let idx = self.wildcards.len() as u32;
                self.wild_heads
                    .insert(w.literal_prefix().bytes(), (idx, hit));
                self.wildcards.push(m.clone());
            }
            Matcher::Wildcard(w) if !w.literal_suffix().is_empty() => {
                let idx = self.wildcards.len() as u32;
                self.wild_tails
                    .insert(w.literal_suffix().bytes().rev(), (idx, hit));
                self.wildcards.push(m.clone());
            }
            other => {
                if matches!(other, Matcher::Cidr(_)) {
                    self.wants_ip = true;
                }

                self.scan.push((other.clone(), hit))
            }
        }
    }

    fn hits(&self, v: &Scalar<'_>, mut emit: impl FnMut(Hit)) {
        self.any.iter().copied().for_each(&mut emit);
        match v {
            Scalar::String(s) => {
                if let Some(h) = get_if_any(&self.strings, s.as_ref()) {
                    h.iter().copied().for_each(&mut emit);
                }
                if self.wants_ip && !self.ips.is_empty() {
                    if let Some(h) = ip_hex(s).and_then(|hex| self.ips.get(hex.as_str())) {
                        h.iter().copied().for_each(&mut emit);
                    }
                }
                if !self.prefixes.is_empty() {
                    self.prefixes.walk(s.bytes(), |h| emit(*h));
                }
                if !self.suffixes.is_empty() {
                    self.suffixes.walk(s.bytes().rev(), |h| emit(*h));
                }
                if !self.prefixes_ci.is_empty() {
                    self.prefixes_ci
                        .walk(s.bytes().map(|b| b.to_ascii_lowercase()), |h| emit(*h));
                }
                if !self.suffixes_ci.is_empty() {
                    self.suffixes_ci
                        .walk(s.bytes().rev().map(|b| b.to_ascii_lowercase()), |h| {
                            emit(*h)
                        });
                }
                if !self.ignore_case.is_empty() && s.is_ascii() {
                    if let Some(h) = self.ignore_case.get(s.to_ascii_lowercase().as_str()) {
                        h.iter().copied().for_each(&mut emit);
                    }
                }
                let verify = |(idx, hit): &(u32, Hit), emit: &mut dyn FnMut(Hit)| {
                    if self.wildcards[*idx as usize].accepts(v) {
                        emit(*hit)
                    }
                };
                if !self.wild_heads.is_empty() {
                    self.wild_heads.walk(s.bytes(), |x| verify(x, &mut emit));
                }
                if !self.wild_tails.is_empty() {
                    self.wild_tails
                        .walk(s.bytes().rev(), |x| verify(x, &mut emit));
                }
            }
            Scalar::Number(n) => {
                if let Some(h) = get_if_any(&self.number_text, n.text.as_ref()) {
                    h.iter().copied().for_each(&mut emit);
                }
                if !self.number_value.is_empty() {
                    if let Some(h) = n.key().and_then(|k| self.number_value.get(&k)) {
                        h.iter().copied().for_each(&mut emit);
                    }
                }
            }
            Scalar::Bool(true) => self.trues.iter().copied().for_each(&mut emit),
            Scalar::Bool(false) => self.falses.iter().copied().for_each(&mut emit),
            Scalar::Null => self.nulls.iter().copied().for_each(&mut emit),
        }
        for (m, hit) in &self.scan {
            if m.accepts(v) {
                emit(*hit)
            }
        }
    }
}

/// A node of the path trie: one `.`-separated segment of a field name.
#[derive(Debug, Default)]
struct PathNode {
    children: Children,
    field: Option<u32>,
}

/// The child segments of a path node. An event's member names arrive
/// hashed, so a lookup compares integers and reads name bytes only on a hash
/// hit. Patterns name a handful of fields per object, so small sets are
/// scanned; large ones are kept sorted by hash and binary searched.
#[derive(Debug, Default)]
struct Children {
    /// Bit `hash % 64` set for each name: most member names of an event are
    /// named by no pattern, and this turns them away with one test.
    bloom: u64,
    /// [`name_hash`] of each name, ascending.
    hashes: Vec<u32>,
    /// (name, path node), in the order of `hashes`.
    nodes: Vec<(Box<str>, u32)>,
}

/// Byte equality for the short strings field names are, without the call
/// into the C library that `==` on slices makes.
#[inline]
fn short_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

impl Children {
    fn get(&self, name: &[u8], hash: u32) -> Option<u32> {
        self.get_lazy(hash, || name)
    }

    /// Like `get`, reading the name's bytes only on a hash hit.
    fn get_lazy<'b>(&self, hash: u32, name: impl FnOnce() -> &'b [u8]) -> Option<u32> {
        if self.bloom & (1 << (hash % 64)) == 0 {
            return None;
        }
        let from = if self.hashes.len() <= 8 {
            self.hashes.iter().position(|&h| h == hash)?
        } else {
            let at = self.hashes.partition_point(|&h| h < hash);
            (self.hashes.get(at) == Some(&hash)).then_some(at)?
        };
        let name = name();
        let mut at = from;
        while self.hashes.get(at) == Some(&hash) {
            let (key, node) = &self.nodes[at];
            if short_eq(key.as_bytes(), name) {
                return Some(*node);
            }
            at += 1;
        }
        None
    }

    fn insert(&mut self, name: &str, node: u32) {
        let hash = name_hash(name.as_bytes());
        let at = self.hashes.partition_point(|&h| h <= hash);
        self.hashes.insert(at, hash);
        self.nodes.insert(at, (name.into(), node));
        self.bloom |= 1 << (hash % 64);
    }

    fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

#[derive(Debug)]
struct BranchInfo {
    pattern: u32,
    slots: Vec<Slot>,
    /// The slot whose operands are in the index; the others are verified
    /// only for branches the key slot selected.
    key: Option<u32>,
}

#[derive(Debug)]
struct Slot {
    field: u32,
    /// Slots with the same field and operands share a condition, judged once
    /// per event however many branches ask (2,000 routes may share a handful
    /// of `detail-type` or wildcard tests).
    condition: u32,
    matchers: Vec<Matcher>,
    /// Satisfied by the field being absent (`exists: false`).
    absent_ok: bool,
}

/// Whether an operand compares an event number by its float64.
fn compares_floats(m: &Matcher) -> bool {
    matches!(
        m,
        Matcher::Numeric(_) | Matcher::AnythingBut(AnythingBut::Numbers(_))
    )
}

/// How many candidate branches an operand class tends to select: exact values
/// select by hash, affixes by trie walk; scanned operands select everything.
fn scanned(m: &Matcher) -> bool {
    match m {
        Matcher::Numeric(_) | Matcher::Cidr(_) | Matcher::AnythingBut(_) | Matcher::Exists(_) => {
            true
        }
        Matcher::PrefixIgnoreCase(p)
        | Matcher::SuffixIgnoreCase(p)
        | Matcher::EqualsIgnoreCase(p) => p.ascii_key().is_none(),
        Matcher::Wildcard(w) => {
            w.has_star() && w.literal_prefix().is_empty() && w.literal_suffix().is_empty()
        }
        Matcher::Prefix(p) | Matcher::Suffix(p) => p.is_empty(),
        _ => false,
    }
}

/// Collects named patterns, then builds a [`PatternSet`].
#[derive(Debug, Default)]
pub struct PatternSetBuilder {
    names: Vec<String>,
    rules: Vec<Rule>,
}

impl PatternSetBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a validated pattern under a name; returns its id.
    pub fn add(&mut self, name: impl Into<String>, rule: Rule) -> PatternId {
        self.names.push(name.into());
        self.rules.push(rule);
        self.rules.len() - 1
    }

    pub fn build(self) -> PatternSet {
        let mut set = PatternSet {
            names: self.names,
            paths: vec![PathNode::default()],
            fields: Vec::new(),
            branches: Vec::new(),
            absent_only: Vec::new(),
            conditions: 0,
        };
        let mut conditions: FxHashMap<(u32, String), u32> = FxHashMap::default();
        // Pass 1: how many branches share each (field, operand), so each
        // branch can be keyed on its most selective field. Keying on a field
        // every pattern shares (`source: aws.guardduty`) would make every
        // event a candidate for every branch.
        let mut shared: FxHashMap<(u32, String), usize> = FxHashMap::default();
        for rule in &self.rules {
            for branch in &rule.branches {
                for field in &branch.fields {
                    let fid = set.field_for(&field.path);
                    for m in &field.matchers {
                        let key = if scanned(m) {
                            String::from("*")
                        } else {
                            format!("{m:?}")
                        };
                        *shared.entry((fid, key)).or_default() += 1;
                    }
                }
            }
        }
        // Pass 2: index each branch under its key slot.
        for (pattern, rule) in self.rules.into_iter().enumerate() {
            for branch in rule.branches {
                let id = set.branches.len() as u32;
                let mut slots = Vec::with_capacity(branch.fields.len());
                let mut best: Option<(usize, u32)> = None;
                for (slot, field) in branch.fields.into_iter().enumerate() {
                    let fid = set.field_for(&field.path);
                    let absent_ok = field.allows_absent();
                    if !absent_ok {
                        let cost: usize = field
                            .matchers
                            .iter()
                            .map(|m| {
                                let key = if scanned(m) {
                                    String::from("*")
                                } else {
                                    format!("{m:?}")
                                };
                                let n = shared.get(&(fid, key)).copied().unwrap_or(1);
                                if scanned(m) {
                                    1_000_000 + n
                                } else {
                                    n
                                }
                            })
                            .sum();
                        if best.is_none_or(|(c, _)| cost < c) {
                            best = Some((cost, slot as u32));
                        }
                    }
                    // Any slot, key or not, may judge the field's floats.
                    if field.matchers.iter().any(compares_floats) {
                        set.fields[fid as usize].wants_value = true;
                    }
                    let next = conditions.len() as u32;
                    let condition = *conditions
                        .entry((fid, format!("{:?}", field.matchers)))
                        .or_insert(next);
                    slots.push(Slot {
                        field: fid,
                        condition,
                        matchers: field.matchers,
                        absent_ok,
                    });
                }
                let key = best.map(|(_, slot)| slot);
                match key {
                    Some(slot) => {
                        let s = &slots[slot as usize];
                        for m in &s.matchers {
                            set.fields[s.field as usize].add(m, Hit { branch: id, slot });
                        }
                    }
                    None => set.absent_only.push(id),
                }
                set.branches.push(BranchInfo {
                    pattern: pattern as u32,
                    slots,
                    key,
                });
            }
        }
        set.conditions = conditions.len() as u32;
        set
    }
}

/// A compiled set of named patterns.
#[derive(Debug)]
pub struct PatternSet {
    names: Vec<String>,
    paths: Vec<PathNode>,
    fields: Vec<FieldIndex>,
    branches: Vec<BranchInfo>,
    /// Branches that can match with no hit at all (every field may be absent).
    absent_only: Vec<u32>,
    /// How many distinct slot conditions there are.
    conditions: u32,
}

impl Prune for PatternSet {
    fn child(&self, node: u32, name: &[u8], hash: u32) -> Option<u32> {
        self.paths.get(node as usize)?.children.get(name, hash)
    }
}

/// A leaf of the event at a path some pattern names.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    field: u32,
    value: Entry,
    /// A number's float value where an operand compares floats, parsed
    /// once per event; NaN for none (an `Option<f64>` here was assembled
    /// byte by byte and read back whole, a store-forwarding stall on every
    /// leaf).
    number: f64,
    /// Range into the membership arena: (array id, element index) pairs.
    members: (u32, u32),
}

/// Reusable buffers, so matching allocates nothing in the steady state.
#[derive(Debug, Default)]
pub struct Scratch {
    leaves: Vec<Leaf>,
    members: Vec<(u32, u32)>,
    stack: Vec<(u32, u32)>,
    hits: Vec<(Hit, u32)>,
    matched: Vec<PatternId>,
    /// Leaf indices sorted by field, so a slot finds its leaves by binary search.
    by_field: Vec<(u32, u32)>,
    /// Per condition: the event it was judged for (`generation`), and
    /// whether some leaf satisfied it, and one outside every array did.
    verdicts: Vec<(u32, bool, bool)>,
    /// Per condition judged in full: its satisfying leaves' span in
    /// `condition_leaves` (see `Verdicts`).
    condition_spans: Vec<(u32, u32, u32)>,
    condition_leaves: Vec<u32>,
    generation: u32,
    /// Where each field's leaves start in `by_field`, while it is built.
    field_starts: Vec<u32>,
    /// The reader's memory, for [`PatternSet::matches_text`].
    buffers: crate::event::Buffers,
}

impl PatternSet {
    fn field_for(&mut self, path: &str) -> u32 {
        let mut at = 0usize;
        for seg in path.split('.') {
            at = match self.paths[at]
                .children
                .get(seg.as_bytes(), name_hash(seg.as_bytes()))
            {
                Some(n) => n as usize,
                None => {
                    let n = self.paths.len();
                    self.paths.push(PathNode::default());
                    self.paths[at].children.insert(seg, n as u32);
                    n
                }
            };
        }
        match self.paths[at].field {
            Some(f) => f,
            None => {
                let f = self.fields.len() as u32;
                self.fields.push(FieldIndex::default());
                self.paths[at].field = Some(f);
                f
            }
        }
    }

    /// The name a pattern was added under.
    pub fn name(&self, id: PatternId) -> &str {
        &self.names[id]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Ids of the patterns that match the event JSON text, in ascending order.
    pub fn matches_json(&self, event: &str) -> Result<Vec<PatternId>, EventError> {
        let node = parse_event(event)?;
        Ok(self.matches(&node))
    }

    /// Like [`PatternSet::matches_json`], reading only what this set's
    /// patterns name: the members no pattern names are passed over without
    /// building their entries (on a GuardDuty finding, most of its bytes).
    /// The fastest way from bytes to matches when one set is asked; when
    /// several sets ask about one event, parse it once with
    /// [`parse_event`](crate::parse_event) instead. A value passed over is
    /// checked only for terminated strings and balanced brackets.
    pub fn matches_text<'s>(
        &self,
        event: &str,
        scratch: &'s mut Scratch,
    ) -> Result<&'s [PatternId], EventError> {
        let mut buffers = std::mem::take(&mut scratch.buffers);
        let node = crate::read_event_with(event, self, &mut buffers)?;
        self.matches_with(&node, scratch);
        node.recycle(&mut buffers);
        scratch.buffers = buffers;
        Ok(&scratch.matched)
    }

    /// Ids of the patterns that match a parsed event, in ascending order.
    pub fn matches(&self, event: &ParsedEvent<'_>) -> Vec<PatternId> {
        let mut scratch = Scratch::default();
        self.matches_with(event, &mut scratch).to_vec()
    }

    /// Like [`PatternSet::matches`], reusing `scratch` between calls.
    pub fn matches_with<'s>(
        &self,
        event: &ParsedEvent<'_>,
        scratch: &'s mut Scratch,
    ) -> &'s [PatternId] {
        scratch.leaves.clear();
        scratch.members.clear();
        scratch.stack.clear();
        scratch.hits.clear();
        scratch.matched.clear();
        scratch.by_field.clear();
        let mut next_array = 0u32;
        // Its loads matter, not its value.
        std::hint::black_box(event.warm());
        self.collect(event, event.root(), 0, scratch, &mut next_array);
        let mut leaves = std::mem::take(&mut scratch.leaves);
        // (field, leaf) pairs in that order: a counting sort by field over
        // leaves in index order (there are few fields and may be thousands
        // of leaves, most often of one field).
        let counts = &mut scratch.field_starts;
        counts.clear();
        counts.resize(self.fields.len() + 1, 0);
        for leaf in &leaves {
            counts[leaf.field as usize + 1] += 1;
        }
        for f in 1..counts.len() {
            counts[f] += counts[f - 1];
        }
        scratch.by_field.resize(leaves.len(), (0, 0));
        for (i, leaf) in leaves.iter().enumerate() {
            let at = &mut counts[leaf.field as usize];
            scratch.by_field[*at as usize] = (leaf.field, i as u32);
            *at += 1;
        }

        for (i, leaf) in leaves.iter_mut().enumerate() {
            let index = &self.fields[leaf.field as usize];
            // A number's float64 only where an operand compares by it.
            if index.wants_value && leaf.value.kind() == Kind::Number {
                leaf.number = event
                    .number_text(&leaf.value)
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .unwrap_or(f64::NAN);
            }
            let number = leaf.number;
            if let Some(value) =
                event.scalar_with(&leaf.value, |_| (!number.is_nan()).then_some(number))
            {
                index.hits(&value, |h| scratch.hits.push((h, i as u32)));
            }
        }
        scratch.hits.sort_unstable();
        scratch.hits.dedup();

        let hits = std::mem::take(&mut scratch.hits);
        let mut verdicts = std::mem::take(&mut scratch.verdicts);
        let mut judged = Verdicts::begin(
            &mut verdicts,
            &mut scratch.condition_spans,
            &mut scratch.condition_leaves,
            &mut scratch.generation,
            self.conditions as usize,
        );
        let view = Leaves {
            event,
            all: &leaves,
            by_field: &scratch.by_field,
            arena: &scratch.members,
        };
        let mut i = 0;
        while i < hits.len() {
            let branch = hits[i].0.branch;
            let mut j = i;
            while j < hits.len() && hits[j].0.branch == branch {
                j += 1;
            }
            if self.branch_matches(branch, &hits[i..j], &view, &mut judged) {
                scratch
                    .matched
                    .push(self.branches[branch as usize].pattern as PatternId);
            }
            i = j;
        }
        for &branch in &self.absent_only {
            // A branch with hits was judged above.
            if hits
                .binary_search_by_key(&branch, |(h, _)| h.branch)
                .is_err()
                && self.branch_matches(branch, &[], &view, &mut judged)
            {
                scratch
                    .matched
                    .push(self.branches[branch as usize].pattern as PatternId);
            }
        }
        scratch.hits = hits;
        scratch.leaves = leaves;
        scratch.verdicts = verdicts;
        scratch.matched.sort_unstable();
        scratch.matched.dedup();
        &scratch.matched
    }

    /// Walks the event along the path trie, recording leaves at field paths.
    fn collect(
        &self,
        event: &ParsedEvent<'_>,
        value: &Entry,
        at: u32,
        scratch: &mut Scratch,
        next_array: &mut u32,
    ) {
        match value.kind() {
            Kind::Object => {
                let children = &self.paths[at as usize].children;
                if children.is_empty() {
                    return;
                }
                for member in event.directory(value) {
                    if !member.is_dotted() {
                        if let Some(to) = children.get_lazy(member.hash, || event.name(member)) {
                            if member.is_container() {
                                self.collect(event, member, to, scratch, next_array);
                            } else {
                                self.leaf(member, to, scratch);
                            }
                        }
                        continue;
                    }
                    let mut to = Some(at);
                    for seg in event.name(member).split(|&b| b == b'.') {
                        to = to
                            .and_then(|n| self.paths[n as usize].children.get(seg, name_hash(seg)));
                    }
                    if let Some(to) = to {
                        self.collect(event, member, to, scratch, next_array);
                    }
                }
            }
            Kind::Array => {
                let id = *next_array;
                *next_array += 1;
                for (i, item) in event.directory(value).iter().enumerate() {
                    scratch.stack.push((id, i as u32));
                    self.collect(event, item, at, scratch, next_array);
                    scratch.stack.pop();
                }
            }
            _ => self.leaf(value, at, scratch),
        }
    }

    /// Records a scalar at path node `at`, if a pattern names that path.
    #[inline]
    fn leaf(&self, value: &Entry, at: u32, scratch: &mut Scratch) {
        if let Some(field) = self.paths[at as usize].field {
            let start = scratch.members.len() as u32;
            scratch.members.extend_from_slice(&scratch.stack);
            scratch.leaves.push(Leaf {
                field,
                value: *value,
                number: f64::NAN,
                members: (start, scratch.stack.len() as u32),
            });
        }
    }

    fn branch_matches(
        &self,
        branch: u32,
        key_hits: &[(Hit, u32)],
        view: &Leaves<'_, '_>,
        judged: &mut Verdicts<'_>,
    ) -> bool {
        let info = &self.branches[branch as usize];
        let accepts = |slot: &Slot, leaf: u32| {
            let leaf = &view.all[leaf as usize];
            view.event
                .scalar_with(&leaf.value, |_| {
                    (!leaf.number.is_nan()).then_some(leaf.number)
                })
                .is_some_and(|value| {
                    slot.matchers
                        .iter()
                        .any(|m| !matches!(m, Matcher::Exists(false)) && m.accepts(&value))
                })
        };
        // Fast path, no allocation: a leaf outside every array never conflicts
        // with another, so if each slot but at most one has such a candidate
        // (or may be absent), the branch matches without the consistency
        // search: the one slot takes any of its candidates, the others their
        // free ones.
        let mut in_arrays_only = 0usize;
        for (i, slot) in info.slots.iter().enumerate() {
            let mut any = false;
            let mut free = false;
            if info.key == Some(i as u32) {
                for &(_, leaf) in key_hits {
                    any = true;
                    if view.all[leaf as usize].members.1 == 0 {
                        free = true;
                        break;
                    }
                }
            } else if let Some((a, f)) = judged.get(slot.condition) {
                (any, free) = (a, f);
            } else {
                let start = judged.leaves.len();
                for &leaf in view.of_field(slot.field) {
                    if accepts(slot, leaf) {
                        any = true;
                        if view.all[leaf as usize].members.1 == 0 {
                            free = true;
                            break;
                        }
                        judged.leaves.push(leaf);
                    }
                }
                if free {
                    judged.leaves.truncate(start);
                } else if let Some(span) = judged.spans.get_mut(slot.condition as usize) {
                    // Judged in full: every satisfying leaf is in an array.
                    *span = (
                        judged.generation,
                        start as u32,
                        (judged.leaves.len() - start) as u32,
                    );
                }
                judged.set(slot.condition, any, free);
            }
            if !any {
                if !slot.absent_ok || !view.of_field(slot.field).is_empty() {
                    return false;
                }
            } else if !free {
                in_arrays_only += 1;
            }
        }
        if in_arrays_only <= 1 {
            return true;
        }
        // Two slots met only inside arrays (`tags.key` and `tags.value`):
        // some pair of their leaves must sit in the same elements of the
        // arrays they share. Checked pair by pair, with no allocation.
        if in_arrays_only == 2 {
            let mut lists: [Option<Candidates<'_>>; 2] = [None, None];
            let mut n = 0;
            for (i, slot) in info.slots.iter().enumerate() {
                let list = if info.key == Some(i as u32) {
                    if key_hits
                        .iter()
                        .any(|&(_, l)| view.all[l as usize].members.1 == 0)
                    {
                        continue;
                    }
                    Some(Candidates::Hits(key_hits))
                } else {
                    match judged.get(slot.condition) {
                        Some((true, false)) => {
                            judged.leaves_of(slot.condition).map(Candidates::Leaves)
                        }
                        _ => continue,
                    }
                };
                if let (Some(list), Some(at)) = (list, lists.get_mut(n)) {
                    *at = Some(list);
                    n += 1;
                }
            }
            if let [Some(a), Some(b)] = lists {
                return a.iter().any(|x| {
                    b.iter().any(|y| {
                        same_elements(&view.all[x as usize], &view.all[y as usize], view.arena)
                    })
                });
            }
        }
        let mut per_slot: Vec<Vec<u32>> = Vec::with_capacity(info.slots.len());
        for (i, slot) in info.slots.iter().enumerate() {
            let candidates: Vec<u32> = if info.key == Some(i as u32) {
                key_hits.iter().map(|&(_, leaf)| leaf).collect()
            } else {
                view.of_field(slot.field)
                    .iter()
                    .copied()
                    .filter(|&l| accepts(slot, l))
                    .collect()
            };
            if !candidates.is_empty() {
                per_slot.push(candidates);
            }
        }
        consistent(&per_slot, view.all, view.arena)
    }
}

/// The candidate leaves of one slot: its key hits, or a condition's leaves.
#[derive(Clone, Copy)]
enum Candidates<'a> {
    Hits(&'a [(Hit, u32)]),
    Leaves(&'a [u32]),
}

impl Candidates<'_> {
    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        let (hits, leaves) = match self {
            Candidates::Hits(h) => (*h, &[][..]),
            Candidates::Leaves(l) => (&[][..], *l),
        };
        hits.iter().map(|&(_, l)| l).chain(leaves.iter().copied())
    }
}

/// Whether two leaves can belong to one match: in every array both are in,
/// they are in the same element.
fn same_elements(a: &Leaf, b: &Leaf, arena: &[(u32, u32)]) -> bool {
    let chain = |l: &Leaf| {
        arena
            .get(l.members.0 as usize..(l.members.0 + l.members.1) as usize)
            .unwrap_or_default()
    };
    let (x, y) = (chain(a), chain(b));
    x.iter()
        .all(|(array, i)| y.iter().all(|(other, j)| array != other || i == j))
}

/// Condition verdicts for the event being matched, and for a condition
/// that only leaves inside arrays satisfy, those leaves.
struct Verdicts<'a> {
    all: &'a mut [(u32, bool, bool)],
    generation: u32,
    /// Per condition: (generation, start, length) in `leaves`.
    spans: &'a mut [(u32, u32, u32)],
    leaves: &'a mut Vec<u32>,
}

impl<'a> Verdicts<'a> {
    /// Starts a new event: verdicts stamped with an older generation are
    /// stale, so nothing is cleared per event.
    fn begin(
        all: &'a mut Vec<(u32, bool, bool)>,
        spans: &'a mut Vec<(u32, u32, u32)>,
        leaves: &'a mut Vec<u32>,
        generation: &mut u32,
        conditions: usize,
    ) -> Verdicts<'a> {
        if all.len() < conditions {
            all.resize(conditions, (0, false, false));
            spans.resize(conditions, (0, 0, 0));
        }
        *generation = generation.wrapping_add(1);
        if *generation == 0 {
            all.iter_mut().for_each(|v| v.0 = 0);
            spans.iter_mut().for_each(|v| v.0 = 0);
            *generation = 1;
        }
        leaves.clear();
        Verdicts {
            all,
            generation: *generation,
            spans,
            leaves,
        }
    }

    /// The leaves that satisfy `condition`, when it was judged in full.
    fn leaves_of(&self, condition: u32) -> Option<&[u32]> {
        match self.spans.get(condition as usize) {
            Some(&(g, start, len)) if g == self.generation => {
                self.leaves.get(start as usize..(start + len) as usize)
            }
            _ => None,
        }
    }

    fn get(&self, condition: u32) -> Option<(bool, bool)> {
        match self.all.get(condition as usize) {
            Some(&(g, any, free)) if g == self.generation => Some((any, free)),
            _ => None,
        }
    }

    fn set(&mut self, condition: u32, any: bool, free: bool) {
        if let Some(v) = self.all.get_mut(condition as usize) {
            *v = (self.generation, any, free);
        }
    }
}

/// The leaves of one event, with an index by field.
struct Leaves<'a, 'e> {
    event: &'a ParsedEvent<'e>,
    all: &'a [Leaf],
    /// (field, leaf index), sorted.
    by_field: &'a [(u32, u32)],
    arena: &'a [(u32, u32)],
}

impl Leaves<'_, '_> {
    /// Indices of the leaves at `field`.
    fn of_field(&self, field: u32) -> LeafIds<'_> {
        let start = self.by_field.partition_point(|&(f, _)| f < field);
        let end = start + self.by_field[start..].partition_point(|&(f, _)| f == field);
        LeafIds(&self.by_field[start..end])
    }
}

/// A run of `(field, leaf)` pairs, iterated as leaf indices.
#[derive(Clone, Copy)]
struct LeafIds<'a>(&'a [(u32, u32)]);

impl<'a> LeafIds<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = &'a u32> + 'a {
        self.0.iter().map(|(_, l)| l)
    }
}

impl<'a> IntoIterator for LeafIds<'a> {
    type Item = &'a u32;
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (u32, u32)>, fn(&'a (u32, u32)) -> &'a u32>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(_, l)| l)
    }
}

/// Whether one candidate per slot can be chosen so that no two chosen leaves
/// come from different elements of the same array.
///
/// Linear in the candidates' membership chains (for up to [`TREE_SLOTS`]
/// slots): a leaf's chain is the path of (array, element) pairs from the
/// root, and array ids are unique per array instance, so the chains form a
/// tree of elements. Two leaves clash exactly when their chains first differ
/// at two elements of the same array. Bottom-up over that tree, each element
/// gets the set of slot masks its subtree can satisfy: the slots its own
/// leaves serve, or-ed with at most one element's set per array nested in
/// it. The branch holds when the root's set has every slot. Sets of masks
/// are bitsets over 2^slots masks, so this is O(chain length × 4^slots) per
/// candidate, never the product of the candidate lists (which a pattern
/// naming two fields of 20,000 array objects made take seconds).
fn consistent(slots: &[Vec<u32>], leaves: &[Leaf], arena: &[(u32, u32)]) -> bool {
    if slots.len() > TREE_SLOTS {
        let mut chosen = Vec::with_capacity(slots.len());
        return consistent_search(slots, leaves, arena, &mut chosen);
    }
    let full = (1u32 << slots.len()) - 1;
    // Element (array, index) → (the slots its own leaves serve, its parent
    // element, depth, and per nested array the union of its elements' sets).
    struct Element {
        own: u32,
        parent: Option<(u32, u32)>,
        depth: u32,
        nested: FxHashMap<u32, u64>,
    }
    let mut elements: FxHashMap<(u32, u32), Element> = FxHashMap::default();
    let mut root_own = 0u32;
    for (slot, candidates) in slots.iter().enumerate() {
        for &leaf in candidates {
            let (start, len) = leaves[leaf as usize].members;
            let chain = &arena[start as usize..(start + len) as usize];
            let Some(&last) = chain.last() else {
                root_own |= 1 << slot;
                continue;
            };
            elements
                .entry(last)
                .or_insert_with(|| Element {
                    own: 0,
                    parent: None,
                    depth: 0,
                    nested: FxHashMap::default(),
                })
                .own |= 1 << slot;
            // Its ancestors, so the walk below reaches the root.
            for (depth, pair) in chain.iter().enumerate() {
                let parent = depth.checked_sub(1).map(|d| chain[d]);
                let element = elements.entry(*pair).or_insert_with(|| Element {
                    own: 0,
                    parent: None,
                    depth: 0,
                    nested: FxHashMap::default(),
                });
                element.parent = parent;
                element.depth = depth as u32 + 1;
            }
        }
    }
    let mut order: Vec<(u32, (u32, u32))> = elements.iter().map(|(k, e)| (e.depth, *k)).collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    let mut root_nested: FxHashMap<u32, u64> = FxHashMap::default();
    for (_, key) in order {
        let Some(element) = elements.remove(&key) else {
            continue;
        };
        let mut set = 1u64 << element.own;
        for nested in element.nested.values() {
            set = or_sets(set, *nested | 1);
        }
        let into = match element.parent {
            Some(parent) => elements.get_mut(&parent).map(|p| &mut p.nested),
            None => Some(&mut root_nested),
        };
        if let Some(nested) = into {
            *nested.entry(key.0).or_insert(0) |= set;
        }
    }
    let mut set = 1u64 << root_own;
    for nested in root_nested.values() {
        set = or_sets(set, *nested | 1);
    }
    set & (1u64 << full) != 0
}

/// Up to this many slots, [`consistent`] works on bitsets of 2^slots masks
/// in a `u64`; beyond, it searches.
const TREE_SLOTS: usize = 6;

/// `{a | b : a in x, b in y}` for sets of slot masks held as bitsets.
fn or_sets(x: u64, y: u64) -> u64 {
    let mut out = 0u64;
    let mut xs = x;
    while xs != 0 {
        let a = xs.trailing_zeros();
        xs &= xs - 1;
        let mut ys = y;
        while ys != 0 {
            let b = ys.trailing_zeros();
            ys &= ys - 1;
            out |= 1u64 << (a | b);
        }
    }
    out
}

/// The backtracking form of [`consistent`], for branches with more slots
/// than its bitsets hold; worst case the product of the candidate lists.
fn consistent_search<'a>(
    slots: &[Vec<u32>],
    leaves: &[Leaf],
    arena: &'a [(u32, u32)],
    chosen: &mut Vec<&'a [(u32, u32)]>,
) -> bool {
    let Some((first, rest)) = slots.split_first() else {
        return true;
    };
    for &leaf in first.iter() {
        let (start, len) = leaves[leaf as usize].members;
        let members = &arena[start as usize..(start + len) as usize];
        let fits = chosen.iter().all(|other| {
            members
                .iter()
                .all(|(a, i)| other.iter().all(|(b, j)| a != b || i == j))
        });
        if fits {
            chosen.push(members);
            if consistent_search(rest, leaves, arena, chosen) {
                return true;
            }
            chosen.pop();
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_of_an_earlier_event_are_never_reused_even_when_the_generation_wraps() {
        let (mut all, mut spans, mut leaves) = (Vec::new(), Vec::new(), Vec::new());
        let mut generation = u32::MAX - 1;
        let mut judged = Verdicts::begin(&mut all, &mut spans, &mut leaves, &mut generation, 2);
        judged.set(0, true, true);
        judged.leaves.push(7);
        judged.spans[1] = (judged.generation, 0, 1);
        assert_eq!(judged.leaves_of(1), Some(&[7][..]));
        assert_eq!(judged.get(0), Some((true, true)));
        assert_eq!(judged.get(1), None);
        // The next event's generation wraps past zero, the stamp unjudged
        // slots start with.
        let judged = Verdicts::begin(&mut all, &mut spans, &mut leaves, &mut generation, 2);
        assert_eq!(judged.get(0), None);
        assert_eq!(judged.get(1), None);
        assert_eq!(judged.leaves_of(1), None);
        let judged = Verdicts::begin(&mut all, &mut spans, &mut leaves, &mut generation, 2);
        assert_eq!(judged.get(0), None);
    }
}
