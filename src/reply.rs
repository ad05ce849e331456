//! Protocol-neutral reply values and their encoding.
//!
//! Commands return a [`Reply`]; the session's protocol version decides how it is encoded
//! (RESP2 today; RESP3 is another arm of [`Reply::encode`], not a rewrite of the commands).
//! Encoding goes through `redis-protocol`'s encoders, except for the few RESP2 shapes it has
//! no frame for (`*-1`) and doubles, which Redis 7.0 prints as `%.17g` bulk strings.

use bytes::{Bytes, BytesMut};
use redis_protocol::resp2::types::BytesFrame as Frame2;
use std::borrow::Cow;

/// A reply value, independent of the wire protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A simple string (`+OK`).
    Simple(Cow<'static, str>),
    /// An error; the text includes its code (`ERR ...`, `WRONGTYPE ...`).
    Error(Cow<'static, str>),
    /// An integer.
    Integer(i64),
    /// A binary-safe string.
    Bulk(Bytes),
    /// The null bulk string (`$-1` in RESP2, `_` in RESP3).
    Nil,
    /// The null array (`*-1` in RESP2, `_` in RESP3).
    NilArray,
    /// An array.
    Array(Vec<Reply>),
    /// A map (a flat array of pairs in RESP2).
    Map(Vec<(Reply, Reply)>),
    /// A set (an array in RESP2).
    Set(Vec<Reply>),
    /// A double (a `%.17g` bulk string in RESP2).
    Double(f64),
    /// A boolean (`:1` / `:0` in RESP2).
    Boolean(bool),
    /// A verbatim string with its three-letter format (a bulk string in RESP2).
    Verbatim(&'static str, Bytes),
    /// Nothing at all is sent (SHUTDOWN's success: the connection just closes).
    NoReply,
    /// Several replies to one command, sent one after the other (SUBSCRIBE a b answers once
    /// per channel). Inside EXEC's array they count as one element, as in Redis.
    Multi(Vec<Reply>),
    /// One value already encoded in RESP2 ([`ArrayWriter`]), sent as it is.
    Encoded(Bytes),
}

/// Builds an array reply of bulk strings by encoding each element as it comes, for replies of
/// many elements read in one walk (ZRANGE): no element is copied into a reply tree first.
#[derive(Default)]
pub struct ArrayWriter {
    len: usize,
    body: BytesMut,
}

impl ArrayWriter {
    /// Appends a bulk string.
    pub fn bulk(&mut self, b: &[u8]) {
        self.len += 1;
        write_bulk(&mut self.body, b);
    }

    /// Appends a double, as [`Reply::Double`] encodes it.
    pub fn double(&mut self, d: f64) {
        self.bulk(crate::util::float::fmt_double(d).as_bytes());
    }

    /// The array.
    pub fn finish(self) -> Reply {
        let mut out = BytesMut::with_capacity(self.body.len() + 24);
        write_header(&mut out, b'*', self.len);
        out.extend_from_slice(&self.body);
        Reply::Encoded(out.freeze())
    }
}

impl Reply {
    /// `+OK`.
    pub const fn ok() -> Reply {
        Reply::Simple(Cow::Borrowed("OK"))
    }

    /// A simple string from a static text.
    pub const fn simple(s: &'static str) -> Reply {
        Reply::Simple(Cow::Borrowed(s))
    }

    /// An error reply from a full text (code included).
    pub fn error(s: impl Into<Cow<'static, str>>) -> Reply {
        Reply::Error(s.into())
    }

    /// A bulk string copied from a slice.
    pub fn bulk(b: &[u8]) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(b))
    }

    /// A bulk string, or nil when absent.
    pub fn opt_bulk(b: Option<Bytes>) -> Reply {
        b.map_or(Reply::Nil, Reply::Bulk)
    }

    /// True when this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Appends this reply, encoded for protocol `resp` (2 or 3), to `out`.
    pub fn encode(self, resp: u8, out: &mut BytesMut) {
        let _ = resp; // RESP3 lands with HELLO 3; until then every session speaks RESP2.
        encode_resp2(self, out);
    }
}

fn encode_resp2(reply: Reply, out: &mut BytesMut) {
    match reply {
        Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
        Reply::NoReply => {}
        Reply::Multi(replies) => {
            for r in replies {
                encode_resp2(r, out);
            }
        }
        Reply::Array(items) | Reply::Set(items) => {
            write_header(out, b'*', items.len());
            for item in items {
                encode_resp2(item, out);
            }
        }
        Reply::Map(pairs) => {
            write_header(out, b'*', pairs.len() * 2);
            for (k, v) in pairs {
                encode_resp2(k, out);
                encode_resp2(v, out);
            }
        }
        // The common shapes are written directly (no frame, no length computed with log10).
        Reply::Bulk(b) | Reply::Verbatim(_, b) => write_bulk(out, &b),
        Reply::Double(d) => write_bulk(out, crate::util::float::fmt_double(d).as_bytes()),
        Reply::Integer(i) => write_int_line(out, b':', i),
        Reply::Boolean(b) => write_int_line(out, b':', b as i64),
        Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
        Reply::Encoded(b) => out.extend_from_slice(&b),
        other => {
            let frame = to_frame2(other);
            // Encoding a well-formed frame into a growable buffer cannot fail.
            let _ = redis_protocol::resp2::encode::extend_encode(out, &frame, false);
        }
    }
}

fn write_header(out: &mut BytesMut, tag: u8, n: usize) {
    write_int_line(out, tag, n as i64);
}

/// `tag`, the decimal `n`, CRLF (`:12\r\n`, `*3\r\n`).
fn write_int_line(out: &mut BytesMut, tag: u8, n: i64) {
    out.reserve(24);
    out.extend_from_slice(&[tag]);
    out.extend_from_slice(crate::util::number::fmt_i64(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A bulk string: `$len\r\n`, the bytes, CRLF.
fn write_bulk(out: &mut BytesMut, b: &[u8]) {
    write_int_line(out, b'$', b.len() as i64);
    out.reserve(b.len() + 2);
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

fn to_frame2(reply: Reply) -> Frame2 {
    match reply {
        Reply::Simple(s) => Frame2::SimpleString(cow_bytes(s)),
        // Error texts may echo client bytes: CR/LF become spaces (as Redis's
        // addReplyErrorFormat does) so a client cannot inject replies.
        Reply::Error(s) if s.contains(['\r', '\n']) => {
            Frame2::Error(s.replace(['\r', '\n'], " ").into())
        }
        Reply::Error(s) => Frame2::Error(match s {
            Cow::Borrowed(b) => b.into(),
            Cow::Owned(o) => o.into(),
        }),
        Reply::Integer(i) => Frame2::Integer(i),
        Reply::Bulk(b) | Reply::Verbatim(_, b) => Frame2::BulkString(b),
        Reply::Nil => Frame2::Null,
        Reply::Double(d) => Frame2::BulkString(Bytes::from(crate::util::float::fmt_double(d))),
        Reply::Boolean(b) => Frame2::Integer(b as i64),
        // Arrays are written by encode_resp2 itself.
        Reply::NilArray
        | Reply::Array(_)
        | Reply::Set(_)
        | Reply::Map(_)
        | Reply::NoReply
        | Reply::Multi(_)
        | Reply::Encoded(_) => Frame2::Null,
    }
}

fn cow_bytes(s: Cow<'static, str>) -> Bytes {
    match s {
        Cow::Borrowed(b) => Bytes::from_static(b.as_bytes()),
        Cow::Owned(o) => Bytes::from(o),
    }
}

impl From<i64> for Reply {
    fn from(i: i64) -> Self {
        Reply::Integer(i)
    }
}

impl From<Bytes> for Reply {
    fn from(b: Bytes) -> Self {
        Reply::Bulk(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: Reply) -> Vec<u8> {
        let mut out = BytesMut::new();
        r.encode(2, &mut out);
        out.to_vec()
    }

    #[test]
    fn array_writer_encodes_as_the_reply_tree_would() {
        let mut w = ArrayWriter::default();
        w.bulk(b"m1");
        w.double(1.1);
        w.bulk(b"");
        w.double(f64::NEG_INFINITY);
        let tree = Reply::Array(vec![
            Reply::bulk(b"m1"),
            Reply::Double(1.1),
            Reply::bulk(b""),
            Reply::Double(f64::NEG_INFINITY),
        ]);
        assert_eq!(enc(w.finish()), enc(tree));
        assert_eq!(enc(ArrayWriter::default().finish()), b"*0\r\n");
        // Inside another array it is one element.
        let mut w = ArrayWriter::default();
        w.bulk(b"x");
        assert_eq!(
            enc(Reply::Array(vec![w.finish(), Reply::Integer(1)])),
            b"*2\r\n*1\r\n$1\r\nx\r\n:1\r\n"
        );
    }

    #[test]
    fn resp2_shapes() {
        assert_eq!(enc(Reply::ok()), b"+OK\r\n");
        assert_eq!(enc(Reply::error("ERR x")), b"-ERR x\r\n");
        assert_eq!(enc(Reply::error("ERR a\r\n+OK")), b"-ERR a  +OK\r\n");
        assert_eq!(enc(Reply::Integer(-3)), b":-3\r\n");
        assert_eq!(enc(Reply::bulk(b"a\r\nb")), b"$4\r\na\r\nb\r\n");
        assert_eq!(enc(Reply::Nil), b"$-1\r\n");
        assert_eq!(enc(Reply::NilArray), b"*-1\r\n");
        assert_eq!(
            enc(Reply::Array(vec![Reply::Integer(1), Reply::Nil])),
            b"*2\r\n:1\r\n$-1\r\n"
        );
        assert_eq!(enc(Reply::Array(vec![])), b"*0\r\n");
        assert_eq!(enc(Reply::Boolean(true)), b":1\r\n");
        assert_eq!(enc(Reply::Integer(0)), b":0\r\n");
        assert_eq!(enc(Reply::Integer(i64::MIN)), b":-9223372036854775808\r\n");
        assert_eq!(enc(Reply::Integer(i64::MAX)), b":9223372036854775807\r\n");
        assert_eq!(enc(Reply::bulk(b"")), b"$0\r\n\r\n");
        assert_eq!(enc(Reply::Double(1.5)), b"$3\r\n1.5\r\n");
        assert_eq!(
            enc(Reply::Verbatim("txt", Bytes::from_static(b"hi"))),
            b"$2\r\nhi\r\n"
        );
        let big = vec![b'x'; 1234];
        let mut want = b"*1\r\n$1234\r\n".to_vec();
        want.extend_from_slice(&big);
        want.extend_from_slice(b"\r\n");
        assert_eq!(enc(Reply::Array(vec![Reply::bulk(&big)])), want);
    }
}
