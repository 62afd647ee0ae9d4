//! Identifiers of seeded records that encode where the record lives.
//!
//! Seeded orders, their items, status changes and attachments are not stored as records: they
//! are materialised from compact rows on read. Their GUIDs are an invertible, keyed mix of
//! `(kind, row, sub-index)`, so a lookup by GUID needs no index at all: decode, check the keyed
//! hash half, and go straight to the row. The GUIDs look random (version 4, RFC 4122 variant)
//! and differ between seeds.

use uuid::Uuid;

const MASK62: u64 = (1 << 62) - 1;
const M1: u64 = 0xbf58_476d_1ce4_e5b9;
const M2: u64 = 0x94d0_49bb_1331_11eb;

/// What a seeded identifier points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Tag {
    Order = 1,
    Item = 2,
    Status = 3,
    Attachment = 4,
}

impl Tag {
    fn from_bits(bits: u64) -> Option<Self> {
        match bits {
            1 => Some(Self::Order),
            2 => Some(Self::Item),
            3 => Some(Self::Status),
            4 => Some(Self::Attachment),
            _ => None,
        }
    }
}

/// Encodes and decodes seeded identifiers under one seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IdCodec {
    key: u64,
    hash_key: u64,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(M1);
    z = (z ^ (z >> 27)).wrapping_mul(M2);
    z ^ (z >> 31)
}

/// The multiplicative inverse of an odd number modulo 2^64 (Newton's iteration).
const fn inverse(a: u64) -> u64 {
    let mut x = a;
    let mut i = 0;
    while i < 6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}

const M1_INV: u64 = inverse(M1);
const M2_INV: u64 = inverse(M2);

fn unxorshift(y: u64, shift: u32) -> u64 {
    let mut x = y;
    let mut done = shift;
    while done < 62 {
        x = y ^ (x >> shift);
        done += shift;
    }
    x & MASK62
}

fn mix62(mut x: u64) -> u64 {
    x &= MASK62;
    x ^= x >> 31;
    x = x.wrapping_mul(M1) & MASK62;
    x ^= x >> 29;
    x = x.wrapping_mul(M2) & MASK62;
    x ^= x >> 32;
    x
}

fn unmix62(mut x: u64) -> u64 {
    x = unxorshift(x, 32);
    x = x.wrapping_mul(M2_INV) & MASK62;
    x = unxorshift(x, 29);
    x = x.wrapping_mul(M1_INV) & MASK62;
    unxorshift(x, 31)
}

impl IdCodec {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            key: splitmix(seed ^ 0x6f6e_7469_6d65) & MASK62,
            hash_key: splitmix(seed.rotate_left(17) ^ 0x6d6f_636b),
        }
    }

    fn high(&self, y: u64) -> u64 {
        let h = splitmix(y ^ self.hash_key);
        // Version 4 in the high nibble of byte 6.
        (h & !0x0000_0000_0000_f000) | 0x0000_0000_0000_4000
    }

    /// The identifier of sub-record `sub` of row `row` of kind `tag`.
    pub(crate) fn encode(&self, tag: Tag, row: u32, sub: u8) -> Uuid {
        let payload = ((tag as u64) << 40) | (u64::from(row) << 8) | u64::from(sub);
        let y = mix62(payload ^ self.key);
        let lo = y | (0b10 << 62);
        let hi = self.high(y);
        Uuid::from_u64_pair(hi, lo)
    }

    /// The `(kind, row, sub)` a seeded identifier encodes, or `None` for any other GUID.
    pub(crate) fn decode(&self, id: Uuid) -> Option<(Tag, u32, u8)> {
        let (hi, lo) = id.as_u64_pair();
        if lo >> 62 != 0b10 {
            return None;
        }
        let y = lo & MASK62;
        if self.high(y) != hi {
            return None;
        }
        let payload = unmix62(y) ^ self.key;
        let tag = Tag::from_bits(payload >> 40)?;
        let row = u32::try_from((payload >> 8) & 0xffff_ffff).ok()?;
        let sub = (payload & 0xff) as u8;
        Some((tag, row, sub))
    }
}

/// A well-mixed 64-bit value derived from a seed and a few inputs, for per-row pseudo-random
/// fields that are recomputed on every read instead of being stored.
pub(crate) fn hash3(seed: u64, a: u64, b: u64) -> u64 {
    splitmix(splitmix(seed ^ a.wrapping_mul(M1)) ^ b.wrapping_mul(M2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_reject_foreign_ids() {
        let codec = IdCodec::new(42);
        for (tag, row, sub) in [
            (Tag::Order, 0, 0),
            (Tag::Item, 123_456, 2),
            (Tag::Status, u32::MAX, 255),
            (Tag::Attachment, 7, 0),
        ] {
            let id = codec.encode(tag, row, sub);
            assert_eq!(id.get_version_num(), 4);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(codec.decode(id), Some((tag, row, sub)));
            assert_eq!(IdCodec::new(43).decode(id), None);
        }
        assert_eq!(codec.decode(Uuid::new_v4()), None);
        assert_eq!(codec.decode(Uuid::nil()), None);
        assert_ne!(
            codec.encode(Tag::Order, 1, 0),
            codec.encode(Tag::Order, 2, 0)
        );
    }

    #[test]
    fn inverses() {
        assert_eq!(M1.wrapping_mul(M1_INV), 1);
        for x in [0u64, 1, 12345, MASK62, 0x2345_6789_abcd] {
            assert_eq!(unmix62(mix62(x)), x);
        }
    }
}
