//! Compliance rules (issue 17): a saved search with an expectation
//! (`must_contain` / `must_not_contain`, optionally within IOS-style
//! blocks), applied to device groups, and each device's state under it.
//!
//! # One validator
//!
//! [`ComplianceRuleInput::validate`] checks a rule as the API and the web
//! UI submit it, through the search crate's own query validation
//! ([`Query::parse`], [`Rule::new`]): an invalid regular expression is an
//! error on `pattern`, an invalid block header on `block`. The evaluator
//! compiles stored rules with the same [`compile`].
//!
//! # Evaluation
//!
//! [`evaluate_due`] asks the database, per enabled rule, for the devices
//! whose state is due (never evaluated, a newer successful version than
//! the one evaluated, an edited rule), reads each due version (the search
//! cache when it holds exactly that version, else through the storage
//! worker like a download), evaluates the rule on the full content, and
//! records each state with a compare-and-swap on what was evaluated
//! before; a change of state writes its `compliance_changed` event in the
//! same transaction. Any number of evaluators may run: they make one state
//! and at most one event per change. [`keep_evaluating`] runs it in the
//! scheduler's process (embedded `serve` and the `scheduler` role), every
//! tick when the database shows something new and, in embedded mode, soon
//! after each stored version.
//!
//! Which changes notify: a device found non-compliant (its first
//! evaluation included), and a device leaving a known state (compliant or
//! non-compliant) for another. A device first found compliant or unknown
//! (a new rule, a new device), or compliant after being unknown (its first
//! backup), is nothing to report: one event per change that someone must
//! hear of, and none when a re-evaluation finds the same state.
//!
//! # Secrets
//!
//! Rules are written by administrators and evaluated on the full
//! configuration, so "must not contain `snmp-server community public`"
//! works although communities are masked for readers. What is stored and
//! shown of a violation is its line numbers, never the lines: a reader
//! follows them into the device's history, read through
//! [`read_for`](super::reading::read_for), which masks.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use devicevault_core::Timestamp;
use devicevault_db::compliance::{expectation, state};
use devicevault_db::{
    ComplianceFilter, ComplianceRule, ComplianceRuleFields, Db, DbError, DueCompliance,
    NewCompliance, Recorded,
};
use devicevault_search::{Compliance, Expectation, Line, Query, QuerySpec, Rule, Violation};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::App;
use super::inventory::{Checked, FieldErrors, TargetNames};
use super::reading::read_stored_with;
use super::search::SearchIndex;
use crate::requests::Pipeline;

/// What a rule expects of each device's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleExpectation {
    /// At least one line matches (in every block, with `block`).
    #[default]
    MustContain,
    /// No line matches (in any block, with `block`).
    MustNotContain,
}

impl RuleExpectation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MustContain => expectation::MUST_CONTAIN,
            Self::MustNotContain => expectation::MUST_NOT_CONTAIN,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            expectation::MUST_CONTAIN => Some(Self::MustContain),
            expectation::MUST_NOT_CONTAIN => Some(Self::MustNotContain),
            _ => None,
        }
    }
}

fn yes() -> bool {
    true
}

/// A compliance rule as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplianceRuleInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// What to look for on one line: literal text, or with `regex` a
    /// regular expression (Rust `regex` syntax).
    #[schema(min_length = 1, max_length = 1024)]
    pub pattern: String,
    #[serde(default)]
    pub regex: bool,
    #[serde(default)]
    pub ignore_case: bool,
    pub expectation: RuleExpectation,
    /// A regular expression for the header lines of the blocks the rule
    /// applies to, anchored at the line's start (`interface .*`); a block
    /// runs to the next line at column 0. Absent: the whole configuration.
    #[serde(default)]
    pub block: Option<String>,
    /// The device groups whose devices the rule applies to; empty: every
    /// device.
    #[serde(default)]
    pub device_groups: Vec<i64>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// Compiles a rule's fields with the search crate's validation: the
/// problems by field (`pattern`, `block`, `expectation`).
pub fn compile(f: &ComplianceRuleFields) -> Result<Rule, FieldErrors> {
    let mut e = FieldErrors::default();
    let Some(expect) = RuleExpectation::parse(&f.expectation) else {
        e.add("expectation", "must be must_contain or must_not_contain");
        return Err(e);
    };
    let query = match Query::parse(QuerySpec {
        pattern: f.pattern.clone(),
        regex: f.regex,
        ignore_case: f.ignore_case,
        ..QuerySpec::default()
    }) {
        Ok(q) => q,
        Err(err) => {
            e.add("pattern", err.to_string());
            return Err(e);
        }
    };
    let expect = match expect {
        RuleExpectation::MustContain => Expectation::MustContain,
        RuleExpectation::MustNotContain => Expectation::MustNotContain,
    };
    Rule::new(query, expect, f.block.as_deref()).map_err(|err| {
        e.add("block", err.to_string());
        e
    })
}

impl ComplianceRuleInput {
    /// The input that would store `r` unchanged.
    pub fn of(r: &ComplianceRule) -> Self {
        let f = &r.fields;
        Self {
            name: f.name.clone(),
            pattern: f.pattern.clone(),
            regex: f.regex,
            ignore_case: f.ignore_case,
            expectation: RuleExpectation::parse(&f.expectation).unwrap_or_default(),
            block: f.block.clone(),
            device_groups: f.device_groups.clone(),
            enabled: f.enabled,
        }
    }

    /// Checks the name, the pattern and the block header (compiled as the
    /// evaluator will), and that every device group exists.
    pub async fn validate(&self, app: &App) -> Checked<ComplianceRuleFields> {
        let mut e = FieldErrors::default();
        let name = match devicevault_core::Name::parse(&self.name) {
            Ok(n) => n.into_string(),
            Err(err) => {
                e.add("name", err.to_string());
                String::new()
            }
        };
        let block = self
            .block
            .as_deref()
            .map(str::trim_end)
            .filter(|b| !b.trim().is_empty())
            .map(str::to_owned);
        let mut device_groups = self.device_groups.clone();
        device_groups.sort_unstable();
        device_groups.dedup();
        for id in &device_groups {
            match app.db.device_group(*id).await {
                Ok(_) => {}
                Err(DbError::NotFound { .. }) => {
                    e.add("device_groups", format!("device group {id} does not exist"))
                }
                Err(err) => return Err(err),
            }
        }
        let fields = ComplianceRuleFields {
            name,
            pattern: self.pattern.clone(),
            regex: self.regex,
            ignore_case: self.ignore_case,
            expectation: self.expectation.as_str().to_owned(),
            block,
            device_groups,
            enabled: self.enabled,
        };
        if let Err(errors) = compile(&fields) {
            e.0.extend(errors.0);
        }
        Ok(e.or(fields))
    }
}

/// Stores `input` as a new rule; its states follow at the evaluator's
/// next pass.
pub async fn create(app: &App, input: &ComplianceRuleInput) -> Checked<ComplianceRule> {
    let f = match input.validate(app).await? {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let r = app.db.create_compliance_rule(&f).await?;
    app.search.version_stored_for_compliance();
    Ok(Ok(r))
}

/// Stores `input` as rule `id`; every device is evaluated again under it.
pub async fn update(app: &App, id: i64, input: &ComplianceRuleInput) -> Checked<ComplianceRule> {
    app.db.compliance_rule(id).await?;
    let f = match input.validate(app).await? {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let r = app.db.update_compliance_rule(id, &f).await?;
    app.search.version_stored_for_compliance();
    Ok(Ok(r))
}

/// A rule in the shape of a form: its device groups by name.
/// [`ComplianceRuleForm::input`] resolves them; what is valid is still
/// decided by [`ComplianceRuleInput::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComplianceRuleForm {
    pub name: String,
    pub pattern: String,
    pub regex: bool,
    pub ignore_case: bool,
    /// `must_contain` or `must_not_contain`.
    pub expectation: String,
    /// Empty: the whole configuration.
    pub block: String,
    /// Names, separated by commas; empty: every device.
    pub device_groups: String,
    pub enabled: bool,
}

impl ComplianceRuleForm {
    /// The form that shows `r`.
    pub async fn of(app: &App, r: &ComplianceRule) -> Result<Self, DbError> {
        let f = &r.fields;
        Ok(Self {
            name: f.name.clone(),
            pattern: f.pattern.clone(),
            regex: f.regex,
            ignore_case: f.ignore_case,
            expectation: f.expectation.clone(),
            block: f.block.clone().unwrap_or_default(),
            device_groups: TargetNames::of(app, &f.device_groups, &[])
                .await?
                .device_groups,
            enabled: f.enabled,
        })
    }

    /// The input, with the groups' names resolved; an unknown name or
    /// expectation is an error on its field.
    pub async fn input(&self, app: &App) -> Checked<ComplianceRuleInput> {
        let mut e = FieldErrors::default();
        let names = TargetNames {
            device_groups: self.device_groups.clone(),
            devices: String::new(),
        };
        let (device_groups, _) = names.ids(app, &mut e).await?;
        let expectation = match RuleExpectation::parse(self.expectation.trim()) {
            Some(x) => x,
            None => {
                e.add("expectation", "must be must_contain or must_not_contain");
                RuleExpectation::default()
            }
        };
        Ok(e.or(ComplianceRuleInput {
            name: self.name.clone(),
            pattern: self.pattern.clone(),
            regex: self.regex,
            ignore_case: self.ignore_case,
            expectation,
            block: Some(self.block.clone()).filter(|b| !b.trim().is_empty()),
            device_groups,
            enabled: self.enabled,
        }))
    }
}

/// The filters of a list of states (`rule`, `state`, `device_group`), as
/// the API's query string and the web page's form give them: one
/// validator, problems by field.
pub fn list_filter(get: impl Fn(&str) -> Option<String>) -> Result<ComplianceFilter, FieldErrors> {
    let mut e = FieldErrors::default();
    let mut id = |field: &'static str| match get(field).as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                e.add(field, format!("must be an id, not {v:?}"));
                None
            }
        },
    };
    let rule = id("rule");
    let device_group = id("device_group");
    let st = match get("state").as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) if state::ALL.contains(&v) => Some(v.to_owned()),
        Some(v) => {
            e.add(
                "state",
                format!("must be compliant, non_compliant or unknown, not {v:?}"),
            );
            None
        }
    };
    e.or(ComplianceFilter {
        rule,
        state: st,
        device_group,
        device: None,
    })
}

// ---- evaluation ----------------------------------------------------------------------

/// Pairs evaluated in one batch of a pass.
pub const BATCH: i64 = 500;

/// How long a version that could not be read waits before it is read
/// again (its previous state stays meanwhile).
pub const RETRY_AFTER: Duration = Duration::from_secs(600);

/// A full pass at least this often, even when the database shows nothing
/// new (devices moved between groups, retries come due).
pub const FULL_PASS_EVERY: Duration = Duration::from_secs(60);

/// What an evaluator reaches: the database, the storage workers (through
/// the pipeline) and, in the API's process, the search cache.
#[derive(Clone)]
pub struct Evaluator {
    pub db: Db,
    pub pipeline: Arc<dyn Pipeline>,
    /// The search cache of this process, when it has one: a version it
    /// holds is not read again, and it wakes the evaluator after a store.
    pub search: Option<Arc<SearchIndex>>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator").finish_non_exhaustive()
    }
}

impl Evaluator {
    /// The evaluator of `app`'s process.
    pub fn of(app: &App) -> Self {
        Self {
            db: app.db.clone(),
            pipeline: Arc::clone(&app.pipeline),
            search: Some(Arc::clone(&app.search)),
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Pairs evaluated and recorded.
    pub evaluated: usize,
    /// Of those, states that changed (or were first recorded).
    pub changed: usize,
    /// Events written.
    pub notified: usize,
    /// Versions that could not be read (evaluated again after
    /// [`RETRY_AFTER`]).
    pub unreadable: usize,
    /// Stored rules that no longer compile (skipped, logged).
    pub invalid_rules: usize,
    /// Pairs another evaluator recorded first (still due if it evaluated
    /// an older version: the next pass takes them).
    pub lost: usize,
    /// More pairs were due than one batch: call again.
    pub more: bool,
}

/// The state and detail of an evaluation. The detail names line numbers
/// only, never a line's text.
pub fn outcome(c: &Compliance) -> (&'static str, String) {
    fn numbers(lines: &[Line], total: usize) -> String {
        let mut s: Vec<String> = lines.iter().map(|l| l.line_number.to_string()).collect();
        if total > lines.len() {
            s.push("…".into());
        }
        s.join(", ")
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match c {
        Compliance::Compliant => (state::COMPLIANT, String::new()),
        Compliance::NotCompliant { violation } => (
            state::NON_COMPLIANT,
            match violation {
                Violation::Missing => "no line matches".to_owned(),
                Violation::MissingInBlocks { blocks, total } => format!(
                    "{total} block{} without a matching line, at line{} {}",
                    plural(*total),
                    plural(*total),
                    numbers(blocks, *total)
                ),
                Violation::Present { lines, total } => format!(
                    "{total} matching line{}: {}",
                    plural(*total),
                    numbers(lines, *total)
                ),
            },
        ),
        Compliance::Unknown { reason } => (state::UNKNOWN, reason.to_string()),
    }
}

/// Evaluates the due pairs of every enabled rule, at most [`BATCH`] in
/// all, and removes the states of devices a rule no longer applies to.
pub async fn evaluate_due(ev: &Evaluator, now: Timestamp) -> Result<Pass, DbError> {
    let mut pass = Pass::default();
    let mut left = BATCH;
    // Several rules on one device read its version once.
    let mut contents: HashMap<i64, Arc<Vec<u8>>> = HashMap::new();
    for r in ev.db.all_compliance_rules().await? {
        ev.db.prune_compliance(&r).await?;
        if !r.fields.enabled {
            continue;
        }
        let rule = match compile(&r.fields) {
            Ok(rule) => rule,
            Err(e) => {
                tracing::warn!(rule = r.id, errors = ?e.0, "a stored compliance rule does not compile; skipped");
                pass.invalid_rules += 1;
                continue;
            }
        };
        if left == 0 {
            pass.more = true;
            break;
        }
        let due = ev.db.due_compliance(&r, now, left).await?;
        left -= i64::try_from(due.len()).unwrap_or(left);
        if left == 0 {
            pass.more = true;
        }
        for d in due {
            let new = evaluate_one(ev, &r, &rule, &d, now, &mut contents, &mut pass).await;
            match ev
                .db
                .record_compliance(&r, d.device_id, d.previous.as_ref(), &new, now)
                .await?
            {
                Recorded::Lost => pass.lost += 1,
                Recorded::Same => pass.evaluated += 1,
                Recorded::Changed { notified } => {
                    pass.evaluated += 1;
                    pass.changed += 1;
                    pass.notified += usize::from(notified);
                    tracing::info!(
                        rule = r.id,
                        device_id = d.device_id,
                        state = new.state,
                        notified,
                        "compliance state changed"
                    );
                }
            }
        }
    }
    Ok(pass)
}

async fn evaluate_one(
    ev: &Evaluator,
    r: &ComplianceRule,
    rule: &Rule,
    d: &DueCompliance,
    now: Timestamp,
    contents: &mut HashMap<i64, Arc<Vec<u8>>>,
    pass: &mut Pass,
) -> NewCompliance {
    let Some(stored) = &d.latest else {
        let (st, detail) = outcome(&Compliance::Unknown {
            reason: devicevault_search::UnknownReason::NoConfiguration,
        });
        return NewCompliance {
            state: st.to_owned(),
            stored_backup_id: None,
            rule_version: r.version,
            detail,
            retry_at: None,
        };
    };
    let content = match contents.get(&stored.id) {
        Some(c) => Some(Arc::clone(c)),
        None => {
            let cached = ev
                .search
                .as_ref()
                .and_then(|s| s.cached(d.device_id, stored.id))
                .map(|doc| Arc::new(doc.content().to_vec()));
            let content = match cached {
                Some(c) => Some(c),
                None => match read_stored_with(&ev.db, &*ev.pipeline, stored).await {
                    Ok(c) => Some(Arc::new(c)),
                    Err(e) => {
                        tracing::warn!(rule = r.id, device_id = d.device_id, stored_backup = stored.id, error = %e, "compliance could not read a version; retrying later");
                        None
                    }
                },
            };
            if let Some(c) = &content {
                contents.insert(stored.id, Arc::clone(c));
            }
            content
        }
    };
    let retry_at = Timestamp::from_datetime(now.as_datetime() + RETRY_AFTER);
    let Some(content) = content else {
        pass.unreadable += 1;
        // The previous state stays, due again after the retry.
        return match &d.previous {
            Some(p) => NewCompliance {
                state: p.state.clone(),
                stored_backup_id: p.stored_backup_id,
                rule_version: p.rule_version,
                detail: p.detail.clone(),
                retry_at: Some(retry_at),
            },
            None => NewCompliance {
                state: state::UNKNOWN.to_owned(),
                stored_backup_id: None,
                rule_version: r.version,
                detail: "its latest version could not be read yet".to_owned(),
                retry_at: Some(retry_at),
            },
        };
    };
    let (st, detail) = outcome(&rule.evaluate(&content));
    NewCompliance {
        state: st.to_owned(),
        stored_backup_id: Some(stored.id),
        rule_version: r.version,
        detail,
        retry_at: None,
    }
}

/// Runs [`evaluate_due`] until `stop`: every `tick` when the database
/// shows a new version, device or rule edit (or [`FULL_PASS_EVERY`]
/// passed), at once after a store in this process (embedded mode), and
/// again without waiting while more is due.
pub async fn keep_evaluating(ev: Evaluator, tick: Duration, stop: CancellationToken) {
    let mut seen = None;
    let mut last_full: Option<tokio::time::Instant> = None;
    let mut more = false;
    loop {
        let full = last_full.is_none_or(|t| t.elapsed() >= FULL_PASS_EVERY);
        let mark = match ev.db.compliance_watermark().await {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(error = %e, "reading the compliance watermark failed");
                None
            }
        };
        if more || full || mark.is_none() || mark != seen {
            if full {
                last_full = Some(tokio::time::Instant::now());
            }
            let pass = tokio::select! {
                () = stop.cancelled() => break,
                p = evaluate_due(&ev, Timestamp::now()) => p,
            };
            match pass {
                Ok(p) => {
                    more = p.more || p.lost > 0;
                    // What was seen before the pass: a version stored
                    // during it is due at the next tick.
                    seen = mark;
                    if p.evaluated > 0 || p.unreadable > 0 {
                        tracing::info!(
                            evaluated = p.evaluated,
                            changed = p.changed,
                            notified = p.notified,
                            unreadable = p.unreadable,
                            "compliance evaluated"
                        );
                    }
                }
                Err(e) => {
                    more = false;
                    tracing::warn!(error = %e, "evaluating compliance failed");
                }
            }
        }
        if more {
            tokio::task::yield_now().await;
            continue;
        }
        let wakeup = async {
            match &ev.search {
                Some(s) => s.compliance_wakeup().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(tick) => {}
            () = wakeup => {
                seen = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pattern: &str, regex: bool, block: Option<&str>) -> ComplianceRuleFields {
        ComplianceRuleFields {
            name: "r".into(),
            pattern: pattern.into(),
            regex,
            ignore_case: false,
            expectation: expectation::MUST_NOT_CONTAIN.into(),
            block: block.map(str::to_owned),
            device_groups: vec![],
            enabled: true,
        }
    }

    #[test]
    fn an_invalid_regex_is_an_error_on_pattern_and_a_bad_block_on_block() {
        let e = compile(&fields("a(b", true, None)).unwrap_err();
        assert_eq!(e.0.len(), 1);
        assert_eq!(e.0[0].0, "pattern");
        assert!(
            e.0[0].1.contains("invalid regular expression"),
            "{}",
            e.0[0].1
        );
        let e = compile(&fields("shutdown", false, Some("interface ("))).unwrap_err();
        assert_eq!(e.0[0].0, "block");
        assert!(compile(&fields("a(b", false, None)).is_ok(), "literal text");
    }

    #[test]
    fn the_detail_names_line_numbers_never_lines() {
        let rule = compile(&fields("community public", false, None)).unwrap();
        let c = rule.evaluate(b"hostname r1\nsnmp-server community public RO\n");
        let (st, detail) = outcome(&c);
        assert_eq!(st, state::NON_COMPLIANT);
        assert_eq!(detail, "1 matching line: 2");
        assert!(!detail.contains("public"));
        let (st, detail) = outcome(&rule.evaluate(b"hostname r1\n"));
        assert_eq!((st, detail.as_str()), (state::COMPLIANT, ""));
    }
}
