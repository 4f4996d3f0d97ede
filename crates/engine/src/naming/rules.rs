//! The `doc_name` rules, read two ways, and which rule a refused name breaks.
//!
//! The spec (§6) publishes one regex, but its extension separator is an unescaped `.` and the
//! server is most likely Python (`re.match`, whose `$` also matches before one trailing `\n`).
//! So there are two readings:
//!
//! - [`Reading::Published`]: the pattern verbatim with `re.match` semantics, what the server (and
//!   our emulator) accepts;
//! - [`Reading::Strict`]: the dot escaped and no newline slack, what the pattern means to say and
//!   what every [`DocName`](super::DocName) satisfies.
//!
//! Every strict name is also a published one, so names we build pass either server. [`check`]
//! explains a refusal in terms of the strict reading and says, through
//! [`Violation::strict_only`], whether the published reading would have let the name through.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use super::{EXTENSION_MAX, FOLDERS_MAX, SEGMENT_MAX};

/// The `doc_name` regex exactly as the docs publish it (spec §6).
pub const PUBLISHED_PATTERN: &str = r"^([a-zA-Z0-9_-]{1,32}\/){0,5}([a-zA-Z0-9_-]{1,32})(.[a-zA-Z0-9]{1,8})?$";

/// The longest strict name: five full folders with their slashes, a full base name, a full
/// extension. Checked first so that a runaway name gets one clear answer instead of a complaint
/// about whichever of its parts comes first.
pub const NAME_MAX: usize = FOLDERS_MAX * (SEGMENT_MAX + 1) + SEGMENT_MAX + 1 + EXTENSION_MAX;

static PUBLISHED: LazyLock<Regex> = LazyLock::new(|| Regex::new(PUBLISHED_PATTERN).expect("published pattern"));

/// Derived from the published text rather than typed again, so the two cannot drift apart. In
/// the `regex` crate `^`/`$` without the `m` flag already mean start and end of the whole text.
pub(super) static STRICT: LazyLock<Regex> = LazyLock::new(|| {
    let strict = PUBLISHED_PATTERN.replacen("(.[", r"(\.[", 1);
    assert_ne!(strict, PUBLISHED_PATTERN, "the published pattern has an extension dot to escape");
    Regex::new(&strict).expect("strict pattern")
});

/// Which reading of the published regex to apply (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reading {
    /// The pattern verbatim, with Python `re.match` semantics: what the server accepts.
    Published,
    /// The dot escaped, anchored at the very end: what a [`DocName`](super::DocName) satisfies.
    Strict,
}

/// Whether `name` matches the `doc_name` regex under `reading`.
pub fn is_valid(name: &str, reading: Reading) -> bool {
    match reading {
        // No part of the pattern can consume a `\n`, so retrying without one trailing newline is
        // exactly what Python's `$` does.
        Reading::Published => {
            PUBLISHED.is_match(name) || name.strip_suffix('\n').is_some_and(|rest| PUBLISHED.is_match(rest))
        }
        Reading::Strict => STRICT.is_match(name),
    }
}

/// One rule of the strict reading. Positions and part numbers count from 1, in characters (not
/// bytes), as a person reading the name would count them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameProblem {
    Empty,
    TooLong {
        chars: usize,
    },
    /// A name that is valid but for one `\n` at its end: the published reading accepts it.
    TrailingNewline,
    /// A leading, trailing or doubled `/`.
    EmptySegment {
        part: usize,
    },
    TooDeep {
        folders: usize,
    },
    DotInFolder {
        position: usize,
    },
    /// Anything but ASCII letters, digits, `-` and `_` in a folder or base name.
    BadCharacter {
        position: usize,
        found: char,
    },
    /// A folder or base name longer than 32 characters.
    SegmentTooLong {
        part: usize,
        chars: usize,
    },
    /// The last part starts with `.` (a dotfile such as `.env`): nothing precedes the extension.
    MissingBaseName,
    MultipleExtensions {
        extension: String,
    },
    EmptyExtension,
    ExtensionCharacter {
        position: usize,
        found: char,
    },
    ExtensionTooLong {
        chars: usize,
    },
    /// Refused by the regex although no rule above applies. Never expected: the rules are
    /// tested to cover the pattern exactly. Kept so a gap shows as an error, not a panic.
    Pattern,
}

impl NameProblem {
    /// The stable machine code of the rule. Never change an existing one: callers match on it.
    pub fn code(&self) -> &'static str {
        use NameProblem::*;
        match self {
            Empty => "empty",
            TooLong { .. } => "too_long",
            TrailingNewline => "trailing_newline",
            EmptySegment { .. } => "empty_segment",
            TooDeep { .. } => "too_deep",
            DotInFolder { .. } => "dot_in_folder",
            BadCharacter { .. } => "bad_character",
            SegmentTooLong { .. } => "segment_too_long",
            MissingBaseName => "missing_base_name",
            MultipleExtensions { .. } => "multiple_extensions",
            EmptyExtension => "empty_extension",
            ExtensionCharacter { .. } => "extension_character",
            ExtensionTooLong { .. } => "extension_too_long",
            Pattern => "pattern",
        }
    }
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use NameProblem::*;
        match self {
            Empty => write!(f, "the name is empty"),
            TooLong { chars } => write!(f, "the name has {chars} characters; at most {NAME_MAX} are allowed"),
            TrailingNewline => write!(f, "the name ends with a newline"),
            EmptySegment { part } => {
                write!(f, "folders must not be empty (no leading, trailing or double '/'): part {part} is empty")
            }
            TooDeep { folders } => {
                write!(f, "at most {FOLDERS_MAX} folder levels are allowed; this name has {folders}")
            }
            DotInFolder { position } => write!(f, "'.' (position {position}) is not allowed in a folder name"),
            BadCharacter { position, found } => write!(
                f,
                "{found:?} (position {position}) is not allowed in a folder or base name: \
                 letters, digits, '-' and '_' only"
            ),
            SegmentTooLong { part, chars } => {
                write!(f, "part {part} has {chars} characters; a folder or base name holds at most {SEGMENT_MAX}")
            }
            MissingBaseName => {
                write!(f, "the base name is missing: a name cannot start with '.' (dotfiles such as .env)")
            }
            MultipleExtensions { extension } => {
                write!(f, "only one extension is allowed, not {extension:?}")
            }
            EmptyExtension => {
                write!(f, "the name ends with '.': an extension needs 1-{EXTENSION_MAX} letters or digits")
            }
            ExtensionCharacter { position, found } => write!(
                f,
                "{found:?} (position {position}) is not allowed in the extension: \
                 it must be 1-{EXTENSION_MAX} letters or digits"
            ),
            ExtensionTooLong { chars } => {
                write!(f, "the extension must be 1-{EXTENSION_MAX} letters or digits; this one has {chars}")
            }
            Pattern => write!(f, "it does not match the doc_name pattern {PUBLISHED_PATTERN}"),
        }
    }
}

/// Why a name is refused: the first rule it breaks, reading left to right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Stable snake_case code of the rule (see [`NameProblem::code`]).
    pub rule: &'static str,
    pub message: String,
    /// The published regex accepts the name; only the strict reading refuses it.
    pub strict_only: bool,
    pub problem: NameProblem,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if self.strict_only {
            f.write_str(" (the server's published regex would accept it; Twindrop keeps to the strict reading)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violation {}

/// Checks `name` against the strict reading. `Ok` exactly when it matches the strict regex;
/// otherwise the first rule it breaks, and whether the published regex would still accept it.
pub fn check(name: &str) -> Result<(), Violation> {
    if STRICT.is_match(name) {
        return Ok(());
    }
    let problem = first_problem(name).unwrap_or(NameProblem::Pattern);
    Err(Violation {
        rule: problem.code(),
        message: problem.to_string(),
        strict_only: is_valid(name, Reading::Published),
        problem,
    })
}

/// The rules spelled out, in the order a reader meets them. `None` exactly when the strict
/// regex matches (a property test holds the two together).
pub(super) fn first_problem(name: &str) -> Option<NameProblem> {
    use NameProblem::*;
    if name.is_empty() {
        return Some(Empty);
    }
    // A valid rest never ends in '\n' itself, so this recurses at most once.
    let rest = name.strip_suffix('\n').filter(|rest| !rest.ends_with('\n'));
    if rest.is_some_and(|rest| first_problem(rest).is_none()) {
        return Some(TrailingNewline);
    }
    let chars = name.chars().count();
    if chars > NAME_MAX {
        return Some(TooLong { chars });
    }
    let parts: Vec<&str> = name.split('/').collect();
    if let Some(i) = parts.iter().position(|p| p.is_empty()) {
        return Some(EmptySegment { part: i + 1 });
    }
    if parts.len() > FOLDERS_MAX + 1 {
        return Some(TooDeep { folders: parts.len() - 1 });
    }
    let (last, folders) = parts.split_last().expect("split yields at least one part");
    // 1-based position of the part's first character in the whole name
    let mut start = 1;
    for (i, folder) in folders.iter().enumerate() {
        for (j, c) in folder.chars().enumerate() {
            if c == '.' {
                return Some(DotInFolder { position: start + j });
            }
            if !is_name_char(c) {
                return Some(BadCharacter { position: start + j, found: c });
            }
        }
        let len = folder.chars().count();
        if len > SEGMENT_MAX {
            return Some(SegmentTooLong { part: i + 1, chars: len });
        }
        start += len + 1;
    }
    let (base, extension) = match last.split_once('.') {
        Some((base, extension)) => (base, Some(extension)),
        None => (*last, None),
    };
    if base.is_empty() {
        return Some(MissingBaseName);
    }
    for (j, c) in base.chars().enumerate() {
        if !is_name_char(c) {
            return Some(BadCharacter { position: start + j, found: c });
        }
    }
    let base_len = base.chars().count();
    if base_len > SEGMENT_MAX {
        return Some(SegmentTooLong { part: parts.len(), chars: base_len });
    }
    let extension = extension?;
    if extension.contains('.') {
        return Some(MultipleExtensions { extension: format!(".{extension}") });
    }
    if extension.is_empty() {
        return Some(EmptyExtension);
    }
    let ext_start = start + base_len + 1;
    if let Some((j, c)) = extension.chars().enumerate().find(|(_, c)| !c.is_ascii_alphanumeric()) {
        return Some(ExtensionCharacter { position: ext_start + j, found: c });
    }
    let ext_len = extension.chars().count();
    if ext_len > EXTENSION_MAX {
        return Some(ExtensionTooLong { chars: ext_len });
    }
    None
}

/// The characters of a folder or base name: `[a-zA-Z0-9_-]`.
pub(super) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str) -> (&'static str, bool) {
        let v = check(name).unwrap_err();
        (v.rule, v.strict_only)
    }

    #[test]
    fn valid_names_pass_both_readings() {
        for ok in ["a", "f.TXT", "a-b_c", "a/b/c/d/e/f.md", &"x".repeat(32), &format!("{}.abcdefgh", "y".repeat(32))] {
            assert_eq!(check(ok), Ok(()), "{ok:?}");
            assert!(is_valid(ok, Reading::Published) && is_valid(ok, Reading::Strict), "{ok:?}");
        }
        let longest = format!("{}{}.{}", format!("{}/", "d".repeat(32)).repeat(5), "b".repeat(32), "e".repeat(8));
        assert_eq!(longest.len(), NAME_MAX);
        assert_eq!(check(&longest), Ok(()));
    }

    #[test]
    fn each_rule_has_its_code() {
        let long = "x".repeat(NAME_MAX + 1);
        let cases: &[(&str, &str, bool)] = &[
            ("", "empty", false),
            (&long, "too_long", false),
            ("file.txt\n", "trailing_newline", true),
            ("/a", "empty_segment", false),
            ("a/", "empty_segment", false),
            ("a//b", "empty_segment", false),
            ("a/b/c/d/e/f/g.txt", "too_deep", false),
            ("dir.v2/x", "dot_in_folder", false),
            ("my file.txt", "bad_character", false),
            ("é/x", "bad_character", false),
            ("a\tb/c", "bad_character", false),
            (".env", "missing_base_name", false),
            ("a/.", "missing_base_name", false),
            ("archive.tar.gz", "multiple_extensions", false),
            ("file.", "empty_extension", false),
            ("data.parquet_v2", "extension_character", false),
            ("name.toolongext", "extension_too_long", false),
        ];
        for (name, code, strict_only) in cases {
            assert_eq!(rule(name), (*code, *strict_only), "{name:?}");
        }
        let long_part = format!("a/{}", "s".repeat(33));
        assert_eq!(check(&long_part).unwrap_err().problem, NameProblem::SegmentTooLong { part: 2, chars: 33 });
    }

    #[test]
    fn the_published_quirks_are_strict_only() {
        // The unescaped dot: any one character before a last run of 1-8 alphanumerics.
        for (name, code) in [
            ("a b", "bad_character"),
            ("a~b", "bad_character"),
            ("aéb", "bad_character"),
            ("file\tx", "bad_character"),
            ("a/b/c/d/e/f/g", "too_deep"),
            (&format!("{}{}", "x".repeat(32), "y".repeat(9)), "segment_too_long"),
            ("file.txt\n", "trailing_newline"),
        ] {
            assert_eq!(rule(name), (code, true), "{name:?}");
        }
        assert_eq!(rule("a\nb"), ("bad_character", false), "'.' does not match a newline");
        assert_eq!(rule("my file.txt"), ("bad_character", false));
        assert_eq!(rule("a\n\n"), ("bad_character", false), "one newline of slack, not two");
    }

    #[test]
    fn a_flood_of_newlines_is_answered_without_deep_recursion() {
        assert_eq!(rule(&"\n".repeat(100_000)), ("too_long", false));
    }

    #[test]
    fn positions_count_characters_from_one() {
        assert_eq!(check("ab/cé").unwrap_err().problem, NameProblem::BadCharacter { position: 5, found: 'é' });
        assert_eq!(check("ab/c.t-x").unwrap_err().problem, NameProblem::ExtensionCharacter { position: 7, found: '-' });
        assert_eq!(check("éé/a.b").unwrap_err().problem, NameProblem::BadCharacter { position: 1, found: 'é' });
        assert_eq!(check("ab/c.d/e").unwrap_err().problem, NameProblem::DotInFolder { position: 5 });
    }

    #[test]
    fn messages_say_what_to_change() {
        let v = check("a b").unwrap_err();
        assert!(v.message.contains("' '") && v.message.contains("position 2"), "{}", v.message);
        assert!(v.to_string().contains("published regex would accept"), "{v}");
        let v = check("archive.tar.gz").unwrap_err();
        assert!(v.message.contains(".tar.gz"), "{}", v.message);
        assert!(!v.to_string().contains("published"), "{v}");
    }
}
