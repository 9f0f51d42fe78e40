// Grade by question: the rubric's items, edited in the page. A new item or a new line is saved at
// once; new points are first asked about (GET …/effect: how many marks apply the item, by how much
// the total moves), then saved with "confirm": true when the grader clicks Apply. The marks that
// moved reach the answer groups through the page's poll (review.js). Text is only set as textContent.
(function () {
  "use strict";
  var panel = document.querySelector("[data-rubric]");
  if (!panel) return;
  var url = panel.getAttribute("data-url");

  function itemUrl(form) { return url + "/" + encodeURIComponent(form.getAttribute("data-key")); }

  // Every answer group's box for this item shows its new line and points.
  function showItem(item) {
    document.querySelectorAll("input[name=item][value='" + item.key + "']").forEach(function (box) {
      var label = box.closest("label");
      box.setAttribute("data-item-points", String(item.points));
      label.querySelector("[data-item-text]").textContent = item.text;
      label.querySelector("[data-item-shown]").textContent = (item.points >= 0 ? "+" : "") + item.points;
    });
  }

  function edit(form, body) {
    var state = form.querySelector("[data-state]");
    form.querySelector("[data-confirm]").hidden = true;
    body.version = parseInt(form.getAttribute("data-version"), 10);
    window.review.say(state, "saving…", true);
    return window.review.send("PUT", itemUrl(form), body).then(function (data) {
      form.setAttribute("data-version", String(data.item.version));
      form.setAttribute("data-points", String(data.item.points));
      form.setAttribute("data-text", data.item.text);
      showItem(data.item);
      window.review.say(state, data.changed ? "saved; " + data.changed + " mark" + (data.changed === 1 ? "" : "s") + " changed" : "saved", true);
      window.reviewLive.poll();
    }, function (error) { window.review.say(state, "not saved: " + error.message, false); });
  }

  panel.querySelectorAll("form[data-item-edit][data-key]").forEach(function (form) {
    var confirm = form.querySelector("[data-confirm]");
    var pending = null;  // the change waiting for Apply
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {};
      if (form.elements.text.value !== form.getAttribute("data-text")) body.text = form.elements.text.value;
      var points = parseFloat(form.elements.points.value);
      if (points !== parseFloat(form.getAttribute("data-points"))) body.points = points;
      if (!("text" in body) && !("points" in body)) { window.review.say(form.querySelector("[data-state]"), "nothing changed", true); return; }
      if (!("points" in body)) { edit(form, body); return; }
      // New points: say what they do to the marks given, and ask first.
      window.review.send("GET", itemUrl(form) + "/effect?points=" + encodeURIComponent(String(points))).then(function (effect) {
        if (!effect.affected) { edit(form, body); return; }
        pending = body;
        form.querySelector("[data-effect]").textContent = effect.affected + " mark" + (effect.affected === 1 ? "" : "s") + " apply this item; " +
          effect.changed + " would change, " + (effect.total_change >= 0 ? "+" : "") + effect.total_change + " points in all. Apply?";
        confirm.hidden = false;
        form.querySelector("[data-apply]").focus();
      }, function (error) { window.review.say(form.querySelector("[data-state]"), "not saved: " + error.message, false); });
    });
    form.querySelector("[data-apply]").addEventListener("click", function () {
      if (!pending) return;
      var body = pending;
      pending = null;
      body.confirm = true;
      edit(form, body);
    });
    form.querySelector("[data-cancel]").addEventListener("click", function () {
      pending = null;
      confirm.hidden = true;
      form.elements.points.value = form.getAttribute("data-points");
      window.review.say(form.querySelector("[data-state]"), "not changed", true);
    });
  });

  // A new item: every answer group needs its box, so the page reloads once it is saved.
  var add = panel.querySelector("form[data-item-add]");
  add.addEventListener("submit", function (event) {
    event.preventDefault();
    var state = add.querySelector("[data-state]");
    window.review.send("POST", url, { text: add.elements.text.value, points: parseFloat(add.elements.points.value) }).then(function () {
      window.location.reload();
    }, function (error) { window.review.say(state, "not saved: " + error.message, false); });
  });
})();
