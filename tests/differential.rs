//! Differential tests: the same command scripts (tests/differential/*.txt) go to Talus and to a
//! `redis-server` this test starts itself (no persistence, free port), and the raw replies are
//! compared byte for byte. Normalisers exist only where Redis itself is time-dependent or
//! unordered; a script line opts into one with a prefix:
//!
//! - `@sort CMD ...`: sort the elements of an array reply (KEYS);
//! - `@ttl CMD ...`: integer replies equal, or both positive and within 1 (TTL);
//! - `@pttl CMD ...`: the same within 1000 (PTTL);
//! - `@shape CMD ...`: compare the reply's structure and types only (TIME, RANDOMKEY);
//! - `@scan ARGS ...`: run `SCAN <cursor> ARGS` to the end on each server and compare the
//!   sorted, deduplicated set of keys (cursors are each server's own business).
//!
//! Arguments are split like `redis-cli`/`sdssplitargs` (quotes, `\xHH`). Each script starts
//! with FLUSHALL. Every mismatch is printed (line, command, Talus's reply, Redis's reply) before
//! the test fails. Without `redis-server` the tests skip, saying so. Setting
//! `TALUS_DIFF_SELF_CHECK=1` compares redis-server with a second redis-server instead, which
//! checks that the scripts and normalisers are deterministic.

mod common;
#[path = "differential/support.rs"]
mod support;

use std::net::SocketAddr;
use support::{parse, show, split_args, unparse, RawConn, RedisServer, Value};

/// How a reply pair is compared.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Norm {
    Exact,
    Sort,
    Tolerance(i64),
    Shape,
    Scan,
}

/// One script line.
struct Step {
    line: usize,
    text: String,
    norm: Norm,
    args: Vec<Vec<u8>>,
}

fn load(name: &str, script: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, raw) in script.lines().enumerate() {
        let text = raw.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let (head, rest) = text.split_once(' ').unwrap_or((text, ""));
        let (norm, rest) = match (head, rest) {
            ("@scan", r) => (Norm::Scan, r),
            ("@sort", r) => (Norm::Sort, r),
            ("@ttl", r) => (Norm::Tolerance(1), r),
            ("@pttl", r) => (Norm::Tolerance(1000), r),
            ("@shape", r) => (Norm::Shape, r),
            _ if text.starts_with('@') => panic!("{name}:{}: unknown directive in {text:?}", i + 1),
            _ => (Norm::Exact, text),
        };
        let args = split_args(rest)
            .unwrap_or_else(|| panic!("{name}:{}: unbalanced quotes in {text:?}", i + 1));
        assert!(
            norm == Norm::Scan || !args.is_empty(),
            "{name}:{}: empty command",
            i + 1
        );
        steps.push(Step {
            line: i + 1,
            text: text.to_string(),
            norm,
            args,
        });
    }
    steps
}

/// A connection that survives the server closing it (the mismatch is recorded; the next
/// command reconnects and re-selects the db the script is in).
struct Client {
    addr: SocketAddr,
    conn: Option<RawConn>,
    db: Vec<u8>,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            conn: None,
            db: b"0".to_vec(),
        }
    }

    fn request(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        if self.conn.is_none() {
            match RawConn::connect(self.addr) {
                Ok(mut c) => {
                    let _ = c.request(&[b"SELECT".to_vec(), self.db.clone()]);
                    self.conn = Some(c);
                }
                Err(e) => return format!("<cannot connect: {e}>").into_bytes(),
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return b"<no connection>".to_vec();
        };
        match conn.request(args) {
            Ok(r) => r,
            Err(e) => {
                self.conn = None;
                format!("<connection error: {e}>").into_bytes()
            }
        }
    }

    /// Runs `SCAN` to the end (bounded) and returns the sorted set of keys, or the first reply
    /// that was not a well-formed SCAN reply.
    fn scan_all(&mut self, rest: &[Vec<u8>]) -> Vec<u8> {
        let mut cursor = b"0".to_vec();
        let mut keys = Vec::new();
        for _ in 0..10_000 {
            let mut args = vec![b"SCAN".to_vec(), cursor.clone()];
            args.extend_from_slice(rest);
            let reply = self.request(&args);
            match parse(&reply) {
                Ok(Value::Array(Some(items))) if items.len() == 2 => {
                    let (Value::Bulk(Some(next)), Value::Array(Some(batch))) =
                        (&items[0], &items[1])
                    else {
                        return reply;
                    };
                    keys.extend(batch.iter().cloned());
                    if next == b"0" {
                        keys.sort();
                        keys.dedup();
                        return unparse(&Value::Array(Some(keys)));
                    }
                    cursor = next.clone();
                }
                _ => return reply,
            }
        }
        b"<SCAN did not finish in 10000 calls>".to_vec()
    }
}

fn shape(v: &Value) -> Value {
    match v {
        Value::Simple(_) => Value::Simple(b"?".to_vec()),
        Value::Error(e) => Value::Error(e.clone()),
        Value::Int(_) => Value::Int(0),
        Value::Bulk(b) => Value::Bulk(b.as_ref().map(|_| b"?".to_vec())),
        Value::Array(a) => Value::Array(a.as_ref().map(|items| items.iter().map(shape).collect())),
    }
}

fn same(norm: Norm, talus: &[u8], redis: &[u8]) -> bool {
    if talus == redis {
        return true;
    }
    let (Ok(t), Ok(r)) = (parse(talus), parse(redis)) else {
        return false;
    };
    match norm {
        Norm::Exact | Norm::Scan => false,
        Norm::Sort => match (t, r) {
            (Value::Array(Some(mut a)), Value::Array(Some(mut b))) => {
                a.sort();
                b.sort();
                a == b
            }
            _ => false,
        },
        Norm::Tolerance(tol) => match (t, r) {
            (Value::Int(a), Value::Int(b)) => a > 0 && b > 0 && (a - b).abs() <= tol,
            _ => false,
        },
        Norm::Shape => shape(&t) == shape(&r),
    }
}

/// Runs one script against Talus and redis-server; returns the number of commands and the
/// mismatches as printable reports.
fn run_script(name: &str, script: &str) -> Option<(usize, Vec<String>)> {
    let redis = match RedisServer::start() {
        Ok(r) => r,
        Err(reason) => {
            println!("SKIPPED differential script {name}: {reason}");
            return None;
        }
    };
    // Kept alive until the end of the run.
    let mut _talus = None;
    let mut _redis2 = None;
    let talus_addr = if std::env::var_os("TALUS_DIFF_SELF_CHECK").is_some() {
        let r2 = RedisServer::start().expect("second redis-server");
        let a = r2.addr;
        _redis2 = Some(r2);
        a
    } else {
        let t = common::TestServer::start(&[]);
        let a = t.addr;
        _talus = Some(t);
        a
    };
    let mut t = Client::new(talus_addr);
    let mut r = Client::new(redis.addr);
    let steps = load(name, script);
    let mut mismatches = Vec::new();
    for step in &steps {
        let (tr, rr) = if step.norm == Norm::Scan {
            (t.scan_all(&step.args), r.scan_all(&step.args))
        } else {
            (t.request(&step.args), r.request(&step.args))
        };
        let is_select = step
            .args
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case(b"SELECT"));
        if is_select && step.args.len() == 2 && rr == b"+OK\r\n" {
            t.db = step.args[1].clone();
            r.db = step.args[1].clone();
        }
        if !same(step.norm, &tr, &rr) {
            mismatches.push(format!(
                "{name}:{}: {}\n    talus: {}\n    redis: {}",
                step.line,
                step.text,
                show(&tr),
                show(&rr)
            ));
        }
    }
    Some((steps.len(), mismatches))
}

fn check(name: &str, script: &str) {
    let Some((count, mismatches)) = run_script(name, script) else {
        return;
    };
    for m in &mismatches {
        println!("MISMATCH {m}");
    }
    println!("{name}: {count} commands, {} mismatches", mismatches.len());
    assert!(
        mismatches.is_empty(),
        "{name}: {} of {count} replies differ from redis-server (printed above)",
        mismatches.len()
    );
}

#[test]
fn strings() {
    check("strings.txt", include_str!("differential/strings.txt"));
}

#[test]
fn numbers() {
    check("numbers.txt", include_str!("differential/numbers.txt"));
}

#[test]
fn ranges_and_bits() {
    check(
        "ranges_bits.txt",
        include_str!("differential/ranges_bits.txt"),
    );
}

#[test]
fn keys() {
    check("keys.txt", include_str!("differential/keys.txt"));
}

#[test]
fn expiry() {
    check("expiry.txt", include_str!("differential/expiry.txt"));
}

#[test]
fn blocking() {
    check("blocking.txt", include_str!("differential/blocking.txt"));
}

#[test]
fn errors() {
    check("errors.txt", include_str!("differential/errors.txt"));
}

/// The splitter and the normalisers themselves (no server needed).
#[test]
fn harness_self_test() {
    assert_eq!(
        split_args(r#"SET "a b" 'c\'d' "\x41\n" x"#).unwrap(),
        vec![
            b"SET".to_vec(),
            b"a b".to_vec(),
            b"c'd".to_vec(),
            b"A\n".to_vec(),
            b"x".to_vec()
        ]
    );
    assert!(split_args(r#"SET "a"b"#).is_none());
    assert!(split_args(r#"SET "a"#).is_none());
    assert!(same(Norm::Tolerance(1), b":10\r\n", b":9\r\n"));
    assert!(!same(Norm::Tolerance(1), b":-1\r\n", b":1\r\n"));
    assert!(!same(Norm::Tolerance(1), b":10\r\n", b":8\r\n"));
    assert!(same(
        Norm::Sort,
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    ));
    assert!(!same(
        Norm::Sort,
        b"*1\r\n$1\r\na\r\n",
        b"*1\r\n$1\r\nb\r\n"
    ));
    assert!(same(Norm::Shape, b"$1\r\na\r\n", b"$2\r\nbc\r\n"));
    assert!(!same(Norm::Shape, b"$1\r\na\r\n", b"$-1\r\n"));
    assert!(!same(Norm::Exact, b"+OK\r\n", b"+Ok\r\n"));
}

#[test]
fn lists() {
    check("lists.txt", include_str!("differential/lists.txt"));
}

#[test]
fn zsets() {
    check("zsets.txt", include_str!("differential/zsets.txt"));
}
