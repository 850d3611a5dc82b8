/* The TV kiosk's remote control, rotation and recovery. Classic ES5 only (old TV engines:
   Tizen 2018 runs Chromium 56, webOS 2018-19 Chromium 53): no modules, no arrow functions,
   no let/const, no template literals. tests/web/test_kiosk.py parses it as ES5.

   - showcase: the slides rotate; any key stops the rotation and enters browse mode;
   - arrows move the focus to the nearest item in that direction (spatial navigation);
   - OK (Enter) opens; Back (10009 Tizen, 461 webOS, 8, 27) returns; pointer clicks work;
   - after a quiet period every screen returns to the rotating showcase;
   - the server is asked whether it answers before every page change, and the showcase
     refreshes its content in place: on failure the screen keeps what it shows and retries
     with backoff, so the TV never shows a browser error page. */
(function () {
  "use strict";

  var BACK_KEYS = { 10009: true, 461: true, 8: true, 27: true };
  var LEFT = 37, UP = 38, RIGHT = 39, DOWN = 40, ENTER = 13;
  var FIRST_RETRY_MS = 1000, LAST_RETRY_MS = 60000;

  var body = document.body;
  var screen = body.getAttribute("data-screen");
  var home = body.getAttribute("data-home") || "/kiosk";
  var health = body.getAttribute("data-health") || "/healthz";
  var idleMs = seconds(body.getAttribute("data-idle"), 90) * 1000;
  var reloadMs = seconds(body.getAttribute("data-reload-hours"), 6) * 3600 * 1000;
  var statusLine = document.getElementById("kiosk-status");
  var browsing = screen !== "showcase";
  var rotationTimer = null, idleTimer = null, refreshTimer = null;
  var retryTimers = {}, retryDelays = {}, retryActions = {}; // by what is retried: "go", "refresh"
  var current = 0;
  var startedAt = new Date().getTime();
  var leaving = false;

  function seconds(text, fallback) {
    var value = parseInt(text, 10);
    return isNaN(value) || value <= 0 ? fallback : value;
  }

  // --- talking to the server ---------------------------------------------------------------

  function get(url, done, failed) {
    var request = new XMLHttpRequest();
    var finished = false;
    function fail() {
      if (!finished) {
        finished = true;
        failed();
      }
    }
    request.open("GET", url, true);
    request.timeout = 10000;
    request.onload = function () {
      if (finished) {
        return;
      }
      if (request.status >= 200 && request.status < 300) {
        finished = true;
        done(request.responseText);
      } else {
        fail();
      }
    };
    request.onerror = fail;
    request.ontimeout = fail;
    request.onabort = fail;
    request.send(null);
  }

  function showStatus(shown) {
    if (statusLine) {
      statusLine.hidden = !shown;
    }
  }

  // Try *action* again later, each time waiting twice as long (up to a minute).
  function retryLater(name, action) {
    var delay = retryDelays[name] || FIRST_RETRY_MS;
    showStatus(true);
    clearTimeout(retryTimers[name]);
    retryActions[name] = action;
    retryTimers[name] = setTimeout(function () {
      delete retryActions[name];
      action();
    }, delay);
    retryDelays[name] = Math.min(delay * 2, LAST_RETRY_MS);
  }

  // The server answers again: whatever waits for it goes now.
  function connected() {
    var pending = retryActions;
    retryActions = {};
    retryDelays = {};
    showStatus(false);
    for (var name in pending) {
      if (pending.hasOwnProperty(name)) {
        clearTimeout(retryTimers[name]);
        pending[name]();
      }
    }
  }

  // Leave this screen only when the server answers, else stay and try again.
  function go(url, replace) {
    if (leaving) {
      return;
    }
    leaving = true;
    get(
      health + "?t=" + new Date().getTime(),
      function () {
        connected();
        if (url === "back") {
          window.history.back();
          setTimeout(function () {
            leaving = false;
          }, 3000);
        } else if (replace) {
          window.location.replace(url);
        } else {
          window.location.href = url;
        }
      },
      function () {
        leaving = false;
        retryLater("go", function () {
          go(url, replace);
        });
      }
    );
  }

  // --- spatial navigation ------------------------------------------------------------------

  function navigable() {
    var found = [];
    var all = document.querySelectorAll("[data-nav]");
    for (var i = 0; i < all.length; i++) {
      var box = all[i].getBoundingClientRect();
      if (box.width > 0 && box.height > 0) {
        found.push(all[i]);
      }
    }
    return found;
  }

  function focus(element) {
    var previous = document.querySelectorAll(".focused");
    for (var i = 0; i < previous.length; i++) {
      previous[i].classList.remove("focused");
    }
    if (element) {
      element.classList.add("focused");
      element.focus();
    }
  }

  function focusedItem(items) {
    for (var i = 0; i < items.length; i++) {
      if (items[i] === document.activeElement) {
        return items[i];
      }
    }
    return null;
  }

  function focusFirst() {
    var items = navigable();
    var chosen = null;
    var preferred = document.querySelector("[data-autofocus]");
    var slide = document.querySelector(".slide.current [data-nav]");
    if (preferred && preferred.getBoundingClientRect().width > 0) {
      chosen = preferred;
    } else if (slide && slide.getBoundingClientRect().width > 0) {
      chosen = slide;
    } else if (items.length) {
      chosen = items[0];
    }
    focus(chosen);
  }

  // The nearest item whose centre lies in the direction pressed; distance along the other
  // axis counts more, so that the focus moves along rows and columns.
  function move(key) {
    var items = navigable();
    var from = focusedItem(items);
    if (!from) {
      focusFirst();
      return;
    }
    var a = from.getBoundingClientRect();
    var ax = a.left + a.width / 2, ay = a.top + a.height / 2;
    var best = null, bestScore = Infinity;
    for (var i = 0; i < items.length; i++) {
      if (items[i] === from) {
        continue;
      }
      var b = items[i].getBoundingClientRect();
      var bx = b.left + b.width / 2, by = b.top + b.height / 2;
      var along, across;
      if (key === LEFT) {
        along = ax - bx;
        across = Math.abs(by - ay);
      } else if (key === RIGHT) {
        along = bx - ax;
        across = Math.abs(by - ay);
      } else if (key === UP) {
        along = ay - by;
        across = Math.abs(bx - ax);
      } else {
        along = by - ay;
        across = Math.abs(bx - ax);
      }
      if (along <= 1) {
        continue;
      }
      var score = along + 2 * across;
      if (score < bestScore) {
        bestScore = score;
        best = items[i];
      }
    }
    if (best) {
      focus(best);
    }
  }

  // --- the showcase ------------------------------------------------------------------------

  function showcaseElement() {
    return document.getElementById("kiosk-showcase");
  }

  function slides() {
    return document.querySelectorAll("[data-slide]");
  }

  function show(index) {
    var all = slides();
    var tabs = document.querySelectorAll("[data-tab]");
    if (!all.length) {
      return;
    }
    current = ((index % all.length) + all.length) % all.length;
    for (var i = 0; i < all.length; i++) {
      all[i].classList.toggle("current", i === current);
    }
    for (var j = 0; j < tabs.length; j++) {
      tabs[j].classList.toggle("current", tabs[j].getAttribute("data-tab") === all[current].getAttribute("data-slide"));
    }
  }

  function currentName() {
    var all = slides();
    return all.length ? all[Math.min(current, all.length - 1)].getAttribute("data-slide") : null;
  }

  function startRotation() {
    clearInterval(rotationTimer);
    var showcase = showcaseElement();
    var interval = showcase ? seconds(showcase.getAttribute("data-interval"), 12) : 12;
    rotationTimer = setInterval(function () {
      var showcase = showcaseElement();
      if (!browsing && showcase && showcase.getAttribute("data-night") !== "1") {
        show(current + 1);
      }
    }, interval * 1000);
  }

  function enterBrowsing() {
    browsing = true;
    body.classList.add("browsing");
    clearInterval(rotationTimer);
    focusFirst();
  }

  function leaveBrowsing() {
    browsing = false;
    body.classList.remove("browsing");
    focus(null);
    if (document.activeElement && document.activeElement.blur) {
      document.activeElement.blur();
    }
    startRotation();
  }

  function applyNight() {
    var showcase = showcaseElement();
    if (showcase) {
      showcase.classList.toggle("is-night", showcase.getAttribute("data-night") === "1");
    }
  }

  // Fetch fresh slides and swap them in; on failure keep the screen and retry with backoff.
  function refresh() {
    var content = document.getElementById("kiosk-content");
    if (!content) {
      return;
    }
    if (browsing || leaving) {
      scheduleRefresh();
      return;
    }
    get(
      content.getAttribute("data-source"),
      function (html) {
        connected();
        var name = currentName();
        content.innerHTML = html;
        var all = slides();
        var index = 0;
        for (var i = 0; i < all.length; i++) {
          if (all[i].getAttribute("data-slide") === name) {
            index = i;
          }
        }
        show(index);
        applyNight();
        startRotation();
        if (new Date().getTime() - startedAt > reloadMs) {
          go(window.location.href, true); // a fresh page now and then keeps memory flat
          return;
        }
        scheduleRefresh();
      },
      function () {
        retryLater("refresh", refresh);
      }
    );
  }

  function scheduleRefresh() {
    var content = document.getElementById("kiosk-content");
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, seconds(content && content.getAttribute("data-refresh"), 300) * 1000);
  }

  // --- reading -----------------------------------------------------------------------------

  var pages = document.getElementById("kiosk-pages");
  var page = 0;

  function pageWidth() {
    return pages.clientWidth + 128; // the column and the gap after it (kiosk.css)
  }

  function pageCount() {
    return Math.max(1, Math.ceil((pages.scrollWidth + 128) / pageWidth() - 0.01));
  }

  function showPage(index) {
    page = Math.max(0, Math.min(index, pageCount() - 1));
    pages.scrollLeft = page * pageWidth();
    var label = document.getElementById("kiosk-subpage");
    var where = document.getElementById("kiosk-where");
    if (label && pageCount() > 1) {
      label.textContent = " · " + where.getAttribute("data-label") + " " + (page + 1) + "/" + pageCount();
    }
    body.setAttribute("data-page", String(page + 1));
  }

  function turn(key) {
    var forward = key === RIGHT;
    if (pages) {
      if (forward && page < pageCount() - 1) {
        showPage(page + 1);
        return;
      }
      if (!forward && page > 0) {
        showPage(page - 1);
        return;
      }
    }
    var link = document.getElementById(forward ? "kiosk-next" : "kiosk-previous");
    if (link) {
      go(link.getAttribute("href"), true);
    }
  }

  // --- keys, pointer, idle -----------------------------------------------------------------

  function back() {
    if (screen === "showcase") {
      if (browsing) {
        leaveBrowsing();
      }
      return;
    }
    var target = body.getAttribute("data-back") || home;
    var referrer = document.referrer || "";
    var sameKiosk = referrer.indexOf(window.location.protocol + "//" + window.location.host + home) === 0;
    // A reader's Back goes to its book, not through every page turned.
    go(screen !== "reader" && sameKiosk && window.history.length > 1 ? "back" : target);
  }

  function quiet() {
    if (screen === "showcase") {
      if (browsing) {
        leaveBrowsing();
      }
    } else {
      go(home);
    }
  }

  function touched() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(quiet, idleMs);
  }

  document.addEventListener(
    "keydown",
    function (event) {
      var key = event.keyCode || event.which;
      var target = event.target;
      touched();
      if (screen === "showcase" && !browsing) {
        event.preventDefault();
        enterBrowsing();
        return;
      }
      if (BACK_KEYS[key]) {
        event.preventDefault();
        back();
      } else if (screen === "reader" && (key === LEFT || key === RIGHT)) {
        event.preventDefault();
        turn(key);
      } else if (key === LEFT || key === RIGHT || key === UP || key === DOWN) {
        event.preventDefault();
        move(key);
      } else if (key === ENTER) {
        event.preventDefault();
        if (target && target.getAttribute && target.getAttribute("data-back-link") !== null) {
          back();
        } else if (target && target.getAttribute && target.getAttribute("href")) {
          go(target.getAttribute("href"));
        } else {
          focusFirst();
        }
      }
    },
    false
  );

  document.addEventListener(
    "click",
    function (event) {
      var element = event.target;
      while (element && element !== body && !(element.getAttribute && element.getAttribute("href"))) {
        element = element.parentNode;
      }
      touched();
      if (element && element !== body && element.getAttribute("href")) {
        event.preventDefault();
        if (element.getAttribute("data-back-link") !== null) {
          back();
        } else {
          go(element.getAttribute("href"));
        }
      }
    },
    false
  );

  document.addEventListener(
    "mousemove",
    function () {
      touched();
    },
    false
  );

  if (screen === "showcase") {
    show(0);
    startRotation();
    scheduleRefresh();
  } else {
    body.classList.add("browsing");
    if (pages) {
      showPage(document.getElementById("kiosk-reader").getAttribute("data-at-end") ? 1000000 : 0);
    }
    focusFirst();
  }
  touched();
})();
