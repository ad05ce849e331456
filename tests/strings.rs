//! String commands through the real server: every command, every option, wrong arity, bad
//! numbers, missing keys, expiry, binary and large values, concurrency; expected replies were
//! checked against redis-server 7.0.15 (run this suite against it with `TALUS_TEST_REDIS=1`),
//! and a differential test compares random inputs with redis-server when it is installed.
//!
//! WRONGTYPE paths are not covered here yet: no command creates a non-string key so far.

mod common;

use common::cmds::*;
use common::{cmd_err, wait_until, RefRedis, Rng, TestServer};
use redis::Value;
use std::time::Duration;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

// ---- GET / SET -------------------------------------------------------------------------------

#[test]
fn get_and_set_basics() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["GET", "nokey"]), Value::Nil);
    assert_eq!(r(&mut c, &["SET", "k", "v1"]), ok());
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("v1"));
    assert_eq!(r(&mut c, &["SET", "k", "v2"]), ok());
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("v2"));
    assert_eq!(r(&mut c, &["SET", "empty", ""]), ok());
    assert_eq!(r(&mut c, &["GET", "empty"]), bulk(""));
    assert_eq!(r(&mut c, &["STRLEN", "empty"]), int(0));
    // Command names and options are case-insensitive.
    assert_eq!(r(&mut c, &["sEt", "k", "v3", "nX"]), Value::Nil);
    assert_eq!(r(&mut c, &["gEt", "k"]), bulk("v2"));
}

#[test]
fn binary_and_large_values() {
    let s = server();
    let mut c = s.conn();
    let bin: &[u8] = b"a\0b\r\nc\xff\x00\r\n";
    assert_eq!(run(&mut c, &[b"SET", b"bin\0key\r\n", bin]), Ok(ok()));
    assert_eq!(
        run(&mut c, &[b"GET", b"bin\0key\r\n"]),
        Ok(Value::BulkString(bin.to_vec()))
    );
    assert_eq!(
        run(&mut c, &[b"STRLEN", b"bin\0key\r\n"]),
        Ok(int(bin.len() as i64))
    );
    assert_eq!(run(&mut c, &[b"GET", b"bin\0key"]), Ok(Value::Nil));

    let big: Vec<u8> = (0..1024 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    assert_eq!(run(&mut c, &[b"SET", b"big", &big]), Ok(ok()));
    assert_eq!(
        run(&mut c, &[b"GET", b"big"]),
        Ok(Value::BulkString(big.clone()))
    );
    assert_eq!(
        run(&mut c, &[b"APPEND", b"big", &big]),
        Ok(int(2 * big.len() as i64))
    );
    assert_eq!(
        run(&mut c, &[b"GETRANGE", b"big", b"1048575", b"1048576"]),
        Ok(Value::BulkString(vec![big[big.len() - 1], big[0]]))
    );
    assert_eq!(r(&mut c, &["STRLEN", "big"]), int(2 * 1024 * 1024));
}

#[test]
fn set_conditions_and_get() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["SET", "k", "a", "XX"]), Value::Nil);
    assert_eq!(r(&mut c, &["GET", "k"]), Value::Nil);
    assert_eq!(r(&mut c, &["SET", "k", "a", "NX"]), ok());
    assert_eq!(r(&mut c, &["SET", "k", "b", "NX"]), Value::Nil);
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("a"));
    assert_eq!(r(&mut c, &["SET", "k", "b", "XX"]), ok());
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("b"));
    // GET returns the old value, also when NX/XX stop the write (NX+GET is allowed in 7.0).
    assert_eq!(r(&mut c, &["SET", "k", "c", "GET"]), bulk("b"));
    assert_eq!(r(&mut c, &["SET", "k", "d", "NX", "GET"]), bulk("c"));
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("c"));
    assert_eq!(r(&mut c, &["SET", "new", "d", "NX", "GET"]), Value::Nil);
    assert_eq!(r(&mut c, &["GET", "new"]), bulk("d"));
    assert_eq!(r(&mut c, &["SET", "none", "e", "XX", "GET"]), Value::Nil);
    assert_eq!(r(&mut c, &["GET", "none"]), Value::Nil);
    assert_eq!(r(&mut c, &["SET", "k", "e", "XX", "GET"]), bulk("c"));
    assert_eq!(r(&mut c, &["SET", "fresh", "f", "GET"]), Value::Nil);
    assert_eq!(r(&mut c, &["GET", "fresh"]), bulk("f"));
    // Repeated options are fine.
    assert_eq!(r(&mut c, &["SET", "k", "g", "NX", "NX"]), Value::Nil);
    assert_eq!(r(&mut c, &["SET", "k", "h", "GET", "GET"]), bulk("e"));
    assert_eq!(r(&mut c, &["SET", "k", "i", "XX", "xx"]), ok());
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("i"));
}

#[test]
fn set_expiry_options() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["SET", "k", "v", "EX", "100"]), ok());
    let t = pttl(&mut c, "k");
    assert!(t > 98_000 && t <= 100_000, "{t}");
    assert_eq!(r(&mut c, &["SET", "k", "v", "PX", "50000"]), ok());
    let t = pttl(&mut c, "k");
    assert!(t > 48_000 && t <= 50_000, "{t}");
    let at = now_ms() / 1000 + 200;
    assert_eq!(r(&mut c, &["SET", "k", "v", "EXAT", &at.to_string()]), ok());
    let t = pttl(&mut c, "k");
    assert!(t > 190_000 && t <= 201_000, "{t}");
    let at = now_ms() + 300_000;
    assert_eq!(r(&mut c, &["SET", "k", "v", "PXAT", &at.to_string()]), ok());
    let t = pttl(&mut c, "k");
    assert!(t > 290_000 && t <= 300_000, "{t}");
    // The last of a repeated EX wins.
    assert_eq!(
        r(&mut c, &["SET", "k", "v", "EX", "10", "EX", "1000"]),
        ok()
    );
    assert!(pttl(&mut c, "k") > 10_000);
    // KEEPTTL keeps it; a plain SET clears it.
    assert_eq!(r(&mut c, &["SET", "k", "w", "KEEPTTL"]), ok());
    assert!(pttl(&mut c, "k") > 10_000);
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("w"));
    assert_eq!(r(&mut c, &["SET", "k", "x"]), ok());
    assert_eq!(pttl(&mut c, "k"), -1);
    assert_eq!(r(&mut c, &["SET", "k2", "x", "KEEPTTL"]), ok());
    assert_eq!(pttl(&mut c, "k2"), -1);
    // Far-away absolute times are fine.
    assert_eq!(
        r(&mut c, &["SET", "far", "v", "EXAT", "9223372036854775"]),
        ok()
    );
    assert_eq!(
        r(&mut c, &["SET", "far", "v", "PXAT", "9223372036854775807"]),
        ok()
    );
    assert_eq!(r(&mut c, &["GET", "far"]), bulk("v"));
    // An absolute time in the past: OK, and the key is gone.
    assert_eq!(r(&mut c, &["SET", "past", "v", "EXAT", "1"]), ok());
    assert_eq!(r(&mut c, &["GET", "past"]), Value::Nil);
    assert_eq!(r(&mut c, &["SET", "k", "v", "PXAT", "1"]), ok());
    assert_eq!(r(&mut c, &["GET", "k"]), Value::Nil);
    assert_eq!(r(&mut c, &["SET", "k", "again", "NX"]), ok());
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("again"));
}

#[test]
fn set_option_errors() {
    let s = server();
    let mut c = s.conn();
    let syntax = "ERR syntax error";
    for bad in [
        &["SET", "k", "v", "NX", "XX"][..],
        &["SET", "k", "v", "XX", "NX"],
        &["SET", "k", "v", "EX", "10", "PX", "10"],
        &["SET", "k", "v", "PX", "10", "EXAT", "10"],
        &["SET", "k", "v", "EXAT", "10", "PXAT", "10"],
        &["SET", "k", "v", "KEEPTTL", "EX", "10"],
        &["SET", "k", "v", "PX", "10", "KEEPTTL"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "PXAT"],
        &["SET", "k", "v", "PERSIST"],
        &["SET", "k", "v", "FOO"],
        &["SET", "k", "v", "NXX"],
        &["SET", "k", "v", ""],
    ] {
        assert_eq!(cmd_err(&mut c, bad), syntax, "{bad:?}");
    }
    let invalid = "ERR invalid expire time in 'set' command";
    for bad in [
        &["SET", "k", "v", "EX", "0"][..],
        &["SET", "k", "v", "EX", "-1"],
        &["SET", "k", "v", "PX", "0"],
        &["SET", "k", "v", "PXAT", "0"],
        &["SET", "k", "v", "EXAT", "-5"],
        // Overflows once converted to ms, or once `now` is added.
        &["SET", "k", "v", "EX", "9223372036854776"],
        &["SET", "k", "v", "EX", "9223372036854775"],
        &["SET", "k", "v", "PX", "9223372036854775807"],
        &["SET", "k", "v", "EXAT", "9223372036854776"],
    ] {
        assert_eq!(cmd_err(&mut c, bad), invalid, "{bad:?}");
    }
    let not_int = "ERR value is not an integer or out of range";
    for bad in [
        &["SET", "k", "v", "EX", "abc"][..],
        &["SET", "k", "v", "PX", "1.5"],
        &["SET", "k", "v", "EX", "+10"],
        &["SET", "k", "v", "EX", " 10"],
        &["SET", "k", "v", "EX", "010"],
        &["SET", "k", "v", "EX", "9223372036854775808"],
    ] {
        assert_eq!(cmd_err(&mut c, bad), not_int, "{bad:?}");
    }
    // The expire is validated before NX looks at the key: nothing was written by any of these.
    assert_eq!(r(&mut c, &["GET", "k"]), Value::Nil);
}

#[test]
fn setnx_setex_psetex() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["SETNX", "k", "a"]), int(1));
    assert_eq!(r(&mut c, &["SETNX", "k", "b"]), int(0));
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("a"));

    assert_eq!(r(&mut c, &["SETEX", "k", "100", "b"]), ok());
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("b"));
    let t = pttl(&mut c, "k");
    assert!(t > 98_000 && t <= 100_000, "{t}");
    assert_eq!(r(&mut c, &["PSETEX", "k", "100000", "c"]), ok());
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("c"));
    let t = pttl(&mut c, "k");
    assert!(t > 98_000 && t <= 100_000, "{t}");

    assert_eq!(
        cmd_err(&mut c, &["SETEX", "k", "0", "v"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["SETEX", "k", "-5", "v"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["SETEX", "k", "9223372036854775807", "v"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["PSETEX", "k", "0", "v"]),
        "ERR invalid expire time in 'psetex' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["SETEX", "k", "abc", "v"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["PSETEX", "k", "1x", "v"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("c"));
}

// ---- MGET / MSET / MSETNX --------------------------------------------------------------------

#[test]
fn mget_mset_msetnx() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["MSET", "a", "1", "b", "2", "a", "3"]), ok());
    assert_eq!(
        r(&mut c, &["MGET", "a", "b", "missing", "a"]),
        arr(vec![bulk("3"), bulk("2"), Value::Nil, bulk("3")])
    );
    assert_eq!(r(&mut c, &["MGET", "missing"]), arr(vec![Value::Nil]));
    assert_eq!(r(&mut c, &["MSETNX", "a", "x", "c", "y"]), int(0));
    assert_eq!(
        r(&mut c, &["MGET", "a", "c"]),
        arr(vec![bulk("3"), Value::Nil])
    );
    assert_eq!(r(&mut c, &["MSETNX", "c", "x", "d", "y", "c", "z"]), int(1));
    assert_eq!(
        r(&mut c, &["MGET", "c", "d"]),
        arr(vec![bulk("z"), bulk("y")])
    );
    // MSET clears TTLs.
    assert_eq!(r(&mut c, &["SET", "t", "v", "EX", "100"]), ok());
    assert_eq!(r(&mut c, &["MSET", "t", "w"]), ok());
    assert_eq!(pttl(&mut c, "t"), -1);
    assert_eq!(
        cmd_err(&mut c, &["MSET", "a", "1", "b"]),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["MSETNX", "a", "1", "b"]),
        "ERR wrong number of arguments for 'msetnx' command"
    );
    assert_eq!(
        cmd_err(&mut c, &["MSET", "a"]),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(r(&mut c, &["GET", "b"]), bulk("2"));
}

// ---- GETSET / GETDEL / GETEX -----------------------------------------------------------------

#[test]
fn getset_and_getdel() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["GETSET", "k", "a"]), Value::Nil);
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("a"));
    assert_eq!(pttl(&mut c, "k"), -1);
    assert_eq!(r(&mut c, &["SET", "k", "a", "EX", "100"]), ok());
    assert_eq!(r(&mut c, &["GETSET", "k", "b"]), bulk("a"));
    assert_eq!(pttl(&mut c, "k"), -1, "GETSET clears the TTL");
    assert_eq!(r(&mut c, &["GETDEL", "k"]), bulk("b"));
    assert_eq!(r(&mut c, &["GET", "k"]), Value::Nil);
    assert_eq!(r(&mut c, &["GETDEL", "k"]), Value::Nil);
}

#[test]
fn getex_options() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["GETEX", "missing"]), Value::Nil);
    // A missing key answers nil before its expire value is looked at.
    assert_eq!(r(&mut c, &["GETEX", "missing", "EX", "-1"]), Value::Nil);
    assert_eq!(r(&mut c, &["GETEX", "missing", "PX", "abc"]), Value::Nil);
    assert_eq!(r(&mut c, &["SET", "k", "v"]), ok());
    assert_eq!(r(&mut c, &["GETEX", "k"]), bulk("v"));
    assert_eq!(pttl(&mut c, "k"), -1);
    assert_eq!(r(&mut c, &["GETEX", "k", "EX", "100"]), bulk("v"));
    let t = pttl(&mut c, "k");
    assert!(t > 98_000 && t <= 100_000, "{t}");
    assert_eq!(r(&mut c, &["GETEX", "k"]), bulk("v"));
    assert!(
        pttl(&mut c, "k") > 98_000,
        "GETEX without options keeps the TTL"
    );
    assert_eq!(r(&mut c, &["GETEX", "k", "PX", "200000"]), bulk("v"));
    assert!(pttl(&mut c, "k") > 198_000);
    let at = now_ms() / 1000 + 300;
    assert_eq!(
        r(&mut c, &["GETEX", "k", "EXAT", &at.to_string()]),
        bulk("v")
    );
    assert!(pttl(&mut c, "k") > 290_000);
    let at = now_ms() + 400_000;
    assert_eq!(
        r(&mut c, &["GETEX", "k", "PXAT", &at.to_string()]),
        bulk("v")
    );
    assert!(pttl(&mut c, "k") > 390_000);
    assert_eq!(r(&mut c, &["GETEX", "k", "PERSIST"]), bulk("v"));
    assert_eq!(pttl(&mut c, "k"), -1);
    assert_eq!(r(&mut c, &["GETEX", "k", "persist", "PERSIST"]), bulk("v"));
    assert_eq!(
        r(&mut c, &["GETEX", "k", "EX", "10", "EX", "20"]),
        bulk("v")
    );
    assert!(pttl(&mut c, "k") > 10_000);
    // An absolute time in the past deletes the key (after answering its value).
    assert_eq!(r(&mut c, &["GETEX", "k", "PXAT", "1"]), bulk("v"));
    assert_eq!(r(&mut c, &["GET", "k"]), Value::Nil);
    assert_eq!(r(&mut c, &["SET", "k", "w"]), ok());
    assert_eq!(r(&mut c, &["GETEX", "k", "EXAT", "1"]), bulk("w"));
    assert_eq!(r(&mut c, &["GET", "k"]), Value::Nil);

    assert_eq!(r(&mut c, &["SET", "k", "v"]), ok());
    for bad in [
        &["GETEX", "k", "PERSIST", "EX", "1"][..],
        &["GETEX", "k", "EX", "1", "PERSIST"],
        &["GETEX", "k", "EX", "1", "PX", "1"],
        &["GETEX", "k", "KEEPTTL"],
        &["GETEX", "k", "NX"],
        &["GETEX", "k", "XX"],
        &["GETEX", "k", "GET"],
        &["GETEX", "k", "EX"],
        &["GETEX", "k", "FOO"],
        &["GETEX", "missing", "FOO"],
    ] {
        assert_eq!(cmd_err(&mut c, bad), "ERR syntax error", "{bad:?}");
    }
    let invalid = "ERR invalid expire time in 'getex' command";
    assert_eq!(cmd_err(&mut c, &["GETEX", "k", "EX", "-1"]), invalid);
    assert_eq!(cmd_err(&mut c, &["GETEX", "k", "PX", "0"]), invalid);
    assert_eq!(
        cmd_err(&mut c, &["GETEX", "k", "EX", "9223372036854775"]),
        invalid
    );
    assert_eq!(
        cmd_err(&mut c, &["GETEX", "k", "EX", "abc"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("v"));
    assert_eq!(pttl(&mut c, "k"), -1);
}

// ---- INCR family -----------------------------------------------------------------------------

#[test]
fn incr_decr() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["INCR", "n"]), int(1));
    assert_eq!(r(&mut c, &["INCR", "n"]), int(2));
    assert_eq!(r(&mut c, &["DECR", "n"]), int(1));
    assert_eq!(r(&mut c, &["DECR", "m"]), int(-1));
    assert_eq!(r(&mut c, &["INCRBY", "n", "100"]), int(101));
    assert_eq!(r(&mut c, &["INCRBY", "n", "-200"]), int(-99));
    assert_eq!(r(&mut c, &["DECRBY", "n", "-99"]), int(0));
    assert_eq!(r(&mut c, &["DECRBY", "n", "5"]), int(-5));
    assert_eq!(r(&mut c, &["GET", "n"]), bulk("-5"));
    assert_eq!(r(&mut c, &["SET", "n", "9223372036854775806"]), ok());
    assert_eq!(r(&mut c, &["INCR", "n"]), int(i64::MAX));
    let overflow = "ERR increment or decrement would overflow";
    assert_eq!(cmd_err(&mut c, &["INCR", "n"]), overflow);
    assert_eq!(cmd_err(&mut c, &["INCRBY", "n", "1"]), overflow);
    assert_eq!(r(&mut c, &["GET", "n"]), bulk("9223372036854775807"));
    assert_eq!(r(&mut c, &["SET", "n", "-9223372036854775807"]), ok());
    assert_eq!(r(&mut c, &["DECR", "n"]), int(i64::MIN));
    assert_eq!(cmd_err(&mut c, &["DECR", "n"]), overflow);
    assert_eq!(cmd_err(&mut c, &["DECRBY", "n", "1"]), overflow);
    assert_eq!(cmd_err(&mut c, &["INCRBY", "n", "-1"]), overflow);
    assert_eq!(r(&mut c, &["INCRBY", "n", "9223372036854775807"]), int(-1));
    assert_eq!(
        cmd_err(&mut c, &["DECRBY", "n", "-9223372036854775808"]),
        "ERR decrement would overflow"
    );
    assert_eq!(r(&mut c, &["SET", "z", "0"]), ok());
    assert_eq!(
        r(&mut c, &["INCRBY", "z", "-9223372036854775808"]),
        int(i64::MIN)
    );
    assert_eq!(
        r(&mut c, &["DECRBY", "y", "9223372036854775807"]),
        int(-i64::MAX)
    );
}

#[test]
fn incr_number_parsing() {
    let s = server();
    let mut c = s.conn();
    let not_int = "ERR value is not an integer or out of range";
    // Stored values Redis's string2ll refuses.
    for bad in [
        "+1",
        " 1",
        "1 ",
        "007",
        "-0",
        "",
        "1.0",
        "abc",
        "9223372036854775808",
        "1e3",
        "0x10",
        "--1",
    ] {
        assert_eq!(r(&mut c, &["SET", "n", bad]), ok());
        assert_eq!(cmd_err(&mut c, &["INCR", "n"]), not_int, "value {bad:?}");
        assert_eq!(
            cmd_err(&mut c, &["DECRBY", "n", "1"]),
            not_int,
            "value {bad:?}"
        );
        assert_eq!(r(&mut c, &["GET", "n"]), bulk(bad), "unchanged");
    }
    // And as increments.
    for bad in [
        "+1",
        " 1",
        "1 ",
        "007",
        "-0",
        "",
        "1.5",
        "9223372036854775808",
        "-9223372036854775809",
    ] {
        assert_eq!(
            cmd_err(&mut c, &["INCRBY", "k", bad]),
            not_int,
            "increment {bad:?}"
        );
        assert_eq!(
            cmd_err(&mut c, &["DECRBY", "k", bad]),
            not_int,
            "decrement {bad:?}"
        );
    }
    assert_eq!(r(&mut c, &["GET", "k"]), Value::Nil);
    // Values Redis accepts.
    for (good, next) in [
        ("0", 1),
        ("-1", 0),
        ("9", 10),
        ("-9223372036854775808", i64::MIN + 1),
    ] {
        assert_eq!(r(&mut c, &["SET", "n", good]), ok());
        assert_eq!(r(&mut c, &["INCR", "n"]), int(next));
    }
    // Binary junk after a NUL is not ignored.
    assert_eq!(run(&mut c, &[b"SET", b"n", b"1\x002"]), Ok(ok()));
    assert_eq!(run(&mut c, &[b"INCR", b"n"]), Err(not_int.to_string()));
}

#[test]
fn incr_keeps_ttl_and_expired_keys_restart() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["SET", "n", "5", "EX", "100"]), ok());
    assert_eq!(r(&mut c, &["INCR", "n"]), int(6));
    assert!(pttl(&mut c, "n") > 98_000, "INCR keeps the TTL");
    assert_eq!(r(&mut c, &["INCRBYFLOAT", "n", "0.5"]), bulk("6.5"));
    assert!(pttl(&mut c, "n") > 98_000, "INCRBYFLOAT keeps the TTL");
    assert_eq!(r(&mut c, &["APPEND", "n", "1"]), int(4));
    assert!(pttl(&mut c, "n") > 98_000, "APPEND keeps the TTL");
    assert_eq!(r(&mut c, &["SETRANGE", "n", "0", "7"]), int(4));
    assert!(pttl(&mut c, "n") > 98_000, "SETRANGE keeps the TTL");
    assert_eq!(r(&mut c, &["GET", "n"]), bulk("7.51"));

    // An expired key is absent for writes: INCR starts from 0, without a TTL.
    assert_eq!(r(&mut c, &["SET", "e", "41", "PX", "50"]), ok());
    assert!(wait_until(Duration::from_secs(5), || r(
        &mut c,
        &["GET", "e"]
    ) == Value::Nil));
    assert_eq!(r(&mut c, &["INCR", "e"]), int(1));
    assert_eq!(pttl(&mut c, "e"), -1);
    // ... and SET NX succeeds, APPEND starts empty.
    assert_eq!(r(&mut c, &["SET", "e", "x", "PX", "50"]), ok());
    assert!(wait_until(Duration::from_secs(5), || r(
        &mut c,
        &["GET", "e"]
    ) == Value::Nil));
    assert_eq!(r(&mut c, &["SET", "e", "y", "NX"]), ok());
    assert_eq!(r(&mut c, &["GET", "e"]), bulk("y"));
    assert_eq!(r(&mut c, &["PSETEX", "e", "50", "z"]), ok());
    assert!(wait_until(Duration::from_secs(5), || r(
        &mut c,
        &["GET", "e"]
    ) == Value::Nil));
    assert_eq!(r(&mut c, &["APPEND", "e", "w"]), int(1));
    assert_eq!(pttl(&mut c, "e"), -1);
    assert_eq!(r(&mut c, &["SETNX", "e", "q"]), int(0));
}

/// Outputs checked against redis-server 7.0.15.
#[test]
fn incrbyfloat_outputs() {
    let s = server();
    let mut c = s.conn();
    let cases: &[(Option<&str>, &str, &str)] = &[
        (None, "10.5", "10.5"),
        (Some("10.5"), "0.1", "10.6"),
        (Some("5.0e3"), "2.0e2", "5200"),
        (Some("10.50"), "0.1", "10.6"),
        (None, "-5", "-5"),
        (None, "3.0", "3"),
        (Some("0.1"), "0.2", "0.3"),
        (Some("1"), "-1", "0"),
        (None, "1.23456789012345678", "1.23456789012345678"),
        (None, "0x10", "16"),
        (None, "1e-400", "0"),
        (None, "1.5e20", "150000000000000000000"),
        (Some("0"), "-0.0", "0"),
        (None, "-1.5", "-1.5"),
        (None, "3.14159265358979323846", "3.14159265358979324"),
        (Some("100000000000000000"), "1", "100000000000000001"),
        (None, "0.0000001", "0.0000001"),
        (None, "123456789.123456789", "123456789.12345678899873747"),
        (None, "+1.5", "1.5"),
        (Some("1.5"), ".5", "2"),
        (Some("2"), "5.", "7"),
        (Some("7"), "1", "8"),
        (
            Some("1e308"),
            "1e308",
            "199999999999999999993371759311691291321120199694831134415594095989843469737676123744\
             200253843777078640893494450108026446304269499187921167194841628860392837535918200039\
             206381557326219209014213335878306791577877829121087126122536729803237260434173178506\
             889763247582601711514636284849020905456510092687857156096",
        ),
    ];
    for (i, (start, incr, want)) in cases.iter().enumerate() {
        let key = format!("f{i}");
        if let Some(v) = start {
            assert_eq!(r(&mut c, &["SET", &key, v]), ok());
        }
        assert_eq!(
            r(&mut c, &["INCRBYFLOAT", &key, incr]),
            bulk(want),
            "{start:?} + {incr}"
        );
        assert_eq!(
            r(&mut c, &["GET", &key]),
            bulk(want),
            "stored {start:?} + {incr}"
        );
    }
    let not_float = "ERR value is not a valid float";
    for bad in [" 1", "1 ", "", "abc", "1e5000", "nan", "1,5"] {
        assert_eq!(
            cmd_err(&mut c, &["INCRBYFLOAT", "u", bad]),
            not_float,
            "{bad:?}"
        );
    }
    assert_eq!(r(&mut c, &["SET", "w", "  1"]), ok());
    assert_eq!(cmd_err(&mut c, &["INCRBYFLOAT", "w", "1"]), not_float);
    let nan_inf = "ERR increment would produce NaN or Infinity";
    assert_eq!(cmd_err(&mut c, &["INCRBYFLOAT", "u", "inf"]), nan_inf);
    assert_eq!(cmd_err(&mut c, &["INCRBYFLOAT", "u", "-inf"]), nan_inf);
    assert_eq!(r(&mut c, &["SET", "i", "inf"]), ok());
    assert_eq!(cmd_err(&mut c, &["INCRBYFLOAT", "i", "1"]), nan_inf);
    assert_eq!(r(&mut c, &["GET", "u"]), Value::Nil);
    // An integer stored by INCRBYFLOAT is usable by INCR.
    assert_eq!(r(&mut c, &["INCR", "f21"]), int(9));
}

// ---- APPEND / STRLEN / GETRANGE / SETRANGE ---------------------------------------------------

#[test]
fn append_and_strlen() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["STRLEN", "k"]), int(0));
    assert_eq!(r(&mut c, &["APPEND", "k", "hello"]), int(5));
    assert_eq!(r(&mut c, &["APPEND", "k", " world"]), int(11));
    assert_eq!(r(&mut c, &["APPEND", "k", ""]), int(11));
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("hello world"));
    assert_eq!(r(&mut c, &["STRLEN", "k"]), int(11));
    assert_eq!(r(&mut c, &["APPEND", "e", ""]), int(0));
    assert_eq!(r(&mut c, &["GET", "e"]), bulk(""));
    // APPEND keeps a number's text as it is.
    assert_eq!(r(&mut c, &["APPEND", "z", "007"]), int(3));
    assert_eq!(r(&mut c, &["GET", "z"]), bulk("007"));
    assert_eq!(r(&mut c, &["SET", "i", "12"]), ok());
    assert_eq!(r(&mut c, &["APPEND", "i", "3"]), int(3));
    assert_eq!(r(&mut c, &["INCR", "i"]), int(124));
}

#[test]
fn getrange_and_substr() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["GETRANGE", "missing", "0", "-1"]), bulk(""));
    assert_eq!(r(&mut c, &["SET", "k", "This is a string"]), ok());
    for (start, end, want) in [
        ("0", "3", "This"),
        ("-3", "-1", "ing"),
        ("0", "-1", "This is a string"),
        ("10", "100", "string"),
        ("5", "3", ""),
        ("-1", "-5", ""),
        ("-100", "-200", ""),
        ("-100", "2", "Thi"),
        ("15", "15", "g"),
        ("16", "20", ""),
        (
            "-9223372036854775808",
            "9223372036854775807",
            "This is a string",
        ),
        ("0", "-100", "T"),
    ] {
        assert_eq!(
            r(&mut c, &["GETRANGE", "k", start, end]),
            bulk(want),
            "{start} {end}"
        );
        assert_eq!(
            r(&mut c, &["SUBSTR", "k", start, end]),
            bulk(want),
            "{start} {end}"
        );
    }
    assert_eq!(r(&mut c, &["SET", "e", ""]), ok());
    assert_eq!(r(&mut c, &["GETRANGE", "e", "0", "-1"]), bulk(""));
    assert_eq!(r(&mut c, &["GETRANGE", "e", "0", "0"]), bulk(""));
    let not_int = "ERR value is not an integer or out of range";
    assert_eq!(cmd_err(&mut c, &["GETRANGE", "k", "a", "1"]), not_int);
    assert_eq!(cmd_err(&mut c, &["GETRANGE", "k", "0", "1.0"]), not_int);
    assert_eq!(cmd_err(&mut c, &["GETRANGE", "missing", "0", "x"]), not_int);
}

#[test]
fn setrange() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["SETRANGE", "k", "0", "Hello World"]), int(11));
    assert_eq!(r(&mut c, &["SETRANGE", "k", "6", "Redis"]), int(11));
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("Hello Redis"));
    assert_eq!(r(&mut c, &["SETRANGE", "k", "11", "!"]), int(12));
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("Hello Redis!"));
    // Padding with zero bytes.
    assert_eq!(r(&mut c, &["SETRANGE", "p", "3", "x"]), int(4));
    assert_eq!(
        run(&mut c, &[b"GET", b"p"]),
        Ok(Value::BulkString(b"\0\0\0x".to_vec()))
    );
    assert_eq!(r(&mut c, &["SETRANGE", "p", "6", "yz"]), int(8));
    assert_eq!(
        run(&mut c, &[b"GET", b"p"]),
        Ok(Value::BulkString(b"\0\0\0x\0\0yz".to_vec()))
    );
    // Empty value: the current length, nothing created.
    assert_eq!(r(&mut c, &["SETRANGE", "none", "5", ""]), int(0));
    assert_eq!(r(&mut c, &["GET", "none"]), Value::Nil);
    assert_eq!(r(&mut c, &["SETRANGE", "k", "100", ""]), int(12));
    assert_eq!(
        r(&mut c, &["SETRANGE", "k", "9223372036854775807", ""]),
        int(12)
    );
    assert_eq!(
        cmd_err(&mut c, &["SETRANGE", "k", "-1", "x"]),
        "ERR offset is out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["SETRANGE", "k", "-1", ""]),
        "ERR offset is out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["SETRANGE", "k", "x", "x"]),
        "ERR value is not an integer or out of range"
    );
    let too_big = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    assert_eq!(
        cmd_err(&mut c, &["SETRANGE", "k", "536870912", "x"]),
        too_big
    );
    assert_eq!(
        cmd_err(&mut c, &["SETRANGE", "k", "536870911", "xy"]),
        too_big
    );
    assert_eq!(
        cmd_err(&mut c, &["SETRANGE", "new", "536870912", "x"]),
        too_big
    );
    assert_eq!(
        cmd_err(&mut c, &["SETRANGE", "k", "9223372036854775807", "x"]),
        too_big
    );
    assert_eq!(r(&mut c, &["GET", "new"]), Value::Nil);
    assert_eq!(r(&mut c, &["GET", "k"]), bulk("Hello Redis!"));
}

// ---- LCS -------------------------------------------------------------------------------------

fn range(a: i64, b: i64) -> Value {
    arr(vec![int(a), int(b)])
}

#[test]
fn lcs() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(
        r(&mut c, &["MSET", "key1", "ohmytext", "key2", "mynewtext"]),
        ok()
    );
    assert_eq!(r(&mut c, &["LCS", "key1", "key2"]), bulk("mytext"));
    assert_eq!(r(&mut c, &["LCS", "key1", "key2", "LEN"]), int(6));
    assert_eq!(
        r(&mut c, &["LCS", "key1", "key2", "IDX"]),
        arr(vec![
            bulk("matches"),
            arr(vec![
                arr(vec![range(4, 7), range(5, 8)]),
                arr(vec![range(2, 3), range(0, 1)]),
            ]),
            bulk("len"),
            int(6),
        ])
    );
    assert_eq!(
        r(&mut c, &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4"]),
        arr(vec![
            bulk("matches"),
            arr(vec![arr(vec![range(4, 7), range(5, 8)])]),
            bulk("len"),
            int(6)
        ])
    );
    assert_eq!(
        r(
            &mut c,
            &[
                "LCS",
                "key1",
                "key2",
                "IDX",
                "MINMATCHLEN",
                "4",
                "WITHMATCHLEN"
            ]
        ),
        arr(vec![
            bulk("matches"),
            arr(vec![arr(vec![range(4, 7), range(5, 8), int(4)])]),
            bulk("len"),
            int(6)
        ])
    );
    assert_eq!(
        r(
            &mut c,
            &[
                "LCS",
                "key1",
                "key2",
                "WITHMATCHLEN",
                "idx",
                "minmatchlen",
                "-5"
            ]
        ),
        arr(vec![
            bulk("matches"),
            arr(vec![
                arr(vec![range(4, 7), range(5, 8), int(4)]),
                arr(vec![range(2, 3), range(0, 1), int(2)]),
            ]),
            bulk("len"),
            int(6),
        ])
    );
    // WITHMATCHLEN or MINMATCHLEN alone do not change the plain reply.
    assert_eq!(
        r(&mut c, &["LCS", "key1", "key2", "WITHMATCHLEN"]),
        bulk("mytext")
    );
    assert_eq!(
        r(&mut c, &["LCS", "key1", "key2", "LEN", "MINMATCHLEN", "3"]),
        int(6)
    );
    // Missing keys are empty strings.
    assert_eq!(r(&mut c, &["LCS", "key1", "missing"]), bulk(""));
    assert_eq!(r(&mut c, &["LCS", "missing", "missing", "LEN"]), int(0));
    assert_eq!(
        r(&mut c, &["LCS", "missing", "key1", "IDX"]),
        arr(vec![bulk("matches"), arr(vec![]), bulk("len"), int(0)])
    );
    assert_eq!(r(&mut c, &["LCS", "key1", "key1"]), bulk("ohmytext"));
    assert_eq!(
        r(&mut c, &["LCS", "key1", "key1", "IDX"]),
        arr(vec![
            bulk("matches"),
            arr(vec![arr(vec![range(0, 7), range(0, 7)])]),
            bulk("len"),
            int(8)
        ])
    );
    assert_eq!(
        cmd_err(&mut c, &["LCS", "key1", "key2", "LEN", "IDX"]),
        "ERR If you want both the length and indexes, please just use IDX."
    );
    assert_eq!(
        cmd_err(&mut c, &["LCS", "key1", "key2", "FOO"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["LCS", "key1", "key2", "MINMATCHLEN"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["LCS", "key1", "key2", "MINMATCHLEN", "x"]),
        "ERR value is not an integer or out of range"
    );
    // The table would exceed proto-max-bulk-len.
    let a = "a".repeat(12_000);
    assert_eq!(r(&mut c, &["MSET", "big1", &a, "big2", &a]), ok());
    assert_eq!(
        cmd_err(&mut c, &["LCS", "big1", "big2"]),
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    );
    assert_eq!(r(&mut c, &["LCS", "big1", "key1", "LEN"]), int(0));
}

// ---- arity -----------------------------------------------------------------------------------

#[test]
fn wrong_arity() {
    let s = server();
    let mut c = s.conn();
    for args in [
        &["GET"][..],
        &["GET", "a", "b"],
        &["SET", "k"],
        &["SETNX", "k"],
        &["SETNX", "k", "v", "x"],
        &["SETEX", "k", "10"],
        &["PSETEX", "k", "10"],
        &["MGET"],
        &["MSET", "k"],
        &["MSETNX", "k"],
        &["GETSET", "k"],
        &["GETDEL"],
        &["GETDEL", "a", "b"],
        &["GETEX"],
        &["INCR"],
        &["INCR", "a", "b"],
        &["DECR"],
        &["INCRBY", "k"],
        &["DECRBY", "k"],
        &["INCRBYFLOAT", "k"],
        &["APPEND", "k"],
        &["STRLEN"],
        &["GETRANGE", "k", "0"],
        &["SUBSTR", "k", "0"],
        &["SETRANGE", "k", "0"],
        &["LCS", "a"],
    ] {
        let name = args[0].to_ascii_lowercase();
        assert_eq!(
            cmd_err(&mut c, args),
            format!("ERR wrong number of arguments for '{name}' command"),
            "{args:?}"
        );
    }
}

// ---- concurrency -----------------------------------------------------------------------------

#[test]
fn concurrent_incr_is_exact() {
    let s = server();
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let v = r(&mut c, &["INCR", "counter"]);
                    assert!(matches!(v, Value::Int(_)), "{v:?}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("incr thread");
    }
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["GET", "counter"]), bulk("10000"));
}

#[test]
fn mset_is_never_seen_half_applied() {
    let s = server();
    let keys = ["{x}a", "b", "{y}c", "d"];
    let mut c = s.conn();
    assert_eq!(
        r(
            &mut c,
            &["MSET", keys[0], "init", keys[1], "init", keys[2], "init", keys[3], "init"]
        ),
        ok()
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let mut c = s.conn();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                    let v = r(&mut c, &["MGET", keys[0], keys[1], keys[2], keys[3]]);
                    let Value::Array(items) = v else {
                        panic!("MGET gave {v:?}")
                    };
                    assert_eq!(items.len(), 4);
                    assert!(
                        items.iter().all(|i| *i == items[0]),
                        "half-applied MSET seen: {items:?}"
                    );
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                for i in 0..300 {
                    let v = format!("w{w}-{i}");
                    let args = ["MSET", keys[0], &v, keys[1], &v, keys[2], &v, keys[3], &v];
                    assert_eq!(r(&mut c, &args), ok());
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for rd in readers {
        assert!(rd.join().expect("reader") > 0);
    }
}

// ---- differential checks against redis-server --------------------------------------------------

/// Random GETRANGE / SETRANGE / APPEND / LCS / INCRBYFLOAT / SET option mixes, replies compared
/// with redis-server's (skipped, saying so, when redis-server is not installed).
#[test]
fn differential_against_redis_server() {
    let Some(reference) = RefRedis::start() else {
        eprintln!("SKIPPED: redis-server is not installed");
        return;
    };
    let talus = TestServer::start(&[]);
    let mut a = talus.conn();
    let mut b = redis::Client::open(reference.url())
        .expect("client")
        .get_connection_with_timeout(Duration::from_secs(10))
        .expect("connect");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let idx = [
        "-20",
        "-7",
        "-1",
        "0",
        "1",
        "2",
        "5",
        "9",
        "30",
        "-9223372036854775808",
        "9223372036854775807",
    ];
    let floats = [
        "1",
        "-1",
        "0.1",
        "-0.3",
        "1e3",
        "2.5e-3",
        "12345678.9",
        "-0",
        "3.0",
        "1e20",
        "x",
        "",
        "inf",
    ];
    for step in 0..3000 {
        let key = rng.pick(&["s1", "s2", "s3"]);
        let cmd: Vec<Vec<u8>> = match rng.below(9) {
            0 => vec![b"SET".to_vec(), key.into(), rng.text(b"abcxyz\0\r\n", 12)],
            1 => vec![
                b"GETRANGE".to_vec(),
                key.into(),
                rng.pick(&idx).into(),
                rng.pick(&idx).into(),
            ],
            2 => vec![
                b"SETRANGE".to_vec(),
                key.into(),
                rng.below(14).to_string().into(),
                rng.text(b"abc", 4),
            ],
            3 => vec![b"APPEND".to_vec(), key.into(), rng.text(b"xyz", 3)],
            4 => {
                let mut v = vec![
                    b"LCS".to_vec(),
                    key.into(),
                    rng.pick(&["s1", "s2", "s3"]).into(),
                ];
                for _ in 0..rng.below(4) {
                    let opt =
                        rng.pick(&["IDX", "LEN", "WITHMATCHLEN", "MINMATCHLEN", "1", "2", "0"]);
                    v.push(opt.into());
                }
                v
            }
            5 => vec![
                b"INCRBYFLOAT".to_vec(),
                key.into(),
                rng.pick(&floats).into(),
            ],
            6 => vec![b"INCRBY".to_vec(), key.into(), rng.pick(&idx).into()],
            7 => {
                let mut v = vec![b"SET".to_vec(), key.into(), b"v".to_vec()];
                for _ in 0..rng.below(4) {
                    let opt = rng.pick(&[
                        "NX", "XX", "GET", "KEEPTTL", "EX", "PX", "100000", "0", "-1",
                    ]);
                    v.push(opt.into());
                }
                v
            }
            _ => vec![b"STRLEN".to_vec(), key.into()],
        };
        let args: Vec<&[u8]> = cmd.iter().map(|v| v.as_slice()).collect();
        let (x, y) = (run(&mut a, &args), run(&mut b, &args));
        let shown: Vec<String> = cmd
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        assert_eq!(
            x, y,
            "step {step}: {shown:?} (left: talus, right: redis-server)"
        );
    }
    for key in ["s1", "s2", "s3"] {
        assert_eq!(
            run(&mut a, &[b"GET", key.as_bytes()]),
            run(&mut b, &[b"GET", key.as_bytes()])
        );
    }
}
