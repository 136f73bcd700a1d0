use maud::Render as _;

use super::super::html::{attr_after, test_ctx};
use super::*;

fn row(name: &str) -> Row {
    Row(vec![
        Cell::Name {
            href: Some("/admin/device-groups/7".into()),
            text: name.into(),
            note: None,
        },
        Cell::Text("—".into()),
    ])
}

fn list_of(slug: &str, rows: Vec<Row>, errors: FieldErrors, values: Form) -> String {
    let k = kind(slug).unwrap();
    let page = ListPage {
        kind: k,
        rows,
        flash: None,
        values,
        errors,
    };
    render_list(&test_ctx(true), &page).into_string()
}

#[test]
fn every_kind_has_a_distinct_path_and_its_forms_name_fields_once() {
    for (i, k) in KINDS.iter().enumerate() {
        assert!(KINDS[..i].iter().all(|o| o.slug != k.slug), "{}", k.slug);
        for (j, f) in k.fields.iter().enumerate() {
            assert!(
                k.fields[..j].iter().all(|o| o.name != f.name),
                "{}.{}",
                k.slug,
                f.name
            );
        }
        assert_eq!(k.add.is_some(), !k.fields.is_empty(), "{}", k.slug);
    }
}

#[test]
fn an_empty_list_says_what_to_do_and_readers_get_no_form() {
    let h = list_of(
        "locations",
        Vec::new(),
        FieldErrors::default(),
        Form::default(),
    );
    assert!(h.contains("No backup location yet."), "{h}");
    assert!(h.contains("Add a backup location") && h.contains(r#"class="js-location-type""#));
    assert!(
        h.contains(r#"<option value="git" selected>"#),
        "git by default: {h}"
    );
    let page = ListPage {
        kind: kind("device-groups").unwrap(),
        rows: vec![row("core")],
        flash: Some("Created."),
        values: Form::default(),
        errors: FieldErrors::default(),
    };
    let reader = render_list(&test_ctx(false), &page).into_string();
    assert!(
        reader.contains(">core</a>") && reader.contains("Created."),
        "{reader}"
    );
    assert!(!reader.contains("<form"), "{reader}");
}

#[test]
fn errors_of_the_validators_stand_next_to_their_fields_with_the_typed_values() {
    let mut e = FieldErrors::default();
    e.add("path", "relative must be an absolute path");
    e.add("extra", "must be a JSON object");
    let values = Form(vec![
        ("name".into(), "lab".into()),
        ("path".into(), "relative".into()),
        ("extra".into(), "[1, \"<2>\"]".into()),
    ]);
    let h = list_of("locations", Vec::new(), e, values);
    assert!(
        h.contains(r#"id="f-path-err">Relative must be an absolute path.</p>"#),
        "{h}"
    );
    assert!(h.contains(r#"id="form-errors""#) && h.contains(r##"href="#f-extra""##));
    assert!(
        h.contains(r#">[1, &quot;&lt;2&gt;&quot;]</textarea>"#),
        "{h}"
    );
    assert_eq!(attr_after(&h, r#"id="f-path""#, "value"), "relative");
}

/// Issue 14: an object literally named `{attrs}` broke its edit form, and
/// saving it unchanged renamed it to `id=`. Names are data: whatever they
/// hold comes back from the form as it was.
#[test]
fn any_name_round_trips_through_its_edit_form() {
    for name in [
        "{attrs}",
        "x {attrs} y",
        "<script>alert(1)</script>",
        r#"say "hi" & 'bye'"#,
        "a&amp;b",
    ] {
        let stored = Form(vec![("name".into(), name.into())]);
        let page = EditPage {
            kind: kind("device-groups").unwrap(),
            id: 7,
            name: name.into(),
            values: stored.clone(),
            stored,
            errors: FieldErrors::default(),
            refusal: None,
        };
        let h = render_edit(&test_ctx(true), &page).into_string();
        assert_eq!(attr_after(&h, r#"id="f-name""#, "value"), name, "{h}");
        assert!(!h.contains("<script>"), "{h}");
        assert_eq!(h.matches(r#"id="f-name""#).count(), 1, "{h}");
    }
}

#[test]
fn a_credentials_edit_form_offers_to_remove_only_a_stored_enable_secret() {
    let edit = |flag: &str| {
        let stored = Form(vec![
            ("name".into(), "lab".into()),
            ("username".into(), "admin".into()),
            ("has_enable_secret".into(), flag.into()),
        ]);
        let page = EditPage {
            kind: kind("credentials").unwrap(),
            id: 3,
            name: "lab".into(),
            values: stored.clone(),
            stored,
            errors: FieldErrors::default(),
            refusal: None,
        };
        render_edit(&test_ctx(true), &page).into_string()
    };
    let with = edit("yes");
    assert!(with.contains(r#"name="clear_enable""#), "{with}");
    assert!(with.contains("Leave empty to keep the current one."));
    assert!(!edit("").contains("clear_enable"));
    assert!(!with.contains(r#"type="password" id="f-password" name="password" value"#));
}

#[test]
fn a_credentials_form_takes_an_api_key_and_offers_to_remove_only_a_stored_one() {
    let edit = |flag: &str| {
        let stored = Form(vec![
            ("name".into(), "fortigate-api".into()),
            ("username".into(), "api".into()),
            ("has_api_key".into(), flag.into()),
        ]);
        let page = EditPage {
            kind: kind("credentials").unwrap(),
            id: 4,
            name: "fortigate-api".into(),
            values: stored.clone(),
            stored,
            errors: FieldErrors::default(),
            refusal: None,
        };
        render_edit(&test_ctx(true), &page).into_string()
    };
    let with = edit("yes");
    assert!(with.contains(r#"name="api_key""#), "{with}");
    assert!(with.contains(r#"name="clear_api_key""#), "{with}");
    assert!(
        !with.contains(r#"name="api_key" value"#),
        "never shown: {with}"
    );
    let without = edit("");
    assert!(without.contains(r#"name="api_key""#));
    assert!(!without.contains("clear_api_key"));
    let add = list_of(
        "credentials",
        Vec::new(),
        FieldErrors::default(),
        Form::default(),
    );
    assert!(add.contains(r#"name="api_key""#), "{add}");
    assert!(
        add.contains("{api_key}"),
        "the hint names the placeholder: {add}"
    );
}

#[test]
fn token_rows_mark_this_session_and_offer_no_revoke_for_it() {
    let ctx = test_ctx(true);
    let t = |id, kind| TokenInfo {
        id,
        user_id: 1,
        username: "ada".into(),
        kind,
        name: None,
        created_at: "2026-01-01T00:00:00.000000Z".into(),
        last_used_at: None,
        expires_at: None,
    };
    let rows = [
        token_row(
            &ctx,
            &t(9, devicevault_db::TokenKind::Session),
            false,
            "/x/9",
        ),
        token_row(&ctx, &t(4, devicevault_db::TokenKind::Named), false, "/x/4"),
    ];
    let h = table(&ctx, TOKEN_COLUMNS, &rows).render().into_string();
    assert!(
        h.contains("web session <span class=\"muted small\">(this one)</span>"),
        "{h}"
    );
    assert!(
        !h.contains(r#"action="/x/9""#) && h.contains(r#"action="/x/4""#),
        "{h}"
    );
    assert!(h.contains(">never<"), "{h}");
}
