//! The one routes loader: the Lambda functions, every CLI command and the
//! build script that validates the shipped routes all load through [`load`].
//!
//! Precedence, from the caller's [`Source`]:
//! 1. **The routes file**: the one named (`GDALERT_ROUTES_FILE` in the
//!    functions; `--patterns DIR` means `DIR/routes.toml` in the CLI, and
//!    without it `patterns/routes.toml` in the current directory if there is
//!    one), else the routes file built into the binary.
//! 2. **Pattern files**: the built-in ones, then every `*.json` in the
//!    patterns directory (`GDALERT_PATTERNS_DIR` / `--patterns DIR`, by
//!    default the routes file's own directory), a file there replacing a
//!    built-in one of the same name. So a routes file may name any shipped
//!    pattern wherever it lives.
//! 3. **`${NAME}`** is filled from the variables the caller passes (the
//!    process environment), see [`crate::config::expand_variables`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{expand_variables, Config, ConfigError};

/// The configuration built into a binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The routes file: (file name, text).
    pub routes: (&'static str, &'static str),
    /// Pattern files: (file name, text).
    pub patterns: &'static [(&'static str, &'static str)],
}

impl Builtin {
    /// No built-in configuration (the build script, which validates it).
    pub const NONE: Builtin = Builtin {
        routes: ("", ""),
        patterns: &[],
    };
}

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// The routes file to read; `None`: the built-in one.
    pub routes_file: Option<PathBuf>,
    /// Where pattern files are read from; `None`: the routes file's directory.
    pub patterns_dir: Option<PathBuf>,
}

impl Source {
    /// The CLI's rule: `DIR/routes.toml` for `--patterns DIR`, else
    /// `patterns/routes.toml` here if it exists, else the built-in file.
    pub fn cli(dir: Option<&Path>) -> Source {
        let dir = match dir {
            Some(dir) => Some(dir.to_path_buf()),
            None => Some(PathBuf::from("patterns")).filter(|d| d.join("routes.toml").is_file()),
        };
        Source {
            routes_file: dir.as_ref().map(|d| d.join("routes.toml")),
            patterns_dir: dir,
        }
    }
}

/// A loaded, validated configuration and where it came from.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// For messages: the routes file's path, or "built-in patterns/routes.toml".
    pub source: String,
}

/// `${NAME}` values for a run that contacts nothing (`gdalert replay` without
/// `--deliver`, `render`, `test`, `validate`, a function on a local store):
/// the environment's, or a placeholder naming the unset variable, so the
/// shipped routes (which send to `${GDALERT_TOPIC_ARN}`) run on a laptop with
/// no deployment. Runs that deliver read the environment strictly: an unset
/// variable is an error that names it.
pub fn dry_run_vars(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .or_else(|| Some(format!("unset:{name}")))
}

/// Why the routes could not be loaded; each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file or directory could not be read, or a `${NAME}` is unset.
    #[error("{0}")]
    Read(String),
    /// The routes file is invalid: every problem, with file:line:col.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Loads and validates the routes (see the module docs for the precedence).
pub fn load(
    source: &Source,
    builtin: Builtin,
    vars: impl Fn(&str) -> Option<String>,
) -> Result<Loaded, LoadError> {
    let mut patterns: BTreeMap<String, String> = builtin
        .patterns
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let (name, text) = match &source.routes_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| LoadError::Read(format!("cannot read {}: {e}", path.display())))?;
            (path.display().to_string(), text)
        }
        None => (
            format!("(built in) patterns/{}", builtin.routes.0),
            builtin.routes.1.to_string(),
        ),
    };
    let dir = source.patterns_dir.clone().or_else(|| {
        source
            .routes_file
            .as_ref()
            .and_then(|p| p.parent())
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
                .to_path_buf()
            })
    });
    if let Some(dir) = dir {
        read_patterns(&dir, &mut patterns)?;
    }
    let text =
        expand_variables(&text, vars).map_err(|e| LoadError::Read(format!("{name}: {e}")))?;
    let config = Config::load(&name, &text, &patterns)?;
    let source = match &source.routes_file {
        Some(path) => path.display().to_string(),
        None => format!("built-in patterns/{}", builtin.routes.0),
    };
    Ok(Loaded { config, source })
}

/// Adds `dir/*.json` to `patterns`, replacing same-named entries.
pub fn read_patterns(dir: &Path, patterns: &mut BTreeMap<String, String>) -> Result<(), LoadError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| LoadError::Read(format!("cannot list {}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| LoadError::Read(format!("cannot list {}: {e}", dir.display())))?
            .path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| LoadError::Read(format!("cannot read {}: {e}", path.display())))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            patterns.insert(name, text);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILTIN: Builtin = Builtin {
        routes: ("routes.toml", "[destinations.out]\nkind = \"stdout\"\n\n[[routes]]\nname = \"all\"\ndestinations = [\"out\"]\n"),
        patterns: &[("shipped.json", r#"{"source": ["aws.guardduty"]}"#)],
    };

    #[test]
    fn a_routes_file_elsewhere_may_name_a_shipped_pattern() {
        // The bug: the function loaded this, `replay --patterns DIR` refused it.
        let dir = tempfile_dir();
        std::fs::write(
            dir.join("routes.toml"),
            "[destinations.out]\nkind = \"stdout\"\n\n[[routes]]\nname = \"gd\"\nmatch = \"shipped.json\"\ndestinations = [\"out\"]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        for source in [
            Source::cli(Some(&dir)),
            Source {
                routes_file: Some(dir.join("routes.toml")),
                patterns_dir: None,
            },
        ] {
            let loaded = load(&source, BUILTIN, |_| None).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(loaded.config.routes[0].name, "gd");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_a_file_the_builtin_routes_load() {
        let loaded = load(&Source::default(), BUILTIN, |_| None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.source, "built-in patterns/routes.toml");
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "gdalert-load-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        dir
    }
}
