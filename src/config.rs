//! Configuration: the parameter table, redis.conf loading, command-line flags, CONFIG GET/SET
//! and CONFIG REWRITE, with Redis 7.0's syntax, validation and error texts.
//!
//! The parameters are data ([`PARAMS`]): name and alias, type with its bounds, default, whether
//! CONFIG SET may change it, and where its value also goes for cheap reads on hot paths (the
//! actor pipeline's [`Limits`] atomics, the password, the fsync policy, the keyspace-event
//! classes). Every value lives in one table guarded by a lock; CONFIG GET renders from it.
//!
//! Loading follows `redis-server`: `talus [/path/to/talus.conf] [--name value ...]`. The file has
//! redis.conf syntax (`name value ...` per line, `#` comments, arguments split and unquoted as
//! Redis's `sdssplitargs`, `include other.conf`); the flags are applied after the file, as if
//! appended to it, so they override it. An unknown directive, a wrong number of arguments or a bad
//! value stops the start with Redis's message naming the line. Memory sizes take Redis's units
//! (`1k` = 1000, `1kb` = 1024, `m`/`mb`, `g`/`gb`, any case) and are reported in bytes.
//!
//! What Talus does with each parameter, where it differs from Redis:
//! - `port 0` means "any free port" (Redis: no TCP listener); the log line and INFO show the
//!   real port. `bind`, `port`, `dir`, `databases`, `io-threads`, `exec-threads` (Talus's
//!   executor threads), `exec-transport`, `logfile` and `daemonize` are fixed at start (CONFIG SET refuses them as
//!   immutable; Redis can rebind at run time). An empty `bind` listens on 0.0.0.0; a leading `-`
//!   (optional address) and `*` / `::*` are accepted as in Redis.
//! - `dir` is the RocksDB directory itself (default `./talus-data`); CONFIG GET reports it as an
//!   absolute path, as Redis reports its working directory.
//! - `daemonize` accepts only `no`: run Talus under a service manager.
//! - `appendfsync` is the WAL fsync policy (see DESIGN §5) and takes effect at once.
//!   `appendonly` and `save` are accepted, validated and reported but change nothing: every
//!   write goes to RocksDB's WAL whatever they say, and there is no RDB snapshot.
//! - `maxclients`, `timeout`, `proto-max-bulk-len` and `client-query-buffer-limit` go to the
//!   pipeline's [`Limits`]; `requirepass` to the AUTH check; `notify-keyspace-events` to
//!   [`Config::notify_keyspace_events`]; `loglevel` to whoever registered an [`Config::on_set`]
//!   hook (the `talus` binary adjusts its logger).
//! - `client-output-buffer-limit` goes to [`Config::output_limit`] (one limit per
//!   [`ClientClass`]). As in Redis, CONFIG SET and each config-file line change only the
//!   classes they name, CONFIG GET lists `normal`, `slave`, `pubsub` in bytes, and CONFIG
//!   REWRITE writes one line per class (`replica` for `slave`, sizes with units).
//! - `maxmemory`, `maxmemory-policy`, `protected-mode`, `tcp-keepalive`, `hz` and the
//!   `lazyfree-lazy-*` parameters are stored and reported (for tools that read them) but
//!   not enforced yet.
//! - The encoding parameters (`hash-max-listpack-*`, `zset-max-listpack-*`,
//!   `set-max-intset-entries`, `list-max-listpack-size`, `list-compress-depth`, `stream-node-*`,
//!   `activerehashing`, and the `*-ziplist-*` aliases) are validated as Redis does, stored and
//!   reported, but do not change Talus's on-disk format, which is the same for every size.
//!
//! CONFIG GET takes several names or glob patterns; an exact name is answered under the name as
//! typed, a pattern lists every matching name (aliases included, as Redis 7.0 does), each once.
//! CONFIG SET takes several pairs and applies all or none: the first unknown, immutable or
//! duplicate name, or the first bad value, fails the whole command with Redis's text.

use crate::error::{Error, Result};
use crate::storage::Fsync;
use crate::util::glob::glob_match;
use bytes::Bytes;
use parking_lot::RwLock;
use std::borrow::Cow;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use talus_actors::{Limits, OutputLimit};

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const LONG_MAX: i64 = i64::MAX;

/// Redis 7.0's `hz` is clamped into this range.
const HZ_RANGE: (i64, i64) = (1, 500);

/// How deep `include` may nest (a cycle otherwise recurses forever).
const MAX_INCLUDE_DEPTH: usize = 16;

/// The type of a parameter, with Redis's validation.
#[derive(Debug, Clone, Copy)]
pub enum Type {
    /// `yes` / `no` (any case).
    Bool,
    /// An integer (Redis `string2ll`) within bounds.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A memory size (Redis `memtoull`, with units) within bounds, reported in bytes.
    Memory {
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// One of a list of words (any case), reported in lower case.
    Enum(&'static [&'static str]),
    /// Any string.
    Str,
    /// A CPU list (`0-7:2,9`; see [`crate::util::cpulist`]), reported as written.
    CpuList,
    /// `save`: pairs of seconds and changes, or `""`.
    Save,
    /// `bind`: a list of addresses.
    Bind,
    /// `notify-keyspace-events`: class letters.
    Events,
    /// A yes/no parameter that only accepts `no` (`daemonize`).
    OnlyNo,
    /// `client-output-buffer-limit`: groups of `<class> <hard> <soft> <soft-seconds>`; a
    /// CONFIG SET or a directive changes only the classes it names.
    OutputBufferLimit,
}

/// Where a parameter's value is also kept, for cheap reads on hot paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Only in the table.
    Table,
    /// `Limits::proto_max_bulk_len`.
    ProtoMaxBulkLen,
    /// `Limits::client_query_buffer_limit`.
    QueryBufferLimit,
    /// `Limits::maxclients`.
    MaxClients,
    /// `Limits::timeout_secs`.
    Timeout,
    /// The AUTH password.
    RequirePass,
    /// The WAL fsync policy.
    AppendFsync,
    /// The keyspace-event classes.
    NotifyEvents,
    /// The per-class output-buffer limits ([`Config::output_limit`]).
    OutputLimits,
}

/// One configuration parameter.
#[derive(Debug)]
pub struct Param {
    /// Canonical name.
    pub name: &'static str,
    /// Another name for it (Redis 7.0's `*-ziplist-*` names).
    pub alias: Option<&'static str>,
    /// Type and validation.
    pub ty: Type,
    /// Default, in config-file syntax.
    pub default: &'static str,
    /// True when CONFIG SET may change it.
    pub mutable: bool,
    /// Where the value also goes.
    pub target: Target,
}

const fn p(name: &'static str, ty: Type, default: &'static str, mutable: bool) -> Param {
    Param {
        name,
        alias: None,
        ty,
        default,
        mutable,
        target: Target::Table,
    }
}

const fn to(mut param: Param, target: Target) -> Param {
    param.target = target;
    param
}

const fn alias(mut param: Param, alias: &'static str) -> Param {
    param.alias = Some(alias);
    param
}

const fn int(min: i64, max: i64) -> Type {
    Type::Int { min, max }
}

const fn mem(min: u64, max: u64) -> Type {
    Type::Memory { min, max }
}

const MB: u64 = 1024 * 1024;

/// The smallest `rocksdb-meta-write-buffer-size` accepted (its default is 1mb).
const META_WRITE_BUFFER_MIN: u64 = 256 * 1024;

/// Every parameter Talus has, in the order CONFIG GET `*` lists them.
pub static PARAMS: &[Param] = &[
    p("bind", Type::Bind, "127.0.0.1", false),
    p("port", int(0, 65535), "6379", false),
    p("dir", Type::Str, "talus-data", false),
    p("databases", int(1, 65535), "16", false),
    to(p("requirepass", Type::Str, "", true), Target::RequirePass),
    // Workers and executors: 1 + 1 measured faster than 2 + 2 on 2 cores (see the README).
    // TODO(lead): measure on more cores before making these defaults depend on the core count.
    p("io-threads", int(1, 128), "1", false),
    p("exec-threads", int(1, 1024), "1", false),
    // The CPUs the workers and executors are bound to (Redis: the main and I/O threads);
    // empty = no binding. Fixed at start, as in Redis.
    p("server_cpulist", Type::CpuList, "", false),
    // Talus's own: workers and executors run under SCHED_BATCH, so a waking worker does not
    // preempt an executor mid-round (measured; see util::sched and the README). Fixed at start.
    p("sched-batch", Type::Bool, "yes", false),
    // Talus's own: how batches reach the executors (fixed at start; see
    // talus_actors::ExecTransport and the README's Threads section).
    p(
        "exec-transport",
        Type::Enum(&[
            "direct",
            "forwarded",
            "syncarbiter",
            "syncarbiter-dedicated",
        ]),
        "direct",
        false,
    ),
    // Talus's own: the bound of the in-memory meta cache in front of RocksDB (0 = off).
    p("cache-max-memory", mem(0, LONG_MAX as u64), "256mb", true),
    // Talus's own: RocksDB's memtable size of the column families but `meta` (fixed at start):
    // collections' elements. 64mb, RocksDB's and Kvrocks's default: an HSET, SADD or ZADD looks
    // its element up before writing it, and a big memtable answers that lookup for the recent
    // elements without probing table files. Against 8mb, warm-server HSET did 1.02-1.26x the
    // requests/s (medians 1.17x and 1.16x over 8 and 6 interleaved rounds); SADD, SPOP, ZADD,
    // ZPOPMIN 0.98-1.05x (medians). Strings live in `meta`, which keeps its own small memtable.
    p("rocksdb-write-buffer-size", mem(MB, 1 << 30), "64mb", false),
    // Talus's own: the memtable size of the meta column family (fixed at start), where every
    // string write and every key's metadata lands. Smaller than the others: a skip-list insert
    // there is the executor's largest cost under MULTI + 10 INCR + EXEC (half its samples at
    // 8mb); at 2mb the executor spent 14-31 % less CPU per transaction than at 8mb (flushes and
    // compactions, on RocksDB's threads, took 4 us more), four interleaved rounds gave
    // 31.8k/31.2k/29.1k/27.2k tx/s against 27.9k/28.1k/29.6k/27.8k, and bench/transactions.sh
    // 0.526/0.522 of redis-server against 0.507/0.488. At 1mb (with the meta column family's
    // L0 compaction trigger raised to 16 so its compactions stay as rare, see storage) the
    // executor spent another 6-13 % less per transaction (medians of four batches of 6-8
    // paired rounds), tx/s 1.00-1.07x; SET, GET, INCR, HSET, SADD, SPOP and SET -P 16 within noise.
    p(
        "rocksdb-meta-write-buffer-size",
        mem(META_WRITE_BUFFER_MIN, 1 << 30),
        "1mb",
        false,
    ),
    p("appendonly", Type::Bool, "no", true),
    to(
        p(
            "appendfsync",
            Type::Enum(&["everysec", "always", "no"]),
            "everysec",
            true,
        ),
        Target::AppendFsync,
    ),
    p("save", Type::Save, "3600 1 300 100 60 10000", true),
    to(
        p("maxclients", int(1, u32::MAX as i64), "10000", true),
        Target::MaxClients,
    ),
    to(p("timeout", int(0, INT_MAX), "0", true), Target::Timeout),
    to(
        p(
            "proto-max-bulk-len",
            mem(MB, LONG_MAX as u64),
            "512mb",
            true,
        ),
        Target::ProtoMaxBulkLen,
    ),
    to(
        p(
            "client-query-buffer-limit",
            mem(MB, LONG_MAX as u64),
            "1gb",
            true,
        ),
        Target::QueryBufferLimit,
    ),
    // The default as CONFIG GET prints it (Redis's redis.conf spells it with units).
    to(
        p(
            "client-output-buffer-limit",
            Type::OutputBufferLimit,
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
            true,
        ),
        Target::OutputLimits,
    ),
    p("tcp-keepalive", int(0, INT_MAX), "300", true),
    p(
        "loglevel",
        Type::Enum(&["debug", "verbose", "notice", "warning"]),
        "notice",
        true,
    ),
    p("logfile", Type::Str, "", false),
    p("daemonize", Type::OnlyNo, "no", false),
    p("protected-mode", Type::Bool, "yes", true),
    p("maxmemory", mem(0, u64::MAX), "0", true),
    p(
        "maxmemory-policy",
        Type::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        "noeviction",
        true,
    ),
    p("hz", int(0, INT_MAX), "10", true),
    to(
        p("notify-keyspace-events", Type::Events, "", true),
        Target::NotifyEvents,
    ),
    p("slowlog-log-slower-than", int(-1, LONG_MAX), "10000", true),
    p("slowlog-max-len", int(0, LONG_MAX), "128", true),
    // DEBUG is refused unless this is `yes`, or `local` and the client is on loopback.
    p(
        "enable-debug-command",
        Type::Enum(&["no", "yes", "local"]),
        "no",
        false,
    ),
    p("lazyfree-lazy-eviction", Type::Bool, "no", true),
    p("lazyfree-lazy-expire", Type::Bool, "no", true),
    p("lazyfree-lazy-server-del", Type::Bool, "no", true),
    p("lazyfree-lazy-user-del", Type::Bool, "no", true),
    p("lazyfree-lazy-user-flush", Type::Bool, "no", true),
    alias(
        p("hash-max-listpack-entries", int(0, LONG_MAX), "512", true),
        "hash-max-ziplist-entries",
    ),
    alias(
        p(
            "hash-max-listpack-value",
            mem(0, LONG_MAX as u64),
            "64",
            true,
        ),
        "hash-max-ziplist-value",
    ),
    p("set-max-intset-entries", int(0, LONG_MAX), "512", true),
    alias(
        p("zset-max-listpack-entries", int(0, LONG_MAX), "128", true),
        "zset-max-ziplist-entries",
    ),
    alias(
        p(
            "zset-max-listpack-value",
            mem(0, LONG_MAX as u64),
            "64",
            true,
        ),
        "zset-max-ziplist-value",
    ),
    alias(
        p("list-max-listpack-size", int(INT_MIN, INT_MAX), "-2", true),
        "list-max-ziplist-size",
    ),
    p("list-compress-depth", int(0, INT_MAX), "0", true),
    p(
        "stream-node-max-bytes",
        mem(0, LONG_MAX as u64),
        "4096",
        true,
    ),
    p("stream-node-max-entries", int(0, LONG_MAX), "100", true),
    p("activerehashing", Type::Bool, "yes", true),
];

/// Directives Redis 7.0 still accepts and ignores (name, min and max argument count).
const DEPRECATED: &[(&str, usize, usize)] = &[
    ("list-max-ziplist-entries", 2, 2),
    ("list-max-ziplist-value", 2, 2),
    ("lua-replicate-commands", 2, 2),
];

/// Redis's keyspace-event class bits (`server.h` `NOTIFY_*`).
pub mod notify {
    /// `K`: `__keyspace@<db>__` events.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: `__keyevent@<db>__` events.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u32 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u32 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u32 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted-set commands.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: expired events.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: evicted events.
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: key misses (not part of `A`).
    pub const KEY_MISS: u32 = 1 << 11;
    /// `d`: module events.
    pub const MODULE: u32 = 1 << 13;
    /// `n`: new keys (not part of `A`).
    pub const NEW: u32 = 1 << 14;
    /// `A`: alias for `g$lshzxetd`.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

    /// The bit of a `notify-keyspace-events` letter (`'g'`, `'$'`, `'K'`, `'A'`, ...; the
    /// class letters are also what `Ctx::notify` takes); 0 for any other character.
    pub fn class_bit(class: char) -> u32 {
        match class {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => 0,
        }
    }
}

/// Client classes with their own output-buffer limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientClass {
    /// Ordinary clients.
    Normal = 0,
    /// Replicas (Redis's `slave` class; `replica` is accepted too).
    Replica = 1,
    /// Clients subscribed to channels or patterns.
    PubSub = 2,
}

/// The `client-output-buffer-limit` classes in Redis's order, as CONFIG GET names them
/// (CONFIG REWRITE writes `replica` for `slave`).
const OBUF_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// A parameter's current value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Bool(bool),
    Int(i64),
    Mem(u64),
    Enum(&'static str),
    Str(Bytes),
    Save(Vec<(i64, i64)>),
    Bind(Vec<String>),
    Events(u32),
    /// Per class (index = [`ClientClass`]); `None` = not given, which only a parsed CONFIG SET
    /// or directive has: the stored value always has all three (see [`merge`]).
    Obuf([Option<OutputLimit>; 3]),
}

/// A hook called after a successful CONFIG SET, once per parameter, with its canonical name and
/// its new value as CONFIG GET reports it.
pub type SetHook = Box<dyn Fn(&str, &str) + Send + Sync>;

/// The server's configuration.
pub struct Config {
    /// Current values, one per row of [`PARAMS`].
    values: RwLock<Vec<Value>>,
    /// The file the configuration was read from (absolute), for INFO and CONFIG REWRITE.
    config_file: Option<PathBuf>,
    /// Fixed at start (immutable parameters), cached for cheap reads.
    fixed: Fixed,
    requirepass: RwLock<Option<Bytes>>,
    appendfsync: AtomicU8,
    notify: AtomicU32,
    /// `client-output-buffer-limit` per [`ClientClass`]: hard, soft, soft seconds. Atomics
    /// because every PUBLISH reads them; a reader racing a CONFIG SET may mix old and new
    /// fields of one class for one push, which is harmless.
    obuf: [[AtomicU64; 3]; 3],
    limits: Arc<Limits>,
    hooks: RwLock<Vec<SetHook>>,
}

#[derive(Debug, Clone)]
struct Fixed {
    port: u16,
    bind: Vec<String>,
    dir: PathBuf,
    databases: u16,
    io_threads: usize,
    exec_threads: usize,
    server_cpus: Vec<usize>,
    sched_batch: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config::from_values(defaults(), None)
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("config_file", &self.config_file)
            .field("fixed", &self.fixed)
            .finish_non_exhaustive()
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Cli {
    /// Run the server with this configuration.
    Run(Box<Config>),
    /// Print the usage (`-h`, `--help`).
    Help,
    /// Print the version (`-v`, `--version`).
    Version,
}

fn defaults() -> Vec<Value> {
    PARAMS
        .iter()
        .map(|p| {
            let argv = split_args(p.default.as_bytes()).unwrap_or_default();
            let argv = if matches!(p.ty, Type::Save | Type::Bind | Type::OutputBufferLimit) {
                argv
            } else {
                vec![p.default.as_bytes().to_vec()]
            };
            parse_value(p, &argv).unwrap_or_else(|e| panic!("bad default for {}: {e}", p.name))
        })
        .collect()
}

fn lookup(name: &[u8]) -> Option<(usize, &'static str)> {
    PARAMS.iter().enumerate().find_map(|(i, p)| {
        if p.name.as_bytes().eq_ignore_ascii_case(name) {
            Some((i, p.name))
        } else {
            p.alias
                .filter(|a| a.as_bytes().eq_ignore_ascii_case(name))
                .map(|a| (i, a))
        }
    })
}

fn lossy(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

impl Config {
    /// Parses the command line (without the program name): `[config-file] [--name value ...]`.
    /// `-h`/`--help` and `-v`/`--version` as the first argument are answered by [`Cli`].
    pub fn parse_cli(args: impl IntoIterator<Item = String>) -> Result<Cli> {
        let args: Vec<String> = args.into_iter().collect();
        match args.first().map(String::as_str) {
            Some("-h" | "--help") => return Ok(Cli::Help),
            Some("-v" | "--version") => return Ok(Cli::Version),
            _ => {}
        }
        Config::from_args(args).map(|c| Cli::Run(Box::new(c)))
    }

    /// Builds the configuration from the command line (without the program name):
    /// `[config-file] [--name value ...]`, the flags overriding the file.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Config> {
        let args: Vec<String> = args.into_iter().collect();
        let mut loader = Loader::new();
        let mut rest = &args[..];
        let mut config_file = None;
        if let Some(first) = args.first() {
            if first == "-" {
                return Err(fatal(
                    "reading the configuration from standard input is not supported",
                ));
            }
            if !first.starts_with('-') {
                let path = absolute(Path::new(first));
                loader.load_file(&path, 0)?;
                config_file = Some(path);
                rest = &args[1..];
            }
        }
        for (i, option) in command_line_options(rest)?.into_iter().enumerate() {
            let shown = render_line(&option);
            loader.directive(&option).map_err(|e| {
                fatal(format!(
                    "\n*** FATAL CONFIG FILE ERROR (Talus {}) ***\nReading the command line, at option {} ('--{}')\n>>> '{shown}'\n{e}",
                    env!("CARGO_PKG_VERSION"),
                    i + 1,
                    lossy(&option[0]),
                ))
            })?;
        }
        Ok(Config::from_values(loader.values, config_file))
    }

    /// Builds the configuration from redis.conf text (for embedding).
    pub fn from_conf_text(text: &str) -> Result<Config> {
        let mut loader = Loader::new();
        loader.load_text(text, "the configuration")?;
        Ok(Config::from_values(loader.values, None))
    }

    /// Sets one parameter before the server starts (for embedding), immutable ones included,
    /// with config-file syntax for the value (`with("port", "0")`, `with("save", "60 1")`).
    pub fn with(self, name: &str, value: &str) -> Result<Config> {
        let mut loader = Loader {
            values: self.values.into_inner(),
            save_loaded: true,
        };
        let mut argv = vec![name.as_bytes().to_vec()];
        argv.push(value.as_bytes().to_vec());
        loader
            .directive(&argv)
            .map_err(|e| Error::Other(format!("ERR cannot set '{name}': {e}").into()))?;
        let hooks = self.hooks.into_inner();
        let c = Config::from_values(loader.values, self.config_file);
        *c.hooks.write() = hooks;
        Ok(c)
    }

    fn from_values(values: Vec<Value>, config_file: Option<PathBuf>) -> Config {
        let get = |name: &str| -> &Value { &values[index(name)] };
        let int = |name: &str| match get(name) {
            Value::Int(i) => *i,
            _ => 0,
        };
        let fixed = Fixed {
            port: int("port") as u16,
            bind: match get("bind") {
                Value::Bind(b) => b.clone(),
                _ => vec![],
            },
            dir: match get("dir") {
                Value::Str(s) => absolute(Path::new(&*lossy(s))),
                _ => PathBuf::from("talus-data"),
            },
            databases: int("databases") as u16,
            io_threads: int("io-threads") as usize,
            exec_threads: int("exec-threads") as usize,
            server_cpus: match get("server_cpulist") {
                Value::Str(s) => crate::util::cpulist::parse(s).unwrap_or_default(),
                _ => vec![],
            },
            sched_batch: matches!(get("sched-batch"), Value::Bool(true)),
        };
        let config = Config {
            values: RwLock::new(vec![]),
            config_file,
            fixed,
            requirepass: RwLock::new(None),
            appendfsync: AtomicU8::new(Fsync::EverySec as u8),
            notify: AtomicU32::new(0),
            obuf: Default::default(),
            limits: Arc::new(Limits::default()),
            hooks: RwLock::new(vec![]),
        };
        for (i, v) in values.iter().enumerate() {
            config.mirror(&PARAMS[i], v);
        }
        *config.values.write() = values;
        config
    }

    /// Copies a value to its hot-path home.
    fn mirror(&self, param: &Param, value: &Value) {
        match (param.target, value) {
            (Target::ProtoMaxBulkLen, Value::Mem(n)) => {
                self.limits.proto_max_bulk_len.store(*n, Relaxed)
            }
            (Target::QueryBufferLimit, Value::Mem(n)) => {
                self.limits.client_query_buffer_limit.store(*n, Relaxed)
            }
            (Target::MaxClients, Value::Int(n)) => self.limits.maxclients.store(*n as u64, Relaxed),
            (Target::Timeout, Value::Int(n)) => self.limits.timeout_secs.store(*n as u64, Relaxed),
            (Target::RequirePass, Value::Str(s)) => {
                *self.requirepass.write() = (!s.is_empty()).then(|| s.clone())
            }
            (Target::AppendFsync, Value::Enum(name)) => {
                let f = Fsync::parse(name).unwrap_or(Fsync::EverySec);
                self.appendfsync.store(f as u8, Relaxed)
            }
            (Target::NotifyEvents, Value::Events(flags)) => self.notify.store(*flags, Relaxed),
            (Target::OutputLimits, Value::Obuf(classes)) => {
                for (slot, limit) in self.obuf.iter().zip(classes) {
                    if let Some(l) = limit {
                        slot[0].store(l.hard, Relaxed);
                        slot[1].store(l.soft, Relaxed);
                        slot[2].store(l.soft_secs, Relaxed);
                    }
                }
            }
            _ => {}
        }
    }

    /// Number of databases.
    pub fn databases(&self) -> u16 {
        self.fixed.databases
    }
    /// Data directory (absolute).
    pub fn dir(&self) -> PathBuf {
        self.fixed.dir.clone()
    }
    /// I/O threads (workers).
    pub fn io_threads(&self) -> usize {
        self.fixed.io_threads
    }
    /// Executor threads.
    pub fn exec_threads(&self) -> usize {
        self.fixed.exec_threads
    }
    /// The CPUs workers and executors are bound to (`server_cpulist`; empty = unbound).
    pub fn server_cpus(&self) -> &[usize] {
        &self.fixed.server_cpus
    }
    /// Whether workers and executors run under `SCHED_BATCH` (`sched-batch`).
    pub fn sched_batch(&self) -> bool {
        self.fixed.sched_batch
    }
    /// The configured port (0 = any free port).
    pub fn port(&self) -> u16 {
        self.fixed.port
    }
    /// The configured bind addresses, as written.
    pub fn bind(&self) -> &[String] {
        &self.fixed.bind
    }
    /// The configuration file, when one was given.
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }
    /// The bound of the meta cache, in bytes (`cache-max-memory`).
    pub fn cache_max_memory(&self) -> usize {
        self.int("cache-max-memory").unwrap_or(0).max(0) as usize
    }
    /// RocksDB's memtable size of the column families but `meta`, in bytes
    /// (`rocksdb-write-buffer-size`).
    pub fn write_buffer_size(&self) -> usize {
        self.int("rocksdb-write-buffer-size")
            .unwrap_or(64 << 20)
            .max(1 << 20) as usize
    }
    /// RocksDB's memtable size of the meta column family, in bytes
    /// (`rocksdb-meta-write-buffer-size`).
    pub fn meta_write_buffer_size(&self) -> usize {
        self.int("rocksdb-meta-write-buffer-size")
            .unwrap_or(1 << 20)
            .max(META_WRITE_BUFFER_MIN as i64) as usize
    }
    /// The fsync policy.
    pub fn appendfsync(&self) -> Fsync {
        match self.appendfsync.load(Relaxed) {
            0 => Fsync::Always,
            1 => Fsync::EverySec,
            _ => Fsync::No,
        }
    }
    /// The password, if one is required.
    pub fn requirepass(&self) -> Option<Bytes> {
        self.requirepass.read().clone()
    }
    /// True when a client that has not authenticated must AUTH first.
    pub fn auth_required(&self, authenticated: bool) -> bool {
        !authenticated && self.requirepass.read().is_some()
    }
    /// The keyspace-event classes enabled (bits of [`notify`]); 0 = notifications off.
    pub fn notify_keyspace_events(&self) -> u32 {
        self.notify.load(Relaxed)
    }
    /// True when an event of class `class` (`'g'`, `'$'`, `'x'`, ...) is to be published on
    /// the keyspace (`K`) or keyevent (`E`) channel; returns (keyspace, keyevent).
    pub fn notify_enabled(&self, class: char) -> (bool, bool) {
        let flags = self.notify_keyspace_events();
        if flags & notify::class_bit(class) == 0 {
            return (false, false);
        }
        (flags & notify::KEYSPACE != 0, flags & notify::KEYEVENT != 0)
    }
    /// The output-buffer limit of a client class (`client-output-buffer-limit`; 0 = none).
    /// Three relaxed atomic loads: cheap enough for every PUBLISH.
    pub fn output_limit(&self, class: ClientClass) -> OutputLimit {
        let slot = &self.obuf[class as usize];
        OutputLimit {
            hard: slot[0].load(Relaxed),
            soft: slot[1].load(Relaxed),
            soft_secs: slot[2].load(Relaxed),
        }
    }
    /// The runtime limits shared with the actor pipeline.
    pub fn limits(&self) -> Arc<Limits> {
        self.limits.clone()
    }
    /// `hz`, clamped to 1..=500 as Redis does.
    pub fn hz(&self) -> u32 {
        self.int("hz").unwrap_or(10).clamp(HZ_RANGE.0, HZ_RANGE.1) as u32
    }
    /// `exec-transport`: how batches reach the executors.
    pub fn exec_transport(&self) -> talus_actors::ExecTransport {
        use talus_actors::ExecTransport;
        match &self.values.read()[index("exec-transport")] {
            Value::Enum("forwarded") => ExecTransport::Forwarded,
            Value::Enum("syncarbiter") => ExecTransport::SyncArbiter,
            Value::Enum("syncarbiter-dedicated") => ExecTransport::SyncArbiterDedicated,
            _ => ExecTransport::Direct,
        }
    }
    /// `loglevel` (`debug`, `verbose`, `notice` or `warning`).
    pub fn loglevel(&self) -> &'static str {
        match &self.values.read()[index("loglevel")] {
            Value::Enum(e) => e,
            _ => "notice",
        }
    }
    /// The `log` crate's filter for a Redis log level name.
    pub fn log_filter(level: &str) -> log::LevelFilter {
        match level {
            "debug" => log::LevelFilter::Trace,
            "verbose" => log::LevelFilter::Debug,
            "warning" => log::LevelFilter::Warn,
            _ => log::LevelFilter::Info,
        }
    }
    /// `logfile`: None = standard error (Redis: standard output).
    pub fn logfile(&self) -> Option<PathBuf> {
        match &self.values.read()[index("logfile")] {
            Value::Str(s) if !s.is_empty() => Some(absolute(Path::new(&*lossy(s)))),
            _ => None,
        }
    }
    /// An integer or memory parameter by name (aliases work), e.g. `int("slowlog-max-len")`.
    pub fn int(&self, name: &str) -> Option<i64> {
        let (i, _) = lookup(name.as_bytes())?;
        match &self.values.read()[i] {
            Value::Int(n) => Some(*n),
            Value::Mem(n) => Some((*n).min(i64::MAX as u64) as i64),
            _ => None,
        }
    }
    /// A yes/no parameter by name, e.g. `flag("lazyfree-lazy-user-flush")`.
    pub fn flag(&self, name: &str) -> Option<bool> {
        let (i, _) = lookup(name.as_bytes())?;
        match &self.values.read()[i] {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The value of one parameter as CONFIG GET reports it.
    pub fn value(&self, name: &str) -> Option<String> {
        let (i, _) = lookup(name.as_bytes())?;
        Some(lossy(&self.render(i, &self.values.read()[i])).into_owned())
    }

    /// Registers a hook called after every successful CONFIG SET, once per parameter set.
    pub fn on_set(&self, hook: SetHook) {
        self.hooks.write().push(hook);
    }

    /// The addresses to listen on.
    pub fn listen_addrs(&self) -> Result<Vec<SocketAddr>> {
        let mut out = vec![];
        let binds: Vec<&str> = if self.fixed.bind.is_empty() {
            vec!["0.0.0.0"]
        } else {
            self.fixed.bind.iter().map(String::as_str).collect()
        };
        for b in binds {
            let (optional, host) = match b.strip_prefix('-') {
                Some(h) => (true, h),
                None => (false, b),
            };
            let host = match host {
                "*" => "0.0.0.0",
                "::*" => "::",
                h => h,
            };
            match (host, self.fixed.port).to_socket_addrs() {
                Ok(addrs) => out.extend(addrs),
                Err(_) if optional => {}
                Err(e) => return Err(fatal(format!("bad bind address {b}: {e}"))),
            }
        }
        if out.is_empty() {
            return Err(fatal("no bind address could be resolved"));
        }
        Ok(out)
    }

    /// CONFIG GET for one pattern: matching (name, value) pairs.
    pub fn get(&self, pattern: &[u8]) -> Vec<(String, String)> {
        self.get_many(&[pattern])
            .into_iter()
            .map(|(n, v)| (n, lossy(&v).into_owned()))
            .collect()
    }

    /// CONFIG GET with several names or patterns: each matching name once, an exact name under
    /// the spelling asked for, patterns matching canonical names and aliases (as Redis 7.0).
    pub fn get_many(&self, patterns: &[&[u8]]) -> Vec<(String, Bytes)> {
        let values = self.values.read();
        let mut seen: Vec<&'static str> = vec![];
        let mut out = vec![];
        for pat in patterns {
            if !pat.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
                if let Some((i, name)) = lookup(pat) {
                    if !seen.contains(&name) {
                        seen.push(name);
                        out.push((lossy(pat).into_owned(), self.render(i, &values[i])));
                    }
                }
                continue;
            }
            for (i, param) in PARAMS.iter().enumerate() {
                for name in std::iter::once(param.name).chain(param.alias) {
                    if !seen.contains(&name) && glob_match(pat, name.as_bytes(), true) {
                        seen.push(name);
                        out.push((name.to_string(), self.render(i, &values[i])));
                    }
                }
            }
        }
        out
    }

    /// CONFIG SET of several pairs, all or nothing, with Redis 7.0's errors.
    pub fn set(&self, pairs: &[(&[u8], &[u8])]) -> Result<()> {
        // Names first: the first unknown, immutable or repeated one fails the command.
        let mut chosen: Vec<(usize, &'static str)> = vec![];
        for (name, _) in pairs {
            let Some((i, canonical)) = lookup(name) else {
                return Err(Error::Other(
                    format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                        lossy(name)
                    )
                    .into(),
                ));
            };
            if !PARAMS[i].mutable {
                return Err(set_failed(&lossy(name), "can't set immutable config"));
            }
            if chosen.iter().any(|(j, _)| *j == i) {
                return Err(set_failed(&lossy(name), "duplicate parameter"));
            }
            chosen.push((i, canonical));
        }
        // Then values: the first bad one fails the command and nothing changes.
        let mut parsed = Vec::with_capacity(pairs.len());
        for ((i, canonical), (_, value)) in chosen.iter().zip(pairs) {
            let param = &PARAMS[*i];
            let argv: Vec<Vec<u8>> = if matches!(param.ty, Type::Save | Type::Bind) {
                // Redis splits a multi-argument value on single spaces here.
                value
                    .split(|&b| b == b' ')
                    .filter(|s| !s.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect()
            } else if matches!(param.ty, Type::OutputBufferLimit) {
                // Redis's sdssplitlen on " ": empty pieces are kept (so a doubled space is a
                // wrong argument count) and an empty value is no argument at all.
                if value.is_empty() {
                    vec![]
                } else {
                    value.split(|&b| b == b' ').map(<[u8]>::to_vec).collect()
                }
            } else {
                vec![value.to_vec()]
            };
            let v = parse_value(param, &argv).map_err(|e| set_failed(canonical, &e))?;
            parsed.push((*i, v));
        }
        let mut values = self.values.write();
        for (i, v) in &parsed {
            let v = merge(&values[*i], v);
            self.mirror(&PARAMS[*i], &v);
            values[*i] = v;
        }
        let rendered: Vec<(usize, Bytes)> = parsed
            .iter()
            .map(|(i, _)| (*i, self.render(*i, &values[*i])))
            .collect();
        drop(values);
        let hooks = self.hooks.read();
        for (i, v) in rendered {
            for hook in hooks.iter() {
                hook(PARAMS[i].name, &lossy(&v));
            }
        }
        Ok(())
    }

    /// The value as CONFIG GET reports it.
    fn render(&self, i: usize, v: &Value) -> Bytes {
        if PARAMS[i].name == "dir" {
            return Bytes::from(self.fixed.dir.to_string_lossy().into_owned());
        }
        render_value(v)
    }

    /// CONFIG REWRITE: rewrites the configuration file with the current values, as Redis does:
    /// lines of known parameters are replaced in place (extra ones removed), parameters set to
    /// something other than their default and absent from the file are appended, and
    /// everything else (comments, `include`, ...) is kept.
    pub fn rewrite(&self) -> Result<()> {
        let Some(path) = self.config_file.as_deref() else {
            return Err(Error::err("The server is running without a config file"));
        };
        let old = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
            Err(e) => return Err(rewrite_failed(e)),
        };
        let text = rewrite_text(&old, &self.values.read());
        write_atomically(path, &text).map_err(rewrite_failed)
    }

    /// Every parameter with its current value, as a redis.conf text (for `--help`-like listings
    /// and debugging).
    pub fn dump(&self) -> String {
        let values = self.values.read();
        let mut out = String::new();
        for (i, param) in PARAMS.iter().enumerate() {
            out.push_str(&render_line(&directive_argv(param, &values[i])));
            out.push('\n');
        }
        out
    }
}

fn index(name: &str) -> usize {
    PARAMS
        .iter()
        .position(|p| p.name == name)
        .unwrap_or_else(|| panic!("no parameter {name}"))
}

fn set_failed(name: &str, why: &str) -> Error {
    Error::Other(
        format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}").into(),
    )
}

fn rewrite_failed(e: std::io::Error) -> Error {
    Error::err(format!("Rewriting config file: {e}"))
}

/// A start-up error: the message as printed, without an error code.
fn fatal(msg: impl Into<String>) -> Error {
    Error::Other(Cow::Owned(msg.into()))
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

// ---- values ---------------------------------------------------------------------------

fn parse_value(param: &Param, argv: &[Vec<u8>]) -> std::result::Result<Value, String> {
    let one = || argv.first().map(Vec::as_slice).unwrap_or_default();
    match param.ty {
        Type::Bool => yes_no(one()).map(Value::Bool),
        Type::OnlyNo => match yes_no(one())? {
            false => Ok(Value::Bool(false)),
            true => Err("Talus does not daemonize: run it under a service manager".into()),
        },
        Type::Int { min, max } => {
            let n = crate::util::number::parse_i64(one())
                .ok_or("argument couldn't be parsed into an integer")?;
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            let n = if param.name == "hz" {
                n.clamp(HZ_RANGE.0, HZ_RANGE.1)
            } else {
                n
            };
            Ok(Value::Int(n))
        }
        Type::Memory { min, max } => {
            let n = memtoull(one()).ok_or("argument must be a memory value")?;
            // Redis compares in the parameter's C type: a signed one sees a value past
            // LLONG_MAX as negative, which is below any lower bound.
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(Value::Mem(n))
        }
        Type::Enum(names) => names
            .iter()
            .find(|n| n.as_bytes().eq_ignore_ascii_case(one()))
            .map(|n| Value::Enum(n))
            .ok_or_else(|| {
                format!(
                    "argument(s) must be one of the following: {}",
                    names.join(", ")
                )
            }),
        Type::Str => Ok(Value::Str(Bytes::copy_from_slice(one()))),
        Type::CpuList => {
            crate::util::cpulist::parse(one()).map(|_| Value::Str(Bytes::copy_from_slice(one())))
        }
        Type::Save => parse_save(argv).map(Value::Save),
        Type::Bind => {
            if argv.len() > 16 {
                return Err("Too many bind addresses specified.".into());
            }
            let addrs: Vec<String> = argv
                .iter()
                .filter(|a| !a.is_empty())
                .map(|a| lossy(a).into_owned())
                .collect();
            Ok(Value::Bind(addrs))
        }
        Type::Events => std::str::from_utf8(one())
            .ok()
            .and_then(events_from_str)
            .map(Value::Events)
            .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
        Type::OutputBufferLimit => parse_obuf(argv).map(Value::Obuf),
    }
}

/// The value to store when `new` is set over `cur`: a `client-output-buffer-limit` value
/// changes only the classes it names; any other value replaces the old one.
fn merge(cur: &Value, new: &Value) -> Value {
    match (cur, new) {
        (Value::Obuf(cur), Value::Obuf(new)) => {
            Value::Obuf(std::array::from_fn(|c| new[c].or(cur[c])))
        }
        _ => new.clone(),
    }
}

/// Redis's `updateClientOutputBufferLimit`: groups of `<class> <hard> <soft> <soft-seconds>`,
/// all checked before any is taken (a later group of the same class wins).
fn parse_obuf(argv: &[Vec<u8>]) -> std::result::Result<[Option<OutputLimit>; 3], String> {
    if !argv.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut out = [None; 3];
    for group in argv.chunks(4) {
        let class = match group[0].to_ascii_lowercase().as_slice() {
            b"normal" => ClientClass::Normal,
            b"slave" | b"replica" => ClientClass::Replica,
            b"pubsub" => ClientClass::PubSub,
            // `master` is a class too, but its limit cannot be configured.
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        // Redis keeps the seconds in a C int: strtoll's result is truncated to 32 bits
        // before the sign check (4294967297 is 1; 2147483648 is negative and refused).
        let secs = strtoll(&group[3]).map(|n| n as i32);
        match (memtoull(&group[1]), memtoull(&group[2]), secs) {
            (Some(hard), Some(soft), Some(secs)) if secs >= 0 => {
                out[class as usize] = Some(OutputLimit {
                    hard,
                    soft,
                    soft_secs: secs as u64,
                })
            }
            _ => {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                )
            }
        }
    }
    Ok(out)
}

fn yes_no(arg: &[u8]) -> std::result::Result<bool, String> {
    if arg.eq_ignore_ascii_case(b"yes") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"no") {
        Ok(false)
    } else {
        Err("argument must be 'yes' or 'no'".into())
    }
}

/// `save`: `""` alone clears; otherwise pairs of seconds (>= 1) and changes (>= 0), each read
/// as C's `strtoll` reads it.
fn parse_save(argv: &[Vec<u8>]) -> std::result::Result<Vec<(i64, i64)>, String> {
    let argv: &[Vec<u8>] = if argv.len() == 1 && argv[0].is_empty() {
        &[]
    } else {
        argv
    };
    if argv.len() % 2 == 1 {
        return Err("Invalid save parameters".into());
    }
    let mut out = vec![];
    for pair in argv.chunks(2) {
        let (s, c) = (strtoll(&pair[0]), strtoll(&pair[1]));
        match (s, c) {
            (Some(s), Some(c)) if s >= 1 && c >= 0 => out.push((s, c)),
            _ => return Err("Invalid save parameters".into()),
        }
    }
    Ok(out)
}

/// C's `strtoll(s, &end, 10)` with the check `*end == '\0'`: leading spaces and a sign are
/// allowed, the empty string is 0, overflow saturates.
fn strtoll(s: &[u8]) -> Option<i64> {
    let t = s.trim_ascii_start();
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        return if s.is_empty() { Some(0) } else { None };
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: i64 = 0;
    for d in digits {
        let d = (d - b'0') as i64;
        n = if neg {
            n.checked_mul(10)
                .and_then(|n| n.checked_sub(d))
                .unwrap_or(i64::MIN)
        } else {
            n.checked_mul(10)
                .and_then(|n| n.checked_add(d))
                .unwrap_or(i64::MAX)
        };
    }
    Some(n)
}

/// Redis's `memtoull`: digits then an optional unit (`b`, `k`=1000, `kb`=1024, `m`, `mb`, `g`,
/// `gb`, any case). No sign; an empty number is 0 (as `strtoull("")`); a number past `u64`
/// saturates (as `strtoull`), but the unit multiplication must not overflow.
fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let unit = &s[digits..];
    let mul: u64 = match unit.to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    let mut val: u64 = 0;
    for d in &s[..digits] {
        val = val
            .checked_mul(10)
            .and_then(|v| v.checked_add((d - b'0') as u64))
            .unwrap_or(u64::MAX);
    }
    val.checked_mul(mul)
}

/// Redis's `keyspaceEventsStringToFlags`.
fn events_from_str(classes: &str) -> Option<u32> {
    classes
        .chars()
        .try_fold(0, |flags, c| match notify::class_bit(c) {
            0 => None,
            bit => Some(flags | bit),
        })
}

/// Redis's `keyspaceEventsFlagsToString`.
fn events_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & notify::ALL == notify::ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (notify::GENERIC, 'g'),
            (notify::STRING, '$'),
            (notify::LIST, 'l'),
            (notify::SET, 's'),
            (notify::HASH, 'h'),
            (notify::ZSET, 'z'),
            (notify::EXPIRED, 'x'),
            (notify::EVICTED, 'e'),
            (notify::STREAM, 't'),
            (notify::MODULE, 'd'),
            (notify::NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [
        (notify::KEYSPACE, 'K'),
        (notify::KEYEVENT, 'E'),
        (notify::KEY_MISS, 'm'),
    ] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

fn render_value(v: &Value) -> Bytes {
    match v {
        Value::Bool(b) => Bytes::from_static(if *b { b"yes" } else { b"no" }),
        Value::Int(n) => Bytes::from(n.to_string()),
        Value::Mem(n) => Bytes::from(n.to_string()),
        Value::Enum(e) => Bytes::from_static(e.as_bytes()),
        Value::Str(s) => s.clone(),
        Value::Save(pairs) => Bytes::from(
            pairs
                .iter()
                .map(|(s, c)| format!("{s} {c}"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Value::Bind(addrs) => Bytes::from(addrs.join(" ")),
        Value::Events(f) => Bytes::from(events_to_string(*f)),
        Value::Obuf(classes) => Bytes::from(
            OBUF_CLASSES
                .iter()
                .zip(classes)
                .map(|(name, l)| {
                    let l = l.unwrap_or_default();
                    format!("{name} {} {} {}", l.hard, l.soft, l.soft_secs)
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
    }
}

// ---- loading ----------------------------------------------------------------------------

/// Applies directives in order, as Redis's `loadServerConfigFromString`.
struct Loader {
    values: Vec<Value>,
    /// The first `save` line replaces the default; later ones add to it (Redis's rule).
    save_loaded: bool,
}

impl Loader {
    fn new() -> Loader {
        Loader {
            values: defaults(),
            save_loaded: false,
        }
    }

    fn load_file(&mut self, path: &Path, depth: usize) -> Result<()> {
        if depth > MAX_INCLUDE_DEPTH {
            return Err(fatal(format!(
                "Fatal error, too many nested includes (at {})",
                path.display()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| {
            fatal(format!(
                "Fatal error, can't open config file '{}': {e}",
                path.display()
            ))
        })?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        self.load_text_at(
            &text,
            &format!("the configuration file {}", path.display()),
            depth,
        )
    }

    fn load_text(&mut self, text: &str, what: &str) -> Result<()> {
        self.load_text_at(text, what, 0)
    }

    fn load_text_at(&mut self, text: &str, what: &str, depth: usize) -> Result<()> {
        for (n, line) in text.split('\n').enumerate() {
            let line = line.trim_matches([' ', '\t', '\r', '\n']);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |err: &str| {
                fatal(format!(
                    "\n*** FATAL CONFIG FILE ERROR (Talus {}) ***\nReading {what}, at line {}\n>>> '{line}'\n{err}",
                    env!("CARGO_PKG_VERSION"),
                    n + 1
                ))
            };
            let Some(argv) = split_args(line.as_bytes()) else {
                return Err(fail("Unbalanced quotes in configuration line"));
            };
            if argv.is_empty() {
                continue;
            }
            if argv[0].eq_ignore_ascii_case(b"include") {
                if argv.len() != 2 {
                    return Err(fail("Bad directive or wrong number of arguments"));
                }
                self.load_file(&absolute(Path::new(&*lossy(&argv[1]))), depth + 1)?;
                continue;
            }
            self.directive(&argv).map_err(|e| fail(&e))?;
        }
        Ok(())
    }

    /// One directive: `argv[0]` is the name.
    fn directive(&mut self, argv: &[Vec<u8>]) -> std::result::Result<(), String> {
        let name = &argv[0];
        let Some((i, _)) = lookup(name) else {
            let deprecated = DEPRECATED.iter().any(|(n, lo, hi)| {
                n.as_bytes().eq_ignore_ascii_case(name) && (*lo..=*hi).contains(&argv.len())
            });
            return if deprecated {
                Ok(())
            } else {
                Err("Bad directive or wrong number of arguments".into())
            };
        };
        let param = &PARAMS[i];
        let multi = matches!(param.ty, Type::Save | Type::Bind | Type::OutputBufferLimit);
        if !multi && argv.len() != 2 {
            return Err("wrong number of arguments".into());
        }
        let args: Vec<Vec<u8>> = if multi && argv.len() == 2 && !argv[1].is_empty() {
            // `--save "60 1 10 100"`: one argument holding several, split again.
            split_args(&argv[1]).ok_or("Unbalanced quotes in configuration line")?
        } else {
            argv[1..].to_vec()
        };
        let value = parse_value(param, &args)?;
        if let (Value::Save(new), Type::Save) = (&value, param.ty) {
            let clear = args.len() == 1 && args[0].is_empty();
            if let Value::Save(cur) = &mut self.values[i] {
                if clear || !self.save_loaded {
                    cur.clear();
                }
                cur.extend_from_slice(new);
            }
            self.save_loaded = true;
            return Ok(());
        }
        self.values[i] = merge(&self.values[i], &value);
        Ok(())
    }
}

/// Groups command-line arguments into directives as `redis-server` does: `--name` starts one,
/// every following argument not starting with `--` is a value of it (a value right after a bare
/// `--name` may start with `--`), `--name value` in one argument also works, and a bare
/// `--save` followed by another option (or at the end) means `save ""`.
fn command_line_options(args: &[String]) -> Result<Vec<Vec<Vec<u8>>>> {
    let mut out: Vec<Vec<Vec<u8>>> = vec![];
    let mut handled_last = true;
    for (j, arg) in args.iter().enumerate() {
        if handled_last && arg.starts_with("--") {
            let Some(mut argv) = split_args(&arg.as_bytes()[2..]) else {
                return Err(fatal(format!(
                    "Unbalanced quotes in command-line option '{arg}'"
                )));
            };
            if argv.is_empty() {
                return Err(fatal(format!("Empty command-line option '{arg}'")));
            }
            if argv.len() == 1 {
                handled_last = false;
                let next_is_option = args.get(j + 1).is_some_and(|a| a.starts_with("--"));
                if argv[0].eq_ignore_ascii_case(b"save") && (next_is_option || j + 1 == args.len())
                {
                    argv.push(vec![]);
                    handled_last = true;
                }
            } else {
                handled_last = true;
            }
            out.push(argv);
        } else {
            let Some(last) = out.last_mut() else {
                return Err(fatal(format!(
                    "Invalid argument '{arg}': options are given as --name value (a config file must come first)"
                )));
            };
            last.push(arg.as_bytes().to_vec());
            handled_last = true;
        }
    }
    Ok(out)
}

/// Redis's `sdssplitargs`: splits on whitespace, with `"..."` (escapes `\n \r \t \b \a \\ \"`
/// and `\xHH`) and `'...'` (escape `\'`); a closing quote must be followed by whitespace or
/// the end. `None` on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = vec![];
    let mut i = 0;
    let at = |i: usize| line.get(i).copied();
    loop {
        while at(i).is_some_and(|c| c.is_ascii_whitespace() || c == 0x0b) {
            i += 1;
        }
        if i >= line.len() {
            return Some(out);
        }
        let (mut inq, mut insq, mut done) = (false, false, false);
        let mut cur = vec![];
        while !done {
            let c = at(i);
            if inq {
                match c {
                    None => return None,
                    Some(b'\\')
                        if at(i + 1) == Some(b'x')
                            && at(i + 2).is_some_and(|h| h.is_ascii_hexdigit())
                            && at(i + 3).is_some_and(|h| h.is_ascii_hexdigit()) =>
                    {
                        let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                        cur.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                        i += 3;
                    }
                    Some(b'\\') if at(i + 1).is_some() => {
                        i += 1;
                        cur.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if at(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                            return None;
                        }
                        done = true;
                    }
                    Some(other) => cur.push(other),
                }
            } else if insq {
                match c {
                    None => return None,
                    Some(b'\\') if at(i + 1) == Some(b'\'') => {
                        i += 1;
                        cur.push(b'\'');
                    }
                    Some(b'\'') => {
                        if at(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                            return None;
                        }
                        done = true;
                    }
                    Some(other) => cur.push(other),
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t' | 0) => done = true,
                    Some(b'"') => inq = true,
                    Some(b'\'') => insq = true,
                    Some(other) => cur.push(other),
                }
            }
            if i < line.len() {
                i += 1;
            }
        }
        out.push(cur);
    }
}

/// One argument as a config file needs it: bare when safe, else quoted as Redis's `sdscatrepr`.
fn quote(arg: &[u8]) -> String {
    let safe = !arg.is_empty()
        && arg
            .iter()
            .all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\');
    if safe {
        return String::from_utf8_lossy(arg).into_owned();
    }
    let mut s = String::from("\"");
    for &c in arg {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x07 => s.push_str("\\a"),
            0x08 => s.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

fn render_line(argv: &[Vec<u8>]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

// ---- CONFIG REWRITE ---------------------------------------------------------------------

/// The directive line for a parameter's value (`save` may need several: see [`rewrite_text`]).
fn directive_argv(param: &Param, value: &Value) -> Vec<Vec<u8>> {
    let name = param.name.as_bytes().to_vec();
    match value {
        Value::Mem(n) => vec![name, mem_with_unit(*n).into_bytes()],
        Value::Bind(addrs) if addrs.is_empty() => vec![name, vec![]],
        Value::Bind(addrs) => std::iter::once(name)
            .chain(addrs.iter().map(|a| a.as_bytes().to_vec()))
            .collect(),
        // All classes on one line (CONFIG REWRITE writes one line per class instead).
        Value::Obuf(classes) => std::iter::once(name)
            .chain((0..classes.len()).flat_map(|c| obuf_group(c, classes)))
            .collect(),
        other => vec![name, render_value(other).to_vec()],
    }
}

/// One class of `client-output-buffer-limit` in config-file syntax, as Redis's
/// `rewriteConfigClientOutputBufferLimitOption` writes it: `replica` for `slave`, sizes with
/// units.
fn obuf_group(class: usize, classes: &[Option<OutputLimit>; 3]) -> [Vec<u8>; 4] {
    let l = classes[class].unwrap_or_default();
    let name = if class == ClientClass::Replica as usize {
        "replica"
    } else {
        OBUF_CLASSES[class]
    };
    [
        name.as_bytes().to_vec(),
        mem_with_unit(l.hard).into_bytes(),
        mem_with_unit(l.soft).into_bytes(),
        l.soft_secs.to_string().into_bytes(),
    ]
}

/// Redis's `rewriteConfigFormatMemory`: the largest binary unit that divides the value.
fn mem_with_unit(n: u64) -> String {
    const GB: u64 = 1024 * 1024 * 1024;
    if n != 0 && n.is_multiple_of(GB) {
        format!("{}gb", n / GB)
    } else if n != 0 && n.is_multiple_of(MB) {
        format!("{}mb", n / MB)
    } else if n != 0 && n.is_multiple_of(1024) {
        format!("{}kb", n / 1024)
    } else {
        n.to_string()
    }
}

fn rewrite_text(old: &[u8], values: &[Value]) -> String {
    let defaults = defaults();
    let old = String::from_utf8_lossy(old);
    // `None` marks the place of a parameter's first line, filled in below.
    let mut lines: Vec<Option<String>> = vec![];
    // Index of the first line of each parameter in `lines`; later ones are dropped.
    let mut first_line: Vec<Option<usize>> = vec![None; PARAMS.len()];
    // Every `client-output-buffer-limit` line: each class written reuses the next one.
    let mut obuf_lines: Vec<usize> = vec![];
    const MARK: &str = "# Generated by CONFIG REWRITE";
    let mut has_mark = false;
    for raw in old.split('\n') {
        let line = raw.trim_matches([' ', '\t', '\r', '\n']);
        has_mark |= line == MARK;
        let param = split_args(line.as_bytes())
            .filter(|_| !line.starts_with('#'))
            .and_then(|argv| argv.first().and_then(|n| lookup(n)).map(|(i, _)| i));
        match param {
            Some(i) if matches!(PARAMS[i].ty, Type::OutputBufferLimit) => {
                obuf_lines.push(lines.len());
                lines.push(None);
            }
            Some(i) if first_line[i].is_none() => {
                first_line[i] = Some(lines.len());
                lines.push(None);
            }
            Some(_) => {}
            None => lines.push(Some(raw.trim_end_matches('\r').to_string())),
        }
    }
    // Drop trailing blank lines so repeated rewrites do not grow the file.
    while lines
        .last()
        .is_some_and(|l| l.as_deref().is_some_and(str::is_empty))
    {
        lines.pop();
    }
    let mut appended = vec![];
    for (i, param) in PARAMS.iter().enumerate() {
        if let (Value::Obuf(cur), Value::Obuf(def)) = (&values[i], &defaults[i]) {
            // As Redis: one line per class, in class order; a class takes the next old line
            // if one is left, else is appended when it differs from its default. Old lines
            // left over are dropped.
            let mut old = obuf_lines.iter();
            for class in 0..cur.len() {
                let mut argv = vec![param.name.as_bytes().to_vec()];
                argv.extend(obuf_group(class, cur));
                let text = render_line(&argv);
                match old.next() {
                    Some(&at) => lines[at] = Some(text),
                    None if cur[class] != def[class] => appended.push(text),
                    None => {}
                }
            }
            continue;
        }
        let text = match (param.ty, &values[i]) {
            (Type::Save, Value::Save(pairs)) if pairs.is_empty() => "save \"\"".to_string(),
            (Type::Save, Value::Save(pairs)) => pairs
                .iter()
                .map(|(s, c)| format!("save {s} {c}"))
                .collect::<Vec<_>>()
                .join("\n"),
            (_, v) => render_line(&directive_argv(param, v)),
        };
        match first_line[i] {
            Some(at) => lines[at] = Some(text),
            None if values[i] != defaults[i] => appended.push(text),
            None => {}
        }
    }
    let mut out: Vec<String> = lines.into_iter().flatten().collect();
    if !appended.is_empty() {
        if !has_mark {
            out.push(MARK.to_string());
        }
        out.extend(appended);
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("rewrite-{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn defaults_parse() {
        let c = Config::default();
        assert_eq!(c.databases(), 16);
        assert_eq!(c.port(), 6379);
        assert_eq!(c.io_threads(), 1);
        assert_eq!(c.exec_threads(), 1);
        assert_eq!(c.appendfsync(), Fsync::EverySec);
        assert_eq!(c.requirepass(), None);
        assert_eq!(c.limits().proto_max_bulk_len(), 512 * 1024 * 1024);
        assert_eq!(c.limits().client_query_buffer_limit(), 1024 * 1024 * 1024);
        assert_eq!(c.value("save").as_deref(), Some("3600 1 300 100 60 10000"));
        assert!(c.dir().is_absolute());
        assert!(c.dir().ends_with("talus-data"));
    }

    #[test]
    fn memory_units() {
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b"1KB"), Some(1024));
        assert_eq!(memtoull(b"10mb"), Some(10 * 1024 * 1024));
        assert_eq!(memtoull(b"2G"), Some(2_000_000_000));
        assert_eq!(memtoull(b"1gB"), Some(1 << 30));
        assert_eq!(memtoull(b"5b"), Some(5));
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"kb"), Some(0));
        assert_eq!(memtoull(b"-1"), None);
        assert_eq!(memtoull(b"1.5g"), None);
        assert_eq!(memtoull(b" 5"), None);
        assert_eq!(memtoull(b"99999999999999999999"), Some(u64::MAX));
        assert_eq!(memtoull(b"99999999999999999999kb"), None);
    }

    #[test]
    fn splitting() {
        let v = split_args(br#"save "60 1" 'a b' x\y "\x41\n""#).unwrap();
        assert_eq!(
            v,
            vec![
                b"save".to_vec(),
                b"60 1".to_vec(),
                b"a b".to_vec(),
                b"x\\y".to_vec(),
                b"A\n".to_vec()
            ]
        );
        assert!(split_args(br#"a "b"#).is_none());
        assert!(split_args(br#""a"b"#).is_none());
        assert_eq!(split_args(b"   ").unwrap().len(), 0);
        assert_eq!(split_args(b"requirepass \"\"").unwrap()[1], b"".to_vec());
    }

    #[test]
    fn events_round_trip() {
        assert_eq!(events_to_string(events_from_str("KEA").unwrap()), "AKE");
        assert_eq!(events_to_string(events_from_str("Elg").unwrap()), "glE");
        assert_eq!(events_to_string(events_from_str("xm").unwrap()), "xm");
        assert!(events_from_str("q").is_none());
        assert_eq!(notify::class_bit('$'), notify::STRING);
    }

    #[test]
    fn set_errors() {
        let c = Config::default();
        let e = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(&[u8], &[u8])> = pairs
                .iter()
                .map(|(a, b)| (a.as_bytes(), b.as_bytes()))
                .collect();
            c.set(&pairs).unwrap_err().to_string()
        };
        assert_eq!(
            e(&[("foo", "1")]),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        assert_eq!(
            e(&[("DATABASES", "1")]),
            "ERR CONFIG SET failed (possibly related to argument 'DATABASES') - can't set immutable config"
        );
        assert_eq!(
            e(&[("maxclients", "abc")]),
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer"
        );
        assert_eq!(
            e(&[("Hash-Max-Ziplist-Value", "x")]),
            "ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-value') - argument must be a memory value"
        );
        assert_eq!(
            e(&[("maxclients", "1"), ("maxclients", "2")]),
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - duplicate parameter"
        );
        assert_eq!(
            e(&[("proto-max-bulk-len", "18446744073709551615")]),
            "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"
        );
        // All or nothing.
        assert!(e(&[("timeout", "5"), ("hz", "x")]).contains("'hz'"));
        assert_eq!(c.value("timeout").as_deref(), Some("0"));
    }

    #[test]
    fn set_and_mirror() {
        let c = Config::default();
        c.set(&[
            (b"proto-max-bulk-len", b"10mb"),
            (b"maxclients", b"7"),
            (b"appendfsync", b"ALWAYS"),
            (b"requirepass", b"pw"),
            (b"hz", b"1000"),
            (b"save", b"10 1 20 2"),
        ])
        .unwrap();
        assert_eq!(c.limits().proto_max_bulk_len(), 10 * 1024 * 1024);
        assert_eq!(c.limits().maxclients(), 7);
        assert_eq!(c.appendfsync(), Fsync::Always);
        assert_eq!(c.requirepass().as_deref(), Some(&b"pw"[..]));
        assert_eq!(c.value("hz").as_deref(), Some("500"));
        assert_eq!(c.value("save").as_deref(), Some("10 1 20 2"));
        c.set(&[(b"save", b""), (b"requirepass", b"")]).unwrap();
        assert_eq!(c.value("save").as_deref(), Some(""));
        assert_eq!(c.requirepass(), None);
    }

    #[test]
    fn get_patterns() {
        let c = Config::default();
        let names = |p: &[&[u8]]| {
            c.get_many(p)
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&[b"MAXCLIENTS"]), vec!["MAXCLIENTS"]);
        assert_eq!(
            names(&[b"maxclients", b"maxc*", b"maxclients"]),
            vec!["maxclients"]
        );
        assert_eq!(
            names(&[b"hash-max-*"]),
            vec![
                "hash-max-listpack-entries",
                "hash-max-ziplist-entries",
                "hash-max-listpack-value",
                "hash-max-ziplist-value"
            ]
        );
        assert!(names(&[b"nope", b"nope*"]).is_empty());
    }

    #[test]
    fn command_line() {
        let c = Config::from_args(args(&[
            "--port",
            "0",
            "--save",
            "--bind",
            "127.0.0.1",
            "::1",
        ]))
        .unwrap();
        assert_eq!(c.port(), 0);
        assert_eq!(c.value("save").as_deref(), Some(""));
        assert_eq!(c.bind(), &["127.0.0.1".to_string(), "::1".to_string()]);
        let c = Config::from_args(args(&[
            "--save",
            "60",
            "1",
            "--save",
            "10 2",
            "--requirepass",
            "--x",
        ]))
        .unwrap();
        assert_eq!(c.value("save").as_deref(), Some("60 1 10 2"));
        assert_eq!(c.requirepass().as_deref(), Some(&b"--x"[..]));
        let c = Config::from_args(args(&["--port 7000"])).unwrap();
        assert_eq!(c.port(), 7000);
        let e = Config::from_args(args(&["--port", "x"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("argument couldn't be parsed into an integer"),
            "{e}"
        );
        let e = Config::from_args(args(&["--nope", "1"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Bad directive or wrong number of arguments"),
            "{e}"
        );
        let e = Config::from_args(args(&["--port"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("wrong number of arguments"), "{e}");
        let e = Config::from_args(args(&["--daemonize", "yes"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("daemonize"), "{e}");
        assert!(matches!(
            Config::parse_cli(args(&["--version"])),
            Ok(Cli::Version)
        ));
        assert!(matches!(Config::parse_cli(args(&["-h"])), Ok(Cli::Help)));
    }

    #[test]
    fn conf_text() {
        let c = Config::from_conf_text(
            "# comment\n  port 7001  \r\nsave 100 1\nsave 200 2\nmaxmemory 1GB\nlist-max-ziplist-entries 5\nrequirepass \"a b\"\n",
        )
        .unwrap();
        assert_eq!(c.port(), 7001);
        assert_eq!(c.value("save").as_deref(), Some("100 1 200 2"));
        assert_eq!(c.value("maxmemory").as_deref(), Some("1073741824"));
        assert_eq!(c.requirepass().as_deref(), Some(&b"a b"[..]));
        let e = Config::from_conf_text("port 1\nfoo bar\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("at line 2\n>>> 'foo bar'\nBad directive or wrong number of arguments"),
            "{e}"
        );
        let e = Config::from_conf_text("port \"1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Unbalanced quotes"), "{e}");
    }

    #[test]
    fn rewrite_keeps_comments() {
        let values = {
            let c = Config::from_conf_text("port 7001\nmaxmemory 2mb").unwrap();
            c.set(&[(b"timeout", b"9"), (b"maxmemory", b"3mb")])
                .unwrap();
            let v = c.values.read().clone();
            v
        };
        let text = rewrite_text(
            b"# hello\nport 7001\nmaxmemory 2mb\nmaxmemory 5mb\ninclude x.conf\n",
            &values,
        );
        assert_eq!(
            text,
            "# hello\nport 7001\nmaxmemory 3mb\ninclude x.conf\n# Generated by CONFIG REWRITE\ntimeout 9\n"
        );
        // Idempotent.
        assert_eq!(rewrite_text(text.as_bytes(), &values), text);
    }

    const OBUF: &str = "client-output-buffer-limit";
    const OBUF_DEFAULT: &str =
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

    fn limit(hard: u64, soft: u64, soft_secs: u64) -> OutputLimit {
        OutputLimit {
            hard,
            soft,
            soft_secs,
        }
    }

    #[test]
    fn output_buffer_limit_default_and_set() {
        let c = Config::default();
        assert_eq!(c.value(OBUF).as_deref(), Some(OBUF_DEFAULT));
        assert_eq!(c.output_limit(ClientClass::Normal), limit(0, 0, 0));
        assert_eq!(
            c.output_limit(ClientClass::Replica),
            limit(256 << 20, 64 << 20, 60)
        );
        assert_eq!(
            c.output_limit(ClientClass::PubSub),
            limit(32 << 20, 8 << 20, 60)
        );
        // One class: the others keep their values.
        c.set(&[(OBUF.as_bytes(), b"PubSub 1mb 2kb 3")]).unwrap();
        assert_eq!(
            c.value(OBUF).as_deref(),
            Some("normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2048 3")
        );
        assert_eq!(c.output_limit(ClientClass::PubSub), limit(1 << 20, 2048, 3));
        // Several, `replica` for `slave`, `k` = 1000, a later group of a class wins.
        c.set(&[(
            OBUF.as_bytes(),
            b"normal 1k 2 3 replica 1gb 2g 4 normal 5 6 7",
        )])
        .unwrap();
        assert_eq!(
            c.value(OBUF).as_deref(),
            Some("normal 5 6 7 slave 1073741824 2000000000 4 pubsub 1048576 2048 3")
        );
        assert_eq!(c.output_limit(ClientClass::Normal), limit(5, 6, 7));
        assert_eq!(
            c.output_limit(ClientClass::Replica),
            limit(1 << 30, 2_000_000_000, 4)
        );
        // An empty value names no class: nothing changes.
        c.set(&[(OBUF.as_bytes(), b"")]).unwrap();
        assert_eq!(c.output_limit(ClientClass::Normal), limit(5, 6, 7));
        // Seconds are a C int: 2^32 + 1 wraps to 1; `+` and `-0` are strtoll's.
        c.set(&[(
            OBUF.as_bytes(),
            b"normal 1 2 4294967297 slave 0 0 +9 pubsub 0 0 -0",
        )])
        .unwrap();
        assert_eq!(c.output_limit(ClientClass::Normal), limit(1, 2, 1));
        assert_eq!(c.output_limit(ClientClass::Replica), limit(0, 0, 9));
        assert_eq!(c.output_limit(ClientClass::PubSub), limit(0, 0, 0));
    }

    #[test]
    fn output_buffer_limit_errors() {
        let c = Config::default();
        let e = |v: &str| {
            c.set(&[(OBUF.as_bytes(), v.as_bytes())])
                .unwrap_err()
                .to_string()
        };
        let failed = |why: &str| {
            format!("ERR CONFIG SET failed (possibly related to argument '{OBUF}') - {why}")
        };
        let class = failed("Invalid client class specified in buffer limit configuration.");
        let arity = failed("Wrong number of arguments in buffer limit configuration.");
        let numbers =
            failed("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
        for v in ["foo 1 2 3", "master 1 2 3", "foo 1 2 3 normal x 1 1"] {
            assert_eq!(e(v), class, "{v}");
        }
        for v in [
            "normal 1 2",
            "normal 1 2  3",
            "normal 1 2 3 ",
            " normal 1 2 3",
            "x",
        ] {
            assert_eq!(e(v), arity, "{v}");
        }
        for v in [
            "normal x 2 3",
            "normal 1 2mbs 3",
            "normal -1 2 3",
            "normal +1 2 3",
            "normal 1.5mb 2 3",
            "normal 1 2 x",
            "normal 1 2 -3",
            "normal 1 2 0x5",
            "normal 1 2 2147483648",
            "normal 1 2 99999999999999999999",
            "normal 99999999999999999999gb 2 3",
            "normal x 1 1 foo 1 2 3",
        ] {
            assert_eq!(e(v), numbers, "{v}");
        }
        // All or nothing, within the value and across the command.
        assert_eq!(e("pubsub 1 1 1 normal 1 1 x"), numbers);
        let pairs: [(&[u8], &[u8]); 2] = [(OBUF.as_bytes(), b"pubsub 1 1 1"), (b"hz", b"x")];
        assert!(c.set(&pairs).is_err());
        assert_eq!(c.value(OBUF).as_deref(), Some(OBUF_DEFAULT));
        assert_eq!(
            c.output_limit(ClientClass::PubSub),
            limit(32 << 20, 8 << 20, 60)
        );
    }

    #[test]
    fn output_buffer_limit_loading() {
        // One class per line, as redis.conf writes it; a bare directive changes nothing.
        let c = Config::from_conf_text(
            "client-output-buffer-limit normal 1mb 0 0\nclient-output-buffer-limit\nclient-output-buffer-limit PUBSUB 2mb 1mb 5\nclient-output-buffer-limit normal 2mb 0 \"\"\n",
        )
        .unwrap();
        assert_eq!(
            c.value(OBUF).as_deref(),
            Some("normal 2097152 0 0 slave 268435456 67108864 60 pubsub 2097152 1048576 5")
        );
        // Flags: one quoted argument is split again; separate arguments work too.
        let c = Config::from_args(args(&[
            "--client-output-buffer-limit",
            "pubsub 1mb 0 0",
            "--client-output-buffer-limit",
            "replica",
            "1",
            "2",
            "3",
        ]))
        .unwrap();
        assert_eq!(c.output_limit(ClientClass::PubSub), limit(1 << 20, 0, 0));
        assert_eq!(c.output_limit(ClientClass::Replica), limit(1, 2, 3));
        assert_eq!(c.output_limit(ClientClass::Normal), limit(0, 0, 0));
        for (flag, want) in [
            (
                "foo 1 2 3",
                "Invalid client class specified in buffer limit configuration.",
            ),
            (
                "",
                "Wrong number of arguments in buffer limit configuration.",
            ),
            (
                "normal 1 2",
                "Wrong number of arguments in buffer limit configuration.",
            ),
            (
                "normal x 2 3",
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            ),
        ] {
            let e = Config::from_args(args(&["--client-output-buffer-limit", flag]))
                .unwrap_err()
                .to_string();
            assert!(e.ends_with(&format!("\n{want}")), "{flag}: {e}");
        }
        let e = Config::from_conf_text("client-output-buffer-limit slave 1 2\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(">>> 'client-output-buffer-limit slave 1 2'\nWrong number of arguments in buffer limit configuration."),
            "{e}"
        );
    }

    #[test]
    fn output_buffer_limit_rewrite() {
        let values = |conf: &str, set: &str| {
            let c = Config::from_conf_text(conf).unwrap();
            c.set(&[(OBUF.as_bytes(), set.as_bytes())]).unwrap();
            let v = c.values.read().clone();
            v
        };
        // No line in the file: only the classes off their default are appended.
        let v = values("", "replica 1mb 2kb 3 pubsub 3gb 4 5");
        let text = rewrite_text(b"# x\n", &v);
        assert_eq!(
            text,
            "# x\n# Generated by CONFIG REWRITE\nclient-output-buffer-limit replica 1mb 2kb 3\nclient-output-buffer-limit pubsub 3gb 4 5\n"
        );
        // A second rewrite gives `normal` the first old line, as redis-server does (it wrote
        // `normal 0 0 0`, `replica ...`, `pubsub ...` on the second CONFIG REWRITE); then
        // the text is stable.
        let again = rewrite_text(text.as_bytes(), &v);
        assert_eq!(
            again,
            "# x\n# Generated by CONFIG REWRITE\nclient-output-buffer-limit normal 0 0 0\nclient-output-buffer-limit replica 1mb 2kb 3\nclient-output-buffer-limit pubsub 3gb 4 5\n"
        );
        assert_eq!(rewrite_text(again.as_bytes(), &v), again, "stable");
        // Old lines are reused in class order (as redis-server 7.0.15 rewrote this file),
        // a class off its default with no line left is appended, extra lines dropped.
        let conf = "# c\nclient-output-buffer-limit pubsub 1mb 0 0\nmaxmemory 0\nclient-output-buffer-limit pubsub 2mb 0 0\nclient-output-buffer-limit normal 2mb 0 0\nclient-output-buffer-limit slave 2mb 0 0\nhz 10\n";
        let v = values(conf, "normal 0 0 0 replica 256mb 64mb 60");
        assert_eq!(
            rewrite_text(conf.as_bytes(), &v),
            "# c\nclient-output-buffer-limit normal 0 0 0\nmaxmemory 0\nclient-output-buffer-limit replica 256mb 64mb 60\nclient-output-buffer-limit pubsub 2mb 0 0\nhz 10\n"
        );
        let v = values("client-output-buffer-limit normal 5 5 5\n", "pubsub 7 7 7");
        assert_eq!(
            rewrite_text(b"client-output-buffer-limit normal 5 5 5\n", &v),
            "client-output-buffer-limit normal 5 5 5\n# Generated by CONFIG REWRITE\nclient-output-buffer-limit pubsub 7 7 7\n"
        );
        // The rewritten text loads back to the same value.
        let text = rewrite_text(b"", &v);
        let c = Config::from_conf_text(&text).unwrap();
        assert_eq!(c.values.read().clone(), v);
        // `dump` puts every class on one loadable line.
        let c = Config::default();
        c.set(&[(OBUF.as_bytes(), b"normal 1kb 0 1")]).unwrap();
        let line = c
            .dump()
            .lines()
            .find(|l| l.starts_with(OBUF))
            .map(str::to_string)
            .unwrap();
        assert_eq!(
            line,
            "client-output-buffer-limit normal 1kb 0 1 replica 256mb 64mb 60 pubsub 32mb 8mb 60"
        );
        let back = Config::from_conf_text(&line).unwrap();
        assert_eq!(back.value(OBUF), c.value(OBUF));
    }
}
