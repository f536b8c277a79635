//! Sign-in through azure_identity against a wiremock token endpoint. The sign-in host must be
//! https, so the credential's requests go through a transport that records where they were
//! meant to go and sends them to the local mock instead.

use crate::support::GraphMock;
use std::sync::{Arc, Mutex};

use azure_core::credentials::Secret;
use azure_core::http::{AsyncRawResponse, HttpClient, Request, Transport, new_http_client};
use gwb::auth::{AuthInputs, AuthKind, credential};
use serde_json::json;
use wiremock::matchers::body_string_contains;
use wiremock::{MockServer, ResponseTemplate};

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
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    server_mock
        .on("POST", "/contoso.onmicrosoft.us/oauth2/v2.0/token")
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("graph.microsoft.us%2F.default"))
        .expect(1)
        .with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
            "access_token": "issued-token"})))
        .await;
    let (inputs, redirect) = inputs(server, "https://login.microsoftonline.us", "right");
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
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    server_mock.method("POST").with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID. Trace ID: 1 Correlation ID: 2",
            "error_codes": [7000215]}))).await;
    let (inputs, _) = inputs(server, "https://login.microsoftonline.com", "wrong");
    let cred = credential(AuthKind::ClientSecret, &inputs).unwrap();
    let e = cred
        .get_token(&["https://graph.microsoft.com/.default"], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("AADSTS7000215"), "{e}");
    assert!(
        e.starts_with("signing in at https://login.microsoftonline.com: "),
        "the sign-in host is named: {e}"
    );
    let explained = gwb::auth::explain(&e);
    assert!(
        explained.contains("the client secret is wrong"),
        "{explained}"
    );
}

#[tokio::test]
async fn workload_identity_sends_the_federated_token_file_as_the_assertion() {
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    server_mock.on("POST", "/contoso.onmicrosoft.us/oauth2/v2.0/token").and(body_string_contains("client_assertion=eyJhbGciOi.k8s-sa-token.sig")).and(body_string_contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
        )).expect(1).with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "federated-token"}))).await;
    let dir = crate::support::temp_dir("wi");
    let file = dir.join("token");
    std::fs::write(&file, "eyJhbGciOi.k8s-sa-token.sig").unwrap();
    let (mut inputs, redirect) = inputs(server, "https://login.microsoftonline.us", "unused");
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
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    let expires = (std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    server_mock
        .on("GET", "/metadata/identity/oauth2/token")
        .and(wiremock::matchers::header("metadata", "true"))
        .and(wiremock::matchers::query_param(
            "resource",
            "https://graph.microsoft.com",
        ))
        .and(wiremock::matchers::query_param(
            "client_id",
            "00000000-0000-0000-0000-0000000000c1",
        ))
        .with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "mi-token", "expires_on": expires.to_string(),
            "resource": "https://graph.microsoft.com", "token_type": "Bearer"})))
        .await;
    let (mut inputs, redirect) = inputs(server, "https://login.microsoftonline.com", "unused");
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

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The form fields of the one token request the mock received.
async fn token_request_form(server: &MockServer) -> std::collections::HashMap<String, String> {
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1, "one token request");
    url::form_urlencoded::parse(&reqs[0].body)
        .into_owned()
        .collect()
}

fn decode_part(part: &str) -> serde_json::Value {
    serde_json::from_slice(&azure_core::base64::decode_url_safe(part).unwrap()).unwrap()
}

#[tokio::test]
async fn client_certificate_signs_an_assertion_the_certificate_verifies() {
    use gwb::auth::certificate::testing::{pem, pfx, self_signed};
    let now = unix_now();
    let (key, cert) = self_signed(now - 86_400, now + 86_400);
    let dir = crate::support::temp_dir("cert");
    let pem_path = dir.join("app.pem");
    std::fs::write(&pem_path, pem(&key, &cert, None)).unwrap();
    let pfx_path = dir.join("app.pfx");
    std::fs::write(&pfx_path, pfx(&key, &cert, "pfx-pass")).unwrap();

    for (file, password) in [(pem_path, None), (pfx_path, Some("pfx-pass"))] {
        let server_mock = GraphMock::start().await;
        let server = &server_mock.server;
        server_mock
            .on("POST", "/contoso.onmicrosoft.us/oauth2/v2.0/token")
            .with(ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "Bearer", "expires_in": 3599, "access_token": "cert-token"})))
            .await;
        let (mut inputs, _) = inputs(server, "https://login.microsoftonline.us", "unused");
        inputs.client_secret = None;
        inputs.client_certificate = Some(file.clone());
        inputs.client_certificate_password = password.map(Secret::new);
        let cred = credential(AuthKind::ClientCertificate, &inputs).unwrap();
        let t = cred
            .get_token(&["https://graph.microsoft.us/.default"], None)
            .await
            .unwrap();
        assert_eq!(t.token.secret(), "cert-token");

        let form = token_request_form(server).await;
        assert_eq!(form["grant_type"], "client_credentials");
        assert_eq!(form["scope"], "https://graph.microsoft.us/.default");
        assert!(!form.contains_key("client_secret"));
        let jwt = &form["client_assertion"];
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "{jwt}");
        let (header, payload) = (decode_part(parts[0]), decode_part(parts[1]));
        // Entra finds the certificate by its SHA-1 thumbprint and checks the RS256 signature.
        let thumb = cert.digest(openssl::hash::MessageDigest::sha1()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["x5t"], azure_core::base64::encode(&*thumb));
        assert_eq!(
            payload["aud"],
            "https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/v2.0/token"
        );
        assert_eq!(payload["iss"], "00000000-0000-0000-0000-0000000000c1");
        assert_eq!(payload["sub"], "00000000-0000-0000-0000-0000000000c1");
        let public = cert.public_key().unwrap();
        let mut verifier =
            openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &public).unwrap();
        verifier
            .update(format!("{}.{}", parts[0], parts[1]).as_bytes())
            .unwrap();
        let signature = azure_core::base64::decode_url_safe(parts[2]).unwrap();
        assert!(
            verifier.verify(&signature).unwrap(),
            "signed with {}'s key",
            file.display()
        );
    }
}

#[tokio::test]
async fn an_unusable_certificate_is_refused_before_any_request() {
    use gwb::auth::certificate::testing::{pem, self_signed};
    let now = unix_now();
    let (key, cert) = self_signed(now - 10 * 86_400, now - 86_400);
    let dir = crate::support::temp_dir("cert-expired");
    let p = dir.join("old.pem");
    std::fs::write(&p, pem(&key, &cert, None)).unwrap();
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    let (mut inputs, redirect) = inputs(server, "https://login.microsoftonline.com", "unused");
    inputs.client_certificate = Some(p.clone());
    let e = credential(AuthKind::ClientCertificate, &inputs)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("expired on") && e.contains(p.to_str().unwrap()),
        "{e}"
    );
    inputs.client_certificate = Some(dir.join("missing.pem"));
    let e = credential(AuthKind::ClientCertificate, &inputs)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot read") && e.contains("missing.pem"),
        "{e}"
    );
    inputs.client_certificate = None;
    let e = credential(AuthKind::ClientCertificate, &inputs)
        .unwrap_err()
        .to_string();
    assert!(e.contains("AZURE_CLIENT_CERTIFICATE_PATH"), "{e}");
    assert!(redirect.meant_for.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_rejected_certificate_is_explained() {
    use gwb::auth::certificate::testing::{pem, self_signed};
    let now = unix_now();
    let (key, cert) = self_signed(now - 86_400, now + 86_400);
    let dir = crate::support::temp_dir("cert-rejected");
    let p = dir.join("app.pem");
    std::fs::write(&p, pem(&key, &cert, None)).unwrap();
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    server_mock.method("POST").with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application. Trace ID: 1",
            "error_codes": [700027]}))).await;
    let (mut inputs, _) = inputs(server, "https://login.microsoftonline.com", "unused");
    inputs.client_certificate = Some(p);
    let cred = credential(AuthKind::ClientCertificate, &inputs).unwrap();
    let e = cred
        .get_token(&["https://graph.microsoft.com/.default"], None)
        .await
        .unwrap_err()
        .to_string();
    let explained = gwb::auth::explain(&e);
    assert!(
        explained.contains("AADSTS700027")
            && explained.contains("uploaded to the app registration"),
        "{explained}"
    );
}

/// The slow ones (soak, crash and timeout tests): `cargo test -- --skip slow::` leaves them
/// out of the inner loop; CI runs them all.
mod slow {
    #[allow(unused_imports)]
    use super::*;

    #[tokio::test]
    async fn a_failing_sign_in_host_is_given_up_on_after_four_requests() {
        // azure_core's default would try 9 times over about 80 seconds.
        let server_mock = GraphMock::start().await;
        let server = &server_mock.server;
        server_mock
            .method("POST")
            .with(ResponseTemplate::new(503))
            .await;
        let (inputs, _) = inputs(server, "https://login.microsoftonline.com", "s");
        let cred = credential(AuthKind::ClientSecret, &inputs).unwrap();
        let e = cred
            .get_token(&["https://graph.microsoft.com/.default"], None)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("ClientSecretCredential"), "{e}");
        let explained = gwb::auth::explain(&e.to_string());
        assert!(explained.contains("try again later"), "{explained}");
        assert_eq!(server.received_requests().await.unwrap().len(), 4);
    }
    /// A sign-in host that cannot be reached is named, the SDK's several lines read as indented
    /// lines (never a literal `\u{a}`), and nothing is said twice: no tenant-default warning
    /// repeats the sign-in failure.
    #[tokio::test(flavor = "multi_thread")]
    async fn an_unreachable_sign_in_host_is_named_once_in_readable_lines() {
        let mut cmd = crate::support::gwb_command();
        cmd.env("AZURE_TENANT_ID", "contoso.onmicrosoft.com")
            .env("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001")
            .env("AZURE_CLIENT_SECRET", "not-a-real-secret")
            .env("AZURE_AUTHORITY_HOST", "https://127.0.0.1:1")
            .args(["--auth", "client-secret", "report", "-o", "json"]);
        let out =
            tokio::time::timeout(std::time::Duration::from_secs(60), crate::support::run(cmd))
                .await
                .expect("gwb gives up on its own");
        let err = crate::support::stderr(&out);
        assert_ne!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("signing in at https://127.0.0.1:1"), "{err}");
        assert!(!err.contains("\\u{a}"), "{err}");
        assert!(!err.contains("cannot read the tenant default"), "{err}");
        assert!(!err.contains("not-a-real-secret"), "{err}");
        let error_lines = err
            .lines()
            .skip_while(|l| !l.starts_with("gwb: error:"))
            .count();
        assert!(
            error_lines >= 2,
            "the cause's second line is its own line: {err}"
        );
    }
}
