//! The read API, `/api/v1/...`: JSON (and CSV for reports), every handler
//! documented for the OpenAPI document (`utoipa`) where it is registered.
//! Every parameter is checked; a bad one is a 400 (or 404 for what does not
//! exist) with a JSON body naming it. Answers are bounded: lists and report
//! tables are paged.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger::calendar::Date;
use ledger::ids::{Digest, MemberId};
use ledger::log::Log;
use projector::views::{Table, View};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::app::App;
use super::node::{Figures, Index, Rendered};
use crate::cmd::log::entry_json;
use crate::render::{csv, json, Meta};

/// Most rows of each table in one report answer, and the default.
pub const MAX_ROWS: usize = 10_000;
/// Most events in one `/api/v1/events` answer.
pub const MAX_EVENTS: usize = 1_000;
/// Events in one `/api/v1/events` answer by default.
pub const DEFAULT_EVENTS: usize = 100;

/// A refused request: `{"error": ..., "parameter": ...}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    /// What is wrong, in one line.
    pub error: String,
    /// The parameter at fault, if one is.
    pub parameter: Option<String>,
    #[serde(skip)]
    status: u16,
}

impl ApiError {
    /// A 400 naming `parameter`.
    pub fn bad(parameter: &str, error: impl Into<String>) -> ApiError {
        ApiError {
            error: format!("{parameter}: {}", error.into()),
            parameter: Some(parameter.to_string()),
            status: 400,
        }
    }
    /// A 404 naming `parameter`.
    pub fn not_found(parameter: &str, error: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            ..ApiError::bad(parameter, error)
        }
    }
    /// A 500 (the log or the node failed, not the request).
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::warn!("request failed: {e}");
        ApiError {
            error: format!("{e}"),
            parameter: None,
            status: 500,
        }
    }
    /// With another status.
    pub fn with_status(mut self, status: u16) -> ApiError {
        self.status = status;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self)).into_response()
    }
}

/// The query parameters, only those `allowed`, each at most once.
pub fn query(raw: Option<String>, allowed: &[&str]) -> Result<HashMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad("query", e.to_string()))?;
    let mut out = HashMap::new();
    for (k, v) in pairs {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::bad(
                &k,
                format!("unknown parameter; this route takes {}", allowed.join(", ")),
            ));
        }
        if out.insert(k.clone(), v).is_some() {
            return Err(ApiError::bad(&k, "given twice"));
        }
    }
    Ok(out)
}

/// A path parameter, or a 400 naming it (bytes that are not UTF-8, say).
pub fn path_param(
    p: Result<Path<String>, axum::extract::rejection::PathRejection>,
    name: &str,
) -> Result<String, ApiError> {
    p.map(|Path(v)| v)
        .map_err(|e| ApiError::bad(name, e.body_text()))
}

/// A number parameter, at most `max`.
pub fn number(
    q: &HashMap<String, String>,
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, ApiError> {
    let Some(text) = q.get(name) else {
        return Ok(default);
    };
    let n: u64 = text
        .parse()
        .map_err(|_| ApiError::bad(name, format!("{text:?} is not a whole number")))?;
    if n > max {
        return Err(ApiError::bad(name, format!("{n} is more than {max}")));
    }
    Ok(n)
}

/// The `as_of` parameter, if given.
pub fn as_of(q: &HashMap<String, String>) -> Result<Option<Date>, ApiError> {
    q.get("as_of")
        .filter(|d| !d.is_empty())
        .map(|d| {
            d.parse::<Date>()
                .map_err(|_| ApiError::bad("as_of", format!("{d:?} is not a date (YYYY-MM-DD)")))
        })
        .transpose()
}

/// `view` rendered, as of `day` or at the latest position.
pub async fn rendered(
    app: &App,
    view: View,
    day: Option<Date>,
) -> Result<(Arc<Figures>, Arc<Rendered>), ApiError> {
    app.view(view, day).await.map_err(ApiError::internal)
}

fn view_of(name: &str) -> Result<View, ApiError> {
    View::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = View::ALL.iter().map(|v| v.name()).collect();
        ApiError::not_found(
            "view",
            format!("no view {name:?}; the views are {}", names.join(", ")),
        )
    })
}

/// A report view.
#[utoipa::path(get, path = "/api/v1/reports/{view}", tag = "reports",
    params(
        ("view" = String, Path, description = "donors, categories, recipients, months, needs, commitments, overdue, pipeline, changes, integrity, countries, modalities, sectors, contributors, flows or coverage (schemas/REPORTS.md)"),
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the state at the end of that day (the CLI's `report --as-of`)"),
        ("format" = Option<String>, Query, description = "json (default) or csv (the CLI's `--format csv`: one table; metadata in X-Tallinn-* headers)"),
        ("table" = Option<String>, Query, description = "csv: the table to write, needed for a view of several tables (months, categories, integrity)"),
        ("totals" = Option<bool>, Query, description = "csv: true adds the totals row (`TOTAL` in the first column)"),
        ("hxl" = Option<bool>, Query, description = "csv: true adds an HXL hashtag row under the header"),
        ("offset" = Option<u64>, Query, description = "rows of each table to skip"),
        ("limit" = Option<u64>, Query, description = "most rows of each table (default and most: 10000)"),
    ),
    responses(
        (status = 200, description = "`{view, as_of, today, position, digest, generated_at, offset, limit, rows_total, tables, totals}`; `tables` and `totals` are the CLI's `report VIEW --format json`", body = Object),
        (status = 400, description = "a bad parameter", body = ApiError),
        (status = 404, description = "no such view", body = ApiError),
    ))]
pub async fn report(
    State(app): State<Arc<App>>,
    view: Result<Path<String>, axum::extract::rejection::PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = query(
        raw,
        &[
            "as_of", "format", "table", "totals", "hxl", "offset", "limit",
        ],
    )?;
    let view = view_of(&path_param(view, "view")?)?;
    let csv = match q.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad(
                "format",
                format!("{other:?}: use json or csv"),
            ))
        }
    };
    let opts = csv::Options {
        totals: flag(&q, "totals")?,
        hxl: flag(&q, "hxl")?,
    };
    if !csv {
        if let Some(k) = ["table", "totals", "hxl"]
            .into_iter()
            .find(|k| q.contains_key(*k))
        {
            return Err(ApiError::bad(k, "only with format=csv"));
        }
    }
    let offset = number(&q, "offset", 0, u64::MAX)? as usize;
    let limit = number(&q, "limit", MAX_ROWS as u64, MAX_ROWS as u64)? as usize;
    let (figures, r) = rendered(&app, view, as_of(&q)?).await?;
    let whole = offset == 0 && r.tables.iter().all(|t| t.rows.len() <= limit);
    if csv {
        let t = csv_table(&r.tables, q.get("table").map(String::as_str))?;
        let text = match &r.csv {
            Some(text) if whole && opts == csv::Options::default() => text.clone(),
            _ => csv::table(&rows_of(t, offset, limit), opts),
        };
        return Ok(csv_response(&figures, view, t.title, &text));
    }
    let paged;
    let json_text = match &r.json {
        Some(json) if whole => json.as_str(),
        _ => {
            let tables: Vec<Table> = r.tables.iter().map(|t| rows_of(t, offset, limit)).collect();
            paged = json::body(&tables);
            paged.as_str()
        }
    };
    let totals: serde_json::Map<String, Value> = r
        .tables
        .iter()
        .map(|t| (t.title.to_string(), json!(t.rows.len())))
        .collect();
    let meta = Meta {
        view,
        as_of: figures.as_of,
        today: figures.today,
        position: figures.position,
        digest: figures.digest.clone(),
        generated_at: figures.generated_at.clone(),
    };
    let mut paging = serde_json::Map::new();
    paging.insert("offset".into(), json!(offset));
    paging.insert("limit".into(), json!(limit));
    paging.insert("rows_total".into(), json!(totals));
    // The tables' JSON is rendered once per position; it is spliced in, not re-encoded.
    let body = json::document(&meta, json_text, &paging);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A `true`/`false` parameter, false when absent.
fn flag(q: &HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match q.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad(name, format!("{other:?}: use true or false"))),
    }
}

/// The table a CSV answer writes: the one `table` names, or the view's only one.
fn csv_table<'t>(tables: &'t [Table], name: Option<&str>) -> Result<&'t Table, ApiError> {
    let names = || {
        tables
            .iter()
            .map(|t| t.title)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(name) => tables.iter().find(|t| t.title == name).ok_or_else(|| {
            ApiError::bad(
                "table",
                format!("no table {name:?}; this view's are {}", names()),
            )
        }),
        None => match tables {
            [t] => Ok(t),
            _ => Err(ApiError::bad(
                "table",
                format!(
                    "csv: this view has several tables; choose one of {}",
                    names()
                ),
            )),
        },
    }
}

/// The rows `offset..offset + limit` of a table, with its totals.
fn rows_of(t: &Table, offset: usize, limit: usize) -> Table {
    Table {
        title: t.title,
        columns: t.columns.clone(),
        rows: t.rows.iter().skip(offset).take(limit).cloned().collect(),
        totals: t.totals.clone(),
    }
}

fn csv_response(f: &Figures, view: View, table: &str, body: &str) -> Response {
    let stem = if table == view.name() {
        view.name().to_string()
    } else {
        format!("{}-{table}", view.name())
    };
    let name = match f.as_of {
        Some(d) => format!("{stem}-{d}.csv"),
        None => format!("{stem}.csv"),
    };
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ),
        (
            header::HeaderName::from_static("x-tallinn-position"),
            f.position.to_string(),
        ),
        (
            header::HeaderName::from_static("x-tallinn-digest"),
            f.digest.clone(),
        ),
        (
            header::HeaderName::from_static("x-tallinn-today"),
            f.today.to_string(),
        ),
    ];
    (headers, body.to_string()).into_response()
}

/// The entries of the log the node has folded, with their outcomes.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(
        ("member" = Option<String>, Query, description = "only this member's events (its chain)"),
        ("after" = Option<u64>, Query, description = "only positions after this one (default 0)"),
        ("limit" = Option<u64>, Query, description = "most events (default 100, at most 1000)"),
    ),
    responses(
        (status = 200, description = "`{events: [...], next_after}`: the objects of `tallinn log --json`; `next_after` is the `after` of the next page, null at the end", body = Object),
        (status = 400, description = "a bad parameter", body = ApiError),
    ))]
pub async fn events(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = query(raw, &["member", "after", "limit"])?;
    let member = q
        .get("member")
        .map(|m| {
            m.parse::<MemberId>()
                .map_err(|e| ApiError::bad("member", e.to_string()))
        })
        .transpose()?;
    let after = number(&q, "after", 0, u64::MAX)?;
    let limit = number(&q, "limit", DEFAULT_EVENTS as u64, MAX_EVENTS as u64)? as usize;
    let position = app
        .node
        .index
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .position();
    let mut out = Vec::new();
    let mut from = after.saturating_add(1);
    let mut last_seen = after;
    while out.len() < limit && from <= position {
        let want = limit - out.len();
        let entries = match &member {
            Some(m) => app.log.member_entries(m, from, want).await,
            None => app.log.read(from, want).await,
        }
        .map_err(ApiError::internal)?;
        let Some(last) = entries.last() else { break };
        from = last.position + 1;
        let m = app.node.model.read().unwrap_or_else(|e| e.into_inner());
        for e in entries.iter().filter(|e| e.position <= position) {
            out.push(entry_json(e, &m));
            last_seen = e.position;
        }
    }
    let more = out.len() == limit && last_seen < position;
    Ok(Json(json!({"events": out, "next_after": more.then_some(last_seen)})).into_response())
}

/// The event id in `id` (the path parameter `id`).
pub fn event_id(id: &str) -> Result<Digest, ApiError> {
    id.parse()
        .map_err(|_| ApiError::bad("id", format!("{id:?} is not an event id (64 hex digits)")))
}

/// The position of an event the node has indexed.
pub fn position_in(index: &Index, id: &Digest) -> Result<u64, ApiError> {
    index
        .ids
        .get(id)
        .copied()
        .ok_or_else(|| ApiError::not_found("id", format!("no event {id} in the entries folded")))
}

/// One event: its entry, outcome, and signed bytes (base64, `envelope || signature`).
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "events",
    params(("id" = String, Path, description = "the event id, 64 hex digits")),
    responses(
        (status = 200, description = "the object of `tallinn log --json`, with `bytes`", body = Object),
        (status = 400, description = "not an event id", body = ApiError),
        (status = 404, description = "no such event folded", body = ApiError),
    ))]
pub async fn event(
    State(app): State<Arc<App>>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    use base64::Engine as _;
    let id = path_param(id, "id")?;
    let digest = event_id(&id)?;
    let position = position_in(
        &app.node.index.read().unwrap_or_else(|e| e.into_inner()),
        &digest,
    )?;
    let entry = app
        .log
        .read(position, 1)
        .await
        .map_err(ApiError::internal)?
        .pop()
        .ok_or_else(|| ApiError::internal(format!("position {position} vanished from the log")))?;
    let mut v = {
        let m = app.node.model.read().unwrap_or_else(|e| e.into_inner());
        entry_json(&entry, &m)
    };
    v["bytes"] = json!(base64::engine::general_purpose::STANDARD.encode(&entry.bytes));
    Ok(Json(v).into_response())
}
