//! Helpers shared by `differential.rs` and `bad_input.rs`: a `redis-server` child process on a
//! free port (the reference the tests compare Talus with), a raw RESP connection that reads
//! exactly one reply at a time as raw bytes, a RESP reply parser/encoder for the few replies
//! that need normalising, and a `sdssplitargs`-style splitter for the script files.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process without persistence, killed on drop.
pub struct RedisServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts `redis-server --save '' --appendonly no` on a free port. `Err(reason)` when
    /// `redis-server` is not installed (callers skip, printing the reason) or does not start.
    pub fn start() -> Result<RedisServer, String> {
        match Command::new("redis-server").arg("--version").output() {
            Ok(o) if o.status.success() => {}
            _ => return Err("redis-server is not installed (apt-get install redis-server)".into()),
        }
        let mut last = String::new();
        // A port picked free can be taken before redis-server binds it: retry a few times.
        for _ in 0..5 {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let port = free_port();
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run redis-server: {e}"))?;
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    last = format!("redis-server exited with {status}");
                    break;
                }
                if let Ok(mut c) = RawConn::connect(addr) {
                    if c.request(&[b"PING".to_vec()]).ok().as_deref() == Some(b"+PONG\r\n") {
                        return Ok(RedisServer {
                            child,
                            addr,
                            _dir: dir,
                        });
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            if last.is_empty() {
                last = "redis-server did not answer PING".into();
            }
        }
        Err(last)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Encodes a command as a RESP multibulk.
pub fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Encodes a command given as strings.
pub fn encode_str(args: &[&str]) -> Vec<u8> {
    encode(
        &args
            .iter()
            .map(|a| a.as_bytes().to_vec())
            .collect::<Vec<_>>(),
    )
}

/// A raw client connection: writes bytes, reads complete replies as raw bytes.
pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    /// Connects with a 10 s read timeout.
    pub fn connect(addr: SocketAddr) -> std::io::Result<RawConn> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        Ok(RawConn {
            stream,
            buf: Vec::new(),
        })
    }

    /// Writes raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one complete reply (raw bytes, nested aggregates included).
    pub fn read_reply(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            match reply_len(&self.buf) {
                Ok(Some(n)) => return Ok(self.buf.drain(..n).collect()),
                Ok(None) => {}
                Err(e) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{e}: {:?}", String::from_utf8_lossy(&self.buf)),
                    ))
                }
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "connection closed; unparsed: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ),
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends one command and reads its reply.
    pub fn request(&mut self, args: &[Vec<u8>]) -> std::io::Result<Vec<u8>> {
        self.send(&encode(args))?;
        self.read_reply()
    }

    /// Reads until the server closes the connection (or `timeout`); returns what arrived after
    /// any already buffered bytes, and whether the connection was closed.
    pub fn read_to_close(&mut self, timeout: Duration) -> (Vec<u8>, bool) {
        let mut out = std::mem::take(&mut self.buf);
        let deadline = Instant::now() + timeout;
        let mut chunk = [0u8; 65536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (out, false);
            }
            let _ = self.stream.set_read_timeout(Some(left));
            match self.stream.read(&mut chunk) {
                Ok(0) => return (out, true),
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                // A reset also means the server closed it (it may close with unread input).
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (out, true),
                Err(_) => return (out, false),
            }
        }
    }
}

fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

fn header_int(buf: &[u8], start: usize, end: usize) -> Result<i64, String> {
    std::str::from_utf8(&buf[start + 1..end])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            format!(
                "bad length in {:?}",
                String::from_utf8_lossy(&buf[start..end])
            )
        })
}

/// The length of the first complete reply in `buf` (RESP2 and the RESP3 types), `Ok(None)` when
/// it is incomplete.
pub fn reply_len(buf: &[u8]) -> Result<Option<usize>, String> {
    fn at(buf: &[u8], pos: usize) -> Result<Option<usize>, String> {
        let Some(&kind) = buf.get(pos) else {
            return Ok(None);
        };
        let Some(end) = line_end(buf, pos) else {
            return Ok(None);
        };
        let after = end + 2;
        match kind {
            b'+' | b'-' | b':' | b',' | b'#' | b'_' | b'(' => Ok(Some(after)),
            b'$' | b'!' | b'=' => {
                let n = header_int(buf, pos, end)?;
                if n < 0 {
                    return Ok(Some(after));
                }
                let total = after + n as usize + 2;
                Ok((buf.len() >= total).then_some(total))
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n = header_int(buf, pos, end)?;
                let items = if matches!(kind, b'%' | b'|') {
                    n * 2
                } else {
                    n
                };
                let mut p = after;
                for _ in 0..items.max(0) {
                    match at(buf, p)? {
                        Some(q) => p = q,
                        None => return Ok(None),
                    }
                }
                Ok(Some(p))
            }
            other => Err(format!("unexpected reply type byte {:?}", other as char)),
        }
    }
    at(buf, 0)
}

/// A parsed RESP2 reply (for normalisers).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Value>>),
}

/// Parses one complete reply (as read by [`RawConn::read_reply`]).
pub fn parse(buf: &[u8]) -> Result<Value, String> {
    fn at(buf: &[u8], pos: usize) -> Result<(Value, usize), String> {
        let kind = *buf.get(pos).ok_or("empty reply")?;
        let end = line_end(buf, pos).ok_or("incomplete reply")?;
        let line = buf[pos + 1..end].to_vec();
        let after = end + 2;
        match kind {
            b'+' => Ok((Value::Simple(line), after)),
            b'-' => Ok((Value::Error(line), after)),
            b':' => Ok((Value::Int(header_int(buf, pos, end)?), after)),
            b'$' => {
                let n = header_int(buf, pos, end)?;
                if n < 0 {
                    return Ok((Value::Bulk(None), after));
                }
                let stop = after + n as usize;
                let data = buf.get(after..stop).ok_or("incomplete bulk")?.to_vec();
                Ok((Value::Bulk(Some(data)), stop + 2))
            }
            b'*' => {
                let n = header_int(buf, pos, end)?;
                if n < 0 {
                    return Ok((Value::Array(None), after));
                }
                let mut items = Vec::new();
                let mut p = after;
                for _ in 0..n {
                    let (v, q) = at(buf, p)?;
                    items.push(v);
                    p = q;
                }
                Ok((Value::Array(Some(items)), p))
            }
            other => Err(format!("unsupported reply type {:?}", other as char)),
        }
    }
    at(buf, 0).map(|(v, _)| v)
}

/// Encodes a parsed reply back to RESP2.
pub fn unparse(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    fn go(v: &Value, out: &mut Vec<u8>) {
        match v {
            Value::Simple(s) => {
                out.push(b'+');
                out.extend_from_slice(s);
                out.extend_from_slice(b"\r\n");
            }
            Value::Error(s) => {
                out.push(b'-');
                out.extend_from_slice(s);
                out.extend_from_slice(b"\r\n");
            }
            Value::Int(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
            Value::Bulk(None) => out.extend_from_slice(b"$-1\r\n"),
            Value::Bulk(Some(b)) => {
                out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Value::Array(None) => out.extend_from_slice(b"*-1\r\n"),
            Value::Array(Some(items)) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                for i in items {
                    go(i, out);
                }
            }
        }
    }
    go(v, &mut out);
    out
}

/// Shows reply bytes readably (CRLF as `\r\n`, other non-printables escaped).
pub fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// Splits a line like Redis's `sdssplitargs`: whitespace-separated words, `"..."` with `\n \r
/// \t \b \a \\ \" \xHH` escapes, `'...'` with only `\'`. `None` on unbalanced quotes.
pub fn split_args(line: &str) -> Option<Vec<Vec<u8>>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            if inq {
                let c = *b.get(i)?;
                if c == b'\\'
                    && i + 3 < b.len()
                    && b[i + 1] == b'x'
                    && b[i + 2].is_ascii_hexdigit()
                    && b[i + 3].is_ascii_hexdigit()
                {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).ok()?;
                    cur.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 3;
                } else if c == b'\\' && i + 1 < b.len() {
                    i += 1;
                    cur.push(match b[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    inq = false;
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if insq {
                let c = *b.get(i)?;
                if c == b'\\' && i + 1 < b.len() && b[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    insq = false;
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                match b.get(i) {
                    None => break,
                    Some(c) if c.is_ascii_whitespace() => break,
                    Some(b'"') => inq = true,
                    Some(b'\'') => insq = true,
                    Some(&c) => cur.push(c),
                }
            }
            i += 1;
        }
        if inq || insq {
            return None;
        }
        out.push(cur);
    }
}

/// Runs a script line by line on two servers (Talus at `talus`, Redis at `redis`) and returns
/// how many commands ran and a description of every mismatch. Line prefixes normalise what
/// Redis leaves unordered: `@sort` compares array elements as a multiset, `@pairs` compares a
/// flat array of pairs as a set of pairs, `@hscan ARGS` / `@sscan ARGS` run HSCAN / SSCAN to the
/// end on each server and compare the sorted, deduplicated elements (pairs for HSCAN).
pub fn compare_script(talus: SocketAddr, redis: SocketAddr, script: &str) -> (usize, Vec<String>) {
    let mut t = RawConn::connect(talus).expect("talus");
    let mut r = RawConn::connect(redis).expect("redis");
    let scan = |con: &mut RawConn, cmd: &[u8], width: usize, args: &[Vec<u8>]| -> Vec<u8> {
        let mut cursor = b"0".to_vec();
        let mut all: Vec<Vec<Value>> = Vec::new();
        for _ in 0..10_000 {
            let mut a = vec![cmd.to_vec(), args[0].clone(), cursor.clone()];
            a.extend_from_slice(&args[1..]);
            let reply = con.request(&a).expect("request");
            let Ok(Value::Array(Some(items))) = parse(&reply) else {
                return reply;
            };
            let (Some(Value::Bulk(Some(next))), Some(Value::Array(Some(batch)))) =
                (items.first(), items.get(1))
            else {
                return reply;
            };
            all.extend(batch.chunks(width).map(|p| p.to_vec()));
            if next == b"0" {
                all.sort();
                all.dedup();
                return format!("{all:?}").into_bytes();
            }
            cursor = next.clone();
        }
        b"<no end>".to_vec()
    };
    let mut bad = Vec::new();
    let mut count = 0;
    for (i, line) in script.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        count += 1;
        let (norm, rest) = match line.split_once(' ') {
            Some((d @ ("@sort" | "@pairs" | "@hscan" | "@sscan"), rest)) => (d, rest),
            _ => ("", line),
        };
        let args = split_args(rest).unwrap_or_else(|| panic!("line {}: bad quotes", i + 1));
        let (tr, rr) = match norm {
            "@hscan" => (
                scan(&mut t, b"HSCAN", 2, &args),
                scan(&mut r, b"HSCAN", 2, &args),
            ),
            "@sscan" => (
                scan(&mut t, b"SSCAN", 1, &args),
                scan(&mut r, b"SSCAN", 1, &args),
            ),
            _ => (
                t.request(&args).expect("talus request"),
                r.request(&args).expect("redis request"),
            ),
        };
        let same = tr == rr
            || match (norm, parse(&tr), parse(&rr)) {
                ("@sort", Ok(Value::Array(Some(mut a))), Ok(Value::Array(Some(mut b)))) => {
                    a.sort();
                    b.sort();
                    a == b
                }
                ("@pairs", Ok(Value::Array(Some(a))), Ok(Value::Array(Some(b)))) => {
                    let mut a: Vec<_> = a.chunks(2).map(|p| p.to_vec()).collect();
                    let mut b: Vec<_> = b.chunks(2).map(|p| p.to_vec()).collect();
                    a.sort();
                    b.sort();
                    a == b
                }
                _ => false,
            };
        if !same {
            bad.push(format!(
                "line {}: {line}\n    talus: {}\n    redis: {}",
                i + 1,
                show(&tr),
                show(&rr)
            ));
        }
    }
    (count, bad)
}

/// Runs `script` on a Talus started for it and on redis-server and asserts the raw replies
/// are the same (normalisers: see [`compare_script`]). Skips, saying so, without
/// redis-server. (Every test crate that includes this file also has `mod common`.)
pub fn differential(script: &str) {
    let redis = match RedisServer::start() {
        Ok(r) => r,
        Err(e) => {
            println!("SKIPPED differential: {e}");
            return;
        }
    };
    let talus = crate::common::TestServer::start(&[]);
    let (count, bad) = compare_script(talus.addr, redis.addr, script);
    println!("{count} commands, {} mismatches", bad.len());
    assert!(bad.is_empty(), "mismatches:\n{}", bad.join("\n"));
}
