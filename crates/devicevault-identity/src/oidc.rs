//! Single sign-on with an OpenID Connect provider: the authorization code
//! flow with PKCE, as a confidential client.
//!
//! The `openidconnect` crate does the protocol: discovery, the authorization
//! URL, the code exchange and the ID-token checks (issuer, audience,
//! signature, expiry, nonce), which are exactly the spec's steps and easy to
//! get subtly wrong by hand. Around it, this module adds what DeviceVault
//! needs and the crate leaves to its users:
//!
//! - **key rotation**: the provider's keys are fetched at discovery and
//!   again when a token names a key id not among them (then the check is
//!   retried once with the new set);
//! - **asymmetric signatures only**: `HS256` with the client secret and
//!   `none` are refused, so knowing the client secret is not enough to mint
//!   a token;
//! - **claims by name**: the groups and username claims are configurable
//!   (dotted paths such as `realm_access.roles` reach nested claims); they
//!   are read from the verified ID token and, when it lacks them, from the
//!   user-info endpoint (whose `sub` must be the token's);
//! - **a pending login that travels**: [`PendingLogin`] (state, nonce, PKCE
//!   verifier) serialises, so the server can keep it in a short-lived
//!   encrypted cookie or a row until the provider sends the user back;
//! - **plaintext refused**: `http://` issuers and endpoints only with
//!   `allow_plaintext`.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    DiscoveryError, HttpClientError, IdTokenVerifier, IssuerUrl, Nonce, OAuth2TokenResponse as _,
    PkceCodeChallenge, PkceCodeVerifier, ProviderMetadataWithLogout, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, TokenResponse as _, reqwest,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use devicevault_core::Timestamp;

use crate::{IdTokenCheck, IdentityError, Secret};

/// One OpenID provider (`[[oidc]]` sections; several may be configured).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// A short name for the provider, unique among them (`corp-sso`): it
    /// ties a pending login to its provider and can name it in URLs.
    pub name: String,
    /// The issuer, exactly as the provider's tokens state it
    /// (`https://login.example.org/realms/network`).
    pub issuer_url: String,
    /// DeviceVault's client id at the provider.
    pub client_id: String,
    /// Its client secret (sent with HTTP Basic to the token endpoint).
    pub client_secret: Secret,
    /// Where the provider sends the user back (DeviceVault's callback).
    pub redirect_url: String,
    /// Scopes asked for besides `openid` (always asked for).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The claim with the user's groups: a list of strings, or one string;
    /// a dotted path reaches a nested claim (`realm_access.roles`).
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// The claim with the username; `email` is used when it is missing.
    #[serde(default = "default_username_claim")]
    pub username_claim: String,
    /// PEM file of the CA(s) that sign the provider's certificate; the only
    /// roots trusted when set.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allow an `http://` issuer and endpoints (tests, a loopback proxy).
    #[serde(default)]
    pub allow_plaintext: bool,
    /// Limit on each request to the provider, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Tolerated clock difference with the provider when checking a
    /// token's expiry, in seconds.
    #[serde(default = "default_clock_skew")]
    pub clock_skew_secs: u64,
    /// How long a user may take at the provider before the pending login
    /// is void, in seconds.
    #[serde(default = "default_login_timeout")]
    pub login_timeout_secs: u64,
}

fn default_scopes() -> Vec<String> {
    vec!["profile".into(), "email".into()]
}
fn default_groups_claim() -> String {
    "groups".into()
}
fn default_username_claim() -> String {
    "preferred_username".into()
}
fn default_timeout() -> u64 {
    10
}
fn default_clock_skew() -> u64 {
    60
}
fn default_login_timeout() -> u64 {
    600
}

/// The algorithms an ID token may be signed with: public-key ones only.
const ASYMMETRIC: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// A discovered provider: its metadata, its current keys and an HTTP
/// client that follows no redirect (a redirect could send the client
/// secret or a code elsewhere).
pub struct OidcProvider {
    cfg: OidcConfig,
    http: reqwest::Client,
    metadata: ProviderMetadataWithLogout,
    redirect: RedirectUrl,
    keys: RwLock<Arc<CoreJsonWebKeySet>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("cfg", &self.cfg)
            .field("issuer", &self.metadata.issuer().as_str())
            .finish_non_exhaustive()
    }
}

/// What the server keeps between sending the user to the provider and the
/// user's return: serialise it into a short-lived, encrypted, HTTP-only
/// cookie (or a row keyed by [`PendingLogin::state`]), and use it once.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    provider: String,
    state: String,
    nonce: Secret,
    pkce_verifier: Secret,
    created_at: i64,
}

impl PendingLogin {
    /// The provider it was started with.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The `state` sent to the provider, which comes back in the callback.
    pub fn state(&self) -> &str {
        &self.state
    }
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("provider", &self.provider)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The query of the provider's redirect to `redirect_url`, as sent.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Callback {
    /// The authorization code (absent when the provider reports an error).
    #[serde(default)]
    pub code: Option<Secret>,
    /// The state, to match the pending login's.
    #[serde(default)]
    pub state: String,
    /// The issuer (RFC 9207), when the provider sends it.
    #[serde(default)]
    pub iss: Option<String>,
    /// An OAuth error code instead of a code (`access_denied`, …).
    #[serde(default)]
    pub error: Option<String>,
    /// The provider's description of the error.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// A user the provider vouched for.
#[derive(Clone, Debug)]
pub struct OidcUser {
    /// The configured name of the provider.
    pub provider: String,
    /// The issuer (with `subject`, the user's stable identity).
    pub issuer: String,
    /// `sub`: the provider's stable identifier of the user.
    pub subject: String,
    /// The username claim, or the e-mail address when it is missing.
    pub username: String,
    /// `name`, if given.
    pub display_name: Option<String>,
    /// `email`, if given.
    pub email: Option<String>,
    /// The groups claim's values, sorted, without duplicates.
    pub groups: Vec<String>,
    /// When the ID token expires.
    pub expires_at: Timestamp,
    /// The ID token itself, kept for the logout hint.
    pub id_token: Secret,
}

type HttpError = HttpClientError<reqwest::Error>;

impl OidcProvider {
    /// Fetches the provider's metadata (which must name the configured
    /// issuer exactly) and its keys.
    pub async fn discover(cfg: OidcConfig) -> Result<OidcProvider, IdentityError> {
        let config = |m: String| IdentityError::Config(format!("oidc provider {}: {m}", cfg.name));
        if cfg.name.trim().is_empty() {
            return Err(IdentityError::Config("oidc: a provider has no name".into()));
        }
        for (key, url) in [
            ("issuer_url", &cfg.issuer_url),
            ("redirect_url", &cfg.redirect_url),
        ] {
            let parsed = Url::parse(url).map_err(|e| config(format!("{key} {url:?}: {e}")))?;
            if key == "issuer_url" && parsed.scheme() != "https" && !cfg.allow_plaintext {
                return Err(IdentityError::PlaintextRefused {
                    url: url.clone(),
                    fix: "an https:// issuer",
                });
            }
        }
        if cfg.client_id.is_empty() || cfg.client_secret.is_empty() {
            return Err(config("client_id and client_secret are required".into()));
        }
        if cfg.timeout_secs == 0 || cfg.login_timeout_secs == 0 {
            return Err(config("timeouts must be at least 1 s".into()));
        }
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .https_only(!cfg.allow_plaintext);
        if let Some(path) = &cfg.ca_file {
            for der in crate::tls::read_certificates(path)? {
                let cert = reqwest::Certificate::from_der(&der)
                    .map_err(|e| config(format!("CA file {}: {e}", path.display())))?;
                http = http.add_root_certificate(cert);
            }
            http = http.tls_built_in_root_certs(false);
        }
        let http = http
            .build()
            .map_err(|e| config(format!("HTTP client: {e}")))?;
        let issuer = IssuerUrl::new(cfg.issuer_url.clone())
            .map_err(|e| config(format!("issuer_url: {e}")))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &http)
            .await
            .map_err(|e| discovery_error(&cfg.issuer_url, cfg.timeout_secs, "discovery", e))?;
        if metadata.token_endpoint().is_none() {
            return Err(config("the provider advertises no token endpoint".into()));
        }
        let redirect = RedirectUrl::new(cfg.redirect_url.clone())
            .map_err(|e| config(format!("redirect_url: {e}")))?;
        let keys = RwLock::new(Arc::new(metadata.jwks().clone()));
        Ok(OidcProvider {
            cfg,
            http,
            metadata,
            redirect,
            keys,
        })
    }

    /// The configuration this provider was discovered with.
    pub fn config(&self) -> &OidcConfig {
        &self.cfg
    }

    /// Where to send the user, and what to keep until the user comes back.
    pub fn authorization_url(&self) -> (Url, PendingLogin) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self.cfg.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let pending = PendingLogin {
            provider: self.cfg.name.clone(),
            state: state.secret().clone(),
            nonce: Secret::new(nonce.secret().clone()),
            pkce_verifier: Secret::new(verifier.secret().clone()),
            created_at: now_unix(),
        };
        (url, pending)
    }

    /// Completes a sign-in: checks the callback against the pending login,
    /// exchanges the code (with the PKCE verifier), validates the ID token
    /// (signature, issuer, audience, expiry, nonce, access-token hash) and
    /// reads the user's claims.
    pub async fn exchange(
        &self,
        callback: &Callback,
        pending: &PendingLogin,
    ) -> Result<OidcUser, IdentityError> {
        if pending.provider != self.cfg.name {
            return Err(IdentityError::CallbackMismatch(
                "it was started with another provider",
            ));
        }
        if now_unix().saturating_sub(pending.created_at) > self.cfg.login_timeout_secs as i64 {
            return Err(IdentityError::CallbackMismatch("the pending login expired"));
        }
        if !constant_time_eq(callback.state.as_bytes(), pending.state.as_bytes()) {
            return Err(IdentityError::CallbackMismatch("the state differs"));
        }
        if let Some(iss) = &callback.iss
            && iss.as_str() != self.metadata.issuer().as_str()
        {
            return Err(IdentityError::CallbackMismatch("the issuer differs"));
        }
        if let Some(error) = &callback.error {
            return Err(IdentityError::Denied {
                error: error.clone(),
                description: callback.error_description.clone(),
            });
        }
        let Some(code) = &callback.code else {
            return Err(IdentityError::CallbackMismatch("it carries no code"));
        };

        let client = self.client();
        let request = client
            .exchange_code(AuthorizationCode::new(code.expose().to_owned()))
            .map_err(|e| self.provider_error(format!("token request: {e}"), false))?
            .set_pkce_verifier(PkceCodeVerifier::new(
                pending.pkce_verifier.expose().to_owned(),
            ));
        let response = request
            .request_async(&self.http)
            .await
            .map_err(|e| self.token_error(e))?;
        let id_token = response.id_token().ok_or_else(|| {
            self.provider_error("the token response has no ID token".into(), false)
        })?;

        let nonce = Nonce::new(pending.nonce.expose().to_owned());
        let keys = self.current_keys();
        let claims = match id_token.claims(&self.verifier(&keys), &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let keys = self.refresh_keys().await?;
                id_token
                    .claims(&self.verifier(&keys), &nonce)
                    .map_err(rejected)?
                    .clone()
            }
            other => other.map_err(rejected)?.clone(),
        };
        if let Some(expected) = claims.access_token_hash() {
            let keys = self.current_keys();
            let verifier = self.verifier(&keys);
            let alg = id_token
                .signing_alg()
                .map_err(|e| signature_rejected(e.to_string()))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| signature_rejected(e.to_string()))?;
            let actual = AccessTokenHash::from_token(response.access_token(), alg, key)
                .map_err(|e| signature_rejected(e.to_string()))?;
            if actual != *expected {
                return Err(IdentityError::IdTokenRejected {
                    kind: IdTokenCheck::AccessTokenHash,
                    detail: "at_hash does not match the access token".into(),
                });
            }
        }

        // The verified token's own payload, for claims by configured name:
        // the signature covered exactly these bytes.
        let compact = id_token.to_string();
        let token_claims =
            payload_claims(&compact).ok_or_else(|| IdentityError::IdTokenRejected {
                kind: IdTokenCheck::Other,
                detail: "the payload is not a JSON object".into(),
            })?;
        let subject = claims.subject().as_str().to_owned();
        let needs_user_info = lookup(&token_claims, &self.cfg.groups_claim).is_none()
            || lookup(&token_claims, &self.cfg.username_claim).is_none();
        let user_info = match (needs_user_info, self.metadata.userinfo_endpoint()) {
            (true, Some(endpoint)) => {
                self.user_info(endpoint.url(), response.access_token().secret(), &subject)
                    .await?
            }
            _ => Map::new(),
        };
        let claim = |name: &str| lookup(&token_claims, name).or_else(|| lookup(&user_info, name));
        let text = |name: &str| claim(name).and_then(Value::as_str).map(str::to_owned);

        let username = text(&self.cfg.username_claim)
            .or_else(|| text("email"))
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| {
                IdentityError::MissingClaim(format!("{} or email", self.cfg.username_claim))
            })?;
        let mut groups = match claim(&self.cfg.groups_claim) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    IdentityError::MissingClaim(format!("{} (not strings)", self.cfg.groups_claim))
                })?,
            Some(_) => {
                return Err(IdentityError::MissingClaim(format!(
                    "{} (neither a list nor a string)",
                    self.cfg.groups_claim
                )));
            }
        };
        groups.sort();
        groups.dedup();
        Ok(OidcUser {
            provider: self.cfg.name.clone(),
            issuer: claims.issuer().as_str().to_owned(),
            subject,
            username,
            display_name: text("name"),
            email: text("email"),
            groups,
            expires_at: timestamp(claims.expiration().timestamp()),
            id_token: Secret::new(compact),
        })
    }

    /// The provider's logout page for this user (RP-initiated logout), when
    /// it advertises an `end_session_endpoint`; `post_logout_redirect` must
    /// be registered with the provider.
    pub fn logout_url(
        &self,
        id_token_hint: &Secret,
        post_logout_redirect: Option<&str>,
    ) -> Option<Url> {
        let endpoint = self
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .as_ref()?;
        let mut url = endpoint.url().clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("id_token_hint", id_token_hint.expose());
            query.append_pair("client_id", &self.cfg.client_id);
            if let Some(redirect) = post_logout_redirect {
                query.append_pair("post_logout_redirect_uri", redirect);
            }
        }
        Some(url)
    }

    fn client(
        &self,
    ) -> CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.cfg.client_id.clone()),
            Some(ClientSecret::new(
                self.cfg.client_secret.expose().to_owned(),
            )),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    fn verifier<'k>(
        &self,
        keys: &'k CoreJsonWebKeySet,
    ) -> IdTokenVerifier<'k, openidconnect::core::CoreJsonWebKey> {
        let skew = chrono::Duration::seconds(self.cfg.clock_skew_secs as i64);
        IdTokenVerifier::new_public_client(
            ClientId::new(self.cfg.client_id.clone()),
            self.metadata.issuer().clone(),
            keys.clone(),
        )
        .set_allowed_algs(ASYMMETRIC)
        .set_time_fn(move || chrono::Utc::now() - skew)
    }

    fn current_keys(&self) -> Arc<CoreJsonWebKeySet> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Fetches the provider's keys again (a token named a key id we do not
    /// know: the provider rotated its keys). ID tokens come from the token
    /// endpoint only, in exchange for a valid code, so an outsider cannot
    /// make this happen at will.
    async fn refresh_keys(&self) -> Result<Arc<CoreJsonWebKeySet>, IdentityError> {
        let keys = CoreJsonWebKeySet::fetch_async(self.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| {
                discovery_error(&self.cfg.issuer_url, self.cfg.timeout_secs, "key set", e)
            })?;
        tracing::info!(provider = %self.cfg.name, keys = keys.keys().len(), "fetched the provider's keys again after an unknown key id");
        let keys = Arc::new(keys);
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = keys.clone();
        Ok(keys)
    }

    /// The user-info endpoint's claims, whose `sub` must be the token's.
    async fn user_info(
        &self,
        endpoint: &Url,
        access_token: &str,
        subject: &str,
    ) -> Result<Map<String, Value>, IdentityError> {
        let response = self
            .http
            .get(endpoint.clone())
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.request_error("user info", &e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(self.provider_error(
                format!("user info: HTTP {status}"),
                status.is_server_error(),
            ));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| self.request_error("user info", &e))?;
        let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(&body) else {
            return Err(self.provider_error(
                "user info: not a JSON object (signed user info is not supported)".into(),
                false,
            ));
        };
        if claims.get("sub").and_then(Value::as_str) != Some(subject) {
            return Err(
                self.provider_error("user info: its sub is not the ID token's".into(), false)
            );
        }
        Ok(claims)
    }

    fn provider_error(&self, reason: String, transient: bool) -> IdentityError {
        IdentityError::Provider {
            issuer: self.cfg.issuer_url.clone(),
            reason,
            transient,
        }
    }

    fn request_error(&self, what: &str, e: &reqwest::Error) -> IdentityError {
        if e.is_timeout() {
            return IdentityError::Timeout {
                server: self.cfg.issuer_url.clone(),
                seconds: self.cfg.timeout_secs,
            };
        }
        IdentityError::Unreachable {
            server: self.cfg.issuer_url.clone(),
            reason: format!("{what}: {}", error_chain(e)),
        }
    }

    fn token_error(
        &self,
        e: RequestTokenError<
            HttpError,
            openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
        >,
    ) -> IdentityError {
        match e {
            RequestTokenError::ServerResponse(answer) => self.provider_error(
                format!(
                    "the token endpoint refused the code: {}{}",
                    answer.error().as_ref(),
                    answer
                        .error_description()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
                false,
            ),
            RequestTokenError::Request(e) => http_error(
                &self.cfg.issuer_url,
                self.cfg.timeout_secs,
                "token request",
                e,
            ),
            // The body holds tokens: only where parsing stopped is told.
            RequestTokenError::Parse(e, _body) => self.provider_error(
                format!("the token response does not parse at {}", e.path()),
                false,
            ),
            RequestTokenError::Other(reason) => {
                self.provider_error(format!("token request: {reason}"), false)
            }
        }
    }
}

fn rejected(e: ClaimsVerificationError) -> IdentityError {
    let kind = match &e {
        ClaimsVerificationError::SignatureVerification(_) => IdTokenCheck::Signature,
        ClaimsVerificationError::InvalidIssuer(_) => IdTokenCheck::Issuer,
        ClaimsVerificationError::InvalidAudience(_) => IdTokenCheck::Audience,
        ClaimsVerificationError::Expired(_) => IdTokenCheck::Expiry,
        ClaimsVerificationError::InvalidNonce(_) => IdTokenCheck::Nonce,
        _ => IdTokenCheck::Other,
    };
    let detail = match &e {
        ClaimsVerificationError::SignatureVerification(inner) => inner.to_string(),
        other => other.to_string(),
    };
    IdentityError::IdTokenRejected { kind, detail }
}

fn signature_rejected(detail: String) -> IdentityError {
    IdentityError::IdTokenRejected {
        kind: IdTokenCheck::Signature,
        detail,
    }
}

fn http_error(issuer: &str, seconds: u64, what: &str, e: HttpError) -> IdentityError {
    match e {
        HttpClientError::Reqwest(e) if e.is_timeout() => IdentityError::Timeout {
            server: issuer.into(),
            seconds,
        },
        HttpClientError::Reqwest(e) => IdentityError::Unreachable {
            server: issuer.into(),
            reason: format!("{what}: {}", error_chain(&*e)),
        },
        other => IdentityError::Unreachable {
            server: issuer.into(),
            reason: format!("{what}: {other}"),
        },
    }
}

fn discovery_error(
    issuer: &str,
    seconds: u64,
    what: &str,
    e: DiscoveryError<HttpError>,
) -> IdentityError {
    let provider = |reason: String, transient: bool| IdentityError::Provider {
        issuer: issuer.into(),
        reason,
        transient,
    };
    match e {
        DiscoveryError::Request(e) => http_error(issuer, seconds, what, e),
        DiscoveryError::Response(status, _, _) => {
            provider(format!("{what}: HTTP {status}"), status.is_server_error())
        }
        DiscoveryError::Parse(e) => provider(
            format!("{what}: the document does not parse at {}", e.path()),
            false,
        ),
        DiscoveryError::Validation(reason) => provider(format!("{what}: {reason}"), false),
        other => provider(format!("{what}: {other}"), false),
    }
}

/// An error with its causes, `a: b: c` (reqwest's own message hides them).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// The claims of a compact JWS, as a JSON object.
fn payload_claims(compact: &str) -> Option<Map<String, Value>> {
    let payload = compact.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A claim by name, or by dotted path into nested objects when no claim has
/// that exact name (names such as `https://example.org/groups` contain dots).
fn lookup<'c>(claims: &'c Map<String, Value>, name: &str) -> Option<&'c Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    let mut parts = name.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn timestamp(unix: i64) -> Timestamp {
    Timestamp::from_datetime(
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_found_by_name_or_by_dotted_path() {
        let claims: Map<String, Value> = serde_json::from_str(
            r#"{"groups":["a"],"realm_access":{"roles":["r"]},"https://x.org/g":"one"}"#,
        )
        .unwrap();
        assert_eq!(lookup(&claims, "groups"), Some(&serde_json::json!(["a"])));
        assert_eq!(
            lookup(&claims, "realm_access.roles"),
            Some(&serde_json::json!(["r"]))
        );
        assert_eq!(
            lookup(&claims, "https://x.org/g"),
            Some(&serde_json::json!("one"))
        );
        assert_eq!(lookup(&claims, "realm_access.none"), None);
    }

    #[test]
    fn a_pending_login_round_trips_and_hides_its_secrets() {
        let pending = PendingLogin {
            provider: "sso".into(),
            state: "st".into(),
            nonce: Secret::new("n0nce"),
            pkce_verifier: Secret::new("verifier-secret"),
            created_at: 1,
        };
        let shown = format!("{pending:?}");
        assert!(
            !shown.contains("verifier-secret") && !shown.contains("n0nce"),
            "{shown}"
        );
        let back: PendingLogin =
            serde_json::from_str(&serde_json::to_string(&pending).unwrap()).unwrap();
        assert_eq!(back.state(), "st");
        assert_eq!(back.pkce_verifier.expose(), "verifier-secret");
    }

    #[tokio::test]
    async fn an_http_issuer_is_refused_unless_plaintext_is_allowed() {
        let cfg: OidcConfig = toml::from_str(
            r#"
            name = "sso"
            issuer_url = "http://127.0.0.1:1"
            client_id = "devicevault"
            client_secret = "s"
            redirect_url = "https://dv.example.org/login/oidc/sso"
            "#,
        )
        .unwrap();
        let err = OidcProvider::discover(cfg.clone()).await.unwrap_err();
        assert!(
            matches!(err, IdentityError::PlaintextRefused { .. }),
            "{err}"
        );
        // Allowed, it gets as far as the network (nothing listens there).
        let err = OidcProvider::discover(OidcConfig {
            allow_plaintext: true,
            ..cfg
        })
        .await
        .unwrap_err();
        assert!(matches!(err, IdentityError::Unreachable { .. }), "{err}");
    }
}
