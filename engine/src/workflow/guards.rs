//! Guards: a guard looks at the subject inside the transition's database transaction and either
//! lets it pass or refuses with a reason a person can act on (instants in the subject's time
//! zone). Subject kinds offer them ([`crate::workflow::SubjectKind::guards`]); definitions name
//! them, and a name no kind offers is a load error.

use crate::kernel::actor::{Acting, SubjectScope};
use crate::kernel::error::{EngineError, EngineResult};
use crate::workflow::subjects::SubjectKinds;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
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
pub type GuardFn = for<'a> fn(&'a GuardContext<'a>) -> GuardFuture<'a>;

/// A guard a subject kind offers to definitions, under the name they use.
#[derive(Clone, Copy)]
pub struct Guard {
    pub name: &'static str,
    pub check: GuardFn,
}

/// Runs the named guards in order; the first refusal is reported.
pub async fn check_all(
    kinds: &SubjectKinds,
    names: &[String],
    context: &GuardContext<'_>,
) -> EngineResult<()> {
    for name in names {
        (kinds.guard(name)?.check)(context).await?;
    }
    Ok(())
}

/// A guard's refusal, with a reason a person can act on.
pub fn refuse(guard: &str, reason: impl Into<String>) -> EngineError {
    EngineError::GuardFailed {
        guard: guard.to_owned(),
        reason: reason.into(),
    }
}

/// The subject a guard of an existing subject looks at; creation transitions have none.
pub fn subject_id(context: &GuardContext<'_>, guard: &str) -> EngineResult<Uuid> {
    context
        .subject_id
        .ok_or_else(|| EngineError::Internal(format!("guard `{guard}` needs an existing subject")))
}
