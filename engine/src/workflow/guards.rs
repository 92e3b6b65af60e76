//! Guards: a guard looks at subjects inside a database transaction and lets each pass or refuses
//! it with a reason a person can act on (instants in the subject's time zone). Subject kinds
//! offer them ([`crate::workflow::SubjectKind::guards`]); definitions name them, and a name no
//! kind offers is a load error.
//!
//! A guard checks a batch of subjects at once, so that the transitions available on a whole page
//! of subjects cost a few statements per guard rather than a few per subject; a transition on
//! one subject is a batch of one.

use crate::kernel::actor::{Acting, SubjectScope};
use crate::kernel::error::{EngineError, EngineResult};
use crate::workflow::subjects::SubjectKinds;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

/// One subject a guard is asked about.
#[derive(Debug, Clone)]
pub struct GuardSubject {
    /// `None` for a creation transition, whose subject does not exist yet.
    pub subject_id: Option<Uuid>,
    /// The subject's scope; for a creation, its parent's.
    pub scope: SubjectScope,
}

/// What a guard may look at.
pub struct GuardContext<'a> {
    pub txn: &'a DatabaseTransaction,
    pub acting: Acting<'a>,
    pub now: DateTime<Utc>,
    pub input: &'a serde_json::Value,
    pub subjects: &'a [GuardSubject],
}

/// One verdict per subject of the batch, in its order; an `Err` of the whole batch is a failure
/// to check (the database), not a refusal.
pub type Verdicts = Vec<EngineResult<()>>;
pub type GuardFuture<'a> = Pin<Box<dyn Future<Output = EngineResult<Verdicts>> + Send + 'a>>;
pub type GuardFn = for<'a> fn(&'a GuardContext<'a>) -> GuardFuture<'a>;

/// A guard a subject kind offers to definitions, under the name they use.
#[derive(Clone, Copy)]
pub struct Guard {
    pub name: &'static str,
    pub check: GuardFn,
}

/// Runs the named guards in order on the one subject of `context`; the first refusal is
/// reported.
pub async fn check_all(
    kinds: &SubjectKinds,
    names: &[String],
    context: &GuardContext<'_>,
) -> EngineResult<()> {
    for name in names {
        let verdicts = (kinds.guard(name)?.check)(context).await?;
        for verdict in verdicts {
            verdict?;
        }
    }
    Ok(())
}

/// Whether a verdict is a refusal (the transition is not available) rather than a failure.
pub fn is_refusal(err: &EngineError) -> bool {
    matches!(
        err,
        EngineError::GuardFailed { .. } | EngineError::Conflict(_)
    )
}

/// A guard's refusal, with a reason a person can act on.
pub fn refuse(guard: &str, reason: impl Into<String>) -> EngineError {
    EngineError::GuardFailed {
        guard: guard.to_owned(),
        reason: reason.into(),
    }
}

/// The ids of the batch's subjects, for a guard that only applies to existing subjects.
pub fn subject_ids(context: &GuardContext<'_>, guard: &str) -> EngineResult<Vec<Uuid>> {
    context
        .subjects
        .iter()
        .map(|subject| {
            subject.subject_id.ok_or_else(|| {
                EngineError::Internal(format!("guard `{guard}` needs an existing subject"))
            })
        })
        .collect()
}
