//! A stream through a resumable session (`twindrop push -`): it can be read only once, so only
//! the bytes in hand can go again, and at most one chunk (and a byte) is held at a time.

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::reply::{self, Failures, Round, ZeroZero};
use super::{content_range, start, Outcome, Status};
use crate::error::{Error, Result};
use crate::hash::Sha256Stream;
use crate::transfer::{ProgressFn, Sent};

/// Send a stream through a resumable initiation URL. `size`: its length when the caller knows
/// it. Then the initiation carries `x-upload-content-length` (seed 002 requires it) and every
/// chunk `bytes S-E/N`, and a stream that ends early or runs on is `file.changed`. Without it the
/// header is left out and chunks say `bytes S-E/*` until the end shows, as GCS allows for a
/// stream of unknown length; the last chunk carries the total.
pub async fn upload_stream<R: AsyncRead + Unpin>(
    http: &reqwest::Client,
    initiate_url: &str,
    reader: R,
    size: Option<u64>,
    chunk: u64,
    progress: ProgressFn,
) -> Result<Outcome> {
    let chunk = super::chunk_size(chunk)?;
    let uri = start(http, initiate_url, size).await?;
    let mut input = Input { reader, size, window: Bytes::new(), base: 0, eof: false };
    let mut hasher = Sha256Stream::default();
    let (mut offset, mut wire) = (0u64, 0u64);
    let mut failures = Failures::default();
    let mut zero_zero = ZeroZero::starting_at(0);
    loop {
        // A whole chunk from `offset` in hand, unless the stream ends first: a chunk before the
        // last must be a multiple of 256 KiB, wherever the server's offset fell.
        if input.end() - offset < chunk && !input.eof {
            // Bytes are let go once committed; byte 0 is kept while the server's word on it is
            // in doubt (`ZeroZero`), so the upload can still go back to it.
            let keep = if zero_zero.in_doubt() { input.base } else { offset };
            hasher.update(&input.window[..(keep - input.base) as usize]);
            input.fill(keep, offset + chunk).await?;
        }
        let end = input.end();
        let piece_end = (offset + chunk).min(end);
        let last = input.eof && piece_end == end;
        let slot = match (last, size) {
            (true, _) => end.to_string(),
            (false, Some(size)) => size.to_string(),
            (false, None) => "*".to_owned(),
        };
        let piece = input.window.slice((offset - input.base) as usize..(piece_end - input.base) as usize);
        wire += piece.len() as u64;
        let sent = reply::send(http, &uri, content_range(offset, piece_end, &slot), piece, last).await?;
        zero_zero.sent(offset, &sent);
        let Some(Round { heard, failed, .. }) = reply::hear(http, &uri, &slot, offset, sent, &mut failures).await?
        else {
            continue;
        };
        match zero_zero.read(heard) {
            Status::Complete if last => {
                hasher.update(&input.window);
                progress(end);
                return Ok(Outcome { sent: Sent::from_hasher(hasher), bytes_on_wire: wire });
            }
            Status::Committed(now) if (input.base..=piece_end).contains(&now) => {
                if now > offset {
                    failures.progress();
                } else if !failed {
                    // Answered, yet nothing taken: counted like a failure (that one is counted
                    // already), so a server that never moves ends the upload.
                    failures.stalled(offset)?;
                }
                offset = now;
                progress(offset);
            }
            Status::Complete => {
                return Err(Error::BadResponse(format!(
                    "the server says the upload is complete, but the stream goes on after byte {piece_end}"
                )))
            }
            Status::Committed(now) => {
                return Err(Error::BadResponse(format!(
                    "the server says {now} bytes are committed, outside the bytes in hand ({}..{piece_end}); a \
                     stream cannot go back",
                    input.base
                )))
            }
            Status::Gone => return Err(Error::NotUploaded(format!("resumable session at byte {offset}"))),
        }
    }
}

/// The stream and the bytes of it in hand: `window` holds bytes `base..base + window.len()`.
struct Input<R> {
    reader: R,
    size: Option<u64>,
    window: Bytes,
    base: u64,
    eof: bool,
}

impl<R: AsyncRead + Unpin> Input<R> {
    fn end(&self) -> u64 {
        self.base + self.window.len() as u64
    }

    /// Lets go of the bytes before `keep`, then reads on until the bytes in hand reach `to` or
    /// the stream ends. A declared size caps the reading, and a stream that ends before it or
    /// runs past it is refused.
    async fn fill(&mut self, keep: u64, to: u64) -> Result<()> {
        let to = self.size.map_or(to, |size| to.min(size));
        let want = to - self.end();
        let mut buffer = Vec::with_capacity((to - keep) as usize);
        buffer.extend_from_slice(&self.window[(keep - self.base) as usize..]);
        // The old window goes before reading: one chunk in memory, not two.
        (self.window, self.base) = (Bytes::new(), keep);
        let got = (&mut self.reader).take(want).read_to_end(&mut buffer).await.map_err(|e| Error::file("stdin", e))?;
        self.window = Bytes::from(buffer);
        let Some(size) = self.size else {
            self.eof = (got as u64) < want;
            return Ok(());
        };
        let changed = |actual| Error::FileChanged { path: "stdin".into(), expected: size, actual };
        if self.end() < size && (got as u64) < want {
            return Err(changed(self.end()));
        }
        if self.end() == size {
            // The declared end: anything more would be bytes the session has no room for.
            let mut more = [0u8; 1];
            if self.reader.read(&mut more).await.map_err(|e| Error::file("stdin", e))? > 0 {
                return Err(changed(size + 1));
            }
            self.eof = true;
        }
        Ok(())
    }
}
