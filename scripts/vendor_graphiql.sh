#!/usr/bin/env bash
# Refresh the GraphiQL build the server ships, so /graphql works without internet.
#
#   scripts/vendor_graphiql.sh                      # the pinned versions below
#   GRAPHIQL_VERSION=3.8.3 REACT_VERSION=18.2.0 scripts/vendor_graphiql.sh
#
# Takes the packages from the npm registry with `npm pack` (which checks each tarball
# against the registry's integrity hash), copies the browser builds into
# qualitas/graphql/static/vendor/, minifies GraphiQL's bundle with esbuild (its
# graphiql.min.js is an unminified webpack bundle of 3.5 MB), and writes vendor.json:
# each package's version, tarball URL and integrity, each file's sha256 and source,
# and the licences. tests/graphql/test_graphiql_offline.py checks the files against
# vendor.json and loads the page in Chromium with every request off 127.0.0.1 refused.
# Commit the result. Needs node/npm and python3.
set -euo pipefail

GRAPHIQL_VERSION="${GRAPHIQL_VERSION:-3.8.3}"
REACT_VERSION="${REACT_VERSION:-18.2.0}"
ESBUILD_VERSION="${ESBUILD_VERSION:-0.24.0}"

cd "$(dirname "$0")/.."
DEST=qualitas/graphql/static/vendor
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

packages=("graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION")
(cd "$work" && npm pack --silent "${packages[@]}" >/dev/null)
for spec in "${packages[@]}"; do
  name="${spec%@*}"
  version="${spec##*@}"
  mkdir -p "$work/$name"
  tar -xzf "$work/$name-$version.tgz" -C "$work/$name"
  npm view "$spec" dist.tarball dist.integrity --json >"$work/$name.dist.json"
done

rm -rf "$DEST"
mkdir -p "$DEST"
cp "$work/react/package/umd/react.production.min.js" "$DEST/"
cp "$work/react-dom/package/umd/react-dom.production.min.js" "$DEST/"
minify=(npm exec --yes --package="esbuild@$ESBUILD_VERSION" -- esbuild --minify --log-level=error)
"${minify[@]}" "$work/graphiql/package/graphiql.min.js" --outfile="$DEST/graphiql.min.js"
"${minify[@]}" "$work/graphiql/package/graphiql.min.css" --outfile="$DEST/graphiql.min.css"

python3 - "$work" "$DEST" "$ESBUILD_VERSION" "${packages[@]}" <<'PY'
import hashlib, json, sys
from pathlib import Path

work, dest, esbuild, *specs = sys.argv[1:]
work, dest = Path(work), Path(dest)
sources = {
    "react.production.min.js": ("react", "umd/react.production.min.js", None),
    "react-dom.production.min.js": ("react-dom", "umd/react-dom.production.min.js", None),
    "graphiql.min.js": ("graphiql", "graphiql.min.js", f"minified with esbuild {esbuild}"),
    "graphiql.min.css": ("graphiql", "graphiql.min.css", f"minified with esbuild {esbuild}"),
}
packages = {}
for spec in specs:
    name, version = spec.rsplit("@", 1)
    dist = json.loads((work / f"{name}.dist.json").read_text())
    packages[name] = {
        "version": version,
        "tarball": dist["dist.tarball"],
        "integrity": dist["dist.integrity"],
        "license": (work / name / "package" / "LICENSE").read_text(encoding="utf-8"),
    }
files = {}
for file, (package, path, transform) in sources.items():
    entry = {"package": package, "path": path, "sha256": hashlib.sha256((dest / file).read_bytes()).hexdigest()}
    if transform:
        entry["transform"] = transform
    files[file] = entry
manifest = {
    "_comment": "DO NOT EDIT: written by scripts/vendor_graphiql.sh from the npm registry",
    "packages": packages,
    "files": files,
}
(dest / "vendor.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
PY

du -ch "$DEST"/* | tail -n 1 | sed "s|total|in $DEST|"
