// Qualitas charts view: plain JS, no CDN, under the explorer's `default-src 'self'` policy.
//
// Reached by the URL fragment, so a chat message, a run's parameter in the trace explorer or
// a person can link to a chart:
//   #charts/spc?parameter=FORM-TEMP&step=CELL-FORM&chart=individuals   (or signal=..., equipment=...)
//   #charts/pareto
//   #charts/fmea?id=PFMEA-BP75-FORM
// The server draws the chart (GraphQL spcChart / paretoChart / fmeaRiskMatrix, SVG without
// inline CSS); the page parses it with DOMParser and adopts the <svg> element, never innerHTML,
// so no markup from a string ever runs. Contract the browser tests read: #chart-view has
// data-kind, data-points and data-marks; the SVG's circled points have ids violation-<panel>-<i>.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const FIELDS = "kind title svg points facts marks { panel index rules value }";
  const QUERIES = {
    spc: `query Spc($parameter: String, $signal: String, $step: String, $equipment: String, $chart: String!) {
  chart: spcChart(parameter: $parameter, signal: $signal, step: $step, equipment: $equipment, chart: $chart) { ${FIELDS} }
}`,
    pareto: `query Pareto { chart: paretoChart { ${FIELDS} } }`,
    fmea: `query Fmea($id: String!) { chart: fmeaRiskMatrix(fmeaId: $id) { ${FIELDS} } }`,
  };

  const $ = (id) => document.getElementById(id);

  const { el } = window.qualitasPanels;
  const gql = (query, variables) => window.qualitasPanels.gql(query, variables, "charts");

  /** The chart's SVG as a DOM element of this document (parsed as XML, then adopted). */
  function adoptSvg(text) {
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = doc.documentElement;
    if (root.namespaceURI !== SVG_NS || root.localName !== "svg" || doc.querySelector("parsererror")) {
      throw new Error("The server sent a chart that is not SVG.");
    }
    for (const bad of root.querySelectorAll("script, foreignObject")) bad.remove();
    const svg = document.importNode(root, true);
    svg.setAttribute("role", "img");
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    return svg;
  }

  function parseHash() {
    const hash = decodeURIComponent(window.location.hash.replace(/^#/, ""));
    if (!hash.startsWith("charts/")) return null;
    const [path, query = ""] = hash.slice("charts/".length).split("?");
    return { kind: path, params: new URLSearchParams(query) };
  }

  function fillForm(view) {
    const p = view.params;
    $("chart-kind").value = view.kind === "spc" ? p.get("chart") || "individuals" : view.kind;
    $("chart-parameter").value = p.get("parameter") || p.get("signal") || p.get("id") || "";
    $("chart-step").value = p.get("step") || "";
    $("chart-equipment").value = p.get("equipment") || "";
  }

  function hashFromForm() {
    const kind = $("chart-kind").value;
    if (kind === "pareto") return "#charts/pareto";
    const name = $("chart-parameter").value.trim();
    if (kind === "fmea") return `#charts/fmea?id=${encodeURIComponent(name)}`;
    const p = new URLSearchParams();
    p.set(name.includes(".") ? "signal" : "parameter", name);
    if ($("chart-step").value.trim()) p.set("step", $("chart-step").value.trim());
    if ($("chart-equipment").value.trim()) p.set("equipment", $("chart-equipment").value.trim());
    p.set("chart", kind);
    return `#charts/spc?${p.toString()}`;
  }

  async function show() {
    const view = parseHash();
    const out = $("chart-view");
    const section = $("charts");
    if (!view) return;
    section.hidden = false;
    fillForm(view);
    const message = $("chart-message");
    message.hidden = true;
    out.replaceChildren(el("p", { class: "busy", role: "status" }, "Drawing the chart…"));
    out.removeAttribute("data-kind");
    try {
      const p = view.params;
      let data;
      if (view.kind === "spc") {
        data = await gql(QUERIES.spc, {
          parameter: p.get("parameter"), signal: p.get("signal"), step: p.get("step"),
          equipment: p.get("equipment"), chart: p.get("chart") || "individuals",
        });
      } else if (view.kind === "pareto") {
        data = await gql(QUERIES.pareto, {});
      } else if (view.kind === "fmea") {
        data = await gql(QUERIES.fmea, { id: p.get("id") || "" });
      } else {
        throw new Error(`Unknown chart “${view.kind}”.`);
      }
      const chart = data.chart;
      const figure = el("figure", { class: "chart-figure" });
      figure.append(adoptSvg(chart.svg), el("figcaption", {}, chart.title));
      const parts = [figure];
      if (chart.marks.length) {
        const list = el("ul", { class: "chart-marks", "aria-label": "Points where a rule fired" });
        for (const m of chart.marks) {
          list.append(el("li", {}, `${m.panel} point ${m.index + 1}: ${m.rules.join(", ")} (value ${Number(m.value).toPrecision(5)})`));
        }
        parts.push(el("h4", {}, `${chart.marks.length} points where a rule fired`), list);
      }
      out.replaceChildren(...parts);
      out.setAttribute("data-kind", chart.kind);
      out.setAttribute("data-points", String(chart.points));
      out.setAttribute("data-marks", String(chart.marks.length));
      section.scrollIntoView({ block: "start" });
    } catch (err) {
      out.replaceChildren();
      out.setAttribute("data-kind", "error");
      message.textContent = err.message;
      message.hidden = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("chart-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const target = hashFromForm();
      if (window.location.hash === target) show();
      else window.location.hash = target;
    });
    $("chart-kind").addEventListener("change", () => {
      const spc = !["pareto", "fmea"].includes($("chart-kind").value);
      $("chart-step").disabled = !spc;
      $("chart-equipment").disabled = !spc;
    });
    window.addEventListener("hashchange", show);
    show();
  });
})();
