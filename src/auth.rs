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
    #[error(
        "auth = {kind} needs {what}; set it in the environment (secrets are never read from flags)"
    )]
    Missing {
        kind: &'static str,
        what: &'static str,
    },
    #[error("cannot build the {kind} credential: {detail}")]
    Build { kind: &'static str, detail: String },
}

/// Build the credential for `kind`.
pub fn credential(
    kind: AuthKind,
    inputs: &AuthInputs,
) -> Result<Arc<dyn TokenCredential>, AuthError> {
    match kind {
        AuthKind::AccessToken => {
            let token = inputs.access_token.clone().ok_or(AuthError::Missing {
                kind: "access-token",
                what: "GWB_ACCESS_TOKEN",
            })?;
            Ok(Arc::new(StaticToken::new(token)))
        }
        AuthKind::ClientSecret => client_secret(inputs),
        AuthKind::ClientCertificate => client_certificate(inputs),
        AuthKind::WorkloadIdentity => {
            let missing = |what| AuthError::Missing {
                kind: "workload-identity",
                what,
            };
            let tenant = inputs.tenant_id.clone().ok_or(missing("AZURE_TENANT_ID"))?;
            let client = inputs.client_id.clone().ok_or(missing("AZURE_CLIENT_ID"))?;
            let file = inputs
                .federated_token_file
                .clone()
                .ok_or(missing("AZURE_FEDERATED_TOKEN_FILE"))?;
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
            Ok(cred)
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
    let missing = |what| AuthError::Missing {
        kind: "client-secret",
        what,
    };
    let tenant = inputs
        .tenant_id
        .as_deref()
        .ok_or(missing("AZURE_TENANT_ID"))?;
    let client = inputs.client_id.clone().ok_or(missing("AZURE_CLIENT_ID"))?;
    let secret = inputs
        .client_secret
        .clone()
        .ok_or(missing("AZURE_CLIENT_SECRET"))?;
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
    let missing = |what| AuthError::Missing { kind: KIND, what };
    let tenant = inputs.tenant_id.clone().ok_or(missing("AZURE_TENANT_ID"))?;
    let client = inputs.client_id.clone().ok_or(missing("AZURE_CLIENT_ID"))?;
    let path = inputs
        .client_certificate
        .as_deref()
        .ok_or(missing("AZURE_CLIENT_CERTIFICATE_PATH"))?;
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
