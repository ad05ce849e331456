//! Compiles the small C helper that gives Talus access to the platform's
//! `long double` (x86_64: 80-bit extended precision) for INCRBYFLOAT and to
//! libc's `strtod` for Redis-exact float parsing.

fn main() {
    println!("cargo:rerun-if-changed=src/util/ldouble.c");
    cc::Build::new()
        .file("src/util/ldouble.c")
        .warnings(true)
        .extra_warnings(true)
        .compile("talus_ldouble");
}
