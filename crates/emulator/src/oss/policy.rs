//! The PostObject policy (spec §4.2) and the signatures OSS checks (§4.3).
//!
//! A policy is base64 of a JSON object with `expiration` (ISO 8601 in UTC, with or without
//! milliseconds) and `conditions`, each one of:
//!
//! - `{"field": "value"}`: exact match (exactly one property, else the documented
//!   "Simple-Conditions must have exactly one property specified.");
//! - `["eq", "$field", "value"]`, `["starts-with", "$field", "prefix"]`;
//! - `["in", "$field", [...]]`, `["not-in", "$field", [...]]` (the value must be a list);
//! - `["content-length-range", min, max]` (integers, min ≤ max).
//!
//! Field names are case-insensitive; values are case-sensitive; `\$` in a value is a literal `$`.
//! A policy that breaks these rules is `InvalidPolicyDocument` (400); a form it does not allow is
//! `AccessDenied` "Invalid according to Policy: ..." (403). Only the listed conditions are checked
//! (D-O3, lenient): a form may carry fields no condition names.

use serde_json::Value;

use crate::clock::Timestamp;
use crate::signing::{base64, base64_decode, base64_hmac_sha1_verifies, hmac_sha1, sigv2, sigv2_string_to_sign};

/// `Signature = base64(HMAC-SHA1(secret, <the policy field exactly as sent>))`.
pub(crate) fn sign(secret: &str, policy_b64: &str) -> String {
    base64(hmac_sha1(secret.as_bytes(), policy_b64.as_bytes()))
}

/// The V1 signature of a query-authenticated OSS URL:
/// `base64(HMAC-SHA1(secret, "{METHOD}\n\n\n{Expires}\n/{bucket}/{key}"))`.
pub(crate) fn sign_url(secret: &str, method: &str, expires: u64, bucket: &str, key: &str) -> String {
    sigv2(secret, method, "", expires, bucket, key)
}

/// Whether `signature` is [`sign`]'s for this policy (compared in constant time).
pub(crate) fn verifies(secret: &str, policy_b64: &str, signature: &str) -> bool {
    base64_hmac_sha1_verifies(secret.as_bytes(), policy_b64.as_bytes(), signature)
}

/// Whether `signature` is [`sign_url`]'s for this request (compared in constant time).
pub(crate) fn url_verifies(secret: &str, method: &str, expires: u64, bucket: &str, key: &str, signature: &str) -> bool {
    let string_to_sign = sigv2_string_to_sign(method, "", expires, bucket, key);
    base64_hmac_sha1_verifies(secret.as_bytes(), string_to_sign.as_bytes(), signature)
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Policy {
    pub(crate) expiration: Timestamp,
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
enum Rule {
    Eq(String),
    StartsWith(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    LengthRange(u64, u64),
}

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    /// Lowercase, without `$`; empty for `content-length-range`.
    field: String,
    rule: Rule,
    /// As written in the policy, for the error message.
    text: String,
}

/// Why a policy was refused: the message of `InvalidPolicyDocument`.
pub(crate) type Invalid = String;

impl Policy {
    pub(crate) fn parse(policy_b64: &str) -> Result<Policy, Invalid> {
        let bytes = base64_decode(policy_b64.trim()).ok_or("Invalid Policy: Invalid Base64 Encoding.")?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| "Invalid Policy: Invalid JSON.".to_owned())?;
        let object = value.as_object().ok_or("Invalid Policy: The policy must be a JSON object.")?;
        let expiration = match object.get("expiration") {
            None => return Err("Invalid Policy: Policy missing expiration.".into()),
            Some(Value::String(text)) => Timestamp::parse_iso8601(text)
                .ok_or_else(|| format!("Invalid Policy: Invalid 'expiration' value: '{text}'."))?,
            Some(other) => return Err(format!("Invalid Policy: Invalid 'expiration' value: {other}.")),
        };
        let conditions = match object.get("conditions") {
            None => return Err("Invalid Policy: Policy missing conditions.".into()),
            Some(Value::Array(items)) => items.iter().map(Condition::parse).collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err("Invalid Policy: 'conditions' must be a list.".into()),
        };
        Ok(Policy { expiration, conditions })
    }

    /// The tightest `content-length-range` of the policy, if it has one.
    pub(crate) fn length_range(&self) -> Option<(u64, u64)> {
        self.conditions.iter().fold(None, |range, condition| match condition.rule {
            Rule::LengthRange(min, max) => {
                let (low, high) = range.unwrap_or((0, u64::MAX));
                Some((low.max(min), high.min(max)))
            }
            _ => range,
        })
    }

    /// Checks every condition but the length range against the form (`field` gives a field's
    /// value by lowercase name). On failure: the `AccessDenied` message.
    pub(crate) fn allows(&self, field: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        for condition in &self.conditions {
            let value = field(&condition.field).unwrap_or_default();
            let ok = match &condition.rule {
                Rule::Eq(expected) => value == *expected,
                Rule::StartsWith(prefix) => value.starts_with(prefix.as_str()),
                Rule::In(values) => values.contains(&value),
                Rule::NotIn(values) => !values.contains(&value),
                Rule::LengthRange(..) => true,
            };
            if !ok {
                return Err(format!("Invalid according to Policy: Policy Condition failed: {}", condition.text));
            }
        }
        Ok(())
    }
}

impl Condition {
    fn parse(item: &Value) -> Result<Condition, Invalid> {
        let text = item.to_string();
        match item {
            Value::Object(map) => {
                let mut entries = map.iter();
                let (Some((name, value)), None) = (entries.next(), entries.next()) else {
                    return Err("Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one \
                                property specified."
                        .into());
                };
                let value = scalar(value).ok_or_else(|| {
                    format!("Invalid Policy: Invalid Simple-Condition: the value of '{name}' must be a string.")
                })?;
                let field = name.trim_start_matches('$').to_ascii_lowercase();
                Ok(Condition { field, rule: Rule::Eq(unescape(&value)), text })
            }
            Value::Array(parts) => {
                let operator = parts.first().and_then(Value::as_str).map(str::to_ascii_lowercase);
                let operator = operator.ok_or_else(|| format!("Invalid Policy: Invalid Condition: {text}."))?;
                if parts.len() != 3 {
                    return Err(format!(
                        "Invalid Policy: Invalid '{operator}' condition: {text} must have 3 elements."
                    ));
                }
                if operator == "content-length-range" {
                    let (Some(min), Some(max)) = (parts[1].as_u64(), parts[2].as_u64()) else {
                        return Err(format!(
                            "Invalid Policy: Invalid 'content-length-range' condition: {text}: the bounds must be \
                             non-negative integers."
                        ));
                    };
                    if min > max {
                        return Err(format!(
                            "Invalid Policy: Invalid 'content-length-range' condition: {text}: min is above max."
                        ));
                    }
                    return Ok(Condition { field: String::new(), rule: Rule::LengthRange(min, max), text });
                }
                let field = parts[1]
                    .as_str()
                    .and_then(|name| name.strip_prefix('$'))
                    .filter(|name| !name.is_empty())
                    .ok_or_else(|| {
                        format!("Invalid Policy: Invalid '{operator}' condition: {text}: the field must be '$name'.")
                    })?
                    .to_ascii_lowercase();
                let list = || -> Result<Vec<String>, Invalid> {
                    let items = parts[2].as_array().ok_or_else(|| {
                        format!("Invalid Policy: Invalid '{operator}' condition: {text}: the value must be a list.")
                    })?;
                    items
                        .iter()
                        .map(|item| scalar(item).map(|value| unescape(&value)))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| format!("Invalid Policy: Invalid '{operator}' condition: {text}."))
                };
                let single = || {
                    scalar(&parts[2])
                        .map(|value| unescape(&value))
                        .ok_or_else(|| format!("Invalid Policy: Invalid '{operator}' condition: {text}."))
                };
                let rule = match operator.as_str() {
                    "eq" => Rule::Eq(single()?),
                    "starts-with" => Rule::StartsWith(single()?),
                    "in" => Rule::In(list()?),
                    "not-in" => Rule::NotIn(list()?),
                    _ => return Err(format!("Invalid Policy: Invalid Condition: unknown operator '{operator}'.")),
                };
                Ok(Condition { field, rule, text })
            }
            _ => Err(format!("Invalid Policy: Invalid Condition: {text}.")),
        }
    }
}

/// A condition value: a string, or a number written as one (`{"success_action_status": 201}`).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// `\$` is a literal `$`.
fn unescape(value: &str) -> String {
    value.replace("\\$", "$")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of spec §4.3.
    const VECTOR_JSON: &str = r#"{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{"bucket":"hbr-temp-bucket"},["eq","$key","temp/1/upload/2022-07-29/u/file-list.txt"],["content-length-range",0,104857600]]}"#;
    const VECTOR_B64: &str = "eyJleHBpcmF0aW9uIjoiMjAzMC0wMS0wMVQwMDowMDowMC4wMDBaIiwiY29uZGl0aW9ucyI6W3siYnVja2V0IjoiaGJyLXRlbXAtYnVja2V0In0sWyJlcSIsIiRrZXkiLCJ0ZW1wLzEvdXBsb2FkLzIwMjItMDctMjkvdS9maWxlLWxpc3QudHh0Il0sWyJjb250ZW50LWxlbmd0aC1yYW5nZSIsMCwxMDQ4NTc2MDBdXX0=";

    fn b64(json: &str) -> String {
        base64(json.as_bytes())
    }

    #[test]
    fn the_spec_test_vector_signs_as_documented() {
        assert_eq!(b64(VECTOR_JSON), VECTOR_B64);
        assert_eq!(sign("test-secret", VECTOR_B64), "3KCL5Lj3+Ma1Gs24KZICqTldV5c=");
        let policy = Policy::parse(VECTOR_B64).unwrap();
        assert_eq!(policy.expiration, Timestamp::from_secs(1_893_456_000));
        assert_eq!(policy.length_range(), Some((0, 104_857_600)));
    }

    fn form<'a>(fields: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn conditions_are_checked() {
        let policy = Policy::parse(&b64(
            r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$Key","temp/"],
               ["in","$content-type",["image/png","image/jpeg"]],["not-in","$cache-control",["no-cache"]],
               {"success_action_status":201},["eq","$x-oss-meta-a","\\$1"]]}"#,
        ))
        .unwrap();
        let good = [
            ("bucket", "b"),
            ("key", "temp/a"),
            ("content-type", "image/png"),
            ("success_action_status", "201"),
            ("x-oss-meta-a", "$1"),
        ];
        assert_eq!(policy.allows(form(&good)), Ok(()));
        assert_eq!(policy.length_range(), None);
        for bad in [("bucket", "c"), ("key", "x/a"), ("content-type", "text/plain"), ("x-oss-meta-a", "\\$1")] {
            let mut fields = good.to_vec();
            fields.retain(|(k, _)| *k != bad.0);
            fields.push(bad);
            let err = policy.allows(form(&fields)).unwrap_err();
            assert!(err.starts_with("Invalid according to Policy: Policy Condition failed: "), "{err}");
        }
        let mut fields = good.to_vec();
        fields.push(("cache-control", "no-cache"));
        assert!(policy.allows(form(&fields)).is_err());
    }

    #[test]
    fn badly_formed_policies_are_refused() {
        for (policy, why) in [
            ("not base64!".to_owned(), "Base64"),
            (b64("not json"), "JSON"),
            (b64(r#"{"conditions":[]}"#), "missing expiration"),
            (b64(r#"{"expiration":"2030-01-01T00:00:00Z"}"#), "missing conditions"),
            (b64(r#"{"expiration":"tomorrow","conditions":[]}"#), "expiration"),
            (b64(r#"{"expiration":"2030-02-31T00:00:00.000Z","conditions":[]}"#), "'2030-02-31T00:00:00.000Z'"),
            (b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{"a":"1","b":"2"}]}"#), "exactly one property"),
            (b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["not-in","$a","x"]]}"#), "must be a list"),
            (b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range","0",5]]}"#), "integers"),
            (b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",9,5]]}"#), "above max"),
            (b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["like","$a","x"]]}"#), "unknown operator"),
            (b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","a","x"]]}"#), "'$name'"),
            (b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","$a"]]}"#), "3 elements"),
        ] {
            let err = Policy::parse(&policy).unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        }
    }

    #[test]
    fn url_signatures_follow_the_v1_scheme() {
        // The inputs of the OSS documentation's example (secret, GET /oss-example/oss-api.pdf,
        // Expires 1141889120); the value was checked independently with Python's hmac module.
        let signature =
            sign_url("OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV", "GET", 1141889120, "oss-example", "oss-api.pdf");
        assert_eq!(signature, "EwaNTn1erJGkimiJ9WmXgwnANLc=");
    }
}
