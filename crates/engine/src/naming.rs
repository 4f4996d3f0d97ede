//! Doc names. A [`DocName`] can only be built valid: it matches the strict reading of the
//! published `doc_name` regex (the dot escaped), so it is accepted by the real server whose
//! regex is more lenient (see docs/ARCHITECTURE.md and the spec's decisions table).

use std::fmt;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::error::{Error, Result};

const SEGMENT_MAX: usize = 32;
const EXTENSION_MAX: usize = 8;

/// The published regex with its dot escaped, anchored at both ends with no trailing-newline slack.
static STRICT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\A([a-zA-Z0-9_-]{1,32}/){0,5}([a-zA-Z0-9_-]{1,32})(\.[a-zA-Z0-9]{1,8})?\z").expect("static regex")
});

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct DocName(String);

impl DocName {
    pub fn parse(name: &str) -> Result<Self> {
        if STRICT.is_match(name) {
            return Ok(DocName(name.to_owned()));
        }
        Err(Error::DocName { name: name.to_owned(), reason: explain(name) })
    }

    /// A valid name derived from a file's name: characters the server refuses become `_`,
    /// extra dots fold into the base name (`a.tar.gz` → `a_tar.gz`), and over-long parts are cut.
    pub fn from_file_name(path: &Path) -> Result<Self> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::Input(format!("{}: has no file name", path.display())))?;
        let (stem, ext) = match file_name.rsplit_once('.') {
            Some((stem, ext))
                if !stem.trim_matches('.').is_empty()
                    && (1..=EXTENSION_MAX).contains(&ext.len())
                    && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                (stem, Some(ext))
            }
            _ => (file_name.as_str(), None),
        };
        let mut base: String = stem
            .trim_start_matches('.')
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .take(SEGMENT_MAX)
            .collect();
        if base.is_empty() {
            base.push_str("file");
        }
        let name = match ext {
            Some(ext) => format!("{base}.{ext}"),
            None => base,
        };
        Self::parse(&name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same name with `-n` before the extension, still valid: the base name is shortened
    /// to make room (`report.pdf` → `report-2.pdf`). Used to step round a name that is taken.
    pub fn with_suffix(&self, n: u32) -> DocName {
        let (dir, last) = match self.0.rsplit_once('/') {
            Some((dir, last)) => (Some(dir), last),
            None => (None, self.0.as_str()),
        };
        let (base, ext) = match last.split_once('.') {
            Some((b, e)) => (b, Some(e)),
            None => (last, None),
        };
        let suffix = format!("-{n}");
        let keep = base.len().min(SEGMENT_MAX.saturating_sub(suffix.len()));
        let mut name = String::new();
        if let Some(dir) = dir {
            name.push_str(dir);
            name.push('/');
        }
        name.push_str(&base[..keep]);
        name.push_str(&suffix);
        if let Some(ext) = ext {
            name.push('.');
            name.push_str(ext);
        }
        DocName::parse(&name).expect("a suffix keeps a valid name valid")
    }
}

impl fmt::Display for DocName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for DocName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DocName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The first rule a rejected name breaks, in words a user can act on.
fn explain(name: &str) -> String {
    if name.is_empty() {
        return "the name is empty".into();
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return "folders must not be empty (no leading, trailing or double '/')".into();
    }
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 6 {
        return "at most 5 folder levels are allowed".into();
    }
    let (folders, last) = parts.split_at(parts.len() - 1);
    for folder in folders {
        if let Some(reason) = bad_segment(folder, "folder name") {
            return reason;
        }
    }
    let last = last[0];
    let (base, ext) = match last.split_once('.') {
        Some((_, ext)) if ext.contains('.') => return "only one extension is allowed".into(),
        Some((base, ext)) => (base, Some(ext)),
        None => (last, None),
    };
    if let Some(reason) = bad_segment(base, "base name") {
        return reason;
    }
    if let Some(ext) = ext {
        if ext.is_empty() || ext.len() > EXTENSION_MAX || !ext.chars().all(|c| c.is_ascii_alphanumeric()) {
            return format!("the extension must be 1-{EXTENSION_MAX} letters or digits");
        }
    }
    "it does not match the server's doc_name rules".into()
}

fn bad_segment(segment: &str, what: &str) -> Option<String> {
    if segment.is_empty() || segment.len() > SEGMENT_MAX {
        return Some(format!("each {what} must be 1-{SEGMENT_MAX} characters"));
    }
    if let Some(c) = segment.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Some(format!("{c:?} is not allowed in a {what} (letters, digits, '-' and '_' only)"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_shapes() {
        for ok in ["a", "f.TXT", "Certifications/certification_2022_v1.txt", "a/b/c/d/e/f.md", "x-y_z"] {
            assert_eq!(DocName::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_what_the_strict_reading_refuses_with_a_reason() {
        for (bad, why) in [
            ("", "empty"),
            ("/a", "folders"),
            ("a//b", "folders"),
            ("archive.tar.gz", "one extension"),
            ("a b", "' '"),
            ("name.toolongext", "extension"),
            ("a/b/c/d/e/f/g", "5 folder"),
            (".hidden", "base name"),
            ("file.txt\n", "extension"),
            ("dir.v2/x", "folder name"),
        ] {
            let err = DocName::parse(bad).unwrap_err();
            assert_eq!(err.code(), "doc_name.invalid");
            assert!(err.to_string().contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn file_names_are_sanitized() {
        let cases = [
            ("/tmp/report.pdf", "report.pdf"),
            ("/tmp/archive.tar.gz", "archive_tar.gz"),
            ("/tmp/my file (1).txt", "my_file__1_.txt"),
            ("/tmp/.bashrc", "bashrc"),
            ("/tmp/Zürich.csv", "Z_rich.csv"),
            ("/tmp/noext", "noext"),
            ("/tmp/data.parquet_v2", "data_parquet_v2"),
            ("/tmp/...", "file"),
        ];
        for (path, want) in cases {
            assert_eq!(DocName::from_file_name(Path::new(path)).unwrap().as_str(), want, "{path}");
        }
        let long = format!("/tmp/{}.txt", "x".repeat(100));
        assert_eq!(DocName::from_file_name(Path::new(&long)).unwrap().as_str().len(), 32 + 4);
    }

    #[test]
    fn suffixes_keep_names_valid() {
        let n = |s: &str| DocName::parse(s).unwrap();
        assert_eq!(n("report.pdf").with_suffix(2).as_str(), "report-2.pdf");
        assert_eq!(n("a/b/x").with_suffix(10).as_str(), "a/b/x-10");
        let long = "y".repeat(32);
        assert_eq!(n(&format!("d/{long}.txt")).with_suffix(3).as_str(), format!("d/{}-3.txt", "y".repeat(30)));
    }

    proptest! {
        #[test]
        fn any_file_name_gives_a_valid_name(name in "\\PC{1,80}") {
            let path = Path::new("/tmp").join(name.replace('/', "_"));
            if path.file_name().is_some() {
                let doc = DocName::from_file_name(&path).unwrap();
                prop_assert!(STRICT.is_match(doc.as_str()));
            }
        }

        #[test]
        fn parse_agrees_with_the_strict_regex(name in "[a-z./_ -]{0,20}") {
            prop_assert_eq!(DocName::parse(&name).is_ok(), STRICT.is_match(&name));
        }
    }
}
