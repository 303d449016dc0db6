/*
 * journey.js: the website tracking snippet. Built into collector/static/journey.min.js by
 * scripts/build-snippet and served by the collector at /js/journey.js.
 *
 * Delivery: every event gets a messageId (retries never double count) and each attempt a fresh
 * sentAt (the collector corrects the clock skew). Events wait in a bounded queue kept in
 * localStorage, so offline periods and reloads lose nothing; they are sent in small batches as
 * text/plain (no CORS preflight), retried with backoff on network errors, 5xx and 429, and
 * dropped on any other 4xx. On pagehide the queue goes out with sendBeacon and stays queued
 * until a later page confirms it: a repeat is harmless, a loss is not.
 * A batch stays under 60,000 bytes: Chromium refuses a keepalive request (and a beacon) above
 * 64 KiB, and would otherwise retry the same batch forever. An event alone above that is sent
 * without keepalive (while the page is open).
 * Calls take analytics.js's arguments: identify([userId], [traits], [options], [callback]),
 * track(event, [properties], [options], [callback]), page([category], [name], [properties],
 * [options], [callback]), group(groupId, [traits], ...), alias(userId, [previousId]).
 * Identity: the anonymous id lives in a first-party cookie on the registrable domain (www. and
 * shop. share a visitor; crossSubdomain: false keeps it to the host) and in localStorage. With
 * cookieless: true, no cookie: one visitor per tab session (sessionStorage).
 * Personalization: segments(callback) asks the collector which public segments the visitor is in;
 * experiment(key, callback) which variant of an experiment to show them, and its content (one
 * request for both per page). Handing a variant over sends "Experiment Viewed" once per
 * experiment in this browser.
 * Privacy: Do Not Track, Global Privacy Control and optOut() stop all sending; form field
 * values are never read.
 */
(function (w, d) {
  "use strict";
  var VERSION = "1.3.0";
  var P = "journey_";
  var MAX_QUEUE = 500;
  var BATCH = 20;
  var LIMIT = 60000; // bytes of one request: a keepalive fetch or a beacon may carry 64 KiB
  var SESSION_MS = 30 * 60 * 1000;
  var CLICK_IDS = ["gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "ttclid", "twclid", "li_fat_id"];
  var cfg = { flushMs: 1000, autoPage: true, cookieless: false, respectDNT: true, crossSubdomain: true };
  var memory = {};
  var queue = [];
  var timer = 0;
  var sending = false;
  var backoff = 0;
  var lastUrl = "";
  var cookieDomain;

  function storage(name) {
    try {
      var s = w[name];
      s.setItem(P + "t", "1");
      s.removeItem(P + "t");
      return s;
    } catch (e) {
      return null;
    }
  }
  var local = storage("localStorage");
  var tab = storage("sessionStorage");

  function get(key) {
    var store = cfg.cookieless ? tab : local;
    if (!store) return memory[key] === undefined ? null : memory[key];
    try {
      return store.getItem(P + key);
    } catch (e) {
      return null;
    }
  }

  function set(key, value) {
    var store = cfg.cookieless ? tab : local;
    if (!store) {
      memory[key] = value;
      return;
    }
    try {
      if (value === null) store.removeItem(P + key);
      else store.setItem(P + key, value);
    } catch (e) {
      memory[key] = value;
    }
  }

  // The registrable domain: the highest one that takes a cookie (a public suffix never does).
  function registrable() {
    var parts = location.hostname.split(".");
    if (!cfg.crossSubdomain || /^[\d.]+$|:/.test(location.hostname)) return "";
    for (var i = parts.length - 2; i >= 0; i--) {
      var dom = ";domain=" + parts.slice(i).join(".") + ";path=/";
      d.cookie = P + "d=1" + dom;
      if (d.cookie.indexOf(P + "d=1") >= 0) {
        d.cookie = P + "d=" + dom + ";max-age=0";
        return dom.slice(0, -7);
      }
    }
    return "";
  }

  function cookie(name, value) {
    if (cfg.cookieless) return null;
    if (value !== undefined) {
      if (cookieDomain === undefined) cookieDomain = registrable();
      d.cookie = P + name + "=" + encodeURIComponent(value) + cookieDomain + ";path=/;max-age=31536000;SameSite=Lax" +
        (location.protocol === "https:" ? ";Secure" : "");
      return value;
    }
    var match = d.cookie.match(new RegExp("(?:^|; )" + P + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  function uuid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === "x" ? r : (r & 3) | 8).toString(16);
    });
  }

  function anonymousId() {
    var id = cookie("aid") || get("aid") || uuid();
    cookie("aid", id);
    set("aid", id);
    return id;
  }

  function session() {
    var now = Date.now();
    var s = JSON.parse(get("session") || "null");
    if (!s || now - s.at > SESSION_MS) s = { id: uuid(), campaign: null };
    s.at = now;
    var params = new URLSearchParams(location.search);
    var campaign = {};
    var found = false;
    ["source", "medium", "campaign", "term", "content"].forEach(function (k) {
      var v = params.get("utm_" + k);
      if (v) {
        campaign[k === "campaign" ? "name" : k] = v;
        found = true;
      }
    });
    CLICK_IDS.forEach(function (k) {
      var v = params.get(k);
      if (v) {
        campaign[k] = v;
        found = true;
      }
    });
    if (found) s.campaign = campaign; // kept for the rest of the session
    set("session", JSON.stringify(s));
    return s;
  }

  function optedOut() {
    var choice = get("consent");
    if (choice === "out") return true;
    if (choice === "in") return false;
    return cfg.respectDNT && (navigator.doNotTrack === "1" || w.doNotTrack === "1" || navigator.globalPrivacyControl === true);
  }

  function context() {
    var s = session();
    var ctx = {
      library: { name: "journey.js", version: VERSION },
      page: { url: location.href, path: location.pathname, search: location.search, title: d.title, referrer: d.referrer },
      userAgent: navigator.userAgent,
      locale: navigator.language,
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      screen: { width: screen.width, height: screen.height },
      sessionId: s.id,
    };
    if (s.campaign) ctx.campaign = s.campaign;
    return ctx;
  }

  function persist() {
    set("queue", JSON.stringify(queue));
  }

  // analytics.js's arguments: ids and names are strings (or numbers), then the objects
  // (properties or traits, then options), and a callback anywhere.
  function parse(args) {
    var a = { s: [], o: [], f: null };
    for (var i = 0; i < args.length; i++) {
      var v = args[i];
      if (typeof v === "function") a.f = v;
      else if (v && typeof v === "object") a.o.push(v);
      else if (v !== null && v !== undefined && v !== "") a.s.push(String(v));
    }
    return a;
  }

  function enqueue(type, fields, a) {
    var opts = a.o[1] || {};
    if (a.f) setTimeout(a.f, 300); // as analytics.js: once queued, at the latest after 300 ms
    if (optedOut() || !cfg.writeKey) return;
    var at = new Date(opts.timestamp || Date.now());
    var ctx = context();
    for (var c in opts.context) ctx[c] = opts.context[c];
    var message = { type: type, messageId: uuid(), anonymousId: opts.anonymousId || anonymousId(), timestamp: (isNaN(at) ? new Date() : at).toISOString(), context: ctx };
    if (opts.integrations) message.integrations = opts.integrations;
    var userId = get("uid");
    if (userId) message.userId = userId;
    for (var k in fields) if (fields[k] !== undefined) message[k] = fields[k];
    queue.push(message);
    if (queue.length > MAX_QUEUE) queue.splice(0, queue.length - MAX_QUEUE);
    persist();
    schedule(cfg.flushMs);
  }

  function bytes(text) {
    return w.TextEncoder ? new TextEncoder().encode(text).length : text.length * 3;
  }

  // The next batch: at most BATCH events and LIMIT bytes (an event alone above it goes alone).
  function take(list) {
    var batch = [];
    var total = 200;
    for (var i = 0; i < list.length && batch.length < BATCH; i++) {
      total += bytes(JSON.stringify(list[i])) + 1;
      if (batch.length && total > LIMIT) break;
      batch.push(list[i]);
    }
    return batch;
  }

  function schedule(ms) {
    if (!timer) timer = setTimeout(function () {
      timer = 0;
      flush();
    }, ms);
  }

  function body(batch) {
    return JSON.stringify({ batch: batch, sentAt: new Date().toISOString(), writeKey: cfg.writeKey });
  }

  function remove(batch) {
    var sent = {};
    batch.forEach(function (m) {
      sent[m.messageId] = 1;
    });
    queue = queue.filter(function (m) {
      return !sent[m.messageId];
    });
    persist();
  }

  function flush() {
    if (sending || !queue.length) return;
    if (optedOut()) {
      queue = [];
      persist();
      return;
    }
    var batch = take(queue);
    var text = body(batch);
    sending = true;
    fetch(cfg.host + "/v1/batch", { method: "POST", body: text, headers: { "Content-Type": "text/plain" }, keepalive: bytes(text) < LIMIT, credentials: "omit" })
      .then(function (r) {
        sending = false;
        if (r.status >= 500 || r.status === 429) return retry();
        remove(batch); // delivered, or refused for good (4xx): never sent again
        backoff = 0;
        if (queue.length) schedule(0);
      })
      .catch(function () {
        sending = false;
        retry();
      });
  }

  function retry() {
    backoff = Math.min(backoff ? backoff * 2 : 1000, 60000);
    schedule(backoff + Math.random() * 500);
  }

  function beacon() {
    if (!queue.length || optedOut() || !navigator.sendBeacon) return;
    for (var rest = queue, batch; rest.length; rest = rest.slice(batch.length)) {
      batch = take(rest);
      navigator.sendBeacon(cfg.host + "/v1/batch", new Blob([body(batch)], { type: "text/plain" }));
    }
  }

  function page() {
    var a = parse(arguments);
    var fields = { name: a.s[a.s.length - 1] || d.title, properties: a.o[0] || {} };
    if (a.s.length > 1) fields.category = a.s[0];
    lastUrl = location.href;
    enqueue("page", fields, a);
  }

  function autoPage() {
    if (cfg.autoPage && location.href !== lastUrl) page();
  }

  function onClick(event) {
    var el = event.target && event.target.closest && event.target.closest("[data-journey-event]");
    if (!el) return;
    var properties = {};
    for (var key in el.dataset) {
      if (key.indexOf("journeyProp") === 0 && key.length > 11) {
        properties[key.charAt(11).toLowerCase() + key.slice(12)] = el.dataset[key];
      }
    }
    api.track(el.dataset.journeyEvent, properties);
  }

  var asked = null; // this page's answer of /v1/segments: segments and experiments
  function personal() {
    if (asked) return asked;
    if (optedOut() || !cfg.writeKey || !w.fetch) return Promise.resolve({});
    var url = cfg.host + "/v1/segments?writeKey=" + encodeURIComponent(cfg.writeKey) +
      "&anonymousId=" + encodeURIComponent(anonymousId());
    asked = fetch(url, { credentials: "omit" })
      .then(function (r) {
        return r.ok ? r.json() : {};
      })
      .catch(function () {
        asked = null; // offline: ask again next time
        return {};
      });
    return asked;
  }

  function expose(key, found) {
    if (get("xp:" + key) === found.variant) return; // told already, from this browser
    set("xp:" + key, found.variant);
    api.track("Experiment Viewed", {
      experiment: key,
      variant: found.variant,
      segment: found.segment,
    });
  }

  var api = {
    init: function (options) {
      for (var k in options) cfg[k] = options[k];
      cfg.host = String(cfg.host || "").replace(/\/$/, "");
      queue = JSON.parse(get("queue") || "[]");
      if (queue.length) schedule(0); // left by an earlier page: offline, closed, or beaconed
      if (cfg.autoPage) page();
    },
    page: page,
    track: function () {
      var a = parse(arguments);
      if (a.s[0]) enqueue("track", { event: a.s[0], properties: a.o[0] || {} }, a);
    },
    identify: function () {
      var a = parse(arguments);
      if (a.s[0]) set("uid", a.s[0]);
      enqueue("identify", { traits: a.o[0] || {} }, a);
    },
    group: function () {
      var a = parse(arguments);
      if (a.s[0]) enqueue("group", { groupId: a.s[0], traits: a.o[0] || {} }, a);
    },
    alias: function () {
      var a = parse(arguments);
      a.o.unshift({});
      if (a.s[0]) enqueue("alias", { userId: a.s[0], previousId: a.s[1] || get("uid") || anonymousId() }, a);
    },
    reset: function () {
      set("uid", null);
      set("session", null);
      cookie("aid", uuid());
      set("aid", null);
    },
    optOut: function () {
      set("consent", "out");
      queue = [];
      persist();
    },
    optIn: function () {
      set("consent", "in");
    },
    // The visitor's public segments (those the site owner marked public), for personalization:
    // callback(["vip", ...]); [] when there are none, when offline, or when the visitor opted out.
    segments: function (callback) {
      var done = typeof callback === "function" ? callback : function () {};
      personal().then(function (b) {
        done(b.segments || []);
      });
    },
    // An experiment's variant for this visitor: callback({variant, segment, content}), or
    // callback(null) when it is not meant for them (not running, another segment, offline,
    // opted out). Handing it over is the exposure ("Experiment Viewed", once per experiment in
    // this browser); with {exposure: false}, call exposed(key) when the content is shown.
    experiment: function (key, callback, options) {
      var done = typeof callback === "function" ? callback : function () {};
      personal().then(function (b) {
        var found = (b.experiments || {})[key] || null;
        if (found && !(options && options.exposure === false)) expose(key, found);
        done(found);
      });
    },
    exposed: function (key) {
      personal().then(function (b) {
        var found = (b.experiments || {})[key];
        if (found) expose(key, found);
      });
    },
    flush: flush,
    version: VERSION,
  };

  var pending = w.journey;
  w.journey = api;
  ["pushState", "replaceState"].forEach(function (method) {
    var original = history[method];
    history[method] = function () {
      var result = original.apply(this, arguments);
      autoPage();
      return result;
    };
  });
  w.addEventListener("popstate", autoPage);
  w.addEventListener("hashchange", autoPage);
  w.addEventListener("pagehide", beacon);
  d.addEventListener("visibilitychange", function () {
    if (d.visibilityState === "hidden") beacon();
  });
  d.addEventListener("click", onClick, true);
  if (pending && pending.length) {
    pending.forEach(function (call) {
      api[call[0]].apply(api, call.slice(1));
    });
  }
})(window, document);
