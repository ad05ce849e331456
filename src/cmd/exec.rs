//! Running commands: the dispatcher (checks, locks, storage context, commit) for one command,
//! a client's batch, and the batches of several clients queued together.

use super::{blocking, flags, resolve, transactions, CommandSpec, Exec, Locking};
use crate::reply::Reply;
use crate::session::Session;
use crate::shared::Shared;
use crate::storage::context::{Ctx, Effects};
use crate::storage::encoding::with_meta_key;
use crate::storage::locks::{LockGuard, LockPlan};
use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;
use std::time::Instant;
use talus_actors::{Args, Flow, Work};

/// Builds the lock plan of a command from its table row.
pub fn lock_plan(shared: &Shared, spec: &CommandSpec, args: &[Bytes], db: u16) -> LockPlan {
    let mut plan = LockPlan::none();
    let with_keys = |plan: &mut LockPlan| {
        plan.db_shared(db);
        for i in spec.keys.positions(args.len()) {
            plan.key(&shared.locks, &args[i]);
        }
    };
    match spec.locking {
        Locking::None => {}
        Locking::Keys => with_keys(&mut plan),
        Locking::KeysAndDb(other) => {
            with_keys(&mut plan);
            if let Some(o) = other(args) {
                plan.db_shared(o);
            }
        }
        Locking::Db => {
            plan.db_exclusive(db);
        }
        Locking::AllDbs => {
            for d in 0..shared.store.databases() {
                plan.db_exclusive(d);
            }
        }
        // Taken from the session by the dispatcher ([`session_lock_plan`]).
        Locking::Queued => {}
    }
    plan
}

/// The locks of a command run for `session`: [`lock_plan`], or for EXEC those of what the
/// session has queued.
fn session_lock_plan(
    shared: &Shared,
    session: &Session,
    spec: &CommandSpec,
    args: &[Bytes],
) -> LockPlan {
    match spec.locking {
        Locking::Queued => transactions::exec_plan(shared, session),
        _ => lock_plan(shared, spec, args, session.db),
    }
}

/// Runs one command for `session` and returns its reply and how the connection goes on;
/// clients blocked on keys it filled are served before it returns.
pub fn dispatch(shared: &Shared, session: &mut Session, args: &[Bytes]) -> (Reply, Flow) {
    let done = run_one(shared, session, args);
    blocking::serve_pending(shared);
    done
}

/// [`dispatch`] without serving blocked clients (the caller does, holding no locks).
fn run_one(shared: &Shared, session: &mut Session, args: &[Bytes]) -> (Reply, Flow) {
    shared.stats.commands_processed();
    let spec = match resolve(&shared.commands, args) {
        Ok(spec) => spec,
        Err(e) => {
            let known = shared.commands.named(args);
            return (rejected(shared, known, e.to_string()), Flow::Continue);
        }
    };
    // Checked against the current requirepass: clearing it lets unauthenticated clients in.
    if spec.flags & flags::NO_AUTH == 0 && shared.config.auth_required(session.authenticated) {
        let text = "NOAUTH Authentication required.";
        return (rejected(shared, Some(spec), text.into()), Flow::Continue);
    }
    if spec.flags & flags::SUB_OK == 0 && session.resp == 2 && session.subscribed() {
        let text = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET \
             are allowed in this context",
            spec.name
        );
        return (rejected(shared, Some(spec), text), Flow::Continue);
    }
    if let Some(after_ms) = paused(shared, session, args) {
        // Not run: the connection retries it when the pause ends (or on CLIENT UNPAUSE).
        shared.clients.wait_for_unpause(session.client.clone());
        return (Reply::NoReply, Flow::Retry { after_ms, done: 0 });
    }
    let plan = session_lock_plan(shared, session, spec, args);
    let guard = shared.locks.lock(&plan);
    let now = crate::storage::version::now_millis();
    let writer = !plan.is_empty();
    let multi_key_read = !writer && spec.keys.positions(args.len()).nth(1).is_some();
    let mut ctx = if multi_key_read {
        Ctx::with_snapshot(&shared.store, now)
    } else {
        Ctx::new(&shared.store, now, writer)
    };
    shared.set_tracking(&mut ctx);
    let mut exec = Exec {
        shared,
        session,
        ctx,
        flow: Flow::Continue,
    };
    let result = invoke(spec, &mut exec, args);
    let Exec {
        ctx,
        mut flow,
        session,
        ..
    } = exec;
    let reply = match result {
        Ok(reply) => match ctx.commit() {
            Ok(effects) => {
                shared.after_commit(effects);
                reply
            }
            Err(e) => {
                if let (Flow::Block { .. }, Some(id)) = (flow, session.blocked.take()) {
                    // Nothing was committed: the client does not wait after its error.
                    shared.waiters.remove(id);
                    flow = Flow::Continue;
                }
                e.into()
            }
        },
        Err(e) => {
            // A failed command commits nothing (expired keys it met are left to the expiry cycle).
            ctx.abort();
            e.into()
        }
    };
    drop(guard);
    (reply, flow)
}

/// Runs a command's handler with the accounting every command gets ([`invoke_at`]).
pub(crate) fn invoke(
    spec: &'static CommandSpec,
    ex: &mut Exec<'_, '_>,
    args: &[Bytes],
) -> crate::error::Result<Reply> {
    invoke_at(spec, ex, args, Instant::now()).0
}

/// Runs one command of a loop that runs commands back to back in one context (a group's, EXEC's
/// queue): counts it, runs it with a savepoint (a failed command is rolled back alone) and
/// returns its reply. `clock` carries the previous command's end to this one's start (see
/// [`invoke_at`]); `None` reads the clock.
pub(crate) fn run_step(
    spec: &'static CommandSpec,
    ex: &mut Exec<'_, '_>,
    args: &[Bytes],
    clock: &mut Option<Instant>,
) -> Reply {
    ex.shared.stats.commands_processed();
    let sp = ex.ctx.savepoint();
    let (result, next) = invoke_at(spec, ex, args, clock.unwrap_or_else(Instant::now));
    *clock = Some(next);
    match result {
        Ok(reply) => reply,
        Err(e) => {
            ex.ctx.rollback_to(sp);
            // The rollback is not the next command's time.
            *clock = None;
            e.into()
        }
    }
}

/// Runs a command's handler, with the accounting every command gets (MONITOR, timing for
/// SLOWLOG and commandstats, errorstats); every path that runs a command goes through here.
/// The command started at `started`; besides the result, returns when the next command may
/// say it started: a loop running commands back to back passes it on ([`run_step`]), one
/// clock reading per command instead of two. That is the handler's end when only counters
/// were updated after it (their few hundred nanoseconds then count in the next command's
/// time), and a fresh reading after anything heavier: feeding MONITOR clients, an error, a
/// SLOWLOG entry, a periodic sample.
pub(crate) fn invoke_at(
    spec: &'static CommandSpec,
    ex: &mut Exec<'_, '_>,
    args: &[Bytes],
    started: Instant,
) -> (crate::error::Result<Reply>, Instant) {
    ex.session.last_cmd = spec.name;
    let result = (spec.handler)(ex, args);
    let ended = Instant::now();
    let micros = ended.duration_since(started).as_micros() as u64;
    let shared = ex.shared;
    let mut heavy = false;
    if shared.clients.monitoring() && spec.flags & (flags::SKIP_MONITOR | flags::ADMIN) == 0 {
        heavy = true;
        // MONITOR clients are of Redis's normal class for the output-buffer limit.
        let limit = shared
            .config
            .output_limit(crate::config::ClientClass::Normal);
        shared
            .clients
            .feed_monitors(ex.session.db, &ex.session.peer, args, limit);
    }
    let error = match &result {
        Ok(Reply::Error(text)) => Some(std::borrow::Cow::Borrowed(&text[..])),
        Ok(_) => None,
        Err(e) => Some(std::borrow::Cow::Owned(e.to_string())),
    };
    heavy |= ex
        .shared
        .calls
        .executed(spec, args, ex.session, micros, error.as_deref());
    (result, if heavy { Instant::now() } else { ended })
}

/// Counts a command refused before it ran and returns its error reply.
pub(crate) fn rejected(shared: &Shared, spec: Option<&'static CommandSpec>, text: String) -> Reply {
    shared.calls.rejected(spec, &text);
    Reply::error(text)
}

/// Runs a client's batch in order, appending each encoded reply to `out`, and says how the
/// connection goes on.
///
/// Consecutive key commands (they name keys and lock at most those keys) run as one group
/// ([`Group`]). Everything else (session commands, keyless and database-wide commands) runs
/// on its own and ends the group, so session changes apply exactly where they were sent.
pub fn execute_batch(
    shared: &Shared,
    session: &mut Session,
    cmds: &[Args],
    out: &mut bytes::BytesMut,
) -> Flow {
    let mut i = 0;
    while i < cmds.len() {
        // Inside MULTI, commands are checked and queued (EXEC, DISCARD, ... run below).
        if session.multi.is_some() {
            // Redis checks CLIENT PAUSE before queueing: a write waits here too.
            if let Some(after_ms) = paused(shared, session, &cmds[i]) {
                shared.clients.wait_for_unpause(session.client.clone());
                return Flow::Retry { after_ms, done: i };
            }
            if let Some(reply) = transactions::queue(shared, session, &cmds[i]) {
                if session.take_reply_turn() {
                    reply.encode(session.resp, out);
                }
                i += 1;
                continue;
            }
        }
        let mut run = Vec::new();
        while let Some(spec) = cmds
            .get(i + run.len())
            .and_then(|a| groupable(shared, session, a))
        {
            run.push(spec);
        }
        if run.len() >= 2 {
            let cmds = &cmds[i..i + run.len()];
            let mut group = Group::start(shared, group_plan(shared, session.db, &run, cmds));
            let (replies, _) = group.run(session, &run, cmds);
            i += replies.len();
            group.commit(&mut [(replies, session.resp, &mut *out)]);
            blocking::serve_pending(shared);
            continue;
        }
        let (reply, flow) = dispatch(shared, session, &cmds[i]);
        if let Flow::Retry { after_ms, .. } = flow {
            return Flow::Retry { after_ms, done: i };
        }
        // Pub/sub confirmations are pushed whatever CLIENT REPLY says, as in Redis.
        if session.take_reply_turn() || is_subscription(&cmds[i]) {
            reply.encode(session.resp, out);
        }
        i += 1;
        match flow {
            Flow::Continue => {}
            Flow::Block { timeout_ms, .. } => {
                return Flow::Block {
                    timeout_ms,
                    done: i,
                }
            }
            flow => return flow,
        }
    }
    Flow::Continue
}

/// How long `args` must wait for a CLIENT PAUSE, if one covers it.
fn paused(shared: &Shared, session: &Session, args: &[Bytes]) -> Option<u64> {
    if !shared.clients.is_paused() {
        return None;
    }
    let spec = resolve(&shared.commands, args).ok()?;
    let writes = spec.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0
        || (spec.name == "exec" && session.multi.as_ref().is_some_and(|m| m.writes()));
    shared.clients.pause_left(writes)
}

/// True for (P|S)(UN)SUBSCRIBE, whose confirmations CLIENT REPLY does not silence.
fn is_subscription(args: &[Bytes]) -> bool {
    const NAMES: [&[u8]; 6] = [
        b"subscribe",
        b"unsubscribe",
        b"psubscribe",
        b"punsubscribe",
        b"ssubscribe",
        b"sunsubscribe",
    ];
    args.first()
        .is_some_and(|n| NAMES.iter().any(|x| n.eq_ignore_ascii_case(x)))
}

/// Runs a batch made only of plain reads (GET, HGET, ZRANGE, ...) at once, outside any group
/// ([`talus_actors::Service::execute_alone`]): such reads lock nothing and see only committed
/// writes, so their replies need not wait for a group's commit. `None`, having run nothing,
/// for any other batch.
pub fn execute_alone(
    shared: &Shared,
    session: &mut Session,
    cmds: &[Args],
    out: &mut BytesMut,
) -> Option<Flow> {
    if cmds.is_empty() {
        return None;
    }
    for args in cmds {
        if !is_plain_read(groupable(shared, session, args)?) {
            return None;
        }
    }
    for (i, args) in cmds.iter().enumerate() {
        let (reply, flow) = run_one(shared, session, args);
        reply.encode(session.resp, out);
        // Not expected of a plain read; kept exact all the same (as `execute_batch`).
        match flow {
            Flow::Continue => {}
            Flow::Retry { after_ms, .. } => return Some(Flow::Retry { after_ms, done: i }),
            Flow::Block { timeout_ms, .. } => {
                return Some(Flow::Block {
                    timeout_ms,
                    done: i + 1,
                })
            }
            flow => return Some(flow),
        }
    }
    Some(Flow::Continue)
}

/// Runs the batches of several connections that were queued together
/// ([`talus_actors::Service::execute_group`]).
///
/// Batches made only of key commands, or of one whole transaction (MULTI, key commands, EXEC:
/// [`whole_transaction`]), join one [`Group`] across connections, so the writes of
/// 50 clients sending one SET each cost one RocksDB write instead of 50. A batch joins only if
/// its locks can be added to the group's without waiting (`try_extend`): otherwise the group
/// commits first and the batch starts the next one, so an executor never waits for a lock while
/// it holds any (no deadlock with other executors). Any other batch (session or database-wide
/// commands, a transaction with WATCH or split over batches) commits the open group first and
/// then runs alone through
/// [`execute_batch`]. Each connection's replies are encoded only after the commit that made
/// its writes durable.
pub fn execute_group(shared: &Shared, work: &mut [Work<Session>]) {
    if let [w] = work {
        w.flow = execute_batch(shared, &mut w.session, &w.cmds, &mut w.out);
        return;
    }
    let mut open: Option<(Group, Vec<Member>)> = None;
    for i in 0..work.len() {
        let w = &mut work[i];
        match group_specs(shared, &w.session, &w.cmds) {
            // A lone read locks and writes nothing: it runs at once, outside the group (it
            // cannot see the group's uncommitted writes, whose replies have not left yet).
            Some(specs) if specs.len() == 1 && is_plain_read(specs[0]) => {
                // (Not `dispatch`: serving blocked clients takes locks, and the group holds
                // some; a read fills nothing anyway.)
                let (reply, flow) = run_one(shared, &mut w.session, &w.cmds[0]);
                reply.encode(w.session.resp, &mut w.out);
                w.flow = flow;
            }
            Some(specs) if !specs.is_empty() => {
                let plan = group_plan(shared, w.session.db, &specs, &w.cmds);
                let joined = match &mut open {
                    Some((group, _)) => group.try_extend(&plan),
                    None => false,
                };
                if !joined {
                    if let Some((group, members)) = open.take() {
                        commit_members(group, members, work);
                    }
                    open = Some((Group::start(shared, plan), Vec::new()));
                }
                let w = &mut work[i];
                let Some((group, members)) = &mut open else {
                    continue;
                };
                let (replies, fills_waited) = group.run(&mut w.session, &specs, &w.cmds);
                let ran = replies.len();
                members.push((i, replies));
                if fills_waited {
                    // A command filled a key clients wait on: serve them before anything else
                    // runs, then the rest of this batch.
                    if let Some((group, members)) = open.take() {
                        commit_members(group, members, work);
                    }
                    blocking::serve_pending(shared);
                    let w = &mut work[i];
                    if ran < w.cmds.len() {
                        let flow =
                            execute_batch(shared, &mut w.session, &w.cmds[ran..], &mut w.out);
                        w.flow = offset(flow, ran);
                    }
                }
            }
            _ => {
                if let Some((group, members)) = open.take() {
                    commit_members(group, members, work);
                    blocking::serve_pending(shared);
                }
                let w = &mut work[i];
                w.flow = execute_batch(shared, &mut w.session, &w.cmds, &mut w.out);
            }
        }
    }
    if let Some((group, members)) = open.take() {
        commit_members(group, members, work);
        blocking::serve_pending(shared);
    }
}

/// `flow` of a batch's tail that starts at request `ran` (its `done` counts from there).
fn offset(flow: Flow, ran: usize) -> Flow {
    match flow {
        Flow::Block { timeout_ms, done } => Flow::Block {
            timeout_ms,
            done: done + ran,
        },
        Flow::Retry { after_ms, done } => Flow::Retry {
            after_ms,
            done: done + ran,
        },
        other => other,
    }
}

/// A connection in a cross-connection group: its index in the work list and its replies.
type Member = (usize, Vec<Reply>);

/// Commits a cross-connection group and encodes each member's replies into its buffer.
fn commit_members(group: Group<'_>, members: Vec<Member>, work: &mut [Work<Session>]) {
    // Members are in ascending index order: split the work list to borrow each `out` once.
    let mut outs = Vec::with_capacity(members.len());
    let mut rest = work;
    let mut base = 0;
    for (i, replies) in members {
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(i - base);
        let (w, after) = tail.split_at_mut(1);
        let w = &mut w[0];
        outs.push((replies, w.session.resp, &mut w.out));
        rest = after;
        base = i + 1;
    }
    group.commit(&mut outs);
}

/// The spec of `args` if it may run in a group: a known command with the right arity that the
/// session may run, which names keys and locks nothing but them and never blocks (never
/// inside MULTI, where commands are queued; see [`whole_transaction`] for a whole one).
fn groupable(shared: &Shared, session: &Session, args: &[Bytes]) -> Option<&'static CommandSpec> {
    if session.multi.is_some()
        || session.subs.is_some()
        || session.reply != crate::session::ReplyMode::On
        || shared.clients.is_paused()
    {
        return None;
    }
    let spec = resolve(&shared.commands, args).ok()?;
    let keyed = spec.keys.first > 0
        && matches!(spec.locking, Locking::None | Locking::Keys)
        && spec.flags & (flags::BLOCKING | flags::PUBSUB) == 0;
    let allowed =
        spec.flags & flags::NO_AUTH != 0 || !shared.config.auth_required(session.authenticated);
    (keyed && allowed).then_some(spec)
}

/// A batch's resolved commands: up to 16 (a pipeline of a few, a ten-command transaction)
/// without an allocation.
type Specs = SmallVec<[&'static CommandSpec; 16]>;

/// The specs of a batch that may join a group: a run of key commands, or one whole transaction
/// ([`whole_transaction`]).
fn group_specs(shared: &Shared, session: &Session, cmds: &[Args]) -> Option<Specs> {
    let keyed: Option<Specs> = cmds.iter().map(|a| groupable(shared, session, a)).collect();
    keyed.or_else(|| whole_transaction(shared, session, cmds))
}

/// The specs of a batch that is a whole transaction (MULTI, key commands, EXEC) from a session
/// that watches nothing. Such a batch can run in a group: the group holds the locks EXEC would
/// take (its queued commands' keys), EXEC runs the queue in the group's context, and the
/// group's commit is the transaction's single atomic write. (With WATCH, EXEC must see other
/// clients' writes committed: it runs on its own.)
fn whole_transaction(shared: &Shared, session: &Session, cmds: &[Args]) -> Option<Specs> {
    let [first, queued @ .., last] = cmds else {
        return None;
    };
    if session.watches.is_some() || queued.is_empty() {
        return None;
    }
    let named = |args: &[Bytes], name: &str| {
        resolve(&shared.commands, args)
            .ok()
            .filter(|spec| spec.name == name)
    };
    let mut specs = Specs::with_capacity(cmds.len());
    specs.push(named(first, "multi")?);
    for args in queued {
        // `groupable` also checks the session: not in MULTI yet, not subscribed, replies on,
        // no CLIENT PAUSE, authenticated.
        let spec = groupable(shared, session, args)?;
        if spec.flags & flags::NO_MULTI != 0 || transactions::RUN_NOW.contains(&spec.name) {
            return None;
        }
        specs.push(spec);
    }
    specs.push(named(last, "exec")?);
    Some(specs)
}

/// A read that locks nothing (GET, HGET, ...).
fn is_plain_read(spec: &CommandSpec) -> bool {
    !spec.is_write() && matches!(spec.locking, Locking::None)
}

/// The locks of a run of key commands in `db`: the db shared and every key's stripe. Also
/// prefetches the meta-cache slots of fast commands' keys.
fn group_plan(shared: &Shared, db: u16, specs: &[&'static CommandSpec], cmds: &[Args]) -> LockPlan {
    let mut plan = LockPlan::none();
    plan.db_shared(db);
    // About a key per command: room for a batch longer than the eight held inline is
    // reserved once instead of grown step by step.
    plan.stripes.reserve(cmds.len());
    for (spec, args) in specs.iter().zip(cmds) {
        // A fast command (INCR, HSET, GET, ...) looks its keys up as soon as it runs: start
        // loading their cache slots now, so the lookups' memory waits overlap instead of
        // coming one after another. A slow one (SET, MSET: blind writes) would only pay for it.
        let prefetch = spec.flags & flags::FAST != 0;
        for i in spec.keys.positions(args.len()) {
            plan.key(&shared.locks, &args[i]);
            if prefetch {
                with_meta_key(db, &args[i], |mk| shared.store.cache.prefetch(mk));
            }
        }
    }
    plan
}

/// Key commands that run in one storage context and commit once.
///
/// The group holds the union of their locks and runs each command with a savepoint (a command
/// that fails is rolled back alone). Effects and replies keep request order; replies are only
/// sent after the group is in the WAL, so every acknowledged write is durable as before, and N
/// writes cost one RocksDB write instead of N.
struct Group<'s> {
    shared: &'s Shared,
    // `None` only while a handler has it.
    ctx: Option<Ctx<'s>>,
    // Declared after `ctx`: the locks are released after the context is gone.
    guard: LockGuard<'s>,
}

impl<'s> Group<'s> {
    /// Takes `plan`'s locks (waiting for them) and opens the context.
    fn start(shared: &'s Shared, plan: LockPlan) -> Group<'s> {
        let guard = shared.locks.lock(&plan);
        let mut ctx = Ctx::new(&shared.store, crate::storage::version::now_millis(), true);
        shared.set_tracking(&mut ctx);
        Group {
            shared,
            ctx: Some(ctx),
            guard,
        }
    }

    /// Adds `plan`'s locks if that needs no waiting; false (nothing changed that matters:
    /// the group is about to commit) if some lock is taken.
    fn try_extend(&mut self, plan: &LockPlan) -> bool {
        if !self.shared.locks.try_extend(&mut self.guard, plan) {
            return false;
        }
        // A WATCH on one of the new keys may have run (on another executor) since the group
        // started with tracking off: with their locks held, look again.
        if let Some(ctx) = self.ctx.as_mut() {
            self.shared.track_new_watches(ctx);
        }
        true
    }

    /// Runs `cmds` (their specs resolved) for `session`; their replies, not yet encoded, and
    /// whether the last one run filled a key some client is blocked on: it stops there (fewer
    /// replies than commands then), so the caller commits and serves that client before the
    /// next command runs, as Redis does.
    fn run(
        &mut self,
        session: &mut Session,
        specs: &[&'static CommandSpec],
        cmds: &[Args],
    ) -> (Vec<Reply>, bool) {
        let shared = self.shared;
        let mut replies = Vec::with_capacity(specs.len());
        // When the command before ended, if it ran just before this one (see `invoke_at`).
        let mut clock = None;
        for (spec, args) in specs.iter().zip(cmds) {
            // Inside a whole transaction: queued until its EXEC (see `whole_transaction`).
            if session.multi.is_some() {
                if let Some(reply) = transactions::queue_resolved(shared, session, spec, args) {
                    replies.push(reply);
                    clock = None;
                    continue;
                }
            }
            let Some(ctx) = self.ctx.take() else {
                break;
            };
            let ready_before = ctx.ready().len();
            let mut exec = Exec {
                shared,
                session: &mut *session,
                ctx,
                flow: Flow::Continue,
            };
            replies.push(run_step(spec, &mut exec, args, &mut clock));
            let ctx = exec.ctx;
            let fills_waited = ctx.ready()[ready_before.min(ctx.ready().len())..]
                .iter()
                .any(|(db, key)| shared.waiters.is_waited(*db, key));
            self.ctx = Some(ctx);
            if fills_waited {
                return (replies, true);
            }
        }
        (replies, false)
    }

    /// Commits, then encodes each member's replies (or, if the commit failed, its error in
    /// place of every reply that was not already an error) into its buffer.
    fn commit(self, members: &mut [(Vec<Reply>, u8, &mut bytes::BytesMut)]) {
        let Group { shared, ctx, guard } = self;
        let failed = match ctx.map(Ctx::commit) {
            Some(Ok(effects)) => {
                shared.after_commit(effects);
                None
            }
            Some(Err(e)) => Some(e.to_string()),
            None => Some("ERR internal error".to_string()),
        };
        drop(guard);
        for (replies, resp, out) in members.iter_mut() {
            for r in replies.drain(..) {
                match &failed {
                    Some(text) if !r.is_error() => Reply::error(text.clone()).encode(*resp, out),
                    _ => r.encode(*resp, out),
                }
            }
        }
    }
}

/// Applies committed effects outside a command (the active-expiry cycle).
pub fn apply_background_effects(shared: &Shared, effects: Effects) {
    shared.after_commit(effects);
}
