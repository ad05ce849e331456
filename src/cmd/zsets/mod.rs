//! Sorted set commands, with Redis 7.0's semantics, replies and error texts (`t_zset.c`), and
//! the cores the blocking forms (BZPOPMIN, BZPOPMAX, BZMPOP) build on: [`pop::pop`],
//! [`pop::mpop`], [`pop::MPop::parse`] and the reply shapes in [`pop`]. The blocking forms
//! themselves are registered by the lead.
//!
//! ## Encoding (Kvrocks' layout, DESIGN.md §4)
//!
//! A sorted set is a meta entry plus two entries per member, both under the collection's
//! `data_prefix(db, key, version)`:
//! - `data`: `prefix + member` → the score, as [`encode_score`] (8 bytes): point lookups
//!   (ZSCORE, ZADD, ZREM, ZINCRBY, the probes of ZINTER);
//! - `zset_score`: `prefix + encode_score(score) + member` → empty: the index in Redis's order
//!   (score, then member bytes), so a score range is one iterator seek, ties come out ordered by
//!   member, and ranks are counted by iterating it. −0.0 is stored as 0.0 (as a listpack-encoded
//!   Redis zset does; replies of the score a command just computed, e.g. `ZINCRBY k -0 m`, print
//!   it unnormalised as Redis does); NaN is rejected before anything is encoded.
//! - meta: type `ZSet`, expiry, version, `count` = the cardinality, `payload` = the bounds of
//!   the live part of the score index ([`Z`]): a low-water mark (no live index entry is below
//!   it) and a high-water mark (every live entry is below it), as suffixes after the prefix.
//!   Pops and range removals move them past what they deleted, insertions outside them widen
//!   them, so ZPOPMIN/ZPOPMAX, ZRANGE from either end and ZREMRANGEBYSCORE from `-inf` never
//!   seek over the tombstones that earlier pops left at the ends. The payload is not a data-CF
//!   position: the collection helpers of hashes.rs start a zset's `data` scans at its prefix
//!   ([`super::hashes::scan_start`]).
//!
//! ## Choices where the storage differs from Redis
//!
//! - ZRANK/ZREVRANK count the index entries before (after) the member: O(rank). Rank ranges walk
//!   from the nearer end. ZCOUNT and ZLEXCOUNT count the entries in range: O(log N + M).
//! - Lex ranges follow Redis's listpack algorithm (first element in score order that is ≥ min,
//!   then on while ≤ max): when every member has one score (the case the command is specified
//!   for) the start is one seek; with mixed scores it is a linear scan from the front.
//! - ZSCAN of a zset that Redis would keep as a listpack (≤ `zset-max-listpack-entries`
//!   members of ≤ `zset-max-listpack-value` bytes) answers everything at once in score order
//!   with cursor 0, as Redis does; larger ones are scanned in member order with cursors mapped
//!   to resume keys (as HSCAN), COUNT bounding the members examined.
//! - ZRANDMEMBER uses the random picks of hashes and sets over the `data` entries; a count at
//!   least the cardinality answers the whole zset from the highest score, as Redis does.
//! - ZUNION/ZINTER/ZDIFF accept sets as sources (score 1), sort the sources by cardinality as
//!   Redis does (so sums are added in Redis's order), and their STORE forms compute the result
//!   before replacing the destination (which may be one of the sources).

mod pop;
mod range;
mod store;

// The cores of BZPOPMIN, BZPOPMAX and BZMPOP, which the lead registers on top of this module.
#[allow(unused_imports)]
pub(crate) use pop::{mpop, mpop_reply, pop, pop_reply, MPop};

use super::args::parse_cursor;
use super::hashes::{
    rand_count, random_elems, random_one, read_meta, scan_page, scan_reply, scan_resume, Arena,
    ScanOptions, EXACT_LIMIT,
};
use super::introspect::setting;
use super::spec;
use super::strings::{read, write};
use super::{args, flags::*, CommandSpec, Exec, KeySpec, Locking};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::storage::context::{Ctx, ElemCf};
use crate::storage::encoding::{data_prefix, decode_score, encode_score, Kind, Meta};
use bytes::Bytes;
use smallvec::SmallVec;

/// The sorted set commands (flags, arity and key positions as Redis 7.0's COMMAND reports,
/// except the commands whose keys follow a `numkeys` argument: all their arguments are
/// treated as keys, which over-locks harmlessly and gives the reads one snapshot).
pub static COMMANDS: &[CommandSpec] = &[
    write("zadd", -4, DENYOOM | FAST, zadd),
    write("zincrby", 4, DENYOOM | FAST, zincrby),
    write("zrem", -3, FAST, zrem),
    read("zcard", 2, FAST, zcard),
    read("zscore", 3, FAST, zscore),
    read("zmscore", -3, FAST, zmscore),
    read("zrank", 3, FAST, zrank),
    read("zrevrank", 3, FAST, zrevrank),
    read("zcount", 4, FAST, range::zcount),
    read("zlexcount", 4, FAST, range::zlexcount),
    read("zrange", -4, 0, range::zrange),
    spec(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        KeySpec::TWO,
        Locking::Keys,
        range::zrangestore,
    ),
    read("zrevrange", -4, 0, range::zrevrange),
    read("zrangebyscore", -4, 0, range::zrangebyscore),
    read("zrevrangebyscore", -4, 0, range::zrevrangebyscore),
    read("zrangebylex", -4, 0, range::zrangebylex),
    read("zrevrangebylex", -4, 0, range::zrevrangebylex),
    write("zremrangebyrank", 4, 0, range::zremrangebyrank),
    write("zremrangebyscore", 4, 0, range::zremrangebyscore),
    write("zremrangebylex", 4, 0, range::zremrangebylex),
    write("zpopmin", -2, FAST, pop::zpopmin),
    write("zpopmax", -2, FAST, pop::zpopmax),
    spec(
        "zmpop",
        -4,
        WRITE | MOVABLEKEYS,
        KeySpec::ALL,
        Locking::Keys,
        pop::zmpop,
    ),
    read("zrandmember", -2, 0, zrandmember),
    spec(
        "zunion",
        -3,
        READONLY | MOVABLEKEYS,
        KeySpec::ALL,
        Locking::None,
        store::zunion,
    ),
    spec(
        "zinter",
        -3,
        READONLY | MOVABLEKEYS,
        KeySpec::ALL,
        Locking::None,
        store::zinter,
    ),
    spec(
        "zdiff",
        -3,
        READONLY | MOVABLEKEYS,
        KeySpec::ALL,
        Locking::None,
        store::zdiff,
    ),
    spec(
        "zunionstore",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS,
        KeySpec::ALL,
        Locking::Keys,
        store::zunionstore,
    ),
    spec(
        "zinterstore",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS,
        KeySpec::ALL,
        Locking::Keys,
        store::zinterstore,
    ),
    spec(
        "zdiffstore",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS,
        KeySpec::ALL,
        Locking::Keys,
        store::zdiffstore,
    ),
    spec(
        "zintercard",
        -3,
        READONLY | MOVABLEKEYS,
        KeySpec::ALL,
        Locking::None,
        store::zintercard,
    ),
    read("zscan", -3, 0, zscan),
];

// ---- the storage layer ----------------------------------------------------------------------

/// The longest water mark kept in a zset's meta: a score and 64 bytes of member.
const MARK_MAX: usize = 8 + 64;

/// Zsets larger than this are read around the block cache when walked whole.
const BULK_SCAN: u64 = 10_000;

/// A member and its score, as ranges and pops return them.
pub(crate) type Scored = (Bytes, f64);

/// The error of a score that became NaN (ZINCRBY of `inf` and `-inf`).
fn nan_error() -> Error {
    Error::err("resulting score is not a number (NaN)")
}

/// The smallest byte string greater than every string starting with `s`, if there is one.
fn successor(s: &[u8]) -> Option<Vec<u8>> {
    let mut v = s.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xff {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}

/// Splits a score-index suffix into (score, member).
fn split_suffix(suffix: &[u8]) -> Option<(f64, &[u8])> {
    let raw: [u8; 8] = suffix.get(..8)?.try_into().ok()?;
    Some((decode_score(raw), &suffix[8..]))
}

/// The score-index suffix of (`score`, `member`).
fn suffix_of(score: f64, member: &[u8]) -> Vec<u8> {
    let mut s = Vec::with_capacity(8 + member.len());
    s.extend_from_slice(&encode_score(score));
    s.extend_from_slice(member);
    s
}

/// Decodes a `data` entry's value (the member's score).
fn score_value(v: &[u8]) -> Option<f64> {
    let raw: [u8; 8] = v.try_into().ok()?;
    Some(decode_score(raw))
}

/// One sorted set being read or written: its meta and the decoded water marks of its score
/// index (suffixes after the prefix; empty = unbounded). Every live index suffix `s` has
/// `lo <= s` and `s < hi`.
pub(crate) struct Z {
    db: u16,
    key: Vec<u8>,
    meta: Meta,
    prefix: Vec<u8>,
    lo: Vec<u8>,
    hi: Vec<u8>,
    /// The cardinality as stored (0 for a new zset).
    stored_count: u64,
}

impl Z {
    /// The zset `key` with `meta` (decoding the marks of its payload).
    fn new(db: u16, key: &[u8], meta: Meta) -> Z {
        let prefix = data_prefix(db, key, meta.version);
        let (mut lo, mut hi) = (Vec::new(), Vec::new());
        if let Some((&n, rest)) = meta.payload.split_first() {
            if let (Some(l), Some(h)) = (rest.get(..n as usize), rest.get(n as usize..)) {
                lo = l.to_vec();
                hi = h.to_vec();
            }
        }
        Z {
            db,
            key: key.to_vec(),
            stored_count: meta.count,
            meta,
            prefix,
            lo,
            hi,
        }
    }

    /// A new, empty zset `key` (a fresh version; nothing is stored until [`Z::save`]).
    fn create(ctx: &Ctx<'_>, db: u16, key: &[u8]) -> Result<Z> {
        Ok(Z::new(
            db,
            key,
            Meta::collection(Kind::ZSet, ctx.new_version()?),
        ))
    }

    /// The cardinality.
    fn len(&self) -> u64 {
        self.meta.count
    }

    fn data_key(&self, member: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + member.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(member);
        k
    }

    /// The score index key of `member` with `score` (one allocation: prefix, score, member).
    fn index_key_of(&self, score: f64, member: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + 8 + member.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(&encode_score(score));
        k.extend_from_slice(member);
        k
    }

    /// The score of `member`, if it is in the zset (the key built on the stack, the value
    /// decoded in place: a lookup allocates nothing of ours).
    fn score(&self, ctx: &Ctx<'_>, member: &[u8]) -> Result<Option<f64>> {
        let mut k = SmallVec::<[u8; 96]>::new();
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(member);
        ctx.with_elem(ElemCf::Data, &k, |v| v.and_then(score_value))
    }

    /// Sets the score of `member` (whose current score is `old`, `None` for a new member).
    fn set(&mut self, ctx: &mut Ctx<'_>, member: &[u8], old: Option<f64>, score: f64) {
        if let Some(old) = old {
            ctx.delete_elem(ElemCf::Score, self.index_key_of(old, member));
        } else {
            self.meta.count += 1;
        }
        ctx.put_elem(
            ElemCf::Data,
            self.data_key(member),
            Bytes::copy_from_slice(&encode_score(score)),
        );
        let index = self.index_key_of(score, member);
        let suffix = &index[self.prefix.len()..];
        if !self.lo.is_empty() && suffix < self.lo.as_slice() {
            self.lo = suffix[..suffix.len().min(MARK_MAX)].to_vec();
        }
        if !self.hi.is_empty() && suffix >= self.hi.as_slice() {
            self.hi = if suffix.len() < MARK_MAX {
                let mut h = suffix.to_vec();
                h.push(0);
                h
            } else {
                successor(&suffix[..MARK_MAX]).unwrap_or_default()
            };
        }
        ctx.put_elem(ElemCf::Score, index, Bytes::new());
    }

    /// Removes `member`, whose score is `score`.
    fn remove(&mut self, ctx: &mut Ctx<'_>, member: &[u8], score: f64) {
        ctx.delete_elem(ElemCf::Data, self.data_key(member));
        ctx.delete_elem(ElemCf::Score, self.index_key_of(score, member));
        self.meta.count = self.meta.count.saturating_sub(1);
    }

    /// Records that every index entry up to and including `suffix` is gone (the removed run
    /// started at the first live entry).
    fn raise_lo(&mut self, suffix: &[u8]) {
        self.lo = if suffix.len() < MARK_MAX {
            let mut l = suffix.to_vec();
            l.push(0);
            l
        } else {
            suffix[..MARK_MAX].to_vec()
        };
    }

    /// Records that every index entry from `suffix` on is gone (the removed run ended at the
    /// last live entry).
    fn lower_hi(&mut self, suffix: &[u8]) {
        self.hi = if suffix.len() <= MARK_MAX {
            suffix.to_vec()
        } else {
            successor(&suffix[..MARK_MAX]).unwrap_or_default()
        };
    }

    /// Stores the changed meta (marks included); an emptied zset is deleted instead. Returns
    /// true when the key was deleted.
    fn save(mut self, ctx: &mut Ctx<'_>) -> Result<bool> {
        if self.meta.count == 0 {
            ctx.delete(self.db, &self.key)?;
            return Ok(true);
        }
        let payload = if self.lo.is_empty() && self.hi.is_empty() {
            Bytes::new()
        } else {
            let mut p = Vec::with_capacity(1 + self.lo.len() + self.hi.len());
            p.push(self.lo.len() as u8);
            p.extend_from_slice(&self.lo);
            p.extend_from_slice(&self.hi);
            Bytes::from(p)
        };
        if self.meta.count == self.stored_count && payload == self.meta.payload {
            // Same cardinality and marks (a score changed): rewriting the meta entry would
            // cost a memtable insert for nothing. The key still changed, for WATCH.
            ctx.touch(self.db, &self.key);
            return Ok(false);
        }
        self.meta.payload = payload;
        ctx.put_meta(self.db, &self.key, self.meta);
        Ok(false)
    }

    /// Walks the score index in order (`reverse`: from the highest), visiting (suffix, score,
    /// member) until `visit` returns false. `from` is where to start: forward, the smallest
    /// suffix to visit; in reverse, the suffix to stay below (exclusive). The water marks bound
    /// the walk, so it never meets the tombstones of earlier pops at the ends. `bound`: at most
    /// how many members the caller will visit, if it knows (a LIMIT, a pop count): a short
    /// walk over a big zset is a point read and may keep its blocks in the block cache, where a
    /// long scan of one must not evict everything else.
    fn walk(
        &self,
        ctx: &Ctx<'_>,
        reverse: bool,
        from: Option<&[u8]>,
        bound: Option<u64>,
        mut visit: impl FnMut(&[u8], f64, &[u8]) -> bool,
    ) -> Result<()> {
        let mut lower = self.prefix.clone();
        let mut upper = self.prefix.clone();
        let mut lo: &[u8] = &self.lo;
        let mut hi: Option<&[u8]> = (!self.hi.is_empty()).then_some(self.hi.as_slice());
        match (from, reverse) {
            (Some(f), false) if f > lo => lo = f,
            (Some(f), true) if hi.is_none_or(|h| f < h) => hi = Some(f),
            _ => {}
        }
        lower.extend_from_slice(lo);
        match hi {
            Some(h) => upper.extend_from_slice(h),
            None => match successor(&self.prefix) {
                Some(s) => upper = s,
                None => upper.push(0xff),
            },
        }
        let plen = self.prefix.len();
        let fill_cache = self.meta.count.min(bound.unwrap_or(u64::MAX)) <= BULK_SCAN;
        ctx.scan_elems_between(
            ElemCf::Score,
            &lower,
            &upper,
            reverse,
            fill_cache,
            |k, _| {
                let suffix = &k[plen..];
                match split_suffix(suffix) {
                    Some((score, member)) => visit(suffix, score, member),
                    None => true,
                }
            },
        )
    }

    /// The first (or, `reverse`, the last) entry of the score index: (suffix, score).
    fn end(&self, ctx: &Ctx<'_>, reverse: bool) -> Result<Option<(Vec<u8>, f64)>> {
        let mut found = None;
        self.walk(ctx, reverse, None, None, |suffix, score, _| {
            found = Some((suffix.to_vec(), score));
            false
        })?;
        Ok(found)
    }

    /// Deletes the run `items` (in index order, as a range walk returned them) and moves the
    /// water marks past it when it started at the first live entry or ended at the last.
    fn remove_run(&mut self, ctx: &mut Ctx<'_>, items: &[Scored]) -> Result<()> {
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            return Ok(());
        };
        let (first, last) = (suffix_of(first.1, &first.0), suffix_of(last.1, &last.0));
        let at_front = self.end(ctx, false)?.is_some_and(|(s, _)| s == first);
        let at_back = self.end(ctx, true)?.is_some_and(|(s, _)| s == last);
        for (m, s) in items {
            self.remove(ctx, m, *s);
        }
        if at_front {
            self.raise_lo(&last);
        }
        if at_back {
            self.lower_hi(&first);
        }
        Ok(())
    }
}

/// The zset `key` for a reader (Redis's `lookupKeyRead` + `checkType`: counts a keyspace hit
/// or miss; WRONGTYPE for another type). Pins a snapshot first, so the meta and the entries
/// read after it agree although no lock is held.
fn read_zset(ex: &mut Exec<'_, '_>, key: &[u8]) -> Result<Option<Z>> {
    ex.ctx.pin_snapshot();
    let db = ex.db();
    Ok(read_meta(ex, key, Kind::ZSet)?.map(|m| Z::new(db, key, m)))
}

/// The zset `key` for a writer (no statistics; WRONGTYPE for another type).
fn write_zset(ctx: &mut Ctx<'_>, db: u16, key: &[u8]) -> Result<Option<Z>> {
    Ok(ctx
        .meta_of(db, key, Kind::ZSet)?
        .map(|m| Z::new(db, key, m)))
}

/// Replaces `dst` (of any type) with a zset of `items` (distinct members), deleting it when
/// there are none, with Redis's events; answers the cardinality.
pub(crate) fn store_result(
    ctx: &mut Ctx<'_>,
    db: u16,
    dst: &[u8],
    items: Vec<Scored>,
    event: &'static str,
) -> Result<Reply> {
    let existed = ctx.delete(db, dst)?;
    if items.is_empty() {
        if existed {
            ctx.notify(db, 'g', "del", dst);
        }
        return Ok(Reply::Integer(0));
    }
    let mut z = Z::create(ctx, db, dst)?;
    for (m, s) in &items {
        z.set(ctx, m, None, *s);
    }
    z.save(ctx)?;
    ctx.notify(db, 'z', event, dst);
    ctx.mark_ready(db, dst);
    Ok(Reply::Integer(items.len() as i64))
}

/// Members with or without their scores: RESP2 one flat array, RESP3 an array of
/// [member, score] pairs (Redis cannot use a map there: the order matters).
pub(crate) fn scored_reply(items: Vec<Scored>, withscores: bool, resp3: bool) -> Reply {
    let mut out = Vec::with_capacity(items.len() * if withscores { 2 } else { 1 });
    for (m, s) in items {
        match (withscores, resp3) {
            (false, _) => out.push(Reply::Bulk(m)),
            (true, false) => {
                out.push(Reply::Bulk(m));
                out.push(Reply::Double(s));
            }
            (true, true) => out.push(Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)])),
        }
    }
    Reply::Array(out)
}

// ---- ZADD, ZINCRBY --------------------------------------------------------------------------

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`, and ZINCRBY (the
/// same with INCR, parsed by the same code: `ZINCRBY k NX m` is a syntax error, as in Redis).
struct ZAdd {
    key: Bytes,
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
    /// (score, member); one pair (redis-benchmark's ZADD, most clients') without an allocation.
    pairs: SmallVec<[(f64, Bytes); 1]>,
}

impl ZAdd {
    fn parse(args: &[Bytes], incr: bool) -> Result<ZAdd> {
        let mut z = ZAdd {
            key: args[1].clone(),
            nx: false,
            xx: false,
            gt: false,
            lt: false,
            ch: false,
            incr,
            pairs: SmallVec::new(),
        };
        let mut i = 2;
        while i < args.len() {
            let a = &args[i];
            if args::is(a, "nx") {
                z.nx = true;
            } else if args::is(a, "xx") {
                z.xx = true;
            } else if args::is(a, "ch") {
                z.ch = true;
            } else if args::is(a, "incr") {
                z.incr = true;
            } else if args::is(a, "gt") {
                z.gt = true;
            } else if args::is(a, "lt") {
                z.lt = true;
            } else {
                break;
            }
            i += 1;
        }
        let rest = &args[i..];
        if rest.is_empty() || !rest.len().is_multiple_of(2) {
            return Err(Error::Syntax);
        }
        if z.nx && z.xx {
            return Err(Error::err(
                "XX and NX options at the same time are not compatible",
            ));
        }
        if ((z.gt || z.lt) && z.nx) || (z.gt && z.lt) {
            return Err(Error::err(
                "GT, LT, and/or NX options at the same time are not compatible",
            ));
        }
        if z.incr && rest.len() > 2 {
            return Err(Error::err(
                "INCR option supports a single increment-element pair",
            ));
        }
        // Every score is parsed before anything is written: all or nothing.
        for p in rest.chunks_exact(2) {
            z.pairs.push((args::float(&p[0])?, p[1].clone()));
        }
        Ok(z)
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let key = &self.key;
        let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
        let mut reply_score = 0.0;
        let mut z = match write_zset(&mut ex.ctx, db, key)? {
            Some(z) => z,
            None if self.xx => return Ok(self.reply(0, 0, 0, 0.0)),
            None => Z::create(&ex.ctx, db, key)?,
        };
        for (score, member) in &self.pairs {
            let mut score = *score;
            match z.score(&ex.ctx, member)? {
                Some(cur) => {
                    if self.nx {
                        continue;
                    }
                    if self.incr {
                        score += cur;
                        if score.is_nan() {
                            return Err(nan_error());
                        }
                    }
                    if (self.lt && score >= cur) || (self.gt && score <= cur) {
                        continue;
                    }
                    reply_score = score;
                    processed += 1;
                    if score != cur {
                        z.set(&mut ex.ctx, member, Some(cur), score);
                        updated += 1;
                    }
                }
                None if !self.xx => {
                    z.set(&mut ex.ctx, member, None, score);
                    reply_score = score;
                    processed += 1;
                    added += 1;
                }
                None => {}
            }
        }
        if added > 0 || updated > 0 {
            z.save(&mut ex.ctx)?;
            let event = if self.incr { "zincr" } else { "zadd" };
            ex.ctx.notify(db, 'z', event, key);
            if added > 0 {
                ex.ctx.mark_ready(db, key);
            }
        }
        Ok(self.reply(added, updated, processed, reply_score))
    }

    fn reply(&self, added: i64, updated: i64, processed: i64, score: f64) -> Reply {
        if self.incr {
            if processed > 0 {
                Reply::Double(score)
            } else {
                Reply::Nil
            }
        } else if self.ch {
            Reply::Integer(added + updated)
        } else {
            Reply::Integer(added)
        }
    }
}

fn zadd(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    ZAdd::parse(args, false)?.apply(ex)
}

fn zincrby(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    ZAdd::parse(args, true)?.apply(ex)
}

// ---- ZREM -----------------------------------------------------------------------------------

fn zrem(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let key = &args[1];
    let db = ex.db();
    let Some(mut z) = write_zset(&mut ex.ctx, db, key)? else {
        return Ok(Reply::Integer(0));
    };
    let mut deleted = 0i64;
    for m in &args[2..] {
        if let Some(s) = z.score(&ex.ctx, m)? {
            z.remove(&mut ex.ctx, m, s);
            deleted += 1;
            if z.len() == 0 {
                break;
            }
        }
    }
    if deleted > 0 {
        let gone = z.save(&mut ex.ctx)?;
        ex.ctx.notify(db, 'z', "zrem", key);
        if gone {
            ex.ctx.notify(db, 'g', "del", key);
        }
    }
    Ok(Reply::Integer(deleted))
}

// ---- point reads ----------------------------------------------------------------------------

fn zcard(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let meta = read_meta(ex, &args[1], Kind::ZSet)?;
    Ok(Reply::Integer(meta.map_or(0, |m| m.count as i64)))
}

fn zscore(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let db = ex.db();
    let Some(meta) = read_meta(ex, &args[1], Kind::ZSet)? else {
        return Ok(Reply::Nil);
    };
    let z = Z::new(db, &args[1], meta);
    Ok(z.score(&ex.ctx, &args[2])?
        .map_or(Reply::Nil, Reply::Double))
}

fn zmscore(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let z = read_zset(ex, &args[1])?;
    let mut out = Vec::with_capacity(args.len().min(1024));
    for m in &args[2..] {
        let s = match &z {
            Some(z) => z.score(&ex.ctx, m)?,
            None => None,
        };
        out.push(s.map_or(Reply::Nil, Reply::Double));
    }
    Ok(Reply::Array(out))
}

/// ZRANK (`reverse` false) and ZREVRANK: the entries before (after) the member in the index.
fn rank(ex: &mut Exec<'_, '_>, args: &[Bytes], reverse: bool) -> Result<Reply> {
    let Some(z) = read_zset(ex, &args[1])? else {
        return Ok(Reply::Nil);
    };
    let Some(score) = z.score(&ex.ctx, &args[2])? else {
        return Ok(Reply::Nil);
    };
    let target = suffix_of(score, &args[2]);
    let mut n = 0i64;
    // Forward: the entries below the member's; in reverse: those above it.
    z.walk(&ex.ctx, reverse, None, None, |suffix, _, _| {
        let beyond = if reverse {
            suffix <= target.as_slice()
        } else {
            suffix >= target.as_slice()
        };
        if beyond {
            return false;
        }
        n += 1;
        true
    })?;
    Ok(Reply::Integer(n))
}

fn zrank(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    rank(ex, args, false)
}

fn zrevrank(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    rank(ex, args, true)
}

// ---- ZRANDMEMBER ----------------------------------------------------------------------------

/// `ZRANDMEMBER key [count [WITHSCORES]]`.
fn zrandmember(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let mut count = None;
    let mut withscores = false;
    if args.len() >= 3 {
        let n = rand_count(&args[2])?;
        if args.len() > 4 || (args.len() == 4 && !args::is(&args[3], "withscores")) {
            return Err(Error::Syntax);
        }
        if args.len() == 4 {
            withscores = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
                return Err(Error::err("value is out of range"));
            }
        }
        count = Some(n);
    }
    let resp3 = ex.session.resp >= 3;
    let Some(z) = read_zset(ex, &args[1])? else {
        return Ok(match count {
            Some(_) => Reply::Array(Vec::new()),
            None => Reply::Nil,
        });
    };
    // The random picks read the `data` entries (from the start: see `hashes::scan_start`).
    let meta = &z.meta;
    let plen = z.prefix.len();
    let Some(n) = count else {
        let (picked, _) = random_one(&ex.ctx, &z.prefix, meta)?;
        return Ok(picked.map_or(Reply::Nil, |(k, _)| Reply::bulk(&k[plen..])));
    };
    if n == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    if n > 0 && n as u64 >= z.len() {
        // The whole zset, from the highest score (Redis's zset iterator runs backwards).
        let mut all = Vec::with_capacity(z.len().min(1 << 20) as usize);
        let mut arena = Arena::new();
        z.walk(&ex.ctx, true, None, None, |_, s, m| {
            all.push((arena.copy(m), s));
            true
        })?;
        return Ok(scored_reply(all, withscores, resp3));
    }
    let picks = random_elems(&ex.ctx, &z.prefix, meta, n.unsigned_abs(), n > 0)?;
    let items = picks
        .into_iter()
        .map(|(k, v)| {
            let member = Bytes::copy_from_slice(&k[plen..]);
            (member, score_value(&v).unwrap_or(0.0))
        })
        .collect();
    Ok(scored_reply(items, withscores, resp3))
}

// ---- ZSCAN ----------------------------------------------------------------------------------

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`: the options, cursors and pages of
/// HSCAN/SSCAN, with the scores as values.
fn zscan(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let cursor = parse_cursor(&args[2])?;
    let Some(z) = read_zset(ex, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let opts = ScanOptions::parse(args)?;
    let fmt = |s: f64| Reply::Bulk(Bytes::from(crate::util::float::fmt_double(s)));
    // A zset Redis keeps as a listpack: everything at once, in order, cursor 0.
    let entries = setting(ex, "zset-max-listpack-entries", 128);
    let value = setting(ex, "zset-max-listpack-value", 64);
    if z.len() <= entries.min(EXACT_LIMIT) {
        let mut all = Vec::new();
        let mut small = true;
        z.walk(&ex.ctx, false, None, None, |_, s, m| {
            small = m.len() as u64 <= value;
            all.push((Bytes::copy_from_slice(m), s));
            small
        })?;
        if small {
            let mut out = Vec::with_capacity(all.len() * 2);
            for (m, s) in all.into_iter().filter(|(m, _)| opts.matches(m)) {
                out.push(Reply::Bulk(m));
                out.push(fmt(s));
            }
            return Ok(scan_reply(0, out));
        }
    }
    let resume = scan_resume(ex, cursor, &z.prefix);
    let mut out = Vec::new();
    let cursor = scan_page(ex, &z.prefix, resume.as_deref(), opts.count, |m, v| {
        if opts.matches(m) {
            out.push(Reply::bulk(m));
            out.push(fmt(score_value(v).unwrap_or(0.0)));
        }
    })?;
    Ok(scan_reply(cursor, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Store, StoreOptions, CF_DATA, CF_SCORE};

    #[test]
    fn marks_survive_the_payload() {
        let mut z = Z::new(0, b"k", Meta::collection(Kind::ZSet, 1));
        z.meta.count = 1;
        z.raise_lo(&suffix_of(1.0, b"a"));
        z.lower_hi(&suffix_of(5.0, b"b"));
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path(), &StoreOptions::default()).expect("open");
        let mut ctx = Ctx::new(&store, 0, true);
        z.save(&mut ctx).expect("save");
        let meta = ctx.meta(0, b"k").expect("meta").expect("stored");
        let z = Z::new(0, b"k", meta);
        assert_eq!(z.lo, [suffix_of(1.0, b"a"), vec![0]].concat());
        assert_eq!(z.hi, suffix_of(5.0, b"b"));
    }

    #[test]
    fn suffixes_order_like_redis() {
        assert!(suffix_of(1.0, b"b") < suffix_of(2.0, b"a"));
        assert!(suffix_of(1.0, b"a") < suffix_of(1.0, b"ab"));
        assert!(suffix_of(f64::NEG_INFINITY, b"z") < suffix_of(-1e300, b""));
        assert_eq!(suffix_of(-0.0, b"a"), suffix_of(0.0, b"a"));
        assert_eq!(split_suffix(&suffix_of(2.5, b"m")), Some((2.5, &b"m"[..])));
        assert_eq!(successor(&[1, 0xff]), Some(vec![2]));
        assert_eq!(successor(&[0xff]), None);
    }

    /// `Ctx::scan_elems_between` (the walks of the score index) merges pending writes over
    /// the stored entries, forward and in reverse, within its bounds: checked against a model
    /// on random data.
    #[test]
    fn bounded_scans_merge_pending_writes() {
        use rand::Rng;
        use std::collections::BTreeMap;
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path(), &StoreOptions::default()).expect("open");
        let mut rng = rand::rng();
        let key = |n: u8| vec![0, 0, 7, n];
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut ctx = Ctx::new(&store, 0, true);
        for n in 0..60u8 {
            if rng.random_bool(0.5) {
                ctx.put_elem(ElemCf::Score, key(n), Bytes::from(vec![n]));
                model.insert(key(n), vec![n]);
            }
        }
        ctx.commit().expect("commit");
        for _ in 0..200 {
            let mut ctx = Ctx::new(&store, 0, true);
            let mut m = model.clone();
            for _ in 0..rng.random_range(0..20) {
                let n = rng.random_range(0..60u8);
                if rng.random_bool(0.5) {
                    ctx.put_elem(ElemCf::Score, key(n), Bytes::from(vec![n, 1]));
                    m.insert(key(n), vec![n, 1]);
                } else {
                    ctx.delete_elem(ElemCf::Score, key(n));
                    m.remove(&key(n));
                }
            }
            let (a, b) = (rng.random_range(0..62u8), rng.random_range(0..62u8));
            let (lo, hi) = (key(a.min(b)), key(a.max(b)));
            for reverse in [false, true] {
                let mut got = Vec::new();
                ctx.scan_elems_between(ElemCf::Score, &lo, &hi, reverse, true, |k, v| {
                    got.push((k.to_vec(), v.to_vec()));
                    true
                })
                .expect("scan");
                let mut want: Vec<_> = m
                    .range(lo.clone()..hi.clone())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if reverse {
                    want.reverse();
                }
                assert_eq!(got, want, "reverse {reverse}, [{a}, {b})");
            }
        }
    }

    /// A 100 000-member zset deleted with one meta write leaves no data or score entries
    /// after a compaction.
    #[test]
    fn deleted_big_zset_is_reclaimed_by_compaction() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path(), &StoreOptions::default()).expect("open");
        let now = crate::storage::version::now_millis();
        let mut ctx = Ctx::new(&store, now, true);
        let mut z = Z::create(&ctx, 0, b"big").expect("create");
        for i in 0..100_000u32 {
            z.set(&mut ctx, format!("m{i}").as_bytes(), None, i as f64);
        }
        z.save(&mut ctx).expect("save");
        ctx.commit().expect("commit");
        for cf in [CF_DATA, CF_SCORE] {
            store.db().flush_cf(store.cf(cf)).expect("flush");
            assert_eq!(store.count_entries(cf), 100_000);
        }
        let mut ctx = Ctx::new(&store, now, true);
        assert!(ctx.delete(0, b"big").expect("delete"));
        ctx.commit().expect("commit");
        store.compact_all();
        assert_eq!(store.count_entries(CF_DATA), 0);
        assert_eq!(store.count_entries(CF_SCORE), 0);
    }
}
