// Package argocd holds the Argo CD health checks of ShareLink and
// SharedProject: the Lua scripts, and argocd-cm-patch.yaml that carries them
// into Argo CD's argocd-cm (kustomization.yaml makes it a kustomize
// Component). The package only embeds the files, so that Go tests run the
// very scripts Argo CD gets; see internal/health and docs/gitops.md.
package argocd

import _ "embed"

// ShareLinkHealth is the health check of share.pruvan.io/ShareLink.
//
//go:embed sharelink-health.lua
var ShareLinkHealth string

// SharedProjectHealth is the health check of share.pruvan.io/SharedProject.
//
//go:embed sharedproject-health.lua
var SharedProjectHealth string

// ConfigMapPatch is the argocd-cm patch that carries both checks. It is
// generated from the scripts: go test ./internal/health -run
// TestConfigMapPatch -update rewrites it.
//
//go:embed argocd-cm-patch.yaml
var ConfigMapPatch []byte
