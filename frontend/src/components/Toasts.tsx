import { dismissToast, useEditor } from "../state/store";

export function Toasts() {
  const toasts = useEditor((s) => s.toasts);
  return (
    <div className="bt-toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`bt-toast tone-${t.tone}`}>
          <span>{t.message}</span>
          <button type="button" className="bt-icon-button" aria-label="Dismiss" onClick={() => dismissToast(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
