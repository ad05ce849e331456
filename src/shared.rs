//! Server-wide state shared by every executor: the store, the lock table, the configuration,
//! the command table, statistics, SCAN cursors and WATCHed keys.

use crate::cmd::CommandTable;
use crate::config::Config;
use crate::storage::context::Effects;
use crate::storage::locks::LockTable;
use crate::storage::Store;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use talus_actors::ConnStats;

/// Counters reported by INFO stats.
#[derive(Debug, Default)]
pub struct Stats {
    /// Commands processed (INFO `total_commands_processed`).
    pub total_commands: AtomicU64,
    /// Keys removed because they expired (INFO `expired_keys`).
    pub expired_keys: AtomicU64,
    /// Lookups that found their key (INFO `keyspace_hits`).
    pub keyspace_hits: AtomicU64,
    /// Lookups that did not (INFO `keyspace_misses`).
    pub keyspace_misses: AtomicU64,
}

impl Stats {
    /// Counts one processed command.
    pub fn commands_processed(&self) {
        self.total_commands.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a key lookup as a hit or a miss.
    pub fn lookup(&self, hit: bool) {
        if hit {
            self.keyspace_hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.keyspace_misses.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// SCAN cursors: the decimal cursor a client sees maps to the key to resume from, in a bounded
/// table. An unknown (or evicted) cursor restarts the scan: duplicates are allowed, misses not.
pub struct ScanCursors {
    inner: Mutex<CursorTable>,
}

struct CursorTable {
    next: u64,
    map: HashMap<u64, Vec<u8>>,
    order: VecDeque<u64>,
}

/// How many live cursors are remembered.
const MAX_CURSORS: usize = 16 * 1024;

impl Default for ScanCursors {
    fn default() -> Self {
        ScanCursors {
            inner: Mutex::new(CursorTable {
                next: 1,
                map: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }
}

impl ScanCursors {
    /// Remembers `resume` and returns its cursor (never 0, which means "done").
    pub fn save(&self, resume: Vec<u8>) -> u64 {
        let mut t = self.inner.lock();
        let id = t.next;
        t.next = t.next.wrapping_add(1).max(1);
        t.map.insert(id, resume);
        t.order.push_back(id);
        while t.order.len() > MAX_CURSORS {
            if let Some(old) = t.order.pop_front() {
                t.map.remove(&old);
            }
        }
        id
    }

    /// The resume key of `cursor`, if it is known.
    pub fn get(&self, cursor: u64) -> Option<Vec<u8>> {
        self.inner.lock().map.get(&cursor).cloned()
    }
}

/// State shared by every executor thread.
pub struct Shared {
    /// The RocksDB store.
    pub store: Arc<Store>,
    /// The striped key locks.
    pub locks: Arc<LockTable>,
    /// The configuration (CONFIG GET/SET).
    pub config: Config,
    /// The command table.
    pub commands: CommandTable,
    /// INFO stats counters.
    pub stats: Stats,
    /// Connection counters kept by the actor pipeline.
    pub conn_stats: Arc<ConnStats>,
    /// SCAN cursors.
    pub scan_cursors: ScanCursors,
    /// When the server started.
    pub started: Instant,
    /// The run id INFO reports.
    pub run_id: String,
    /// WATCHed keys.
    pub watches: crate::watch::WatchRegistry,
    /// Clients blocked on keys (BLPOP, ...).
    pub waiters: crate::waiters::Waiters,
    /// INFO commandstats / errorstats and the SLOWLOG.
    pub calls: crate::calls::Calls,
    /// Pub/sub subscriptions.
    pub pubsub: crate::pubsub::PubSub,
    /// Connected clients (CLIENT LIST/KILL), MONITOR clients, CLIENT PAUSE.
    pub clients: crate::clients::Clients,
}

impl Shared {
    /// Tells a command's storage context what to record: touched keys only while a client
    /// WATCHes, events only while keyspace notifications are on. Call it with the command's
    /// locks held: a WATCH that starts later takes those locks after the command is done.
    pub fn set_tracking(&self, ctx: &mut crate::storage::context::Ctx<'_>) {
        ctx.set_tracking(
            self.watches.is_active(),
            self.config.notify_keyspace_events() != 0,
        );
    }

    /// Turns on touched-key recording in a context that runs more commands than it started
    /// with, if some client WATCHes by now (never turns it off). Call it with the new
    /// commands' locks held, as [`Shared::set_tracking`].
    pub fn track_new_watches(&self, ctx: &mut crate::storage::context::Ctx<'_>) {
        let (touched, events) = ctx.tracking();
        ctx.set_tracking(touched || self.watches.is_active(), events);
    }

    /// Takes note of what a committed command (or the expiry cycle) did. Commands call it
    /// before releasing their locks (EXEC's WATCH check relies on it).
    pub fn after_commit(&self, mut effects: Effects) {
        self.watches.touched(&effects);
        // Keys made ready for blocked clients are served once the locks are released.
        crate::cmd::blocking::note_ready(self, std::mem::take(&mut effects.ready));
        crate::cmd::pubsub::deliver(
            self,
            std::mem::take(&mut effects.published),
            &effects.events,
        );
        if effects.expired > 0 {
            self.stats
                .expired_keys
                .fetch_add(effects.expired, Ordering::Relaxed);
        }
    }
}
