//! Workflow definitions: a workflow is data, one TOML file per definition
//! under a folder (`config/workflows/*.toml`). This module parses such files
//! and validates them against what the engine's registries know (guards,
//! roles, notification templates, effect kinds), refusing a wrong file with
//! every problem found, each located by file and 1-based line, so that a bad
//! definition is caught when the engine loads, not when an instance first
//! tries the broken transition. A loaded set is kept in [`Definitions`],
//! reachable by name, by subject and by content hash; the hash lets running
//! instances stay pinned to the exact version they were started with.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

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

/// An effect kind the engine can run, and the extra keys its table may carry
/// beside the kind key itself. Adding a kind means adding it here and giving
/// it an arm in [`Checker::build_effect`].
struct EffectKind {
    key: &'static str,
    params: &'static [&'static str],
}

const EFFECT_KINDS: &[EffectKind] = &[EffectKind {
    key: "notify",
    params: &["template"],
}];

const TOP_KEYS: &[&str] = &["name", "subject", "initial", "states", "transitions"];
const STATE_KEYS: &[&str] = &["terminal", "description"];
const TRANSITION_KEYS: &[&str] = &[
    "name",
    "from",
    "to",
    "roles",
    "guards",
    "effects",
    "reason_required",
    "input",
    "description",
];

type Value<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<DeString<'i>>;
type Entry<'a, 'i> = (&'a Key<'i>, &'a Value<'i>);

/// Lines of the keys that [`Definitions`] needs to point at when two files
/// clash; kept outside [`Definition`] so its public shape stays plain data.
struct KeyLines {
    name: usize,
    subject: usize,
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

fn parse_located(
    file: &str,
    source: &str,
    vocab: &Vocabulary,
) -> Result<(Definition, KeyLines), Vec<DefinitionError>> {
    let mut ck = Checker::new(file, source, vocab);
    let doc = match DeTable::parse(source) {
        Ok(doc) => doc,
        Err(e) => {
            let line = e.span().map_or(1, |span| ck.line(span.start));
            let reason = e.message().lines().next().unwrap_or("invalid TOML");
            ck.at_line(line, reason);
            if let (Some(span), Some(error)) = (e.span(), ck.errors.last_mut()) {
                error.excerpt = Some(caret_excerpt(source, &ck.line_starts, line, span.start));
            }
            return Err(ck.errors);
        }
    };
    match ck.document(doc.get_ref()) {
        Some(parsed) if ck.errors.is_empty() => Ok(parsed),
        _ => {
            // Stable, so problems on one line keep the order they were found in.
            ck.errors.sort_by_key(|e| e.line);
            Err(ck.errors)
        }
    }
}

/// The 1-based `line` of `source` in a gutter, with a caret under the character at `offset`:
///
/// ```text
///   |
/// 2 | subject = "x
///   |           ^
/// ```
fn caret_excerpt(source: &str, line_starts: &[usize], line: usize, offset: usize) -> String {
    let start = line_starts
        .get(line.saturating_sub(1))
        .copied()
        .unwrap_or(0)
        .min(source.len());
    let text = source[start..]
        .split('\n')
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r');
    // Columns count characters, not bytes, so the caret sits under the right one after non-ASCII
    // text; tabs are kept so that the caret line lines up with the source line as shown.
    let before = source
        .get(start..offset.max(start).min(start + text.len()))
        .unwrap_or_default();
    let padding: String = before
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let number = line.to_string();
    let gutter = " ".repeat(number.len());
    format!("{gutter} |\n{number} | {text}\n{gutter} | {padding}^")
}

/// Walks the span-carrying TOML tree, collecting errors instead of stopping,
/// because an author fixing a file wants the whole list in one go.
struct Checker<'s> {
    file: &'s str,
    source: &'s str,
    vocab: &'s Vocabulary,
    line_starts: Vec<usize>,
    errors: Vec<DefinitionError>,
}

/// A transition as far as it could be read, with what the graph checks need.
struct RawTransition {
    def: TransitionDef,
    from_idx: Vec<usize>,
    to_idx: Option<usize>,
    /// `from = []` written and well-formed: only then does `to` seed reachability.
    creation: bool,
}

impl<'s> Checker<'s> {
    fn new(file: &'s str, source: &'s str, vocab: &'s Vocabulary) -> Self {
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Checker {
            file,
            source,
            vocab,
            line_starts,
            errors: Vec::new(),
        }
    }

    fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    fn at_line(&mut self, line: usize, reason: impl Into<String>) {
        self.errors.push(DefinitionError {
            file: self.file.to_owned(),
            line,
            reason: reason.into(),
            excerpt: None,
        });
    }

    fn at(&mut self, span: Range<usize>, reason: impl Into<String>) {
        let line = self.line(span.start);
        self.at_line(line, reason);
    }

    /// Reports keys outside `allowed` and hands back the rest by name.
    fn fields<'a, 'i>(
        &mut self,
        table: &'a DeTable<'i>,
        allowed: &[&str],
        context: &str,
    ) -> BTreeMap<&'a str, Entry<'a, 'i>> {
        let mut known = BTreeMap::new();
        for (key, value) in ordered(table) {
            let name: &str = key.get_ref();
            if allowed.contains(&name) {
                known.insert(name, (key, value));
            } else {
                self.at(key.span(), format!("unknown key `{name}`{context}"));
            }
        }
        known
    }

    fn string<'a>(&mut self, what: &str, value: &'a Value<'_>) -> Option<&'a str> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                self.at(value.span(), format!("{what} must be a string"));
                None
            }
        }
    }

    fn boolean(&mut self, what: &str, value: &Value<'_>) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.at(value.span(), format!("{what} must be `true` or `false`"));
                None
            }
        }
    }

    /// `None` when the value is not an array of strings; every bad element is
    /// reported, so callers can tell "empty" from "broken".
    fn string_list<'a>(
        &mut self,
        what: &str,
        value: &'a Value<'_>,
    ) -> Option<Vec<(&'a str, Range<usize>)>> {
        let DeValue::Array(items) = value.get_ref() else {
            self.at(value.span(), format!("{what} must be a list of strings"));
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push((&**s, item.span())),
                _ => {
                    self.at(item.span(), format!("{what} must contain only strings"));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn snake_case(&mut self, what: &str, name: &str, span: Range<usize>) {
        if name.is_empty() {
            self.at(span, format!("{what} must not be empty"));
        } else if !is_snake_case(name) {
            self.at(
                span,
                format!("{what} `{name}` must be snake_case ([a-z][a-z0-9_]*)"),
            );
        }
    }

    fn document(&mut self, doc: &DeTable<'_>) -> Option<(Definition, KeyLines)> {
        let top = self.fields(doc, TOP_KEYS, "");

        let required = |ck: &mut Self, key: &str| -> Option<(String, usize)> {
            let Some((k, v)) = top.get(key) else {
                ck.at_line(1, format!("missing key `{key}`"));
                return None;
            };
            let s = ck.string(&format!("`{key}`"), v)?;
            Some((s.to_owned(), ck.line(k.span().start)))
        };
        let name = required(self, "name");
        let subject = required(self, "subject");
        let initial = required(self, "initial");
        if let (Some((n, _)), Some((k, _))) = (&name, top.get("name")) {
            self.snake_case("workflow name", n, k.span());
        }
        if let (Some((s, _)), Some((k, _))) = (&subject, top.get("subject")) {
            self.snake_case("subject", s, k.span());
        }

        let (states, state_spans) = self.states(top.get("states").copied());
        let index: HashMap<&str, usize> = states
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();

        let mut initial_idx = None;
        if let (Some((init, _)), Some((_, v))) = (&initial, top.get("initial")) {
            match index.get(init.as_str()) {
                None => self.at(v.span(), format!("unknown state `{init}` in `initial`")),
                Some(&i) if states[i].terminal => self.at(
                    v.span(),
                    format!("initial state `{init}` is terminal, so nothing could happen"),
                ),
                Some(&i) => initial_idx = Some(i),
            }
        }

        let raw = self.transitions(top.get("transitions").copied(), &states, &index);

        // With no usable `initial` every state would look unreachable; that
        // cascade would bury the one real mistake.
        if let Some(start) = initial_idx {
            self.graph(start, &states, &state_spans, &raw);
        }

        let (name, name_line) = name?;
        let (subject, subject_line) = subject?;
        let (initial, _) = initial?;
        let def = Definition {
            name,
            subject,
            initial,
            states,
            transitions: raw.into_iter().map(|t| t.def).collect(),
            hash: sha256_hex(self.source.as_bytes()),
            source: self.source.to_owned(),
            file: self.file.to_owned(),
        };
        Some((
            def,
            KeyLines {
                name: name_line,
                subject: subject_line,
            },
        ))
    }

    fn states(&mut self, entry: Option<Entry<'_, '_>>) -> (Vec<StateDef>, Vec<Range<usize>>) {
        let mut states = Vec::new();
        let mut spans = Vec::new();
        let Some((key, value)) = entry else {
            self.at_line(
                1,
                "missing key `states` (declare at least one `[states.<name>]` table)",
            );
            return (states, spans);
        };
        let DeValue::Table(table) = value.get_ref() else {
            self.at(
                key.span(),
                "`states` must be a table of `[states.<name>]` tables",
            );
            return (states, spans);
        };
        if table.is_empty() {
            self.at(key.span(), "at least one state is required");
            return (states, spans);
        }
        for (skey, svalue) in ordered(table) {
            let name: &str = skey.get_ref();
            self.snake_case("state name", name, skey.span());
            let mut terminal = false;
            match svalue.get_ref() {
                DeValue::Table(st) => {
                    let f = self.fields(st, STATE_KEYS, &format!(" in state `{name}`"));
                    if let Some((_, v)) = f.get("terminal") {
                        terminal = self.boolean("`terminal`", v).unwrap_or(false);
                    }
                    if let Some((_, v)) = f.get("description") {
                        self.string("`description`", v);
                    }
                }
                _ => self.at(
                    skey.span(),
                    format!("state `{name}` must be a table (`[states.{name}]`)"),
                ),
            }
            states.push(StateDef {
                name: name.to_owned(),
                terminal,
            });
            spans.push(skey.span());
        }
        if !states.iter().any(|s| s.terminal) {
            self.at(
                key.span(),
                "no terminal state: mark at least one state `terminal = true`",
            );
        }
        (states, spans)
    }

    fn transitions(
        &mut self,
        entry: Option<Entry<'_, '_>>,
        states: &[StateDef],
        index: &HashMap<&str, usize>,
    ) -> Vec<RawTransition> {
        let mut out = Vec::new();
        let Some((key, value)) = entry else {
            return out;
        };
        let DeValue::Array(items) = value.get_ref() else {
            self.at(
                key.span(),
                "`transitions` must be an array of tables (`[[transitions]]`)",
            );
            return out;
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let DeValue::Table(table) = item.get_ref() else {
                self.at(
                    item.span(),
                    "each transition must be a table (`[[transitions]]`)",
                );
                continue;
            };
            if let Some(t) = self.transition(i, item.span(), table, states, index, &mut seen) {
                out.push(t);
            }
        }
        out
    }

    fn transition(
        &mut self,
        position: usize,
        span: Range<usize>,
        table: &DeTable<'_>,
        states: &[StateDef],
        index: &HashMap<&str, usize>,
        seen: &mut HashMap<String, usize>,
    ) -> Option<RawTransition> {
        let label = match table.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => format!("transition `{s}`"),
            _ => format!("transition #{}", position + 1),
        };
        let f = self.fields(table, TRANSITION_KEYS, &format!(" in {label}"));
        let vocab = self.vocab;

        let mut name = String::new();
        match f.get("name") {
            None => self.at(span.clone(), format!("{label} has no `name`")),
            Some((_, v)) => {
                if let Some(n) = self.string("transition `name`", v) {
                    self.snake_case("transition name", n, v.span());
                    let line = self.line(v.span().start);
                    if let Some(first) = seen.get(n) {
                        self.at_line(
                            line,
                            format!("duplicate transition `{n}` (first defined on line {first})"),
                        );
                    } else {
                        seen.insert(n.to_owned(), line);
                    }
                    name = n.to_owned();
                }
            }
        }

        let mut from = Vec::new();
        let mut from_idx = Vec::new();
        let mut creation = false;
        match f.get("from") {
            None => self.at(
                span.clone(),
                format!("{label} has no `from` (use `from = []` for a creation transition)"),
            ),
            Some((_, v)) => {
                if let Some(list) = self.string_list("`from`", v) {
                    creation = list.is_empty();
                    for (s, sspan) in list {
                        if from.iter().any(|f| f == s) {
                            self.at(
                                sspan,
                                format!("state `{s}` is listed twice in `from` of {label}"),
                            );
                            continue;
                        }
                        match index.get(s) {
                            None => {
                                self.at(sspan, format!("unknown state `{s}` in `from` of {label}"))
                            }
                            Some(&i) => {
                                if states[i].terminal {
                                    self.at(
                                        sspan,
                                        format!("{label} leaves terminal state `{s}`; terminal states have no way out"),
                                    );
                                }
                                from_idx.push(i);
                            }
                        }
                        from.push(s.to_owned());
                    }
                }
            }
        }

        let mut to = String::new();
        let mut to_idx = None;
        match f.get("to") {
            None => self.at(span.clone(), format!("{label} has no `to`")),
            Some((_, v)) => {
                if let Some(s) = self.string("`to`", v) {
                    match index.get(s) {
                        None => {
                            self.at(v.span(), format!("unknown state `{s}` in `to` of {label}"))
                        }
                        Some(&i) => to_idx = Some(i),
                    }
                    to = s.to_owned();
                }
            }
        }

        let mut roles = Vec::new();
        match f.get("roles") {
            None => self.at(span.clone(), format!("{label} has no `roles`")),
            Some((_, v)) => {
                if let Some(list) = self.string_list("`roles`", v) {
                    if list.is_empty() {
                        self.at(
                            v.span(),
                            format!("{label} has an empty `roles` list: nobody could fire it"),
                        );
                    }
                    for (r, rspan) in list {
                        if !vocab.roles.contains(r) {
                            self.at(rspan, format!("unknown role `{r}` in {label}"));
                        }
                        roles.push(r.to_owned());
                    }
                }
            }
        }

        let mut guards = Vec::new();
        if let Some((_, v)) = f.get("guards") {
            for (g, gspan) in self.string_list("`guards`", v).unwrap_or_default() {
                if !vocab.guards.contains(g) {
                    self.at(gspan, format!("unknown guard `{g}` in {label}"));
                }
                guards.push(g.to_owned());
            }
        }

        let mut effects = Vec::new();
        if let Some((_, v)) = f.get("effects") {
            match v.get_ref() {
                DeValue::Array(items) => {
                    for item in items.iter() {
                        if let Some(e) = self.effect(&label, item) {
                            effects.push(e);
                        }
                    }
                }
                _ => self.at(
                    v.span(),
                    format!("`effects` of {label} must be a list of inline tables"),
                ),
            }
        }

        let reason_required = match f.get("reason_required") {
            Some((_, v)) => self.boolean("`reason_required`", v).unwrap_or(false),
            None => false,
        };

        let mut input: Vec<String> = Vec::new();
        if let Some((_, v)) = f.get("input") {
            for (field, fspan) in self.string_list("`input`", v).unwrap_or_default() {
                if !is_camel_case(field) {
                    self.at(
                        fspan.clone(),
                        format!(
                            "input field `{field}` of {label} must be camelCase ([a-z][a-zA-Z0-9]*)"
                        ),
                    );
                }
                if input.iter().any(|i| i == field) {
                    self.at(
                        fspan,
                        format!("input field `{field}` is listed twice in {label}"),
                    );
                    continue;
                }
                input.push(field.to_owned());
            }
        }

        if let Some((_, v)) = f.get("description") {
            self.string("`description`", v);
        }

        Some(RawTransition {
            def: TransitionDef {
                name,
                from,
                to,
                roles,
                guards,
                effects,
                reason_required,
                input,
            },
            from_idx,
            to_idx,
            creation,
        })
    }

    fn effect(&mut self, label: &str, item: &Value<'_>) -> Option<EffectDef> {
        let DeValue::Table(table) = item.get_ref() else {
            self.at(
                item.span(),
                format!("effects of {label} must be inline tables, e.g. `{{ notify = \"chair\", template = \"…\" }}`"),
            );
            return None;
        };
        let entries = ordered(table);
        let kinds: Vec<(&EffectKind, Entry<'_, '_>)> = entries
            .iter()
            .filter_map(|&(k, v)| {
                let key: &str = k.get_ref();
                EFFECT_KINDS
                    .iter()
                    .find(|kind| kind.key == key)
                    .map(|kind| (kind, (k, v)))
            })
            .collect();
        match kinds.as_slice() {
            [] => {
                let mut named_unknown = false;
                for (k, _) in &entries {
                    let key: &str = k.get_ref();
                    if !EFFECT_KINDS.iter().any(|kind| kind.params.contains(&key)) {
                        self.at(k.span(), format!("unknown effect `{key}` in {label}"));
                        named_unknown = true;
                    }
                }
                if !named_unknown {
                    let known: Vec<String> = EFFECT_KINDS
                        .iter()
                        .map(|k| format!("`{}`", k.key))
                        .collect();
                    self.at(
                        item.span(),
                        format!(
                            "an effect of {label} names no effect kind (known: {})",
                            known.join(", ")
                        ),
                    );
                }
                None
            }
            [(kind, (_, value))] => {
                for (k, _) in &entries {
                    let key: &str = k.get_ref();
                    if key != kind.key && !kind.params.contains(&key) {
                        self.at(
                            k.span(),
                            format!("unknown key `{key}` in `{}` effect of {label}", kind.key),
                        );
                    }
                }
                self.build_effect(kind, value, table, item.span(), label)
            }
            [_, (_, (second, _)), ..] => {
                self.at(
                    second.span(),
                    format!(
                        "an effect of {label} has more than one kind; write one table per effect"
                    ),
                );
                None
            }
        }
    }

    fn build_effect(
        &mut self,
        kind: &EffectKind,
        value: &Value<'_>,
        table: &DeTable<'_>,
        span: Range<usize>,
        label: &str,
    ) -> Option<EffectDef> {
        let vocab = self.vocab;
        match kind.key {
            "notify" => {
                let role = self.string("`notify`", value);
                if let Some(r) = role
                    && !vocab.roles.contains(r)
                {
                    self.at(
                        value.span(),
                        format!("unknown role `{r}` in `notify` effect of {label}"),
                    );
                }
                let template = match table.get("template") {
                    None => {
                        self.at(
                            span,
                            format!("`notify` effect of {label} requires `template`"),
                        );
                        None
                    }
                    Some(v) => {
                        let t = self.string("`template`", v);
                        if let Some(t) = t
                            && !vocab.templates.contains(t)
                        {
                            self.at(v.span(), format!("unknown template `{t}` in {label}"));
                        }
                        t
                    }
                };
                Some(EffectDef::Notify {
                    role: role?.to_owned(),
                    template: template?.to_owned(),
                })
            }
            other => {
                // Only reachable if EFFECT_KINDS grows without a matching arm.
                self.at(
                    span,
                    format!("effect `{other}` is known but not implemented"),
                );
                None
            }
        }
    }

    /// Reachability from `initial` and creation targets, then, for the
    /// reached states, whether some terminal state can still be reached.
    fn graph(
        &mut self,
        start: usize,
        states: &[StateDef],
        spans: &[Range<usize>],
        transitions: &[RawTransition],
    ) {
        let n = states.len();
        let mut forward = vec![Vec::new(); n];
        let mut backward = vec![Vec::new(); n];
        let mut seeds = vec![start];
        for t in transitions {
            let Some(to) = t.to_idx else { continue };
            if t.creation {
                seeds.push(to);
            }
            for &from in &t.from_idx {
                forward[from].push(to);
                backward[to].push(from);
            }
        }
        let reached = flood(n, seeds, &forward);
        let terminals = (0..n).filter(|&i| states[i].terminal).collect();
        let finishing = flood(n, terminals, &backward);
        for (i, state) in states.iter().enumerate() {
            if !reached[i] {
                self.at(
                    spans[i].clone(),
                    format!("state `{}` is unreachable", state.name),
                );
            } else if !state.terminal && !finishing[i] {
                self.at(
                    spans[i].clone(),
                    format!("state `{}` has no path to a terminal state", state.name),
                );
            }
        }
    }
}

fn flood(n: usize, mut stack: Vec<usize>, edges: &[Vec<usize>]) -> Vec<bool> {
    let mut seen = vec![false; n];
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut seen[i], true) {
            stack.extend(edges[i].iter().copied());
        }
    }
    seen
}

/// toml keeps table entries sorted by key; errors and states are wanted in
/// file order, which the spans preserve.
fn ordered<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut entries: Vec<Entry<'a, 'i>> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

fn is_snake_case(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_camel_case(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"name = "research_task"
subject = "task"
initial = "open"

[states.open]
[states.claimed]
[states.accepted]
terminal = true

[[transitions]]
name = "claim"
from = ["open"]
to = "claimed"
roles = ["expert"]
guards = ["within_claim_limit"]
effects = [{ notify = "chair", template = "task_claimed" }]

[[transitions]]
name = "accept"
from = ["claimed"]
to = "accepted"
roles = ["chair"]
"#;

    /// Head of a valid file: states `open` -> `done`, transition `finish`.
    const HEAD: &str = "name = \"wf\"\nsubject = \"thing\"\ninitial = \"open\"\n";

    fn vocab() -> Vocabulary {
        let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Vocabulary {
            guards: set(&["within_claim_limit"]),
            roles: set(&["expert", "chair", "admin"]),
            templates: set(&["task_claimed"]),
        }
    }

    fn errors(source: &str) -> Vec<DefinitionError> {
        match Definition::parse("wf.toml", source, &vocab()) {
            Ok(_) => panic!("expected errors, file loaded:\n{source}"),
            Err(e) => e,
        }
    }

    #[track_caller]
    fn assert_error(source: &str, line: usize, reason: &str) {
        let errs = errors(source);
        assert!(
            errs.iter()
                .any(|e| e.line == line && e.reason.contains(reason)),
            "no error at line {line} containing {reason:?}; got:\n{}",
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    fn load(source: &str) -> Definition {
        match Definition::parse("wf.toml", source, &vocab()) {
            Ok(d) => d,
            Err(e) => panic!("expected to load, got {e:?}"),
        }
    }

    /// A valid minimal file with `extra` appended.
    fn minimal(extra: &str) -> String {
        format!(
            "{HEAD}\n[states.open]\n[states.done]\nterminal = true\n\n[[transitions]]\nname = \"finish\"\nfrom = [\"open\"]\nto = \"done\"\nroles = [\"chair\"]\n{extra}"
        )
    }

    #[test]
    fn example_loads() {
        let d = load(EXAMPLE);
        assert_eq!(d.name, "research_task");
        assert_eq!(d.subject, "task");
        assert_eq!(d.initial, "open");
        let names: Vec<_> = d.states.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["open", "claimed", "accepted"]);
        assert!(d.is_terminal("accepted"));
        assert!(!d.is_terminal("open"));
        assert!(!d.is_terminal("nowhere"));
        let claim = d.transition("claim").expect("claim");
        assert_eq!(claim.from, ["open"]);
        assert_eq!(claim.to, "claimed");
        assert_eq!(claim.roles, ["expert"]);
        assert_eq!(claim.guards, ["within_claim_limit"]);
        assert_eq!(
            claim.effects,
            [EffectDef::Notify {
                role: "chair".into(),
                template: "task_claimed".into()
            }]
        );
        assert!(!claim.reason_required);
        assert!(!claim.needs_input());
        assert!(!claim.is_creation());
        assert_eq!(d.transitions[1].name, "accept");
        assert_eq!(d.creation_transitions().count(), 0);
        let from_open: Vec<_> = d.transitions_from("open").map(|t| &t.name).collect();
        assert_eq!(from_open, ["claim"]);
        assert!(d.state("claimed").is_some());
        assert!(d.state("nope").is_none());
        assert_eq!(d.file, "wf.toml");
        assert_eq!(d.source, EXAMPLE);
        assert_eq!(d.hash.len(), 64);
        assert!(
            d.hash
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
    }

    #[test]
    fn display_of_error() {
        let e = DefinitionError {
            file: "a.toml".into(),
            line: 3,
            reason: "bad".into(),
            excerpt: None,
        };
        assert_eq!(e.to_string(), "a.toml:3: bad");
        let _: &dyn std::error::Error = &e;
        let unlocated = DefinitionError {
            file: "workflows".into(),
            line: 0,
            reason: "the folder does not exist".into(),
            excerpt: None,
        };
        assert_eq!(
            unlocated.to_string(),
            "workflows: the folder does not exist"
        );
    }

    #[test]
    fn syntax_error_stops_with_line() {
        let errs = errors("name = \"a\"\nsubject = \"x\ninitial = 3\n");
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 2);
        assert!(errs[0].reason.contains("string"), "{:?}", errs[0]);
        assert!(!errs[0].reason.contains('\n'));
        // The diagram keeps its line breaks: the line, and a caret under the fault.
        let shown = errs[0].to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 4, "{shown}");
        assert!(lines[0].starts_with("wf.toml:2: "), "{shown}");
        assert_eq!(lines[1], "  |");
        assert_eq!(lines[2], "2 | subject = \"x");
        // Under the unterminated string, where the parser gave up: at the end of the line.
        assert!(lines[3].starts_with("  | "), "{shown}");
        let caret = lines[3].find('^').expect("a caret");
        assert!(caret >= lines[2].find('"').expect("a quote"), "{shown}");
        assert!(caret <= lines[2].len(), "{shown}");
    }

    #[test]
    fn duplicate_toml_key_is_a_syntax_error() {
        assert_error(&minimal("[states.open]\n"), 14, "duplicate key");
    }

    #[test]
    fn unknown_top_level_key() {
        let src = format!("owner = \"me\"\n{}", minimal(""));
        assert_error(&src, 1, "unknown key `owner`");
    }

    #[test]
    fn unknown_key_in_state() {
        let src = minimal("").replace("terminal = true", "terminal = true\ncolour = \"red\"");
        assert_error(&src, 8, "unknown key `colour` in state `done`");
    }

    #[test]
    fn unknown_key_in_transition() {
        assert_error(
            &minimal("priority = 2\n"),
            14,
            "unknown key `priority` in transition `finish`",
        );
    }

    #[test]
    fn unknown_key_in_effect() {
        let src = minimal(
            "effects = [{ notify = \"chair\", template = \"task_claimed\", cc = \"x\" }]\n",
        );
        assert_error(&src, 14, "unknown key `cc` in `notify` effect");
    }

    #[test]
    fn missing_required_keys_are_on_line_one() {
        let src = minimal("").replacen("name = \"wf\"\n", "", 1);
        assert_error(&src, 1, "missing key `name`");
        let src = minimal("").replace("subject = \"thing\"\n", "");
        assert_error(&src, 1, "missing key `subject`");
        let src = minimal("").replace("initial = \"open\"\n", "");
        assert_error(&src, 1, "missing key `initial`");
    }

    #[test]
    fn wrong_type_for_top_level_key() {
        let src = minimal("").replace("subject = \"thing\"", "subject = 7");
        assert_error(&src, 2, "`subject` must be a string");
    }

    #[test]
    fn names_must_be_snake_case() {
        let src = minimal("").replace("name = \"wf\"", "name = \"Research\"");
        assert_error(&src, 1, "workflow name `Research` must be snake_case");
        let src = minimal("").replace("name = \"wf\"", "name = \"\"");
        assert_error(&src, 1, "workflow name must not be empty");
        let src = minimal("").replace("subject = \"thing\"", "subject = \"a-thing\"");
        assert_error(&src, 2, "subject `a-thing` must be snake_case");
        let src = minimal("")
            .replace("[states.done]", "[states.Done]")
            .replace("\"done\"", "\"Done\"");
        assert_error(&src, 6, "state name `Done` must be snake_case");
        let src = minimal("").replace("name = \"finish\"", "name = \"1finish\"");
        assert_error(&src, 10, "transition name `1finish` must be snake_case");
    }

    #[test]
    fn at_least_one_state() {
        let src = format!("{HEAD}\n[states]\n");
        assert_error(&src, 5, "at least one state is required");
        assert_error(HEAD, 1, "missing key `states`");
    }

    #[test]
    fn at_least_one_terminal_state() {
        let src = minimal("").replace("terminal = true\n", "");
        assert_error(&src, 5, "no terminal state");
    }

    #[test]
    fn state_terminal_must_be_bool() {
        let src = minimal("").replace("terminal = true", "terminal = \"yes\"");
        assert_error(&src, 7, "`terminal` must be `true` or `false`");
    }

    #[test]
    fn state_description_allowed() {
        let src = minimal("").replace("[states.open]", "[states.open]\ndescription = \"new\"");
        load(&src);
    }

    #[test]
    fn initial_must_be_declared() {
        let src = minimal("").replace("initial = \"open\"", "initial = \"opened\"");
        assert_error(&src, 3, "unknown state `opened`");
    }

    #[test]
    fn initial_must_not_be_terminal() {
        let src = minimal("").replace("initial = \"open\"", "initial = \"done\"");
        assert_error(&src, 3, "initial state `done` is terminal");
    }

    #[test]
    fn transition_needs_name() {
        let src = minimal("").replace("name = \"finish\"\n", "");
        assert_error(&src, 9, "transition #1 has no `name`");
    }

    #[test]
    fn transition_needs_from() {
        let src = minimal("").replace("from = [\"open\"]\n", "");
        assert_error(
            &src,
            9,
            "transition `finish` has no `from` (use `from = []` for a creation transition)",
        );
    }

    #[test]
    fn transition_needs_to() {
        let src = minimal("").replace("to = \"done\"\n", "");
        assert_error(&src, 9, "transition `finish` has no `to`");
    }

    #[test]
    fn transition_needs_roles() {
        let src = minimal("").replace("roles = [\"chair\"]\n", "");
        assert_error(&src, 9, "transition `finish` has no `roles`");
        let src = minimal("").replace("roles = [\"chair\"]", "roles = []");
        assert_error(&src, 13, "empty `roles`");
    }

    #[test]
    fn unknown_role() {
        let src = minimal("").replace("roles = [\"chair\"]", "roles = [\"chair\",\n  \"janitor\"]");
        assert_error(&src, 14, "unknown role `janitor`");
    }

    #[test]
    fn unknown_guard() {
        assert_error(
            &minimal("guards = [\"within_claim_limit\", \"g\"]\n"),
            14,
            "unknown guard `g`",
        );
    }

    #[test]
    fn unknown_effect_kind() {
        assert_error(
            &minimal("effects = [{ email = \"chair\", template = \"task_claimed\" }]\n"),
            14,
            "unknown effect `email`",
        );
    }

    #[test]
    fn effect_with_no_kind_or_two_kinds() {
        assert_error(
            &minimal("effects = [{ template = \"task_claimed\" }]\n"),
            14,
            "names no effect kind",
        );
        assert_error(
            &minimal("effects = [\"notify\"]\n"),
            14,
            "must be inline tables",
        );
    }

    #[test]
    fn notify_needs_template() {
        assert_error(
            &minimal("effects = [{ notify = \"chair\" }]\n"),
            14,
            "`notify` effect of transition `finish` requires `template`",
        );
    }

    #[test]
    fn notify_role_and_template_must_be_known() {
        assert_error(
            &minimal("effects = [{ notify = \"mayor\", template = \"task_claimed\" }]\n"),
            14,
            "unknown role `mayor`",
        );
        assert_error(
            &minimal("effects = [{ notify = \"chair\", template = \"nope\" }]\n"),
            14,
            "unknown template `nope`",
        );
    }

    #[test]
    fn effects_as_array_of_tables_also_work() {
        let d = load(&minimal(
            "\n[[transitions.effects]]\nnotify = \"chair\"\ntemplate = \"task_claimed\"\n",
        ));
        assert_eq!(d.transitions[0].effects.len(), 1);
    }

    #[test]
    fn reason_required_defaults_false_and_reads_true() {
        assert!(!load(&minimal("")).transitions[0].reason_required);
        assert!(load(&minimal("reason_required = true\n")).transitions[0].reason_required);
        assert_error(
            &minimal("reason_required = 1\n"),
            14,
            "`reason_required` must be",
        );
    }

    #[test]
    fn input_fields_are_camel_case() {
        let d = load(&minimal("input = [\"dueDate\", \"notes\"]\n"));
        assert_eq!(d.transitions[0].input, ["dueDate", "notes"]);
        assert!(d.transitions[0].needs_input());
        assert_error(
            &minimal("input = [\"due_date\"]\n"),
            14,
            "input field `due_date`",
        );
        assert_error(
            &minimal("input = [\"notes\", \"notes\"]\n"),
            14,
            "listed twice",
        );
    }

    #[test]
    fn transition_description_allowed() {
        load(&minimal("description = \"close it\"\n"));
    }

    #[test]
    fn duplicate_transition_is_reported_at_the_second() {
        let src = minimal(
            "\n[[transitions]]\nname = \"finish\"\nfrom = [\"open\"]\nto = \"done\"\nroles = [\"admin\"]\n",
        );
        assert_error(
            &src,
            16,
            "duplicate transition `finish` (first defined on line 10)",
        );
        assert_eq!(errors(&src).len(), 1);
    }

    #[test]
    fn transitions_may_share_from_and_to() {
        let d = load(&minimal(
            "\n[[transitions]]\nname = \"abandon\"\nfrom = [\"open\"]\nto = \"done\"\nroles = [\"admin\"]\n",
        ));
        assert_eq!(d.transitions_from("open").count(), 2);
    }

    #[test]
    fn unknown_state_in_from_and_to() {
        let src = minimal("").replace("from = [\"open\"]", "from = [\"open\", \"opne\"]");
        assert_error(&src, 11, "unknown state `opne`");
        let src = minimal("").replace("to = \"done\"", "to = \"dnoe\"");
        assert_error(&src, 12, "unknown state `dnoe`");
    }

    #[test]
    fn no_transition_out_of_terminal_state() {
        let src = minimal(
            "\n[[transitions]]\nname = \"reopen\"\nfrom = [\"done\"]\nto = \"open\"\nroles = [\"admin\"]\n",
        );
        assert_error(&src, 17, "leaves terminal state `done`");
    }

    #[test]
    fn unreachable_state() {
        let src = minimal("").replace("[states.done]", "[states.limbo]\n\n[states.done]");
        assert_error(&src, 6, "state `limbo` is unreachable");
    }

    #[test]
    fn no_path_to_terminal_state() {
        let src = minimal(
            "\n[[transitions]]\nname = \"park\"\nfrom = [\"open\"]\nto = \"parked\"\nroles = [\"admin\"]\n",
        )
        .replace("[states.done]", "[states.parked]\n[states.done]");
        assert_error(&src, 6, "state `parked` has no path to a terminal state");
        assert_eq!(errors(&src).len(), 1);
    }

    #[test]
    fn creation_transition_may_target_any_state() {
        let src = minimal(
            "\n[[transitions]]\nname = \"import\"\nfrom = []\nto = \"imported\"\nroles = [\"admin\"]\n\n[[transitions]]\nname = \"settle\"\nfrom = [\"imported\"]\nto = \"done\"\nroles = [\"admin\"]\n",
        )
        .replace("[states.done]", "[states.imported]\n[states.done]");
        let d = load(&src);
        let created: Vec<_> = d.creation_transitions().map(|t| t.name.as_str()).collect();
        assert_eq!(created, ["import"]);
        assert!(d.transition("import").is_some_and(|t| t.is_creation()));
        // Without the creation transition `imported` is reached by nothing.
        let src = src.replace("from = []", "from = [\"imported\"]");
        assert_error(&src, 6, "state `imported` is unreachable");
    }

    #[test]
    fn multi_error_file_reports_everything_in_line_order() {
        let src = r#"name = "Bad Name"
subject = "task"
initial = "open"
colour = "blue"

[states.open]
[states.orphan]
[states.done]
terminal = true

[[transitions]]
name = "finish"
from = ["open"]
to = "done"
roles = ["janitor"]
guards = ["nope"]
effects = [{ shout = "chair" }]

[[transitions]]
name = "finish"
from = ["done"]
to = "missing"
roles = ["chair"]
"#;
        let errs = errors(src);
        let expect = [
            (1, "workflow name `Bad Name` must be snake_case"),
            (4, "unknown key `colour`"),
            (7, "state `orphan` is unreachable"),
            (15, "unknown role `janitor`"),
            (16, "unknown guard `nope`"),
            (17, "unknown effect `shout`"),
            (20, "duplicate transition `finish`"),
            (21, "leaves terminal state `done`"),
            (22, "unknown state `missing`"),
        ];
        for (line, reason) in expect {
            assert!(
                errs.iter()
                    .any(|e| e.line == line && e.reason.contains(reason)),
                "missing {line}: {reason} in {errs:#?}"
            );
        }
        assert_eq!(errs.len(), expect.len(), "{errs:#?}");
        assert!(errs.windows(2).all(|w| w[0].line <= w[1].line));
        assert!(errs.iter().all(|e| e.file == "wf.toml"));
    }

    #[test]
    fn hash_is_stable_and_follows_the_text() {
        let a = load(EXAMPLE);
        let b = load(EXAMPLE);
        assert_eq!(a.hash, b.hash);
        let changed = load(&format!("{EXAMPLE}\n# a comment\n"));
        assert_ne!(a.hash, changed.hash);
        // SHA-256 of the empty string, to pin the encoding.
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    fn other_workflow(name: &str, subject: &str) -> String {
        EXAMPLE
            .replace("name = \"research_task\"", &format!("name = \"{name}\""))
            .replace("subject = \"task\"", &format!("subject = \"{subject}\""))
    }

    #[test]
    fn definitions_lookups_and_set_hash() {
        let sources = vec![
            ("b.toml".to_string(), other_workflow("review", "paper")),
            ("a.toml".to_string(), EXAMPLE.to_string()),
        ];
        let set = Definitions::from_sources(&sources, &vocab()).expect("loads");
        let names: Vec<_> = set.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["research_task", "review"]);
        let research = set.get("research_task").expect("by name");
        assert_eq!(research.file, "a.toml");
        assert!(Arc::ptr_eq(
            research,
            set.by_subject("task").expect("by subject")
        ));
        assert!(Arc::ptr_eq(
            research,
            set.by_hash(&research.hash).expect("by hash")
        ));
        assert!(set.get("task").is_none());

        let reversed: Vec<_> = sources.iter().rev().cloned().collect();
        let again = Definitions::from_sources(&reversed, &vocab()).expect("loads");
        assert_eq!(set.set_hash(), again.set_hash());
        let edited = vec![
            sources[0].clone(),
            ("a.toml".to_string(), format!("{EXAMPLE}# v2\n")),
        ];
        let edited = Definitions::from_sources(&edited, &vocab()).expect("loads");
        assert_ne!(set.set_hash(), edited.set_hash());
    }

    #[test]
    fn retired_definitions_are_reachable_only_by_hash() {
        let mut set = Definitions::from_sources(
            &[("a.toml".to_string(), format!("{EXAMPLE}# v2\n"))],
            &vocab(),
        )
        .expect("loads");
        let before = set.set_hash();
        let old = Arc::new(load(EXAMPLE));
        set.insert_retired(Arc::clone(&old));
        assert!(set.by_hash(&old.hash).is_some_and(|d| Arc::ptr_eq(d, &old)));
        assert_ne!(set.get("research_task").map(|d| &d.hash), Some(&old.hash));
        assert_eq!(set.iter().count(), 1);
        assert_eq!(set.set_hash(), before);
    }

    #[test]
    fn definitions_refuse_duplicate_names_and_subjects() {
        let sources = vec![
            ("a.toml".to_string(), EXAMPLE.to_string()),
            (
                "b.toml".to_string(),
                other_workflow("research_task", "paper"),
            ),
        ];
        let errs = Definitions::from_sources(&sources, &vocab()).expect_err("clash");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!((errs[0].file.as_str(), errs[0].line), ("b.toml", 1));
        assert!(errs[0].reason.contains("already defined in a.toml"));

        let sources = vec![
            ("a.toml".to_string(), EXAMPLE.to_string()),
            ("b.toml".to_string(), other_workflow("review", "task")),
        ];
        let errs = Definitions::from_sources(&sources, &vocab()).expect_err("clash");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!((errs[0].file.as_str(), errs[0].line), ("b.toml", 2));
        assert!(errs[0].reason.contains("subject `task`"));
    }

    #[test]
    fn definitions_collect_errors_from_every_file() {
        let sources = vec![
            ("a.toml".to_string(), "name = ".to_string()),
            ("b.toml".to_string(), minimal("guards = [\"g\"]\n")),
        ];
        let errs = Definitions::from_sources(&sources, &vocab()).expect_err("bad");
        let files: Vec<_> = errs.iter().map(|e| e.file.as_str()).collect();
        assert_eq!(files, ["a.toml", "b.toml"]);
    }

    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let path = std::env::temp_dir().join(format!(
                "govflow-wfdef-{tag}-{}-{nanos}",
                std::process::id()
            ));
            std::fs::create_dir_all(&path).expect("create temp dir");
            TempDir(path)
        }

        fn write(&self, name: &str, text: &str) {
            std::fs::write(self.0.join(name), text).expect("write");
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn load_dir_reads_toml_files_in_name_order() {
        let dir = TempDir::new("ok");
        dir.write("research.toml", EXAMPLE);
        dir.write("review.toml", &other_workflow("review", "paper"));
        dir.write("README.md", "not a definition");
        let set = Definitions::load_dir(&dir.0, &vocab()).expect("loads");
        assert_eq!(set.iter().count(), 2);
        let research = set.get("research_task").expect("loaded");
        assert_eq!(
            research.file,
            dir.0.join("research.toml").display().to_string()
        );

        // The later file in name order is the one blamed for a clash.
        dir.write("zz_copy.toml", EXAMPLE);
        let errs = Definitions::load_dir(&dir.0, &vocab()).expect_err("clash");
        assert_eq!(errs.len(), 2, "{errs:?}");
        let copy = dir.0.join("zz_copy.toml").display().to_string();
        assert!(errs.iter().all(|e| e.file == copy), "{errs:?}");
    }

    #[test]
    fn load_dir_reports_file_names_and_lines() {
        let dir = TempDir::new("bad");
        dir.write("good.toml", EXAMPLE);
        dir.write("bad.toml", &minimal("guards = [\"g\"]\n"));
        let errs = Definitions::load_dir(&dir.0, &vocab()).expect_err("bad");
        assert_eq!(errs.len(), 1, "{errs:?}");
        let bad = dir.0.join("bad.toml").display().to_string();
        assert_eq!(errs[0].file, bad);
        assert_eq!(errs[0].line, 14);
        assert!(
            errs[0]
                .to_string()
                .starts_with(&format!("{bad}:14: unknown guard `g`"))
        );
    }

    #[test]
    fn load_dir_refuses_empty_and_missing_folders() {
        let dir = TempDir::new("empty");
        dir.write("notes.txt", "");
        let errs = Definitions::load_dir(&dir.0, &vocab()).expect_err("empty");
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 0);
        assert!(errs[0].reason.contains("no workflow definitions in"));

        let missing = dir.0.join("nope");
        let errs = Definitions::load_dir(&missing, &vocab()).expect_err("missing");
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].file, missing.display().to_string());
        assert_eq!(errs[0].line, 0);
        assert_eq!(errs[0].reason, "the folder does not exist");
    }

    #[test]
    fn load_dir_reports_unreadable_file() {
        let dir = TempDir::new("unreadable");
        dir.write("good.toml", EXAMPLE);
        std::fs::write(dir.0.join("binary.toml"), [0xff, 0xfe, 0x00]).expect("write");
        let errs = Definitions::load_dir(&dir.0, &vocab()).expect_err("unreadable");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(
            errs[0].file,
            dir.0.join("binary.toml").display().to_string()
        );
        assert_eq!(errs[0].line, 0);
    }
}
