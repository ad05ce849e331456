//! Introspection through the real server: SLOWLOG, INFO commandstats / errorstats / stats /
//! persistence (parsed the way redis-py's `info()` parses it), CONFIG RESETSTAT, DEBUG SLEEP,
//! SAVE / BGSAVE / LASTSAVE, with Redis 7.0.15's replies and error texts (checked against
//! redis-server).

mod common;

use common::{cmd_err, wait_until, RefRedis, TestServer};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A SLOWLOG GET entry: id, unix time, µs, arguments, client address, client name.
type Entry = (i64, i64, i64, Vec<Vec<u8>>, String, String);

fn config_set(con: &mut redis::Connection, name: &str, value: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(con)
        .unwrap();
}

fn slowlog_get(con: &mut redis::Connection, count: Option<i64>) -> Vec<Entry> {
    let mut c = redis::cmd("SLOWLOG");
    c.arg("GET");
    if let Some(n) = count {
        c.arg(n);
    }
    c.query(con).unwrap()
}

fn slowlog_len(con: &mut redis::Connection) -> i64 {
    redis::cmd("SLOWLOG").arg("LEN").query(con).unwrap()
}

fn slowlog_reset(con: &mut redis::Connection) {
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(con).unwrap();
}

fn info(con: &mut redis::Connection, sections: &[&str]) -> String {
    let mut c = redis::cmd("INFO");
    for s in sections {
        c.arg(*s);
    }
    c.query(con).unwrap()
}

/// INFO's `name:value` fields (raw text values).
fn fields(text: &str) -> BTreeMap<String, String> {
    text.split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn field(con: &mut redis::Connection, section: &str, name: &str) -> String {
    fields(&info(con, &[section]))
        .remove(name)
        .unwrap_or_else(|| panic!("no {name} in INFO {section}"))
}

fn strs(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

/// This client's `ip:port`, as the server sees it.
fn client_addr(con: &mut redis::Connection) -> String {
    let line: String = redis::cmd("CLIENT").arg("INFO").query(con).unwrap();
    line.split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .unwrap()
        .to_string()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---- redis-py's INFO parsing, ported -----------------------------------------------------

/// A value as redis-py's `parse_info` makes it.
#[derive(Debug, Clone, PartialEq)]
enum Py {
    Int(i64),
    Float(f64),
    Str(String),
    Dict(BTreeMap<String, Py>),
}

impl Py {
    fn kind(&self) -> &'static str {
        match self {
            Py::Int(_) => "int",
            Py::Float(_) => "float",
            Py::Str(_) => "str",
            Py::Dict(_) => "dict",
        }
    }
}

/// redis-py's `get_value`: a value without both `,` and `=` is a number if it parses (float
/// when it has a `.`) or else a string; otherwise every `,` item must be `k=v` (redis-py
/// raises on one that is not) and it becomes a dict.
fn py_value(value: &str) -> Py {
    if !value.contains(',') || !value.contains('=') {
        let t = value.trim();
        if value.contains('.') {
            t.parse::<f64>()
                .map(Py::Float)
                .unwrap_or_else(|_| Py::Str(value.into()))
        } else {
            t.parse::<i64>()
                .map(Py::Int)
                .unwrap_or_else(|_| Py::Str(value.into()))
        }
    } else {
        let mut d = BTreeMap::new();
        for item in value.split(',') {
            let (k, v) = item
                .rsplit_once('=')
                .unwrap_or_else(|| panic!("redis-py cannot parse {value:?} (item {item:?})"));
            d.insert(k.to_string(), py_value(v));
        }
        Py::Dict(d)
    }
}

/// redis-py's `parse_info`, stricter: a line without `:` (redis-py's `__raw__`) or a key seen
/// twice (redis-py keeps the last) fails.
fn parse_info(text: &str) -> BTreeMap<String, Py> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("line without ':': {line:?}"));
        let prev = out.insert(key.to_string(), py_value(value));
        assert!(prev.is_none(), "{key} twice");
    }
    out
}

fn dict(v: &Py) -> &BTreeMap<String, Py> {
    match v {
        Py::Dict(d) => d,
        other => panic!("not a dict: {other:?}"),
    }
}

// ---- SLOWLOG ----------------------------------------------------------------------------

#[test]
fn slowlog_records_a_slow_command_with_its_args_client_and_name() {
    let s = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut con = s.conn();
    config_set(&mut con, "slowlog-log-slower-than", "10000");
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("slowpoke")
        .query(&mut con)
        .unwrap();
    let addr = client_addr(&mut con);
    slowlog_reset(&mut con);
    let before = unix_now();
    let started = Instant::now();
    let _: () = redis::cmd("DEBUG")
        .arg("SLEEP")
        .arg("0.05")
        .query(&mut con)
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(50));
    let _: () = redis::cmd("SET")
        .arg("fast")
        .arg("x")
        .query(&mut con)
        .unwrap();

    let entries = slowlog_get(&mut con, None);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let (id, time, micros, args, peer, name) = &entries[0];
    assert!(*id >= 0);
    assert!(*time >= before && *time <= unix_now(), "{time}");
    assert!(*micros >= 50_000, "{micros}");
    assert_eq!(*args, strs(&["DEBUG", "SLEEP", "0.05"]));
    assert_eq!(*peer, addr);
    assert_eq!(name, "slowpoke");
    assert_eq!(slowlog_len(&mut con), 1);

    // Another client without a name: its own address, an empty name, a newer id.
    let mut other = s.conn();
    let other_addr = client_addr(&mut other);
    let _: () = redis::cmd("DEBUG")
        .arg("sleep")
        .arg("0.02")
        .query(&mut other)
        .unwrap();
    let entries = slowlog_get(&mut con, None);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].0, id + 1, "newest first");
    assert_eq!(entries[0].3, strs(&["DEBUG", "sleep", "0.02"]));
    assert_eq!(entries[0].4, other_addr);
    assert_eq!(entries[0].5, "");
}

#[test]
fn slowlog_cuts_arguments_and_redacts_secrets_as_redis() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    config_set(&mut con, "slowlog-log-slower-than", "0");
    slowlog_reset(&mut con);
    let long = "x".repeat(200);
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg(&long)
        .query(&mut con)
        .unwrap();
    let mut push = redis::cmd("RPUSH");
    push.arg("list");
    for i in 0..40 {
        push.arg(i);
    }
    let _: i64 = push.query(&mut con).unwrap();
    // Without requirepass, the default user takes any password.
    let _: () = redis::cmd("AUTH")
        .arg("default")
        .arg("secret")
        .query(&mut con)
        .unwrap();
    config_set(&mut con, "requirepass", "");

    let entries = slowlog_get(&mut con, Some(-1));
    let find = |name: &str| -> Vec<Vec<u8>> {
        entries
            .iter()
            .find(|e| e.3[0].eq_ignore_ascii_case(name.as_bytes()))
            .unwrap_or_else(|| panic!("no {name} entry in {entries:?}"))
            .3
            .clone()
    };
    let set = find("SET");
    assert_eq!(
        set,
        vec![
            b"SET".to_vec(),
            b"k".to_vec(),
            format!("{}... (72 more bytes)", "x".repeat(128)).into_bytes()
        ]
    );
    // 42 arguments: 31 kept, then "... (11 more arguments)".
    let rpush = find("RPUSH");
    assert_eq!(rpush.len(), 32);
    assert_eq!(rpush[1], b"list");
    assert_eq!(rpush[30], b"28");
    assert_eq!(rpush[31], b"... (11 more arguments)");
    assert_eq!(find("AUTH"), strs(&["AUTH", "(redacted)", "(redacted)"]));
    assert_eq!(
        find("CONFIG"),
        strs(&["CONFIG", "SET", "requirepass", "(redacted)"])
    );
    // The SLOWLOG RESET itself was logged (it ran in 0 µs or more), first of these.
    assert_eq!(entries.last().unwrap().3, strs(&["SLOWLOG", "RESET"]));
}

#[test]
fn slowlog_len_reset_max_len_and_get_counts() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    // Disabled: nothing is logged.
    config_set(&mut con, "slowlog-log-slower-than", "-1");
    slowlog_reset(&mut con);
    for _ in 0..5 {
        let _: String = redis::cmd("PING").query(&mut con).unwrap();
    }
    assert_eq!(slowlog_len(&mut con), 0);
    assert!(slowlog_get(&mut con, None).is_empty());

    // 0 logs everything, up to slowlog-max-len entries.
    config_set(&mut con, "slowlog-max-len", "5");
    config_set(&mut con, "slowlog-log-slower-than", "0");
    for _ in 0..10 {
        let _: String = redis::cmd("PING").query(&mut con).unwrap();
    }
    assert_eq!(slowlog_len(&mut con), 5);
    assert_eq!(slowlog_get(&mut con, None).len(), 5);
    let two = slowlog_get(&mut con, Some(2));
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].0, two[1].0 + 1, "newest first, consecutive ids");
    assert_eq!(slowlog_get(&mut con, Some(-1)).len(), 5);
    assert!(slowlog_get(&mut con, Some(0)).is_empty());

    // A lower slowlog-max-len trims at once.
    config_set(&mut con, "slowlog-max-len", "2");
    assert_eq!(slowlog_len(&mut con), 2);

    // The default count is 10.
    config_set(&mut con, "slowlog-max-len", "128");
    for _ in 0..20 {
        let _: String = redis::cmd("PING").query(&mut con).unwrap();
    }
    assert_eq!(slowlog_get(&mut con, None).len(), 10);

    // RESET empties it (the RESET itself is logged after it ran); ids keep counting.
    let last_id = slowlog_get(&mut con, Some(1))[0].0;
    slowlog_reset(&mut con);
    let after = slowlog_get(&mut con, None);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].3, strs(&["SLOWLOG", "RESET"]));
    assert!(after[0].0 > last_id);
    config_set(&mut con, "slowlog-log-slower-than", "-1");
    slowlog_reset(&mut con);
    assert_eq!(slowlog_len(&mut con), 0);

    // Errors, as Redis 7.0.15.
    let count_err = "ERR count should be greater than or equal to -1";
    assert_eq!(cmd_err(&mut con, &["SLOWLOG", "GET", "-2"]), count_err);
    assert_eq!(cmd_err(&mut con, &["SLOWLOG", "GET", "abc"]), count_err);
    assert_eq!(
        cmd_err(&mut con, &["SLOWLOG", "GET", "99999999999999999999"]),
        count_err
    );
    assert_eq!(
        cmd_err(&mut con, &["SLOWLOG", "GET", "1", "2"]),
        "ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP."
    );
    assert_eq!(
        cmd_err(&mut con, &["SLOWLOG", "LEN", "x"]),
        "ERR wrong number of arguments for 'slowlog|len' command"
    );
    assert_eq!(
        cmd_err(&mut con, &["SLOWLOG", "RESET", "x"]),
        "ERR wrong number of arguments for 'slowlog|reset' command"
    );
    assert_eq!(
        cmd_err(&mut con, &["SLOWLOG", "foo"]),
        "ERR unknown subcommand 'foo'. Try SLOWLOG HELP."
    );
    assert_eq!(
        cmd_err(&mut con, &["SLOWLOG"]),
        "ERR wrong number of arguments for 'slowlog' command"
    );
    let help: Vec<String> = redis::cmd("SLOWLOG").arg("HELP").query(&mut con).unwrap();
    assert_eq!(
        help[0],
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(help[1], "GET [<count>]");
    assert_eq!(help.last().unwrap(), "    Prints this help.");
}

#[test]
fn exec_is_not_logged_but_the_commands_it_runs_are() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    config_set(&mut con, "slowlog-log-slower-than", "0");
    slowlog_reset(&mut con);
    let _: ((), String) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("a")
        .arg("1")
        .cmd("GET")
        .arg("a")
        .query(&mut con)
        .unwrap();
    let names: Vec<String> = slowlog_get(&mut con, Some(-1))
        .into_iter()
        .map(|e| String::from_utf8(e.3[0].clone()).unwrap().to_uppercase())
        .collect();
    assert_eq!(names, ["GET", "SET", "MULTI", "SLOWLOG"], "{names:?}");
}

// ---- DEBUG ------------------------------------------------------------------------------

#[test]
fn debug_is_refused_unless_enabled() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let refused = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \
                   \"local\", you can run it from a local connection, otherwise you need to set \
                   this option in the configuration file, and then restart the server.";
    assert_eq!(cmd_err(&mut con, &["DEBUG", "SLEEP", "0"]), refused);
    assert_eq!(cmd_err(&mut con, &["DEBUG", "foo"]), refused);
    // Counted as Redis counts a refusal: rejected, not a failed call.
    let stats = parse_info(&info(&mut con, &["commandstats"]));
    let debug = dict(&stats["cmdstat_debug"]);
    assert_eq!(debug["calls"], Py::Int(0));
    assert_eq!(debug["rejected_calls"], Py::Int(2));
    assert_eq!(debug["failed_calls"], Py::Int(0));
    assert_eq!(
        cmd_err(&mut con, &["CONFIG", "SET", "enable-debug-command", "yes"]),
        "ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config"
    );
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("enable-debug-command")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, ["enable-debug-command", "no"]);

    // `local` lets loopback clients in (the tests connect from 127.0.0.1).
    let local = TestServer::start(&["--enable-debug-command", "local"]);
    let mut con = local.conn();
    let _: () = redis::cmd("DEBUG")
        .arg("SLEEP")
        .arg("0")
        .query(&mut con)
        .unwrap();
}

#[test]
fn debug_sleep_holds_the_command_and_other_subcommands_fail_as_redis() {
    let s = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut con = s.conn();
    let started = Instant::now();
    let _: () = redis::cmd("DEBUG")
        .arg("SLEEP")
        .arg("0.2")
        .query(&mut con)
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
    // strtod's reading: no number is 0, a negative number does not sleep.
    for arg in ["abc", "-1", "0.01x"] {
        let _: () = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(arg)
            .query(&mut con)
            .unwrap();
    }
    assert_eq!(
        cmd_err(&mut con, &["DEBUG", "foo"]),
        "ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP."
    );
    assert_eq!(
        cmd_err(&mut con, &["DEBUG", "SLEEP"]),
        "ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP."
    );
    assert_eq!(
        cmd_err(&mut con, &["DEBUG", "sleep", "0", "1"]),
        "ERR unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG HELP."
    );
    assert_eq!(
        cmd_err(&mut con, &["DEBUG"]),
        "ERR wrong number of arguments for 'debug' command"
    );
    let help: Vec<String> = redis::cmd("DEBUG").arg("HELP").query(&mut con).unwrap();
    assert_eq!(
        help[0],
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert!(help.contains(&"SLEEP <seconds>".to_string()));
}

// ---- INFO commandstats / errorstats / stats -----------------------------------------------

#[test]
fn commandstats_count_calls_failures_and_rejections() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET").arg("s").arg("a").query(&mut con).unwrap();
    cmd_err(&mut con, &["INCR", "s"]);
    cmd_err(&mut con, &["INCR", "s"]);
    cmd_err(&mut con, &["GET"]);
    cmd_err(&mut con, &["CONFIG"]);
    // An unknown subcommand counts for no command (as Redis).
    cmd_err(&mut con, &["CONFIG", "foo"]);
    let _: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory")
        .query(&mut con)
        .unwrap();

    let text = info(&mut con, &["commandstats"]);
    assert!(text.starts_with("# Commandstats\r\n"), "{text}");
    let stats = parse_info(&text);
    let c = |name: &str| dict(&stats[&format!("cmdstat_{name}")]).clone();
    let set = c("set");
    assert_eq!(set["calls"], Py::Int(1));
    assert_eq!(set["rejected_calls"], Py::Int(0));
    assert_eq!(set["failed_calls"], Py::Int(0));
    assert!(matches!(set["usec"], Py::Int(_)));
    assert!(matches!(set["usec_per_call"], Py::Float(_)));
    let incr = c("incr");
    assert_eq!(incr["calls"], Py::Int(2));
    assert_eq!(incr["failed_calls"], Py::Int(2));
    let get = c("get");
    assert_eq!(get["calls"], Py::Int(0));
    assert_eq!(get["rejected_calls"], Py::Int(1));
    assert_eq!(get["usec_per_call"], Py::Float(0.0));
    let config = c("config");
    assert_eq!(config["rejected_calls"], Py::Int(1), "CONFIG's arity");
    assert_eq!(c("config|get")["calls"], Py::Int(1));
    assert_eq!(c("config|resetstat")["calls"], Py::Int(1));
    // usec_per_call is usec/calls with two decimals.
    for line in text.lines().skip(1) {
        let v = line.split_once(':').unwrap().1;
        let per = v.split(',').nth(2).unwrap();
        let num = per.strip_prefix("usec_per_call=").unwrap();
        assert_eq!(num.split_once('.').unwrap().1.len(), 2, "{line}");
    }
    let set_line = text
        .lines()
        .find(|l| l.starts_with("cmdstat_set:"))
        .unwrap();
    assert!(
        set_line.starts_with("cmdstat_set:calls=1,usec=")
            && set_line.ends_with(",rejected_calls=0,failed_calls=0"),
        "{set_line}"
    );
    // Commands never run or refused are not listed.
    assert!(!stats.contains_key("cmdstat_lpush"));

    // Default INFO leaves commandstats out; all / everything / by name show it.
    assert!(!info(&mut con, &[]).contains("# Commandstats"));
    assert!(!info(&mut con, &["default"]).contains("cmdstat_"));
    for all in ["all", "everything", "ALL"] {
        assert!(info(&mut con, &[all]).contains("\r\n# Commandstats\r\ncmdstat_"));
    }
}

#[test]
fn errorstats_count_error_replies_by_code() {
    let s = TestServer::start(&["--requirepass", "pw"]);
    let client = redis::Client::open(format!("redis://:pw@{}/", s.addr)).unwrap();
    let mut con = client.get_connection().unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    // Unauthenticated: NOAUTH, a rejection of the command.
    let out = common::raw_exchange(s.addr, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", Some(34));
    assert_eq!(out, b"-NOAUTH Authentication required.\r\n");
    let _: () = redis::cmd("SET").arg("s").arg("a").query(&mut con).unwrap();
    cmd_err(&mut con, &["LPUSH", "s", "x"]);
    cmd_err(&mut con, &["INCR", "s"]);
    cmd_err(&mut con, &["NOSUCHCOMMAND"]);
    // A queued command with a wrong arity, then EXECABORT.
    let r: redis::RedisResult<()> = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("a")
        .arg("b")
        .query(&mut con);
    assert!(r.is_err());

    let stats = parse_info(&info(&mut con, &["errorstats"]));
    // redis-py leaves a lone `count=N` as a string.
    assert_eq!(stats["errorstat_NOAUTH"], Py::Str("count=1".into()));
    assert_eq!(stats["errorstat_WRONGTYPE"], Py::Str("count=1".into()));
    assert_eq!(stats["errorstat_EXECABORT"], Py::Str("count=1".into()));
    assert_eq!(stats["errorstat_ERR"], Py::Str("count=3".into()));
    let total = field(&mut con, "stats", "total_error_replies");
    assert_eq!(total, "6");
    let cs = parse_info(&info(&mut con, &["commandstats"]));
    assert_eq!(dict(&cs["cmdstat_get"])["rejected_calls"], Py::Int(1));
    assert_eq!(dict(&cs["cmdstat_lpush"])["failed_calls"], Py::Int(1));
    assert_eq!(dict(&cs["cmdstat_exec"])["failed_calls"], Py::Int(1));

    // Errorstats is a default section (Redis 7.0), listed in code order.
    let text = info(&mut con, &[]);
    let section = text
        .split("\r\n\r\n")
        .find(|s| s.starts_with("# Errorstats"))
        .expect("errorstats in default INFO");
    let codes: Vec<&str> = section
        .lines()
        .skip(1)
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "errorstat_ERR",
            "errorstat_EXECABORT",
            "errorstat_NOAUTH",
            "errorstat_WRONGTYPE"
        ]
    );
}

#[test]
fn config_resetstat_zeroes_stats_but_keeps_the_slowlog() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    config_set(&mut con, "slowlog-log-slower-than", "0");
    let _: () = redis::cmd("SET").arg("s").arg("a").query(&mut con).unwrap();
    cmd_err(&mut con, &["INCR", "s"]);
    let slow = slowlog_len(&mut con);
    assert!(slow > 0);
    assert_ne!(field(&mut con, "stats", "total_error_replies"), "0");

    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    let text = info(&mut con, &["commandstats", "errorstats", "stats"]);
    let f = parse_info(&text);
    let cmdstats: Vec<&String> = f.keys().filter(|k| k.starts_with("cmdstat_")).collect();
    // Only RESETSTAT itself, counted after it ran (as Redis).
    assert_eq!(cmdstats, ["cmdstat_config|resetstat"]);
    assert!(!f.keys().any(|k| k.starts_with("errorstat_")));
    assert_eq!(f["total_error_replies"], Py::Int(0));
    assert_eq!(f["instantaneous_ops_per_sec"], Py::Int(0));
    // The slow log is not reset (it grew by the commands since).
    assert!(slowlog_len(&mut con) > slow);
}

#[test]
fn instantaneous_ops_per_sec_follows_the_load() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_millis(400) {
        let _: String = redis::cmd("PING").query(&mut con).unwrap();
        n += 1;
    }
    let rate: u64 = field(&mut con, "stats", "instantaneous_ops_per_sec")
        .parse()
        .unwrap();
    // The average of 16 samples of 100 ms, of which the burst filled about 4.
    let burst = n * 1000 / started.elapsed().as_millis() as u64;
    assert!(rate > 0 && rate <= burst * 2, "rate {rate}, burst {burst}");
    assert!(rate >= burst / 16, "rate {rate}, burst {burst}");
    // Idle (one INFO every 200 ms), the figure decays.
    let mut last = rate;
    let decayed = wait_until(Duration::from_secs(10), || {
        std::thread::sleep(Duration::from_millis(190));
        last = field(&mut con, "stats", "instantaneous_ops_per_sec")
            .parse()
            .unwrap();
        last <= 10
    });
    assert!(decayed, "still {last} ops/sec");
}

#[test]
fn info_parses_the_way_redis_py_parses_it() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    // Counters from here on (whatever the client library sent when it connected).
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut con).unwrap();
    let _: () = redis::cmd("SET")
        .arg("b")
        .arg("2")
        .arg("EX")
        .arg(100)
        .query(&mut con)
        .unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg("h")
        .arg("f")
        .arg("v")
        .query(&mut con)
        .unwrap();
    cmd_err(&mut con, &["INCR", "h"]);
    cmd_err(&mut con, &["GET"]);
    let _: String = redis::cmd("BGSAVE").query(&mut con).unwrap();

    for sections in [&[][..], &["all"], &["everything"]] {
        let text = info(&mut con, sections);
        // Every line ends in CRLF; sections are separated by one blank line.
        assert!(text.ends_with("\r\n"));
        assert!(!text.replace("\r\n", "").contains(['\r', '\n']));
        let f = parse_info(&text);
        assert_eq!(f["redis_version"], Py::Str("7.0.15".into()));
        assert!(matches!(f["uptime_in_seconds"], Py::Int(_)));
        assert!(matches!(f["used_cpu_sys"], Py::Float(_)));
        assert!(matches!(f["instantaneous_ops_per_sec"], Py::Int(_)));
        assert_eq!(f["total_error_replies"], Py::Int(2), "{text}");
        assert!(matches!(f["rdb_last_save_time"], Py::Int(_)));
        assert!(matches!(f["rdb_changes_since_last_save"], Py::Int(_)));
        assert!(matches!(f["rdb_bgsave_in_progress"], Py::Int(0 | 1)));
        assert!(matches!(f["rdb_last_bgsave_status"], Py::Str(_)));
        assert!(matches!(f["talus_last_checkpoint"], Py::Str(_)));
        let db0 = dict(&f["db0"]);
        assert_eq!(db0["keys"], Py::Int(3));
        assert_eq!(db0["expires"], Py::Int(1));
        assert!(matches!(db0["avg_ttl"], Py::Int(_)));
        assert_eq!(f["errorstat_ERR"], Py::Str("count=1".into()));
        assert_eq!(f["errorstat_WRONGTYPE"], Py::Str("count=1".into()));
        if !sections.is_empty() {
            let get = dict(&f["cmdstat_hset"]);
            assert_eq!(get["calls"], Py::Int(1));
            assert!(matches!(get["usec_per_call"], Py::Float(_)));
            assert!(matches!(dict(&f["cmdstat_info"])["calls"], Py::Int(_)));
        }
    }

    // Fields Redis also has parse to the same kind of value as Redis's own.
    let Some(r) = RefRedis::start() else {
        return;
    };
    let mut rc = r.conn().unwrap();
    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut rc).unwrap();
    cmd_err(&mut rc, &["GET"]);
    let theirs = parse_info(&info(&mut rc, &["everything"]));
    let ours = parse_info(&info(&mut con, &["everything"]));
    // Ids whose text is arbitrary (hex that may happen to be all digits).
    let ids = [
        "redis_build_id",
        "run_id",
        "master_replid",
        "redis_git_sha1",
    ];
    let mut compared = 0;
    let mut differ = vec![];
    for (k, v) in &ours {
        if let Some(rv) = theirs.get(k).filter(|_| !ids.contains(&k.as_str())) {
            compared += 1;
            if v.kind() != rv.kind() {
                differ.push(format!("{k}: ours {v:?}, Redis {rv:?}"));
            }
        }
    }
    assert!(differ.is_empty(), "{differ:#?}");
    assert!(compared > 40, "{compared}");
}

// ---- SAVE / BGSAVE / LASTSAVE -------------------------------------------------------------

/// Waits for the running background save to end; returns INFO persistence.
fn wait_bgsave(con: &mut redis::Connection) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    let done = wait_until(Duration::from_secs(30), || {
        f = fields(&info(con, &["persistence"]));
        f["rdb_bgsave_in_progress"] == "0"
    });
    assert!(done, "BGSAVE did not finish: {f:?}");
    f
}

#[test]
fn bgsave_makes_a_checkpoint_that_opens_as_a_data_dir() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let _: () = redis::cmd("SET")
        .arg("str")
        .arg("v")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("ttl")
        .arg("t")
        .arg("EX")
        .arg(1000)
        .query(&mut con)
        .unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg("hash")
        .arg("f1")
        .arg("a")
        .arg("f2")
        .arg("b")
        .query(&mut con)
        .unwrap();
    let _: i64 = redis::cmd("RPUSH")
        .arg("list")
        .arg("x")
        .arg("y")
        .arg("z")
        .query(&mut con)
        .unwrap();
    let _: i64 = redis::cmd("ZADD")
        .arg("zset")
        .arg(1)
        .arg("one")
        .arg(2)
        .arg("two")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let _: () = redis::cmd("SET")
        .arg("in3")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        field(&mut con, "persistence", "rdb_changes_since_last_save"),
        "6"
    );
    assert_eq!(field(&mut con, "persistence", "talus_last_checkpoint"), "");

    let reply: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
    assert_eq!(reply, "Background saving started");
    let f = wait_bgsave(&mut con);
    assert_eq!(f["rdb_last_bgsave_status"], "ok");
    assert_eq!(f["rdb_saves"], "1");
    assert_eq!(f["rdb_changes_since_last_save"], "0");
    assert_ne!(f["rdb_last_bgsave_time_sec"], "-1");
    assert_eq!(f["rdb_current_bgsave_time_sec"], "-1");
    let lastsave: i64 = redis::cmd("LASTSAVE").query(&mut con).unwrap();
    assert_eq!(f["rdb_last_save_time"], lastsave.to_string());
    let path = PathBuf::from(&f["talus_last_checkpoint"]);
    assert!(path.starts_with(s.dir.join("checkpoints")), "{path:?}");

    // Written after the checkpoint: not in it.
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("1")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        field(&mut con, "persistence", "rdb_changes_since_last_save"),
        "1"
    );

    let copy = TestServer::start_in(&path, &[]);
    let mut c2 = copy.conn();
    let v: String = redis::cmd("GET").arg("str").query(&mut c2).unwrap();
    assert_eq!(v, "v");
    let ttl: i64 = redis::cmd("TTL").arg("ttl").query(&mut c2).unwrap();
    assert!(ttl > 900 && ttl <= 1000, "{ttl}");
    let h: BTreeMap<String, String> = redis::cmd("HGETALL").arg("hash").query(&mut c2).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h["f2"], "b");
    let l: Vec<String> = redis::cmd("LRANGE")
        .arg("list")
        .arg(0)
        .arg(-1)
        .query(&mut c2)
        .unwrap();
    assert_eq!(l, ["x", "y", "z"]);
    let z: Vec<String> = redis::cmd("ZRANGE")
        .arg("zset")
        .arg(0)
        .arg(-1)
        .query(&mut c2)
        .unwrap();
    assert_eq!(z, ["one", "two"]);
    let _: () = redis::cmd("SELECT").arg(3).query(&mut c2).unwrap();
    let v: String = redis::cmd("GET").arg("in3").query(&mut c2).unwrap();
    assert_eq!(v, "x");
    // `after` went to db 3 (the connection had selected it) after the checkpoint.
    let after: Option<String> = redis::cmd("GET").arg("after").query(&mut c2).unwrap();
    assert_eq!(after, None);
    // The copy is a data dir of its own: it takes writes; the original does not see them.
    let _: () = redis::cmd("SET")
        .arg("only-in-copy")
        .arg("1")
        .query(&mut c2)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let none: Option<String> = redis::cmd("GET")
        .arg("only-in-copy")
        .query(&mut con)
        .unwrap();
    assert_eq!(none, None);

    // The original still opens with its checkpoints inside its data dir.
    drop(c2);
    drop(copy);
    drop(con);
    let mut s = s;
    assert!(s.terminate().is_some_and(|st| st.success()));
    let again = TestServer::start_in(&s.dir, &[]);
    let mut con = again.conn();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let v: String = redis::cmd("GET").arg("after").query(&mut con).unwrap();
    assert_eq!(v, "1");
    assert!(path.join("CURRENT").exists());
}

#[test]
fn a_second_save_while_bgsave_runs_is_refused() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    // A few MB in the memtables: the checkpoint's flush outlasts the next command.
    let value = "v".repeat(64 * 1024);
    for i in 0..64 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(&value)
            .query(&mut con)
            .unwrap();
    }
    // One batch: the second BGSAVE and the SAVE run while the first one's checkpoint does.
    let want = "+Background saving started\r\n\
                -ERR Background save already in progress\r\n\
                -ERR Background save already in progress\r\n";
    let out = common::raw_exchange(
        s.addr,
        b"*1\r\n$6\r\nBGSAVE\r\n*1\r\n$6\r\nBGSAVE\r\n*1\r\n$4\r\nSAVE\r\n",
        Some(want.len()),
    );
    assert_eq!(String::from_utf8_lossy(&out), want);
    wait_bgsave(&mut con);
    // Once done, another one starts; SCHEDULE is accepted; anything else is a syntax error.
    let reply: String = redis::cmd("BGSAVE")
        .arg("SCHEDULE")
        .query(&mut con)
        .unwrap();
    assert_eq!(reply, "Background saving started");
    let f = wait_bgsave(&mut con);
    assert_eq!(f["rdb_saves"], "2");
    assert_eq!(cmd_err(&mut con, &["BGSAVE", "now"]), "ERR syntax error");
    assert_eq!(
        cmd_err(&mut con, &["BGSAVE", "SCHEDULE", "x"]),
        "ERR syntax error"
    );
    // Two checkpoints, each in its own directory.
    let n = std::fs::read_dir(s.dir.join("checkpoints"))
        .unwrap()
        .count();
    assert_eq!(n, 2);
}

#[test]
fn lastsave_advances_after_save() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let first: i64 = redis::cmd("LASTSAVE").query(&mut con).unwrap();
    // Before any save: the start time.
    assert!((unix_now() - first).abs() <= 60, "{first}");
    assert_eq!(
        field(&mut con, "persistence", "rdb_last_save_time"),
        first.to_string()
    );
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    // LASTSAVE has a resolution of one second: wait for the clock to pass it.
    assert!(wait_until(Duration::from_secs(5), || unix_now() > first));
    let _: () = redis::cmd("SAVE").query(&mut con).unwrap();
    let second: i64 = redis::cmd("LASTSAVE").query(&mut con).unwrap();
    assert!(second > first, "{first} -> {second}");
    let f = fields(&info(&mut con, &["persistence"]));
    assert_eq!(f["rdb_last_save_time"], second.to_string());
    assert_eq!(f["rdb_saves"], "1");
    assert_eq!(f["rdb_changes_since_last_save"], "0");
    let path = PathBuf::from(&f["talus_last_checkpoint"]);
    assert!(path.join("CURRENT").exists(), "{path:?}");
}
