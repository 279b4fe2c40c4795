// Shared by the explorer's charts and workbench panels: elements whose values go in as
// text only, and GraphQL calls with the API key this tab holds (sessionStorage). Plain JS,
// no CDN, under the explorer's `default-src 'self'` policy; loaded before the panels.
"use strict";

window.qualitasPanels = (() => {
  const KEY_STORAGE = "qualitas.apiKey";

  function el(tag, attrs = {}, text = null) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (text !== null) node.textContent = String(text);
    return node;
  }

  async function gql(query, variables, what) {
    const key = sessionStorage.getItem(KEY_STORAGE) || "";
    const response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json",
        ...(key ? { Authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
      credentials: "same-origin",
      cache: "no-store",
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (response.status === 401 || response.status === 403) {
      throw new Error(`Not signed in, or your role may not read ${what}: paste a valid API key above.`);
    }
    if (body && Array.isArray(body.errors) && body.errors.length) {
      throw new Error(body.errors.map((e) => String(e.message)).join("; "));
    }
    if (!response.ok || !body || !body.data) throw new Error(`The server answered HTTP ${response.status}.`);
    return body.data;
  }

  return Object.freeze({ el, gql });
})();
