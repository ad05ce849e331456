//! The client registry: every connected client with what CLIENT LIST shows of it, the MONITOR
//! clients, and the CLIENT PAUSE state.
//!
//! A session lives with its connection (or travels with its batch), so other clients cannot read
//! it. Each client therefore has an entry here with its fixed facts (id, addresses, fd, start
//! time, [`ClientHandle`]) and a [`View`]: a copy of the session's listed state that the executor
//! refreshes after each of the client's batches (one uncontended lock per batch). CLIENT LIST
//! reads the views; CLIENT KILL closes clients through their handles.
//!
//! CLIENT PAUSE: while a pause is in force, a command it covers (every command for `ALL`; write
//! and may-replicate commands, and EXEC of a transaction holding one, for `WRITE`) is not run:
//! the batch answers what ran before it and asks its connection to retry the rest when the
//! pause ends ([`talus_actors::Flow::Retry`]); CLIENT UNPAUSE resumes those connections at
//! once. (Unlike Redis, the active-expiry cycle is not paused.)

use crate::session::Session;
use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use talus_actors::{ClientHandle, OutputLimit};

/// Redis's client types (CLIENT LIST TYPE, CLIENT KILL TYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    /// Ordinary clients (MONITOR clients too, as in Redis).
    Normal,
    /// A replica (never, until replication lands).
    Replica,
    /// A master link (never).
    Master,
    /// Subscribed to a channel, pattern or shard channel.
    PubSub,
}

impl ClientType {
    /// Parses a type name as Redis does (`slave` is `replica`).
    pub fn parse(name: &[u8]) -> Option<ClientType> {
        let name = name.to_ascii_lowercase();
        match &name[..] {
            b"normal" => Some(ClientType::Normal),
            b"replica" | b"slave" => Some(ClientType::Replica),
            b"master" => Some(ClientType::Master),
            b"pubsub" => Some(ClientType::PubSub),
            _ => None,
        }
    }
}

/// What CLIENT LIST shows of a client's session, as of its last batch.
#[derive(Debug, Clone)]
pub struct View {
    /// CLIENT SETNAME.
    pub name: Option<Bytes>,
    /// Selected database.
    pub db: u16,
    /// Last command (`client|list`).
    pub last_cmd: &'static str,
    /// When it last ran a batch.
    pub last_active: Instant,
    /// Channels, patterns, shard channels subscribed.
    pub sub: usize,
    /// See `sub`.
    pub psub: usize,
    /// See `sub`.
    pub ssub: usize,
    /// Commands queued in MULTI, or -1.
    pub multi: i64,
    /// Protocol version.
    pub resp: u8,
    /// CLIENT SETINFO.
    pub lib_name: Option<Bytes>,
    /// CLIENT SETINFO.
    pub lib_ver: Option<Bytes>,
    /// The waiter of its blocking command, if it blocked.
    pub blocked: Option<crate::waiters::WaiterId>,
    /// In MONITOR mode.
    pub monitor: bool,
    /// CLIENT NO-EVICT on.
    pub no_evict: bool,
    /// Set when a WATCHed key changes (EXEC will fail); read live.
    pub watch_flag: Option<Arc<crate::watch::WatchFlag>>,
}

impl View {
    /// The listed state of `session`.
    pub fn of(session: &Session) -> View {
        let subs = session.subs.as_deref();
        View {
            name: session.name.clone(),
            db: session.db,
            last_cmd: session.last_cmd,
            last_active: Instant::now(),
            sub: subs.map_or(0, |s| s.channels.len()),
            psub: subs.map_or(0, |s| s.patterns.len()),
            ssub: subs.map_or(0, |s| s.shard.len()),
            multi: session.multi.as_ref().map_or(-1, |m| m.queued() as i64),
            resp: session.resp,
            lib_name: session.lib_name.clone(),
            lib_ver: session.lib_ver.clone(),
            blocked: session.blocked,
            monitor: session.monitor,
            no_evict: session.no_evict,
            watch_flag: session.watches.as_ref().map(|w| w.flag()),
        }
    }
}

/// One connected client.
pub struct ClientEntry {
    /// CLIENT ID.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// The address it connected to.
    pub local: SocketAddr,
    /// Its socket's file descriptor.
    pub fd: i64,
    /// When it connected.
    pub created: Instant,
    /// Its connection.
    pub handle: ClientHandle,
    view: Mutex<View>,
}

impl ClientEntry {
    /// Refreshes the listed state from the session (after each batch).
    pub fn update(&self, session: &Session) {
        *self.view.lock() = View::of(session);
    }

    /// The listed state as of the client's last batch.
    pub fn view(&self) -> View {
        self.view.lock().clone()
    }
}

impl std::fmt::Debug for ClientEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientEntry({})", self.id)
    }
}

/// A MONITOR client.
struct Monitor {
    id: u64,
    handle: ClientHandle,
}

/// The registry (one per server, in `Shared`).
#[derive(Default)]
pub struct Clients {
    map: RwLock<BTreeMap<u64, Arc<ClientEntry>>>,
    monitors: RwLock<Vec<Monitor>>,
    monitoring: AtomicBool,
    /// Unix ms at which the pause ends (0 = no pause).
    pause_until: AtomicU64,
    /// The pause covers every command (else writes only).
    pause_all: AtomicBool,
    /// Connections waiting for the pause to end.
    paused: Mutex<Vec<ClientHandle>>,
}

/// Unix time in milliseconds.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Clients {
    /// Registers a new client and returns its entry.
    pub fn register(
        &self,
        session: &Session,
        local: SocketAddr,
        fd: i64,
        handle: ClientHandle,
    ) -> Arc<ClientEntry> {
        let entry = Arc::new(ClientEntry {
            id: session.id,
            peer: session.peer,
            local,
            fd,
            created: session.created,
            handle,
            view: Mutex::new(View::of(session)),
        });
        self.map.write().insert(session.id, entry.clone());
        entry
    }

    /// The client left.
    pub fn unregister(&self, id: u64) {
        self.map.write().remove(&id);
        self.remove_monitor(id);
    }

    /// Every client, in id (connection) order.
    pub fn all(&self) -> Vec<Arc<ClientEntry>> {
        self.map.read().values().cloned().collect()
    }

    /// One client.
    pub fn get(&self, id: u64) -> Option<Arc<ClientEntry>> {
        self.map.read().get(&id).cloned()
    }

    // ---- MONITOR --------------------------------------------------------------------------

    /// Adds a MONITOR client.
    pub fn add_monitor(&self, id: u64, handle: ClientHandle) {
        let mut m = self.monitors.write();
        if !m.iter().any(|x| x.id == id) {
            m.push(Monitor { id, handle });
        }
        self.monitoring.store(true, Ordering::Release);
    }

    /// Removes a MONITOR client (RESET, disconnect).
    pub fn remove_monitor(&self, id: u64) {
        if !self.monitoring.load(Ordering::Acquire) {
            return;
        }
        let mut m = self.monitors.write();
        m.retain(|x| x.id != id);
        self.monitoring.store(!m.is_empty(), Ordering::Release);
    }

    /// True while some client monitors (one atomic load on every command).
    pub fn monitoring(&self) -> bool {
        self.monitoring.load(Ordering::Relaxed)
    }

    /// Sends a command as MONITOR shows it to every MONITOR client.
    pub fn feed_monitors(&self, db: u16, peer: &SocketAddr, args: &[Bytes], limit: OutputLimit) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut line =
            BytesMut::with_capacity(64 + args.iter().map(|a| a.len() + 3).sum::<usize>());
        line.extend_from_slice(
            format!(
                "+{}.{:06} [{} {}]",
                now.as_secs(),
                now.subsec_micros(),
                db,
                peer
            )
            .as_bytes(),
        );
        let redacted = redacted_args(args);
        for (i, a) in args.iter().enumerate() {
            line.extend_from_slice(b" ");
            if redacted.contains(&i) {
                line.extend_from_slice(b"\"(redacted)\"");
            } else {
                repr(&mut line, a);
            }
        }
        line.extend_from_slice(b"\r\n");
        let line = line.freeze();
        for m in self.monitors.read().iter() {
            let _ = m.handle.push(line.clone(), limit);
        }
    }

    // ---- CLIENT PAUSE ---------------------------------------------------------------------

    /// Pauses clients until `until_ms` (unix ms), every command (`all`) or writes only. A pause
    /// in force is only extended, never shortened or narrowed, as Redis does.
    pub fn pause(&self, until_ms: u64, all: bool) {
        let now = unix_ms();
        let current = self.pause_until.load(Ordering::Acquire);
        if current > now {
            self.pause_until
                .store(current.max(until_ms), Ordering::Release);
            if all {
                self.pause_all.store(true, Ordering::Release);
            }
        } else {
            self.pause_all.store(all, Ordering::Release);
            self.pause_until.store(until_ms, Ordering::Release);
        }
    }

    /// Ends the pause and resumes every waiting connection.
    pub fn unpause(&self) {
        self.pause_until.store(0, Ordering::Release);
        self.pause_all.store(false, Ordering::Release);
        let waiting = std::mem::take(&mut *self.paused.lock());
        for h in waiting {
            h.resume();
        }
    }

    /// True while a pause is in force (cheap: one atomic load unless paused).
    pub fn is_paused(&self) -> bool {
        let until = self.pause_until.load(Ordering::Relaxed);
        if until == 0 {
            return false;
        }
        if until > unix_ms() {
            return true;
        }
        // Over: back to the one-load check (unless a new pause was set meanwhile). The waiting
        // connections resume on their own timers.
        if self
            .pause_until
            .compare_exchange(until, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            self.paused.lock().clear();
        }
        false
    }

    /// How long a command with these traits must wait (ms), if a pause covers it.
    pub fn pause_left(&self, writes: bool) -> Option<u64> {
        let until = self.pause_until.load(Ordering::Acquire);
        if until == 0 {
            return None;
        }
        let now = unix_ms();
        if until <= now {
            return None;
        }
        (writes || self.pause_all.load(Ordering::Acquire)).then_some(until - now)
    }

    /// Remembers a connection that waits for the pause to end (resumed by CLIENT UNPAUSE).
    pub fn wait_for_unpause(&self, handle: ClientHandle) {
        let mut p = self.paused.lock();
        p.retain(|h| !h.is_closed());
        p.push(handle);
    }
}

/// The positions of the arguments MONITOR must not show (passwords and user names), as Redis
/// redacts them: every argument of AUTH, the user and password after HELLO's AUTH option,
/// MIGRATE's AUTH password and AUTH2 user and password.
fn redacted_args(args: &[Bytes]) -> Vec<usize> {
    let is = |i: usize, word: &str| {
        args.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
    };
    let mut out = Vec::new();
    if is(0, "auth") {
        out.extend(1..args.len());
    } else if is(0, "hello") {
        // HELLO [protover [AUTH user pass] [SETNAME name]]: scanned as Redis parses it.
        let mut j = 2;
        while j < args.len() {
            let more = args.len() - 1 - j;
            if is(j, "auth") && more >= 2 {
                out.extend([j + 1, j + 2]);
                j += 3;
            } else if is(j, "setname") && more >= 1 {
                j += 2;
            } else {
                break;
            }
        }
    } else if is(0, "migrate") {
        let mut j = 6;
        while j < args.len() {
            let more = args.len() - 1 - j;
            if is(j, "auth") && more >= 1 {
                out.push(j + 1);
                j += 2;
            } else if is(j, "auth2") && more >= 2 {
                out.extend([j + 1, j + 2]);
                j += 3;
            } else if is(j, "keys") {
                break;
            } else {
                j += 1;
            }
        }
    }
    out
}

/// Appends `s` quoted as Redis's `sdscatrepr` does (MONITOR's arguments).
pub fn repr(out: &mut BytesMut, s: &[u8]) {
    out.extend_from_slice(b"\"");
    for &c in s {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.extend_from_slice(&[c]),
            c => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.extend_from_slice(b"\"");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_quotes_like_redis() {
        let mut out = BytesMut::new();
        repr(&mut out, b"a \"b\"\\\n\x01\xff");
        assert_eq!(&out[..], b"\"a \\\"b\\\"\\\\\\n\\x01\\xff\"");
    }

    #[test]
    fn monitor_redacts_credentials() {
        let args = |words: &[&str]| -> Vec<Bytes> {
            words
                .iter()
                .map(|w| Bytes::copy_from_slice(w.as_bytes()))
                .collect()
        };
        assert_eq!(redacted_args(&args(&["AUTH", "pw"])), vec![1]);
        assert_eq!(redacted_args(&args(&["auth", "user", "pw"])), vec![1, 2]);
        assert_eq!(
            redacted_args(&args(&["HELLO", "2", "SETNAME", "n", "AUTH", "u", "p"])),
            vec![5, 6]
        );
        assert!(redacted_args(&args(&["HELLO", "2", "AUTH", "u"])).is_empty());
        assert!(redacted_args(&args(&["SET", "auth", "pw"])).is_empty());
        assert_eq!(
            redacted_args(&args(&[
                "MIGRATE", "h", "1", "k", "0", "5", "COPY", "AUTH", "p"
            ])),
            vec![8]
        );
    }
}
