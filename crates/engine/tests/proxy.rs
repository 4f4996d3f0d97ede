//! Uploads to every service through a real proxy: Debian's tinyproxy on loopback, started here
//! with its own config file, port and log (never the system service). Between our client and
//! tinyproxy sits a relay that records every byte the client sends the proxy, so the tests can
//! say what a proxy sees, not only that the upload worked.
//!
//! The emulator is on 127.0.0.1, which Twindrop never sends through a proxy; these tests turn
//! that off with `TWINDROP_TEST_PROXY_LOOPBACK=1` (see `proxy.rs` for why a switch, not a
//! pinned host name). The route and the environment are the process's, so the tests here run
//! one at a time (`SERIAL`).
//!
//! What a proxy may see: in real use every service is https, so a proxy sees `CONNECT host:443`
//! and nothing inside the tunnel. Here the traffic is plain http (loopback only), so the proxy
//! sees the requests' headers, the API's credential among them (acceptable: plain http never
//! leaves this machine). The tests hold what matters for the real case: the credential goes
//! only with requests to the API's routes, never with the bytes to a storage upload URL
//! (Redivis's temp uploads are on its API's origin and take the token by design; HBR's secret
//! never travels at all: it signs), and neither the secret nor the proxy's password is ever in
//! the proxy's log.
//!
//! Skipped when tinyproxy is not installed, unless `TWINDROP_REQUIRE_PEERS=1` (then it fails).

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twindrop_engine::doctor::{self, SecretFrom, StepName, Subject, Verdict};
use twindrop_engine::journal::JobState;
use twindrop_engine::proxy::{self, ProxyMode, ProxyPrefs, Route};
use twindrop_engine::queue::Options;
use twindrop_engine::{Secret, TrustedTwin};

use support::{world, Kind, ALL, SECRET};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The URL paths that take a file's bytes (the emulator's upload URLs), per service.
const DATA_PATHS: [&str; 4] = ["/upload/", "/__tempUploads/", "/__presigned/", "/__oss/"];

struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Tinyproxy {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// tinyproxy on a free loopback port, asking `auth` (user, password) when given; `None` (the
/// test skips) when it is not installed.
fn tinyproxy(auth: Option<(&str, &str)>) -> Option<Tinyproxy> {
    if Command::new("tinyproxy").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        assert!(
            std::env::var("TWINDROP_REQUIRE_PEERS").as_deref() != Ok("1"),
            "tinyproxy is not installed (scripts/bootstrap.sh installs it)"
        );
        eprintln!("skipped: tinyproxy is not installed (apt-get install tinyproxy, or scripts/bootstrap.sh)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tinyproxy.log");
    let port = free_port();
    let mut conf = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 60\nLogFile \"{}\"\nLogLevel Info\nMaxClients 64\n\
         Allow 127.0.0.1\nDisableViaHeader Yes\n",
        log.display()
    );
    if let Some((user, password)) = auth {
        conf.push_str(&format!("BasicAuth {user} {password}\n"));
    }
    let conf_path = dir.path().join("tinyproxy.conf");
    std::fs::write(&conf_path, conf).unwrap();
    // -d: in the foreground, a child of this test (killed on drop), never a daemon.
    let child = Command::new("tinyproxy")
        .args(["-d", "-c"])
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let proxy = Tinyproxy { child, port, log, _dir: dir };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(proxy);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("tinyproxy did not listen on {port}: {}", proxy.log());
}

/// A TCP relay to `to` that keeps every byte its clients send: what the proxy is told.
async fn recording_relay(to: u16) -> (u16, Arc<Mutex<Vec<u8>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let Ok(upstream) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await else { return };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut up_read, mut up_write) = upstream.into_split();
                let up = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = client_read.read(&mut buf).await {
                        if n == 0 || up_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        record.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    let _ = up_write.shutdown().await;
                };
                let down = async move {
                    let _ = tokio::io::copy(&mut up_read, &mut client_write).await;
                    let _ = client_write.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (port, seen)
}

/// The request heads in what a client sent a proxy: (request line, header lines). A body
/// need not end in a line break, so a head is looked for anywhere, not only at a line's start.
fn request_heads(bytes: &[u8]) -> Vec<(String, Vec<String>)> {
    let text = String::from_utf8_lossy(bytes);
    let starts = ["GET http://", "POST http://", "PUT http://", "DELETE http://", "HEAD http://", "CONNECT "];
    let mut at: Vec<usize> = starts.iter().flat_map(|s| text.match_indices(s).map(|(i, _)| i)).collect();
    at.sort_unstable();
    at.into_iter()
        .filter_map(|i| {
            let head = &text[i..i + text[i..].find("\r\n\r\n")?];
            let mut lines = head.split("\r\n");
            let line = lines.next()?.to_owned();
            line.ends_with(" HTTP/1.1").then(|| (line, lines.map(str::to_owned).collect()))
        })
        .collect()
}

fn manual(port: u16, user: Option<&str>) -> ProxyPrefs {
    ProxyPrefs {
        mode: ProxyMode::Manual,
        url: Some(format!("http://127.0.0.1:{port}")),
        username: user.map(str::to_owned),
        no_proxy: None,
    }
}

fn through_loopback(on: bool) {
    if on {
        std::env::set_var(proxy::TEST_LOOPBACK_VAR, "1");
    } else {
        std::env::remove_var(proxy::TEST_LOOPBACK_VAR);
    }
}

/// Two files of one service's world, uploaded; every job must end done.
async fn upload_two(kind: Kind) -> (support::World, Vec<u64>) {
    let world = world(kind, None).await;
    let files = vec![world.file("a.txt", 1000, 1), world.file("b.bin", 300_000, 2)];
    let (ids, _) = world.upload(&files, Options::default(), Duration::from_secs(60)).await;
    for id in &ids {
        let job = world.journal.get(*id).unwrap();
        assert_eq!(job.state, JobState::Done, "{kind:?}: {:?} {:?}", job.error_code, job.error_message);
    }
    (world, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_to_every_service_go_through_the_proxy_and_credentials_only_to_the_api() {
    let _serial = SERIAL.lock().await;
    let Some(tiny) = tinyproxy(Some(("alice", "pr0xy-pass"))) else { return };
    let (relay, seen) = recording_relay(tiny.port).await;
    through_loopback(true);
    proxy::configure(&manual(relay, Some("alice")), Some(Secret::new("pr0xy-pass"))).await.unwrap();

    for kind in ALL {
        seen.lock().unwrap().clear();
        let (world, _) = upload_two(kind).await;
        let sent = seen.lock().unwrap().clone();
        let heads = request_heads(&sent);
        let origin = world.em.base_url().trim_end_matches('/').to_owned();
        assert!(!heads.is_empty(), "{kind:?}: nothing went through the proxy");
        for (line, headers) in &heads {
            assert!(line.contains(&origin), "{kind:?}: a request for elsewhere: {line}");
            // Every request carried the proxy's credentials, which tinyproxy asked for.
            assert!(
                headers.iter().any(|h| h.to_ascii_lowercase().starts_with("proxy-authorization: basic ")),
                "{line}"
            );
            let data = DATA_PATHS.iter().any(|p| line.contains(&format!("{origin}{p}")));
            let secret_in = headers.iter().any(|h| h.contains(SECRET));
            let authorization = headers.iter().any(|h| h.to_ascii_lowercase().starts_with("authorization:"));
            // Redivis's temp uploads are on the API's own origin, where the token is due
            // (`redivis::Redivis`, "the token goes only to the API origin"); every other
            // service's upload URL is storage that must never see it.
            if data && kind != Kind::Redivis {
                assert!(!secret_in && !authorization, "{kind:?}: an upload URL got a credential: {line} {headers:?}");
            }
            if kind == Kind::Hbr {
                assert!(!secret_in, "HBR's secret signs; it never travels: {line}");
            }
        }
        let data = heads.iter().filter(|(l, _)| DATA_PATHS.iter().any(|p| l.contains(&format!("{origin}{p}")))).count();
        assert!(data >= 2, "{kind:?}: {data} upload requests through the proxy: {heads:?}");
        let api = heads.iter().filter(|(_, h)| h.iter().any(|h| h.contains(SECRET))).count();
        if kind != Kind::Hbr {
            assert!(api > 0, "{kind:?}: the API was not reached through the proxy");
        }
        world.em.shutdown().await;
    }
    // The proxy logged what went through it, and neither secret.
    let log = tiny.log();
    assert!(log.matches("Request (file descriptor").count() >= 8, "tinyproxy's log: {log}");
    for path in DATA_PATHS {
        assert!(log.contains(path), "no {path} request in tinyproxy's log: {log}");
    }
    assert!(!log.contains(SECRET), "the API secret is in the proxy's log");
    assert!(!log.contains("pr0xy-pass"), "the proxy's password is in its log");
    through_loopback(false);
    proxy::set_route(Route::from_env());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_proxy_password_is_refused_and_this_machine_is_never_proxied() {
    let _serial = SERIAL.lock().await;
    let Some(tiny) = tinyproxy(Some(("alice", "right"))) else { return };
    let (relay, seen) = recording_relay(tiny.port).await;
    let em = twindrop_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), twindrop_emulator::Config::new(SECRET))
        .await
        .unwrap();
    let tt = TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap();

    through_loopback(true);
    proxy::configure(&manual(relay, Some("alice")), Some(Secret::new("wrong"))).await.unwrap();
    // tinyproxy refuses a wrong password with 401 (RFC 9110 says 407; either way: refused).
    let e = tt.create_twin().await.unwrap_err();
    assert!(e.to_string().contains("401") || e.to_string().contains("407"), "{} {e}", e.code());
    assert!(!e.to_string().contains("wrong"), "the password is in the message: {e}");
    assert!(!seen.lock().unwrap().is_empty());

    // Without the test switch, the same route leaves this machine alone: the sandbox's case.
    through_loopback(false);
    proxy::configure(&manual(relay, Some("alice")), Some(Secret::new("wrong"))).await.unwrap();
    seen.lock().unwrap().clear();
    TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap().create_twin().await.unwrap();
    assert!(seen.lock().unwrap().is_empty(), "a loopback request went to the proxy");
    proxy::set_route(Route::from_env());
    em.shutdown().await;
}

/// The connection check says which way it went: through the proxy (named without its password)
/// when one is set, and "direct" for this machine, which is never proxied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_check_names_the_proxy_it_went_through() {
    let _serial = SERIAL.lock().await;
    let Some(tiny) = tinyproxy(Some(("alice", "pr0xy-pass"))) else { return };
    let (relay, seen) = recording_relay(tiny.port).await;
    let w = world(Kind::TrustedTwin, None).await;
    let check = || {
        doctor::check(Subject {
            kind: w.service.kind(),
            base_url: w.service.base_url().to_owned(),
            secret: SecretFrom::Given(Secret::new(SECRET)),
            destination: None,
        })
    };
    let host = |r: &doctor::Report| r.steps.iter().find(|s| s.name == StepName::Host).unwrap().clone();

    through_loopback(true);
    proxy::configure(&manual(relay, Some("alice")), Some(Secret::new("pr0xy-pass"))).await.unwrap();
    let report = check().await;
    let step = host(&report);
    assert_eq!(step.verdict, Verdict::Pass, "{report:?}");
    assert!(step.summary.contains(&format!("through proxy http://127.0.0.1:{relay}")), "{}", step.summary);
    assert!(!format!("{report:?}").contains("pr0xy-pass"), "the proxy's password is in the report");
    assert!(!seen.lock().unwrap().is_empty(), "the check did not go through the proxy");

    // A proxy that does not answer: the step fails and points at the proxy, not the service.
    proxy::configure(&manual(free_port(), None), None).await.unwrap();
    let step = host(&check().await);
    assert_eq!(step.verdict, Verdict::Fail, "{step:?}");
    assert!(step.summary.contains("through proxy"), "{}", step.summary);
    assert!(step.next.as_deref().unwrap_or_default().contains("proxy in Settings"), "{step:?}");

    // The same route without the test switch leaves this machine alone (the sandbox's case).
    through_loopback(false);
    proxy::configure(&manual(relay, Some("alice")), Some(Secret::new("pr0xy-pass"))).await.unwrap();
    seen.lock().unwrap().clear();
    let step = host(&check().await);
    assert!(step.summary.ends_with("(direct)"), "{}", step.summary);
    assert!(seen.lock().unwrap().is_empty(), "a loopback check went to the proxy");
    proxy::set_route(Route::from_env());
    w.em.shutdown().await;
}

/// `HTTP_PROXY` and `NO_PROXY` as the environment gives them, in `system` mode (the default);
/// `off` ignores them; and a manual setting wins over them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_is_honoured_in_system_mode_only() {
    let _serial = SERIAL.lock().await;
    let Some(tiny) = tinyproxy(None) else { return };
    let (relay, seen) = recording_relay(tiny.port).await;
    let (other, other_seen) = recording_relay(tiny.port).await;
    let em = twindrop_emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), twindrop_emulator::Config::new(SECRET))
        .await
        .unwrap();
    // A fresh client each time: a pooled connection keeps the route it was opened on.
    let twin = || async { TrustedTwin::new(em.base_url(), Secret::new(SECRET)).unwrap().create_twin().await.unwrap() };
    through_loopback(true);
    let vars =
        ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"];
    let saved: Vec<_> = vars.iter().map(|v| (v, std::env::var_os(v))).collect();
    for v in vars {
        std::env::remove_var(v);
    }
    let system = ProxyPrefs::default();

    std::env::set_var("http_proxy", format!("http://127.0.0.1:{relay}"));
    proxy::configure(&system, None).await.unwrap();
    twin().await;
    assert!(!seen.lock().unwrap().is_empty(), "http_proxy was not used");

    std::env::set_var("NO_PROXY", "10.0.0.0/8, 127.0.0.1");
    proxy::configure(&system, None).await.unwrap();
    seen.lock().unwrap().clear();
    twin().await;
    assert!(seen.lock().unwrap().is_empty(), "NO_PROXY was not honoured");
    // The setting's list replaces NO_PROXY.
    proxy::configure(&ProxyPrefs { no_proxy: Some("example.org".into()), ..system.clone() }, None).await.unwrap();
    twin().await;
    assert!(!seen.lock().unwrap().is_empty(), "the setting's list did not replace NO_PROXY");

    seen.lock().unwrap().clear();
    proxy::configure(&ProxyPrefs { mode: ProxyMode::Off, ..system.clone() }, None).await.unwrap();
    twin().await;
    assert!(seen.lock().unwrap().is_empty(), "off still used the environment's proxy");

    std::env::remove_var("NO_PROXY");
    proxy::configure(&manual(other, None), None).await.unwrap();
    twin().await;
    assert!(seen.lock().unwrap().is_empty() && !other_seen.lock().unwrap().is_empty(), "manual did not win");

    for (v, value) in saved {
        match value {
            Some(value) => std::env::set_var(v, value),
            None => std::env::remove_var(v),
        }
    }
    through_loopback(false);
    proxy::set_route(Route::from_env());
    em.shutdown().await;
    drop(tiny);
}
