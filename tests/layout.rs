//! The shape the code keeps (issue 27), checked on the sources themselves: no import loop
//! between the files of the window or of the workstation engine, and no type whose public
//! surface runs past 25 methods — views take the rest.
//!
//! A file's imports are its `use crate::…`, `use super::…` and inline `crate::…` paths, resolved
//! to the file of the module they name; a module using its own submodules is composition, not
//! a loop, and `pub use` re-exports are the surface, not a use.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The most public methods one type may have.
const MAX_PUBLIC_METHODS: usize = 25;

type Module = Vec<String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every module of the crate rooted at `src`, by path, with its source (tests cut off).
fn modules(src: &Path) -> BTreeMap<Module, String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files
        .into_iter()
        .map(|file| {
            let relative = file.strip_prefix(src).expect("under src");
            let mut module: Module = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module
                .last()
                .is_some_and(|m| m == "mod" || m == "lib" || m == "main")
            {
                module.pop();
            }
            let text = std::fs::read_to_string(&file).expect("readable source");
            let text = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .to_owned();
            (module, text)
        })
        .collect()
}

/// The longest known module that `path` starts with.
fn resolve(known: &BTreeMap<Module, String>, path: &[String]) -> Option<Module> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|m| known.contains_key(m))
}

/// The paths a file names: `crate::a::b`, `super::c` (with `super::super`), one per segment
/// list; the items inside braces become a path each.
fn named_paths(module: &Module, text: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['c', 's']) {
        let tail = &rest[at..];
        let before = rest[..at].chars().last();
        let boundary = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
        let starts = tail.starts_with("crate::") || tail.starts_with("super::");
        if !(boundary && starts) {
            rest = &tail[1..];
            continue;
        }
        let end = tail
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(tail.len());
        let segments: Vec<&str> = tail[..end].split("::").filter(|s| !s.is_empty()).collect();
        let mut path = if segments[0] == "crate" {
            Vec::new()
        } else {
            module.clone()
        };
        for segment in segments {
            match segment {
                "crate" => {}
                "super" => {
                    path.pop();
                }
                other => path.push(other.to_owned()),
            }
        }
        // `use super::{a, b}`: each item inside the braces.
        if tail[end..].starts_with('{') {
            let close = tail[end..].find('}').map_or(tail.len(), |c| end + c);
            for item in tail[end + 1..close].split(',') {
                let item = item.split(" as ").next().unwrap_or_default().trim();
                if !item.is_empty() {
                    let mut with = path.clone();
                    with.extend(item.split("::").map(str::to_owned));
                    paths.push(with);
                }
            }
        }
        paths.push(path);
        rest = &tail[end..];
    }
    paths
}

/// The files each file uses, leaving out `pub use` re-exports and a module's own submodules.
fn uses(known: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    known
        .iter()
        .map(|(module, text)| {
            let kept: String = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("pub use"))
                .collect::<Vec<_>>()
                .join("\n");
            let targets = named_paths(module, &kept)
                .iter()
                .filter_map(|path| resolve(known, path))
                .filter(|target| target != module && !target.starts_with(module))
                .collect();
            (module.clone(), targets)
        })
        .collect()
}

/// Depth-first search from `node`, returning the stack from where it closes on itself.
fn visit(
    node: &Module,
    graph: &BTreeMap<Module, BTreeSet<Module>>,
    inside: &dyn Fn(&Module) -> bool,
    stack: &mut Vec<Module>,
    done: &mut BTreeSet<Module>,
) -> Option<Vec<Module>> {
    if let Some(at) = stack.iter().position(|m| m == node) {
        return Some(stack[at..].to_vec());
    }
    if !done.insert(node.clone()) {
        return None;
    }
    stack.push(node.clone());
    for next in graph.get(node).into_iter().flatten().filter(|m| inside(m)) {
        if let Some(found) = visit(next, graph, inside, stack, done) {
            return Some(found);
        }
    }
    stack.pop();
    None
}

/// A loop among the modules under `within`, if any.
fn a_loop(graph: &BTreeMap<Module, BTreeSet<Module>>, within: &[&str]) -> Option<Vec<Module>> {
    let within: Module = within.iter().map(|s| (*s).to_owned()).collect();
    let inside = |m: &Module| m.starts_with(&within);
    let mut done = BTreeSet::new();
    graph
        .keys()
        .filter(|m| inside(m))
        .find_map(|start| visit(start, graph, &inside, &mut Vec::new(), &mut done))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn no_import_loop_between_the_files_of_the_window_or_the_engine() {
    for (src, within) in [
        (root().join("src"), vec!["gui"]),
        (root().join("crates/tenure-client/src"), vec![]),
        (root().join("crates/tenure-server/src"), vec![]),
    ] {
        let graph = uses(&modules(&src));
        let found = a_loop(&graph, &within);
        assert!(
            found.is_none(),
            "{} has an import loop: {}",
            src.display(),
            found
                .unwrap_or_default()
                .iter()
                .map(|m| m.join("/"))
                .collect::<Vec<_>>()
                .join(" → ")
        );
    }
}

/// The loop finder finds a loop it is shown (so the test above can fail).
#[test]
fn the_loop_finder_finds_a_loop() {
    let mut known = BTreeMap::new();
    known.insert(vec!["a".to_owned()], "use crate::b::Thing;".to_owned());
    known.insert(vec!["b".to_owned()], "use super::a::{One, Two};".to_owned());
    known.insert(vec!["c".to_owned()], "use crate::a;".to_owned());
    assert!(a_loop(&uses(&known), &[]).is_some());
    known.insert(vec!["b".to_owned()], "pub use super::a::One;".to_owned());
    assert!(a_loop(&uses(&known), &[]).is_none());
}

/// Public methods by type: `pub fn` and `pub async fn` at the first level of `impl Type` blocks
/// (not trait impls), across every crate of the workspace.
fn public_methods() -> BTreeMap<String, usize> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    rust_files(&root().join("crates"), &mut files);
    let mut counts = BTreeMap::new();
    for file in files {
        let path = file.to_string_lossy();
        if path.contains("/tests/") || path.contains("/benches/") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable source");
        let mut current: Option<String> = None;
        for line in text.lines() {
            if line.starts_with("impl") {
                current = (!line.contains(" for ") && line.ends_with('{')).then(|| {
                    let head = line.trim_start_matches("impl").trim_end_matches('{').trim();
                    let head = if head.starts_with('<') {
                        head.split_once('>').map_or(head, |(_, rest)| rest).trim()
                    } else {
                        head
                    };
                    head.split('<').next().unwrap_or(head).trim().to_owned()
                });
            } else if line.starts_with('}') {
                current = None;
            } else if let Some(name) = &current
                && (line.starts_with("    pub fn ") || line.starts_with("    pub async fn "))
            {
                *counts.entry(name.clone()).or_insert(0) += 1;
            }
        }
    }
    counts
}

#[test]
fn no_type_has_more_than_twenty_five_public_methods() {
    let counts = public_methods();
    assert!(
        counts.get("Workstation").is_some_and(|n| *n > 10),
        "{counts:?}"
    );
    let over: Vec<_> = counts
        .iter()
        .filter(|(_, n)| **n > MAX_PUBLIC_METHODS)
        .collect();
    assert!(
        over.is_empty(),
        "public surfaces over {MAX_PUBLIC_METHODS} methods (give the rest a view): {over:?}"
    );
}
