//! Server commands: DBSIZE, FLUSHDB, FLUSHALL, TIME, COMMAND, INFO, SHUTDOWN, CONFIG, SAVE,
//! BGSAVE and LASTSAVE, with Redis 7.0's replies and error texts.
//!
//! Choices where Talus differs from Redis:
//! - DBSIZE and INFO keyspace count live keys exactly with a scan of the database's meta entries
//!   (O(N)), which is also how INFO computes `expires` and an exact `avg_ttl`.
//! - FLUSHDB/FLUSHALL are range deletes (O(1) to issue), so ASYNC and SYNC behave the same; they
//!   hold their databases exclusively while they run.
//! - SHUTDOWN's SAVE/NOSAVE/NOW/FORCE are accepted and change nothing: every acknowledged write
//!   is already in RocksDB's WAL. As in Redis, success sends no reply: the connection closes and
//!   the server stops gracefully (the `talus` process then exits 0). ABORT always answers that
//!   no shutdown is in progress, since a Talus shutdown is never pending.
//! - COMMAND reports each command's name, arity, flags and first/last/step as the table has
//!   them; ACL categories are derived from the flags and the command's family, tips are empty,
//!   and key specs are one `index`/`range` spec built from first/last/step. COMMAND DOCS gives
//!   well-formed but empty summaries (Talus carries no command docs).
//! - INFO has Redis's sections and layout (`# Section` headers, CRLF lines, a blank line
//!   between sections) with the fields Talus can fill honestly: `used_memory` is the process's
//!   resident size (RocksDB's block cache and memtables included), replication always reads as a
//!   master without replicas, and Talus adds a few `talus_*` fields. As in Redis 7.0, the
//!   default sections leave out commandstats (`INFO all`, `everything` or `commandstats` show
//!   it); errorstats is a default section. Redis's latencystats section is not there.
//! - SAVE and BGSAVE make a RocksDB checkpoint (a consistent copy that opens as a data dir; its
//!   table files are hard links where the filesystem allows) in `<dir>/checkpoints/<unix-ms>`,
//!   SAVE on the executor thread, BGSAVE on a thread of its own (`+Background saving started`;
//!   another save meanwhile gets Redis's `Background save already in progress`; inside EXEC it
//!   answers `+Background saving scheduled`, as Redis, and starts at once). LASTSAVE and INFO
//!   persistence (`rdb_last_save_time`, `rdb_bgsave_in_progress`, `rdb_last_bgsave_status`,
//!   `rdb_saves`, `talus_last_checkpoint`) follow them. Old checkpoints are kept: removing them
//!   is left to the operator. `rdb_changes_since_last_save` counts successful write commands
//!   (see [`crate::calls`]). BGSAVE's SCHEDULE is accepted; there is never another child
//!   process to wait for.

use super::{args, flags::*, CommandSpec, CommandTable, Exec, KeySpec, Locking};
use crate::calls::SaveKind;
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::storage::encoding::peek_meta;
use crate::storage::Store;
use bytes::Bytes;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{SystemTime, UNIX_EPOCH};
use talus_actors::Flow;

/// A keyless row.
const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    locking: Locking,
    handler: super::Handler,
) -> CommandSpec {
    super::spec(name, arity, flags, KeySpec::NONE, locking, handler)
}

/// The server commands (arity and flags as Redis 7.0's COMMAND reports them).
pub static COMMANDS: &[CommandSpec] = &[
    spec("dbsize", 1, READONLY | FAST, Locking::None, dbsize),
    spec("flushdb", -1, WRITE, Locking::Db, flushdb),
    spec("flushall", -1, WRITE, Locking::AllDbs, flushall),
    spec("time", 1, LOADING | STALE | FAST, Locking::None, time),
    spec("info", -1, LOADING | STALE, Locking::None, info),
    spec(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        Locking::None,
        shutdown,
    ),
    CommandSpec {
        name: "command",
        arity: -1,
        flags: LOADING | STALE,
        keys: KeySpec::NONE,
        locking: Locking::None,
        handler: command,
        subcommands: COMMAND,
    },
    super::container_spec("config", CONFIG),
    spec("save", 1, ADMIN | NOSCRIPT | NO_MULTI, Locking::None, save),
    spec("bgsave", -1, ADMIN | NOSCRIPT, Locking::None, bgsave),
    spec(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        Locking::None,
        lastsave,
    ),
];

static COMMAND: &[CommandSpec] = &[
    spec(
        "command|count",
        2,
        LOADING | STALE,
        Locking::None,
        command_count,
    ),
    spec(
        "command|info",
        -2,
        LOADING | STALE,
        Locking::None,
        command_info,
    ),
    spec(
        "command|docs",
        -2,
        LOADING | STALE,
        Locking::None,
        command_docs,
    ),
    spec(
        "command|getkeys",
        -4,
        LOADING | STALE,
        Locking::None,
        command_getkeys,
    ),
    spec(
        "command|getkeysandflags",
        -4,
        LOADING | STALE,
        Locking::None,
        command_getkeys,
    ),
    spec(
        "command|list",
        -2,
        LOADING | STALE,
        Locking::None,
        command_list,
    ),
    spec(
        "command|help",
        2,
        LOADING | STALE,
        Locking::None,
        command_help,
    ),
];

const CONFIG_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

static CONFIG: &[CommandSpec] = &[
    spec("config|get", -3, CONFIG_FLAGS, Locking::None, config_get),
    spec("config|set", -4, CONFIG_FLAGS, Locking::None, config_set),
    spec(
        "config|resetstat",
        2,
        CONFIG_FLAGS,
        Locking::None,
        config_resetstat,
    ),
    spec(
        "config|rewrite",
        2,
        CONFIG_FLAGS,
        Locking::None,
        config_rewrite,
    ),
    spec(
        "config|help",
        2,
        LOADING | STALE,
        Locking::None,
        config_help,
    ),
];

// ---- DBSIZE, FLUSHDB, FLUSHALL, TIME ------------------------------------------------------

/// `DBSIZE`: the exact number of live keys of the selected database.
fn dbsize(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    // Through the context: inside EXEC it counts the transaction's pending writes.
    let n = ex.ctx.count_keys(ex.db())?;
    Ok(Reply::Integer(n as i64))
}

/// The optional `ASYNC|SYNC` of FLUSHDB/FLUSHALL (the same thing for Talus).
fn flush_mode(args: &[Bytes]) -> Result<()> {
    match args.len() {
        1 => Ok(()),
        2 if args::is(&args[1], "async") || args::is(&args[1], "sync") => Ok(()),
        _ => Err(Error::Syntax),
    }
}

/// `FLUSHDB [ASYNC|SYNC]`.
fn flushdb(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    flush_mode(args)?;
    let db = ex.db();
    ex.ctx.flush_db(db)?;
    Ok(Reply::ok())
}

/// `FLUSHALL [ASYNC|SYNC]`.
fn flushall(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    flush_mode(args)?;
    for db in 0..ex.shared.store.databases() {
        ex.ctx.flush_db(db)?;
    }
    Ok(Reply::ok())
}

/// `TIME`: seconds and microseconds, as two bulk strings.
fn time(_ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Ok(Reply::Array(vec![
        Reply::Bulk(Bytes::from(now.as_secs().to_string())),
        Reply::Bulk(Bytes::from(now.subsec_micros().to_string())),
    ]))
}

// ---- SHUTDOWN ---------------------------------------------------------------------------

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`.
fn shutdown(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let (mut save, mut nosave, mut other, mut abort) = (false, false, false, false);
    for a in &args[1..] {
        if args::is(a, "nosave") {
            nosave = true;
        } else if args::is(a, "save") {
            save = true;
        } else if args::is(a, "now") || args::is(a, "force") {
            other = true;
        } else if args::is(a, "abort") {
            abort = true;
        } else {
            return Err(Error::Syntax);
        }
    }
    if (abort && (save || nosave || other)) || (save && nosave) {
        return Err(Error::Syntax);
    }
    if abort {
        return Err(Error::err("No shutdown in progress."));
    }
    log::info!("User requested shutdown...");
    ex.flow = Flow::Shutdown;
    Ok(Reply::NoReply)
}

// ---- COMMAND ----------------------------------------------------------------------------

/// Redis's ACL categories in the order COMMAND lists them.
const ACL_ORDER: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The category a family's commands belong to. (New families: add their table here.)
fn family_category(spec: &'static CommandSpec) -> Option<&'static str> {
    let families: [(&'static [CommandSpec], &'static str); 5] = [
        (super::strings::COMMANDS, "string"),
        (super::keys::COMMANDS, "keyspace"),
        (super::bits::COMMANDS, "bitmap"),
        (super::connection::COMMANDS, "connection"),
        (COMMAND, "connection"),
    ];
    match spec.name {
        "quit" | "auth" | "hello" => return None,
        "dbsize" | "flushdb" | "flushall" => return Some("keyspace"),
        "command" => return Some("connection"),
        n if n.starts_with("client|") => return Some("connection"),
        _ => {}
    }
    families
        .iter()
        .find(|(table, _)| table.iter().any(|s| std::ptr::eq(s, spec)))
        .map(|(_, cat)| *cat)
}

/// The ACL categories of a command: its family's, and those Redis derives from the flags.
pub fn acl_categories(spec: &'static CommandSpec) -> Vec<&'static str> {
    let f = spec.flags;
    let mut cats: Vec<&'static str> = family_category(spec).into_iter().collect();
    for (bit, cat) in [
        (WRITE, "write"),
        (READONLY, "read"),
        (PUBSUB, "pubsub"),
        (BLOCKING, "blocking"),
    ] {
        if f & bit != 0 {
            cats.push(cat);
        }
    }
    // LASTSAVE is @admin @dangerous in Redis without the admin flag.
    if f & ADMIN != 0 || spec.name == "lastsave" {
        cats.extend(["admin", "dangerous"]);
    }
    cats.push(if f & FAST != 0 { "fast" } else { "slow" });
    cats.sort_by_key(|c| ACL_ORDER.iter().position(|o| o == c));
    cats.dedup();
    cats
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn status_set<'a>(items: impl IntoIterator<Item = &'a str>) -> Reply {
    Reply::Set(
        items
            .into_iter()
            .map(|s| Reply::Simple(s.to_string().into()))
            .collect(),
    )
}

/// The flags of the key spec Talus reports for a command.
fn key_spec_flags(spec: &CommandSpec) -> &'static [&'static str] {
    if spec.is_write() {
        &["RW", "update"]
    } else {
        &["RO", "access"]
    }
}

/// One key spec from first/last/step (Redis's `lastkey` counts from the first key, or from
/// the end when negative).
fn key_specs(spec: &CommandSpec) -> Reply {
    let k = spec.keys;
    if k.first <= 0 {
        return Reply::Array(vec![]);
    }
    let lastkey = if k.last < 0 { k.last } else { k.last - k.first };
    Reply::Array(vec![Reply::Map(vec![
        (
            bulk("flags"),
            status_set(key_spec_flags(spec).iter().copied()),
        ),
        (
            bulk("begin_search"),
            Reply::Map(vec![
                (bulk("type"), bulk("index")),
                (
                    bulk("spec"),
                    Reply::Map(vec![(bulk("index"), Reply::Integer(k.first as i64))]),
                ),
            ]),
        ),
        (
            bulk("find_keys"),
            Reply::Map(vec![
                (bulk("type"), bulk("range")),
                (
                    bulk("spec"),
                    Reply::Map(vec![
                        (bulk("lastkey"), Reply::Integer(lastkey as i64)),
                        (bulk("keystep"), Reply::Integer(k.step as i64)),
                        (bulk("limit"), Reply::Integer(0)),
                    ]),
                ),
            ]),
        ),
    ])])
}

/// A command's 10-element COMMAND entry.
pub fn command_entry(spec: &'static CommandSpec) -> Reply {
    Reply::Array(vec![
        bulk(spec.name),
        Reply::Integer(spec.arity as i64),
        status_set(super::flag_names(spec.flags)),
        Reply::Integer(spec.keys.first as i64),
        Reply::Integer(spec.keys.last as i64),
        Reply::Integer(spec.keys.step as i64),
        status_set(
            acl_categories(spec)
                .iter()
                .map(|c| format!("@{c}"))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        ),
        Reply::Array(vec![]),
        key_specs(spec),
        Reply::Array(spec.subcommands.iter().map(command_entry).collect()),
    ])
}

/// Every top-level command, sorted by name (a stable order for clients and tests).
fn sorted_commands(table: &CommandTable) -> Vec<&'static CommandSpec> {
    let mut all: Vec<_> = table.all().collect();
    all.sort_by_key(|s| s.name);
    all
}

/// Looks up `name` or `container|sub`, case-insensitively.
fn lookup_full_name(table: &CommandTable, name: &[u8]) -> Option<&'static CommandSpec> {
    let mut parts = name.splitn(2, |&b| b == b'|');
    let top = table.get(parts.next()?)?;
    match parts.next() {
        None => Some(top),
        Some(sub) => top
            .subcommands
            .iter()
            .find(|s| s.short_name().as_bytes().eq_ignore_ascii_case(sub)),
    }
}

/// `COMMAND`: every command's entry.
fn command(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Array(
        sorted_commands(&ex.shared.commands)
            .into_iter()
            .map(command_entry)
            .collect(),
    ))
}

/// `COMMAND COUNT`.
fn command_count(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(ex.shared.commands.len() as i64))
}

/// `COMMAND INFO [name ...]`: entries in order, nil for unknown names; every command without
/// names.
fn command_info(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    if args.len() == 2 {
        return command(ex, args);
    }
    let table = &ex.shared.commands;
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|n| lookup_full_name(table, n).map_or(Reply::Nil, command_entry))
            .collect(),
    ))
}

fn doc_entry(spec: &'static CommandSpec) -> Reply {
    let group = match family_category(spec) {
        Some("keyspace") if !spec.name.starts_with("flush") && spec.name != "dbsize" => "generic",
        Some("connection") => "connection",
        Some("string") => "string",
        Some("bitmap") => "bitmap",
        _ => "server",
    };
    let mut fields = vec![
        (bulk("summary"), bulk("")),
        (bulk("since"), bulk("")),
        (bulk("group"), bulk(group)),
    ];
    if !spec.subcommands.is_empty() {
        fields.push((
            bulk("subcommands"),
            Reply::Map(
                spec.subcommands
                    .iter()
                    .map(|s| (bulk(s.name), doc_entry(s)))
                    .collect(),
            ),
        ));
    }
    Reply::Map(fields)
}

/// `COMMAND DOCS [name ...]`: a map of name to (minimal) docs; unknown names are left out.
fn command_docs(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let table = &ex.shared.commands;
    let specs: Vec<&'static CommandSpec> = if args.len() == 2 {
        sorted_commands(table)
    } else {
        args[2..]
            .iter()
            .filter_map(|n| lookup_full_name(table, n))
            .collect()
    };
    Ok(Reply::Map(
        specs
            .into_iter()
            .map(|s| (bulk(s.name), doc_entry(s)))
            .collect(),
    ))
}

/// `COMMAND GETKEYS cmd arg ...` and `COMMAND GETKEYSANDFLAGS cmd arg ...`.
fn command_getkeys(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let with_flags = args::is(&args[1], "getkeysandflags");
    let target = &args[2..];
    let table = &ex.shared.commands;
    let spec = table.get(&target[0]).and_then(|top| {
        if top.subcommands.is_empty() || target.len() < 2 {
            Some(top)
        } else {
            top.subcommands
                .iter()
                .find(|s| s.short_name().as_bytes().eq_ignore_ascii_case(&target[1]))
        }
    });
    let Some(spec) = spec else {
        return Err(Error::err("Invalid command specified"));
    };
    if spec.keys.first <= 0 && spec.flags & MOVABLEKEYS == 0 {
        return Err(Error::err("The command has no key arguments"));
    }
    if !spec.arity_ok(target.len()) {
        return Err(Error::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let keys: Vec<usize> = spec.keys.positions(target.len()).collect();
    if keys.is_empty() {
        return Err(Error::err("Invalid arguments specified for command"));
    }
    Ok(Reply::Array(
        keys.into_iter()
            .map(|i| {
                let key = Reply::Bulk(target[i].clone());
                if with_flags {
                    Reply::Array(vec![key, status_set(key_spec_flags(spec).iter().copied())])
                } else {
                    key
                }
            })
            .collect(),
    ))
}

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]`: the names of
/// every command and subcommand.
fn command_list(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    enum Filter<'a> {
        None,
        Module,
        AclCat(&'a [u8]),
        Pattern(&'a [u8]),
    }
    let mut filter = Filter::None;
    let mut i = 2;
    while i < args.len() {
        if args::is(&args[i], "filterby") && args.len() - 1 - i == 2 {
            let arg = &args[i + 2][..];
            filter = if args::is(&args[i + 1], "module") {
                Filter::Module
            } else if args::is(&args[i + 1], "aclcat") {
                Filter::AclCat(arg)
            } else if args::is(&args[i + 1], "pattern") {
                Filter::Pattern(arg)
            } else {
                return Err(Error::Syntax);
            };
            i += 3;
        } else {
            return Err(Error::Syntax);
        }
    }
    let mut out = vec![];
    for top in sorted_commands(&ex.shared.commands) {
        for spec in std::iter::once(top).chain(top.subcommands.iter()) {
            let keep = match filter {
                Filter::None => true,
                Filter::Module => false,
                Filter::AclCat(cat) => acl_categories(spec)
                    .iter()
                    .any(|c| c.as_bytes().eq_ignore_ascii_case(cat)),
                Filter::Pattern(p) => crate::util::glob::glob_match(p, spec.name.as_bytes(), true),
            };
            if keep {
                out.push(bulk(spec.name));
            }
        }
    }
    Ok(Reply::Array(out))
}

/// `COMMAND HELP`.
fn command_help(_ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(super::connection::help_reply(
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    ))
}

// ---- CONFIG -----------------------------------------------------------------------------

/// `CONFIG GET parameter [parameter ...]`: a map of name to value.
fn config_get(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let patterns: Vec<&[u8]> = args[2..].iter().map(|a| a.as_ref()).collect();
    Ok(Reply::Map(
        ex.shared
            .config
            .get_many(&patterns)
            .into_iter()
            .map(|(name, value)| (bulk(&name), Reply::Bulk(value)))
            .collect(),
    ))
}

/// `CONFIG SET parameter value [parameter value ...]`: all or nothing.
fn config_set(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    if !args.len().is_multiple_of(2) {
        return Err(Error::Arity("config|set".into()));
    }
    let pairs: Vec<(&[u8], &[u8])> = args[2..]
        .chunks(2)
        .map(|p| (p[0].as_ref(), p[1].as_ref()))
        .collect();
    let config = &ex.shared.config;
    config.set(&pairs)?;
    ex.shared.calls.configure(config);
    // The store keeps its own copy of the fsync policy, read on every write.
    ex.shared.store.set_fsync(config.appendfsync());
    ex.shared
        .store
        .cache
        .set_capacity(config.cache_max_memory());
    Ok(Reply::ok())
}

/// `CONFIG RESETSTAT`: zeroes the INFO counters.
fn config_resetstat(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    let (s, c) = (&ex.shared.stats, &ex.shared.conn_stats);
    for counter in [
        &s.total_commands,
        &s.expired_keys,
        &s.keyspace_hits,
        &s.keyspace_misses,
    ] {
        counter.store(0, Relaxed);
    }
    c.total_connections_received.store(0, Relaxed);
    c.rejected_connections.store(0, Relaxed);
    // Commandstats, errorstats, total_error_replies, the ops/sec samples (not the slow log).
    ex.shared.calls.reset_stats();
    Ok(Reply::ok())
}

/// `CONFIG REWRITE`.
fn config_rewrite(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    ex.shared.config.rewrite()?;
    log::info!("CONFIG REWRITE executed with success.");
    Ok(Reply::ok())
}

/// `CONFIG HELP`.
fn config_help(_ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(super::connection::help_reply(
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    ))
}

// ---- SAVE, BGSAVE, LASTSAVE -------------------------------------------------------------

/// `SAVE`: a checkpoint, made before the reply.
fn save(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    let calls = &ex.shared.calls;
    if !calls.saves.try_begin(SaveKind::Foreground, calls.writes()) {
        return Err(Error::err("Background save already in progress"));
    }
    let result = make_checkpoint(&ex.shared.store);
    let ok = result.is_ok();
    calls.saves.finish(result);
    if ok {
        log::info!("DB saved on disk");
        Ok(Reply::ok())
    } else {
        // Redis answers a bare `-ERR` (the cause is in the log).
        Err(Error::raw("ERR"))
    }
}

/// `BGSAVE [SCHEDULE]`: a checkpoint made on a thread of its own.
fn bgsave(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    if args.len() > 2 || (args.len() == 2 && !args::is(&args[1], "schedule")) {
        return Err(Error::Syntax);
    }
    let calls = &ex.shared.calls;
    if !calls.saves.try_begin(SaveKind::Background, calls.writes()) {
        return Err(Error::err("Background save already in progress"));
    }
    let store = ex.shared.store.clone();
    let saves = calls.saves.clone();
    let started = std::thread::Builder::new()
        .name("talus-bgsave".into())
        .spawn(move || {
            let result = make_checkpoint(&store);
            if let Ok(path) = &result {
                log::info!(
                    "Background saving terminated with success: {}",
                    path.display()
                );
            }
            saves.finish(result);
        });
    if let Err(e) = started {
        calls
            .saves
            .finish(Err(format!("cannot start the save thread: {e}")));
        return Err(Error::raw("ERR"));
    }
    log::info!("Background saving started");
    // Redis schedules a BGSAVE sent inside EXEC (it starts from its cron).
    Ok(Reply::simple(if ex.session.in_exec {
        "Background saving scheduled"
    } else {
        "Background saving started"
    }))
}

/// `LASTSAVE`: Unix seconds of the last successful save (the start time before any).
fn lastsave(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(ex.shared.calls.saves.last_save() as i64))
}

/// Makes a checkpoint in a new `<dir>/checkpoints/<unix-ms>` directory and returns its path.
fn make_checkpoint(store: &Store) -> std::result::Result<PathBuf, String> {
    let base = store.path().join("checkpoints");
    std::fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    // RocksDB stages the copy in `<target>.tmp`: neither may exist.
    let free = |p: &PathBuf| !p.exists() && !p.with_extension("tmp").exists();
    let mut target = base.join(ms.to_string());
    let mut n = 1;
    while !free(&target) {
        target = base.join(format!("{ms}-{n}"));
        n += 1;
    }
    store
        .checkpoint(&target)
        .map_err(|e| format!("checkpoint {}: {e}", target.display()))?;
    Ok(target)
}

// ---- INFO -------------------------------------------------------------------------------

/// INFO's sections in output order, and whether INFO without arguments (`default`) shows
/// them; `all` and `everything` show them all.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("cluster", true),
    ("keyspace", true),
    ("rocksdb", true),
];

/// `INFO [section ...]`.
fn info(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let mut wanted = [false; SECTIONS.len()];
    let default = |wanted: &mut [bool; SECTIONS.len()]| {
        for (w, (_, d)) in wanted.iter_mut().zip(SECTIONS) {
            *w |= *d;
        }
    };
    if args.len() == 1 {
        default(&mut wanted);
    }
    for a in &args[1..] {
        if args::is(a, "default") {
            default(&mut wanted);
        } else if args::is(a, "all") || args::is(a, "everything") {
            wanted = [true; SECTIONS.len()];
        } else if let Some(i) = SECTIONS.iter().position(|(s, _)| args::is(a, s)) {
            wanted[i] = true;
        }
    }
    let mut out = String::new();
    for (i, (name, _)) in SECTIONS.iter().enumerate() {
        if !wanted[i] {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let title = format!("{}{}", name[..1].to_ascii_uppercase(), &name[1..]);
        let title = match *name {
            "cpu" => "CPU".to_string(),
            "rocksdb" => "RocksDB".to_string(),
            _ => title,
        };
        let _ = write!(out, "# {title}\r\n");
        for (k, v) in section(ex, name)? {
            let _ = write!(out, "{k}:{v}\r\n");
        }
    }
    Ok(Reply::Verbatim("txt", Bytes::from(out)))
}

type Fields = Vec<(String, String)>;

fn section(ex: &Exec<'_, '_>, name: &str) -> Result<Fields> {
    let mut f: Fields = vec![];
    let mut put = |k: &str, v: String| f.push((k.to_string(), v));
    let shared = ex.shared;
    let config = &shared.config;
    match name {
        "server" => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let uptime = shared.started.elapsed().as_secs();
            put("redis_version", super::connection::REDIS_VERSION.into());
            put("redis_git_sha1", "00000000".into());
            put("redis_git_dirty", "0".into());
            put("redis_build_id", "0".into());
            put("redis_mode", "standalone".into());
            put("os", os_name());
            put("arch_bits", usize::BITS.to_string());
            put("multiplexing_api", multiplexing_api().into());
            put("process_id", std::process::id().to_string());
            put("process_supervised", "no".into());
            put("run_id", shared.run_id.clone());
            put("tcp_port", ex.session.local.port().to_string());
            put("server_time_usec", now.as_micros().to_string());
            put("uptime_in_seconds", uptime.to_string());
            put("uptime_in_days", (uptime / 86400).to_string());
            put("hz", config.hz().to_string());
            put("configured_hz", config.hz().to_string());
            let exe = std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            put("executable", exe);
            let file = config
                .config_file()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            put("config_file", file);
            put("io_threads_active", "0".into());
            put("talus_version", env!("CARGO_PKG_VERSION").into());
            put("talus_io_threads", config.io_threads().to_string());
            put("talus_exec_threads", config.exec_threads().to_string());
        }
        "clients" => {
            put(
                "connected_clients",
                shared.conn_stats.connected().to_string(),
            );
            put("cluster_connections", "0".into());
            put("maxclients", config.limits().maxclients().to_string());
            put(
                "blocked_clients",
                shared.waiters.blocked_clients().to_string(),
            );
            put("tracking_clients", "0".into());
            put("pubsub_clients", shared.pubsub.clients().to_string());
        }
        "memory" => {
            let rss = resident_bytes();
            let maxmemory = config.int("maxmemory").unwrap_or(0).max(0) as u64;
            put("used_memory", rss.to_string());
            put("used_memory_human", bytes_to_human(rss));
            put("used_memory_rss", rss.to_string());
            put("used_memory_rss_human", bytes_to_human(rss));
            put("maxmemory", maxmemory.to_string());
            put("maxmemory_human", bytes_to_human(maxmemory));
            put(
                "maxmemory_policy",
                config.value("maxmemory-policy").unwrap_or_default(),
            );
            put("mem_allocator", "libc".into());
            let (memtables, cache) = rocksdb_memory(&shared.store);
            put("talus_rocksdb_memtables", memtables.to_string());
            put("talus_rocksdb_block_cache", cache.to_string());
        }
        "persistence" => {
            let saves = shared.calls.saves.state();
            let bg = saves.running == Some(SaveKind::Background);
            let current = if bg {
                crate::calls::unix_secs().saturating_sub(saves.started) as i64
            } else {
                -1
            };
            put("loading", "0".into());
            put("async_loading", "0".into());
            put(
                "rdb_changes_since_last_save",
                shared.calls.changes_since_save().to_string(),
            );
            put("rdb_bgsave_in_progress", (bg as u8).to_string());
            put("rdb_last_save_time", saves.last_save.to_string());
            let status = if saves.last_ok { "ok" } else { "err" };
            put("rdb_last_bgsave_status", status.into());
            put(
                "rdb_last_bgsave_time_sec",
                saves.last_bgsave_secs.to_string(),
            );
            put("rdb_current_bgsave_time_sec", current.to_string());
            put("rdb_saves", saves.saves.to_string());
            let aof = config.flag("appendonly").unwrap_or(false);
            put("aof_enabled", (aof as u8).to_string());
            put("aof_rewrite_in_progress", "0".into());
            put("aof_last_write_status", "ok".into());
            put("talus_wal_fsync", shared.store.fsync().name().into());
            let last = saves.last_path.map(|p| p.display().to_string());
            put("talus_last_checkpoint", last.unwrap_or_default());
        }
        "stats" => {
            let s = &shared.stats;
            let c = &shared.conn_stats;
            put("total_connections_received", c.total_received().to_string());
            put(
                "total_commands_processed",
                s.total_commands.load(Relaxed).to_string(),
            );
            put(
                "instantaneous_ops_per_sec",
                shared.calls.ops_per_sec().to_string(),
            );
            put("rejected_connections", c.rejected().to_string());
            put("expired_keys", s.expired_keys.load(Relaxed).to_string());
            put("evicted_keys", "0".into());
            put("keyspace_hits", s.keyspace_hits.load(Relaxed).to_string());
            put(
                "keyspace_misses",
                s.keyspace_misses.load(Relaxed).to_string(),
            );
            put(
                "total_error_replies",
                shared.calls.total_error_replies().to_string(),
            );
            put("pubsub_channels", shared.pubsub.numchannels().to_string());
            put("pubsub_patterns", shared.pubsub.numpat().to_string());
        }
        "replication" => {
            put("role", "master".into());
            put("connected_slaves", "0".into());
            put("master_failover_state", "no-failover".into());
            put("master_replid", shared.run_id.clone());
            put("master_replid2", "0".repeat(40));
            put("master_repl_offset", "0".into());
            put("second_repl_offset", "-1".into());
            put("repl_backlog_active", "0".into());
        }
        "cpu" => {
            let (sys, user) = cpu_times(libc::RUSAGE_SELF);
            let (csys, cuser) = cpu_times(libc::RUSAGE_CHILDREN);
            put("used_cpu_sys", sys);
            put("used_cpu_user", user);
            put("used_cpu_sys_children", csys);
            put("used_cpu_user_children", cuser);
        }
        "cluster" => put("cluster_enabled", "0".into()),
        "commandstats" => {
            for c in shared.calls.commandstats() {
                // Redis divides as floats (`(float)usec/calls`) and prints `%.2f`.
                let per_call = if c.calls == 0 {
                    0.0
                } else {
                    c.usec as f32 / c.calls as f32
                };
                put(
                    &format!("cmdstat_{}", c.name),
                    format!(
                        "calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}",
                        c.calls, c.usec, per_call as f64, c.rejected, c.failed
                    ),
                );
            }
        }
        "errorstats" => {
            for (code, n) in shared.calls.errorstats() {
                put(&format!("errorstat_{code}"), format!("count={n}"));
            }
        }
        "rocksdb" => {
            for (k, v) in super::introspect::rocksdb_info(&shared.store) {
                put(&k, v);
            }
        }
        "keyspace" => {
            let now = ex.ctx.now_ms;
            for db in 0..shared.store.databases() {
                let (keys, expires, avg_ttl) = keyspace_counts(&shared.store, db, now)?;
                if keys > 0 {
                    put(
                        &format!("db{db}"),
                        format!("keys={keys},expires={expires},avg_ttl={avg_ttl}"),
                    );
                }
            }
        }
        _ => {}
    }
    Ok(f)
}

/// Live keys, keys with a TTL, and their average remaining TTL in ms, of one database.
fn keyspace_counts(store: &crate::storage::Store, db: u16, now: u64) -> Result<(u64, u64, u64)> {
    let (mut keys, mut expires, mut ttl_sum) = (0u64, 0u64, 0u128);
    store.scan_meta_raw(db, None, |_, raw| {
        if let Some((_, expire, _)) = peek_meta(raw) {
            if expire == 0 {
                keys += 1;
            } else if expire > now {
                keys += 1;
                expires += 1;
                ttl_sum += (expire - now) as u128;
            }
        }
        true
    })?;
    let avg = if expires > 0 {
        (ttl_sum / expires as u128) as u64
    } else {
        0
    };
    Ok((keys, expires, avg))
}

/// `uname -s -r -m`, as Redis's INFO `os`.
fn os_name() -> String {
    // SAFETY: uname fills a zeroed struct; the fields are NUL-terminated C strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return std::env::consts::OS.to_string();
        }
        let s = |f: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(f.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!("{} {} {}", s(&u.sysname), s(&u.release), s(&u.machine))
    }
}

fn multiplexing_api() -> &'static str {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        "epoll"
    } else if cfg!(any(
        target_os = "macos",
        target_os = "freebsd",
        target_os = "openbsd"
    )) {
        "kqueue"
    } else {
        "poll"
    }
}

/// The process's resident set size in bytes (0 where /proc is not available).
fn resident_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as u64
}

/// RocksDB's memtable bytes (every column family) and block-cache bytes.
fn rocksdb_memory(store: &crate::storage::Store) -> (u64, u64) {
    use crate::storage::{CF_DATA, CF_META, CF_SCORE};
    let db = store.db();
    let memtables: u64 = [
        rocksdb::DEFAULT_COLUMN_FAMILY_NAME,
        CF_META,
        CF_DATA,
        CF_SCORE,
    ]
    .iter()
    .filter_map(|cf| {
        db.property_int_value_cf(store.cf(cf), "rocksdb.cur-size-all-mem-tables")
            .ok()
            .flatten()
    })
    .sum();
    let cache = db
        .property_int_value_cf(store.cf(CF_META), "rocksdb.block-cache-usage")
        .ok()
        .flatten()
        .unwrap_or(0);
    (memtables, cache)
}

/// Redis's `bytesToHuman`.
fn bytes_to_human(n: u64) -> String {
    let n_f = n as f64;
    const K: f64 = 1024.0;
    if n < 1024 {
        format!("{n}B")
    } else if n_f < K * K {
        format!("{:.2}K", n_f / K)
    } else if n_f < K * K * K {
        format!("{:.2}M", n_f / (K * K))
    } else if n_f < K * K * K * K {
        format!("{:.2}G", n_f / (K * K * K))
    } else if n_f < K * K * K * K * K {
        format!("{:.2}T", n_f / (K * K * K * K))
    } else {
        format!("{:.2}P", n_f / (K * K * K * K * K))
    }
}

/// System and user CPU seconds (`%ld.%06ld`) from getrusage.
fn cpu_times(who: libc::c_int) -> (String, String) {
    // SAFETY: getrusage fills a zeroed struct.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut u);
        u
    };
    let fmt = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    (fmt(u.ru_stime), fmt(u.ru_utime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1536 * 1024), "1.50M");
        assert_eq!(bytes_to_human(1 << 30), "1.00G");
    }

    #[test]
    fn categories() {
        let get = super::super::strings::COMMANDS
            .iter()
            .find(|s| s.name == "get")
            .unwrap();
        assert_eq!(acl_categories(get), vec!["read", "string", "fast"]);
        let cfg_get = &CONFIG[0];
        assert_eq!(acl_categories(cfg_get), vec!["admin", "slow", "dangerous"]);
        let flushall = COMMANDS.iter().find(|s| s.name == "flushall").unwrap();
        assert_eq!(acl_categories(flushall), vec!["keyspace", "write", "slow"]);
    }
}
