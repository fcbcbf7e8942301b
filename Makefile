# share-operator: build, test and run the operator.

IMG ?= ghcr.io/pruvan-share/share-operator:latest
LOCALBIN ?= $(shell pwd)/bin
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT = $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
CONTROLLER_GEN = go tool controller-gen
# The local control plane (kube-apiserver, etcd, kubectl), built from Go
# modules and cached outside the repository by hack/control-plane.sh.
CONTROL_PLANE = hack/control-plane.sh
TEST_FLAGS ?= -race -count=1 -timeout 45m
DEMO_ARGS ?=

.DEFAULT_GOAL := help
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate the CRDs and RBAC from the API types and markers, and copy them into the Helm chart.
	$(CONTROLLER_GEN) crd paths="./api/..." output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=manager-role paths="./controllers/..." output:rbac:artifacts:config=config/rbac
	hack/chart-sync.sh

.PHONY: chart
chart: ## Copy the CRDs, RBAC rules and config/prometheus from config/ into the Helm chart.
	hack/chart-sync.sh

.PHONY: generate
generate: ## Generate the deepcopy functions of the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: verify
verify: ## Fail when generated files differ from what generation gives.
	hack/verify-generated.sh

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (installed through the Go module proxy).
	$(GOLANGCI_LINT) run ./...

.PHONY: helm
helm: ## Build (once) helm from its Go module (hack/tools/helm); print its path.
	@hack/helm.sh

.PHONY: control-plane
control-plane: ## Build (once) the local kube-apiserver, etcd and kubectl; print their directory.
	@$(CONTROL_PLANE)

.PHONY: test
test: verify vet ## Run every test, envtest suites included (builds the control plane on first use).
	@assets="$$($(CONTROL_PLANE))"; \
	echo "KUBEBUILDER_ASSETS=$$assets"; \
	KUBEBUILDER_ASSETS="$$assets" KUBEBUILDER_CONTROLPLANE_START_TIMEOUT=3m go test $(TEST_FLAGS) ./...

.PHONY: bench
bench: ## Measure the operator at scale (test/bench; settings BENCH_* in its package comment): print the tables, write docs/benchmarks.md and its plot; about 80 minutes on 2 cores (BENCH_SIZES=1000 BENCH_RUNS=1 BENCH_LINKS=50 BENCH_SHARDS_ORDERS=500: short run).
	@assets="$$($(CONTROL_PLANE))"; \
	BENCH=1 BENCH_SIZES="$(BENCH_SIZES)" BENCH_RUNS="$(or $(BENCH_RUNS),3)" KUBEBUILDER_ASSETS="$$assets" go test -v -count=1 -timeout 150m -run '^TestBench$$' ./test/bench

.PHONY: chaos
chaos: ## SIGKILL the manager process 10 times during an import of 2,000 orders and a relay of 200 photos (test/chaos); print the counts.
	@assets="$$($(CONTROL_PLANE))"; \
	CHAOS_KILLS=$(or $(CHAOS_KILLS),10) CHAOS_ORDERS=$(or $(CHAOS_ORDERS),2000) CHAOS_PHOTOS=$(or $(CHAOS_PHOTOS),200) CHAOS_SEED=$(CHAOS_SEED) \
	KUBEBUILDER_ASSETS="$$assets" go test -race -v -count=1 -timeout 60m -run '^TestSIGKILL$$' ./test/chaos

.PHONY: bench-micro
bench-micro: ## Run the packages' Go micro-benchmarks (protocol, account server, relay).
	@assets="$$($(CONTROL_PLANE))"; \
	KUBEBUILDER_ASSETS="$$assets" go test -run '^$$' -bench . -benchmem -timeout 60m ./...

##@ Build

.PHONY: build
build: ## Build the manager and the reference account server into bin/.
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/manager .
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/accountserver ./cmd/accountserver

.PHONY: run
run: ## Run the manager against the current kubeconfig's cluster.
	go run . --metrics-secure=false --metrics-bind-address=:8080

.PHONY: demo
demo: ## Run the whole story locally: control plane, accounts, operator, a ShareLink.
	hack/demo.sh $(DEMO_ARGS)

.PHONY: docker-build
docker-build: ## Build the manager image (needs a Docker engine).
	docker build -t $(IMG) .

##@ Deployment

.PHONY: install
install: ## Install the CRDs into the current kubeconfig's cluster.
	kubectl apply --server-side -k config/crd

.PHONY: uninstall
uninstall: ## Remove the CRDs (and with them every ShareLink and SharedProject).
	kubectl delete --ignore-not-found -k config/crd

.PHONY: deploy
deploy: ## Deploy CRDs, RBAC and the manager with image IMG to the current cluster.
	kubectl kustomize config/default | sed 's|ghcr.io/pruvan-share/share-operator:latest|$(IMG)|' | kubectl apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove what deploy installed.
	kubectl delete --ignore-not-found -k config/default

$(GOLANGCI_LINT):
	@mkdir -p $(LOCALBIN)
	@echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) through the Go module proxy..."
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(LOCALBIN)/golangci-lint $(GOLANGCI_LINT)
