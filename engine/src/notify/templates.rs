//! The e-mail templates (minijinja). A template's first line is `Subject: ...`; the rest, after a
//! blank line, is the plain-text body. Undefined variables are errors, not blanks: a notice that
//! cannot be rendered fails the transition that wanted to send it, rather than going out wrong.

use crate::kernel::config::SourceFile;
use crate::kernel::error::{EngineError, EngineResult};
use minijinja::{Environment, UndefinedBehavior};
use std::collections::BTreeSet;

#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    names: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub body: String,
}

impl Templates {
    /// Compiles every template, refusing the set with each broken template's name, line and reason.
    pub fn from_sources(sources: Vec<SourceFile>) -> Result<Templates, Vec<String>> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut names = BTreeSet::new();
        let mut errors = Vec::new();
        for (name, text) in sources {
            if !text.starts_with("Subject:") {
                errors.push(format!(
                    "template `{name}`:1: must start with a `Subject:` line"
                ));
                continue;
            }
            if let Err(err) = env.add_template_owned(name.clone(), text) {
                let line = err.line().unwrap_or(1);
                errors.push(format!(
                    "template `{name}`:{line}: {}",
                    err.detail().unwrap_or("syntax error")
                ));
                continue;
            }
            names.insert(name);
        }
        if errors.is_empty() {
            Ok(Templates { env, names })
        } else {
            Err(errors)
        }
    }

    pub fn names(&self) -> &BTreeSet<String> {
        &self.names
    }

    pub fn render(&self, name: &str, context: &serde_json::Value) -> EngineResult<RenderedMail> {
        let template = self
            .env
            .get_template(name)
            .map_err(|err| EngineError::Internal(format!("template `{name}`: {err}")))?;
        let text = template.render(context).map_err(|err| {
            EngineError::Internal(format!("template `{name}` failed to render: {err}"))
        })?;
        let (first, rest) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        let subject = first.trim_start_matches("Subject:").trim().to_owned();
        Ok(RenderedMail {
            subject,
            body: rest.trim_start_matches(['\r', '\n']).to_owned(),
        })
    }
}
