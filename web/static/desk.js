// Keyboard shortcuts of the desk (no inline script: the CSP allows only this file).
// Queue: j / k move between rows, Enter or o opens the row, x ticks its checkbox.
// Anywhere: an element with data-shortcut="a" is clicked (a button) or focused (a field).
(function () {
  "use strict";
  var current = -1;
  function rows() {
    var table = document.querySelector("table[data-rows]");
    return table ? Array.prototype.slice.call(table.querySelectorAll("tbody tr")) : [];
  }
  function mark(list, i) {
    list.forEach(function (r) { r.classList.remove("current-row"); });
    if (i >= 0 && i < list.length) {
      list[i].classList.add("current-row");
      list[i].scrollIntoView({ block: "nearest" });
    }
  }
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    var list = rows();
    if (list.length && (ev.key === "j" || ev.key === "k")) {
      current = ev.key === "j" ? Math.min(current + 1, list.length - 1) : Math.max(current - 1, 0);
      mark(list, current);
      ev.preventDefault();
      return;
    }
    if (list.length && current >= 0 && (ev.key === "Enter" || ev.key === "o")) {
      var link = list[current].querySelector("a[href]");
      if (link) { window.location.href = link.href; ev.preventDefault(); }
      return;
    }
    if (list.length && current >= 0 && ev.key === "x") {
      var box = list[current].querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; ev.preventDefault(); }
      return;
    }
    var target = document.querySelector('[data-shortcut="' + ev.key + '"]');
    if (!target) return;
    ev.preventDefault();
    if (target.tagName === "BUTTON") target.click(); else target.focus();
  });
})();
