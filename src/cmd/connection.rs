//! Connection commands: PING, ECHO, SELECT, QUIT, AUTH and HELLO, with Redis 7.0's replies and
//! error texts (CLIENT is in [`super::client`]).
//!
//! They change only the session, which travels with every batch to the executor and back, so
//! `SELECT 1` or `AUTH` in the middle of a pipeline applies to exactly the commands after it, and
//! nothing after QUIT runs (the service stops at the `Flow::Close` QUIT returns).
//!
//! Authentication is Redis's single `default` user: with `requirepass` set, `AUTH <password>`
//! or `AUTH default <password>`; without it the default user takes any password (`AUTH default
//! x` succeeds, `AUTH x` is refused with Redis's hint). HELLO answers with Redis's map, as a
//! flat array (RESP2); `HELLO 3` is refused with NOPROTO until the RESP3 encoder lands
//! ([`MAX_PROTO`]). CLIENT SETINFO is Redis 7.2's (the `redis` crate sends it on connect).

use super::keyless as spec;
use super::{args, flags::*, CommandSpec, Exec};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::session::Session;
use bytes::Bytes;
use talus_actors::Flow;

/// The highest protocol version HELLO accepts (3 once the RESP3 encoder exists).
pub const MAX_PROTO: i64 = 2;

/// The Redis version Talus answers as (HELLO, INFO).
pub const REDIS_VERSION: &str = "7.0.15";

/// The connection commands (arity and flags as Redis 7.0's COMMAND reports them).
pub static COMMANDS: &[CommandSpec] = &[
    spec("ping", -1, FAST | SUB_OK, ping),
    spec("echo", 2, LOADING | STALE | FAST, echo),
    spec("select", 2, LOADING | STALE | FAST, select),
    spec(
        "quit",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | SUB_OK,
        quit,
    ),
    spec(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        auth,
    ),
    spec(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        hello,
    ),
];

/// `PING [message]`.
fn ping(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    if ex.session.subscribed() && ex.session.resp == 2 {
        // In the pub/sub context a RESP2 PING answers with a push-shaped array.
        return match args.len() {
            1 | 2 => Ok(Reply::Array(vec![
                Reply::Bulk(Bytes::from_static(b"pong")),
                Reply::Bulk(args.get(1).cloned().unwrap_or_default()),
            ])),
            _ => Err(Error::Arity("ping".into())),
        };
    }
    match args.len() {
        1 => Ok(Reply::simple("PONG")),
        2 => Ok(Reply::Bulk(args[1].clone())),
        _ => Err(Error::Arity("ping".into())),
    }
}

/// `ECHO message`.
fn echo(_ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Bulk(args[1].clone()))
}

/// `SELECT index`: Redis reads an `int` (its own range error), then checks the database.
fn select(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let id = args::int(&args[1])?;
    if id < i32::MIN as i64 || id > i32::MAX as i64 {
        return Err(Error::err(
            "value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    if id < 0 || id >= ex.shared.config.databases() as i64 {
        return Err(Error::DbIndexOutOfRange);
    }
    ex.session.db = id as u16;
    Ok(Reply::ok())
}

/// `QUIT`: OK, then the connection closes; nothing after it in the pipeline runs.
fn quit(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    ex.flow = Flow::Close;
    Ok(Reply::ok())
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Checks a user name and password against the `default` user: with `requirepass` unset it
/// takes any password (Redis's `nopass`). Marks the session authenticated on success; a failure
/// leaves the session as it was.
fn authenticate(ex: &mut Exec<'_, '_>, user: &[u8], pass: &[u8]) -> Result<()> {
    let ok = user == b"default"
        && match ex.shared.config.requirepass() {
            None => true,
            Some(pw) => constant_time_eq(&pw, pass),
        };
    if !ok {
        return Err(Error::raw(WRONGPASS));
    }
    ex.session.authenticated = true;
    Ok(())
}

/// Compares without an early exit, so the time taken says nothing about the password.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() != b.len()) as u8;
    for (i, &x) in a.iter().enumerate() {
        diff |= x ^ b.get(i).copied().unwrap_or(!x);
    }
    diff == 0
}

/// `AUTH [username] password`.
fn auth(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    match args.len() {
        2 => {
            if ex.shared.config.requirepass().is_none() {
                return Err(Error::err(
                    "AUTH <password> called without any password configured for the default \
                     user. Are you sure your configuration is correct?",
                ));
            }
            authenticate(ex, b"default", &args[1])?;
        }
        3 => authenticate(ex, &args[1], &args[2])?,
        _ => return Err(Error::Syntax),
    }
    Ok(Reply::ok())
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`.
struct Hello {
    proto: Option<i64>,
    auth: Option<(Bytes, Bytes)>,
    setname: Option<Bytes>,
}

impl Hello {
    fn parse(args: &[Bytes]) -> Result<Hello> {
        let mut hello = Hello {
            proto: None,
            auth: None,
            setname: None,
        };
        if args.len() < 2 {
            return Ok(hello);
        }
        let ver = args::int(&args[1])
            .map_err(|_| Error::err("Protocol version is not an integer or out of range"))?;
        if !(2..=MAX_PROTO).contains(&ver) {
            return Err(Error::raw("NOPROTO unsupported protocol version"));
        }
        hello.proto = Some(ver);
        let mut i = 2;
        while i < args.len() {
            let more = args.len() - 1 - i;
            if args::is(&args[i], "auth") && more >= 2 {
                hello.auth = Some((args[i + 1].clone(), args[i + 2].clone()));
                i += 3;
            } else if args::is(&args[i], "setname") && more >= 1 {
                hello.setname = Some(args[i + 1].clone());
                i += 2;
            } else {
                return Err(Error::err(format!(
                    "Syntax error in HELLO option '{}'",
                    args::text(&args[i])
                )));
            }
        }
        Ok(hello)
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        if let Some((user, pass)) = &self.auth {
            authenticate(ex, user, pass)?;
        }
        if ex.shared.config.auth_required(ex.session.authenticated) {
            return Err(Error::raw(
                "NOAUTH HELLO must be called with the client already authenticated, otherwise \
                 the HELLO AUTH <user> <pass> option can be used to authenticate the client and \
                 select the RESP protocol version at the same time",
            ));
        }
        if let Some(name) = self.setname {
            set_name(ex.session, name)?;
        }
        if let Some(proto) = self.proto {
            ex.session.resp = proto as u8;
        }
        let s = |t: &'static str| Reply::Bulk(Bytes::from_static(t.as_bytes()));
        Ok(Reply::Map(vec![
            (s("server"), s("redis")),
            (s("version"), s(REDIS_VERSION)),
            (s("proto"), Reply::Integer(ex.session.resp as i64)),
            (s("id"), Reply::Integer(ex.session.id as i64)),
            (s("mode"), s("standalone")),
            (s("role"), s("master")),
            (s("modules"), Reply::Array(vec![])),
        ]))
    }
}

fn hello(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Hello::parse(args)?.apply(ex)
}

/// True when every byte is printable ASCII other than space (Redis's check for client names
/// and library info, so CLIENT LIST stays splittable on spaces).
pub(crate) fn valid_attr(v: &[u8]) -> bool {
    v.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// Sets or (with an empty name) clears the client name.
pub(crate) fn set_name(session: &mut Session, name: Bytes) -> Result<()> {
    if !valid_attr(&name) {
        return Err(Error::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    session.name = (!name.is_empty()).then_some(name);
    Ok(())
}

/// Redis's `addReplyHelp`: a header, the lines, and HELP's own entry, as status replies.
pub fn help_reply(command: &str, lines: &[&str]) -> Reply {
    let mut out = vec![Reply::Simple(
        format!("{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").into(),
    )];
    out.extend(lines.iter().map(|l| Reply::Simple(l.to_string().into())));
    out.push(Reply::simple("HELP"));
    out.push(Reply::simple("    Prints this help."));
    Reply::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_charset() {
        assert!(valid_attr(b"redis-rs"));
        assert!(valid_attr(b""));
        assert!(!valid_attr(b"a b"));
        assert!(!valid_attr(b"a\nb"));
        assert!(!valid_attr("é".as_bytes()));
    }

    #[test]
    fn password_compare() {
        assert!(constant_time_eq(b"pw", b"pw"));
        assert!(!constant_time_eq(b"pw", b"pW"));
        assert!(!constant_time_eq(b"pw", b"pw2"));
        assert!(!constant_time_eq(b"pw2", b"pw"));
        assert!(constant_time_eq(b"", b""));
    }
}
