//! The command table and the dispatcher.
//!
//! Each command family is a module that exports `COMMANDS: &[CommandSpec]`: the table is data
//! (name, arity, flags, key positions, what to lock, handler), from which the dispatcher does
//! every generic check in Redis 7.0's order and with its texts (unknown command, unknown
//! subcommand, arity, NOAUTH), takes the locks, runs the handler in a storage context and
//! commits. Handlers follow mini-redis: parse the arguments into a struct, then apply it.

pub mod args;
pub mod bits;
pub mod blocking;
pub mod client;
pub mod connection;
pub mod debug;
pub mod exec;
pub mod hashes;
pub mod introspect;
pub mod keys;
pub mod lists;
pub mod pubsub;
pub mod server;
pub mod sets;
pub mod slowlog;
pub mod strings;
pub mod transactions;
pub mod zsets;

use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::session::Session;
use crate::shared::Shared;
use crate::storage::context::Ctx;
use bytes::Bytes;
use std::collections::HashMap;
use talus_actors::Flow;

pub use exec::{
    apply_background_effects, dispatch, execute_alone, execute_batch, execute_group, lock_plan,
};

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
    /// May replicate although not a write (PUBLISH): paused by `CLIENT PAUSE WRITE`.
    pub const MAY_REPLICATE: u32 = 1 << 16;
    /// Allowed while a RESP2 client is subscribed (Talus's own flag, not reported by COMMAND).
    pub const SUB_OK: u32 = 1 << 17;
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
        (flags::MAY_REPLICATE, "may_replicate"),
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
    /// The locks of the commands its session has queued, and of the keys it watches (EXEC:
    /// `transactions::exec_plan`).
    Queued,
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

/// A keyless row that locks nothing (connection, server and introspection commands).
pub const fn keyless(name: &'static str, arity: i32, flags: u32, handler: Handler) -> CommandSpec {
    spec(name, arity, flags, KeySpec::NONE, Locking::None, handler)
}

/// A row that names keys but locks nothing (pub/sub's channels, OBJECT's key).
pub const fn unlocked(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    handler: Handler,
) -> CommandSpec {
    spec(name, arity, flags, keys, Locking::None, handler)
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
    // foldhash, not SipHash: looked up for every request, sometimes twice.
    by_name: HashMap<&'static str, &'static CommandSpec, foldhash::fast::RandomState>,
}

impl Default for CommandTable {
    fn default() -> Self {
        Self::new()
    }
}

impl CommandTable {
    /// The table of every command Talus has.
    pub fn new() -> CommandTable {
        let mut by_name = HashMap::default();
        for family in [
            connection::COMMANDS,
            client::COMMANDS,
            server::COMMANDS,
            strings::COMMANDS,
            bits::COMMANDS,
            keys::COMMANDS,
            transactions::COMMANDS,
            hashes::COMMANDS,
            sets::COMMANDS,
            lists::COMMANDS,
            zsets::COMMANDS,
            blocking::COMMANDS,
            introspect::COMMANDS,
            slowlog::COMMANDS,
            debug::COMMANDS,
            pubsub::COMMANDS,
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

    /// The top-level command a request names, if known (even when the request is invalid: an
    /// arity error still counts against its command).
    pub fn named(&self, args: &[Bytes]) -> Option<&'static CommandSpec> {
        self.get(args.first().map_or(&[][..], |a| &a[..]))
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
