//! The transparency-log side of the API: status, the latest signed
//! checkpoint, and inclusion and consistency proofs from the tree of the
//! entries the node folded.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger::tlog_proof::TlogProof;
use serde_json::{json, Value};

use super::api::{event_id, number, position_in, query, ApiError};
use super::app::App;
use ledger::log::Log;

/// The node's state: log size, position, lag, chain heads, the latest checkpoint.
#[utoipa::path(get, path = "/api/v1/status", tag = "ledger",
    responses((status = 200, description = "`{origin, backend, log_length, position, lag, ready, accepted, rejected, duplicates, digest, heads: {member: {seq, id}}, checkpoint: {size, root, time, age_seconds, cosignatures} | null}`", body = Object)))]
pub async fn status(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let f = app.current();
    let cp = app.checkpoint().await.map_err(ApiError::internal)?;
    let now = (super::wall_clock().0 / 1000).max(0) as u64;
    let v = {
        let m = app.node.model.read().unwrap_or_else(|e| e.into_inner());
        let position = app
            .node
            .index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .position();
        let len = app.log_length.load(Ordering::Relaxed).max(position);
        let heads: serde_json::Map<String, Value> = m
            .heads
            .iter()
            .map(|(member, (seq, id))| (member.to_string(), json!({"seq": seq, "id": id})))
            .collect();
        json!({
            "origin": m.origin, "backend": app.backend, "log_length": len, "position": position,
            "lag": len - position, "ready": len - position <= app.ready_lag,
            "accepted": m.accepted, "rejected": m.rejected.len(), "duplicates": m.duplicates,
            "figures": {"position": f.position, "digest": f.digest, "generated_at": f.generated_at},
            "heads": heads,
            "checkpoint": cp.map(|c| json!({"size": c.size, "root": c.root, "time": c.time,
                "age_seconds": c.time.map(|t| now.saturating_sub(t)), "cosignatures": c.cosignatures})),
        })
    };
    Ok(Json(v).into_response())
}

/// The latest signed checkpoint, as a C2SP signed note.
#[utoipa::path(get, path = "/api/v1/checkpoint", tag = "ledger",
    responses(
        (status = 200, description = "the signed note (text/plain), with its cosignatures", content_type = "text/plain", body = String),
        (status = 404, description = "no checkpoint signed yet", body = ApiError),
    ))]
pub async fn checkpoint(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let cp = app.checkpoint().await.map_err(ApiError::internal)?;
    let cp = cp.ok_or_else(|| {
        ApiError::not_found(
            "checkpoint",
            "no checkpoint yet: the coordinator runs `tallinn checkpoint sign`",
        )
    })?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        cp.text.clone(),
    )
        .into_response())
}

/// An inclusion proof of an event.
#[utoipa::path(get, path = "/api/v1/proofs/inclusion/{id}", tag = "ledger",
    params(
        ("id" = String, Path, description = "the event id, 64 hex digits"),
        ("size" = Option<u64>, Query, description = "the tree size to prove against; without it, the latest signed checkpoint, and the answer is the C2SP tlog-proof the CLI's `audit prove` writes"),
    ),
    responses(
        (status = 200, description = "with `size`: `{id, position, index, size, root, proof: [hex]}`; without: a `c2sp.org/tlog-proof@v1` text", body = Object),
        (status = 400, description = "a bad parameter", body = ApiError),
        (status = 404, description = "no such event, or not yet covered by a checkpoint", body = ApiError),
    ))]
pub async fn inclusion(
    State(app): State<Arc<App>>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = query(raw, &["size"])?;
    let id = super::api::path_param(id, "id")?;
    let digest = event_id(&id)?;
    if q.contains_key("size") {
        let size = number(&q, "size", 0, u64::MAX)?;
        let m = app.node.index.read().unwrap_or_else(|e| e.into_inner());
        let position = position_in(&m, &digest)?;
        if size < position || size > m.tree.size() {
            return Err(ApiError::bad(
                "size",
                format!(
                    "must be from the event's position {position} to the entries folded, {}",
                    m.tree.size()
                ),
            ));
        }
        let proof = m
            .tree
            .inclusion_proof(position - 1, size)
            .map_err(ApiError::internal)?;
        let root = m.tree.root_at(size).map_err(ApiError::internal)?;
        let v = json!({"id": digest, "position": position, "index": position - 1, "size": size, "root": root,
            "proof": proof.iter().map(|h| h.to_hex()).collect::<Vec<_>>()});
        return Ok(Json(v).into_response());
    }
    tlog_proof(&app, digest).await
}

async fn tlog_proof(app: &App, id: ledger::ids::Digest) -> Result<Response, ApiError> {
    let cp = app.checkpoint().await.map_err(ApiError::internal)?;
    let cp = cp.ok_or_else(|| ApiError::not_found("size", "no checkpoint yet: give a size"))?;
    let (path, index) = {
        let m = app.node.index.read().unwrap_or_else(|e| e.into_inner());
        let position = position_in(&m, &id)?;
        if position > cp.size || cp.size > m.tree.size() {
            return Err(ApiError::not_found(
                "id",
                format!("event at position {position} is not covered by the latest checkpoint the node has folded (size {})", cp.size),
            ));
        }
        let path = m
            .tree
            .inclusion_proof(position - 1, cp.size)
            .map_err(ApiError::internal)?;
        let root = m.tree.root_at(cp.size).map_err(ApiError::internal)?;
        if root.to_hex() != cp.root {
            return Err(ApiError::internal(
                "the latest checkpoint's root is not the root of the entries folded",
            ));
        }
        (path, position - 1)
    };
    let entry = app
        .log
        .read(index + 1, 1)
        .await
        .map_err(ApiError::internal)?
        .pop();
    let entry = entry.ok_or_else(|| ApiError::internal("the entry vanished from the log"))?;
    let proof = TlogProof {
        extra: entry.bytes,
        index,
        proof: path,
        note: cp.text.clone(),
    };
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        proof.to_text(),
    )
        .into_response())
}

/// A consistency proof between two tree sizes.
#[utoipa::path(get, path = "/api/v1/proofs/consistency", tag = "ledger",
    params(
        ("from" = u64, Query, description = "the older tree size"),
        ("to" = Option<u64>, Query, description = "the newer tree size (default: the entries folded)"),
    ),
    responses(
        (status = 200, description = "`{from, to, root_from, root_to, proof: [hex]}` (RFC 9162)", body = Object),
        (status = 400, description = "a bad parameter", body = ApiError),
    ))]
pub async fn consistency(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = query(raw, &["from", "to"])?;
    if !q.contains_key("from") {
        return Err(ApiError::bad("from", "required"));
    }
    let m = app.node.index.read().unwrap_or_else(|e| e.into_inner());
    let size = m.tree.size();
    let to = number(&q, "to", size, size)?;
    let from = number(&q, "from", 0, to)?;
    let proof = m
        .tree
        .consistency_proof(from, to)
        .map_err(ApiError::internal)?;
    let root = |s| m.tree.root_at(s).map_err(ApiError::internal);
    let v = json!({"from": from, "to": to, "root_from": root(from)?, "root_to": root(to)?,
        "proof": proof.iter().map(|h| h.to_hex()).collect::<Vec<_>>()});
    Ok(Json(v).into_response())
}
