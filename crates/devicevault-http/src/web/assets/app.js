// DeviceVault web UI: small enhancements over pages that work without
// them. "Backup now" progress without reloads, job pages that follow their
// job, dashboard auto-refresh, the reader's time zone, the theme toggle,
// confirmations.
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.add("js");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  // ---- theme -------------------------------------------------------------
  function currentTheme() {
    var t = root.getAttribute("data-theme");
    if (t) return t;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  var toggle = document.getElementById("theme-toggle");
  if (toggle) {
    var label = function () {
      var next = currentTheme() === "dark" ? "light" : "dark";
      toggle.setAttribute("aria-label", "Switch to the " + next + " theme");
      toggle.title = "Switch to the " + next + " theme";
    };
    label();
    toggle.addEventListener("click", function () {
      var next = currentTheme() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      document.cookie = "dv_theme=" + next + "; Path=/; Max-Age=31536000; SameSite=Strict";
      label();
    });
  }

  // ---- the reader's time zone -------------------------------------------
  // The server shows every time in the zone of the dv_tz cookie (UTC,
  // labelled, without it), so a page never mixes two zones. The cookie is
  // set here to this browser's zone — on the sign-in page, before any page
  // with a time — unless one was chosen on the account page (dv_tz_chosen).
  (function () {
    if (/(?:^|; )dv_tz_chosen=/.test(document.cookie)) return;
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) {
      return;
    }
    var m = document.cookie.match(/(?:^|; )dv_tz=([^;]*)/);
    var have = m ? m[1] : "";
    // Zone names are cookie-safe (letters, digits, / _ + -): kept as they are.
    if (!zone || zone === have || !/^[A-Za-z0-9\/_+-]+$/.test(zone)) return;
    document.cookie = "dv_tz=" + zone + "; Path=/; Max-Age=31536000; SameSite=Lax";
  })();

  // ---- confirmations ------------------------------------------------------
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form.getAttribute && form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  }, true);

  // Selects that apply at once (the page size).
  document.querySelectorAll("select.js-autosubmit").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });

  // ---- jobs ---------------------------------------------------------------
  var LABELS = { queued: "queued", collecting: "collecting", collected: "collected", stored: "stored", failed: "failed" };

  function badge(state) {
    var cls = state === "stored" ? "ok" : state === "failed" ? "bad" : "run";
    var span = document.createElement("span");
    span.className = "badge " + cls;
    span.textContent = LABELS[state] || state;
    return span;
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.detail || body.error || ("HTTP " + r.status));
        return body;
      });
    });
  }

  // Polls a job until it is final; calls onState with each new state.
  function follow(stateUrl, onState) {
    var last = null;
    var delay = 300;
    function tick() {
      getJSON(stateUrl).then(function (job) {
        if (job.state !== last) {
          last = job.state;
          onState(job);
        }
        if (!job["final"]) {
          delay = Math.min(delay * 1.3, 2000);
          setTimeout(tick, delay);
        }
      }).catch(function (err) {
        onState({ state: "failed", "final": true, reason: "lost track of the job: " + err.message });
      });
    }
    tick();
  }

  function showJob(cell, job) {
    cell.textContent = "";
    var a = document.createElement("a");
    a.href = job.job_url || "#";
    a.className = "status-link";
    a.appendChild(badge(job.state));
    cell.appendChild(a);
    if (job.state === "stored" && job.view_url) {
      cell.appendChild(document.createTextNode(" "));
      var v = document.createElement("a");
      v.href = job.view_url;
      v.textContent = "view";
      v.className = "small";
      cell.appendChild(v);
    }
    if (job.state === "failed" && job.reason) {
      var r = document.createElement("div");
      r.className = "reason small";
      r.textContent = job.reason;
      cell.appendChild(r);
    }
  }

  // "Backup now": post in the background, then show the job progressing.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList || !form.classList.contains("js-backup") || ev.defaultPrevented) return;
    ev.preventDefault();
    var button = form.querySelector("button");
    var cell = document.getElementById(form.getAttribute("data-status"));
    button.disabled = true;
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString()
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.detail || body.error || ("HTTP " + r.status));
        return body;
      });
    }).then(function (accepted) {
      var job = { state: "queued", job_url: accepted.job_url };
      if (cell) showJob(cell, job);
      follow(accepted.state_url, function (j) {
        if (cell) showJob(cell, j);
        if (j["final"]) button.disabled = false;
      });
    }).catch(function (err) {
      button.disabled = false;
      if (cell) showJob(cell, { state: "failed", reason: err.message });
    });
  });

  // A job page that is not final follows its job and reloads when it is.
  var jobState = document.querySelector("[data-poll-job]");
  if (jobState) {
    follow(jobState.getAttribute("data-poll-job"), function (job) {
      jobState.textContent = "";
      jobState.appendChild(badge(job.state));
      if (job["final"]) window.location.reload();
    });
  }

  // ---- compare: next / previous change, expanding a folded run ----------
  var diffTable = document.querySelector("table.diff");
  if (diffTable) {
    var at = -1;
    // "Every line" comes in pages of rows: the next page is appended when
    // the end of the loaded ones comes into view, or when `n` needs it.
    var loading = null;
    var more = function () {
      var link = document.querySelector("a[data-more-rows]");
      if (!link) return Promise.resolve(false);
      if (loading) return loading;
      loading = fetch(link.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { if (!r.ok) throw new Error(); return r.text(); })
        .then(function (text) {
          var doc = new DOMParser().parseFromString(text, "text/html");
          var rows = doc.querySelectorAll("table.diff tbody tr");
          var body = diffTable.tBodies[0];
          var part = document.createDocumentFragment();
          Array.prototype.forEach.call(rows, function (r) { part.appendChild(document.importNode(r, true)); });
          body.appendChild(part);
          var next = doc.querySelector("a[data-more-rows]");
          var shown = document.querySelector("nav.diff-pages .rows-shown");
          var fresh = doc.querySelector("nav.diff-pages .rows-shown");
          if (shown && fresh) shown.textContent = shown.textContent.replace(/–[^ ]+/, fresh.textContent.match(/–[^ ]+/)[0]);
          if (next) { link.href = next.href; watch(); }
          else { link.previousSibling && link.previousSibling.nodeType === 3 && link.previousSibling.remove(); link.remove(); }
          loading = null;
          return true;
        })
        .catch(function () { loading = null; return false; });
      return loading;
    };
    // The rows scroll inside their pane: what comes into view is the last
    // loaded row, within the pane.
    var watcher = null;
    var watch = function () {
      if (!("IntersectionObserver" in window)) return;
      if (watcher) watcher.disconnect();
      var rows = diffTable.tBodies[0].rows;
      if (!rows.length) return;
      watcher = new IntersectionObserver(function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) more();
      }, { root: diffTable.closest(".diff-wrap"), rootMargin: "0px 0px 600px 0px" });
      watcher.observe(rows[rows.length - 1]);
    };
    if (document.querySelector("a[data-more-rows]")) watch();
    var step = function (by) {
      var runs = diffTable.querySelectorAll("tr[id^='change-']");
      if (by > 0 && at >= runs.length - 1 && document.querySelector("a[data-more-rows]")) {
        more().then(function (loaded) { if (loaded) step(by); });
        return;
      }
      if (!runs.length) return;
      at = Math.max(0, Math.min(runs.length - 1, at + by));
      Array.prototype.forEach.call(diffTable.querySelectorAll("tr.current"), function (r) { r.classList.remove("current"); });
      var row = runs[at];
      row.classList.add("current");
      row.scrollIntoView({ block: "center" });
      if (history.replaceState) history.replaceState(null, "", "#" + row.id);
    };
    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) return;
      var t = ev.target;
      if (t && t.closest && t.closest("input, textarea, select, [contenteditable]")) return;
      if (ev.key === "n") { step(1); ev.preventDefault(); }
      else if (ev.key === "p") { step(-1); ev.preventDefault(); }
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-change-step]"), function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        step(parseInt(a.getAttribute("data-change-step"), 10));
      });
    });
    // A folded run of unchanged lines is replaced in place by its lines,
    // taken from the same comparison with every line.
    diffTable.addEventListener("click", function (ev) {
      var button = ev.target.closest ? ev.target.closest("button.expand") : null;
      if (!button) return;
      var fold = button.closest("tr.skip");
      var from = parseInt(fold.getAttribute("data-old-from"), 10);
      var count = parseInt(fold.getAttribute("data-count"), 10);
      var url = new URL(window.location.href);
      url.searchParams.set("old", from + "-" + (from + count - 1));
      url.searchParams.delete("context");
      url.hash = "";
      button.disabled = true;
      fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { if (!r.ok) throw new Error(); return r.text(); })
        .then(function (text) {
          var doc = new DOMParser().parseFromString(text, "text/html");
          var rows = doc.querySelectorAll("table.diff tbody tr:not(.chg):not(.skip)");
          var lines = document.createDocumentFragment();
          Array.prototype.forEach.call(rows, function (r) {
            var n = parseInt(r.querySelector("td.n").getAttribute("data-n"), 10);
            if (n >= from && n < from + count) lines.appendChild(document.importNode(r, true));
          });
          fold.replaceWith(lines);
        })
        .catch(function () { button.disabled = false; });
    });
  }

  // ---- dashboard auto-refresh ------------------------------------------------
  var dash = document.querySelector("[data-refresh]");
  if (dash) {
    var secs = parseInt(dash.getAttribute("data-refresh"), 10) || 30;
    setInterval(function () {
      if (document.hidden) return;
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { if (!r.ok) throw new Error(); return r.text(); })
        .then(function (text) {
          var doc = new DOMParser().parseFromString(text, "text/html");
          var fresh = doc.getElementById(dash.id);
          var current = document.getElementById(dash.id);
          if (fresh && current && !current.contains(document.activeElement)) {
            current.replaceWith(fresh);
            var note = fresh.querySelector("#refreshed");
            if (note) note.textContent = "Updated " + new Date().toLocaleTimeString();
          }
        })
        .catch(function () { /* keep the last view; try again next time */ });
    }, secs * 1000);
  }

  // ---- forms ------------------------------------------------------------------
  // Git-only fields of the location form follow the chosen type.
  document.querySelectorAll("select.js-location-type").forEach(function (sel) {
    var form = sel.form;
    function sync() {
      var git = sel.value === "git";
      form.querySelectorAll("[data-git-only]").forEach(function (el) {
        var field = el.closest(".field");
        if (field) field.hidden = !git;
      });
    }
    sel.addEventListener("change", sync);
    sync();
  });

  // The import page: a chosen file fills the text area (without script,
  // the file's text is pasted; the form stays a plain one).
  document.querySelectorAll("input[type=file][data-fills]").forEach(function (input) {
    var target = document.getElementById(input.getAttribute("data-fills"));
    if (!target || !window.FileReader) return;
    var field = input.closest(".field");
    if (field) field.hidden = false;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) return;
      var reader = new FileReader();
      reader.onload = function () { target.value = reader.result; };
      reader.readAsText(file);
    });
  });

  // Focus the error summary of a form that came back with errors.
  var errors = document.getElementById("form-errors");
  if (errors) errors.focus();
})();
