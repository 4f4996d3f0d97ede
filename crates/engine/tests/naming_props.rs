//! Properties of doc-name sanitizing over any path: every result is valid under the strict
//! reading of the spec's regex (checked here with a regex of our own, not the engine's), the
//! same input gives the same output, a batch comes out unique, and valid names pass unchanged.

use std::collections::HashSet;
use std::path::Path;
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, TimeZone};
use proptest::collection::vec;
use proptest::prelude::*;
use regex::Regex;
use twindrop_engine::naming::{self, resolve_collisions, sanitize, Template, TemplateInput};
use twindrop_engine::DocName;

/// Spec §6, copied by hand from /work/shared/spec/trustedtwin-api.md.
const SPEC_PATTERN: &str = r"^([a-zA-Z0-9_-]{1,32}\/){0,5}([a-zA-Z0-9_-]{1,32})(.[a-zA-Z0-9]{1,8})?$";

/// The spec's pattern with its dot escaped; `regex`'s `$` is the very end of the text.
static STRICT: LazyLock<Regex> = LazyLock::new(|| Regex::new(&SPEC_PATTERN.replace("(.[", r"(\.[")).unwrap());
static PUBLISHED: LazyLock<Regex> = LazyLock::new(|| Regex::new(SPEC_PATTERN).unwrap());

const CASES: u32 = 2000;

/// Python's `re.match` with `$` also matching before one final newline.
fn published_match(name: &str) -> bool {
    PUBLISHED.is_match(name) || name.strip_suffix('\n').is_some_and(|n| PUBLISHED.is_match(n))
}

/// What the sanitizer promises to error on: a path whose parts, after dropping empty ones and
/// `.` and letting `..` remove the one before, leave nothing.
fn names_nothing(path: &str) -> bool {
    let mut depth = 0usize;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => depth = depth.saturating_sub(1),
            _ => depth += 1,
        }
    }
    depth == 0
}

fn chars(range: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    vec(any::<char>(), range).prop_map(String::from_iter)
}

/// One path part, from ordinary to hostile.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_-]{1,34}",
        2 => "[a-zA-Z0-9 ._-]{0,14}",
        1 => prop_oneof![Just(String::new()), Just(".".to_owned()), Just("..".to_owned()), Just("...".to_owned())],
        1 => "[ \t\r\n]{1,4}",
        1 => "\\p{Cc}{1,6}",
        2 => "\\PC{1,24}",
        2 => chars(0..24),
        1 => "[a-zA-Z]{30,300}",
        1 => "[a-zA-Zé ]{1,20}\\.[a-z_]{0,12}(\\.[a-zA-Z0-9]{0,10})?",
        1 => "\\.[a-z]{0,10}",
        1 => "[\\p{Han}\\p{Cyrillic}\\p{Greek}\\p{Arabic}]{1,40}",
        1 => "[\u{1F300}-\u{1F6FF}\u{200B}-\u{200F}\u{FE0F}\u{0300}-\u{036F}]{1,6}",
    ]
}

/// Any path: a few parts, very many parts, or an arbitrary string with its own slashes.
fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => vec(segment(), 1..9).prop_map(|p| p.join("/")),
        2 => vec(segment(), 6..60).prop_map(|p| p.join("/")),
        1 => chars(0..200),
        1 => "[/. a]{0,16}",
    ]
}

fn valid_name() -> impl Strategy<Value = String> {
    "([a-zA-Z0-9_-]{1,32}/){0,5}[a-zA-Z0-9_-]{1,32}(\\.[a-zA-Z0-9]{1,8})?"
}

fn template() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{path}"),
        Just("{dir}"),
        Just("{name}"),
        Just("{stem}"),
        Just("{ext}"),
        Just("{date}"),
        Just("{date:%Y-%m}"),
        Just("{date:%Y/%m/%d %H:%M:%S%z}"),
        Just("{hash8}"),
        Just("/"),
        Just("."),
        Just("-"),
        Just("uploads"),
        Just(" é "),
        Just("{{"),
    ];
    vec(piece, 1..8).prop_map(|p| p.concat())
}

fn modified() -> impl Strategy<Value = DateTime<FixedOffset>> {
    (0i64..4_102_444_800, -43_200i32..=50_400)
        .prop_map(|(secs, off)| FixedOffset::east_opt(off).unwrap().timestamp_opt(secs, 0).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// 1. Valid under the strict regex, or an explicit error exactly when the path names nothing.
    #[test]
    fn any_path_gives_a_strict_name_or_an_explicit_error(path in path()) {
        match sanitize(&path) {
            Ok(name) => {
                prop_assert!(STRICT.is_match(name.as_str()), "{:?} -> {:?}", path, name.as_str());
                prop_assert!(naming::check(name.as_str()).is_ok());
                prop_assert!(!names_nothing(&path), "{:?} names nothing yet gave {:?}", path, name.as_str());
            }
            Err(e) => {
                prop_assert_eq!(e.code(), "name.invalid");
                prop_assert!(names_nothing(&path), "{:?}: {}", path, e);
            }
        }
        #[cfg(unix)]
        prop_assert_eq!(
            naming::sanitize_path(Path::new(&path)).ok(),
            sanitize(&path).ok(),
            "on Unix an OS path and a '/' string agree"
        );
    }

    /// 2. Deterministic, for a single path and for a whole batch with collisions.
    #[test]
    fn sanitizing_is_deterministic(paths in vec(path(), 1..12)) {
        let run = || {
            let names: Vec<DocName> = paths.iter().filter_map(|p| sanitize(p).ok()).collect();
            // finite, as resolve_collisions requires: a suffixed full-length name keeps its length
            let taken: HashSet<DocName> = names.iter().filter(|n| n.as_str().len() % 3 == 0).cloned().collect();
            resolve_collisions(names, &|n| taken.contains(n))
        };
        prop_assert_eq!(run(), run());
        for p in &paths {
            prop_assert_eq!(sanitize(p).ok(), sanitize(p).ok());
        }
    }

    /// 3. Unique within a batch after `resolve_collisions`, never a taken name, still strict,
    /// and whoever first asks for a free name keeps it.
    #[test]
    fn a_resolved_batch_is_unique(
        pool in vec(path(), 1..8),
        picks in vec(any::<prop::sample::Index>(), 1..60),
        taken_picks in vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let pool: Vec<DocName> = pool.iter().filter_map(|p| sanitize(p).ok()).collect();
        prop_assume!(!pool.is_empty());
        let batch: Vec<DocName> = picks.iter().map(|i| i.get(&pool).clone()).collect();
        let mut taken: HashSet<DocName> = HashSet::new();
        for i in &taken_picks {
            let name = i.get(&pool);
            taken.insert(name.clone());
            taken.insert(name.with_suffix(1));
        }
        let out = resolve_collisions(batch.clone(), &|n| taken.contains(n));
        prop_assert_eq!(out.len(), batch.len());
        let unique: HashSet<&DocName> = out.iter().collect();
        prop_assert_eq!(unique.len(), out.len());
        for (i, (wanted, got)) in batch.iter().zip(&out).enumerate() {
            prop_assert!(!taken.contains(got));
            prop_assert!(STRICT.is_match(got.as_str()));
            if !taken.contains(wanted) && !out[..i].contains(wanted) {
                prop_assert_eq!(got, wanted, "a free name stays with the first who asks for it");
            }
        }
    }

    /// 4. A valid name is its own sanitized form, and sanitizing is idempotent on any output.
    #[test]
    fn valid_names_are_left_unchanged(name in valid_name(), path in path()) {
        prop_assert_eq!(sanitize(&name).unwrap().to_string(), name.clone());
        prop_assert_eq!(DocName::parse(&name).unwrap().to_string(), name.clone());
        if let Ok(once) = sanitize(&path) {
            prop_assert_eq!(sanitize(once.as_str()).unwrap(), once);
        }
    }

    /// The engine's `check` agrees with our own reading of both regexes.
    #[test]
    fn check_matches_both_readings(name in prop_oneof![valid_name(), path(), "[a-z./ \n]{0,14}"]) {
        match naming::check(&name) {
            Ok(()) => prop_assert!(STRICT.is_match(&name)),
            Err(v) => {
                prop_assert!(!STRICT.is_match(&name));
                prop_assert_eq!(v.strict_only, published_match(&name), "{:?}: {:?}", name, v);
                prop_assert_ne!(v.rule, "pattern", "{:?} broke no named rule", name);
                prop_assert!(!v.message.is_empty());
            }
        }
    }

    /// Two long parts that share their first 25 or more characters stay apart.
    #[test]
    fn cut_parts_do_not_collide(prefix in "[a-z_]{25,40}", a in "[a-z0-9]{1,20}", b in "[a-z0-9]{1,20}") {
        prop_assume!(a != b);
        let (x, y) = (format!("{prefix}{a}"), format!("{prefix}{b}"));
        prop_assume!(x.len() > 32 || y.len() > 32);
        prop_assert_ne!(sanitize(&format!("{x}/f")).unwrap(), sanitize(&format!("{y}/f")).unwrap());
        prop_assert_ne!(sanitize(&format!("{x}.txt")).unwrap(), sanitize(&format!("{y}.txt")).unwrap());
    }

    /// `from_file_name` is the one-part case of the sanitizer.
    #[test]
    fn from_file_name_is_the_one_part_case(name in segment()) {
        let name = name.replace('/', "_");
        let path = Path::new("/some/dir").join(&name);
        if let Some(file_name) = path.file_name() {
            let got = DocName::from_file_name(&path).unwrap();
            prop_assert!(STRICT.is_match(got.as_str()));
            prop_assert_eq!(got, sanitize(&file_name.to_string_lossy()).unwrap());
        }
    }

    /// A template renders a strict name or an explicit error, and the usual ones pass a valid
    /// name through unchanged.
    #[test]
    fn templates_render_strict_names(
        source in template(),
        path in path(),
        valid in valid_name(),
        modified in modified(),
        sha in "[0-9a-f]{64}",
    ) {
        let template = Template::parse(&source).unwrap();
        let input = TemplateInput { relative_path: Path::new(&path), modified, sha256: &sha };
        match template.render(&input) {
            Ok(name) => prop_assert!(STRICT.is_match(name.as_str()), "{:?} on {:?} -> {:?}", source, path, name),
            Err(e) => prop_assert_eq!(e.code(), "template.invalid"),
        }
        let input = TemplateInput { relative_path: Path::new(&valid), modified, sha256: &sha };
        for usual in ["{path}", "{dir}/{name}", "{dir}/{stem}.{ext}"] {
            let name = Template::parse(usual).unwrap().render(&input).unwrap();
            prop_assert_eq!(name.as_str(), valid.as_str());
        }
    }
}

#[test]
fn the_engine_publishes_the_spec_pattern() {
    assert_eq!(naming::PUBLISHED_PATTERN, SPEC_PATTERN);
}
