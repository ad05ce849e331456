//! Glob-style matching with the exact semantics of Redis 7.0
//! `util.c` `stringmatchlen()` (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET,
//! COMMAND LIST FILTERBY PATTERN, ...), but without its exponential
//! worst case.
//!
//! Redis matches recursively: every `*` tries each remaining suffix of the
//! string. Redis 7.0 prunes that with `skipLongerMatches` and gives up past
//! 1000 nested `*`. Every token other than `*` consumes exactly one byte, so
//! remembering only the most recent `*` (the classic iterative algorithm)
//! finds a match exactly when Redis does, in O(pattern × string) time and
//! O(1) space.
//!
//! Redis quirks that are reproduced on purpose:
//! * An empty string matches only the empty pattern: `"*"` does not match
//!   `""` (KEYS and SCAN special-case the pattern `"*"` before calling the
//!   matcher; callers must do the same to list an empty key).
//! * A pattern with more than 1000 `*` groups (runs of consecutive `*`)
//!   that are not at its very end never matches (the nesting limit).
//! * `\x` escapes any byte, outside and inside `[...]`; a trailing `\`
//!   matches a literal `\`. An escaped byte inside a class is compared
//!   case-sensitively even when `nocase` is set.
//! * `[^...]` negates; `[a-z]` ranges may be reversed (`[z-a]`); a `-`
//!   right after a range start is a range even when the end is `]`
//!   (`[a-]` is the range `a`..=`]`, leaving the class unterminated).
//! * An unterminated class extends to the end of the pattern; `[` alone
//!   matches nothing and `[^` matches any single byte.
//! * Range bounds compare as C `char` (signed on x86_64), so bytes >= 0x80
//!   sort below ASCII; with `nocase` they pass through glibc `tolower()`,
//!   which maps them to 128..=255 instead, except 0xff (`EOF`, -1).

/// The pattern byte at `i`, or the C string terminator (0) past the end,
/// which is what Redis reads there (patterns are NUL-terminated sds).
#[inline]
fn at(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

/// C `tolower()` in the "C" locale applied to a (sign-extended) `char`, as
/// glibc does it: ASCII upper case is folded, -1 (`EOF`) stays -1, other
/// negative values map to `value + 256`, anything else is unchanged.
#[inline]
fn c_tolower(c: i32) -> i32 {
    match c {
        65..=90 => c + 32,
        -128..=-2 => c + 256,
        _ => c,
    }
}

/// A byte as C `char` on x86_64 (signed), widened to `int`.
#[inline]
fn c_char(b: u8) -> i32 {
    i32::from(b as i8)
}

#[inline]
fn eq_byte(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Matches the `[...]` class starting at `pat[start] == b'['` against `c`.
/// Returns whether it matched and the index just past the class.
fn match_class(pat: &[u8], start: usize, c: u8, nocase: bool) -> (bool, usize) {
    let plen = pat.len();
    let mut i = start + 1;
    let negate = at(pat, i) == b'^';
    if negate {
        i += 1;
    }
    let mut matched = false;
    // Invariant: i <= plen.
    loop {
        let rem = plen - i;
        let b = at(pat, i);
        if b == b'\\' && rem >= 2 {
            i += 1;
            if pat[i] == c {
                matched = true;
            }
        } else if b == b']' {
            break;
        } else if rem == 0 {
            // Unterminated: the class runs to the end of the pattern.
            i -= 1;
            break;
        } else if rem >= 3 && pat[i + 1] == b'-' {
            let mut lo = c_char(pat[i]);
            let mut hi = c_char(pat[i + 2]);
            let mut ch = c_char(c);
            if lo > hi {
                std::mem::swap(&mut lo, &mut hi);
            }
            if nocase {
                lo = c_tolower(lo);
                hi = c_tolower(hi);
                ch = c_tolower(ch);
            }
            i += 2;
            if ch >= lo && ch <= hi {
                matched = true;
            }
        } else if eq_byte(b, c, nocase) {
            matched = true;
        }
        i += 1;
    }
    (matched != negate, i + 1)
}

/// Matches the single-byte token at `pat[p]` (anything but `*`) against `c`.
/// Returns whether it matched and the index of the next token.
fn match_one(pat: &[u8], p: usize, c: u8, nocase: bool) -> (bool, usize) {
    match pat[p] {
        b'?' => (true, p + 1),
        b'[' => match_class(pat, p, c, nocase),
        b'\\' if pat.len() - p >= 2 => (eq_byte(pat[p + 1], c, nocase), p + 2),
        b => (eq_byte(b, c, nocase), p + 1),
    }
}

/// Redis's limit on `*` recursion depth (`nesting > 1000` fails).
const MAX_STAR_GROUPS: usize = 1000;

/// Returns whether `string` matches the glob `pattern`, exactly as Redis 7.0
/// `stringmatchlen(pattern, string, nocase)` would. See the module docs for
/// the syntax and its quirks. Runs in O(`pattern.len()` × `string.len()`)
/// time, never recurses, never allocates and never panics.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let (plen, slen) = (pattern.len(), string.len());
    if slen == 0 {
        // Redis's loop never runs: only the empty pattern matches.
        return plen == 0;
    }
    let mut p = 0;
    let mut s = 0;
    // Most recent star: (pattern index after it, string index its match ends at).
    let mut star: Option<(usize, usize)> = None;
    let mut groups = 0usize;
    while s < slen {
        if p < plen {
            if pattern[p] == b'*' {
                while p < plen && pattern[p] == b'*' {
                    p += 1;
                }
                if p == plen {
                    return true;
                }
                groups += 1;
                if groups > MAX_STAR_GROUPS {
                    return false;
                }
                star = Some((p, s));
                continue;
            }
            let (ok, next) = match_one(pattern, p, string[s], nocase);
            if ok {
                p = next;
                s += 1;
                continue;
            }
        }
        // Mismatch (or pattern exhausted): let the last star eat one more byte.
        match star {
            Some((sp, ss)) => {
                star = Some((sp, ss + 1));
                p = sp;
                s = ss + 1;
            }
            None => return false,
        }
    }
    while p < plen && pattern[p] == b'*' {
        p += 1;
    }
    p == plen
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Straight transliteration of Redis 7.0 `stringmatchlen_impl()`
    /// (recursive, with `skipLongerMatches` and the nesting limit), used as
    /// the oracle for the fast matcher.
    fn reference(pat: &[u8], s: &[u8], nocase: bool) -> bool {
        fn imp(
            full: &[u8],
            mut p: usize,
            st: &[u8],
            mut s: usize,
            nocase: bool,
            skip: &mut bool,
            nesting: u32,
        ) -> bool {
            if nesting > 1000 {
                return false;
            }
            let plen_total = full.len();
            let mut plen = plen_total - p;
            let mut slen = st.len() - s;
            while plen > 0 && slen > 0 {
                match full[p] {
                    b'*' => {
                        while plen > 0 && at(full, p + 1) == b'*' {
                            p += 1;
                            plen -= 1;
                        }
                        if plen == 1 {
                            return true;
                        }
                        while slen > 0 {
                            if imp(full, p + 1, st, s, nocase, skip, nesting + 1) {
                                return true;
                            }
                            if *skip {
                                return false;
                            }
                            s += 1;
                            slen -= 1;
                        }
                        *skip = true;
                        return false;
                    }
                    b'?' => {
                        s += 1;
                        slen -= 1;
                    }
                    b'[' => {
                        p += 1;
                        plen -= 1;
                        let not = at(full, p) == b'^';
                        if not {
                            p += 1;
                            plen -= 1;
                        }
                        let mut m = false;
                        loop {
                            if at(full, p) == b'\\' && plen >= 2 {
                                p += 1;
                                plen -= 1;
                                if full[p] == st[s] {
                                    m = true;
                                }
                            } else if at(full, p) == b']' {
                                break;
                            } else if plen == 0 {
                                p -= 1;
                                plen += 1;
                                break;
                            } else if plen >= 3 && full[p + 1] == b'-' {
                                let mut a = c_char(full[p]);
                                let mut b = c_char(full[p + 2]);
                                let mut c = c_char(st[s]);
                                if a > b {
                                    std::mem::swap(&mut a, &mut b);
                                }
                                if nocase {
                                    a = c_tolower(a);
                                    b = c_tolower(b);
                                    c = c_tolower(c);
                                }
                                p += 2;
                                plen -= 2;
                                if c >= a && c <= b {
                                    m = true;
                                }
                            } else if !nocase {
                                if full[p] == st[s] {
                                    m = true;
                                }
                            } else if c_tolower(c_char(full[p])) == c_tolower(c_char(st[s])) {
                                m = true;
                            }
                            p += 1;
                            plen -= 1;
                        }
                        if not {
                            m = !m;
                        }
                        if !m {
                            return false;
                        }
                        s += 1;
                        slen -= 1;
                    }
                    b => {
                        let mut lit = b;
                        if b == b'\\' && plen >= 2 {
                            p += 1;
                            plen -= 1;
                            lit = full[p];
                        }
                        let ok = if nocase {
                            c_tolower(c_char(lit)) == c_tolower(c_char(st[s]))
                        } else {
                            lit == st[s]
                        };
                        if !ok {
                            return false;
                        }
                        s += 1;
                        slen -= 1;
                    }
                }
                p += 1;
                plen -= 1;
                if slen == 0 {
                    while at(full, p) == b'*' {
                        p += 1;
                        plen -= 1;
                    }
                    break;
                }
            }
            plen == 0 && slen == 0
        }
        let mut skip = false;
        imp(pat, 0, s, 0, nocase, &mut skip, 0)
    }

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    // Verified against redis-server 7.0.15 (KEYS / SCAN MATCH).
    #[test]
    fn basics() {
        assert!(m("h?llo", "hello"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hello"));
        assert!(m("a\\", "a\\"));
        assert!(m("[\\]]", "]"));
        assert!(m("[a-]", "]"));
        assert!(m("[a-]", "a"));
        assert!(!m("[a-]", "b"));
        assert!(!m("[a-]", "-"));
        assert!(m("[abc", "c"));
        assert!(!m("[", "["));
        assert!(m("[^", "x"));
        assert!(!m("[]", "]"));
        assert!(!m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("*", "anything"));
        assert!(m("a**b", "ab"));
        assert!(m("*a*", "a"));
        assert!(!m("?", ""));
        assert!(m("a*", "a"));
        assert!(!m("a*b", "a"));
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"HeLLo", b"hello", true));
        assert!(glob_match(b"[A-C]x", b"bX", true));
        assert!(!glob_match(b"HeLLo", b"hello", false));
        // Escaped class members stay case-sensitive.
        assert!(!glob_match(b"[\\A]", b"a", true));
        assert!(glob_match(b"[A]", b"a", true));
        // Signed-char quirks of ranges with high bytes.
        assert!(glob_match(b"[a-\xc0]", b"\xd0", false));
        assert!(!glob_match(b"[a-\xc0]", b"\xd0", true));
        assert!(glob_match(b"[a-\xc0]", b"\xc0", false));
        // 0xff is C's EOF (-1), which tolower() leaves alone.
        assert!(glob_match(b"[\x7f-\xff]", b"A", true));
        assert!(!glob_match(b"[\x7f-\xfe]", b"A", true));
    }

    #[test]
    fn nesting_limit() {
        let s = "x".repeat(1200);
        let p1000 = "*x".repeat(1000);
        let p1001 = "*x".repeat(1001);
        assert!(glob_match(p1000.as_bytes(), s.as_bytes(), false));
        assert!(!glob_match(p1001.as_bytes(), s.as_bytes(), false));
        let p1000t = format!("{}*", "*x".repeat(1000));
        assert!(glob_match(p1000t.as_bytes(), s.as_bytes(), false));
        let p1001t = format!("{}*", "x*".repeat(1001));
        assert!(glob_match(p1001t.as_bytes(), s.as_bytes(), false));
        let p1002t = format!("{}*", "*x".repeat(1001));
        assert!(!glob_match(p1002t.as_bytes(), s.as_bytes(), false));
        for p in [&p1000, &p1001, &p1000t, &p1001t, &p1002t] {
            assert_eq!(
                glob_match(p.as_bytes(), s.as_bytes(), false),
                reference(p.as_bytes(), s.as_bytes(), false)
            );
        }
    }

    #[test]
    fn pathological_is_fast() {
        // Exponential for naive backtracking; linear-ish here.
        let pat = format!("{}b", "a*".repeat(60));
        let s = "a".repeat(20_000);
        assert!(!glob_match(pat.as_bytes(), s.as_bytes(), false));
        let s2 = format!("{s}b");
        assert!(glob_match(pat.as_bytes(), s2.as_bytes(), false));
        let pat3 = format!("{}*b", "*a".repeat(999));
        assert!(!glob_match(pat3.as_bytes(), s.as_bytes(), true));
    }

    fn pat_strategy() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b'*'),
                Just(b'?'),
                Just(b'['),
                Just(b']'),
                Just(b'^'),
                Just(b'-'),
                Just(b'\\'),
                Just(b'a'),
                Just(b'b'),
                Just(b'A'),
                Just(0u8),
                Just(0xc3u8),
                any::<u8>(),
            ],
            0..12,
        )
    }

    fn str_strategy() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b'a'),
                Just(b'b'),
                Just(b'A'),
                Just(b'B'),
                Just(b']'),
                Just(b'-'),
                Just(b'*'),
                Just(b'\\'),
                Just(0xc3u8),
                any::<u8>(),
            ],
            0..10,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]
        #[test]
        fn agrees_with_reference(p in pat_strategy(), s in str_strategy(), nocase in any::<bool>()) {
            prop_assert_eq!(glob_match(&p, &s, nocase), reference(&p, &s, nocase));
        }
    }
}
