// Floe's public status page: polls /status-json.xsl and shows each public mount.
// Every value from a source (names, titles) goes in with textContent, never as HTML.
"use strict";

const REFRESH_MS = 2000;

function sourcesOf(icestats) {
  // Icecast's shape: no `source` for none, an object for one, an array for several.
  if (!icestats.source) return [];
  return Array.isArray(icestats.source) ? icestats.source : [icestats.source];
}

function mountPath(source) {
  try { return new URL(source.listenurl).pathname; } catch (e) { return ""; }
}

// HLS where the browser plays it natively (Safari, Chromium) and the playlist is ready when the mount first
// shows: segments any HTTP cache can serve. Otherwise the stream itself.
const playsHLS = document.createElement("audio").canPlayType("application/vnd.apple.mpegurl") !== "";

function render(icestats) {
  document.getElementById("server").textContent =
    [icestats.server_id, icestats.location].filter(Boolean).join(" · ");
  const list = document.getElementById("mounts");
  const sources = sourcesOf(icestats);
  document.getElementById("empty").hidden = sources.length > 0;
  const seen = new Set();
  for (const source of sources) {
    const path = mountPath(source);
    seen.add(path);
    let card = list.querySelector(`article[data-mount="${CSS.escape(path)}"]`);
    if (!card) {
      card = document.getElementById("mount-template").content.firstElementChild.cloneNode(true);
      card.dataset.mount = path;
      const hls = source.floe_hls_url ? path + ".m3u8" : null;
      card.querySelector("audio").src = hls && playsHLS ? hls : path;
      card.querySelector(".hls-link").hidden = !hls;
      if (hls) card.querySelector(".hls").href = hls;
      card.querySelector(".m3u").href = path + ".m3u";
      card.querySelector(".pls").href = path + ".pls";
      card.querySelector(".xspf").href = path + ".xspf";
      list.appendChild(card);
    }
    card.querySelector(".name").textContent = source.server_name || path;
    card.querySelector(".description").textContent = source.server_description || "";
    card.querySelector(".title").textContent = source.title || "—";
    card.querySelector(".listeners").textContent = String(source.listeners ?? 0);
    for (const element of card.querySelectorAll(".hls-only")) element.hidden = source.floe_hls_listeners === undefined;
    card.querySelector(".hls-listeners").textContent = String(source.floe_hls_listeners ?? 0);
    // The declared bitrate, else what Floe measured from the frames.
    const measured = source.floe_measured_bitrate ? `${Math.round(source.floe_measured_bitrate / 1000)} kbit/s` : "—";
    card.querySelector(".bitrate").textContent = source.bitrate ? `${source.bitrate} kbit/s` : measured;
    card.querySelector(".genre").textContent = source.genre || "—";
  }
  for (const card of [...list.children]) {
    if (!seen.has(card.dataset.mount)) card.remove();
  }
}

async function refresh() {
  try {
    // From location.origin: fetch refuses URLs resolved against a base that carries user:pass@.
    const response = await fetch(new URL("/status-json.xsl", location.origin), { cache: "no-store" });
    if (response.ok) render((await response.json()).icestats);
  } catch (error) {
    // The server may be restarting; try again on the next tick.
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
