//! Directory accounts (issue 20) on SQLite and PostgreSQL: created and
//! refreshed with their rights in one go, never taking over a local
//! account, disabled with every token and session gone, and listed when a
//! check is due.

use devicevault_core::{Role, Timestamp};
use devicevault_db::{Db, DirectoryGrant, NewToken, Provisioned, TokenKind};
use devicevault_testkit::both_engines;
use devicevault_testkit::db::TestDb;

fn grant<'a>(
    role: Role,
    groups: Option<&'a [String]>,
    granted_by: &'a [String],
) -> DirectoryGrant<'a> {
    DirectoryGrant {
        role,
        device_groups: groups,
        view_secrets: role == Role::Operator,
        granted_by,
        groups: granted_by,
    }
}

/// Provisions `username` of `source` with `grant`, now.
async fn provision(
    db: &Db,
    username: &str,
    source: &str,
    grant: DirectoryGrant<'_>,
) -> Provisioned {
    db.provision_directory_user(username, source, &grant, "!directory", Timestamp::now())
        .await
        .unwrap()
}

async fn an_account_is_created_then_refreshed_with_its_rights(t: TestDb) {
    let db = &t.db;
    let core = db.create_device_group("core").await.unwrap().id;
    let edge = db.create_device_group("edge").await.unwrap().id;
    let names = ["core".to_owned(), "missing".to_owned()];
    let rows = ["netops".to_owned()];
    let first = provision(
        db,
        "alice",
        "ldap",
        grant(Role::Operator, Some(&names), &rows),
    )
    .await;
    assert!(first.created);
    assert_eq!(first.missing_groups, ["missing"]);
    let u = &first.user;
    assert_eq!(
        (u.role, u.restricted, u.view_secrets),
        (Role::Operator, true, true)
    );
    assert_eq!(u.source, "ldap");
    assert!(u.directory_checked_at.is_some());
    assert_eq!(db.user_device_groups(u.id).await.unwrap(), [core]);
    assert_eq!(
        db.directory_grant(u.id).await.unwrap().unwrap().granted_by,
        rows
    );

    let names = ["edge".to_owned()];
    let again = provision(db, "alice", "ldap", grant(Role::Reader, Some(&names), &[])).await;
    assert!(!again.created);
    assert_eq!(again.user.id, u.id);
    assert_eq!(
        (again.user.role, again.user.view_secrets),
        (Role::Reader, false)
    );
    assert_eq!(db.user_device_groups(u.id).await.unwrap(), [edge]);

    let all = provision(db, "alice", "ldap", grant(Role::Admin, None, &[])).await;
    assert!(!all.user.restricted);
}

async fn a_local_account_is_never_taken_over(t: TestDb) {
    let db = &t.db;
    db.create_user("admin", "$argon2id$whatever", Role::Admin)
        .await
        .unwrap();
    let err = db
        .provision_directory_user(
            "admin",
            "oidc:corp",
            &grant(Role::Reader, None, &[]),
            "!x",
            Timestamp::now(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("local"), "{err}");
    let admin = db.user_by_name("admin").await.unwrap().unwrap();
    assert!(admin.is_local() && admin.role == Role::Admin);
    provision(db, "bob", "ldap", grant(Role::Reader, None, &[])).await;
    let err = db
        .provision_directory_user(
            "bob",
            "oidc:corp",
            &grant(Role::Reader, None, &[]),
            "!x",
            Timestamp::now(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ldap"), "{err}");
    assert!(
        db.disable_directory_user(admin.id, Timestamp::now())
            .await
            .is_err()
    );
}

async fn disabling_an_account_revokes_every_token_and_session(t: TestDb) {
    let db = &t.db;
    let u = provision(db, "alice", "ldap", grant(Role::Reader, None, &[]))
        .await
        .user;
    for (digest, kind) in [
        ("a".repeat(64), TokenKind::Named),
        ("b".repeat(64), TokenKind::Session),
    ] {
        db.add_token(NewToken {
            user_id: u.id,
            digest: &digest,
            kind,
            name: (kind == TokenKind::Named).then_some("script"),
            expires_at: None,
        })
        .await
        .unwrap();
    }
    let due = db
        .directory_users_due("ldap", Timestamp::now())
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(),
        ["alice"]
    );
    assert_eq!(
        db.disable_directory_user(u.id, Timestamp::now())
            .await
            .unwrap(),
        2
    );
    assert!(db.list_tokens(Some(u.id)).await.unwrap().is_empty());
    let after = db.user(u.id).await.unwrap();
    assert!(after.disabled_at.is_some());
    assert!(
        db.directory_users_due("ldap", Timestamp::now())
            .await
            .unwrap()
            .is_empty(),
        "a disabled account is not checked"
    );
    // The directory vouches for it again: enabled.
    let back = provision(db, "alice", "ldap", grant(Role::Reader, None, &[]))
        .await
        .user;
    assert!(back.disabled_at.is_none());
}

both_engines!(
    an_account_is_created_then_refreshed_with_its_rights,
    a_local_account_is_never_taken_over,
    disabling_an_account_revokes_every_token_and_session,
);
