//! Five-field cron rules as people write them (`minute hour day-of-month month day-of-week`,
//! DECISIONS §8), read the way Vixie cron reads them, and enumerated as wall times with the `cron`
//! crate.
//!
//! The crate reads its own dialect: a seconds field first, Sunday counted as 1, both day fields
//! required to match, and times computed in a zone (skipping wall times inside a daylight-saving
//! gap, repeating ambiguous ones). So the user's text is never handed to it: each field is parsed
//! here into the set of values it allows, and the crate is given those numbers, Sunday moved to 1,
//! in a schedule evaluated on naive wall times (as UTC, which has no daylight saving). When both
//! day fields are restricted a day matches either, as in Vixie cron: two schedules are enumerated
//! and merged. Turning wall times into instants is `crate::time::resolve`'s job.

use crate::kernel::error::{EngineError, EngineResult};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::collections::BTreeSet;
use std::str::FromStr;

/// A parsed 5-field rule: the values each field allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronRule {
    minutes: BTreeSet<u32>,
    hours: BTreeSet<u32>,
    days_of_month: BTreeSet<u32>,
    months: BTreeSet<u32>,
    /// 0 = Sunday … 6 = Saturday (7 is read as 0).
    days_of_week: BTreeSet<u32>,
    /// Whether a day field was written without a leading `*`: Vixie cron's test for "restricted".
    day_of_month_restricted: bool,
    day_of_week_restricted: bool,
    text: String,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DAY_OF_WEEK: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// How far ahead a rule must fire at least once to be accepted: a 29 February rule fires every
/// four years (eight across a skipped leap year such as 2100), a 31 April rule never.
const MUST_FIRE_WITHIN_YEARS: i32 = 9;

impl CronRule {
    /// Parses `text`; a problem is INVALID_INPUT on `field`, naming the cron field and why.
    pub fn parse(field: &str, text: &str) -> EngineResult<CronRule> {
        let invalid = |problem: String| EngineError::invalid(field, problem);
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(invalid(format!(
                "a cron rule has 5 fields (minute hour day-of-month month day-of-week), not {}",
                parts.len()
            )));
        }
        let parse = |spec: &Field, raw: &str| parse_field(spec, raw).map_err(&invalid);
        let mut days_of_week = parse(&DAY_OF_WEEK, parts[4])?;
        if days_of_week.remove(&7) {
            days_of_week.insert(0);
        }
        let rule = CronRule {
            minutes: parse(&MINUTE, parts[0])?,
            hours: parse(&HOUR, parts[1])?,
            days_of_month: parse(&DAY_OF_MONTH, parts[2])?,
            months: parse(&MONTH, parts[3])?,
            days_of_week,
            day_of_month_restricted: !parts[2].starts_with('*'),
            day_of_week_restricted: !parts[4].starts_with('*'),
            text: parts.join(" "),
        };
        let from = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .unwrap_or_default();
        let horizon = from
            .checked_add_months(chrono::Months::new(12 * MUST_FIRE_WITHIN_YEARS as u32))
            .unwrap_or(NaiveDateTime::MAX);
        match rule.wall_times_after(from).next() {
            Some(first) if first <= horizon => Ok(rule),
            _ => Err(invalid(format!(
                "`{}` names no day that exists (check the day-of-month against the month)",
                rule.text
            ))),
        }
    }

    /// The rule as written, its fields separated by single spaces.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The wall times the rule names strictly after `after`, in order.
    pub fn wall_times_after(
        &self,
        after: NaiveDateTime,
    ) -> impl Iterator<Item = NaiveDateTime> + use<> {
        let start = DateTime::<Utc>::from_naive_utc_and_offset(after, Utc);
        let every_day: BTreeSet<u32> = BTreeSet::new();
        let schedules: Vec<cron::Schedule> =
            if self.day_of_month_restricted && self.day_of_week_restricted {
                // Vixie cron: either day field matching is enough.
                vec![
                    self.schedule(&self.days_of_month, &every_day),
                    self.schedule(&every_day, &self.days_of_week),
                ]
            } else {
                vec![self.schedule(&self.days_of_month, &self.days_of_week)]
            };
        let mut streams: Vec<std::iter::Peekable<cron::OwnedScheduleIterator<Utc>>> = schedules
            .into_iter()
            .map(|schedule| schedule.after_owned(start).peekable())
            .collect();
        std::iter::from_fn(move || {
            let next = streams
                .iter_mut()
                .filter_map(|stream| stream.peek().copied())
                .min()?;
            for stream in &mut streams {
                if stream.peek() == Some(&next) {
                    stream.next();
                }
            }
            Some(next.naive_utc())
        })
    }

    /// The crate's schedule for these sets; an empty day set means every day. Only numbers built
    /// here reach the crate's parser, so it cannot fail on anything but a bug.
    fn schedule(
        &self,
        days_of_month: &BTreeSet<u32>,
        days_of_week: &BTreeSet<u32>,
    ) -> cron::Schedule {
        let list = |values: &BTreeSet<u32>| {
            if values.is_empty() {
                "*".to_owned()
            } else {
                values
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            }
        };
        // The crate counts Sunday as 1.
        let crate_days: BTreeSet<u32> = days_of_week.iter().map(|day| day + 1).collect();
        let expression = format!(
            "0 {} {} {} {} {}",
            list(&self.minutes),
            list(&self.hours),
            list(days_of_month),
            list(&self.months),
            list(&crate_days),
        );
        cron::Schedule::from_str(&expression)
            .unwrap_or_else(|err| unreachable!("a schedule built from numbers parses: {err}"))
    }
}

/// The values one field allows: `*`, `*/n`, `a`, `a-b`, `a-b/n`, `a/n` (from a to the end), in a
/// comma-separated list; numbers or (for months and days of the week) English three-letter names.
fn parse_field(spec: &Field, raw: &str) -> Result<BTreeSet<u32>, String> {
    let mut values = BTreeSet::new();
    for item in raw.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().ok().filter(|step| *step > 0).ok_or_else(|| {
                    format!(
                        "{} step `{step}` in `{raw}` is not a whole number above 0",
                        spec.name
                    )
                })?;
                (range, Some(step))
            }
            None => (item, None),
        };
        let (low, high) = if range == "*" {
            (spec.min, spec.max)
        } else if let Some((low, high)) = range.split_once('-') {
            let (low, high) = (value(spec, low, raw)?, value(spec, high, raw)?);
            if low > high {
                return Err(format!(
                    "{} range `{range}` in `{raw}` runs backwards",
                    spec.name
                ));
            }
            (low, high)
        } else {
            let low = value(spec, range, raw)?;
            (low, if step.is_some() { spec.max } else { low })
        };
        values.extend((low..=high).step_by(step.unwrap_or(1) as usize));
    }
    Ok(values)
}

fn value(spec: &Field, raw: &str, whole: &str) -> Result<u32, String> {
    let lower = raw.to_ascii_lowercase();
    if let Some(index) = spec.names.iter().position(|name| *name == lower) {
        // Month names count from January = 1, day names from Sunday = 0: each field's minimum.
        return Ok(index as u32 + spec.min);
    }
    let number: u32 = raw.parse().map_err(|_| {
        let names = if spec.names.is_empty() {
            String::new()
        } else {
            format!(" or a name such as `{}`", spec.names[0])
        };
        format!("{} `{raw}` in `{whole}` is not a number{names}", spec.name)
    })?;
    if !(spec.min..=spec.max).contains(&number) {
        return Err(format!(
            "{} `{number}` is out of range {}–{}",
            spec.name, spec.min, spec.max
        ));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn next(rule: &str, after: &str, count: usize) -> Vec<String> {
        CronRule::parse("rule", rule)
            .unwrap()
            .wall_times_after(wall(after))
            .take(count)
            .map(|at| at.format("%Y-%m-%d %a %H:%M").to_string())
            .collect()
    }

    #[test]
    fn both_day_fields_restricted_match_either_day() {
        // November 2026: Fridays are the 6th, 13th, 20th and 27th; the 13th is a Friday too
        // and fires once.
        assert_eq!(
            next("0 9 13 * 5", "2026-11-01 00:00", 6),
            [
                "2026-11-06 Fri 09:00",
                "2026-11-13 Fri 09:00",
                "2026-11-20 Fri 09:00",
                "2026-11-27 Fri 09:00",
                "2026-12-04 Fri 09:00",
                "2026-12-11 Fri 09:00",
            ]
        );
        assert_eq!(
            next("0 9 13 * 5", "2026-12-11 10:00", 2),
            ["2026-12-13 Sun 09:00", "2026-12-18 Fri 09:00"]
        );
    }

    #[test]
    fn one_restricted_day_field_is_anded_with_the_other() {
        assert_eq!(
            next("30 12 * * mon-wed", "2026-11-25 13:00", 3),
            [
                "2026-11-30 Mon 12:30",
                "2026-12-01 Tue 12:30",
                "2026-12-02 Wed 12:30"
            ]
        );
        assert_eq!(
            next("0 0 */10 * *", "2026-11-25 13:00", 3),
            [
                "2026-12-01 Tue 00:00",
                "2026-12-11 Fri 00:00",
                "2026-12-21 Mon 00:00"
            ]
        );
    }

    #[test]
    fn sunday_is_0_or_7_and_names_are_allowed() {
        let sundays = next("0 8 * * 0", "2026-11-25 00:00", 2);
        assert_eq!(sundays, ["2026-11-29 Sun 08:00", "2026-12-06 Sun 08:00"]);
        assert_eq!(next("0 8 * * 7", "2026-11-25 00:00", 2), sundays);
        assert_eq!(next("0 8 * * SUN", "2026-11-25 00:00", 2), sundays);
        assert_eq!(
            next("15 6 1 jan,Jul *", "2026-11-25 00:00", 2),
            ["2027-01-01 Fri 06:15", "2027-07-01 Thu 06:15"]
        );
        assert_eq!(
            next("0 0 29 feb *", "2026-11-25 00:00", 1),
            ["2028-02-29 Tue 00:00"]
        );
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        for (rule, says) in [
            ("0 0 9 13 * 5", "5 fields"),
            ("0 9 13 *", "not 4"),
            ("60 * * * *", "minute `60` is out of range 0–59"),
            ("* 24 * * *", "hour `24` is out of range 0–23"),
            ("* * 0 * *", "day-of-month `0` is out of range 1–31"),
            ("* * * 13 *", "month `13` is out of range 1–12"),
            ("* * * * 8", "day-of-week `8` is out of range 0–7"),
            ("* * * * fri-mon", "runs backwards"),
            ("*/0 * * * *", "step `0`"),
            ("x * * * *", "minute `x` in `x` is not a number"),
            ("* * * foo *", "or a name such as `jan`"),
            ("0 0 31 apr *", "names no day that exists"),
        ] {
            let err = CronRule::parse("input.rule", rule).unwrap_err().to_string();
            assert!(err.contains("input.rule"), "{rule}: {err}");
            assert!(err.contains(says), "{rule}: `{err}` does not say `{says}`");
        }
    }
}
