//! The stored form of [`Bars`]: a compact, canonical binary encoding of the six columns.
//!
//! Layout (version 1), all integers little-endian:
//!
//! ```text
//! b"BARS" | version u8 | 3 zero bytes | rows u64
//! first time i64 | (rows - 1) time deltas as LEB128 varints (strictly positive)
//! open f64 x rows | high f64 x rows | low f64 x rows | close f64 x rows | volume f64 x rows
//! ```
//!
//! Times are delta-encoded because they are nearly regular (an hourly delta takes 2 bytes
//! instead of 8). The encoding of a set of bars is unique, so its SHA-256 identifies the
//! content whatever file format it came from ([`Bars::content_hash`]). Decoding checks every
//! length and value before it allocates or returns, so corrupt bytes are an error, never a
//! panic or a huge allocation.

use super::Bars;

/// The first bytes of every encoding.
pub const MAGIC: [u8; 4] = *b"BARS";
/// The encoding version written by [`encode`].
pub const VERSION: u8 = 1;
const HEADER_LEN: usize = 16;
/// Bytes per bar of the five price and volume columns.
const F64_COLUMNS: usize = 5;

/// Why bytes are not a valid encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Not an encoding of bars at all.
    #[error("not an encoding of bars (bad magic)")]
    BadMagic,
    /// Written by a newer (or unknown) version.
    #[error("unsupported encoding version {0}")]
    UnsupportedVersion(u8),
    /// Shorter or longer than its header says.
    #[error("encoding is {actual} bytes, expected {expected}")]
    Length {
        /// What the header implies.
        expected: usize,
        /// What is there.
        actual: usize,
    },
    /// Truncated in the middle of the time column.
    #[error("time column truncated")]
    Truncated,
    /// A time delta that is zero, overflows, or is not a well-formed varint.
    #[error("invalid time delta at bar {0}")]
    BadTime(usize),
    /// A price or volume that is not finite.
    #[error("non-finite value at bar {0}")]
    NonFinite(usize),
}

/// Encodes bars (assumed valid: strictly increasing times, same-length columns).
pub fn encode(bars: &Bars) -> Vec<u8> {
    let n = bars.len();
    let mut out = Vec::with_capacity(HEADER_LEN + 8 + 2 * n + 8 * F64_COLUMNS * n);
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&(n as u64).to_le_bytes());
    if let Some(first) = bars.time.first() {
        out.extend_from_slice(&first.to_le_bytes());
        for w in bars.time.windows(2) {
            // Strictly increasing times give a positive delta; wrapping keeps encode total.
            write_varint(&mut out, w[1].wrapping_sub(w[0]) as u64);
        }
    }
    for column in [&bars.open, &bars.high, &bars.low, &bars.close, &bars.volume] {
        for v in column.iter().take(n) {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Decodes bytes written by [`encode`].
///
/// # Errors
/// [`CodecError`] when the bytes are not a complete, valid encoding.
pub fn decode(bytes: &[u8]) -> Result<Bars, CodecError> {
    if bytes.len() < HEADER_LEN || bytes[..4] != MAGIC {
        return Err(CodecError::BadMagic);
    }
    if bytes[4] != VERSION {
        return Err(CodecError::UnsupportedVersion(bytes[4]));
    }
    let rows = u64::from_le_bytes(read8(bytes, 8).ok_or(CodecError::Truncated)?);
    // Every bar takes at least 41 bytes (one varint byte and five f64s): a corrupt row count
    // is caught here, before anything is allocated.
    let n = usize::try_from(rows)
        .ok()
        .filter(|n| n.saturating_mul(1 + 8 * F64_COLUMNS) <= bytes.len())
        .ok_or(CodecError::Length {
            expected: usize::MAX,
            actual: bytes.len(),
        })?;
    let mut time = Vec::with_capacity(n);
    let mut pos = HEADER_LEN;
    if n > 0 {
        let mut t = i64::from_le_bytes(read8(bytes, pos).ok_or(CodecError::Truncated)?);
        pos += 8;
        time.push(t);
        for i in 1..n {
            // Fast path: most deltas of regular data fit one or two bytes.
            let (delta, used) = match bytes.get(pos..pos + 2) {
                Some(&[b0, _]) if b0 < 0x80 => (u64::from(b0), 1),
                Some(&[b0, b1]) if b1 < 0x80 => (u64::from(b0 & 0x7f) | u64::from(b1) << 7, 2),
                _ => read_varint(&bytes[pos..]).ok_or(CodecError::BadTime(i))?,
            };
            pos += used;
            t = i64::try_from(delta)
                .ok()
                .filter(|d| *d > 0)
                .and_then(|d| t.checked_add(d))
                .ok_or(CodecError::BadTime(i))?;
            time.push(t);
        }
    }
    let expected = pos + 8 * F64_COLUMNS * n;
    if bytes.len() != expected {
        return Err(CodecError::Length {
            expected,
            actual: bytes.len(),
        });
    }
    // `as_chunks` hands out `[u8; 8]` arrays directly: the hot loop stays a plain loop, which
    // keeps decoding fast even in unoptimized (test) builds.
    let (words, _) = bytes[pos..].as_chunks::<8>();
    let mut columns = words.chunks_exact(n.max(1)).map(|column| {
        let mut out = Vec::with_capacity(n);
        let mut finite = true;
        for w in column {
            let v = f64::from_le_bytes(*w);
            finite &= v.is_finite();
            out.push(v);
        }
        (out, finite)
    });
    let mut next = || columns.next().unwrap_or((Vec::new(), true));
    let [open, high, low, close, volume] = [next(), next(), next(), next(), next()];
    for (column, finite) in [&open, &high, &low, &close, &volume] {
        if !finite {
            let i = column.iter().position(|v| !v.is_finite()).unwrap_or(0);
            return Err(CodecError::NonFinite(i));
        }
    }
    Ok(Bars {
        time,
        open: open.0,
        high: high.0,
        low: low.0,
        close: close.0,
        volume: volume.0,
    })
}

fn read8(bytes: &[u8], at: usize) -> Option<[u8; 8]> {
    bytes.get(at..at + 8)?.try_into().ok()
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A LEB128 varint and the bytes it took; `None` when truncated or longer than 10 bytes.
fn read_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, b) in bytes.iter().take(10).enumerate() {
        v |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bars {
        let mut b = Bars::with_capacity(4);
        b.push(1_492_592_400, 1.0716, 1.0722, 1.07083, 1.07219, 1413.0);
        b.push(1_492_596_000, 1.07214, 1.07296, 1.07214, 1.0726, 1241.0);
        // A weekend gap and a huge jump: multi-byte varints.
        b.push(1_492_596_000 + 3 * 86_400, 1.1, 1.2, 1.0, 1.15, 0.0);
        b.push(i64::MAX / 2, 2.0, 3.0, 1.5, 2.5, 1e12);
        b
    }

    #[test]
    fn encoding_round_trips_bit_for_bit() {
        let bars = sample();
        let bytes = encode(&bars);
        assert_eq!(&bytes[..4], b"BARS");
        let back = decode(&bytes).expect("valid encoding");
        assert_eq!(back, bars, "decode(encode(b)) == b");
        assert_eq!(encode(&back), bytes, "the encoding is canonical");
        let empty = decode(&encode(&Bars::default())).expect("empty is valid");
        assert!(empty.is_empty());
    }

    #[test]
    fn hourly_times_take_two_bytes_per_bar() {
        let mut bars = Bars::default();
        for i in 0..1000 {
            bars.push(1_600_000_000 + i * 3600, 1.0, 1.0, 1.0, 1.0, 1.0);
        }
        assert_eq!(encode(&bars).len(), 16 + 8 + 999 * 2 + 1000 * 40);
    }

    #[test]
    fn corrupt_bytes_are_rejected_not_trusted() {
        let good = encode(&sample());
        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        assert_eq!(decode(&bad_magic), Err(CodecError::BadMagic));
        let mut bad_version = good.clone();
        bad_version[4] = 9;
        assert_eq!(decode(&bad_version), Err(CodecError::UnsupportedVersion(9)));
        assert!(
            matches!(
                decode(&good[..good.len() - 1]),
                Err(CodecError::Length { .. })
            ),
            "truncated"
        );
        let mut longer = good.clone();
        longer.push(0);
        assert!(matches!(decode(&longer), Err(CodecError::Length { .. })));
        let mut huge_count = good.clone();
        huge_count[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(
            matches!(decode(&huge_count), Err(CodecError::Length { .. })),
            "a corrupt row count allocates nothing"
        );
        let mut zero_delta = good.clone();
        zero_delta[24] = 0;
        assert!(decode(&zero_delta).is_err(), "times must increase");
        let mut nan = good.clone();
        let at = nan.len() - 8;
        nan[at..].copy_from_slice(&f64::NAN.to_le_bytes());
        assert_eq!(decode(&nan), Err(CodecError::NonFinite(3)));
        assert_eq!(decode(b"BARS"), Err(CodecError::BadMagic));
        assert_eq!(decode(&[]), Err(CodecError::BadMagic));
    }
}
