//! Durability and lifecycle through the real binary: acknowledged writes survive `kill -9`,
//! expiry is absolute and survives restarts, SIGTERM exits cleanly with the data on disk, and a
//! client that leaves before its replies cannot hurt the server.

mod common;

use common::{wait_until, TestServer};
use std::io::Write;
use std::time::Duration;

fn key(i: usize) -> String {
    format!("durable:{i:05}")
}

fn value(i: usize) -> String {
    format!("value-{i}-{}", "x".repeat(i % 97))
}

/// Writes `n` keys in pipelines of 1000 (each SET acknowledged before this returns).
fn write_keys(con: &mut redis::Connection, n: usize) {
    for start in (0..n).step_by(1000) {
        let mut pipe = redis::pipe();
        for i in start..(start + 1000).min(n) {
            pipe.cmd("SET").arg(key(i)).arg(value(i)).ignore();
        }
        pipe.query::<()>(con).expect("pipelined SETs");
    }
}

/// Asserts all `n` keys hold their values.
fn assert_keys(con: &mut redis::Connection, n: usize) {
    for start in (0..n).step_by(1000) {
        let keys: Vec<String> = (start..(start + 1000).min(n)).map(key).collect();
        let got: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(con).expect("MGET");
        for (j, v) in got.into_iter().enumerate() {
            let i = start + j;
            assert_eq!(
                v.as_deref(),
                Some(value(i).as_str()),
                "key {} after restart",
                key(i)
            );
        }
    }
}

fn dbsize(con: &mut redis::Connection) -> i64 {
    redis::cmd("DBSIZE").query(con).expect("DBSIZE")
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let mut server = TestServer::start(&[]);
    let dir = server.dir.clone();
    {
        let mut con = server.conn();
        write_keys(&mut con, 10_000);
        // An overwrite and a delete must survive as such, too.
        let _: () = redis::cmd("SET")
            .arg(key(0))
            .arg("overwritten")
            .query(&mut con)
            .unwrap();
        let _: i64 = redis::cmd("DEL").arg(key(1)).query(&mut con).unwrap();
    }
    server.kill9();

    let restarted = TestServer::start_in(&dir, &[]);
    let mut con = restarted.conn();
    assert_eq!(dbsize(&mut con), 9_999);
    let v0: Option<String> = redis::cmd("GET").arg(key(0)).query(&mut con).unwrap();
    assert_eq!(v0.as_deref(), Some("overwritten"));
    let v1: Option<String> = redis::cmd("GET").arg(key(1)).query(&mut con).unwrap();
    assert_eq!(v1, None);
    let _: () = redis::cmd("SET")
        .arg(key(0))
        .arg(value(0))
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(key(1))
        .arg(value(1))
        .query(&mut con)
        .unwrap();
    assert_keys(&mut con, 10_000);
    // `server` owns the temp dir: it must outlive the restarted server.
    drop(restarted);
    drop(server);
}

#[test]
fn kill_9_with_fsync_always_and_no() {
    for policy in ["always", "no"] {
        let mut server = TestServer::start(&["--appendfsync", policy]);
        let dir = server.dir.clone();
        {
            let mut con = server.conn();
            write_keys(&mut con, 2_000);
        }
        server.kill9();
        let restarted = TestServer::start_in(&dir, &["--appendfsync", policy]);
        let mut con = restarted.conn();
        assert_eq!(dbsize(&mut con), 2_000, "appendfsync {policy}");
        assert_keys(&mut con, 2_000);
    }
}

#[test]
fn expired_keys_stay_expired_after_restart() {
    let mut server = TestServer::start(&[]);
    let dir = server.dir.clone();
    {
        let mut con = server.conn();
        let mut pipe = redis::pipe();
        for i in 0..100 {
            pipe.cmd("SET")
                .arg(format!("short:{i}"))
                .arg("v")
                .arg("PX")
                .arg(200)
                .ignore();
            pipe.cmd("SET")
                .arg(format!("long:{i}"))
                .arg("v")
                .arg("EX")
                .arg(1000)
                .ignore();
            pipe.cmd("SET").arg(format!("plain:{i}")).arg("v").ignore();
        }
        pipe.query::<()>(&mut con).expect("SETs");
        // Wait until every short key reports expired.
        let all_gone = wait_until(Duration::from_secs(10), || {
            (0..100).all(|i| {
                redis::cmd("PTTL")
                    .arg(format!("short:{i}"))
                    .query::<i64>(&mut con)
                    .is_ok_and(|t| t == -2)
            })
        });
        assert!(all_gone, "short keys did not expire");
    }
    server.kill9();

    let restarted = TestServer::start_in(&dir, &[]);
    let mut con = restarted.conn();
    assert_eq!(dbsize(&mut con), 200, "only long and plain keys remain");
    for i in 0..100 {
        let short: i64 = redis::cmd("EXISTS")
            .arg(format!("short:{i}"))
            .query(&mut con)
            .unwrap();
        assert_eq!(short, 0, "short:{i} came back after restart");
        let ttl: i64 = redis::cmd("TTL")
            .arg(format!("long:{i}"))
            .query(&mut con)
            .unwrap();
        assert!((990..=1000).contains(&ttl), "long:{i} ttl {ttl}");
        let ttl: i64 = redis::cmd("TTL")
            .arg(format!("plain:{i}"))
            .query(&mut con)
            .unwrap();
        assert_eq!(ttl, -1, "plain:{i}");
    }
    let keys: Vec<String> = redis::cmd("KEYS").arg("short:*").query(&mut con).unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

#[test]
fn expiry_is_absolute_across_a_restart() {
    // A key that is still alive when the server dies expires at the same wall-clock time after
    // the restart: the deadline is stored, not the remaining time.
    let mut server = TestServer::start(&[]);
    let dir = server.dir.clone();
    let set_at;
    {
        let mut con = server.conn();
        set_at = std::time::Instant::now();
        let _: () = redis::cmd("SET")
            .arg("soon")
            .arg("v")
            .arg("PX")
            .arg(1500)
            .query(&mut con)
            .unwrap();
        let _: () = redis::cmd("SET")
            .arg("at")
            .arg("v")
            .arg("PXAT")
            .arg(4_000_000_000_000u64)
            .query(&mut con)
            .unwrap();
    }
    server.kill9();
    let restarted = TestServer::start_in(&dir, &[]);
    let mut con = restarted.conn();
    let pttl: i64 = redis::cmd("PTTL").arg("soon").query(&mut con).unwrap();
    let elapsed = set_at.elapsed().as_millis() as i64;
    assert!(
        pttl == -2 || (pttl > 0 && pttl <= 1500 - elapsed + 100),
        "pttl {pttl} after {elapsed} ms"
    );
    let at: i64 = redis::cmd("PEXPIRETIME").arg("at").query(&mut con).unwrap();
    assert_eq!(at, 4_000_000_000_000);
    assert!(
        wait_until(Duration::from_secs(10), || {
            redis::cmd("EXISTS")
                .arg("soon")
                .query::<i64>(&mut con)
                .is_ok_and(|n| n == 0)
        }),
        "soon never expired"
    );
}

#[test]
fn sigterm_exits_cleanly_and_keeps_data() {
    let mut server = TestServer::start(&[]);
    let dir = server.dir.clone();
    {
        let mut con = server.conn();
        write_keys(&mut con, 3_000);
    }
    // An idle client connected while the server stops must not hold it up.
    let _idle = server.conn();
    let status = server.terminate().expect("exit status");
    assert!(status.success(), "SIGTERM exit status {status:?}");

    // A clean close leaves the RocksDB lock released: the restart opens at once.
    let restarted = TestServer::start_in(&dir, &[]);
    let mut con = restarted.conn();
    assert_eq!(dbsize(&mut con), 3_000);
    assert_keys(&mut con, 3_000);
}

#[test]
fn client_leaving_before_its_replies_does_not_hurt_the_server() {
    let server = TestServer::start(&[]);
    for round in 0..5 {
        // A big pipeline of SETs, then the client disconnects at once without reading.
        let n = 50_000;
        let mut req = Vec::new();
        for i in 0..n {
            let (k, v) = (format!("gone:{round}:{i:06}"), format!("{i}"));
            req.extend_from_slice(
                format!(
                    "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                    k.len(),
                    v.len()
                )
                .as_bytes(),
            );
        }
        {
            let mut s = std::net::TcpStream::connect(server.addr).expect("connect");
            let _ = s.write_all(&req);
            // Dropping closes with unread replies: the server sees a reset.
        }
        let mut con = server.conn();
        let pong: String = redis::cmd("PING")
            .query(&mut con)
            .expect("server still answers");
        assert_eq!(pong, "PONG");

        // Commands of one connection run in order and MGET reads one snapshot, so the keys
        // applied so far are always a prefix of the stream.
        let keys: Vec<String> = (0..n).map(|i| format!("gone:{round}:{i:06}")).collect();
        let got: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(&mut con).unwrap();
        let applied = got.iter().take_while(|v| v.is_some()).count();
        assert!(
            got[applied..].iter().all(|v| v.is_none()),
            "round {round}: applied keys are not a prefix (first gap at {applied})"
        );
        for (i, v) in got[..applied].iter().enumerate() {
            assert_eq!(
                v.as_deref(),
                Some(i.to_string().as_str()),
                "round {round}: value {i}"
            );
        }
    }
    // A client that disconnects mid-frame, in the middle of a large value.
    {
        let mut s = std::net::TcpStream::connect(server.addr).expect("connect");
        let _ = s.write_all(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$1000000\r\n");
        let _ = s.write_all(&vec![b'a'; 300_000]);
    }
    let mut con = server.conn();
    let v: Option<String> = redis::cmd("GET").arg("half").query(&mut con).unwrap();
    assert_eq!(v, None, "a truncated SET must not be applied");
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn sigint_exits_cleanly_too() {
    let mut server = TestServer::start(&[]);
    let dir = server.dir.clone();
    {
        let mut con = server.conn();
        write_keys(&mut con, 1_000);
    }
    let pid = server.child.as_ref().expect("running").id();
    let sent = std::process::Command::new("kill")
        .arg("-INT")
        .arg(pid.to_string())
        .status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -INT");
    let status = server.wait_exit().expect("exit status");
    assert!(status.success(), "SIGINT exit status {status:?}");
    let restarted = TestServer::start_in(&dir, &[]);
    let mut con = restarted.conn();
    assert_eq!(dbsize(&mut con), 1_000);
    assert_keys(&mut con, 1_000);
}

#[test]
fn sigterm_during_a_pipeline_keeps_every_acknowledged_write() {
    use std::io::Read;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let mut server = TestServer::start(&[]);
    let dir = server.dir.clone();
    let n = 200_000;
    let mut req = Vec::new();
    for i in 0..n {
        let k = format!("term:{i:06}");
        req.extend_from_slice(
            format!("*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n$1\r\nv\r\n", k.len()).as_bytes(),
        );
    }
    let stream = std::net::TcpStream::connect(server.addr).expect("connect");
    let mut writer = stream.try_clone().expect("clone");
    let acked = Arc::new(AtomicUsize::new(0));
    let reader = {
        let acked = acked.clone();
        let mut stream = stream;
        std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = vec![0u8; 1 << 16];
            while let Ok(k) = stream.read(&mut buf) {
                if k == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..k]);
                acked.store(all.len() / 5, Ordering::Release);
            }
            all
        })
    };
    let write = std::thread::spawn(move || {
        // The server stops reading when it stops: a failed write is expected.
        let _ = writer.write_all(&req);
    });
    assert!(
        wait_until(Duration::from_secs(30), || acked.load(Ordering::Acquire)
            > 1_000),
        "no replies arrived"
    );
    let status = server.terminate().expect("exit status");
    assert!(status.success(), "SIGTERM exit status {status:?}");
    let replies = reader.join().expect("reader");
    let _ = write.join();
    let acked = replies.len() / 5;
    assert!(
        replies.chunks(5).all(|r| r == b"+OK\r\n"),
        "replies are not all +OK: {:?}",
        String::from_utf8_lossy(&replies[..replies.len().min(200)])
    );
    assert!(acked > 1_000);

    // Every write the client saw acknowledged is on disk; later ones may or may not be.
    let restarted = TestServer::start_in(&dir, &[]);
    let mut con = restarted.conn();
    for start in (0..acked).step_by(1000) {
        let keys: Vec<String> = (start..(start + 1000).min(acked))
            .map(|i| format!("term:{i:06}"))
            .collect();
        let found: i64 = redis::cmd("EXISTS").arg(&keys).query(&mut con).unwrap();
        assert_eq!(
            found as usize,
            keys.len(),
            "acknowledged keys from {start} missing after SIGTERM"
        );
    }
    let total = dbsize(&mut con) as usize;
    println!("{acked} of {n} SETs acknowledged before SIGTERM; {total} on disk");
    assert!(
        total >= acked && total <= n,
        "{total} keys for {acked} acknowledged"
    );
}
