use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use twindrop_emulator::{Config, Emulator};
use twindrop_engine::journal::{JobState, Journal};
use twindrop_engine::logging::Level;
use twindrop_engine::queue::{EventSink, Options, RunMode};
use twindrop_engine::retry::RetryPolicy;
use twindrop_engine::service::{Destination, ServiceKind};
use twindrop_engine::{Queue, Secret};

use super::*;

const SECRET: &str = "app-log-secret-5d1e0b";

#[test]
fn flags_win_then_twindrop_log_then_the_apps_default() {
    assert_eq!(filter(Some(Level::Debug), Some("trace")), "debug");
    assert_eq!(filter(Some(Level::Quiet), None), "off");
    assert_eq!(filter(None, Some("twindrop_engine=trace")), "twindrop_engine=trace");
    assert_eq!(filter(None, Some("  ")), Level::Verbose.directives());
    assert_eq!(filter(None, None), Level::Verbose.directives());
}

/// Everything the log folder holds, as text.
fn read_logs(dir: &Path) -> (usize, String) {
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let text = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect::<Vec<_>>().join("\n");
    (files.len(), text)
}

/// An engine upload through a presigned URL (Inspect's `?...&sig=`), its connection cut, with
/// every log on at trace level into the app's log files: the file says what happened and
/// where, and holds neither the API token nor the URL's signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_file_holds_no_secret_or_upload_credential() {
    let home = tempfile::tempdir().unwrap();
    let logs = home.path().join("logs");
    let (subscriber, trouble) = subscriber(&Level::Trace.directives(), Some(&logs));
    assert_eq!(trouble, None);
    // As `init` does (the `log` crate's records too: reqwest's). The only test of this binary
    // that sets the process's subscriber: the queue's workers run on other threads, which a
    // thread-local subscriber would not hear.
    tracing_subscriber::util::SubscriberInitExt::try_init(subscriber).expect("no other global subscriber");

    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let cut = serde_json::json!({"rules": [{"route": "inspect.put", "reset_after_bytes": 0}]});
    em.set_faults(serde_json::from_value(cut).unwrap());
    let service = ServiceKind::Inspect.connect(em.base_url(), Secret::new(SECRET)).unwrap();
    let asset = Destination::parse_for(&service, "3fa85f64-5717-4562-b3fc-2c963f66afa6").unwrap();
    let journal = Arc::new(Journal::open(&home.path().join("journal.sqlite")).unwrap());
    let retry = RetryPolicy {
        max_attempts: 2,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    let queue = Queue::new(service, journal.clone(), Options { retry, ..Options::default() });
    let file = home.path().join("cut.bin");
    std::fs::write(&file, vec![7u8; 300_000]).unwrap();
    let sink: EventSink = Arc::new(|_| {});
    let ids = queue.enqueue(asset, std::slice::from_ref(&file), &sink).await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), queue.run(sink, RunMode::UntilIdle)).await.unwrap().unwrap();
    let job = journal.get(ids[0]).unwrap();
    assert_eq!((job.state, job.error_code.as_deref()), (JobState::Failed, Some("network.unreachable")));

    let (count, text) = read_logs(&logs);
    assert_eq!(count, 1, "one file a day");
    // The logs are on and tell the story, host and all...
    assert!(text.contains("TRACE") && text.contains("DEBUG"), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    assert!(!text.contains("\u{1b}["), "no colour codes in a file");
    // ...but never the token, nor the signature that makes the URL a credential.
    assert!(!text.contains(SECRET), "the API token is in the log");
    // A signature: `sig=` and 8 or more characters of its alphabet (a redacted one is shorter).
    let signed = text.match_indices("sig=").find(|(at, _)| {
        let value = &text[at + 4..];
        value.chars().take_while(|c| c.is_ascii_alphanumeric() || "%_.~-".contains(*c)).count() >= 8
    });
    assert!(signed.is_none(), "a URL signature is in the log: {:?}", signed.map(|(at, _)| &text[at..]));
}

#[test]
fn an_unwritable_log_folder_leaves_stderr() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("not-a-folder");
    std::fs::write(&file, b"").unwrap();
    let (_, trouble) = subscriber("error", Some(&file.join("logs")));
    assert!(trouble.is_some_and(|t| t.contains("not-a-folder")));
}
