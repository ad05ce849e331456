//! Connection commands through the real server: PING, ECHO, SELECT, QUIT, AUTH, HELLO and
//! CLIENT, with Redis 7.0.15's exact replies and error texts (checked against redis-server),
//! and the session state they change, inside pipelines too.

mod common;

use common::{cmd_err, raw_exchange, TestServer};
use redis::Value;

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn hello_map(id: i64) -> Value {
    Value::Array(vec![
        bulk("server"),
        bulk("redis"),
        bulk("version"),
        bulk("7.0.15"),
        bulk("proto"),
        Value::Int(2),
        bulk("id"),
        Value::Int(id),
        bulk("mode"),
        bulk("standalone"),
        bulk("role"),
        bulk("master"),
        bulk("modules"),
        Value::Array(vec![]),
    ])
}

fn client_id(con: &mut redis::Connection) -> i64 {
    redis::cmd("CLIENT").arg("ID").query(con).unwrap()
}

#[test]
fn ping_and_echo() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let v: Value = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(v, Value::SimpleString("PONG".into()));
    let v: Value = redis::cmd("PING").arg("hi there").query(&mut con).unwrap();
    assert_eq!(v, bulk("hi there"));
    assert_eq!(
        cmd_err(&mut con, &["PING", "a", "b"]),
        "ERR wrong number of arguments for 'ping' command"
    );
    let v: Vec<u8> = redis::cmd("ECHO")
        .arg(b"a\r\nb\x00".as_slice())
        .query(&mut con)
        .unwrap();
    assert_eq!(v, b"a\r\nb\x00");
    assert_eq!(
        cmd_err(&mut con, &["ECHO"]),
        "ERR wrong number of arguments for 'echo' command"
    );
    assert_eq!(
        cmd_err(&mut con, &["ECHO", "a", "b"]),
        "ERR wrong number of arguments for 'echo' command"
    );
    // Exact bytes on the wire, inline and multibulk.
    let out = raw_exchange(s.addr, b"PING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", Some(11));
    assert_eq!(out, b"+PONG\r\n$0\r\n\r\n");
}

#[test]
fn select() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("db0")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(15).query(&mut con).unwrap();
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, None);
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("db15")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "db0");
    for bad in ["16", "-1"] {
        assert_eq!(
            cmd_err(&mut con, &["SELECT", bad]),
            "ERR DB index is out of range"
        );
    }
    for bad in ["abc", "1.0", "+1", " 1", "01", ""] {
        assert_eq!(
            cmd_err(&mut con, &["SELECT", bad]),
            "ERR value is not an integer or out of range",
            "{bad:?}"
        );
    }
    assert_eq!(
        cmd_err(&mut con, &["SELECT", "4294967296"]),
        "ERR value is out of range, value must between -2147483648 and 2147483647"
    );
    assert_eq!(
        cmd_err(&mut con, &["SELECT"]),
        "ERR wrong number of arguments for 'select' command"
    );
    assert_eq!(
        cmd_err(&mut con, &["SELECT", "1", "2"]),
        "ERR wrong number of arguments for 'select' command"
    );
    // A failed SELECT leaves the selected db alone.
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "db0");
}

#[test]
fn select_in_a_pipeline_applies_in_order() {
    let s = TestServer::start(&[]);
    let input =
        b"SET k v\r\nSELECT 1\r\nGET k\r\nSET k w\r\nSELECT 0\r\nGET k\r\nSELECT 1\r\nGET k\r\n";
    let expect = b"+OK\r\n+OK\r\n$-1\r\n+OK\r\n+OK\r\n$1\r\nv\r\n+OK\r\n$1\r\nw\r\n";
    assert_eq!(raw_exchange(s.addr, input, Some(expect.len())), expect);
    // The same with the redis crate's pipeline.
    let mut con = s.conn();
    let (a, b, c): (Option<String>, Option<String>, Option<String>) = redis::pipe()
        .cmd("SELECT")
        .arg(2)
        .ignore()
        .cmd("GET")
        .arg("k")
        .cmd("SELECT")
        .arg(1)
        .ignore()
        .cmd("GET")
        .arg("k")
        .cmd("SELECT")
        .arg(0)
        .ignore()
        .cmd("GET")
        .arg("k")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        (a, b.as_deref(), c.as_deref()),
        (None, Some("w"), Some("v"))
    );
}

#[test]
fn quit_replies_ok_closes_and_runs_nothing_after() {
    let s = TestServer::start(&[]);
    let out = raw_exchange(s.addr, b"SET a 1\r\nQUIT\r\nSET b 2\r\nPING\r\n", None);
    assert_eq!(
        out, b"+OK\r\n+OK\r\n",
        "the connection closes after QUIT's OK"
    );
    let mut con = s.conn();
    let a: Option<String> = redis::cmd("GET").arg("a").query(&mut con).unwrap();
    let b: Option<String> = redis::cmd("GET").arg("b").query(&mut con).unwrap();
    assert_eq!(a.as_deref(), Some("1"));
    assert_eq!(b, None, "nothing after QUIT runs");
    // QUIT takes (and ignores) arguments, as Redis 7.0's arity -1 says.
    assert_eq!(
        raw_exchange(s.addr, b"QUIT now please\r\n", None),
        b"+OK\r\n"
    );
    // QUIT needs no AUTH.
    let s = TestServer::start(&["--requirepass", "pw"]);
    assert_eq!(raw_exchange(s.addr, b"QUIT\r\n", None), b"+OK\r\n");
}

#[test]
fn auth_without_requirepass() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    assert_eq!(
        cmd_err(&mut con, &["AUTH", "x"]),
        "ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?"
    );
    // The default user has no password: any password works for it, other users do not exist.
    let v: String = redis::cmd("AUTH")
        .arg("default")
        .arg("anything")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, "OK");
    assert_eq!(
        cmd_err(&mut con, &["AUTH", "bob", "x"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(
        cmd_err(&mut con, &["AUTH", "a", "b", "c"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut con, &["AUTH"]),
        "ERR wrong number of arguments for 'auth' command"
    );
}

#[test]
fn auth_with_requirepass() {
    let s = TestServer::start(&["--requirepass", "s3cret"]);
    let mut con = s.conn();
    assert_eq!(
        cmd_err(&mut con, &["GET", "k"]),
        "NOAUTH Authentication required."
    );
    assert_eq!(
        cmd_err(&mut con, &["PING"]),
        "NOAUTH Authentication required."
    );
    // Unknown commands and arity errors come before the auth check, as in Redis.
    assert_eq!(
        cmd_err(&mut con, &["NOPE", "x"]),
        "ERR unknown command 'NOPE', with args beginning with: 'x' "
    );
    assert_eq!(
        cmd_err(&mut con, &["GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        cmd_err(&mut con, &["AUTH", "wrong"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(
        cmd_err(&mut con, &["AUTH", "bob", "s3cret"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(
        cmd_err(&mut con, &["GET", "k"]),
        "NOAUTH Authentication required."
    );
    let v: String = redis::cmd("AUTH").arg("s3cret").query(&mut con).unwrap();
    assert_eq!(v, "OK");
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, None);
    // A failed AUTH later does not log the client out.
    assert_eq!(
        cmd_err(&mut con, &["AUTH", "nope"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();

    // AUTH default <password>, on a new connection.
    let mut con2 = s.conn();
    let v: String = redis::cmd("AUTH")
        .arg("default")
        .arg("s3cret")
        .query(&mut con2)
        .unwrap();
    assert_eq!(v, "OK");
    let v: String = redis::cmd("GET").arg("k").query(&mut con2).unwrap();
    assert_eq!(v, "v");

    // The password in the URL (the redis crate sends AUTH on connect).
    let url = format!("redis://:s3cret@{}/", s.addr);
    let mut con3 = redis::Client::open(url).unwrap().get_connection().unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con3).unwrap();
    assert_eq!(v, "v");
}

#[test]
fn auth_mid_pipeline_authorises_what_follows() {
    let s = TestServer::start(&["--requirepass", "pw"]);
    let input = b"SET k 1\r\nAUTH bad\r\nGET k\r\nAUTH pw\r\nSET k 2\r\nGET k\r\n";
    let expect: &[u8] = b"-NOAUTH Authentication required.\r\n\
        -WRONGPASS invalid username-password pair or user is disabled.\r\n\
        -NOAUTH Authentication required.\r\n\
        +OK\r\n+OK\r\n$1\r\n2\r\n";
    assert_eq!(raw_exchange(s.addr, input, Some(expect.len())), expect);
}

#[test]
fn requirepass_changed_at_run_time() {
    let s = TestServer::start(&[]);
    let mut admin = s.conn();
    let mut before = s.conn();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("pw")
        .query(&mut admin)
        .unwrap();
    // Connections made before stay authenticated (as the default user); new ones must AUTH.
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut before)
        .unwrap();
    let mut after = s.conn();
    assert_eq!(
        cmd_err(&mut after, &["GET", "k"]),
        "NOAUTH Authentication required."
    );
    // Clearing the password lets the unauthenticated connection in at once.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("")
        .query(&mut admin)
        .unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut after).unwrap();
    assert_eq!(v, "v");
    assert_eq!(
        cmd_err(&mut after, &["AUTH", "pw"]),
        "ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?"
    );
}

#[test]
fn hello() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let id = client_id(&mut con);
    let v: Value = redis::cmd("HELLO").query(&mut con).unwrap();
    assert_eq!(v, hello_map(id));
    let v: Value = redis::cmd("HELLO").arg(2).query(&mut con).unwrap();
    assert_eq!(v, hello_map(id));
    for bad in ["1", "3", "4", "-2"] {
        assert_eq!(
            cmd_err(&mut con, &["HELLO", bad]),
            "NOPROTO unsupported protocol version",
            "{bad}"
        );
    }
    assert_eq!(
        cmd_err(&mut con, &["HELLO", "abc"]),
        "ERR Protocol version is not an integer or out of range"
    );
    assert_eq!(
        cmd_err(&mut con, &["HELLO", "2", "SETNAME"]),
        "ERR Syntax error in HELLO option 'SETNAME'"
    );
    assert_eq!(
        cmd_err(&mut con, &["HELLO", "2", "auth", "a"]),
        "ERR Syntax error in HELLO option 'auth'"
    );
    assert_eq!(
        cmd_err(&mut con, &["HELLO", "2", "foo"]),
        "ERR Syntax error in HELLO option 'foo'"
    );
    assert_eq!(
        cmd_err(&mut con, &["HELLO", "2", "SETNAME", "a b"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    let v: Value = redis::cmd("HELLO")
        .arg(2)
        .arg("SETNAME")
        .arg("myname")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, hello_map(id));
    let name: String = redis::cmd("CLIENT").arg("GETNAME").query(&mut con).unwrap();
    assert_eq!(name, "myname");
    // Without a password the default user takes any.
    let v: Value = redis::cmd("HELLO")
        .arg(2)
        .arg("AUTH")
        .arg("default")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, hello_map(id));
    assert_eq!(
        cmd_err(&mut con, &["HELLO", "2", "AUTH", "bob", "x"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
}

#[test]
fn hello_with_requirepass() {
    let s = TestServer::start(&["--requirepass", "pw"]);
    let noauth = "NOAUTH HELLO must be called with the client already authenticated, otherwise \
                  the HELLO AUTH <user> <pass> option can be used to authenticate the client and \
                  select the RESP protocol version at the same time";
    let mut con = s.conn();
    assert_eq!(cmd_err(&mut con, &["HELLO"]), noauth);
    assert_eq!(cmd_err(&mut con, &["HELLO", "2", "SETNAME", "n"]), noauth);
    assert_eq!(
        cmd_err(&mut con, &["HELLO", "2", "AUTH", "default", "bad"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(
        cmd_err(&mut con, &["CLIENT", "ID"]),
        "NOAUTH Authentication required."
    );
    // A refused HELLO sets no name.
    let v: Value = redis::cmd("HELLO")
        .arg(2)
        .arg("AUTH")
        .arg("default")
        .arg("pw")
        .query(&mut con)
        .unwrap();
    let id = client_id(&mut con);
    assert_eq!(v, hello_map(id));
    let name: Option<String> = redis::cmd("CLIENT").arg("GETNAME").query(&mut con).unwrap();
    assert_eq!(name, None);
    let mut con = s.conn();
    let v: Value = redis::cmd("HELLO")
        .arg(2)
        .arg("AUTH")
        .arg("default")
        .arg("pw")
        .arg("SETNAME")
        .arg("n")
        .query(&mut con)
        .unwrap();
    let Value::Array(items) = &v else {
        panic!("{v:?}")
    };
    assert_eq!(items.len(), 14);
    assert_eq!(items[1], bulk("redis"));
    let name: String = redis::cmd("CLIENT").arg("GETNAME").query(&mut con).unwrap();
    assert_eq!(name, "n");
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
}

#[test]
fn client_subcommands() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let mut other = s.conn();
    let id = client_id(&mut con);
    assert!(id > 0);
    assert_ne!(client_id(&mut other), id, "ids are unique");
    let v: Option<String> = redis::cmd("CLIENT").arg("GETNAME").query(&mut con).unwrap();
    assert_eq!(v, None);
    let v: String = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("worker-1")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, "OK");
    let v: String = redis::cmd("CLIENT").arg("getname").query(&mut con).unwrap();
    assert_eq!(v, "worker-1");
    let v: Option<String> = redis::cmd("CLIENT")
        .arg("GETNAME")
        .query(&mut other)
        .unwrap();
    assert_eq!(v, None, "names are per connection");
    for bad in ["a b", "a\nb", "tab\there", "é"] {
        assert_eq!(
            cmd_err(&mut con, &["CLIENT", "SETNAME", bad]),
            "ERR Client names cannot contain spaces, newlines or special characters.",
            "{bad:?}"
        );
    }
    let v: String = redis::cmd("CLIENT").arg("GETNAME").query(&mut con).unwrap();
    assert_eq!(v, "worker-1", "a refused name leaves the old one");
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("")
        .query(&mut con)
        .unwrap();
    let v: Option<String> = redis::cmd("CLIENT").arg("GETNAME").query(&mut con).unwrap();
    assert_eq!(v, None, "an empty name clears it");

    // SETINFO (Redis 7.2).
    let _: () = redis::cmd("CLIENT")
        .arg("SETINFO")
        .arg("LIB-NAME")
        .arg("mylib")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("SETINFO")
        .arg("lib-ver")
        .arg("1.2.3")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        cmd_err(&mut con, &["CLIENT", "SETINFO", "foo", "x"]),
        "ERR Unrecognized option 'foo'"
    );
    assert_eq!(
        cmd_err(&mut con, &["CLIENT", "SETINFO", "LIB-NAME", "a b"]),
        "ERR LIB-NAME cannot contain spaces, newlines or special characters."
    );
    assert_eq!(
        cmd_err(&mut con, &["CLIENT", "SETINFO", "lib-name"]),
        "ERR wrong number of arguments for 'client|setinfo' command"
    );

    // INFO describes this connection.
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("me")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let info: String = redis::cmd("CLIENT").arg("INFO").query(&mut con).unwrap();
    assert!(info.ends_with('\n'), "{info:?}");
    let fields: Vec<&str> = info.trim_end().split(' ').collect();
    for want in [
        format!("id={id}"),
        "name=me".to_string(),
        "db=3".to_string(),
        "cmd=client|info".to_string(),
        "resp=2".to_string(),
        "lib-name=mylib".to_string(),
        "lib-ver=1.2.3".to_string(),
        format!("laddr={}", s.addr),
    ] {
        assert!(fields.contains(&want.as_str()), "{want} in {info}");
    }

    // Errors of the container.
    assert_eq!(
        cmd_err(&mut con, &["CLIENT", "SETNAME"]),
        "ERR wrong number of arguments for 'client|setname' command"
    );
    assert_eq!(
        cmd_err(&mut con, &["CLIENT", "ID", "x"]),
        "ERR wrong number of arguments for 'client|id' command"
    );
    assert_eq!(
        cmd_err(&mut con, &["CLIENT"]),
        "ERR wrong number of arguments for 'client' command"
    );
    assert_eq!(
        cmd_err(&mut con, &["CLIENT", "NOPE"]),
        "ERR unknown subcommand 'NOPE'. Try CLIENT HELP."
    );
    let help: Vec<String> = redis::cmd("CLIENT").arg("HELP").query(&mut con).unwrap();
    assert_eq!(
        help[0],
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(
        help[help.len() - 2..],
        ["HELP".to_string(), "    Prints this help.".to_string()]
    );
    assert!(help.contains(&"SETNAME <name>".to_string()));
}

#[test]
fn client_name_in_a_pipeline() {
    let s = TestServer::start(&[]);
    let input = b"CLIENT GETNAME\r\nCLIENT SETNAME a\r\nCLIENT GETNAME\r\nCLIENT SETNAME b\r\nCLIENT GETNAME\r\n";
    let expect = b"$-1\r\n+OK\r\n$1\r\na\r\n+OK\r\n$1\r\nb\r\n";
    assert_eq!(raw_exchange(s.addr, input, Some(expect.len())), expect);
}

#[test]
fn the_redis_crate_sets_its_lib_info_on_connect() {
    // The redis crate sends CLIENT SETINFO LIB-NAME / LIB-VER right after connecting.
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let info: String = redis::cmd("CLIENT").arg("INFO").query(&mut con).unwrap();
    assert!(info.contains(" lib-name=redis-rs "), "{info}");
    assert!(!info.contains(" lib-ver= "), "{info}");
}

/// Before AUTH, Redis 7.0's tighter protocol limits apply (10 arguments, 16 KiB bulks); a
/// request pipelined right after a successful AUTH is already free of them.
#[test]
fn unauthenticated_protocol_limits() {
    let srv = TestServer::start(&["--requirepass", "pw"]);
    let many = format!("*11\r\n{}", "$1\r\na\r\n".repeat(11));
    assert_eq!(
        raw_exchange(srv.addr, many.as_bytes(), None),
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    let big = format!("*2\r\n$4\r\nECHO\r\n$16385\r\n{}\r\n", "x".repeat(16385));
    assert_eq!(
        raw_exchange(srv.addr, big.as_bytes(), None),
        b"-ERR Protocol error: unauthenticated bulk length\r\n"
    );
    let value = "v".repeat(20000);
    let input = format!(
        "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n{value}\r\n*2\r\n$6\r\nSTRLEN\r\n$1\r\nk\r\n"
    );
    assert_eq!(
        raw_exchange(srv.addr, input.as_bytes(), Some(17)),
        b"+OK\r\n+OK\r\n:20000\r\n"
    );
}
