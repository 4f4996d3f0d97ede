use super::*;
use std::collections::HashSet;

/// One error of every variant (and of every kind of `Invalid`).
fn one_of_each() -> Vec<Error> {
    let io = |kind| std::io::Error::from(kind);
    let mut all = vec![
        Error::file("/x", io(std::io::ErrorKind::NotFound)),
        Error::file("/x", io(std::io::ErrorKind::PermissionDenied)),
        Error::NotAFile { path: "/x".into() },
        Error::NotAFolder { path: "/x".into() },
        Error::FileChanged { path: "/x".into(), expected: 1, actual: 2 },
        Error::DocName { name: "a b".into(), reason: "space".into() },
        Error::Input("x".into()),
        Error::NoSession,
        Error::SandboxFailed("x".into()),
        Error::Unsupported("x".into()),
        Error::ServiceMismatch("x".into()),
        Error::NothingToUpload("x".into()),
        Error::AlreadyWatched("x".into()),
        Error::WatchFailed("x".into()),
        Error::RetryRefused("x".into()),
        Error::Setup("x".into()),
        Error::Unauthorized("x".into()),
        Error::Forbidden("x".into()),
        Error::TwinNotFound("x".into()),
        Error::NotFound("x".into()),
        Error::Rejected { status: 400, subcode: None, message: "x".into() },
        Error::RateLimited { message: "x".into(), retry_after: None },
        Error::Server { status: 500, message: "x".into(), retry_after: None },
        Error::BadResponse("x".into()),
        Error::Insecure("x".into()),
        Error::Unreachable { url: "x".into(), message: "x".into() },
        Error::Dns { url: "x".into(), message: "x".into() },
        Error::Refused { url: "x".into(), message: "x".into() },
        Error::Tls { url: "x".into(), message: "x".into() },
        Error::Timeout("x".into()),
        Error::UploadRejected { status: 400, message: "x".into() },
        Error::DocExists("x".into()),
        Error::NotUploaded("x".into()),
        Error::AttachRejected { name: "x".into(), message: "x".into() },
        Error::ChecksumMismatch { what: "x".into(), ours: "a".into(), theirs: "b".into() },
        Error::VerifyTimeout { name: "x".into(), seconds: 1 },
        Error::KeyringUnavailable("x".into()),
        Error::NoSecret("x".into()),
        Error::Keyring("x".into()),
        Error::ProfileNotFound("x".into()),
        Error::Journal("x".into()),
        Error::JournalLocked("x".into()),
        Error::JournalTooNew { path: "x".into(), found: 9, known: 2 },
        Error::Cancelled,
        Error::QueueStopped("x".into()),
        Error::Internal("x".into()),
        Error::Autostart("x".into()),
        Error::PathNotChosen { path: "/x".into() },
        Error::TooManyFiles { limit: 1 },
        Error::VerifyUnsupported { service: "HBR".into(), why: "no call reads a hash back".into() },
        Error::ReceiptTampered { path: "r.json".into(), found: "a".into(), says: "b".into() },
        Error::ReceiptInvalid { path: "r.json".into(), message: "not JSON".into() },
        Error::VerificationGone("x".into()),
        Error::FileExists { path: "a.txt".into() },
        Error::DownloadUnavailable { name: "a.txt".into(), why: "it is still being copied".into() },
        Error::DownloadRejected { status: 403, message: "AccessDenied: Request has expired".into() },
        Error::DownloadChecksumMismatch {
            name: "a.txt".into(),
            recorded: "a".into(),
            theirs: "b".into(),
            hint: String::new(),
        },
    ];
    all.extend(Invalid::ALL.iter().map(|&what| Error::invalid(what, "x")));
    all
}

#[test]
fn every_code_is_listed_once_and_made_by_some_error() {
    let listed: HashSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed.len(), Code::ALL.len(), "a code is listed twice");
    let made: HashSet<&str> = one_of_each().iter().map(Error::code).collect();
    for code in &made {
        assert!(listed.contains(code), "{code} is not in Code::ALL");
    }
    // Shown for a failed job the journal kept no code for; no error has it.
    let made_elsewhere = HashSet::from([Code::JobFailed.as_str()]);
    let unmade: Vec<_> = listed.difference(&made).filter(|c| !made_elsewhere.contains(*c)).collect();
    assert!(unmade.is_empty(), "listed but made by no error in one_of_each: {unmade:?}");
    for code in Code::ALL {
        let s = code.as_str();
        assert!(!code.meaning().is_empty() && !code.meaning().contains('\n'), "{s}");
        assert!(
            s.bytes().all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_') && !s.starts_with('.'),
            "{s}: codes are lower_snake parts joined by dots"
        );
    }
    let kinds: HashSet<Code> = Invalid::ALL.iter().map(|w| w.code()).collect();
    assert_eq!(kinds.len(), Invalid::ALL.len(), "two kinds of Invalid share a code");
    assert!(kinds.iter().all(|c| c.as_str().ends_with(".invalid")), "{kinds:?}");
}

#[test]
fn the_codes_that_were_there_keep_their_strings() {
    let before = [
        "file.not_found",
        "file.unreadable",
        "file.not_a_file",
        "file.changed",
        "doc_name.invalid",
        "input.invalid",
        "auth.unauthorized",
        "auth.forbidden",
        "twin.not_found",
        "not_found",
        "request.rejected",
        "server.rate_limited",
        "server.error",
        "server.bad_response",
        "network.insecure",
        "network.unreachable",
        "network.timeout",
        "upload.rejected",
        "attach.doc_exists",
        "attach.not_uploaded",
        "attach.rejected",
        "verify.checksum_mismatch",
        "verify.timeout",
        "keyring.unavailable",
        "keyring.no_secret",
        "keyring.failed",
        "profile.not_found",
        "journal.failed",
        "journal.locked",
        "job.cancelled",
        "queue.stopped",
        "internal.error",
        "autostart.failed",
        "path.not_chosen",
        "preview.too_many",
    ];
    let listed: HashSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    for code in before {
        assert!(listed.contains(code), "{code} was removed or renamed");
    }
}

#[test]
fn file_errors_split_on_kind() {
    let missing = Error::file("/x", std::io::Error::from(std::io::ErrorKind::NotFound));
    let denied = Error::file("/x", std::io::Error::from(std::io::ErrorKind::PermissionDenied));
    assert_eq!(missing.code(), "file.not_found");
    assert_eq!(denied.code(), "file.unreadable");
    assert!(missing.to_string().starts_with("/x: "));
}

#[test]
fn only_transient_failures_are_retryable() {
    assert!(Error::Server { status: 503, message: String::new(), retry_after: None }.retryable());
    assert!(!Error::Unauthorized(String::new()).retryable());
    assert!(!Error::DocExists("a".into()).retryable());
    let limited = Error::RateLimited { message: "slow down".into(), retry_after: Some(Duration::from_secs(2)) };
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(2)));
    let info = limited.info();
    assert_eq!((info.code.as_str(), info.retryable), ("server.rate_limited", true));
    assert_eq!(info.message, "the server is rate limiting requests (it asked to wait 2 s): slow down");
}

#[test]
fn an_absurd_wait_is_shown_as_asked() {
    let huge = Error::RateLimited { message: "x".into(), retry_after: Some(Duration::from_secs(u64::MAX)) };
    assert!(huge.to_string().contains("wait 18446744073709551615 s"), "{huge}");
    let odd = Error::Server { status: 503, message: "x".into(), retry_after: Some(Duration::from_millis(1500)) };
    assert!(odd.to_string().contains("wait 1.500 s"), "{odd}");
}

#[test]
fn messages_that_leave_the_engine_hold_no_upload_url() {
    let leaky = Error::BadResponse("answer for https://h/__presigned/f1?expires=1&sig=c0ffee".into());
    let info = leaky.info();
    assert!(!info.message.contains("c0ffee"), "{info:?}");
    assert_eq!(info.message, "unexpected answer from the server: answer for https://h/__presigned/f1?…");
}
