//! Deadline rules (DECISIONS §8, §9): when the occurrences of a deadline fall due, as one parsed
//! type with one text form, which `docs/DEADLINES.md` explains to coordinators:
//!
//! - `at 2027-03-31T17:00`: once, at a wall time of the subject's zone;
//! - `cron 0 9 13 * 5`: the 5-field cron rule, evaluated in the subject's zone;
//! - `before_event "Ministerial Summit" 30d`: a period (days or hours) before the next meeting of a
//!   series of the subject's forum, following the meeting when it moves;
//! - `after_transition record 3y every 3y`: a period after the effective instant of a transition
//!   of the subject, optionally repeating.
//!
//! Periods are written `3y`, `6mo`, `30d`, `12h` or combined (`1y6mo`). Years and months clamp
//! to the month's end and days keep the wall time, both counted in the local calendar; hours are
//! exact. What the rule needs from the database (the meeting, the transition's instant) is given
//! to it; nothing here reads anything.

use crate::kernel::error::{EngineError, EngineResult};
use crate::time::cron::CronRule;
use crate::time::{resolve, shift};
use crate::types::TimeZone;
use chrono::{DateTime, NaiveDateTime, Utc};

/// The longest rule text accepted.
pub const MAX_RULE_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    At(NaiveDateTime),
    Cron(CronRule),
    BeforeEvent {
        series: String,
        lead: Period,
    },
    AfterTransition {
        transition: String,
        after: Period,
        every: Option<Period>,
    },
}

/// A length of calendar time: months (a year is 12), days and exact hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Period {
    pub months: u32,
    pub days: u32,
    pub hours: u32,
}

/// The most of each unit a period may hold: a century, enough for any obligation.
const MAX_MONTHS: u32 = 1200;
const MAX_DAYS: u32 = 36_600;
const MAX_HOURS: u32 = 876_000;

impl Period {
    pub fn days(days: u32) -> Period {
        Period {
            days,
            ..Period::default()
        }
    }

    /// Parses `3y`, `6mo`, `30d`, `12h`, or several of them run together (`1y6mo`).
    pub fn parse(field: &str, text: &str) -> EngineResult<Period> {
        let invalid = |problem: String| EngineError::invalid(field, problem);
        let mut period = Period::default();
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(invalid(
                "a period is written like `3y`, `6mo`, `30d` or `12h`".into(),
            ));
        }
        while !rest.is_empty() {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let (number, tail) = rest.split_at(digits);
            let number: u32 = number.parse().map_err(|_| {
                invalid(format!(
                    "`{text}` is not a period: write a number and a unit (y, mo, d, h), e.g. `30d`"
                ))
            })?;
            let unit_len = tail.len()
                - tail
                    .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                    .len();
            let (unit, tail) = tail.split_at(unit_len);
            match unit {
                "y" => period.months = period.months.saturating_add(number.saturating_mul(12)),
                "mo" => period.months = period.months.saturating_add(number),
                "d" => period.days = period.days.saturating_add(number),
                "h" => period.hours = period.hours.saturating_add(number),
                _ => {
                    return Err(invalid(format!(
                        "`{unit}` in `{text}` is not a unit: use y (years), mo (months), d (days) or h (hours)"
                    )));
                }
            }
            rest = tail;
        }
        if period.months > MAX_MONTHS || period.days > MAX_DAYS || period.hours > MAX_HOURS {
            return Err(invalid(format!("`{text}` is longer than a century")));
        }
        Ok(period)
    }

    pub fn is_zero(&self) -> bool {
        *self == Period::default()
    }

    /// The period `n` times over, saturating (a rule repeats for centuries at most anyway).
    pub fn times(&self, n: u32) -> Period {
        Period {
            months: self.months.saturating_mul(n),
            days: self.days.saturating_mul(n),
            hours: self.hours.saturating_mul(n),
        }
    }

    pub fn plus(&self, other: Period) -> Period {
        Period {
            months: self.months.saturating_add(other.months),
            days: self.days.saturating_add(other.days),
            hours: self.hours.saturating_add(other.hours),
        }
    }

    /// `instant` moved forward (`sign` 1) or back (`sign` -1) by this period in `zone`.
    pub fn shift(&self, zone: TimeZone, instant: DateTime<Utc>, sign: i64) -> DateTime<Utc> {
        shift(
            zone,
            instant,
            sign * i64::from(self.months),
            sign * i64::from(self.days),
            sign * i64::from(self.hours),
        )
    }

    /// The canonical text: `1y6mo`, `30d`, `0d` for nothing.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let (years, months) = (self.months / 12, self.months % 12);
        for (value, unit) in [
            (years, "y"),
            (months, "mo"),
            (self.days, "d"),
            (self.hours, "h"),
        ] {
            if value > 0 {
                out.push_str(&format!("{value}{unit}"));
            }
        }
        if out.is_empty() {
            out.push_str("0d");
        }
        out
    }
}

impl Rule {
    /// Parses the text form; a problem is INVALID_INPUT on `field`, saying why.
    pub fn parse(field: &str, text: &str) -> EngineResult<Rule> {
        let invalid = |problem: String| EngineError::invalid(field, problem);
        let text = text.trim();
        if text.chars().count() > MAX_RULE_CHARS {
            return Err(invalid(format!(
                "is longer than {MAX_RULE_CHARS} characters"
            )));
        }
        let (keyword, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let rest = rest.trim();
        match keyword {
            "at" => {
                let wall = parse_wall(rest).ok_or_else(|| {
                    invalid(format!(
                        "`{rest}` is not a local date and time such as `2027-03-31T17:00`"
                    ))
                })?;
                Ok(Rule::At(wall))
            }
            "cron" => Ok(Rule::Cron(CronRule::parse(field, rest)?)),
            "before_event" => {
                let (series, rest) = take_name(rest).ok_or_else(|| {
                    invalid("write `before_event \"<series>\" <days or hours>`, e.g. `before_event \"Ministerial Summit\" 30d`".into())
                })?;
                let lead = Period::parse(field, rest)?;
                if lead.months > 0 {
                    return Err(invalid(
                        "a lead before a meeting is counted in days (d) or hours (h)".into(),
                    ));
                }
                Ok(Rule::BeforeEvent { series, lead })
            }
            "after_transition" => {
                let (transition, rest) = take_name(rest).ok_or_else(|| {
                    invalid("write `after_transition <transition> <period> [every <period>]`, e.g. `after_transition record 3y every 3y`".into())
                })?;
                let (after, every) = match rest.split_once(" every ") {
                    Some((after, every)) => (after, Some(every)),
                    None => (rest, None),
                };
                let after = Period::parse(field, after)?;
                let every = every.map(|every| Period::parse(field, every)).transpose()?;
                if every.is_some_and(|every| every.is_zero()) {
                    return Err(invalid(
                        "a repeat `every` must be longer than nothing".into(),
                    ));
                }
                Ok(Rule::AfterTransition {
                    transition,
                    after,
                    every,
                })
            }
            "" => Err(invalid("is empty".into())),
            other => Err(invalid(format!(
                "`{other}` is not a kind of rule: start with at, cron, before_event or after_transition"
            ))),
        }
    }

    /// `at`, `cron`, `before_event` or `after_transition`.
    pub fn kind(&self) -> &'static str {
        match self {
            Rule::At(_) => "at",
            Rule::Cron(_) => "cron",
            Rule::BeforeEvent { .. } => "before_event",
            Rule::AfterTransition { .. } => "after_transition",
        }
    }

    /// The canonical text, which parses back to the same rule.
    pub fn text(&self) -> String {
        match self {
            Rule::At(wall) => format!("at {}", wall_text(*wall)),
            Rule::Cron(cron) => format!("cron {}", cron.text()),
            Rule::BeforeEvent { series, lead } => {
                format!("before_event \"{series}\" {}", lead.text())
            }
            Rule::AfterTransition {
                transition,
                after,
                every,
            } => match every {
                Some(every) => format!(
                    "after_transition {transition} {} every {}",
                    after.text(),
                    every.text()
                ),
                None => format!("after_transition {transition} {}", after.text()),
            },
        }
    }

    /// For `after_transition`: the due instant of the `n`-th occurrence (from 1) counted from
    /// the transition's effective instant; `None` past the last (a rule without `every` has one).
    /// Each is counted from the effective instant, so month ends clamp once, not cumulatively.
    pub fn nth_after(
        &self,
        zone: TimeZone,
        effective: DateTime<Utc>,
        n: u32,
    ) -> Option<DateTime<Utc>> {
        let Rule::AfterTransition { after, every, .. } = self else {
            return None;
        };
        let period = match (n, every) {
            (0, _) => return None,
            (1, _) => *after,
            (n, Some(every)) => after.plus(every.times(n - 1)),
            (_, None) => return None,
        };
        Some(period.shift(zone, effective, 1))
    }
}

/// The wall times of a cron rule after `after_wall` (or from `after` if none) in `zone`, with
/// their instants, strictly after `after` and each instant once: two wall times that resolve to
/// one instant (02:30 in a gap and 03:30 after it) are one occurrence, named by the first.
pub fn cron_occurrences(
    cron: &CronRule,
    zone: TimeZone,
    after_wall: NaiveDateTime,
    after: DateTime<Utc>,
) -> impl Iterator<Item = (NaiveDateTime, DateTime<Utc>)> + use<> {
    let mut last = after;
    cron.wall_times_after(after_wall).filter_map(move |wall| {
        let instant = resolve(zone, wall);
        (instant > last).then(|| {
            last = instant;
            (wall, instant)
        })
    })
}

/// An occurrence's anchor text for a wall time: `2027-03-31T17:00`.
pub fn wall_text(wall: NaiveDateTime) -> String {
    wall.format("%Y-%m-%dT%H:%M").to_string()
}

/// Reads `2027-03-31T17:00` (a space for the `T`, and seconds, are accepted).
pub fn parse_wall(text: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text.trim(), format).ok())
}

/// A name at the start of `text`: `"quoted with spaces"` or one word; and what follows.
fn take_name(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start();
    let (name, rest) = if let Some(quoted) = text.strip_prefix('"') {
        let (name, rest) = quoted.split_once('"')?;
        (name.trim(), rest)
    } else {
        let (name, rest) = text.split_once(char::is_whitespace)?;
        (name, rest)
    };
    (!name.is_empty() && !name.contains(char::is_control)).then(|| (name.to_owned(), rest.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse("timeZone", name).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn each_kind_parses_and_prints_back() {
        for (text, canonical) in [
            ("at 2027-03-31T17:00", "at 2027-03-31T17:00"),
            ("at 2027-03-31 17:00", "at 2027-03-31T17:00"),
            ("cron  0 9  13 * 5", "cron 0 9 13 * 5"),
            (
                "before_event \"Ministerial Summit\" 30d",
                "before_event \"Ministerial Summit\" 30d",
            ),
            ("before_event Council 12h", "before_event \"Council\" 12h"),
            (
                "after_transition record 36mo every 3y",
                "after_transition record 3y every 3y",
            ),
            (
                "after_transition establish 1y6mo",
                "after_transition establish 1y6mo",
            ),
        ] {
            let rule = Rule::parse("rule", text).unwrap();
            assert_eq!(rule.text(), canonical);
            assert_eq!(Rule::parse("rule", &rule.text()).unwrap(), rule);
        }
    }

    #[test]
    fn bad_rules_say_why() {
        for (text, says) in [
            ("", "is empty"),
            ("weekly 9am", "`weekly` is not a kind of rule"),
            ("at tomorrow", "is not a local date and time"),
            ("at 2027-02-30T09:00", "is not a local date and time"),
            ("cron 0 0 9 13 * 5", "5 fields"),
            ("cron 60 * * * *", "out of range 0–59"),
            (
                "before_event \"Ministerial Summit\" 2mo",
                "days (d) or hours (h)",
            ),
            (
                "before_event \"Ministerial Summit\" soon",
                "is not a period",
            ),
            (
                "before_event \"Ministerial Summit 30d",
                "write `before_event",
            ),
            ("after_transition record 3w", "`w` in `3w` is not a unit"),
            ("after_transition record 3y every 0d", "longer than nothing"),
            ("after_transition record 200y", "longer than a century"),
        ] {
            let err = Rule::parse("input.rule", text).unwrap_err().to_string();
            assert!(err.contains("input.rule"), "{text}: {err}");
            assert!(err.contains(says), "{text}: `{err}` does not say `{says}`");
        }
        let long = format!("cron {}", "1,".repeat(200));
        assert!(
            Rule::parse("rule", &long)
                .unwrap_err()
                .to_string()
                .contains("longer than")
        );
    }

    #[test]
    fn the_oecd_rule_clamps_and_repeats_from_the_adoption() {
        // Adopted on 29 February: three years later is 28 February, and every repeat is
        // counted from the adoption, so the clamp never accumulates.
        let rule = Rule::parse("rule", "after_transition record 3y every 4y").unwrap();
        let paris = zone("Europe/Paris");
        let adopted = utc("2016-02-29T09:00:00+01:00");
        assert_eq!(
            rule.nth_after(paris, adopted, 1),
            Some(utc("2019-02-28T09:00:00+01:00"))
        );
        assert_eq!(
            rule.nth_after(paris, adopted, 2),
            Some(utc("2023-02-28T09:00:00+01:00"))
        );
        assert_eq!(
            rule.nth_after(paris, adopted, 3),
            Some(utc("2027-02-28T09:00:00+01:00"))
        );
        let once = Rule::parse("rule", "after_transition record 3y").unwrap();
        assert_eq!(once.nth_after(paris, adopted, 2), None);
    }

    #[test]
    fn a_cron_rule_gives_each_instant_once_across_daylight_saving() {
        // New York, 8 March 2026: 02:00–03:00 does not exist. 02:30 reads as 03:30 (the offset
        // before the gap), which is also what 03:30 names: one occurrence.
        let cron = CronRule::parse("rule", "30 1-4 8 mar *").unwrap();
        let new_york = zone("America/New_York");
        let from = parse_wall("2026-03-08T00:00").unwrap();
        let got: Vec<(String, String)> =
            cron_occurrences(&cron, new_york, from, utc("2026-03-08T04:00:00Z"))
                .take(3)
                .map(|(wall, at)| (wall_text(wall), at.to_rfc3339()))
                .collect();
        assert_eq!(
            got,
            [
                (
                    "2026-03-08T01:30".into(),
                    "2026-03-08T06:30:00+00:00".into()
                ),
                (
                    "2026-03-08T02:30".into(),
                    "2026-03-08T07:30:00+00:00".into()
                ),
                (
                    "2026-03-08T04:30".into(),
                    "2026-03-08T08:30:00+00:00".into()
                ),
            ]
        );
        // 1 November 2026: 01:30 happens twice; it is one occurrence, at the earlier instant.
        let cron = CronRule::parse("rule", "30 * 1 nov *").unwrap();
        let from = parse_wall("2026-11-01T00:00").unwrap();
        let got: Vec<String> = cron_occurrences(&cron, new_york, from, utc("2026-11-01T04:00:00Z"))
            .take(3)
            .map(|(_, at)| at.to_rfc3339())
            .collect();
        assert_eq!(
            got,
            [
                "2026-11-01T04:30:00+00:00",
                "2026-11-01T05:30:00+00:00",
                "2026-11-01T07:30:00+00:00"
            ]
        );
    }
}
