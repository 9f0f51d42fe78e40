// The review app's own script: who is reviewing, and sending changes to the JSON API.
// Changes carry the token in an Authorization header (the CSRF protection: see auth.py) and the
// reviewer's name in X-Reviewer. Text from the server is only ever set as textContent.
(function () {
  "use strict";
  var token = document.querySelector("meta[name=review-token]").content;
  var fixedReviewer = document.querySelector("meta[name=review-reviewer]").content;

  function reviewer() {
    if (fixedReviewer) return fixedReviewer;
    var name = localStorage.getItem("a10-reviewer") || "";
    while (!name.trim()) {
      name = window.prompt("Your name, recorded with every mark and override:") || "";
    }
    localStorage.setItem("a10-reviewer", name.trim());
    return name.trim();
  }

  function send(method, url, body) {
    var init = { method: method, headers: { "Authorization": "Bearer " + token, "X-Reviewer": reviewer() } };
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
