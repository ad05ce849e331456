//! The client commands through the real server: CLIENT LIST/INFO (Redis 7.0's fields, in its
//! order, with the values of clients in each state), CLIENT KILL in every form (blocked and
//! subscribed victims included), CLIENT REPLY byte for byte, CLIENT PAUSE/UNPAUSE, NO-EVICT,
//! UNBLOCK, GETREDIR, MONITOR and RESET.
//!
//! Every test runs against Talus with two I/O threads (consecutive connections land on
//! different workers, so the clients of a test meet across workers) and, when `redis-server` is
//! installed, against Redis 7.0 too: the same assertions hold on both. The only difference
//! allowed is Talus's two trailing CLIENT LIST fields from Redis 7.2 (`lib-name`, `lib-ver`).
//!
//! `TALUS_TEST_REDIS=1 cargo test --test clients` runs everything against Redis alone.

mod common;
#[path = "differential/support.rs"]
mod support;

use common::{wait_until, TestServer};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::{encode, encode_str, parse, show, RawConn, RedisServer, Value};

// ---- servers ---------------------------------------------------------------------------------

/// Which server a check runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Talus,
    Redis,
}

/// Runs `check` against Talus (two I/O threads; skipped with `TALUS_TEST_REDIS=1`, to check the
/// expectations alone) and, when installed, against redis-server.
fn on_both(check: impl Fn(SocketAddr, Who)) {
    if std::env::var_os("TALUS_TEST_REDIS").is_none() {
        let t = TestServer::start(&["--io-threads", "2"]);
        eprintln!("checking Talus");
        check(t.addr, Who::Talus);
    }
    match RedisServer::start() {
        Ok(r) => {
            eprintln!("checking redis-server");
            check(r.addr, Who::Redis)
        }
        Err(e) => eprintln!("skipping the redis-server side: {e}"),
    }
}

// ---- requests --------------------------------------------------------------------------------

fn connect(addr: SocketAddr) -> RawConn {
    RawConn::connect(addr).expect("connect")
}

/// Sends one command and returns its raw reply.
fn req(c: &mut RawConn, args: &[&str]) -> Vec<u8> {
    c.send(&encode_str(args)).expect("send");
    c.read_reply()
        .unwrap_or_else(|e| panic!("{args:?}: no reply: {e}"))
}

/// Sends one command and returns its parsed reply.
fn val(c: &mut RawConn, args: &[&str]) -> Value {
    parse(&req(c, args)).expect("parse")
}

/// Sends one command that must answer `+OK`.
fn ok(c: &mut RawConn, args: &[&str]) {
    assert_eq!(show(&req(c, args)), "+OK\\r\\n", "{args:?}");
}

/// Sends one command that must fail; its error text.
fn err(c: &mut RawConn, args: &[&str]) -> String {
    match val(c, args) {
        Value::Error(e) => String::from_utf8_lossy(&e).into_owned(),
        other => panic!("{args:?}: expected an error, got {other:?}"),
    }
}

/// Sends one command whose reply is an integer.
fn int(c: &mut RawConn, args: &[&str]) -> i64 {
    match val(c, args) {
        Value::Int(n) => n,
        other => panic!("{args:?}: expected an integer, got {other:?}"),
    }
}

/// Sends one command whose reply is a bulk string.
fn text(c: &mut RawConn, args: &[&str]) -> String {
    match val(c, args) {
        Value::Bulk(Some(b)) => String::from_utf8(b).expect("utf-8"),
        other => panic!("{args:?}: expected a bulk string, got {other:?}"),
    }
}

fn client_id(c: &mut RawConn) -> i64 {
    int(c, &["CLIENT", "ID"])
}

/// The client's address as the server sees it (CLIENT LIST `addr`).
fn addr_of(c: &RawConn) -> String {
    c.stream.local_addr().expect("local addr").to_string()
}

/// Reads one reply; `None` if nothing complete arrives within `wait`.
fn read_within(c: &mut RawConn, wait: Duration) -> Option<Vec<u8>> {
    c.stream.set_read_timeout(Some(wait)).expect("timeout");
    let got = match c.read_reply() {
        Ok(r) => Some(r),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        Err(e) => panic!("read failed: {e}"),
    };
    c.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    got
}

/// Asserts that no reply arrives within 200 ms (the request is held).
fn assert_pending(c: &mut RawConn, what: &str) {
    if let Some(r) = read_within(c, Duration::from_millis(200)) {
        panic!("{what}: expected no reply yet, got {}", show(&r));
    }
}

/// Asserts that the server closes the connection without sending anything more.
fn assert_closed(c: &mut RawConn, what: &str) {
    let (rest, closed) = c.read_to_close(Duration::from_secs(10));
    assert!(closed, "{what}: the connection stayed open");
    assert_eq!(show(&rest), "", "{what}: bytes before the close");
}

/// One field of an INFO section.
fn info_field(c: &mut RawConn, section: &str, name: &str) -> String {
    let info = text(c, &["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("INFO {section} has no {name}: {info}"))
        .to_string()
}

/// Polls INFO until `name` reads `value`.
fn wait_info(c: &mut RawConn, section: &str, name: &str, value: &str) {
    let mut last = String::new();
    let reached = wait_until(Duration::from_secs(10), || {
        last = info_field(c, section, name);
        last == value
    });
    assert!(reached, "INFO {name} stayed {last}, expected {value}");
}

// ---- CLIENT LIST lines -----------------------------------------------------------------------

/// Redis 7.0's CLIENT LIST fields, in its order.
const FIELDS_7_0: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
];

/// What Redis 7.2 adds at the end (Talus lists them too).
const FIELDS_7_2: &[&str] = &["lib-name", "lib-ver"];

/// One CLIENT LIST line as its `name=value` fields, in order.
#[derive(Debug, Clone)]
struct Line(Vec<(String, String)>);

impl Line {
    fn parse(line: &str) -> Line {
        Line(
            line.split(' ')
                .map(|kv| {
                    let (k, v) = kv
                        .split_once('=')
                        .unwrap_or_else(|| panic!("field without '=': {kv:?} in {line:?}"));
                    (k.to_string(), v.to_string())
                })
                .collect(),
        )
    }

    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no field {name} in {self:?}"))
    }

    fn id(&self) -> i64 {
        self.get("id").parse().expect("id")
    }

    fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// Checks the field names and order, and the fields every plain TCP client has.
    fn check_shape(&self, who: Who) {
        let mut expected = FIELDS_7_0.to_vec();
        if who == Who::Talus {
            expected.extend_from_slice(FIELDS_7_2);
        }
        assert_eq!(self.names(), expected, "field names and order");
        for numeric in ["id", "fd", "age", "idle", "qbuf", "omem", "tot-mem"] {
            let v = self.get(numeric);
            assert!(v.parse::<u64>().is_ok(), "{numeric}={v} is not a number");
        }
        assert_eq!(self.get("user"), "default");
        assert_eq!(self.get("redir"), "-1");
        assert_eq!(self.get("resp"), "2");
        assert_eq!(self.get("events"), "r");
        assert_eq!(self.get("obl"), "0");
        assert_eq!(self.get("oll"), "0");
        if who == Who::Talus {
            assert_eq!(self.get("lib-name"), "");
            assert_eq!(self.get("lib-ver"), "");
        }
    }

    /// Checks the listed state: name, db, sub, psub, ssub, multi, flags, cmd.
    #[allow(clippy::too_many_arguments)]
    fn check_state(
        &self,
        name: &str,
        db: u32,
        subs: (u32, u32, u32),
        multi: i64,
        flags: &str,
        cmd: &str,
    ) {
        let got: Vec<String> = ["name", "db", "sub", "psub", "ssub", "multi", "flags", "cmd"]
            .iter()
            .map(|f| self.get(f).to_string())
            .collect();
        let expected = vec![
            name.to_string(),
            db.to_string(),
            subs.0.to_string(),
            subs.1.to_string(),
            subs.2.to_string(),
            multi.to_string(),
            flags.to_string(),
            cmd.to_string(),
        ];
        assert_eq!(
            got, expected,
            "name db sub psub ssub multi flags cmd of {self:?}"
        );
    }
}

/// Parses a CLIENT LIST reply: one line per client, each ending in a newline.
fn parse_list(list: &str) -> Vec<Line> {
    assert!(
        list.is_empty() || list.ends_with('\n'),
        "CLIENT LIST must end in a newline: {list:?}"
    );
    list.lines().map(Line::parse).collect()
}

/// CLIENT LIST with extra arguments, parsed.
fn client_list(c: &mut RawConn, extra: &[&str]) -> Vec<Line> {
    let mut args = vec!["CLIENT", "LIST"];
    args.extend_from_slice(extra);
    parse_list(&text(c, &args))
}

/// The ids of a CLIENT LIST reply, in order.
fn ids(lines: &[Line]) -> Vec<i64> {
    lines.iter().map(Line::id).collect()
}

/// The CLIENT LIST line of client `id`.
fn line_of(c: &mut RawConn, id: i64) -> Line {
    let mut lines = client_list(c, &["ID", &id.to_string()]);
    assert_eq!(lines.len(), 1, "CLIENT LIST ID {id}: {lines:?}");
    lines.remove(0)
}

/// Waits until client `id` is blocked (flag `b`).
fn wait_blocked(ctl: &mut RawConn, id: i64) {
    let blocked = wait_until(Duration::from_secs(10), || {
        line_of(ctl, id).get("flags").contains('b')
    });
    assert!(blocked, "client {id} never showed as blocked");
}

/// Waits until client `id` is no longer listed.
fn wait_gone(ctl: &mut RawConn, id: i64) {
    let gone = wait_until(Duration::from_secs(10), || {
        client_list(ctl, &["ID", &id.to_string()]).is_empty()
    });
    assert!(gone, "client {id} is still listed");
}

// ---- CLIENT LIST / CLIENT INFO ---------------------------------------------------------------

#[test]
fn client_list_fields_and_values_in_every_state() {
    on_both(|addr, who| {
        let mut plain = connect(addr);
        let mut named = connect(addr);
        let mut sel = connect(addr);
        let mut multi = connect(addr);
        let mut sub = connect(addr);
        let mut blk = connect(addr);
        let mut mon = connect(addr);
        let mut ctl = connect(addr);
        let conns = [
            &mut plain, &mut named, &mut sel, &mut multi, &mut sub, &mut blk, &mut mon,
        ];
        let mut id = Vec::new();
        let mut peer = Vec::new();
        for c in conns {
            id.push(client_id(c));
            peer.push(addr_of(c));
        }
        let [p_id, n_id, s_id, m_id, sub_id, b_id, mon_id] = id[..] else {
            unreachable!()
        };
        let ctl_id = client_id(&mut ctl);

        assert_eq!(show(&req(&mut plain, &["PING"])), "+PONG\\r\\n");
        ok(&mut named, &["CLIENT", "SETNAME", "alice"]);
        ok(&mut sel, &["SELECT", "3"]);
        ok(&mut multi, &["MULTI"]);
        assert_eq!(show(&req(&mut multi, &["SET", "a", "1"])), "+QUEUED\\r\\n");
        assert_eq!(show(&req(&mut multi, &["INCR", "a"])), "+QUEUED\\r\\n");
        req(&mut sub, &["SUBSCRIBE", "c1", "c2"]);
        sub.read_reply().expect("second confirmation");
        req(&mut sub, &["PSUBSCRIBE", "p*"]);
        blk.send(&encode_str(&["BLPOP", "empty", "0"]))
            .expect("send");
        ok(&mut mon, &["MONITOR"]);
        wait_blocked(&mut ctl, b_id);

        let lines = client_list(&mut ctl, &[]);
        let mut listed = ids(&lines);
        listed.sort_unstable();
        let mut all = vec![p_id, n_id, s_id, m_id, sub_id, b_id, mon_id, ctl_id];
        all.sort_unstable();
        assert_eq!(listed, all, "every client listed once");
        let server = addr.to_string();
        for line in &lines {
            line.check_shape(who);
            assert_eq!(line.get("laddr"), server);
            if let Some(i) = id.iter().position(|&x| x == line.id()) {
                assert_eq!(line.get("addr"), peer[i], "addr of client {}", line.id());
            }
        }
        let find = |id: i64| {
            lines
                .iter()
                .find(|l| l.id() == id)
                .unwrap_or_else(|| panic!("client {id} not listed"))
        };
        find(p_id).check_state("", 0, (0, 0, 0), -1, "N", "ping");
        find(n_id).check_state("alice", 0, (0, 0, 0), -1, "N", "client|setname");
        find(s_id).check_state("", 3, (0, 0, 0), -1, "N", "select");
        // (`cmd` of a client inside MULTI: see its own test below.)
        let m = find(m_id);
        assert_eq!(
            [m.get("flags"), m.get("multi"), m.get("db"), m.get("sub")],
            ["x", "2", "0", "0"]
        );
        find(sub_id).check_state("", 0, (2, 1, 0), -1, "P", "psubscribe");
        find(b_id).check_state("", 0, (0, 0, 0), -1, "b", "blpop");
        find(mon_id).check_state("", 0, (0, 0, 0), -1, "O", "monitor");
        find(ctl_id).check_state("", 0, (0, 0, 0), -1, "N", "client|list");

        // TYPE: MONITOR clients are normal clients, subscribers are pubsub.
        let normal = ids(&client_list(&mut ctl, &["TYPE", "normal"]));
        let mut normal_sorted = normal.clone();
        normal_sorted.sort_unstable();
        let mut expected: Vec<i64> = all.iter().copied().filter(|&i| i != sub_id).collect();
        expected.sort_unstable();
        assert_eq!(normal_sorted, expected, "TYPE normal");
        assert_eq!(ids(&client_list(&mut ctl, &["TYPE", "PUBSUB"])), [sub_id]);
        for kind in ["replica", "slave", "master", "MASTER"] {
            assert_eq!(
                show(&req(&mut ctl, &["CLIENT", "LIST", "TYPE", kind])),
                "$0\\r\\n\\r\\n",
                "TYPE {kind}"
            );
        }

        // ID: in the order asked, unknown and non-positive ids skipped, repeats repeated.
        let (n, s) = (n_id.to_string(), s_id.to_string());
        let asked = ["ID", &s, "999999", &n, "0", "-5", &s];
        assert_eq!(ids(&client_list(&mut ctl, &asked)), [s_id, n_id, s_id]);
        let one = client_list(&mut ctl, &["id", &n]);
        assert_eq!(ids(&one), [n_id]);
        one[0].check_state("alice", 0, (0, 0, 0), -1, "N", "client|setname");
        assert_eq!(
            show(&req(&mut ctl, &["CLIENT", "LIST", "ID", "999999"])),
            "$0\\r\\n\\r\\n"
        );

        // Errors.
        let errors: &[(&[&str], &str)] = &[
            (&["TYPE", "foo"], "ERR Unknown client type 'foo'"),
            (&["ID", "abc"], "ERR Invalid client ID"),
            (&["ID", "1", "abc"], "ERR Invalid client ID"),
            (&["ID", "1.5"], "ERR Invalid client ID"),
            (&["foo"], "ERR syntax error"),
            (&["TYPE"], "ERR syntax error"),
            (&["ID"], "ERR syntax error"),
            (&["TYPE", "normal", "extra"], "ERR syntax error"),
            (&["TYPE", "normal", "ID", "1"], "ERR syntax error"),
        ];
        for (extra, expected) in errors {
            let mut args = vec!["CLIENT", "LIST"];
            args.extend_from_slice(extra);
            assert_eq!(err(&mut ctl, &args), *expected, "{args:?}");
        }

        // CLIENT INFO: the caller's own line, as of now.
        let info = text(&mut named, &["CLIENT", "INFO"]);
        let lines = parse_list(&info);
        assert_eq!(lines.len(), 1, "{info:?}");
        lines[0].check_shape(who);
        assert_eq!(lines[0].id(), n_id);
        assert_eq!(lines[0].get("addr"), peer[1]);
        lines[0].check_state("alice", 0, (0, 0, 0), -1, "N", "client|info");
        ok(&mut sel, &["CLIENT", "NO-EVICT", "on"]);
        let info = parse_list(&text(&mut sel, &["CLIENT", "INFO"]));
        info[0].check_state("", 3, (0, 0, 0), -1, "e", "client|info");
        assert_eq!(
            err(&mut ctl, &["CLIENT", "INFO", "x"]),
            "ERR wrong number of arguments for 'client|info' command"
        );
    });
}

/// A client inside MULTI is listed with its last queued command as `cmd` (`incr` here).
#[test]
fn client_list_cmd_of_a_client_in_multi_is_its_last_queued_command() {
    on_both(|addr, _who| {
        let mut m = connect(addr);
        let mut ctl = connect(addr);
        let id = client_id(&mut m);
        ok(&mut m, &["MULTI"]);
        req(&mut m, &["SET", "a", "1"]);
        req(&mut m, &["INCR", "a"]);
        line_of(&mut ctl, id).check_state("", 0, (0, 0, 0), 2, "x", "incr");
    });
}

/// Flag `d` shows as soon as a WATCHed key changes, before the watcher runs another command.
#[test]
fn client_list_flag_d_appears_when_a_watched_key_changes() {
    on_both(|addr, _who| {
        let mut w = connect(addr);
        let mut other = connect(addr);
        let id = client_id(&mut w);
        ok(&mut w, &["WATCH", "wk"]);
        ok(&mut other, &["SET", "wk", "1"]);
        assert_eq!(line_of(&mut other, id).get("flags"), "d");
    });
}

// ---- CLIENT KILL -----------------------------------------------------------------------------

#[test]
fn client_kill_forms_and_errors() {
    on_both(|addr, _who| {
        let mut ctl = connect(addr);
        let me = client_id(&mut ctl);

        // Legacy form: OK, then `No such client` once it is gone.
        let mut v = connect(addr);
        let v_id = client_id(&mut v);
        let v_addr = addr_of(&v);
        ok(&mut ctl, &["CLIENT", "KILL", &v_addr]);
        assert_closed(&mut v, "legacy kill victim");
        assert_eq!(
            err(&mut ctl, &["CLIENT", "KILL", &v_addr]),
            "ERR No such client"
        );
        wait_gone(&mut ctl, v_id);
        assert_eq!(
            err(&mut ctl, &["CLIENT", "KILL", "1.2.3.4:5"]),
            "ERR No such client"
        );
        // Three arguments are always the legacy form.
        assert_eq!(
            err(&mut ctl, &["CLIENT", "KILL", "id"]),
            "ERR No such client"
        );

        // ID.
        let mut v = connect(addr);
        let v_id = client_id(&mut v).to_string();
        assert_eq!(int(&mut ctl, &["CLIENT", "KILL", "ID", &v_id]), 1);
        assert_closed(&mut v, "ID victim");
        assert_eq!(int(&mut ctl, &["CLIENT", "KILL", "ID", &v_id]), 0);
        assert_eq!(int(&mut ctl, &["CLIENT", "KILL", "ID", "999999"]), 0);

        // ADDR, with other filters that must all match.
        let mut v = connect(addr);
        let v_addr = addr_of(&v);
        let v_id = client_id(&mut v).to_string();
        assert_eq!(
            int(
                &mut ctl,
                &["CLIENT", "KILL", "ADDR", &v_addr, "ID", "999999"]
            ),
            0
        );
        assert_eq!(
            int(
                &mut ctl,
                &["CLIENT", "KILL", "ADDR", &v_addr, "TYPE", "pubsub"]
            ),
            0
        );
        assert_eq!(
            show(&req(&mut v, &["PING"])),
            "+PONG\\r\\n",
            "not killed by a partial match"
        );
        let args = [
            "CLIENT", "KILL", "addr", &v_addr, "user", "default", "id", &v_id,
        ];
        assert_eq!(int(&mut ctl, &args), 1);
        assert_closed(&mut v, "ADDR victim");
        assert_eq!(int(&mut ctl, &["CLIENT", "KILL", "ADDR", "1.2.3.4:5"]), 0);

        // TYPE: only the clients of that type.
        let mut normal = connect(addr);
        let mut sub = connect(addr);
        req(&mut sub, &["SUBSCRIBE", "ch"]);
        for kind in ["master", "replica", "slave"] {
            assert_eq!(
                int(&mut ctl, &["CLIENT", "KILL", "TYPE", kind]),
                0,
                "{kind}"
            );
        }
        assert_eq!(int(&mut ctl, &["CLIENT", "KILL", "TYPE", "pubsub"]), 1);
        assert_closed(&mut sub, "pubsub victim");
        assert_eq!(show(&req(&mut normal, &["PING"])), "+PONG\\r\\n");

        // SKIPME: the caller is skipped by default; SKIPME no kills it after its reply.
        let me_s = me.to_string();
        assert_eq!(int(&mut ctl, &["CLIENT", "KILL", "ID", &me_s]), 0);
        let args = ["CLIENT", "KILL", "ID", &me_s, "SKIPME", "yes"];
        assert_eq!(int(&mut ctl, &args), 0);
        assert_eq!(show(&req(&mut ctl, &["PING"])), "+PONG\\r\\n");

        let mut own = connect(addr);
        let own_id = client_id(&mut own).to_string();
        let mut batch = encode_str(&["CLIENT", "KILL", "ID", &own_id, "SKIPME", "no"]);
        batch.extend_from_slice(&encode_str(&["PING"]));
        own.send(&batch).expect("send");
        assert_eq!(show(&own.read_reply().expect("kill reply")), ":1\\r\\n");
        assert_closed(&mut own, "SKIPME no");

        // Legacy form on itself: OK, then closed (the PING after it is not run).
        let mut own = connect(addr);
        let own_addr = addr_of(&own);
        let mut batch = encode_str(&["CLIENT", "KILL", &own_addr]);
        batch.extend_from_slice(&encode_str(&["PING"]));
        own.send(&batch).expect("send");
        assert_eq!(show(&own.read_reply().expect("kill reply")), "+OK\\r\\n");
        assert_closed(&mut own, "legacy kill of itself");

        // USER: everybody is `default`.
        assert_eq!(
            err(&mut ctl, &["CLIENT", "KILL", "USER", "nobody"]),
            "ERR No such user 'nobody'"
        );

        // Errors.
        let errors: &[(&[&str], &str)] = &[
            (&["ID", "0"], "ERR client-id should be greater than 0"),
            (&["ID", "-3"], "ERR client-id should be greater than 0"),
            (&["ID", "abc"], "ERR client-id should be greater than 0"),
            (&["TYPE", "foo"], "ERR Unknown client type 'foo'"),
            (&["SKIPME", "maybe"], "ERR syntax error"),
            (&["ID", "1", "TYPE"], "ERR syntax error"),
            (&["FOO", "bar"], "ERR syntax error"),
            (&["ID", "1", "FOO", "bar"], "ERR syntax error"),
        ];
        for (extra, expected) in errors {
            let mut args = vec!["CLIENT", "KILL"];
            args.extend_from_slice(extra);
            assert_eq!(err(&mut ctl, &args), *expected, "{args:?}");
        }
        assert_eq!(
            err(&mut ctl, &["CLIENT", "KILL"]),
            "ERR wrong number of arguments for 'client|kill' command"
        );

        // LADDR: every client connected to this address but the caller.
        let mut v1 = connect(addr);
        let mut v2 = connect(addr);
        req(&mut v1, &["PING"]);
        req(&mut v2, &["PING"]);
        assert_eq!(
            int(&mut ctl, &["CLIENT", "KILL", "LADDR", "127.0.0.1:1"]),
            0
        );
        // (Killed clients may take a moment to leave the list.)
        let three = wait_until(Duration::from_secs(10), || {
            client_list(&mut ctl, &[]).len() == 4
        });
        assert!(three, "the caller, normal, v1 and v2 are left");
        let server = addr.to_string();
        assert_eq!(int(&mut ctl, &["CLIENT", "KILL", "LADDR", &server]), 3);
        assert_closed(&mut v1, "LADDR victim 1");
        assert_closed(&mut v2, "LADDR victim 2");
        assert_closed(&mut normal, "LADDR victim 3");
        let left = wait_until(Duration::from_secs(10), || {
            ids(&client_list(&mut ctl, &[])) == [me]
        });
        assert!(left, "only the caller is left");
        assert_eq!(show(&req(&mut ctl, &["PING"])), "+PONG\\r\\n");
    });
}

#[test]
fn client_kill_of_a_blocked_client() {
    on_both(|addr, _who| {
        let mut blk = connect(addr);
        let mut ctl = connect(addr);
        let id = client_id(&mut blk);
        blk.send(&encode_str(&["BLPOP", "list", "0"]))
            .expect("send");
        wait_info(&mut ctl, "clients", "blocked_clients", "1");
        wait_blocked(&mut ctl, id);
        let before: i64 = info_field(&mut ctl, "clients", "connected_clients")
            .parse()
            .expect("connected_clients");

        assert_eq!(int(&mut ctl, &["CLIENT", "KILL", "ID", &id.to_string()]), 1);
        assert_closed(&mut blk, "blocked victim");
        wait_info(&mut ctl, "clients", "blocked_clients", "0");
        wait_info(
            &mut ctl,
            "clients",
            "connected_clients",
            &(before - 1).to_string(),
        );
        wait_gone(&mut ctl, id);
        // Nobody waits any more: the element stays in the list.
        assert_eq!(int(&mut ctl, &["LPUSH", "list", "x"]), 1);
        assert_eq!(int(&mut ctl, &["LLEN", "list"]), 1);
    });
}

#[test]
fn client_kill_of_a_subscribed_client() {
    on_both(|addr, _who| {
        let mut sub = connect(addr);
        let mut psub = connect(addr);
        let mut ctl = connect(addr);
        req(&mut sub, &["SUBSCRIBE", "news"]);
        req(&mut psub, &["PSUBSCRIBE", "n*"]);
        let sub_addr = addr_of(&sub);
        let psub_id = client_id_of_listed(&mut ctl, &psub);
        assert_eq!(
            val(&mut ctl, &["PUBSUB", "NUMSUB", "news"]),
            parse(b"*2\r\n$4\r\nnews\r\n:1\r\n").expect("parse")
        );

        assert_eq!(int(&mut ctl, &["CLIENT", "KILL", "ADDR", &sub_addr]), 1);
        assert_closed(&mut sub, "subscribed victim");
        let drained = wait_until(Duration::from_secs(10), || {
            val(&mut ctl, &["PUBSUB", "NUMSUB", "news"])
                == parse(b"*2\r\n$4\r\nnews\r\n:0\r\n").expect("parse")
        });
        assert!(drained, "PUBSUB NUMSUB news stayed at 1");
        // The pattern subscriber still gets the message; then it goes too.
        assert_eq!(int(&mut ctl, &["PUBLISH", "news", "hi"]), 1);
        assert_eq!(
            show(&psub.read_reply().expect("pmessage")),
            "*4\\r\\n$8\\r\\npmessage\\r\\n$2\\r\\nn*\\r\\n$4\\r\\nnews\\r\\n$2\\r\\nhi\\r\\n"
        );
        assert_eq!(
            int(&mut ctl, &["CLIENT", "KILL", "ID", &psub_id.to_string()]),
            1
        );
        assert_closed(&mut psub, "pattern victim");
        let drained = wait_until(Duration::from_secs(10), || {
            int(&mut ctl, &["PUBSUB", "NUMPAT"]) == 0
        });
        assert!(drained, "PUBSUB NUMPAT stayed at 1");
        assert_eq!(int(&mut ctl, &["PUBLISH", "news", "again"]), 0);
    });
}

/// The id of a (subscribed) client, found through its address in CLIENT LIST.
fn client_id_of_listed(ctl: &mut RawConn, c: &RawConn) -> i64 {
    let a = addr_of(c);
    client_list(ctl, &[])
        .into_iter()
        .find(|l| l.get("addr") == a)
        .unwrap_or_else(|| panic!("{a} not listed"))
        .id()
}

// ---- CLIENT REPLY ----------------------------------------------------------------------------

/// Sends `cmds` (pipelined in one write when `pipelined`, else one write each), then a PING, and
/// returns every byte that arrived up to and including its PONG.
fn replies_until_pong(c: &mut RawConn, cmds: &[&[&str]], pipelined: bool) -> String {
    let mut all = Vec::new();
    for cmd in cmds {
        if pipelined {
            all.extend_from_slice(&encode_str(cmd));
        } else {
            c.send(&encode_str(cmd)).expect("send");
        }
    }
    all.extend_from_slice(&encode_str(&["PING", "end"]));
    c.send(&all).expect("send");
    let mut got = Vec::new();
    loop {
        let r = c.read_reply().expect("reply");
        got.extend_from_slice(&r);
        if r == b"$3\r\nend\r\n" {
            return show(&got);
        }
    }
}

#[test]
fn client_reply_off_skip_on_bytes() {
    on_both(|addr, _who| {
        let mut c = connect(addr);
        ok(&mut c, &["SET", "k", "v"]);
        let cases: &[(&[&[&str]], &str)] = &[
            // OFF: nothing until ON, whose OK is sent.
            (
                &[
                    &["CLIENT", "REPLY", "OFF"],
                    &["SET", "k", "v"],
                    &["GET", "k"],
                    &["NOSUCH"],
                    &["GET"],
                    &["CLIENT", "REPLY", "bad"],
                    &["CLIENT", "REPLY", "SKIP"],
                    &["GET", "k"],
                    &["CLIENT", "REPLY", "ON"],
                    &["GET", "k"],
                ],
                "+OK\r\n$1\r\nv\r\n",
            ),
            // SKIP while OFF changes nothing: replies stay off.
            (
                &[
                    &["CLIENT", "REPLY", "OFF"],
                    &["CLIENT", "REPLY", "SKIP"],
                    &["GET", "k"],
                    &["GET", "k"],
                    &["GET", "k"],
                    &["CLIENT", "REPLY", "ON"],
                ],
                "+OK\r\n",
            ),
            // SKIP: itself and the next command only.
            (
                &[&["CLIENT", "REPLY", "SKIP"], &["GET", "k"], &["GET", "k"]],
                "$1\r\nv\r\n",
            ),
            // An error reply is skipped like any other.
            (
                &[&["client", "reply", "skip"], &["NOSUCH"], &["GET", "k"]],
                "$1\r\nv\r\n",
            ),
            (
                &[&["CLIENT", "REPLY", "SKIP"], &["GET"], &["GET", "k"]],
                "$1\r\nv\r\n",
            ),
            // SKIP after SKIP: the third command is the skipped one.
            (
                &[
                    &["CLIENT", "REPLY", "SKIP"],
                    &["CLIENT", "REPLY", "SKIP"],
                    &["GET", "k"],
                    &["GET", "k"],
                ],
                "$1\r\nv\r\n",
            ),
            // SKIP before MULTI: MULTI's OK is skipped, the rest of the transaction is not.
            (
                &[
                    &["CLIENT", "REPLY", "SKIP"],
                    &["MULTI"],
                    &["GET", "k"],
                    &["EXEC"],
                ],
                "+QUEUED\r\n*1\r\n$1\r\nv\r\n",
            ),
            // ON while on: OK.
            (&[&["CLIENT", "REPLY", "ON"]], "+OK\r\n"),
            // Syntax error while on: sent.
            (&[&["CLIENT", "REPLY", "maybe"]], "-ERR syntax error\r\n"),
            (
                &[&["CLIENT", "REPLY"]],
                "-ERR wrong number of arguments for 'client|reply' command\r\n",
            ),
        ];
        for pipelined in [true, false] {
            for (cmds, expected) in cases {
                let got = replies_until_pong(&mut c, cmds, pipelined);
                assert_eq!(
                    got,
                    show(format!("{expected}$3\r\nend\r\n").as_bytes()),
                    "{cmds:?} (pipelined: {pipelined})"
                );
            }
        }
        // The writes made while replies were off happened.
        ok(&mut c, &["SET", "k", "v"]);
        let mut batch = encode_str(&["CLIENT", "REPLY", "OFF"]);
        batch.extend_from_slice(&encode_str(&["SET", "k", "changed"]));
        batch.extend_from_slice(&encode_str(&["CLIENT", "REPLY", "ON"]));
        c.send(&batch).expect("send");
        assert_eq!(show(&c.read_reply().expect("ON")), "+OK\\r\\n");
        assert_eq!(text(&mut c, &["GET", "k"]), "changed");
    });
}

/// With replies off, the reply of a blocking command answered later (its timeout, or CLIENT
/// UNBLOCK) is dropped too.
#[test]
fn client_reply_off_drops_the_reply_of_a_blocked_command() {
    on_both(|addr, _who| {
        let mut c = connect(addr);
        let mut ctl = connect(addr);
        let id = client_id(&mut c);
        let got = replies_until_pong(
            &mut c,
            &[
                &["CLIENT", "REPLY", "OFF"],
                &["BLPOP", "nolist", "0.1"],
                &["CLIENT", "REPLY", "ON"],
            ],
            false,
        );
        assert_eq!(got, "+OK\\r\\n$3\\r\\nend\\r\\n", "timeout reply");
        let mut batch = encode_str(&["CLIENT", "REPLY", "OFF"]);
        batch.extend_from_slice(&encode_str(&["BLPOP", "nolist", "0"]));
        c.send(&batch).expect("send");
        wait_blocked(&mut ctl, id);
        assert_eq!(int(&mut ctl, &["CLIENT", "UNBLOCK", &id.to_string()]), 1);
        let got = replies_until_pong(&mut c, &[&["CLIENT", "REPLY", "ON"]], false);
        assert_eq!(got, "+OK\\r\\n$3\\r\\nend\\r\\n", "CLIENT UNBLOCK reply");
    });
}

/// (Un)subscribe confirmations are sent even with replies off (Redis pushes them like
/// messages).
#[test]
fn client_reply_off_keeps_subscribe_confirmations() {
    on_both(|addr, _who| {
        let mut c = connect(addr);
        let mut p = connect(addr);
        let mut batch = encode_str(&["CLIENT", "REPLY", "OFF"]);
        batch.extend_from_slice(&encode_str(&["SUBSCRIBE", "c"]));
        c.send(&batch).expect("send");
        assert_eq!(
            show(&c.read_reply().expect("confirmation")),
            "*3\\r\\n$9\\r\\nsubscribe\\r\\n$1\\r\\nc\\r\\n:1\\r\\n"
        );
        assert_eq!(int(&mut p, &["PUBLISH", "c", "hi"]), 1);
        assert_eq!(
            show(&c.read_reply().expect("message")),
            "*3\\r\\n$7\\r\\nmessage\\r\\n$1\\r\\nc\\r\\n$2\\r\\nhi\\r\\n"
        );
    });
}

// ---- CLIENT PAUSE / UNPAUSE ------------------------------------------------------------------

#[test]
fn client_pause_write_holds_writes_and_publish_until_unpause() {
    on_both(|addr, _who| {
        let mut ctl = connect(addr);
        let mut reader = connect(addr);
        let mut publisher = connect(addr);
        let mut subscriber = connect(addr);
        req(&mut subscriber, &["SUBSCRIBE", "ch"]);
        ok(&mut ctl, &["SET", "k", "old"]);
        ok(&mut ctl, &["CLIENT", "PAUSE", "60000", "WRITE"]);

        // A writer on its own thread: its reply must come after UNPAUSE was sent.
        let unpaused = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let mut writer = connect(addr);
        let flag = unpaused.clone();
        let thread = std::thread::spawn(move || {
            writer
                .send(&encode_str(&["SET", "k", "new"]))
                .expect("send");
            let reply = writer.read_reply().expect("SET reply");
            let _ = tx.send((reply, flag.load(Ordering::SeqCst)));
        });

        // Reads answer at once.
        let started = Instant::now();
        assert_eq!(text(&mut reader, &["GET", "k"]), "old");
        assert_eq!(show(&req(&mut reader, &["PING"])), "+PONG\\r\\n");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "reads were held"
        );
        assert!(
            matches!(
                rx.recv_timeout(Duration::from_millis(200)),
                Err(mpsc::RecvTimeoutError::Timeout)
            ),
            "the SET answered during the pause"
        );
        // PUBLISH is held too, and nothing reaches the subscriber.
        publisher
            .send(&encode_str(&["PUBLISH", "ch", "m"]))
            .expect("send");
        assert_pending(&mut publisher, "PUBLISH during a write pause");
        assert_pending(&mut subscriber, "message during a write pause");
        assert_eq!(text(&mut reader, &["GET", "k"]), "old");

        unpaused.store(true, Ordering::SeqCst);
        ok(&mut ctl, &["CLIENT", "UNPAUSE"]);
        let (reply, after_unpause) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the SET is answered after UNPAUSE");
        assert_eq!(show(&reply), "+OK\\r\\n");
        assert!(after_unpause, "the SET answered before UNPAUSE");
        thread.join().expect("writer thread");
        assert_eq!(show(&publisher.read_reply().expect("PUBLISH")), ":1\\r\\n");
        assert_eq!(
            show(&subscriber.read_reply().expect("message")),
            "*3\\r\\n$7\\r\\nmessage\\r\\n$2\\r\\nch\\r\\n$1\\r\\nm\\r\\n"
        );
        assert_eq!(text(&mut reader, &["GET", "k"]), "new");
        ok(&mut reader, &["SET", "k", "free"]);
    });
}

#[test]
fn client_pause_all_holds_reads_until_it_expires() {
    on_both(|addr, _who| {
        let mut ctl = connect(addr);
        let mut reader = connect(addr);
        let mut other = connect(addr);
        let started = Instant::now();
        ok(&mut ctl, &["CLIENT", "PAUSE", "1000", "ALL"]);
        reader.send(&encode_str(&["GET", "k"])).expect("send");
        // Under ALL, even CLIENT UNPAUSE waits for the pause to end.
        other
            .send(&encode_str(&["CLIENT", "UNPAUSE"]))
            .expect("send");
        assert_pending(&mut reader, "GET during PAUSE ALL");
        assert_pending(&mut other, "UNPAUSE during PAUSE ALL");
        assert_eq!(show(&reader.read_reply().expect("GET")), "$-1\\r\\n");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(990),
            "the GET answered after {waited:?}, before the pause ended"
        );
        assert_eq!(show(&other.read_reply().expect("UNPAUSE")), "+OK\\r\\n");
        ok(&mut reader, &["SET", "k", "v"]);
    });
}

#[test]
fn client_pause_write_expires_without_unpause() {
    on_both(|addr, _who| {
        let mut ctl = connect(addr);
        let mut writer = connect(addr);
        let started = Instant::now();
        ok(&mut ctl, &["CLIENT", "PAUSE", "600", "WRITE"]);
        let mut batch = encode_str(&["SET", "k", "v"]);
        batch.extend_from_slice(&encode_str(&["GET", "k"]));
        writer.send(&batch).expect("send");
        assert_pending(&mut writer, "SET during a write pause");
        // The held SET, then the GET sent after it in the same batch.
        assert_eq!(show(&writer.read_reply().expect("SET")), "+OK\\r\\n");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(590),
            "the SET answered after {waited:?}, before the pause ended"
        );
        assert_eq!(show(&writer.read_reply().expect("GET")), "$1\\r\\nv\\r\\n");
        // A pause of 0 ms pauses nothing.
        ok(&mut ctl, &["CLIENT", "PAUSE", "0", "WRITE"]);
        ok(&mut writer, &["SET", "k", "w"]);
    });
}

#[test]
fn client_pause_errors() {
    on_both(|addr, _who| {
        let mut c = connect(addr);
        let errors: &[(&[&str], &str)] = &[
            (&["-1"], "ERR timeout is negative"),
            (&["-1", "WRITE"], "ERR timeout is negative"),
            (&["abc"], "ERR timeout is not an integer or out of range"),
            (&["1.5"], "ERR timeout is not an integer or out of range"),
            (
                &["99999999999999999999"],
                "ERR timeout is not an integer or out of range",
            ),
            (&["10", "bad"], "ERR CLIENT PAUSE mode must be WRITE or ALL"),
            // The mode is checked before the timeout.
            (
                &["abc", "bad"],
                "ERR CLIENT PAUSE mode must be WRITE or ALL",
            ),
            (&["-5", "bad"], "ERR CLIENT PAUSE mode must be WRITE or ALL"),
        ];
        for (extra, expected) in errors {
            let mut args = vec!["CLIENT", "PAUSE"];
            args.extend_from_slice(extra);
            assert_eq!(err(&mut c, &args), *expected, "{args:?}");
        }
        assert_eq!(
            err(&mut c, &["client", "pause", "10", "write", "x"]),
            "ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP."
        );
        assert_eq!(
            err(&mut c, &["CLIENT", "PAUSE"]),
            "ERR wrong number of arguments for 'client|pause' command"
        );
        assert_eq!(
            err(&mut c, &["CLIENT", "UNPAUSE", "x"]),
            "ERR wrong number of arguments for 'client|unpause' command"
        );
        // An end past the 64-bit millisecond clock wraps into the past in Redis: no pause.
        ok(&mut c, &["CLIENT", "PAUSE", "9223372036854775807", "WRITE"]);
        let mut w = connect(addr);
        w.send(&encode_str(&["SET", "k", "v"])).expect("send");
        let reply = read_within(&mut w, Duration::from_secs(5));
        assert_eq!(reply.as_deref().map(show).as_deref(), Some("+OK\\r\\n"));
        ok(&mut c, &["CLIENT", "UNPAUSE"]);
        // Nothing was paused by the errors.
        ok(&mut w, &["SET", "k", "v"]);
    });
}

/// A write command sent inside MULTI during a write pause is held before it is queued (Redis
/// checks the pause before queueing).
#[test]
fn client_pause_write_holds_a_write_queued_in_multi() {
    on_both(|addr, _who| {
        let mut ctl = connect(addr);
        let mut m = connect(addr);
        ok(&mut m, &["MULTI"]);
        ok(&mut ctl, &["CLIENT", "PAUSE", "60000", "WRITE"]);
        m.send(&encode_str(&["SET", "k", "v"])).expect("send");
        assert_pending(&mut m, "SET queued during a write pause");
        ok(&mut ctl, &["CLIENT", "UNPAUSE"]);
        assert_eq!(show(&m.read_reply().expect("QUEUED")), "+QUEUED\\r\\n");
    });
}

// ---- NO-EVICT, UNBLOCK, GETREDIR -------------------------------------------------------------

#[test]
fn client_no_evict_unblock_and_getredir() {
    on_both(|addr, _who| {
        let mut c = connect(addr);
        let mut blk = connect(addr);
        let me = client_id(&mut c);

        // NO-EVICT: accepted, shown as flag e.
        ok(&mut c, &["CLIENT", "NO-EVICT", "on"]);
        assert_eq!(line_of(&mut c, me).get("flags"), "e");
        ok(&mut c, &["CLIENT", "NO-EVICT", "OFF"]);
        assert_eq!(line_of(&mut c, me).get("flags"), "N");
        assert_eq!(
            err(&mut c, &["CLIENT", "NO-EVICT", "maybe"]),
            "ERR syntax error"
        );
        assert_eq!(
            err(&mut c, &["CLIENT", "NO-EVICT"]),
            "ERR wrong number of arguments for 'client|no-evict' command"
        );

        // UNBLOCK of a client that is not blocked, or of nobody.
        let b_id = client_id(&mut blk);
        let b = b_id.to_string();
        assert_eq!(int(&mut c, &["CLIENT", "UNBLOCK", &b]), 0);
        assert_eq!(int(&mut c, &["CLIENT", "UNBLOCK", &b, "ERROR"]), 0);
        assert_eq!(int(&mut c, &["CLIENT", "UNBLOCK", "999999"]), 0);
        assert_eq!(int(&mut c, &["CLIENT", "UNBLOCK", "-1"]), 0);

        // Default and TIMEOUT: the command's timeout reply.
        let blocking: &[(&[&str], &str)] = &[
            (&["BLPOP", "l", "0"], "*-1\\r\\n"),
            (&["BZPOPMIN", "z", "0"], "*-1\\r\\n"),
            (&["BLMOVE", "l", "m", "LEFT", "LEFT", "0"], "*-1\\r\\n"),
        ];
        let hows: [&[&str]; 3] = [&[], &["TIMEOUT"], &["timeout"]];
        for (how, (cmd, expected)) in hows.iter().zip(blocking) {
            blk.send(&encode_str(cmd)).expect("send");
            wait_blocked(&mut c, b_id);
            let mut args = vec!["CLIENT", "UNBLOCK", &b];
            args.extend_from_slice(how);
            assert_eq!(int(&mut c, &args), 1, "{args:?}");
            assert_eq!(
                show(&blk.read_reply().expect("timeout reply")),
                *expected,
                "{cmd:?}"
            );
        }
        // ERROR: the UNBLOCKED error; the client goes on normally.
        blk.send(&encode_str(&["BLMOVE", "l", "m", "LEFT", "LEFT", "0"]))
            .expect("send");
        wait_blocked(&mut c, b_id);
        assert_eq!(int(&mut c, &["CLIENT", "UNBLOCK", &b, "error"]), 1);
        assert_eq!(
            show(&blk.read_reply().expect("error reply")),
            "-UNBLOCKED client unblocked via CLIENT UNBLOCK\\r\\n"
        );
        assert_eq!(int(&mut c, &["CLIENT", "UNBLOCK", &b, "ERROR"]), 0);
        wait_info(&mut c, "clients", "blocked_clients", "0");
        assert_eq!(show(&req(&mut blk, &["PING"])), "+PONG\\r\\n");
        // Nobody waits any more: a push stays in the list.
        assert_eq!(int(&mut c, &["RPUSH", "l", "x"]), 1);
        assert_eq!(int(&mut c, &["LLEN", "l"]), 1);

        let errors: &[(&[&str], &str)] = &[
            (&["abc"], "ERR value is not an integer or out of range"),
            (
                &["1", "foo"],
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ),
            // The reason is checked before the id.
            (
                &["abc", "foo"],
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ),
            (
                &["1", "timeout", "x"],
                "ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT \
                 HELP.",
            ),
        ];
        for (extra, expected) in errors {
            let mut args = vec!["CLIENT", "UNBLOCK"];
            args.extend_from_slice(extra);
            assert_eq!(err(&mut c, &args), *expected, "{args:?}");
        }

        // GETREDIR: no tracking, -1.
        assert_eq!(int(&mut c, &["CLIENT", "GETREDIR"]), -1);
        assert_eq!(
            err(&mut c, &["CLIENT", "GETREDIR", "x"]),
            "ERR wrong number of arguments for 'client|getredir' command"
        );
    });
}

// ---- MONITOR ---------------------------------------------------------------------------------

/// Reads one MONITOR line and returns it without its timestamp: `[db addr] "args"...`.
fn monitor_line(m: &mut RawConn) -> String {
    let raw = m.read_reply().expect("monitor line");
    let line = String::from_utf8(raw).expect("utf-8");
    let body = line
        .strip_prefix('+')
        .and_then(|l| l.strip_suffix("\r\n"))
        .unwrap_or_else(|| panic!("not a status line: {line:?}"));
    let (stamp, rest) = body
        .split_once(' ')
        .unwrap_or_else(|| panic!("no timestamp: {line:?}"));
    let (secs, usecs) = stamp
        .split_once('.')
        .unwrap_or_else(|| panic!("bad timestamp: {line:?}"));
    assert_eq!(usecs.len(), 6, "microseconds of {line:?}");
    assert!(usecs.bytes().all(|b| b.is_ascii_digit()), "{line:?}");
    let secs: u64 = secs.parse().unwrap_or_else(|_| panic!("{line:?}"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(secs.abs_diff(now) < 120, "timestamp far from now: {line:?}");
    rest.to_string()
}

#[test]
fn monitor_shows_other_clients_commands() {
    on_both(|addr, _who| {
        let mut m = connect(addr);
        let mut a = connect(addr);
        let mut b = connect(addr);
        ok(&mut m, &["MONITOR"]);
        let a_addr = addr_of(&a);
        let b_addr = addr_of(&b);

        let odd: &[u8] = b"a \"q\" \\ \n\r\t\x07\x08\x01\x7f\xff~";
        a.send(&encode(&[b"SET".to_vec(), b"k".to_vec(), odd.to_vec()]))
            .expect("send");
        assert_eq!(show(&a.read_reply().expect("SET")), "+OK\\r\\n");
        let script: &[&[&str]] = &[
            &["get", "k"],
            &["SELECT", "3"],
            // Admin commands are not shown.
            &["CONFIG", "GET", "maxmemory"],
            &["CLIENT", "LIST"],
            &["CLIENT", "KILL", "ID", "999999"],
            &["CLIENT", "NO-EVICT", "off"],
            // Other CLIENT subcommands are.
            &["CLIENT", "SETNAME", "n"],
            &["MULTI"],
            &["INCR", "c"],
            &["EXEC"],
            // Refused commands are not shown.
            &["NOSUCH", "x"],
            &["GET"],
        ];
        for cmd in script {
            req(&mut a, cmd);
        }
        // Credentials are redacted, even when AUTH fails.
        req(&mut a, &["AUTH", "secret"]);
        req(&mut a, &["AUTH", "someone", "secret"]);
        req(
            &mut a,
            &["HELLO", "2", "AUTH", "default", "secret", "SETNAME", "x"],
        );
        req(&mut b, &["PING", "from b"]);
        req(&mut a, &["PING", "end"]);

        let a_at = |db: u32| format!("[{db} {a_addr}]");
        let expected = [
            format!(
                "{} \"SET\" \"k\" \"a \\\"q\\\" \\\\ \\n\\r\\t\\a\\b\\x01\\x7f\\xff~\"",
                a_at(0)
            ),
            format!("{} \"get\" \"k\"", a_at(0)),
            format!("{} \"SELECT\" \"3\"", a_at(3)),
            format!("{} \"CLIENT\" \"SETNAME\" \"n\"", a_at(3)),
            format!("{} \"MULTI\"", a_at(3)),
            // A queued command is shown when EXEC runs it, before the EXEC.
            format!("{} \"INCR\" \"c\"", a_at(3)),
            format!("{} \"EXEC\"", a_at(3)),
            format!("{} \"AUTH\" \"(redacted)\"", a_at(3)),
            format!("{} \"AUTH\" \"(redacted)\" \"(redacted)\"", a_at(3)),
            format!(
                "{} \"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\" \"SETNAME\" \"x\"",
                a_at(3)
            ),
            format!("[0 {b_addr}] \"PING\" \"from b\""),
            format!("{} \"PING\" \"end\"", a_at(3)),
        ];
        for (i, want) in expected.iter().enumerate() {
            assert_eq!(monitor_line(&mut m), *want, "MONITOR line {i}");
        }

        // The monitoring client is listed with flag O; RESET ends monitoring.
        let m_id = client_id_of_listed(&mut b, &m);
        assert_eq!(line_of(&mut b, m_id).get("flags"), "O");
        assert_eq!(show(&req(&mut m, &["RESET"])), "+RESET\\r\\n");
        ok(&mut a, &["SET", "after", "reset"]);
        assert_eq!(
            show(&req(&mut m, &["PING"])),
            "+PONG\\r\\n",
            "no MONITOR line after RESET"
        );
        assert_eq!(line_of(&mut b, m_id).get("flags"), "N");
        assert_eq!(
            err(&mut m, &["MONITOR", "x"]),
            "ERR wrong number of arguments for 'monitor' command"
        );
    });
}

// ---- RESET -----------------------------------------------------------------------------------

#[test]
fn reset_restores_a_new_connections_state() {
    on_both(|addr, _who| {
        let mut a = connect(addr);
        let mut b = connect(addr);
        let a_id = client_id(&mut a);

        // SELECT, SETNAME, WATCH, MULTI with a queued write, NO-EVICT.
        ok(&mut a, &["SELECT", "2"]);
        ok(&mut a, &["CLIENT", "SETNAME", "x"]);
        ok(&mut a, &["CLIENT", "NO-EVICT", "on"]);
        ok(&mut a, &["SET", "wk", "1"]);
        ok(&mut a, &["WATCH", "wk"]);
        ok(&mut a, &["MULTI"]);
        assert_eq!(show(&req(&mut a, &["SET", "q", "1"])), "+QUEUED\\r\\n");
        assert_eq!(show(&req(&mut a, &["RESET"])), "+RESET\\r\\n");
        assert_eq!(err(&mut a, &["EXEC"]), "ERR EXEC without MULTI");
        assert_eq!(show(&req(&mut a, &["CLIENT", "GETNAME"])), "$-1\\r\\n");
        let info = parse_list(&text(&mut a, &["CLIENT", "INFO"]));
        // NO-EVICT survives RESET in Redis 7.0.
        info[0].check_state("", 0, (0, 0, 0), -1, "e", "client|info");
        assert_eq!(line_of(&mut b, a_id).get("flags"), "e");
        ok(&mut b, &["SELECT", "2"]);
        assert_eq!(int(&mut b, &["EXISTS", "q"]), 0, "the queued SET never ran");
        // The WATCH is gone: a change to wk no longer aborts a transaction.
        ok(&mut a, &["SELECT", "2"]);
        ok(&mut b, &["SET", "wk", "2"]);
        ok(&mut a, &["MULTI"]);
        req(&mut a, &["GET", "wk"]);
        assert_eq!(show(&req(&mut a, &["EXEC"])), "*1\\r\\n$1\\r\\n2\\r\\n");

        // Subscriptions are dropped.
        req(&mut a, &["SUBSCRIBE", "c"]);
        req(&mut a, &["PSUBSCRIBE", "p*"]);
        assert_eq!(show(&req(&mut a, &["RESET"])), "+RESET\\r\\n");
        assert_eq!(
            val(&mut b, &["PUBSUB", "NUMSUB", "c"]),
            parse(b"*2\r\n$1\r\nc\r\n:0\r\n").expect("parse")
        );
        assert_eq!(int(&mut b, &["PUBSUB", "NUMPAT"]), 0);
        assert_eq!(int(&mut b, &["PUBLISH", "c", "x"]), 0);
        assert_eq!(show(&req(&mut a, &["PING"])), "+PONG\\r\\n");
        let line = line_of(&mut b, a_id);
        line.check_state("", 0, (0, 0, 0), -1, "e", "ping");

        // Replies come back on.
        let mut batch = encode_str(&["CLIENT", "REPLY", "OFF"]);
        batch.extend_from_slice(&encode_str(&["PING"]));
        batch.extend_from_slice(&encode_str(&["RESET"]));
        batch.extend_from_slice(&encode_str(&["PING"]));
        a.send(&batch).expect("send");
        assert_eq!(show(&a.read_reply().expect("RESET")), "+RESET\\r\\n");
        assert_eq!(show(&a.read_reply().expect("PING")), "+PONG\\r\\n");

        // With a password, the client must authenticate again.
        ok(&mut a, &["CONFIG", "SET", "requirepass", "pw"]);
        assert_eq!(show(&req(&mut a, &["PING"])), "+PONG\\r\\n");
        assert_eq!(show(&req(&mut a, &["RESET"])), "+RESET\\r\\n");
        assert_eq!(err(&mut a, &["PING"]), "NOAUTH Authentication required.");
        assert_eq!(
            err(&mut a, &["GET", "k"]),
            "NOAUTH Authentication required."
        );
        // RESET itself needs no authentication.
        assert_eq!(show(&req(&mut a, &["RESET"])), "+RESET\\r\\n");
        ok(&mut a, &["AUTH", "pw"]);
        assert_eq!(show(&req(&mut a, &["PING"])), "+PONG\\r\\n");
        assert_eq!(
            err(&mut a, &["RESET", "x"]),
            "ERR wrong number of arguments for 'reset' command"
        );
    });
}
