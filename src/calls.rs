//! Per-command accounting: INFO commandstats and errorstats, `total_error_replies`,
//! `instantaneous_ops_per_sec`, the SLOWLOG, and the save state behind LASTSAVE, BGSAVE and
//! INFO persistence.
//!
//! The dispatcher reports every command it resolved and ran ([`Calls::executed`]) and every
//! command it refused before running it ([`Calls::rejected`]). `executed` runs for every
//! command, so its common path (the command succeeded and was not slow) takes no lock and
//! allocates nothing: a lookup of the command's counters by the address of its table row, two
//! or three relaxed atomic adds, the cached slowlog threshold, and a coarse clock reading for
//! the ops/sec sampler.
//!
//! Behaviour, as Redis 7.0 unless said:
//! - commandstats: `calls`, `usec`, `failed_calls` (the command ran and answered an error) and
//!   `rejected_calls` (refused before running: arity, NOAUTH, a refused DEBUG, ...), per table
//!   row (subcommands as `config|get`). An unknown subcommand counts for no command, as in Redis.
//!   A blocked command counts when it blocks (Redis counts it once it is served).
//! - errorstats: every error reply counts under its code, the first word of the error text when
//!   a space comes within its first 31 bytes (else `ERR`). At most 128 codes are kept; more are
//!   counted under `ERRORSTATS_OVERFLOW` (Redis 7.0 has no bound; Talus's codes are all fixed
//!   texts, so this only guards against surprises).
//! - SLOWLOG: entries for commands whose handler took at least `slowlog-log-slower-than` µs
//!   (negative: none; 0: every command), newest first, at most `slowlog-max-len` (a lower
//!   value trims the log at once, as Redis's next command does). Arguments are cut as Redis cuts them (32 at most, the
//!   last saying `... (N more arguments)`; strings over 128 bytes end in `... (N more bytes)`),
//!   and secrets are `(redacted)` as in Redis (AUTH's arguments, HELLO's AUTH pair, the value
//!   of `CONFIG SET requirepass`). Commands flagged `skip_slowlog` (EXEC) are not logged;
//!   entry ids keep counting across `SLOWLOG RESET`. CONFIG RESETSTAT leaves the log alone.
//! - `instantaneous_ops_per_sec`: Redis samples the command count every 100 ms and averages
//!   the last 16 rates. Talus takes the same samples, driven by the commands themselves (the
//!   first command after a 100 ms boundary takes one) and by INFO; a gap without commands is
//!   filled with the rate over the gap (zero when idle), so the figure decays as Redis's does.
//! - `rdb_changes_since_last_save` counts the write commands that succeeded since the last
//!   successful save (Redis counts changed keys or elements, so `MSET a 1 b 2` is 2 there and 1
//!   here, and a write that changed nothing, such as `DEL` of a missing key, is 0 there and 1
//!   here).

use crate::cmd::{flags, CommandSpec, CommandTable};
use crate::config::Config;
use crate::session::Session;
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Most arguments a slowlog entry keeps (Redis's `SLOWLOG_ENTRY_MAX_ARGC`).
const SLOWLOG_MAX_ARGC: usize = 32;
/// Longest argument a slowlog entry keeps whole (Redis's `SLOWLOG_ENTRY_MAX_STRING`).
const SLOWLOG_MAX_STRING: usize = 128;
/// Most distinct error codes errorstats keeps.
const ERRORSTATS_LIMIT: usize = 128;
/// Where errors with codes past [`ERRORSTATS_LIMIT`] are counted.
const ERRORSTATS_OVERFLOW: &str = "ERRORSTATS_OVERFLOW";
/// Ops/sec samples averaged (Redis's `STATS_METRIC_SAMPLES`).
const OPS_SAMPLES: usize = 16;
/// Time between ops/sec samples, in ms (Redis samples from its 100 ms cron).
const OPS_SAMPLE_MS: u64 = 100;

/// One command's counters. Aligned to a cache line: executors running different commands do
/// not contend on each other's counters.
#[repr(align(64))]
#[derive(Default)]
struct CmdStats {
    calls: AtomicU64,
    usec: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
    /// Successful calls of a write command since start (never reset): the changes counter.
    writes: AtomicU64,
}

/// One command's INFO commandstats figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandStat {
    /// The command's name (`get`, `config|get`).
    pub name: &'static str,
    /// Times it ran.
    pub calls: u64,
    /// Microseconds its handler took in total.
    pub usec: u64,
    /// Times it was refused before it ran.
    pub rejected: u64,
    /// Times it ran and answered an error.
    pub failed: u64,
}

/// One SLOWLOG entry.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    /// Its id (ids keep counting across SLOWLOG RESET).
    pub id: u64,
    /// Unix time in seconds when it was logged.
    pub time: u64,
    /// How long the command took, in µs.
    pub micros: u64,
    /// The arguments, cut and redacted as Redis does.
    pub args: Vec<Bytes>,
    /// The client's `ip:port`.
    pub peer: String,
    /// The client's name (empty without one).
    pub name: Bytes,
}

#[derive(Default)]
struct SlowLog {
    next_id: u64,
    /// Newest first.
    entries: VecDeque<SlowEntry>,
}

/// The ops/sec sampler's state.
#[derive(Default)]
struct Sampler {
    last_ms: u64,
    last_ops: u64,
    samples: [u64; OPS_SAMPLES],
    idx: usize,
}

/// A pointer-address hasher for the counters' index (addresses of static table rows).
#[derive(Default)]
struct PtrHasher(u64);

impl Hasher for PtrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | *b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        // Rows are at least 8-byte aligned: drop the zero bits, then spread with Fibonacci
        // hashing (the table uses the top bits).
        self.0 = ((n as u64) >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

thread_local! {
    /// Set by a handler that refuses its command as Redis's dispatcher would (DEBUG when it is
    /// not enabled): [`Calls::executed`] then counts a rejection instead of a call.
    static REFUSED: Cell<bool> = const { Cell::new(false) };
}

/// Command statistics, error statistics, the slow log and the save state.
pub struct Calls {
    /// Table row address → index into `stats`.
    index: HashMap<usize, usize, BuildHasherDefault<PtrHasher>>,
    specs: Vec<&'static CommandSpec>,
    stats: Box<[CmdStats]>,
    total_errors: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    /// `slowlog-log-slower-than`, cached (see [`Calls::configure`]).
    slower_than: AtomicI64,
    /// `slowlog-max-len`, cached.
    max_len: AtomicU64,
    slowlog: Mutex<SlowLog>,
    /// Coarse-clock ms at which the next ops/sec sample is due.
    next_sample_ms: AtomicU64,
    sampler: Mutex<Sampler>,
    /// LASTSAVE, BGSAVE and INFO persistence.
    pub saves: Arc<Saves>,
}

impl Default for Calls {
    fn default() -> Self {
        Calls::new(&CommandTable::new())
    }
}

impl Calls {
    /// Counters for every command of `table` (subcommands included), with the slowlog
    /// settings at their defaults until [`Calls::configure`].
    pub fn new(table: &CommandTable) -> Calls {
        let mut specs: Vec<&'static CommandSpec> = vec![];
        for spec in table.all() {
            specs.push(spec);
            specs.extend(spec.subcommands.iter());
        }
        specs.sort_by_key(|s| s.name);
        let index = specs
            .iter()
            .enumerate()
            .map(|(i, s)| (*s as *const CommandSpec as usize, i))
            .collect();
        let stats = specs.iter().map(|_| CmdStats::default()).collect();
        let now = coarse_ms();
        Calls {
            index,
            specs,
            stats,
            total_errors: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
            slower_than: AtomicI64::new(10_000),
            max_len: AtomicU64::new(128),
            slowlog: Mutex::new(SlowLog::default()),
            next_sample_ms: AtomicU64::new(now + OPS_SAMPLE_MS),
            sampler: Mutex::new(Sampler {
                last_ms: now,
                ..Sampler::default()
            }),
            saves: Arc::new(Saves::default()),
        }
    }

    /// Reads the slowlog settings from the configuration (at start and after CONFIG SET):
    /// `executed` uses cached copies instead of the configuration's lock.
    pub fn configure(&self, config: &Config) {
        if let Some(n) = config.int("slowlog-log-slower-than") {
            self.slower_than.store(n, Relaxed);
        }
        if let Some(n) = config.int("slowlog-max-len") {
            self.max_len.store(n.max(0) as u64, Relaxed);
        }
        // Redis trims the log after every command while it is enabled: a shorter
        // `slowlog-max-len` shows at once.
        if self.slower_than.load(Relaxed) >= 0 {
            let max_len = self.max_len.load(Relaxed) as usize;
            self.slowlog.lock().entries.truncate(max_len);
        }
    }

    fn stats_of(&self, spec: &'static CommandSpec) -> Option<&CmdStats> {
        let i = *self.index.get(&(spec as *const CommandSpec as usize))?;
        self.stats.get(i)
    }

    /// A command ran: `micros` is how long its handler took; `error` is the text of the error
    /// it answered (code included, e.g. `WRONGTYPE Operation ...`), if it failed.
    /// Returns true when it did more than count (a SLOWLOG entry, a periodic sample, an
    /// error): see [`crate::cmd::exec::invoke_at`]'s clock.
    pub fn executed(
        &self,
        spec: &'static CommandSpec,
        args: &[Bytes],
        session: &Session,
        micros: u64,
        error: Option<&str>,
    ) -> bool {
        if let Some(text) = error {
            if REFUSED.with(|r| r.replace(false)) {
                self.rejected(Some(spec), text);
                return true;
            }
            self.count_error(text);
        }
        let mut extra = error.is_some();
        if let Some(s) = self.stats_of(spec) {
            s.calls.fetch_add(1, Relaxed);
            s.usec.fetch_add(micros, Relaxed);
            if error.is_some() {
                s.failed.fetch_add(1, Relaxed);
            } else if spec.flags & flags::WRITE != 0 {
                s.writes.fetch_add(1, Relaxed);
            }
        }
        let threshold = self.slower_than.load(Relaxed);
        if threshold >= 0 && micros >= threshold as u64 && spec.flags & flags::SKIP_SLOWLOG == 0 {
            self.log_slow(spec, args, session, micros);
            extra = true;
        }
        let now = coarse_ms();
        if now >= self.next_sample_ms.load(Relaxed) {
            self.sample(now);
            extra = true;
        }
        extra
    }

    /// A command was refused before it ran (unknown command or subcommand, arity, NOAUTH,
    /// a command not allowed in the client's state); `spec` is known unless the command is.
    /// `error` is the error text sent.
    pub fn rejected(&self, spec: Option<&'static CommandSpec>, error: &str) {
        self.count_error(error);
        // Redis finds no command for an unknown subcommand: nothing counts it.
        let unknown_sub = |s: &CommandSpec| {
            !s.subcommands.is_empty() && error.starts_with("ERR unknown subcommand")
        };
        if let Some(s) = spec.filter(|s| !unknown_sub(s)) {
            if let Some(st) = self.stats_of(s) {
                st.rejected.fetch_add(1, Relaxed);
            }
        }
    }

    /// Called by a handler that refuses its command the way Redis's dispatcher does (before
    /// running it), just before it returns the error: the command then counts as rejected,
    /// not as a failed call.
    pub fn mark_rejected(&self) {
        REFUSED.with(|r| r.set(true));
    }

    fn count_error(&self, text: &str) {
        self.total_errors.fetch_add(1, Relaxed);
        let code = error_code(text);
        let mut errors = self.errors.lock();
        if let Some(n) = errors.get_mut(code) {
            *n += 1;
        } else if errors.len() < ERRORSTATS_LIMIT {
            errors.insert(code.to_string(), 1);
        } else {
            *errors.entry(ERRORSTATS_OVERFLOW.to_string()).or_insert(0) += 1;
        }
    }

    /// INFO `total_error_replies`.
    pub fn total_error_replies(&self) -> u64 {
        self.total_errors.load(Relaxed)
    }

    /// INFO errorstats: (code, count) in code order.
    pub fn errorstats(&self) -> Vec<(String, u64)> {
        self.errors
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// INFO commandstats: the commands that ran or were refused at least once, by name.
    pub fn commandstats(&self) -> Vec<CommandStat> {
        self.specs
            .iter()
            .zip(self.stats.iter())
            .map(|(spec, s)| CommandStat {
                name: spec.name,
                calls: s.calls.load(Relaxed),
                usec: s.usec.load(Relaxed),
                rejected: s.rejected.load(Relaxed),
                failed: s.failed.load(Relaxed),
            })
            .filter(|c| c.calls > 0 || c.rejected > 0 || c.failed > 0)
            .collect()
    }

    /// Write commands that succeeded since start (the base of `rdb_changes_since_last_save`).
    pub fn writes(&self) -> u64 {
        self.stats.iter().map(|s| s.writes.load(Relaxed)).sum()
    }

    /// INFO `rdb_changes_since_last_save`.
    pub fn changes_since_save(&self) -> u64 {
        self.writes().saturating_sub(self.saves.baseline())
    }

    /// CONFIG RESETSTAT: zeroes commandstats, errorstats, `total_error_replies`, the ops/sec
    /// samples and `rdb_saves` (not the slow log, as in Redis).
    pub fn reset_stats(&self) {
        for s in self.stats.iter() {
            s.calls.store(0, Relaxed);
            s.usec.store(0, Relaxed);
            s.failed.store(0, Relaxed);
            s.rejected.store(0, Relaxed);
        }
        self.errors.lock().clear();
        self.total_errors.store(0, Relaxed);
        let now = coarse_ms();
        *self.sampler.lock() = Sampler {
            last_ms: now,
            ..Sampler::default()
        };
        self.next_sample_ms.store(now + OPS_SAMPLE_MS, Relaxed);
        self.saves.state.lock().saves = 0;
    }

    /// Commands run since start (or RESETSTAT): the ops/sec sampler's count.
    fn total_calls(&self) -> u64 {
        self.stats.iter().map(|s| s.calls.load(Relaxed)).sum()
    }

    /// Takes an ops/sec sample if one is due (one thread at a time; the others skip).
    fn sample(&self, now: u64) {
        let Some(mut s) = self.sampler.try_lock() else {
            return;
        };
        let elapsed = now.saturating_sub(s.last_ms);
        if elapsed < OPS_SAMPLE_MS {
            return;
        }
        let ops = self.total_calls();
        let rate = ops.saturating_sub(s.last_ops) * 1000 / elapsed;
        // A gap of several periods (no command ran to take a sample) gets the gap's rate in
        // each missed slot, as Redis's cron would have seen it.
        let slots = (elapsed / OPS_SAMPLE_MS).clamp(1, OPS_SAMPLES as u64);
        for _ in 0..slots {
            let i = s.idx;
            s.samples[i] = rate;
            s.idx = (i + 1) % OPS_SAMPLES;
        }
        s.last_ms = now;
        s.last_ops = ops;
        self.next_sample_ms.store(now + OPS_SAMPLE_MS, Relaxed);
    }

    /// INFO `instantaneous_ops_per_sec`: the average of the last 16 samples.
    pub fn ops_per_sec(&self) -> u64 {
        self.sample(coarse_ms());
        let s = self.sampler.lock();
        s.samples.iter().sum::<u64>() / OPS_SAMPLES as u64
    }

    fn log_slow(&self, spec: &'static CommandSpec, args: &[Bytes], session: &Session, micros: u64) {
        let entry_args = slowlog_args(spec, args);
        let time = unix_secs();
        let peer = session.peer.to_string();
        let name = session.name.clone().unwrap_or_default();
        let max_len = self.max_len.load(Relaxed) as usize;
        let mut log = self.slowlog.lock();
        let id = log.next_id;
        log.next_id += 1;
        log.entries.push_front(SlowEntry {
            id,
            time,
            micros,
            args: entry_args,
            peer,
            name,
        });
        log.entries.truncate(max_len);
    }

    /// `SLOWLOG GET`: the newest `count` entries, newest first.
    pub fn slowlog_get(&self, count: usize) -> Vec<SlowEntry> {
        self.slowlog
            .lock()
            .entries
            .iter()
            .take(count)
            .cloned()
            .collect()
    }

    /// `SLOWLOG LEN`.
    pub fn slowlog_len(&self) -> usize {
        self.slowlog.lock().entries.len()
    }

    /// `SLOWLOG RESET` (ids keep counting).
    pub fn slowlog_reset(&self) {
        self.slowlog.lock().entries.clear();
    }
}

/// The errorstats code of an error text: its first word when a space comes within the first
/// 31 bytes (Redis looks at 32 bytes of `-CODE ...`), else `ERR`.
pub fn error_code(text: &str) -> &str {
    let window = &text.as_bytes()[..text.len().min(31)];
    match window.iter().position(|&b| b == b' ') {
        Some(i) if i > 0 => &text[..i],
        _ => "ERR",
    }
}

/// The arguments a slowlog entry keeps: secrets redacted, at most 32 arguments, strings cut
/// at 128 bytes.
fn slowlog_args(spec: &CommandSpec, args: &[Bytes]) -> Vec<Bytes> {
    let redacted = redacted_positions(spec, args);
    let argc = args.len();
    let kept = argc.min(SLOWLOG_MAX_ARGC);
    let mut out = Vec::with_capacity(kept);
    for (j, arg) in args.iter().enumerate().take(kept) {
        if kept != argc && j == kept - 1 {
            out.push(Bytes::from(format!(
                "... ({} more arguments)",
                argc - kept + 1
            )));
        } else if redacted.contains(&j) {
            out.push(Bytes::from_static(b"(redacted)"));
        } else if arg.len() > SLOWLOG_MAX_STRING {
            let mut s = BytesMut::with_capacity(SLOWLOG_MAX_STRING + 32);
            s.extend_from_slice(&arg[..SLOWLOG_MAX_STRING]);
            s.extend_from_slice(
                format!("... ({} more bytes)", arg.len() - SLOWLOG_MAX_STRING).as_bytes(),
            );
            out.push(s.freeze());
        } else {
            // A copy: a slice would keep the whole request buffer alive.
            out.push(Bytes::copy_from_slice(arg));
        }
    }
    out
}

/// The argument positions Redis redacts from the slow log for this command.
fn redacted_positions(spec: &CommandSpec, args: &[Bytes]) -> Vec<usize> {
    let is = |a: &[u8], w: &str| a.eq_ignore_ascii_case(w.as_bytes());
    match spec.name {
        "auth" => (1..args.len()).collect(),
        "hello" => {
            let mut out = vec![];
            let mut j = 2;
            while j < args.len() {
                let more = args.len() - j - 1;
                if is(&args[j], "auth") && more >= 2 {
                    out.extend([j + 1, j + 2]);
                    j += 3;
                } else if is(&args[j], "setname") && more >= 1 {
                    j += 2;
                } else {
                    j += 1;
                }
            }
            out
        }
        "config|set" => (2..args.len())
            .step_by(2)
            .filter(|&j| {
                j + 1 < args.len()
                    && ["requirepass", "masterauth", "masteruser"]
                        .iter()
                        .any(|w| is(&args[j], w))
            })
            .map(|j| j + 1)
            .collect(),
        _ => vec![],
    }
}

/// Seconds since the Unix epoch.
pub fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// A cheap monotonic clock in ms (a few ms of resolution is plenty for 100 ms samples).
#[cfg(target_os = "linux")]
fn coarse_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// A monotonic clock in ms.
#[cfg(not(target_os = "linux"))]
fn coarse_ms() -> u64 {
    static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

/// What a save is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveKind {
    /// SAVE, on the executor thread.
    Foreground,
    /// BGSAVE, on its own thread.
    Background,
}

/// The save state: LASTSAVE, whether a save runs, and what INFO persistence reports.
pub struct Saves {
    state: Mutex<SaveState>,
}

/// A copy of the save state, for INFO persistence.
#[derive(Debug, Clone)]
pub struct SaveState {
    /// The save running now, if any.
    pub running: Option<SaveKind>,
    /// Unix seconds when the running save started.
    pub started: u64,
    /// Unix seconds of the last successful save (the start time initially): LASTSAVE.
    pub last_save: u64,
    /// Whether the last save succeeded (`rdb_last_bgsave_status`).
    pub last_ok: bool,
    /// How long the last background save took in seconds, -1 before the first.
    pub last_bgsave_secs: i64,
    /// Successful saves since start or RESETSTAT (`rdb_saves`).
    pub saves: u64,
    /// The directory of the last checkpoint made.
    pub last_path: Option<PathBuf>,
    /// The write count the last successful save covered.
    baseline: u64,
    /// The write count when the running save started.
    pending_baseline: u64,
}

impl Default for Saves {
    fn default() -> Self {
        Saves {
            state: Mutex::new(SaveState {
                running: None,
                started: 0,
                last_save: unix_secs(),
                last_ok: true,
                last_bgsave_secs: -1,
                saves: 0,
                last_path: None,
                baseline: 0,
                pending_baseline: 0,
            }),
        }
    }
}

impl Saves {
    /// Starts a save unless one runs (false then). `writes` is [`Calls::writes`] now: the
    /// changes a successful save will have covered.
    pub fn try_begin(&self, kind: SaveKind, writes: u64) -> bool {
        let mut s = self.state.lock();
        if s.running.is_some() {
            return false;
        }
        s.running = Some(kind);
        s.started = unix_secs();
        s.pending_baseline = writes;
        true
    }

    /// Ends the running save: the checkpoint's directory, or why it failed.
    pub fn finish(&self, result: std::result::Result<PathBuf, String>) {
        let mut s = self.state.lock();
        let now = unix_secs();
        if s.running == Some(SaveKind::Background) {
            s.last_bgsave_secs = now.saturating_sub(s.started) as i64;
        }
        s.running = None;
        match result {
            Ok(path) => {
                s.last_ok = true;
                s.last_save = now;
                s.saves += 1;
                s.baseline = s.pending_baseline;
                s.last_path = Some(path);
            }
            Err(e) => {
                log::warn!("Saving failed: {e}");
                s.last_ok = false;
            }
        }
    }

    /// The current state.
    pub fn state(&self) -> SaveState {
        self.state.lock().clone()
    }

    /// LASTSAVE.
    pub fn last_save(&self) -> u64 {
        self.state.lock().last_save
    }

    fn baseline(&self) -> u64 {
        self.state.lock().baseline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes() {
        assert_eq!(error_code("ERR syntax error"), "ERR");
        assert_eq!(
            error_code("WRONGTYPE Operation against a key holding the wrong kind of value"),
            "WRONGTYPE"
        );
        assert_eq!(error_code("NOAUTH Authentication required."), "NOAUTH");
        assert_eq!(error_code("NOSPACE"), "ERR");
        assert_eq!(error_code(&format!("{} x", "A".repeat(31))), "ERR");
        assert_eq!(error_code(&format!("{} x", "A".repeat(30))), "A".repeat(30));
    }

    fn args(a: &[&str]) -> Vec<Bytes> {
        a.iter().map(|s| Bytes::from(s.to_string())).collect()
    }

    #[test]
    fn slowlog_argument_rules() {
        let table = CommandTable::new();
        let set = table.get(b"set").unwrap();
        let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        let mut a = vec!["set"];
        a.extend(many.iter().map(String::as_str));
        let out = slowlog_args(set, &args(&a));
        assert_eq!(out.len(), 32);
        assert_eq!(out[30], Bytes::from("29"));
        assert_eq!(out[31], Bytes::from("... (10 more arguments)"));
        let long = "x".repeat(200);
        let out = slowlog_args(set, &args(&["set", "k", &long]));
        assert_eq!(
            out[2],
            Bytes::from(format!("{}... (72 more bytes)", "x".repeat(128)))
        );
        let exactly = "y".repeat(128);
        assert_eq!(slowlog_args(set, &args(&["set", &exactly]))[1].len(), 128);

        let auth = table.get(b"auth").unwrap();
        assert_eq!(
            slowlog_args(auth, &args(&["auth", "u", "p"])),
            args(&["auth", "(redacted)", "(redacted)"])
        );
        let hello = table.get(b"hello").unwrap();
        assert_eq!(
            slowlog_args(
                hello,
                &args(&["hello", "2", "SETNAME", "n", "auth", "u", "p"])
            ),
            args(&[
                "hello",
                "2",
                "SETNAME",
                "n",
                "auth",
                "(redacted)",
                "(redacted)"
            ])
        );
        let config = table.get(b"config").unwrap();
        let set_spec = config
            .subcommands
            .iter()
            .find(|s| s.name == "config|set")
            .unwrap();
        assert_eq!(
            slowlog_args(
                set_spec,
                &args(&["config", "set", "maxmemory", "0", "REQUIREPASS", "pw"])
            ),
            args(&[
                "config",
                "set",
                "maxmemory",
                "0",
                "REQUIREPASS",
                "(redacted)"
            ])
        );
    }

    #[test]
    fn index_covers_subcommands() {
        let table = CommandTable::new();
        let calls = Calls::new(&table);
        let config = table.get(b"config").unwrap();
        for s in config.subcommands {
            assert!(calls.stats_of(s).is_some(), "{}", s.name);
        }
        assert!(calls.stats_of(table.get(b"get").unwrap()).is_some());
    }
}
