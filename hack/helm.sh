#!/usr/bin/env bash
# Builds helm from its Go module and prints the binary's path, e.g.
#
#   "$(hack/helm.sh)" lint charts/share-operator
#
# Like the control plane (hack/control-plane.sh), helm is compiled rather than
# downloaded: from helm.sh/helm/v3 at the version pinned in
# hack/tools/helm/go.mod (see hack/tools/README.md), into a cache OUTSIDE the
# repository,
#
#   ${SHARE_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/share-operator}/helm/<version>/helm
#
# First run on 2 cores with a cold Go build cache: ~2-3 min; afterwards instant.
# Progress goes to stderr; on success stdout carries ONLY the binary's path.
#
# Environment:
#   SHARE_OPERATOR_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/share-operator)
#   GOCACHE/GOMODCACHE    honoured as usual by the go command
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
HELM_MOD="${ROOT}/hack/tools/helm"

log() { printf '%s\n' "helm: $*" >&2; }
die() { log "error: $*"; exit 1; }

HELM_VERSION="$(grep -oE '(^|[[:space:]])helm\.sh/helm/v3[[:space:]]+v[^[:space:]]+' "${HELM_MOD}/go.mod" | awk '{print $2}' | head -n1)"
[[ -n ${HELM_VERSION} ]] || die "${HELM_MOD}/go.mod does not require helm.sh/helm/v3"

CACHE_ROOT="${SHARE_OPERATOR_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME or SHARE_OPERATOR_CACHE must be set}/.cache}/share-operator}"
DIR="${CACHE_ROOT}/helm/${HELM_VERSION}"
BIN="${DIR}/helm"

# Fast path: nothing to do, no go command run.
if [[ -f ${BIN} && -x ${BIN} ]]; then
	printf '%s\n' "${BIN}"
	exit 0
fi

command -v go >/dev/null 2>&1 || die "the go command is needed to build helm"
mkdir -p "${DIR}"

# Serialise concurrent invocations (parallel test packages call this at once)
# so the build runs once; the others wait and then take the fast path.
if command -v flock >/dev/null 2>&1; then
	exec 9>"${DIR}/.lock"
	if ! flock -n 9; then
		log "another build into ${DIR} is running; waiting for it"
		flock 9
	fi
	# Holding the lock: leftovers of killed builds are safe to remove.
	rm -rf "${DIR}"/.build.*
	if [[ -f ${BIN} && -x ${BIN} ]]; then # built by the invocation we waited for
		printf '%s\n' "${BIN}"
		exit 0
	fi
fi

TMP="$(mktemp -d "${DIR}/.build.XXXXXX")"
trap 'rm -rf "${TMP}"' EXIT

# Built on its own module: never through a go.work, static, without paths of
# this machine, from the committed go.sum.
export GOWORK=off CGO_ENABLED=0

# What helm's own Makefile stamps into a release: the version, a clean tree,
# and the Kubernetes version helm reports as .Capabilities.KubeVersion (taken,
# as upstream does, from the client-go it is built with).
client_go="$(cd "${HELM_MOD}" && go list -m -f '{{.Version}}' k8s.io/client-go)" ||
	die "cannot resolve k8s.io/client-go in ${HELM_MOD}"
client_go="${client_go#v0.}"
k8s_minor="${client_go%%.*}"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
	ldflags+=" -X ${pkg}.k8sVersionMajor=1 -X ${pkg}.k8sVersionMinor=${k8s_minor}"
done

log "building helm ${HELM_VERSION} from helm.sh/helm/v3 (takes ~2-3 min on 2 cores with a cold Go build cache)…"
start=${SECONDS}
(cd "${HELM_MOD}" && go build -mod=readonly -trimpath -buildvcs=false -ldflags="${ldflags}" \
	-o "${TMP}/helm" helm.sh/helm/v3/cmd/helm) >&2 || die "building helm failed"
"${TMP}/helm" version --short >/dev/null 2>&1 || die "the freshly built helm does not run"
chmod 0755 "${TMP}/helm"
mv -f "${TMP}/helm" "${BIN}" # same filesystem: atomic
log "built helm ${HELM_VERSION} in $((SECONDS - start))s -> ${BIN}"
printf '%s\n' "${BIN}"
