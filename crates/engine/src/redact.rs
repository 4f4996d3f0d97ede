//! The one place that decides what of a URL may be shown. Upload URLs are bearer credentials:
//! Inspect's and S3/OSS-style ones carry a signature in their query, a GCS session URI its
//! `upload_id`, and Trusted Twin's (`/upload/<token>`) and Redivis's (`/__tempUploads/<id>`,
//! `.../session/<id>`) a random token in their path. Whoever holds one can write there, so no
//! error message, event, journal row, log line or trace may hold one whole.
//!
//! What is kept: the scheme, the host and port, and every path segment that does not look like
//! a token, so a message still says which server and which kind of call failed. What goes: user
//! info (`…@`), the query (`?…`), the fragment (`#…`), and any path segment of at least
//! [`TOKEN_LEN`] characters from the token alphabet (letters, digits, `-_~%+=`) that holds a
//! digit: a hex or base64 id, a UUID, a signature. Words (`tempUploads`, `hbr-temp-bucket`),
//! names with a dot (`demo.sandbox%3Av1.files`, `report.pdf`) and short ids stay.

/// Shortest path segment taken for a token. The emulator's and the services' tokens are 32 hex
/// digits or longer; a UUID is 36.
pub const TOKEN_LEN: usize = 16;

/// `url` with its credential parts replaced by `…` (see the module docs). Not a URL parser: it
/// also takes what a server sent broken, and never fails.
pub fn redact_url(url: &str) -> String {
    let (url, fragment) = match url.split_once('#') {
        Some((u, _)) => (u, "#…"),
        None => (url, ""),
    };
    let (url, query) = match url.split_once('?') {
        Some((u, _)) => (u, "?…"),
        None => (url, ""),
    };
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let (authority, path) = match (scheme.is_empty(), rest.find('/')) {
        (true, _) => ("", rest),
        (false, Some(i)) => rest.split_at(i),
        (false, None) => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("…@{host}"),
        None => authority.to_owned(),
    };
    let path: Vec<&str> = path.split('/').map(|s| if token_like(s) { "…" } else { s }).collect();
    format!("{scheme}{authority}{}{query}{fragment}", path.join("/"))
}

fn token_like(segment: &str) -> bool {
    segment.len() >= TOKEN_LEN
        && segment.bytes().any(|b| b.is_ascii_digit())
        && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_~%+=".contains(&b))
}

/// Free text with every URL in it redacted by [`redact_url`]: absolute http(s) URLs, and bare
/// paths that carry a query (`/bucket/key?Signature=…`, as storage error bodies echo them).
/// Text without either comes back unchanged.
pub fn redact_text(text: &str) -> String {
    if !text.contains("://") && !text.contains('?') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = url_start(rest) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(ends_url).unwrap_or(tail.len());
        let (url, after) = trailing_punctuation(&tail[..end]);
        out.push_str(&redact_url(url));
        out.push_str(after);
        rest = &tail[end..];
    }
    out.push_str(rest);
    if !out.contains('?') {
        return out;
    }
    // Bare paths: a word that starts with `/` (after any opening bracket or quote) and has a query.
    out.split_inclusive(char::is_whitespace)
        .map(|word| {
            let body = word.trim_start_matches(['(', '[', '{', '"', '\'', '<', '`']);
            match (body.starts_with('/'), word.find('?')) {
                (true, Some(q)) if word[q..].contains('=') => {
                    let (_, after) = trailing_punctuation(word.trim_end());
                    format!("{}?…{after}{}", &word[..q], &word[word.trim_end().len()..])
                }
                _ => word.to_owned(),
            }
        })
        .collect()
}

/// Where the next `http://` or `https://` (any case) begins.
fn url_start(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    [lower.find("http://"), lower.find("https://")].into_iter().flatten().min()
}

/// What ends a URL inside text. Brackets do not: a signature may hold them, and cutting there
/// would leave its rest in view. They come off the end instead (`trailing_punctuation`).
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

/// Splits closing brackets and sentence punctuation off the end of a URL found in text.
fn trailing_punctuation(url: &str) -> (&str, &str) {
    let kept = url.trim_end_matches([')', ']', '}', '.', ',', ';', ':', '!']);
    (kept, &url[kept.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_upload_url_shape_loses_its_credential() {
        let cases = [
            // Trusted Twin (the emulator's upload URL: a 32-hex token in the path).
            ("http://127.0.0.1:4000/upload/0f3c5d1e2a4b47c8a9e0b1c2d3e4f5a6", "http://127.0.0.1:4000/upload/…"),
            // Redivis: the temp upload, and a session on it.
            ("http://127.0.0.1:4000/__tempUploads/9f1c2e7a0b3d4c5e8f9a0b1c2d3e4f5a", "http://127.0.0.1:4000/__tempUploads/…"),
            (
                "http://127.0.0.1:4000/__tempUploads/9f1c2e7a0b3d4c5e8f9a0b1c2d3e4f5a/session/aa11bb22cc33dd44ee55ff6677889900",
                "http://127.0.0.1:4000/__tempUploads/…/session/…",
            ),
            // Redivis on real GCS: the session id is in the query.
            (
                "https://storage.googleapis.com/upload/storage/v1/b/bkt/o?uploadType=resumable&upload_id=ADPycdt",
                "https://storage.googleapis.com/upload/storage/v1/b/bkt/o?…",
            ),
            // Inspect (the emulator's presigned URL) and S3 SigV2.
            ("http://127.0.0.1:4000/__presigned/f1?expires=100&sig=deadbeef", "http://127.0.0.1:4000/__presigned/f1?…"),
            (
                "https://s3.example.com/bucket/inspect/3fa85f64-5717-4562-b3fc-2c963f66afa6?AWSAccessKeyId=AK&Signature=x%2By",
                "https://s3.example.com/bucket/inspect/…?…",
            ),
            // HBR's form target has nothing secret: it stays whole.
            ("http://127.0.0.1:4000/__oss/hbr-temp-bucket", "http://127.0.0.1:4000/__oss/hbr-temp-bucket"),
            // User info and fragments.
            ("https://user:pa55word@h.example/x#frag", "https://…@h.example/x#…"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn words_and_short_ids_stay() {
        for url in ["https://api.redivis.com/api/v1/tables/demo.sandbox%3Av1.files/tempUploads", "http://h/upload/1"] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn urls_inside_text_are_redacted_and_the_rest_stays() {
        let reqwest = "error sending request for url (http://127.0.0.1:9/upload/0f3c5d1e2a4b47c8a9e0b1c2d3e4f5a6): \
                       connection reset";
        assert_eq!(
            redact_text(reqwest),
            "error sending request for url (http://127.0.0.1:9/upload/…): connection reset"
        );
        let s3 = "AccessDenied: PUT /bucket/key?Signature=abc%2Bdef&Expires=1 refused.";
        assert_eq!(redact_text(s3), "AccessDenied: PUT /bucket/key?… refused.");
        let quoted = "see \"HTTPS://h/p?sig=(x)y\", then";
        assert_eq!(redact_text(quoted), "see \"HTTPS://h/p?…\", then");
        let two = "https://a/?s=1 and http://b/c?t=2.";
        assert_eq!(redact_text(two), "https://a/?… and http://b/c?….");
    }

    #[test]
    fn text_without_urls_passes_unchanged() {
        for text in [
            "",
            "the server is rate limiting requests: slow down",
            "/home/me/report 2026.pdf: No such file or directory (os error 2)",
            "what? a question: is it /a/b?",
            "invalid Doc name \"a/b?c\": bad character",
            "Ünïcödé ✓ 0f3c5d1e2a4b47c8a9e0b1c2d3e4f5a6",
        ] {
            assert_eq!(redact_text(text), text);
        }
    }
}
