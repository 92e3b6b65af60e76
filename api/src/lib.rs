//! govflow's API: GraphQL over HTTP (async-graphql on axum), JWT authentication, settings, and the
//! `govflow` command line. No business rules live here: every resolver calls one engine function.

pub mod auth;
pub mod calendar;
pub mod cli;
pub mod export;
pub mod graphiql;
pub mod graphql;
pub mod listener;
pub mod server;
pub mod settings;
