//! Typed queries for the suites that assert on converted replies: `q::<T>(&mut con, &["CMD",
//! ...])` and its usual shapes.
#![allow(dead_code)]

use redis::{Connection, FromRedisValue};

/// Redis's reply to a command on a key of another type.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Runs a command and converts its reply; panics (naming the command) on an error reply.
pub fn q<T: FromRedisValue>(con: &mut Connection, args: &[&str]) -> T {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// A command whose reply is an integer.
pub fn int(con: &mut Connection, args: &[&str]) -> i64 {
    q(con, args)
}

/// A command whose reply is an array of strings.
pub fn strs(con: &mut Connection, args: &[&str]) -> Vec<String> {
    q(con, args)
}

/// `v` in ascending order (for replies whose order is unspecified).
pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
