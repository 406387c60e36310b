/** Dev page only (npm run dev): builds the canvas-config that Django's
 * editor view renders, from the URL (?workflow=<uuid>&workspace=demo
 * [&readonly=1][&run=<id>]) and the CSRF cookie, then starts the island. */
const params = new URLSearchParams(window.location.search);
const csrf = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/)?.[1] ?? "";
const readOnly = params.get("readonly") === "1";
const config = {
  workflowId: params.get("workflow") ?? "",
  workspace: params.get("workspace") ?? "demo",
  apiBase: "/api/v1/",
  wsBase: "/ws/",
  csrfToken: decodeURIComponent(csrf),
  canEdit: !readOnly,
  canRun: true,
  canPublish: !readOnly,
  user: { id: 0, username: "dev" },
  mode: params.get("run") ? "run" : "edit",
  runId: params.get("run"),
  editorUrl: `/?workflow={id}&workspace=${params.get("workspace") ?? "demo"}`,
};
const script = document.createElement("script");
script.type = "application/json";
script.id = "canvas-config";
script.textContent = JSON.stringify(config);
document.body.appendChild(script);
void import("./main");
