//! End-to-end tests of the actor pipeline over real sockets, with the in-memory service.

mod support;

use std::sync::atomic::Ordering;

use redis::AsyncCommands;
use support::*;
use talus_actors::{ExecTransport, Limits};
use tokio::io::AsyncWriteExt;

const TRANSPORTS: [ExecTransport; 4] = [
    ExecTransport::Direct,
    ExecTransport::Forwarded,
    ExecTransport::SyncArbiter,
    ExecTransport::SyncArbiterDedicated,
];

#[tokio::test]
async fn pipelining_keeps_order() {
    for transport in TRANSPORTS {
        let srv = TestServer::start_with(2, 2, Limits::default(), transport);
        let mut s = srv.raw().await;
        let mut req = Vec::new();
        let mut want = Vec::new();
        for i in 0..10_000u32 {
            let k = format!("k{}", i % 100);
            match i % 5 {
                0 => {
                    req.extend(cmd(&[b"SET", k.as_bytes(), i.to_string().as_bytes()]));
                    want.extend_from_slice(b"+OK\r\n");
                }
                1 => {
                    let k = format!("k{}", (i - 1) % 100);
                    req.extend(cmd(&[b"GET", k.as_bytes()]));
                    let v = (i - 1).to_string();
                    want.extend(format!("${}\r\n{}\r\n", v.len(), v).into_bytes());
                }
                2 => {
                    req.extend(cmd(&[b"INCR", b"counter"]));
                    want.extend(format!(":{}\r\n", i / 5 + 1).into_bytes());
                }
                3 => {
                    req.extend(format!("ECHO e{i}\r\n").into_bytes());
                    let v = format!("e{i}");
                    want.extend(format!("${}\r\n{}\r\n", v.len(), v).into_bytes());
                }
                _ => {
                    req.extend(cmd(&[b"PING"]));
                    want.extend_from_slice(b"+PONG\r\n");
                }
            }
        }
        let (mut r, mut w) = s.split();
        let write = async {
            w.write_all(&req).await.unwrap();
        };
        let read = async {
            let mut got = vec![0u8; want.len()];
            within(
                "pipelined replies",
                tokio::io::AsyncReadExt::read_exact(&mut r, &mut got),
            )
            .await
            .unwrap();
            got
        };
        let ((), got) = tokio::join!(write, read);
        assert!(
            got == want,
            "{transport:?}: replies differ from the expected stream"
        );
    }
}

#[tokio::test]
async fn many_concurrent_clients() {
    for transport in TRANSPORTS {
        let srv = TestServer::start_with(2, 2, Limits::default(), transport);
        let mut tasks = Vec::new();
        for c in 0..40 {
            let mut con = srv.client().await;
            tasks.push(tokio::spawn(async move {
                for i in 0..100 {
                    let _: i64 = redis::cmd("INCR")
                        .arg("shared")
                        .query_async(&mut con)
                        .await
                        .unwrap();
                    let key = format!("c{c}");
                    let _: () = con.set(&key, i).await.unwrap();
                    let v: i64 = con.get(&key).await.unwrap();
                    assert_eq!(v, i);
                }
            }));
        }
        for t in tasks {
            within("client task", t).await.unwrap();
        }
        let mut con = srv.client().await;
        let total: i64 = con.get("shared").await.unwrap();
        assert_eq!(total, 4000, "{transport:?}");
        drop(con);
        wait_until("clients gone", || srv.stats.connected() == 0).await;
        assert_eq!(srv.stats.total_received(), 41);
        wait_until("sessions closed", || {
            srv.service.open_sessions.load(Ordering::SeqCst) == 0
        })
        .await;
    }
}

#[tokio::test]
async fn inline_commands() {
    let srv = TestServer::start();
    let mut s = srv.raw().await;
    roundtrip(&mut s, b"PING\r\n", b"+PONG\r\n").await;
    roundtrip(&mut s, b"ECHO hello\n", b"$5\r\nhello\r\n").await;
    roundtrip(&mut s, b"set k \"a b\\x41\"\r\n", b"+OK\r\n").await;
    roundtrip(&mut s, b"GET k\r\n", b"$4\r\na bA\r\n").await;
    roundtrip(
        &mut s,
        b"  echo   'it\\'s'  \r\nPING\r\n",
        b"$4\r\nit's\r\n+PONG\r\n",
    )
    .await;
}

#[tokio::test]
async fn empty_requests_are_skipped() {
    let srv = TestServer::start();
    let mut s = srv.raw().await;
    roundtrip(
        &mut s,
        b"*0\r\n\r\n*-1\r\n   \r\n\n*-5\r\nPING\r\n",
        b"+PONG\r\n",
    )
    .await;
}

#[tokio::test]
async fn one_mib_value() {
    let srv = TestServer::start();
    let mut con = srv.client().await;
    let value: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let _: () = con.set("big", value.clone()).await.unwrap();
    let got: Vec<u8> = con.get("big").await.unwrap();
    assert!(got == value);
}

#[tokio::test]
async fn value_in_many_small_writes() {
    let srv = TestServer::start();
    let mut s = srv.raw().await;
    let value: Vec<u8> = (0..200_000).map(|i| b'a' + (i % 26) as u8).collect();
    let req = cmd(&[b"SET", b"split", &value]);
    for chunk in req.chunks(97) {
        s.write_all(chunk).await.unwrap();
        s.flush().await.unwrap();
    }
    roundtrip(&mut s, b"", b"+OK\r\n").await;
    let mut want = format!("${}\r\n", value.len()).into_bytes();
    want.extend_from_slice(&value);
    want.extend_from_slice(b"\r\n");
    roundtrip(&mut s, &cmd(&[b"GET", b"split"]), &want).await;
}

#[tokio::test]
async fn protocol_errors_answer_what_came_before_then_close() {
    let limits = Limits {
        proto_max_bulk_len: 1000.into(),
        ..Default::default()
    };
    let srv = TestServer::start_with(1, 1, limits, ExecTransport::default());
    let too_long = vec![b'x'; 64 * 1024 + 1];
    let mut mbulk = b"*".to_vec();
    mbulk.extend(vec![b'1'; 64 * 1024 + 1]);
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(vec![b'1'; 64 * 1024 + 1]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (too_long, "too big inline request"),
        (mbulk, "too big mbulk count string"),
        (bulk, "too big bulk count string"),
        (b"*abc\r\n".to_vec(), "invalid multibulk length"),
        (b"*2147483648\r\n".to_vec(), "invalid multibulk length"),
        (b"*1\r\n:5\r\n".to_vec(), "expected '$', got ':'"),
        (b"*1\r\n$-3\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\n$+3\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\n$1001\r\n".to_vec(), "invalid bulk length"),
        (b"SET k \"v\r\n".to_vec(), "unbalanced quotes in request"),
        (b"SET k 'v'x\r\n".to_vec(), "unbalanced quotes in request"),
    ];
    for (bad, text) in cases {
        let mut s = srv.raw().await;
        let mut req = b"PING\r\n".to_vec();
        req.extend(cmd(&[b"ECHO", b"before"]));
        // Nothing after the bad part: bytes the server never reads would make its close a
        // reset, which may discard the replies on the client's side.
        req.extend_from_slice(&bad);
        s.write_all(&req).await.unwrap();
        let got = read_to_eof(&mut s).await;
        let want = format!("+PONG\r\n$6\r\nbefore\r\n-ERR Protocol error: {text}\r\n");
        assert_eq!(String::from_utf8_lossy(&got), want);
    }
    // An error in a request of its own (no complete request before it).
    let mut s = srv.raw().await;
    s.write_all(b"*1\r\n$x\r\n").await.unwrap();
    assert_eq!(
        read_to_eof(&mut s).await,
        b"-ERR Protocol error: invalid bulk length\r\n"
    );
    wait_until("clients gone", || srv.stats.connected() == 0).await;
}

#[tokio::test]
async fn query_buffer_limit_closes_without_reply() {
    let limits = Limits {
        client_query_buffer_limit: (256 * 1024).into(),
        ..Default::default()
    };
    let srv = TestServer::start_with(1, 1, limits, ExecTransport::default());
    let mut s = srv.raw().await;
    roundtrip(&mut s, b"PING\r\n", b"+PONG\r\n").await;
    let mut req = b"*2\r\n$4\r\nECHO\r\n$1000000\r\n".to_vec();
    req.extend(vec![b'z'; 300 * 1024]);
    // The server may close while we write; ignore write errors.
    let _ = s.write_all(&req).await;
    assert_eq!(read_to_eof(&mut s).await, b"");
}

#[tokio::test]
async fn quit_closes_after_its_reply() {
    let srv = TestServer::start();
    let mut s = srv.raw().await;
    s.write_all(b"PING\r\nQUIT\r\nPING\r\n").await.unwrap();
    assert_eq!(read_to_eof(&mut s).await, b"+PONG\r\n+OK\r\n");
    // A protocol error after QUIT is not reported (nothing after QUIT is parsed).
    let mut s = srv.raw().await;
    s.write_all(b"QUIT\r\n*x\r\n").await.unwrap();
    assert_eq!(read_to_eof(&mut s).await, b"+OK\r\n");
    wait_until("sessions closed", || {
        srv.service.open_sessions.load(Ordering::SeqCst) == 0
    })
    .await;
}

#[tokio::test]
async fn session_travels_with_the_batch() {
    let srv = TestServer::start_with(1, 4, Limits::default(), ExecTransport::default());
    let mut s = srv.raw().await;
    let mut req = Vec::new();
    let mut want = Vec::new();
    for i in 0..200 {
        req.extend(format!("CLIENT SETNAME n{i}\r\nCLIENT GETNAME\r\n").into_bytes());
        let n = format!("n{i}");
        want.extend(format!("+OK\r\n${}\r\n{n}\r\n", n.len()).into_bytes());
        if i % 10 == 0 {
            s.write_all(&req).await.unwrap();
            req.clear();
        }
    }
    s.write_all(&req).await.unwrap();
    assert_eq!(read_n(&mut s, want.len()).await, want);
}

#[tokio::test]
async fn shutdown_flow_stops_the_server() {
    for transport in TRANSPORTS {
        let srv = TestServer::start_with(2, 2, Limits::default(), transport);
        let mut other = srv.raw().await;
        roundtrip(&mut other, b"PING\r\n", b"+PONG\r\n").await;
        let mut s = srv.raw().await;
        s.write_all(b"PING\r\nSHUTDOWN\r\nPING\r\n").await.unwrap();
        assert_eq!(read_to_eof(&mut s).await, b"+PONG\r\n");
        within("server stopped", srv.handle.stopped()).await;
        assert!(srv.service.shutdown_called.load(Ordering::SeqCst));
        assert_eq!(srv.service.open_sessions.load(Ordering::SeqCst), 0);
        assert_eq!(srv.stats.connected(), 0);
        // The idle client was closed and the port no longer accepts.
        assert_eq!(read_to_eof(&mut other).await, b"");
        assert!(tokio::net::TcpStream::connect(srv.addr).await.is_err());
    }
}

#[tokio::test]
async fn stop_lets_an_in_flight_batch_finish() {
    for transport in TRANSPORTS {
        let srv = TestServer::start_with(1, 1, Limits::default(), transport);
        let mut s = srv.raw().await;
        roundtrip(&mut s, b"SET a 1\r\n", b"+OK\r\n").await;
        s.write_all(b"SLEEP 300\r\n").await.unwrap();
        wait_until("batch executing", || {
            srv.service.executing.load(Ordering::SeqCst) == 1
        })
        .await;
        let stop = srv.handle.stop();
        let got = read_to_eof(&mut s).await;
        assert_eq!(got, b"+OK\r\n");
        within("stop", stop).await;
        assert!(srv.service.shutdown_called.load(Ordering::SeqCst));
        assert_eq!(srv.service.open_sessions.load(Ordering::SeqCst), 0);
        // Idempotent.
        within("second stop", srv.handle.stop()).await;
    }
}

#[tokio::test]
async fn maxclients_rejects_with_redis_text() {
    let limits = Limits {
        maxclients: 2.into(),
        ..Default::default()
    };
    let srv = TestServer::start_with(2, 1, limits, ExecTransport::default());
    let mut a = srv.raw().await;
    let mut b = srv.raw().await;
    roundtrip(&mut a, b"PING\r\n", b"+PONG\r\n").await;
    roundtrip(&mut b, b"PING\r\n", b"+PONG\r\n").await;
    let mut c = srv.raw().await;
    assert_eq!(
        read_to_eof(&mut c).await,
        b"-ERR max number of clients reached\r\n"
    );
    assert_eq!(srv.stats.rejected(), 1);
    drop(a);
    wait_until("a slot frees", || srv.stats.connected() == 1).await;
    let mut d = srv.raw().await;
    roundtrip(&mut d, b"PING\r\n", b"+PONG\r\n").await;
    assert_eq!(srv.stats.total_received(), 3);
}

#[tokio::test]
async fn idle_timeout_closes_idle_clients() {
    let limits = Limits {
        timeout_secs: 1.into(),
        ..Default::default()
    };
    let srv = TestServer::start_with(1, 1, limits, ExecTransport::default());
    let mut idle = srv.raw().await;
    roundtrip(&mut idle, b"PING\r\n", b"+PONG\r\n").await;
    let mut busy = srv.raw().await;
    let started = std::time::Instant::now();
    // The busy client keeps talking while the idle one is timed out.
    let mut idle_read = Box::pin(read_to_eof(&mut idle));
    loop {
        roundtrip(&mut busy, b"PING\r\n", b"+PONG\r\n").await;
        tokio::select! {
            got = &mut idle_read => { assert_eq!(got, b""); break; }
            _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
        }
    }
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    roundtrip(&mut busy, b"PING\r\n", b"+PONG\r\n").await;
    // Turning the timeout off at run time keeps clients open.
    srv.limits.timeout_secs.store(0, Ordering::Relaxed);
    wait_until("one client", || srv.stats.connected() == 1).await;
}

#[tokio::test]
async fn client_leaving_mid_batch_does_not_hurt() {
    let srv = TestServer::start();
    {
        let mut s = srv.raw().await;
        let mut req = b"SLEEP 200\r\n".to_vec();
        for _ in 0..2000 {
            req.extend(cmd(&[b"ECHO", &[b'x'; 100]]));
        }
        s.write_all(&req).await.unwrap();
        wait_until("batch executing", || {
            srv.service.executing.load(Ordering::SeqCst) == 1
        })
        .await;
        // Dropped here, mid-batch.
    }
    wait_until("session closed after the batch", || {
        srv.service.open_sessions.load(Ordering::SeqCst) == 0
            && srv.service.executing.load(Ordering::SeqCst) == 0
    })
    .await;
    wait_until("client gone", || srv.stats.connected() == 0).await;
    let mut con = srv.client().await;
    let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn garbage_never_breaks_the_server() {
    let srv = TestServer::start();
    let mut seed = 0x2545F4914F6CDD1Du64;
    for _ in 0..50 {
        let mut s = srv.raw().await;
        let mut junk = Vec::new();
        for _ in 0..4096 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            junk.push(b"*$\r\n0123456789-+ \"'\\xabc"[(seed % 23) as usize]);
        }
        let _ = s.write_all(&junk).await;
        drop(s);
    }
    let mut s = srv.raw().await;
    roundtrip(&mut s, b"PING\r\n", b"+PONG\r\n").await;
}

/// The id a client gets from `CLIENT ID`.
async fn client_id(s: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    s.write_all(b"CLIENT ID\r\n").await.unwrap();
    let mut line = Vec::new();
    while !line.ends_with(b"\r\n") {
        let mut b = [0u8; 1];
        within("CLIENT ID", s.read_exact(&mut b)).await.unwrap();
        line.push(b[0]);
    }
    String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned()
}

#[tokio::test]
async fn pushes_reach_a_client_on_another_worker_after_its_own_replies() {
    for transport in TRANSPORTS {
        // Two workers: consecutive connections land on different ones.
        let srv = TestServer::start_with(2, 1, Limits::default(), transport);
        let mut a = srv.raw().await;
        let mut b = srv.raw().await;
        let id = client_id(&mut a).await;
        for i in 0..100 {
            let text = format!("m{i}");
            roundtrip(
                &mut b,
                &cmd(&[b"PUSH", id.as_bytes(), b"0", text.as_bytes()]),
                b":1\r\n",
            )
            .await;
        }
        // A request after the pushes is answered after them, in order.
        a.write_all(b"PING\r\n").await.unwrap();
        let mut want = String::new();
        for i in 0..100 {
            want.push_str(&format!("+m{i}\r\n"));
        }
        want.push_str("+PONG\r\n");
        let got = read_n(&mut a, want.len()).await;
        assert_eq!(String::from_utf8_lossy(&got), want, "{transport:?}");
    }
}

#[tokio::test]
async fn a_client_that_does_not_read_is_closed_at_its_push_limit() {
    let srv = TestServer::start_with(2, 1, Limits::default(), ExecTransport::default());
    let mut slow = srv.raw().await;
    let mut fast = srv.raw().await;
    let mut pusher = srv.raw().await;
    let slow_id = client_id(&mut slow).await;
    let fast_id = client_id(&mut fast).await;
    let payload = vec![b'x'; 64 * 1024];
    let mut refused = false;
    // `slow` never reads: once the kernel's buffers are full its pushes pile up, and past
    // 1 MiB pending the connection is closed and pushes are refused; `fast` gets every one.
    for i in 0..4000 {
        pusher
            .write_all(&cmd(&[b"PUSH", slow_id.as_bytes(), b"1048576", &payload]))
            .await
            .unwrap();
        let got = read_n(&mut pusher, 4).await;
        if got == b":0\r\n" {
            refused = true;
            break;
        }
        assert_eq!(got, b":1\r\n");
        if i % 100 == 0 {
            roundtrip(
                &mut pusher,
                &cmd(&[b"PUSH", fast_id.as_bytes(), b"1048576", b"hi"]),
                b":1\r\n",
            )
            .await;
            roundtrip(&mut fast, b"", b"+hi\r\n").await;
        }
    }
    assert!(
        refused,
        "pushes to a client that never reads were never refused"
    );
    // What the slow client can still read ends with the server closing it.
    read_to_eof(&mut slow).await;
    wait_until("the slow session closed", || {
        srv.service.open_sessions.load(Ordering::SeqCst) == 2
    })
    .await;
}

#[tokio::test]
async fn retry_runs_a_held_request_later_or_on_resume() {
    let srv = TestServer::start_with(2, 1, Limits::default(), ExecTransport::default());
    let mut a = srv.raw().await;
    // HOLD asks for a retry after 300 ms; the PING behind it waits for it.
    let started = std::time::Instant::now();
    a.write_all(b"PING\r\nHOLD 300\r\nPING\r\n").await.unwrap();
    let got = read_n(&mut a, b"+PONG\r\n+HELD\r\n+PONG\r\n".len()).await;
    assert_eq!(got, b"+PONG\r\n+HELD\r\n+PONG\r\n");
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    // Held for a minute, resumed at once by another client.
    let id = client_id(&mut a).await;
    a.write_all(b"HOLD 60000\r\n").await.unwrap();
    let mut b = srv.raw().await;
    let started = std::time::Instant::now();
    let resumed = async {
        loop {
            roundtrip(&mut b, &cmd(&[b"RESUME", id.as_bytes()]), b"+OK\r\n").await;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        got = read_n(&mut a, b"+HELD\r\n".len()) => assert_eq!(got, b"+HELD\r\n"),
        _ = resumed => unreachable!(),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[tokio::test]
async fn kill_closes_a_client_from_another_worker() {
    let srv = TestServer::start_with(2, 1, Limits::default(), ExecTransport::default());
    let mut victim = srv.raw().await;
    let mut killer = srv.raw().await;
    let id = client_id(&mut victim).await;
    roundtrip(&mut killer, &cmd(&[b"KILL", id.as_bytes()]), b"+OK\r\n").await;
    assert_eq!(read_to_eof(&mut victim).await, b"");
    wait_until("the killed session closed", || {
        srv.service.open_sessions.load(Ordering::SeqCst) == 1
    })
    .await;
}
