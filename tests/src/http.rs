//! A minimal HTTP/1.1 client for the end-to-end tests, over a plain TCP
//! socket, so a test sees exactly what aduan sent.

use std::net::SocketAddr;

/// A minimal HTTP/1.1 client over a TCP socket: `(status, body)`, or `None`
/// when no answer comes (nothing listens, or the process stopped mid-request).
pub async fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    let (status, _, body) = try_http_with_head(addr, method, path, headers, body).await?;
    Some((status, body))
}

/// [`try_http`], with the response's status line and headers as sent:
/// `(status, head, body)`.
pub async fn try_http_with_head(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    // A server may answer early (413) or stop mid-request: read what came back either way.
    if s.write_all(req.as_bytes()).await.is_ok() {
        let _ = s.write_all(body).await;
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_owned(), b.to_owned()))
        .unwrap_or((text.clone(), String::new()));
    Some((status, head, body))
}

/// [`try_http`] to a process that must be listening.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    try_http(addr, method, path, headers, body)
        .await
        .expect("connect to aduan")
}

/// POSTs JSON, or `None` when nothing listens.
pub async fn try_post_json(
    addr: SocketAddr,
    path: &str,
    json: &serde_json::Value,
) -> Option<(u16, serde_json::Value)> {
    let headers = [("Content-Type", "application/json")];
    let (status, body) =
        try_http(addr, "POST", path, &headers, json.to_string().as_bytes()).await?;
    Some((
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    ))
}

/// POSTs JSON.
pub async fn post_json(
    addr: SocketAddr,
    path: &str,
    json: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let (status, body) = http(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        json.to_string().as_bytes(),
    )
    .await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// GETs JSON.
pub async fn get_json(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = http(addr, "GET", path, &[], b"").await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}
