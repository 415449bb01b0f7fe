import type { JobOptions } from "@whisperrr/shared";
import { asClientError, cancelJob, uploadFile, type UploadHandle } from "./api.ts";
import { apiKey } from "./api-key.svelte.ts";
import { applyEvent, isFinished, type JobView } from "./job-state.ts";
import { JobFeed } from "./transport.ts";

/** This page's jobs: starts uploads, follows their events, cancels them. Components only read it. */
class Session {
  jobs = $state<JobView[]>([]);
  selectedKey = $state<string | null>(null);
  private uploads = new Map<string, UploadHandle>();
  private counter = 0;

  get selected(): JobView | null {
    return this.jobs.find((j) => j.key === this.selectedKey) ?? null;
  }

  select(key: string): void {
    this.selectedKey = key;
  }

  start(file: File, options: JobOptions): void {
    const key = `job-${++this.counter}`;
    this.jobs.unshift({
      key,
      id: null,
      fileName: file.name,
      fileSize: file.size,
      mediaUrl: URL.createObjectURL(file),
      mediaKind: file.type.startsWith("video/") ? "video" : "audio",
      options,
      phase: "uploading",
      upload: { loaded: 0, total: file.size },
      queuePosition: null,
      progress: null,
      segments: [],
      result: null,
      error: null,
      connection: "closed",
      via: null,
      retryReason: null,
    });
    this.selectedKey = key;
    const upload = uploadFile(file, options, apiKey.value, (loaded, total) =>
      this.update(key, (j) => {
        j.upload = { loaded, total };
      }),
    );
    this.uploads.set(key, upload);
    upload.done.then(
      (created) => {
        this.uploads.delete(key);
        this.update(key, (j) => {
          j.id = created.id;
          j.upload.loaded = j.upload.total;
          if (j.phase === "uploading") j.phase = "queued";
        });
        this.follow(key, created.id);
      },
      (err: unknown) => {
        this.uploads.delete(key);
        const error = asClientError(err);
        this.update(key, (j) => {
          j.phase = error.code === "upload_aborted" ? "cancelled" : "failed";
          j.error = error.code === "upload_aborted" ? null : error;
        });
      },
    );
  }

  async cancel(key: string): Promise<void> {
    const job = this.find(key);
    if (!job || isFinished(job.phase)) return;
    const upload = this.uploads.get(key);
    if (upload) return upload.abort();
    if (!job.id) return;
    try {
      await cancelJob(job.id, apiKey.value);
    } catch (err) {
      const error = asClientError(err);
      // The job may have finished meanwhile; its terminal event tells the rest.
      if (error.code !== "job_finished") {
        this.update(key, (j) => {
          j.error = error;
        });
      }
    }
  }

  private follow(key: string, id: string): void {
    // The feed closes itself after the job's terminal event.
    new JobFeed(
      id,
      {
        event: (event) => this.update(key, (j) => applyEvent(j, event)),
        state: (state) => this.update(key, (j) => {
          j.connection = state;
          if (state === "websocket" || state === "sse") j.via = state;
        }),
        problem: (problem) => this.update(key, (j) => {
          j.phase = "failed";
          j.error = problem;
        }),
      },
      { origin: location.origin, accessToken: apiKey.value },
    );
  }

  private find(key: string): JobView | undefined {
    return this.jobs.find((j) => j.key === key);
  }

  private update(key: string, change: (job: JobView) => void): void {
    const job = this.find(key);
    if (job) change(job);
  }
}

export const session = new Session();
