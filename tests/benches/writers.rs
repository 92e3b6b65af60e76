//! Load generator for concurrent writers: starts the real govflow server in-process (a fresh
//! SQLite database, or PostgreSQL when `GOVFLOW_TEST_DATABASE_URL` is set) and, for each
//! concurrency level N, has N writers each send 4 sequential `createMemberState` mutations into a
//! forum of that level's own. It prints, per level, the writes sent, how many succeeded and
//! failed, the wall time, the successful writes per second and their ratio to the N=1 baseline
//! of the same run; then the errors seen, by code and by distinct message, with those mentioning
//! `locked` counted apart. It exits with status 1 if any write failed, or if the member states
//! stored do not match the successes.
//!
//! Run it with `cargo bench -p govflow-tests --bench writers`.

use futures::future::join_all;
use govflow_tests::{DATABASE_ENV, TestApp};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The concurrency levels, in order; the first is the baseline of the ratios.
const LEVELS: [usize; 4] = [1, 16, 64, 256];
/// Sequential writes each writer sends.
const WRITES_PER_WRITER: usize = 4;
/// Writers of the warm-up, which is not measured.
const WARM_UP_WRITERS: usize = 16;
/// Most distinct error messages printed.
const MESSAGES_SHOWN: usize = 20;
/// Longest the client waits for one response.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest the whole run may take; writes not finished by then count as failed.
const RUN_BUDGET: Duration = Duration::from_secs(90);

const CREATE_MEMBER_STATE: &str =
    "mutation($input: CreateMemberStateInput!) { createMemberState(input: $input) { id } }";

/// How one write ended: `Ok(())`, or the reason it failed.
type Outcome = Result<(), String>;

/// What one level measured.
struct LevelResult {
    level: usize,
    writes: usize,
    ok: usize,
    elapsed: Duration,
    /// Distinct failure descriptions, with how often each was seen.
    errors: BTreeMap<String, usize>,
    /// Member states stored in the level's forum, when they could be counted.
    stored: Option<usize>,
    /// Whether every writer finished before the run budget was spent. When not, writes the
    /// client gave up on may still be stored, so the stored rows are not checked.
    complete: bool,
}

impl LevelResult {
    fn failed(&self) -> usize {
        self.writes - self.ok
    }

    fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// The member-state code of write `index` of `level`: unique within the level's forum, and at most
/// 9 characters (`W256-1023`), within the 2-10 characters of `[A-Z0-9-]` the engine accepts.
fn code_of(level: usize, index: usize) -> String {
    let code = format!("W{level}-{index}");
    assert!(
        (2..=10).contains(&code.len()),
        "member-state code `{code}` must be 2-10 characters"
    );
    code
}

/// Sends one `createMemberState` and classifies the answer.
async fn write(
    client: &reqwest::Client,
    endpoint: &str,
    token: &str,
    forum: &str,
    level: usize,
    index: usize,
) -> Outcome {
    let body = json!({
        "query": CREATE_MEMBER_STATE,
        "variables": { "input": {
            "forumId": forum,
            "name": format!("Writer state {level}-{index}"),
            "code": code_of(level, index),
        } },
    })
    .to_string();
    let request = async {
        let response = client
            .post(endpoint)
            .header("content-type", "application/json")
            .bearer_auth(token)
            .body(body)
            .send()
            .await
            .map_err(|err| format!("transport: {err}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|err| format!("transport: {err}"))?;
        serde_json::from_str::<Value>(&text).map_err(|_| format!("HTTP {status}: {text}"))
    };
    let response = match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Err(_) => {
            return Err(format!(
                "client timeout: no answer within {} s",
                REQUEST_TIMEOUT.as_secs()
            ));
        }
        Ok(Err(problem)) => return Err(problem),
        Ok(Ok(response)) => response,
    };
    if let Some(errors) = response.get("errors") {
        let first = &errors[0];
        let code = first["extensions"]["code"].as_str().unwrap_or("<no code>");
        let message = first["message"].as_str().unwrap_or("");
        return Err(format!("{code}: {message}"));
    }
    if response["data"]["createMemberState"]["id"].is_string() {
        Ok(())
    } else {
        Err(format!("no id in the answer: {response}"))
    }
}

/// Counts the member states of a forum.
async fn stored_member_states(app: &TestApp, forum: &str) -> Option<usize> {
    let response = app
        .gql(
            "query($id: ID!) { forum(id: $id) { memberStates { totalCount } } }",
            json!({ "id": forum }),
            Some(&app.admin),
        )
        .await;
    response["data"]["forum"]["memberStates"]["totalCount"]
        .as_u64()
        .and_then(|count| usize::try_from(count).ok())
}

/// Runs one level against a fresh forum, stopping at `deadline`.
async fn run_level(app: &TestApp, level: usize, deadline: tokio::time::Instant) -> LevelResult {
    let (forum, _) = app.forum(&format!("Writers {level}")).await;
    let endpoint = format!("{}/graphql", app.address);
    let writes = level * WRITES_PER_WRITER;
    let (sender, mut receiver) = mpsc::unbounded_channel::<Outcome>();

    let started = Instant::now();
    let writers: Vec<_> = (0..level)
        .map(|writer| {
            let client = app.client.clone();
            let endpoint = endpoint.clone();
            let token = app.admin.token.clone();
            let forum = forum.clone();
            let sender = sender.clone();
            tokio::spawn(async move {
                for step in 0..WRITES_PER_WRITER {
                    let index = writer * WRITES_PER_WRITER + step;
                    let outcome = write(&client, &endpoint, &token, &forum, level, index).await;
                    // The receiver lives until every writer has finished or been aborted.
                    let _ = sender.send(outcome);
                }
            })
        })
        .collect();
    drop(sender);

    let mut outcomes = Vec::with_capacity(writes);
    let gathered = tokio::time::timeout_at(deadline, async {
        while let Some(outcome) = receiver.recv().await {
            outcomes.push(outcome);
        }
    })
    .await;
    let elapsed = started.elapsed();
    if gathered.is_err() {
        for writer in &writers {
            writer.abort();
        }
    }
    let mut crashed = Vec::new();
    for writer in writers {
        if let Err(err) = writer.await
            && !err.is_cancelled()
        {
            crashed.push(format!("writer task failed: {err}"));
        }
    }

    let mut errors = BTreeMap::new();
    let mut ok = 0;
    for outcome in &outcomes {
        match outcome {
            Ok(()) => ok += 1,
            Err(problem) => *errors.entry(problem.clone()).or_insert(0) += 1,
        }
    }
    for problem in crashed {
        *errors.entry(problem).or_insert(0) += 1;
    }
    // Writes whose writer was aborted at the deadline, or crashed, before reporting them.
    let unfinished = writes.saturating_sub(outcomes.len());
    if unfinished > 0 {
        let problem = if gathered.is_err() {
            format!("not finished within the run budget of {RUN_BUDGET:?}")
        } else {
            "not sent: the writer task failed".to_owned()
        };
        *errors.entry(problem).or_insert(0) += unfinished;
    }
    let stored = stored_member_states(app, &forum).await;
    LevelResult {
        level,
        writes,
        ok,
        elapsed,
        errors,
        stored,
        complete: gathered.is_ok(),
    }
}

/// Runs every level and prints the report; returns whether every write succeeded.
async fn run() -> bool {
    let deadline = tokio::time::Instant::now() + RUN_BUDGET;
    let database = match std::env::var(DATABASE_ENV) {
        Ok(url) if !url.trim().is_empty() => "PostgreSQL",
        _ => "SQLite",
    };
    let app = TestApp::spawn().await;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "concurrent writers: {database}, {cores} cores, {WRITES_PER_WRITER} sequential createMemberState per writer"
    );

    // Warm-up, not measured: WARM_UP_WRITERS writers at once, each sending WRITES_PER_WRITER
    // writes, so that the server's database pool (16 connections on PostgreSQL, 8 on SQLite) is
    // open, and each connection has prepared its statements, before the first level starts.
    let (warm_forum, _) = app.forum("Writers warm-up").await;
    let endpoint = format!("{}/graphql", app.address);
    let warm_ups = (0..WARM_UP_WRITERS).map(|writer| {
        let (endpoint, forum, app) = (&endpoint, &warm_forum, &app);
        async move {
            let mut problems = Vec::new();
            for step in 0..WRITES_PER_WRITER {
                let index = writer * WRITES_PER_WRITER + step;
                if let Err(problem) =
                    write(&app.client, endpoint, &app.admin.token, forum, 0, index).await
                {
                    problems.push(problem);
                }
            }
            problems
        }
    });
    for problem in join_all(warm_ups).await.into_iter().flatten() {
        println!("warm-up write failed: {problem}");
    }

    let mut results = Vec::new();
    for level in LEVELS {
        if tokio::time::Instant::now() >= deadline {
            println!("level {level} not run: the run budget is spent");
            results.push(LevelResult {
                level,
                writes: level * WRITES_PER_WRITER,
                ok: 0,
                elapsed: Duration::ZERO,
                errors: BTreeMap::from([(
                    "not run: the run budget is spent".to_owned(),
                    level * WRITES_PER_WRITER,
                )]),
                stored: None,
                complete: false,
            });
            continue;
        }
        results.push(run_level(&app, level, deadline).await);
    }
    drop(app);

    let baseline = results
        .first()
        .map(LevelResult::per_second)
        .filter(|rate| *rate > 0.0);
    println!();
    println!(
        "{:>5}  {:>6}  {:>6}  {:>6}  {:>10}  {:>9}  {:>7}",
        "level", "writes", "ok", "failed", "elapsed ms", "writes/s", "vs N=1"
    );
    for result in &results {
        let ratio = baseline.map_or_else(
            || "-".to_owned(),
            |baseline| format!("{:.2}", result.per_second() / baseline),
        );
        println!(
            "{:>5}  {:>6}  {:>6}  {:>6}  {:>10.1}  {:>9.1}  {:>7}",
            result.level,
            result.writes,
            result.ok,
            result.failed(),
            result.elapsed.as_secs_f64() * 1000.0,
            result.per_second(),
            ratio,
        );
    }

    let mut all_errors: BTreeMap<&str, usize> = BTreeMap::new();
    for result in &results {
        for (problem, count) in &result.errors {
            *all_errors.entry(problem.as_str()).or_insert(0) += count;
        }
    }
    let locked: usize = all_errors
        .iter()
        .filter(|(problem, _)| problem.to_lowercase().contains("locked"))
        .map(|(_, count)| count)
        .sum();
    println!();
    if all_errors.is_empty() {
        println!("errors: none");
    } else {
        // The code is what precedes the first `:` (`CONFLICT`, `INTERNAL`, `transport`, ...).
        let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
        for (problem, count) in &all_errors {
            let code = problem.split_once(':').map_or(*problem, |(code, _)| code);
            *by_code.entry(code).or_insert(0) += count;
        }
        println!("errors by code:");
        for (code, count) in &by_code {
            println!("  {count:>5} x {code}");
        }
        println!(
            "distinct error messages ({}; the first {} in sorted order shown):",
            all_errors.len(),
            all_errors.len().min(MESSAGES_SHOWN)
        );
        for (problem, count) in all_errors.iter().take(MESSAGES_SHOWN) {
            println!("  {count:>5} x {problem}");
        }
    }
    println!("errors mentioning `locked`: {locked}");

    // Every write that reported success must be stored, and nothing else (2 states come with
    // the forum).
    let mut consistent = true;
    for result in &results {
        if !result.complete {
            continue;
        }
        let expected = result.ok + 2;
        if result.stored != Some(expected) {
            consistent = false;
            println!(
                "level {}: {expected} member states expected in the forum, found {}",
                result.level,
                result
                    .stored
                    .map_or_else(|| "none (query failed)".to_owned(), |n| n.to_string()),
            );
        }
    }

    consistent && results.iter().all(|result| result.failed() == 0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread tokio runtime can be built");
    let all_succeeded = runtime.block_on(run());
    // `process::exit` runs no destructors: shut the runtime, and the server on it, down first.
    drop(runtime);
    if !all_succeeded {
        std::process::exit(1);
    }
}
