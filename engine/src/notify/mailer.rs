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

use crate::kernel::db::begin_write;
use crate::kernel::engine::Engine;
use crate::kernel::error::EngineResult;
use crate::notify::transport::{SendFailure, Transport, TransportConfig};
use chrono::{DateTime, Duration, Utc};
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
                .map(|row| self.deliver(engine, row))
                .buffer_unordered(CONCURRENCY)
                .collect::<Vec<_>>()
                .await;
            for outcome in round {
                report.add(outcome?);
            }
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

    /// Sends one claimed row and writes the outcome, in a span of its own.
    async fn deliver(
        &self,
        engine: &Engine,
        row: outbox_message::Model,
    ) -> EngineResult<DrainReport> {
        let span = tracing::info_span!(
            "send_mail",
            id = %row.id,
            attempt = row.attempts,
            outcome = tracing::field::Empty
        );
        async {
            let sent = match self.message(&row) {
                Ok(message) => self.inner.transport.send(message).await,
                Err(failure) => Err(failure),
            };
            if let Err(failure) = &sent {
                tracing::info!(
                    permanent = failure.permanent,
                    "not delivered: {}",
                    failure.reason
                );
            }
            let outcome = settle(engine, &row, sent, self.inner.max_retry).await?;
            tracing::Span::current().record("outcome", outcome.as_str());
            let metrics = engine.metrics();
            let mut report = DrainReport::default();
            match outcome {
                Outcome::Sent => {
                    metrics.mail_sent.inc();
                    report.sent = 1;
                }
                Outcome::Retrying => {
                    metrics.mail_retried.inc();
                    report.retrying = 1;
                }
                Outcome::Dead => {
                    metrics.mail_dead.inc();
                    report.dead = 1;
                }
                Outcome::Lost => report.lost = 1,
            }
            tracing::debug!(outcome = outcome.as_str(), "e-mail attempt");
            Ok(report)
        }
        .instrument(span)
        .await
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
    let txn = begin_write(engine.db()).await?;
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
    let until = now + lease;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retrying,
    Dead,
    /// The claim had passed to another mailer; its outcome stands.
    Lost,
}

impl Outcome {
    fn as_str(&self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Retrying => "retrying",
            Outcome::Dead => "dead",
            Outcome::Lost => "lost",
        }
    }
}

/// Writes the outcome of one attempt, if the row is still this claim's.
async fn settle(
    engine: &Engine,
    row: &outbox_message::Model,
    sent: Result<(), SendFailure>,
    max_retry: Duration,
) -> EngineResult<Outcome> {
    let now = engine.now();
    let (outcome, update) = match sent {
        Ok(()) => (
            Outcome::Sent,
            outbox_message::Entity::update_many()
                .col_expr(outbox_message::Column::Status, Expr::value("sent"))
                .col_expr(outbox_message::Column::SentAt, Expr::value(now))
                .col_expr(
                    outbox_message::Column::LastError,
                    Expr::value(None::<String>),
                ),
        ),
        Err(failure) => {
            let next = now + backoff(row.attempts);
            let window_start = row.retry_since.unwrap_or(row.created_at);
            let (outcome, reason) = if failure.permanent {
                (Outcome::Dead, failure.reason)
            } else if next > window_start + max_retry {
                let reason = format!(
                    "gave up after {} attempts over {} hours: {}",
                    row.attempts,
                    max_retry.num_hours(),
                    failure.reason
                );
                (Outcome::Dead, reason)
            } else {
                (Outcome::Retrying, failure.reason)
            };
            let update = outbox_message::Entity::update_many()
                .col_expr(outbox_message::Column::LastError, Expr::value(reason));
            let update = if outcome == Outcome::Dead {
                update.col_expr(outbox_message::Column::Status, Expr::value("dead"))
            } else {
                update
                    .col_expr(outbox_message::Column::Status, Expr::value("pending"))
                    .col_expr(outbox_message::Column::NextAttemptAt, Expr::value(next))
            };
            (outcome, update)
        }
    };
    let txn = begin_write(engine.db()).await?;
    let written = update
        .col_expr(
            outbox_message::Column::LeaseUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(outbox_message::Column::Id.eq(row.id))
        .filter(outbox_message::Column::Status.eq("sending"))
        .filter(outbox_message::Column::Attempts.eq(row.attempts))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    if written.rows_affected == 1 {
        Ok(outcome)
    } else {
        tracing::warn!(
            id = %row.id,
            "the claim on an e-mail ran out before its outcome was written; the newer claim's stands"
        );
        Ok(Outcome::Lost)
    }
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
