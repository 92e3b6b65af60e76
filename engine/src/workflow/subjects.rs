//! Subject kinds: what the executor needs to know about a subject of any kind, and the registry
//! that answers it. Each area that runs a workflow implements [`SubjectKind`] in its own folder
//! and is listed once in `crate::registry`; the executor, the guards and the effects see only the
//! trait. The workflow instance row says which kind a subject id is.

use crate::kernel::actor::{Acting, Actor, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::events::Subscriber;
use crate::types::TimeZone;
use crate::workflow::TransitionDef;
use crate::workflow::guards::Guard;
use async_trait::async_trait;
use govflow_entities::workflow_instance;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseExecutor, DatabaseTransaction, EntityTrait,
    FromQueryResult, IdenStatic, Iterable, JoinType, QueryFilter, QueryResult, QuerySelect,
    Statement,
    sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement},
};
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use uuid::Uuid;

/// A subject in its area's own type (an `amendments::Amendment`), handed up as it stands after a
/// transition so that the answer to the caller needs no second read; the caller downcasts it.
#[derive(Clone)]
pub struct SubjectView(Arc<dyn Any + Send + Sync>);

impl SubjectView {
    pub fn new<T: Any + Send + Sync>(subject: T) -> SubjectView {
        SubjectView(Arc::new(subject))
    }

    /// The subject, if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl std::fmt::Debug for SubjectView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubjectView(..)")
    }
}

/// What a kind's own writes after a transition did to the subject's fields.
#[derive(Debug, Clone)]
pub enum AfterTransition {
    /// Nothing of the subject's fields changed.
    Unchanged,
    /// Some of its fields changed: notices reload them.
    Changed,
    /// Its fields changed, and this is the subject as it now stands, as its reader sees it.
    Rewritten(SubjectView),
}

impl AfterTransition {
    pub fn changed(&self) -> bool {
        !matches!(self, AfterTransition::Unchanged)
    }

    /// [`AfterTransition::Changed`] when `changed`, else [`AfterTransition::Unchanged`].
    pub fn from_changed(changed: bool) -> AfterTransition {
        if changed {
            AfterTransition::Changed
        } else {
            AfterTransition::Unchanged
        }
    }
}

/// The instance as a transition to `to` at `at` leaves it: the state moved, the version bumped.
pub fn moved_instance(
    instance: &workflow_instance::Model,
    to: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> workflow_instance::Model {
    workflow_instance::Model {
        state: to.to_owned(),
        version: instance.version + 1,
        updated_at: at,
        ..instance.clone()
    }
}

#[derive(Debug, Clone)]
pub struct SubjectInfo {
    pub kind: String,
    pub scope: SubjectScope,
    pub time_zone: TimeZone,
    /// The subject's own fields, as templates see them (`subject.name`, ...).
    pub fields: serde_json::Value,
    /// The forum, as templates see it (`forum.name`).
    pub forum: serde_json::Value,
}

/// Where a subject stands in its workflow, as every subject type shows it: its state and
/// optimistic-lock version, the definition it runs under, and what its available transitions
/// and history are read with (its scope and zone).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubjectState {
    pub subject_id: Uuid,
    pub kind: String,
    pub state: String,
    pub version: i32,
    pub definition_hash: String,
    pub scope: SubjectScope,
    pub time_zone: TimeZone,
}

impl SubjectState {
    pub fn new(
        instance: &workflow_instance::Model,
        scope: SubjectScope,
        time_zone: TimeZone,
    ) -> SubjectState {
        SubjectState {
            subject_id: instance.subject_id,
            kind: instance.subject_kind.clone(),
            state: instance.state.clone(),
            version: instance.version,
            definition_hash: instance.definition_hash.clone(),
            scope,
            time_zone,
        }
    }
}

/// A transition under way, as a subject kind's hooks see it.
pub struct TransitionCall<'a> {
    pub engine: &'a Engine,
    pub txn: &'a DatabaseTransaction,
    pub acting: Acting<'a>,
    pub instance: &'a workflow_instance::Model,
    pub transition: &'a TransitionDef,
    /// The subject as it was before the transition.
    pub subject: &'a SubjectInfo,
    pub input: &'a serde_json::Value,
    /// The instant the transition is taken at, as its history row records it.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// One kind of workflow subject (a working group, an amendment...). Only `name`, `table` and
/// `info` are required; the hooks default to "nothing to add".
#[async_trait]
pub trait SubjectKind: Send + Sync + 'static {
    /// The `subject` that definitions name (`group`, `amendment`).
    fn name(&self) -> &'static str;

    /// The table holding the subjects' rows, checked at start.
    fn table(&self) -> &'static str;

    /// The subject's scope (for role checks and recipients), zone and template fields.
    async fn info(&self, db: &DatabaseExecutor<'_>, subject_id: Uuid) -> EngineResult<SubjectInfo>;

    /// The one statement [`SubjectKind::info`] runs, if it is one, with the subject's table in its
    /// `FROM`: a transition joins the subject's instance into it and reads both at once. `None`
    /// (the default) reads the instance and then calls `info`.
    fn info_query(&self, _subject_id: Uuid) -> Option<SelectStatement> {
        None
    }

    /// What [`SubjectKind::info`] answers, out of a row of [`SubjectKind::info_query`].
    fn info_from_row(&self, _row: &QueryResult) -> EngineResult<SubjectInfo> {
        Err(EngineError::Internal(format!(
            "subjects of kind `{}` are not read in one statement",
            self.name()
        )))
    }

    /// Whether `actor` may know that the subject exists at all (a draft is private to a few),
    /// from its state and what [`SubjectKind::info`] read.
    fn readable(
        &self,
        _actor: &Actor,
        _instance: &workflow_instance::Model,
        _subject: &SubjectInfo,
    ) -> bool {
        true
    }

    /// Parses a transition's `input` for this kind; runs before the role check.
    async fn check_input(&self, _call: &TransitionCall<'_>) -> EngineResult<()> {
        Ok(())
    }

    /// The kind's own writes after a transition moved the subject, in the same transaction, and
    /// whether they changed the subject's fields (its notices then reload them).
    async fn after_transition(&self, _call: &TransitionCall<'_>) -> EngineResult<AfterTransition> {
        Ok(AfterTransition::Unchanged)
    }

    /// The guards this kind offers to definitions.
    fn guards(&self) -> Vec<Guard> {
        Vec::new()
    }

    /// Which occurrence of a deadline waiting for this subject's transition the transition
    /// meets (an annual report meets the occurrence that closes its period).
    async fn occurrence_met(
        &self,
        _txn: &DatabaseTransaction,
        _subject_id: Uuid,
    ) -> EngineResult<OccurrenceMet> {
        Ok(OccurrenceMet::Next)
    }

    /// How to refuse `transition` from `state` when the kind says it better than
    /// INVALID_TRANSITION (a task someone else holds is ALREADY_CLAIMED). Asked with the state as
    /// read, and again with the state a lost race left.
    async fn state_refusal(
        &self,
        _txn: &DatabaseTransaction,
        _acting: Acting<'_>,
        _subject_id: Uuid,
        _transition: &str,
        _state: &str,
    ) -> EngineResult<Option<EngineError>> {
        Ok(None)
    }
}

/// What a subject's `metBy` transition meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OccurrenceMet {
    /// The deadline's oldest due occurrence, else its next scheduled one.
    Next,
    /// This occurrence, if it is one of the deadline's and still open.
    Named(Uuid),
    /// None: the subject is tied to no occurrence.
    Nothing,
}

/// The subject kinds and the guards they offer, by name; built once when the engine starts.
#[derive(Clone, Default)]
pub struct SubjectKinds {
    kinds: BTreeMap<&'static str, Arc<dyn SubjectKind>>,
    guards: BTreeMap<&'static str, Guard>,
    /// The kinds of subjects met lately, so that a transition can read a subject with its
    /// instance in one statement.
    seen: Arc<KindsSeen>,
    /// What reacts to the events the areas raise, in registration order.
    subscribers: Vec<Arc<dyn Subscriber>>,
}

impl std::fmt::Debug for SubjectKinds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubjectKinds")
            .field("kinds", &self.kinds.keys().collect::<Vec<_>>())
            .field("guards", &self.guards.keys().collect::<Vec<_>>())
            .field("subscribers", &self.subscribers.len())
            .finish()
    }
}

impl SubjectKinds {
    /// Registers the kinds; two kinds, or two guards, of one name are a programming error,
    /// reported before anything runs.
    pub fn new(kinds: Vec<Arc<dyn SubjectKind>>) -> Result<SubjectKinds, String> {
        let mut registry = SubjectKinds::default();
        for kind in kinds {
            for guard in kind.guards() {
                if registry.guards.insert(guard.name, guard).is_some() {
                    return Err(format!("guard `{}` is registered twice", guard.name));
                }
            }
            if let Some(first) = registry.kinds.insert(kind.name(), kind) {
                return Err(format!(
                    "subject kind `{}` is registered twice",
                    first.name()
                ));
            }
        }
        Ok(registry)
    }

    /// Adds something that reacts to the areas' events.
    pub fn subscribe(mut self, subscriber: Arc<dyn Subscriber>) -> SubjectKinds {
        self.subscribers.push(subscriber);
        self
    }

    pub fn subscribers(&self) -> &[Arc<dyn Subscriber>] {
        &self.subscribers
    }

    /// Notes that `subject_id` is of `kind`.
    pub fn remember(&self, subject_id: Uuid, kind: &str) {
        if let Some((name, _)) = self.kinds.get_key_value(kind) {
            self.seen.remember(subject_id, name);
        }
    }

    /// The kind of `subject_id`, if it was met lately.
    pub fn seen(&self, subject_id: Uuid) -> Option<&Arc<dyn SubjectKind>> {
        self.kinds.get(self.seen.kind_of(subject_id)?)
    }

    pub fn get(&self, kind: &str) -> EngineResult<&Arc<dyn SubjectKind>> {
        self.kinds.get(kind).ok_or_else(|| {
            EngineError::Internal(format!("subjects of kind `{kind}` are not registered"))
        })
    }

    pub fn guard(&self, name: &str) -> EngineResult<&Guard> {
        self.guards
            .get(name)
            .ok_or_else(|| EngineError::Internal(format!("guard `{name}` is not registered")))
    }

    pub fn guard_names(&self) -> BTreeSet<String> {
        self.guards.keys().map(|name| (*name).to_owned()).collect()
    }

    /// Refuses to start on a database that lacks a kind's table (a kind registered without its
    /// migration), naming the kind, rather than failing on the first subject of it.
    pub async fn check_tables<C: ConnectionTrait>(&self, db: &C) -> EngineResult<()> {
        let backend = db.get_database_backend();
        for kind in self.kinds.values() {
            let probe = format!("SELECT 1 FROM {} WHERE 1 = 0", kind.table());
            if let Err(err) = db.execute_raw(Statement::from_string(backend, probe)).await {
                return Err(EngineError::Internal(format!(
                    "subject kind `{}` keeps its rows in `{}`, which the database cannot read \
                     ({err}): run `govflow migrate`",
                    kind.name(),
                    kind.table()
                )));
            }
        }
        Ok(())
    }
}

/// What an unknown subject id answers; a subject the caller may not read answers the same.
pub fn not_found(subject_id: Uuid) -> EngineError {
    EngineError::not_found("workflow subject", subject_id)
}

pub async fn instance_of<C: ConnectionTrait>(
    db: &C,
    subject_id: Uuid,
) -> EngineResult<workflow_instance::Model> {
    workflow_instance::Entity::find()
        .filter(workflow_instance::Column::SubjectId.eq(subject_id))
        .one(db)
        .await?
        .ok_or_else(|| not_found(subject_id))
}

/// How many subjects' kinds [`KindsSeen`] keeps before it starts again.
const KINDS_SEEN: usize = 16_384;

/// The kind of subjects by id. A subject's kind never changes and ids are never reused, so an
/// entry cannot go stale; a subject deleted since is simply not found by the statement its kind
/// leads to. Emptied when full, rather than kept in order: a miss costs one statement.
#[derive(Default)]
struct KindsSeen(std::sync::RwLock<HashMap<Uuid, &'static str>>);

impl KindsSeen {
    fn remember(&self, subject_id: Uuid, kind: &'static str) {
        let mut seen = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= KINDS_SEEN {
            seen.clear();
        }
        seen.insert(subject_id, kind);
    }

    fn kind_of(&self, subject_id: Uuid) -> Option<&'static str> {
        let seen = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.get(&subject_id).copied()
    }
}

/// The subject and its instance in one statement: the kind's [`SubjectKind::info_query`] with
/// the instance's columns joined in (prefixed `wi_`). `None` when the subject's kind was not met
/// lately, reads in more than one statement, or no row came back.
async fn subject_with_instance(
    engine: &Engine,
    db: &DatabaseExecutor<'_>,
    subject_id: Uuid,
) -> EngineResult<Option<(workflow_instance::Model, SubjectInfo, Arc<dyn SubjectKind>)>> {
    let Some(kind) = engine.subject_kinds().seen(subject_id) else {
        return Ok(None);
    };
    let Some(query) = kind.info_query(subject_id) else {
        return Ok(None);
    };
    let statement = db
        .get_database_backend()
        .build(&joined_with_instance(query, kind.table()));
    let Some(row) = db.query_one_raw(statement).await? else {
        return Ok(None);
    };
    let instance = workflow_instance::Model::from_query_result(&row, INSTANCE_PREFIX)?;
    let subject = kind.info_from_row(&row)?;
    Ok(Some((instance, subject, Arc::clone(kind))))
}

/// [`SubjectKind::info`] of a kind that reads it in one statement: its `info_query`, read back by
/// its `info_from_row`, so that the kind has one way to read its subject, alone or joined with
/// the instance. NOT_FOUND naming `what` when no row comes back.
pub async fn info_in_one_statement(
    kind: &dyn SubjectKind,
    db: &DatabaseExecutor<'_>,
    subject_id: Uuid,
    what: &str,
) -> EngineResult<SubjectInfo> {
    let query = kind.info_query(subject_id).ok_or_else(|| {
        EngineError::Internal(format!(
            "subjects of kind `{}` are not read in one statement",
            kind.name()
        ))
    })?;
    let statement = db.get_database_backend().build(&query);
    let row = db
        .query_one_raw(statement)
        .await?
        .ok_or_else(|| EngineError::not_found(what, subject_id))?;
    kind.info_from_row(&row)
}

/// `query` (whose `FROM` is the subjects' `table`) with each row's workflow instance joined in,
/// its columns prefixed `wi_`. Public so that a benchmark's floor runs exactly the same SQL.
pub fn joined_with_instance(mut query: SelectStatement, table: &str) -> SelectStatement {
    query.inner_join(
        workflow_instance::Entity,
        Expr::col((
            workflow_instance::Entity,
            workflow_instance::Column::SubjectId,
        ))
        .equals((Alias::new(table), Alias::new("id"))),
    );
    for column in workflow_instance::Column::iter() {
        query.expr_as(
            Expr::col((workflow_instance::Entity, column)),
            Alias::new(format!("{INSTANCE_PREFIX}{}", column.as_str())),
        );
    }
    query
}

/// The prefix of the instance's columns in [`subject_with_instance`]'s row.
const INSTANCE_PREFIX: &str = "wi_";

/// The instance of `subject_id`, with its row locked until the transaction ends, so that a
/// write depending on the subject's state waits for a transition of it under way. PostgreSQL
/// takes the row lock (`FOR UPDATE`); SQLite has no row locks (sea-query leaves the clause out)
/// and needs none, since its write transactions start with `BEGIN IMMEDIATE` and so run one at
/// a time.
pub async fn lock_instance(
    txn: &DatabaseTransaction,
    subject_id: Uuid,
) -> EngineResult<Option<workflow_instance::Model>> {
    Ok(workflow_instance::Entity::find()
        .filter(workflow_instance::Column::SubjectId.eq(subject_id))
        .lock_exclusive()
        .one(txn)
        .await?)
}

/// The instance and the subject as `acting` may see them. A subject the caller may not read is
/// NOT_FOUND, word for word as an unknown id (DECISIONS: a draft the caller may not read is
/// NOT_FOUND), and this is asked before any role check, so that FORBIDDEN never tells an outsider
/// the subject is there. The engine itself (scheduler, effects, closing a vote) reads everything.
pub async fn readable_subject<'c>(
    engine: &Engine,
    db: impl Into<DatabaseExecutor<'c>>,
    acting: Acting<'_>,
    subject_id: Uuid,
) -> EngineResult<(workflow_instance::Model, SubjectInfo)> {
    let db = db.into();
    let (instance, subject, kind) = match subject_with_instance(engine, &db, subject_id).await? {
        Some(found) => found,
        None => {
            let instance = instance_of(&db, subject_id).await?;
            let kind = Arc::clone(engine.subject_kinds().get(&instance.subject_kind)?);
            let subject = kind.info(&db, subject_id).await?;
            engine
                .subject_kinds()
                .remember(subject_id, &instance.subject_kind);
            (instance, subject, kind)
        }
    };
    match acting {
        Acting::User(actor) if !kind.readable(actor, &instance, &subject) => {
            Err(not_found(subject_id))
        }
        _ => Ok((instance, subject)),
    }
}

/// The subject's scope, zone and template fields, from its kind.
pub async fn info<'c>(
    engine: &Engine,
    db: impl Into<DatabaseExecutor<'c>>,
    kind: &str,
    subject_id: Uuid,
) -> EngineResult<SubjectInfo> {
    engine
        .subject_kinds()
        .get(kind)?
        .info(&db.into(), subject_id)
        .await
}

/// The ids of the subjects of `kind` whose instance meets `condition` (a state, say), as a
/// subquery for the subject's own table: lists filter and page by workflow state in SQL.
pub fn ids_where(kind: &str, condition: sea_orm::sea_query::SimpleExpr) -> SelectStatement {
    Query::select()
        .column(workflow_instance::Column::SubjectId)
        .from(workflow_instance::Entity)
        .and_where(workflow_instance::Column::SubjectKind.eq(kind))
        .and_where(condition)
        .to_owned()
}

/// Which rows of a table with private drafts `actor` may read, as a condition on that table, so
/// that lists are filtered and paged in SQL: those `public` picks, for everyone; all of a group
/// for its chair, experts and coordinators, and of a forum for its coordinators; all for
/// administrators.
pub fn public_or_insiders<G, F>(
    actor: &Actor,
    public: sea_orm::sea_query::SimpleExpr,
    (group, forum): (G, F),
) -> sea_orm::Condition
where
    G: ColumnTrait,
    F: ColumnTrait,
{
    if actor.is_admin {
        return sea_orm::Condition::all();
    }
    sea_orm::Condition::any()
        .add(public)
        .add(group.is_in(actor.scopes_holding(&["chair", "expert", "coordinator"])))
        .add(forum.is_in(actor.scopes_holding(&["coordinator"])))
}

/// The workflow instances of many subjects, by subject id: one query for a page of subjects.
pub async fn instances_of<C: ConnectionTrait>(
    db: &C,
    subject_ids: Vec<Uuid>,
) -> EngineResult<HashMap<Uuid, workflow_instance::Model>> {
    Ok(workflow_instance::Entity::find()
        .filter(workflow_instance::Column::SubjectId.is_in(subject_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|instance| (instance.subject_id, instance))
        .collect())
}

/// The rows of a page of subjects with their workflow instances, in one query for all: each row
/// and its instance become the area's domain value through `build`.
pub async fn with_instances<C, R, T>(
    db: &C,
    rows: Vec<R>,
    id_of: impl Fn(&R) -> Uuid,
    build: impl Fn(R, &workflow_instance::Model) -> T,
) -> EngineResult<Vec<T>>
where
    C: ConnectionTrait,
{
    let mut instances = instances_of(db, rows.iter().map(&id_of).collect()).await?;
    rows.into_iter()
        .map(|row| {
            let instance = take_instance(&mut instances, id_of(&row))?;
            Ok(build(row, &instance))
        })
        .collect()
}

/// Takes the instance of `subject_id` out of a map from [`instances_of`].
pub fn take_instance(
    instances: &mut HashMap<Uuid, workflow_instance::Model>,
    subject_id: Uuid,
) -> EngineResult<workflow_instance::Model> {
    instances.remove(&subject_id).ok_or_else(|| {
        EngineError::Internal(format!("subject {subject_id} has no workflow instance"))
    })
}

/// A subject's row with its workflow instance, in one statement (the row joined with its
/// instance); `None` for an unknown id.
pub async fn row_with_instance<E, C>(
    db: &C,
    id_column: E::Column,
    subject_id: Uuid,
) -> EngineResult<Option<(E::Model, workflow_instance::Model)>>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let with_instance = E::belongs_to(workflow_instance::Entity)
        .from(id_column)
        .to(workflow_instance::Column::SubjectId)
        .into();
    let found = E::find()
        .filter(id_column.eq(subject_id))
        .join(JoinType::InnerJoin, with_instance)
        .select_also(workflow_instance::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(row, instance)| Some((row, instance?))))
}

/// The kind of the subject `subject_id` names; NOT_FOUND for an unknown id.
pub async fn kind_of(engine: &Engine, subject_id: Uuid) -> EngineResult<String> {
    Ok(instance_of(engine.db(), subject_id).await?.subject_kind)
}

pub async fn state_of<C: ConnectionTrait>(db: &C, subject_id: Uuid) -> EngineResult<String> {
    Ok(instance_of(db, subject_id).await?.state)
}
