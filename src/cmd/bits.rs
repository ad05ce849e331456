//! Bit commands on strings: SETBIT, GETBIT, BITCOUNT, BITPOS, with Redis 7.0's semantics,
//! replies and error texts (`bitops.c`).
//!
//! Bit 0 is the most significant bit of byte 0. A missing key is an endless run of zero bits.
//! The order of checks follows Redis because it is observable: BITCOUNT looks the key up before
//! it parses its range (a missing key answers 0 whatever the arguments), BITPOS parses its bit
//! argument first. SETBIT writes (and notifies `setbit`) only when the string grew or the bit
//! changed, and keeps the key's TTL. Offsets are bounded by `proto-max-bulk-len` as in Redis.

use super::strings::{max_string_len, opt_is, read, read_string, write, write_string};
use super::{args, flags::*, CommandSpec, Exec};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::util::number;
use bytes::Bytes;

/// The bit commands.
pub static COMMANDS: &[CommandSpec] = &[
    write("setbit", 4, DENYOOM, setbit),
    read("getbit", 3, FAST, getbit),
    read("bitcount", -2, 0, bitcount),
    read("bitpos", -3, 0, bitpos),
];

/// Redis's `getBitOffsetFromArgument` (without the `#` form, which only BITFIELD takes).
fn bit_offset(ex: &Exec<'_, '_>, arg: &[u8]) -> Result<u64> {
    let err = || Error::err("bit offset is not an integer or out of range");
    let offset = number::parse_i64(arg).ok_or_else(err)?;
    let offset = u64::try_from(offset).map_err(|_| err())?;
    if (offset >> 3) >= max_string_len(ex) {
        return Err(err());
    }
    Ok(offset)
}

/// The byte index and the mask of bit `offset`.
fn bit_at(offset: u64) -> (usize, u8) {
    ((offset >> 3) as usize, 1u8 << (7 - (offset & 7)))
}

// ---- SETBIT / GETBIT -------------------------------------------------------------------------

/// `SETBIT key offset 0|1`: the bit's previous value.
struct SetBit {
    key: Bytes,
    offset: u64,
    on: bool,
}

impl SetBit {
    fn parse(ex: &Exec<'_, '_>, args: &[Bytes]) -> Result<SetBit> {
        let offset = bit_offset(ex, &args[2])?;
        let on = match number::parse_i64(&args[3]) {
            Some(0) => false,
            Some(1) => true,
            _ => return Err(Error::err("bit is not an integer or out of range")),
        };
        Ok(SetBit {
            key: args[1].clone(),
            offset,
            on,
        })
    }

    fn apply(self, ex: &mut Exec<'_, '_>) -> Result<Reply> {
        let db = ex.db();
        let (byte, mask) = bit_at(self.offset);
        let meta = write_string(ex, &self.key)?;
        let (mut buf, expire_ms, mut dirty) = match meta {
            Some(m) => (m.payload.to_vec(), m.expire_ms, false),
            None => (Vec::new(), 0, true),
        };
        if buf.len() <= byte {
            buf.resize(byte + 1, 0);
            dirty = true;
        }
        let was = buf[byte] & mask != 0;
        if dirty || was != self.on {
            if self.on {
                buf[byte] |= mask;
            } else {
                buf[byte] &= !mask;
            }
            ex.ctx
                .set_string(db, &self.key, Bytes::from(buf), expire_ms);
            ex.ctx.notify(db, '$', "setbit", &self.key);
        }
        Ok(Reply::Integer(was as i64))
    }
}

fn setbit(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    SetBit::parse(ex, args)?.apply(ex)
}

/// `GETBIT key offset`.
fn getbit(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let offset = bit_offset(ex, &args[2])?;
    let (byte, mask) = bit_at(offset);
    let Some(meta) = read_string(ex, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let set = meta.payload.get(byte).is_some_and(|b| b & mask != 0);
    Ok(Reply::Integer(set as i64))
}

// ---- BITCOUNT / BITPOS -----------------------------------------------------------------------

/// A byte range with the bits to ignore in its first and last bytes (BIT ranges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ByteRange {
    start: i64,
    end: i64,
    /// Bits of the first byte before the range.
    first_mask: u8,
    /// Bits of the last byte after the range.
    last_mask: u8,
}

impl ByteRange {
    fn whole(len: usize) -> ByteRange {
        ByteRange {
            start: 0,
            end: len as i64 - 1,
            first_mask: 0,
            last_mask: 0,
        }
    }

    /// Redis's normalisation of `start`/`end` (negative from the end, clamped) over a string of
    /// `len` bytes; in BIT mode the indexes are bits and become bytes plus edge masks.
    fn new(mut start: i64, mut end: i64, len: usize, is_bit: bool) -> ByteRange {
        let total = if is_bit {
            (len as i64) << 3
        } else {
            len as i64
        };
        if start < 0 {
            start += total;
        }
        if end < 0 {
            end += total;
        }
        start = start.max(0);
        end = end.max(0);
        if end >= total {
            end = total - 1;
        }
        let (mut first_mask, mut last_mask) = (0, 0);
        if is_bit && start <= end {
            first_mask = !(((1u16 << (8 - (start & 7))) - 1) as u8);
            last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
            start >>= 3;
            end >>= 3;
        }
        ByteRange {
            start,
            end,
            first_mask,
            last_mask,
        }
    }
}

/// Parses a `BYTE|BIT` argument.
fn unit_is_bit(arg: &[u8]) -> Result<bool> {
    if opt_is(arg, "bit") {
        Ok(true)
    } else if opt_is(arg, "byte") {
        Ok(false)
    } else {
        Err(Error::Syntax)
    }
}

/// `BITCOUNT key [start end [BYTE|BIT]]`.
fn bitcount(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let Some(meta) = read_string(ex, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let p = &meta.payload[..];
    let range = match args.len() {
        2 => ByteRange::whole(p.len()),
        4 | 5 => {
            let start = args::int(&args[2])?;
            let end = args::int(&args[3])?;
            let is_bit = match args.get(4) {
                Some(unit) => unit_is_bit(unit)?,
                None => false,
            };
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Integer(0));
            }
            ByteRange::new(start, end, p.len(), is_bit)
        }
        _ => return Err(Error::Syntax),
    };
    if range.start > range.end {
        return Ok(Reply::Integer(0));
    }
    let (start, end) = (range.start as usize, range.end as usize);
    let mut count = popcount(&p[start..=end]);
    count -= popcount(&[p[start] & range.first_mask, p[end] & range.last_mask]);
    Ok(Reply::Integer(count as i64))
}

/// The number of set bits.
fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        n += u64::from(u64::from_ne_bytes(word).count_ones());
    }
    n + chunks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>()
}

/// Redis's `redisBitpos`: the position of the first bit equal to `bit` in `bytes`, as if the
/// string were padded with zeros on the right: -1 when looking for a 1 and there is none,
/// `len * 8` when looking for a 0 and every bit is set.
fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    match bytes.iter().position(|&b| b != skip) {
        Some(i) => {
            let b = bytes[i];
            let within = if bit {
                b.leading_zeros()
            } else {
                b.leading_ones()
            };
            (i as i64) * 8 + within as i64
        }
        None if bit => -1,
        None => (bytes.len() as i64) * 8,
    }
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]`.
fn bitpos(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let bit = match args::int(&args[2])? {
        0 => false,
        1 => true,
        _ => return Err(Error::err("The bit argument must be 1 or 0.")),
    };
    // A missing key is all zeros: its first 0 is at 0, it has no 1.
    let Some(meta) = read_string(ex, &args[1])? else {
        return Ok(Reply::Integer(if bit { -1 } else { 0 }));
    };
    let p = &meta.payload[..];
    let mut end_given = false;
    let range = match args.len() {
        3 => ByteRange::whole(p.len()),
        4..=6 => {
            let start = args::int(&args[3])?;
            let is_bit = match args.get(5) {
                Some(unit) => unit_is_bit(unit)?,
                None => false,
            };
            let end = match args.get(4) {
                Some(e) => {
                    end_given = true;
                    args::int(e)?
                }
                None if is_bit => ((p.len() as i64) << 3) + 7,
                None => p.len() as i64 - 1,
            };
            ByteRange::new(start, end, p.len(), is_bit)
        }
        _ => return Err(Error::Syntax),
    };
    Ok(Reply::Integer(bitpos_in(p, range, bit, end_given)))
}

/// Redis's BITPOS search over a normalised range, including its edge masks and its rule that
/// with an explicit end, a 0 found only past the range means "none" (-1).
fn bitpos_in(p: &[u8], range: ByteRange, bit: bool, end_given: bool) -> i64 {
    if range.start > range.end {
        return -1;
    }
    let (mut start, end) = (range.start as usize, range.end as usize);
    let (first_mask, last_mask) = (range.first_mask, range.last_mask);
    let mut bytes = end - start + 1;
    // Masked bits are forced to the value that is not searched for.
    let mask = |b: u8, m: u8| if bit { b & !m } else { b | m };
    let pos = 'found: {
        if first_mask != 0 {
            let mut b = mask(p[start], first_mask);
            if last_mask != 0 && bytes == 1 {
                b = mask(b, last_mask);
            }
            let pos = first_bit(&[b], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'found pos;
            }
            start += 1;
            bytes -= 1;
        }
        // A last byte with bits outside the range is searched on its own.
        let whole = bytes - usize::from(last_mask != 0);
        if whole > 0 {
            let pos = first_bit(&p[start..start + whole], bit);
            if bytes == whole || (pos != -1 && pos != (whole as i64) << 3) {
                break 'found pos;
            }
            start += whole;
            bytes -= whole;
        }
        first_bit(&[mask(p[end], last_mask)], bit)
    };
    if end_given && !bit && pos == (bytes as i64) << 3 {
        return -1;
    }
    if pos == -1 {
        -1
    } else {
        pos + ((start as i64) << 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bit_pads_with_zeros() {
        assert_eq!(first_bit(&[], true), -1);
        assert_eq!(first_bit(&[], false), 0);
        assert_eq!(first_bit(&[0xff, 0xff], false), 16);
        assert_eq!(first_bit(&[0x00, 0x10], true), 11);
        assert_eq!(first_bit(&[0xff, 0xf7], false), 12);
        assert_eq!(first_bit(&[0; 20], true), -1);
    }

    #[test]
    fn byte_ranges() {
        assert_eq!(
            ByteRange::new(0, -1, 6, false),
            ByteRange {
                start: 0,
                end: 5,
                first_mask: 0,
                last_mask: 0
            }
        );
        let r = ByteRange::new(3, 12, 6, true);
        assert_eq!(
            (r.start, r.end, r.first_mask, r.last_mask),
            (0, 1, 0xe0, 0x07)
        );
        assert_eq!(ByteRange::new(-100, -200, 6, false).start, 0);
    }

    #[test]
    fn popcount_words_and_tail() {
        let v: Vec<u8> = (0..=255).collect();
        assert_eq!(popcount(&v), 1024);
        assert_eq!(popcount(b"foobar"), 26);
    }
}
