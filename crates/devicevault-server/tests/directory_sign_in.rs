//! LDAP sign-in through the running server (issue 20): a real OpenLDAP
//! `slapd` per test, over LDAPS with a generated certificate, with a small
//! directory (testkit's `identity::slapd`: alice in netops and readers, bob
//! in readers, carol in no group, mallory locked); the API's and the web
//! UI's login, the group mapping, refusals, the login rate limits, the
//! audit log, and the periodic check that ends a disabled account's tokens.

mod common;

use std::time::{Duration, Instant};

use common::browser::Browser;
use common::{Engine, Harness};
use devicevault_client::HttpClient;
use devicevault_core::Role;
use devicevault_identity::{GroupMapping, LdapConfig};
use devicevault_pipeline::app::directory::IdentitySettings;
use devicevault_server::embedded::ServeConfig;
use devicevault_sim::SimConfig;
use devicevault_testkit::identity::group_mappings;
use devicevault_testkit::identity::slapd::Slapd;
use serde_json::json;

fn sim() -> SimConfig {
    SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        ..SimConfig::default()
    }
}

fn ldap_config(slapd: &Slapd, url: &str, extra: &str) -> LdapConfig {
    slapd.config(url, &format!("refresh_interval_secs = 1\n{extra}"))
}

fn mappings() -> Vec<GroupMapping> {
    group_mappings(
        r#"
        [[group_mapping]]
        group = "netops"
        role = "operator"
        device_groups = ["core", "no-such-group"]
        view_secrets = true

        [[group_mapping]]
        group = "cn=readers,ou=groups,dc=example,dc=org"
        role = "reader"
        device_groups = ["edge"]
        "#,
    )
}

fn with_ldap(ldap: LdapConfig) -> impl FnOnce(&mut ServeConfig) {
    move |cfg| {
        cfg.settings.identity = IdentitySettings {
            ldap: Some(ldap),
            oidc: Vec::new(),
            group_mappings: mappings(),
        };
    }
}

async fn start(engine: Engine, slapd: &Slapd) -> Harness {
    let ldap = ldap_config(slapd, &slapd.ldaps_url, "");
    Harness::start_with(engine, sim(), with_ldap(ldap)).await
}

/// `POST /api/auth/login/` from a client of its own: the status and body.
async fn api_login(h: &Harness, user: &str, password: &str) -> (u16, serde_json::Value) {
    let mut c = HttpClient::new(h.server().addr);
    let r = c
        .post(
            "/api/auth/login/",
            &json!({"username": user, "password": password}),
        )
        .await
        .unwrap();
    (r.status, r.json())
}

async fn directory_users_sign_in_with_their_mapped_rights(engine: Engine) {
    let slapd = Slapd::start();
    let h = start(engine, &slapd).await;
    let db = h.server().db.clone();
    let core = db.create_device_group("core").await.unwrap().id;
    let edge = db.create_device_group("edge").await.unwrap().id;

    // alice: netops (operator, core, secrets) and readers by DN (edge).
    let (status, body) = api_login(&h, "alice", "alice-password").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "ldap");
    let alice = db.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(alice.source, "ldap");
    assert_eq!(alice.role, Role::Operator);
    assert!(alice.restricted && alice.view_secrets);
    assert!(alice.directory_checked_at.is_some() && alice.disabled_at.is_none());
    let mut groups = db.user_device_groups(alice.id).await.unwrap();
    groups.sort();
    assert_eq!(groups, [core, edge], "no-such-group is skipped");
    let grant = db.directory_grant(alice.id).await.unwrap().unwrap();
    assert_eq!(
        grant.granted_by,
        ["netops", "cn=readers,ou=groups,dc=example,dc=org"]
    );
    // Its token works like any other.
    let mut api = HttpClient::new(h.server().addr);
    api.sign_in("alice", "alice-password").await.unwrap();
    assert_eq!(api.get("/api/devices/").await.unwrap().status, 200);

    // bob: a reader of edge, secrets masked; through the web form.
    let mut b = Browser::new(h.server().addr);
    b.login("bob", "bob-password").await;
    assert!(b.cookies.contains_key("dv_session"));
    let bob = db.user_by_name("bob").await.unwrap().unwrap();
    assert_eq!(
        (bob.role, bob.restricted, bob.view_secrets),
        (Role::Reader, true, false)
    );
    assert_eq!(db.user_device_groups(bob.id).await.unwrap(), [edge]);

    // Refusals: all the answer of a wrong password.
    for (user, password) in [
        ("alice", "wrong-password"),
        ("carol", "carol-password"),     // in no mapped group
        ("mallory", "mallory-password"), // locked in the directory
        ("nobody", "whatever"),
    ] {
        let (status, body) = api_login(&h, user, password).await;
        assert_eq!(status, 401, "{user}: {body}");
        assert_eq!(body["error"], "invalid_credentials", "{user}");
    }
    assert!(db.user_by_name("carol").await.unwrap().is_none());
    assert!(db.user_by_name("mallory").await.unwrap().is_none());

    // Every sign-in is in the audit log.
    let ok: Vec<String> = h
        .audit_rows("login.success")
        .await
        .into_iter()
        .map(|r| r.entry.actor)
        .collect();
    assert!(
        ok.iter().any(|a| a == "alice") && ok.iter().any(|a| a == "bob"),
        "{ok:?}"
    );
    let failed: Vec<String> = h
        .audit_rows("login.failure")
        .await
        .into_iter()
        .map(|r| r.entry.actor)
        .collect();
    for user in ["alice", "carol", "mallory", "nobody"] {
        assert!(failed.iter().any(|a| a == user), "{user}: {failed:?}");
    }
    let created = h.audit_rows("users.create").await;
    assert!(created.iter().any(|r| r.entry.actor == "alice"));

    // The administrator sees the table and why alice has her rights.
    let admin = h.server().first_admin.clone().unwrap();
    let mut a = Browser::new(h.server().addr);
    a.login(&admin.0, &admin.1).await;
    let page = a.get("/admin/sign-in").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("netops") && page.body.contains("no-such-group"));
    assert!(page.body.contains(&slapd.ldaps_url));
    let page = a.get(&format!("/admin/users/{}", alice.id)).await;
    assert!(
        page.body.contains("Granted by the mapping rows"),
        "{}",
        page.body
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_users_sign_in_with_their_mapped_rights_on_sqlite() {
    directory_users_sign_in_with_their_mapped_rights(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_users_sign_in_with_their_mapped_rights_on_postgres() {
    directory_users_sign_in_with_their_mapped_rights(Engine::Postgres).await;
}

async fn an_account_disabled_in_the_directory_loses_its_tokens_at_the_next_check(engine: Engine) {
    let slapd = Slapd::start();
    let h = start(engine, &slapd).await;
    let db = h.server().db.clone();
    let mut api = HttpClient::new(h.server().addr);
    api.sign_in("alice", "alice-password").await.unwrap();
    assert_eq!(api.get("/api/devices/").await.unwrap().status, 200);
    let mut b = Browser::new(h.server().addr);
    b.login("alice", "alice-password").await;
    assert_eq!(b.get("/devices").await.status, 200);

    slapd.modify(
        "dn: uid=alice,ou=people,dc=example,dc=org\nchangetype: modify\n\
         add: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n",
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = api.get("/api/devices/").await.unwrap().status;
        if status == 401 {
            break;
        }
        assert!(Instant::now() < deadline, "the token still works: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(b.get("/devices").await.status, 303, "the session ended too");
    let alice = db.user_by_name("alice").await.unwrap().unwrap();
    assert!(alice.disabled_at.is_some());
    assert!(db.list_tokens(Some(alice.id)).await.unwrap().is_empty());
    let disabled = h.audit_rows("users.disable").await;
    assert!(
        disabled
            .iter()
            .any(|r| r.entry.object_id.as_deref() == Some(&alice.id.to_string())),
        "{disabled:?}"
    );
    let (status, _) = api_login(&h, "alice", "alice-password").await;
    assert_eq!(status, 401, "a disabled account signs in nowhere");

    // Unlocked in the directory: the next sign-in enables it again.
    slapd.modify(
        "dn: uid=alice,ou=people,dc=example,dc=org\nchangetype: modify\n\
         delete: pwdAccountLockedTime\n",
    );
    let (status, body) = api_login(&h, "alice", "alice-password").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        db.user_by_name("alice")
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_none()
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_disabled_in_the_directory_loses_its_tokens_at_the_next_check_on_sqlite() {
    an_account_disabled_in_the_directory_loses_its_tokens_at_the_next_check(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_disabled_in_the_directory_loses_its_tokens_at_the_next_check_on_postgres() {
    an_account_disabled_in_the_directory_loses_its_tokens_at_the_next_check(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_rate_limits_apply_to_directory_accounts() {
    let slapd = Slapd::start();
    let h = start(Engine::Sqlite, &slapd).await;
    for _ in 0..devicevault_pipeline::app::login::LOCK_AFTER {
        assert_eq!(api_login(&h, "bob", "wrong").await.0, 401);
    }
    let (status, body) = api_login(&h, "bob", "bob-password").await;
    assert_eq!(status, 429, "locked, the right password included: {body}");
    assert!(!h.audit_rows("login.refused").await.is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_account_signs_in_locally_even_when_the_directory_knows_its_name() {
    let slapd = Slapd::start();
    let h = start(Engine::Sqlite, &slapd).await;
    let hash = devicevault_pipeline::app::auth::hash_password("local-bob-password").unwrap();
    h.server()
        .db
        .create_user("bob", &hash, Role::Reader)
        .await
        .unwrap();
    let (status, body) = api_login(&h, "bob", "local-bob-password").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "local");
    let (status, _) = api_login(&h, "bob", "bob-password").await;
    assert_eq!(status, 401, "the directory's password is not bob's here");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_ldap_is_refused_at_start_unless_explicitly_allowed() {
    let slapd = Slapd::start();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::test_config(dir.path());
    with_ldap(ldap_config(&slapd, &slapd.ldap_url, ""))(&mut cfg);
    let refused = match devicevault_server::embedded::Embedded::start(cfg).await {
        Ok(_) => panic!("a plaintext directory is refused"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("plaintext"), "{refused}");

    let h = Harness::start_with(
        Engine::Sqlite,
        sim(),
        with_ldap(ldap_config(
            &slapd,
            &slapd.ldap_url,
            "allow_plaintext = true",
        )),
    )
    .await;
    assert_eq!(api_login(&h, "alice", "alice-password").await.0, 200);
    h.stop().await;

    let h = Harness::start_with(
        Engine::Sqlite,
        sim(),
        with_ldap(ldap_config(&slapd, &slapd.ldap_url, "starttls = true")),
    )
    .await;
    assert_eq!(api_login(&h, "bob", "bob-password").await.0, 200);
    h.stop().await;
}
