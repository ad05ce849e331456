//! Command errors, each with Redis 7.0's exact text.

use crate::reply::Reply;
use std::borrow::Cow;

/// An error a command answers with. `Display` is the full reply text, code included.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key holds another type.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// An argument or value is not a 64-bit integer.
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// An argument or value is not a float.
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// Options that do not fit together.
    #[error("ERR syntax error")]
    Syntax,
    /// The key does not exist (RENAME and friends).
    #[error("ERR no such key")]
    NoSuchKey,
    /// An arithmetic result does not fit in 64 bits.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// `SELECT`/`MOVE`/`COPY` to a database that does not exist.
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    /// A wrong number of arguments; holds the lower-case command name (`config|get`).
    #[error("ERR wrong number of arguments for '{0}' command")]
    Arity(String),
    /// Any other error: the full text, code included (`ERR ...`, `NOAUTH ...`).
    #[error("{0}")]
    Other(Cow<'static, str>),
    /// RocksDB failed.
    #[error("ERR storage error: {0}")]
    Storage(#[from] rocksdb::Error),
}

impl Error {
    /// An `ERR`-coded error with the given message (without the code).
    pub fn err(msg: impl std::fmt::Display) -> Error {
        Error::Other(Cow::Owned(format!("ERR {msg}")))
    }

    /// An error with a full static text, code included.
    pub const fn raw(text: &'static str) -> Error {
        Error::Other(Cow::Borrowed(text))
    }
}

impl From<Error> for Reply {
    fn from(e: Error) -> Reply {
        match e {
            Error::Other(text) => Reply::Error(text),
            other => Reply::Error(Cow::Owned(other.to_string())),
        }
    }
}

/// The result of a command or a storage operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
