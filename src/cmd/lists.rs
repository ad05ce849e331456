//! List commands, with Redis 7.0's semantics, replies and error texts (`t_list.c`), and the
//! cores the blocking forms (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) build on. The blocking
//! forms themselves are registered by the lead, on top of the crate-internal `pop`, `push`,
//! `move_one`, `mpop` (+ `mpop_reply`), `MPop::parse` and `End::parse`.
//!
//! ## Encoding (Kvrocks' layout)
//!
//! A list is a meta entry plus one `data` entry per element:
//! - meta: type `List`, expiry, version, `count` = the length, `payload` = the **head**, the
//!   position of the first element, as a u64 big-endian (8 bytes). The tail (one past the last
//!   element) is `head + count`; it is derived, not stored, so the two can never disagree.
//! - element at index `i`: `data_key(db, key, version, (head + i).to_be_bytes())` → its value.
//!   Live elements occupy exactly the positions `[head, head + count)`; big-endian positions
//!   make byte order list order. A new list starts at 2^63 (the middle of the u64 range), so
//!   it can grow 2^63 elements at either end.
//! - The head doubles as the low-water mark the collection helpers start their scans from
//!   (`hashes::visit_elems`, used by MEMORY USAGE and OBJECT ENCODING): no scan ever
//!   steps over the tombstones that pops leave below the head.
//!
//! ## Costs
//!
//! - LPUSH/RPUSH: the meta read, one put per element, the meta write. LPOP/RPOP: one point read
//!   at the head (or the tail), one delete; with a count, one iterator over the popped range.
//!   No pop iterates or seeks over the tombstones of earlier pops.
//! - LINDEX/LSET: one point read at `head + index` (LSET: and one put). LRANGE: one iterator
//!   from `head + start` that stops at the last wanted position.
//! - LINSERT and LREM rewrite the side of the list that moves less (as Kvrocks does): LINSERT
//!   shifts the elements before or after the insertion point by one position; LREM closes the
//!   gaps by moving the elements before the last removed one towards the tail, or those after
//!   the first removed one towards the head, or, when fewer survive than either side, writes
//!   the survivors under a new version. LTRIM deletes the trimmed ends, or, when fewer elements
//!   stay than go, writes those under a new version (O(kept), the old version is garbage).
//! - An emptied list is deleted (EXISTS 0), as Redis does; DEL and expiry are O(1): the
//!   compaction filter drops the old version's entries.
//! - Reads of several entries (LINDEX, LRANGE, LPOS) in a lock-free context pin one RocksDB
//!   snapshot first ([`Ctx::pin_snapshot`]), so the meta and the elements they read agree even
//!   while a writer moves the list's ends or shifts its middle.
//! - Searches from the tail (LPOS with a negative RANK, LREM with a negative count) read
//!   backwards in chunks of growing size, each one bounded forward iterator.

use super::hashes::{elem_key, read_meta, Arena};
use super::strings::{opt_is, read, write};
use super::{args, flags::*, spec, CommandSpec, Exec, KeySpec, Locking};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::storage::context::{Ctx, ElemCf};
use crate::storage::encoding::{data_prefix, Kind, Meta};
use bytes::Bytes;

/// LMPOP's keys follow `numkeys`: every argument from 2 is locked (the direction and COUNT
/// too, which over-locks harmlessly).
const MPOP_KEYS: KeySpec = KeySpec {
    first: 2,
    last: -1,
    step: 1,
};

/// The list commands (flags, arity and key positions as Redis 7.0's COMMAND reports, except
/// LMPOP's keys, see `MPOP_KEYS`). The blocking forms are registered by the lead.
pub static COMMANDS: &[CommandSpec] = &[
    write("lpush", -3, DENYOOM | FAST, lpush),
    write("rpush", -3, DENYOOM | FAST, rpush),
    write("lpushx", -3, DENYOOM | FAST, lpushx),
    write("rpushx", -3, DENYOOM | FAST, rpushx),
    write("lpop", -2, FAST, lpop),
    write("rpop", -2, FAST, rpop),
    read("llen", 2, FAST, llen),
    read("lindex", 3, 0, lindex),
    write("lset", 4, DENYOOM, lset),
    read("lrange", 4, 0, lrange),
    write("ltrim", 4, 0, ltrim),
    write("lrem", 4, 0, lrem),
    write("linsert", 5, DENYOOM, linsert),
    read("lpos", -3, 0, lpos),
    spec(
        "lmove",
        5,
        WRITE | DENYOOM,
        KeySpec::TWO,
        Locking::Keys,
        lmove,
    ),
    spec(
        "rpoplpush",
        3,
        WRITE | DENYOOM,
        KeySpec::TWO,
        Locking::Keys,
        rpoplpush,
    ),
    spec(
        "lmpop",
        -4,
        WRITE | MOVABLEKEYS,
        MPOP_KEYS,
        Locking::Keys,
        lmpop,
    ),
];

/// The position of the first element of a new list.
const INITIAL_HEAD: u64 = 1 << 63;

/// Lists longer than this are read around the block cache when read whole.
const BULK_SCAN: u64 = 10_000;

/// The first and the largest chunk of a backward search.
const CHUNK_MIN: u64 = 128;
const CHUNK_MAX: u64 = 8192;

// ---- the list as stored -------------------------------------------------------------------

/// An end of a list (Redis's `LIST_HEAD` / `LIST_TAIL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The head (`LEFT`, index 0).
    Left,
    /// The tail (`RIGHT`, index -1).
    Right,
}

impl End {
    /// Parses `LEFT` or `RIGHT` (case-insensitive) as LMOVE, BLMOVE, LMPOP and BLMPOP take
    /// them; anything else is `ERR syntax error`.
    pub(crate) fn parse(arg: &[u8]) -> Result<End> {
        if opt_is(arg, "left") {
            Ok(End::Left)
        } else if opt_is(arg, "right") {
            Ok(End::Right)
        } else {
            Err(Error::Syntax)
        }
    }

    fn pop_event(self) -> &'static str {
        match self {
            End::Left => "lpop",
            End::Right => "rpop",
        }
    }

    fn push_event(self) -> &'static str {
        match self {
            End::Left => "lpush",
            End::Right => "rpush",
        }
    }
}

/// A list at its address (`db`, `key`) as its meta describes it: the meta and its decoded
/// head.
struct List<'k> {
    db: u16,
    key: &'k [u8],
    meta: Meta,
    head: u64,
}

fn corrupt() -> Error {
    Error::err("list storage is inconsistent (an element is missing)")
}

fn full() -> Error {
    Error::err("list has reached the maximum number of positions")
}

impl<'k> List<'k> {
    fn from_meta(db: u16, key: &'k [u8], meta: Meta) -> List<'k> {
        let head = <[u8; 8]>::try_from(meta.payload.as_ref())
            .map(u64::from_be_bytes)
            .unwrap_or(INITIAL_HEAD);
        List {
            db,
            key,
            meta,
            head,
        }
    }

    /// A new, empty list at `key` with a fresh version (not stored yet).
    fn new(ctx: &Ctx<'_>, db: u16, key: &'k [u8]) -> Result<List<'k>> {
        Ok(List {
            db,
            key,
            meta: Meta::collection(Kind::List, ctx.new_version()?),
            head: INITIAL_HEAD,
        })
    }

    fn len(&self) -> u64 {
        self.meta.count
    }

    /// The position of the element at index `i` (`i < len`).
    fn pos(&self, i: u64) -> u64 {
        self.head + i
    }

    fn key_at(&self, pos: u64) -> Vec<u8> {
        elem_key(self.db, self.key, &self.meta, &pos.to_be_bytes())
    }

    /// The index Redis means by `i` (negative counts from the tail), if it is in the list.
    fn index(&self, i: i64) -> Option<u64> {
        let len = self.len().min(i64::MAX as u64) as i64;
        let i = if i < 0 { i + len } else { i };
        (0..len).contains(&i).then_some(i as u64)
    }

    /// Writes the meta (an emptied list is deleted instead); true when the key was deleted.
    fn store(mut self, ctx: &mut Ctx<'_>) -> Result<bool> {
        if self.meta.count == 0 {
            ctx.delete(self.db, self.key)?;
            return Ok(true);
        }
        self.meta.payload = Bytes::copy_from_slice(&self.head.to_be_bytes());
        ctx.put_meta(self.db, self.key, self.meta);
        Ok(false)
    }
}

/// Redis's `lookupKeyWrite` + `checkType(OBJ_LIST)` (no keyspace statistics).
fn load<'k>(ctx: &mut Ctx<'_>, db: u16, key: &'k [u8]) -> Result<Option<List<'k>>> {
    Ok(ctx
        .meta_of(db, key, Kind::List)?
        .map(|m| List::from_meta(db, key, m)))
}

/// Redis's `lookupKeyRead` + `checkType(OBJ_LIST)` for a read of several entries: pins a
/// snapshot first (lock-free readers only), then counts a keyspace hit or miss.
fn load_read<'k>(ex: &mut Exec<'_, '_>, key: &'k [u8]) -> Result<Option<List<'k>>> {
    ex.ctx.pin_snapshot();
    let db = ex.db();
    Ok(read_meta(ex, key, Kind::List)?.map(|m| List::from_meta(db, key, m)))
}

/// The `n` elements from index `start` (all inside the list), with one iterator that stops at
/// the last of them.
fn read_range(ctx: &Ctx<'_>, list: &List<'_>, start: u64, n: u64) -> Result<Vec<Bytes>> {
    let mut out = Vec::with_capacity(n.min(4096) as usize);
    if n == 0 {
        return Ok(out);
    }
    let mut arena = Arena::new();
    walk_from(ctx, list, start, n, |_, v| {
        out.push(arena.copy(v));
        true
    })?;
    Ok(out)
}

/// Visits the elements with indexes `[start, start + n)` in order (index, value) until `visit`
/// returns false: one iterator from `head + start`, checking that each entry is at the
/// position expected (live elements are contiguous), stopping at the last wanted one.
fn walk_from(
    ctx: &Ctx<'_>,
    list: &List<'_>,
    start: u64,
    n: u64,
    mut visit: impl FnMut(u64, &[u8]) -> bool,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let prefix = data_prefix(list.db, list.key, list.meta.version);
    let mut from = prefix.clone();
    from.extend_from_slice(&list.pos(start).to_be_bytes());
    let (mut seen, mut stopped, mut bad) = (0u64, false, false);
    ctx.scan_elems_with(
        ElemCf::Data,
        &prefix,
        Some(&from),
        n <= BULK_SCAN,
        |k, v| {
            if k[prefix.len()..] != list.pos(start + seen).to_be_bytes() {
                bad = true;
                return false;
            }
            let go = visit(start + seen, v);
            seen += 1;
            stopped = !go;
            go && seen < n
        },
    )?;
    if bad || (!stopped && seen < n) {
        return Err(corrupt());
    }
    Ok(())
}

/// Visits the elements from the tail backwards (index, value), at most `limit` of them, until
/// `visit` returns false: chunks of growing size, each read with one forward iterator.
fn walk_back(
    ctx: &Ctx<'_>,
    list: &List<'_>,
    limit: u64,
    mut visit: impl FnMut(u64, &[u8]) -> bool,
) -> Result<()> {
    let stop = list.len().saturating_sub(limit);
    let mut end = list.len();
    let mut chunk = CHUNK_MIN;
    while end > stop {
        let n = chunk.min(end - stop);
        let start = end - n;
        let values = read_range(ctx, list, start, n)?;
        for (j, v) in values.iter().enumerate().rev() {
            if !visit(start + j as u64, v) {
                return Ok(());
            }
        }
        end = start;
        chunk = (chunk * 2).min(CHUNK_MAX);
    }
    Ok(())
}

/// Adds `elems` at `end`, one after the other (LPUSH a b c leaves c first).
fn push_elems(ctx: &mut Ctx<'_>, list: &mut List<'_>, end: End, elems: &[Bytes]) -> Result<()> {
    let n = elems.len() as u64;
    // Checked before anything is written.
    match end {
        End::Left if list.head < n => return Err(full()),
        End::Right if list.head.checked_add(list.len() + n).is_none() => return Err(full()),
        _ => {}
    }
    for v in elems {
        let pos = match end {
            End::Left => {
                list.head -= 1;
                list.head
            }
            End::Right => list.head + list.len(),
        };
        ctx.put_elem(ElemCf::Data, list.key_at(pos), v.clone());
        list.meta.count += 1;
    }
    Ok(())
}

/// Removes `n` elements (`1 <= n <= len`) at `end` and returns them in pop order (from the
/// tail: the last element first).
fn pop_elems(ctx: &mut Ctx<'_>, list: &mut List<'_>, end: End, n: u64) -> Result<Vec<Bytes>> {
    let start = match end {
        End::Left => 0,
        End::Right => list.len() - n,
    };
    let mut values = if n == 1 {
        // One point read: no iterator.
        let k = list.key_at(list.pos(start));
        vec![ctx.get_elem(ElemCf::Data, &k)?.ok_or_else(corrupt)?]
    } else {
        read_range(ctx, list, start, n)?
    };
    for i in start..start + n {
        ctx.delete_elem(ElemCf::Data, list.key_at(list.pos(i)));
    }
    if end == End::Right {
        values.reverse();
    } else {
        list.head += n;
    }
    list.meta.count -= n;
    Ok(values)
}

/// Replaces the whole list by `values` under a new version (same expiry): the old version's
/// entries become garbage for the compaction filter. `values` is not empty.
fn rewrite(ctx: &mut Ctx<'_>, list: &mut List<'_>, values: &[Bytes]) -> Result<()> {
    let mut fresh = List::new(ctx, list.db, list.key)?;
    fresh.meta.expire_ms = list.meta.expire_ms;
    push_elems(ctx, &mut fresh, End::Right, values)?;
    *list = fresh;
    Ok(())
}

// ---- the cores the blocking commands share ------------------------------------------------

/// Pushes `elems` at `end` of list `key` (creating it when missing; WRONGTYPE for another
/// type), emits `lpush`/`rpush`, marks the key ready for blocked clients, and returns the new
/// length. The caller holds the key's lock.
pub(crate) fn push(
    ctx: &mut Ctx<'_>,
    db: u16,
    key: &[u8],
    end: End,
    elems: &[Bytes],
) -> Result<u64> {
    let list = match load(ctx, db, key)? {
        Some(l) => l,
        None => List::new(ctx, db, key)?,
    };
    push_list(ctx, list, end, elems)
}

fn push_list(ctx: &mut Ctx<'_>, mut list: List<'_>, end: End, elems: &[Bytes]) -> Result<u64> {
    push_elems(ctx, &mut list, end, elems)?;
    let (db, key, len) = (list.db, list.key, list.len());
    list.store(ctx)?;
    ctx.notify(db, 'l', end.push_event(), key);
    ctx.mark_ready(db, key);
    Ok(len)
}

/// Pops up to `count` elements (`count >= 1`) at `end` of list `key`, in pop order; `None`
/// when the key does not exist, WRONGTYPE for another type. Emits `lpop`/`rpop`, and `del`
/// when the list is emptied (the key is deleted). The caller holds the key's lock.
pub(crate) fn pop(
    ctx: &mut Ctx<'_>,
    db: u16,
    key: &[u8],
    end: End,
    count: u64,
) -> Result<Option<Vec<Bytes>>> {
    let Some(mut list) = load(ctx, db, key)? else {
        return Ok(None);
    };
    let n = count.min(list.len());
    if n == 0 {
        return Ok(Some(Vec::new()));
    }
    let values = pop_elems(ctx, &mut list, end, n)?;
    let gone = list.store(ctx)?;
    ctx.notify(db, 'l', end.pop_event(), key);
    if gone {
        ctx.notify(db, 'g', "del", key);
    }
    Ok(Some(values))
}

/// LMOVE's core: pops one element at `from` of `src` and pushes it at `to` of `dst` (which
/// may be `src`: a rotation). `None` when `src` does not exist; WRONGTYPE when either key
/// holds another type (`src` checked first, as Redis does). Events as Redis emits them:
/// `lpush`/`rpush` on `dst`, then `lpop`/`rpop` on `src`, then `del` if `src` was emptied;
/// `dst` is marked ready. The caller holds both keys' locks.
pub(crate) fn move_one(
    ctx: &mut Ctx<'_>,
    db: u16,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<Option<Bytes>> {
    let Some(mut source) = load(ctx, db, src)? else {
        return Ok(None);
    };
    if source.len() == 0 {
        return Ok(None);
    }
    if src == dst {
        let value = pop_elems(ctx, &mut source, from, 1)?
            .pop()
            .ok_or_else(corrupt)?;
        push_elems(ctx, &mut source, to, std::slice::from_ref(&value))?;
        source.store(ctx)?;
        ctx.notify(db, 'l', to.push_event(), dst);
        ctx.mark_ready(db, dst);
        ctx.notify(db, 'l', from.pop_event(), src);
        return Ok(Some(value));
    }
    let target = load(ctx, db, dst)?;
    let value = pop_elems(ctx, &mut source, from, 1)?
        .pop()
        .ok_or_else(corrupt)?;
    let target = match target {
        Some(l) => l,
        None => List::new(ctx, db, dst)?,
    };
    push_list(ctx, target, to, std::slice::from_ref(&value))?;
    let gone = source.store(ctx)?;
    ctx.notify(db, 'l', from.pop_event(), src);
    if gone {
        ctx.notify(db, 'g', "del", src);
    }
    Ok(Some(value))
}

/// The arguments of LMPOP (`numkeys` at index 1) and BLMPOP (at index 2):
/// `numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MPop {
    /// The keys, in the order they are tried.
    pub(crate) keys: Vec<Bytes>,
    /// Where to pop.
    pub(crate) end: End,
    /// How many elements at most (1 without COUNT).
    pub(crate) count: u64,
}

impl MPop {
    /// Parses from `numkeys` at `args[numkeys_idx]`, with Redis's checks and texts in its
    /// order: numkeys (`ERR numkeys should be greater than 0`), enough arguments for the keys
    /// and the direction (`ERR syntax error`), the direction, then COUNT once (`ERR count
    /// should be greater than 0`).
    pub(crate) fn parse(args: &[Bytes], numkeys_idx: usize) -> Result<MPop> {
        let bad_numkeys = || Error::err("numkeys should be greater than 0");
        let numkeys = args
            .get(numkeys_idx)
            .ok_or(Error::Syntax)
            .and_then(|a| args::int(a).map_err(|_| bad_numkeys()))?;
        if numkeys < 1 {
            return Err(bad_numkeys());
        }
        let where_idx = (numkeys as u64)
            .checked_add(numkeys_idx as u64 + 1)
            .filter(|&w| w < args.len() as u64)
            .ok_or(Error::Syntax)? as usize;
        let end = End::parse(&args[where_idx])?;
        let mut count = None;
        let mut j = where_idx + 1;
        while j < args.len() {
            if count.is_none() && opt_is(&args[j], "count") && j + 1 < args.len() {
                j += 1;
                let bad = || Error::err("count should be greater than 0");
                let n = args::int(&args[j]).map_err(|_| bad())?;
                if n < 1 {
                    return Err(bad());
                }
                count = Some(n as u64);
            } else {
                return Err(Error::Syntax);
            }
            j += 1;
        }
        Ok(MPop {
            keys: args[numkeys_idx + 1..where_idx].to_vec(),
            end,
            count: count.unwrap_or(1),
        })
    }
}

/// LMPOP's core: pops from the first non-empty list of `keys` (missing keys are skipped;
/// WRONGTYPE stops at a key of another type). `None` when every key is missing.
pub(crate) fn mpop(
    ctx: &mut Ctx<'_>,
    db: u16,
    keys: &[Bytes],
    end: End,
    count: u64,
) -> Result<Option<(Bytes, Vec<Bytes>)>> {
    for key in keys {
        if let Some(values) = pop(ctx, db, key, end, count)? {
            if !values.is_empty() {
                return Ok(Some((key.clone(), values)));
            }
        }
    }
    Ok(None)
}

/// LMPOP's reply for a pop: `[key, [elements...]]`.
pub(crate) fn mpop_reply(key: Bytes, values: Vec<Bytes>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(key),
        Reply::Array(values.into_iter().map(Reply::Bulk).collect()),
    ])
}

// ---- pushes and pops ----------------------------------------------------------------------

fn push_cmd(ex: &mut Exec<'_, '_>, args: &[Bytes], end: End, only_existing: bool) -> Result<Reply> {
    let db = ex.db();
    let (key, elems) = (&args[1], &args[2..]);
    let len = if only_existing {
        match load(&mut ex.ctx, db, key)? {
            Some(list) => push_list(&mut ex.ctx, list, end, elems)?,
            None => 0,
        }
    } else {
        push(&mut ex.ctx, db, key, end, elems)?
    };
    Ok(Reply::Integer(len as i64))
}

fn lpush(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    push_cmd(ex, args, End::Left, false)
}

fn rpush(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    push_cmd(ex, args, End::Right, false)
}

fn lpushx(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    push_cmd(ex, args, End::Left, true)
}

fn rpushx(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    push_cmd(ex, args, End::Right, true)
}

/// `LPOP key [count]` / `RPOP key [count]`: the count is checked first, then the key.
fn pop_cmd(ex: &mut Exec<'_, '_>, args: &[Bytes], end: End, name: &str) -> Result<Reply> {
    if args.len() > 3 {
        return Err(Error::Arity(name.into()));
    }
    let count = match args.get(2) {
        Some(a) => {
            let bad = || Error::err("value is out of range, must be positive");
            let n = args::int(a).map_err(|_| bad())?;
            if n < 0 {
                return Err(bad());
            }
            Some(n as u64)
        }
        None => None,
    };
    let db = ex.db();
    let key = &args[1];
    if count == Some(0) {
        // Redis checks the key and its type, then answers an empty array.
        return Ok(match load(&mut ex.ctx, db, key)? {
            Some(_) => Reply::Array(Vec::new()),
            None => Reply::NilArray,
        });
    }
    let popped = pop(&mut ex.ctx, db, key, end, count.unwrap_or(1))?;
    Ok(match (popped, count) {
        (None, Some(_)) => Reply::NilArray,
        (None, None) => Reply::Nil,
        (Some(values), Some(_)) => Reply::Array(values.into_iter().map(Reply::Bulk).collect()),
        (Some(values), None) => Reply::opt_bulk(values.into_iter().next()),
    })
}

fn lpop(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    pop_cmd(ex, args, End::Left, "lpop")
}

fn rpop(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    pop_cmd(ex, args, End::Right, "rpop")
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
fn lmpop(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let m = MPop::parse(args, 1)?;
    let db = ex.db();
    Ok(match mpop(&mut ex.ctx, db, &m.keys, m.end, m.count)? {
        Some((key, values)) => mpop_reply(key, values),
        None => Reply::NilArray,
    })
}

/// LMOVE and RPOPLPUSH: `args[1]` is the source, `args[2]` the destination.
fn move_cmd(ex: &mut Exec<'_, '_>, args: &[Bytes], from: End, to: End) -> Result<Reply> {
    let db = ex.db();
    let value = move_one(&mut ex.ctx, db, &args[1], &args[2], from, to)?;
    Ok(Reply::opt_bulk(value))
}

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`.
fn lmove(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let from = End::parse(&args[3])?;
    let to = End::parse(&args[4])?;
    move_cmd(ex, args, from, to)
}

/// `RPOPLPUSH source destination` = `LMOVE source destination RIGHT LEFT`.
fn rpoplpush(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    move_cmd(ex, args, End::Right, End::Left)
}

// ---- reads --------------------------------------------------------------------------------

fn llen(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let meta = read_meta(ex, &args[1], Kind::List)?;
    Ok(Reply::Integer(meta.map_or(0, |m| m.count as i64)))
}

/// `LINDEX key index`: the key is looked up before the index is parsed, as Redis does.
fn lindex(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let key = &args[1];
    let Some(list) = load_read(ex, key)? else {
        return Ok(Reply::Nil);
    };
    let index = args::int(&args[2])?;
    let Some(i) = list.index(index) else {
        return Ok(Reply::Nil);
    };
    let k = list.key_at(list.pos(i));
    let value = ex.ctx.get_elem(ElemCf::Data, &k)?.ok_or_else(corrupt)?;
    Ok(Reply::Bulk(value))
}

/// Redis's range normalisation (LRANGE, LTRIM): `(start, n)` of the elements `start..=end`
/// names, with negative indexes from the tail; `n == 0` for an empty range.
fn range(start: i64, end: i64, len: u64) -> (u64, u64) {
    let len = len.min(i64::MAX as u64) as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut end = if end < 0 { end + len } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return (0, 0);
    }
    if end >= len {
        end = len - 1;
    }
    (start as u64, (end - start + 1) as u64)
}

/// `LRANGE key start stop`: the indexes are parsed before the key is looked up.
fn lrange(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let start = args::int(&args[2])?;
    let end = args::int(&args[3])?;
    let key = &args[1];
    let Some(list) = load_read(ex, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let (first, n) = range(start, end, list.len());
    let values = read_range(&ex.ctx, &list, first, n)?;
    Ok(Reply::Array(values.into_iter().map(Reply::Bulk).collect()))
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`: options are parsed
/// before the key is looked up.
struct LPos {
    key: Bytes,
    element: Bytes,
    rank: i64,
    count: Option<i64>,
    maxlen: i64,
}

impl LPos {
    fn parse(args: &[Bytes]) -> Result<LPos> {
        let mut p = LPos {
            key: args[1].clone(),
            element: args[2].clone(),
            rank: 1,
            count: None,
            maxlen: 0,
        };
        let non_negative = |arg: &[u8], msg: &'static str| -> Result<i64> {
            match args::int(arg) {
                Ok(n) if n >= 0 => Ok(n),
                _ => Err(Error::err(msg)),
            }
        };
        let mut j = 3;
        while j < args.len() {
            let more = j + 1 < args.len();
            if opt_is(&args[j], "rank") && more {
                j += 1;
                p.rank = args::int(&args[j])?;
                if p.rank == 0 {
                    return Err(Error::err(
                        "RANK can't be zero: use 1 to start from the first match, 2 from the \
                         second ... or use negative to start from the end of the list",
                    ));
                }
            } else if opt_is(&args[j], "count") && more {
                j += 1;
                p.count = Some(non_negative(&args[j], "COUNT can't be negative")?);
            } else if opt_is(&args[j], "maxlen") && more {
                j += 1;
                p.maxlen = non_negative(&args[j], "MAXLEN can't be negative")?;
            } else {
                return Err(Error::Syntax);
            }
            j += 1;
        }
        Ok(p)
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let Some(list) = load_read(ex, &self.key)? else {
            return Ok(match self.count {
                Some(_) => Reply::Array(Vec::new()),
                None => Reply::Nil,
            });
        };
        // As Redis: a negative rank searches from the tail (RANK i64::MIN wraps, as it does
        // in C, and then matches from the first match on).
        let (reverse, rank) = if self.rank < 0 {
            (true, self.rank.wrapping_neg())
        } else {
            (false, self.rank)
        };
        let limit = if self.maxlen == 0 {
            u64::MAX
        } else {
            self.maxlen as u64
        };
        let mut matches: i64 = 0;
        let mut found: Vec<Reply> = Vec::new();
        let mut first: Option<u64> = None;
        let count = self.count;
        let element = self.element;
        let visit = |i: u64, v: &[u8]| -> bool {
            if v != element.as_ref() {
                return true;
            }
            matches += 1;
            if matches < rank {
                return true;
            }
            match count {
                Some(c) => {
                    found.push(Reply::Integer(i as i64));
                    // Redis's `matches-rank+1 >= count` in C's wrapping arithmetic.
                    c == 0 || matches.wrapping_sub(rank).wrapping_add(1) < c
                }
                None => {
                    first = Some(i);
                    false
                }
            }
        };
        if reverse {
            walk_back(&ex.ctx, &list, limit, visit)?;
        } else {
            let n = list.len().min(limit);
            walk_from(&ex.ctx, &list, 0, n, visit)?;
        }
        Ok(match count {
            Some(_) => Reply::Array(found),
            None => first.map_or(Reply::Nil, |i| Reply::Integer(i as i64)),
        })
    }
}

fn lpos(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    LPos::parse(args)?.apply(ex)
}

// ---- writes in place ----------------------------------------------------------------------

/// `LSET key index element`: `ERR no such key` before the index is parsed, as Redis does.
fn lset(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let (key, value) = (&args[1], &args[3]);
    let db = ex.db();
    let Some(list) = load(&mut ex.ctx, db, key)? else {
        return Err(Error::NoSuchKey);
    };
    let index = args::int(&args[2])?;
    let i = list
        .index(index)
        .ok_or_else(|| Error::err("index out of range"))?;
    ex.ctx
        .put_elem(ElemCf::Data, list.key_at(list.pos(i)), value.clone());
    // The meta is unchanged: only WATCH needs to know.
    ex.ctx.touch(db, key);
    ex.ctx.notify(db, 'l', "lset", key);
    Ok(Reply::ok())
}

/// `LTRIM key start stop`.
fn ltrim(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let start = args::int(&args[2])?;
    let end = args::int(&args[3])?;
    let key = &args[1];
    let db = ex.db();
    let Some(mut list) = load(&mut ex.ctx, db, key)? else {
        return Ok(Reply::ok());
    };
    let len = list.len();
    let (first, kept) = range(start, end, len);
    let (left, right) = (first, len - first - kept);
    let ctx = &mut ex.ctx;
    if kept == 0 {
        list.meta.count = 0;
    } else if kept < left + right {
        // Fewer stay than go: write those under a new version.
        let values = read_range(ctx, &list, first, kept)?;
        rewrite(ctx, &mut list, &values)?;
    } else {
        for i in (0..left).chain(len - right..len) {
            ctx.delete_elem(ElemCf::Data, list.key_at(list.pos(i)));
        }
        list.head += left;
        list.meta.count = kept;
    }
    let gone = if left + right > 0 {
        list.store(ctx)?
    } else {
        ctx.touch(db, key);
        false
    };
    ctx.notify(db, 'l', "ltrim", key);
    if gone {
        ctx.notify(db, 'g', "del", key);
    }
    Ok(Reply::ok())
}

/// `LINSERT key BEFORE|AFTER pivot element`: the side of the insertion point with fewer
/// elements moves by one position.
fn linsert(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let after = if opt_is(&args[2], "after") {
        true
    } else if opt_is(&args[2], "before") {
        false
    } else {
        return Err(Error::Syntax);
    };
    let (key, pivot, value) = (&args[1], &args[3], &args[4]);
    let db = ex.db();
    let Some(mut list) = load(&mut ex.ctx, db, key)? else {
        return Ok(Reply::Integer(0));
    };
    let len = list.len();
    // The elements before the pivot are kept while they could be the side that moves.
    let half = len / 2 + 1;
    let mut arena = Arena::new();
    let mut before: Vec<Bytes> = Vec::new();
    let mut found = None;
    walk_from(&ex.ctx, &list, 0, len, |i, v| {
        if v == pivot.as_ref() {
            found = Some((i, arena.copy(v)));
            return false;
        }
        if i < half {
            before.push(arena.copy(v));
        }
        true
    })?;
    let Some((i, pivot_value)) = found else {
        return Ok(Reply::Integer(-1));
    };
    // The new element's index.
    let at = if after { i + 1 } else { i };
    let ctx = &mut ex.ctx;
    if at <= len - at {
        // Shift the `at` elements before it one position towards the head.
        before.truncate(at as usize);
        if after {
            before.push(pivot_value);
        }
        let new_head = list.head.checked_sub(1).ok_or_else(full)?;
        for (j, v) in before.into_iter().enumerate() {
            ctx.put_elem(ElemCf::Data, list.key_at(new_head + j as u64), v);
        }
        ctx.put_elem(ElemCf::Data, list.key_at(new_head + at), value.clone());
        list.head = new_head;
    } else {
        // Shift the elements from `at` on one position towards the tail.
        if list.head.checked_add(len + 1).is_none() {
            return Err(full());
        }
        let moved = read_range(ctx, &list, at, len - at)?;
        for (j, v) in moved.into_iter().enumerate() {
            let pos = list.pos(at + j as u64) + 1;
            ctx.put_elem(ElemCf::Data, list.key_at(pos), v);
        }
        ctx.put_elem(ElemCf::Data, list.key_at(list.pos(at)), value.clone());
    }
    list.meta.count += 1;
    let len = list.len();
    list.store(ctx)?;
    ctx.notify(db, 'l', "linsert", key);
    ctx.mark_ready(db, key);
    Ok(Reply::Integer(len as i64))
}

/// `LREM key count element`.
fn lrem(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let count = args::int(&args[2])?;
    let (key, element) = (&args[1], &args[3]);
    let db = ex.db();
    let Some(mut list) = load(&mut ex.ctx, db, key)? else {
        return Ok(Reply::Integer(0));
    };
    let wanted = if count == 0 {
        u64::MAX
    } else {
        count.unsigned_abs()
    };
    let mut hits: Vec<u64> = Vec::new();
    let visit = |i: u64, v: &[u8]| {
        if v == element.as_ref() {
            hits.push(i);
        }
        (hits.len() as u64) < wanted
    };
    if count < 0 {
        walk_back(&ex.ctx, &list, u64::MAX, visit)?;
        hits.reverse();
    } else {
        walk_from(&ex.ctx, &list, 0, list.len(), visit)?;
    }
    if hits.is_empty() {
        return Ok(Reply::Integer(0));
    }
    remove_indexes(&mut ex.ctx, &mut list, &hits)?;
    let gone = list.store(&mut ex.ctx)?;
    ex.ctx.notify(db, 'l', "lrem", key);
    if gone {
        ex.ctx.notify(db, 'g', "del", key);
    }
    Ok(Reply::Integer(hits.len() as i64))
}

/// Removes the elements at `hits` (ascending, not empty) and closes the gaps, choosing the
/// cheapest of: moving the elements before the last hit towards the tail, moving those after
/// the first hit towards the head, or writing the survivors under a new version.
fn remove_indexes(ctx: &mut Ctx<'_>, list: &mut List<'_>, hits: &[u64]) -> Result<()> {
    let len = list.len();
    let k = hits.len() as u64;
    if k == len {
        list.meta.count = 0;
        return Ok(());
    }
    let (first, last) = (hits[0], hits[hits.len() - 1]);
    let left_cost = last + 1;
    let right_cost = len - first;
    let survivors = len - k;
    let keep = |start: u64, values: Vec<Bytes>| -> Vec<Bytes> {
        let mut h = hits.iter().peekable();
        values
            .into_iter()
            .enumerate()
            .filter(|(j, _)| {
                let i = start + *j as u64;
                while h.next_if(|&&x| x < i).is_some() {}
                h.next_if(|&&x| x == i).is_none()
            })
            .map(|(_, v)| v)
            .collect()
    };
    if survivors < left_cost.min(right_cost) {
        let all = read_range(ctx, list, 0, len)?;
        let kept = keep(0, all);
        return rewrite(ctx, list, &kept);
    }
    if left_cost <= right_cost {
        // Indexes 0..=last: the survivors end at `last`'s position; the first k go.
        let values = read_range(ctx, list, 0, last + 1)?;
        let kept = keep(0, values);
        let new_head = list.head + k;
        for (j, v) in kept.into_iter().enumerate() {
            ctx.put_elem(ElemCf::Data, list.key_at(new_head + j as u64), v);
        }
        for i in 0..k {
            ctx.delete_elem(ElemCf::Data, list.key_at(list.pos(i)));
        }
        list.head = new_head;
    } else {
        // Indexes first..len: the survivors start at `first`'s position; the last k go.
        let values = read_range(ctx, list, first, len - first)?;
        let kept = keep(first, values);
        for (j, v) in kept.into_iter().enumerate() {
            let pos = list.pos(first + j as u64);
            ctx.put_elem(ElemCf::Data, list.key_at(pos), v);
        }
        for i in len - k..len {
            ctx.delete_elem(ElemCf::Data, list.key_at(list.pos(i)));
        }
    }
    list.meta.count = len - k;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::context::Effects;
    use crate::storage::version::now_millis;
    use crate::storage::{Store, StoreOptions, CF_DATA};

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn events(e: &Effects) -> Vec<(char, &'static str, String)> {
        e.events
            .iter()
            .map(|e| {
                (
                    e.class,
                    e.event,
                    String::from_utf8_lossy(&e.key).into_owned(),
                )
            })
            .collect()
    }

    fn all(store: &Store, key: &[u8]) -> Vec<Bytes> {
        let mut ctx = Ctx::new(store, now_millis(), true);
        let Some(list) = load(&mut ctx, 0, key).expect("load") else {
            return Vec::new();
        };
        read_range(&ctx, &list, 0, list.len()).expect("read")
    }

    #[test]
    fn positions_grow_from_the_middle_and_the_head_is_the_payload() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path(), &StoreOptions::default()).expect("open");
        let mut ctx = Ctx::new(&store, now_millis(), true);
        assert_eq!(
            push(&mut ctx, 0, b"l", End::Right, &[b("b"), b("c")]).unwrap(),
            2
        );
        assert_eq!(push(&mut ctx, 0, b"l", End::Left, &[b("a")]).unwrap(), 3);
        let meta = ctx.meta(0, b"l").unwrap().unwrap();
        assert_eq!(meta.count, 3);
        assert_eq!(meta.payload.as_ref(), &(INITIAL_HEAD - 1).to_be_bytes());
        let k = data_key_at(&meta, INITIAL_HEAD + 1);
        assert_eq!(ctx.get_elem(ElemCf::Data, &k).unwrap(), Some(b("c")));
        ctx.commit().unwrap();
        assert_eq!(all(&store, b"l"), vec![b("a"), b("b"), b("c")]);
    }

    fn data_key_at(meta: &Meta, pos: u64) -> Vec<u8> {
        elem_key(0, b"l", meta, &pos.to_be_bytes())
    }

    #[test]
    fn cores_emit_redis_events_in_order_and_mark_ready() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path(), &StoreOptions::default()).expect("open");
        let mut ctx = Ctx::new(&store, now_millis(), true);
        push(&mut ctx, 0, b"src", End::Right, &[b("x")]).unwrap();
        assert_eq!(
            move_one(&mut ctx, 0, b"src", b"dst", End::Left, End::Right).unwrap(),
            Some(b("x"))
        );
        // A rotation of a one-element list keeps it (no `del`).
        assert_eq!(
            move_one(&mut ctx, 0, b"dst", b"dst", End::Right, End::Left).unwrap(),
            Some(b("x"))
        );
        assert_eq!(
            pop(&mut ctx, 0, b"dst", End::Left, 5).unwrap(),
            Some(vec![b("x")])
        );
        assert_eq!(pop(&mut ctx, 0, b"dst", End::Left, 1).unwrap(), None);
        assert_eq!(
            move_one(&mut ctx, 0, b"src", b"dst", End::Left, End::Left).unwrap(),
            None
        );
        let effects = ctx.commit().unwrap();
        let ev = |c, e: &'static str, k: &str| (c, e, k.to_string());
        assert_eq!(
            events(&effects),
            vec![
                // `new` (Ctx::put_meta) before the event of the push that created the key.
                ev('n', "new", "src"),
                ev('l', "rpush", "src"),
                ev('n', "new", "dst"),
                ev('l', "rpush", "dst"),
                ev('l', "lpop", "src"),
                ev('g', "del", "src"),
                ev('l', "lpush", "dst"),
                ev('l', "rpop", "dst"),
                ev('l', "lpop", "dst"),
                ev('g', "del", "dst"),
            ]
        );
        let ready: Vec<&[u8]> = effects.ready.iter().map(|(_, k)| k.as_ref()).collect();
        // Every non-empty list meta written marks its key (Ctx::put_meta), consecutive
        // repeats once.
        assert_eq!(ready, vec![&b"src"[..], b"dst"]);
        assert_eq!(
            store.count_entries(CF_DATA),
            0,
            "nothing left but tombstones"
        );
    }

    #[test]
    fn wrong_type_is_reported_before_anything_moves() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path(), &StoreOptions::default()).expect("open");
        let mut ctx = Ctx::new(&store, now_millis(), true);
        push(&mut ctx, 0, b"l", End::Right, &[b("a")]).unwrap();
        ctx.set_string(0, b"s", b("v"), 0);
        assert!(matches!(
            move_one(&mut ctx, 0, b"l", b"s", End::Left, End::Left),
            Err(Error::WrongType)
        ));
        assert!(matches!(
            pop(&mut ctx, 0, b"s", End::Left, 1),
            Err(Error::WrongType)
        ));
        assert!(matches!(
            push(&mut ctx, 0, b"s", End::Left, &[b("x")]),
            Err(Error::WrongType)
        ));
        ctx.commit().unwrap();
        assert_eq!(all(&store, b"l"), vec![b("a")]);
    }

    #[test]
    fn mpop_arguments_parse_as_redis_does() {
        let a = |s: &str| -> Vec<Bytes> { s.split(' ').map(b).collect() };
        let m = MPop::parse(&a("LMPOP 2 k1 k2 right COUNT 3"), 1).unwrap();
        assert_eq!(m.keys, vec![b("k1"), b("k2")]);
        assert_eq!((m.end, m.count), (End::Right, 3));
        let m = MPop::parse(&a("BLMPOP 0 1 k LEFT"), 2).unwrap();
        assert_eq!((m.keys.len(), m.end, m.count), (1, End::Left, 1));
        let err = |s: &str| MPop::parse(&a(s), 1).unwrap_err().to_string();
        assert_eq!(
            err("LMPOP 0 k left"),
            "ERR numkeys should be greater than 0"
        );
        assert_eq!(
            err("LMPOP x k left"),
            "ERR numkeys should be greater than 0"
        );
        assert_eq!(err("LMPOP 2 k left"), "ERR syntax error");
        assert_eq!(err("LMPOP 9223372036854775807 k left"), "ERR syntax error");
        assert_eq!(err("LMPOP 1 k up"), "ERR syntax error");
        assert_eq!(
            err("LMPOP 1 k left COUNT 0"),
            "ERR count should be greater than 0"
        );
        assert_eq!(err("LMPOP 1 k left COUNT 1 COUNT 2"), "ERR syntax error");
        assert_eq!(err("LMPOP 1 k left COUNT"), "ERR syntax error");
        assert!(End::parse(b"Left").is_ok() && End::parse(b"rIGHT").is_ok());
    }

    /// A 10 000-element list deleted with one meta write leaves no data entries after a
    /// compaction; so do the entries an LTRIM rewrite left under the old version.
    #[test]
    fn deleted_big_list_is_reclaimed_by_compaction() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path(), &StoreOptions::default()).expect("open");
        let values: Vec<Bytes> = (0..10_000).map(|i| Bytes::from(format!("v{i}"))).collect();
        for key in [&b"big"[..], b"kept"] {
            let mut ctx = Ctx::new(&store, now_millis(), true);
            push(&mut ctx, 0, key, End::Right, &values).unwrap();
            ctx.commit().unwrap();
        }
        store.db().flush_cf(store.cf(CF_DATA)).expect("flush");
        assert_eq!(store.count_entries(CF_DATA), 20_000);
        let mut ctx = Ctx::new(&store, now_millis(), true);
        assert!(ctx.delete(0, b"big").unwrap());
        ctx.commit().unwrap();
        assert_eq!(
            store.count_entries(CF_DATA),
            20_000,
            "DEL wrote the meta entry only"
        );
        store.compact_all();
        assert_eq!(
            store.count_entries(CF_DATA),
            10_000,
            "compaction dropped every orphan"
        );
        assert_eq!(all(&store, b"kept").len(), 10_000);
    }
}
