//! Which credential to build from the resolved configuration. Nothing else in gwb knows the
//! credential kinds: the rest holds an `Arc<dyn TokenCredential>` and asks it for tokens.
//!
//! Adding a kind means a variant of [`AuthKind`], its inputs in [`AuthInputs`] (filled by
//! `config.rs`), and an arm in [`credential`].

use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{
    AccessToken, Secret, SecretBytes, TokenCredential, TokenRequestOptions,
};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions};
use azure_core::time::{Duration as AzDuration, OffsetDateTime};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions,
    ClientCertificateCredential, ClientCertificateCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};

pub mod certificate;

pub use crate::cli::AuthKind;

impl AuthKind {
    /// True for kinds that sign in and so can get a fresh token; a token given from outside
    /// cannot be renewed by gwb.
    pub(crate) fn signs_in(self) -> bool {
        !matches!(self, AuthKind::AccessToken)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AuthKind::AccessToken => "access-token",
            AuthKind::ClientSecret => "client-secret",
            AuthKind::ClientCertificate => "client-certificate",
            AuthKind::WorkloadIdentity => "workload-identity",
            AuthKind::ManagedIdentity => "managed-identity",
            AuthKind::AzureCli => "azure-cli",
        }
    }
}

/// What the credential kinds may need, as resolved by config. Secrets are `Secret`s, whose
/// Debug output is redacted.
#[derive(Debug, Clone, Default)]
pub struct AuthInputs {
    pub access_token: Option<Secret>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// A PEM file holding the certificate and its private key, or a PFX (PKCS#12) file.
    pub client_certificate: Option<std::path::PathBuf>,
    /// The password of an encrypted PEM key or of a PFX file.
    pub client_certificate_password: Option<Secret>,
    /// The sign-in host (https), from the cloud or `AZURE_AUTHORITY_HOST`.
    pub authority_host: String,
    /// The service account token file for workload identity (`AZURE_FEDERATED_TOKEN_FILE`).
    pub federated_token_file: Option<std::path::PathBuf>,
    /// How the Azure CLI is run (default: the real `az`). A seam for tests.
    pub cli_executor: Option<Arc<dyn azure_identity::Executor>>,
    /// Where the credential's own HTTP requests go (default: azure_core's client). A seam for
    /// tests: the sign-in host must be https, so tests redirect requests to a local server here.
    pub transport: Option<azure_core::http::Transport>,
}

/// AADSTS codes people meet, with what to do. Matched in the sign-in error's text.
const AADSTS: &[(&str, &str)] = &[
    (
        "AADSTS7000215",
        "the client secret is wrong: check AZURE_CLIENT_SECRET is the secret's value, not its id",
    ),
    (
        "AADSTS7000222",
        "the client secret has expired: create a new one in the app registration",
    ),
    (
        "AADSTS700027",
        "the certificate or client assertion was not accepted: check it is the one uploaded to the app registration and not expired",
    ),
    (
        "AADSTS700016",
        "no application with this client id in the tenant: check AZURE_CLIENT_ID and AZURE_TENANT_ID",
    ),
    (
        "AADSTS90002",
        "the tenant was not found: check AZURE_TENANT_ID, and the cloud (a national-cloud tenant signs in elsewhere)",
    ),
    (
        "AADSTS900023",
        "the tenant id is not valid: give a GUID or a domain such as contoso.onmicrosoft.com",
    ),
    (
        "AADSTS65001",
        "the app has not been consented: an administrator must grant admin consent for its permissions",
    ),
    (
        "AADSTS70021",
        "no federated credential matches this token: check the issuer and subject of the app's federated credential",
    ),
];

/// What people meet that carries no AADSTS code.
const OTHER: &[(&str, &str)] = &[(
    "EOF while parsing a value",
    "the sign-in host answered with an empty body, as during an outage or from a proxy in the way; check the authority host and try again later",
)];

/// A sign-in error with the meaning of its AADSTS code appended, where known.
pub fn explain(error: &str) -> String {
    if let Some((code, meaning)) = AADSTS.iter().find(|(code, _)| error.contains(code)) {
        return format!("{error} ({code}: {meaning})");
    }
    match OTHER.iter().find(|(text, _)| error.contains(text)) {
        Some((_, meaning)) => format!("{error} ({meaning})"),
        None => error.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("auth = {kind} needs {what}; secrets are never read from flags")]
    Missing { kind: &'static str, what: String },
    #[error("cannot build the {kind} credential: {detail}")]
    Build { kind: &'static str, detail: String },
}

/// Each input a sign-in kind reads, by every name it can be given.
const TENANT: &str = "AZURE_TENANT_ID (or tenant_id in the config file)";
const CLIENT: &str = "AZURE_CLIENT_ID (or client_id)";
const CLIENT_SECRET: &str =
    "AZURE_CLIENT_SECRET (or GWB_CLIENT_SECRET_FILE, or client_secret or client_secret_file)";
const CERTIFICATE: &str = "AZURE_CLIENT_CERTIFICATE_PATH (or client_certificate_path)";
const FEDERATED_TOKEN: &str = "AZURE_FEDERATED_TOKEN_FILE";
const ACCESS_TOKEN: &str = "GWB_ACCESS_TOKEN (or GWB_ACCESS_TOKEN_FILE, or access_token_file)";

/// Every input `kind` lacks, said at once (not one per attempt).
fn need(kind: &'static str, inputs: &[(bool, &str)]) -> Result<(), AuthError> {
    let missing: Vec<&str> = inputs
        .iter()
        .filter(|(present, _)| !present)
        .map(|(_, name)| *name)
        .collect();
    let what = match missing.as_slice() {
        [] => return Ok(()),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    Err(AuthError::Missing { kind, what })
}

/// Build the credential for `kind`.
pub fn credential(
    kind: AuthKind,
    inputs: &AuthInputs,
) -> Result<Arc<dyn TokenCredential>, AuthError> {
    match kind {
        AuthKind::AccessToken => {
            need(
                "access-token",
                &[(inputs.access_token.is_some(), ACCESS_TOKEN)],
            )?;
            let Some(token) = inputs.access_token.clone() else {
                unreachable!("need() checked it");
            };
            Ok(Arc::new(StaticToken::new(token)))
        }
        AuthKind::ClientSecret => client_secret(inputs).map(|c| at_host(c, inputs)),
        AuthKind::ClientCertificate => client_certificate(inputs).map(|c| at_host(c, inputs)),
        AuthKind::WorkloadIdentity => {
            need(
                "workload-identity",
                &[
                    (inputs.tenant_id.is_some(), TENANT),
                    (inputs.client_id.is_some(), CLIENT),
                    (inputs.federated_token_file.is_some(), FEDERATED_TOKEN),
                ],
            )?;
            let tenant = inputs.tenant_id.clone().unwrap_or_default();
            let client = inputs.client_id.clone().unwrap_or_default();
            let file = inputs.federated_token_file.clone().unwrap_or_default();
            let options = WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: client_options(inputs),
                },
                client_id: Some(client),
                tenant_id: Some(tenant),
                token_file_path: Some(file),
            };
            let cred =
                WorkloadIdentityCredential::new(Some(options)).map_err(|e| AuthError::Build {
                    kind: "workload-identity",
                    detail: e.to_string(),
                })?;
            Ok(at_host(cred, inputs))
        }
        AuthKind::ManagedIdentity => {
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: inputs.client_id.clone().map(UserAssignedId::ClientId),
                client_options: client_options(inputs),
            };
            let cred =
                ManagedIdentityCredential::new(Some(options)).map_err(|e| AuthError::Build {
                    kind: "managed-identity",
                    detail: e.to_string(),
                })?;
            Ok(cred)
        }
        AuthKind::AzureCli => {
            let options = AzureCliCredentialOptions {
                tenant_id: inputs.tenant_id.clone(),
                executor: inputs.cli_executor.clone(),
                ..Default::default()
            };
            let cred = AzureCliCredential::new(Some(options)).map_err(|e| AuthError::Build {
                kind: "azure-cli",
                detail: e.to_string(),
            })?;
            Ok(cred)
        }
    }
}

/// A client-secret credential.
fn client_secret(inputs: &AuthInputs) -> Result<Arc<dyn TokenCredential>, AuthError> {
    need(
        "client-secret",
        &[
            (inputs.tenant_id.is_some(), TENANT),
            (inputs.client_id.is_some(), CLIENT),
            (inputs.client_secret.is_some(), CLIENT_SECRET),
        ],
    )?;
    let (Some(tenant), Some(client), Some(secret)) = (
        inputs.tenant_id.as_deref(),
        inputs.client_id.clone(),
        inputs.client_secret.clone(),
    ) else {
        unreachable!("need() checked every input");
    };
    let options = ClientSecretCredentialOptions {
        client_options: client_options(inputs),
    };
    let cred = ClientSecretCredential::new(tenant, client, secret, Some(options)).map_err(|e| {
        AuthError::Build {
            kind: "client-secret",
            detail: e.to_string(),
        }
    })?;
    Ok(cred)
}

/// A client-certificate credential: the PEM (key and certificate) is read and bundled as the
/// PKCS#12 azure_identity takes.
fn client_certificate(inputs: &AuthInputs) -> Result<Arc<dyn TokenCredential>, AuthError> {
    const KIND: &str = "client-certificate";
    need(
        KIND,
        &[
            (inputs.tenant_id.is_some(), TENANT),
            (inputs.client_id.is_some(), CLIENT),
            (inputs.client_certificate.is_some(), CERTIFICATE),
        ],
    )?;
    let (Some(tenant), Some(client), Some(path)) = (
        inputs.tenant_id.clone(),
        inputs.client_id.clone(),
        inputs.client_certificate.as_deref(),
    ) else {
        unreachable!("need() checked every input");
    };
    let build = |detail: String| AuthError::Build { kind: KIND, detail };
    let bytes =
        std::fs::read(path).map_err(|e| build(format!("cannot read {}: {e}", path.display())))?;
    let pkcs12 = certificate::to_pkcs12(
        &bytes,
        inputs.client_certificate_password.as_ref(),
        OffsetDateTime::now_utc().unix_timestamp(),
    )
    .map_err(|e| build(format!("{}: {e}", path.display())))?;
    let options = ClientCertificateCredentialOptions {
        client_options: client_options(inputs),
        password: Some(Secret::new(certificate::BUNDLE_PASSWORD)),
    };
    let cred =
        ClientCertificateCredential::new(tenant, client, SecretBytes::new(pkcs12), Some(options))
            .map_err(|e| build(e.to_string()))?;
    Ok(cred)
}

/// How a credential retries its sign-in host. azure_core's default keeps a failing token endpoint
/// busy for about 80 seconds (9 requests); a command-line tool should say what is wrong sooner.
/// Four requests over about 4 seconds ride out a blip; a real outage is reported, and the
/// scheduler's next run tries again.
pub(crate) fn sign_in_retry() -> RetryOptions {
    RetryOptions::exponential(ExponentialRetryOptions {
        initial_delay: AzDuration::milliseconds(250),
        max_retries: 3,
        max_total_elapsed: AzDuration::seconds(15),
        max_delay: AzDuration::seconds(4),
    })
}

/// Options that make a credential sign in at `authority_host` (empty: the global cloud).
fn client_options(inputs: &AuthInputs) -> ClientOptions {
    let authority_host = inputs.authority_host.as_str();
    let mut options = ClientOptions {
        transport: inputs.transport.clone(),
        retry: sign_in_retry(),
        ..Default::default()
    };
    if !authority_host.is_empty() {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = authority_host.trim_end_matches('/').to_string();
        options.cloud = Some(Arc::new(CloudConfiguration::Custom(custom)));
    }
    options
}

/// A fixed bearer token: for tokens obtained elsewhere, the emulator, and tests.
pub struct StaticToken {
    token: Secret,
}

impl StaticToken {
    pub fn new(token: impl Into<Secret>) -> Self {
        Self {
            token: token.into(),
        }
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

/// A credential that signs in at the authority host, whose failures name that host: a sign-in
/// host that cannot be reached (a proxy, a firewall, a typo in authority_host) is then said.
#[derive(Debug)]
struct AtHost {
    inner: Arc<dyn TokenCredential>,
    host: String,
}

fn at_host(inner: Arc<dyn TokenCredential>, inputs: &AuthInputs) -> Arc<dyn TokenCredential> {
    let host = match inputs.authority_host.as_str() {
        "" => "https://login.microsoftonline.com".to_string(),
        h => h.trim_end_matches('/').to_string(),
    };
    Arc::new(AtHost { inner, host })
}

#[async_trait::async_trait]
impl TokenCredential for AtHost {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.inner.get_token(scopes, options).await.map_err(|e| {
            azure_core::Error::with_message(
                e.kind().clone(),
                format!("signing in at {}: {e}", self.host),
            )
        })
    }
}

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        // We cannot know when a foreign token expires; Graph's 401 will say so.
        Ok(AccessToken::new(
            self.token.secret().to_string(),
            OffsetDateTime::now_utc() + AzDuration::hours(1),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_missing_input_is_named_at_once_by_variable_and_config_key() {
        let e = credential(AuthKind::ClientSecret, &AuthInputs::default())
            .unwrap_err()
            .to_string();
        for name in [
            "AZURE_TENANT_ID (or tenant_id in the config file)",
            "AZURE_CLIENT_ID (or client_id)",
            "AZURE_CLIENT_SECRET (or GWB_CLIENT_SECRET_FILE, or client_secret or client_secret_file)",
        ] {
            assert!(e.contains(name), "{name}: {e}");
        }
        let only = credential(
            AuthKind::ClientCertificate,
            &AuthInputs {
                tenant_id: Some("t".into()),
                client_id: Some("c".into()),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            only.contains("needs AZURE_CLIENT_CERTIFICATE_PATH (or client_certificate_path);"),
            "{only}"
        );
    }

    #[test]
    fn missing_inputs_name_the_variable() {
        let e = credential(AuthKind::AccessToken, &AuthInputs::default()).unwrap_err();
        assert!(e.to_string().contains("GWB_ACCESS_TOKEN"), "{e}");
        let inputs = AuthInputs {
            tenant_id: Some("contoso.onmicrosoft.com".into()),
            client_id: Some("c".into()),
            ..Default::default()
        };
        let e = credential(AuthKind::ClientSecret, &inputs).unwrap_err();
        assert!(e.to_string().contains("AZURE_CLIENT_SECRET"), "{e}");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let s = format!("{:?}", StaticToken::new("super-secret-token"));
        assert!(!s.contains("super-secret"), "{s}");
        let inputs = AuthInputs {
            access_token: Some(Secret::new("super-secret-token")),
            client_secret: Some(Secret::new("super-secret-value")),
            ..Default::default()
        };
        let s = format!("{inputs:?}");
        assert!(!s.contains("super-secret"), "{s}");
    }

    #[tokio::test]
    async fn static_token_hands_out_its_token() {
        let c = credential(
            AuthKind::AccessToken,
            &AuthInputs {
                access_token: Some(Secret::new("t0k")),
                ..Default::default()
            },
        )
        .unwrap();
        let t = c
            .get_token(&["https://graph.microsoft.com/.default"], None)
            .await
            .unwrap();
        assert_eq!(t.token.secret(), "t0k");
    }
}
