//! What one chunk PUT's answer says, how failures in a row are counted, and how
//! `Range: bytes=0-0` is read. Shared by the file and the stream uploads, so both follow the
//! server the same way.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE};
use reqwest::StatusCode;

use super::{committed, network_error, query_range, server_error, Status};
use crate::error::{Error, Result};
use crate::redact::redact_url;

/// Failed requests in a row (each followed by a status query) before giving up.
const ATTEMPTS: u32 = 8;

/// A chunk PUT's answer, sorted.
pub(super) enum Reply {
    /// 200 or 201 to the chunk that reaches the end: done. The body may carry the object's MD5.
    Done(String),
    /// 308: this many bytes are committed (from `Range`; none without one).
    Committed(u64),
    /// 200 or 201 to a chunk before the end. Seed 002 answers every chunk taken so ("the
    /// response body will be empty with a status of 200"); GCS never does. Either way it is not
    /// "complete" (bytes are still to come) and it does not say how much was committed: the
    /// server is asked.
    Taken,
    /// 404 or 410: the session is gone.
    Gone,
    /// Refused or failed: the server is asked where it stands before anything is sent again.
    Failed(Error),
}

/// PUT one chunk. `last`: it reaches the end of the upload, so a 2xx means done. An error is
/// final (an answer that cannot be read); a [`Reply::Failed`] is worth asking about.
pub(super) async fn send(http: &reqwest::Client, uri: &str, range: String, body: Bytes, last: bool) -> Result<Reply> {
    let sent = http.put(uri).header(CONTENT_RANGE, range).header(CONTENT_LENGTH, body.len()).body(body).send().await;
    let response = match sent {
        Ok(response) => response,
        Err(e) => return Ok(Reply::Failed(network_error(redact_url(uri), e))),
    };
    Ok(match response.status() {
        // An unreadable final answer leaves the session's state unknown: the caller's retry asks
        // the server where it stands.
        StatusCode::OK | StatusCode::CREATED if last => Reply::Done(super::super::read_answer(response, uri).await?),
        // Its body is not read: whatever it holds, the status query is the word that counts.
        StatusCode::OK | StatusCode::CREATED => Reply::Taken,
        s if s.as_u16() == 308 => Reply::Committed(committed(&response)?),
        StatusCode::NOT_FOUND | StatusCode::GONE => Reply::Gone,
        s => Reply::Failed(server_error(s, response, uri).await),
    })
}

/// A status, and whether it came from a status query (rather than a chunk's own answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Heard {
    pub(super) status: Status,
    pub(super) asked: bool,
}

impl Heard {
    pub(super) fn answered(status: Status) -> Heard {
        Heard { status, asked: false }
    }

    pub(super) fn asked(status: Status) -> Heard {
        Heard { status, asked: true }
    }
}

/// Ask where the session stands. `Err` ends the upload; `Ok(None)`: the question failed in a way
/// worth another try, so the chunk goes again.
pub(super) async fn ask(http: &reqwest::Client, uri: &str, total: &str) -> Result<Option<Heard>> {
    match query_range(http, uri, total).await {
        Ok(status) => Ok(Some(Heard::asked(status))),
        Err(e) if e.retryable() => Ok(None),
        Err(e) => Err(e),
    }
}

/// A 308 whose `Range` puts the committed offset below what the server confirmed before (a
/// missing Range reads as 0) is asked about once more before anything is sent again: GCS may
/// drop the Range of one answer while it still holds the bytes, and re-sending them would cost a
/// chunk or more. A status query that agrees is believed.
pub(super) async fn confirm_backwards(
    http: &reqwest::Client,
    uri: &str,
    total: &str,
    confirmed: u64,
    now: u64,
) -> Heard {
    if now >= confirmed {
        return Heard::answered(Status::Committed(now));
    }
    match query_range(http, uri, total).await {
        Ok(status) => Heard::asked(status),
        Err(_) => Heard::answered(Status::Committed(now)),
    }
}

/// What one chunk's round told: where the session stands, whether the chunk failed (already
/// counted in `Failures`), and the body of a completing answer (its `md5Hash`).
pub(super) struct Round {
    pub(super) heard: Heard,
    pub(super) failed: bool,
    pub(super) answer: String,
}

/// Read a chunk's reply, asking the session where it stands whenever the reply does not say (a
/// 200 before the last byte, a failure). `Ok(None)`: nothing was learnt; send the chunk again.
pub(super) async fn hear(
    http: &reqwest::Client,
    uri: &str,
    total: &str,
    offset: u64,
    sent: Reply,
    failures: &mut Failures,
) -> Result<Option<Round>> {
    let round = |heard, failed, answer| Ok(Some(Round { heard, failed, answer }));
    match sent {
        Reply::Done(body) => round(Heard::answered(Status::Complete), false, body),
        Reply::Committed(now) => round(confirm_backwards(http, uri, total, offset, now).await, false, String::new()),
        Reply::Gone => round(Heard::answered(Status::Gone), false, String::new()),
        Reply::Taken => match ask(http, uri, total).await? {
            Some(heard) => round(heard, false, String::new()),
            None => failures.stalled(offset).map(|()| None),
        },
        Reply::Failed(error) => {
            failures.absorb(error).await?;
            match ask(http, uri, total).await? {
                Some(heard) => round(heard, true, String::new()),
                None => Ok(None),
            }
        }
    }
}

/// Failed requests in a row, and the pause before the next try.
#[derive(Debug, Default)]
pub(super) struct Failures(u32);

impl Failures {
    /// Counts a failure and waits before the next try; the error itself when it is one too many
    /// or not worth another try.
    pub(super) async fn absorb(&mut self, error: Error) -> Result<()> {
        self.0 += 1;
        if self.0 >= ATTEMPTS || !(error.retryable() || matches!(error, Error::UploadRejected { .. })) {
            return Err(error);
        }
        tokio::time::sleep(Duration::from_millis(100 << self.0.min(6))).await;
        Ok(())
    }

    /// The server took bytes: the failures before do not count against the next ones.
    pub(super) fn progress(&mut self) {
        self.0 = 0;
    }

    /// A round in which the server took nothing (a 308 at the same offset, say) counts as a
    /// failure without a pause, so a server that never moves ends the upload instead of looping.
    pub(super) fn stalled(&mut self, offset: u64) -> Result<()> {
        self.0 += 1;
        if self.0 >= ATTEMPTS {
            return Err(Error::BadResponse(format!(
                "the server committed nothing beyond byte {offset} in {ATTEMPTS} rounds in a row"
            )));
        }
        Ok(())
    }
}

/// `Range: bytes=0-0` says byte 0 is committed and the next byte to send is byte 1: that is the
/// protocol (seed 002 reads `bytes=0-42` as 43 bytes), and the default here.
///
/// gcp-storage-emulator also answers `bytes=0-0` to a status query when it holds nothing
/// (`shared/spec/peers.md`). Its reading (nothing committed) is taken only when the server
/// contradicts the literal one in the way only that explains: a status query said `bytes=0-0`,
/// a chunk sent from byte 1, the very byte the server asked for, was refused with a 4xx, and the
/// next status query said `bytes=0-0` again. A server that holds byte 0 takes that chunk; one
/// that holds nothing and misreports it refuses it. No server is named and nothing is guessed
/// from a URL or a header; a `bytes=0-0` in a chunk's own answer is always literal (a server
/// that just took a chunk holds at least a byte). Once per upload: if sending from byte 0 fails
/// as well, the literal reading stands and the failures end the upload as any would.
#[derive(Debug, Default)]
pub(super) struct ZeroZero {
    /// A status query's `bytes=0-0` that no chunk sent from byte 1 has borne out yet.
    doubt: bool,
    /// Since that answer, a chunk sent from byte 1 was refused.
    refused: bool,
    /// The quirk's reading was used already.
    used: bool,
}

impl ZeroZero {
    /// For an upload that starts at `from`: 1 can only have come from a `bytes=0-0`, asked for.
    pub(super) fn starting_at(from: u64) -> ZeroZero {
        ZeroZero { doubt: from == 1, ..ZeroZero::default() }
    }

    /// What a chunk sent from `start` got.
    pub(super) fn sent(&mut self, start: u64, reply: &Reply) {
        if !self.doubt || start != 1 {
            return;
        }
        match reply {
            Reply::Failed(Error::UploadRejected { status, .. }) if (400..500).contains(status) => self.refused = true,
            Reply::Failed(_) => {}
            // Taken or answered: the server did hold byte 0.
            _ => self.doubt = false,
        }
    }

    /// How this upload reads what it heard.
    pub(super) fn read(&mut self, heard: Heard) -> Status {
        if !heard.asked {
            return heard.status;
        }
        if heard.status != Status::Committed(1) {
            (self.doubt, self.refused) = (false, false);
            return heard.status;
        }
        if self.refused && !self.used {
            *self = ZeroZero { used: true, ..ZeroZero::default() };
            tracing::warn!(
                "the server says byte 0 is committed (Range: bytes=0-0) but refused byte 1 onwards: read as nothing \
                 committed, as gcp-storage-emulator answers before any byte"
            );
            return Status::Committed(0);
        }
        self.doubt = true;
        heard.status
    }

    /// Whether byte 0 must stay at hand: the server's word that it holds it is still in doubt.
    pub(super) fn in_doubt(&self) -> bool {
        self.doubt && !self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: u16) -> Reply {
        Reply::Failed(Error::UploadRejected { status, message: String::new() })
    }

    #[test]
    fn bytes_0_0_is_one_byte_unless_the_server_refuses_byte_1_and_says_it_again() {
        let one = Heard::asked(Status::Committed(1));
        let mut zz = ZeroZero::default();
        assert_eq!(zz.read(one), Status::Committed(1), "literal by default");
        zz.sent(1, &rejected(400));
        assert_eq!(zz.read(one), Status::Committed(0), "the contradiction only the quirk explains");
        zz.sent(1, &rejected(400));
        assert_eq!(zz.read(one), Status::Committed(1), "once per upload");

        let mut zz = ZeroZero::starting_at(1);
        assert!(zz.in_doubt());
        zz.sent(1, &Reply::Committed(262145));
        assert!(!zz.in_doubt(), "a chunk from byte 1 was taken: byte 0 was there");
        zz.sent(1, &rejected(400));
        assert_eq!(zz.read(one), Status::Committed(1));
    }

    #[test]
    fn other_failures_and_chunk_answers_never_change_the_reading() {
        let mut zz = ZeroZero::starting_at(1);
        zz.sent(1, &rejected(503));
        zz.sent(1, &Reply::Failed(Error::Timeout("t".into())));
        assert_eq!(zz.read(Heard::asked(Status::Committed(1))), Status::Committed(1), "not a refusal");
        zz.sent(1, &rejected(400));
        assert_eq!(zz.read(Heard::answered(Status::Committed(1))), Status::Committed(1), "a chunk's own answer");
        zz.sent(0, &rejected(400));
        assert_eq!(zz.read(Heard::asked(Status::Committed(262144))), Status::Committed(262144));
        assert_eq!(zz.read(Heard::asked(Status::Committed(1))), Status::Committed(1), "the refusal was forgotten");
    }
}
