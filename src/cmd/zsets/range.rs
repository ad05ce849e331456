//! Ranges of a sorted set by rank, score and member (lex): ZRANGE and its older forms,
//! ZRANGESTORE, ZCOUNT, ZLEXCOUNT and the ZREMRANGEBY* commands, with `t_zset.c`'s argument
//! order, checks and texts.

use super::{read_zset, scored_reply, store_result, successor, write_zset, Scored, Z};
use crate::cmd::hashes::Arena;
use crate::cmd::{args, Exec};
use crate::error::{Error, Result};
use crate::reply::{ArrayWriter, Reply};
use crate::storage::context::Ctx;
use crate::storage::encoding::encode_score;
use bytes::Bytes;
use std::cmp::Ordering;
use std::ffi::CString;

// ---- score ranges ---------------------------------------------------------------------------

/// A score interval (`(` makes a bound exclusive), as Redis's `zrangespec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

/// C's `strtod` on the argument as a C string (up to its first NUL), as `zslParseRange` uses
/// it: leading blanks are skipped, the empty string is 0, overflow gives ±inf, and anything
/// left unparsed, or NaN, is an error.
fn c_strtod(arg: &[u8]) -> Option<f64> {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    let c = CString::new(&arg[..end]).ok()?;
    let mut rest: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; strtod only reads
    // it and stores a pointer into it in `rest`.
    let v = unsafe { libc::strtod(c.as_ptr(), &mut rest) };
    // SAFETY: strtod leaves `rest` pointing into `c` (at most at its terminating NUL).
    let at_end = !rest.is_null() && unsafe { *rest } == 0;
    (at_end && !v.is_nan()).then_some(v)
}

impl ScoreRange {
    /// Parses `min` and `max` (Redis's `zslParseRange`).
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange> {
        let bound = |a: &[u8]| match a.strip_prefix(b"(") {
            Some(rest) => c_strtod(rest).map(|v| (v, true)),
            None => c_strtod(a).map(|v| (v, false)),
        };
        match (bound(min), bound(max)) {
            (Some((min, minex)), Some((max, maxex))) => Ok(ScoreRange {
                min,
                max,
                minex,
                maxex,
            }),
            _ => Err(Error::err("min or max is not a float")),
        }
    }

    fn gte_min(&self, s: f64) -> bool {
        if self.minex {
            s > self.min
        } else {
            s >= self.min
        }
    }

    fn lte_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }
}

// ---- lex ranges -----------------------------------------------------------------------------

/// One end of a lex range: `-`, `+`, or a member.
#[derive(Debug, Clone, PartialEq)]
enum Lex {
    Min,
    Max,
    Val(Bytes),
}

/// Redis's `sdscmplex`: `-` is below and `+` above every member.
fn cmplex(a: &Lex, b: &Lex) -> Ordering {
    match (a, b) {
        (Lex::Min, Lex::Min) | (Lex::Max, Lex::Max) => Ordering::Equal,
        (Lex::Min, _) | (_, Lex::Max) => Ordering::Less,
        (Lex::Max, _) | (_, Lex::Min) => Ordering::Greater,
        (Lex::Val(x), Lex::Val(y)) => x.as_ref().cmp(y.as_ref()),
    }
}

/// A member interval (Redis's `zlexrangespec`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LexRange {
    min: Lex,
    max: Lex,
    minex: bool,
    maxex: bool,
}

impl LexRange {
    /// Parses `min` and `max` (Redis's `zslParseLexRange`: `[x` inclusive, `(x` exclusive,
    /// `-` and `+` the ends, tested as C strings).
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Result<LexRange> {
        let item = |a: &[u8]| -> Option<(Lex, bool)> {
            let alone = a.len() == 1 || a.get(1) == Some(&0);
            match a.first()? {
                b'+' if alone => Some((Lex::Max, true)),
                b'-' if alone => Some((Lex::Min, true)),
                b'(' => Some((Lex::Val(Bytes::copy_from_slice(&a[1..])), true)),
                b'[' => Some((Lex::Val(Bytes::copy_from_slice(&a[1..])), false)),
                _ => None,
            }
        };
        match (item(min), item(max)) {
            (Some((min, minex)), Some((max, maxex))) => Ok(LexRange {
                min,
                max,
                minex,
                maxex,
            }),
            _ => Err(Error::err("min or max not valid string range item")),
        }
    }

    /// False for the ranges that are always empty (min above max, or equal and exclusive).
    fn valid(&self) -> bool {
        match cmplex(&self.min, &self.max) {
            Ordering::Greater => false,
            Ordering::Equal => !(self.minex || self.maxex),
            Ordering::Less => true,
        }
    }

    fn gte_min(&self, m: &[u8]) -> bool {
        let c = cmplex(&Lex::Val(Bytes::copy_from_slice(m)), &self.min);
        if self.minex {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    fn lte_max(&self, m: &[u8]) -> bool {
        let c = cmplex(&Lex::Val(Bytes::copy_from_slice(m)), &self.max);
        if self.maxex {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }
}

// ---- range walks ----------------------------------------------------------------------------

/// A test of a member (score, member) against one bound of a range.
type Bound<'a> = dyn Fn(f64, &[u8]) -> bool + 'a;

/// Which way a range walk goes and which of the members in range it emits (`LIMIT offset
/// count`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Window {
    reverse: bool,
    offset: i64,
    /// At most this many (negative: no limit).
    limit: i64,
}

impl Window {
    /// Every member in range, upwards.
    const ALL: Window = Window {
        reverse: false,
        offset: 0,
        limit: -1,
    };
}

/// Walks a range as `t_zset.c` does, from `from` (see [`Z::walk`]), with `gte_min` and
/// `lte_max` testing its bounds: entries are passed over until one satisfies the bound the walk
/// meets first (`gte_min` upwards, `lte_max` from the top; if that entry fails the other
/// bound, the range is empty), then `w.offset` entries are skipped unchecked, then entries are
/// emitted while they satisfy the other bound, at most `w.limit`. A negative offset gives
/// nothing (Redis skips to the end).
fn walk_range(
    ctx: &Ctx<'_>,
    z: &Z,
    w: Window,
    from: Option<&[u8]>,
    gte_min: impl Fn(f64, &[u8]) -> bool,
    lte_max: impl Fn(f64, &[u8]) -> bool,
    mut emit: impl FnMut(f64, &[u8]),
) -> Result<()> {
    if w.offset < 0 || w.limit == 0 {
        return Ok(());
    }
    // Upwards the walk meets the min first, from the top the max.
    let (first, inside): (&Bound, &Bound) = if w.reverse {
        (&lte_max, &gte_min)
    } else {
        (&gte_min, &lte_max)
    };
    let mut found = false;
    let mut skip = w.offset;
    let mut left = w.limit;
    // A LIMIT bounds the walk (plus the members it skips).
    let bound = (w.limit >= 0).then(|| (w.offset.max(0) as u64).saturating_add(w.limit as u64));
    z.walk(ctx, w.reverse, from, bound, |_, s, m| {
        if !found {
            if !first(s, m) {
                return true;
            }
            found = true;
            if !inside(s, m) {
                return false;
            }
        }
        if skip > 0 {
            skip -= 1;
            return true;
        }
        if !inside(s, m) {
            return false;
        }
        emit(s, m);
        if left > 0 {
            left -= 1;
        }
        left != 0
    })
}

/// The members of `z` in a score range (`w.reverse`: from the highest).
fn walk_score(
    ctx: &Ctx<'_>,
    z: &Z,
    r: &ScoreRange,
    w: Window,
    emit: impl FnMut(f64, &[u8]),
) -> Result<()> {
    let from = if w.reverse {
        // Stay below the first score above the range.
        if r.maxex {
            Some(encode_score(r.max).to_vec())
        } else {
            successor(&encode_score(r.max))
        }
    } else if r.minex {
        // No successor: no score is above the range's start.
        let Some(above) = successor(&encode_score(r.min)) else {
            return Ok(());
        };
        Some(above)
    } else {
        Some(encode_score(r.min).to_vec())
    };
    let gte_min = |s: f64, _: &[u8]| r.gte_min(s);
    let lte_max = |s: f64, _: &[u8]| r.lte_max(s);
    walk_range(ctx, z, w, from.as_deref(), gte_min, lte_max, emit)
}

/// The members of `z` in a lex range, with Redis's listpack algorithm (the first member in
/// index order that is ≥ min, then on while ≤ max; nothing unless the last member is ≥ min
/// and the first ≤ max). When all members share one score, the start is one seek.
fn walk_lex(
    ctx: &Ctx<'_>,
    z: &Z,
    r: &LexRange,
    w: Window,
    emit: impl FnMut(f64, &[u8]),
) -> Result<()> {
    if !r.valid() {
        return Ok(());
    }
    let (Some((first, _)), Some((last, _))) = (z.end(ctx, false)?, z.end(ctx, true)?) else {
        return Ok(());
    };
    if !r.gte_min(&last[8..]) || !r.lte_max(&first[8..]) {
        return Ok(());
    }
    let one_score = first[..8] == last[..8];
    let score = &first[..8];
    let with = |m: &[u8], tail: &[u8]| [score, m, tail].concat();
    let from = if w.reverse {
        match (&r.max, one_score) {
            (_, false) | (Lex::Min, _) => None,
            (Lex::Max, true) => successor(score),
            (Lex::Val(v), true) if r.maxex => Some(with(v, b"")),
            (Lex::Val(v), true) => Some(with(v, b"\0")),
        }
    } else {
        match (&r.min, one_score) {
            (_, false) | (Lex::Max, _) => None,
            (Lex::Min, true) => Some(score.to_vec()),
            (Lex::Val(v), true) if r.minex => Some(with(v, b"\0")),
            (Lex::Val(v), true) => Some(with(v, b"")),
        }
    };
    let gte_min = |_: f64, m: &[u8]| r.gte_min(m);
    let lte_max = |_: f64, m: &[u8]| r.lte_max(m);
    walk_range(ctx, z, w, from.as_deref(), gte_min, lte_max, emit)
}

/// The walk over the members of `z` with ranks `start..=end` (negative counts from the end;
/// `reverse`: ranks counted from the highest score), as Redis sanitises them: the walk starts
/// at the nearer end, and when that is not the end the reply starts from, the second value is
/// true and the members walked must be reversed. `None`: no member.
fn rank_window(z: &Z, start: i64, end: i64, reverse: bool) -> Option<(Window, bool)> {
    let llen = z.len() as i64;
    let (mut start, mut end) = (start, end);
    if start < 0 {
        start += llen;
    }
    if end < 0 {
        end += llen;
    }
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    // The same ranks counted from the lowest score.
    let (a, b) = if reverse {
        (llen - 1 - end, llen - 1 - start)
    } else {
        (start, end)
    };
    let from_back = llen - 1 - b < a;
    let skip = if from_back { llen - 1 - b } else { a };
    let w = Window {
        reverse: from_back,
        offset: skip,
        limit: b - a + 1,
    };
    Some((w, from_back != reverse))
}

// ---- ZRANGE and its forms -------------------------------------------------------------------

/// What a range selects by.
#[derive(Debug, Clone, Copy, PartialEq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// A parsed range.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

impl Spec {
    /// Visits the members this range selects within `w` in walk order, which is the reverse
    /// of the reply's when [`Spec::walks_backwards`].
    fn walk(&self, ctx: &Ctx<'_>, z: &Z, w: Window, emit: impl FnMut(f64, &[u8])) -> Result<()> {
        match self {
            Spec::Score(r) => walk_score(ctx, z, r, w, emit),
            Spec::Lex(r) => walk_lex(ctx, z, r, w, emit),
            Spec::Rank(start, end) => match rank_window(z, *start, *end, w.reverse) {
                None => Ok(()),
                Some((rw, _)) => {
                    let all = |_: f64, _: &[u8]| true;
                    walk_range(ctx, z, rw, None, all, all, emit)
                }
            },
        }
    }

    /// True for a rank range walked from the other end than its reply starts from.
    fn walks_backwards(&self, z: &Z, reverse: bool) -> bool {
        match self {
            Spec::Rank(start, end) => {
                rank_window(z, *start, *end, reverse).is_some_and(|(_, backwards)| backwards)
            }
            Spec::Score(_) | Spec::Lex(_) => false,
        }
    }

    /// Parses the bounds `lo` and `hi` of a range by `by`.
    fn parse(by: By, lo: &[u8], hi: &[u8]) -> Result<Spec> {
        Ok(match by {
            By::Rank => Spec::Rank(args::int(lo)?, args::int(hi)?),
            By::Score => Spec::Score(ScoreRange::parse(lo, hi)?),
            By::Lex => Spec::Lex(LexRange::parse(lo, hi)?),
        })
    }
}

/// The arguments of `ZRANGE key min max [BYSCORE|BYLEX] [REV] [WITHSCORES] [LIMIT offset
/// count]` and of its forms (Redis's `zrangeGenericCommand`).
struct Range {
    spec: Spec,
    withscores: bool,
    window: Window,
}

impl Range {
    /// Parses the range whose key is `args[src]`; `store` for ZRANGESTORE (no WITHSCORES);
    /// `by` and `rev` are fixed by the older forms (`None`: chosen by the options).
    fn parse(
        args: &[Bytes],
        src: usize,
        store: bool,
        by: Option<By>,
        rev: Option<bool>,
    ) -> Result<Range> {
        let (mut by_opt, mut rev_opt) = (by, rev);
        let mut withscores = false;
        let (mut offset, mut limit) = (0i64, -1i64);
        let mut j = src + 3;
        while j < args.len() {
            let a = &args[j];
            let left = args.len() - j - 1;
            if !store && args::is(a, "withscores") {
                withscores = true;
            } else if args::is(a, "limit") && left >= 2 {
                offset = args::int(&args[j + 1])?;
                limit = args::int(&args[j + 2])?;
                j += 2;
            } else if rev_opt.is_none() && args::is(a, "rev") {
                rev_opt = Some(true);
            } else if by_opt.is_none() && args::is(a, "bylex") {
                by_opt = Some(By::Lex);
            } else if by_opt.is_none() && args::is(a, "byscore") {
                by_opt = Some(By::Score);
            } else {
                return Err(Error::Syntax);
            }
            j += 1;
        }
        let by = by_opt.unwrap_or(By::Rank);
        let reverse = rev_opt.unwrap_or(false);
        if limit != -1 && by == By::Rank {
            return Err(Error::err(
                "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
            ));
        }
        if withscores && by == By::Lex {
            return Err(Error::err(
                "syntax error, WITHSCORES not supported in combination with BYLEX",
            ));
        }
        let (mut lo, mut hi) = (&args[src + 1], &args[src + 2]);
        if reverse && by != By::Rank {
            // Given as max, min.
            std::mem::swap(&mut lo, &mut hi);
        }
        Ok(Range {
            spec: Spec::parse(by, lo, hi)?,
            withscores,
            window: Window {
                reverse,
                offset,
                limit,
            },
        })
    }

    /// The selected members, in reply order.
    /// The RESP2 reply of the range, each member encoded as the walk meets it (no copy of the
    /// members first). `None` for a range walked backwards (it is collected and reversed:
    /// [`Range::collect`]).
    fn encoded(&self, ctx: &Ctx<'_>, z: &Z) -> Result<Option<Reply>> {
        if self.spec.walks_backwards(z, self.window.reverse) {
            return Ok(None);
        }
        let mut out = ArrayWriter::default();
        let withscores = self.withscores;
        self.spec.walk(ctx, z, self.window, |s, m| {
            out.bulk(m);
            if withscores {
                out.double(s);
            }
        })?;
        Ok(Some(out.finish()))
    }

    /// The members of the range, in reply order.
    fn collect(&self, ctx: &Ctx<'_>, z: &Z) -> Result<Vec<Scored>> {
        let mut arena = Arena::new();
        let mut out = Vec::new();
        self.spec
            .walk(ctx, z, self.window, |s, m| out.push((arena.copy(m), s)))?;
        if self.spec.walks_backwards(z, self.window.reverse) {
            out.reverse();
        }
        Ok(out)
    }
}

/// ZRANGE and the older read forms: `by`/`rev` fixed by the form, `None` for ZRANGE.
fn range_read(
    ex: &mut Exec<'_, '_>,
    args: &[Bytes],
    by: Option<By>,
    rev: Option<bool>,
) -> Result<Reply> {
    let r = Range::parse(args, 1, false, by, rev)?;
    let resp3 = ex.session.resp >= 3;
    let Some(z) = read_zset(ex, &args[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if !resp3 {
        if let Some(reply) = r.encoded(&ex.ctx, &z)? {
            return Ok(reply);
        }
    }
    let items = r.collect(&ex.ctx, &z)?;
    Ok(scored_reply(items, r.withscores, resp3))
}

pub(super) fn zrange(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    range_read(ex, args, None, None)
}

pub(super) fn zrevrange(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    range_read(ex, args, Some(By::Rank), Some(true))
}

pub(super) fn zrangebyscore(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    range_read(ex, args, Some(By::Score), Some(false))
}

pub(super) fn zrevrangebyscore(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    range_read(ex, args, Some(By::Score), Some(true))
}

pub(super) fn zrangebylex(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    range_read(ex, args, Some(By::Lex), Some(false))
}

pub(super) fn zrevrangebylex(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    range_read(ex, args, Some(By::Lex), Some(true))
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`.
pub(super) fn zrangestore(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let r = Range::parse(args, 2, true, None, None)?;
    let items = match read_zset(ex, &args[2])? {
        Some(z) => r.collect(&ex.ctx, &z)?,
        None => Vec::new(),
    };
    let db = ex.db();
    store_result(&mut ex.ctx, db, &args[1], items, "zrangestore")
}

// ---- ZCOUNT, ZLEXCOUNT ----------------------------------------------------------------------

/// ZCOUNT (`by` score) and ZLEXCOUNT (`by` lex): the range is parsed before the key is
/// looked up; score and lex ranges are counted without copying the members.
fn count(ex: &mut Exec<'_, '_>, args: &[Bytes], by: By) -> Result<Reply> {
    let spec = Spec::parse(by, &args[2], &args[3])?;
    let Some(z) = read_zset(ex, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let mut n = 0i64;
    spec.walk(&ex.ctx, &z, Window::ALL, |_, _| n += 1)?;
    Ok(Reply::Integer(n))
}

pub(super) fn zcount(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    count(ex, args, By::Score)
}

pub(super) fn zlexcount(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    count(ex, args, By::Lex)
}

// ---- ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX --------------------------------------

/// The ZREMRANGEBY* commands: the range is parsed before the key is looked up.
fn remrange(ex: &mut Exec<'_, '_>, args: &[Bytes], by: By) -> Result<Reply> {
    let spec = Spec::parse(by, &args[2], &args[3])?;
    let key = &args[1];
    let db = ex.db();
    let Some(mut z) = write_zset(&mut ex.ctx, db, key)? else {
        return Ok(Reply::Integer(0));
    };
    let range = Range {
        spec,
        withscores: false,
        window: Window::ALL,
    };
    let items = range.collect(&ex.ctx, &z)?;
    if items.is_empty() {
        return Ok(Reply::Integer(0));
    }
    z.remove_run(&mut ex.ctx, &items)?;
    let gone = z.save(&mut ex.ctx)?;
    let event = match by {
        By::Rank => "zremrangebyrank",
        By::Score => "zremrangebyscore",
        By::Lex => "zremrangebylex",
    };
    ex.ctx.notify(db, 'z', event, key);
    if gone {
        ex.ctx.notify(db, 'g', "del", key);
    }
    Ok(Reply::Integer(items.len() as i64))
}

pub(super) fn zremrangebyrank(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    remrange(ex, args, By::Rank)
}

pub(super) fn zremrangebyscore(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    remrange(ex, args, By::Score)
}

pub(super) fn zremrangebylex(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    remrange(ex, args, By::Lex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_ranges_parse_like_strtod() {
        let r = ScoreRange::parse(b"(1.5", b"+inf").expect("parse");
        assert_eq!(
            (r.min, r.minex, r.max, r.maxex),
            (1.5, true, f64::INFINITY, false)
        );
        let r = ScoreRange::parse(b" 1", b"").expect("leading blanks, empty is 0");
        assert_eq!((r.min, r.max), (1.0, 0.0));
        let r = ScoreRange::parse(b"(", b"1e400").expect("overflow is inf");
        assert_eq!((r.min, r.minex, r.max), (0.0, true, f64::INFINITY));
        let r = ScoreRange::parse(b"2\0junk", b"0x10").expect("C string, hex");
        assert_eq!((r.min, r.max), (2.0, 16.0));
        for bad in [&b"nan"[..], b"1x", b"1 ", b"((1"] {
            assert_eq!(
                ScoreRange::parse(bad, b"1").unwrap_err().to_string(),
                "ERR min or max is not a float"
            );
        }
    }

    #[test]
    fn lex_ranges() {
        let r = LexRange::parse(b"-", b"+").expect("parse");
        assert!(r.valid() && r.gte_min(b"") && r.lte_max(b"\xff"));
        let r = LexRange::parse(b"[a", b"(c").expect("parse");
        assert!(r.gte_min(b"a") && r.lte_max(b"bz") && !r.lte_max(b"c"));
        assert!(
            LexRange::parse(b"+\0x", b"+").is_ok(),
            "a C string ends at NUL"
        );
        for (min, max) in [
            ("+", "-"),
            ("-", "-"),
            ("(a", "[a"),
            ("[b", "[a"),
            ("+", "[a"),
        ] {
            let r = LexRange::parse(min.as_bytes(), max.as_bytes()).expect("parse");
            assert!(!r.valid(), "{min} {max}");
        }
        for bad in [&b"a"[..], b"", b"+a", b"-a"] {
            assert_eq!(
                LexRange::parse(bad, b"+").unwrap_err().to_string(),
                "ERR min or max not valid string range item"
            );
        }
    }
}
