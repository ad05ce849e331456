//! The striped key-lock table (Pika's `LockMgr`, Kvrocks' `LockManager`).
//!
//! Every read-modify-write holds its keys' stripes for its whole run, so executors running in
//! parallel never interleave on a key. Stripes are chosen by the key's bytes only (not its db), so
//! a command that spans databases (MOVE, COPY ... DB) locks one consistent set. Deadlock freedom:
//! database locks are taken first, in ascending db order; then stripes, deduplicated and in
//! ascending order (`MSET a 1 a 2` and `RENAME k k` hash twice to one stripe and take it once).
//! Each database also has a reader-writer lock: writers hold it shared, FLUSHDB holds it exclusive.

use parking_lot::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use smallvec::SmallVec;
use std::hash::{BuildHasher, Hasher};

/// Number of stripes; a power of two.
const STRIPES: usize = 1024;

/// What a command locks.
#[derive(Debug, Default, Clone)]
pub struct LockPlan {
    /// Databases held shared.
    pub shared_dbs: SmallVec<[u16; 2]>,
    /// Databases held exclusive (wins over shared).
    pub exclusive_dbs: SmallVec<[u16; 2]>,
    /// Stripe indexes of the keys written (a command's few without an allocation).
    pub stripes: SmallVec<[usize; 8]>,
}

impl LockPlan {
    /// An empty plan (lock nothing).
    pub fn none() -> LockPlan {
        LockPlan::default()
    }

    /// Adds a database held shared.
    pub fn db_shared(&mut self, db: u16) -> &mut Self {
        self.shared_dbs.push(db);
        self
    }

    /// Adds a database held exclusive.
    pub fn db_exclusive(&mut self, db: u16) -> &mut Self {
        self.exclusive_dbs.push(db);
        self
    }

    /// Adds a key's stripe.
    pub fn key(&mut self, table: &LockTable, key: &[u8]) -> &mut Self {
        self.stripes.push(table.stripe_of(key));
        self
    }

    /// True when the plan locks nothing.
    pub fn is_empty(&self) -> bool {
        self.shared_dbs.is_empty() && self.exclusive_dbs.is_empty() && self.stripes.is_empty()
    }
}

/// Locks held by one command (or one EXEC); released on drop.
#[derive(Default)]
pub struct LockGuard<'a> {
    _shared: Vec<RwLockReadGuard<'a, ()>>,
    _exclusive: Vec<RwLockWriteGuard<'a, ()>>,
    _stripes: Vec<MutexGuard<'a, ()>>,
    /// The dbs held (shared or exclusive) and the stripes held, for [`LockTable::try_extend`].
    dbs_held: Vec<u16>,
    stripes_held: Vec<usize>,
}

/// The lock table: one reader-writer lock per database and a fixed set of key stripes.
pub struct LockTable {
    dbs: Vec<RwLock<()>>,
    stripes: Box<[Mutex<()>]>,
    hasher: std::collections::hash_map::RandomState,
}

impl LockTable {
    /// A table for `databases` databases.
    pub fn new(databases: usize) -> LockTable {
        LockTable {
            dbs: (0..databases).map(|_| RwLock::new(())).collect(),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: Default::default(),
        }
    }

    /// The stripe a key maps to.
    pub fn stripe_of(&self, key: &[u8]) -> usize {
        let mut h = self.hasher.build_hasher();
        h.write(key);
        (h.finish() as usize) & (STRIPES - 1)
    }

    /// Acquires a plan: databases in ascending order (exclusive where asked, else shared),
    /// then stripes deduplicated in ascending order.
    pub fn lock(&self, plan: &LockPlan) -> LockGuard<'_> {
        let mut guard = LockGuard::default();
        if plan.is_empty() {
            return guard;
        }
        let mut dbs: Vec<(u16, bool)> = plan
            .shared_dbs
            .iter()
            .map(|&d| (d, false))
            .chain(plan.exclusive_dbs.iter().map(|&d| (d, true)))
            .collect();
        // Sort by db, exclusive last, then keep the last entry per db (exclusive wins).
        dbs.sort_unstable();
        dbs.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                earlier.1 |= later.1;
                true
            } else {
                false
            }
        });
        for (db, exclusive) in dbs {
            let Some(lock) = self.dbs.get(db as usize) else {
                continue;
            };
            if exclusive {
                guard._exclusive.push(lock.write());
            } else {
                guard._shared.push(lock.read());
            }
            guard.dbs_held.push(db);
        }
        let mut stripes = plan.stripes.to_vec();
        stripes.sort_unstable();
        stripes.dedup();
        for &s in &stripes {
            guard._stripes.push(self.stripes[s].lock());
        }
        guard.stripes_held = stripes;
        guard
    }

    /// Adds a plan of shared dbs and stripes to locks already held, without waiting: what the
    /// guard holds is skipped, the rest is tried. False if some lock is taken (or the plan
    /// wants a db exclusive); what was acquired until then stays in the guard, and the caller
    /// is expected to release it all soon. Never waiting while holding locks is what makes
    /// adding locks out of order deadlock-free.
    pub fn try_extend<'a>(&'a self, guard: &mut LockGuard<'a>, plan: &LockPlan) -> bool {
        if !plan.exclusive_dbs.is_empty() {
            return false;
        }
        for &db in &plan.shared_dbs {
            if guard.dbs_held.contains(&db) {
                continue;
            }
            let Some(lock) = self.dbs.get(db as usize) else {
                continue;
            };
            // Never `read()` here: with a writer queued it waits, even for a reader.
            match lock.try_read() {
                Some(g) => {
                    guard._shared.push(g);
                    guard.dbs_held.push(db);
                }
                None => return false,
            }
        }
        for &s in &plan.stripes {
            let Err(at) = guard.stripes_held.binary_search(&s) else {
                continue;
            };
            match self.stripes[s].try_lock() {
                Some(g) => {
                    guard._stripes.push(g);
                    guard.stripes_held.insert(at, s);
                }
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn same_key_twice_does_not_deadlock() {
        let t = LockTable::new(16);
        let mut p = LockPlan::none();
        p.db_shared(0).db_shared(0).key(&t, b"a").key(&t, b"a");
        let _g = t.lock(&p);
    }

    #[test]
    fn try_extend_skips_held_and_fails_on_taken() {
        let t = LockTable::new(16);
        let mut a = LockPlan::none();
        a.db_shared(0).key(&t, b"a");
        let mut g = t.lock(&a);
        // Held stripes and dbs are not locked again (that would deadlock on a Mutex).
        let mut more = LockPlan::none();
        more.db_shared(0).db_shared(1).key(&t, b"a").key(&t, b"b");
        assert!(t.try_extend(&mut g, &more));
        assert!(t.stripes[t.stripe_of(b"b")].try_lock().is_none());
        // A stripe another guard holds is not waited for.
        let mut c = LockPlan::none();
        c.key(&t, b"c");
        let other = t.lock(&c);
        assert!(!t.try_extend(&mut g, &c));
        drop(other);
        assert!(t.try_extend(&mut g, &c));
        // A db someone holds exclusive is not waited for either.
        let mut x = LockPlan::none();
        x.db_exclusive(5);
        let excl = t.lock(&x);
        let mut d5 = LockPlan::none();
        d5.db_shared(5);
        assert!(!t.try_extend(&mut g, &d5));
        drop(excl);
        assert!(!t.try_extend(&mut g, &x), "exclusive plans never extend");
    }

    #[test]
    fn exclusive_wins_over_shared_for_one_db() {
        let t = LockTable::new(16);
        let mut p = LockPlan::none();
        p.db_shared(3).db_exclusive(3);
        let _g = t.lock(&p);
        assert!(t.dbs[3].try_read().is_none());
    }

    #[test]
    fn opposite_orders_do_not_deadlock() {
        let t = Arc::new(LockTable::new(16));
        let keys: Vec<Vec<u8>> = (0..64).map(|i| format!("k{i}").into_bytes()).collect();
        let mut handles = vec![];
        for rev in [false, true] {
            let (t, mut keys) = (t.clone(), keys.clone());
            if rev {
                keys.reverse();
            }
            handles.push(std::thread::spawn(move || {
                for _ in 0..2000 {
                    let mut p = LockPlan::none();
                    p.db_shared(1).db_shared(0);
                    for k in &keys {
                        p.key(&t, k);
                    }
                    drop(t.lock(&p));
                }
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
    }
}
