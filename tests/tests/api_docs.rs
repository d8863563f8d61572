//! The Swagger UI page of `tallinn serve` (`/api/v1/docs/`): its files come
//! from the node (nothing from elsewhere), and in a real browser it lists
//! every operation of the OpenAPI document without a console error.
//!
//! Needs chromium and chromedriver (`scripts/install-chromium.sh`); without
//! them the browser test fails, it is never skipped.

mod common;

use common::browser::{poll, Browser};
use common::node::{demo, Node};

/// The operations of the node's OpenAPI document.
fn operations(node: &Node) -> usize {
    let doc = node.get("/api/v1/openapi.json").json();
    doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum()
}

#[test]
fn the_docs_page_and_its_files_are_served_by_the_node() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let page = node.get("/api/v1/docs/");
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("swagger-ui"), "{html}");
    for file in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-initializer.js",
    ] {
        let a = node.get(&format!("/api/v1/docs/{file}"));
        assert_eq!(a.status, 200, "{file}");
        assert!(a.text().len() > 100, "{file} is served whole");
    }
    let init = node.get("/api/v1/docs/swagger-initializer.js").text();
    assert!(init.contains("/api/v1/openapi.json"), "{init}");
    // Nothing is fetched from elsewhere: no absolute URL in the page or its
    // set-up, and the online validator is off.
    for text in [&html, &init] {
        assert!(
            !text.contains("https://") && !text.contains("http://"),
            "{text}"
        );
    }
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    assert!(operations(&node) >= 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_lists_every_operation_in_a_browser() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let want = operations(&node);
    let b = Browser::start(true).await;
    b.goto(&format!("http://{}/api/v1/docs/", node.addr)).await;
    let shown = poll("the operations listed", 30, || async {
        let n = b
            .js("return document.querySelectorAll('.opblock').length")
            .await
            .as_u64()
            .unwrap_or(0) as usize;
        (n >= want).then_some(n)
    })
    .await;
    assert_eq!(shown, want, "one block per operation");
    let severe = b.severe();
    assert!(severe.is_empty(), "console errors: {severe:?}");
}
