// Muster web board: plain JavaScript, no build step. The token lives in sessionStorage and goes out only as an
// Authorization header (also for the live timeline: fetch streaming instead of EventSource, which cannot send
// headers), so no cookie and no token in any URL the server logs.
"use strict";
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.hash.slice(1));
if (params.get("token")) { sessionStorage.setItem("muster-token", params.get("token")); params.delete("token"); history.replaceState(null, "", "#" + params.toString()); }
let token = sessionStorage.getItem("muster-token");
let me = null, runID = params.get("run"), status = null, lastSeq = 0, streamAbort = null;

function esc(text) { const d = document.createElement("div"); d.textContent = text == null ? "" : String(text); return d.innerHTML; }
async function api(method, path, body) {
  const response = await fetch(path, { method, headers: Object.assign({ Authorization: "Bearer " + token },
    body ? { "Content-Type": "application/json" } : {}), body: body ? JSON.stringify(body) : undefined });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) { signOut(); throw new Error(data.error || "sign in again"); }
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}
function show(section) { for (const s of ["login", "runs", "board"]) $(s).hidden = s !== section; }
function signOut() { sessionStorage.removeItem("muster-token"); token = null; show("login"); }
function until(iso) {
  const ms = Date.parse(iso) - Date.now(), sign = ms < 0 ? "-" : "", a = Math.abs(ms);
  const h = Math.floor(a / 3600000), m = Math.floor(a % 3600000 / 60000), s = Math.floor(a % 60000 / 1000);
  return sign + (h ? h + "h" : "") + String(m).padStart(h ? 2 : 1, "0") + "m" + String(s).padStart(2, "0") + "s";
}

async function start() {
  if (!token) return show("login");
  try { me = await api("GET", "/api/me"); } catch (e) { $("login-error").textContent = e.message; return show("login"); }
  $("who").textContent = "signed in as " + me.name; $("logout").hidden = false;
  if (runID) openRun(runID); else listRuns();
}
async function listRuns() {
  show("runs");
  const data = await api("GET", "/api/runs");
  $("run-list").innerHTML = data.runs.map(r => `<li><a href="#run=${esc(r.id)}">${esc(r.title)}</a> — ${esc(r.id)}, ${esc(r.status)}, state ${esc(r.state)}, ${esc(r.mode)}${r.restricted ? ", restricted" : ""}</li>`).join("") || "<li>No runs yet.</li>";
}
async function openRun(id) {
  runID = id; show("board");
  await refresh();
  const events = await api("GET", `/api/runs/${encodeURIComponent(id)}/events`);
  $("timeline").innerHTML = ""; lastSeq = 0;
  for (const e of events.events) addEvent(e);
  stream();
}
async function refresh() {
  status = await api("GET", `/api/runs/${encodeURIComponent(runID)}`);
  render();
}
function render() {
  const s = status;
  $("run-title").textContent = s.title;
  $("run-meta").innerHTML = `<span id="run-state">${esc(s.state ? s.state.title : "?")}</span> · phase <span id="run-phase">${esc(s.state ? s.state.phases.join(", ") : "")}</span> · ${esc(s.severity)} · ${esc(s.status)} · you: ${esc(s.you.roles.join(", ") || "observer")}`;
  $("report").href = "#"; $("report").onclick = async (ev) => { ev.preventDefault(); const r = await fetch(`/api/runs/${encodeURIComponent(runID)}/report?format=html`, { headers: { Authorization: "Bearer " + token } }); const w = window.open(); w.document.write(await r.text()); };
  $("tasks").innerHTML = s.tasks.map(g => `<div class="role"><strong>${esc(g.title)}</strong> — ${esc(g.holder || "unassigned")}` +
    g.tasks.map(t => `<div class="task ${esc(t.status)}" data-task="${esc(t.id)}"><span>${esc(t.title)} (${esc(t.status)})</span>` +
      (t.status === "open" && t.can_act && s.status === "active" ? `<span><button class="primary" data-done="${esc(t.id)}" data-evidence="${t.evidence}">Done</button> <button data-skip="${esc(t.id)}">Skip</button></span>` : "") + `</div>`).join("") + `</div>`).join("") || "<p>No tasks in this state.</p>";
  const d = s.decision;
  $("decision").innerHTML = d ? `<p><strong>${esc(d.question)}</strong> (by ${esc(d.by)}: ${esc(d.holder || "unassigned")}${d.deadline ? ", default in <span data-until='" + esc(d.deadline) + "'></span>" : ""})</p>` +
    (d.can_decide ? `<textarea id="rationale" placeholder="Rationale (required)"></textarea>` + d.options.map(o => `<button data-option="${esc(o.option)}">${esc(o.option)}</button> `).join("") : "") : "<p>No pending decision.</p>";
  const clocks = s.timers.map(t => `<li>${esc(t.id)}: <span data-until="${esc(t.due)}"></span></li>`)
    .concat(s.services.flatMap(v => [v.rto_due ? `<li>${esc(v.title)} RTO ${esc(v.rto)}: <span data-until="${esc(v.rto_due)}"></span></li>` : "", v.mtpd_due ? `<li>${esc(v.title)} MTPD ${esc(v.mtpd)}: <span data-until="${esc(v.mtpd_due)}"></span></li>` : ""]));
  $("clocks").innerHTML = clocks.join("") || "<li>None running.</li>";
  $("roles").innerHTML = s.roles.map(r => `<li>${esc(r.title)}: ${esc(r.holder || "unassigned")}</li>`).join("");
  $("notes").innerHTML = s.notes.map(n => `<li>${esc(n.actor)}: ${esc(n.text)}</li>`).join("") || "<li>None.</li>";
  $("lessons").innerHTML = s.lessons.map(l => `<li>[${esc(l.kind)}] ${esc(l.text)}</li>`).join("") || "<li>None.</li>";
  tick();
}
function tick() { for (const el of document.querySelectorAll("[data-until]")) { el.textContent = until(el.dataset.until); el.classList.toggle("overdue", Date.parse(el.dataset.until) < Date.now()); } }
setInterval(tick, 1000);
function addEvent(e) {
  if (e.seq <= lastSeq) return;
  lastSeq = e.seq;
  const li = document.createElement("li"); li.value = e.seq; li.dataset.seq = e.seq;
  li.textContent = `${e.at.slice(11, 19)} ${e.actor === "muster" ? "clock" : e.actor}: ${e.description}`;
  $("timeline").appendChild(li); li.scrollIntoView({ block: "nearest" });
}
// The live timeline over fetch streaming (SSE format); reconnects with Last-Event-ID after a drop.
async function stream() {
  if (streamAbort) streamAbort.abort();
  const controller = new AbortController(); streamAbort = controller;
  const id = runID;
  while (!controller.signal.aborted && id === runID) {
    try {
      const response = await fetch(`/api/runs/${encodeURIComponent(id)}/stream`, { signal: controller.signal,
        headers: { Authorization: "Bearer " + token, "Last-Event-ID": String(lastSeq), Accept: "text/event-stream" } });
      if (!response.ok) throw new Error("stream " + response.status);
      const reader = response.body.getReader(), decoder = new TextDecoder(); let buffer = "";
      for (;;) {
        const { value, done } = await reader.read(); if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          const data = block.split("\n").filter(l => l.startsWith("data: ")).map(l => l.slice(6)).join("\n");
          if (data) { addEvent(JSON.parse(data)); scheduleRefresh(); }
        }
      }
    } catch (e) { if (controller.signal.aborted) return; }
    await new Promise(r => setTimeout(r, 1000));
  }
}
let refreshTimer = null;
function scheduleRefresh() { clearTimeout(refreshTimer); refreshTimer = setTimeout(() => refresh().catch(() => {}), 150); }
async function command(body) {
  $("message").textContent = "";
  try { await api("POST", `/api/runs/${encodeURIComponent(runID)}/commands`, body); await refresh(); }
  catch (e) { $("message").textContent = e.message; }
}
document.addEventListener("click", (ev) => {
  const t = ev.target;
  if (t.dataset.done) { const note = t.dataset.evidence === "true" ? prompt("Evidence (required)") : null; command(note ? { type: "task-done", task: t.dataset.done, note } : { type: "task-done", task: t.dataset.done }); }
  else if (t.dataset.skip) { const reason = prompt("Why skip it?"); if (reason) command({ type: "task-skip", task: t.dataset.skip, reason }); }
  else if (t.dataset.option) { const rationale = $("rationale").value.trim(); if (!rationale) { $("message").textContent = "Give a rationale first."; return; } command({ type: "decide", decision: status.decision.id, option: t.dataset.option, rationale }); }
});
$("note-form").addEventListener("submit", (ev) => { ev.preventDefault(); const text = $("note").value.trim(); if (text) { command({ type: "note", text }); $("note").value = ""; } });
$("login-form").addEventListener("submit", (ev) => { ev.preventDefault(); token = $("token").value.trim(); sessionStorage.setItem("muster-token", token); start(); });
$("logout").addEventListener("click", signOut);
window.addEventListener("hashchange", () => { const p = new URLSearchParams(location.hash.slice(1)); runID = p.get("run"); if (streamAbort) streamAbort.abort(); if (runID) openRun(runID); else listRuns(); });
start();
