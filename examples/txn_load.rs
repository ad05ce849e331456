//! Transaction load generator (used by `bench/transactions.sh`): each of `--clients`
//! connections repeatedly sends `MULTI`, `--incrs` × `INCR <random key>`, `EXEC` as one
//! pipelined write (as client libraries send a transaction) and waits for all the replies; at
//! the end it prints the transactions per second. Works against Talus and redis-server alike.
//!
//! ```text
//! cargo run --release --example txn_load -- --addr 127.0.0.1:6379 \
//!     [--clients 50] [--seconds 10] [--keys 100000] [--incrs 10] [--plain 1]
//! ```
//!
//! `--plain 1` sends the same INCRs pipelined without MULTI/EXEC, to tell the cost of the
//! transaction from the cost of the writes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Opts {
    addr: String,
    clients: usize,
    seconds: u64,
    keys: u64,
    incrs: usize,
    plain: bool,
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        addr: "127.0.0.1:6379".into(),
        clients: 50,
        seconds: 10,
        keys: 100_000,
        incrs: 10,
        plain: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let [name, value] = pair else {
            return Err(format!("missing value for {}", pair[0]));
        };
        let num = || value.parse::<u64>().map_err(|e| format!("{name}: {e}"));
        match name.as_str() {
            "--addr" => o.addr = value.clone(),
            "--clients" => o.clients = num()? as usize,
            "--seconds" => o.seconds = num()?,
            "--keys" => o.keys = num()?.max(1),
            "--incrs" => o.incrs = num()? as usize,
            "--plain" => o.plain = num()? != 0,
            other => return Err(format!("unknown option {other}")),
        }
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

/// A small xorshift generator (keys only need to be spread, not unpredictable).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Runs transactions until `stop`; returns how many completed.
async fn client(
    addr: String,
    seed: u64,
    keys: u64,
    incrs: usize,
    plain: bool,
    stop: Arc<AtomicBool>,
) -> Result<u64, String> {
    let mut s = TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut rng = Rng(seed | 1);
    let mut req = Vec::with_capacity(64 * (incrs + 2));
    let mut buf = vec![0u8; 64 * 1024];
    // Every reply here is one line: +OK, +QUEUED ×incrs, *incrs, :n ×incrs (plain: :n ×incrs).
    let expect_lines = if plain { incrs } else { 2 * incrs + 2 };
    let mut done = 0;
    while !stop.load(Ordering::Relaxed) {
        req.clear();
        if !plain {
            encode(&mut req, &[b"MULTI"]);
        }
        for _ in 0..incrs {
            let key = format!("txn:{}", rng.next() % keys);
            encode(&mut req, &[b"INCR", key.as_bytes()]);
        }
        if !plain {
            encode(&mut req, &[b"EXEC"]);
        }
        s.write_all(&req).await.map_err(|e| e.to_string())?;
        let (mut lines, mut prev) = (0, 0u8);
        let mut line_start = true;
        while lines < expect_lines {
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("server closed the connection".into());
            }
            for &b in &buf[..n] {
                if line_start && b == b'-' {
                    return Err("the server answered an error".into());
                }
                line_start = prev == b'\r' && b == b'\n';
                if line_start {
                    lines += 1;
                }
                prev = b;
            }
        }
        done += 1;
    }
    Ok(done)
}

#[tokio::main]
async fn main() {
    let o = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("txn_load: {e}");
            std::process::exit(2);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..o.clients)
        .map(|i| {
            let (addr, stop, total) = (o.addr.clone(), stop.clone(), total.clone());
            let seed = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1);
            let (keys, incrs, plain) = (o.keys, o.incrs, o.plain);
            tokio::spawn(async move {
                let n = client(addr, seed, keys, incrs, plain, stop).await?;
                total.fetch_add(n, Ordering::Relaxed);
                Ok::<_, String>(())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(o.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("txn_load: {e}");
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("txn_load: {e}");
                std::process::exit(1);
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = total.load(Ordering::Relaxed);
    let what = if o.plain { "pipelines" } else { "transactions" };
    println!(
        "{:.0} {what}/s ({n} in {secs:.1} s, {} clients, {} INCRs each)",
        n as f64 / secs,
        o.clients,
        o.incrs
    );
}
