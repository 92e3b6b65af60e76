//! Domain types that parse their input. An invalid value cannot be built, so the code that holds
//! one never checks it again; each parser names the field it was given in its error.

use crate::kernel::error::EngineError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An e-mail address, kept as written; [`EmailAddress::normalized`] is the form that is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(field: &str, raw: &str) -> Result<EmailAddress, EngineError> {
        let value = raw.trim();
        let invalid = |problem: &str| EngineError::invalid(field, format!("`{raw}` {problem}"));
        if value.is_empty() {
            return Err(EngineError::invalid(field, "must not be empty"));
        }
        if value.len() > 254 {
            return Err(invalid("is longer than 254 characters"));
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err(invalid("has no `@`"));
        };
        if local.is_empty() || domain.is_empty() {
            return Err(invalid("needs a name before and a domain after the `@`"));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) || local.contains('@') {
            return Err(invalid("contains spaces or a second `@`"));
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return Err(invalid("has a malformed domain"));
        }
        Ok(EmailAddress(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Addresses are unique compared case-insensitively.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IANA time zone name known to chrono-tz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(field: &str, raw: &str) -> Result<TimeZone, EngineError> {
        raw.trim()
            .parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| {
                EngineError::invalid(
                    field,
                    format!("`{raw}` is not an IANA time zone name (e.g. `Asia/Seoul`)"),
                )
            })
    }

    pub fn utc() -> TimeZone {
        TimeZone(chrono_tz::UTC)
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

/// A BCP-47 language tag in its well-formed syntax: a 2-3 (or 5-8) letter language, then subtags
/// of 1-8 letters or digits (`en`, `zh-Hans`, `es-419`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LanguageTag(String);

impl LanguageTag {
    pub fn parse(field: &str, raw: &str) -> Result<LanguageTag, EngineError> {
        let invalid = || {
            EngineError::invalid(
                field,
                format!("`{raw}` is not a BCP-47 language tag (e.g. `en`, `fr`, `zh-Hans`)"),
            )
        };
        let mut parts = raw.split('-');
        let primary = parts.next().unwrap_or_default();
        let primary_ok = matches!(primary.len(), 2 | 3 | 5..=8)
            && primary.chars().all(|c| c.is_ascii_alphabetic());
        if !primary_ok {
            return Err(invalid());
        }
        for subtag in parts {
            if subtag.is_empty()
                || subtag.len() > 8
                || !subtag.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(invalid());
            }
        }
        Ok(LanguageTag(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A required piece of text that may span lines (a theme, a reason, a comment): trimmed, not
/// empty, and of a bounded length. One-line values are [`SingleLine`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredText(String);

impl RequiredText {
    pub fn parse(field: &str, raw: &str, max_chars: usize) -> Result<RequiredText, EngineError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(EngineError::invalid(field, "must not be empty"));
        }
        if value.chars().count() > max_chars {
            return Err(EngineError::invalid(
                field,
                format!("is longer than {max_chars} characters"),
            ));
        }
        Ok(RequiredText(value.to_owned()))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// One line of text (a name, a title): a [`RequiredText`] without control characters. These
/// values end up in e-mail subject lines and in one-line displays, where a line break or another
/// control character would split a header or forge a second line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleLine(String);

impl SingleLine {
    pub fn parse(field: &str, raw: &str, max_chars: usize) -> Result<SingleLine, EngineError> {
        let value = RequiredText::parse(field, raw, max_chars)?.into_string();
        check_single_line(field, &value)?;
        Ok(SingleLine(value))
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Parses a field that may be absent (an edit that leaves it as it is).
    pub fn parse_optional(
        field: &str,
        raw: Option<&str>,
        max_chars: usize,
    ) -> Result<Option<String>, EngineError> {
        raw.map(|raw| SingleLine::parse(field, raw, max_chars).map(SingleLine::into_string))
            .transpose()
    }
}

/// Refuses a value holding a control character (`char::is_control`: line breaks, tabs, bells,
/// escapes), naming the field and the character.
pub fn check_single_line(field: &str, value: &str) -> Result<(), EngineError> {
    match value.chars().find(|c| c.is_control()) {
        None => Ok(()),
        Some(c) => Err(EngineError::invalid(
            field,
            format!(
                "must be a single line without control characters (it contains U+{:04X})",
                u32::from(c)
            ),
        )),
    }
}

/// Names of forums, groups, member states and people.
pub const MAX_NAME_CHARS: usize = 200;
/// Free text such as a group's theme or a reason.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Parses an instant given as RFC 3339 text with an offset (`2022-11-21T09:00:00+09:00`).
pub fn parse_instant(field: &str, raw: &str) -> Result<DateTime<Utc>, EngineError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            EngineError::invalid(
                field,
                format!("`{raw}` is not an RFC 3339 date-time with an offset"),
            )
        })
}

/// The instant a transition's `input` holds under `field` (INVALID_INPUT naming `input.<field>`
/// when it is missing or unparsable).
pub fn input_instant(input: &serde_json::Value, field: &str) -> Result<DateTime<Utc>, EngineError> {
    let name = format!("input.{field}");
    let raw = input
        .get(field)
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            EngineError::invalid(name.clone(), "is required, as an RFC 3339 date-time")
        })?;
    parse_instant(&name, raw)
}

/// Parses an id given as text; a missing one or one that is not a UUID is INVALID_INPUT naming
/// `field`.
pub fn parse_uuid_input(field: &str, raw: Option<&str>) -> Result<uuid::Uuid, EngineError> {
    let raw = raw.ok_or_else(|| EngineError::invalid(field, "is required"))?;
    uuid::Uuid::parse_str(raw.trim())
        .map_err(|_| EngineError::invalid(field, format!("`{raw}` is not an id")))
}

/// How a forum's member representatives decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionRule {
    Consensus,
    Majority,
}

impl DecisionRule {
    pub fn parse(field: &str, raw: &str) -> Result<DecisionRule, EngineError> {
        match raw {
            "consensus" => Ok(DecisionRule::Consensus),
            "majority" => Ok(DecisionRule::Majority),
            _ => Err(EngineError::invalid(
                field,
                format!("`{raw}` is not a decision rule (consensus or majority)"),
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            DecisionRule::Consensus => "consensus",
            DecisionRule::Majority => "majority",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_lines_refuse_control_characters_and_name_the_field() {
        for raw in [
            "Bad\nName",
            "Bad\rName",
            "Bad\tName",
            "Bell\u{7}",
            "\u{1b}[31mRed",
            "Next\u{85}Line",
        ] {
            match SingleLine::parse("name", raw, MAX_NAME_CHARS) {
                Err(EngineError::InvalidInput { field, .. }) => {
                    assert_eq!(field, "name", "{raw:?}")
                }
                other => panic!("{raw:?} was not refused: {other:?}"),
            }
        }
    }

    #[test]
    fn single_lines_are_trimmed_and_multi_line_text_keeps_its_breaks() {
        assert_eq!(
            SingleLine::parse("name", "  Digital Nations\n", MAX_NAME_CHARS)
                .map(SingleLine::into_string)
                .ok()
                .as_deref(),
            Some("Digital Nations")
        );
        assert_eq!(
            RequiredText::parse("text", "one\ntwo\r\nthree\tfour", MAX_TEXT_CHARS)
                .map(RequiredText::into_string)
                .ok()
                .as_deref(),
            Some("one\ntwo\r\nthree\tfour")
        );
    }
}
