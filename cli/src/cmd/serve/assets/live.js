// Tallinn Mechanism dashboard: live updates. Vendored, no libraries.
// Listens to /api/v1/stream (server-sent events, data {"position": N, "digest": "..."});
// when the position differs from the page's (<body data-position>), fetches
// the same URL again and swaps <main id="content"> and the footer. Without
// the stream (or without this script) the page is complete as served.
(function () {
  'use strict';
  if (!window.EventSource || !window.fetch || !window.DOMParser) { return; }

  var MIN_DELAY = 2000, MAX_DELAY = 60000, MAX_FAILURES = 6;
  var delay = MIN_DELAY, failures = 0, opened = false;
  var busy = false, again = false, source = null, timer = null;

  function pagePosition() {
    return document.body ? document.body.getAttribute('data-position') : null;
  }

  function swap(id, doc) {
    var fresh = doc.getElementById(id), here = document.getElementById(id);
    if (fresh && here) { here.innerHTML = fresh.innerHTML; }
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { headers: { 'Accept': 'text/html' }, cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, 'text/html');
        swap('content', doc);
        swap('footer', doc);
        var p = doc.body && doc.body.getAttribute('data-position');
        if (p !== null && p !== undefined) { document.body.setAttribute('data-position', p); }
      })
      .catch(function () { /* the page stays as it is */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  function retry() {
    failures += 1;
    // Never connected: stop after a few tries (no stream on this server).
    if (!opened && failures >= MAX_FAILURES) { return; }
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, MAX_DELAY);
  }

  function connect() {
    timer = null;
    if (source) { return; }
    try {
      source = new EventSource('/api/v1/stream');
    } catch (e) {
      retry();
      return;
    }
    source.onopen = function () { opened = true; failures = 0; delay = MIN_DELAY; };
    source.onmessage = function (ev) {
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      if (!data || data.position === undefined || data.position === null) { return; }
      if (String(data.position) !== pagePosition()) { refresh(); }
    };
    source.onerror = function () {
      if (source) { source.close(); source = null; }
      retry();
    };
  }

  window.addEventListener('pagehide', function () {
    if (source) { source.close(); source = null; }
    if (timer) { clearTimeout(timer); timer = null; }
  });
  window.addEventListener('pageshow', function (e) {
    if (e.persisted && !source && !timer) { delay = MIN_DELAY; failures = 0; connect(); }
  });
  connect();
})();
