-- wrk script for clickbill's benchmark (bench/run).
--
-- wrk -s scenario.lua URL -- HOST THREADS keep|close READ_PATH READ_FILE [WRITE_PATH WRITE_FILE WRITE_EVERY]
--
-- `close` sends `Connection: close`: a new connection for every request. A path of `-` means none.
-- Every thread pre-formats its share of the bodies in READ_FILE (lines i, i+THREADS, ...) as
-- requests to READ_PATH and cycles through them; with WRITE_* every WRITE_EVERY-th request is
-- the next of its share of WRITE_FILE, sent to WRITE_PATH (WRITE_EVERY 1: writes only). Write
-- bodies are never sent twice by the same run: a thread that runs out of them stops.
-- `done` prints one line: RESULT requests/s p50_us p99_us requests non2xx socket_errors.

local thread_id = 0
local threads = {}

function setup(thread)
   thread:set("id", thread_id)
   thread_id = thread_id + 1
   table.insert(threads, thread)
end

local function load(path, target, headers, share, of)
   local requests = {}
   local n = 0
   for line in io.lines(path) do
      if n % of == share then
         table.insert(requests, wrk.format("POST", target, headers, line))
      end
      n = n + 1
   end
   return requests
end

function init(args)
   local host, thread_count = args[1], tonumber(args[2])
   local headers = {
      ["Host"] = host,
      ["Content-Type"] = "application/x-www-form-urlencoded",
   }
   if args[3] == "close" then
      headers["Connection"] = "close"
   end
   reads = {}
   if args[4] ~= "-" then
      reads = load(args[5], args[4], headers, id, thread_count)
   end
   writes = {}
   write_every = 0
   if args[6] and args[6] ~= "-" then
      writes = load(args[7], args[6], headers, id, thread_count)
      write_every = tonumber(args[8])
   end
   read_next, write_next, sent = 1, 1, 0
end

function request()
   sent = sent + 1
   if write_every > 0 and sent % write_every == 0 then
      local r = writes[write_next]
      if r == nil then
         wrk.thread:stop()
         return reads[1] or writes[1]
      end
      write_next = write_next + 1
      return r
   end
   local r = reads[read_next]
   read_next = read_next + 1
   if read_next > #reads then
      read_next = 1
   end
   return r
end

function done(summary, latency, requests)
   local seconds = summary.duration / 1000000
   local non2xx = summary.errors.status
   local socket = summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout
   io.write(string.format("RESULT %.1f %d %d %d %d %d\n", summary.requests / seconds,
      latency:percentile(50), latency:percentile(99), summary.requests, non2xx, socket))
end
