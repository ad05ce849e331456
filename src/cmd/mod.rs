//! The command table and the dispatcher.
//!
//! Each command family is a module that exports `COMMANDS: &[CommandSpec]`: the table is data
//! (name, arity, flags, key positions, what to lock, handler), from which the dispatcher does
//! every generic check in Redis 7.0's order and with its texts (unknown command, unknown
//! subcommand, arity, NOAUTH), takes the locks, runs the handler in a storage context and
//! commits. Handlers follow mini-redis: parse the arguments into a struct, then apply it.

pub mod args;
pub mod bits;
pub mod connection;
pub mod hashes;
pub mod introspect;
pub mod keys;
pub mod lists;
pub mod server;
pub mod sets;
pub mod strings;
pub mod transactions;
pub mod zsets;

use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::session::Session;
use crate::shared::Shared;
use crate::storage::context::{Ctx, Effects};
use crate::storage::locks::LockPlan;
use bytes::Bytes;
use std::collections::HashMap;
use talus_actors::Flow;

/// Command flags (the names COMMAND reports are in [`flag_names`]).
pub mod flags {
    /// Writes data.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads data.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory (Redis's `denyoom`).
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Pub/sub.
    pub const PUBSUB: u32 = 1 << 4;
    /// Not allowed in scripts.
    pub const NOSCRIPT: u32 = 1 << 5;
    /// Allowed while loading.
    pub const LOADING: u32 = 1 << 6;
    /// Allowed on a stale replica.
    pub const STALE: u32 = 1 << 7;
    /// O(1) or O(log N).
    pub const FAST: u32 = 1 << 8;
    /// Allowed before AUTH.
    pub const NO_AUTH: u32 = 1 << 9;
    /// Not allowed inside MULTI.
    pub const NO_MULTI: u32 = 1 << 10;
    /// Key positions depend on the arguments.
    pub const MOVABLEKEYS: u32 = 1 << 11;
    /// Blocking.
    pub const BLOCKING: u32 = 1 << 12;
    /// Not logged by SLOWLOG.
    pub const SKIP_SLOWLOG: u32 = 1 << 13;
    /// Not shown by MONITOR.
    pub const SKIP_MONITOR: u32 = 1 << 14;
    /// Allowed while the server is busy.
    pub const ALLOW_BUSY: u32 = 1 << 15;
}

/// The names of the set flags, in COMMAND's order.
pub fn flag_names(f: u32) -> Vec<&'static str> {
    const NAMES: &[(u32, &str)] = &[
        (flags::WRITE, "write"),
        (flags::READONLY, "readonly"),
        (flags::DENYOOM, "denyoom"),
        (flags::ADMIN, "admin"),
        (flags::PUBSUB, "pubsub"),
        (flags::NOSCRIPT, "noscript"),
        (flags::BLOCKING, "blocking"),
        (flags::LOADING, "loading"),
        (flags::STALE, "stale"),
        (flags::SKIP_MONITOR, "skip_monitor"),
        (flags::SKIP_SLOWLOG, "skip_slowlog"),
        (flags::FAST, "fast"),
        (flags::NO_AUTH, "no_auth"),
        (flags::ALLOW_BUSY, "allow_busy"),
        (flags::NO_MULTI, "no_multi"),
        (flags::MOVABLEKEYS, "movablekeys"),
    ];
    NAMES
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// Where a command's keys are (Redis's first key, last key, step; last < 0 counts from the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// Index of the first key (0 = the command has no keys).
    pub first: i32,
    /// Index of the last key; negative counts from the end (-1 = last argument).
    pub last: i32,
    /// Step between keys.
    pub step: i32,
}

impl KeySpec {
    /// No keys.
    pub const NONE: KeySpec = KeySpec {
        first: 0,
        last: 0,
        step: 0,
    };
    /// One key at argument 1.
    pub const ONE: KeySpec = KeySpec {
        first: 1,
        last: 1,
        step: 1,
    };
    /// Keys at 1 and 2 (RENAME, COPY, ...).
    pub const TWO: KeySpec = KeySpec {
        first: 1,
        last: 2,
        step: 1,
    };
    /// Every argument from 1 is a key.
    pub const ALL: KeySpec = KeySpec {
        first: 1,
        last: -1,
        step: 1,
    };
    /// Key/value pairs from 1 (MSET).
    pub const PAIRS: KeySpec = KeySpec {
        first: 1,
        last: -1,
        step: 2,
    };

    /// The indexes of the keys in `args`.
    pub fn positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let (first, step) = (self.first.max(0) as usize, self.step.max(1) as usize);
        let last = if self.last < 0 {
            (argc as i64 + self.last as i64).max(-1)
        } else {
            (self.last as i64).min(argc as i64 - 1)
        };
        let end = if first == 0 {
            0
        } else {
            (last + 1).max(0) as usize
        };
        (first..end.max(first)).step_by(step)
    }
}

/// What a command locks while it runs.
#[derive(Debug, Clone, Copy)]
pub enum Locking {
    /// Nothing (reads; keyless commands). Multi-key reads get one snapshot.
    None,
    /// Its keys' stripes, and its database shared.
    Keys,
    /// Its keys' stripes, its database shared, and another database (shared) that an
    /// argument names (MOVE, COPY ... DB).
    KeysAndDb(fn(&[Bytes]) -> Option<u16>),
    /// Its database exclusive (FLUSHDB).
    Db,
    /// Every database exclusive (FLUSHALL).
    AllDbs,
}

/// A command's handler: arguments as sent (`args[0]` is the name).
pub type Handler = fn(&mut Exec<'_, '_>, &[Bytes]) -> Result<Reply>;

/// One row of the command table.
pub struct CommandSpec {
    /// Lower-case name (`get`); subcommands are `config|get`.
    pub name: &'static str,
    /// Redis arity: N = exactly N arguments (name included), -N = at least N.
    pub arity: i32,
    /// Flags from [`flags`].
    pub flags: u32,
    /// Key positions.
    pub keys: KeySpec,
    /// What to lock.
    pub locking: Locking,
    /// The handler (for a container such as CONFIG, unused: its subcommands run).
    pub handler: Handler,
    /// Subcommands (CONFIG GET, CLIENT ID, ...); empty for plain commands.
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// The name a subcommand has on its own (`get` for `config|get`).
    pub fn short_name(&self) -> &'static str {
        self.name.rsplit('|').next().unwrap_or(self.name)
    }

    /// True when `argc` arguments fit the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a >= 0 && argc == a as usize) || (a < 0 && argc >= a.unsigned_abs() as usize)
    }

    /// True when the command writes.
    pub fn is_write(&self) -> bool {
        self.flags & flags::WRITE != 0
    }
}

/// A plain row of the command table (no subcommands).
pub const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    locking: Locking,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys,
        locking,
        handler,
        subcommands: &[],
    }
}

/// A container row (CONFIG, CLIENT, OBJECT, ...): it only routes to its subcommands.
pub const fn container_spec(
    name: &'static str,
    subcommands: &'static [CommandSpec],
) -> CommandSpec {
    CommandSpec {
        name,
        arity: -2,
        flags: 0,
        keys: KeySpec::NONE,
        locking: Locking::None,
        handler: container,
        subcommands,
    }
}

/// Everything a handler works with.
pub struct Exec<'s, 'c> {
    /// Server-wide state.
    pub shared: &'s Shared,
    /// The client's session.
    pub session: &'c mut Session,
    /// The storage context (reads see pending writes; committed after the handler succeeds).
    pub ctx: Ctx<'s>,
    /// How the connection goes on (QUIT and SHUTDOWN change it).
    pub flow: Flow,
}

impl Exec<'_, '_> {
    /// The selected database.
    pub fn db(&self) -> u16 {
        self.session.db
    }
}

/// The command table: every command by lower-case name.
pub struct CommandTable {
    by_name: HashMap<&'static str, &'static CommandSpec>,
}

impl Default for CommandTable {
    fn default() -> Self {
        Self::new()
    }
}

impl CommandTable {
    /// The table of every command Talus has.
    pub fn new() -> CommandTable {
        let mut by_name = HashMap::new();
        for family in [
            connection::COMMANDS,
            server::COMMANDS,
            strings::COMMANDS,
            bits::COMMANDS,
            keys::COMMANDS,
            transactions::COMMANDS,
            hashes::COMMANDS,
            sets::COMMANDS,
            zsets::COMMANDS,
            lists::COMMANDS,
            introspect::COMMANDS,
        ] {
            for spec in family {
                by_name.insert(spec.name, spec);
            }
        }
        CommandTable { by_name }
    }

    /// Looks a command up by name, case-insensitively.
    pub fn get(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        if name.len() > 64 {
            return None;
        }
        let mut buf = [0u8; 64];
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        std::str::from_utf8(lower)
            .ok()
            .and_then(|n| self.by_name.get(n).copied())
    }

    /// Every top-level command.
    pub fn all(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        self.by_name.values().copied()
    }

    /// Number of top-level commands.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// Finds the spec that runs `args`, checking the command and subcommand exist and the arity,
/// with Redis's error texts.
pub fn resolve(table: &CommandTable, args: &[Bytes]) -> Result<&'static CommandSpec> {
    let name = args.first().map(|b| b.as_ref()).unwrap_or_default();
    let Some(spec) = table.get(name) else {
        return Err(unknown_command(args));
    };
    if spec.subcommands.is_empty() || args.len() < 2 {
        return if spec.arity_ok(args.len()) {
            Ok(spec)
        } else {
            Err(Error::Arity(spec.name.into()))
        };
    }
    let sub = &args[1];
    let found = spec
        .subcommands
        .iter()
        .find(|s| s.short_name().as_bytes().eq_ignore_ascii_case(sub));
    match found {
        Some(s) if s.arity_ok(args.len()) => Ok(s),
        Some(s) => Err(Error::Arity(s.name.into())),
        None => Err(Error::Other(
            format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                sanitize(&truncate(sub, 128)),
                spec.name.to_ascii_uppercase()
            )
            .into(),
        )),
    }
}

fn truncate(b: &[u8], n: usize) -> String {
    String::from_utf8_lossy(&b[..b.len().min(n)]).into_owned()
}

/// Redis replaces CR and LF in echoed arguments with spaces (so the error stays one line).
fn sanitize(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// `ERR unknown command 'foo', with args beginning with: 'a' 'b' `.
pub fn unknown_command(args: &[Bytes]) -> Error {
    let name = args.first().map(|b| truncate(b, 128)).unwrap_or_default();
    let mut rest = String::new();
    for a in args.iter().skip(1) {
        if rest.len() >= 128 {
            break;
        }
        let room = 128 - rest.len();
        rest.push('\'');
        rest.push_str(&truncate(a, room));
        rest.push_str("' ");
    }
    Error::Other(
        sanitize(&format!(
            "ERR unknown command '{name}', with args beginning with: {rest}"
        ))
        .into(),
    )
}

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
    }
    plan
}

/// Runs one command for `session` and returns its reply and how the connection goes on.
pub fn dispatch(shared: &Shared, session: &mut Session, args: &[Bytes]) -> (Reply, Flow) {
    shared.stats.commands_processed();
    let spec = match resolve(&shared.commands, args) {
        Ok(spec) => spec,
        Err(e) => return (e.into(), Flow::Continue),
    };
    // Checked against the current requirepass: clearing it lets unauthenticated clients in.
    if spec.flags & flags::NO_AUTH == 0 && shared.config.auth_required(session.authenticated) {
        return (
            Reply::error("NOAUTH Authentication required."),
            Flow::Continue,
        );
    }
    let plan = lock_plan(shared, spec, args, session.db);
    let _guard = shared.locks.lock(&plan);
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
    let result = (spec.handler)(&mut exec, args);
    let Exec { ctx, flow, .. } = exec;
    let reply = match result {
        Ok(reply) => match ctx.commit() {
            Ok(effects) => {
                shared.after_commit(effects);
                reply
            }
            Err(e) => e.into(),
        },
        Err(e) => {
            // A failed command commits nothing (expired keys it met are left to the expiry cycle).
            ctx.abort();
            e.into()
        }
    };
    (reply, flow)
}

/// Runs a client's batch in order, appending each encoded reply to `out`, and says how the
/// connection goes on.
///
/// Consecutive key commands (they name keys and lock at most those keys) run as one group:
/// the group holds the union of their locks, runs each command in one storage context with a
/// savepoint (a command that fails is rolled back alone), and commits once. Effects and replies
/// keep request order; replies are only sent after the group is in the WAL, so every
/// acknowledged write is durable as before, and a pipeline of N writes costs one RocksDB write
/// instead of N. Everything else (session commands, keyless and database-wide commands) runs
/// on its own and ends the group, so session changes apply exactly where they were sent.
pub fn execute_batch(
    shared: &Shared,
    session: &mut Session,
    cmds: &[Vec<Bytes>],
    out: &mut bytes::BytesMut,
) -> Flow {
    let mut i = 0;
    while i < cmds.len() {
        // Inside MULTI, commands are checked and queued (EXEC, DISCARD, ... run below).
        if session.multi.is_some() {
            if let Some(reply) = transactions::queue(shared, session, &cmds[i]) {
                reply.encode(session.resp, out);
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
            run_group(shared, session, &run, &cmds[i..i + run.len()], out);
            i += run.len();
            continue;
        }
        let (reply, flow) = dispatch(shared, session, &cmds[i]);
        reply.encode(session.resp, out);
        if flow != Flow::Continue {
            return flow;
        }
        i += 1;
    }
    Flow::Continue
}

/// The spec of `args` if it may run in a group: a known command with the right arity that the
/// session may run, which names keys and locks nothing but them (never inside MULTI, where
/// commands are queued).
fn groupable(shared: &Shared, session: &Session, args: &[Bytes]) -> Option<&'static CommandSpec> {
    if session.multi.is_some() {
        return None;
    }
    let spec = resolve(&shared.commands, args).ok()?;
    let keyed = spec.keys.first > 0 && matches!(spec.locking, Locking::None | Locking::Keys);
    let allowed =
        spec.flags & flags::NO_AUTH != 0 || !shared.config.auth_required(session.authenticated);
    (keyed && allowed).then_some(spec)
}

fn run_group(
    shared: &Shared,
    session: &mut Session,
    specs: &[&'static CommandSpec],
    cmds: &[Vec<Bytes>],
    out: &mut bytes::BytesMut,
) {
    let db = session.db;
    let mut plan = LockPlan::none();
    plan.db_shared(db);
    for (spec, args) in specs.iter().zip(cmds) {
        for i in spec.keys.positions(args.len()) {
            plan.key(&shared.locks, &args[i]);
        }
    }
    let _guard = shared.locks.lock(&plan);
    let now = crate::storage::version::now_millis();
    let mut ctx = Ctx::new(&shared.store, now, true);
    shared.set_tracking(&mut ctx);
    let mut replies = Vec::with_capacity(specs.len());
    for (spec, args) in specs.iter().zip(cmds) {
        shared.stats.commands_processed();
        let sp = ctx.savepoint();
        let mut exec = Exec {
            shared,
            session: &mut *session,
            ctx,
            flow: Flow::Continue,
        };
        let result = (spec.handler)(&mut exec, args);
        ctx = exec.ctx;
        replies.push(match result {
            Ok(reply) => reply,
            Err(e) => {
                ctx.rollback_to(sp);
                e.into()
            }
        });
    }
    match ctx.commit() {
        Ok(effects) => {
            shared.after_commit(effects);
            for r in replies {
                r.encode(session.resp, out);
            }
        }
        Err(e) => {
            let text = e.to_string();
            for r in replies {
                let r = if r.is_error() {
                    r
                } else {
                    Reply::error(text.clone())
                };
                r.encode(session.resp, out);
            }
        }
    }
}

/// Applies committed effects outside a command (the active-expiry cycle).
pub fn apply_background_effects(shared: &Shared, effects: Effects) {
    shared.after_commit(effects);
}

/// A handler for container commands (never called: a subcommand always resolves first).
pub fn container(_: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Err(unknown_command(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_positions() {
        let all: Vec<_> = KeySpec::ALL.positions(4).collect();
        assert_eq!(all, vec![1, 2, 3]);
        let pairs: Vec<_> = KeySpec::PAIRS.positions(5).collect();
        assert_eq!(pairs, vec![1, 3]);
        assert_eq!(KeySpec::NONE.positions(3).count(), 0);
        assert_eq!(KeySpec::ONE.positions(1).count(), 0);
        assert_eq!(KeySpec::TWO.positions(3).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn unknown_command_text() {
        let args: Vec<Bytes> = ["foo", "a", "b\r\nc"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        assert_eq!(
            unknown_command(&args).to_string(),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b  c' "
        );
    }
}
