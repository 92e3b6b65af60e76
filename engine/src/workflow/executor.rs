//! The one executor of transitions, for every workflow and every subject kind.
//!
//! Checks run in the order `DECISIONS.md` fixes (parsing, existence, role, expected version,
//! state, guards) and the first failure is reported. Existence includes readability: a subject
//! the caller may not see (a draft amendment of another group) is NOT_FOUND, word for word as an
//! unknown id, whatever the transition or edit asked for. The state moves with
//! `UPDATE ... WHERE id = $id AND version = $seen`: when another writer moved first, zero rows
//! change and the loser is told what the subject's new state means for it. The history row and the
//! effects' rows are written in the caller's transaction, so all of it commits together or not at
//! all.

use crate::kernel::actor::{Acting, SubjectScope};
use crate::kernel::db::update_if_unchanged;
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::events::{Event, TransitionTaken};
use crate::kernel::history::{self, NewEntry};
use crate::types::{MAX_TEXT_CHARS, RequiredText};
use crate::workflow::definition::{Definition, TransitionDef};
use crate::workflow::effects::{self, EffectContext};
use crate::workflow::guards::{self, GuardContext, GuardSubject};
use crate::workflow::subjects::{
    self, AfterTransition, SubjectInfo, SubjectKind, SubjectState, SubjectView, TransitionCall,
};
use govflow_entities::workflow_instance;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, EntityTrait,
    IntoActiveModel, TransactionTrait, sea_query::Expr,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

/// A transition to take on an existing subject.
#[derive(Debug, Clone)]
pub struct TransitionRequest {
    pub subject_id: Uuid,
    pub name: String,
    pub reason: Option<String>,
    pub expected_version: Option<i32>,
    pub input: serde_json::Value,
}

/// What a successful transition did.
#[derive(Debug, Clone)]
pub struct Transitioned {
    pub instance: workflow_instance::Model,
    pub from_state: String,
    pub history_id: Uuid,
    pub subject: SubjectInfo,
    /// The subject as it now stands, when its kind's writes handed it back.
    pub view: Option<SubjectView>,
}

/// A transition the caller may take now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailableTransition {
    pub name: String,
    pub to: String,
    pub needs_input: bool,
    pub reason_required: bool,
}

/// Refuses with STALE_STATE when the caller saw another version of the subject than its current.
pub fn check_expected_version(
    instance: &workflow_instance::Model,
    expected: Option<i32>,
) -> EngineResult<()> {
    match expected {
        Some(expected) if expected != instance.version => Err(EngineError::StaleState(format!(
            "the subject is at version {}, not {expected}: reload it and try again",
            instance.version
        ))),
        _ => Ok(()),
    }
}

/// Parses a free-text reason: blank means none.
pub fn parse_reason(reason: Option<&str>) -> EngineResult<Option<String>> {
    match reason.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Ok(Some(
            RequiredText::parse("reason", text, MAX_TEXT_CHARS)?.into_string(),
        )),
    }
}

fn forbidden(transition: &TransitionDef) -> EngineError {
    EngineError::Forbidden(format!(
        "taking `{}` needs the role {} for this subject",
        transition.name,
        transition.roles.join(" or ")
    ))
}

fn not_from_state(definition: &Definition, transition: &TransitionDef, state: &str) -> EngineError {
    EngineError::InvalidTransition(format!(
        "`{}` of workflow `{}` cannot be taken from `{state}` (only from {})",
        transition.name,
        definition.name,
        transition.from.join(", ")
    ))
}

/// Takes a named transition on an existing subject, inside the caller's write transaction.
pub async fn take_transition(
    engine: &Engine,
    txn: &DatabaseTransaction,
    acting: Acting<'_>,
    request: &TransitionRequest,
) -> EngineResult<Transitioned> {
    let reason = parse_reason(request.reason.as_deref())?;
    let (instance, subject) =
        subjects::readable_subject(engine, txn, acting, request.subject_id).await?;
    let definition = engine
        .definition_by_hash(txn, &instance.definition_hash)
        .await?;
    let transition = definition.transition(&request.name).ok_or_else(|| {
        EngineError::InvalidTransition(format!(
            "workflow `{}` has no transition `{}`",
            definition.name, request.name
        ))
    })?;
    if transition.is_creation() {
        return Err(EngineError::InvalidTransition(format!(
            "`{}` creates a subject; it cannot be taken on an existing one",
            transition.name
        )));
    }
    if transition.reason_required && reason.is_none() {
        return Err(EngineError::invalid(
            "reason",
            format!("is required for `{}`", transition.name),
        ));
    }
    for field in &transition.input {
        if request
            .input
            .get(field)
            .is_none_or(serde_json::Value::is_null)
        {
            return Err(EngineError::invalid(
                format!("input.{field}"),
                format!("is required for `{}`", transition.name),
            ));
        }
    }
    let kind = engine.subject_kinds().get(&instance.subject_kind)?;
    let now = engine.now();
    let call = TransitionCall {
        engine,
        txn,
        acting,
        instance: &instance,
        transition,
        subject: &subject,
        input: &request.input,
        at: now,
    };
    kind.check_input(&call).await?;
    if !acting.holds_any(&transition.roles, &subject.scope) {
        return Err(forbidden(transition));
    }
    check_expected_version(&instance, request.expected_version)?;
    if !transition.from.contains(&instance.state) {
        return Err(refusal_from_state(kind.as_ref(), &call, &definition, &instance.state).await?);
    }
    guards::check_all(
        engine.subject_kinds(),
        &transition.guards,
        &GuardContext {
            txn,
            acting,
            now,
            input: &request.input,
            subjects: &[GuardSubject {
                subject_id: Some(instance.subject_id),
                scope: subject.scope.clone(),
            }],
        },
    )
    .await?;

    if !advance(txn, &instance, &transition.to, now).await? {
        return Err(lost_race(kind.as_ref(), &call, &definition, request).await);
    }

    let history_id = history::append(
        txn,
        NewEntry {
            subject_id: instance.subject_id,
            subject_kind: &instance.subject_kind,
            transition: &transition.name,
            from_state: &instance.state,
            to_state: &transition.to,
            acting,
            reason: reason.as_deref(),
            definition_hash: Some(&definition.hash),
            detail: None,
            at: now,
        },
    )
    .await?;
    let after = kind.after_transition(&call).await?;
    engine
        .publish(
            txn,
            &Event::TransitionTaken(TransitionTaken {
                subject_id: instance.subject_id,
                subject_kind: instance.subject_kind.clone(),
                transition: transition.name.clone(),
                forum_id: subject.scope.forum_id,
                group_id: subject.scope.group_id,
                at: now,
                by: acting.user_id(),
            }),
        )
        .await?;
    // When the area changed the subject's fields, its notices show them as they now are; with no
    // notice to send, nothing needs them.
    let subject = if after.changed() && !transition.effects.is_empty() {
        kind.info(&txn.into(), instance.subject_id).await?
    } else {
        subject
    };
    effects::run_all(
        engine,
        &transition.effects,
        &EffectContext {
            txn,
            subject_id: instance.subject_id,
            subject: &subject,
            transition: &transition.name,
            from_state: &instance.state,
            to_state: &transition.to,
            actor_name: actor_name(acting),
            reason: reason.as_deref(),
            history_id,
            at: now,
        },
    )
    .await?;

    let view = match after {
        AfterTransition::Rewritten(view) => Some(view),
        _ => None,
    };
    Ok(Transitioned {
        instance: subjects::moved_instance(&instance, &transition.to, now),
        from_state: instance.state,
        history_id,
        subject,
        view,
    })
}

/// Moves the instance as the caller read it (`seen`) to `to_state` (its own state, for an edit)
/// and bumps its version, unless another writer changed it since the read: then nothing is
/// written and the answer is `false`. This one statement is what makes two writers never both win,
/// whatever the database's isolation.
pub(crate) async fn advance(
    txn: &DatabaseTransaction,
    seen: &workflow_instance::Model,
    to_state: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> EngineResult<bool> {
    let update = workflow_instance::Entity::update_many()
        .col_expr(
            workflow_instance::Column::State,
            Expr::value(to_state.to_owned()),
        )
        .col_expr(workflow_instance::Column::UpdatedAt, Expr::value(now));
    update_if_unchanged(
        txn,
        update,
        (workflow_instance::Column::Id, seen.id),
        (workflow_instance::Column::Version, seen.version),
    )
    .await
}

/// Somebody else moved the subject between our read and our update: say what their move means.
async fn lost_race(
    kind: &dyn SubjectKind,
    call: &TransitionCall<'_>,
    definition: &Definition,
    request: &TransitionRequest,
) -> EngineError {
    match subjects::instance_of(call.txn, request.subject_id).await {
        Ok(now)
            if request.expected_version.is_none() && !call.transition.from.contains(&now.state) =>
        {
            refusal_from_state(kind, call, definition, &now.state)
                .await
                .unwrap_or_else(|err| err)
        }
        Ok(now) => EngineError::StaleState(format!(
            "another writer moved the subject first (it is now `{}` at version {})",
            now.state, now.version
        )),
        Err(err) => err,
    }
}

/// Why the transition cannot be taken from `state`: the kind's own word for it, if it has one.
async fn refusal_from_state(
    kind: &dyn SubjectKind,
    call: &TransitionCall<'_>,
    definition: &Definition,
    state: &str,
) -> EngineResult<EngineError> {
    let own = kind
        .state_refusal(
            call.txn,
            call.acting,
            call.instance.subject_id,
            &call.transition.name,
            state,
        )
        .await?;
    Ok(own.unwrap_or_else(|| not_from_state(definition, call.transition, state)))
}

fn actor_name<'a>(acting: Acting<'a>) -> &'a str {
    match acting {
        Acting::User(actor) => &actor.name,
        Acting::System { .. } => "govflow",
    }
}

/// A creation transition, authorised on the parent's scope before the subject's row is written.
pub struct Creation {
    pub definition: Arc<Definition>,
    pub transition: TransitionDef,
    pub reason: Option<String>,
}

/// A creation transition to authorise: the workflow of `subject_kind`, taken on a parent.
pub struct CreationRequest<'a> {
    pub subject_kind: &'a str,
    pub transition: &'a str,
    /// The parent named in the input: the forum for groups, the group for amendments and tasks.
    pub parent_scope: &'a SubjectScope,
    pub reason: Option<&'a str>,
    pub input: &'a serde_json::Value,
}

/// Checks that `acting` may take a creation transition on its parent, including its guards.
pub async fn authorize_creation(
    engine: &Engine,
    txn: &DatabaseTransaction,
    acting: Acting<'_>,
    request: CreationRequest<'_>,
) -> EngineResult<Creation> {
    let CreationRequest {
        subject_kind,
        transition: name,
        parent_scope,
        reason,
        input,
    } = request;
    let reason = parse_reason(reason)?;
    let definition = engine.active_definition(txn, subject_kind).await?;
    let transition = definition
        .transition(name)
        .filter(|transition| transition.is_creation())
        .cloned()
        .ok_or_else(|| {
            EngineError::InvalidTransition(format!(
                "workflow `{}` has no creation transition `{name}`",
                definition.name
            ))
        })?;
    if transition.reason_required && reason.is_none() {
        return Err(EngineError::invalid(
            "reason",
            format!("is required for `{}`", transition.name),
        ));
    }
    if !acting.holds_any(&transition.roles, parent_scope) {
        return Err(forbidden(&transition));
    }
    guards::check_all(
        engine.subject_kinds(),
        &transition.guards,
        &GuardContext {
            txn,
            acting,
            now: engine.now(),
            input,
            subjects: &[GuardSubject {
                subject_id: None,
                scope: parent_scope.clone(),
            }],
        },
    )
    .await?;
    Ok(Creation {
        definition,
        transition,
        reason,
    })
}

/// Starts the workflow of a subject whose row the area has just written: the instance, the
/// history row and the effects, in the caller's transaction.
pub async fn create_subject(
    engine: &Engine,
    txn: &DatabaseTransaction,
    acting: Acting<'_>,
    creation: &Creation,
    subject_id: Uuid,
) -> EngineResult<workflow_instance::Model> {
    let now = engine.now();
    let definition = &creation.definition;
    let transition = &creation.transition;
    let instance = workflow_instance::Model {
        id: Uuid::now_v7(),
        definition_name: definition.name.clone(),
        definition_hash: definition.hash.clone(),
        subject_kind: definition.subject.clone(),
        subject_id,
        state: transition.to.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let row = workflow_instance::ActiveModel {
        id: Set(instance.id),
        definition_name: Set(instance.definition_name.clone()),
        definition_hash: Set(instance.definition_hash.clone()),
        subject_kind: Set(instance.subject_kind.clone()),
        subject_id: Set(subject_id),
        state: Set(instance.state.clone()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    workflow_instance::Entity::insert(row)
        .exec_without_returning(txn)
        .await?;
    engine
        .subject_kinds()
        .remember(subject_id, &definition.subject);
    let history_id = history::append(
        txn,
        NewEntry {
            subject_id,
            subject_kind: &definition.subject,
            transition: &transition.name,
            from_state: "",
            to_state: &transition.to,
            acting,
            reason: creation.reason.as_deref(),
            definition_hash: Some(&definition.hash),
            detail: None,
            at: now,
        },
    )
    .await?;
    let subject = subjects::info(engine, txn, &definition.subject, subject_id).await?;
    // A creation is a transition taken too: a group established gets its report deadline, and a
    // deadline of the parent may wait for it.
    engine
        .publish(
            txn,
            &Event::TransitionTaken(TransitionTaken {
                subject_id,
                subject_kind: definition.subject.clone(),
                transition: transition.name.clone(),
                forum_id: subject.scope.forum_id,
                group_id: subject.scope.group_id,
                at: now,
                by: acting.user_id(),
            }),
        )
        .await?;
    effects::run_all(
        engine,
        &transition.effects,
        &EffectContext {
            txn,
            subject_id,
            subject: &subject,
            transition: &transition.name,
            from_state: "",
            to_state: &transition.to,
            actor_name: actor_name(acting),
            reason: creation.reason.as_deref(),
            history_id,
            at: now,
        },
    )
    .await?;
    Ok(instance)
}

/// An edit of a subject's own fields, as its history records it.
pub struct Edit<'a> {
    pub subject_id: Uuid,
    /// The operation's name in the history (`update_group`).
    pub operation: &'a str,
    pub expected_version: Option<i32>,
    /// Why, as the history shows it.
    pub reason: Option<&'a str>,
    /// What changed, by field, as the history's `detail` shows it.
    pub changed: serde_json::Map<String, serde_json::Value>,
}

/// An edit as saved: the instance as it now is, the row as written, and the history row's id.
pub struct Saved<M> {
    pub instance: workflow_instance::Model,
    pub row: M,
    pub history_id: Uuid,
}

/// Saves an edit of a subject's own fields (not a transition): refuses a subject `acting` may not
/// see as NOT_FOUND, checks `expectedVersion`, bumps the version, appends a history row with
/// from = to, and writes the area's `row`, all in the caller's transaction.
pub async fn save_edit<A>(
    engine: &Engine,
    txn: &DatabaseTransaction,
    acting: Acting<'_>,
    edit: Edit<'_>,
    row: A,
) -> EngineResult<Saved<<A::Entity as EntityTrait>::Model>>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let (instance, _) = subjects::readable_subject(engine, txn, acting, edit.subject_id).await?;
    check_expected_version(&instance, edit.expected_version)?;
    let now = engine.now();
    if !advance(txn, &instance, &instance.state, now).await? {
        return Err(EngineError::StaleState(
            "another writer changed the subject first: reload it and try again".into(),
        ));
    }
    let history_id = history::append(
        txn,
        NewEntry {
            subject_id: edit.subject_id,
            subject_kind: &instance.subject_kind,
            transition: edit.operation,
            from_state: &instance.state,
            to_state: &instance.state,
            acting,
            reason: edit.reason,
            definition_hash: Some(&instance.definition_hash),
            detail: Some(serde_json::Value::Object(edit.changed)),
            at: now,
        },
    )
    .await?;
    let row = A::Entity::update(row).exec(txn).await?;
    let instance = workflow_instance::Model {
        version: instance.version + 1,
        updated_at: now,
        ..instance
    };
    Ok(Saved {
        instance,
        row,
        history_id,
    })
}

/// The transitions `acting` may take now on each of a page of subjects: allowed from its state,
/// a role the actor holds, and guards that pass. Each guard runs once for all the subjects that
/// need it, in one read transaction that is rolled back, so a page costs a few statements per
/// guard named, whatever its length; a page whose transitions have no guard costs none.
pub async fn available_transitions(
    engine: &Engine,
    acting: Acting<'_>,
    subjects: &[SubjectState],
) -> EngineResult<HashMap<Uuid, Vec<AvailableTransition>>> {
    let mut allowed: Vec<(&SubjectState, Vec<TransitionDef>)> = Vec::new();
    for subject in subjects {
        let definition = engine
            .definition_by_hash(engine.db(), &subject.definition_hash)
            .await?;
        let transitions = definition
            .transitions_from(&subject.state)
            .filter(|transition| acting.holds_any(&transition.roles, &subject.scope))
            .cloned()
            .collect();
        allowed.push((subject, transitions));
    }
    // For each guard named, the subjects whose allowed transitions need it.
    let mut asked: BTreeMap<&str, Vec<&SubjectState>> = BTreeMap::new();
    for (subject, transitions) in &allowed {
        let names: BTreeSet<&str> = transitions
            .iter()
            .flat_map(|transition| transition.guards.iter().map(String::as_str))
            .collect();
        for name in names {
            asked.entry(name).or_default().push(subject);
        }
    }
    let mut refused: HashSet<(&str, Uuid)> = HashSet::new();
    if !asked.is_empty() {
        let txn = engine.db().begin().await?;
        let now = engine.now();
        for (name, batch) in &asked {
            let guard_subjects: Vec<GuardSubject> = batch
                .iter()
                .map(|subject| GuardSubject {
                    subject_id: Some(subject.subject_id),
                    scope: subject.scope.clone(),
                })
                .collect();
            let context = GuardContext {
                txn: &txn,
                acting,
                now,
                input: &serde_json::Value::Null,
                subjects: &guard_subjects,
            };
            let verdicts = (engine.subject_kinds().guard(name)?.check)(&context).await?;
            for (subject, verdict) in batch.iter().zip(verdicts) {
                match verdict {
                    Ok(()) => {}
                    Err(err) if guards::is_refusal(&err) => {
                        refused.insert((name, subject.subject_id));
                    }
                    Err(other) => return Err(other),
                }
            }
        }
        txn.rollback().await?;
    }
    Ok(allowed
        .iter()
        .map(|(subject, transitions)| {
            let available = transitions
                .iter()
                .filter(|transition| {
                    transition
                        .guards
                        .iter()
                        .all(|name| !refused.contains(&(name.as_str(), subject.subject_id)))
                })
                .map(|transition| AvailableTransition {
                    name: transition.name.clone(),
                    to: transition.to.clone(),
                    needs_input: transition.needs_input(),
                    reason_required: transition.reason_required,
                })
                .collect();
            (subject.subject_id, available)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    //! The executor on a real database: the optimistic lock, and the order of its checks.

    use super::*;
    use crate::areas::forums::{self, NewForum, SettingsPatch};
    use crate::areas::groups::{self, NewGroup};
    use crate::kernel::actor::Actor;
    use crate::testing::TestEngine;
    use crate::workflow;

    /// A forum with one active group; returns the group's id.
    async fn active_group(test: &TestEngine) -> Uuid {
        let forum = forums::create_forum(
            &test.engine,
            &test.admin,
            NewForum {
                name: "Digital Nations".into(),
                settings: SettingsPatch::default(),
            },
        )
        .await
        .unwrap();
        let group = groups::create_group(
            &test.engine,
            &test.admin,
            NewGroup {
                forum_id: forum.id,
                name: "Digital Governance".into(),
                theme: "Digital governance".into(),
                lead_member_state_id: None,
                time_zone: None,
                effective_at: None,
                reason: None,
            },
        )
        .await
        .unwrap();
        group.id
    }

    fn conclude(group: Uuid, expected_version: Option<i32>) -> TransitionRequest {
        TransitionRequest {
            subject_id: group,
            name: "conclude".into(),
            reason: Some("Mandate fulfilled".into()),
            expected_version,
            input: serde_json::Value::Null,
        }
    }

    /// Read, another writer commits, write: the stale write changes nothing, on SQLite (where
    /// `BEGIN IMMEDIATE` would otherwise hide a missing version check) as on PostgreSQL.
    #[tokio::test]
    async fn a_write_from_a_stale_read_changes_nothing() {
        let test = TestEngine::start().await;
        let group = active_group(&test).await;
        let seen = subjects::instance_of(test.engine.db(), group)
            .await
            .unwrap();
        assert_eq!((seen.state.as_str(), seen.version), ("active", 1));

        workflow::transition(&test.engine, &test.admin, conclude(group, None))
            .await
            .unwrap();

        let txn = test.engine.begin_write().await.unwrap();
        let moved = advance(&txn, &seen, "active", test.engine.now())
            .await
            .unwrap();
        txn.commit().await.unwrap();
        assert!(!moved, "a write based on version 1 overwrote version 2");
        let now = subjects::instance_of(test.engine.db(), group)
            .await
            .unwrap();
        assert_eq!((now.state.as_str(), now.version), ("concluded", 2));
    }

    #[tokio::test]
    async fn checks_run_in_the_documented_order() {
        let test = TestEngine::start().await;
        let group = active_group(&test).await;
        let outsider = test.outsider().await;
        let nowhere = Uuid::now_v7();
        let long_reason = "x".repeat(MAX_TEXT_CHARS + 1);
        let take = |actor: &Actor, request: TransitionRequest| {
            let engine = test.engine.clone();
            let actor = actor.clone();
            async move {
                workflow::transition(&engine, &actor, request)
                    .await
                    .map(|_| ())
                    .unwrap_err()
                    .code()
            }
        };
        let unparsable_and_missing = TransitionRequest {
            reason: Some(long_reason),
            ..conclude(nowhere, None)
        };
        assert_eq!(
            take(&test.admin, unparsable_and_missing).await,
            "INVALID_INPUT"
        );
        assert_eq!(
            take(&test.admin, conclude(nowhere, None)).await,
            "NOT_FOUND"
        );
        // The outsider may read the group but not conclude it, whatever version they saw.
        assert_eq!(take(&outsider, conclude(group, Some(7))).await, "FORBIDDEN");
        // `defer` (forum coordinators, which the admin counts as) is taken from `on_agenda` only.
        let not_from_here = TransitionRequest {
            name: "defer".into(),
            ..conclude(group, Some(7))
        };
        assert_eq!(
            take(&test.admin, not_from_here.clone()).await,
            "STALE_STATE"
        );
        let current = TransitionRequest {
            expected_version: Some(1),
            ..not_from_here
        };
        assert_eq!(take(&test.admin, current).await, "INVALID_TRANSITION");
        // Nothing of the refused attempts was written.
        let now = subjects::instance_of(test.engine.db(), group)
            .await
            .unwrap();
        assert_eq!((now.state.as_str(), now.version), ("active", 1));
    }
}
