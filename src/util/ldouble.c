/*
 * Talus: float helpers that need C's `long double` and libc's strto* family.
 *
 * Rust has no 80-bit extended float, yet Redis performs INCRBYFLOAT and
 * HINCRBYFLOAT arithmetic in `long double` and prints the result with
 * "%.17Lf". To be byte-for-byte compatible we do the parse, the addition and
 * the formatting here, with the same libc calls Redis makes:
 *
 *   - talus_string2ld  mirrors Redis util.c string2ld()
 *   - talus_string2d   mirrors Redis object.c getDoubleFromObject() for
 *                      string-encoded values (same checks as util.c string2d)
 *   - talus_ld2string_human mirrors util.c ld2string(..., LD_STR_HUMAN)
 *   - talus_incrbyfloat combines them the way t_string.c incrbyfloatCommand()
 *                      and t_hash.c hincrbyfloatCommand() do.
 *
 * Every function is total: it never reads past the given lengths and never
 * aborts.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis: #define MAX_LONG_DOUBLE_CHARS 5*1024 */
#define TALUS_MAX_LONG_DOUBLE_CHARS (5 * 1024)

/* Error codes returned (negated) by talus_incrbyfloat. */
#define TALUS_ERR_CURRENT (-1)   /* current value is not a valid float */
#define TALUS_ERR_INCR (-2)      /* increment is not a valid float */
#define TALUS_ERR_RESULT (-3)    /* sum is NaN or infinite */
#define TALUS_ERR_INCR_INF (-4)  /* increment is infinite (HINCRBYFLOAT) */
#define TALUS_ERR_BUFFER (-5)    /* output buffer too small */

/* Parse a long double with Redis string2ld() rules. Returns 1 on success. */
static int talus_string2ld(const char *s, size_t slen, long double *dp) {
    char buf[TALUS_MAX_LONG_DOUBLE_CHARS];
    long double value;
    char *eptr;

    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';

    errno = 0;
    value = strtold(buf, &eptr);
    if (isspace((int)buf[0]) || eptr[0] != '\0' ||
        (size_t)(eptr - buf) != slen ||
        ((errno == ERANGE) &&
         (value == HUGE_VAL || value == -HUGE_VAL || fpclassify(value) == FP_ZERO)) ||
        isnan(value))
        return 0;

    if (dp) *dp = value;
    return 1;
}

/* Public: does `s` parse as a long double under Redis string2ld() rules? */
int talus_string2ld_ok(const char *s, size_t slen) {
    return talus_string2ld(s, slen, NULL);
}

/* Parse a double with the checks of Redis getDoubleFromObject() / string2d().
 * Returns 1 on success and stores the value in *dp. */
int talus_string2d(const char *s, size_t slen, double *dp) {
    char small[128];
    char *buf = small;
    char *eptr;
    double value;
    int ok;

    if (slen == 0) return 0;
    if (slen >= sizeof(small)) {
        buf = malloc(slen + 1);
        if (buf == NULL) return 0;
    }
    memcpy(buf, s, slen);
    buf[slen] = '\0';

    errno = 0;
    value = strtod(buf, &eptr);
    ok = !(isspace((int)buf[0]) || (size_t)(eptr - buf) != slen ||
           (errno == ERANGE &&
            (value == HUGE_VAL || value == -HUGE_VAL || fpclassify(value) == FP_ZERO)) ||
           isnan(value));
    if (buf != small) free(buf);
    if (ok && dp) *dp = value;
    return ok;
}

/* Format like Redis ld2string(buf, len, value, LD_STR_HUMAN). Returns the
 * length written (0 on "no room", exactly as Redis). */
static int talus_ld2string_human(char *buf, size_t len, long double value) {
    size_t l = 0;

    if (len == 0) return 0;
    if (isinf(value)) {
        if (len < 5) goto err;
        if (value > 0) {
            memcpy(buf, "inf", 3);
            l = 3;
        } else {
            memcpy(buf, "-inf", 4);
            l = 4;
        }
    } else {
        int n = snprintf(buf, len, "%.17Lf", value);
        if (n < 0) goto err;
        l = (size_t)n;
        if (l + 1 > len) goto err;
        /* Remove trailing zeroes after the '.' */
        if (strchr(buf, '.') != NULL) {
            char *p = buf + l - 1;
            while (*p == '0') {
                p--;
                l--;
            }
            if (*p == '.') l--;
        }
        if (l == 2 && buf[0] == '-' && buf[1] == '0') {
            buf[0] = '0';
            l = 1;
        }
    }
    buf[l] = '\0';
    return (int)l;
err:
    buf[0] = '\0';
    return 0;
}

/*
 * value = (has_cur ? string2ld(cur) : 0) + string2ld(incr), formatted with
 * LD_STR_HUMAN into out (capacity outcap; should be >= 5120).
 *
 * The increment is validated first (HINCRBYFLOAT's order; for INCRBYFLOAT
 * both failures give the same reply so the order is unobservable). When
 * reject_inf_incr is non-zero an infinite increment is refused with
 * TALUS_ERR_INCR_INF, as HINCRBYFLOAT does.
 *
 * Returns the output length (>= 0) or one of the negative TALUS_ERR_* codes.
 */
int talus_incrbyfloat(const char *cur, size_t curlen, int has_cur,
                      const char *incr, size_t incrlen, int reject_inf_incr,
                      char *out, size_t outcap) {
    long double value = 0, inc = 0;

    if (!talus_string2ld(incr, incrlen, &inc)) return TALUS_ERR_INCR;
    if (reject_inf_incr && (isnan(inc) || isinf(inc))) return TALUS_ERR_INCR_INF;
    if (has_cur && !talus_string2ld(cur, curlen, &value)) return TALUS_ERR_CURRENT;

    value += inc;
    if (isnan(value) || isinf(value)) return TALUS_ERR_RESULT;
    if (outcap < TALUS_MAX_LONG_DOUBLE_CHARS) return TALUS_ERR_BUFFER;
    return talus_ld2string_human(out, TALUS_MAX_LONG_DOUBLE_CHARS, value);
}
