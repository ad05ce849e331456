//! WATCH: the registry of watched keys.
//!
//! A session that WATCHes gets a [`Watches`]: its dirty flag (shared with the registry) and the
//! keys it watches, each with whether the key was live when it was watched. The registry maps
//! (db, key) to the flags of the sessions watching it. After every commit, while the writer
//! still holds its locks, [`WatchRegistry::touched`] raises the flags of the sessions watching a
//! key the commit wrote, deleted or expired, or a database it flushed. EXEC takes the watched
//! keys' locks too, so its check of the flag cannot miss a writer that committed before it.
//!
//! Costs nothing for clients that do not WATCH: storage contexts record touched keys only
//! while [`WatchRegistry::is_active`] (some session watches), and with nobody watching,
//! `touched` returns after one atomic load. While somebody watches, a counting filter (watched
//! keys per hash bucket, [`TouchFilter`], shared with the store) lets the storage context skip
//! recording a write of a key nobody watches, and so skip the shard lock and the map probe:
//! one idle WATCHer used to slow every other client's SET by 2-9 % (seven paired rounds). The
//! registry is sharded by key so that writers marking keys do not all meet on one mutex while
//! somebody watches.
//!
//! Redis 7.0's rules, and how they map here:
//! - any write to a watched key, by anyone (the watcher included), aborts the EXEC, even one
//!   that leaves the same value; reads and no-op writes (`DEL` of a missing key, `PERSIST`
//!   without TTL) do not;
//! - a key that was live at WATCH and has expired by EXEC aborts it: a deletion by lazy or
//!   active expiry touches it like any write, and EXEC also checks, under the key's lock, that
//!   such a key is still live (one that expired but was not deleted yet touched nobody); a key
//!   already expired at WATCH is deleted by WATCH itself (lazily, without touching anybody), so
//!   its expiry is not a change;
//! - FLUSHDB/FLUSHALL abort the watchers of keys that existed when they ran: the keys live at
//!   WATCH (one modified since then has dirtied its watchers already);
//! - WATCHing again does not clear the dirty flag; EXEC, DISCARD, UNWATCH and disconnecting do.

use crate::storage::context::Effects;
use crate::storage::touch::TouchFilter;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Number of registry shards; a power of two.
const SHARDS: usize = 64;

/// One session's dirty flag, shared between the session and the registry.
#[derive(Debug, Default)]
pub struct WatchFlag {
    dirty: AtomicBool,
}

impl WatchFlag {
    /// True once a watched key was modified.
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }

    fn mark(&self) {
        self.dirty.store(true, Ordering::Release);
    }
}

/// A key a session watches.
#[derive(Debug, Clone)]
pub struct WatchedKey {
    /// Its database.
    pub db: u16,
    /// The key.
    pub key: Bytes,
    /// Whether it existed (unexpired) when it was watched.
    pub live: bool,
}

/// What one session watches (kept in its `Session`).
#[derive(Debug, Default)]
pub struct Watches {
    flag: Arc<WatchFlag>,
    keys: Vec<WatchedKey>,
}

impl Watches {
    /// True once a watched key was modified.
    pub fn is_dirty(&self) -> bool {
        self.flag.dirty.load(Ordering::Acquire)
    }

    /// The shared flag a change of a watched key sets (CLIENT LIST reads it live).
    pub fn flag(&self) -> Arc<WatchFlag> {
        self.flag.clone()
    }

    /// The watched keys.
    pub fn keys(&self) -> &[WatchedKey] {
        &self.keys
    }
}

/// A registry entry: a watching session's flag and whether the key was live at WATCH.
struct Entry {
    flag: Arc<WatchFlag>,
    live: bool,
}

type Shard = HashMap<(u16, Bytes), Vec<Entry>>;

/// Every watched key of every session.
pub struct WatchRegistry {
    /// Sessions watching at least one key.
    watching: AtomicUsize,
    shards: Box<[Mutex<Shard>]>,
    /// Registry entries per hash bucket: a zero means no session watches any key of that
    /// bucket. The store's contexts read it to decide which touches to record.
    filter: Arc<TouchFilter>,
}

// Tests only: a server's registry must share the store's filter (see `WatchRegistry::new`),
// or its contexts would record no touches.
#[cfg(test)]
impl Default for WatchRegistry {
    fn default() -> Self {
        WatchRegistry::new(Default::default())
    }
}

impl WatchRegistry {
    /// A registry counting watched keys in `filter` (the store's, so that its contexts record
    /// only the touches of keys somebody may watch).
    pub fn new(filter: Arc<TouchFilter>) -> Self {
        WatchRegistry {
            watching: AtomicUsize::new(0),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            filter,
        }
    }

    /// True while some session watches a key: only then do commands record touched keys.
    pub fn is_active(&self) -> bool {
        self.watching.load(Ordering::Acquire) > 0
    }

    /// The shard and the filter bucket of `key`.
    fn place(&self, key: &[u8]) -> (&Mutex<Shard>, &AtomicUsize) {
        let h = self.filter.hash(key);
        (
            &self.shards[h as usize & (SHARDS - 1)],
            self.filter.counter(h),
        )
    }

    /// Adds `key` of `db` to the session's watches (`live`: it exists now). Watching a key
    /// twice keeps the first entry, as Redis does. The caller holds the key's lock.
    pub fn watch(&self, watches: &mut Option<Watches>, db: u16, key: &[u8], live: bool) {
        let w = watches.get_or_insert_with(|| {
            self.watching.fetch_add(1, Ordering::AcqRel);
            Watches::default()
        });
        if w.keys.iter().any(|k| k.db == db && k.key == key) {
            return;
        }
        let key = Bytes::copy_from_slice(key);
        let (shard, bucket) = self.place(&key);
        // Counted before the entry exists, and the caller holds the key's lock: a writer of
        // this key either committed before (nothing to mark) or sees the count.
        bucket.fetch_add(1, Ordering::AcqRel);
        shard
            .lock()
            .entry((db, key.clone()))
            .or_default()
            .push(Entry {
                flag: w.flag.clone(),
                live,
            });
        w.keys.push(WatchedKey { db, key, live });
    }

    /// Forgets every key the session watches (EXEC, DISCARD, UNWATCH, disconnect).
    pub fn unwatch(&self, watches: &mut Option<Watches>) {
        let Some(w) = watches.take() else {
            return;
        };
        for k in &w.keys {
            let (shard, bucket) = self.place(&k.key);
            let mut shard = shard.lock();
            let id = (k.db, k.key.clone());
            if let Some(entries) = shard.get_mut(&id) {
                entries.retain(|e| !Arc::ptr_eq(&e.flag, &w.flag));
                if entries.is_empty() {
                    shard.remove(&id);
                }
            }
            drop(shard);
            bucket.fetch_sub(1, Ordering::AcqRel);
        }
        self.watching.fetch_sub(1, Ordering::AcqRel);
    }

    /// Marks the watchers of what a commit did. Call it before releasing the commit's locks.
    pub fn touched(&self, effects: &Effects) {
        if !self.is_active() {
            return;
        }
        for (db, key) in &effects.touched {
            let (shard, bucket) = self.place(key);
            if bucket.load(Ordering::Acquire) == 0 {
                continue;
            }
            let shard = shard.lock();
            if let Some(entries) = shard.get(&(*db, key.clone())) {
                for e in entries {
                    e.flag.mark();
                }
            }
        }
        if effects.flushed_dbs.is_empty() {
            return;
        }
        for shard in self.shards.iter() {
            let shard = shard.lock();
            for ((db, _), entries) in shard.iter() {
                if effects.flushed_dbs.contains(db) {
                    for e in entries.iter().filter(|e| e.live) {
                        e.flag.mark();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effects(touched: &[(u16, &str)], flushed: &[u16]) -> Effects {
        Effects {
            touched: touched
                .iter()
                .map(|(db, k)| (*db, Bytes::copy_from_slice(k.as_bytes())))
                .collect(),
            flushed_dbs: flushed.to_vec(),
            ..Effects::default()
        }
    }

    #[test]
    fn touch_marks_only_watchers_of_that_key_and_db() {
        let r = WatchRegistry::default();
        assert!(!r.is_active());
        let (mut a, mut b) = (None, None);
        r.watch(&mut a, 0, b"k", true);
        r.watch(&mut b, 1, b"k", true);
        assert!(r.is_active());
        r.touched(&effects(&[(0, "other"), (2, "k")], &[]));
        assert!(!a.as_ref().unwrap().is_dirty());
        r.touched(&effects(&[(0, "k")], &[]));
        assert!(a.as_ref().unwrap().is_dirty());
        assert!(!b.as_ref().unwrap().is_dirty());
        r.unwatch(&mut a);
        r.unwatch(&mut b);
        assert!(!r.is_active());
        assert!(r.shards.iter().all(|s| s.lock().is_empty()));
    }

    #[test]
    fn flush_marks_watchers_of_keys_that_existed() {
        let r = WatchRegistry::default();
        let (mut live, mut missing) = (None, None);
        r.watch(&mut live, 3, b"k", true);
        r.watch(&mut missing, 3, b"m", false);
        r.touched(&effects(&[], &[3]));
        assert!(live.as_ref().unwrap().is_dirty());
        assert!(!missing.as_ref().unwrap().is_dirty());
    }

    #[test]
    fn watching_twice_registers_once() {
        let r = WatchRegistry::default();
        let mut a = None;
        r.watch(&mut a, 0, b"k", true);
        r.watch(&mut a, 0, b"k", false);
        assert_eq!(a.as_ref().unwrap().keys().len(), 1);
        assert_eq!(filter_total(&r), 1);
        r.unwatch(&mut a);
        assert!(a.is_none());
        assert!(r.shards.iter().all(|s| s.lock().is_empty()));
        assert_eq!(filter_total(&r), 0);
    }

    fn filter_total(r: &WatchRegistry) -> usize {
        r.filter.total()
    }

    #[test]
    fn the_filter_counts_watched_keys_and_still_lets_their_writes_through() {
        let r = WatchRegistry::default();
        let (mut a, mut b) = (None, None);
        // Two sessions on one key, one on many: a write of any of them still marks.
        r.watch(&mut a, 0, b"k", true);
        r.watch(&mut b, 0, b"k", true);
        for i in 0..100 {
            r.watch(&mut b, 0, format!("m{i}").as_bytes(), true);
        }
        assert_eq!(filter_total(&r), 102);
        r.unwatch(&mut a);
        assert_eq!(filter_total(&r), 101);
        r.touched(&effects(&[(0, "nobody watches this")], &[]));
        assert!(!b.as_ref().unwrap().is_dirty());
        r.touched(&effects(&[(0, "m99")], &[]));
        assert!(b.as_ref().unwrap().is_dirty());
        r.unwatch(&mut b);
        assert_eq!(filter_total(&r), 0);
    }
}
