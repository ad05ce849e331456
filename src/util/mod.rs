//! Byte-exact re-implementations of Redis 7.0 helper routines.
//!
//! Clients and test suites compare Talus's replies with Redis's byte for
//! byte, so the parsing, formatting and matching primitives here reproduce
//! the behaviour of the corresponding Redis 7.0 C functions exactly,
//! including their corner cases:
//!
//! * [`number`]: integer and double parsing (`string2ll`, `string2ull`,
//!   `getDoubleFromObject`/`string2d`) and integer formatting (`ll2string`).
//! * [`float`]: reply formatting of doubles (`addReplyDouble`, `%.17g`) and
//!   `long double` INCRBYFLOAT / HINCRBYFLOAT arithmetic (`string2ld`,
//!   `ld2string(LD_STR_HUMAN)`), done in C (`ldouble.c`) because Rust has no
//!   80-bit float.
//! * [`glob`]: glob-style matching (`stringmatchlen`) without exponential
//!   backtracking.

pub mod cpulist;
pub mod float;
pub mod glob;
pub mod number;
pub mod sched;
