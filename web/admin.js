// Floe's admin page: sources, listeners, actions and a listener graph, from the admin JSON API.
// Every value from sources or listeners is set with textContent; actions carry the server's admin token.
"use strict";

let token = "";

async function api(command, params = {}) {
  const query = new URLSearchParams({ ...params, token });
  // Built from location.origin: a page opened as http://user:pass@host/admin/ has credentials in its base URL,
  // and fetch refuses a relative URL resolved against it. The browser still sends the admin credentials it holds.
  const url = new URL(`/admin/${command}.json?${query}`, location.origin);
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${command}: ${response.status}`);
  return response.json();
}

function cell(row, text) {
  const td = row.insertCell();
  td.textContent = text;
  return td;
}

function button(label, action) {
  const element = document.createElement("button");
  element.textContent = label;
  element.addEventListener("click", async () => { await action(); refresh(); });
  return element;
}

function uptime(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso.replace(/\+0000$/, "Z"))) / 1000));
  return seconds < 3600 ? `${Math.floor(seconds / 60)}m ${seconds % 60}s` : `${Math.floor(seconds / 3600)}h ${Math.floor(seconds / 60) % 60}m`;
}

function drawGraph(canvas, series) {
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!series || series.length === 0) return;
  const peak = Math.max(1, ...series);
  context.strokeStyle = "#3a7";
  context.beginPath();
  series.forEach((value, index) => {
    const x = series.length === 1 ? canvas.width : (index / (series.length - 1)) * canvas.width;
    const y = canvas.height - (value / peak) * (canvas.height - 4) - 2;
    index === 0 ? context.moveTo(x, y) : context.lineTo(x, y);
  });
  context.stroke();
}

async function refresh() {
  const stats = (await api("stats")).icestats;
  const history = await api("history");
  document.getElementById("server").textContent = `${stats.server_id} · ${stats.host} · ${stats.listeners} listeners`;
  const sources = stats.sources;
  const tbody = document.querySelector("#sources tbody");
  tbody.replaceChildren();
  const mounts = document.getElementById("mounts");
  const seen = new Set();
  for (const source of sources) {
    const row = tbody.insertRow();
    row.dataset.mount = source.mount;
    cell(row, source.mount);
    cell(row, uptime(source.stream_start_iso8601));
    cell(row, source.bitrate ? `${source.bitrate} kbit/s` : "—");
    cell(row, source.floe_measured_bitrate ? `${Math.round(source.floe_measured_bitrate / 1000)} kbit/s` : "—");
    cell(row, String(source.floe_frames ?? "—"));
    cell(row, String(source.floe_garbage_bytes ?? "—"));
    cell(row, String(source.floe_resyncs ?? "—"));
    cell(row, source.floe_pace ?? "—");
    cell(row, String(source.listeners));
    // Distinct HLS clients within the live window (behind a cache, the cache is one).
    cell(row, source.floe_hls_listeners === undefined ? "—" : String(source.floe_hls_listeners));
    row.insertCell().appendChild(button("Kill source", () => api("killsource", { mount: source.mount })));

    seen.add(source.mount);
    let card = mounts.querySelector(`article[data-mount="${CSS.escape(source.mount)}"]`);
    if (!card) {
      card = document.getElementById("mount-template").content.firstElementChild.cloneNode(true);
      card.dataset.mount = source.mount;
      card.querySelector(".title-form").addEventListener("submit", async (event) => {
        event.preventDefault();
        await api("metadata", { mount: source.mount, mode: "updinfo", song: event.target.song.value, charset: "UTF-8" });
        refresh();
      });
      card.querySelector(".move-form").addEventListener("submit", async (event) => {
        event.preventDefault();
        await api("moveclients", { mount: source.mount, destination: event.target.destination.value });
        refresh();
      });
      mounts.appendChild(card);
    }
    card.querySelector(".name").textContent = `${source.mount} — ${source.server_name}: ${source.title || "(no title)"}`;
    const select = card.querySelector("select");
    const choice = select.value;
    select.replaceChildren(...sources.filter((other) => other.mount !== source.mount).map((other) => {
      const option = document.createElement("option");
      option.value = option.textContent = other.mount;
      return option;
    }));
    if (choice) select.value = choice;
    drawGraph(card.querySelector(".graph"), history.mounts[source.mount]);
    const clients = await api("listclients", { mount: source.mount });
    const body = card.querySelector(".listeners tbody");
    body.replaceChildren();
    for (const listener of clients.listeners) {
      const row = body.insertRow();
      row.dataset.id = String(listener.id);
      cell(row, String(listener.id));
      cell(row, listener.ip);
      cell(row, listener.user_agent);
      cell(row, `${listener.connected}s`);
      row.insertCell().appendChild(button("Kick", () => api("killclient", { mount: source.mount, id: listener.id })));
    }
  }
  for (const card of [...mounts.children]) {
    if (!seen.has(card.dataset.mount)) card.remove();
  }
  // Every output, with or without a source on its mount: what it plays now, its state and counters.
  const outputs = (await api("outputs")).outputs;
  const outputRows = document.querySelector("#outputs tbody");
  outputRows.replaceChildren();
  for (const output of outputs) {
    const row = outputRows.insertRow();
    row.dataset.output = `${output.mount} ${output.name}`;
    cell(row, output.mount);
    cell(row, output.name);
    cell(row, output.type);
    cell(row, output.destination);
    cell(row, output.playing ?? "—");
    cell(row, output.state);
    cell(row, String(output.frames));
    cell(row, String(output.packets));
    cell(row, String(output.underruns));
    cell(row, output.problem ?? "");
  }
}

async function start() {
  token = (await api("token")).token;
  document.getElementById("config").textContent = JSON.stringify(await api("config"), null, 2);
  await refresh();
  setInterval(() => refresh().catch(() => {}), 2000);
}

start();
