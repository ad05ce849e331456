//! Pipelining: thousands of mixed commands sent in one write come back complete and in request
//! order (the Connection hands whole batches to the executor pool, which is multi-threaded, so
//! order is something the design must keep, not something it gets for free). Expected replies
//! are computed from a model of the keyspace, so a reordered, lost or duplicated reply fails.
//! Session state inside a pipeline (SELECT/AUTH/QUIT) is tested elsewhere.

mod common;
#[path = "differential/support.rs"]
mod support;

use common::{Rng, TestServer};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use support::{encode, reply_len, show};

/// The model: string keys only, integer-ness as Redis's INCR sees it.
#[derive(Default)]
struct Model {
    kv: HashMap<Vec<u8>, Vec<u8>>,
}

fn bulk(v: Option<&[u8]>) -> Vec<u8> {
    match v {
        None => b"$-1\r\n".to_vec(),
        Some(v) => {
            let mut out = format!("${}\r\n", v.len()).into_bytes();
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
            out
        }
    }
}

fn int(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

/// A canonical decimal i64, the only form INCR accepts.
fn as_int(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    let n: i64 = s.parse().ok()?;
    (n.to_string() == s).then_some(n)
}

impl Model {
    /// Builds a random command and the reply Redis gives to it, updating the model.
    fn step(&mut self, rng: &mut Rng, i: usize) -> (Vec<Vec<u8>>, Vec<u8>) {
        let key = |rng: &mut Rng| format!("pk:{}", rng.below(40)).into_bytes();
        let value = |rng: &mut Rng| -> Vec<u8> {
            match rng.below(4) {
                0 => rng.below(1000).to_string().into_bytes(),
                1 => format!("-{}", rng.below(1000)).into_bytes(),
                2 => format!("v{i}\0\r\n").into_bytes(),
                _ => vec![b'x'; rng.below(300) as usize],
            }
        };
        let c = |parts: &[&[u8]]| parts.iter().map(|p| p.to_vec()).collect::<Vec<_>>();
        match rng.below(11) {
            0 | 1 => {
                let (k, v) = (key(rng), value(rng));
                self.kv.insert(k.clone(), v.clone());
                (c(&[b"SET", &k, &v]), b"+OK\r\n".to_vec())
            }
            2 | 3 => {
                let k = key(rng);
                let r = bulk(self.kv.get(&k).map(|v| v.as_slice()));
                (c(&[b"GET", &k]), r)
            }
            4 => {
                let k = key(rng);
                let reply = match self.kv.get(&k) {
                    None => Some(1),
                    Some(v) => as_int(v).map(|n| n + 1),
                };
                match reply {
                    Some(n) => {
                        self.kv.insert(k.clone(), n.to_string().into_bytes());
                        (c(&[b"INCR", &k]), int(n))
                    }
                    None => (
                        c(&[b"INCR", &k]),
                        b"-ERR value is not an integer or out of range\r\n".to_vec(),
                    ),
                }
            }
            5 => {
                let (k, v) = (key(rng), value(rng));
                let e = self.kv.entry(k.clone()).or_default();
                e.extend_from_slice(&v);
                let n = e.len() as i64;
                (c(&[b"APPEND", &k, &v]), int(n))
            }
            6 => {
                let (a, b) = (key(rng), key(rng));
                let mut n = 0;
                for k in [&a, &b] {
                    if self.kv.remove(k).is_some() {
                        n += 1;
                    }
                }
                (c(&[b"DEL", &a, &b]), int(n))
            }
            7 => {
                let (a, b) = (key(rng), key(rng));
                let n = [&a, &b, &a]
                    .iter()
                    .filter(|k| self.kv.contains_key(**k))
                    .count();
                (c(&[b"EXISTS", &a, &b, &a]), int(n as i64))
            }
            8 => {
                let k = key(rng);
                let n = self.kv.get(&k).map_or(0, |v| v.len());
                (c(&[b"STRLEN", &k]), int(n as i64))
            }
            9 => {
                let (a, b, d) = (key(rng), key(rng), key(rng));
                let mut out = b"*3\r\n".to_vec();
                for k in [&a, &b, &d] {
                    out.extend(bulk(self.kv.get(k).map(|v| v.as_slice())));
                }
                (c(&[b"MGET", &a, &b, &d]), out)
            }
            _ => {
                let k = key(rng);
                let by = rng.below(100) as i64 - 50;
                let reply = match self.kv.get(&k) {
                    None => Some(-by),
                    Some(v) => as_int(v).map(|n| n - by),
                };
                let by = by.to_string().into_bytes();
                match reply {
                    Some(n) => {
                        self.kv.insert(k.clone(), n.to_string().into_bytes());
                        (c(&[b"DECRBY", &k, &by]), int(n))
                    }
                    None => (
                        c(&[b"DECRBY", &k, &by]),
                        b"-ERR value is not an integer or out of range\r\n".to_vec(),
                    ),
                }
            }
        }
    }
}

/// A command as its arguments.
type Command = Vec<Vec<u8>>;

/// Builds `n` commands as one request stream, with their expected replies and the commands.
fn script(seed: u64, n: usize) -> (Vec<u8>, Vec<Vec<u8>>, Vec<Command>) {
    let mut rng = Rng(seed);
    let mut model = Model::default();
    let (mut stream, mut expected, mut commands) = (Vec::new(), Vec::new(), Vec::new());
    // Start from a known state: the keys used are deleted first.
    let mut del = vec![b"DEL".to_vec()];
    del.extend((0..40).map(|i| format!("pk:{i}").into_bytes()));
    stream.extend(encode(&del));
    expected.push(None);
    commands.push(del);
    for i in 0..n {
        let (cmd, reply) = model.step(&mut rng, i);
        stream.extend(encode(&cmd));
        expected.push(Some(reply));
        commands.push(cmd);
    }
    (
        stream,
        expected
            .into_iter()
            .map(|e| e.unwrap_or_default())
            .collect(),
        commands,
    )
}

/// Writes `stream` (in one `write_all`, or in chunks of the given sizes) while a second thread
/// reads, and returns the replies split one by one.
fn exchange(
    addr: SocketAddr,
    stream: &[u8],
    count: usize,
    chunks: Option<&[usize]>,
) -> Vec<Vec<u8>> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).ok();
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut reader = s.try_clone().expect("clone");
    // Read concurrently: the server writes replies while we still write requests, and neither
    // side may block the other on full socket buffers.
    let read = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut replies = Vec::new();
        let mut chunk = vec![0u8; 1 << 16];
        while replies.len() < count {
            match reply_len(&buf) {
                Ok(Some(n)) => {
                    replies.push(buf.drain(..n).collect::<Vec<u8>>());
                    continue;
                }
                Ok(None) => {}
                Err(e) => panic!("malformed reply after {} replies: {e}", replies.len()),
            }
            match reader.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        replies
    });
    match chunks {
        None => s.write_all(stream).expect("write"),
        Some(sizes) => {
            let mut at = 0;
            let mut i = 0;
            while at < stream.len() {
                let n = sizes[i % sizes.len()].min(stream.len() - at);
                s.write_all(&stream[at..at + n]).expect("write");
                s.flush().ok();
                at += n;
                i += 1;
            }
        }
    }
    read.join().expect("reader thread")
}

fn check(commands: &[Command], expected: &[Vec<u8>], got: &[Vec<u8>]) {
    // The first command (the cleanup DEL) has no fixed reply; check it is an integer.
    assert!(
        got.first().is_some_and(|r| r.starts_with(b":")),
        "first reply: {:?}",
        got.first()
    );
    for i in 1..expected.len() {
        let Some(g) = got.get(i) else {
            panic!("only {} of {} replies arrived", got.len(), expected.len());
        };
        if *g != expected[i] {
            let cmd: Vec<String> = commands[i].iter().map(|a| show(a)).collect();
            panic!(
                "reply {i} differs (command {cmd:?})\n  got:      {}\n  expected: {}",
                show(g),
                show(&expected[i])
            );
        }
    }
    assert_eq!(got.len(), expected.len(), "reply count");
}

#[test]
fn ten_thousand_mixed_commands_in_one_write() {
    let server = TestServer::start(&[]);
    let (stream, expected, commands) = script(0x5eed_1234, 10_000);
    let got = exchange(server.addr, &stream, expected.len(), None);
    check(&commands, &expected, &got);
    // The connection and the server are still fine.
    let mut con = server.conn();
    let pong: String = redis::cmd("PING").query(&mut con).expect("PING");
    assert_eq!(pong, "PONG");
}

#[test]
fn pipeline_split_at_every_odd_boundary() {
    // The same kind of stream delivered in small, irregular pieces (frames cut inside headers,
    // inside values and between \r and \n) must parse to the same replies.
    let server = TestServer::start(&[]);
    let (stream, expected, commands) = script(0xabcdef, 2_000);
    let got = exchange(
        server.addr,
        &stream,
        expected.len(),
        Some(&[1, 7, 2, 61, 3, 1500, 13]),
    );
    check(&commands, &expected, &got);
}

#[test]
fn parallel_pipelines_keep_their_own_order() {
    // Several connections pipelining at once on disjoint keys: each sees its own replies, in
    // its own order, although the executors interleave their batches.
    let server = TestServer::start(&["--io-threads", "2", "--exec-threads", "2"]);
    let addr = server.addr;
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut stream = Vec::new();
                let mut expected = Vec::new();
                let key = format!("par:{t}");
                stream.extend(encode(&[b"DEL".to_vec(), key.clone().into_bytes()]));
                expected.push(None);
                for i in 1..=3_000i64 {
                    if i % 3 == 0 {
                        stream.extend(encode(&[b"GET".to_vec(), key.clone().into_bytes()]));
                        expected.push(Some(bulk(Some((i - 1 - i / 3 + 1).to_string().as_bytes()))));
                    } else {
                        stream.extend(encode(&[b"INCR".to_vec(), key.clone().into_bytes()]));
                        expected.push(Some(int(i - i / 3)));
                    }
                }
                let got = exchange(addr, &stream, expected.len(), None);
                assert_eq!(got.len(), expected.len(), "client {t}: reply count");
                for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
                    if let Some(e) = e {
                        assert_eq!(show(g), show(e), "client {t}: reply {i}");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
}
