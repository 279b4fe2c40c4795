// Qualitas trace explorer: plain JS, no build step, no CDN (the page runs offline under
// `Content-Security-Policy: default-src 'self'`).
//
// Layers:  form ── gql() (fetch /graphql, Bearer key from sessionStorage) ── model (trace or
//          recall scope → nodes, edges, failed checks) ── layout (BFS layers) ── SVG + panels
//
// All text from the server goes into the page through textContent or setAttribute, never
// innerHTML, so ids, labels and messages cannot inject markup.
//
// Contract the browser tests read: every drawn node is an SVG <g> with
//   data-node-id   the node's IRI
//   data-kind      Complaint, SerialUnit, Lot, ProductionRun, Equipment, CalibrationCertificate,
//                  Supplier, SupplierDeclaration, TestReport
//   data-label     the label drawn
//   data-failed    "true" when a finding names the node (subject or evidence) or a check on it
//                  failed (expired calibration, material mismatch, parameter out of tolerance,
//                  parameter set not in force), else "false"
//   data-on-path   "true" when the node lies on the path from the root to a failed check
// and every edge is an SVG <path class="edge"> with data-source, data-target (node IRIs),
// data-relation and data-failure-path ("true", drawn red, on the way from the root to a
// failed check). A node's label and kind are HTML in a <foreignObject> (.node-text > .label,
// .kind) that wraps long names instead of cutting them.
"use strict";

(() => {
  const KEY_STORAGE = "qualitas.apiKey";
  const SVG_NS = "http://www.w3.org/2000/svg";

  const KINDS = [
    ["Complaint", "Complaint"],
    ["SerialUnit", "Serial unit"],
    ["ProductionRun", "Production run"],
    ["Lot", "Lot"],
    ["Equipment", "Equipment"],
    ["CalibrationCertificate", "Calibration certificate"],
    ["Supplier", "Supplier"],
    ["SupplierDeclaration", "Supplier declaration"],
    ["TestReport", "Test report"],
  ];
  const KIND_RANK = new Map(KINDS.map(([kind], i) => [kind, i]));
  const KIND_NAME = new Map(KINDS);

  const TRACE_QUERY = `query Trace($id: String!) {
  trace(complaintId: $id) {
    complaint { id complaintId receivedOn channel market failureMode texts { lang text } unitSerial }
    unit { id serial product partNumber }
    units { id serial product partNumber }
    lots { id lotNumber partNumber partName
           supplier { id supplierId name country }
           declarations { id kind number issuer issued material }
           testReports { id kind number issuer issued material }
           designedMaterials
           materialChecks { testReport reported designed matches } }
    runs { id runId step stepName startedAt endedAt
           equipment { id equipmentId name calibratedAtRun
                       calibrations { id number issuer validFrom validUntil validAtRun } }
           parameterSetUsed parameterSetInForce
           parameters { parameter name actual unit unitSymbol nominal tolerance withinTolerance }
           consumed produced }
    nodes { id kind label }
    edges { source target relation }
    findings { kind severity subject messageEn messageZh expected actual evidence }
  }
}`;

  const RUN_FIELDS = `id runId step stepName startedAt endedAt
           equipment { id equipmentId name calibratedAtRun
                       calibrations { id number issuer validFrom validUntil validAtRun } }
           parameterSetUsed parameterSetInForce
           parameters { parameter name actual unit unitSymbol nominal tolerance withinTolerance }
           consumed produced`;

  const RECALL_QUERY = `query RecallScope($id: String!) {
  recallScope(lotId: $id) {
    lot { id lotNumber partNumber
          producedBy { ${RUN_FIELDS} }
          findings { kind severity subject messageEn messageZh expected actual evidence } }
    lots { id lotNumber partNumber }
    units { id serial product complaints { complaintId receivedOn text } }
  }
}`;

  const WHOAMI_QUERY = "query Whoami { whoami { name role } }";

  const GAP_QUERY = `query Gap($productId: String!, $market: String!) {
  gapReport(productId: $productId, market: $market) {
    productId model market date catalogVersion conforms applicable
    summary { checked passed violated notCheckable notCheckableItems }
    findings { kind severity regulationId clause subjectLabel messageEn messageZh
               remediation { owner actionEn actionZh } }
  }
}`;

  const PACK_MUTATION = `mutation Pack($productId: String!, $market: String!) {
  generatePack(productId: $productId, market: $market) {
    packId status productId market openFindings downloadUrl files { path bytes }
  }
}`;

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(message, { code = null, auth = false } = {}) {
      super(message);
      this.code = code;
      this.auth = auth;
    }
  }

  function apiKey() {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  }

  function authHeaders() {
    const key = apiKey();
    return key ? { Authorization: `Bearer ${key}` } : {};
  }

  function authMessage(status, detail) {
    if (status === 403) {
      return `Not allowed: your role may not do this${detail ? ` (${detail})` : ""}.`;
    }
    return `Not signed in, or the API key was not accepted${detail ? ` (${detail})` : ""}. ` +
      "Paste a valid API key above and sign in.";
  }

  async function gql(query, variables = {}) {
    let response;
    try {
      response = await fetch("/graphql", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", ...authHeaders() },
        body: JSON.stringify({ query, variables }),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (err) {
      throw new ApiError(`Could not reach the server: ${err.message}`, { code: "NETWORK" });
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (response.status === 401 || response.status === 403) {
      const detail = body && (body.detail || (body.errors && body.errors[0] && body.errors[0].message));
      throw new ApiError(authMessage(response.status, typeof detail === "string" ? detail : ""), {
        code: response.status === 401 ? "UNAUTHENTICATED" : "FORBIDDEN",
        auth: true,
      });
    }
    if (body && Array.isArray(body.errors) && body.errors.length > 0) {
      const first = body.errors[0];
      const code = (first.extensions && first.extensions.code) || null;
      const text = body.errors.map((e) => String(e.message)).join("; ");
      if (code === "UNAUTHENTICATED") throw new ApiError(authMessage(401, text), { code, auth: true });
      if (code === "FORBIDDEN") throw new ApiError(authMessage(403, text), { code, auth: true });
      throw new ApiError(text, { code });
    }
    if (!response.ok || !body || !body.data) {
      throw new ApiError(`The server answered HTTP ${response.status}.`, { code: `HTTP_${response.status}` });
    }
    return body.data;
  }

  /** Fetch a file with the Authorization header and save it through a Blob link. */
  async function download(url, filename) {
    const target = new URL(url, window.location.origin);
    if (target.origin !== window.location.origin) throw new ApiError("Refusing to download from another site.");
    let response;
    try {
      response = await fetch(target.href, { headers: authHeaders(), credentials: "same-origin" });
    } catch (err) {
      throw new ApiError(`Could not reach the server: ${err.message}`, { code: "NETWORK" });
    }
    if (response.status === 401 || response.status === 403) {
      throw new ApiError(authMessage(response.status, ""), { auth: true });
    }
    if (!response.ok) throw new ApiError(`Download failed: HTTP ${response.status}.`);
    saveBlob(await response.blob(), filename);
  }

  function saveBlob(blob, filename) {
    const href = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = href;
    link.download = filename;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(href), 30000);
  }

  // ---------------------------------------------------------------- DOM helpers

  const $ = (id) => document.getElementById(id);

  /** An HTML element with text content; children may be nodes or strings (always text). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs = {}) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    return node;
  }

  function show(id, text) {
    const node = $(id);
    node.textContent = text;
    node.hidden = !text;
  }

  function kindClass(kind) {
    return KIND_RANK.has(kind) ? `kind-${kind}` : "kind-other";
  }

  function yesNo(value) {
    if (value === null || value === undefined) return "unknown";
    return value ? "yes" : "no";
  }

  function dl(rows) {
    const list = el("dl");
    for (const [term, value] of rows) {
      if (value === null || value === undefined || value === "") continue;
      list.append(el("dt", { text: term }), el("dd", { text: value }));
    }
    return list;
  }

  function table(caption, headers, rows, failedRow = () => false) {
    const body = el("tbody");
    for (const row of rows) {
      const tr = el("tr", { class: failedRow(row) ? "failed" : null });
      for (const cell of row.cells) tr.append(el("td", { text: cell ?? "" }));
      body.append(tr);
    }
    return el(
      "table",
      {},
      el("caption", { text: caption }),
      el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))),
      body,
    );
  }

  // ---------------------------------------------------------------- model

  /** The graph the page draws: nodes by id, edges, and per node the findings naming it. */
  class Model {
    constructor({ mode, rootId, title }) {
      this.mode = mode;
      this.rootId = rootId;
      this.title = title;
      this.nodes = new Map();
      this.edges = [];
      this.findings = [];
      this.failedBy = new Map(); // node id -> [reason]
      this.onPath = new Set(); // node ids on the way from the root to a failed check
      this.trace = null;
      this.recall = null;
    }

    addNode(id, kind, label) {
      if (!this.nodes.has(id)) this.nodes.set(id, { id, kind, label });
      return this.nodes.get(id);
    }

    addEdge(source, target, relation) {
      if (!this.nodes.has(source) || !this.nodes.has(target)) return;
      if (this.edges.some((e) => e.source === source && e.target === target && e.relation === relation)) return;
      this.edges.push({ source, target, relation, failurePath: false });
    }

    fail(id, reason) {
      if (!this.nodes.has(id)) return;
      if (!this.failedBy.has(id)) this.failedBy.set(id, []);
      const reasons = this.failedBy.get(id);
      if (!reasons.includes(reason)) reasons.push(reason);
    }

    findingsFor(id) {
      return this.findings.filter((f) => f.subject === id || (f.evidence || []).includes(id));
    }
  }

  /**
   * Which way each relation points upstream, from a complaint (or a lot) towards what made
   * it: +1 follows the edge source -> target, -1 goes against it. A relation not listed is
   * followed both ways.
   */
  const UPSTREAM = new Map([
    ["concernsUnit", 1], ["consumed", 1], ["equipment", 1], ["hasCalibration", 1], ["suppliedBy", 1],
    ["produced", -1], ["declarationFor", -1], ["reportFor", -1],
  ]);

  /**
   * Mark the path from the root to each failed node: a breadth-first search upstream from
   * the root (shortest path, ties broken by node id so the drawing is deterministic), then
   * back from each failed node to the root along the search tree. Every edge on the way
   * gets failurePath, every node on it onPath.
   */
  function markFailurePaths(model) {
    const upstream = new Map([...model.nodes.keys()].map((id) => [id, []]));
    for (const e of model.edges) {
      const way = UPSTREAM.get(e.relation);
      if (way !== -1) upstream.get(e.source).push([e.target, e]);
      if (way !== 1) upstream.get(e.target).push([e.source, e]);
    }
    for (const list of upstream.values()) list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const via = new Map([[model.rootId, null]]);
    const queue = [model.rootId];
    while (queue.length > 0) {
      const id = queue.shift();
      for (const [next, edge] of upstream.get(id) || []) {
        if (via.has(next)) continue;
        via.set(next, edge);
        queue.push(next);
      }
    }
    for (const failed of model.failedBy.keys()) {
      if (!via.has(failed)) continue;
      let id = failed;
      while (id !== model.rootId) {
        model.onPath.add(id);
        const edge = via.get(id);
        edge.failurePath = true;
        id = edge.source === id ? edge.target : edge.source;
      }
      model.onPath.add(model.rootId);
    }
  }

  /** Add a run, its equipment and calibration certificates, with the failed checks on them. */
  function addRun(model, run) {
    model.addNode(run.id, "ProductionRun", run.runId);
    if (run.parameterSetUsed && run.parameterSetInForce && run.parameterSetUsed !== run.parameterSetInForce) {
      model.fail(run.id, "parameter_set_outdated");
    }
    if (run.parameters.some((p) => p.withinTolerance === false)) model.fail(run.id, "parameter_out_of_tolerance");
    const equipment = run.equipment;
    if (!equipment) return;
    model.addNode(equipment.id, "Equipment", equipment.equipmentId);
    model.addEdge(run.id, equipment.id, "equipment");
    for (const cal of equipment.calibrations) {
      model.addNode(cal.id, "CalibrationCertificate", cal.number);
      model.addEdge(equipment.id, cal.id, "hasCalibration");
    }
    if (!equipment.calibratedAtRun) {
      model.fail(equipment.id, "calibration_invalid");
      for (const cal of equipment.calibrations) if (!cal.validAtRun) model.fail(cal.id, "calibration_invalid");
    }
  }

  function traceModel(trace) {
    const model = new Model({ mode: "trace", rootId: trace.complaint.id, title: trace.complaint.complaintId });
    model.trace = trace;
    for (const n of trace.nodes) model.addNode(n.id, n.kind, n.label);
    for (const e of trace.edges) model.addEdge(e.source, e.target, e.relation);
    model.findings = trace.findings;
    for (const f of trace.findings) {
      model.fail(f.subject, f.kind);
      for (const id of f.evidence || []) model.fail(id, f.kind);
    }
    // The checks again from the trace's own fields, so a failed check is marked even where
    // the findings list names only its subject (the trace already has every node drawn).
    for (const run of trace.runs) addRun(model, run);
    for (const lot of trace.lots) {
      for (const check of lot.materialChecks) {
        if (check.matches) continue;
        model.fail(lot.id, "material_mismatch");
        for (const report of lot.testReports) if (report.number === check.testReport) model.fail(report.id, "material_mismatch");
      }
    }
    markFailurePaths(model);
    return model;
  }

  function recallModel(scope) {
    const root = scope.lot;
    const model = new Model({ mode: "recall", rootId: root.id, title: root.lotNumber });
    model.recall = scope;
    model.addNode(root.id, "Lot", root.lotNumber);
    // Upstream of the lot: the runs that made it, their equipment and its calibration.
    for (const run of root.producedBy) {
      addRun(model, run);
      model.addEdge(run.id, root.id, "produced");
    }
    model.findings = root.findings;
    for (const f of root.findings) {
      model.fail(f.subject, f.kind);
      for (const id of f.evidence || []) model.fail(id, f.kind);
    }
    for (const lot of scope.lots) {
      model.addNode(lot.id, "Lot", lot.lotNumber);
      model.addEdge(root.id, lot.id, "usedIn");
    }
    for (const unit of scope.units) {
      model.addNode(unit.id, "SerialUnit", unit.serial);
      model.addEdge(root.id, unit.id, "usedIn");
      for (const c of unit.complaints) {
        const id = `complaint:${c.complaintId}`;
        model.addNode(id, "Complaint", c.complaintId);
        model.addEdge(id, unit.id, "concernsUnit");
      }
    }
    markFailurePaths(model);
    return model;
  }

  // ---------------------------------------------------------------- layout

  // Node geometry in drawing units (CSS pixels at actual size). Columns are narrow enough
  // that a nine-column trace (complaint ... supplier) fits a 1,440 px window at about
  // actual size; long names wrap inside their box instead of being cut.
  const NODE_W = 136;
  const COL_GAP = 26;
  const ROW_GAP = 10;
  const MARGIN = 14;
  const TEXT_X = 12; // after the kind band
  const TEXT_W = NODE_W - TEXT_X - 10;
  const MIN_H = 40;

  const XHTML_NS = "http://www.w3.org/1999/xhtml";

  /** The HTML a node's box holds: its label and kind, wrapping where they are long. */
  function nodeText(node) {
    const box = document.createElementNS(XHTML_NS, "div");
    box.setAttribute("class", "node-text");
    const label = document.createElementNS(XHTML_NS, "div");
    label.setAttribute("class", "label");
    label.textContent = node.label;
    const kind = document.createElementNS(XHTML_NS, "div");
    kind.setAttribute("class", "kind");
    kind.textContent = KIND_NAME.get(node.kind) || node.kind;
    box.append(label, kind);
    return box;
  }

  /** Each node's box height: its text laid out by the browser at TEXT_W, in an SVG off screen. */
  function measure(model) {
    const probe = svg("svg", { class: "trace-graph measure", "aria-hidden": "true", width: TEXT_W, height: 10 });
    const texts = new Map();
    for (const node of model.nodes.values()) {
      const text = nodeText(node);
      texts.set(node.id, text);
      const holder = svg("foreignObject", { x: 0, y: 0, width: TEXT_W, height: 1000 });
      holder.append(text);
      probe.append(holder);
    }
    document.body.append(probe);
    const heights = new Map();
    for (const [id, text] of texts) heights.set(id, Math.max(MIN_H, Math.ceil(text.getBoundingClientRect().height)));
    probe.remove();
    return heights;
  }

  /**
   * Layered layout: columns are breadth-first distances from the root (edges taken both
   * ways), rows are ordered by kind and label, then once by the mean row of each node's
   * neighbours in the column before (fewer crossings). Deterministic: the same trace always
   * gives the same drawing.
   */
  function layout(model, heights) {
    const neighbours = new Map([...model.nodes.keys()].map((id) => [id, new Set()]));
    for (const e of model.edges) {
      neighbours.get(e.source).add(e.target);
      neighbours.get(e.target).add(e.source);
    }
    const depth = new Map([[model.rootId, 0]]);
    const queue = [model.rootId];
    while (queue.length > 0) {
      const id = queue.shift();
      const next = [...neighbours.get(id)].sort();
      for (const other of next) {
        if (depth.has(other)) continue;
        depth.set(other, depth.get(id) + 1);
        queue.push(other);
      }
    }
    const deepest = Math.max(0, ...depth.values());
    for (const id of [...model.nodes.keys()].sort()) if (!depth.has(id)) depth.set(id, deepest + 1);

    const byKind = (a, b) => {
      const na = model.nodes.get(a);
      const nb = model.nodes.get(b);
      return (KIND_RANK.get(na.kind) ?? 99) - (KIND_RANK.get(nb.kind) ?? 99) ||
        na.label.localeCompare(nb.label) || (a < b ? -1 : a > b ? 1 : 0);
    };
    const columns = [];
    for (const [id, d] of depth) (columns[d] ||= []).push(id);
    const row = new Map();
    columns.forEach((column, d) => {
      column.sort(byKind);
      if (d > 0) {
        const mean = (id) => {
          const rows = [...neighbours.get(id)].filter((o) => depth.get(o) === d - 1).map((o) => row.get(o));
          return rows.length ? rows.reduce((s, r) => s + r, 0) / rows.length : Infinity;
        };
        const keys = new Map(column.map((id) => [id, mean(id)]));
        column.sort((a, b) => (keys.get(a) - keys.get(b)) || byKind(a, b));
      }
      column.forEach((id, i) => row.set(id, i));
    });

    const columnHeight = (column) =>
      column.reduce((sum, id) => sum + heights.get(id), 0) + ROW_GAP * (column.length - 1);
    const tallest = Math.max(...columns.map(columnHeight));
    const position = new Map();
    columns.forEach((column, d) => {
      let y = MARGIN + (tallest - columnHeight(column)) / 2;
      for (const id of column) {
        const h = heights.get(id);
        position.set(id, { x: MARGIN + d * (NODE_W + COL_GAP), y, h, mid: y + h / 2, column: d });
        y += h + ROW_GAP;
      }
    });
    return {
      position,
      width: MARGIN * 2 + columns.length * NODE_W + (columns.length - 1) * COL_GAP,
      height: MARGIN * 2 + tallest,
    };
  }

  // ---------------------------------------------------------------- drawing

  function arrowMarker(id, cls) {
    const marker = svg("marker", {
      id, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse",
      orient: "auto-start-reverse",
    });
    marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: cls }));
    return marker;
  }

  function drawGraph(model) {
    const { position, width, height } = layout(model, measure(model));
    const root = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      "data-width": width,
      "data-height": height,
      role: "group",
      "aria-label": `Trace graph of ${model.title}: ${model.nodes.size} nodes, ${model.edges.length} links`,
      class: "trace-graph",
    });
    const defs = svg("defs");
    defs.append(arrowMarker("arrow", "arrowhead"), arrowMarker("arrow-failed", "arrowhead failed"));
    root.append(defs);

    // Red edges last, so no grey edge is drawn over the failure path.
    const edges = [...model.edges].sort((p, q) => Number(p.failurePath) - Number(q.failurePath));
    const edgeLayer = svg("g", { class: "edges", "aria-hidden": "true" });
    for (const e of edges) {
      const a = position.get(e.source);
      const b = position.get(e.target);
      let d;
      if (a.column === b.column) {
        const x = a.x + NODE_W;
        const bend = x + COL_GAP * 0.8;
        d = `M ${x} ${a.mid} C ${bend} ${a.mid}, ${bend} ${b.mid}, ${x} ${b.mid}`;
      } else {
        const forward = a.column < b.column;
        const x1 = forward ? a.x + NODE_W : a.x;
        const x2 = forward ? b.x : b.x + NODE_W;
        const mid = (x1 + x2) / 2;
        d = `M ${x1} ${a.mid} C ${mid} ${a.mid}, ${mid} ${b.mid}, ${x2} ${b.mid}`;
      }
      const path = svg("path", {
        d,
        class: e.failurePath ? "edge failed" : "edge",
        "marker-end": e.failurePath ? "url(#arrow-failed)" : "url(#arrow)",
      });
      path.setAttribute("data-source", e.source);
      path.setAttribute("data-target", e.target);
      path.setAttribute("data-relation", e.relation);
      path.setAttribute("data-failure-path", e.failurePath ? "true" : "false");
      const title = svg("title");
      title.textContent = `${model.nodes.get(e.source).label} ${e.relation} ${model.nodes.get(e.target).label}`;
      path.append(title);
      edgeLayer.append(path);
    }
    root.append(edgeLayer);

    const nodeLayer = svg("g", { class: "nodes" });
    const ordered = [...model.nodes.values()].sort((p, q) => {
      const a = position.get(p.id);
      const b = position.get(q.id);
      return a.column - b.column || a.y - b.y;
    });
    for (const node of ordered) {
      const { x, y, h } = position.get(node.id);
      const failed = model.failedBy.has(node.id);
      const onPath = model.onPath.has(node.id);
      const kindName = KIND_NAME.get(node.kind) || node.kind;
      const g = svg("g", {
        class: `node ${kindClass(node.kind)}${failed ? " failed" : ""}${onPath ? " on-path" : ""}`,
        transform: `translate(${x} ${y})`,
        tabindex: 0,
        role: "button",
        "aria-pressed": "false",
      });
      g.setAttribute("data-node-id", node.id);
      g.setAttribute("data-kind", node.kind);
      g.setAttribute("data-label", node.label);
      g.setAttribute("data-failed", failed ? "true" : "false");
      g.setAttribute("data-on-path", onPath ? "true" : "false");
      const note = failed
        ? `, failed check: ${model.failedBy.get(node.id).join(", ")}`
        : onPath ? ", on the path to a failed check" : "";
      g.setAttribute("aria-label", `${kindName} ${node.label}${note}`);
      const title = svg("title");
      title.textContent = `${kindName}: ${node.label}${failed ? " (failed check)" : ""}`;
      g.append(title);
      g.append(svg("rect", { class: "box", width: NODE_W, height: h, rx: 6, ry: 6 }));
      g.append(svg("rect", { class: "band", width: 7, height: h, rx: 3, ry: 3 }));
      const text = svg("foreignObject", { x: TEXT_X, y: 0, width: TEXT_W, height: h });
      text.append(nodeText(node));
      g.append(text);
      if (failed) {
        const badge = svg("g", { class: "badge", transform: `translate(${NODE_W - 3} 3)` });
        badge.append(svg("circle", { r: 8 }));
        const mark = svg("text", { y: 4.5, "text-anchor": "middle" });
        mark.textContent = "!";
        badge.append(mark);
        g.append(badge);
      }
      nodeLayer.append(g);
    }
    root.append(nodeLayer);
    return root;
  }

  function drawLegend(model) {
    const legend = $("legend");
    legend.replaceChildren();
    const present = new Set([...model.nodes.values()].map((n) => n.kind));
    for (const [kind, name] of KINDS) {
      if (!present.has(kind)) continue;
      legend.append(el("li", {}, el("span", { class: `swatch ${kindClass(kind)}`, "aria-hidden": "true" }), name));
    }
    for (const kind of [...present].filter((k) => !KIND_RANK.has(k)).sort()) {
      legend.append(el("li", {}, el("span", { class: "swatch kind-other", "aria-hidden": "true" }), kind));
    }
    legend.append(el("li", {}, el("span", { class: "swatch failed", "aria-hidden": "true" }), "failed check"));
  }

  // ---------------------------------------------------------------- details

  function findingItem(f, model, { withButton = false } = {}) {
    const item = el("li", { class: `finding severity-${/^[a-z]+$/.test(f.severity) ? f.severity : "other"}` });
    item.setAttribute("data-finding-kind", f.kind);
    item.append(
      el("span", { class: "severity", text: f.severity }),
      " ",
      el("span", { class: "finding-kind", text: f.kind }),
      el("p", { class: "message-en", lang: "en", text: f.messageEn }),
      el("p", { class: "message-zh", lang: "zh", text: f.messageZh }),
    );
    if (f.expected || f.actual) item.append(dl([["Expected", f.expected], ["Actual", f.actual]]));
    if (withButton && model.nodes.has(f.subject)) {
      const button = el("button", { type: "button", class: "link", text: `Show ${model.nodes.get(f.subject).label}` });
      button.addEventListener("click", () => select(f.subject, { focus: true }));
      item.append(button);
    }
    return item;
  }

  function runsWithEquipment(runs, id) {
    return runs.filter((r) => r.equipment && r.equipment.id === id);
  }

  function traceDetails(model, node) {
    const t = model.trace;
    const parts = [];
    if (node.kind === "Complaint") {
      const c = t.complaint;
      parts.push(dl([
        ["Complaint", c.complaintId], ["Received", c.receivedOn], ["Channel", c.channel], ["Market", c.market],
        ["Failure mode", c.failureMode], ["Unit", c.unitSerial],
      ]));
      const texts = el("ul", { class: "texts" });
      for (const text of c.texts) texts.append(el("li", { lang: text.lang, text: `${text.lang}: ${text.text}` }));
      parts.push(texts);
    } else if (node.kind === "SerialUnit") {
      const unit = t.units.find((u) => u.id === node.id) || (t.unit.id === node.id ? t.unit : null);
      if (unit) parts.push(dl([["Serial", unit.serial], ["Product", unit.product], ["Part number", unit.partNumber]]));
    } else if (node.kind === "Lot") {
      const lot = t.lots.find((l) => l.id === node.id);
      if (lot) {
        parts.push(dl([
          ["Lot", lot.lotNumber], ["Part", [lot.partNumber, lot.partName].filter(Boolean).join(" · ")],
          ["Supplier", lot.supplier ? `${lot.supplier.name || lot.supplier.supplierId} (${lot.supplier.country || "?"})` : "in-house"],
          ["Designed material", lot.designedMaterials.join(", ")],
        ]));
        parts.push(...madeBy(model, lot.id, t.runs.filter((r) => r.produced.includes(lot.id))));
        if (lot.materialChecks.length) {
          parts.push(table(
            "Material checks (as designed vs. as built)",
            ["Test report", "Reported", "Designed", "Matches"],
            lot.materialChecks.map((c) => ({ cells: [c.testReport, c.reported, c.designed.join(", "), yesNo(c.matches)], c })),
            (row) => !row.c.matches,
          ));
        }
        const docs = [...lot.declarations, ...lot.testReports];
        if (docs.length) {
          parts.push(table(
            "Evidence",
            ["Document", "Kind", "Issuer", "Issued", "Material"],
            docs.map((d) => ({ cells: [d.number, d.kind, d.issuer, d.issued, d.material] })),
          ));
        }
      }
    } else if (node.kind === "Supplier") {
      const lots = t.lots.filter((l) => l.supplier && l.supplier.id === node.id);
      if (lots.length) {
        const s = lots[0].supplier;
        parts.push(dl([["Supplier", s.supplierId], ["Name", s.name], ["Country", s.country],
          ["Lots in this trace", lots.map((l) => l.lotNumber).join(", ")]]));
      }
    } else if (node.kind === "SupplierDeclaration" || node.kind === "TestReport") {
      for (const lot of t.lots) {
        const doc = [...lot.declarations, ...lot.testReports].find((d) => d.id === node.id);
        if (doc) {
          parts.push(dl([["Number", doc.number], ["Kind", doc.kind], ["Issuer", doc.issuer], ["Issued", doc.issued],
            ["Material", doc.material], ["For lot", lot.lotNumber]]));
        }
      }
    } else {
      parts.push(...runDetails(node, t.runs));
    }
    return parts;
  }

  /** A quantity with its unit's symbol (18.1 s, 275 ± 5 °C), never the QUDT code. */
  function quantity(value, p, tolerance = null) {
    const symbol = p.unitSymbol ? ` ${p.unitSymbol}` : "";
    return tolerance === null ? `${value}${symbol}` : `${value} ± ${tolerance ?? "?"}${symbol}`;
  }

  /** A button that selects (and focuses) another node of the drawing: a link inside the graph. */
  function nodeLink(id, text) {
    const button = el("button", { type: "button", class: "link node-link", "data-select": id, text });
    button.addEventListener("click", () => select(id, { focus: true }));
    return button;
  }

  /**
   * How a lot was made: each run that produced it, on which equipment, and whether that
   * equipment was in calibration then, with a link to each certificate (the bad one first
   * in line, marked as failed).
   */
  function madeBy(model, lotId, runs) {
    if (!runs.length) return [];
    const rows = el("tbody");
    for (const run of runs) {
      const eq = run.equipment;
      const cals = eq ? eq.calibrations : [];
      const bad = eq && !eq.calibratedAtRun;
      const certificates = el("td", {});
      if (!cals.length) certificates.append(eq ? "none on record" : "");
      cals.forEach((cal, i) => {
        if (i > 0) certificates.append(", ");
        certificates.append(model.nodes.has(cal.id) ? nodeLink(cal.id, cal.number) : cal.number);
        certificates.append(` (${cal.validFrom} to ${cal.validUntil}${cal.validAtRun ? "" : ", not valid at the run"})`);
      });
      rows.append(el("tr", { class: bad ? "failed" : null },
        el("td", {}, model.nodes.has(run.id) ? nodeLink(run.id, run.runId) : run.runId),
        el("td", { text: run.startedAt }),
        el("td", {}, eq ? (model.nodes.has(eq.id) ? nodeLink(eq.id, eq.equipmentId) : eq.equipmentId) : "none"),
        certificates,
        el("td", { text: eq ? yesNo(eq.calibratedAtRun) : "unknown" })));
    }
    return [el("table", { class: "made-by", "data-lot": lotId },
      el("caption", { text: "Made by" }),
      el("thead", {}, el("tr", {}, ...["Run", "Started", "Equipment", "Calibration", "Calibrated at run"]
        .map((h) => el("th", { scope: "col", text: h })))),
      rows)];
  }

  /** Details of a run, a piece of equipment or a calibration certificate, from the runs drawn. */
  function runDetails(node, runs) {
    const parts = [];
    if (node.kind === "ProductionRun") {
      const run = runs.find((r) => r.id === node.id);
      if (run) {
        parts.push(dl([
          ["Run", run.runId], ["Step", [run.step, run.stepName].filter(Boolean).join(" · ")],
          ["Started", run.startedAt], ["Ended", run.endedAt],
          ["Equipment", run.equipment ? run.equipment.equipmentId : null],
          ["Parameter set used", run.parameterSetUsed], ["Parameter set in force", run.parameterSetInForce],
        ]));
        if (run.parameters.length) {
          parts.push(table(
            "Parameters against the set in force",
            ["Parameter", "Actual", "Nominal ± tolerance", "Within tolerance"],
            run.parameters.map((p) => ({
              cells: [p.name || p.parameter, quantity(p.actual, p),
                p.nominal === null ? "" : quantity(p.nominal, p, p.tolerance), yesNo(p.withinTolerance)],
              p,
            })),
            (row) => row.p.withinTolerance === false,
          ));
          // Control charts of each parameter at this step (charts.js draws them from the URL fragment).
          const charts = el("ul", { class: "chart-links", "aria-label": "Control charts" });
          for (const p of run.parameters) {
            const code = decodeURIComponent(String(p.parameter).split("/").pop());
            const query = new URLSearchParams({ parameter: code, chart: "individuals" });
            if (run.step) query.set("step", run.step);
            charts.append(el("li", {}, el("a", { href: `#charts/spc?${query}`, "data-parameter": code,
              text: `SPC chart: ${p.name || code}` })));
          }
          parts.push(charts);
        }
      }
    } else if (node.kind === "Equipment") {
      const used = runsWithEquipment(runs, node.id);
      if (used.length) {
        const eq = used[0].equipment;
        parts.push(dl([["Equipment", eq.equipmentId], ["Name", eq.name]]));
        parts.push(table(
          "Calibrated at run",
          ["Run", "Started", "Calibrated"],
          used.map((r) => ({ cells: [r.runId, r.startedAt, yesNo(r.equipment.calibratedAtRun)], r })),
          (row) => !row.r.equipment.calibratedAtRun,
        ));
        parts.push(calibrationTable(used));
      }
    } else if (node.kind === "CalibrationCertificate") {
      const used = runs.filter((r) => r.equipment && r.equipment.calibrations.some((c) => c.id === node.id));
      if (used.length) {
        const cal = used[0].equipment.calibrations.find((c) => c.id === node.id);
        parts.push(dl([["Certificate", cal.number], ["Issuer", cal.issuer], ["Valid from", cal.validFrom],
          ["Valid until", cal.validUntil], ["Equipment", used[0].equipment.equipmentId]]));
        parts.push(calibrationTable(used, node.id));
      }
    }
    return parts;
  }

  function calibrationTable(runs, onlyId = null) {
    const rows = [];
    for (const run of runs) {
      for (const cal of run.equipment.calibrations) {
        if (onlyId && cal.id !== onlyId) continue;
        rows.push({ cells: [cal.number, cal.issuer, cal.validFrom, cal.validUntil, run.runId, yesNo(cal.validAtRun)], cal });
      }
    }
    return table(
      "Calibrations",
      ["Certificate", "Issuer", "Valid from", "Valid until", "Run", "Valid at run"],
      rows,
      (row) => !row.cal.validAtRun,
    );
  }

  function recallDetails(model, node) {
    const scope = model.recall;
    const parts = [];
    if (node.kind === "Lot") {
      const lot = [scope.lot, ...scope.lots].find((l) => l.id === node.id);
      if (lot) parts.push(dl([["Lot", lot.lotNumber], ["Part number", lot.partNumber]]));
      if (node.id === scope.lot.id) {
        parts.push(dl([["Lots made from it", String(scope.lots.length)], ["Units made from it", String(scope.units.length)]]));
        parts.push(...madeBy(model, scope.lot.id, scope.lot.producedBy));
      }
    } else if (node.kind === "SerialUnit") {
      const unit = scope.units.find((u) => u.id === node.id);
      if (unit) {
        parts.push(dl([["Serial", unit.serial], ["Product", unit.product],
          ["Complaints", unit.complaints.map((c) => c.complaintId).join(", ") || "none"]]));
      }
    } else if (node.kind === "Complaint") {
      for (const unit of scope.units) {
        const c = unit.complaints.find((x) => `complaint:${x.complaintId}` === node.id);
        if (!c) continue;
        parts.push(dl([["Complaint", c.complaintId], ["Received", c.receivedOn], ["Text", c.text], ["Unit", unit.serial]]));
        const button = el("button", { type: "button", id: "trace-this", text: `Trace ${c.complaintId}` });
        button.addEventListener("click", () => {
          $("trace-id").value = c.complaintId;
          $("trace-kind").value = "complaint";
          runTrace();
        });
        parts.push(button);
      }
    } else {
      parts.push(...runDetails(node, scope.lot.producedBy));
    }
    return parts;
  }

  function showDetails(model, id) {
    const node = model.nodes.get(id);
    const body = $("details-body");
    body.replaceChildren();
    if (!node) return;
    const failed = model.failedBy.get(id);
    body.append(
      el("p", { class: `details-kind ${kindClass(node.kind)}` },
        el("span", { class: `swatch ${kindClass(node.kind)}`, "aria-hidden": "true" }),
        KIND_NAME.get(node.kind) || node.kind),
      el("p", { class: "details-label", text: node.label }),
      el("p", { class: "details-id" }, el("code", { text: node.id })),
    );
    if (failed) body.append(el("p", { class: "failed-note", text: `Failed check: ${failed.join(", ")}` }));
    const parts = model.mode === "trace" ? traceDetails(model, node) : recallDetails(model, node);
    body.append(...parts);
    const findings = model.findingsFor(id);
    if (findings.length) {
      body.append(el("h4", { text: "Findings naming this node" }));
      const list = el("ul", { class: "findings-here" });
      for (const f of findings) list.append(findingItem(f, model));
      body.append(list);
    }
  }

  // ---------------------------------------------------------------- state and actions

  let current = null;

  function select(id, { focus = false, reveal = false } = {}) {
    if (!current) return;
    for (const g of document.querySelectorAll("#graph .node")) {
      const on = g.getAttribute("data-node-id") === id;
      g.setAttribute("aria-pressed", on ? "true" : "false");
      g.classList.toggle("selected", on);
      if (on && focus) g.focus();
      if (on) g.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
    showDetails(current, id);
    // Below the drawing (windows under 1,800 px), the details would open out of sight.
    const details = $("details");
    if (reveal && details.getBoundingClientRect().top > window.innerHeight - 80) {
      details.scrollIntoView({ block: "nearest" });
    }
  }

  // Fit to width (the default) scales the drawing down to the canvas; actual size scrolls.
  let fitToWidth = true;

  function sizeGraph() {
    const drawing = document.querySelector("#graph svg");
    if (!drawing) return;
    const width = Number(drawing.getAttribute("data-width"));
    const height = Number(drawing.getAttribute("data-height"));
    const room = $("graph").clientWidth - 2;
    const scale = fitToWidth && room > 0 ? Math.min(1, room / width) : 1;
    drawing.setAttribute("width", String(Math.round(width * scale)));
    drawing.setAttribute("height", String(Math.round(height * scale)));
    const zoom = $("zoom");
    zoom.textContent = fitToWidth ? "Actual size" : "Fit to width";
    zoom.setAttribute("aria-pressed", fitToWidth ? "false" : "true");
  }

  function render(model) {
    current = model;
    const graph = $("graph");
    graph.replaceChildren(drawGraph(model));
    $("result").hidden = false;
    sizeGraph();
    drawLegend(model);
    $("details-body").replaceChildren(
      el("p", { class: "hint", text: "Click a node (or focus it and press Enter) to see its details." }),
    );

    // Findings are numbered; a remark about them is a note, never "finding 1".
    const findings = $("findings");
    findings.replaceChildren();
    for (const f of model.findings) findings.append(findingItem(f, model, { withButton: true }));
    findings.hidden = model.findings.length === 0;
    let note = "";
    if (model.mode === "trace" && model.findings.length === 0) note = "No failed checks on this trace.";
    if (model.mode === "recall") {
      note = model.findings.length === 0
        ? `No failed checks on lot ${model.title} or on the runs that made it.` : "";
      note += `${note ? " " : ""}Checks further upstream, and on the units made from the lot, ` +
        "are on each complaint's reverse trace: click a complaint, then Trace.";
    }
    show("findings-note", note);

    const summary = $("summary");
    summary.replaceChildren();
    if (model.mode === "trace") {
      const t = model.trace;
      const text = t.complaint.texts.find((x) => x.lang === "en") || t.complaint.texts[0];
      summary.append(
        el("strong", { text: `Complaint ${t.complaint.complaintId}` }),
        ` · unit ${t.unit.serial}${t.unit.product ? ` (${t.unit.product})` : ""}`,
        t.complaint.market ? ` · market ${t.complaint.market}` : "",
        ` · ${t.lots.length} lots, ${t.runs.length} runs, ${t.findings.length} findings`,
      );
      if (text) summary.append(el("br"), el("q", { lang: text.lang, text: text.text }));
      summary.append(" · ", el("a", { href: "#charts/pareto", id: "pareto-link", text: "Pareto of failure modes" }));
      $("gap-product").value = t.unit.product || "";
      if (["EU", "US", "CN", "VN"].includes(t.complaint.market)) $("gap-market").value = t.complaint.market;
      $("compliance").hidden = false;
    } else {
      const s = model.recall;
      const made = s.lot.producedBy.map((r) => `${r.runId}${r.equipment ? ` on ${r.equipment.equipmentId}` : ""}`);
      summary.append(
        el("strong", { text: `Recall scope of lot ${s.lot.lotNumber}` }),
        made.length ? ` · made in ${made.join(", ")}` : "",
        ` · ${s.lots.length} lots and ${s.units.length} units made from it`,
        ` · ${s.lot.findings.length} findings`,
      );
      $("compliance").hidden = true;
    }
    $("gap-result").replaceChildren();
    $("pack-result").replaceChildren();
  }

  function clearResult() {
    current = null;
    $("result").hidden = true;
    $("graph").replaceChildren();
    $("findings").replaceChildren();
    show("findings-note", "");
    $("gap-result").replaceChildren();
    $("pack-result").replaceChildren();
  }

  async function withBusy(text, task) {
    const busy = $("busy");
    busy.textContent = text;
    try {
      return await task();
    } finally {
      busy.textContent = "";
    }
  }

  async function runTrace() {
    const id = $("trace-id").value.trim();
    const kind = $("trace-kind").value;
    show("message", "");
    if (!id) {
      show("message", "Enter a complaint id or a lot id.");
      return;
    }
    try {
      const model = await withBusy(`Tracing ${id}…`, async () => {
        const errors = [];
        if (kind !== "lot") {
          try {
            return traceModel((await gql(TRACE_QUERY, { id })).trace);
          } catch (err) {
            if (kind === "complaint" || err.code !== "NOT_FOUND") throw err;
            errors.push(err.message);
          }
        }
        try {
          return recallModel((await gql(RECALL_QUERY, { id })).recallScope);
        } catch (err) {
          if (err.code !== "NOT_FOUND") throw err;
          errors.push(err.message);
          throw new ApiError(`Nothing found for “${id}”: ${errors.join("; ")}.`, { code: "NOT_FOUND" });
        }
      });
      render(model);
    } catch (err) {
      clearResult();
      show("message", err.message);
    }
  }

  async function runGap() {
    const productId = $("gap-product").value.trim();
    const market = $("gap-market").value;
    const out = $("gap-result");
    out.replaceChildren();
    if (!productId) return;
    try {
      const report = await withBusy(`Gap report of ${productId} for ${market}…`,
        async () => (await gql(GAP_QUERY, { productId, market })).gapReport);
      const s = report.summary;
      out.append(
        el("h4", { text: `Gap report: ${report.model}, ${report.market}, ${report.date}` }),
        el("p", { class: report.conforms ? "conforms" : "not-conforms", text: report.conforms ? "Conforms." : "Does not conform." }),
        dl([
          ["Catalog version", report.catalogVersion],
          ["Applicable regulations", report.applicable.join(", ") || "none"],
          ["Requirements checked", String(s.checked)], ["Passed", String(s.passed)], ["Violated", String(s.violated)],
          ["Not checkable", String(s.notCheckable)],
        ]),
      );
      const list = el("ol", { class: "gap-findings" });
      for (const f of report.findings) {
        list.append(el("li", { class: `severity-${/^[a-z]+$/.test(f.severity) ? f.severity : "other"}` },
          el("span", { class: "severity", text: f.severity }), " ",
          el("span", { text: [f.regulationId, f.clause].filter(Boolean).join(" · ") || f.kind }),
          el("p", { lang: "en", text: f.messageEn }),
          el("p", { lang: "zh", text: f.messageZh })));
      }
      out.append(list);
      const save = el("button", { type: "button", id: "gap-download", text: "Download gap report (JSON)" });
      save.addEventListener("click", () => {
        const blob = new Blob([JSON.stringify(report, null, 2)], { type: "application/json" });
        saveBlob(blob, `gap-report-${report.model}-${report.market}-${report.date}.json`);
      });
      out.append(save, el("p", { class: "hint", text: "The PDF gap report is in the document pack (gap-report/gap-report.pdf)." }));
    } catch (err) {
      out.append(el("p", { class: "message", role: "alert", text: err.message }));
    }
  }

  async function runPack() {
    const productId = $("gap-product").value.trim();
    const market = $("gap-market").value;
    const out = $("pack-result");
    out.replaceChildren();
    if (!productId) return;
    try {
      const pack = await withBusy(`Generating the ${market} pack of ${productId}…`,
        async () => (await gql(PACK_MUTATION, { productId, market })).generatePack);
      const button = el("button", { type: "button", id: "pack-download", text: `Download ${pack.packId}.zip` });
      const status = el("p", { role: "status" });
      button.addEventListener("click", async () => {
        status.textContent = "";
        try {
          await download(pack.downloadUrl, `${pack.packId}.zip`);
          status.textContent = "Downloaded.";
        } catch (err) {
          status.textContent = err.message;
        }
      });
      out.append(
        el("h4", { text: `Pack ${pack.packId}` }),
        dl([["Status", pack.status], ["Open findings", String(pack.openFindings)], ["Files", String(pack.files.length)]]),
        button,
        status,
      );
    } catch (err) {
      out.append(el("p", { class: "message", role: "alert", text: err.message }));
    }
  }

  // Only the latest whoami answer counts: the one asked on page load may come back after
  // the one asked on sign-in, and must not overwrite it with "Not signed in".
  let whoamiAsked = 0;

  async function refreshWhoami() {
    const line = $("whoami");
    const key = apiKey();
    const asked = ++whoamiAsked;
    $("signout").hidden = !key;
    try {
      const who = (await gql(WHOAMI_QUERY)).whoami;
      if (asked !== whoamiAsked) return;
      if (who && who.role) line.textContent = `Signed in as ${who.name} (${who.role}).`;
      else if (who) line.textContent = `Not signed in (${who.name}).`;
      else line.textContent = "Not signed in.";
      line.classList.remove("error");
    } catch (err) {
      if (asked !== whoamiAsked) return;
      line.textContent = key ? err.message : `Not signed in. ${err.message}`;
      line.classList.add("error");
    }
  }

  function signIn(event) {
    event.preventDefault();
    const input = $("api-key");
    const key = input.value.trim();
    input.value = "";
    if (!key) {
      $("whoami").textContent = "Paste an API key first.";
      return;
    }
    sessionStorage.setItem(KEY_STORAGE, key);
    refreshWhoami();
  }

  function signOut() {
    sessionStorage.removeItem(KEY_STORAGE);
    $("api-key").value = "";
    clearResult();
    show("message", "");
    $("whoami").textContent = "Signed out.";
    $("signout").hidden = true;
  }

  function onNodeEvent(event) {
    const g = event.target.closest && event.target.closest("#graph .node");
    if (!g) return;
    if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    select(g.getAttribute("data-node-id"), { reveal: true });
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", signOut);
    $("trace-form").addEventListener("submit", (event) => {
      event.preventDefault();
      runTrace();
    });
    $("gap-form").addEventListener("submit", (event) => {
      event.preventDefault();
      runGap();
    });
    $("pack-generate").addEventListener("click", runPack);
    $("graph").addEventListener("click", onNodeEvent);
    $("graph").addEventListener("keydown", onNodeEvent);
    $("zoom").addEventListener("click", () => {
      fitToWidth = !fitToWidth;
      sizeGraph();
    });
    window.addEventListener("resize", sizeGraph);
    document.body.setAttribute("data-ready", "true");
    refreshWhoami();
  });
})();
