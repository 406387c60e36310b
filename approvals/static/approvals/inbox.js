// The inbox: keyboard shortcuts and error responses shown in place.
// a: approve, r: reject, j/k: next/previous task. No inline scripts (CSP).
(() => {
  const typing = (el) =>
    el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

  const links = () => Array.from(document.querySelectorAll("[data-task-link]"));

  function move(step) {
    const all = links();
    if (!all.length) return;
    const current = all.findIndex((a) => a.getAttribute("aria-current") === "true");
    const next = all[Math.min(Math.max(current + step, 0), all.length - 1)];
    if (next) {
      next.click();
      next.focus();
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(document.activeElement)) return;
    const key = event.key.toLowerCase();
    if (key === "a" || key === "r") {
      const button = document.querySelector(
        `[data-decision-form] [data-decision="${key === "a" ? "approve" : "reject"}"]`,
      );
      if (button && !button.disabled) {
        event.preventDefault();
        button.click();
      }
    } else if (key === "j" || key === "k") {
      event.preventDefault();
      move(key === "j" ? 1 : -1);
    }
  });

  // A refused decision (400, 403, 409) carries the explanation: show it.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const status = event.detail.xhr.status;
    if ([400, 403, 409].includes(status) && event.detail.target.id === "task-detail") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Keep the selection highlighted in the list and the detail in view.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "task-detail") return;
    const detail = document.getElementById("task-detail");
    if (detail && !detail.contains(document.activeElement)) detail.focus({ preventScroll: true });
  });
})();
