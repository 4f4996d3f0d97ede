//! What a Redivis session answers, in the two ways it can be set to (`ChunkAnswers`): as GCS
//! (308 with `Range`) and as seed 002 words it ("the response body will be empty with a status
//! of 200"). Also the initiation's required `x-upload-content-length` and the `commit_bytes`
//! fault, whose one-byte commit is `Range: bytes=0-0`.

mod common;

use common::{Harness, SECRET};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use twindrop_emulator::{ChunkAnswers, Config};

const Q: u64 = 256 * 1024;
const TABLE: &str = "demo.sandbox%3Av1.files";
const MODES: [ChunkAnswers; 2] = [ChunkAnswers::Gcs, ChunkAnswers::Seed];

fn data(len: u64) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect()
}

fn md5_b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    use md5::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(bytes))
}

/// The `Range` of a 308 as a committed byte count (0 without one).
fn range_of(response: &Response) -> u64 {
    assert_eq!(response.status().as_u16(), 308, "expected 308 Resume Incomplete");
    response.headers().get("range").map_or(0, |range| {
        range.to_str().unwrap().strip_prefix("bytes=0-").expect("bytes=0-N").parse::<u64>().unwrap() + 1
    })
}

struct Session {
    h: Harness,
    uri: String,
    id: String,
    size: u64,
}

async fn harness(answers: ChunkAnswers) -> Harness {
    Harness::start_with(Config::new(SECRET).redivis_chunk_answers(answers)).await
}

/// A resumable temp upload of `size` bytes: its id and initiation URL.
async fn temp_upload(h: &Harness, size: u64) -> (String, String) {
    let list: Value = h
        .client
        .post(h.url(&format!("/api/v1/tables/{TABLE}/tempUploads")))
        .bearer_auth(SECRET)
        .json(&json!({"tempUploads": [{"name": "x.bin", "size": size, "resumable": true}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upload = &list["results"][0];
    (upload["id"].as_str().unwrap().to_owned(), upload["url"].as_str().unwrap().to_owned())
}

async fn session(answers: ChunkAnswers, size: u64) -> Session {
    let h = harness(answers).await;
    let (id, url) = temp_upload(&h, size).await;
    let response = h
        .client
        .post(&url)
        .header("x-goog-resumable", "start")
        .header("x-upload-content-length", size)
        .header("Content-Length", 0)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let uri = response.headers()["location"].to_str().unwrap().to_owned();
    Session { h, uri, id, size }
}

impl Session {
    async fn chunk(&self, bytes: &[u8], start: u64, total: &str) -> Response {
        let end = start + bytes.len() as u64 - 1;
        let range = format!("bytes {start}-{end}/{total}");
        self.h.client.put(&self.uri).header("Content-Range", range).body(bytes.to_vec()).send().await.unwrap()
    }

    async fn query(&self) -> Response {
        let range = format!("bytes */{}", self.size);
        self.h.client.put(&self.uri).header("Content-Range", range).header("Content-Length", 0).send().await.unwrap()
    }

    /// Where a chunk's answer leaves the session: from its `Range`, or, after seed 002's empty
    /// 200, from a status query, which is the only way such a server tells it.
    async fn committed_after(&self, answers: ChunkAnswers, response: Response) -> u64 {
        match answers {
            ChunkAnswers::Gcs => range_of(&response),
            ChunkAnswers::Seed if response.status().as_u16() == 308 => range_of(&response),
            ChunkAnswers::Seed => {
                assert_eq!(response.status(), StatusCode::OK, "seed 002: a chunk taken is a 200");
                assert_eq!(response.text().await.unwrap(), "", "seed 002: with an empty body");
                range_of(&self.query().await)
            }
        }
    }

    /// The completion JSON after the last chunk's answer (from a status query after an empty 200).
    async fn done_after(&self, answers: ChunkAnswers, response: Response) -> Value {
        match answers {
            ChunkAnswers::Gcs => {
                assert_eq!(response.status(), StatusCode::CREATED);
                response.json().await.unwrap()
            }
            ChunkAnswers::Seed => {
                assert_eq!(response.status(), StatusCode::OK);
                assert_eq!(response.text().await.unwrap(), "");
                let query = self.query().await;
                assert_eq!(query.status(), StatusCode::OK, "complete");
                query.json().await.unwrap()
            }
        }
    }
}

#[tokio::test]
async fn the_initiation_needs_x_upload_content_length() {
    let h = harness(ChunkAnswers::Gcs).await;
    let (_, url) = temp_upload(&h, 3 * Q).await;
    let post = |length: Option<u64>| {
        let request = h.client.post(&url).header("x-goog-resumable", "start").header("Content-Length", 0);
        match length {
            Some(length) => request.header("x-upload-content-length", length),
            None => request,
        }
        .send()
    };
    let refused = post(None).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "seed 002: the POST must specify it");
    let error: Value = refused.json().await.unwrap();
    assert!(error["error_description"].as_str().unwrap().contains("x-upload-content-length"), "{error}");
    assert_eq!(post(Some(3 * Q - 1)).await.unwrap().status(), StatusCode::BAD_REQUEST, "not the declared size");
    assert_eq!(post(Some(3 * Q)).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn chunks_taken_in_full_are_answered_as_the_mode_says() {
    for answers in MODES {
        let size = 3 * Q + 100;
        let bytes = data(size);
        let s = session(answers, size).await;
        let total = size.to_string();
        let mut offset = 0;
        for piece in bytes[..3 * Q as usize].chunks(Q as usize) {
            let response = s.chunk(piece, offset, &total).await;
            offset += piece.len() as u64;
            assert_eq!(s.committed_after(answers, response).await, offset, "{answers:?}");
        }
        let done = s.done_after(answers, s.chunk(&bytes[offset as usize..], offset, &total).await).await;
        assert_eq!(done, json!({"kind": "tempUpload", "id": s.id, "size": total, "md5Hash": md5_b64(&bytes)}));
        assert_eq!(s.h.emulator.redivis_bytes_received(), size, "{answers:?}");
    }
}

#[tokio::test]
async fn a_chunk_committed_in_part_is_a_308_in_both_modes() {
    for answers in MODES {
        let size = 4 * Q;
        let bytes = data(size);
        let s = session(answers, size).await;
        let total = size.to_string();
        s.h.emulator.set_faults(
            serde_json::from_value(json!({"rules": [
                {"route": "redivis.chunk", "nth": [1], "short_commit": true},
                {"route": "redivis.chunk", "nth": [2], "no_range": true}
            ]}))
            .unwrap(),
        );
        let response = s.chunk(&bytes[..2 * Q as usize], 0, &total).await;
        assert_eq!(range_of(&response), Q, "{answers:?}: short_commit kept half");
        let response = s.chunk(&bytes[Q as usize..3 * Q as usize], Q, &total).await;
        assert_eq!(range_of(&response), 0, "{answers:?}: no_range");
        assert_eq!(range_of(&s.query().await), Q, "{answers:?}");
        // A chunk that reaches the end with a `*` total is taken in full, yet not the end: the
        // status query that names the total finalizes it (after seed 002's empty 200, that is
        // also the question the client asks).
        let response = s.chunk(&bytes[Q as usize..], Q, "*").await;
        match answers {
            ChunkAnswers::Gcs => assert_eq!(range_of(&response), size),
            ChunkAnswers::Seed => {
                assert_eq!((response.status(), response.text().await.unwrap()), (StatusCode::OK, "".into()))
            }
        }
        let finalized = s.query().await;
        assert_eq!(finalized.status(), StatusCode::CREATED, "{answers:?}: bytes */N finalizes");
    }
}

/// Any number of bytes may be committed (seed 002 reads `bytes=0-42` as 43 bytes): one byte is
/// `bytes=0-0`, in the chunk's answer and in a status query alike, and the next chunk is taken
/// from byte 1.
#[tokio::test]
async fn commit_bytes_keeps_exactly_that_many_and_one_byte_is_bytes_0_0() {
    for answers in MODES {
        let size = 2 * Q + 5;
        let bytes = data(size);
        let s = session(answers, size).await;
        let total = size.to_string();
        let rules = json!({"rules": [{"route": "redivis.chunk", "nth": [1], "commit_bytes": 1}]});
        s.h.emulator.set_faults(serde_json::from_value(rules).unwrap());
        let response = s.chunk(&bytes[..Q as usize], 0, &total).await;
        assert_eq!(response.headers()["range"], "bytes=0-0", "{answers:?}");
        assert_eq!(range_of(&response), 1);
        let query = s.query().await;
        assert_eq!(query.headers()["range"], "bytes=0-0", "{answers:?}");
        assert_eq!(
            s.chunk(&bytes[..Q as usize], 0, &total).await.status(),
            StatusCode::BAD_REQUEST,
            "{answers:?}: byte 0 is there already"
        );
        let response = s.chunk(&bytes[1..=Q as usize], 1, &total).await;
        assert_eq!(s.committed_after(answers, response).await, Q + 1, "{answers:?}");
        let done = s.done_after(answers, s.chunk(&bytes[Q as usize + 1..], Q + 1, &total).await).await;
        assert_eq!(done["md5Hash"], md5_b64(&bytes), "{answers:?}");
    }
}
