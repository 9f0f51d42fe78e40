// The review app's own script: who is reviewing, and sending changes to the JSON API.
// Changes carry the token in an Authorization header (the CSRF protection: see auth.py) and the
// reviewer's name in X-Reviewer. Text from the server is only ever set as textContent.
(function () {
  "use strict";
  var token = document.querySelector("meta[name=review-token]").content;
  var fixedReviewer = document.querySelector("meta[name=review-reviewer]").content;

  function reviewer() {
    if (fixedReviewer) return fixedReviewer;
    var name = (localStorage.getItem("grader-reviewer") || "").trim();
    if (!name) {
      name = (window.prompt("Your name, recorded with every mark and override:") || "").trim();
      if (!name) throw new Error("say who you are (your name is recorded with every change)");
      localStorage.setItem("grader-reviewer", name);
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
        if (!response.ok) {
          var error = new Error(data.error || ("HTTP " + response.status));
          error.status = response.status;
          throw error;
        }
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
  if (box && !fixedReviewer && localStorage.getItem("grader-reviewer")) {
    box.textContent = "reviewing as " + localStorage.getItem("grader-reviewer");
  }
})();

// Counts that move without a reload: every page polls the server for the marking progress (a
// cheap answer when nothing changed: `?since=REVISION`), the grade-by-question page for each
// student's mark too. Polling rather than a stream: nothing to keep open, and a page that was
// asleep or lost the server simply catches up on its next poll.
(function () {
  "use strict";
  var EVERY_MS = 2000;
  var board = document.querySelector("[data-groups]");
  var url = board ? board.getAttribute("data-url") : "/api/progress";
  var revision = "";  // the first poll fills every counter (the navigation's are not rendered by the server)
  var timer = null;
  var busy = false;  // one poll at a time: an answer never overtakes a newer one
  var again = false;
  var listeners = [];

  function showProgress(data) {
    document.querySelectorAll("[data-progress-for]").forEach(function (element) {
      var counts = data.questions[element.getAttribute("data-progress-for")];
      if (!counts) return;
      element.textContent = element.getAttribute("data-progress-style") === "long"
        ? counts.marked + " of " + counts.students + " students marked" + (counts.changed ? " (" + counts.changed + " changed since marked)" : "")
        : counts.marked + "/" + counts.students;
    });
    var pending = document.querySelector("[data-testid=pending]");
    if (pending) pending.textContent = String(data.pending);
  }

  function poll() {
    clearTimeout(timer);
    if (busy) { again = true; return; }
    if (document.hidden) { timer = setTimeout(poll, EVERY_MS); return; }  // a tab in the background waits
    busy = true;
    var headers = { "Authorization": "Bearer " + document.querySelector("meta[name=review-token]").content };
    fetch(url + "?since=" + encodeURIComponent(revision), { headers: headers }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (data && data.questions) {
        revision = data.revision;
        showProgress(data);
        listeners.forEach(function (listener) { listener(data); });
      }
    }).then(next, next);  // the server away, or anything else: the next poll catches up
  }

  function next() {
    busy = false;
    if (again) { again = false; poll(); } else { timer = setTimeout(poll, EVERY_MS); }
  }

  poll();
  window.reviewLive = { poll: poll, listen: function (listener) { listeners.push(listener); } };
})();

// Grade by question: immediate saves (exactly one per change), keyboard moves between unmarked
// answers, split and merge, other graders' marks as they land. Each member's mark and its version
// (the mark's id, 0 when unmarked) live in data attributes of its link; every save names the
// versions it was made from, so a mark someone else saved meanwhile is refused (409), not overwritten.
(function () {
  "use strict";
  var board = document.querySelector("[data-groups]");
  if (!board) return;
  var current = null;

  function groups() { return Array.prototype.slice.call(board.querySelectorAll("[data-group]")); }
  function members(group) { return Array.prototype.slice.call(group.querySelectorAll("[data-member]")); }
  function formOf(group) { return group.querySelector("form[data-mark]"); }
  function pending(member) { return member.getAttribute("data-pending") === "true"; }
  function pointsOf(member) {
    var points = member.getAttribute("data-points");
    return points === "" ? "" : String(parseFloat(points));
  }
  // A mark as the page compares it: points, comment, and the rubric items with the adjustment ("*": plain points).
  function markOf(member) {
    var items = member.getAttribute("data-items");
    return [pointsOf(member), member.getAttribute("data-comment"), items, items === "*" ? "" : String(parseFloat(member.getAttribute("data-adjustment")))].join("\u0000");
  }
  // The rubric items ticked in a group's form, and the adjustment; null when it marks with plain points.
  function applied(form) {
    if (!form.itemised) return null;
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=item]"));
    var adjustment = form.elements.adjustment ? parseFloat(form.elements.adjustment.value || "0") : 0;
    return { items: boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; }), adjustment: adjustment };
  }
  // What ticked items and the adjustment add up to, kept between 0 and the question's points (as the server does).
  function total(form, chosen) {
    var sum = chosen.adjustment;
    chosen.items.forEach(function (key) { sum += parseFloat(form.querySelector("input[name=item][value='" + key + "']").getAttribute("data-item-points")); });
    return Math.min(parseFloat(form.elements.points.max), Math.max(0, Math.round(sum * 1e4) / 1e4));
  }
  // The form shows a mark's items: ticked boxes, the adjustment, the points they give.
  function showItems(form, items, adjustment) {
    form.itemised = items !== null;
    form.querySelectorAll("input[name=item]").forEach(function (box) { box.checked = items !== null && items.indexOf(box.value) >= 0; });
    if (form.elements.adjustment) form.elements.adjustment.value = items !== null && adjustment ? String(adjustment) : "";
  }
  function itemsOf(member) {
    var items = member.getAttribute("data-items");
    return items === "*" ? null : (items ? items.split(",") : []);
  }
  function versions(list) {
    var found = {};
    list.forEach(function (member) { found[member.getAttribute("data-submission")] = parseInt(member.getAttribute("data-version"), 10); });
    return found;
  }
  // The answers as this page shows them (a tag of each): a save of an answer a regrade changed since is refused.
  function shownAnswers(list) {
    var found = {};
    list.forEach(function (member) { found[member.getAttribute("data-submission")] = member.getAttribute("data-answer"); });
    return found;
  }

  // The group's look from its members' marks: marked (all current), one shared mark in the boxes,
  // or each student's mark listed when they differ. The boxes are left alone once typed in, until saved.
  function render(group) {
    var list = members(group);
    var marked = list.every(function (m) { return !pending(m); });
    var shared = list.every(function (m) { return m.getAttribute("data-by") && markOf(m) === markOf(list[0]); });
    group.classList.toggle("marked", marked);
    group.querySelector("[data-size]").textContent = list.length + (list.length === 1 ? " answer" : " answers");
    group.querySelector("[data-split]").hidden = list.length < 2;
    var form = formOf(group);
    // Nor while a save is on its way: a poll answered before it landed would untick what was just ticked.
    if (!group.dirty && !group.busy) {
      form.elements.points.value = shared ? pointsOf(list[0]) : "";
      form.elements.comment.value = shared ? list[0].getAttribute("data-comment") : "";
      showItems(form, shared ? itemsOf(list[0]) : null, shared ? parseFloat(list[0].getAttribute("data-adjustment")) : 0);
    }
    var status = group.querySelector("[data-status]");
    var stale = list.filter(function (m) { return m.getAttribute("data-stale") === "true"; }).length;
    status.textContent = (shared ? "marked by " + list[0].getAttribute("data-by") : "") +
      (stale ? (shared ? "; " : "") + stale + " changed since marked" : "");
    // A suggestion stands only while every answer of the group is unmarked.
    var suggestion = group.querySelector("[data-suggestion]");
    if (suggestion) suggestion.hidden = !list.every(pending);
    var mixed = group.querySelector("[data-mixed]");
    mixed.textContent = "";
    mixed.hidden = shared || list.every(pending);
    if (!mixed.hidden) {
      list.forEach(function (m) {
        var item = document.createElement("li");
        var comment = m.getAttribute("data-comment");
        item.textContent = m.getAttribute("data-submission") + ": " + (m.getAttribute("data-by")
          ? pointsOf(m) + " by " + m.getAttribute("data-by") + (comment ? " — " + comment : "") + (m.getAttribute("data-stale") === "true" ? " (answer changed since)" : "")
          : "not marked");
        mixed.appendChild(item);
      });
    }
  }

  function update(member, state) {
    var mark = state.mark;
    member.setAttribute("data-version", String(state.version));
    member.setAttribute("data-pending", String(state.pending));
    member.setAttribute("data-stale", String(state.stale));
    member.setAttribute("data-points", mark ? String(mark.points) : "");
    member.setAttribute("data-comment", mark ? mark.comment : "");
    member.setAttribute("data-by", mark ? mark.by : "");
    member.setAttribute("data-items", mark && mark.items ? mark.items.join(",") : "*");
    member.setAttribute("data-adjustment", mark ? String(mark.adjustment) : "0");
  }

  window.reviewLive.listen(function (data) {
    groups().forEach(function (group) {
      var outdated = false;
      members(group).forEach(function (member) {
        var state = data.members[member.getAttribute("data-submission")];
        if (!state) return;
        update(member, state);
        outdated = outdated || state.answer !== member.getAttribute("data-answer");
      });
      render(group);
      if (outdated) window.review.say(group.querySelector("[data-state]"), "an answer here changed since this page loaded (a regrade): reload to see it", false);
    });
  });

  function focus(group) {
    if (current) current.classList.remove("current");
    current = group;
    group.classList.add("current");
    group.scrollIntoView({ block: "center" });
    formOf(group).elements.points.focus();
  }

  function move(step) {
    var all = groups();
    var start = current ? all.indexOf(current) : (step > 0 ? -1 : all.length);
    for (var i = start + step; i >= 0 && i < all.length; i += step) {
      if (!all[i].classList.contains("marked")) { focus(all[i]); return; }
    }
    // None left that way: after the last group, the way on is the next question.
    var next = document.querySelector("[data-next-question]");
    if (step > 0 && next) { next.focus(); next.scrollIntoView({ block: "center" }); }
  }

  // One save per change: saves of a group run one after another, and one is skipped when the boxes
  // say what the group already has (Enter saves, then leaving the box fires "change": no second save).
  function save(group) {
    group.queue = (group.queue || Promise.resolve(true)).then(function () { return saveNow(group); });
    return group.queue;
  }

  function saveNow(group) {
    var form = formOf(group);
    var state = form.querySelector("[data-state]");
    var chosen = applied(form);
    if (chosen) form.elements.points.value = String(total(form, chosen));
    var points = form.elements.points.value;
    if (points === "") return Promise.resolve(false);
    var list = members(group);
    var wanted = [String(parseFloat(points)), form.elements.comment.value, chosen ? chosen.items.join(",") : "*", chosen ? String(chosen.adjustment) : ""].join("\u0000");
    if (list.every(function (m) { return !pending(m) && markOf(m) === wanted; })) {
      group.editBase = null;
      group.dirty = false;
      return Promise.resolve(true);
    }
    var base = group.editBase || versions(list);
    group.busy = true;
    group.dirty = false;  // typing from here on is newer than this save
    window.review.say(state, "saving…", true);
    var body = {
      submissions: list.map(function (m) { return m.getAttribute("data-submission"); }),
      points: parseFloat(points), comment: form.elements.comment.value, versions: base, answers: shownAnswers(list)
    };
    if (chosen) { body.items = chosen.items; body.adjustment = chosen.adjustment; }
    if (chosen && group.accepting) body.suggested = true;
    return window.review.send("PUT", form.getAttribute("data-url"), body).then(function (data) {
      group.busy = false;
      group.editBase = null;
      list.forEach(function (m) {
        var mark = data.marks[m.getAttribute("data-submission")];
        update(m, { version: mark.version, pending: false, stale: false, mark: mark });
      });
      render(group);
      window.review.say(state, "saved", true);
      window.reviewLive.poll();
      return true;
    }, function (error) {
      group.busy = false;
      // Not saved: the boxes keep what was typed. A stale save: the poll shows what is there now,
      // and saving again (now knowing) replaces it.
      group.dirty = true;
      if (error.status === 409) { group.editBase = null; window.reviewLive.poll(); }
      window.review.say(state, "not saved: " + error.message, false);
      return false;
    });
  }

  function wire(group) {
    var form = formOf(group);
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    // The versions a save names are those the grader saw when starting to type (not while a save of theirs is on its way).
    form.addEventListener("input", function () {
      group.dirty = true;
      if (!group.editBase && !group.busy) group.editBase = versions(members(group));
    });
    form.elements.points.addEventListener("change", function () { save(group); });
    // Typing points is a mark of plain points; a click on an item, or an adjustment, a mark made of items (each one save).
    form.elements.points.addEventListener("input", function () { showItems(form, null, 0); });
    form.querySelectorAll("input[name=item]").forEach(function (box) {
      box.addEventListener("change", function () { form.itemised = true; save(group); });
    });
    if (form.elements.adjustment) form.elements.adjustment.addEventListener("change", function () { form.itemised = true; save(group); });
    form.elements.comment.addEventListener("change", function () { save(group); });
    form.addEventListener("focusin", function () {
      if (current !== group) { if (current) current.classList.remove("current"); current = group; group.classList.add("current"); }
    });
    form.elements.points.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      save(group).then(function (ok) { if (ok) move(1); });
    });
    group.querySelector("[data-split]").addEventListener("click", function () { split(group); });
    var accept = group.querySelector("[data-accept]");
    if (accept) accept.addEventListener("click", function () { acceptSuggestion(group); });
    var takeOut = group.querySelector("[data-take-out]");
    if (takeOut) takeOut.addEventListener("click", function () { takeOutOfMeaning(group); });
  }

  // Accept: the suggested items ticked (no adjustment) and saved as one mark, which says it was the suggestion.
  function acceptSuggestion(group) {
    var suggestion = group.querySelector("[data-suggestion]");
    if (!suggestion || suggestion.hidden) return Promise.resolve(false);
    var items = suggestion.getAttribute("data-items");
    showItems(formOf(group), items ? items.split(",") : [], 0);
    group.accepting = true;
    return save(group).then(function (ok) {
      group.accepting = false;
      if (ok) move(1);
      return ok;
    });
  }

  // The most informative answer to mark (the server's pick, data-informative): the unmarked one without a suggestion
  // with the most such answers near it in meaning. Suggestions and the pick are the server's, so once it is marked
  // the page is reloaded (to #informative, which goes to the new pick).
  function informativeNext() {
    var pick = board.querySelector("[data-group][data-informative]");
    if (pick && !pick.classList.contains("marked")) { focus(pick); return; }
    if (window.location.hash === "#informative" && !pick) {
      window.review.say(document.querySelector("[data-tools-state]"), "no unmarked answer without a suggestion is left", true);
      return;
    }
    window.location.hash = "informative";
    window.location.reload();
  }
  var informative = document.querySelector("[data-informative-next]");
  if (informative) informative.addEventListener("click", informativeNext);

  // Regrouping by meaning is kept in the gradebook (POST .../meaning): a text group, named by its first student,
  // taken out of its gathering (with: null) or put with another's.
  function regroup(group, withGroup) {
    var url = board.getAttribute("data-url").replace(/\/marks$/, "/meaning");
    var first = function (g) { return members(g)[0].getAttribute("data-submission"); };
    return window.review.send("POST", url, { submission: first(group), "with": withGroup ? first(withGroup) : null });
  }

  // Take out: a group leaves its gathering by meaning for one of its own, just after it (kept: see regroup).
  function takeOutOfMeaning(group) {
    var say = document.querySelector("[data-tools-state]");
    regroup(group, null).then(function () { window.review.say(say, "taken out (kept)", true); },
      function (error) { window.review.say(say, "not kept: " + error.message, false); });
    var gathering = group.closest("[data-meaning]");
    var alone = document.createElement("div");
    alone.className = "meaning";
    alone.setAttribute("data-meaning", "");
    gathering.after(alone);
    alone.appendChild(group);
    group.querySelector("[data-take-out]").remove();
    var left = Array.prototype.slice.call(gathering.querySelectorAll("[data-group]"));
    var head = gathering.querySelector("[data-meaning-head]");
    if (left.length < 2) {
      if (head) head.remove();
      left.forEach(function (g) { var button = g.querySelector("[data-take-out]"); if (button) button.remove(); });
    } else {
      var size = left.reduce(function (sum, g) { return sum + members(g).length; }, 0);
      head.querySelector("[data-meaning-size]").textContent = size + " answers in " + left.length + " groups";
    }
    relabel();
  }

  function relabel() {
    groups().forEach(function (group, index) {
      var n = index + 1;
      group.setAttribute("aria-label", "Answer group " + n);
      group.querySelector("[data-pick]").setAttribute("aria-label", "Tick answer group " + n + " to merge it");
      formOf(group).elements.points.setAttribute("aria-label", "Points for answer group " + n);
      formOf(group).elements.comment.setAttribute("aria-label", "Comment for answer group " + n);
    });
  }

  // Split: one group per student, each a copy of the group with only that student left in it.
  function split(group) {
    var list = members(group);
    var after = group;
    list.slice(1).forEach(function (member) {
      var copy = group.cloneNode(true);
      copy.removeAttribute("data-informative");  // the pick stays with the first student's group
      keepOnly(copy, member.getAttribute("data-submission"));
      after.after(copy);
      after = copy;
      wire(copy);
      render(copy);
    });
    keepOnly(group, list[0].getAttribute("data-submission"));
    render(group);
    relabel();
  }

  function keepOnly(group, submission) {
    group.classList.remove("current");
    group.editBase = null;
    group.dirty = false;
    group.querySelector("[data-pick]").checked = false;
    group.querySelector("[data-state]").textContent = "";
    members(group).forEach(function (m) {
      if (m.getAttribute("data-submission") === submission) return;
      if (m.nextSibling && m.nextSibling.nodeType === Node.TEXT_NODE) m.nextSibling.remove();  // its ", "
      m.remove();
    });
    group.querySelectorAll("[data-changed]").forEach(function (c) { if (c.getAttribute("data-submission") !== submission) c.remove(); });
    group.querySelectorAll("[data-variant]").forEach(function (v) { if (!v.querySelector("[data-member]")) v.remove(); });
    var last = group.querySelector("[data-member]");
    if (last && last.nextSibling && last.nextSibling.nodeType === Node.TEXT_NODE) last.nextSibling.remove();
  }

  // Merge: the ticked groups' answers move into the first ticked one.
  document.querySelector("[data-merge]").addEventListener("click", function () {
    var ticked = groups().filter(function (g) { return g.querySelector("[data-pick]").checked; });
    var say = document.querySelector("[data-tools-state]");
    if (ticked.length < 2) { window.review.say(say, "tick two or more groups to merge them", false); return; }
    var into = ticked[0];
    var place = into.querySelector("[data-mixed]");
    ticked.slice(1).forEach(function (group) {
      group.querySelectorAll("[data-variant]").forEach(function (v) { into.insertBefore(v, place); });
      if (current === group) current = null;
      group.remove();
    });
    into.querySelector("[data-pick]").checked = false;
    // Its answers' suggestions may differ now: none is shown.
    var suggestion = into.querySelector("[data-suggestion]");
    if (suggestion) suggestion.remove();
    into.editBase = null;
    into.dirty = false;
    render(into);
    relabel();
    window.review.say(say, "merged " + ticked.length + " groups", true);
  });

  // Gather: the ticked groups join the first ticked one's gathering by meaning (kept); the page reloads to show it.
  var gather = document.querySelector("[data-gather]");
  if (gather) gather.addEventListener("click", function () {
    var ticked = groups().filter(function (g) { return g.querySelector("[data-pick]").checked; });
    var say = document.querySelector("[data-tools-state]");
    if (ticked.length < 2) { window.review.say(say, "tick two or more groups to gather them", false); return; }
    ticked.slice(1).reduce(function (done, group) {
      return done.then(function () { return regroup(group, ticked[0]); });
    }, Promise.resolve()).then(function () { window.location.reload(); },
      function (error) { window.review.say(say, "not gathered: " + error.message, false); });
  });

  // Every unmarked student with no answer gets 0 in one save.
  document.querySelector("[data-mark-empty]").addEventListener("click", function () {
    var say = document.querySelector("[data-tools-state]");
    var empty = Array.prototype.slice.call(board.querySelectorAll("[data-member][data-empty]")).filter(pending);
    if (!empty.length) { window.review.say(say, "no unmarked empty answers", true); return; }
    var body = {
      submissions: empty.map(function (m) { return m.getAttribute("data-submission"); }),
      points: 0, comment: "no answer", versions: versions(empty), answers: shownAnswers(empty)
    };
    window.review.say(say, "saving…", true);
    window.review.send("PUT", board.getAttribute("data-url"), body).then(function (data) {
      empty.forEach(function (m) {
        var mark = data.marks[m.getAttribute("data-submission")];
        update(m, { version: mark.version, pending: false, stale: false, mark: mark });
      });
      groups().forEach(render);
      window.review.say(say, "marked " + empty.length + " empty answer" + (empty.length === 1 ? "" : "s") + " 0", true);
      window.reviewLive.poll();
    }, function (error) {
      window.review.say(say, "not saved: " + error.message, false);
      window.reviewLive.poll();
    });
  });

  groups().forEach(function (group) { wire(group); render(group); });
  if (informative && window.location.hash === "#informative") informativeNext();

  document.addEventListener("keydown", function (event) {
    var inField = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if ((event.altKey && event.key === "ArrowDown") || (!inField && event.key === "j")) { event.preventDefault(); move(1); }
    if ((event.altKey && event.key === "ArrowUp") || (!inField && event.key === "k")) { event.preventDefault(); move(-1); }
    if (informative && !inField && event.key === "i" && !event.altKey && !event.ctrlKey && !event.metaKey) { event.preventDefault(); informativeNext(); }
    // a: accept the current group's suggestion, outside a box or in its points box (where a letter means nothing).
    var inPoints = current && document.activeElement === formOf(current).elements.points;
    if (event.key === "a" && !event.altKey && !event.ctrlKey && !event.metaKey && current && (!inField || inPoints)) {
      event.preventDefault();
      acceptSuggestion(current);
    }
  });
})();

// The student page: override a check, or clear an override; the page reloads to show the new score.
// Each change names the override it was made over (data-version), so one made meanwhile is never replaced unseen.
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
      var version = parseInt(form.getAttribute("data-version"), 10);
      done(window.review.send("PUT", form.getAttribute("data-url"), { score: parseFloat(form.elements.score.value), reason: form.elements.reason.value, version: version }));
    });
    var clear = form.querySelector("[data-clear]");
    if (clear) clear.addEventListener("click", function () {
      done(window.review.send("DELETE", form.getAttribute("data-url") + "?version=" + encodeURIComponent(form.getAttribute("data-version"))));
    });
  });
})();

// The class page's release button: `grader release` through POST /api/release (the token header, as
// every change), after the grader confirms what it sends; the page reloads to show the new state.
(function () {
  "use strict";
  var button = document.querySelector("[data-release]");
  if (!button) return;
  var state = document.querySelector("[data-release-state]");
  button.addEventListener("click", function () {
    var pending = parseInt(button.getAttribute("data-pending"), 10) || 0;
    var question = "Send every student their current grade and report?" +
      (pending ? " " + pending + " written answer(s) are not marked yet: those students are sent them as pending." : "");
    if (!window.confirm(question)) return;
    button.disabled = true;
    window.review.send("POST", "/api/release").then(function (data) {
      window.review.say(state, "released " + data.released + " grades", true);
      window.location.reload();
    }, function (error) {
      button.disabled = false;
      window.review.say(state, error.message, false);
    });
  });
})();
