// The review app's own script: who is reviewing, and sending changes to the JSON API.
// Changes carry the token in an Authorization header (the CSRF protection: see auth.py) and the
// reviewer's name in X-Reviewer. Text from the server is only ever set as textContent.
(function () {
  "use strict";
  var token = document.querySelector("meta[name=review-token]").content;
  var fixedReviewer = document.querySelector("meta[name=review-reviewer]").content;

  function reviewer() {
    if (fixedReviewer) return fixedReviewer;
    var name = (localStorage.getItem("a10-reviewer") || "").trim();
    if (!name) {
      name = (window.prompt("Your name, recorded with every mark and override:") || "").trim();
      if (!name) throw new Error("say who you are (your name is recorded with every change)");
      localStorage.setItem("a10-reviewer", name);
    }
    return name;
  }

  function send(method, url, body) {
    var who;
    try { who = reviewer(); } catch (error) { return Promise.reject(error); }
    var init = { method: method, headers: { "Authorization": "Bearer " + token, "X-Reviewer": encodeURIComponent(who) } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.error || ("HTTP " + response.status));
        return data;
      });
    });
  }

  function say(element, text, ok) {
    element.textContent = text;
    element.className = ok ? "saved" : "save-error";
  }

  window.review = { send: send, say: say, reviewer: reviewer };

  var box = document.querySelector("[data-reviewer-box]");
  if (box && !fixedReviewer && localStorage.getItem("a10-reviewer")) {
    box.textContent = "reviewing as " + localStorage.getItem("a10-reviewer");
  }
})();

// Grade by question: immediate saves, keyboard moves between unmarked answers.
(function () {
  "use strict";
  var groups = Array.prototype.slice.call(document.querySelectorAll("[data-group]"));
  if (!groups.length) return;
  var current = null;

  function focus(group) {
    if (current) current.classList.remove("current");
    current = group;
    group.classList.add("current");
    group.scrollIntoView({ block: "center" });
    group.querySelector("input[name=points]").focus();
  }

  function move(step) {
    var start = current ? groups.indexOf(current) : (step > 0 ? -1 : groups.length);
    for (var i = start + step; i >= 0 && i < groups.length; i += step) {
      if (!groups[i].classList.contains("marked")) { focus(groups[i]); return; }
    }
  }

  function save(group) {
    var form = group.querySelector("form[data-mark]");
    var state = form.querySelector("[data-state]");
    var points = form.elements.points.value;
    if (points === "") return Promise.resolve(false);
    window.review.say(state, "saving…", true);
    var body = { submissions: JSON.parse(group.getAttribute("data-submissions")), points: parseFloat(points), comment: form.elements.comment.value };
    return window.review.send("PUT", form.getAttribute("data-url"), body).then(function () {
      group.classList.add("marked");
      window.review.say(state, "saved", true);
      return true;
    }, function (error) {
      window.review.say(state, "not saved: " + error.message, false);
      return false;
    });
  }

  groups.forEach(function (group) {
    var form = group.querySelector("form[data-mark]");
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.elements.points.addEventListener("change", function () { save(group); });
    form.elements.comment.addEventListener("change", function () { save(group); });
    form.addEventListener("focusin", function () {
      if (current !== group) { if (current) current.classList.remove("current"); current = group; group.classList.add("current"); }
    });
    form.elements.points.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      save(group).then(function (ok) { if (ok) move(1); });
    });
  });

  document.addEventListener("keydown", function (event) {
    var inField = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if ((event.altKey && event.key === "ArrowDown") || (!inField && event.key === "j")) { event.preventDefault(); move(1); }
    if ((event.altKey && event.key === "ArrowUp") || (!inField && event.key === "k")) { event.preventDefault(); move(-1); }
  });
})();

// The student page: override a check, or clear an override; the page reloads to show the new score.
(function () {
  "use strict";
  document.querySelectorAll("form[data-override]").forEach(function (form) {
    var state = form.querySelector(".state");
    function done(promise) {
      promise.then(function () {
        window.review.say(state, "saved", true);
        window.location.reload();
      }, function (error) { window.review.say(state, "not saved: " + error.message, false); });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      done(window.review.send("PUT", form.getAttribute("data-url"), { score: parseFloat(form.elements.score.value), reason: form.elements.reason.value }));
    });
    var clear = form.querySelector("[data-clear]");
    if (clear) clear.addEventListener("click", function () { done(window.review.send("DELETE", form.getAttribute("data-url"))); });
  });
})();
