// Muster web board: one live stream per run and token for all the board's tabs in this browser (a SharedWorker).
// Browsers open at most six HTTP/1.1 connections to one server, and a stream holds one for as long as its tab is
// open: with a stream per tab, a seventh tab of the board waited for ever. Each tab reads the backlog itself
// (GET /api/runs/{id}/events), then joins with the last seq it has; the worker sends it the recent events after
// that seq (it keeps the last 500), or "gap" when it has not kept them all (the tab reads the backlog again). A
// tab drops what it has already seen by seq.
"use strict";
const streams = new Map();   // "run\ntoken" → { ports: Set, lastSeq, controller, recent: [event] }
const keep = 500;

function broadcast(entry, message) { for (const port of entry.ports) port.postMessage(message); }

async function run(key, entry) {
  const [id, token] = key.split("\n");
  const controller = entry.controller;
  while (!controller.signal.aborted) {
    try {
      const response = await fetch(`/api/runs/${encodeURIComponent(id)}/stream`, { signal: controller.signal,
        headers: { Authorization: "Bearer " + token, "Last-Event-ID": String(entry.lastSeq), Accept: "text/event-stream" } });
      if (response.status === 401 || response.status === 403 || response.status === 404) {
        broadcast(entry, { type: "refused", status: response.status });
        return stop(key);
      }
      if (!response.ok) throw new Error("stream " + response.status);
      const reader = response.body.getReader(), decoder = new TextDecoder(); let buffer = "";
      for (;;) {
        const { value, done } = await reader.read(); if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          const data = block.split("\n").filter(l => l.startsWith("data: ")).map(l => l.slice(6)).join("\n");
          if (!data) continue;
          const event = JSON.parse(data);
          if (event.seq <= entry.lastSeq) continue;
          entry.lastSeq = event.seq;
          entry.recent.push(event);
          if (entry.recent.length > keep) entry.recent.splice(0, entry.recent.length - keep);
          broadcast(entry, { type: "event", event });
        }
      }
    } catch (e) { if (controller.signal.aborted) return; }
    await new Promise(r => setTimeout(r, 1000));
  }
}
function stop(key) {
  const entry = streams.get(key);
  if (!entry) return;
  streams.delete(key);
  entry.controller.abort();
}

onconnect = (connection) => {
  const port = connection.ports[0];
  let joined = null;
  const leave = () => {
    const entry = joined && streams.get(joined);
    if (entry) { entry.ports.delete(port); if (entry.ports.size === 0) stop(joined); }
    joined = null;
  };
  port.onmessage = (message) => {
    const m = message.data || {};
    if (m.type === "watch") {
      leave();
      joined = m.run + "\n" + m.token;
      const after = m.after || 0;
      let entry = streams.get(joined);
      if (!entry) {
        entry = { ports: new Set(), lastSeq: after, controller: new AbortController(), recent: [] };
        streams.set(joined, entry);
        run(joined, entry);
      } else if (entry.lastSeq > after) {
        const first = entry.recent.length ? entry.recent[0].seq : entry.lastSeq + 1;
        if (first > after + 1) port.postMessage({ type: "gap" });
        else for (const event of entry.recent) if (event.seq > after) port.postMessage({ type: "event", event });
      }
      entry.ports.add(port);
      port.postMessage({ type: "watching", run: m.run });
    } else if (m.type === "leave") {
      leave();
    }
  };
  port.start();
};
