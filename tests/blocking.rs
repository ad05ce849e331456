//! Blocking list commands through the real server: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and
//! BLMPOP when data is there, when they wait (served in arrival order, by pushes, MULTI/EXEC,
//! pipelines, RENAME and other blocked moves), on timeout, on disconnect, inside MULTI, and
//! with 100 clients blocked at once while others are served. Replies are compared as raw RESP.

mod common;
#[path = "differential/support.rs"]
mod support;

use common::{wait_until, TestServer};
use std::time::{Duration, Instant};
use support::{show, split_args, RawConn};

fn conn(s: &TestServer) -> RawConn {
    RawConn::connect(s.addr).expect("connect")
}

/// Sends one command without reading its reply.
fn send(c: &mut RawConn, line: &str) {
    let args = split_args(line).expect("balanced quotes");
    c.send(&support::encode(&args)).expect("send");
}

/// Reads one reply, escaped.
fn reply(c: &mut RawConn) -> String {
    show(&c.read_reply().expect("reply"))
}

/// Sends one command and returns its reply, escaped.
fn r(c: &mut RawConn, line: &str) -> String {
    send(c, line);
    reply(c)
}

fn lines(parts: &[&str]) -> String {
    parts.iter().map(|p| format!("{p}\\r\\n")).collect()
}

/// `[key, element]` as BLPOP replies.
fn popped(key: &str, elem: &str) -> String {
    lines(&[
        "*2",
        &format!("${}", key.len()),
        key,
        &format!("${}", elem.len()),
        elem,
    ])
}

fn blocked_clients(c: &mut RawConn) -> usize {
    let info = r(c, "INFO clients");
    info.split("\\r\\n")
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|n| n.parse().ok())
        .expect("blocked_clients in INFO")
}

/// Waits until exactly `n` clients are blocked.
fn wait_blocked(c: &mut RawConn, n: usize) {
    assert!(
        wait_until(Duration::from_secs(10), || blocked_clients(c) == n),
        "expected {n} blocked clients, INFO says {}",
        blocked_clients(c)
    );
}

/// True when `c` has no reply within a short while (it is still blocked).
fn no_reply_yet(c: &mut RawConn) -> bool {
    c.stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let got = c.read_reply();
    c.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    got.is_err()
}

#[test]
fn data_present_pops_at_once() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    r(&mut c, "RPUSH l a b c");
    assert_eq!(r(&mut c, "BLPOP nokey l 0"), popped("l", "a"));
    assert_eq!(r(&mut c, "BRPOP l 0"), popped("l", "c"));
    r(&mut c, "RPUSH s x y");
    assert_eq!(r(&mut c, "BLMOVE s d LEFT RIGHT 0"), lines(&["$1", "x"]));
    assert_eq!(r(&mut c, "BRPOPLPUSH s d 0"), lines(&["$1", "y"]));
    assert_eq!(
        r(&mut c, "LRANGE d 0 -1"),
        lines(&["*2", "$1", "y", "$1", "x"])
    );
    assert_eq!(r(&mut c, "EXISTS s"), ":0\\r\\n");
    r(&mut c, "RPUSH m 1 2 3");
    assert_eq!(
        r(&mut c, "BLMPOP 0 2 nokey m RIGHT COUNT 2"),
        lines(&["*2", "$1", "m", "*2", "$1", "3", "$1", "2"])
    );
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn errors_as_redis() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    r(&mut c, "SET str v");
    let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\\r\\n";
    assert_eq!(r(&mut c, "BLPOP str 0"), wrongtype);
    assert_eq!(r(&mut c, "BLPOP nokey str 0"), wrongtype);
    assert_eq!(r(&mut c, "BLMOVE str d LEFT LEFT 0"), wrongtype);
    r(&mut c, "RPUSH src a");
    assert_eq!(r(&mut c, "BLMOVE src str LEFT LEFT 0"), wrongtype);
    assert_eq!(
        r(&mut c, "LLEN src"),
        ":1\\r\\n",
        "a failed move pops nothing"
    );
    assert_eq!(r(&mut c, "BLPOP l -1"), "-ERR timeout is negative\\r\\n");
    let not_float = "-ERR timeout is not a float or out of range\\r\\n";
    assert_eq!(r(&mut c, "BLPOP l abc"), not_float);
    assert_eq!(r(&mut c, "BRPOPLPUSH a b x"), not_float);
    assert_eq!(r(&mut c, "BLMOVE a b UP LEFT 0"), "-ERR syntax error\\r\\n");
    assert_eq!(
        r(&mut c, "BLMPOP 0 0 l LEFT"),
        "-ERR numkeys should be greater than 0\\r\\n"
    );
    assert_eq!(
        r(&mut c, "BLMPOP 0 1 l LEFT COUNT 0"),
        "-ERR count should be greater than 0\\r\\n"
    );
    assert_eq!(
        r(&mut c, "BLPOP l"),
        "-ERR wrong number of arguments for \\'blpop\\' command\\r\\n"
    );
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn waiter_gets_the_head_of_a_multi_element_push_before_the_pusher_is_answered() {
    let s = TestServer::start(&[]);
    let (mut w, mut c) = (conn(&s), conn(&s));
    send(&mut w, "BLPOP l 0");
    wait_blocked(&mut c, 1);
    assert!(no_reply_yet(&mut w));
    assert_eq!(r(&mut c, "LPUSH l a b"), ":2\\r\\n");
    // Served before LPUSH was answered: the list already lost `b`.
    assert_eq!(r(&mut c, "LRANGE l 0 -1"), lines(&["*1", "$1", "a"]));
    assert_eq!(reply(&mut w), popped("l", "b"));
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn waiters_are_served_in_arrival_order() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    let mut waiters: Vec<RawConn> = (0..3).map(|_| conn(&s)).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        send(w, "BRPOP q 0");
        wait_blocked(&mut c, i + 1);
    }
    // One push of 3 serves all three, oldest first, each from the tail.
    assert_eq!(r(&mut c, "RPUSH q 1 2 3"), ":3\\r\\n");
    let got: Vec<String> = waiters.iter_mut().map(reply).collect();
    assert_eq!(
        got,
        vec![popped("q", "3"), popped("q", "2"), popped("q", "1")]
    );
    assert_eq!(r(&mut c, "EXISTS q"), ":0\\r\\n");
    // Fewer elements than waiters: the rest keep waiting.
    for (i, w) in waiters.iter_mut().enumerate() {
        send(w, "BLPOP q 0");
        wait_blocked(&mut c, i + 1);
    }
    r(&mut c, "RPUSH q x");
    assert_eq!(reply(&mut waiters[0]), popped("q", "x"));
    assert!(no_reply_yet(&mut waiters[1]));
    assert_eq!(blocked_clients(&mut c), 2);
    r(&mut c, "RPUSH q y z");
    assert_eq!(reply(&mut waiters[1]), popped("q", "y"));
    assert_eq!(reply(&mut waiters[2]), popped("q", "z"));
}

#[test]
fn timeouts_answer_nil() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    let start = Instant::now();
    assert_eq!(r(&mut c, "BLPOP l 0.2"), "*-1\\r\\n");
    assert!(start.elapsed() >= Duration::from_millis(200));
    // Redis 7.0 answers a timed-out BLMOVE with a nil array too.
    assert_eq!(r(&mut c, "BLMOVE a b LEFT LEFT 0.05"), "*-1\\r\\n");
    assert_eq!(r(&mut c, "BRPOPLPUSH a b 0.05"), "*-1\\r\\n");
    assert_eq!(r(&mut c, "BLMPOP 0.05 1 l LEFT"), "*-1\\r\\n");
    assert_eq!(blocked_clients(&mut c), 0);
    // The connection goes on normally after a timeout.
    assert_eq!(r(&mut c, "PING"), "+PONG\\r\\n");
}

#[test]
fn pipelined_commands_after_a_blocked_one_wait_for_it() {
    let s = TestServer::start(&[]);
    let (mut w, mut c) = (conn(&s), conn(&s));
    w.send(b"SET before 1\r\nBLPOP l 0\r\nSET after 1\r\nGET after\r\n")
        .unwrap();
    assert_eq!(reply(&mut w), "+OK\\r\\n");
    wait_blocked(&mut c, 1);
    assert_eq!(
        r(&mut c, "EXISTS after"),
        ":0\\r\\n",
        "nothing after BLPOP ran"
    );
    // Sent while blocked: also waits.
    send(&mut w, "PING");
    assert!(no_reply_yet(&mut w));
    r(&mut c, "RPUSH l v");
    assert_eq!(reply(&mut w), popped("l", "v"));
    assert_eq!(reply(&mut w), "+OK\\r\\n");
    assert_eq!(reply(&mut w), "$1\\r\\n1\\r\\n");
    assert_eq!(reply(&mut w), "+PONG\\r\\n");
}

#[test]
fn a_push_in_multi_or_a_pipeline_wakes_the_waiter_once() {
    let s = TestServer::start(&[]);
    let (mut w, mut c) = (conn(&s), conn(&s));
    send(&mut w, "BLPOP l 0");
    wait_blocked(&mut c, 1);
    r(&mut c, "MULTI");
    r(&mut c, "RPUSH l a");
    r(&mut c, "RPUSH l b");
    assert_eq!(r(&mut c, "EXEC"), lines(&["*2", ":1", ":2"]));
    assert_eq!(reply(&mut w), popped("l", "a"));
    assert_eq!(r(&mut c, "LRANGE l 0 -1"), lines(&["*1", "$1", "b"]));
    r(&mut c, "DEL l");

    // A pipeline: the waiter is served right after the push, before the LPOP that follows it
    // (Redis serves blocked clients after each command).
    send(&mut w, "BLPOP l 0");
    wait_blocked(&mut c, 1);
    c.send(b"RPUSH l x\r\nRPUSH l y\r\nLPOP l\r\n").unwrap();
    assert_eq!(reply(&mut c), ":1\\r\\n");
    assert_eq!(reply(&mut c), ":1\\r\\n");
    assert_eq!(reply(&mut c), "$1\\r\\ny\\r\\n");
    assert_eq!(reply(&mut w), popped("l", "x"));
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn a_push_undone_in_the_same_exec_wakes_nobody() {
    let s = TestServer::start(&[]);
    let (mut w, mut c) = (conn(&s), conn(&s));
    send(&mut w, "BLPOP l 0");
    wait_blocked(&mut c, 1);
    r(&mut c, "MULTI");
    r(&mut c, "LPUSH l x");
    r(&mut c, "DEL l");
    assert_eq!(r(&mut c, "EXEC"), lines(&["*2", ":1", ":1"]));
    assert!(no_reply_yet(&mut w));
    assert_eq!(blocked_clients(&mut c), 1);
    r(&mut c, "LPUSH l later");
    assert_eq!(reply(&mut w), popped("l", "later"));
}

#[test]
fn rename_copy_and_blocked_moves_serve_waiters() {
    let s = TestServer::start(&[]);
    let (mut w, mut c) = (conn(&s), conn(&s));
    // RENAME onto a waited key.
    send(&mut w, "BLPOP dst 0");
    wait_blocked(&mut c, 1);
    r(&mut c, "RPUSH src 1 2");
    assert_eq!(r(&mut c, "RENAME src dst"), "+OK\\r\\n");
    assert_eq!(reply(&mut w), popped("dst", "1"));
    r(&mut c, "DEL dst");
    // COPY onto a waited key.
    send(&mut w, "BLPOP cp 0");
    wait_blocked(&mut c, 1);
    r(&mut c, "RPUSH orig o");
    assert_eq!(r(&mut c, "COPY orig cp"), ":1\\r\\n");
    assert_eq!(reply(&mut w), popped("cp", "o"));
    // A chain: w waits on d; m is blocked moving s -> d; a push to s serves m, whose push to
    // d serves w.
    let mut m = conn(&s);
    send(&mut w, "BLPOP d 0");
    wait_blocked(&mut c, 1);
    send(&mut m, "BLMOVE s d RIGHT LEFT 0");
    wait_blocked(&mut c, 2);
    r(&mut c, "RPUSH s v");
    assert_eq!(reply(&mut m), lines(&["$1", "v"]));
    assert_eq!(reply(&mut w), popped("d", "v"));
    assert_eq!(r(&mut c, "EXISTS s d"), ":0\\r\\n");
    // LMOVE (not blocking) into a waited key.
    send(&mut w, "BRPOP t 0");
    wait_blocked(&mut c, 1);
    r(&mut c, "RPUSH from e");
    assert_eq!(r(&mut c, "LMOVE from t LEFT LEFT"), "$1\\r\\ne\\r\\n");
    assert_eq!(reply(&mut w), popped("t", "e"));
}

#[test]
fn blmpop_with_count_and_blocked_move_onto_wrong_type() {
    let s = TestServer::start(&[]);
    let (mut w, mut c) = (conn(&s), conn(&s));
    send(&mut w, "BLMPOP 0 2 a b LEFT COUNT 2");
    wait_blocked(&mut c, 1);
    r(&mut c, "RPUSH b 1 2 3");
    assert_eq!(
        reply(&mut w),
        lines(&["*2", "$1", "b", "*2", "$1", "1", "$1", "2"])
    );
    assert_eq!(r(&mut c, "LRANGE b 0 -1"), lines(&["*1", "$1", "3"]));
    // A blocked BLMOVE whose destination became a string gets WRONGTYPE; nothing moves.
    send(&mut w, "BLMOVE src str LEFT LEFT 0");
    wait_blocked(&mut c, 1);
    r(&mut c, "SET str x");
    r(&mut c, "RPUSH src e");
    assert_eq!(
        reply(&mut w),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\\r\\n"
    );
    assert_eq!(r(&mut c, "LRANGE src 0 -1"), lines(&["*1", "$1", "e"]));
}

#[test]
fn blocking_commands_in_multi_answer_nil_at_once() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    r(&mut c, "MULTI");
    r(&mut c, "BLPOP l 0");
    r(&mut c, "BLMOVE l d LEFT LEFT 0");
    r(&mut c, "BLMPOP 0 1 l LEFT");
    r(&mut c, "RPUSH l x");
    r(&mut c, "BRPOP l 0");
    assert_eq!(
        r(&mut c, "EXEC"),
        lines(&["*5", "*-1", "$-1", "*-1", ":1", "*2", "$1", "l", "$1", "x"])
    );
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn a_client_that_leaves_while_blocked_leaves_nothing_behind() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    {
        let mut w = conn(&s);
        send(&mut w, "BLPOP l 0");
        wait_blocked(&mut c, 1);
    }
    wait_blocked(&mut c, 0);
    r(&mut c, "RPUSH l kept");
    assert_eq!(r(&mut c, "LRANGE l 0 -1"), lines(&["*1", "$4", "kept"]));
}

#[test]
fn a_hundred_blocked_clients_do_not_hold_up_the_others() {
    let s = TestServer::start(&[]);
    let mut c = conn(&s);
    let mut waiters: Vec<RawConn> = (0..100).map(|_| conn(&s)).collect();
    for w in waiters.iter_mut() {
        send(w, "BLPOP jobs 0");
    }
    wait_blocked(&mut c, 100);
    for i in 0..200 {
        assert_eq!(r(&mut c, "PING"), "+PONG\\r\\n");
        assert_eq!(r(&mut c, &format!("SET k{i} {i}")), "+OK\\r\\n");
        assert_eq!(
            r(&mut c, &format!("GET k{i}")),
            format!("${}\\r\\n{i}\\r\\n", i.to_string().len())
        );
    }
    let elems: Vec<String> = (0..100).map(|i| format!("e{i}")).collect();
    assert_eq!(
        r(&mut c, &format!("RPUSH jobs {}", elems.join(" "))),
        ":100\\r\\n"
    );
    // Each waiter gets exactly one element (their arrival order is the server's to see; FIFO
    // order is checked in `waiters_are_served_in_arrival_order`).
    let mut got: Vec<String> = waiters.iter_mut().map(reply).collect();
    let mut want: Vec<String> = elems.iter().map(|e| popped("jobs", e)).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(blocked_clients(&mut c), 0);
    assert_eq!(r(&mut c, "EXISTS jobs"), ":0\\r\\n");
}

#[test]
fn the_server_stops_with_clients_blocked() {
    let mut s = TestServer::start(&[]);
    let mut c = conn(&s);
    let mut w = conn(&s);
    send(&mut w, "BLPOP l 0");
    wait_blocked(&mut c, 1);
    let status = s.terminate().expect("the server exits");
    assert!(status.success(), "{status:?}");
}

#[test]
fn sorted_set_pops_block_and_are_served() {
    let s = TestServer::start(&[]);
    let (mut w, mut c) = (conn(&s), conn(&s));
    r(&mut c, "ZADD z 1 a 2 b 3 c");
    assert_eq!(
        r(&mut c, "BZPOPMIN nokey z 0"),
        lines(&["*3", "$1", "z", "$1", "a", "$1", "1"])
    );
    assert_eq!(
        r(&mut c, "BZPOPMAX z 0"),
        lines(&["*3", "$1", "z", "$1", "c", "$1", "3"])
    );
    assert_eq!(r(&mut c, "BZPOPMIN nokey 0.05"), "*-1\\r\\n");
    assert_eq!(r(&mut c, "BZMPOP 0.05 1 nokey MIN"), "*-1\\r\\n");
    // Waiting: a ZADD of two members serves the lowest.
    send(&mut w, "BZPOPMIN q 0");
    wait_blocked(&mut c, 1);
    assert_eq!(r(&mut c, "ZADD q 2.5 y 1.5 x"), ":2\\r\\n");
    assert_eq!(
        reply(&mut w),
        lines(&["*3", "$1", "q", "$1", "x", "$3", "1.5"])
    );
    assert_eq!(r(&mut c, "ZCARD q"), ":1\\r\\n");
    // BZMPOP with COUNT.
    send(&mut w, "BZMPOP 0 2 e1 e2 MAX COUNT 2");
    wait_blocked(&mut c, 1);
    r(&mut c, "ZADD e2 1 one 2 two 3 three");
    assert_eq!(
        reply(&mut w),
        lines(&[
            "*2", "$2", "e2", "*2", "*2", "$5", "three", "$1", "3", "*2", "$3", "two", "$1", "2"
        ])
    );
    // A list waiter is not served by a sorted set (it waits on); a list then serves it.
    send(&mut w, "BLPOP k 0");
    wait_blocked(&mut c, 1);
    r(&mut c, "ZADD k 1 m");
    assert!(no_reply_yet(&mut w));
    assert_eq!(blocked_clients(&mut c), 1);
    r(&mut c, "DEL k");
    r(&mut c, "RPUSH k v");
    assert_eq!(reply(&mut w), popped("k", "v"));
    // Wrong type.
    r(&mut c, "RPUSH lst x");
    assert_eq!(
        r(&mut c, "BZPOPMIN lst 0"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\\r\\n"
    );
}
