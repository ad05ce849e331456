//! Integration tests of the set commands through the real server: every command and option,
//! arity and type errors, missing keys, SPOP/SRANDMEMBER guarantees, SSCAN guarantees, exact
//! counts under concurrent writers, the generic key commands on sets, expiry of a big set,
//! restart, and a differential run against `redis-server`.

mod common;
#[path = "differential/support.rs"]
mod support;

use common::query::{int, q, WRONGTYPE};
use common::{cmd_err, wait_until, TestServer};
use redis::Connection;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

fn set(con: &mut Connection, args: &[&str]) -> BTreeSet<String> {
    let v: Vec<String> = q(con, args);
    let n = v.len();
    let s: BTreeSet<String> = v.into_iter().collect();
    assert_eq!(s.len(), n, "{args:?} answered duplicates");
    s
}

fn bset(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Fills set `key` with members `m<i>` for i in `range`.
fn fill(con: &mut Connection, key: &str, range: std::ops::Range<usize>) {
    for chunk in range.collect::<Vec<_>>().chunks(1000) {
        let mut c = redis::cmd("SADD");
        c.arg(key);
        for i in chunk {
            c.arg(format!("m{i}"));
        }
        let _: i64 = c.query(con).expect("SADD");
    }
}

#[test]
fn sadd_srem_and_reads() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    assert_eq!(int(&mut c, &["SADD", "s", "a", "b", "a", "c"]), 3);
    assert_eq!(int(&mut c, &["SADD", "s", "a", "d"]), 1);
    assert_eq!(int(&mut c, &["SADD", "s", "a"]), 0);
    assert_eq!(int(&mut c, &["SCARD", "s"]), 4);
    assert_eq!(int(&mut c, &["SCARD", "nokey"]), 0);
    assert_eq!(set(&mut c, &["SMEMBERS", "s"]), bset(&["a", "b", "c", "d"]));
    assert!(set(&mut c, &["SMEMBERS", "nokey"]).is_empty());
    assert_eq!(int(&mut c, &["SISMEMBER", "s", "a"]), 1);
    assert_eq!(int(&mut c, &["SISMEMBER", "s", "z"]), 0);
    assert_eq!(int(&mut c, &["SISMEMBER", "nokey", "a"]), 0);
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["SMISMEMBER", "s", "a", "z", "d", "a"]),
        vec![1, 0, 1, 1]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["SMISMEMBER", "nokey", "a", "b"]),
        vec![0, 0]
    );
    assert_eq!(int(&mut c, &["SREM", "s", "a", "z", "a"]), 1);
    assert_eq!(int(&mut c, &["SREM", "nokey", "a"]), 0);
    assert_eq!(int(&mut c, &["SCARD", "s"]), 3);
    assert_eq!(int(&mut c, &["SREM", "s", "b", "c", "d", "e"]), 3);
    assert_eq!(int(&mut c, &["EXISTS", "s"]), 0);
    assert_eq!(q::<String>(&mut c, &["TYPE", "s"]), "none");
    assert_eq!(int(&mut c, &["SADD", "s", "new"]), 1);
    assert_eq!(set(&mut c, &["SMEMBERS", "s"]), bset(&["new"]));
    // Binary-safe and empty members.
    let n: i64 = redis::cmd("SADD")
        .arg("bin")
        .arg(b"\x00\xff\r\n".as_slice())
        .arg("")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 2);
    let n: i64 = redis::cmd("SISMEMBER")
        .arg("bin")
        .arg(b"\x00\xff\r\n".as_slice())
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(int(&mut c, &["SISMEMBER", "bin", ""]), 1);
}

#[test]
fn arity_and_wrong_type() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    for (args, name) in [
        (&["SADD", "s"][..], "sadd"),
        (&["SREM", "s"][..], "srem"),
        (&["SMEMBERS"][..], "smembers"),
        (&["SISMEMBER", "s"][..], "sismember"),
        (&["SMISMEMBER", "s"][..], "smismember"),
        (&["SCARD"][..], "scard"),
        (&["SPOP"][..], "spop"),
        (&["SRANDMEMBER"][..], "srandmember"),
        (&["SMOVE", "a", "b"][..], "smove"),
        (&["SINTER"][..], "sinter"),
        (&["SINTERSTORE", "d"][..], "sinterstore"),
        (&["SINTERCARD", "1"][..], "sintercard"),
        (&["SUNION"][..], "sunion"),
        (&["SUNIONSTORE", "d"][..], "sunionstore"),
        (&["SDIFF"][..], "sdiff"),
        (&["SDIFFSTORE", "d"][..], "sdiffstore"),
        (&["SSCAN", "s"][..], "sscan"),
    ] {
        assert_eq!(
            cmd_err(&mut c, args),
            format!("ERR wrong number of arguments for '{name}' command"),
            "{args:?}"
        );
    }
    let _: () = q(&mut c, &["SET", "str", "v"]);
    let _: i64 = q(&mut c, &["SADD", "s", "a"]);
    for args in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SMEMBERS", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SCARD", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "0"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "2"],
        &["SMOVE", "str", "s", "a"],
        &["SMOVE", "s", "str", "a"],
        &["SINTER", "s", "str"],
        &["SINTER", "nokey", "str"],
        &["SINTERSTORE", "d", "s", "str"],
        &["SINTERCARD", "2", "s", "str"],
        &["SUNION", "nokey", "str"],
        &["SUNIONSTORE", "d", "str"],
        &["SDIFF", "s", "str"],
        &["SDIFFSTORE", "d", "nokey", "str"],
        &["SSCAN", "str", "0"],
        &["HGET", "s", "f"],
        &["GET", "s"],
    ] {
        assert_eq!(cmd_err(&mut c, args), WRONGTYPE, "{args:?}");
    }
    // A missing source makes SMOVE answer 0 before any type check.
    assert_eq!(int(&mut c, &["SMOVE", "nokey", "str", "a"]), 0);
    // *STORE overwrites a destination of any type.
    assert_eq!(int(&mut c, &["SUNIONSTORE", "str", "s"]), 1);
    assert_eq!(q::<String>(&mut c, &["TYPE", "str"]), "set");
}

#[test]
fn spop_and_srandmember() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<Option<String>>(&mut c, &["SPOP", "nokey"]), None);
    assert!(set(&mut c, &["SPOP", "nokey", "3"]).is_empty());
    assert_eq!(q::<Option<String>>(&mut c, &["SRANDMEMBER", "nokey"]), None);
    assert!(set(&mut c, &["SRANDMEMBER", "nokey", "3"]).is_empty());
    let _: i64 = q(&mut c, &["SADD", "s", "a", "b", "c", "d", "e"]);
    let all = bset(&["a", "b", "c", "d", "e"]);
    let m: String = q(&mut c, &["SRANDMEMBER", "s"]);
    assert!(all.contains(&m));
    assert!(set(&mut c, &["SRANDMEMBER", "s", "0"]).is_empty());
    assert_eq!(set(&mut c, &["SRANDMEMBER", "s", "10"]), all);
    for _ in 0..20 {
        let picks = set(&mut c, &["SRANDMEMBER", "s", "3"]); // distinct (checked by set())
        assert_eq!(picks.len(), 3);
        assert!(picks.is_subset(&all));
    }
    let many: Vec<String> = q(&mut c, &["SRANDMEMBER", "s", "-50"]);
    assert_eq!(many.len(), 50);
    assert_eq!(many.iter().cloned().collect::<BTreeSet<_>>(), all);
    assert_eq!(
        int(&mut c, &["SCARD", "s"]),
        5,
        "SRANDMEMBER removes nothing"
    );
    // SPOP.
    let popped: String = q(&mut c, &["SPOP", "s"]);
    assert!(all.contains(&popped));
    assert_eq!(int(&mut c, &["SISMEMBER", "s", &popped]), 0);
    assert!(set(&mut c, &["SPOP", "s", "0"]).is_empty());
    let two = set(&mut c, &["SPOP", "s", "2"]);
    assert_eq!(two.len(), 2);
    assert!(!two.contains(&popped));
    assert_eq!(int(&mut c, &["SCARD", "s"]), 2);
    let rest = set(&mut c, &["SPOP", "s", "10"]);
    assert_eq!(rest.len(), 2);
    let mut union: BTreeSet<String> = two.union(&rest).cloned().collect();
    union.insert(popped);
    assert_eq!(union, all);
    assert_eq!(int(&mut c, &["EXISTS", "s"]), 0);
    let _: i64 = q(&mut c, &["SADD", "one", "x"]);
    assert_eq!(q::<String>(&mut c, &["SPOP", "one"]), "x");
    assert_eq!(int(&mut c, &["EXISTS", "one"]), 0);
    // Errors.
    let _: i64 = q(&mut c, &["SADD", "s", "a"]);
    for (args, e) in [
        (&["SPOP", "s", "-1"][..], "ERR value is out of range, must be positive"),
        (&["SPOP", "s", "x"], "ERR value is out of range, must be positive"),
        (&["SPOP", "s", "1", "2"], "ERR syntax error"),
        (&["SRANDMEMBER", "s", "1", "2"], "ERR syntax error"),
        (&["SRANDMEMBER", "s", "x"], "ERR value is not an integer or out of range"),
        (
            &["SRANDMEMBER", "s", "-9223372036854775808"],
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ),
    ] {
        assert_eq!(cmd_err(&mut c, args), e, "{args:?}");
    }
}

#[test]
fn random_picks_on_large_sets() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    fill(&mut c, "big", 0..5000);
    for _ in 0..20 {
        let picks = set(&mut c, &["SRANDMEMBER", "big", "40"]);
        assert_eq!(picks.len(), 40);
    }
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let v: Vec<String> = q(&mut c, &["SRANDMEMBER", "big", "-100"]);
        seen.extend(v);
    }
    assert!(seen.len() > 3500, "reached only {} members", seen.len());
    // SPOP the whole set one by one: each member exactly once, then the key is gone.
    let mut popped = HashSet::new();
    for _ in 0..5000 {
        let m: String = q(&mut c, &["SPOP", "big"]);
        assert!(popped.insert(m.clone()), "{m} popped twice");
    }
    assert_eq!(popped.len(), 5000);
    assert_eq!(int(&mut c, &["EXISTS", "big"]), 0);
    assert_eq!(q::<Option<String>>(&mut c, &["SPOP", "big"]), None);
    // SPOP with a count on a large set.
    fill(&mut c, "big2", 0..3000);
    let mut all = BTreeSet::new();
    for _ in 0..30 {
        let p = set(&mut c, &["SPOP", "big2", "100"]);
        assert_eq!(p.len(), 100);
        assert!(all.is_disjoint(&p));
        all.extend(p);
    }
    assert_eq!(all.len(), 3000);
    assert_eq!(int(&mut c, &["EXISTS", "big2"]), 0);
    // Small set: SRANDMEMBER's picks are uniform (chi-square, 9 degrees of freedom).
    fill(&mut c, "small", 0..10);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..100 {
        let v: Vec<String> = q(&mut c, &["SRANDMEMBER", "small", "-100"]);
        for m in v {
            *counts.entry(m).or_default() += 1;
        }
    }
    assert_eq!(counts.len(), 10);
    let chi: f64 = counts
        .values()
        .map(|&o| (o as f64 - 1000.0).powi(2) / 1000.0)
        .sum();
    assert!(chi < 40.0, "chi-square {chi}: {counts:?}");
    // SPOP is uniform too: over many runs each member comes first about equally often.
    let mut first: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..1000 {
        fill(&mut c, "p", 0..5);
        let m: String = q(&mut c, &["SPOP", "p"]);
        *first.entry(m).or_default() += 1;
        let _: i64 = q(&mut c, &["DEL", "p"]);
    }
    assert_eq!(first.len(), 5);
    let chi: f64 = first
        .values()
        .map(|&o| (o as f64 - 200.0).powi(2) / 200.0)
        .sum();
    assert!(chi < 30.0, "chi-square {chi}: {first:?}");
}

#[test]
fn smove_cases() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["SADD", "src", "a", "b"]);
    let _: i64 = q(&mut c, &["SADD", "dst", "b"]);
    assert_eq!(int(&mut c, &["SMOVE", "src", "dst", "a"]), 1);
    assert_eq!(set(&mut c, &["SMEMBERS", "dst"]), bset(&["a", "b"]));
    assert_eq!(int(&mut c, &["SMOVE", "src", "dst", "zz"]), 0);
    assert_eq!(
        int(&mut c, &["SMOVE", "src", "dst", "b"]),
        1,
        "already there"
    );
    assert_eq!(
        int(&mut c, &["EXISTS", "src"]),
        0,
        "emptied source is deleted"
    );
    assert_eq!(int(&mut c, &["SCARD", "dst"]), 2);
    assert_eq!(int(&mut c, &["SMOVE", "dst", "new", "a"]), 1);
    assert_eq!(set(&mut c, &["SMEMBERS", "new"]), bset(&["a"]));
    assert_eq!(int(&mut c, &["SMOVE", "dst", "dst", "b"]), 1);
    assert_eq!(int(&mut c, &["SMOVE", "dst", "dst", "zz"]), 0);
    assert_eq!(int(&mut c, &["SMOVE", "nokey", "dst", "b"]), 0);
}

#[test]
fn set_algebra() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["SADD", "a", "1", "2", "3", "4"]);
    let _: i64 = q(&mut c, &["SADD", "b", "2", "3", "5"]);
    let _: i64 = q(&mut c, &["SADD", "c", "3", "4", "5", "6"]);
    assert_eq!(set(&mut c, &["SINTER", "a", "b"]), bset(&["2", "3"]));
    assert_eq!(set(&mut c, &["SINTER", "a", "b", "c"]), bset(&["3"]));
    assert_eq!(set(&mut c, &["SINTER", "a"]), bset(&["1", "2", "3", "4"]));
    assert!(set(&mut c, &["SINTER", "a", "nokey"]).is_empty());
    assert_eq!(
        set(&mut c, &["SUNION", "a", "b", "nokey"]),
        bset(&["1", "2", "3", "4", "5"])
    );
    assert!(set(&mut c, &["SUNION", "nokey"]).is_empty());
    assert_eq!(set(&mut c, &["SDIFF", "a", "b"]), bset(&["1", "4"]));
    assert_eq!(set(&mut c, &["SDIFF", "a", "b", "c"]), bset(&["1"]));
    assert_eq!(
        set(&mut c, &["SDIFF", "a", "nokey"]),
        bset(&["1", "2", "3", "4"])
    );
    assert!(set(&mut c, &["SDIFF", "a", "a"]).is_empty());
    assert!(set(&mut c, &["SDIFF", "nokey", "a"]).is_empty());
    // Cardinality.
    assert_eq!(int(&mut c, &["SINTERCARD", "2", "a", "b"]), 2);
    assert_eq!(int(&mut c, &["SINTERCARD", "2", "a", "b", "LIMIT", "1"]), 1);
    assert_eq!(int(&mut c, &["SINTERCARD", "2", "a", "b", "LIMIT", "0"]), 2);
    assert_eq!(
        int(&mut c, &["SINTERCARD", "3", "a", "b", "c", "limit", "5"]),
        1
    );
    assert_eq!(int(&mut c, &["SINTERCARD", "2", "a", "nokey"]), 0);
    assert_eq!(int(&mut c, &["SINTERCARD", "1", "a"]), 4);
    for (args, e) in [
        (
            &["SINTERCARD", "0", "a"][..],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["SINTERCARD", "x", "a"],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["SINTERCARD", "3", "a", "b"],
            "ERR Number of keys can't be greater than number of args",
        ),
        (
            &["SINTERCARD", "1", "a", "LIMIT", "-1"],
            "ERR LIMIT can't be negative",
        ),
        (
            &["SINTERCARD", "1", "a", "LIMIT", "x"],
            "ERR LIMIT can't be negative",
        ),
        (&["SINTERCARD", "1", "a", "LIMIT"], "ERR syntax error"),
        (&["SINTERCARD", "1", "a", "foo", "1"], "ERR syntax error"),
    ] {
        assert_eq!(cmd_err(&mut c, args), e, "{args:?}");
    }
    // STORE forms: the destination is replaced (TTL cleared), may be a source, and is deleted
    // when the result is empty.
    let _: () = q(&mut c, &["SET", "d", "x", "EX", "100"]);
    assert_eq!(int(&mut c, &["SINTERSTORE", "d", "a", "b"]), 2);
    assert_eq!(set(&mut c, &["SMEMBERS", "d"]), bset(&["2", "3"]));
    assert_eq!(int(&mut c, &["TTL", "d"]), -1);
    assert_eq!(int(&mut c, &["SUNIONSTORE", "d", "d", "c"]), 5);
    assert_eq!(
        set(&mut c, &["SMEMBERS", "d"]),
        bset(&["2", "3", "4", "5", "6"])
    );
    assert_eq!(int(&mut c, &["SDIFFSTORE", "d", "d", "a"]), 2);
    assert_eq!(set(&mut c, &["SMEMBERS", "d"]), bset(&["5", "6"]));
    assert_eq!(int(&mut c, &["SINTERSTORE", "d", "a", "nokey"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "d"]), 0);
    assert_eq!(int(&mut c, &["SDIFFSTORE", "d", "a", "a"]), 0);
    assert_eq!(int(&mut c, &["SUNIONSTORE", "d", "nokey"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "d"]), 0);
    assert_eq!(int(&mut c, &["SUNIONSTORE", "e", "a"]), 4);
    assert_eq!(int(&mut c, &["SADD", "e", "9"]), 1);
    assert_eq!(
        int(&mut c, &["SCARD", "a"]),
        4,
        "the stored copy is independent"
    );
}

/// Runs SSCAN to the end; returns the members and the call count.
fn sscan_all(con: &mut Connection, key: &str, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["SSCAN", key, &cursor];
        args.extend_from_slice(extra);
        let (next, items): (String, Vec<String>) = q(con, &args);
        calls += 1;
        out.extend(items);
        if next == "0" {
            return (out, calls);
        }
        cursor = next;
        assert!(calls < 100_000);
    }
}

#[test]
fn sscan_guarantees() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let empty: (String, Vec<String>) = q(&mut c, &["SSCAN", "nokey", "0"]);
    assert_eq!(empty, ("0".to_string(), vec![]));
    fill(&mut c, "s", 0..1000);
    let (items, calls) = sscan_all(&mut c, "s", &[]);
    assert!(calls >= 100);
    assert_eq!(items.iter().collect::<HashSet<_>>().len(), 1000);
    let (items, _) = sscan_all(&mut c, "s", &["MATCH", "m9?", "COUNT", "50"]);
    assert_eq!(items.len(), 10);
    // Members present for the whole scan are all returned while others come and go.
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut round = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut c, &["SSCAN", "s", &cursor, "COUNT", "29"]);
        seen.extend(items);
        round += 1;
        let _: i64 = q(&mut c, &["SADD", "s", &format!("new{round}")]);
        let _: i64 = q(&mut c, &["SREM", "s", &format!("m{}", 999 - round)]);
        let _: Option<String> = q(&mut c, &["SPOP", "other"]);
        if next == "0" {
            break;
        }
        cursor = next;
    }
    for i in 0..(999 - round) {
        assert!(seen.contains(&format!("m{i}")), "m{i} missed");
    }
    assert_eq!(cmd_err(&mut c, &["SSCAN", "s", "x"]), "ERR invalid cursor");
    assert_eq!(
        cmd_err(&mut c, &["SSCAN", "s", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    // SCAN given an SSCAN cursor restarts instead of skipping keys.
    let (cur, _): (String, Vec<String>) = q(&mut c, &["SSCAN", "s", "0", "COUNT", "5"]);
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", &cur, "COUNT", "1000"]);
    assert!(keys.contains(&"k".to_string()) && keys.contains(&"s".to_string()));
}

#[test]
fn concurrent_sadd_is_exact() {
    let s = TestServer::start(&[]);
    let threads: Vec<_> = (0..20)
        .map(|t| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                for i in 0..200 {
                    // Half the members are shared between clients: counts must stay exact.
                    let _: i64 = q(
                        &mut c,
                        &["SADD", "s", &format!("t{t}-{i}"), &format!("shared{i}")],
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let mut c = s.conn();
    assert_eq!(int(&mut c, &["SCARD", "s"]), 20 * 200 + 200);
    let members: Vec<String> = q(&mut c, &["SMEMBERS", "s"]);
    assert_eq!(members.len(), 4200);
    // Concurrent SPOP: every member popped exactly once.
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                while let Some(m) = q::<Option<String>>(&mut c, &["SPOP", "s"]) {
                    got.push(m);
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        all.extend(t.join().expect("thread"));
    }
    assert_eq!(all.len(), 4200);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 4200);
}

/// Random picks range from the first live member, wherever the low-water mark is: with the
/// front of a large set removed by SREM (the mark stays below), the members right after the
/// removed range get no more than their share of the picks.
#[test]
fn random_picks_start_at_the_first_live_member() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let members: Vec<String> = (0..5000).map(|i| format!("e{i:04}")).collect();
    for chunk in members.chunks(1000) {
        let _: i64 = redis::cmd("SADD")
            .arg("s")
            .arg(chunk)
            .query(&mut c)
            .expect("SADD");
    }
    // The pop sets the low-water mark at the first member; SREM leaves it there.
    let popped: String = q(&mut c, &["SPOP", "s"]);
    let _: i64 = redis::cmd("SREM")
        .arg("s")
        .arg(&members[..2000])
        .query(&mut c)
        .expect("SREM");
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..100 {
        for m in q::<Vec<String>>(&mut c, &["SRANDMEMBER", "s", "-100"]) {
            *counts.entry(m).or_default() += 1;
        }
    }
    assert!(counts.keys().all(|m| m.as_str() >= "e2000" && *m != popped));
    // 16 of about 3000 members: about 0.5 % of the 10 000 picks, were the picks uniform.
    let front: u64 = counts.range(..="e2015".to_string()).map(|(_, n)| n).sum();
    assert!(
        front < 500,
        "the first live members got {front} of 10000 picks"
    );
}

/// Runs `cmds` in one MULTI/EXEC and answers the replies of the SPOPs among them.
fn pops_in_multi(con: &mut Connection, cmds: &[Vec<String>]) -> Vec<Option<String>> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    for c in cmds {
        let cmd = pipe.cmd(&c[0]);
        for a in &c[1..] {
            cmd.arg(a);
        }
        if c[0] != "SPOP" {
            cmd.ignore();
        }
    }
    pipe.query(con).expect("EXEC")
}

fn strs(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// SPOPs queued in one transaction run in one context: each sees the members the earlier ones
/// deleted (never popped twice) and those the transaction added, whether or not the set has a
/// low-water mark yet, and whatever side of the committed members the added ones sort on.
#[test]
fn spop_inside_multi_sees_pending_writes() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    for popped_before in [false, true] {
        let _: i64 = q(&mut c, &["DEL", "s"]);
        fill(&mut c, "s", 0..300);
        let mut all: BTreeSet<String> = (0..300).map(|i| format!("m{i}")).collect();
        if popped_before {
            // Sets the low-water mark.
            let m: String = q(&mut c, &["SPOP", "s"]);
            assert!(all.remove(&m));
        }
        let n = all.len();
        let spops: Vec<_> = (0..n + 3).map(|_| strs(&["SPOP", "s"])).collect();
        let got = pops_in_multi(&mut c, &spops);
        assert!(got[n..].iter().all(Option::is_none), "{:?}", &got[n..]);
        let popped: Vec<String> = got
            .into_iter()
            .take(n)
            .map(|m| m.expect("a member"))
            .collect();
        let distinct: BTreeSet<String> = popped.iter().cloned().collect();
        assert_eq!(distinct.len(), n, "a member popped twice");
        assert_eq!(distinct, all);
        assert_eq!(int(&mut c, &["EXISTS", "s"]), 0);
    }
    // Every committed member deleted in the transaction, new ones added below and above them:
    // the pops find exactly the new ones.
    for popped_before in [false, true] {
        let _: i64 = q(&mut c, &["DEL", "t"]);
        let old: Vec<String> = (0..100).map(|i| format!("m{i:03}")).collect();
        let mut sadd = strs(&["SADD", "t"]);
        sadd.extend(old.iter().cloned());
        let _: i64 = redis::cmd("SADD")
            .arg(&sadd[1..])
            .query(&mut c)
            .expect("SADD");
        let mut left: BTreeSet<String> = old.iter().cloned().collect();
        if popped_before {
            let m: String = q(&mut c, &["SPOP", "t"]);
            assert!(left.remove(&m));
        }
        let new: BTreeSet<String> = (0..20)
            .flat_map(|i| [format!("a{i:02}"), format!("z{i:02}")])
            .collect();
        let mut cmds = vec![[strs(&["SADD", "t"]), new.iter().cloned().collect()].concat()];
        cmds.push([strs(&["SREM", "t"]), left.iter().cloned().collect()].concat());
        cmds.extend((0..new.len() + 2).map(|_| strs(&["SPOP", "t"])));
        let got = pops_in_multi(&mut c, &cmds);
        assert_eq!(got.len(), new.len() + 2);
        assert!(got[new.len()..].iter().all(Option::is_none));
        let popped: BTreeSet<String> = got.into_iter().flatten().collect();
        assert_eq!(popped, new);
        assert_eq!(int(&mut c, &["EXISTS", "t"]), 0);
    }
}

#[test]
fn generic_key_commands_on_sets() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["SADD", "s", "a", "b"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "s"]), "set");
    assert_eq!(int(&mut c, &["EXISTS", "s"]), 1);
    assert_eq!(int(&mut c, &["DBSIZE"]), 1);
    assert_eq!(q::<Vec<String>>(&mut c, &["KEYS", "*"]), vec!["s"]);
    assert_eq!(q::<String>(&mut c, &["RANDOMKEY"]), "s");
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "TYPE", "set"]);
    assert_eq!(keys, vec!["s"]);
    assert_eq!(int(&mut c, &["EXPIRE", "s", "100"]), 1);
    assert_eq!(int(&mut c, &["SADD", "s", "c"]), 1);
    assert!(int(&mut c, &["TTL", "s"]) > 90);
    assert_eq!(int(&mut c, &["PERSIST", "s"]), 1);
    let _: () = q(&mut c, &["RENAME", "s", "s2"]);
    assert_eq!(set(&mut c, &["SMEMBERS", "s2"]), bset(&["a", "b", "c"]));
    assert_eq!(int(&mut c, &["COPY", "s2", "s3"]), 1);
    assert_eq!(int(&mut c, &["SREM", "s3", "a"]), 1);
    assert_eq!(int(&mut c, &["SCARD", "s2"]), 3);
    assert_eq!(int(&mut c, &["RENAMENX", "s3", "s2"]), 0);
    assert_eq!(int(&mut c, &["MOVE", "s3", "2"]), 1);
    let _: () = q(&mut c, &["SELECT", "2"]);
    assert_eq!(set(&mut c, &["SMEMBERS", "s3"]), bset(&["b", "c"]));
    let _: () = q(&mut c, &["SELECT", "0"]);
    let _: () = q(&mut c, &["SET", "s2", "x"]);
    assert_eq!(cmd_err(&mut c, &["SCARD", "s2"]), WRONGTYPE);
    assert_eq!(int(&mut c, &["DEL", "s2"]), 1);
    assert_eq!(int(&mut c, &["SADD", "s2", "z"]), 1);
    assert_eq!(set(&mut c, &["SMEMBERS", "s2"]), bset(&["z"]));
}

#[test]
fn expiry_of_a_big_set() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    fill(&mut c, "big", 0..50_000);
    assert_eq!(int(&mut c, &["SCARD", "big"]), 50_000);
    assert_eq!(int(&mut c, &["PEXPIRE", "big", "50"]), 1);
    assert!(wait_until(Duration::from_secs(10), || {
        int(&mut c, &["EXISTS", "big"]) == 0
    }));
    assert_eq!(int(&mut c, &["SCARD", "big"]), 0);
    assert_eq!(int(&mut c, &["SISMEMBER", "big", "m7"]), 0);
    assert_eq!(int(&mut c, &["SADD", "big", "x"]), 1);
    assert_eq!(set(&mut c, &["SMEMBERS", "big"]), bset(&["x"]));
    assert_eq!(int(&mut c, &["DBSIZE"]), 1);
}

#[test]
fn restart_keeps_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let before;
    {
        let mut s = TestServer::start_in(&dir, &[]);
        let mut c = s.conn();
        fill(&mut c, "s", 0..500);
        let _: Vec<String> = q(&mut c, &["SPOP", "s", "10"]);
        let _: Option<String> = q(&mut c, &["SPOP", "s"]);
        before = set(&mut c, &["SMEMBERS", "s"]);
        s.kill9();
    }
    let s = TestServer::start_in(&dir, &[]);
    let mut c = s.conn();
    assert_eq!(int(&mut c, &["SCARD", "s"]), 489);
    assert_eq!(set(&mut c, &["SMEMBERS", "s"]), before);
}

// ---- differential against redis-server -------------------------------------------------------

#[test]
fn differential_sets() {
    support::differential(SET_SCRIPT);
}

const SET_SCRIPT: &str = r#"
FLUSHALL
SADD s a b c a
SADD s d
SADD s a
SADD s
SCARD s
SCARD nokey
@sort SMEMBERS s
SMEMBERS nokey
SISMEMBER s a
SISMEMBER s z
SISMEMBER nokey a
SMISMEMBER s a z b
SMISMEMBER nokey a
SMISMEMBER s
SREM s a z a
SREM nokey a
SREM s
SREM s b c d
EXISTS s
TYPE s
SADD s 1 2 3 4
SADD t 3 4 5
SADD u 4 5 6 7
@sort SINTER s t
@sort SINTER s t u
SINTER s nokey
SINTER nokey s
@sort SINTER s
@sort SUNION s t u nokey
SUNION nokey
@sort SDIFF s t
@sort SDIFF s t u
SDIFF s s
SDIFF nokey s
@sort SDIFF s nokey
SINTERCARD 2 s t
SINTERCARD 3 s t u
SINTERCARD 2 s t LIMIT 1
SINTERCARD 2 s t LIMIT 0
SINTERCARD 2 s t limit 1 LIMIT 0
SINTERCARD 2 s nokey
SINTERCARD 0 s
SINTERCARD x s
SINTERCARD -1 s
SINTERCARD 3 s t
SINTERCARD 1 s LIMIT -1
SINTERCARD 1 s LIMIT x
SINTERCARD 1 s LIMIT
SINTERCARD 1 s foo 1
SINTERSTORE d s t
@sort SMEMBERS d
SUNIONSTORE d d u
@sort SMEMBERS d
SDIFFSTORE d d s
@sort SMEMBERS d
SINTERSTORE d s nokey
EXISTS d
SUNIONSTORE d nokey
SDIFFSTORE d s s
SET str v
SET d v EX 100
SUNIONSTORE d s
TTL d
TYPE d
SADD str a
SREM str a
SMEMBERS str
SISMEMBER str a
SMISMEMBER str a
SCARD str
SPOP str
SPOP str 0
SRANDMEMBER str
SRANDMEMBER str 1
SINTER s str
SINTER nokey str
SINTERSTORE d2 s str
SUNION nokey str
SDIFF s str
SDIFFSTORE d2 nokey str
SINTERCARD 2 s str
SSCAN str 0
SMOVE str s a
SMOVE s str 1
SMOVE nokey str a
SMOVE s t 1
SMOVE s t 3
SMOVE s t zz
SMOVE s s 2
SMOVE s s zz
SMOVE s newset 2
@sort SMEMBERS s
@sort SMEMBERS t
SMEMBERS newset
SMOVE newset other 2
EXISTS newset
SPOP nokey
SPOP nokey 3
SPOP nokey 0
SPOP s -1
SPOP s x
SPOP s 1 2
SPOP s 0
SRANDMEMBER nokey
SRANDMEMBER nokey 3
SRANDMEMBER nokey x
SRANDMEMBER s x
SRANDMEMBER s 1 2
SRANDMEMBER s -9223372036854775808
SRANDMEMBER s 0
@sort SRANDMEMBER s 100
SADD one x
SRANDMEMBER one
SRANDMEMBER one -3
SPOP one
EXISTS one
SADD two x y
@sort SPOP two 5
EXISTS two
SSCAN nokey 0
SSCAN nokey x
SSCAN s x
SSCAN s 0 COUNT 0
SSCAN s 0 COUNT x
SSCAN s 0 MATCH
SSCAN s 0 TYPE set
@sscan t
@sscan t COUNT 1
@sscan u MATCH 7
SADD bin "a\x00b" "\r\n" ""
SISMEMBER bin "a\x00b"
SISMEMBER bin ""
SCARD bin
sadd lower x
SCARD lower
"#;
