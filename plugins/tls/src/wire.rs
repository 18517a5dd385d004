//! A bounds-checked big-endian reader over a byte slice. Every read returns `None`
//! (or a shortened slice) instead of panicking, so parsers built on it are total.
#![forbid(unsafe_code)]

/// Reader over `buf` from `pos`. Copyable: save a copy to backtrack.
#[derive(Clone, Copy, Debug)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Current offset from the start of the buffer.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The unread bytes.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub fn u16(&mut self) -> Option<u16> {
        let b = self.buf.get(self.pos..self.pos.checked_add(2)?)?;
        self.pos += 2;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u24(&mut self) -> Option<u32> {
        let b = self.buf.get(self.pos..self.pos.checked_add(3)?)?;
        self.pos += 3;
        Some(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// Exactly `n` bytes, or `None` (and nothing consumed) if fewer remain.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(b)
    }

    /// Up to `n` bytes: the slice and whether it was cut short by the end of the buffer.
    pub fn take_partial(&mut self, n: usize) -> (&'a [u8], bool) {
        let avail = self.remaining();
        let k = n.min(avail);
        let b = self.buf.get(self.pos..self.pos + k).unwrap_or(&[]);
        self.pos += k;
        (b, k < n)
    }
}

/// Big-endian `u16` values of `b` (a trailing odd byte is ignored).
pub fn u16s(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]))
}

/// Big-endian `u16` at `off`, if present.
pub fn be16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Big-endian 24-bit value at `off`, if present.
pub fn be24(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(3)?)?;
    Some(u32::from_be_bytes([0, s[0], s[1], s[2]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let mut c = Cursor::new(&[1, 2, 3, 4, 5]);
        assert_eq!(c.u8(), Some(1));
        assert_eq!(c.u24(), Some(0x020304));
        assert_eq!(c.u16(), None);
        assert_eq!(c.take(2), None);
        assert_eq!(c.take_partial(4), (&[5u8][..], true));
        assert_eq!(c.remaining(), 0);
        assert_eq!(c.u8(), None);
        assert_eq!(
            u16s(&[0, 1, 0xff, 0xfe, 9]).collect::<Vec<_>>(),
            [1, 0xfffe]
        );
        assert_eq!(be16(&[1], 0), None);
        assert_eq!(be24(&[1, 2, 3], 0), Some(0x010203));
        assert_eq!(be24(&[1, 2, 3], usize::MAX), None);
    }
}
