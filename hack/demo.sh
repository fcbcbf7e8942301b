#!/usr/bin/env bash
# make demo: builds (once) the local control plane, then runs the story in
# hack/demo: kube-apiserver and etcd, the reference account server with a
# provider and a vendor account, the operator, and the sample ShareLink.
# Arguments go to the demo (--once runs it unattended and checks each step).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
assets="$(hack/control-plane.sh)"
export KUBEBUILDER_ASSETS="${assets}"
echo "==> building the demo (the operator and the reference account server, in one program)" >&2
go build -o bin/demo ./hack/demo
exec bin/demo "$@"
