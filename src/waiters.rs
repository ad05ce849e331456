//! The waiter registry of blocking commands (BLPOP, BLMOVE, BLMPOP, ...; DESIGN.md §1).
//!
//! A blocking command that finds all its keys empty registers a [`Waiter`] here while it still
//! holds those keys' stripe locks, so a writer (which needs one of those locks) either ran
//! before, and the command saw its element, or runs after and finds the waiter: no wakeup is
//! lost. Each key has a FIFO queue of waiter ids; a waiter waiting on several keys is in each
//! of their queues. Whoever removes a waiter — the executor serving it, its connection's
//! timeout, its connection closing — does so under the registry lock, so exactly one of them
//! answers it.

use crate::cmd::blocking::BlockedOp;
use crate::reply::Reply;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use talus_actors::ClientHandle;

/// Identifies a registered waiter.
pub type WaiterId = u64;

/// A client blocked on some keys.
pub struct Waiter {
    /// The database of its keys.
    pub db: u16,
    /// The keys it waits on, in the order given.
    pub keys: Vec<Bytes>,
    /// What serving it does.
    pub(crate) op: BlockedOp,
    /// The client's protocol version (for encoding its reply).
    pub resp: u8,
    /// Where its reply goes.
    pub client: ClientHandle,
    /// Its reply if the timeout passes first.
    pub timeout_reply: Reply,
    /// CLIENT REPLY OFF or SKIP was in force when it blocked: its reply is not sent.
    pub silent: bool,
}

impl Waiter {
    /// `reply` encoded for this client (nothing if its reply is not to be sent).
    pub fn encode(&self, reply: Reply) -> bytes::BytesMut {
        let mut out = bytes::BytesMut::new();
        if !self.silent {
            reply.encode(self.resp, &mut out);
        }
        out
    }
}

#[derive(Default)]
struct Inner {
    next_id: WaiterId,
    queues: HashMap<(u16, Bytes), VecDeque<WaiterId>>,
    waiting: HashMap<WaiterId, Waiter>,
}

/// The registry (one per server, in `Shared`).
#[derive(Default)]
pub struct Waiters {
    inner: Mutex<Inner>,
    /// How many waiters are registered (INFO `blocked_clients`; lets writers skip the lock
    /// when nobody waits).
    count: AtomicUsize,
}

impl Waiters {
    /// True while waiter `id` is registered (CLIENT LIST's `b` flag).
    pub fn is_registered(&self, id: WaiterId) -> bool {
        self.count.load(Ordering::Relaxed) > 0 && self.inner.lock().waiting.contains_key(&id)
    }

    /// Registers `waiter` at the back of its keys' queues. The caller holds the keys' locks.
    pub fn register(&self, waiter: Waiter) -> WaiterId {
        let mut inner = self.inner.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        for key in &waiter.keys {
            let queue = inner.queues.entry((waiter.db, key.clone())).or_default();
            // BLPOP k k: one place in the queue.
            if !queue.contains(&id) {
                queue.push_back(id);
            }
        }
        inner.waiting.insert(id, waiter);
        self.count.fetch_add(1, Ordering::Relaxed);
        id
    }

    /// Removes waiter `id` from the registry and returns it; `None` if it is no longer there
    /// (served, timed out or gone).
    pub fn remove(&self, id: WaiterId) -> Option<Waiter> {
        let mut inner = self.inner.lock();
        let waiter = inner.waiting.remove(&id)?;
        for key in &waiter.keys {
            let k = (waiter.db, key.clone());
            if let Some(queue) = inner.queues.get_mut(&k) {
                queue.retain(|&w| w != id);
                if queue.is_empty() {
                    inner.queues.remove(&k);
                }
            }
        }
        self.count.fetch_sub(1, Ordering::Relaxed);
        Some(waiter)
    }

    /// True when some client waits on `key` of `db`.
    pub fn is_waited(&self, db: u16, key: &[u8]) -> bool {
        if self.count.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let inner = self.inner.lock();
        inner
            .queues
            .contains_key(&(db, Bytes::copy_from_slice(key)))
    }

    /// The waiters on `key` of `db`, first come first, with what serving each would do.
    pub(crate) fn queue(&self, db: u16, key: &Bytes) -> Vec<(WaiterId, BlockedOp)> {
        let inner = self.inner.lock();
        inner
            .queues
            .get(&(db, key.clone()))
            .map(|q| {
                q.iter()
                    .filter_map(|id| inner.waiting.get(id).map(|w| (*id, w.op.clone())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many clients are blocked (INFO `blocked_clients`).
    pub fn blocked_clients(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_registry_fast_paths() {
        // Registering needs a ClientHandle, i.e. a running connection actor: FIFO order and
        // removal are tested through the server (tests/blocking.rs).
        let w = Waiters::default();
        assert!(!w.is_waited(0, b"k"));
        assert!(w.queue(0, &Bytes::from_static(b"k")).is_empty());
        assert!(w.remove(1).is_none());
        assert_eq!(w.blocked_clients(), 0);
    }
}
