//! The engine's HTTP: one client setup for every service and transfer (no redirects, connect
//! and read timeouts, plain HTTP only to this machine), bounded reading of answers, a
//! server's Retry-After read without trusting it, and transport and status errors mapped to
//! engine errors with any URL in them redacted. Below `service` and `transfer`, which both use it.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::error::{Error, Invalid, Result};
use crate::redact::{redact_text, redact_url};

/// Secrets, signed URLs and the bytes themselves never cross a network in clear: plain HTTP is
/// for this machine only (the sandbox, local test servers).
pub(crate) fn require_tls_off_loopback(url: &url::Url) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if crate::loopback::on_this_machine(url) => Ok(()),
        _ => Err(Error::Insecure(crate::redact::redact_url(url.as_str()))),
    }
}

/// The HTTP client settings every service shares. Redirects are not followed: no API here
/// uses them, and following one could carry a request (and its credentials) to another host.
/// Proxies are ours, not reqwest's: its own reading of the environment is off (`.proxy` turns
/// it off), and each request asks the process's [`crate::proxy::route`] instead, which reads
/// the same variables in `system` mode, the prefs otherwise, and never proxies this machine.
pub(crate) fn http_builder(read_timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::custom(|url| crate::proxy::route().proxy_for(url)))
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(read_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("twindrop/", env!("CARGO_PKG_VERSION")))
}

/// A client with the settings every service uses (no redirects, connect and read timeouts),
/// for transfers that belong to no service (`twindrop push`).
pub fn http_client() -> Result<reqwest::Client> {
    http_builder(Duration::from_secs(120)).build().map_err(|e| Error::Setup(format!("HTTP client: {e}")))
}

/// The longest an API call may take by default, answer included: a server that drips its answer
/// a byte at a time (slowloris) is given up on, as one that stops altogether is by the read
/// timeout. Each client's `with_timeout` changes it (tests use seconds).
pub const API_TIMEOUT: Duration = Duration::from_secs(180);

/// The most an API answer may hold. A larger one is broken or hostile, and is not read into
/// memory.
pub(crate) const ANSWER_LIMIT: usize = 32 << 20;

/// Read an answer's body, at most `limit` bytes; more is `server.bad_response`.
pub(crate) async fn read_body(mut response: reqwest::Response, limit: usize, shown: &str) -> Result<String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| network_error(shown.to_owned(), e))? {
        if body.len() + chunk.len() > limit {
            return Err(Error::BadResponse(format!("{shown}: an answer larger than {} KiB", limit >> 10)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Two clients for a bearer-token API: one that sends `Authorization: Bearer <token>` on every
/// request (the API, and upload URLs on its own origin), one that never does (storage anywhere
/// else must never see the token).
pub(crate) fn bearer_clients(
    token: &crate::credentials::Secret,
    read_timeout: Duration,
) -> Result<(reqwest::Client, reqwest::Client)> {
    use reqwest::header::{HeaderValue, AUTHORIZATION};
    let mut bearer = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| Error::invalid(Invalid::Secret, "the token has characters a header cannot carry"))?;
    bearer.set_sensitive(true);
    let http_error = |e: reqwest::Error| Error::Setup(format!("HTTP client: {e}"));
    let api = http_builder(read_timeout)
        .default_headers(HeaderMap::from_iter([(AUTHORIZATION, bearer)]))
        .build()
        .map_err(http_error)?;
    Ok((api, http_builder(read_timeout).build().map_err(http_error)?))
}

/// A server's `Retry-After`, bounded: RFC 9110 delta-seconds (digits; more than a `u64` holds
/// reads as `u64::MAX` seconds, as RFC 9111 says to read a delta too large to represent), a
/// decimal number of seconds (some APIs send one; too large saturates the same way), or an
/// HTTP-date (one in the past is no wait). Anything else (`NaN`, `inf`, a negative number,
/// garbage) is no Retry-After at all. Never panics: whatever the server sends, the policy then
/// decides (`RetryPolicy::delay`: a wait longer than `max_retry_after` fails the item).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get("retry-after")?.to_str().ok()?, std::time::SystemTime::now())
}

/// [`retry_after`] at the instant `now`.
pub(crate) fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    let longest = Duration::from_secs(u64::MAX);
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value.parse::<u64>().map_or(longest, Duration::from_secs));
    }
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit() || b".eE+".contains(&b)) {
        let seconds = value.parse::<f64>().ok()?;
        return Some(Duration::try_from_secs_f64(seconds).unwrap_or(longest));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The engine error for an API's refusal, by HTTP status. No API here redirects, and redirects
/// are not followed (`http_builder`): one is a server misbehaving, not a refusal of ours.
/// The detail comes from the server's body, so any URL in it is redacted.
pub(crate) fn status_error(status: StatusCode, detail: String, retry_after: Option<Duration>) -> Error {
    let detail = crate::redact::redact_text(&detail);
    match status.as_u16() {
        300..=399 => Error::BadResponse(format!("{detail} (a redirect, not followed)")),
        401 => Error::Unauthorized(detail),
        403 => Error::Forbidden(detail),
        404 => Error::NotFound(detail),
        429 => Error::RateLimited { message: detail, retry_after },
        s if s >= 500 => Error::Server { status: s, message: detail, retry_after },
        s => Error::Rejected { status: s, subcode: None, message: detail },
    }
}

/// Map a transport failure. `url` is redacted here, and reqwest's own text loses its URL
/// (`without_url`): it names the whole URL it was sending to, signature and token included.
/// Each cause has its own code, so the person is told what to look at: the name (DNS), the
/// server or its port (refused), the certificate (TLS), or the network (the rest).
pub(crate) fn network_error(url: String, e: reqwest::Error) -> Error {
    let url = redact_url(&url);
    if e.is_timeout() {
        return Error::Timeout(url);
    }
    let e = e.without_url();
    let mut message = e.to_string();
    let mut cause = Cause::Other;
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        cause = cause.or(Cause::of(s));
        source = s.source();
    }
    let message = redact_text(&message);
    if is_tls_failure(&message) {
        return Error::Tls { url, message };
    }
    match cause.or(Cause::from_text(&message)) {
        Cause::Dns => Error::Dns { url, message },
        Cause::Refused => Error::Refused { url, message },
        Cause::Other => Error::Unreachable { url, message },
    }
}

/// Why a connection failed, as far as its error chain says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// The host name did not resolve.
    Dns,
    /// The address answered that nothing listens there.
    Refused,
    Other,
}

impl Cause {
    /// The first precise cause found wins.
    fn or(self, other: Cause) -> Cause {
        match self {
            Cause::Other => other,
            known => known,
        }
    }

    /// One link of the chain: the socket's `io::Error` says "refused" by its kind; hyper-util
    /// says "dns error" for a failed lookup (its `ConnectError` is not a type we can name).
    fn of(link: &(dyn std::error::Error + 'static)) -> Cause {
        if let Some(io) = link.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return Cause::Refused;
            }
        }
        match link.to_string().as_str() {
            "dns error" => Cause::Dns,
            _ => Cause::Other,
        }
    }

    /// From the whole chain's text, for links that are neither (a proxy's own words).
    fn from_text(chain: &str) -> Cause {
        let lower = chain.to_ascii_lowercase();
        if ["dns error", "failed to lookup address", "name or service not known", "no such host"]
            .iter()
            .any(|needle| lower.contains(needle))
        {
            Cause::Dns
        } else if lower.contains("connection refused") {
            Cause::Refused
        } else {
            Cause::Other
        }
    }
}

/// Whether a connection error's chain is the TLS layer's (OpenSSL through native-tls): its
/// handshake or certificate checks. Read from the text because native-tls's error type is not
/// one reqwest lets us name.
fn is_tls_failure(chain: &str) -> bool {
    let lower = chain.to_ascii_lowercase();
    ["certificate", "ssl routines", "tls handshake", "handshake failure", "wrong version number"]
        .iter()
        .any(|needle| lower.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn retry_after_takes_both_forms_and_bounds_what_it_reads() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let read = |v: &str| parse_retry_after(v, now);
        assert_eq!(read(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(read("1.5"), Some(Duration::from_millis(1500)));
        let longest = Some(Duration::from_secs(u64::MAX));
        for absurd in ["18446744073709551615", "18446744073709551616", "99999999999999999999999", "1e400", "1e300"] {
            assert_eq!(read(absurd), longest, "{absurd}");
        }
        for garbage in ["NaN", "inf", "-inf", "infinity", "-5", "", "soon", "1e-3", "."] {
            assert_eq!(read(garbage), None, "{garbage:?}");
        }
        let ahead = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(read(&ahead), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(read(&past), Some(Duration::ZERO), "a date in the past is no wait");
        assert_eq!(read("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
    }

    #[test]
    fn refusals_from_a_server_hold_no_upload_url() {
        let body = "denied for http://127.0.0.1:9/upload/0f3c5d1e2a4b47c8a9e0b1c2d3e4f5a6 (try again)";
        let e = status_error(StatusCode::FORBIDDEN, body.into(), None);
        assert_eq!(e.to_string(), "not allowed: denied for http://127.0.0.1:9/upload/… (try again)");
    }

    #[test]
    fn a_chain_names_its_cause_by_kind_or_by_the_resolvers_words() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(Cause::of(&refused), Cause::Refused);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(Cause::of(&reset), Cause::Other);
        assert_eq!(Cause::from_text("client error (Connect): dns error: failed to lookup address"), Cause::Dns);
        assert_eq!(Cause::from_text("tcp connect error: Connection refused (os error 111)"), Cause::Refused);
        assert_eq!(Cause::from_text("tcp connect error: No route to host (os error 113)"), Cause::Other);
        assert_eq!(Cause::Dns.or(Cause::Refused), Cause::Dns);
        assert_eq!(Cause::Other.or(Cause::Refused), Cause::Refused);
    }
}
