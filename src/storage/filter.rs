//! Compaction filters: the garbage collector of the versioned encoding.
//!
//! Deleting or overwriting a collection only rewrites its meta entry (O(1)); its old elements
//! become garbage that these filters drop while RocksDB compacts:
//! - `meta`: entries whose expiry has passed;
//! - `data` and `zset_score`: entries whose meta entry is missing, expired, of a type without
//!   elements (a string overwrote the collection) or of another version.
//!
//! The data filters read the meta column family, so they need the DB, which does not exist yet
//! when the options are built: they hold a weak handle that is filled right after open and
//! keep every entry until it is (or once the DB is going away).

use super::encoding::{is_expired_at, peek_meta, split_data_key};
use super::version::now_millis;
use rocksdb::compaction_filter::{CompactionFilter, Decision};
use rocksdb::compaction_filter_factory::{CompactionFilterContext, CompactionFilterFactory};
use rocksdb::DB;
use std::ffi::CStr;
use std::sync::{Arc, OnceLock, Weak};

/// The DB handle the data filters read meta through, filled after open.
pub type DbSlot = Arc<OnceLock<Weak<DB>>>;

/// Factory of the meta column family's filter.
pub struct MetaFilterFactory;

/// Drops expired meta entries.
pub struct MetaFilter {
    now_ms: u64,
}

impl CompactionFilter for MetaFilter {
    fn filter(&mut self, _level: u32, _key: &[u8], value: &[u8]) -> Decision {
        match peek_meta(value) {
            Some((_, expire, _)) if is_expired_at(expire, self.now_ms) => Decision::Remove,
            _ => Decision::Keep,
        }
    }

    fn name(&self) -> &CStr {
        c"talus.meta"
    }
}

impl CompactionFilterFactory for MetaFilterFactory {
    type Filter = MetaFilter;

    fn create(&mut self, _context: CompactionFilterContext) -> MetaFilter {
        MetaFilter {
            now_ms: now_millis(),
        }
    }

    fn name(&self) -> &CStr {
        c"talus.meta.factory"
    }
}

/// Factory of the `data` and `zset_score` filters.
pub struct DataFilterFactory {
    /// The DB, once open.
    pub db: DbSlot,
    /// The name of the meta column family.
    pub meta_cf: &'static str,
}

/// What a data entry's owner looks like: (has elements, expire_ms, version), or `None` when
/// its meta entry is missing.
type Owner = Option<(bool, u64, u64)>;

/// Drops data entries whose collection no longer owns them.
pub struct DataFilter {
    db: Option<Arc<DB>>,
    meta_cf: &'static str,
    now_ms: u64,
    /// The last meta key looked up and its (type, expire, version): consecutive entries
    /// usually belong to one collection.
    cached: Option<(Vec<u8>, Owner)>,
}

impl DataFilter {
    fn owner(&mut self, meta_key: Vec<u8>) -> Result<Owner, ()> {
        if let Some((k, v)) = &self.cached {
            if *k == meta_key {
                return Ok(*v);
            }
        }
        let db = self.db.as_ref().ok_or(())?;
        let cf = db.cf_handle(self.meta_cf).ok_or(())?;
        let found = db.get_pinned_cf(&cf, &meta_key).map_err(|_| ())?;
        let owner = found
            .as_deref()
            .and_then(peek_meta)
            .map(|(kind, expire, version)| (kind.is_collection(), expire, version));
        self.cached = Some((meta_key, owner));
        Ok(owner)
    }
}

impl CompactionFilter for DataFilter {
    fn filter(&mut self, _level: u32, key: &[u8], _value: &[u8]) -> Decision {
        let Some((meta_key, version, _)) = split_data_key(key) else {
            return Decision::Keep;
        };
        match self.owner(meta_key) {
            // Cannot tell (DB not ready, read error): keep, a later compaction decides.
            Err(()) => Decision::Keep,
            Ok(None) => Decision::Remove,
            Ok(Some((is_collection, expire, meta_version))) => {
                if !is_collection || meta_version != version || is_expired_at(expire, self.now_ms) {
                    Decision::Remove
                } else {
                    Decision::Keep
                }
            }
        }
    }

    fn name(&self) -> &CStr {
        c"talus.data"
    }
}

impl CompactionFilterFactory for DataFilterFactory {
    type Filter = DataFilter;

    fn create(&mut self, _context: CompactionFilterContext) -> DataFilter {
        DataFilter {
            db: self.db.get().and_then(Weak::upgrade),
            meta_cf: self.meta_cf,
            now_ms: now_millis(),
            cached: None,
        }
    }

    fn name(&self) -> &CStr {
        c"talus.data.factory"
    }
}
