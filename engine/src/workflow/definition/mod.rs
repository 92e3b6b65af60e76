//! Workflow definitions: a workflow is data, one TOML file per definition
//! under a folder (`config/workflows/*.toml`). This module parses such files
//! and validates them against what the engine's registries know (guards,
//! roles, notification templates, effect kinds), refusing a wrong file with
//! every problem found, each located by file and 1-based line, so that a bad
//! definition is caught when the engine loads, not when an instance first
//! tries the broken transition. A loaded set is kept in [`Definitions`],
//! reachable by name, by subject and by content hash; the hash lets running
//! instances stay pinned to the exact version they were started with.
//!
//! This file holds the model a checked definition becomes, and the set;
//! `parse` reads and checks one file's TOML, `graph` checks that its states
//! can be reached and can finish.

mod graph;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use parse::{parse_located, sha256_hex};

/// What the engine's registries know; a definition may only name these.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    pub guards: BTreeSet<String>,
    pub roles: BTreeSet<String>,
    pub templates: BTreeSet<String>,
}

/// One problem in one definition file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    pub file: String,
    /// 1-based; 0 when the problem is not inside the text (e.g. an I/O error).
    pub line: usize,
    pub reason: String,
    /// For a TOML syntax error, the faulty line with a caret under the column, as lines of their
    /// own: the position inside the line is what the author needs, and the reason cannot say it.
    pub excerpt: Option<String>,
}

/// `file:line: reason`, then the excerpt's lines, if any; `file: reason` when the problem has no
/// line (a folder or file that cannot be read), rather than a misleading line 0.
impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.reason)?;
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.reason)?;
        }
        if let Some(excerpt) = &self.excerpt {
            for line in excerpt.lines() {
                write!(f, "\n{line}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for DefinitionError {}

/// A validated workflow definition.
#[derive(Debug, Clone)]
pub struct Definition {
    pub name: String,
    pub subject: String,
    pub initial: String,
    /// In file order.
    pub states: Vec<StateDef>,
    /// In file order.
    pub transitions: Vec<TransitionDef>,
    /// Lowercase hex SHA-256 of `source`.
    pub hash: String,
    pub source: String,
    /// The file name as given to [`Definition::parse`].
    pub file: String,
}

#[derive(Debug, Clone)]
pub struct StateDef {
    pub name: String,
    pub terminal: bool,
}

#[derive(Debug, Clone)]
pub struct TransitionDef {
    pub name: String,
    /// Empty for a creation transition.
    pub from: Vec<String>,
    pub to: String,
    pub roles: Vec<String>,
    pub guards: Vec<String>,
    pub effects: Vec<EffectDef>,
    pub reason_required: bool,
    /// camelCase names of the fields the transition takes.
    pub input: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EffectDef {
    Notify { role: String, template: String },
}

impl TransitionDef {
    pub fn is_creation(&self) -> bool {
        self.from.is_empty()
    }

    pub fn needs_input(&self) -> bool {
        !self.input.is_empty()
    }
}

impl Definition {
    /// Parses and validates one definition. Returns every problem found,
    /// sorted by line, except that a TOML syntax error stops at once (there
    /// is no tree to check after it).
    pub fn parse(
        file: &str,
        source: &str,
        vocab: &Vocabulary,
    ) -> Result<Definition, Vec<DefinitionError>> {
        parse_located(file, source, vocab).map(|(def, _)| def)
    }

    pub fn state(&self, name: &str) -> Option<&StateDef> {
        self.states.iter().find(|s| s.name == name)
    }

    pub fn transition(&self, name: &str) -> Option<&TransitionDef> {
        self.transitions.iter().find(|t| t.name == name)
    }

    pub fn is_terminal(&self, state: &str) -> bool {
        self.state(state).is_some_and(|s| s.terminal)
    }

    pub fn creation_transitions(&self) -> impl Iterator<Item = &TransitionDef> {
        self.transitions.iter().filter(|t| t.is_creation())
    }

    pub fn transitions_from<'a>(
        &'a self,
        state: &'a str,
    ) -> impl Iterator<Item = &'a TransitionDef> {
        self.transitions
            .iter()
            .filter(move |t| t.from.iter().any(|f| f == state))
    }
}

/// The loaded set of definitions.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    by_name: BTreeMap<String, Arc<Definition>>,
    by_subject: BTreeMap<String, Arc<Definition>>,
    /// Current definitions plus retired versions still used by running instances.
    by_hash: BTreeMap<String, Arc<Definition>>,
}

impl Definitions {
    /// Parses every `(file, text)` pair; also refuses a second file that
    /// reuses a `name` or `subject`, since lookups by either must be unambiguous.
    pub fn from_sources(
        sources: &[(String, String)],
        vocab: &Vocabulary,
    ) -> Result<Definitions, Vec<DefinitionError>> {
        let mut set = Definitions::default();
        let mut errors = Vec::new();
        for (file, text) in sources {
            let (def, lines) = match parse_located(file, text, vocab) {
                Ok(parsed) => parsed,
                Err(e) => {
                    errors.extend(e);
                    continue;
                }
            };
            let mut clash = false;
            if let Some(first) = set.by_name.get(&def.name) {
                errors.push(DefinitionError {
                    file: file.clone(),
                    line: lines.name,
                    excerpt: None,
                    reason: format!(
                        "workflow `{}` is already defined in {}",
                        def.name, first.file
                    ),
                });
                clash = true;
            }
            if let Some(first) = set.by_subject.get(&def.subject) {
                errors.push(DefinitionError {
                    file: file.clone(),
                    line: lines.subject,
                    excerpt: None,
                    reason: format!(
                        "subject `{}` already has workflow `{}` ({})",
                        def.subject, first.name, first.file
                    ),
                });
                clash = true;
            }
            if !clash {
                let def = Arc::new(def);
                set.by_name.insert(def.name.clone(), Arc::clone(&def));
                set.by_subject.insert(def.subject.clone(), Arc::clone(&def));
                set.by_hash.insert(def.hash.clone(), def);
            }
        }
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    /// Loads every `*.toml` file in `dir`, in file-name order.
    pub fn load_dir(dir: &Path, vocab: &Vocabulary) -> Result<Definitions, Vec<DefinitionError>> {
        let shown = dir.display().to_string();
        let io_error = |file: String, e: std::io::Error| DefinitionError {
            file,
            line: 0,
            reason: format!("cannot read: {e}"),
            excerpt: None,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| {
            let mut error = io_error(shown.clone(), e);
            if !dir.exists() {
                error.reason = "the folder does not exist".into();
            }
            vec![error]
        })?;
        let mut errors = Vec::new();
        let mut paths = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => {
                    let path = entry.path();
                    if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
                        paths.push(path);
                    }
                }
                Err(e) => errors.push(io_error(shown.clone(), e)),
            }
        }
        paths.sort();
        let mut sources = Vec::with_capacity(paths.len());
        for path in &paths {
            let file = path.display().to_string();
            match std::fs::read_to_string(path) {
                Ok(text) => sources.push((file, text)),
                Err(e) => errors.push(io_error(file, e)),
            }
        }
        if paths.is_empty() && errors.is_empty() {
            errors.push(DefinitionError {
                file: shown.clone(),
                line: 0,
                reason: format!("no workflow definitions in {shown}"),
                excerpt: None,
            });
        }
        match Definitions::from_sources(&sources, vocab) {
            Ok(set) if errors.is_empty() => Ok(set),
            Ok(_) => Err(errors),
            Err(more) => {
                errors.extend(more);
                Err(errors)
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Definition>> {
        self.by_name.get(name)
    }

    pub fn by_hash(&self, hash: &str) -> Option<&Arc<Definition>> {
        self.by_hash.get(hash)
    }

    pub fn by_subject(&self, subject: &str) -> Option<&Arc<Definition>> {
        self.by_subject.get(subject)
    }

    /// Current definitions, sorted by name; retired ones are not included.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Definition>> {
        self.by_name.values()
    }

    /// Identifies the whole current set: hex SHA-256 over the sorted
    /// `(name, hash)` pairs. Retired definitions do not count.
    pub fn set_hash(&self) -> String {
        let mut text = String::new();
        for (name, def) in &self.by_name {
            // Names are snake_case and hashes hex, so NUL and newline cannot
            // occur in them and the encoding is unambiguous.
            text.push_str(name);
            text.push('\0');
            text.push_str(&def.hash);
            text.push('\n');
        }
        sha256_hex(text.as_bytes())
    }

    /// Keeps an older version reachable by hash for instances still running
    /// on it. A hash already present keeps its entry: same text, same definition.
    pub fn insert_retired(&mut self, def: Arc<Definition>) {
        self.by_hash.entry(def.hash.clone()).or_insert(def);
    }
}
