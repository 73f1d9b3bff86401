#!/usr/bin/env bash
# Re-vendors the files GraphiQL's page loads, from the npm registry, into
# assets/ beside this script, and rewrites assets/README.md to name them.
#
#   internal/graphiql/update-assets.sh [GRAPHIQL_VERSION] [REACT_VERSION]
#
# Versions are npm ranges or exact versions; the defaults take the newest
# graphiql 3.x (4.x and later ship no UMD build to load with a script tag)
# and the newest React 18 (19 ships no UMD build either). The files are copied
# byte for byte, so each can be checked against its package's tarball.
set -euo pipefail

graphiql_version=${1:-3}
react_version=${2:-18}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
assets=$here/assets
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# npm pack fetches one package's tarball and none of its dependencies: the
# UMD builds are self-contained apart from React and ReactDOM.
fetch() {
	local spec=$1 dir=$scratch/${1%@*}
	mkdir -p "$dir"
	local tarball
	tarball=$(cd "$dir" && npm pack --silent "$spec" | tail -n 1)
	tar -xzf "$dir/$tarball" -C "$dir"
	node -p "require('$dir/package/package.json').version"
}

graphiql=$(fetch "graphiql@$graphiql_version")
react=$(fetch "react@$react_version")
react_dom=$(fetch "react-dom@$react_version")

case $graphiql in
3.*) ;;
*) echo "graphiql $graphiql: only 3.x ships graphiql.min.js as a UMD build" >&2; exit 1 ;;
esac
if [[ $react != "$react_dom" ]]; then
	echo "react $react and react-dom $react_dom differ: ReactDOM needs its own React" >&2
	exit 1
fi

rm -f "$assets"/*.js "$assets"/*.css "$assets"/LICENSE.*
mkdir -p "$assets"
cp "$scratch/graphiql/package/graphiql.min.js" "$scratch/graphiql/package/graphiql.min.css" "$assets/"
cp "$scratch/graphiql/package/LICENSE" "$assets/LICENSE.graphiql"
cp "$scratch/react/package/umd/react.production.min.js" "$assets/"
cp "$scratch/react/package/LICENSE" "$assets/LICENSE.react"
cp "$scratch/react-dom/package/umd/react-dom.production.min.js" "$assets/"
cp "$scratch/react-dom/package/LICENSE" "$assets/LICENSE.react-dom"

row() {
	local file=$1 pkg=$2 version=$3 path=$4
	printf '| `%s` | %s@%s | `%s` | %s | `%s` |\n' "$file" "$pkg" "$version" "$path" \
		"$(wc -c <"$assets/$file" | tr -d ' ')" "$(sha256sum "$assets/$file" | cut -c1-16)"
}

{
	cat <<'HEAD'
# GraphiQL's vendored files

The files GraphiQL's page loads, copied byte for byte from their npm packages
and built into the binary (see `../graphiql.go`), so the page needs no CDN.
Written by `../update-assets.sh`; do not edit by hand.

| file | package | path in the package | bytes | sha256 (first 16) |
| --- | --- | --- | --- | --- |
HEAD
	row graphiql.min.js graphiql "$graphiql" graphiql.min.js
	row graphiql.min.css graphiql "$graphiql" graphiql.min.css
	row react.production.min.js react "$react" umd/react.production.min.js
	row react-dom.production.min.js react-dom "$react_dom" umd/react-dom.production.min.js
	row LICENSE.graphiql graphiql "$graphiql" LICENSE
	row LICENSE.react react "$react" LICENSE
	row LICENSE.react-dom react-dom "$react_dom" LICENSE
	cat <<'TAIL'

All three packages are MIT-licensed; their licenses are served beside them
(`/graphiql/LICENSE.graphiql`, ...).

graphiql's UMD build reads only the globals `React` and `ReactDOM`; it needs no
other script (no `@graphiql/plugin-explorer`, no `graphql`: it bundles its own).
Its last line names a source map that is not vendored: only a browser's
developer tools ask for it, and get a 404.

## Updating

```sh
internal/graphiql/update-assets.sh            # newest graphiql 3.x and React 18
internal/graphiql/update-assets.sh 3.9.0 18.3.1
go test ./internal/graphiql/ && go test -run TestBrowser .
```

graphiql 4 and later ship no UMD build, and React 19 no UMD build either:
moving to them means bundling, which this package avoids.
TAIL
} >"$assets/README.md"

echo "graphiql $graphiql, react $react, react-dom $react_dom"
