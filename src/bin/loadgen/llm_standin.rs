//! A stand-in language model for benchmarks: answers every `POST …/chat/completions` with the
//! same valid answer after a fixed latency, over keep-alive HTTP/1.1, and counts the calls.
//! (The test suite has its own scripted stand-in; this one only has to be cheap and steady.)

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
};

use crate::http1::next_request;

/// What every call gets: a short reply and a usage report.
fn answer_body() -> String {
    let content = serde_json::json!({
        "reply": "Thanks! Our team answers within the hour.",
        "handoff": false, "handoff_reason": null, "lead_stage": null, "memories": [],
    });
    serde_json::json!({
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content.to_string()}}],
        "usage": {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320},
    })
    .to_string()
}

/// Serves until killed; prints the number of calls every 10 s.
pub async fn llm_standin(port: u16, latency: Duration) -> Result<(), String> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on {port}: {e}"))?;
    let calls = Arc::new(AtomicU64::new(0));
    let body = Arc::new(answer_body());
    let counter = calls.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            eprintln!("llm-standin: {} calls", counter.load(Ordering::Relaxed));
        }
    });
    loop {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let (calls, body) = (calls.clone(), body.clone());
        tokio::spawn(async move {
            let _ = serve(stream, latency, &calls, &body).await;
        });
    }
}

/// One keep-alive connection: request after request, each answered after `latency`.
async fn serve(
    mut stream: TcpStream,
    latency: Duration,
    calls: &AtomicU64,
    body: &str,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(16 * 1024);
    while let Some(request) = next_request(&mut stream, &mut buf).await? {
        calls.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(latency).await;
        let (status, payload) = if request.head.starts_with("get ") {
            ("200 OK", "{\"data\": []}")
        } else {
            ("200 OK", body)
        };
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{payload}",
            payload.len()
        );
        stream.write_all(response.as_bytes()).await?;
    }
    Ok(())
}
