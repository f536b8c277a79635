//! Sign-in through azure_identity against a wiremock token endpoint. The sign-in host must be
//! https, so the credential's requests go through a transport that records where they were
//! meant to go and sends them to the local mock instead.

use std::sync::{Arc, Mutex};

use azure_core::credentials::Secret;
use azure_core::http::{AsyncRawResponse, HttpClient, Request, Transport, new_http_client};
use gwb::auth::{AuthInputs, AuthKind, credential};
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Sends every request to `to`, remembering the URL it was meant for.
#[derive(Debug)]
struct Redirect {
    to: url::Url,
    meant_for: Mutex<Vec<String>>,
    inner: Arc<dyn HttpClient>,
}

#[async_trait::async_trait]
impl HttpClient for Redirect {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        self.meant_for
            .lock()
            .unwrap()
            .push(request.url().to_string());
        let mut r = request.clone();
        let u = r.url_mut();
        u.set_scheme(self.to.scheme()).unwrap();
        u.set_host(self.to.host_str()).unwrap();
        u.set_port(self.to.port()).unwrap();
        self.inner.execute_request(&r).await
    }
}

fn inputs(server: &MockServer, authority: &str, secret: &str) -> (AuthInputs, Arc<Redirect>) {
    let redirect = Arc::new(Redirect {
        to: server.uri().parse().unwrap(),
        meant_for: Mutex::new(Vec::new()),
        inner: new_http_client(None),
    });
    let inputs = AuthInputs {
        tenant_id: Some("contoso.onmicrosoft.us".into()),
        client_id: Some("00000000-0000-0000-0000-0000000000c1".into()),
        client_secret: Some(Secret::new(secret.to_string())),
        authority_host: authority.into(),
        transport: Some(Transport::new(redirect.clone())),
        ..Default::default()
    };
    (inputs, redirect)
}

#[tokio::test]
async fn client_secret_signs_in_at_the_clouds_authority_for_the_graph_scope() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.us/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("graph.microsoft.us%2F.default"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
            "access_token": "issued-token"})))
        .expect(1)
        .mount(&server)
        .await;
    let (inputs, redirect) = inputs(&server, "https://login.microsoftonline.us", "right");
    let cred = credential(AuthKind::ClientSecret, &inputs).unwrap();
    let t = cred
        .get_token(&["https://graph.microsoft.us/.default"], None)
        .await
        .unwrap();
    assert_eq!(t.token.secret(), "issued-token");
    // Cached: a second ask makes no request (the mock expects exactly one).
    cred.get_token(&["https://graph.microsoft.us/.default"], None)
        .await
        .unwrap();
    let meant = redirect.meant_for.lock().unwrap().clone();
    assert_eq!(
        meant,
        vec!["https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/v2.0/token"]
    );
}

#[tokio::test]
async fn a_bad_secret_is_explained() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID. Trace ID: 1 Correlation ID: 2",
            "error_codes": [7000215]})))
        .mount(&server)
        .await;
    let (inputs, _) = inputs(&server, "https://login.microsoftonline.com", "wrong");
    let cred = credential(AuthKind::ClientSecret, &inputs).unwrap();
    let e = cred
        .get_token(&["https://graph.microsoft.com/.default"], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("AADSTS7000215"), "{e}");
    let explained = gwb::auth::explain(&e);
    assert!(
        explained.contains("the client secret is wrong"),
        "{explained}"
    );
}

#[tokio::test]
async fn workload_identity_sends_the_federated_token_file_as_the_assertion() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.us/oauth2/v2.0/token"))
        .and(body_string_contains("client_assertion=eyJhbGciOi.k8s-sa-token.sig"))
        .and(body_string_contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "federated-token"})))
        .expect(1)
        .mount(&server)
        .await;
    let dir = crate::support::temp_dir("wi");
    let file = dir.join("token");
    std::fs::write(&file, "eyJhbGciOi.k8s-sa-token.sig").unwrap();
    let (mut inputs, redirect) = inputs(&server, "https://login.microsoftonline.us", "unused");
    inputs.client_secret = None;
    inputs.federated_token_file = Some(file);
    let cred = credential(AuthKind::WorkloadIdentity, &inputs).unwrap();
    let t = cred
        .get_token(&["https://graph.microsoft.us/.default"], None)
        .await
        .unwrap();
    assert_eq!(t.token.secret(), "federated-token");
    assert!(redirect.meant_for.lock().unwrap()[0].starts_with("https://login.microsoftonline.us/"));

    // Without the file setting, the error names the variable.
    inputs.federated_token_file = None;
    let e = credential(AuthKind::WorkloadIdentity, &inputs).unwrap_err();
    assert!(e.to_string().contains("AZURE_FEDERATED_TOKEN_FILE"), "{e}");
}

#[tokio::test]
async fn managed_identity_asks_the_instance_metadata_service() {
    let server = MockServer::start().await;
    let expires = (std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Mock::given(method("GET"))
        .and(path("/metadata/identity/oauth2/token"))
        .and(wiremock::matchers::header("metadata", "true"))
        .and(wiremock::matchers::query_param(
            "resource",
            "https://graph.microsoft.com",
        ))
        .and(wiremock::matchers::query_param(
            "client_id",
            "00000000-0000-0000-0000-0000000000c1",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "mi-token", "expires_on": expires.to_string(),
            "resource": "https://graph.microsoft.com", "token_type": "Bearer"})))
        .mount(&server)
        .await;
    let (mut inputs, redirect) = inputs(&server, "https://login.microsoftonline.com", "unused");
    inputs.client_secret = None;
    inputs.tenant_id = None;
    // AZURE_CLIENT_ID selects a user-assigned identity.
    let cred = credential(AuthKind::ManagedIdentity, &inputs).unwrap();
    let t = cred
        .get_token(&["https://graph.microsoft.com/.default"], None)
        .await
        .unwrap();
    assert_eq!(t.token.secret(), "mi-token");
    let meant = redirect.meant_for.lock().unwrap().clone();
    assert!(
        meant
            .iter()
            .all(|u| u.starts_with("http://169.254.169.254/metadata/identity/oauth2/token")),
        "{meant:?}"
    );
}

/// Stands in for `az`, recording how it was called.
#[derive(Debug, Default)]
struct FakeAz {
    calls: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl azure_identity::Executor for FakeAz {
    async fn run(
        &self,
        program: &std::ffi::OsStr,
        args: &[&std::ffi::OsStr],
    ) -> std::io::Result<std::process::Output> {
        use std::os::unix::process::ExitStatusExt;
        let line: Vec<String> = std::iter::once(program)
            .chain(args.iter().copied())
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        self.calls.lock().unwrap().push(line.join(" "));
        let expires = (std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        Ok(std::process::Output {
            status: std::process::ExitStatus::from_raw(0),
            stdout: format!(
                r#"{{"accessToken":"cli-token","expires_on":{expires},"tokenType":"Bearer"}}"#
            )
            .into_bytes(),
            stderr: Vec::new(),
        })
    }
}

#[tokio::test]
async fn azure_cli_is_asked_for_a_graph_token() {
    let az = Arc::new(FakeAz::default());
    let inputs = AuthInputs {
        tenant_id: Some("contoso.onmicrosoft.com".into()),
        cli_executor: Some(az.clone()),
        ..Default::default()
    };
    let cred = credential(AuthKind::AzureCli, &inputs).unwrap();
    let t = cred
        .get_token(&["https://graph.microsoft.com/.default"], None)
        .await
        .unwrap();
    assert_eq!(t.token.secret(), "cli-token");
    let calls = az.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].contains("az account get-access-token")
            && calls[0].contains("--scope https://graph.microsoft.com/.default")
            && calls[0].contains("--tenant contoso.onmicrosoft.com"),
        "{calls:?}"
    );
}
