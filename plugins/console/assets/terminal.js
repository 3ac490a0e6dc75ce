// The terminal page of a console (docs/console-web.md): xterm.js fed by the console's
// Server-Sent Events, keystrokes sent back by POST. Served by the console plugin at
// /xend/console/assets/terminal.js; the page's #terminal element carries the console's
// port and the form token that a browser's POST must carry.
(function () {
  'use strict';
  var el = document.getElementById('terminal');
  var status = document.getElementById('status');
  var base = '/xend/console/' + encodeURIComponent(el.dataset.port);
  var term = new Terminal({ cols: 100, rows: 32, scrollback: 5000, cursorBlink: true });
  term.open(el);
  term.focus();
  window.xendTerm = term; // the browser test reads the buffer through it

  function say(text) { status.textContent = text; }

  // Output: base64 events; the id is the output offset, so a reconnect asks only for what
  // it missed (since=ID) instead of the whole history again.
  var last = -1;
  function connect() {
    var es = new EventSource(base + '/stream' + (last >= 0 ? '?since=' + last : ''));
    es.onopen = function () { say('Connected.'); };
    es.onmessage = function (e) {
      var bin = atob(e.data);
      var bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      term.write(bytes); // xterm decodes UTF-8 across events itself
      if (e.lastEventId) last = Number(e.lastEventId);
    };
    es.onerror = function () {
      es.close();
      say('Disconnected; reconnecting...');
      setTimeout(connect, 1000);
    };
  }
  connect();

  // Input: one POST at a time, so keystrokes reach the guest in order; what is typed
  // meanwhile goes with the next one.
  var pending = '';
  var sending = false;
  function flush() {
    if (sending || pending === '') return;
    var body = new URLSearchParams();
    body.set('op', 'input');
    body.set('data', pending);
    body.set(el.dataset.field, el.dataset.token);
    pending = '';
    sending = true;
    fetch(base, { method: 'POST', body: body, credentials: 'same-origin' })
      .then(function (r) {
        return r.text().then(function (t) {
          if (!r.ok || t.indexOf('xend.err') >= 0) say('Input refused: ' + r.status + ' ' + t);
        });
      })
      .catch(function (err) { say('Input failed: ' + err); })
      .then(function () { sending = false; flush(); });
  }
  term.onData(function (d) { pending += d; flush(); });
})();
