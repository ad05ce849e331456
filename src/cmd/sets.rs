//! Set commands, with Redis 7.0's semantics, replies and error texts (`t_set.c`).
//!
//! A set is a meta entry (type, expiry, version, member count, low-water mark) plus one empty
//! `data` entry per member under `data_key(db, key, version, member)`. The helpers shared with
//! hashes (lookups, random picks, SSCAN) are in [`super::hashes`].
//!
//! Choices where the storage differs from Redis:
//! - SMEMBERS, SINTER, SUNION, SDIFF answer in member byte order.
//! - SINTER probes the other sets for each member of the smallest one (point reads); SUNION
//!   and SDIFF read every set. The *STORE forms compute the result first, then replace the
//!   destination with a new version (the destination may be one of the sources).
//! - The meta payload is a low-water mark (a member no live member is below, at most
//!   [`LWM_MAX`] bytes): SADD lowers it, SPOP raises it to the first live member it met, so
//!   popping never makes later scans step over the tombstones of earlier pops at the front;
//!   and when pops take a large set below a power of two its data range is compacted, so the
//!   tombstones of random pops never outnumber the live members (SPOP stays flat to the end).

use super::hashes::{
    elem_key, meta_or_new, rand_count, random_elems, random_one, read_meta, scan_collection,
    store_meta, visit_elems, Arena,
};
use super::spec;
use super::strings::{read, write};
use super::{args, flags::*, CommandSpec, Exec, KeySpec, Locking};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::storage::context::ElemCf;
use crate::storage::encoding::{data_prefix, prefix_successor, Kind, Meta};
use crate::storage::CF_DATA;
use bytes::Bytes;
use std::collections::BTreeSet;

/// The longest low-water mark kept in a set's meta.
pub const LWM_MAX: usize = 64;

/// The set commands (flags, arity and key positions as Redis 7.0's COMMAND reports, except
/// SINTERCARD, whose keys follow `numkeys`: all its arguments are treated as keys, which
/// over-locks harmlessly and gives it one snapshot).
pub static COMMANDS: &[CommandSpec] = &[
    write("sadd", -3, DENYOOM | FAST, sadd),
    write("srem", -3, FAST, srem),
    read("smembers", 2, 0, smembers),
    read("sismember", 3, FAST, sismember),
    read("smismember", -3, FAST, smismember),
    read("scard", 2, FAST, scard),
    write("spop", -2, FAST, spop),
    read("srandmember", -2, 0, srandmember),
    spec("smove", 4, WRITE | FAST, KeySpec::TWO, Locking::Keys, smove),
    spec("sinter", -2, READONLY, KeySpec::ALL, Locking::None, sinter),
    spec(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        KeySpec::ALL,
        Locking::Keys,
        sinterstore,
    ),
    spec(
        "sintercard",
        -3,
        READONLY | MOVABLEKEYS,
        KeySpec::ALL,
        Locking::None,
        sintercard,
    ),
    spec("sunion", -2, READONLY, KeySpec::ALL, Locking::None, sunion),
    spec(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        KeySpec::ALL,
        Locking::Keys,
        sunionstore,
    ),
    spec("sdiff", -2, READONLY, KeySpec::ALL, Locking::None, sdiff),
    spec(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        KeySpec::ALL,
        Locking::Keys,
        sdiffstore,
    ),
    read("sscan", -3, 0, sscan),
];

/// Lowers the low-water mark of `meta` below a member being added.
fn lower_lwm(meta: &mut Meta, member: &[u8]) {
    if !meta.payload.is_empty() && member < meta.payload.as_ref() {
        meta.payload = Bytes::copy_from_slice(&member[..member.len().min(LWM_MAX)]);
    }
}

/// True when `member` is in the set `key` with `meta`.
fn is_member(ex: &Exec<'_, '_>, key: &[u8], meta: &Meta, member: &[u8]) -> Result<bool> {
    let k = elem_key(ex.db(), key, meta, member);
    ex.ctx.elem_exists(ElemCf::Data, &k)
}

/// Every member of the set `key`, in order.
fn members(ex: &Exec<'_, '_>, key: &[u8], meta: &Meta) -> Result<Vec<Bytes>> {
    let mut out = Vec::with_capacity((meta.count as usize).min(1 << 20));
    let mut arena = Arena::new();
    visit_elems(&ex.ctx, ex.db(), key, meta, |m, _| {
        out.push(arena.copy(m));
        true
    })?;
    Ok(out)
}

fn bulk_set(members: impl IntoIterator<Item = Bytes>) -> Reply {
    Reply::Set(members.into_iter().map(Reply::Bulk).collect())
}

// ---- SADD, SREM ---------------------------------------------------------------------------

fn sadd(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let key = &args[1];
    let db = ex.db();
    let mut meta = meta_or_new(ex, key, Kind::Set)?;
    let mut added = 0i64;
    for m in &args[2..] {
        let k = elem_key(db, key, &meta, m);
        if !ex.ctx.elem_exists(ElemCf::Data, &k)? {
            ex.ctx.put_elem(ElemCf::Data, k, Bytes::new());
            meta.count += 1;
            added += 1;
            lower_lwm(&mut meta, m);
        }
    }
    if added > 0 {
        store_meta(ex, key, meta)?;
        ex.ctx.notify(db, 's', "sadd", key);
    }
    Ok(Reply::Integer(added))
}

fn srem(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let key = &args[1];
    let db = ex.db();
    let Some(mut meta) = ex.ctx.meta_of(db, key, Kind::Set)? else {
        return Ok(Reply::Integer(0));
    };
    let mut removed = 0i64;
    for m in &args[2..] {
        let k = elem_key(db, key, &meta, m);
        if ex.ctx.elem_exists(ElemCf::Data, &k)? {
            ex.ctx.delete_elem(ElemCf::Data, k);
            meta.count = meta.count.saturating_sub(1);
            removed += 1;
            if meta.count == 0 {
                break;
            }
        }
    }
    if removed > 0 {
        let gone = store_meta(ex, key, meta)?;
        ex.ctx.notify(db, 's', "srem", key);
        if gone {
            ex.ctx.notify(db, 'g', "del", key);
        }
    }
    Ok(Reply::Integer(removed))
}

// ---- reads --------------------------------------------------------------------------------

fn smembers(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let Some(meta) = read_meta(ex, &args[1], Kind::Set)? else {
        return Ok(Reply::Set(Vec::new()));
    };
    Ok(bulk_set(members(ex, &args[1], &meta)?))
}

fn sismember(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let Some(meta) = read_meta(ex, &args[1], Kind::Set)? else {
        return Ok(Reply::Integer(0));
    };
    Ok(Reply::Integer(
        is_member(ex, &args[1], &meta, &args[2])? as i64
    ))
}

fn smismember(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let meta = read_meta(ex, &args[1], Kind::Set)?;
    let mut out = Vec::with_capacity(args.len().min(1024));
    for m in &args[2..] {
        let found = match &meta {
            Some(meta) => is_member(ex, &args[1], meta, m)?,
            None => false,
        };
        out.push(Reply::Integer(found as i64));
    }
    Ok(Reply::Array(out))
}

fn scard(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let meta = read_meta(ex, &args[1], Kind::Set)?;
    Ok(Reply::Integer(meta.map_or(0, |m| m.count as i64)))
}

fn sscan(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    scan_collection(ex, args, Kind::Set, false)
}

/// Sets popped below a power of two at least this large get their data range compacted.
const COMPACT_FROM: u64 = 1024;

/// Pops leave tombstones that every later random seek into the set steps over; once pops
/// have taken a set of at least [`COMPACT_FROM`] members below a power of two (so the
/// tombstones are at most as many as the live members), its data range is compacted, which
/// drops them. Amortised over the pops in between, this keeps SPOP's cost flat until the set
/// is empty. The compaction runs on a thread of its own: an executor never waits for it.
fn reclaim_tombstones(ex: &Exec<'_, '_>, prefix: &[u8], before: u64, after: u64) {
    if after > 0 && before >= COMPACT_FROM && before.ilog2() > after.ilog2() {
        let store = ex.shared.store.clone();
        let start = prefix.to_vec();
        let end = prefix_successor(prefix);
        let spawned = std::thread::Builder::new()
            .name("talus-reclaim".into())
            .spawn(move || {
                store
                    .db()
                    .compact_range_cf(store.cf(CF_DATA), Some(start), Some(end));
            });
        if let Err(e) = spawned {
            log::warn!("cannot start a tombstone compaction: {e}");
        }
    }
}

// ---- SPOP, SRANDMEMBER --------------------------------------------------------------------

/// `SPOP key [count]`.
fn spop(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    let positive = || Error::err("value is out of range, must be positive");
    let count = match args.get(2) {
        Some(a) => Some(args::int(a).ok().filter(|n| *n >= 0).ok_or_else(positive)? as u64),
        None => None,
    };
    let key = &args[1];
    let db = ex.db();
    let Some(mut meta) = ex.ctx.meta_of(db, key, Kind::Set)? else {
        return Ok(if count.is_some() {
            Reply::Set(Vec::new())
        } else {
            Reply::Nil
        });
    };
    let prefix = data_prefix(db, key, meta.version);
    let Some(n) = count else {
        let (picked, first) = random_one(&ex.ctx, &prefix, &meta)?;
        let Some((k, _)) = picked else {
            return Ok(Reply::Nil);
        };
        let member = Bytes::copy_from_slice(&k[prefix.len()..]);
        ex.ctx.delete_elem(ElemCf::Data, k);
        reclaim_tombstones(ex, &prefix, meta.count, meta.count.saturating_sub(1));
        meta.count = meta.count.saturating_sub(1);
        if let Some(first) = first {
            // Nothing live is below the first live member we met: raise the mark to it.
            let f = &first[prefix.len()..];
            meta.payload = Bytes::copy_from_slice(&f[..f.len().min(LWM_MAX)]);
        }
        let gone = store_meta(ex, key, meta)?;
        ex.ctx.notify(db, 's', "spop", key);
        if gone {
            ex.ctx.notify(db, 'g', "del", key);
        }
        return Ok(Reply::Bulk(member));
    };
    if n == 0 {
        return Ok(Reply::Set(Vec::new()));
    }
    ex.ctx.notify(db, 's', "spop", key);
    if n >= meta.count {
        let all = members(ex, key, &meta)?;
        ex.ctx.delete(db, key)?;
        ex.ctx.notify(db, 'g', "del", key);
        return Ok(bulk_set(all));
    }
    let picks = random_elems(&ex.ctx, &prefix, &meta, n, true)?;
    reclaim_tombstones(
        ex,
        &prefix,
        meta.count,
        meta.count.saturating_sub(picks.len() as u64),
    );
    let mut out = Vec::with_capacity(picks.len());
    for (k, _) in picks {
        out.push(Reply::bulk(&k[prefix.len()..]));
        ex.ctx.delete_elem(ElemCf::Data, k);
        meta.count = meta.count.saturating_sub(1);
    }
    if store_meta(ex, key, meta)? {
        ex.ctx.notify(db, 'g', "del", key);
    }
    Ok(Reply::Set(out))
}

/// `SRANDMEMBER key [count]`.
fn srandmember(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    let count = args.get(2).map(|a| rand_count(a)).transpose()?;
    let key = &args[1];
    let db = ex.db();
    let meta = read_meta(ex, key, Kind::Set)?;
    let Some(meta) = meta else {
        return Ok(if count.is_some() {
            Reply::Array(Vec::new())
        } else {
            Reply::Nil
        });
    };
    let prefix = data_prefix(db, key, meta.version);
    let Some(n) = count else {
        let (picked, _) = random_one(&ex.ctx, &prefix, &meta)?;
        return Ok(picked.map_or(Reply::Nil, |(k, _)| Reply::bulk(&k[prefix.len()..])));
    };
    if n == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let picks = random_elems(&ex.ctx, &prefix, &meta, n.unsigned_abs(), n > 0)?;
    Ok(Reply::Array(
        picks
            .into_iter()
            .map(|(k, _)| Reply::bulk(&k[prefix.len()..]))
            .collect(),
    ))
}

// ---- SMOVE --------------------------------------------------------------------------------

fn smove(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let db = ex.db();
    let src_meta = ex.ctx.meta(db, src)?;
    let dst_meta = ex.ctx.meta(db, dst)?;
    let Some(mut src_meta) = src_meta else {
        return Ok(Reply::Integer(0));
    };
    if src_meta.kind != Kind::Set || dst_meta.as_ref().is_some_and(|m| m.kind != Kind::Set) {
        return Err(Error::WrongType);
    }
    if src == dst {
        return Ok(Reply::Integer(is_member(ex, src, &src_meta, member)? as i64));
    }
    let k = elem_key(db, src, &src_meta, member);
    if !ex.ctx.elem_exists(ElemCf::Data, &k)? {
        return Ok(Reply::Integer(0));
    }
    ex.ctx.delete_elem(ElemCf::Data, k);
    src_meta.count = src_meta.count.saturating_sub(1);
    let gone = store_meta(ex, src, src_meta)?;
    ex.ctx.notify(db, 's', "srem", src);
    if gone {
        ex.ctx.notify(db, 'g', "del", src);
    }
    let mut dst_meta = match dst_meta {
        Some(m) => m,
        None => Meta::collection(Kind::Set, ex.ctx.new_version()?),
    };
    let k = elem_key(db, dst, &dst_meta, member);
    if !ex.ctx.elem_exists(ElemCf::Data, &k)? {
        ex.ctx.put_elem(ElemCf::Data, k, Bytes::new());
        dst_meta.count += 1;
        lower_lwm(&mut dst_meta, member);
        store_meta(ex, dst, dst_meta)?;
        ex.ctx.notify(db, 's', "sadd", dst);
    }
    Ok(Reply::Integer(1))
}

// ---- SINTER, SUNION, SDIFF and their STORE forms ------------------------------------------

/// The metas of `keys` (missing keys are `None`); WRONGTYPE if any holds another type, even
/// after a missing one, as Redis checks every key. Read lookups (keyspace hits and misses,
/// `keymiss` events) for the STORE forms too, as Redis 7.0 does.
fn load_sets(ex: &mut Exec<'_, '_>, keys: &[Bytes]) -> Result<Vec<Option<Meta>>> {
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        out.push(read_meta(ex, k, Kind::Set)?);
    }
    Ok(out)
}

/// The intersection of `keys` (stops at `limit` members when it is not 0).
fn inter(ex: &mut Exec<'_, '_>, keys: &[Bytes], limit: u64) -> Result<Vec<Bytes>> {
    let metas = load_sets(ex, keys)?;
    let Some(metas) = metas.into_iter().collect::<Option<Vec<Meta>>>() else {
        return Ok(Vec::new());
    };
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| metas[i].count);
    let smallest = order[0];
    let mut out = Vec::new();
    'members: for m in members(ex, &keys[smallest], &metas[smallest])? {
        for &i in &order[1..] {
            if !is_member(ex, &keys[i], &metas[i], &m)? {
                continue 'members;
            }
        }
        out.push(m);
        if limit != 0 && out.len() as u64 >= limit {
            break;
        }
    }
    Ok(out)
}

/// The union of `keys`, in order.
fn union(ex: &mut Exec<'_, '_>, keys: &[Bytes]) -> Result<Vec<Bytes>> {
    let metas = load_sets(ex, keys)?;
    let mut all = BTreeSet::new();
    for (k, m) in keys.iter().zip(&metas) {
        if let Some(m) = m {
            all.extend(members(ex, k, m)?);
        }
    }
    Ok(all.into_iter().collect())
}

/// The members of the first of `keys` that are in none of the others.
fn diff(ex: &mut Exec<'_, '_>, keys: &[Bytes]) -> Result<Vec<Bytes>> {
    let metas = load_sets(ex, keys)?;
    let Some(first) = &metas[0] else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    'members: for m in members(ex, &keys[0], first)? {
        for (k, meta) in keys.iter().zip(&metas).skip(1) {
            if let Some(meta) = meta {
                if is_member(ex, k, meta, &m)? {
                    continue 'members;
                }
            }
        }
        out.push(m);
    }
    Ok(out)
}

/// Replaces `dst` with a set of `members` (deleting it when there are none) and answers the
/// count, with Redis's events.
fn store_set(
    ex: &mut Exec<'_, '_>,
    dst: &[u8],
    members: Vec<Bytes>,
    event: &'static str,
) -> Result<Reply> {
    let db = ex.db();
    let existed = ex.ctx.delete(db, dst)?;
    if members.is_empty() {
        if existed {
            ex.ctx.notify(db, 'g', "del", dst);
        }
        return Ok(Reply::Integer(0));
    }
    let mut meta = Meta::collection(Kind::Set, ex.ctx.new_version()?);
    for m in &members {
        let k = elem_key(db, dst, &meta, m);
        ex.ctx.put_elem(ElemCf::Data, k, Bytes::new());
    }
    meta.count = members.len() as u64;
    ex.ctx.put_meta(db, dst, meta);
    ex.ctx.notify(db, 's', event, dst);
    Ok(Reply::Integer(members.len() as i64))
}

fn sinter(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ok(bulk_set(inter(ex, &args[1..], 0)?))
}

fn sinterstore(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let result = inter(ex, &args[2..], 0)?;
    store_set(ex, &args[1], result, "sinterstore")
}

fn sunion(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ok(bulk_set(union(ex, &args[1..])?))
}

fn sunionstore(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let result = union(ex, &args[2..])?;
    store_set(ex, &args[1], result, "sunionstore")
}

fn sdiff(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ok(bulk_set(diff(ex, &args[1..])?))
}

fn sdiffstore(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let result = diff(ex, &args[2..])?;
    store_set(ex, &args[1], result, "sdiffstore")
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`.
fn sintercard(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let bad_numkeys = || Error::err("numkeys should be greater than 0");
    let numkeys = args::int(&args[1])
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(bad_numkeys)?;
    if numkeys as u64 > (args.len() - 2) as u64 {
        return Err(Error::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0u64;
    let mut i = end;
    while i < args.len() {
        if args::is(&args[i], "limit") && i + 1 < args.len() {
            i += 1;
            limit = args::int(&args[i])
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| Error::err("LIMIT can't be negative"))? as u64;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    let result = inter(ex, &args[2..end], limit)?;
    Ok(Reply::Integer(result.len() as i64))
}
