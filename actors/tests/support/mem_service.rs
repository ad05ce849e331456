//! An in-memory [`Service`] for the actor pipeline's tests and its benchmark server:
//! PING, ECHO, SET, GET, INCR, DEL, CLIENT ID / SETNAME / GETNAME, CONFIG GET (answers an
//! empty value, enough for redis-benchmark), SLEEP ms (executes slowly, for in-flight tests),
//! QUIT and SHUTDOWN, over a `Mutex<HashMap>`, with RESP2 encoded by hand; and, to drive the
//! [`ClientHandle`] paths: PUSH id hard-limit text (out-of-band `+text` to client `id`; `:1`
//! pushed, `:0` refused), KILL id, RESUME id, and HOLD ms (the first time, asks the connection
//! to retry it after `ms`: [`Flow::Retry`]; then answers `+HELD`).

#![allow(dead_code)]

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Mutex,
    },
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use talus_actors::{Args, ClientHandle, ClientInfo, Flow, OutputLimit, Service};

/// The in-memory service, with counters the tests observe.
#[derive(Default)]
pub struct MemService {
    data: Mutex<HashMap<Bytes, Bytes>>,
    /// Sessions opened and not yet closed.
    pub open_sessions: AtomicUsize,
    /// Batches executing right now.
    pub executing: AtomicUsize,
    /// Batches executed.
    pub batches: AtomicUsize,
    /// `Service::shutdown` ran.
    pub shutdown_called: AtomicBool,
    /// Every open connection's handle, by client id.
    handles: Mutex<HashMap<u64, ClientHandle>>,
}

/// Per-connection state.
pub struct Session {
    id: u64,
    name: Option<Bytes>,
    /// HOLD already asked for its retry.
    held: bool,
}

fn bulk(out: &mut BytesMut, b: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

fn int(out: &mut BytesMut, n: i64) {
    out.extend_from_slice(format!(":{n}\r\n").as_bytes());
}

fn arity(out: &mut BytesMut, name: &str) {
    out.extend_from_slice(
        format!("-ERR wrong number of arguments for '{name}' command\r\n").as_bytes(),
    );
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemService {
    /// The handle of the client whose id is `id` (decimal).
    fn handle(&self, id: &[u8]) -> Option<ClientHandle> {
        let id: u64 = std::str::from_utf8(id).ok()?.parse().ok()?;
        lock(&self.handles).get(&id).cloned()
    }

    fn run(&self, s: &mut Session, args: &Args, out: &mut BytesMut) -> Flow {
        let name = args[0].to_ascii_lowercase();
        match (name.as_slice(), args.len()) {
            (b"ping", 1) => out.extend_from_slice(b"+PONG\r\n"),
            (b"ping", 2) | (b"echo", 2) => bulk(out, &args[1]),
            (b"ping", _) => arity(out, "ping"),
            (b"echo", _) => arity(out, "echo"),
            (b"set", 3) => {
                let mut d = self.data.lock().unwrap_or_else(|e| e.into_inner());
                d.insert(args[1].clone(), args[2].clone());
                out.extend_from_slice(b"+OK\r\n");
            }
            (b"set", _) => arity(out, "set"),
            (b"get", 2) => {
                let d = self.data.lock().unwrap_or_else(|e| e.into_inner());
                match d.get(&args[1]) {
                    Some(v) => bulk(out, v),
                    None => out.extend_from_slice(b"$-1\r\n"),
                }
            }
            (b"get", _) => arity(out, "get"),
            (b"incr", 2) => {
                let mut d = self.data.lock().unwrap_or_else(|e| e.into_inner());
                let cur = match d.get(&args[1]) {
                    None => Some(0i64),
                    Some(v) => std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()),
                };
                match cur.and_then(|n| n.checked_add(1)) {
                    Some(n) => {
                        d.insert(args[1].clone(), Bytes::from(n.to_string()));
                        int(out, n);
                    }
                    None => {
                        out.extend_from_slice(b"-ERR value is not an integer or out of range\r\n")
                    }
                }
            }
            (b"incr", _) => arity(out, "incr"),
            (b"del", n) if n >= 2 => {
                let mut d = self.data.lock().unwrap_or_else(|e| e.into_inner());
                let removed = args[1..].iter().filter(|k| d.remove(*k).is_some()).count();
                int(out, removed as i64);
            }
            (b"client", 2) if args[1].eq_ignore_ascii_case(b"id") => int(out, s.id as i64),
            (b"client", 2) if args[1].eq_ignore_ascii_case(b"getname") => match &s.name {
                Some(n) => bulk(out, n),
                None => out.extend_from_slice(b"$-1\r\n"),
            },
            (b"client", 3) if args[1].eq_ignore_ascii_case(b"setname") => {
                s.name = Some(args[2].clone());
                out.extend_from_slice(b"+OK\r\n");
            }
            (b"config", 3) if args[1].eq_ignore_ascii_case(b"get") => {
                out.extend_from_slice(b"*2\r\n");
                bulk(out, &args[2]);
                bulk(out, b"");
            }
            (b"sleep", 2) => {
                let ms = std::str::from_utf8(&args[1])
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(0);
                std::thread::sleep(Duration::from_millis(ms));
                out.extend_from_slice(b"+OK\r\n");
            }
            (b"push", 4) => {
                let target = self.handle(&args[1]);
                let hard = std::str::from_utf8(&args[2])
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let mut msg = BytesMut::from(&b"+"[..]);
                msg.extend_from_slice(&args[3]);
                msg.extend_from_slice(b"\r\n");
                let limit = OutputLimit {
                    hard,
                    ..OutputLimit::default()
                };
                let pushed = target.is_some_and(|h| h.push(msg.freeze(), limit).is_ok());
                int(out, pushed as i64);
            }
            (b"kill", 2) => {
                if let Some(h) = self.handle(&args[1]) {
                    h.kill();
                }
                out.extend_from_slice(b"+OK\r\n");
            }
            (b"resume", 2) => {
                if let Some(h) = self.handle(&args[1]) {
                    h.resume();
                }
                out.extend_from_slice(b"+OK\r\n");
            }
            (b"hold", 2) if !s.held => {
                s.held = true;
                let ms = std::str::from_utf8(&args[1])
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                return Flow::Retry {
                    after_ms: ms,
                    done: 0,
                };
            }
            (b"hold", 2) => {
                s.held = false;
                out.extend_from_slice(b"+HELD\r\n");
            }
            (b"quit", _) => {
                out.extend_from_slice(b"+OK\r\n");
                return Flow::Close;
            }
            (b"shutdown", _) => return Flow::Shutdown,
            _ => {
                out.extend_from_slice(b"-ERR unknown command '");
                out.extend_from_slice(&args[0]);
                out.extend_from_slice(b"'\r\n");
            }
        }
        Flow::Continue
    }
}

impl Service for MemService {
    type Session = Session;

    fn open_session(&self, info: &ClientInfo) -> Session {
        self.open_sessions.fetch_add(1, Ordering::SeqCst);
        lock(&self.handles).insert(info.id, info.handle.clone());
        Session {
            id: info.id,
            name: None,
            held: false,
        }
    }

    fn execute(&self, session: &mut Session, cmds: &[Args], out: &mut BytesMut) -> Flow {
        self.executing.fetch_add(1, Ordering::SeqCst);
        let mut flow = Flow::Continue;
        for (i, args) in cmds.iter().enumerate() {
            flow = match self.run(session, args, out) {
                Flow::Retry { after_ms, .. } => Flow::Retry { after_ms, done: i },
                other => other,
            };
            if flow != Flow::Continue {
                break;
            }
        }
        self.batches.fetch_add(1, Ordering::SeqCst);
        self.executing.fetch_sub(1, Ordering::SeqCst);
        flow
    }

    fn close_session(&self, session: Session) {
        lock(&self.handles).remove(&session.id);
        self.open_sessions.fetch_sub(1, Ordering::SeqCst);
    }

    fn shutdown(&self) {
        self.shutdown_called.store(true, Ordering::SeqCst);
    }
}
