//! Float formatting and `long double` arithmetic with Redis 7.0 semantics.
//!
//! | Talus                     | Redis 7.0                                              |
//! |---------------------------|--------------------------------------------------------|
//! | [`fmt_double`]            | `networking.c` `addReplyDouble()` (`%.17g`; ZSCORE, ZINCRBY, ...) |
//! | [`incr_by_float`]         | `t_string.c` `incrbyfloatCommand()`: `string2ld()` + add + `ld2string(LD_STR_HUMAN)` |
//! | [`hincr_by_float`]        | `t_hash.c` `hincrbyfloatCommand()`, same arithmetic     |
//! | [`parse_long_double_ok`]  | `util.c` `string2ld()`                                  |
//!
//! Redis does INCRBYFLOAT in C `long double` (80-bit extended precision on
//! x86_64) and prints with `%.17Lf`; Rust has no such type, so the parse,
//! the addition and the formatting run in `ldouble.c`, compiled by
//! `build.rs`, using the same libc calls (`strtold`, `snprintf`) as Redis.

use std::os::raw::{c_char, c_int};

extern "C" {
    fn talus_string2ld_ok(s: *const c_char, slen: usize) -> c_int;
    fn talus_incrbyfloat(
        cur: *const c_char,
        curlen: usize,
        has_cur: c_int,
        incr: *const c_char,
        incrlen: usize,
        reject_inf_incr: c_int,
        out: *mut c_char,
        outcap: usize,
    ) -> c_int;
}

/// Redis `MAX_LONG_DOUBLE_CHARS`: the size of the buffers Redis uses for
/// `long double` text. Inputs of this length or longer are not valid floats.
pub const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Formats a double the way Redis 7.0 replies with one (`addReplyDouble`):
/// `inf` / `-inf` for infinities, otherwise C `printf("%.17g")`.
///
/// Examples: `1.1` → `"1.1000000000000001"`, `0.0` → `"0"`, `-0.0` → `"-0"`,
/// `1e20` → `"1e+20"`, `1e16` → `"10000000000000000"`, `0.5` → `"0.5"`.
/// (NaN gives glibc's `"nan"` / `"-nan"`; Redis never stores NaN scores.)
pub fn fmt_double(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    // "%.17g" needs at most 24 bytes ("-1.2345678901234567e-308").
    let mut buf = [0u8; 64];
    // SAFETY: `buf` is writable for `buf.len()` bytes, the format string is
    // NUL-terminated and consumes exactly one double argument.
    let n = unsafe {
        libc::snprintf(
            buf.as_mut_ptr().cast::<c_char>(),
            buf.len(),
            c"%.17g".as_ptr(),
            f,
        )
    };
    let n = usize::try_from(n).unwrap_or(0).min(buf.len() - 1);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Why an INCRBYFLOAT / HINCRBYFLOAT could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrFloatError {
    /// The stored value does not parse as a float.
    /// INCRBYFLOAT: `ERR value is not a valid float`;
    /// HINCRBYFLOAT: `ERR hash value is not a float`.
    InvalidCurrent,
    /// The increment does not parse as a float: `ERR value is not a valid float`.
    InvalidIncrement,
    /// The increment parsed as ±infinity; only [`hincr_by_float`] reports
    /// this: `ERR value is NaN or Infinity`.
    IncrementNotFinite,
    /// The sum is NaN or infinite: `ERR increment would produce NaN or Infinity`.
    NanOrInfinity,
}

fn incr_impl(
    current: Option<&[u8]>,
    incr: &[u8],
    reject_inf_incr: bool,
) -> Result<Vec<u8>, IncrFloatError> {
    let mut out = vec![0u8; MAX_LONG_DOUBLE_CHARS];
    let cur = current.unwrap_or(&[]);
    // SAFETY: each pointer/length pair describes a live slice; the C side
    // copies inputs into its own buffers and writes at most `out.len()` bytes.
    let rc = unsafe {
        talus_incrbyfloat(
            cur.as_ptr().cast::<c_char>(),
            cur.len(),
            c_int::from(current.is_some()),
            incr.as_ptr().cast::<c_char>(),
            incr.len(),
            c_int::from(reject_inf_incr),
            out.as_mut_ptr().cast::<c_char>(),
            out.len(),
        )
    };
    match rc {
        -1 => Err(IncrFloatError::InvalidCurrent),
        -2 => Err(IncrFloatError::InvalidIncrement),
        -3 => Err(IncrFloatError::NanOrInfinity),
        -4 => Err(IncrFloatError::IncrementNotFinite),
        n => {
            // -5 (buffer too small) cannot happen: `out` is full size.
            out.truncate(usize::try_from(n).unwrap_or(0));
            Ok(out)
        }
    }
}

/// INCRBYFLOAT arithmetic, byte-exact with Redis 7.0.
///
/// `current` is the stored string (`None` when the key does not exist, which
/// counts as 0); `incr` is the raw argument. Both are parsed with
/// `string2ld()` rules (see [`parse_long_double_ok`]), added in `long
/// double`, and the sum is rendered as `%.17Lf` with trailing zeros and a
/// trailing `.` removed and `-0` turned into `0`. Returns the new value,
/// which is both the stored string and the bulk reply.
///
/// Examples: `10.5` + `0.1` → `10.6`; `5.0e3` + `2.0e2` → `5200`;
/// `1e308` + `1e308` → the full 309-digit integer (no overflow in `long
/// double`); `inf` + `1` → [`IncrFloatError::NanOrInfinity`].
///
/// The increment is checked before the current value; for INCRBYFLOAT both
/// give the same error reply, so the order is not observable.
pub fn incr_by_float(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, IncrFloatError> {
    incr_impl(current, incr, false)
}

/// HINCRBYFLOAT arithmetic, byte-exact with Redis 7.0.
///
/// Same as [`incr_by_float`], plus Redis's HINCRBYFLOAT order of checks:
/// the increment is parsed first ([`IncrFloatError::InvalidIncrement`]), an
/// infinite increment is refused ([`IncrFloatError::IncrementNotFinite`]),
/// then the field's current value is parsed
/// ([`IncrFloatError::InvalidCurrent`]). Redis does the first two checks
/// before even looking up the key (so they win over WRONGTYPE); a caller can
/// reproduce that by calling `hincr_by_float(None, incr)` first, which fails
/// only with those two errors.
pub fn hincr_by_float(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, IncrFloatError> {
    incr_impl(current, incr, true)
}

/// Whether `s` is a valid `long double` for Redis `string2ld()`: non-empty,
/// shorter than [`MAX_LONG_DOUBLE_CHARS`], no leading whitespace, fully
/// consumed by `strtold` (so an embedded NUL byte makes it invalid), not NaN, and not out of range (overflow, or underflow to zero).
/// `inf`/`-inf`/`infinity` and hex floats are valid.
pub fn parse_long_double_ok(s: &[u8]) -> bool {
    // SAFETY: the pointer/length pair describes `s`; the C side copies it.
    unsafe { talus_string2ld_ok(s.as_ptr().cast::<c_char>(), s.len()) != 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn incr(cur: Option<&str>, inc: &str) -> Result<String, IncrFloatError> {
        incr_by_float(cur.map(str::as_bytes), inc.as_bytes())
            .map(|v| String::from_utf8(v).expect("ascii"))
    }

    // Every expectation below was checked against redis-server 7.0.15
    // (SET k <cur>; INCRBYFLOAT k <incr>, or ZADD/ZSCORE for fmt_double).
    #[test]
    fn fmt_double_cases() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (1.1, "1.1000000000000001"),
            (0.1, "0.10000000000000001"),
            (0.5, "0.5"),
            (1.5, "1.5"),
            (3.0, "3"),
            (100.0, "100"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1e20, "1e+20"),
            (123456789.123, "123456789.123"),
            (1e-5, "1.0000000000000001e-05"),
            (1e-4, "0.0001"),
            (1e308, "1e+308"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (16.0, "16"),
            (9007199254740993.0, "9007199254740992"),
            (-2.5e-300, "-2.5e-300"),
        ];
        for (f, s) in cases {
            assert_eq!(fmt_double(*f), *s, "{f:e}");
        }
    }

    #[test]
    fn incr_by_float_results() {
        let cases: &[(Option<&str>, &str, &str)] = &[
            (None, "1", "1"),
            (None, "0", "0"),
            (None, "-0", "0"),
            (Some("-0"), "-0", "0"),
            (Some("10.5"), "0.1", "10.6"),
            (Some("3.0e3"), "200", "3200"),
            (Some("5.0e3"), "2.0e2", "5200"),
            (Some("10"), "0.1", "10.1"),
            (Some("10.50"), "0.1", "10.6"),
            (Some("0"), "0.1", "0.1"),
            (Some("1"), "-1", "0"),
            (Some("-1e-20"), "0", "0"),
            (Some("1e-20"), "0", "0"),
            (None, ".5", "0.5"),
            (None, "5.", "5"),
            (None, "0x10", "16"),
            (None, "+1.5", "1.5"),
            (None, "1.23456789012345678901234", "1.23456789012345679"),
            (None, "0.1", "0.1"),
            (None, "-5.5", "-5.5"),
            (Some("17179869184"), "1.5", "17179869185.5"),
            (Some("1e308"), "1e308", "199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640893494450108026446304269499187921167194841628860392837535918200039206381557326219209014213335878306791577877829121087126122536729803237260434173178506889763247582601711514636284849020905456510092687857156096"),
        ];
        for (cur, inc, want) in cases {
            assert_eq!(incr(*cur, inc).as_deref(), Ok(*want), "{cur:?} + {inc:?}");
        }
    }

    #[test]
    fn incr_by_float_errors() {
        use IncrFloatError::*;
        let cases: &[(Option<&str>, &str, IncrFloatError)] = &[
            (Some("1"), "inf", NanOrInfinity),
            (Some("inf"), "1", NanOrInfinity),
            (Some("inf"), "-inf", NanOrInfinity),
            (None, "-inf", NanOrInfinity),
            (None, "1e5000", InvalidIncrement),
            (None, "1e-5000", InvalidIncrement),
            (None, "nan", InvalidIncrement),
            (None, "", InvalidIncrement),
            (None, " 1", InvalidIncrement),
            (None, "1 ", InvalidIncrement),
            (None, "1x", InvalidIncrement),
            (None, "abc", InvalidIncrement),
            (Some("abc"), "1", InvalidCurrent),
            (Some(""), "1", InvalidCurrent),
            (Some(" 1"), "1", InvalidCurrent),
            (Some("nan"), "1", InvalidCurrent),
            (Some("1"), "1\u{0}2", InvalidIncrement),
            (Some("1\u{0}2"), "1", InvalidCurrent),
        ];
        for (cur, inc, want) in cases {
            assert_eq!(incr(*cur, inc), Err(*want), "{cur:?} + {inc:?}");
        }
        // A 1e308 string is fine in long double; 1e4933 overflows it.
        assert_eq!(incr(Some("1e4932"), "1e4932"), Err(NanOrInfinity));
        assert!(incr(None, "1e4932").is_ok());
    }

    #[test]
    fn long_inputs() {
        let long_ok = format!("{}1", "0".repeat(MAX_LONG_DOUBLE_CHARS - 2));
        assert_eq!(long_ok.len(), MAX_LONG_DOUBLE_CHARS - 1);
        assert!(parse_long_double_ok(long_ok.as_bytes()));
        assert_eq!(incr(None, &long_ok).as_deref(), Ok("1"));
        let too_long = format!("{}1", "0".repeat(MAX_LONG_DOUBLE_CHARS - 1));
        assert!(!parse_long_double_ok(too_long.as_bytes()));
        assert_eq!(incr(None, &too_long), Err(IncrFloatError::InvalidIncrement));
        assert_eq!(
            incr(Some(&too_long), "1"),
            Err(IncrFloatError::InvalidCurrent)
        );
        // The largest long doubles print as ~4950 digits; still fits.
        let big = incr(None, "1.18e4932").expect("finite");
        assert!(big.len() > 4900);
    }

    #[test]
    fn hincr_by_float_checks() {
        use IncrFloatError::*;
        assert_eq!(hincr_by_float(None, b"inf"), Err(IncrementNotFinite));
        assert_eq!(hincr_by_float(Some(b"abc"), b"x"), Err(InvalidIncrement));
        assert_eq!(hincr_by_float(Some(b"abc"), b"1"), Err(InvalidCurrent));
        assert_eq!(hincr_by_float(Some(b"inf"), b"1"), Err(NanOrInfinity));
        assert_eq!(hincr_by_float(Some(b"1.5"), b"1"), Ok(b"2.5".to_vec()));
    }

    proptest! {
        #[test]
        fn never_panics(cur in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..30)),
                        inc in proptest::collection::vec(any::<u8>(), 0..30)) {
            let _ = incr_by_float(cur.as_deref(), &inc);
            let _ = hincr_by_float(cur.as_deref(), &inc);
            let _ = parse_long_double_ok(&inc);
        }

        #[test]
        fn fmt_double_roundtrips(bits in any::<u64>()) {
            let f = f64::from_bits(bits);
            prop_assume!(!f.is_nan());
            let s = fmt_double(f);
            // %.17g always round-trips through strtod.
            prop_assert_eq!(super::super::number::parse_f64(s.as_bytes()).map(f64::to_bits),
                            Some(f.to_bits()));
        }
    }
}
