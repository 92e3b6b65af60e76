//! E-mail as the engine writes it: templates rendered with minijinja, the people holding a role
//! on a subject, and the outbox the messages are queued in, in the transaction of the change
//! that caused them.

pub mod outbox;
pub mod recipients;
pub mod templates;
