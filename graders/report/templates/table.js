// Sorting and filtering of the submissions table, in plain JavaScript with no dependencies.
// Inlined into the static index.html (so it works from file://) and served to the review app.
// It reads only data attributes that the templates write; it never builds HTML from strings,
// so a submission id or answer can never become markup here.
(function () {
  "use strict";
  var table = document.querySelector("table[data-table=submissions]");
  var form = document.querySelector("form[data-filter=submissions]");
  if (!table || !form) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var shown = document.querySelector("[data-shown]");

  function cellValue(row, key) {
    var cell = row.querySelector("[data-key='" + key + "']");
    return cell ? cell.getAttribute("data-value") || "" : "";
  }

  function sortBy(button) {
    var key = button.getAttribute("data-sort");
    var numeric = button.hasAttribute("data-numeric");
    var th = button.closest("th");
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[aria-sort]").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var sorted = rows.slice().sort(function (a, b) {
      var x = cellValue(a, key), y = cellValue(b, key);
      var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
      return ascending ? order : -order;
    });
    sorted.forEach(function (row) { body.appendChild(row); });
  }

  function matches(row, filter) {
    if (filter.q && row.getAttribute("data-submission").toLowerCase().indexOf(filter.q.toLowerCase()) < 0) return false;
    if (filter.check && filter.status && cellValue(row, filter.check) !== filter.status) return false;
    if (!filter.check && filter.status && row.getAttribute("data-status") !== filter.status &&
        (row.getAttribute("data-check-statuses") || "").split(" ").indexOf(filter.status) < 0) return false;
    if (filter.misconception && (row.getAttribute("data-misconceptions") || "").split(" ").indexOf(filter.misconception) < 0) return false;
    return true;
  }

  function currentFilter() {
    return { q: form.elements.q.value.trim(), check: form.elements.check.value,
             status: form.elements.status.value, misconception: form.elements.misconception.value };
  }

  function apply() {
    var filter = currentFilter(), count = 0;
    rows.forEach(function (row) {
      var keep = matches(row, filter);
      row.hidden = !keep;
      if (keep) count += 1;
    });
    if (shown) shown.textContent = count + " of " + rows.length + " shown";
    var params = new URLSearchParams(location.search);
    Object.keys(filter).forEach(function (name) {
      if (filter[name]) params.set(name, filter[name]); else params.delete(name);
    });
    try { history.replaceState(null, "", "?" + params.toString()); } catch (e) { /* file:// in some browsers */ }
  }

  // The filter starts from the address (a misconception link is "?misconception=NAME").
  var initial = new URLSearchParams(location.search);
  ["q", "check", "status", "misconception"].forEach(function (name) {
    var field = form.elements[name], value = initial.get(name);
    if (!value) return;
    if (field.tagName === "SELECT" && !Array.prototype.some.call(field.options, function (o) { return o.value === value; })) return;
    field.value = value;
  });
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  table.querySelectorAll("button[data-sort]").forEach(function (button) {
    button.addEventListener("click", function () { sortBy(button); });
  });
  apply();
})();
