//! The naming preview of a drop: before anything is queued, every file of the dropped paths
//! (a folder stands for the files under it) with the Doc name it would get, or the reason it
//! has none, and the names that cannot be used as they are.
//!
//! A dropped file is named from its file name; a file inside a dropped folder from its path
//! starting at that folder (`photos/2024/a.jpg` for a drop of `photos`), the same way a watched
//! folder names its files ([`crate::folders::namer`]), template included.
//!
//! Two kinds of finding, so a window can tell what stops a start from what it only says:
//! - a *problem* blocks: the file cannot be read, no name can be derived, the name breaks a
//!   `doc_name` rule, or another file of the same batch wants the same name (after an edit:
//!   the names proposed are made distinct, `same_name.txt` and `same_name-1.txt`);
//! - a *notice* does not: the name is not the file's own because the rules refuse what it
//!   has (spaces, accents, other characters, its length: [`SANITIZED`], saying which), it was
//!   numbered because another file of the drop is named alike, or it is already used on the
//!   destination by another file, and the queue's conflict policy will step round it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{check, why_renamed, Template};
use crate::error::{Error, ErrorInfo};

/// The code of a name that another file of the same batch also has.
pub const DUPLICATE: &str = "doc_name.duplicate";
/// The code of a name that is not the file's own because the `doc_name` rules refuse part of it.
pub const SANITIZED: &str = "doc_name.sanitized";
/// The code of a name numbered because another file of the same drop is named alike.
pub const RENAMED: &str = "doc_name.renamed";
/// The code of a name already used on the destination by another file.
pub const TAKEN: &str = "doc_name.taken";
/// The code of a file sent before under the same name and unchanged since: it will be skipped.
pub const UNCHANGED: &str = "file.unchanged";

/// One finding about a name: a stable `code` (an engine error code, or [`DUPLICATE`] /
/// [`TAKEN`]), the `doc_name` rule broken when there is one (see [`super::NameProblem::code`]),
/// and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct NameIssue {
    pub code: String,
    pub rule: Option<String>,
    pub message: String,
}

impl NameIssue {
    fn from_error(error: ErrorInfo) -> Self {
        NameIssue { code: error.code, rule: None, message: error.message }
    }
}

/// One file of a drop, as the preview shows it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct NamedFile {
    pub path: PathBuf,
    /// What the name is derived from: the file name, or the path from the dropped folder on.
    pub relative: String,
    pub size: Option<u64>,
    pub name: Option<String>,
    /// Blocks the upload of this file until it is fixed.
    pub problem: Option<NameIssue>,
    /// Worth knowing, blocks nothing.
    pub notice: Option<NameIssue>,
    /// The file's mtime as the journal keeps it, to tell an unchanged file.
    #[serde(skip)]
    pub mtime_ns: Option<i64>,
}

/// Why `name` cannot be a Doc name, or `None` when it can: the `doc_name` rule it breaks, in
/// the words of [`check`] (strict reading).
pub fn validate_name(name: &str) -> Option<NameIssue> {
    check(name).err().map(|v| NameIssue {
        code: "doc_name.invalid".into(),
        rule: Some(v.rule.to_owned()),
        message: v.to_string(),
    })
}

/// Each name's blocking problem within its batch: invalid, or wanted by more than one file
/// (compared exactly, as the server does). `None` entries (files with no name) are skipped.
pub fn review_names<'a>(names: impl IntoIterator<Item = Option<&'a str>> + Clone) -> Vec<Option<NameIssue>> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for name in names.clone().into_iter().flatten() {
        *counts.entry(name).or_default() += 1;
    }
    names
        .into_iter()
        .map(|name| {
            let name = name?;
            validate_name(name).or_else(|| match counts[name] {
                1 => None,
                n => Some(NameIssue {
                    code: DUPLICATE.into(),
                    rule: None,
                    message: format!("{n} files of this batch are named {name:?}: each Doc needs a name of its own"),
                }),
            })
        })
        .collect()
}

/// A file found in a drop: where it is, the path its name comes from, and its metadata (or why
/// it could not be read).
pub struct DroppedFile {
    pub path: PathBuf,
    /// The dropped path's parent: the root `relative` hangs from.
    pub root: PathBuf,
    pub relative: PathBuf,
    pub meta: std::result::Result<std::fs::Metadata, ErrorInfo>,
}

/// The most files a preview walks. Past it the walk stops and the preview ends with one entry
/// whose problem is [`TOO_MANY`]: a drop of a whole disk must not hang the window or fill memory,
/// while a folder of 100,000 files (the size Twindrop is built for) goes in one drop.
pub const PREVIEW_LIMIT: usize = 200_000;
/// The code of the entry that ends a preview cut at [`PREVIEW_LIMIT`] files.
pub const TOO_MANY: &str = "preview.too_many";

/// [`Error::TooManyFiles`] when a preview was cut at [`PREVIEW_LIMIT`] files (its last entry
/// says so), for callers that would rather refuse such a drop than show part of it.
pub fn cut_short(files: &[NamedFile]) -> Result<(), Error> {
    match files.last().and_then(|f| f.problem.as_ref()) {
        Some(problem) if problem.code == TOO_MANY => Err(Error::TooManyFiles { limit: PREVIEW_LIMIT }),
        _ => Ok(()),
    }
}

/// Every file of `paths`: a file as itself, a folder as the files under it (sorted, without
/// the files a watched folder ignores by default, such as `.DS_Store` or `*.part`), a path that
/// cannot be read as itself with its error. An empty folder is reported, so a drop never
/// vanishes without a word. A file reached twice (dropped with its folder) comes once, where it
/// was first met. At most [`PREVIEW_LIMIT`] entries, then one more whose error is [`TOO_MANY`].
pub fn expand_drop(paths: &[PathBuf]) -> Vec<DroppedFile> {
    expand_drop_limited(paths, PREVIEW_LIMIT)
}

fn expand_drop_limited(paths: &[PathBuf], limit: usize) -> Vec<DroppedFile> {
    let mut out = Vec::with_capacity(paths.len().min(limit));
    let mut seen = std::collections::HashSet::with_capacity(out.capacity());
    for path in paths {
        if !expand_one(path, &mut out, &mut seen, limit) {
            // Named after the dropped path whose walk it cut.
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let relative = PathBuf::from(path.file_name().unwrap_or(path.as_os_str()));
            let error = Error::TooManyFiles { limit }.info();
            out.push(DroppedFile { path, root, relative, meta: Err(error) });
            break;
        }
    }
    out
}

/// Add `file` unless it came before; `false` when there is no room for it.
fn push(
    file: DroppedFile,
    out: &mut Vec<DroppedFile>,
    seen: &mut std::collections::HashSet<PathBuf>,
    limit: usize,
) -> bool {
    if seen.contains(&file.path) {
        return true;
    }
    if out.len() >= limit {
        return false;
    }
    seen.insert(file.path.clone());
    out.push(file);
    true
}

/// `false` when the walk stopped at `limit`.
fn expand_one(
    path: &Path,
    out: &mut Vec<DroppedFile>,
    seen: &mut std::collections::HashSet<PathBuf>,
    limit: usize,
) -> bool {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let relative = PathBuf::from(path.file_name().unwrap_or(path.as_os_str()));
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => {
            let Some(found) = walk_folder(&path, &root, out, seen, limit) else {
                return false;
            };
            if !found {
                let error = Error::NothingToUpload(format!("{}: the folder holds no files to upload", path.display()));
                return push(DroppedFile { path, root, relative, meta: Err(error.info()) }, out, seen, limit);
            }
            true
        }
        Ok(meta) if meta.is_file() => push(DroppedFile { path, root, relative, meta: Ok(meta) }, out, seen, limit),
        Ok(_) => {
            let error = Error::NotAFile { path: path.clone() }.info();
            push(DroppedFile { path, root, relative, meta: Err(error) }, out, seen, limit)
        }
        Err(e) => {
            let error = Error::file(&path, e).info();
            push(DroppedFile { path, root, relative, meta: Err(error) }, out, seen, limit)
        }
    }
}

/// Whether the folder holds any file (met before or not); `None` when the walk stopped at
/// `limit`.
fn walk_folder(
    folder: &Path,
    root: &Path,
    out: &mut Vec<DroppedFile>,
    seen: &mut std::collections::HashSet<PathBuf>,
    limit: usize,
) -> Option<bool> {
    let mut ignores = ignore::gitignore::GitignoreBuilder::new(folder);
    for pattern in crate::folders::DEFAULT_IGNORES {
        ignores.add_line(None, pattern).expect("the default ignore patterns parse");
    }
    let ignores = ignores.build().expect("the default ignore patterns build");
    let walker = ignore::WalkBuilder::new(folder)
        .standard_filters(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |e| !ignores.matched(e.path(), e.file_type().is_some_and(|t| t.is_dir())).is_ignore())
        .build();
    let mut found = false;
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path().to_path_buf();
        let relative = path.strip_prefix(root).map(Path::to_path_buf).unwrap_or_else(|_| path.clone());
        let meta = entry.metadata().map_err(|e| {
            let message = e.to_string();
            Error::file(&path, e.into_io_error().unwrap_or_else(|| std::io::Error::other(message))).info()
        });
        found = true;
        if !push(DroppedFile { path, root: root.to_path_buf(), relative, meta }, out, seen, limit) {
            return None;
        }
    }
    Some(found)
}

/// The preview of a drop: each file with its proposed name (from `template`, or the sanitized
/// relative path), its problem and its notice. `taken` answers, for a name, which other file
/// already has it on the destination (the journal's word).
pub fn preview(
    paths: &[PathBuf],
    template: Option<&Template>,
    taken: &dyn Fn(&str, &Path) -> Option<PathBuf>,
) -> Vec<NamedFile> {
    let mut files: Vec<NamedFile> = expand_drop(paths)
        .into_iter()
        .map(|file| {
            let relative = file.relative.to_string_lossy().into_owned();
            let (size, name, problem) = match &file.meta {
                Err(error) => (None, None, Some(NameIssue::from_error(error.clone()))),
                Ok(meta) => {
                    let namer = crate::folders::namer(template.cloned(), file.root.clone());
                    match namer(&file.relative, meta) {
                        Ok(name) => (Some(meta.len()), Some(name), None),
                        Err(e) => (Some(meta.len()), None, Some(NameIssue::from_error(e.info()))),
                    }
                }
            };
            let mtime_ns = file.meta.as_ref().ok().map(crate::journal::mtime_ns);
            // Without a template the name is the path's own, but for what the rules refuse: say what.
            let notice = match (template, &name) {
                (None, Some(name)) => why_renamed(&relative, name).map(|message| NameIssue {
                    code: SANITIZED.into(),
                    rule: None,
                    message,
                }),
                _ => None,
            };
            NamedFile { path: file.path, relative, size, name, problem, notice, mtime_ns }
        })
        .collect();
    // Files named alike (`a/my file.txt`, `b/my_file.txt`) get distinct names, as a sync of
    // them would: a file that went up under the name keeps it, then the file that has the name,
    // and the others are numbered.
    let parsed: Vec<(usize, super::DocName)> = (0..files.len())
        .filter_map(|i| super::DocName::parse(files[i].name.as_deref()?).ok().map(|n| (i, n)))
        .collect();
    let keys: Vec<(&Path, &str)> = parsed.iter().map(|(i, n)| (files[*i].path.as_path(), n.as_str())).collect();
    let mut order = super::claim_order(&keys);
    order.sort_by_key(|&k| taken(keys[k].1, keys[k].0).is_some());
    let resolved = super::resolve_collisions(order.iter().map(|&k| parsed[k].1.clone()).collect(), &|_| false);
    let unique: Vec<(usize, super::DocName)> = order.iter().map(|&k| parsed[k].0).zip(resolved).collect();
    for (i, name) in unique {
        let wanted = files[i].name.clone().unwrap_or_default();
        if name.as_str() != wanted {
            files[i].notice = Some(NameIssue {
                code: RENAMED.into(),
                rule: None,
                message: format!("another file of this drop is also named {wanted:?}: this one is sent as {name}"),
            });
            files[i].name = Some(name.to_string());
        }
    }
    let reviewed = review_names(files.iter().map(|f| f.name.as_deref()));
    for (file, issue) in files.iter_mut().zip(reviewed) {
        if file.problem.is_none() {
            file.problem = issue;
        }
        if let Some(name) = file.name.as_deref() {
            if let Some(other) = taken(name, &file.path) {
                file.notice = Some(NameIssue {
                    code: TAKEN.into(),
                    rule: None,
                    message: format!(
                        "a Doc named {name:?} was already sent from {}: this file will get another name \
                         (such as {:?}) unless you change it",
                        other.display(),
                        super::DocName::parse(name).map(|n| n.with_suffix(1).to_string()).unwrap_or_default()
                    ),
                });
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing_taken(_: &str, _: &Path) -> Option<PathBuf> {
        None
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn files_and_folders_get_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("field report.txt");
        write(&top, "a");
        write(&dir.path().join("Photos/2024/Été 1.JPG"), "bb");
        write(&dir.path().join("Photos/notes.md"), "c");
        write(&dir.path().join("Photos/.DS_Store"), "junk");
        write(&dir.path().join("Photos/upload.part"), "half");
        let notes = dir.path().join("Photos/notes.md");
        let out = preview(&[top.clone(), dir.path().join("Photos"), notes], None, &nothing_taken);
        let names: Vec<(&str, Option<&str>)> = out.iter().map(|f| (f.relative.as_str(), f.name.as_deref())).collect();
        assert_eq!(
            names,
            [
                ("field report.txt", Some("field_report.txt")),
                ("Photos/2024/Été 1.JPG", Some("Photos/2024/Ete_1.JPG")),
                ("Photos/notes.md", Some("Photos/notes.md")),
            ]
        );
        assert_eq!(out[1].size, Some(2));
        assert_eq!(out[1].path, dir.path().join("Photos/2024/Été 1.JPG"));
        assert!(out.iter().all(|f| f.problem.is_none()), "{out:?}");
        // A name that is not the file's own says why; one that is says nothing.
        let why = |i: usize| out[i].notice.as_ref().map(|n| (n.code.as_str(), n.message.as_str()));
        assert_eq!(why(0), Some((SANITIZED, "renamed: spaces are not allowed")));
        assert_eq!(
            why(1),
            Some((
                SANITIZED,
                "renamed: spaces are not allowed; accents and other non-ASCII letters are spelled in ASCII"
            ))
        );
        assert_eq!(why(2), None);
    }

    #[test]
    fn a_template_names_the_files() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("scans/a b.pdf"), "x");
        let template = Template::parse("archive/{dir}/{stem}-{hash8}.{ext}").unwrap();
        let out = preview(&[dir.path().join("scans")], Some(&template), &nothing_taken);
        // sha256("x") = 2d711642…
        assert_eq!(out[0].name.as_deref(), Some("archive/scans/a_b-2d711642.pdf"));
        // A template that gives a top-level file no name says so for that file alone.
        write(&dir.path().join("top.txt"), "t");
        let template = Template::parse("{dir}").unwrap();
        let out = preview(&[dir.path().join("top.txt"), dir.path().join("scans")], Some(&template), &nothing_taken);
        assert_eq!(out[0].name, None);
        let problem = out[0].problem.as_ref().unwrap();
        assert_eq!(problem.code, "template.invalid");
        assert!(problem.message.contains("gives no name"), "{problem:?}");
        assert_eq!(out[1].name.as_deref(), Some("scans"));
    }

    #[test]
    fn unreadable_paths_and_empty_folders_are_reported_not_dropped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        let out = preview(&[dir.path().join("gone.txt"), dir.path().join("empty")], None, &nothing_taken);
        let codes: Vec<_> = out.iter().map(|f| f.problem.as_ref().map(|p| p.code.as_str())).collect();
        assert_eq!(codes, [Some("file.not_found"), Some("upload.nothing")]);
        assert!(out[1].problem.as_ref().unwrap().message.contains("no files"));
        assert!(out.iter().all(|f| f.name.is_none()));
    }

    #[test]
    fn a_walk_stops_at_the_limit_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..10 {
            write(&dir.path().join(format!("big/{i:02}.txt")), "x");
        }
        write(&dir.path().join("one.txt"), "1");
        let out = expand_drop_limited(&[dir.path().join("one.txt"), dir.path().join("big")], 4);
        assert_eq!(out.len(), 5, "4 files, then the entry that says the walk was cut");
        assert!(out[..4].iter().all(|f| f.meta.is_ok()));
        let last = out.last().unwrap();
        let error = last.meta.as_ref().err().unwrap();
        assert_eq!((error.code.as_str(), last.path.as_path()), (TOO_MANY, dir.path().join("big").as_path()));
        assert!(error.message.contains("more than 4 files"), "{error:?}");
        // Within the limit, nothing is added; a file met twice is counted once.
        let out = expand_drop_limited(&[dir.path().join("big"), dir.path().join("big/00.txt")], 10);
        assert_eq!(out.len(), 10);
        assert!(out.iter().all(|f| f.meta.is_ok()));
        // A folder dropped twice is not "empty" the second time.
        let out = expand_drop_limited(&[dir.path().join("big"), dir.path().join("big")], 100);
        assert_eq!(out.len(), 10);
        assert!(out.iter().all(|f| f.meta.is_ok()));

        let named = |code: &str| NamedFile {
            path: PathBuf::new(),
            relative: String::new(),
            size: None,
            name: None,
            problem: Some(NameIssue { code: code.into(), rule: None, message: String::new() }),
            notice: None,
            mtime_ns: None,
        };
        assert_eq!(cut_short(&[named(TOO_MANY)]).unwrap_err().code(), "preview.too_many");
        assert!(cut_short(&[named("file.not_found")]).is_ok());
        assert!(cut_short(&[]).is_ok());
    }

    #[test]
    fn names_that_collide_in_the_batch_are_numbered_the_same_way_every_time() {
        let dir = tempfile::tempdir().unwrap();
        // Two files whose names sanitize to the same Doc name, and one that is fine.
        write(&dir.path().join("a/my file.txt"), "1");
        write(&dir.path().join("b/my_file.txt"), "2");
        write(&dir.path().join("c/other.txt"), "3");
        let paths: Vec<PathBuf> =
            ["a/my file.txt", "b/my_file.txt", "c/other.txt"].iter().map(|p| dir.path().join(p)).collect();
        for paths in [paths.clone(), paths.iter().rev().cloned().collect()] {
            let out = preview(&paths, None, &nothing_taken);
            let by_file: HashMap<_, _> = out.iter().map(|f| (f.relative.as_str(), f)).collect();
            // The file that has the name keeps it; the other is numbered, and told why.
            assert_eq!(by_file["my_file.txt"].name.as_deref(), Some("my_file.txt"));
            let spaced = by_file["my file.txt"];
            assert_eq!(spaced.name.as_deref(), Some("my_file-1.txt"));
            assert_eq!(spaced.notice.as_ref().map(|n| n.code.as_str()), Some(RENAMED));
            assert!(out.iter().all(|f| f.problem.is_none()), "{out:?}");
        }
        // Names a person gives twice are still a problem.
        let reviewed = review_names([Some("x.txt"), Some("x.txt")]);
        assert_eq!(reviewed[0].as_ref().map(|p| p.code.as_str()), Some(DUPLICATE));
    }

    #[test]
    fn names_already_sent_from_other_files_are_notices() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("report.pdf"), "new");
        let elsewhere = PathBuf::from("/old/report.pdf");
        let taken = |name: &str, path: &Path| (name == "report.pdf" && path != elsewhere).then(|| elsewhere.clone());
        let out = preview(&[dir.path().join("report.pdf")], None, &taken);
        let notice = out[0].notice.as_ref().unwrap();
        assert_eq!(notice.code, TAKEN);
        assert!(notice.message.contains("/old/report.pdf") && notice.message.contains("report-1.pdf"), "{notice:?}");
        assert_eq!(out[0].problem, None, "a notice does not block");
    }

    #[test]
    fn edited_names_are_validated_with_the_rule_they_break() {
        assert_eq!(validate_name("Certifications/cert_2022.txt"), None);
        let issue = validate_name("my report.pdf").unwrap();
        assert_eq!((issue.code.as_str(), issue.rule.as_deref()), ("doc_name.invalid", Some("bad_character")));
        assert!(issue.message.contains("' ' (position 3)"), "{issue:?}");
        let issue = validate_name("a//b").unwrap();
        assert_eq!(issue.rule.as_deref(), Some("empty_segment"));
        assert!(issue.message.contains("'/'"), "{issue:?}");
        assert_eq!(validate_name("archive.tar.gz").unwrap().rule.as_deref(), Some("multiple_extensions"));
    }

    #[test]
    fn review_checks_rules_first_then_duplicates() {
        let out = review_names([Some("a.txt"), Some("a b"), None, Some("a.txt"), Some("A.txt")]);
        let codes: Vec<_> = out.iter().map(|i| i.as_ref().map(|i| i.code.as_str())).collect();
        assert_eq!(codes, [Some(DUPLICATE), Some("doc_name.invalid"), None, Some(DUPLICATE), None]);
    }

    /// The window checks names as they are typed with a TypeScript mirror of `check`
    /// (ui/src/lib/naming.ts); its tests and this one hold both to the same answers, kept in
    /// ui/src/lib/naming.fixtures.json. `TWINDROP_BLESS=1` writes the engine's answers there.
    #[test]
    fn the_window_s_mirror_has_the_engine_s_answers() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/naming.fixtures.json");
        let long = "x".repeat(super::super::NAME_MAX + 1);
        let names = [
            "report.pdf",
            "Certifications/certification_2022_v1.txt",
            "a/b/c/d/e/f.md",
            "",
            &long,
            "file.txt\n",
            "/a",
            "a/",
            "a//b",
            "a/b/c/d/e/f/g.txt",
            "a/b/c/d/e/f/g",
            "dir.v2/x",
            "my file.txt",
            "a b",
            "é/x",
            "aéb",
            "a\tb/c",
            "a~b",
            "a\nb",
            "a\n\n",
            ".env",
            "a/.",
            "archive.tar.gz",
            "file.",
            "data.parquet_v2",
            "name.toolongext",
            "ab/c.t-x",
            "ab/cé",
            "quo'te",
            "back\\slash",
            "ctl\u{1}x",
            "emoji😀.txt",
            "x.😀",
            "a\rb",
            "line\u{2028}.txt",
            "a\u{a0}b",
            "e\u{301}x",
            "a\u{200b}b",
            "\u{feff}bom",
        ];
        let long_part = format!("a/{}", "s".repeat(33));
        let long_base = format!("{}{}", "x".repeat(32), "y".repeat(9));
        let cases: Vec<serde_json::Value> = names
            .iter()
            .copied()
            .chain([long_part.as_str(), long_base.as_str()])
            .map(|name| {
                let issue = validate_name(name);
                serde_json::json!({
                    "name": name,
                    "rule": issue.as_ref().and_then(|i| i.rule.clone()),
                    "message": issue.map(|i| i.message),
                })
            })
            .collect();
        let want = serde_json::to_string_pretty(&serde_json::json!({ "cases": cases })).unwrap() + "\n";
        if std::env::var("TWINDROP_BLESS").as_deref() == Ok("1") {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(have == want, "{} is not the engine's answers: run this test with TWINDROP_BLESS=1", path.display());
    }
}
