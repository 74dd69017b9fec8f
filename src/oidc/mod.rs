//! Sign-in for people with OpenID Connect: the authorization code flow with PKCE against any
//! compliant provider, found through its discovery document at `auth.oidc.issuer` when the
//! gateway starts. The `openidconnect` crate checks the ID token (signature against the
//! provider's keys, issuer, audience, expiry, nonce); this module only asks it and reads the
//! subject, the display name and the roles claim. Nothing else of the token is kept.
//!
//! When the provider's keys change, a token signed with a new key fails; the discovery document
//! and keys are then read again (at most once every `REFRESH_EVERY`) and the token tried once
//! more.

mod http;
pub mod roles;

use crate::config::OidcSettings;
use anyhow::{Context, bail};
use http::HttpClient;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, LogoutRequest, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse,
};
pub use roles::RoleMap;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

const REFRESH_EVERY: Duration = Duration::from_secs(300);

/// The claims of the ID token besides the standard ones: the roles claim is read from here.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    claims: HashMap<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type IdFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<IdFields, CoreTokenType>;
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What the provider knows of the gateway, read from its discovery document.
struct Discovered {
    client: OidcClient,
    end_session: Option<openidconnect::EndSessionUrl>,
}

pub struct Provider {
    settings: OidcSettings,
    http: HttpClient,
    roles: RoleMap,
    discovered: RwLock<Arc<Discovered>>,
    refreshed: Mutex<Instant>,
}

/// A sign-in sent to the provider: the URL to send the browser to, and what the callback needs.
pub struct Begun {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who signed in.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub name: Option<String>,
    /// The values of the roles claim (none when the token has no such claim).
    pub claim_values: Vec<String>,
}

/// Checks `[auth.oidc]` (without asking the provider): the URLs, the client id, the role
/// mapping.
pub fn check_settings(settings: &OidcSettings) -> anyhow::Result<RoleMap> {
    let roles = RoleMap::from_settings(settings)?;
    if !settings.enabled() {
        return Ok(roles);
    }
    web_url("auth.oidc.issuer", &settings.issuer)?;
    if settings.client_id.trim().is_empty() {
        bail!("auth.oidc.client_id: the client id the provider gave the gateway is required");
    }
    if settings.redirect_url.trim().is_empty() {
        bail!("auth.oidc.redirect_url: required: the gateway's address followed by /auth/callback");
    }
    let redirect = web_url("auth.oidc.redirect_url", &settings.redirect_url)?;
    if !redirect.path().ends_with("/auth/callback") {
        bail!(
            "auth.oidc.redirect_url: {:?} must end in /auth/callback",
            settings.redirect_url
        );
    }
    if !settings.post_logout_redirect_url.trim().is_empty() {
        web_url("auth.oidc.post_logout_redirect_url", &settings.post_logout_redirect_url)?;
    }
    Ok(roles)
}

/// An `https://` URL, or `http://` to this machine only.
fn web_url(key: &str, text: &str) -> anyhow::Result<openidconnect::url::Url> {
    let url = openidconnect::url::Url::parse(text.trim()).map_err(|e| anyhow::anyhow!("{key}: {text:?}: {e}"))?;
    let loopback = match url.host() {
        Some(openidconnect::url::Host::Domain(name)) => name == "localhost",
        Some(openidconnect::url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(openidconnect::url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => bail!("{key}: {text:?}: use https (plain http only to this machine)"),
        other => bail!("{key}: {text:?}: {other} is not http(s)"),
    }
}

impl Provider {
    /// Reads the provider's discovery document and keys; an error names `auth.oidc.issuer`.
    pub async fn discover(settings: &OidcSettings, roles: RoleMap) -> anyhow::Result<Provider> {
        let http = HttpClient::new().context("building the HTTP client for auth.oidc.issuer")?;
        let discovered = discover(settings, &http).await?;
        Ok(Provider {
            settings: settings.clone(),
            http,
            roles,
            discovered: RwLock::new(Arc::new(discovered)),
            refreshed: Mutex::new(Instant::now()),
        })
    }

    pub fn roles(&self) -> &RoleMap {
        &self.roles
    }

    fn current(&self) -> Arc<Discovered> {
        self.discovered.read().expect("oidc lock").clone()
    }

    /// A new sign-in: random state, nonce and PKCE verifier (S256).
    pub fn begin(&self) -> Begun {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let current = self.current();
        let mut request = current.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self.settings.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Begun {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        }
    }

    /// Exchanges the code for tokens and checks the ID token; the error says what failed, for
    /// the log (never a token).
    pub async fn finish(&self, code: &str, nonce: &str, pkce_verifier: &str) -> anyhow::Result<Identity> {
        let current = self.current();
        let tokens = current
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .context("the provider has no token endpoint")?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| anyhow::anyhow!("the token request failed: {}", error_chain(&e)))?;
        let id_token = tokens.id_token().context("the provider sent no ID token")?;
        let nonce = Nonce::new(nonce.to_owned());
        let claims = match id_token.claims(&current.client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            Err(first) => {
                // Perhaps the provider's keys changed since they were read: read them again.
                let Some(fresh) = self.refresh().await? else {
                    bail!("the ID token does not verify: {}", error_chain(&first));
                };
                id_token
                    .claims(&fresh.client.id_token_verifier(), &nonce)
                    .map_err(|e| anyhow::anyhow!("the ID token does not verify: {}", error_chain(&e)))?
                    .clone()
            }
        };
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned())
            .or_else(|| claims.preferred_username().map(|u| u.as_str().to_owned()));
        let claim_values = match claims.additional_claims().claims.get(self.roles.claim()) {
            Some(serde_json::Value::Array(values)) => {
                values.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
            }
            Some(serde_json::Value::String(value)) => vec![value.clone()],
            _ => Vec::new(),
        };
        Ok(Identity {
            subject: claims.subject().as_str().to_owned(),
            name,
            claim_values,
        })
    }

    /// Reads the discovery document and keys again, unless that was done a short while ago.
    async fn refresh(&self) -> anyhow::Result<Option<Arc<Discovered>>> {
        {
            let mut last = self.refreshed.lock().expect("oidc lock");
            if last.elapsed() < REFRESH_EVERY {
                return Ok(None);
            }
            *last = Instant::now();
        }
        let fresh = Arc::new(discover(&self.settings, &self.http).await?);
        *self.discovered.write().expect("oidc lock") = fresh.clone();
        tracing::info!("read the OpenID provider's discovery document and keys again");
        Ok(Some(fresh))
    }

    /// Where to send the browser to end the provider's session too, if it offers that.
    pub fn end_session_url(&self) -> Option<String> {
        let endpoint = self.current().end_session.clone()?;
        let mut request = LogoutRequest::from(endpoint).set_client_id(ClientId::new(self.settings.client_id.clone()));
        if !self.settings.post_logout_redirect_url.trim().is_empty()
            && let Ok(url) = PostLogoutRedirectUrl::new(self.settings.post_logout_redirect_url.trim().to_owned())
        {
            request = request.set_post_logout_redirect_uri(url);
        }
        Some(request.http_get_url().to_string())
    }
}

async fn discover(settings: &OidcSettings, http: &HttpClient) -> anyhow::Result<Discovered> {
    let issuer = settings.issuer.trim();
    let issuer_url = IssuerUrl::new(issuer.to_owned()).map_err(|e| anyhow::anyhow!("auth.oidc.issuer: {e}"))?;
    let metadata = ProviderMetadataWithLogout::discover_async(issuer_url, http)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "auth.oidc.issuer: cannot read the provider's discovery document at {issuer}: {}",
                error_chain(&e)
            )
        })?;
    let end_session = metadata.additional_metadata().end_session_endpoint.clone();
    let secret = settings
        .client_secret
        .as_ref()
        .map(|s| ClientSecret::new(s.expose_secret().to_owned()));
    let redirect = RedirectUrl::new(settings.redirect_url.trim().to_owned())
        .map_err(|e| anyhow::anyhow!("auth.oidc.redirect_url: {e}"))?;
    let client = OidcClient::from_provider_metadata(metadata, ClientId::new(settings.client_id.clone()), secret)
        .set_redirect_uri(redirect);
    Ok(Discovered { client, end_session })
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
