//! Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH, with Redis 7.0's semantics and texts.
//!
//! - After MULTI, every command is checked and queued in the session instead of running
//!   ([`queue`], called by `execute_batch`; a whole transaction's batch, already resolved, goes
//!   through [`queue_resolved`]): an unknown command, a wrong arity, a missing AUTH
//!   or a `no-multi` command is answered with its error at once and makes EXEC answer
//!   `EXECABORT`; the others answer `+QUEUED`. EXEC, DISCARD, MULTI, WATCH and QUIT run at once
//!   (nested MULTI and WATCH inside MULTI are refused without aborting, as in Redis).
//! - EXEC's locks ([`exec_plan`], which the dispatcher takes for it: `Locking::Queued`) are the
//!   union of the queued commands' locks: each command's key stripes (reads included) with its
//!   database shared, the database exclusive for FLUSHDB and for keyless reads (DBSIZE, KEYS,
//!   SCAN, RANDOMKEY), every database for FLUSHALL. The database of each command is the one it
//!   will run in (a queued SELECT moves the following commands). They also cover the WATCHed
//!   keys' stripes; EXEC checks the WATCH state under them (see [`crate::watch`]), so no writer
//!   of a watched key can slip between that check and the run. Then it runs every queued
//!   command in EXEC's own storage context, each with a savepoint (a command that fails at run
//!   time, e.g. WRONGTYPE, is rolled back alone and the others run), and that context commits
//!   once: one RocksDB write batch, so a crash leaves all of the transaction or nothing, and no
//!   other client sees a part of it. Later commands see the earlier ones' writes (the context's
//!   overlay). A whole transaction sent in one batch by a client that watches nothing may run
//!   as a member of a group of key commands (`exec::execute_group`): the group holds the same
//!   locks and its commit is the same single write batch.
//! - FLUSHDB/FLUSHALL inside EXEC are range deletes in that same batch.
//! - A client that disconnects inside MULTI leaves nothing: the queue lives in its session, and
//!   closing the session drops its watches. While EXEC runs, `Session::in_exec` is set: blocking
//!   commands must answer at once there (nil on empty keys), as in Redis.

use super::{args, flags::*, lock_plan, resolve, spec, CommandSpec, Exec, KeySpec, Locking};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::session::Session;
use crate::shared::Shared;
use crate::storage::context::Ctx;
use crate::storage::locks::LockPlan;
use crate::watch::Watches;
use bytes::Bytes;

/// Flags of the transaction commands, as Redis 7.0's COMMAND reports them.
const TXN: u32 = NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY;

/// The transaction commands.
pub static COMMANDS: &[CommandSpec] = &[
    spec("multi", 1, TXN, KeySpec::NONE, Locking::None, multi),
    spec(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        KeySpec::NONE,
        Locking::Queued,
        exec,
    ),
    spec("discard", 1, TXN, KeySpec::NONE, Locking::None, discard),
    // WATCH locks its keys: whether a key is live and its registration are one step for the
    // key's writers, so EXEC's expiry check starts from a true picture.
    spec("watch", -2, TXN, KeySpec::ALL, Locking::Keys, watch),
    spec("unwatch", 1, TXN, KeySpec::NONE, Locking::None, unwatch),
];

/// Commands that run at once inside MULTI instead of being queued.
pub(super) const RUN_NOW: &[&str] = &["exec", "discard", "multi", "watch", "quit", "reset"];

const EXECABORT: Error = Error::raw("EXECABORT Transaction discarded because of previous errors.");

/// A transaction being queued (between MULTI and EXEC/DISCARD).
#[derive(Default)]
pub struct Multi {
    queue: Vec<Queued>,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    failed: bool,
}

impl Multi {
    /// Commands queued so far (CLIENT LIST `multi`).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// True when a queued command writes or may replicate (CLIENT PAUSE WRITE holds EXEC).
    pub fn writes(&self) -> bool {
        self.queue
            .iter()
            .any(|q| q.spec.flags & (WRITE | MAY_REPLICATE) != 0)
    }
}

/// A queued command, already resolved and checked.
struct Queued {
    spec: &'static CommandSpec,
    args: talus_actors::Args,
}

impl std::fmt::Debug for Multi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multi")
            .field("queued", &self.queue.len())
            .field("failed", &self.failed)
            .finish()
    }
}

/// Handles `args` for a session inside MULTI: `Some(reply)` when it was queued or refused,
/// `None` when it runs now (EXEC, DISCARD, MULTI, WATCH, QUIT).
pub fn queue(shared: &Shared, session: &mut Session, args: &[Bytes]) -> Option<Reply> {
    match resolve(&shared.commands, args) {
        Ok(spec) => queue_resolved(shared, session, spec, args),
        // An arity error counts against the (known) command, as in Redis.
        Err(e) => Some(refuse(shared, session, shared.commands.named(args), e)),
    }
}

/// [`queue`] for a command already resolved to `spec` (a whole transaction's batch has been).
pub(crate) fn queue_resolved(
    shared: &Shared,
    session: &mut Session,
    spec: &'static CommandSpec,
    args: &[Bytes],
) -> Option<Reply> {
    if RUN_NOW.contains(&spec.name) {
        return None;
    }
    session.last_cmd = spec.name;
    // Redis's order: NOAUTH, then no-multi.
    if spec.flags & NO_AUTH == 0 && shared.config.auth_required(session.authenticated) {
        let e = Error::raw("NOAUTH Authentication required.");
        return Some(refuse(shared, session, Some(spec), e));
    }
    if spec.flags & NO_MULTI != 0 {
        let e = Error::err("Command not allowed inside a transaction");
        return Some(refuse(shared, session, Some(spec), e));
    }
    let multi = session.multi.as_mut()?;
    multi.queue.push(Queued {
        spec,
        args: args.iter().cloned().collect(),
    });
    Some(Reply::simple("QUEUED"))
}

/// Answers a command refused while queueing and dooms the transaction.
fn refuse(
    shared: &Shared,
    session: &mut Session,
    spec: Option<&'static CommandSpec>,
    e: Error,
) -> Reply {
    shared.stats.commands_processed();
    if let Some(m) = session.multi.as_mut() {
        m.failed = true;
    }
    super::exec::rejected(shared, spec, e.to_string())
}

/// `MULTI`.
fn multi(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    if ex.session.multi.is_some() {
        return Err(Error::err("MULTI calls can not be nested"));
    }
    // Room for 16 commands up front: one allocation where growing from empty would take
    // three (4, 8, 16 entries) for a ten-command transaction.
    ex.session.multi = Some(Multi {
        queue: Vec::with_capacity(16),
        failed: false,
    });
    Ok(Reply::ok())
}

/// `DISCARD`: drops the queue and the watches.
fn discard(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    if ex.session.multi.take().is_none() {
        return Err(Error::err("DISCARD without MULTI"));
    }
    ex.shared.watches.unwatch(&mut ex.session.watches);
    Ok(Reply::ok())
}

/// `UNWATCH` (queued inside MULTI, where EXEC has already let the watches go: a no-op).
fn unwatch(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    ex.shared.watches.unwatch(&mut ex.session.watches);
    Ok(Reply::ok())
}

/// `WATCH key [key ...]`, under the keys' locks.
fn watch(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    if ex.session.multi.is_some() {
        return Err(Error::err("WATCH inside MULTI is not allowed"));
    }
    let db = ex.db();
    // A key that has already expired is deleted here, as any writer's lookup does, but without
    // marking its watchers: it was already gone for them (a watcher that saw it live learns of
    // its expiry at EXEC), and a watcher must not see its own WATCH as a change.
    let (touched, events) = ex.ctx.tracking();
    ex.ctx.set_tracking(false, events);
    let mut result = Ok(());
    for key in &args[1..] {
        match ex.ctx.meta(db, key) {
            Ok(meta) => ex
                .shared
                .watches
                .watch(&mut ex.session.watches, db, key, meta.is_some()),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    // From now on this context's writes must reach the watchers (a pipelined group may run
    // `WATCH k` and `SET k` in one context that started with tracking off).
    ex.ctx.set_tracking(touched, events);
    ex.shared.track_new_watches(&mut ex.ctx);
    result.map(|_| Reply::ok())
}

/// `EXEC`: runs the queue atomically, or answers nil when a watched key changed.
fn exec(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    let Some(multi) = ex.session.multi.take() else {
        return Err(Error::err("EXEC without MULTI"));
    };
    let mut watches = ex.session.watches.take();
    let result = if multi.failed {
        Err(EXECABORT)
    } else {
        run(ex, &multi.queue, watches.as_ref())
    };
    ex.shared.watches.unwatch(&mut watches);
    result
}

/// Checks the watches and runs the queue in EXEC's context (the dispatcher holds
/// [`exec_plan`]'s locks and commits the context after EXEC returns).
fn run(ex: &mut Exec<'_, '_>, queue: &[Queued], watches: Option<&Watches>) -> Result<Reply> {
    let shared = ex.shared;
    if let Some(w) = watches {
        if w.is_dirty() || expired_since_watch(shared, w, ex.ctx.now_ms)? {
            return Ok(Reply::NilArray);
        }
    }
    let mut replies = Vec::with_capacity(queue.len());
    ex.session.in_exec = true;
    let mut clock = None;
    for q in queue {
        replies.push(super::exec::run_step(q.spec, ex, &q.args, &mut clock));
    }
    ex.session.in_exec = false;
    Ok(Reply::Array(replies))
}

/// True when a key that was live at WATCH is gone or expired now (a key that expired but was
/// not deleted yet touched nobody). Checked under the key's lock.
fn expired_since_watch(shared: &Shared, w: &Watches, now: u64) -> Result<bool> {
    // A reader context: it deletes nothing.
    let mut ctx = Ctx::new(&shared.store, now, false);
    for k in w.keys().iter().filter(|k| k.live) {
        if ctx.meta(k.db, &k.key)?.is_none() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// EXEC's locks: the union of the queued commands' locks (each in the database it will run in)
/// and of the watched keys' stripes. Nothing when `session` is not in MULTI.
pub fn exec_plan(shared: &Shared, session: &Session) -> LockPlan {
    let Some(multi) = &session.multi else {
        return LockPlan::none();
    };
    let (mut db, queue, watches) = (session.db, &multi.queue, session.watches.as_ref());
    let mut plan = LockPlan::none();
    for q in queue {
        let p = lock_plan(shared, q.spec, &q.args, db);
        plan.shared_dbs.extend(p.shared_dbs);
        plan.exclusive_dbs.extend(p.exclusive_dbs);
        plan.stripes.extend(p.stripes);
        if matches!(q.spec.locking, Locking::None) {
            // Reads take their keys too, so the transaction is isolated; a keyless read of the
            // keyspace (DBSIZE, KEYS, SCAN, RANDOMKEY) takes its whole database.
            let mut keys = q.spec.keys.positions(q.args.len()).peekable();
            if keys.peek().is_some() {
                plan.db_shared(db);
                for i in keys {
                    plan.key(&shared.locks, &q.args[i]);
                }
            } else if q.spec.flags & READONLY != 0 {
                plan.db_exclusive(db);
            }
        }
        if q.spec.name == "select" {
            if let Some(d) = q
                .args
                .get(1)
                .and_then(|a| args::db_index(a, shared.config.databases()).ok())
            {
                db = d;
            }
        }
    }
    for k in watches.map(Watches::keys).unwrap_or_default() {
        plan.db_shared(k.db).key(&shared.locks, &k.key);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_match_redis() {
        let find = |n: &str| COMMANDS.iter().find(|s| s.name == n).unwrap();
        assert_eq!(find("watch").arity, -2);
        assert_eq!(find("watch").keys.positions(3).collect::<Vec<_>>(), [1, 2]);
        for n in ["multi", "exec", "discard", "unwatch"] {
            assert_eq!(find(n).arity, 1);
            assert_eq!(find(n).flags & NO_MULTI, 0);
        }
        assert!(RUN_NOW
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_lowercase())));
    }
}
