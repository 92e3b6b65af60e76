//! Meetings, their agendas, the member states' ballots and the decisions that close the votes:
//! `meetings`, `meeting`, `nextMeeting`, `agendaItem`, and the mutations that schedule, move,
//! start, postpone, reschedule, cancel and close a meeting, reorder its agenda, cast a ballot and
//! close a vote.

use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::errors::EngineResultExt;
use crate::graphql::forums::{Forum, MemberState};
use crate::graphql::loaders::{
    AgendaOf, BallotCountOf, BallotsOf, ForumId, MeetingId, MemberStateId, UserId,
};
use crate::graphql::users::User;
use crate::graphql::workflow::{Subject, SubjectFields, WorkflowSubject, subject_of, take};
use crate::graphql::{actor, engine, loader, parse_id, parse_id_list, parse_ids};
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, FixedOffset, Utc};
use govflow_engine::agenda::{self, AgendaItem as DomainItem, Decision as DomainDecision};
use govflow_engine::decisions::{self, Ballot as DomainBallot, NewBallot};
use govflow_engine::meetings::{self as area, Meeting as DomainMeeting, MeetingFilter};
use govflow_engine::time;
use govflow_engine::types::TimeZone;
use govflow_engine::workflow::subjects::SubjectState;
use serde_json::json;

#[derive(Clone)]
pub struct Meeting(pub DomainMeeting);

impl Meeting {
    fn local(&self, instant: DateTime<Utc>) -> DateTime<FixedOffset> {
        time::local(self.0.time_zone, instant)
    }
}

impl Subject for Meeting {
    fn subject_state(&self) -> &SubjectState {
        &self.0.workflow
    }
}

/// An agenda holds at most this many items: what the complexity of `agenda` counts.
const AGENDA_COST: usize = govflow_engine::agenda::MAX_AGENDA_ITEMS;

#[Object]
impl Meeting {
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn forum(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Forum>> {
        Ok(loader(ctx)
            .load_one(ForumId(self.0.forum_id))
            .await?
            .map(Forum))
    }
    /// The series it belongs to ("Ministerial Summit").
    async fn series(&self) -> &str {
        &self.0.series
    }
    /// Its number in the series.
    async fn number(&self) -> i32 {
        self.0.number
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn place(&self) -> Option<&str> {
        self.0.place.as_deref()
    }
    /// The IANA zone its dates are shown and counted in.
    async fn time_zone(&self) -> &str {
        self.0.time_zone.name()
    }
    async fn starts_at(&self) -> DateTime<FixedOffset> {
        self.local(self.0.starts_at)
    }
    async fn ends_at(&self) -> DateTime<FixedOffset> {
        self.local(self.0.ends_at)
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.local(self.0.created_at)
    }
    /// The proposals on its agenda, in order.
    #[graphql(complexity = "AGENDA_COST * child_complexity + 1")]
    async fn agenda(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AgendaItem>> {
        let items = loader(ctx)
            .load_one(AgendaOf(self.0.id))
            .await?
            .unwrap_or_default();
        let zone = self.0.time_zone;
        Ok(items
            .into_iter()
            .map(|item| AgendaItem(item, zone))
            .collect())
    }
    #[graphql(flatten)]
    async fn workflow(&self) -> SubjectFields {
        self.fields()
    }
}

/// One proposal on a meeting's agenda, with its ballots and decision (times in the meeting's
/// zone).
#[derive(Clone)]
pub struct AgendaItem(pub DomainItem, pub TimeZone);

#[Object]
impl AgendaItem {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// 1-based place on the agenda.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// `pending`, `decided`, `deferred` or `withdrawn`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// The proposal: a working group or an instrument.
    async fn subject(&self, ctx: &Context<'_>) -> async_graphql::Result<WorkflowSubject> {
        subject_of(ctx, &self.0.subject_kind, self.0.subject_id).await
    }
    async fn meeting(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Meeting>> {
        Ok(loader(ctx)
            .load_one(MeetingId(self.0.meeting_id))
            .await?
            .map(Meeting))
    }
    /// How many member states have cast a ballot so far.
    async fn ballot_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(loader(ctx)
            .load_one(BallotCountOf(self.0.id))
            .await?
            .unwrap_or(0))
    }
    /// The ballots, once the vote has closed (before that, only their count is shown).
    #[graphql(complexity = "AGENDA_COST * child_complexity + 1")]
    async fn ballots(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Ballot>>> {
        if self.0.decision.is_none() {
            return Ok(None);
        }
        let ballots = loader(ctx)
            .load_one(BallotsOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(Some(
            ballots
                .into_iter()
                .map(|ballot| Ballot(ballot, self.1))
                .collect(),
        ))
    }
    /// What the member states decided, once the vote has closed.
    async fn decision(&self) -> Option<Decision> {
        self.0
            .decision
            .clone()
            .map(|decision| Decision(decision, self.1))
    }
}

/// The decision that closed a vote: the tally, and the rule and quorum it was read by.
#[derive(Clone)]
pub struct Decision(pub DomainDecision, pub TimeZone);

#[Object]
impl Decision {
    /// `passed`, `failed` or `no_quorum`.
    async fn outcome(&self) -> &str {
        &self.0.outcome
    }
    /// `consensus` or `majority`.
    async fn rule(&self) -> &str {
        &self.0.rule
    }
    /// The share of member states whose ballots make a quorum.
    async fn quorum(&self) -> f64 {
        self.0.quorum
    }
    /// The member states with `isMember` when the vote closed.
    async fn member_count(&self) -> i32 {
        self.0.member_count
    }
    async fn in_favour(&self) -> i32 {
        self.0.in_favour
    }
    async fn against(&self) -> i32 {
        self.0.against
    }
    async fn abstain(&self) -> i32 {
        self.0.abstain
    }
    async fn objections(&self) -> i32 {
        self.0.objections
    }
    /// When the vote closed, in the meeting's zone.
    async fn decided_at(&self) -> DateTime<FixedOffset> {
        time::local(self.1, self.0.decided_at)
    }
    /// The coordinator who closed the vote.
    async fn decided_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.decided_by {
            Some(id) => Ok(loader(ctx).load_one(UserId(id)).await?.map(User)),
            None => Ok(None),
        }
    }
    async fn meeting(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Meeting>> {
        Ok(loader(ctx)
            .load_one(MeetingId(self.0.meeting_id))
            .await?
            .map(Meeting))
    }
    async fn agenda_item_id(&self) -> ID {
        ID(self.0.agenda_item_id.to_string())
    }
}

/// A member state's ballot.
#[derive(Clone)]
pub struct Ballot(pub DomainBallot, pub TimeZone);

#[Object]
impl Ballot {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn agenda_item_id(&self) -> ID {
        ID(self.0.agenda_item_id.to_string())
    }
    async fn member_state(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<MemberState>> {
        Ok(loader(ctx)
            .load_one(MemberStateId(self.0.member_state_id))
            .await?
            .map(MemberState))
    }
    /// `in_favour`, `against`, `abstain` or `object`.
    async fn choice(&self) -> &str {
        &self.0.choice
    }
    /// The representative who cast it (or last changed it).
    async fn cast_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loader(ctx)
            .load_one(UserId(self.0.cast_by))
            .await?
            .map(User))
    }
    async fn cast_at(&self) -> DateTime<FixedOffset> {
        time::local(self.1, self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<FixedOffset> {
        time::local(self.1, self.0.updated_at)
    }
}

#[derive(InputObject)]
pub struct ScheduleMeetingInput {
    pub forum_id: ID,
    /// The series ("Ministerial Summit", "CEPA session").
    pub series: String,
    /// For a series that started before govflow; otherwise the highest number + 1.
    pub number: Option<i32>,
    /// Defaults to "9th Ministerial Summit".
    pub title: Option<String>,
    pub place: Option<String>,
    /// IANA zone; defaults to the forum's.
    pub time_zone: Option<String>,
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
    pub reason: Option<String>,
}

#[derive(Default)]
pub struct MeetingsQuery;

#[Object]
impl MeetingsQuery {
    async fn meeting(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Meeting> {
        actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Meeting(area::get_meeting(engine(ctx), id).await.gql()?))
    }

    /// Meetings by start: of a forum, a series, a state, and those overlapping `from`–`to`.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn meetings(
        &self,
        ctx: &Context<'_>,
        forum_id: Option<ID>,
        series: Option<String>,
        state: Option<String>,
        from: Option<DateTime<FixedOffset>>,
        to: Option<DateTime<FixedOffset>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Meeting>> {
        actor(ctx)?;
        let filter = MeetingFilter {
            forum_id: parse_ids("forumId", forum_id.as_ref())?,
            series,
            from: from.map(|at| at.with_timezone(&Utc)),
            to: to.map(|at| at.with_timezone(&Utc)),
            state,
        };
        let page = area::list_meetings(engine(ctx), &filter, page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, Meeting))
    }

    /// The next meeting of a series: its earliest planned or postponed meeting that has not
    /// started.
    async fn next_meeting(
        &self,
        ctx: &Context<'_>,
        forum_id: ID,
        series: String,
    ) -> async_graphql::Result<Option<Meeting>> {
        actor(ctx)?;
        let forum_id = parse_id("forumId", &forum_id)?;
        Ok(area::next_of_series(engine(ctx), forum_id, &series)
            .await
            .gql()?
            .map(Meeting))
    }

    async fn agenda_item(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<AgendaItem> {
        actor(ctx)?;
        let id = parse_id("id", &id)?;
        item_with_zone(ctx, agenda::get_item(engine(ctx), id).await.gql()?).await
    }
}

async fn item_with_zone(ctx: &Context<'_>, item: DomainItem) -> async_graphql::Result<AgendaItem> {
    let zone = area::get_meeting(engine(ctx), item.meeting_id)
        .await
        .gql()?
        .time_zone;
    Ok(AgendaItem(item, zone))
}

/// Takes a meeting transition and returns the meeting as it now is.
async fn take_on_meeting(
    ctx: &Context<'_>,
    id: &ID,
    name: &str,
    reason: Option<String>,
    expected_version: Option<i32>,
    input: serde_json::Value,
) -> async_graphql::Result<Meeting> {
    let meeting_id = take(ctx, id, name, reason, expected_version, input)
        .await?
        .instance
        .subject_id;
    Ok(Meeting(
        area::get_meeting(engine(ctx), meeting_id).await.gql()?,
    ))
}

#[derive(Default)]
pub struct MeetingsMutation;

#[Object]
impl MeetingsMutation {
    /// Schedules a meeting of a forum's series (creation transition `schedule`; forum
    /// coordinators), numbered highest + 1 unless `number` is given.
    async fn schedule_meeting(
        &self,
        ctx: &Context<'_>,
        input: ScheduleMeetingInput,
    ) -> async_graphql::Result<Meeting> {
        let actor = actor(ctx)?;
        let meeting = area::schedule_meeting(
            engine(ctx),
            actor,
            area::NewMeeting {
                forum_id: parse_id("forumId", &input.forum_id)?,
                series: input.series,
                number: input.number,
                title: input.title,
                place: input.place,
                time_zone: input.time_zone,
                starts_at: input.starts_at.with_timezone(&Utc),
                ends_at: input.ends_at.with_timezone(&Utc),
                reason: input.reason,
            },
        )
        .await
        .gql()?;
        Ok(Meeting(meeting))
    }

    /// Moves a planned meeting: one history row with the old and new times, a notice to the
    /// participants, and whatever counts from the meeting re-timed, in one transaction.
    async fn move_meeting(
        &self,
        ctx: &Context<'_>,
        id: ID,
        starts_at: DateTime<FixedOffset>,
        ends_at: DateTime<FixedOffset>,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Meeting> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let meeting = area::move_meeting(
            engine(ctx),
            actor,
            id,
            starts_at.with_timezone(&Utc),
            ends_at.with_timezone(&Utc),
            reason,
            expected_version,
        )
        .await
        .gql()?;
        Ok(Meeting(meeting))
    }

    /// `start`: the meeting is in session and the member states vote.
    async fn start_meeting(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Meeting> {
        take_on_meeting(ctx, &id, "start", reason, expected_version, json!(null)).await
    }

    /// `postpone`: off the calendar until rescheduled.
    async fn postpone_meeting(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Meeting> {
        take_on_meeting(ctx, &id, "postpone", reason, expected_version, json!(null)).await
    }

    /// `reschedule`: a postponed meeting gets new dates and is planned again.
    async fn reschedule_meeting(
        &self,
        ctx: &Context<'_>,
        id: ID,
        starts_at: DateTime<FixedOffset>,
        ends_at: DateTime<FixedOffset>,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Meeting> {
        let input = json!({ "startsAt": starts_at.to_rfc3339(), "endsAt": ends_at.to_rfc3339() });
        take_on_meeting(ctx, &id, "reschedule", reason, expected_version, input).await
    }

    /// `cancel` (a reason is required).
    async fn cancel_meeting(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Meeting> {
        take_on_meeting(ctx, &id, "cancel", reason, expected_version, json!(null)).await
    }

    /// `close`: the meeting is held; refused while a vote on its agenda is open
    /// (`votes_closed`).
    async fn close_meeting(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Meeting> {
        take_on_meeting(ctx, &id, "close", reason, expected_version, json!(null)).await
    }

    /// Sets the order of a meeting's agenda: `itemIds` names each of its items once.
    async fn reorder_agenda(
        &self,
        ctx: &Context<'_>,
        meeting_id: ID,
        item_ids: Vec<ID>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Meeting> {
        let actor = actor(ctx)?;
        let meeting_id = parse_id("meetingId", &meeting_id)?;
        let item_ids = parse_id_list("itemIds", &item_ids, agenda::MAX_AGENDA_ITEMS)?;
        let meeting =
            agenda::reorder_agenda(engine(ctx), actor, meeting_id, item_ids, expected_version)
                .await
                .gql()?;
        Ok(Meeting(meeting))
    }

    /// Casts (or changes) a member state's ballot on an agenda item while the meeting is in
    /// session: `in_favour`, `against`, `abstain` or `object`. Only that state's representatives,
    /// and only for a member state.
    async fn cast_ballot(
        &self,
        ctx: &Context<'_>,
        agenda_item_id: ID,
        member_state_id: ID,
        choice: String,
    ) -> async_graphql::Result<Ballot> {
        let actor = actor(ctx)?;
        let ballot = decisions::cast_ballot(
            engine(ctx),
            actor,
            NewBallot {
                agenda_item_id: parse_id("agendaItemId", &agenda_item_id)?,
                member_state_id: parse_id("memberStateId", &member_state_id)?,
                choice,
            },
        )
        .await
        .gql()?;
        let zone = item_with_zone(
            ctx,
            agenda::get_item(engine(ctx), ballot.agenda_item_id)
                .await
                .gql()?,
        )
        .await?
        .1;
        Ok(Ballot(ballot, zone))
    }

    /// Closes the vote on an agenda item (forum coordinators): records the tally under the
    /// forum's rule and takes what it calls for on the proposal (approve and activate, adopt, or
    /// reject). `expectedVersion` is the proposal's.
    async fn close_vote(
        &self,
        ctx: &Context<'_>,
        agenda_item_id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<AgendaItem> {
        let actor = actor(ctx)?;
        let item_id = parse_id("agendaItemId", &agenda_item_id)?;
        let item = decisions::close_vote(engine(ctx), actor, item_id, reason, expected_version)
            .await
            .gql()?;
        item_with_zone(ctx, item).await
    }
}
