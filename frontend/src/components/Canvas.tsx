import {
  Background,
  BackgroundVariant,
  ConnectionLineType,
  Controls,
  MiniMap,
  ReactFlow,
  SelectionMode,
  type OnSelectionChangeParams,
  type ReactFlowInstance,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { liveEdges } from "../live/edges";
import { isBatonNode, type FlowEdge, type FlowNode } from "../lib/graph";
import { statusMeta } from "../lib/status";
import {
  addNode,
  connect,
  isValidConnection,
  onEdgesChange,
  onNodesChange,
  setSelection,
  useEditor,
} from "../state/store";
import { BatonNode } from "./BatonNode";
import { StickyNode } from "./StickyNode";

export const NODE_DRAG_TYPE = "application/x-baton-node-type";

const nodeTypes = { baton: BatonNode, sticky: StickyNode };
const defaultEdgeOptions = { type: "smoothstep", interactionWidth: 16 };
const proOptions = { hideAttribution: false };
const fitViewOptions = { padding: 0.15, maxZoom: 1 };
/** How many nodes a large workflow opens on (the trigger and what follows it). */
const ENTRY_NODES = 24;

/** Large workflows open at a readable zoom on their entry (the trigger and
 * the nodes after it) rather than fitting hundreds of unreadable nodes: it is
 * what people look at first, and only the visible nodes get mounted. Shift+1
 * fits everything; the minimap shows the whole. */
function initialFitOptions(nodes: FlowNode[], edges: FlowEdge[]) {
  if (nodes.length <= VIRTUALIZE_ABOVE) return fitViewOptions;
  const { catalog } = useEditor.getState();
  const triggers = nodes.filter((n) => isBatonNode(n) && catalog.get(n.data.spec.type)?.is_trigger).map((n) => n.id);
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.source, [...(next.get(e.source) ?? []), e.target]);
  const picked = new Set<string>(triggers.length ? triggers : [nodes[0].id]);
  let frontier = [...picked];
  while (frontier.length && picked.size < ENTRY_NODES) {
    frontier = frontier.flatMap((id) => next.get(id) ?? []).filter((id) => !picked.has(id));
    for (const id of frontier) if (picked.size < ENTRY_NODES) picked.add(id);
  }
  return { padding: 0.1, maxZoom: 1, minZoom: 0.55, nodes: [...picked].map((id) => ({ id })) };
}
const multiSelectionKeys = ["Shift", "Meta", "Control"];
const ariaLabels = {
  "node.a11yDescription.default": "Press Enter or Space to select this node. Use the arrow keys to move it.",
};
const onInit = (instance: ReactFlowInstance<FlowNode, FlowEdge>) => useEditor.setState({ flow: instance });
/** Past this many nodes, only the visible ones are mounted. */
const VIRTUALIZE_ABOVE = 150;

function minimapColor(node: FlowNode): string {
  if (node.type === "sticky") return "var(--color-warning)";
  const step = useEditor.getState().stepsByNode[node.id];
  if (step) return statusMeta(step.status).color;
  return useEditor.getState().issuesByNode[node.id]?.some((i) => i.level === "error") ? "var(--color-danger)" : "var(--color-muted)";
}

function onSelectionChange({ nodes, edges }: OnSelectionChangeParams<FlowNode, FlowEdge>) {
  setSelection(
    nodes.filter((n) => isBatonNode(n) || n.type === "sticky").map((n) => n.id),
    edges.map((e) => e.id),
  );
}

export function Canvas() {
  const nodes = useEditor((s) => s.nodes);
  const graphEdges = useEditor((s) => s.edges);
  const stepsByNode = useEditor((s) => s.stepsByNode);
  const edges = useMemo(() => liveEdges(graphEdges, stepsByNode), [graphEdges, stepsByNode]);
  const readOnly = useEditor((s) => s.readOnly);
  const flow = useEditor((s) => s.flow);
  const marked = useRef(false);
  // Decided once, when the canvas first shows the workflow.
  const [openFit] = useState(() => initialFitOptions(nodes, edges));

  // For the benchmark (bench/canvas): the first frame that shows the workflow.
  useEffect(() => {
    if (marked.current || !flow) return;
    marked.current = true;
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark("baton:canvas-ready")));
  }, [flow]);

  const onDragOver = useCallback((event: DragEvent) => {
    if (!event.dataTransfer.types.includes(NODE_DRAG_TYPE)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  }, []);

  const onDrop = useCallback(
    (event: DragEvent) => {
      const typeKey = event.dataTransfer.getData(NODE_DRAG_TYPE);
      if (!typeKey || !flow) return;
      event.preventDefault();
      const position = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      addNode(typeKey, { x: Math.round(position.x - 110), y: Math.round(position.y - 30) });
    },
    [flow],
  );

  return (
    <div className="bt-canvas" onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow<FlowNode, FlowEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        defaultEdgeOptions={defaultEdgeOptions}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={connect}
        isValidConnection={isValidConnection}
        onSelectionChange={onSelectionChange}
        onInit={onInit}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        edgesReconnectable={false}
        elementsSelectable
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={multiSelectionKeys}
        selectionMode={SelectionMode.Partial}
        selectionOnDrag={false}
        panOnDrag
        connectionLineType={ConnectionLineType.SmoothStep}
        onlyRenderVisibleElements={nodes.length > VIRTUALIZE_ABOVE}
        minZoom={0.1}
        maxZoom={2}
        fitView
        fitViewOptions={openFit}
        proOptions={proOptions}
        ariaLabelConfig={ariaLabels}
      >
        <Background variant={BackgroundVariant.Dots} gap={20} size={1} />
        <MiniMap<FlowNode> pannable zoomable nodeColor={minimapColor} ariaLabel="Mini map" />
        <Controls showInteractive={false} aria-label="Zoom controls" />
      </ReactFlow>
    </div>
  );
}
