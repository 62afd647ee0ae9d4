//! Shared helpers: a loopback capture server (wiremock on 127.0.0.1), a raw client pointed at it,
//! and the record fixtures of `tests/fixtures/records`.

use std::future::Future;
use std::path::PathBuf;

use ontime_raw::types::Fault;
use ontime_raw::{Client, Error, Hooks, ResponseValue};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The API key every test client sends; snapshots must never contain it.
pub const API_KEY: &str = "0d1b7c52-secret-test-key";
/// The company id in every test URL.
pub const COMPANY: &str = "acme";

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/records/{name}.json"))
}

/// A record fixture as raw JSON text.
pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// A record fixture decoded into its generated type.
pub fn fixture<T: DeserializeOwned>(name: &str) -> T {
    let text = fixture_text(name);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {name} does not decode: {e}"))
}

/// A raw client for `server`, authenticating with [`API_KEY`] the way OnTime expects.
pub fn client(server: &MockServer) -> Client {
    client_with(server, Hooks::new())
}

/// A raw client for `server` with the given hooks (plus the test key).
pub fn client_with(server: &MockServer, hooks: Hooks) -> Client {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client");
    let hooks = hooks.api_key(API_KEY).expect("valid key");
    Client::new_with_client(&format!("{}/sites/{COMPANY}", server.uri()), http, hooks)
}

/// A reply with a JSON body.
pub fn json_reply(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string().into_bytes(), "application/json")
}

/// Starts a loopback server answering every request with `reply`, runs `call` against it and
/// returns the one request the server saw (as a snapshot-ready JSON value) and the call's result.
pub async fn exchange<T, F, Fut>(
    reply: ResponseTemplate,
    call: F,
) -> (Value, Result<ResponseValue<T>, Error<Fault>>)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = Result<ResponseValue<T>, Error<Fault>>>,
{
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(reply).mount(&server).await;
    let result = call(client(&server)).await;
    let requests = server.received_requests().await.unwrap_or_default();
    if let Err(error) = &result {
        assert!(!requests.is_empty(), "no request was sent: {error}");
    }
    assert_eq!(requests.len(), 1, "expected exactly one request");
    (describe(&requests[0]), result)
}

/// Method, path, exact query string, headers (key redacted) and body of a captured request.
pub fn describe(request: &wiremock::Request) -> Value {
    let mut headers = serde_json::Map::new();
    for (name, value) in &request.headers {
        let name = name.as_str();
        if matches!(name, "host" | "content-length") {
            continue;
        }
        let value = value.to_str().unwrap_or("<binary>");
        let shown = if name == "authorization" {
            assert_eq!(
                value, API_KEY,
                "the raw key goes in Authorization, with no scheme"
            );
            "[api key]".to_string()
        } else {
            value.to_string()
        };
        headers.insert(name.to_string(), Value::String(shown));
    }
    let body = if request.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&request.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&request.body).into_owned()))
    };
    let described = json!({
        "method": request.method.as_str(),
        "path": request.url.path(),
        "query": request.url.query(),
        "headers": headers,
        "body": body,
    });
    assert!(
        !described.to_string().contains(API_KEY),
        "the API key leaked into a snapshot"
    );
    described
}
