//! A server that is safe to expose (issue 13): logins that cannot take it
//! down or be brute-forced, the token lifecycle, secrets masked for
//! readers, archive instead of delete, single-flight backups, and the
//! listener's limits.

mod common;

use devicevault_core::Role;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::browser::Browser;
use common::{Engine, Harness};
use devicevault_client::HttpClient;
use devicevault_pipeline::app::auth;
use devicevault_sim::{Faults, SimConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn ios() -> SimConfig {
    SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        ..SimConfig::default()
    }
}

/// A raw HTTP/1.1 exchange from `local` (a loopback address of our
/// choice, standing for another client) to `server`; returns the status,
/// the headers and the body.
async fn raw(local: IpAddr, server: SocketAddr, request: &str) -> (u16, String, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(local, 0)).unwrap();
    let mut s = socket.connect(server).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn login_request(server: SocketAddr, user: &str, password: &str) -> String {
    let body = json!({"username": user, "password": password}).to_string();
    format!(
        "POST /api/auth/login/ HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn login(h: &Harness, user: &str, password: &str) -> devicevault_client::HttpResponse {
    HttpClient::new(h.server().addr)
        .post(
            "/api/auth/login/",
            &json!({"username": user, "password": password}),
        )
        .await
        .unwrap()
}

/// A reader with a token; restricted to `groups` when given.
async fn reader(h: &Harness, name: &str, groups: Option<&[i64]>) -> (HttpClient, i64) {
    let db = &h.server().db;
    let hash = auth::hash_password("reader password 1").unwrap();
    let u = db.create_user(name, &hash, Role::Reader).await.unwrap();
    if let Some(g) = groups {
        db.set_user_scope(u.id, Some(g)).await.unwrap();
    }
    let token = auth::issue_token(db, u.id, devicevault_db::TokenKind::Named, Some("t"), None)
        .await
        .unwrap()
        .1;
    let mut c = HttpClient::new(h.server().addr);
    c.token = Some(token);
    (c, u.id)
}

fn retry_after(r: &devicevault_client::HttpResponse) -> u64 {
    r.header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After on {}", r.status))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_beyond_the_verification_slots_are_answered_at_once_with_503() {
    let h = Harness::start_with(Engine::Sqlite, ios(), |c| c.settings.login_concurrency = 1).await;
    let addr = h.server().addr;
    // Distinct usernames, so the per-username lock plays no part.
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            tokio::spawn(async move {
                let started = Instant::now();
                let r = HttpClient::new(addr)
                    .post(
                        "/api/auth/login/",
                        &json!({"username": format!("nobody{i}"), "password": "wrong password"}),
                    )
                    .await
                    .unwrap();
                (r, started.elapsed())
            })
        })
        .collect();
    let mut busy = 0;
    for t in tasks {
        let (r, took) = t.await.unwrap();
        assert!(matches!(r.status, 401 | 503), "{}", r.status);
        if r.status == 503 {
            busy += 1;
            assert_eq!(retry_after(&r), 1);
            assert_eq!(r.json()["error"], "busy");
            // Refused at once, never queued behind the verifications.
            assert!(took < Duration::from_secs(2), "{took:?}");
        }
    }
    assert!(
        busy > 0,
        "with one slot, some of 12 parallel logins are refused"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_passwords_lock_the_username_even_against_the_right_one() {
    let h = Harness::start(Engine::Sqlite, ios()).await;
    let (user, password) = h.server().first_admin.clone().unwrap();
    for _ in 0..5 {
        assert_eq!(login(&h, &user, "wrong password").await.status, 401);
    }
    let locked = login(&h, &user, &password).await;
    assert_eq!(locked.status, 429, "locked even for the right password");
    assert_eq!(locked.json()["error"], "throttled");
    assert!(retry_after(&locked) <= 1);
    // Another user, and unknown names, are not affected the other way:
    // an unknown name locks the same way, so locks tell no names apart.
    for _ in 0..5 {
        assert_eq!(login(&h, "ghost", "wrong password").await.status, 401);
    }
    assert_eq!(login(&h, "ghost", "wrong password").await.status, 429);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(login(&h, &user, &password).await.status, 200);
    // The success reset the count: one more failure does not lock.
    assert_eq!(login(&h, &user, "wrong password").await.status, 401);
    assert_eq!(login(&h, &user, &password).await.status, 200);

    // The web form follows the same rules and says how long to wait.
    for _ in 0..5 {
        assert_eq!(login(&h, &user, "wrong password").await.status, 401);
    }
    let mut b = Browser::new(h.server().addr);
    let form = b.get("/login").await;
    let csrf = form.csrf();
    let r = b
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", &user),
                ("password", &password),
            ],
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(
        r.body.contains("Too many failed sign-ins. Wait"),
        "{}",
        r.body
    );
    assert!(!r.header("retry-after").is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_thirty_failures_a_minute_refuse_that_address_only() {
    let h = Harness::start(Engine::Sqlite, ios()).await;
    let server = h.server().addr;
    let (user, password) = h.server().first_admin.clone().unwrap();
    let here: IpAddr = "127.0.0.1".parse().unwrap();
    let elsewhere: IpAddr = "127.0.0.2".parse().unwrap();
    for i in 0..30 {
        let (status, _, _) = raw(here, server, &login_request(server, &format!("u{i}"), "x")).await;
        assert_eq!(status, 401, "failure {i}");
    }
    let (status, head, _) = raw(here, server, &login_request(server, &user, &password)).await;
    assert_eq!(status, 429, "{head}");
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
    let (status, _, body) = raw(elsewhere, server, &login_request(server, &user, &password)).await;
    assert_eq!(status, 200, "{body}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_every_other_token_and_session_of_the_user() {
    let mut h = Harness::start(Engine::Sqlite, ios()).await;
    let (user, password) = h.server().first_admin.clone().unwrap();
    let other_login = login(&h, &user, &password).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let named = h
        .create("/api/tokens/", json!({"name": "export script"}))
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut web = Browser::new(h.server().addr);
    web.login(&user, &password).await;
    assert_eq!(web.get("/devices").await.status, 200);

    let r = h
        .call(
            "POST",
            "/api/auth/password/",
            Some(json!({"current_password": "not it", "new_password": "a new long password"})),
        )
        .await;
    assert_eq!(r.status, 400, "the current password is checked");
    let r = h
        .call(
            "POST",
            "/api/auth/password/",
            Some(json!({"current_password": password, "new_password": "short"})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = h
        .call(
            "POST",
            "/api/auth/password/",
            Some(json!({"current_password": password, "new_password": "a new long password"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json()["revoked"],
        3,
        "the other login, the named token, the session"
    );
    // The token that made the change still works; the others do not.
    assert_eq!(h.call("GET", "/api/devices/", None).await.status, 200);
    for t in [other_login, named] {
        let mut c = HttpClient::new(h.server().addr);
        c.token = Some(t);
        assert_eq!(c.get("/api/devices/").await.unwrap().status, 401);
    }
    assert_eq!(
        web.get("/devices").await.status,
        303,
        "the web session ended"
    );
    assert_eq!(login(&h, &user, &password).await.status, 401);
    assert_eq!(login(&h, &user, "a new long password").await.status, 200);

    // "Sign out everywhere" keeps only the token it was sent with.
    let extra = login(&h, &user, "a new long password").await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h.call("POST", "/api/auth/sign-out-everywhere/", None).await;
    assert_eq!(r.status, 200);
    assert!(r.json()["revoked"].as_i64().unwrap() >= 2);
    let mut c = HttpClient::new(h.server().addr);
    c.token = Some(extra);
    assert_eq!(c.get("/api/devices/").await.unwrap().status, 401);
    assert_eq!(h.call("GET", "/api/devices/", None).await.status, 200);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_tokens_have_a_name_and_an_expiry_and_readers_see_only_theirs() {
    let mut h = Harness::start(Engine::Postgres, ios()).await;
    let t = h.create("/api/tokens/", json!({"name": "nightly"})).await;
    assert_eq!(t["name"], "nightly");
    assert_eq!(t["kind"], "named");
    let expires = devicevault_core::Timestamp::parse(t["expires_at"].as_str().unwrap()).unwrap();
    let days =
        (expires.unix_millis() - devicevault_core::Timestamp::now().unix_millis()) / 86_400_000;
    assert!((89..=90).contains(&days), "{days} days");
    let forever = h
        .create(
            "/api/tokens/",
            json!({"name": "forever", "expires_in_days": null}),
        )
        .await;
    assert!(forever["expires_at"].is_null());
    for bad in [
        json!({"name": "x", "expires_in_days": 0}),
        json!({"name": "x", "expires_in_days": 99999}),
        json!({"name": ""}),
        json!({"name": "x\u{200B}"}),
        json!({"expires_in_days": 3}),
        json!({"name": "x", "scope": "all"}),
    ] {
        let r = h.call("POST", "/api/tokens/", Some(bad.clone())).await;
        assert_eq!(r.status, 400, "{bad}: {}", String::from_utf8_lossy(&r.body));
    }
    // The new token works, and is listed without its secret.
    let mut c = HttpClient::new(h.server().addr);
    c.token = Some(t["token"].as_str().unwrap().to_owned());
    assert_eq!(c.get("/api/devices/").await.unwrap().status, 200);
    let mine = h.list("/api/tokens/").await;
    assert!(
        mine.iter()
            .any(|x| x["id"] == t["id"] && x.get("token").is_none())
    );
    // A reader sees its own tokens only and cannot revoke another's.
    let (mut r, rid) = reader(&h, "rita", None).await;
    let listed = r.get("/api/tokens/?user=1").await.unwrap().json();
    let rows = listed["results"].as_array().unwrap();
    assert!(
        !rows.is_empty() && rows.iter().all(|x| x["user"] == rid),
        "{listed}"
    );
    let del = r
        .request("DELETE", &format!("/api/tokens/{}/", t["id"]), None)
        .await
        .unwrap();
    assert_eq!(del.status, 404);
    // The admin sees everyone's, and revokes.
    assert!(
        h.list("/api/tokens/")
            .await
            .iter()
            .any(|x| x["user"] == rid)
    );
    let del = h
        .call("DELETE", &format!("/api/tokens/{}/", t["id"]), None)
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(c.get("/api/devices/").await.unwrap().status, 401);
    // An admin signs a user out everywhere.
    let r2 = h
        .call(
            "POST",
            &format!("/api/users/{rid}/sign-out-everywhere/"),
            None,
        )
        .await;
    assert_eq!(r2.status, 200);
    assert_eq!(r.get("/api/devices/").await.unwrap().status, 401);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_token_dies_after_the_idle_time() {
    let mut h = Harness::start_with(Engine::Sqlite, ios(), |c| {
        c.settings.login_token_ttl = Duration::from_secs(1)
    })
    .await;
    assert_eq!(h.call("GET", "/api/devices/", None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = h.call("GET", "/api/devices/", None).await;
    assert_eq!(r.status, 401);
    assert!(String::from_utf8_lossy(&r.body).contains("expired"));
    h.stop().await;
}

/// A backed-up cisco_ios device; returns (device id, stored backup id).
async fn backed_up(h: &mut Harness) -> (i64, i64) {
    let (_, ids) = h.inventory().await;
    let ti = h.backup_now(ids[0]).await;
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "stored", "{job}");
    let stored = h
        .list(&format!("/api/stored-backups/?device={}", ids[0]))
        .await;
    (ids[0], stored[0]["id"].as_i64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_get_configurations_with_secrets_masked_unless_granted() {
    let mut h = Harness::start(Engine::Sqlite, ios()).await;
    let (device, stored) = backed_up(&mut h).await;
    let secret = h.sim.devices()[0].secret_token();
    let path = format!("/api/stored-backups/{stored}/download/");
    let whole = h.call("GET", &path, None).await;
    assert_eq!(whole.status, 200);
    assert!(String::from_utf8_lossy(&whole.body).contains(&secret));
    assert_eq!(whole.header("x-devicevault-secrets-masked"), Some("false"));

    let (mut r, rid) = reader(&h, "rita", None).await;
    let masked = r.get(&path).await.unwrap();
    assert_eq!(masked.status, 200);
    let text = String::from_utf8_lossy(&masked.body).into_owned();
    assert!(
        !text.contains(&secret),
        "a secret reached a reader:\n{text}"
    );
    assert!(text.contains("<removed>") && text.contains("hostname r0001"));
    assert_eq!(masked.header("x-devicevault-secrets-masked"), Some("true"));
    assert!(
        masked
            .header("content-disposition")
            .unwrap()
            .contains("-masked.cfg")
    );
    // Same lines, same order: only the secrets changed.
    assert_eq!(
        text.lines().count(),
        String::from_utf8_lossy(&whole.body).lines().count()
    );

    // The web view and the compare page mask too.
    let mut web = Browser::new(h.server().addr);
    web.login("rita", "reader password 1").await;
    let page = web.get(&format!("/backups/{stored}")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(&secret) && page.body.contains("masked for your account"));
    let cmp = web
        .get(&format!("/devices/{device}/compare?a={stored}&b={stored}"))
        .await;
    assert_eq!(cmp.status, 200);
    assert!(!cmp.body.contains(&secret));
    let dl = web.get(&format!("/backups/{stored}/download")).await;
    assert!(!dl.body.contains(&secret));
    assert_eq!(dl.header("x-devicevault-secrets-masked"), "true");

    // Granted view_secrets, the reader sees it whole.
    h.server()
        .db
        .set_user_view_secrets(rid, true)
        .await
        .unwrap();
    let granted = r.get(&path).await.unwrap();
    assert!(String::from_utf8_lossy(&granted.body).contains(&secret));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_device_archives_it_and_its_history_stays_readable_by_admins() {
    let mut h = Harness::start(Engine::Postgres, ios()).await;
    let (device, stored) = backed_up(&mut h).await;
    let (mut r, _) = reader(&h, "rita", None).await;
    let r_del = r
        .request("DELETE", &format!("/api/devices/{device}/"), None)
        .await
        .unwrap();
    assert_eq!(r_del.status, 403);
    assert_eq!(
        h.call("DELETE", &format!("/api/devices/{device}/"), None)
            .await
            .status,
        204
    );
    assert!(h.list("/api/devices/").await.is_empty());
    let archived = h.list("/api/devices/?archived=true").await;
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0]["archived"], true);
    assert_eq!(
        r.get("/api/devices/?archived=true").await.unwrap().status,
        403
    );
    // The history: the admin reads it, a reader finds nothing.
    let dl = h
        .call(
            "GET",
            &format!("/api/stored-backups/{stored}/download/"),
            None,
        )
        .await;
    assert_eq!(dl.status, 200);
    assert_eq!(
        r.get(&format!("/api/stored-backups/{stored}/"))
            .await
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        r.get(&format!("/api/devices/{device}/"))
            .await
            .unwrap()
            .status,
        404
    );
    // Not backed up, not editable while archived.
    let now = h
        .call("POST", &format!("/api/devices/{device}/backup_now/"), None)
        .await;
    assert_eq!(now.status, 409);
    let patch = h
        .call(
            "PATCH",
            &format!("/api/devices/{device}/"),
            Some(json!({"port": 2022})),
        )
        .await;
    assert_eq!(patch.status, 409);
    // The location still holds backups: it cannot go.
    let loc = h.list("/api/backup-locations/").await[0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        h.call("DELETE", &format!("/api/backup-locations/{loc}/"), None)
            .await
            .status,
        409
    );
    // Restored, with its history.
    let back = h
        .call("POST", &format!("/api/devices/{device}/restore/"), None)
        .await;
    assert_eq!(back.status, 200);
    assert_eq!(back.json()["archived"], false);
    assert_eq!(h.list("/api/devices/").await.len(), 1);
    assert_eq!(
        h.list(&format!("/api/stored-backups/?device={device}"))
            .await
            .len(),
        1
    );
    // Purging destroys the records, and says how many.
    let purged = h
        .call(
            "DELETE",
            &format!("/api/devices/{device}/?purge=true"),
            None,
        )
        .await;
    assert_eq!(purged.status, 200);
    assert_eq!(purged.json()["stored_backups"], 1);
    assert_eq!(
        h.call("GET", &format!("/api/stored-backups/{stored}/"), None)
            .await
            .status,
        404
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_now_pressed_many_times_runs_one_session_and_answers_the_same_job() {
    let mut h = Harness::start(Engine::Sqlite, ios()).await;
    let (_, ids) = h.inventory().await;
    // A slow device, so that every press lands while the first collects.
    h.sim.devices()[0].set_faults(Faults {
        throttle_bytes_per_sec: Some(20_000),
        ..Faults::default()
    });
    let addr = h.server().addr;
    let token = h.token.clone();
    let presses: Vec<_> = (0..40)
        .map(|_| {
            let token = token.clone();
            let id = ids[0];
            tokio::spawn(async move {
                let mut c = HttpClient::new(addr);
                c.token = Some(token);
                let r = c
                    .post(&format!("/api/devices/{id}/backup_now/"), &json!({}))
                    .await
                    .unwrap();
                assert_eq!(r.status, 202);
                r.json()["task_identifier"].as_str().unwrap().to_owned()
            })
        })
        .collect();
    let mut tis = Vec::new();
    for p in presses {
        tis.push(p.await.unwrap());
    }
    tis.dedup();
    assert_eq!(tis.len(), 1, "every press joined the first job: {tis:?}");
    let job = h.wait_job(&tis[0]).await;
    assert_eq!(job["state"], "stored");
    assert_eq!(
        h.sim.devices()[0].sessions(),
        1,
        "one SSH session for 40 presses"
    );
    // Once it finished, the next press starts a new job.
    let next = h.backup_now(ids[0]).await;
    assert_ne!(next, tis[0]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_and_missing_objects_get_the_same_answer_and_schedules_hide_devices() {
    let mut h = Harness::start(Engine::Sqlite, ios()).await;
    let (device, stored) = backed_up(&mut h).await;
    let g = h
        .create("/api/device-groups/", json!({"name": "edge"}))
        .await;
    let (mut r, _) = reader(&h, "rita", Some(&[g["id"].as_i64().unwrap()])).await;
    let mut web = Browser::new(h.server().addr);
    web.login("rita", "reader password 1").await;
    let hidden = web.get(&format!("/backups/{stored}")).await;
    let missing = web.get("/backups/999999").await;
    assert_eq!((hidden.status, missing.status), (404, 404));
    // The error itself, with the id asked for taken out.
    let strip = |body: &str, id: &str| {
        let start = body
            .find(r#"<div class="error-page">"#)
            .expect("an error page");
        let end = body[start..].find("</div>").unwrap() + start;
        body[start..end].replace(&format!(" {id} "), " N ")
    };
    assert_eq!(
        strip(&hidden.body, &stored.to_string()),
        strip(&missing.body, "999999"),
        "a hidden backup must look missing"
    );
    assert!(!hidden.body.contains(&format!("device {device}")));
    let (ha, hb) = (
        web.get(&format!("/devices/{device}")).await,
        web.get("/devices/999999").await,
    );
    assert_eq!(
        strip(&ha.body, &device.to_string()),
        strip(&hb.body, "999999")
    );
    // Schedules name only the devices the reader may see.
    let s = h
        .create(
            "/api/backup-schedules/",
            json!({"name": "nightly", "cron": "0 2 * * *", "devices": [device]}),
        )
        .await;
    let seen = r
        .get(&format!("/api/backup-schedules/{}/", s["id"]))
        .await
        .unwrap()
        .json();
    assert_eq!(seen["devices"], json!([]));
    let listed = r.get("/api/backup-schedules/").await.unwrap().json();
    assert_eq!(listed["results"][0]["devices"], json!([]));
    assert_eq!(
        h.list("/api/backup-schedules/").await[0]["devices"],
        json!([device])
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_links_are_relative_unless_a_public_url_is_configured() {
    let mut h = Harness::start(Engine::Sqlite, ios()).await;
    for i in 0..3 {
        h.create("/api/device-groups/", json!({"name": format!("g{i}")}))
            .await;
    }
    let r = h.call("GET", "/api/device-groups/?page_size=1", None).await;
    assert_eq!(r.json()["next"], "/api/device-groups/?page_size=1&page=2");
    h.stop().await;
    let mut h = Harness::start_with(Engine::Sqlite, ios(), |c| {
        c.settings.public_url = Some("https://dv.example.net".into())
    })
    .await;
    h.create("/api/device-groups/", json!({"name": "a"})).await;
    h.create("/api/device-groups/", json!({"name": "b"})).await;
    let r = h.call("GET", "/api/device-groups/?page_size=1", None).await;
    assert_eq!(
        r.json()["next"],
        "https://dv.example.net/api/device-groups/?page_size=1&page=2"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_finish_its_headers_is_disconnected() {
    let h = Harness::start_with(Engine::Sqlite, ios(), |c| {
        c.settings.header_read_timeout = Duration::from_secs(1)
    })
    .await;
    let mut s = tokio::net::TcpStream::connect(h.server().addr)
        .await
        .unwrap();
    s.write_all(b"GET /api/health/ HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // The server hung up; finishing the request gets no health answer.
    let _ = s.write_all(b"\r\n").await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(
        !text.contains("\"status\":\"ok\""),
        "served after 2.5 s mid-headers: {text}"
    );
    // A complete request is served as usual.
    let (status, _, _) = raw(
        "127.0.0.1".parse().unwrap(),
        h.server().addr,
        "GET /api/health/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let h = Harness::start_with(Engine::Sqlite, ios(), |c| {
        c.settings.max_connections = 1;
        c.settings.header_read_timeout = Duration::from_secs(2);
    })
    .await;
    let addr = h.server().addr;
    // One idle connection takes the only slot until the header timeout.
    let idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let (status, _, _) = raw(
        "127.0.0.1".parse().unwrap(),
        addr,
        "GET /api/health/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "served while the cap was reached ({:?})",
        started.elapsed()
    );
    drop(idle);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_with_invisible_or_reordering_characters_are_refused_on_their_field() {
    let mut h = Harness::start(Engine::Sqlite, ios()).await;
    for (path, body, needle) in [
        (
            "/api/devices/",
            json!({"name": "r\u{200B}1", "address": "192.0.2.1", "driver": "cisco_ios"}),
            "U+200B",
        ),
        (
            "/api/device-groups/",
            json!({"name": "edge\u{202E}x"}),
            "U+202E",
        ),
        ("/api/device-types/", json!({"name": "\u{FEFF}"}), "U+FEFF"),
        (
            "/api/credentials/",
            json!({"name": "a\tb", "username": "u", "password": "p"}),
            "U+0009",
        ),
    ] {
        let r = h.call("POST", path, Some(body)).await;
        assert_eq!(r.status, 400, "{path}");
        let v: Value = r.json();
        assert!(
            v["detail"]["name"][0].as_str().unwrap().contains(needle),
            "{path}: {v}"
        );
    }
    // NFC: a decomposed name is stored composed.
    let d = h
        .create(
            "/api/devices/",
            json!({"name": "cafe\u{301}", "address": "192.0.2.1", "driver": "cisco_ios"}),
        )
        .await;
    assert_eq!(d["name"], "caf\u{e9}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_redirect_only_to_paths_of_this_site() {
    let mut h = Harness::start(Engine::Sqlite, ios()).await;
    let (_, ids) = h.inventory().await;
    let (user, password) = h.server().first_admin.clone().unwrap();
    let mut b = Browser::new(h.server().addr);
    b.login(&user, &password).await;
    let page = b.get(&format!("/devices/{}", ids[0])).await;
    let csrf = page.csrf();
    for back in [
        "/\t/evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
    ] {
        let r = b
            .post(
                &format!("/devices/{}/enabled", ids[0]),
                &[("csrf", &csrf), ("enabled", "no"), ("back", back)],
            )
            .await;
        assert_eq!(r.status, 303);
        let to = r.header("location");
        assert!(
            to.starts_with(&format!("/devices/{}", ids[0])),
            "{back:?} led to {to:?}"
        );
    }
    h.stop().await;
}

/// A self-signed certificate for 127.0.0.1, made by the openssl CLI.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
        ])
        .args([
            "-subj",
            "/CN=devicevault-test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_served_with_the_configured_certificate_and_cookies_are_secure() {
    use tokio_rustls::rustls;
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(certs.path());
    let files = devicevault_http::http_server::TlsFiles {
        cert: cert.clone(),
        key,
    };
    let h =
        Harness::start_with_plain(Engine::Sqlite, ios(), |c| c.settings.tls = Some(files)).await;
    let addr = h.server().addr;
    // A client that trusts exactly this certificate.
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(&cert).unwrap();
    for c in rustls_pem(&pem) {
        roots.add(c).unwrap();
    }
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let cookie = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie: dv_login="))
        .expect("the login form sets its cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    // Plain HTTP on the TLS port gets no page.
    let (status, _, _) = raw(
        "127.0.0.1".parse().unwrap(),
        addr,
        "GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_ne!(status, 200);
    h.stop().await;
}

fn rustls_pem(pem: &[u8]) -> Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>> {
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    tokio_rustls::rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_manages_tokens_passwords_archives_and_secrets() {
    let mut h = Harness::start(Engine::Sqlite, ios()).await;
    let (device, stored) = backed_up(&mut h).await;
    let (_, rid) = reader(&h, "rita", None).await;
    let secret = h.sim.devices()[0].secret_token();
    let (user, password) = h.server().first_admin.clone().unwrap();
    let mut admin = Browser::new(h.server().addr);
    admin.login(&user, &password).await;

    // A reader makes a named token and changes its own password.
    let mut rita = Browser::new(h.server().addr);
    rita.login("rita", "reader password 1").await;
    let mut other = Browser::new(h.server().addr);
    other.login("rita", "reader password 1").await;
    let page = rita.get("/account").await;
    assert_eq!(page.status, 200);
    let csrf = page.csrf();
    let made = rita
        .post(
            "/account/tokens",
            &[
                ("csrf", &csrf),
                ("name", "laptop script"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(made.status, 200);
    let marker = r#"<code class="token" id="new-token">"#;
    let at = made.body.find(marker).expect("the new token, shown once") + marker.len();
    let token = made.body[at..at + 40].to_owned();
    let mut api = HttpClient::new(h.server().addr);
    api.token = Some(token);
    assert_eq!(api.get("/api/devices/").await.unwrap().status, 200);
    assert!(rita.get("/account").await.body.contains("laptop script"));
    let wrong = rita
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", "not mine"),
                ("password", "a brand new password"),
                ("password_confirm", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("This is not your password."));
    let changed = rita
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", "reader password 1"),
                ("password", "a brand new password"),
                ("password_confirm", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert_eq!(rita.get("/devices").await.status, 200, "this session stays");
    assert_eq!(
        other.get("/devices").await.status,
        303,
        "the other session ended"
    );
    assert_eq!(
        api.get("/api/devices/").await.unwrap().status,
        401,
        "the token ended"
    );

    // The administrator sees every token, grants view_secrets.
    let tokens = admin.get("/admin/tokens").await;
    assert_eq!(tokens.status, 200);
    assert!(tokens.body.contains("rita") && tokens.body.contains("web session"));
    let user_page = admin.get(&format!("/admin/users/{rid}")).await;
    assert!(user_page.body.contains("masked by the device driver"));
    let csrf = user_page.csrf();
    let r = admin
        .post(
            &format!("/admin/users/{rid}/secrets"),
            &[("csrf", &csrf), ("view_secrets", "yes")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(
        rita.get(&format!("/backups/{stored}"))
            .await
            .body
            .contains(&secret)
    );
    let r = admin
        .post(
            &format!("/admin/users/{rid}/sign-out-everywhere"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(rita.get("/devices").await.status, 303);

    // Deleting archives; the archive page restores; purging says how many.
    let r = admin
        .post(&format!("/devices/{device}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303);
    assert!(!admin.get("/devices").await.body.contains("r0001"));
    let archived = admin.get("/admin/archived-devices").await;
    assert!(archived.body.contains("r0001"), "{}", archived.body);
    assert_eq!(admin.get(&format!("/backups/{stored}")).await.status, 200);
    let confirm = admin.get(&format!("/devices/{device}/purge")).await;
    assert!(
        confirm.body.contains("<strong>1 stored versions</strong>"),
        "{}",
        confirm.body
    );
    let r = admin
        .post(&format!("/devices/{device}/restore"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303);
    assert!(admin.get("/devices").await.body.contains("r0001"));
    let r = admin
        .post(
            &format!("/devices/{device}/purge"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(admin.get(&format!("/backups/{stored}")).await.status, 404);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_sending_more_than_its_types_limit_fails_for_good_naming_the_limit() {
    let mut h = Harness::start(Engine::Sqlite, ios()).await;
    let (_, ids) = h.inventory().await;
    let t = h
        .create(
            "/api/device-types/",
            json!({"name": "small", "max_config_bytes": 65536}),
        )
        .await;
    let r = h
        .call(
            "PATCH",
            &format!("/api/devices/{}/", ids[0]),
            Some(json!({"device_type": t["id"]})),
        )
        .await;
    assert_eq!(r.status, 200);
    h.sim.devices()[0].set_faults(Faults {
        endless_output: true,
        ..Faults::default()
    });
    let ti = h.backup_now(ids[0]).await;
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "failed", "{job}");
    let reason = job["reason"].as_str().unwrap();
    assert!(
        reason.contains("65536 bytes") && reason.contains("max_config_bytes"),
        "{reason}"
    );
    assert_eq!(job["attempts"], 1);
    let results = h
        .list(&format!("/api/backup-results/?device={}", ids[0]))
        .await;
    assert_eq!(results.len(), 1, "not retried: one collection result");
    // Without the type's limit, the default applies to an ordinary device.
    h.sim.devices()[0].set_faults(Faults::default());
    let ti = h.backup_now(ids[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    h.stop().await;
}
