import { isBatonNode } from "../lib/graph";
import { allIssues, selectOnly, useEditor } from "../state/store";

/** Every problem of the graph; choosing one selects its node and shows it. */
export function ProblemList({ onPick }: { onPick?: () => void }) {
  const issues = useEditor((s) => s.issuesByNode);
  const global = useEditor((s) => s.globalIssues);
  const list = allIssues({ issuesByNode: issues, globalIssues: global } as never);
  if (list.length === 0) return <p className="bt-ok"><span aria-hidden="true">✓</span> No problems found.</p>;
  const focus = (nodeId: string | null) => {
    if (!nodeId) return;
    const s = useEditor.getState();
    const node = s.nodes.find((n) => n.id === nodeId);
    if (!node || !isBatonNode(node)) return;
    selectOnly([nodeId]);
    const w = node.measured?.width ?? 220;
    const h = node.measured?.height ?? 80;
    void s.flow?.setCenter(node.position.x + w / 2, node.position.y + h / 2, { zoom: Math.max(s.flow.getZoom(), 0.8), duration: 300 });
    onPick?.();
  };
  return (
    <ul className="bt-problems">
      {list.map((issue, i) => (
        <li key={i} className={`level-${issue.level}`}>
          <span aria-hidden="true">{issue.level === "error" ? "✕" : "⚠"}</span>
          <span className="bt-visually-hidden">{issue.level === "error" ? "Error:" : "Warning:"}</span>
          {issue.node_id ? (
            <button type="button" className="bt-link" onClick={() => focus(issue.node_id)}>
              {issue.node_id}
              {issue.field ? ` · ${issue.field.replace(/^config\./, "")}` : ""}
            </button>
          ) : null}{" "}
          <span>{issue.message}</span>
        </li>
      ))}
    </ul>
  );
}
