//! A server that misbehaves on purpose (raw sockets, so it can do what no well-behaved HTTP
//! library would): malformed JSON, a huge body, a redirect to another host, a Range beyond what
//! was sent, an answer that drips forever. The same kinds, for every service through the queue,
//! are in `hostile_emulator.rs`. Each is a clear error with a stable code; nothing panics, nothing reads a huge body
//! into memory, and no request follows a redirect.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use twindrop_engine::service::redivis::{NewTempUpload, Redivis, TableRef};
use twindrop_engine::transfer::resumable;
use twindrop_engine::Secret;

/// Serves `answer(request_head)` to every connection; counts requests.
async fn serve(answer: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicU64::new(0));
    let (answer, seen) = (Arc::new(answer), count.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let (answer, seen) = (answer.clone(), seen.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                seen.fetch_add(1, Ordering::SeqCst);
                let reply = answer(&String::from_utf8_lossy(&head));
                let _ = socket.write_all(&reply).await;
                // For the huge body: keep sending until the client hangs up.
                if reply.starts_with(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000") {
                    let junk = vec![b'x'; 64 * 1024];
                    while socket.write_all(&junk).await.is_ok() {}
                }
                // For the slowloris: a byte every 100 ms, faster than any read timeout, forever.
                if reply.starts_with(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n") {
                    while socket.write_all(b" ").await.is_ok() {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            });
        }
    });
    (base, count)
}

fn redivis(base: &str) -> Redivis {
    Redivis::new(&format!("{base}/api/v1"), Secret::new("t")).unwrap()
}

async fn ask(r: &Redivis) -> twindrop_engine::Error {
    let table = TableRef::parse("a.b:v1.c").unwrap();
    let wanted = [NewTempUpload { name: "f".into(), size: 1, resumable: false }];
    tokio::time::timeout(Duration::from_secs(30), r.create_temp_uploads(&table, &wanted)).await.unwrap().unwrap_err()
}

#[tokio::test]
async fn malformed_json_is_a_bad_response() {
    let (base, _) = serve(|_| b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{\"results\": [".to_vec()).await;
    assert_eq!(ask(&redivis(&base)).await.code(), "server.bad_response");
}

#[tokio::test]
async fn a_huge_answer_is_refused_without_reading_it_all() {
    let (base, _) = serve(|_| b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n".to_vec()).await;
    let started = std::time::Instant::now();
    let e = ask(&redivis(&base)).await;
    assert_eq!(e.code(), "server.bad_response", "{e}");
    assert!(e.to_string().contains("larger than"), "{e}");
    eprintln!("refused after {:?}", started.elapsed());
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let (elsewhere, visits) = serve(|_| b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".to_vec()).await;
    let location = format!("{elsewhere}/api/v1/tables/x/tempUploads");
    let (base, _) = serve(move |_| {
        format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n").into_bytes()
    })
    .await;
    let e = ask(&redivis(&base)).await;
    assert_eq!(e.code(), "server.bad_response", "{e}");
    assert!(e.to_string().contains("not followed"), "{e}");
    assert_eq!(visits.load(Ordering::SeqCst), 0, "the redirect was followed (with the token)");
}

#[tokio::test]
async fn a_range_beyond_what_was_sent_ends_the_upload() {
    let (base, _) = serve(|head| {
        if head.starts_with("POST") {
            let host = head.lines().find_map(|l| l.strip_prefix("host: ").or(l.strip_prefix("Host: "))).unwrap_or("");
            let location = format!("http://{}/session/1", host.trim());
            format!("HTTP/1.1 200 OK\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n").into_bytes()
        } else {
            b"HTTP/1.1 308 Resume Incomplete\r\nRange: bytes=0-999999999\r\nContent-Length: 0\r\n\r\n".to_vec()
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    std::fs::write(&path, vec![1u8; 600_000]).unwrap();
    let http = reqwest::Client::new();
    let session = resumable::initiate(&http, &format!("{base}/upload"), 600_000).await.unwrap();
    let e =
        resumable::upload(&http, &session, &path, 0, 256 * 1024, Arc::new(|_| {}), &|_| {}, false).await.unwrap_err();
    assert_eq!(e.code(), "server.bad_response", "{e}");
}

#[tokio::test]
async fn an_answer_that_drips_forever_ends_at_the_clients_timeout() {
    let (base, _) = serve(|_| b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n{".to_vec()).await;
    let started = std::time::Instant::now();
    let e = ask(&redivis(&base).with_timeout(Duration::from_secs(1))).await;
    assert_eq!(e.code(), "network.timeout", "{e}");
    assert!(started.elapsed() < Duration::from_secs(5), "given up after {:?}", started.elapsed());
}
