//! Argument parsing shared by the command families, with Redis's error texts.

use crate::error::{Error, Result};
use crate::util::number;
use bytes::Bytes;

/// Parses an integer argument (`ERR value is not an integer or out of range`).
pub fn int(arg: &[u8]) -> Result<i64> {
    number::parse_i64(arg).ok_or(Error::NotInteger)
}

/// Parses a float argument (`ERR value is not a valid float`).
pub fn float(arg: &[u8]) -> Result<f64> {
    number::parse_f64(arg).ok_or(Error::NotFloat)
}

/// True when `arg` equals `word`, ignoring ASCII case.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Parses a database index for SELECT/MOVE/COPY: `ERR value is not an integer or out of
/// range` for a non-number, `ERR DB index is out of range` outside `0..databases`.
pub fn db_index(arg: &[u8], databases: u16) -> Result<u16> {
    let n = int(arg)?;
    if n < 0 || n >= databases as i64 {
        return Err(Error::DbIndexOutOfRange);
    }
    Ok(n as u16)
}

/// The argument as UTF-8 text (lossy), for messages.
pub fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// Copies an argument into an owned `Bytes` (cheap: arguments are already `Bytes`).
pub fn owned(arg: &Bytes) -> Bytes {
    arg.clone()
}

/// Parses a cursor as Redis does (`strtoul` on the C string: a sign is allowed and a negative
/// number wraps, the empty string is 0; leading space, junk or overflow: `ERR invalid cursor`).
pub fn parse_cursor(arg: &[u8]) -> Result<u64> {
    let invalid = || Error::err("invalid cursor");
    let s = arg.split(|&b| b == 0).next().unwrap_or_default();
    let Some(&first) = s.first() else {
        return Ok(0);
    };
    let (neg, digits) = match first {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut n: u64 = 0;
    for &d in digits {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add((d - b'0') as u64))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { n.wrapping_neg() } else { n })
}
