//! govflow's end-to-end tests: one binary, one module per area. Each test starts the real server
//! on a random port with a fresh database (SQLite, or PostgreSQL when
//! `GOVFLOW_TEST_DATABASE_URL` is set) and talks to it over HTTP and GraphQL.

mod abuse;
mod atomicity;
mod auth;
mod cli;
mod concurrency;
mod core_model;
mod deadlines;
mod definition_sets;
mod documents;
mod drafts;
mod first_run;
mod lifecycle;
mod lifecycle_roles;
mod limits;
mod mail;
mod migrations;
mod privacy;
mod races;
mod reports;
mod settings;
mod shutdown;
mod smtp_server;
mod statements;
mod tasks;
mod text_input;
mod trends;
mod workflows;
