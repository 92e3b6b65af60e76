//! The `govflow` command line: `serve`, `migrate`, `workflows check|apply`, `token`,
//! `admin create`, `demo` and `schema`. A bad setting exits with code 2 and names the key, and so
//! does a database that cannot be opened (the key is then `database_url`); any other failure exits
//! with code 1 and says what went wrong.
//!
//! Logging is set up once the settings are read, since `log_format` chooses its shape; it writes
//! to standard error, with colours only when that is a terminal.

use crate::auth::Authenticator;
use crate::server::{Server, StartupError, open_engine};
use crate::settings::{Overrides, Settings, SettingsError};
use clap::{Parser, Subcommand};
use govflow_engine::config::ConfigSource;
use govflow_engine::engine::{load_definitions, load_templates};
use govflow_engine::workflow::{self, store};
use govflow_engine::{Engine, SystemClock, demo, registry, users};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "govflow",
    version,
    about = "Workflow engine for intergovernmental working groups"
)]
struct Cli {
    /// Settings file (default: ./config/govflow.toml if present, else the built-in settings).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Applies pending migrations and serves GraphQL.
    Serve {
        /// Address and port to listen on, e.g. 0.0.0.0:8080 (overrides the `listen` setting).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Database URL: sqlite://FILE or postgres://USER@HOST/DB (overrides `database_url`).
        #[arg(long, value_name = "URL")]
        database: Option<String>,
        /// Loads the demo forum first (once) and prints tokens for its users.
        #[arg(long)]
        demo: bool,
    },
    /// Applies pending migrations and exits.
    Migrate {
        /// Database URL: sqlite://FILE or postgres://USER@HOST/DB (overrides `database_url`).
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
    /// Checks or applies workflow definitions.
    Workflows {
        #[command(subcommand)]
        command: WorkflowsCommand,
    },
    /// Mints a token for a user, signed with the HS256 secret (not possible with RS256 or EdDSA,
    /// whose tokens come from the identity provider).
    Token {
        /// E-mail address of an existing user; the token's `sub` is that user's id.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// How long the token lives: 30m, 8h, 7d.
        #[arg(long, default_value = "8h")]
        ttl: String,
    },
    /// Administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Loads the demo forum (once) and prints tokens for its users.
    Demo,
    /// The outbox.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Deadlines and their reminders.
    Deadlines {
        #[command(subcommand)]
        command: DeadlinesCommand,
    },
    /// Prints the GraphQL schema (SDL).
    Schema,
}

#[derive(Subcommand)]
enum WorkflowsCommand {
    /// Checks a folder of definitions: prints each error as file:line: reason (exit 1), or a summary.
    Check {
        /// A workflows folder, or a config folder holding workflows/ and templates/ (default: the
        /// configured `config_dir`).
        dir: Option<PathBuf>,
    },
    /// Checks a folder and makes it the active set in the database.
    Apply {
        /// A workflows folder, or a config folder holding workflows/ and templates/ (default: the
        /// configured `config_dir`).
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// Delivers every message that is due now, then exits (for hosts that run it from cron).
    Drain,
}

#[derive(Subcommand)]
enum DeadlinesCommand {
    /// Does what the scheduler of `serve` does, once: writes occurrences ahead, moves them due
    /// and missed, and queues the reminders that are due (sent late if their time has passed).
    Run,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Creates an administrator (or makes an existing user one).
    Create {
        /// E-mail address, the user's login; an existing user with it becomes an administrator.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// Display name.
        #[arg(long, value_name = "NAME")]
        name: String,
    },
}

/// A failure of a command, with its exit code.
enum Failure {
    Settings(SettingsError),
    Other(String),
}

impl From<SettingsError> for Failure {
    fn from(err: SettingsError) -> Self {
        Failure::Settings(err)
    }
}

impl From<StartupError> for Failure {
    fn from(err: StartupError) -> Self {
        match err {
            StartupError::Settings(err) => Failure::Settings(err),
            other => Failure::Other(other.to_string()),
        }
    }
}

impl From<govflow_engine::EngineError> for Failure {
    fn from(err: govflow_engine::EngineError) -> Self {
        Failure::Other(err.to_string())
    }
}

/// What a command printed, and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

pub fn main() -> ExitCode {
    ExitCode::from(run_process(std::env::args_os()))
}

/// What `main` does with a command line: runs it with the process's environment and logging,
/// prints what it printed, and returns the exit code.
pub fn run_process<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("govflow: cannot start the runtime: {err}");
            return 1;
        }
    };
    let outcome = runtime.block_on(execute_with(args, std::env::vars(), Logging::Install));
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    // Nothing may stay buffered: callers may end the process right after.
    let _ = std::io::stdout().flush();
    outcome.code
}

/// Whether a command sets up logging: the process does; tests that run many commands in one
/// process leave the global logger alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logging {
    Install,
    Leave,
}

/// Runs one command line with the given environment: what `main` does, minus the process (and
/// its logger).
pub async fn execute<I, T>(args: I, env: impl IntoIterator<Item = (String, String)>) -> Outcome
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    execute_with(args, env, Logging::Leave).await
}

async fn execute_with<I, T>(
    args: I,
    env: impl IntoIterator<Item = (String, String)>,
    logging: Logging,
) -> Outcome
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let text = err.render().to_string();
            return if code == 0 {
                Outcome {
                    code,
                    stdout: text,
                    stderr: String::new(),
                }
            } else {
                Outcome {
                    code,
                    stdout: String::new(),
                    stderr: text,
                }
            };
        }
    };
    let env: Vec<(String, String)> = env.into_iter().collect();
    let context = Context { env: &env, logging };
    let mut out = String::new();
    match run(cli, &context, &mut out).await {
        Ok(code) => Outcome {
            code,
            stdout: out,
            stderr: String::new(),
        },
        Err(Failure::Settings(err)) => Outcome {
            code: 2,
            stdout: out,
            stderr: format!("govflow: {err}\n"),
        },
        Err(Failure::Other(message)) => Outcome {
            code: 1,
            stdout: out,
            stderr: format!("govflow: {message}\n"),
        },
    }
}

/// What every command of one invocation shares.
struct Context<'a> {
    env: &'a [(String, String)],
    logging: Logging,
}

/// What is logged unless `RUST_LOG` says otherwise: `info`, without the migrator's own lines,
/// which would repeat the one line govflow logs for each migration it applies.
const DEFAULT_LOG_FILTER: &str = "info,sea_orm_migration=warn";

/// The log filter: `RUST_LOG` if set (still without the migrator's lines unless it names the
/// migrator), else [`DEFAULT_LOG_FILTER`].
fn log_filter() -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    match std::env::var("RUST_LOG") {
        Ok(given) if !given.trim().is_empty() => {
            let directives = if given.contains("sea_orm_migration") {
                given
            } else {
                format!("{given},sea_orm_migration=warn")
            };
            EnvFilter::try_new(directives).unwrap_or_else(|err| {
                eprintln!("govflow: RUST_LOG is not a valid filter ({err}); logging `info`");
                EnvFilter::new(DEFAULT_LOG_FILTER)
            })
        }
        _ => EnvFilter::new(DEFAULT_LOG_FILTER),
    }
}

/// Installs the process's logger on standard error, in the shape `log_format` names (the settings
/// have checked it is `text` or `json`). Text is coloured only when standard error is a terminal,
/// so that files and log collectors get no escape codes.
fn install_logging(log_format: &str) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(std::io::stderr);
    // A logger installed earlier (by an embedding program) stays; that is not an error.
    let _ = match log_format {
        "json" => builder.json().try_init(),
        _ => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

fn load_settings(
    config: Option<&Path>,
    context: &Context<'_>,
    overrides: &Overrides,
) -> Result<Settings, Failure> {
    let settings = Settings::load(config, context.env.iter().cloned(), overrides)?;
    if context.logging == Logging::Install {
        install_logging(&settings.raw.log_format);
    }
    for name in &settings.unknown_env {
        tracing::warn!("environment variable {name} names no setting; ignored");
    }
    Ok(settings)
}

async fn run(cli: Cli, context: &Context<'_>, out: &mut String) -> Result<u8, Failure> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Serve {
            listen,
            database,
            demo: with_demo,
        } => {
            let settings = load_settings(
                config,
                context,
                &Overrides {
                    listen,
                    database_url: database,
                },
            )?;
            serve(&settings, with_demo).await
        }
        Command::Migrate { database } => {
            let settings = load_settings(
                config,
                context,
                &Overrides {
                    listen: None,
                    database_url: database,
                },
            )?;
            let (_, report) = open_database(&settings).await?;
            if report.applied.is_empty() {
                line(out, "the database is up to date");
            } else {
                for name in report.applied {
                    line(out, &format!("applied {name}"));
                }
            }
            Ok(0)
        }
        Command::Workflows { command } => {
            let settings = load_settings(config, context, &Overrides::default())?;
            match command {
                WorkflowsCommand::Check { dir } => check_workflows(&settings, dir.as_deref(), out),
                WorkflowsCommand::Apply { dir } => {
                    apply_workflows(&settings, dir.as_deref(), out).await
                }
            }
        }
        Command::Token { email, ttl } => {
            let settings = load_settings(config, context, &Overrides::default())?;
            let ttl = parse_ttl(&ttl)?;
            let auth = Authenticator::from_settings(&settings)?;
            let engine = open_engine(&settings, Arc::new(SystemClock)).await?;
            let user = users::find_by_email(&engine, &email)
                .await?
                .ok_or_else(|| Failure::Other(format!("no user with e-mail {email}")))?;
            let token = auth.mint(user.id, ttl).map_err(Failure::Other)?;
            line(out, &token);
            Ok(0)
        }
        Command::Admin {
            command: AdminCommand::Create { email, name },
        } => {
            let settings = load_settings(config, context, &Overrides::default())?;
            let engine = open_engine(&settings, Arc::new(SystemClock)).await?;
            let user = users::bootstrap_admin(&engine, &email, &name).await?;
            line(
                out,
                &format!("administrator {} <{}> ({})", user.name, user.email, user.id),
            );
            Ok(0)
        }
        Command::Demo => {
            let settings = load_settings(config, context, &Overrides::default())?;
            let auth = Authenticator::from_settings(&settings)?;
            let engine = open_engine(&settings, Arc::new(SystemClock)).await?;
            out.push_str(&demo_text(&engine, &auth).await?);
            Ok(0)
        }
        Command::Schema => {
            out.push_str(&crate::graphql::sdl());
            Ok(0)
        }
        Command::Mail {
            command: MailCommand::Drain,
        } => {
            let settings = load_settings(config, context, &Overrides::default())?;
            let mailer = settings.mailer()?;
            let engine = open_engine(&settings, Arc::new(SystemClock)).await?;
            let report = mailer.drain(&engine).await?;
            line(
                out,
                &format!(
                    "sent {}, to retry {}, dead {}",
                    report.sent, report.retrying, report.dead
                ),
            );
            Ok(0)
        }
        Command::Deadlines {
            command: DeadlinesCommand::Run,
        } => {
            let settings = load_settings(config, context, &Overrides::default())?;
            let engine = open_engine(&settings, Arc::new(SystemClock)).await?;
            let report = govflow_engine::deadlines::scheduler::run_due(&engine).await?;
            line(
                out,
                &format!(
                    "reminders queued {} ({} late, {} e-mails), occurrences due {}, missed {}",
                    report.reminders_sent,
                    report.late,
                    report.messages,
                    report.fell_due,
                    report.missed
                ),
            );
            Ok(0)
        }
    }
}

async fn serve(settings: &Settings, with_demo: bool) -> Result<u8, Failure> {
    let server = Server::build(settings, Arc::new(SystemClock)).await?;
    if with_demo {
        let auth = server.authenticator();
        print!("{}", demo_text(server.engine(), &auth).await?);
    }
    println!(
        "govflow is serving GraphQL on http://{}/graphql (health: /health)",
        settings.listen
    );
    server
        .run(crate::server::shutdown_signal())
        .await
        .map_err(|err| Failure::Other(format!("the server stopped: {err}")))?;
    Ok(0)
}

async fn demo_text(engine: &Engine, auth: &Authenticator) -> Result<String, Failure> {
    let people = demo::load(engine).await?;
    let mut text = format!(
        "demo forum \"{}\" is loaded; tokens (valid 8 hours):\n",
        demo::DEMO_FORUM
    );
    for (email, _, role) in demo::DEMO_USERS {
        if let Some(user) = people.iter().find(|user| user.email == email) {
            let token = auth
                .mint(user.id, Duration::from_secs(8 * 3600))
                .map_err(Failure::Other)?;
            text.push_str(&format!("  {role:<12} {email}\n    {token}\n"));
        }
    }
    Ok(text)
}

/// Connects and migrates, for the commands that need the database but not the engine. A database
/// that cannot be opened or migrated is reported against `database_url`, as `serve` does.
async fn open_database(
    settings: &Settings,
) -> Result<
    (
        govflow_engine::db::DatabaseConnection,
        govflow_engine::db::MigrationReport,
    ),
    Failure,
> {
    let connection = govflow_engine::db::connect(settings.raw.database_url.trim())
        .await
        .map_err(|err| settings.error("database_url", err.to_string()))?;
    let report = match govflow_engine::db::migrate(&connection).await {
        Ok(report) => report,
        // A schema newer than this binary: the fix is a newer govflow, not another database.
        Err(err @ govflow_engine::EngineError::Conflict(_)) => return Err(err.into()),
        Err(err) => {
            return Err(Failure::Settings(settings.error(
                "database_url",
                format!(
                    "cannot apply the migrations: {err}; check that the user may create tables \
                     in this database"
                ),
            )));
        }
    };
    Ok((connection, report))
}

fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

fn parse_ttl(raw: &str) -> Result<Duration, Failure> {
    let raw = raw.trim();
    let (number, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(count) if seconds > 0 && count > 0 => Ok(Duration::from_secs(count * seconds)),
        _ => Err(Failure::Settings(SettingsError {
            key: "--ttl".into(),
            origin: "command line".into(),
            problem: format!("`{raw}` is not a duration like 30m, 8h or 7d"),
        })),
    }
}

/// The config source a `workflows` command reads: DIR as a config folder (with workflows/) or as
/// a workflows folder (templates then come from its sibling templates/, else the settings').
fn source_for(settings: &Settings, dir: Option<&Path>) -> (ConfigSource, Option<PathBuf>) {
    match dir {
        None => (settings.config.clone(), None),
        Some(dir) if dir.join("workflows").is_dir() => (ConfigSource::Dir(dir.to_path_buf()), None),
        Some(dir) => {
            let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
            if parent.join("templates").is_dir() {
                (ConfigSource::Dir(parent), Some(dir.to_path_buf()))
            } else {
                (settings.config.clone(), Some(dir.to_path_buf()))
            }
        }
    }
}

fn checked_set(
    settings: &Settings,
    dir: Option<&Path>,
) -> Result<workflow::Definitions, Vec<String>> {
    if let Some(dir) = dir
        && !dir.is_dir()
    {
        // Said plainly: a missing folder has no line to point at.
        let problem = if dir.exists() {
            "is not a folder"
        } else {
            "the folder does not exist"
        };
        return Err(vec![format!("{}: {problem}", dir.display())]);
    }
    let (source, workflows_dir) = source_for(settings, dir);
    let templates = load_templates(&source).map_err(|err| vec![err.to_string()])?;
    let vocabulary = registry::vocabulary(&templates).map_err(|err| vec![err.to_string()])?;
    match workflows_dir {
        Some(dir) => workflow::Definitions::load_dir(&dir, &vocabulary)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect()),
        None => load_definitions(&source, &vocabulary).map_err(|err| vec![err.to_string()]),
    }
}

fn check_workflows(
    settings: &Settings,
    dir: Option<&Path>,
    out: &mut String,
) -> Result<u8, Failure> {
    match checked_set(settings, dir) {
        Ok(set) => {
            let count = set.iter().count();
            line(out, &format!("{count} workflow definition(s) are valid:"));
            for def in set.iter() {
                line(
                    out,
                    &format!(
                        "  {} (subject `{}`): {} states, {} transitions, version {}",
                        def.name,
                        def.subject,
                        def.states.len(),
                        def.transitions.len(),
                        def.hash.get(..12).unwrap_or(&def.hash)
                    ),
                );
            }
            Ok(0)
        }
        Err(errors) => {
            for error in errors {
                line(out, &error);
            }
            Ok(1)
        }
    }
}

async fn apply_workflows(
    settings: &Settings,
    dir: Option<&Path>,
    out: &mut String,
) -> Result<u8, Failure> {
    let set = match checked_set(settings, dir) {
        Ok(set) => set,
        Err(errors) => {
            for error in errors {
                line(out, &error);
            }
            return Ok(1);
        }
    };
    let (connection, _) = open_database(settings).await?;
    let report = store::apply(&connection, &set).await?;
    for name in &report.added {
        line(out, &format!("activated {name}"));
    }
    for name in &report.retired {
        line(
            out,
            &format!("retired {name} (its running subjects keep it)"),
        );
    }
    line(
        out,
        &format!(
            "{} unchanged; running servers create new subjects under the new set from now on",
            report.unchanged.len()
        ),
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// `--help` says what every subcommand, option and argument is for.
    #[test]
    fn every_argument_has_a_description() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let generated = matches!(arg.get_id().as_str(), "help" | "version");
                if arg.get_help().is_none() && !generated {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                let sub_path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    missing.push(sub_path.clone());
                }
                walk(sub, &sub_path, missing);
            }
        }
        Cli::command().debug_assert();
        let mut missing = Vec::new();
        walk(&Cli::command(), "govflow", &mut missing);
        assert!(missing.is_empty(), "no description: {missing:?}");
    }
}
