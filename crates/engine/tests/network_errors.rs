//! A connection that fails says why, each cause with its own code and what to do about it: a
//! port where nothing listens (`network.refused`), a host name that does not resolve
//! (`network.dns`), a server that takes the connection and never answers (`network.timeout`,
//! within the client's own timeout). All three may pass with time, so all three are retried.

use std::time::{Duration, Instant};

use twindrop_engine::{Secret, TrustedTwin};

#[tokio::test]
async fn a_port_where_nothing_listens_is_network_refused() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let e = TrustedTwin::new(&format!("http://{closed}"), Secret::new("s")).unwrap().whoami().await.unwrap_err();
    assert_eq!(e.code(), "network.refused", "{e}");
    assert!(e.retryable(), "a server that restarts refuses for a moment");
    let said = e.to_string();
    assert!(said.contains("nothing is listening at that address"), "{said}");
    assert!(said.contains("is the port right?"), "{said}");
    assert!(e.error_code().meaning().contains("is the server (or the sandbox) running"));
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_network_dns() {
    // `.invalid` never resolves (RFC 2606), on any network or none. Plain HTTP is allowed to
    // this machine only, so the name goes over https: the lookup fails before TLS matters.
    let e = TrustedTwin::new("https://no-such-host.invalid/", Secret::new("s")).unwrap().whoami().await.unwrap_err();
    assert_eq!(e.code(), "network.dns", "{e}");
    assert!(e.retryable(), "a machine coming back online resolves it");
    let said = e.to_string();
    assert!(said.contains("the host name could not be found"), "{said}");
    assert!(said.contains("check the base URL's spelling and your DNS/network"), "{said}");
    assert!(!said.contains("network.unreachable"));
}

#[tokio::test]
async fn a_server_that_never_answers_is_network_timeout_within_the_clients_timeout() {
    // Accepts every connection and holds it, reading nothing and answering nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            kept.push(socket);
        }
    });
    let tt =
        TrustedTwin::new(&format!("http://{at}"), Secret::new("s")).unwrap().with_timeout(Duration::from_millis(700));
    let started = Instant::now();
    let e = tt.whoami().await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.code(), "network.timeout", "{e}");
    assert!(took >= Duration::from_millis(700) && took < Duration::from_secs(5), "gave up after {took:?}");
    assert!(e.retryable());
    assert!(e.to_string().contains("did not answer in time"), "{e}");
    held.abort();
}
