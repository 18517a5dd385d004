//! Bounds-checked big-endian readers. Every read returns `None` past the end of the slice,
//! so decoders never index out of bounds.

/// One byte at `off`.
#[inline(always)]
pub(crate) fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

/// Big-endian `u16` at `off`.
#[inline(always)]
pub(crate) fn be16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Big-endian `u32` at `off`.
#[inline(always)]
pub(crate) fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// `N` bytes at `off` as a fixed-size array reference (constant indexing into it is
/// checked at compile time).
#[inline(always)]
pub(crate) fn array<const N: usize>(b: &[u8], off: usize) -> Option<&[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}

/// True when `len` bytes starting at `off` are inside `b`.
#[inline(always)]
pub(crate) fn has(b: &[u8], off: usize, len: usize) -> bool {
    match off.checked_add(len) {
        Some(end) => end <= b.len(),
        None => false,
    }
}

/// Offsets are stored as `u32` in [`crate::Decoded`]; saturate instead of wrapping.
#[inline(always)]
pub(crate) fn sat32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_bounds_checked() {
        let b = [1u8, 2, 3, 4, 5];
        assert_eq!(u8_at(&b, 4), Some(5));
        assert_eq!(u8_at(&b, 5), None);
        assert_eq!(be16(&b, 0), Some(0x0102));
        assert_eq!(be16(&b, 4), None);
        assert_eq!(be16(&b, usize::MAX), None);
        assert_eq!(be32(&b, 1), Some(0x0203_0405));
        assert_eq!(be32(&b, 2), None);
        assert_eq!(be32(&b, usize::MAX - 1), None);
        assert_eq!(array::<2>(&b, 3), Some(&[4, 5]));
        assert_eq!(array::<2>(&b, 4), None);
        assert!(has(&b, 0, 5));
        assert!(!has(&b, 1, 5));
        assert!(!has(&b, usize::MAX, 2));
        assert_eq!(sat32(usize::MAX), u32::MAX);
        assert_eq!(sat32(7), 7);
    }
}
