//! Deadlines and their reminders: `deadlines`, `deadline`, `myUpcomingDeadlines`, `previewRule`,
//! and the mutations `createDeadline`, `updateDeadline`, `cancelDeadline`, `markOccurrenceMet`
//! and `rotateFeedToken` (the calendar feeds' token). Instants are shown in the deadline's zone.

use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::errors::EngineResultExt;
use crate::graphql::forums::Forum;
use crate::graphql::groups::WorkingGroup;
use crate::graphql::loaders::{ForumId, GroupId, OccurrencesOf, RemindersOf, UserId};
use crate::graphql::users::User;
use crate::graphql::workflow::{HistoryEntry, history_of};
use crate::graphql::{actor, engine, loader, parse_id, parse_ids};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, FixedOffset, Utc};
use govflow_engine::deadlines::plan::{MAX_STEPS, StepText};
use govflow_engine::deadlines::{
    self as area, Deadline as DomainDeadline, DeadlineChanges, DeadlineFilter, NewDeadline,
    Occurrence as DomainOccurrence, Reminder as DomainReminder,
};
use govflow_engine::pagination::Page;
use govflow_engine::time;
use govflow_engine::types::TimeZone;

#[derive(Clone)]
pub struct Deadline(pub DomainDeadline);

impl Deadline {
    fn local(&self, instant: DateTime<Utc>) -> DateTime<FixedOffset> {
        time::local(self.0.time_zone, instant)
    }
}

/// A plan has at most this many reminders: what the complexity of `reminders` counts.
const PLAN_COST: usize = MAX_STEPS;
/// The most roles one reminder may name (there are five).
const MAX_ROLES: usize = 10;

#[Object]
impl Deadline {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What it hangs on: a group, document, instrument or meeting.
    async fn subject_id(&self) -> ID {
        ID(self.0.subject_id.to_string())
    }
    /// `group`, `document`, `instrument` or `meeting`.
    async fn subject_kind(&self) -> &str {
        &self.0.subject_kind
    }
    async fn forum(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Forum>> {
        Ok(loader(ctx)
            .load_one(ForumId(self.0.forum_id))
            .await?
            .map(Forum))
    }
    async fn group(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<WorkingGroup>> {
        match self.0.group_id {
            Some(id) => Ok(loader(ctx).load_one(GroupId(id)).await?.map(WorkingGroup)),
            None => Ok(None),
        }
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The rule in its canonical text (see docs/DEADLINES.md).
    async fn rule(&self) -> &str {
        &self.0.rule
    }
    /// `at`, `cron`, `before_event` or `after_transition`.
    async fn rule_kind(&self) -> &str {
        &self.0.rule_kind
    }
    /// The IANA zone the rule is counted in and instants are shown in.
    async fn time_zone(&self) -> &str {
        self.0.time_zone.name()
    }
    /// Days after an occurrence's due instant before it is missed (never past the next one).
    async fn grace_days(&self) -> i32 {
        self.0.grace_days
    }
    /// The transition (of the subject or a subject of its group) that meets an occurrence.
    async fn met_by(&self) -> Option<&str> {
        self.0.met_by.as_deref()
    }
    /// The transition taken on the subject when an occurrence is missed.
    async fn on_missed(&self) -> Option<&str> {
        self.0.on_missed.as_deref()
    }
    /// The reminder plan it follows.
    #[graphql(complexity = "PLAN_COST * child_complexity + 1")]
    async fn reminders(&self) -> Vec<ReminderStep> {
        self.0
            .reminders
            .iter()
            .cloned()
            .map(ReminderStep::from)
            .collect()
    }
    /// Whether it follows the configured default plan rather than its own.
    async fn uses_default_reminders(&self) -> bool {
        self.0.uses_default_reminders
    }
    /// `active` or `cancelled`.
    async fn state(&self) -> &str {
        &self.0.state
    }
    /// For an `after_transition` rule: when the transition took effect, once it has.
    async fn effective_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.effective_at.map(|at| self.local(at))
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.local(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<FixedOffset> {
        self.local(self.0.updated_at)
    }
    /// Its occurrences written so far, by due instant: those to come are written about a month
    /// ahead of their first reminder.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn occurrences(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Occurrence>> {
        let request = page_request(first, after)?;
        let page = loader(ctx)
            .load_one(OccurrencesOf(self.0.id, request))
            .await?
            .unwrap_or_else(|| Page::new(Vec::new(), request, 0));
        let zone = self.0.time_zone;
        Ok(connection(page, |row| Occurrence(row, zone)))
    }
    /// What happened to it: made, changed, cancelled, and each occurrence falling due, met,
    /// missed or cancelled.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<HistoryEntry>> {
        history_of(ctx, self.0.id, self.0.time_zone, first, after).await
    }
}

/// One step of a reminder plan.
#[derive(Clone, SimpleObject)]
pub struct ReminderStep {
    /// From the due instant: `-30d` (before), `0d`, `+7d` (after), `-12h`.
    offset: String,
    /// Whose holders receive it: coordinator, chair, expert, observer, claimant.
    roles: Vec<String>,
}

impl From<StepText> for ReminderStep {
    fn from(step: StepText) -> Self {
        ReminderStep {
            offset: step.offset,
            roles: step.roles,
        }
    }
}

#[derive(InputObject)]
pub struct ReminderStepInput {
    /// `-30d`, `0d`, `+7d`, `-12h`: days (same wall time) or exact hours from the due instant.
    offset: String,
    roles: Vec<String>,
}

fn steps(input: Option<Vec<ReminderStepInput>>) -> async_graphql::Result<Option<Vec<StepText>>> {
    match input {
        Some(steps) if steps.len() > MAX_STEPS => Err(crate::graphql::errors::coded(
            "INVALID_INPUT",
            format!("invalid `reminders`: a plan has at most {MAX_STEPS} reminders"),
        )),
        Some(steps) => {
            if steps.iter().any(|step| step.roles.len() > MAX_ROLES) {
                return Err(crate::graphql::errors::coded(
                    "INVALID_INPUT",
                    format!("invalid `reminders`: a reminder names at most {MAX_ROLES} roles"),
                ));
            }
            Ok(Some(
                steps
                    .into_iter()
                    .map(|step| StepText {
                        offset: step.offset,
                        roles: step.roles,
                    })
                    .collect(),
            ))
        }
        None => Ok(None),
    }
}

/// One occurrence of a deadline, keyed by its anchor.
#[derive(Clone)]
pub struct Occurrence(pub DomainOccurrence, pub TimeZone);

#[Object]
impl Occurrence {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn deadline_id(&self) -> ID {
        ID(self.0.deadline_id.to_string())
    }
    /// What it is counted from: the meeting's id (`before_event`), the repeat's number
    /// (`after_transition`), or the nominal local date-time (`at`, `cron`).
    async fn anchor(&self) -> &str {
        &self.0.anchor
    }
    async fn due_at(&self) -> DateTime<FixedOffset> {
        time::local(self.1, self.0.due_at)
    }
    /// When a due occurrence not met becomes missed.
    async fn grace_until(&self) -> DateTime<FixedOffset> {
        time::local(self.1, self.0.grace_until)
    }
    /// `scheduled`, `due`, `met`, `met_late`, `missed` or `cancelled`.
    async fn state(&self) -> &str {
        &self.0.state
    }
    /// Waiting for its meeting, postponed, to have dates again.
    async fn held(&self) -> bool {
        self.0.held
    }
    async fn met_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.met_at.map(|at| time::local(self.1, at))
    }
    /// Who marked it met, or whose transition met it.
    async fn met_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.met_by_user {
            Some(id) => Ok(loader(ctx).load_one(UserId(id)).await?.map(User)),
            None => Ok(None),
        }
    }
    async fn met_reason(&self) -> Option<&str> {
        self.0.met_reason.as_deref()
    }
    /// Its reminders, by time: the plan's, as written when it was (re-)timed.
    #[graphql(complexity = "PLAN_COST * child_complexity + 1")]
    async fn reminders(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Reminder>> {
        let rows = loader(ctx)
            .load_one(RemindersOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(|row| Reminder(row, self.1)).collect())
    }
}

/// One reminder of an occurrence.
#[derive(Clone)]
pub struct Reminder(pub DomainReminder, pub TimeZone);

#[Object]
impl Reminder {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn offset(&self) -> &str {
        &self.0.offset
    }
    async fn roles(&self) -> Vec<&str> {
        self.0
            .roles
            .split(',')
            .filter(|role| !role.is_empty())
            .collect()
    }
    async fn due_at(&self) -> DateTime<FixedOffset> {
        time::local(self.1, self.0.due_at)
    }
    /// `pending`, `held` (its meeting is postponed), `sent` or `cancelled`.
    async fn state(&self) -> &str {
        &self.0.state
    }
    /// Sent well after its time: after downtime, or re-timed into the past.
    async fn late(&self) -> bool {
        self.0.late
    }
    async fn sent_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.sent_at.map(|at| time::local(self.1, at))
    }
}

/// An open occurrence the caller is reminded of, with its deadline.
#[derive(Clone)]
pub struct UpcomingDeadline(pub area::Upcoming);

#[Object]
impl UpcomingDeadline {
    async fn deadline(&self) -> Deadline {
        Deadline(self.0.deadline.clone())
    }
    async fn occurrence(&self) -> Occurrence {
        Occurrence(self.0.occurrence.clone(), self.0.deadline.time_zone)
    }
}

#[derive(Default)]
pub struct DeadlinesQuery;

#[Object]
impl DeadlinesQuery {
    /// Deadlines of one subject or of one group (give one), optionally only those with an
    /// occurrence due within `from`..`to`.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn deadlines(
        &self,
        ctx: &Context<'_>,
        subject_id: Option<ID>,
        group_id: Option<ID>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        #[graphql(default = false)] include_cancelled: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Deadline>> {
        let actor = actor(ctx)?;
        let filter = DeadlineFilter {
            subject_id: parse_ids("subjectId", subject_id.as_ref())?,
            group_id: parse_ids("groupId", group_id.as_ref())?,
            from,
            to,
            include_cancelled,
        };
        let page = area::list_deadlines(engine(ctx), actor, &filter, page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, Deadline))
    }

    async fn deadline(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Deadline> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Deadline(
            area::get_deadline(engine(ctx), actor, id).await.gql()?,
        ))
    }

    /// Open occurrences due within `days` (and those overdue) of the deadlines the caller is
    /// reminded of: their groups', and the forums' they coordinate.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn my_upcoming_deadlines(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 30)] days: i32,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<UpcomingDeadline>> {
        let actor = actor(ctx)?;
        let page = area::my_upcoming(
            engine(ctx),
            actor,
            i64::from(days),
            page_request(first, after)?,
        )
        .await
        .gql()?;
        Ok(connection(page, UpcomingDeadline))
    }

    /// The next `count` instants a rule gives (at most 50), for a front-end to show before
    /// saving: in `zone`, or in the zone of `subjectId`, which `before_event` and
    /// `after_transition` rules need.
    #[graphql(complexity = "count.max(1) as usize + 1")]
    async fn preview_rule(
        &self,
        ctx: &Context<'_>,
        rule: String,
        zone: Option<String>,
        subject_id: Option<ID>,
        #[graphql(default = 10)] count: i32,
    ) -> async_graphql::Result<Vec<DateTime<FixedOffset>>> {
        let actor = actor(ctx)?;
        let subject_id = parse_ids("subjectId", subject_id.as_ref())?;
        let count = usize::try_from(count).unwrap_or(0);
        let shown = zone
            .as_deref()
            .map(|name| TimeZone::parse("zone", name))
            .transpose()
            .gql()?;
        let (zone_used, instants) = area::preview_rule(
            engine(ctx),
            actor,
            &rule,
            zone.as_deref(),
            subject_id,
            count,
        )
        .await
        .gql()?;
        let shown = shown.unwrap_or(zone_used);
        Ok(instants
            .into_iter()
            .map(|at| time::local(shown, at))
            .collect())
    }
}

#[derive(InputObject)]
pub struct CreateDeadlineInput {
    /// A group, document, instrument or meeting.
    subject_id: ID,
    title: String,
    /// `at 2027-03-31T17:00`, `cron 0 9 13 * 5`, `before_event "Ministerial Summit" 30d`,
    /// `after_transition record 3y every 3y` (docs/DEADLINES.md).
    rule: String,
    /// Default 30.
    grace_days: Option<i32>,
    met_by: Option<String>,
    on_missed: Option<String>,
    /// Its own reminder plan; none follows the default.
    reminders: Option<Vec<ReminderStepInput>>,
}

#[derive(InputObject)]
pub struct UpdateDeadlineInput {
    title: Option<String>,
    rule: Option<String>,
    grace_days: Option<i32>,
    /// Blank clears it.
    met_by: Option<String>,
    /// Blank clears it.
    on_missed: Option<String>,
    reminders: Option<Vec<ReminderStepInput>>,
    /// Drop the deadline's own plan and follow the default.
    #[graphql(default = false)]
    use_default_reminders: bool,
    expected_version: Option<i32>,
    reason: Option<String>,
}

/// A new calendar feed token and the feeds' addresses (relative to the server).
#[derive(SimpleObject)]
pub struct FeedToken {
    /// Shown once: only its hash is kept. Rotating again revokes it.
    token: String,
    /// `/calendar/{token}/me.ics`.
    me_path: String,
    /// `/calendar/{token}/group/`, to which a group's `<id>.ics` is appended.
    group_path_prefix: String,
}

#[derive(Default)]
pub struct DeadlinesMutation;

#[Object]
impl DeadlinesMutation {
    async fn create_deadline(
        &self,
        ctx: &Context<'_>,
        input: CreateDeadlineInput,
    ) -> async_graphql::Result<Deadline> {
        let actor = actor(ctx)?;
        let new = NewDeadline {
            subject_id: parse_id("subjectId", &input.subject_id)?,
            title: input.title,
            rule: input.rule,
            grace_days: input.grace_days,
            met_by: input.met_by,
            on_missed: input.on_missed,
            reminders: steps(input.reminders)?,
        };
        Ok(Deadline(
            area::create_deadline(engine(ctx), actor, new).await.gql()?,
        ))
    }

    async fn update_deadline(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateDeadlineInput,
    ) -> async_graphql::Result<Deadline> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let changes = DeadlineChanges {
            title: input.title,
            rule: input.rule,
            grace_days: input.grace_days,
            met_by: input.met_by,
            on_missed: input.on_missed,
            reminders: steps(input.reminders)?,
            use_default_reminders: input.use_default_reminders,
            expected_version: input.expected_version,
            reason: input.reason,
        };
        Ok(Deadline(
            area::update_deadline(engine(ctx), actor, id, changes)
                .await
                .gql()?,
        ))
    }

    /// Cancels the deadline, its open occurrences and their unsent reminders.
    async fn cancel_deadline(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Deadline> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Deadline(
            area::cancel_deadline(engine(ctx), actor, id, reason, expected_version)
                .await
                .gql()?,
        ))
    }

    /// Marks an occurrence met (late, after its due instant), with the reason.
    async fn mark_occurrence_met(
        &self,
        ctx: &Context<'_>,
        occurrence_id: ID,
        reason: String,
    ) -> async_graphql::Result<Occurrence> {
        let actor = actor(ctx)?;
        let id = parse_id("occurrenceId", &occurrence_id)?;
        let engine = engine(ctx);
        let met = area::mark_occurrence_met(engine, actor, id, Some(reason))
            .await
            .gql()?;
        let zone = area::get_deadline(engine, actor, met.deadline_id)
            .await
            .gql()?
            .time_zone;
        Ok(Occurrence(met, zone))
    }

    /// A new calendar feed token for the caller; the old one stops working at once.
    async fn rotate_feed_token(&self, ctx: &Context<'_>) -> async_graphql::Result<FeedToken> {
        let actor = actor(ctx)?;
        let token = area::calendar::rotate_feed_token(engine(ctx), actor)
            .await
            .gql()?;
        Ok(FeedToken {
            me_path: format!("/calendar/{token}/me.ics"),
            group_path_prefix: format!("/calendar/{token}/group/"),
            token,
        })
    }
}
