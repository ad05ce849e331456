//! Test harness: starts the real `talus` binary on a free port with a temporary data dir and
//! connects with the `redis` crate. No fixed sleeps: readiness is polled with a deadline.
#![allow(dead_code)]

pub mod cmds;
pub mod query;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `talus` process; killed on drop.
pub struct TestServer {
    pub child: Option<Child>,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub args: Vec<String>,
}

impl TestServer {
    /// Starts a server with a fresh data dir and extra `--name value` arguments.
    pub fn start(extra: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let mut s = Self::start_in(&dir, extra);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on `dir` (kept by the caller), e.g. to restart on the same data.
    pub fn start_in(dir: &Path, extra: &[&str]) -> TestServer {
        Self::start_with_conf(None, dir, extra)
    }

    /// Starts a server reading the config file `conf` (the first argument, as redis-server
    /// wants it), then `--port 0 --dir <dir>`, then `extra` flags (which override the file).
    pub fn start_with_conf(conf: Option<&Path>, dir: &Path, extra: &[&str]) -> TestServer {
        let args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_talus"));
        if let Some(conf) = conf {
            cmd.arg(conf);
        }
        cmd.arg("--port").arg("0").arg("--dir").arg(dir);
        cmd.args(&args);
        cmd.env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn talus");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("ready to accept connections at ").nth(1) {
                        let addr = rest
                            .split([' ', ','])
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        let _ = tx.send(addr);
                        sent = true;
                    }
                }
                if std::env::var_os("TALUS_TEST_LOG").is_some() {
                    eprintln!("[talus] {line}");
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("talus did not start: {:?}", child.try_wait()));
        TestServer {
            child: Some(child),
            addr: addr.parse().expect("address"),
            dir: dir.to_path_buf(),
            _tmp: None,
            args,
        }
    }

    /// The redis URL.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// A synchronous connection.
    pub fn conn(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).expect("client");
        client
            .get_connection_with_timeout(Duration::from_secs(10))
            .expect("connect")
    }

    /// Kills the process with SIGKILL and waits for it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        unsafe_kill(c.id(), "TERM");
        wait_with_deadline(&mut c, Duration::from_secs(30))
    }

    /// Waits for the process to exit by itself (e.g. after SHUTDOWN).
    pub fn wait_exit(&mut self) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        wait_with_deadline(&mut c, Duration::from_secs(30))
    }
}

fn unsafe_kill(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

fn wait_with_deadline(c: &mut Child, d: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + d;
    loop {
        if let Ok(Some(s)) = c.try_wait() {
            return Some(s);
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            return c.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Polls `f` until it returns true or `timeout` passes; returns whether it became true.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// Sends raw bytes on a new TCP connection and reads until the server closes or `expect_len`
/// bytes arrived (or 10 s passed).
pub fn raw_exchange(addr: SocketAddr, input: &[u8], expect_len: Option<usize>) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.write_all(input).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        if let Some(n) = expect_len {
            if out.len() >= n {
                break;
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Runs a command and returns the raw `redis::Value` (errors as `Err`).
pub fn cmd_value(con: &mut redis::Connection, args: &[&[u8]]) -> redis::RedisResult<redis::Value> {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).unwrap_or("PING"));
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
}

/// Runs a command and returns the error text ("CODE message") it must fail with.
pub fn cmd_err(con: &mut redis::Connection, args: &[&str]) -> String {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    match c.query::<redis::Value>(con) {
        Ok(v) => panic!("expected an error from {args:?}, got {v:?}"),
        Err(e) => err_text(&e),
    }
}

/// The full error text as Redis sent it ("CODE message").
pub fn err_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// A reference `redis-server` on a free port with a temp dir (killed on drop), for tests that
/// compare Talus's replies with Redis's own.
pub struct RefRedis {
    child: Child,
    /// Its port.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RefRedis {
    /// Starts `redis-server` (no persistence) if it is installed; `None` otherwise.
    pub fn start() -> Option<RefRedis> {
        let dir = tempfile::tempdir().ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let r = RefRedis {
            child,
            port,
            _dir: dir,
        };
        let up = wait_until(Duration::from_secs(10), || r.conn().is_some());
        up.then_some(r)
    }

    /// Its redis URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A synchronous connection, if one can be made.
    pub fn conn(&self) -> Option<redis::Connection> {
        redis::Client::open(self.url())
            .ok()?
            .get_connection_with_timeout(Duration::from_secs(1))
            .ok()
    }
}

impl Drop for RefRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small deterministic generator (xorshift64*), so a failing random test reproduces.
pub struct Rng(pub u64);

impl Rng {
    /// The next value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// Up to `max` bytes drawn from `alphabet`.
    pub fn text(&mut self, alphabet: &[u8], max: u64) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize])
            .collect()
    }
}
