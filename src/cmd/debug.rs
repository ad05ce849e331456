//! DEBUG: only `DEBUG SLEEP <seconds>` (a way to hold a command in flight, as in Redis's own
//! tests) and `DEBUG HELP`; every other subcommand answers Redis's unknown-subcommand error.
//!
//! As in Redis 7.0, DEBUG is refused unless `enable-debug-command` (fixed at start) is `yes`,
//! or `local` and the client connected from 127.0.0.1 or ::1; the refusal counts as a rejected
//! call. DEBUG SLEEP sleeps on the executor thread that runs it, so like Redis it stalls every
//! client served by that executor. Its argument is read as C's `strtod` reads it: the longest
//! number at the start (`abc` is 0, no sleep); negative or out-of-range values do not sleep.

use super::{args, flags::*, CommandSpec, Exec, KeySpec, Locking};
use crate::error::{Error, Result};
use crate::reply::Reply;
use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// DEBUG (arity and flags as Redis 7.0's COMMAND reports them).
pub static COMMANDS: &[CommandSpec] = &[super::spec(
    "debug",
    -2,
    ADMIN | NOSCRIPT | LOADING | STALE,
    KeySpec::NONE,
    Locking::None,
    debug,
)];

const NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is \
                           set to \"local\", you can run it from a local connection, otherwise \
                           you need to set this option in the configuration file, and then \
                           restart the server.";

/// `DEBUG <subcommand> ...`.
fn debug(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    if !allowed(ex) {
        ex.shared.calls.mark_rejected();
        return Err(Error::raw(NOT_ALLOWED));
    }
    let sub = &args[1];
    if args::is(sub, "sleep") && args.len() == 3 {
        let micros = strtod(&args[2]) * 1_000_000.0;
        // Redis converts to `long long`: out of range (inf, NaN, huge) comes out negative on
        // the usual platforms, and nanosleep then returns at once.
        if micros.is_finite() && micros >= 1.0 && micros < i64::MAX as f64 {
            std::thread::sleep(Duration::from_micros(micros as u64));
        }
        return Ok(Reply::ok());
    }
    if args::is(sub, "help") && args.len() == 2 {
        return Ok(super::connection::help_reply(
            "DEBUG",
            &[
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
            ],
        ));
    }
    let typed = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    Err(Error::Other(
        format!(
            "ERR unknown subcommand or wrong number of arguments for '{typed}'. Try DEBUG HELP."
        )
        .into(),
    ))
}

/// Redis's `allowProtectedAction` for `enable-debug-command`.
fn allowed(ex: &Exec<'_, '_>) -> bool {
    match ex.shared.config.value("enable-debug-command").as_deref() {
        Some("yes") => true,
        Some("local") => {
            let ip = ex.session.peer.ip();
            ip == IpAddr::V4(Ipv4Addr::LOCALHOST) || ip == IpAddr::V6(Ipv6Addr::LOCALHOST)
        }
        _ => false,
    }
}

/// C's `strtod` on a whole argument: the value of the longest number at its start (after
/// leading whitespace), 0 when there is none.
fn strtod(arg: &[u8]) -> f64 {
    let start = arg
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(arg.len());
    let text = &arg[start..arg.len().min(start + 64)];
    (1..=text.len())
        .rev()
        .find_map(|n| {
            let s = std::str::from_utf8(&text[..n]).ok()?;
            // Rust also takes "infinity"/"nan" as strtod does; it takes no hex floats.
            s.parse::<f64>().ok()
        })
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::strtod;

    #[test]
    fn strtod_prefixes() {
        assert_eq!(strtod(b"0.05"), 0.05);
        assert_eq!(strtod(b" 1.5x"), 1.5);
        assert_eq!(strtod(b"abc"), 0.0);
        assert_eq!(strtod(b"-1"), -1.0);
        assert_eq!(strtod(b"2e-3s"), 0.002);
        assert_eq!(strtod(b""), 0.0);
    }
}
