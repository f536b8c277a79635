//! Which credential to build from the resolved configuration. Nothing else in gwb knows the
//! credential kinds: the rest holds an `Arc<dyn TokenCredential>` and asks it for tokens.
//!
//! Adding a kind means a variant of [`AuthKind`], its inputs in [`AuthInputs`] (filled by
//! `config.rs`), and an arm in [`credential`].

use std::sync::Arc;

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::time::{Duration as AzDuration, OffsetDateTime};
use azure_identity::ClientSecretCredential;
use serde::{Deserialize, Serialize};

/// How gwb signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum AuthKind {
    /// A bearer token obtained elsewhere, from `GWB_ACCESS_TOKEN` (also used for the emulator).
    AccessToken,
    /// An app registration's client secret: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// `AZURE_CLIENT_SECRET`.
    ClientSecret,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::AccessToken => "access-token",
            AuthKind::ClientSecret => "client-secret",
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
        AuthKind::ClientSecret => {
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
            let cred = ClientSecretCredential::new(tenant, client, secret, None).map_err(|e| {
                AuthError::Build {
                    kind: "client-secret",
                    detail: e.to_string(),
                }
            })?;
            Ok(cred)
        }
    }
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
