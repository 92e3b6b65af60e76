//! Instruments (recommendations, resolutions) and the states adhering to them: `instruments`,
//! `instrument`, and `proposeInstrument`, `recordInstrument`, `adhereToInstrument`,
//! `abrogateInstrument`. An instrument goes through the agenda like a group's proposal
//! (`submitProposal`, `placeOnAgenda`...).

use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::errors::EngineResultExt;
use crate::graphql::forums::{Forum, MemberState};
use crate::graphql::groups::WorkingGroup;
use crate::graphql::loaders::{AdherentsOf, ForumId, GroupId, MemberStateId, UserId};
use crate::graphql::meetings::AgendaItem;
use crate::graphql::proposals;
use crate::graphql::users::User;
use crate::graphql::workflow::{Subject, SubjectFields, take};
use crate::graphql::{actor, engine, loader, parse_id, parse_id_list, parse_ids};
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use govflow_engine::instruments::{
    self as area, Adherence as DomainAdherence, Instrument as DomainInstrument, InstrumentFilter,
    InstrumentText,
};
use govflow_engine::pagination::Page;
use govflow_engine::time;
use govflow_engine::workflow::subjects::SubjectState;
use serde_json::json;

#[derive(Clone)]
pub struct Instrument(pub DomainInstrument);

impl Subject for Instrument {
    fn subject_state(&self) -> &SubjectState {
        &self.0.workflow
    }
}

/// The most co-sponsors or agenda items a proposal lists: what the complexity of those lists
/// counts.
const PROPOSAL_LIST_COST: usize = 100;

#[Object]
impl Instrument {
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// `recommendation`, `resolution`, `declaration` or `decision`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn symbol(&self) -> Option<&str> {
        self.0.symbol.as_deref()
    }
    async fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }
    async fn forum(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Forum>> {
        Ok(loader(ctx)
            .load_one(ForumId(self.0.forum_id))
            .await?
            .map(Forum))
    }
    async fn time_zone(&self) -> &str {
        self.0.time_zone.name()
    }
    /// The member state that proposed it, if a member state did.
    async fn proposing_member_state(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<MemberState>> {
        match self.0.proposing_member_state_id {
            Some(id) => Ok(loader(ctx)
                .load_one(MemberStateId(id))
                .await?
                .map(MemberState)),
            None => Ok(None),
        }
    }
    /// The group that proposed it, if a group did.
    async fn proposing_group(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<WorkingGroup>> {
        match self.0.proposing_group_id {
            Some(id) => Ok(loader(ctx).load_one(GroupId(id)).await?.map(WorkingGroup)),
            None => Ok(None),
        }
    }
    #[graphql(complexity = "PROPOSAL_LIST_COST * child_complexity + 1")]
    async fn co_sponsors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MemberState>> {
        proposals::co_sponsors(ctx, self.0.id).await
    }
    /// The effective instant of its adoption (what "within three years of adoption" counts
    /// from), in the forum's zone.
    async fn adopted_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0
            .adopted_at
            .map(|at| time::local(self.0.time_zone, at))
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        time::local(self.0.time_zone, self.0.created_at)
    }
    /// The agendas it has been on, oldest first, with the decisions taken.
    #[graphql(complexity = "PROPOSAL_LIST_COST * child_complexity + 1")]
    async fn agenda_items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AgendaItem>> {
        proposals::agenda_items(ctx, self.0.id, self.0.time_zone).await
    }
    /// The states (members or not) adhering to it, by date.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn adherents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Adherence>> {
        let request = page_request(first, after)?;
        let page = loader(ctx)
            .load_one(AdherentsOf(self.0.id, request))
            .await?
            .unwrap_or_else(|| Page::new(Vec::new(), request, 0));
        Ok(connection(page, Adherence))
    }
    #[graphql(flatten)]
    async fn workflow(&self) -> SubjectFields {
        self.fields()
    }
}

/// A state's adherence to an instrument.
#[derive(Clone)]
pub struct Adherence(pub DomainAdherence);

#[Object]
impl Adherence {
    async fn member_state(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<MemberState>> {
        Ok(loader(ctx)
            .load_one(MemberStateId(self.0.member_state_id))
            .await?
            .map(MemberState))
    }
    /// The day it adheres from.
    async fn adhered_on(&self) -> NaiveDate {
        self.0.adhered_on
    }
    async fn recorded_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.recorded_by {
            Some(id) => Ok(loader(ctx).load_one(UserId(id)).await?.map(User)),
            None => Ok(None),
        }
    }
}

#[derive(InputObject)]
pub struct ProposeInstrumentInput {
    pub forum_id: ID,
    /// `recommendation`, `resolution`, `declaration` or `decision`.
    pub kind: String,
    pub title: String,
    pub symbol: Option<String>,
    pub text: Option<String>,
    /// The proposing member state (its representatives may propose) ...
    pub proposing_member_state_id: Option<ID>,
    /// ... or the proposing group (its chairs may); exactly one of the two.
    pub proposing_group_id: Option<ID>,
    #[graphql(default)]
    pub co_sponsor_ids: Vec<ID>,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct RecordInstrumentInput {
    pub forum_id: ID,
    pub kind: String,
    pub title: String,
    pub symbol: Option<String>,
    pub text: Option<String>,
    /// When it was adopted (not in the future).
    pub adopted_at: DateTime<FixedOffset>,
    pub reason: Option<String>,
}

#[derive(Default)]
pub struct InstrumentsQuery;

#[Object]
impl InstrumentsQuery {
    async fn instrument(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Instrument> {
        actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Instrument(
            area::get_instrument(engine(ctx), id).await.gql()?,
        ))
    }

    /// Instruments by title, optionally of one forum and in one state.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn instruments(
        &self,
        ctx: &Context<'_>,
        forum_id: Option<ID>,
        state: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Instrument>> {
        actor(ctx)?;
        let filter = InstrumentFilter {
            forum_id: parse_ids("forumId", forum_id.as_ref())?,
            state,
        };
        let page = area::list_instruments(engine(ctx), &filter, page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, Instrument))
    }
}

#[derive(Default)]
pub struct InstrumentsMutation;

#[Object]
impl InstrumentsMutation {
    /// Proposes an instrument (creation transition `propose`): by a member state's
    /// representative, or by the chair of a group. It starts as a `draft`.
    async fn propose_instrument(
        &self,
        ctx: &Context<'_>,
        input: ProposeInstrumentInput,
    ) -> async_graphql::Result<Instrument> {
        let actor = actor(ctx)?;
        let co_sponsor_ids = parse_id_list(
            "coSponsorIds",
            &input.co_sponsor_ids,
            govflow_engine::proposals::MAX_CO_SPONSORS,
        )?;
        let instrument = area::propose_instrument(
            engine(ctx),
            actor,
            area::NewInstrument {
                about: InstrumentText {
                    forum_id: parse_id("forumId", &input.forum_id)?,
                    kind: input.kind,
                    title: input.title,
                    symbol: input.symbol,
                    text: input.text,
                },
                proposing_member_state_id: parse_ids(
                    "proposingMemberStateId",
                    input.proposing_member_state_id.as_ref(),
                )?,
                proposing_group_id: parse_ids(
                    "proposingGroupId",
                    input.proposing_group_id.as_ref(),
                )?,
                co_sponsor_ids,
                reason: input.reason,
            },
        )
        .await
        .gql()?;
        Ok(Instrument(instrument))
    }

    /// Records an instrument adopted before govflow (creation transition `record`; admin and
    /// forum coordinators), with the instant of its adoption.
    async fn record_instrument(
        &self,
        ctx: &Context<'_>,
        input: RecordInstrumentInput,
    ) -> async_graphql::Result<Instrument> {
        let actor = actor(ctx)?;
        let instrument = area::record_instrument(
            engine(ctx),
            actor,
            InstrumentText {
                forum_id: parse_id("forumId", &input.forum_id)?,
                kind: input.kind,
                title: input.title,
                symbol: input.symbol,
                text: input.text,
            },
            input.adopted_at.with_timezone(&Utc),
            input.reason,
        )
        .await
        .gql()?;
        Ok(Instrument(instrument))
    }

    /// Records that a state (member or not) adheres to an adopted instrument from a date (forum
    /// coordinators).
    async fn adhere_to_instrument(
        &self,
        ctx: &Context<'_>,
        instrument_id: ID,
        member_state_id: ID,
        adhered_on: NaiveDate,
    ) -> async_graphql::Result<Instrument> {
        let actor = actor(ctx)?;
        let instrument_id = parse_id("instrumentId", &instrument_id)?;
        area::adhere_to_instrument(
            engine(ctx),
            actor,
            instrument_id,
            parse_id("memberStateId", &member_state_id)?,
            adhered_on,
        )
        .await
        .gql()?;
        Ok(Instrument(
            area::get_instrument(engine(ctx), instrument_id)
                .await
                .gql()?,
        ))
    }

    /// `abrogate`: an adopted instrument is no longer in force (admin and forum coordinators; a
    /// reason is required).
    async fn abrogate_instrument(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Instrument> {
        let instrument_id = take(ctx, &id, "abrogate", reason, expected_version, json!(null))
            .await?
            .instance
            .subject_id;
        Ok(Instrument(
            area::get_instrument(engine(ctx), instrument_id)
                .await
                .gql()?,
        ))
    }
}
