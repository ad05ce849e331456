//! SLOWLOG GET / LEN / RESET / HELP, with Redis 7.0's replies and error texts. The log itself
//! (what is logged, how arguments are cut) is kept by [`crate::calls::Calls`].

use super::keyless as sub;
use super::{flags::*, CommandSpec, Exec};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::util::number::parse_i64;
use bytes::Bytes;

/// SLOWLOG (arity and flags as Redis 7.0's COMMAND reports them).
pub static COMMANDS: &[CommandSpec] = &[super::container_spec("slowlog", SLOWLOG)];

static SLOWLOG: &[CommandSpec] = &[
    sub("slowlog|get", -2, ADMIN | LOADING | STALE, get),
    sub("slowlog|len", 2, ADMIN | LOADING | STALE, len),
    sub("slowlog|reset", 2, ADMIN | LOADING | STALE, reset),
    sub("slowlog|help", 2, LOADING | STALE, help),
];

/// Entries SLOWLOG GET returns without a count.
const DEFAULT_COUNT: usize = 10;

/// `SLOWLOG GET [count]`: the newest `count` entries (10 by default, -1 for all), each
/// `[id, unix time, µs, [args...], "ip:port", "client-name"]`.
fn get(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    if args.len() > 3 {
        // Redis's addReplySubcommandSyntaxError (the subcommand as typed).
        let typed = String::from_utf8_lossy(&args[1][..args[1].len().min(128)]).into_owned();
        return Err(Error::Other(
            format!(
                "ERR unknown subcommand or wrong number of arguments for '{typed}'. Try SLOWLOG HELP."
            )
            .into(),
        ));
    }
    let count = match args.get(2) {
        None => DEFAULT_COUNT,
        Some(arg) => match parse_i64(arg) {
            Some(-1) => usize::MAX,
            Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => return Err(Error::err("count should be greater than or equal to -1")),
        },
    };
    let entries = ex.shared.calls.slowlog_get(count);
    Ok(Reply::Array(
        entries
            .into_iter()
            .map(|e| {
                Reply::Array(vec![
                    Reply::Integer(e.id as i64),
                    Reply::Integer(e.time as i64),
                    Reply::Integer(e.micros.min(i64::MAX as u64) as i64),
                    Reply::Array(e.args.into_iter().map(Reply::Bulk).collect()),
                    Reply::Bulk(Bytes::from(e.peer)),
                    Reply::Bulk(e.name),
                ])
            })
            .collect(),
    ))
}

/// `SLOWLOG LEN`.
fn len(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(ex.shared.calls.slowlog_len() as i64))
}

/// `SLOWLOG RESET`: empties the log (entry ids keep counting).
fn reset(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    ex.shared.calls.slowlog_reset();
    Ok(Reply::ok())
}

/// `SLOWLOG HELP`.
fn help(_ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(super::connection::help_reply(
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    ))
}
