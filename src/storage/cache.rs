//! A bounded in-memory cache of meta entries in front of RocksDB (Pika has one too).
//!
//! A point lookup in RocksDB's memtable is a skip-list search: about twenty dependent cache
//! misses, measured at half of an executor's time under `GET -P 16`. This cache answers hot
//! keys with one hash probe. It stays exact without versions because of who may fill it:
//! - a writer fills and updates it only while it holds the key's stripe lock: after its batch
//!   is in the WAL, with the final value of every key it wrote (or removes them), and on a miss
//!   it reads RocksDB and fills in under that same lock, so nothing can change the key between
//!   the read and the fill;
//! - a reader without locks only looks; on a miss it reads RocksDB and leaves the cache alone;
//! - FLUSHDB clears the database's entries; expired entries are judged by their expiry on every
//!   use, like stored ones; snapshot reads bypass the cache.
//!
//! Memory is bounded (`cache-max-memory`, 0 disables it): values larger than
//! [`MAX_CACHED_PAYLOAD`] are never cached, and each shard evicts its oldest insertions first.

mod table;

use super::encoding::{Kind, Meta};
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use table::{Slot, Table};

/// Number of shards (a power of two); each has its own lock.
const SHARDS: usize = 64;
/// Entries whose payload is larger are not cached.
pub const MAX_CACHED_PAYLOAD: usize = 16 * 1024;
/// Bytes counted per entry on top of what its key and payload keep on the heap: its slot in the
/// table (152 bytes on 64-bit targets).
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Option<Slot<Key, Entry>>>();
/// Bytes counted per heap allocation (a long key's or payload's) on top of its length.
const HEAP_OVERHEAD: usize = 32;

/// A cached meta; a hidden one answers no lookup until it is put again.
struct Entry {
    kind: Kind,
    expire_ms: u64,
    version: u64,
    count: u64,
    payload: Payload,
    hidden: bool,
}

impl Entry {
    /// An entry holding `meta` (its payload copied, see [`Payload`]).
    fn new(meta: &Meta) -> Entry {
        Entry {
            kind: meta.kind,
            expire_ms: meta.expire_ms,
            version: meta.version,
            count: meta.count,
            payload: Payload::new(&meta.payload),
            hidden: false,
        }
    }

    /// Makes this entry hold `meta`, reusing its payload's room where it can.
    fn set(&mut self, meta: &Meta) {
        self.kind = meta.kind;
        self.expire_ms = meta.expire_ms;
        self.version = meta.version;
        self.count = meta.count;
        self.payload.set(&meta.payload);
        self.hidden = false;
    }

    fn meta(&self) -> Meta {
        Meta {
            kind: self.kind,
            expire_ms: self.expire_ms,
            version: self.version,
            count: self.count,
            payload: self.payload.to_bytes(),
        }
    }
}

/// Up to `N` bytes kept inside the map's slot (a key or a payload), so reading them follows
/// no pointer to another cache line and storing them allocates nothing.
#[derive(Clone, Copy)]
struct InlineBytes<const N: usize> {
    len: u8,
    buf: [u8; N],
}

impl<const N: usize> InlineBytes<N> {
    /// `v` inline, if it fits.
    fn new(v: &[u8]) -> Option<Self> {
        let mut buf = [0; N];
        buf.get_mut(..v.len())?.copy_from_slice(v);
        Some(InlineBytes {
            len: v.len() as u8,
            buf,
        })
    }

    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

/// Longest payload kept inside the map's slot.
const INLINE_PAYLOAD: usize = 72;

/// A cached payload. Short ones (counters, tokens, small values, a zset's marks, collections'
/// empty payloads) live inside the map's slot: a lookup reads them from the cache lines it has
/// already loaded, and an overwrite neither reads an old buffer nor allocates. A separate
/// buffer was one more cache miss per INCR (inline up to 23 bytes: executor CPU per MULTI +
/// 10 INCR + EXEC, means of six rounds, 34.1 -> 30.2 µs) and, under `SET -P 16 -d 64`, a tenth
/// of the executor's samples (inline up to 72 bytes, the slot growing from 96 to 144 bytes:
/// 1.8/1.6/1.6 -> 1.3/1.4/1.3 µs per request). Longer ones are a compact copy (a payload
/// sliced from a connection's read buffer would pin that whole buffer while the entry lives).
enum Payload {
    Inline(InlineBytes<INLINE_PAYLOAD>),
    Heap(Bytes),
}

impl Payload {
    fn new(v: &[u8]) -> Payload {
        match InlineBytes::new(v) {
            Some(inline) => Payload::Inline(inline),
            None => Payload::Heap(Bytes::copy_from_slice(v)),
        }
    }

    /// Replaces the value; a long one is written into the old buffer when nobody else holds
    /// it and it fits without much waste, so overwriting a key (SET, INCR) neither frees the
    /// old value nor allocates the new one: under `SET -P 16` that free and malloc were a
    /// tenth of the executor's time (the old value's memory is cold).
    fn set(&mut self, v: &[u8]) {
        if v.len() <= INLINE_PAYLOAD {
            *self = Payload::new(v);
            return;
        }
        let old = match self {
            Payload::Heap(b) => std::mem::take(b),
            Payload::Inline(_) => Bytes::new(),
        };
        *self = Payload::Heap(match old.try_into_mut() {
            Ok(mut buf) if buf.capacity() >= v.len() && buf.capacity() <= 2 * v.len() + 64 => {
                buf.clear();
                buf.extend_from_slice(v);
                buf.freeze()
            }
            _ => Bytes::copy_from_slice(v),
        });
    }

    fn len(&self) -> usize {
        match self {
            Payload::Inline(v) => v.len as usize,
            Payload::Heap(b) => b.len(),
        }
    }

    fn to_bytes(&self) -> Bytes {
        match self {
            // A small counter's value (INCR's) is shared, not copied.
            Payload::Inline(v) => crate::util::number::shared_int_of(v.as_slice())
                .unwrap_or_else(|| Bytes::copy_from_slice(v.as_slice())),
            Payload::Heap(b) => b.clone(),
        }
    }
}

/// Longest key kept inside the map's slot.
const INLINE: usize = 30;

/// A cached meta key. Short keys (most keys) live inside the map's slot, so a probe compares
/// them without following a pointer to another cache line (under pipelined writes, that miss
/// was most of the cache's cost), and caching one allocates nothing.
#[derive(Clone)]
enum Key {
    Inline(InlineBytes<INLINE>),
    Heap(Box<[u8]>),
}

impl Key {
    fn new(key: &[u8]) -> Key {
        match InlineBytes::new(key) {
            Some(inline) => Key::Inline(inline),
            None => Key::Heap(key.into()),
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Key::Inline(key) => key.as_slice(),
            Key::Heap(key) => key,
        }
    }
}

#[derive(Default)]
struct Shard {
    map: Table<Key, Entry>,
    /// Insertion order, for eviction: each key with its hash.
    order: VecDeque<(u64, Key)>,
    bytes: usize,
}

impl Shard {
    /// Publishes where the shard's table lies, for [`MetaCache::prefetch`].
    fn publish(&self, hint: &Hint) {
        let (base, mask) = self.map.layout();
        hint.base.store(base, Ordering::Relaxed);
        hint.mask.store(mask, Ordering::Relaxed);
    }
}

/// Where a shard's table lies, readable without its lock. Only ever used as a prefetch
/// address: a stale one (the table just grew) costs a useless prefetch, nothing more.
#[derive(Default)]
struct Hint {
    base: AtomicUsize,
    mask: AtomicUsize,
}

/// The meta cache.
pub struct MetaCache {
    shards: Box<[Mutex<Shard>]>,
    hints: Box<[Hint]>,
    shard_budget: AtomicUsize,
    hasher: foldhash::fast::RandomState,
}

/// Bytes an entry of the map accounts for.
fn cost(key: &[u8], payload_len: usize) -> usize {
    let heap = |len: usize, inline: usize| if len > inline { len + HEAP_OVERHEAD } else { 0 };
    ENTRY_OVERHEAD + heap(key.len(), INLINE) + heap(payload_len, INLINE_PAYLOAD)
}

/// Bytes a slot of the eviction queue (a hash and a key) accounts for (counted until it is
/// popped, so keys removed and inserted again cannot grow the queue without bound).
fn slot_cost(key: &[u8]) -> usize {
    key.len() + std::mem::size_of::<(u64, Key)>()
}

impl MetaCache {
    /// A cache holding at most about `max_bytes`.
    pub fn new(max_bytes: usize) -> MetaCache {
        MetaCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hints: (0..SHARDS).map(|_| Hint::default()).collect(),
            shard_budget: AtomicUsize::new(max_bytes / SHARDS),
            hasher: Default::default(),
        }
    }

    /// True when the cache is in use.
    pub fn enabled(&self) -> bool {
        self.shard_budget.load(Ordering::Relaxed) > 0
    }

    /// Changes the bound (`CONFIG SET cache-max-memory`); shrinking evicts at the next insert,
    /// 0 empties and disables the cache.
    pub fn set_capacity(&self, max_bytes: usize) {
        let was = self
            .shard_budget
            .swap(max_bytes / SHARDS, Ordering::Relaxed);
        // Off: empty it. Back on after being off: writes while it was off did not update it
        // (and a put racing the switch-off may have slipped in), so start empty.
        if max_bytes / SHARDS == 0 || was == 0 {
            self.clear_where(|_| true);
        }
    }

    /// Bytes currently accounted.
    pub fn used_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.lock().bytes).sum()
    }

    /// `key`'s hash and its shard's index: the high bits pick the shard, the low bits the
    /// slot in its table.
    fn locate(&self, key: &[u8]) -> (u64, usize) {
        let hash = self.hasher.hash_one(key);
        (hash, (hash >> 58) as usize & (SHARDS - 1))
    }

    /// Starts loading `key`'s slot into the CPU cache, without the shard's lock, so a later
    /// [`MetaCache::get`] or [`MetaCache::put`] of it does not wait on memory. The executor
    /// calls it for the keys of a batch's fast commands before running them: each lookup's
    /// cache misses used to come one after another (a tenth of its samples under MULTI + 10
    /// INCR + EXEC).
    pub fn prefetch(&self, key: &[u8]) {
        if !self.enabled() {
            return;
        }
        let (hash, s) = self.locate(key);
        let hint = &self.hints[s];
        let mask = hint.mask.load(Ordering::Relaxed);
        if mask == 0 {
            return;
        }
        let slot = std::mem::size_of::<Option<Slot<Key, Entry>>>();
        let at = hint
            .base
            .load(Ordering::Relaxed)
            .wrapping_add((hash as usize & mask) * slot);
        // The slot's hash and key, then its entry's fields and payload.
        for line in (0..slot).step_by(64).take(PREFETCH_LINES) {
            prefetch_line(at.wrapping_add(line));
        }
    }

    /// The cached meta of an encoded meta key.
    pub fn get(&self, key: &[u8]) -> Option<Meta> {
        if !self.enabled() {
            return None;
        }
        let (hash, s) = self.locate(key);
        let shard = self.shards[s].lock();
        shard
            .map
            .get(hash, |k| k.as_slice() == key)
            .filter(|e| !e.hidden)
            .map(Entry::meta)
    }

    /// Keeps `key`'s entry from answering lookups until the next [`MetaCache::put`] of it (the
    /// caller holds the key's stripe lock and is about to write the key). Cheaper than
    /// [`MetaCache::remove`] then `put`: the entry and its key stay allocated.
    pub fn hide(&self, key: &[u8]) {
        let (hash, s) = self.locate(key);
        if let Some(e) = self.shards[s]
            .lock()
            .map
            .get_mut(hash, |k| k.as_slice() == key)
        {
            e.hidden = true;
        }
    }

    /// Caches `meta` for `key` (the caller holds the key's stripe lock, see the module docs).
    pub fn put(&self, key: &[u8], meta: &Meta) {
        let budget = self.shard_budget.load(Ordering::Relaxed);
        if budget == 0 {
            return;
        }
        if meta.payload.len() > MAX_CACHED_PAYLOAD {
            self.remove(key);
            return;
        }
        let (hash, s) = self.locate(key);
        let mut shard = self.shards[s].lock();
        // Re-read under the shard lock: a concurrent switch-off clears shards under their locks.
        let budget = self.shard_budget.load(Ordering::Relaxed);
        if budget == 0 {
            return;
        }
        let add = cost(key, meta.payload.len());
        let shard = &mut *shard;
        match shard.map.get_mut(hash, |k| k.as_slice() == key) {
            Some(old) => {
                shard.bytes = shard.bytes + add - cost(key, old.payload.len());
                old.set(meta);
            }
            None => {
                shard.map.insert_new(hash, Key::new(key), Entry::new(meta));
                shard.bytes += add + slot_cost(key);
                shard.order.push_back((hash, Key::new(key)));
                shard.publish(&self.hints[s]);
            }
        }
        while shard.bytes > budget {
            let Some((vhash, victim)) = shard.order.pop_front() else {
                break;
            };
            let victim = victim.as_slice();
            shard.bytes -= slot_cost(victim);
            if let Some(old) = shard.map.remove(vhash, |k| k.as_slice() == victim) {
                shard.bytes -= cost(victim, old.payload.len());
            }
        }
    }

    /// Forgets `key` (the caller holds the key's stripe lock).
    pub fn remove(&self, key: &[u8]) {
        // Unconditional: an entry that slipped in while the cache was being switched off must
        // not survive a write to its key.
        let (hash, s) = self.locate(key);
        let mut shard = self.shards[s].lock();
        if let Some(old) = shard.map.remove(hash, |k| k.as_slice() == key) {
            shard.bytes -= cost(key, old.payload.len());
            // Its slot in `order` stays (and stays counted) until it comes up for eviction.
        }
    }

    /// Forgets every key of database `db` (FLUSHDB).
    pub fn clear_db(&self, db: u16) {
        let prefix = db.to_be_bytes();
        self.clear_where(|k| k.starts_with(&prefix));
    }

    fn clear_where(&self, doomed: impl Fn(&[u8]) -> bool) {
        for (s, hint) in self.shards.iter().zip(self.hints.iter()) {
            let mut shard = s.lock();
            let Shard { map, order, bytes } = &mut *shard;
            map.retain(
                |k, _| !doomed(k.as_slice()),
                |k, e| *bytes -= cost(k.as_slice(), e.payload.len()),
            );
            order.retain(|(hash, k)| {
                let keep = map.get(*hash, |s| s.as_slice() == k.as_slice()).is_some();
                if !keep {
                    *bytes -= slot_cost(k.as_slice());
                }
                keep
            });
            shard.publish(hint);
        }
    }
}

/// Cache lines prefetched per slot: the hash and key, the entry's fields, its payload (one or
/// two lines gained less under MULTI + 10 INCR + EXEC).
const PREFETCH_LINES: usize = 3;

/// Asks the CPU to load the cache line at `addr` (a hint: never faults, whatever the address).
#[inline]
fn prefetch_line(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing architecturally and does not fault on any address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn meta(v: &str) -> Meta {
        Meta::string(Bytes::from(v.to_string()), 0)
    }

    #[test]
    fn put_get_remove_and_clear_db() {
        let c = MetaCache::new(1 << 20);
        c.put(b"\x00\x00\x00\x01a", &meta("1"));
        c.put(b"\x00\x01\x00\x01a", &meta("2"));
        assert_eq!(c.get(b"\x00\x00\x00\x01a"), Some(meta("1")));
        c.put(b"\x00\x00\x00\x01a", &meta("3"));
        assert_eq!(c.get(b"\x00\x00\x00\x01a"), Some(meta("3")));
        c.clear_db(0);
        assert_eq!(c.get(b"\x00\x00\x00\x01a"), None);
        assert_eq!(c.get(b"\x00\x01\x00\x01a"), Some(meta("2")));
        c.remove(b"\x00\x01\x00\x01a");
        assert_eq!(c.get(b"\x00\x01\x00\x01a"), None);
        // A hidden entry answers nothing until it is put again; hiding a missing key is a no-op.
        c.put(b"\x00\x02\x00\x01h", &meta("old"));
        c.hide(b"\x00\x02\x00\x01h");
        c.hide(b"\x00\x02\x00\x01missing");
        assert_eq!(c.get(b"\x00\x02\x00\x01h"), None);
        assert_eq!(c.get(b"\x00\x02\x00\x01missing"), None);
        c.put(b"\x00\x02\x00\x01h", &meta("new"));
        assert_eq!(c.get(b"\x00\x02\x00\x01h"), Some(meta("new")));
        c.clear_db(2);
        c.clear_db(1);
        assert_eq!(c.used_bytes(), 0);
    }

    #[test]
    fn short_and_long_keys_are_distinct_entries() {
        let c = MetaCache::new(1 << 20);
        // Around the inline limit, and keys that share a long prefix.
        let keys: Vec<Vec<u8>> = [INLINE - 1, INLINE, INLINE + 1, 200]
            .iter()
            .flat_map(|&n| [vec![b'k'; n], [vec![b'k'; n - 1], vec![b'x']].concat()])
            .collect();
        for (i, k) in keys.iter().enumerate() {
            c.put(k, &meta(&i.to_string()));
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(
                c.get(k),
                Some(meta(&i.to_string())),
                "key of {} bytes",
                k.len()
            );
        }
        assert_eq!(c.get(&[b'k'; INLINE + 2]), None);
        c.remove(&keys[3]);
        assert_eq!(c.get(&keys[3]), None);
        assert_eq!(c.get(&keys[2]), Some(meta("2")));
        c.clear_db(u16::from_be_bytes([b'k', b'k']));
        assert_eq!(c.used_bytes(), 0);
    }

    #[test]
    fn short_payloads_are_inline_and_long_ones_reuse_their_buffer_when_unshared() {
        const LONG: usize = INLINE_PAYLOAD + 1;
        let mut p = Payload::new(b"12345");
        assert!(matches!(p, Payload::Inline(v) if v.len == 5));
        assert_eq!(&p.to_bytes()[..], b"12345");
        p.set(&[b'i'; INLINE_PAYLOAD]);
        assert!(matches!(p, Payload::Inline(v) if v.len as usize == INLINE_PAYLOAD));
        assert_eq!(&p.to_bytes()[..], &[b'i'; INLINE_PAYLOAD][..]);
        p.set(&[b'a'; LONG]);
        let Payload::Heap(b) = &p else {
            panic!("{LONG} bytes are not inline")
        };
        let at = b.as_ptr();
        p.set(&[b'b'; LONG]);
        assert_eq!(&p.to_bytes()[..], &[b'b'; LONG][..]);
        let Payload::Heap(b) = &p else { panic!() };
        assert_eq!(b.as_ptr(), at, "same buffer");
        // A reader still holds the old value: it must not change under it.
        let held = p.to_bytes();
        p.set(&[b'c'; LONG]);
        assert_eq!(&p.to_bytes()[..], &[b'c'; LONG][..]);
        assert_eq!(&held[..], &[b'b'; LONG][..]);
        // A much bigger buffer is not kept for a smaller long value; a short one goes inline.
        p.set(&[0; 4096]);
        let Payload::Heap(b) = &p else { panic!() };
        let big = b.as_ptr();
        p.set(&[1; LONG + 7]);
        assert_eq!(&p.to_bytes()[..], &[1; LONG + 7][..]);
        let Payload::Heap(b) = &p else { panic!() };
        assert_ne!(b.as_ptr(), big);
        p.set(b"");
        assert!(matches!(p, Payload::Inline(v) if v.len == 0));
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn costs_count_the_slot_and_what_lives_on_the_heap() {
        assert_eq!(cost(b"k", 5), ENTRY_OVERHEAD);
        assert_eq!(cost(&[b'k'; INLINE], INLINE_PAYLOAD), ENTRY_OVERHEAD);
        let long_payload = INLINE_PAYLOAD + 1;
        assert_eq!(
            cost(b"k", long_payload),
            ENTRY_OVERHEAD + long_payload + HEAP_OVERHEAD
        );
        assert_eq!(
            cost(&[b'k'; INLINE + 1], 0),
            ENTRY_OVERHEAD + INLINE + 1 + HEAP_OVERHEAD
        );
        let c = MetaCache::new(1 << 20);
        c.put(b"\0\0\0\0k", &meta("v"));
        assert_eq!(c.used_bytes(), ENTRY_OVERHEAD + slot_cost(b"\0\0\0\0k"));
    }

    #[test]
    fn stays_within_budget_and_skips_large_values() {
        let c = MetaCache::new(64 * 1024);
        for i in 0..10_000 {
            c.put(format!("key{i}").as_bytes(), &meta("value"));
        }
        assert!(c.used_bytes() <= 64 * 1024);
        // Removing and inserting one key again and again does not grow the queue unbounded.
        for _ in 0..100_000 {
            c.put(b"k", &meta("v"));
            c.remove(b"k");
        }
        assert!(c.used_bytes() <= 64 * 1024);
        c.put(
            b"big",
            &Meta::string(Bytes::from(vec![0u8; MAX_CACHED_PAYLOAD + 1]), 0),
        );
        assert_eq!(c.get(b"big"), None);
        c.set_capacity(0);
        assert!(!c.enabled());
        assert_eq!(c.used_bytes(), 0);
    }
}
