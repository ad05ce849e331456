//! String commands, with Redis 7.0's semantics, replies and error texts (`t_string.c`).
//!
//! Strings live inline in their meta entry (one RocksDB read per GET). Each command parses its
//! arguments into a struct, then applies it to the storage context.
//!
//! Choices worth knowing:
//! - The order of checks follows Redis, because it is observable: e.g. `SET` validates its
//!   expire before it looks at the key, `GETEX` answers nil for a missing key before it looks
//!   at its expire value, `INCRBYFLOAT` reports WRONGTYPE before a bad increment, `INCRBY` the
//!   other way round.
//! - Options are compared as C strings, as Redis does (an argument is cut at its first NUL).
//! - A `SET ... EXAT/PXAT` in the past stores the key with that (past) expiry, as Redis 7.0
//!   does (events `set` and `expire`; the key is then absent, and the expiry cycle or the next
//!   write removes it with an `expired` event). `GETEX ... EXAT/PXAT` in the past deletes the
//!   key (event `del`), also as 7.0.
//! - Writes that modify a value in place (INCR*, APPEND, SETRANGE, SETBIT) keep the key's TTL;
//!   SET (without KEEPTTL), GETSET, MSET and MSETNX clear it.
//! - Lengths are bounded by `proto-max-bulk-len` (512 MiB by default), as in Redis.
//! - Reads count keyspace hits and misses where Redis uses `lookupKeyRead` (GET, MGET, STRLEN,
//!   GETRANGE, LCS, SET ... GET, GETSET, GETDEL, GETEX), not where it uses `lookupKeyWrite`.

use super::{args, flags::*, spec, CommandSpec, Exec, KeySpec, Locking};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::storage::encoding::{Kind, Meta};
use crate::util::float::{incr_by_float, IncrFloatError};
use crate::util::number::{fmt_i64, shared_int};
use bytes::Bytes;
use std::sync::atomic::Ordering;

/// The string commands.
pub static COMMANDS: &[CommandSpec] = &[
    read("get", 2, FAST, get),
    write("set", -3, DENYOOM, set),
    write("setnx", 3, DENYOOM | FAST, setnx),
    write("setex", 4, DENYOOM, setex),
    write("psetex", 4, DENYOOM, psetex),
    spec(
        "mget",
        -2,
        READONLY | FAST,
        KeySpec::ALL,
        Locking::None,
        mget,
    ),
    spec(
        "mset",
        -3,
        WRITE | DENYOOM,
        KeySpec::PAIRS,
        Locking::Keys,
        mset,
    ),
    spec(
        "msetnx",
        -3,
        WRITE | DENYOOM,
        KeySpec::PAIRS,
        Locking::Keys,
        msetnx,
    ),
    write("getset", 3, DENYOOM | FAST, getset),
    write("getdel", 2, FAST, getdel),
    write("getex", -2, FAST, getex),
    write("incr", 2, DENYOOM | FAST, incr),
    write("decr", 2, DENYOOM | FAST, decr),
    write("incrby", 3, DENYOOM | FAST, incrby),
    write("decrby", 3, DENYOOM | FAST, decrby),
    write("incrbyfloat", 3, DENYOOM | FAST, incrbyfloat),
    write("append", 3, DENYOOM | FAST, append),
    read("strlen", 2, FAST, strlen),
    read("getrange", 4, 0, getrange),
    read("substr", 4, 0, getrange),
    write("setrange", 4, DENYOOM, setrange),
    spec("lcs", -3, READONLY, KeySpec::TWO, Locking::None, lcs),
];

/// A read-only command on one key (no locks; READONLY added to `flags`).
pub(crate) const fn read(
    name: &'static str,
    arity: i32,
    flags: u32,
    handler: super::Handler,
) -> CommandSpec {
    spec(
        name,
        arity,
        READONLY | flags,
        KeySpec::ONE,
        Locking::None,
        handler,
    )
}

/// A write command on one key (its stripe locked; WRITE added to `flags`).
pub(crate) const fn write(
    name: &'static str,
    arity: i32,
    flags: u32,
    handler: super::Handler,
) -> CommandSpec {
    spec(
        name,
        arity,
        WRITE | flags,
        KeySpec::ONE,
        Locking::Keys,
        handler,
    )
}

// ---- helpers shared with the bit commands ------------------------------------------------

/// The argument as Redis's C code sees it: cut at its first NUL byte.
pub(crate) fn cstr(arg: &[u8]) -> &[u8] {
    arg.iter().position(|&b| b == 0).map_or(arg, |n| &arg[..n])
}

/// True when the option `arg` is `word` as Redis's `strcasecmp` compares them.
pub(crate) fn opt_is(arg: &[u8], word: &str) -> bool {
    args::is(cstr(arg), word)
}

/// Redis's `lookupKeyRead` + `checkType(OBJ_STRING)`: counts a keyspace hit or miss, then
/// answers the live string meta, `None` for a missing key, WRONGTYPE for another type.
pub(crate) fn read_string(ex: &mut Exec<'_, '_>, key: &[u8]) -> Result<Option<Meta>> {
    let db = ex.db();
    let meta = ex.ctx.meta(db, key)?;
    ex.shared.stats.lookup(meta.is_some());
    if meta.is_none() {
        ex.ctx.notify(db, 'm', "keymiss", key);
    }
    match meta {
        Some(m) if m.kind != Kind::String => Err(Error::WrongType),
        other => Ok(other),
    }
}

/// Redis's `lookupKeyWrite` + `checkType(OBJ_STRING)` (no keyspace statistics).
pub(crate) fn write_string(ex: &mut Exec<'_, '_>, key: &[u8]) -> Result<Option<Meta>> {
    let db = ex.db();
    ex.ctx.meta_of(db, key, Kind::String)
}

/// The largest string a command may build (`proto-max-bulk-len`).
pub(crate) fn max_string_len(ex: &Exec<'_, '_>) -> u64 {
    ex.shared
        .config
        .limits()
        .proto_max_bulk_len
        .load(Ordering::Relaxed)
}

/// Redis's `checkStringLength`: `size + append` must fit in `proto-max-bulk-len`.
fn check_string_length(ex: &Exec<'_, '_>, size: u64, append: u64) -> Result<()> {
    match size.checked_add(append) {
        Some(total) if total <= max_string_len(ex) => Ok(()),
        _ => Err(Error::err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

// ---- expiry options ------------------------------------------------------------------------

/// Which expiry option was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpireUnit {
    /// `EX seconds` (relative).
    Ex,
    /// `PX milliseconds` (relative).
    Px,
    /// `EXAT unix-seconds`.
    ExAt,
    /// `PXAT unix-milliseconds`.
    PxAt,
}

impl ExpireUnit {
    fn from_word(opt: &[u8]) -> Option<ExpireUnit> {
        const WORDS: [(&str, ExpireUnit); 4] = [
            ("ex", ExpireUnit::Ex),
            ("px", ExpireUnit::Px),
            ("exat", ExpireUnit::ExAt),
            ("pxat", ExpireUnit::PxAt),
        ];
        WORDS.iter().find(|(w, _)| opt_is(opt, w)).map(|(_, u)| *u)
    }

    fn is_absolute(self) -> bool {
        matches!(self, ExpireUnit::ExAt | ExpireUnit::PxAt)
    }

    fn in_seconds(self) -> bool {
        matches!(self, ExpireUnit::Ex | ExpireUnit::ExAt)
    }
}

/// An expiry option and its (not yet validated) value.
#[derive(Debug, Clone)]
struct Expire {
    unit: ExpireUnit,
    value: Bytes,
}

impl Expire {
    /// Redis's `getExpireMillisecondsOrReply`: the absolute expiry in ms, or `ERR invalid
    /// expire time in '<cmd>' command` for a value <= 0 or one that overflows.
    fn resolve(&self, now_ms: u64, cmd: &str) -> Result<u64> {
        let invalid = || Error::err(format!("invalid expire time in '{cmd}' command"));
        let mut ms = args::int(&self.value)?;
        if ms <= 0 || (self.unit.in_seconds() && ms > i64::MAX / 1000) {
            return Err(invalid());
        }
        if self.unit.in_seconds() {
            ms *= 1000;
        }
        if !self.unit.is_absolute() {
            ms = i64::try_from(now_ms)
                .ok()
                .and_then(|now| ms.checked_add(now))
                .ok_or_else(invalid)?;
        }
        if ms <= 0 {
            return Err(invalid());
        }
        Ok(ms as u64)
    }
}

/// The options of SET and GETEX (Redis's `parseExtendedStringArgumentsOrReply`).
#[derive(Debug, Default)]
struct ExtOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<Expire>,
}

impl ExtOptions {
    /// Parses `args[from..]`; `for_set` allows NX/XX/GET/KEEPTTL, otherwise (GETEX) PERSIST.
    /// A repeated option is allowed; conflicting ones are `ERR syntax error`.
    fn parse(args: &[Bytes], from: usize, for_set: bool) -> Result<ExtOptions> {
        let mut o = ExtOptions::default();
        let mut j = from;
        while j < args.len() {
            let opt = &args[j];
            let next = args.get(j + 1);
            if for_set && opt_is(opt, "nx") && !o.xx {
                o.nx = true;
            } else if for_set && opt_is(opt, "xx") && !o.nx {
                o.xx = true;
            } else if for_set && opt_is(opt, "get") {
                o.get = true;
            } else if for_set && opt_is(opt, "keepttl") && !o.persist && o.expire.is_none() {
                o.keepttl = true;
            } else if !for_set && opt_is(opt, "persist") && o.expire.is_none() && !o.keepttl {
                o.persist = true;
            } else if let Some(unit) = ExpireUnit::from_word(opt).filter(|&u| {
                !o.keepttl && !o.persist && o.expire.as_ref().is_none_or(|e| e.unit == u)
            }) {
                let Some(value) = next else {
                    return Err(Error::Syntax);
                };
                o.expire = Some(Expire {
                    unit,
                    value: value.clone(),
                });
                j += 1;
            } else {
                return Err(Error::Syntax);
            }
            j += 1;
        }
        Ok(o)
    }
}

// ---- GET -------------------------------------------------------------------------------------

/// `GET key`.
struct Get {
    key: Bytes,
}

impl Get {
    fn parse(args: &[Bytes]) -> Result<Get> {
        Ok(Get {
            key: args[1].clone(),
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let value = read_string(ex, &self.key)?.map(|m| m.payload);
        Ok(Reply::opt_bulk(value))
    }
}

fn get(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Get::parse(args)?.apply(ex)
}

// ---- SET and friends -----------------------------------------------------------------------

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL]`, and the forms SETNX,
/// SETEX and PSETEX take (Redis's `setGenericCommand`).
struct Set {
    key: Bytes,
    value: Bytes,
    options: ExtOptions,
    /// The command name for the expire error.
    cmd: &'static str,
    /// The reply when the key was set (OK; SETNX: 1).
    ok_reply: Reply,
    /// The reply when NX/XX prevented the set (nil; SETNX: 0).
    abort_reply: Reply,
}

impl Set {
    fn parse(args: &[Bytes]) -> Result<Set> {
        Ok(Set {
            key: args[1].clone(),
            value: args[2].clone(),
            options: ExtOptions::parse(args, 3, true)?,
            cmd: "set",
            ok_reply: Reply::ok(),
            abort_reply: Reply::Nil,
        })
    }

    fn parse_setnx(args: &[Bytes]) -> Set {
        Set {
            key: args[1].clone(),
            value: args[2].clone(),
            options: ExtOptions {
                nx: true,
                ..ExtOptions::default()
            },
            cmd: "setnx",
            ok_reply: Reply::Integer(1),
            abort_reply: Reply::Integer(0),
        }
    }

    /// SETEX/PSETEX: `key ttl value`.
    fn parse_setex(args: &[Bytes], unit: ExpireUnit, cmd: &'static str) -> Set {
        Set {
            key: args[1].clone(),
            value: args[3].clone(),
            options: ExtOptions {
                expire: Some(Expire {
                    unit,
                    value: args[2].clone(),
                }),
                ..ExtOptions::default()
            },
            cmd,
            ok_reply: Reply::ok(),
            abort_reply: Reply::Nil,
        }
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let o = &self.options;
        let expire_at = match &o.expire {
            Some(e) => Some(e.resolve(ex.ctx.now_ms, self.cmd)?),
            None => None,
        };
        // With GET the old value is read as GET reads it (WRONGTYPE on another type, counted
        // as a hit or miss); NX/XX/KEEPTTL only need its existence and TTL, whatever the type.
        // A plain SET overwrites blindly: no read at all (the hot path of SET is one write).
        let existing = if o.get {
            read_string(ex, &self.key)?
        } else if o.nx || o.xx || o.keepttl {
            ex.ctx.meta(db, &self.key)?
        } else {
            None
        };
        let old = o.get.then(|| existing.as_ref().map(|m| m.payload.clone()));
        let found = existing.is_some();
        if (o.nx && found) || (o.xx && !found) {
            return Ok(match old {
                Some(v) => Reply::opt_bulk(v),
                None => self.abort_reply,
            });
        }
        let expire_ms = match (expire_at, &existing) {
            (Some(at), _) => at,
            (None, Some(m)) if o.keepttl => m.expire_ms,
            _ => 0,
        };
        ex.ctx.set_string(db, &self.key, self.value, expire_ms);
        ex.ctx.notify(db, '$', "set", &self.key);
        if expire_at.is_some() {
            ex.ctx.notify(db, 'g', "expire", &self.key);
        }
        Ok(match old {
            Some(v) => Reply::opt_bulk(v),
            None => self.ok_reply,
        })
    }
}

fn set(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Set::parse(args)?.apply(ex)
}

fn setnx(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Set::parse_setnx(args).apply(ex)
}

fn setex(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Set::parse_setex(args, ExpireUnit::Ex, "setex").apply(ex)
}

fn psetex(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Set::parse_setex(args, ExpireUnit::Px, "psetex").apply(ex)
}

// ---- MGET / MSET / MSETNX --------------------------------------------------------------------

/// `MGET key [key ...]`: one snapshot (the dispatcher gives multi-key reads one); a missing key
/// or one of another type is nil.
struct MGet {
    keys: Vec<Bytes>,
}

impl MGet {
    fn parse(args: &[Bytes]) -> Result<MGet> {
        Ok(MGet {
            keys: args[1..].to_vec(),
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let mut out = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            let meta = ex.ctx.meta(db, key)?;
            ex.shared.stats.lookup(meta.is_some());
            if meta.is_none() {
                ex.ctx.notify(db, 'm', "keymiss", key);
            }
            out.push(match meta {
                Some(m) if m.kind == Kind::String => Reply::Bulk(m.payload),
                _ => Reply::Nil,
            });
        }
        Ok(Reply::Array(out))
    }
}

fn mget(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    MGet::parse(args)?.apply(ex)
}

/// `MSET key value [key value ...]` and `MSETNX` (set nothing if any key exists).
struct MSet {
    pairs: Vec<(Bytes, Bytes)>,
    nx: bool,
}

impl MSet {
    fn parse(args: &[Bytes], nx: bool) -> Result<MSet> {
        if args.len().is_multiple_of(2) {
            return Err(Error::Arity(if nx { "msetnx" } else { "mset" }.into()));
        }
        let pairs = args[1..]
            .chunks_exact(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect();
        Ok(MSet { pairs, nx })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        if self.nx {
            for (key, _) in &self.pairs {
                if ex.ctx.meta(db, key)?.is_some() {
                    return Ok(Reply::Integer(0));
                }
            }
        }
        for (key, value) in self.pairs {
            ex.ctx.set_string(db, &key, value, 0);
            ex.ctx.notify(db, '$', "set", &key);
        }
        Ok(if self.nx {
            Reply::Integer(1)
        } else {
            Reply::ok()
        })
    }
}

fn mset(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    MSet::parse(args, false)?.apply(ex)
}

fn msetnx(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    MSet::parse(args, true)?.apply(ex)
}

// ---- GETSET / GETDEL / GETEX -----------------------------------------------------------------

/// `GETSET key value`: the old value; the new one has no TTL.
struct GetSet {
    key: Bytes,
    value: Bytes,
}

impl GetSet {
    fn parse(args: &[Bytes]) -> Result<GetSet> {
        Ok(GetSet {
            key: args[1].clone(),
            value: args[2].clone(),
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let old = read_string(ex, &self.key)?.map(|m| m.payload);
        ex.ctx.set_string(db, &self.key, self.value, 0);
        ex.ctx.notify(db, '$', "set", &self.key);
        Ok(Reply::opt_bulk(old))
    }
}

fn getset(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    GetSet::parse(args)?.apply(ex)
}

/// `GETDEL key`.
struct GetDel {
    key: Bytes,
}

impl GetDel {
    fn parse(args: &[Bytes]) -> Result<GetDel> {
        Ok(GetDel {
            key: args[1].clone(),
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let Some(meta) = read_string(ex, &self.key)? else {
            return Ok(Reply::Nil);
        };
        if ex.ctx.delete(db, &self.key)? {
            ex.ctx.notify(db, 'g', "del", &self.key);
        }
        Ok(Reply::Bulk(meta.payload))
    }
}

fn getdel(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    GetDel::parse(args)?.apply(ex)
}

/// `GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]`.
struct GetEx {
    key: Bytes,
    options: ExtOptions,
}

impl GetEx {
    fn parse(args: &[Bytes]) -> Result<GetEx> {
        Ok(GetEx {
            key: args[1].clone(),
            options: ExtOptions::parse(args, 2, false)?,
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        // A missing key answers nil before the expire value is looked at (as Redis).
        let Some(meta) = read_string(ex, &self.key)? else {
            return Ok(Reply::Nil);
        };
        let expire_at = match &self.options.expire {
            Some(e) => Some((e.resolve(ex.ctx.now_ms, "getex")?, e.unit.is_absolute())),
            None => None,
        };
        let value = meta.payload.clone();
        match expire_at {
            Some((at, true)) if at <= ex.ctx.now_ms => {
                // An absolute time already past deletes the key.
                ex.ctx.delete(db, &self.key)?;
                ex.ctx.notify(db, 'g', "del", &self.key);
            }
            Some((at, _)) => {
                ex.ctx.set_string(db, &self.key, value.clone(), at);
                ex.ctx.notify(db, 'g', "expire", &self.key);
            }
            None if self.options.persist && meta.expire_ms != 0 => {
                ex.ctx.set_string(db, &self.key, value.clone(), 0);
                ex.ctx.notify(db, 'g', "persist", &self.key);
            }
            None => {}
        }
        Ok(Reply::Bulk(value))
    }
}

fn getex(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    GetEx::parse(args)?.apply(ex)
}

// ---- INCR family -----------------------------------------------------------------------------

/// `INCR`, `DECR`, `INCRBY`, `DECRBY`: add `delta` to the integer in `key` (missing = 0),
/// keeping its TTL. Overflow is an error, never a wrap.
struct IncrBy {
    key: Bytes,
    delta: i64,
}

impl IncrBy {
    fn parse(args: &[Bytes], sign: i64) -> Result<IncrBy> {
        let delta = match args.get(2) {
            None => sign,
            Some(arg) => {
                let n = args::int(arg)?;
                if sign < 0 {
                    // Negating i64::MIN overflows.
                    n.checked_neg()
                        .ok_or_else(|| Error::err("decrement would overflow"))?
                } else {
                    n
                }
            }
        };
        Ok(IncrBy {
            key: args[1].clone(),
            delta,
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let meta = write_string(ex, &self.key)?;
        let current = match &meta {
            Some(m) => args::int(&m.payload)?,
            None => 0,
        };
        let value = current.checked_add(self.delta).ok_or(Error::Overflow)?;
        let expire_ms = meta.map_or(0, |m| m.expire_ms);
        // 0..10 000 from a static table; else one exact-size allocation (a `String` would add
        // a shared header on first clone).
        let text =
            shared_int(value).unwrap_or_else(|| Bytes::copy_from_slice(fmt_i64(value).as_bytes()));
        ex.ctx.set_string(db, &self.key, text, expire_ms);
        ex.ctx.notify(db, '$', "incrby", &self.key);
        Ok(Reply::Integer(value))
    }
}

fn incr(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    IncrBy::parse(args, 1)?.apply(ex)
}

fn decr(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    IncrBy::parse(args, -1)?.apply(ex)
}

fn incrby(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    IncrBy::parse(args, 1)?.apply(ex)
}

fn decrby(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    IncrBy::parse(args, -1)?.apply(ex)
}

/// `INCRBYFLOAT key increment`: long double arithmetic printed as Redis prints it.
struct IncrByFloat {
    key: Bytes,
    incr: Bytes,
}

impl IncrByFloat {
    fn parse(args: &[Bytes]) -> Result<IncrByFloat> {
        Ok(IncrByFloat {
            key: args[1].clone(),
            incr: args[2].clone(),
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        // WRONGTYPE comes before a bad increment, as in Redis.
        let meta = write_string(ex, &self.key)?;
        let current = meta.as_ref().map(|m| m.payload.as_ref());
        let value = incr_by_float(current, &self.incr).map_err(|e| match e {
            IncrFloatError::NanOrInfinity => Error::err("increment would produce NaN or Infinity"),
            _ => Error::NotFloat,
        })?;
        let value = Bytes::from(value);
        let expire_ms = meta.map_or(0, |m| m.expire_ms);
        ex.ctx.set_string(db, &self.key, value.clone(), expire_ms);
        ex.ctx.notify(db, '$', "incrbyfloat", &self.key);
        Ok(Reply::Bulk(value))
    }
}

fn incrbyfloat(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    IncrByFloat::parse(args)?.apply(ex)
}

// ---- APPEND / STRLEN / GETRANGE / SETRANGE ---------------------------------------------------

/// `APPEND key value`: the new length; keeps the TTL.
struct Append {
    key: Bytes,
    value: Bytes,
}

impl Append {
    fn parse(args: &[Bytes]) -> Result<Append> {
        Ok(Append {
            key: args[1].clone(),
            value: args[2].clone(),
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let (value, expire_ms) = match write_string(ex, &self.key)? {
            None => (self.value, 0),
            Some(m) => {
                check_string_length(ex, m.payload.len() as u64, self.value.len() as u64)?;
                let mut v = Vec::with_capacity(m.payload.len() + self.value.len());
                v.extend_from_slice(&m.payload);
                v.extend_from_slice(&self.value);
                (Bytes::from(v), m.expire_ms)
            }
        };
        let len = value.len() as i64;
        ex.ctx.set_string(db, &self.key, value, expire_ms);
        ex.ctx.notify(db, '$', "append", &self.key);
        Ok(Reply::Integer(len))
    }
}

fn append(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Append::parse(args)?.apply(ex)
}

fn strlen(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let len = read_string(ex, &args[1])?.map_or(0, |m| m.payload.len());
    Ok(Reply::Integer(len as i64))
}

/// `GETRANGE key start end` (and its old name SUBSTR): inclusive, negative from the end.
struct GetRange {
    key: Bytes,
    start: i64,
    end: i64,
}

impl GetRange {
    fn parse(args: &[Bytes]) -> Result<GetRange> {
        Ok(GetRange {
            key: args[1].clone(),
            start: args::int(&args[2])?,
            end: args::int(&args[3])?,
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let Some(meta) = read_string(ex, &self.key)? else {
            return Ok(Reply::bulk(b""));
        };
        Ok(
            match range_bounds(self.start, self.end, meta.payload.len()) {
                Some((from, to)) => Reply::Bulk(meta.payload.slice(from..=to)),
                None => Reply::bulk(b""),
            },
        )
    }
}

/// Redis's GETRANGE index arithmetic: the inclusive byte range to return, if not empty.
fn range_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return None;
    }
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end }.max(0).min(len - 1);
    (start <= end).then_some((start as usize, end as usize))
}

fn getrange(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    GetRange::parse(args)?.apply(ex)
}

/// `SETRANGE key offset value`: overwrite from `offset`, zero-padding; the new length.
struct SetRange {
    key: Bytes,
    offset: u64,
    value: Bytes,
}

impl SetRange {
    fn parse(args: &[Bytes]) -> Result<SetRange> {
        let offset = args::int(&args[2])?;
        let offset = u64::try_from(offset).map_err(|_| Error::err("offset is out of range"))?;
        Ok(SetRange {
            key: args[1].clone(),
            offset,
            value: args[3].clone(),
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let meta = write_string(ex, &self.key)?;
        if self.value.is_empty() {
            // Nothing to write: the current length (0 for a missing key), no size check.
            return Ok(Reply::Integer(meta.map_or(0, |m| m.payload.len() as i64)));
        }
        check_string_length(ex, self.offset, self.value.len() as u64)?;
        // Both fit in proto-max-bulk-len (checked above), hence in usize.
        let offset = self.offset as usize;
        let (mut buf, expire_ms) = match meta {
            Some(m) => (m.payload.to_vec(), m.expire_ms),
            None => (Vec::new(), 0),
        };
        let end = offset + self.value.len();
        if buf.len() < end {
            buf.resize(end, 0);
        }
        buf[offset..end].copy_from_slice(&self.value);
        let len = buf.len() as i64;
        ex.ctx
            .set_string(db, &self.key, Bytes::from(buf), expire_ms);
        ex.ctx.notify(db, '$', "setrange", &self.key);
        Ok(Reply::Integer(len))
    }
}

fn setrange(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    SetRange::parse(args)?.apply(ex)
}

// ---- LCS -------------------------------------------------------------------------------------

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]`.
struct Lcs {
    a: Bytes,
    b: Bytes,
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: u64,
}

impl Lcs {
    /// Redis looks the keys up before it parses the options: the type error comes first.
    fn run(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
        let not_strings = || Error::err("The specified keys must contain string values");
        let db = ex.db();
        let mut values = [Bytes::new(), Bytes::new()];
        let mut wrong_type = false;
        for (value, key) in values.iter_mut().zip(&args[1..3]) {
            let meta = ex.ctx.meta(db, key)?;
            ex.shared.stats.lookup(meta.is_some());
            if meta.is_none() {
                ex.ctx.notify(db, 'm', "keymiss", key);
            }
            match meta {
                Some(m) if m.kind == Kind::String => *value = m.payload,
                Some(_) => wrong_type = true,
                None => {}
            }
        }
        if wrong_type {
            return Err(not_strings());
        }
        let [a, b] = values;
        let mut lcs = Lcs {
            a,
            b,
            len: false,
            idx: false,
            with_match_len: false,
            min_match_len: 0,
        };
        let mut j = 3;
        while j < args.len() {
            let opt = &args[j];
            if opt_is(opt, "idx") {
                lcs.idx = true;
            } else if opt_is(opt, "len") {
                lcs.len = true;
            } else if opt_is(opt, "withmatchlen") {
                lcs.with_match_len = true;
            } else if opt_is(opt, "minmatchlen") && j + 1 < args.len() {
                lcs.min_match_len = args::int(&args[j + 1])?.max(0) as u64;
                j += 1;
            } else {
                return Err(Error::Syntax);
            }
            j += 1;
        }
        if lcs.idx && lcs.len {
            return Err(Error::err(
                "If you want both the length and indexes, please just use IDX.",
            ));
        }
        if lcs.a.len() as u64 >= u64::from(u32::MAX - 1)
            || lcs.b.len() as u64 >= u64::from(u32::MAX - 1)
        {
            return Err(Error::err("String too long for LCS"));
        }
        let cells = (lcs.a.len() as u64 + 1) * (lcs.b.len() as u64 + 1);
        if cells.saturating_mul(4) > max_string_len(ex) {
            return Err(Error::err(
                "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
            ));
        }
        lcs.compute(cells as usize)
    }

    /// The dynamic-programming table and Redis's backward walk, which emits the matching ranges
    /// from the end of the strings and extends a range while matches are contiguous.
    fn compute(self, cells: usize) -> Result<Reply> {
        let (a, b) = (&self.a[..], &self.b[..]);
        let (alen, blen) = (a.len(), b.len());
        let w = blen + 1;
        let mut table: Vec<u32> = Vec::new();
        if table.try_reserve_exact(cells).is_err() {
            return Err(Error::err(
                "Insufficient memory, failed allocating transient memory for LCS",
            ));
        }
        table.resize(cells, 0);
        for i in 1..=alen {
            let (prev, cur) = table.split_at_mut(i * w);
            let prev = &prev[(i - 1) * w..];
            let cur = &mut cur[..w];
            let ai = a[i - 1];
            for j in 1..=blen {
                cur[j] = if ai == b[j - 1] {
                    prev[j - 1] + 1
                } else {
                    prev[j].max(cur[j - 1])
                };
            }
        }
        let at = |i: usize, j: usize| table[i * w + j];
        let total = at(alen, blen);

        let compute = self.idx || !self.len;
        let mut idx = total as usize;
        let mut result = if compute { vec![0u8; idx] } else { Vec::new() };
        let mut matches = Vec::new();
        // `alen` as the range start means "no range open".
        let (mut a_start, mut a_end, mut b_start, mut b_end) = (alen, 0usize, 0usize, 0usize);
        let (mut i, mut j) = (alen, blen);
        while compute && i > 0 && j > 0 {
            let mut emit = false;
            if a[i - 1] == b[j - 1] {
                result[idx - 1] = a[i - 1];
                if a_start == alen {
                    (a_start, a_end, b_start, b_end) = (i - 1, i - 1, j - 1, j - 1);
                } else if a_start == i && b_start == j {
                    a_start -= 1;
                    b_start -= 1;
                } else {
                    emit = true;
                }
                if a_start == 0 || b_start == 0 {
                    emit = true;
                }
                idx -= 1;
                i -= 1;
                j -= 1;
            } else {
                if at(i - 1, j) > at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                if a_start != alen {
                    emit = true;
                }
            }
            if emit {
                let match_len = (a_end - a_start + 1) as u64;
                if self.idx && (self.min_match_len == 0 || match_len >= self.min_match_len) {
                    let mut m = vec![
                        Reply::Array(vec![int(a_start), int(a_end)]),
                        Reply::Array(vec![int(b_start), int(b_end)]),
                    ];
                    if self.with_match_len {
                        m.push(Reply::Integer(match_len as i64));
                    }
                    matches.push(Reply::Array(m));
                }
                a_start = alen;
            }
        }
        Ok(if self.idx {
            Reply::Map(vec![
                (Reply::bulk(b"matches"), Reply::Array(matches)),
                (Reply::bulk(b"len"), Reply::Integer(total as i64)),
            ])
        } else if self.len {
            Reply::Integer(total as i64)
        } else {
            Reply::Bulk(Bytes::from(result))
        })
    }
}

fn int(n: usize) -> Reply {
    Reply::Integer(n as i64)
}

fn lcs(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Lcs::run(ex, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn opts(words: &[&str], for_set: bool) -> Result<ExtOptions> {
        let mut args = vec![b("set"), b("k"), b("v")];
        args.extend(words.iter().map(|w| b(w)));
        ExtOptions::parse(&args, 3, for_set)
    }

    #[test]
    fn set_options() {
        assert!(opts(&["nx", "NX", "get", "ex", "1", "EX", "2"], true).is_ok());
        for bad in [
            &["nx", "xx"][..],
            &["ex", "1", "px", "1"],
            &["keepttl", "ex", "1"],
            &["ex", "1", "keepttl"],
            &["ex"],
            &["persist"],
        ] {
            assert!(matches!(opts(bad, true), Err(Error::Syntax)), "{bad:?}");
        }
        // C-string comparison: "NX\0junk" is NX.
        assert!(opts(&["NX\0junk"], true).is_ok_and(|o| o.nx));
        assert!(opts(&["persist"], false).is_ok_and(|o| o.persist));
        assert!(matches!(opts(&["nx"], false), Err(Error::Syntax)));
        assert!(matches!(
            opts(&["persist", "ex", "1"], false),
            Err(Error::Syntax)
        ));
    }

    #[test]
    fn expire_resolution() {
        let e = |unit, v: &str| Expire { unit, value: b(v) };
        assert_eq!(
            e(ExpireUnit::Ex, "10").resolve(1000, "set").ok(),
            Some(11_000)
        );
        assert_eq!(
            e(ExpireUnit::Px, "10").resolve(1000, "set").ok(),
            Some(1010)
        );
        assert_eq!(
            e(ExpireUnit::ExAt, "10").resolve(1000, "set").ok(),
            Some(10_000)
        );
        assert_eq!(
            e(ExpireUnit::PxAt, "10").resolve(1000, "set").ok(),
            Some(10)
        );
        let text = |r: Result<u64>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            text(e(ExpireUnit::Ex, "0").resolve(1, "setex")),
            "ERR invalid expire time in 'setex' command"
        );
        assert_eq!(
            text(e(ExpireUnit::Ex, "9223372036854775").resolve(1000, "set")),
            "ERR invalid expire time in 'set' command"
        );
        assert!(e(ExpireUnit::ExAt, "9223372036854775")
            .resolve(1000, "set")
            .is_ok());
        assert_eq!(
            text(e(ExpireUnit::Px, "x").resolve(1, "set")),
            Error::NotInteger.to_string()
        );
    }

    #[test]
    fn getrange_bounds() {
        assert_eq!(range_bounds(0, -1, 6), Some((0, 5)));
        assert_eq!(range_bounds(-3, -1, 6), Some((3, 5)));
        assert_eq!(range_bounds(5, 100, 6), Some((5, 5)));
        assert_eq!(range_bounds(-100, -200, 6), None);
        assert_eq!(range_bounds(0, -1, 0), None);
        assert_eq!(range_bounds(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(range_bounds(4, 2, 6), None);
    }
}
