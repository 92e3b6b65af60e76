//! The registry of guards a definition may name. A guard looks at the subject inside the
//! transition's database transaction and either lets it pass or refuses with a reason a person
//! can act on (instants in the subject's time zone).

use crate::actor::{Acting, SubjectScope};
use crate::error::{EngineError, EngineResult};
use crate::subjects;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

/// What a guard may look at.
pub struct GuardContext<'a> {
    pub txn: &'a DatabaseTransaction,
    pub subject_kind: &'a str,
    /// `None` for a creation transition, whose subject does not exist yet.
    pub subject_id: Option<Uuid>,
    pub scope: &'a SubjectScope,
    pub acting: Acting<'a>,
    pub now: DateTime<Utc>,
    pub input: &'a serde_json::Value,
}

pub type GuardFuture<'a> = Pin<Box<dyn Future<Output = EngineResult<()>> + Send + 'a>>;
type GuardFn = for<'a> fn(&'a GuardContext<'a>) -> GuardFuture<'a>;

struct Guard {
    name: &'static str,
    check: GuardFn,
}

const GUARDS: &[Guard] = &[
    Guard {
        name: "group_active",
        check: group_active,
    },
    Guard {
        name: "consultation_closed",
        check: consultation_closed,
    },
    Guard {
        name: "base_is_current",
        check: base_is_current,
    },
    Guard {
        name: "decision_passed",
        check: decision_passed,
    },
    Guard {
        name: "decision_failed",
        check: decision_failed,
    },
];

pub fn names() -> BTreeSet<String> {
    GUARDS.iter().map(|guard| guard.name.to_owned()).collect()
}

/// Runs the named guards in order; the first refusal is reported.
pub async fn check_all(names: &[String], context: &GuardContext<'_>) -> EngineResult<()> {
    for name in names {
        let guard = GUARDS
            .iter()
            .find(|guard| guard.name == name)
            .ok_or_else(|| EngineError::Internal(format!("guard `{name}` is not registered")))?;
        (guard.check)(context).await?;
    }
    Ok(())
}

fn refuse(guard: &str, reason: impl Into<String>) -> EngineError {
    EngineError::GuardFailed {
        guard: guard.to_owned(),
        reason: reason.into(),
    }
}

/// Nothing may be created or changed in a group that is not `active`.
fn group_active<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async move {
        let Some(group_id) = context.scope.group_id else {
            return Err(refuse("group_active", "the subject belongs to no group"));
        };
        let state = subjects::state_of(context.txn, group_id).await?;
        if state == "active" {
            Ok(())
        } else {
            Err(refuse(
                "group_active",
                format!("the group is `{state}`, not `active`"),
            ))
        }
    })
}

fn subject_id(context: &GuardContext<'_>, guard: &str) -> EngineResult<Uuid> {
    context
        .subject_id
        .ok_or_else(|| EngineError::Internal(format!("guard `{guard}` needs an existing subject")))
}

/// An amendment is adopted only after its consultation window has closed.
fn consultation_closed<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async move {
        let id = subject_id(context, "consultation_closed")?;
        crate::amendments::consultation_closed(context.txn, id, context.now).await
    })
}

/// An amendment is adopted only if no other was adopted since its base (refuses with CONFLICT).
fn base_is_current<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async move {
        let id = subject_id(context, "base_is_current")?;
        crate::amendments::base_is_current(context.txn, id).await
    })
}

/// Meetings and their decisions are not recorded yet, so no decision can have passed or failed:
/// the move off the agenda is refused until one is.
fn decision_passed<'a>(_context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async { Err(no_decision("decision_passed")) })
}

fn decision_failed<'a>(_context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async { Err(no_decision("decision_failed")) })
}

fn no_decision(guard: &str) -> EngineError {
    refuse(
        guard,
        "no decision of the member representatives has been recorded for this proposal",
    )
}
