//! The generated first draft of an annual report: the period's accepted tasks by work-plan topic,
//! amendments adopted, meetings held, decisions and deadlines, rendered through the Markdown
//! template `annual_report.md`; and the reading of the draft the guard `implications_written`
//! needs (the section `## Implications for member states`).
//!
//! Every list the draft gathers is capped ([`SECTION_ITEMS`]): a period with thousands of outcomes
//! still gives a draft of bounded size, which says how many were left out.

use crate::kernel::engine::Engine;
use crate::kernel::error::EngineResult;
use crate::types::TimeZone;
use crate::workflow::subjects;
use chrono::{DateTime, Utc};
use govflow_entities::{
    agenda_item, amendment, app_user, deadline, deadline_occurrence, document, forum, instrument,
    meeting, research_task, work_topic, workflow_instance, working_group,
};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// The template the first draft is rendered from (`config/templates/annual_report.md`).
pub const TEMPLATE: &str = "annual_report";
/// The section that must hold text of its own before `submit`.
pub const IMPLICATIONS_HEADING: &str = "Implications for member states";
/// What the template writes under that heading until the chair replaces it.
pub const IMPLICATIONS_PLACEHOLDER: &str = "_Write here what this period's work means for member states: the report cannot be submitted while this line is all the section holds._";
/// The most items one section of a generated draft lists.
pub const SECTION_ITEMS: u64 = 200;
/// The longest outcome quoted from a task's deliverable, in characters.
const OUTCOME_CHARS: usize = 300;

/// The time a report covers, and the zone its dates are shown in.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub zone: TimeZone,
}

impl Period {
    fn day(&self, instant: DateTime<Utc>) -> String {
        instant
            .with_timezone(&self.zone.tz())
            .format("%-d %B %Y")
            .to_string()
    }

    fn within<C: ColumnTrait>(&self, column: C) -> Condition {
        Condition::all()
            .add(column.gte(self.start))
            .add(column.lt(self.end))
    }
}

/// Renders the first draft of `group`'s report for `year` over `period`.
pub async fn generate<C: ConnectionTrait>(
    engine: &Engine,
    db: &C,
    group: &working_group::Model,
    forum: &forum::Model,
    year: i32,
    period: Period,
) -> EngineResult<String> {
    let (topics, outcomes) = outcomes_by_topic(db, group.id, period).await?;
    let amendments = amendments_adopted(db, group.id, period).await?;
    let deadlines = deadlines_closed(db, group.id, period).await?;
    let context = json!({
        "year": year,
        "group": { "name": group.name, "theme": group.theme },
        "forum": { "name": forum.name },
        "period": {
            "start": period.day(period.start),
            "end": period.day(period.end),
            "zone": period.zone.name(),
        },
        "totals": {
            "outcomes": outcomes,
            "amendments": amendments.len(),
            "met": deadlines.met.len(),
            "deadlines": deadlines.total(),
        },
        "topics": topics,
        "amendments": amendments,
        "meetings": meetings_held(db, group.forum_id, period).await?,
        "decisions": decisions(db, group, period).await?,
        "deadlines": {
            "met": deadlines.met,
            "met_late": deadlines.met_late,
            "missed": deadlines.missed,
        },
        "implications_placeholder": IMPLICATIONS_PLACEHOLDER,
    });
    engine.templates().render_document(TEMPLATE, &context)
}

/// The topics of the work plan with the tasks accepted in the period under each (topics without
/// any left out; tasks of no topic under "Other work"), and how many were accepted in all.
async fn outcomes_by_topic<C: ConnectionTrait>(
    db: &C,
    group_id: Uuid,
    period: Period,
) -> EngineResult<(Vec<Value>, u64)> {
    let accepted = research_task::Entity::find()
        .filter(research_task::Column::GroupId.eq(group_id))
        .filter(period.within(research_task::Column::AcceptedAt));
    let total = accepted.clone().count(db).await?;
    let tasks = accepted
        .order_by_asc(research_task::Column::AcceptedAt)
        .order_by_asc(research_task::Column::Id)
        .limit(SECTION_ITEMS * 5)
        .all(db)
        .await?;
    let topics = work_topic::Entity::find()
        .filter(work_topic::Column::GroupId.eq(group_id))
        .order_by_asc(work_topic::Column::Position)
        .all(db)
        .await?;
    let claimants = names_of(db, tasks.iter().filter_map(|task| task.claimant_id)).await?;
    let mut by_topic: HashMap<Option<Uuid>, Vec<&research_task::Model>> = HashMap::new();
    for task in &tasks {
        by_topic.entry(task.topic_id).or_default().push(task);
    }
    let titled = topics
        .iter()
        .map(|topic| (Some(topic.id), topic.title.clone()))
        .chain([(None, "Other work".to_owned())]);
    let mut sections = Vec::new();
    for (topic_id, title) in titled {
        let Some(tasks) = by_topic.get(&topic_id) else {
            continue;
        };
        let listed: Vec<Value> = tasks
            .iter()
            .take(SECTION_ITEMS as usize)
            .map(|task| {
                json!({
                    "title": task.title,
                    "claimant": task.claimant_id.and_then(|id| claimants.get(&id)),
                    "accepted_on": task.accepted_at.map(|at| period.day(at)),
                    "outcome": outcome_of(task),
                })
            })
            .collect();
        sections.push(json!({
            "title": title,
            "tasks": listed,
            "more": tasks.len().saturating_sub(SECTION_ITEMS as usize),
        }));
    }
    Ok((sections, total))
}

/// A line on what the task delivered: the first paragraph of its text, shortened.
fn outcome_of(task: &research_task::Model) -> Option<String> {
    if let Some(text) = &task.deliverable_text {
        let first = text.split("\n\n").next().unwrap_or_default().trim();
        let flat = first.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() > OUTCOME_CHARS {
            let cut: String = flat.chars().take(OUTCOME_CHARS).collect();
            return Some(format!("{}…", cut.trim_end()));
        }
        return Some(flat).filter(|line| !line.is_empty());
    }
    task.deliverable_version
        .map(|version| format!("Delivered as version {version} of a group document."))
}

async fn names_of<C: ConnectionTrait>(
    db: &C,
    ids: impl Iterator<Item = Uuid>,
) -> EngineResult<HashMap<Uuid, String>> {
    let ids: Vec<Uuid> = ids.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(app_user::Entity::find()
        .filter(app_user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|user| (user.id, user.name))
        .collect())
}

async fn amendments_adopted<C: ConnectionTrait>(
    db: &C,
    group_id: Uuid,
    period: Period,
) -> EngineResult<Vec<Value>> {
    let rows = amendment::Entity::find()
        .filter(amendment::Column::GroupId.eq(group_id))
        .filter(period.within(amendment::Column::AdoptedAt))
        .order_by_asc(amendment::Column::AdoptedAt)
        .limit(SECTION_ITEMS)
        .all(db)
        .await?;
    let documents: HashMap<Uuid, document::Model> = document::Entity::find()
        .filter(document::Column::Id.is_in(rows.iter().map(|row| row.document_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|doc| (doc.id, doc))
        .collect();
    Ok(rows
        .iter()
        .map(|row| {
            let document = documents.get(&row.document_id).map_or_else(
                || "document".to_owned(),
                |doc| format!("{} \"{}\"", doc.kind.replace('_', " "), doc.title),
            );
            json!({
                "title": row.title,
                "version": row.adopted_version,
                "document": document,
                "adopted_on": row.adopted_at.map(|at| period.day(at)),
            })
        })
        .collect())
}

/// The forum's meetings held in the period (the summits and sessions the group worked towards).
async fn meetings_held<C: ConnectionTrait>(
    db: &C,
    forum_id: Uuid,
    period: Period,
) -> EngineResult<Vec<Value>> {
    let held = subjects::ids_where("meeting", workflow_instance::Column::State.eq("held"));
    let rows = meeting::Entity::find()
        .filter(meeting::Column::ForumId.eq(forum_id))
        .filter(meeting::Column::Id.in_subquery(held))
        .filter(period.within(meeting::Column::StartsAt))
        .order_by_asc(meeting::Column::StartsAt)
        .limit(SECTION_ITEMS)
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            json!({
                "title": row.title,
                "place": row.place,
                "held_on": period.day(row.starts_at),
            })
        })
        .collect())
}

/// Decisions taken in the period on the group itself and on instruments it proposed.
async fn decisions<C: ConnectionTrait>(
    db: &C,
    group: &working_group::Model,
    period: Period,
) -> EngineResult<Vec<Value>> {
    let proposed = Query::select()
        .column(instrument::Column::Id)
        .from(instrument::Entity)
        .and_where(instrument::Column::ProposingGroupId.eq(group.id))
        .to_owned();
    let items = agenda_item::Entity::find()
        .filter(
            Condition::any()
                .add(agenda_item::Column::SubjectId.eq(group.id))
                .add(agenda_item::Column::SubjectId.in_subquery(proposed)),
        )
        .filter(period.within(agenda_item::Column::DecidedAt))
        .order_by_asc(agenda_item::Column::DecidedAt)
        .limit(SECTION_ITEMS)
        .all(db)
        .await?;
    let meetings: HashMap<Uuid, String> = meeting::Entity::find()
        .filter(meeting::Column::Id.is_in(items.iter().map(|item| item.meeting_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row.title))
        .collect();
    let instruments: HashMap<Uuid, String> = instrument::Entity::find()
        .filter(instrument::Column::Id.is_in(items.iter().map(|item| item.subject_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row.title))
        .collect();
    Ok(items
        .iter()
        .map(|item| {
            let subject = if item.subject_id == group.id {
                format!("the group {}", group.name)
            } else {
                instruments
                    .get(&item.subject_id)
                    .cloned()
                    .unwrap_or_else(|| "an instrument".into())
            };
            json!({
                "meeting": meetings.get(&item.meeting_id).cloned().unwrap_or_default(),
                "subject": subject,
                "outcome": item.outcome.as_deref().unwrap_or("decided").replace('_', " "),
                "decided_on": item.decided_at.map(|at| period.day(at)),
            })
        })
        .collect())
}

#[derive(Default)]
struct ClosedDeadlines {
    met: Vec<Value>,
    met_late: Vec<Value>,
    missed: Vec<Value>,
}

impl ClosedDeadlines {
    fn total(&self) -> usize {
        self.met.len() + self.met_late.len() + self.missed.len()
    }
}

/// The occurrences of the group's deadlines due in the period that were met, met late or missed.
async fn deadlines_closed<C: ConnectionTrait>(
    db: &C,
    group_id: Uuid,
    period: Period,
) -> EngineResult<ClosedDeadlines> {
    let of_group = Query::select()
        .column(deadline::Column::Id)
        .from(deadline::Entity)
        .and_where(deadline::Column::GroupId.eq(group_id))
        .to_owned();
    let rows = deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::DeadlineId.in_subquery(of_group))
        .filter(deadline_occurrence::Column::State.is_in(["met", "met_late", "missed"]))
        .filter(period.within(deadline_occurrence::Column::DueAt))
        .order_by_asc(deadline_occurrence::Column::DueAt)
        .limit(SECTION_ITEMS * 3)
        .all(db)
        .await?;
    let titles: HashMap<Uuid, String> = deadline::Entity::find()
        .filter(deadline::Column::Id.is_in(rows.iter().map(|row| row.deadline_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row.title))
        .collect();
    let mut closed = ClosedDeadlines::default();
    for row in &rows {
        let entry = json!({
            "title": titles.get(&row.deadline_id).cloned().unwrap_or_default(),
            "due_on": period.day(row.due_at),
            "met_on": row.met_at.map(|at| period.day(at)),
        });
        let list = match row.state.as_str() {
            "met" => &mut closed.met,
            "met_late" => &mut closed.met_late,
            _ => &mut closed.missed,
        };
        list.push(entry);
    }
    Ok(closed)
}

/// The text of the draft's implications section, if the draft has that heading.
pub fn implications_of(draft: &str) -> Option<String> {
    let mut lines = draft.lines();
    lines.find(|line| {
        heading(line).is_some_and(|(level, title)| level == 2 && is_implications(title))
    })?;
    let body: Vec<&str> = lines
        .take_while(|line| heading(line).is_none_or(|(level, _)| level > 2))
        .collect();
    Some(body.join("\n").trim().to_owned())
}

/// Why the draft may not be submitted yet, if it may not.
pub fn implications_missing(draft: &str) -> Option<String> {
    match implications_of(draft) {
        None => Some(format!(
            "the draft has no section `## {IMPLICATIONS_HEADING}`"
        )),
        Some(text) => {
            let own = text.replace(IMPLICATIONS_PLACEHOLDER, "");
            if own.trim().is_empty() {
                Some(format!(
                    "the section `## {IMPLICATIONS_HEADING}` holds only the template's placeholder: write the implications for member states"
                ))
            } else {
                None
            }
        }
    }
}

fn is_implications(title: &str) -> bool {
    title.eq_ignore_ascii_case(IMPLICATIONS_HEADING)
}

/// A Markdown ATX heading's level and title.
fn heading(line: &str) -> Option<(usize, &str)> {
    let line = line.trim_start();
    let level = line.chars().take_while(|c| *c == '#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = &line[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some((level, rest.trim().trim_end_matches('#').trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_implications_section_runs_to_the_next_heading_of_its_level() {
        let draft = "# Report\n\n## Implications for member states\n\nMore funding.\n\n### Detail\nYes.\n\n## Annex\nNo.";
        assert_eq!(
            implications_of(draft).as_deref(),
            Some("More funding.\n\n### Detail\nYes.")
        );
        assert_eq!(implications_missing(draft), None);
    }

    #[test]
    fn a_placeholder_or_a_missing_section_is_refused() {
        let placeholder =
            format!("## Implications for member states\n\n{IMPLICATIONS_PLACEHOLDER}\n");
        assert!(
            implications_missing(&placeholder)
                .unwrap()
                .contains("placeholder")
        );
        let empty = "## Implications for member states\n\n## Annex\ntext";
        assert!(implications_missing(empty).unwrap().contains("placeholder"));
        assert!(
            implications_missing("# Report\n")
                .unwrap()
                .contains("no section")
        );
        let kept =
            format!("## implications for member states ##\n{IMPLICATIONS_PLACEHOLDER}\nOwn words.");
        assert_eq!(implications_missing(&kept), None);
    }
}
