//! Number parsing and formatting with Redis 7.0 semantics.
//!
//! | Talus          | Redis 7.0                                             |
//! |----------------|-------------------------------------------------------|
//! | [`parse_i64`]  | `util.c` `string2ll()` (INCRBY, EXPIRE, LRANGE, ...)  |
//! | [`parse_u64`]  | `util.c` `string2ull()` (stream IDs)                  |
//! | [`parse_f64`]  | `object.c` `getDoubleFromObject()` / `util.c` `string2d()` (ZADD scores, ...) |
//! | [`fmt_i64`]    | `util.c` `ll2string()`                                |
//!
//! [`parse_f64`] calls libc's `strtod` (through `ldouble.c`) so that every
//! accepted spelling (hex floats, `inf`, `infinity`, exponents, ...) and every
//! rounding decision is exactly the one Redis makes.

use std::os::raw::{c_char, c_int};

extern "C" {
    fn talus_string2d(s: *const c_char, slen: usize, dp: *mut f64) -> c_int;
}

/// Parses a signed 64-bit integer exactly like Redis `string2ll()`.
///
/// Accepted: `0`, or an optional `-` followed by a digit `1`-`9` and more
/// digits, fitting in `i64`. Rejected: empty input, a leading `+`, leading or
/// trailing spaces, leading zeros (`"01"`), `"-0"`, a lone `"-"`, any other
/// byte, and values out of range.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    // Redis: LONG_STR_SIZE (21); no valid input is that long anyway.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        if v > i64::MIN.unsigned_abs() {
            return None;
        }
        Some(0i64.wrapping_sub_unsigned(v))
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses an unsigned 64-bit integer exactly like Redis `string2ull()`
/// (used for stream IDs).
///
/// Redis works on a C string, so the input is first cut at its first NUL
/// byte. Then: if [`parse_i64`] accepts it, a negative value is rejected and
/// a non-negative one returned. Otherwise `strtoull(s, &end, 10)` semantics
/// apply: optional leading whitespace, an optional `+` or `-` (a `-` negates
/// modulo 2^64), leading zeros allowed, at least one digit, nothing after the
/// digits, and no overflow.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    let s = match s.iter().position(|&b| b == 0) {
        Some(nul) => &s[..nul],
        None => s,
    };
    if let Some(v) = parse_i64(s) {
        return u64::try_from(v).ok();
    }
    // strtoull: skip C-locale isspace().
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        // Either no conversion (end pointer == start) or trailing junk.
        return None;
    }
    let mut v: u64 = 0;
    for &b in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// Parses a double exactly like Redis `getDoubleFromObject()` on a string
/// value (the same checks as `string2d()`): libc `strtod` must consume the
/// whole input, the first byte must not be whitespace, the result must not
/// be NaN, and an out-of-range input (overflow to ±inf or underflow to 0) is
/// rejected. `inf`, `+inf`, `-inf`, `infinity` (any case), hex floats such as
/// `0x10`, `.5` and `5.` are accepted, as `strtod` does.
///
/// The caller maps `None` to `ERR value is not a valid float`.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let mut out = 0.0f64;
    // SAFETY: the pointer/length pair describes `s`; the C side copies it
    // into its own NUL-terminated buffer and writes only to `out`.
    let ok = unsafe { talus_string2d(s.as_ptr().cast::<c_char>(), s.len(), &mut out) };
    (ok != 0).then_some(out)
}

/// Decimal digits of an `i64`, produced without allocation; see [`fmt_i64`].
#[derive(Clone, Copy)]
pub struct I64Buf {
    buf: [u8; 20],
    start: u8,
}

impl I64Buf {
    /// The formatted bytes, e.g. `b"-42"`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[usize::from(self.start)..]
    }
}

impl AsRef<[u8]> for I64Buf {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::fmt::Debug for I64Buf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// Formats an `i64` in decimal like Redis `ll2string()` (plain digits, `-`
/// for negatives, no padding), without allocating. Use
/// `out.extend_from_slice(fmt_i64(v).as_bytes())` to append to a `Vec<u8>`
/// or `BytesMut`.
pub fn fmt_i64(v: i64) -> I64Buf {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        pos -= 1;
        // n % 10 < 10, so the cast cannot truncate.
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    I64Buf {
        buf,
        // pos <= 20
        start: pos as u8,
    }
}

/// How many small integers have a shared spelling ([`shared_int`]), as Redis's
/// `OBJ_SHARED_INTEGERS`.
pub const SHARED_INTS: usize = 10_000;

/// The decimal spellings of 0..[`SHARED_INTS`] back to back: 10 one-digit, 90 two-digit, 900
/// three-digit and 9 000 four-digit numbers.
const SHARED_LEN: usize = 10 + 90 * 2 + 900 * 3 + 9_000 * 4;

static SHARED_DIGITS: [u8; SHARED_LEN] = shared_digits();

const fn shared_digits() -> [u8; SHARED_LEN] {
    let mut out = [0u8; SHARED_LEN];
    let (mut n, mut at) = (0, 0);
    while n < SHARED_INTS {
        let len = digits(n);
        let mut i = len;
        let mut v = n;
        while i > 0 {
            i -= 1;
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        at += len;
        n += 1;
    }
    out
}

/// Decimal digits of `n` (< [`SHARED_INTS`]).
const fn digits(n: usize) -> usize {
    match n {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        _ => 4,
    }
}

/// Where `n`'s spelling starts in [`SHARED_DIGITS`].
const fn shared_offset(n: usize) -> usize {
    match n {
        0..=9 => n,
        10..=99 => 10 + (n - 10) * 2,
        100..=999 => 190 + (n - 100) * 3,
        _ => 2_890 + (n - 1_000) * 4,
    }
}

/// `v` spelled in decimal as a `Bytes` that points into a static table, for 0 <= v < 10 000:
/// a counter's new value (INCR) or a small cached string then costs no allocation, as Redis's
/// shared integer objects do. `None` for other values.
pub fn shared_int(v: i64) -> Option<bytes::Bytes> {
    let n = usize::try_from(v).ok().filter(|&n| n < SHARED_INTS)?;
    let at = shared_offset(n);
    Some(bytes::Bytes::from_static(
        &SHARED_DIGITS[at..at + digits(n)],
    ))
}

/// [`shared_int`] of a string that spells such a number exactly as [`fmt_i64`] would (no
/// sign, no leading zero): `None` for anything else, which the caller copies.
pub fn shared_int_of(s: &[u8]) -> Option<bytes::Bytes> {
    if s.is_empty() || s.len() > 4 || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    let mut n = 0i64;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(b - b'0');
    }
    shared_int(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shared_ints_spell_every_number_below_ten_thousand() {
        for n in 0..SHARED_INTS as i64 {
            let s = shared_int(n).unwrap();
            assert_eq!(&s[..], fmt_i64(n).as_bytes(), "{n}");
            assert_eq!(shared_int_of(&s).as_deref(), Some(&s[..]), "{n}");
        }
        assert_eq!(shared_int(-1), None);
        assert_eq!(shared_int(SHARED_INTS as i64), None);
        for odd in [
            &b""[..],
            b"01",
            b"00",
            b"-1",
            b"+1",
            b"1a",
            b" 1",
            b"10000",
            b"99999",
        ] {
            assert_eq!(shared_int_of(odd), None, "{odd:?}");
        }
    }

    // Expectations verified against redis-server 7.0.15 (INCRBY on a fresh
    // key: accepted values echo back, the rest give "ERR value is not an
    // integer or out of range").
    #[test]
    fn parse_i64_cases() {
        let ok: &[(&[u8], i64)] = &[
            (b"0", 0),
            (b"1", 1),
            (b"-1", -1),
            (b"99", 99),
            (b"-99", -99),
            (b"9223372036854775807", i64::MAX),
            (b"-9223372036854775808", i64::MIN),
            (b"1234567890", 1234567890),
        ];
        for (s, v) in ok {
            assert_eq!(parse_i64(s), Some(*v), "{:?}", String::from_utf8_lossy(s));
        }
        let bad: &[&[u8]] = &[
            b"",
            b"-",
            b"+1",
            b" 1",
            b"1 ",
            b"01",
            b"00",
            b"-0",
            b"-01",
            b"007",
            b"1a",
            b"1.0",
            b"1e3",
            b"0x10",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"99999999999999999999",
            b"-99999999999999999999",
            b"100000000000000000000",
            b"1\x002",
            b"--1",
            b"\xff",
        ];
        for s in bad {
            assert_eq!(parse_i64(s), None, "{:?}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn parse_u64_cases() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b"-0"), Some(0));
        assert_eq!(parse_u64(b"007"), Some(7));
        assert_eq!(parse_u64(b" +7"), Some(7));
        assert_eq!(parse_u64(b"7 "), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b" "), None);
        assert_eq!(parse_u64(b"+"), None);
        assert_eq!(parse_u64(b"12\x00junk"), Some(12));
        assert_eq!(parse_u64(b"-18446744073709551615"), Some(1));
        assert_eq!(parse_u64(b"9223372036854775808"), Some(1 << 63));
    }

    // Verified against redis-server 7.0.15 with ZADD/ZSCORE.
    #[test]
    fn parse_f64_cases() {
        let ok: &[(&[u8], f64)] = &[
            (b"1", 1.0),
            (b"1.5", 1.5),
            (b"-1.5", -1.5),
            (b"+1.5", 1.5),
            (b".5", 0.5),
            (b"5.", 5.0),
            (b"1e3", 1000.0),
            (b"1E+3", 1000.0),
            (b"0x10", 16.0),
            (b"0X1p-2", 0.25),
            (b"inf", f64::INFINITY),
            (b"+inf", f64::INFINITY),
            (b"-inf", f64::NEG_INFINITY),
            (b"Infinity", f64::INFINITY),
            (b"-INF", f64::NEG_INFINITY),
            (b"1e308", 1e308),
            (b"007", 7.0),
        ];
        for (s, v) in ok {
            assert_eq!(parse_f64(s), Some(*v), "{:?}", String::from_utf8_lossy(s));
        }
        assert!(parse_f64(b"-0").unwrap().is_sign_negative());
        // Subnormal results are accepted even though strtod sets ERANGE.
        assert_eq!(parse_f64(b"1e-310"), Some(1e-310));
        let bad: &[&[u8]] = &[
            b"", b" 1", b"\t1", b"1 ", b"1x", b"nan", b"-nan", b"NaN", b"1e", b"e1", b".", b"-",
            b"1e309", b"-1e309", b"1e-400", b"1\x00", b"1\x002", b"infinit", b"0x", b"abc",
        ];
        for s in bad {
            assert_eq!(parse_f64(s), None, "{:?}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn fmt_i64_cases() {
        for v in [0, 1, -1, 10, -10, 1234567890, i64::MAX, i64::MIN] {
            assert_eq!(fmt_i64(v).as_bytes(), v.to_string().as_bytes());
        }
    }

    proptest! {
        #[test]
        fn i64_roundtrip(v in any::<i64>()) {
            prop_assert_eq!(parse_i64(fmt_i64(v).as_bytes()), Some(v));
        }

        #[test]
        fn parse_i64_agrees_with_canonical_form(s in "-?[0-9]{0,21}") {
            let expect = s.parse::<i64>().ok().filter(|v| v.to_string() == s);
            prop_assert_eq!(parse_i64(s.as_bytes()), expect);
        }

        #[test]
        fn parse_never_panics(s in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_i64(&s);
            let _ = parse_u64(&s);
            let _ = parse_f64(&s);
        }
    }
}
