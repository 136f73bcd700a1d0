//! Single sign-on with OpenID Connect through the running server, in a
//! real browser (issue 20): npm's oidc-provider under Node (testkit's
//! `identity::oidc_peer`, HTTPS with the test CA) and Debian's Chromium
//! driven by Playwright (`tests/browser/sso.mjs`). The script signs alice
//! in and out, and is refused with a tampered ID token, an ID token of
//! another audience, an expired pending sign-in and a user in no mapped
//! group; this side answers its requests (the provider's test controls)
//! and checks the database and the audit log.
//!
//! Needs `/usr/bin/chromium`, `tests/browser/node_modules` and
//! devicevault-identity's `tests/oidc-provider/node_modules`
//! (`scripts/test`: `ensure_browser`, `ensure_oidc_provider`).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use common::{Engine, Harness};
use devicevault_core::Role;
use devicevault_identity::OidcProvider;
use devicevault_pipeline::app::directory::IdentitySettings;
use devicevault_sim::SimConfig;
use devicevault_testkit::identity::group_mappings;
use devicevault_testkit::identity::oidc_peer::{
    DEVICEVAULT, OTHER_APP, OidcPeer, PeerClient, REDIRECT_URL,
};
use devicevault_testkit::peers::free_port;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// A genuine ID token of `client` for alice, from a scripted sign-in.
async fn genuine_token(peer: &OidcPeer, client: &PeerClient) -> String {
    let provider = OidcProvider::discover(peer.config("script", client, REDIRECT_URL, ""))
        .await
        .unwrap();
    let (url, pending) = provider.authorization_url();
    let callback = peer
        .user_agent()
        .sign_in(&url, "alice", "alice-password")
        .await;
    let user = provider.exchange(&callback, &pending).await.unwrap();
    user.id_token.expose().to_owned()
}

/// Answers one request of the browser script.
async fn answer(h: &Harness, peer: &OidcPeer, request: &str) -> String {
    match request.trim() {
        "CHECK_ALICE" => {
            let alice = h.server().db.user_by_name("alice").await.unwrap().unwrap();
            assert_eq!(alice.source, "oidc:test-sso");
            assert_eq!(alice.role, Role::Operator, "netops maps to operator");
            assert!(alice.restricted && alice.view_secrets);
            "ok".into()
        }
        "TAMPER" => {
            // Her groups rewritten in the payload, the signature kept.
            let genuine = genuine_token(peer, &DEVICEVAULT).await;
            let parts: Vec<&str> = genuine.split('.').collect();
            let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let payload = String::from_utf8(engine.decode(parts[1]).unwrap()).unwrap();
            let forged = payload.replacen("\"sub\":\"alice\"", "\"sub\":\"admin\"", 1);
            assert_ne!(payload, forged);
            let tampered = format!("{}.{}.{}", parts[0], engine.encode(forged), parts[2]);
            peer.substitute_next_id_token(&tampered).await;
            "ok".into()
        }
        "WRONG_AUDIENCE" => {
            let theirs = genuine_token(peer, &OTHER_APP).await;
            peer.substitute_next_id_token(&theirs).await;
            "ok".into()
        }
        other => panic!("unknown request from the browser script: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_with_openid_connect_in_chromium_and_forgeries_are_refused() {
    assert!(
        Path::new("/usr/bin/chromium").exists()
            && browser_dir().join("node_modules/playwright-core").exists(),
        "Chromium and playwright-core are needed: run scripts/test (ensure_browser)"
    );
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let peer = OidcPeer::start_for(
        &[DEVICEVAULT, OTHER_APP],
        &[
            format!("{base}/login/oidc/test-sso/callback"),
            format!("{base}/login/oidc/short/callback"),
        ],
        &[format!("{base}/login")],
    );
    let identity = IdentitySettings {
        ldap: None,
        oidc: vec![
            peer.config(
                "test-sso",
                &DEVICEVAULT,
                &format!("{base}/login/oidc/test-sso/callback"),
                "",
            ),
            peer.config(
                "short",
                &DEVICEVAULT,
                &format!("{base}/login/oidc/short/callback"),
                "login_timeout_secs = 2",
            ),
        ],
        group_mappings: group_mappings(
            r#"
            [[group_mapping]]
            group = "netops"
            role = "operator"
            device_groups = ["core"]
            view_secrets = true
            "#,
        ),
    };
    let sim = SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        ..SimConfig::default()
    };
    let h = Harness::start_with(Engine::Sqlite, sim, move |cfg| {
        cfg.http_addr = format!("127.0.0.1:{port}").parse().unwrap();
        cfg.settings.public_url = Some(base);
        cfg.settings.identity = identity;
    })
    .await;
    h.server().db.create_device_group("core").await.unwrap();

    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let out = target.join("web-screenshots").join("sso");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let args = [
        format!("http://{}", h.server().addr),
        "unused".into(),
        "unused".into(),
        out.display().to_string(),
    ];
    common::browser::run_node_script(
        &browser_dir().join("sso.mjs"),
        &args,
        &[],
        Duration::from_secs(240),
        async |request| answer(&h, &peer, request).await,
    )
    .await;

    let ok = h.audit_rows("login.success").await;
    assert!(
        ok.iter()
            .any(|r| r.entry.actor == "alice" && r.entry.via == "oidc test-sso"),
        "{ok:?}"
    );
    let failed = h.audit_rows("login.failure").await;
    assert!(
        failed
            .iter()
            .filter(|r| r.entry.via.starts_with("oidc "))
            .count()
            >= 4,
        "tampered, wrong audience, expired, unmapped: {failed:?}"
    );
    assert!(
        h.server()
            .db
            .user_by_name("admin")
            .await
            .unwrap()
            .unwrap()
            .is_local(),
        "the forged token took nobody's place"
    );
    assert!(
        h.server()
            .db
            .user_by_name("bob@example.org")
            .await
            .unwrap()
            .is_none()
    );
    h.stop().await;
}
