//! ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (Redis's
//! `zunionInterDiffGenericCommand`): sets count as sorted sets of score 1; the sources are
//! sorted by cardinality (stably) before union and intersection, so scores are aggregated in
//! Redis's order; a weighted score that is NaN (`inf * 0`) counts as 0, and so does a SUM of
//! `inf` and `-inf`.

use super::{scored_reply, store_result, Scored, Z};
use crate::cmd::hashes::{visit_elems, Arena};
use crate::cmd::{args, Exec};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::storage::context::{Ctx, ElemCf};
use crate::storage::encoding::{data_key, Kind, Meta};
use bytes::Bytes;
use std::collections::HashMap;

/// Which operation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

/// How the scores of one member in several sources combine.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Agg {
    Sum,
    Min,
    Max,
}

/// Redis's `zunionInterAggregate`.
fn aggregate(target: &mut f64, val: f64, agg: Agg) {
    match agg {
        Agg::Sum => {
            *target += val;
            // inf + -inf: Redis's convention is 0.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Agg::Min => {
            if val < *target {
                *target = val;
            }
        }
        Agg::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// One input: a zset, a set (every member scores 1) or a missing key.
enum Input {
    Missing,
    ZSet(Z),
    Set(Bytes, Meta),
}

struct Source {
    input: Input,
    weight: f64,
}

impl Source {
    fn len(&self) -> u64 {
        match &self.input {
            Input::Missing => 0,
            Input::ZSet(z) => z.len(),
            Input::Set(_, m) => m.count,
        }
    }

    /// Every (member, score), in the source's order.
    fn members(&self, ctx: &Ctx<'_>, db: u16) -> Result<Vec<Scored>> {
        let mut out = Vec::with_capacity(self.len().min(1 << 20) as usize);
        let mut arena = Arena::new();
        match &self.input {
            Input::Missing => {}
            Input::ZSet(z) => z.walk(ctx, false, None, None, |_, s, m| {
                out.push((arena.copy(m), s));
                true
            })?,
            Input::Set(key, meta) => visit_elems(ctx, db, key, meta, |m, _| {
                out.push((arena.copy(m), 1.0));
                true
            })?,
        }
        Ok(out)
    }

    /// The score of `member` in this source.
    fn find(&self, ctx: &Ctx<'_>, db: u16, member: &[u8]) -> Result<Option<f64>> {
        match &self.input {
            Input::Missing => Ok(None),
            Input::ZSet(z) => z.score(ctx, member),
            Input::Set(key, meta) => {
                let k = data_key(db, key, meta.version, member);
                Ok(ctx.get_elem(ElemCf::Data, &k)?.map(|_| 1.0))
            }
        }
    }
}

/// The arguments after the keys.
struct Options {
    agg: Agg,
    withscores: bool,
    limit: u64,
}

/// Parses the options after the keys (`args[j..]`), Redis's loop with its conditions.
fn parse_options(
    args: &[Bytes],
    mut j: usize,
    op: Op,
    store: bool,
    card_only: bool,
    sources: &mut [Source],
) -> Result<Options> {
    let mut o = Options {
        agg: Agg::Sum,
        withscores: false,
        limit: 0,
    };
    let setnum = sources.len();
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j];
        if op != Op::Diff && !card_only && remaining > setnum && args::is(a, "weights") {
            j += 1;
            for s in sources.iter_mut() {
                s.weight = crate::util::number::parse_f64(&args[j])
                    .ok_or_else(|| Error::err("weight value is not a float"))?;
                j += 1;
            }
        } else if op != Op::Diff && !card_only && remaining >= 2 && args::is(a, "aggregate") {
            let v = &args[j + 1];
            o.agg = if args::is(v, "sum") {
                Agg::Sum
            } else if args::is(v, "min") {
                Agg::Min
            } else if args::is(v, "max") {
                Agg::Max
            } else {
                return Err(Error::Syntax);
            };
            j += 2;
        } else if !store && !card_only && args::is(a, "withscores") {
            o.withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && args::is(a, "limit") {
            // Redis's getPositiveLongFromObjectOrReply: one text for junk and negatives.
            o.limit = match crate::util::number::parse_i64(&args[j + 1]) {
                Some(n) if n >= 0 => n as u64,
                _ => return Err(Error::err("LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    Ok(o)
}

/// The ZUNION/ZINTER/ZDIFF family: `name` is the command (for the numkeys error), `store`
/// when a destination comes first, `card_only` for ZINTERCARD.
fn setop(
    ex: &mut Exec<'_, '_>,
    args: &[Bytes],
    name: &str,
    op: Op,
    store: bool,
    card_only: bool,
) -> Result<Reply> {
    let numkeys_idx = if store { 2 } else { 1 };
    let setnum = args::int(&args[numkeys_idx])?;
    if setnum < 1 {
        return Err(Error::err(format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    if setnum as u64 > (args.len() - numkeys_idx - 1) as u64 {
        return Err(Error::Syntax);
    }
    let first_key = numkeys_idx + 1;
    let keys = &args[first_key..first_key + setnum as usize];
    let db = ex.db();
    // Every key is looked up (and type-checked) before the options are parsed, as in Redis.
    let mut sources = Vec::with_capacity(keys.len());
    for k in keys {
        let meta = ex.ctx.meta(db, k)?;
        ex.shared.stats.lookup(meta.is_some());
        if meta.is_none() {
            ex.ctx.notify(db, 'm', "keymiss", k);
        }
        let input = match meta {
            None => Input::Missing,
            Some(m) if m.kind == Kind::ZSet => Input::ZSet(Z::new(db, k, m)),
            Some(m) if m.kind == Kind::Set => Input::Set(k.clone(), m),
            Some(_) => return Err(Error::WrongType),
        };
        sources.push(Source { input, weight: 1.0 });
    }
    let o = parse_options(
        args,
        first_key + keys.len(),
        op,
        store,
        card_only,
        &mut sources,
    )?;
    if op != Op::Diff {
        // Smallest first (a stable sort, as glibc's qsort merge sort is).
        sources.sort_by_key(Source::len);
    }
    let ctx = &ex.ctx;
    let mut result: Vec<Scored> = Vec::new();
    let mut cardinality = 0u64;
    match op {
        Op::Inter => {
            if sources[0].len() > 0 {
                let w0 = sources[0].weight;
                'members: for (m, s) in sources[0].members(ctx, db)? {
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for src in &sources[1..] {
                        match src.find(ctx, db, &m)? {
                            Some(v) => aggregate(&mut score, v * src.weight, o.agg),
                            None => continue 'members,
                        }
                    }
                    if card_only {
                        cardinality += 1;
                        if o.limit != 0 && cardinality >= o.limit {
                            break;
                        }
                    } else {
                        result.push((m, score));
                    }
                }
            }
        }
        Op::Union => {
            let mut acc: HashMap<Bytes, f64> = HashMap::new();
            for src in &sources {
                for (m, s) in src.members(ctx, db)? {
                    let mut score = src.weight * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(&m) {
                        Some(t) => aggregate(t, score, o.agg),
                        None => {
                            acc.insert(m, score);
                        }
                    }
                }
            }
            result = acc.into_iter().collect();
        }
        Op::Diff => {
            if sources[0].len() > 0 {
                'diff: for (m, s) in sources[0].members(ctx, db)? {
                    for src in &sources[1..] {
                        if src.find(ctx, db, &m)?.is_some() {
                            continue 'diff;
                        }
                    }
                    result.push((m, s));
                }
            }
        }
    }
    if card_only {
        return Ok(Reply::Integer(cardinality as i64));
    }
    // Redis's skiplist order: score (−0 equals 0), then member bytes.
    result.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    if store {
        let event = match op {
            Op::Union => "zunionstore",
            Op::Inter => "zinterstore",
            Op::Diff => "zdiffstore",
        };
        return store_result(&mut ex.ctx, db, &args[1], result, event);
    }
    let resp3 = ex.session.resp >= 3;
    Ok(scored_reply(result, o.withscores, resp3))
}

pub(super) fn zunion(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    setop(ex, args, "zunion", Op::Union, false, false)
}

pub(super) fn zinter(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    setop(ex, args, "zinter", Op::Inter, false, false)
}

pub(super) fn zdiff(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    setop(ex, args, "zdiff", Op::Diff, false, false)
}

pub(super) fn zunionstore(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    setop(ex, args, "zunionstore", Op::Union, true, false)
}

pub(super) fn zinterstore(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    setop(ex, args, "zinterstore", Op::Inter, true, false)
}

pub(super) fn zdiffstore(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    setop(ex, args, "zdiffstore", Op::Diff, true, false)
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`.
pub(super) fn zintercard(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    setop(ex, args, "zintercard", Op::Inter, false, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregation_follows_redis() {
        let mut t = f64::INFINITY;
        aggregate(&mut t, f64::NEG_INFINITY, Agg::Sum);
        assert_eq!(t, 0.0);
        let mut t = 1.0;
        aggregate(&mut t, f64::NAN, Agg::Min);
        assert_eq!(t, 1.0);
        aggregate(&mut t, 0.5, Agg::Min);
        assert_eq!(t, 0.5);
        aggregate(&mut t, 2.0, Agg::Max);
        assert_eq!(t, 2.0);
    }
}
