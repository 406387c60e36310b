/** Where a node's handles are, computed instead of measured.
 *
 * React Flow mounts every node whose handles it has not measured yet, even
 * with onlyRenderVisibleElements, just to measure them: a 500-node workflow
 * would mount 500 nodes to show 40. Nodes have a fixed layout (canvas.css:
 * fixed row heights, status flags outside the box), so the handle positions
 * follow from the port list, and React Flow can skip the nodes it does not
 * show. Keep these numbers in step with canvas.css (`.bt-node` and rows). */
import type { NodeHandle } from "@xyflow/react";
import { Position } from "@xyflow/react";

export const NODE_BOX = {
  width: 240,
  borderTop: 3,
  border: 1,
  header: 28,
  sub: 16,
  portsGap: 6,
  portRow: 20,
  bottom: 8,
  handle: 12,
  /** centre of the input handle, from the top of the padding box */
  inputCenter: 22,
};

export function nodeHeight(portCount: number): number {
  const b = NODE_BOX;
  return b.borderTop + b.header + b.sub + b.portsGap + portCount * b.portRow + b.bottom + b.border;
}

export function handlesFor(ports: string[], hasInput: boolean): NodeHandle[] {
  const b = NODE_BOX;
  const half = b.handle / 2;
  const handles: NodeHandle[] = [];
  if (hasInput) {
    handles.push({ id: null, type: "target", position: Position.Left, x: b.border - half, y: b.borderTop + b.inputCenter - half, width: b.handle, height: b.handle });
  }
  const firstRow = b.borderTop + b.header + b.sub + b.portsGap;
  ports.forEach((port, i) => {
    handles.push({
      id: port,
      type: "source",
      position: Position.Right,
      x: b.width - b.border - half,
      y: firstRow + i * b.portRow + b.portRow / 2 - half,
      width: b.handle,
      height: b.handle,
    });
  });
  return handles;
}

/** True when `handles` already describe these ports (so the node can stay as it is). */
export function sameHandles(handles: NodeHandle[] | undefined, ports: string[], hasInput: boolean): boolean {
  if (!handles) return false;
  const sources = handles.filter((h) => h.type === "source").map((h) => h.id);
  const hasTarget = handles.some((h) => h.type === "target");
  return hasTarget === hasInput && sources.length === ports.length && sources.every((id, i) => id === ports[i]);
}
