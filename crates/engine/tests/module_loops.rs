//! Lower layers never import higher ones: no module of the engine, the CLI or the desktop shell
//! reaches, through `crate::` paths in its non-test code, a module that reaches back to it. A
//! new loop fails here, naming the modules in it. (The same reading as `shared/tools/modcycles.py`.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module of the crate under `src`, by path (`queue::plan`; the crate root is "").
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).unwrap().with_extension("");
                let mut parts: Vec<String> =
                    relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                    parts.pop();
                }
                out.insert(parts.join("::"), path);
            }
        }
    }
    out
}

/// The text without its `#[cfg(test)] mod … { … }` blocks.
fn without_tests(text: &str) -> String {
    let opening = regex::Regex::new(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{").unwrap();
    let mut out = String::new();
    let mut at = 0;
    for m in opening.find_iter(text) {
        if m.start() < at {
            continue;
        }
        out.push_str(&text[at..m.start()]);
        let mut depth = 1;
        let mut end = m.end();
        for (i, c) in text[m.end()..].char_indices() {
            depth += match c {
                '{' => 1,
                '}' => -1,
                _ => 0,
            };
            if depth == 0 {
                end = m.end() + i + 1;
                break;
            }
        }
        at = end.max(m.end());
    }
    out.push_str(&text[at..]);
    out
}

/// Which modules each module names through `crate::` (not its own ancestors or descendants).
fn edges(modules: &BTreeMap<String, PathBuf>) -> BTreeMap<String, BTreeSet<String>> {
    let path = regex::Regex::new(r"crate::((?:\w+::)*\w+)").unwrap();
    let group = regex::Regex::new(r"crate::\{([^}]*)\}").unwrap();
    let mut out = BTreeMap::new();
    for (module, file) in modules {
        let text = without_tests(&std::fs::read_to_string(file).unwrap());
        let mut refs: BTreeSet<String> = path.captures_iter(&text).map(|c| c[1].to_owned()).collect();
        for g in group.captures_iter(&text) {
            for part in g[1].split(',') {
                let part = part.split(" as ").next().unwrap().replace('{', "");
                if !part.trim().is_empty() {
                    refs.insert(part.trim().to_owned());
                }
            }
        }
        let mut to = BTreeSet::new();
        for r in refs {
            let parts: Vec<&str> = r.split("::").collect();
            let Some(target) = (1..=parts.len()).rev().map(|k| parts[..k].join("::")).find(|c| modules.contains_key(c))
            else {
                continue;
            };
            let related = target == *module
                || target.starts_with(&format!("{module}::"))
                || module.starts_with(&format!("{target}::"));
            if !related {
                to.insert(target);
            }
        }
        out.insert(module.clone(), to);
    }
    out
}

/// The loops: strongly connected groups of more than one module (Tarjan).
fn loops(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on.insert(v);
            for w in &self.g[v] {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    group.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.out.push(group);
                }
            }
        }
    }
    let mut walk =
        Walk { g, index: BTreeMap::new(), low: BTreeMap::new(), stack: vec![], on: BTreeSet::new(), out: vec![] };
    for v in g.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.out
}

#[test]
fn the_engine_the_cli_and_the_shell_have_no_module_loops() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for src in [root.join("src"), root.join("../cli/src"), root.join("../../src-tauri")] {
        let found = loops(&edges(&modules(&src)));
        assert!(found.is_empty(), "{}: module loops {found:?}", src.display());
    }
}

#[test]
fn a_loop_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("lib.rs", "pub mod a; pub mod b; pub mod c;");
    write("a.rs", "use crate::b::Thing;");
    write("b.rs", "use crate::{c, d};");
    write("c.rs", "fn f() { crate::a::go() }\n#[cfg(test)]\nmod tests { use crate::b; }");
    assert_eq!(loops(&edges(&modules(dir.path()))), [["a", "b", "c"]]);
    write("c.rs", "#[cfg(test)]\nmod tests { fn t() { crate::a::go() } }");
    assert!(loops(&edges(&modules(dir.path()))).is_empty(), "test code draws no loop");
}
