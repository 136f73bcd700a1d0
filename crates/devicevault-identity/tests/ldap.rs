//! Sign-in against a real OpenLDAP slapd (Debian's), started by each test
//! with its own configuration, TLS certificate and directory.

use devicevault_testkit::identity::slapd;

use devicevault_core::RetryClass as _;
use devicevault_identity::{
    AccountState, DeviceScope, DisabledCheck, GroupMapping, IdentityError, LdapConfig,
    LdapDirectory, Role, resolve_rights,
};
use slapd::Slapd;

/// The configuration the tests start from: ldaps:// trusting the test CA.
fn config(slapd: &Slapd) -> LdapConfig {
    slapd.config(
        &slapd.ldaps_url,
        "connect_timeout_secs = 5\ntimeout_secs = 10",
    )
}

fn directory(cfg: LdapConfig) -> LdapDirectory {
    LdapDirectory::new(cfg).unwrap()
}

#[tokio::test]
async fn the_right_password_signs_the_user_in_with_its_groups() {
    let slapd = Slapd::start();
    let user = directory(config(&slapd))
        .authenticate("alice", "alice-password")
        .await
        .unwrap();
    assert_eq!(user.username, "alice");
    assert_eq!(user.display_name.as_deref(), Some("Alice Liddell"));
    assert_eq!(user.email.as_deref(), Some("alice@example.org"));
    assert_eq!(user.dn, "uid=alice,ou=people,dc=example,dc=org");
    assert_eq!(user.groups, ["netops", "readers"]);
    assert_eq!(
        user.group_dns,
        [
            "cn=netops,ou=groups,dc=example,dc=org",
            "cn=readers,ou=groups,dc=example,dc=org"
        ]
    );
}

#[tokio::test]
async fn the_username_is_recorded_as_the_directory_spells_it() {
    let slapd = Slapd::start();
    let user = directory(config(&slapd))
        .authenticate("ALICE", "alice-password")
        .await
        .unwrap();
    assert_eq!(user.username, "alice");
}

#[tokio::test]
async fn a_wrong_password_is_a_permanent_invalid_credentials_error() {
    let slapd = Slapd::start();
    let err = directory(config(&slapd))
        .authenticate("alice", "not-her-password")
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::InvalidCredentials), "{err}");
    assert!(!err.is_transient());
    assert!(!format!("{err} {err:?}").contains("not-her-password"));
}

#[tokio::test]
async fn an_unknown_user_gets_the_same_answer_as_a_wrong_password() {
    let slapd = Slapd::start();
    let err = directory(config(&slapd))
        .authenticate("nobody", "whatever")
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::InvalidCredentials), "{err}");
}

#[tokio::test]
async fn a_disabled_account_is_refused_even_with_its_right_password() {
    let slapd = Slapd::start();
    let err = directory(config(&slapd))
        .authenticate("mallory", "mallory-password")
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::AccountDisabled), "{err}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn an_account_matched_by_a_disabled_filter_is_refused() {
    let slapd = Slapd::start();
    let mut cfg = config(&slapd);
    cfg.disabled = DisabledCheck::Filter {
        filter: "(employeeType=former)".into(),
    };
    let directory = directory(cfg);
    let err = directory
        .authenticate("frank", "frank-password")
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::AccountDisabled), "{err}");
    directory.authenticate("bob", "bob-password").await.unwrap();
}

#[tokio::test]
async fn an_empty_password_is_refused_although_this_directory_would_accept_it() {
    // With `allow bind_anon_dn`, slapd answers a DN with an empty password
    // as a successful anonymous bind: the pitfall itself.
    let slapd = Slapd::start_with(&["bind_anon_dn"]);
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&slapd.ldap_url).await.unwrap();
    ldap3::drive!(conn);
    let unauthenticated = ldap
        .simple_bind("uid=alice,ou=people,dc=example,dc=org", "")
        .await
        .unwrap();
    assert_eq!(unauthenticated.rc, 0, "the directory accepts it");
    let _ = ldap.unbind().await;

    let err = directory(config(&slapd))
        .authenticate("alice", "")
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::EmptyPassword), "{err}");
}

#[tokio::test]
async fn filter_metacharacters_in_a_username_cannot_widen_the_search() {
    let slapd = Slapd::start();
    let directory = directory(config(&slapd));
    // Unescaped, `ali*` would find alice and her password would sign in.
    for username in ["ali*", "*)(uid=*", "*", "alice)(|(uid=*", "alice\\"] {
        let err = directory
            .authenticate(username, "alice-password")
            .await
            .unwrap_err();
        assert!(
            matches!(err, IdentityError::InvalidCredentials),
            "{username}: {err}"
        );
    }
    assert_eq!(
        directory.check_account("*").await.unwrap(),
        AccountState::Gone
    );
}

#[tokio::test]
async fn the_groups_of_a_user_whose_dn_has_filter_metacharacters_are_found() {
    let slapd = Slapd::start();
    let user = directory(config(&slapd))
        .authenticate("pat", "pat-password")
        .await
        .unwrap();
    assert_eq!(user.dn, "cn=Pat (ops),ou=people,dc=example,dc=org");
    assert_eq!(user.groups, ["readers"]);
}

#[tokio::test]
async fn plaintext_ldap_is_refused_unless_explicitly_allowed() {
    let slapd = Slapd::start();
    let mut cfg = config(&slapd);
    cfg.url = slapd.ldap_url.clone();
    let err = LdapDirectory::new(cfg.clone()).unwrap_err();
    assert!(
        matches!(err, IdentityError::PlaintextRefused { .. }),
        "{err}"
    );

    cfg.allow_plaintext = true;
    let user = directory(cfg)
        .authenticate("bob", "bob-password")
        .await
        .unwrap();
    assert_eq!(user.groups, ["readers"]);
}

#[tokio::test]
async fn starttls_upgrades_a_plain_ldap_url() {
    let slapd = Slapd::start();
    let mut cfg = config(&slapd);
    cfg.url = slapd.ldap_url.clone();
    cfg.starttls = true;
    let user = directory(cfg)
        .authenticate("alice", "alice-password")
        .await
        .unwrap();
    assert_eq!(user.username, "alice");
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_is_refused() {
    let slapd = Slapd::start();
    for starttls in [false, true] {
        let mut cfg = config(&slapd);
        cfg.ca_file = Some(slapd.certs.other_ca.clone());
        if starttls {
            cfg.url = slapd.ldap_url.clone();
            cfg.starttls = true;
        }
        let err = directory(cfg)
            .authenticate("alice", "alice-password")
            .await
            .unwrap_err();
        assert!(
            matches!(err, IdentityError::Tls { .. }),
            "starttls {starttls}: {err}"
        );
        assert!(!err.is_transient());
    }
}

#[tokio::test]
async fn a_wrong_service_password_is_a_permanent_directory_error() {
    let slapd = Slapd::start();
    let mut cfg = config(&slapd);
    cfg.bind_password = "wrong".into();
    let err = directory(cfg)
        .authenticate("alice", "alice-password")
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::Directory { code: 49, .. }),
        "{err}"
    );
    assert!(!err.is_transient());
    assert!(!err.to_string().contains("wrong"), "{err}");
}

#[tokio::test]
async fn an_unreachable_directory_is_a_transient_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let slapd = Slapd::start();
    let mut cfg = config(&slapd);
    cfg.url = format!("ldaps://127.0.0.1:{port}");
    let err = directory(cfg)
        .authenticate("alice", "alice-password")
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::Unreachable { .. }), "{err}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_directory_that_never_answers_times_out_as_a_transient_error() {
    // Accepts the connection, then says nothing: the TLS handshake waits.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let slapd = Slapd::start();
    let mut cfg = config(&slapd);
    cfg.url = format!("ldaps://127.0.0.1:{port}");
    cfg.connect_timeout_secs = 1;
    cfg.timeout_secs = 2;
    let started = std::time::Instant::now();
    let err = directory(cfg)
        .authenticate("alice", "alice-password")
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::Timeout { .. }), "{err}");
    assert!(err.is_transient());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn the_periodic_check_tells_active_disabled_and_gone_accounts_apart() {
    let slapd = Slapd::start();
    let directory = directory(config(&slapd));
    match directory.check_account("alice").await.unwrap() {
        AccountState::Active(user) => assert_eq!(user.groups, ["netops", "readers"]),
        other => panic!("alice: {other:?}"),
    }
    assert_eq!(
        directory.check_account("mallory").await.unwrap(),
        AccountState::Disabled
    );
    assert_eq!(
        directory.check_account("nobody").await.unwrap(),
        AccountState::Gone
    );
}

#[tokio::test]
async fn an_account_disabled_or_removed_after_sign_in_is_noticed_at_the_next_check() {
    let slapd = Slapd::start();
    let directory = directory(config(&slapd));
    directory.authenticate("bob", "bob-password").await.unwrap();
    directory
        .authenticate("alice", "alice-password")
        .await
        .unwrap();

    // bob is locked by an administrator; alice leaves netops, then leaves.
    slapd.modify(
        "dn: uid=bob,ou=people,dc=example,dc=org\nchangetype: modify\n\
         add: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n",
    );
    slapd.modify(
        "dn: cn=netops,ou=groups,dc=example,dc=org\nchangetype: modify\n\
         delete: member\nmember: uid=alice,ou=people,dc=example,dc=org\n",
    );
    assert_eq!(
        directory.check_account("bob").await.unwrap(),
        AccountState::Disabled
    );
    let err = directory
        .authenticate("bob", "bob-password")
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::AccountDisabled), "{err}");
    match directory.check_account("alice").await.unwrap() {
        AccountState::Active(user) => assert_eq!(user.groups, ["readers"]),
        other => panic!("alice: {other:?}"),
    }

    slapd.modify("dn: uid=alice,ou=people,dc=example,dc=org\nchangetype: delete\n");
    assert_eq!(
        directory.check_account("alice").await.unwrap(),
        AccountState::Gone
    );
    let err = directory
        .authenticate("alice", "alice-password")
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::InvalidCredentials), "{err}");
}

#[tokio::test]
async fn directory_groups_map_to_rights_by_name_or_dn() {
    let slapd = Slapd::start();
    let directory = directory(config(&slapd));
    let table: Vec<GroupMapping> = devicevault_testkit::identity::group_mappings(
        r#"
        [[group_mapping]]
        group = "readers"
        role = "reader"
        device_groups = ["campus"]

        [[group_mapping]]
        group = "cn=netops,ou=groups,dc=example,dc=org"
        role = "operator"
        device_groups = ["core"]
        view_secrets = true
        "#,
    );

    let alice = directory
        .authenticate("alice", "alice-password")
        .await
        .unwrap();
    let rights = resolve_rights(&table, &alice.group_keys()).unwrap();
    assert_eq!(rights.role, Role::Operator);
    assert_eq!(
        rights.devices,
        DeviceScope::Groups(["campus".to_string(), "core".to_string()].into())
    );
    assert!(rights.view_secrets);

    let bob = directory.authenticate("bob", "bob-password").await.unwrap();
    let rights = resolve_rights(&table, &bob.group_keys()).unwrap();
    assert_eq!(rights.role, Role::Reader);
    assert!(!rights.view_secrets);

    let carol = directory
        .authenticate("carol", "carol-password")
        .await
        .unwrap();
    assert!(carol.groups.is_empty());
    assert_eq!(resolve_rights(&table, &carol.group_keys()), None);
}
