//! Storage on RocksDB: the column families, their options and filters, and the operations the
//! storage context builds on. The encoding is documented in [`encoding`].
//!
//! - [`Store`] owns the DB: open (with a format-version check), writes (honouring
//!   `appendfsync`), range deletes for FLUSHDB, meta scans, compaction, close.
//! - [`context::Ctx`] is what commands use: reads that see the command's own pending writes,
//!   one write batch per command, and the keys it touched.
//! - [`locks::LockTable`] serialises read-modify-writes on the same keys across executors.
//! - [`expire`] runs the active-expiry cycle in the background.

pub mod cache;
pub mod context;
pub mod encoding;
pub mod expire;
pub mod filter;
pub mod locks;
#[cfg(test)]
mod tests;
pub mod touch;
pub mod version;

use crate::error::{Error, Result};
use encoding::{db_prefix, db_upper_bound, Meta, FORMAT_VERSION};
use filter::{DataFilterFactory, DbSlot, MetaFilterFactory};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Options,
    ReadOptions, WriteBatch, WriteOptions, DB,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use version::VersionGen;

/// The column family of meta entries (one per user key).
pub const CF_META: &str = "meta";
/// The column family of collection elements.
pub const CF_DATA: &str = "data";
/// The column family of sorted-set scores.
pub const CF_SCORE: &str = "zset_score";

const KEY_FORMAT: &[u8] = b"talus:format";
const KEY_HWM: &[u8] = b"talus:version-hwm";

/// When the WAL is fsynced (`appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Fsync {
    /// Every write is synced before it is acknowledged.
    Always = 0,
    /// A background thread syncs the WAL once a second.
    EverySec = 1,
    /// The OS decides.
    No = 2,
}

impl Fsync {
    /// Parses Redis's `appendfsync` values.
    pub fn parse(s: &str) -> Option<Fsync> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(Fsync::Always),
            "everysec" => Some(Fsync::EverySec),
            "no" => Some(Fsync::No),
            _ => None,
        }
    }

    /// The name CONFIG GET reports.
    pub fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::EverySec => "everysec",
            Fsync::No => "no",
        }
    }
}

/// Options for opening the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Number of databases (`databases`).
    pub databases: u16,
    /// Size of the block cache shared by every column family, in bytes.
    pub block_cache_bytes: usize,
    /// Bound on the total WAL size, in bytes.
    pub max_total_wal_bytes: u64,
    /// Memtable size per column family, in bytes (but `meta`).
    pub write_buffer_bytes: usize,
    /// Memtable size of the `meta` column family, in bytes.
    pub meta_write_buffer_bytes: usize,
    /// RocksDB background jobs.
    pub background_jobs: i32,
    /// Initial fsync policy.
    pub fsync: Fsync,
    /// Bound of the meta cache in bytes (`cache-max-memory`; 0 disables it).
    pub meta_cache_bytes: usize,
    /// True when one thread runs every command (`exec-threads 1`): no lock-free reader then
    /// reads the meta cache while a batch lands, and commits need not hide its keys first.
    pub single_executor: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            databases: 16,
            block_cache_bytes: 256 << 20,
            max_total_wal_bytes: 512 << 20,
            write_buffer_bytes: 64 << 20,
            meta_write_buffer_bytes: 1 << 20,
            background_jobs: 4,
            fsync: Fsync::EverySec,
            meta_cache_bytes: 256 << 20,
            single_executor: false,
        }
    }
}

/// Level-0 files of the `meta` column family that start a compaction into level 1.
const META_L0_COMPACTION_TRIGGER: i32 = 16;
/// Level-0 files of `meta` at which RocksDB slows writes down. Its defaults (20, and 36 to
/// stop) leave 16 and 32 files of room above its default trigger of 4; ours leave 24 and 44,
/// room for the flushes that land while a compaction of 16 files runs.
const META_L0_SLOWDOWN: i32 = 40;
/// Level-0 files of `meta` at which RocksDB stops writes until a compaction catches up.
const META_L0_STOP: i32 = 60;

/// The RocksDB store.
pub struct Store {
    db: Arc<DB>,
    path: PathBuf,
    databases: u16,
    fsync: AtomicU8,
    versions: VersionGen,
    write_async: WriteOptions,
    write_sync: WriteOptions,
    /// Hot meta entries (see [`cache`]).
    pub cache: cache::MetaCache,
    /// Which touched keys somebody WATCHes (see [`touch`]); shared with the WATCH registry.
    pub touch_filter: Arc<touch::TouchFilter>,
    /// See [`StoreOptions::single_executor`].
    single_executor: bool,
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path, opts: &StoreOptions) -> Result<Store> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::err(format!("cannot create data dir {}: {e}", dir.display())))?;
        let cache = Cache::new_lru_cache(opts.block_cache_bytes);
        let table = |bloom: bool| {
            let mut t = BlockBasedOptions::default();
            t.set_block_cache(&cache);
            if bloom {
                t.set_bloom_filter(10.0, false);
            }
            t
        };
        let cf_opts = |bloom: bool| {
            let mut o = Options::default();
            o.set_block_based_table_factory(&table(bloom));
            o.set_write_buffer_size(opts.write_buffer_bytes);
            // Small memtables flush often: room for a few while one flushes.
            o.set_max_write_buffer_number(4);
            o.set_compression_type(DBCompressionType::Lz4);
            o.set_bottommost_compression_type(DBCompressionType::Zstd);
            o.set_level_compaction_dynamic_level_bytes(true);
            o
        };
        let slot: DbSlot = Arc::new(OnceLock::new());
        let mut meta = cf_opts(true);
        meta.set_write_buffer_size(opts.meta_write_buffer_bytes);
        // Its memtable is small (1 MB by default: inserts into a small skip list are cheaper)
        // and so are the level-0 files it flushes; compacting every 4 of them into level 1
        // rewrote level 1 twice as often as with 2 MB memtables. Waiting for 16 keeps the
        // compactions rare (RocksDB's threads: 7.1-8.2 us per MULTI + 10 INCR + EXEC, as with
        // 2 MB memtables and 4 files, against 9.5 at 8 files and 12 at 4). A lookup the meta
        // cache misses probes more level-0 files' bloom filters in between.
        meta.set_level_zero_file_num_compaction_trigger(META_L0_COMPACTION_TRIGGER);
        meta.set_level_zero_slowdown_writes_trigger(META_L0_SLOWDOWN);
        meta.set_level_zero_stop_writes_trigger(META_L0_STOP);
        meta.set_compaction_filter_factory(MetaFilterFactory);
        let mut data = cf_opts(false);
        // A bloom filter over each memtable's whole keys: HSET, SADD and ZADD look their
        // element up before writing it, and a lookup of an element not in the memtable (most,
        // between flushes) then skips the skip-list search. 2 % of the memtable's size (about
        // 10 bits per entry of ~60 bytes). Executor CPU per request, interleaved rounds of
        // three runs each: HSET 6.54 -> 6.17 and 6.02 -> 5.83 us, SADD 3.95 -> 3.86 us, ZADD
        // 9.96 -> 9.68 us (a few percent: the lookups that hit still search).
        data.set_memtable_prefix_bloom_ratio(0.02);
        data.set_memtable_whole_key_filtering(true);
        data.set_compaction_filter_factory(DataFilterFactory {
            db: slot.clone(),
            meta_cf: CF_META,
        });
        let mut score = cf_opts(false);
        score.set_compaction_filter_factory(DataFilterFactory {
            db: slot.clone(),
            meta_cf: CF_META,
        });

        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_total_wal_size(opts.max_total_wal_bytes);
        db_opts.set_max_background_jobs(opts.background_jobs);
        db_opts.increase_parallelism(2);
        let cfs = vec![
            ColumnFamilyDescriptor::new(rocksdb::DEFAULT_COLUMN_FAMILY_NAME, cf_opts(false)),
            ColumnFamilyDescriptor::new(CF_META, meta),
            ColumnFamilyDescriptor::new(CF_DATA, data),
            ColumnFamilyDescriptor::new(CF_SCORE, score),
        ];
        let db = Arc::new(DB::open_cf_descriptors(&db_opts, dir, cfs)?);
        let _ = slot.set(Arc::downgrade(&db));

        match db.get(KEY_FORMAT)? {
            None => db.put(KEY_FORMAT, FORMAT_VERSION.to_be_bytes())?,
            Some(v) if v.as_slice() == FORMAT_VERSION.to_be_bytes() => {}
            Some(v) => {
                return Err(Error::err(format!(
                    "data dir {} has on-disk format {:?}, this build reads format {}",
                    dir.display(),
                    v,
                    FORMAT_VERSION
                )))
            }
        }
        let hwm = match db.get(KEY_HWM)? {
            Some(v) if v.len() == 8 => u64::from_be_bytes(v[..8].try_into().unwrap_or([0; 8])),
            _ => 0,
        };
        let mut write_sync = WriteOptions::default();
        write_sync.set_sync(true);
        Ok(Store {
            db,
            path: dir.to_path_buf(),
            databases: opts.databases,
            fsync: AtomicU8::new(opts.fsync as u8),
            versions: VersionGen::new(hwm),
            write_async: WriteOptions::default(),
            write_sync,
            cache: cache::MetaCache::new(opts.meta_cache_bytes),
            touch_filter: Default::default(),
            single_executor: opts.single_executor,
        })
    }

    /// See [`StoreOptions::single_executor`].
    pub fn single_executor(&self) -> bool {
        self.single_executor
    }

    /// The RocksDB handle.
    pub fn db(&self) -> &DB {
        &self.db
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of databases.
    pub fn databases(&self) -> u16 {
        self.databases
    }

    /// A column family handle by name (they are all created at open).
    pub fn cf(&self, name: &str) -> &ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("column families are created at open")
    }

    /// The current fsync policy.
    pub fn fsync(&self) -> Fsync {
        match self.fsync.load(Ordering::Relaxed) {
            0 => Fsync::Always,
            1 => Fsync::EverySec,
            _ => Fsync::No,
        }
    }

    /// Changes the fsync policy (CONFIG SET appendfsync).
    pub fn set_fsync(&self, f: Fsync) {
        self.fsync.store(f as u8, Ordering::Relaxed);
    }

    /// Commits a batch. It is in the WAL when this returns; synced too under `appendfsync always`.
    pub fn write(&self, batch: WriteBatch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let opts = if self.fsync() == Fsync::Always {
            &self.write_sync
        } else {
            &self.write_async
        };
        self.db.write_opt(batch, opts)?;
        Ok(())
    }

    /// Syncs the WAL to disk (the `everysec` tick, and shutdown).
    pub fn sync_wal(&self) -> Result<()> {
        self.db.flush_wal(true)?;
        Ok(())
    }

    /// A new collection version, unique for the key's life across restarts.
    pub fn next_version(&self) -> Result<u64> {
        self.versions.next(|hwm| -> Result<()> {
            let mut b = WriteBatch::default();
            b.put(KEY_HWM, hwm.to_be_bytes());
            self.db.write_opt(b, &self.write_sync)?;
            Ok(())
        })
    }

    /// Reads a raw meta value with the given read options.
    pub fn get_meta_raw(&self, meta_key: &[u8], ro: &ReadOptions) -> Result<Option<Meta>> {
        Ok(self
            .db
            .get_pinned_cf_opt(self.cf(CF_META), meta_key, ro)?
            .and_then(|v| Meta::decode(&v)))
    }

    /// Deletes every key of database `db` (FLUSHDB): one range delete per column family.
    /// The caller holds the database's exclusive lock.
    pub fn flush_db(&self, db: u16) -> Result<()> {
        let mut b = WriteBatch::default();
        let (lo, hi) = (db_prefix(db).to_vec(), db_upper_bound(db));
        for cf in [CF_META, CF_DATA, CF_SCORE] {
            b.delete_range_cf(self.cf(cf), &lo, &hi);
        }
        // Cleared first: readers must not mix cached keys with a half-deleted range, and nobody
        // refills meanwhile (the caller holds the db exclusively; readers never fill).
        self.cache.clear_db(db);
        self.write(b)
    }

    /// Runs a full manual compaction of every column family.
    pub fn compact_all(&self) {
        for cf in [
            rocksdb::DEFAULT_COLUMN_FAMILY_NAME,
            CF_META,
            CF_DATA,
            CF_SCORE,
        ] {
            self.db
                .compact_range_cf(self.cf(cf), None::<&[u8]>, None::<&[u8]>);
        }
    }

    /// Counts the entries of column family `cf` as stored, the orphaned elements of deleted
    /// collections included until a compaction drops them: a full scan, for tests and
    /// diagnostics.
    pub fn count_entries(&self, cf: &str) -> usize {
        let mut it = self.db.raw_iterator_cf(self.cf(cf));
        it.seek_to_first();
        let mut n = 0;
        while it.valid() {
            n += 1;
            it.next();
        }
        n
    }

    /// Counts the live (unexpired) keys of database `db`: an exact O(N) meta scan.
    pub fn count_keys(&self, db: u16, now_ms: u64) -> Result<u64> {
        let mut n = 0;
        self.scan_meta_raw(db, None, |_, raw| {
            if let Some((_, expire, _)) = encoding::peek_meta(raw) {
                if !encoding::is_expired_at(expire, now_ms) {
                    n += 1;
                }
            }
            true
        })?;
        Ok(n)
    }

    /// Visits the meta entries of database `db` in key order, starting at the encoded meta key
    /// `from` (inclusive) or at the start, until `visit` returns false. `visit` gets the encoded
    /// meta key and the raw meta value (read its header with [`encoding::peek_meta`]), so scans
    /// over large strings copy nothing. Returns the key after the last one visited, if any.
    pub fn scan_meta(
        &self,
        db: u16,
        from: Option<&[u8]>,
        mut visit: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<Option<Vec<u8>>> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(db_upper_bound(db));
        ro.fill_cache(false);
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_META), ro);
        match from {
            Some(k) => it.seek(k),
            None => it.seek(db_prefix(db)),
        }
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !visit(k, v) {
                it.next();
                return Ok(it.valid().then(|| it.key().map(<[u8]>::to_vec)).flatten());
            }
            it.next();
        }
        it.status()?;
        Ok(None)
    }

    /// [`Store::scan_meta`] for callers that track where they stopped themselves.
    pub fn scan_meta_raw(
        &self,
        db: u16,
        from: Option<&[u8]>,
        visit: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.scan_meta(db, from, visit).map(|_| ())
    }

    /// Writes a consistent copy of the store into `target`, a directory that must not exist
    /// yet (BGSAVE and SAVE). The memtables are flushed first, so the copy is table files only;
    /// RocksDB hard-links them when `target` is on the same filesystem. The copy opens as a
    /// data dir of its own.
    pub fn checkpoint(&self, target: &Path) -> Result<()> {
        let cp = rocksdb::checkpoint::Checkpoint::new(&*self.db)?;
        cp.create_checkpoint_with_log_size(target, 0)?;
        Ok(())
    }

    /// Stops background work and closes the DB (call once, at shutdown, after every executor
    /// has finished). The WAL is synced first.
    pub fn close(&self) {
        let _ = self.db.flush_wal(true);
        self.db.cancel_all_background_work(true);
    }
}
