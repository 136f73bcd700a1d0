//! The web UI over plain HTTP: the session cookie's flags, CSRF refusals,
//! permissions (readers may not post administration forms), the device
//! list's filters, sorting and pagination, error pages.

mod common;

use devicevault_core::Role;
use common::browser::Browser;
use common::{Engine, Harness};
use devicevault_core::Timestamp;
use devicevault_db::{DeviceFields, JobState};
use devicevault_pipeline::app::auth;
use devicevault_sim::SimConfig;

fn sim() -> SimConfig {
    SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        ..SimConfig::default()
    }
}

async fn admin(h: &Harness) -> Browser {
    let (user, password) = h.server().first_admin.clone().unwrap();
    let mut b = Browser::new(h.server().addr);
    b.login(&user, &password).await;
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_http_only_same_site_strict_and_ends_at_logout() {
    let h = Harness::start(Engine::Sqlite, sim()).await;
    let (user, password) = h.server().first_admin.clone().unwrap();
    let mut b = Browser::new(h.server().addr);

    let anonymous = b.get("/devices?page=2").await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        anonymous.header("location"),
        "/login?next=%2Fdevices%3Fpage%3D2"
    );

    let form = b.get("/login").await;
    let login_cookie = form.set_cookies().join("\n");
    assert!(login_cookie.contains("dv_login="), "{login_cookie}");
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"));
    let csrf = form.csrf();

    let wrong = b
        .post(
            "/login",
            &[("csrf", &csrf), ("username", &user), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("Unknown username or wrong password."));
    assert!(!b.cookies.contains_key("dv_session"));

    let csrf = wrong.csrf();
    let ok = b
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", &user),
                ("password", &password),
                ("next", "/devices"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303);
    assert_eq!(ok.header("location"), "/devices");
    let session = ok
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("dv_session="))
        .expect("a session cookie")
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(session.contains(flag), "{flag} in {session}");
    }
    assert!(
        !session.contains("Secure"),
        "plain HTTP gets no Secure flag: {session}"
    );
    let token = b.cookies["dv_session"].clone();
    assert_eq!(token.len(), 64);

    let devices = b.get("/devices").await;
    assert_eq!(devices.status, 200);
    for (header, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(devices.header(header), value);
    }
    assert!(
        devices
            .header("content-security-policy")
            .contains("script-src 'self'")
    );
    assert!(devices.header("server-timing").starts_with("app;dur="));

    // The session is not an API token.
    let mut api = devicevault_client::HttpClient::new(h.server().addr);
    api.token = Some(token.clone());
    assert_eq!(api.get("/api/devices/").await.unwrap().status, 401);

    // Signed in, the login page leads on; behind a TLS proxy the cookie is Secure.
    assert_eq!(b.get("/login").await.status, 303);
    let mut p = Browser::new(h.server().addr);
    let csrf = p.get("/login").await.csrf();
    let proxied = p
        .send(
            "POST",
            "/login",
            Some(&[
                ("csrf", &csrf),
                ("username", &user),
                ("password", &password),
            ]),
            &[("x-forwarded-proto", "https")],
        )
        .await;
    assert!(
        proxied
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("dv_session=") && c.contains("; Secure"))
    );

    // Logging out ends the session on the server, not only in the browser.
    let csrf = b.get("/devices").await.csrf();
    let old = b.cookies["dv_session"].clone();
    let out = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(!b.cookies.contains_key("dv_session"));
    b.cookies.insert("dv_session".into(), old);
    assert_eq!(
        b.get("/devices").await.status,
        303,
        "a logged-out session is refused"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_this_sessions_csrf_token_are_refused() {
    let mut h = Harness::start(Engine::Sqlite, sim()).await;
    let (_, ids) = h.inventory().await;
    let mut b = admin(&h).await;
    let mut other = admin(&h).await;
    let csrf = b.get("/devices").await.csrf();
    let others = other.get("/devices").await.csrf();
    assert_ne!(csrf, others, "each session has its own token");
    let group = [("name", "core")];

    for (label, form) in [
        ("no token", group.to_vec()),
        (
            "a wrong token",
            [&group[..], &[("csrf", "0123456789abcdef0123456789abcdef")]].concat(),
        ),
        (
            "another session's token",
            [&group[..], &[("csrf", others.as_str())]].concat(),
        ),
    ] {
        let r = b.post("/admin/device-groups", &form).await;
        assert_eq!(r.status, 403, "{label}");
        assert!(r.body.contains("Form refused"), "{label}: {}", r.body);
    }
    let with = [("name", "core"), ("csrf", csrf.as_str())];
    let cross = b
        .send(
            "POST",
            "/admin/device-groups",
            Some(&with),
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(cross.status, 403, "another origin");
    let cross = b
        .send(
            "POST",
            "/admin/device-groups",
            Some(&with),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, 403, "a cross-site fetch");
    assert_eq!(
        h.list("/api/device-groups/").await.len(),
        0,
        "nothing was created"
    );

    // "Backup now" from a script sends the token as a header.
    let r = b.post(&format!("/devices/{}/backup", ids[0]), &[]).await;
    assert_eq!(r.status, 403);
    assert_eq!(h.list("/api/backup-results/").await.len(), 0);
    let r = b
        .send(
            "POST",
            &format!("/devices/{}/backup", ids[0]),
            Some(&[]),
            &[("x-csrf-token", &csrf), ("accept", "application/json")],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let accepted: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let ti = accepted["task_identifier"].as_str().unwrap();
    assert_eq!(h.wait_job(ti).await["state"], "stored");

    let ok = b.post("/admin/device-groups", &with).await;
    assert_eq!(ok.status, 303);
    assert_eq!(h.list("/api/device-groups/").await.len(), 1);
    // Behind a proxy that rewrites Host, the browser's host is forwarded.
    let proxied = b
        .send(
            "POST",
            "/admin/device-groups",
            Some(&[("name", "edge"), ("csrf", csrf.as_str())]),
            &[
                ("origin", "https://vault.example"),
                ("x-forwarded-host", "vault.example"),
            ],
        )
        .await;
    assert_eq!(proxied.status, 303, "{}", proxied.body);
    assert_eq!(h.list("/api/device-groups/").await.len(), 2);

    // The login form has its own token, bound to a cookie.
    let mut fresh = Browser::new(h.server().addr);
    let (user, password) = h.server().first_admin.clone().unwrap();
    let r = fresh
        .post(
            "/login",
            &[("csrf", "x"), ("username", &user), ("password", &password)],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(!fresh.cookies.contains_key("dv_session"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_may_back_up_but_not_post_administration_forms() {
    let mut h = Harness::start(Engine::Sqlite, sim()).await;
    let (location, ids) = h.inventory().await;
    let db = h.server().db.clone();
    let hash = auth::hash_password("reader password 1").unwrap();
    db.create_user("rita", &hash, Role::Reader).await.unwrap();
    let mut b = Browser::new(h.server().addr);
    b.login("rita", "reader password 1").await;

    let list = b.get("/devices").await;
    assert_eq!(list.status, 200);
    assert!(
        !list.body.contains("Add device"),
        "readers get no inventory buttons"
    );
    assert!(list.body.contains("Backup now"));
    let csrf = list.csrf();
    let device = format!("/devices/{}", ids[0]);

    for path in [
        "/devices/new",
        &format!("{device}/edit"),
        "/admin/users",
        "/admin/locations/1",
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status, 403, "GET {path}");
        assert!(r.body.contains("Administrators only"), "{path}");
    }
    let loc = location.to_string();
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/devices/new".into(),
            vec![
                ("name", "x"),
                ("address", "127.0.0.1"),
                ("port", "22"),
                ("driver", "cisco_ios"),
            ],
        ),
        (
            format!("{device}/edit"),
            vec![
                ("name", "renamed"),
                ("address", "127.0.0.1"),
                ("port", "22"),
                ("driver", "cisco_ios"),
            ],
        ),
        (format!("{device}/enabled"), vec![("enabled", "no")]),
        (format!("{device}/delete"), vec![]),
        (
            "/admin/locations".into(),
            vec![("name", "l"), ("location_type", "fs"), ("path", "/tmp/x")],
        ),
        (format!("/admin/locations/{loc}/delete"), vec![]),
        (
            "/admin/credentials".into(),
            vec![("name", "c"), ("username", "u"), ("password", "p")],
        ),
        ("/admin/device-groups".into(), vec![("name", "g")]),
        ("/admin/device-types".into(), vec![("name", "t")]),
        (
            "/admin/collection-groups".into(),
            vec![("name", "cg"), ("rabbitmq_queue_id", "q")],
        ),
        (
            "/admin/users".into(),
            vec![
                ("username", "mallory"),
                ("password", "long enough pw"),
                ("password_confirm", "long enough pw"),
                ("is_admin", "on"),
            ],
        ),
        (
            "/admin/users/1/password".into(),
            vec![
                ("password", "long enough pw"),
                ("password_confirm", "long enough pw"),
            ],
        ),
        ("/admin/users/1/tokens".into(), vec![]),
    ];
    for (path, fields) in &posts {
        let mut form = fields.clone();
        form.push(("csrf", &csrf));
        let r = b.post(path, &form).await;
        assert_eq!(r.status, 403, "POST {path}: {}", r.body);
    }
    let d = db.device(ids[0]).await.unwrap();
    assert_eq!(d.fields.name, h.sim.devices()[0].name());
    assert!(d.fields.enabled);
    assert_eq!(db.count_users().await.unwrap(), 2);
    assert_eq!(
        db.list_tokens(Some(1)).await.unwrap().len(),
        1,
        "only the harness's API token"
    );

    // Readers read everything and press "Backup now".
    assert_eq!(b.get(&device).await.status, 200);
    assert_eq!(b.get("/admin/locations").await.status, 200);
    let r = b
        .post(&format!("{device}/backup"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.header("location").starts_with("/jobs/backup_now%3A"),
        "{}",
        r.header("location")
    );
    let job = b.get(r.header("location")).await;
    assert_eq!(job.status, 200);
    assert!(job.body.contains("Backup job"));
    h.stop().await;
}

async fn seed_devices(h: &Harness, n: usize) {
    let db = h.server().db.clone();
    let types = [
        db.create_device_type("ISR 4451", None, None)
            .await
            .unwrap()
            .id,
        db.create_device_type("Nexus 9300", None, None)
            .await
            .unwrap()
            .id,
    ];
    let groups = [
        db.create_device_group("core").await.unwrap().id,
        db.create_device_group("edge").await.unwrap().id,
    ];
    for i in 0..n {
        let d = db
            .create_device(&DeviceFields {
                name: format!("sw-{i:03}"),
                address: format!("10.0.{}.{}", i / 250, i % 250 + 1),
                port: 22,
                driver: "cisco_ios".into(),
                credential: None,
                backup_location: None,
                collection_group: None,
                device_group: (i % 3 != 2).then(|| groups[i % 2]),
                device_type: Some(types[i % 2]),
                enabled: i % 10 != 9,
                profile: Default::default(),
            })
            .await
            .unwrap();
        // Every 4th device failed last, every 4th+1 was stored, the others never ran.
        let state = match i % 4 {
            0 => Some(JobState::Failed),
            1 => Some(JobState::Stored),
            _ => None,
        };
        if let Some(state) = state {
            let ti = format!("seed:{i}");
            let now = Timestamp::now();
            db.create_job("t", &ti, d.id, now, now).await.unwrap();
            db.advance_job(
                &ti,
                state,
                (state == JobState::Failed).then_some("timed out"),
            )
            .await
            .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_list_filters_sorts_and_pages_in_sqlite() {
    device_list(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_list_filters_sorts_and_pages_in_postgres() {
    device_list(Engine::Postgres).await;
}

async fn device_list(engine: Engine) {
    let h = Harness::start(engine, sim()).await;
    seed_devices(&h, 120).await;
    let mut b = admin(&h).await;

    let first = b.get("/devices").await;
    assert!(first.body.contains("1–50 of 120"), "{}", first.body);
    let names = first.device_names();
    assert_eq!(names.len(), 50);
    assert_eq!(names[0], "sw-000");
    assert_eq!(names[49], "sw-049");
    let third = b.get("/devices?page=3").await;
    assert!(third.body.contains("101–120 of 120"));
    assert_eq!(third.device_names().first().unwrap(), "sw-100");
    assert_eq!(
        b.get("/devices?page=2&size=25").await.device_names()[0],
        "sw-025"
    );
    assert_eq!(b.get("/devices?page=99").await.device_names().len(), 0);

    let desc = b.get("/devices?sort=name&dir=desc").await;
    assert_eq!(desc.device_names()[0], "sw-119");
    assert!(desc.body.contains(r#"aria-sort="descending""#));
    let by_address = b.get("/devices?sort=address").await.device_names();
    assert_eq!(by_address[0], "sw-000", "10.0.0.1 first");

    let filtered = b.get("/devices?name=SW-11").await;
    assert_eq!(
        filtered.device_names(),
        (110..120).map(|i| format!("sw-{i}")).collect::<Vec<_>>()
    );
    let core = b.get("/devices?group=1&size=200").await.device_names();
    assert_eq!(core.len(), 40, "i % 3 != 2 and i even: {core:?}");
    assert!(
        core.iter()
            .all(|n| n[3..].parse::<usize>().unwrap() % 2 == 0)
    );
    let nexus = b.get("/devices?type=2&size=200").await.device_names();
    assert_eq!(nexus.len(), 60);
    let disabled = b.get("/devices?enabled=no&size=200").await.device_names();
    assert_eq!(disabled.len(), 12);
    assert!(disabled.iter().all(|n| n.ends_with('9')));

    let failed = b.get("/devices?status=failed&size=200").await;
    assert_eq!(failed.device_names().len(), 30);
    assert!(failed.body.contains("timed out"));
    assert_eq!(
        b.get("/devices?status=stored&size=200")
            .await
            .device_names()
            .len(),
        30
    );
    assert_eq!(
        b.get("/devices?status=never&size=200")
            .await
            .device_names()
            .len(),
        60
    );
    let combined = b
        .get("/devices?status=failed&type=1&enabled=yes&size=200")
        .await
        .device_names();
    assert_eq!(
        combined.len(),
        30,
        "every failed one is of type 1 (i % 4 == 0) and enabled"
    );

    // Sorted by status: failures first, then stored, then never backed up.
    let by_status = b.get("/devices?sort=status&size=200").await.device_names();
    let rank = |n: &str| match n[3..].parse::<usize>().unwrap() % 4 {
        0 => 0,
        1 => 2,
        _ => 3,
    };
    assert!(
        by_status.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
        "{by_status:?}"
    );
    let by_type_desc = b.get("/devices?sort=type&dir=desc").await.device_names();
    assert!(
        by_type_desc
            .iter()
            .all(|n| n[3..].parse::<usize>().unwrap() % 2 == 1),
        "Nexus first"
    );

    // Sorted by last success: the devices with one, oldest first (here:
    // the higher-numbered first), then those never backed up.
    let db = h.server().db.clone();
    let base = Timestamp::now();
    let backed_up = ["sw-010", "sw-005", "sw-001"];
    for (k, name) in backed_up.iter().enumerate() {
        let id = db
            .list_devices(
                &devicevault_db::DeviceFilter {
                    name: Some((*name).into()),
                    ..Default::default()
                },
                &devicevault_db::Scope::All,
                devicevault_db::Page::default(),
            )
            .await
            .unwrap()
            .rows[0]
            .id;
        let at =
            Timestamp::from_datetime(base.as_datetime() + std::time::Duration::from_secs(k as u64));
        db.record_stored_backup(&devicevault_db::NewStoredBackup {
            task_id: format!("ok-{k}"),
            task_identifier: format!("ok-{k}"),
            device_id: id,
            storage_backend: devicevault_core::StorageBackendKind::Git,
            storage_ref: format!("main:{id}/r.cfg@{:040}", 1),
            status: devicevault_core::Status::Success,
            timestamp: at,
            log: "[]".into(),
            location_id: None,
            size: Some(1),
            sha256: None,
            changed: Some(true),
            is_binary: false,
        })
        .await
        .unwrap();
    }
    let by_success = b
        .get("/devices?sort=last_success&size=200")
        .await
        .device_names();
    assert_eq!(&by_success[..3], backed_up, "{by_success:?}");
    assert_eq!(by_success.len(), 120);
    let latest_first = b
        .get("/devices?sort=last_success&dir=desc")
        .await
        .device_names();
    assert_eq!(&latest_first[..3], ["sw-001", "sw-005", "sw-010"]);
    // Each of those stored a new configuration: the last change orders
    // them the same way, and devices that never changed come last.
    let by_change = b
        .get("/devices?sort=last_change&dir=desc&size=200")
        .await
        .device_names();
    assert_eq!(&by_change[..3], ["sw-001", "sw-005", "sw-010"]);
    assert_eq!(by_change.len(), 120);

    let empty = b.get("/devices?name=nothing-like-this").await;
    assert!(empty.body.contains("No device matches these filters."));
    // Nonsense parameters fall back to defaults instead of failing.
    assert_eq!(
        b.get("/devices?page=-3&size=7&sort=bogus&status=x")
            .await
            .device_names()
            .len(),
        50
    );

    // The dashboard counts them on either engine.
    let dash = b.get("/").await;
    assert_eq!(dash.status, 200, "{}", dash.body);
    assert!(
        dash.body.contains(
            r#"<span class="card-value">120</span><span class="card-sub">108 enabled</span>"#
        ),
        "{}",
        dash.body
    );
    assert!(dash.body.contains("ISR 4451") && dash.body.contains("Nexus 9300"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_form_puts_messages_next_to_the_fields_and_pages_fail_politely() {
    let mut h = Harness::start(Engine::Sqlite, sim()).await;
    let (loc, ids) = h.inventory().await;
    let mut b = admin(&h).await;
    let form = b.get("/devices/new").await;
    let csrf = form.csrf();
    // A new device starts from the first credential and location, not
    // from "none" (still a choice, saying what it means).
    for field in ["credential", "backup_location"] {
        let start = form.body.find(&format!(r#"name="{field}""#)).unwrap();
        let end = start + form.body[start..].find("</select>").unwrap();
        let select = &form.body[start..end];
        assert!(select.contains("None (not backed up)"), "{select}");
        assert!(select.contains(" selected"), "{select}");
        assert!(!select.contains(r#"<option value="" selected"#), "{select}");
    }
    let taken = h.sim.devices()[0].name().to_owned();
    let r = b
        .post(
            "/devices/new",
            &[
                ("csrf", &csrf),
                ("name", ""),
                ("address", "a b"),
                ("port", "0"),
                ("driver", "nope"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    for (field, message) in [
        // The application's validator's messages, as sentences.
        ("name", "May not be blank."),
        ("address", "A host name or IP address, without spaces."),
        ("port", "Must be between 1 and 65535."),
        ("driver", "Unknown driver &quot;nope&quot;; known: "),
    ] {
        let at = r.body.find(&format!(r#"id="f-{field}-err">{message}"#));
        assert!(at.is_some(), "{field}: {message} in {}", r.body);
    }
    assert!(
        r.body.contains(r#"value="a b""#),
        "the typed values are kept"
    );
    let r = b
        .post(
            "/devices/new",
            &[
                ("csrf", &csrf),
                ("name", &taken),
                ("address", "10.0.0.1"),
                ("port", "22"),
                ("driver", "cisco_ios"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains("exists already (it may be archived"),
        "{}",
        r.body
    );

    let r = b
        .post(
            "/devices/new",
            &[
                ("csrf", &csrf),
                ("name", "new-one"),
                ("address", "10.0.0.1"),
                ("port", "2222"),
                ("driver", "arista_eos"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = b.get(r.header("location")).await;
    assert!(page.body.contains("Device added."));
    assert!(page.body.contains("No stored versions yet."));
    assert!(page.body.contains("none — it cannot be backed up"));

    // Disable, then "Backup now" is refused with the reason.
    let id = r
        .header("location")
        .trim_start_matches("/devices/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let off = b
        .post(
            &format!("/devices/{id}/enabled"),
            &[("csrf", &csrf), ("enabled", "no")],
        )
        .await;
    assert_eq!(off.status, 303);
    let refused = b
        .send(
            "POST",
            &format!("/devices/{id}/backup"),
            Some(&[]),
            &[("x-csrf-token", &csrf), ("accept", "application/json")],
        )
        .await;
    assert_eq!(refused.status, 409);
    assert!(refused.body.contains("disabled"), "{}", refused.body);

    // Error pages.
    // One style: a signed-in user gets the navigation and no "Sign in",
    // whatever the page; a path parameter that does not parse is a page
    // that does not exist.
    let missing = b.get("/devices/999999").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("device 999999 does not exist"));
    let nowhere = b.get("/no/such/page").await;
    assert_eq!(nowhere.status, 404);
    assert!(nowhere.body.contains("Page not found"));
    let untyped = b.get("/devices/abc").await;
    assert_eq!(untyped.status, 404);
    assert!(untyped.body.contains("There is no page at /devices/abc."));
    assert!(!untyped.body.contains("Cannot parse"), "{}", untyped.body);
    for page in [&missing, &nowhere, &untyped] {
        assert!(page.body.contains("class=\"error-page\""), "{}", page.body);
        assert!(page.body.contains("action=\"/logout\""), "{}", page.body);
        assert!(!page.body.contains("href=\"/login\""), "{}", page.body);
    }
    let anonymous = Browser::new(h.server().addr).get("/no/such/page").await;
    assert_eq!(anonymous.status, 404);
    assert!(anonymous.body.contains("class=\"error-page\""));
    assert!(anonymous.body.contains("href=\"/login\""));
    let api = b.get("/api/no-such-route/").await;
    assert_eq!(api.status, 404);
    assert!(
        api.body.starts_with('{'),
        "the API keeps its JSON errors: {}",
        api.body
    );
    let compare = b.get(&format!("/devices/{}/compare?a=1", ids[0])).await;
    assert_eq!(compare.status, 400);
    assert!(compare.body.contains("Pick two versions"));
    // An error page offers the way back to the page of this site the
    // request came from, and only to this site.
    let addr = h.server().addr;
    let from_list = b
        .send(
            "GET",
            "/devices/999999",
            None,
            &[("referer", &format!("http://{addr}/devices?q=r1"))],
        )
        .await;
    assert!(
        from_list
            .body
            .contains(r#"<a href="/devices?q=r1">Back</a>"#),
        "{}",
        from_list.body
    );
    let from_elsewhere = b
        .send(
            "GET",
            "/devices/999999",
            None,
            &[("referer", "http://evil.example/devices")],
        )
        .await;
    assert!(
        !from_elsewhere.body.contains(">Back</a>"),
        "{}",
        from_elsewhere.body
    );
    // A refused deletion is explained on the page its button is on.
    let refused = b
        .post(
            &format!("/admin/locations/{loc}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, 409);
    assert!(
        !refused.body.contains("class=\"error-page\""),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("This location is in use. The location cannot be deleted"),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains(&format!(r#"action="/admin/locations/{loc}""#)),
        "{}",
        refused.body
    );
    h.stop().await;
}

/// Device groups scope the web UI as they scope the API: an administrator
/// restricts a reader on the user's page, and the reader then sees, opens
/// and backs up only those devices; the rest answer 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_restricted_to_a_device_group_sees_only_its_devices() {
    let mut h = Harness::start(
        Engine::Sqlite,
        SimConfig {
            devices: 2,
            platforms: vec!["cisco_ios".into()],
            ..SimConfig::default()
        },
    )
    .await;
    let (_, ids) = h.inventory().await;
    let core = h
        .create("/api/device-groups/", serde_json::json!({"name": "core"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let r = h
        .call(
            "PATCH",
            &format!("/api/devices/{}/", ids[0]),
            Some(serde_json::json!({ "device_group": core })),
        )
        .await;
    assert_eq!(r.status, 200);
    let mut jobs = Vec::new();
    for id in &ids {
        let ti = h.backup_now(*id).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
        jobs.push(ti);
    }
    let other_stored = h
        .list(&format!("/api/stored-backups/?device={}", ids[1]))
        .await[0]["id"]
        .as_i64()
        .unwrap();
    let names: Vec<String> = h
        .sim
        .devices()
        .iter()
        .map(|d| d.name().to_owned())
        .collect();

    let db = h.server().db.clone();
    let hash = auth::hash_password("reader password 1").unwrap();
    let rita = db.create_user("rita", &hash, Role::Reader).await.unwrap();
    // The administrator restricts her to "core" on her user page.
    let mut a = admin(&h).await;
    let page = a.get(&format!("/admin/users/{}", rita.id)).await;
    assert!(
        page.body.contains(r#"name="scope" value="all" checked"#),
        "unrestricted at first"
    );
    let csrf = page.csrf();
    let core_s = core.to_string();
    let r = a
        .post(
            &format!("/admin/users/{}/scope", rita.id),
            &[("csrf", &csrf), ("scope", "groups"), ("group", &core_s)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(db.user(rita.id).await.unwrap().restricted);
    assert_eq!(db.user_device_groups(rita.id).await.unwrap(), vec![core]);
    let page = a.get(&format!("/admin/users/{}", rita.id)).await;
    assert!(page.body.contains(r#"name="scope" value="groups" checked"#));

    let mut b = Browser::new(h.server().addr);
    b.login("rita", "reader password 1").await;
    let list = b.get("/devices").await;
    assert_eq!(list.device_names(), vec![names[0].clone()]);
    let dashboard = b.get("/").await;
    assert_eq!(dashboard.status, 200);
    assert!(
        !dashboard.body.contains(&names[1]),
        "the dashboard's activity shows no other device"
    );
    assert_eq!(b.get(&format!("/devices/{}", ids[0])).await.status, 200);
    for path in [
        format!("/devices/{}", ids[1]),
        format!("/backups/{other_stored}"),
        format!("/backups/{other_stored}/download"),
        format!(
            "/devices/{}/compare?a={other_stored}&b={other_stored}",
            ids[1]
        ),
        format!("/jobs/{}", jobs[1]),
        format!("/jobs/{}/state", jobs[1]),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.body.contains(&names[1]), "{path} names the device");
    }
    let csrf = list.csrf();
    let r = b
        .post(&format!("/devices/{}/backup", ids[1]), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 404);
    let r = b
        .post(&format!("/devices/{}/backup", ids[0]), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_location_form_refuses_a_path_outside_the_storage_roots() {
    let h = Harness::start_with(Engine::Sqlite, sim(), |cfg| {
        let root = cfg.data_dir.parent().unwrap().display().to_string();
        cfg.settings.storage_roots = Some(devicevault_storage::StorageRoots::parse(&root).unwrap());
    })
    .await;
    let root = h.dir.path().display().to_string();
    let mut b = admin(&h).await;
    let csrf = b.get("/admin/locations").await.csrf();
    let outside = tempfile::tempdir().unwrap();
    let out = outside.path().join("repo.git").display().to_string();
    let r = b
        .post(
            "/admin/locations",
            &[
                ("csrf", &csrf),
                ("name", "out"),
                ("location_type", "git"),
                ("path", &out),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains(r#"id="f-path-err">Refusing "#)
            && r.body
                .contains(&format!("outside the storage roots {root}")),
        "{}",
        r.body
    );
    let inside = h.dir.path().join("repo.git").display().to_string();
    let r = b
        .post(
            "/admin/locations",
            &[
                ("csrf", &csrf),
                ("name", "in"),
                ("location_type", "git"),
                ("path", &inside),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    h.stop().await;
}

/// The value of the `value` attribute of the element with `id`, as a
/// browser sends it back.
fn value_of(body: &str, id: &str) -> String {
    let at = body
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("#{id} in {body}"));
    let start = body[at..].find(r#"value=""#).unwrap() + at + 7;
    let end = body[start..].find('"').unwrap() + start;
    body[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Issue 14: an object named `{attrs}` broke its edit form, and saving it
/// unchanged renamed it to `id=`. Every name, whatever markup or template
/// syntax it holds, comes back from its edit form as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_round_trip_through_their_edit_forms_unchanged() {
    let h = Harness::start(Engine::Sqlite, sim()).await;
    let db = h.server().db.clone();
    let mut b = admin(&h).await;
    let csrf = b.get("/admin/device-groups").await.csrf();
    let names = [
        "{attrs}",
        "edge {attrs} \"quoted\"",
        "<script>alert(1)</script>",
        "R&D 'lab' & <b>",
    ];
    for name in names {
        let made = b
            .post("/admin/device-groups", &[("csrf", &csrf), ("name", name)])
            .await;
        assert_eq!(made.status, 303, "{name}: {}", made.body);
        let id = db
            .list_device_groups(devicevault_db::Page {
                limit: 100,
                offset: 0,
            })
            .await
            .unwrap()
            .rows
            .into_iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("{name} was stored as typed"))
            .id;
        let form = b.get(&format!("/admin/device-groups/{id}")).await;
        assert_eq!(form.status, 200);
        assert!(!form.body.contains("<script>alert"), "{}", form.body);
        let shown = value_of(&form.body, "f-name");
        assert_eq!(shown, name, "the edit form shows the name");
        let saved = b
            .post(
                &format!("/admin/device-groups/{id}"),
                &[("csrf", &csrf), ("name", &shown)],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        assert_eq!(db.device_group(id).await.unwrap().name, name);
    }
    // The richest form: a location with its path and settings.
    let path = h.dir.path().join("{attrs}.git").display().to_string();
    let made = b
        .post(
            "/admin/locations",
            &[
                ("csrf", &csrf),
                ("name", "{attrs}"),
                ("location_type", "git"),
                ("path", &path),
                ("extra", r#"{"commit_message": "Backup {rel_path} <&>"}"#),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let l = db
        .list_locations(devicevault_db::Page {
            limit: 10,
            offset: 0,
        })
        .await
        .unwrap()
        .rows
        .remove(0);
    let form = b.get(&format!("/admin/locations/{}", l.id)).await;
    let extra_at = form.body.find(r#"id="f-extra""#).unwrap();
    let extra = &form.body[form.body[extra_at..].find('>').unwrap() + extra_at + 1..];
    let extra = extra[..extra.find("</textarea>").unwrap()]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let saved = b
        .post(
            &format!("/admin/locations/{}", l.id),
            &[
                ("csrf", &csrf),
                ("name", &value_of(&form.body, "f-name")),
                ("location_type", "git"),
                ("path", &value_of(&form.body, "f-path")),
                ("branch", ""),
                ("extra", &extra),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(db.location(l.id).await.unwrap(), l, "saved unchanged");
    h.stop().await;
}

/// Manufacturers have their administration page, and a device type names
/// its manufacturer on its form (what the API's `manufacturer` field holds
/// by id); an unknown name is a message on the field, and saving a form
/// unchanged keeps the manufacturer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manufacturers_are_administered_and_given_to_device_types() {
    let h = Harness::start(Engine::Sqlite, sim()).await;
    let db = h.server().db.clone();
    let mut b = admin(&h).await;
    let page = b.get("/admin/manufacturers").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No manufacturer yet."), "{}", page.body);
    let csrf = page.csrf();
    let made = b
        .post(
            "/admin/manufacturers",
            &[("csrf", &csrf), ("name", "Cisco")],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let cisco = db
        .list_named(
            devicevault_db::NamedKind::Manufacturer,
            devicevault_db::Page {
                limit: 10,
                offset: 0,
            },
        )
        .await
        .unwrap()
        .rows
        .remove(0);
    assert_eq!(cisco.name, "Cisco");
    let taken = b
        .post(
            "/admin/manufacturers",
            &[("csrf", &csrf), ("name", "Cisco")],
        )
        .await;
    assert_eq!(taken.status, 422, "{}", taken.body);
    assert!(taken.body.contains("his name is taken"), "{}", taken.body);

    // An unknown manufacturer: refused on its field, nothing stored.
    let refused = b
        .post(
            "/admin/device-types",
            &[
                ("csrf", &csrf),
                ("name", "ISR 4451"),
                ("manufacturer", "Juniper"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("o manufacturer is named &quot;Juniper&quot;"),
        "{}",
        refused.body
    );
    let page = devicevault_db::Page {
        limit: 10,
        offset: 0,
    };
    assert_eq!(db.list_device_types(page).await.unwrap().total, 0);

    let made = b
        .post(
            "/admin/device-types",
            &[
                ("csrf", &csrf),
                ("name", "ISR 4451"),
                ("manufacturer", "Cisco"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let t = db.list_device_types(page).await.unwrap().rows.remove(0);
    assert_eq!(t.manufacturer, Some(cisco.id));
    let list = b.get("/admin/device-types").await;
    assert!(
        list.body.contains("Cisco"),
        "the list names the manufacturer"
    );
    let makers = b.get("/admin/manufacturers").await;
    assert!(
        makers.body.contains("ISR 4451"),
        "and the manufacturer its types"
    );

    // The edit form shows it; saved unchanged, it stays; emptied, it goes.
    let form = b.get(&format!("/admin/device-types/{}", t.id)).await;
    assert_eq!(value_of(&form.body, "f-manufacturer"), "Cisco");
    let saved = b
        .post(
            &format!("/admin/device-types/{}", t.id),
            &[
                ("csrf", &csrf),
                ("name", &value_of(&form.body, "f-name")),
                ("manufacturer", &value_of(&form.body, "f-manufacturer")),
                ("max_config_mib", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(db.device_type(t.id).await.unwrap(), t);
    let cleared = b
        .post(
            &format!("/admin/device-types/{}", t.id),
            &[("csrf", &csrf), ("name", "ISR 4451"), ("manufacturer", "")],
        )
        .await;
    assert_eq!(cleared.status, 303, "{}", cleared.body);
    assert_eq!(db.device_type(t.id).await.unwrap().manufacturer, None);

    // A device group's threshold, on its form.
    let bad = b
        .post(
            "/admin/device-groups",
            &[
                ("csrf", &csrf),
                ("name", "edge"),
                ("stale_after_hours", "0"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("etween 1 and 8760 hours"), "{}", bad.body);
    let made = b
        .post(
            "/admin/device-groups",
            &[
                ("csrf", &csrf),
                ("name", "edge"),
                ("stale_after_hours", "12"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let g = db.list_device_groups(page).await.unwrap().rows.remove(0);
    assert_eq!(g.stale_after_hours, Some(12));
    assert!(b.get("/admin/device-groups").await.body.contains("12 h"));

    // Deleting the manufacturer keeps its device types.
    let made = b
        .post(
            &format!("/admin/device-types/{}", t.id),
            &[
                ("csrf", &csrf),
                ("name", "ISR 4451"),
                ("manufacturer", "Cisco"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let gone = b
        .post(
            &format!("/admin/manufacturers/{}/delete", cisco.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    assert_eq!(db.device_type(t.id).await.unwrap().manufacturer, None);
    h.stop().await;
}

/// Schedules have their administration page (targets by name, cron and
/// time zone checked on their fields), and a device's page shows its next
/// scheduled run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_are_managed_on_their_page_and_devices_show_their_next_run() {
    let h = Harness::start(Engine::Sqlite, sim()).await;
    let db = h.server().db.clone();
    let core = db.create_device_group("core").await.unwrap().id;
    let device = |name: &str, group: Option<i64>| DeviceFields {
        name: name.into(),
        address: "192.0.2.1".into(),
        port: 22,
        driver: "cisco_ios".into(),
        credential: None,
        backup_location: None,
        collection_group: None,
        device_group: group,
        device_type: None,
        enabled: true,
        profile: Default::default(),
    };
    let r1 = db
        .create_device(&device("r1", Some(core)))
        .await
        .unwrap()
        .id;
    let r2 = db.create_device(&device("r2", None)).await.unwrap().id;
    let mut b = admin(&h).await;
    let page = b.get("/admin/schedules").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No schedule yet."), "{}", page.body);
    let csrf = page.csrf();
    let no_run = b.get(&format!("/devices/{r1}")).await;
    assert!(
        no_run.body.contains("Next scheduled run"),
        "{}",
        no_run.body
    );

    let post = |cron: &'static str, groups: &'static str, paused: bool| {
        let mut form = vec![
            ("name", "nightly"),
            ("cron", cron),
            ("timezone", "Europe/Paris"),
            ("device_groups", groups),
            ("devices", "r2"),
        ];
        if paused {
            form.push(("paused", "on"));
        }
        form
    };
    let with_csrf = |mut form: Vec<(&'static str, &'static str)>, csrf: &str| {
        let mut f: Vec<(&str, String)> = form.drain(..).map(|(k, v)| (k, v.to_owned())).collect();
        f.push(("csrf", csrf.to_owned()));
        f
    };
    for (cron, groups, expect) in [
        (
            "0 2 * * *",
            "core, nope",
            "o device group is named &quot;nope&quot;",
        ),
        ("0 2 * *", "core", "expected 5 fields"),
    ] {
        let form = with_csrf(post(cron, groups, false), &csrf);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = b.post("/admin/schedules", &pairs).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains(expect), "{expect}: {}", r.body);
    }
    assert_eq!(
        db.list_schedules(devicevault_db::Page::default())
            .await
            .unwrap()
            .total,
        0
    );

    let form = with_csrf(post("0 2 * * *", "core", false), &csrf);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let made = b.post("/admin/schedules", &pairs).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let s = db
        .list_schedules(devicevault_db::Page::default())
        .await
        .unwrap()
        .rows
        .remove(0);
    assert_eq!(
        (s.fields.devices.clone(), s.fields.device_groups.clone()),
        (vec![r2], vec![core])
    );
    let next = s.next_run.clone().expect("a first slot");
    let list = b.get("/admin/schedules").await;
    assert!(
        list.body.contains("0 2 * * * (Europe/Paris)") && list.body.contains("groups core; r2"),
        "{}",
        list.body
    );
    // Both devices show the slot: r1 through its group, r2 by name.
    for id in [r1, r2] {
        let p = b.get(&format!("/devices/{id}")).await;
        assert!(
            p.body.contains(&format!(r#"datetime="{next}""#)),
            "{}",
            p.body
        );
    }

    // The edit form shows the targets by name; saved unchanged, nothing
    // moves; paused, the devices have no next run.
    let edit = b.get(&format!("/admin/schedules/{}", s.id)).await;
    assert_eq!(value_of(&edit.body, "f-device_groups"), "core");
    assert_eq!(value_of(&edit.body, "f-devices"), "r2");
    let saved = b.post(&format!("/admin/schedules/{}", s.id), &pairs).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(db.schedule(s.id).await.unwrap(), s);
    let form = with_csrf(post("0 2 * * *", "core", true), &csrf);
    let paused: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post(&format!("/admin/schedules/{}", s.id), &paused).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(!db.schedule(s.id).await.unwrap().fields.enabled);
    let p = b.get(&format!("/devices/{r1}")).await;
    assert!(
        !p.body.contains(&format!(r#"datetime="{next}""#)),
        "{}",
        p.body
    );

    let gone = b
        .post(
            &format!("/admin/schedules/{}/delete", s.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    assert_eq!(
        db.list_schedules(devicevault_db::Page::default())
            .await
            .unwrap()
            .total,
        0
    );
    h.stop().await;
}

/// Every time of a page is in one zone: the browser's cookie (set by the
/// script from the browser's zone, or chosen on the account page), with
/// its abbreviation and the UTC instant in the tooltip; UTC, labelled,
/// without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_time_of_a_page_is_shown_in_the_readers_one_time_zone() {
    let mut h = Harness::start(Engine::Sqlite, sim()).await;
    let (_, ids) = h.inventory().await;
    let ti = h.backup_now(ids[0]).await;
    h.wait_job(&ti).await;
    let mut b = admin(&h).await;
    let device = format!("/devices/{}", ids[0]);
    let times = |body: &str| -> Vec<String> {
        body.split("<time ")
            .skip(1)
            .map(|t| t[t.find('>').unwrap() + 1..t.find("</time>").unwrap()].to_owned())
            .collect()
    };
    let utc = b.get(&device).await;
    let shown = times(&utc.body);
    assert!(!shown.is_empty(), "{}", utc.body);
    assert!(shown.iter().all(|t| t.ends_with(" UTC")), "{shown:?}");
    assert!(
        utc.body.contains(" (UTC)\""),
        "the tooltip gives the UTC instant"
    );

    // Detected by the script: the cookie names the browser's zone.
    b.cookies.insert("dv_tz".into(), "Asia/Tokyo".into());
    let tokyo = times(&b.get(&device).await.body);
    assert_eq!(tokyo.len(), shown.len());
    assert!(tokyo.iter().all(|t| t.ends_with(" JST")), "{tokyo:?}");
    let version = b
        .get(&format!("/backups/{}", stored_of(&mut h, ids[0]).await))
        .await;
    assert!(
        version.body.contains(" JST</h1>") || version.body.contains(" JST<"),
        "{}",
        version.body
    );
    assert!(!times(&version.body).iter().any(|t| t.ends_with("UTC")));

    // Chosen on the account page; an unknown name is refused by field.
    let csrf = b.get("/account").await.csrf();
    let bad = b
        .post(
            "/account/time-zone",
            &[("csrf", &csrf), ("time_zone", "Mars/Olympus")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"f-time_zone-err\""), "{}", bad.body);
    let chosen = b
        .post(
            "/account/time-zone",
            &[("csrf", &csrf), ("time_zone", "America/New_York")],
        )
        .await;
    assert_eq!(chosen.status, 303);
    let set = chosen.set_cookies().join("\n");
    assert!(set.contains("dv_tz=America/New_York;"), "{set}");
    assert!(set.contains("dv_tz_chosen=1;"), "{set}");
    b.cookies.insert("dv_tz".into(), "America/New_York".into());
    b.cookies.insert("dv_tz_chosen".into(), "1".into());
    let account = b.get("/account").await;
    assert!(
        account
            .body
            .contains(r#"<option value="America/New_York" selected>"#),
        "{}",
        account.body
    );
    let ny = times(&b.get(&device).await.body);
    assert!(
        ny.iter()
            .all(|t| t.ends_with(" EST") || t.ends_with(" EDT")),
        "{ny:?}"
    );
    // Back to the browser's: both cookies end.
    let back = b
        .post("/account/time-zone", &[("csrf", &csrf), ("time_zone", "")])
        .await;
    let set = back.set_cookies().join("\n");
    assert!(set.contains("dv_tz=; Path=/; Max-Age=0"), "{set}");
    assert!(set.contains("dv_tz_chosen=; Path=/; Max-Age=0"), "{set}");
    h.stop().await;
}

async fn stored_of(h: &mut Harness, device: i64) -> i64 {
    h.list(&format!("/api/stored-backups/?device={device}"))
        .await[0]["id"]
        .as_i64()
        .unwrap()
}

/// Issue 15: the web forms carry the connection profile — a key credential
/// pasted into the credential form (shown by its fingerprint, never the
/// key; a wrong passphrase next to its field), a Telnet device whose port
/// defaults to 23, a collection group's sessions at once, a device type's
/// legacy algorithms and timeouts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_forms_set_transports_key_credentials_timeouts_and_sessions_at_once() {
    const KEY: &str = include_str!("../../devicevault-collect/tests/keys/ed25519_encrypted");
    let mut h = Harness::start(Engine::Sqlite, sim()).await;
    let mut b = admin(&h).await;
    let page = b.get("/admin/credentials").await;
    let csrf = page.csrf();
    let r = b
        .post(
            "/admin/credentials",
            &[
                ("csrf", &csrf),
                ("name", "key"),
                ("username", "backup"),
                ("password", ""),
                ("private_key", KEY),
                ("passphrase", "wrong"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body
            .contains(r#"id="f-passphrase-err">The passphrase does not open the key."#),
        "{}",
        r.body
    );
    let r = b
        .post(
            "/admin/credentials",
            &[
                ("csrf", &csrf),
                ("name", "key"),
                ("username", "backup"),
                ("password", ""),
                ("private_key", KEY),
                ("passphrase", "correct horse"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let list = b.get("/admin/credentials").await;
    assert!(
        list.body
            .contains("key SHA256:euNYPz+MUPD/J2nHLyW0/AMSFAescdvpYilLUNL3IG4"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("OPENSSH PRIVATE KEY"));

    let r = b
        .post(
            "/admin/collection-groups",
            &[
                ("csrf", &csrf),
                ("name", "DMZ"),
                ("rabbitmq_queue_id", "dmz"),
                ("max_sessions", "many"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body
            .contains(r#"id="f-max_sessions-err">A whole number."#),
        "{}",
        r.body
    );
    let r = b
        .post(
            "/admin/collection-groups",
            &[
                ("csrf", &csrf),
                ("name", "DMZ"),
                ("rabbitmq_queue_id", "dmz"),
                ("max_sessions", "3"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let groups = h.list("/api/collection-groups/").await;
    let dmz = groups.iter().find(|g| g["name"] == "DMZ").unwrap();
    assert_eq!(dmz["max_sessions"], 3);

    let r = b
        .post(
            "/admin/device-types",
            &[
                ("csrf", &csrf),
                ("name", "old"),
                ("legacy_algorithms", "on"),
                ("connect_timeout", "15"),
                ("command_timeout", ""),
                ("job_timeout", "600"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let types = h.list("/api/device-types/").await;
    let old = types.iter().find(|t| t["name"] == "old").unwrap();
    assert_eq!(old["legacy_algorithms"], true);
    assert_eq!(old["connect_timeout"], 15);
    assert!(old["command_timeout"].is_null());
    assert_eq!(old["job_timeout"], 600);

    let form = b.get("/devices/new").await;
    for field in [
        "transport",
        "legacy_algorithms",
        "connect_timeout",
        "jump_host",
        "jump_credential",
    ] {
        assert!(form.body.contains(&format!(r#"name="{field}""#)), "{field}");
    }
    let r = b
        .post(
            "/devices/new",
            &[
                ("csrf", &csrf),
                ("name", "old-switch"),
                ("address", "10.0.0.9"),
                ("port", ""),
                ("driver", "cisco_ios"),
                ("transport", "telnet"),
                ("legacy_algorithms", ""),
                ("command_timeout", "0"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains(r#"id="f-command_timeout-err">"#),
        "{}",
        r.body
    );
    let r = b
        .post(
            "/devices/new",
            &[
                ("csrf", &csrf),
                ("name", "old-switch"),
                ("address", "10.0.0.9"),
                ("port", ""),
                ("driver", "cisco_ios"),
                ("transport", "telnet"),
                ("legacy_algorithms", ""),
                ("command_timeout", "45"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let d = h.list("/api/devices/?name=old-switch").await.pop().unwrap();
    assert_eq!(
        (d["transport"].as_str(), d["port"].as_u64()),
        (Some("telnet"), Some(23))
    );
    assert_eq!(d["command_timeout"], 45);
    assert!(d["legacy_algorithms"].is_null());
    // The edit form shows what was saved.
    let edit = b.get(&format!("/devices/{}/edit", d["id"])).await;
    assert!(
        edit.body.contains(r#"<option value="telnet" selected"#),
        "{}",
        edit.body
    );
    h.stop().await;
}
