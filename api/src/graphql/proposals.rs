//! Proposals on their way to a decision: `proposeGroup`, and for a proposed group or instrument
//! `submitProposal`, `placeOnAgenda`, `deferProposal` and `withdrawProposal`; and `concludeGroup`,
//! which ends an active group's mandate. Each is a transition of the subject (also reachable
//! through `transition`), takes `reason` and `expectedVersion` and returns the subject. What a
//! proposal of either kind shows (its co-sponsors, the agendas it has been on) is resolved here
//! for both.

use crate::graphql::errors::EngineResultExt;
use crate::graphql::forums::MemberState;
use crate::graphql::groups::WorkingGroup;
use crate::graphql::loaders::{AgendaItemsOfSubject, CoSponsorsOf, MemberStateId};
use crate::graphql::meetings::AgendaItem;
use crate::graphql::workflow::{WorkflowSubject, subject_of, take};
use crate::graphql::{actor, engine, loader, parse_id, parse_id_list, parse_ids};
use async_graphql::{Context, ID, InputObject, Object};
use govflow_engine::groups;
use govflow_engine::proposals::{self, NewProposal};
use govflow_engine::workflow::subjects;
use serde_json::json;

/// The co-sponsoring member states of a proposal.
pub(crate) async fn co_sponsors(
    ctx: &Context<'_>,
    subject_id: uuid::Uuid,
) -> async_graphql::Result<Vec<MemberState>> {
    let ids = loader(ctx)
        .load_one(CoSponsorsOf(subject_id))
        .await?
        .unwrap_or_default();
    let states = loader(ctx)
        .load_many(ids.iter().copied().map(MemberStateId))
        .await?;
    Ok(ids
        .iter()
        .filter_map(|id| states.get(&MemberStateId(*id)).cloned().map(MemberState))
        .collect())
}

/// The agenda items of a proposal, oldest first.
pub(crate) async fn agenda_items(
    ctx: &Context<'_>,
    subject_id: uuid::Uuid,
    zone: govflow_engine::types::TimeZone,
) -> async_graphql::Result<Vec<AgendaItem>> {
    Ok(loader(ctx)
        .load_one(AgendaItemsOfSubject(subject_id))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|item| AgendaItem(item, zone))
        .collect())
}

#[derive(InputObject)]
pub struct ProposeGroupInput {
    /// The proposing member state; the caller must be one of its representatives.
    pub lead_member_state_id: ID,
    pub name: String,
    pub theme: String,
    /// The user proposed to chair the group; its chair once the group is active.
    pub proposed_chair_id: Option<ID>,
    /// Member states of the forum co-sponsoring the proposal.
    #[graphql(default)]
    pub co_sponsor_ids: Vec<ID>,
    /// The draft terms of reference: version 1 of the group's terms, `proposed` until approval.
    pub terms_of_reference: String,
    /// IANA zone; defaults to the forum's.
    pub time_zone: Option<String>,
    pub reason: Option<String>,
}

/// Takes a transition on a proposal (a group or an instrument) and returns it as it now is.
async fn take_on_proposal(
    ctx: &Context<'_>,
    id: &ID,
    name: &str,
    reason: Option<String>,
    expected_version: Option<i32>,
    input: serde_json::Value,
) -> async_graphql::Result<WorkflowSubject> {
    let subject_id = take(ctx, id, name, reason, expected_version, input)
        .await?
        .instance
        .subject_id;
    let kind = subjects::kind_of(engine(ctx), subject_id).await.gql()?;
    subject_of(ctx, &kind, subject_id).await
}

#[derive(Default)]
pub struct ProposalsMutation;

#[Object]
impl ProposalsMutation {
    /// Proposes a working group (creation transition `propose`; the lead member state's
    /// representatives). It starts as a `draft`.
    async fn propose_group(
        &self,
        ctx: &Context<'_>,
        input: ProposeGroupInput,
    ) -> async_graphql::Result<WorkingGroup> {
        let actor = actor(ctx)?;
        let co_sponsor_ids = parse_id_list(
            "coSponsorIds",
            &input.co_sponsor_ids,
            proposals::MAX_CO_SPONSORS,
        )?;
        let group = proposals::propose_group(
            engine(ctx),
            actor,
            NewProposal {
                lead_member_state_id: parse_id("leadMemberStateId", &input.lead_member_state_id)?,
                name: input.name,
                theme: input.theme,
                proposed_chair_id: parse_ids("proposedChairId", input.proposed_chair_id.as_ref())?,
                co_sponsor_ids,
                terms_of_reference: input.terms_of_reference,
                time_zone: input.time_zone,
                reason: input.reason,
            },
        )
        .await
        .gql()?;
        Ok(WorkingGroup(group))
    }

    /// `submit`: the proposer hands the proposal (a group or an instrument) to the forum.
    async fn submit_proposal(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<WorkflowSubject> {
        take_on_proposal(ctx, &id, "submit", reason, expected_version, json!(null)).await
    }

    /// `place_on_agenda`: puts a submitted or deferred proposal at the end of the agenda of a
    /// planned meeting of its forum (forum coordinators).
    async fn place_on_agenda(
        &self,
        ctx: &Context<'_>,
        id: ID,
        meeting_id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<WorkflowSubject> {
        let meeting_id = parse_id("meetingId", &meeting_id)?;
        let input = json!({ "meetingId": meeting_id.to_string() });
        take_on_proposal(ctx, &id, "place_on_agenda", reason, expected_version, input).await
    }

    /// `defer`: the proposal leaves the agenda and waits for a later meeting.
    async fn defer_proposal(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<WorkflowSubject> {
        take_on_proposal(ctx, &id, "defer", reason, expected_version, json!(null)).await
    }

    /// `withdraw`: the proposer or a forum coordinator withdraws the proposal.
    async fn withdraw_proposal(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<WorkflowSubject> {
        take_on_proposal(ctx, &id, "withdraw", reason, expected_version, json!(null)).await
    }

    /// `conclude`: ends an active group's mandate (its chair or coordinators; a reason is
    /// required). A concluded group refuses new documents and amendments.
    async fn conclude_group(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<WorkingGroup> {
        let group_id = take(ctx, &id, "conclude", reason, expected_version, json!(null))
            .await?
            .instance
            .subject_id;
        Ok(WorkingGroup(
            groups::get_group(engine(ctx), group_id).await.gql()?,
        ))
    }
}
