//! The sea-orm entities of govflow: one module per table, plain models and nothing else.
//!
//! The rules that give these rows meaning live in `govflow-engine`; the schema itself is created by
//! `govflow-migration`.

pub mod adherence;
pub mod agenda_item;
pub mod amendment;
pub mod amendment_response;
pub mod annual_report;
pub mod app_user;
pub mod ballot;
pub mod calendar_feed;
pub mod co_sponsor;
pub mod deadline;
pub mod deadline_occurrence;
pub mod deadline_reminder;
pub mod document;
pub mod document_version;
pub mod forum;
pub mod history_entry;
pub mod instrument;
pub mod meeting;
pub mod member_state;
pub mod membership;
pub mod outbox_message;
pub mod report_comment;
pub mod research_task;
pub mod translation;
pub mod user_identity;
pub mod work_topic;
pub mod workflow_definition;
pub mod workflow_instance;
pub mod working_group;
