//! The lifecycle of single sign-on accounts (issue 20) on SQLite and
//! PostgreSQL: an OpenID provider cannot be asked between sign-ins, so a
//! sign-in that finds the user in no mapped group any more disables the
//! account and ends every token and session it had; a later sign-in in a
//! mapped group enables it again. A local account of the same name is
//! never taken over.

use devicevault_core::{Role, Timestamp};
use devicevault_db::{NewToken, TokenKind};
use devicevault_identity::{OidcUser, Secret};
use devicevault_pipeline::app::directory::{
    DirectoryError, Identity, IdentitySettings, oidc_sign_in,
};
use devicevault_testkit::both_engines;
use devicevault_testkit::db::TestDb;
use devicevault_testkit::identity::group_mappings;

fn identity() -> Identity {
    Identity::new(&IdentitySettings {
        ldap: None,
        oidc: Vec::new(),
        group_mappings: group_mappings(
            r#"
            [[group_mapping]]
            group = "netops"
            role = "operator"
            device_groups = ["*"]
            "#,
        ),
    })
    .unwrap()
}

fn vouched(username: &str, groups: &[&str]) -> OidcUser {
    OidcUser {
        provider: "corp".into(),
        issuer: "https://login.example.org".into(),
        subject: format!("sub-{username}"),
        username: username.into(),
        display_name: None,
        email: None,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        expires_at: Timestamp::now(),
        id_token: Secret::new("not-a-real-token"),
    }
}

async fn a_user_who_left_every_mapped_group_loses_its_tokens_at_its_next_sign_in(t: TestDb) {
    let (db, identity) = (&t.db, identity());
    let alice = oidc_sign_in(db, &identity, &vouched("alice", &["netops"]))
        .await
        .unwrap();
    assert_eq!(
        (alice.source.as_str(), alice.role),
        ("oidc:corp", Role::Operator)
    );
    db.add_token(NewToken {
        user_id: alice.id,
        digest: &"c".repeat(64),
        kind: TokenKind::Named,
        name: Some("script"),
        expires_at: None,
    })
    .await
    .unwrap();

    let refused = oidc_sign_in(db, &identity, &vouched("alice", &["staff"])).await;
    assert!(
        matches!(refused, Err(DirectoryError::NoMappedGroup { .. })),
        "{refused:?}"
    );
    assert!(db.list_tokens(Some(alice.id)).await.unwrap().is_empty());
    assert!(db.user(alice.id).await.unwrap().disabled_at.is_some());
    let audit = db
        .audit_list(
            &devicevault_db::AuditFilter {
                action: Some("users.disable".into()),
                ..Default::default()
            },
            devicevault_db::Page {
                limit: 10,
                offset: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(audit.rows.len(), 1);

    let back = oidc_sign_in(db, &identity, &vouched("alice", &["NetOps"]))
        .await
        .unwrap();
    assert_eq!(back.id, alice.id);
    assert!(back.disabled_at.is_none());
}

async fn a_local_account_of_the_same_name_is_never_taken_over(t: TestDb) {
    let (db, identity) = (&t.db, identity());
    db.create_user("admin", "$argon2id$local", Role::Admin)
        .await
        .unwrap();
    let err = oidc_sign_in(db, &identity, &vouched("admin", &["netops"]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("local account"), "{err}");
    let admin = db.user_by_name("admin").await.unwrap().unwrap();
    assert!(admin.is_local() && admin.role == Role::Admin);
    // Nor is it disabled by a provider that maps it to nothing.
    let _ = oidc_sign_in(db, &identity, &vouched("admin", &["staff"])).await;
    assert!(
        db.user_by_name("admin")
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_none()
    );
}

both_engines!(
    a_user_who_left_every_mapped_group_loses_its_tokens_at_its_next_sign_in,
    a_local_account_of_the_same_name_is_never_taken_over,
);
