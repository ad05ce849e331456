//! Integration tests of the generic key commands (DEL, EXISTS, TYPE, the EXPIRE and TTL
//! families, PERSIST, TOUCH, KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX, COPY, MOVE) through the
//! real server, plus a differential check of deterministic replies against `redis-server`.

mod common;

use common::query::{int, q, sorted};
use common::{cmd_err, cmd_value, wait_until, TestServer};
use redis::{Connection, Value};
use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

/// Current Unix time in ms.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn del_unlink_exists_touch() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    for k in ["a", "b", "c"] {
        let _: () = q(&mut c, &["SET", k, "1"]);
    }
    assert_eq!(int(&mut c, &["EXISTS", "a"]), 1);
    assert_eq!(
        int(&mut c, &["EXISTS", "a", "a", "zz", "b"]),
        3,
        "duplicates count twice"
    );
    assert_eq!(int(&mut c, &["TOUCH", "a", "a", "zz"]), 2);
    assert_eq!(
        int(&mut c, &["DEL", "a", "a", "zz"]),
        1,
        "a key named twice is deleted once"
    );
    assert_eq!(int(&mut c, &["EXISTS", "a"]), 0);
    assert_eq!(int(&mut c, &["UNLINK", "b", "c", "nokey"]), 2);
    assert_eq!(int(&mut c, &["EXISTS", "b", "c"]), 0);
    assert_eq!(int(&mut c, &["DEL", "nokey"]), 0);
    assert_eq!(int(&mut c, &["TOUCH", "nokey"]), 0);
    for (cmd, name) in [
        ("DEL", "del"),
        ("UNLINK", "unlink"),
        ("EXISTS", "exists"),
        ("TOUCH", "touch"),
    ] {
        assert_eq!(
            cmd_err(&mut c, &[cmd]),
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
}

#[test]
fn type_of_keys() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "s", "v"]);
    assert_eq!(
        q::<Value>(&mut c, &["TYPE", "s"]),
        Value::SimpleString("string".into())
    );
    assert_eq!(
        q::<Value>(&mut c, &["TYPE", "nokey"]),
        Value::SimpleString("none".into())
    );
    assert_eq!(
        cmd_err(&mut c, &["TYPE"]),
        "ERR wrong number of arguments for 'type' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["TYPE", "a", "b"]),
        "ERR wrong number of arguments for 'type' command"
    );
}

#[test]
fn expire_and_ttl() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(int(&mut c, &["TTL", "k"]), -1);
    assert_eq!(int(&mut c, &["PTTL", "k"]), -1);
    assert_eq!(int(&mut c, &["EXPIRETIME", "k"]), -1);
    assert_eq!(int(&mut c, &["PEXPIRETIME", "k"]), -1);
    assert_eq!(int(&mut c, &["TTL", "nokey"]), -2);
    assert_eq!(int(&mut c, &["PTTL", "nokey"]), -2);
    assert_eq!(int(&mut c, &["EXPIRETIME", "nokey"]), -2);
    assert_eq!(int(&mut c, &["PEXPIRETIME", "nokey"]), -2);

    assert_eq!(int(&mut c, &["EXPIRE", "k", "100"]), 1);
    let ttl = int(&mut c, &["TTL", "k"]);
    assert!((99..=100).contains(&ttl), "ttl {ttl}");
    let pttl = int(&mut c, &["PTTL", "k"]);
    assert!((98_000..=100_000).contains(&pttl), "pttl {pttl}");

    assert_eq!(int(&mut c, &["PEXPIRE", "k", "5000"]), 1);
    let pttl = int(&mut c, &["PTTL", "k"]);
    assert!((4000..=5000).contains(&pttl), "pttl {pttl}");
    assert_eq!(int(&mut c, &["TTL", "k"]), 5);

    // Absolute times.
    let at = now_ms() / 1000 + 1000;
    assert_eq!(int(&mut c, &["EXPIREAT", "k", &at.to_string()]), 1);
    assert_eq!(int(&mut c, &["EXPIRETIME", "k"]), at);
    assert_eq!(int(&mut c, &["PEXPIRETIME", "k"]), at * 1000);
    let pat = now_ms() + 123_456;
    assert_eq!(int(&mut c, &["PEXPIREAT", "k", &pat.to_string()]), 1);
    assert_eq!(int(&mut c, &["PEXPIRETIME", "k"]), pat);
    assert_eq!(
        int(&mut c, &["EXPIRETIME", "k"]),
        (pat + 500) / 1000,
        "rounded to the nearest second"
    );

    // The largest expiry Redis accepts, and its rounding.
    assert_eq!(int(&mut c, &["PEXPIREAT", "k", "9223372036854775807"]), 1);
    assert_eq!(int(&mut c, &["PEXPIRETIME", "k"]), i64::MAX);
    assert_eq!(int(&mut c, &["EXPIRETIME", "k"]), 9223372036854776);

    // Missing keys.
    assert_eq!(int(&mut c, &["EXPIRE", "nokey", "10"]), 0);
    assert_eq!(int(&mut c, &["PEXPIREAT", "nokey", "1"]), 0);
}

#[test]
fn expire_in_the_past_deletes() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    for (cmd, t) in [
        ("EXPIRE", "-1"),
        ("PEXPIRE", "0"),
        ("EXPIREAT", "1"),
        ("PEXPIREAT", "-5"),
    ] {
        let _: () = q(&mut c, &["SET", "k", "v"]);
        assert_eq!(int(&mut c, &[cmd, "k", t]), 1, "{cmd} {t}");
        assert_eq!(int(&mut c, &["EXISTS", "k"]), 0, "{cmd} {t}");
    }
    // A negative time that only just does not overflow.
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "-9223372036854775"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "k"]), 0);
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(int(&mut c, &["PEXPIRE", "k", "-9223372036854775808"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "k"]), 0);
}

#[test]
fn expire_options() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    // No TTL: XX fails, GT fails (no TTL is infinite), LT succeeds.
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100", "XX"]), 0);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100", "GT"]), 0);
    assert_eq!(int(&mut c, &["TTL", "k"]), -1);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100", "lt"]), 1);
    assert_eq!(int(&mut c, &["TTL", "k"]), 100);
    // With a TTL: NX fails, XX succeeds.
    assert_eq!(int(&mut c, &["EXPIRE", "k", "500", "NX"]), 0);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "200", "XX"]), 1);
    assert_eq!(int(&mut c, &["TTL", "k"]), 200);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "150", "GT"]), 0);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "300", "gt"]), 1);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "400", "LT"]), 0);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "250", "XX", "LT"]), 1);
    assert_eq!(int(&mut c, &["TTL", "k"]), 250);
    assert_eq!(int(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "10", "NX"]), 1);
    assert_eq!(int(&mut c, &["TTL", "k"]), 10);
    // GT on the same expiry fails; LT on a past time deletes.
    let t = int(&mut c, &["PEXPIRETIME", "k"]).to_string();
    assert_eq!(int(&mut c, &["PEXPIREAT", "k", &t, "GT"]), 0);
    assert_eq!(int(&mut c, &["PEXPIREAT", "k", &t, "LT"]), 0);
    assert_eq!(int(&mut c, &["PEXPIREAT", "k", "1", "LT"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "k"]), 0);
}

#[test]
fn expire_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let nx_err = "ERR NX and XX, GT or LT options at the same time are not compatible";
    assert_eq!(cmd_err(&mut c, &["EXPIRE", "k", "10", "NX", "XX"]), nx_err);
    assert_eq!(cmd_err(&mut c, &["EXPIRE", "k", "10", "NX", "GT"]), nx_err);
    assert_eq!(cmd_err(&mut c, &["PEXPIRE", "k", "10", "lt", "nx"]), nx_err);
    assert_eq!(
        cmd_err(&mut c, &["EXPIRE", "k", "10", "GT", "LT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(
        cmd_err(&mut c, &["EXPIRE", "k", "10", "foo"]),
        "ERR Unsupported option foo"
    );
    // Options are checked before the number, as in Redis.
    assert_eq!(cmd_err(&mut c, &["EXPIRE", "k", "abc", "NX", "XX"]), nx_err);
    let not_int = "ERR value is not an integer or out of range";
    for bad in ["abc", "1.5", "", " 1", "+1", "99999999999999999999"] {
        assert_eq!(cmd_err(&mut c, &["EXPIRE", "k", bad]), not_int, "{bad:?}");
        assert_eq!(
            cmd_err(&mut c, &["PEXPIREAT", "k", bad]),
            not_int,
            "{bad:?}"
        );
    }
    assert_eq!(
        cmd_err(&mut c, &["EXPIRE", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["EXPIRE", "k", "-9223372036854776"]),
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["PEXPIRE", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'pexpire' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["EXPIREAT", "k", "9223372036854776"]),
        "ERR invalid expire time in 'expireat' command"
    );
    // The key is untouched by every failed command.
    assert_eq!(int(&mut c, &["TTL", "k"]), -1);
    for (cmd, name) in [
        ("EXPIRE", "expire"),
        ("PEXPIRE", "pexpire"),
        ("EXPIREAT", "expireat"),
        ("PEXPIREAT", "pexpireat"),
    ] {
        assert_eq!(
            cmd_err(&mut c, &[cmd, "k"]),
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
    for (cmd, name) in [
        ("TTL", "ttl"),
        ("PTTL", "pttl"),
        ("EXPIRETIME", "expiretime"),
        ("PEXPIRETIME", "pexpiretime"),
        ("PERSIST", "persist"),
    ] {
        assert_eq!(
            cmd_err(&mut c, &[cmd]),
            format!("ERR wrong number of arguments for '{name}' command")
        );
        assert_eq!(
            cmd_err(&mut c, &[cmd, "a", "b"]),
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
}

#[test]
fn keys_expire_by_themselves() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let _: () = q(&mut c, &["SET", "other", "v"]);
    assert_eq!(int(&mut c, &["PEXPIRE", "k", "50"]), 1);
    assert!(wait_until(Duration::from_secs(5), || int(
        &mut c,
        &["EXISTS", "k"]
    ) == 0));
    assert_eq!(int(&mut c, &["TTL", "k"]), -2);
    assert_eq!(int(&mut c, &["PERSIST", "k"]), 0);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100"]), 0);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["KEYS", "*"]),
        vec!["other".to_string()]
    );
    assert_eq!(
        q::<Option<String>>(&mut c, &["RANDOMKEY"]),
        Some("other".to_string())
    );
    // Expired keys do not show in SCAN either.
    let (cursor, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "COUNT", "100"]);
    assert_eq!((cursor.as_str(), keys), ("0", vec!["other".to_string()]));
    assert_eq!(int(&mut c, &["PEXPIRE", "other", "1"]), 1);
    assert!(wait_until(Duration::from_secs(5), || q::<Option<String>>(
        &mut c,
        &["RANDOMKEY"]
    )
    .is_none()));
}

#[test]
fn persist() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(int(&mut c, &["PERSIST", "k"]), 0, "no TTL to remove");
    assert_eq!(int(&mut c, &["PERSIST", "nokey"]), 0);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100"]), 1);
    assert_eq!(int(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(int(&mut c, &["TTL", "k"]), -1);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
}

#[test]
fn keys_patterns() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    for k in [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "other",
    ] {
        let _: () = q(&mut c, &["SET", k, "1"]);
    }
    let keys = |c: &mut Connection, p: &str| sorted(q::<Vec<String>>(c, &["KEYS", p]));
    let v = |xs: &[&str]| sorted(xs.iter().map(|s| s.to_string()).collect());
    assert_eq!(keys(&mut c, "*").len(), 8);
    assert_eq!(
        keys(&mut c, "h?llo"),
        v(&["hello", "hallo", "hxllo", "h*llo", "h?llo"])
    );
    assert_eq!(
        keys(&mut c, "h*llo"),
        v(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo"])
    );
    assert_eq!(keys(&mut c, "h[ae]llo"), v(&["hello", "hallo"]));
    assert_eq!(
        keys(&mut c, "h[^e]llo"),
        v(&["hallo", "hxllo", "h*llo", "h?llo"])
    );
    assert_eq!(keys(&mut c, "h[a-e]llo"), v(&["hello", "hallo"]));
    assert_eq!(keys(&mut c, "h\\*llo"), v(&["h*llo"]));
    assert_eq!(keys(&mut c, "h\\?llo"), v(&["h?llo"]));
    assert_eq!(keys(&mut c, "other"), v(&["other"]));
    assert_eq!(keys(&mut c, "nomatch*"), Vec::<String>::new());
    assert_eq!(
        cmd_err(&mut c, &["KEYS"]),
        "ERR wrong number of arguments for 'keys' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["KEYS", "a", "b"]),
        "ERR wrong number of arguments for 'keys' command"
    );
}

/// Runs a full SCAN with extra options; checks each page's size against `count` and returns
/// every key returned, with how many calls it took.
fn full_scan(c: &mut Connection, opts: &[&str], count: usize) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(opts);
        let (next, keys): (String, Vec<String>) = q(c, &args);
        calls += 1;
        assert!(
            keys.len() <= count,
            "a page of {} keys with COUNT {count}",
            keys.len()
        );
        next.parse::<u64>().expect("cursors are decimal u64");
        all.extend(keys);
        if next == "0" {
            return (all, calls);
        }
        assert!(calls < 100_000, "SCAN does not terminate");
        cursor = next;
    }
}

#[test]
fn scan_returns_every_key() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let mut expected = BTreeSet::new();
    for i in 0..1000 {
        let k = format!("key:{i}");
        let _: () = q(&mut c, &["SET", &k, "v"]);
        expected.insert(k);
    }
    for i in 0..30 {
        let _: () = q(&mut c, &["SET", &format!("other:{i}"), "v"]);
    }
    let (keys, calls) = full_scan(
        &mut c,
        &["COUNT", "7", "MATCH", "key:*", "TYPE", "string"],
        7,
    );
    let got: BTreeSet<String> = keys.iter().cloned().collect();
    assert_eq!(got, expected);
    assert!(
        calls >= 1030 / 7,
        "COUNT bounds the keys examined: {calls} calls"
    );
    assert!(calls <= 1030 / 7 + 2, "{calls} calls");

    // No options: default COUNT 10, every key.
    let (keys, _) = full_scan(&mut c, &[], 10);
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 1030);

    // TYPE filters by type name (case-insensitive; unknown names match nothing).
    let (keys, _) = full_scan(&mut c, &["COUNT", "500", "TYPE", "STRING"], 500);
    assert_eq!(keys.len(), 1030);
    let (keys, _) = full_scan(&mut c, &["COUNT", "500", "TYPE", "hash"], 500);
    assert!(keys.is_empty());
    let (keys, _) = full_scan(&mut c, &["COUNT", "500", "TYPE", "nosuchtype"], 500);
    assert!(keys.is_empty());
    let (keys, _) = full_scan(&mut c, &["MATCH", "other:1*", "COUNT", "2000"], 2000);
    assert_eq!(keys.len(), 11);
}

#[test]
fn scan_under_writes_and_unknown_cursors() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    for i in 0..200 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    // Half way through, delete some keys and add others: keys present the whole time are all
    // returned.
    let mut seen = HashSet::new();
    let (mut cursor, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "COUNT", "100"]);
    seen.extend(keys);
    for i in 0..50 {
        let _: i64 = q(&mut c, &["DEL", &format!("k{i}")]);
        let _: () = q(&mut c, &["SET", &format!("new{i}"), "v"]);
    }
    while cursor != "0" {
        let (next, keys): (String, Vec<String>) = q(&mut c, &["SCAN", &cursor, "COUNT", "9"]);
        seen.extend(keys);
        cursor = next;
    }
    for i in 50..200 {
        assert!(seen.contains(&format!("k{i}")), "k{i} missed");
    }
    // An unknown cursor restarts from the beginning.
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "987654321", "COUNT", "10000"]);
    assert_eq!(keys.len(), 200);
    let (next, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "-1", "COUNT", "10000"]);
    assert_eq!((next.as_str(), keys.len()), ("0", 200));
    // The empty cursor is 0, as Redis's strtoul reads it.
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "", "COUNT", "10000"]);
    assert_eq!(keys.len(), 200);
}

#[test]
fn scan_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    for bad in ["abc", " 1", "1a", "-", "18446744073709551616"] {
        assert_eq!(
            cmd_err(&mut c, &["SCAN", bad]),
            "ERR invalid cursor",
            "{bad:?}"
        );
    }
    assert_eq!(
        cmd_err(&mut c, &["SCAN", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["SCAN", "0", "COUNT", "-1"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["SCAN", "0", "COUNT", "abc"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(cmd_err(&mut c, &["SCAN", "0", "COUNT"]), "ERR syntax error");
    assert_eq!(cmd_err(&mut c, &["SCAN", "0", "MATCH"]), "ERR syntax error");
    assert_eq!(cmd_err(&mut c, &["SCAN", "0", "TYPE"]), "ERR syntax error");
    assert_eq!(
        cmd_err(&mut c, &["SCAN", "0", "foo", "bar"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["SCAN"]),
        "ERR wrong number of arguments for 'scan' command"
    );
    // An invalid cursor is reported before bad options.
    assert_eq!(
        cmd_err(&mut c, &["SCAN", "x", "COUNT", "0"]),
        "ERR invalid cursor"
    );
    // Empty db: cursor 0 and no keys.
    let (cursor, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0"]);
    assert_eq!((cursor.as_str(), keys.len()), ("0", 0));
}

#[test]
fn randomkey() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<Value>(&mut c, &["RANDOMKEY"]), Value::Nil);
    assert_eq!(
        cmd_err(&mut c, &["RANDOMKEY", "x"]),
        "ERR wrong number of arguments for 'randomkey' command"
    );
    let names = ["foo", "bar", "{tag}a", "{tag}b", "x"];
    for k in names {
        let _: () = q(&mut c, &["SET", k, "1"]);
    }
    let mut seen = HashSet::new();
    for _ in 0..2000 {
        let k: String = q(&mut c, &["RANDOMKEY"]);
        assert!(names.contains(&k.as_str()), "RANDOMKEY returned {k}");
        seen.insert(k);
        if seen.len() == names.len() {
            break;
        }
    }
    assert_eq!(seen.len(), names.len(), "seen only {seen:?}");

    // Roughly uniform over a few keys (each expected 200 times in 1000).
    let mut counts = std::collections::HashMap::new();
    for _ in 0..1000 {
        *counts
            .entry(q::<String>(&mut c, &["RANDOMKEY"]))
            .or_insert(0) += 1;
    }
    for k in names {
        let n = counts.get(k).copied().unwrap_or(0);
        assert!(
            (100..=320).contains(&n),
            "{k} picked {n} times of 1000: {counts:?}"
        );
    }

    // A bigger db: every pick exists.
    for i in 0..300 {
        let _: () = q(&mut c, &["SET", &format!("many:{i}"), "1"]);
    }
    for _ in 0..200 {
        let k: String = q(&mut c, &["RANDOMKEY"]);
        assert_eq!(int(&mut c, &["EXISTS", &k]), 1, "{k}");
    }
}

#[test]
fn rename_and_renamenx() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "a", "1"]);
    assert_eq!(int(&mut c, &["EXPIRE", "a", "100"]), 1);
    let _: () = q(&mut c, &["RENAME", "a", "b"]);
    assert_eq!(int(&mut c, &["EXISTS", "a"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "1");
    let ttl = int(&mut c, &["TTL", "b"]);
    assert!((99..=100).contains(&ttl), "TTL kept by RENAME: {ttl}");

    // Overwrites the destination (its TTL too).
    let _: () = q(&mut c, &["SET", "c", "2"]);
    assert_eq!(int(&mut c, &["EXPIRE", "c", "5000"]), 1);
    let _: () = q(&mut c, &["SET", "d", "3"]);
    let _: () = q(&mut c, &["RENAME", "d", "c"]);
    assert_eq!(q::<String>(&mut c, &["GET", "c"]), "3");
    assert_eq!(int(&mut c, &["TTL", "c"]), -1);

    // Same key: OK if it exists (nothing changes), RENAMENX says 0.
    assert_eq!(q::<Value>(&mut c, &["RENAME", "b", "b"]), Value::Okay);
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "1");
    assert_eq!(int(&mut c, &["RENAMENX", "b", "b"]), 0);
    assert_eq!(
        cmd_err(&mut c, &["RENAME", "nokey", "x"]),
        "ERR no such key"
    );
    assert_eq!(
        cmd_err(&mut c, &["RENAME", "nokey", "nokey"]),
        "ERR no such key"
    );
    assert_eq!(
        cmd_err(&mut c, &["RENAMENX", "nokey", "x"]),
        "ERR no such key"
    );
    assert_eq!(int(&mut c, &["EXISTS", "x"]), 0);

    assert_eq!(
        int(&mut c, &["RENAMENX", "b", "c"]),
        0,
        "destination exists"
    );
    assert_eq!(q::<String>(&mut c, &["GET", "c"]), "3");
    assert_eq!(int(&mut c, &["RENAMENX", "b", "e"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "e"]), "1");
    assert!(int(&mut c, &["TTL", "e"]) > 0, "TTL kept by RENAMENX");
    assert_eq!(int(&mut c, &["EXISTS", "b"]), 0);

    assert_eq!(
        cmd_err(&mut c, &["RENAME", "a"]),
        "ERR wrong number of arguments for 'rename' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["RENAMENX", "a", "b", "c"]),
        "ERR wrong number of arguments for 'renamenx' command"
    );
}

#[test]
fn copy_within_and_across_dbs() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "a", "1"]);
    assert_eq!(int(&mut c, &["EXPIRE", "a", "100"]), 1);
    assert_eq!(int(&mut c, &["COPY", "a", "b"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "1");
    assert!(int(&mut c, &["TTL", "b"]) > 90, "TTL kept by COPY");
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1", "the source stays");

    let _: () = q(&mut c, &["SET", "b", "other"]);
    assert_eq!(int(&mut c, &["COPY", "a", "b"]), 0, "destination exists");
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "other");
    assert_eq!(int(&mut c, &["COPY", "a", "b", "REPLACE"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "1");
    assert_eq!(int(&mut c, &["COPY", "nokey", "b", "replace"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "1");

    let same = "ERR source and destination objects are the same";
    assert_eq!(cmd_err(&mut c, &["COPY", "a", "a"]), same);
    assert_eq!(cmd_err(&mut c, &["COPY", "nokey", "nokey"]), same);
    assert_eq!(cmd_err(&mut c, &["COPY", "a", "a", "DB", "0"]), same);
    assert_eq!(
        cmd_err(&mut c, &["COPY", "a", "b", "DB", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["COPY", "a", "b", "DB", "-1"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["COPY", "a", "b", "DB", "99999999999"]),
        "ERR value is out of range, value must between -2147483648 and 2147483647"
    );
    assert_eq!(
        cmd_err(&mut c, &["COPY", "a", "b", "DB", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["COPY", "a", "b", "DB"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["COPY", "a", "b", "foo"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["COPY", "a"]),
        "ERR wrong number of arguments for 'copy' command"
    );

    // To another database, under the same name or another.
    assert_eq!(int(&mut c, &["COPY", "a", "a", "DB", "1"]), 1);
    assert_eq!(
        int(&mut c, &["COPY", "a", "z", "db", "2", "db", "1"]),
        1,
        "the last DB wins"
    );
    assert_eq!(int(&mut c, &["COPY", "a", "a", "DB", "1"]), 0);
    let _: () = q(&mut c, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    assert_eq!(q::<String>(&mut c, &["GET", "z"]), "1");
    assert!(int(&mut c, &["TTL", "a"]) > 90, "TTL kept across dbs");
    assert_eq!(int(&mut c, &["EXISTS", "b"]), 0);
    let _: () = q(&mut c, &["SELECT", "2"]);
    assert_eq!(int(&mut c, &["EXISTS", "z"]), 0);
}

#[test]
fn move_across_dbs() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100"]), 1);
    assert_eq!(int(&mut c, &["MOVE", "k", "1"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "k"]), 0);
    assert_eq!(int(&mut c, &["MOVE", "k", "1"]), 0, "source missing");
    let _: () = q(&mut c, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    assert!(int(&mut c, &["TTL", "k"]) > 90, "TTL kept by MOVE");
    let same = "ERR source and destination objects are the same";
    assert_eq!(cmd_err(&mut c, &["MOVE", "k", "1"]), same);
    assert_eq!(cmd_err(&mut c, &["MOVE", "nokey", "1"]), same);

    // Destination exists: 0, nothing moves.
    let _: () = q(&mut c, &["SELECT", "0"]);
    let _: () = q(&mut c, &["SET", "k", "x"]);
    assert_eq!(int(&mut c, &["MOVE", "k", "1"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "x");
    let _: () = q(&mut c, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");

    assert_eq!(
        cmd_err(&mut c, &["MOVE", "k", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["MOVE", "k", "-1"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["MOVE", "k", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["MOVE", "k", "99999999999"]),
        "ERR value is out of range, value must between -2147483648 and 2147483647"
    );
    assert_eq!(
        cmd_err(&mut c, &["MOVE", "k"]),
        "ERR wrong number of arguments for 'move' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["MOVE", "k", "1", "2"]),
        "ERR wrong number of arguments for 'move' command"
    );
}

#[test]
fn keyspace_is_per_db() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "in0", "v"]);
    let _: () = q(&mut c, &["SELECT", "1"]);
    let _: () = q(&mut c, &["SET", "in1", "v"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["KEYS", "*"]),
        vec!["in1".to_string()]
    );
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "COUNT", "100"]);
    assert_eq!(keys, vec!["in1".to_string()]);
    assert_eq!(q::<String>(&mut c, &["RANDOMKEY"]), "in1");
    let _: () = q(&mut c, &["SELECT", "2"]);
    assert_eq!(q::<Value>(&mut c, &["RANDOMKEY"]), Value::Nil);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["KEYS", "*"]),
        Vec::<String>::new()
    );
    // A cursor from another db's scan does not leak keys across dbs.
    let _: () = q(&mut c, &["SELECT", "0"]);
    for i in 0..20 {
        let _: () = q(&mut c, &["SET", &format!("more{i}"), "v"]);
    }
    let (cursor, _): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "COUNT", "5"]);
    let _: () = q(&mut c, &["SELECT", "1"]);
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", &cursor, "COUNT", "100"]);
    assert_eq!(keys, vec!["in1".to_string()]);
}

// ---- differential check against redis-server ------------------------------------------------

/// A reply in comparable form (arrays sorted where the order is not specified).
fn normal(v: redis::RedisResult<Value>, unordered: bool) -> String {
    match v {
        Err(e) => format!("error: {}", common::err_text(&e)),
        Ok(Value::Array(items)) => {
            let mut parts: Vec<String> = items
                .into_iter()
                .map(|i| normal(Ok(i), unordered))
                .collect();
            if unordered {
                parts.sort();
            }
            format!("[{}]", parts.join(", "))
        }
        Ok(other) => format!("{other:?}"),
    }
}

#[test]
fn same_replies_as_redis() {
    let Some(real) = common::RefRedis::start() else {
        eprintln!("skipped: redis-server is not installed or did not start");
        return;
    };
    let s = TestServer::start(&[]);
    let mut ours = s.conn();
    let Some(mut theirs) = real.conn() else {
        panic!("cannot connect to redis-server")
    };
    let script: &[&[&str]] = &[
        &["SET", "a", "1"],
        &["SET", "b", "2"],
        &["SET", "hello", "x"],
        &["SET", "hallo", "x"],
        &["EXISTS", "a", "a", "b", "zz"],
        &["TOUCH", "a", "zz", "a"],
        &["TYPE", "a"],
        &["TYPE", "zz"],
        &["TTL", "a"],
        &["PTTL", "zz"],
        &["EXPIRETIME", "a"],
        &["EXPIRE", "a", "100", "GT"],
        &["EXPIRE", "a", "100", "XX"],
        &["EXPIRE", "a", "100", "NX"],
        &["EXPIRE", "a", "100", "NX"],
        &["TTL", "a"],
        &["EXPIRE", "a", "50", "GT"],
        &["EXPIRE", "a", "200", "LT"],
        &["EXPIRE", "a", "10", "NX", "XX"],
        &["EXPIRE", "a", "10", "XX", "GT", "LT"],
        &["EXPIRE", "a", "10", "bogus"],
        &["EXPIRE", "a", "x"],
        &["EXPIRE", "a", "9223372036854775807"],
        &["PEXPIRE", "a", "9223372036854775807"],
        &["EXPIREAT", "a", "9223372036854776"],
        &["EXPIREAT", "a", "-9223372036854776"],
        &["PEXPIREAT", "b", "9223372036854775807"],
        &["PEXPIRETIME", "b"],
        &["EXPIRETIME", "b"],
        &["PERSIST", "b"],
        &["PERSIST", "b"],
        &["PERSIST", "zz"],
        &["EXPIRE", "zz", "10"],
        &["EXPIRE", "hallo", "-1"],
        &["EXISTS", "hallo"],
        &["SET", "hallo", "x"],
        &["KEYS", "h[ae]llo"],
        &["KEYS", "h[^e]llo"],
        &["KEYS", "*"],
        &["RENAME", "zz", "a"],
        &["RENAME", "a", "a"],
        &["RENAMENX", "a", "a"],
        &["RENAMENX", "a", "b"],
        &["RENAME", "a", "c"],
        &["TTL", "c"],
        &["COPY", "c", "c"],
        &["COPY", "c", "d"],
        &["COPY", "c", "d"],
        &["COPY", "c", "d", "REPLACE"],
        &["COPY", "c", "d", "DB", "16"],
        &["COPY", "c", "d", "DB", "99999999999"],
        &["COPY", "c", "d", "DB"],
        &["COPY", "c", "d", "DB", "3"],
        &["MOVE", "c", "0"],
        &["MOVE", "c", "3"],
        &["MOVE", "c", "3"],
        &["MOVE", "d", "x"],
        &["MOVE", "d", "16"],
        &["MOVE", "zz", "2"],
        &["SCAN", "x"],
        &["SCAN", "0", "COUNT", "0"],
        &["SCAN", "0", "COUNT", "y"],
        &["SCAN", "0", "MATCH"],
        &["SCAN", "0", "COUNT", "1000", "TYPE", "string"],
        &[
            "SCAN", "0", "COUNT", "1000", "MATCH", "h*", "TYPE", "nosuch",
        ],
        &["DEL", "d", "d", "zz", "b"],
        &["UNLINK", "hello"],
        &["SELECT", "3"],
        &["KEYS", "*"],
        &["DEL", "c"],
        &["RANDOMKEY"],
        &["DEL", "d"],
        &["RANDOMKEY"],
        &["DEL"],
        &["KEYS"],
        &["SCAN"],
        &["RANDOMKEY", "1"],
        &["TTL"],
        &["COPY", "a"],
        &["MOVE", "a"],
    ];
    for cmd in script {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        let unordered = cmd[0] == "KEYS" || cmd[0] == "SCAN";
        let a = normal(cmd_value(&mut ours, &args), unordered);
        let b = normal(cmd_value(&mut theirs, &args), unordered);
        assert_eq!(a, b, "{cmd:?}");
    }
}
