//! Pub/sub load generator (used by `bench/pubsub.sh`; redis-benchmark has no subscriber side).
//!
//! Load mode (the default): `--subscribers` connections each SUBSCRIBE to `--channels`
//! channels (`ch:0`, `ch:1`, ...; with `--patterns 1` they PSUBSCRIBE `ch:*` instead) and, once
//! every subscription is confirmed, `--publishers` connections send `PUBLISH ch:<i> <payload>`
//! (`--size` bytes, channels taken in turn) `--pipeline` at a time and wait for the integer
//! replies (how many subscribers each message reached). After `--warmup` seconds it measures
//! for `--seconds`: PUBLISHes per second (publisher side) and messages delivered per second
//! (counted by the subscribers as they parse the pushes). Then the publishers stop, the tool
//! waits (polling, at most `--drain` seconds) until the subscribers have received as many
//! messages as the PUBLISH replies added up to, and checks that nothing was lost, that every
//! payload had the right size and that every subscriber got every message.
//!
//! `--max-lag N` (default 1000) keeps the publishers at most N messages per subscriber ahead
//! of the deliveries (0: no bound), so the server's output buffers stay small and the figure
//! is the rate at which messages reach subscribers, not the rate at which they pile up.
//!
//! Probe mode (`--probe`): times `--probes` round trips of `INFO` and of `CLIENT LIST` on one
//! more connection while `--idle-clients` connections sit idle, and prints the median and the
//! maximum of each in milliseconds.
//!
//! `--idle-clients N` opens N idle connections (each answers a PING first) and holds them for
//! the whole run, in either mode; the process needs `ulimit -n` above N.
//!
//! ```text
//! cargo run --release --example pubsub_load -- --addr 127.0.0.1:6379 \
//!     [--subscribers 50] [--channels 1] [--patterns 0] [--publishers 4] [--size 64] \
//!     [--pipeline 16] [--seconds 10] [--warmup 1] [--max-lag 1000] [--drain 10] \
//!     [--idle-clients 0] [--threads 0]
//! cargo run --release --example pubsub_load -- --addr 127.0.0.1:6379 \
//!     --idle-clients 1000 --probe [--probes 20]
//! ```
//!
//! Output (load mode): `published/s: N`, `delivered/s: N`, then the window, the set-up and the
//! check; exit status 0 when the check passed, 1 on any failure (a refused SUBSCRIBE or
//! PUBLISH, a closed connection, lost or malformed messages), 2 on bad options. Probe mode
//! prints `INFO: median X ms, max Y ms (...)` and `CLIENT LIST: ...` and exits 1 if either
//! command answered an error.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

struct Opts {
    addr: String,
    subscribers: usize,
    channels: usize,
    patterns: bool,
    publishers: usize,
    size: usize,
    pipeline: usize,
    seconds: f64,
    warmup: f64,
    max_lag: u64,
    drain: f64,
    idle_clients: usize,
    probe: bool,
    probes: usize,
    threads: usize,
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        addr: "127.0.0.1:6379".into(),
        subscribers: 50,
        channels: 1,
        patterns: false,
        publishers: 4,
        size: 64,
        pipeline: 16,
        seconds: 10.0,
        warmup: 1.0,
        max_lag: 1000,
        drain: 10.0,
        idle_clients: 0,
        probe: false,
        probes: 20,
        threads: 0,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let name = args[i].as_str();
        // `--probe` may stand alone; every other option takes a value.
        let value = match args.get(i + 1) {
            Some(v) if name != "--probe" || !v.starts_with("--") => {
                i += 2;
                v.as_str()
            }
            _ if name == "--probe" => {
                i += 1;
                "1"
            }
            _ => return Err(format!("missing value for {name}")),
        };
        let num = || {
            value
                .parse::<u64>()
                .map_err(|e| format!("{name} {value}: {e}"))
        };
        let secs = || match value.parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
            _ => Err(format!("{name} {value}: not a number of seconds")),
        };
        match name {
            "--addr" => o.addr = value.to_string(),
            "--subscribers" => o.subscribers = num()? as usize,
            "--channels" => o.channels = (num()? as usize).max(1),
            "--patterns" => o.patterns = num()? != 0,
            "--publishers" => o.publishers = num()? as usize,
            "--size" => o.size = num()? as usize,
            "--pipeline" => o.pipeline = (num()? as usize).max(1),
            "--seconds" => o.seconds = secs()?,
            "--warmup" => o.warmup = secs()?,
            "--max-lag" => o.max_lag = num()?,
            "--drain" => o.drain = secs()?,
            "--idle-clients" => o.idle_clients = num()? as usize,
            "--probe" => o.probe = num()? != 0,
            "--probes" => o.probes = (num()? as usize).max(1),
            "--threads" => o.threads = num()? as usize,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if !o.probe && (o.subscribers == 0 || o.publishers == 0) {
        return Err("--subscribers and --publishers must be at least 1".into());
    }
    if o.seconds <= 0.0 {
        return Err("--seconds must be above 0".into());
    }
    Ok(o)
}

/// One RESP command.
fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

// --- RESP parsing ----------------------------------------------------------------------------

/// A RESP2 scalar, borrowed from the read buffer.
#[derive(Clone, Copy)]
enum Item<'a> {
    Simple(&'a [u8]),
    Error(&'a [u8]),
    Int(i64),
    Bulk(&'a [u8]),
    Nil,
}

/// The most elements an array may have here (a `pmessage` push has 4).
const MAX_ITEMS: usize = 4;

/// One reply or push: a scalar, or an array of at most `MAX_ITEMS` scalars (all this tool
/// expects; anything else is a protocol error).
enum Frame<'a> {
    One(Item<'a>),
    Array(usize, [Item<'a>; MAX_ITEMS]),
}

/// For error messages: a reply shown as text, cut short.
fn show(f: &Frame) -> String {
    fn item(i: &Item) -> String {
        let text = |b: &[u8]| {
            let s = String::from_utf8_lossy(&b[..b.len().min(60)]).into_owned();
            if b.len() > 60 {
                s + "..."
            } else {
                s
            }
        };
        match i {
            Item::Simple(b) => format!("+{}", text(b)),
            Item::Error(b) => format!("-{}", text(b)),
            Item::Int(n) => format!(":{n}"),
            Item::Bulk(b) => format!("\"{}\"", text(b)),
            Item::Nil => "(nil)".into(),
        }
    }
    match f {
        Frame::One(i) => item(i),
        Frame::Array(n, items) => {
            let parts: Vec<String> = items[..*n].iter().map(item).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

/// A RESP integer (a length or an integer reply).
fn int(b: &[u8]) -> Result<i64, String> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(format!("bad integer {:?}", String::from_utf8_lossy(b)));
    }
    let n = digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Ok(if neg { -n } else { n })
}

/// The CRLF-terminated line at `pos` (without the CRLF) and the position after it; `None`
/// while it is incomplete.
fn line(buf: &[u8], pos: usize) -> Result<Option<(&[u8], usize)>, String> {
    let Some(i) = buf[pos..].iter().position(|&b| b == b'\n') else {
        return Ok(None);
    };
    let end = pos + i;
    if i == 0 || buf[end - 1] != b'\r' {
        return Err("protocol error: a line not ended by CRLF".into());
    }
    Ok(Some((&buf[pos..end - 1], end + 1)))
}

/// The scalar at `pos` and the position after it; `None` while it is incomplete.
fn parse_item(buf: &[u8], pos: usize) -> Result<Option<(Item<'_>, usize)>, String> {
    let Some((l, next)) = line(buf, pos)? else {
        return Ok(None);
    };
    let Some((&tag, body)) = l.split_first() else {
        return Err("protocol error: an empty line".into());
    };
    let item = match tag {
        b'+' => Item::Simple(body),
        b'-' => Item::Error(body),
        b':' => Item::Int(int(body)?),
        b'$' => {
            let Ok(n) = usize::try_from(int(body)?) else {
                return Ok(Some((Item::Nil, next)));
            };
            if buf.len() < next + n + 2 {
                return Ok(None);
            }
            if &buf[next + n..next + n + 2] != b"\r\n" {
                return Err("protocol error: a bulk string not ended by CRLF".into());
            }
            return Ok(Some((Item::Bulk(&buf[next..next + n]), next + n + 2)));
        }
        b'*' | b'>' => return Err("protocol error: a nested array".into()),
        other => {
            return Err(format!(
                "protocol error: unexpected type byte {:?}",
                other as char
            ))
        }
    };
    Ok(Some((item, next)))
}

/// The frame at the start of `buf` and its length; `None` while it is incomplete.
fn parse_frame(buf: &[u8]) -> Result<Option<(Frame<'_>, usize)>, String> {
    match buf.first() {
        None => Ok(None),
        Some(b'*' | b'>') => {
            let Some((l, mut pos)) = line(buf, 0)? else {
                return Ok(None);
            };
            let Ok(n) = usize::try_from(int(&l[1..])?) else {
                return Ok(Some((Frame::One(Item::Nil), pos)));
            };
            if n > MAX_ITEMS {
                return Err(format!("unexpected array of {n} elements"));
            }
            let mut items = [Item::Nil; MAX_ITEMS];
            for slot in items.iter_mut().take(n) {
                let Some((item, next)) = parse_item(buf, pos)? else {
                    return Ok(None);
                };
                *slot = item;
                pos = next;
            }
            Ok(Some((Frame::Array(n, items), pos)))
        }
        Some(_) => Ok(parse_item(buf, 0)?.map(|(i, n)| (Frame::One(i), n))),
    }
}

// --- connections -----------------------------------------------------------------------------

/// A connection with a read buffer that frames are parsed from in place.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Conn {
    async fn connect(addr: &str, buf_size: usize) -> Result<Conn, String> {
        let s = TcpStream::connect(addr).await.map_err(|e| {
            let hint = if e.raw_os_error() == Some(24) {
                " (too many open files: raise ulimit -n)"
            } else {
                ""
            };
            format!("connect {addr}: {e}{hint}")
        })?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn {
            s,
            buf: vec![0; buf_size.max(64)],
            start: 0,
            end: 0,
        })
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.s
            .write_all(bytes)
            .await
            .map_err(|e| format!("write: {e}"))
    }

    /// The bytes received and not consumed yet.
    fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads more bytes (making room first: moves the pending bytes to the front, or grows
    /// the buffer when one frame fills it). A closed connection is an error.
    async fn fill(&mut self) -> Result<(), String> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        match self.s.read(&mut self.buf[self.end..]).await {
            Ok(0) => Err("the server closed the connection".into()),
            Ok(n) => {
                self.end += n;
                Ok(())
            }
            Err(e) => Err(format!("read: {e}")),
        }
    }

    /// Waits until a whole frame is buffered and returns its length (parse it again from
    /// `pending()`: returning the borrowed frame from this loop does not borrow-check).
    async fn next_frame(&mut self) -> Result<usize, String> {
        loop {
            if let Some((_, n)) = parse_frame(self.pending())? {
                return Ok(n);
            }
            self.fill().await?;
        }
    }

    /// Sends one command and returns the length of its reply (see `next_frame`).
    async fn call(&mut self, req: &[u8]) -> Result<usize, String> {
        self.send(req).await?;
        self.next_frame().await
    }
}

/// Opens `n` connections (a hundred at a time), each answering a PING before it counts.
async fn open_idle(addr: &str, n: usize) -> Result<Vec<Conn>, String> {
    let mut ping = Vec::new();
    encode(&mut ping, &[b"PING"]);
    let ping = Arc::new(ping);
    let mut conns = Vec::with_capacity(n);
    while conns.len() < n {
        let mut set = JoinSet::new();
        for _ in 0..(n - conns.len()).min(100) {
            let (addr, ping) = (addr.to_string(), ping.clone());
            set.spawn(async move {
                let mut c = Conn::connect(&addr, 256).await?;
                let len = within("PING", c.call(&ping)).await?;
                match parse_frame(c.pending())? {
                    Some((Frame::One(Item::Simple(b"PONG")), _)) => {}
                    Some((f, _)) => return Err(format!("PING answered {}", show(&f))),
                    None => return Err("PING: no reply".into()),
                }
                c.consume(len);
                Ok::<_, String>(c)
            });
        }
        while let Some(r) = set.join_next().await {
            let c = r
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("idle client {}: {e}", conns.len() + 1))?;
            conns.push(c);
        }
    }
    Ok(conns)
}

// --- load mode -------------------------------------------------------------------------------

/// What the tasks share with the main task.
struct Shared {
    /// Set when the publishers must stop.
    stop: AtomicBool,
    /// PUBLISH commands answered.
    published: AtomicU64,
    /// The sum of the PUBLISH replies (how many deliveries the server promised).
    receivers: AtomicU64,
    /// Messages the subscribers received, all together and each.
    delivered: AtomicU64,
    per_subscriber: Vec<AtomicU64>,
    /// Messages with a payload of the wrong size.
    bad_payloads: AtomicU64,
    /// The first failure of any task (the main task reports it and exits).
    failure: Mutex<Option<String>>,
}

impl Shared {
    fn fail(&self, e: String) {
        if let Ok(mut f) = self.failure.lock() {
            f.get_or_insert(e);
        }
    }

    fn failed(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }
}

/// Connects, subscribes (one SUBSCRIBE naming every channel, or PSUBSCRIBE `ch:*`) and waits
/// for every confirmation.
async fn subscribe(addr: &str, channels: usize, patterns: bool) -> Result<Conn, String> {
    let mut c = Conn::connect(addr, 64 * 1024).await?;
    let names: Vec<String> = (0..channels).map(|i| format!("ch:{i}")).collect();
    let (cmd, kind, confirmations): (&[u8], &[u8], usize) = if patterns {
        (b"PSUBSCRIBE", b"psubscribe", 1)
    } else {
        (b"SUBSCRIBE", b"subscribe", channels)
    };
    let mut args: Vec<&[u8]> = vec![cmd];
    if patterns {
        args.push(b"ch:*");
    } else {
        args.extend(names.iter().map(|n| n.as_bytes()));
    }
    let mut req = Vec::new();
    encode(&mut req, &args);
    c.send(&req).await?;
    let what = String::from_utf8_lossy(cmd);
    for _ in 0..confirmations {
        let len = c.next_frame().await?;
        match parse_frame(c.pending())? {
            Some((Frame::Array(3, [Item::Bulk(k), Item::Bulk(_), Item::Int(_), _]), _))
                if k.eq_ignore_ascii_case(kind) => {}
            Some((Frame::One(Item::Error(e)), _)) => {
                return Err(format!(
                    "the server does not support {what}: it answered -{}",
                    String::from_utf8_lossy(e)
                ))
            }
            Some((f, _)) => return Err(format!("unexpected reply to {what}: {}", show(&f))),
            None => return Err(format!("{what}: no reply")),
        }
        c.consume(len);
    }
    Ok(c)
}

/// Counts the message pushes of one subscriber until the connection fails.
async fn run_subscriber(
    mut c: Conn,
    index: usize,
    size: usize,
    patterns: bool,
    sh: Arc<Shared>,
) -> Result<(), String> {
    let mut total = 0u64;
    loop {
        // Every whole frame buffered, then one update of the shared counters.
        let (mut batch, mut bad) = (0u64, 0u64);
        while let Some((frame, len)) = parse_frame(c.pending())? {
            let payload = match frame {
                Frame::Array(3, [Item::Bulk(b"message"), Item::Bulk(_), Item::Bulk(p), _])
                    if !patterns =>
                {
                    p
                }
                Frame::Array(
                    4,
                    [Item::Bulk(b"pmessage"), Item::Bulk(_), Item::Bulk(_), Item::Bulk(p)],
                ) if patterns => p,
                other => {
                    return Err(format!(
                        "subscriber {index} got an unexpected frame after {total} messages: {}",
                        show(&other)
                    ))
                }
            };
            if payload.len() != size {
                bad += 1;
            }
            batch += 1;
            c.consume(len);
        }
        if batch > 0 {
            total += batch;
            sh.delivered.fetch_add(batch, Ordering::Relaxed);
            sh.per_subscriber[index].fetch_add(batch, Ordering::Relaxed);
            if bad > 0 {
                sh.bad_payloads.fetch_add(bad, Ordering::Relaxed);
            }
        }
        c.fill()
            .await
            .map_err(|e| format!("subscriber {index} after {total} messages: {e}"))?;
    }
}

/// Publishes pipelines until `stop`, adding up the replies.
async fn run_publisher(
    addr: String,
    index: usize,
    o: Arc<Opts>,
    sh: Arc<Shared>,
) -> Result<(), String> {
    let mut c = Conn::connect(&addr, 16 * 1024).await?;
    let payload = vec![b'x'; o.size];
    let commands: Vec<Vec<u8>> = (0..o.channels)
        .map(|i| {
            let mut cmd = Vec::new();
            encode(
                &mut cmd,
                &[b"PUBLISH", format!("ch:{i}").as_bytes(), &payload],
            );
            cmd
        })
        .collect();
    let lag_bound = o.max_lag.saturating_mul(o.subscribers as u64);
    let mut next = index % o.channels;
    let mut req = Vec::with_capacity(commands[0].len() * o.pipeline);
    while !sh.stop.load(Ordering::Relaxed) {
        // Wait while the subscribers are too far behind.
        while lag_bound > 0
            && sh.receivers.load(Ordering::Relaxed)
                > sh.delivered.load(Ordering::Relaxed) + lag_bound
        {
            if sh.stop.load(Ordering::Relaxed) || sh.failed().is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        req.clear();
        for _ in 0..o.pipeline {
            req.extend_from_slice(&commands[next]);
            next = (next + 1) % o.channels;
        }
        c.send(&req).await?;
        let mut receivers = 0u64;
        for _ in 0..o.pipeline {
            let len = c.next_frame().await?;
            match parse_frame(c.pending())? {
                Some((Frame::One(Item::Int(n)), _)) if n >= 0 => receivers += n as u64,
                Some((Frame::One(Item::Error(e)), _)) => {
                    return Err(format!(
                        "the server refused PUBLISH: -{}",
                        String::from_utf8_lossy(e)
                    ))
                }
                Some((f, _)) => return Err(format!("unexpected reply to PUBLISH: {}", show(&f))),
                None => return Err("PUBLISH: no reply".into()),
            }
            c.consume(len);
        }
        sh.published.fetch_add(o.pipeline as u64, Ordering::Relaxed);
        sh.receivers.fetch_add(receivers, Ordering::Relaxed);
    }
    Ok(())
}

/// Sleeps `secs`, returning early with the first failure of a task.
async fn wait(sh: &Shared, secs: f64) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        if let Some(e) = sh.failed() {
            return Err(e);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        tokio::time::sleep((deadline - now).min(Duration::from_millis(20))).await;
    }
}

/// How long the server may take to answer a request before the tool gives up on it.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// `fut`, or an error naming `what` if it takes longer than `REPLY_TIMEOUT` (a server that
/// stops answering must not hang the benchmark).
async fn within<T>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(REPLY_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "{what}: no answer within {} s",
                REPLY_TIMEOUT.as_secs()
            ))
        })
}

/// The load mode; `Ok(false)` when the final check failed.
async fn load(o: Arc<Opts>) -> Result<bool, String> {
    let sh = Arc::new(Shared {
        stop: AtomicBool::new(false),
        published: AtomicU64::new(0),
        receivers: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        per_subscriber: (0..o.subscribers).map(|_| AtomicU64::new(0)).collect(),
        bad_payloads: AtomicU64::new(0),
        failure: Mutex::new(None),
    });

    // Every subscription confirmed before the first PUBLISH.
    let mut set = JoinSet::new();
    for i in 0..o.subscribers {
        let (addr, channels, patterns) = (o.addr.clone(), o.channels, o.patterns);
        set.spawn(async move {
            (
                i,
                within("SUBSCRIBE", subscribe(&addr, channels, patterns)).await,
            )
        });
    }
    let mut subs = Vec::with_capacity(o.subscribers);
    while let Some(r) = set.join_next().await {
        let (i, c) = r.map_err(|e| e.to_string())?;
        subs.push((i, c.map_err(|e| format!("subscriber {i}: {e}"))?));
    }
    for (i, c) in subs {
        let (sh, size, patterns) = (sh.clone(), o.size, o.patterns);
        tokio::spawn(async move {
            if let Err(e) = run_subscriber(c, i, size, patterns, sh.clone()).await {
                sh.fail(e);
            }
        });
    }

    let publishers: Vec<_> = (0..o.publishers)
        .map(|i| {
            let (addr, o, sh) = (o.addr.clone(), o.clone(), sh.clone());
            tokio::spawn(async move {
                if let Err(e) = run_publisher(addr, i, o, sh.clone()).await {
                    sh.fail(format!("publisher {i}: {e}"));
                }
            })
        })
        .collect();

    wait(&sh, o.warmup).await?;
    let (t0, d0, p0) = (
        Instant::now(),
        sh.delivered.load(Ordering::Relaxed),
        sh.published.load(Ordering::Relaxed),
    );
    wait(&sh, o.seconds).await?;
    let (t1, d1, p1) = (
        Instant::now(),
        sh.delivered.load(Ordering::Relaxed),
        sh.published.load(Ordering::Relaxed),
    );
    sh.stop.store(true, Ordering::Relaxed);
    for p in publishers {
        // A publisher waits for the replies of its last pipeline.
        within("PUBLISH", async { p.await.map_err(|e| e.to_string()) }).await?;
    }
    if let Some(e) = sh.failed() {
        return Err(e);
    }

    // Drain: wait until the subscribers have every message the replies promised.
    let published = sh.published.load(Ordering::Relaxed);
    let receivers = sh.receivers.load(Ordering::Relaxed);
    let drain_start = Instant::now();
    let drain_deadline = drain_start + Duration::from_secs_f64(o.drain);
    while sh.delivered.load(Ordering::Relaxed) < receivers && Instant::now() < drain_deadline {
        if let Some(e) = sh.failed() {
            return Err(e);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let drained_in = drain_start.elapsed().as_secs_f64();
    // A short grace period to catch extra (duplicate) deliveries.
    tokio::time::sleep(Duration::from_millis(50)).await;
    if let Some(e) = sh.failed() {
        return Err(e);
    }
    let delivered = sh.delivered.load(Ordering::Relaxed);

    let window = (t1 - t0).as_secs_f64();
    println!("published/s: {:.0}", (p1 - p0) as f64 / window);
    println!("delivered/s: {:.0}", (d1 - d0) as f64 / window);
    println!(
        "window: {window:.2} s after a {} s warm-up: {} published, {} delivered",
        o.warmup,
        p1 - p0,
        d1 - d0
    );
    let how = if o.patterns {
        "PSUBSCRIBE ch:*".to_string()
    } else if o.channels == 1 {
        "SUBSCRIBE ch:0".to_string()
    } else {
        format!("SUBSCRIBE ch:0..ch:{}", o.channels - 1)
    };
    println!(
        "setup: {} subscribers ({how}), {} channel(s), {} publishers, pipeline {}, {}-byte \
         payloads, max lag {} per subscriber{}",
        o.subscribers,
        o.channels,
        o.publishers,
        o.pipeline,
        o.size,
        o.max_lag,
        if o.idle_clients > 0 {
            format!(", {} idle clients", o.idle_clients)
        } else {
            String::new()
        }
    );

    let mut problems = Vec::new();
    let expected = published * o.subscribers as u64;
    if receivers != expected {
        problems.push(format!(
            "PUBLISH replies add up to {receivers}, expected {expected} ({} subscribers x {published})",
            o.subscribers
        ));
    }
    if delivered < receivers {
        problems.push(format!(
            "lost {} messages ({delivered} delivered of {receivers} after {:.1} s)",
            receivers - delivered,
            o.drain
        ));
    } else if delivered > receivers {
        problems.push(format!(
            "{} messages more than the replies promised ({delivered} of {receivers})",
            delivered - receivers
        ));
    }
    let counts: Vec<u64> = sh
        .per_subscriber
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect();
    let (lo, hi) = (
        counts.iter().copied().min().unwrap_or(0),
        counts.iter().copied().max().unwrap_or(0),
    );
    if lo != published || hi != published {
        problems.push(format!(
            "subscribers got {lo}..{hi} messages each, expected {published}"
        ));
    }
    let bad = sh.bad_payloads.load(Ordering::Relaxed);
    if bad > 0 {
        problems.push(format!("{bad} payloads were not {} bytes", o.size));
    }
    if problems.is_empty() {
        println!(
            "check: OK: {published} published, {receivers} receivers in the replies ({:.2} per \
             PUBLISH), {delivered} delivered (drained in {drained_in:.2} s), every subscriber \
             got {published}",
            receivers as f64 / published.max(1) as f64
        );
        Ok(true)
    } else {
        println!("check: FAILED: {}", problems.join("; "));
        Ok(false)
    }
}

// --- probe mode ------------------------------------------------------------------------------

/// Times `probes` round trips each of INFO and CLIENT LIST; `Ok(false)` if either answered an
/// error.
async fn probe(o: &Opts) -> Result<bool, String> {
    let mut c = Conn::connect(&o.addr, 256 * 1024).await?;
    let mut ok = true;
    let commands: [(&str, &[&[u8]]); 2] =
        [("INFO", &[b"INFO"]), ("CLIENT LIST", &[b"CLIENT", b"LIST"])];
    for (name, args) in commands {
        let mut req = Vec::new();
        encode(&mut req, args);
        let mut times = Vec::with_capacity(o.probes);
        let (mut bytes, mut lines) = (0, 0);
        let mut error = None;
        for _ in 0..o.probes {
            let start = Instant::now();
            let len = within(name, c.call(&req)).await?;
            let elapsed = start.elapsed();
            match parse_frame(c.pending())? {
                Some((Frame::One(Item::Bulk(b)), _)) => {
                    bytes = b.len();
                    lines = b.iter().filter(|&&x| x == b'\n').count();
                }
                Some((Frame::One(Item::Error(e)), _)) => {
                    error = Some(String::from_utf8_lossy(e).into_owned());
                }
                Some((f, _)) => error = Some(format!("unexpected reply {}", show(&f))),
                None => error = Some("no reply".into()),
            }
            c.consume(len);
            if error.is_some() {
                break;
            }
            times.push(elapsed.as_secs_f64() * 1e3);
        }
        if let Some(e) = error {
            println!("{name}: error: {e}");
            ok = false;
            continue;
        }
        times.sort_by(f64::total_cmp);
        let median = times[(times.len() - 1) / 2];
        let max = times[times.len() - 1];
        let listed = if name == "CLIENT LIST" {
            format!(", {lines} clients listed")
        } else {
            String::new()
        };
        println!(
            "{name}: median {median:.3} ms, max {max:.3} ms ({} round trips, {} idle clients{listed}, \
             {bytes}-byte reply)",
            times.len(),
            o.idle_clients
        );
    }
    Ok(ok)
}

async fn run(o: Opts) -> Result<bool, String> {
    // Held open (idle) until the process exits.
    let _idle = open_idle(&o.addr, o.idle_clients).await?;
    if o.probe {
        probe(&o).await
    } else {
        load(Arc::new(o)).await
    }
}

fn main() {
    let o = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("pubsub_load: {e}");
            std::process::exit(2);
        }
    };
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if o.threads > 0 {
        rt.worker_threads(o.threads);
    }
    let rt = match rt.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pubsub_load: runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match rt.block_on(run(o)) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("pubsub_load: {e}");
            1
        }
    };
    // Exit without waiting for the subscriber tasks (they read until the connection closes).
    std::process::exit(code);
}
