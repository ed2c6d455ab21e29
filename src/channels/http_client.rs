//! Sends a [`ProviderRequest`] built by a provider module with the shared reqwest client.
//! Errors never carry the URL (it may hold a token) or the Authorization header.

use std::time::Duration;

use crate::app::AppContext;
use crate::providers::normalized::ProviderRequest;

/// A provider's answer, read whole (up to a limit).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

/// Why a request got no usable answer.
#[derive(Debug)]
pub enum FetchError {
    /// Timeout, reset… worth trying again; the request may have reached the provider.
    Network(String),
    /// No connection was made: the request certainly did not reach the provider.
    Unreached(String),
    /// The answer was larger than allowed.
    TooLarge { limit: usize },
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Network(e) | FetchError::Unreached(e) => f.write_str(e),
            FetchError::TooLarge { limit } => {
                write!(f, "the file is larger than {limit} bytes")
            }
        }
    }
}

/// Sends `req` and reads the answer within `timeout`, refusing bodies over `limit` bytes.
pub async fn execute(
    app: &AppContext,
    req: &ProviderRequest,
    limit: usize,
    timeout: Duration,
) -> Result<Answer, FetchError> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes())
        .map_err(|_| FetchError::Network(format!("bad method {}", req.method)))?;
    let mut builder = app.http.request(method, &req.url).timeout(timeout);
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    let body = req.body.to_bytes();
    if !body.is_empty() {
        builder = builder.body(body);
    }
    let mut response = builder.send().await.map_err(|e| {
        if e.is_connect() {
            FetchError::Unreached(without_url(&e))
        } else {
            FetchError::Network(without_url(&e))
        }
    })?;
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let retry_after = header(reqwest::header::RETRY_AFTER);
    let status = response.status().as_u16();
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(FetchError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Network(without_url(&e)))?
    {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        content_type,
        retry_after,
        body,
    })
}

/// reqwest's errors embed the URL, which may carry a token in its query: keep only the kind.
pub fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "error"
    };
    match std::error::Error::source(e) {
        Some(src) if !e.is_timeout() => format!("{kind}: {src}"),
        _ => kind.to_owned(),
    }
}
