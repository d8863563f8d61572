//! Renders every page of a real ledger to files, to look at (ignored: needs
//! a ledger). `tallinn --dir /tmp/dashdemo demo --seed 7`, then
//! `TALLINN_DASH_DEMO=/tmp/dashdemo TALLINN_DASH_OUT=/tmp/dash-pages cargo test
//! -p tallinn-cli --bins serve::pages::demo -- --ignored`.

use std::path::PathBuf;

use ledger::log::Log;
use projector::views::{build, Params};

use super::{render, Page, PageMeta, LIVE_JS, STYLE_CSS};
use crate::backend::{open_log, NatsArgs};
use crate::cmd::checkpoint::Stored;
use crate::cmd::projector::{catch_up, Open};

fn env(name: &str, default: &str) -> PathBuf {
    PathBuf::from(std::env::var(name).unwrap_or_else(|_| default.into()))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a ledger in TALLINN_DASH_DEMO (default /tmp/dashdemo)"]
async fn render_the_demo_ledger() -> anyhow::Result<()> {
    let dir = env("TALLINN_DASH_DEMO", "/tmp/dashdemo");
    let out = env("TALLINN_DASH_OUT", "/tmp/dash-pages");
    std::fs::create_dir_all(out.join("assets"))?;
    std::fs::write(out.join("assets/style.css"), STYLE_CSS)?;
    std::fs::write(out.join("assets/live.js"), LIVE_JS)?;
    let log = open_log(&NatsArgs::default(), &dir).await?;
    let log_length = log.len().await?;
    let checkpoint = Stored::read(&log).await?.texts()?.pop();
    let mut p = catch_up(&dir, &log, 50_000, Open::Shared).await?;
    let model = p.model()?;
    let digest = p.digest_hex()?;
    let today = p.overview().latest.date();
    let origin = p.overview().origin.clone().unwrap_or_default();
    let params = Params {
        today,
        receipt_days: 30,
    };
    let today = today.to_string();
    let meta = PageMeta {
        as_of: None,
        today: &today,
        position: p.position,
        log_length,
        digest: &digest,
        generated_at: "2026-12-31T12:00:00Z",
        origin: &origin,
        checkpoint: checkpoint.as_deref(),
        live: true,
    };
    for page in Page::ALL {
        let views: Vec<_> = page
            .views()
            .iter()
            .map(|v| build(&model, *v, &params))
            .collect();
        let name = if page.slug().is_empty() {
            "overview"
        } else {
            page.slug()
        };
        std::fs::write(
            out.join(format!("{name}.html")),
            render(page, &views, &meta),
        )?;
    }
    std::fs::write(out.join("error.html"), super::error_page("invalid date"))?;
    Ok(())
}
