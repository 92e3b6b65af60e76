//! The one list of subject kinds, and [`Engine::start`], which builds the engine with it. Adding
//! a subject kind is its area folder plus one line here.

use crate::areas::{
    amendments::AmendmentKind,
    deadlines::{DeadlineEvents, plan},
    groups::GroupKind,
    instruments::InstrumentKind,
    meetings::MeetingKind,
    reports::{ReportEvents, ReportKind},
    tasks::TaskKind,
};
use crate::kernel::clock::Clock;
use crate::kernel::config::ConfigSource;
use crate::kernel::engine::{Engine, StartError};
use crate::notify::templates::Templates;
use crate::workflow::subjects::{SubjectKind, SubjectKinds};
use crate::workflow::{self, Vocabulary};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Every subject kind the engine runs workflows for.
pub fn subject_kinds() -> Vec<Arc<dyn SubjectKind>> {
    vec![
        Arc::new(GroupKind),
        Arc::new(AmendmentKind),
        Arc::new(MeetingKind),
        Arc::new(InstrumentKind),
        Arc::new(TaskKind),
        Arc::new(ReportKind),
    ]
}

/// The registry of [`subject_kinds`], checked: two kinds or guards of one name are refused.
pub fn registered() -> Result<SubjectKinds, StartError> {
    Ok(SubjectKinds::new(subject_kinds())
        .map_err(|err| StartError::Config(vec![err]))?
        .subscribe(Arc::new(DeadlineEvents))
        .subscribe(Arc::new(ReportEvents)))
}

/// What definitions may name with this build's subject kinds and the given templates: for
/// checking a set of files without a database.
pub fn vocabulary(templates: &Templates) -> Result<Vocabulary, StartError> {
    Ok(workflow::vocabulary(templates, &registered()?))
}

impl Engine {
    /// Loads the templates and definitions from `config`, makes sure the database holds the
    /// active definition set, and returns the handle. The database must already be migrated.
    pub async fn start(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        config: ConfigSource,
    ) -> Result<Engine, StartError> {
        // A default reminder plan that does not parse stops the start, naming the file.
        plan::default_plan(&config).map_err(|err| StartError::Config(vec![err]))?;
        Engine::assemble(db, clock, config, registered()?).await
    }
}
