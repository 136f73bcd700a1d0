//! Fleet search through the public API: selection, order, pages, context,
//! negative queries, and what a user without `view_secrets` can find.

use std::borrow::Cow;
use std::num::NonZeroUsize;
use std::sync::Arc;

use devicevault_core::Timestamp;
use devicevault_search::{
    Audience, Candidate, ContentCache, DeviceRef, Document, Page, Query, QuerySpec, SearchError,
    SearchOptions, SearchResults, Target, search, search_with,
};

fn at() -> Timestamp {
    Timestamp::parse("2026-01-12T12:34:56.789Z").unwrap()
}

/// The driver-like masking rule of these tests: the word after
/// `community` or `secret 5` is replaced.
fn mask(text: &str) -> Cow<'_, str> {
    let re = regex::Regex::new(r"(?m)^(snmp-server community|enable secret 5) \S+").unwrap();
    re.replace_all(text, "$1 <removed>")
}

fn candidate(id: i64, name: &str, text: &str) -> Candidate {
    Candidate {
        device: DeviceRef::new(id, name),
        document: Arc::new(Document::new(id * 100, at(), text.into(), mask)),
    }
}

fn config(hostname: &str, community: &str, extra: &str) -> String {
    format!(
        "hostname {hostname}\n!\nenable secret 5 $1$Zx9$Q1w2E3r4\n!\ninterface Gi0/1\n description uplink\n shutdown\n!\nsnmp-server community {community} RO\nsnmp-server location dc1\n{extra}end\n"
    )
}

fn fleet() -> Vec<Candidate> {
    vec![
        candidate(
            3,
            "core-1",
            &config("core-1", "Pr1vate", "ip http server\n"),
        ),
        candidate(1, "edge-2", &config("edge-2", "S3cr3tC0mm", "")),
        candidate(2, "edge-1", &config("edge-1", "public", "ip http server\n")),
        candidate(4, "edge-1", &config("edge-1b", "public", "")),
    ]
}

fn run(cands: &[Candidate], spec: QuerySpec, audience: Audience) -> SearchResults {
    search(
        cands,
        &Query::parse(spec).unwrap(),
        audience,
        Page::first(50),
    )
}

fn ids(r: &SearchResults) -> Vec<i64> {
    r.results.iter().map(|d| d.device_id).collect()
}

#[test]
fn a_literal_search_lists_matching_devices_by_name_then_id_with_line_numbers() {
    let r = run(
        &fleet(),
        QuerySpec::literal("ip http server"),
        Audience::Everything,
    );
    assert_eq!(r.total_devices, 2);
    assert_eq!(r.searched_devices, 4);
    assert_eq!(ids(&r), [3, 2], "core-1 before edge-1");
    let m = &r.results[0];
    assert_eq!(
        (m.device_name.as_str(), m.stored_backup_id),
        ("core-1", 300)
    );
    assert_eq!(m.total_matches, 1);
    assert_eq!(m.matches[0].line_number, 11);
    assert_eq!(m.matches[0].line, "ip http server");
}

#[test]
fn equal_names_are_ordered_by_id_so_pages_are_stable() {
    let r = run(
        &fleet(),
        QuerySpec::literal("hostname edge-1"),
        Audience::Everything,
    );
    assert_eq!(ids(&r), [2, 4]);
}

#[test]
fn ignore_case_and_regex_queries_match_as_ripgrep_would() {
    let f = fleet();
    let exact = run(&f, QuerySpec::literal("HOSTNAME"), Audience::Everything);
    assert_eq!(exact.total_devices, 0);
    let folded = QuerySpec {
        ignore_case: true,
        ..QuerySpec::literal("HOSTNAME")
    };
    assert_eq!(run(&f, folded, Audience::Everything).total_devices, 4);
    let r = run(
        &f,
        QuerySpec::regex(r"^hostname edge-\d$"),
        Audience::Everything,
    );
    assert_eq!(ids(&r), [2, 1], "edge-1b does not end after the digit");
    // A literal query treats metacharacters as text.
    let r = run(&f, QuerySpec::literal("edge-."), Audience::Everything);
    assert_eq!(r.total_devices, 0);
}

#[test]
fn context_lines_surround_each_match_and_stop_at_the_file_edges() {
    let text = "l1\r\nl2\r\nmatch a\r\nl4\r\nl5\r\nl6\r\nmatch b";
    let cands = [candidate(1, "r1", text)];
    let spec = QuerySpec {
        context_before: 3,
        context_after: 2,
        ..QuerySpec::literal("match")
    };
    let r = run(&cands, spec, Audience::Everything);
    let m = &r.results[0].matches;
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].line_number, 3);
    assert_eq!(m[0].line, "match a", "shown without the CR");
    assert_eq!(m[0].context_before, ["l1", "l2"]);
    assert_eq!(m[0].context_after, ["l4", "l5"]);
    assert_eq!(m[1].line_number, 7);
    assert_eq!(m[1].context_before, ["l4", "l5", "l6"]);
    assert!(m[1].context_after.is_empty());
}

#[test]
fn matches_per_device_are_capped_but_all_are_counted() {
    let text: String = (0..30).map(|i| format!("vlan {i}\n")).collect();
    let cands = [candidate(1, "sw1", &text)];
    let spec = QuerySpec {
        max_matches_per_device: 5,
        ..QuerySpec::literal("vlan")
    };
    let r = run(&cands, spec, Audience::Everything);
    let d = &r.results[0];
    assert_eq!(d.matches.len(), 5);
    assert_eq!(d.total_matches, 30);
    assert_eq!(d.matches[4].line_number, 5);
}

#[test]
fn a_negative_search_selects_the_devices_without_a_matching_line() {
    let spec = QuerySpec {
        negate: true,
        ..QuerySpec::literal("ip http server")
    };
    let r = run(&fleet(), spec, Audience::Everything);
    assert_eq!(r.total_devices, 2);
    assert_eq!(ids(&r), [4, 1], "edge-1 (id 4) before edge-2");
    assert!(r.results.iter().all(|d| d.matches.is_empty()));
}

#[test]
fn results_are_paginated_with_the_total_of_all_pages() {
    let cands: Vec<_> = (0..25)
        .map(|i| candidate(i, &format!("r{i:02}"), "ntp server 10.0.0.1\n"))
        .collect();
    let q = Query::literal("ntp server").unwrap();
    let page = |offset, limit| search(&cands, &q, Audience::Everything, Page { offset, limit });
    let second = page(10, 10);
    assert_eq!(second.total_devices, 25);
    assert_eq!(second.results.first().unwrap().device_name, "r10");
    assert_eq!(second.results.len(), 10);
    assert_eq!(page(20, 10).results.len(), 5);
    let past = page(30, 10);
    assert!(past.results.is_empty());
    assert_eq!(past.total_devices, 25);
}

#[test]
fn a_reader_cannot_find_a_secret_that_an_admin_can() {
    let f = fleet();
    for spec in [
        QuerySpec::literal("S3cr3tC0mm"),
        QuerySpec::regex(r"community S3cr"),
        QuerySpec {
            ignore_case: true,
            ..QuerySpec::literal("s3cr3tc0mm")
        },
        QuerySpec::literal("$1$Zx9$Q1w2E3r4"),
    ] {
        let admin = run(&f, spec.clone(), Audience::Everything);
        assert!(admin.total_devices >= 1, "{spec:?}: the admin finds it");
        let reader = run(&f, spec.clone(), Audience::Masked);
        assert_eq!(reader.total_devices, 0, "{spec:?}: the reader does not");
        assert!(reader.results.is_empty());
        let negative = QuerySpec {
            negate: true,
            ..spec.clone()
        };
        let reader = run(&f, negative, Audience::Masked);
        assert_eq!(
            reader.total_devices, 4,
            "{spec:?}: for the reader no device contains it, so no device stands out"
        );
    }
}

#[test]
fn a_reader_finds_and_sees_masked_lines_and_masked_context() {
    let f = fleet();
    let spec = QuerySpec {
        context_before: 1,
        context_after: 1,
        ..QuerySpec::literal("snmp-server location")
    };
    let reader = run(&f, spec, Audience::Masked);
    assert_eq!(reader.total_devices, 4);
    let edge2 = reader.results.iter().find(|d| d.device_id == 1).unwrap();
    assert_eq!(
        edge2.matches[0].context_before,
        ["snmp-server community <removed> RO"],
        "a context line holding a secret is masked too"
    );
    let masked = run(
        &f,
        QuerySpec::literal("community <removed>"),
        Audience::Masked,
    );
    assert_eq!(masked.total_devices, 4);
    assert_eq!(masked.results[0].matches[0].line_number, 9);
    let admin = run(
        &f,
        QuerySpec::literal("community <removed>"),
        Audience::Everything,
    );
    assert_eq!(admin.total_devices, 0);
}

#[test]
fn configurations_that_cannot_be_masked_are_unsearchable_for_readers_not_absent() {
    let mut f = fleet();
    f.push(Candidate {
        device: DeviceRef::new(9, "legacy"),
        document: Arc::new(Document::unmaskable(
            900,
            at(),
            b"hostname legacy\nsnmp-server community old RO\n".to_vec(),
        )),
    });
    let negative = QuerySpec {
        negate: true,
        ..QuerySpec::literal("ip http server")
    };
    let reader = run(&f, negative.clone(), Audience::Masked);
    assert_eq!(reader.unsearchable_devices, 1);
    assert_eq!(reader.searched_devices, 4);
    assert!(!ids(&reader).contains(&9));
    let admin = run(&f, negative, Audience::Everything);
    assert_eq!(admin.unsearchable_devices, 0);
    assert!(ids(&admin).contains(&9));
}

#[test]
fn the_last_line_matches_without_a_final_newline_and_empty_content_never_does() {
    let cands = [candidate(1, "r1", "a\nend"), candidate(2, "r2", "")];
    let r = run(&cands, QuerySpec::regex("^end$"), Audience::Everything);
    assert_eq!(ids(&r), [1]);
    assert_eq!(r.results[0].matches[0].line_number, 2);
    let all = run(&cands, QuerySpec::regex(".*"), Audience::Everything);
    assert_eq!(ids(&all), [1], "an empty configuration has no line");
}

#[test]
fn many_threads_select_exactly_what_one_thread_selects() {
    let cands: Vec<_> = (0..500)
        .map(|i| {
            let extra = if i % 7 == 0 { "ip http server\n" } else { "" };
            let text = config(&format!("r{i}"), &format!("c{i}"), extra);
            candidate(i, &format!("r{i:03}"), &text)
        })
        .collect();
    let q = Query::literal("ip http server").unwrap();
    let with = |threads| SearchOptions {
        threads,
        time_limit: None,
    };
    let one = search_with(
        &cands,
        &q,
        Audience::Masked,
        Page::first(1000),
        &with(NonZeroUsize::MIN),
    )
    .unwrap();
    let four = search_with(
        &cands,
        &q,
        Audience::Masked,
        Page::first(1000),
        &with(NonZeroUsize::new(4).unwrap()),
    )
    .unwrap();
    assert_eq!(one.total_devices, 72);
    assert_eq!(ids(&one), ids(&four));
}

#[test]
fn a_search_over_the_cache_reads_missing_devices_from_the_callers_loader() {
    let cache = ContentCache::default();
    let f = fleet();
    for c in &f[..2] {
        cache.insert(c.device.id, Arc::clone(&c.document));
    }
    let targets = f.iter().map(|c| Target {
        device: c.device.clone(),
        stored_backup_id: c.document.stored_backup_id(),
    });
    let lookup = cache.lookup(targets);
    assert_eq!((lookup.found.len(), lookup.missing.len()), (2, 2));
    // The caller reads what is missing from storage (here: the fleet).
    let mut cands = lookup.found;
    for t in lookup.missing {
        let text = f.iter().find(|c| c.device.id == t.device.id).unwrap();
        cands.push(text.clone());
    }
    let r = run(
        &cands,
        QuerySpec::literal("ip http server"),
        Audience::Everything,
    );
    assert_eq!(ids(&r), [3, 2]);
}

#[test]
fn a_regex_whose_literal_only_the_masked_text_holds_matches_for_the_reader() {
    // The required literal `community <removed> R` is in no stored
    // configuration, only in the reader's view: the whole-document check
    // must look there too.
    let f = fleet();
    let spec = QuerySpec::regex(r"^snmp-server community <removed> R[OW]$");
    assert_eq!(run(&f, spec.clone(), Audience::Masked).total_devices, 4);
    assert_eq!(run(&f, spec, Audience::Everything).total_devices, 0);
    let whole = Candidate {
        device: DeviceRef::new(7, "whole"),
        document: Arc::new(Document::new(
            700,
            at(),
            b"a\nsnmp-server community x RO\n".to_vec(),
            |t| Cow::Owned(t.replace("community x RO\n", "community <removed> RO\n\n")),
        )),
    };
    let r = run(
        &[whole],
        QuerySpec::regex(r"community <removed> R[OW]"),
        Audience::Masked,
    );
    assert_eq!(r.total_devices, 1, "a reader view kept whole is searched");
}

#[test]
fn a_search_past_its_time_limit_is_an_error_not_a_partial_answer() {
    let cands: Vec<_> = (0..200)
        .map(|i| candidate(i, &format!("r{i:03}"), &config("r", "c", "")))
        .collect();
    let q = Query::literal("ip http server").unwrap();
    let options = SearchOptions {
        time_limit: Some(std::time::Duration::ZERO),
        ..SearchOptions::default()
    };
    let err = search_with(&cands, &q, Audience::Everything, Page::first(10), &options).unwrap_err();
    let SearchError::TimeLimit {
        searched,
        candidates,
        ..
    } = err.clone();
    assert_eq!(candidates, 200);
    assert!(searched < 200, "{err}");
    assert!(err.to_string().contains("narrow the pattern"), "{err}");
    let roomy = SearchOptions {
        time_limit: Some(std::time::Duration::from_secs(60)),
        ..SearchOptions::default()
    };
    assert!(search_with(&cands, &q, Audience::Everything, Page::first(10), &roomy).is_ok());
}

#[test]
fn in_a_crlf_configuration_a_masked_line_matches_an_end_anchored_regex() {
    let text = config("r1", "S3cr3t", "").replace('\n', "\r\n");
    let cands = [candidate(1, "r1", &text)];
    let r = run(
        &cands,
        QuerySpec::regex(r"^snmp-server community <removed> RO$"),
        Audience::Masked,
    );
    assert_eq!(r.total_devices, 1);
    assert_eq!(
        r.results[0].matches[0].line,
        "snmp-server community <removed> RO"
    );
    let r = run(&cands, QuerySpec::regex(r"S3cr3t RO$"), Audience::Masked);
    assert_eq!(r.total_devices, 0);
}
