//! The connection check against every service in the emulator: a clean pass with the right
//! secret (nothing left behind), and a diagnosis naming the step for a wrong secret and an
//! unreachable host.

mod support;

use support::{world, Kind, World, ALL, ASSET, SECRET, TABLE};
use twindrop_engine::doctor::{self, Report, SecretFrom, StepName, Subject, Verdict};
use twindrop_engine::Secret;

fn subject(w: &World, secret: &str) -> Subject {
    let secret = match w.kind {
        Kind::Hbr => format!("sandbox:{secret}"),
        _ => secret.to_owned(),
    };
    Subject {
        kind: w.service.kind(),
        base_url: w.service.base_url().to_owned(),
        secret: SecretFrom::Given(Secret::new(secret)),
        destination: match w.kind {
            Kind::Redivis => Some(TABLE.into()),
            Kind::Inspect => Some(ASSET.into()),
            _ => None,
        },
    }
}

fn verdicts(report: &Report) -> Vec<(StepName, Verdict)> {
    report.steps.iter().map(|s| (s.name, s.verdict)).collect()
}

fn step(report: &Report, name: StepName) -> &doctor::Step {
    report.steps.iter().find(|s| s.name == name).unwrap()
}

#[tokio::test]
async fn the_right_secret_passes_and_leaves_nothing_behind() {
    for kind in ALL {
        let w = world(kind, None).await;
        let report = doctor::check(subject(&w, SECRET)).await;
        // The keyring is the machine's: only asserted where the tests provide one.
        if std::env::var_os("TWINDROP_REQUIRE_KEYRING").is_some() {
            assert_eq!(step(&report, StepName::Keyring).verdict, Verdict::Pass, "{kind:?}: {report:#?}");
            assert!(report.passed(), "{kind:?}");
        }
        let (secret, trip) = match kind {
            // No published call proves an Inspect token, and every Inspect upload stays.
            Kind::Inspect => (Verdict::Warn, Verdict::Skip),
            _ => (Verdict::Pass, Verdict::Pass),
        };
        assert_eq!(
            verdicts(&report)[1..],
            [(StepName::Host, Verdict::Pass), (StepName::Secret, secret), (StepName::RoundTrip, trip)],
            "{kind:?}: {report:#?}"
        );
        assert!(step(&report, StepName::Host).millis.is_some());
        match kind {
            Kind::TrustedTwin => {
                assert_eq!(w.em.call_count("upload"), 1, "one byte went to an upload URL");
                assert_eq!(w.em.call_count("attach"), 0, "nothing was attached");
                assert_eq!(w.em.call_count("cache_delete"), 1, "the URL was revoked");
            }
            Kind::Redivis | Kind::Inspect => assert!(w.listing().await.is_empty(), "{kind:?}: a file was left"),
            Kind::Hbr => {}
        }
    }
}

#[tokio::test]
async fn a_wrong_secret_fails_at_the_secret_step_and_says_what_next() {
    for kind in ALL {
        let w = world(kind, None).await;
        let report = doctor::check(subject(&w, "not-the-secret")).await;
        let secret = step(&report, StepName::Secret);
        assert_eq!(secret.verdict, Verdict::Fail, "{kind:?}: {report:#?}");
        assert!(matches!(secret.code.as_deref(), Some("auth.unauthorized" | "auth.forbidden")), "{kind:?}: {secret:?}");
        assert!(secret.next.as_deref().is_some_and(|n| n.contains("secret")), "{kind:?}: {secret:?}");
        assert_eq!(step(&report, StepName::RoundTrip).verdict, Verdict::Skip);
        assert_eq!(step(&report, StepName::Host).verdict, Verdict::Pass);
        assert!(!report.passed());
        assert!(!format!("{report:?}").contains("not-the-secret"), "the secret is never shown");
    }
}

#[tokio::test]
async fn an_unreachable_host_fails_at_the_host_step() {
    let w = world(Kind::TrustedTwin, None).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let cases = [
        (format!("http://{closed}"), "network.refused", "the port in the base URL"),
        ("http://twindrop-doctor.invalid".to_owned(), "network.dns", "typo in the host name"),
    ];
    for (base_url, code, says) in cases {
        let report = doctor::check(Subject { base_url: base_url.clone(), ..subject(&w, SECRET) }).await;
        let host = step(&report, StepName::Host);
        assert_eq!((host.verdict, host.code.as_deref()), (Verdict::Fail, Some(code)), "{base_url}");
        assert!(host.next.as_deref().is_some_and(|next| next.contains(says)), "{host:?}");
        assert_eq!(
            verdicts(&report)[2..],
            [(StepName::Secret, Verdict::Skip), (StepName::RoundTrip, Verdict::Skip)],
            "{base_url}"
        );
    }
}
