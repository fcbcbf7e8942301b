#!/usr/bin/env bash
# Points this module at another k8s.io/kubernetes release, e.g.
#
#   hack/tools/kube/bump.sh v1.37.3
#
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/apiserver,
# ...) at v0.0.0 and replaces them with ./staging/src/...; this regenerates our
# replace block mapping each of them to the matching v0.<minor>.<patch> tag,
# then runs go mod tidy here (only here: never in the repository root).
set -euo pipefail

[[ $# -eq 1 && $1 =~ ^v1\.[0-9]+\.[0-9]+$ ]] || {
	echo "usage: $0 v1.MINOR.PATCH" >&2
	exit 2
}
version=$1
staging="v0.${version#v1.}"
cd "$(dirname "${BASH_SOURCE[0]}")"
export GOWORK=off

upstream_mod="$(go mod download -json "k8s.io/kubernetes@${version}" |
	sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[[ -f ${upstream_mod} ]] || {
	echo "cannot download k8s.io/kubernetes@${version}" >&2
	exit 1
}

{
	# Everything up to the replace block, with the new version required.
	sed -e '/^replace (/,$d' \
		-e "s#^\(\(require\)\{0,1\}[[:space:]]*k8s\.io/kubernetes\) v[^[:space:]]*#\1 ${version}#" go.mod
	echo "replace ("
	awk -v v="${staging}" '$2 == "v0.0.0" && $1 ~ /^k8s\.io\// {printf "\t%s => %s %s\n", $1, $1, v}' "${upstream_mod}"
	echo ")"
} >go.mod.new
mv go.mod.new go.mod
# tidy may raise shared dependencies (MVS) above the k8s.io/kubernetes pins: fine.
go mod tidy
grep -E 'k8s\.io/kubernetes v' go.mod
echo "now run hack/control-plane.sh (it builds into a new, version-keyed cache directory)" >&2
