//! The `corrupt` fault: the bytes a data plane stores are not quite the bytes that were sent, as
//! when they are damaged somewhere between the client and storage.
//!
//! Each data-plane handler (`upload`, `redivis.chunk`, `inspect.put`, `oss.post`) passes the body
//! bytes it is about to store through a [`Corrupter`], before it hashes and writes them; so every
//! hash it computes or reports afterwards (ETag, `md5Hash`, CRC-64, SHA-256) describes the stored,
//! damaged bytes, and the client's end-to-end checks are what must notice.

use axum::body::Bytes;

/// Flips (XOR 0xFF) the first byte that passes through it, once, when the fault fired; passes
/// everything else unchanged. A 0-byte body has nothing to flip, so there the fault has no effect.
#[derive(Debug)]
pub(crate) struct Corrupter {
    pending: bool,
}

impl Corrupter {
    /// `on`: whether the `corrupt` fault fired for this request.
    pub(crate) fn new(on: bool) -> Corrupter {
        Corrupter { pending: on }
    }

    /// The piece as it is to be stored.
    pub(crate) fn pass(&mut self, piece: Bytes) -> Bytes {
        if !self.pending || piece.is_empty() {
            return piece;
        }
        self.pending = false;
        let mut damaged = piece.to_vec();
        damaged[0] ^= 0xFF;
        tracing::info!(was = piece[0], stored = damaged[0], "corrupt: the first stored byte is flipped");
        Bytes::from(damaged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_byte_of_the_first_nonempty_piece_is_flipped() {
        let mut on = Corrupter::new(true);
        assert_eq!(on.pass(Bytes::new()), Bytes::new(), "nothing to flip yet");
        assert_eq!(on.pass(Bytes::from_static(b"\x00bc")), Bytes::from_static(b"\xffbc"));
        assert_eq!(on.pass(Bytes::from_static(b"abc")), Bytes::from_static(b"abc"), "once");
        let mut off = Corrupter::new(false);
        assert_eq!(off.pass(Bytes::from_static(b"abc")), Bytes::from_static(b"abc"));
    }
}
