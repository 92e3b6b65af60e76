//! The calendar feeds over HTTP (DECISIONS §14): `GET /calendar/{token}/group/{groupId}.ics` and
//! `GET /calendar/{token}/me.ics`. Calendar clients cannot send headers, so the token is in the
//! path; a wrong, revoked or foreign token is 404 whatever it asks for, so a feed URL never tells
//! whether a group exists or another user's calendar is there.

use crate::server::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use govflow_engine::EngineResult;
use govflow_engine::deadlines::calendar;
use uuid::Uuid;

fn answer(feed: EngineResult<Option<String>>) -> Response {
    match feed {
        Ok(Some(ics)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            ics,
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such calendar\n").into_response(),
        Err(err) => {
            tracing::error!("a calendar feed could not be built: {err}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the calendar could not be built\n",
            )
                .into_response()
        }
    }
}

pub(crate) async fn my_feed(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    answer(calendar::my_feed(&state.engine, &token).await)
}

/// `file` is `<groupId>.ics`: axum's router cannot put a suffix after a parameter, so it is
/// checked here.
pub(crate) async fn group_feed(
    State(state): State<AppState>,
    Path((token, file)): Path<(String, String)>,
) -> Response {
    let group_id = file
        .strip_suffix(".ics")
        .and_then(|stem| Uuid::parse_str(stem).ok());
    let Some(group_id) = group_id else {
        let shown: String = file.chars().take(60).collect();
        return (
            StatusCode::BAD_REQUEST,
            format!("`{shown}` is not a group's feed: ask for <groupId>.ics\n"),
        )
            .into_response();
    };
    answer(calendar::group_feed(&state.engine, &token, group_id).await)
}
