/* What a trigger of the live version looks like from outside: a webhook's
 * URL, a schedule's next and last run (the workflow API's `hooks` and
 * `schedules`, kept in the store). */
import { useState } from "react";
import { useEditor } from "../state/store";

/** Where a webhook trigger is called: its URL once a published version has
 * the node (the URL stays across versions while the node id does). */
export function WebhookUrl({ nodeId }: { nodeId: string }) {
  const url = useEditor((s) => s.hooks[nodeId]);
  const published = useEditor((s) => s.publishedVersion);
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      document.getElementById(`hook-url-${nodeId}`)?.focus();
    }
  };
  return (
    <section className="bt-panel-section" aria-labelledby={`hook-${nodeId}`}>
      <h3 id={`hook-${nodeId}`}>Webhook URL</h3>
      {url ? (
        <>
          <div className="bt-field">
            <label htmlFor={`hook-url-${nodeId}`}>POST to this address to start a run</label>
            <input
              id={`hook-url-${nodeId}`}
              type="text"
              readOnly
              value={url}
              onFocus={(e) => e.currentTarget.select()}
            />
          </div>
          <button type="button" className="bt-button" onClick={() => void copy()}>
            {copied ? "Copied" : "Copy URL"}
          </button>
          <p className="bt-field-tip">
            Calls run the live version{published ? ` (v${published})` : ""}, not the draft: publish to put edits live.
            Keep the address secret, or set a signing credential below.
          </p>
        </>
      ) : (
        <p className="bt-muted">
          {published
            ? "The live version has no such trigger yet: publish to get its URL."
            : "Publish the workflow to get this trigger's URL."}
        </p>
      )}
    </section>
  );
}

/** A moment in the schedule's own time zone, e.g. "Mon, 30 Mar 2026, 09:00". */
function inZone(iso: string, timeZone: string): string {
  const options: Intl.DateTimeFormatOptions = { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" };
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone }).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: "UTC" }).format(new Date(iso)) + " UTC";
  }
}

/** When a schedule trigger of the live version fires next, and last did. */
export function ScheduleNext({ nodeId }: { nodeId: string }) {
  const times = useEditor((s) => s.schedules[nodeId]);
  const published = useEditor((s) => s.publishedVersion);
  return (
    <section className="bt-panel-section" aria-labelledby={`schedule-${nodeId}`}>
      <h3 id={`schedule-${nodeId}`}>When it runs</h3>
      {times ? (
        <>
          <p>
            Next run: {times.next_fire_at ? <strong>{inZone(times.next_fire_at, times.timezone)}</strong> : "none"}{" "}
            <span className="bt-muted">({times.timezone})</span>
          </p>
          <p className="bt-muted">
            {times.last_fired_at ? `Last run: ${inZone(times.last_fired_at, times.timezone)}. ` : "It has not run yet. "}
            The live version{published ? ` (v${published})` : ""} sets the times: publish to put edits to them live.
          </p>
        </>
      ) : (
        <p className="bt-muted">
          {published
            ? "The live version has no such trigger yet: publish to start this schedule."
            : "Publish the workflow to start this schedule."}
        </p>
      )}
    </section>
  );
}
