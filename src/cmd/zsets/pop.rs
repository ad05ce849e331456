//! ZPOPMIN, ZPOPMAX and ZMPOP, and the cores BZPOPMIN, BZPOPMAX and BZMPOP reuse (the blocking
//! forms are registered by the lead): [`pop`] and [`mpop`] work on a storage context alone, so
//! they can serve a waiter from the commit that made its key ready; [`MPop::parse`] reads the
//! arguments of ZMPOP and BZMPOP; [`pop_reply`] and [`mpop_reply`] build Redis's reply shapes.

use super::{scored_reply, write_zset, Scored};
use crate::cmd::{args, Exec};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::storage::context::Ctx;
use bytes::Bytes;

/// Pops up to `count` members with the lowest (`max` false) or highest scores from the zset
/// `key` of database `db`, in pop order, emitting Redis's events (`zpopmin`/`zpopmax`, and
/// `del` when it empties the key, which is then deleted). `None` when the key does not exist;
/// WRONGTYPE for another type; `count` 0 pops nothing. The walk starts at the zset's water
/// mark and the mark moves past the popped members, so no pop steps over earlier pops'
/// tombstones.
pub(crate) fn pop(
    ctx: &mut Ctx<'_>,
    db: u16,
    key: &[u8],
    max: bool,
    count: u64,
) -> Result<Option<Vec<Scored>>> {
    let Some(mut z) = write_zset(ctx, db, key)? else {
        return Ok(None);
    };
    if count == 0 {
        return Ok(Some(Vec::new()));
    }
    let want = count.min(z.len());
    let mut items: Vec<Scored> = Vec::with_capacity(want.min(1 << 16) as usize);
    let mut last = Vec::new();
    z.walk(ctx, max, None, Some(want), |suffix, score, member| {
        items.push((Bytes::copy_from_slice(member), score));
        if items.len() as u64 >= want {
            last = suffix.to_vec();
            return false;
        }
        true
    })?;
    if items.is_empty() {
        return Ok(Some(items));
    }
    if last.is_empty() {
        // The index held fewer entries than the count said: the last one seen ends the run.
        if let Some((m, s)) = items.last() {
            last = super::suffix_of(*s, m);
        }
    }
    for (m, s) in &items {
        z.remove(ctx, m, *s);
    }
    if max {
        z.lower_hi(&last);
    } else {
        z.raise_lo(&last);
    }
    let gone = z.save(ctx)?;
    ctx.notify(db, 'z', if max { "zpopmax" } else { "zpopmin" }, key);
    if gone {
        ctx.notify(db, 'g', "del", key);
    }
    Ok(Some(items))
}

/// ZMPOP's core: pops from the first of `keys` that exists (WRONGTYPE if that one holds
/// another type; the keys after it are not looked at, as in Redis). `None` when none exists.
pub(crate) fn mpop(
    ctx: &mut Ctx<'_>,
    db: u16,
    keys: &[Bytes],
    max: bool,
    count: u64,
) -> Result<Option<(Bytes, Vec<Scored>)>> {
    for key in keys {
        if let Some(items) = pop(ctx, db, key, max, count)? {
            return Ok(Some((key.clone(), items)));
        }
    }
    Ok(None)
}

/// The reply of ZPOPMIN/ZPOPMAX: a flat [member, score, ...] array, or in RESP3 with a count
/// an array of [member, score] pairs.
pub(crate) fn pop_reply(items: Vec<Scored>, with_count: bool, resp3: bool) -> Reply {
    scored_reply(items, true, resp3 && with_count)
}

/// The reply of ZMPOP/BZMPOP: [key, [[member, score], ...]] (nested in RESP2 as well).
pub(crate) fn mpop_reply(key: Bytes, items: Vec<Scored>) -> Reply {
    Reply::Array(vec![Reply::Bulk(key), scored_reply(items, true, true)])
}

/// `ZPOPMIN`/`ZPOPMAX key [count]`.
fn zpop(ex: &mut Exec<'_, '_>, args: &[Bytes], max: bool) -> Result<Reply> {
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    let count = match args.get(2) {
        // Redis's getPositiveLongFromObjectOrReply: one text for junk and negatives.
        Some(a) => match crate::util::number::parse_i64(a) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return Err(Error::err("value is out of range, must be positive")),
        },
        None => None,
    };
    let db = ex.db();
    let resp3 = ex.session.resp >= 3;
    let items = pop(&mut ex.ctx, db, &args[1], max, count.unwrap_or(1))?;
    Ok(pop_reply(items.unwrap_or_default(), count.is_some(), resp3))
}

pub(super) fn zpopmin(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    zpop(ex, args, false)
}

pub(super) fn zpopmax(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    zpop(ex, args, true)
}

/// The arguments of `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]` (and of BZMPOP, whose
/// numkeys is argument 2), with Redis's checks and texts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MPop {
    /// The keys, in order.
    pub keys: Vec<Bytes>,
    /// MAX (true) or MIN.
    pub max: bool,
    /// The count (1 when not given).
    pub count: u64,
}

impl MPop {
    /// Parses `args` whose `numkeys` is at index `numkeys_idx` (1 for ZMPOP, 2 for BZMPOP).
    pub(crate) fn parse(args: &[Bytes], numkeys_idx: usize) -> Result<MPop> {
        let positive = |arg: &[u8], msg: &'static str| -> Result<u64> {
            match crate::util::number::parse_i64(arg) {
                Some(n) if n >= 1 => Ok(n as u64),
                _ => Err(Error::raw(msg)),
            }
        };
        let numkeys = positive(&args[numkeys_idx], "ERR numkeys should be greater than 0")?;
        let where_idx = (numkeys_idx as u64)
            .saturating_add(numkeys)
            .saturating_add(1);
        if where_idx >= args.len() as u64 {
            return Err(Error::Syntax);
        }
        let where_idx = where_idx as usize;
        let max = if args::is(&args[where_idx], "min") {
            false
        } else if args::is(&args[where_idx], "max") {
            true
        } else {
            return Err(Error::Syntax);
        };
        let mut count = None;
        let mut j = where_idx + 1;
        while j < args.len() {
            let more = args.len() - 1 - j;
            if count.is_none() && args::is(&args[j], "count") && more > 0 {
                j += 1;
                count = Some(positive(&args[j], "ERR count should be greater than 0")?);
            } else {
                return Err(Error::Syntax);
            }
            j += 1;
        }
        Ok(MPop {
            keys: args[numkeys_idx + 1..where_idx].to_vec(),
            max,
            count: count.unwrap_or(1),
        })
    }
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`.
pub(super) fn zmpop(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let p = MPop::parse(args, 1)?;
    let db = ex.db();
    Ok(match mpop(&mut ex.ctx, db, &p.keys, p.max, p.count)? {
        Some((key, items)) => mpop_reply(key, items),
        None => Reply::NilArray,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<Bytes> {
        s.split(' ').map(|w| Bytes::from(w.to_string())).collect()
    }

    #[test]
    fn mpop_arguments() {
        let p = MPop::parse(&args("zmpop 2 a b max count 3"), 1).expect("parse");
        assert_eq!(p.keys, vec![Bytes::from("a"), Bytes::from("b")]);
        assert!(p.max);
        assert_eq!(p.count, 3);
        let p = MPop::parse(&args("bzmpop 0 1 a MIN"), 2).expect("parse");
        assert_eq!((p.keys.len(), p.max, p.count), (1, false, 1));
        let err = |s: &str| MPop::parse(&args(s), 1).unwrap_err().to_string();
        assert_eq!(err("zmpop 0 a min"), "ERR numkeys should be greater than 0");
        assert_eq!(err("zmpop x a min"), "ERR numkeys should be greater than 0");
        assert_eq!(err("zmpop 2 a min"), "ERR syntax error");
        assert_eq!(err("zmpop 1 a mid"), "ERR syntax error");
        assert_eq!(
            err("zmpop 1 a min count 0"),
            "ERR count should be greater than 0"
        );
        assert_eq!(err("zmpop 1 a min count 1 count 1"), "ERR syntax error");
        assert_eq!(err("zmpop 1 a min count"), "ERR syntax error");
        assert_eq!(err("zmpop 9223372036854775807 a min"), "ERR syntax error");
    }
}
