//! A minimal HTTP/1.1 client for Concerta's REST API on 127.0.0.1 (one request per connection).

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub async fn request(port: u16, method: &str, path: &str, token: &str, body: Option<&Value>) -> Result<Value> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    tcp.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    let (head, rest) = text.split_once("\r\n\r\n").context("no HTTP header end")?;
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("status")?;
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let payload = if chunked { dechunk(rest) } else { rest.to_string() };
    if !(200..300).contains(&status) {
        bail!("{method} {path}: HTTP {status}: {payload}");
    }
    if payload.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&payload).with_context(|| format!("{method} {path}: not JSON: {payload}"))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
