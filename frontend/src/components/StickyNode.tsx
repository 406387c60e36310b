import { NodeResizer, type NodeProps } from "@xyflow/react";
import { memo, useEffect, useState } from "react";
import type { StickyFlowNode } from "../lib/graph";
import { updateNote, useEditor } from "../state/store";

function StickyNodeView({ id, data, selected }: NodeProps<StickyFlowNode>) {
  const readOnly = useEditor((s) => s.readOnly);
  const [text, setText] = useState(data.text);
  useEffect(() => setText(data.text), [data.text]);
  return (
    <div className={`bt-sticky${selected ? " is-selected" : ""}`}>
      {!readOnly && <NodeResizer isVisible={selected} minWidth={140} minHeight={80} lineClassName="bt-sticky-line" handleClassName="bt-sticky-handle" />}
      <div className="bt-sticky-grip" aria-hidden="true">
        Note
      </div>
      <textarea
        className="bt-sticky-text nodrag nowheel"
        aria-label="Sticky note"
        placeholder={readOnly ? "" : "Write a note…"}
        value={text}
        readOnly={readOnly}
        onChange={(event) => {
          setText(event.target.value);
          updateNote(id, event.target.value);
        }}
      />
    </div>
  );
}

export const StickyNode = memo(StickyNodeView);
