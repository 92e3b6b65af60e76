//! Reading one definition file: the TOML is parsed with spans kept, then
//! walked by a [`Checker`] that turns it into the model of the parent module
//! while collecting every problem it meets, each at its file and line.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::{Definition, DefinitionError, EffectDef, StateDef, TransitionDef, Vocabulary};

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

/// Lines of the keys that [`Definitions`](super::Definitions) needs to point at when two files
/// clash; kept outside [`Definition`] so its public shape stays plain data.
pub(super) struct KeyLines {
    pub(super) name: usize,
    pub(super) subject: usize,
}

pub(super) fn parse_located(
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
pub(super) struct Checker<'s> {
    file: &'s str,
    source: &'s str,
    vocab: &'s Vocabulary,
    line_starts: Vec<usize>,
    errors: Vec<DefinitionError>,
}

/// A transition as far as it could be read, with what the graph checks need.
pub(super) struct RawTransition {
    def: TransitionDef,
    pub(super) from_idx: Vec<usize>,
    pub(super) to_idx: Option<usize>,
    /// `from = []` written and well-formed: only then does `to` seed reachability.
    pub(super) creation: bool,
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

    pub(super) fn at(&mut self, span: Range<usize>, reason: impl Into<String>) {
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

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}
