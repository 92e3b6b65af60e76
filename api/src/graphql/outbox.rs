//! The outbox: the e-mails the engine has queued, sent or dead-lettered, for the coordinators who
//! answer for them.

use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::errors::EngineResultExt;
use crate::graphql::loaders::UserId;
use crate::graphql::users::User;
use crate::graphql::{actor, engine, loader, parse_id, parse_ids};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, FixedOffset};
use govflow_engine::mailbox;
use govflow_engine::mailbox::Mail;
use govflow_engine::outbox::{MailState, OutboxFilter};
use govflow_engine::time;

pub struct OutboxMessage(pub Mail);

#[Object]
impl OutboxMessage {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn recipient_email(&self) -> &str {
        &self.0.recipient_email
    }
    async fn recipient(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.recipient_user_id {
            Some(id) => Ok(loader(ctx).load_one(UserId(id)).await?.map(User)),
            None => Ok(None),
        }
    }
    /// The e-mail's subject line.
    async fn subject_line(&self) -> &str {
        &self.0.subject_line
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn template(&self) -> &str {
        &self.0.template
    }
    /// The workflow subject the message is about.
    async fn subject_id(&self) -> Option<ID> {
        self.0.subject_id.map(|id| ID(id.to_string()))
    }
    /// `pending`, `sending`, `sent` or `dead`, as stored (see `state`).
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// `queued`, `sending`, `sent`, `retrying` or `dead`.
    async fn state(&self) -> &str {
        self.0.state.as_str()
    }
    /// When the next attempt is due, for a queued or retrying message.
    async fn next_attempt_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0
            .next_attempt_at
            .map(|at| time::local(self.0.time_zone, at))
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// Kept across retries, so that a receiver can drop a duplicate.
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When the message was queued, with the offset of its group's zone (else its forum's).
    async fn created_at(&self) -> DateTime<FixedOffset> {
        time::local(self.0.time_zone, self.0.created_at)
    }
    async fn sent_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0
            .sent_at
            .map(|sent_at| time::local(self.0.time_zone, sent_at))
    }
}

/// Reads a page of the outbox for the caller.
async fn outbox_page(
    ctx: &Context<'_>,
    filter: OutboxFilter,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Conn<OutboxMessage>> {
    let actor = actor(ctx)?;
    let page = mailbox::visible_to(engine(ctx), actor, &filter, page_request(first, after)?)
        .await
        .gql()?;
    Ok(connection(page, OutboxMessage))
}

#[derive(Default)]
pub struct OutboxQuery;

#[Object]
impl OutboxQuery {
    // A resolver's arguments are the GraphQL field's arguments: they stay flat for callers.
    #[allow(clippy::too_many_arguments)]
    /// Queued, sent and dead e-mail of a group (its coordinators), a forum (forum coordinators),
    /// or all (admin); `state` is one of queued, sending, sent, retrying, dead.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn outbox(
        &self,
        ctx: &Context<'_>,
        forum_id: Option<ID>,
        group_id: Option<ID>,
        subject_id: Option<ID>,
        status: Option<String>,
        state: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<OutboxMessage>> {
        let filter = OutboxFilter {
            forum_id: parse_ids("forumId", forum_id.as_ref())?,
            group_id: parse_ids("groupId", group_id.as_ref())?,
            subject_id: parse_ids("subjectId", subject_id.as_ref())?,
            status,
            state: state
                .map(|state| MailState::parse("state", &state))
                .transpose()
                .gql()?,
        };
        outbox_page(ctx, filter, first, after).await
    }

    /// The e-mails that could not be delivered, with the reason (`lastError`).
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn dead_letters(
        &self,
        ctx: &Context<'_>,
        forum_id: Option<ID>,
        group_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<OutboxMessage>> {
        let filter = OutboxFilter {
            forum_id: parse_ids("forumId", forum_id.as_ref())?,
            group_id: parse_ids("groupId", group_id.as_ref())?,
            state: Some(MailState::Dead),
            ..OutboxFilter::default()
        };
        outbox_page(ctx, filter, first, after).await
    }
}

#[derive(Default)]
pub struct OutboxMutation;

#[Object]
impl OutboxMutation {
    /// Queues a dead letter again, due now (the forum's coordinators).
    async fn retry_dead_letter(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<OutboxMessage> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let mail = mailbox::retry_dead_letter(engine(ctx), actor, id)
            .await
            .gql()?;
        Ok(OutboxMessage(mail))
    }

    /// Queues every dead letter of a forum and its groups again; answers how many (the forum's
    /// coordinators).
    async fn retry_dead_letters(
        &self,
        ctx: &Context<'_>,
        forum_id: ID,
    ) -> async_graphql::Result<i32> {
        let actor = actor(ctx)?;
        let forum_id = parse_id("forumId", &forum_id)?;
        let count = mailbox::retry_dead_letters(engine(ctx), actor, forum_id)
            .await
            .gql()?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }
}
