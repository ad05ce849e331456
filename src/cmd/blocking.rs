//! Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP) and
//! the serving of their waiters, with Redis 7.0's semantics and replies (`t_list.c`,
//! `t_zset.c`, `blocked.c`).
//!
//! An executor never waits (DESIGN.md §1). A blocking command that finds data runs like its
//! non-blocking form. One that finds all its keys empty registers a waiter in the registry
//! ([`crate::waiters`]) while it still holds the keys' locks, replies nothing, and ends its
//! batch with [`Flow::Block`]: the connection writes the earlier replies and waits, reading its
//! socket, until the waiter is served or its timeout passes (then `cancel_block` withdraws it
//! and the client gets nil). Inside EXEC nothing blocks: empty keys answer nil.
//!
//! Serving: every commit reports the keys it left non-empty (`Effects::ready`);
//! `Shared::after_commit` keeps those some client waits on, and the executor serves them
//! ([`serve_pending`]) as soon as it holds no locks — after the command, the group or the
//! EXEC that made them ready, before anything else of its batch runs and before any reply of
//! the batch leaves. Serving locks the key (and BLMOVE destinations), pops for the waiters in
//! FIFO order while the list has elements, commits once, then delivers each served client's
//! reply through its connection's handle. A served BLMOVE's push makes its destination ready
//! in turn, which is served the same way.

use super::lists::{self, End, MPop};
use super::zsets;
use super::{flags::*, spec, CommandSpec, Exec, KeySpec};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::shared::Shared;
use crate::storage::context::Ctx;
use crate::storage::encoding::Kind;
use crate::storage::locks::LockPlan;
use crate::waiters::Waiter;
use bytes::Bytes;
use std::cell::RefCell;
use std::collections::VecDeque;
use talus_actors::Flow;

/// BLPOP and BRPOP: the keys run to the last argument, the timeout.
const POP_KEYS: KeySpec = KeySpec {
    first: 1,
    last: -2,
    step: 1,
};

/// BLMPOP's keys follow `numkeys`: every argument from 3 is locked (over-locks harmlessly,
/// as LMPOP does).
const MPOP_KEYS: KeySpec = KeySpec {
    first: 3,
    last: -1,
    step: 1,
};

/// The blocking commands (flags, arity and key positions as Redis 7.0's COMMAND reports,
/// except BLMPOP's and BZMPOP's keys, see [`MPOP_KEYS`]).
pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "blpop",
        -3,
        WRITE | BLOCKING,
        POP_KEYS,
        super::Locking::Keys,
        blpop,
    ),
    spec(
        "brpop",
        -3,
        WRITE | BLOCKING,
        POP_KEYS,
        super::Locking::Keys,
        brpop,
    ),
    spec(
        "blmove",
        6,
        WRITE | DENYOOM | BLOCKING,
        KeySpec::TWO,
        super::Locking::Keys,
        blmove,
    ),
    spec(
        "brpoplpush",
        4,
        WRITE | DENYOOM | BLOCKING,
        KeySpec::TWO,
        super::Locking::Keys,
        brpoplpush,
    ),
    spec(
        "blmpop",
        -5,
        WRITE | BLOCKING | MOVABLEKEYS,
        MPOP_KEYS,
        super::Locking::Keys,
        blmpop,
    ),
    spec(
        "bzpopmin",
        -3,
        WRITE | FAST | BLOCKING,
        POP_KEYS,
        super::Locking::Keys,
        bzpopmin,
    ),
    spec(
        "bzpopmax",
        -3,
        WRITE | FAST | BLOCKING,
        POP_KEYS,
        super::Locking::Keys,
        bzpopmax,
    ),
    spec(
        "bzmpop",
        -5,
        WRITE | BLOCKING | MOVABLEKEYS,
        MPOP_KEYS,
        super::Locking::Keys,
        bzmpop,
    ),
];

/// What serving a waiter does to the key that became ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlockedOp {
    /// BLPOP / BRPOP: pop one element; reply `[key, element]`.
    Pop(End),
    /// BLMPOP: pop up to `count` elements; reply `[key, [elements]]`.
    MPop(End, u64),
    /// BLMOVE / BRPOPLPUSH: pop one element and push it to `dst`; reply the element.
    Move {
        /// Where to pop.
        from: End,
        /// The destination list.
        dst: Bytes,
        /// Where to push.
        to: End,
    },
    /// BZPOPMIN / BZPOPMAX: pop the lowest (highest) member; reply `[key, member, score]`.
    ZPop {
        /// BZPOPMAX.
        max: bool,
    },
    /// BZMPOP: pop up to `count` members; reply `[key, [[member, score], ...]]`.
    ZMPop {
        /// MAX.
        max: bool,
        /// How many at most.
        count: u64,
    },
}

impl BlockedOp {
    /// The type of key that can serve this waiter.
    fn kind(&self) -> Kind {
        match self {
            BlockedOp::ZPop { .. } | BlockedOp::ZMPop { .. } => Kind::ZSet,
            _ => Kind::List,
        }
    }

    /// The other key serving it writes (BLMOVE's destination).
    fn dst(&self) -> Option<&Bytes> {
        match self {
            BlockedOp::Move { dst, .. } => Some(dst),
            _ => None,
        }
    }
}

// ---- the commands --------------------------------------------------------------------------

/// A blocking timeout, as Redis 7.0 parses it (`getTimeoutFromObjectOrReply`, seconds):
/// a float (`ERR timeout is not a float or out of range`), converted to whole milliseconds,
/// not negative (`ERR timeout is negative`), 0 = forever.
pub fn timeout_ms(arg: &[u8]) -> Result<u64> {
    let not_float = || Error::err("timeout is not a float or out of range");
    let text = std::str::from_utf8(arg).map_err(|_| not_float())?;
    // strtold's syntax: no leading space (Redis rejects it), no trailing garbage.
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Err(not_float());
    }
    let secs: f64 = text.parse().map_err(|_| not_float())?;
    if secs.is_nan() {
        return Err(not_float());
    }
    // Rounded up to whole milliseconds (0.0001 waits 1 ms; -0.0001 is -0, i.e. forever).
    let ms = (secs * 1000.0).ceil();
    // Redis converts with a C cast: out-of-range values (±inf, huge) become LLONG_MIN on
    // x86-64, which it then reports as negative.
    if ms < 0.0 || ms >= i64::MAX as f64 {
        return Err(Error::err("timeout is negative"));
    }
    Ok(ms as u64)
}

/// BLPOP key [key ...] timeout
fn blpop(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    bpop(ex, args, End::Left)
}

/// BRPOP key [key ...] timeout
fn brpop(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    bpop(ex, args, End::Right)
}

fn bpop(ex: &mut Exec<'_, '_>, args: &[Bytes], end: End) -> Result<Reply> {
    let timeout = timeout_ms(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    let db = ex.db();
    for key in keys {
        if let Some(reply) = serve_op(&mut ex.ctx, db, key, &BlockedOp::Pop(end))? {
            return Ok(reply);
        }
    }
    let nil = Reply::NilArray;
    block(ex, keys, BlockedOp::Pop(end), timeout, nil.clone(), nil)
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let from = End::parse(&args[3])?;
    let to = End::parse(&args[4])?;
    let timeout = timeout_ms(&args[5])?;
    bmove(ex, &args[1], &args[2], from, to, timeout)
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let timeout = timeout_ms(&args[3])?;
    bmove(ex, &args[1], &args[2], End::Right, End::Left, timeout)
}

fn bmove(
    ex: &mut Exec<'_, '_>,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
    timeout: u64,
) -> Result<Reply> {
    let op = BlockedOp::Move {
        from,
        dst: dst.clone(),
        to,
    };
    let db = ex.db();
    // An empty source blocks whatever the destination holds (Redis checks it when it moves).
    if let Some(reply) = serve_op(&mut ex.ctx, db, src, &op)? {
        return Ok(reply);
    }
    // Redis 7.0 answers nil in EXEC but a nil *array* on timeout.
    block(
        ex,
        std::slice::from_ref(src),
        op,
        timeout,
        Reply::Nil,
        Reply::NilArray,
    )
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let MPop { keys, end, count } = MPop::parse(args, 2)?;
    let timeout = timeout_ms(&args[1])?;
    let db = ex.db();
    let op = BlockedOp::MPop(end, count);
    for key in &keys {
        if let Some(reply) = serve_op(&mut ex.ctx, db, key, &op)? {
            return Ok(reply);
        }
    }
    let nil = Reply::NilArray;
    block(ex, &keys, op, timeout, nil.clone(), nil)
}

/// BZPOPMIN key [key ...] timeout
fn bzpopmin(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    bzpop(ex, args, false)
}

/// BZPOPMAX key [key ...] timeout
fn bzpopmax(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    bzpop(ex, args, true)
}

fn bzpop(ex: &mut Exec<'_, '_>, args: &[Bytes], max: bool) -> Result<Reply> {
    let timeout = timeout_ms(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    let db = ex.db();
    let op = BlockedOp::ZPop { max };
    for key in keys {
        if let Some(reply) = serve_op(&mut ex.ctx, db, key, &op)? {
            return Ok(reply);
        }
    }
    let nil = Reply::NilArray;
    block(ex, keys, op, timeout, nil.clone(), nil)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let zsets::MPop { keys, max, count } = zsets::MPop::parse(args, 2)?;
    let timeout = timeout_ms(&args[1])?;
    let db = ex.db();
    let op = BlockedOp::ZMPop { max, count };
    for key in &keys {
        if let Some(reply) = serve_op(&mut ex.ctx, db, key, &op)? {
            return Ok(reply);
        }
    }
    let nil = Reply::NilArray;
    block(ex, &keys, op, timeout, nil.clone(), nil)
}

/// Registers the client as a waiter on `keys` (their locks are held) and ends its batch; in
/// EXEC answers `in_exec` at once. `on_timeout` is the reply if the timeout passes.
fn block(
    ex: &mut Exec<'_, '_>,
    keys: &[Bytes],
    op: BlockedOp,
    timeout_ms: u64,
    in_exec: Reply,
    on_timeout: Reply,
) -> Result<Reply> {
    if ex.session.in_exec {
        return Ok(in_exec);
    }
    let id = ex.shared.waiters.register(Waiter {
        db: ex.db(),
        keys: keys.to_vec(),
        op,
        resp: ex.session.resp,
        client: ex.session.client.clone(),
        timeout_reply: on_timeout,
        silent: ex.session.reply != crate::session::ReplyMode::On,
    });
    ex.session.blocked = Some(id);
    ex.flow = Flow::Block {
        timeout_ms,
        done: 0,
    };
    Ok(Reply::NoReply)
}

/// Does `op` on `key` if it is a non-empty list (sorted set for the Z ops): the reply for the
/// client, or `None` when the key is missing or empty (WRONGTYPE for another type).
fn serve_op(ctx: &mut Ctx<'_>, db: u16, key: &Bytes, op: &BlockedOp) -> Result<Option<Reply>> {
    Ok(match op {
        BlockedOp::Pop(end) => lists::pop(ctx, db, key, *end, 1)?
            .and_then(|v| v.into_iter().next())
            .map(|e| Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(e)])),
        BlockedOp::MPop(end, count) => lists::pop(ctx, db, key, *end, *count)?
            .filter(|v| !v.is_empty())
            .map(|v| lists::mpop_reply(key.clone(), v)),
        BlockedOp::Move { from, dst, to } => {
            lists::move_one(ctx, db, key, dst, *from, *to)?.map(Reply::Bulk)
        }
        BlockedOp::ZPop { max } => zsets::pop(ctx, db, key, *max, 1)?
            .and_then(|v| v.into_iter().next())
            .map(|(member, score)| {
                Reply::Array(vec![
                    Reply::Bulk(key.clone()),
                    Reply::Bulk(member),
                    Reply::Double(score),
                ])
            }),
        BlockedOp::ZMPop { max, count } => zsets::pop(ctx, db, key, *max, *count)?
            .filter(|v| !v.is_empty())
            .map(|v| zsets::mpop_reply(key.clone(), v)),
    })
}

// ---- serving -------------------------------------------------------------------------------

thread_local! {
    /// Keys this executor thread's commits left ready, some client waiting on each, not yet
    /// served (filled by `Shared::after_commit`, drained by [`serve_pending`]).
    static READY: RefCell<Vec<(u16, Bytes)>> = const { RefCell::new(Vec::new()) };
}

/// Notes keys a commit left ready that some client waits on (called by
/// `Shared::after_commit`, locks still held).
pub fn note_ready(shared: &Shared, ready: Vec<(u16, Bytes)>) {
    if shared.waiters.blocked_clients() == 0 {
        return;
    }
    let waited: Vec<_> = ready
        .into_iter()
        .filter(|(db, key)| shared.waiters.is_waited(*db, key))
        .collect();
    if !waited.is_empty() {
        READY.with(|r| r.borrow_mut().extend(waited));
    }
}

/// Serves the waiters of every key noted ready on this thread. Call it holding no locks.
pub fn serve_pending(shared: &Shared) {
    let mut queue: VecDeque<(u16, Bytes)> = READY.with(|r| r.take().into());
    while let Some((db, key)) = queue.pop_front() {
        // A key noted twice is served once (the first pass empties it or its queue).
        queue.retain(|k| k.0 != db || k.1 != key);
        serve_key(shared, db, &key);
        // Keys the serving made ready (a BLMOVE's destination).
        queue.extend(READY.with(|r| r.take()));
    }
}

/// Serves the waiters of `key`, FIFO, while it has elements.
fn serve_key(shared: &Shared, db: u16, key: &Bytes) {
    let mut plan = plan_for(shared, db, key);
    let guard = loop {
        let mut guard = shared.locks.lock(&plan);
        // Waiters that arrived while we waited for the lock may move elsewhere too.
        let now = plan_for(shared, db, key);
        if shared.locks.try_extend(&mut guard, &now) {
            break guard;
        }
        drop(guard);
        plan = now;
    };
    let mut ctx = Ctx::new(&shared.store, crate::storage::version::now_millis(), true);
    shared.set_tracking(&mut ctx);
    let mut served: Vec<(Waiter, Reply)> = Vec::new();
    for (id, op) in shared.waiters.queue(db, key) {
        match ctx.meta(db, key) {
            Ok(Some(m)) if m.count > 0 => {
                if m.kind != op.kind() {
                    // Waits for another type: stays blocked (as in Redis).
                    continue;
                }
            }
            _ => break,
        }
        let Some(waiter) = shared.waiters.remove(id) else {
            continue; // timed out or gone meanwhile
        };
        let sp = ctx.savepoint();
        let reply = match serve_op(&mut ctx, db, key, &op) {
            Ok(Some(reply)) => reply,
            Ok(None) => {
                // Cannot happen (the key is a non-empty list): answer as a timeout would.
                ctx.rollback_to(sp);
                waiter.timeout_reply.clone()
            }
            Err(e) => {
                // e.g. BLMOVE onto a key of another type: the client gets the error.
                ctx.rollback_to(sp);
                e.into()
            }
        };
        served.push((waiter, reply));
    }
    let failed = match ctx.commit() {
        Ok(effects) => {
            shared.after_commit(effects);
            None
        }
        Err(e) => Some(e.to_string()),
    };
    drop(guard);
    for (waiter, reply) in served {
        let reply = match &failed {
            Some(text) => Reply::error(text.clone()),
            None => reply,
        };
        waiter.client.unblock(waiter.encode(reply));
    }
}

/// The locks serving `key` needs: the key and the destinations of its waiters.
fn plan_for(shared: &Shared, db: u16, key: &Bytes) -> LockPlan {
    let mut plan = LockPlan::none();
    plan.db_shared(db).key(&shared.locks, key);
    for (_, op) in shared.waiters.queue(db, key) {
        if let Some(dst) = op.dst() {
            plan.key(&shared.locks, dst);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_as_redis_does() {
        assert_eq!(timeout_ms(b"0").unwrap(), 0);
        assert_eq!(timeout_ms(b"1").unwrap(), 1000);
        assert_eq!(timeout_ms(b"0.1").unwrap(), 100);
        assert_eq!(timeout_ms(b"1.5e1").unwrap(), 15000);
        assert_eq!(timeout_ms(b"0.0001").unwrap(), 1);
        assert_eq!(timeout_ms(b"-0").unwrap(), 0);
        for huge in [&b"inf"[..], b"1e20", b"9.3e15"] {
            assert_eq!(
                timeout_ms(huge).unwrap_err().to_string(),
                "ERR timeout is negative"
            );
        }
        // Huge but in range: Redis 7.0.15 waits (no "out of range" check there).
        assert_eq!(timeout_ms(b"9e15").unwrap(), 9_000_000_000_000_000_000);
        let not_float = "ERR timeout is not a float or out of range";
        for bad in [&b"abc"[..], b"", b" 1", b"1 ", b"nan", b"1x"] {
            assert_eq!(
                timeout_ms(bad).unwrap_err().to_string(),
                not_float,
                "{bad:?}"
            );
        }
        assert_eq!(
            timeout_ms(b"-1").unwrap_err().to_string(),
            "ERR timeout is negative"
        );
    }

    #[test]
    fn ops_serve_lists_and_name_their_destination() {
        let op = BlockedOp::Move {
            from: End::Left,
            dst: Bytes::from_static(b"d"),
            to: End::Right,
        };
        assert_eq!(op.dst(), Some(&Bytes::from_static(b"d")));
        assert_eq!(BlockedOp::Pop(End::Left).dst(), None);
        assert_eq!(op.kind(), Kind::List);
    }
}
