import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/base.css";
import "./canvas.css";
import { App } from "./components/App";
import { initEditor, loadEditor } from "./state/store";
import type { CanvasConfig } from "./lib/types";

function readConfig(): CanvasConfig {
  const element = document.getElementById("canvas-config");
  const raw = element?.textContent ? JSON.parse(element.textContent) : {};
  return {
    workflowId: String(raw.workflowId ?? ""),
    workspace: String(raw.workspace ?? ""),
    apiBase: raw.apiBase ?? "/api/v1/",
    wsBase: raw.wsBase ?? "/ws/",
    csrfToken: raw.csrfToken ?? "",
    canEdit: !!raw.canEdit,
    canRun: !!raw.canRun,
    canPublish: !!raw.canPublish,
    publishNeedsReview: !!raw.publishNeedsReview,
    user: raw.user ?? { id: 0, username: "" },
    mode: raw.mode === "run" ? "run" : "edit",
    runId: raw.runId ?? null,
    editorUrl: raw.editorUrl,
  };
}

/** The canvas owns the height below whatever the page puts above it. */
function fitToViewport(root: HTMLElement): void {
  const update = () => root.style.setProperty("--bt-header-height", `${Math.max(0, root.getBoundingClientRect().top + window.scrollY)}px`);
  update();
  window.addEventListener("resize", update);
}

const root = document.getElementById("canvas-root");
if (root) {
  fitToViewport(root);
  initEditor(readConfig());
  createRoot(root).render(<App />);
  void loadEditor();
}
