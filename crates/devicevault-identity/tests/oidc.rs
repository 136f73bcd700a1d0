//! Single sign-on against a real OpenID provider (npm's certified
//! `oidc-provider` under Node), started by each test, driven through its
//! sign-in and consent pages with plain HTTP requests.

use devicevault_testkit::identity::oidc_peer;

use base64::Engine as _;
use devicevault_core::RetryClass as _;
use devicevault_identity::{
    Callback, GroupMapping, IdTokenCheck, IdentityError, OidcConfig, OidcProvider, OidcUser,
    PendingLogin, Role, resolve_rights,
};
use oidc_peer::{DEVICEVAULT, OTHER_APP, OidcPeer, PeerClient, REDIRECT_URL, SIGNED_OUT_URL};

const SHORT_LIVED: PeerClient = PeerClient {
    id: "short-lived",
    secret: "short-lived-secret",
    id_token_ttl: Some(2),
    id_token_alg: None,
};
/// Signs its ID tokens with HS256 and its client secret.
const SYMMETRIC: PeerClient = PeerClient {
    id: "symmetric",
    secret: "symmetric-client-secret-long-enough-for-hs256",
    id_token_ttl: None,
    id_token_alg: Some("HS256"),
};

fn config(peer: &OidcPeer, client: &PeerClient) -> OidcConfig {
    peer.config("test-sso", client, REDIRECT_URL, "")
}

async fn provider(peer: &OidcPeer, client: &PeerClient) -> OidcProvider {
    OidcProvider::discover(config(peer, client)).await.unwrap()
}

/// A whole sign-in as alice: the authorization URL, the provider's pages,
/// the callback.
async fn sign_in(peer: &OidcPeer, provider: &OidcProvider) -> (Callback, PendingLogin) {
    let (url, pending) = provider.authorization_url();
    let callback = peer
        .user_agent()
        .sign_in(&url, "alice", "alice-password")
        .await;
    (callback, pending)
}

async fn signed_in(peer: &OidcPeer, provider: &OidcProvider) -> OidcUser {
    let (callback, pending) = sign_in(peer, provider).await;
    provider.exchange(&callback, &pending).await.unwrap()
}

fn rejected(err: &IdentityError) -> IdTokenCheck {
    match err {
        IdentityError::IdTokenRejected { kind, .. } => *kind,
        other => panic!("not an ID token rejection: {other}"),
    }
}

/// The decoded JSON of one part (0 header, 1 payload) of a compact JWT.
fn jwt_part(token: &str, part: usize) -> serde_json::Value {
    let encoded = token.split('.').nth(part).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_successful_sign_in_yields_the_user_and_its_groups() {
    let peer = OidcPeer::start(&[DEVICEVAULT]);
    let provider = provider(&peer, &DEVICEVAULT).await;
    let (url, pending) = provider.authorization_url();
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["state"], pending.state());
    assert!(query["scope"].split(' ').any(|s| s == "openid"));
    assert!(query.contains_key("nonce"));

    let callback = peer
        .user_agent()
        .sign_in(&url, "alice", "alice-password")
        .await;
    let user = provider.exchange(&callback, &pending).await.unwrap();
    assert_eq!(user.provider, "test-sso");
    assert_eq!(user.issuer, peer.issuer);
    assert_eq!(user.subject, "alice");
    assert_eq!(user.username, "alice");
    assert_eq!(user.display_name.as_deref(), Some("Alice Liddell"));
    assert_eq!(user.email.as_deref(), Some("alice@example.org"));
    assert_eq!(user.groups, ["netops", "readers"]);
    assert!(user.expires_at > devicevault_core::Timestamp::now());
    let claims = jwt_part(user.id_token.expose(), 1);
    assert_eq!(claims["aud"], "devicevault");
    // oidc-provider keeps profile claims out of the ID token of a code
    // flow: the groups came from the user-info endpoint.
    assert!(claims.get("groups").is_none(), "{claims}");
    assert!(!format!("{user:?}").contains(user.id_token.expose()));

    let table = vec![GroupMapping {
        group: "netops".into(),
        role: Role::Operator,
        device_groups: vec!["core".into()],
        view_secrets: false,
    }];
    assert_eq!(
        resolve_rights(&table, &user.groups).unwrap().role,
        Role::Operator
    );
}

#[tokio::test]
async fn a_user_without_the_username_claim_is_known_by_email() {
    let peer = OidcPeer::start(&[DEVICEVAULT]);
    let provider = provider(&peer, &DEVICEVAULT).await;
    let (url, pending) = provider.authorization_url();
    let callback = peer.user_agent().sign_in(&url, "bob", "bob-password").await;
    let user = provider.exchange(&callback, &pending).await.unwrap();
    assert_eq!(user.username, "bob@example.org");
    assert!(user.groups.is_empty());
}

#[tokio::test]
async fn a_tampered_id_token_fails_the_signature_check() {
    let peer = OidcPeer::start(&[DEVICEVAULT]);
    let provider = provider(&peer, &DEVICEVAULT).await;
    let genuine = signed_in(&peer, &provider).await.id_token;

    // One byte of the payload flipped: "alice" becomes "alicd" in `sub`.
    let parts: Vec<&str> = genuine.expose().split('.').collect();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = String::from_utf8(engine.decode(parts[1]).unwrap()).unwrap();
    let tampered_payload = payload.replacen("\"sub\":\"alice\"", "\"sub\":\"alicd\"", 1);
    assert_ne!(payload, tampered_payload);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(tampered_payload),
        parts[2]
    );

    let (callback, pending) = sign_in(&peer, &provider).await;
    peer.substitute_next_id_token(&tampered).await;
    let err = provider.exchange(&callback, &pending).await.unwrap_err();
    assert_eq!(rejected(&err), IdTokenCheck::Signature, "{err}");
    assert!(!err.is_transient());
    assert!(!err.to_string().contains(parts[2]), "{err}");
}

#[tokio::test]
async fn an_unsigned_copy_of_a_genuine_token_is_refused() {
    let peer = OidcPeer::start(&[DEVICEVAULT]);
    let provider = provider(&peer, &DEVICEVAULT).await;
    let genuine = signed_in(&peer, &provider).await.id_token;
    let payload = genuine.expose().split('.').nth(1).unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
    let unsigned = format!("{header}.{payload}.");

    let (callback, pending) = sign_in(&peer, &provider).await;
    peer.substitute_next_id_token(&unsigned).await;
    let err = provider.exchange(&callback, &pending).await.unwrap_err();
    assert_eq!(rejected(&err), IdTokenCheck::Signature, "{err}");
}

#[tokio::test]
async fn an_id_token_signed_with_the_client_secret_is_refused() {
    // Whoever knows the client secret could mint such tokens: only the
    // provider's public keys are trusted.
    let peer = OidcPeer::start(&[SYMMETRIC]);
    let provider = provider(&peer, &SYMMETRIC).await;
    let (callback, pending) = sign_in(&peer, &provider).await;
    let err = provider.exchange(&callback, &pending).await.unwrap_err();
    assert_eq!(rejected(&err), IdTokenCheck::Signature, "{err}");
    assert!(err.to_string().contains("HS256"), "{err}");
}

#[tokio::test]
async fn a_token_issued_for_another_audience_is_refused() {
    let peer = OidcPeer::start(&[DEVICEVAULT, OTHER_APP]);
    let other = provider(&peer, &OTHER_APP).await;
    let theirs = signed_in(&peer, &other).await.id_token;
    assert_eq!(jwt_part(theirs.expose(), 1)["aud"], "other-app");

    let ours = provider(&peer, &DEVICEVAULT).await;
    let (callback, pending) = sign_in(&peer, &ours).await;
    peer.substitute_next_id_token(theirs.expose()).await;
    let err = ours.exchange(&callback, &pending).await.unwrap_err();
    assert_eq!(rejected(&err), IdTokenCheck::Audience, "{err}");
}

#[tokio::test]
async fn a_token_with_another_nonce_is_refused() {
    let peer = OidcPeer::start(&[DEVICEVAULT]);
    let provider = provider(&peer, &DEVICEVAULT).await;
    let (callback, pending) = sign_in(&peer, &provider).await;
    // The pending login of a replay: everything matches but the nonce.
    let mut json = serde_json::to_value(&pending).unwrap();
    json["nonce"] = "a-nonce-from-another-login".into();
    let replayed: PendingLogin = serde_json::from_value(json).unwrap();
    let err = provider.exchange(&callback, &replayed).await.unwrap_err();
    assert_eq!(rejected(&err), IdTokenCheck::Nonce, "{err}");
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let peer = OidcPeer::start(&[SHORT_LIVED]);
    let provider = provider(&peer, &SHORT_LIVED).await;
    let (first_callback, first_pending) = sign_in(&peer, &provider).await;
    let first = provider
        .exchange(&first_callback, &first_pending)
        .await
        .unwrap();
    let payload = jwt_part(first.id_token.expose(), 1);
    assert_eq!(
        payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(),
        2
    );

    // Past its two seconds, the same genuine token comes back, with the
    // nonce it was issued for: only its expiry is wrong.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let (callback, pending) = sign_in(&peer, &provider).await;
    let mut json = serde_json::to_value(&pending).unwrap();
    json["nonce"] = serde_json::to_value(&first_pending).unwrap()["nonce"].clone();
    let pending: PendingLogin = serde_json::from_value(json).unwrap();
    peer.substitute_next_id_token(first.id_token.expose()).await;
    let err = provider.exchange(&callback, &pending).await.unwrap_err();
    assert_eq!(rejected(&err), IdTokenCheck::Expiry, "{err}");
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_and_followed() {
    let peer = OidcPeer::start(&[DEVICEVAULT]);
    let provider = provider(&peer, &DEVICEVAULT).await;
    let before = signed_in(&peer, &provider).await;
    assert_eq!(jwt_part(before.id_token.expose(), 0)["kid"], "key-1");

    let new_kid = peer.rotate_signing_key().await;
    assert_eq!(new_kid, "key-2");
    let after = signed_in(&peer, &provider).await;
    assert_eq!(jwt_part(after.id_token.expose(), 0)["kid"], "key-2");
    assert_eq!(after.groups, ["netops", "readers"]);
}

#[tokio::test]
async fn a_callback_that_does_not_match_its_pending_login_is_refused() {
    let peer = OidcPeer::start(&[DEVICEVAULT]);
    let provider = provider(&peer, &DEVICEVAULT).await;
    let (callback, pending) = sign_in(&peer, &provider).await;

    let forged = Callback {
        state: "forged-state".into(),
        ..callback.clone()
    };
    let err = provider.exchange(&forged, &pending).await.unwrap_err();
    assert!(matches!(err, IdentityError::CallbackMismatch(_)), "{err}");

    let mixed_up = Callback {
        iss: Some("https://evil.example.org".into()),
        ..callback.clone()
    };
    let err = provider.exchange(&mixed_up, &pending).await.unwrap_err();
    assert!(matches!(err, IdentityError::CallbackMismatch(_)), "{err}");

    let denied = Callback {
        code: None,
        error: Some("access_denied".into()),
        ..callback.clone()
    };
    let err = provider.exchange(&denied, &pending).await.unwrap_err();
    assert!(matches!(err, IdentityError::Denied { .. }), "{err}");

    // The genuine callback still works once, and only once.
    provider.exchange(&callback, &pending).await.unwrap();
    let err = provider.exchange(&callback, &pending).await.unwrap_err();
    assert!(
        matches!(err, IdentityError::Provider { .. }) && err.to_string().contains("invalid_grant"),
        "{err}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn the_pkce_verifier_must_be_the_one_of_the_login() {
    let peer = OidcPeer::start(&[DEVICEVAULT]);
    let provider = provider(&peer, &DEVICEVAULT).await;
    let (callback, pending) = sign_in(&peer, &provider).await;
    let mut json = serde_json::to_value(&pending).unwrap();
    json["pkce_verifier"] = "x".repeat(43).into();
    let stolen: PendingLogin = serde_json::from_value(json).unwrap();
    let err = provider.exchange(&callback, &stolen).await.unwrap_err();
    assert!(
        matches!(err, IdentityError::Provider { .. }) && err.to_string().contains("invalid_grant"),
        "{err}"
    );
}

#[tokio::test]
async fn logout_goes_through_the_providers_end_session_page() {
    let peer = OidcPeer::start(&[DEVICEVAULT]);
    let provider = provider(&peer, &DEVICEVAULT).await;
    let (url, pending) = provider.authorization_url();
    let mut browser = peer.user_agent();
    let callback = browser.sign_in(&url, "alice", "alice-password").await;
    let user = provider.exchange(&callback, &pending).await.unwrap();

    let logout = provider
        .logout_url(&user.id_token, Some(SIGNED_OUT_URL))
        .expect("oidc-provider advertises end_session_endpoint");
    assert!(
        logout
            .as_str()
            .starts_with(&format!("{}/session/end", peer.issuer))
    );
    let page = browser.request(&logout, None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (action, mut fields) = oidc_peer::form(&page.body);
    fields.push(("logout".into(), "yes".into()));
    let done = browser
        .request(&page.url.join(&action).unwrap(), Some(fields))
        .await;
    let back = done.location.expect("a redirect after the logout");
    assert!(back.as_str().starts_with(SIGNED_OUT_URL), "{back}");

    // Signed out at the provider: the next sign-in asks for the password.
    let (url, _) = provider.authorization_url();
    let page = browser.request(&url, None).await;
    let page = browser.request(&page.location.unwrap(), None).await;
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
}

#[tokio::test]
async fn a_provider_whose_certificate_is_not_trusted_is_refused() {
    let peer = OidcPeer::start(&[DEVICEVAULT]);
    let mut cfg = config(&peer, &DEVICEVAULT);
    cfg.ca_file = Some(peer.certs.other_ca.clone());
    let err = OidcProvider::discover(cfg).await.unwrap_err();
    assert!(matches!(err, IdentityError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn a_configured_issuer_that_differs_from_the_providers_is_refused() {
    let peer = OidcPeer::start(&[DEVICEVAULT]);
    let mut cfg = config(&peer, &DEVICEVAULT);
    // Same server, but not the issuer it states in its metadata.
    cfg.issuer_url = format!("{}/", peer.issuer.replace("127.0.0.1", "localhost"));
    let err = OidcProvider::discover(cfg).await.unwrap_err();
    assert!(matches!(err, IdentityError::Provider { .. }), "{err}");
}
