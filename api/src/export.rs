//! The trends as CSV over HTTP (DECISIONS §14), so that a spreadsheet can fetch them:
//! `GET /export/{token}/trends.csv?groupId=…|forumId=…&fromYear=…&toYear=…`, with the user's
//! calendar feed token in the path (spreadsheets, like calendar clients, cannot send headers),
//! and `GET /export/trends.csv?…` with `Authorization: Bearer <token>`.
//!
//! A wrong, malformed or revoked feed token is 404 whatever it asks for, as the calendar feeds
//! are; a missing or refused Bearer token is 401. Parameters that are missing, repeated or do not
//! parse are 400 with a message naming them; an unknown group or forum is 404. The figures are
//! those of `groupTrends` and `forumTrends`: both call the engine.

use crate::graphql::Caller;
use crate::server::{AppState, authenticate};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use govflow_engine::EngineError;
use govflow_engine::deadlines::calendar;
use govflow_engine::trends;
use uuid::Uuid;

/// Whose trends a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Group(Uuid),
    Forum(Uuid),
}

/// The parsed query string of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TrendsRequest {
    place: Place,
    from_year: i32,
    to_year: i32,
}

/// A 400 with a plain-text reason.
fn bad_request(reason: String) -> Response {
    (StatusCode::BAD_REQUEST, format!("{reason}\n")).into_response()
}

impl TrendsRequest {
    /// Reads `groupId` or `forumId` (exactly one), `fromYear` and `toYear`; other parameters are
    /// ignored, so that a spreadsheet may add its own.
    fn parse(query: Option<&str>) -> Result<TrendsRequest, String> {
        let mut group = None;
        let mut forum = None;
        let mut from_year = None;
        let mut to_year = None;
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let slot = match name.as_ref() {
                "groupId" => &mut group,
                "forumId" => &mut forum,
                "fromYear" => &mut from_year,
                "toYear" => &mut to_year,
                _ => continue,
            };
            if slot.is_some() {
                return Err(format!("`{name}` is given more than once"));
            }
            *slot = Some(value.into_owned());
        }
        let place = match (group, forum) {
            (Some(_), Some(_)) => {
                return Err("give either `groupId` or `forumId`, not both".into());
            }
            (Some(id), None) => Place::Group(parse_id("groupId", &id)?),
            (None, Some(id)) => Place::Forum(parse_id("forumId", &id)?),
            (None, None) => return Err("`groupId` or `forumId` is required".into()),
        };
        Ok(TrendsRequest {
            place,
            from_year: parse_year("fromYear", from_year)?,
            to_year: parse_year("toYear", to_year)?,
        })
    }

    /// `trends-group-<id>-2027-2028.csv`.
    fn file_name(&self) -> String {
        let (kind, id) = match self.place {
            Place::Group(id) => ("group", id),
            Place::Forum(id) => ("forum", id),
        };
        format!("trends-{kind}-{id}-{}-{}.csv", self.from_year, self.to_year)
    }
}

/// What a value looks like in a message: at most 60 characters of it.
fn shown(value: &str) -> String {
    value.chars().take(60).collect()
}

fn parse_id(name: &str, value: &str) -> Result<Uuid, String> {
    Uuid::parse_str(value.trim()).map_err(|_| format!("`{name}`: `{}` is not an id", shown(value)))
}

fn parse_year(name: &str, value: Option<String>) -> Result<i32, String> {
    let value = value.ok_or_else(|| format!("`{name}` is required"))?;
    value
        .trim()
        .parse()
        .map_err(|_| format!("`{name}`: `{}` is not a year", shown(&value)))
}

/// Runs the request for the engine and answers the CSV, or the engine's refusal.
async fn answer(state: &AppState, request: TrendsRequest) -> Response {
    let engine = &state.engine;
    let rows = match request.place {
        Place::Group(id) => {
            trends::group_trends(engine, id, request.from_year, request.to_year).await
        }
        Place::Forum(id) => {
            trends::forum_trends(engine, id, request.from_year, request.to_year).await
        }
    };
    match rows {
        Ok(rows) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", request.file_name()),
                ),
                (header::CACHE_CONTROL, "private, max-age=300".to_owned()),
            ],
            trends::to_csv(&rows),
        )
            .into_response(),
        Err(err @ EngineError::InvalidInput { .. }) => bad_request(err.to_string()),
        Err(err @ EngineError::NotFound(_)) => {
            (StatusCode::NOT_FOUND, format!("{err}\n")).into_response()
        }
        Err(err) => {
            tracing::error!("a trends export could not be built: {err}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the trends could not be computed\n",
            )
                .into_response()
        }
    }
}

/// `GET /export/{token}/trends.csv`: the holder of a feed token.
pub(crate) async fn trends_by_feed_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    match calendar::owner(&state.engine, &token).await {
        Ok(Some(_)) => {}
        Ok(None) => return (StatusCode::NOT_FOUND, "no such export\n").into_response(),
        Err(err) => {
            tracing::error!("a feed token could not be checked: {err}");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the token could not be checked\n",
            )
                .into_response();
        }
    }
    match TrendsRequest::parse(query.as_deref()) {
        Ok(request) => answer(&state, request).await,
        Err(reason) => bad_request(reason),
    }
}

/// `GET /export/trends.csv`: a signed-in user, by `Authorization: Bearer <token>`.
pub(crate) async fn trends_by_bearer(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let why = match authenticate(&state, &headers).await {
        Caller::User(_) => None,
        Caller::Refused(why) => Some(why),
        Caller::Anonymous => Some("this export needs `Authorization: Bearer <token>`".into()),
    };
    if let Some(why) = why {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            format!("{why}\n"),
        )
            .into_response();
    }
    match TrendsRequest::parse(query.as_deref()) {
        Ok(request) => answer(&state, request).await,
        Err(reason) => bad_request(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01890a5d-ac96-774b-bcce-b302099a8057";

    #[test]
    fn a_request_names_one_place_and_two_years() {
        let parsed = TrendsRequest::parse(Some(&format!(
            "groupId={ID}&fromYear=2027&toYear=2028&cache=1"
        )))
        .unwrap();
        assert_eq!(parsed.place, Place::Group(Uuid::parse_str(ID).unwrap()));
        assert_eq!((parsed.from_year, parsed.to_year), (2027, 2028));
        assert_eq!(
            parsed.file_name(),
            format!("trends-group-{ID}-2027-2028.csv")
        );
        let forum =
            TrendsRequest::parse(Some(&format!("forumId={ID}&fromYear=2027&toYear=2027"))).unwrap();
        assert_eq!(forum.place, Place::Forum(Uuid::parse_str(ID).unwrap()));
    }

    #[test]
    fn bad_requests_name_the_parameter() {
        for (query, says) in [
            (
                format!("groupId={ID}&forumId={ID}&fromYear=1&toYear=2"),
                "not both",
            ),
            (
                "fromYear=2027&toYear=2028".to_owned(),
                "`groupId` or `forumId`",
            ),
            (
                "groupId=abc&fromYear=2027&toYear=2028".to_owned(),
                "`groupId`",
            ),
            (
                format!("groupId={ID}&toYear=2028"),
                "`fromYear` is required",
            ),
            (format!("groupId={ID}&fromYear=2027&toYear=x"), "`toYear`"),
            (
                format!("groupId={ID}&groupId={ID}&fromYear=2027&toYear=2028"),
                "more than once",
            ),
        ] {
            let refused = TrendsRequest::parse(Some(&query)).unwrap_err();
            assert!(refused.contains(says), "{query}: {refused}");
        }
        assert!(TrendsRequest::parse(None).is_err());
    }
}
