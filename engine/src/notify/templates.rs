//! The templates (minijinja): e-mails, and the first drafts of generated documents (`name.md`,
//! Markdown, rendered whole). An e-mail template `name.txt` starts with a `Subject: ...` line; the
//! rest, after a blank line, is the plain-text body. An optional sibling `name.html` is the HTML
//! alternative (escaped by minijinja, since its name ends in `.html`). Undefined variables are
//! errors, not blanks: a notice that cannot be rendered goes to the dead letters with the error,
//! rather than out wrong.

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
    pub html: Option<String>,
}

impl Templates {
    /// Compiles every template, refusing the set with each broken template's name, line and reason.
    pub fn from_sources(sources: Vec<SourceFile>) -> Result<Templates, Vec<String>> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut names = BTreeSet::new();
        let mut errors = Vec::new();
        let mut html = Vec::new();
        for (name, text) in sources {
            let document = name.ends_with(".md");
            if let Some(stem) = name.strip_suffix(".html") {
                html.push(stem.to_owned());
            } else if !document && !text.starts_with("Subject:") {
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
            if !name.ends_with(".html") && !document {
                names.insert(name);
            }
        }
        for stem in html {
            if !names.contains(&stem) {
                errors.push(format!(
                    "template `{stem}.html` has no `{stem}.txt` beside it (the subject line and plain text)"
                ));
            }
        }
        if errors.is_empty() {
            Ok(Templates { env, names })
        } else {
            Err(errors)
        }
    }

    /// Renders a document template (`name.md`) to its text.
    pub fn render_document(&self, name: &str, context: &serde_json::Value) -> EngineResult<String> {
        let name = format!("{name}.md");
        let template = self
            .env
            .get_template(&name)
            .map_err(|err| EngineError::Internal(format!("template `{name}`: {err}")))?;
        template.render(context).map_err(|err| {
            EngineError::Internal(format!("template `{name}` failed to render: {err}"))
        })
    }

    /// The e-mail templates' names.
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
        let html_name = format!("{name}.html");
        let html = match self.env.get_template(&html_name) {
            Ok(template) => Some(template.render(context).map_err(|err| {
                EngineError::Internal(format!("template `{html_name}` failed to render: {err}"))
            })?),
            Err(_) => None,
        };
        Ok(RenderedMail {
            subject,
            body: rest.trim_start_matches(['\r', '\n']).to_owned(),
            html,
        })
    }
}
