// Journey dashboard: builds a report from the form, asks the API for it with the analyst's
// token, and draws the charts the API describes (the same figures as the HTML reports).
// The report's parameters live in the address (#kind=funnel&step=...), so every view is a
// link; #saved=NAME opens a saved report.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var TOKEN = "journey.token";

  function token() { return localStorage.getItem(TOKEN) || ""; }

  function api(path, options) {
    options = options || {};
    options.headers = Object.assign({"Authorization": "Bearer " + token()}, options.headers || {});
    return fetch(path, options).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(body.message || body.error || ("HTTP " + response.status)); }
        return body;
      });
    });
  }

  function showError(error) { $("error").textContent = error ? String(error.message || error) : ""; }

  function addStep(value) {
    var li = document.createElement("li");
    var input = document.createElement("input");
    input.value = value || "";
    input.className = "step";
    var remove = document.createElement("button");
    remove.textContent = "×";
    remove.title = "remove this step";
    remove.addEventListener("click", function () { li.remove(); });
    li.appendChild(input);
    li.appendChild(remove);
    $("steps").appendChild(li);
  }

  function showKind() {
    var kind = $("kind").value;
    document.querySelectorAll("[data-for]").forEach(function (el) {
      el.classList.toggle("hidden", el.dataset.for.split(" ").indexOf(kind) < 0);
    });
  }

  function since() {  // since=all: from the store's first event
    return $("all-time").checked ? "all" : $("since").value;
  }

  function setSince(value) {
    $("all-time").checked = value === "all";
    $("since").disabled = value === "all";
    if (value !== "all") { $("since").value = value; }
  }

  function params() {
    var kind = $("kind").value;
    var p = new URLSearchParams();
    if (kind === "experiment") {  // an experiment reads its own dates, everyone but bots
      p.append("experiment", $("experiment-key").value);
      return p;
    }
    if (since()) { p.append("since", since()); }
    if ($("until").value) { p.append("until", $("until").value); }
    if ($("in-segment").value) { p.append("in_segment", $("in-segment").value); }
    if ($("include-bots").checked) { p.append("include_bots", "true"); }
    if (kind === "funnel" || kind === "journey_map") {  // a journey map's stages are steps
      document.querySelectorAll("#steps input").forEach(function (input) {
        if (input.value.trim()) { p.append(kind === "funnel" ? "step" : "stage", input.value.trim()); }
      });
      p.append("window", $("window").value || "7d");
      if (kind === "funnel") { p.append("mode", $("mode").value); }
      if (kind === "funnel" && $("hold").value.trim()) { p.append("hold", $("hold").value.trim()); }
      if (kind === "funnel") {
        $("gaps").value.split(",").forEach(function (gap) { if (gap.trim()) { p.append("gap", gap.trim()); } });
      }
      if ($("breakdown").value) { p.append("breakdown", $("breakdown").value); }
      if ($("breakdown").value && $("breakdown-and").value) { p.append("breakdown", $("breakdown-and").value); }
    } else if (kind === "stickiness") {
      p.append("event", $("sticky-event").value);
      p.append("per", $("sticky-per").value);
    } else if (kind === "paths") {
      if ($("path-start").value) { p.append("start", $("path-start").value); }
      p.append("kind", $("path-kind").value);
      if ($("path-clean").value) { p.append("clean", $("path-clean").value); }
    } else {
      p.append("start_event", $("start-event").value);
      p.append("return_event", $("return-event").value);
      p.append("period", $("period").value);
    }
    return p;
  }

  function fill(kind, p) {
    $("kind").value = kind;
    showKind();
    setSince(p.get("since") || "");
    $("until").value = p.get("until") || "";
    $("in-segment").value = p.get("in_segment") || "";
    $("include-bots").checked = p.get("include_bots") === "true";
    if (kind === "funnel" || kind === "journey_map") {
      $("steps").innerHTML = "";
      p.getAll(kind === "funnel" ? "step" : "stage").forEach(addStep);
      $("window").value = p.get("window") || "7d";
      $("mode").value = p.get("mode") || "ordered";
      $("hold").value = p.get("hold") || "";
      $("gaps").value = p.getAll("gap").join(", ");
      var breakdowns = p.getAll("breakdown");
      ["breakdown", "breakdown-and"].forEach(function (id, i) {
        var value = breakdowns[i] || "";
        if (value && !Array.prototype.some.call($(id).options, function (o) { return o.value === value; })) {
          var option = document.createElement("option");
          option.value = option.textContent = value;
          $(id).appendChild(option);
        }
        $(id).value = value;
      });
    } else if (kind === "experiment") {
      var key = p.get("experiment") || "";
      if (key && !Array.prototype.some.call($("experiment-key").options, function (o) { return o.value === key; })) {
        var known = document.createElement("option");
        known.value = known.textContent = key;
        $("experiment-key").appendChild(known);
      }
      $("experiment-key").value = key;
    } else if (kind === "stickiness") {
      $("sticky-event").value = p.get("event") || "";
      $("sticky-per").value = p.get("per") || "week";
    } else if (kind === "paths") {
      $("path-start").value = p.get("start") || "";
      $("path-kind").value = p.get("kind") || "all";
      $("path-clean").value = p.get("clean") || "";
    } else {
      $("start-event").value = p.get("start_event") || "";
      $("return-event").value = p.get("return_event") || "";
      $("period").value = p.get("period") || "week";
    }
  }

  function draw(body) {
    $("title").textContent = body.title;
    var warnings = $("warnings");
    warnings.innerHTML = "";
    (body.warnings || []).forEach(function (w) {
      var p = document.createElement("p");
      p.className = "warning";
      p.textContent = w.message;
      warnings.appendChild(p);
    });
    var charts = $("charts");
    charts.innerHTML = "";
    body.figures.forEach(function (figure, i) {
      var div = document.createElement("div");
      div.className = "chart";
      div.id = "chart-" + i;
      charts.appendChild(div);
      Plotly.newPlot(div, figure.data, figure.layout, {responsive: true, displaylogo: false});
    });
    charts.dataset.kind = body.kind;
    charts.dataset.ready = String(Date.now());
  }

  function run() {
    showError(null);
    var kind = $("kind").value;
    var p = params();
    var link = "kind=" + encodeURIComponent(kind) + "&" + p.toString();
    if (location.hash.slice(1) !== link && location.hash.indexOf("#saved=") !== 0) {
      history.replaceState(null, "", "#" + link);
    }
    $("title").textContent = "Running…";
    return api("/api/v1/reports/" + kind + "?" + p.toString() + "&format=figures")
      .then(draw)
      .catch(function (error) { $("title").textContent = "No report"; showError(error); });
  }

  function loadSaved() {
    return api("/api/v1/saved").then(function (body) {
      var list = $("saved");
      list.innerHTML = "";
      body.saved.forEach(function (s) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = "#saved=" + encodeURIComponent(s.name);
        a.textContent = s.name + " (" + s.kind + ")";
        li.appendChild(a);
        list.appendChild(li);
      });
    });
  }

  function save() {
    showError(null);
    var name = $("save-name").value.trim();
    var body = {kind: $("kind").value, params: {}};
    params().forEach(function (value, key) { (body.params[key] = body.params[key] || []).push(value); });
    return api("/api/v1/saved/" + encodeURIComponent(name), {
      method: "PUT",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body)
    }).then(function () {
      history.replaceState(null, "", "#saved=" + encodeURIComponent(name));
      share();
      return loadSaved();
    }).catch(showError);
  }

  function share() {
    $("link").textContent = location.href;
  }

  function openHash() {
    var hash = location.hash.slice(1);
    if (!hash) { return Promise.resolve(); }
    var p = new URLSearchParams(hash);
    if (p.get("saved")) {
      return api("/api/v1/saved/" + encodeURIComponent(p.get("saved"))).then(function (s) {
        var q = new URLSearchParams();
        Object.keys(s.params).forEach(function (k) { s.params[k].forEach(function (v) { q.append(k, v); }); });
        fill(s.kind, q);
        $("save-name").value = s.name;
        return run();
      }).catch(showError);
    }
    if (!p.get("kind")) {  // only a period: fill it, run nothing
      setSince(p.get("since") || $("since").value);
      $("until").value = p.get("until") || $("until").value;
      return Promise.resolve();
    }
    fill(p.get("kind"), p);
    return run();
  }

  function loadEvents() {
    var p = new URLSearchParams();
    if (since()) { p.append("since", since()); }
    if ($("until").value) { p.append("until", $("until").value); }
    return api("/api/v1/events?" + p.toString()).then(function (body) {
      var box = $("events");
      box.innerHTML = "";
      body.result.forEach(function (e) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = e.event;
        b.title = e.count + " events";
        b.dataset.event = e.event;
        b.addEventListener("click", function () { addStep(e.event); });
        box.appendChild(b);
      });
    });
  }

  function loadChoices() {
    var segments = api("/api/v1/segments").then(function (body) {
      var select = $("in-segment");
      var breakdown = $("breakdown");
      body.result.forEach(function (s) {
        var option = document.createElement("option");
        option.value = option.textContent = s.segment;
        select.appendChild(option);
        var by = document.createElement("option");
        by.value = "segment:" + s.segment;
        by.textContent = "segment " + s.segment;
        breakdown.appendChild(by);
      });
    });
    var stored = api("/api/v1/summary").then(function (body) {
      var s = body.result;
      $("stored").textContent = s.events + " events stored" + (s.bot_events
        ? "; " + s.bot_events + " of them from bots, left out of every report unless " +
          "'Include bots' is ticked" : "");
    });
    var tests = api("/api/v1/experiments").then(function (body) {
      var select = $("experiment-key");
      body.experiments.forEach(function (e) {
        if (Array.prototype.some.call(select.options, function (o) { return o.value === e.key; })) return;
        var option = document.createElement("option");
        option.value = e.key;
        option.textContent = e.key + " (" + e.status + ")";
        select.appendChild(option);
      });
    });
    return Promise.all([segments, loadSaved(), stored, tests]);
  }

  function periodFromHash() {
    var p = new URLSearchParams(location.hash.slice(1));
    if (p.get("since")) { setSince(p.get("since")); }
    if (p.get("until")) { $("until").value = p.get("until"); }
  }

  function start() {
    showError(null);
    if (!token()) { showError("Enter an analyst token (journey tokens create NAME) to start."); return; }
    periodFromHash();
    loadChoices().then(openHash).then(loadEvents).catch(showError);
  }

  // The live pane: while it is open, the latest accepted events and dead letters every 2 s.
  function showLive(body) {
    var rows = $("live-rows");
    rows.innerHTML = "";
    body.result.forEach(function (s) {
      var tr = document.createElement("tr");
      tr.className = s.kind + (s.device === "bot" ? " bot" : "");
      var what = s.kind === "dead_letter" ? "refused (" + s.stage + ")" : s.type;
      var name = s.kind === "dead_letter" ? s.reason : s.event;
      var device = s.device === "bot" ? "bot (left out of reports)" : s.device;
      [s.at, what, name, s.person, s.source, device].forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      });
      rows.appendChild(tr);
    });
    var said = (body.warnings || []).map(function (w) { return w.message; }).join(" ");
    $("live-status").textContent = said || (body.result.length ? "" : "Nothing yet: send an event.");
    $("live").dataset.ready = String(Date.now());
  }

  function pollLive() {
    if (!$("live").open || !token()) { return; }
    api("/api/v1/live?limit=50").then(showLive)
      .catch(function (error) { $("live-status").textContent = String(error.message || error); });
  }
  $("live").addEventListener("toggle", pollLive);
  setInterval(pollLive, 2000);

  $("use-token").addEventListener("click", function () {
    localStorage.setItem(TOKEN, $("token").value.trim());
    $("token").value = "";
    start();
  });
  $("kind").addEventListener("change", showKind);
  $("since").addEventListener("change", function () { loadEvents().catch(showError); });
  $("all-time").addEventListener("change", function () {
    $("since").disabled = $("all-time").checked;
    loadEvents().catch(showError);
  });
  $("until").addEventListener("change", function () { loadEvents().catch(showError); });
  $("run").addEventListener("click", run);
  $("save").addEventListener("click", save);
  $("share").addEventListener("click", share);
  window.addEventListener("hashchange", openHash);
  start();
})();
