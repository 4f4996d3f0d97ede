//! A browser-style form upload (OSS PostObject, S3 POST): `multipart/form-data` with the
//! fields in the order given and the file as the LAST part, as the storage requires. The body
//! is streamed (fields, then the file from disk, then the closing boundary) with an exact
//! Content-Length, and the file is hashed on the way like any other upload (MD5 and CRC-64
//! too, the two checksums a store may answer with).

use std::path::Path;
use std::sync::Arc;

use super::{send_file, Answer, ProgressFn, Sent};
use crate::bandwidth::Limiter;
use crate::error::{Error, Invalid, Result};
use crate::hash::Also;

/// The file part.
#[derive(Debug, Clone, Copy)]
pub struct FilePart<'a> {
    /// The name the browser would send (`filename=`).
    pub file_name: &'a str,
    pub content_type: &'a str,
}

/// What the storage's success said about the object it stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// The `ETag`, unquoted: an MD5 in hex for most uploads, something else for some.
    pub etag: Option<String>,
    /// OSS's `x-oss-hash-crc64ecma`, as sent (a decimal CRC-64/XZ).
    pub crc64: Option<String>,
}

/// POST `fields` and then the file at `path` to `url`. Returns what was sent (with its MD5 and
/// CRC-64) and what the storage said it stored.
pub async fn post_file(
    http: &reqwest::Client,
    url: &str,
    fields: &[(&str, &str)],
    part: FilePart<'_>,
    path: &Path,
    progress: ProgressFn,
    limiter: Option<Arc<Limiter>>,
) -> Result<(Sent, Stored)> {
    let boundary = format!("twindrop-{}", uuid::Uuid::new_v4().simple());
    let (before, after) = envelope(&boundary, fields, part)?;
    let post =
        || http.post(url).header(reqwest::header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"));
    let also = Also { md5: true, crc64: true };
    let (sent, Answer { headers, body }) =
        send_file(post, url, path, progress, limiter, also, Some((before.into(), after.into()))).await?;
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.trim().trim_matches('"').to_owned());
    let stored = Stored { etag: header(reqwest::header::ETAG.as_str()), crc64: header("x-oss-hash-crc64ecma") };
    // Asked for `success_action_status` 200 or 204, OSS and S3 answer an empty document, with the
    // object's ETag (some S3 look-alikes leave the ETag out). Content without an ETag is no answer
    // a store gives, so it confirms nothing: the bytes may never have been stored.
    if stored.etag.is_none() && !body.trim().is_empty() {
        let shown: String = body.chars().take(80).collect();
        return Err(Error::BadResponse(format!(
            "{}: a success without an ETag but with a body: {shown:?}",
            crate::redact::redact_url(url)
        )));
    }
    Ok((sent, stored))
}

/// The bytes before the file's content (every field, then the file part's headers) and after
/// it (the closing boundary).
fn envelope(boundary: &str, fields: &[(&str, &str)], part: FilePart<'_>) -> Result<(Vec<u8>, Vec<u8>)> {
    // Quotes and line breaks cannot be escaped portably in a part header: refuse them.
    let plain = |s: &str| !s.contains(['"', '\r', '\n']);
    if !fields.iter().all(|(k, v)| plain(k) && !v.contains(['\r', '\n'])) || !plain(part.file_name) {
        return Err(Error::invalid(
            Invalid::Name,
            format!("{:?}: a form field or file name has quotes or line breaks", part.file_name),
        ));
    }
    let mut before = Vec::new();
    for (name, value) in fields {
        before.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    before.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            part.file_name, part.content_type
        )
        .as_bytes(),
    );
    Ok((before, format!("\r\n--{boundary}--\r\n").into_bytes()))
}

/// Where and how to POST one file, as `CreateTempFileUploadUrl` answers. Policy and signature
/// authorise the upload: never log them.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FormTarget {
    pub endpoint: String,
    pub bucket_name: String,
    pub temp_file_key: String,
    pub oss_access_key_id: String,
    pub policy: String,
    pub signature: String,
    /// Unix seconds.
    pub expire_time: i64,
}

impl std::fmt::Debug for FormTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormTarget").field("key", &self.temp_file_key).field("expire_time", &self.expire_time).finish()
    }
}

impl FormTarget {
    fn endpoint_is_url(&self) -> bool {
        self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")
    }

    /// Where the form goes. A real `Endpoint` is a host (`oss-cn-shenzhen.aliyuncs.com`) and the
    /// target is its virtual-hosted bucket, `https://{BucketName}.{Endpoint}/`; an `Endpoint`
    /// that is already a URL (our emulator's default answer) is the target itself. Alibaba's
    /// endpoints speak HTTPS only; a host on this machine (an emulator playing OSS under
    /// `.localhost`) gets plain HTTP, as nothing local has a certificate and the bytes never
    /// leave the machine.
    pub fn url(&self) -> String {
        if self.endpoint_is_url() {
            return self.endpoint.clone();
        }
        let host = format!("{}.{}", self.bucket_name, self.endpoint);
        let local = url::Url::parse(&format!("http://{host}/")).is_ok_and(|u| crate::loopback::on_this_machine(&u));
        format!("{}://{host}/", if local { "http" } else { "https" })
    }

    /// Refuses an answer whose `BucketName` or host `Endpoint` would send the form anywhere but
    /// the root of that bucket's host: a path, a query, a user in the authority, or a bucket
    /// name with a dot (then `{bucket}.{endpoint}` no longer says which part is the bucket).
    pub fn check(&self) -> Result<()> {
        let bad = |why: &str| Error::BadResponse(format!("CreateTempFileUploadUrl: {why}"));
        let url = url::Url::parse(&self.url()).map_err(|e| bad(&format!("the form target is no URL: {e}")))?;
        if self.endpoint_is_url() {
            return Ok(());
        }
        let label = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !label(&self.bucket_name) {
            return Err(bad(&format!("BucketName {:?} is not a bucket name", self.bucket_name)));
        }
        let (host, port) = self.endpoint.split_once(':').unwrap_or((&self.endpoint, "0"));
        let host_only = host.split('.').all(label) && port.bytes().all(|b| b.is_ascii_digit());
        if !host_only || url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
            return Err(bad(&format!("Endpoint {:?} is not a host name", self.endpoint)));
        }
        Ok(())
    }

    /// As the journal keeps it (the `form_target` column): the whole answer, since the form needs
    /// all of it. It holds a bearer credential (the policy signature) like any upload URL.
    pub fn to_journal(&self) -> String {
        serde_json::json!({
            "Endpoint": self.endpoint, "BucketName": self.bucket_name, "TempFileKey": self.temp_file_key,
            "OssAccessKeyId": self.oss_access_key_id, "Policy": self.policy, "Signature": self.signature,
            "ExpireTime": self.expire_time,
        })
        .to_string()
    }

    pub fn from_journal(s: &str) -> Option<Self> {
        serde_json::from_str(s).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_in_order_and_the_file_last() {
        let part = FilePart { file_name: "a b.txt", content_type: "text/plain" };
        let (before, after) = envelope("B", &[("key", "temp/x"), ("policy", "eyJ9")], part).unwrap();
        let before = String::from_utf8(before).unwrap();
        assert_eq!(
            before,
            "--B\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\ntemp/x\r\n\
             --B\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\neyJ9\r\n\
             --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\nContent-Type: text/plain\r\n\r\n"
        );
        assert_eq!(after, b"\r\n--B--\r\n");
        let bad = FilePart { file_name: "a\"b", content_type: "text/plain" };
        assert_eq!(envelope("B", &[], bad).unwrap_err().code(), "name.invalid");
    }
}
