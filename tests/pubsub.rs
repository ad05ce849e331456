//! Pub/sub through the real server, with clients spread over several workers (`--io-threads`:
//! the Listener hands connections out round robin, so consecutive connections land on different
//! workers): SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE replies and counts byte for byte as Redis 7.0 sends
//! them, PUBLISH receiver counts, message order, Redis's glob rules, unsubscribe-all, the
//! subscribed context, PUBSUB introspection, PUBLISH inside MULTI and after a write in one
//! pipeline, cleanup on disconnect, and a slow subscriber cut at its output-buffer limit while
//! the others keep receiving. Where `redis-server` is installed the same exchanges run against it
//! too and must give the same bytes.

mod common;
#[path = "differential/support.rs"]
mod support;

use common::{wait_until, TestServer};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{encode_str, parse, show, RawConn, RedisServer, Value};

// ---- helpers ---------------------------------------------------------------------------------

/// Talus with three I/O threads: connections made one after the other land on different workers.
fn talus() -> TestServer {
    TestServer::start(&["--io-threads", "3"])
}

/// The reference server, or `None` (with a note) when `redis-server` is missing.
fn reference() -> Option<RedisServer> {
    match RedisServer::start() {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("skipping the redis-server side: {e}");
            None
        }
    }
}

fn connect(addr: SocketAddr) -> RawConn {
    RawConn::connect(addr).expect("connect")
}

/// Sends one command and returns its raw reply.
fn req(c: &mut RawConn, args: &[&str]) -> Vec<u8> {
    c.send(&encode_str(args)).expect("send");
    c.read_reply().expect("reply")
}

/// Sends one command and returns its parsed reply.
fn val(c: &mut RawConn, args: &[&str]) -> Value {
    parse(&req(c, args)).expect("parse")
}

/// Reads one frame (a reply or a pushed message), parsed.
fn next(c: &mut RawConn) -> Value {
    parse(&c.read_reply().expect("frame")).expect("parse")
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

/// A RESP2 array of bulk strings (how Redis sends confirmations and messages).
fn frame(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", parts.len()).into_bytes();
    for p in parts {
        out.extend_from_slice(format!("${}\r\n", p.len()).as_bytes());
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A (un)subscribe confirmation: kind, name (nil when there was nothing to leave), count.
fn confirm(kind: &str, name: Option<&str>, count: i64) -> Vec<u8> {
    let mut out = b"*3\r\n".to_vec();
    out.extend_from_slice(format!("${}\r\n{kind}\r\n", kind.len()).as_bytes());
    match name {
        Some(n) => out.extend_from_slice(format!("${}\r\n{n}\r\n", n.len()).as_bytes()),
        None => out.extend_from_slice(b"$-1\r\n"),
    }
    out.extend_from_slice(format!(":{count}\r\n").as_bytes());
    out
}

fn message(channel: &str, msg: &str) -> Vec<u8> {
    frame(&[b"message", channel.as_bytes(), msg.as_bytes()])
}

fn pmessage(pattern: &str, channel: &str, msg: &str) -> Vec<u8> {
    frame(&[
        b"pmessage",
        pattern.as_bytes(),
        channel.as_bytes(),
        msg.as_bytes(),
    ])
}

/// Reads frames until `expected.len()` bytes arrived and checks they are exactly `expected`.
fn expect_bytes(c: &mut RawConn, expected: &[u8], what: &str) {
    let mut got = Vec::new();
    while got.len() < expected.len() {
        match c.read_reply() {
            Ok(r) => got.extend_from_slice(&r),
            Err(e) => panic!(
                "{what}: {e}\n got so far: {}\n expected:   {}",
                show(&got),
                show(expected)
            ),
        }
    }
    assert_eq!(
        show(&got),
        show(expected),
        "{what}: the server sent other bytes"
    );
}

/// Runs `check` against Talus (started with three I/O threads) and, when installed, against
/// redis-server: the same assertions must hold on both.
fn on_both(check: impl Fn(SocketAddr, &str)) {
    let t = talus();
    check(t.addr, "talus");
    if let Some(r) = reference() {
        check(r.addr, "redis");
    }
}

// ---- subscribe / unsubscribe replies -----------------------------------------------------------

#[test]
fn subscribe_replies_and_subscribed_context_match_redis() {
    on_both(|addr, who| {
        let mut c = connect(addr);
        let script: &[&[&str]] = &[
            &["SUBSCRIBE", "a", "b"],
            &["SUBSCRIBE", "a"],
            &["PSUBSCRIBE", "p*", "a"],
            &["PSUBSCRIBE", "p*"],
            &["SSUBSCRIBE", "s1", "a"],
            &["GET", "x"],
            &["CLIENT", "LIST"],
            &["set", "k", "v"],
            &["PING"],
            &["PING", "hi"],
            &["UNSUBSCRIBE", "zz", "a"],
            &["UNSUBSCRIBE", "b"],
            &["UNSUBSCRIBE"],
            &["PUNSUBSCRIBE", "a", "a"],
            &["SUNSUBSCRIBE", "s1"],
            &["PING"],
            &["PUNSUBSCRIBE"],
            &["SUNSUBSCRIBE"],
            &["SUNSUBSCRIBE"],
            &["PING"],
            &["UNSUBSCRIBE", "never"],
            &["GET", "x"],
        ];
        let mut input = Vec::new();
        for cmd in script {
            input.extend_from_slice(&encode_str(cmd));
        }
        c.send(&input).expect("send");
        let context = |cmd: &str| {
            format!(
                "-ERR Can't execute '{cmd}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT \
                 / RESET are allowed in this context\r\n"
            )
            .into_bytes()
        };
        let expected: Vec<Vec<u8>> = vec![
            confirm("subscribe", Some("a"), 1),
            confirm("subscribe", Some("b"), 2),
            confirm("subscribe", Some("a"), 2),
            confirm("psubscribe", Some("p*"), 3),
            confirm("psubscribe", Some("a"), 4),
            confirm("psubscribe", Some("p*"), 4),
            // Shard subscriptions are counted apart.
            confirm("ssubscribe", Some("s1"), 1),
            confirm("ssubscribe", Some("a"), 2),
            context("get"),
            context("client|list"),
            context("set"),
            frame(&[b"pong", b""]),
            frame(&[b"pong", b"hi"]),
            confirm("unsubscribe", Some("zz"), 4),
            confirm("unsubscribe", Some("a"), 3),
            confirm("unsubscribe", Some("b"), 2),
            // Nothing left to leave: one reply with a nil name.
            confirm("unsubscribe", None, 2),
            confirm("punsubscribe", Some("a"), 1),
            confirm("punsubscribe", Some("a"), 1),
            confirm("sunsubscribe", Some("s1"), 1),
            frame(&[b"pong", b""]),
            confirm("punsubscribe", Some("p*"), 0),
            // Still subscribed to shard channel "a": the context holds.
            confirm("sunsubscribe", Some("a"), 0),
            confirm("sunsubscribe", None, 0),
            // Out of the subscribed context: a plain PONG, and commands run again.
            b"+PONG\r\n".to_vec(),
            confirm("unsubscribe", Some("never"), 0),
            b"$-1\r\n".to_vec(),
        ];
        expect_bytes(&mut c, &expected.concat(), who);
    });
}

#[test]
fn unsubscribe_without_arguments_leaves_everything() {
    on_both(|addr, who| {
        let mut sub = connect(addr);
        let mut publ = connect(addr);
        let channels = ["c1", "c2", "c3"];
        let patterns = ["p1*", "p2*"];
        let mut cmd = vec!["SUBSCRIBE"];
        cmd.extend(channels);
        sub.send(&encode_str(&cmd)).expect("send");
        for (i, ch) in channels.iter().enumerate() {
            expect_bytes(&mut sub, &confirm("subscribe", Some(ch), i as i64 + 1), who);
        }
        let mut cmd = vec!["PSUBSCRIBE"];
        cmd.extend(patterns);
        sub.send(&encode_str(&cmd)).expect("send");
        for (i, p) in patterns.iter().enumerate() {
            expect_bytes(&mut sub, &confirm("psubscribe", Some(p), 4 + i as i64), who);
        }
        // UNSUBSCRIBE with no argument: one reply per channel (in no set order), counts
        // going down to the patterns still held.
        sub.send(&encode_str(&["UNSUBSCRIBE"])).expect("send");
        let mut left = BTreeSet::new();
        for i in 0..channels.len() {
            match next(&mut sub) {
                Value::Array(Some(items)) => {
                    assert_eq!(
                        items[0],
                        Value::Bulk(Some(b"unsubscribe".to_vec())),
                        "{who}"
                    );
                    let Value::Bulk(Some(name)) = &items[1] else {
                        panic!("{who}: no channel name in {items:?}");
                    };
                    left.insert(String::from_utf8_lossy(name).to_string());
                    assert_eq!(items[2], Value::Int(4 - i as i64), "{who}");
                }
                other => panic!("{who}: unexpected {other:?}"),
            }
        }
        assert_eq!(
            left,
            channels.iter().map(|s| s.to_string()).collect(),
            "{who}"
        );
        // No channel reaches it any more; the patterns still do.
        assert_eq!(int_of(&val(&mut publ, &["PUBLISH", "c1", "x"])), 0, "{who}");
        assert_eq!(
            int_of(&val(&mut publ, &["PUBLISH", "p1x", "y"])),
            1,
            "{who}"
        );
        expect_bytes(&mut sub, &pmessage("p1*", "p1x", "y"), who);
        sub.send(&encode_str(&["PUNSUBSCRIBE"])).expect("send");
        let mut counts = Vec::new();
        let mut names = BTreeSet::new();
        for _ in 0..patterns.len() {
            let Value::Array(Some(items)) = next(&mut sub) else {
                panic!("{who}: not a confirmation");
            };
            assert_eq!(
                items[0],
                Value::Bulk(Some(b"punsubscribe".to_vec())),
                "{who}"
            );
            if let Value::Bulk(Some(n)) = &items[1] {
                names.insert(String::from_utf8_lossy(n).to_string());
            }
            counts.push(int_of(&items[2]));
        }
        assert_eq!(counts, vec![1, 0], "{who}");
        assert_eq!(names.len(), 2, "{who}");
        // Back in the normal context; nothing reaches it.
        assert_eq!(
            int_of(&val(&mut publ, &["PUBLISH", "p1x", "z"])),
            0,
            "{who}"
        );
        assert_eq!(req(&mut sub, &["PING"]), b"+PONG\r\n", "{who}");
        assert_eq!(int_of(&val(&mut publ, &["PUBSUB", "NUMPAT"])), 0, "{who}");
    });
}

// ---- PUBLISH: counts, order, workers ----------------------------------------------------------

#[test]
fn publish_counts_channel_and_pattern_receivers_across_workers() {
    let s = talus();
    // Five connections made one after another: with three workers, each neighbour pair is
    // on different workers, so every delivery below crosses workers.
    let mut s1 = connect(s.addr);
    let mut s2 = connect(s.addr);
    let mut s3 = connect(s.addr);
    let mut p1 = connect(s.addr);
    let mut p2 = connect(s.addr);
    s1.send(&encode_str(&["SUBSCRIBE", "news"])).expect("send");
    expect_bytes(&mut s1, &confirm("subscribe", Some("news"), 1), "s1");
    s2.send(&encode_str(&["PSUBSCRIBE", "n*"])).expect("send");
    expect_bytes(&mut s2, &confirm("psubscribe", Some("n*"), 1), "s2");
    s3.send(&encode_str(&["SUBSCRIBE", "news"])).expect("send");
    expect_bytes(&mut s3, &confirm("subscribe", Some("news"), 1), "s3");
    s3.send(&encode_str(&["PSUBSCRIBE", "ne?s", "x*"]))
        .expect("send");
    expect_bytes(
        &mut s3,
        &[
            confirm("psubscribe", Some("ne?s"), 2),
            confirm("psubscribe", Some("x*"), 3),
        ]
        .concat(),
        "s3",
    );
    // news: s1, s2 (n*), s3 twice (news and ne?s).
    assert_eq!(int_of(&val(&mut p1, &["PUBLISH", "news", "m0"])), 4);
    assert_eq!(int_of(&val(&mut p1, &["PUBLISH", "nothing", "m"])), 1);
    assert_eq!(int_of(&val(&mut p1, &["PUBLISH", "other", "m"])), 0);
    assert_eq!(int_of(&val(&mut p1, &["PUBLISH", "NEWS", "m"])), 0);
    expect_bytes(&mut s1, &message("news", "m0"), "s1");
    expect_bytes(
        &mut s2,
        &[pmessage("n*", "news", "m0"), pmessage("n*", "nothing", "m")].concat(),
        "s2",
    );
    expect_bytes(
        &mut s3,
        &[message("news", "m0"), pmessage("ne?s", "news", "m0")].concat(),
        "s3",
    );

    // Order: 2000 messages pipelined by each of two publishers on different workers; every
    // subscriber sees each publisher's messages in the order sent.
    const N: usize = 2000;
    for (p, name) in [(&mut p1, "a"), (&mut p2, "b")] {
        let mut input = Vec::new();
        for i in 0..N {
            input.extend_from_slice(&encode_str(&["PUBLISH", "news", &format!("{name}{i}")]));
        }
        p.send(&input).expect("send");
    }
    for p in [&mut p1, &mut p2] {
        for _ in 0..N {
            assert_eq!(int_of(&next(p)), 4);
        }
    }
    // Per subscriber: how many channel and pattern copies it gets of each message.
    for (sub, copies) in [(&mut s1, [1, 0]), (&mut s2, [0, 1]), (&mut s3, [1, 1])] {
        // seen[pattern copy][publisher]: the next sequence number expected.
        let mut seen = [[0usize; 2]; 2];
        for _ in 0..2 * N * (copies[0] + copies[1]) {
            let Value::Array(Some(items)) = next(sub) else {
                panic!("not a message");
            };
            let Some(Value::Bulk(Some(payload))) = items.last() else {
                panic!("no payload in {items:?}");
            };
            let text = String::from_utf8_lossy(payload).to_string();
            let (kind, publisher) = (
                usize::from(items.len() == 4),
                usize::from(text.starts_with('b')),
            );
            let at = &mut seen[kind][publisher];
            assert_eq!(
                text[1..].parse::<usize>().ok(),
                Some(*at),
                "{text} out of order"
            );
            *at += 1;
        }
        assert_eq!(seen, copies.map(|c| [c * N, c * N]));
    }
    // And nothing else is queued: a sentinel is next.
    assert_eq!(int_of(&val(&mut p1, &["PUBLISH", "news", "end"])), 4);
    expect_bytes(&mut s1, &message("news", "end"), "s1 sentinel");
}

#[test]
fn pattern_matching_follows_redis_glob_rules() {
    let patterns = [
        "h?llo",
        "h*llo",
        "h[ae]llo",
        "h[^e]llo",
        "h[!e]llo",
        "h[a-b]llo",
        "h[b-a]llo",
        r"h\*llo",
        r"h\[llo",
        r"h[a\-c]llo",
        "h[-a]llo",
        "h[a-]llo",
        "H*",
        "*o*o*",
        "h[",
        r"a\",
    ];
    let channels = [
        "hello", "hallo", "hbllo", "hxllo", "hllo", "heeello", "h*llo", "h[llo", "hcllo", "h-llo",
        "hEllo", "Hello", "foo", r"h\llo", "h[", r"a\",
    ];
    // What Redis 7.0.15 delivers (checked against it below when it is installed).
    let expected: &[(&str, &[&str])] = &[
        ("hello", &["h*llo", "h?llo", "h[!e]llo", "h[ae]llo"]),
        (
            "hallo",
            &[
                "h*llo",
                "h?llo",
                "h[-a]llo",
                "h[^e]llo",
                "h[a-b]llo",
                r"h[a\-c]llo",
                "h[ae]llo",
                "h[b-a]llo",
            ],
        ),
        (
            "hbllo",
            &["h*llo", "h?llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo"],
        ),
        ("hxllo", &["h*llo", "h?llo", "h[^e]llo"]),
        ("hllo", &["h*llo"]),
        ("heeello", &["h*llo"]),
        ("h*llo", &["h*llo", "h?llo", "h[^e]llo", r"h\*llo"]),
        ("h[llo", &["h*llo", "h?llo", "h[^e]llo", r"h\[llo"]),
        ("hcllo", &["h*llo", "h?llo", "h[^e]llo", r"h[a\-c]llo"]),
        (
            "h-llo",
            &["h*llo", "h?llo", "h[-a]llo", "h[^e]llo", r"h[a\-c]llo"],
        ),
        ("hEllo", &["h*llo", "h?llo", "h[^e]llo"]),
        ("Hello", &["H*"]),
        ("foo", &["*o*o*"]),
        (r"h\llo", &["h*llo", "h?llo", "h[^e]llo"]),
        ("h[", &[]),
        (r"a\", &[r"a\"]),
    ];
    on_both(|addr, who| {
        let mut sub = connect(addr);
        let mut publ = connect(addr);
        let mut cmd = vec!["PSUBSCRIBE"];
        cmd.extend(patterns);
        sub.send(&encode_str(&cmd)).expect("send");
        for (i, p) in patterns.iter().enumerate() {
            expect_bytes(&mut sub, &confirm("psubscribe", Some(p), i as i64 + 1), who);
        }
        sub.send(&encode_str(&["SUBSCRIBE", "sentinel"]))
            .expect("send");
        expect_bytes(
            &mut sub,
            &confirm("subscribe", Some("sentinel"), patterns.len() as i64 + 1),
            who,
        );
        for (ch, want) in expected {
            assert!(channels.contains(ch));
            let n = int_of(&val(&mut publ, &["PUBLISH", ch, "x"]));
            assert_eq!(n as usize, want.len(), "{who}: receivers of {ch:?}");
            assert_eq!(int_of(&val(&mut publ, &["PUBLISH", "sentinel", ch])), 1);
            let mut got = BTreeSet::new();
            loop {
                let Value::Array(Some(items)) = next(&mut sub) else {
                    panic!("{who}: not a message");
                };
                match &items[..] {
                    [_, Value::Bulk(Some(c)), Value::Bulk(Some(m))] if c == b"sentinel" => {
                        assert_eq!(m, ch.as_bytes(), "{who}");
                        break;
                    }
                    [_, Value::Bulk(Some(p)), Value::Bulk(Some(c)), _] => {
                        assert_eq!(c, ch.as_bytes(), "{who}");
                        got.insert(String::from_utf8_lossy(p).to_string());
                    }
                    other => panic!("{who}: unexpected {other:?}"),
                }
            }
            let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
            assert_eq!(got, want, "{who}: patterns matching {ch:?}");
        }
    });
}

// ---- PUBSUB introspection -------------------------------------------------------------------

#[test]
fn pubsub_introspection_matches_redis() {
    on_both(|addr, who| {
        let mut a = connect(addr);
        let mut b = connect(addr);
        let mut q = connect(addr);
        a.send(&encode_str(&["SUBSCRIBE", "news.tech", "news.art", "chat"]))
            .expect("send");
        for (i, ch) in ["news.tech", "news.art", "chat"].iter().enumerate() {
            expect_bytes(&mut a, &confirm("subscribe", Some(ch), i as i64 + 1), who);
        }
        b.send(&encode_str(&["SUBSCRIBE", "chat"])).expect("send");
        expect_bytes(&mut b, &confirm("subscribe", Some("chat"), 1), who);
        b.send(&encode_str(&["PSUBSCRIBE", "news.*", "x*", "news.*"]))
            .expect("send");
        expect_bytes(
            &mut b,
            &[
                confirm("psubscribe", Some("news.*"), 2),
                confirm("psubscribe", Some("x*"), 3),
                confirm("psubscribe", Some("news.*"), 3),
            ]
            .concat(),
            who,
        );
        a.send(&encode_str(&["PSUBSCRIBE", "x*"])).expect("send");
        expect_bytes(&mut a, &confirm("psubscribe", Some("x*"), 4), who);
        b.send(&encode_str(&["SSUBSCRIBE", "shard1", "shard2"]))
            .expect("send");
        expect_bytes(
            &mut b,
            &[
                confirm("ssubscribe", Some("shard1"), 1),
                confirm("ssubscribe", Some("shard2"), 2),
            ]
            .concat(),
            who,
        );
        a.send(&encode_str(&["SSUBSCRIBE", "shard1"]))
            .expect("send");
        expect_bytes(&mut a, &confirm("ssubscribe", Some("shard1"), 1), who);

        let sorted_strings = |v: Value| -> Vec<String> {
            let Value::Array(Some(items)) = v else {
                panic!("{who}: not an array: {v:?}");
            };
            let mut out: Vec<String> = items
                .into_iter()
                .map(|i| match i {
                    Value::Bulk(Some(b)) => String::from_utf8_lossy(&b).to_string(),
                    other => panic!("{who}: not a bulk: {other:?}"),
                })
                .collect();
            out.sort();
            out
        };
        assert_eq!(
            sorted_strings(val(&mut q, &["PUBSUB", "CHANNELS"])),
            ["chat", "news.art", "news.tech"],
            "{who}"
        );
        assert_eq!(
            sorted_strings(val(&mut q, &["pubsub", "channels", "news.*"])),
            ["news.art", "news.tech"],
            "{who}"
        );
        assert_eq!(
            sorted_strings(val(&mut q, &["PUBSUB", "CHANNELS", "*a*t"])),
            ["chat", "news.art"],
            "{who}"
        );
        assert_eq!(
            req(&mut q, &["PUBSUB", "CHANNELS", "zz*"]),
            b"*0\r\n",
            "{who}"
        );
        // NUMSUB: in the order asked, repeats and unknown channels included, patterns not
        // counted; no channel gives an empty array.
        assert_eq!(
            req(&mut q, &["PUBSUB", "NUMSUB", "chat", "news.art", "nope", "chat"]),
            b"*8\r\n$4\r\nchat\r\n:2\r\n$8\r\nnews.art\r\n:1\r\n$4\r\nnope\r\n:0\r\n$4\r\nchat\r\n:2\r\n",
            "{who}"
        );
        assert_eq!(req(&mut q, &["PUBSUB", "NUMSUB"]), b"*0\r\n", "{who}");
        // NUMPAT counts distinct patterns.
        assert_eq!(req(&mut q, &["PUBSUB", "NUMPAT"]), b":2\r\n", "{who}");
        assert_eq!(
            sorted_strings(val(&mut q, &["PUBSUB", "SHARDCHANNELS"])),
            ["shard1", "shard2"],
            "{who}"
        );
        assert_eq!(
            sorted_strings(val(&mut q, &["PUBSUB", "SHARDCHANNELS", "*2"])),
            ["shard2"],
            "{who}"
        );
        assert_eq!(
            req(
                &mut q,
                &["PUBSUB", "SHARDNUMSUB", "shard1", "shard2", "chat"]
            ),
            b"*6\r\n$6\r\nshard1\r\n:2\r\n$6\r\nshard2\r\n:1\r\n$4\r\nchat\r\n:0\r\n",
            "{who}"
        );
        assert_eq!(req(&mut q, &["PUBSUB", "SHARDNUMSUB"]), b"*0\r\n", "{who}");
        // Shard channels are not ordinary channels, and the other way round.
        assert_eq!(
            req(&mut q, &["PUBSUB", "NUMSUB", "shard1"]),
            b"*2\r\n$6\r\nshard1\r\n:0\r\n",
            "{who}"
        );
        // Errors, with Redis's texts.
        let arity = |c: &str| format!("-ERR wrong number of arguments for '{c}' command\r\n");
        assert_eq!(
            String::from_utf8_lossy(&req(&mut q, &["PUBSUB", "NUMPAT", "x"])),
            arity("pubsub|numpat"),
            "{who}"
        );
        assert_eq!(
            String::from_utf8_lossy(&req(&mut q, &["PUBSUB", "HELP", "x"])),
            arity("pubsub|help"),
            "{who}"
        );
        assert_eq!(
            String::from_utf8_lossy(&req(&mut q, &["PUBSUB"])),
            arity("pubsub"),
            "{who}"
        );
        assert_eq!(
            String::from_utf8_lossy(&req(&mut q, &["PUBSUB", "FOO"])),
            "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n",
            "{who}"
        );
        assert_eq!(
            String::from_utf8_lossy(&req(&mut q, &["PUBLISH", "a"])),
            arity("publish"),
            "{who}"
        );
        assert_eq!(
            String::from_utf8_lossy(&req(&mut q, &["SPUBLISH", "a", "b", "c"])),
            arity("spublish"),
            "{who}"
        );
        assert_eq!(
            String::from_utf8_lossy(&req(&mut q, &["SUBSCRIBE"])),
            arity("subscribe"),
            "{who}"
        );
    });
}

#[test]
fn pubsub_channels_with_too_many_arguments_has_redis_error_text() {
    // Redis answers CHANNELS/SHARDCHANNELS with extra arguments through its generic
    // subcommand error, naming the subcommand as typed.
    on_both(|addr, who| {
        let mut q = connect(addr);
        assert_eq!(
            String::from_utf8_lossy(&req(&mut q, &["PUBSUB", "CHANNELS", "a", "b"])),
            "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB \
             HELP.\r\n",
            "{who}"
        );
        assert_eq!(
            String::from_utf8_lossy(&req(&mut q, &["pubsub", "shardchannels", "a", "b"])),
            "-ERR unknown subcommand or wrong number of arguments for 'shardchannels'. Try \
             PUBSUB HELP.\r\n",
            "{who}"
        );
    });
}

#[test]
fn pubsub_help_is_redis_text() {
    let lines = [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ];
    let mut expected = format!("*{}\r\n", lines.len()).into_bytes();
    for l in lines {
        expected.extend_from_slice(format!("+{l}\r\n").as_bytes());
    }
    on_both(|addr, who| {
        let mut q = connect(addr);
        assert_eq!(
            show(&req(&mut q, &["PUBSUB", "HELP"])),
            show(&expected),
            "{who}"
        );
        assert_eq!(
            show(&req(&mut q, &["pubsub", "help"])),
            show(&expected),
            "{who}"
        );
    });
}

// ---- sharded pub/sub --------------------------------------------------------------------------

#[test]
fn ssubscribe_and_spublish() {
    on_both(|addr, who| {
        let mut s1 = connect(addr);
        let mut s2 = connect(addr);
        let mut publ = connect(addr);
        s1.send(&encode_str(&["SSUBSCRIBE", "orders"]))
            .expect("send");
        expect_bytes(&mut s1, &confirm("ssubscribe", Some("orders"), 1), who);
        s2.send(&encode_str(&["SSUBSCRIBE", "orders"]))
            .expect("send");
        expect_bytes(&mut s2, &confirm("ssubscribe", Some("orders"), 1), who);
        s2.send(&encode_str(&["SUBSCRIBE", "orders"]))
            .expect("send");
        expect_bytes(&mut s2, &confirm("subscribe", Some("orders"), 1), who);
        s2.send(&encode_str(&["PSUBSCRIBE", "ord*"])).expect("send");
        expect_bytes(&mut s2, &confirm("psubscribe", Some("ord*"), 2), who);
        // SPUBLISH reaches shard subscribers only; PUBLISH only the others.
        assert_eq!(
            req(&mut publ, &["SPUBLISH", "orders", "o1"]),
            b":2\r\n",
            "{who}"
        );
        assert_eq!(
            req(&mut publ, &["PUBLISH", "orders", "o2"]),
            b":2\r\n",
            "{who}"
        );
        assert_eq!(
            req(&mut publ, &["SPUBLISH", "none", "o3"]),
            b":0\r\n",
            "{who}"
        );
        let smessage = frame(&[b"smessage", b"orders", b"o1"]);
        expect_bytes(&mut s1, &smessage, who);
        expect_bytes(
            &mut s2,
            &[
                smessage.clone(),
                message("orders", "o2"),
                pmessage("ord*", "orders", "o2"),
            ]
            .concat(),
            who,
        );
        s1.send(&encode_str(&["SUNSUBSCRIBE"])).expect("send");
        expect_bytes(&mut s1, &confirm("sunsubscribe", Some("orders"), 0), who);
        assert_eq!(req(&mut s1, &["PING"]), b"+PONG\r\n", "{who}");
        assert_eq!(
            req(&mut publ, &["SPUBLISH", "orders", "o4"]),
            b":1\r\n",
            "{who}"
        );
        expect_bytes(&mut s2, &frame(&[b"smessage", b"orders", b"o4"]), who);
    });
}

// ---- PUBLISH with transactions and pipelines --------------------------------------------------

#[test]
fn publish_inside_multi_is_delivered_at_exec() {
    on_both(|addr, who| {
        let mut sub = connect(addr);
        let mut psub = connect(addr);
        let mut tx = connect(addr);
        let mut other = connect(addr);
        sub.send(&encode_str(&["SUBSCRIBE", "ch", "mark"]))
            .expect("send");
        expect_bytes(
            &mut sub,
            &[
                confirm("subscribe", Some("ch"), 1),
                confirm("subscribe", Some("mark"), 2),
            ]
            .concat(),
            who,
        );
        psub.send(&encode_str(&["PSUBSCRIBE", "c*"])).expect("send");
        expect_bytes(&mut psub, &confirm("psubscribe", Some("c*"), 1), who);
        assert_eq!(req(&mut tx, &["MULTI"]), b"+OK\r\n");
        assert_eq!(req(&mut tx, &["PUBLISH", "ch", "a"]), b"+QUEUED\r\n");
        assert_eq!(req(&mut tx, &["SET", "k", "1"]), b"+QUEUED\r\n");
        assert_eq!(req(&mut tx, &["PUBLISH", "ch", "b"]), b"+QUEUED\r\n");
        assert_eq!(req(&mut tx, &["PUBLISH", "nobody", "c"]), b"+QUEUED\r\n");
        // Nothing is delivered before EXEC: this mark arrives first.
        assert_eq!(req(&mut other, &["PUBLISH", "mark", "before"]), b":1\r\n");
        assert_eq!(
            show(&req(&mut tx, &["EXEC"])),
            show(b"*4\r\n:2\r\n+OK\r\n:2\r\n:0\r\n"),
            "{who}"
        );
        expect_bytes(
            &mut sub,
            &[
                message("mark", "before"),
                message("ch", "a"),
                message("ch", "b"),
            ]
            .concat(),
            who,
        );
        expect_bytes(
            &mut psub,
            &[pmessage("c*", "ch", "a"), pmessage("c*", "ch", "b")].concat(),
            who,
        );
        // A discarded transaction publishes nothing.
        assert_eq!(req(&mut tx, &["MULTI"]), b"+OK\r\n");
        assert_eq!(req(&mut tx, &["PUBLISH", "ch", "never"]), b"+QUEUED\r\n");
        assert_eq!(req(&mut tx, &["DISCARD"]), b"+OK\r\n");
        assert_eq!(req(&mut other, &["PUBLISH", "mark", "after"]), b":1\r\n");
        expect_bytes(&mut sub, &message("mark", "after"), who);
    });
}

#[test]
fn set_then_publish_in_one_pipeline_is_visible_to_readers() {
    let s = talus();
    let mut sub = connect(s.addr);
    let mut writer = connect(s.addr);
    let mut reader = connect(s.addr);
    sub.send(&encode_str(&["SUBSCRIBE", "updates"]))
        .expect("send");
    expect_bytes(&mut sub, &confirm("subscribe", Some("updates"), 1), "sub");
    for i in 0..300 {
        let value = format!("v{i}");
        let mut input = encode_str(&["SET", "k", &value]);
        input.extend_from_slice(&encode_str(&["PUBLISH", "updates", &value]));
        writer.send(&input).expect("send");
        // The message arrives (perhaps before the writer's replies)...
        expect_bytes(&mut sub, &message("updates", &value), "sub");
        // ...and by then the value is there for anybody.
        assert_eq!(
            show(&req(&mut reader, &["GET", "k"])),
            show(format!("${}\r\n{value}\r\n", value.len()).as_bytes()),
            "round {i}"
        );
        assert_eq!(writer.read_reply().expect("SET"), b"+OK\r\n");
        assert_eq!(writer.read_reply().expect("PUBLISH"), b":1\r\n");
    }
}

/// A message published before a subscriber sends a command reaches it before that command's
/// reply, as Redis appends both to one output buffer in order.
#[test]
fn messages_published_earlier_come_before_later_replies() {
    on_both(|addr, who| {
        let mut sub = connect(addr);
        let mut publ = connect(addr);
        sub.send(&encode_str(&["SUBSCRIBE", "ch"])).expect("send");
        expect_bytes(&mut sub, &confirm("subscribe", Some("ch"), 1), who);
        // (The race this catches is narrow: many rounds.)
        for i in 0..2000 {
            let m = format!("m{i}");
            assert_eq!(req(&mut publ, &["PUBLISH", "ch", &m]), b":1\r\n", "{who}");
            sub.send(&encode_str(&["PING", &m])).expect("send");
            expect_bytes(
                &mut sub,
                &[message("ch", &m), frame(&[b"pong", m.as_bytes()])].concat(),
                &format!("{who}, round {i}"),
            );
        }
        // And the same for the confirmation of leaving the channel.
        assert_eq!(
            req(&mut publ, &["PUBLISH", "ch", "last"]),
            b":1\r\n",
            "{who}"
        );
        sub.send(&encode_str(&["UNSUBSCRIBE", "ch"])).expect("send");
        expect_bytes(
            &mut sub,
            &[message("ch", "last"), confirm("unsubscribe", Some("ch"), 0)].concat(),
            who,
        );
    });
}

// ---- lifetime ---------------------------------------------------------------------------------

#[test]
fn disconnecting_removes_subscriptions() {
    let s = talus();
    let mut q = connect(s.addr);
    let mut keep = connect(s.addr);
    keep.send(&encode_str(&["SUBSCRIBE", "ch"])).expect("send");
    expect_bytes(&mut keep, &confirm("subscribe", Some("ch"), 1), "keep");
    {
        let mut gone = connect(s.addr);
        gone.send(&encode_str(&["SUBSCRIBE", "ch", "solo"]))
            .expect("send");
        gone.send(&encode_str(&["PSUBSCRIBE", "c*"])).expect("send");
        gone.send(&encode_str(&["SSUBSCRIBE", "sh"])).expect("send");
        expect_bytes(
            &mut gone,
            &[
                confirm("subscribe", Some("ch"), 1),
                confirm("subscribe", Some("solo"), 2),
                confirm("psubscribe", Some("c*"), 3),
                confirm("ssubscribe", Some("sh"), 1),
            ]
            .concat(),
            "gone",
        );
        assert_eq!(
            req(&mut q, &["PUBSUB", "NUMSUB", "ch", "solo"]),
            b"*4\r\n$2\r\nch\r\n:2\r\n$4\r\nsolo\r\n:1\r\n"
        );
        assert_eq!(req(&mut q, &["PUBLISH", "ch", "x"]), b":3\r\n");
    }
    // The socket is closed: its subscriptions go when the server notices.
    let numsub = |q: &mut RawConn| req(q, &["PUBSUB", "NUMSUB", "ch", "solo"]);
    assert!(
        wait_until(Duration::from_secs(10), || numsub(&mut q)
            == b"*4\r\n$2\r\nch\r\n:1\r\n$4\r\nsolo\r\n:0\r\n"),
        "NUMSUB after the disconnect: {}",
        show(&numsub(&mut q))
    );
    assert_eq!(req(&mut q, &["PUBSUB", "NUMPAT"]), b":0\r\n");
    assert_eq!(
        req(&mut q, &["PUBSUB", "SHARDNUMSUB", "sh"]),
        b"*2\r\n$2\r\nsh\r\n:0\r\n"
    );
    assert_eq!(req(&mut q, &["PUBSUB", "CHANNELS"]), b"*1\r\n$2\r\nch\r\n");
    assert_eq!(req(&mut q, &["PUBLISH", "ch", "y"]), b":1\r\n");
    expect_bytes(
        &mut keep,
        &[message("ch", "x"), message("ch", "y")].concat(),
        "keep",
    );
}

/// A subscriber that never reads is closed once the messages queued for it pass the pub/sub
/// output-buffer limit, while a subscriber that reads keeps getting every message.
#[test]
fn slow_subscriber_is_cut_at_its_limit_while_others_keep_receiving() {
    let s = TestServer::start(&["--io-threads", "2"]);
    let mut admin = s.conn();
    let configured: redis::RedisResult<()> = redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-output-buffer-limit")
        .arg("pubsub 1mb 0 0")
        .query(&mut admin);
    let limit: usize = match configured {
        Ok(()) => 1 << 20,
        Err(e) => {
            eprintln!(
                "CONFIG SET client-output-buffer-limit failed ({e}); using the default 32mb \
                 hard limit"
            );
            32 << 20
        }
    };
    slow_subscriber_case(&s, admin, limit);
}

/// The same with the default limit (`pubsub 32mb 8mb 60`: the hard limit cuts first when
/// messages pile up this fast).
#[test]
fn slow_subscriber_is_cut_at_the_default_hard_limit() {
    let s = TestServer::start(&["--io-threads", "2"]);
    let admin = s.conn();
    slow_subscriber_case(&s, admin, 32 << 20);
}

fn slow_subscriber_case(s: &TestServer, mut admin: redis::Connection, limit: usize) {
    // The never-reading subscriber and the reading one, on different workers.
    let mut slow = connect(s.addr);
    slow.send(&encode_str(&["SUBSCRIBE", "firehose"]))
        .expect("send");
    expect_bytes(
        &mut slow,
        &confirm("subscribe", Some("firehose"), 1),
        "slow",
    );
    let mut good = connect(s.addr);
    good.send(&encode_str(&["SUBSCRIBE", "firehose"]))
        .expect("send");
    expect_bytes(
        &mut good,
        &confirm("subscribe", Some("firehose"), 1),
        "good",
    );
    // How many messages the reading subscriber has read: the publisher keeps at most a few
    // in flight to it, so it keeps up (one that falls a megabyte behind is cut too).
    let received = Arc::new(AtomicU64::new(0));
    let progress = received.clone();
    let reader = std::thread::spawn(move || {
        // Reads every message; returns how many, checking their order.
        let mut n = 0u64;
        loop {
            let Value::Array(Some(items)) = next(&mut good) else {
                panic!("not a message");
            };
            let Some(Value::Bulk(Some(payload))) = items.last() else {
                panic!("no payload");
            };
            if payload == b"end" {
                return n;
            }
            let seq: u64 = String::from_utf8_lossy(&payload[..payload.len().min(12)])
                .trim_end_matches('.')
                .parse()
                .expect("sequence number");
            assert_eq!(seq, n, "messages out of order");
            n += 1;
            progress.store(n, Ordering::Release);
        }
    });
    let keep_up = |sent: u64| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while sent > received.load(Ordering::Acquire) + 8 {
            assert!(Instant::now() < deadline, "the reading subscriber stalled");
            std::thread::yield_now();
        }
    };

    const MSG: usize = 32 << 10;
    let payload = |i: u64| {
        let mut p = format!("{i:012}").into_bytes();
        p.resize(MSG, b'.');
        p
    };
    let numsub = |con: &mut redis::Connection| -> i64 {
        let v: (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("firehose")
            .query(con)
            .expect("NUMSUB");
        v.1
    };
    let mut publisher = s.conn();
    // Past the limit by more than what the kernel's socket buffers can hold, the slow
    // subscriber must be gone.
    let cap = limit + (16 << 20);
    let mut sent = 0u64;
    let mut bytes = 0usize;
    let cut_at = loop {
        keep_up(sent);
        let n: i64 = redis::cmd("PUBLISH")
            .arg("firehose")
            .arg(payload(sent))
            .query(&mut publisher)
            .expect("PUBLISH");
        assert!((1..=2).contains(&n), "PUBLISH reached {n}");
        sent += 1;
        bytes += MSG;
        if numsub(&mut admin) == 1 {
            break bytes;
        }
        assert!(
            bytes <= cap,
            "the slow subscriber was not cut after {bytes} bytes (limit {limit})"
        );
    };
    eprintln!("slow subscriber cut after {cut_at} bytes published (limit {limit})");
    assert!(cut_at > limit / 2, "cut too early: {cut_at}");
    // The reading subscriber keeps receiving.
    for _ in 0..200 {
        keep_up(sent);
        let n: i64 = redis::cmd("PUBLISH")
            .arg("firehose")
            .arg(payload(sent))
            .query(&mut publisher)
            .expect("PUBLISH");
        assert_eq!(n, 1);
        sent += 1;
    }
    let _: i64 = redis::cmd("PUBLISH")
        .arg("firehose")
        .arg("end")
        .query(&mut publisher)
        .expect("PUBLISH");
    assert_eq!(reader.join().expect("reader"), sent);
    // The slow one's connection is closed: what was written before the cut drains, then EOF.
    let (got, closed) = slow.read_to_close(Duration::from_secs(20));
    assert!(closed, "the slow subscriber's connection is still open");
    assert!(
        got.len() < cut_at,
        "the slow subscriber got {} bytes of {cut_at}",
        got.len()
    );
}

/// As in Redis, `timeout` closes idle clients but not subscribed ones, which only listen.
#[test]
fn idle_timeout_spares_subscribed_clients() {
    let t = talus();
    let mut ctl = connect(t.addr);
    assert_eq!(
        show(&req(&mut ctl, &["CONFIG", "SET", "timeout", "1"])),
        "+OK\\r\\n"
    );
    let mut sub = connect(t.addr);
    assert_eq!(
        req(&mut sub, &["SUBSCRIBE", "idle"]),
        confirm("subscribe", Some("idle"), 1)
    );
    let mut idle = connect(t.addr);
    assert_eq!(show(&req(&mut idle, &["PING"])), "+PONG\\r\\n");
    idle.stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    // The plain client is closed after a second or two of silence...
    let closed = wait_until(Duration::from_secs(10), || {
        let mut buf = [0u8; 16];
        matches!(std::io::Read::read(&mut idle.stream, &mut buf), Ok(0))
    });
    assert!(closed, "the idle client was not closed");
    // ... while the subscriber, idle just as long, still receives and answers.
    let mut publisher = connect(t.addr);
    assert_eq!(int_of(&val(&mut publisher, &["PUBLISH", "idle", "m"])), 1);
    assert_eq!(
        show(&sub.read_reply().expect("message")),
        show(&frame(&[b"message", b"idle", b"m"]))
    );
    assert_eq!(
        show(&req(&mut sub, &["PING"])),
        "*2\\r\\n$4\\r\\npong\\r\\n$0\\r\\n\\r\\n"
    );
}
