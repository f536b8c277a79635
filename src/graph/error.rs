//! Everything that can go wrong talking to Graph, typed so commands can pick exit codes and
//! so every message keeps what Microsoft support asks for: status, code and request-id.

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Graph answered with an error status and (usually) its error body.
    #[error("{method} {path}: graph answered {status} {code}: {message}{}", request_id_suffix(.request_id))]
    Api {
        method: String,
        path: String,
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },

    /// We were about to send the token to a URL outside the configured Graph origin.
    #[error(
        "refused to follow {url}: it is not on the configured graph origin {origin}, and the token is only ever sent there (check the proxy or the graph_url setting)"
    )]
    ForeignOrigin { url: String, origin: String },

    /// Graph does not redirect API calls; a 3xx means a proxy or a wrong `graph_url`.
    #[error(
        "{method} {path}: unexpected redirect ({status}) to {location}; gwb does not follow redirects (check graph_url and any proxy in between)"
    )]
    Redirect {
        method: String,
        path: String,
        status: u16,
        location: String,
    },

    /// Connection refused or reset, timeouts, a body cut off.
    #[error("{method} {path}: {detail}")]
    Transport {
        method: String,
        path: String,
        detail: String,
    },

    /// The credential could not produce a token.
    #[error("could not get an access token: {0}")]
    Token(String),

    #[error(
        "{method} {path}: response body exceeds {limit} bytes, far larger than any Graph page; refusing to read it"
    )]
    BodyTooLarge {
        method: String,
        path: String,
        limit: usize,
    },

    /// A 2xx whose body is not what Graph sends.
    #[error("{method} {path}: malformed response: {detail}{}", request_id_suffix(.request_id))]
    Malformed {
        method: String,
        path: String,
        detail: String,
        request_id: Option<String>,
    },

    /// A paging chain that came back to a link it had already followed.
    #[error("paging loop: graph returned a nextLink that was already followed ({url})")]
    PagingLoop { url: String },

    /// A listing that does not end: more pages than `--max-pages`.
    #[error(
        "paging did not end: graph kept sending nextLinks past {limit} pages (GET {path}); stopped. If the tenant really is that large, raise --max-pages (GWB_MAX_PAGES)"
    )]
    TooManyPages { path: String, limit: u64 },

    /// A page that only repeats groups already listed: the chain is going round.
    #[error(
        "paging loop: page {page} of GET {path} holds only groups already listed ({repeated} of them) under a new link; stopped"
    )]
    PagingRepeats {
        path: String,
        page: u64,
        repeated: usize,
    },

    /// Attempts that each got no complete answer in time, in a row.
    #[error(
        "{method} {path}: the server stopped answering ({attempts} attempts in a row got no complete answer within the read or request timeout); giving up. Check the network path to Graph (a proxy or firewall that holds connections open), or raise --read-timeout / --request-timeout: {last}"
    )]
    Stalled {
        method: String,
        path: String,
        attempts: u32,
        last: Box<GraphError>,
    },

    /// Graph could not be reached at all on the run's first requests.
    #[error(
        "cannot reach {host}: {attempts} attempts to connect failed before any answer. Check graph_url (--graph-url, GWB_GRAPH_URL), the cloud, DNS, any proxy (HTTPS_PROXY) and firewall: {last}"
    )]
    Unreachable {
        host: String,
        attempts: u32,
        last: Box<GraphError>,
    },

    /// The run's overall deadline passed.
    #[error(
        "the run did not finish within its deadline of {secs} s (--deadline, GWB_DEADLINE); stopped{doing}"
    )]
    Deadline { secs: f64, doing: String },

    /// Retries ran out; `last` is the final failure.
    #[error("gave up after {attempts} attempts over {waited_secs:.1}s of waiting: {last}")]
    RetriesExhausted {
        attempts: u32,
        waited_secs: f64,
        last: Box<GraphError>,
    },

    /// The configured URL cannot be used at all.
    #[error("invalid graph url {url:?}: {reason}")]
    InvalidBase { url: String, reason: String },
}

fn request_id_suffix(id: &Option<String>) -> String {
    match id {
        Some(id) => format!(" (request-id: {id})"),
        None => String::new(),
    }
}

impl GraphError {
    /// The HTTP status Graph answered, when it answered one.
    pub fn status(&self) -> Option<u16> {
        match self {
            GraphError::Api { status, .. } | GraphError::Redirect { status, .. } => Some(*status),
            GraphError::RetriesExhausted { last, .. }
            | GraphError::Stalled { last, .. }
            | GraphError::Unreachable { last, .. } => last.status(),
            _ => None,
        }
    }

    /// True for failures of authentication or authorisation (token, 401, 403).
    pub fn is_auth(&self) -> bool {
        matches!(self, GraphError::Token(_)) || matches!(self.status(), Some(401 | 403))
    }
}

/// Graph's error body: `{"error":{"code","message","innerError":{"request-id",...}}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorDetail {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "innerError", alias = "innererror")]
    pub inner_error: Option<InnerError>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct InnerError {
    #[serde(default, rename = "request-id")]
    pub request_id: Option<String>,
}

/// Build an [`GraphError::Api`] from a status, the `request-id` header and the body, whatever the
/// body is (a proxy's HTML page gives a short excerpt instead of Graph's code).
pub(crate) fn api_error(
    method: &str,
    path: &str,
    status: u16,
    header_request_id: Option<String>,
    body: &[u8],
) -> GraphError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (code, message, body_request_id) = match parsed {
        Some(b) => (
            if b.error.code.is_empty() {
                "unknown".to_string()
            } else {
                b.error.code
            },
            b.error.message,
            b.error.inner_error.and_then(|i| i.request_id),
        ),
        None => (
            "unknown".to_string(),
            format!("response is not a Graph error body: {}", excerpt(body)),
            None,
        ),
    };
    GraphError::Api {
        method: method.to_string(),
        path: path.to_string(),
        status,
        code,
        message,
        request_id: header_request_id.or(body_request_id),
    }
}

/// The first few hundred characters of a body, on one line, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty body)".to_string();
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if body.len() > 200 {
        format!("{one_line}...")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_body_maps_code_message_and_request_id() {
        let body = br#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist.","innerError":{"date":"2026-11-22T10:00:00","request-id":"rid-1","client-request-id":"c"}}}"#;
        let e = api_error("GET", "/beta/groups/x", 404, None, body);
        let s = e.to_string();
        assert!(s.contains("404"), "{s}");
        assert!(s.contains("Request_ResourceNotFound"), "{s}");
        assert!(s.contains("does not exist"), "{s}");
        assert!(s.contains("request-id: rid-1"), "{s}");
        assert_eq!(e.status(), Some(404));
        assert!(!e.is_auth());
    }

    #[test]
    fn header_request_id_wins_and_html_is_excerpted() {
        let e = api_error(
            "GET",
            "/beta/groups",
            403,
            Some("hdr".into()),
            b"<html><body>Forbidden by proxy</body></html>",
        );
        let s = e.to_string();
        assert!(s.contains("request-id: hdr"), "{s}");
        assert!(s.contains("Forbidden by proxy"), "{s}");
        assert!(e.is_auth());
    }
}
