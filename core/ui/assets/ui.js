// xend's pages work without this script; it only adds live updates from the event
// stream (GET /xend/event, Server-Sent Events): the overview's domain rows are fetched
// again (server-rendered, /ui/fragment/domains) after domain events, the events page
// lists each event as it comes, and a domain page shows a running save's, restore's or
// migration's progress. No framework.
'use strict';
(function () {
  function say(text) {
    var live = document.getElementById('live');
    if (live) live.textContent = text;
  }

  function domainRows(tbody) {
    var url = tbody.getAttribute('data-refresh');
    var pending = null, held = false, wanted = false, leaving = false;
    // Rows are never replaced under a press (a click whose button vanished between its
    // mousedown and mouseup would be lost) nor once a form is submitted.
    tbody.addEventListener('pointerdown', function () { held = true; });
    document.addEventListener('pointerup', function () {
      setTimeout(function () { held = false; if (wanted) refresh(); }, 0);
    });
    tbody.addEventListener('submit', function () { leaving = true; });
    function refresh() {
      pending = null;
      if (leaving) return;
      if (held) { wanted = true; return; }
      wanted = false;
      fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { tbody.innerHTML = html; say('Updated ' + new Date().toLocaleTimeString()); })
        .catch(function () { say('Could not refresh the table; reload the page.'); });
    }
    var es = new EventSource('/xend/event?follow=1&format=sse&pattern=xend.domain.*');
    es.onopen = function () { say('Live'); };
    es.onmessage = function () {
      // A burst of events (a create emits several) costs one fetch.
      if (!pending && !leaving) pending = setTimeout(refresh, 150);
    };
    es.onerror = function () { say('Reconnecting to the event stream...'); };
  }

  function eventList(tbody) {
    var es = new EventSource(tbody.getAttribute('data-stream'));
    es.onopen = function () { say('Live'); };
    es.onmessage = function (m) {
      var e;
      try { e = JSON.parse(m.data).event; } catch (x) { return; }
      var tr = document.createElement('tr');
      [e.seq === undefined ? '' : String(e.seq), e.name || '', JSON.stringify(e.value)].forEach(function (t) {
        var td = document.createElement('td');
        td.textContent = t; // text, never markup: an event's value may hold anything
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    };
    es.onerror = function () { say('Reconnecting to the event stream...'); };
  }

  // xend.domain.progress's value, as JSON: {"NAME": [ID, OP, ["done", D], ["total", T], ["percent", P]]}
  function progress(el) {
    var name = el.getAttribute('data-domain');
    var es = new EventSource('/xend/event?follow=1&format=sse&pattern=xend.domain.progress');
    es.onopen = function () { el.setAttribute('data-live', 'yes'); };
    es.onmessage = function (m) {
      var v;
      try { v = JSON.parse(m.data).event.value[name]; } catch (x) { return; }
      if (!Array.isArray(v)) return;
      var at = {};
      v.slice(2).forEach(function (kv) { if (Array.isArray(kv)) at[kv[0]] = kv[1]; });
      el.textContent = v[1] + ': ' + at.percent + '% (' + at.done + ' of ' + at.total + ' pages)';
    };
  }

  document.addEventListener('DOMContentLoaded', function () {
    var pr = document.getElementById('progress');
    if (pr && pr.getAttribute('data-domain') && window.EventSource) progress(pr);
    var d = document.getElementById('domains');
    if (d && d.getAttribute('data-refresh') && window.EventSource) domainRows(d);
    var ev = document.getElementById('events');
    if (ev && ev.getAttribute('data-stream') && window.EventSource) eventList(ev);
  });
})();
