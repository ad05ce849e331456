//! Which touched keys are worth recording: a counting filter over key hashes.
//!
//! A storage context records the keys it touches only for WATCH (see `crate::watch`). While
//! any client watches, every write used to record its key (a copy of the key per write) and
//! the WATCH registry then dropped nearly all of them. Now the registry counts the watched keys
//! in this filter, which the store holds: one counter per hash bucket, the number of watched
//! keys that hash there. A context asks it at touch time and records only keys whose bucket is
//! non-zero, so a write of a key nobody watches costs one hash and one atomic load.
//!
//! Why checking at touch time is exact: a key is counted before its WATCH registers it, and
//! both WATCH and the writer hold the key's stripe lock. A WATCH that ran before the write is
//! already counted when the writer looks; one that runs after the write waits for its lock,
//! i.e. for the commit, and has nothing to be told.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Buckets of the filter; a power of two.
const BUCKETS: usize = 4096;

/// Counts of watched keys per hash bucket (see the module docs).
pub struct TouchFilter {
    buckets: Box<[AtomicUsize]>,
    hasher: foldhash::fast::RandomState,
}

impl Default for TouchFilter {
    fn default() -> Self {
        TouchFilter {
            buckets: (0..BUCKETS).map(|_| AtomicUsize::new(0)).collect(),
            hasher: Default::default(),
        }
    }
}

impl TouchFilter {
    /// The hash of `key` this filter (and whoever shards by it) uses.
    pub fn hash(&self, key: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(key);
        h.finish()
    }

    /// The counter of the bucket of hash `h` (its high bits: the low ones are free for
    /// sharding).
    pub fn counter(&self, h: u64) -> &AtomicUsize {
        &self.buckets[(h >> 32) as usize & (BUCKETS - 1)]
    }

    /// False when no watched key hashes like `key`, so a touch of it concerns nobody.
    pub fn may_be_watched(&self, key: &[u8]) -> bool {
        self.counter(self.hash(key)).load(Ordering::Acquire) != 0
    }

    /// The total count over every bucket.
    #[cfg(test)]
    pub fn total(&self) -> usize {
        self.buckets.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}
