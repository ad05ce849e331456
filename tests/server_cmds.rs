//! Server commands through the real server: DBSIZE, FLUSHDB, FLUSHALL, TIME, COMMAND, INFO,
//! SHUTDOWN, and stopping by SIGTERM, with Redis 7.0.15's replies and error texts (checked
//! against redis-server).

mod common;

use common::{cmd_err, raw_exchange, wait_until, TestServer};
use redis::Value;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn set(con: &mut redis::Connection, k: &str, v: &str) {
    let _: () = redis::cmd("SET").arg(k).arg(v).query(con).unwrap();
}

fn select(con: &mut redis::Connection, db: u16) {
    let _: () = redis::cmd("SELECT").arg(db).query(con).unwrap();
}

fn dbsize(con: &mut redis::Connection) -> i64 {
    redis::cmd("DBSIZE").query(con).unwrap()
}

fn info(con: &mut redis::Connection, sections: &[&str]) -> String {
    let mut c = redis::cmd("INFO");
    for s in sections {
        c.arg(*s);
    }
    c.query(con).unwrap()
}

/// INFO's `name:value` fields.
fn fields(text: &str) -> HashMap<String, String> {
    text.split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn dbsize_counts_live_keys_of_the_selected_db() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    assert_eq!(dbsize(&mut con), 0);
    set(&mut con, "a", "1");
    set(&mut con, "b", "2");
    let _: () = redis::cmd("SET")
        .arg("short")
        .arg("x")
        .arg("PX")
        .arg(150)
        .query(&mut con)
        .unwrap();
    assert_eq!(dbsize(&mut con), 3);
    select(&mut con, 1);
    assert_eq!(dbsize(&mut con), 0);
    set(&mut con, "c", "3");
    assert_eq!(dbsize(&mut con), 1);
    select(&mut con, 0);
    // An expired key is not counted, even before anything deleted it.
    assert!(wait_until(Duration::from_secs(10), || dbsize(&mut con) == 2));
    let _: () = redis::cmd("DEL").arg("a").query(&mut con).unwrap();
    assert_eq!(dbsize(&mut con), 1);
    assert_eq!(
        cmd_err(&mut con, &["DBSIZE", "x"]),
        "ERR wrong number of arguments for 'dbsize' command"
    );
}

#[test]
fn flushdb_and_flushall() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    for db in [0, 1, 2] {
        select(&mut con, db);
        set(&mut con, "k", "v");
        set(&mut con, "k2", "v");
    }
    select(&mut con, 1);
    let v: String = redis::cmd("FLUSHDB").query(&mut con).unwrap();
    assert_eq!(v, "OK");
    assert_eq!(dbsize(&mut con), 0);
    select(&mut con, 0);
    assert_eq!(dbsize(&mut con), 2, "FLUSHDB only empties the selected db");
    let _: () = redis::cmd("FLUSHDB").arg("ASYNC").query(&mut con).unwrap();
    assert_eq!(dbsize(&mut con), 0);
    select(&mut con, 2);
    assert_eq!(dbsize(&mut con), 2);
    let _: () = redis::cmd("FLUSHDB").arg("sync").query(&mut con).unwrap();
    assert_eq!(dbsize(&mut con), 0);
    // Writes after a flush work as usual.
    set(&mut con, "new", "1");
    let v: String = redis::cmd("GET").arg("new").query(&mut con).unwrap();
    assert_eq!(v, "1");

    for db in [0, 5, 15] {
        select(&mut con, db);
        set(&mut con, "k", "v");
    }
    let v: String = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    assert_eq!(v, "OK");
    for db in 0..16 {
        select(&mut con, db);
        assert_eq!(dbsize(&mut con), 0, "db {db}");
    }
    set(&mut con, "k", "v");
    let _: () = redis::cmd("FLUSHALL").arg("ASYNC").query(&mut con).unwrap();
    assert_eq!(dbsize(&mut con), 0);
    set(&mut con, "k", "v");
    let _: () = redis::cmd("FLUSHALL").arg("SYNC").query(&mut con).unwrap();
    assert_eq!(dbsize(&mut con), 0);

    for cmd in ["FLUSHDB", "FLUSHALL"] {
        assert_eq!(cmd_err(&mut con, &[cmd, "foo"]), "ERR syntax error");
        assert_eq!(
            cmd_err(&mut con, &[cmd, "async", "sync"]),
            "ERR syntax error"
        );
    }
}

#[test]
fn flushall_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut s = TestServer::start_in(&dir, &[]);
    let mut con = s.conn();
    set(&mut con, "gone", "1");
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    set(&mut con, "kept", "1");
    s.kill9();
    let s = TestServer::start_in(&dir, &[]);
    let mut con = s.conn();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert_eq!(keys, vec!["kept".to_string()]);
}

#[test]
fn time() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let v: Value = redis::cmd("TIME").query(&mut con).unwrap();
    let Value::Array(parts) = v else {
        panic!("{v:?}")
    };
    let nums: Vec<u64> = parts
        .iter()
        .map(|p| match p {
            Value::BulkString(b) => std::str::from_utf8(b).unwrap().parse().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(nums.len(), 2);
    assert!(nums[0].abs_diff(now) <= 2, "{nums:?} vs {now}");
    assert!(nums[1] < 1_000_000);
    assert_eq!(
        cmd_err(&mut con, &["TIME", "x"]),
        "ERR wrong number of arguments for 'time' command"
    );
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn status(s: &str) -> Value {
    Value::SimpleString(s.to_string())
}

#[test]
fn command_info_entries() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    // GET's entry is exactly Redis 7.0's.
    let v: Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("get")
        .query(&mut con)
        .unwrap();
    let key_spec = Value::Array(vec![
        bulk("flags"),
        Value::Array(vec![status("RO"), status("access")]),
        bulk("begin_search"),
        Value::Array(vec![
            bulk("type"),
            bulk("index"),
            bulk("spec"),
            Value::Array(vec![bulk("index"), Value::Int(1)]),
        ]),
        bulk("find_keys"),
        Value::Array(vec![
            bulk("type"),
            bulk("range"),
            bulk("spec"),
            Value::Array(vec![
                bulk("lastkey"),
                Value::Int(0),
                bulk("keystep"),
                Value::Int(1),
                bulk("limit"),
                Value::Int(0),
            ]),
        ]),
    ]);
    let get = Value::Array(vec![
        bulk("get"),
        Value::Int(2),
        Value::Array(vec![status("readonly"), status("fast")]),
        Value::Int(1),
        Value::Int(1),
        Value::Int(1),
        Value::Array(vec![status("@read"), status("@string"), status("@fast")]),
        Value::Array(vec![]),
        Value::Array(vec![key_spec]),
        Value::Array(vec![]),
    ]);
    assert_eq!(v, Value::Array(vec![get.clone()]));

    // Unknown names are nil; case does not matter; subcommands by full name.
    let v: Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("nope")
        .arg("GET")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, Value::Array(vec![Value::Nil, get]));
    let v: Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("config|get")
        .query(&mut con)
        .unwrap();
    let want = Value::Array(vec![Value::Array(vec![
        bulk("config|get"),
        Value::Int(-3),
        Value::Array(vec![
            status("admin"),
            status("noscript"),
            status("loading"),
            status("stale"),
        ]),
        Value::Int(0),
        Value::Int(0),
        Value::Int(0),
        Value::Array(vec![
            status("@admin"),
            status("@slow"),
            status("@dangerous"),
        ]),
        Value::Array(vec![]),
        Value::Array(vec![]),
        Value::Array(vec![]),
    ])]);
    assert_eq!(v, want);

    // A container lists its subcommands as entries.
    let v: Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("config")
        .query(&mut con)
        .unwrap();
    let Value::Array(outer) = v else { panic!() };
    let Value::Array(config) = &outer[0] else {
        panic!()
    };
    assert_eq!(config[0], bulk("config"));
    assert_eq!(config[1], Value::Int(-2));
    let Value::Array(subs) = &config[9] else {
        panic!()
    };
    let names: Vec<Value> = subs
        .iter()
        .map(|e| match e {
            Value::Array(f) => f[0].clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    for n in [
        "config|get",
        "config|set",
        "config|resetstat",
        "config|rewrite",
        "config|help",
    ] {
        assert!(names.contains(&bulk(n)), "{n}");
    }
}

#[test]
fn command_listing_and_count() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let all: Vec<Value> = redis::cmd("COMMAND").query(&mut con).unwrap();
    let count: i64 = redis::cmd("COMMAND").arg("COUNT").query(&mut con).unwrap();
    assert_eq!(all.len() as i64, count);
    assert!(count >= 20, "{count}");
    // Every entry has 10 elements and a known shape.
    for e in &all {
        let Value::Array(f) = e else { panic!("{e:?}") };
        assert_eq!(f.len(), 10, "{e:?}");
        assert!(matches!(f[0], Value::BulkString(_)));
        assert!(matches!(f[1], Value::Int(_)));
    }
    let info_all: Vec<Value> = redis::cmd("COMMAND").arg("INFO").query(&mut con).unwrap();
    assert_eq!(info_all.len() as i64, count);

    let list: Vec<String> = redis::cmd("COMMAND").arg("LIST").query(&mut con).unwrap();
    for n in [
        "get",
        "ping",
        "config",
        "config|get",
        "client|setname",
        "command|list",
    ] {
        assert!(list.contains(&n.to_string()), "{n}");
    }
    let mut cfg: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("PATTERN")
        .arg("config*")
        .query(&mut con)
        .unwrap();
    cfg.sort();
    assert_eq!(
        cfg,
        [
            "config",
            "config|get",
            "config|help",
            "config|resetstat",
            "config|rewrite",
            "config|set"
        ]
    );
    let strings: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("ACLCAT")
        .arg("string")
        .query(&mut con)
        .unwrap();
    assert!(strings.contains(&"get".to_string()) && !strings.contains(&"ping".to_string()));
    let modules: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("MODULE")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert!(modules.is_empty());
    assert_eq!(
        cmd_err(&mut con, &["COMMAND", "LIST", "FILTERBY", "foo", "bar"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut con, &["COMMAND", "LIST", "x"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut con, &["COMMAND", "COUNT", "x"]),
        "ERR wrong number of arguments for 'command|count' command"
    );
    assert_eq!(
        cmd_err(&mut con, &["COMMAND", "NOPE"]),
        "ERR unknown subcommand 'NOPE'. Try COMMAND HELP."
    );
    let help: Vec<String> = redis::cmd("COMMAND").arg("HELP").query(&mut con).unwrap();
    assert_eq!(
        help[0],
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(
        help.last().map(String::as_str),
        Some("    Prints this help.")
    );
}

#[test]
fn command_getkeys_and_docs() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let keys: Vec<String> = redis::cmd("COMMAND")
        .arg("GETKEYS")
        .arg("MSET")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .query(&mut con)
        .unwrap();
    assert_eq!(keys, ["a", "b"]);
    let keys: Vec<String> = redis::cmd("COMMAND")
        .arg("GETKEYS")
        .arg("get")
        .arg("k")
        .query(&mut con)
        .unwrap();
    assert_eq!(keys, ["k"]);
    let v: Value = redis::cmd("COMMAND")
        .arg("GETKEYSANDFLAGS")
        .arg("get")
        .arg("k")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        v,
        Value::Array(vec![Value::Array(vec![
            bulk("k"),
            Value::Array(vec![status("RO"), status("access")])
        ])])
    );
    assert_eq!(
        cmd_err(&mut con, &["COMMAND", "GETKEYS", "nope", "a"]),
        "ERR Invalid command specified"
    );
    assert_eq!(
        cmd_err(&mut con, &["COMMAND", "GETKEYS", "ping", "a"]),
        "ERR The command has no key arguments"
    );
    assert_eq!(
        cmd_err(&mut con, &["COMMAND", "GETKEYS", "get", "a", "b"]),
        "ERR Invalid number of arguments specified for command"
    );
    assert_eq!(
        cmd_err(&mut con, &["COMMAND", "GETKEYS", "get"]),
        "ERR wrong number of arguments for 'command|getkeys' command"
    );

    // DOCS: a map of name to a doc map (minimal), unknown names left out.
    let v: Value = redis::cmd("COMMAND")
        .arg("DOCS")
        .arg("get")
        .arg("nope")
        .query(&mut con)
        .unwrap();
    let Value::Array(items) = v else {
        panic!("{v:?}")
    };
    assert_eq!(items.len(), 2);
    assert_eq!(items[0], bulk("get"));
    let Value::Array(doc) = &items[1] else {
        panic!()
    };
    assert!(doc.contains(&bulk("summary")) && doc.contains(&bulk("group")));
    let v: Value = redis::cmd("COMMAND")
        .arg("DOCS")
        .arg("nope")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, Value::Array(vec![]));
}

#[test]
fn info_sections_and_format() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let text = info(&mut con, &[]);
    let headers: Vec<&str> = text.split("\r\n").filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        headers,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace",
            "# RocksDB"
        ]
    );
    // Redis's layout: CRLF lines, a blank line between sections, none at the end.
    assert!(text.starts_with("# Server\r\n"));
    assert!(text.ends_with("\r\n") && !text.ends_with("\r\n\r\n"));
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "only CRLF line ends"
    );
    assert!(text.contains("\r\n\r\n# Clients\r\n"));
    for line in text
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        assert!(line.contains(':'), "{line:?}");
    }
    let heads = |t: &str| -> Vec<String> {
        t.split("\r\n")
            .filter(|l| l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(heads(&info(&mut con, &["default"])), headers);
    // As Redis 7.0: commandstats only with all / everything (or by name).
    let mut with_cmdstats: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    with_cmdstats.insert(8, "# Commandstats".into());
    for all in ["all", "everything", "ALL"] {
        assert_eq!(heads(&info(&mut con, &[all])), with_cmdstats, "{all}");
    }

    let f = fields(&text);
    assert_eq!(f["redis_version"], "7.0.15");
    assert_eq!(f["redis_mode"], "standalone");
    assert_eq!(f["tcp_port"], s.addr.port().to_string());
    assert_eq!(f["process_id"], s.child.as_ref().unwrap().id().to_string());
    assert_eq!(f["arch_bits"], "64");
    assert_eq!(f["run_id"].len(), 40);
    assert!(!f["talus_version"].is_empty());
    assert_eq!(f["role"], "master");
    assert_eq!(f["loading"], "0");
    assert_eq!(f["maxclients"], "10000");
    assert!(f["connected_clients"].parse::<u64>().unwrap() >= 1);
    assert!(f["used_memory"].parse::<u64>().unwrap() > 0);

    // Chosen sections only, in Redis's order whatever the order asked; unknown ones add nothing.
    let two = info(&mut con, &["clients", "SERVER", "nope"]);
    let headers: Vec<&str> = two.split("\r\n").filter(|l| l.starts_with('#')).collect();
    assert_eq!(headers, ["# Server", "# Clients"]);
    assert_eq!(info(&mut con, &["nope"]), "");
    let cpu = info(&mut con, &["cpu"]);
    assert!(cpu.starts_with("# CPU\r\nused_cpu_sys:"), "{cpu}");
}

#[test]
fn info_keyspace_and_stats() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    assert_eq!(info(&mut con, &["keyspace"]), "# Keyspace\r\n");
    // The RocksDB section: estimated keys and live/total SST bytes per column family.
    let rocks = info(&mut con, &["rocksdb"]);
    assert!(rocks.starts_with("# RocksDB\r\n"), "{rocks}");
    for cf in ["default", "meta", "data", "zset_score"] {
        for field in [
            "estimate_num_keys",
            "live_sst_files_size",
            "total_sst_files_size",
        ] {
            assert!(
                rocks.contains(&format!("\r\n{cf}.{field}:")),
                "{cf}.{field} in {rocks}"
            );
        }
    }
    set(&mut con, "a", "1");
    let _: () = redis::cmd("SET")
        .arg("b")
        .arg("1")
        .arg("EX")
        .arg(100)
        .query(&mut con)
        .unwrap();
    select(&mut con, 3);
    set(&mut con, "c", "1");
    let text = info(&mut con, &["keyspace"]);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "# Keyspace");
    assert!(
        lines[1].starts_with("db0:keys=2,expires=1,avg_ttl="),
        "{text}"
    );
    let ttl: u64 = lines[1].rsplit('=').next().unwrap().parse().unwrap();
    assert!(ttl > 90_000 && ttl <= 100_000, "{ttl}");
    assert_eq!(lines[2], "db3:keys=1,expires=0,avg_ttl=0");
    assert_eq!(lines[3], "");
    assert_eq!(lines.len(), 4);

    // Hits, misses, commands, connections; RESETSTAT zeroes them.
    let before = fields(&info(&mut con, &["stats"]));
    let _: Option<String> = redis::cmd("GET").arg("c").query(&mut con).unwrap();
    let _: Option<String> = redis::cmd("GET").arg("missing").query(&mut con).unwrap();
    let after = fields(&info(&mut con, &["stats"]));
    let n = |m: &HashMap<String, String>, k: &str| m[k].parse::<u64>().unwrap();
    assert_eq!(n(&after, "keyspace_hits"), n(&before, "keyspace_hits") + 1);
    assert_eq!(
        n(&after, "keyspace_misses"),
        n(&before, "keyspace_misses") + 1
    );
    assert!(n(&after, "total_commands_processed") >= n(&before, "total_commands_processed") + 3);
    assert!(n(&after, "total_connections_received") >= 1);
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    let reset = fields(&info(&mut con, &["stats"]));
    assert_eq!(reset["keyspace_hits"], "0");
    assert_eq!(reset["keyspace_misses"], "0");
    assert_eq!(reset["expired_keys"], "0");
    assert!(n(&reset, "total_commands_processed") <= 2);

    // Expired keys are counted once the expiry cycle (or a write) removes them.
    let _: () = redis::cmd("SET")
        .arg("e")
        .arg("1")
        .arg("PX")
        .arg(50)
        .query(&mut con)
        .unwrap();
    assert!(wait_until(Duration::from_secs(15), || {
        fields(&info(&mut con, &["stats"]))["expired_keys"] != "0"
    }));
}

#[test]
fn shutdown_exits_cleanly_and_keeps_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut s = TestServer::start_in(&dir, &[]);
    let mut con = s.conn();
    set(&mut con, "k", "v");
    select(&mut con, 9);
    set(&mut con, "k9", "v9");
    assert_eq!(cmd_err(&mut con, &["SHUTDOWN", "foo"]), "ERR syntax error");
    assert_eq!(
        cmd_err(&mut con, &["SHUTDOWN", "SAVE", "NOSAVE"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut con, &["SHUTDOWN", "ABORT", "NOW"]),
        "ERR syntax error"
    );
    assert_eq!(
        cmd_err(&mut con, &["SHUTDOWN", "ABORT"]),
        "ERR No shutdown in progress."
    );
    // Success sends no reply: the connection just closes.
    let out = raw_exchange(s.addr, b"SHUTDOWN NOSAVE NOW\r\n", None);
    assert_eq!(out, b"");
    let status = s.wait_exit().expect("exit status");
    assert!(status.success(), "{status:?}");

    let mut s = TestServer::start_in(&dir, &[]);
    let mut con = s.conn();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    select(&mut con, 9);
    let v: String = redis::cmd("GET").arg("k9").query(&mut con).unwrap();
    assert_eq!(v, "v9");
    // The redis crate sees the connection close.
    let r: redis::RedisResult<Value> = redis::cmd("SHUTDOWN").query(&mut con);
    assert!(r.is_err(), "{r:?}");
    assert!(s.wait_exit().expect("exit status").success());
}

#[test]
fn shutdown_needs_auth() {
    let mut s = TestServer::start(&["--requirepass", "pw"]);
    assert_eq!(
        raw_exchange(s.addr, b"SHUTDOWN\r\n", Some(34)),
        b"-NOAUTH Authentication required.\r\n"
    );
    let out = raw_exchange(s.addr, b"AUTH pw\r\nSHUTDOWN\r\n", None);
    assert_eq!(out, b"+OK\r\n");
    assert!(s.wait_exit().expect("exit status").success());
}

#[test]
fn sigterm_exits_cleanly_and_keeps_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut s = TestServer::start_in(&dir, &["--appendfsync", "no"]);
    let mut con = s.conn();
    set(&mut con, "k", "v");
    let status = s.terminate().expect("exit status");
    assert!(status.success(), "{status:?}");
    let s = TestServer::start_in(&dir, &[]);
    let mut con = s.conn();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
}
