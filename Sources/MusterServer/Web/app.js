// Muster web board: plain JavaScript, no build step. The token lives in sessionStorage and goes out only as an
// Authorization header (also for the live timeline: fetch streaming instead of EventSource, which cannot send
// headers), so no cookie and no token in any URL the server logs.
// Controls are shown only to people the server's permissions allow (the status's `you.can`); the server still
// decides, and its refusal (403, 409) is shown in the message line.
// Every redraw keeps keyboard focus on the same control, or on its successor when the control went away
// (`keepFocus`); opening a view moves focus to its heading and names the page.
"use strict";
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.hash.slice(1));
if (params.get("token")) { sessionStorage.setItem("muster-token", params.get("token")); params.delete("token"); history.replaceState(null, "", "#" + params.toString()); }
let token = sessionStorage.getItem("muster-token");
// `#run=ID&report` opens the run's after-action report once the board has loaded (a link to a report).
let reportOnLoad = params.has("report");
let noScenario = false, me = null, runID = params.get("run"), status = null, notifications = [], exercise = null, evaluation = null, exerciseFetchedAt = 0, lastSeq = 0, streamAbort = null;

// Escapes for text and for quoted attribute values (names and titles come from people and playbooks).
function esc(text) { return (text == null ? "" : String(text)).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]); }
async function api(method, path, body) {
  const response = await fetch(path, { method, headers: Object.assign({ Authorization: "Bearer " + token },
    body ? { "Content-Type": "application/json" } : {}), body: body ? JSON.stringify(body) : undefined });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) { signOut(); throw new Error(data.error || "sign in again"); }
  if (!response.ok) throw Object.assign(new Error(data.error || response.statusText), { status: response.status });
  return data;
}
// Shows one view; when it is a different one than before, names the page and moves focus to its heading, so a
// screen reader says where the person is and Tab starts from there.
let shownSection = null;
function show(section, title) {
  for (const s of ["login", "runs", "board"]) $(s).hidden = s !== section;
  if (title) document.title = title + " · Muster";
  if (section !== shownSection) {
    shownSection = section;
    const heading = $(section).querySelector("h1");
    if (heading && !(section === "login" && document.activeElement === $("token"))) heading.focus();
  }
}
function announce(text) { $("announce").textContent = ""; setTimeout(() => { $("announce").textContent = text; }, 50); }
function signOut() {
  sessionStorage.removeItem("muster-token"); token = null; me = null; runID = null;
  if (streamAbort) streamAbort.abort();
  leaveShared();
  $("who").textContent = ""; $("logout").hidden = true;
  show("login", "Sign in");
}
function until(iso) {
  const ms = Date.parse(iso) - Date.now(), sign = ms < 0 ? "-" : "", a = Math.abs(ms);
  const h = Math.floor(a / 3600000), m = Math.floor(a % 3600000 / 60000), s = Math.floor(a % 60000 / 1000);
  return sign + (h ? h + "h" : "") + String(m).padStart(h ? 2 : 1, "0") + "m" + String(s).padStart(2, "0") + "s";
}
const hhmm = (iso) => iso ? iso.slice(11, 16) : "";
// Replaces an element's HTML but keeps what the person was typing in it (the board re-renders on every event).
function setHTML(id, html) {
  const el = $(id), kept = {};
  for (const input of el.querySelectorAll("input[name], textarea[name], select[name]")) kept[input.name] = input.value;
  el.innerHTML = html;
  for (const input of el.querySelectorAll("input[name], textarea[name], select[name]")) {
    if (kept[input.name] !== undefined) input.value = kept[input.name];
  }
}
// What identifies a control across redraws: its id, else its tag, name and data-* attributes (the board's
// buttons carry what they act on: data-done="confirm", data-relieve="it_ops").
function focusKey(el) {
  if (!el || el === document.body || el === document.documentElement) return null;
  if (el.id) return "#" + CSS.escape(el.id);
  let key = el.tagName.toLowerCase();
  if (el.name) key += `[name="${CSS.escape(el.name)}"]`;
  for (const [k, v] of Object.entries(el.dataset)) key += `[data-${k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}="${CSS.escape(v)}"]`;
  return key;
}
const focusable = (root) => [...root.querySelectorAll("button, input, select, textarea, a[href], [tabindex]:not([tabindex='-1'])")]
  .filter((el) => !el.disabled && !el.closest("[hidden]") && el.getClientRects().length);
// Runs `redraw` and puts focus back where it was: on the same control if it is still there (with the caret where
// it was), else on the control now at its place in the nearest region that survived (the next task's Done after
// Done), else on that region's heading or the region itself. Focus that was not lost is left alone.
function keepFocus(redraw) {
  const el = document.activeElement, key = focusKey(el);
  const regions = [];
  for (let r = el && el.parentElement; r && r !== document.body; r = r.parentElement) if (r.id) regions.push([r, focusable(r).indexOf(el)]);
  let caret = null;
  try { if (el && typeof el.selectionStart === "number") caret = [el.selectionStart, el.selectionEnd]; } catch (e) { caret = null; }
  redraw();
  if (!key || (document.contains(el) && document.activeElement === el)) return;
  let target = document.querySelector(key);
  if (target && (target.closest("[hidden]") || !target.getClientRects().length)) target = null;
  if (!target) {
    const kept = regions.find(([r]) => document.contains(r) && !r.closest("[hidden]"));
    if (kept) {
      const [region, index] = kept, list = focusable(region);
      target = list[Math.min(Math.max(index, 0), list.length - 1)];
      if (!target) {
        const heading = region.previousElementSibling && /^H[1-6]$/.test(region.previousElementSibling.tagName) ? region.previousElementSibling : null;
        target = heading || region;
        if (!target.hasAttribute("tabindex")) target.tabIndex = -1;
      }
    }
  }
  if (!target) return;
  target.focus({ preventScroll: true });
  if (caret && typeof target.setSelectionRange === "function") { try { target.setSelectionRange(caret[0], caret[1]); } catch (e) { /* not a text field */ } }
}

async function start() {
  if (!token) return show("login", "Sign in");
  try { me = await api("GET", "/api/me"); } catch (e) { $("login-error").textContent = "Not signed in: " + e.message; return show("login", "Sign in"); }
  $("who").textContent = "signed in as " + me.name; $("logout").hidden = false; $("login-error").textContent = "";
  if (runID) openRun(runID); else listRuns();
}

// MARK: run list, declaring a run, starting an exercise
async function listRuns() {
  leaveShared();
  show("runs", "Runs");
  const [data, books, drills] = await Promise.all([api("GET", "/api/runs"), api("GET", "/api/playbooks").catch(() => ({ playbooks: [] })),
    api("GET", "/api/exercises").catch(() => ({ exercises: [] }))]);
  $("run-list").innerHTML = data.runs.map(r => `<li><a href="#run=${esc(r.id)}">${esc(r.title)}</a> — ${esc(r.id)}, ${esc(r.status)}, state ${esc(r.state)}, ${esc(r.mode)}${r.restricted ? ", restricted" : ""}</li>`).join("") || "<li>No runs yet.</li>";
  $("declare-playbook").innerHTML = books.playbooks.map(p => `<option value="${esc(p.id)}">${esc(p.title)} (${esc(p.id)} v${esc(p.version)}, ${esc(p.severity)})</option>`).join("");
  const valid = drills.exercises.filter(x => x.valid);
  $("exercise-form").hidden = valid.length === 0;
  $("exercise-pick").innerHTML = valid.map(x => `<option value="${esc(x.id)}">${esc(x.title)} (${esc(x.id)}, speed ${esc(x.pace)})</option>`).join("");
}
$("declare-form").addEventListener("submit", async (ev) => {
  ev.preventDefault(); $("runs-message").textContent = "";
  const body = { playbook: $("declare-playbook").value, title: $("declare-title").value.trim(), mode: $("declare-mode").value, restricted: $("declare-restricted").checked };
  if ($("declare-severity").value) body.severity = $("declare-severity").value;
  if ($("declare-disruption").value.trim()) body.disruption_started = $("declare-disruption").value.trim();
  try { const run = await api("POST", "/api/runs", body); location.hash = "run=" + encodeURIComponent(run.id); }
  catch (e) { $("runs-message").textContent = e.message; }
});
$("exercise-form").addEventListener("submit", async (ev) => {
  ev.preventDefault(); $("runs-message").textContent = "";
  const body = { exercise: $("exercise-pick").value };
  if ($("exercise-speed").value.trim()) body.speed = $("exercise-speed").value.trim();
  try { const run = await api("POST", "/api/exercises", body); location.hash = "run=" + encodeURIComponent(run.id); }
  catch (e) { $("runs-message").textContent = e.message; }
});

// MARK: the run board
async function openRun(id) {
  runID = id; exercise = null; evaluation = null; noScenario = false; status = null; closeAsk();
  $("timeline").innerHTML = ""; lastSeq = 0;
  await refresh();
  show("board", pageTitle());
  verifyChain(false);
  if (me.admin) api("GET", "/api/users").then(u => { peopleFromUsers = u.users.filter(x => !x.revoked_at).map(x => x.name); renderPeople(); }).catch(() => {});
  await loadTimeline(id);
  if (!watchShared(id)) stream();
}
async function loadTimeline(id) {
  const events = await api("GET", `/api/runs/${encodeURIComponent(id)}/events`);
  if (id !== runID) return;
  const log = $("timeline-log");
  log.setAttribute("aria-busy", "true");   // the backlog is not read out; what arrives later is
  for (const e of events.events) addEvent(e);
  log.removeAttribute("aria-busy");
}
const pageTitle = () => status ? `${status.title} (${status.state ? status.state.title : status.status}${status.status === "closed" ? ", closed" : ""})` : "Run";
async function refresh() {
  const id = encodeURIComponent(runID);
  const [s, n] = await Promise.all([api("GET", `/api/runs/${id}`), api("GET", `/api/runs/${id}/notifications`).catch(() => ({ notifications: [] }))]);
  status = s; notifications = n.notifications;
  // A practice run declared in exercise mode has no scenario: after its 404, do not ask again on every event.
  if (s.mode === "exercise" && !noScenario) {
    try { exercise = await api("GET", `/api/runs/${id}/exercise`); exerciseFetchedAt = Date.now(); } catch (e) { exercise = null; noScenario = e.status === 404; }

    // The facilitator and the commander see the evaluation while the exercise runs, everyone once it ended (403 before).
    evaluation = noScenario ? null : await api("GET", `/api/runs/${id}/evaluation`).catch(() => null);
  }
  if (id !== encodeURIComponent(runID)) return;
  keepFocus(render);
  if (!$("board").hidden) document.title = pageTitle() + " · Muster";
}
let peopleFromUsers = [];
function renderPeople() {
  const names = new Set(peopleFromUsers);
  if (status) for (const r of status.roles) if (r.holder) names.add(r.holder);
  if (me) names.add(me.name);
  $("people").innerHTML = [...names].sort().map(n => `<option value="${esc(n)}">`).join("");
}
function render() {
  const s = status, can = s.you.can || {}, active = s.status === "active";
  $("run-title").textContent = s.title;
  $("run-meta").innerHTML = `<span id="run-state">${esc(s.state ? s.state.title : "?")}</span> · phase <span id="run-phase">${esc(s.state ? s.state.phases.join(", ") : "")}</span> · ${esc(s.severity)} · ${esc(s.mode)} · ${esc(s.status)} · you: ${esc(s.you.roles.join(", ") || (s.you.facilitator ? "facilitator" : "observer"))}`;
  $("report").onclick = async () => { const r = await document_(`/api/runs/${encodeURIComponent(runID)}/report?format=html`); if (r) showReport(await r.blob()); };
  if (reportOnLoad) { reportOnLoad = false; $("report").click(); }
  $("tasks").innerHTML = s.tasks.map(g => `<div class="role"><strong>${esc(g.title)}</strong> — ${esc(g.holder || "unassigned")}` +
    g.tasks.map(t => `<div class="task ${esc(t.status)}" data-task="${esc(t.id)}"><span>${esc(t.title)} (${esc(t.status)})</span>` +
      (t.status === "open" && t.can_act && active ? `<span><button class="primary" data-done="${esc(t.id)}" data-evidence="${t.evidence}" aria-label="Done: ${esc(t.title)}">Done</button> <button data-skip="${esc(t.id)}" aria-label="Skip: ${esc(t.title)}">Skip</button></span>` : "") + `</div>`).join("") + `</div>`).join("") || "<p>No tasks in this state.</p>";
  const d = s.decision;
  setHTML("decision", d ? `<p><strong>${esc(d.question)}</strong> (by ${esc(d.by)}: ${esc(d.holder || "unassigned")}${d.deadline ? (d.default ? `, default <strong>${esc(d.default)}</strong>` : ", deadline") + " in <span data-until='" + esc(d.deadline) + "'></span>" : ""})</p>` +
    (d.can_decide && active ? `<label for="rationale">Rationale (required)</label><textarea id="rationale" name="rationale"></textarea>` + d.options.map(o => `<button data-option="${esc(o.option)}">${esc(o.option)}</button> `).join("") : "") : "<p>No pending decision.</p>");
  // Events the current state's transitions take, and closing: for people on the run / the commander.
  const raise = active && can.raise && s.raisable_events.length ? `<h2>Raise an event</h2><p id="raise-buttons">` + s.raisable_events.map(e => `<button data-raise="${esc(e)}">${esc(e)}</button> `).join("") + `</p>` : "";
  const close = active && can.close ? `<form id="close-form" class="inline"><h2>Close the run</h2><label for="close-reason">Reason</label> <input id="close-reason" name="close-reason" placeholder="e.g. restored and verified" required> <button>Close the run</button></form>` : "";
  setHTML("move-on", raise + close);
  const clocks = s.timers.map(t => `<li title="${esc(t.id)}">${esc(t.label || t.id)}: <span data-until="${esc(t.due)}"></span></li>`)
    .concat(s.services.flatMap(v => [v.rto_due ? `<li>${esc(v.title)} RTO ${esc(v.rto)}: <span data-until="${esc(v.rto_due)}"></span></li>` : "", v.mtpd_due ? `<li>${esc(v.title)} MTPD ${esc(v.mtpd)}: <span data-until="${esc(v.mtpd_due)}"></span></li>` : ""]));
  $("clocks").innerHTML = clocks.join("") || "<li>None running.</li>";
  setHTML("roles", s.roles.map(r => `<li data-role="${esc(r.role)}">${esc(r.title)}: <strong>${esc(r.holder || "unassigned")}</strong>` +
    (active && can.assign ? ` <form class="inline assign" data-assign="${esc(r.role)}"><input name="assign-${esc(r.role)}" list="people" placeholder="person" size="10" required aria-label="Person for ${esc(r.title)}"> <button aria-label="${r.holder ? "Hand over" : "Assign"} ${esc(r.title)}">${r.holder ? "Hand over" : "Assign"}</button></form>` : "") +
    (active && can.relieve && r.holder ? ` <button data-relieve="${esc(r.role)}" aria-label="Relieve ${esc(r.title)}">Relieve</button>` : "") + `</li>`).join(""));
  renderPeople();
  renderHearingBack(s, active && can.mark_accounted);
  setHTML("notifications", notifications.map(n => `<li class="notification ${esc(n.status)}" data-notification="${esc(n.id)}"><strong>${esc(n.channel)}</strong> <span class="badge">${esc(deliveryText(n))}</span>` +
    (n.retryable && can.retry_notification ? ` <button data-retry="${esc(n.id)}" aria-label="Retry ${esc(n.id)} to ${esc(n.channel)}">Retry</button>` : "") + `<br>${esc(n.message || n.trigger)}</li>`).join("") || "<li>None queued.</li>");
  $("notes").innerHTML = s.notes.map(n => `<li>${esc(n.actor)}: ${esc(n.text)}</li>`).join("") || "<li>None.</li>";
  $("lessons").innerHTML = s.lessons.map(l => `<li>[${esc(l.kind)}] ${esc(l.text)}${l.root_cause ? " (root cause: " + esc(l.root_cause) + ")" : ""} — ${esc(l.actor)}</li>`).join("") || "<li>None.</li>";
  $("lesson-form").hidden = !can.lesson;
  renderExercise();
  renderEvaluation();
  $("scenario-export").hidden = !exercise;
  tick();
}
// Acknowledgements (who was paged; who acknowledged and when, or the countdown to the next escalation) and roll
// calls (tally per option, not yet answered, unreached, against `within` with a countdown, and the people still
// unaccounted for, names only). `markable`: the person may mark someone accounted for (a role on the run).
const maxMarkable = 100;
function renderHearingBack(s, markable) {
  const h = s.hearing_back || { acks: [], roll_calls: [] };
  $("hearing-back").hidden = !h.acks.length && !h.roll_calls.length;
  $("acks-panel").hidden = !h.acks.length;
  $("roll-calls-panel").hidden = !h.roll_calls.length;
  const paged = (a) => a.paged.length ? a.paged.map(esc).join(", ") : `nobody (${esc(a.role_title)} unassigned)`;
  setHTML("acks", h.acks.map(a => {
    const state = a.acknowledged_by ? "acknowledged" : a.exhausted ? "exhausted" : "pending";
    let text;
    if (a.acknowledged_by) text = `<strong class="state">acknowledged</strong> by ${esc(a.acknowledged_by)} at ${hhmm(a.acknowledged_at)} (after ${esc(Math.round(a.latency_ms / 60000))} min)${a.steps ? `, after ${a.steps} escalation step${a.steps === 1 ? "" : "s"}` : ""}`;
    else if (a.exhausted) text = `<strong class="state">not acknowledged</strong>: escalation exhausted after ${a.steps} step${a.steps === 1 ? "" : "s"}`;
    else text = `<strong class="state">waiting</strong>` + (a.next_escalation ? `; next escalation${a.next_step ? " to " + esc(a.next_step) : ""} in <span data-until="${esc(a.next_escalation)}"></span>` : "");
    return `<li class="ack ${state}" data-ack="${esc(a.id)}"><strong>${esc(a.id)}</strong> (${esc(a.role_title)}, within ${esc(a.within)}): paged ${paged(a)} at ${hhmm(a.requested_at)}; ${text}</li>`;
  }).join(""));
  setHTML("roll-calls", h.roll_calls.map(r => {
    if (!r.started_at) return `<div class="rollcall" data-rollcall="${esc(r.id)}"><strong>${esc(r.id)}</strong>: asked for, waiting for the people directory.</div>`;
    const within = !r.within ? "" : r.complete ? ` · within ${esc(r.within)}: all accounted` :
      r.overdue ? ` · within ${esc(r.within)}: <strong>OVERDUE</strong>` : ` · within ${esc(r.within)}: <span data-until="${esc(r.deadline)}"></span> left`;
    const options = r.options.map(o => `<li>${esc(o.label)} (${esc(o.option)}): <strong>${o.people}</strong></li>`).join("");
    const extra = [r.marked ? `marked by hand ${r.marked}` : "", `not yet answered ${r.not_yet_answered}`, r.unreached == null ? "" : `unreached ${r.unreached}`].filter(Boolean).join(" · ");
    const listID = "unaccounted-" + r.id.replace(/[^A-Za-z0-9_-]/g, "_");
    const names = r.unaccounted.slice(0, maxMarkable).map(p => `<li>${esc(p)}` +
      (markable ? ` <button data-account="${esc(r.id)}" data-person="${esc(p)}" aria-label="Mark accounted: ${esc(p)} (${esc(r.id)})">Mark accounted</button>` : "") + `</li>`).join("");
    const more = r.unaccounted.length > maxMarkable ? `<li>and ${r.unaccounted.length - maxMarkable} more (muster incident status lists them all)</li>` : "";
    const missing = r.unaccounted.length ? `<h4 id="${listID}">Unaccounted for (${r.unaccounted.length})</h4><ul class="unaccounted" aria-labelledby="${listID}">${names}${more}</ul>` : "";
    return `<div class="rollcall${r.complete ? " complete" : ""}${r.overdue ? " overdue" : ""}" data-rollcall="${esc(r.id)}"><p><strong>${esc(r.id)}</strong>: <span class="tally">${r.accounted} of ${r.people} accounted for (${r.accounted_percent}%)</span>${within}</p>` +
      `<ul class="options">${options}</ul><p>${extra}</p>${missing}</div>`;
  }).join(""));
}
// The delivery status in words: queued / sending / sent (HTTP status, latency) / retrying (attempt, next at, error) / dead-lettered / skipped.
function deliveryText(n) {
  switch (n.status) {
    case "sent": return `sent${n.http_status ? " (HTTP " + n.http_status + ", " : " ("}${n.latency_ms} ms${n.attempt > 1 ? ", attempt " + n.attempt : ""})`;
    case "retrying": return `retrying (attempt ${n.attempt} failed${n.next_attempt ? ", next at " + n.next_attempt.slice(11, 19) : ""}: ${n.last_error})`;
    case "dead-lettered": return `dead-lettered after ${n.attempt} attempt${n.attempt === 1 ? "" : "s"}: ${n.last_error}`;
    case "skipped": return `skipped: ${n.reason}`;
    case "sending": return `sending (attempt ${n.attempt})`;
    default: return "queued";
  }
}

// MARK: the exercise view (facilitator: clock controls, whole inject queue, objectives; players: delivered injects)
function scenarioNow() {
  const c = exercise.clock, base = Date.parse(c.scenario_now), speed = Number(c.speed);
  if (!c.running || !isFinite(speed)) return base;
  return Math.min(base + (Date.now() - exerciseFetchedAt) * speed, Date.parse(c.end));
}
function renderExercise() {
  const x = exercise, full = x && x.you_facilitate;
  $("exercise-panel").hidden = !x;
  if (!x) return;
  $("exercise-title").textContent = x.exercise.title;
  $("exercise-controls").hidden = !full || x.clock.ended || !x.driven;
  $("adhoc-form").hidden = !full || x.clock.ended || !x.driven;
  $("objectives-panel").hidden = !full;
  document.querySelector("[data-control=pause]").hidden = x.clock.paused;
  document.querySelector("[data-control=resume]").hidden = !x.clock.paused;
  $("inject-heading").textContent = full ? "Inject queue" : "Injects delivered";
  const expectText = (e) => e.status === "awaiting-inject" ? "after its inject" : e.status;
  setHTML("inject-queue", x.injects.map(i => {
    const when = i.status === "delivered" ? `delivered ${hhmm(i.delivered_at)}` : i.status === "withheld" ? `withheld: ${esc(i.withheld_reason)}` : `coming at ${hhmm(i.scenario_at)} (+${esc(i.at)})`;
    const release = full && i.status === "coming" && x.driven && !x.clock.ended ? ` <button data-deliver="${esc(i.id)}" aria-label="${i.contingency ? "Release contingency" : "Deliver now"}: ${esc(i.id)}">${i.contingency ? "Release contingency" : "Deliver now"}</button>` : "";
    const expects = full && i.expectations.length ? `<ul class="expectations">` + i.expectations.map(e => `<li class="expect ${esc(e.status)}">${esc(e.text)} within ${esc(e.within)}: <strong>${esc(expectText(e))}</strong>${e.late_by ? " by " + esc(e.late_by) : ""}</li>`).join("") + `</ul>` : "";
    return `<li class="inject ${esc(i.status)}" data-inject="${esc(i.id)}"><strong>${esc(i.id)}</strong>${full && i.contingency ? " <em>contingency</em>" : ""} · ${when} · ${esc(i.from || "")} → ${esc(i.to.join(", "))} (${esc(i.method)})<br>${esc(i.message)}${release}${expects}</li>`;
  }).join("") + x.ad_hoc.map(a => `<li class="inject delivered adhoc"><strong>${esc(a.id)}</strong> · ad hoc, ${hhmm(a.at)}<br>${esc(a.message)}</li>`).join("") || "<li>Nothing delivered yet.</li>");
  if (full) setHTML("objectives", (x.objectives || []).map(o => `<div class="objective" data-objective="${esc(o.id || "")}"><strong>${esc(o.id || "")}</strong> ${esc(o.text)}` +
    (o.id ? ` — met ${o.met}, late ${o.late}, missed ${o.missed}, pending ${o.pending}${o.rating ? ", rating " + esc(o.rating) : ""}` : "") +
    `<ul>` + o.expectations.map(e => `<li class="expect ${esc(e.status)}">${esc(e.inject)}: ${esc(e.text)} — <strong>${esc(expectText(e))}</strong></li>`).join("") + `</ul></div>`).join(""));
}
// Ratings per objective (an overrule shows the computed rating it replaced); the overrule form for the
// facilitator and the commander once the exercise ended.
function renderEvaluation() {
  const v = evaluation;
  $("evaluation-panel").hidden = !v;
  if (!v) return;
  const ratings = { P: "P: performed without challenges", S: "S: some challenges", M: "M: major challenges", U: "U: unable to be performed" };
  setHTML("evaluation", `<p>${v.ended ? "The exercise has ended." : "The exercise is running: ratings so far."}</p><ul id="ratings">` +
    v.objectives.map(o => `<li data-rating="${esc(o.id)}"><strong>${esc(o.id)}</strong> ${esc(o.text)}: <strong class="rating">${esc(o.rating || "not rated")}</strong>` +
      (o.score_percent != null ? ` (${esc(o.score_percent)}%)` : "") +
      (o.overrule ? ` — overruled from ${esc(o.computed_rating || "none")} by ${esc(o.overrule.by)}: ${esc(o.overrule.note)}` : "") + `</li>`).join("") + `</ul>` +
    (v.you.may_overrule ? `<form id="overrule-form"><h3>Overrule a rating</h3><label for="overrule-objective">Objective</label> <select id="overrule-objective" name="overrule-objective">` +
      v.objectives.map(o => `<option value="${esc(o.id)}">${esc(o.id)}: ${esc(o.text)}</option>`).join("") + `</select> <label for="overrule-rating">Rating</label> <select id="overrule-rating" name="overrule-rating">` +
      Object.entries(ratings).map(([k, t]) => `<option value="${k}">${esc(t)}</option>`).join("") +
      `</select> <label for="overrule-note">Why (required)</label> <input id="overrule-note" name="overrule-note" required> <button>Overrule</button></form>` : ""));
}
function renderScenarioClock() {
  if (!exercise) return;
  const c = exercise.clock, now = new Date(scenarioNow()).toISOString();
  const state = c.ended ? "ended" : c.paused ? "paused" : c.speed === "manual" ? "manual: moves when the facilitator skips ahead" : "running";
  $("scenario-clock").innerHTML = `Scenario time <strong id="scenario-now">${esc(now.slice(0, 10))} ${esc(now.slice(11, 19))}</strong> · speed <span id="scenario-speed">${esc(c.speed)}</span> · <span id="scenario-state">${state}</span>` +
    (exercise.driven ? "" : " · not driven by this server (read only)");
}

function tick() {
  for (const el of document.querySelectorAll("[data-until]")) { el.textContent = until(el.dataset.until); el.classList.toggle("overdue", Date.parse(el.dataset.until) < Date.now()); }
  renderScenarioClock();
}
setInterval(tick, 1000);
// An event as a sentence ("Lee completed Evacuate the building: Building clear"), with the playbook's titles
// from the status's `names`; an event it has no words for keeps the server's description.
function sentence(e) {
  const n = (status && status.names) || {}, title = (kind, id) => (n[kind] && n[kind][id]) || id;
  const who = e.actor === "muster" ? "Muster" : e.actor;
  const p = e.payload && typeof e.payload === "object" ? e.payload : {};
  // The payload is `{"taskCompleted": {"task": …}}`, or `{"markSet": {"_0": …}}` for an unlabelled value.
  let raw = (Object.values(p)[0]) || {};
  if (raw && typeof raw === "object" && Object.keys(raw).length === 1 && "_0" in raw && raw._0 && typeof raw._0 === "object") raw = raw._0;
  const b = raw && typeof raw === "object" ? raw : {};
  const tail = (text) => text ? ": " + text : "";
  const first = (...keys) => { for (const k of keys) if (b[k] != null && b[k] !== "") return b[k]; return null; };
  switch (e.type) {
    case "run-started": return `${who} declared ${first("title") || "the run"} (${first("severity")}, ${first("mode")})`;
    case "state-entered": {
      const c = b.cause || {}, why = c.event ? ` on ${Object.values(c.event)[0] || ""}` : c.decision ? " by the decision" : c.guardHeld ? ": its condition held" : "";
      return `The run entered ${title("states", first("state"))}${why}`;
    }
    case "mark-set": return `Marked ${first("mark", "_0")}`;
    case "role-assigned": return `${who} assigned ${first("person")} as ${title("roles", first("role"))}`;
    case "role-relieved": return `${who} relieved ${first("person")} as ${title("roles", first("role"))}${tail(first("handover"))}`;
    case "task-completed": return `${who} completed ${title("tasks", first("task"))}${tail(first("note"))}`;
    case "task-skipped": return `${who} skipped ${title("tasks", first("task"))}${tail(first("reason"))}`;
    case "event-raised": return `${who} raised ${first("name", "_0")}`;
    case "decision-made": {
      const question = title("decisions", first("decision")), option = first("option");
      return first("byDefault", "by_default") ? `${option} was chosen by default at the deadline for “${question}”` : `${who} chose ${option} for “${question}”${tail(first("rationale"))}`;
    }
    case "note-added": return `${who} noted: ${first("text", "_0")}`;
    case "lesson-recorded": { const l = b.lesson || b; return `${who} recorded a lesson (${l.kind || "lesson"}): ${l.text || ""}`; }
    case "timer-armed": return `Timer set: ${title("timers", (b.key || {}).id)}`;
    case "timer-fired": return `Timer fired: ${title("timers", (b.key || {}).id)}`;
    case "timer-cancelled": return `Timer stopped: ${title("timers", (b.key || b).id)}`;
    case "notification-queued": return `Notification to ${first("channel")} queued: ${first("message")}`;
    case "notification-sent": return `Notification ${first("id")} sent to ${first("channel")}`;
    case "notification-failed": return `Notification ${first("id")} to ${first("channel")} failed (attempt ${first("attempt")}): ${first("reason")}`;
    case "notification-dead-lettered": return `Notification ${first("id")} to ${first("channel")} gave up after ${first("attempts")} attempt${first("attempts") === 1 ? "" : "s"}: ${first("reason")}`;
    case "run-closed": return `${who} closed the run${tail(first("reason", "_0"))}`;
    default: return `${who}: ${e.description}`;
  }
}
function addEvent(e) {
  if (e.seq <= lastSeq) return;
  lastSeq = e.seq;
  const li = document.createElement("li"); li.value = e.seq; li.dataset.seq = e.seq; li.dataset.type = e.type;
  let text;
  try { text = sentence(e); } catch (error) { text = `${e.actor}: ${e.description}`; }
  if (!text || text.includes("undefined") || text.includes("null")) text = `${e.actor === "muster" ? "Muster" : e.actor}: ${e.description}`;
  li.textContent = `${e.at.slice(11, 19)} ${text}`;
  // Scroll the timeline box only: scrolling the page would pull a phone's screen away from the tasks.
  const box = $("timeline"); box.appendChild(li); box.scrollTop = box.scrollHeight;
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
// One live stream per browser for all the board's tabs (stream-worker.js): browsers open six connections per
// server, so six tabs with a stream each left a seventh waiting. Without SharedWorker, a stream per tab.
let shared = null, sharedRun = null;
function watchShared(id) {
  if (typeof SharedWorker === "undefined") return false;
  try {
    if (!shared) {
      shared = new SharedWorker("/stream-worker.js", { name: "muster-stream" });
      shared.port.onmessage = (m) => {
        const d = m.data || {};
        if (d.type === "event") { if (sharedRun === runID) { addEvent(d.event); scheduleRefresh(); } }
        else if (d.type === "gap") { if (sharedRun === runID) loadTimeline(runID).then(scheduleRefresh).catch(() => {}); }
        else if (d.type === "refused" && d.status === 401) signOut();
      };
      shared.port.start();
      window.addEventListener("pagehide", leaveShared);
    }
    sharedRun = id;
    shared.port.postMessage({ type: "watch", run: id, token, after: lastSeq });
    return true;
  } catch (e) { shared = null; return false; }
}
function leaveShared() { if (shared && sharedRun) shared.port.postMessage({ type: "leave" }); sharedRun = null; }
let refreshTimer = null, verifyTimer = null, verifyDue = 0;
// After events: the status (debounced), and the chain check, so that its count and head stay current: two seconds
// after the last event, and at least every ten seconds while events keep coming (a verify reads the whole chain).
function scheduleRefresh() {
  clearTimeout(refreshTimer); refreshTimer = setTimeout(() => refresh().catch(() => {}), 150);
  const now = Date.now();
  if (!verifyTimer) verifyDue = now + 10000;
  clearTimeout(verifyTimer);
  verifyTimer = setTimeout(() => { verifyTimer = null; verifyChain(false).catch(() => {}); }, Math.max(0, Math.min(2000, verifyDue - now)));
}
async function post(path, body) {
  $("message").textContent = "";
  try { await api("POST", `/api/runs/${encodeURIComponent(runID)}/${path}`, body); await refresh(); return true; }
  catch (e) { $("message").textContent = e.message; return false; }
}
const command = (body) => post("commands", body);
// Verifies the run's hash chain on the server and shows the answer beside the "Verify chain" link.
// `say`: announce the answer (a click on Verify chain); the re-checks after events update the line silently.
async function verifyChain(say) {
  const chain = $("chain"), id = runID;
  if (say) { chain.className = ""; chain.textContent = "checking…"; }
  try {
    const v = await api("GET", `/api/runs/${encodeURIComponent(id)}/verify`);
    if (id !== runID) return;
    chain.className = v.intact ? "intact" : "broken";
    chain.textContent = v.intact ? `intact: ${v.event_count} events, head ${v.head_hash.slice(0, 12)}` : `BROKEN at event ${v.first_broken.seq}: ${v.first_broken.problem}`;
  } catch (e) { chain.textContent = e.message; }
  if (say) announce("Chain " + chain.textContent);
}
// Documents (report, timeline downloads) go through fetch with the Authorization header, so no token ever sits
// in a URL; a refusal is shown in the message line and gives null.
async function document_(path) {
  $("message").textContent = "";
  const response = await fetch(path, { headers: { Authorization: "Bearer " + token } });
  if (!response.ok) { $("message").textContent = (await response.json().catch(() => ({}))).error || response.statusText; return null; }
  return response;
}
// The after-action report goes into a sandboxed frame (`sandbox` without allow-same-origin or allow-scripts): an
// opaque origin that runs nothing and cannot read this page's session token. Its blob: URL inherits the board's
// CSP, which admits exactly the report's stylesheet by its hash, so it looks as `muster report` writes it.
function setInert(on) { for (const el of document.querySelectorAll("body > header, body > main")) el.inert = on; }
let reportOpener = null;
function showReport(blob) {
  reportOpener = document.activeElement;
  const frame = $("report-frame"), previous = frame.src;
  const url = URL.createObjectURL(new Blob([blob], { type: "text/html" }));
  // A modal dialog: what is behind it is inert (no Tab into it) until the report is closed.
  frame.onload = () => { if (frame.src === url) { $("report-view").hidden = false; setInert(true); $("report-close").focus(); } };
  frame.src = url; $("report-save").href = url;
  if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
}
// The readiness scorecard (GET /api/readiness) opens in the same sandboxed frame as a report.
$("readiness").addEventListener("click", async (ev) => {
  ev.preventDefault();
  const response = await fetch("/api/readiness?format=html", { headers: { Authorization: "Bearer " + token } });
  if (!response.ok) { $("runs-message").textContent = (await response.json().catch(() => ({}))).error || response.statusText; return; }
  showReport(await response.blob());
});
$("report-close").addEventListener("click", () => {
  const frame = $("report-frame"); $("report-view").hidden = true; setInert(false);
  if (frame.src.startsWith("blob:")) URL.revokeObjectURL(frame.src);
  frame.removeAttribute("src"); $("report-save").removeAttribute("href");
  // Focus goes back to what opened it (the report button, or the scorecard button of the run list).
  (reportOpener && document.contains(reportOpener) && !reportOpener.closest("[hidden]") ? reportOpener : $("report")).focus();
});
document.addEventListener("keydown", (ev) => {
  if (ev.key !== "Escape") return;
  if (!$("report-view").hidden) $("report-close").click();
  else if (!$("ask-form").hidden) closeAsk(true);
});
async function download(format) {
  const response = await document_(`/api/runs/${encodeURIComponent(runID)}/timeline?format=${format}`);
  if (!response) return;
  const url = URL.createObjectURL(await response.blob()), a = document.createElement("a");
  a.href = url; a.download = `${runID}-timeline${format === "scenario" ? "-scenario.txt" : "." + format}`;
  document.body.appendChild(a); a.click(); a.remove(); setTimeout(() => URL.revokeObjectURL(url), 1000);
}
const control = (body) => post("exercise", body);
document.addEventListener("click", (ev) => {
  const t = ev.target.closest ? (ev.target.closest("button") || ev.target) : ev.target, data = t.dataset || {};
  if (data.done) {
    if (data.evidence === "true") ask(t, `Evidence for ${taskTitle(data.done)} (required)`, "Mark done", true, (note) => command({ type: "task-done", task: data.done, note }));
    else command({ type: "task-done", task: data.done });
  }
  else if (data.skip) ask(t, `Why skip ${taskTitle(data.skip)}? (required)`, "Skip the task", true, (reason) => command({ type: "task-skip", task: data.skip, reason }));
  else if (data.option) { const rationale = $("rationale").value.trim(); if (!rationale) { $("message").textContent = "Give a rationale first."; return; } command({ type: "decide", decision: status.decision.id, option: data.option, rationale }); }
  else if (data.raise) command({ type: "event", name: data.raise });
  else if (data.relieve) ask(t, `Relieve ${roleTitle(data.relieve)}: handover note (optional)`, "Relieve", false, (handover) => command(handover ? { type: "relieve", role: data.relieve, handover } : { type: "relieve", role: data.relieve }));
  else if (data.account) ask(t, `Mark ${data.person} accounted for (${data.account}): where were they seen? (required)`, "Mark accounted", true,
    (why) => command({ type: "mark-accounted", roll_call: data.account, person: data.person, why }));
  else if (data.retry) post(`notifications/${encodeURIComponent(data.retry)}/retry`);
  else if (data.download) download(data.download);
  else if (t.id === "verify") verifyChain(true);
  else if (data.deliver) control({ control: "deliver", inject: data.deliver });
  else if (data.control) { if (data.control === "end" && !confirm("End the exercise?")) return; control({ control: data.control }); }
});
document.addEventListener("submit", async (ev) => {
  const f = ev.target;
  if (f.dataset.assign) {
    ev.preventDefault();
    const person = f.querySelector("input").value.trim();
    if (person && await command({ type: "assign", role: f.dataset.assign, person })) f.querySelector("input").value = "";
  } else if (f.id === "overrule-form") {
    ev.preventDefault();
    const body = { objective: f.elements["overrule-objective"].value, rating: f.elements["overrule-rating"].value, note: f.elements["overrule-note"].value.trim() };
    $("message").textContent = "";
    try { evaluation = await api("POST", `/api/runs/${encodeURIComponent(runID)}/evaluation`, body); f.elements["overrule-note"].value = ""; renderEvaluation(); }
    catch (e) { $("message").textContent = e.message; }
  } else if (f.id === "close-form") {
    ev.preventDefault();
    const reason = f.querySelector("input").value.trim();
    if (reason && confirm("Close this run?")) command({ type: "close", reason });
  }
});
// Evidence, a skip's reason and a handover note are asked in a form on the page (not prompt()): focus goes to
// its field and comes back to the button that asked (or its successor) afterwards; Cancel and Escape send nothing.
let asking = null;
const taskTitle = (id) => (status && status.names && status.names.tasks[id]) || id;
const roleTitle = (id) => (status && status.names && status.names.roles[id]) || id;
function ask(from, label, action, required, send) {
  asking = { from: focusKey(from), send, required };
  $("ask-label").textContent = label; $("ask-submit").textContent = action;
  $("ask-text").value = ""; $("ask-text").required = required;
  $("ask-form").hidden = false; $("ask-text").focus();
}
function closeAsk(returnFocus) {
  const was = asking; asking = null; $("ask-form").hidden = true; $("ask-text").value = "";
  if (returnFocus && was) { const back = was.from && document.querySelector(was.from); (back || $("tasks-heading")).focus(); }
}
$("ask-cancel").addEventListener("click", () => closeAsk(true));
$("ask-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!asking) return;
  const text = $("ask-text").value.trim(), current = asking;
  if (current.required && !text) { $("ask-text").focus(); return; }
  closeAsk(false);
  const back = current.from && document.querySelector(current.from);
  if (back) back.focus();   // keepFocus moves it on to the successor if the control goes away
  else $("tasks-heading").focus();
  await current.send(text);
});
$("note-form").addEventListener("submit", (ev) => { ev.preventDefault(); const text = $("note").value.trim(); if (text) { command({ type: "note", text }); $("note").value = ""; } });
$("lesson-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = { type: "lesson", text: $("lesson-text").value.trim(), kind: $("lesson-kind").value };
  if ($("lesson-root").value.trim()) body.root_cause = $("lesson-root").value.trim();
  if (await command(body)) { $("lesson-text").value = ""; $("lesson-root").value = ""; }
});
$("skip-form").addEventListener("submit", async (ev) => { ev.preventDefault(); if (await control({ control: "skip", by: $("skip-by").value.trim() })) $("skip-by").value = ""; });
$("speed-form").addEventListener("submit", async (ev) => { ev.preventDefault(); if (await control({ control: "speed", speed: $("speed-value").value.trim() })) $("speed-value").value = ""; });
$("adhoc-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = { control: "inject", message: $("adhoc-message").value.trim() };
  if ($("adhoc-to").value.trim()) body.to = $("adhoc-to").value.trim();
  if (await control(body)) { $("adhoc-message").value = ""; $("adhoc-to").value = ""; }
});
$("login-form").addEventListener("submit", (ev) => { ev.preventDefault(); token = $("token").value.trim(); $("token").value = ""; sessionStorage.setItem("muster-token", token); start(); });
$("logout").addEventListener("click", signOut);
window.addEventListener("hashchange", () => { const p = new URLSearchParams(location.hash.slice(1)); runID = p.get("run"); if (streamAbort) streamAbort.abort(); if (!token) return; if (runID) openRun(runID); else listRuns(); });
start();
