//! The mailer: delivers the outbox. A row in the outbox is a promise (DECISIONS §10): it is sent,
//! or it ends in the dead letters with the reason, and it survives restarts until then.
//!
//! Each round claims a batch of due rows in one short write transaction (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, so several instances share the work without waiting on each other;
//! SQLite's single writer serialises the claims), marks them `sending` until a lease expires and
//! counts the attempt. The messages are then sent outside any transaction, a few at a time, and
//! each outcome is written back only if the row is still this claim's (same attempt, still
//! `sending`): an instance that crashed or stalled past its lease loses the row to whoever
//! claims it next, and cannot overwrite that newer outcome. A crash after the server accepted
//! the message but before it was marked sent delivers it again, with the same `Message-ID`, so
//! the receiver can drop the copy: delivery is at least once, exactly once whenever SMTP answers.

use crate::kernel::engine::Engine;
use crate::kernel::error::EngineResult;
use crate::notify::transport::{SendFailure, Transport, TransportConfig};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use futures::StreamExt;
use govflow_entities::outbox_message;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, header::ContentType};
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::future::Future;
use std::sync::Arc;
use tracing::Instrument;

/// The `[mail]` settings the mailer runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The `From` of every message, e.g. `govflow <govflow@example.org>`.
    pub from: String,
    pub transport: TransportConfig,
    /// How long a message is retried before it goes to the dead letters.
    pub max_retry_hours: u32,
    /// How long an idle mailer waits before it looks for due messages again.
    pub poll: std::time::Duration,
}

/// Rows claimed per round, and sent at once within a round.
const BATCH: u64 = 32;
const CONCURRENCY: usize = 8;

/// How long a claim holds. A round sends its batch in `BATCH / CONCURRENCY` waves, each bounded
/// by the SMTP time-out; the lease outlasts that many times over, so a healthy instance never
/// loses a row it is still sending.
fn lease(smtp_timeout: std::time::Duration) -> Duration {
    let waves = (BATCH as u32).div_ceil(CONCURRENCY as u32) + 1;
    Duration::from_std(smtp_timeout * waves * 2).unwrap_or(Duration::minutes(10))
}

/// The first retry waits a minute, each next one twice as long, up to an hour, ±20 % so that
/// messages that failed together do not all return together.
fn backoff(attempts: i32) -> Duration {
    let doublings = Ord::min(u32::try_from(attempts.saturating_sub(1)).unwrap_or(0), 6);
    let base = Ord::min(60_i64 << doublings, 3600);
    let jitter = rand::rng().random_range(0.8..=1.2);
    Duration::milliseconds((base as f64 * jitter * 1000.0) as i64)
}

/// What one drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub sent: u64,
    pub retrying: u64,
    pub dead: u64,
    /// Outcomes not written because the claim had passed to another mailer.
    pub lost: u64,
}

impl DrainReport {
    fn add(&mut self, other: DrainReport) {
        self.sent += other.sent;
        self.retrying += other.retrying;
        self.dead += other.dead;
        self.lost += other.lost;
    }
}

#[derive(Clone, Debug)]
pub struct Mailer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    transport: Transport,
    from: Mailbox,
    max_retry: Duration,
    lease: Duration,
    poll: std::time::Duration,
}

impl Mailer {
    /// A mailer for these settings; a setting it cannot use is refused as (key, problem).
    pub fn new(config: &MailConfig) -> Result<Mailer, (String, String)> {
        let from: Mailbox = config.from.parse().map_err(|err| {
            (
                "mail.from".to_owned(),
                format!("`{}` is not an address: {err}", config.from),
            )
        })?;
        let transport = Transport::build(&config.transport)?;
        let smtp_timeout = match &config.transport {
            TransportConfig::Smtp(smtp) => smtp.timeout,
            _ => std::time::Duration::from_secs(30),
        };
        Ok(Mailer {
            inner: Arc::new(Inner {
                transport,
                from,
                max_retry: Duration::hours(i64::from(config.max_retry_hours)),
                lease: lease(smtp_timeout),
                poll: config.poll,
            }),
        })
    }

    /// Delivers what is due now, round after round, until nothing due is left.
    pub async fn drain(&self, engine: &Engine) -> EngineResult<DrainReport> {
        self.drain_until(engine, || false).await
    }

    /// Like [`Mailer::drain`], but stops between rounds once `stop` says so.
    async fn drain_until(
        &self,
        engine: &Engine,
        stop: impl Fn() -> bool,
    ) -> EngineResult<DrainReport> {
        let mut report = DrainReport::default();
        while !stop() {
            let claimed = claim(engine, self.inner.lease).await?;
            if claimed.is_empty() {
                break;
            }
            let round = futures::stream::iter(claimed)
                .map(|row| self.deliver(row))
                .buffer_unordered(CONCURRENCY)
                .collect::<Vec<_>>()
                .await;
            report.add(settle(engine, round, self.inner.max_retry).await?);
        }
        Ok(report)
    }

    /// Runs until `shutdown` resolves: drains, waits `poll`, drains again. A round under way when
    /// shutdown comes is finished (its outcomes written); no new round starts, and the wait
    /// between rounds ends at once.
    pub async fn run(&self, engine: Engine, shutdown: impl Future<Output = ()>) {
        let stopping = std::sync::atomic::AtomicBool::new(false);
        let woken = tokio::sync::Notify::new();
        let stop = || stopping.load(std::sync::atomic::Ordering::Relaxed);
        let work = async {
            while !stop() {
                if let Err(err) = self.drain_until(&engine, stop).await {
                    tracing::warn!("the mailer could not read the outbox: {err}");
                }
                tokio::select! {
                    () = tokio::time::sleep(self.inner.poll) => {}
                    () = woken.notified() => {}
                }
            }
        };
        let signal = async {
            shutdown.await;
            stopping.store(true, std::sync::atomic::Ordering::Relaxed);
            woken.notify_one();
        };
        tokio::join!(work, signal);
    }

    /// Sends one claimed row, in a span of its own; the round's outcomes are written together.
    async fn deliver(
        &self,
        row: outbox_message::Model,
    ) -> (outbox_message::Model, Result<(), SendFailure>) {
        let span = tracing::info_span!(
            "send_mail",
            id = %row.id,
            attempt = row.attempts,
            outcome = tracing::field::Empty
        );
        let sent = async {
            let sent = match self.message(&row) {
                Ok(message) => self.inner.transport.send(message).await,
                Err(failure) => Err(failure),
            };
            match &sent {
                Ok(()) => {
                    tracing::Span::current().record("outcome", "sent");
                }
                Err(failure) => {
                    tracing::info!(
                        permanent = failure.permanent,
                        "not delivered: {}",
                        failure.reason
                    );
                    tracing::Span::current().record("outcome", "failed");
                }
            }
            sent
        }
        .instrument(span)
        .await;
        (row, sent)
    }

    /// The message of a row: a bad address is a permanent failure of this row only.
    fn message(&self, row: &outbox_message::Model) -> Result<Message, SendFailure> {
        let to: Mailbox = row.recipient_email.parse().map_err(|err| {
            SendFailure::permanent(format!(
                "the address `{}` cannot be used: {err}",
                row.recipient_email
            ))
        })?;
        let builder = Message::builder()
            .from(self.inner.from.clone())
            .to(to)
            .subject(row.subject_line.clone())
            .message_id(Some(row.message_id.clone()))
            .date(row.created_at.into());
        let built = match &row.body_html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                row.body.clone(),
                html.clone(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(row.body.clone()),
        };
        built.map_err(|err| SendFailure::permanent(format!("the message cannot be built: {err}")))
    }
}

/// Claims a batch of due rows: queued or retrying rows whose time has come, and rows whose
/// sender's lease ran out.
async fn claim(engine: &Engine, lease: Duration) -> EngineResult<Vec<outbox_message::Model>> {
    let now = engine.now();
    let txn = engine.begin_write().await?;
    let due = Condition::any()
        .add(
            Condition::all()
                .add(outbox_message::Column::Status.eq("pending"))
                .add(outbox_message::Column::NextAttemptAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(outbox_message::Column::Status.eq("sending"))
                .add(outbox_message::Column::LeaseUntil.lt(now)),
        );
    let rows = outbox_message::Entity::find()
        .filter(due)
        .order_by_asc(outbox_message::Column::NextAttemptAt)
        .order_by_asc(outbox_message::Column::Id)
        .limit(BATCH)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&txn)
        .await?;
    if rows.is_empty() {
        txn.commit().await?;
        return Ok(rows);
    }
    // The lease's instant is this claim's token: every outcome is written only under it, so it
    // is kept at a precision both databases store exactly.
    let until = (now + lease).trunc_subsecs(3);
    outbox_message::Entity::update_many()
        .col_expr(outbox_message::Column::Status, Expr::value("sending"))
        .col_expr(outbox_message::Column::LeaseUntil, Expr::value(until))
        .col_expr(
            outbox_message::Column::Attempts,
            Expr::col(outbox_message::Column::Attempts).add(1),
        )
        .filter(outbox_message::Column::Id.is_in(rows.iter().map(|row| row.id)))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(rows
        .into_iter()
        .map(|row| outbox_message::Model {
            status: "sending".into(),
            lease_until: Some(until),
            attempts: row.attempts + 1,
            ..row
        })
        .collect())
}

/// Writes the outcomes of a round in one transaction, each only where the row is still this
/// claim's (still `sending`, under the lease this claim set): the delivered rows in one statement,
/// each failure in its own (its error and next attempt are its own).
async fn settle(
    engine: &Engine,
    round: Vec<(outbox_message::Model, Result<(), SendFailure>)>,
    max_retry: Duration,
) -> EngineResult<DrainReport> {
    let now = engine.now();
    let mut report = DrainReport::default();
    let mine = |row: &outbox_message::Model| {
        Condition::all()
            .add(outbox_message::Column::Status.eq("sending"))
            .add(outbox_message::Column::LeaseUntil.eq(row.lease_until))
    };
    let (delivered, failed): (Vec<_>, Vec<_>) =
        round.into_iter().partition(|(_, sent)| sent.is_ok());
    let txn = engine.begin_write().await?;
    if let Some((first, _)) = delivered.first() {
        let written = outbox_message::Entity::update_many()
            .col_expr(outbox_message::Column::Status, Expr::value("sent"))
            .col_expr(outbox_message::Column::SentAt, Expr::value(now))
            .col_expr(
                outbox_message::Column::LastError,
                Expr::value(None::<String>),
            )
            .col_expr(
                outbox_message::Column::LeaseUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .filter(outbox_message::Column::Id.is_in(delivered.iter().map(|(row, _)| row.id)))
            .filter(mine(first))
            .exec(&txn)
            .await?;
        report.sent = written.rows_affected;
        report.lost += delivered.len() as u64 - written.rows_affected;
    }
    for (row, sent) in failed {
        let Err(failure) = sent else { continue };
        let next = now + backoff(row.attempts);
        let window_start = row.retry_since.unwrap_or(row.created_at);
        let (dead, reason) = if failure.permanent {
            (true, failure.reason)
        } else if next > window_start + max_retry {
            let reason = format!(
                "gave up after {} attempts over {} hours: {}",
                row.attempts,
                max_retry.num_hours(),
                failure.reason
            );
            (true, reason)
        } else {
            (false, failure.reason)
        };
        let update = outbox_message::Entity::update_many()
            .col_expr(outbox_message::Column::LastError, Expr::value(reason))
            .col_expr(
                outbox_message::Column::LeaseUntil,
                Expr::value(None::<DateTime<Utc>>),
            );
        let update = if dead {
            update.col_expr(outbox_message::Column::Status, Expr::value("dead"))
        } else {
            update
                .col_expr(outbox_message::Column::Status, Expr::value("pending"))
                .col_expr(outbox_message::Column::NextAttemptAt, Expr::value(next))
        };
        let written = update
            .filter(outbox_message::Column::Id.eq(row.id))
            .filter(mine(&row))
            .exec(&txn)
            .await?;
        match (written.rows_affected, dead) {
            (0, _) => report.lost += 1,
            (_, true) => report.dead += 1,
            (_, false) => report.retrying += 1,
        }
    }
    txn.commit().await?;
    if report.lost > 0 {
        tracing::warn!(
            lost = report.lost,
            "claims on e-mails ran out before their outcomes were written; the newer claims' stand"
        );
    }
    let metrics = engine.metrics();
    metrics.mail_sent.inc_by(report.sent);
    metrics.mail_retried.inc_by(report.retrying);
    metrics.mail_dead.inc_by(report.dead);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_to_an_hour_with_jitter() {
        for (attempts, base) in [
            (1, 60),
            (2, 120),
            (3, 240),
            (6, 1920),
            (7, 3600),
            (40, 3600),
        ] {
            for _ in 0..50 {
                let delay = backoff(attempts).num_milliseconds() as f64 / 1000.0;
                assert!(
                    (base as f64 * 0.8..=base as f64 * 1.2).contains(&delay),
                    "attempt {attempts}: {delay} s is not within 20 % of {base} s"
                );
            }
        }
    }

    #[test]
    fn a_lease_outlasts_every_wave_of_a_round() {
        let timeout = std::time::Duration::from_secs(30);
        let waves = BATCH.div_ceil(CONCURRENCY as u64) as i64;
        assert!(lease(timeout) > Duration::seconds(30 * waves));
    }
}
