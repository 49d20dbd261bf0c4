"""Trimming the record streams: only acknowledged entries, and only outside the retention window.

The streams are the platform's recovery log. An entry leaves a stream only when every consumer
group on it has acknowledged it (it lies below each group's oldest pending id and at or below its
last-delivered id) and it is outside the retention window: acknowledged entries are kept for
``retention_s`` seconds (stream ids carry the Redis server's clock, so the age is measured with
the server's ``TIME``) and at most ``retained`` of them per stream. The window is what the writer
replays when the store lost writes it had acknowledged (:mod:`fitness_streaming.writer.replay`).
A stream without a consumer group is never trimmed, and neither is the DLQ.

The decision and the ``XTRIM MINID`` run in one Lua script, so no read, claim or acknowledgement
can slip between them. Its cost is bounded: the count bound needs the number of entries the groups
still need, which the script counts only up to ``SCAN_LIMIT`` (beyond that it uses a lower bound,
which may trim more acknowledged entries, never an unacknowledged one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from fitness_core.schemas import DLQ_STREAM

log = logging.getLogger("fitness.writer")

#: Entries the script reads at most per stream and call (counting what the groups still need, or
#: finding the count bound); a larger excess is trimmed over several calls.
SCAN_LIMIT = 10_000

# KEYS[1] stream; ARGV: retention ms, retained entries, scan limit. Returns {trimmed, minid}.
TRIM_SCRIPT = """
local stream = KEYS[1]
local retention_ms = tonumber(ARGV[1])
local retained = tonumber(ARGV[2])
local scan = tonumber(ARGV[3])
if redis.call('EXISTS', stream) == 0 then return {0, ''} end

local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return {tonumber(ms), tonumber(seq)}
end
local function less(a, b)
  return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2])
end
local function text(id) return string.format('%.0f-%.0f', id[1], id[2]) end

-- the oldest entry some group still needs: its oldest pending one, or the one after its last delivered
local groups = redis.call('XINFO', 'GROUPS', stream)
if #groups == 0 then return {0, ''} end
local needed = nil
local unread_floor = 0
for _, group in ipairs(groups) do
  local info = {}
  for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
  local bound
  local pending = tonumber(info['pending'])
  if pending > 0 then
    local summary = redis.call('XPENDING', stream, info['name'])
    bound = parse(summary[2])
  else
    local last = parse(info['last-delivered-id'])
    bound = {last[1], last[2] + 1}
  end
  if needed == nil or less(bound, needed) then needed = bound end
  local lag = info['lag']
  if type(lag) == 'number' and lag + pending > unread_floor then unread_floor = lag + pending end
end

-- acknowledged entries older than the retention time are outside the window
local now = redis.call('TIME')
local limit = {tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - retention_ms, 0}

-- and so are acknowledged entries beyond the newest `retained` ones
local length = redis.call('XLEN', stream)
if length > retained then
  local still = redis.call('XRANGE', stream, text(needed), '+', 'COUNT', scan)
  local unread = #still
  if unread >= scan and unread_floor > unread then unread = unread_floor end
  local excess = length - retained - unread
  if excess > 0 then
    local take = math.min(excess, scan)
    local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', take + 1)
    if #oldest > take then
      local count_bound = parse(oldest[take + 1][1])
      if less(limit, count_bound) then limit = count_bound end
    end
  end
end

if less(needed, limit) then limit = needed end
local trimmed = redis.call('XTRIM', stream, 'MINID', text(limit))
return {trimmed, text(limit)}
"""


@dataclass(frozen=True)
class TrimPolicy:
    """The retention window: acknowledged entries kept this long, and at most this many per stream."""

    retention_s: int = 3600
    retained: int = 200_000


class StreamTrimmer:
    """Runs the trimming script on each record stream (one round trip for all of them)."""

    def __init__(self, client: redis.Redis, streams: tuple[str, ...], policy: TrimPolicy) -> None:
        if DLQ_STREAM in streams:
            raise ValueError(f"{DLQ_STREAM} is never trimmed by the retention rule")
        self.client = client
        self.streams = streams
        self.policy = policy
        self.script = client.register_script(TRIM_SCRIPT)
        self.trimmed = 0

    def trim(self) -> dict[str, int]:
        """Trim every stream now; returns the entries removed per stream (may raise Redis errors)."""
        pipe = self.client.pipeline(transaction=False)
        args = [self.policy.retention_s * 1000, self.policy.retained, SCAN_LIMIT]
        for stream in self.streams:
            self.script(keys=[stream], args=args, client=pipe)
        removed = {
            stream: int(result[0]) for stream, result in zip(self.streams, pipe.execute(), strict=True)
        }
        total = sum(removed.values())
        self.trimmed += total
        if total:
            log.debug("trimmed acknowledged entries", extra={"removed": total})
        return removed
