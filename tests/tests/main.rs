//! govflow's end-to-end tests: one binary, one module per area. Each test starts the real server
//! on a random port with a fresh database (SQLite, or PostgreSQL when
//! `GOVFLOW_TEST_DATABASE_URL` is set) and talks to it over HTTP and GraphQL.

mod atomicity;
mod auth;
mod cli;
mod concurrency;
mod core_model;
mod documents;
mod first_run;
mod limits;
mod migrations;
mod settings;
mod statements;
mod workflows;
