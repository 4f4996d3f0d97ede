//! How an emulator is set up: [`Config`], and the users file behind `--users`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::faults::FaultPlan;

/// The largest single PUT S3 accepts (5 GiB), the default upload size limit.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// The largest file Inspect hands out a presigned URL for by default (5 GiB, decision D-S5).
pub const DEFAULT_INSPECT_MAX_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// The upper bound of the `content-length-range` in the policies HBR signs by default (100 MiB,
/// decision D-H3).
pub const DEFAULT_OSS_MAX_SIZE: u64 = 100 * 1024 * 1024;

/// How the emulator behaves. Build it with [`Config::new`], then set fields or chain the
/// `with_*` setters.
#[derive(Clone)]
pub struct Config {
    /// Each one is accepted as the raw value of the `Authorization` header (no "Bearer").
    /// Every secret is a user of the emulator's single account, allowed every operation.
    pub secrets: Vec<String>,
    /// More users of the same account, each allowed only some operations (403/403535 otherwise).
    pub users: Vec<UserSpec>,
    /// Where Twins, Docs, handlers and uploaded bytes are kept across restarts. `None` keeps the
    /// model in memory; uploaded bytes then still go to a private temporary directory, never RAM.
    pub state_dir: Option<PathBuf>,
    /// How long a freshly attached Doc stays `copying`.
    pub copy_delay: Duration,
    /// A PUT to an upload URL declaring more bytes than this is refused with S3's
    /// `EntityTooLarge`.
    pub max_upload_bytes: u64,
    /// What an attach makes of a handler whose PUT carried no bytes (see [`EmptyUploads`]).
    pub empty_uploads: EmptyUploads,
    /// The faults to inject from the start (changeable later with `Emulator::set_faults`).
    pub faults: FaultPlan,
    /// The value of the `X-Emulator-Control` header the control endpoints (`/_emulator/...`)
    /// require. `None` draws a random one at start (`Emulator::control_token`).
    pub control_token: Option<String>,
    /// Redivis API calls allowed per 100 s (all users together) before 429 with `Retry-After`.
    /// `None` (the default) never refuses.
    pub redivis_rate_limit: Option<u32>,
    /// Where Redivis temp uploads send their bytes. `None` (the default): the emulator's own data
    /// plane, `/__tempUploads/...`.
    pub redivis_data_plane: Option<RedivisDataPlane>,
    /// How a Redivis session answers a chunk it took in full: as GCS (the default) or as seed
    /// 002 words it.
    pub redivis_chunk_answers: ChunkAnswers,
    /// Inspect refuses to hand out a presigned URL for a larger `size` (400).
    pub inspect_max_size: u64,
    /// Where Inspect's presigned URLs point. `None` (the default): the emulator's own
    /// `/__presigned/{id}`.
    pub inspect_data_plane: Option<InspectDataPlane>,
    /// The upper bound of `content-length-range` in the OSS policies HBR hands out.
    pub oss_max_size: u64,
    /// The OSS AccessKeyId and secret that sign HBR's policies and that PostObject accepts.
    /// `None`: a random pair per emulator (kept in the state directory, if there is one).
    pub oss_access_key: Option<AccessKey>,
    /// HBR AccessKeyIds pinned to a secret. Any other AccessKeyId is accepted with any of the
    /// emulator's secrets.
    pub hbr_access_keys: Vec<AccessKey>,
    /// Where HBR's form target points. `None` (the default): the emulator's own OSS,
    /// `/__oss/hbr-temp-bucket`.
    pub hbr_form_target: Option<HbrFormTarget>,
    /// A host name for the emulator's own OSS, as real OSS has (`oss-cn-shenzhen.aliyuncs.com`):
    /// HBR then answers it as a bare `Endpoint`, and a request whose `Host` is
    /// `{bucket}.{oss_endpoint}` (any port) is OSS's, for that bucket. `None` (the default): the
    /// `Endpoint` is the full URL `{base}/__oss/hbr-temp-bucket`. Excludes `hbr_form_target`.
    pub oss_endpoint: Option<String>,
}

/// Seed 004 says an upload URL that got "a PUT request … [without] a file" answers attach with
/// "No Doc uploaded through the upload URL". On the wire a PUT without a file is a PUT of 0
/// bytes, but S3 stores a 0-byte object, so the service may as well attach an empty Doc. The
/// seed does not settle it (`docs/fidelity.md`), so both readings are offered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EmptyUploads {
    /// A 0-byte PUT is a valid empty upload; only a handler never PUT to is "No Doc uploaded".
    #[default]
    Accept,
    /// A 0-byte PUT counts as no upload: attach answers "No Doc uploaded" for it.
    NoDoc,
}

impl std::str::FromStr for EmptyUploads {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "accept" => Ok(EmptyUploads::Accept),
            "no-doc" => Ok(EmptyUploads::NoDoc),
            _ => Err(format!("{s:?}: expected accept or no-doc")),
        }
    }
}

/// An external S3-compatible server that receives the bytes of Inspect uploads through SigV2
/// presigned PUT URLs (s3rver checks their signature, expiry and Content-Type); Complete then
/// reads the object there (`inspect/<file id>` in `bucket`) to check its size and SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct InspectDataPlane {
    /// E.g. `http://127.0.0.1:4568` (a trailing slash is ignored).
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

/// An external server with an S3 browser-form POST (moto, s3rver) that HBR's form target points
/// at, path style: the answer's `Endpoint` is `{base_url}/{bucket}`, and `GetTempFileDownloadLink`
/// answers a SigV2 presigned GET URL of the object there, signed with `access_key`/`secret_key`
/// (s3rver checks it, moto only wants one to be there; both default to s3rver's `S3RVER`).
#[derive(Clone, PartialEq, Eq)]
pub struct HbrFormTarget {
    /// E.g. `http://127.0.0.1:5000` (a trailing slash is ignored).
    pub base_url: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

impl fmt::Debug for HbrFormTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HbrFormTarget")
            .field("base_url", &self.base_url)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field("secret_key", &"redacted")
            .finish()
    }
}

/// An access key id with its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
}

/// How a Redivis resumable session answers a chunk it committed in full. Status queries, chunks
/// committed in part or not at all (the `short_commit`, `commit_bytes` and `no_range` faults) and
/// errors are answered the same way in both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChunkAnswers {
    /// As GCS: 308 with `Range: bytes=0-E` before the last byte, 201 with the completion JSON
    /// for the chunk that completes the upload.
    #[default]
    Gcs,
    /// As seed 002: "Upon successfully transferring a chunk, the response body will be empty
    /// with a status of 200", the chunk that completes the upload included. A client learns the
    /// committed offset by asking (`bytes */N`), and the completion JSON from a status query.
    Seed,
}

/// An external GCS-compatible server (e.g. gcp-storage-emulator) that receives the bytes of
/// Redivis temp uploads instead of the emulator: every temp upload is then resumable, its URL
/// starts a GCS resumable upload of the object `redivis/<id>` in `bucket`, and `rawFiles` reads
/// that object's metadata to check it is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedivisDataPlane {
    /// E.g. `http://127.0.0.1:9023` (a trailing slash is ignored).
    pub base_url: String,
    pub bucket: String,
}

impl Config {
    /// One secret, no state directory, a 300 ms copy delay, the S3 size limit, no faults.
    pub fn new(secret: impl Into<String>) -> Self {
        Config {
            secrets: vec![secret.into()],
            users: Vec::new(),
            state_dir: None,
            copy_delay: Duration::from_millis(300),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            empty_uploads: EmptyUploads::default(),
            faults: FaultPlan::default(),
            control_token: None,
            redivis_rate_limit: None,
            redivis_data_plane: None,
            redivis_chunk_answers: ChunkAnswers::Gcs,
            inspect_max_size: DEFAULT_INSPECT_MAX_SIZE,
            inspect_data_plane: None,
            oss_max_size: DEFAULT_OSS_MAX_SIZE,
            oss_access_key: None,
            hbr_access_keys: Vec::new(),
            hbr_form_target: None,
            oss_endpoint: None,
        }
    }

    /// Adds a secret allowed every operation.
    pub fn with_secret(mut self, secret: impl Into<String>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Adds a user with its own set of allowed operations.
    pub fn with_user(mut self, user: UserSpec) -> Self {
        self.users.push(user);
        self
    }

    pub fn with_state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    pub fn with_copy_delay(mut self, delay: Duration) -> Self {
        self.copy_delay = delay;
        self
    }

    pub fn with_max_upload_bytes(mut self, bytes: u64) -> Self {
        self.max_upload_bytes = bytes;
        self
    }

    pub fn with_empty_uploads(mut self, empty: EmptyUploads) -> Self {
        self.empty_uploads = empty;
        self
    }

    pub fn with_faults(mut self, plan: FaultPlan) -> Self {
        self.faults = plan;
        self
    }

    pub fn with_control_token(mut self, token: impl Into<String>) -> Self {
        self.control_token = Some(token.into());
        self
    }

    /// Allows `requests` Redivis API calls per 100 s, then answers 429 with `Retry-After`.
    pub fn redivis_rate_limit(mut self, requests: u32) -> Self {
        self.redivis_rate_limit = Some(requests);
        self
    }

    /// Sends the bytes of Redivis temp uploads to an external GCS-compatible server (see
    /// [`RedivisDataPlane`]).
    pub fn redivis_data_plane(mut self, base_url: impl Into<String>, bucket: impl Into<String>) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        self.redivis_data_plane = Some(RedivisDataPlane { base_url, bucket: bucket.into() });
        self
    }

    /// How Redivis sessions answer the chunks they take (see [`ChunkAnswers`]).
    pub fn redivis_chunk_answers(mut self, answers: ChunkAnswers) -> Self {
        self.redivis_chunk_answers = answers;
        self
    }

    /// The largest `size` Inspect accepts (default 5 GiB).
    pub fn inspect_max_size(mut self, bytes: u64) -> Self {
        self.inspect_max_size = bytes;
        self
    }

    /// Mints Inspect's presigned URLs as SigV2 URLs of an external S3 server such as s3rver (whose
    /// credentials are always `S3RVER`/`S3RVER`); see [`InspectDataPlane`].
    pub fn inspect_data_plane(
        mut self,
        endpoint: impl Into<String>,
        bucket: impl Into<String>,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.inspect_data_plane = Some(InspectDataPlane {
            endpoint: endpoint.into().trim_end_matches('/').to_owned(),
            bucket: bucket.into(),
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        });
        self
    }

    /// The upper bound of `content-length-range` in HBR's policies (default 100 MiB).
    pub fn oss_max_size(mut self, bytes: u64) -> Self {
        self.oss_max_size = bytes;
        self
    }

    /// Uses this OSS AccessKeyId and secret instead of a random pair.
    pub fn oss_access_key(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.oss_access_key = Some(AccessKey { id: id.into(), secret: secret.into() });
        self
    }

    /// Pins an HBR AccessKeyId to a secret: requests signed with that id must use it.
    pub fn hbr_access_key(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.hbr_access_keys.push(AccessKey { id: id.into(), secret: secret.into() });
        self
    }

    /// Gives the emulator's OSS a host name, virtual-hosted as the real one (see
    /// [`Config::oss_endpoint`](Config#structfield.oss_endpoint)). Name it under `.localhost`
    /// (`oss-cn-emulator.localhost`): clients take a name there for this machine, and a test
    /// client pins `{bucket}.{name}` to the emulator's address.
    pub fn oss_endpoint(mut self, host: impl Into<String>) -> Self {
        self.oss_endpoint = Some(host.into().trim_end_matches('.').to_ascii_lowercase());
        self
    }

    /// Points HBR's form target at an external server's bucket, path style (see
    /// [`HbrFormTarget`]); its download links are signed with s3rver's `S3RVER`/`S3RVER` (set the
    /// fields to change that).
    pub fn hbr_form_target(mut self, base_url: impl Into<String>, bucket: impl Into<String>) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        self.hbr_form_target = Some(HbrFormTarget {
            base_url,
            bucket: bucket.into(),
            access_key: "S3RVER".into(),
            secret_key: "S3RVER".into(),
        });
        self
    }
}

impl fmt::Debug for InspectDataPlane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InspectDataPlane")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field("secret_key", &"redacted")
            .finish()
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey").field("id", &self.id).field("secret", &"redacted").finish()
    }
}

// Hand-written so that a `{:?}` in a log line can never print a secret or the control token.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("secrets", &format_args!("[{} redacted]", self.secrets.len()))
            .field("users", &self.users)
            .field("state_dir", &self.state_dir)
            .field("copy_delay", &self.copy_delay)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("empty_uploads", &self.empty_uploads)
            .field("faults", &self.faults)
            .field("control_token", &self.control_token.as_ref().map(|_| "redacted"))
            .field("redivis_rate_limit", &self.redivis_rate_limit)
            .field("redivis_data_plane", &self.redivis_data_plane)
            .field("redivis_chunk_answers", &self.redivis_chunk_answers)
            .field("inspect_max_size", &self.inspect_max_size)
            .field("inspect_data_plane", &self.inspect_data_plane)
            .field("oss_max_size", &self.oss_max_size)
            .field("oss_access_key", &self.oss_access_key)
            .field("hbr_access_keys", &self.hbr_access_keys)
            .field("hbr_form_target", &self.hbr_form_target)
            .field("oss_endpoint", &self.oss_endpoint)
            .finish()
    }
}

/// A user of the emulator's account, as the users file lists it:
///
/// ```json
/// {"users": [
///   {"name": "reader", "secret": "r3ad", "allow": ["who_am_i", "get_twin", "get_twin_doc", "get_twin_docs"]},
///   {"name": "no-delete", "secret": "n0del", "deny": ["delete_twin_doc", "delete_twin_docs"]}
/// ]}
/// ```
///
/// `allow` absent means every operation; `deny` is taken away from that. Operation names are the
/// ones of Trusted Twin role statements (see `docs/emulator.md`).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// Only for the log and the reader of the file.
    #[serde(default)]
    pub name: Option<String>,
    pub secret: String,
    #[serde(default)]
    pub allow: Option<Vec<String>>,
    #[serde(default)]
    pub deny: Vec<String>,
}

impl UserSpec {
    /// A user allowed exactly `operations`.
    pub fn allowed(secret: impl Into<String>, operations: &[&str]) -> Self {
        UserSpec {
            name: None,
            secret: secret.into(),
            allow: Some(operations.iter().map(|op| op.to_string()).collect()),
            deny: Vec::new(),
        }
    }

    /// Reads the `{"users": [...]}` file of `--users`.
    pub fn load(path: &Path) -> std::io::Result<Vec<UserSpec>> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct UsersFile {
            users: Vec<UserSpec>,
        }
        let bytes = std::fs::read(path)?;
        let file: UsersFile = serde_json::from_slice(&bytes).map_err(|err| {
            // serde_json's messages name fields and positions, never values, so no secret leaks.
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {err}", path.display()))
        })?;
        Ok(file.users)
    }
}

impl fmt::Debug for UserSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserSpec")
            .field("name", &self.name)
            .field("secret", &"redacted")
            .field("allow", &self.allow)
            .field("deny", &self.deny)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let config = Config::new("top-secret")
            .with_user(UserSpec::allowed("also-secret", &["who_am_i"]))
            .with_control_token("tok3n")
            .inspect_data_plane("http://s3", "b", "AK", "s3-secret")
            .oss_access_key("OSSID", "oss-secret")
            .hbr_access_key("HBRID", "hbr-secret");
        let shown = format!("{config:?}");
        assert!(!shown.contains("top-secret") && !shown.contains("also-secret") && !shown.contains("tok3n"));
        for secret in ["s3-secret", "oss-secret", "hbr-secret"] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
        assert!(shown.contains("OSSID") && shown.contains("HBRID"));
        assert!(shown.contains("who_am_i"));
    }

    #[test]
    fn users_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        std::fs::write(
            &path,
            r#"{"users": [{"name": "reader", "secret": "r", "allow": ["get_twin"]}, {"secret": "w", "deny": ["delete_twin_doc"]}]}"#,
        )
        .unwrap();
        let users = UserSpec::load(&path).unwrap();
        assert_eq!(users[0].allow.as_deref(), Some(&["get_twin".to_owned()][..]));
        assert_eq!(users[1].deny, ["delete_twin_doc"]);
        std::fs::write(&path, r#"{"users": [{"secret": "s", "alow": []}]}"#).unwrap();
        assert!(UserSpec::load(&path).is_err(), "a typo is an error");
    }
}
