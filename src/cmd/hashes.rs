//! Hash commands, with Redis 7.0's semantics, replies and error texts (`t_hash.c`), and the
//! helpers every collection family shares (lookups, storing a changed meta, random picks,
//! HSCAN/SSCAN cursors).
//!
//! A hash is a meta entry (type, expiry, version, field count) plus one `data` entry per field
//! under `data_key(db, key, version, field)` whose value is the field's value. Writing to a
//! missing or expired key starts a new version at count 0; a write that empties the hash
//! deletes the key (EXISTS 0, TYPE none), in O(1) like DEL: leftover entries are garbage for
//! the compaction filter.
//!
//! Choices where the storage differs from Redis's hash table:
//! - HKEYS, HVALS, HGETALL and HSCAN answer in field byte order.
//! - A HSCAN/SSCAN cursor is a decimal number mapped to the data key to resume from in
//!   `Shared::scan_cursors` (tagged so that SCAN never takes it for a keyspace position). An
//!   unknown cursor, or one from another key or version, restarts: duplicates are allowed,
//!   misses are not. COUNT bounds the elements examined.
//! - Random picks (HRANDFIELD, SRANDMEMBER, SPOP) are exactly uniform for collections of up
//!   to [`EXACT_LIMIT`] elements (they collect the elements and sample); larger ones seek to a
//!   random position between the first and the last element and pick uniformly among the
//!   next [`WINDOW`] elements, so a pick costs one seek and a few steps whatever the size
//!   (plus two seeks for the first and last elements, once per committed state).
//! - The `payload` of a hash or set meta is a low-water mark: a sub-key no live element is
//!   below. Scans start there, so elements popped from the front (SPOP) do not leave
//!   tombstones every later scan must step over. Hashes keep it empty; sets maintain it.

use super::args::parse_cursor;
use super::strings::{read, write};
use super::{args, flags::*, CommandSpec, Exec};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::storage::context::{merge_pending, Ctx, ElemCf};
use crate::storage::encoding::{data_key, data_prefix, prefix_successor, Kind, Meta};
use crate::storage::Store;
use crate::util::float::{hincr_by_float, IncrFloatError};
use crate::util::glob::glob_match;
use crate::util::number::parse_i64;
use bytes::{Bytes, BytesMut};
use rand::Rng;
use rocksdb::{DBRawIteratorWithThreadMode, DB};
use std::cell::RefCell;
use std::collections::HashSet;

/// The hash commands (flags and arity as Redis 7.0's COMMAND reports).
pub static COMMANDS: &[CommandSpec] = &[
    write("hset", -4, DENYOOM | FAST, hset),
    write("hsetnx", 4, DENYOOM | FAST, hsetnx),
    read("hget", 3, FAST, hget),
    read("hmget", -3, FAST, hmget),
    write("hmset", -4, DENYOOM | FAST, hmset),
    write("hdel", -3, FAST, hdel),
    read("hlen", 2, FAST, hlen),
    read("hstrlen", 3, FAST, hstrlen),
    read("hexists", 3, FAST, hexists),
    read("hkeys", 2, 0, hkeys),
    read("hvals", 2, 0, hvals),
    read("hgetall", 2, 0, hgetall),
    write("hincrby", 4, DENYOOM | FAST, hincrby),
    write("hincrbyfloat", 4, DENYOOM | FAST, hincrbyfloat),
    read("hrandfield", -2, 0, hrandfield),
    read("hscan", -3, 0, hscan),
];

// ---- helpers shared by the collection families ---------------------------------------------

/// Collections up to this size are sampled exactly (every element is read).
pub(crate) const EXACT_LIMIT: u64 = 1024;

/// How many consecutive elements a random seek chooses among.
pub(crate) const WINDOW: usize = 16;

/// Redis's `lookupKeyRead` + `checkType`: counts a keyspace hit or miss, then answers the
/// live meta, `None` for a missing key, WRONGTYPE for another type.
pub(crate) fn read_meta(ex: &mut Exec<'_, '_>, key: &[u8], kind: Kind) -> Result<Option<Meta>> {
    let db = ex.db();
    let meta = ex.ctx.meta(db, key)?;
    ex.shared.stats.lookup(meta.is_some());
    if meta.is_none() {
        ex.ctx.notify(db, 'm', "keymiss", key);
    }
    match meta {
        Some(m) if m.kind != kind => Err(Error::WrongType),
        other => Ok(other),
    }
}

/// The live meta of a collection about to be written, or a new empty one (a fresh version,
/// not stored yet) when the key is missing or expired; WRONGTYPE for another type.
pub(crate) fn meta_or_new(ex: &mut Exec<'_, '_>, key: &[u8], kind: Kind) -> Result<Meta> {
    let db = ex.db();
    match ex.ctx.meta_of(db, key, kind)? {
        Some(m) => Ok(m),
        None => Ok(Meta::collection(kind, ex.ctx.new_version()?)),
    }
}

/// Stores a collection's changed meta; an emptied collection is deleted instead. Returns true
/// when the key was deleted.
pub(crate) fn store_meta(ex: &mut Exec<'_, '_>, key: &[u8], meta: Meta) -> Result<bool> {
    let db = ex.db();
    if meta.count == 0 {
        ex.ctx.delete(db, key)?;
        Ok(true)
    } else {
        ex.ctx.put_meta(db, key, meta);
        Ok(false)
    }
}

/// [`store_meta`] when the command changed `meta` (its element count); otherwise only marks
/// the key as touched (for WATCH): its elements changed, and rewriting the same meta entry
/// would cost a memtable insert for nothing (an HSET of existing fields, the common case).
pub(crate) fn store_meta_if(
    ex: &mut Exec<'_, '_>,
    key: &[u8],
    meta: Meta,
    changed: bool,
) -> Result<bool> {
    if changed {
        return store_meta(ex, key, meta);
    }
    let db = ex.db();
    ex.ctx.touch(db, key);
    Ok(false)
}

/// The encoded key of element `sub` of the collection `key` with `meta`.
pub(crate) fn elem_key(db: u16, key: &[u8], meta: &Meta, sub: &[u8]) -> Vec<u8> {
    data_key(db, key, meta.version, sub)
}

/// Where scans of a collection's `data` entries start: its data prefix followed by its
/// low-water mark. A zset's payload is the bounds of its score index, not a data position:
/// its scans start at the prefix.
pub(crate) fn scan_start(prefix: &[u8], meta: &Meta) -> Vec<u8> {
    let mut s = prefix.to_vec();
    if meta.kind != Kind::ZSet {
        s.extend_from_slice(&meta.payload);
    }
    s
}

/// Visits every element (sub-key, value) of a collection in order until `visit` says stop.
pub(crate) fn visit_elems(
    ctx: &Ctx<'_>,
    db: u16,
    key: &[u8],
    meta: &Meta,
    mut visit: impl FnMut(&[u8], &[u8]) -> bool,
) -> Result<()> {
    let prefix = data_prefix(db, key, meta.version);
    let start = scan_start(&prefix, meta);
    let fill_cache = meta.count <= BULK_SCAN;
    ctx.scan_elems_with(ElemCf::Data, &prefix, Some(&start), fill_cache, |k, v| {
        visit(&k[prefix.len()..], v)
    })
}

/// Collections larger than this are read around the block cache when visited whole.
const BULK_SCAN: u64 = 10_000;

/// Copies the many small strings of a large reply into shared 64 KiB chunks: one allocation
/// per chunk instead of one per element (which, with the allocator's per-block overhead,
/// costs more than the strings themselves for short fields and members).
pub(crate) struct Arena {
    chunk: BytesMut,
}

impl Arena {
    const CHUNK: usize = 64 * 1024;

    /// An empty arena.
    pub(crate) fn new() -> Arena {
        Arena {
            chunk: BytesMut::new(),
        }
    }

    /// A copy of `b` (in the current chunk when it fits; large strings get their own).
    pub(crate) fn copy(&mut self, b: &[u8]) -> Bytes {
        if b.len() > Self::CHUNK / 8 {
            return Bytes::copy_from_slice(b);
        }
        if self.chunk.capacity() - self.chunk.len() < b.len() {
            self.chunk = BytesMut::with_capacity(Self::CHUNK);
        }
        self.chunk.extend_from_slice(b);
        self.chunk.split().freeze()
    }
}

/// An element as random picks return it: the full encoded key and the value.
pub(crate) type Elem = (Vec<u8>, Bytes);

/// Every element of the collection at `prefix`, encoded keys included.
fn collect_all(ctx: &Ctx<'_>, prefix: &[u8], meta: &Meta) -> Result<Vec<Elem>> {
    let mut all = Vec::new();
    let start = scan_start(prefix, meta);
    ctx.scan_elems(ElemCf::Data, prefix, Some(&start), |k, v| {
        all.push((k.to_vec(), Bytes::copy_from_slice(v)));
        true
    })?;
    Ok(all)
}

/// How many bytes after the common prefix of the first and the last element a random target
/// draws.
const DESCENT: usize = 8;

/// A random seek target between `first` (the first live element's key) and `last` (the last
/// element's): their common prefix, then [`DESCENT`] bytes drawn uniformly, the first between
/// the first's and the last's bytes there, the others within the range of bytes the two use
/// after the prefix (digits for numbers, letters for words, anything for binary).
///
/// This is a byte-by-byte descent (draw a byte, go on while elements exist under the prefix
/// drawn so far, so every populated branch is reachable) without a seek per level: where no
/// element starts with a drawn prefix, a seek to it lands on the next element, and so does a
/// seek to any extension of it; one seek to the whole drawn key lands where the descent would.
fn random_target(first: &[u8], last: &[u8]) -> Vec<u8> {
    if last <= first {
        return first.to_vec();
    }
    let c = first.iter().zip(last).take_while(|(x, y)| x == y).count();
    let tail = first[c..].iter().chain(&last[c..]);
    let (lo, hi) = tail.fold((u8::MAX, u8::MIN), |(l, h), &b| (l.min(b), h.max(b)));
    let mut p = Vec::with_capacity(c + DESCENT);
    p.extend_from_slice(&first[..c]);
    let mut rng = rand::rng();
    for level in 0..DESCENT {
        // The first byte after the common prefix lies between the first's and the last's.
        let (l, h) = match level {
            0 => (
                first.get(c).copied().unwrap_or(lo),
                last.get(c).copied().unwrap_or(hi),
            ),
            _ => (lo, hi),
        };
        p.push(if h > l { rng.random_range(l..=h) } else { l });
    }
    p
}

/// The committed ends of the collection most recently picked from on this thread, as they
/// were at one store sequence number. While no commit has landed since (the SPOPs of one
/// executor group share a context that commits at its end; reads in a row), they still hold,
/// and a pick skips the two seeks that find them.
struct EndsHint {
    /// The store (its address) and its sequence number when the ends were read.
    store: usize,
    seq: u64,
    /// The collection's data prefix.
    prefix: Vec<u8>,
    /// The scan start `first` was looked up from: no committed element lies in
    /// `[start, first)`.
    start: Vec<u8>,
    /// The first committed element at or after `start`, and the last committed element.
    first: Option<Vec<u8>>,
    last: Option<Vec<u8>>,
}

thread_local! {
    static ENDS_HINT: RefCell<EndsHint> = const {
        RefCell::new(EndsHint {
            store: 0,
            seq: u64::MAX,
            prefix: Vec::new(),
            start: Vec::new(),
            first: None,
            last: None,
        })
    };
}

/// A collection's elements as random picks walk them: one RocksDB iterator serves every seek
/// of a pick (the first live element, the last one, the target, the wrap-around), with the
/// context's pending writes merged over it, so an element deleted earlier in the same context
/// (the SPOPs of one group or transaction) is never seen and one added there is.
struct Walker<'c, 'a> {
    ctx: &'c Ctx<'a>,
    upper: Vec<u8>,
    /// `None` when nothing is committed in range (a database this context flushed).
    it: Option<DBRawIteratorWithThreadMode<'c, DB>>,
    /// The first live element's key.
    first: Vec<u8>,
    /// The last element's key (a bound for random targets).
    last: Vec<u8>,
}

impl<'c, 'a> Walker<'c, 'a> {
    /// A walker over the collection under `prefix` with `meta`, ready to pick (`None`: the
    /// collection is empty). Random targets fall between the first live element and the last.
    fn new(ctx: &'c Ctx<'a>, prefix: &[u8], meta: &Meta) -> Result<Option<Self>> {
        let start = scan_start(prefix, meta);
        let upper = prefix_successor(prefix);
        // Read before the iterator is made: a hint is tagged with a state no newer than the
        // iterator's. A snapshot reads an older state: no hint for it.
        let seq = ctx.store().db().latest_sequence_number();
        let it = ctx.stored_elems(ElemCf::Data, &start, &upper, true);
        let hinted = it.is_some() && !ctx.has_snapshot();
        let mut w = Walker {
            ctx,
            upper,
            it,
            first: Vec::new(),
            last: Vec::new(),
        };
        let (first, last) = w.committed_ends(prefix, &start, seq, hinted);
        let Some(first) = w.first_live(&start, first)? else {
            return Ok(None);
        };
        // A pending write past the last committed element extends the range. (A committed
        // one deleted in this context still counts: it only bounds random targets.)
        let after = last.as_deref().unwrap_or(&first);
        let pending_last = ctx
            .pending_elems(ElemCf::Data, after, &w.upper)
            .rev()
            .find(|(_, v)| v.is_some())
            .map(|(k, _)| k.to_vec());
        w.last = pending_last.or(last).unwrap_or_else(|| first.clone());
        w.first = first;
        Ok(Some(w))
    }

    /// The first committed element at or after `start` and the last committed element, from
    /// the thread's hint when it holds for this state (`hinted`), else by seeking (and the
    /// hint is renewed).
    fn committed_ends(
        &mut self,
        prefix: &[u8],
        start: &[u8],
        seq: u64,
        hinted: bool,
    ) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let Some(it) = self.it.as_mut() else {
            return (None, None);
        };
        let store = self.ctx.store() as *const Store as usize;
        let (mut first, mut last) = (None, None);
        if hinted {
            ENDS_HINT.with_borrow(|h| {
                if h.store == store && h.seq == seq && h.prefix == prefix {
                    let above = h.start.as_slice() <= start;
                    // A last element is the last of all; none means none from `h.start` on.
                    if h.last.is_some() || above {
                        last = Some(h.last.clone());
                    }
                    // Valid from any start in `[h.start, h.first]`.
                    if above && h.first.as_deref().is_none_or(|f| start <= f) {
                        first = Some(h.first.clone());
                    }
                }
            });
        }
        if let (Some(first), Some(last)) = (&first, &last) {
            return (first.clone(), last.clone());
        }
        let first = first.unwrap_or_else(|| {
            it.seek(start);
            it.key().map(<[u8]>::to_vec)
        });
        let last = last.unwrap_or_else(|| {
            it.seek_to_last();
            it.key().map(<[u8]>::to_vec)
        });
        if hinted {
            ENDS_HINT.with_borrow_mut(|h| {
                h.store = store;
                h.seq = seq;
                h.prefix.clear();
                h.prefix.extend_from_slice(prefix);
                h.start.clear();
                h.start.extend_from_slice(start);
                h.first.clone_from(&first);
                h.last.clone_from(&last);
            });
        }
        (first, last)
    }

    /// The first live element at or after `start`, given `first`, the first committed one:
    /// the context's pending writes up to it decide (a pending element before it comes
    /// first; a pending delete of it means walking on from there).
    fn first_live(&mut self, start: &[u8], first: Option<Vec<u8>>) -> Result<Option<Vec<u8>>> {
        let ctx = self.ctx;
        for (k, v) in ctx.pending_elems(ElemCf::Data, start, &self.upper) {
            match first.as_deref() {
                Some(f) if k > f => break,
                Some(f) if k == f && v.is_none() => {
                    // Deleted in this context: the first live one is further on.
                    let mut found = None;
                    self.walk(f, |k, _| {
                        found = Some(k.to_vec());
                        false
                    })?;
                    return Ok(found);
                }
                // Nothing committed lies before `first`: a pending delete there is of an
                // element this context added, a pending write is a live element.
                _ if v.is_some() => return Ok(Some(k.to_vec())),
                _ => {}
            }
        }
        Ok(first)
    }

    /// Visits the live elements (full key, value) from `from` on, in key order, until `visit`
    /// returns false.
    fn walk(&mut self, from: &[u8], visit: impl FnMut(&[u8], &[u8]) -> bool) -> Result<()> {
        let pending = self.ctx.pending_elems(ElemCf::Data, from, &self.upper);
        if let Some(it) = self.it.as_mut() {
            it.seek(from);
        }
        merge_pending(self.it.as_mut(), pending, false, visit)
    }

    /// Steps over the live elements from `from` (before `end`, when given) to the `n`-th,
    /// counting `n` down, and answers it (copied); `None` when the walk runs out first.
    fn nth(&mut self, from: &[u8], end: Option<&[u8]>, n: &mut usize) -> Result<Option<Elem>> {
        let mut found = None;
        self.walk(from, |k, v| {
            if end.is_some_and(|e| k >= e) {
                return false;
            }
            if *n == 0 {
                found = Some((k.to_vec(), Bytes::copy_from_slice(v)));
                return false;
            }
            *n -= 1;
            true
        })?;
        Ok(found)
    }

    /// One element picked uniformly among the [`WINDOW`] consecutive live elements from a
    /// random target on (wrapping around the end to the first), or among all of them when
    /// there are fewer; `None` when there is none. Only the picked element is copied, and
    /// the walk stops there.
    fn pick(&mut self) -> Result<Option<Elem>> {
        let target = random_target(&self.first, &self.last);
        let i = rand::rng().random_range(0..WINDOW);
        let mut n = i;
        if let Some(e) = self.nth(&target, None, &mut n)? {
            return Ok(Some(e));
        }
        let first = std::mem::take(&mut self.first);
        let mut picked = self.nth(&first, Some(&target), &mut n)?;
        if picked.is_none() {
            // Fewer than WINDOW live elements, all visited: pick among them.
            let live = i - n;
            if live > 0 {
                let mut j = rand::rng().random_range(0..live);
                picked = self.nth(&first, None, &mut j)?;
            }
        }
        self.first = first;
        Ok(picked)
    }
}

/// One random element (uniform for collections up to [`WINDOW`] elements, otherwise uniform
/// among a random window), and the first live key.
pub(crate) fn random_one(
    ctx: &Ctx<'_>,
    prefix: &[u8],
    meta: &Meta,
) -> Result<(Option<Elem>, Option<Vec<u8>>)> {
    if meta.count <= WINDOW as u64 {
        let mut all = collect_all(ctx, prefix, meta)?;
        let first = all.first().map(|e| e.0.clone());
        if all.is_empty() {
            return Ok((None, first));
        }
        let i = rand::rng().random_range(0..all.len());
        return Ok((Some(all.swap_remove(i)), first));
    }
    let Some(mut w) = Walker::new(ctx, prefix, meta)? else {
        return Ok((None, None));
    };
    let picked = w.pick()?;
    Ok((picked, Some(w.first)))
}

/// `n` random elements of the collection at `prefix`: distinct when `distinct` (the whole
/// collection when `n` reaches its size), otherwise with repetitions. `n > 0`.
pub(crate) fn random_elems(
    ctx: &Ctx<'_>,
    prefix: &[u8],
    meta: &Meta,
    n: u64,
    distinct: bool,
) -> Result<Vec<Elem>> {
    let size = meta.count;
    let mut rng = rand::rng();
    if distinct && n >= size {
        return collect_all(ctx, prefix, meta);
    }
    if size <= EXACT_LIMIT || n.saturating_mul(WINDOW as u64) >= size {
        let mut all = collect_all(ctx, prefix, meta)?;
        if all.is_empty() {
            return Ok(all);
        }
        if distinct {
            // A partial Fisher-Yates shuffle: the first n are a uniform random subset.
            let n = (n as usize).min(all.len());
            for i in 0..n {
                let j = rng.random_range(i..all.len());
                all.swap(i, j);
            }
            all.truncate(n);
            return Ok(all);
        }
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(all[rng.random_range(0..all.len())].clone());
        }
        return Ok(out);
    }
    // A large collection and few picks (n < size / WINDOW): random seeks, on one iterator.
    let mut out = Vec::new();
    let Some(mut w) = Walker::new(ctx, prefix, meta)? else {
        return Ok(out);
    };
    let mut seen = HashSet::new();
    let mut attempts = 0u64;
    while (out.len() as u64) < n {
        attempts += 1;
        if distinct && attempts > n * 8 + 64 {
            // Unlucky (or a collection changing under a reader): sample exactly instead.
            return random_elems_exact(ctx, prefix, meta, n);
        }
        let Some(e) = w.pick()? else {
            break;
        };
        if !distinct || seen.insert(e.0.clone()) {
            out.push(e);
        }
    }
    Ok(out)
}

fn random_elems_exact(ctx: &Ctx<'_>, prefix: &[u8], meta: &Meta, n: u64) -> Result<Vec<Elem>> {
    let mut all = collect_all(ctx, prefix, meta)?;
    let mut rng = rand::rng();
    let n = (n as usize).min(all.len());
    for i in 0..n {
        let j = rng.random_range(i..all.len());
        all.swap(i, j);
    }
    all.truncate(n);
    Ok(all)
}

/// The count argument of HRANDFIELD/SRANDMEMBER (Redis's `getRangeLongFromObjectOrReply`
/// with `-LONG_MAX..=LONG_MAX`).
pub(crate) fn rand_count(arg: &[u8]) -> Result<i64> {
    let n = args::int(arg)?;
    if n == i64::MIN {
        return Err(Error::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    Ok(n)
}

/// The tag in front of a HSCAN/SSCAN/ZSCAN resume key in the cursor table, so that SCAN
/// (which checks the db prefix) never resumes from it.
const CURSOR_TAG: &[u8] = b"\xff\xff#";

/// `HSCAN`/`SSCAN key cursor [MATCH pattern] [COUNT count]` (Redis's `scanGenericCommand`
/// order: cursor, key, then options). `with_values` adds each hash field's value.
pub(crate) fn scan_collection(
    ex: &mut Exec<'_, '_>,
    args: &[Bytes],
    kind: Kind,
    with_values: bool,
) -> Result<Reply> {
    let cursor = parse_cursor(&args[2])?;
    let key = &args[1];
    let Some(meta) = read_meta(ex, key, kind)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let opts = ScanOptions::parse(args)?;
    let prefix = data_prefix(ex.db(), key, meta.version);
    let start = scan_resume(ex, cursor, &prefix).unwrap_or_else(|| scan_start(&prefix, &meta));
    let mut out = Vec::new();
    let cursor = scan_page(ex, &prefix, Some(&start), opts.count, |sub, v| {
        if opts.matches(sub) {
            out.push(Reply::bulk(sub));
            if with_values {
                out.push(Reply::bulk(v));
            }
        }
    })?;
    Ok(scan_reply(cursor, out))
}

/// The options of HSCAN, SSCAN and ZSCAN after the cursor: `[MATCH pattern] [COUNT count]`,
/// in any order, each may repeat (the last wins).
pub(crate) struct ScanOptions<'a> {
    /// How many elements a call examines at most (10 by default).
    pub(crate) count: i64,
    /// The pattern, `None` for every element (no MATCH, or `*`).
    pattern: Option<&'a Bytes>,
}

impl<'a> ScanOptions<'a> {
    /// Parses `args[3..]` (COUNT below 1, or anything else: `ERR syntax error`).
    pub(crate) fn parse(args: &'a [Bytes]) -> Result<ScanOptions<'a>> {
        let mut opts = ScanOptions {
            count: 10,
            pattern: None,
        };
        let mut i = 3;
        while i < args.len() {
            let more = args.len() - i;
            if args::is(&args[i], "count") && more >= 2 {
                opts.count = args::int(&args[i + 1])?;
                if opts.count < 1 {
                    return Err(Error::Syntax);
                }
            } else if args::is(&args[i], "match") && more >= 2 {
                opts.pattern = (args[i + 1].as_ref() != b"*").then_some(&args[i + 1]);
            } else {
                return Err(Error::Syntax);
            }
            i += 2;
        }
        Ok(opts)
    }

    /// True when `sub` matches the pattern (case-sensitive).
    pub(crate) fn matches(&self, sub: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob_match(p, sub, false))
    }
}

/// The data key a collection scan's `cursor` resumes from, if the cursor table holds one for
/// a collection under `prefix` (an unknown cursor, or one of another key or version, restarts).
pub(crate) fn scan_resume(ex: &Exec<'_, '_>, cursor: u64, prefix: &[u8]) -> Option<Vec<u8>> {
    if cursor == 0 {
        return None;
    }
    ex.shared
        .scan_cursors
        .get(cursor)
        .and_then(|r| r.strip_prefix(CURSOR_TAG).map(<[u8]>::to_vec))
        .filter(|k| k.starts_with(prefix))
}

/// One page of a collection scan: examines at most `count` data entries under `prefix` from
/// `start` (the collection's start when `None`), passing each (sub-key, value) to `visit`, and
/// answers the cursor of the next page (0 when nothing is left).
pub(crate) fn scan_page(
    ex: &mut Exec<'_, '_>,
    prefix: &[u8],
    start: Option<&[u8]>,
    count: i64,
    mut visit: impl FnMut(&[u8], &[u8]),
) -> Result<u64> {
    let mut examined = 0i64;
    let mut next: Option<Vec<u8>> = None;
    ex.ctx.scan_elems(ElemCf::Data, prefix, start, |k, v| {
        if examined == count {
            next = Some(k.to_vec());
            return false;
        }
        examined += 1;
        visit(&k[prefix.len()..], v);
        true
    })?;
    Ok(next.map_or(0, |k| {
        let mut r = CURSOR_TAG.to_vec();
        r.extend_from_slice(&k);
        ex.shared.scan_cursors.save(r)
    }))
}

/// A scan's reply: `[cursor, [elements...]]`.
pub(crate) fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(items),
    ])
}

// ---- HSET, HMSET, HSETNX ---------------------------------------------------------------------

/// `HSET key field value [field value ...]` and `HMSET` (same, answering OK).
struct HSet<'a> {
    key: &'a Bytes,
    /// Field, value, field, value, ... (borrowed from the request: nothing is copied or
    /// collected before the writes).
    pairs: &'a [Bytes],
    mset: bool,
}

impl<'a> HSet<'a> {
    fn parse(args: &'a [Bytes], mset: bool) -> Result<HSet<'a>> {
        if args.len() % 2 == 1 {
            return Err(Error::Arity(if mset { "hmset" } else { "hset" }.into()));
        }
        Ok(HSet {
            key: &args[1],
            pairs: &args[2..],
            mset,
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let mut meta = meta_or_new(ex, self.key, Kind::Hash)?;
        let mut created = 0i64;
        for pair in self.pairs.chunks_exact(2) {
            let (field, value) = (&pair[0], &pair[1]);
            let k = elem_key(db, self.key, &meta, field);
            if !ex.ctx.elem_exists(ElemCf::Data, &k)? {
                created += 1;
                meta.count += 1;
            }
            ex.ctx.put_elem(ElemCf::Data, k, value.clone());
        }
        store_meta_if(ex, self.key, meta, created > 0)?;
        ex.ctx.notify(db, 'h', "hset", self.key);
        Ok(if self.mset {
            Reply::ok()
        } else {
            Reply::Integer(created)
        })
    }
}

fn hset(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    HSet::parse(args, false)?.apply(ex)
}

fn hmset(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    HSet::parse(args, true)?.apply(ex)
}

fn hsetnx(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let (key, field, value) = (&args[1], &args[2], &args[3]);
    let db = ex.db();
    let mut meta = meta_or_new(ex, key, Kind::Hash)?;
    let k = elem_key(db, key, &meta, field);
    if ex.ctx.elem_exists(ElemCf::Data, &k)? {
        return Ok(Reply::Integer(0));
    }
    ex.ctx.put_elem(ElemCf::Data, k, value.clone());
    meta.count += 1;
    store_meta(ex, key, meta)?;
    ex.ctx.notify(db, 'h', "hset", key);
    Ok(Reply::Integer(1))
}

// ---- reads --------------------------------------------------------------------------------

/// The value of `field` in hash `key` (read lookup: counts a hit or miss).
fn get_field(ex: &mut Exec<'_, '_>, key: &[u8], field: &[u8]) -> Result<Option<Bytes>> {
    let Some(meta) = read_meta(ex, key, Kind::Hash)? else {
        return Ok(None);
    };
    let k = elem_key(ex.db(), key, &meta, field);
    ex.ctx.get_elem(ElemCf::Data, &k)
}

fn hget(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ok(Reply::opt_bulk(get_field(ex, &args[1], &args[2])?))
}

fn hmget(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let key = &args[1];
    let meta = read_meta(ex, key, Kind::Hash)?;
    let db = ex.db();
    let mut out = Vec::with_capacity(args.len().min(1024));
    for field in &args[2..] {
        let v = match &meta {
            Some(m) => ex
                .ctx
                .get_elem(ElemCf::Data, &elem_key(db, key, m, field))?,
            None => None,
        };
        out.push(Reply::opt_bulk(v));
    }
    Ok(Reply::Array(out))
}

fn hlen(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let meta = read_meta(ex, &args[1], Kind::Hash)?;
    Ok(Reply::Integer(meta.map_or(0, |m| m.count as i64)))
}

fn hstrlen(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let v = get_field(ex, &args[1], &args[2])?;
    Ok(Reply::Integer(v.map_or(0, |v| v.len() as i64)))
}

fn hexists(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let v = get_field(ex, &args[1], &args[2])?;
    Ok(Reply::Integer(v.is_some() as i64))
}

/// What HKEYS, HVALS and HGETALL return.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Keys,
    Vals,
    All,
}

fn get_all(ex: &mut Exec<'_, '_>, key: &[u8], part: Part) -> Result<Reply> {
    let Some(meta) = read_meta(ex, key, Kind::Hash)? else {
        return Ok(if part == Part::All {
            Reply::Map(Vec::new())
        } else {
            Reply::Array(Vec::new())
        });
    };
    let db = ex.db();
    let cap = (meta.count as usize).min(1 << 20);
    let mut arena = Arena::new();
    if part == Part::All {
        let mut pairs = Vec::with_capacity(cap);
        visit_elems(&ex.ctx, db, key, &meta, |f, v| {
            pairs.push((Reply::Bulk(arena.copy(f)), Reply::Bulk(arena.copy(v))));
            true
        })?;
        return Ok(Reply::Map(pairs));
    }
    let mut out = Vec::with_capacity(cap);
    visit_elems(&ex.ctx, db, key, &meta, |f, v| {
        out.push(Reply::Bulk(arena.copy(if part == Part::Keys {
            f
        } else {
            v
        })));
        true
    })?;
    Ok(Reply::Array(out))
}

fn hkeys(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    get_all(ex, &args[1], Part::Keys)
}

fn hvals(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    get_all(ex, &args[1], Part::Vals)
}

fn hgetall(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    get_all(ex, &args[1], Part::All)
}

// ---- HDEL ---------------------------------------------------------------------------------

fn hdel(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let key = &args[1];
    let db = ex.db();
    let Some(mut meta) = ex.ctx.meta_of(db, key, Kind::Hash)? else {
        return Ok(Reply::Integer(0));
    };
    let mut deleted = 0i64;
    for field in &args[2..] {
        let k = elem_key(db, key, &meta, field);
        if ex.ctx.elem_exists(ElemCf::Data, &k)? {
            ex.ctx.delete_elem(ElemCf::Data, k);
            meta.count = meta.count.saturating_sub(1);
            deleted += 1;
            if meta.count == 0 {
                break;
            }
        }
    }
    if deleted > 0 {
        let gone = store_meta(ex, key, meta)?;
        ex.ctx.notify(db, 'h', "hdel", key);
        if gone {
            ex.ctx.notify(db, 'g', "del", key);
        }
    }
    Ok(Reply::Integer(deleted))
}

// ---- HINCRBY, HINCRBYFLOAT ----------------------------------------------------------------

fn hincrby(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let (key, field) = (&args[1], &args[2]);
    let incr = args::int(&args[3])?;
    let db = ex.db();
    let mut meta = meta_or_new(ex, key, Kind::Hash)?;
    let k = elem_key(db, key, &meta, field);
    let current = match ex.ctx.get_elem(ElemCf::Data, &k)? {
        Some(v) => Some(parse_i64(&v).ok_or_else(|| Error::err("hash value is not an integer"))?),
        None => None,
    };
    let value = current
        .unwrap_or(0)
        .checked_add(incr)
        .ok_or(Error::Overflow)?;
    if current.is_none() {
        meta.count += 1;
    }
    ex.ctx
        .put_elem(ElemCf::Data, k, Bytes::from(value.to_string()));
    store_meta_if(ex, key, meta, current.is_none())?;
    ex.ctx.notify(db, 'h', "hincrby", key);
    Ok(Reply::Integer(value))
}

fn float_error(e: IncrFloatError) -> Error {
    match e {
        IncrFloatError::InvalidIncrement => Error::NotFloat,
        IncrFloatError::IncrementNotFinite => Error::err("value is NaN or Infinity"),
        IncrFloatError::InvalidCurrent => Error::err("hash value is not a float"),
        IncrFloatError::NanOrInfinity => Error::err("increment would produce NaN or Infinity"),
    }
}

fn hincrbyfloat(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let (key, field, incr) = (&args[1], &args[2], &args[3]);
    // The increment is checked before the key, as Redis does.
    hincr_by_float(None, incr).map_err(float_error)?;
    let db = ex.db();
    let mut meta = meta_or_new(ex, key, Kind::Hash)?;
    let k = elem_key(db, key, &meta, field);
    let current = ex.ctx.get_elem(ElemCf::Data, &k)?;
    let value = Bytes::from(hincr_by_float(current.as_deref(), incr).map_err(float_error)?);
    let created = current.is_none();
    if created {
        meta.count += 1;
    }
    ex.ctx.put_elem(ElemCf::Data, k, value.clone());
    store_meta_if(ex, key, meta, created)?;
    ex.ctx.notify(db, 'h', "hincrbyfloat", key);
    Ok(Reply::Bulk(value))
}

// ---- HRANDFIELD, HSCAN --------------------------------------------------------------------

/// `HRANDFIELD key [count [WITHVALUES]]`.
struct HRandField {
    key: Bytes,
    count: Option<i64>,
    with_values: bool,
}

impl HRandField {
    fn parse(args: &[Bytes]) -> Result<HRandField> {
        let mut r = HRandField {
            key: args[1].clone(),
            count: None,
            with_values: false,
        };
        if args.len() >= 3 {
            let n = rand_count(&args[2])?;
            if args.len() > 4 || (args.len() == 4 && !args::is(&args[3], "withvalues")) {
                return Err(Error::Syntax);
            }
            if args.len() == 4 {
                r.with_values = true;
                if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
                    return Err(Error::err("value is out of range"));
                }
            }
            r.count = Some(n);
        }
        Ok(r)
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let meta = read_meta(ex, &self.key, Kind::Hash)?;
        let Some(count) = self.count else {
            let Some(meta) = meta else {
                return Ok(Reply::Nil);
            };
            let prefix = data_prefix(db, &self.key, meta.version);
            let (e, _) = random_one(&ex.ctx, &prefix, &meta)?;
            return Ok(e.map_or(Reply::Nil, |(k, _)| Reply::bulk(&k[prefix.len()..])));
        };
        let Some(meta) = meta else {
            return Ok(Reply::Array(Vec::new()));
        };
        if count == 0 {
            return Ok(Reply::Array(Vec::new()));
        }
        let prefix = data_prefix(db, &self.key, meta.version);
        let picks = random_elems(&ex.ctx, &prefix, &meta, count.unsigned_abs(), count > 0)?;
        let resp3 = ex.session.resp >= 3;
        let mut out = Vec::new();
        for (k, v) in picks {
            let field = Reply::bulk(&k[prefix.len()..]);
            match (self.with_values, resp3) {
                (false, _) => out.push(field),
                (true, false) => {
                    out.push(field);
                    out.push(Reply::Bulk(v));
                }
                (true, true) => out.push(Reply::Array(vec![field, Reply::Bulk(v)])),
            }
        }
        Ok(Reply::Array(out))
    }
}

fn hrandfield(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    HRandField::parse(args)?.apply(ex)
}

fn hscan(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    scan_collection(ex, args, Kind::Hash, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0").ok(), Some(0));
        assert_eq!(parse_cursor(b"").ok(), Some(0));
        assert_eq!(parse_cursor(b"-1").ok(), Some(u64::MAX));
        assert!(parse_cursor(b"x").is_err());
        assert!(parse_cursor(b"1x").is_err());
        assert!(parse_cursor(b"99999999999999999999").is_err());
    }
    /// The ends a random walker works between: the first live and the last element, through
    /// commits (the thread's hint is of an older state), the low-water mark, and the context's
    /// pending writes (an element added before the first or after the last, the first deleted).
    #[test]
    fn walker_ends_follow_commits_and_pending_writes() {
        use crate::storage::{Store, StoreOptions};
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path(), &StoreOptions::default()).expect("open");
        let now = crate::storage::version::now_millis();
        let mut ctx = Ctx::new(&store, now, true);
        let mut meta = Meta::collection(Kind::Set, ctx.new_version().expect("version"));
        let key = |meta: &Meta, m: &str| elem_key(0, b"s", meta, m.as_bytes());
        for i in 100..200 {
            ctx.put_elem(ElemCf::Data, key(&meta, &format!("m{i}")), Bytes::new());
        }
        meta.count = 100;
        ctx.put_meta(0, b"s", meta.clone());
        ctx.commit().expect("commit");
        let prefix = data_prefix(0, b"s", meta.version);
        let ends = |ctx: &Ctx<'_>, meta: &Meta| {
            let w = Walker::new(ctx, &prefix, meta)
                .expect("walk")
                .expect("not empty");
            let sub = |k: &[u8]| String::from_utf8(k[prefix.len()..].to_vec()).expect("utf8");
            (sub(&w.first), sub(&w.last))
        };
        let both = |a: &str, b: &str| (a.to_string(), b.to_string());
        let ctx = Ctx::new(&store, now, true);
        assert_eq!(ends(&ctx, &meta), both("m100", "m199"));
        assert_eq!(ends(&ctx, &meta), both("m100", "m199"), "from the hint");
        drop(ctx);
        let mut ctx = Ctx::new(&store, now, true);
        ctx.put_elem(ElemCf::Data, key(&meta, "m300"), Bytes::new());
        ctx.commit().expect("commit");
        let mut ctx = Ctx::new(&store, now, true);
        assert_eq!(ends(&ctx, &meta), both("m100", "m300"), "a newer state");
        let mut marked = meta.clone();
        marked.payload = Bytes::from_static(b"m150");
        assert_eq!(
            ends(&ctx, &marked),
            both("m150", "m300"),
            "from the mark on"
        );
        assert_eq!(ends(&ctx, &meta), both("m100", "m300"));
        ctx.put_elem(ElemCf::Data, key(&meta, "m050"), Bytes::new());
        ctx.put_elem(ElemCf::Data, key(&meta, "m400"), Bytes::new());
        assert_eq!(ends(&ctx, &meta), both("m050", "m400"), "pending writes");
        ctx.delete_elem(ElemCf::Data, key(&meta, "m050"));
        ctx.delete_elem(ElemCf::Data, key(&meta, "m100"));
        ctx.delete_elem(ElemCf::Data, key(&meta, "m101"));
        assert_eq!(ends(&ctx, &meta), both("m102", "m400"), "pending deletes");
    }

    /// A 100 000-field hash deleted with one meta write leaves no data entries after a
    /// compaction (counted with an iterator over the data column family).
    #[test]
    fn deleted_big_hash_is_reclaimed_by_compaction() {
        use crate::storage::{Store, StoreOptions, CF_DATA};
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path(), &StoreOptions::default()).expect("open");
        let now = crate::storage::version::now_millis();
        let mut ctx = Ctx::new(&store, now, true);
        let mut meta = Meta::collection(Kind::Hash, ctx.new_version().expect("version"));
        for i in 0..100_000u32 {
            let field = format!("field:{i}");
            ctx.put_elem(
                ElemCf::Data,
                elem_key(0, b"big", &meta, field.as_bytes()),
                Bytes::from_static(b"value"),
            );
        }
        meta.count = 100_000;
        ctx.put_meta(0, b"big", meta);
        ctx.commit().expect("commit");
        store.db().flush_cf(store.cf(CF_DATA)).expect("flush");
        assert_eq!(store.count_entries(CF_DATA), 100_000);
        let mut ctx = Ctx::new(&store, now, true);
        assert!(ctx.delete(0, b"big").expect("delete"));
        ctx.commit().expect("commit");
        assert_eq!(
            store.count_entries(CF_DATA),
            100_000,
            "DEL wrote the meta entry only"
        );
        store.compact_all();
        assert_eq!(
            store.count_entries(CF_DATA),
            0,
            "compaction dropped every orphaned field"
        );
    }
}
