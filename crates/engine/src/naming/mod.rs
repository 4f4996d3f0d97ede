//! Doc names. A [`DocName`] can only be built valid: it matches the strict reading of the
//! published `doc_name` regex (the dot escaped), so it is accepted by the real server whose
//! regex is more lenient (see docs/ARCHITECTURE.md and the spec's decisions table).
//!
//! # Layout
//! - `rules`: the regex read both ways ([`Reading`], [`is_valid`]) and [`check`], which names
//!   the rule a refused name breaks ([`Violation`], [`NameProblem`]).
//! - `sanitize`: any relative path to a valid name ([`sanitize()`], [`sanitize_path`]):
//!   transliteration, `_` for refused characters, long parts cut with a hash, deep folders
//!   folded. [`DocName::from_file_name`] is its one-part case.
//! - `template`: [`Template`], per-folder name templates (`{dir}/{date:%Y-%m}/{stem}.{ext}`), rendered
//!   through the sanitizer.
//! - `collisions`: [`resolve_collisions`], a batch made unique, among itself and against names taken.
//! - `preview`: a drop's files with the names they would get, and what stops or is worth saying
//!   about each ([`preview()`], [`validate_name`], [`review_names`]), before anything is queued.

mod collisions;
mod preview;
mod rules;
mod sanitize;
mod template;

use std::fmt;
use std::path::Path;

use crate::error::{Error, Invalid, Result};

pub use collisions::{claim_order, resolve_collisions, unique_names};
pub use preview::{
    cut_short, expand_drop, preview, review_names, validate_name, DroppedFile, NameIssue, NamedFile, DUPLICATE,
    PREVIEW_LIMIT, RENAMED, SANITIZED, TAKEN, TOO_MANY, UNCHANGED,
};
pub use rules::{check, is_valid, NameProblem, Reading, Violation, NAME_MAX, PUBLISHED_PATTERN};
pub use sanitize::{sanitize, sanitize_path, why_renamed};
pub use template::{Template, TemplateInput};

/// A folder or base name holds at most this many characters.
pub const SEGMENT_MAX: usize = 32;
/// An extension holds 1 to this many ASCII letters or digits.
pub const EXTENSION_MAX: usize = 8;
/// Folders above the file; the published regex's `{0,5}`.
pub const FOLDERS_MAX: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct DocName(String);

impl DocName {
    pub fn parse(name: &str) -> Result<Self> {
        match check(name) {
            Ok(()) => Ok(DocName(name.to_owned())),
            Err(violation) => Err(Error::DocName { name: name.to_owned(), reason: violation.message }),
        }
    }

    /// A valid name derived from a file's name alone, its folders left out: the one-part case
    /// of [`sanitize()`] (`Été.txt` → `Ete.txt`, `a.tar.gz` → `a_tar.gz`, `.env` → `_env`).
    pub fn from_file_name(path: &Path) -> Result<Self> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::invalid(Invalid::Name, format!("{}: has no file name", path.display())))?;
        sanitize::file_name(&file_name)
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
            ("file.txt\n", "newline"),
            ("dir.v2/x", "folder name"),
        ] {
            let err = DocName::parse(bad).unwrap_err();
            assert_eq!(err.code(), "doc_name.invalid");
            assert!(err.to_string().contains(why), "{bad:?}: {err}");
        }
    }

    /// Three cases changed when `from_file_name` became the sanitizer's one-part case, on
    /// purpose: non-ASCII is transliterated instead of replaced, a dotfile's dot becomes `_` like
    /// any dot that does not start an extension (so `.bashrc` and `bashrc` stay apart), and a
    /// name with nothing readable gets a hash instead of a fixed word (so two such files differ).
    #[test]
    fn file_names_are_sanitized() {
        let dots = format!("file-{}", &hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"..."))[..6]);
        let cases = [
            ("/tmp/report.pdf", "report.pdf"),
            ("/tmp/archive.tar.gz", "archive_tar.gz"),
            ("/tmp/my file (1).txt", "my_file__1_.txt"),
            ("/tmp/.bashrc", "_bashrc"),
            ("/tmp/Zürich.csv", "Zurich.csv"),
            ("/tmp/noext", "noext"),
            ("/tmp/data.parquet_v2", "data_parquet_v2"),
            ("/tmp/...", dots.as_str()),
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
                prop_assert!(rules::STRICT.is_match(doc.as_str()));
            }
        }

        #[test]
        fn parse_agrees_with_the_strict_regex(name in "[a-z./_ -]{0,20}") {
            prop_assert_eq!(DocName::parse(&name).is_ok(), rules::STRICT.is_match(&name));
        }

        /// The spelled-out rules and the regex accept exactly the same names, so `check` never
        /// has to fall back to the catch-all `pattern` rule. Near-valid alphabets find the edges.
        #[test]
        fn the_rules_cover_the_strict_regex_exactly(
            name in prop_oneof![
                "[a-c./_\\-]{0,12}",
                "([a-z]{0,3}[./]){0,8}[a-z.\\n]{0,10}",
                "[a-z]{28,36}(\\.[a-z0-9_]{0,10}){0,2}\\n?",
                "\\PC{0,12}",
                any::<String>(),
            ]
        ) {
            let problem = rules::first_problem(&name);
            prop_assert_eq!(problem.is_none(), rules::STRICT.is_match(&name), "{:?}: {:?}", name, problem);
            if let Err(v) = check(&name) {
                prop_assert_ne!(v.rule, "pattern");
                prop_assert_eq!(v.strict_only, is_valid(&name, Reading::Published));
            }
        }
    }
}
