//! The module order `lib.rs` documents, checked: every `crate::<module>` path in a module's
//! source (outside comments) names a module listed before it. Only `cli` captures the
//! environment.

use std::path::{Path, PathBuf};

/// Lowest layer first, as in `lib.rs`.
const ORDER: [&str; 18] = [
    "image",
    "config",
    "goquote",
    "gotemplate",
    "gobinary",
    "env",
    "registry",
    "daemon",
    "cache",
    "build",
    "base",
    "sbom",
    "sign",
    "publish",
    "resolve",
    "ci",
    "report",
    "cli",
];

fn sources(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            sources(&entry.unwrap().path(), files);
        }
    } else if path.is_file() && path.extension().is_some_and(|extension| extension == "rs") {
        files.push(path.to_owned());
    }
}

/// The top-level modules a line's `crate::` paths name (`crate::a::X`, `crate::{a::X, b}`).
fn imported(line: &str) -> Vec<String> {
    let mut modules = Vec::new();
    for (index, _) in line.match_indices("crate::") {
        let rest = &line[index + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => top_level(group),
            None => vec![rest],
        };
        for name in names {
            let module: String = name.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !module.is_empty() {
                modules.push(module);
            }
        }
    }
    modules
}

/// The comma-separated items of a `{...}` group (its opening brace removed), nested groups kept
/// whole.
fn top_level(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (index, character) in group.char_indices() {
        match character {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(group[start..index].trim());
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(group[start..index].trim());
                start = index + 1;
            }
            _ => {}
        }
    }
    items.push(group[start..].trim());
    items
}

#[test]
fn modules_import_only_modules_below_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (rank, module) in ORDER.iter().enumerate() {
        let mut files = Vec::new();
        sources(&root.join(module), &mut files);
        sources(&root.join(format!("{module}.rs")), &mut files);
        assert!(!files.is_empty(), "module `{module}` has no sources");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            // A multi-line `use crate::{...}` group counts as one line.
            let joined = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join(" ")
                .replace("{ ", "{");
            for imported in imported(&joined) {
                let Some(imported_rank) = ORDER.iter().position(|name| *name == imported) else { continue };
                if imported_rank >= rank && imported != *module {
                    violations.push(format!("{}: `{module}` imports `{imported}`", file.display()));
                }
            }
            if joined.contains("Environment::capture") && !["cli", "env"].contains(module) {
                violations.push(format!("{}: `{module}` captures the environment", file.display()));
            }
        }
    }
    violations.sort();
    violations.dedup();
    assert!(violations.is_empty(), "module order broken:\n{}", violations.join("\n"));
}

#[test]
fn every_module_is_in_the_order() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if ["lib", "main", "dependency_rules"].contains(&name.as_str()) {
            continue;
        }
        assert!(ORDER.contains(&name.as_str()), "`{name}` is not in lib.rs's module order");
    }
}

#[test]
fn imported_modules_are_found_in_paths_and_groups() {
    assert_eq!(imported("use crate::image::Digest;"), ["image"]);
    assert_eq!(imported("use crate::{build::Built, image};"), ["build", "image"]);
    assert_eq!(imported("use crate::{build::{self, base}, sbom::X};"), ["build", "sbom"]);
    assert_eq!(imported("let x = crate::registry::pull::get(a, crate::image::X);"), ["registry", "image"]);
}
