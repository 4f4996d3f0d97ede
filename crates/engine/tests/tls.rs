//! A server whose certificate this machine does not trust (a self-signed one, served by
//! `openssl s_server`) is `network.tls`, not a generic `network.unreachable`: not retryable,
//! and the connection check says to look at the certificate rather than the network.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use twindrop_engine::doctor::{self, SecretFrom, StepName, Subject, Verdict};
use twindrop_engine::service::ServiceKind;
use twindrop_engine::{Secret, TrustedTwin};

/// The server, and the folder its key and certificate are in (kept until it stops).
struct Server(Child, #[allow(dead_code)] tempfile::TempDir);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `openssl s_server` with a fresh self-signed certificate on a free port; `None` (skipped)
/// without openssl, unless `TWINDROP_REQUIRE_PEERS=1`.
fn self_signed() -> Option<(Server, u16)> {
    if Command::new("openssl").arg("version").output().is_err() {
        assert!(std::env::var("TWINDROP_REQUIRE_PEERS").as_deref() != Ok("1"), "openssl is not installed");
        eprintln!("skipped: openssl is not installed");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("k.pem"), dir.path().join("c.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &port.to_string(), "-cert"])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child, dir);
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "openssl s_server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((server, port))
}

#[tokio::test]
async fn an_untrusted_certificate_is_network_tls_and_the_check_says_so() {
    let Some((_server, port)) = self_signed() else { return };
    let base = format!("https://127.0.0.1:{port}");
    let e = TrustedTwin::new(&base, Secret::new("s")).unwrap().whoami().await.unwrap_err();
    assert_eq!(e.code(), "network.tls", "{e}");
    assert!(!e.retryable(), "retrying cannot make a certificate trusted");
    assert!(e.to_string().contains("certificate is not trusted"), "{e}");

    let report = doctor::check(Subject {
        kind: ServiceKind::TrustedTwin,
        base_url: base.clone(),
        secret: SecretFrom::Given(Secret::new("s")),
        destination: None,
    })
    .await;
    let host = report.steps.iter().find(|s| s.name == StepName::Host).unwrap();
    assert_eq!((host.verdict, host.code.as_deref()), (Verdict::Fail, Some("network.tls")), "{host:?}");
    assert!(host.next.as_deref().unwrap().contains("certificate"), "{host:?}");
}
