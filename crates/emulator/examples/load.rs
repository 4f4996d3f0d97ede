//! A small load generator for a running emulator (`benches/emulator.sh` uses it).
//!
//! ```text
//! load URL SECRET cache [CONCURRENCY] [SECONDS]
//!     POST /cache from CONCURRENCY keep-alive connections for SECONDS (after 1 s of warm-up):
//!     prints `POST /cache: N req/s (...)`, the emulator's request ceiling on loopback.
//! load URL SECRET attach [SIZES] [SAMPLES]
//!     One Twin, filled to each of SIZES Docs in turn (comma-separated, ascending; default
//!     100,100000). At each size, SAMPLES times one after the other: attach one new Doc, get it,
//!     POST /cache. Prints `attach at N Docs: p50 X ms, p99 Y ms; get ...; cache ...`.
//! ```
//!
//! The emulator should run with a long `--copy-delay-ms` for `attach`, so that the copies of
//! the Docs filled in do not settle while latencies are measured (that is measured separately:
//! the files/s figure includes copies).

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{json, Map, Value};

/// Docs attached per fill request (request bodies are limited to 64 kB).
const FILL_BATCH: usize = 500;
/// Docs linked to one upload: ext4 allows 65,000 hard links to a file.
const DOCS_PER_UPLOAD: usize = 20_000;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: load URL SECRET cache [CONCURRENCY] [SECONDS] | load URL SECRET attach [SIZES] [SAMPLES]";
    let (Some(url), Some(secret), Some(mode)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let target = Target { client: Client::builder().pool_max_idle_per_host(1024).build().unwrap(), url, secret };
    match mode.as_str() {
        "cache" => {
            let concurrency = args.get(3).map_or(64, |n| n.parse().expect("CONCURRENCY"));
            let seconds = args.get(4).map_or(10.0, |n| n.parse().expect("SECONDS"));
            cache(&target, concurrency, Duration::from_secs_f64(seconds)).await;
        }
        "attach" => {
            let sizes: Vec<usize> = args
                .get(3)
                .map_or("100,100000", String::as_str)
                .split(',')
                .map(|n| n.trim().parse().expect("SIZES"))
                .collect();
            let samples = args.get(4).map_or(200, |n| n.parse().expect("SAMPLES"));
            attach(&target, &sizes, samples).await;
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}

struct Target<'a> {
    client: Client,
    url: &'a str,
    secret: &'a str,
}

impl Target<'_> {
    async fn post(&self, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.client.post(format!("{}{path}", self.url)).header("Authorization", self.secret);
        request = match body {
            Some(body) => request.header("Content-Type", "application/json").body(body.to_string()),
            None => request.header("Content-Length", "0"),
        };
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let bytes = response.bytes().await.expect("answer read");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> StatusCode {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .header("Authorization", self.secret)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let _ = response.bytes().await;
        status
    }

    /// `POST /cache` and a PUT of `bytes`: a handler with content.
    async fn upload(&self, bytes: &'static [u8]) -> String {
        let (status, cache) = self.post("/cache", None).await;
        assert_eq!(status, StatusCode::CREATED, "{cache}");
        let put = self.client.put(cache["url"].as_str().unwrap()).header("Content-Length", bytes.len()).body(bytes);
        let status = put.send().await.expect("PUT sent").status();
        assert_eq!(status, StatusCode::OK);
        cache["handler"].as_str().unwrap().to_owned()
    }
}

async fn cache(target: &Target<'_>, concurrency: usize, duration: Duration) {
    let warm_up = Instant::now() + Duration::from_secs(1);
    let end = warm_up + duration;
    let workers = (0..concurrency).map(|_| async {
        let (mut latencies, mut errors) = (Vec::new(), 0u64);
        loop {
            let started = Instant::now();
            if started >= end {
                break;
            }
            let (status, _) = target.post("/cache", None).await;
            if started < warm_up {
                continue;
            }
            if status == StatusCode::CREATED {
                latencies.push(started.elapsed());
            } else {
                errors += 1;
            }
        }
        (latencies, errors)
    });
    let results = futures_util::future::join_all(workers).await;
    let errors: u64 = results.iter().map(|(_, e)| e).sum();
    let mut latencies: Vec<Duration> = results.into_iter().flat_map(|(l, _)| l).collect();
    let rate = latencies.len() as f64 / duration.as_secs_f64();
    println!(
        "POST /cache: {rate:.0} req/s ({} answers in {:.1} s, {concurrency} concurrent; p50 {:.2} ms, p99 {:.2} ms; {errors} errors)",
        latencies.len(),
        duration.as_secs_f64(),
        percentile(&mut latencies, 50.0),
        percentile(&mut latencies, 99.0),
    );
}

async fn attach(target: &Target<'_>, sizes: &[usize], samples: usize) {
    let (status, twin) = target.post("/twins", Some(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{twin}");
    let twin = twin["creation_certificate"]["uuid"].as_str().or(twin["uuid"].as_str()).expect("twin uuid").to_owned();
    let docs = format!("/twins/{twin}/docs");
    let mut handler = target.upload(b"filler").await;
    let mut count = 0usize;
    for &size in sizes {
        let started = Instant::now();
        while count < size {
            let batch = FILL_BATCH.min(size - count);
            if count / DOCS_PER_UPLOAD != (count + batch) / DOCS_PER_UPLOAD {
                handler = target.upload(b"filler").await;
            }
            let names: Map<String, Value> =
                (count..count + batch).map(|i| (format!("fill/{i:07}"), json!({ "handler": handler }))).collect();
            let (status, body) = target.post(&docs, Some(json!({ "docs": names }))).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            count += batch;
        }
        if started.elapsed() > Duration::from_millis(100) {
            eprintln!("filled to {count} Docs in {:.1} s", started.elapsed().as_secs_f64());
        }
        let sample_handler = target.upload(b"sample").await;
        let (mut attach, mut get, mut cache) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..samples {
            let name = format!("sample/{size}/{i:05}");
            let started = Instant::now();
            let body = json!({ "docs": { &name: { "handler": sample_handler } } });
            let (status, answer) = target.post(&docs, Some(body)).await;
            attach.push(started.elapsed());
            assert_eq!(status, StatusCode::CREATED, "{answer}");
            assert!(answer["docs"][&name].get("error").is_none(), "{answer}");
            let started = Instant::now();
            assert_eq!(target.get(&format!("{docs}/{}", name.replace('/', "%2F"))).await, StatusCode::OK);
            get.push(started.elapsed());
            let started = Instant::now();
            assert_eq!(target.post("/cache", None).await.0, StatusCode::CREATED);
            cache.push(started.elapsed());
        }
        count += samples;
        println!(
            "at {size} Docs: attach p50 {:.2} ms, p99 {:.2} ms; get p50 {:.2} ms; POST /cache p50 {:.2} ms ({samples} samples)",
            percentile(&mut attach, 50.0),
            percentile(&mut attach, 99.0),
            percentile(&mut get, 50.0),
            percentile(&mut cache, 50.0),
        );
    }
}

/// In milliseconds.
fn percentile(values: &mut [Duration], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_unstable();
    let at = ((values.len() - 1) as f64 * p / 100.0).round() as usize;
    values[at].as_secs_f64() * 1000.0
}
