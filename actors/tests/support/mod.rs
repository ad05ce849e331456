//! Test harness: a server on 127.0.0.1:0 inside its own actix System thread, and helpers that
//! poll for conditions with deadlines (no fixed sleeps).

#![allow(dead_code)]

pub mod mem_service;

use std::{
    future::Future,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use mem_service::MemService;
use talus_actors::{ConnStats, ExecTransport, Limits, ServerConfig, ServerHandle};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Generous deadline for anything a test waits for.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    pub service: Arc<MemService>,
    pub limits: Arc<Limits>,
    pub stats: Arc<ConnStats>,
    system: actix_rt::System,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(1, 1, Limits::default(), ExecTransport::default())
    }

    pub fn start_with(io: usize, exec: usize, limits: Limits, transport: ExecTransport) -> Self {
        let _ = env_logger::builder().is_test(true).try_init();
        let service = Arc::new(MemService::default());
        let limits = Arc::new(limits);
        let stats = Arc::new(ConnStats::default());
        let cfg = ServerConfig {
            addrs: vec!["127.0.0.1:0".parse().unwrap()],
            io_threads: io,
            exec_threads: exec,
            limits: limits.clone(),
            stats: stats.clone(),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let svc = service.clone();
        let thread = std::thread::spawn(move || {
            let sys = actix_rt::System::new();
            sys.block_on(async move {
                let r = talus_actors::start_with(svc, cfg, transport);
                tx.send((r, actix_rt::System::current())).unwrap();
            });
            let _ = sys.run();
        });
        let (handle, system) = rx.recv().unwrap();
        let handle = handle.expect("server starts");
        TestServer {
            addr: handle.local_addrs()[0],
            handle,
            service,
            limits,
            stats,
            system,
            thread: Some(thread),
        }
    }

    pub async fn raw(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        s
    }

    pub async fn client(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(format!("redis://{}", self.addr))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        futures::executor::block_on(self.handle.stop());
        self.system.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Poll `cond` until it holds; panics after [`DEADLINE`].
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Run `f` with [`DEADLINE`].
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, f)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Read exactly `n` bytes.
pub async fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    within("reading replies", s.read_exact(&mut buf))
        .await
        .expect("read replies");
    buf
}

/// Read everything until the server closes the connection.
pub async fn read_to_eof(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    match within("reading until EOF", s.read_to_end(&mut buf)).await {
        Ok(_) => {}
        // A reset after the server closed is as good as EOF here.
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("read: {e}"),
    }
    buf
}

/// Send `req` and expect exactly `reply` back.
pub async fn roundtrip(s: &mut TcpStream, req: &[u8], reply: &[u8]) {
    s.write_all(req).await.unwrap();
    let got = read_n(s, reply.len()).await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(reply),
        "reply to {:?}",
        String::from_utf8_lossy(req)
    );
}

/// Encode one request as a RESP2 multibulk.
pub fn cmd(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}
