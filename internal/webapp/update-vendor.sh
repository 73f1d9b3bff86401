#!/usr/bin/env bash
# Re-vendors the chart library the web app loads, from the npm registry, into
# vendor/ beside this script, and rewrites vendor/README.md to name it.
#
#   internal/webapp/update-vendor.sh [CHARTJS_VERSION]
#
# The version is an npm range or an exact version; the default takes the
# newest Chart.js 4. The file is copied byte for byte, so it can be checked
# against the package's tarball (CI does: see .ci/run).
set -euo pipefail

chartjs_version=${1:-4}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vendor=$here/vendor
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# npm pack fetches the package's tarball alone: the UMD build bundles its
# one dependency (@kurkle/color).
(cd "$scratch" && npm pack --silent "chart.js@$chartjs_version" >/dev/null)
tar -xzf "$scratch"/chart.js-*.tgz -C "$scratch"
version=$(node -p "require('$scratch/package/package.json').version")
case $version in
4.*) ;;
*) echo "chart.js $version: the app is written against Chart.js 4" >&2; exit 1 ;;
esac

rm -f "$vendor"/*.js "$vendor"/LICENSE.*
mkdir -p "$vendor"
cp "$scratch/package/dist/chart.umd.min.js" "$vendor/chart.umd.min.js"
cp "$scratch/package/LICENSE.md" "$vendor/LICENSE.chartjs"
sum() { sha256sum "$vendor/$1" | cut -d' ' -f1; }

cat >"$vendor/README.md" <<README
# The web app's vendored files

Copied byte for byte from their npm package and built into the binary (see
\`../webapp.go\`), so the app needs no CDN. Written by \`../update-vendor.sh\`;
do not edit by hand.

| file | package | path in the package | sha256 |
| --- | --- | --- | --- |
| \`chart.umd.min.js\` | chart.js@$version | \`dist/chart.umd.min.js\` | \`$(sum chart.umd.min.js)\` |
| \`LICENSE.chartjs\` | chart.js@$version | \`LICENSE.md\` | \`$(sum LICENSE.chartjs)\` |

Chart.js is MIT-licensed; its licence is served beside it
(\`/app/assets/LICENSE.chartjs\`). Its UMD build sets the global \`Chart\` and
needs no other script. Its last line names a source map that is not vendored:
only a browser's developer tools ask for it, and get a 404.

## Updating

\`\`\`sh
internal/webapp/update-vendor.sh          # newest Chart.js 4
internal/webapp/update-vendor.sh 4.6.1
go test ./internal/webapp/ && go test -run TestBrowserApp .
\`\`\`
README
echo "chart.js $version"
