import { jobLinks, type JobEvent, type JobSnapshot } from "@whisperrr/shared";

/**
 * A job's snapshot rebuilt from its record and its events, so that any replica answers
 * `GET /api/jobs/:id` the way the replica running it would.
 */
export class SnapshotBuilder {
  readonly snapshot: JobSnapshot;

  constructor(id: string, options: JobSnapshot["options"], createdAt: Date) {
    this.snapshot = {
      id,
      status: "queued",
      options,
      createdAt: createdAt.toISOString(),
      startedAt: null,
      endedAt: null,
      queuePosition: null,
      progress: { stage: "upload", percent: 0, processedSeconds: 0, totalSeconds: null, etaSeconds: null },
      segments: [],
      result: null,
      error: null,
      lastSeq: 0,
      links: jobLinks(id),
    };
  }

  apply(event: JobEvent): void {
    const s = this.snapshot;
    s.lastSeq = event.seq;
    switch (event.type) {
      case "queued":
        s.queuePosition = event.position;
        return;
      case "retrying":
        s.status = "queued";
        return;
      case "started":
        s.status = "running";
        s.queuePosition = null;
        s.startedAt ??= event.at;
        return;
      case "progress": {
        const { stage, percent, processedSeconds, totalSeconds, etaSeconds } = event;
        s.progress = { stage, percent, processedSeconds, totalSeconds, etaSeconds };
        return;
      }
      case "segment": {
        const { index, start, end, text, words } = event;
        s.segments.push({ index, start, end, text, ...(words ? { words } : {}) });
        return;
      }
      case "completed": {
        const { text, language, durationSeconds, processingSeconds } = event;
        s.result = { text, language, durationSeconds, processingSeconds };
        return this.end("completed", event.at);
      }
      case "failed":
        s.error = { code: event.code, message: event.message };
        return this.end("failed", event.at);
      case "cancelled":
        return this.end("cancelled", event.at);
    }
  }

  private end(status: JobSnapshot["status"], at: string): void {
    this.snapshot.status = status;
    this.snapshot.endedAt = at;
    this.snapshot.queuePosition = null;
  }
}
