//! Measures what one atomic batch (ADR-50) costs on a nats-server, apart from
//! tallinn: one publisher commits 3,200 messages of 250 bytes as batches of SIZE,
//! each conditional on its subject's last sequence (the shape of a ledger append),
//! into a scratch stream `L` (deleted and re-created: use a scratch server).
//!
//! `cargo run --release -p tallinn-nats --example atomic_batch_latency -- HOST:PORT [SIZE] [msgid]`

use async_nats::jetstream::{self, stream};
use async_nats::HeaderMap;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let url = std::env::args().nth(1).unwrap_or("127.0.0.1:14222".into());
    let size: usize = std::env::args()
        .nth(2)
        .unwrap_or("64".into())
        .parse()
        .unwrap();
    let msgid = std::env::args().nth(3).is_some();
    let nb = 3200 / size;
    let client = async_nats::connect(url).await.unwrap();
    let js = jetstream::new(client.clone());
    let _ = js.delete_stream("L").await;
    js.create_stream(stream::Config {
        name: "L".into(),
        subjects: vec!["l.>".into()],
        allow_atomic_publish: true,
        allow_direct: true,
        duplicate_window: std::time::Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut expected = 0u64;
    let t = Instant::now();
    for b in 0..nb {
        let tb = Instant::now();
        for i in 1..=size {
            let mut h = HeaderMap::new();
            h.insert("Nats-Batch-Id", format!("b{b}").as_str());
            h.insert("Nats-Batch-Sequence", i.to_string().as_str());
            if msgid {
                h.insert("Nats-Msg-Id", format!("{b}-{i}").as_str());
            }
            if i == 1 {
                h.insert(
                    "Nats-Expected-Last-Subject-Sequence",
                    expected.to_string().as_str(),
                );
            }
            let payload: bytes::Bytes = vec![7u8; 250].into();
            if i < size {
                client
                    .publish_with_headers("l.a", h, payload)
                    .await
                    .unwrap();
            } else {
                h.insert("Nats-Batch-Commit", "1");
                let a = js
                    .send_publish(
                        "l.a",
                        jetstream::message::PublishMessage::build()
                            .payload(payload)
                            .headers(h),
                    )
                    .await
                    .unwrap()
                    .await
                    .unwrap();
                expected = a.sequence;
            }
        }
        let _ = tb;
    }
    println!(
        "{nb} batches of {size}: {:?} = {:.0} msg/s",
        t.elapsed(),
        (nb * size) as f64 / t.elapsed().as_secs_f64()
    );
}
