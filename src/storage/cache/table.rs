//! The meta cache's hash table: open addressing with linear probing and backward-shift
//! deletion. Unlike a library map, where a key's slot lies follows from its hash and the
//! table's published base and mask alone, so the executor can prefetch a whole group's slots
//! before it runs the group's commands, and their cache misses overlap instead of following one
//! another (see [`super::MetaCache::prefetch`]).

/// One occupied slot: the key's full hash (compared before the key, and its home slot on
/// moves), the key and its entry.
pub(super) struct Slot<K, V> {
    pub hash: u64,
    pub key: K,
    pub value: V,
}

/// The table. Its capacity is zero or a power of two, at most 7/8 full, so a probe always
/// meets an empty slot.
pub(super) struct Table<K, V> {
    slots: Vec<Option<Slot<K, V>>>,
    len: usize,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table {
            slots: Vec::new(),
            len: 0,
        }
    }
}

impl<K, V> Table<K, V> {
    /// Entries held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Where slot `hash & mask` lies: the address of the first slot and the mask (0 when the
    /// table has no slots), for prefetch hints.
    pub fn layout(&self) -> (usize, usize) {
        (
            self.slots.as_ptr() as usize,
            self.slots.len().saturating_sub(1),
        )
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The index of the slot holding `key`, if any.
    fn find(&self, hash: u64, eq: impl Fn(&K) -> bool) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            match &self.slots[i] {
                None => return None,
                Some(s) if s.hash == hash && eq(&s.key) => return Some(i),
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    /// The value of `key` (`eq` says whether a stored key is it).
    pub fn get(&self, hash: u64, eq: impl Fn(&K) -> bool) -> Option<&V> {
        let i = self.find(hash, eq)?;
        self.slots[i].as_ref().map(|s| &s.value)
    }

    /// The value of `key`, to change in place.
    pub fn get_mut(&mut self, hash: u64, eq: impl Fn(&K) -> bool) -> Option<&mut V> {
        let i = self.find(hash, eq)?;
        self.slots[i].as_mut().map(|s| &mut s.value)
    }

    /// Inserts a key the table does not hold (the caller looked it up first).
    pub fn insert_new(&mut self, hash: u64, key: K, value: V) {
        if (self.len + 1) * 8 > self.slots.len() * 7 {
            self.grow();
        }
        let mask = self.mask();
        let mut i = hash as usize & mask;
        while self.slots[i].is_some() {
            i = (i + 1) & mask;
        }
        self.slots[i] = Some(Slot { hash, key, value });
        self.len += 1;
    }

    /// Removes `key`; its value, if it was there.
    pub fn remove(&mut self, hash: u64, eq: impl Fn(&K) -> bool) -> Option<V> {
        let i = self.find(hash, eq)?;
        let gone = self.slots[i].take().map(|s| s.value);
        self.len -= 1;
        self.close_gap(i);
        gone
    }

    /// Backward-shift deletion (Knuth's Algorithm R): moves later entries of the probe run
    /// into the emptied slot `hole` when their home lies at or before it, so every entry stays
    /// reachable from its home without tombstones.
    fn close_gap(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let Some(s) = &self.slots[j] else {
                return;
            };
            let home = s.hash as usize & mask;
            // The entry at j stays when its home lies cyclically in (hole, j].
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.slots[hole] = self.slots[j].take();
                hole = j;
            }
        }
    }

    /// Keeps the entries `keep` accepts; `dropped` sees each removed one.
    pub fn retain(
        &mut self,
        mut keep: impl FnMut(&K, &V) -> bool,
        mut dropped: impl FnMut(&K, &V),
    ) {
        let old = std::mem::take(&mut self.slots);
        self.len = 0;
        let kept: Vec<Slot<K, V>> = old
            .into_iter()
            .flatten()
            .filter(|s| {
                let k = keep(&s.key, &s.value);
                if !k {
                    dropped(&s.key, &s.value);
                }
                k
            })
            .collect();
        for s in kept {
            self.insert_new(s.hash, s.key, s.value);
        }
    }

    /// Doubles the capacity (16 slots at first) and re-seats every entry.
    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, (0..cap).map(|_| None).collect());
        self.len = 0;
        for s in old.into_iter().flatten() {
            self.insert_new(s.hash, s.key, s.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A weak hash: 37 values spread over the whole range, so probe runs collide, wrap
    /// around the table's end and need backward shifts.
    fn h(k: u32) -> u64 {
        ((k % 37) as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[test]
    fn behaves_as_a_map_under_random_inserts_updates_and_removes() {
        let mut t: Table<u32, u64> = Table::default();
        let mut model: HashMap<u32, u64> = HashMap::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for step in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = (x % 300) as u32;
            match x >> 60 {
                0..=6 => {
                    if let Some(v) = t.get_mut(h(k), |s| *s == k) {
                        *v = step;
                    } else {
                        t.insert_new(h(k), k, step);
                    }
                    model.insert(k, step);
                }
                7..=13 => assert_eq!(t.remove(h(k), |s| *s == k), model.remove(&k)),
                14 => {
                    let cut = (x % 7) as u32;
                    t.retain(|k, _| k % 7 != cut, |_, _| {});
                    model.retain(|k, _| k % 7 != cut);
                }
                _ => {}
            }
            assert_eq!(
                t.get(h(k), |s| *s == k),
                model.get(&k),
                "step {step}, key {k}"
            );
            assert_eq!(t.len(), model.len());
        }
        for (k, v) in &model {
            assert_eq!(t.get(h(*k), |s| s == k), Some(v));
        }
        for k in 300..400u32 {
            assert_eq!(t.get(h(k), |s| *s == k), None);
        }
    }

    #[test]
    fn layout_follows_growth() {
        let mut t: Table<u32, ()> = Table::default();
        assert_eq!(t.layout().1, 0);
        t.insert_new(1, 1, ());
        assert_eq!(t.layout().1, 15);
        for k in 2..=15 {
            t.insert_new(k as u64, k, ());
        }
        assert_eq!(t.layout().1, 31, "grown past 7/8 of 16");
        assert!(t.get(5, |s| *s == 5).is_some());
    }
}
