//! Integration tests of the sorted set commands through the real server: every command and
//! option, arity and type errors, missing keys, ties, ranges and their limits, the store
//! commands and aggregation, large zsets, ZRANDMEMBER and ZSCAN guarantees, pops as a queue,
//! exact counts under concurrent writers, the generic key commands, expiry, restart, and the
//! storage left after a delete. The tests that use `server()` run against redis-server too with
//! `TALUS_TEST_REDIS=1`, which checks the expectations themselves. The differential script is
//! tests/differential/zsets.txt.

mod common;

use common::cmds::{server, Srv};
use common::query::{int, q, strs, WRONGTYPE};
use common::{cmd_err, wait_until, TestServer};
use redis::Connection;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

fn opt(con: &mut Connection, args: &[&str]) -> Option<String> {
    q(con, args)
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// Adds members `m<i>` (zero-padded to 6 digits) with score `score(i)` for i in `range`.
fn fill(con: &mut Connection, key: &str, range: std::ops::Range<u64>, score: impl Fn(u64) -> f64) {
    let all: Vec<u64> = range.collect();
    let mut pipe = redis::pipe();
    for chunk in all.chunks(1000) {
        let mut c = redis::cmd("ZADD");
        c.arg(key);
        for &i in chunk {
            c.arg(score(i)).arg(format!("m{i:06}"));
        }
        pipe.add_command(c).ignore();
    }
    let _: () = pipe.query(con).expect("ZADD pipeline");
}

fn conn(s: &Srv) -> Connection {
    s.conn()
}

// ---- ZADD, ZINCRBY ----------------------------------------------------------------------------

#[test]
fn zadd_options_and_replies() {
    let s = server();
    let mut c = conn(&s);
    assert_eq!(int(&mut c, &["ZADD", "z", "1", "a", "2", "b", "1", "a"]), 2);
    assert_eq!(int(&mut c, &["ZCARD", "z"]), 2);
    assert_eq!(int(&mut c, &["ZADD", "z", "5", "a", "3", "c"]), 1);
    assert_eq!(
        int(&mut c, &["ZADD", "z", "CH", "6", "a", "3", "c", "4", "d"]),
        2
    );
    assert_eq!(int(&mut c, &["ZADD", "z", "NX", "100", "a", "7", "e"]), 1);
    assert_eq!(opt(&mut c, &["ZSCORE", "z", "a"]).as_deref(), Some("6"));
    assert_eq!(int(&mut c, &["ZADD", "z", "XX", "8", "e", "9", "nope"]), 0);
    assert_eq!(opt(&mut c, &["ZSCORE", "z", "e"]).as_deref(), Some("8"));
    assert_eq!(opt(&mut c, &["ZSCORE", "z", "nope"]), None);
    // GT/LT only update in their direction, and still add new members.
    assert_eq!(
        int(
            &mut c,
            &["ZADD", "z", "GT", "CH", "1", "a", "10", "b", "1", "f"]
        ),
        2
    );
    assert_eq!(opt(&mut c, &["ZSCORE", "z", "a"]).as_deref(), Some("6"));
    assert_eq!(opt(&mut c, &["ZSCORE", "z", "b"]).as_deref(), Some("10"));
    assert_eq!(
        int(&mut c, &["ZADD", "z", "LT", "CH", "1", "a", "20", "b"]),
        1
    );
    assert_eq!(opt(&mut c, &["ZSCORE", "z", "a"]).as_deref(), Some("1"));
    assert_eq!(
        int(
            &mut c,
            &["ZADD", "z", "XX", "GT", "CH", "0", "a", "30", "b", "5", "g"]
        ),
        1
    );
    assert_eq!(opt(&mut c, &["ZSCORE", "z", "g"]), None);
    // INCR: the new score, or nil when the option stopped it.
    assert_eq!(
        opt(&mut c, &["ZADD", "z", "INCR", "2.5", "a"]).as_deref(),
        Some("3.5")
    );
    assert_eq!(opt(&mut c, &["ZADD", "z", "INCR", "NX", "1", "a"]), None);
    assert_eq!(opt(&mut c, &["ZADD", "z", "INCR", "XX", "1", "nope"]), None);
    assert_eq!(opt(&mut c, &["ZADD", "z", "INCR", "GT", "-1", "a"]), None);
    assert_eq!(
        opt(&mut c, &["ZADD", "z", "INCR", "GT", "1", "a"]).as_deref(),
        Some("4.5")
    );
    assert_eq!(opt(&mut c, &["ZADD", "z", "INCR", "LT", "1", "a"]), None);
    assert_eq!(
        opt(&mut c, &["ZADD", "z", "INCR", "LT", "-0.5", "a"]).as_deref(),
        Some("4")
    );
    assert_eq!(
        opt(&mut c, &["ZADD", "z", "INCR", "GT", "7", "new"]).as_deref(),
        Some("7")
    );
    assert_eq!(opt(&mut c, &["ZADD", "z", "INCR", "GT", "0", "a"]), None);
    // Incompatible options and malformed pairs.
    for (args, text) in [
        (
            &["ZADD", "z", "NX", "XX", "1", "a"][..],
            "ERR XX and NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "GT", "LT", "1", "a"],
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "GT", "NX", "1", "a"],
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "LT", "NX", "1", "a"],
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "INCR", "1", "a", "2", "b"],
            "ERR INCR option supports a single increment-element pair",
        ),
        (&["ZADD", "z", "1", "a", "2"], "ERR syntax error"),
        (&["ZADD", "z", "NX", "1"], "ERR syntax error"),
        (&["ZADD", "z", "NX", "XX"], "ERR syntax error"),
        (&["ZADD", "z", "x", "a"], "ERR value is not a valid float"),
        (&["ZADD", "z", "nan", "a"], "ERR value is not a valid float"),
        (
            &["ZADD", "z", "1", "a", "x", "b"],
            "ERR value is not a valid float",
        ),
        (&["ZADD", "z", " 1", "a"], "ERR value is not a valid float"),
        (
            &["ZADD", "z"],
            "ERR wrong number of arguments for 'zadd' command",
        ),
    ] {
        assert_eq!(cmd_err(&mut c, args), text, "{args:?}");
    }
    // A failed ZADD changed nothing.
    assert_eq!(opt(&mut c, &["ZSCORE", "z", "b"]).as_deref(), Some("30"));
    // XX on a missing key creates nothing.
    assert_eq!(int(&mut c, &["ZADD", "nz", "XX", "1", "a"]), 0);
    assert_eq!(opt(&mut c, &["ZADD", "nz", "XX", "INCR", "1", "a"]), None);
    assert_eq!(int(&mut c, &["EXISTS", "nz"]), 0);
}

#[test]
fn scores_print_like_redis() {
    let s = server();
    let mut c = conn(&s);
    assert_eq!(
        opt(&mut c, &["ZINCRBY", "z", "1.1", "a"]).as_deref(),
        Some("1.1000000000000001")
    );
    assert_eq!(
        opt(&mut c, &["ZSCORE", "z", "a"]).as_deref(),
        Some("1.1000000000000001")
    );
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "z", "inf", "i", "-inf", "n", "1e20", "e", "0.5", "h",
        ],
    );
    assert_eq!(
        strs(&mut c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        words("n -inf h 0.5 a 1.1000000000000001 e 1e+20 i inf")
    );
    // inf + -inf is NaN: an error, and nothing changes.
    assert_eq!(
        cmd_err(&mut c, &["ZINCRBY", "z", "-inf", "i"]),
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(
        cmd_err(&mut c, &["ZADD", "z", "INCR", "+inf", "n"]),
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(opt(&mut c, &["ZSCORE", "z", "i"]).as_deref(), Some("inf"));
    assert_eq!(
        cmd_err(&mut c, &["ZINCRBY", "z", "x", "a"]),
        "ERR value is not a valid float"
    );
    // ZINCRBY goes through ZADD's option parser, as in Redis.
    assert_eq!(
        cmd_err(&mut c, &["ZINCRBY", "z", "nx", "a"]),
        "ERR syntax error"
    );
    // -0 answers as computed and is stored as 0.
    assert_eq!(
        opt(&mut c, &["ZINCRBY", "neg", "-0", "m"]).as_deref(),
        Some("-0")
    );
    assert_eq!(opt(&mut c, &["ZSCORE", "neg", "m"]).as_deref(), Some("0"));
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["ZMSCORE", "z", "h", "nope", "i"]),
        vec![Some("0.5".to_string()), None, Some("inf".to_string())]
    );
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["ZMSCORE", "nokey", "a", "b"]),
        vec![None, None]
    );
}

// ---- arity, types, missing keys ------------------------------------------------------------------

/// Every command with one argument too few, and every command on a string key.
#[test]
fn arity_and_wrong_type() {
    let s = server();
    let mut c = conn(&s);
    for (name, args) in [
        ("zadd", &["z", "1"][..]),
        ("zincrby", &["z", "1"]),
        ("zrem", &["z"]),
        ("zcard", &[]),
        ("zscore", &["z"]),
        ("zmscore", &["z"]),
        ("zrank", &["z"]),
        ("zrevrank", &["z"]),
        ("zcount", &["z", "0"]),
        ("zlexcount", &["z", "-"]),
        ("zrange", &["z", "0"]),
        ("zrangestore", &["d", "z", "0"]),
        ("zrevrange", &["z", "0"]),
        ("zrangebyscore", &["z", "0"]),
        ("zrevrangebyscore", &["z", "0"]),
        ("zrangebylex", &["z", "-"]),
        ("zrevrangebylex", &["z", "+"]),
        ("zremrangebyrank", &["z", "0"]),
        ("zremrangebyscore", &["z", "0"]),
        ("zremrangebylex", &["z", "-"]),
        ("zpopmin", &[]),
        ("zpopmax", &[]),
        ("zmpop", &["1", "z"]),
        ("zrandmember", &[]),
        ("zunion", &["1"]),
        ("zinter", &["1"]),
        ("zdiff", &["1"]),
        ("zunionstore", &["d", "1"]),
        ("zinterstore", &["d", "1"]),
        ("zdiffstore", &["d", "1"]),
        ("zintercard", &["1"]),
        ("zscan", &["z"]),
    ] {
        let mut cmd = vec![name.to_uppercase()];
        cmd.extend(args.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
        assert_eq!(
            cmd_err(&mut c, &refs),
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
    // Exact arities: one too many.
    for args in [
        &["ZINCRBY", "z", "1", "a", "b"][..],
        &["ZCARD", "z", "x"],
        &["ZSCORE", "z", "a", "b"],
        &["ZRANK", "z", "a", "b"],
        &["ZCOUNT", "z", "0", "1", "2"],
        &["ZREMRANGEBYRANK", "z", "0", "1", "2"],
    ] {
        assert!(
            cmd_err(&mut c, args).starts_with("ERR wrong number of arguments"),
            "{args:?}"
        );
    }
    let _: () = q(&mut c, &["SET", "s", "x"]);
    for args in [
        &["ZADD", "s", "1", "a"][..],
        &["ZINCRBY", "s", "1", "a"],
        &["ZREM", "s", "a"],
        &["ZCARD", "s"],
        &["ZSCORE", "s", "a"],
        &["ZMSCORE", "s", "a"],
        &["ZRANK", "s", "a"],
        &["ZREVRANK", "s", "a"],
        &["ZCOUNT", "s", "0", "1"],
        &["ZLEXCOUNT", "s", "-", "+"],
        &["ZRANGE", "s", "0", "-1"],
        &["ZRANGESTORE", "d", "s", "0", "-1"],
        &["ZREVRANGE", "s", "0", "-1"],
        &["ZRANGEBYSCORE", "s", "0", "1"],
        &["ZREVRANGEBYSCORE", "s", "1", "0"],
        &["ZRANGEBYLEX", "s", "-", "+"],
        &["ZREVRANGEBYLEX", "s", "+", "-"],
        &["ZREMRANGEBYRANK", "s", "0", "1"],
        &["ZREMRANGEBYSCORE", "s", "0", "1"],
        &["ZREMRANGEBYLEX", "s", "-", "+"],
        &["ZPOPMIN", "s"],
        &["ZPOPMAX", "s", "2"],
        &["ZMPOP", "1", "s", "MIN"],
        &["ZRANDMEMBER", "s"],
        &["ZRANDMEMBER", "s", "0"],
        &["ZUNION", "1", "s"],
        &["ZINTER", "2", "nokey", "s"],
        &["ZDIFF", "1", "s"],
        &["ZUNIONSTORE", "d", "1", "s"],
        &["ZINTERSTORE", "d", "1", "s"],
        &["ZDIFFSTORE", "d", "1", "s"],
        &["ZINTERCARD", "1", "s"],
        &["ZSCAN", "s", "0"],
    ] {
        assert_eq!(cmd_err(&mut c, args), WRONGTYPE, "{args:?}");
    }
    // Range arguments are checked before the key, the key before the store options.
    assert_eq!(
        cmd_err(&mut c, &["ZCOUNT", "s", "x", "1"]),
        "ERR min or max is not a float"
    );
    assert_eq!(
        cmd_err(&mut c, &["ZRANGE", "s", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["ZUNION", "1", "s", "WEIGHTS", "x"]),
        WRONGTYPE
    );
    // And the zset is WRONGTYPE for the other families.
    let _: i64 = q(&mut c, &["ZADD", "z", "1", "a"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "z"]), "zset");
    for args in [
        &["GET", "z"][..],
        &["SADD", "z", "x"],
        &["HSET", "z", "f", "v"],
        &["LPUSH", "z", "x"],
    ] {
        assert_eq!(cmd_err(&mut c, args), WRONGTYPE, "{args:?}");
    }
}

#[test]
fn missing_keys() {
    let s = server();
    let mut c = conn(&s);
    assert_eq!(int(&mut c, &["ZCARD", "no"]), 0);
    assert_eq!(opt(&mut c, &["ZSCORE", "no", "a"]), None);
    assert_eq!(opt(&mut c, &["ZRANK", "no", "a"]), None);
    assert_eq!(opt(&mut c, &["ZREVRANK", "no", "a"]), None);
    assert_eq!(int(&mut c, &["ZCOUNT", "no", "-inf", "+inf"]), 0);
    assert_eq!(int(&mut c, &["ZLEXCOUNT", "no", "-", "+"]), 0);
    assert_eq!(int(&mut c, &["ZREM", "no", "a"]), 0);
    for args in [
        &["ZRANGE", "no", "0", "-1"][..],
        &["ZRANGE", "no", "0", "-1", "BYSCORE"],
        &["ZRANGEBYLEX", "no", "-", "+"],
        &["ZREVRANGE", "no", "0", "-1"],
        &["ZPOPMIN", "no"],
        &["ZPOPMAX", "no", "3"],
        &["ZRANDMEMBER", "no", "3"],
        &["ZUNION", "2", "no", "no2"],
        &["ZINTER", "1", "no"],
        &["ZDIFF", "1", "no"],
    ] {
        assert!(strs(&mut c, args).is_empty(), "{args:?}");
    }
    assert_eq!(opt(&mut c, &["ZRANDMEMBER", "no"]), None);
    assert_eq!(
        q::<Option<Vec<String>>>(&mut c, &["ZMPOP", "2", "no", "no2", "MIN"]),
        None
    );
    assert_eq!(int(&mut c, &["ZREMRANGEBYRANK", "no", "0", "-1"]), 0);
    assert_eq!(int(&mut c, &["ZREMRANGEBYSCORE", "no", "-inf", "+inf"]), 0);
    assert_eq!(int(&mut c, &["ZREMRANGEBYLEX", "no", "-", "+"]), 0);
    assert_eq!(int(&mut c, &["ZINTERCARD", "1", "no"]), 0);
    assert_eq!(int(&mut c, &["ZRANGESTORE", "d", "no", "0", "-1"]), 0);
    assert_eq!(int(&mut c, &["ZUNIONSTORE", "d", "1", "no"]), 0);
    assert_eq!(
        q::<(String, Vec<String>)>(&mut c, &["ZSCAN", "no", "0"]),
        ("0".into(), vec![])
    );
    assert_eq!(int(&mut c, &["EXISTS", "d"]), 0);
}

// ---- ranks, ties, ranges ---------------------------------------------------------------------------

#[test]
fn ties_are_ordered_by_member() {
    let s = server();
    let mut c = conn(&s);
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "t", "1", "b", "1", "a", "1", "c", "0", "z", "2", "y", "1", "ab", "1", "",
        ],
    );
    assert_eq!(
        strs(&mut c, &["ZRANGE", "t", "0", "-1"]),
        vec!["z", "", "a", "ab", "b", "c", "y"]
    );
    assert_eq!(
        strs(&mut c, &["ZREVRANGE", "t", "0", "-1"]),
        vec!["y", "c", "b", "ab", "a", "", "z"]
    );
    for (i, m) in ["z", "", "a", "ab", "b", "c", "y"].iter().enumerate() {
        assert_eq!(int(&mut c, &["ZRANK", "t", m]), i as i64, "{m}");
        assert_eq!(int(&mut c, &["ZREVRANK", "t", m]), 6 - i as i64, "{m}");
    }
    assert_eq!(opt(&mut c, &["ZRANK", "t", "nope"]), None);
    assert_eq!(
        strs(&mut c, &["ZRANGEBYSCORE", "t", "1", "1"]),
        vec!["", "a", "ab", "b", "c"]
    );
    assert_eq!(
        strs(
            &mut c,
            &["ZREVRANGEBYSCORE", "t", "1", "1", "LIMIT", "1", "2"]
        ),
        vec!["b", "ab"]
    );
    // Negative zero and zero are one score.
    let _: i64 = q(&mut c, &["ZADD", "n", "0", "b", "-0", "a"]);
    assert_eq!(
        strs(&mut c, &["ZRANGE", "n", "0", "-1", "WITHSCORES"]),
        words("a 0 b 0")
    );
}

#[test]
fn rank_and_score_ranges() {
    let s = server();
    let mut c = conn(&s);
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
    );
    let all = words("a b c d e");
    assert_eq!(strs(&mut c, &["ZRANGE", "z", "0", "-1"]), all);
    assert_eq!(strs(&mut c, &["ZRANGE", "z", "-100", "100"]), all);
    assert_eq!(
        strs(&mut c, &["ZRANGE", "z", "1", "2", "WITHSCORES"]),
        words("b 2 c 3")
    );
    assert_eq!(strs(&mut c, &["ZRANGE", "z", "-2", "-1"]), words("d e"));
    assert!(strs(&mut c, &["ZRANGE", "z", "3", "1"]).is_empty());
    assert!(strs(&mut c, &["ZRANGE", "z", "5", "10"]).is_empty());
    assert_eq!(
        strs(&mut c, &["ZRANGE", "z", "0", "1", "REV", "WITHSCORES"]),
        words("e 5 d 4")
    );
    assert_eq!(
        strs(&mut c, &["ZRANGE", "z", "-2", "-1", "REV"]),
        words("b a")
    );
    assert_eq!(strs(&mut c, &["ZREVRANGE", "z", "1", "3"]), words("d c b"));
    // Score ranges, exclusive bounds and infinities.
    assert_eq!(
        strs(&mut c, &["ZRANGE", "z", "(1", "3", "BYSCORE"]),
        words("b c")
    );
    assert_eq!(
        strs(&mut c, &["ZRANGE", "z", "1", "(3", "BYSCORE"]),
        words("a b")
    );
    assert_eq!(strs(&mut c, &["ZRANGEBYSCORE", "z", "-inf", "+inf"]), all);
    assert_eq!(
        strs(&mut c, &["ZRANGEBYSCORE", "z", "(2", "(4", "WITHSCORES"]),
        words("c 3")
    );
    assert!(strs(&mut c, &["ZRANGEBYSCORE", "z", "(3", "(3"]).is_empty());
    assert!(strs(&mut c, &["ZRANGEBYSCORE", "z", "4", "2"]).is_empty());
    assert_eq!(
        strs(&mut c, &["ZREVRANGEBYSCORE", "z", "4", "(2"]),
        words("d c")
    );
    assert_eq!(
        strs(&mut c, &["ZRANGE", "z", "4", "2", "BYSCORE", "REV"]),
        words("d c b")
    );
    // LIMIT: offsets past the end, negative counts (no limit), negative offsets (nothing).
    assert_eq!(
        strs(
            &mut c,
            &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "2"]
        ),
        words("b c")
    );
    assert_eq!(
        strs(
            &mut c,
            &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "2", "-1"]
        ),
        words("c d e")
    );
    assert_eq!(
        strs(
            &mut c,
            &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "3", "-5"]
        ),
        words("d e")
    );
    assert!(strs(
        &mut c,
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "5", "2"]
    )
    .is_empty());
    assert!(strs(
        &mut c,
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "100", "-1"]
    )
    .is_empty());
    assert!(strs(
        &mut c,
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2"]
    )
    .is_empty());
    assert!(strs(
        &mut c,
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "0", "0"]
    )
    .is_empty());
    assert_eq!(
        strs(
            &mut c,
            &[
                "ZREVRANGEBYSCORE",
                "z",
                "+inf",
                "-inf",
                "WITHSCORES",
                "LIMIT",
                "1",
                "2"
            ]
        ),
        words("d 4 c 3")
    );
    assert_eq!(
        strs(&mut c, &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "-1"]),
        all
    );
    // ZCOUNT.
    assert_eq!(int(&mut c, &["ZCOUNT", "z", "-inf", "+inf"]), 5);
    assert_eq!(int(&mut c, &["ZCOUNT", "z", "(1", "3"]), 2);
    assert_eq!(int(&mut c, &["ZCOUNT", "z", "5", "1"]), 0);
    // Errors, in Redis's order.
    for (args, text) in [
        (
            &["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"][..],
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ),
        (
            &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"],
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ),
        (
            &["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"],
            "ERR syntax error",
        ),
        (&["ZRANGE", "z", "0", "1", "REV", "REV"], "ERR syntax error"),
        (&["ZRANGE", "z", "0", "1", "LIMIT", "1"], "ERR syntax error"),
        (&["ZRANGEBYSCORE", "z", "0", "1", "REV"], "ERR syntax error"),
        (&["ZREVRANGE", "z", "0", "1", "BYSCORE"], "ERR syntax error"),
        (
            &["ZRANGESTORE", "d", "z", "0", "1", "WITHSCORES"],
            "ERR syntax error",
        ),
        (
            &["ZRANGE", "z", "x", "1"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["ZRANGE", "z", "x", "1", "BYSCORE"],
            "ERR min or max is not a float",
        ),
        (
            &["ZRANGEBYSCORE", "z", "1", "nan"],
            "ERR min or max is not a float",
        ),
        (&["ZCOUNT", "z", "1", "(x"], "ERR min or max is not a float"),
        (
            &["ZRANGEBYLEX", "z", "a", "+"],
            "ERR min or max not valid string range item",
        ),
        (
            &["ZLEXCOUNT", "z", "-", "b"],
            "ERR min or max not valid string range item",
        ),
    ] {
        assert_eq!(cmd_err(&mut c, args), text, "{args:?}");
    }
}

#[test]
fn lex_ranges() {
    let s = server();
    let mut c = conn(&s);
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "ab", "0", "",
        ],
    );
    assert_eq!(
        strs(&mut c, &["ZRANGEBYLEX", "l", "-", "+"]),
        vec!["", "a", "ab", "b", "c", "d", "e"]
    );
    assert_eq!(
        strs(&mut c, &["ZRANGEBYLEX", "l", "[b", "[d"]),
        words("b c d")
    );
    assert_eq!(strs(&mut c, &["ZRANGEBYLEX", "l", "(b", "(d"]), words("c"));
    assert_eq!(
        strs(&mut c, &["ZRANGEBYLEX", "l", "(a", "[b"]),
        words("ab b")
    );
    assert_eq!(
        strs(&mut c, &["ZRANGEBYLEX", "l", "-", "+", "LIMIT", "2", "3"]),
        words("ab b c")
    );
    assert!(strs(&mut c, &["ZRANGEBYLEX", "l", "+", "-"]).is_empty());
    assert!(strs(&mut c, &["ZRANGEBYLEX", "l", "[b", "(b"]).is_empty());
    assert_eq!(
        strs(&mut c, &["ZREVRANGEBYLEX", "l", "[d", "(b"]),
        words("d c")
    );
    assert_eq!(
        strs(
            &mut c,
            &["ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", "0", "2"]
        ),
        words("e d")
    );
    assert_eq!(
        strs(&mut c, &["ZRANGE", "l", "[d", "[b", "BYLEX", "REV"]),
        words("d c b")
    );
    assert_eq!(int(&mut c, &["ZLEXCOUNT", "l", "-", "+"]), 7);
    assert_eq!(int(&mut c, &["ZLEXCOUNT", "l", "[ab", "(d"]), 3);
    assert_eq!(int(&mut c, &["ZREMRANGEBYLEX", "l", "[b", "(d"]), 2);
    assert_eq!(
        strs(&mut c, &["ZRANGEBYLEX", "l", "-", "+"]),
        vec!["", "a", "ab", "d", "e"]
    );
    // Mixed scores follow Redis's small-zset algorithm.
    let _: i64 = q(
        &mut c,
        &["ZADD", "mix", "1", "a", "2", "z", "3", "b", "4", "c"],
    );
    assert_eq!(
        strs(&mut c, &["ZRANGEBYLEX", "mix", "[a", "[c"]),
        words("a")
    );
    assert_eq!(
        strs(
            &mut c,
            &["ZRANGEBYLEX", "mix", "[a", "[c", "LIMIT", "2", "5"]
        ),
        words("b c")
    );
    assert_eq!(
        strs(&mut c, &["ZRANGEBYLEX", "mix", "[b", "+"]),
        words("z b c")
    );
}

// ---- removal and pops -----------------------------------------------------------------------------

#[test]
fn zremrange_and_zrem() {
    let s = server();
    let mut c = conn(&s);
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f",
        ],
    );
    assert_eq!(int(&mut c, &["ZREMRANGEBYRANK", "z", "0", "0"]), 1);
    assert_eq!(int(&mut c, &["ZREMRANGEBYRANK", "z", "-1", "-1"]), 1);
    assert_eq!(int(&mut c, &["ZREMRANGEBYRANK", "z", "10", "20"]), 0);
    assert_eq!(int(&mut c, &["ZREMRANGEBYSCORE", "z", "(2", "4"]), 2);
    assert_eq!(strs(&mut c, &["ZRANGE", "z", "0", "-1"]), words("b e"));
    assert_eq!(int(&mut c, &["ZREM", "z", "b", "x", "b"]), 1);
    assert_eq!(int(&mut c, &["ZREMRANGEBYSCORE", "z", "-inf", "+inf"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "z"]), 0);
    assert_eq!(
        cmd_err(&mut c, &["ZREMRANGEBYRANK", "z", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
    // A sliding window: removing from -inf again and again stays correct.
    for i in 0..200 {
        let _: i64 = q(&mut c, &["ZADD", "w", &i.to_string(), &format!("e{i}")]);
        if i >= 50 {
            assert_eq!(
                int(
                    &mut c,
                    &["ZREMRANGEBYSCORE", "w", "-inf", &format!("({}", i - 49)]
                ),
                1
            );
            assert_eq!(int(&mut c, &["ZCARD", "w"]), 50);
            assert_eq!(
                strs(&mut c, &["ZRANGE", "w", "0", "0"]),
                vec![format!("e{}", i - 49)]
            );
        }
    }
}

#[test]
fn pops_and_zmpop() {
    let s = server();
    let mut c = conn(&s);
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "5", "f",
        ],
    );
    assert_eq!(strs(&mut c, &["ZPOPMIN", "p"]), words("a 1"));
    assert_eq!(strs(&mut c, &["ZPOPMAX", "p"]), words("f 5"));
    assert_eq!(strs(&mut c, &["ZPOPMIN", "p", "2"]), words("b 2 c 3"));
    assert!(strs(&mut c, &["ZPOPMAX", "p", "0"]).is_empty());
    assert_eq!(
        cmd_err(&mut c, &["ZPOPMIN", "p", "-1"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        cmd_err(&mut c, &["ZPOPMIN", "p", "x"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        cmd_err(&mut c, &["ZPOPMIN", "p", "1", "2"]),
        "ERR syntax error"
    );
    assert_eq!(strs(&mut c, &["ZPOPMAX", "p", "100"]), words("e 5 d 4"));
    assert_eq!(int(&mut c, &["EXISTS", "p"]), 0);
    assert!(strs(&mut c, &["ZPOPMIN", "p"]).is_empty());
    let _: i64 = q(&mut c, &["ZADD", "p", "1", "a", "2", "b", "3", "c"]);
    let r: (String, Vec<(String, String)>) =
        q(&mut c, &["ZMPOP", "2", "nokey", "p", "MAX", "COUNT", "2"]);
    assert_eq!(
        r,
        (
            "p".into(),
            vec![("c".into(), "3".into()), ("b".into(), "2".into())]
        )
    );
    let r: (String, Vec<(String, String)>) = q(&mut c, &["ZMPOP", "1", "p", "MIN", "COUNT", "5"]);
    assert_eq!(r, ("p".into(), vec![("a".into(), "1".into())]));
    assert_eq!(
        q::<Option<Vec<String>>>(&mut c, &["ZMPOP", "1", "p", "MIN"]),
        None
    );
    for (args, text) in [
        (
            &["ZMPOP", "0", "p", "MIN"][..],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["ZMPOP", "x", "p", "MIN"],
            "ERR numkeys should be greater than 0",
        ),
        (&["ZMPOP", "2", "p", "MIN"], "ERR syntax error"),
        (&["ZMPOP", "1", "p", "MID"], "ERR syntax error"),
        (
            &["ZMPOP", "1", "p", "MIN", "COUNT", "0"],
            "ERR count should be greater than 0",
        ),
        (
            &["ZMPOP", "1", "p", "MIN", "COUNT", "1", "COUNT", "1"],
            "ERR syntax error",
        ),
    ] {
        assert_eq!(cmd_err(&mut c, args), text, "{args:?}");
    }
}

/// 1 000 ZPOPMINs from a 2 000-member zset each answer the smallest member left; members added
/// below what was popped (or above what ZPOPMAX took) are found again.
#[test]
fn pops_as_a_queue() {
    let s = server();
    let mut c = conn(&s);
    fill(&mut c, "q", 0..2000, |i| i as f64);
    for i in 0..1000u64 {
        assert_eq!(
            strs(&mut c, &["ZPOPMIN", "q"]),
            vec![format!("m{i:06}"), i.to_string()]
        );
    }
    assert_eq!(int(&mut c, &["ZCARD", "q"]), 1000);
    assert_eq!(strs(&mut c, &["ZRANGE", "q", "0", "0"]), vec!["m001000"]);
    assert_eq!(int(&mut c, &["ZRANK", "q", "m001500"]), 500);
    for i in 0..500u64 {
        let top = 1999 - i;
        assert_eq!(
            strs(&mut c, &["ZPOPMAX", "q"]),
            vec![format!("m{top:06}"), top.to_string()]
        );
    }
    assert_eq!(strs(&mut c, &["ZRANGE", "q", "-1", "-1"]), vec!["m001499"]);
    // Below the popped front and above the popped back.
    let _: i64 = q(
        &mut c,
        &["ZADD", "q", "5", "low", "3000", "high", "1200.5", "mid"],
    );
    assert_eq!(
        strs(&mut c, &["ZRANGE", "q", "0", "0", "WITHSCORES"]),
        words("low 5")
    );
    assert_eq!(strs(&mut c, &["ZREVRANGE", "q", "0", "0"]), vec!["high"]);
    assert_eq!(strs(&mut c, &["ZPOPMIN", "q"]), words("low 5"));
    assert_eq!(strs(&mut c, &["ZPOPMAX", "q"]), words("high 3000"));
    assert_eq!(int(&mut c, &["ZRANK", "q", "mid"]), 201);
    assert_eq!(int(&mut c, &["ZCARD", "q"]), 501);
    // A pipeline of pops (one storage context on Talus) pops each member once.
    let mut pipe = redis::pipe();
    for _ in 0..100 {
        pipe.cmd("ZPOPMIN").arg("q");
    }
    let popped: Vec<Vec<String>> = pipe.query(&mut c).expect("pipeline");
    let expected: Vec<Vec<String>> = (1000..1100u64)
        .map(|i| vec![format!("m{i:06}"), i.to_string()])
        .collect();
    assert_eq!(popped, expected);
    assert_eq!(int(&mut c, &["ZCARD", "q"]), 401);
}

// ---- store commands and aggregation -------------------------------------------------------------

#[test]
fn store_commands_replace_any_destination() {
    let s = server();
    let mut c = conn(&s);
    let _: i64 = q(&mut c, &["ZADD", "a", "1", "x", "2", "y", "3", "z"]);
    let _: i64 = q(&mut c, &["ZADD", "b", "10", "y", "20", "w"]);
    let store_cmds: Vec<Vec<&str>> = vec![
        vec!["ZUNIONSTORE", "d", "2", "a", "b"],
        vec!["ZINTERSTORE", "d", "2", "a", "b"],
        vec!["ZDIFFSTORE", "d", "2", "a", "b"],
        vec!["ZRANGESTORE", "d", "a", "0", "1"],
    ];
    let expected = [
        words("x 1 z 3 y 12 w 20"),
        words("y 12"),
        words("x 1 z 3"),
        words("x 1 y 2"),
    ];
    for (cmd, want) in store_cmds.iter().zip(&expected) {
        for setup in [
            &["SET", "d", "str"][..],
            &["RPUSH", "d", "l"],
            &["HSET", "d", "f", "v"],
            &["SADD", "d", "m"],
            &["ZADD", "d", "9", "old"],
        ] {
            let _: i64 = q(&mut c, &["DEL", "d"]);
            let _: redis::Value = q(&mut c, setup);
            let _: i64 = q(&mut c, &["EXPIRE", "d", "100"]);
            assert_eq!(
                int(&mut c, cmd),
                (want.len() / 2) as i64,
                "{cmd:?} over {setup:?}"
            );
            assert_eq!(q::<String>(&mut c, &["TYPE", "d"]), "zset");
            assert_eq!(
                int(&mut c, &["TTL", "d"]),
                -1,
                "the destination is a new key"
            );
            assert_eq!(
                &strs(&mut c, &["ZRANGE", "d", "0", "-1", "WITHSCORES"]),
                want
            );
        }
    }
    // An empty result deletes the destination.
    let _: () = q(&mut c, &["SET", "d", "str"]);
    assert_eq!(int(&mut c, &["ZINTERSTORE", "d", "2", "a", "nokey"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "d"]), 0);
    // The destination may be a source.
    assert_eq!(
        int(
            &mut c,
            &["ZUNIONSTORE", "a", "2", "a", "b", "WEIGHTS", "2", "1"]
        ),
        4
    );
    assert_eq!(
        strs(&mut c, &["ZRANGE", "a", "0", "-1", "WITHSCORES"]),
        words("x 2 z 6 y 14 w 20")
    );
    assert_eq!(int(&mut c, &["ZRANGESTORE", "a", "a", "1", "2"]), 2);
    assert_eq!(
        strs(&mut c, &["ZRANGE", "a", "0", "-1", "WITHSCORES"]),
        words("z 6 y 14")
    );
    assert_eq!(int(&mut c, &["ZDIFFSTORE", "b", "2", "b", "a"]), 1);
    assert_eq!(strs(&mut c, &["ZRANGE", "b", "0", "-1"]), words("w"));
}

#[test]
fn aggregation_weights_and_infinities() {
    let s = server();
    let mut c = conn(&s);
    let _: i64 = q(&mut c, &["ZADD", "a", "1", "x", "2", "y", "3", "z"]);
    let _: i64 = q(&mut c, &["ZADD", "b", "10", "y", "20", "z", "30", "w"]);
    let _: i64 = q(&mut c, &["SADD", "s", "x", "w", "q"]);
    assert_eq!(
        strs(&mut c, &["ZUNION", "2", "a", "b", "WITHSCORES"]),
        words("x 1 y 12 z 23 w 30")
    );
    assert_eq!(
        strs(
            &mut c,
            &["ZUNION", "2", "a", "b", "WEIGHTS", "2", "0.5", "WITHSCORES"]
        ),
        words("x 2 y 9 w 15 z 16")
    );
    assert_eq!(
        strs(
            &mut c,
            &["ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"]
        ),
        words("x 1 y 2 z 3 w 30")
    );
    assert_eq!(
        strs(
            &mut c,
            &["ZINTER", "2", "a", "b", "AGGREGATE", "MAX", "WITHSCORES"]
        ),
        words("y 10 z 20")
    );
    // Sets count as score 1.
    assert_eq!(
        strs(&mut c, &["ZUNION", "2", "a", "s", "WITHSCORES"]),
        words("q 1 w 1 x 2 y 2 z 3")
    );
    assert_eq!(
        strs(&mut c, &["ZINTER", "2", "b", "s", "WITHSCORES"]),
        words("w 31")
    );
    assert_eq!(
        strs(&mut c, &["ZDIFF", "2", "s", "a", "WITHSCORES"]),
        words("q 1 w 1")
    );
    assert_eq!(int(&mut c, &["ZINTERCARD", "2", "a", "b"]), 2);
    assert_eq!(int(&mut c, &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]), 1);
    // inf + -inf is 0 in a SUM, and a weight of 0 times inf is 0.
    let _: i64 = q(&mut c, &["ZADD", "i1", "inf", "x", "-inf", "y", "1", "z"]);
    let _: i64 = q(&mut c, &["ZADD", "i2", "-inf", "x", "inf", "y", "0", "z"]);
    assert_eq!(
        strs(&mut c, &["ZUNION", "2", "i1", "i2", "WITHSCORES"]),
        words("x 0 y 0 z 1")
    );
    assert_eq!(
        strs(&mut c, &["ZINTER", "2", "i1", "i2", "WITHSCORES"]),
        words("x 0 y 0 z 1")
    );
    assert_eq!(
        strs(
            &mut c,
            &["ZUNION", "2", "i1", "i2", "WEIGHTS", "0", "1", "WITHSCORES"]
        ),
        words("x -inf z 0 y inf")
    );
    assert_eq!(int(&mut c, &["ZUNIONSTORE", "d", "2", "i1", "i2"]), 3);
    assert_eq!(
        strs(&mut c, &["ZRANGE", "d", "0", "-1", "WITHSCORES"]),
        words("x 0 y 0 z 1")
    );
    for (args, text) in [
        (
            &["ZUNION", "0", "a"][..],
            "ERR at least 1 input key is needed for 'zunion' command",
        ),
        (
            &["ZUNIONSTORE", "d", "0", "a"],
            "ERR at least 1 input key is needed for 'zunionstore' command",
        ),
        (
            &["ZINTERCARD", "0", "a"],
            "ERR at least 1 input key is needed for 'zintercard' command",
        ),
        (
            &["ZUNION", "x", "a"],
            "ERR value is not an integer or out of range",
        ),
        (&["ZUNION", "2", "a"], "ERR syntax error"),
        (
            &["ZUNION", "1", "a", "WEIGHTS", "x"],
            "ERR weight value is not a float",
        ),
        (
            &["ZUNION", "1", "a", "WEIGHTS", "1", "2"],
            "ERR syntax error",
        ),
        (
            &["ZUNION", "1", "a", "AGGREGATE", "avg"],
            "ERR syntax error",
        ),
        (&["ZDIFF", "1", "a", "WEIGHTS", "1"], "ERR syntax error"),
        (
            &["ZUNIONSTORE", "d", "1", "a", "WITHSCORES"],
            "ERR syntax error",
        ),
        (
            &["ZINTERCARD", "1", "a", "LIMIT", "-1"],
            "ERR LIMIT can't be negative",
        ),
        (&["ZINTERCARD", "1", "a", "WITHSCORES"], "ERR syntax error"),
    ] {
        assert_eq!(cmd_err(&mut c, args), text, "{args:?}");
    }
}

// ---- large zsets ----------------------------------------------------------------------------------

#[test]
fn range_over_100_000_members() {
    let s = server();
    let mut c = conn(&s);
    // Scores out of member order, so the index (not the member order) decides.
    fill(&mut c, "big", 0..100_000, |i| ((i * 7919) % 100_000) as f64);
    assert_eq!(int(&mut c, &["ZCARD", "big"]), 100_000);
    let all = strs(&mut c, &["ZRANGE", "big", "0", "-1", "WITHSCORES"]);
    assert_eq!(all.len(), 200_000);
    for (rank, pair) in all.chunks(2).enumerate() {
        assert_eq!(pair[1], rank.to_string(), "score at rank {rank}");
        let i: u64 = pair[0][1..].parse().expect("member");
        assert_eq!((i * 7919) % 100_000, rank as u64, "member at rank {rank}");
    }
    let page = strs(
        &mut c,
        &[
            "ZRANGEBYSCORE",
            "big",
            "50000",
            "+inf",
            "WITHSCORES",
            "LIMIT",
            "10",
            "3",
        ],
    );
    assert_eq!(page[1], "50010");
    assert_eq!(page[3], "50011");
    assert_eq!(page[5], "50012");
    assert_eq!(int(&mut c, &["ZCOUNT", "big", "(1000", "2000"]), 1000);
    assert_eq!(
        strs(&mut c, &["ZREVRANGE", "big", "0", "1", "WITHSCORES"])[1],
        "99999"
    );
    assert_eq!(
        strs(&mut c, &["ZRANGE", "big", "99998", "99999", "WITHSCORES"])[3],
        "99999"
    );
    assert_eq!(
        strs(&mut c, &["ZRANGE", "big", "50000", "50000", "WITHSCORES"])[1],
        "50000"
    );
    let m = &all[2 * 77_777];
    assert_eq!(int(&mut c, &["ZRANK", "big", m]), 77_777);
    assert_eq!(int(&mut c, &["ZREVRANK", "big", m]), 100_000 - 1 - 77_777);
    assert_eq!(
        strs(&mut c, &["ZRANGEBYSCORE", "big", "(99990", "+inf"]).len(),
        9
    );
    assert_eq!(
        strs(
            &mut c,
            &[
                "ZREVRANGEBYSCORE",
                "big",
                "+inf",
                "-inf",
                "LIMIT",
                "99998",
                "10"
            ]
        )
        .len(),
        2
    );
}

#[test]
fn zrandmember_picks() {
    let s = server();
    let mut c = conn(&s);
    fill(&mut c, "r", 0..20, |i| i as f64);
    let scores: BTreeMap<String, String> = (0..20u64)
        .map(|i| (format!("m{i:06}"), i.to_string()))
        .collect();
    // Positive counts: distinct members.
    for n in [1usize, 5, 19, 20, 50] {
        let got = strs(&mut c, &["ZRANDMEMBER", "r", &n.to_string()]);
        assert_eq!(got.len(), n.min(20));
        assert_eq!(
            got.iter().collect::<HashSet<_>>().len(),
            got.len(),
            "distinct for {n}"
        );
        assert!(got.iter().all(|m| scores.contains_key(m)));
    }
    // Negative counts: exactly that many, repetitions allowed (and, over 200 picks of 20, seen).
    let got = strs(&mut c, &["ZRANDMEMBER", "r", "-200"]);
    assert_eq!(got.len(), 200);
    let distinct: HashSet<_> = got.iter().collect();
    assert!(
        distinct.len() < 200 && distinct.len() >= 10,
        "{} distinct",
        distinct.len()
    );
    // WITHSCORES pairs each member with its score.
    for n in ["7", "-30"] {
        let got = strs(&mut c, &["ZRANDMEMBER", "r", n, "WITHSCORES"]);
        for p in got.chunks(2) {
            assert_eq!(scores.get(&p[0]), Some(&p[1]));
        }
    }
    // Without a count: one member; every member comes up.
    let mut seen = BTreeSet::new();
    for _ in 0..400 {
        seen.insert(opt(&mut c, &["ZRANDMEMBER", "r"]).expect("a member"));
    }
    assert_eq!(seen.len(), 20);
    // A large zset: distinct picks, and counts near the size.
    fill(&mut c, "big", 0..5000, |i| i as f64);
    for n in [10usize, 3000, 4999] {
        let got = strs(&mut c, &["ZRANDMEMBER", "big", &n.to_string()]);
        assert_eq!(got.len(), n);
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), n);
    }
    assert_eq!(strs(&mut c, &["ZRANDMEMBER", "big", "-7000"]).len(), 7000);
    assert_eq!(
        cmd_err(
            &mut c,
            &["ZRANDMEMBER", "r", "4611686018427387904", "WITHSCORES"]
        ),
        "ERR value is out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["ZRANDMEMBER", "r", "1", "WITHSCORE"]),
        "ERR syntax error"
    );
}

/// Runs ZSCAN to the end: (member → score, calls).
fn zscan_all(c: &mut Connection, key: &str, extra: &[&str]) -> (BTreeMap<String, String>, usize) {
    let mut cursor = "0".to_string();
    let mut out = BTreeMap::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["ZSCAN", key, &cursor];
        args.extend_from_slice(extra);
        let (next, items): (String, Vec<String>) = q(c, &args);
        calls += 1;
        for p in items.chunks(2) {
            out.insert(p[0].clone(), p[1].clone());
        }
        if next == "0" {
            return (out, calls);
        }
        cursor = next;
        assert!(calls < 100_000, "ZSCAN does not end");
    }
}

#[test]
fn zscan_returns_every_member() {
    let s = server();
    let mut c = conn(&s);
    // Small: everything at once, in score order.
    let _: i64 = q(
        &mut c,
        &["ZADD", "small", "3", "c", "1", "a", "2", "b", "1.5", "ab"],
    );
    let (cursor, items): (String, Vec<String>) = q(&mut c, &["ZSCAN", "small", "0", "COUNT", "1"]);
    assert_eq!((cursor.as_str(), items), ("0", words("a 1 ab 1.5 b 2 c 3")));
    let (_, items): (String, Vec<String>) = q(&mut c, &["ZSCAN", "small", "0", "MATCH", "a*"]);
    assert_eq!(items, words("a 1 ab 1.5"));
    // Large: cursors; every member exactly with its score.
    fill(&mut c, "big", 0..3000, |i| i as f64 / 2.0);
    let (all, calls) = zscan_all(&mut c, "big", &["COUNT", "100"]);
    assert_eq!(all.len(), 3000);
    assert!(calls >= 3, "{calls} calls");
    for (m, s) in &all {
        let i: f64 = m[1..].parse().expect("member");
        assert_eq!(s.parse::<f64>().expect("score"), i / 2.0);
    }
    let (some, _) = zscan_all(&mut c, "big", &["MATCH", "m00299*"]);
    assert_eq!(some.len(), 10);
    assert_eq!(
        cmd_err(&mut c, &["ZSCAN", "big", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["ZSCAN", "big", "x"]),
        "ERR invalid cursor"
    );
}

// ---- concurrency ----------------------------------------------------------------------------------

#[test]
fn concurrent_writers_are_exact() {
    let s = TestServer::start(&[]);
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let _: String = q(&mut c, &["ZINCRBY", "z", "1", "shared"]);
                    let _: i64 = q(&mut c, &["ZADD", "z", &i.to_string(), &format!("t{t}-{i}")]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let mut c = s.conn();
    assert_eq!(
        opt(&mut c, &["ZSCORE", "z", "shared"]).as_deref(),
        Some("1600")
    );
    assert_eq!(int(&mut c, &["ZCARD", "z"]), 1601);
    assert_eq!(strs(&mut c, &["ZRANGE", "z", "0", "-1"]).len(), 1601);
    // Concurrent pops: each member exactly once.
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    let r = strs(&mut c, &["ZPOPMIN", "z", "7"]);
                    if r.is_empty() {
                        return got;
                    }
                    got.extend(r.chunks(2).map(|p| p[0].clone()));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        all.extend(t.join().expect("thread"));
    }
    assert_eq!(all.len(), 1601);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 1601);
    assert_eq!(int(&mut c, &["EXISTS", "z"]), 0);
}

// ---- generic key commands, expiry, restart, storage ----------------------------------------------

#[test]
fn generic_key_commands_on_zsets() {
    let s = server();
    let mut c = conn(&s);
    let _: i64 = q(&mut c, &["ZADD", "z", "1", "a", "2", "b"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "z"]), "zset");
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "listpack"
    );
    assert!(int(&mut c, &["MEMORY", "USAGE", "z"]) > 0);
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "TYPE", "zset"]);
    assert_eq!(keys, vec!["z"]);
    assert_eq!(int(&mut c, &["EXPIRE", "z", "100"]), 1);
    let _: () = q(&mut c, &["RENAME", "z", "z2"]);
    assert!(int(&mut c, &["TTL", "z2"]) > 90);
    assert_eq!(
        strs(&mut c, &["ZRANGE", "z2", "0", "-1", "WITHSCORES"]),
        words("a 1 b 2")
    );
    assert_eq!(int(&mut c, &["COPY", "z2", "z3"]), 1);
    assert_eq!(int(&mut c, &["ZADD", "z3", "3", "c"]), 1);
    assert_eq!(int(&mut c, &["ZCARD", "z2"]), 2);
    assert_eq!(strs(&mut c, &["ZRANGE", "z3", "0", "-1"]), words("a b c"));
    assert_eq!(int(&mut c, &["MOVE", "z3", "1"]), 1);
    let _: () = q(&mut c, &["SELECT", "1"]);
    assert_eq!(
        strs(&mut c, &["ZRANGEBYSCORE", "z3", "2", "3"]),
        words("b c")
    );
    let _: () = q(&mut c, &["SELECT", "0"]);
    // Encodings as redis-server 7.0 reports them by size.
    fill(&mut c, "enc", 0..128, |i| i as f64);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "enc"]),
        "listpack"
    );
    fill(&mut c, "enc", 128..129, |i| i as f64);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "enc"]),
        "skiplist"
    );
    let long = "x".repeat(65);
    let _: i64 = q(&mut c, &["ZADD", "enc2", "1", &long]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "enc2"]),
        "skiplist"
    );
    // After pops (which move the meta's water marks), the encoding still sees every member.
    fill(&mut c, "enc3", 0..10, |i| i as f64);
    let _: Vec<String> = q(&mut c, &["ZPOPMIN", "enc3", "3"]);
    let _: i64 = q(&mut c, &["ZADD", "enc3", "100", &long]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "enc3"]),
        "skiplist"
    );
    assert_eq!(int(&mut c, &["DEL", "z2", "enc", "enc2", "enc3"]), 4);
    assert_eq!(int(&mut c, &["ZCARD", "z2"]), 0);
    assert_eq!(int(&mut c, &["ZADD", "z2", "5", "n"]), 1);
    assert_eq!(strs(&mut c, &["ZRANGE", "z2", "0", "-1"]), words("n"));
}

#[test]
fn expiry_of_a_zset() {
    let s = server();
    let mut c = conn(&s);
    fill(&mut c, "e", 0..20_000, |i| i as f64);
    assert_eq!(int(&mut c, &["PEXPIRE", "e", "50"]), 1);
    assert!(wait_until(Duration::from_secs(10), || {
        int(&mut c, &["EXISTS", "e"]) == 0
    }));
    assert_eq!(int(&mut c, &["ZCARD", "e"]), 0);
    assert_eq!(opt(&mut c, &["ZSCORE", "e", "m000007"]), None);
    // A write after expiry starts a new zset: nothing old comes back.
    assert_eq!(int(&mut c, &["ZADD", "e", "1", "x"]), 1);
    assert_eq!(strs(&mut c, &["ZRANGE", "e", "0", "-1"]), words("x"));
    assert_eq!(int(&mut c, &["ZCOUNT", "e", "-inf", "+inf"]), 1);
    assert_eq!(int(&mut c, &["TTL", "e"]), -1);
}

#[test]
fn restart_keeps_zsets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let before;
    {
        let mut s = TestServer::start_in(&dir, &[]);
        let mut c = s.conn();
        fill(&mut c, "z", 0..500, |i| (i % 50) as f64);
        let _: Vec<String> = q(&mut c, &["ZPOPMIN", "z", "10"]);
        let _: Vec<String> = q(&mut c, &["ZPOPMAX", "z", "10"]);
        before = strs(&mut c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]);
        s.kill9();
    }
    let s = TestServer::start_in(&dir, &[]);
    let mut c = s.conn();
    assert_eq!(int(&mut c, &["ZCARD", "z"]), 480);
    assert_eq!(
        strs(&mut c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        before
    );
    assert_eq!(strs(&mut c, &["ZPOPMIN", "z"]), before[..2].to_vec());
}

/// A deleted zset (and one emptied by pops) leaves no `data` or `zset_score` entries once
/// compacted, while a live one keeps exactly its own.
#[test]
fn deleted_zset_leaves_no_entries_after_compaction() {
    use talus::storage::{Store, StoreOptions, CF_DATA, CF_SCORE};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    {
        let mut s = TestServer::start_in(&dir, &[]);
        let mut c = s.conn();
        fill(&mut c, "gone", 0..20_000, |i| i as f64);
        fill(&mut c, "popped", 0..1000, |i| i as f64);
        fill(&mut c, "kept", 0..300, |i| i as f64);
        assert_eq!(int(&mut c, &["DEL", "gone"]), 1);
        let _: Vec<String> = q(&mut c, &["ZPOPMIN", "popped", "1000"]);
        assert_eq!(q::<String>(&mut c, &["COMPACT"]), "OK");
        s.terminate();
    }
    let store = Store::open(&dir, &StoreOptions::default()).expect("open");
    assert_eq!(store.count_entries(CF_DATA), 300);
    assert_eq!(store.count_entries(CF_SCORE), 300);
}
