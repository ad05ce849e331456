//! Integration tests of the hash commands through the real server: every command and option,
//! arity and type errors, missing keys, HRANDFIELD's guarantees, HSCAN's guarantees, exact
//! counts under concurrent writers, the generic key commands on hashes, restart, and a
//! differential run against `redis-server`.

mod common;
#[path = "differential/support.rs"]
mod support;

use common::query::{int, q, sorted, strs, WRONGTYPE};
use common::{cmd_err, TestServer};
use redis::{Connection, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Fills hash `key` with `n` fields `f<i>` = `v<i>` in batches.
fn fill(con: &mut Connection, key: &str, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut c = redis::cmd("HSET");
        c.arg(key);
        for i in chunk {
            c.arg(format!("f{i}")).arg(format!("v{i}"));
        }
        let _: i64 = c.query(con).expect("HSET");
    }
}

#[test]
fn hset_hget_and_reads() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    assert_eq!(int(&mut c, &["HSET", "h", "a", "1", "b", "2", "a", "3"]), 2);
    assert_eq!(int(&mut c, &["HSET", "h", "a", "4", "c", "5"]), 1);
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "a"]), "4");
    assert_eq!(q::<Option<String>>(&mut c, &["HGET", "h", "zz"]), None);
    assert_eq!(q::<Option<String>>(&mut c, &["HGET", "nokey", "a"]), None);
    assert_eq!(int(&mut c, &["HLEN", "h"]), 3);
    assert_eq!(int(&mut c, &["HLEN", "nokey"]), 0);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["HMGET", "h", "a", "zz", "c"]),
        vec![Some("4".into()), None, Some("5".into())]
    );
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["HMGET", "nokey", "a", "b"]),
        vec![None, None]
    );
    assert_eq!(
        q::<String>(&mut c, &["HMSET", "h", "d", "long value"]),
        "OK"
    );
    assert_eq!(int(&mut c, &["HSTRLEN", "h", "d"]), 10);
    assert_eq!(int(&mut c, &["HSTRLEN", "h", "zz"]), 0);
    assert_eq!(int(&mut c, &["HSTRLEN", "nokey", "d"]), 0);
    assert_eq!(int(&mut c, &["HEXISTS", "h", "d"]), 1);
    assert_eq!(int(&mut c, &["HEXISTS", "h", "zz"]), 0);
    assert_eq!(int(&mut c, &["HEXISTS", "nokey", "d"]), 0);
    assert_eq!(int(&mut c, &["HSETNX", "h", "a", "x"]), 0);
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "a"]), "4");
    assert_eq!(int(&mut c, &["HSETNX", "h", "e", "x"]), 1);
    assert_eq!(int(&mut c, &["HSETNX", "new", "e", "x"]), 1);
    assert_eq!(int(&mut c, &["HLEN", "new"]), 1);
    assert_eq!(
        sorted(strs(&mut c, &["HKEYS", "h"])),
        vec!["a", "b", "c", "d", "e"]
    );
    assert_eq!(
        sorted(strs(&mut c, &["HVALS", "h"])),
        vec!["2", "4", "5", "long value", "x"]
    );
    let all: BTreeMap<String, String> = q(&mut c, &["HGETALL", "h"]);
    assert_eq!(all.len(), 5);
    assert_eq!(all["d"], "long value");
    assert!(strs(&mut c, &["HKEYS", "nokey"]).is_empty());
    assert!(strs(&mut c, &["HVALS", "nokey"]).is_empty());
    assert!(strs(&mut c, &["HGETALL", "nokey"]).is_empty());
    // Binary-safe fields and values, empty ones included.
    let _: i64 = redis::cmd("HSET")
        .arg("bin")
        .arg(b"f\x00\r\n".as_slice())
        .arg(b"v\xff\x00".as_slice())
        .arg("")
        .arg("")
        .query(&mut c)
        .unwrap();
    let v: Vec<u8> = redis::cmd("HGET")
        .arg("bin")
        .arg(b"f\x00\r\n".as_slice())
        .query(&mut c)
        .unwrap();
    assert_eq!(v, b"v\xff\x00");
    assert_eq!(q::<String>(&mut c, &["HGET", "bin", ""]), "");
    assert_eq!(int(&mut c, &["HLEN", "bin"]), 2);
}

#[test]
fn arity_and_wrong_type() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    for (args, name) in [
        (&["HSET", "h"][..], "hset"),
        (&["HSET", "h", "f"][..], "hset"),
        (&["HSET", "h", "f", "v", "g"][..], "hset"),
        (&["HMSET", "h", "f", "v", "g"][..], "hmset"),
        (&["HSETNX", "h", "f"][..], "hsetnx"),
        (&["HGET", "h"][..], "hget"),
        (&["HMGET", "h"][..], "hmget"),
        (&["HDEL", "h"][..], "hdel"),
        (&["HLEN"][..], "hlen"),
        (&["HSTRLEN", "h"][..], "hstrlen"),
        (&["HEXISTS", "h"][..], "hexists"),
        (&["HKEYS"][..], "hkeys"),
        (&["HVALS", "a", "b"][..], "hvals"),
        (&["HGETALL"][..], "hgetall"),
        (&["HINCRBY", "h", "f"][..], "hincrby"),
        (&["HINCRBYFLOAT", "h", "f"][..], "hincrbyfloat"),
        (&["HRANDFIELD"][..], "hrandfield"),
        (&["HSCAN", "h"][..], "hscan"),
    ] {
        assert_eq!(
            cmd_err(&mut c, args),
            format!("ERR wrong number of arguments for '{name}' command"),
            "{args:?}"
        );
    }
    let _: () = q(&mut c, &["SET", "s", "v"]);
    for args in [
        &["HSET", "s", "f", "v"][..],
        &["HMSET", "s", "f", "v"],
        &["HSETNX", "s", "f", "v"],
        &["HGET", "s", "f"],
        &["HMGET", "s", "f"],
        &["HDEL", "s", "f"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "f"],
        &["HEXISTS", "s", "f"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "f", "1"],
        &["HINCRBYFLOAT", "s", "f", "1"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "2"],
        &["HSCAN", "s", "0"],
    ] {
        assert_eq!(cmd_err(&mut c, args), WRONGTYPE, "{args:?}");
    }
    // A hash answers WRONGTYPE to other types' commands.
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v"]);
    assert_eq!(cmd_err(&mut c, &["GET", "h"]), WRONGTYPE);
    assert_eq!(cmd_err(&mut c, &["SADD", "h", "m"]), WRONGTYPE);
    assert_eq!(cmd_err(&mut c, &["INCR", "h"]), WRONGTYPE);
    assert_eq!(cmd_err(&mut c, &["APPEND", "h", "x"]), WRONGTYPE);
    // Redis checks the increment before the type.
    assert_eq!(
        cmd_err(&mut c, &["HINCRBY", "s", "f", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["HINCRBYFLOAT", "s", "f", "inf"]),
        "ERR value is NaN or Infinity"
    );
}

#[test]
fn hdel_empties_the_key() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(int(&mut c, &["HDEL", "h", "a", "zz", "a"]), 1);
    assert_eq!(int(&mut c, &["HLEN", "h"]), 2);
    assert_eq!(int(&mut c, &["HDEL", "nokey", "a"]), 0);
    assert_eq!(int(&mut c, &["HDEL", "h", "b", "c", "d"]), 2);
    assert_eq!(int(&mut c, &["EXISTS", "h"]), 0);
    assert_eq!(q::<String>(&mut c, &["TYPE", "h"]), "none");
    assert_eq!(int(&mut c, &["DBSIZE"]), 0);
    // A new hash under the same name starts empty (old fields are not revived).
    assert_eq!(int(&mut c, &["HSET", "h", "z", "1"]), 1);
    assert_eq!(strs(&mut c, &["HKEYS", "h"]), vec!["z"]);
}

#[test]
fn hincrby_and_hincrbyfloat() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    assert_eq!(int(&mut c, &["HINCRBY", "h", "n", "5"]), 5);
    assert_eq!(int(&mut c, &["HINCRBY", "h", "n", "-7"]), -2);
    assert_eq!(int(&mut c, &["HLEN", "h"]), 1);
    let _: i64 = q(
        &mut c,
        &["HSET", "h", "s", "abc", "m", "9223372036854775807"],
    );
    assert_eq!(
        cmd_err(&mut c, &["HINCRBY", "h", "s", "1"]),
        "ERR hash value is not an integer"
    );
    assert_eq!(
        cmd_err(&mut c, &["HINCRBY", "h", "m", "1"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        cmd_err(&mut c, &["HINCRBY", "h", "n", "1.5"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "f", "10.5"]),
        "10.5"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "f", "0.1"]),
        "10.6"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "n", "1e3"]),
        "998"
    );
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "f"]), "10.6");
    assert_eq!(
        cmd_err(&mut c, &["HINCRBYFLOAT", "h", "s", "1"]),
        "ERR hash value is not a float"
    );
    assert_eq!(
        cmd_err(&mut c, &["HINCRBYFLOAT", "h", "f", "x"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        cmd_err(&mut c, &["HINCRBYFLOAT", "h", "f", "-inf"]),
        "ERR value is NaN or Infinity"
    );
    // Failed increments left everything as it was.
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "s"]), "abc");
    assert_eq!(int(&mut c, &["HLEN", "h"]), 4);
}

#[test]
fn hrandfield_cases() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<Option<String>>(&mut c, &["HRANDFIELD", "nokey"]), None);
    assert!(strs(&mut c, &["HRANDFIELD", "nokey", "5"]).is_empty());
    assert!(strs(&mut c, &["HRANDFIELD", "nokey", "-5", "WITHVALUES"]).is_empty());
    let _: i64 = q(&mut c, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    let fields: HashSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let one: String = q(&mut c, &["HRANDFIELD", "h"]);
    assert!(fields.contains(&one));
    assert!(strs(&mut c, &["HRANDFIELD", "h", "0"]).is_empty());
    assert!(strs(&mut c, &["HRANDFIELD", "h", "0", "WITHVALUES"]).is_empty());
    // count >= size: the whole hash, each field once.
    let all = sorted(strs(&mut c, &["HRANDFIELD", "h", "10"]));
    assert_eq!(all, vec!["a", "b", "c"]);
    // Positive count: distinct.
    for _ in 0..20 {
        let two = strs(&mut c, &["HRANDFIELD", "h", "2"]);
        assert_eq!(two.len(), 2);
        assert_ne!(two[0], two[1]);
        assert!(two.iter().all(|f| fields.contains(f)));
    }
    // Negative count: exactly |count| picks, repetitions allowed.
    let many = strs(&mut c, &["HRANDFIELD", "h", "-100"]);
    assert_eq!(many.len(), 100);
    assert!(many.iter().all(|f| fields.contains(f)));
    assert_eq!(
        many.iter().collect::<HashSet<_>>().len(),
        3,
        "all fields show up"
    );
    // WITHVALUES: field/value pairs that belong together.
    let pairs = strs(&mut c, &["HRANDFIELD", "h", "-6", "withvalues"]);
    assert_eq!(pairs.len(), 12);
    for p in pairs.chunks(2) {
        let want = match p[0].as_str() {
            "a" => "1",
            "b" => "2",
            _ => "3",
        };
        assert_eq!(p[1], want);
    }
    let pairs = strs(&mut c, &["HRANDFIELD", "h", "2", "WITHVALUES"]);
    assert_eq!(pairs.len(), 4);
    assert_ne!(pairs[0], pairs[2]);
    // Errors, in Redis's order.
    assert_eq!(
        cmd_err(&mut c, &["HRANDFIELD", "h", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["HRANDFIELD", "nokey", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["HRANDFIELD", "h", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(
        cmd_err(
            &mut c,
            &["HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"]
        ),
        "ERR value is out of range"
    );
    assert_eq!(
        cmd_err(
            &mut c,
            &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"]
        ),
        "ERR value is out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["HRANDFIELD", "h", "1", "WITHVALUE"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["HRANDFIELD", "h", "1", "WITHVALUES", "x"]),
        "ERR syntax error"
    );
}

#[test]
fn hrandfield_large_hash_and_distribution() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    // Above the exact-sampling limit: random seeks.
    fill(&mut c, "big", 5000);
    for _ in 0..20 {
        let picks = strs(&mut c, &["HRANDFIELD", "big", "50"]);
        assert_eq!(picks.len(), 50);
        assert_eq!(picks.iter().collect::<HashSet<_>>().len(), 50, "distinct");
        assert!(picks.iter().all(|f| f.starts_with('f')));
    }
    let mut seen = HashSet::new();
    for _ in 0..200 {
        seen.extend(strs(&mut c, &["HRANDFIELD", "big", "-100"]));
    }
    assert!(
        seen.len() > 3500,
        "random picks should reach most of the hash, reached {}",
        seen.len()
    );
    // A small hash: every field comes up about equally often (chi-square, 9 degrees of freedom).
    fill(&mut c, "small", 10);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..100 {
        for f in strs(&mut c, &["HRANDFIELD", "small", "-100"]) {
            *counts.entry(f).or_default() += 1;
        }
    }
    assert_eq!(counts.len(), 10);
    let expected = 1000.0;
    let chi: f64 = counts
        .values()
        .map(|&o| (o as f64 - expected).powi(2) / expected)
        .sum();
    assert!(chi < 40.0, "chi-square {chi} too large: {counts:?}");
}

/// Runs HSCAN (or SSCAN) to the end; returns the elements (pairs for HSCAN) and the call count.
fn scan_all(con: &mut Connection, cmd: &str, key: &str, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec![cmd, key, &cursor];
        args.extend_from_slice(extra);
        let (next, items): (String, Vec<String>) = q(con, &args);
        calls += 1;
        out.extend(items);
        if next == "0" {
            return (out, calls);
        }
        cursor = next;
        assert!(calls < 100_000, "scan does not finish");
    }
}

#[test]
fn hscan_guarantees_and_options() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let empty: (String, Vec<String>) = q(&mut c, &["HSCAN", "nokey", "0"]);
    assert_eq!(empty, ("0".to_string(), vec![]));
    fill(&mut c, "h", 1000);
    let (items, calls) = scan_all(&mut c, "HSCAN", "h", &[]);
    assert!(calls >= 100, "COUNT 10 by default: {calls} calls");
    let map: BTreeMap<String, String> = items
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    assert_eq!(map.len(), 1000);
    assert_eq!(map["f7"], "v7");
    let (items, calls) = scan_all(&mut c, "HSCAN", "h", &["COUNT", "300"]);
    assert!(calls <= 5, "{calls}");
    assert_eq!(items.len(), 2000);
    let (items, _) = scan_all(&mut c, "HSCAN", "h", &["MATCH", "f1?", "COUNT", "100"]);
    let keys: BTreeSet<String> = items.chunks(2).map(|p| p[0].clone()).collect();
    assert_eq!(keys.len(), 10);
    assert!(keys.contains("f15"));
    // Elements present for the whole scan are returned even while others come and go.
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut round = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut c, &["HSCAN", "h", &cursor, "COUNT", "37"]);
        seen.extend(items.chunks(2).map(|p| p[0].clone()));
        round += 1;
        let _: i64 = q(&mut c, &["HSET", "h", &format!("new{round}"), "x"]);
        let _: i64 = q(&mut c, &["HDEL", "h", &format!("f{}", 999 - round)]);
        if next == "0" {
            break;
        }
        cursor = next;
    }
    for i in 0..(999 - round) {
        assert!(seen.contains(&format!("f{i}")), "f{i} missed");
    }
    // An unknown cursor restarts (no error); a malformed one is an error.
    let (_, items): (String, Vec<String>) = q(&mut c, &["HSCAN", "h", "987654321", "COUNT", "5"]);
    assert_eq!(items.len(), 10);
    assert_eq!(cmd_err(&mut c, &["HSCAN", "h", "x"]), "ERR invalid cursor");
    assert_eq!(
        cmd_err(&mut c, &["HSCAN", "nokey", "x"]),
        "ERR invalid cursor"
    );
    assert_eq!(
        cmd_err(&mut c, &["HSCAN", "h", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["HSCAN", "h", "0", "COUNT", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["HSCAN", "h", "0", "MATCH"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["HSCAN", "h", "0", "TYPE", "string"]),
        "ERR syntax error"
    );
    // A missing key answers the empty scan before looking at the options.
    let empty: (String, Vec<String>) = q(&mut c, &["HSCAN", "nokey", "0", "COUNT", "0"]);
    assert_eq!(empty.0, "0");
}

#[test]
fn concurrent_hincrby_is_exact() {
    let s = TestServer::start(&[]);
    let threads: Vec<_> = (0..20)
        .map(|t| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let _: i64 = q(&mut c, &["HINCRBY", "ctr", "n", "1"]);
                    let _: i64 = q(
                        &mut c,
                        &["HINCRBY", "ctr", &format!("t{t}-{}", i % 10), "1"],
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["HGET", "ctr", "n"]), "4000");
    assert_eq!(int(&mut c, &["HLEN", "ctr"]), 1 + 20 * 10);
    assert_eq!(q::<String>(&mut c, &["HGET", "ctr", "t7-3"]), "20");
}

#[test]
fn generic_key_commands_on_hashes() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["HSET", "h", "a", "1", "b", "2"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "h"]), "hash");
    assert_eq!(int(&mut c, &["EXISTS", "h"]), 1);
    assert_eq!(int(&mut c, &["DBSIZE"]), 1);
    assert_eq!(strs(&mut c, &["KEYS", "*"]), vec!["h"]);
    assert_eq!(q::<String>(&mut c, &["RANDOMKEY"]), "h");
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "TYPE", "hash"]);
    assert_eq!(keys, vec!["h"]);
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "TYPE", "string"]);
    assert!(keys.is_empty());
    // EXPIRE family.
    assert_eq!(int(&mut c, &["EXPIRE", "h", "100"]), 1);
    assert!(int(&mut c, &["TTL", "h"]) > 90);
    assert_eq!(int(&mut c, &["HSET", "h", "c", "3"]), 1);
    assert!(int(&mut c, &["TTL", "h"]) > 90, "writes keep the TTL");
    assert_eq!(int(&mut c, &["PERSIST", "h"]), 1);
    assert_eq!(int(&mut c, &["TTL", "h"]), -1);
    // RENAME, COPY, MOVE carry the fields.
    let _: () = q(&mut c, &["RENAME", "h", "h2"]);
    assert_eq!(int(&mut c, &["EXISTS", "h"]), 0);
    assert_eq!(int(&mut c, &["HLEN", "h2"]), 3);
    assert_eq!(q::<String>(&mut c, &["HGET", "h2", "b"]), "2");
    assert_eq!(int(&mut c, &["COPY", "h2", "h3"]), 1);
    assert_eq!(int(&mut c, &["HSET", "h3", "d", "4"]), 1);
    assert_eq!(int(&mut c, &["HLEN", "h2"]), 3, "a copy is independent");
    assert_eq!(int(&mut c, &["HLEN", "h3"]), 4);
    assert_eq!(int(&mut c, &["RENAMENX", "h3", "h2"]), 0);
    assert_eq!(int(&mut c, &["MOVE", "h3", "1"]), 1);
    let _: () = q(&mut c, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut c, &["HGET", "h3", "d"]), "4");
    let _: () = q(&mut c, &["SELECT", "0"]);
    // SET overwrites a hash; the old fields never come back.
    let _: () = q(&mut c, &["SET", "h2", "str"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "h2"]), "string");
    assert_eq!(cmd_err(&mut c, &["HGET", "h2", "a"]), WRONGTYPE);
    assert_eq!(int(&mut c, &["DEL", "h2"]), 1);
    assert_eq!(int(&mut c, &["HSET", "h2", "z", "1"]), 1);
    assert_eq!(strs(&mut c, &["HKEYS", "h2"]), vec!["z"]);
    // An expired hash is gone for reads and writes; a write starts from scratch.
    let _: i64 = q(&mut c, &["HSET", "e", "a", "1", "b", "2"]);
    assert_eq!(int(&mut c, &["PEXPIRE", "e", "1"]), 1);
    assert!(common::wait_until(
        std::time::Duration::from_secs(5),
        || { int(&mut c, &["EXISTS", "e"]) == 0 }
    ));
    assert_eq!(int(&mut c, &["HLEN", "e"]), 0);
    assert_eq!(int(&mut c, &["HSET", "e", "c", "3"]), 1);
    assert_eq!(strs(&mut c, &["HKEYS", "e"]), vec!["c"]);
    assert_eq!(int(&mut c, &["TTL", "e"]), -1);
    // DEL of a big hash is O(1) and leaves nothing visible.
    fill(&mut c, "big", 20_000);
    assert_eq!(int(&mut c, &["HLEN", "big"]), 20_000);
    assert_eq!(int(&mut c, &["DEL", "big"]), 1);
    assert_eq!(int(&mut c, &["HLEN", "big"]), 0);
    assert_eq!(int(&mut c, &["HSET", "big", "x", "1"]), 1);
    assert_eq!(int(&mut c, &["HLEN", "big"]), 1);
}

#[test]
fn restart_keeps_hashes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    {
        let mut s = TestServer::start_in(&dir, &[]);
        let mut c = s.conn();
        fill(&mut c, "h", 300);
        let _: i64 = q(&mut c, &["HDEL", "h", "f0"]);
        let _: i64 = q(&mut c, &["HINCRBY", "h", "n", "7"]);
        s.kill9();
    }
    let s = TestServer::start_in(&dir, &[]);
    let mut c = s.conn();
    assert_eq!(int(&mut c, &["HLEN", "h"]), 300);
    assert_eq!(q::<Option<String>>(&mut c, &["HGET", "h", "f0"]), None);
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "f299"]), "v299");
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "n"]), "7");
    let all: BTreeMap<String, String> = q(&mut c, &["HGETALL", "h"]);
    assert_eq!(all.len(), 300);
}

#[test]
fn resp_shapes() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["HSET", "h", "a", "1"]);
    let v: Value = q(&mut c, &["HGETALL", "h"]);
    assert!(matches!(v, Value::Array(ref a) if a.len() == 2), "{v:?}");
    let v: Value = q(&mut c, &["HRANDFIELD", "h", "1", "WITHVALUES"]);
    assert!(matches!(v, Value::Array(ref a) if a.len() == 2), "{v:?}");
}

#[test]
fn object_memory_and_compact() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    fill(&mut c, "small", 10);
    fill(&mut c, "big", 5000);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "small"]),
        "listpack"
    );
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "big"]),
        "hashtable"
    );
    assert_eq!(int(&mut c, &["OBJECT", "IDLETIME", "big"]), 0);
    let small = int(&mut c, &["MEMORY", "USAGE", "small"]);
    let big = int(&mut c, &["MEMORY", "USAGE", "big"]);
    let all = int(&mut c, &["MEMORY", "USAGE", "big", "SAMPLES", "0"]);
    assert!(small > 10 * 10, "{small}");
    assert!(big > 400 * small, "{big} vs {small}");
    assert!(all > big / 2 && all < big * 2, "{all} vs {big}");
    assert_eq!(
        q::<Option<i64>>(&mut c, &["MEMORY", "USAGE", "nokey"]),
        None
    );
    // FREQ is only answered under an LFU policy, IDLETIME only under another one.
    assert!(cmd_err(&mut c, &["OBJECT", "FREQ", "big"]).starts_with("ERR An LFU maxmemory"));
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
    );
    assert_eq!(int(&mut c, &["OBJECT", "FREQ", "big"]), 0);
    assert!(cmd_err(&mut c, &["OBJECT", "IDLETIME", "big"]).starts_with("ERR An LRU maxmemory"));
    assert_eq!(q::<Option<i64>>(&mut c, &["OBJECT", "FREQ", "nokey"]), None);
    // COMPACT answers once the compaction ran, and the live data is intact.
    assert_eq!(int(&mut c, &["DEL", "big"]), 1);
    assert_eq!(q::<String>(&mut c, &["COMPACT"]), "OK");
    assert_eq!(int(&mut c, &["HLEN", "small"]), 10);
    assert_eq!(q::<String>(&mut c, &["HGET", "small", "f3"]), "v3");
    assert_eq!(int(&mut c, &["EXISTS", "big"]), 0);
    assert_eq!(
        cmd_err(&mut c, &["COMPACT", "x"]),
        "ERR wrong number of arguments for 'compact' command"
    );
}

// ---- differential against redis-server -------------------------------------------------------

#[test]
fn differential_hashes() {
    support::differential(HASH_SCRIPT);
}

const HASH_SCRIPT: &str = r#"
FLUSHALL
HSET h a 1 b 2 a 3
HSET h c 3
HSET h
HSET h f
HSET h f v g
HMSET h f v g
HMSET h d 4 e 5
HGET h a
HGET h nosuch
HGET nokey a
HMGET h a nosuch b
HMGET nokey a b
HMGET h
HLEN h
HLEN nokey
HSTRLEN h a
HSTRLEN h nosuch
HSTRLEN nokey a
HEXISTS h a
HEXISTS h nosuch
HEXISTS nokey a
HSETNX h a x
HSETNX h z x
HSETNX h2 z x
HGET h a
@sort HKEYS h
@sort HVALS h
@pairs HGETALL h
HKEYS nokey
HVALS nokey
HGETALL nokey
HDEL h a nosuch a
HDEL nokey a
HDEL h
HDEL h2 z
EXISTS h2
TYPE h2
TYPE h
HINCRBY h n 10
HINCRBY h n -3
HINCRBY h n x
HINCRBY h n 1.5
HINCRBY h n 9223372036854775807
HSET h big 9223372036854775807 neg -9223372036854775808 str abc sp " 1"
HINCRBY h big 1
HINCRBY h neg -1
HINCRBY h str 1
HINCRBY h sp 1
HINCRBYFLOAT h fl 10.5
HINCRBYFLOAT h fl 0.1
HINCRBYFLOAT h fl -5.0e3
HINCRBYFLOAT h fl 1.5e1
HINCRBYFLOAT h n 0.5
HINCRBYFLOAT h str 1
HINCRBYFLOAT h fl x
HINCRBYFLOAT h fl inf
HINCRBYFLOAT h fl -inf
HINCRBYFLOAT h fl nan
HINCRBYFLOAT h fl ""
HINCRBYFLOAT h big 1
HINCRBYFLOAT nokey2 f 3
SET s str
HSET s f v
HMSET s f v
HSETNX s f v
HGET s f
HMGET s f
HDEL s f
HLEN s
HSTRLEN s f
HEXISTS s f
HKEYS s
HVALS s
HGETALL s
HINCRBY s f 1
HINCRBY s f x
HINCRBYFLOAT s f 1
HINCRBYFLOAT s f x
HRANDFIELD s
HRANDFIELD s 1
HSCAN s 0
HRANDFIELD nokey
HRANDFIELD nokey 3
HRANDFIELD nokey -3 WITHVALUES
HRANDFIELD nokey x
HRANDFIELD h 0
HRANDFIELD h 0 WITHVALUES
HRANDFIELD h x
HRANDFIELD h 1 WITHVALUE
HRANDFIELD h 1 WITHVALUES x
HRANDFIELD h -9223372036854775808
HRANDFIELD h -9223372036854775807 WITHVALUES
HRANDFIELD h 4611686018427387904 WITHVALUES
HSET one only 1
HRANDFIELD one
HRANDFIELD one -3
HRANDFIELD one -2 WITHVALUES
@sort HRANDFIELD h 100
@pairs HRANDFIELD h 100 WITHVALUES
HSCAN nokey 0
HSCAN nokey x
HSCAN h x
HSCAN h 0 COUNT 0
HSCAN h 0 COUNT x
HSCAN h 0 MATCH
HSCAN h 0 TYPE string
HSCAN nokey 0 COUNT 0
@hscan h
@hscan h COUNT 2
@hscan h MATCH b*
@hscan h MATCH * COUNT 1
HSET bin "a\x00b" "\r\n" "" ""
HGET bin "a\x00b"
HGET bin ""
HLEN bin
hset lower f v
HGET lower f
SET oi 123
SET oe abc
SET or xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
HSET obig f yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy
SADD osi 1 2 -3
SADD oss a 1
OBJECT ENCODING oi
OBJECT ENCODING oe
OBJECT ENCODING or
OBJECT ENCODING h
OBJECT ENCODING obig
OBJECT ENCODING osi
OBJECT ENCODING oss
OBJECT ENCODING nokey
OBJECT FREQ oi
OBJECT FREQ nokey
OBJECT IDLETIME nokey
OBJECT REFCOUNT nokey
OBJECT REFCOUNT h
OBJECT ENCODING
OBJECT
OBJECT foo
MEMORY
MEMORY USAGE h samples -1
MEMORY USAGE h samples x
MEMORY USAGE h foo
MEMORY USAGE nokey
MEMORY USAGE nokey samples x
"#;
