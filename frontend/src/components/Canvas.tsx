import {
  ConnectionLineType,
  ControlButton,
  Controls,
  MiniMap,
  ReactFlow,
  SelectionMode,
  useStore,
  useStoreApi,
  type OnSelectionChangeParams,
  type ReactFlowInstance,
} from "@xyflow/react";
import { useCallback, useEffect, useRef, useState, type DragEvent } from "react";
import { LiveEdge } from "../live/LiveEdge";
import { isBatonNode, type FlowEdge, type FlowNode } from "../lib/graph";
import { statusMeta } from "../lib/status";
import {
  addNode,
  connect,
  fitAll,
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
/** Replaces React Flow's smooth-step edge (the default type, below) with
 * one that shows the run's edge states. */
const edgeTypes = { smoothstep: LiveEdge };
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
const onFitAll = () => fitAll();
/** React Flow's "fit view" icon. */
const FIT_ICON =
  "M3.692 4.63c0-.53.4-.938.939-.938h5.215V0H4.708C2.13 0 0 2.054 0 4.63v5.216h3.692V4.631zM27.354 0h-5.2v3.692h5.17c.53 0 .984.4.984.939v5.215H32V4.631A4.624 4.624 0 0027.354 0zm.954 24.83c0 .532-.4.94-.939.94h-5.215v3.768h5.215c2.577 0 4.631-2.13 4.631-4.707v-5.139h-3.692v5.139zm-23.677.94c-.531 0-.939-.4-.939-.94v-5.138H0v5.139c0 2.577 2.13 4.707 4.708 4.707h5.138V25.77H4.631z";
const ariaLabels = {
  "node.a11yDescription.default": "Press Enter or Space to select this node. Use the arrow keys to move it.",
};
const onInit = (instance: ReactFlowInstance<FlowNode, FlowEdge>) => useEditor.setState({ flow: instance });
/** Below this zoom a node's text is too small to read: nodes show only
 * their title bar (and run status as colour) in a box of the same size,
 * without ports, handles or status label (canvas.css, .is-far). A whole
 * 500-node graph in view is then a few hundred boxes, not thousands of
 * elements to style, lay out and paint on every change. */
export const FAR_ZOOM = 0.3;
const isFar = (s: { transform: [number, number, number] }) => s.transform[2] < FAR_ZOOM;

/** Past this many nodes, only the visible ones are mounted. */
const VIRTUALIZE_ABOVE = 150;

function minimapColor(node: FlowNode): string {
  if (node.type === "sticky") return "var(--color-warning)";
  const step = useEditor.getState().stepsByNode[node.id];
  if (step) return statusMeta(step.status).color;
  return useEditor.getState().issuesByNode[node.id]?.some((i) => i.level === "error") ? "var(--color-danger)" : "var(--color-muted)";
}

/** How often, at most, the mini map recolours while step statuses change:
 * redrawing it is one long task over every node, so a big graph (where the
 * run view must keep 60 fps at 1,000 events a second: bench.runview) gets
 * it rarely. */
const MINIMAP_REFRESH_MS = 250;
const MINIMAP_REFRESH_LARGE_MS = 2000;

/* The mini map re-renders when the nodes change, but a run's statuses live
 * beside the nodes (`stepsByNode`), so without this it may keep showing
 * the statuses of before the run: it is given a new colour function when
 * they change, at most every MINIMAP_REFRESH_MS (MINIMAP_REFRESH_LARGE_MS
 * above VIRTUALIZE_ABOVE nodes). Only this component re-renders. */
function StatusMiniMap() {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let timer: number | null = null;
    const unsubscribe = useEditor.subscribe((state, previous) => {
      if (state.stepsByNode === previous.stepsByNode || timer !== null) return;
      const large = state.nodes.length > VIRTUALIZE_ABOVE;
      timer = window.setTimeout(() => {
        timer = null;
        setVersion((v) => v + 1);
      }, large ? MINIMAP_REFRESH_LARGE_MS : MINIMAP_REFRESH_MS);
    });
    return () => {
      unsubscribe();
      if (timer !== null) window.clearTimeout(timer);
    };
  }, []);
  const nodeColor = useCallback((node: FlowNode) => minimapColor(node), [version]); // eslint-disable-line react-hooks/exhaustive-deps
  return <MiniMap<FlowNode> pannable zoomable nodeColor={nodeColor} ariaLabel="Mini map" />;
}

/* While a selection box is drawn or nodes are dragged, the selection
 * changes (on most pointer moves of a box; on the first move of a drag,
 * which selects the dragged node). The nodes show it at once (their
 * `selected` prop); the side panel follows when the gesture ends, so it
 * does not mount a node's settings (with a "Connect to…" list of every
 * node: a long frame in a big workflow) in the middle of the gesture. */
let gesture = false;
let pendingSelection: OnSelectionChangeParams<FlowNode, FlowEdge> | null = null;

function commitSelection({ nodes, edges }: OnSelectionChangeParams<FlowNode, FlowEdge>) {
  setSelection(
    nodes.filter((n) => isBatonNode(n) || n.type === "sticky").map((n) => n.id),
    edges.map((e) => e.id),
  );
}

function onSelectionChange(params: OnSelectionChangeParams<FlowNode, FlowEdge>) {
  if (gesture) pendingSelection = params;
  else commitSelection(params);
}

function onGestureStart() {
  gesture = true;
}

function onGestureEnd() {
  gesture = false;
  if (pendingSelection) commitSelection(pendingSelection);
  pendingSelection = null;
}

/** Space between the background's dots at 100 %, and the narrowest
 * spacing on screen at which they are still drawn (below, they are a haze). */
const GRID_GAP = 20;
const GRID_MIN_GAP = 6;

/** The dotted background. React Flow's <Background> is an SVG pattern over
 * the whole pane that a pan moves by changing the pattern, which redraws
 * every dot of the pane on every frame (in software that was most of a
 * pan frame). This is a CSS pattern on a layer of its own (canvas.css,
 * .bt-grid) that a pan only shifts (a transform, within one dot spacing),
 * so the compositor pans it; it is redrawn only when the zoom changes.
 * Styles are set from a store subscription, not by re-rendering. */
function DotGrid() {
  const ref = useRef<HTMLDivElement>(null);
  const store = useStoreApi<FlowNode, FlowEdge>();
  useEffect(() => {
    let shown = "";
    let size = "";
    let shift = "";
    const apply = ({ transform: [x, y, zoom] }: { transform: [number, number, number] }) => {
      const el = ref.current;
      if (!el) return;
      const gap = GRID_GAP * zoom;
      const nextShown = gap < GRID_MIN_GAP ? "none" : "";
      if (nextShown !== shown) el.style.display = shown = nextShown;
      if (nextShown) return;
      const nextSize = `${gap}px`;
      if (nextSize !== size) {
        el.style.setProperty("--grid-gap", (size = nextSize));
        el.style.setProperty("--grid-dot", `${Math.max(0.5, zoom / 2)}px`);
      }
      const nextShift = `translate(${(((x % gap) + gap) % gap) - gap}px, ${(((y % gap) + gap) % gap) - gap}px)`;
      if (nextShift !== shift) el.style.transform = shift = nextShift;
    };
    apply(store.getState());
    return store.subscribe(apply);
  }, [store]);
  return <div ref={ref} className="bt-grid" aria-hidden="true" />;
}

export function Canvas() {
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  // Many nodes running: no pulse (each is a composited layer, and hundreds
  // make Chrome's per-frame layer assignment take longer than the frame).
  const busy = useEditor((s) => s.runBusy);
  const far = useStore(isFar);
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
    <div className={`bt-canvas${busy ? " is-busy" : ""}${far ? " is-far" : ""}`} onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow<FlowNode, FlowEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        defaultEdgeOptions={defaultEdgeOptions}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={connect}
        isValidConnection={isValidConnection}
        onSelectionChange={onSelectionChange}
        onSelectionStart={onGestureStart}
        onSelectionEnd={onGestureEnd}
        onNodeDragStart={onGestureStart}
        onNodeDragStop={onGestureEnd}
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
        <DotGrid />
        <StatusMiniMap />
        <Controls showInteractive={false} showFitView={false} aria-label="Zoom controls">
          {/* React Flow's own fit button fits the mounted nodes only (see fitAll). */}
          <ControlButton onClick={onFitAll} className="react-flow__controls-fitview" title="Fit view" aria-label="Fit view">
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 30" aria-hidden="true">
              <path d={FIT_ICON} />
            </svg>
          </ControlButton>
        </Controls>
      </ReactFlow>
    </div>
  );
}
