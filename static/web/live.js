/* Reachly live updates: one WebSocket per page, no polling.
 *
 * The page says what to follow in #live-config (reachly/web/views/base.py):
 *   tenant    its tenant's stream: job status and coalesced progress, lead changes
 *   jobs      {job: after_seq}: a job's full stream, replayed after after_seq
 *   catch_up  {job: seq}: replay a job's events after seq on every (re)connect,
 *             then unsubscribe (what the tenant stream sent while we were away)
 *   rendered  {job: seq}: the page already shows the job as of seq
 * On a dropped connection it reconnects with backoff and asks each job for
 * what it missed (after_seq = the last sequence number it applied), so the
 * page converges on the server's state without reloading or polling.
 */
(function () {
  "use strict";

  var cfgEl = document.getElementById("live-config");
  if (!cfgEl || !window.WebSocket) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var labelsEl = document.getElementById("status-labels");
  var LABELS = labelsEl ? JSON.parse(labelsEl.textContent) : {};
  var R = (window.Reachly = window.Reachly || {});

  var TERMINAL = ["succeeded", "failed", "cancelled"];
  var LOG_MAX = 300;

  var jobStreams = cfg.jobs || {};
  var catchUp = cfg.catch_up || {};
  var rendered = cfg.rendered || {};
  var lastSeq = {}; // job -> the last sequence number seen
  Object.keys(jobStreams).forEach(function (j) { lastSeq[j] = jobStreams[j]; });
  Object.keys(catchUp).forEach(function (j) { lastSeq[j] = catchUp[j]; });
  var seen = new Set(); // "job:seq:type" of tenant-stream events (they may arrive out of order)
  // job -> seq of the progress / status shown: never an older one after a newer
  // (replayed history older than the rendered page only goes to the log).
  var progressSeq = {};
  var statusSeq = {};
  Object.keys(rendered).forEach(function (j) { progressSeq[j] = statusSeq[j] = rendered[j]; });
  var ws = null;
  var attempts = 0;
  var timer = null;
  var stopped = false;

  function label(status) { return LABELS[status] || String(status).replace(/_/g, " "); }
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // ------------------------------------------------------------------ socket

  function indicator(state, text) {
    var el = $("[data-live-indicator]");
    if (!el) return;
    el.dataset.state = state;
    var t = $("[data-live-text]", el);
    if (t) t.textContent = text;
  }

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  function connect() {
    if (stopped) return;
    clearTimeout(timer);
    indicator("connecting", attempts ? "Reconnecting…" : "Connecting…");
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(proto + location.host + "/ws/events/");
    ws.onopen = function () {
      attempts = 0;
      indicator("live", "Live");
      if (cfg.tenant) send({ action: "subscribe", tenant: cfg.tenant });
      Object.keys(jobStreams).forEach(function (j) {
        send({ action: "subscribe", job: Number(j), after_seq: lastSeq[j] || 0 });
      });
      Object.keys(catchUp).forEach(function (j) {
        send({ action: "subscribe", job: Number(j), after_seq: lastSeq[j] || 0 });
      });
    };
    ws.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      receive(event);
    };
    ws.onclose = function (e) {
      ws = null;
      if (e.code === 4401) {
        stopped = true;
        indicator("offline", "Signed out");
        R.toast && R.toast("Your session has ended: sign in again to follow live updates.", "error");
        return;
      }
      if (e.code === 4403) {
        stopped = true;
        indicator("offline", "Not allowed");
        return;
      }
      attempts += 1;
      var delay = Math.min(15000, 500 * Math.pow(2, attempts)) * (0.75 + Math.random() * 0.5);
      indicator("offline", "Offline, reconnecting…");
      timer = setTimeout(connect, delay);
    };
  }

  // Come back at once when the tab or the network does.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !ws && !stopped) connect();
  });
  window.addEventListener("online", function () { if (!ws && !stopped) connect(); });

  function receive(event) {
    if (event.type === "subscribed") {
      if (event.tenant !== undefined && page.snapshot) page.snapshot(event.jobs || []);
      if (event.job !== undefined && catchUp[String(event.job)] !== undefined && !jobStreams[String(event.job)]) {
        send({ action: "unsubscribe", job: event.job }); // caught up: the tenant stream carries on
      }
      return;
    }
    if (event.type === "error") return;
    var job = event.job !== undefined ? String(event.job) : null;
    if (job !== null && typeof event.seq === "number") {
      if (jobStreams[job] !== undefined) {
        // A job stream is gap-free and in order: anything not newer was applied.
        if (event.type !== "job.progress") {
          if (event.seq <= (lastSeq[job] || 0)) return;
          lastSeq[job] = event.seq;
        }
      } else {
        var key = job + ":" + event.seq + ":" + event.type;
        if (seen.has(key)) return;
        seen.add(key);
        if (seen.size > 5000) seen = new Set(Array.from(seen).slice(-2500));
        if (event.type !== "job.progress" && event.seq > (lastSeq[job] || 0)) lastSeq[job] = event.seq;
      }
    }
    common(event);
    if (page.event) page.event(event);
  }

  // ------------------------------------------------- shared DOM updates

  function badge(status) {
    var span = document.createElement("span");
    span.className = "badge";
    span.dataset.status = status;
    span.textContent = label(status);
    return span;
  }

  function setBadge(container, status) {
    if (!container) return;
    var current = $(".badge", container);
    if (current && current.dataset.status === status) return;
    container.replaceChildren(badge(status));
  }

  function setProgress(job, progress, seq, status) {
    if (!progress) return;
    if (seq !== undefined && progressSeq[job] !== undefined && seq < progressSeq[job]) return;
    if (seq !== undefined) progressSeq[job] = seq;
    var total = progress.total || 0;
    var failedPct = total ? (100 * (progress.failed || 0)) / total : 0;
    $$('[data-progress][data-job-id="' + job + '"]').forEach(function (el) {
      if (status) el.dataset.status = status;
      $('[data-bar="done"]', el).style.width = (progress.percent || 0) + "%";
      $('[data-bar="failed"]', el).style.width = failedPct + "%";
      var track = $("[role=progressbar]", el);
      track.setAttribute("aria-valuenow", String(progress.percent || 0));
      track.setAttribute("aria-valuetext", (progress.done || 0) + " of " + total + " steps done");
      $("[data-progress-count]", el).textContent =
        (progress.done || 0) + " / " + total + " steps" + (progress.failed ? " · " + progress.failed + " failed" : "");
      $("[data-progress-percent]", el).textContent = Math.round(progress.percent || 0) + "%";
    });
  }

  function setJobStatus(job, status, seq) {
    if (seq !== undefined && statusSeq[job] !== undefined && seq < statusSeq[job]) return false;
    if (seq !== undefined) statusSeq[job] = seq;
    $$('[data-job-row="' + job + '"] [data-job-status], [data-job="' + job + '"] [data-job-status]').forEach(function (el) {
      setBadge(el, status);
    });
    $$('[data-progress][data-job-id="' + job + '"]').forEach(function (el) { el.dataset.status = status; });
    return true;
  }

  function common(event) {
    var job = event.job;
    if (event.type === "job.status") {
      setJobStatus(job, event.status, event.seq);
      setProgress(job, event.progress, event.seq, event.status);
    } else if (event.type === "job.progress" || (event.type === "step.status" && event.progress)) {
      setProgress(job, event.progress, event.seq);
    } else if (event.type === "lead.status_changed") {
      $$('[data-lead="' + event.lead + '"]').forEach(function (row) {
        setBadge($("[data-lead-status]", row), event.status);
        var detail = $("[data-lead-detail]", row);
        if (detail) detail.textContent = event.detail || "";
        row.classList.remove("flash");
        void row.offsetWidth;
        row.classList.add("flash");
      });
    }
  }

  // ----------------------------------------------------------- the pages

  var pages = {};

  // Dashboard: the running-jobs list follows the tenant's snapshot.
  pages.dashboard = {
    snapshot: function (jobs) {
      var list = $("[data-running-jobs]");
      if (!list) return;
      var keep = {};
      jobs.forEach(function (j) {
        keep[j.job] = true;
        var row = $('[data-job-row="' + j.job + '"]', list);
        if (!row) list.prepend(jobRow(j));
        setJobStatus(j.job, j.status);
        setProgress(j.job, j.progress, j.seq, j.status);
      });
      $$("[data-job-row]", list).forEach(function (row) {
        if (!keep[row.dataset.jobRow]) row.remove(); // ended while we were away
      });
      refreshRunning();
    },
    event: function (event) {
      if (event.type !== "job.status") return;
      var list = $("[data-running-jobs]");
      if (list && !$('[data-job-row="' + event.job + '"]', list) && TERMINAL.indexOf(event.status) < 0) {
        // A job we have not seen: the snapshot brings its name.
        send({ action: "subscribe", tenant: cfg.tenant });
      }
      refreshRunning();
    }
  };

  function jobRow(j) {
    var li = document.createElement("li");
    li.className = "job-row";
    li.dataset.jobRow = j.job;
    var left = document.createElement("div");
    var a = document.createElement("a");
    a.className = "name";
    a.href = "/jobs/" + j.job + "/";
    a.textContent = j.name || "Untitled job";
    var meta = document.createElement("div");
    meta.className = "meta";
    var st = document.createElement("span");
    st.dataset.jobStatus = "";
    st.appendChild(badge(j.status));
    var id = document.createElement("span");
    id.textContent = "#" + j.job;
    meta.append(st, id);
    left.append(a, meta);
    var progress = document.createElement("div");
    progress.className = "progress";
    progress.dataset.progress = "";
    progress.dataset.jobId = j.job;
    progress.innerHTML =
      '<div class="progress-track" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0">' +
      '<div class="progress-bar" data-bar="done" style="width:0%"></div>' +
      '<div class="progress-bar failed" data-bar="failed" style="width:0%"></div></div>' +
      '<div class="progress-text"><span data-progress-count></span><span data-progress-percent></span></div>';
    $("[role=progressbar]", progress).setAttribute("aria-label", "Progress of " + (j.name || "job " + j.job));
    li.append(left, progress);
    return li;
  }

  function refreshRunning() {
    var list = $("[data-running-jobs]");
    if (!list) return;
    var running = $$("[data-job-row] .badge", list).filter(function (b) {
      return b.dataset.status === "running" || b.dataset.status === "paused";
    }).length;
    var count = $("[data-running-count]");
    if (count) count.textContent = String(running);
    var empty = $("[data-running-empty]");
    if (empty) empty.hidden = $$("[data-job-row]", list).length > 0;
  }

  pages.jobs = {};
  pages.campaign = {};

  // The job page: step graph, failed steps, event log, controls.
  pages.job = (function () {
    var header = $("[data-job]");
    if (!header || cfg.page !== "job") return {};
    var jobId = header.dataset.job;
    var jobStatus = header.dataset.jobStatusValue;
    var renderedSeq = rendered[jobId] || 0;
    var steps = {}; // id -> {status, node, deps}
    var children = {};
    var groups = {}; // node id -> [step ids]
    var recent = []; // step events, to re-apply over a refetched graph
    var refetching = false;

    function loadGraph() {
      steps = {}; children = {}; groups = {};
      var el = document.getElementById("graph-steps");
      if (!el) return;
      var data = JSON.parse(el.textContent);
      Object.keys(data).forEach(function (id) {
        var row = data[id];
        steps[id] = { status: row[0], node: row[1], deps: row[2].map(String) };
        (groups[row[1]] = groups[row[1]] || []).push(id);
        steps[id].deps.forEach(function (d) { (children[d] = children[d] || []).push(id); });
      });
    }
    loadGraph();

    var ORDER = ["failed", "running", "paused", "enqueued", "ready", "blocked", "cancelled", "succeeded"];
    var BAR_X = 14, BAR_W = 156;

    function drawNode(nodeId) {
      var node = $('[data-node="' + nodeId + '"]');
      if (!node) return;
      var members = groups[nodeId] || [];
      if (!node.classList.contains("group")) {
        var s = steps[members[0]];
        if (!s) return;
        node.dataset.status = s.status;
        var lab = $("[data-state-label]", node);
        if (lab) lab.textContent = label(s.status);
        var title = $("title", node);
        if (title) title.textContent = title.textContent.replace(/: [a-z_]+$/, ": " + s.status);
        return;
      }
      var counts = {};
      members.forEach(function (id) { var st = steps[id].status; counts[st] = (counts[st] || 0) + 1; });
      var shown = ORDER.filter(function (st) { return counts[st]; })[0] || "blocked";
      node.dataset.status = shown;
      var parts = [(counts.succeeded || 0) + "/" + members.length + " done"];
      ["running", "failed", "paused"].forEach(function (st) { if (counts[st]) parts.push(counts[st] + " " + st); });
      var summary = $("[data-summary]", node);
      if (summary) summary.textContent = parts.join(" · ");
      var x = 0;
      ["succeeded", "failed", "running"].forEach(function (st) {
        var seg = $('[data-seg="' + st + '"]', node);
        var w = (BAR_W * (counts[st] || 0)) / members.length;
        if (seg) { seg.setAttribute("x", (BAR_X + x).toFixed(2)); seg.setAttribute("width", w.toFixed(2)); }
        x += w;
      });
    }

    function setStep(id, status) {
      id = String(id);
      var s = steps[id];
      if (s) {
        s.status = status;
        drawNode(s.node);
      }
      var row = $('[data-step-row="' + id + '"]');
      if (row) setBadge($("[data-step-status]", row), status);
    }

    // Dependents become queued when their last dependency succeeds (the
    // control plane records no event for that, to keep the hot path short).
    function unblockChildren(id) {
      (children[String(id)] || []).forEach(function (child) {
        var c = steps[child];
        if (!c || c.status !== "blocked") return;
        var ready = c.deps.every(function (d) { return steps[d] && steps[d].status === "succeeded"; });
        if (ready) setStep(child, jobStatus === "paused" ? "paused" : "ready");
      });
    }

    function bulk(from, to) {
      Object.keys(steps).forEach(function (id) {
        if (from.indexOf(steps[id].status) >= 0) setStep(id, to);
      });
      $$("[data-step-row]").forEach(function (row) {
        if (steps[row.dataset.stepRow]) return;
        var b = $("[data-step-status] .badge", row);
        if (b && from.indexOf(b.dataset.status) >= 0) setBadge($("[data-step-status]", row), to);
      });
    }

    function controls() {
      var show = {
        pause: jobStatus === "running",
        resume: jobStatus === "paused",
        cancel: jobStatus === "running" || jobStatus === "paused"
      };
      $$("[data-control]").forEach(function (form) {
        form.hidden = !show[form.dataset.control];
        R.setBusy && R.setBusy($("button", form), false);
      });
      header.dataset.jobStatusValue = jobStatus;
      failedCard();
    }

    function failedCard() {
      var list = $("[data-failed-list]");
      var card = $("[data-failed-card]");
      if (!list || !card) return;
      card.hidden = list.children.length === 0;
      var all = $("[data-retry-all]");
      if (all) all.hidden = ["succeeded", "cancelled"].indexOf(jobStatus) >= 0;
    }

    function addFailed(event) {
      var list = $("[data-failed-list]");
      if (!list || $('[data-failed-step="' + event.step + '"]', list)) return;
      var tpl = $("template[data-failed-template]");
      var li;
      if (tpl) {
        li = tpl.content.firstElementChild.cloneNode(true);
        var form = $("form", li);
        if (form) form.action = list.dataset.retryUrl.replace(/\/steps\/0\//, "/steps/" + event.step + "/");
      } else {
        li = document.createElement("li");
        li.className = "failure";
        li.innerHTML = '<div><code data-field="key"></code> <span class="muted small" data-field="agent"></span></div><div class="error" data-field="error"></div>';
      }
      li.dataset.failedStep = event.step;
      $('[data-field="key"]', li).textContent = event.key || "";
      $('[data-field="agent"]', li).textContent = event.agent || "";
      $('[data-field="error"]', li).textContent = event.error || "failed";
      list.appendChild(li);
      failedCard();
    }

    function removeFailed(stepId) {
      var li = $('[data-failed-step="' + stepId + '"]');
      if (li) li.remove();
      failedCard();
    }

    function refetchGraph() {
      if (refetching) return;
      refetching = true;
      fetch("/jobs/" + jobId + "/graph", { credentials: "same-origin", headers: { "X-Reachly-Fragment": "1" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var slot = $("[data-graph-slot]");
          slot.innerHTML = html;
          loadGraph();
          var drawnAt = Number(($("[data-graph]", slot) || {}).dataset.seq || 0);
          recent.forEach(function (e) { if (e.seq > drawnAt) applyStep(e); });
        })
        .catch(function () {})
        .finally(function () { refetching = false; });
    }

    function applyStep(event) {
      setStep(event.step, event.status);
      var row = $('[data-step-row="' + event.step + '"]');
      if (row) {
        if (event.attempt) {
          var att = $("[data-step-attempts]", row);
          if (att) att.textContent = att.textContent.replace(/^\d+/, String(event.attempt));
        }
        var note = $("[data-step-note]", row);
        if (note) note.textContent = event.error || event.reason || "";
      }
      if (event.status === "succeeded") unblockChildren(event.step);
      if (event.status === "failed") addFailed(event);
      else removeFailed(event.step);
    }

    // ---- the event log ----
    function clock(ts) {
      var d = new Date(ts);
      return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    }

    function describe(event) {
      var frag = document.createDocumentFragment();
      function text(t) { frag.appendChild(document.createTextNode(t)); }
      function bold(t) { var b = document.createElement("b"); b.textContent = t; frag.appendChild(b); }
      var cls = "";
      if (event.type === "job.status") {
        bold("Job " + label(event.status).toLowerCase());
        if (event.reason && ["paused", "resumed", "cancelled", event.status].indexOf(event.reason) < 0) text(": " + event.reason);
        if (event.by) text(" by " + event.by);
        if (event.status === "failed") cls = "ev-failed";
      } else if (event.type === "step.status") {
        bold(event.key || "step " + event.step);
        text(" " + label(event.status).toLowerCase());
        if (event.attempt && event.status === "running") text(" (attempt " + event.attempt + ")");
        if (event.error) text(": " + event.error);
        else if (event.reason) text(": " + event.reason);
        if (event.next_attempt_at && (event.status === "retrying" || event.status === "waiting")) {
          text(", again at " + clock(event.next_attempt_at));
        }
        if (event.by) text(" by " + event.by);
        if (event.status === "failed") cls = "ev-failed";
      } else if (event.type === "lead.status_changed") {
        bold("Lead #" + event.lead);
        text(" " + label(event.status).toLowerCase() + (event.detail ? ": " + event.detail : ""));
      } else {
        bold(event.type);
      }
      return { node: frag, cls: cls };
    }

    function log(event, fresh) {
      var list = $("[data-event-log]");
      if (!list) return;
      var li = document.createElement("li");
      var time = document.createElement("time");
      time.dateTime = event.ts || "";
      time.textContent = clock(event.ts);
      var what = document.createElement("span");
      var d = describe(event);
      what.className = "what " + d.cls;
      what.appendChild(d.node);
      li.append(time, what);
      li.dataset.seq = event.seq;
      if (fresh) li.className = "new";
      list.prepend(li);
      while (list.children.length > LOG_MAX) list.lastElementChild.remove();
      var empty = $("[data-log-empty]");
      if (empty) empty.hidden = true;
    }

    return {
      event: function (event) {
        if (String(event.job) !== jobId || event.type === "job.progress") return;
        var fresh = event.seq > renderedSeq;
        log(event, fresh);
        if (!fresh) return; // the page was rendered with it
        if (event.type === "step.status") {
          recent.push(event);
          if (recent.length > 500) recent.shift();
          applyStep(event);
        } else if (event.type === "job.status") {
          var before = jobStatus;
          jobStatus = event.status;
          if (event.status === "paused") bulk(["ready", "enqueued"], "paused");
          else if (event.status === "running" && before === "paused") bulk(["paused"], "ready");
          else if (event.status === "cancelled") bulk(["blocked", "ready", "enqueued", "running", "paused", "retrying", "waiting"], "cancelled");
          var reason = $("[data-job-reason]");
          if (reason) reason.textContent = event.reason && ["paused", "resumed", "cancelled", "started"].indexOf(event.reason) < 0 ? "· " + event.reason : "";
          if (/steps added$/.test(event.reason || "")) refetchGraph();
          controls();
        }
      }
    };
  })();

  var page = pages[cfg.page] || {};
  connect();
})();
