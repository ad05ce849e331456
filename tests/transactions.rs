//! MULTI, EXEC, DISCARD, WATCH and UNWATCH through the real server: queue-time and run-time
//! errors, misuse, WATCH invalidation (another client, FLUSHALL, expiry, RENAME, MOVE, creation),
//! SELECT and FLUSHDB inside a transaction, atomicity under concurrency and across `kill -9`,
//! and a differential run against redis-server.
//!
//! Replies are compared as raw RESP, so nil arrays, nested errors and `+QUEUED` are checked
//! byte for byte.

mod common;
#[path = "differential/support.rs"]
mod support;

use common::{wait_until, TestServer};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::{encode, split_args, RawConn, RedisServer};

/// Reply bytes as text, CRLF shown as the four characters `\r\n`.
fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace("\r\n", "\\r\\n")
}

/// A raw connection to `s`.
fn conn(s: &TestServer) -> RawConn {
    RawConn::connect(s.addr).expect("connect")
}

/// Sends one command (split like redis-cli) and returns the raw reply, escaped (`\r\n`).
fn r(c: &mut RawConn, line: &str) -> String {
    let args = split_args(line).expect("balanced quotes");
    show(&c.request(&args).expect("reply"))
}

/// A raw reply, escaped, from its lines (`lines(&["+OK", ":1"])` = `+OK\r\n:1\r\n`).
fn lines(parts: &[&str]) -> String {
    parts.iter().map(|p| format!("{p}\\r\\n")).collect()
}

fn ok() -> String {
    lines(&["+OK"])
}

fn queued() -> String {
    lines(&["+QUEUED"])
}

const NIL_ARRAY: &str = "*-1\\r\\n";
const NIL: &str = "$-1\\r\\n";
const EXECABORT: &str = "-EXECABORT Transaction discarded because of previous errors.\\r\\n";

/// Queues `cmds` after MULTI (each must answer +QUEUED) and returns EXEC's reply.
fn transaction(c: &mut RawConn, cmds: &[&str]) -> String {
    assert_eq!(r(c, "MULTI"), ok());
    for cmd in cmds {
        assert_eq!(r(c, cmd), queued(), "{cmd}");
    }
    r(c, "EXEC")
}

/// An integer field of INFO.
fn info_field(c: &mut RawConn, field: &str) -> u64 {
    let reply = c
        .request(&[b"INFO".to_vec(), b"stats".to_vec()])
        .expect("INFO");
    let text = String::from_utf8_lossy(&reply).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO: {text}"))
}

#[test]
fn queued_commands_run_in_order_and_see_earlier_writes() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    assert_eq!(r(&mut c, "MULTI"), ok());
    assert_eq!(r(&mut c, "SET a 1"), queued());
    // Not run yet: another client sees nothing.
    let mut other = conn(&s);
    assert_eq!(r(&mut other, "GET a"), NIL);
    for cmd in [
        "INCR a",
        "APPEND a x",
        "GET a",
        "MSET b 1 c 2",
        "MGET a b c nosuch",
    ] {
        assert_eq!(r(&mut c, cmd), queued());
    }
    assert_eq!(
        r(&mut c, "EXEC"),
        lines(&[
            "*6", "+OK", ":2", ":2", "$2", "2x", "+OK", "*4", "$2", "2x", "$1", "1", "$1", "2",
            "$-1"
        ])
    );
    assert_eq!(r(&mut other, "GET a"), lines(&["$2", "2x"]));
    // An empty transaction answers an empty array; EXEC ends the transaction.
    assert_eq!(transaction(&mut c, &[]), lines(&["*0"]));
    assert_eq!(r(&mut c, "EXEC"), lines(&["-ERR EXEC without MULTI"]));
}

#[test]
fn queue_time_errors_abort_the_transaction() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    let cases: &[(&str, &str)] = &[
        (
            "NOSUCH a b",
            "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ",
        ),
        ("GET", "-ERR wrong number of arguments for 'get' command"),
        (
            "CONFIG FOO",
            "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.",
        ),
        ("SHUTDOWN", "-ERR Command not allowed inside a transaction"),
    ];
    for (bad, err) in cases {
        assert_eq!(r(&mut c, "MULTI"), ok());
        assert_eq!(r(&mut c, "SET q 1"), queued());
        assert_eq!(r(&mut c, bad), lines(&[err]), "{bad}");
        assert_eq!(r(&mut c, "SET q2 1"), queued());
        assert_eq!(r(&mut c, "EXEC"), EXECABORT, "{bad}");
        assert_eq!(
            r(&mut c, "EXISTS q q2"),
            lines(&[":0"]),
            "{bad}: nothing ran"
        );
        assert_eq!(r(&mut c, "EXEC"), lines(&["-ERR EXEC without MULTI"]));
    }
    // The server is still up after the refused SHUTDOWN.
    assert_eq!(r(&mut c, "PING"), lines(&["+PONG"]));
}

#[test]
fn run_time_errors_fail_alone() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    assert_eq!(r(&mut c, "SET s notanumber"), ok());
    let reply = transaction(
        &mut c,
        &["INCR s", "SET t 1", "SETBIT b -1 1", "APPEND s !", "INCR t"],
    );
    assert_eq!(
        reply,
        lines(&[
            "*5",
            "-ERR value is not an integer or out of range",
            "+OK",
            "-ERR bit offset is not an integer or out of range",
            ":11",
            ":2"
        ])
    );
    assert_eq!(
        r(&mut c, "MGET s t b"),
        lines(&["*3", "$11", "notanumber!", "$1", "2", "$-1"])
    );
}

#[test]
fn collections_inside_exec_see_earlier_writes() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    let reply = transaction(
        &mut c,
        &[
            "HSET h a 1",
            "HSET h b 2",
            "HLEN h",
            "GET h",
            "SADD set x y",
            "SCARD set",
            "RENAME h h2",
            "HGET h2 b",
            "FLUSHDB",
            "HLEN h2",
            "HSET h3 f v",
            "HLEN h3",
        ],
    );
    assert_eq!(
        reply,
        lines(&[
            "*12",
            ":1",
            ":1",
            ":2",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
            ":2",
            ":2",
            "+OK",
            "$1",
            "2",
            "+OK",
            ":0",
            ":1",
            ":1"
        ])
    );
    assert_eq!(r(&mut c, "KEYS *"), lines(&["*1", "$2", "h3"]));
    assert_eq!(r(&mut c, "HGET h3 f"), lines(&["$1", "v"]));
}

#[test]
fn misuse_gets_redis_errors() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    assert_eq!(r(&mut c, "EXEC"), lines(&["-ERR EXEC without MULTI"]));
    assert_eq!(r(&mut c, "DISCARD"), lines(&["-ERR DISCARD without MULTI"]));
    // Nested MULTI and WATCH inside MULTI are refused but do not abort the transaction.
    assert_eq!(r(&mut c, "MULTI"), ok());
    assert_eq!(
        r(&mut c, "MULTI"),
        lines(&["-ERR MULTI calls can not be nested"])
    );
    assert_eq!(
        r(&mut c, "WATCH k"),
        lines(&["-ERR WATCH inside MULTI is not allowed"])
    );
    assert_eq!(r(&mut c, "SET k 1"), queued());
    assert_eq!(r(&mut c, "EXEC"), lines(&["*1", "+OK"]));
    // DISCARD drops the queue.
    assert_eq!(r(&mut c, "MULTI"), ok());
    assert_eq!(r(&mut c, "SET k 2"), queued());
    assert_eq!(r(&mut c, "DISCARD"), ok());
    assert_eq!(r(&mut c, "GET k"), lines(&["$1", "1"]));
    assert_eq!(r(&mut c, "DISCARD"), lines(&["-ERR DISCARD without MULTI"]));
}

#[test]
fn pipelined_transaction_in_one_write() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    let mut bytes = Vec::new();
    for line in ["SET x 0", "MULTI", "INCR x", "INCR x", "EXEC", "GET x"] {
        bytes.extend(encode(&split_args(line).unwrap()));
    }
    c.send(&bytes).unwrap();
    let replies: String = (0..6).map(|_| show(&c.read_reply().unwrap())).collect();
    assert_eq!(
        replies,
        lines(&["+OK", "+OK", "+QUEUED", "+QUEUED", "*2", ":1", ":2", "$1", "2"])
    );
}

#[test]
fn select_inside_multi_applies_in_order() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    let reply = transaction(
        &mut c,
        &["SET k zero", "SELECT 1", "SET k one", "SELECT 99", "GET k"],
    );
    assert_eq!(
        reply,
        lines(&[
            "*5",
            "+OK",
            "+OK",
            "+OK",
            "-ERR DB index is out of range",
            "$3",
            "one"
        ])
    );
    // The session stays in db 1 after EXEC.
    assert_eq!(r(&mut c, "GET k"), lines(&["$3", "one"]));
    assert_eq!(r(&mut c, "SELECT 0"), ok());
    assert_eq!(r(&mut c, "GET k"), lines(&["$4", "zero"]));
}

#[test]
fn flushdb_inside_exec_is_part_of_the_one_commit() {
    let mut s = TestServer::start(&[]);
    let mut c = conn(&s);
    for cmd in ["SET a 1", "SELECT 1", "SET other 1", "SELECT 0", "GET a"] {
        r(&mut c, cmd);
    }
    let reply = transaction(
        &mut c,
        &[
            "SET b 1",
            "FLUSHDB",
            "GET a",
            "SET c 1",
            "DBSIZE",
            "EXISTS a b c",
            "KEYS *",
        ],
    );
    assert_eq!(
        reply,
        lines(&["*7", "+OK", "+OK", "$-1", "+OK", ":1", ":1", "*1", "$1", "c"])
    );
    // The meta cache and the store agree with the transaction, for other clients too.
    let mut other = conn(&s);
    assert_eq!(
        r(&mut other, "MGET a b c"),
        lines(&["*3", "$-1", "$-1", "$1", "1"])
    );
    assert_eq!(r(&mut other, "GET a"), NIL);
    assert_eq!(r(&mut other, "DBSIZE"), lines(&[":1"]));
    assert_eq!(r(&mut other, "SELECT 1"), ok());
    assert_eq!(r(&mut other, "GET other"), lines(&["$1", "1"]));
    // FLUSHALL then writes in several dbs; DBSIZE sees the pending state.
    let reply = transaction(
        &mut c,
        &[
            "SET d 1", "FLUSHALL", "SET e 1", "SELECT 1", "SET f 1", "DBSIZE", "SELECT 0", "DBSIZE",
        ],
    );
    assert_eq!(
        reply,
        lines(&["*8", "+OK", "+OK", "+OK", "+OK", "+OK", ":1", "+OK", ":1"])
    );
    // It is all on disk: restart after kill -9.
    s.kill9();
    let s2 = TestServer::start_in(&s.dir, &[]);
    let mut c = conn(&s2);
    assert_eq!(r(&mut c, "KEYS *"), lines(&["*1", "$1", "e"]));
    assert_eq!(r(&mut c, "SELECT 1"), ok());
    assert_eq!(r(&mut c, "KEYS *"), lines(&["*1", "$1", "f"]));
}

#[test]
fn dbsize_and_keys_inside_exec_see_pending_writes() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    r(&mut c, "MSET x 1 y 2");
    let reply = transaction(
        &mut c,
        &[
            "SET z 3",
            "DEL x",
            "DBSIZE",
            "KEYS *",
            "RANDOMKEY",
            "DEL y z",
            "DBSIZE",
        ],
    );
    assert!(
        reply.starts_with(&lines(&["*7", "+OK", ":1", ":2"])),
        "{reply}"
    );
    assert!(reply.ends_with(&lines(&[":2", ":0"])), "{reply}");
}

// ---- WATCH ---------------------------------------------------------------------------------

/// WATCHes `key` on `c`, lets `meddle` act (with a second connection), then runs `SET
/// watch-probe 1` in a transaction and returns EXEC's reply.
fn watch_then(s: &TestServer, key: &str, meddle: impl FnOnce(&mut RawConn)) -> String {
    let mut c = conn(s);
    let mut other = conn(s);
    assert_eq!(r(&mut c, &format!("WATCH {key}")), ok());
    meddle(&mut other);
    transaction(&mut c, &["SET watch-probe 1"])
}

const RAN: &str = "*1\\r\\n+OK\\r\\n";

#[test]
fn watch_is_invalidated_by_writes_of_any_client() {
    let s = TestServer::start(&[]);
    let mut setup = conn(&s);
    r(&mut setup, "SET k 1");
    assert_eq!(watch_then(&s, "k", |_| {}), RAN, "untouched");
    assert_eq!(watch_then(&s, "k", |o| drop(r(o, "GET k"))), RAN, "a read");
    assert_eq!(
        watch_then(&s, "k", |o| assert_eq!(r(o, "SET k 2"), ok())),
        NIL_ARRAY
    );
    assert_eq!(
        watch_then(&s, "k", |o| drop(r(o, "SET k 2"))),
        NIL_ARRAY,
        "the same value is a write too"
    );
    assert_eq!(watch_then(&s, "k", |o| drop(r(o, "INCRBY k 0"))), NIL_ARRAY);
    assert_eq!(
        watch_then(&s, "k", |o| drop(r(o, "EXPIRE k 100"))),
        NIL_ARRAY
    );
    assert_eq!(watch_then(&s, "k", |o| drop(r(o, "PERSIST k"))), NIL_ARRAY);
    assert_eq!(
        watch_then(&s, "k", |o| drop(r(o, "PERSIST k"))),
        RAN,
        "PERSIST without TTL changes nothing"
    );
    assert_eq!(
        watch_then(&s, "k", |o| {
            r(o, "SET src v");
            assert_eq!(r(o, "RENAME src k"), ok());
        }),
        NIL_ARRAY,
        "RENAME onto the key"
    );
    assert_eq!(
        watch_then(&s, "k", |o| assert_eq!(r(o, "MOVE k 5"), lines(&[":1"]))),
        NIL_ARRAY,
        "MOVE away"
    );
    assert_eq!(
        watch_then(&s, "missing", |o| drop(r(o, "DEL missing"))),
        RAN,
        "deleting a missing key changes nothing"
    );
    assert_eq!(
        watch_then(&s, "missing", |o| drop(r(o, "SET missing 1"))),
        NIL_ARRAY,
        "creating the watched key"
    );
    // The same key name in another db is another key.
    r(&mut setup, "SET k 1");
    assert_eq!(
        watch_then(&s, "k", |o| {
            r(o, "SELECT 3");
            r(o, "SET k 9");
        }),
        RAN
    );
}

#[test]
fn watch_sees_a_score_change_that_leaves_a_zsets_meta_alone() {
    // A score change keeps the cardinality (and here the index marks), so the zset's meta
    // entry is not rewritten; the key still changed.
    let s = TestServer::start(&[]);
    let mut setup = conn(&s);
    r(&mut setup, "ZADD z 1 a 2 b 3 c");
    assert_eq!(
        watch_then(&s, "z", |o| assert_eq!(
            r(o, "ZADD z 2.5 b"),
            lines(&[":0"])
        )),
        NIL_ARRAY
    );
    assert_eq!(
        watch_then(&s, "z", |o| drop(r(o, "ZINCRBY z 0.25 b"))),
        NIL_ARRAY
    );
    assert_eq!(
        watch_then(&s, "z", |o| drop(r(o, "ZADD z 2.75 b"))),
        RAN,
        "the same score changes nothing"
    );
    assert_eq!(
        r(&mut setup, "ZRANGE z 0 -1 WITHSCORES"),
        lines(&["*6", "$1", "a", "$1", "1", "$1", "b", "$4", "2.75", "$1", "c", "$1", "3"])
    );
}

#[test]
fn watch_sees_a_hash_field_overwrite_that_leaves_its_meta_alone() {
    // Overwriting existing fields keeps the hash's field count, so its meta entry is not
    // rewritten; the key still changed.
    let s = TestServer::start(&[]);
    let mut setup = conn(&s);
    r(&mut setup, "HSET h f 1 g 2");
    assert_eq!(
        watch_then(&s, "h", |o| assert_eq!(r(o, "HSET h f 3"), lines(&[":0"]))),
        NIL_ARRAY
    );
    assert_eq!(
        watch_then(&s, "h", |o| assert_eq!(
            r(o, "HINCRBY h g 5"),
            lines(&[":7"])
        )),
        NIL_ARRAY
    );
    assert_eq!(
        watch_then(&s, "h", |o| drop(r(o, "HINCRBYFLOAT h g 0.5"))),
        NIL_ARRAY
    );
    assert_eq!(
        watch_then(&s, "h", |o| assert_eq!(r(o, "HMSET h f 4"), ok())),
        NIL_ARRAY
    );
    assert_eq!(r(&mut setup, "HLEN h"), lines(&[":2"]));
    assert_eq!(
        r(&mut setup, "HMGET h f g"),
        lines(&["*2", "$1", "4", "$3", "7.5"])
    );
}

#[test]
fn watch_own_writes_unwatch_and_rewatch() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    let mut other = conn(&s);
    r(&mut c, "SET k 1");
    // The watcher's own write counts.
    assert_eq!(r(&mut c, "WATCH k"), ok());
    r(&mut c, "SET k 2");
    assert_eq!(transaction(&mut c, &["GET k"]), NIL_ARRAY);
    // EXEC forgot the watch.
    r(&mut other, "SET k 3");
    assert_eq!(transaction(&mut c, &["GET k"]), lines(&["*1", "$1", "3"]));
    // UNWATCH forgets it.
    assert_eq!(r(&mut c, "WATCH k"), ok());
    assert_eq!(r(&mut c, "UNWATCH"), ok());
    r(&mut other, "SET k 4");
    assert_eq!(transaction(&mut c, &["GET k"]), lines(&["*1", "$1", "4"]));
    // DISCARD forgets it.
    assert_eq!(r(&mut c, "WATCH k"), ok());
    assert_eq!(r(&mut c, "MULTI"), ok());
    assert_eq!(r(&mut c, "DISCARD"), ok());
    r(&mut other, "SET k 5");
    assert_eq!(transaction(&mut c, &["GET k"]), lines(&["*1", "$1", "5"]));
    // WATCHing again does not clear a dirty watch; a queued UNWATCH does not either.
    assert_eq!(r(&mut c, "WATCH k"), ok());
    r(&mut other, "SET k 6");
    assert_eq!(r(&mut c, "WATCH k other"), ok());
    assert_eq!(transaction(&mut c, &["UNWATCH", "GET k"]), NIL_ARRAY);
    // EXECABORT wins over a dirty watch.
    assert_eq!(r(&mut c, "WATCH k"), ok());
    r(&mut other, "SET k 7");
    assert_eq!(r(&mut c, "MULTI"), ok());
    r(&mut c, "NOSUCH");
    assert_eq!(r(&mut c, "EXEC"), EXECABORT);
}

#[test]
fn watch_then_own_write_in_one_pipeline() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    // WATCH and SET arrive in one read: they may run in one storage context.
    let mut bytes = Vec::new();
    for line in ["WATCH pk", "SET pk 1", "MULTI", "GET pk", "EXEC"] {
        bytes.extend(encode(&split_args(line).unwrap()));
    }
    c.send(&bytes).unwrap();
    let replies: String = (0..5).map(|_| show(&c.read_reply().unwrap())).collect();
    assert_eq!(
        replies,
        lines(&["+OK", "+OK", "+OK", "+QUEUED"]) + NIL_ARRAY
    );
}

#[test]
fn watch_and_flush() {
    let s = TestServer::start(&[]);
    let mut setup = conn(&s);
    r(&mut setup, "SET k 1");
    assert_eq!(
        watch_then(&s, "k", |o| assert_eq!(r(o, "FLUSHALL"), ok())),
        NIL_ARRAY
    );
    assert_eq!(
        watch_then(&s, "k", |o| drop(r(o, "FLUSHALL"))),
        RAN,
        "FLUSHALL of a missing watched key changes nothing (Redis 7.0)"
    );
    r(&mut setup, "SET k 1");
    assert_eq!(
        watch_then(&s, "k", |o| {
            r(o, "SELECT 2");
            r(o, "FLUSHDB");
        }),
        RAN,
        "FLUSHDB of another db"
    );
    r(&mut setup, "SET k 1");
    assert_eq!(watch_then(&s, "k", |o| drop(r(o, "FLUSHDB"))), NIL_ARRAY);
    // A FLUSHDB inside another client's transaction counts too.
    r(&mut setup, "SET k 1");
    assert_eq!(
        watch_then(&s, "k", |o| {
            transaction(o, &["FLUSHDB"]);
        }),
        NIL_ARRAY
    );
}

#[test]
fn watch_and_expiry() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    let mut other = conn(&s);
    // Expired between WATCH and EXEC, not yet deleted by anyone.
    r(&mut c, "SET k v PX 150");
    assert_eq!(r(&mut c, "WATCH k"), ok());
    assert!(wait_until(Duration::from_secs(5), || r(
        &mut other, "EXISTS k"
    ) == lines(&[":0"])));
    assert_eq!(transaction(&mut c, &["SET probe 1"]), NIL_ARRAY);
    // Expired and deleted by the active-expiry cycle between WATCH and EXEC.
    let expired_before = info_field(&mut other, "expired_keys");
    r(&mut c, "SET k v PX 150");
    assert_eq!(r(&mut c, "WATCH k"), ok());
    assert!(wait_until(Duration::from_secs(10), || info_field(
        &mut other,
        "expired_keys"
    ) > expired_before));
    assert_eq!(transaction(&mut c, &["SET probe 1"]), NIL_ARRAY);
    // Already expired when WATCHed: its expiry is no change (Redis 7.0).
    r(&mut c, "SET k v PX 1");
    assert!(wait_until(Duration::from_secs(5), || r(
        &mut other, "EXISTS k"
    ) == lines(&[":0"])));
    assert_eq!(r(&mut c, "WATCH k"), ok());
    assert_eq!(transaction(&mut c, &["SET probe 1"]), RAN);
    // A TTL that is still running is no change either.
    r(&mut c, "SET k v EX 100");
    assert_eq!(r(&mut c, "WATCH k"), ok());
    assert_eq!(transaction(&mut c, &["SET probe 1"]), RAN);
}

#[test]
fn twenty_clients_increment_one_counter_with_watch() {
    let s = TestServer::start(&[]);
    const CLIENTS: usize = 20;
    const EACH: usize = 50;
    let addr = s.addr;
    let handles: Vec<_> = (0..CLIENTS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = RawConn::connect(addr).unwrap();
                let (mut done, mut retries) = (0, 0u64);
                while done < EACH {
                    assert_eq!(r(&mut c, "WATCH counter"), ok());
                    let reply = c.request(&[b"GET".to_vec(), b"counter".to_vec()]).unwrap();
                    let current: u64 = match support::parse(&reply).unwrap() {
                        support::Value::Bulk(Some(v)) => {
                            String::from_utf8(v).unwrap().parse().unwrap()
                        }
                        _ => 0,
                    };
                    let reply = transaction(&mut c, &[&format!("SET counter {}", current + 1)]);
                    if reply == RAN {
                        done += 1;
                    } else {
                        assert_eq!(reply, NIL_ARRAY);
                        retries += 1;
                    }
                }
                retries
            })
        })
        .collect();
    let retries: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let mut c = conn(&s);
    assert_eq!(
        r(&mut c, "GET counter"),
        lines(&["$4", &(CLIENTS * EACH).to_string()])
    );
    println!("{} increments, {retries} retries", CLIENTS * EACH);
}

#[test]
fn transactions_are_isolated_and_atomic_for_readers() {
    let s = TestServer::start(&[]);
    let addr = s.addr;
    assert_eq!(r(&mut conn(&s), "MSET a 0 b 0"), ok());
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = RawConn::connect(addr).unwrap();
                for _ in 0..200 {
                    let reply = transaction(&mut c, &["INCR a", "INCR b"]);
                    assert!(reply.starts_with("*2"), "{reply}");
                }
            })
        })
        .collect();
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = RawConn::connect(addr).unwrap();
            let mut checks = 0;
            while !stop.load(Ordering::Acquire) {
                // A multi-key read (one snapshot) and a transaction of two reads.
                let mget = r(&mut c, "MGET a b");
                let parts: Vec<&str> = mget.split("\\r\\n").collect();
                assert_eq!(
                    parts.get(2),
                    parts.get(4),
                    "MGET saw half a transaction: {mget}"
                );
                let txn = transaction(&mut c, &["GET a", "GET b"]);
                let parts: Vec<&str> = txn.split("\\r\\n").collect();
                assert_eq!(
                    parts.get(2),
                    parts.get(4),
                    "EXEC saw half a transaction: {txn}"
                );
                checks += 1;
            }
            checks
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Release);
    assert!(reader.join().unwrap() > 0);
    let mut c = conn(&s);
    assert_eq!(
        r(&mut c, "MGET a b"),
        lines(&["*2", "$4", "1600", "$4", "1600"])
    );
}

/// Whole transactions sent in one write by many clients at once (the executor runs such
/// batches together in one storage group): each EXEC still sees `a` and `b` equal (no other
/// transaction interleaves), a command failing at run time fails alone, plain writers of the
/// same keys mix in, and the totals are exact.
#[test]
fn whole_transactions_from_many_clients_at_once_are_isolated() {
    let s = TestServer::start(&[]);
    let addr = s.addr;
    assert_eq!(r(&mut conn(&s), "MSET a 0 b 0 str x"), ok());
    const CLIENTS: usize = 16;
    const EACH: usize = 300;
    let writers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = RawConn::connect(addr).unwrap();
                let mut script = vec!["MULTI", "INCR a", "INCR b", "EXEC"];
                if i % 2 == 1 {
                    // WRONGTYPE at run time, between the two increments.
                    script = vec!["MULTI", "INCR a", "LPUSH str v", "INCR b", "EXEC"];
                }
                let mut bytes = Vec::new();
                for line in &script {
                    bytes.extend(encode(&split_args(line).unwrap()));
                }
                for _ in 0..EACH {
                    c.send(&bytes).unwrap();
                    let replies: Vec<String> = (0..script.len())
                        .map(|_| show(&c.read_reply().unwrap()))
                        .collect();
                    assert_eq!(replies[0], ok());
                    assert!(replies[1..script.len() - 1].iter().all(|q| *q == queued()));
                    let exec = &replies[script.len() - 1];
                    let parts: Vec<&str> = exec.split("\\r\\n").collect();
                    if i % 2 == 1 {
                        assert_eq!(parts[0], "*3", "{exec}");
                        assert!(parts[2].starts_with("-WRONGTYPE"), "{exec}");
                        assert_eq!(parts[1], parts[3], "EXEC saw another transaction: {exec}");
                    } else {
                        assert_eq!(parts[0], "*2", "{exec}");
                        assert_eq!(parts[1], parts[2], "EXEC saw another transaction: {exec}");
                    }
                }
            })
        })
        .collect();
    // Plain pipelined writers of other keys and readers of both mix into the same groups.
    let mixer = std::thread::spawn(move || {
        let mut c = RawConn::connect(addr).unwrap();
        let mut bytes = Vec::new();
        for line in ["INCR c", "MGET a b", "INCR c"] {
            bytes.extend(encode(&split_args(line).unwrap()));
        }
        for _ in 0..EACH {
            c.send(&bytes).unwrap();
            let _ = c.read_reply().unwrap();
            let mget = show(&c.read_reply().unwrap());
            let parts: Vec<&str> = mget.split("\\r\\n").collect();
            assert_eq!(
                parts.get(2),
                parts.get(4),
                "MGET saw half a transaction: {mget}"
            );
            let _ = c.read_reply().unwrap();
        }
    });
    for w in writers {
        w.join().unwrap();
    }
    mixer.join().unwrap();
    let total = (CLIENTS * EACH).to_string();
    let mut c = conn(&s);
    assert_eq!(
        r(&mut c, "MGET a b c str"),
        lines(&[
            "*4",
            "$4",
            &total,
            "$4",
            &total,
            "$3",
            &(2 * EACH).to_string(),
            "$1",
            "x"
        ])
    );
}

#[test]
fn disconnecting_inside_multi_leaves_nothing() {
    let s = TestServer::start(&[]);
    let mut other = conn(&s);
    {
        let mut c = conn(&s);
        assert_eq!(r(&mut c, "WATCH w"), ok());
        assert_eq!(r(&mut c, "MULTI"), ok());
        assert_eq!(r(&mut c, "SET gone 1"), queued());
        // EXEC is never sent; the connection closes.
    }
    // Whatever the server does with the closed connection, the queue never runs.
    assert_eq!(r(&mut other, "PING"), lines(&["+PONG"]));
    assert!(!wait_until(Duration::from_millis(300), || r(
        &mut other,
        "EXISTS gone"
    ) == lines(&[
        ":1"
    ])));
    // Writes after the watcher left still work (its registry entry is gone with it).
    assert_eq!(r(&mut other, "SET w 1"), ok());
}

/// Queues `n` SETs of 1 KB values, sends EXEC, and kills the server with SIGKILL once INFO
/// shows that EXEC has run `progress` of its commands (0 = just arrived; `n` = all ran, the
/// commit is in flight or done; `u64::MAX` = after EXEC's reply arrived). Restarts on the same
/// data and returns DBSIZE's reply.
fn crash_during_exec(n: usize, progress: u64) -> String {
    // Two executors: the probe's INFO must not wait behind the EXEC it watches.
    let mut s = TestServer::start(&["--exec-threads", "2"]);
    let mut c = conn(&s);
    let value = vec![b'v'; 1000];
    let mut bytes = encode(&[b"MULTI".to_vec()]);
    for i in 0..n {
        bytes.extend(encode(&[
            b"SET".to_vec(),
            format!("big:{i}").into_bytes(),
            value.clone(),
        ]));
    }
    // Written from another thread while this one reads the replies: neither side's buffers
    // have to hold the whole exchange.
    let mut stream = c.stream.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stream.write_all(&bytes).unwrap();
    });
    assert_eq!(show(&c.read_reply().unwrap()), ok());
    for _ in 0..n {
        assert_eq!(show(&c.read_reply().unwrap()), queued());
    }
    writer.join().unwrap();
    // INFO counts every command as it is dispatched (itself included), and EXEC counts each
    // queued command as it runs: what the count runs ahead of the probes is EXEC's progress.
    let mut probe = conn(&s);
    let base = info_field(&mut probe, "total_commands_processed");
    c.send(&encode(&[b"EXEC".to_vec()])).unwrap();
    // Polled without pauses, so the kill lands as close as possible to the point asked for.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut polls = 0;
    if progress == u64::MAX {
        let reply = c.read_reply().unwrap();
        assert!(reply.starts_with(format!("*{n}\r\n").as_bytes()));
    } else {
        loop {
            polls += 1;
            let ahead = info_field(&mut probe, "total_commands_processed") - base - polls;
            if ahead > progress {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "EXEC did not get that far"
            );
        }
    }
    s.kill9();
    let s2 = TestServer::start_in(&s.dir, &[]);
    let mut c = conn(&s2);
    r(&mut c, "DBSIZE")
}

#[test]
fn kill9_during_a_large_exec_leaves_all_or_nothing() {
    const N: usize = 50_000;
    let none = lines(&[":0"]);
    let all = lines(&[&format!(":{N}")]);
    let mut outcomes = Vec::new();
    for progress in [0, N as u64 / 2, N as u64, u64::MAX] {
        let size = crash_during_exec(N, progress);
        if progress == u64::MAX {
            assert_eq!(size, all, "an acknowledged EXEC is durable");
        }
        assert!(
            size == none || size == all,
            "a crash during EXEC (after {progress} commands) left part of it: DBSIZE {size}"
        );
        outcomes.push(format!("{progress}: {size}"));
    }
    println!("kill -9 after n commands of the EXEC ran -> DBSIZE after restart: {outcomes:?}");
}

// ---- against redis-server --------------------------------------------------------------------

/// Transaction scripts run on Talus and on redis-server with two clients (`B:` lines go to the
/// second one); every raw reply must be identical.
const SCRIPT: &str = r#"
FLUSHALL
MULTI
SET a 1
INCR a
GET a
EXEC
EXEC
DISCARD
MULTI
MULTI
WATCH a
PING
EXEC
MULTI
EXEC
MULTI
GET
SET a 2
EXEC
GET a
MULTI
NOSUCHCOMMAND x
EXEC
MULTI
CONFIG NOSUCH
EXEC
MULTI
SHUTDOWN
EXEC
MULTI
CLIENT NOSUCH
EXEC
SET s text
MULTI
INCR s
INCRBYFLOAT s 1
SETBIT s -1 1
GETRANGE s 0 1
APPEND s more
EXEC
MULTI
SET k v
DISCARD
GET k
DISCARD
MULTI
SELECT 1
SET k one
SELECT 100
SELECT notanumber
GET k
SELECT 0
EXEC
GET k
SELECT 1
GET k
SELECT 0
SET w 1
WATCH w
B: SET w 2
MULTI
GET w
EXEC
WATCH w
B: GET w
MULTI
GET w
EXEC
WATCH w nothere
B: DEL nothere
MULTI
GET w
EXEC
WATCH nothere
B: SET nothere 1
MULTI
GET w
EXEC
WATCH w
B: FLUSHALL
MULTI
GET w
EXEC
WATCH w
B: FLUSHALL
MULTI
GET w
EXEC
SET w 1
WATCH w
B: SET src 5
B: RENAME src w
MULTI
GET w
EXEC
WATCH w
UNWATCH
B: SET w 3
MULTI
GET w
EXEC
WATCH w
SET w 4
MULTI
GET w
EXEC
MSET x 1 y 2
MULTI
DEL x
DBSIZE
KEYS y*
FLUSHDB
DBSIZE
SET z 1
EXISTS x y z
EXEC
DBSIZE
MULTI
RENAME z z2
RENAME nothere z3
GET z2
EXEC
MULTI
SET n 10
DECRBY n 3
GETDEL n
EXISTS n
EXEC
MULTI
UNWATCH
EXEC
MULTI
ECHO hi
TYPE z2
TTL z2
EXEC
MULTI
HSET h a 1
HSET h b 2
HLEN h
GET h
SADD st x y x
SCARD st
HGET h b
DEL h
HLEN h
EXEC
WATCH st
B: SADD st x
MULTI
SCARD st
EXEC
WATCH st
B: SADD st z
MULTI
SCARD st
EXEC
"#;

#[test]
fn differential_against_redis() {
    let redis = match RedisServer::start() {
        Ok(r) => r,
        Err(reason) => {
            println!("SKIPPED differential transactions: {reason}");
            return;
        }
    };
    let talus = TestServer::start(&[]);
    let mut t = [conn(&talus), conn(&talus)];
    let mut rs = [
        RawConn::connect(redis.addr).unwrap(),
        RawConn::connect(redis.addr).unwrap(),
    ];
    let mut mismatches = Vec::new();
    let mut count = 0;
    for (n, line) in SCRIPT.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (who, cmd) = match line.strip_prefix("B: ") {
            Some(rest) => (1, rest),
            None => (0, line),
        };
        let args = split_args(cmd).expect("balanced quotes");
        let tr = t[who].request(&args).expect("talus reply");
        let rr = rs[who].request(&args).expect("redis reply");
        count += 1;
        if tr != rr {
            mismatches.push(format!(
                "line {}: {line}\n    talus: {}\n    redis: {}",
                n + 1,
                show(&tr),
                show(&rr)
            ));
        }
    }
    for m in &mismatches {
        println!("MISMATCH {m}");
    }
    assert!(
        mismatches.is_empty(),
        "{} of {count} replies differ from redis-server (printed above)",
        mismatches.len()
    );
}
