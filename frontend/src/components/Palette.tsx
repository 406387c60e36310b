import { useMemo, useState, type DragEvent } from "react";
import type { NodeType } from "../lib/types";
import { addNode, announce, useEditor } from "../state/store";
import { NODE_DRAG_TYPE } from "./Canvas";
import { categoryMeta, categoryOf } from "./nodeMeta";

function matches(type: NodeType, query: string): boolean {
  if (!query) return true;
  const q = query.toLowerCase();
  return [type.label, type.key, type.description, type.category].some((t) => t?.toLowerCase().includes(q));
}

/** Adds at the middle of the visible canvas (keyboard path for drag-and-drop). */
function addAtCenter(type: NodeType): void {
  const { flow } = useEditor.getState();
  const pane = document.querySelector(".bt-canvas")?.getBoundingClientRect();
  const center = pane && flow ? flow.screenToFlowPosition({ x: pane.left + pane.width / 2, y: pane.top + pane.height / 2 }) : { x: 0, y: 0 };
  const jitter = (useEditor.getState().nodes.length % 5) * 24;
  const id = addNode(type.key, { x: Math.round(center.x - 110 + jitter), y: Math.round(center.y - 40 + jitter) });
  if (id) announce(`Added ${type.label} (${id}).`);
}

export function Palette() {
  const types = useEditor((s) => s.nodeTypes);
  const [query, setQuery] = useState("");
  const groups = useMemo(() => {
    const byCategory = new Map<string, NodeType[]>();
    for (const type of types) {
      if (!matches(type, query.trim())) continue;
      const category = categoryOf(type.key, type.is_trigger ? "trigger" : type.category);
      byCategory.set(category, [...(byCategory.get(category) ?? []), type]);
    }
    return [...byCategory.entries()].sort(([a], [b]) => categoryMeta(a).order - categoryMeta(b).order || a.localeCompare(b));
  }, [types, query]);

  const onDragStart = (event: DragEvent, type: NodeType) => {
    event.dataTransfer.setData(NODE_DRAG_TYPE, type.key);
    event.dataTransfer.setData("text/plain", type.key);
    event.dataTransfer.effectAllowed = "copy";
  };

  return (
    <nav className="bt-palette" aria-label="Node palette">
      <div className="bt-palette-search">
        <label htmlFor="bt-palette-search" className="bt-visually-hidden">
          Search nodes
        </label>
        <input
          id="bt-palette-search"
          type="search"
          placeholder="Search nodes…"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && groups.length > 0) {
              e.preventDefault();
              addAtCenter(groups[0][1][0]);
            }
          }}
        />
      </div>
      <p className="bt-palette-hint">Drag a node onto the canvas, or press Enter on it to add it in the middle.</p>
      {groups.length === 0 && <p className="bt-empty">No node matches “{query}”.</p>}
      {groups.map(([category, list]) => {
        const meta = categoryMeta(category);
        const headingId = `bt-palette-${category}`;
        return (
          <section key={category} className={`bt-palette-group cat-${category}`} aria-labelledby={headingId}>
            <h3 id={headingId}>
              <span aria-hidden="true">{meta.icon}</span> {meta.label}
            </h3>
            <ul>
              {list.map((type) => (
                <li key={type.key}>
                  <button
                    type="button"
                    className="bt-palette-item"
                    draggable
                    onDragStart={(e) => onDragStart(e, type)}
                    onClick={() => addAtCenter(type)}
                    title={type.description}
                    aria-label={`Add ${type.label}`}
                    aria-describedby={`${headingId}-${type.key}`}
                    data-node-type={type.key}
                  >
                    <span className="bt-palette-label">{type.label}</span>
                    <span className="bt-palette-desc" id={`${headingId}-${type.key}`}>
                      {type.description}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </nav>
  );
}
