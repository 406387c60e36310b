import { useEffect, useId, useRef, type ReactNode } from "react";

interface DialogProps {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** Extra class for sizing. */
  className?: string;
  /** alertdialog for decisions the user must make (conflicts). */
  role?: "dialog" | "alertdialog";
  description?: string;
}

/** A modal built on <dialog>.showModal(): the rest of the page is inert
 * while it is open, so focus stays inside; Escape closes it, and focus
 * returns to where it was. */
export function Dialog({ open, title, onClose, children, className, role = "dialog", description }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();
  const returnTo = useRef<Element | null>(null);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      returnTo.current = document.activeElement;
      dialog.showModal();
      const first = dialog.querySelector<HTMLElement>("[data-autofocus], input, textarea, select, button:not(.dialog-close)");
      first?.focus();
    } else if (!open && dialog.open) {
      dialog.close();
      // Back to the opener; when it sits in a menu that has closed since
      // (More → Versions), to the menu's button instead of nowhere.
      const opener = returnTo.current as HTMLElement | null;
      const menu = opener?.closest?.("details");
      if (menu && !menu.open) menu.querySelector<HTMLElement>("summary")?.focus();
      else opener?.focus?.();
    }
  }, [open]);

  useEffect(() => () => ref.current?.close(), []);

  return (
    <dialog
      ref={ref}
      className={`bt-dialog ${className ?? ""}`}
      role={role}
      aria-labelledby={titleId}
      aria-describedby={description ? descId : undefined}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
      onClick={(event) => {
        if (event.target === ref.current) onClose();
      }}
    >
      {open && (
        <div className="bt-dialog-body">
          <header className="bt-dialog-header">
            <h2 id={titleId}>{title}</h2>
            <button type="button" className="bt-icon-button dialog-close" aria-label="Close" onClick={onClose}>
              ×
            </button>
          </header>
          {description && (
            <p id={descId} className="bt-dialog-description">
              {description}
            </p>
          )}
          {children}
        </div>
      )}
    </dialog>
  );
}
