//! From any relative path to a valid [`DocName`]: the sanitizer.
//!
//! Steps, each deterministic:
//! 1. The path is split on `/` ([`sanitize`]) or into its components ([`sanitize_path`]).
//!    Empty parts and `.` name nothing and are dropped; `..` removes the part before it, as in
//!    a URL (RFC 3986 dot-segment removal), and never climbs above the start. A path with
//!    nothing left is an error: it names no file.
//! 2. Each part is transliterated to ASCII (`deunicode`: `Été` → `Ete`); characters the rules
//!    refuse, spaces and dots included, become `_`.
//! 3. The last part keeps its last extension if that is 1-8 ASCII letters or digits and
//!    something other than dots precedes it; every other dot becomes `_` (`a.tar.gz` →
//!    `a_tar.gz`, `.env` → `_env`).
//! 4. A part with no letter or digit left that had refused characters (`...`, `???`, or nothing
//!    at all after transliteration) becomes `folder-<hash>` / `file-<hash>`, so it stays valid
//!    and two such names differ.
//! 5. A folder or base name over 32 characters keeps its first 25 and gets `-` and 6 hex digits
//!    of the SHA-256 of the original part, so long names sharing a prefix stay apart.
//! 6. Beyond 5 folders, the first 4 are kept and all deeper ones fold into the 5th: their
//!    sanitized names joined with `_`, cut to 25 characters, plus `-<hash>` of the original
//!    folders joined with `/`. Keeping the top of the tree means files from one folder land
//!    together and the upper levels on the Twin mirror the disk; the hash keeps different deep
//!    folders apart.
//!
//! A name that is already valid (strict reading) comes out unchanged.

use std::borrow::Cow;
use std::path::{Component, Path};

use sha2::{Digest, Sha256};

use super::rules::is_name_char;
use super::{DocName, EXTENSION_MAX, FOLDERS_MAX, SEGMENT_MAX};
use crate::error::{Error, Invalid, Result};

/// Hex digits of the disambiguating hash: 16M values per shared prefix are plenty for names a
/// person keeps in one folder, and it leaves 25 readable characters.
const HASH_HEX: usize = 6;
/// What is kept of a part before `-<hash>`.
const PREFIX_MAX: usize = SEGMENT_MAX - 1 - HASH_HEX;

/// A valid Doc name for a relative path whose parts are separated by `/` (only `/`: on Unix a
/// `\` is part of a file name, and becomes `_`). Errors only when no part names anything
/// (`""`, `"."`, `"a/.."`).
pub fn sanitize(relative_path: &str) -> Result<DocName> {
    build(relative_path.split('/').map(Cow::Borrowed), relative_path)
}

/// [`sanitize`] for a path as the OS spells it: its components, whatever the separator. A root
/// or drive prefix is ignored; a component that is not UTF-8 is read lossily.
pub fn sanitize_path(relative_path: &Path) -> Result<DocName> {
    let parts = relative_path.components().filter_map(|c| match c {
        Component::Normal(s) => Some(s.to_string_lossy()),
        Component::ParentDir => Some(Cow::Borrowed("..")),
        Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
    });
    build(parts, &relative_path.to_string_lossy())
}

/// The one-component case: a file's name without its folders.
pub(super) fn file_name(name: &str) -> Result<DocName> {
    build(std::iter::once(Cow::Borrowed(name)), name)
}

fn build<'a>(parts: impl Iterator<Item = Cow<'a, str>>, original: &str) -> Result<DocName> {
    let mut kept: Vec<Cow<'a, str>> = Vec::new();
    for part in parts {
        match part.as_ref() {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            _ => kept.push(part),
        }
    }
    let Some((file, folders)) = kept.split_last() else {
        return Err(Error::invalid(Invalid::Name, format!("{original:?}: the path names no file")));
    };
    let mut name = String::new();
    if folders.len() > FOLDERS_MAX {
        let (top, deep) = folders.split_at(FOLDERS_MAX - 1);
        for folder in top {
            name.push_str(&folder_name(folder));
            name.push('/');
        }
        let joined: Vec<String> = deep.iter().map(|f| folder_name(f)).collect();
        let originals: Vec<&str> = deep.iter().map(|f| f.as_ref()).collect();
        name.push_str(&with_hash(&joined.join("_"), &originals.join("/")));
        name.push('/');
    } else {
        for folder in folders {
            name.push_str(&folder_name(folder));
            name.push('/');
        }
    }
    name.push_str(&last_name(file));
    DocName::parse(&name)
}

fn folder_name(original: &str) -> String {
    let ascii = transliterate(original);
    let clean = replace_refused(&ascii);
    if needs_fallback(&ascii, &clean) {
        return fallback("folder", original);
    }
    fit(clean, original)
}

fn last_name(original: &str) -> String {
    let ascii = transliterate(original);
    let (stem, extension) = split_extension(&ascii);
    let clean = replace_refused(stem);
    let base = if needs_fallback(stem, &clean) { fallback("file", original) } else { fit(clean, original) };
    match extension {
        Some(extension) => format!("{base}.{extension}"),
        None => base,
    }
}

/// Unknown characters (deunicode's "tofu") become `_` like any other refused character.
fn transliterate(text: &str) -> Cow<'_, str> {
    deunicode::deunicode_with_tofu_cow(text, "_")
}

fn replace_refused(text: &str) -> String {
    text.chars().map(|c| if is_name_char(c) { c } else { '_' }).collect()
}

/// The extension is the part after the last dot when it is 1-8 ASCII alphanumerics and
/// something other than dots comes before it (so `.env` and `..env` have none).
fn split_extension(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('.') {
        Some((stem, extension))
            if stem.chars().any(|c| c != '.')
                && (1..=EXTENSION_MAX).contains(&extension.len())
                && extension.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            (stem, Some(extension))
        }
        _ => (name, None),
    }
}

/// Nothing readable survived: the part was emptied by transliteration, or it had no letter or
/// digit and some of its characters had to be replaced (a valid `_` or `-` alone is kept).
fn needs_fallback(ascii: &str, clean: &str) -> bool {
    clean.is_empty() || (!clean.bytes().any(|b| b.is_ascii_alphanumeric()) && !ascii.chars().all(is_name_char))
}

fn fallback(word: &str, original: &str) -> String {
    format!("{word}-{}", short_hash(original))
}

fn fit(clean: String, original: &str) -> String {
    if clean.len() <= SEGMENT_MAX {
        clean
    } else {
        with_hash(&clean, original)
    }
}

/// `clean` is ASCII by now, so cutting at a byte index cuts at a character.
fn with_hash(clean: &str, original: &str) -> String {
    format!("{}-{}", &clean[..clean.len().min(PREFIX_MAX)], short_hash(original))
}

fn short_hash(original: &str) -> String {
    let digest = Sha256::digest(original.as_bytes());
    hex::encode(&digest[..HASH_HEX / 2])
}

/// Why the name made of `original` (a relative path) is `name` and not `original` itself, in
/// words ("renamed: spaces are not allowed"): `None` when they are the same.
pub fn why_renamed(original: &str, name: &str) -> Option<String> {
    if original == name {
        return None;
    }
    let mut why = Vec::new();
    if original.contains(' ') {
        why.push("spaces are not allowed".to_owned());
    }
    if !original.is_ascii() {
        why.push("accents and other non-ASCII letters are spelled in ASCII".to_owned());
    }
    let mut odd: Vec<char> = original
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_alphanumeric() && !matches!(c, ' ' | '_' | '-' | '.' | '/'))
        .collect();
    odd.dedup();
    if !odd.is_empty() {
        let shown: String = odd.iter().take(5).collect();
        why.push(format!("characters such as {shown:?} are not allowed"));
    }
    let last = original.rsplit('/').next().unwrap_or(original);
    if last.matches('.').count() > 1 || last.starts_with('.') {
        why.push("only the last extension keeps its dot".to_owned());
    }
    if original.split('/').any(|part| part.chars().count() > 32) {
        why.push("a name over 32 characters is shortened".to_owned());
    }
    if original.split('/').count() > 6 {
        why.push("folders deeper than 5 levels are folded into one".to_owned());
    }
    if why.is_empty() {
        why.push("the Doc name rules refuse part of it".to_owned());
    }
    Some(format!("renamed: {}", why.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::super::rules::{is_valid, Reading};
    use super::*;

    #[test]
    fn why_a_name_changed_is_said_rule_by_rule() {
        let said = |original: &str| {
            let name = sanitize(original).unwrap().to_string();
            why_renamed(original, &name)
        };
        assert_eq!(said("report.pdf"), None);
        assert_eq!(
            said("Q3 (final)!.pdf").unwrap(),
            "renamed: spaces are not allowed; characters such as \"()!\" are not allowed"
        );
        assert_eq!(said("a.tar.gz").unwrap(), "renamed: only the last extension keeps its dot");
        assert!(said(&format!("{}.txt", "x".repeat(40))).unwrap().contains("over 32 characters"));
        assert!(said("a/b/c/d/e/f/g.txt").unwrap().contains("deeper than 5 levels"));
        assert!(said("Zażółć.txt").unwrap().contains("non-ASCII"));
    }

    fn s(path: &str) -> String {
        sanitize(path).unwrap().to_string()
    }

    fn h(original: &str) -> String {
        short_hash(original)
    }

    #[test]
    fn the_example_from_the_issue() {
        assert_eq!(s("photos/2024/Été à Paris/IMG 001.JPG"), "photos/2024/Ete_a_Paris/IMG_001.JPG");
    }

    #[test]
    fn transliteration_then_underscores() {
        assert_eq!(s("Zürich.csv"), "Zurich.csv");
        assert_eq!(s("Überblick 東京 ß.csv"), "Uberblick_Dong_Jing_ss.csv");
        assert_eq!(s("my file (1).txt"), "my_file__1_.txt");
        assert_eq!(s("tab\there.md"), "tab_here.md");
        assert_eq!(s("a\\b"), "a_b", "a backslash is part of a Unix file name");
    }

    #[test]
    fn only_a_last_short_alphanumeric_extension_is_kept() {
        assert_eq!(s("a.tar.gz"), "a_tar.gz");
        assert_eq!(s("data.parquet_v2"), "data_parquet_v2");
        assert_eq!(s("movie.longextension"), "movie_longextension");
        assert_eq!(s("file."), "file_");
        assert_eq!(s("v1.2/notes.txt"), "v1_2/notes.txt");
        assert_eq!(s("photo.jpég"), "photo.jpeg", "the extension is read after transliteration");
    }

    #[test]
    fn dotfiles_keep_their_name_with_an_underscore() {
        assert_eq!(s(".env"), "_env");
        assert_eq!(s("..env"), "__env");
        assert_eq!(s(".config/app.toml"), "_config/app.toml");
        assert_eq!(s(".tar.gz"), "_tar.gz");
    }

    #[test]
    fn parts_with_nothing_readable_fall_back_to_a_hash() {
        assert_eq!(s("..."), format!("file-{}", h("...")));
        assert_eq!(s("???/x"), format!("folder-{}/x", h("???")));
        assert_eq!(s("   .txt"), format!("file-{}.txt", h("   .txt")));
        assert_ne!(s("???"), s("!!!"));
        assert_eq!(s("\u{200b}"), format!("file-{}", h("\u{200b}")), "emptied by transliteration");
        // underscores and dashes are valid on their own and are kept
        assert_eq!(s("_/-/__.txt"), "_/-/__.txt");
        assert_eq!(s("—"), "--", "an em dash transliterates to valid dashes");
    }

    #[test]
    fn long_parts_are_cut_with_a_hash_of_the_original() {
        let a = format!("{}a", "shared_prefix_".repeat(4));
        let b = format!("{}b", "shared_prefix_".repeat(4));
        let (na, nb) = (s(&format!("{a}/{a}.txt")), s(&format!("{b}/{b}.txt")));
        assert_eq!(na, format!("{}-{}/{}-{}.txt", &a[..25], h(&a), &a[..25], h(&format!("{a}.txt"))));
        assert_ne!(na, nb);
        assert!(na.split('/').all(|p| p.split('.').next().unwrap().len() == SEGMENT_MAX));
        let exact = "x".repeat(32);
        assert_eq!(s(&exact), exact, "32 characters fit as they are");
    }

    #[test]
    fn deep_folders_fold_into_the_fifth() {
        assert_eq!(s("a/b/c/d/e/f.txt"), "a/b/c/d/e/f.txt", "five folders fit");
        assert_eq!(s("a/b/c/d/e/f/g.txt"), format!("a/b/c/d/e_f-{}/g.txt", h("e/f")));
        assert_eq!(s("1/2/3/4/5/6/7/8/9/x"), format!("1/2/3/4/5_6_7_8_9-{}/x", h("5/6/7/8/9")));
        assert_ne!(s("a/b/c/d/e_f/g/x"), s("a/b/c/d/e/f_g/x"), "the hash is of the original folders");
        let deep: String = (0..40).map(|i| format!("folder number {i}/")).collect();
        let name = s(&format!("{deep}file.txt"));
        assert!(is_valid(&name, Reading::Strict), "{name}");
        assert_eq!(name.split('/').count(), 6);
    }

    #[test]
    fn dot_segments_and_empty_parts() {
        assert_eq!(s("./a//b/"), "a/b");
        assert_eq!(s("/abs/path.txt"), "abs/path.txt");
        assert_eq!(s("a/../b.txt"), "b.txt");
        assert_eq!(s("../../x"), "x", "'..' never climbs above the start");
        for nothing in ["", ".", "..", "/", "a/..", "./../"] {
            let err = sanitize(nothing).unwrap_err();
            assert_eq!(err.code(), "name.invalid", "{nothing:?}");
        }
    }

    #[test]
    fn os_paths_go_by_components() {
        assert_eq!(sanitize_path(Path::new("photos/./2024/IMG 1.JPG")).unwrap().as_str(), "photos/2024/IMG_1.JPG");
        assert_eq!(sanitize_path(Path::new("/root/x/../y")).unwrap().as_str(), "root/y");
        assert!(sanitize_path(Path::new("")).is_err());
    }

    #[test]
    fn valid_names_are_left_alone() {
        for name in ["a", "f.TXT", "x-y_z", "a/b/c/d/e/f.md", "_", "-.1", &"q".repeat(32)] {
            assert_eq!(s(name), name);
        }
    }
}
