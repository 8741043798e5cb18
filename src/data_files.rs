//! Finding the user-editable data files (views/, themes/, actions/): user dirs first, built-ins last.
//! Built-in copies are embedded so the binary works from anywhere.

use std::path::{Path, PathBuf};

/// A data file: where it came from and its text.
#[derive(Debug, Clone)]
pub struct DataFile {
    pub name: String,
    pub path: PathBuf,
    pub text: String,
}

/// The directories searched for `views/`, `themes/`, `actions/`, most specific first:
/// `$SITREP_HOME`, the user config dir, the current dir, and the source tree the binary was built from.
pub fn roots() -> Vec<PathBuf> {
    // Callers in ui/ load data files without a config at hand; SITREP_HOME comes through `Env`.
    roots_in(crate::config::Env::from_process().home.as_deref())
}

/// As [`roots`], with SITREP_HOME given (None: unset).
pub fn roots_in(home: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(home) = home {
        out.push(home.to_path_buf());
    }
    if let Some(dirs) = directories::ProjectDirs::from("", "", "sitrep") {
        out.push(dirs.config_dir().to_path_buf());
    }
    if let Ok(cwd) = std::env::current_dir() {
        out.push(cwd);
    }
    out.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    out.dedup();
    out
}

/// Every `*.toml` of `kind` (e.g. "views") across the roots; a name found earlier shadows later ones.
pub fn load_all(kind: &str, builtins: &[(&str, &str)]) -> Vec<DataFile> {
    let mut out: Vec<DataFile> = Vec::new();
    for root in roots() {
        for file in list_dir(&root.join(kind)) {
            if !out.iter().any(|f| f.name == file.name) {
                out.push(file);
            }
        }
    }
    for (name, text) in builtins {
        if !out.iter().any(|f| f.name == *name) {
            out.push(DataFile {
                name: (*name).into(),
                path: PathBuf::from(format!("<built-in {kind}/{name}.toml>")),
                text: (*text).into(),
            });
        }
    }
    out
}

/// The `*.toml` files of one directory, sorted by name; unreadable files are skipped here and
/// reported by `sitrep check`.
pub fn list_dir(dir: &Path) -> Vec<DataFile> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<DataFile> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let name = p.file_stem()?.to_string_lossy().into_owned();
            Some(DataFile { name, path: p, text })
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}
