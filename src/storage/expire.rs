//! The active-expiry cycle: deletes expired keys in the background.
//!
//! Redis samples keys that have a TTL; the store has no TTL index, so this walks each
//! database's meta range incrementally instead (a bounded number of entries per tick, resuming
//! where the previous tick stopped), and deletes the expired keys it finds under their stripe
//! locks, re-checking each one there (a writer may have replaced it meanwhile). Reads already
//! treat expired keys as absent; this keeps DBSIZE and INFO exact and reclaims space, and its
//! effects (touched keys, `expired` events) flow to the same place as commands' effects.

use super::context::{Ctx, Effects};
use super::encoding::{is_expired_at, peek_meta, split_meta_key};
use super::locks::{LockPlan, LockTable};
use super::version::now_millis;
use super::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Meta entries examined per database per tick.
const SCAN_PER_TICK: usize = 2000;
/// Time between ticks while expired keys keep turning up (Redis runs its cycle at `hz` 10).
const TICK: Duration = Duration::from_millis(100);
/// The longest pause between ticks: a keyspace without expired keys is walked slowly, so a
/// large database is not rescanned at full speed for nothing.
const MAX_TICK: Duration = Duration::from_millis(1000);

/// One incremental pass step over every database; returns the effects of what it deleted.
pub struct ExpireCycle {
    cursors: Vec<Option<Vec<u8>>>,
}

impl ExpireCycle {
    /// A cycle over `databases` databases.
    pub fn new(databases: u16) -> ExpireCycle {
        ExpireCycle {
            cursors: vec![None; databases as usize],
        }
    }

    /// Runs one tick: examines up to [`SCAN_PER_TICK`] meta entries per database and deletes
    /// the expired ones. `on_effects` gets each deletion's effects while the key's lock is
    /// still held (WATCH relies on it, as on commands' `after_commit`). Returns how many keys
    /// it deleted.
    pub fn tick(
        &mut self,
        store: &Store,
        locks: &LockTable,
        on_effects: &mut impl FnMut(Effects),
    ) -> u64 {
        let mut deleted = 0;
        for db in 0..store.databases() {
            let now = now_millis();
            let mut expired = Vec::new();
            let mut seen = 0;
            let cursor = self.cursors[db as usize].take();
            let next = store.scan_meta(db, cursor.as_deref(), |k, raw| {
                seen += 1;
                if peek_meta(raw).is_some_and(|(_, e, _)| is_expired_at(e, now)) {
                    if let Some((_, key)) = split_meta_key(k) {
                        expired.push(key.to_vec());
                    }
                }
                seen < SCAN_PER_TICK
            });
            self.cursors[db as usize] = next.ok().flatten();
            for key in expired {
                let mut plan = LockPlan::none();
                plan.db_shared(db).key(locks, &key);
                let _guard = locks.lock(&plan);
                let mut ctx = Ctx::new(store, now_millis(), true);
                // meta() deletes the key if it is (still) expired.
                if ctx.meta(db, &key).is_err() {
                    continue;
                }
                if let Ok(effects) = ctx.commit() {
                    if effects.expired > 0 {
                        deleted += effects.expired;
                        on_effects(effects);
                    }
                }
            }
        }
        deleted
    }
}

/// Runs the cycle on its own thread until `stop` is set; `on_effects` receives what each
/// deletion did, under the key's lock (for stats, WATCH and notifications).
pub fn spawn(
    store: Arc<Store>,
    locks: Arc<LockTable>,
    stop: Arc<AtomicBool>,
    mut on_effects: impl FnMut(Effects) + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("talus-expire".into())
        .spawn(move || {
            let mut cycle = ExpireCycle::new(store.databases());
            let mut pause = TICK;
            while !stop.load(Ordering::Acquire) {
                if cycle.tick(&store, &locks, &mut on_effects) > 0 {
                    pause = TICK;
                } else {
                    pause = (pause * 2).min(MAX_TICK);
                }
                std::thread::park_timeout(pause);
            }
        })
}
