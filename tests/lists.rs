//! Integration tests of the list commands through the real server: every command and option,
//! arity and type errors, missing keys, negative and out-of-range indexes, LINSERT and LREM in
//! the middle of 10 000-element lists against a `Vec` model, a random mix of operations
//! against a model, expiry, the generic key commands on lists, restart, consistent reads under
//! a concurrent writer, and what compaction leaves on disk.
//!
//! The tests built on `server()` also run against redis-server (`TALUS_TEST_REDIS=1`), which
//! checks the expectations themselves.

mod common;

use common::cmds::{arr, bulk, int, ok, r, run, server, Srv};
use common::query::WRONGTYPE;
use common::{cmd_err, TestServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redis::{Connection, Value};
use std::collections::VecDeque;

/// The error text of a command that must fail.
fn e(con: &mut Connection, args: &[&str]) -> String {
    let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    match run(con, &raw) {
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
        Err(text) => text,
    }
}

fn bulks(items: &[&str]) -> Value {
    arr(items.iter().map(|s| bulk(s)).collect())
}

fn all(con: &mut Connection, key: &str) -> Vec<String> {
    redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query(con)
        .expect("LRANGE")
}

/// RPUSHes `items` in batches of 1000.
fn fill(con: &mut Connection, key: &str, items: &[String]) {
    for chunk in items.chunks(1000) {
        let _: i64 = redis::cmd("RPUSH")
            .arg(key)
            .arg(chunk)
            .query(con)
            .expect("RPUSH");
    }
}

fn info_field(con: &mut Connection, section: &str, field: &str) -> String {
    let text: String = redis::cmd("INFO").arg(section).query(con).expect("INFO");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
        .trim()
        .to_string()
}

// ---- pushes and pops --------------------------------------------------------------------------

#[test]
fn pushes_and_pops() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["LPUSH", "l", "c", "b", "a"]), int(3));
    assert_eq!(r(&mut c, &["RPUSH", "l", "d", "e"]), int(5));
    assert_eq!(all(&mut c, "l"), ["a", "b", "c", "d", "e"]);
    assert_eq!(r(&mut c, &["LPUSHX", "l", "z"]), int(6));
    assert_eq!(r(&mut c, &["RPUSHX", "l", "y1", "y2"]), int(8));
    assert_eq!(r(&mut c, &["LPUSHX", "nokey", "x"]), int(0));
    assert_eq!(r(&mut c, &["RPUSHX", "nokey", "x", "y"]), int(0));
    assert_eq!(r(&mut c, &["EXISTS", "nokey"]), int(0));
    assert_eq!(r(&mut c, &["LLEN", "l"]), int(8));
    assert_eq!(r(&mut c, &["LLEN", "nokey"]), int(0));
    assert_eq!(r(&mut c, &["LPOP", "l"]), bulk("z"));
    assert_eq!(r(&mut c, &["RPOP", "l"]), bulk("y2"));
    assert_eq!(r(&mut c, &["LPOP", "l", "2"]), bulks(&["a", "b"]));
    // RPOP with a count answers from the tail backwards.
    assert_eq!(r(&mut c, &["RPOP", "l", "2"]), bulks(&["y1", "e"]));
    assert_eq!(r(&mut c, &["LPOP", "l", "0"]), arr(vec![]));
    assert_eq!(r(&mut c, &["RPOP", "l", "1"]), bulks(&["d"]));
    assert_eq!(r(&mut c, &["LPOP", "l", "100"]), bulks(&["c"]));
    // The emptied list is gone.
    assert_eq!(r(&mut c, &["EXISTS", "l"]), int(0));
    assert_eq!(
        r(&mut c, &["TYPE", "l"]),
        Value::SimpleString("none".into())
    );
    assert_eq!(r(&mut c, &["LPOP", "l"]), Value::Nil);
    assert_eq!(r(&mut c, &["RPOP", "l", "3"]), Value::Nil);
    assert_eq!(r(&mut c, &["LPOP", "l", "0"]), Value::Nil);
    // Pushing onto the same end several elements reverses them (LPUSH).
    assert_eq!(r(&mut c, &["LPUSH", "m", "1", "2", "3"]), int(3));
    assert_eq!(all(&mut c, "m"), ["3", "2", "1"]);
    // A queue: what goes in at one end leaves at the other, in order.
    for i in 0..300 {
        r(&mut c, &["RPUSH", "q", &i.to_string()]);
    }
    for i in 0..300 {
        assert_eq!(r(&mut c, &["LPOP", "q"]), bulk(&i.to_string()));
    }
    assert_eq!(r(&mut c, &["EXISTS", "q"]), int(0));
    // Binary-safe values, the empty string included.
    let raw: &[&[u8]] = &[b"RPUSH", b"bin", b"\x00\xff", b"", b"a\r\nb"];
    assert_eq!(run(&mut c, raw), Ok(int(3)));
    assert_eq!(
        r(&mut c, &["LRANGE", "bin", "0", "-1"]),
        arr(vec![
            Value::BulkString(b"\x00\xff".to_vec()),
            bulk(""),
            bulk("a\r\nb")
        ])
    );
}

#[test]
fn pop_counts_and_their_errors() {
    let s = server();
    let mut c = s.conn();
    r(&mut c, &["RPUSH", "l", "a", "b"]);
    let positive = "ERR value is out of range, must be positive";
    assert_eq!(e(&mut c, &["LPOP", "l", "-1"]), positive);
    assert_eq!(e(&mut c, &["RPOP", "l", "x"]), positive);
    assert_eq!(e(&mut c, &["LPOP", "nokey", "1.5"]), positive);
    assert_eq!(
        e(&mut c, &["LPOP", "l", "1", "2"]),
        "ERR wrong number of arguments for 'lpop' command"
    );
    assert_eq!(
        e(&mut c, &["RPOP", "l", "1", "2"]),
        "ERR wrong number of arguments for 'rpop' command"
    );
    assert_eq!(
        r(&mut c, &["RPOP", "l", "9223372036854775807"]),
        bulks(&["b", "a"])
    );
    r(&mut c, &["SET", "s", "v"]);
    assert_eq!(e(&mut c, &["LPOP", "s", "0"]), WRONGTYPE);
    assert_eq!(e(&mut c, &["RPOP", "s"]), WRONGTYPE);
}

// ---- LINDEX, LRANGE, LSET ---------------------------------------------------------------------

#[test]
fn indexes_negative_and_out_of_range() {
    let s = server();
    let mut c = s.conn();
    // Move the head and the tail away from where the list started.
    r(
        &mut c,
        &["RPUSH", "l", "x", "a", "b", "c", "d", "e", "f", "y"],
    );
    r(&mut c, &["LPOP", "l"]);
    r(&mut c, &["RPOP", "l"]);
    let cases: &[(&str, Option<&str>)] = &[
        ("0", Some("a")),
        ("5", Some("f")),
        ("6", None),
        ("-1", Some("f")),
        ("-6", Some("a")),
        ("-7", None),
        ("9223372036854775807", None),
        ("-9223372036854775808", None),
    ];
    for (i, want) in cases {
        let got = r(&mut c, &["LINDEX", "l", i]);
        assert_eq!(got, want.map_or(Value::Nil, bulk), "LINDEX {i}");
    }
    let ranges: &[(&str, &str, &[&str])] = &[
        ("0", "-1", &["a", "b", "c", "d", "e", "f"]),
        ("1", "3", &["b", "c", "d"]),
        ("-3", "-1", &["d", "e", "f"]),
        ("-100", "100", &["a", "b", "c", "d", "e", "f"]),
        ("3", "1", &[]),
        ("6", "10", &[]),
        ("-1", "-3", &[]),
        ("5", "5", &["f"]),
        ("-100", "-7", &[]),
        ("-100", "-6", &["a"]),
        (
            "-9223372036854775808",
            "9223372036854775807",
            &["a", "b", "c", "d", "e", "f"],
        ),
    ];
    for (start, stop, want) in ranges {
        assert_eq!(
            r(&mut c, &["LRANGE", "l", start, stop]),
            bulks(want),
            "LRANGE {start} {stop}"
        );
    }
    assert_eq!(r(&mut c, &["LINDEX", "nokey", "x"]), Value::Nil);
    assert_eq!(
        e(&mut c, &["LINDEX", "l", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        e(&mut c, &["LRANGE", "nokey", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(r(&mut c, &["LRANGE", "nokey", "0", "-1"]), arr(vec![]));
    // LSET
    assert_eq!(r(&mut c, &["LSET", "l", "0", "A"]), ok());
    assert_eq!(r(&mut c, &["LSET", "l", "-1", "F"]), ok());
    assert_eq!(r(&mut c, &["LSET", "l", "-4", "C"]), ok());
    assert_eq!(all(&mut c, "l"), ["A", "b", "C", "d", "e", "F"]);
    assert_eq!(
        e(&mut c, &["LSET", "l", "6", "x"]),
        "ERR index out of range"
    );
    assert_eq!(
        e(&mut c, &["LSET", "l", "-7", "x"]),
        "ERR index out of range"
    );
    assert_eq!(
        e(&mut c, &["LSET", "l", "x", "v"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(e(&mut c, &["LSET", "nokey", "0", "v"]), "ERR no such key");
    // The key is looked up before the index is parsed.
    assert_eq!(e(&mut c, &["LSET", "nokey", "x", "v"]), "ERR no such key");
    assert_eq!(r(&mut c, &["EXISTS", "nokey"]), int(0));
}

// ---- LTRIM ------------------------------------------------------------------------------------

#[test]
fn ltrim_matches_a_model() {
    let s = server();
    let mut c = s.conn();
    let items: Vec<String> = (0..1000).map(|i| format!("e{i}")).collect();
    let cases: &[(i64, i64)] = &[
        (1, -2),
        (0, 100),
        (-2, -1),
        (10, 10),
        (0, -1),
        (990, 5000),
        (-5000, 3),
        (400, 600),
        (1, 998),
        (5, 1),
        (2000, 3000),
        (-1, -1000),
    ];
    for &(start, stop) in cases {
        r(&mut c, &["DEL", "t"]);
        fill(&mut c, "t", &items);
        let n = items.len() as i64;
        let norm = |i: i64| if i < 0 { i + n } else { i };
        let (a, b) = (norm(start).max(0), norm(stop).min(n - 1));
        let want: Vec<String> = if a > b || a >= n {
            Vec::new()
        } else {
            items[a as usize..=b as usize].to_vec()
        };
        assert_eq!(
            r(
                &mut c,
                &["LTRIM", "t", &start.to_string(), &stop.to_string()]
            ),
            ok()
        );
        assert_eq!(all(&mut c, "t"), want, "LTRIM {start} {stop}");
        assert_eq!(r(&mut c, &["LLEN", "t"]), int(want.len() as i64));
        assert_eq!(r(&mut c, &["EXISTS", "t"]), int(!want.is_empty() as i64));
        // The trimmed list goes on working at both ends.
        if !want.is_empty() {
            r(&mut c, &["LPUSH", "t", "head"]);
            r(&mut c, &["RPUSH", "t", "tail"]);
            let got = all(&mut c, "t");
            assert_eq!(got.first().map(String::as_str), Some("head"));
            assert_eq!(got.last().map(String::as_str), Some("tail"));
            assert_eq!(got.len(), want.len() + 2);
        }
    }
    assert_eq!(r(&mut c, &["LTRIM", "nokey", "0", "1"]), ok());
    assert_eq!(
        e(&mut c, &["LTRIM", "nokey", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
}

// ---- LINSERT and LREM in big lists ------------------------------------------------------------

#[test]
fn linsert_and_lrem_in_the_middle_of_big_lists() {
    let s = server();
    let mut c = s.conn();
    let mut model: Vec<String> = (0..10_000).map(|i| format!("e{i}")).collect();
    fill(&mut c, "big", &model);
    let check = |c: &mut Connection, model: &[String], what: &str| {
        assert_eq!(all(c, "big"), model, "after {what}");
        assert_eq!(r(c, &["LLEN", "big"]), int(model.len() as i64), "{what}");
        for i in [0, model.len() / 2, model.len() - 1] {
            assert_eq!(
                r(c, &["LINDEX", "big", &i.to_string()]),
                bulk(&model[i]),
                "{what}: LINDEX {i}"
            );
        }
    };
    // Near the head (the front moves), in the middle, near the tail (the back moves).
    for (side, pivot) in [
        ("BEFORE", "e10"),
        ("AFTER", "e10"),
        ("BEFORE", "e5000"),
        ("AFTER", "e4999"),
        ("AFTER", "e9990"),
        ("BEFORE", "e9999"),
        ("BEFORE", "e0"),
        ("AFTER", "e9999"),
    ] {
        let at = model.iter().position(|x| x == pivot).expect("pivot");
        let at = if side == "AFTER" { at + 1 } else { at };
        let value = format!("new-{side}-{pivot}");
        model.insert(at, value.clone());
        assert_eq!(
            r(&mut c, &["LINSERT", "big", side, pivot, &value]),
            int(model.len() as i64)
        );
        check(&mut c, &model, &format!("LINSERT {side} {pivot}"));
    }
    assert_eq!(
        r(&mut c, &["LINSERT", "big", "AFTER", "nosuch", "x"]),
        int(-1)
    );

    // LREM: hits spread over the list (every 7th element), near the head, near the tail.
    let mut model: Vec<String> = (0..10_000)
        .map(|i| {
            if i % 7 == 0 {
                "x".into()
            } else {
                format!("e{i}")
            }
        })
        .collect();
    r(&mut c, &["DEL", "big"]);
    fill(&mut c, "big", &model);
    let lrem = |c: &mut Connection, model: &mut Vec<String>, count: i64, v: &str| {
        let wanted = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let mut hits: Vec<usize> = if count >= 0 {
            (0..model.len())
                .filter(|&i| model[i] == v)
                .take(wanted)
                .collect()
        } else {
            (0..model.len())
                .rev()
                .filter(|&i| model[i] == v)
                .take(wanted)
                .collect()
        };
        hits.sort_unstable();
        for &i in hits.iter().rev() {
            model.remove(i);
        }
        assert_eq!(
            r(c, &["LREM", "big", &count.to_string(), v]),
            int(hits.len() as i64),
            "LREM {count} {v}"
        );
        check(c, model, &format!("LREM {count} {v}"));
    };
    lrem(&mut c, &mut model, 3, "x"); // the front moves
    lrem(&mut c, &mut model, -3, "x"); // the back moves
    lrem(&mut c, &mut model, 500, "x"); // the front half moves
    lrem(&mut c, &mut model, -400, "x"); // the back half moves
    lrem(&mut c, &mut model, 1, "e5001"); // one in the middle
    lrem(&mut c, &mut model, 0, "x"); // every other hit
    lrem(&mut c, &mut model, 0, "nosuch");
    // Most of the list goes: the survivors are rewritten.
    let mut model: Vec<String> = (0..10_000)
        .map(|i| {
            if i % 10 == 0 {
                format!("k{i}")
            } else {
                "y".into()
            }
        })
        .collect();
    r(&mut c, &["DEL", "big"]);
    fill(&mut c, "big", &model);
    lrem(&mut c, &mut model, 0, "y");
    assert_eq!(model.len(), 1000);
    // And all of it.
    r(&mut c, &["DEL", "big"]);
    fill(&mut c, "big", &vec!["z".to_string(); 5000]);
    assert_eq!(
        r(&mut c, &["LREM", "big", "-9223372036854775808", "z"]),
        int(5000)
    );
    assert_eq!(r(&mut c, &["EXISTS", "big"]), int(0));
}

#[test]
fn linsert_and_lrem_small_cases() {
    let s = server();
    let mut c = s.conn();
    r(&mut c, &["RPUSH", "l", "a", "b", "c", "d"]);
    assert_eq!(r(&mut c, &["LINSERT", "l", "BEFORE", "a", "z"]), int(5));
    assert_eq!(r(&mut c, &["LINSERT", "l", "after", "d", "y"]), int(6));
    assert_eq!(r(&mut c, &["LINSERT", "l", "Before", "c", "m"]), int(7));
    assert_eq!(all(&mut c, "l"), ["z", "a", "b", "m", "c", "d", "y"]);
    assert_eq!(
        r(&mut c, &["LINSERT", "l", "BEFORE", "nosuch", "x"]),
        int(-1)
    );
    assert_eq!(r(&mut c, &["LINSERT", "nokey", "BEFORE", "a", "x"]), int(0));
    assert_eq!(r(&mut c, &["EXISTS", "nokey"]), int(0));
    assert_eq!(
        e(&mut c, &["LINSERT", "l", "MIDDLE", "a", "x"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["LINSERT", "nokey", "MIDDLE", "a", "x"]),
        "ERR syntax error"
    );
    // The first match is the pivot.
    r(&mut c, &["RPUSH", "d", "p", "p", "p"]);
    assert_eq!(r(&mut c, &["LINSERT", "d", "AFTER", "p", "q"]), int(4));
    assert_eq!(all(&mut c, "d"), ["p", "q", "p", "p"]);
    // LREM
    r(&mut c, &["DEL", "l"]);
    r(&mut c, &["RPUSH", "l", "x", "x", "x", "a", "x", "x"]);
    assert_eq!(r(&mut c, &["LREM", "l", "-2", "x"]), int(2));
    assert_eq!(all(&mut c, "l"), ["x", "x", "x", "a"]);
    assert_eq!(r(&mut c, &["LREM", "l", "2", "x"]), int(2));
    assert_eq!(all(&mut c, "l"), ["x", "a"]);
    assert_eq!(r(&mut c, &["LREM", "l", "0", "nosuch"]), int(0));
    assert_eq!(r(&mut c, &["LREM", "nokey", "0", "x"]), int(0));
    assert_eq!(
        e(&mut c, &["LREM", "l", "x", "a"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(r(&mut c, &["LREM", "l", "0", "x"]), int(1));
    assert_eq!(r(&mut c, &["LREM", "l", "1", "a"]), int(1));
    assert_eq!(r(&mut c, &["EXISTS", "l"]), int(0));
}

// ---- LPOS -------------------------------------------------------------------------------------

#[test]
fn lpos_rank_count_maxlen() {
    let s = server();
    let mut c = s.conn();
    r(
        &mut c,
        &["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"],
    );
    let ints = |v: &[i64]| arr(v.iter().map(|&i| int(i)).collect());
    let cases: &[(&[&str], Value)] = &[
        (&["c"], int(2)),
        (&["c", "RANK", "2"], int(6)),
        (&["c", "RANK", "-1"], int(7)),
        (&["c", "RANK", "-3"], int(2)),
        (&["c", "RANK", "4"], Value::Nil),
        (&["c", "RANK", "-4"], Value::Nil),
        (&["c", "COUNT", "2"], ints(&[2, 6])),
        (&["c", "COUNT", "0"], ints(&[2, 6, 7])),
        (&["c", "COUNT", "0", "RANK", "2"], ints(&[6, 7])),
        (&["c", "COUNT", "0", "RANK", "-1"], ints(&[7, 6, 2])),
        (&["c", "COUNT", "2", "RANK", "-2"], ints(&[6, 2])),
        (&["c", "MAXLEN", "2"], Value::Nil),
        (&["c", "MAXLEN", "3"], int(2)),
        (&["c", "MAXLEN", "7", "COUNT", "0"], ints(&[2, 6])),
        (
            &["c", "RANK", "-1", "MAXLEN", "2", "COUNT", "0"],
            ints(&[7, 6]),
        ),
        (&["c", "RANK", "-3", "MAXLEN", "3"], Value::Nil),
        (&["nosuch"], Value::Nil),
        (&["nosuch", "COUNT", "1"], ints(&[])),
        (&["1"], int(3)),
        // C's wrapping arithmetic: RANK -2^63 behaves as "every match from the tail".
        (&["c", "RANK", "-9223372036854775808"], int(7)),
        (
            &["c", "RANK", "-9223372036854775808", "COUNT", "2"],
            ints(&[7, 6, 2]),
        ),
    ];
    for (opts, want) in cases {
        let mut args = vec!["LPOS", "l"];
        args.extend_from_slice(opts);
        assert_eq!(&r(&mut c, &args), want, "{args:?}");
    }
    assert_eq!(r(&mut c, &["LPOS", "nokey", "c"]), Value::Nil);
    assert_eq!(r(&mut c, &["LPOS", "nokey", "c", "COUNT", "0"]), ints(&[]));
    let errors: &[(&[&str], &str)] = &[
        (
            &["RANK", "0"],
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
        ),
        (&["RANK", "x"], "ERR value is not an integer or out of range"),
        (&["RANK"], "ERR syntax error"),
        (&["COUNT", "-1"], "ERR COUNT can't be negative"),
        (&["COUNT", "x"], "ERR COUNT can't be negative"),
        (&["MAXLEN", "-1"], "ERR MAXLEN can't be negative"),
        (&["MAXLEN", "x"], "ERR MAXLEN can't be negative"),
        (&["FOO", "1"], "ERR syntax error"),
    ];
    for (opts, want) in errors {
        for key in ["l", "nokey"] {
            let mut args = vec!["LPOS", key, "c"];
            args.extend_from_slice(opts);
            assert_eq!(&e(&mut c, &args), want, "{args:?}");
        }
    }
    // A long list: the backward search reads several chunks.
    let items: Vec<String> = (0..20_000)
        .map(|i| {
            if i % 1000 == 7 {
                "m".into()
            } else {
                format!("e{i}")
            }
        })
        .collect();
    fill(&mut c, "long", &items);
    let hits: Vec<i64> = (0..20_000).filter(|i| i % 1000 == 7).collect();
    let rev: Vec<i64> = hits.iter().rev().copied().collect();
    assert_eq!(r(&mut c, &["LPOS", "long", "m", "COUNT", "0"]), ints(&hits));
    assert_eq!(
        r(&mut c, &["LPOS", "long", "m", "RANK", "-1", "COUNT", "0"]),
        ints(&rev)
    );
    assert_eq!(r(&mut c, &["LPOS", "long", "m", "RANK", "-20"]), int(7));
    assert_eq!(
        r(
            &mut c,
            &["LPOS", "long", "m", "RANK", "-1", "MAXLEN", "5000"]
        ),
        int(19_007)
    );
    assert_eq!(
        r(
            &mut c,
            &["LPOS", "long", "m", "RANK", "-6", "MAXLEN", "5000"]
        ),
        Value::Nil
    );
    assert_eq!(
        r(&mut c, &["LPOS", "long", "e19999", "RANK", "-1"]),
        int(19_999)
    );
    assert_eq!(r(&mut c, &["LPOS", "long", "e0", "RANK", "-1"]), int(0));
}

// ---- LMOVE, RPOPLPUSH, LMPOP ------------------------------------------------------------------

#[test]
fn lmove_and_rpoplpush() {
    let s = server();
    let mut c = s.conn();
    r(&mut c, &["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(r(&mut c, &["LMOVE", "l", "m", "LEFT", "RIGHT"]), bulk("a"));
    assert_eq!(r(&mut c, &["LMOVE", "l", "m", "right", "left"]), bulk("c"));
    assert_eq!(r(&mut c, &["LMOVE", "l", "m", "Left", "Left"]), bulk("b"));
    assert_eq!(r(&mut c, &["EXISTS", "l"]), int(0));
    assert_eq!(all(&mut c, "m"), ["b", "c", "a"]);
    // The same key: a rotation.
    assert_eq!(r(&mut c, &["LMOVE", "m", "m", "LEFT", "RIGHT"]), bulk("b"));
    assert_eq!(all(&mut c, "m"), ["c", "a", "b"]);
    assert_eq!(r(&mut c, &["LMOVE", "m", "m", "RIGHT", "LEFT"]), bulk("b"));
    assert_eq!(all(&mut c, "m"), ["b", "c", "a"]);
    assert_eq!(r(&mut c, &["LMOVE", "m", "m", "LEFT", "LEFT"]), bulk("b"));
    assert_eq!(r(&mut c, &["LMOVE", "m", "m", "RIGHT", "RIGHT"]), bulk("a"));
    assert_eq!(all(&mut c, "m"), ["b", "c", "a"]);
    r(&mut c, &["RPUSH", "one", "x"]);
    assert_eq!(
        r(&mut c, &["LMOVE", "one", "one", "LEFT", "RIGHT"]),
        bulk("x")
    );
    assert_eq!(all(&mut c, "one"), ["x"]);
    // A full rotation of a long list.
    let items: Vec<String> = (0..500).map(|i| i.to_string()).collect();
    fill(&mut c, "ring", &items);
    for _ in 0..500 {
        r(&mut c, &["RPOPLPUSH", "ring", "ring"]);
    }
    assert_eq!(all(&mut c, "ring"), items);
    assert_eq!(
        r(&mut c, &["LMOVE", "nokey", "m", "LEFT", "RIGHT"]),
        Value::Nil
    );
    assert_eq!(r(&mut c, &["EXISTS", "nokey"]), int(0));
    assert_eq!(
        e(&mut c, &["LMOVE", "m", "m", "UP", "LEFT"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["LMOVE", "nokey", "m", "LEFT", "DOWN"]),
        "ERR syntax error"
    );
    // RPOPLPUSH = LMOVE RIGHT LEFT.
    assert_eq!(r(&mut c, &["RPOPLPUSH", "m", "n"]), bulk("a"));
    assert_eq!(r(&mut c, &["RPOPLPUSH", "m", "n"]), bulk("c"));
    assert_eq!(all(&mut c, "n"), ["c", "a"]);
    assert_eq!(r(&mut c, &["RPOPLPUSH", "nokey", "n"]), Value::Nil);
    // Wrong types: the source is checked first; a wrong destination moves nothing.
    r(&mut c, &["SET", "s", "v"]);
    assert_eq!(e(&mut c, &["LMOVE", "m", "s", "LEFT", "LEFT"]), WRONGTYPE);
    assert_eq!(e(&mut c, &["RPOPLPUSH", "m", "s"]), WRONGTYPE);
    assert_eq!(all(&mut c, "m"), ["b"]);
    assert_eq!(e(&mut c, &["LMOVE", "s", "m", "LEFT", "LEFT"]), WRONGTYPE);
    assert_eq!(
        r(&mut c, &["LMOVE", "nokey", "s", "LEFT", "LEFT"]),
        Value::Nil
    );
    assert_eq!(r(&mut c, &["RPOPLPUSH", "m", "n"]), bulk("b"));
    assert_eq!(r(&mut c, &["EXISTS", "m"]), int(0));
}

#[test]
fn lmpop_count_and_several_keys() {
    let s = server();
    let mut c = s.conn();
    r(&mut c, &["RPUSH", "b", "1", "2", "3", "4", "5"]);
    r(&mut c, &["RPUSH", "c", "x", "y"]);
    let popped = |k: &str, v: &[&str]| arr(vec![bulk(k), bulks(v)]);
    assert_eq!(
        r(&mut c, &["LMPOP", "3", "a", "b", "c", "LEFT"]),
        popped("b", &["1"])
    );
    assert_eq!(
        r(
            &mut c,
            &["LMPOP", "3", "a", "b", "c", "RIGHT", "COUNT", "2"]
        ),
        popped("b", &["5", "4"])
    );
    assert_eq!(
        r(&mut c, &["LMPOP", "1", "b", "left", "count", "10"]),
        popped("b", &["2", "3"])
    );
    assert_eq!(r(&mut c, &["EXISTS", "b"]), int(0));
    assert_eq!(
        r(&mut c, &["LMPOP", "3", "a", "b", "c", "LEFT", "COUNT", "9"]),
        popped("c", &["x", "y"])
    );
    assert_eq!(
        r(&mut c, &["LMPOP", "3", "a", "b", "c", "LEFT"]),
        Value::Nil
    );
    r(&mut c, &["SET", "s", "v"]);
    r(&mut c, &["RPUSH", "l", "z"]);
    assert_eq!(e(&mut c, &["LMPOP", "2", "nokey", "s", "LEFT"]), WRONGTYPE);
    // A list before the wrong type is served.
    assert_eq!(
        r(&mut c, &["LMPOP", "2", "l", "s", "LEFT"]),
        popped("l", &["z"])
    );
    let errors: &[(&[&str], &str)] = &[
        (&["0", "a", "LEFT"], "ERR numkeys should be greater than 0"),
        (&["-1", "a", "LEFT"], "ERR numkeys should be greater than 0"),
        (&["x", "a", "LEFT"], "ERR numkeys should be greater than 0"),
        (&["2", "a", "LEFT"], "ERR syntax error"),
        (&["9223372036854775807", "a", "LEFT"], "ERR syntax error"),
        (&["1", "a", "MIDDLE"], "ERR syntax error"),
        (
            &["1", "a", "LEFT", "COUNT", "0"],
            "ERR count should be greater than 0",
        ),
        (
            &["1", "a", "LEFT", "COUNT", "x"],
            "ERR count should be greater than 0",
        ),
        (&["1", "a", "LEFT", "COUNT"], "ERR syntax error"),
        (
            &["1", "a", "LEFT", "COUNT", "1", "COUNT", "2"],
            "ERR syntax error",
        ),
        (&["1", "a", "LEFT", "FOO"], "ERR syntax error"),
        (
            &["1", "a"],
            "ERR wrong number of arguments for 'lmpop' command",
        ),
    ];
    for (rest, want) in errors {
        let mut args = vec!["LMPOP"];
        args.extend_from_slice(rest);
        assert_eq!(&e(&mut c, &args), want, "{args:?}");
    }
}

// ---- arity and wrong types everywhere ---------------------------------------------------------

#[test]
fn arity_and_wrong_type_for_every_command() {
    let s = server();
    let mut c = s.conn();
    for (name, short) in [
        ("lpush", vec!["LPUSH", "k"]),
        ("rpush", vec!["RPUSH", "k"]),
        ("lpushx", vec!["LPUSHX", "k"]),
        ("rpushx", vec!["RPUSHX", "k"]),
        ("lpop", vec!["LPOP"]),
        ("rpop", vec!["RPOP"]),
        ("llen", vec!["LLEN"]),
        ("lindex", vec!["LINDEX", "k"]),
        ("lset", vec!["LSET", "k", "0"]),
        ("lrange", vec!["LRANGE", "k", "0"]),
        ("ltrim", vec!["LTRIM", "k", "0"]),
        ("lrem", vec!["LREM", "k", "0"]),
        ("linsert", vec!["LINSERT", "k", "BEFORE", "a"]),
        ("lpos", vec!["LPOS", "k"]),
        ("lmove", vec!["LMOVE", "a", "b", "LEFT"]),
        ("rpoplpush", vec!["RPOPLPUSH", "a"]),
        ("lmpop", vec!["LMPOP", "1", "k"]),
    ] {
        assert_eq!(
            e(&mut c, &short),
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
    assert_eq!(
        e(&mut c, &["LLEN", "k", "x"]),
        "ERR wrong number of arguments for 'llen' command"
    );
    r(&mut c, &["SET", "s", "v"]);
    r(&mut c, &["HSET", "h", "f", "v"]);
    for key in ["s", "h"] {
        for args in [
            vec!["LPUSH", key, "x"],
            vec!["RPUSH", key, "x"],
            vec!["LPUSHX", key, "x"],
            vec!["RPUSHX", key, "x"],
            vec!["LPOP", key],
            vec!["RPOP", key, "2"],
            vec!["LLEN", key],
            vec!["LINDEX", key, "0"],
            vec!["LINDEX", key, "x"],
            vec!["LSET", key, "0", "v"],
            vec!["LRANGE", key, "0", "-1"],
            vec!["LTRIM", key, "0", "1"],
            vec!["LREM", key, "0", "v"],
            vec!["LINSERT", key, "BEFORE", "a", "b"],
            vec!["LPOS", key, "a"],
            vec!["LMOVE", key, "l", "LEFT", "RIGHT"],
            vec!["RPOPLPUSH", key, "l"],
            vec!["LMPOP", "1", key, "LEFT"],
        ] {
            assert_eq!(e(&mut c, &args), WRONGTYPE, "{args:?}");
        }
    }
    assert_eq!(r(&mut c, &["GET", "s"]), bulk("v"));
    assert_eq!(r(&mut c, &["EXISTS", "l"]), int(0));
    // And list keys are the wrong type for the other families.
    r(&mut c, &["RPUSH", "l", "a"]);
    assert_eq!(e(&mut c, &["GET", "l"]), WRONGTYPE);
    assert_eq!(e(&mut c, &["HGET", "l", "f"]), WRONGTYPE);
    assert_eq!(e(&mut c, &["SADD", "l", "m"]), WRONGTYPE);
    assert_eq!(e(&mut c, &["INCR", "l"]), WRONGTYPE);
    // SET replaces a list.
    assert_eq!(r(&mut c, &["SET", "l", "str"]), ok());
    assert_eq!(r(&mut c, &["GET", "l"]), bulk("str"));
}

// ---- a random mix against a model -------------------------------------------------------------

fn norm_index(i: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if i < 0 { i + len } else { i };
    (0..len).contains(&i).then_some(i as usize)
}

fn norm_range(start: i64, stop: i64, len: usize) -> std::ops::Range<usize> {
    let n = len as i64;
    let s = if start < 0 { start + n } else { start }.max(0);
    let e = if stop < 0 { stop + n } else { stop }.min(n - 1);
    if s > e || s >= n {
        0..0
    } else {
        s as usize..e as usize + 1
    }
}

fn model_lpos(l: &VecDeque<String>, v: &str, rank: i64, count: Option<i64>, maxlen: i64) -> Value {
    let order: Vec<usize> = if rank > 0 {
        (0..l.len()).collect()
    } else {
        (0..l.len()).rev().collect()
    };
    let limit = if maxlen == 0 {
        usize::MAX
    } else {
        maxlen as usize
    };
    let hits: Vec<usize> = order
        .into_iter()
        .take(limit)
        .filter(|&i| l[i] == v)
        .collect();
    let skip = rank.unsigned_abs() as usize - 1;
    match count {
        None => hits.get(skip).map_or(Value::Nil, |&i| int(i as i64)),
        Some(c) => {
            let take = if c == 0 { usize::MAX } else { c as usize };
            arr(hits
                .into_iter()
                .skip(skip)
                .take(take)
                .map(|i| int(i as i64))
                .collect())
        }
    }
}

#[test]
fn random_operations_match_a_model() {
    let s = server();
    let mut c = s.conn();
    let mut rng = StdRng::seed_from_u64(0x1157);
    let mut m: VecDeque<String> = VecDeque::new();
    let vals = ["a", "b", "c", "d", "e", "f"];
    for step in 0..3000 {
        let v = vals[rng.random_range(0..vals.len())].to_string();
        let len = m.len() as i64;
        let any_index = |rng: &mut StdRng| rng.random_range(-len - 2..=len + 2);
        let op = rng.random_range(0..13);
        let (args, want): (Vec<String>, Value) = match op {
            0 | 1 => {
                let n = rng.random_range(1..6);
                let items: Vec<String> = (0..n).map(|i| format!("{v}{}", i % 2)).collect();
                let left = op == 0;
                for it in &items {
                    if left {
                        m.push_front(it.clone());
                    } else {
                        m.push_back(it.clone());
                    }
                }
                let mut args = vec![if left { "LPUSH" } else { "RPUSH" }.to_string(), "k".into()];
                args.extend(items);
                (args, int(m.len() as i64))
            }
            2 | 3 => {
                let left = op == 2;
                let name = if left { "LPOP" } else { "RPOP" };
                if rng.random_bool(0.5) {
                    let got = if left { m.pop_front() } else { m.pop_back() };
                    (
                        vec![name.into(), "k".into()],
                        got.map_or(Value::Nil, |g| bulk(&g)),
                    )
                } else {
                    let n = rng.random_range(1..8);
                    let want = if m.is_empty() {
                        Value::Nil
                    } else {
                        let mut out = Vec::new();
                        for _ in 0..n {
                            let got = if left { m.pop_front() } else { m.pop_back() };
                            match got {
                                Some(g) => out.push(bulk(&g)),
                                None => break,
                            }
                        }
                        arr(out)
                    };
                    (vec![name.into(), "k".into(), n.to_string()], want)
                }
            }
            4 => {
                let i = any_index(&mut rng);
                let want = if m.is_empty() {
                    Err("ERR no such key".to_string())
                } else {
                    match norm_index(i, m.len()) {
                        Some(j) => {
                            m[j] = v.clone();
                            Ok(ok())
                        }
                        None => Err("ERR index out of range".to_string()),
                    }
                };
                let args = vec!["LSET".into(), "k".into(), i.to_string(), v.clone()];
                let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                assert_eq!(run(&mut c, &raw), want, "step {step}: {args:?}");
                continue;
            }
            5 => {
                let after = rng.random_bool(0.5);
                let pivot = format!(
                    "{}{}",
                    vals[rng.random_range(0..vals.len())],
                    rng.random_range(0..2)
                );
                let want = if m.is_empty() {
                    int(0)
                } else {
                    match m.iter().position(|x| *x == pivot) {
                        Some(p) => {
                            m.insert(if after { p + 1 } else { p }, v.clone());
                            int(m.len() as i64)
                        }
                        None => int(-1),
                    }
                };
                let side = if after { "AFTER" } else { "BEFORE" };
                (
                    vec!["LINSERT".into(), "k".into(), side.into(), pivot, v.clone()],
                    want,
                )
            }
            6 => {
                let count = rng.random_range(-3..=3i64);
                let target = format!("{v}{}", rng.random_range(0..2));
                let wanted = if count == 0 {
                    usize::MAX
                } else {
                    count.unsigned_abs() as usize
                };
                let mut hits: Vec<usize> = if count >= 0 {
                    (0..m.len())
                        .filter(|&i| m[i] == target)
                        .take(wanted)
                        .collect()
                } else {
                    (0..m.len())
                        .rev()
                        .filter(|&i| m[i] == target)
                        .take(wanted)
                        .collect()
                };
                hits.sort_unstable();
                for &i in hits.iter().rev() {
                    m.remove(i);
                }
                (
                    vec!["LREM".into(), "k".into(), count.to_string(), target],
                    int(hits.len() as i64),
                )
            }
            7 => {
                // Rarely: trims keep most of the list.
                let start = rng.random_range(-3..=3i64);
                let stop = rng.random_range(-4..=len + 2);
                if !m.is_empty() {
                    let keep = norm_range(start, stop, m.len());
                    m = m.range(keep).cloned().collect();
                }
                (
                    vec![
                        "LTRIM".into(),
                        "k".into(),
                        start.to_string(),
                        stop.to_string(),
                    ],
                    ok(),
                )
            }
            8 => {
                let from = if rng.random_bool(0.5) {
                    "LEFT"
                } else {
                    "RIGHT"
                };
                let to = if rng.random_bool(0.5) {
                    "LEFT"
                } else {
                    "RIGHT"
                };
                let got = if from == "LEFT" {
                    m.pop_front()
                } else {
                    m.pop_back()
                };
                if let Some(g) = &got {
                    if to == "LEFT" {
                        m.push_front(g.clone());
                    } else {
                        m.push_back(g.clone());
                    }
                }
                (
                    vec![
                        "LMOVE".into(),
                        "k".into(),
                        "k".into(),
                        from.into(),
                        to.into(),
                    ],
                    got.map_or(Value::Nil, |g| bulk(&g)),
                )
            }
            9 => {
                let (a, b) = (any_index(&mut rng), any_index(&mut rng));
                let want = arr(m
                    .range(norm_range(a, b, m.len()))
                    .map(|x| bulk(x))
                    .collect());
                (
                    vec!["LRANGE".into(), "k".into(), a.to_string(), b.to_string()],
                    want,
                )
            }
            10 => {
                let i = any_index(&mut rng);
                let want = norm_index(i, m.len()).map_or(Value::Nil, |j| bulk(&m[j]));
                (vec!["LINDEX".into(), "k".into(), i.to_string()], want)
            }
            11 => {
                let target = format!("{v}{}", rng.random_range(0..2));
                let rank = [1i64, 2, 3, -1, -2, -3][rng.random_range(0..6)];
                let count = [None, Some(0), Some(1), Some(2)][rng.random_range(0..4)];
                let maxlen = [0i64, 1, 3, 10][rng.random_range(0..4)];
                let want = if m.is_empty() {
                    if count.is_some() {
                        arr(vec![])
                    } else {
                        Value::Nil
                    }
                } else {
                    model_lpos(&m, &target, rank, count, maxlen)
                };
                let mut args = vec![
                    "LPOS".into(),
                    "k".into(),
                    target,
                    "RANK".into(),
                    rank.to_string(),
                ];
                if let Some(n) = count {
                    args.extend(["COUNT".into(), n.to_string()]);
                }
                args.extend(["MAXLEN".into(), maxlen.to_string()]);
                (args, want)
            }
            _ => (vec!["LLEN".into(), "k".into()], int(m.len() as i64)),
        };
        let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        assert_eq!(run(&mut c, &raw), Ok(want), "step {step}: {args:?}");
        if step % 50 == 0 {
            let want: Vec<String> = m.iter().cloned().collect();
            assert_eq!(all(&mut c, "k"), want, "step {step}");
            assert_eq!(r(&mut c, &["EXISTS", "k"]), int(!m.is_empty() as i64));
        }
    }
}

// ---- generic key commands, expiry ---------------------------------------------------------------

#[test]
fn generic_key_commands_on_lists() {
    let s = server();
    let mut c = s.conn();
    r(&mut c, &["RPUSH", "l", "a", "b", "c"]);
    r(&mut c, &["LPOP", "l"]);
    assert_eq!(
        r(&mut c, &["TYPE", "l"]),
        Value::SimpleString("list".into())
    );
    assert_eq!(r(&mut c, &["OBJECT", "ENCODING", "l"]), bulk("quicklist"));
    assert_eq!(r(&mut c, &["RENAME", "l", "l2"]), ok());
    assert_eq!(all(&mut c, "l2"), ["b", "c"]);
    assert_eq!(r(&mut c, &["COPY", "l2", "l3"]), int(1));
    r(&mut c, &["LPUSH", "l3", "z"]);
    r(&mut c, &["LSET", "l2", "0", "B"]);
    assert_eq!(all(&mut c, "l2"), ["B", "c"]);
    assert_eq!(all(&mut c, "l3"), ["z", "b", "c"]);
    assert_eq!(r(&mut c, &["MOVE", "l3", "1"]), int(1));
    assert_eq!(r(&mut c, &["EXISTS", "l3"]), int(0));
    r(&mut c, &["SELECT", "1"]);
    assert_eq!(all(&mut c, "l3"), ["z", "b", "c"]);
    r(&mut c, &["SELECT", "0"]);
    let scan: Vec<Value> = match r(&mut c, &["SCAN", "0", "TYPE", "list", "COUNT", "100"]) {
        Value::Array(v) => v,
        other => panic!("SCAN gave {other:?}"),
    };
    assert_eq!(scan[1], bulks(&["l2"]));
    assert_eq!(r(&mut c, &["DEL", "l2"]), int(1));
    assert_eq!(r(&mut c, &["LLEN", "l2"]), int(0));
    // MEMORY USAGE grows with the list and reads from its first live element.
    let items: Vec<String> = (0..2000).map(|i| format!("value-{i:06}")).collect();
    fill(&mut c, "mem", &items);
    r(&mut c, &["LPOP", "mem", "1000"]);
    let usage = |c: &mut Connection, extra: &[&str]| -> i64 {
        let mut args = vec!["MEMORY", "USAGE", "mem"];
        args.extend_from_slice(extra);
        match r(c, &args) {
            Value::Int(n) => n,
            other => panic!("MEMORY USAGE gave {other:?}"),
        }
    };
    let sampled = usage(&mut c, &[]);
    let exact = usage(&mut c, &["SAMPLES", "0"]);
    assert!(sampled > 1000 * 12, "{sampled}");
    assert!(exact > 1000 * 12, "{exact}");
}

#[test]
fn expiry_of_lists() {
    let s = server();
    let mut c = s.conn();
    let big: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    fill(&mut c, "l", &big);
    assert_eq!(r(&mut c, &["EXPIRE", "l", "100"]), int(1));
    // Writes keep the TTL, the LTRIM that rewrites the survivors under a new version too.
    r(&mut c, &["RPUSH", "l", "x"]);
    r(&mut c, &["LPOP", "l"]);
    r(&mut c, &["LSET", "l", "0", "y"]);
    r(&mut c, &["LINSERT", "l", "BEFORE", "y", "w"]);
    r(&mut c, &["LREM", "l", "0", "x"]);
    r(&mut c, &["LTRIM", "l", "0", "9"]);
    assert_eq!(r(&mut c, &["LLEN", "l"]), int(10));
    let ttl = common::cmds::pttl(&mut c, "l");
    assert!(ttl > 90_000 && ttl <= 100_000, "{ttl}");
    // An expired list is absent for reads and writes; a push starts a new one, without TTL.
    assert_eq!(r(&mut c, &["PEXPIREAT", "l", "1"]), int(1));
    assert_eq!(r(&mut c, &["LLEN", "l"]), int(0));
    assert_eq!(r(&mut c, &["LRANGE", "l", "0", "-1"]), arr(vec![]));
    assert_eq!(r(&mut c, &["LPUSHX", "l", "x"]), int(0));
    assert_eq!(r(&mut c, &["RPUSH", "l", "fresh"]), int(1));
    assert_eq!(all(&mut c, "l"), ["fresh"]);
    assert_eq!(r(&mut c, &["TTL", "l"]), int(-1));
    // A list that expires by itself.
    r(&mut c, &["RPUSH", "short", "a"]);
    r(&mut c, &["PEXPIRE", "short", "30"]);
    assert!(common::wait_until(
        std::time::Duration::from_secs(5),
        || { r(&mut c, &["EXISTS", "short"]) == int(0) }
    ));
    assert_eq!(r(&mut c, &["LPOP", "short"]), Value::Nil);
    assert_eq!(r(&mut c, &["RPUSHX", "short", "x"]), int(0));
}

// ---- transactions, pipelines, WATCH ---------------------------------------------------------

#[test]
fn transactions_pipelines_and_watch() {
    let s = server();
    let mut c = s.conn();
    // A pipeline runs as one group in Talus: each command sees the ones before.
    let (a, b, all_, d): (i64, String, Vec<String>, Option<String>) = redis::pipe()
        .cmd("RPUSH")
        .arg("p")
        .arg("1")
        .arg("2")
        .arg("3")
        .cmd("LPOP")
        .arg("p")
        .cmd("LRANGE")
        .arg("p")
        .arg(0)
        .arg(-1)
        .cmd("LINDEX")
        .arg("p")
        .arg(5)
        .query(&mut c)
        .expect("pipeline");
    assert_eq!(
        (a, b, all_, d),
        (3, "1".to_string(), vec!["2".to_string(), "3".into()], None)
    );
    let v: Value = redis::pipe()
        .atomic()
        .cmd("LPUSH")
        .arg("t")
        .arg("x")
        .cmd("LMOVE")
        .arg("t")
        .arg("u")
        .arg("LEFT")
        .arg("RIGHT")
        .cmd("LRANGE")
        .arg("u")
        .arg(0)
        .arg(-1)
        .cmd("EXISTS")
        .arg("t")
        .query(&mut c)
        .expect("transaction");
    assert_eq!(v, arr(vec![int(1), bulk("x"), bulks(&["x"]), int(0)]));
    // LSET changes no meta entry, and still touches the key for WATCH.
    let mut other = s.conn();
    r(&mut c, &["WATCH", "u"]);
    r(&mut other, &["LSET", "u", "0", "changed"]);
    r(&mut c, &["MULTI"]);
    r(&mut c, &["LLEN", "u"]);
    assert_eq!(r(&mut c, &["EXEC"]), Value::Nil);
    r(&mut c, &["WATCH", "u"]);
    r(&mut c, &["MULTI"]);
    r(&mut c, &["LLEN", "u"]);
    assert_eq!(r(&mut c, &["EXEC"]), arr(vec![int(1)]));
}

#[test]
fn keyspace_hits_count_list_reads() {
    let s = server();
    let mut c = s.conn();
    r(&mut c, &["RPUSH", "l", "a"]);
    r(&mut c, &["CONFIG", "RESETSTAT"]);
    for args in [
        vec!["LLEN", "l"],
        vec!["LINDEX", "l", "0"],
        vec!["LRANGE", "l", "0", "-1"],
        vec!["LPOS", "l", "a"],
        vec!["LLEN", "nokey"],
        vec!["LRANGE", "nokey", "0", "1"],
    ] {
        r(&mut c, &args);
    }
    // Writes look keys up without counting.
    r(&mut c, &["RPUSH", "l", "b"]);
    r(&mut c, &["LPOP", "l"]);
    assert_eq!(info_field(&mut c, "stats", "keyspace_hits"), "4");
    assert_eq!(info_field(&mut c, "stats", "keyspace_misses"), "2");
}

// ---- Talus only: consistency, durability, storage -------------------------------------------------

/// A reader never sees a torn list while a writer moves both of its ends: every LRANGE is a
/// window of consecutive numbers, every LINDEX 0 finds an element.
#[test]
fn reads_see_one_state_under_a_concurrent_writer() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let start: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    fill(&mut c, "win", &start);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let mut w = s.conn();
        let done = done.clone();
        std::thread::spawn(move || {
            for n in 100..3100 {
                let _: i64 = redis::cmd("RPUSH").arg("win").arg(n).query(&mut w).unwrap();
                let _: String = redis::cmd("LPOP").arg("win").query(&mut w).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let mut reads = 0;
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        let got: Vec<i64> = redis::cmd("LRANGE")
            .arg("win")
            .arg(0)
            .arg(-1)
            .query(&mut c)
            .expect("LRANGE");
        assert!(
            got.len() == 100 || got.len() == 101,
            "{} elements",
            got.len()
        );
        assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "torn: {got:?}");
        let first: Option<i64> = redis::cmd("LINDEX")
            .arg("win")
            .arg(0)
            .query(&mut c)
            .unwrap();
        assert!(first.is_some());
        let last: Option<i64> = redis::cmd("LINDEX")
            .arg("win")
            .arg(-1)
            .query(&mut c)
            .unwrap();
        assert!(last.is_some());
        reads += 1;
    }
    writer.join().expect("writer");
    assert!(reads > 0);
    let got: Vec<i64> = redis::cmd("LRANGE")
        .arg("win")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(got, (3000..3100).collect::<Vec<_>>());
}

#[test]
fn lists_survive_a_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let mut s = TestServer::start_in(&dir, &[]);
    let mut c = s.conn();
    r(&mut c, &["RPUSH", "l", "b", "c", "d"]);
    r(&mut c, &["LPUSH", "l", "a"]);
    r(&mut c, &["RPOP", "l"]);
    r(&mut c, &["LINSERT", "l", "AFTER", "b", "b2"]);
    r(&mut c, &["RPUSH", "gone", "x"]);
    r(&mut c, &["LPOP", "gone"]);
    assert!(s.terminate().is_some());
    let mut s = TestServer::start_in(&dir, &[]);
    let mut c = s.conn();
    assert_eq!(all(&mut c, "l"), ["a", "b", "b2", "c"]);
    assert_eq!(r(&mut c, &["EXISTS", "gone"]), int(0));
    // Both ends go on from where they were; acknowledged writes survive kill -9.
    r(&mut c, &["LPUSH", "l", "z"]);
    r(&mut c, &["RPUSH", "l", "y"]);
    s.kill9();
    let s = TestServer::start_in(&dir, &[]);
    let mut c = s.conn();
    assert_eq!(all(&mut c, "l"), ["z", "a", "b", "b2", "c", "y"]);
}

/// Counts the entries of the data column family of the store in `dir` (the server stopped).
fn data_entries(dir: &std::path::Path) -> usize {
    use talus::storage::{Store, StoreOptions, CF_DATA};
    let store = Store::open(dir, &StoreOptions::default()).expect("open store");
    store.count_entries(CF_DATA)
}

/// What is left on disk after COMPACT: nothing of a deleted 10 000-element list, only the
/// survivors of trims, pops and removals.
#[test]
fn compaction_leaves_only_live_elements() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let mut s = TestServer::start_in(&dir, &[]);
    let mut c = s.conn();
    let items: Vec<String> = (0..10_000).map(|i| format!("e{i}")).collect();
    for key in ["deleted", "trimmed", "popped", "removed", "kept"] {
        fill(&mut c, key, &items);
    }
    assert_eq!(r(&mut c, &["DEL", "deleted"]), int(1));
    r(&mut c, &["LTRIM", "trimmed", "100", "109"]);
    r(&mut c, &["LPOP", "popped", "9000"]);
    r(&mut c, &["RPOP", "popped", "500"]);
    r(&mut c, &["LREM", "removed", "0", "e5000"]);
    r(&mut c, &["LREM", "removed", "0", "e10"]);
    r(&mut c, &["RPUSH", "expiring", "a", "b"]);
    r(&mut c, &["PEXPIRE", "expiring", "1"]);
    assert!(common::wait_until(
        std::time::Duration::from_secs(5),
        || { r(&mut c, &["EXISTS", "expiring"]) == int(0) }
    ));
    assert_eq!(r(&mut c, &["COMPACT"]), ok());
    assert_eq!(r(&mut c, &["LLEN", "kept"]), int(10_000));
    assert!(s.terminate().is_some());
    assert_eq!(data_entries(&dir), 10 + 500 + 9_998 + 10_000);
}

#[test]
fn wrong_type_message_is_exact() {
    // The suites above compare against this constant; make sure it is Redis's text.
    let s = server();
    let mut c = s.conn();
    r(&mut c, &["SET", "s", "v"]);
    assert_eq!(cmd_err(&mut c, &["LLEN", "s"]), WRONGTYPE);
    if let Srv::Talus(_) = s {
        assert_eq!(r(&mut c, &["OBJECT", "ENCODING", "s"]), bulk("embstr"));
    }
}
