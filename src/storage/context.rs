//! The storage context a command runs against.
//!
//! - Reads see the command's own pending writes (an overlay of pending meta and data entries
//!   over the DB, or over one snapshot for multi-key reads).
//! - Writes go into one `WriteBatch`, committed once at the end ([`Ctx::commit`]); EXEC runs
//!   many commands in one context and commits once.
//! - It reports what it did ([`Effects`]): the keys it touched (WATCH), the keys it made
//!   non-empty (blocking commands), keyspace events (notifications), lazily expired keys.
//! - Expired keys are absent for reads and for writes. A context that holds the keys' locks
//!   (a writer) also deletes an expired key it comes across, as Redis's lazy expiry does.
//!
//! Collections are stored as meta + elements; nothing here is specific to one type, so the
//! generic key commands (RENAME, COPY, MOVE, ...) work on every type through
//! [`Ctx::copy_key`].

use super::encoding::{
    data_prefix, db_prefix, db_upper_bound, meta_key_into, prefix_successor, Kind, Meta, PREFIX_LEN,
};
use super::{Store, CF_DATA, CF_META, CF_SCORE};
use crate::error::{Error, Result};
use bytes::Bytes;
use rocksdb::{DBRawIteratorWithThreadMode, ReadOptions, SnapshotWithThreadMode, WriteBatch, DB};
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashMap};

/// A column family holding collection elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElemCf {
    /// `data`: hash fields, set members, list positions, zset member → score.
    Data = 0,
    /// `zset_score`: the score index.
    Score = 1,
}

impl ElemCf {
    fn name(self) -> &'static str {
        match self {
            ElemCf::Data => CF_DATA,
            ElemCf::Score => CF_SCORE,
        }
    }
}

/// Where [`Ctx::lookup_elem`] found an element entry (`None`: absent).
enum ElemLookup<'a> {
    /// This context's own pending write, or nothing (a pending delete, a flushed database).
    Pending(Option<&'a Bytes>),
    /// The store's entry, pinned in RocksDB's memory.
    Stored(Option<rocksdb::DBPinnableSlice<'a>>),
}

/// A keyspace event: notification class, event name, db and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    /// Database.
    pub db: u16,
    /// Redis's class flag (`g` generic, `$` string, `x` expired, ...).
    pub class: char,
    /// Event name (`set`, `del`, `expired`, ...).
    pub event: &'static str,
    /// The key.
    pub key: Bytes,
}

/// What a committed command did.
#[derive(Debug, Default)]
pub struct Effects {
    /// Keys written, deleted or expired (db, key).
    pub touched: Vec<(u16, Bytes)>,
    /// Keys a command made non-empty (for blocked clients).
    pub ready: Vec<(u16, Bytes)>,
    /// Keyspace events, in order.
    pub events: Vec<KeyEvent>,
    /// Keys removed because they had expired.
    pub expired: u64,
    /// Whole databases flushed.
    pub flushed_dbs: Vec<u16>,
    /// Messages published inside a transaction, delivered once it is committed.
    pub published: Vec<Published>,
}

/// A message PUBLISH (or SPUBLISH) sent inside EXEC, delivered after the commit.
#[derive(Debug)]
pub struct Published {
    /// SPUBLISH rather than PUBLISH.
    pub shard: bool,
    /// The channel.
    pub channel: Bytes,
    /// The message.
    pub message: Bytes,
}

/// The storage context of one command (or one transaction).
pub struct Ctx<'a> {
    store: &'a Store,
    // Declared before `snapshot`: it points into the snapshot and must be dropped first.
    ro: ReadOptions,
    snapshot: Option<SnapshotWithThreadMode<'a, DB>>,
    /// The time the command runs at (one clock reading per command, as Redis does).
    pub now_ms: u64,
    writer: bool,
    /// Whether touched keys and keyspace events are recorded (see [`Ctx::set_tracking`]).
    track_touched: bool,
    track_events: bool,
    /// Pending writes, in order; turned into one `WriteBatch` at commit.
    log: OpLog,
    metas: MetaOverlay,
    elems: [BTreeMap<Vec<u8>, Option<Bytes>>; 2],
    /// How to restore the overlays when rolling back to a savepoint.
    undo: Vec<Undo>,
    /// Databases flushed by this context (pending range deletes): the store's entries of
    /// these databases are invisible to its reads.
    flushed: Vec<u16>,
    effects: Effects,
    /// Scratch space for building a meta key to look up.
    key_buf: Vec<u8>,
}

/// Visits stored entries merged with pending writes, in key order (descending when
/// `reverse`), until `visit` returns false: `it` is positioned at the first stored entry to
/// visit (`None`: nothing stored to see), `pending` lists the pending writes of the same range
/// in the same order (`None`: a delete). A pending write shadows the stored entry of its key; a
/// pending delete hides it.
pub fn merge_pending<'p>(
    mut it: Option<&mut DBRawIteratorWithThreadMode<'_, DB>>,
    pending: impl Iterator<Item = (&'p [u8], Option<&'p Bytes>)>,
    reverse: bool,
    mut visit: impl FnMut(&[u8], &[u8]) -> bool,
) -> Result<()> {
    let mut pending = pending.peekable();
    let step = |it: &mut DBRawIteratorWithThreadMode<'_, DB>| {
        if reverse {
            it.prev()
        } else {
            it.next()
        }
    };
    loop {
        let stored = it.as_ref().and_then(|it| it.key());
        let take_pending = match (stored, pending.peek()) {
            (None, None) => break,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (Some(s), Some((p, _))) => {
                if reverse {
                    *p >= s
                } else {
                    *p <= s
                }
            }
        };
        if take_pending {
            let Some((k, v)) = pending.next() else { break };
            if stored == Some(k) {
                // The pending write shadows the stored entry.
                if let Some(it) = it.as_mut() {
                    step(it);
                }
            }
            if let Some(v) = v {
                if !visit(k, v) {
                    return Ok(());
                }
            }
        } else {
            let Some(it) = it.as_mut() else { break };
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !visit(k, v) {
                return Ok(());
            }
            step(it);
        }
    }
    if let Some(it) = it {
        it.status()?;
    }
    Ok(())
}

/// Pending meta entries by encoded meta key (`None`: deleted). foldhash, not SipHash: probed
/// for every key a command reads or writes.
type MetaOverlay = HashMap<MetaKey, Option<Meta>, foldhash::fast::RandomState>;

/// An encoded meta key in the overlay: up to 32 bytes (a 28-byte user key) held inline, so
/// writing a key allocates nothing for it.
type MetaKey = SmallVec<[u8; 32]>;

/// A pending write.
/// Its keys and values are spans of the [`OpLog`]'s bytes.
#[derive(Clone, Copy)]
enum Op {
    Put(&'static str, Span, Span),
    Delete(&'static str, Span),
    /// Deletes `[from, to)` (FLUSHDB).
    DeleteRange(&'static str, Span, Span),
}

/// A range of an [`OpLog`]'s bytes.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// The pending writes in order, their keys and values copied into one buffer: a group's
/// writes cost a few buffer growths instead of allocating (and later freeing) a key and a
/// value per write.
#[derive(Default)]
struct OpLog {
    ops: Vec<Op>,
    bytes: Vec<u8>,
}

impl OpLog {
    /// Copies `data` into the buffer.
    fn span(&mut self, data: &[u8]) -> Span {
        self.span_with(|b| b.extend_from_slice(data))
    }

    /// Appends what `write` writes to the buffer.
    fn span_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Span {
        let start = self.bytes.len();
        write(&mut self.bytes);
        Span {
            start,
            end: self.bytes.len(),
        }
    }

    fn get(&self, s: Span) -> &[u8] {
        &self.bytes[s.start..s.end]
    }

    /// The column family and key an op writes (a range delete: its start).
    fn target(&self, op: &Op) -> (&'static str, &[u8]) {
        match *op {
            Op::Put(cf, k, _) | Op::Delete(cf, k) | Op::DeleteRange(cf, k, _) => (cf, self.get(k)),
        }
    }

    /// The key of the `i`th op.
    fn key(&self, i: usize) -> &[u8] {
        self.ops.get(i).map_or(&[], |op| self.target(op).1)
    }

    /// Drops the ops from the `ops`th on and the bytes from `bytes` on.
    fn truncate(&mut self, ops: usize, bytes: usize) {
        self.ops.truncate(ops);
        self.bytes.truncate(bytes);
    }
}

/// An overlay entry's previous state (`None`: it was not in the overlay), by the index of the
/// op that changed it.
enum Undo {
    Meta(usize, Option<Option<Meta>>),
    Elem(usize, usize, Option<Option<Bytes>>),
    /// A flushed database: the overlay entries it removed, and whether it was flushed before.
    Flush(FlushUndo),
}

struct FlushUndo {
    db: u16,
    metas: Vec<(MetaKey, Option<Meta>)>,
    elems: [BTreeMap<Vec<u8>, Option<Bytes>>; 2],
    was_flushed: bool,
}

/// The buffers of a context that has ended, kept for the next one on the same thread: a
/// group's op log, meta overlay and undo list would otherwise grow from empty (and be freed)
/// at every commit, a few reallocations per command.
#[derive(Default)]
struct Spare {
    ops: Vec<Op>,
    bytes: Vec<u8>,
    metas: MetaOverlay,
    undo: Vec<Undo>,
}

/// When a context's buffers together hold more than this, they are freed rather than kept
/// (after a huge transaction).
const SPARE_MAX_BYTES: usize = 1 << 20;

/// A meta overlay with room for more entries than this is freed rather than kept: clearing
/// a hash map and walking it (at commit) cost in proportion to its capacity, which every later
/// small command on the thread would pay. A group of 20-30 ten-key transactions fits (below
/// 256 such groups regrew their map from empty at every commit).
const SPARE_MAX_METAS: usize = 1024;

thread_local! {
    static SPARE: std::cell::RefCell<Spare> = std::cell::RefCell::new(Spare::default());
}

impl Drop for Ctx<'_> {
    fn drop(&mut self) {
        let mut ops = std::mem::take(&mut self.log.ops);
        let mut bytes = std::mem::take(&mut self.log.bytes);
        let mut metas = std::mem::take(&mut self.metas);
        let mut undo = std::mem::take(&mut self.undo);
        let size = ops.capacity() * std::mem::size_of::<Op>()
            + bytes.capacity()
            + metas.capacity() * std::mem::size_of::<(MetaKey, Option<Meta>)>()
            + undo.capacity() * std::mem::size_of::<Undo>();
        if size > SPARE_MAX_BYTES {
            return;
        }
        ops.clear();
        bytes.clear();
        if metas.capacity() > SPARE_MAX_METAS {
            metas = MetaOverlay::default();
        } else {
            metas.clear();
        }
        undo.clear();
        // `try_with`: a context dropped while the thread exits has nowhere to go.
        let _ = SPARE.try_with(|s| {
            s.replace(Spare {
                ops,
                bytes,
                metas,
                undo,
            })
        });
    }
}

/// A point a context can roll back to: one command's start inside a pipelined group or a
/// transaction, so a command that fails leaves nothing behind while the others stand.
#[derive(Debug, Clone, Copy)]
pub struct SavePoint {
    ops: usize,
    bytes: usize,
    undo: usize,
    touched: usize,
    ready: usize,
    events: usize,
    expired: u64,
    flushed: usize,
}

impl<'a> Ctx<'a> {
    /// A context reading the latest state. `writer` says the caller holds the locks of the keys
    /// it will write (which allows lazy deletion of expired keys).
    pub fn new(store: &'a Store, now_ms: u64, writer: bool) -> Ctx<'a> {
        let Spare {
            ops,
            bytes,
            metas,
            undo,
        } = SPARE.try_with(std::cell::RefCell::take).unwrap_or_default();
        Ctx {
            store,
            ro: ReadOptions::default(),
            snapshot: None,
            now_ms,
            writer,
            track_touched: true,
            track_events: true,
            log: OpLog { ops, bytes },
            metas,
            elems: [BTreeMap::new(), BTreeMap::new()],
            undo,
            flushed: Vec::new(),
            effects: Effects::default(),
            key_buf: Vec::new(),
        }
    }

    /// A read-only context on one snapshot (multi-key reads).
    pub fn with_snapshot(store: &'a Store, now_ms: u64) -> Ctx<'a> {
        let snapshot = store.db().snapshot();
        let mut ro = ReadOptions::default();
        ro.set_snapshot(&snapshot);
        let mut ctx = Ctx::new(store, now_ms, false);
        ctx.ro = ro;
        ctx.snapshot = Some(snapshot);
        ctx
    }

    /// Makes a lock-free reader read one state from here on: a reader without a snapshot takes
    /// one now (writers hold their keys' locks and contexts with a snapshot have one already;
    /// both are left alone). For reads of several entries of one key that must agree with
    /// each other (a list's meta and the elements at its positions).
    pub fn pin_snapshot(&mut self) {
        if self.writer || self.snapshot.is_some() {
            return;
        }
        let snapshot = self.store.db().snapshot();
        let mut ro = ReadOptions::default();
        ro.set_snapshot(&snapshot);
        self.ro = ro;
        self.snapshot = Some(snapshot);
    }

    /// Chooses what the context records: touched keys are only needed while some client
    /// WATCHes, events only while keyspace notifications are on. Off, they cost nothing.
    /// (Both are on by default; the expired-key count is always kept.)
    pub fn set_tracking(&mut self, touched: bool, events: bool) {
        self.track_touched = touched;
        self.track_events = events;
    }

    /// What the context records: (touched keys, events).
    pub fn tracking(&self) -> (bool, bool) {
        (self.track_touched, self.track_events)
    }

    /// True when this context flushed the database of the encoded key `k` (every CF's keys
    /// start with the db).
    fn in_flushed_db(&self, k: &[u8]) -> bool {
        !self.flushed.is_empty()
            && k.get(..2)
                .is_some_and(|p| self.flushed.iter().any(|d| d.to_be_bytes() == p))
    }

    /// True when this context flushed database `db` (its committed keys are gone for it).
    pub fn db_flushed(&self, db: u16) -> bool {
        self.flushed.contains(&db)
    }

    /// True when the context reads one snapshot rather than the latest state.
    pub fn has_snapshot(&self) -> bool {
        self.snapshot.is_some()
    }

    /// The store.
    pub fn store(&self) -> &'a Store {
        self.store
    }

    /// True when the context may write.
    pub fn is_writer(&self) -> bool {
        self.writer
    }

    // ---- meta -------------------------------------------------------------------------

    /// The live meta of `key`, or `None` when it does not exist or has expired.
    pub fn meta(&mut self, db: u16, key: &[u8]) -> Result<Option<Meta>> {
        self.with_meta_key(db, key, |ctx, mk| {
            let found = match ctx.metas.get(mk) {
                Some(pending) => pending.clone(),
                None => ctx.load_meta(mk)?,
            };
            match found {
                Some(m) if m.is_expired(ctx.now_ms) => {
                    if ctx.writer {
                        ctx.expire_now(db, key, mk);
                    }
                    Ok(None)
                }
                other => Ok(other),
            }
        })
    }

    /// Runs `f` with the meta key of `key`, built in a buffer the context reuses: a lookup
    /// allocates nothing for its key.
    fn with_meta_key<R>(
        &mut self,
        db: u16,
        key: &[u8],
        f: impl FnOnce(&mut Self, &[u8]) -> R,
    ) -> R {
        let mut mk = std::mem::take(&mut self.key_buf);
        // A command reads a key's meta, then writes it: the second call finds the key built
        // (the slot's CRC16 is not computed again).
        let built = mk.len() == PREFIX_LEN + key.len()
            && mk[..2] == db.to_be_bytes()
            && mk[PREFIX_LEN..] == *key;
        if !built {
            mk.clear();
            meta_key_into(&mut mk, db, key);
        }
        let out = f(self, &mk);
        self.key_buf = mk;
        out
    }

    /// Reads a committed meta entry: from the snapshot, or through the meta cache (which a
    /// writer, holding the key's lock, fills on a miss; see [`super::cache`]).
    fn load_meta(&self, mk: &[u8]) -> Result<Option<Meta>> {
        if self.in_flushed_db(mk) {
            return Ok(None);
        }
        if self.snapshot.is_some() {
            return self.store.get_meta_raw(mk, &self.ro);
        }
        if let Some(m) = self.store.cache.get(mk) {
            return Ok(Some(m));
        }
        let found = self.store.get_meta_raw(mk, &self.ro)?;
        if self.writer {
            if let Some(m) = &found {
                self.store.cache.put(mk, m);
            }
        }
        Ok(found)
    }

    /// The live meta of `key` if it has type `kind`; `WRONGTYPE` if it has another type.
    pub fn meta_of(&mut self, db: u16, key: &[u8], kind: Kind) -> Result<Option<Meta>> {
        match self.meta(db, key)? {
            Some(m) if m.kind != kind => Err(Error::WrongType),
            other => Ok(other),
        }
    }

    fn expire_now(&mut self, db: u16, key: &[u8], mk: &[u8]) {
        self.set_meta_overlay(mk, None);
        let key = Bytes::copy_from_slice(key);
        self.effects.expired += 1;
        if self.track_events {
            self.effects.events.push(KeyEvent {
                db,
                class: 'x',
                event: "expired",
                key: key.clone(),
            });
        }
        if self.records_touch(&key) {
            self.effects.touched.push((db, key));
        }
    }

    /// The meta entries this context wrote or deleted in database `db` and has not committed
    /// (encoded meta key, new meta or `None` for deleted), sorted by key: keyspace scans
    /// (KEYS, SCAN, RANDOMKEY) merge them over the store, so a transaction sees its own writes.
    pub fn pending_metas(&self, db: u16) -> Vec<(&[u8], Option<&Meta>)> {
        let prefix = db.to_be_bytes();
        let mut v: Vec<(&[u8], Option<&Meta>)> = self
            .metas
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(k, m)| (k.as_slice(), m.as_ref()))
            .collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Writes the meta of `key` (creating or replacing the key), records it as touched, and
    /// as ready when it is a non-empty list or sorted set.
    pub fn put_meta(&mut self, db: u16, key: &[u8], meta: Meta) {
        // Redis's dbAdd publishes `new` (before the command's own event) for a key that was
        // not there (an expired one is deleted first, publishing `expired`). Only looked up
        // while events are recorded: with notifications off this costs nothing.
        if self.track_events && matches!(self.meta(db, key), Ok(None)) {
            self.notify(db, 'n', "new", key);
        }
        // A list or sorted set written non-empty (pushed to, renamed, copied or moved here)
        // can serve clients blocked on it.
        if matches!(meta.kind, Kind::List | Kind::ZSet) && meta.count > 0 {
            self.mark_ready(db, key);
        }
        self.with_meta_key(db, key, |ctx, mk| ctx.set_meta_overlay(mk, Some(meta)));
        self.touch(db, key);
    }

    /// Records a meta write (or delete) in the op log and the overlay, with its undo entry.
    fn set_meta_overlay(&mut self, mk: &[u8], meta: Option<Meta>) {
        let key = self.log.span(mk);
        let op = match &meta {
            Some(m) => Op::Put(CF_META, key, self.log.span_with(|b| m.encode_into(b))),
            None => Op::Delete(CF_META, key),
        };
        self.log.ops.push(op);
        let prev = self.metas.insert(MetaKey::from_slice(mk), meta);
        self.undo.push(Undo::Meta(self.log.ops.len() - 1, prev));
    }

    /// Records an element write (or delete) in the op log and the overlay.
    fn set_elem_overlay(&mut self, cf: ElemCf, key: Vec<u8>, value: Option<Bytes>) {
        let k = self.log.span(&key);
        let op = match &value {
            Some(v) => Op::Put(cf.name(), k, self.log.span(v)),
            None => Op::Delete(cf.name(), k),
        };
        self.log.ops.push(op);
        let prev = self.elems[cf as usize].insert(key, value);
        self.undo
            .push(Undo::Elem(cf as usize, self.log.ops.len() - 1, prev));
    }

    /// The current savepoint.
    pub fn savepoint(&self) -> SavePoint {
        SavePoint {
            ops: self.log.ops.len(),
            bytes: self.log.bytes.len(),
            undo: self.undo.len(),
            touched: self.effects.touched.len(),
            ready: self.effects.ready.len(),
            events: self.effects.events.len(),
            expired: self.effects.expired,
            flushed: self.effects.flushed_dbs.len(),
        }
    }

    /// Undoes every write and effect since `sp` (a failed command in a group or transaction).
    pub fn rollback_to(&mut self, sp: SavePoint) {
        // Undo entries name their keys by op: the log is cut after them.
        while self.undo.len() > sp.undo {
            match self.undo.pop() {
                Some(Undo::Meta(i, prev)) => restore(&mut self.metas, self.log.key(i), prev),
                Some(Undo::Elem(cf, i, prev)) => {
                    restore(&mut self.elems[cf], self.log.key(i), prev)
                }
                Some(Undo::Flush(f)) => {
                    self.metas.extend(f.metas);
                    for (map, mut removed) in self.elems.iter_mut().zip(f.elems) {
                        map.append(&mut removed);
                    }
                    if !f.was_flushed {
                        self.flushed.retain(|&d| d != f.db);
                    }
                }
                None => break,
            }
        }
        self.log.truncate(sp.ops, sp.bytes);
        self.effects.touched.truncate(sp.touched);
        self.effects.ready.truncate(sp.ready);
        self.effects.events.truncate(sp.events);
        self.effects.expired = sp.expired;
        self.effects.flushed_dbs.truncate(sp.flushed);
    }

    /// Deletes `key` of any type in O(1) (its elements become garbage for the compaction
    /// filters). Returns whether a live key was deleted. Emits no event: callers say which.
    pub fn delete(&mut self, db: u16, key: &[u8]) -> Result<bool> {
        if self.meta(db, key)?.is_none() {
            return Ok(false);
        }
        self.with_meta_key(db, key, |ctx, mk| ctx.set_meta_overlay(mk, None));
        self.touch(db, key);
        Ok(true)
    }

    /// Whether a touch of `key` is recorded: tracking is on and somebody may watch a key
    /// that hashes like it (see [`super::touch`]).
    fn records_touch(&self, key: &[u8]) -> bool {
        self.track_touched && self.store.touch_filter.may_be_watched(key)
    }

    /// Records `key` as modified (WATCH), unless nobody watches it ([`Ctx::records_touch`]).
    pub fn touch(&mut self, db: u16, key: &[u8]) {
        if self.records_touch(key) {
            self.effects.touched.push((db, Bytes::copy_from_slice(key)));
        }
    }

    /// Delivers a published message once this context is committed.
    pub fn publish_later(&mut self, shard: bool, channel: Bytes, message: Bytes) {
        self.effects.published.push(Published {
            shard,
            channel,
            message,
        });
    }

    /// Records a keyspace event.
    pub fn notify(&mut self, db: u16, class: char, event: &'static str, key: &[u8]) {
        if self.track_events {
            self.effects.events.push(KeyEvent {
                db,
                class,
                event,
                key: Bytes::copy_from_slice(key),
            });
        }
    }

    /// Records that `key` became non-empty (blocked clients waiting on it can be served).
    pub fn mark_ready(&mut self, db: u16, key: &[u8]) {
        // Consecutive writes of one key (a push writes its meta) need one mark.
        if matches!(self.effects.ready.last(), Some((d, k)) if *d == db && k[..] == *key) {
            return;
        }
        self.effects.ready.push((db, Bytes::copy_from_slice(key)));
    }

    /// The keys marked ready so far (see [`Ctx::mark_ready`]).
    pub fn ready(&self) -> &[(u16, Bytes)] {
        &self.effects.ready
    }

    /// Records a flushed database (FLUSHDB/FLUSHALL), for WATCH.
    pub fn mark_flushed(&mut self, db: u16) {
        self.effects.flushed_dbs.push(db);
    }

    /// A fresh collection version.
    pub fn new_version(&self) -> Result<u64> {
        self.store.next_version()
    }

    // ---- strings ----------------------------------------------------------------------

    /// The value of string `key`; `WRONGTYPE` if it holds another type.
    pub fn get_string(&mut self, db: u16, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self.meta_of(db, key, Kind::String)?.map(|m| m.payload))
    }

    /// Sets `key` to the string `value` with an absolute expiry (`0` = none), whatever it held.
    pub fn set_string(&mut self, db: u16, key: &[u8], value: Bytes, expire_ms: u64) {
        self.put_meta(db, key, Meta::string(value, expire_ms));
    }

    // ---- elements ---------------------------------------------------------------------

    /// True when an element entry (full encoded key) exists, seeing pending writes; unlike
    /// [`Ctx::get_elem`], it does not copy the value out.
    pub fn elem_exists(&self, cf: ElemCf, key: &[u8]) -> Result<bool> {
        Ok(match self.lookup_elem(cf, key)? {
            ElemLookup::Pending(v) => v.is_some(),
            ElemLookup::Stored(v) => v.is_some(),
        })
    }

    /// Reads an element entry (full encoded key), seeing pending writes.
    pub fn get_elem(&self, cf: ElemCf, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(match self.lookup_elem(cf, key)? {
            ElemLookup::Pending(v) => v.cloned(),
            ElemLookup::Stored(v) => v.map(|v| Bytes::copy_from_slice(&v)),
        })
    }

    /// Runs `f` on an element entry's value (full encoded key), seeing pending writes, without
    /// copying the value out (a score to decode, a number to parse).
    pub fn with_elem<R>(
        &self,
        cf: ElemCf,
        key: &[u8],
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R> {
        Ok(match self.lookup_elem(cf, key)? {
            ElemLookup::Pending(v) => f(v.map(|v| &v[..])),
            ElemLookup::Stored(v) => f(v.as_deref()),
        })
    }

    /// Finds an element entry: a pending write (or delete) shadows the store, and a database
    /// this context flushed has nothing stored.
    fn lookup_elem(&self, cf: ElemCf, key: &[u8]) -> Result<ElemLookup<'_>> {
        if let Some(pending) = self.elems[cf as usize].get(key) {
            return Ok(ElemLookup::Pending(pending.as_ref()));
        }
        if self.in_flushed_db(key) {
            return Ok(ElemLookup::Pending(None));
        }
        Ok(ElemLookup::Stored(self.store.db().get_pinned_cf_opt(
            self.store.cf(cf.name()),
            key,
            &self.ro,
        )?))
    }

    /// Writes an element entry.
    pub fn put_elem(&mut self, cf: ElemCf, key: Vec<u8>, value: Bytes) {
        self.set_elem_overlay(cf, key, Some(value));
    }

    /// Deletes an element entry.
    pub fn delete_elem(&mut self, cf: ElemCf, key: Vec<u8>) {
        self.set_elem_overlay(cf, key, None);
    }

    /// A raw iterator over the committed element entries of `cf` with `lower <= key < upper`
    /// (on the context's snapshot, if it has one), pending writes not merged: callers merge
    /// [`Ctx::pending_elems`] over it. `None` when there is nothing committed to see (an empty
    /// range, or a database this context flushed). For walks that seek several times in one
    /// collection (random picks), which would otherwise build an iterator per seek.
    pub fn stored_elems(
        &self,
        cf: ElemCf,
        lower: &[u8],
        upper: &[u8],
        fill_cache: bool,
    ) -> Option<DBRawIteratorWithThreadMode<'_, DB>> {
        if lower >= upper || self.in_flushed_db(lower) {
            return None;
        }
        let ro = self.bounded_read(lower, upper, fill_cache);
        Some(
            self.store
                .db()
                .raw_iterator_cf_opt(self.store.cf(cf.name()), ro),
        )
    }

    /// Read options for an iterator over `lower <= key < upper`, on the context's snapshot if
    /// it has one.
    fn bounded_read(&self, lower: &[u8], upper: &[u8], fill_cache: bool) -> ReadOptions {
        let mut ro = ReadOptions::default();
        ro.fill_cache(fill_cache);
        ro.set_iterate_lower_bound(lower.to_vec());
        ro.set_iterate_upper_bound(upper.to_vec());
        if let Some(s) = &self.snapshot {
            ro.set_snapshot(s);
        }
        ro
    }

    /// The pending element writes of `cf` with `lower <= key < upper`, in key order (value
    /// `None`: a pending delete), to merge over [`Ctx::stored_elems`].
    pub fn pending_elems<'s>(
        &'s self,
        cf: ElemCf,
        lower: &[u8],
        upper: &[u8],
    ) -> impl DoubleEndedIterator<Item = (&'s [u8], Option<&'s Bytes>)> + 's {
        use std::ops::Bound::{Excluded, Included};
        let map = &self.elems[cf as usize];
        let range =
            (lower < upper).then(|| map.range::<[u8], _>((Included(lower), Excluded(upper))));
        range
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_slice(), v.as_ref()))
    }

    /// Visits, in key order, the element entries whose key starts with `prefix` and is at least
    /// `start` (when given), merging pending writes over the DB, until `visit` returns false.
    pub fn scan_elems(
        &self,
        cf: ElemCf,
        prefix: &[u8],
        start: Option<&[u8]>,
        visit: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.scan_elems_with(cf, prefix, start, true, visit)
    }

    /// [`Ctx::scan_elems`], saying whether the blocks read go into the block cache: a scan of a
    /// whole large collection reads each block once and would only push hot blocks out (and
    /// grow the process by the cache it fills), so it leaves the cache alone.
    pub fn scan_elems_with(
        &self,
        cf: ElemCf,
        prefix: &[u8],
        start: Option<&[u8]>,
        fill_cache: bool,
        visit: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let upper = prefix_successor(prefix);
        let lower = start.filter(|s| *s > prefix).unwrap_or(prefix);
        self.scan_elems_between(cf, lower, &upper, false, fill_cache, visit)
    }

    /// Visits the element entries with `lower <= key < upper`, ascending or (`reverse`)
    /// descending, merging pending writes over the DB (a pending entry shadows the stored one),
    /// until `visit` returns false. Both bounds become the iterator's bounds, so a scan never
    /// steps over entries (or tombstones) outside them. `fill_cache` as in
    /// [`Ctx::scan_elems_with`].
    pub fn scan_elems_between(
        &self,
        cf: ElemCf,
        lower: &[u8],
        upper: &[u8],
        reverse: bool,
        fill_cache: bool,
        visit: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        if lower >= upper {
            return Ok(());
        }
        let ro = self.bounded_read(lower, upper, fill_cache);
        let mut it = self
            .store
            .db()
            .raw_iterator_cf_opt(self.store.cf(cf.name()), ro);
        // After FLUSHDB in this context, only pending entries exist in that db.
        let stored = !self.in_flushed_db(lower);
        if stored {
            if reverse {
                it.seek_to_last();
            } else {
                it.seek_to_first();
            }
        }
        let it = stored.then_some(&mut it);
        let pending = self.pending_elems(cf, lower, upper);
        if reverse {
            merge_pending(it, pending.rev(), true, visit)
        } else {
            merge_pending(it, pending, false, visit)
        }
    }

    // ---- generic key operations ---------------------------------------------------------

    /// Copies `src` (any type, live) to `dst` with expiry `expire_ms`, replacing whatever
    /// `dst` held. Collections get a new version and their elements are rewritten under it.
    /// Returns false when `src` does not exist.
    pub fn copy_key(
        &mut self,
        src_db: u16,
        src: &[u8],
        dst_db: u16,
        dst: &[u8],
        expire_ms: u64,
    ) -> Result<bool> {
        let Some(meta) = self.meta(src_db, src)? else {
            return Ok(false);
        };
        let mut new_meta = meta.clone();
        new_meta.expire_ms = expire_ms;
        if meta.kind.is_collection() {
            let version = self.new_version()?;
            new_meta.version = version;
            for cf in [ElemCf::Data, ElemCf::Score] {
                let from = data_prefix(src_db, src, meta.version);
                let to = data_prefix(dst_db, dst, version);
                let mut copies = Vec::new();
                self.scan_elems(cf, &from, None, |k, v| {
                    let mut nk = to.clone();
                    nk.extend_from_slice(&k[from.len()..]);
                    copies.push((nk, Bytes::copy_from_slice(v)));
                    true
                })?;
                for (k, v) in copies {
                    self.put_elem(cf, k, v);
                }
            }
        }
        self.put_meta(dst_db, dst, new_meta);
        Ok(true)
    }

    // ---- commit -----------------------------------------------------------------------

    /// Deletes a whole database (FLUSHDB); the caller holds its exclusive lock. The range
    /// deletes go into the batch like any write, after what is pending and before what follows,
    /// so a transaction with FLUSHDB still commits once (all or nothing); until then the
    /// context reads the database as empty but for its own later writes.
    pub fn flush_db(&mut self, db: u16) -> Result<()> {
        let (lo, hi) = (db_prefix(db).to_vec(), db_upper_bound(db));
        let (from, to) = (self.log.span(&lo), self.log.span(&hi));
        for cf in [CF_META, CF_DATA, CF_SCORE] {
            self.log.ops.push(Op::DeleteRange(cf, from, to));
        }
        let in_db = |k: &[u8]| k.get(..2) == Some(&lo[..]);
        let gone: Vec<MetaKey> = self
            .metas
            .keys()
            .filter(|k| in_db(k.as_slice()))
            .cloned()
            .collect();
        let metas = gone
            .into_iter()
            .filter_map(|k| self.metas.remove_entry(&k))
            .collect();
        let elems = [0, 1].map(|i| {
            let map = &mut self.elems[i];
            let mut removed = map.split_off(lo.as_slice());
            let mut after = removed.split_off(hi.as_slice());
            map.append(&mut after);
            removed
        });
        let was_flushed = self.flushed.contains(&db);
        if !was_flushed {
            self.flushed.push(db);
        }
        self.undo.push(Undo::Flush(FlushUndo {
            db,
            metas,
            elems,
            was_flushed,
        }));
        self.mark_flushed(db);
        Ok(())
    }

    /// Visits the committed meta entries of `db` as [`Store::scan_meta_raw`] does, seeing none
    /// after this context flushed the database (merge [`Ctx::pending_metas`] over it).
    pub fn scan_stored_metas(
        &self,
        db: u16,
        from: Option<&[u8]>,
        visit: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        if self.db_flushed(db) {
            return Ok(());
        }
        self.store.scan_meta_raw(db, from, visit)
    }

    /// The exact number of live keys of `db` as this context sees it (committed keys, minus
    /// those its pending writes deleted, plus those they created): DBSIZE, inside EXEC too.
    pub fn count_keys(&self, db: u16) -> Result<u64> {
        let now = self.now_ms;
        let mut n = if self.db_flushed(db) {
            0
        } else {
            self.store.count_keys(db, now)? as i64
        };
        for (mk, pending) in self.pending_metas(db) {
            let stored_live = !self.db_flushed(db)
                && self
                    .store
                    .get_meta_raw(mk, &self.ro)?
                    .is_some_and(|m| !m.is_expired(now));
            let pending_live = pending.is_some_and(|m| !m.is_expired(now));
            n += pending_live as i64 - stored_live as i64;
        }
        Ok(n.max(0) as u64)
    }

    /// True when nothing was written.
    pub fn is_clean(&self) -> bool {
        self.log.ops.is_empty()
    }

    /// How many writes the batch built from the pending ops holds (tests check that a key
    /// written several times is written once).
    #[cfg(test)]
    pub(crate) fn batch_len(&self) -> usize {
        build_batch(self.store, &self.log).len()
    }

    /// Commits the batch (in the WAL when this returns) and returns what the command did.
    pub fn commit(mut self) -> Result<Effects> {
        write_through(self.store, &self.log, &self.metas, &self.flushed)?;
        Ok(std::mem::take(&mut self.effects))
    }

    /// Drops pending writes (a command that failed midway commits nothing) and returns the
    /// effects of nothing.
    pub fn abort(self) {}
}

fn restore<V>(map: &mut impl OverlayMap<V>, key: &[u8], prev: Option<Option<V>>) {
    match prev {
        Some(v) => map.put(key, v),
        None => map.remove(key),
    }
}

/// The two overlay map types, for [`restore`]; each owns its keys in its own type.
trait OverlayMap<V> {
    fn put(&mut self, k: &[u8], v: Option<V>);
    fn remove(&mut self, k: &[u8]);
}

impl<V, S: std::hash::BuildHasher> OverlayMap<V> for HashMap<MetaKey, Option<V>, S> {
    fn put(&mut self, k: &[u8], v: Option<V>) {
        self.insert(MetaKey::from_slice(k), v);
    }
    fn remove(&mut self, k: &[u8]) {
        HashMap::remove(self, k);
    }
}

impl<V> OverlayMap<V> for BTreeMap<Vec<u8>, Option<V>> {
    fn put(&mut self, k: &[u8], v: Option<V>) {
        self.insert(k.to_vec(), v);
    }
    fn remove(&mut self, k: &[u8]) {
        BTreeMap::remove(self, k);
    }
}

/// Commits the op log and keeps the meta cache on the committed state. The caller holds the
/// locks of every key in `metas` (and the flushed databases exclusively). The flushed databases
/// leave the cache before the write. With more than one executor the written keys are hidden
/// in it too, so no lock-free reader can combine a cached old value with another key's new one
/// while the batch lands (with one, no reader runs meanwhile). Nobody can fill them in
/// meanwhile (readers never fill, writers are locked out); the new values go in after the
/// write.
fn write_through(store: &Store, log: &OpLog, metas: &MetaOverlay, flushed: &[u16]) -> Result<()> {
    if log.ops.is_empty() {
        return Ok(());
    }
    for &db in flushed {
        store.cache.clear_db(db);
    }
    // One key: a reader sees its old value or its new one, nothing to mix; skip the probe.
    // With one executor no reader runs while the batch lands (the expiry thread only deletes
    // keys that readers already see as gone).
    if metas.len() > 1 && !store.single_executor() {
        for mk in metas.keys() {
            store.cache.hide(mk);
        }
    }
    store.write(build_batch(store, log))?;
    for (mk, meta) in metas {
        match meta {
            Some(m) => store.cache.put(mk, m),
            None => store.cache.remove(mk),
        }
    }
    Ok(())
}

/// The first byte of `op`'s column family name, then the first seven bytes of its key
/// (zero-padded), as one big-endian number: keys of one column family in this order are in key
/// order wherever the numbers differ. Meta keys in different slots differ here; the elements
/// of one collection (database, slot, then the key's length) share the number and are ordered
/// by comparing their keys.
fn sort_prefix(log: &OpLog, op: &Op) -> u64 {
    let (cf, key) = log.target(op);
    let mut b = [0u8; 8];
    b[0] = cf.as_bytes().first().copied().unwrap_or(0);
    let n = key.len().min(7);
    b[1..1 + n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(b)
}

/// Turns the op log into one RocksDB write batch, in key order within each run of ops between
/// range deletes (which keep their place).
///
/// Key order: the memtable's skip list starts an insert from where the previous one ended when
/// the new key comes right after it (a new collection's elements, written in order). Keys far
/// apart gain nothing: RocksDB only reuses that position for adjacent keys, and an insert hint
/// (`memtable_insert_with_hint_prefix_extractor`, tried) did not speed up random keys, whose
/// cost is cache misses in the skip list's lower levels. Ops sort by [`sort_prefix`], which
/// tells keys in different slots apart without comparing slices, then by (cf, key), then by
/// log position.
///
/// Of the puts and deletes of one key in a run, only the last is written: the batch lands
/// atomically, so only that one can ever be seen. A group of commands on one key (50 clients'
/// SADDs to one set) then writes its meta once, not once per command: fewer memtable inserts,
/// a smaller WAL record.
fn build_batch(store: &Store, log: &OpLog) -> WriteBatch {
    let ops = &log.ops;
    let mut order: Vec<(u64, usize)> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| (sort_prefix(log, op), i))
        .collect();
    let is_range = |i: usize| matches!(ops[i], Op::DeleteRange(..));
    for run in order.split_mut(|&(_, i)| is_range(i)) {
        run.sort_unstable_by(|&(pa, a), &(pb, b)| {
            pa.cmp(&pb)
                .then_with(|| log.target(&ops[a]).cmp(&log.target(&ops[b])))
                .then(a.cmp(&b))
        });
    }
    let same_key = |x: (u64, usize), y: (u64, usize)| {
        x.0 == y.0 && !is_range(y.1) && log.target(&ops[x.1]) == log.target(&ops[y.1])
    };
    let mut batch = WriteBatch::default();
    let b = |s| log.get(s);
    for (n, &(p, i)) in order.iter().enumerate() {
        let op = ops[i];
        if !is_range(i) && order.get(n + 1).is_some_and(|&next| same_key((p, i), next)) {
            continue; // a later op of this run writes the same key
        }
        match op {
            Op::Put(cf, k, v) => batch.put_cf(store.cf(cf), b(k), b(v)),
            Op::Delete(cf, k) => batch.delete_cf(store.cf(cf), b(k)),
            Op::DeleteRange(cf, from, to) => batch.delete_range_cf(store.cf(cf), b(from), b(to)),
        }
    }
    batch
}
