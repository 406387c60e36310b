// Small behaviours for the htmx pages. No inline scripts: the CSP forbids them.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-switch-url]");
  if (!select) return;
  const form = select.form;
  form.action = select.dataset.switchUrl.replace("SLUG", encodeURIComponent(select.value));
  form.submit();
});
