//! Validation rules for names and descriptions, reproduced as the server applies them.
//!
//! The real server is most likely Python, so its regexes run with `re.match` semantics. Two
//! consequences matter and are reproduced here on top of the Rust `regex` crate:
//!
//! - The published `doc_name` regex has an **unescaped** `.` before the extension, so any single
//!   character except `\n` may separate the last 1–8 alphanumerics (`a b` is a valid name,
//!   `archive.tar.gz` is not). This falls out of using the pattern verbatim.
//! - Python's `$` (without MULTILINE) also matches just before **one** trailing `\n`, so
//!   `"file.txt\n"` is accepted. The Rust crate's `$` only matches at the very end, so
//!   [`PyMatch`] retries without a single trailing newline. That is exact for these patterns
//!   because none of them can consume a `\n` itself (`.` and the classes exclude it).
//!
//! Both readings of "the same" regex agree on everything else: the patterns are anchored at both
//! ends, so the backtracking (Python) and automaton (Rust) engines accept the same set of strings.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `doc_name` regex exactly as the docs publish it (spec §6).
pub(crate) const PUBLISHED_DOC_NAME: &str = r"^([a-zA-Z0-9_-]{1,32}\/){0,5}([a-zA-Z0-9_-]{1,32})(.[a-zA-Z0-9]{1,8})?$";

/// Keys of a `description` dict (spec §6).
pub(crate) const DESCRIPTION_KEY: &str = r"^[a-z_][0-9a-z_]{0,63}$";

static DOC_NAME: LazyLock<PyMatch> = LazyLock::new(|| PyMatch::new(PUBLISHED_DOC_NAME));
static DESCRIPTION_KEY_RE: LazyLock<PyMatch> = LazyLock::new(|| PyMatch::new(DESCRIPTION_KEY));

/// A regex that accepts what Python's `re.match(pattern, text)` accepts, for patterns that start
/// with `^`, end with `$` and cannot match a newline.
pub(crate) struct PyMatch(Regex);

impl PyMatch {
    fn new(pattern: &str) -> Self {
        PyMatch(Regex::new(pattern).expect("the published pattern compiles"))
    }

    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text) || text.strip_suffix('\n').is_some_and(|rest| self.0.is_match(rest))
    }
}

/// A Doc name that passed the published regex. The only way to make one is [`DocName::parse`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct DocName(String);

impl DocName {
    pub(crate) fn parse(name: &str) -> Result<DocName, String> {
        if DOC_NAME.is_match(name) {
            Ok(DocName(name.to_owned()))
        } else {
            Err(format!("Invalid doc_name '{}': it must match {PUBLISHED_DOC_NAME}.", name.escape_debug()))
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DocName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StorageClass {
    #[default]
    AccessOptimized,
    CostOptimized,
}

impl StorageClass {
    pub(crate) fn parse(value: &Value) -> Result<StorageClass, String> {
        match value.as_str() {
            Some("access_optimized") => Ok(StorageClass::AccessOptimized),
            Some("cost_optimized") => Ok(StorageClass::CostOptimized),
            _ => Err(format!("Invalid storage_class {value}: it must be 'access_optimized' or 'cost_optimized'.")),
        }
    }
}

/// Checks a `description` value from a request body. `null` means "no description" (the key is
/// then left out of answers); otherwise it must be a dict whose keys match [`DESCRIPTION_KEY`].
/// Values can be any JSON.
pub(crate) fn parse_description(value: &Value) -> Result<Option<Map<String, Value>>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Object(map) => {
            if let Some(bad) = map.keys().find(|key| !DESCRIPTION_KEY_RE.is_match(key)) {
                return Err(format!(
                    "Invalid description key '{}': it must match {DESCRIPTION_KEY}.",
                    bad.escape_debug()
                ));
            }
            Ok(Some(map.clone()))
        }
        other => Err(format!("description must be a dictionary, got {other}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str) -> bool {
        DocName::parse(name).is_ok()
    }

    #[test]
    fn ordinary_names() {
        assert!(valid("a"));
        assert!(valid("file.txt"));
        assert!(valid("Certifications/certification_2022_v1.txt"));
        assert!(valid("f.TXT"));
        assert!(valid("a/b/c/d/e/f.txt"), "five folder levels");
        assert!(!valid(""));
        assert!(!valid("a/b/c/d/e/f/g.txt"), "six folder levels with an extension");
    }

    #[test]
    fn the_unescaped_dot_accepts_any_separator() {
        assert!(valid("a b"));
        assert!(valid("a~b"));
        assert!(valid("name txt"));
        assert!(valid("file\tx"));
        assert!(valid("aéb"));
        assert!(valid("a/b/c/d/e/f/g"), "the dot eats a sixth '/'");
        assert!(!valid("my file.txt"), "only one odd character, right before the extension");
        assert!(!valid("a\nb"), "'.' does not match a newline");
    }

    #[test]
    fn last_segment_length() {
        assert!(valid(&"a".repeat(41)), "32 + any char + 8");
        assert!(!valid(&"a".repeat(42)));
        assert!(valid(&format!("{}.{}", "a".repeat(32), "b".repeat(8))));
        assert!(!valid(&format!("{}.{}", "a".repeat(32), "b".repeat(9))));
    }

    #[test]
    fn python_dollar_accepts_one_trailing_newline() {
        assert!(valid("file.txt\n"));
        assert!(valid("a\n"));
        assert!(!valid("file.txt\n\n"));
        assert!(!valid("\n"));
        assert!(!valid("file.txt\r\n"), "only a bare trailing \\n is forgiven");
    }

    #[test]
    fn rejected_shapes() {
        assert!(!valid("archive.tar.gz"), "double extension");
        assert!(!valid("a.abcdefghi"), "extension over 8 chars");
        assert!(!valid("a.t_t"), "extension with '_'");
        assert!(!valid(".hidden"));
        assert!(!valid("dir.v2/x"));
        assert!(!valid("/a"));
        assert!(!valid("a/"));
        assert!(!valid("a//b"));
    }

    #[test]
    fn description_keys() {
        let ok = serde_json::json!({"k": 1, "_x": null, "a9": [1], "x".repeat(64): {}});
        assert!(parse_description(&ok).unwrap().is_some());
        assert_eq!(parse_description(&Value::Null).unwrap(), None);
        for bad in ["9a", "A", "a-b", "", &"x".repeat(65)] {
            let body = serde_json::json!({ bad: 1 });
            assert!(parse_description(&body).is_err(), "{bad:?} must be refused");
        }
        assert!(parse_description(&serde_json::json!({"k\n": 1})).is_ok(), "Python '$'");
        assert!(parse_description(&serde_json::json!([1])).is_err());
    }

    #[test]
    fn storage_classes() {
        assert_eq!(StorageClass::parse(&"cost_optimized".into()).unwrap(), StorageClass::CostOptimized);
        assert!(StorageClass::parse(&"COST_OPTIMIZED".into()).is_err());
        assert!(StorageClass::parse(&Value::Null).is_err());
    }
}
