//! Bad and unusual input on raw sockets: protocol errors get Redis's exact text after the
//! replies to the complete commands before them, then the connection is closed; inline
//! commands split like Redis's `sdssplitargs`; binary data and large values round-trip; and
//! after every case the server still answers PING on a new connection.
//!
//! Each case is a function of the address so that `cases_match_redis_server` can run the very
//! same expectations against `redis-server` (when installed): the texts here are Redis's, not
//! our guess at them. (A parser property test lives in the actors crate.)

mod common;
#[path = "differential/support.rs"]
mod support;

use common::TestServer;
use std::net::SocketAddr;
use std::time::Duration;
use support::{encode, show, RawConn};

/// Sends `input`, expects exactly `reply` and then the server closing the connection.
fn expect_close(addr: SocketAddr, input: &[u8], reply: &[u8]) {
    let mut c = RawConn::connect(addr).expect("connect");
    // The server may close before reading everything we send; a failed write is fine then.
    let _ = c.send(input);
    let (got, closed) = c.read_to_close(Duration::from_secs(10));
    assert_eq!(
        show(&got),
        show(reply),
        "replies to {:?}",
        show(&input[..input.len().min(80)])
    );
    assert!(
        closed,
        "connection not closed after {:?}",
        show(&input[..input.len().min(80)])
    );
}

/// Sends `input`, expects exactly `reply`, and that the connection stays open and usable.
fn expect_open(addr: SocketAddr, input: &[u8], reply: &[u8]) {
    let mut c = RawConn::connect(addr).expect("connect");
    c.send(input).expect("send");
    let mut got = Vec::new();
    while got.len() < reply.len() {
        match c.read_reply() {
            Ok(r) => got.extend(r),
            Err(e) => panic!("after {:?}: {e}; got so far {:?}", show(input), show(&got)),
        }
    }
    assert_eq!(
        show(&got),
        show(reply),
        "replies to {:?}",
        show(&input[..input.len().min(80)])
    );
    let pong = c
        .request(&[b"PING".to_vec()])
        .expect("PING on the same connection");
    assert_eq!(pong, b"+PONG\r\n");
}

/// Sends `input` and closes without reading anything.
fn send_and_close(addr: SocketAddr, input: &[u8]) {
    let mut c = RawConn::connect(addr).expect("connect");
    let _ = c.send(input);
}

fn assert_alive(addr: SocketAddr) {
    let mut c = RawConn::connect(addr).expect("connect after the case");
    assert_eq!(c.request(&[b"PING".to_vec()]).expect("PING"), b"+PONG\r\n");
}

fn get(addr: SocketAddr, key: &[u8]) -> Vec<u8> {
    let mut c = RawConn::connect(addr).expect("connect");
    c.request(&[b"GET".to_vec(), key.to_vec()]).expect("GET")
}

// ---- the cases ---------------------------------------------------------------------------

fn invalid_multibulk_length_after_a_good_command(addr: SocketAddr) {
    expect_close(
        addr,
        b"*1\r\n$4\r\nPING\r\n*x\r\n",
        b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
    );
    expect_close(
        addr,
        b"*abc\r\n",
        b"-ERR Protocol error: invalid multibulk length\r\n",
    );
    expect_close(
        addr,
        b"*+1\r\n$4\r\nPING\r\n",
        b"-ERR Protocol error: invalid multibulk length\r\n",
    );
    expect_close(
        addr,
        b"*01\r\n$4\r\nPING\r\n",
        b"-ERR Protocol error: invalid multibulk length\r\n",
    );
    expect_close(
        addr,
        b"*3000000000\r\n",
        b"-ERR Protocol error: invalid multibulk length\r\n",
    );
}

fn commands_before_the_error_run(addr: SocketAddr) {
    expect_close(
        addr,
        b"*3\r\n$3\r\nSET\r\n$6\r\nbefore\r\n$1\r\n1\r\n*1\r\n$4\r\nPING\r\n*1\r\nfoo\r\n",
        b"+OK\r\n+PONG\r\n-ERR Protocol error: expected '$', got 'f'\r\n",
    );
    assert_eq!(get(addr, b"before"), b"$1\r\n1\r\n");
}

fn bad_bulk_lengths(addr: SocketAddr) {
    let invalid = b"-ERR Protocol error: invalid bulk length\r\n";
    expect_close(addr, b"*1\r\n$-1\r\n", invalid);
    expect_close(addr, b"*2\r\n$3\r\nGET\r\n$-5\r\n", invalid);
    expect_close(addr, b"*1\r\n$abc\r\n", invalid);
    expect_close(addr, b"*1\r\n$ 3\r\nPIN\r\n", invalid);
    expect_close(addr, b"*1\r\n$+4\r\nPING\r\n", invalid);
    expect_close(addr, b"*1\r\n$4294967297\r\nPING\r\n", invalid);
}

fn huge_bulk_length_is_refused_before_its_data(addr: SocketAddr) {
    // Larger than proto-max-bulk-len (512 MiB): refused on the header alone, without waiting
    // for (or allocating) the data.
    let invalid = b"-ERR Protocol error: invalid bulk length\r\n";
    expect_close(
        addr,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870913\r\n",
        invalid,
    );
    expect_close(addr, b"*2\r\n$3\r\nGET\r\n$1000000000\r\n", invalid);
    expect_close(
        addr,
        b"*2\r\n$3\r\nGET\r\n$99999999999999999999\r\n",
        invalid,
    );
}

fn expected_dollar(addr: SocketAddr) {
    expect_close(
        addr,
        b"*1\r\nx\r\n",
        b"-ERR Protocol error: expected '$', got 'x'\r\n",
    );
    expect_close(
        addr,
        b"*2\r\n$4\r\nECHO\r\n:1\r\n",
        b"-ERR Protocol error: expected '$', got ':'\r\n",
    );
}

fn over_long_header_lines(addr: SocketAddr) {
    // More than 64 KiB without a newline: refused instead of buffered forever.
    let mut mbulk = b"*".to_vec();
    mbulk.extend(std::iter::repeat_n(b'1', 70_000));
    expect_close(
        addr,
        &mbulk,
        b"-ERR Protocol error: too big mbulk count string\r\n",
    );
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', 70_000));
    expect_close(
        addr,
        &bulk,
        b"-ERR Protocol error: too big bulk count string\r\n",
    );
}

fn over_long_inline_request(addr: SocketAddr) {
    let mut inline = b"PING ".to_vec();
    inline.extend(std::iter::repeat_n(b'a', 70_000));
    expect_close(
        addr,
        &inline,
        b"-ERR Protocol error: too big inline request\r\n",
    );
}

fn unbalanced_quotes(addr: SocketAddr) {
    let err = b"-ERR Protocol error: unbalanced quotes in request\r\n";
    expect_close(addr, b"SET \"a b\r\n", err);
    expect_close(addr, b"SET 'a\r\n", err);
    // A closing quote must be followed by a space.
    expect_close(
        addr,
        b"PING\r\nECHO \"a\"b\r\n",
        b"+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n",
    );
}

fn empty_requests_are_skipped(addr: SocketAddr) {
    expect_open(addr, b"*0\r\n\r\n\r\nPING\r\n", b"+PONG\r\n");
    expect_open(addr, b"*-1\r\n*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
    expect_open(addr, b"\r\n\n   \r\n*1\r\n$4\r\nPING\r\n\r\n", b"+PONG\r\n");
}

fn inline_commands(addr: SocketAddr) {
    expect_open(addr, b"PING\r\n", b"+PONG\r\n");
    expect_open(addr, b"PING\n", b"+PONG\r\n");
    expect_open(addr, b"  PING  \r\n", b"+PONG\r\n");
    expect_open(addr, b"ping hello\r\n", b"$5\r\nhello\r\n");
    expect_open(
        addr,
        b"SET \"a b\" 'c'\r\nGET \"a b\"\r\n",
        b"+OK\r\n$1\r\nc\r\n",
    );
    expect_open(addr, b"ECHO \"\\x41\\x42\"\r\n", b"$2\r\nAB\r\n");
    expect_open(addr, b"ECHO \"\\n\\t\\\\\"\r\n", b"$3\r\n\n\t\\\r\n");
    expect_open(addr, b"ECHO '\\x41'\r\n", b"$4\r\n\\x41\r\n");
    expect_open(addr, b"ECHO 'a\\'b'\r\n", b"$3\r\na'b\r\n");
    expect_open(addr, b"ECHO \"\"\r\n", b"$0\r\n\r\n");
    // Inline and multibulk mixed in one stream.
    expect_open(
        addr,
        b"SET mixed 1\r\n*2\r\n$4\r\nINCR\r\n$5\r\nmixed\r\nINCR mixed\r\n",
        b"+OK\r\n:2\r\n:3\r\n",
    );
}

fn binary_keys_and_values_round_trip(addr: SocketAddr) {
    let key = b"bin\0key\r\n*1\r\n$4\r\n".to_vec();
    let value: Vec<u8> = (0..=255u8).chain(b"\r\n\0\r\n".iter().copied()).collect();
    let mut c = RawConn::connect(addr).expect("connect");
    let set = c
        .request(&[b"SET".to_vec(), key.clone(), value.clone()])
        .expect("SET");
    assert_eq!(set, b"+OK\r\n");
    let got = c.request(&[b"GET".to_vec(), key.clone()]).expect("GET");
    let mut expected = format!("${}\r\n", value.len()).into_bytes();
    expected.extend(&value);
    expected.extend(b"\r\n");
    assert_eq!(show(&got), show(&expected));
    let n = c.request(&[b"STRLEN".to_vec(), key]).expect("STRLEN");
    assert_eq!(n, format!(":{}\r\n", value.len()).into_bytes());
    // An empty key and an empty value are values like any other.
    assert_eq!(
        c.request(&[b"SET".to_vec(), vec![], vec![]]).unwrap(),
        b"+OK\r\n"
    );
    assert_eq!(
        c.request(&[b"GET".to_vec(), vec![]]).unwrap(),
        b"$0\r\n\r\n"
    );
    assert_eq!(c.request(&[b"EXISTS".to_vec(), vec![]]).unwrap(), b":1\r\n");
}

fn one_mib_values(addr: SocketAddr) {
    let value: Vec<u8> = (0..(1 << 20)).map(|i: u32| (i % 251) as u8).collect();
    // Through the redis crate, as a user would.
    let client = redis::Client::open(format!("redis://{addr}/")).expect("client");
    let mut con = client.get_connection().expect("connect");
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(&value)
        .query(&mut con)
        .expect("SET 1 MiB");
    let got: Vec<u8> = redis::cmd("GET")
        .arg("big")
        .query(&mut con)
        .expect("GET 1 MiB");
    assert!(
        got == value,
        "1 MiB value differs ({} bytes back)",
        got.len()
    );
    let n: i64 = redis::cmd("APPEND")
        .arg("big")
        .arg(&value)
        .query(&mut con)
        .expect("APPEND");
    assert_eq!(n, 2 << 20);
    // And dribbled in small writes, so the value arrives in many reads.
    let mut c = RawConn::connect(addr).expect("connect");
    let frame = encode(&[b"SET".to_vec(), b"big2".to_vec(), value.clone()]);
    for piece in frame.chunks(4093) {
        c.send(piece).expect("send");
    }
    assert_eq!(c.read_reply().expect("reply"), b"+OK\r\n");
    let got = c
        .request(&[b"STRLEN".to_vec(), b"big2".to_vec()])
        .expect("STRLEN");
    assert_eq!(got, b":1048576\r\n");
    let got = c.request(&[
        b"GETRANGE".to_vec(),
        b"big2".to_vec(),
        b"-3".to_vec(),
        b"-1".to_vec(),
    ]);
    let tail = &value[value.len() - 3..];
    let mut expected = b"$3\r\n".to_vec();
    expected.extend(tail);
    expected.extend(b"\r\n");
    assert_eq!(got.expect("GETRANGE"), expected);
}

fn truncated_frames_then_close(addr: SocketAddr) {
    let frames: &[&[u8]] = &[
        b"*",
        b"*3",
        b"*3\r",
        b"*3\r\n",
        b"*3\r\n$3\r\nSET\r\n",
        b"*3\r\n$3\r\nSET\r\n$5\r\ntrunc\r\n$5\r\nab",
        b"*3\r\n$3\r\nSET\r\n$5\r\ntrunc\r\n$5\r\nabcde",
        b"*3\r\n$3\r\nSET\r\n$5\r\ntrunc\r\n$5\r\nabcde\r",
        b"*1\r\n$",
        b"SET trunc inline",
        b"SET \"trunc\" \"unterminated",
    ];
    for f in frames {
        send_and_close(addr, f);
        assert_alive(addr);
    }
    assert_eq!(
        get(addr, b"trunc"),
        b"$-1\r\n",
        "a truncated SET must not run"
    );
    // A complete command followed by a truncated one: the first runs, the second does not.
    let mut c = RawConn::connect(addr).expect("connect");
    c.send(
        b"*3\r\n$3\r\nSET\r\n$5\r\ntrunc\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$5\r\ntrunc\r\n$1\r\n",
    )
    .expect("send");
    assert_eq!(c.read_reply().expect("reply"), b"+OK\r\n");
    drop(c);
    assert_alive(addr);
    assert_eq!(get(addr, b"trunc"), b"$1\r\n1\r\n");
}

fn garbage_never_kills_the_server(addr: SocketAddr) {
    // Deterministic junk: every byte value, many shapes; whatever the replies, the server
    // stays up and other clients are served.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..200usize {
        let mut junk = Vec::new();
        let len = 1 + (round * 37) % 3000;
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let b = match seed % 10 {
                0 => b'*',
                1 => b'$',
                2 => b'\r',
                3 => b'\n',
                4 => b'0' + (seed >> 8) as u8 % 10,
                5 => b'-',
                6 => b'"',
                _ => (seed >> 16) as u8,
            };
            junk.push(b);
        }
        let mut c = RawConn::connect(addr).expect("connect");
        let _ = c.send(&junk);
        let _ = c.read_to_close(Duration::from_millis(if round.is_multiple_of(20) {
            200
        } else {
            0
        }));
    }
    assert_alive(addr);
}

// ---- the tests -----------------------------------------------------------------------------

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let server = TestServer::start(&[]);
                super_case(server.addr, stringify!($name), crate::$name);
            }
        )*

        /// The same expectations against redis-server: proves they are Redis's behaviour.
        #[test]
        fn cases_match_redis_server() {
            let redis = match crate::support::RedisServer::start() {
                Ok(r) => r,
                Err(reason) => {
                    println!("SKIPPED cases_match_redis_server: {reason}");
                    return;
                }
            };
            $( super_case(redis.addr, stringify!($name), crate::$name); )*
        }
    };
}

fn super_case(addr: SocketAddr, name: &str, case: fn(SocketAddr)) {
    println!("case {name}");
    case(addr);
    assert_alive(addr);
}

mod talus {
    use super::super_case;
    use super::TestServer;
    cases!(
        invalid_multibulk_length_after_a_good_command,
        commands_before_the_error_run,
        bad_bulk_lengths,
        huge_bulk_length_is_refused_before_its_data,
        expected_dollar,
        over_long_header_lines,
        over_long_inline_request,
        unbalanced_quotes,
        empty_requests_are_skipped,
        inline_commands,
        binary_keys_and_values_round_trip,
        one_mib_values,
        truncated_frames_then_close,
        garbage_never_kills_the_server,
    );
}
