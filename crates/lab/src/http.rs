//! A plain HTTP/1.1 client for loopback servers (hyper's), so tests speak HTTP through a real
//! client instead of writing requests by hand.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// An answer: status, headers and the body as text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

/// Sends one request and reads the whole answer; panics (failing the test) if the server
/// cannot be reached, naming the URL.
pub async fn request(method: Method, url: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Answer {
    try_request(method, url, headers, body).await.unwrap_or_else(|e| panic!("{e}"))
}

/// The same, with a failure to connect or to read the answer as an error, for tests that
/// retry as a real client would.
pub async fn try_request(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Answer, String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = Request::builder().method(method.clone()).uri(url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Full::new(body.into())).map_err(|e| format!("{method} {url}: {e}"))?;
    let res = client.request(req).await.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.map_err(|e| format!("{method} {url}: body: {e}"))?.to_bytes();
    Ok(Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

/// GETs a loopback URL and returns status and body.
pub async fn get(url: &str) -> (u16, String) {
    let answer = request(Method::GET, url, &[], Bytes::new()).await;
    (answer.status, answer.body)
}

/// POSTs a JSON body and returns status and body.
pub async fn post_json(url: &str, json: &str) -> (u16, String) {
    let answer =
        request(Method::POST, url, &[("content-type", "application/json")], Bytes::from(json.to_string())).await;
    (answer.status, answer.body)
}
