//! Where the workflow definitions and e-mail templates come from: a folder (by default the one
//! beside the settings file), or the set built into the binary, so that an installed `govflow`
//! runs from any folder.

use crate::kernel::error::{EngineError, EngineResult};
use include_dir::{Dir, include_dir};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    Dir(PathBuf),
    BuiltIn,
}

/// A file's display name and its text.
pub type SourceFile = (String, String);

/// One reminder of a plan as written: an offset from the due instant (`-30d`) and the roles
/// reminded. Also the stored and the GraphQL form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderStep {
    pub offset: String,
    pub roles: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReminderFile {
    #[serde(default)]
    reminder: Vec<ReminderStep>,
}

/// The repository's `config/` folder as it was at build time: every file of it, so that adding a
/// workflow or a template needs no list to be kept.
static BUILT_IN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../config");

impl ConfigSource {
    pub fn workflows_dir(&self) -> Option<PathBuf> {
        match self {
            ConfigSource::Dir(dir) => Some(dir.join("workflows")),
            ConfigSource::BuiltIn => None,
        }
    }

    /// The workflow definition files, sorted by name.
    pub fn workflow_sources(&self) -> EngineResult<Vec<SourceFile>> {
        match self {
            ConfigSource::Dir(dir) => read_dir_files(&dir.join("workflows"), "toml"),
            ConfigSource::BuiltIn => Ok(builtin_files("workflows", "toml")),
        }
    }

    /// The steps of `reminders.toml`, the default reminder plan of deadlines, as written (the
    /// deadlines area checks them at start); none when a config folder has no such file.
    pub fn default_reminders(&self) -> Result<Vec<ReminderStep>, String> {
        let Some((path, text)) = self.reminders_source().map_err(|err| err.to_string())? else {
            return Ok(Vec::new());
        };
        let file: ReminderFile = toml::from_str(&text).map_err(|err| format!("{path}: {err}"))?;
        Ok(file.reminder)
    }

    fn reminders_source(&self) -> EngineResult<Option<SourceFile>> {
        match self {
            ConfigSource::Dir(dir) => {
                let path = dir.join("reminders.toml");
                match std::fs::read_to_string(&path) {
                    Ok(text) => Ok(Some((path.display().to_string(), text))),
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(err) => Err(EngineError::invalid(
                        "config_dir",
                        format!("cannot read {}: {err}", path.display()),
                    )),
                }
            }
            ConfigSource::BuiltIn => Ok(BUILT_IN.get_file("reminders.toml").and_then(|file| {
                Some((
                    "<built-in>/reminders.toml".to_owned(),
                    file.contents_utf8()?.to_owned(),
                ))
            })),
        }
    }

    /// The templates, as (template name, text): `name` for a `name.txt` (an e-mail's subject
    /// line and plain text), `name.html` for its HTML sibling, `name.md` for a document template
    /// (a generated first draft).
    pub fn template_sources(&self) -> EngineResult<Vec<SourceFile>> {
        let mut files = Vec::new();
        for extension in ["txt", "html", "md"] {
            let found = match self {
                ConfigSource::Dir(dir) => read_dir_files(&dir.join("templates"), extension)?,
                ConfigSource::BuiltIn => builtin_files("templates", extension),
            };
            files.extend(found.into_iter().map(|(path, text)| {
                let stem = Path::new(&path)
                    .file_stem()
                    .map(|stem| stem.to_string_lossy().into_owned())
                    .unwrap_or(path);
                let name = if extension == "txt" {
                    stem
                } else {
                    format!("{stem}.{extension}")
                };
                (name, text)
            }));
        }
        Ok(files)
    }
}

fn builtin_files(dir: &str, extension: &str) -> Vec<SourceFile> {
    let mut files: Vec<SourceFile> = BUILT_IN
        .get_dir(dir)
        .map(|folder| {
            folder
                .files()
                .filter(|file| file.path().extension().is_some_and(|ext| ext == extension))
                .filter_map(|file| {
                    let text = file.contents_utf8()?;
                    Some((
                        format!("<built-in>/{}", file.path().display()),
                        text.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Reads every `*.{extension}` file of a folder, sorted by file name.
pub fn read_dir_files(dir: &Path, extension: &str) -> EngineResult<Vec<SourceFile>> {
    let unreadable = |err: std::io::Error| {
        let problem = if err.kind() == std::io::ErrorKind::NotFound {
            format!("the folder {} does not exist", dir.display())
        } else {
            format!("cannot read {}: {err}", dir.display())
        };
        EngineError::invalid("config_dir", problem)
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|err| {
                EngineError::invalid(
                    "config_dir",
                    format!("cannot read {}: {err}", path.display()),
                )
            })?;
            Ok((path.display().to_string(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in set is the config folder, file for file, so that an installed binary runs
    /// the same workflows as a checkout.
    #[test]
    fn the_built_in_set_is_the_config_folder() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
        let disk = ConfigSource::Dir(root);
        let built_in = ConfigSource::BuiltIn;
        let names = |files: Vec<SourceFile>| -> Vec<(String, String)> {
            files
                .into_iter()
                .map(|(path, text)| {
                    let name = Path::new(&path)
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    (name, text)
                })
                .collect()
        };
        let workflows = names(built_in.workflow_sources().unwrap());
        assert!(workflows.len() >= 2, "{workflows:?}");
        assert_eq!(names(disk.workflow_sources().unwrap()), workflows);
        let templates = built_in.template_sources().unwrap();
        assert!(templates.len() >= 6);
        assert_eq!(disk.template_sources().unwrap(), templates);
    }
}
