//! Per-command accounting: INFO commandstats and errorstats, and the SLOWLOG.
//!
//! The dispatcher reports every command it resolved and ran ([`Calls::executed`]) and every
//! command it refused before running it ([`Calls::rejected`]).

use crate::cmd::CommandSpec;
use crate::session::Session;
use bytes::Bytes;

/// Command statistics, error statistics and the slow log.
#[derive(Default)]
pub struct Calls {}

impl Calls {
    /// A command ran: `micros` is how long its handler took; `error` is the text of the error
    /// it answered (code included, e.g. `WRONGTYPE Operation ...`), if it failed.
    pub fn executed(
        &self,
        _spec: &'static CommandSpec,
        _args: &[Bytes],
        _session: &Session,
        _micros: u64,
        _error: Option<&str>,
    ) {
    }

    /// A command was refused before it ran (unknown command or subcommand, arity, NOAUTH,
    /// a command not allowed in the client's state); `spec` is known unless the command is.
    /// `error` is the error text sent.
    pub fn rejected(&self, _spec: Option<&'static CommandSpec>, _error: &str) {}
}
