// Qualitas quality workbench view: FMEAs, control plan items and CAPAs around a product, a
// process step or a complaint (GraphQL qualityWorkbench). Plain JS, no CDN, under the
// explorer's `default-src 'self'` policy; every value goes into the page as text.
//
// Reached by the URL fragment, so a chat message or a person can link to it:
//   #workbench/complaint/CMP-2025-0057   #workbench/step/CELL-S30   #workbench/product/BP-75
// and filled in for a complaint whenever the explorer traces one.
// Contract the browser test reads: #workbench-view has data-fmeas, data-items and data-capas.
"use strict";

(() => {
  const QUERY = `query Workbench($product: String, $step: String, $complaint: String) {
  qualityWorkbench(product: $product, step: $step, complaint: $complaint) {
    fmeas { id kind title item steps chains high medium low }
    controlPlan { key stepCode characteristic specialClass specification evaluationMethod sampleSize sampleFrequency
                  controlMethod reactionPlan }
    capas { id method status title complaints }
  }
}`;
  const KINDS = ["complaint", "step", "product"];
  const $ = (id) => document.getElementById(id);

  const { el } = window.qualitasPanels;
  const gql = (query, variables) => window.qualitasPanels.gql(query, variables, "the workbench");

  function table(caption, headers, rows) {
    const t = el("table", { class: "workbench-table" });
    t.append(el("caption", {}, caption));
    const head = el("tr");
    for (const h of headers) head.append(el("th", { scope: "col" }, h));
    const thead = el("thead");
    thead.append(head);
    t.append(thead);
    const body = el("tbody");
    for (const row of rows) {
      const tr = el("tr");
      for (const cell of row) tr.append(el("td", {}, cell ?? ""));
      body.append(tr);
    }
    t.append(body);
    return t;
  }

  function showMessage(text) {
    const message = $("workbench-message");
    message.textContent = text || "";
    message.hidden = !text;
  }

  async function show(kind, value, { quiet = false } = {}) {
    if (!KINDS.includes(kind) || !value) return;
    $("workbench-kind").value = kind;
    $("workbench-id").value = value;
    const view = $("workbench-view");
    view.replaceChildren(el("p", { class: "busy" }, "Loading…"));
    showMessage("");
    try {
      const data = await gql(QUERY, { [kind]: value });
      const wb = data.qualityWorkbench;
      view.replaceChildren(
        table(`FMEAs (${wb.fmeas.length})`, ["FMEA", "Kind", "Title", "Item", "Steps", "Chains", "AP H / M / L"],
          wb.fmeas.map((f) => [f.id, f.kind, f.title, f.item, f.steps.join(" "), f.chains,
            `${f.high} / ${f.medium} / ${f.low}`])),
        table(`Control plan (${wb.controlPlan.length} items)`,
          ["No.", "Step", "Characteristic", "Class", "Specification", "Evaluation", "Sample", "Frequency",
            "Control method", "Reaction plan"],
          wb.controlPlan.map((i) => [i.key, i.stepCode, i.characteristic, i.specialClass, i.specification,
            i.evaluationMethod, i.sampleSize, i.sampleFrequency, i.controlMethod, i.reactionPlan])),
        table(`CAPAs (${wb.capas.length})`, ["CAPA", "Method", "Status", "Title", "Complaints"],
          wb.capas.map((c) => [c.id, c.method, c.status, c.title, c.complaints.join(" ")])),
      );
      view.dataset.fmeas = wb.fmeas.map((f) => f.id).join(" ");
      view.dataset.items = String(wb.controlPlan.length);
      view.dataset.capas = wb.capas.map((c) => c.id).join(" ");
    } catch (error) {
      view.replaceChildren();
      for (const name of ["fmeas", "items", "capas"]) delete view.dataset[name];
      if (!quiet) showMessage(error.message);  // quiet: a traced id that is a lot, not a complaint
    }
  }

  function fromHash() {
    const hash = decodeURIComponent(window.location.hash.replace(/^#/, ""));
    if (!hash.startsWith("workbench/")) return;
    const [kind, ...rest] = hash.slice("workbench/".length).split("/");
    show(kind, rest.join("/"));
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = $("workbench-form");
    if (!form) return;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const kind = $("workbench-kind").value;
      const value = $("workbench-id").value.trim();
      window.location.hash = `workbench/${kind}/${encodeURIComponent(value)}`;
    });
    const trace = $("trace-form");
    if (trace) {  // a traced complaint brings its workbench along
      trace.addEventListener("submit", () => {
        const value = $("trace-id").value.trim();
        if ($("trace-kind").value !== "lot" && value) show("complaint", value, { quiet: true });
      });
    }
    window.addEventListener("hashchange", fromHash);
    fromHash();
  });
})();
