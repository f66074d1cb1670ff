// The dashboard: one page over the control API (/__mock__/*). It keeps no state of its own:
// every figure comes from a control call and every button makes one, so a bad value gets the
// control API's own error message. Task data is user input: it reaches the page as text only
// (textContent, never markup).

const POLL_MS = 1000;
const token = new URLSearchParams(location.search).get("token");
const ADMIN = token ? { "X-Mock-Admin-Token": token } : {};
const $ = (selector) => document.querySelector(selector);
let lastSpeed = 1; // what Unfreeze restores
let shownResult = null; // the preview is rebuilt only when the result changes (a video keeps playing)
const openExchanges = new Set(); // journal entries opened to their request and answer, kept across polls

async function control(method, path, body) {
  const init = { method, headers: { ...ADMIN } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let payload;
  try {
    payload = await (await fetch(`/__mock__${path}`, init)).json();
  } catch (error) {
    throw new Error(`${method} /__mock__${path}: the mock did not answer (${error.message})`);
  }
  if (payload.code !== 200) throw new Error(payload.msg || `${method} /__mock__${path} failed`);
  return payload.data;
}

function showError(message) {
  $("#error").textContent = message;
  $("#error").hidden = !message;
}

// A user's action: one control call; its error is shown, then the page catches up.
async function act(method, path, body) {
  try {
    await control(method, path, body);
    showError("");
  } catch (error) {
    showError(error.message);
  }
  await refresh();
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "style") node.style.cssText = value; // through the CSSOM: the page's policy forbids style attributes
    else node.setAttribute(name, value);
  }
  node.append(...children.map((child) => (child instanceof Node ? child : String(child ?? ""))));
  return node;
}

// Numbers go as numbers; anything else goes as typed, for the control API to refuse.
function typed(text) {
  const trimmed = text.trim();
  return trimmed !== "" && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

const isWebUrl = (url) => /^https?:\/\//i.test(url);
const when = (ms) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const stateBadge = (state) => el("span", { class: `state state-${state}` }, state);
const currentKey = () => $("#key").value.trim();

function parsed(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// --- the home view: tasks, controls, request journal -------------------------------------

// Every API's record keeps the request as a JSON string: the market's `param` (prompt under
// `input`), Veo's `paramJson`, Suno's `param` (prompt at the top), Runway's `generateParam`.
function requestOf(record) {
  return parsed(record.param ?? record.paramJson ?? "") ?? record.generateParam ?? null;
}

function promptOf(record) {
  const request = requestOf(record);
  return request?.input?.prompt ?? request?.prompt ?? "";
}

function taskRow(view, now) {
  const record = view.record;
  const prompt = promptOf(record);
  return el("tr", { "data-task-id": record.taskId },
    el("td", {}, el("a", { href: `#/tasks/${encodeURIComponent(record.taskId)}` }, el("code", {}, record.taskId))),
    el("td", {}, view.model),
    el("td", { class: "task-state" }, stateBadge(view.state)),
    el("td", {}, seconds(now - view.timeline[0].at)),
    el("td", {}, record.creditsConsumed ?? "–"),
    el("td", {}, view.apiKey),
    el("td", { class: "prompt", title: String(prompt) }, String(prompt)));
}

// A journal entry has no id: what it holds names it well enough for the page to remember it.
const exchangeId = (entry) => [entry.at, entry.method, entry.path, entry.status, entry.latencyMs].join(" ");

function exchange(entry) {
  const query = entry.query ? `?${entry.query}` : "";
  const request = [`${entry.method} ${entry.path}${query}`, entry.key ? `Authorization: Bearer ${entry.key}` : "",
    "", entry.request === null ? "(no body)" : JSON.stringify(parsed(entry.request), null, 2)].join("\n");
  return el("tr", { class: "exchange" }, el("td", { colspan: "7" }, el("div", { class: "json" },
    el("div", {}, el("h4", {}, "Request"), el("pre", { class: "exchange-request" }, request)),
    el("div", {}, el("h4", {}, `Answer · HTTP ${entry.status}`),
      el("pre", { class: "exchange-answer" }, JSON.stringify(parsed(entry.answer), null, 2))))));
}

function requestRows(entry) {
  const id = exchangeId(entry);
  const open = openExchanges.has(id);
  const toggle = el("button", { type: "button", class: "open", "aria-expanded": String(open),
    title: "the request and its answer" }, open ? "▾" : "▸");
  toggle.addEventListener("click", () => {
    if (!openExchanges.delete(id)) openExchanges.add(id);
    refresh();
  });
  const row = el("tr", { class: "entry" },
    el("td", {}, when(entry.at)), el("td", {}, entry.method), el("td", {}, el("code", {}, entry.path)),
    el("td", { class: "code" }, entry.code ?? "–"), el("td", {}, entry.status), el("td", {}, `${entry.latencyMs} ms`),
    el("td", {}, "answer" in entry ? toggle : ""));
  return open && "answer" in entry ? [row, exchange(entry)] : [row];
}

function journalMatches(entry) {
  const text = $("#journal-filter").value.trim().toLowerCase();
  const code = $("#journal-code").value.trim();
  const haystack = `${entry.method} ${entry.path} ${entry.operationId ?? ""}`.toLowerCase();
  return (!text || haystack.includes(text)) && (!code || String(entry.code) === code);
}

async function refreshHome(now) {
  const [views, journal, toggles] = await Promise.all(
    [control("GET", "/tasks?limit=200"), control("GET", "/requests"), control("GET", "/toggles")]);
  views.reverse(); // newest first
  fill($("#tasks tbody"), views.map((view) => taskRow(view, now)));
  $("#no-tasks").hidden = views.length > 0;
  $("#task-count").textContent = views.length ? `(${views.length}${views.length === 200 ? ", newest" : ""})` : "";
  if (!currentKey() && views.length) $("#key").value = views[0].apiKey;
  fill($("#requests tbody"), journal.filter(journalMatches).reverse().slice(0, 200).flatMap(requestRows));
  $("#maintenance").textContent = toggles.maintenance ? "on" : "off";
  $("#rate-limits").textContent = toggles.rateLimits ? "on" : "off";
  $("#features-off").textContent = toggles.disabledFeatures.join(", ") || "none";
  const key = currentKey();
  if (key) {
    const path = `/keys/${encodeURIComponent(key)}`;
    const [queue, balance] = await Promise.all([control("GET", `${path}/queue`), control("GET", `${path}/balance`)]);
    const queued = Object.entries(queue.queued).flatMap(([operation, names]) => names.map((name) => `${operation}: ${name}`));
    $("#queued").textContent = queued.join(", ") || "nothing";
    $("#balance").textContent = balance.balance;
  }
}

// --- the task view: timeline, result, callbacks, request and record --------------------

function timeline(stages, now) {
  const start = stages[0].at;
  const end = Math.max(stages[stages.length - 1].at, now);
  const span = Math.max(end - start, 1);
  const bars = stages.map((stage, index) => {
    const next = index + 1 < stages.length ? stages[index + 1].at : null;
    const last = next === null;
    const width = last ? Math.max(((end - stage.at) / span) * 100, 8) : ((next - stage.at) / span) * 100;
    const label = last ? stage.state : `${stage.state} ${seconds(next - stage.at)}`;
    return el("div", {
      class: `stage stage-${stage.state}${stage.at > now ? " planned" : ""}`,
      style: `flex: 0 0 ${width.toFixed(2)}%`, "data-state": stage.state,
      title: `${stage.state} at ${when(stage.at)}${stage.at > now ? " (planned)" : ""}`,
    }, label);
  });
  const marker = el("div", { class: "now", title: `now: ${when(now)}`,
    style: `left: ${(((Math.min(now, end) - start) / span) * 100).toFixed(2)}%` });
  return [...bars, marker];
}

function preview(url) {
  const kind = url.split("?")[0].split(".").pop().toLowerCase();
  const link = el("p", {}, el("a", { href: url, download: "" }, url));
  if (["mp4", "webm", "mov"].includes(kind)) return [el("video", { src: url, controls: "", muted: "", preload: "auto" }), link];
  if (["png", "jpg", "jpeg", "webp", "gif"].includes(kind)) return [el("img", { src: url, alt: "result image" }), link];
  if (["wav", "mp3", "ogg", "opus", "m4a"].includes(kind)) return [el("audio", { src: url, controls: "", preload: "auto" }), link];
  return [link];
}

// The planned outcome in words, from the task's outcome as the control API gives it.
function planned(outcome) {
  const parts = [outcome.state === "fail"
    ? `fail in ${outcome.fail_stage}: ${outcome.fail_code} ${outcome.fail_msg}` : outcome.state];
  if (outcome.forced_state) parts.push(`forced to ${outcome.forced_state} at ${when(outcome.forced_at_ms)}`);
  if (outcome.stuck_in) parts.push(`stuck in ${outcome.stuck_in}`);
  if (outcome.slowdown !== 1) parts.push(`${outcome.slowdown}× slower`);
  if (outcome.hidden_s) parts.push(`not visible for ${outcome.hidden_s} s`);
  if (outcome.seeded) parts.push("seeded record");
  if (outcome.callback !== "normal" || outcome.callback_delay_s) {
    parts.push(`callback ${outcome.callback}${outcome.callback_delay_s ? ` after ${outcome.callback_delay_s} s` : ""}`);
  }
  return parts.join(" · ");
}

function failure(record) {
  return el("p", { class: "failure" }, el("code", { class: "fail-code" }, record.failCode ?? "–"),
    el("span", { class: "fail-msg" }, record.failMsg ?? ""));
}

function callbackRow(attempt) {
  return el("tr", { "data-result": attempt.result },
    el("td", {}, attempt.copy > 1 ? `${attempt.attempt} (copy ${attempt.copy})` : attempt.attempt),
    el("td", {}, when(attempt.at)), el("td", { class: "result" }, attempt.result),
    el("td", { class: "status" }, attempt.status ?? "–"),
    el("td", {}, attempt.latencyMs === null ? "–" : `${attempt.latencyMs} ms`),
    el("td", {}, el("code", {}, attempt.signature ?? "unsigned")),
    el("td", {}, el("code", {}, attempt.error ? `${attempt.error} ${attempt.response ?? ""}` : attempt.response ?? "")));
}

async function refreshTask(taskId, now) {
  const [view, attempts] = await Promise.all([
    control("GET", `/tasks/${encodeURIComponent(taskId)}`),
    control("GET", `/callbacks?taskId=${encodeURIComponent(taskId)}`)]);
  const record = view.record;
  $("#task-id").textContent = record.taskId;
  $("#task-state").replaceChildren(stateBadge(view.state));
  $("#task-summary").textContent = `${view.model} · key ${view.apiKey} · created ${when(view.timeline[0].at)}` +
    ` · credits ${record.creditsConsumed ?? "–"}${record.failMsg ? ` · failed: ${record.failCode} ${record.failMsg}` : ""}`;
  $("#timeline").replaceChildren(...timeline(view.timeline, now));
  // Every file (a set of results, a video's first and last frames), or a text model's object.
  const made = parsed(record.resultJson ?? "") ?? {};
  const urls = view.files.filter(isWebUrl);
  const shown = `${view.state} ${urls.join(" ")} ${JSON.stringify(made.resultObject ?? null)}`;
  if (shown !== shownResult) {
    shownResult = shown;
    const empty = view.state === "fail" ? failure(record) : el("p", { class: "empty" }, "No result (yet).");
    const text = made.resultObject === undefined ? []
      : [el("pre", { class: "result-object" }, JSON.stringify(made.resultObject, null, 2))];
    $("#result").replaceChildren(...(urls.length ? urls.flatMap(preview) : text.length ? text : [empty]));
  }
  $("#outcome").textContent = planned(view.outcome);
  $("#outcome-form").hidden = view.settled || ["success", "fail"].includes(view.state);
  fill($("#callbacks tbody"), attempts.map(callbackRow));
  $("#no-callbacks").hidden = attempts.length > 0;
  $("#task-request").textContent = JSON.stringify(requestOf(record), null, 2);
  $("#task-record").textContent = JSON.stringify(record, null, 2);
}

// --- the loop -----------------------------------------------------------------------------

const route = () => decodeURIComponent(location.hash.match(/^#\/tasks\/(.+)$/)?.[1] ?? "");
let chain = Promise.resolve();
let waiting = null;

async function refreshNow() {
  try {
    const clock = await control("GET", "/clock");
    if (clock.speed > 0) lastSpeed = clock.speed;
    $("#now").textContent = when(clock.now);
    $("#speed").textContent = clock.speed === 0 ? "0 (frozen)" : String(clock.speed);
    $("#freeze").textContent = clock.speed === 0 ? "Unfreeze" : "Freeze";
    const taskId = route();
    $("#home-view").hidden = Boolean(taskId);
    $("#task-view").hidden = !taskId;
    document.body.dataset.ready = "false";
    await (taskId ? refreshTask(taskId, clock.now) : refreshHome(clock.now));
    document.body.dataset.ready = "true"; // tests wait on this: the view matches the mock
  } catch (error) {
    showError(error.message);
  }
}

// One refresh at a time, and at most one waiting: a poll during an action waits for it
// instead of racing it, and slow answers never pile polls up.
function refresh() {
  if (waiting) return waiting;
  waiting = chain.then(() => {
    waiting = null;
    return refreshNow();
  });
  chain = waiting;
  return waiting;
}

function on(selector, event, handler) {
  $(selector).addEventListener(event, (e) => {
    e.preventDefault();
    handler();
  });
}

on("#advance-form", "submit", () => act("POST", "/clock/advance", { seconds: typed($("#advance-seconds").value) }));
on("#speed-form", "submit", () => act("PUT", "/clock", { speed: typed($("#speed-input").value) }));
on("#freeze", "click", () => act("PUT", "/clock", { speed: $("#freeze").textContent === "Freeze" ? 0 : lastSpeed }));
on("#reset", "click", () => act("POST", "/reset", {}));
on("#redeliver", "click", () => act("POST", `/tasks/${encodeURIComponent(route())}/redeliver`, {}));
on("#outcome-form", "submit", () => act("POST", `/tasks/${encodeURIComponent(route())}/outcome`,
  { scenario: $("#outcome-scenario").value.trim() }));
// Queues and balances belong to a key: without one there is nothing to send.
function forKey(method, suffix, body) {
  if (!currentKey()) return showError("API key: enter the key whose queue or balance to change");
  return act(method, `/keys/${encodeURIComponent(currentKey())}${suffix}`, body);
}
on("#queue-form", "submit", () => forKey("POST", "/queue", {
  operation: $("#queue-operation").value, scenario: $("#queue-scenario").value.trim(), times: typed($("#queue-times").value),
}));
on("#queue-clear", "click", () => forKey("DELETE", "/queue"));
on("#balance-form", "submit", () => forKey("PUT", "/balance", { balance: typed($("#balance-input").value) }));
on("#toggle-maintenance", "click", () => act("PUT", "/toggles", { maintenance: $("#maintenance").textContent !== "on" }));
on("#toggle-rate-limits", "click", () => act("PUT", "/toggles", { rateLimits: $("#rate-limits").textContent !== "on" }));
on("#toggles-form", "submit", () => act("PUT", "/toggles", {
  disabledFeatures: $("#disabled-features").value.split(",").map((item) => item.trim()).filter(Boolean),
}));
for (const input of ["#journal-filter", "#journal-code"]) $(input).addEventListener("input", () => refresh());
window.addEventListener("hashchange", () => {
  shownResult = null;
  refresh();
});

control("GET", "/scenarios").then((names) => {
  const operations = [...names.operations, ...Object.values(names.otherApis ?? {}).flat()];  // Veo's, Suno's ...
  $("#queue-operation").replaceChildren(...operations.map((name) => el("option", { value: name }, name)));
  $("#queue-operation").value = "createTask";
  $("#scenario-names").replaceChildren(...[...names.task, ...names.call, ...names.fault].map((name) => el("option", { value: name })));
  $("#task-scenario-names").replaceChildren(...names.task.map((name) => el("option", { value: name })));
}, (error) => showError(error.message));
refresh();
setInterval(() => document.hidden || refresh(), POLL_MS);
