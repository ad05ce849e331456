//! Storage-level tests: the context's overlay, expiry, generic copies, the compaction filters,
//! versions across restarts and range flushes.

use super::context::{Ctx, ElemCf};
use super::encoding::{data_key, data_prefix, Kind, Meta};
use super::version::now_millis;
use super::{Store, StoreOptions, CF_DATA};
use bytes::Bytes;
use std::sync::atomic::Ordering;

fn open(dir: &std::path::Path) -> Store {
    Store::open(dir, &StoreOptions::default()).expect("open")
}

/// Writes a hash-like collection of `n` elements at `key` in db 0; returns its version.
fn make_collection(store: &Store, key: &[u8], n: usize) -> u64 {
    let mut ctx = Ctx::new(store, now_millis(), true);
    let version = ctx.new_version().unwrap();
    let mut meta = Meta::collection(Kind::Hash, version);
    meta.count = n as u64;
    for i in 0..n {
        let sub = format!("f{i:06}");
        ctx.put_elem(
            ElemCf::Data,
            data_key(0, key, version, sub.as_bytes()),
            Bytes::from("v"),
        );
    }
    ctx.put_meta(0, key, meta);
    ctx.commit().unwrap();
    version
}

#[test]
fn reads_see_pending_writes_and_abort_discards() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let mut ctx = Ctx::new(&store, now_millis(), true);
    ctx.set_string(0, b"k", Bytes::from("v1"), 0);
    assert_eq!(ctx.get_string(0, b"k").unwrap(), Some(Bytes::from("v1")));
    assert!(ctx.delete(0, b"k").unwrap());
    assert_eq!(ctx.get_string(0, b"k").unwrap(), None);
    ctx.abort();
    let mut ctx = Ctx::new(&store, now_millis(), false);
    assert_eq!(ctx.get_string(0, b"k").unwrap(), None);
}

/// A context reuses the buffers of the one before it on its thread (its op log, overlay and
/// undo list): none of the old one's pending writes may leak into it.
#[test]
fn a_new_context_starts_clean_after_an_aborted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let mut ctx = Ctx::new(&store, now_millis(), true);
    for i in 0..100 {
        ctx.set_string(0, format!("gone{i}").as_bytes(), Bytes::from("v"), 0);
    }
    ctx.abort();
    let mut ctx = Ctx::new(&store, now_millis(), true);
    assert!(ctx.is_clean());
    assert_eq!(ctx.get_string(0, b"gone7").unwrap(), None);
    ctx.set_string(0, b"kept", Bytes::from("v"), 0);
    // The reused undo list: a rollback undoes this context's own writes, nothing else.
    let sp = ctx.savepoint();
    ctx.set_string(0, b"rolled-back", Bytes::from("v"), 0);
    ctx.set_string(0, b"kept", Bytes::from("w"), 0);
    ctx.rollback_to(sp);
    assert_eq!(ctx.get_string(0, b"kept").unwrap(), Some(Bytes::from("v")));
    ctx.commit().unwrap();
    let mut reader = Ctx::new(&store, now_millis(), false);
    assert_eq!(reader.get_string(0, b"gone7").unwrap(), None);
    assert_eq!(reader.get_string(0, b"rolled-back").unwrap(), None);
    assert_eq!(
        reader.get_string(0, b"kept").unwrap(),
        Some(Bytes::from("v"))
    );
    assert_eq!(store.count_keys(0, now_millis()).unwrap(), 1);
}

#[test]
fn expired_keys_are_absent_and_lazily_deleted_by_writers() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let now = now_millis();
    let mut ctx = Ctx::new(&store, now, true);
    ctx.set_string(0, b"old", Bytes::from("v"), now - 1);
    ctx.set_string(0, b"live", Bytes::from("v"), now + 60_000);
    ctx.commit().unwrap();
    assert_eq!(store.count_keys(0, now_millis()).unwrap(), 1);
    let mut reader = Ctx::new(&store, now_millis(), false);
    assert!(reader.meta(0, b"old").unwrap().is_none());
    assert!(reader.is_clean(), "a reader never writes");
    let mut writer = Ctx::new(&store, now_millis(), true);
    assert!(writer.meta(0, b"old").unwrap().is_none());
    let effects = writer.commit().unwrap();
    assert_eq!(effects.expired, 1);
    assert_eq!(effects.events[0].event, "expired");
    let mut n = 0;
    store
        .scan_meta(0, None, |_, _| {
            n += 1;
            true
        })
        .unwrap();
    assert_eq!(n, 1, "the expired meta entry is gone");
}

#[test]
fn wrong_type_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    make_collection(&store, b"h", 1);
    let mut ctx = Ctx::new(&store, now_millis(), false);
    assert!(matches!(
        ctx.get_string(0, b"h"),
        Err(crate::error::Error::WrongType)
    ));
}

#[test]
fn copy_key_rewrites_elements_under_a_new_version_and_sees_pending() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let v = make_collection(&store, b"src", 3);
    let mut ctx = Ctx::new(&store, now_millis(), true);
    // A pending element written in this same context must be copied too.
    ctx.put_elem(
        ElemCf::Data,
        data_key(0, b"src", v, b"f999999"),
        Bytes::from("p"),
    );
    assert!(ctx.copy_key(0, b"src", 5, b"dst", 0).unwrap());
    let dst = ctx.meta(5, b"dst").unwrap().unwrap();
    assert_ne!(dst.version, v);
    let mut subs = vec![];
    ctx.scan_elems(
        ElemCf::Data,
        &data_prefix(5, b"dst", dst.version),
        None,
        |k, _| {
            subs.push(k.to_vec());
            true
        },
    )
    .unwrap();
    assert_eq!(subs.len(), 4);
    ctx.commit().unwrap();
    assert!(!Ctx::new(&store, now_millis(), true)
        .copy_key(0, b"nope", 0, b"x", 0)
        .unwrap());
}

#[test]
fn compaction_drops_elements_of_deleted_overwritten_and_expired_collections() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    make_collection(&store, b"deleted", 1000);
    make_collection(&store, b"overwritten", 1000);
    make_collection(&store, b"kept", 10);
    make_collection(&store, b"expiring", 100);
    let mut ctx = Ctx::new(&store, now_millis(), true);
    assert!(ctx.delete(0, b"deleted").unwrap());
    ctx.set_string(0, b"overwritten", Bytes::from("now a string"), 0);
    let mut m = ctx.meta(0, b"expiring").unwrap().unwrap();
    m.expire_ms = now_millis() - 1;
    ctx.put_meta(0, b"expiring", m);
    ctx.commit().unwrap();
    store.db().flush_cf(store.cf(CF_DATA)).unwrap();
    assert_eq!(store.count_entries(CF_DATA), 2110);
    store.compact_all();
    assert_eq!(
        store.count_entries(CF_DATA),
        10,
        "only the live collection's elements remain"
    );
    assert_eq!(
        store.count_entries(super::CF_META),
        2,
        "the expired meta entry is dropped too"
    );
}

#[test]
fn versions_stay_unique_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let first = {
        let store = open(tmp.path());
        let v = store.next_version().unwrap();
        store.close();
        v
    };
    let store = open(tmp.path());
    let second = store.next_version().unwrap();
    assert!(second > first);
    // The persisted high-water mark lies ahead of every version handed out.
    let hwm = store.db().get(b"talus:version-hwm").unwrap().unwrap();
    assert!(u64::from_be_bytes(hwm[..8].try_into().unwrap()) > second);
}

#[test]
fn flush_db_only_touches_its_database() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let mut ctx = Ctx::new(&store, now_millis(), true);
    for db in [0u16, 1, 15] {
        ctx.set_string(db, b"k", Bytes::from("v"), 0);
    }
    ctx.commit().unwrap();
    let mut ctx = Ctx::new(&store, now_millis(), true);
    ctx.flush_db(1).unwrap();
    ctx.commit().unwrap();
    let now = now_millis();
    assert_eq!(store.count_keys(0, now).unwrap(), 1);
    assert_eq!(store.count_keys(1, now).unwrap(), 0);
    assert_eq!(store.count_keys(15, now).unwrap(), 1);
}

#[test]
fn format_version_is_checked_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = open(tmp.path());
        store
            .db()
            .put(b"talus:format", 99u32.to_be_bytes())
            .unwrap();
        store.close();
    }
    let err = Store::open(tmp.path(), &StoreOptions::default())
        .err()
        .expect("must refuse");
    assert!(err.to_string().contains("format"), "{err}");
}

#[test]
fn rollback_to_savepoint_undoes_one_command_only() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    // As if a client WATCHed a, b and c (touches of keys nobody watches are not recorded).
    for k in [&b"a"[..], b"b", b"c"] {
        let f = &store.touch_filter;
        f.counter(f.hash(k)).fetch_add(1, Ordering::AcqRel);
    }
    let mut ctx = Ctx::new(&store, now_millis(), true);
    ctx.set_string(0, b"a", Bytes::from("1"), 0);
    let sp = ctx.savepoint();
    ctx.set_string(0, b"a", Bytes::from("2"), 0);
    ctx.set_string(0, b"b", Bytes::from("x"), 0);
    ctx.put_elem(ElemCf::Data, data_key(0, b"h", 1, b"f"), Bytes::from("v"));
    ctx.notify(0, '$', "set", b"b");
    ctx.rollback_to(sp);
    assert_eq!(ctx.get_string(0, b"a").unwrap(), Some(Bytes::from("1")));
    assert_eq!(ctx.get_string(0, b"b").unwrap(), None);
    assert_eq!(
        ctx.get_elem(ElemCf::Data, &data_key(0, b"h", 1, b"f"))
            .unwrap(),
        None
    );
    ctx.set_string(0, b"c", Bytes::from("3"), 0);
    let effects = ctx.commit().unwrap();
    // Only the `new` events of a (before the savepoint) and c are left.
    let events: Vec<(char, &str, &[u8])> = effects
        .events
        .iter()
        .map(|e| (e.class, e.event, &e.key[..]))
        .collect();
    assert_eq!(
        events,
        vec![('n', "new", &b"a"[..]), ('n', "new", &b"c"[..])]
    );
    assert_eq!(effects.touched.len(), 2, "a (first write) and c");
    let mut r = Ctx::new(&store, now_millis(), false);
    assert_eq!(r.get_string(0, b"a").unwrap(), Some(Bytes::from("1")));
    assert_eq!(r.get_string(0, b"b").unwrap(), None);
    assert_eq!(r.get_string(0, b"c").unwrap(), Some(Bytes::from("3")));
}

#[test]
fn touches_of_keys_nobody_watches_are_not_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let f = &store.touch_filter;
    f.counter(f.hash(b"watched")).fetch_add(1, Ordering::AcqRel);
    let mut ctx = Ctx::new(&store, now_millis(), true);
    // Distinct keys, so that some (almost surely all) fall in buckets nobody counted.
    let unwatched: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
    let expected = 1 + unwatched
        .iter()
        .filter(|k| f.may_be_watched(k.as_bytes()))
        .count();
    assert!(
        expected < 50,
        "{expected} of 101 keys share a counted bucket"
    );
    for k in &unwatched {
        ctx.set_string(0, k.as_bytes(), Bytes::from("v"), 0);
    }
    ctx.set_string(0, b"watched", Bytes::from("v"), 0);
    let effects = ctx.commit().unwrap();
    assert_eq!(effects.touched.len(), expected);
    assert!(effects
        .touched
        .iter()
        .any(|(db, k)| *db == 0 && &k[..] == b"watched"));
}

#[test]
fn meta_cache_follows_commits_aborts_flushes_and_expiry() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let read = |k: &[u8]| {
        Ctx::new(&store, now_millis(), false)
            .get_string(0, k)
            .unwrap()
    };
    let mut w = Ctx::new(&store, now_millis(), true);
    w.set_string(0, b"a", Bytes::from("1"), 0);
    w.commit().unwrap();
    assert!(
        store
            .cache
            .get(&super::encoding::meta_key(0, b"a"))
            .is_some(),
        "write-through"
    );
    assert_eq!(read(b"a"), Some(Bytes::from("1")));
    let mut w = Ctx::new(&store, now_millis(), true);
    w.set_string(0, b"a", Bytes::from("2"), 0);
    w.abort();
    assert_eq!(
        read(b"a"),
        Some(Bytes::from("1")),
        "an aborted write never reaches the cache"
    );
    let mut w = Ctx::new(&store, now_millis(), true);
    w.set_string(0, b"a", Bytes::from("3"), now_millis() + 1);
    w.commit().unwrap();
    assert!(
        wait(|| read(b"a").is_none()),
        "a cached entry still expires"
    );
    let mut w = Ctx::new(&store, now_millis(), true);
    w.set_string(0, b"b", Bytes::from("x"), 0);
    w.commit().unwrap();
    let mut w = Ctx::new(&store, now_millis(), true);
    w.flush_db(0).unwrap();
    w.commit().unwrap();
    assert_eq!(read(b"b"), None, "FLUSHDB clears the cache");
    // A writer that misses fills the cache from RocksDB; a reader never does.
    store.cache.set_capacity(1 << 20);
    let mut w = Ctx::new(&store, now_millis(), true);
    w.set_string(0, b"c", Bytes::from("y"), 0);
    w.commit().unwrap();
    store.cache.remove(&super::encoding::meta_key(0, b"c"));
    assert_eq!(read(b"c"), Some(Bytes::from("y")));
    assert!(store
        .cache
        .get(&super::encoding::meta_key(0, b"c"))
        .is_none());
    let mut w = Ctx::new(&store, now_millis(), true);
    assert!(w.meta(0, b"c").unwrap().is_some());
    assert!(store
        .cache
        .get(&super::encoding::meta_key(0, b"c"))
        .is_some());
    assert!(w.delete(0, b"c").unwrap());
    w.commit().unwrap();
    assert_eq!(read(b"c"), None, "a one-key delete leaves the cache too");
    assert!(store
        .cache
        .get(&super::encoding::meta_key(0, b"c"))
        .is_none());
}

fn wait(mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::yield_now();
    }
    f()
}

#[test]
fn flush_inside_a_context_is_one_commit_and_rolls_back() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let now = now_millis();
    let v = || Bytes::from("v");
    let mut ctx = Ctx::new(&store, now, true);
    ctx.set_string(0, b"old", v(), 0);
    ctx.set_string(1, b"keep", v(), 0);
    ctx.put_elem(ElemCf::Data, data_key(0, b"h", 7, b"f"), v());
    ctx.commit().unwrap();

    let mut ctx = Ctx::new(&store, now, true);
    ctx.set_string(0, b"before", v(), 0);
    let sp = ctx.savepoint();
    ctx.flush_db(0).unwrap();
    // The context reads db 0 as empty; nothing is committed yet.
    assert!(ctx.meta(0, b"old").unwrap().is_none());
    assert!(ctx.meta(0, b"before").unwrap().is_none());
    assert!(ctx
        .get_elem(ElemCf::Data, &data_key(0, b"h", 7, b"f"))
        .unwrap()
        .is_none());
    let mut seen = 0;
    ctx.scan_elems(ElemCf::Data, &data_prefix(0, b"h", 7), None, |_, _| {
        seen += 1;
        true
    })
    .unwrap();
    assert_eq!(seen, 0);
    assert_eq!(ctx.count_keys(0).unwrap(), 0);
    ctx.set_string(0, b"after", v(), 0);
    assert_eq!(ctx.count_keys(0).unwrap(), 1);
    assert!(ctx.meta(1, b"keep").unwrap().is_some());
    assert_eq!(store.count_keys(0, now).unwrap(), 1);
    // Rolling back past the flush restores the overlay and the store's view.
    ctx.rollback_to(sp);
    assert!(ctx.meta(0, b"old").unwrap().is_some());
    assert!(ctx.meta(0, b"before").unwrap().is_some());
    assert!(ctx.meta(0, b"after").unwrap().is_none());
    assert_eq!(ctx.count_keys(0).unwrap(), 2);
    // Flush again, write after it, commit: one batch with writes on both sides of the range
    // deletes.
    ctx.flush_db(0).unwrap();
    ctx.set_string(0, b"after", v(), 0);
    let effects = ctx.commit().unwrap();
    assert_eq!(effects.flushed_dbs, vec![0]);
    let now = now_millis();
    assert_eq!(store.count_keys(0, now).unwrap(), 1);
    assert_eq!(store.count_keys(1, now).unwrap(), 1);
    let mut r = Ctx::new(&store, now, false);
    assert!(r.meta(0, b"after").unwrap().is_some());
    assert!(r.meta(0, b"old").unwrap().is_none());
    assert!(r.meta(0, b"before").unwrap().is_none());
    assert!(r
        .get_elem(ElemCf::Data, &data_key(0, b"h", 7, b"f"))
        .unwrap()
        .is_none());
}

#[test]
fn a_commit_writes_each_key_once_with_its_last_value() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let mut ctx = Ctx::new(&store, now_millis(), true);
    // Many writes to the same keys in one context (a group of commands on one key).
    for i in 0..50 {
        ctx.set_string(0, b"k", Bytes::from(format!("v{i}")), 0);
    }
    ctx.set_string(0, b"gone", Bytes::from("x"), 0);
    assert!(ctx.delete(0, b"gone").unwrap());
    ctx.set_string(0, b"back", Bytes::from("x"), 0);
    assert!(ctx.delete(0, b"back").unwrap());
    ctx.set_string(0, b"back", Bytes::from("y"), 0);
    // Keys whose meta keys share their first seven bytes (one hash tag: one slot, and the
    // same first three bytes), so the batch's order falls back to comparing whole keys;
    // written in descending order, twice each.
    for round in 0..2 {
        for i in (0..20).rev() {
            let v = Bytes::from(format!("{round}"));
            ctx.set_string(0, format!("{{t}}:{i:02}").as_bytes(), v, 0);
        }
    }
    // One write each: k, gone (its delete), back, and the 20 tagged keys.
    assert_eq!(ctx.batch_len(), 23);
    ctx.commit().unwrap();
    let mut reader = Ctx::new(&store, now_millis(), false);
    assert_eq!(
        reader.get_string(0, b"k").unwrap(),
        Some(Bytes::from("v49"))
    );
    assert_eq!(reader.get_string(0, b"gone").unwrap(), None);
    assert_eq!(
        reader.get_string(0, b"back").unwrap(),
        Some(Bytes::from("y"))
    );
    for i in 0..20 {
        let k = format!("{{t}}:{i:02}");
        assert_eq!(
            reader.get_string(0, k.as_bytes()).unwrap(),
            Some(Bytes::from("1"))
        );
    }

    // A range delete (FLUSHDB) between two writes of a key: the last write stands; a write
    // before it alone is flushed.
    let mut ctx = Ctx::new(&store, now_millis(), true);
    ctx.set_string(1, b"a", Bytes::from("before"), 0);
    ctx.set_string(1, b"b", Bytes::from("before"), 0);
    ctx.flush_db(1).unwrap();
    ctx.set_string(1, b"a", Bytes::from("after"), 0);
    // Writes are not merged across the range delete: a's two puts, b's, and the range
    // delete of each of the three column families.
    assert_eq!(ctx.batch_len(), 6);
    ctx.commit().unwrap();
    let mut reader = Ctx::new(&store, now_millis(), false);
    assert_eq!(
        reader.get_string(1, b"a").unwrap(),
        Some(Bytes::from("after"))
    );
    assert_eq!(reader.get_string(1, b"b").unwrap(), None);
    assert_eq!(store.count_keys(1, now_millis()).unwrap(), 1);

    // Writes are put in key order, but never across a range delete: keys written after a
    // FLUSHDB in descending order all survive it, those written before do not.
    let mut ctx = Ctx::new(&store, now_millis(), true);
    for k in [&b"y"[..], b"x", b"d"] {
        ctx.set_string(2, k, Bytes::from("before"), 0);
    }
    ctx.flush_db(2).unwrap();
    for k in [&b"q"[..], b"m", b"c"] {
        ctx.set_string(2, k, Bytes::from("after"), 0);
    }
    ctx.commit().unwrap();
    let mut reader = Ctx::new(&store, now_millis(), false);
    for k in [&b"q"[..], b"m", b"c"] {
        assert_eq!(reader.get_string(2, k).unwrap(), Some(Bytes::from("after")));
    }
    for k in [&b"y"[..], b"x", b"d"] {
        assert_eq!(reader.get_string(2, k).unwrap(), None);
    }
    assert_eq!(store.count_keys(2, now_millis()).unwrap(), 3);
}

#[test]
fn writes_after_a_rollback_commit_their_own_bytes() {
    // The op log keeps keys and values in one buffer that a rollback cuts back: what is
    // written after it must land with exactly its own keys and values.
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let mut ctx = Ctx::new(&store, now_millis(), true);
    let f = |n: &[u8]| data_key(0, b"h", 1, n);
    ctx.put_elem(ElemCf::Data, f(b"kept"), Bytes::from("k"));
    let sp = ctx.savepoint();
    ctx.put_elem(ElemCf::Data, f(b"gone"), Bytes::from(vec![b'x'; 4096]));
    ctx.set_string(0, b"gone", Bytes::from("g"), 0);
    ctx.rollback_to(sp);
    ctx.put_elem(ElemCf::Data, f(b"a"), Bytes::from("1"));
    ctx.put_elem(ElemCf::Data, f(b"bb"), Bytes::from("22"));
    ctx.put_elem(ElemCf::Data, f(b"a"), Bytes::from("333"));
    ctx.set_string(0, b"s", Bytes::from("v"), 0);
    ctx.commit().unwrap();
    let r = Ctx::new(&store, now_millis(), false);
    let get = |n: &[u8]| r.get_elem(ElemCf::Data, &f(n)).unwrap();
    assert_eq!(get(b"kept"), Some(Bytes::from("k")));
    assert_eq!(get(b"gone"), None);
    assert_eq!(get(b"a"), Some(Bytes::from("333")));
    assert_eq!(get(b"bb"), Some(Bytes::from("22")));
    let mut r = Ctx::new(&store, now_millis(), false);
    assert_eq!(r.get_string(0, b"s").unwrap(), Some(Bytes::from("v")));
    assert_eq!(r.get_string(0, b"gone").unwrap(), None);
    assert_eq!(store.count_entries(CF_DATA), 3);
}

#[test]
fn a_meta_key_built_for_one_lookup_is_not_reused_for_another_key_or_db() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let mut ctx = Ctx::new(&store, now_millis(), true);
    // Each write follows a lookup of a key that differs only in its database or its bytes.
    assert!(ctx.meta(0, b"k").unwrap().is_none());
    ctx.set_string(1, b"k", Bytes::from("db1"), 0);
    assert!(ctx.meta(2, b"ka").unwrap().is_none());
    ctx.set_string(2, b"kb", Bytes::from("kb"), 0);
    ctx.set_string(2, b"ka", Bytes::from("ka"), 0);
    ctx.commit().unwrap();
    let mut reader = Ctx::new(&store, now_millis(), false);
    assert_eq!(reader.get_string(0, b"k").unwrap(), None);
    assert_eq!(
        reader.get_string(1, b"k").unwrap(),
        Some(Bytes::from("db1"))
    );
    assert_eq!(
        reader.get_string(2, b"ka").unwrap(),
        Some(Bytes::from("ka"))
    );
    assert_eq!(
        reader.get_string(2, b"kb").unwrap(),
        Some(Bytes::from("kb"))
    );
    assert_eq!(store.count_keys(0, now_millis()).unwrap(), 0);
}
