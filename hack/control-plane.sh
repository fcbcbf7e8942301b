#!/usr/bin/env bash
# Builds a local Kubernetes control plane (kube-apiserver, etcd, kubectl and,
# for the end-to-end suite, kube-controller-manager) from
# Go modules and prints the directory holding the three binaries, e.g.
#
#   KUBEBUILDER_ASSETS=$(hack/control-plane.sh) go test ./...
#   KUBEBUILDER_ASSETS ?= $(shell hack/control-plane.sh)      # Makefile
#
# setup-envtest cannot download release binaries in this environment, so they
# are compiled from k8s.io/kubernetes and go.etcd.io/etcd/server/v3, at the
# versions pinned in hack/tools/kube/go.mod and hack/tools/etcd/go.mod (see
# hack/tools/README.md). The binaries are cached OUTSIDE the repository, in
#
#   ${SHARE_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/share-operator}/control-plane/k8s-<version>-etcd-<version>/
#
# and only missing ones are built. First run on 2 cores with an empty Go build
# cache: ~10 min for kube-apiserver (about 20 CPU-minutes), then ~1 min for
# kubectl (it shares most packages) and ~1 min for etcd; afterwards instant.
# Progress goes to stderr; on success stdout carries ONLY the directory path.
#
# Environment:
#   SHARE_OPERATOR_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/share-operator)
#   GOCACHE/GOMODCACHE    honoured as usual by the go command
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
KUBE_MOD="${ROOT}/hack/tools/kube"
ETCD_MOD="${ROOT}/hack/tools/etcd"

log() { printf '%s\n' "control-plane: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Prints the version that go.mod file $1 requires for module $2.
required_version() {
	local v
	v="$(grep -oE "(^|[[:space:]])${2//./\\.}[[:space:]]+v[^[:space:]]+" "$1" | awk '{print $2}' | head -n1)"
	[[ -n ${v} ]] || die "$1 does not require $2"
	printf '%s\n' "${v}"
}

K8S_VERSION="$(required_version "${KUBE_MOD}/go.mod" k8s.io/kubernetes)"
ETCD_VERSION="$(required_version "${ETCD_MOD}/go.mod" go.etcd.io/etcd/server/v3)"

CACHE_ROOT="${SHARE_OPERATOR_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME or SHARE_OPERATOR_CACHE must be set}/.cache}/share-operator}"
DIR="${CACHE_ROOT}/control-plane/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}"
BINARIES=(kube-apiserver kube-controller-manager etcd kubectl)

have() { [[ -f "${DIR}/$1" && -x "${DIR}/$1" ]]; }
all_present() {
	local b
	for b in "${BINARIES[@]}"; do have "${b}" || return 1; done
}

# Fast path: nothing to do, no go command run.
if all_present; then
	printf '%s\n' "${DIR}"
	exit 0
fi

command -v go >/dev/null 2>&1 || die "the go command is needed to build the control plane"
mkdir -p "${DIR}"

# Serialise concurrent invocations (e.g. parallel make targets) so the
# expensive build runs once; the others wait and then take the fast path.
if command -v flock >/dev/null 2>&1; then
	exec 9>"${DIR}/.lock"
	if ! flock -n 9; then
		log "another build into ${DIR} is running; waiting for it"
		flock 9
	fi
	# Holding the lock: leftovers of killed builds are safe to remove.
	rm -rf "${DIR}"/.build.*
	if all_present; then # built by the invocation we waited for
		printf '%s\n' "${DIR}"
		exit 0
	fi
fi

TMP="$(mktemp -d "${DIR}/.build.XXXXXX")"
trap 'rm -rf "${TMP}"' EXIT

# The tool modules are built on their own: never through a go.work, static,
# without paths of this machine, stripped, from the committed go.sum.
export GOWORK=off CGO_ENABLED=0
GO_BUILD=(go build -mod=readonly -trimpath -buildvcs=false)

# k8s.io/kubernetes requires its staging modules (k8s.io/api, ...) at v0.0.0;
# hack/tools/kube/go.mod must replace every one of them with v0.<minor>.<patch>.
check_kube_replaces() {
	local staging="v0.${K8S_VERSION#v1.}" upstream_mod missing=() wrong=() m
	upstream_mod="$(cd "${KUBE_MOD}" && go list -m -f '{{.GoMod}}' k8s.io/kubernetes)" ||
		die "cannot resolve k8s.io/kubernetes ${K8S_VERSION} in ${KUBE_MOD}"
	while read -r m; do
		grep -qE "^[[:space:]]*(replace[[:space:]]+)?${m//./\\.}[[:space:]]+=>[[:space:]]+${m//./\\.}[[:space:]]+${staging//./\\.}[[:space:]]*$" \
			"${KUBE_MOD}/go.mod" || missing+=("${m}")
	done < <(awk '$2 == "v0.0.0" && $1 ~ /^k8s\.io\// {print $1}' "${upstream_mod}")
	while read -r m v; do
		[[ ${v} == "${staging}" ]] || wrong+=("${m}@${v}")
	done < <(awk '$2 == "=>" && $1 ~ /^k8s\.io\// {print $1, $4}' "${KUBE_MOD}/go.mod")
	if ((${#missing[@]} > 0 || ${#wrong[@]} > 0)); then
		die "hack/tools/kube/go.mod is out of sync with k8s.io/kubernetes ${K8S_VERSION}:" \
			"${missing[*]:+missing replace to ${staging}: ${missing[*]};}" \
			"${wrong[*]:+replaced to other versions: ${wrong[*]}}" \
			"(regenerate with hack/tools/kube/bump.sh ${K8S_VERSION})"
	fi
}

# build NAME MODULE_DIR PACKAGE LDFLAGS NOTE
build() {
	local name=$1 moddir=$2 pkg=$3 ldflags=$4 note=$5 start
	if have "${name}"; then
		log "${name} already built"
		return
	fi
	log "building ${name} ${note}…"
	start=${SECONDS}
	(cd "${moddir}" && "${GO_BUILD[@]}" -ldflags="${ldflags}" -o "${TMP}/${name}" "${pkg}") >&2 ||
		die "building ${name} failed"
	local smoke=(--version)
	[[ ${name} != kubectl ]] || smoke=(version --client)
	"${TMP}/${name}" "${smoke[@]}" >/dev/null 2>&1 || die "the freshly built ${name} does not run"
	chmod 0755 "${TMP}/${name}"
	mv -f "${TMP}/${name}" "${DIR}/${name}" # same filesystem: atomic
	log "built ${name} in $((SECONDS - start))s -> ${DIR}/${name}"
}

if ! have kube-apiserver || ! have kube-controller-manager || ! have kubectl; then
	check_kube_replaces
	# What kube's hack/lib/version.sh stamps into release builds. buildDate is
	# the module's publication time so that rebuilds are byte-identical.
	k8s_minor="${K8S_VERSION#v1.}"
	k8s_minor="${k8s_minor%%.*}"
	build_date="$(cd "${KUBE_MOD}" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
	kube_ldflags="-s -w"
	for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
		kube_ldflags+=" -X ${pkg}.gitVersion=${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${k8s_minor}"
		kube_ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=${build_date}"
	done
	build kube-apiserver "${KUBE_MOD}" k8s.io/kubernetes/cmd/kube-apiserver "${kube_ldflags}" \
		"${K8S_VERSION} from k8s.io/kubernetes (takes ~10 min on 2 cores with a cold Go build cache)"
	# The end-to-end suite (test/e2e) runs the garbage collector and the
	# namespace controller from it, which envtest's two binaries lack.
	build kube-controller-manager "${KUBE_MOD}" k8s.io/kubernetes/cmd/kube-controller-manager "${kube_ldflags}" \
		"${K8S_VERSION} from k8s.io/kubernetes (takes ~3 min after kube-apiserver)"
	build kubectl "${KUBE_MOD}" k8s.io/kubernetes/cmd/kubectl "${kube_ldflags}" \
		"${K8S_VERSION} from k8s.io/kubernetes (takes ~1 min after kube-apiserver)"
fi
build etcd "${ETCD_MOD}" . "-s -w" \
	"${ETCD_VERSION} from go.etcd.io/etcd/server/v3 (takes ~1-2 min on 2 cores)"

all_present || die "some binaries are missing from ${DIR}"
log "control plane ready (kube-apiserver ${K8S_VERSION}, etcd ${ETCD_VERSION}, kubectl ${K8S_VERSION})"
printf '%s\n' "${DIR}"
