//! Workflows as data: the definitions (parsed from TOML), the registries of guards and effects
//! they may name, the store that keeps the active set in the database, and the one executor that
//! takes a transition on any subject.

pub mod definition;
pub mod effects;
pub mod executor;
pub mod guards;
#[cfg(test)]
mod kind_tests;
pub mod store;
pub mod subjects;

pub use definition::{
    Definition, DefinitionError, Definitions, EffectDef, TransitionDef, Vocabulary,
};
pub use executor::{
    TransitionRequest, Transitioned, available_transitions, create_subject, take_transition,
};
pub use subjects::{SubjectInfo, SubjectKind, SubjectKinds, TransitionCall};

use crate::kernel::actor::role_vocabulary;
use crate::notify::templates::Templates;

/// What the engine's registries offer to definitions: the guards of the subject kinds, roles and
/// templates.
pub fn vocabulary(templates: &Templates, kinds: &SubjectKinds) -> Vocabulary {
    Vocabulary {
        guards: kinds.guard_names(),
        roles: role_vocabulary(),
        templates: templates.names().clone(),
    }
}

use crate::kernel::actor::{Acting, Actor};
use crate::kernel::engine::Engine;
use crate::kernel::error::EngineResult;

/// Takes a transition as a user, in a transaction of its own.
pub async fn transition(
    engine: &Engine,
    actor: &Actor,
    request: TransitionRequest,
) -> EngineResult<Transitioned> {
    let txn = engine.begin_write().await?;
    let done = take_transition(engine, &txn, Acting::User(actor), &request).await?;
    txn.commit().await?;
    Ok(done)
}
