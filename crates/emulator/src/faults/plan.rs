//! The fault plan: what to break, when, as JSON.
//!
//! The same JSON is read by `Emulator::set_faults` (through serde), the `--faults FILE` flag and
//! `PUT /_emulator/faults`. A plan is checked when it is deserialized, so a typo or a rule that
//! could never fire fails loudly instead of silently injecting nothing.
//!
//! ```json
//! {"seed": 7, "rules": [
//!   {"route": "attach", "nth": [1], "status": 503},
//!   {"route": "cache", "probability": 0.3, "status": 429, "retry_after": 1}
//! ]}
//! ```

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::hostile::{Hostile, DEFAULT_SLOWLORIS_MS};
use super::route::Route;

/// Which requests a rule looks at: one route, or every route (`"*"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RouteMatch {
    /// `"*"`
    #[default]
    Any,
    One(Route),
}

impl RouteMatch {
    pub(crate) fn matches(self, route: Route) -> bool {
        match self {
            RouteMatch::Any => true,
            RouteMatch::One(one) => one == route,
        }
    }

    fn allows(self, routes: &[Route]) -> bool {
        match self {
            RouteMatch::Any => true,
            RouteMatch::One(one) => routes.contains(&one),
        }
    }
}

impl fmt::Display for RouteMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteMatch::Any => f.write_str("*"),
            RouteMatch::One(route) => f.write_str(route.name()),
        }
    }
}

impl Serialize for RouteMatch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RouteMatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        if name == "*" {
            return Ok(RouteMatch::Any);
        }
        Route::from_name(&name).map(RouteMatch::One).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown route '{name}', expected '*' or one of: {}", Route::names()))
        })
    }
}

/// How an injected copy ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyOutcome {
    /// The Doc's status becomes `error` and it has no bytes, as when the real copy fails.
    Error,
}

/// How a faulted PostObject success describes the object (`oss.post`). Real OSS sends an MD5
/// `ETag` and `x-oss-hash-crc64ecma`; these are the answers a client must also take (or flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OssChecksums {
    /// The CRC-64 as usual, and an `ETag` that is no MD5 (a quoted uppercase UUID, as some OSS
    /// uploads have).
    EtagNotMd5,
    /// The MD5 `ETag` as usual, no `x-oss-hash-crc64ecma`.
    NoCrc,
    /// Neither: no `ETag`, no `x-oss-hash-crc64ecma` (as moto answers a form).
    NoChecksum,
}

/// One rule: a route, when it fires, and what it does then. Every field but `route` is optional;
/// a rule needs at least one effect.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    pub route: RouteMatch,

    // --- when (all given conditions must hold) ---
    /// Fire only on these calls of the route (1-based, counted since the plan was installed; for
    /// `"*"` all routes count together).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nth: Vec<u64>,
    /// Fire at most this many times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Fire with this probability (0..=1), drawn from the plan's seeded generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,

    // --- what ---
    /// Answer with this HTTP status instead of running the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Run the request (its change is kept), then answer with this status instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_then_status: Option<u16>,
    /// The Trusted Twin subcode of the injected error body (default: derived from the status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcode: Option<u32>,
    /// A `Retry-After` header (seconds) on the injected error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Wait this long before handling the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Read this many bytes of the request body (all of it if shorter), then reset the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_after_bytes: Option<u64>,
    /// `cache`: the new upload URL is already expired. `upload`: the URL expires now, before this
    /// PUT is looked at. `inspect.presigned`: the presigned URL is minted already expired.
    /// `hbr.create_url`: the policy is already expired (`ExpireTime` in the past).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expire_now: bool,
    /// `attach`: the copies started by this request take this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_ms: Option<u64>,
    /// `attach`: the copies started by this request end like this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_outcome: Option<CopyOutcome>,
    /// Send the response body at this rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_body_bytes_per_sec: Option<u64>,
    /// `redivis.chunk` on a session: the chunk's bytes are received and thrown away (nothing of it
    /// is committed), and the answer is 308 without a `Range` header.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_range: bool,
    /// `redivis.chunk` on a session: only the first half of the chunk, rounded down to a multiple
    /// of 256 KiB (possibly 0), is committed; the answer is 308 with the `Range` that ends there.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub short_commit: bool,
    /// `redivis.chunk` on a session: only the first N bytes of the chunk are committed (all of it
    /// when it is not longer), whatever N is: seed 002 reads `bytes=0-42` as 43 bytes held, so a
    /// server may stop at any byte. The answer is 308 with the `Range` that ends there (none if
    /// nothing is committed in total); even on the last chunk the upload is then not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_bytes: Option<u64>,
    /// `redivis.chunk` or `redivis.status` on a session: the session is gone from this request on
    /// (404 now and later), as if it had expired.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expire_session: bool,
    /// `upload`, `redivis.chunk`, `inspect.put`, `oss.post`: the request is read and answered as
    /// usual, but the bytes stored have their first byte flipped (XOR 0xFF), as if they were
    /// damaged between the client and storage. Every hash the emulator computes or reports for
    /// them (ETag, `md5Hash`, CRC-64, the SHA-256 an attach or a presigned PUT checks) is of the
    /// stored bytes. A 0-byte body has nothing to flip: no effect.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub corrupt: bool,
    /// `oss.post`: the request runs as usual (the object is stored), but the success carries
    /// other checksums (see [`OssChecksums`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oss_checksums: Option<OssChecksums>,
    /// Answer with something no honest server sends instead of running the request (see
    /// [`Hostile`]): `malformed_json`, `huge_body`, `redirect`, `slowloris` (any route) or
    /// `wrong_range` (`redivis.chunk` of a session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostile: Option<Hostile>,
    /// `hostile: slowloris`: the pause between two bytes of the body (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slowloris_ms: Option<u64>,
}

impl FaultRule {
    /// The pause between two bytes of a `slowloris` body.
    pub(crate) fn slowloris_every(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.slowloris_ms.unwrap_or(DEFAULT_SLOWLORIS_MS))
    }
}

/// The whole plan. `FaultPlan::default()` injects nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FaultPlan {
    /// Seeds the generator behind `probability`; the same seed and the same order of calls give
    /// the same faults.
    pub seed: u64,
    /// Looked at in order for every request. Every rule that matches fires; when two fired rules
    /// set the same effect, the earlier one wins.
    pub rules: Vec<FaultRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    rules: Vec<FaultRule>,
}

impl<'de> Deserialize<'de> for FaultPlan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawPlan::deserialize(deserializer)?;
        let plan = FaultPlan { seed: raw.seed, rules: raw.rules };
        plan.validate().map_err(serde::de::Error::custom)?;
        Ok(plan)
    }
}

/// The routes whose requests carry bytes the emulator stores: where `corrupt` applies.
const CORRUPTIBLE: [Route; 4] = [Route::Upload, Route::RedivisChunk, Route::InspectPut, Route::OssPost];

/// Why a plan was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultPlanError(pub String);

impl fmt::Display for FaultPlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FaultPlanError {}

/// Subcodes an injected error may carry: the official list (spec §4). The 0.4.x client raises
/// KeyError on anything else, so nothing else may go out.
const OFFICIAL_SUBCODES: [u32; 19] = [
    400_141, 400_314, 400_358, 400_415, 400_589, 400_592, 400_793, 400_897, 400_979, 401_000, 403_535, 404_653,
    500_000, 500_001, 500_159, 500_314, 501_159, 502_159, 503_159,
];

impl FaultPlan {
    /// Reads a plan from a JSON file (the `--faults FILE` flag).
    pub fn load(path: &Path) -> std::io::Result<FaultPlan> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes)
            .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {err}", path.display())))
    }

    /// Checks what serde cannot: ranges, and effects that make sense for the rule's route.
    pub fn validate(&self) -> Result<(), FaultPlanError> {
        for (index, rule) in self.rules.iter().enumerate() {
            rule.validate().map_err(|why| FaultPlanError(format!("rule {} ({}): {why}", index + 1, rule.route)))?;
        }
        Ok(())
    }
}

impl FaultRule {
    fn validate(&self) -> Result<(), String> {
        if self.nth.contains(&0) {
            return Err("nth counts from 1".into());
        }
        if let Some(p) = self.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("probability must be between 0 and 1, got {p}"));
            }
        }
        for (field, status) in [("status", self.status), ("commit_then_status", self.commit_then_status)] {
            if let Some(status) = status {
                if !(400..=599).contains(&status) {
                    return Err(format!("{field} must be an error status (400-599), got {status}"));
                }
            }
        }
        if self.status.is_some() && self.commit_then_status.is_some() {
            return Err("status and commit_then_status exclude each other".into());
        }
        let answered = self.status.or(self.commit_then_status);
        if let Some(subcode) = self.subcode {
            if !OFFICIAL_SUBCODES.contains(&subcode) {
                return Err(format!("subcode {subcode} is not in the official list"));
            }
            match answered {
                Some(status) if u32::from(status) == subcode / 1000 => {}
                Some(status) => return Err(format!("subcode {subcode} does not belong to status {status}")),
                None => return Err("subcode needs status or commit_then_status".into()),
            }
        }
        if self.retry_after.is_some() && answered.is_none() {
            return Err("retry_after needs status or commit_then_status".into());
        }
        if self.expire_now
            && !self.route.allows(&[Route::Cache, Route::Upload, Route::InspectPresigned, Route::HbrCreateUrl])
        {
            return Err("expire_now applies to the cache, upload, inspect.presigned and hbr.create_url routes".into());
        }
        if (self.copy_ms.is_some() || self.copy_outcome.is_some()) && !self.route.allows(&[Route::Attach]) {
            return Err("copy_ms and copy_outcome apply to the attach route".into());
        }
        if (self.no_range || self.short_commit || self.commit_bytes.is_some())
            && !self.route.allows(&[Route::RedivisChunk])
        {
            return Err("no_range, short_commit and commit_bytes apply to the redivis.chunk route".into());
        }
        if self.expire_session && !self.route.allows(&[Route::RedivisChunk, Route::RedivisStatus]) {
            return Err("expire_session applies to the redivis.chunk and redivis.status routes".into());
        }
        if self.corrupt && !self.route.allows(&CORRUPTIBLE) {
            return Err("corrupt applies to the upload, redivis.chunk, inspect.put and oss.post routes".into());
        }
        if self.oss_checksums.is_some() && !self.route.allows(&[Route::OssPost]) {
            return Err("oss_checksums applies to the oss.post route".into());
        }
        let session_faults = [self.no_range, self.short_commit, self.commit_bytes.is_some(), self.expire_session];
        if session_faults.into_iter().filter(|&on| on).count() > 1 {
            return Err("no_range, short_commit, commit_bytes and expire_session exclude each other".into());
        }
        if self.hostile.is_some() && (answered.is_some() || self.reset_after_bytes.is_some()) {
            return Err("hostile excludes status, commit_then_status and reset_after_bytes".into());
        }
        if self.hostile == Some(Hostile::WrongRange) && !self.route.allows(&[Route::RedivisChunk]) {
            return Err("hostile wrong_range applies to the redivis.chunk route".into());
        }
        if self.slowloris_ms.is_some() && self.hostile != Some(Hostile::Slowloris) {
            return Err("slowloris_ms needs hostile slowloris".into());
        }
        if self.slowloris_ms == Some(0) {
            return Err("slowloris_ms must be at least 1".into());
        }
        if self.slow_body_bytes_per_sec == Some(0) {
            return Err("slow_body_bytes_per_sec must be at least 1".into());
        }
        let has_effect = answered.is_some()
            || self.latency_ms.is_some()
            || self.reset_after_bytes.is_some()
            || self.expire_now
            || self.copy_ms.is_some()
            || self.copy_outcome.is_some()
            || self.slow_body_bytes_per_sec.is_some()
            || self.no_range
            || self.short_commit
            || self.commit_bytes.is_some()
            || self.expire_session
            || self.corrupt
            || self.oss_checksums.is_some()
            || self.hostile.is_some();
        if !has_effect {
            return Err("the rule has no effect".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<FaultPlan, String> {
        serde_json::from_value(value).map_err(|err| err.to_string())
    }

    #[test]
    fn the_documented_example_parses() {
        let plan = parse(json!({"seed": 7, "rules": [
            {"route": "attach", "nth": [1], "status": 503},
            {"route": "cache", "probability": 0.3, "status": 429, "retry_after": 1},
            {"route": "upload", "times": 1, "reset_after_bytes": 100000},
            {"route": "attach", "times": 1, "commit_then_status": 500},
            {"route": "get_doc", "latency_ms": 200},
            {"route": "cache", "times": 1, "expire_now": true},
            {"route": "attach", "copy_ms": 5000},
            {"route": "attach", "copy_outcome": "error"},
            {"route": "list_docs", "slow_body_bytes_per_sec": 2000},
            {"route": "*", "nth": [3], "status": 500, "subcode": 500000},
            {"route": "redivis.chunk", "nth": [2], "no_range": true},
            {"route": "redivis.chunk", "probability": 0.5, "short_commit": true},
            {"route": "redivis.status", "times": 1, "expire_session": true},
            {"route": "redivis.chunk", "nth": [4], "status": 503},
            {"route": "redivis.chunk", "times": 1, "reset_after_bytes": 300000},
            {"route": "inspect.presigned", "times": 1, "expire_now": true},
            {"route": "hbr.create_url", "nth": [1], "expire_now": true},
            {"route": "oss.post", "nth": [1], "status": 503},
            {"route": "upload", "nth": [1], "corrupt": true},
            {"route": "attach", "nth": [1], "hostile": "malformed_json"},
            {"route": "cache", "times": 1, "hostile": "huge_body"},
            {"route": "*", "probability": 0.1, "hostile": "redirect"},
            {"route": "inspect.complete", "nth": [2], "hostile": "slowloris", "slowloris_ms": 250},
            {"route": "redivis.chunk", "nth": [2], "hostile": "wrong_range"},
            {"route": "redivis.chunk", "nth": [1], "corrupt": true},
            {"route": "inspect.put", "nth": [1], "corrupt": true},
            {"route": "oss.post", "nth": [1], "corrupt": true}
        ]}))
        .unwrap();
        assert_eq!(plan.seed, 7);
        assert_eq!(plan.rules.len(), 27);
        assert!(plan.rules[26].corrupt);
        assert_eq!(plan.rules[19].hostile, Some(Hostile::MalformedJson));
        assert_eq!(plan.rules[22].slowloris_every(), std::time::Duration::from_millis(250));
        assert_eq!(plan.rules[20].slowloris_every(), std::time::Duration::from_secs(1), "the default");
        assert_eq!(plan.rules[23].hostile, Some(Hostile::WrongRange));
        assert_eq!(plan.rules[10].route, RouteMatch::One(Route::RedivisChunk));
        assert_eq!(plan.rules[0].route, RouteMatch::One(Route::Attach));
        assert_eq!(plan.rules[9].route, RouteMatch::Any);
        // Round trip: what GET /_emulator/faults shows can be PUT back.
        let again: FaultPlan = serde_json::from_value(serde_json::to_value(&plan).unwrap()).unwrap();
        assert_eq!(again, plan);
    }

    #[test]
    fn oss_checksums_apply_to_oss_post_only() {
        let plan = parse(json!({"rules": [
            {"route": "oss.post", "nth": [1], "oss_checksums": "etag_not_md5"},
            {"route": "oss.post", "nth": [2], "oss_checksums": "no_crc"},
            {"route": "*", "nth": [3], "oss_checksums": "no_checksum"}
        ]}))
        .unwrap();
        assert_eq!(plan.rules[1].oss_checksums, Some(OssChecksums::NoCrc));
        let again: FaultPlan = serde_json::from_value(serde_json::to_value(&plan).unwrap()).unwrap();
        assert_eq!(again, plan);
        let err = parse(json!({"rules": [{"route": "oss.get", "oss_checksums": "no_crc"}]})).unwrap_err();
        assert!(err.contains("oss_checksums applies"), "{err}");
        let err = parse(json!({"rules": [{"route": "oss.post", "oss_checksums": "none"}]})).unwrap_err();
        assert!(err.contains("unknown variant"), "{err}");
    }

    #[test]
    fn an_empty_object_is_the_empty_plan() {
        assert_eq!(parse(json!({})).unwrap(), FaultPlan::default());
    }

    #[test]
    fn mistakes_are_refused_with_a_reason() {
        for (value, why) in [
            (json!({"rules": [{"route": "atach", "status": 500}]}), "unknown route"),
            (json!({"rules": [{"route": "attach", "staus": 500}]}), "unknown field"),
            (json!({"rules": [{"route": "attach"}]}), "no effect"),
            (json!({"rules": [{"route": "attach", "status": 200}]}), "error status"),
            (json!({"rules": [{"route": "attach", "nth": [0], "status": 500}]}), "from 1"),
            (json!({"rules": [{"route": "attach", "probability": 1.5, "status": 500}]}), "between 0 and 1"),
            (json!({"rules": [{"route": "attach", "status": 500, "subcode": 500123}]}), "official"),
            (json!({"rules": [{"route": "attach", "status": 503, "subcode": 500000}]}), "does not belong"),
            (json!({"rules": [{"route": "attach", "retry_after": 1, "latency_ms": 1}]}), "retry_after needs"),
            (json!({"rules": [{"route": "get_doc", "expire_now": true}]}), "expire_now"),
            (json!({"rules": [{"route": "oss.post", "expire_now": true}]}), "expire_now"),
            (json!({"rules": [{"route": "cache", "copy_ms": 5}]}), "copy_ms"),
            (json!({"rules": [{"route": "attach", "status": 500, "commit_then_status": 500}]}), "exclude"),
            (json!({"seed": 1, "rulez": []}), "unknown field"),
            (json!({"rules": [{"route": "redivis.status", "no_range": true}]}), "no_range, short_commit"),
            (json!({"rules": [{"route": "upload", "short_commit": true}]}), "no_range, short_commit"),
            (json!({"rules": [{"route": "redivis.status", "commit_bytes": 1}]}), "apply to the redivis.chunk"),
            (json!({"rules": [{"route": "redivis.chunk", "commit_bytes": 1, "short_commit": true}]}), "exclude"),
            (json!({"rules": [{"route": "redivis.initiate", "expire_session": true}]}), "expire_session applies"),
            (json!({"rules": [{"route": "redivis.chunk", "no_range": true, "short_commit": true}]}), "exclude"),
            (json!({"rules": [{"route": "attach", "corrupt": true}]}), "corrupt applies"),
            (json!({"rules": [{"route": "redivis.status", "corrupt": true}]}), "corrupt applies"),
            (json!({"rules": [{"route": "oss.get", "corrupt": true}]}), "corrupt applies"),
            (json!({"rules": [{"route": "download", "corrupt": true}]}), "corrupt applies"),
            (json!({"rules": [{"route": "attach", "hostile": "rude"}]}), "unknown variant"),
            (json!({"rules": [{"route": "upload", "hostile": "wrong_range"}]}), "wrong_range applies"),
            (json!({"rules": [{"route": "attach", "hostile": "redirect", "status": 500}]}), "hostile excludes"),
            (
                json!({"rules": [{"route": "upload", "hostile": "huge_body", "reset_after_bytes": 1}]}),
                "hostile excludes",
            ),
            (
                json!({"rules": [{"route": "cache", "hostile": "redirect", "slowloris_ms": 5}]}),
                "needs hostile slowloris",
            ),
            (json!({"rules": [{"route": "cache", "slowloris_ms": 5}]}), "needs hostile slowloris"),
            (json!({"rules": [{"route": "cache", "hostile": "slowloris", "slowloris_ms": 0}]}), "at least 1"),
        ] {
            let err = parse(value.clone()).unwrap_err();
            assert!(err.contains(why), "{value}: {err}");
        }
    }
}
