//! Bit commands through the real server: SETBIT, GETBIT, BITCOUNT, BITPOS with every form,
//! wrong arity, bad offsets and bits, missing keys, TTLs; expected replies were checked against
//! redis-server 7.0.15 (run this suite against it with `TALUS_TEST_REDIS=1`), and a
//! differential test compares random bitmaps and ranges with redis-server when it is installed.
//!
//! WRONGTYPE paths are not covered here yet: no command creates a non-string key so far.

mod common;

use common::cmds::*;
use common::{cmd_err, wait_until, RefRedis, Rng, TestServer};
use redis::Value;
use std::time::Duration;

fn set_raw(con: &mut redis::Connection, key: &str, value: &[u8]) {
    assert_eq!(run(con, &[b"SET", key.as_bytes(), value]), Ok(ok()));
}

fn get_raw(con: &mut redis::Connection, key: &str) -> Value {
    run(con, &[b"GET", key.as_bytes()]).expect("GET")
}

// ---- SETBIT / GETBIT -------------------------------------------------------------------------

#[test]
fn setbit_and_getbit() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["GETBIT", "k", "0"]), int(0));
    assert_eq!(r(&mut c, &["SETBIT", "k", "7", "1"]), int(0));
    assert_eq!(get_raw(&mut c, "k"), Value::BulkString(vec![0x01]));
    assert_eq!(r(&mut c, &["SETBIT", "k", "7", "1"]), int(1));
    assert_eq!(r(&mut c, &["SETBIT", "k", "0", "1"]), int(0));
    assert_eq!(get_raw(&mut c, "k"), Value::BulkString(vec![0x81]));
    assert_eq!(r(&mut c, &["GETBIT", "k", "0"]), int(1));
    assert_eq!(r(&mut c, &["GETBIT", "k", "1"]), int(0));
    assert_eq!(r(&mut c, &["GETBIT", "k", "7"]), int(1));
    assert_eq!(r(&mut c, &["GETBIT", "k", "8"]), int(0));
    assert_eq!(r(&mut c, &["GETBIT", "k", "4294967295"]), int(0));
    // Growing pads with zero bytes.
    assert_eq!(r(&mut c, &["SETBIT", "k", "20", "1"]), int(0));
    assert_eq!(
        get_raw(&mut c, "k"),
        Value::BulkString(vec![0x81, 0x00, 0x08])
    );
    assert_eq!(r(&mut c, &["SETBIT", "k", "0", "0"]), int(1));
    assert_eq!(r(&mut c, &["SETBIT", "k", "0", "0"]), int(0));
    assert_eq!(
        get_raw(&mut c, "k"),
        Value::BulkString(vec![0x01, 0x00, 0x08])
    );
    // Clearing a bit of a missing key still creates it (zero-filled up to the bit).
    assert_eq!(r(&mut c, &["SETBIT", "z", "9", "0"]), int(0));
    assert_eq!(get_raw(&mut c, "z"), Value::BulkString(vec![0, 0]));
    // Bits of a string value.
    assert_eq!(r(&mut c, &["SET", "s", "A"]), ok()); // 0x41
    let bits: Vec<Value> = (0..8)
        .map(|i| r(&mut c, &["GETBIT", "s", &i.to_string()]))
        .collect();
    assert_eq!(bits, [0, 1, 0, 0, 0, 0, 0, 1].map(int).to_vec());
    assert_eq!(r(&mut c, &["SETBIT", "s", "6", "1"]), int(0));
    assert_eq!(r(&mut c, &["GET", "s"]), bulk("C"));
    // The largest offset proto-max-bulk-len allows is accepted.
    assert_eq!(r(&mut c, &["GETBIT", "s", "4294967295"]), int(0));
}

#[test]
fn setbit_keeps_ttl_and_expired_keys_restart() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["SET", "k", "\u{1}", "EX", "100"]), ok());
    assert_eq!(r(&mut c, &["SETBIT", "k", "0", "1"]), int(0));
    assert!(pttl(&mut c, "k") > 98_000, "SETBIT keeps the TTL");
    assert_eq!(get_raw(&mut c, "k"), Value::BulkString(vec![0x81]));
    assert_eq!(r(&mut c, &["SET", "e", "\u{ff}", "PX", "50"]), ok());
    assert!(wait_until(Duration::from_secs(5), || r(
        &mut c,
        &["GETBIT", "e", "0"]
    ) == int(0)));
    assert_eq!(r(&mut c, &["SETBIT", "e", "1", "1"]), int(0));
    assert_eq!(get_raw(&mut c, "e"), Value::BulkString(vec![0x40]));
    assert_eq!(pttl(&mut c, "e"), -1);
}

#[test]
fn setbit_getbit_errors() {
    let s = server();
    let mut c = s.conn();
    let offset = "ERR bit offset is not an integer or out of range";
    for bad in [
        "-1",
        "4294967296",
        "abc",
        "+1",
        " 1",
        "1.0",
        "",
        "9223372036854775808",
        "#1",
    ] {
        assert_eq!(
            cmd_err(&mut c, &["SETBIT", "k", bad, "1"]),
            offset,
            "{bad:?}"
        );
        assert_eq!(cmd_err(&mut c, &["GETBIT", "k", bad]), offset, "{bad:?}");
    }
    let bit = "ERR bit is not an integer or out of range";
    for bad in ["2", "-1", "a", "", "+1", "01", "1.0"] {
        assert_eq!(cmd_err(&mut c, &["SETBIT", "k", "0", bad]), bit, "{bad:?}");
    }
    // The offset is checked first.
    assert_eq!(cmd_err(&mut c, &["SETBIT", "k", "-1", "2"]), offset);
    assert_eq!(r(&mut c, &["GET", "k"]), Value::Nil);
}

// ---- BITCOUNT --------------------------------------------------------------------------------

#[test]
fn bitcount() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["BITCOUNT", "missing"]), int(0));
    // A missing key answers 0 before its arguments are parsed (as Redis 7.0).
    assert_eq!(r(&mut c, &["BITCOUNT", "missing", "a", "b"]), int(0));
    assert_eq!(r(&mut c, &["BITCOUNT", "missing", "0"]), int(0));
    assert_eq!(
        r(&mut c, &["BITCOUNT", "missing", "0", "-1", "foo"]),
        int(0)
    );
    assert_eq!(r(&mut c, &["SET", "k", "foobar"]), ok());
    for (args, want) in [
        (&[][..], 26),
        (&["0", "0"], 4),
        (&["1", "1"], 6),
        (&["1", "1", "byte"], 6),
        (&["1", "1", "BYTE"], 6),
        (&["5", "30", "bit"], 17),
        (&["5", "30", "BIT"], 17),
        (&["0", "-1", "bit"], 26),
        (&["-5", "-1", "bit"], 2),
        (&["3", "2"], 0),
        (&["-1", "-2"], 0),
        (&["-100", "-200"], 0),
        (&["-100", "-200", "bit"], 0),
        (&["-200", "-100"], 4),
        (&["0", "100"], 26),
        (&["47", "47", "bit"], 0),
        (&["46", "47", "bit"], 1),
        (&["-9223372036854775808", "9223372036854775807"], 26),
        (&["-9223372036854775808", "9223372036854775807", "bit"], 26),
    ] {
        let mut cmd = vec!["BITCOUNT", "k"];
        cmd.extend_from_slice(args);
        assert_eq!(r(&mut c, &cmd), int(want), "{cmd:?}");
    }
    assert_eq!(cmd_err(&mut c, &["BITCOUNT", "k", "0"]), "ERR syntax error");
    assert_eq!(
        cmd_err(&mut c, &["BITCOUNT", "k", "0", "1", "2", "3"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["BITCOUNT", "k", "0", "-1", "foo"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["BITCOUNT", "k", "a", "b"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["BITCOUNT", "k", "0", "1.5"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(r(&mut c, &["SET", "e", ""]), ok());
    assert_eq!(r(&mut c, &["BITCOUNT", "e"]), int(0));
    assert_eq!(r(&mut c, &["BITCOUNT", "e", "0", "-1", "bit"]), int(0));
    // Word-sized popcounts and the tail.
    let all: Vec<u8> = (0..=255).collect();
    set_raw(&mut c, "all", &all);
    assert_eq!(r(&mut c, &["BITCOUNT", "all"]), int(1024));
    assert_eq!(r(&mut c, &["BITCOUNT", "all", "1", "-2"]), int(1024 - 8));
    assert_eq!(
        r(&mut c, &["BITCOUNT", "all", "9", "2036", "bit"]),
        int(1014)
    );
}

// ---- BITPOS ----------------------------------------------------------------------------------

#[test]
fn bitpos() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(r(&mut c, &["BITPOS", "missing", "0"]), int(0));
    assert_eq!(r(&mut c, &["BITPOS", "missing", "1"]), int(-1));
    assert_eq!(r(&mut c, &["BITPOS", "missing", "1", "a"]), int(-1));
    assert_eq!(
        r(&mut c, &["BITPOS", "missing", "1", "0", "1", "bit", "5"]),
        int(-1)
    );
    assert_eq!(r(&mut c, &["SET", "k", "foobar"]), ok());
    set_raw(&mut c, "m", b"\xff\xf0\x00");
    set_raw(&mut c, "f", b"\xff\xff\xff");
    set_raw(&mut c, "z", b"\x00\x00\x00");
    assert_eq!(r(&mut c, &["SET", "e", ""]), ok());
    for (key, args, want) in [
        ("k", &["1"][..], 1),
        ("k", &["0"], 0),
        ("k", &["1", "1"], 9),
        ("k", &["1", "1", "1"], 9),
        ("k", &["1", "2", "-1", "byte"], 17),
        ("k", &["1", "7", "15", "bit"], 9),
        ("k", &["0", "7", "15", "BIT"], 7),
        ("k", &["0", "-3", "-1", "bit"], 45),
        ("k", &["1", "-100", "-200"], 1),
        ("k", &["0", "-100", "-200"], 0),
        ("k", &["1", "3", "2"], -1),
        ("m", &["0"], 12),
        ("m", &["1", "2"], -1),
        ("m", &["0", "0", "0"], -1),
        ("m", &["0", "0", "1", "bit"], -1),
        ("m", &["0", "0", "11", "bit"], -1),
        ("m", &["0", "0", "12", "bit"], 12),
        ("m", &["1", "12", "-1", "bit"], -1),
        ("m", &["0", "1"], 12),
        ("m", &["0", "2"], 16),
        // Without an end, the string is padded with zeros on the right ...
        ("f", &["0"], 24),
        ("f", &["0", "0"], 24),
        ("f", &["0", "1"], 24),
        ("f", &["0", "-1"], 24),
        // ... with an end, a 0 past the range is not found.
        ("f", &["0", "0", "-1"], -1),
        ("f", &["0", "0", "-1", "bit"], -1),
        ("f", &["0", "0", "100"], -1),
        ("f", &["1", "0", "-1", "bit"], 0),
        ("f", &["1", "3", "5", "bit"], 3),
        ("z", &["1"], -1),
        ("z", &["0"], 0),
        ("z", &["0", "5", "9", "bit"], 5),
        ("z", &["1", "0", "-1", "bit"], -1),
        ("e", &["0"], -1),
        ("e", &["1"], -1),
        ("e", &["0", "0"], -1),
        ("e", &["0", "0", "-1", "bit"], -1),
    ] {
        let mut cmd = vec!["BITPOS", key];
        cmd.extend_from_slice(args);
        assert_eq!(r(&mut c, &cmd), int(want), "{cmd:?}");
    }
    let must = "ERR The bit argument must be 1 or 0.";
    assert_eq!(cmd_err(&mut c, &["BITPOS", "k", "2"]), must);
    assert_eq!(cmd_err(&mut c, &["BITPOS", "missing", "-1"]), must);
    assert_eq!(
        cmd_err(&mut c, &["BITPOS", "missing", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["BITPOS", "k", "1", "a"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["BITPOS", "k", "1", "0", "a"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["BITPOS", "k", "0", "3", "bit"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut c, &["BITPOS", "k", "1", "0", "1", "bits"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut c, &["BITPOS", "k", "1", "0", "1", "bit", "5"]),
        "ERR syntax error"
    );
    // Long runs: the first set bit after many zero words, the first clear bit after many ones.
    let mut long = vec![0u8; 1000];
    long[777] = 0x08;
    set_raw(&mut c, "long", &long);
    assert_eq!(r(&mut c, &["BITPOS", "long", "1"]), int(777 * 8 + 4));
    assert_eq!(r(&mut c, &["BITPOS", "long", "1", "778"]), int(-1));
    assert_eq!(
        r(&mut c, &["BITPOS", "long", "1", "6221", "-1", "bit"]),
        int(-1)
    );
    assert_eq!(
        r(&mut c, &["BITPOS", "long", "1", "6210", "-1", "bit"]),
        int(6220)
    );
    let ones: Vec<u8> = long.iter().map(|b| !b).collect();
    set_raw(&mut c, "ones", &ones);
    assert_eq!(r(&mut c, &["BITPOS", "ones", "0"]), int(777 * 8 + 4));
    assert_eq!(r(&mut c, &["BITPOS", "ones", "0", "778"]), int(8000));
    assert_eq!(r(&mut c, &["BITPOS", "ones", "0", "778", "-1"]), int(-1));
}

#[test]
fn wrong_arity() {
    let s = server();
    let mut c = s.conn();
    for args in [
        &["SETBIT", "k", "0"][..],
        &["SETBIT", "k", "0", "1", "2"],
        &["GETBIT", "k"],
        &["GETBIT", "k", "0", "1"],
        &["BITCOUNT"],
        &["BITPOS", "k"],
    ] {
        let name = args[0].to_ascii_lowercase();
        assert_eq!(
            cmd_err(&mut c, args),
            format!("ERR wrong number of arguments for '{name}' command"),
            "{args:?}"
        );
    }
}

// ---- differential checks against redis-server --------------------------------------------------

/// Random bitmaps (runs of 0x00/0xff and random bytes) and random BITCOUNT/BITPOS/GETBIT/SETBIT
/// arguments, replies compared with redis-server's (skipped, saying so, when it is missing).
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
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let idx = [
        "0", "1", "2", "3", "7", "8", "9", "15", "16", "17", "23", "31", "40", "63", "64", "100",
        "-1", "-2", "-3", "-8", "-9", "-17", "-40", "-100", "x",
    ];
    for step in 0..4000 {
        let key = rng.pick(&["b1", "b2"]);
        let cmd: Vec<Vec<u8>> = match rng.below(7) {
            0 => {
                let len = rng.below(12);
                let value: Vec<u8> = (0..len)
                    .map(|_| match rng.below(4) {
                        0 => 0x00,
                        1 => 0xff,
                        _ => rng.next() as u8,
                    })
                    .collect();
                vec![b"SET".to_vec(), key.into(), value]
            }
            1 => vec![
                b"SETBIT".to_vec(),
                key.into(),
                rng.below(100).to_string().into(),
                rng.pick(&["0", "1"]).into(),
            ],
            2 => vec![
                b"GETBIT".to_vec(),
                key.into(),
                rng.below(100).to_string().into(),
            ],
            3 | 4 => {
                let mut v = vec![b"BITCOUNT".to_vec(), key.into()];
                let n = rng.below(4);
                for i in 0..n {
                    v.push(
                        if i == 2 {
                            rng.pick(&["BIT", "BYTE", "bit"])
                        } else {
                            rng.pick(&idx)
                        }
                        .into(),
                    );
                }
                v
            }
            _ => {
                let mut v = vec![
                    b"BITPOS".to_vec(),
                    key.into(),
                    rng.pick(&["0", "1", "0", "1", "2"]).into(),
                ];
                let n = rng.below(4);
                for i in 0..n {
                    v.push(
                        if i == 2 {
                            rng.pick(&["BIT", "BYTE", "bit"])
                        } else {
                            rng.pick(&idx)
                        }
                        .into(),
                    );
                }
                v
            }
        };
        let args: Vec<&[u8]> = cmd.iter().map(|v| v.as_slice()).collect();
        let (x, y) = (run(&mut a, &args), run(&mut b, &args));
        let shown: Vec<String> = cmd
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        let value = run(&mut b, &[b"GET", key.as_bytes()]);
        assert_eq!(
            x, y,
            "step {step}: {shown:?} on {value:?} (left: talus, right: redis-server)"
        );
    }
}
