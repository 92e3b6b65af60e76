//! E-mail: templates rendered with minijinja, the people holding a role on a subject, the outbox
//! the messages are queued in (in the transaction of the change that caused them), and the
//! mailer that delivers the outbox through a transport.

pub mod mailer;
pub mod outbox;
pub mod recipients;
pub mod templates;
pub mod transport;
