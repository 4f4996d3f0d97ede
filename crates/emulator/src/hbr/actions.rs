//! The two HBR actions, behind one RPC endpoint (`POST /hbr/`), after the signature checked out:
//!
//! - `CreateTempFileUploadUrl` (query `FileName`, required: else 400 `MissingFileName`): 200
//!   `{"RequestId", "Success": true, "Code": "200", "Message": "successful", "Endpoint",
//!   "BucketName", "TempFileKey", "OssAccessKeyId", "Policy", "Signature", "ExpireTime"}` (spec
//!   §3.2). The policy (D-H3) is `{"expiration": <ExpireTime as ISO 8601 .000Z>, "conditions":
//!   [{"bucket": ...}, ["eq", "$key", TempFileKey], ["content-length-range", 0, max]]}`, valid
//!   3600 s, signed with the emulator's OSS secret.
//!   **Emulator convention**: a real `Endpoint` is a host (`oss-cn-shenzhen.aliyuncs.com`) and the
//!   form goes to `https://{BucketName}.{Endpoint}/`; when `Endpoint` starts with `http://` or
//!   `https://` it is the whole form target. The emulator answers `{base}/__oss/hbr-temp-bucket`
//!   (or `{base_url}/{bucket}` of `Config::hbr_form_target`), or with `Config::oss_endpoint` a
//!   bare host as Alibaba does, which the emulator serves virtual-hosted (`crate::oss`).
//! - `GetTempFileDownloadLink` (query `TempFileKey`, required: else 400 `MissingTempFileKey`): 200
//!   `{"Code": "200", "Message": "successful", "RequestId", "Success": true, "Url"}`, a signed GET
//!   URL of the object valid 3600 s (with a form target: a SigV2 presigned GET URL of the object
//!   there, `{base_url}/{bucket}/{key}?AWSAccessKeyId=..&Expires=..&Signature=..`, valid 3600 s by
//!   the real clock, which is the external server's).
//!
//! `x-acs-version` (or `Version`) must be `2017-09-08` (400 `InvalidVersion`); another action is
//! 400 `UnsupportedAction`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::HbrError;
use super::request_id;
use super::signature::{self, Signed};
use crate::app::App;
use crate::faults::Faults;
use crate::oss::BUCKET;
use crate::signing::{base64, query_value, PresignedUrl};

const VERSION: &str = "2017-09-08";

/// How long a policy and a download link are valid (D-H3 assumes an hour).
const VALIDITY: Duration = Duration::from_secs(3600);

pub(crate) async fn dispatch(
    State(app): State<Arc<App>>,
    Faults(faults): Faults,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, HbrError> {
    let signed = signature::verify(&app.hbr, app.clock.now(), &method, &uri, &headers, &body)?;
    if signed.version.as_deref() != Some(VERSION) {
        return Err(HbrError::bad_request(
            "InvalidVersion",
            format!("Specified parameter Version is not valid: this emulator speaks HBR {VERSION}."),
        ));
    }
    match signed.action.as_deref() {
        Some("CreateTempFileUploadUrl") => create_temp_file_upload_url(&app, faults.expire_now, &signed),
        Some("GetTempFileDownloadLink") => get_temp_file_download_link(&app, &signed),
        Some(other) => Err(HbrError::bad_request(
            "UnsupportedAction",
            format!("The action '{other}' is not supported by this emulator."),
        )),
        None => Err(HbrError::bad_request("MissingAction", "The action (x-acs-action) is mandatory.")),
    }
}

fn parameter<'a>(signed: &'a Signed, name: &str) -> Option<&'a str> {
    query_value(&signed.query, name).filter(|value| !value.is_empty())
}

fn create_temp_file_upload_url(app: &App, expire_now: bool, signed: &Signed) -> Result<Json<Value>, HbrError> {
    let file_name = parameter(signed, "FileName")
        .ok_or_else(|| HbrError::bad_request("MissingFileName", "FileName is mandatory for this action."))?;
    let now = app.clock.now();
    let expire_time = if expire_now { now.as_secs().saturating_sub(1) } else { now.plus(VALIDITY).as_secs() };
    let account = account_number(app.store.read(|state| state.account));
    let key = format!("temp/{account}/upload/{}/{}/{file_name}", now.date(), Uuid::new_v4());
    let (endpoint, bucket) = match (&app.hbr.form_target, &app.oss.endpoint) {
        (Some(target), _) => (format!("{}/{}", target.base_url, target.bucket), target.bucket.clone()),
        (None, Some(host)) => (host.clone(), BUCKET.to_owned()),
        (None, None) => (format!("{}/__oss/{BUCKET}", app.base_url), BUCKET.to_owned()),
    };
    let expiration = crate::clock::Timestamp::from_secs(expire_time).iso8601(true);
    // Written out by hand so the fields come in the documented order.
    let policy = format!(
        r#"{{"expiration":{},"conditions":[{{"bucket":{}}},["eq","$key",{}],["content-length-range",0,{}]]}}"#,
        Value::from(expiration),
        Value::from(bucket.as_str()),
        Value::from(key.as_str()),
        app.hbr.max_size
    );
    let policy = base64(policy.as_bytes());
    let signature = app.oss.sign_policy(&policy);
    tracing::info!(key, access_key_id = signed.access_key_id, "HBR: temp file upload URL");
    Ok(Json(json!({
        "RequestId": request_id(),
        "Success": true,
        "Code": "200",
        "Message": "successful",
        "Endpoint": endpoint,
        "BucketName": bucket,
        "TempFileKey": key,
        "OssAccessKeyId": app.oss.access_key.id,
        "Policy": policy,
        "Signature": signature,
        "ExpireTime": expire_time,
    })))
}

fn get_temp_file_download_link(app: &App, signed: &Signed) -> Result<Json<Value>, HbrError> {
    let key = parameter(signed, "TempFileKey")
        .ok_or_else(|| HbrError::bad_request("MissingTempFileKey", "TempFileKey is mandatory for this action."))?;
    let url = match &app.hbr.form_target {
        // moto refuses an anonymous GET but takes any signature; s3rver checks SigV2.
        Some(target) => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
            PresignedUrl {
                endpoint: &target.base_url,
                bucket: &target.bucket,
                key,
                access_key_param: "AWSAccessKeyId",
                access_key: &target.access_key,
                secret: &target.secret_key,
                method: "GET",
                content_type: "",
                expires: (now + VALIDITY).as_secs(),
            }
            .to_url()
        }
        None => app.oss.download_url(&app.base_url, key, app.clock.now().plus(VALIDITY).as_secs()),
    };
    Ok(Json(json!({
        "Code": "200",
        "Message": "successful",
        "RequestId": request_id(),
        "Success": true,
        "Url": url,
    })))
}

/// A 16-digit account number like Alibaba Cloud's, stable for the emulator's account.
fn account_number(account: Uuid) -> u64 {
    const LOW: u64 = 1_000_000_000_000_000;
    LOW + (account.as_u128() % u128::from(9 * LOW)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_numbers_have_16_digits() {
        for _ in 0..100 {
            assert_eq!(account_number(Uuid::new_v4()).to_string().len(), 16);
        }
        let account = Uuid::new_v4();
        assert_eq!(account_number(account), account_number(account));
    }
}
