//! The registry of effects a transition may have. Effects write rows in the transition's own
//! database transaction, so they happen with it or not at all.
//!
//! `notify`: render a template for every user holding a role on the subject and queue the e-mails.

use crate::kernel::actor::SubjectScope;
use crate::kernel::engine::Engine;
use crate::kernel::error::EngineResult;
use crate::notify::outbox::{self, NewMessage};
use crate::notify::recipients::{self, Recipient};
use crate::workflow::EffectDef;
use crate::workflow::subjects::SubjectInfo;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use serde_json::json;
use std::collections::BTreeSet;
use uuid::Uuid;

/// What happened, as the effects and their templates see it.
pub struct EffectContext<'a> {
    pub txn: &'a DatabaseTransaction,
    pub subject_id: Uuid,
    pub subject: &'a SubjectInfo,
    pub transition: &'a str,
    pub from_state: &'a str,
    pub to_state: &'a str,
    pub actor_name: &'a str,
    pub reason: Option<&'a str>,
    pub history_id: Uuid,
    pub at: DateTime<Utc>,
}

pub async fn run_all(
    engine: &Engine,
    effects: &[EffectDef],
    context: &EffectContext<'_>,
) -> EngineResult<()> {
    // Two effects may name the same template for overlapping roles: one person gets one copy.
    let mut queued: BTreeSet<(String, Uuid)> = BTreeSet::new();
    for effect in effects {
        match effect {
            EffectDef::Notify { role, template } => {
                notify_role(engine, role, template, context, &mut queued).await?;
            }
        }
    }
    Ok(())
}

/// Queues `template` for every user holding `role` on the subject, skipping those in `queued`.
pub async fn notify_role(
    engine: &Engine,
    role: &str,
    template: &str,
    context: &EffectContext<'_>,
    queued: &mut BTreeSet<(String, Uuid)>,
) -> EngineResult<()> {
    notify_holders(
        engine,
        role,
        &context.subject.scope,
        template,
        context,
        queued,
    )
    .await
}

/// Queues `template` for every user holding `role` in `scope` (which may be another than the
/// subject's: the chairs of a group on a meeting's agenda), skipping those in `queued`.
pub async fn notify_holders(
    engine: &Engine,
    role: &str,
    scope: &SubjectScope,
    template: &str,
    context: &EffectContext<'_>,
    queued: &mut BTreeSet<(String, Uuid)>,
) -> EngineResult<()> {
    let recipients = recipients::users_holding(context.txn, role, scope).await?;
    queue_each(engine, recipients, template, context, queued).await
}

/// Queues `template` for the users named, skipping those in `queued`.
pub async fn notify_users(
    engine: &Engine,
    user_ids: &[Uuid],
    template: &str,
    context: &EffectContext<'_>,
    queued: &mut BTreeSet<(String, Uuid)>,
) -> EngineResult<()> {
    let recipients = recipients::users_by_id(context.txn, user_ids).await?;
    queue_each(engine, recipients, template, context, queued).await
}

async fn queue_each(
    engine: &Engine,
    recipients: Vec<Recipient>,
    template: &str,
    context: &EffectContext<'_>,
    queued: &mut BTreeSet<(String, Uuid)>,
) -> EngineResult<()> {
    for recipient in recipients {
        if queued.insert((template.to_owned(), recipient.user_id)) {
            notify(engine, template, &recipient, context).await?;
        }
    }
    Ok(())
}

async fn notify(
    engine: &Engine,
    template: &str,
    recipient: &Recipient,
    context: &EffectContext<'_>,
) -> EngineResult<()> {
    let zone = context.subject.time_zone;
    let local = context.at.with_timezone(&zone.tz());
    let rendered = engine.templates().render(
        template,
        &json!({
            "subject": context.subject.fields,
            "forum": context.subject.forum,
            "transition": context.transition,
            "from_state": context.from_state,
            "to_state": context.to_state,
            "actor": { "name": context.actor_name },
            "reason": context.reason,
            "at": format!("{} ({})", local.format("%Y-%m-%d %H:%M %:z"), zone.name()),
            "recipient": { "name": recipient.name, "email": recipient.email },
        }),
    );
    if let Err(err) = &rendered {
        tracing::error!(template, "an e-mail could not be rendered: {err}");
    }
    outbox::enqueue(
        context.txn,
        NewMessage {
            dedup_key: format!(
                "transition:{}:{}:{}",
                context.history_id, template, recipient.user_id
            ),
            recipient,
            mail: rendered.map_err(|err| err.to_string()),
            template,
            subject_id: Some(context.subject_id),
            forum_id: context.subject.scope.forum_id,
            group_id: context.subject.scope.group_id,
            now: context.at,
        },
    )
    .await
}
