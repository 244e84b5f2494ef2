//! Builds the table of files compiled into the binary: every `connectors/*.yaml` profile and every
//! `mappings/**/*.yaml` mapping, as `include_str!`s, so a user names a profile and needs no files.
//! A profile added to those folders is picked up without editing any Rust.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    // sqlx::migrate! embeds the migrations when the crate compiles; a build script that names
    // what it watches turns off cargo's default of watching everything, so they are named too.
    println!("cargo:rerun-if-changed=migrations");
    for folder in ["connectors", "mappings"] {
        println!("cargo:rerun-if-changed={folder}");
        collect_yaml(&root, &root.join(folder), &mut files);
    }
    files.sort();
    let mut table =
        String::from("/// Files built into the binary: (path relative to the repository, text).\n");
    table.push_str("pub(crate) static BUILTIN_FILES: &[(&str, &str)] = &[\n");
    for (relative, absolute) in &files {
        writeln!(table, "    ({relative:?}, include_str!({absolute:?})),")
            .expect("write to a String");
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("builtin_files.rs"), table).expect("write builtin_files.rs");
}

/// Every `.yaml` file under `folder` but mapping tests (`*.test.yaml`), as (path relative to `root` with `/` separators, absolute path).
fn collect_yaml(root: &Path, folder: &Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "yaml")
            && !path.to_string_lossy().ends_with(".test.yaml")
        {
            let relative = path.strip_prefix(root).expect("under the root");
            let relative: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push((relative.join("/"), path.display().to_string()));
        }
    }
}
