import { getNodesBounds, getViewportForBounds } from "@xyflow/react";
import { useEditor } from "../state/store";

/** Fit the whole graph in view after the canvas got a new graph (import,
 * restoring a version). React Flow's fitView fits the nodes it has measured,
 * and the new ones are not measured yet (with many nodes, most never are):
 * the bounds come from the store's nodes and their declared sizes instead.
 * Never zooms in past 100 %. */
export function fitAfterReplace(): void {
  requestAnimationFrame(() => {
    const { flow, nodes } = useEditor.getState();
    const pane = document.querySelector(".bt-canvas")?.getBoundingClientRect();
    if (!flow || !pane || pane.width === 0 || nodes.length === 0) return;
    const viewport = getViewportForBounds(getNodesBounds(nodes), pane.width, pane.height, 0.1, 1, 0.15);
    void flow.setViewport(viewport, { duration: 300 });
  });
}
