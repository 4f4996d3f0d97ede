//! What the every-service suites (`conformance`, `hostile_emulator`) share: one emulator per
//! world, a client and destination for each service, a queue run that keeps its events, and
//! reading files back (and counting copies) through each service's own API.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use twindrop_emulator::{Config, Emulator};
use twindrop_engine::journal::{Job, Journal};
use twindrop_engine::queue::{EventSink, Options, QueueEvent, RunMode};
use twindrop_engine::service::hbr::Hbr;
use twindrop_engine::service::inspect::{AssetId, Inspect};
use twindrop_engine::service::redivis::{Redivis, TableRef};
use twindrop_engine::service::{Destination, Service};
use twindrop_engine::{Queue, Secret, TrustedTwin};

pub const SECRET: &str = "every-service-secret";
pub const TABLE: &str = "demo.sandbox:v1.files";
pub const ASSET: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    TrustedTwin,
    Redivis,
    Inspect,
    Hbr,
}

pub const ALL: [Kind; 4] = [Kind::TrustedTwin, Kind::Redivis, Kind::Inspect, Kind::Hbr];

pub struct World {
    pub kind: Kind,
    pub em: Emulator,
    pub service: Service,
    pub dest: Destination,
    pub dir: tempfile::TempDir,
    pub journal: Arc<Journal>,
    http: reqwest::Client,
}

/// A fresh emulator and a client of `kind` on it; `api_timeout` bounds each of the client's
/// API calls (a Twin is made before, without it: only the run is under test).
pub async fn world(kind: Kind, api_timeout: Option<Duration>) -> World {
    let mut config = Config::new(SECRET);
    config.copy_delay = Duration::from_millis(20);
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let base = em.base_url().to_owned();
    let secret = || Secret::new(SECRET);
    let (service, dest): (Service, Destination) = match kind {
        Kind::TrustedTwin => {
            let twin = TrustedTwin::new(&base, secret()).unwrap().create_twin().await.unwrap();
            let mut tt = TrustedTwin::new(&base, secret()).unwrap();
            if let Some(t) = api_timeout {
                tt = tt.with_timeout(t);
            }
            (Arc::new(tt).into(), twin.into())
        }
        Kind::Redivis => {
            let mut r = Redivis::new(&format!("{base}/api/v1"), secret()).unwrap();
            if let Some(t) = api_timeout {
                r = r.with_timeout(t);
            }
            (Arc::new(r).into(), Destination::Table(TableRef::parse(TABLE).unwrap()))
        }
        Kind::Inspect => {
            let mut i = Inspect::new(&base, secret()).unwrap();
            if let Some(t) = api_timeout {
                i = i.with_timeout(t);
            }
            (Arc::new(i).into(), Destination::Asset(AssetId::parse(ASSET).unwrap()))
        }
        Kind::Hbr => {
            let mut h = Hbr::new(&format!("{base}/hbr"), Secret::new(format!("sandbox:{SECRET}"))).unwrap();
            if let Some(t) = api_timeout {
                h = h.with_timeout(t);
            }
            (Arc::new(h).into(), Destination::TempFiles)
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("journal.sqlite")).unwrap());
    World { kind, em, service, dest, dir, journal, http: reqwest::Client::new() }
}

impl World {
    /// A file of `size` bytes whose content depends on `seed`.
    pub fn file(&self, name: &str, size: usize, seed: usize) -> PathBuf {
        let path = self.dir.path().join(name);
        let bytes: Vec<u8> = (0..size).map(|b| ((b * 31 + seed * 7) % 251) as u8).collect();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Enqueue `files` and run a queue with `options` until idle, within `limit`: the job ids
    /// and every event the run sent.
    pub async fn upload(&self, files: &[PathBuf], options: Options, limit: Duration) -> (Vec<u64>, Vec<QueueEvent>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let sink: EventSink = Arc::new(move |e| seen.lock().unwrap().push(e));
        let queue = Queue::new(self.service.clone(), self.journal.clone(), options);
        let ids = queue.enqueue(self.dest.clone(), files, &sink).await.unwrap();
        let run = tokio::time::timeout(limit, queue.run(sink, RunMode::UntilIdle)).await;
        run.unwrap_or_else(|_| panic!("{:?}: the run did not end within {limit:?}", self.kind)).unwrap();
        let events = events.lock().unwrap().clone();
        (ids, events)
    }

    pub async fn get_json(&self, url: String, auth: &str) -> Value {
        let response = self.http.get(url).header("Authorization", auth).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.unwrap()
    }

    async fn get_bytes(&self, url: &str, auth: Option<&str>) -> Vec<u8> {
        let mut request = self.http.get(url);
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "GET {url}: {}", response.status());
        response.bytes().await.unwrap().to_vec()
    }

    /// The server's listing of files (Redivis, Inspect), each with `name` and `id`.
    pub async fn listing(&self) -> Vec<Value> {
        let (base, bearer) = (self.em.base_url(), format!("Bearer {SECRET}"));
        let (list, key) = match self.kind {
            Kind::Redivis => {
                let table = TABLE.replace(':', "%3A");
                (self.get_json(format!("{base}/api/v1/tables/{table}/rawFiles"), &bearer).await, "results")
            }
            Kind::Inspect => {
                (self.get_json(format!("{base}/api/inspect/v1/assets/{ASSET}/files"), &bearer).await, "data")
            }
            _ => unreachable!(),
        };
        list.get(key).and_then(Value::as_array).cloned().unwrap_or_default()
    }

    /// The bytes the server holds for a finished job, read through the service's own API.
    pub async fn read_back(&self, job: &Job) -> Vec<u8> {
        let base = self.em.base_url();
        let bearer = format!("Bearer {SECRET}");
        let id = |items: Vec<Value>| -> String {
            let item = items
                .iter()
                .rev()
                .find(|f| f["name"] == job.doc_name.as_str())
                .unwrap_or_else(|| panic!("{:?}: {} is not on the server", self.kind, job.doc_name));
            assert_ne!(item["completed"], false, "{:?}: {} is there but was never completed", self.kind, job.doc_name);
            item["id"].as_str().map(str::to_owned).unwrap_or_else(|| item["id"].to_string())
        };
        match self.kind {
            Kind::TrustedTwin => {
                let name: String = url::form_urlencoded::byte_serialize(job.doc_name.as_str().as_bytes()).collect();
                let doc =
                    self.get_json(format!("{base}/twins/{}/docs/{name}?download=true", job.destination), SECRET).await;
                self.get_bytes(doc["download"]["url"].as_str().unwrap(), None).await
            }
            Kind::Redivis => {
                let id = id(self.listing().await);
                self.get_bytes(&format!("{base}/api/v1/rawFiles/{id}?alt=media"), Some(&bearer)).await
            }
            Kind::Inspect => {
                let id = id(self.listing().await);
                self.get_bytes(&format!("{base}/api/inspect/v1/file/{id}/content"), Some(&bearer)).await
            }
            Kind::Hbr => {
                let Service::Hbr(hbr) = &self.service else { unreachable!() };
                // A finished job keeps its temp file key (its upload id), not the signed form.
                let key = job.upload_id.clone().unwrap();
                let link = hbr.download_link(&key).await.unwrap();
                self.get_bytes(&link, None).await
            }
        }
    }

    /// How many files of this name the server made (more than 1 is a duplicate).
    pub async fn copies(&self, job: &Job) -> usize {
        match self.kind {
            Kind::TrustedTwin => self.em.attach_count(job.destination.as_str(), job.doc_name.as_str()) as usize,
            Kind::Redivis | Kind::Inspect => self
                .listing()
                .await
                .iter()
                .filter(|f| f["name"] == job.doc_name.as_str() && f["completed"] != false)
                .count(),
            // Every HBR upload gets its own key: a duplicate cannot exist by name.
            Kind::Hbr => 1,
        }
    }
}
