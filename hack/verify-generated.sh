#!/usr/bin/env bash
# Fails when the generated files (CRDs, RBAC role, deepcopy, the Helm chart's
# copies of config/) differ from what generation makes of the current sources.
# Generates into a temporary copy, so it works on a dirty tree and never
# rewrites your files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

go tool controller-gen crd paths="./api/..." output:crd:artifacts:config="${tmp}/crd"
go tool controller-gen rbac:roleName=manager-role paths="./controllers/..." output:rbac:artifacts:config="${tmp}/rbac"
cp api/v1alpha1/zz_generated.deepcopy.go "${tmp}/deepcopy.before"
go tool controller-gen object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

status=0
if ! diff -ru "${tmp}/crd" config/crd/bases; then
	echo "config/crd/bases is stale: run 'make manifests' and commit" >&2
	status=1
fi
if ! diff -u "${tmp}/rbac/role.yaml" config/rbac/role.yaml; then
	echo "config/rbac/role.yaml is stale: run 'make manifests' and commit" >&2
	status=1
fi
# The chart's copies of config/ (CRDs, RBAC rules, config/prometheus).
hack/chart-sync.sh "${tmp}/chart"
for d in crds files; do
	if ! diff -ruN "${tmp}/chart/${d}" "charts/share-operator/${d}"; then
		echo "charts/share-operator/${d} differs from config/: run 'make chart' (or 'make manifests') and commit" >&2
		status=1
	fi
done
if ! diff -u "${tmp}/deepcopy.before" api/v1alpha1/zz_generated.deepcopy.go; then
	cp "${tmp}/deepcopy.before" api/v1alpha1/zz_generated.deepcopy.go
	echo "api/v1alpha1/zz_generated.deepcopy.go is stale: run 'make generate' and commit" >&2
	status=1
fi
[[ ${status} -eq 0 ]] && echo "generated files are up to date"
exit "${status}"
