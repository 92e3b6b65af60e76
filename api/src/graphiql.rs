//! GraphiQL, served from assets built into the binary so that it works without Internet access
//! (and no third-party CDN sees who uses the API). The page is ours; the scripts and styles are
//! GraphiQL 3 and React 18 as published on npm, under their MIT licences
//! (`api/assets/graphiql/LICENSES.txt`).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>govflow GraphiQL</title>
  <link rel="stylesheet" href="/graphiql/graphiql.min.css">
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/graphiql/react.production.min.js"></script>
  <script src="/graphiql/react-dom.production.min.js"></script>
  <script src="/graphiql/graphiql.min.js"></script>
  <script src="/graphiql/start.js"></script>
</body>
</html>
"#;

/// Starts GraphiQL against this server; the token goes into the headers pane as
/// `{"Authorization": "Bearer <token>"}`.
const START: &str = r#"
const fetcher = GraphiQL.createFetcher({ url: '/graphql' });
const root = ReactDOM.createRoot(document.getElementById('graphiql'));
root.render(React.createElement(GraphiQL, {
  fetcher,
  defaultEditorToolsVisibility: 'headers',
  defaultHeaders: '{\n  "Authorization": "Bearer <paste a token from `govflow token` here>"\n}',
  shouldPersistHeaders: false,
}));
"#;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "start.js",
        content_type: "text/javascript; charset=utf-8",
        body: START.as_bytes(),
    },
    Asset {
        name: "LICENSES.txt",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../assets/graphiql/LICENSES.txt"),
    },
];

pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            asset.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
