import {
  Background,
  BackgroundVariant,
  ConnectionLineType,
  Controls,
  MiniMap,
  ReactFlow,
  SelectionMode,
  useNodesInitialized,
  type OnSelectionChangeParams,
} from "@xyflow/react";
import { useCallback, useEffect, useRef, type DragEvent } from "react";
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
  const edges = useEditor((s) => s.edges);
  const readOnly = useEditor((s) => s.readOnly);
  const flow = useEditor((s) => s.flow);
  const initialized = useNodesInitialized();
  const fitted = useRef(false);

  // Fit once the nodes have their real sizes (the fitView prop can run before the layout settles).
  useEffect(() => {
    if (!initialized || !flow || fitted.current) return;
    fitted.current = true;
    requestAnimationFrame(() => void flow.fitView({ padding: 0.15, maxZoom: 1 }));
  }, [initialized, flow]);

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
        onInit={(instance) => useEditor.setState({ flow: instance })}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        edgesReconnectable={false}
        elementsSelectable
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={["Shift", "Meta", "Control"]}
        selectionMode={SelectionMode.Partial}
        selectionOnDrag={false}
        panOnDrag
        connectionLineType={ConnectionLineType.SmoothStep}
        onlyRenderVisibleElements={nodes.length > VIRTUALIZE_ABOVE}
        minZoom={0.1}
        maxZoom={2}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
        proOptions={proOptions}
        ariaLabelConfig={{ "node.a11yDescription.default": "Press Enter or Space to select this node. Use the arrow keys to move it." }}
      >
        <Background variant={BackgroundVariant.Dots} gap={20} size={1} />
        <MiniMap<FlowNode> pannable zoomable nodeColor={minimapColor} ariaLabel="Mini map" />
        <Controls showInteractive={false} aria-label="Zoom controls" />
      </ReactFlow>
    </div>
  );
}
