//! The on-disk encoding: Kvrocks' layout with a db + slot prefix on every key.
//!
//! ```text
//! meta CF        [db u16][slot u16][user key]                                  -> meta value
//! data CF        [db u16][slot u16][keylen u32][user key][version u64][sub-key] -> element value
//! zset_score CF  [db u16][slot u16][keylen u32][user key][version u64][score 8][member] -> ""
//! default CF     b"talus:format" -> format version; b"talus:version-hwm" -> version high-water mark
//!
//! meta value (string)      [type u8][expire_ms u64][value ...]
//! meta value (collection)  [type u8][expire_ms u64][version u64][count u64][type-specific extra ...]
//! ```
//! All integers are big-endian so that byte order is numeric order. The slot is Redis Cluster's
//! (CRC16 of the key or of its `{hashtag}`, mod 16384): a db, or one slot of a db, is one key range.
//! `expire_ms` is a Unix time in milliseconds; 0 means no expiry.

use bytes::Bytes;

/// The on-disk format version, checked at open.
pub const FORMAT_VERSION: u32 = 1;

/// Width of the db + slot prefix.
pub const PREFIX_LEN: usize = 4;

/// The type of the value a key holds. The numbers are on disk: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// A string, stored inline in its meta entry.
    String = 0,
    /// A hash (fields in `data`).
    Hash = 1,
    /// A set (members in `data`).
    Set = 2,
    /// A list (positions in `data`, head/tail in meta extra).
    List = 3,
    /// A sorted set (members in `data`, scores in `zset_score`).
    ZSet = 4,
}

impl Kind {
    /// Decodes the type byte.
    pub fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            0 => Kind::String,
            1 => Kind::Hash,
            2 => Kind::Set,
            3 => Kind::List,
            4 => Kind::ZSet,
            _ => return None,
        })
    }

    /// The name TYPE answers.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Hash => "hash",
            Kind::Set => "set",
            Kind::List => "list",
            Kind::ZSet => "zset",
        }
    }

    /// Parses a TYPE name as SCAN's TYPE option takes it (case-insensitive).
    pub fn from_name(name: &[u8]) -> Option<Kind> {
        [Kind::String, Kind::Hash, Kind::Set, Kind::List, Kind::ZSet]
            .into_iter()
            .find(|k| k.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// True for the types whose elements live in the `data` column family.
    pub fn is_collection(self) -> bool {
        self != Kind::String
    }
}

/// A decoded meta value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The type.
    pub kind: Kind,
    /// Unix time in ms when the key expires; 0 = never.
    pub expire_ms: u64,
    /// Collections: the version their data entries carry. Strings: 0.
    pub version: u64,
    /// Collections: the number of elements. Strings: 0.
    pub count: u64,
    /// Strings: the value. Collections: type-specific extra bytes (list head/tail, ...).
    pub payload: Bytes,
}

impl Meta {
    /// A string meta.
    pub fn string(value: Bytes, expire_ms: u64) -> Meta {
        Meta {
            kind: Kind::String,
            expire_ms,
            version: 0,
            count: 0,
            payload: value,
        }
    }

    /// A new, empty collection of `kind` with a fresh `version`.
    pub fn collection(kind: Kind, version: u64) -> Meta {
        Meta {
            kind,
            expire_ms: 0,
            version,
            count: 0,
            payload: Bytes::new(),
        }
    }

    /// True when the key has expired at `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        is_expired_at(self.expire_ms, now_ms)
    }

    /// Encodes the meta value.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(17 + 16 + self.payload.len());
        self.encode_into(&mut v);
        v
    }

    /// Appends the encoded meta value to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.kind as u8);
        out.extend_from_slice(&self.expire_ms.to_be_bytes());
        if self.kind.is_collection() {
            out.extend_from_slice(&self.version.to_be_bytes());
            out.extend_from_slice(&self.count.to_be_bytes());
        }
        out.extend_from_slice(&self.payload);
    }

    /// Decodes a meta value; `None` if it is corrupt.
    pub fn decode(raw: &[u8]) -> Option<Meta> {
        let (&kind, rest) = raw.split_first()?;
        let kind = Kind::from_u8(kind)?;
        let expire_ms = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
        let rest = &rest[8..];
        if kind.is_collection() {
            let version = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
            let count = u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?);
            Some(Meta {
                kind,
                expire_ms,
                version,
                count,
                payload: Bytes::copy_from_slice(&rest[16..]),
            })
        } else {
            Some(Meta {
                kind,
                expire_ms,
                version: 0,
                count: 0,
                payload: Bytes::copy_from_slice(rest),
            })
        }
    }
}

/// True when an entry with expiry `expire_ms` (0 = none) has expired at `now_ms`. As Redis's
/// `keyIsExpired`: a key is alive through the millisecond it expires at.
pub fn is_expired_at(expire_ms: u64, now_ms: u64) -> bool {
    expire_ms != 0 && expire_ms < now_ms
}

/// Reads only the header of a meta value (type, expiry, version) without copying the payload;
/// used by compaction filters and scans.
pub fn peek_meta(raw: &[u8]) -> Option<(Kind, u64, u64)> {
    let kind = Kind::from_u8(*raw.first()?)?;
    let expire = u64::from_be_bytes(raw.get(1..9)?.try_into().ok()?);
    let version = if kind.is_collection() {
        u64::from_be_bytes(raw.get(9..17)?.try_into().ok()?)
    } else {
        0
    };
    Some((kind, expire, version))
}

/// Redis Cluster's hash slot of a key (CRC16/XMODEM of the key or its `{hashtag}`, mod 16384).
pub fn key_slot(key: &[u8]) -> u16 {
    let tagged = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(tagged) & 0x3fff
}

fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) as u8 ^ b)]
    })
}

/// CRC16-CCITT (XMODEM, polynomial 0x1021, as Redis Cluster's key slots) of every byte value:
/// one lookup per byte instead of eight shifts. The slot is computed for every key a command
/// touches.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// The prefix of every key of database `db`.
pub fn db_prefix(db: u16) -> [u8; 2] {
    db.to_be_bytes()
}

/// The exclusive upper bound of database `db`'s key range.
pub fn db_upper_bound(db: u16) -> Vec<u8> {
    if db == u16::MAX {
        vec![0xff, 0xff, 0xff]
    } else {
        (db + 1).to_be_bytes().to_vec()
    }
}

/// The meta key of `key` in `db`.
pub fn meta_key(db: u16, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(PREFIX_LEN + key.len());
    meta_key_into(&mut k, db, key);
    k
}

/// Appends the meta key of `key` in database `db` to `out` (a reused buffer: no allocation
/// once it is large enough).
pub fn meta_key_into(out: &mut Vec<u8>, db: u16, key: &[u8]) {
    out.extend_from_slice(&meta_key_prefix(db, key));
    out.extend_from_slice(key);
}

/// Runs `f` on the meta key of `key` in database `db`, built on the stack (a key of up to 60
/// bytes allocates nothing): for a lookup that needs the key only for a moment.
pub fn with_meta_key<R>(db: u16, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    let mut k = smallvec::SmallVec::<[u8; 64]>::new();
    k.extend_from_slice(&meta_key_prefix(db, key));
    k.extend_from_slice(key);
    f(&k)
}

/// What a meta key puts before the user key: the database and the key's slot.
fn meta_key_prefix(db: u16, key: &[u8]) -> [u8; PREFIX_LEN] {
    let [d0, d1] = db.to_be_bytes();
    let [s0, s1] = key_slot(key).to_be_bytes();
    [d0, d1, s0, s1]
}

/// Splits a meta key into (db, user key).
pub fn split_meta_key(raw: &[u8]) -> Option<(u16, &[u8])> {
    if raw.len() < PREFIX_LEN {
        return None;
    }
    Some((u16::from_be_bytes([raw[0], raw[1]]), &raw[PREFIX_LEN..]))
}

/// The prefix shared by every data (or score) entry of one version of `key`:
/// `[db][slot][keylen u32][key][version]`.
pub fn data_prefix(db: u16, key: &[u8], version: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(PREFIX_LEN + 4 + key.len() + 8 + 16);
    data_prefix_into(&mut k, db, key, version);
    k
}

/// Appends the data prefix of `key` to `out`.
fn data_prefix_into(out: &mut Vec<u8>, db: u16, key: &[u8], version: u64) {
    out.extend_from_slice(&db.to_be_bytes());
    out.extend_from_slice(&key_slot(key).to_be_bytes());
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&version.to_be_bytes());
}

/// A data entry's key: the data prefix followed by the sub-key (one allocation, exact size).
pub fn data_key(db: u16, key: &[u8], version: u64, sub: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(PREFIX_LEN + 4 + key.len() + 8 + sub.len());
    data_prefix_into(&mut k, db, key, version);
    k.extend_from_slice(sub);
    k
}

/// Splits a data (or score) key into (meta key, version, sub-key).
pub fn split_data_key(raw: &[u8]) -> Option<(Vec<u8>, u64, &[u8])> {
    let len = u32::from_be_bytes(raw.get(PREFIX_LEN..PREFIX_LEN + 4)?.try_into().ok()?) as usize;
    let key_start = PREFIX_LEN + 4;
    let key = raw.get(key_start..key_start + len)?;
    let ver_end = key_start + len + 8;
    let version = u64::from_be_bytes(raw.get(key_start + len..ver_end)?.try_into().ok()?);
    let mut meta = Vec::with_capacity(PREFIX_LEN + len);
    meta.extend_from_slice(&raw[..PREFIX_LEN]);
    meta.extend_from_slice(key);
    Some((meta, version, &raw[ver_end..]))
}

/// The smallest key greater than every key that starts with `prefix` (for upper bounds).
pub fn prefix_successor(prefix: &[u8]) -> Vec<u8> {
    let mut v = prefix.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xff {
            v.push(last + 1);
            return v;
        }
    }
    // All 0xff: no finite successor; an empty-unbounded marker is never produced by our prefixes,
    // which start with a db index below u16::MAX.
    vec![0xff; prefix.len() + 1]
}

/// Encodes a score so that byte order is numeric order (−0.0 normalised to 0.0). NaN must be
/// rejected by the caller before encoding.
pub fn encode_score(score: f64) -> [u8; 8] {
    let score = if score == 0.0 { 0.0 } else { score };
    let bits = score.to_bits();
    let ordered = if bits & (1 << 63) != 0 {
        !bits
    } else {
        bits | (1 << 63)
    };
    ordered.to_be_bytes()
}

/// Decodes a score written by [`encode_score`].
pub fn decode_score(raw: [u8; 8]) -> f64 {
    let ordered = u64::from_be_bytes(raw);
    let bits = if ordered & (1 << 63) != 0 {
        ordered & !(1 << 63)
    } else {
        !ordered
    };
    f64::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_built_in_place_match_their_layout() {
        let mut mk = b"junk".to_vec();
        mk.clear();
        meta_key_into(&mut mk, 3, b"foo");
        assert_eq!(mk, meta_key(3, b"foo"));
        assert_eq!(
            mk,
            [&3u16.to_be_bytes()[..], &12182u16.to_be_bytes(), b"foo"].concat()
        );
        let prefix = data_prefix(3, b"foo", 7);
        assert_eq!(
            prefix,
            [
                &mk[..PREFIX_LEN],
                &3u32.to_be_bytes(),
                b"foo",
                &7u64.to_be_bytes()
            ]
            .concat()
        );
        assert_eq!(
            data_key(3, b"foo", 7, b"field"),
            [&prefix[..], b"field"].concat()
        );
    }

    #[test]
    fn slots_match_redis_cluster() {
        // Values from Redis Cluster's spec / CLUSTER KEYSLOT.
        assert_eq!(key_slot(b"foo"), 12182);
        // CLUSTER KEYSLOT's examples in Redis's documentation.
        assert_eq!(key_slot(b"somekey"), 11058);
        assert_eq!(key_slot(b"foo{hash_tag}"), 2515);
        // The table-driven CRC against the bitwise definition, on every length up to 64.
        let bitwise = |data: &[u8]| {
            let mut crc: u16 = 0;
            for &b in data {
                crc ^= u16::from(b) << 8;
                for _ in 0..8 {
                    crc = if crc & 0x8000 != 0 {
                        (crc << 1) ^ 0x1021
                    } else {
                        crc << 1
                    };
                }
            }
            crc
        };
        let bytes: Vec<u8> = (0..64u32).map(|i| (i * 97 + 13) as u8).collect();
        for n in 0..=bytes.len() {
            assert_eq!(crc16(&bytes[..n]), bitwise(&bytes[..n]), "length {n}");
        }
        // Every table entry: the CRC of that one byte.
        for b in 0..=255u8 {
            assert_eq!(crc16(&[b]), bitwise(&[b]), "byte {b}");
        }
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(crc16(b"123456789"), 0x31c3);
    }

    #[test]
    fn meta_roundtrip() {
        let m = Meta::string(Bytes::from_static(b"v"), 42);
        assert_eq!(Meta::decode(&m.encode()), Some(m));
        let mut c = Meta::collection(Kind::Hash, 7);
        c.count = 3;
        c.payload = Bytes::from_static(b"xy");
        assert_eq!(Meta::decode(&c.encode()), Some(c.clone()));
        assert_eq!(peek_meta(&c.encode()), Some((Kind::Hash, 0, 7)));
        assert_eq!(Meta::decode(b""), None);
        assert_eq!(Meta::decode(&[9, 0]), None);
    }

    #[test]
    fn data_key_roundtrip() {
        let k = data_key(3, b"key", 99, b"field");
        let (meta, ver, sub) = split_data_key(&k).unwrap();
        assert_eq!(meta, meta_key(3, b"key"));
        assert_eq!(ver, 99);
        assert_eq!(sub, b"field");
    }

    #[test]
    fn scores_order() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(
                encode_score(w[0]) <= encode_score(w[1]),
                "{} {}",
                w[0],
                w[1]
            );
        }
        for x in xs {
            assert_eq!(
                decode_score(encode_score(x)),
                if x == 0.0 { 0.0 } else { x }
            );
        }
    }
}
