//! Checks any reader can make of the layout (issue 11), run as tests so they
//! stay true: only a storage engine's backend names it (sled, redb); the `aduan` binary's modules
//! import each other without a loop; `serve` fits on one screen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each storage engine and the one crate allowed to name it: the embedded
/// backend of the log, and that of the derived-state trees.
const ENGINES: [(&str, &str); 2] = [("sled", "services/log-sled"), ("redb", "services/kv-redb")];
/// The most lines `fn serve` may take.
const SCREEN: usize = 60;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Every file under `dir` whose name ends with `ext`.
fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() && name != "target" && !name.starts_with('.') {
            files(&p, ext, out);
        } else if name.ends_with(ext) {
            out.push(p);
        }
    }
}

/// True when `code` uses the crate `engine`'s path (`sled::…`), not a name
/// that merely ends in it (`aduan_log_sled::…`).
fn names(code: &str, engine: &str) -> bool {
    code.match_indices(&format!("{engine}::")).any(|(i, _)| {
        code[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

#[test]
fn only_a_storage_engines_backend_names_it() {
    let root = root();
    let mut found = Vec::new();
    for top in ["services", "tests", "fuzz", "proto"] {
        let mut all = Vec::new();
        files(&root.join(top), ".rs", &mut all);
        files(&root.join(top), "Cargo.toml", &mut all);
        for f in all {
            let rel = f.strip_prefix(&root).expect("under root");
            if rel.ends_with(file!()) {
                continue;
            }
            let text = std::fs::read_to_string(&f).expect("read");
            for (engine, backend) in ENGINES {
                if rel.starts_with(backend) {
                    continue;
                }
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("");
                    let dep = line.trim_start().starts_with(engine);
                    if names(code, engine) || (rel.ends_with("Cargo.toml") && dep) {
                        found.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "a storage engine named outside its backend:\n{}",
        found.join("\n")
    );
}

/// `use super::x` / `use crate::cmd::x` edges between the binary's modules.
fn module_edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("services/aduan/src");
    let mut all = Vec::new();
    files(&src, ".rs", &mut all);
    let names: BTreeSet<String> = all
        .iter()
        .filter_map(|f| f.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let mut edges = BTreeMap::new();
    for f in &all {
        let me = f.file_stem().expect("stem").to_string_lossy().into_owned();
        let text = std::fs::read_to_string(f).expect("read");
        let mut to = BTreeSet::new();
        for line in text.lines().map(str::trim) {
            let Some(path) = line.strip_prefix("use ") else {
                continue;
            };
            let path = path
                .trim_start_matches("crate::cmd::")
                .trim_start_matches("crate::")
                .trim_start_matches("super::");
            // `use super::x::…;` names x; `use super::{x, y::…};` names x and y.
            let heads: Vec<&str> = match path.strip_prefix('{') {
                Some(group) => group.split(['}', ',']).map(str::trim).collect(),
                None => vec![path],
            };
            for head in heads {
                let first = head.split([':', ';', ' ']).next().unwrap_or("");
                if first != me && names.contains(first) && !matches!(first, "main" | "mod") {
                    to.insert(first.to_owned());
                }
            }
        }
        edges.insert(me, to);
    }
    edges
}

#[test]
fn the_binarys_modules_import_each_other_without_a_loop() {
    let edges = module_edges();
    // Depth-first search for a back edge.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut cycle = path[i..].to_vec();
            cycle.push(n.to_owned());
            return Some(cycle);
        }
        if !done.insert(n.to_owned()) {
            return None;
        }
        path.push(n.to_owned());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for n in edges.keys() {
        let cycle = visit(n, &edges, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "import loop: {}",
            cycle.unwrap_or_default().join(" -> ")
        );
    }
}

#[test]
fn serve_fits_on_one_screen() {
    let text =
        std::fs::read_to_string(root().join("services/aduan/src/cmd/serve.rs")).expect("serve.rs");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("pub fn serve("))
        .expect("fn serve");
    let len = lines[start..]
        .iter()
        .position(|l| *l == "}")
        .expect("end of fn serve")
        + 1;
    assert!(len <= SCREEN, "fn serve is {len} lines (at most {SCREEN})");
}
