//! The router: the API (registered with its OpenAPI documentation), health,
//! metrics, the live stream, the dashboard pages and their assets; bearer
//! token access, per-route metrics, timeouts and a request size limit.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Path, RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::{Stream, StreamExt};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{self, query, ApiError};
use super::app::App;
use super::pages::{self, Page, PageMeta};
use super::tlog;

/// The OpenAPI document's fixed parts; the paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tallinn Mechanism ledger node",
        description = "Read API of `tallinn serve`: the report views (as of any date), the log's events, status, the latest signed checkpoint and Merkle proofs. Read-only. Errors are `{error, parameter}` with status 400 or 404."
    ),
    components(schemas(ApiError)),
    tags(
        (name = "reports", description = "the read models' views"),
        (name = "events", description = "the signed events of the log"),
        (name = "ledger", description = "status, checkpoints and proofs"),
        (name = "operations", description = "health, readiness, metrics, live updates"),
    )
)]
struct ApiDoc;

/// The API routes with their documentation.
pub fn api_routes() -> (Router<Arc<App>>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(api::report))
        .routes(routes!(api::events))
        .routes(routes!(api::event))
        .routes(routes!(tlog::status))
        .routes(routes!(tlog::checkpoint))
        .routes(routes!(tlog::inclusion))
        .routes(routes!(tlog::consistency))
        .routes(routes!(stream))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .split_for_parts()
}

/// The whole router.
pub fn router(app: Arc<App>, timeout: Duration) -> Router {
    let (api, doc) = api_routes();
    let doc = Arc::new(doc);
    api.route(
        "/api/v1/openapi.json",
        get(move || async move { Json(doc.as_ref().clone()) }),
    )
    .merge(swagger_ui())
    .route("/", get(overview))
    .route("/{page}", get(page))
    .route(
        "/assets/style.css",
        get(|| asset("text/css", pages::STYLE_CSS)),
    )
    .route(
        "/assets/live.js",
        get(|| asset("text/javascript", pages::LIVE_JS)),
    )
    .route_layer(middleware::from_fn(track))
    .fallback(not_found)
    .layer(middleware::from_fn_with_state(app.clone(), auth))
    .layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        timeout,
    ))
    .layer(RequestBodyLimitLayer::new(4096))
    .with_state(app)
}

/// The Swagger UI page on the OpenAPI document, at `/api/v1/docs/` (its
/// files are in the binary; the online validator is off, so the page fetches
/// nothing from elsewhere).
fn swagger_ui() -> Router<Arc<App>> {
    let config = utoipa_swagger_ui::Config::new(["/api/v1/openapi.json"])
        .validator_url("none")
        .try_it_out_enabled(false);
    utoipa_swagger_ui::SwaggerUi::new("/api/v1/docs")
        .config(config)
        .into()
}

async fn asset(kind: &'static str, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, kind),
        (header::CACHE_CONTROL, "public, max-age=300"),
    ];
    (headers, body).into_response()
}

async fn not_found() -> Response {
    metrics::counter!("tallinn_http_requests_total", "route" => "unmatched", "status" => "404")
        .increment(1);
    ApiError::not_found("path", "no such route; see /api/v1/openapi.json").into_response()
}

/// Counts each request and its latency by route and status.
async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let secs = start.elapsed().as_secs_f64();
    metrics::counter!("tallinn_http_requests_total", "route" => route.clone(), "status" => status.clone()).increment(1);
    metrics::histogram!("tallinn_http_request_duration_seconds", "route" => route, "status" => status).record(secs);
    resp
}

/// With `--token-file`, every route but health, readiness and metrics needs
/// `Authorization: Bearer <token>`.
async fn auth(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    use sha2::Digest as _;
    let Some(want) = app.token else {
        return next.run(req).await;
    };
    if matches!(req.uri().path(), "/healthz" | "/readyz" | "/metrics") {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Hashes are compared, so the comparison's time says nothing of the token.
    if given.is_some_and(|t| <[u8; 32]>::from(sha2::Sha256::digest(t.trim().as_bytes())) == want) {
        return next.run(req).await;
    }
    let mut resp = ApiError::bad("authorization", "a valid bearer token is required")
        .with_status(401)
        .into_response();
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "`ok`", body = String)))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready: caught up within `--ready-lag` entries of the log's end.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "`{ready: true, lag}`", body = Object),
    (status = 503, description = "`{ready: false, lag}`", body = Object)))]
pub async fn readyz(State(app): State<Arc<App>>) -> Response {
    let position = app
        .node
        .index
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .position();
    let len = app
        .log_length
        .load(std::sync::atomic::Ordering::Relaxed)
        .max(position);
    let lag = len - position;
    // Serving starts after the catch-up and the first render.
    let ready = lag <= app.ready_lag;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({"ready": ready, "lag": lag, "position": position})),
    )
        .into_response()
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format 0.0.4", body = String)))]
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    let text = super::metrics::render(&app).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Server-sent events: `{"position", "digest"}` each time the figures move.
#[utoipa::path(get, path = "/api/v1/stream", tag = "operations", responses(
    (status = 200, description = "text/event-stream; each event's data is `{position, digest}`", content_type = "text/event-stream", body = String),
    (status = 503, description = "too many live streams open", body = ApiError)))]
pub async fn stream(
    State(app): State<Arc<App>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Each open stream holds a connection and a receiver: their number is bounded.
    let guard = StreamGuard::take(&app)?;
    let mut stop = app.stopping.subscribe();
    let events = tokio_stream::wrappers::WatchStream::new(app.figures.clone())
        .map(|f| {
            let data = serde_json::json!({"position": f.position, "digest": f.digest});
            Ok(Event::default().data(data.to_string()))
        })
        .take_until(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .map(move |e| {
            let _ = &guard;
            e
        });
    // A comment every 5 s: a client that went away is noticed (and its place
    // among the MAX_STREAMS freed) at the next one.
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(5))))
}

/// Most live streams open at once.
pub const MAX_STREAMS: usize = 1024;

/// One open live stream, counted while it lives.
struct StreamGuard(Arc<App>);

impl StreamGuard {
    fn take(app: &Arc<App>) -> Result<StreamGuard, ApiError> {
        use std::sync::atomic::Ordering;
        if app.streams.fetch_add(1, Ordering::Relaxed) >= MAX_STREAMS {
            app.streams.fetch_sub(1, Ordering::Relaxed);
            let e = format!("{MAX_STREAMS} live streams are open already; try again later");
            return Err(ApiError::bad("stream", e).with_status(503));
        }
        Ok(StreamGuard(app.clone()))
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0
            .streams
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

async fn overview(state: State<Arc<App>>, q: RawQuery) -> Response {
    render_page(state, Page::Overview, q).await
}

async fn page(state: State<Arc<App>>, Path(slug): Path<String>, q: RawQuery) -> Response {
    match Page::from_slug(&slug).filter(|p| *p != Page::Overview) {
        Some(p) => render_page(state, p, q).await,
        None => not_found().await,
    }
}

async fn render_page(State(app): State<Arc<App>>, page: Page, RawQuery(raw): RawQuery) -> Response {
    let day = match query(raw, &["as_of"]).and_then(|q| api::as_of(&q)) {
        Ok(day) => day,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, Html(pages::error_page(&e.error))).into_response()
        }
    };
    let mut figures = None;
    let mut views = Vec::new();
    for v in page.views() {
        match api::rendered(&app, *v, day).await {
            Ok((f, r)) => {
                views.push(r.tables.clone());
                figures = Some(f);
            }
            Err(e) => {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Html(pages::error_page(&e.error)),
                )
                    .into_response()
            }
        }
    }
    let Some(figures) = figures else {
        return not_found().await;
    };
    let cp = app.checkpoint().await.ok().flatten();
    let origin = app
        .node
        .model
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .origin
        .clone()
        .unwrap_or_default();
    let as_of = figures.as_of.map(|d| d.to_string());
    let today = figures.today.to_string();
    let meta = PageMeta {
        as_of: as_of.as_deref(),
        today: &today,
        position: figures.position,
        log_length: app
            .log_length
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(figures.position),
        digest: &figures.digest,
        generated_at: &figures.generated_at,
        origin: &origin,
        checkpoint: cp.as_ref().map(|c| c.text.as_str()),
        live: true,
    };
    Html(pages::render(page, &views, &meta)).into_response()
}
