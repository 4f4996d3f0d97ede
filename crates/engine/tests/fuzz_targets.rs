//! The fuzz targets' bodies (`twindrop_engine::fuzzing`, called by `fuzz/fuzz_targets/*`) run
//! as ordinary tests, in the main debug build: on generated inputs, shaped and arbitrary, on
//! the seeds below, and on whatever a local `cargo +nightly fuzz run` left in `fuzz/corpus/`
//! and `fuzz/artifacts/` (both ignored by git), so a crash found by a long run stays replayed.
//! This replaces 15 s of libFuzzer per target in the test command, whose nightly sanitizer
//! build alone cost minutes; the real fuzzing is the long run in the README.

use std::path::Path;

use proptest::prelude::*;
use twindrop_engine::fuzzing::{Body, TARGETS};

/// Per strategy and target. The bodies take microseconds, so this costs about a second.
const CASES: u32 = 2_000;

fn body(target: &str) -> Body {
    TARGETS.iter().find(|(name, _)| *name == target).unwrap().1
}

/// Inputs known to reach each target's corners: the edges of each parser, and texts a
/// sanitizer or a renderer once got wrong in the naming property tests.
fn seeds(target: &str) -> Vec<&'static [u8]> {
    let seeds: &[&str] = match target {
        "sanitize" => &[
            "",
            "/",
            "..",
            "a/../b",
            "Été/naïve café.TXT",
            "a//b\\c:d*e?f\"g<h>i|j",
            "x.tar.gz",
            ".hidden",
            "name.",
            "a/b/c/d/e/f/g/h/i.txt",
            "\u{0}\u{7f}\u{feff}😀.png",
            "0123456789012345678901234567890123456789.verylongextension",
        ],
        "template" => &[
            "{dir}/{stem}.{ext}\nphotos/2024/IMG 0001.JPG",
            "{date:%Y-%m}/{name}\nREADME",
            "{hash8}-{path}\n../../etc/passwd",
            "{{literal}}\nf",
            "{date:%}\nf",
            "{date:%Q}\nf",
            "{unknown}\nf",
            "{",
            "}",
            "{stem}.{ext}\n.ext",
            "{dir}\n",
        ],
        "range" => &[
            "bytes=0-0",
            " bytes=0-41 ",
            "bytes=0- 7",
            "bytes=0-18446744073709551614",
            "bytes=0-18446744073709551615",
            "bytes=0-99999999999999999999",
            "bytes=1-5",
            "bytes=0--1",
            "bytes=0-",
            "",
        ],
        "error_bodies" => &[
            "",
            "<Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>",
            "<Code>NoSuchKey</Code>",
            "<Message>only a message</Message>",
            "<Code></Code><Message></Message>",
            "<Code>a</Code",
            r#"{"error":{"status":400,"message":"Invalid table"}}"#,
            r#"{"error":"x"}"#,
            "https://bucket.oss.example/key?OSSAccessKeyId=a&Signature=s",
        ],
        _ => unreachable!("{target}"),
    };
    seeds.iter().map(|s| s.as_bytes()).collect()
}

#[test]
fn every_fuzz_target_has_its_body_here() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut here: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    here.sort();
    assert_eq!(on_disk, here, "a target added to fuzz/ needs its body in engine::fuzzing and seeds here");
    for (name, _) in TARGETS {
        let source = std::fs::read_to_string(dir.join(format!("{name}.rs"))).unwrap();
        assert!(source.contains("twindrop_engine::fuzzing::"), "{name}.rs should only call its body");
    }
}

#[test]
fn the_seeds_and_any_local_corpus_pass() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    for (name, check) in TARGETS {
        for seed in seeds(name) {
            check(seed);
        }
        for kept in ["corpus", "artifacts"] {
            let Ok(entries) = std::fs::read_dir(fuzz.join(kept).join(name)) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_file() {
                    let input = std::fs::read(&path).unwrap();
                    // A panic names the file, for `cargo fuzz run TARGET FILE`.
                    let outcome = std::panic::catch_unwind(|| check(&input));
                    assert!(outcome.is_ok(), "{name}: {} fails", path.display());
                }
            }
        }
    }
}

/// Any text; and paths made of awkward parts (dots, separators, non-ASCII, long runs).
fn path_like() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        "[a-zA-Z0-9 ._~-]{0,40}",
        "[\\\\:*?\"<>|\\x00-\\x1f]{1,4}",
        "\\PC{0,12}",
        Just("..".to_owned()),
        Just(".".to_owned()),
        "[a-z]{1,8}\\.[A-Za-z0-9]{0,12}",
    ];
    prop::collection::vec(part, 0..9).prop_map(|parts| parts.join("/"))
}

fn template_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{path}".to_owned()),
        Just("{dir}".to_owned()),
        Just("{name}".to_owned()),
        Just("{stem}".to_owned()),
        Just("{ext}".to_owned()),
        Just("{hash8}".to_owned()),
        Just("{date}".to_owned()),
        "\\{date:[%a-zA-Z0-9 :./_-]{0,10}\\}",
        "[{}]{1,2}",
        "[a-z0-9 ./_-]{0,10}",
        "\\PC{0,4}",
    ];
    (prop::collection::vec(piece, 0..8), path_like()).prop_map(|(pieces, path)| format!("{}\n{path}", pieces.concat()))
}

fn range_like() -> impl Strategy<Value = String> {
    ("[ \t]{0,2}", prop_oneof!["bytes=0-", "bytes=[0-9]{1,3}-", "[a-z=]{0,8}"], "[ 0-9+-]{0,24}", "[ \t\r\n]{0,2}")
        .prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}"))
}

fn error_body_like() -> impl Strategy<Value = Vec<u8>> {
    let text = "\\PC{0,300}";
    let xml = (text, text).prop_map(|(code, message)| {
        format!("<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>")
    });
    let json = (any::<u8>(), text).prop_map(|(status, message)| {
        format!("{}{{\"error\":{{\"status\":{status},\"message\":{message:?}}}}}", char::from(status % 128))
    });
    prop_oneof![xml, json, text.prop_map(String::from)].prop_map(String::into_bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn any_bytes_pass_every_body(data in prop::collection::vec(any::<u8>(), 0..512)) {
        for (_, check) in TARGETS {
            check(&data);
        }
    }

    #[test]
    fn paths_sanitize(path in path_like()) {
        body("sanitize")(path.as_bytes());
    }

    #[test]
    fn templates_render(text in template_like()) {
        body("template")(text.as_bytes());
    }

    #[test]
    fn ranges_parse_or_are_refused(text in range_like()) {
        body("range")(text.as_bytes());
    }

    #[test]
    fn error_bodies_are_summarised(body_bytes in error_body_like()) {
        body("error_bodies")(&body_bytes);
    }
}
