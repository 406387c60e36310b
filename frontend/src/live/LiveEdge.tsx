/**
 * The canvas's edge: React Flow's smooth-step edge, plus the run view's
 * state (edges.ts) as a class on its path. It subscribes to its own state in
 * the editor store, as nodes do to their own step: during a live run only
 * the edges whose state changed re-render.
 */
import { BaseEdge, getSmoothStepPath, type EdgeProps } from "@xyflow/react";
import { memo } from "react";
import type { FlowEdge } from "../lib/graph";
import { useEditor } from "../state/store";
import { edgeView } from "./edges";

function LiveEdgeView(props: EdgeProps<FlowEdge>) {
  const { source, target, sourceHandleId } = props;
  const view = useEditor((s) => edgeView(s.stepsByNode, source, target, sourceHandleId, s.runBusy));
  const [path, labelX, labelY] = getSmoothStepPath({
    sourceX: props.sourceX,
    sourceY: props.sourceY,
    sourcePosition: props.sourcePosition,
    targetX: props.targetX,
    targetY: props.targetY,
    targetPosition: props.targetPosition,
  });
  return (
    <BaseEdge
      path={path}
      labelX={labelX}
      labelY={labelY}
      label={props.label}
      labelStyle={props.labelStyle}
      labelShowBg={props.labelShowBg}
      labelBgStyle={props.labelBgStyle}
      labelBgPadding={props.labelBgPadding}
      labelBgBorderRadius={props.labelBgBorderRadius}
      style={props.style}
      markerStart={props.markerStart}
      markerEnd={props.markerEnd}
      interactionWidth={props.interactionWidth}
      className={view ? `bt-edge-${view}` : undefined}
    />
  );
}

export const LiveEdge = memo(LiveEdgeView);
