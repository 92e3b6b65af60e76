//! Reminder plans: when, around an occurrence's due instant, whom to remind. A plan is a short
//! list of steps (`-30d` to the coordinators, `+7d` to the chair); the default plan is
//! `config/reminders.toml`, and a deadline may set its own. Roles are resolved to people only when
//! a reminder is sent, so a coordinator appointed in between is reminded.

use crate::kernel::config::ConfigSource;
use crate::kernel::error::{EngineError, EngineResult};
use crate::time::rules::Period;
use crate::types::TimeZone;
use chrono::{DateTime, Utc};

/// The most steps one plan may have.
pub const MAX_STEPS: usize = 20;
/// The roles a reminder may name.
pub const ROLES: &[&str] = &["coordinator", "chair", "expert", "observer", "claimant"];

/// A signed offset from a due instant: `-30d`, `0d`, `+7d`, `-12h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Offset {
    /// Whether the reminder comes after the due instant.
    pub after: bool,
    pub period: Period,
}

impl Offset {
    pub fn parse(field: &str, text: &str) -> EngineResult<Offset> {
        let text = text.trim();
        let (after, rest) = match text.strip_prefix('-') {
            Some(rest) => (false, rest),
            None => (true, text.strip_prefix('+').unwrap_or(text)),
        };
        let period = Period::parse(field, rest)?;
        if period.months > 0 {
            return Err(EngineError::invalid(
                field,
                format!("`{text}`: a reminder is offset in days (d) or hours (h)"),
            ));
        }
        if period.days > 366 || period.hours > 366 * 24 {
            return Err(EngineError::invalid(
                field,
                format!("`{text}` is more than a year from the due instant"),
            ));
        }
        Ok(Offset {
            after: after || period.is_zero(),
            period,
        })
    }

    pub fn text(&self) -> String {
        match (self.period.is_zero(), self.after) {
            (true, _) => "0d".into(),
            (false, true) => format!("+{}", self.period.text()),
            (false, false) => format!("-{}", self.period.text()),
        }
    }

    /// When a reminder at this offset from `due` falls, counted in `zone`.
    pub fn from(&self, zone: TimeZone, due: DateTime<Utc>) -> DateTime<Utc> {
        self.period
            .shift(zone, due, if self.after { 1 } else { -1 })
    }

    /// How long before the due instant this is (zero for offsets after it), in days at most.
    pub fn lead(&self) -> Period {
        if self.after {
            Period::default()
        } else {
            self.period
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub offset: Offset,
    pub roles: Vec<String>,
}

pub use crate::kernel::config::ReminderStep as StepText;

/// Parses a plan: each step's offset and roles, offsets distinct, at most [`MAX_STEPS`]; the
/// steps come back in time order.
pub fn parse(field: &str, steps: &[StepText]) -> EngineResult<Vec<Step>> {
    if steps.len() > MAX_STEPS {
        return Err(EngineError::invalid(
            field,
            format!("a plan has at most {MAX_STEPS} reminders"),
        ));
    }
    let mut parsed: Vec<Step> = Vec::with_capacity(steps.len());
    for (index, step) in steps.iter().enumerate() {
        let offset = Offset::parse(&format!("{field}[{index}].offset"), &step.offset)?;
        if parsed.iter().any(|seen| seen.offset == offset) {
            return Err(EngineError::invalid(
                format!("{field}[{index}].offset"),
                format!("`{}` appears twice in the plan", offset.text()),
            ));
        }
        let mut roles: Vec<String> = Vec::new();
        for role in &step.roles {
            let role = role.trim();
            if !ROLES.contains(&role) {
                return Err(EngineError::invalid(
                    format!("{field}[{index}].roles"),
                    format!("`{role}` is not one of {}", ROLES.join(", ")),
                ));
            }
            if !roles.iter().any(|seen| seen == role) {
                roles.push(role.to_owned());
            }
        }
        if roles.is_empty() {
            return Err(EngineError::invalid(
                format!("{field}[{index}].roles"),
                "names no one: give at least one role",
            ));
        }
        parsed.push(Step { offset, roles });
    }
    parsed.sort_by_key(|step| {
        let hours = i64::from(step.offset.period.days) * 24 + i64::from(step.offset.period.hours);
        if step.offset.after { hours } else { -hours }
    });
    Ok(parsed)
}

/// The steps as stored.
pub fn to_text(steps: &[Step]) -> Vec<StepText> {
    steps
        .iter()
        .map(|step| StepText {
            offset: step.offset.text(),
            roles: step.roles.clone(),
        })
        .collect()
}

/// A stored plan (JSON); one that no longer parses (stored by a newer version) reminds no one
/// rather than failing the scheduler.
pub fn stored(json: &str) -> Vec<Step> {
    serde_json::from_str::<Vec<StepText>>(json)
        .ok()
        .and_then(|steps| parse("reminders", &steps).ok())
        .unwrap_or_default()
}

/// The default plan (`config/reminders.toml`), checked; a problem names the file.
pub fn default_plan(config: &ConfigSource) -> Result<Vec<Step>, String> {
    let steps = config.default_reminders()?;
    parse("reminder", &steps).map_err(|err| format!("reminders.toml: {err}"))
}

/// The earliest a plan reminds before the due instant.
pub fn longest_lead(steps: &[Step]) -> Period {
    steps
        .iter()
        .map(|step| step.offset.lead())
        .max()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(offset: &str, roles: &[&str]) -> StepText {
        StepText {
            offset: offset.into(),
            roles: roles.iter().map(|role| role.to_string()).collect(),
        }
    }

    #[test]
    fn the_default_plan_reminds_before_on_and_after_the_day() {
        let plan = default_plan(&ConfigSource::BuiltIn).unwrap();
        let offsets: Vec<String> = plan.iter().map(|step| step.offset.text()).collect();
        assert_eq!(offsets, ["-30d", "-7d", "-1d", "0d", "+1d", "+7d"]);
        assert_eq!(plan[5].roles, ["chair"]);
        assert_eq!(longest_lead(&plan), Period::days(30));
    }

    #[test]
    fn bad_plans_say_which_step_and_why() {
        for (steps, field, says) in [
            (
                vec![step("-2mo", &["chair"])],
                "r[0].offset",
                "in days (d) or hours (h)",
            ),
            (
                vec![step("-400d", &["chair"])],
                "r[0].offset",
                "more than a year",
            ),
            (
                vec![step("soon", &["chair"])],
                "r[0].offset",
                "not a period",
            ),
            (
                vec![step("-1d", &["mayor"])],
                "r[0].roles",
                "`mayor` is not one of",
            ),
            (vec![step("-1d", &[])], "r[0].roles", "names no one"),
            (
                vec![
                    step("-1d", &["chair"]),
                    step("-24h", &["chair"]),
                    step("-1d", &["expert"]),
                ],
                "r[2].offset",
                "appears twice",
            ),
        ] {
            let err = parse("r", &steps).unwrap_err().to_string();
            assert!(err.contains(field) && err.contains(says), "{err}");
        }
        let many: Vec<StepText> = (1..=21)
            .map(|day| step(&format!("-{day}d"), &["chair"]))
            .collect();
        assert!(
            parse("r", &many)
                .unwrap_err()
                .to_string()
                .contains("at most 20")
        );
    }
}
