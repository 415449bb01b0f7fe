import type { Redis } from "ioredis";

/**
 * Appends one event to a job, atomically: numbers it (`seq` in the job hash), refuses it once the
 * job has ended, refuses a running replica's event when another replica has taken the job over
 * (fencing by attempt), drops a segment already published (a retry re-transcribes the window a
 * dead replica was in), keeps the hash's status and last progress current and sets the TTLs.
 * KEYS: job hash, events stream. ARGV: fence (the writer's attempt; 0 = not the running
 * replica), type, event JSON without seq, segment index (-1 if none), ended TTL, active TTL.
 * Returns the seq, or 0 (skipped), -1 (job ended), -2 (no such job), -3 (fenced out).
 */
const APPEND = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -2 end
if status == 'completed' or status == 'failed' or status == 'cancelled' then return -1 end
local fence = tonumber(ARGV[1])
if fence > 0 and tonumber(redis.call('HGET', KEYS[1], 'attempt')) ~= fence then return -3 end
local kind = ARGV[2]
if fence == 0 and status == 'running' and (kind == 'progress' or kind == 'queued') then return 0 end
local index = tonumber(ARGV[4])
if index >= 0 then
  if index < tonumber(redis.call('HGET', KEYS[1], 'segments') or '0') then return 0 end
  redis.call('HSET', KEYS[1], 'segments', index + 1)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], '0-' .. seq, 'json', '{"seq":' .. seq .. ',' .. string.sub(ARGV[3], 2))
local ttl = ARGV[6]
if kind == 'started' then redis.call('HSET', KEYS[1], 'status', 'running')
elseif kind == 'retrying' then redis.call('HSET', KEYS[1], 'status', 'queued')
elseif kind == 'progress' then redis.call('HSET', KEYS[1], 'progress', ARGV[3])
elseif kind == 'completed' or kind == 'failed' or kind == 'cancelled' then
  redis.call('HSET', KEYS[1], 'status', kind)
  ttl = ARGV[5]
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return seq
`;

/** Sets hash fields only while the writer still holds the job (same fencing as APPEND). */
const FENCED_SET = `
if tonumber(redis.call('HGET', KEYS[1], 'attempt')) ~= tonumber(ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`;

/** A replica takes a job: the next attempt number, which fences out the previous holder; 0 if the job is gone. */
const TAKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], 'attempt', 1)
`;

export async function takeJob(redis: Redis, jobKey: string): Promise<number> {
  return Number(await redis.eval(TAKE, 1, jobKey));
}

export const APPEND_SKIPPED = 0;
export const APPEND_ENDED = -1;
export const APPEND_MISSING = -2;
export const APPEND_FENCED = -3;

export interface AppendArgs {
  fence: number;
  type: string;
  json: string;
  segmentIndex: number;
  endedTtl: number;
  activeTtl: number;
}

export async function appendEvent(redis: Redis, keys: [string, string], a: AppendArgs): Promise<number> {
  return Number(await redis.eval(APPEND, 2, ...keys, a.fence, a.type, a.json, a.segmentIndex, a.endedTtl, a.activeTtl));
}

/** false: another replica holds the job now. */
export async function fencedSet(redis: Redis, jobKey: string, fence: number, fields: Record<string, string>): Promise<boolean> {
  return Number(await redis.eval(FENCED_SET, 1, jobKey, fence, ...Object.entries(fields).flat())) === 1;
}
