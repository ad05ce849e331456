//! The server under test for suites whose expectations can be checked against Redis itself
//! (Talus, or redis-server with `TALUS_TEST_REDIS=1`), and terse reply helpers.
#![allow(dead_code)]

use super::{err_text, RefRedis, TestServer};
use redis::Value;
use std::time::Duration;

/// The server under test: Talus, or redis-server with `TALUS_TEST_REDIS=1` (to check the
/// expectations themselves).
pub enum Srv {
    /// Talus.
    Talus(TestServer),
    /// The reference redis-server.
    Redis(RefRedis),
}

impl Srv {
    pub fn conn(&self) -> redis::Connection {
        match self {
            Srv::Talus(t) => t.conn(),
            Srv::Redis(r) => redis::Client::open(r.url())
                .expect("client")
                .get_connection_with_timeout(Duration::from_secs(10))
                .expect("connect"),
        }
    }
}

pub fn server() -> Srv {
    if std::env::var_os("TALUS_TEST_REDIS").is_some() {
        Srv::Redis(
            RefRedis::start().expect("TALUS_TEST_REDIS is set but redis-server did not start"),
        )
    } else {
        Srv::Talus(TestServer::start(&[]))
    }
}

// ---- helpers ---------------------------------------------------------------------------------

pub fn run(con: &mut redis::Connection, args: &[&[u8]]) -> Result<Value, String> {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query::<Value>(con).map_err(|e| err_text(&e))
}

/// Runs a command given as text words.
pub fn r(con: &mut redis::Connection, args: &[&str]) -> Value {
    let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    run(con, &raw).unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

pub fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

pub fn int(n: i64) -> Value {
    Value::Int(n)
}

pub fn arr(items: Vec<Value>) -> Value {
    Value::Array(items)
}

pub fn ok() -> Value {
    Value::Okay
}

pub fn pttl(con: &mut redis::Connection, key: &str) -> i64 {
    match r(con, &["PTTL", key]) {
        Value::Int(n) => n,
        other => panic!("PTTL gave {other:?}"),
    }
}
