//! Reading deadlines: one, a subject's or a group's (by the window their occurrences fall in),
//! many at once for the API's loaders, the caller's upcoming ones, and the preview of a rule
//! before it is saved. Whoever may read a deadline's subject reads its deadlines.

use super::*;

/// One deadline, for a caller who may read its subject.
pub async fn get_deadline(
    engine: &Engine,
    actor: &Actor,
    deadline_id: Uuid,
) -> EngineResult<Deadline> {
    let row = deadline::Entity::find_by_id(deadline_id)
        .one(engine.db())
        .await?
        .ok_or_else(|| EngineError::not_found("deadline", deadline_id))?;
    check_readable(engine, actor, row.subject_id)
        .await
        .map_err(|_| EngineError::not_found("deadline", deadline_id))?;
    Ok(Deadline::new(engine, row))
}

/// NOT_FOUND unless `actor` may read the subject.
async fn check_readable(engine: &Engine, actor: &Actor, subject_id: Uuid) -> EngineResult<()> {
    let txn = sea_orm::TransactionTrait::begin(engine.db()).await?;
    let read = subject::readable(engine, &txn, Acting::User(actor), subject_id).await;
    txn.rollback().await?;
    read.map(|_| ())
}

/// Which deadlines a list shows: of one subject or of one group, optionally only those with an
/// occurrence due within [from, to].
#[derive(Debug, Clone, Default)]
pub struct DeadlineFilter {
    pub subject_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub include_cancelled: bool,
}

pub async fn list_deadlines(
    engine: &Engine,
    actor: &Actor,
    filter: &DeadlineFilter,
    page: PageRequest,
) -> EngineResult<Page<Deadline>> {
    let mut query = deadline::Entity::find()
        .order_by_asc(deadline::Column::CreatedAt)
        .order_by_asc(deadline::Column::Id);
    match (filter.subject_id, filter.group_id) {
        (Some(subject_id), None) => {
            check_readable(engine, actor, subject_id).await?;
            query = query.filter(deadline::Column::SubjectId.eq(subject_id));
        }
        (None, Some(group_id)) => {
            check_readable(engine, actor, group_id).await?;
            query = query.filter(deadline::Column::GroupId.eq(group_id));
        }
        _ => {
            return Err(EngineError::invalid(
                "subjectId",
                "give a subjectId or a groupId (one of them)",
            ));
        }
    }
    if !filter.include_cancelled {
        query = query.filter(deadline::Column::State.eq("active"));
    }
    if filter.from.is_some() || filter.to.is_some() {
        let mut due = Query::select();
        due.column(deadline_occurrence::Column::DeadlineId)
            .from(deadline_occurrence::Entity);
        if let Some(from) = filter.from {
            due.and_where(deadline_occurrence::Column::DueAt.gte(from));
        }
        if let Some(to) = filter.to {
            due.and_where(deadline_occurrence::Column::DueAt.lte(to));
        }
        query = query.filter(deadline::Column::Id.in_subquery(due.to_owned()));
    }
    Ok(page_of(engine.db(), query, page)
        .await?
        .map(|row| Deadline::new(engine, row)))
}

/// Deadlines by id, for loaders (no access check: the caller's parent object was checked).
pub async fn by_ids(engine: &Engine, ids: &[Uuid]) -> EngineResult<Vec<Deadline>> {
    Ok(deadline::Entity::find()
        .filter(deadline::Column::Id.is_in(ids.iter().copied()))
        .all(engine.db())
        .await?
        .into_iter()
        .map(|row| Deadline::new(engine, row))
        .collect())
}

/// The occurrences of deadlines, a page per deadline, by due instant.
pub async fn pages_of_occurrences(
    engine: &Engine,
    deadline_ids: &[Uuid],
    page: PageRequest,
) -> EngineResult<HashMap<Uuid, Page<Occurrence>>> {
    pages_per_parent(
        engine.db(),
        deadline_occurrence::Entity::find(),
        deadline_occurrence::Column::DeadlineId,
        deadline_ids,
        &[
            deadline_occurrence::Column::DueAt,
            deadline_occurrence::Column::Id,
        ],
        page,
    )
    .await
}

/// The reminders of occurrences, by time (a plan has at most [`plan::MAX_STEPS`] each).
pub async fn reminders_of(
    engine: &Engine,
    occurrence_ids: &[Uuid],
) -> EngineResult<HashMap<Uuid, Vec<Reminder>>> {
    let rows = deadline_reminder::Entity::find()
        .filter(deadline_reminder::Column::OccurrenceId.is_in(occurrence_ids.iter().copied()))
        .order_by_asc(deadline_reminder::Column::DueAt)
        .order_by_asc(deadline_reminder::Column::Id)
        .all(engine.db())
        .await?;
    Ok(crate::kernel::pagination::by_parent(
        rows,
        |row| row.occurrence_id,
        |row| row,
    ))
}

/// An occurrence with the deadline it belongs to, for `myUpcomingDeadlines`.
#[derive(Debug, Clone)]
pub struct Upcoming {
    pub deadline: Deadline,
    pub occurrence: Occurrence,
}

/// Open occurrences due within `days` (and those already due) of deadlines the user is
/// reminded of: their groups', and as a coordinator of a forum, the forum's.
pub async fn my_upcoming(
    engine: &Engine,
    actor: &Actor,
    days: i64,
    page: PageRequest,
) -> EngineResult<Page<Upcoming>> {
    if !(1..=MAX_UPCOMING_DAYS).contains(&days) {
        return Err(EngineError::invalid(
            "days",
            format!("must be between 1 and {MAX_UPCOMING_DAYS}"),
        ));
    }
    let now = engine.now();
    let until = now + chrono::Duration::days(days);
    let mine = Query::select()
        .column(membership::Column::ScopeId)
        .from(membership::Entity)
        .and_where(membership::Column::UserId.eq(actor.user_id))
        .to_owned();
    let coordinated = Query::select()
        .column(membership::Column::ScopeId)
        .from(membership::Entity)
        .and_where(membership::Column::UserId.eq(actor.user_id))
        .and_where(membership::Column::Role.eq("coordinator"))
        .to_owned();
    let deadlines = Query::select()
        .column(deadline::Column::Id)
        .from(deadline::Entity)
        .and_where(deadline::Column::State.eq("active"))
        .cond_where(
            Condition::any()
                .add(deadline::Column::GroupId.in_subquery(mine))
                .add(deadline::Column::ForumId.in_subquery(coordinated)),
        )
        .to_owned();
    let query = deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::DeadlineId.in_subquery(deadlines))
        .filter(deadline_occurrence::Column::State.is_in(OPEN))
        .filter(deadline_occurrence::Column::DueAt.lte(until))
        .order_by_asc(deadline_occurrence::Column::DueAt)
        .order_by_asc(deadline_occurrence::Column::Id);
    let occurrences = page_of(engine.db(), query, page).await?;
    let ids: Vec<Uuid> = occurrences
        .items
        .iter()
        .map(|row| row.deadline_id)
        .collect();
    let deadlines = by_ids(engine, &ids).await?;
    Ok(occurrences.map(|occurrence| Upcoming {
        deadline: deadlines
            .iter()
            .find(|deadline| deadline.id == occurrence.deadline_id)
            .cloned()
            .unwrap_or_else(|| unreachable!("the deadline of an occurrence was just read")),
        occurrence,
    }))
}

/// The most instants `previewRule` gives.
pub const MAX_PREVIEW: usize = 50;

/// The next `count` instants a rule gives in `zone` (else the subject's) from now, with the zone
/// used, for a front-end to show before saving. `before_event` and `after_transition` need the
/// subject they would hang on.
pub async fn preview_rule(
    engine: &Engine,
    actor: &Actor,
    rule: &str,
    zone: Option<&str>,
    subject_id: Option<Uuid>,
    count: usize,
) -> EngineResult<(TimeZone, Vec<DateTime<Utc>>)> {
    if !(1..=MAX_PREVIEW).contains(&count) {
        return Err(EngineError::invalid(
            "count",
            format!("must be between 1 and {MAX_PREVIEW}"),
        ));
    }
    let rule = Rule::parse("rule", rule)?;
    let zone = zone.map(|zone| TimeZone::parse("zone", zone)).transpose()?;
    let now = engine.now();
    let txn = sea_orm::TransactionTrait::begin(engine.db()).await?;
    let subject = match subject_id {
        Some(id) => Some(subject::readable(engine, &txn, Acting::User(actor), id).await?),
        None => None,
    };
    let zone = zone
        .or(subject.as_ref().map(|subject| subject.zone))
        .ok_or_else(|| EngineError::invalid("zone", "give a zone or a subjectId"))?;
    let instants = match &rule {
        Rule::At(wall) => {
            let at = crate::time::resolve(zone, *wall);
            if at > now { vec![at] } else { Vec::new() }
        }
        Rule::Cron(cron) => {
            let wall = now.with_timezone(&zone.tz()).naive_local();
            crate::time::rules::cron_occurrences(cron, zone, wall, now)
                .take(count)
                .map(|(_, at)| at)
                .collect()
        }
        Rule::AfterTransition { transition, .. } => {
            let subject = subject.as_ref().ok_or_else(|| {
                EngineError::invalid("subjectId", "an after_transition rule needs its subject")
            })?;
            match events::effective_instant(&txn, subject, transition).await? {
                None => Vec::new(),
                Some(effective) => (1..=10_000)
                    .map_while(|n| rule.nth_after(zone, effective, n))
                    .filter(|at| *at > now)
                    .take(count)
                    .collect(),
            }
        }
        Rule::BeforeEvent { series, lead } => {
            let subject = subject.as_ref().ok_or_else(|| {
                EngineError::invalid("subjectId", "a before_event rule needs its subject")
            })?;
            crate::areas::meetings::upcoming_of_series(&txn, subject.forum_id(), series, now, count)
                .await?
                .into_iter()
                .map(|meeting| lead.shift(zone, meeting.starts_at, -1))
                .collect()
        }
    };
    txn.rollback().await?;
    Ok((zone, instants))
}
