//! The crate's modules form layers, each using only those below it (and its own layer): read from the
//! `use crate::…` and `use super::…` lines (and inline `crate::module::` paths) of each module's non-test
//! code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer order, bottom first. A new module must be placed here.
const LAYERS: &[(&str, u32)] = &[
    // Signing, errors, endpoints, environment, and what every call carries.
    ("context", 0),
    ("endpoints", 0),
    ("environment", 0),
    ("error", 0),
    ("redact", 0),
    ("sign", 0),
    // One request on the wire: sign, send, classify; per-endpoint gates; batching of members.
    ("batch", 1),
    ("gate", 1),
    ("transport", 1),
    // The retry policy, and the loop that applies it.
    ("retry", 2),
    // Credential sources: STS, metadata, URI and OIDC loaders on top of the request layer.
    ("credentials", 3),
    // Settings resolved into a client's configuration.
    ("settings", 4),
    // The client.
    ("client", 5),
    // Operations.
    ("ecd", 6),
    ("ecs", 6),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every module file with the module it belongs to (`src/credentials/chain.rs` belongs to `credentials`).
/// `credentials/testing.rs` is compiled for tests only.
fn module_files() -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(src()).expect("src");
    for entry in entries.map(|e| e.expect("entry").path()) {
        if entry.is_dir() {
            let module = entry
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            for file in std::fs::read_dir(&entry)
                .expect("dir")
                .map(|e| e.expect("entry").path())
            {
                if file.file_name().is_some_and(|n| n != "testing.rs") {
                    files.push((module.clone(), file));
                }
            }
        } else if entry.file_name().is_some_and(|n| n != "lib.rs") {
            let module = entry
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            files.push((module, entry));
        }
    }
    files.sort();
    files
}

/// The code before the first top-level `#[cfg(test)]`.
fn non_test_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let end = text.find("\n#[cfg(test)]").unwrap_or(text.len());
    text[..end].to_string()
}

/// The `use` statements of `code`, each on one line.
fn use_statements(code: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current: Option<String> = None;
    for line in code.lines().map(str::trim) {
        if current.is_none() {
            let rest = ["use ", "pub use ", "pub(crate) use "]
                .iter()
                .find_map(|p| line.strip_prefix(p));
            match rest {
                Some(rest) => current = Some(rest.to_string()),
                None => continue,
            }
        } else if let Some(s) = current.as_mut() {
            s.push(' ');
            s.push_str(line);
        }
        if current.as_deref().is_some_and(|s| s.ends_with(';')) {
            let s = current.take().unwrap_or_default();
            statements.push(s.trim_end_matches(';').to_string());
        }
    }
    statements
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |e| format!("{prefix}{e}")))
        .collect()
}

/// What the crate root re-exports: item name → the module it comes from.
fn root_reexports() -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let mut items = BTreeMap::new();
    for statement in use_statements(&lib) {
        for path in expand(&statement) {
            let segments: Vec<&str> = path.split("::").map(str::trim).collect();
            if let (Some(module), Some(item)) = (segments.first(), segments.last()) {
                let item = item.rsplit(" as ").next().unwrap_or(item).trim();
                items.insert(item.to_string(), module.to_string());
            }
        }
    }
    items
}

/// The modules `module`'s file at `path` uses, other than itself.
fn dependencies(
    module: &str,
    path: &Path,
    reexports: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    // `super` is the crate root in `src/x.rs` and `src/x/mod.rs`, and module `x` in `src/x/y.rs`.
    let top_level =
        path.parent() == Some(src().as_path()) || path.file_name().is_some_and(|n| n == "mod.rs");
    let code = non_test_code(path);
    let mut first_segments = Vec::new();
    for statement in use_statements(&code) {
        for p in expand(&statement) {
            let rest = if let Some(rest) = p.strip_prefix("crate::") {
                rest
            } else if let Some(rest) = p.strip_prefix("super::") {
                if !top_level {
                    continue;
                }
                rest
            } else {
                continue;
            };
            first_segments.push(
                rest.split("::")
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            );
        }
    }
    // Paths written inline, outside comments.
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + "crate::".len()..];
            let segment: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if rest[segment.len()..].starts_with("::") {
                first_segments.push(segment);
            }
        }
    }
    first_segments
        .into_iter()
        .filter(|s| s != "self" && !s.is_empty())
        .map(|s| {
            if LAYERS.iter().any(|(m, _)| *m == s) {
                s
            } else {
                reexports.get(&s).cloned().unwrap_or_else(|| {
                    panic!(
                        "{}: crate::{s} is neither a module nor re-exported",
                        path.display()
                    )
                })
            }
        })
        .filter(|m| m != module)
        .collect()
}

fn layer(module: &str) -> u32 {
    LAYERS
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, l)| *l)
        .unwrap_or_else(|| panic!("module {module} has no layer in LAYERS"))
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let reexports = root_reexports();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, path) in module_files() {
        let deps = dependencies(&module, &path, &reexports);
        graph.entry(module).or_default().extend(deps);
    }
    graph
}

#[test]
fn every_module_has_a_layer() {
    for module in graph().keys() {
        layer(module);
    }
}

#[test]
fn no_module_imports_one_above_it() {
    let mut upward = Vec::new();
    for (module, deps) in graph() {
        for dep in deps {
            if layer(&dep) > layer(&module) {
                upward.push(format!(
                    "{module} (layer {}) → {dep} (layer {})",
                    layer(&module),
                    layer(&dep)
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports from a lower layer up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_import_cycles() {
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(i) = path.iter().position(|m| m == module) {
            panic!("import cycle: {} → {module}", path[i..].join(" → "));
        }
        if done.contains(module) {
            return;
        }
        path.push(module.to_string());
        for dep in graph.get(module).into_iter().flatten() {
            visit(dep, graph, path, done);
        }
        path.pop();
        done.insert(module.to_string());
    }
    let graph = graph();
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_reader_sees_imports() {
    // The parser itself, on the shapes the crate uses.
    assert_eq!(
        expand("super::{BoxFuture, sts::{self, AssumeRole}}"),
        [
            "super::BoxFuture",
            "super::sts::self",
            "super::sts::AssumeRole"
        ]
    );
    let client = src().join("client.rs");
    let deps = dependencies("client", &client, &root_reexports());
    assert!(
        deps.contains("retry") && deps.contains("transport"),
        "{deps:?}"
    );
}
