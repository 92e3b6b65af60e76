//! Where the workflow definitions and e-mail templates come from: a folder (by default the one
//! beside the settings file), or the set built into the binary, so that an installed `govflow`
//! runs from any folder.

use crate::error::{EngineError, EngineResult};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    Dir(PathBuf),
    BuiltIn,
}

/// A file's display name and its text.
pub type SourceFile = (String, String);

macro_rules! builtin {
    ($dir:literal, [$($file:literal),* $(,)?]) => {
        &[$(($file, include_str!(concat!("../../config/", $dir, "/", $file)))),*]
    };
}

const BUILTIN_WORKFLOWS: &[(&str, &str)] =
    builtin!("workflows", ["amendment.toml", "working_group.toml"]);

const BUILTIN_TEMPLATES: &[(&str, &str)] = builtin!(
    "templates",
    [
        "amendment_adopted.txt",
        "consultation_opened.txt",
        "group_concluded.txt",
        "group_established.txt",
        "objection_filed.txt",
        "proposal_submitted.txt",
    ]
);

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
            ConfigSource::BuiltIn => Ok(builtin_files(BUILTIN_WORKFLOWS, "workflows")),
        }
    }

    /// The e-mail templates, as (template name, text).
    pub fn template_sources(&self) -> EngineResult<Vec<SourceFile>> {
        let files = match self {
            ConfigSource::Dir(dir) => read_dir_files(&dir.join("templates"), "txt")?,
            ConfigSource::BuiltIn => builtin_files(BUILTIN_TEMPLATES, "templates"),
        };
        Ok(files
            .into_iter()
            .map(|(path, text)| {
                let name = Path::new(&path)
                    .file_stem()
                    .map(|stem| stem.to_string_lossy().into_owned())
                    .unwrap_or(path);
                (name, text)
            })
            .collect())
    }
}

fn builtin_files(files: &[(&str, &str)], dir: &str) -> Vec<SourceFile> {
    files
        .iter()
        .map(|(name, text)| (format!("<built-in>/{dir}/{name}"), (*text).to_owned()))
        .collect()
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
        for (folder, extension, builtin) in [
            ("workflows", "toml", BUILTIN_WORKFLOWS),
            ("templates", "txt", BUILTIN_TEMPLATES),
        ] {
            let on_disk = read_dir_files(&root.join(folder), extension).unwrap();
            let names: Vec<String> = on_disk
                .iter()
                .map(|(path, _)| {
                    Path::new(path)
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            let built_in: Vec<String> = builtin.iter().map(|(name, _)| name.to_string()).collect();
            assert_eq!(
                names, built_in,
                "config/{folder} and the built-in list differ"
            );
            for ((_, disk_text), (_, builtin_text)) in on_disk.iter().zip(builtin.iter()) {
                assert_eq!(disk_text, builtin_text);
            }
        }
    }
}
