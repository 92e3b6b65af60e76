//! The import rule of docs/ARCHITECTURE.md, checked: each folder of the engine imports only the
//! layers below it, and an area only the areas listed before it in `areas/mod.rs`. Test code
//! (after a file's first `#[cfg(test)]`, and `*tests.rs` files) may import anything.

use std::path::{Path, PathBuf};

/// The layers, lowest first; a folder may import its own and those before it.
const LAYERS: &[&str] = &["kernel", "types", "time", "notify", "workflow", "areas"];

/// The areas in the order they may depend on each other.
const AREAS: &[&str] = &[
    "forums",
    "people",
    "documents",
    "meetings",
    "groups",
    "amendments",
    "instruments",
    "deadlines",
    "tasks",
    "reports",
    "mailbox",
];

/// The one kernel file that holds what the layers above load (definitions, subject kinds,
/// templates) without using any of it.
const HANDLE: &str = "kernel/engine.rs";

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The `crate::…` paths a file's non-test code names, as (first segment, second segment).
fn imports(text: &str) -> Vec<(String, String)> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut found = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            let mut segments = rest.split("::").map(|segment| {
                segment
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            });
            let first = segments.next().unwrap_or_default();
            let second = segments.next().unwrap_or_default();
            found.push((first, second));
        }
    }
    found
}

fn allowed(file: &str, first: &str, second: &str) -> bool {
    let folder = file.split('/').next().unwrap_or_default();
    let Some(own) = LAYERS.iter().position(|layer| *layer == folder) else {
        // Files at the crate root (the registry, the demo, test support) assemble the layers.
        return true;
    };
    if file == HANDLE && matches!(first, "workflow" | "notify") {
        return true;
    }
    let Some(target) = LAYERS.iter().position(|layer| *layer == first) else {
        return false;
    };
    if target < own {
        return true;
    }
    if target > own {
        return false;
    }
    if folder != "areas" {
        return true;
    }
    let area = file.split('/').nth(1).unwrap_or_default();
    let position = |name: &str| AREAS.iter().position(|known| *known == name);
    match (position(area), position(second)) {
        (Some(own), Some(other)) => other <= own,
        _ => false,
    }
}

#[test]
fn each_folder_imports_only_the_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for path in files {
        let file = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if file.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (first, second) in imports(&text) {
            checked += 1;
            if !allowed(&file, &first, &second) {
                wrong.push(format!("{file} imports crate::{first}::{second}"));
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} imports were found: is the scan broken?"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_rule_refuses_what_it_should() {
    assert!(allowed("areas/amendments/mod.rs", "areas", "documents"));
    assert!(!allowed("areas/documents/mod.rs", "areas", "amendments"));
    assert!(!allowed("workflow/executor.rs", "areas", "groups"));
    assert!(!allowed("kernel/actor.rs", "workflow", "subjects"));
    assert!(allowed(HANDLE, "workflow", "subjects"));
    assert!(allowed("notify/outbox.rs", "kernel", "error"));
    assert!(!allowed("types/mod.rs", "time", ""));
}
