//! Load generator for mail delivery (B6): starts the real govflow server in-process (a fresh SQLite
//! database, or PostgreSQL when `GOVFLOW_TEST_DATABASE_URL` is set) with the harness's in-process
//! SMTP server, and compares two ways of sending the same 5,000 plain-text messages to that server,
//! 8 at a time: govflow's mailer draining 5,000 queued outbox rows (claiming them in batches,
//! building each message, sending it, writing each outcome back), and a plain loop over lettre's
//! pooled SMTP transport sending 5,000 messages built the same way. The two run alternately,
//! baseline first, three times each, in one invocation; the queueing of the outbox rows and the
//! building of the baseline's messages happen before the clock starts, while the mailer builds its
//! messages within its measured time. Three diagnostics follow, three runs each: 5,000 rows drained
//! by a mailer with the log transport (no SMTP at all: what the database side costs); 100 messages
//! sent one at a time through the baseline's transport (the latency of one SMTP exchange); and
//! 5,000 messages over 8 connections of lettre's own SMTP client on sockets with `TCP_NODELAY` set
//! (what sending costs without the 40 ms that Nagle's algorithm and the server's delayed ACK add to
//! every message: lettre 0.11.23 writes the body and the final `.` separately and does not set
//! `TCP_NODELAY`). It prints, per run, the messages sent, how many were in flight, the wall time,
//! the messages per second and the milliseconds per message in each slot; then the median and range
//! of each path, the ratio of the medians (mailer / baseline) and whether it meets the target of
//! 0.8. It checks after each run that the SMTP server received exactly the messages sent, with
//! distinct `Message-ID`s (none for the log transport), and after each drain that every outbox row
//! is `sent`; it exits with status 1 if a send failed or a count is wrong. A ratio below the target
//! is reported, not an error.
//!
//! Run it with `cargo bench -p govflow-tests --bench mail`.

use futures::StreamExt;
use futures::future::join_all;
use govflow_engine::entities::outbox_message;
use govflow_engine::notify::mailer::{DrainReport, Mailer};
use govflow_engine::notify::outbox::{self, NewMessage};
use govflow_engine::notify::recipients::Recipient;
use govflow_engine::notify::templates::RenderedMail;
use govflow_tests::{DATABASE_ENV, TestApp};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Messages sent per run.
const MESSAGES: usize = 5_000;
/// Messages in flight at once: the mailer's own concurrency (`CONCURRENCY` in
/// `engine/src/notify/mailer.rs`), which the baseline copies.
const CONCURRENCY: usize = 8;
/// Messages of the diagnostic runs that send one message at a time through the baseline's
/// transport, to show the latency of one SMTP exchange.
const SERIAL_MESSAGES: usize = 100;
/// Runs of each path; the median is reported.
const RUNS: usize = 3;
/// The mailer's rate must be at least this share of the baseline's.
const TARGET: f64 = 0.8;
/// The server's own mailer loop waits this long between drains, so that only the measured drains
/// send anything.
const POLL_SECONDS: u64 = 3600;
/// The plain-text body of every message (about 500 bytes, like a short notice).
const BODY: &str = "Dear expert,\n\
\n\
The working group Digital Governance of the forum Digital Nations has a new document\n\
for your review: the work plan for the coming year, version 2. Please read it and send\n\
your amendments before the deadline shown on the group's page; amendments received\n\
after the deadline are kept, but the coordinator may decide not to consider them.\n\
\n\
You receive this message because you are an expert of the group. To stop receiving\n\
notices of this kind, change your notification settings on your profile page.\n\
\n\
-- \n\
govflow\n";

/// What one measured run did.
struct RunResult {
    /// `baseline`, `mailer`, or a diagnostic: `mailer (log)`, `baseline (1)`, `baseline (nodelay)`.
    path: &'static str,
    round: usize,
    /// Messages in flight at once.
    concurrency: usize,
    elapsed: Duration,
    /// Messages sent successfully, as the sender saw it.
    sent: usize,
    /// Everything that went wrong: failed sends and wrong counts.
    problems: Vec<String>,
}

impl RunResult {
    fn per_second(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// How long one message took on average in each of the `concurrency` slots.
    fn ms_per_message_per_slot(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1000.0 * self.concurrency as f64 / self.sent.max(1) as f64
    }
}

/// Queues `MESSAGES` pending rows for `recipient` in one write transaction (not measured).
async fn enqueue(app: &TestApp, recipient: &Recipient, label: &str) -> Result<(), String> {
    let txn = app
        .engine
        .begin_write()
        .await
        .map_err(|err| format!("cannot begin the enqueue transaction: {err}"))?;
    for index in 0..MESSAGES {
        outbox::enqueue(
            &txn,
            NewMessage {
                dedup_key: format!("bench:{label}:{index}"),
                recipient,
                mail: Ok(RenderedMail {
                    subject: format!("Notice {label}-{index}"),
                    body: BODY.into(),
                    html: None,
                }),
                template: "bench",
                subject_id: None,
                forum_id: None,
                group_id: None,
                now: app.engine.now(),
            },
        )
        .await
        .map_err(|err| format!("cannot enqueue message {index}: {err}"))?;
    }
    txn.commit()
        .await
        .map_err(|err| format!("cannot commit the enqueued messages: {err}"))
}

/// Checks that the SMTP server received exactly `expected` messages after the first `before`,
/// each with a `Message-ID` of its own.
fn check_received(app: &TestApp, before: usize, expected: usize, problems: &mut Vec<String>) {
    let received = app.smtp.received();
    let new = received.get(before..).unwrap_or_default();
    if new.len() != expected {
        problems.push(format!(
            "the SMTP server received {} new messages, {expected} expected",
            new.len()
        ));
    }
    let ids: BTreeSet<String> = new
        .iter()
        .filter_map(|message| message.header("Message-ID"))
        .collect();
    if ids.len() != new.len() {
        problems.push(format!(
            "{} distinct Message-IDs among {} new messages",
            ids.len(),
            new.len()
        ));
    }
}

/// Checks that every row of the outbox is `sent`, and that there are `total` rows.
async fn check_outbox(app: &TestApp, total: usize, problems: &mut Vec<String>) {
    let db = app.engine.db();
    let rows = outbox_message::Entity::find().count(db).await;
    let unsent = outbox_message::Entity::find()
        .filter(outbox_message::Column::Status.ne("sent"))
        .count(db)
        .await;
    match (rows, unsent) {
        (Ok(rows), Ok(unsent)) => {
            if rows != total as u64 {
                problems.push(format!("the outbox holds {rows} rows, {total} expected"));
            }
            if unsent != 0 {
                problems.push(format!("{unsent} outbox rows are not `sent`"));
            }
        }
        (Err(err), _) | (_, Err(err)) => problems.push(format!("cannot count the outbox: {err}")),
    }
}

/// How the baseline sends.
#[derive(Clone, Copy)]
enum Client<'a> {
    /// Through lettre's pooled transport, as the mailer does, `usize` sends at a time.
    Pooled(&'a AsyncSmtpTransport<Tokio1Executor>, usize),
    /// Over `usize` connections of lettre's own SMTP client on sockets with `TCP_NODELAY` set,
    /// opened before the clock starts, each sending its next message as soon as the previous one
    /// is answered.
    NoDelay(usize),
}

/// Opens one SMTP connection to the test server with Nagle's algorithm off.
async fn connect_no_delay(port: u16) -> Result<AsyncSmtpConnection, String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|err| format!("cannot connect: {err}"))?;
    stream
        .set_nodelay(true)
        .map_err(|err| format!("cannot set TCP_NODELAY: {err}"))?;
    AsyncSmtpConnection::connect_with_transport(Box::new(stream), &ClientId::default())
        .await
        .map_err(|err| format!("the SMTP greeting failed: {err}"))
}

/// The baseline: `count` messages built up front, then sent as `client` says; only the sending is
/// timed.
async fn run_baseline(
    app: &TestApp,
    client: Client<'_>,
    from: &Mailbox,
    to: &Mailbox,
    path: &'static str,
    round: usize,
    count: usize,
) -> RunResult {
    let mut problems = Vec::new();
    // Built as the mailer builds a plain-text row's message (`Mailer::message`).
    let messages: Vec<Message> = (0..count)
        .filter_map(|index| {
            Message::builder()
                .from(from.clone())
                .to(to.clone())
                .subject(format!("Notice {path} {round}-{index}"))
                .message_id(Some(format!("<{}@govflow>", uuid::Uuid::now_v7())))
                .date(app.engine.now().into())
                .header(ContentType::TEXT_PLAIN)
                .body(BODY.to_owned())
                .map_err(|err| problems.push(format!("message {index} cannot be built: {err}")))
                .ok()
        })
        .collect();
    let before = app.smtp.received().len();

    let (concurrency, elapsed, outcomes) = match client {
        Client::Pooled(transport, concurrency) => {
            let started = Instant::now();
            let outcomes: Vec<Result<(), String>> = futures::stream::iter(messages)
                .map(|message| async move {
                    transport
                        .send(message)
                        .await
                        .map(|_| ())
                        .map_err(|err| err.to_string())
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            (concurrency, started.elapsed(), outcomes)
        }
        Client::NoDelay(connections) => {
            let mut opened = Vec::new();
            for _ in 0..connections {
                match connect_no_delay(app.smtp.port()).await {
                    Ok(connection) => opened.push(connection),
                    Err(problem) => problems.push(problem),
                }
            }
            let queue = Mutex::new(messages.into_iter());
            let started = Instant::now();
            let workers = opened.iter_mut().map(|connection| {
                let queue = &queue;
                async move {
                    let mut outcomes = Vec::new();
                    loop {
                        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
                        let Some(message) = next else { break };
                        let sent = connection
                            .send(message.envelope(), &message.formatted())
                            .await
                            .map(|_| ())
                            .map_err(|err| err.to_string());
                        outcomes.push(sent);
                    }
                    outcomes
                }
            });
            let outcomes: Vec<Result<(), String>> =
                join_all(workers).await.into_iter().flatten().collect();
            let elapsed = started.elapsed();
            for connection in &mut opened {
                // The messages are in; a failed goodbye changes nothing measured.
                let _ = connection.quit().await;
            }
            (opened.len(), elapsed, outcomes)
        }
    };

    let sent = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    let mut failures = BTreeSet::new();
    for outcome in outcomes {
        if let Err(err) = outcome {
            failures.insert(err);
        }
    }
    if sent != count {
        problems.push(format!(
            "{} of {count} sends failed: {failures:?}",
            count - sent
        ));
    }
    check_received(app, before, count, &mut problems);
    RunResult {
        path,
        round,
        concurrency,
        elapsed,
        sent,
        problems,
    }
}

/// The mailer: queues `MESSAGES` rows (not timed), then times one drain.
async fn run_mailer(
    app: &TestApp,
    mailer: &Mailer,
    recipient: &Recipient,
    path: &'static str,
    round: usize,
    expected_smtp: usize,
    rows_after: usize,
) -> RunResult {
    let mut problems = Vec::new();
    let label = format!("{}{round}", path.replace([' ', '(', ')'], ""));
    if let Err(problem) = enqueue(app, recipient, &label).await {
        problems.push(problem);
    }
    let before = app.smtp.received().len();

    let started = Instant::now();
    let drained = mailer.drain(&app.engine).await;
    let elapsed = started.elapsed();

    let report = drained.unwrap_or_else(|err| {
        problems.push(format!("the drain failed: {err}"));
        DrainReport::default()
    });
    let expected = DrainReport {
        sent: MESSAGES as u64,
        ..DrainReport::default()
    };
    if report != expected {
        problems.push(format!(
            "the drain reported {report:?}, {expected:?} expected"
        ));
    }
    check_received(app, before, expected_smtp, &mut problems);
    check_outbox(app, rows_after, &mut problems).await;
    RunResult {
        path,
        round,
        concurrency: CONCURRENCY,
        elapsed,
        sent: usize::try_from(report.sent).unwrap_or(usize::MAX),
        problems,
    }
}

/// The median and the range of the rates of the runs of `path`.
fn summary(results: &[RunResult], path: &str) -> Option<(f64, f64, f64)> {
    let mut rates: Vec<f64> = results
        .iter()
        .filter(|result| result.path == path)
        .map(RunResult::per_second)
        .collect();
    if rates.is_empty() {
        return None;
    }
    rates.sort_by(f64::total_cmp);
    Some((rates[rates.len() / 2], rates[0], rates[rates.len() - 1]))
}

/// Runs every measurement and prints the report; returns whether every count was right.
async fn run() -> bool {
    let database = match std::env::var(DATABASE_ENV) {
        Ok(url) if !url.trim().is_empty() => "PostgreSQL",
        _ => "SQLite",
    };
    let app = TestApp::spawn_with(|raw| raw.mail.poll_seconds = POLL_SECONDS).await;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "mail delivery (B6): {database}, {cores} cores, {MESSAGES} plain-text messages per run, \
         {CONCURRENCY} at a time"
    );
    println!(
        "order: baseline then mailer, alternating, {RUNS} runs each; then, as diagnostics, {RUNS} \
         each of: drains with the log transport, baseline runs of {SERIAL_MESSAGES} messages one \
         at a time, baseline runs over connections with TCP_NODELAY"
    );

    let mail = &app.settings.raw.mail;
    let from: Mailbox = match mail.from.parse() {
        Ok(from) => from,
        Err(err) => {
            println!("mail.from `{}` is not an address: {err}", mail.from);
            return false;
        }
    };
    let to: Mailbox = match app.admin.email.parse() {
        Ok(to) => to,
        Err(err) => {
            println!("`{}` is not an address: {err}", app.admin.email);
            return false;
        }
    };
    let recipient = Recipient {
        user_id: app.admin.id,
        email: app.admin.email.clone(),
        name: "Test Administrator".into(),
    };
    // The same transport settings as the mailer's (`Transport::build` with `tls = "none"`).
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(app.smtp.port())
        .timeout(Some(Duration::from_secs(mail.smtp.timeout_seconds)))
        .build();
    let mut log_settings = app.settings.clone();
    log_settings.raw.mail.transport = "log".into();
    let log_mailer = match log_settings.mailer() {
        Ok(mailer) => mailer,
        Err(err) => {
            println!("the log-transport mailer cannot be built: {err}");
            return false;
        }
    };

    let mut results = Vec::new();
    let mut rows = 0;
    for round in 1..=RUNS {
        let pooled = Client::Pooled(&transport, CONCURRENCY);
        let baseline = run_baseline(&app, pooled, &from, &to, "baseline", round, MESSAGES).await;
        results.push(baseline);
        rows += MESSAGES;
        let mailer = run_mailer(
            &app,
            &app.mailer,
            &recipient,
            "mailer",
            round,
            MESSAGES,
            rows,
        );
        results.push(mailer.await);
    }
    for round in 1..=RUNS {
        rows += MESSAGES;
        let drained = run_mailer(
            &app,
            &log_mailer,
            &recipient,
            "mailer (log)",
            round,
            0,
            rows,
        );
        results.push(drained.await);
    }
    for round in 1..=RUNS {
        let serial = Client::Pooled(&transport, 1);
        let path = "baseline (1)";
        results.push(run_baseline(&app, serial, &from, &to, path, round, SERIAL_MESSAGES).await);
    }
    for round in 1..=RUNS {
        let no_delay = Client::NoDelay(CONCURRENCY);
        let path = "baseline (nodelay)";
        results.push(run_baseline(&app, no_delay, &from, &to, path, round, MESSAGES).await);
    }
    drop(app);

    println!();
    println!(
        "{:>5}  {:<18}  {:>8}  {:>11}  {:>10}  {:>9}  {:>12}",
        "run", "path", "messages", "in flight", "elapsed ms", "msg/s", "ms/msg/slot"
    );
    for result in &results {
        println!(
            "{:>5}  {:<18}  {:>8}  {:>11}  {:>10.1}  {:>9.1}  {:>12.2}",
            result.round,
            result.path,
            result.sent,
            result.concurrency,
            result.elapsed.as_secs_f64() * 1000.0,
            result.per_second(),
            result.ms_per_message_per_slot(),
        );
    }

    println!();
    for path in [
        "baseline",
        "mailer",
        "mailer (log)",
        "baseline (1)",
        "baseline (nodelay)",
    ] {
        if let Some((median, low, high)) = summary(&results, path) {
            println!("{path:<18}  median {median:>8.1} msg/s  (range {low:.1}-{high:.1})");
        }
    }
    if let (Some((baseline, ..)), Some((mailer, ..))) =
        (summary(&results, "baseline"), summary(&results, "mailer"))
    {
        let ratio = mailer / baseline.max(f64::EPSILON);
        let per_round: Vec<String> = (1..=RUNS)
            .filter_map(|round| {
                let rate = |path: &str| {
                    results
                        .iter()
                        .find(|result| result.path == path && result.round == round)
                        .map(RunResult::per_second)
                };
                Some(format!("{:.2}", rate("mailer")? / rate("baseline")?))
            })
            .collect();
        println!(
            "ratio mailer / baseline (medians): {ratio:.2}; per round: {}",
            per_round.join(", ")
        );
        println!(
            "target ratio >= {TARGET}: {}",
            if ratio >= TARGET { "met" } else { "NOT met" }
        );
    }

    let mut consistent = true;
    for result in &results {
        for problem in &result.problems {
            consistent = false;
            println!("{} run {}: {problem}", result.path, result.round);
        }
    }
    if consistent {
        println!("checks: every run sent all its messages; counts and outbox states as expected");
    }
    consistent
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread tokio runtime can be built");
    let consistent = runtime.block_on(run());
    // `process::exit` runs no destructors: shut the runtime, and the server on it, down first.
    drop(runtime);
    if !consistent {
        std::process::exit(1);
    }
}
