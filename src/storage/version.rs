//! Version numbers for collections: unique for a key's whole life, across restarts.
//!
//! A version is `max(last + 1, now in µs)`. A high-water mark is persisted ahead of use (in
//! blocks of one minute of microseconds): after a restart, versions start above it even if the
//! clock went backwards, so data entries of a deleted collection can never be revived by a new one.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// How far ahead of the versions in use the persisted high-water mark runs.
pub const HWM_BLOCK: u64 = 60_000_000;

/// Generates versions. No version at or above the persisted high-water mark is handed out
/// before the raised mark is durable.
pub struct VersionGen {
    last: AtomicU64,
    /// The persisted high-water mark.
    hwm: AtomicU64,
    raising: Mutex<()>,
}

impl VersionGen {
    /// Starts above the persisted high-water mark `persisted`.
    pub fn new(persisted: u64) -> VersionGen {
        VersionGen {
            last: AtomicU64::new(persisted.max(now_micros())),
            hwm: AtomicU64::new(persisted),
            raising: Mutex::new(()),
        }
    }

    /// The next version. When it reaches the high-water mark, `persist` is called (once, under a
    /// lock) with a higher mark, which must be durable when it returns.
    pub fn next<E>(&self, persist: impl FnOnce(u64) -> Result<(), E>) -> Result<u64, E> {
        let now = now_micros();
        let mut cur = self.last.load(Ordering::Relaxed);
        let v = loop {
            let v = (cur + 1).max(now);
            match self
                .last
                .compare_exchange_weak(cur, v, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break v,
                Err(actual) => cur = actual,
            }
        };
        if v < self.hwm.load(Ordering::Acquire) {
            return Ok(v);
        }
        let _raising = self.raising.lock();
        if v >= self.hwm.load(Ordering::Acquire) {
            let new = v + HWM_BLOCK;
            persist(new)?;
            self.hwm.store(new, Ordering::Release);
        }
        Ok(v)
    }
}

/// Microseconds since the Unix epoch.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_and_start_above_hwm() {
        let far = now_micros() + 10 * HWM_BLOCK;
        let g = VersionGen::new(far);
        let mut raised = vec![];
        let a = g
            .next(|h| -> Result<(), ()> {
                raised.push(h);
                Ok(())
            })
            .unwrap();
        assert!(a >= far);
        assert_eq!(raised, vec![a + HWM_BLOCK]);
        let b = g
            .next(|h| -> Result<(), ()> {
                raised.push(h);
                Ok(())
            })
            .unwrap();
        assert!(b > a);
        assert_eq!(raised.len(), 1);
    }
}
