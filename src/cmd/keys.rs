//! The generic key commands: DEL, UNLINK, EXISTS, TYPE, the EXPIRE and TTL families, PERSIST,
//! TOUCH, KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX, COPY and MOVE, with Redis 7.0's replies,
//! error texts and keyspace events.
//!
//! They are written once for every type: they only look at a key's meta entry (type, expiry)
//! and move collections with [`Ctx::copy_key`], which rewrites the elements under a new
//! version, so every collection type works here without changes.
//!
//! Choices where the storage differs from Redis's hash table:
//! - KEYS, SCAN and RANDOMKEY walk the database's meta range in key order, which is (slot,
//!   key) order; the context's own pending writes (inside a transaction) are merged over it.
//! - A SCAN cursor is a decimal number the client sees; it maps to the encoded meta key to
//!   resume from in `Shared::scan_cursors`, a bounded table. An unknown or evicted cursor
//!   restarts from the beginning (duplicates are allowed by SCAN's contract, misses are not).
//!   COUNT bounds the meta entries examined, expired ones included, so a page may be empty.
//! - RANDOMKEY seeks to a random slot of the database and picks uniformly among the next
//!   [`RANDOM_WINDOW`] live keys (wrapping around the end): exactly uniform for databases of up
//!   to that many keys, and otherwise smoothed over that many gaps between keys. Expired keys
//!   are skipped, so nil means the database has no live key.
//! - RENAME and MOVE copy a collection's elements (O(N)) where Redis moves a pointer.
//! - Readers never delete expired keys (they hold no locks); writers do, as Redis's lazy expiry.

use super::args::parse_cursor;
use super::{args, flags::*, spec, CommandSpec, Exec, KeySpec, Locking};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::storage::context::Ctx;
use crate::storage::encoding::{peek_meta, Kind, PREFIX_LEN};
use crate::util::glob::glob_match;
use bytes::Bytes;
use rand::Rng;

/// How many live keys RANDOMKEY chooses among after its random seek.
pub const RANDOM_WINDOW: usize = 16;

/// SCAN's default COUNT.
const DEFAULT_SCAN_COUNT: u64 = 10;

/// The generic key commands (flags, arity and key positions as Redis 7.0's COMMAND reports).
pub static COMMANDS: &[CommandSpec] = &[
    spec("del", -2, WRITE, KeySpec::ALL, Locking::Keys, del),
    spec("unlink", -2, WRITE | FAST, KeySpec::ALL, Locking::Keys, del),
    spec(
        "exists",
        -2,
        READONLY | FAST,
        KeySpec::ALL,
        Locking::None,
        exists,
    ),
    spec(
        "type",
        2,
        READONLY | FAST,
        KeySpec::ONE,
        Locking::None,
        type_cmd,
    ),
    spec(
        "expire",
        -3,
        WRITE | FAST,
        KeySpec::ONE,
        Locking::Keys,
        expire,
    ),
    spec(
        "pexpire",
        -3,
        WRITE | FAST,
        KeySpec::ONE,
        Locking::Keys,
        pexpire,
    ),
    spec(
        "expireat",
        -3,
        WRITE | FAST,
        KeySpec::ONE,
        Locking::Keys,
        expireat,
    ),
    spec(
        "pexpireat",
        -3,
        WRITE | FAST,
        KeySpec::ONE,
        Locking::Keys,
        pexpireat,
    ),
    spec("ttl", 2, READONLY | FAST, KeySpec::ONE, Locking::None, ttl),
    spec(
        "pttl",
        2,
        READONLY | FAST,
        KeySpec::ONE,
        Locking::None,
        pttl,
    ),
    spec(
        "expiretime",
        2,
        READONLY | FAST,
        KeySpec::ONE,
        Locking::None,
        expiretime,
    ),
    spec(
        "pexpiretime",
        2,
        READONLY | FAST,
        KeySpec::ONE,
        Locking::None,
        pexpiretime,
    ),
    spec(
        "persist",
        2,
        WRITE | FAST,
        KeySpec::ONE,
        Locking::Keys,
        persist,
    ),
    spec(
        "touch",
        -2,
        READONLY | FAST,
        KeySpec::ALL,
        Locking::None,
        touch,
    ),
    spec("keys", 2, READONLY, KeySpec::NONE, Locking::None, keys),
    spec("scan", -2, READONLY, KeySpec::NONE, Locking::None, scan),
    spec(
        "randomkey",
        1,
        READONLY,
        KeySpec::NONE,
        Locking::None,
        randomkey,
    ),
    spec("rename", 3, WRITE, KeySpec::TWO, Locking::Keys, rename),
    spec(
        "renamenx",
        3,
        WRITE | FAST,
        KeySpec::TWO,
        Locking::Keys,
        renamenx,
    ),
    spec(
        "copy",
        -3,
        WRITE | DENYOOM,
        KeySpec::TWO,
        Locking::KeysAndDb(copy_other_db),
        copy,
    ),
    spec(
        "move",
        3,
        WRITE | FAST,
        KeySpec::ONE,
        Locking::KeysAndDb(move_other_db),
        move_cmd,
    ),
];

// ---- helpers ------------------------------------------------------------------------------

/// `ERR source and destination objects are the same` (COPY, MOVE).
const SAME_OBJECT: Error = Error::raw("ERR source and destination objects are the same");

/// True when a key with expiry `expire_ms` is live at `now_ms`.
fn live(expire_ms: u64, now_ms: u64) -> bool {
    expire_ms == 0 || expire_ms > now_ms
}

/// Parses a database index as MOVE and COPY do (Redis's `getIntFromObjectOrReply` then
/// `selectDb`): not an integer, then outside `int`, then outside `0..databases`.
fn db_arg(arg: &[u8], databases: u16) -> Result<u16> {
    let n = args::int(arg)?;
    if n < i32::MIN as i64 || n > i32::MAX as i64 {
        return Err(Error::raw(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    if n < 0 || n >= databases as i64 {
        return Err(Error::DbIndexOutOfRange);
    }
    Ok(n as u16)
}

/// A db index argument for the lock plan (the command itself validates it).
fn lock_db(arg: &[u8]) -> Option<u16> {
    crate::util::number::parse_i64(arg).and_then(|n| u16::try_from(n).ok())
}

/// MOVE locks its destination database too (shared).
fn move_other_db(args: &[Bytes]) -> Option<u16> {
    args.get(2).and_then(|a| lock_db(a))
}

/// COPY ... DB n locks database n too (shared); the last DB option wins, as in Redis.
fn copy_other_db(args: &[Bytes]) -> Option<u16> {
    let mut db = None;
    let mut j = 3;
    while j < args.len() {
        if args::is(&args[j], "db") && j + 1 < args.len() {
            db = lock_db(&args[j + 1]);
            j += 2;
        } else {
            j += 1;
        }
    }
    db
}

/// Visits the meta entries of `db` in key order from the encoded meta key `from` (inclusive),
/// merging the context's pending writes over the store. `visit(meta_key, kind, expire_ms)`
/// returns false to stop *before* the entry it was given: that entry's key is returned, to
/// resume from. Returns `None` when every entry was visited. Expired entries are visited too.
fn scan_db(
    ctx: &Ctx<'_>,
    db: u16,
    from: Option<&[u8]>,
    mut visit: impl FnMut(&[u8], Kind, u64) -> bool,
) -> Result<Option<Vec<u8>>> {
    let pending = ctx.pending_metas(db);
    let mut pi = match from {
        Some(f) => pending.partition_point(|(k, _)| *k < f),
        None => 0,
    };
    let mut stop: Option<Vec<u8>> = None;
    ctx.scan_stored_metas(db, from, |k, raw| {
        // Pending entries up to this stored key come first; one equal to it shadows it.
        while let Some(&(pk, pm)) = pending.get(pi) {
            if pk > k {
                break;
            }
            pi += 1;
            if let Some(m) = pm {
                if !visit(pk, m.kind, m.expire_ms) {
                    stop = Some(pk.to_vec());
                    return false;
                }
            }
            if pk == k {
                return true;
            }
        }
        let Some((kind, expire_ms, _)) = peek_meta(raw) else {
            return true;
        };
        if !visit(k, kind, expire_ms) {
            stop = Some(k.to_vec());
            return false;
        }
        true
    })?;
    if stop.is_some() {
        return Ok(stop);
    }
    for &(pk, pm) in &pending[pi..] {
        if let Some(m) = pm {
            if !visit(pk, m.kind, m.expire_ms) {
                return Ok(Some(pk.to_vec()));
            }
        }
    }
    Ok(None)
}

/// The user key of an encoded meta key.
fn user_key(meta_key: &[u8]) -> &[u8] {
    meta_key.get(PREFIX_LEN..).unwrap_or_default()
}

// ---- DEL, UNLINK, EXISTS, TOUCH, TYPE -----------------------------------------------------

/// `DEL key [key ...]` and `UNLINK key [key ...]` (deletion is O(1) for every type, so UNLINK
/// is DEL).
struct Del {
    keys: Vec<Bytes>,
}

impl Del {
    fn parse(args: &[Bytes]) -> Result<Del> {
        Ok(Del {
            keys: args[1..].to_vec(),
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let mut n = 0;
        for key in &self.keys {
            if ex.ctx.delete(db, key)? {
                ex.ctx.notify(db, 'g', "del", key);
                n += 1;
            }
        }
        Ok(Reply::Integer(n))
    }
}

fn del(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Del::parse(args)?.apply(ex)
}

/// `EXISTS key [key ...]` and `TOUCH key [key ...]`: how many of the keys exist, a key named
/// twice counted twice.
struct Exists {
    keys: Vec<Bytes>,
}

impl Exists {
    fn parse(args: &[Bytes]) -> Result<Exists> {
        Ok(Exists {
            keys: args[1..].to_vec(),
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let mut n = 0;
        for key in &self.keys {
            let hit = ex.ctx.meta(db, key)?.is_some();
            ex.shared.stats.lookup(hit);
            if !hit {
                ex.ctx.notify(db, 'm', "keymiss", key);
            }
            n += hit as i64;
        }
        Ok(Reply::Integer(n))
    }
}

fn exists(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Exists::parse(args)?.apply(ex)
}

fn touch(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    // Talus keeps no access times (no LRU/LFU eviction), so TOUCH only counts.
    Exists::parse(args)?.apply(ex)
}

/// `TYPE key`.
struct Type {
    key: Bytes,
}

impl Type {
    fn parse(args: &[Bytes]) -> Result<Type> {
        Ok(Type {
            key: args[1].clone(),
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let meta = ex.ctx.meta(db, &self.key)?;
        ex.shared.stats.lookup(meta.is_some());
        if meta.is_none() {
            ex.ctx.notify(db, 'm', "keymiss", &self.key);
        }
        Ok(Reply::simple(meta.map_or("none", |m| m.kind.name())))
    }
}

fn type_cmd(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Type::parse(args)?.apply(ex)
}

// ---- EXPIRE family ------------------------------------------------------------------------

/// EXPIRE's NX/XX/GT/LT conditions.
#[derive(Debug, Default, Clone, Copy)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireFlags {
    /// Parses the options after the time, in Redis's order: unknown option first, then the
    /// incompatible combinations.
    fn parse(opts: &[Bytes]) -> Result<ExpireFlags> {
        let mut f = ExpireFlags::default();
        for opt in opts {
            if args::is(opt, "nx") {
                f.nx = true;
            } else if args::is(opt, "xx") {
                f.xx = true;
            } else if args::is(opt, "gt") {
                f.gt = true;
            } else if args::is(opt, "lt") {
                f.lt = true;
            } else {
                return Err(Error::err(format!(
                    "Unsupported option {}",
                    args::text(opt)
                )));
            }
        }
        if f.nx && (f.xx || f.gt || f.lt) {
            return Err(Error::err(
                "NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if f.gt && f.lt {
            return Err(Error::err(
                "GT and LT options at the same time are not compatible",
            ));
        }
        Ok(f)
    }

    /// Whether the new expiry `when` may replace `current` (`None` = no TTL, which GT and LT
    /// treat as infinite).
    fn allow(self, current: Option<i64>, when: i64) -> bool {
        if self.nx && current.is_some() {
            return false;
        }
        if self.xx && current.is_none() {
            return false;
        }
        if self.gt && current.is_none_or(|c| when <= c) {
            return false;
        }
        if self.lt && current.is_some_and(|c| when >= c) {
            return false;
        }
        true
    }
}

/// `EXPIRE`, `PEXPIRE`, `EXPIREAT`, `PEXPIREAT key time [NX|XX|GT|LT]`.
struct Expire {
    key: Bytes,
    /// The absolute expiry in Unix ms; at or before now, the key is deleted.
    when: i64,
    flags: ExpireFlags,
}

impl Expire {
    /// Parses with `unit_ms` (1000 for seconds) and `relative` (add the command's clock).
    fn parse(
        args: &[Bytes],
        name: &str,
        unit_ms: i64,
        relative: bool,
        now_ms: u64,
    ) -> Result<Expire> {
        let flags = ExpireFlags::parse(&args[3..])?;
        let invalid = || Error::err(format!("invalid expire time in '{name}' command"));
        let when = args::int(&args[2])?;
        let when = when.checked_mul(unit_ms).ok_or_else(invalid)?;
        let base = if relative { now_ms as i64 } else { 0 };
        let when = when.checked_add(base).ok_or_else(invalid)?;
        Ok(Expire {
            key: args[1].clone(),
            when,
            flags,
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let Some(mut meta) = ex.ctx.meta(db, &self.key)? else {
            return Ok(Reply::Integer(0));
        };
        let current = (meta.expire_ms != 0).then_some(meta.expire_ms as i64);
        if !self.flags.allow(current, self.when) {
            return Ok(Reply::Integer(0));
        }
        if self.when <= ex.ctx.now_ms as i64 {
            ex.ctx.delete(db, &self.key)?;
            ex.ctx.notify(db, 'g', "del", &self.key);
        } else {
            meta.expire_ms = self.when as u64;
            ex.ctx.put_meta(db, &self.key, meta);
            ex.ctx.notify(db, 'g', "expire", &self.key);
        }
        Ok(Reply::Integer(1))
    }
}

fn expire(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Expire::parse(args, "expire", 1000, true, ex.ctx.now_ms)?.apply(ex)
}

fn pexpire(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Expire::parse(args, "pexpire", 1, true, ex.ctx.now_ms)?.apply(ex)
}

fn expireat(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Expire::parse(args, "expireat", 1000, false, ex.ctx.now_ms)?.apply(ex)
}

fn pexpireat(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Expire::parse(args, "pexpireat", 1, false, ex.ctx.now_ms)?.apply(ex)
}

/// `TTL`, `PTTL`, `EXPIRETIME`, `PEXPIRETIME key`: -2 when missing, -1 without expiry.
struct Ttl {
    key: Bytes,
    /// Milliseconds rather than seconds (rounded to the nearest second).
    ms: bool,
    /// The absolute Unix time rather than the time left.
    absolute: bool,
}

impl Ttl {
    fn parse(args: &[Bytes], ms: bool, absolute: bool) -> Result<Ttl> {
        Ok(Ttl {
            key: args[1].clone(),
            ms,
            absolute,
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let meta = ex.ctx.meta(db, &self.key)?;
        ex.shared.stats.lookup(meta.is_some());
        if meta.is_none() {
            ex.ctx.notify(db, 'm', "keymiss", &self.key);
        }
        let Some(meta) = meta else {
            return Ok(Reply::Integer(-2));
        };
        if meta.expire_ms == 0 {
            return Ok(Reply::Integer(-1));
        }
        let expire = meta.expire_ms as i128;
        let t = if self.absolute {
            expire
        } else {
            (expire - ex.ctx.now_ms as i128).max(0)
        };
        let t = if self.ms { t } else { (t + 500) / 1000 };
        Ok(Reply::Integer(
            t.clamp(i64::MIN as i128, i64::MAX as i128) as i64
        ))
    }
}

fn ttl(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ttl::parse(args, false, false)?.apply(ex)
}

fn pttl(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ttl::parse(args, true, false)?.apply(ex)
}

fn expiretime(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ttl::parse(args, false, true)?.apply(ex)
}

fn pexpiretime(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ttl::parse(args, true, true)?.apply(ex)
}

/// `PERSIST key`: 1 when a TTL was removed.
struct Persist {
    key: Bytes,
}

impl Persist {
    fn parse(args: &[Bytes]) -> Result<Persist> {
        Ok(Persist {
            key: args[1].clone(),
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        match ex.ctx.meta(db, &self.key)? {
            Some(mut meta) if meta.expire_ms != 0 => {
                meta.expire_ms = 0;
                ex.ctx.put_meta(db, &self.key, meta);
                ex.ctx.notify(db, 'g', "persist", &self.key);
                Ok(Reply::Integer(1))
            }
            _ => Ok(Reply::Integer(0)),
        }
    }
}

fn persist(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Persist::parse(args)?.apply(ex)
}

// ---- KEYS, SCAN, RANDOMKEY ----------------------------------------------------------------

/// `KEYS pattern`.
struct Keys {
    pattern: Bytes,
}

impl Keys {
    fn parse(args: &[Bytes]) -> Result<Keys> {
        Ok(Keys {
            pattern: args[1].clone(),
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let (db, now) = (ex.db(), ex.ctx.now_ms);
        let all = self.pattern.as_ref() == b"*";
        let mut out = Vec::new();
        scan_db(&ex.ctx, db, None, |mk, _, expire_ms| {
            let key = user_key(mk);
            if live(expire_ms, now) && (all || glob_match(&self.pattern, key, false)) {
                out.push(Reply::bulk(key));
            }
            true
        })?;
        Ok(Reply::Array(out))
    }
}

fn keys(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Keys::parse(args)?.apply(ex)
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`.
struct Scan {
    cursor: u64,
    pattern: Option<Bytes>,
    count: u64,
    type_name: Option<Bytes>,
}

impl Scan {
    fn parse(args: &[Bytes]) -> Result<Scan> {
        let cursor = parse_cursor(&args[1])?;
        let mut scan = Scan {
            cursor,
            pattern: None,
            count: DEFAULT_SCAN_COUNT,
            type_name: None,
        };
        let mut i = 2;
        while i < args.len() {
            let has_value = i + 1 < args.len();
            let opt = &args[i];
            if args::is(opt, "count") && has_value {
                let n = args::int(&args[i + 1])?;
                if n < 1 {
                    return Err(Error::Syntax);
                }
                scan.count = n as u64;
            } else if args::is(opt, "match") && has_value {
                let p = &args[i + 1];
                scan.pattern = (p.as_ref() != b"*").then(|| p.clone());
            } else if args::is(opt, "type") && has_value {
                scan.type_name = Some(args[i + 1].clone());
            } else {
                return Err(Error::Syntax);
            }
            i += 2;
        }
        Ok(scan)
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let (db, now) = (ex.db(), ex.ctx.now_ms);
        let resume = match self.cursor {
            0 => None,
            c => ex
                .shared
                .scan_cursors
                .get(c)
                .filter(|k| k.starts_with(&db.to_be_bytes())),
        };
        let mut examined = 0u64;
        let mut out = Vec::new();
        let next = scan_db(&ex.ctx, db, resume.as_deref(), |mk, kind, expire_ms| {
            if examined == self.count {
                return false;
            }
            examined += 1;
            let key = user_key(mk);
            let wanted = live(expire_ms, now)
                && self
                    .type_name
                    .as_ref()
                    .is_none_or(|t| kind.name().as_bytes().eq_ignore_ascii_case(t))
                && self
                    .pattern
                    .as_ref()
                    .is_none_or(|p| glob_match(p, key, false));
            if wanted {
                out.push(Reply::bulk(key));
            }
            true
        })?;
        let cursor = next.map_or(0, |k| ex.shared.scan_cursors.save(k));
        Ok(Reply::Array(vec![
            Reply::Bulk(Bytes::from(cursor.to_string())),
            Reply::Array(out),
        ]))
    }
}

fn scan(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Scan::parse(args)?.apply(ex)
}

/// `RANDOMKEY`.
struct RandomKey;

impl RandomKey {
    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let (db, now) = (ex.db(), ex.ctx.now_ms);
        let slot: u16 = rand::rng().random_range(0..16384);
        let mut start = db.to_be_bytes().to_vec();
        start.extend_from_slice(&slot.to_be_bytes());
        let mut window: Vec<Vec<u8>> = Vec::new();
        let take = |mk: &[u8], expire_ms: u64, window: &mut Vec<Vec<u8>>| {
            if window.len() >= RANDOM_WINDOW {
                return false;
            }
            if live(expire_ms, now) {
                window.push(user_key(mk).to_vec());
            }
            true
        };
        scan_db(&ex.ctx, db, Some(&start), |mk, _, e| {
            take(mk, e, &mut window)
        })?;
        if window.len() < RANDOM_WINDOW {
            // Wrap around: the keys before the random start.
            scan_db(&ex.ctx, db, None, |mk, _, e| {
                mk < start.as_slice() && take(mk, e, &mut window)
            })?;
        }
        if window.is_empty() {
            return Ok(Reply::Nil);
        }
        let pick = rand::rng().random_range(0..window.len());
        Ok(Reply::Bulk(Bytes::from(window.swap_remove(pick))))
    }
}

fn randomkey(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    RandomKey.apply(ex)
}

// ---- RENAME, RENAMENX, COPY, MOVE ---------------------------------------------------------

/// `RENAME key newkey` and `RENAMENX key newkey` (the TTL moves with the key).
struct Rename {
    src: Bytes,
    dst: Bytes,
    nx: bool,
}

impl Rename {
    fn parse(args: &[Bytes], nx: bool) -> Result<Rename> {
        Ok(Rename {
            src: args[1].clone(),
            dst: args[2].clone(),
            nx,
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let Some(meta) = ex.ctx.meta(db, &self.src)? else {
            return Err(Error::NoSuchKey);
        };
        let done = |ok: bool| {
            if self.nx {
                Reply::Integer(ok as i64)
            } else {
                Reply::ok()
            }
        };
        if self.src == self.dst {
            return Ok(done(false));
        }
        if self.nx && ex.ctx.meta(db, &self.dst)?.is_some() {
            return Ok(Reply::Integer(0));
        }
        // Redis deletes the destination, then adds the key anew (a `new` event either way).
        ex.ctx.delete(db, &self.dst)?;
        ex.ctx
            .copy_key(db, &self.src, db, &self.dst, meta.expire_ms)?;
        ex.ctx.delete(db, &self.src)?;
        ex.ctx.notify(db, 'g', "rename_from", &self.src);
        ex.ctx.notify(db, 'g', "rename_to", &self.dst);
        Ok(done(true))
    }
}

fn rename(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Rename::parse(args, false)?.apply(ex)
}

fn renamenx(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Rename::parse(args, true)?.apply(ex)
}

/// `COPY source destination [DB destination-db] [REPLACE]` (the TTL is copied).
struct Copy {
    src: Bytes,
    dst: Bytes,
    dst_db: Option<u16>,
    replace: bool,
}

impl Copy {
    fn parse(args: &[Bytes], databases: u16) -> Result<Copy> {
        let mut copy = Copy {
            src: args[1].clone(),
            dst: args[2].clone(),
            dst_db: None,
            replace: false,
        };
        let mut j = 3;
        while j < args.len() {
            if args::is(&args[j], "replace") {
                copy.replace = true;
            } else if args::is(&args[j], "db") && j + 1 < args.len() {
                copy.dst_db = Some(db_arg(&args[j + 1], databases)?);
                j += 1;
            } else {
                return Err(Error::Syntax);
            }
            j += 1;
        }
        Ok(copy)
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let dst_db = self.dst_db.unwrap_or(db);
        if dst_db == db && self.src == self.dst {
            return Err(SAME_OBJECT);
        }
        // The source is read as Redis's `lookupKeyRead` does: a hit or a miss (`keymiss`).
        let meta = ex.ctx.meta(db, &self.src)?;
        ex.shared.stats.lookup(meta.is_some());
        let Some(meta) = meta else {
            ex.ctx.notify(db, 'm', "keymiss", &self.src);
            return Ok(Reply::Integer(0));
        };
        if ex.ctx.meta(dst_db, &self.dst)?.is_some() {
            if !self.replace {
                return Ok(Reply::Integer(0));
            }
            // REPLACE deletes the destination, then adds the copy anew (a `new` event).
            ex.ctx.delete(dst_db, &self.dst)?;
        }
        ex.ctx
            .copy_key(db, &self.src, dst_db, &self.dst, meta.expire_ms)?;
        ex.ctx.notify(dst_db, 'g', "copy_to", &self.dst);
        Ok(Reply::Integer(1))
    }
}

fn copy(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let databases = ex.shared.store.databases();
    Copy::parse(args, databases)?.apply(ex)
}

/// `MOVE key db` (the TTL moves with the key).
struct Move {
    key: Bytes,
    dst_db: u16,
}

impl Move {
    fn parse(args: &[Bytes], databases: u16) -> Result<Move> {
        Ok(Move {
            key: args[1].clone(),
            dst_db: db_arg(&args[2], databases)?,
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        if self.dst_db == db {
            return Err(SAME_OBJECT);
        }
        let Some(meta) = ex.ctx.meta(db, &self.key)? else {
            return Ok(Reply::Integer(0));
        };
        if ex.ctx.meta(self.dst_db, &self.key)?.is_some() {
            return Ok(Reply::Integer(0));
        }
        ex.ctx
            .copy_key(db, &self.key, self.dst_db, &self.key, meta.expire_ms)?;
        ex.ctx.delete(db, &self.key)?;
        ex.ctx.notify(db, 'g', "move_from", &self.key);
        ex.ctx.notify(self.dst_db, 'g', "move_to", &self.key);
        Ok(Reply::Integer(1))
    }
}

fn move_cmd(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let databases = ex.shared.store.databases();
    Move::parse(args, databases)?.apply(ex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0").ok(), Some(0));
        assert_eq!(parse_cursor(b"").ok(), Some(0));
        assert_eq!(parse_cursor(b"+7").ok(), Some(7));
        assert_eq!(parse_cursor(b"007").ok(), Some(7));
        assert_eq!(parse_cursor(b"-1").ok(), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615").ok(), Some(u64::MAX));
        for bad in [
            "18446744073709551616",
            " 1",
            "1a",
            "-",
            "+",
            "abc",
            "\t0",
            "1 ",
        ] {
            assert!(parse_cursor(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn expire_flags() {
        let f = |s: &[&str]| ExpireFlags::parse(&s.iter().map(|x| b(x)).collect::<Vec<_>>());
        assert_eq!(
            f(&["nx", "gt"]).unwrap_err().to_string(),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
        assert_eq!(
            f(&["GT", "lt"]).unwrap_err().to_string(),
            "ERR GT and LT options at the same time are not compatible"
        );
        assert_eq!(
            f(&["xx", "foo"]).unwrap_err().to_string(),
            "ERR Unsupported option foo"
        );
        let gt = f(&["gt"]).unwrap();
        assert!(!gt.allow(None, 5));
        assert!(gt.allow(Some(4), 5));
        assert!(!gt.allow(Some(5), 5));
        let lt = f(&["lt"]).unwrap();
        assert!(lt.allow(None, 5));
        assert!(lt.allow(Some(6), 5));
        assert!(!lt.allow(Some(5), 5));
        let xx_gt = f(&["xx", "gt"]).unwrap();
        assert!(!xx_gt.allow(None, 5));
    }

    #[test]
    fn lock_dbs_from_args() {
        let args = |s: &[&str]| s.iter().map(|x| b(x)).collect::<Vec<_>>();
        assert_eq!(move_other_db(&args(&["move", "k", "3"])), Some(3));
        assert_eq!(move_other_db(&args(&["move", "k", "x"])), None);
        assert_eq!(
            copy_other_db(&args(&["copy", "a", "b", "replace", "db", "2"])),
            Some(2)
        );
        assert_eq!(
            copy_other_db(&args(&["copy", "a", "b", "db", "1", "db", "4"])),
            Some(4)
        );
        assert_eq!(copy_other_db(&args(&["copy", "a", "b", "db"])), None);
    }

    #[test]
    fn db_args() {
        assert_eq!(db_arg(b"3", 16).ok(), Some(3));
        assert_eq!(
            db_arg(b"16", 16).unwrap_err().to_string(),
            "ERR DB index is out of range"
        );
        assert_eq!(
            db_arg(b"-1", 16).unwrap_err().to_string(),
            "ERR DB index is out of range"
        );
        assert_eq!(
            db_arg(b"99999999999", 16).unwrap_err().to_string(),
            "ERR value is out of range, value must between -2147483648 and 2147483647"
        );
        assert_eq!(
            db_arg(b"x", 16).unwrap_err().to_string(),
            "ERR value is not an integer or out of range"
        );
    }
}
