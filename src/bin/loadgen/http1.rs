//! The little of HTTP/1.1 the load generator's listeners need (the stand-in language model
//! and the broadcast callback listener): requests read one after another off a keep-alive
//! connection, bodies sized by `content-length`. Cheap and steady, not a general server.

use tokio::{io::AsyncReadExt, net::TcpStream};

/// One request: its head, lowercased, and its body.
pub struct Request {
    pub head: String,
    pub body: Vec<u8>,
}

/// The next request on `stream` (`buf` carries what was read past the previous one), or `None`
/// when the peer closed the connection.
pub async fn next_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Request>> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if !read_more(stream, buf).await? {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        if !read_more(stream, buf).await? {
            return Ok(None);
        }
    }
    let body = buf[head_end..head_end + length].to_vec();
    buf.drain(..head_end + length);
    Ok(Some(Request { head, body }))
}

/// Appends what the socket has; false at its end.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}
