//! People: user accounts and the roles they hold in forums, groups and member states.

pub mod memberships;
pub mod users;
