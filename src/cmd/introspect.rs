//! Introspection of keys and of the storage: OBJECT ENCODING/FREQ/IDLETIME/REFCOUNT, MEMORY
//! USAGE, Pika's COMPACT, and the text of an INFO section on RocksDB ([`rocksdb_info`]).
//!
//! Talus keeps no in-memory objects, so these answer what clients and tools expect rather than
//! facts about memory:
//! - OBJECT ENCODING names the encoding Redis 7.0 would use for the value with the current
//!   `*-max-*` settings (`int`/`embstr`/`raw`, `listpack`/`hashtable`, `intset`/`hashtable`,
//!   `quicklist`, `listpack`/`skiplist`); it reads at most the first few hundred elements.
//! - OBJECT IDLETIME and FREQ answer 0 (no access tracking), with Redis's errors when the
//!   `maxmemory-policy` says the other one is tracked. REFCOUNT answers 1.
//! - MEMORY USAGE estimates the key's stored footprint: its meta entry plus its elements'
//!   keys and values, averaged over `SAMPLES` elements (5 by default, 0 = all) and scaled to
//!   the element count.
//! - COMPACT runs a full manual compaction of every column family and answers when it is
//!   done, so the garbage left by DEL, overwrites and expiry is gone afterwards.

use super::hashes::visit_elems;
use super::unlocked as sub;
use super::{args, flags::*, CommandSpec, Exec, KeySpec};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::storage::encoding::{meta_key, Kind, Meta};
use crate::storage::{Store, CF_DATA, CF_META, CF_SCORE};
use crate::util::number::parse_i64;
use bytes::Bytes;

/// The key of OBJECT and MEMORY subcommands (argument 2).
const SUB_KEY: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

/// OBJECT, MEMORY and COMPACT.
pub static COMMANDS: &[CommandSpec] = &[
    super::container_spec("object", OBJECT),
    super::container_spec("memory", MEMORY),
    sub("compact", 1, ADMIN | NOSCRIPT, KeySpec::NONE, compact),
];

static OBJECT: &[CommandSpec] = &[
    sub("object|encoding", 3, READONLY, SUB_KEY, object_encoding),
    sub("object|freq", 3, READONLY, SUB_KEY, object_freq),
    sub("object|idletime", 3, READONLY, SUB_KEY, object_idletime),
    sub("object|refcount", 3, READONLY, SUB_KEY, object_refcount),
    sub(
        "object|help",
        2,
        LOADING | STALE,
        KeySpec::NONE,
        object_help,
    ),
];

static MEMORY: &[CommandSpec] = &[
    sub("memory|usage", -3, READONLY, SUB_KEY, memory_usage),
    sub(
        "memory|help",
        2,
        LOADING | STALE,
        KeySpec::NONE,
        memory_help,
    ),
];

/// The live meta of `key` (no keyspace statistics, as Redis's `objectCommandLookup`).
fn lookup(ex: &mut Exec<'_, '_>, key: &[u8]) -> Result<Option<Meta>> {
    let db = ex.db();
    ex.ctx.meta(db, key)
}

/// An integer setting, or `default` when it cannot be read.
pub(crate) fn setting(ex: &Exec<'_, '_>, name: &str, default: u64) -> u64 {
    ex.shared
        .config
        .get(name.as_bytes())
        .first()
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(default)
}

fn policy(ex: &Exec<'_, '_>) -> String {
    ex.shared
        .config
        .get(b"maxmemory-policy")
        .first()
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default()
}

/// The encoding Redis 7.0 would give the value.
fn encoding(ex: &mut Exec<'_, '_>, key: &[u8], meta: &Meta) -> Result<&'static str> {
    let db = ex.db();
    Ok(match meta.kind {
        Kind::String => {
            let v = &meta.payload;
            if v.len() <= 20 && parse_i64(v).is_some() {
                "int"
            } else if v.len() <= 44 {
                "embstr"
            } else {
                "raw"
            }
        }
        Kind::List => "quicklist",
        Kind::Hash | Kind::ZSet => {
            let (entries, value) = if meta.kind == Kind::Hash {
                (
                    setting(ex, "hash-max-listpack-entries", 128),
                    setting(ex, "hash-max-listpack-value", 64),
                )
            } else {
                (
                    setting(ex, "zset-max-listpack-entries", 128),
                    setting(ex, "zset-max-listpack-value", 64),
                )
            };
            let mut small = meta.count <= entries;
            if small {
                let check = |sub: &[u8], v: &[u8]| {
                    // A zset's data value is its score, not a member.
                    let long = sub.len() as u64 > value
                        || (meta.kind == Kind::Hash && v.len() as u64 > value);
                    small = !long;
                    small
                };
                visit_elems(&ex.ctx, db, key, meta, check)?;
            }
            match (small, meta.kind) {
                (true, _) => "listpack",
                (false, Kind::Hash) => "hashtable",
                _ => "skiplist",
            }
        }
        Kind::Set => {
            let mut ints = meta.count <= setting(ex, "set-max-intset-entries", 512);
            if ints {
                visit_elems(&ex.ctx, db, key, meta, |m, _| {
                    ints = parse_i64(m).is_some();
                    ints
                })?;
            }
            if ints {
                "intset"
            } else {
                "hashtable"
            }
        }
    })
}

fn object_encoding(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let Some(meta) = lookup(ex, &args[2])? else {
        return Ok(Reply::Nil);
    };
    let enc = encoding(ex, &args[2], &meta)?;
    Ok(Reply::bulk(enc.as_bytes()))
}

fn object_freq(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    if lookup(ex, &args[2])?.is_none() {
        return Ok(Reply::Nil);
    }
    if !policy(ex).contains("lfu") {
        return Err(Error::err(
            "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    Ok(Reply::Integer(0))
}

fn object_idletime(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    if lookup(ex, &args[2])?.is_none() {
        return Ok(Reply::Nil);
    }
    if policy(ex).contains("lfu") {
        return Err(Error::err(
            "An LRU maxmemory policy is not selected, access time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    Ok(Reply::Integer(0))
}

fn object_refcount(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ok(match lookup(ex, &args[2])? {
        Some(_) => Reply::Integer(1),
        None => Reply::Nil,
    })
}

fn help(lines: &[&str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::bulk(l.as_bytes())).collect())
}

fn object_help(_ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(help(&[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Print this help.",
    ]))
}

fn memory_help(_ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(help(&[
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Print this help.",
    ]))
}

/// `MEMORY USAGE key [SAMPLES count]` (options checked before the key, as Redis does).
fn memory_usage(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let mut samples: u64 = 5;
    let mut j = 3;
    while j < args.len() {
        if args::is(&args[j], "samples") && j + 1 < args.len() {
            let n = args::int(&args[j + 1])?;
            if n < 0 {
                return Err(Error::Syntax);
            }
            samples = if n == 0 { u64::MAX } else { n as u64 };
            j += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    let key = &args[2];
    let Some(meta) = lookup(ex, key)? else {
        return Ok(Reply::Nil);
    };
    let db = ex.db();
    let mut total = (meta_key(db, key).len() + meta.encode().len()) as u64;
    if meta.kind.is_collection() && meta.count > 0 {
        // Each element's stored key repeats the prefix, the key and the version.
        let per_elem_key = (4 + 4 + key.len() + 8) as u64;
        let (mut seen, mut bytes) = (0u64, 0u64);
        let sample = |sub: &[u8], v: &[u8]| {
            seen += 1;
            bytes += per_elem_key + sub.len() as u64 + v.len() as u64;
            seen < samples
        };
        visit_elems(&ex.ctx, db, key, &meta, sample)?;
        if seen > 0 {
            total += (bytes as f64 / seen as f64 * meta.count as f64) as u64;
        }
        if meta.kind == Kind::ZSet {
            // The score index repeats each member with its 8-byte score.
            total += meta.count * (per_elem_key + 8);
        }
    }
    Ok(Reply::Integer(total.min(i64::MAX as u64) as i64))
}

/// `COMPACT`: a full manual compaction of every column family.
fn compact(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    ex.shared.store.compact_all();
    Ok(Reply::ok())
}

/// The fields of INFO's `rocksdb` section: for each column family, RocksDB's estimated number
/// of keys and the live and total size of its SST files (bytes), e.g.
/// `data.estimate_num_keys:1200`. Total minus live is garbage waiting for compaction.
pub fn rocksdb_info(store: &Store) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for cf in ["default", CF_META, CF_DATA, CF_SCORE] {
        let handle = store.cf(cf);
        for (prop, name) in [
            ("rocksdb.estimate-num-keys", "estimate_num_keys"),
            ("rocksdb.live-sst-files-size", "live_sst_files_size"),
            ("rocksdb.total-sst-files-size", "total_sst_files_size"),
        ] {
            let v = store
                .db()
                .property_int_value_cf(handle, prop)
                .ok()
                .flatten()
                .unwrap_or(0);
            out.push((format!("{cf}.{name}"), v.to_string()));
        }
    }
    out
}
