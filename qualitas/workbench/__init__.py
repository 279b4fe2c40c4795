"""The quality workbench: FMEA (AIAG & VDA 2019) to control plan, CAPA records (8D,
5-Why, PDCA), charts and chat alerts, all as graph data traceable like the rest.

    ap            Action Priority from the handbook's table (data: action_priority.yaml)
    fmea          FMEA model, its triples and reading it back from the store
    worksheet     FMEA worksheet import/export (XLSX, CSV) with the column mapping
    wizard        `qualitas fmea new`: answers -> FMEA + control plan, proposals from the graph
    control_plan  control plan items (AIAG columns) and their JSON/XLSX/PDF forms
    capa          CAPA records with closure rules and the effectiveness check
    charts        SPC, Pareto, Ishikawa/5-Why and risk-matrix pictures

Modules are imported where used; importing the package loads nothing heavy.
"""
