//! Per-folder name templates: `{dir}/{date:%Y-%m}/{stem}.{ext}` and the like.
//!
//! A template is parsed once (unknown placeholders and bad date formats are errors then, not
//! per file) and rendered per file; the rendered text goes through the [sanitizer](super::sanitize),
//! so a template can only produce a valid [`DocName`] or an explicit error.
//!
//! | placeholder | value |
//! |---|---|
//! | `{path}` | the relative path, parts joined by `/` |
//! | `{dir}` | the relative path without the file name (empty at the top) |
//! | `{name}` | the file name |
//! | `{stem}` | the file name without `{ext}` |
//! | `{ext}` | the extension the Doc will keep: after the last dot, 1-8 ASCII letters or digits, else empty |
//! | `{date}`, `{date:FMT}` | the file's modification time, strftime `FMT` (chrono), default `%Y-%m-%d` |
//! | `{hash8}` | the first 8 hex digits of the file's SHA-256, lowercase |
//!
//! `{{` and `}}` stand for literal braces. When `{ext}` is empty, a `.` written just before it is
//! left out, so `{stem}.{ext}` gives `README` for `README`, not `README.` (which would turn into
//! `README_`). Empty parts from an empty `{dir}` vanish in the sanitizer (`{dir}/{name}` at the
//! top is just the name).

use std::fmt::{self, Write as _};
use std::path::{Component, Path};

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, FixedOffset};

use super::{sanitize, DocName, EXTENSION_MAX};
use crate::error::{Error, Invalid, Result};

const DEFAULT_DATE: &str = "%Y-%m-%d";
const KNOWN: &str = "{path}, {dir}, {name}, {stem}, {ext}, {date}, {date:FORMAT}, {hash8}";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Path,
    Dir,
    Name,
    Stem,
    Ext,
    Date(String),
    Hash8,
}

/// A parsed name template. Displays (and serializes) as its source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

/// What a template knows about one file.
#[derive(Debug, Clone, Copy)]
pub struct TemplateInput<'a> {
    /// Relative to the dropped or watched folder.
    pub relative_path: &'a Path,
    /// In the offset the date should be shown in: callers pass local time for people,
    /// `Utc` (`.fixed_offset()`) where the result must not depend on the machine.
    pub modified: DateTime<FixedOffset>,
    /// Hex SHA-256 of the file's bytes; only `{hash8}` reads it.
    pub sha256: &'a str,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template> {
        let invalid = |why: String| Error::invalid(Invalid::Template, format!("name template {source:?}: {why}"));
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut unknown: Vec<String> = Vec::new();
        let mut chars = source.chars();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.as_str().starts_with('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.as_str().starts_with('}') => {
                    chars.next();
                    text.push('}');
                }
                '}' => return Err(invalid("a '}' without its '{' (write '}}' for a literal brace)".into())),
                '{' => {
                    let rest = chars.as_str();
                    let Some(end) = rest.find('}') else {
                        return Err(invalid("a '{' without its '}' (write '{{' for a literal brace)".into()));
                    };
                    let inner = &rest[..end];
                    chars = rest[end + 1..].chars();
                    let piece = match inner.split_once(':') {
                        None => match inner {
                            "path" => Piece::Path,
                            "dir" => Piece::Dir,
                            "name" => Piece::Name,
                            "stem" => Piece::Stem,
                            "ext" => Piece::Ext,
                            "date" => Piece::Date(DEFAULT_DATE.into()),
                            "hash8" => Piece::Hash8,
                            _ => {
                                unknown.push(format!("{{{inner}}}"));
                                continue;
                            }
                        },
                        Some(("date", format)) => {
                            if format.is_empty() || StrftimeItems::new(format).any(|item| item == Item::Error) {
                                return Err(invalid(format!("{format:?} is not a valid strftime date format")));
                            }
                            Piece::Date(format.into())
                        }
                        Some(_) => {
                            unknown.push(format!("{{{inner}}}"));
                            continue;
                        }
                    };
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(piece);
                }
                c => text.push(c),
            }
        }
        if !unknown.is_empty() {
            return Err(invalid(format!("unknown placeholder {}; known: {KNOWN}", unknown.join(", "))));
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        if pieces.is_empty() {
            return Err(invalid("the template is empty".into()));
        }
        Ok(Template { source: source.to_owned(), pieces })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The Doc name for one file. Errors when the rendered text names nothing (for instance
    /// `{dir}` alone for a file at the top) or `{hash8}` is used without a SHA-256.
    pub fn render(&self, input: &TemplateInput<'_>) -> Result<DocName> {
        let parts: Vec<String> = input
            .relative_path
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                Component::ParentDir => Some("..".to_owned()),
                Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
            })
            .collect();
        let (name, dir) = match parts.split_last() {
            Some((name, dir)) => (name.as_str(), dir.join("/")),
            None => ("", String::new()),
        };
        let (stem, ext) = split_extension(name);
        let mut out = String::new();
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Path => out.push_str(&parts.join("/")),
                Piece::Dir => out.push_str(&dir),
                Piece::Name => out.push_str(name),
                Piece::Stem => out.push_str(stem),
                Piece::Ext if ext.is_empty() => {
                    if i > 0 && matches!(&self.pieces[i - 1], Piece::Text(t) if t.ends_with('.')) {
                        out.pop();
                    }
                }
                Piece::Ext => out.push_str(ext),
                Piece::Date(format) => write!(out, "{}", input.modified.format_with_items(StrftimeItems::new(format)))
                    .map_err(|_| {
                        Error::invalid(
                            Invalid::Template,
                            format!("name template {:?}: cannot format the date", self.source),
                        )
                    })?,
                Piece::Hash8 => {
                    let hash8 = input.sha256.get(..8).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                    let hash8 = hash8.ok_or_else(|| {
                        Error::invalid(
                            Invalid::Template,
                            format!(
                                "name template {:?}: {{hash8}} needs the file's SHA-256, got {:?}",
                                self.source, input.sha256
                            ),
                        )
                    })?;
                    out.push_str(&hash8.to_ascii_lowercase());
                }
            }
        }
        sanitize(&out).map_err(|_| {
            Error::invalid(
                Invalid::Template,
                format!(
                    "name template {:?} gives no name for {} (it renders as {out:?})",
                    self.source,
                    input.relative_path.display()
                ),
            )
        })
    }
}

/// The same extension the sanitizer keeps (before transliteration), so `{stem}.{ext}` renders
/// the file name the sanitizer would have started from.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if stem.chars().any(|c| c != '.')
                && (1..=EXTENSION_MAX).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            (stem, ext)
        }
        _ => (name, ""),
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for Template {
    type Err = Error;

    fn from_str(s: &str) -> Result<Template> {
        Template::parse(s)
    }
}

impl serde::Serialize for Template {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> serde::Deserialize<'de> for Template {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Template::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SHA: &str = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";

    fn render(template: &str, path: &str) -> Result<String> {
        let modified = FixedOffset::east_opt(3600).unwrap().with_ymd_and_hms(2024, 7, 14, 23, 30, 5).unwrap();
        let input = TemplateInput { relative_path: Path::new(path), modified, sha256: SHA };
        Template::parse(template)?.render(&input).map(|n| n.to_string())
    }

    fn r(template: &str, path: &str) -> String {
        render(template, path).unwrap()
    }

    #[test]
    fn each_placeholder() {
        let p = "photos/2024/Été à Paris/IMG 001.JPG";
        assert_eq!(r("{path}", p), "photos/2024/Ete_a_Paris/IMG_001.JPG");
        assert_eq!(r("{dir}", p), "photos/2024/Ete_a_Paris");
        assert_eq!(r("{name}", p), "IMG_001.JPG");
        assert_eq!(r("{stem}", p), "IMG_001");
        assert_eq!(r("x.{ext}", p), "x.JPG");
        assert_eq!(r("{date}/{name}", p), "2024-07-14/IMG_001.JPG");
        assert_eq!(r("{date:%Y-%m}/{name}", p), "2024-07/IMG_001.JPG");
        assert_eq!(r("{date:%Y/%m}/{name}", p), "2024/07/IMG_001.JPG", "a '/' in the date makes folders");
        assert_eq!(r("{date:%H%M%z}-{name}", p), "2330_0100-IMG_001.JPG", "the offset given is the one shown");
        assert_eq!(r("{stem}-{hash8}.{ext}", p), "IMG_001-9f86d081.JPG");
    }

    #[test]
    fn the_usual_template_reproduces_the_sanitized_path() {
        for p in ["a/b.txt", "top.pdf", "archive.tar.gz", "README", ".env", "d/data.parquet_v2"] {
            assert_eq!(r("{dir}/{stem}.{ext}", p), sanitize(p).unwrap().as_str(), "{p}");
        }
        assert_eq!(r("{dir}/{stem}.{ext}", "README"), "README", "no dangling dot without an extension");
        assert_eq!(r("{stem}.{ext}", "archive.tar.gz"), "archive_tar.gz");
    }

    #[test]
    fn literal_text_and_braces() {
        assert_eq!(r("uploads/{name}", "a.txt"), "uploads/a.txt");
        assert_eq!(r("{{x}}{name}", "a.txt"), "_x_a.txt", "literal braces, then sanitized");
        assert_eq!(r("fixed", "a.txt"), "fixed");
    }

    #[test]
    fn unknown_placeholders_are_named() {
        let err = Template::parse("{dir}/{author}/{size}.{ext}").unwrap_err();
        assert_eq!(err.code(), "template.invalid");
        let msg = err.to_string();
        assert!(msg.contains("{author}") && msg.contains("{size}"), "{msg}");
        let err = Template::parse("{stem:upper}").unwrap_err().to_string();
        assert!(err.contains("{stem:upper}"), "{err}");
    }

    #[test]
    fn malformed_templates_are_refused() {
        for bad in ["", "{name", "name}", "{date:%Q}", "{date:}", "{}"] {
            assert!(Template::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rendering_nothing_or_without_a_hash_is_an_error() {
        let err = render("{dir}", "top.txt").unwrap_err();
        assert!(err.to_string().contains("gives no name"), "{err}");
        let t = Template::parse("{hash8}").unwrap();
        let input = TemplateInput {
            relative_path: Path::new("a"),
            modified: DateTime::<chrono::Utc>::UNIX_EPOCH.fixed_offset(),
            sha256: "",
        };
        assert!(t.render(&input).unwrap_err().to_string().contains("SHA-256"));
    }

    #[test]
    fn round_trips_through_serde_and_display() {
        let t = Template::parse("{dir}/{date:%Y}/{name}").unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"{dir}/{date:%Y}/{name}\"");
        assert_eq!(serde_json::from_str::<Template>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Template>("\"{nope}\"").is_err());
        assert_eq!(t.to_string(), t.as_str());
    }
}
