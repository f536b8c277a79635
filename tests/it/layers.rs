//! The floor plan, enforced (ARCHITECTURE.md): every `crate::` import of a top-level module of
//! `src/` points to a lower floor, so there is no import cycle; no command module imports
//! another; no function outside the emulator is over 100 lines. Read from the source text, so a
//! change that breaks a rule fails CI, not a review. (Issue 30.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The floors, lowest first, each with its one rule. A module may import modules on lower
/// floors only (never its own floor, never above).
const FLOORS: &[(&str, &[&str])] = &[
    (
        "leaves: import nothing of the crate",
        &[
            "error",
            "clock",
            "cloud",
            "files",
            "permissions",
            "interrupt",
        ],
    ),
    (
        "flags and plain services: parse or record, never talk to a tenant",
        &["cli", "metrics", "lock"],
    ),
    ("sign-in: credentials only", &["auth"]),
    ("graph: the only code that speaks HTTP", &["graph"]),
    (
        "the pure core, and the emulator that plays Graph",
        &["writeback", "emulator"],
    ),
    (
        "documents: plain serialisable data, the JSON contract; no I/O",
        &["doc"],
    ),
    (
        "records and the printer: never read a tenant",
        &["journal", "output"],
    ),
    ("notifications: send what they are given", &["notify"]),
    ("configuration: resolved once", &["config"]),
    ("exit codes for every layer's errors", &["exit"]),
    (
        "the change layer: the only code that writes, journals or locks",
        &["change"],
    ),
    ("commands: thin, none imports another", &["commands"]),
    ("the session: one tenant's client and printer", &["session"]),
    ("the dispatcher: a command on a tenant", &["dispatch"]),
    ("the fleet: many tenants", &["fleet"]),
    ("the library's entry: run()", &["lib"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source files of the library (not the binary, not test-only files).
fn library_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|p| p.file_name().unwrap() != "tests.rs" && p.file_name().unwrap() != "main.rs")
        .map(|p| {
            let rel = p
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, without_tests(&std::fs::read_to_string(&p).unwrap()))
        })
        .collect()
}

/// The text without `#[cfg(test)] mod ... { ... }` blocks and without line comments.
fn without_tests(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let next_is_mod = lines
            .get(i + 1)
            .is_some_and(|l| l.trim_start().starts_with("mod ") && l.trim_end().ends_with('{'));
        if lines[i].trim() == "#[cfg(test)]" && next_is_mod {
            let mut depth = 0i32;
            i += 1;
            while i < lines.len() {
                depth += braces(lines[i]);
                i += 1;
                if depth <= 0 {
                    break;
                }
            }
            continue;
        }
        let line = match lines[i].find("//") {
            Some(at) if !lines[i][..at].contains('"') => &lines[i][..at],
            _ => lines[i],
        };
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    out
}

/// The change in brace depth over a line, outside string and char literals and comments.
fn braces(line: &str) -> i32 {
    let mut depth = 0;
    let mut chars = line.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_str => {
                chars.next();
            }
            '"' => in_str = !in_str,
            '\'' if !in_str => {
                // A char literal ('{', '\n'), not a lifetime ('a).
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with('\\') {
                    let close = chars.clone().position(|c| c == '\'').unwrap_or(0);
                    for _ in 0..=close {
                        chars.next();
                    }
                } else if rest.chars().nth(1) == Some('\'') {
                    chars.next();
                    chars.next();
                }
            }
            '/' if !in_str && chars.peek() == Some(&'/') => break,
            '{' if !in_str => depth += 1,
            '}' if !in_str => depth -= 1,
            _ => {}
        }
    }
    depth
}

/// The top-level module a file belongs to (`graph/batch.rs` -> `graph`, `lib.rs` -> `lib`).
fn top(rel: &str) -> String {
    let first = rel.split('/').next().unwrap();
    first.trim_end_matches(".rs").to_string()
}

/// Every `crate::NAME` a text names, with `crate::{a, b::c}` groups opened.
fn crate_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let before_ok = at == 0 || {
            let b = rest.as_bytes()[at - 1];
            !(b.is_ascii_alphanumeric() || b == b'_')
        };
        if before_ok {
            if let Some(group) = after.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        names.insert(name);
                    }
                }
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        }
        rest = &rest[at + "crate::".len()..];
    }
    names
}

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|(_, mods)| mods.contains(&module))
}

/// Which top-level module imports which, and from which files.
fn imports() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let files = library_files();
    let modules: BTreeSet<String> = files.iter().map(|(rel, _)| top(rel)).collect();
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (rel, text) in &files {
        let from = top(rel);
        for name in crate_names(text) {
            // A name at the crate root that is no module is the library's own (lib.rs).
            let to = if modules.contains(&name) {
                name
            } else {
                "lib".to_string()
            };
            if to != from {
                edges
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(rel.clone());
            }
        }
    }
    edges
}

#[test]
fn every_module_of_src_has_a_floor() {
    let files = library_files();
    let missing: BTreeSet<String> = files
        .iter()
        .map(|(rel, _)| top(rel))
        .filter(|m| floor_of(m).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "put each new top-level module on a floor in tests/it/layers.rs and ARCHITECTURE.md: {missing:?}"
    );
}

#[test]
fn every_import_points_down_a_floor_so_there_is_no_cycle() {
    let mut wrong = Vec::new();
    for (from, tos) in imports() {
        let Some(f) = floor_of(&from) else { continue };
        for (to, files) in tos {
            let Some(t) = floor_of(&to) else { continue };
            if t >= f {
                wrong.push(format!(
                    "{from} (floor {f}: {}) imports {to} (floor {t}) in {files:?}",
                    FLOORS[f].0
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up or sideways:\n{}",
        wrong.join("\n")
    );
}

/// The rule above implies no cycle; this says so directly, whatever the floors say, and checks
/// the reader itself finds the imports it should.
#[test]
fn the_module_graph_has_no_cycle() {
    let edges = imports();
    assert!(
        edges["commands"].contains_key("graph") && edges["change"].contains_key("journal"),
        "the import reader finds known imports: {edges:?}"
    );
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for to in edges
            .get(m)
            .map(|t| t.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if let Some(c) = visit(&to, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        if let Some(cycle) = visit(m, &edges, &mut Vec::new(), &mut done) {
            panic!("an import cycle: {}", cycle.join(" -> "));
        }
    }
}

/// The command modules: each file or directory under `src/commands/` but the shared reads.
fn command_modules() -> BTreeSet<String> {
    std::fs::read_dir(src().join("commands"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .filter(|m| m != "mod" && m != "read")
        .collect()
}

#[test]
fn no_command_module_imports_another() {
    let commands = command_modules();
    assert!(commands.contains("disable") && commands.contains("restore"));
    let mut wrong = Vec::new();
    for (rel, text) in library_files() {
        let Some(inside) = rel.strip_prefix("commands/") else {
            continue;
        };
        let own = inside
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        // How this file names its siblings under commands/: `super::` from a file directly in
        // commands/, `super::super::` from a command's own submodule.
        let depth = inside.matches('/').count();
        let sibling = if depth == 0 {
            "super::".to_string()
        } else {
            "super::".repeat(depth + usize::from(!inside.ends_with("mod.rs")))
        };
        for other in &commands {
            if *other == own {
                continue;
            }
            let names = [
                format!("crate::commands::{other}"),
                format!("{sibling}{other}::"),
                format!("{sibling}{{{other}"),
            ];
            if names.iter().any(|n| {
                text.match_indices(n.as_str()).any(|(at, _)| {
                    let after = text[at + n.len()..].chars().next();
                    !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                        && (at == 0 || !text.as_bytes()[at - 1].is_ascii_alphanumeric())
                })
            }) {
                wrong.push(format!("{rel} ({own}) imports the command {other}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "commands share through change/ or commands/read.rs, never each other:\n{}",
        wrong.join("\n")
    );
}

/// Each function's length, from its `fn` line to its closing brace (blank and comment lines
/// included), outside test modules.
fn function_lengths(text: &str) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub(super) "))
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        let t = t.strip_prefix("const ").unwrap_or(t);
        let t = t.strip_prefix("async ").unwrap_or(t);
        let Some(rest) = t.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let mut depth = 0;
        let mut opened = false;
        for (j, l) in lines.iter().enumerate().skip(i) {
            if !opened && l.trim_end().ends_with(';') && !l.contains('{') {
                break; // a declaration in a trait
            }
            let d = braces(l);
            if l.contains('{') {
                opened = true;
            }
            depth += d;
            if opened && depth <= 0 {
                out.push((i + 1, name.clone(), j - i + 1));
                break;
            }
        }
    }
    out
}

#[test]
fn no_function_outside_the_emulator_is_over_100_lines() {
    let mut long = Vec::new();
    for (rel, _) in library_files() {
        if rel.starts_with("emulator/") {
            continue;
        }
        // Line numbers from the file as written, test modules cut at their start.
        let text = std::fs::read_to_string(src().join(&rel)).unwrap();
        let cut = text.find("#[cfg(test)]\nmod tests {").unwrap_or(text.len());
        for (line, name, len) in function_lengths(&text[..cut]) {
            if len > 100 {
                long.push(format!("{rel}:{line} {name}: {len} lines"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these along their sections:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_length_reader_counts_from_fn_to_the_closing_brace() {
    let text = "fn a() {\n    let s = \"}\";\n    let c = '{';\n}\n\npub(crate) async fn b(x: u8)\n    -> u8\n{\n    x\n}\n";
    assert_eq!(
        function_lengths(text),
        vec![(1, "a".to_string(), 4), (6, "b".to_string(), 5)]
    );
}
