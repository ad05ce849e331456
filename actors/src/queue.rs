//! The queue between the connections and the grouping executors.
//!
//! A FIFO shared by any number of senders (the connections, through [`ExecPool`] handles) and
//! receivers (the executor threads). A receiver that finds it empty goes straight to sleep on a
//! condition variable; a sender wakes a sleeping receiver only when none is already being woken.
//!
//! Why not crossbeam's channel: its blocking `recv` spins and then calls `sched_yield` a few
//! times before it sleeps. A yielding executor stays runnable on its CPU behind whatever runs
//! there (a worker, or the clients on the same machine), so a batch that arrived meanwhile
//! waited for that thread's time slice, even with the other CPU idle: measured with
//! `redis-benchmark -t set -c 50` on 2 cores, the executor waited 0.27 ms on average (3.8 ms at
//! worst) between becoming runnable and running, and the machine stayed 20 % idle. A sleeping
//! executor is woken by the kernel onto an idle CPU when there is one.
//!
//! [`ExecPool`]: crate::executor::ExecPool

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// A new queue: its sending half and its receiving half (both cloneable).
pub(crate) fn queue<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            senders: 1,
            receivers: 1,
            sleeping: 0,
            waking: 0,
        }),
        ready: Condvar::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Signalled when an item arrives for a sleeping receiver, or the last sender leaves.
    ready: Condvar,
}

struct State<T> {
    items: VecDeque<T>,
    senders: usize,
    receivers: usize,
    /// Receivers waiting on `ready`.
    sleeping: usize,
    /// Of those, how many a sender has already signalled (they are waking up).
    waking: usize,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while holding the lock; a poisoned lock still holds a valid queue.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The sending half. Dropping the last one ends the receivers once the queue is empty.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Appends `item`; gives it back if every receiver is gone.
    pub(crate) fn send(&self, item: T) -> Result<(), T> {
        let mut st = self.shared.lock();
        if st.receivers == 0 {
            return Err(item);
        }
        st.items.push_back(item);
        // Wake one sleeper unless enough are already waking for what is queued.
        let wake = st.sleeping > st.waking;
        if wake {
            st.waking += 1;
        }
        drop(st);
        if wake {
            self.shared.ready.notify_one();
        }
        Ok(())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.senders -= 1;
        if st.senders == 0 {
            drop(st);
            self.shared.ready.notify_all();
        }
    }
}

/// The receiving half.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// The next item, sleeping until one arrives; `None` once the queue is empty and every
    /// sender is gone.
    pub(crate) fn recv(&self) -> Option<T> {
        let mut st = self.shared.lock();
        loop {
            if let Some(item) = st.items.pop_front() {
                return Some(item);
            }
            if st.senders == 0 {
                return None;
            }
            st.sleeping += 1;
            st = self
                .shared
                .ready
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
            st.sleeping -= 1;
            // Signalled or not (a spurious wake-up), this receiver is no longer asleep.
            st.waking = st.waking.saturating_sub(1).min(st.sleeping);
        }
    }

    /// The next item if one is queued.
    pub(crate) fn try_recv(&self) -> Option<T> {
        self.shared.lock().items.pop_front()
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.lock().receivers += 1;
        Receiver {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.receivers -= 1;
        if st.receivers == 0 {
            // Nobody will run what is queued: drop it (outside the lock), so whoever waits
            // for those items learns that they are gone.
            let orphans = std::mem::take(&mut st.items);
            drop(st);
            drop(orphans);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn items_come_out_in_order_and_the_queue_ends_with_its_senders() {
        let (tx, rx) = queue();
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        drop(tx);
        // Queued items outlive the senders.
        let got: Vec<i32> = std::iter::from_fn(|| rx.recv()).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn a_sleeping_receiver_wakes_for_an_item_and_for_the_end() {
        let (tx, rx) = queue::<u32>();
        let rx2 = rx.clone();
        let a = std::thread::spawn(move || rx.recv());
        let b = std::thread::spawn(move || rx2.recv());
        // Wait until both sleep, so the item and the end must wake them.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while tx.shared.lock().sleeping < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "receivers never slept"
            );
            std::thread::yield_now();
        }
        tx.send(7).unwrap();
        let tx2 = tx.clone();
        drop(tx);
        drop(tx2);
        let mut got = [a.join().unwrap(), b.join().unwrap()];
        got.sort();
        assert_eq!(got, [None, Some(7)]);
    }

    #[test]
    fn many_senders_and_receivers_lose_nothing() {
        let (tx, rx) = queue::<u64>();
        let receivers: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                std::thread::spawn(move || std::iter::from_fn(|| rx.recv()).sum::<u64>())
            })
            .collect();
        drop(rx);
        let senders: Vec<_> = (0..4u64)
            .map(|s| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000 {
                        tx.send(s * 10_000 + i).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        for s in senders {
            s.join().unwrap();
        }
        let total: u64 = receivers.into_iter().map(|r| r.join().unwrap()).sum();
        assert_eq!(total, (0..40_000u64).sum::<u64>());
    }

    #[test]
    fn sending_without_receivers_gives_the_item_back_and_drops_the_queued() {
        let (tx, rx) = queue();
        let item = Arc::new(());
        tx.send(item.clone()).unwrap();
        assert_eq!(Arc::strong_count(&item), 2);
        drop(rx);
        // The queued copy was dropped with the last receiver.
        assert_eq!(Arc::strong_count(&item), 1);
        assert!(tx.send(item.clone()).is_err());
    }
}
